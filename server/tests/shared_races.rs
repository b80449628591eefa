//! What only a store shared by nodes must hold, with two intake nodes in this process on one
//! PostgreSQL and one S3 bucket (versitygw): requests racing on one upload never corrupt it,
//! and everything the intake does on one machine works on the shared store too.

use std::sync::Arc;

use sighting_intake::store::{DeskFeed, SharedStore, TusUploads};
use sighting_intake::IntakeConfig;
use test_support::engines::Shared;
use test_support::tus::{create, device_keys, head_offset, header, patch, receipt, report};
use test_support::{client, Server};
use uuid::Uuid;

fn sha256(bytes: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .try_into()
        .unwrap()
}

/// Two nodes in this process on one database and bucket, for the races.
async fn two_nodes(shared: &Shared) -> (Server, Server, Arc<SharedStore>) {
    let pkcs8 = test_support::tus::server_pkcs8();
    let config = IntakeConfig {
        rate_burst: 10_000,
        ..IntakeConfig::default()
    };
    let a = Arc::new(shared.store().await);
    let b = Arc::new(shared.store().await);
    (
        Server::on_store(a.clone(), &pkcs8, config.clone()).await,
        Server::on_store(b, &pkcs8, config).await,
        a,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_racing_on_one_upload_never_corrupt_it() {
    let shared = Shared::start().await;
    let (a, b, store_a) = two_nodes(&shared).await;
    let http = client();
    let tmp = tempfile::tempdir().unwrap();
    let keys = device_keys(tmp.path());

    // One report created on both nodes at once: one upload.
    let r = report(&keys, 200_000);
    let (on_a, on_b) = tokio::join!(create(&http, &a.base, &r), create(&http, &b.base, &r));
    assert_eq!(on_a.status(), 201);
    assert_eq!(on_b.status(), 201);
    let location = header(&on_a, "location").unwrap();
    assert_eq!(header(&on_b, "location").unwrap(), location);

    // The same PATCH on both at once: one acknowledged, the other told it is out of date.
    let (url_a, url_b) = (
        format!("{}{location}", a.base),
        format!("{}{location}", b.base),
    );
    let part = &r.bytes[..50_000];
    let (pa, pb) = tokio::join!(
        patch(&http, &url_a, 0, part, None),
        patch(&http, &url_b, 0, part, None)
    );
    let mut statuses = [pa.status().as_u16(), pb.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [204, 409]);
    assert_eq!(
        head_offset(&http, &url_b).await,
        (reqwest::StatusCode::OK, Some(50_000))
    );

    // The last byte lands on A, and A dies before it answers (nor checks, nor signs): a HEAD
    // on B finishes the upload and issues the receipt.
    let id: Uuid = location.rsplit('/').next().unwrap().parse().unwrap();
    store_a.begin_append(id, 50_000).await.unwrap();
    store_a
        .write(id, 50_000, r.bytes[50_000..].to_vec())
        .await
        .unwrap();
    store_a.commit(id, 50_000, 200_000).await.unwrap();
    assert_eq!(
        head_offset(&http, &url_b).await,
        (reqwest::StatusCode::OK, Some(200_000))
    );
    let receipt = receipt(&http, &b.base, r.id).await;
    assert_eq!(receipt.status(), 200);
    let receipt: sighting_core::wire::Receipt = receipt.json().await.unwrap();
    assert_eq!(receipt.report_id, r.id);
    let stored = shared.report(r.id);
    assert!(stored == r.bytes, "byte-identical");
    assert!(shared.files("pieces").is_empty());

    // A node that starts finishing late, after the other finished and took the pieces away,
    // writes nothing over the report (it would have written a part of it).
    let late = shared.store().await;
    assert!(late.assemble(id).await.is_err());
    let kept = shared.report(r.id);
    assert!(kept == r.bytes, "the report is untouched");
    // The same when it read the upload as unfinished just before the other node's receipt
    // took the pieces away: it finds pieces missing and writes nothing.
    let other = report(&keys, 70_000);
    let created = create(&http, &a.base, &other).await;
    let other_id: Uuid = header(&created, "location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    late.begin_append(other_id, 0).await.unwrap();
    late.write(other_id, 0, other.bytes.clone()).await.unwrap();
    late.commit(other_id, 0, 70_000).await.unwrap();
    late.assemble(other_id).await.unwrap();
    shared
        .sql()
        .await
        .execute("DELETE FROM pieces WHERE upload_id = $1", &[&other_id])
        .await
        .unwrap();
    assert!(late.assemble(other_id).await.is_err());
    let kept = shared.report(other.id);
    assert!(kept == other.bytes, "nothing written over it");
    assert!(late.delete(other_id).await.unwrap());

    // Both nodes sweep expiry at the same moment: each abandoned upload deleted once.
    let store_b = shared.store().await;
    let mut abandoned = Vec::new();
    for _ in 0..10 {
        let r = report(&keys, 1000);
        let created = create(&http, &a.base, &r).await;
        let url = format!("{}{}", a.base, header(&created, "location").unwrap());
        assert_eq!(
            patch(&http, &url, 0, &r.bytes[..400], None).await.status(),
            204
        );
        abandoned.push(r.id);
    }
    let later = i64::MAX / 2;
    let (swept_a, swept_b) = tokio::join!(store_a.expire(later), store_b.expire(later));
    let (swept_a, swept_b) = (swept_a.unwrap(), swept_b.unwrap());
    assert_eq!(swept_a.len() + swept_b.len(), 10, "{swept_a:?} {swept_b:?}");
    assert!(swept_a.iter().all(|id| !swept_b.contains(id)));
    assert!(
        shared.files("pieces").is_empty(),
        "their pieces went with them"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quota_the_desk_pull_prune_and_bulletins_work_on_the_shared_store() {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let shared = Shared::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let http = client();
    let keys = device_keys(tmp.path());
    let bulletin_key = Ed25519KeyPair::from_seed_unchecked(&[5; 32]).unwrap();
    let desk_token = "a desk token";
    let config = IntakeConfig {
        max_storage: Some(250_000),
        desk_token_sha256: Some(sha256(desk_token.as_bytes())),
        bulletin_key: Some(bulletin_key.public_key().as_ref().try_into().unwrap()),
        ..IntakeConfig::default()
    };
    let pkcs8 = test_support::tus::server_pkcs8();
    let store = Arc::new(shared.store().await);
    let node = Server::on_store(store.clone(), &pkcs8, config).await;

    // A report in; the next one would pass the quota: 507, with a time to come back.
    let first = report(&keys, 200_000);
    let created = create(&http, &node.base, &first).await;
    let url = format!("{}{}", node.base, header(&created, "location").unwrap());
    assert_eq!(
        patch(&http, &url, 0, &first.bytes, None).await.status(),
        204
    );
    let second = report(&keys, 100_000);
    let refused = create(&http, &node.base, &second).await;
    assert_eq!(refused.status(), 507);
    assert!(header(&refused, "retry-after").is_some());

    // The desk pulls what finished: listed, the ciphertext as sent, the record with the receipt.
    let desk = |path: String| {
        http.get(format!("{}/v1/desk/reports{path}", node.base))
            .bearer_auth(desk_token)
            .send()
    };
    let listed: serde_json::Value = desk(String::new()).await.unwrap().json().await.unwrap();
    assert_eq!(listed["reports"][0]["report_id"], first.id.to_string());
    let ciphertext = desk(format!("/{}", first.id))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(ciphertext == first.bytes);
    let record: serde_json::Value = desk(format!("/{}/record", first.id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let receipt: serde_json::Value = receipt(&http, &node.base, first.id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(record["receipt"], receipt);

    // Pruned once opened: the space is free again, the receipt stays.
    assert_eq!(store.prune(first.id).await.unwrap(), Some(200_000));
    assert_eq!(desk(format!("/{}", first.id)).await.unwrap().status(), 404);
    assert_eq!(create(&http, &node.base, &second).await.status(), 201);

    // The bulletin feed: pushed signed, served to phones.
    let (cases, _) =
        test_support::cases::desk_with_cases(&tmp.path().join("desk"), &[(39.92, 116.44)]);
    let now = time::OffsetDateTime::now_utc();
    let feed =
        sighting_desk::bulletins::build(&cases, &bulletin_key, 1, now, time::Duration::days(14))
            .unwrap();
    let pushed = feed.push(&http, &node.base, &bulletin_key).await.unwrap();
    assert!(pushed.is_success(), "{pushed}");
    let index = http
        .get(format!("{}/v1/bulletins/index.json", node.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(index == feed.index_json, "the index as signed");
    node.stop().await;
}

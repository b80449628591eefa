//! The bulletin feed from the desk through the intake server, over loopback HTTP: the intake
//! takes a feed only if the bulletin key signed it and it is newer than the one it holds (no
//! password), keeps the old feed whole when a push is bad or cut, and serves the files with
//! ETags as a phone fetches them.

use reqwest::StatusCode;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::wire::bulletin::{self, IndexBody, TileFile};
use sighting_core::wire::region_tile::RegionTile;
use sighting_desk::bulletins::{self, Feed};
use sighting_desk::state::DeskState;
use sighting_intake::IntakeConfig;
use time::OffsetDateTime;

use support::cases::desk_with_cases;
use support::{server_key, Server};
use test_support as support;

fn feed(desk: &DeskState, key: &Ed25519KeyPair, version: u64) -> Feed {
    let now = OffsetDateTime::now_utc();
    bulletins::build(desk, key, version, now, time::Duration::days(14)).unwrap()
}

/// A push of `body` with the `Bulletin-Push` header `key` makes for `feed`'s index (a test may
/// send another body than that index, or sign with another key).
async fn push_as(base: &str, key: &Ed25519KeyPair, feed: &Feed, body: Vec<u8>) -> StatusCode {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let authorization = bulletin::push_authorization(key, &feed.index_json, now);
    push_with(base, Some(authorization), body).await
}

async fn push_with(base: &str, authorization: Option<String>, body: Vec<u8>) -> StatusCode {
    let mut request = support::client().put(format!("{base}/v1/bulletins"));
    if let Some(authorization) = authorization {
        request = request.header(bulletin::PUSH_HEADER, authorization);
    }
    request.body(body).send().await.unwrap().status()
}

async fn get(base: &str, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut request = support::client().get(format!("{base}/v1/bulletins/{path}"));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_takes_only_newer_feeds_signed_by_the_bulletin_key_and_serves_them() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Ed25519KeyPair::from_seed_unchecked(&[3; 32]).unwrap();
    let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let config = IntakeConfig {
        bulletin_key: Some(public),
        ..IntakeConfig::default()
    };
    let server = Server::start(&tmp.path().join("intake"), &server_key().0, config).await;
    let base = server.base.clone();
    let (desk, cm) = desk_with_cases(&tmp.path().join("desk"), &[(52.37, 4.90), (39.92, 116.44)]);

    // Nothing yet; a feed signed by another key is refused.
    assert_eq!(
        get(&base, "index.json", None).await.status(),
        StatusCode::NOT_FOUND
    );
    let stranger = Ed25519KeyPair::from_seed_unchecked(&[4; 32]).unwrap();
    let forged = feed(&desk, &stranger, 1);
    assert_eq!(
        push_as(&base, &stranger, &forged, forged.push_body()).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&base, "index.json", None).await.status(),
        StatusCode::NOT_FOUND
    );

    // A push without the bulletin key's header, with one made too long ago, or with a header
    // for another index, is refused (the header before a byte of the body is read).
    let first = feed(&desk, &key, 1);
    assert_eq!(
        push_with(&base, None, first.push_body()).await,
        StatusCode::FORBIDDEN
    );
    let long_ago = OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let stale = bulletin::push_authorization(&key, &first.index_json, long_ago);
    assert_eq!(
        push_with(&base, Some(stale), first.push_body()).await,
        StatusCode::FORBIDDEN
    );
    let other = feed(&desk, &key, 7);
    assert_eq!(
        push_as(&base, &key, &other, first.push_body()).await,
        StatusCode::BAD_REQUEST
    );

    // A good feed: served as pushed, with ETags a phone revalidates against.
    assert_eq!(
        push_as(&base, &key, &first, first.push_body()).await,
        StatusCode::NO_CONTENT
    );
    let index = get(&base, "index.json", None).await;
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.headers().get("set-cookie").is_none());
    let etag = index.headers()["etag"].to_str().unwrap().to_string();
    let index_json = index.bytes().await.unwrap();
    assert_eq!(index_json, first.index_json);
    let body = IndexBody::open(&index_json, &public, None, OffsetDateTime::now_utc()).unwrap();
    for entry in &body.tiles {
        let tile = get(&base, &format!("tiles/{}.json", entry.tile), None).await;
        assert_eq!(tile.status(), StatusCode::OK);
        TileFile::open(&tile.bytes().await.unwrap(), &body, &entry.tile).unwrap();
    }
    let again = get(&base, "index.json", Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The same version, or an older one, is refused: no rollback through the intake.
    assert_eq!(
        push_as(&base, &key, &first, first.push_body()).await,
        StatusCode::CONFLICT
    );

    // A cut push, a frame longer than the index may be, bytes after the last tile: refused,
    // and the feed held stays whole.
    let second = feed(&desk, &key, 2);
    let mut cut = second.push_body();
    cut.truncate(cut.len() - 10);
    assert_eq!(
        push_as(&base, &key, &second, cut).await,
        StatusCode::BAD_REQUEST
    );
    let mut huge = (u32::MAX).to_be_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    assert_eq!(
        push_as(&base, &key, &second, huge).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let mut trailing = second.push_body();
    trailing.push(0);
    assert_eq!(
        push_as(&base, &key, &second, trailing).await,
        StatusCode::BAD_REQUEST
    );
    let held = get(&base, "index.json", None).await.bytes().await.unwrap();
    assert_eq!(held, first.index_json);

    // A newer feed without the Amsterdam case: its tile is gone from the intake too.
    let amsterdam = desk.case("C-0").unwrap();
    desk.close_case(&cm, "C-0", amsterdam.version).unwrap();
    let third = feed(&desk, &key, 3);
    assert_eq!(
        push_as(&base, &key, &third, third.push_body()).await,
        StatusCode::NO_CONTENT
    );
    let gone = RegionTile::at(52.37, 4.90).unwrap();
    let tile = get(&base, &format!("tiles/{gone}.json"), None).await;
    assert_eq!(tile.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&base, "index.json", Some(&etag)).await.status(),
        StatusCode::OK
    );

    // Only tile names reach the store.
    for path in [
        "tiles/..%2Findex.json",
        "tiles/25-59",
        "tiles/99-1.json",
        "index.json.bak",
    ] {
        assert_eq!(
            get(&base, path, None).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn without_a_bulletin_key_the_intake_serves_and_takes_no_feed() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_default(&tmp.path().join("intake")).await;
    let key = Ed25519KeyPair::from_seed_unchecked(&[3; 32]).unwrap();
    let (desk, _) = desk_with_cases(&tmp.path().join("desk"), &[(52.37, 4.90)]);
    let body = feed(&desk, &key, 1).push_body();
    assert_eq!(
        push_with(&server.base, None, body).await,
        StatusCode::NOT_FOUND
    );
    let index = get(&server.base, "index.json", None).await;
    assert_eq!(index.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

/// Issue 27, finding 10: a feed that has expired, or has less than an hour left (a desk whose
/// clock is behind signs such feeds), is refused at push with words that say so; the desk
/// shows the intake's reason; a feed with hours left is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_refuses_a_feed_that_has_expired_or_nearly() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Ed25519KeyPair::from_seed_unchecked(&[3; 32]).unwrap();
    let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let config = IntakeConfig {
        bulletin_key: Some(public),
        ..IntakeConfig::default()
    };
    let server = Server::start(&tmp.path().join("intake"), &server_key().0, config).await;
    let base = server.base.clone();
    let (desk, _) = desk_with_cases(&tmp.path().join("desk"), &[(52.37, 4.90)]);
    let now = OffsetDateTime::now_utc();
    // Signed by a desk whose clock is `behind` the real time, valid 14 days from its clock.
    let signed_behind = |version: u64, behind: time::Duration| {
        bulletins::build(&desk, &key, version, now - behind, time::Duration::days(14)).unwrap()
    };

    let expired = signed_behind(1, time::Duration::days(20));
    let nearly = signed_behind(2, time::Duration::days(14) - time::Duration::minutes(30));
    for feed in [&expired, &nearly] {
        let response = support::client()
            .put(format!("{base}/v1/bulletins"))
            .header(
                bulletin::PUSH_HEADER,
                bulletin::push_authorization(&key, &feed.index_json, now.unix_timestamp()),
            )
            .body(feed.push_body())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refusal: serde_json::Value = response.json().await.unwrap();
        let detail = refusal["detail"].as_str().unwrap();
        assert!(
            detail.contains(&feed.index.expires_at) && detail.contains("clock"),
            "{detail}"
        );
    }
    assert_eq!(
        get(&base, "index.json", None).await.status(),
        StatusCode::NOT_FOUND,
        "nothing served"
    );
    // The desk's push says why, in the intake's words.
    let refused = expired
        .push_or_reason(&support::client(), &base, &key)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("desk's clock may be wrong"),
        "{refused:#}"
    );

    let hours_left = signed_behind(3, time::Duration::days(14) - time::Duration::hours(3));
    assert_eq!(
        push_as(&base, &key, &hours_left, hours_left.push_body()).await,
        StatusCode::NO_CONTENT
    );
    server.stop().await;
}

/// The desk refuses to sign a feed that would be valid for less than an hour.
#[test]
fn the_desk_refuses_to_sign_a_feed_valid_for_less_than_an_hour() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Ed25519KeyPair::from_seed_unchecked(&[3; 32]).unwrap();
    let (desk, _) = desk_with_cases(tmp.path(), &[(52.37, 4.90)]);
    let now = OffsetDateTime::now_utc();
    for valid_for in [time::Duration::minutes(30), time::Duration::days(-1)] {
        let refused = bulletins::build(&desk, &key, 1, now, valid_for)
            .err()
            .expect("a feed that would not last an hour");
        let words = refused.to_string();
        assert!(
            words.contains("clock") && words.contains("nothing was signed"),
            "{words}"
        );
    }
}

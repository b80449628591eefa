//! The phone's sync against the real intake server on loopback: offline first, then online;
//! resumable within a byte budget; receipts verified (a wrong server key keeps reports queued).

use std::time::Duration;

use sighting_core::queue::{AttemptError, State};
use sighting_core::sync::{SyncBudget, SyncConfig, Syncer};
use sighting_desk::{self as desk, keygen};
use sighting_intake::IntakeConfig;

use support::{phone, server_key, submit, syncer, Server, NOW};
use test_support as support;

#[tokio::test(flavor = "multi_thread")]
async fn offline_reports_are_delivered_once_online_and_the_desk_opens_them() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let ids = [
        submit(&device, "gps/DSCN0010.jpg").await,
        submit(&device, "Canon_40D.jpg").await,
    ];
    let (pkcs8, public) = server_key();

    // Offline: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let offline = syncer(
        &format!("http://{}", dead.local_addr().unwrap()),
        public,
        64 << 10,
    );
    drop(dead);
    let summary = offline.sync(&device, NOW).await.unwrap();
    assert_eq!(summary.retrying.len(), 2);
    let outbox = device.call(|d| d.reports()).await.unwrap();
    assert!(outbox.iter().all(|r| r.state == State::Sealed
        && r.attempts == 1
        && r.last_error == Some(AttemptError::Network)));
    assert!(
        outbox.iter().all(|r| r.next_attempt_at.is_some()),
        "a retry time is shown"
    );

    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, IntakeConfig::default()).await;
    let online = syncer(&server.base, public, 64 << 10);
    let summary = online.sync(&device, NOW).await.unwrap();
    assert_eq!(summary.delivered, ids.to_vec());
    let outbox = device.call(|d| d.reports()).await.unwrap();
    assert!(outbox
        .iter()
        .all(|r| r.state == State::Delivered && r.last_error.is_none()));
    for id in ids {
        let sealed = device.call(move |d| Ok(d.sealed_report(id))).await.unwrap();
        assert!(
            !sealed.exists(),
            "the delivered ciphertext is deleted on the phone"
        );
    }
    // A second sync sends nothing: exactly once.
    assert_eq!(online.sync(&device, NOW).await.unwrap().bytes_sent, 0);
    server.stop().await;

    let identities = desk::read_identities(&tmp.path().join("org/identity.txt")).unwrap();
    let opened = desk::open_dir(&identities, &data, &tmp.path().join("desk")).unwrap();
    assert_eq!(opened.iter().filter(|o| o.result.is_ok()).count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_byte_budget_stops_mid_report_and_the_next_sync_resumes_from_the_server_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let id = submit(&device, "gps/DSCN0010.jpg").await;
    let size = device
        .call(move |d| Ok(std::fs::metadata(d.sealed_report(id))?.len()))
        .await
        .unwrap();
    let (pkcs8, public) = server_key();
    let server = Server::start(&tmp.path().join("intake"), &pkcs8, IntakeConfig::default()).await;
    let config = syncer(&server.base, public, 32 << 10);
    let first = config
        .sync(
            &device,
            SyncBudget {
                max_bytes: 64 << 10,
                ..NOW
            },
        )
        .await
        .unwrap();
    assert!(first.delivered.is_empty());
    let second = config.sync(&device, NOW).await.unwrap();
    assert_eq!(second.delivered, vec![id]);
    assert_eq!(
        first.bytes_sent + second.bytes_sent,
        size,
        "no byte sent twice"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receipt_from_the_wrong_server_key_keeps_the_report_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let id = submit(&device, "Canon_40D.jpg").await;
    let (pkcs8, _) = server_key();
    let (_, configured) = server_key();
    let server = Server::start(&tmp.path().join("intake"), &pkcs8, IntakeConfig::default()).await;
    let config = syncer(&server.base, configured, 256 << 10);
    let summary = config.sync(&device, NOW).await.unwrap();
    assert!(summary.delivered.is_empty());
    assert_eq!(
        summary.retrying[0].1.error,
        AttemptError::ReceiptRefused,
        "{:?}",
        summary.retrying
    );
    let outbox = device.call(|d| d.reports()).await.unwrap();
    assert_eq!((outbox[0].id, outbox[0].state), (id, State::Sealed));
    assert!(
        device
            .call(move |d| Ok(d.sealed_report(id).exists()))
            .await
            .unwrap(),
        "the ciphertext is kept"
    );
    server.stop().await;
}

#[test]
fn plain_http_is_refused_except_to_loopback() {
    for url in [
        "http://intake.example.org",
        "http://10.0.0.1:8080",
        "ftp://127.0.0.1",
    ] {
        assert!(
            matches!(
                Syncer::new(SyncConfig::new(url, [0; 32])),
                Err(sighting_core::sync::SyncError::Url(_))
            ),
            "{url}"
        );
    }
    for url in [
        "https://intake.example.org",
        "http://127.0.0.1:1",
        "http://[::1]:1",
        "http://localhost:1",
    ] {
        assert!(Syncer::new(SyncConfig::new(url, [0; 32])).is_ok(), "{url}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_retry_after_is_honoured() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    submit(&device, "Canon_40D.jpg").await;
    let (pkcs8, public) = server_key();
    // No allowance at all: every creation is told to come back in 30 s.
    let limits = IntakeConfig {
        rate_burst: 0,
        rate_refill: Duration::from_secs(30),
        ..IntakeConfig::default()
    };
    let server = Server::start(&tmp.path().join("intake"), &pkcs8, limits).await;
    let config = syncer(&server.base, public, 256 << 10);
    let summary = config.sync(&device, NOW).await.unwrap();
    assert_eq!(summary.retrying.len(), 1, "{summary:?}");
    let report = &device.call(|d| d.reports()).await.unwrap()[0];
    let wait = report.next_attempt_at.unwrap() - time::OffsetDateTime::now_utc();
    assert!(
        wait > time::Duration::seconds(25),
        "next attempt in {wait}, not after Retry-After"
    );
    // A background sync that honours backoff leaves it alone until then.
    let background = SyncBudget {
        honour_backoff: true,
        ..NOW
    };
    assert_eq!(
        config.sync(&device, background).await.unwrap(),
        Default::default()
    );
    server.stop().await;
}

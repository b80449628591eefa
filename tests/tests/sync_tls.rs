//! Sync over https: an intake behind TLS on loopback with a test CA. Pinned to that CA, the
//! phone delivers; with the bundled public roots, or pinned to another CA, it refuses to talk
//! and keeps the report.

use std::sync::Arc;

use rcgen::KeyPair;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sighting_core::queue::{AttemptError, State};
use sighting_core::sync::{SyncConfig, Syncer};
use sighting_desk::keygen;
use sighting_intake::IntakeConfig;
use tokio::net::{TcpListener, TcpStream};

use support::tls::test_ca;
use support::{phone, server_key, submit, Server, NOW};
use test_support as support;

/// Terminates TLS on a loopback port and forwards the plain bytes to `upstream`.
async fn tls_front(upstream: &str, cert: &rcgen::Certificate, key: &KeyPair) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let upstream = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut plain = TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://localhost:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_ca_is_trusted_and_an_unknown_ca_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let id = submit(&device, "Canon_40D.jpg").await;
    let (pkcs8, public) = server_key();
    let server = Server::start(&tmp.path().join("intake"), &pkcs8, IntakeConfig::default()).await;
    let (ca_pem, _ca, leaf, leaf_key) = test_ca();
    let (other_ca_pem, ..) = test_ca();
    let https = tls_front(&server.base, &leaf, &leaf_key).await;

    for (pinned, what) in [
        (None, "the public roots"),
        (Some(other_ca_pem), "another CA"),
    ] {
        let syncer = Syncer::new(SyncConfig {
            pinned_ca: pinned.map(String::into_bytes),
            ..SyncConfig::new(&https, public)
        })
        .unwrap();
        let summary = syncer.sync(&device, NOW).await.unwrap();
        assert!(summary.delivered.is_empty(), "trusted {what}");
        assert_eq!(
            summary.retrying[0].1.error,
            AttemptError::TlsNotTrusted,
            "{what}: {:?}",
            summary.retrying
        );
    }
    let outbox = device.call(|d| d.reports()).await.unwrap();
    assert_eq!((outbox[0].id, outbox[0].state), (id, State::Sealed));

    let pinned = Syncer::new(SyncConfig {
        pinned_ca: Some(ca_pem.into_bytes()),
        ..SyncConfig::new(&https, public)
    })
    .unwrap();
    assert_eq!(pinned.sync(&device, NOW).await.unwrap().delivered, vec![id]);
    server.stop().await;
}

#[test]
fn a_pinned_ca_that_is_not_a_certificate_is_a_clear_error() {
    let config = SyncConfig {
        pinned_ca: Some(
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".to_vec(),
        ),
        ..SyncConfig::new("https://intake.example.org", [0; 32])
    };
    assert!(matches!(
        Syncer::new(config),
        Err(sighting_core::sync::SyncError::PinnedCa(_))
    ));
}

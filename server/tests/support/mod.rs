//! A live intake server on a loopback port, for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ring::signature::Ed25519KeyPair;
use sighting_server::intake::{self, store::SqliteStore, IntakeConfig};

pub struct Server {
    pub base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(data: &Path, pkcs8: &[u8], config: IntakeConfig) -> Server {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8).unwrap();
        let store = SqliteStore::open(data).unwrap();
        let app = intake::router(intake::Intake::new(Arc::new(store), key, config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Server {
            base,
            shutdown: Some(tx),
            task,
        }
    }

    pub async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

/// A shared fixture photo (`SIGHTING_FIXTURES`, else `../shared/fixtures/photos`).
pub fn fixture(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("SIGHTING_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos")
        });
    std::fs::read(dir.join(name)).unwrap()
}

/// A plain HTTP client for talking tus by hand. reqwest is built with rustls but no default
/// crypto provider (the phone's sync passes its own), so one is installed for the process.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

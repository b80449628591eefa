//! What every crate's tests and benches share, in one place: the fixture photos, a new age
//! identity from the real `age-keygen`, receipt keys, a live intake server on loopback, a
//! phone, tus by hand, and a proxy that behaves like a bad mobile network. The end-to-end tests
//! that cross crates (phone → intake → desk) live beside it in `tests/tests/`.

pub mod cases;
pub mod engines;
pub mod faulty_proxy;
pub mod tls;
pub mod tus;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::capture::{CaptureRequest, Location, LocationMissing};
use sighting_core::device::{Device, DeviceConfig};
use sighting_core::handle::DeviceHandle;
use sighting_core::keys::FileKeyStore;
use sighting_core::report::{CaptureClock, Details};
use sighting_core::seal::Recipient;
use sighting_core::sync::{SyncBudget, SyncConfig, Syncer};
use sighting_intake::store::{SqliteStore, UploadStore};
use sighting_intake::{self as intake, IntakeConfig};
use uuid::Uuid;

/// The shared fixture photos: `SIGHTING_FIXTURES`, else `../shared/fixtures/photos` beside the
/// repository.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("SIGHTING_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos")
        });
    assert!(
        dir.is_dir(),
        "fixture photos not found at {} (set SIGHTING_FIXTURES)",
        dir.display()
    );
    dir
}

/// One fixture photo's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The iPhone 8 MP photo the benchmarks measure.
pub fn iphone_8mp() -> Vec<u8> {
    fixture("hdr/iphone_hdr_NO.jpg")
}

/// A capture with no location fix and the camera's own time.
pub fn no_location() -> CaptureRequest {
    CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    }
}

/// A random number of milliseconds in `range` (for kills at random moments).
pub fn random_ms(range: std::ops::Range<u64>) -> u64 {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut b).unwrap();
    range.start + u64::from_le_bytes(b) % (range.end - range.start)
}

/// A new age identity in `file` (by the real `age-keygen`), and its recipient.
pub fn age_keygen(file: &Path) -> Recipient {
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(file)
        .output()
        .expect("age-keygen must be installed (Debian package age; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // age-keygen prints "Public key: age1…" on stderr.
    let text = String::from_utf8(out.stderr).unwrap();
    text.trim()
        .strip_prefix("Public key: ")
        .unwrap()
        .parse()
        .unwrap()
}

/// A live intake server (the real `Intake` on the SQLite store) on a loopback port.
pub struct Server {
    pub base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(data: &Path, pkcs8: &[u8], config: IntakeConfig) -> Server {
        let store = SqliteStore::open(data).unwrap();
        Server::on_store(Arc::new(store), pkcs8, config).await
    }

    /// A server on any store (the shared one, say).
    pub async fn on_store(
        store: Arc<dyn UploadStore>,
        pkcs8: &[u8],
        config: IntakeConfig,
    ) -> Server {
        let key = Ed25519KeyPair::from_pkcs8(pkcs8).unwrap();
        let intake = intake::Intake::new(store, key, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            intake::serve(listener, intake)
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

    /// A server with a fresh receipt key and the default limits.
    pub async fn start_default(data: &Path) -> Server {
        Server::start(data, &server_key().0, IntakeConfig::default()).await
    }

    pub async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        self.task.await.unwrap();
    }
}

/// The desk app serving on loopback until [`DeskApp::stop`].
pub struct DeskApp {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl DeskApp {
    pub async fn start(desk: Arc<sighting_desk::app::Desk>) -> DeskApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = sighting_desk::app::serve(listener, desk, async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move { serving.await.unwrap() });
        DeskApp { base, stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// A reviewer logged in to the desk app over its API, as the page is: the session cookie and
/// the CSRF token.
pub struct DeskSession {
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

impl DeskSession {
    pub async fn login(base: &str, password: &str, name: &str) -> DeskSession {
        let response = client()
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({ "name": name, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let set_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        let body: serde_json::Value = response.json().await.unwrap();
        DeskSession {
            base: base.to_string(),
            cookie,
            csrf: body["csrf"].as_str().unwrap().to_string(),
        }
    }

    /// A request with the session (and the CSRF token when `csrf`); the status and JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        csrf: bool,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = client()
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or_default())
    }

    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(reqwest::Method::GET, path, None, false).await
    }

    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(reqwest::Method::POST, path, Some(body), true)
            .await
    }
}

/// This process's peak resident set (Linux `VmHWM`), in MiB: what the benches report.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let kib = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
            kib.trim().trim_end_matches("kB").trim().parse::<f64>().ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// A plain HTTP client for talking tus by hand. reqwest is built with rustls but no default
/// crypto provider (the phone's sync passes its own), so one is installed for the process.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A phone: a device in `dir/device` sealing to `recipient`, on its I/O thread.
pub fn phone(dir: &Path, recipient: &str) -> DeviceHandle {
    let store = FileKeyStore::open(&dir.join("ks.key")).unwrap();
    let config = DeviceConfig::new(vec![recipient.parse().unwrap()]);
    DeviceHandle::new(Device::open(&dir.join("device"), &store, config).unwrap()).unwrap()
}

/// Captures a fixture photo (no location) and submits it: one sealed report in the outbox.
pub async fn submit(device: &DeviceHandle, photo: &'static str) -> Uuid {
    device
        .call(move |d| {
            let draft = d.capture(fixture(photo), &no_location(), CaptureClock::now()?)?;
            d.submit(draft.id, Details::default())?;
            Ok(draft.id)
        })
        .await
        .unwrap()
}

/// Reports in the phone's outbox not delivered yet.
pub async fn undelivered(device: &DeviceHandle) -> usize {
    device
        .call(|d| {
            Ok(d.reports()?
                .iter()
                .filter(|r| r.state != sighting_core::queue::State::Delivered)
                .count())
        })
        .await
        .unwrap()
}

/// What strangers write, as notes and as failure reasons: markup, comment and script openers,
/// entities, direction overrides, zero-width characters, a spreadsheet formula, and very long
/// text. A page that shows them must show them as written, and none may become an element.
pub fn hostile_notes() -> Vec<String> {
    [
        "<!--<script>",
        "</script><script>document.body.dataset.injected=1</script>",
        "<img src=x onerror=\"document.body.dataset.injected=1\">",
        "<b id=\"injected\">bold</b>",
        "<![CDATA[ ]]> <!-- -->",
        "&lt;&amp;&#x3c;",
        "\u{202e}evil\u{202c} \u{200b}\u{200d}\u{2028}\u{2029}",
        "=HYPERLINK(\"http://example.invalid\")",
    ]
    .into_iter()
    .map(String::from)
    .chain([
        // As long as a note may be (1,000 characters).
        "<!--".repeat(250),
        "\"'><svg/onload=document.body.dataset.injected=1>".to_string(),
    ])
    .collect()
}

/// "Send now": everything, backoff ignored, 30 s.
pub const NOW: SyncBudget = SyncBudget {
    max_wall: Duration::from_secs(30),
    max_bytes: u64::MAX,
    honour_backoff: false,
    allow_metered: true,
    metered: false,
};

pub fn syncer(intake: &str, server_key: [u8; 32], chunk_size: usize) -> Syncer {
    Syncer::new(SyncConfig {
        chunk_size,
        ..SyncConfig::new(intake, server_key)
    })
    .unwrap()
}

/// A fresh receipt signing key: PKCS#8 for the server, the public key for the phone.
pub fn server_key() -> (Vec<u8>, [u8; 32]) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .unwrap()
        .as_ref()
        .to_vec();
    let public = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .unwrap()
        .public_key()
        .as_ref()
        .try_into()
        .unwrap();
    (pkcs8, public)
}

/// Runs a stock tool (minisign, unzip, sha256sum, pdftotext) in `dir` as an officer would; it
/// must succeed. Returns what it printed.
pub fn tool(dir: &std::path::Path, program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?}: {text}");
    text
}

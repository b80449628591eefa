//! Intake nodes sharing one PostgreSQL and one S3 bucket (versitygw): a node killed with
//! `kill -9` in the middle of an upload loses nothing, a restarted node carries on, and a bucket
//! out of reach loses nothing acknowledged. The races between nodes: `shared_races.rs`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sighting_core::handle::DeviceHandle;
use sighting_core::queue::State;
use sighting_desk::keygen;
use sighting_intake::IntakeConfig;
use test_support::engines::Shared;
use test_support::faulty_proxy::{FaultyProxy, Network};
use test_support::tus::{create, device_keys, head_offset, header, patch, receipt, report, Report};
use test_support::{client, phone, submit, syncer, undelivered, Server, NOW};
use uuid::Uuid;

/// `sighting-server serve --store …` in its own process.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(shared: &Shared, key: &Path) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sighting-server"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--store",
                &shared.spec(),
            ])
            .arg("--key")
            .arg(key)
            .args(["--rate-burst", "100000"])
            .envs(shared.s3.env())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the node stopped before listening")
                .unwrap();
            if let Some(at) = line.strip_prefix("intake server on ") {
                break at.split_whitespace().next().unwrap().to_string();
            }
        };
        // Its logs go to stdout: keep reading so a full pipe never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        Node { child, base }
    }

    /// `kill -9`: no shutdown, no cleanup, a request cut wherever it was.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .try_into()
        .unwrap()
}

async fn sealed(device: &DeviceHandle, id: Uuid) -> Vec<u8> {
    device
        .call(move |d| Ok(std::fs::read(d.sealed_report(id))?))
        .await
        .unwrap()
}

/// Kills: 20, or 200 with `cargo xtask test --long`, or `SIGHTING_KILL_TRIALS`.
/// Sends the rest of `r` from `from`: the report is finished, with a receipt, and stored byte
/// for byte.
async fn send_the_rest(
    http: &reqwest::Client,
    base: &str,
    url: &str,
    shared: &Shared,
    r: &Report,
    from: usize,
) {
    let rest = patch(http, url, from, &r.bytes[from..], None).await;
    assert_eq!(rest.status(), 204);
    assert_eq!(receipt(http, base, r.id).await.status(), 200);
    assert!(shared.report(r.id) == r.bytes, "byte-identical");
}

fn trials() -> usize {
    let long = std::env::var_os("SIGHTING_LONG_TESTS").is_some();
    std::env::var("SIGHTING_KILL_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if long { 200 } else { 20 })
}

/// HEAD's offset for an upload, every few milliseconds through whichever node answers, until
/// stopped: the offsets it saw, in order.
fn watch_offsets(
    bases: Vec<String>,
    url_path: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let http = client();
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            for base in &bases {
                let r = http
                    .head(format!("{base}{url_path}"))
                    .header("Tus-Resumable", "1.0.0")
                    .timeout(Duration::from_millis(500))
                    .send()
                    .await;
                if let Some(offset) = r.ok().and_then(|r| {
                    r.headers()
                        .get("upload-offset")
                        .and_then(|v| v.to_str().ok()?.parse().ok())
                }) {
                    seen.push(offset);
                }
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_upload_loses_nothing_and_the_upload_finishes_on_the_other() {
    let shared = Shared::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let key = tmp.path().join("org").join(keygen::SERVER_KEY_FILE);
    let public: [u8; 32] =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &org.server_key)
            .unwrap()
            .try_into()
            .unwrap();
    let device = Arc::new(phone(tmp.path(), &org.recipient));
    let sql = shared.sql().await;

    let mut nodes = [Node::start(&shared, &key), Node::start(&shared, &key)];
    // A slow link, so the kill lands mid-body: 1 MB/s (a report is ~0.36 MB).
    let network = Network {
        upload_rate: Some(1 << 20),
        ..Network::clean()
    };
    let proxy = FaultyProxy::start(&nodes[0].base, network).await;
    let sync = Arc::new(syncer(&proxy.base, public, 256 << 10));
    let mut rng = fastrand::Rng::with_seed(18);
    let mut sent = BTreeMap::new();
    let mut cut_mid_body = 0;
    for trial in 0..trials() {
        let live = trial % 2;
        let report = submit(&device, "hdr/iphone_hdr_NO.jpg").await;
        let ciphertext = sealed(&device, report).await;
        sent.insert(report, sha256(&ciphertext));

        // Sync through the node in front until a random share of the body has been acknowledged.
        let syncing = {
            let (sync, device) = (sync.clone(), device.clone());
            tokio::spawn(async move { sync.sync(&device, NOW).await })
        };
        let kill_at = (ciphertext.len() as f64 * rng.f64() * 0.8) as i64 + 1;
        let upload_id = loop {
            let row = sql
                .query_opt(
                    "SELECT id, upload_offset FROM uploads WHERE report_id = $1",
                    &[&report],
                )
                .await
                .unwrap();
            if let Some(row) = row.filter(|r| r.get::<_, i64>(1) >= kill_at) {
                break row.get::<_, Uuid>(0);
            }
            assert!(
                !syncing.is_finished(),
                "trial {trial}: the sync ended before the kill"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = watch_offsets(
            nodes.iter().map(|n| n.base.clone()).collect(),
            format!("/v1/uploads/{upload_id}"),
            stop.clone(),
        );
        tokio::time::sleep(Duration::from_millis(10)).await;

        // The node dies; the load balancer sends the phone to the other.
        nodes[live].kill();
        let cut = sql
            .query_one(
                "SELECT upload_offset, receipt IS NULL FROM uploads WHERE id = $1",
                &[&upload_id],
            )
            .await
            .unwrap();
        // On a loaded machine the last bytes can win the race with the kill; such a trial
        // still checks everything below, but it did not cut a body.
        if cut.get::<_, bool>(1) {
            cut_mid_body += 1;
        }
        nodes[live] = Node::start(&shared, &key);
        proxy.switch_to(&nodes[1 - live].base);
        let _ = syncing.await.unwrap();
        let mut passes = 0;
        while undelivered(&device).await > 0 {
            passes += 1;
            assert!(
                passes < 20,
                "trial {trial}: not delivered after {passes} passes"
            );
            let _ = sync.sync(&device, NOW).await;
        }
        stop.store(true, Ordering::Relaxed);
        let offsets = watcher.await.unwrap();
        assert!(
            offsets.windows(2).all(|w| w[0] <= w[1]),
            "trial {trial}: HEAD offsets went down: {offsets:?}"
        );
        // Byte-identical in the bucket, and nothing of the body's pieces left behind.
        let stored = shared.report(report);
        assert!(
            stored == ciphertext,
            "trial {trial}: the stored report differs"
        );
        assert!(
            shared.files("pieces").is_empty(),
            "trial {trial}: pieces left: {:?}",
            shared.files("pieces")
        );
    }

    assert!(
        cut_mid_body * 4 >= trials() * 3,
        "only {cut_mid_body} of {} kills landed mid-body",
        trials()
    );
    // Exactly one report object and one intake record per report, each receipt recorded.
    let reports: BTreeMap<Uuid, [u8; 32]> = shared
        .files("reports")
        .iter()
        .map(|p| {
            let id = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            (id, sha256(&std::fs::read(p).unwrap()))
        })
        .collect();
    assert_eq!(reports, sent, "each report once, byte-identical");
    let records = sql
        .query_one(
            "SELECT count(*), count(receipt), count(DISTINCT report_id) FROM uploads",
            &[],
        )
        .await
        .unwrap();
    let n = sent.len() as i64;
    assert_eq!(
        (
            records.get::<_, i64>(0),
            records.get::<_, i64>(1),
            records.get::<_, i64>(2)
        ),
        (n, n, n)
    );
    // Each receipt the phone holds verified against the key both nodes sign with.
    let receipts = device.call(|d| d.reports()).await.unwrap();
    assert!(receipts.iter().all(|r| r.state == State::Delivered));
    drop(shared.postgres);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_carries_on_where_it_stopped() {
    let shared = Shared::start().await;
    let pkcs8 = test_support::tus::server_pkcs8();
    let http = client();
    let tmp = tempfile::tempdir().unwrap();
    let r = report(&device_keys(tmp.path()), 300_000);

    let node = Server::on_store(
        Arc::new(shared.store().await),
        &pkcs8,
        IntakeConfig::default(),
    )
    .await;
    let created = create(&http, &node.base, &r).await;
    let location = header(&created, "location").unwrap();
    let url = format!("{}{location}", node.base);
    assert_eq!(
        patch(&http, &url, 0, &r.bytes[..120_000], None)
            .await
            .status(),
        204
    );
    node.stop().await;

    let node = Server::on_store(
        Arc::new(shared.store().await),
        &pkcs8,
        IntakeConfig::default(),
    )
    .await;
    let url = format!("{}{location}", node.base);
    assert_eq!(head_offset(&http, &url).await.1, Some(120_000));
    send_the_rest(&http, &node.base, &url, &shared, &r, 120_000).await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_out_of_reach_is_a_503_and_loses_nothing_acknowledged() {
    let mut shared = Shared::start().await;
    let pkcs8 = test_support::tus::server_pkcs8();
    let http = client();
    let tmp = tempfile::tempdir().unwrap();
    let r = report(&device_keys(tmp.path()), 300_000);
    let store = Arc::new(shared.store().await);
    let node = Server::on_store(store, &pkcs8, IntakeConfig::default()).await;
    let created = create(&http, &node.base, &r).await;
    let url = format!("{}{}", node.base, header(&created, "location").unwrap());
    assert_eq!(
        patch(&http, &url, 0, &r.bytes[..100_000], None)
            .await
            .status(),
        204
    );

    shared.s3.stop();
    let refused = patch(&http, &url, 100_000, &r.bytes[100_000..200_000], None).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("5"));
    assert_eq!(
        head_offset(&http, &url).await.1,
        Some(100_000),
        "what was acknowledged stays"
    );

    shared.s3.restart();
    send_the_rest(&http, &node.base, &url, &shared, &r, 100_000).await;
    node.stop().await;
}

//! Loopback load on the intake server: N concurrent clients upload sealed-size reports in 64 KiB
//! PATCHes; prints reports/s, MB/s, p50/p99 PATCH latency and the server's peak RSS, then sends
//! the same bytes the same way to a trivial sink (accepts and discards) as the upper bound.
//!
//! `cargo run --release -p sighting-server --example intake_load -- [CLIENTS] [REPORTS_EACH] [BYTES]`
//! (defaults 200, 5, 500000). Run by `cargo xtask bench`.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::wire::{envelope_message, UploadMetadata};
use uuid::Uuid;

const CHUNK: usize = 64 * 1024;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let clients = args.first().copied().unwrap_or(200);
    let each = args.get(1).copied().unwrap_or(5);
    let bytes = args.get(2).copied().unwrap_or(500_000);

    let tmp = tempfile::tempdir()?;
    sighting_server::keygen::keygen(&tmp.path().join("keys"))?;
    let exe = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("sighting-server"))
        .unwrap_or_default();
    anyhow::ensure!(
        exe.exists(),
        "build sighting-server first: cargo build --release -p sighting-server"
    );
    let mut server = Command::new(&exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(tmp.path().join("data"))
        .arg("--key")
        .arg(tmp.path().join("keys/server.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().expect("piped")).read_line(&mut line)?;
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("address line")
        .to_string();

    let report = random(bytes);
    let (took, latencies) = run(&base, clients, each, &report, true).await?;
    let rss = peak_rss_kib(server.id());
    server.kill()?;
    server.wait()?;
    let total = (clients * each) as f64;
    let mb = total * bytes as f64 / 1e6;
    println!(
        "intake: {clients} clients × {each} reports × {bytes} B in {:.2} s",
        took.as_secs_f64()
    );
    println!(
        "  {:.1} reports/s, {:.1} MB/s",
        total / took.as_secs_f64(),
        mb / took.as_secs_f64()
    );
    println!(
        "  PATCH latency p50 {:.1} ms, p99 {:.1} ms",
        pct(&latencies, 0.5),
        pct(&latencies, 0.99)
    );
    println!("  server peak RSS {:.1} MiB", rss as f64 / 1024.0);

    let sink = sink().await?;
    let (sink_took, _) = run(&sink, clients, each, &report, false).await?;
    println!(
        "sink (accepts and discards, same client): {:.1} MB/s; intake reaches {:.2}× of it",
        mb / sink_took.as_secs_f64(),
        sink_took.as_secs_f64() / took.as_secs_f64()
    );
    Ok(())
}

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    SystemRandom::new().fill(&mut v).expect("random");
    v
}

/// Every client uploads `each` reports; returns the wall time and every PATCH latency (ms).
async fn run(
    base: &str,
    clients: usize,
    each: usize,
    report: &[u8],
    tus: bool,
) -> anyhow::Result<(Duration, Vec<f64>)> {
    // reqwest's rustls has no default provider here (the phone's sync passes its own).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let report = Arc::new(report.to_vec());
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &report)
        .as_ref()
        .try_into()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, base, report) = (client.clone(), base.to_string(), report.clone());
        // One device key per client, as on real phones (the rate limit is per key).
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("key"))?;
        let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow::anyhow!("key"))?;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..each {
                let id = Uuid::now_v7();
                let url = if tus {
                    let meta = UploadMetadata {
                        report_id: id,
                        device_key: key.public_key().as_ref().try_into()?,
                        ciphertext_sha256: sha,
                        envelope_sig: key.sign(&envelope_message(id, &sha)).as_ref().try_into()?,
                        device_clock: None,
                    }
                    .to_string();
                    let created = client
                        .post(format!("{base}/v1/uploads"))
                        .header("Tus-Resumable", "1.0.0")
                        .header("Upload-Length", report.len().to_string())
                        .header("Upload-Metadata", meta)
                        .send()
                        .await?;
                    anyhow::ensure!(
                        created.status().as_u16() == 201,
                        "create: {}",
                        created.status()
                    );
                    format!("{base}{}", created.headers()["location"].to_str()?)
                } else {
                    format!("{base}/sink")
                };
                for (i, chunk) in report.chunks(CHUNK).enumerate() {
                    let t = Instant::now();
                    let r = client
                        .patch(&url)
                        .header("Tus-Resumable", "1.0.0")
                        .header("Content-Type", "application/offset+octet-stream")
                        .header("Upload-Offset", (i * CHUNK).to_string())
                        .body(chunk.to_vec())
                        .send()
                        .await?;
                    anyhow::ensure!(r.status().as_u16() == 204, "patch: {}", r.status());
                    latencies.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((started.elapsed(), all))
}

/// The upper bound: an HTTP server that accepts each PATCH body and throws it away.
async fn sink() -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/sink",
        axum::routing::patch(|_: axum::body::Bytes| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

fn pct(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// The process's peak resident set (Linux `VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .map(|v| v.trim().trim_end_matches(" kB").parse().ok())
            })?
        })
        .unwrap_or(0)
}

//! Loopback load on the intake, side by side on the same load: N concurrent clients upload
//! sealed-size reports in 64 KiB PATCHes to
//! - our SQLite store (`serve --data`),
//! - our shared store (`serve --store`) on PostgreSQL + versitygw, with one node and with two
//!   (clients split between them, as a load balancer would),
//! - our shared store on PostgreSQL + a directory, with one node and with two, each node held
//!   to a core of its own (`taskset`): on one machine the only way to see what a second node
//!   adds, since unpinned nodes and the S3 server share the same cores,
//! - tusd v2.9.1's own file store, the reference tus server,
//!
//! and prints reports/s, MB/s, p50/p99 PATCH latency, the intake processes' peak RSS and CPU
//! time per report, and for the shared store the CPU time per report of PostgreSQL and the S3
//! server beside them; then sends the same bytes the same way to a trivial sink (accepts and
//! discards) as the upper bound.
//!
//! `cargo run --release -p sighting-server --example intake_load -- [CLIENTS] [REPORTS_EACH] [BYTES]
//! [PATCH_BYTES]` (defaults 200, 5, 500000, 65536). Run by `cargo xtask bench`, which installs tusd and versitygw and
//! sets `SIGHTING_TUSD` and `SIGHTING_VERSITYGW`. `INTAKE_LOAD_ONLY=SQLite,tusd` runs only the
//! stores whose names contain one of the words (tusd is always last: the ratios need it);
//! `INTAKE_LOAD_ROUNDS` (default 3) how many times each runs, in turn.

mod measure;
use measure::{cpu_seconds_of_trees, median, pct, peak_rss_kib, random, sink};

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::wire::{envelope_message, UploadMetadata};
use test_support::engines::{free_port, spawn_tusd, Postgres, Versitygw};
use uuid::Uuid;

/// Which server a row of the table runs.
#[derive(Clone, Copy, PartialEq)]
enum Store {
    Sqlite,
    SharedS3,
    SharedDir,
    Tusd,
}

impl Store {
    fn is_shared(self) -> bool {
        matches!(self, Store::SharedS3 | Store::SharedDir)
    }
}

/// A row of the table: a store, how many nodes, each held to a core of its own or not.
#[derive(Clone, Copy)]
struct Target {
    name: &'static str,
    store: Store,
    nodes: usize,
    pinned: bool,
}

/// tusd last: the ratios need it.
const TARGETS: [Target; 6] = [
    Target {
        name: "ours: SQLite + files",
        store: Store::Sqlite,
        nodes: 1,
        pinned: false,
    },
    Target {
        name: "ours: shared (S3), 1 node",
        store: Store::SharedS3,
        nodes: 1,
        pinned: false,
    },
    Target {
        name: "ours: shared (S3), 2 nodes",
        store: Store::SharedS3,
        nodes: 2,
        pinned: false,
    },
    Target {
        name: "ours: shared (dir), 1 node on 1 core",
        store: Store::SharedDir,
        nodes: 1,
        pinned: true,
    },
    Target {
        name: "ours: shared (dir), 2 nodes, 1 core each",
        store: Store::SharedDir,
        nodes: 2,
        pinned: true,
    },
    Target {
        name: "tusd v2.9.1: file store",
        store: Store::Tusd,
        nodes: 1,
        pinned: false,
    },
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let clients = args.first().copied().unwrap_or(200);
    let each = args.get(1).copied().unwrap_or(5);
    let bytes = args.get(2).copied().unwrap_or(500_000);
    let chunk = args.get(3).copied().unwrap_or(64 << 10);

    let tmp = tempfile::tempdir()?;
    sighting_desk::keygen::keygen(&tmp.path().join("keys"))?;
    let exe = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("sighting-server"))
        .unwrap_or_default();
    anyhow::ensure!(
        exe.exists(),
        "build sighting-server first: cargo build --release -p sighting-server"
    );
    let key = tmp.path().join("keys/server.key");
    let report = random(bytes);
    let total = (clients * each) as f64;
    let mb = total * bytes as f64 / 1e6;
    println!(
        "intake: {clients} clients × {each} reports × {bytes} B, {} KiB PATCHes, loopback",
        chunk >> 10
    );
    println!(
        "  {:<44} {:>9} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "store",
        "reports/s",
        "durable/s",
        "MB/s",
        "p50 ms",
        "p99 ms",
        "RSS MiB",
        "CPU ms/r",
        "PG+S3 ms/r"
    );

    let only = std::env::var("INTAKE_LOAD_ONLY").unwrap_or_default();
    let targets: Vec<Target> = TARGETS
        .into_iter()
        .filter(|t| {
            t.store == Store::Tusd || only.is_empty() || only.split(',').any(|w| t.name.contains(w))
        })
        .collect();
    let postgres = targets
        .iter()
        .any(|t| t.store.is_shared())
        .then(Postgres::start);
    let s3 = targets
        .iter()
        .any(|t| t.store == Store::SharedS3)
        .then(Versitygw::start);
    let engines: Vec<u32> = postgres
        .iter()
        .map(|p| p.pid())
        .chain(s3.iter().map(|s| s.pid()))
        .collect();
    // Rounds, each target once per round on fresh directories with the disk flushed first:
    // this machine's disk and page cache make one run of a store differ from the next by 2×
    // or more, so ratios are taken within a round and the medians reported.
    let rounds: usize = std::env::var("INTAKE_LOAD_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut rates: Vec<(Target, Vec<(f64, f64)>)> =
        targets.iter().map(|t| (*t, Vec::new())).collect();
    for round in 0..rounds {
        for (i, (target, measured)) in rates.iter_mut().enumerate() {
            let dir = tmp.path().join(format!("{round}-{i}"));
            std::process::Command::new("sync").status()?;
            let mut nodes = match target.store {
                Store::Sqlite => vec![serve(
                    None,
                    &exe,
                    &key,
                    &["--data", &dir.display().to_string()],
                    &[],
                )?],
                Store::Tusd => vec![tusd(&dir)?],
                Store::SharedS3 | Store::SharedDir => {
                    let database = postgres.as_ref().expect("started").database().await;
                    let (spec, env) = match (&s3, target.store) {
                        (Some(s3), Store::SharedS3) => (
                            format!("{database};s3://{}/intake-{round}", s3.bucket()),
                            s3.env(),
                        ),
                        _ => (format!("{database};file://{}", dir.display()), Vec::new()),
                    };
                    (0..target.nodes)
                        .map(|cpu| {
                            let cpu = target.pinned.then_some(cpu);
                            serve(cpu, &exe, &key, &["--store", spec.as_str()], &env)
                        })
                        .collect::<anyhow::Result<_>>()?
                }
            };
            let bases: Vec<String> = nodes.iter().map(|n| n.1.clone()).collect();
            // PostgreSQL's and the S3 server's CPU, for the shared store only (a scan of /proc).
            let engines_cpu = || {
                target
                    .store
                    .is_shared()
                    .then(|| cpu_seconds_of_trees(&engines))
            };
            let engines_before = engines_cpu();
            let (took, latencies) = run(&bases, clients, each, &report, chunk, true).await?;
            // Until every acknowledged byte is on disk: tusd leaves its writes to the page
            // cache, which the kernel writes back after the run.
            let flushing = Instant::now();
            std::process::Command::new("sync").status()?;
            let durable = took + flushing.elapsed();
            let rss: u64 = nodes.iter().map(|n| peak_rss_kib(n.0.id())).sum();
            let cpu: f64 = nodes
                .iter()
                .map(|n| cpu_seconds_of_trees(&[n.0.id()]))
                .sum();
            let engines = match (engines_before, engines_cpu()) {
                (Some(before), Some(after)) => format!("{:.2}", (after - before) * 1000.0 / total),
                _ => String::new(),
            };
            for (child, _) in &mut nodes {
                child.kill()?;
                child.wait()?;
            }
            let rate = total / took.as_secs_f64();
            let durable_rate = total / durable.as_secs_f64();
            measured.push((rate, durable_rate));
            println!(
                "  {:<44} {rate:>9.1} {durable_rate:>9.1} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.2} {engines:>11}",
                format!("{} [{}]", target.name, round + 1),
                mb / took.as_secs_f64(),
                pct(&latencies, 0.5),
                pct(&latencies, 0.99),
                rss as f64 / 1024.0,
                cpu * 1000.0 / total
            );
        }
    }
    let (_, tusd) = rates.last().expect("tusd is always run");
    for (target, measured) in &rates[..rates.len() - 1] {
        for (what, pick) in [
            (
                "reports/s",
                (|r: &(f64, f64)| r.0) as fn(&(f64, f64)) -> f64,
            ),
            ("reports/s until on disk", |r| r.1),
        ] {
            let ours: Vec<f64> = measured.iter().map(pick).collect();
            let theirs: Vec<f64> = tusd.iter().map(pick).collect();
            let ratios: Vec<String> = ours
                .iter()
                .zip(&theirs)
                .map(|(o, t)| format!("{:.2}×", o / t))
                .collect();
            println!(
                "  {}, {what}: median {:.1} against tusd's {:.1}: {:.2}× (rounds: {})",
                target.name,
                median(&ours),
                median(&theirs),
                median(&ours) / median(&theirs),
                ratios.join(", ")
            );
        }
    }
    // What a second node adds, round by round.
    for (two, two_rates) in rates.iter().filter(|(t, _)| t.nodes == 2) {
        let Some((one, one_rates)) = rates
            .iter()
            .find(|(t, _)| t.store == two.store && t.nodes == 1)
        else {
            continue;
        };
        let ratios: Vec<f64> = two_rates
            .iter()
            .zip(one_rates)
            .map(|(t, o)| t.0 / o.0)
            .collect();
        let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}×")).collect();
        println!(
            "  {} against {}: median {:.2}× (rounds: {})",
            two.name,
            one.name,
            median(&ratios),
            each.join(", ")
        );
    }

    let sink = sink().await?;
    let (sink_took, _) = run(&[sink], clients, each, &report, chunk, false).await?;
    println!(
        "sink (accepts and discards, same client): {:.1} MB/s",
        mb / sink_took.as_secs_f64(),
    );
    Ok(())
}

/// `sighting-server serve` on a loopback port, held to one CPU when `cpu` is given (`taskset`
/// execs it: the pid is the server's): the process and its address.
fn serve(
    cpu: Option<usize>,
    exe: &Path,
    key: &Path,
    store: &[&str],
    env: &[(&str, String)],
) -> anyhow::Result<(Child, String)> {
    let mut command = match cpu {
        Some(cpu) => {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", &cpu.to_string()]).arg(exe);
            taskset
        }
        None => Command::new(exe),
    };
    let mut server = command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate-burst",
            "1000000",
        ])
        .args(store)
        .arg("--key")
        .arg(key)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lines = std::io::BufReader::new(server.stdout.take().expect("piped")).lines();
    let base = loop {
        let line = lines
            .next()
            .ok_or_else(|| anyhow::anyhow!("the server stopped"))??;
        if let Some(at) = line.strip_prefix("intake server on ") {
            break at.split_whitespace().next().unwrap_or_default().to_string();
        }
    };
    // Its logs go to stdout: keep reading so a full pipe never blocks it.
    std::thread::spawn(move || lines.for_each(drop));
    Ok((server, base))
}

/// tusd with its file store, on a loopback port.
fn tusd(dir: &Path) -> anyhow::Result<(Child, String)> {
    let port = free_port();
    Ok((spawn_tusd(dir, port), format!("http://127.0.0.1:{port}")))
}

/// Every client uploads `each` reports, client `i` to `bases[i % len]`; returns the wall time
/// and every PATCH latency (ms).
async fn run(
    bases: &[String],
    clients: usize,
    each: usize,
    report: &[u8],
    chunk: usize,
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
    for i in 0..clients {
        let base = bases[i % bases.len()].clone();
        let (client, report) = (client.clone(), report.clone());
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
                    // tusd answers with an absolute URL, we with a path.
                    let location = created.headers()["location"].to_str()?;
                    if location.starts_with("http") {
                        location.to_string()
                    } else {
                        format!("{base}{location}")
                    }
                } else {
                    format!("{base}/sink")
                };
                for (i, piece) in report.chunks(chunk).enumerate() {
                    let t = Instant::now();
                    let r = client
                        .patch(&url)
                        .header("Tus-Resumable", "1.0.0")
                        .header("Content-Type", "application/offset+octet-stream")
                        .header("Upload-Offset", (i * chunk).to_string())
                        .body(piece.to_vec())
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

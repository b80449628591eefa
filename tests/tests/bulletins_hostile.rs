//! `refresh_bulletins` against a hostile feed server (a compromised intake, or someone between
//! the phone and it): bodies that never end, a Content-Length that lies either way, bytes or
//! header lines dripped one at a time, and redirects to another port. The feed's signature
//! already stops forged content; these attack the phone's memory, time and the origin rule.
//! Each refresh ends within the configured time with a typed error, never reads past the
//! feed's limits, never leaves the configured origin, and the phone keeps the list it had.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::bulletins::FeedStatus;
use sighting_core::handle::DeviceHandle;
use sighting_core::sync::{RefreshError, SyncConfig, Syncer};
use sighting_desk::bulletins::{self, Feed};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use support::cases::desk_with_cases;
use test_support as support;

const AMSTERDAM: (f64, f64) = (52.37, 4.90);
const UTRECHT: (f64, f64) = (52.09, 5.12);
const PHONE: (f64, f64) = (52.36, 4.86);
/// What the test phone allows a whole refresh, and a read that moves no byte.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);
const STALL_TIMEOUT: Duration = Duration::from_secs(1);
/// Far beyond both: a refresh still running by then was not cut.
const GUARD: Duration = Duration::from_secs(20);
/// What an endless body offers before the attacker gives up.
const ENDLESS: u64 = 256 << 20;

#[derive(Clone, Copy, Debug)]
enum Attack {
    Honest,
    /// The index as an endless body without a length.
    EndlessIndex,
    /// A tile as an endless body without a length.
    EndlessTile,
    /// A Content-Length of 1 TiB for the index.
    HugeLength,
    /// A Content-Length longer than what follows, then silence.
    ShortBody,
    /// The index's bytes one every 200 ms: each read within the stall timeout.
    Drip,
    /// Header lines for ever, as fast as the phone reads them.
    EndlessHeaders,
    /// A header line every 200 ms.
    DripHeaders,
    /// A redirect with this status to the same path on the decoy's port.
    Redirect(u16),
}

/// A feed server on loopback that serves its files honestly until told to attack.
struct HostileServer {
    files: Mutex<HashMap<String, Vec<u8>>>,
    attack: Mutex<Attack>,
    /// Bytes written by attacks that send without end.
    sent: AtomicU64,
    decoy_port: u16,
}

impl HostileServer {
    async fn start(decoy_port: u16) -> (Arc<Self>, String) {
        let server = Arc::new(HostileServer {
            files: Mutex::default(),
            attack: Mutex::new(Attack::Honest),
            sent: AtomicU64::new(0),
            decoy_port,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let s = server.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(s.clone().answer(tcp));
            }
        });
        (server, base)
    }

    fn serve(&self, feed: &Feed) {
        let mut files = self.files.lock().unwrap();
        files.clear();
        files.insert("/v1/bulletins/index.json".into(), feed.index_json.clone());
        for (name, bytes) in &feed.tiles {
            files.insert(format!("/v1/bulletins/tiles/{name}.json"), bytes.clone());
        }
    }

    async fn answer(self: Arc<Self>, mut tcp: TcpStream) {
        let Some(path) = request_path(&mut tcp).await else {
            return;
        };
        let attack = *self.attack.lock().unwrap();
        let file = self.files.lock().unwrap().get(&path).cloned();
        let is_index = path.ends_with("index.json");
        let _ = match (attack, is_index) {
            (Attack::EndlessIndex, true) | (Attack::EndlessTile, false) => {
                self.endless(
                    &mut tcp,
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
                    b"[",
                )
                .await
            }
            (Attack::HugeLength, true) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 1u64 << 40);
                self.endless(&mut tcp, head.as_bytes(), b" ").await
            }
            (Attack::ShortBody, true) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n{\"body\"";
                tcp.write_all(head.as_bytes()).await.map(|_| ())
            }
            (Attack::Drip, true) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
                drip(&mut tcp, head.as_bytes(), b" ").await
            }
            (Attack::EndlessHeaders, true) => {
                let line = format!("X-Junk: {}\r\n", "j".repeat(1000));
                self.endless(&mut tcp, b"HTTP/1.1 200 OK\r\n", line.as_bytes())
                    .await
            }
            (Attack::DripHeaders, true) => {
                drip(&mut tcp, b"HTTP/1.1 200 OK\r\n", b"X-Slow: 1\r\n").await
            }
            (Attack::Redirect(status), true) => {
                let head = format!(
                    "HTTP/1.1 {status} Moved\r\nLocation: http://127.0.0.1:{}{path}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n",
                    self.decoy_port
                );
                let _ = tcp.write_all(head.as_bytes()).await;
                return;
            }
            _ => {
                let _ = honest(&mut tcp, file).await;
                return;
            }
        };
        // Leave the connection open (a silent server) until the phone drops it.
        let mut rest = [0u8; 1024];
        while matches!(tcp.read(&mut rest).await, Ok(n) if n > 0) {}
    }

    /// `head`, then `unit` repeated up to [`ENDLESS`] bytes or until the phone hangs up.
    async fn endless(&self, tcp: &mut TcpStream, head: &[u8], unit: &[u8]) -> std::io::Result<()> {
        tcp.write_all(head).await?;
        let block = unit.repeat((64 << 10) / unit.len());
        while self.sent.load(Ordering::Relaxed) < ENDLESS {
            tcp.write_all(&block).await?;
            self.sent.fetch_add(block.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The request's path, once its head has arrived.
async fn request_path(tcp: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
        let n = tcp.read(&mut buf).await.ok().filter(|n| *n > 0)?;
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    head.split_whitespace().nth(1).map(str::to_string)
}

async fn honest(tcp: &mut TcpStream, file: Option<Vec<u8>>) -> std::io::Result<()> {
    let (status, body) = match file {
        Some(bytes) => ("200 OK", bytes),
        None => ("404 Not Found", Vec::new()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(&body).await
}

/// `head`, then `piece` every 200 ms, a thousand times.
async fn drip(tcp: &mut TcpStream, head: &[u8], piece: &[u8]) -> std::io::Result<()> {
    tcp.write_all(head).await?;
    for _ in 0..1000 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        tcp.write_all(piece).await?;
    }
    Ok(())
}

/// Counts connections on a loopback port nobody should be sent to.
async fn decoy() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    (port, reached)
}

async fn shown(phone: &DeviceHandle) -> Vec<String> {
    let list = phone
        .call(|d| d.bulletins(OffsetDateTime::now_utc(), Some(PHONE)))
        .await
        .unwrap();
    assert!(matches!(
        list.status,
        FeedStatus::Current { version: 1, .. }
    ));
    list.cases.iter().map(|c| c.case.number.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_feed_server_cannot_hold_fill_or_redirect_a_phone() {
    let tmp = tempfile::tempdir().unwrap();
    let key = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
    let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let build = |dir: &str, places: &[(f64, f64)], version| {
        let (desk, _) = desk_with_cases(&tmp.path().join(dir), places);
        let now = OffsetDateTime::now_utc();
        bulletins::build(&desk, &key, version, now, time::Duration::days(14)).unwrap()
    };
    let first = build("desk", &[AMSTERDAM, UTRECHT], 1);
    // Other tiles than the ones held (the cases swapped), so the phone has to fetch them.
    let second = build("desk2", &[UTRECHT, AMSTERDAM], 2);

    let (decoy_port, decoy_reached) = decoy().await;
    let (server, base) = HostileServer::start(decoy_port).await;
    let phone = support::phone(
        tmp.path(),
        &support::age_keygen(&tmp.path().join("org")).to_string(),
    );
    let _ = support::client();
    let syncer = Syncer::new(SyncConfig {
        bulletin_key: Some(public),
        stall_timeout: STALL_TIMEOUT,
        bulletin_timeout: REFRESH_TIMEOUT,
        ..SyncConfig::new(&base, support::server_key().1)
    })
    .unwrap();
    server.serve(&first);
    let held = syncer.refresh_bulletins(&phone, Some(PHONE)).await.unwrap();
    assert_eq!((held.version, held.cases), (Some(1), 2));
    let before = shown(&phone).await;
    server.serve(&second);

    type Check = fn(&RefreshError) -> bool;
    let too_large: Check = |e| matches!(e, RefreshError::TooLarge);
    let network: Check = |e| matches!(e, RefreshError::Network(_));
    let attacks: Vec<(Attack, Check)> = vec![
        (Attack::EndlessIndex, too_large),
        (Attack::EndlessTile, too_large),
        (Attack::HugeLength, too_large),
        (Attack::ShortBody, network),
        (Attack::Drip, network),
        (Attack::EndlessHeaders, network),
        (Attack::DripHeaders, network),
        (Attack::Redirect(301), |e| {
            matches!(e, RefreshError::Status(301))
        }),
        (Attack::Redirect(302), |e| {
            matches!(e, RefreshError::Status(302))
        }),
        (Attack::Redirect(307), |e| {
            matches!(e, RefreshError::Status(307))
        }),
        (Attack::Redirect(308), |e| {
            matches!(e, RefreshError::Status(308))
        }),
    ];
    for (attack, check) in attacks {
        *server.attack.lock().unwrap() = attack;
        server.sent.store(0, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let refused = tokio::time::timeout(GUARD, syncer.refresh_bulletins(&phone, Some(PHONE)))
            .await
            .unwrap_or_else(|_| panic!("{attack:?}: the refresh was still running after {GUARD:?}"))
            .expect_err("a refresh under attack must fail");
        let took = started.elapsed();
        let sent = server.sent.load(Ordering::Relaxed);
        println!("{attack:?}: {refused} ({refused:?}) after {took:?}, {sent} bytes offered");
        assert!(check(&refused), "{attack:?}: {refused:?}");
        assert!(
            sent < ENDLESS / 8,
            "{attack:?}: the phone read on ({sent} bytes sent)"
        );
        assert_eq!(shown(&phone).await, before, "{attack:?}: the old list");
    }
    assert_eq!(
        decoy_reached.load(Ordering::Relaxed),
        0,
        "a redirect was followed off the configured origin"
    );

    // The same server honest again: the new feed comes through.
    *server.attack.lock().unwrap() = Attack::Honest;
    let refresh = syncer.refresh_bulletins(&phone, Some(PHONE)).await.unwrap();
    assert_eq!((refresh.version, refresh.tiles_downloaded), (Some(2), 2));
}

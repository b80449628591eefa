//! A TCP proxy that behaves like a bad mobile network in front of the intake server.
//!
//! It reads just enough HTTP/1.1 to find each request's head and `Content-Length` body, and
//! gives each request, with probability `failure_rate`, one fault: the connection drops
//! mid-body, is reset (RST) mid-body, gets a 503 from "a gateway" instead of reaching the
//! server, loses the server's response after the server handled the request, or stalls (bytes
//! stop moving) past the client's timeout. It can throttle the upload direction to 2G speed.
//! Every byte the client sends is counted: that is what a phone pays for.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

#[derive(Debug, Clone)]
pub struct Network {
    /// Share of requests that meet a fault.
    pub failure_rate: f64,
    /// Upload bytes per second (None: as fast as loopback).
    pub upload_rate: Option<u64>,
    /// How long a stalled connection hangs before it is closed.
    pub stall_for: Duration,
    pub seed: u64,
}

impl Network {
    pub fn clean() -> Self {
        Self {
            failure_rate: 0.0,
            upload_rate: None,
            stall_for: Duration::from_secs(2),
            seed: 1,
        }
    }
}

#[derive(Debug, Default)]
pub struct Counters {
    /// Bytes the client sent into the proxy, delivered or not.
    pub upload_bytes: AtomicU64,
    pub requests: AtomicU64,
    pub faults: AtomicU64,
}

pub struct FaultyProxy {
    pub base: String,
    pub counters: Arc<Counters>,
    upstream: Arc<std::sync::Mutex<SocketAddr>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn address(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Drop,
    Reset,
    GatewayError,
    LoseResponse,
    Stall,
}

impl FaultyProxy {
    /// Listens on a loopback port and forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, network: Network) -> FaultyProxy {
        let upstream = Arc::new(std::sync::Mutex::new(address(upstream)));
        let socket = TcpSocket::new_v4().unwrap();
        // A small receive buffer, as on a phone's link: the client cannot push far ahead of
        // what the "network" carries.
        socket.set_recv_buffer_size(16 << 10).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener: TcpListener = socket.listen(128).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let (c, to) = (counters.clone(), upstream.clone());
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                n += 1;
                let rng = fastrand::Rng::with_seed(network.seed.wrapping_mul(1_000_003) ^ n);
                tokio::spawn(connection(
                    client,
                    *to.lock().unwrap(),
                    network.clone(),
                    c.clone(),
                    rng,
                ));
            }
        });
        FaultyProxy {
            base,
            counters,
            upstream,
            task,
        }
    }

    /// Sends new connections to another server (as a load balancer does when one dies).
    pub fn switch_to(&self, upstream: &str) {
        *self.upstream.lock().unwrap() = address(upstream);
    }

    pub fn upload_bytes(&self) -> u64 {
        self.counters.upload_bytes.load(Ordering::Relaxed)
    }

    pub fn faults(&self) -> u64 {
        self.counters.faults.load(Ordering::Relaxed)
    }
}

/// Where the proxy is within the client's byte stream.
enum Upstream {
    Head(Vec<u8>),
    /// Body bytes still to forward, and this request's fault with the number of body bytes
    /// that pass before it strikes.
    Body {
        left: u64,
        fault: Option<(Fault, u64)>,
    },
}

/// Splits the client's bytes into requests and decides each one's fate.
struct Requests {
    state: Upstream,
    failure_rate: f64,
    rng: fastrand::Rng,
    counters: Arc<Counters>,
}

impl Requests {
    /// What to forward to the server, and the fault that strikes after it (if one does).
    fn feed(&mut self, mut input: Vec<u8>) -> (Vec<u8>, Option<Fault>) {
        let mut out = Vec::new();
        while !input.is_empty() {
            match &mut self.state {
                Upstream::Head(head) => {
                    head.append(&mut input);
                    let Some(end) = find(head, b"\r\n\r\n") else {
                        break;
                    };
                    input = head.split_off(end + 4);
                    let head = std::mem::take(head);
                    let length = content_length(&head);
                    self.counters.requests.fetch_add(1, Ordering::Relaxed);
                    let fault = (self.rng.f64() < self.failure_rate).then(|| {
                        self.counters.faults.fetch_add(1, Ordering::Relaxed);
                        let kind = match self.rng.u32(0..100) {
                            0..35 => Fault::Drop,
                            35..60 => Fault::Reset,
                            60..80 => Fault::GatewayError,
                            80..95 => Fault::LoseResponse,
                            _ => Fault::Stall,
                        };
                        (kind, self.rng.u64(0..=length))
                    });
                    if let Some((Fault::GatewayError, _)) = fault {
                        return (out, Some(Fault::GatewayError));
                    }
                    out.extend_from_slice(&head);
                    self.state = Upstream::Body {
                        left: length,
                        fault,
                    };
                    if let Some(strike) = self.body_end_or_fault() {
                        return (out, Some(strike));
                    }
                }
                Upstream::Body { left, fault } => {
                    let take = (*left).min(input.len() as u64);
                    if let Some((kind, at)) = fault.as_mut() {
                        if !matches!(kind, Fault::LoseResponse) {
                            if *at <= take {
                                out.extend_from_slice(&input[..*at as usize]);
                                return (out, Some(*kind));
                            }
                            *at -= take;
                        }
                    }
                    out.extend(input.drain(..take as usize));
                    *left -= take;
                    if let Some(strike) = self.body_end_or_fault() {
                        return (out, Some(strike));
                    }
                }
            }
        }
        (out, None)
    }

    /// At a body's end: a lost response strikes now; otherwise the next request begins.
    fn body_end_or_fault(&mut self) -> Option<Fault> {
        if let Upstream::Body { left: 0, fault } = &self.state {
            let strike = match fault {
                Some((Fault::LoseResponse, _)) => Some(Fault::LoseResponse),
                Some((kind, 0)) => Some(*kind),
                _ => None,
            };
            self.state = Upstream::Head(Vec::new());
            return strike;
        }
        None
    }
}

async fn connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    network: Network,
    counters: Arc<Counters>,
    rng: fastrand::Rng,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let mut requests = Requests {
        state: Upstream::Head(Vec::new()),
        failure_rate: network.failure_rate,
        rng,
        counters: counters.clone(),
    };
    let mut up = vec![0u8; 4096];
    let mut down = vec![0u8; 64 << 10];
    loop {
        tokio::select! {
            n = server.read(&mut down) => match n {
                Ok(n) if n > 0 => {
                    if client.write_all(&down[..n]).await.is_err() {
                        return;
                    }
                }
                _ => return,
            },
            n = client.read(&mut up) => {
                let n = match n {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                counters.upload_bytes.fetch_add(n as u64, Ordering::Relaxed);
                if let Some(rate) = network.upload_rate {
                    tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
                }
                let (forward, fault) = requests.feed(up[..n].to_vec());
                if server.write_all(&forward).await.is_err() {
                    return;
                }
                match fault {
                    None => {}
                    Some(Fault::GatewayError) => {
                        let _ = client
                            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                    Some(Fault::LoseResponse) => {
                        // The server handles the request; its answer never reaches the phone.
                        drop(client);
                        let _ = tokio::time::timeout(Duration::from_secs(5), server.read(&mut down)).await;
                        return;
                    }
                    Some(Fault::Reset) => {
                        let _ = client.set_zero_linger();
                        return;
                    }
                    Some(Fault::Stall) => {
                        tokio::time::sleep(network.stall_for).await;
                        return;
                    }
                    Some(Fault::Drop) => return,
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> u64 {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

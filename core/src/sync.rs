//! Sync: upload queued reports to the intake server over tus 1.0.0, resume from the server's
//! offset after any failure, verify the signed receipt, then mark the report delivered and
//! delete its ciphertext.
//!
//! The tus client is ours (no maintained Rust one exists). OPTIONS is asked once per server;
//! POST creates the upload (carrying the whole report when it fits in one chunk); each PATCH
//! streams one chunk from disk, and the upload URL and offset are written to the queue *before*
//! each PATCH, so a killed app resumes with a HEAD. The intake server keeps the part of a body
//! that arrived before a drop, so a drop on a 2G link costs little.
//!
//! tus 1.0.0, *Core Protocol*: "The Client SHOULD send all subsequent PATCH requests after the
//! HEAD [...] If the Server is not able to find the resource, it SHOULD respond with 404 Not
//! Found or 410 Gone [...] Otherwise [...] the Server MUST include the Upload-Offset header".
//!
//! TLS is rustls on ring with the Mozilla roots bundled (webpki-roots), so Android needs no
//! platform-verifier JNI; an organisation may pin its own CA instead. Plain `http://` is
//! allowed to loopback only (tests, the demo).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use futures_util::{stream, StreamExt};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use tokio::sync::{Notify, OnceCell};
use tokio::time::Instant;
use uuid::Uuid;

use crate::device::DeviceError;
use crate::handle::{DeviceHandle, HandleError};
use crate::queue::{PendingUpload, State};
use crate::receipt::Receipt;

const TUS: &str = "1.0.0";
const BACKOFF_BASE: Duration = Duration::from_secs(2);
const BACKOFF_CAP: Duration = Duration::from_secs(3600);
/// Bytes handed to the connection at a time: the grain of the stall watchdog.
const PIECE: usize = 16 << 10;
/// At most this many progress events per report per second (the outbox UI's refresh rate).
const EVENTS_PER_SECOND: u32 = 10;

#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The intake server's base URL: `https://…`, or `http://` to loopback.
    pub intake: String,
    /// The server's receipt key (Ed25519 public key) from the app's configuration.
    pub server_key: [u8; 32],
    /// Trust only this CA (PEM or DER) for the intake server instead of the bundled roots.
    pub pinned_ca: Option<Vec<u8>>,
    /// Bytes per PATCH (default 256 KiB).
    pub chunk_size: usize,
    /// Reports uploading at once (default 2).
    pub max_in_flight: usize,
    /// A request that moves no byte for this long is abandoned (default 30 s).
    pub stall_timeout: Duration,
    /// Send `Upload-Checksum` where the server offers it (default off). Over TLS every record
    /// is already authenticated and the server checks the SHA-256 of the whole ciphertext, and
    /// a checksummed chunk cannot be kept in part, so on a dropping link checksums cost bytes
    /// (measured in docs/benchmarks.md).
    pub checksums: bool,
}

impl SyncConfig {
    pub fn new(intake: impl Into<String>, server_key: [u8; 32]) -> Self {
        Self {
            intake: intake.into(),
            server_key,
            pinned_ca: None,
            chunk_size: 256 << 10,
            max_in_flight: 2,
            stall_timeout: Duration::from_secs(30),
            checksums: false,
        }
    }
}

/// How much one sync run may spend.
#[derive(Debug, Clone, Copy)]
pub struct SyncBudget {
    pub max_wall: Duration,
    pub max_bytes: u64,
    /// Skip reports whose backoff has not run out (background runs); a reporter's "send now"
    /// tries everything.
    pub honour_backoff: bool,
    /// Whether this run may use a metered network, and whether the network now is metered
    /// (the shell knows both: the reporter's setting and the OS's view of the link).
    pub allow_metered: bool,
    pub metered: bool,
}

impl SyncBudget {
    /// A background run: the OS gives ~30 s; backoff honoured; metered networks allowed.
    pub fn background(max_wall: Duration) -> Self {
        Self {
            max_wall,
            max_bytes: u64::MAX,
            honour_backoff: true,
            allow_metered: true,
            metered: false,
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    pub delivered: Vec<Uuid>,
    pub unconfirmed: Vec<Uuid>,
    pub rejected: Vec<(Uuid, String)>,
    pub retrying: Vec<(Uuid, String)>,
    /// Cut by the budget (or a cancel) mid-upload; the next sync resumes from the server's
    /// offset.
    pub paused: Vec<Uuid>,
    /// Body bytes handed to the network (resent bytes included).
    pub bytes_sent: u64,
    /// Nothing was tried: the network is metered and the budget does not allow it.
    pub skipped_metered: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the intake URL {0:?} must be https:// (plain http:// only to loopback)")]
    Url(String),
    #[error("the pinned CA certificate cannot be used: {0}")]
    PinnedCa(String),
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
    #[error(transparent)]
    Device(#[from] HandleError),
}

impl From<DeviceError> for SyncError {
    fn from(e: DeviceError) -> Self {
        SyncError::Device(HandleError::Device(e))
    }
}

/// What the shell's outbox hears about (throttled to ~10 progress events/s per report).
pub trait SyncListener: Send + Sync {
    /// `sent`: bytes the server has confirmed (after each chunk, or a HEAD), not bytes handed
    /// to the socket: those can sit in the phone's buffers long after a "sent" would be shown.
    fn progress(&self, report: Uuid, sent: u64, total: u64);
    /// A report changed state; `detail` is the reason for `rejected`, or the error of an
    /// attempt that will be retried (state stays `uploading`).
    fn state_changed(&self, report: Uuid, state: State, detail: Option<&str>);
}

/// What `OPTIONS /v1/uploads` said, asked once per [`Syncer`].
#[derive(Debug, Clone, Default)]
struct ServerCaps {
    creation_with_upload: bool,
    /// The `Upload-Checksum` algorithm to use, if the server offers one we have.
    checksum: Option<&'static str>,
    max_size: Option<u64>,
}

/// The sync engine for one intake server: an HTTP client, what the server supports, the
/// listener, and a way to cancel a running sync.
pub struct Syncer {
    client: reqwest::Client,
    config: SyncConfig,
    caps: OnceCell<ServerCaps>,
    listener: RwLock<Option<Arc<dyn SyncListener>>>,
    /// When each report's last progress event went out (the throttle spans attempts).
    last_progress: Mutex<HashMap<Uuid, Instant>>,
    cancelled: AtomicBool,
    cancel: Notify,
}

/// How one report's attempt ended.
enum Outcome {
    Delivered(String),
    Unconfirmed,
    Rejected(String),
    /// Try again later; not before the server's `Retry-After`, if it gave one.
    Retry(String, Option<Duration>),
    Paused,
}

impl Outcome {
    fn network(e: &reqwest::Error) -> Self {
        if let Some(tls) = tls_error(e) {
            return Outcome::Retry(
                format!("network: the intake server's certificate is not trusted ({tls})"),
                None,
            );
        }
        let what = if e.is_connect() {
            "network: cannot reach the intake server"
        } else if e.is_timeout() {
            "network: the connection timed out"
        } else {
            "network: the connection failed"
        };
        Outcome::Retry(what.into(), None)
    }
}

/// One sync run's allowance, shared by the reports in flight.
struct Run<'a> {
    syncer: &'a Syncer,
    deadline: Instant,
    max_bytes: u64,
    sent: AtomicU64,
}

impl Run<'_> {
    fn spent(&self) -> bool {
        Instant::now() >= self.deadline
            || self.sent.load(Ordering::Relaxed) >= self.max_bytes
            || self.syncer.cancelled.load(Ordering::Relaxed)
    }

    /// Runs `f` unless the deadline or a cancel comes first (`None`: cut; whatever the server
    /// kept of it, HEAD will say).
    async fn bounded<T>(&self, f: impl Future<Output = T>) -> Option<T> {
        let cancelled = async {
            loop {
                let notified = self.syncer.cancel.notified();
                if self.syncer.cancelled.load(Ordering::Relaxed) {
                    return;
                }
                notified.await;
            }
        };
        tokio::select! {
            out = f => Some(out),
            () = tokio::time::sleep_until(self.deadline) => None,
            () = cancelled => None,
        }
    }
}

impl Syncer {
    pub fn new(config: SyncConfig) -> Result<Self, SyncError> {
        let url = reqwest::Url::parse(&config.intake)
            .map_err(|_| SyncError::Url(config.intake.clone()))?;
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(SyncError::Url(config.intake.clone())),
        }
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(config.pinned_ca.as_deref())?)
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(config.stall_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            // A redirect could send the next request to another host or to plain http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SyncError::Client(e.to_string()))?;
        Ok(Self {
            client,
            config,
            caps: OnceCell::new(),
            listener: RwLock::new(None),
            last_progress: Mutex::new(HashMap::new()),
            cancelled: AtomicBool::new(false),
            cancel: Notify::new(),
        })
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn SyncListener>>) {
        if let Ok(mut l) = self.listener.write() {
            *l = listener;
        }
    }

    /// Stops a running sync at its next step; a PATCH in flight is cut (its offset is kept).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.cancel.notify_waiters();
    }

    fn listener(&self) -> Option<Arc<dyn SyncListener>> {
        self.listener.read().ok()?.clone()
    }

    fn state_changed(&self, id: Uuid, state: State, detail: Option<&str>) {
        if let Some(l) = self.listener() {
            l.state_changed(id, state, detail);
        }
    }

    /// Uploads what is due, oldest first, at most `max_in_flight` at once, within `budget`.
    pub async fn sync(
        &self,
        device: &DeviceHandle,
        budget: SyncBudget,
    ) -> Result<SyncSummary, SyncError> {
        self.cancelled.store(false, Ordering::Relaxed);
        let mut summary = SyncSummary::default();
        if budget.metered && !budget.allow_metered {
            summary.skipped_metered = true;
            return Ok(summary);
        }
        let run = Run {
            syncer: self,
            deadline: Instant::now() + budget.max_wall,
            max_bytes: budget.max_bytes,
            sent: AtomicU64::new(0),
        };
        let due_by = budget.honour_backoff.then(OffsetDateTime::now_utc);
        let pending = device
            .call(move |d| Ok(d.queue().pending_uploads(due_by)?))
            .await?;
        let results: Vec<_> = stream::iter(pending)
            .map(|item| self.sync_one(device, &run, item))
            .buffered(self.config.max_in_flight.max(1))
            .collect()
            .await;
        for result in results {
            match result? {
                (_, None) => {}
                (id, Some(Outcome::Delivered(_))) => summary.delivered.push(id),
                (id, Some(Outcome::Unconfirmed)) => summary.unconfirmed.push(id),
                (id, Some(Outcome::Rejected(reason))) => summary.rejected.push((id, reason)),
                (id, Some(Outcome::Retry(error, _))) => summary.retrying.push((id, error)),
                (id, Some(Outcome::Paused)) => summary.paused.push(id),
            }
        }
        summary.bytes_sent = run.sent.load(Ordering::Relaxed);
        Ok(summary)
    }

    /// One report: upload and record the outcome (`None`: not tried, the budget ran out).
    async fn sync_one(
        &self,
        device: &DeviceHandle,
        run: &Run<'_>,
        item: PendingUpload,
    ) -> Result<(Uuid, Option<Outcome>), SyncError> {
        let id = item.id;
        if run.spent() {
            return Ok((id, None));
        }
        if item.state == State::Sealed {
            device
                .call(move |d| Ok(d.queue().transition(id, State::Uploading, |_| Ok(()))?))
                .await?;
            self.state_changed(id, State::Uploading, None);
        }
        let outcome = self.upload(device, run, &item).await?;
        let attempts = item.attempts;
        match &outcome {
            Outcome::Delivered(receipt) => {
                let receipt = receipt.clone();
                device
                    .call(move |d| d.finish_delivered(id, State::Delivered, Some(&receipt)))
                    .await?;
                self.state_changed(id, State::Delivered, None);
            }
            Outcome::Unconfirmed => {
                device
                    .call(move |d| d.finish_delivered(id, State::UploadedUnconfirmed, None))
                    .await?;
                self.state_changed(id, State::UploadedUnconfirmed, None);
            }
            Outcome::Rejected(reason) => {
                let r = reason.clone();
                device
                    .call(move |d| Ok(d.queue().finish_upload(id, State::Rejected, Some(&r))?))
                    .await?;
                self.state_changed(id, State::Rejected, Some(reason));
            }
            Outcome::Paused => {}
            Outcome::Retry(error, retry_after) => {
                // Never sooner than the server asked for.
                let floor = retry_after
                    .map(|d| d.min(BACKOFF_CAP))
                    .and_then(|d| time::Duration::try_from(d).ok())
                    .unwrap_or_default();
                let next = OffsetDateTime::now_utc() + backoff(attempts).max(floor);
                let e = error.clone();
                device
                    .call(move |d| Ok(d.queue().record_failure(id, &e, next)?))
                    .await?;
                self.state_changed(id, State::Uploading, Some(error));
            }
        }
        Ok((id, Some(outcome)))
    }

    async fn caps(&self, run: &Run<'_>) -> Result<ServerCaps, Outcome> {
        if let Some(caps) = self.caps.get() {
            return Ok(caps.clone());
        }
        let request = self
            .client
            .request(reqwest::Method::OPTIONS, self.endpoint("/v1/uploads"))
            .send();
        let response = match run.bounded(request).await {
            None => return Err(Outcome::Paused),
            Some(Err(e)) => return Err(Outcome::network(&e)),
            Some(Ok(r)) => r,
        };
        if response.status().is_server_error() {
            return Err(refusal(response).await);
        }
        // A server without OPTIONS still speaks core tus + creation (which we need anyway).
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        let extensions = header("tus-extension");
        let has = |ext: &str| extensions.split(',').any(|e| e.trim() == ext);
        let algorithms = header("tus-checksum-algorithm");
        let offers = |alg: &str| algorithms.split(',').any(|a| a.trim() == alg);
        let caps = ServerCaps {
            creation_with_upload: has("creation-with-upload"),
            checksum: if !has("checksum") || !self.config.checksums {
                None
            } else if offers("sha256") {
                Some("sha256")
            } else if offers("sha1") {
                Some("sha1")
            } else {
                None
            },
            max_size: header_u64(&response, "tus-max-size"),
        };
        let _ = self.caps.set(caps.clone());
        Ok(caps)
    }

    async fn upload(
        &self,
        device: &DeviceHandle,
        run: &Run<'_>,
        item: &PendingUpload,
    ) -> Result<Outcome, SyncError> {
        let caps = match self.caps(run).await {
            Ok(caps) => caps,
            Err(outcome) => return Ok(outcome),
        };
        if caps.max_size.is_some_and(|max| item.bytes > max) {
            return Ok(Outcome::Rejected(format!(
                "the report ({} bytes) is larger than the server accepts",
                item.bytes
            )));
        }
        let id = item.id;
        let progress = Progress {
            syncer: self,
            id,
            total: item.bytes,
        };
        // An upload URL kept from another origin (the intake moved, or a server lied) is
        // dropped: the report starts a new upload here.
        let mut upload_url = item
            .upload_url
            .as_deref()
            .and_then(|url| self.absolute(url));
        let (url, mut offset) = loop {
            let url = match upload_url.take() {
                Some(url) => url,
                None => match self.create(device, run, item, &caps).await? {
                    Created::New(url, offset) => {
                        progress.report(offset);
                        let u = url.clone();
                        device
                            .call(move |d| {
                                Ok(d.queue().set_upload_progress(id, Some(&u), offset)?)
                            })
                            .await?;
                        break (url, offset);
                    }
                    Created::AlreadyDelivered => return Ok(self.receipt(run, item).await),
                    Created::Failed(outcome) => return Ok(outcome),
                },
            };
            match self.head(run, &url).await {
                Ok(Some(server_offset)) if server_offset > item.bytes => {
                    return Ok(past_the_end(server_offset))
                }
                Ok(Some(server_offset)) => {
                    progress.report(server_offset);
                    break (url, server_offset);
                }
                // 404/410: the server lost or expired it; a new upload for the same report.
                Ok(None) => {
                    device
                        .call(move |d| Ok(d.queue().set_upload_progress(id, None, 0)?))
                        .await?;
                }
                Err(outcome) => return Ok(outcome),
            }
        };
        while offset < item.bytes {
            let allowed = run
                .max_bytes
                .saturating_sub(run.sent.load(Ordering::Relaxed));
            if run.spent() || allowed == 0 {
                return Ok(Outcome::Paused);
            }
            let len = (self.config.chunk_size as u64)
                .min(item.bytes - offset)
                .min(allowed);
            let from = offset;
            // Persisted before the PATCH: a kill now resumes from here (after asking HEAD).
            let u = url.clone();
            let chunk = device
                .call(move |d| {
                    d.queue().set_upload_progress(id, Some(&u), from)?;
                    d.read_sealed(id, from, len)
                })
                .await?;
            let request = self
                .client
                .patch(&url)
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", from.to_string());
            let response = match self.send_body(run, request, chunk, caps.checksum).await {
                Sent::Response(r) => r,
                Sent::Failed(outcome) => return Ok(outcome),
            };
            match response.status().as_u16() {
                204 => {
                    offset = header_u64(&response, "upload-offset").unwrap_or(from + len);
                    if offset > item.bytes {
                        return Ok(past_the_end(offset));
                    }
                    progress.report(offset);
                }
                // 409: another attempt moved the offset; 460: a chunk was damaged on the way.
                409 | 460 => match self.head(run, &url).await {
                    Ok(Some(server_offset)) if server_offset > item.bytes => {
                        return Ok(past_the_end(server_offset))
                    }
                    Ok(Some(server_offset)) => offset = server_offset,
                    Ok(None) => {
                        return Ok(Outcome::Retry("the server lost the upload".into(), None))
                    }
                    Err(outcome) => return Ok(outcome),
                },
                _ => return Ok(refusal(response).await),
            }
        }
        Ok(self.receipt(run, item).await)
    }

    async fn create(
        &self,
        device: &DeviceHandle,
        run: &Run<'_>,
        item: &PendingUpload,
        caps: &ServerCaps,
    ) -> Result<Created, SyncError> {
        let device_clock = device.call(|d| Ok(d.device_clock())).await?;
        let metadata = upload_metadata(
            item.id,
            &item.device_key,
            &item.ciphertext_sha256,
            &item.envelope_sig,
            device_clock.as_deref(),
        );
        let request = self
            .client
            .post(self.endpoint("/v1/uploads"))
            .header("Upload-Length", item.bytes.to_string())
            .header("Upload-Metadata", metadata);
        // creation-with-upload: a report that fits in one chunk goes with the POST (one round
        // trip fewer on a slow link), but only on its first try: after a cut or a failure the
        // server may hold part of it already, and a bare POST of the same report id gets that
        // upload back from our server (tus servers without that make a new one).
        let first_try = item.state == State::Sealed && item.attempts == 0;
        let small = caps.creation_with_upload
            && first_try
            && item.bytes <= self.config.chunk_size as u64
            && run.sent.load(Ordering::Relaxed) + item.bytes <= run.max_bytes;
        let sent = if small {
            let id = item.id;
            let bytes = item.bytes;
            let body = device.call(move |d| d.read_sealed(id, 0, bytes)).await?;
            let request = request.header("Content-Type", "application/offset+octet-stream");
            self.send_body(run, request, body, caps.checksum).await
        } else {
            match run
                .bounded(request.header("Tus-Resumable", TUS).send())
                .await
            {
                None => Sent::Failed(Outcome::Paused),
                Some(Err(e)) => Sent::Failed(Outcome::network(&e)),
                Some(Ok(r)) => Sent::Response(r),
            }
        };
        let response = match sent {
            Sent::Response(r) => r,
            Sent::Failed(outcome) => return Ok(Created::Failed(outcome)),
        };
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(match (response.status().as_u16(), location) {
            (200, _) => Created::AlreadyDelivered,
            (201, Some(location)) => match self.absolute(&location) {
                Some(url) => Created::New(url, header_u64(&response, "upload-offset").unwrap_or(0)),
                None => Created::Failed(Outcome::Retry(
                    "server: the upload URL points away from the intake server".into(),
                    None,
                )),
            },
            _ => Created::Failed(refusal(response).await),
        })
    }

    /// Sends `body` in pieces, counting what leaves; abandons a request
    /// that moves nothing for `stall_timeout`, and is cut by the deadline or a cancel.
    async fn send_body(
        &self,
        run: &Run<'_>,
        request: reqwest::RequestBuilder,
        body: Vec<u8>,
        checksum: Option<&'static str>,
    ) -> Sent {
        let mut request = request
            .header("Tus-Resumable", TUS)
            .header("Content-Length", body.len().to_string());
        if let Some(algorithm) = checksum {
            let alg = if algorithm == "sha1" {
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY
            } else {
                &ring::digest::SHA256
            };
            let sum = STANDARD.encode(ring::digest::digest(alg, &body));
            request = request.header("Upload-Checksum", format!("{algorithm} {sum}"));
        }
        let moved = Arc::new(AtomicU64::new(0));
        let body = bytes::Bytes::from(body);
        let pieces = (0..body.len().div_ceil(PIECE)).map({
            let body = body.clone();
            let moved = moved.clone();
            let sent = &run.sent;
            move |i| {
                let piece = body.slice(i * PIECE..((i + 1) * PIECE).min(body.len()));
                moved.fetch_add(piece.len() as u64, Ordering::Relaxed);
                sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                Ok::<_, std::io::Error>(piece)
            }
        });
        // The iterator borrows `run`; reqwest wants 'static, so feed it through a channel.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
        let feed = async move {
            for piece in pieces {
                if tx.send(piece).await.is_err() {
                    break;
                }
            }
        };
        let body_stream = stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|piece| (piece, rx))
        });
        let send = request.body(reqwest::Body::wrap_stream(body_stream)).send();
        let watchdog = async {
            let mut last = moved.load(Ordering::Relaxed);
            let mut still_since = Instant::now();
            loop {
                tokio::time::sleep(self.config.stall_timeout / 4).await;
                let now = moved.load(Ordering::Relaxed);
                if now != last {
                    (last, still_since) = (now, Instant::now());
                } else if last < body.len() as u64
                    && still_since.elapsed() >= self.config.stall_timeout
                {
                    return;
                }
            }
        };
        let attempt = async {
            tokio::select! {
                (r, ()) = async { tokio::join!(send, feed) } => Some(r),
                () = watchdog => None,
            }
        };
        match run.bounded(attempt).await {
            None => Sent::Failed(Outcome::Paused),
            Some(None) => Sent::Failed(Outcome::Retry(
                "network: the connection stalled".into(),
                None,
            )),
            Some(Some(Err(e))) => Sent::Failed(Outcome::network(&e)),
            Some(Some(Ok(r))) => Sent::Response(r),
        }
    }

    /// The server's offset, or `None` when the upload is gone (404/410).
    async fn head(&self, run: &Run<'_>, url: &str) -> Result<Option<u64>, Outcome> {
        let request = self.client.head(url).header("Tus-Resumable", TUS).send();
        let r = match run.bounded(request).await {
            None => return Err(Outcome::Paused),
            Some(Err(e)) => return Err(Outcome::network(&e)),
            Some(Ok(r)) => r,
        };
        match r.status().as_u16() {
            200 | 204 => header_u64(&r, "upload-offset")
                .map(Some)
                .ok_or_else(|| Outcome::Retry("HEAD without Upload-Offset".into(), None)),
            404 | 410 => Ok(None),
            _ => Err(refusal(r).await),
        }
    }

    /// Fetches and verifies the receipt. No receipt endpoint (a third-party tus server): the
    /// upload happened but nobody vouches for it. A forged receipt keeps the report queued.
    async fn receipt(&self, run: &Run<'_>, item: &PendingUpload) -> Outcome {
        let url = self.endpoint(&format!("/v1/reports/{}/receipt", item.id));
        let response = match run.bounded(self.client.get(url).send()).await {
            None => return Outcome::Paused,
            Some(Err(e)) => return Outcome::network(&e),
            Some(Ok(r)) => r,
        };
        if response.status().as_u16() == 404 {
            return Outcome::Unconfirmed;
        }
        if !response.status().is_success() {
            return refusal(response).await;
        }
        let Some(text) = bounded_text(response).await else {
            return Outcome::Retry("the receipt could not be read".into(), None);
        };
        let Ok(receipt) = serde_json::from_str::<Receipt>(&text) else {
            return Outcome::Retry("the server's receipt is not a receipt".into(), None);
        };
        let sha = crate::report::parse_hex32(&item.ciphertext_sha256).unwrap_or_default();
        match receipt.verify(item.id, &sha, &self.config.server_key) {
            Ok(()) => Outcome::Delivered(text),
            Err(e) => Outcome::Retry(format!("RECEIPT REFUSED: {e}"), None),
        }
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.config.intake.trim_end_matches('/'))
    }

    /// A `Location` the server sent, as a URL on the configured origin (scheme, host and
    /// port); `None` when it points anywhere else.
    fn absolute(&self, location: &str) -> Option<String> {
        let base = reqwest::Url::parse(&self.config.intake).ok()?;
        let url = base.join(location).ok()?;
        (url.origin() == base.origin()).then(|| url.to_string())
    }
}

enum Created {
    /// The upload URL and the server's offset (non-zero when the POST carried the body).
    New(String, u64),
    AlreadyDelivered,
    Failed(Outcome),
}

enum Sent {
    Response(reqwest::Response),
    Failed(Outcome),
}

/// Progress events for one report, at most [`EVENTS_PER_SECOND`] (the last one always).
struct Progress<'a> {
    syncer: &'a Syncer,
    id: Uuid,
    total: u64,
}

impl Progress<'_> {
    fn report(&self, sent: u64) {
        let Some(listener) = self.syncer.listener() else {
            return;
        };
        let Ok(mut last) = self.syncer.last_progress.lock() else {
            return;
        };
        let now = Instant::now();
        let gap = Duration::from_secs(1) / EVENTS_PER_SECOND;
        let due = last.get(&self.id).is_none_or(|t| now - *t >= gap);
        if due || sent >= self.total {
            if sent >= self.total {
                last.remove(&self.id);
            } else {
                last.insert(self.id, now);
            }
            drop(last);
            listener.progress(self.id, sent.min(self.total), self.total);
        }
    }
}

/// The rustls error behind a failed request, if TLS is what failed. It travels inside nested
/// `io::Error`s, whose `source()` skips the error they wrap, so each is opened with `get_ref`.
fn tls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    None
}

/// TLS on ring: the bundled Mozilla roots, or only the organisation's pinned CA.
fn tls_config(pinned_ca: Option<&[u8]>) -> Result<rustls::ClientConfig, SyncError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    match pinned_ca {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(bytes) => {
            let certs: Vec<CertificateDer<'static>> = if bytes.starts_with(b"-----") {
                CertificateDer::pem_slice_iter(bytes)
                    .collect::<Result<_, _>>()
                    .map_err(|e| SyncError::PinnedCa(e.to_string()))?
            } else {
                vec![CertificateDer::from(bytes.to_vec())]
            };
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(SyncError::PinnedCa("no usable certificate".into()));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Full jitter: a random delay in [0, min(cap, base × 2^attempts)].
fn backoff(attempts: u32) -> time::Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempts.min(20))
        .min(BACKOFF_CAP);
    let mut r = [0u8; 8];
    let fraction = match SystemRandom::new().fill(&mut r) {
        Ok(()) => u64::from_le_bytes(r) as f64 / u64::MAX as f64,
        Err(_) => 1.0,
    };
    time::Duration::seconds_f64(ceiling.as_secs_f64() * fraction)
}

/// `Upload-Metadata` for a report: `report_id` (UUID), `device_key` (base64), `ciphertext_sha256`
/// (hex), `envelope_sig` (base64) and optionally `device_clock`, each value base64-encoded
/// again as tus requires.
pub fn upload_metadata(
    report_id: Uuid,
    device_key: &str,
    ciphertext_sha256: &str,
    envelope_sig: &str,
    device_clock: Option<&str>,
) -> String {
    let mut pairs = vec![
        ("report_id", report_id.to_string()),
        ("device_key", device_key.to_string()),
        ("ciphertext_sha256", ciphertext_sha256.to_string()),
        ("envelope_sig", envelope_sig.to_string()),
    ];
    if let Some(clock) = device_clock {
        pairs.push(("device_clock", clock.to_string()));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A server that says its offset is past the end of the report is broken or hostile.
fn past_the_end(offset: u64) -> Outcome {
    Outcome::Retry(
        format!("server: the upload offset {offset} is past the end of the report"),
        None,
    )
}

/// Bytes of a response body read at most: receipts and error bodies are small, and a hostile
/// server must not fill the phone's memory.
const MAX_RESPONSE_BODY: usize = 64 << 10;

/// The response body as text, or `None` when it is unreadable, not UTF-8, or too long.
async fn bounded_text(mut response: reqwest::Response) -> Option<String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if body.len() + chunk.len() > MAX_RESPONSE_BODY {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).ok()
}

/// 4xx other than 408/409/429 is the server's final word; anything else is worth retrying.
async fn refusal(response: reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    // Never beyond the backoff ceiling, whatever the server asks: a huge value would park the
    // report for good (or overflow the clock).
    let retry_after = header_u64(&response, "retry-after")
        .map(|s| Duration::from_secs(s.min(BACKOFF_CAP.as_secs())));
    let detail = bounded_text(response)
        .await
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["detail"].as_str().map(|d| d.chars().take(500).collect()))
        .unwrap_or_else(|| format!("HTTP {status}"));
    if (400..500).contains(&status) && !matches!(status, 408 | 409 | 429) {
        Outcome::Rejected(detail)
    } else {
        Outcome::Retry(format!("server: {detail}"), retry_after)
    }
}

fn header_u64(r: &reqwest::Response, name: &str) -> Option<u64> {
    r.headers().get(name)?.to_str().ok()?.parse().ok()
}

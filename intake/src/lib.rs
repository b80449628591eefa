//! The intake server: tus 1.0.0 (core + creation, creation-with-upload, termination, checksum,
//! expiration) at `/v1/uploads`, plus `GET /v1/reports/{id}/receipt`.
//!
//! It holds only ciphertext. It checks what it can without decrypting: the device's envelope
//! signature at creation, and at the last byte the length and SHA-256 the signature covers.
//! It never logs or stores a client's address or user agent: logs carry report ids and sizes.
//!
//! It is a public, unauthenticated endpoint, so every resource an anonymous client can spend is
//! bounded before work is done: connections and the time to send a request head ([`serve`]),
//! uploads received at once and the time a body may idle ([`receive`]), new uploads per device
//! key, and the storage all uploads may take (`507` above it, never `500`).
//!
//! tus 1.0.0, *Core Protocol*: "The Tus-Resumable header MUST be included in every request and
//! response except for OPTIONS requests. [...] If the Client's version is not supported by the
//! Server, it MUST respond with the 412 Precondition Failed status and MUST include the
//! Tus-Version header."

mod bulletins;
mod desk_feed;
pub mod envelope;
mod handlers;
pub mod prune;
mod rate_limit;
mod receive;
mod refusal;
mod router;
mod serve;
pub mod store;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::signature::{Ed25519KeyPair, KeyPair};
use uuid::Uuid;

pub use refusal::Refusal;
pub use router::router;
pub(crate) use router::UploadSlot;
pub use serve::{serve, Serving};
use store::{RateLimit, StoreError, UploadStore};

const TUS_VERSION: &str = "1.0.0";
pub use sighting_core::wire::desk_feed::MAX_REPORT_BYTES;

/// What the organisation can tune; the defaults suit one server on the open internet.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// `Tus-Max-Size`: the largest report accepted (default 64 MiB).
    pub max_size: u64,
    /// An unfinished upload is abandoned after this long without completion (default 24 h).
    pub expiry: Duration,
    /// Per device key: uploads created in a burst, and the refill interval of one more.
    pub rate_burst: u32,
    pub rate_refill: Duration,
    /// A request body taking longer than this in all is cut; other requests are answered
    /// within it (default 120 s).
    pub request_timeout: Duration,
    /// A request head must arrive within this, counted from when the connection is idle, so
    /// it is also how long an idle keep-alive connection is kept (default 10 s).
    pub header_timeout: Duration,
    /// A body that sends nothing for this long is cut, keeping what arrived (default 30 s).
    pub body_idle_timeout: Duration,
    /// Uploads (POST or PATCH) being received at once; more get 503 + Retry-After.
    pub max_concurrent_uploads: usize,
    /// Connections open at once (lowered to fit the file-descriptor limit); more wait to be
    /// accepted.
    pub max_connections: usize,
    /// Bytes all kept uploads may take, finished and unfinished (`None`: no quota). A new
    /// upload that would pass it gets 507 with Retry-After; uploads in progress finish.
    pub max_storage: Option<u64>,
    /// Free disk space always left alone: a new upload that would eat into it gets 507.
    pub min_free_disk: u64,
    /// The SHA-256 of the desk token, which alone may read the desk's feed (`None`: no one).
    pub desk_token_sha256: Option<[u8; 32]>,
    /// The organisation's bulletin key: a feed it signed is taken and served (`None`: no
    /// bulletins here).
    pub bulletin_key: Option<[u8; 32]>,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            max_size: MAX_REPORT_BYTES,
            expiry: Duration::from_secs(24 * 3600),
            rate_burst: 30,
            rate_refill: Duration::from_secs(2),
            request_timeout: Duration::from_secs(120),
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            max_concurrent_uploads: 256,
            max_connections: 1024,
            max_storage: None,
            min_free_disk: 64 << 20,
            desk_token_sha256: None,
            bulletin_key: None,
        }
    }
}

pub struct Intake {
    store: Arc<dyn UploadStore>,
    key: Ed25519KeyPair,
    config: IntakeConfig,
    receiving: Arc<tokio::sync::Semaphore>,
    /// Uploads a request is working on: one receiver (or completion) per upload at a time.
    busy: Arc<Mutex<HashSet<Uuid>>>,
}

/// Exclusive use of one upload by one request, released when dropped.
pub(crate) struct Claim {
    busy: Arc<Mutex<HashSet<Uuid>>>,
    id: Uuid,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&self.id);
        }
    }
}

impl Intake {
    pub fn new(
        store: Arc<dyn UploadStore>,
        key: Ed25519KeyPair,
        config: IntakeConfig,
    ) -> Arc<Self> {
        let receiving = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_uploads));
        Arc::new(Self {
            store,
            key,
            receiving,
            busy: Arc::new(Mutex::new(HashSet::new())),
            config,
        })
    }

    pub fn server_key(&self) -> String {
        STANDARD.encode(self.key.public_key().as_ref())
    }

    /// Deletes abandoned uploads; returns how many this call deleted (nodes sweeping one
    /// shared store at once count each upload once).
    pub async fn expire(&self) -> Result<usize, StoreError> {
        let ids = self.store.expire(unix_now()).await?;
        for id in &ids {
            tracing::info!(upload = %id, "abandoned upload expired");
        }
        Ok(ids.len())
    }

    fn rate_limit(&self) -> RateLimit {
        RateLimit {
            burst: self.config.rate_burst,
            refill: self.config.rate_refill,
        }
    }

    /// Whether a new upload of `length` bytes fits: under the quota, and leaving the disk's
    /// reserve free. Checked before the upload is recorded, so it never starts to fail later.
    /// Nodes sharing a store may each admit one upload at the same moment, so the quota can be
    /// passed by what they admit at once: it is a bound on storage, not an exact count.
    async fn admit(&self, length: u64) -> Result<(), Refusal> {
        // Summed only when there is a quota to compare with.
        let reserved = match self.config.max_storage {
            Some(quota) => Some((self.store.reserved_bytes().await?, quota)),
            None => None,
        };
        let over_quota =
            reserved.is_some_and(|(reserved, quota)| reserved.saturating_add(length) > quota);
        let disk_short = self
            .store
            .free_bytes()
            .is_some_and(|free| free < length.saturating_add(self.config.min_free_disk));
        if over_quota || disk_short {
            let reserved = reserved.map(|(reserved, _)| reserved);
            tracing::warn!(?reserved, length, "storage full: new upload refused");
            return Err(Refusal::storage_full());
        }
        Ok(())
    }

    /// Claims an upload for one request, or `None` when another request holds it.
    fn claim(&self, id: Uuid) -> Option<Claim> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.insert(id).then(|| Claim {
            busy: self.busy.clone(),
            id,
        })
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

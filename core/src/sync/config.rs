//! What the app configures for sync, and what one run may spend, with the defaults in one place.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The intake server's base URL: `https://…`, or `http://` to loopback.
    pub intake: String,
    /// The server's receipt key (Ed25519 public key) from the app's configuration.
    pub server_key: [u8; 32],
    /// Trust only this CA (PEM or DER) for the intake server instead of the bundled roots.
    pub pinned_ca: Option<Vec<u8>>,
    /// The organisation's bulletin key (Ed25519 public key); without it no bulletins are
    /// fetched.
    pub bulletin_key: Option<[u8; 32]>,
    /// Bytes per PATCH (default [`SyncConfig::DEFAULT_CHUNK_SIZE`]).
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
    /// A whole bulletin refresh (the index and every tile it fetches) ends within this
    /// (default 5 min): a feed server that drips bytes cannot hold the refresh for longer.
    pub bulletin_timeout: Duration,
}

impl SyncConfig {
    /// 256 KiB: a few seconds on a 2G link, so a drop costs little; few round trips on 4G.
    pub const DEFAULT_CHUNK_SIZE: usize = 256 << 10;

    pub fn new(intake: impl Into<String>, server_key: [u8; 32]) -> Self {
        Self {
            intake: intake.into(),
            server_key,
            pinned_ca: None,
            bulletin_key: None,
            chunk_size: Self::DEFAULT_CHUNK_SIZE,
            max_in_flight: 2,
            stall_timeout: Duration::from_secs(30),
            checksums: false,
            bulletin_timeout: Duration::from_secs(300),
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

//! The shared store: PostgreSQL for upload state and receipts, an object store for bytes, used
//! by any number of stateless intake nodes at once.
//!
//! tusd's S3 store loses or corrupts uploads when nodes race or die (a small `.part` object
//! downloaded, deleted and re-uploaded; part numbers and offsets read from listings; it asks
//! for sticky sessions). So here, instead:
//! - every kept piece of a body is a write-once object under a unique key
//!   (`pieces/<upload>/<start>-<nonce>`), written before it counts;
//! - the offset advances only by a compare-and-swap in PostgreSQL (`… WHERE upload_offset =
//!   $expected AND receipt IS NULL`), in the transaction that records the pieces; HEAD reads
//!   the offset from PostgreSQL alone;
//! - finishing streams the recorded pieces in order into `reports/<report>.age` while hashing,
//!   records the receipt by compare-and-swap (a node that loses answers with the winner's),
//!   then deletes every piece under the upload's prefix;
//! - creation is idempotent on the unique report id; an upload is removed by marking its row
//!   (`doomed`), deleting its objects, then its row: a removal the bucket refuses is done again
//!   by the next expiry sweep, and no object outlives the row that points to it;
//! - an upload is kept in at most one piece per 64 KiB of its length and 64 more: a body
//!   trickled in is kept as a piece only once 64 KiB have arrived (or it ends), and one sent
//!   in many tiny requests is dropped past the bound.
//!
//! A node that dies leaves at worst pieces nobody recorded: they are removed when their upload
//! finishes, is deleted or expires (and a bucket lifecycle rule can age out the rest).

mod admission;
mod body;
mod bulletins;
mod config;
mod desk_feed;
mod error;
mod schema;
mod tus;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};
use uuid::Uuid;

use super::{StoreError, Upload};
use body::Piece;
pub use config::{objects_at, SharedStoreConfig};

pub struct SharedStore {
    pool: Pool,
    objects: Arc<dyn ObjectStore>,
    /// Pieces this node wrote for a body and has not yet committed or dropped, per upload (a
    /// body is received by one request at a time on a node).
    writing: Mutex<HashMap<Uuid, Vec<Piece>>>,
    /// MiB of memory assemblies may take now (see `body::ASSEMBLY_BUDGET_MIB`).
    assembling: tokio::sync::Semaphore,
}

const COLUMNS: &str = "id, report_id, device_key, ciphertext_sha256, envelope_sig, length, \
     upload_offset, expires_at, receipt, device_clock, created_at_ms";

impl SharedStore {
    /// Connects, and brings the database's schema up to date.
    pub async fn open(config: SharedStoreConfig) -> Result<Self, StoreError> {
        let recycling = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.postgres_tls {
            None => Manager::from_config(config.postgres, NoTls, recycling()),
            Some(tls) => Manager::from_config(
                config.postgres,
                tokio_postgres_rustls::MakeRustlsConnect::new(tls),
                recycling(),
            ),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let store = Self {
            pool,
            objects: config.objects,
            writing: Mutex::new(HashMap::new()),
            assembling: tokio::sync::Semaphore::new(body::ASSEMBLY_BUDGET_MIB as usize),
        };
        schema::migrate(&mut store.client().await?).await?;
        Ok(store)
    }

    /// A connection, and the statement prepared on it once and kept: parsing and planning each
    /// statement every time was about half of PostgreSQL's CPU per report, and PostgreSQL is
    /// what every node shares.
    async fn prepared(&self, sql: &str) -> Result<(Object, Statement), StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok((client, statement))
    }

    pub(super) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        Ok(client.query(&statement, params).await?)
    }

    /// The first row, for statements that return at most one.
    pub(super) async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// The row of a statement that always returns one.
    pub(super) async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from: {sql}")))
    }

    pub(super) async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        Ok(client.execute(&statement, params).await?)
    }

    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(with_causes(&e).into()))
    }

    /// An upload, by `clause`. One being removed is out of reach until its removal is done
    /// (the bucket may be what it waits for): asked again later, it is gone.
    pub(super) async fn row(&self, clause: &str, key: Uuid) -> Result<Option<Upload>, StoreError> {
        let sql = format!("SELECT {COLUMNS}, doomed FROM uploads WHERE {clause} = $1");
        let Some(row) = self.query_opt(&sql, &[&key]).await? else {
            return Ok(None);
        };
        let upload = upload_of(&row)?;
        if row.try_get::<_, bool>(11)? {
            let why = format!("upload {} is being removed", upload.id);
            return Err(StoreError::Unavailable(why.into()));
        }
        Ok(Some(upload))
    }
}

/// An error and what caused it, down to the first cause: a pool's "error performing TLS
/// handshake" says nothing until it is followed by rustls' "invalid peer certificate:
/// UnknownIssuer".
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        // Wrappers often repeat their cause's words in their own.
        let said = e.to_string();
        if !text.ends_with(&said) {
            text = format!("{text}: {said}");
        }
        cause = e.source();
    }
    text
}

fn upload_of(r: &Row) -> Result<Upload, StoreError> {
    let id: Uuid = r.try_get(0)?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of upload {id}"));
    Ok(Upload {
        id,
        report_id: r.try_get(1)?,
        device_key: r.try_get(2)?,
        ciphertext_sha256: r.try_get(3)?,
        envelope_sig: r.try_get(4)?,
        length: u64::try_from(r.try_get::<_, i64>(5)?).map_err(|_| corrupt("length"))?,
        offset: u64::try_from(r.try_get::<_, i64>(6)?).map_err(|_| corrupt("offset"))?,
        expires_at: r.try_get(7)?,
        receipt: r.try_get(8)?,
        device_clock: r
            .try_get::<_, Option<String>>(9)?
            .map(|c| c.parse().map_err(|_| corrupt("device_clock")))
            .transpose()?,
        created_at_ms: r.try_get(10)?,
    })
}

pub(super) fn report_object(report_id: Uuid) -> ObjectPath {
    ObjectPath::from(format!("reports/{report_id}.age"))
}

/// Deletes an object; one already gone is not an error (another node may have got there first).
pub(super) async fn remove_object(
    objects: &dyn ObjectStore,
    path: &ObjectPath,
) -> Result<(), StoreError> {
    match objects.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

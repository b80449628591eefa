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
//! - creation is idempotent on the unique report id, and expiry is one `DELETE … RETURNING`,
//!   so each sweeping node deletes a disjoint set.
//!
//! A node that dies leaves at worst pieces nobody recorded: they are removed when their upload
//! finishes, is deleted or expires (and a bucket lifecycle rule can age out the rest).

mod body;
mod config;
mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};
use uuid::Uuid;

use super::{Finished, FinishedBytes, IntakeRecord, RateLimit, StoreError, Upload, UploadStore};
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
            .map_err(|e| StoreError::Pool(e.to_string()))?;
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

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        Ok(client.query(&statement, params).await?)
    }

    /// The first row, for statements that return at most one.
    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// The row of a statement that always returns one.
    async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from: {sql}")))
    }

    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        Ok(client.execute(&statement, params).await?)
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(with_causes(&e)))
    }

    async fn row(&self, clause: &str, key: Uuid) -> Result<Option<Upload>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM uploads WHERE {clause} = $1");
        let row = self.query_opt(&sql, &[&key]).await?;
        row.map(|r| upload_of(&r)).transpose()
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

fn report_object(report_id: Uuid) -> ObjectPath {
    ObjectPath::from(format!("reports/{report_id}.age"))
}

#[async_trait::async_trait]
impl UploadStore for SharedStore {
    async fn create(&self, u: &Upload) -> Result<Upload, StoreError> {
        let inserted = self.execute(
                &format!(
                    "INSERT INTO uploads ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, NULL, $8, $9)
                     ON CONFLICT (report_id) DO NOTHING"
                ),
                &[
                    &u.id,
                    &u.report_id,
                    &u.device_key,
                    &u.ciphertext_sha256,
                    &u.envelope_sig,
                    &(u.length as i64),
                    &u.expires_at,
                    &u.device_clock.map(|c| c.to_string()),
                    &u.created_at_ms,
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(u.clone());
        }
        self.by_report(u.report_id)
            .await?
            .ok_or(StoreError::NoSuchUpload(u.id))
    }

    async fn get(&self, id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.row("id", id).await
    }

    async fn by_report(&self, report_id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.row("report_id", report_id).await
    }

    async fn begin_append(&self, id: Uuid, offset: u64) -> Result<(), StoreError> {
        self.drop_unrecorded(id).await?;
        let upload = self.get(id).await?.ok_or(StoreError::NoSuchUpload(id))?;
        if upload.offset != offset || upload.receipt.is_some() {
            return Err(StoreError::OffsetMismatch {
                expected: offset,
                actual: upload.offset,
            });
        }
        Ok(())
    }

    async fn write(&self, id: Uuid, at: u64, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.write_piece(id, at, bytes).await
    }

    async fn commit(&self, id: Uuid, from: u64, to: u64) -> Result<(), StoreError> {
        self.commit_pieces(id, from, to).await
    }

    async fn rollback(&self, id: Uuid) -> Result<(), StoreError> {
        self.drop_unrecorded(id).await
    }

    async fn assemble(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError> {
        self.assemble_pieces(id).await
    }

    async fn complete(&self, id: Uuid, receipt: &str) -> Result<String, StoreError> {
        // One statement, its own transaction: the counter's row stays locked until the commit,
        // so `finished_seq` grows in commit order (the desk's cursor never skips a report); as
        // every node's completions queue on that lock, it is held across no round trip to a
        // node. A loser that took a number leaves a gap, which the cursor does not mind.
        let won: i64 = self
            .query_one(
                "WITH next AS (
                     UPDATE finished_counter SET seq = seq + 1
                     WHERE EXISTS (SELECT 1 FROM uploads
                                   WHERE id = $1 AND receipt IS NULL AND upload_offset = length)
                     RETURNING seq),
                 won AS (
                     UPDATE uploads SET receipt = $2, finished_seq = (SELECT seq FROM next)
                     WHERE id = $1 AND receipt IS NULL AND upload_offset = length
                       AND EXISTS (SELECT 1 FROM next)
                     RETURNING id),
                 recorded AS (DELETE FROM pieces WHERE upload_id IN (SELECT id FROM won))
                 SELECT count(*) FROM won",
                &[&id, &receipt],
            )
            .await?
            .try_get(0)?;
        // The winner knows what it recorded; only a loser reads the receipt that won.
        let kept: Option<String> = if won == 1 {
            Some(receipt.to_string())
        } else {
            self.query_opt("SELECT receipt FROM uploads WHERE id = $1", &[&id])
                .await?
                .and_then(|row| row.get(0))
        };
        let kept = kept.ok_or(StoreError::NoSuchUpload(id))?;
        // Finished: no piece can be recorded any more, so whatever is under the prefix goes,
        // including pieces a dead node wrote and never recorded.
        self.remove_pieces(id).await?;
        Ok(kept)
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let row = self
            .query_opt(
                "DELETE FROM uploads WHERE id = $1 AND receipt IS NULL RETURNING report_id",
                &[&id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        self.remove_unfinished(id, row.try_get(0)?).await?;
        Ok(true)
    }

    async fn expire(&self, now: i64) -> Result<Vec<Uuid>, StoreError> {
        let rows = self
            .query(
                "DELETE FROM uploads WHERE receipt IS NULL AND expires_at < $1
                 RETURNING id, report_id",
                &[&now],
            )
            .await?;
        // Buckets untouched for an hour have refilled under any sensible limit (the default
        // fills in a minute): forgetting them loses nothing, and keys are free to mint.
        self.execute(
            "DELETE FROM rate_buckets WHERE at < now() - interval '1 hour'",
            &[],
        )
        .await?;
        let mut removed = Vec::with_capacity(rows.len());
        for row in rows {
            let id: Uuid = row.try_get(0)?;
            self.remove_unfinished(id, row.try_get(1)?).await?;
            removed.push(id);
        }
        Ok(removed)
    }

    async fn take_upload_token(
        &self,
        device_key: &str,
        limit: RateLimit,
    ) -> Result<Result<(), Duration>, StoreError> {
        let burst = f64::from(limit.burst);
        let refill = limit.refill.as_secs_f64().max(1e-3);
        // One statement, atomic for every node: the bucket refilled for the time since it was
        // last used, and a token taken only if there is one. (`SET` reads the old row.)
        let bucket = self.query_one(
                "INSERT INTO rate_buckets AS b (device_key, tokens, at, granted)
                 VALUES ($1, $2::float8 - 1, now(), $2::float8 >= 1)
                 ON CONFLICT (device_key) DO UPDATE SET
                     granted = LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM now() - b.at)::float8 / $3::float8) >= 1,
                     tokens = LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM now() - b.at)::float8 / $3::float8)
                         - CASE WHEN LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM now() - b.at)::float8 / $3::float8) >= 1
                                THEN 1 ELSE 0 END,
                     at = now()
                 RETURNING granted, tokens",
                &[&device_key, &burst, &refill],
            )
            .await?;
        if bucket.try_get(0)? {
            return Ok(Ok(()));
        }
        let tokens: f64 = bucket.try_get(1)?;
        Ok(Err(Duration::from_secs_f64(
            (1.0 - tokens).max(0.0) * refill,
        )))
    }

    async fn reserved_bytes(&self) -> Result<u64, StoreError> {
        let row = self
            .query_one(
                "SELECT COALESCE(SUM(length), 0)::bigint FROM uploads WHERE pruned_at IS NULL",
                &[],
            )
            .await?;
        Ok(row.try_get::<_, i64>(0)?.max(0) as u64)
    }

    /// A bucket has no free space to speak of: the quota (`--max-storage`) is the bound.
    fn free_bytes(&self) -> Option<u64> {
        None
    }

    async fn finished_after(&self, after: i64, limit: u32) -> Result<Vec<Finished>, StoreError> {
        let rows = self
            .query(
                "SELECT report_id, length, ciphertext_sha256, finished_seq FROM uploads
                 WHERE finished_seq > $1 AND pruned_at IS NULL ORDER BY finished_seq LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let report_id: Uuid = r.try_get(0)?;
                Ok(Finished {
                    report_id,
                    length: u64::try_from(r.try_get::<_, i64>(1)?)
                        .map_err(|_| StoreError::Corrupt(format!("the length of {report_id}")))?,
                    ciphertext_sha256: r.try_get(2)?,
                    seq: r.try_get(3)?,
                })
            })
            .collect()
    }

    async fn read_finished(&self, report_id: Uuid) -> Result<Option<FinishedBytes>, StoreError> {
        let row = self
            .query_opt(
                "SELECT receipt, created_at_ms, device_clock FROM uploads
                 WHERE report_id = $1 AND receipt IS NOT NULL AND pruned_at IS NULL",
                &[&report_id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of report {report_id}"));
        // The intake record is the row itself: kept in one place, it cannot disagree with the
        // receipt a phone is given.
        let record = IntakeRecord {
            receipt: serde_json::from_str(&row.try_get::<_, String>(0)?)
                .map_err(|_| corrupt("the receipt"))?,
            created_at_ms: row.try_get(1)?,
            device_clock: row
                .try_get::<_, Option<String>>(2)?
                .map(|c| c.parse().map_err(|_| corrupt("device_clock")))
                .transpose()?,
        };
        let ciphertext = match self.objects.get(&report_object(report_id)).await {
            Ok(got) => got.bytes().await?.to_vec(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(FinishedBytes {
            ciphertext,
            record: serde_json::to_vec_pretty(&record).map_err(|_| corrupt("the record"))?,
        }))
    }

    async fn prune(&self, report_id: Uuid) -> Result<Option<u64>, StoreError> {
        let row = self
            .query_opt(
                "UPDATE uploads SET pruned_at = now()
                 WHERE report_id = $1 AND receipt IS NOT NULL AND pruned_at IS NULL
                 RETURNING length",
                &[&report_id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        remove_object(&*self.objects, &report_object(report_id)).await?;
        Ok(Some(row.try_get::<_, i64>(0)?.max(0) as u64))
    }

    async fn bulletin_version(&self) -> Result<Option<u64>, StoreError> {
        let row = self
            .query_opt("SELECT version FROM bulletin_feed", &[])
            .await?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    /// In PostgreSQL, not the bucket: one transaction replaces the whole feed, which no object
    /// store can do for several objects.
    async fn put_bulletins(
        &self,
        version: u64,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.batch_execute("LOCK TABLE bulletin_feed IN EXCLUSIVE MODE")
            .await?;
        let held: Option<i64> = tx
            .query_opt("SELECT version FROM bulletin_feed", &[])
            .await?
            .map(|r| r.get(0));
        if let Some(held) = held.filter(|held| *held as u64 >= version) {
            return Err(StoreError::StaleBulletins { held: held as u64 });
        }
        tx.execute("DELETE FROM bulletin_files", &[]).await?;
        for (name, bytes) in &files {
            tx.execute(
                "INSERT INTO bulletin_files (name, bytes) VALUES ($1, $2)",
                &[name, bytes],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO bulletin_feed (one, version) VALUES (1, $1)
             ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            &[&(version as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn bulletin_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .query_opt("SELECT bytes FROM bulletin_files WHERE name = $1", &[&name])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}

/// Deletes an object; one already gone is not an error (another node may have got there first).
async fn remove_object(objects: &dyn ObjectStore, path: &ObjectPath) -> Result<(), StoreError> {
    match objects.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

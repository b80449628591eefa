//! A body's bytes in the shared store: written as write-once pieces, counted by a
//! compare-and-swap on the offset, put together into the report object at the end.

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use uuid::Uuid;

use super::{remove_object, report_object, SharedStore};
use crate::store::{StoreError, TusUploads};

/// A report up to this size is put as one object; a larger one in parts of this size (S3's
/// parts must be at least 5 MiB, but the last).
const PART_BYTES: usize = 8 << 20;

/// Memory all assemblies on a node may hold at once, MiB: a report is put together in memory
/// (whole up to `PART_BYTES`, else a part being filled and two on their way), so twelve 7 MiB
/// uploads finishing at once took 104 MiB more. Small reports still assemble many at a time.
pub(super) const ASSEMBLY_BUDGET_MIB: u32 = 16;

/// The MiB one assembly of `length` bytes holds at most, within the budget.
fn assembly_cost_mib(length: u64) -> u32 {
    let whole = length.div_ceil(1 << 20) + 1;
    let parts = 3 * (PART_BYTES as u64 >> 20) + 1;
    whole.min(parts).min(u64::from(ASSEMBLY_BUDGET_MIB)) as u32
}

/// On a slow link a body is kept every second only once this much has arrived: each piece is
/// an object and a row, and a trickle of a byte a second would otherwise make one of each a
/// second, kept up to a day.
pub(super) const MIN_PIECE_BYTES: usize = 64 << 10;

/// Pieces an upload may come in beyond one per `MIN_PIECE_BYTES` of its length: a request's
/// last piece may be smaller (the connection cut, the report's end), so this many cuts. Past
/// it the upload is dropped: its objects and rows are bounded by its length, which the quota
/// counts.
const SPARE_PIECES: i64 = 64;

/// The most pieces an upload of `length` bytes is kept in.
fn most_pieces(length: u64) -> u64 {
    length.div_ceil(MIN_PIECE_BYTES as u64) + SPARE_PIECES as u64
}

/// A piece written for a body and not yet recorded.
pub(super) struct Piece {
    start: u64,
    len: u64,
    key: ObjectPath,
}

fn pieces_of(id: Uuid) -> ObjectPath {
    ObjectPath::from(format!("pieces/{id}"))
}

impl SharedStore {
    /// Writes a piece under a key no other write can have: a node that died mid-write, or a
    /// request on another node sending the same bytes, never touches it.
    pub(super) async fn write_piece(
        &self,
        id: Uuid,
        at: u64,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        let len = bytes.len() as u64;
        let key = pieces_of(id).join(format!("{at:020}-{}", Uuid::new_v4()));
        self.objects.put(&key, PutPayload::from(bytes)).await?;
        self.unrecorded(|writing| {
            writing.entry(id).or_default().push(Piece {
                start: at,
                len,
                key,
            })
        });
        Ok(())
    }

    /// Records the pieces written from `from` to `to` and moves the offset, in one
    /// transaction, only if the offset is still `from`: of two nodes sending the same bytes,
    /// one is acknowledged and the other's pieces are deleted.
    pub(super) async fn commit_pieces(
        &self,
        id: Uuid,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError> {
        let pieces = self.unrecorded(|writing| writing.remove(&id).unwrap_or_default());
        let mut end = from;
        let contiguous = pieces.iter().all(|piece| {
            let next = piece.start == end;
            end += piece.len;
            next
        });
        if !contiguous || end != to {
            self.remove_all(&pieces).await?;
            let upload = self.get(id).await?.ok_or(StoreError::NotFound(id))?;
            let actual = upload.offset;
            if actual != from || upload.receipt.is_some() {
                return Err(StoreError::OffsetMismatch {
                    expected: from,
                    actual,
                });
            }
            return Err(StoreError::Corrupt(format!(
                "upload {id}: the pieces written do not run from {from} to {to}"
            )));
        }
        // One statement, so one round trip: the offset moves only if it is still `from`, the
        // upload is not being removed and stays within its pieces (`most_pieces`), and the
        // pieces are recorded with it or not at all.
        let starts: Vec<i64> = pieces.iter().map(|p| p.start as i64).collect();
        let lens: Vec<i64> = pieces.iter().map(|p| p.len as i64).collect();
        let keys: Vec<&str> = pieces.iter().map(|p| p.key.as_ref()).collect();
        let recorded = self
            .execute(
                "WITH moved AS (
                     UPDATE uploads SET upload_offset = $3
                     WHERE id = $1 AND upload_offset = $2 AND receipt IS NULL AND NOT doomed
                       AND (SELECT count(*) FROM pieces WHERE upload_id = $1)
                           + cardinality($4::bigint[])
                           <= (length + $7 - 1) / $7 + $8
                     RETURNING id)
                 INSERT INTO pieces (upload_id, start, len, key)
                 SELECT moved.id, p.start, p.len, p.key
                 FROM moved, unnest($4::bigint[], $5::bigint[], $6::text[]) AS p (start, len, key)",
                &[
                    &id,
                    &(from as i64),
                    &(to as i64),
                    &starts,
                    &lens,
                    &keys,
                    &(MIN_PIECE_BYTES as i64),
                    &SPARE_PIECES,
                ],
            )
            .await?;
        if recorded == 0 {
            self.remove_all(&pieces).await?;
            return Err(self.why_not_recorded(id, from).await?);
        }
        Ok(())
    }

    /// Why pieces from `from` were not recorded. An upload past its pieces is dropped here.
    async fn why_not_recorded(&self, id: Uuid, from: u64) -> Result<StoreError, StoreError> {
        let row = self
            .query_opt(
                "SELECT upload_offset, receipt IS NOT NULL, doomed, length FROM uploads
                 WHERE id = $1",
                &[&id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(StoreError::OffsetMismatch {
                expected: from,
                actual: 0,
            });
        };
        let actual = row.try_get::<_, i64>(0)?.max(0) as u64;
        if actual != from || row.try_get::<_, bool>(1)? {
            return Ok(StoreError::OffsetMismatch {
                expected: from,
                actual,
            });
        }
        if row.try_get::<_, bool>(2)? {
            let why = format!("upload {id} is being removed");
            return Ok(StoreError::Unavailable(why.into()));
        }
        self.delete(id).await?;
        Ok(StoreError::TooManyPieces {
            id,
            most: most_pieces(row.try_get::<_, i64>(3)?.max(0) as u64),
        })
    }

    /// Deletes the pieces this node wrote for `id` and did not record.
    pub(super) async fn drop_unrecorded(&self, id: Uuid) -> Result<(), StoreError> {
        let pieces = self.unrecorded(|writing| writing.remove(&id).unwrap_or_default());
        self.remove_all(&pieces).await
    }

    /// Streams the recorded pieces, in order, into the report's object while hashing them.
    ///
    /// The object is written only if every piece from 0 to the offset was read: a node that
    /// starts late, after another finished the upload and deleted its pieces, finds them gone
    /// and writes nothing (it would otherwise replace the report with a part of it).
    pub(super) async fn assemble_pieces(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError> {
        let upload = self.get(id).await?.ok_or(StoreError::NotFound(id))?;
        if upload.receipt.is_some() {
            return Err(StoreError::Finished(id));
        }
        let rows = self
            .query(
                "SELECT start, len, key FROM pieces WHERE upload_id = $1 AND start < $2
                 ORDER BY start",
                &[&id, &(upload.offset as i64)],
            )
            .await?;
        // Waits for memory to assemble in; the semaphore is never closed.
        let _memory = self
            .assembling
            .acquire_many(assembly_cost_mib(upload.length))
            .await
            .ok();
        let target = report_object(upload.report_id);
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        // Sized once: grown by doubling it held up to twice the report.
        let mut whole: Vec<u8> = Vec::with_capacity(upload.length.min(PART_BYTES as u64) as usize);
        let mut parts: Option<WriteMultipart> = None;
        let mut end = 0u64;
        // A few pieces fetched ahead, kept in order.
        let mut fetched = futures_util::stream::iter(rows)
            .map(|row| async move {
                let (start, len, key): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
                let got = self.objects.get(&ObjectPath::from(key)).await?;
                Ok::<_, StoreError>((start, len, got.bytes().await?))
            })
            .buffered(4);
        let read = async {
            while let Some(piece) = fetched.next().await {
                let (start, len, bytes) = piece?;
                if start as u64 != end || bytes.len() as u64 != len as u64 {
                    return Err(StoreError::Corrupt(format!(
                        "upload {id}: the piece at {start} is not where or what was recorded"
                    )));
                }
                end += bytes.len() as u64;
                hash.update(&bytes);
                match parts.as_mut() {
                    Some(parts) => {
                        parts.put(bytes);
                        parts.wait_for_capacity(2).await?;
                    }
                    None => {
                        whole.extend_from_slice(&bytes);
                        if whole.len() > PART_BYTES {
                            let upload = self.objects.put_multipart(&target).await?;
                            let mut started =
                                WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
                            started.write(&std::mem::take(&mut whole));
                            parts = Some(started);
                        }
                    }
                }
            }
            if end != upload.offset {
                return Err(StoreError::Corrupt(format!(
                    "upload {id}: its pieces end at {end}, not at its offset {}",
                    upload.offset
                )));
            }
            Ok(())
        }
        .await;
        drop(fetched);
        match (read, parts) {
            (Err(e), Some(parts)) => {
                let _ = parts.abort().await;
                return Err(e);
            }
            (Err(e), None) => return Err(e),
            (Ok(()), Some(parts)) => {
                parts.finish().await?;
            }
            (Ok(()), None) => {
                self.objects.put(&target, PutPayload::from(whole)).await?;
            }
        }
        let mut sha = [0u8; 32];
        sha.copy_from_slice(hash.finish().as_ref());
        Ok((end, sha))
    }

    /// Deletes every object under an upload's prefix, recorded or not: one listing and one
    /// batch delete (S3's DeleteObjects) for the lot.
    pub(super) async fn remove_pieces(&self, id: Uuid) -> Result<(), StoreError> {
        let prefix = pieces_of(id);
        let listed = self
            .objects
            .list(Some(&prefix))
            .map(|meta| meta.map(|meta| meta.location))
            .boxed();
        let mut deleted = self.objects.delete_stream(listed);
        let mut failed = None;
        while let Some(done) = deleted.next().await {
            match done {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        drop(deleted);
        // A key another node deleted first fails in the batch as a generic error (versitygw:
        // `DeleteFailed { code: "NoSuchKey" }`, not `NotFound`); what matters is that nothing
        // is left, so a failure counts only if the prefix still lists something.
        match failed {
            None => Ok(()),
            Some(e) => match self.objects.list(Some(&prefix)).next().await {
                None => Ok(()),
                Some(_) => Err(e.into()),
            },
        }
    }

    /// What an unfinished upload left: its pieces, and a report object assembled from bytes
    /// that failed the checks.
    pub(super) async fn remove_unfinished(
        &self,
        id: Uuid,
        report_id: Uuid,
    ) -> Result<(), StoreError> {
        self.drop_unrecorded(id).await?;
        self.remove_pieces(id).await?;
        remove_object(&*self.objects, &report_object(report_id)).await
    }

    async fn remove_all(&self, pieces: &[Piece]) -> Result<(), StoreError> {
        for piece in pieces {
            remove_object(&*self.objects, &piece.key).await?;
        }
        Ok(())
    }

    fn unrecorded<T>(
        &self,
        f: impl FnOnce(&mut std::collections::HashMap<Uuid, Vec<Piece>>) -> T,
    ) -> T {
        let mut writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut writing)
    }
}

//! One change to a versioned row (a sighting's triage, a case), the same way for each: in one
//! immediate transaction, checked against the version the person saw, applied, and the version
//! moved on. Two people changing one row at once: the second gets a conflict naming the current
//! version, never a silent overwrite.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::DeskState;

/// A row changed only from the version its changer saw.
pub(super) trait Versioned: Sized {
    type Error: From<rusqlite::Error>;

    /// Moves the row's version on; `?1` is its key.
    const BUMP_VERSION: &'static str;

    /// The row as it is now, or the error saying there is none.
    fn read(conn: &Connection, key: &str) -> Result<Self, Self::Error>;

    fn version(&self) -> i64;

    /// Someone else changed the row first; it is now at `current`.
    fn conflict(current: i64) -> Self::Error;
}

impl DeskState {
    /// One change to row `key`, from `seen_version`, made by `apply` (which audits it); returns
    /// the row as changed.
    pub(super) fn change_versioned<R: Versioned>(
        &self,
        key: &str,
        seen_version: i64,
        apply: impl FnOnce(&Transaction<'_>, &R) -> Result<(), R::Error>,
    ) -> Result<R, R::Error> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = R::read(&tx, key)?;
        if current.version() != seen_version {
            return Err(R::conflict(current.version()));
        }
        apply(&tx, &current)?;
        tx.execute(R::BUMP_VERSION, [key])?;
        let changed = R::read(&tx, key)?;
        tx.commit()?;
        Ok(changed)
    }
}

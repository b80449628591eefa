//! What every SQLite database of the project shares (the phone's queue, the intake's uploads,
//! the desk's state): numbered migrations.
//!
//! Each database lists its schema as SQL steps, one per version; `PRAGMA user_version` says how
//! many have been applied. Opening runs the missing ones, each in its own exclusive
//! transaction with the version bump, so a kill mid-migration leaves the previous version
//! whole. A database from a newer app is refused, never written to.

use rusqlite::{Connection, TransactionBehavior};

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("schema version {found} is newer than this program knows ({known})")]
    Newer { found: i64, known: i64 },
    #[error("migrating to schema version {version}: {source}")]
    Step {
        version: i64,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The schema version recorded in the database (0 for a new or unversioned one).
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Brings `conn` up to `migrations.len()`, running the steps it has not had yet.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), MigrationError> {
    let found = version(conn)?;
    let known = migrations.len() as i64;
    if found > known {
        return Err(MigrationError::Newer { found, known });
    }
    for (version, sql) in (1..).zip(migrations).skip(found.max(0) as usize) {
        let step = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()
        };
        step(conn).map_err(|source| MigrationError::Step { version, source })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[&str] = &[
        "CREATE TABLE t (a INTEGER)",
        "ALTER TABLE t ADD COLUMN b TEXT",
    ];

    #[test]
    fn runs_each_step_once_and_refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &STEPS[..1]).unwrap();
        assert_eq!(version(&conn).unwrap(), 1);
        migrate(&mut conn, STEPS).unwrap();
        migrate(&mut conn, STEPS).unwrap();
        assert_eq!(version(&conn).unwrap(), 2);
        conn.execute("INSERT INTO t (a, b) VALUES (1, 'x')", [])
            .unwrap();
        assert!(matches!(
            migrate(&mut conn, &STEPS[..1]),
            Err(MigrationError::Newer { found: 2, known: 1 })
        ));
    }

    #[test]
    fn a_failed_step_leaves_the_previous_version_whole() {
        let mut conn = Connection::open_in_memory().unwrap();
        let broken = [
            STEPS[0],
            "ALTER TABLE t ADD COLUMN c TEXT; ALTER TABLE nowhere ADD x",
        ];
        assert!(matches!(
            migrate(&mut conn, &broken),
            Err(MigrationError::Step { version: 2, .. })
        ));
        assert_eq!(version(&conn).unwrap(), 1);
        let columns: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_table_info('t')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(columns, 1, "the half-applied step was rolled back");
    }
}

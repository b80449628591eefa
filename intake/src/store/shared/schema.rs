//! The shared store's PostgreSQL schema, one step per version, applied at start by whichever
//! node gets there first (the others wait on an advisory lock, then find nothing to do).

use deadpool_postgres::Client;

use super::super::StoreError;

/// Any constant: the lock nodes take while one of them migrates.
const MIGRATION_LOCK: i64 = 0x5167_6874_696e_6731;

const MIGRATIONS: &[&str] = &[
    // 1: uploads (upload state and receipts), the acknowledged pieces of each body, the order
    // reports finished in, the bulletin feed, and the rate limit's buckets.
    "CREATE TABLE uploads (
        id                uuid PRIMARY KEY,
        report_id         uuid NOT NULL UNIQUE,
        device_key        text NOT NULL,
        ciphertext_sha256 text NOT NULL,
        envelope_sig      text NOT NULL,
        length            bigint NOT NULL CHECK (length >= 0),
        upload_offset     bigint NOT NULL CHECK (upload_offset >= 0 AND upload_offset <= length),
        expires_at        bigint NOT NULL,
        receipt           text,
        device_clock      text,
        created_at_ms     bigint NOT NULL,
        finished_seq      bigint UNIQUE,
        pruned_at         timestamptz
    );
    CREATE INDEX uploads_unfinished ON uploads (expires_at) WHERE receipt IS NULL;
    CREATE TABLE pieces (
        upload_id uuid NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
        start     bigint NOT NULL,
        len       bigint NOT NULL CHECK (len > 0),
        key       text NOT NULL,
        PRIMARY KEY (upload_id, start)
    );
    -- A counter row, not a sequence: it is taken inside the transaction that records a
    -- receipt, so reports become visible in the order of their numbers and the desk's cursor
    -- never skips one that committed late.
    CREATE TABLE finished_counter (one int PRIMARY KEY CHECK (one = 1), seq bigint NOT NULL);
    INSERT INTO finished_counter VALUES (1, 0);
    CREATE TABLE bulletin_feed (one int PRIMARY KEY CHECK (one = 1), version bigint NOT NULL);
    CREATE TABLE bulletin_files (name text PRIMARY KEY, bytes bytea NOT NULL);
    CREATE TABLE rate_buckets (
        device_key text PRIMARY KEY,
        tokens     double precision NOT NULL,
        at         timestamptz NOT NULL,
        granted    boolean NOT NULL
    );",
    // 2: the quota's sum reads only the reports still kept, however many were pruned.
    "CREATE INDEX uploads_unpruned ON uploads (length) WHERE pruned_at IS NULL",
    // 3: an upload being removed (terminated, refused, expired) is marked before its objects
    // go, and its row deleted after: one the bucket would not remove stays marked, for the
    // next expiry sweep, instead of leaving objects nothing points to.
    "ALTER TABLE uploads ADD COLUMN doomed boolean NOT NULL DEFAULT false;
     CREATE INDEX uploads_doomed ON uploads (id) WHERE doomed",
];

/// Brings the database to the last version.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // Quiet: a second node would otherwise log PostgreSQL's notice that the table exists.
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL)",
    )
    .await?;
    let version: i32 = tx
        .query_opt("SELECT version FROM schema_version", &[])
        .await?
        .map_or(0, |row| row.get(0));
    let known = MIGRATIONS.len() as i32;
    if version > known {
        return Err(StoreError::Config(format!(
            "the database is at schema version {version}, newer than this server's {known}"
        )));
    }
    for step in &MIGRATIONS[version as usize..] {
        tx.batch_execute(step).await?;
    }
    tx.execute("DELETE FROM schema_version", &[]).await?;
    tx.execute("INSERT INTO schema_version VALUES ($1)", &[&known])
        .await?;
    tx.commit().await?;
    Ok(())
}

//! The queue's schema, one step per version (applied by `crate::sqlite::migrate`).

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: reports and their sync fields.
    "CREATE TABLE reports (
        id              TEXT PRIMARY KEY,
        state           TEXT NOT NULL,
        created_at_ms   INTEGER NOT NULL,
        bytes           INTEGER NOT NULL,
        ciphertext_sha256 TEXT,
        envelope_sig    TEXT,
        device_key      TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER,
        last_error      TEXT,
        upload_url      TEXT,
        upload_offset   INTEGER NOT NULL DEFAULT 0,
        receipt         TEXT,
        reject_reason   TEXT,
        problem         TEXT
    );
    CREATE INDEX reports_by_state ON reports (state, created_at_ms);",
    // 2: when each report last changed state, so the outbox can say "waiting since …".
    "ALTER TABLE reports ADD COLUMN updated_at_ms INTEGER;
    UPDATE reports SET updated_at_ms = created_at_ms;",
    // 3: a purged report leaves no row (ids, times and keys went with it from then on).
    "DELETE FROM reports WHERE state = 'purged';",
    // 4: the last attempt's error as a kind (see `AttemptError`) and an HTTP status, beside its
    // words. Errors recorded before are classified from the words version 3 wrote.
    "ALTER TABLE reports ADD COLUMN last_error_kind TEXT;
    ALTER TABLE reports ADD COLUMN last_error_status INTEGER;
    UPDATE reports SET last_error_kind = CASE
        WHEN last_error LIKE 'network: the intake server''s certificate%' THEN 'tls_not_trusted'
        WHEN last_error LIKE 'network: the connection stalled%' THEN 'stalled'
        WHEN last_error LIKE 'network%' THEN 'network'
        WHEN last_error LIKE 'RECEIPT REFUSED%' THEN 'receipt_refused'
        WHEN last_error LIKE 'server: the upload%'
          OR last_error LIKE 'HEAD without%'
          OR last_error LIKE 'the server lost%'
          OR last_error LIKE 'the receipt could not%'
          OR last_error LIKE 'the server''s receipt%' THEN 'server_protocol'
        WHEN last_error LIKE 'server: HTTP 507%' OR last_error LIKE 'server: the server is out of storage%'
          THEN 'server_full'
        ELSE 'server_status' END,
      last_error_status = CASE
        WHEN last_error GLOB 'server: HTTP [0-9][0-9][0-9]*' THEN CAST(substr(last_error, 14, 3) AS INTEGER)
        ELSE NULL END
    WHERE last_error IS NOT NULL;",
];

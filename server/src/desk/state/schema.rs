//! The desk's schema, one step per version (applied by `sighting_core::sqlite::migrate`).

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: reviewers and their sessions, every sighting's triage, and the audit log.
    "CREATE TABLE reviewers (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('reviewer', 'case_manager', 'admin')),
        created_at_ms INTEGER NOT NULL,
        disabled      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sessions (
        token_sha256  TEXT PRIMARY KEY,
        reviewer_id   INTEGER NOT NULL REFERENCES reviewers (id),
        csrf_token    TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );
    CREATE TABLE sightings (
        id            TEXT PRIMARY KEY,
        verified      INTEGER NOT NULL,
        failure       TEXT,
        triage        TEXT NOT NULL,
        assignee      INTEGER REFERENCES reviewers (id),
        note          TEXT,
        version       INTEGER NOT NULL DEFAULT 1,
        opened_at_ms  INTEGER NOT NULL
    );
    CREATE INDEX sightings_by_triage ON sightings (triage, opened_at_ms);
    CREATE TABLE audit (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms         INTEGER NOT NULL,
        reviewer_id   INTEGER REFERENCES reviewers (id),
        sighting_id   TEXT,
        action        TEXT NOT NULL,
        from_value    TEXT,
        to_value      TEXT,
        note          TEXT
    );
    CREATE INDEX audit_by_sighting ON audit (sighting_id, seq);
    CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
];

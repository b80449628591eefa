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
    // 2: the case register: cases (published only when vetted), their photos, and case
    // changes in the same audit log.
    "CREATE TABLE cases (
        number             TEXT PRIMARY KEY,
        first_name         TEXT NOT NULL,
        sex                TEXT NOT NULL CHECK (sex IN ('boy', 'girl', 'unknown')),
        date_of_birth      TEXT,
        age_when_missing   INTEGER NOT NULL CHECK (age_when_missing BETWEEN 0 AND 17),
        missing_since      TEXT NOT NULL,
        last_seen_district TEXT NOT NULL,
        last_seen_lat      REAL NOT NULL,
        last_seen_lon      REAL NOT NULL,
        marks              TEXT NOT NULL,
        police_reference   TEXT,
        private_notes      TEXT,
        consent_at_ms      INTEGER,
        consent_by         INTEGER REFERENCES reviewers (id),
        publication        TEXT NOT NULL CHECK (publication IN ('draft', 'published', 'closed')),
        version            INTEGER NOT NULL DEFAULT 1,
        created_at_ms      INTEGER NOT NULL
    );
    CREATE TABLE case_photos (
        case_number TEXT NOT NULL REFERENCES cases (number),
        position    INTEGER NOT NULL,
        jpeg        BLOB NOT NULL,
        PRIMARY KEY (case_number, position)
    );
    ALTER TABLE audit ADD COLUMN case_number TEXT;
    CREATE INDEX audit_by_case ON audit (case_number, seq);",
    // 3: a reviewer's decision on a candidate sighting for a case (the latest one; every one is
    // in the audit log).
    "CREATE TABLE candidate_decisions (
        case_number TEXT NOT NULL REFERENCES cases (number),
        sighting_id TEXT NOT NULL REFERENCES sightings (id),
        decision    TEXT NOT NULL CHECK (decision IN ('possible_match', 'not_this_child')),
        reviewer_id INTEGER NOT NULL REFERENCES reviewers (id),
        at_ms       INTEGER NOT NULL,
        note        TEXT,
        PRIMARY KEY (case_number, sighting_id)
    );",
    // 4: when each photo was taken (corrected where the phone's clock was off) and received, so
    // the list is newest first by the sighting, not by when the desk opened it.
    "ALTER TABLE sightings ADD COLUMN captured_at_ms INTEGER;
    ALTER TABLE sightings ADD COLUMN received_at_ms INTEGER;
    CREATE INDEX sightings_newest_first ON sightings (captured_at_ms DESC, received_at_ms DESC);",
    // 5: admin: how often an admin unlocked a name's logins (a running desk reads it, so an
    // unlock from the command line reaches it), and the tokens a person makes in the app for
    // scripts that act as them (their SHA-256 only).
    "ALTER TABLE reviewers ADD COLUMN unlocks INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE api_tokens (
        id            INTEGER PRIMARY KEY,
        reviewer_id   INTEGER NOT NULL REFERENCES reviewers (id),
        label         TEXT NOT NULL,
        token_sha256  TEXT NOT NULL UNIQUE,
        created_at_ms INTEGER NOT NULL,
        revoked_at_ms INTEGER
    );
    CREATE INDEX audit_by_reviewer ON audit (reviewer_id, seq);
    CREATE INDEX audit_by_action ON audit (action, seq);",
    // 6: a possible match is a link a second reviewer confirms or rejects, with a note.
    "ALTER TABLE candidate_decisions ADD COLUMN review TEXT
        CHECK (review IN ('confirmed', 'rejected'));
    ALTER TABLE candidate_decisions ADD COLUMN reviewed_by INTEGER REFERENCES reviewers (id);
    ALTER TABLE candidate_decisions ADD COLUMN reviewed_at_ms INTEGER;
    ALTER TABLE candidate_decisions ADD COLUMN review_note TEXT;",
    // 7: one record per report (what `open` found), which `OUT/sightings.json` was before; it
    // is imported once (`sightings_json_import` says when). Times in Unix milliseconds with the
    // phone's UTC offset; the failure as a stable code with its words; the manifest as sent.
    "CREATE TABLE reports (
        id               TEXT PRIMARY KEY,
        file             TEXT NOT NULL UNIQUE,
        opened           INTEGER NOT NULL CHECK (opened IN (0, 1)),
        failure          TEXT CHECK ((opened = 1) = (failure IS NULL)),
        failure_detail   TEXT,
        captured_at_ms   INTEGER,
        utc_offset_s     INTEGER,
        corrected_at_ms  INTEGER,
        clock_skew_s     INTEGER,
        received_at_ms   INTEGER,
        lat              REAL,
        lon              REAL,
        accuracy_m       REAL,
        location_source  TEXT,
        location_missing TEXT,
        same_photo       INTEGER,
        perceptual_hash  INTEGER,
        receipt          TEXT CHECK (receipt IN ('verified', 'not_verified', 'unchecked')),
        note             TEXT,
        details_json     TEXT,
        device_key       TEXT,
        manifest_json    TEXT,
        recorded_at_ms   INTEGER NOT NULL
    );
    CREATE INDEX reports_in_time ON reports (COALESCE(corrected_at_ms, captured_at_ms), id);
    CREATE TABLE sightings_json_import (
        at_ms   INTEGER NOT NULL,
        reports INTEGER NOT NULL
    );",
    // 8: the list searched by the map's area (`search`).
    "CREATE INDEX reports_by_place ON reports (lat, lon);",
    // 9: the list's whole order in its indexes (all, and one status), so a page is read in
    // order rather than every matching row sorted for it (`search::NEWEST_FIRST`); the map's
    // points in one index.
    "DROP INDEX sightings_newest_first;
    CREATE INDEX sightings_newest_first
        ON sightings (captured_at_ms DESC, received_at_ms DESC, opened_at_ms DESC, id);
    CREATE INDEX sightings_by_triage_newest_first
        ON sightings (triage, captured_at_ms DESC, received_at_ms DESC, opened_at_ms DESC, id);
    -- The map's points without the rest of each report's row (its manifest, mostly).
    CREATE INDEX reports_on_the_map ON reports (id, lat, lon, same_photo);",
];

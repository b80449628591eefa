//! The queue's own tests: transitions, listing, and every schema migration.

mod queue {
    use super::super::*;

    fn sealed() -> SealedFields {
        SealedFields {
            bytes: 1234,
            ciphertext_sha256: [9; 32],
            envelope_sig: "sig".into(),
            device_key: "key".into(),
        }
    }

    #[test]
    fn only_allowed_transitions_happen() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(&dir.path().join("queue.sqlite3")).unwrap();
        let id = Uuid::now_v7();
        q.insert_draft(id, 100).unwrap();
        let err = q.transition(id, State::Delivered, |_| Ok(())).unwrap_err();
        assert!(matches!(
            err,
            QueueError::IllegalTransition {
                from: State::Draft,
                to: State::Delivered,
                ..
            }
        ));
        assert_eq!(
            q.state(id).unwrap(),
            State::Draft,
            "a refused transition changes nothing"
        );
        q.mark_sealed(id, &sealed()).unwrap();
        for (to, ok) in [
            (State::Draft, false),
            (State::Uploading, true),
            (State::Delivered, true),
            (State::Uploading, false),
            (State::Purged, true),
        ] {
            assert_eq!(q.transition(id, to, |_| Ok(())).is_ok(), ok, "→ {to}");
        }
        assert!(
            q.reports().unwrap().is_empty(),
            "purged reports leave the outbox"
        );
    }

    #[test]
    fn the_outbox_lists_and_totals_honestly() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(&dir.path().join("queue.sqlite3")).unwrap();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        q.insert_draft(a, 10).unwrap();
        q.insert_draft(b, 20).unwrap();
        q.mark_sealed(b, &sealed()).unwrap();
        q.transition(b, State::Uploading, |_| Ok(())).unwrap();
        q.finish_upload(b, State::Rejected, Some("photo too large"))
            .unwrap();
        let list = q.reports().unwrap();
        assert_eq!(
            list.iter().map(|r| (r.id, r.state)).collect::<Vec<_>>(),
            vec![(a, State::Draft), (b, State::Rejected)]
        );
        assert_eq!(list[1].reject_reason.as_deref(), Some("photo too large"));
        let totals = q.totals().unwrap();
        assert_eq!(totals[&State::Draft], (1, 10));
        assert_eq!(totals[&State::Rejected], (1, 1234));
        assert_eq!(q.stored_bytes().unwrap(), 10);
    }

    #[test]
    fn reopening_keeps_everything_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.sqlite3");
        let id = Uuid::now_v7();
        Queue::open(&path).unwrap().insert_draft(id, 5).unwrap();
        let q = Queue::open(&path).unwrap();
        assert_eq!(q.state(id).unwrap(), State::Draft);
        assert!(q.integrity_ok().unwrap());
        q.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(q);
        assert!(matches!(Queue::open(&path), Err(QueueError::Corrupt(_))));
    }
}

mod migrations {
    use super::super::*;
    use time::macros::datetime;

    /// A queue written by schema version 1 (`tests/fixtures/queue-v1.sqlite3`, kept as it was)
    /// opens and is upgraded in place, with every report intact.
    #[test]
    fn a_version_1_database_is_upgraded_with_its_reports_intact() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("queue.sqlite3");
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/queue-v1.sqlite3"
        );
        std::fs::copy(fixture, &path).unwrap();
        let mut queue = Queue::open(&path).unwrap();
        assert!(queue.integrity_ok().unwrap());
        let reports = queue.reports().unwrap();
        assert_eq!(reports.len(), 2);
        let (sealed, rejected) = (&reports[0], &reports[1]);
        assert_eq!((sealed.state, sealed.bytes), (State::Sealed, 151_272));
        assert_eq!(sealed.created_at, datetime!(2024-11-28 08:00:00 UTC));
        // The column added by version 2 is filled from what version 1 knew.
        assert_eq!(sealed.updated_at, sealed.created_at);
        assert_eq!(
            (rejected.state, rejected.reject_reason.as_deref()),
            (State::Rejected, Some("photo too large"))
        );
        // The upgraded queue works on: the sealed report can go on to upload.
        queue.begin_upload(sealed.id).unwrap();
        let moved = &queue.reports().unwrap()[0];
        assert!(moved.updated_at > moved.created_at);
        drop(queue);
        // Opening again is a no-op for the schema.
        assert_eq!(Queue::open(&path).unwrap().reports().unwrap().len(), 2);
    }

    /// A version 3 queue whose errors were words only gets them classified by version 4.
    #[test]
    fn version_4_classifies_the_words_version_3_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        crate::sqlite::migrate(&mut conn, &schema::MIGRATIONS[..3]).unwrap();
        let words = [
            (
                "network: cannot reach the intake server",
                Some(AttemptError::Network),
            ),
            (
                "network: the intake server's certificate is not trusted (UnknownIssuer)",
                Some(AttemptError::TlsNotTrusted),
            ),
            (
                "network: the connection stalled",
                Some(AttemptError::Stalled),
            ),
            (
                "RECEIPT REFUSED: the receipt's signature does not verify",
                Some(AttemptError::ReceiptRefused),
            ),
            ("server: HTTP 503", Some(AttemptError::ServerStatus(503))),
            ("server: HTTP 507", Some(AttemptError::ServerFull)),
            (
                "server: too many uploads at once; retry shortly",
                Some(AttemptError::ServerStatus(0)),
            ),
            (
                "server: the upload offset 9 is past the end of the report",
                Some(AttemptError::ServerProtocol),
            ),
            (
                "the server's receipt is not a receipt",
                Some(AttemptError::ServerProtocol),
            ),
        ];
        for (i, (text, _)) in words.iter().enumerate() {
            conn.execute(
                "INSERT INTO reports (id, state, created_at_ms, updated_at_ms, bytes, last_error)
                 VALUES (?1, 'sealed', ?2, ?2, 10, ?3)",
                params![Uuid::new_v4().to_string(), i as i64, text],
            )
            .unwrap();
        }
        drop(conn);
        let reports = Queue::open(&path).unwrap().reports().unwrap();
        let got: Vec<_> = reports
            .iter()
            .map(|r| (r.last_error_detail.as_deref().unwrap(), r.last_error))
            .collect();
        let want: Vec<_> = words.iter().map(|(t, e)| (*t, *e)).collect();
        assert_eq!(got, want);
    }
}

//! A queue database written by schema version 1 (`tests/fixtures/queue-v1.sqlite3`, kept as it
//! was) opens and is upgraded in place, with every report intact.

use sighting_core::queue::{Queue, State};
use time::macros::datetime;

#[test]
fn a_version_1_database_is_upgraded_with_its_reports_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("queue.sqlite3");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/queue-v1.sqlite3"
        ),
        &path,
    )
    .unwrap();
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
    queue
        .transition(sealed.id, State::Uploading, |_| Ok(()))
        .unwrap();
    let moved = &queue.reports().unwrap()[0];
    assert!(moved.updated_at > moved.created_at);
    drop(queue);
    // Opening again is a no-op for the schema.
    assert_eq!(Queue::open(&path).unwrap().reports().unwrap().len(), 2);
}

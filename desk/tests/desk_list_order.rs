//! The desk's list, on a real SQLite file: newest first by when the photo was taken (corrected
//! where known), the same time latest received first, reports with no time last; whatever
//! order the desk opened them in, and for rows an older desk recorded without times.

use sighting_desk::state::{DeskState, OpenedReport};

fn opened(id: &str, captured: Option<i64>, received: Option<i64>) -> OpenedReport<'_> {
    OpenedReport {
        id,
        verified: captured.is_some(),
        failure: captured.is_none().then_some("not age at all"),
        captured_at_ms: captured,
        received_at_ms: received,
    }
}

fn listed(desk: &DeskState) -> Vec<String> {
    let (rows, total) = desk.list(None, 0, 100).unwrap();
    assert_eq!(total as usize, rows.len());
    rows.into_iter().map(|r| r.id).collect()
}

#[test]
fn the_list_is_newest_first_by_capture_then_by_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    // Opened in two batches, the older photos last and with ids that sort the other way.
    desk.record_opened(&[
        opened("a-newest", Some(3_000), Some(9_000)),
        opened("b-unopened", None, None),
    ])
    .unwrap();
    desk.record_opened(&[
        opened("c-oldest", Some(1_000), Some(9_500)),
        opened("d-same-time-received-later", Some(2_000), Some(8_000)),
        opened("e-same-time-received-first", Some(2_000), Some(7_000)),
        opened("f-same-time-never-received", Some(2_000), None),
    ])
    .unwrap();
    assert_eq!(
        listed(&desk),
        [
            "a-newest",
            "d-same-time-received-later",
            "e-same-time-received-first",
            "f-same-time-never-received",
            "c-oldest",
            "b-unopened",
        ]
    );
    // Paged, the pages follow the same order.
    let (page, _) = desk.list(None, 1, 2).unwrap();
    let ids: Vec<_> = page.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["d-same-time-received-later", "e-same-time-received-first"]
    );
}

#[test]
fn rows_recorded_without_times_take_them_when_the_desk_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let verified = |id, captured, received| OpenedReport {
        verified: true,
        failure: None,
        ..opened(id, captured, received)
    };
    // As a desk before the times were kept recorded them.
    desk.record_opened(&[
        verified("a-older", None, None),
        verified("b-newer", None, None),
    ])
    .unwrap();
    // At start the desk records every report again: a no-op but for the times.
    let again = [
        verified("a-older", Some(1_000), Some(5_000)),
        verified("b-newer", Some(2_000), Some(4_000)),
    ];
    assert_eq!(desk.record_opened(&again).unwrap(), 0, "nothing new");
    assert_eq!(listed(&desk), ["b-newer", "a-older"]);
    let opened_once = desk
        .audit(None)
        .unwrap()
        .iter()
        .filter(|e| e.action == "opened")
        .count();
    assert_eq!(opened_once, 2, "taking the times is not another opening");
}

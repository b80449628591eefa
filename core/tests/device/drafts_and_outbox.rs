//! Drafts, the keystore, the outbox's honesty and quota, the recovery sweep and the panic wipe.

use super::*;

#[test]
fn a_bad_note_keeps_the_draft_and_discard_removes_it() {
    let Setup {
        tmp,
        recipient,
        store,
        ..
    } = setup();
    let mut device = device(&tmp.path().join("device"), recipient, &store);
    let draft = capture_photo(&device, "Canon_40D.jpg");
    let long = Details {
        note: Some("x".repeat(5000)),
        ..Default::default()
    };
    assert!(matches!(
        device.submit(draft.id, long),
        Err(DeviceError::Report(ReportError::NoteTooLong(5000)))
    ));
    assert_eq!(
        device.drafts().unwrap(),
        vec![draft.id],
        "nothing lost on bad input"
    );
    device.discard(draft.id).unwrap();
    assert!(device.drafts().unwrap().is_empty());
    assert!(matches!(
        device.thumbnail(draft.id),
        Err(DeviceError::Draft(DraftError::NotFound(_)))
    ));
    assert!(matches!(
        device.submit(draft.id, Details::default()),
        Err(DeviceError::Queue(QueueError::NotFound(_)))
    ));
}

#[test]
fn a_failing_keystore_is_a_typed_error_and_writes_no_key() {
    struct Broken;
    impl KeyStore for Broken {
        fn wrap(&self, _: &[u8]) -> Result<Vec<u8>, KeyError> {
            Err(KeyError::KeyStore("the keystore is locked".into()))
        }
        fn unwrap(&self, _: &[u8]) -> Result<Vec<u8>, KeyError> {
            Err(KeyError::KeyStore("the keystore is locked".into()))
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_, recipient) = org(tmp.path());
    let config = DeviceConfig::new(vec![recipient]);
    let data = tmp.path().join("device");
    let err = Device::open(&data, &Broken, config).unwrap_err();
    assert!(
        matches!(err, DeviceError::Key(KeyError::KeyStore(_))),
        "{err}"
    );
    assert!(
        files(&data).is_empty(),
        "no key file may be half-written: {:?}",
        files(&data)
    );
}

#[test]
fn the_outbox_is_honest_and_the_quota_refuses_without_evicting() {
    let Setup {
        tmp,
        recipient,
        store,
        ..
    } = setup();
    let config = DeviceConfig {
        quota_bytes: 400_000,
        ..DeviceConfig::new(vec![recipient])
    };
    let data = tmp.path().join("device");
    let mut device = Device::open(&data, &store, config).unwrap();
    let first = capture_photo(&device, "gps/DSCN0010.jpg");
    device.submit(first.id, Details::default()).unwrap();
    let second = capture_photo(&device, "gps/DSCN0012.jpg");
    let err = device
        .capture(
            fixture("gps/DSCN0021.jpg"),
            &test_support::no_location(),
            CaptureClock::now().unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, DeviceError::StorageFull { .. }), "{err}");
    let outbox = device.reports().unwrap();
    let states: Vec<(uuid::Uuid, State)> = outbox.iter().map(|r| (r.id, r.state)).collect();
    assert_eq!(
        states,
        vec![(first.id, State::Sealed), (second.id, State::Draft)],
        "nothing evicted"
    );
    assert!(outbox
        .iter()
        .all(|r| r.bytes > 0 && r.attempts == 0 && r.problem.is_none()));
}

#[test]
fn the_recovery_sweep_flags_a_damaged_report_and_removes_leftovers() {
    let Setup {
        tmp,
        recipient,
        store,
        ..
    } = setup();
    let data = tmp.path().join("device");
    let mut device = device(&data, recipient.clone(), &store);
    let a = capture_photo(&device, "Canon_40D.jpg");
    device.submit(a.id, Details::default()).unwrap();
    let b = capture_photo(&device, "Nikon_D70.jpg");
    device.submit(b.id, Details::default()).unwrap();
    drop(device);
    // A damaged ciphertext, a missing one, and a temp file a kill left behind.
    let outbox = data.join("outbox");
    let mut bytes = std::fs::read(outbox.join(format!("{}.age", a.id))).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(outbox.join(format!("{}.age", a.id)), bytes).unwrap();
    std::fs::remove_file(outbox.join(format!("{}.age", b.id))).unwrap();
    std::fs::write(
        outbox.join("0193f000-0000-7000-8000-000000000000.age.tmp"),
        b"partial",
    )
    .unwrap();
    let device = self::device(&data, recipient, &store);
    assert_eq!(
        device.verify_ciphertexts().unwrap(),
        1,
        "the flipped byte is found by the hash check"
    );
    let problems: Vec<Option<String>> = device
        .reports()
        .unwrap()
        .into_iter()
        .map(|r| r.problem)
        .collect();
    assert_eq!(
        problems,
        vec![
            Some("the sealed file does not match its hash".into()),
            Some("the sealed file is missing".into())
        ],
        "flagged, never dropped"
    );
    assert!(!files(&outbox)
        .iter()
        .any(|f| f.to_string_lossy().ends_with(".tmp")));
}

#[test]
fn panic_wipe_of_500_reports_leaves_nothing() {
    let Setup {
        tmp,
        recipient,
        store,
        ..
    } = setup();
    let data = tmp.path().join("device");
    let mut device = device(&data, recipient, &store);
    let draft = capture_photo(&device, "Canon_40D.jpg");
    device.submit(draft.id, Details::default()).unwrap();
    // 499 more, real ones, from a small photo (what matters here is the count of reports).
    for _ in 0..499 {
        let draft = capture_photo(&device, "Fujifilm_FinePix_E500.jpg");
        device.submit(draft.id, Details::default()).unwrap();
    }
    assert_eq!(device.reports().unwrap().len(), 500);
    // How long it takes is measured by `cargo bench -p sighting-core --bench queue`
    // (queue_panic_wipe), not here: a loaded machine took 1 s to 5 s.
    device.wipe().unwrap();
    assert!(!data.exists());
}

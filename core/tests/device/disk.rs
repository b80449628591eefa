//! A full disk and purging delivered reports.

use super::*;

/// A 2 MiB tmpfs, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// `None` where this machine does not let the test mount (not root): the issue allows the
    /// quota-limited directory instead, which `the_outbox_is_honest_and_the_quota_refuses_without_evicting` covers.
    fn mount(dir: &Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir)
            .output();
        if !mounted.is_ok_and(|o| o.status.success()) {
            eprintln!("note: cannot mount a tmpfs here (needs root); the full-disk test falls back to the quota test");
            return None;
        }
        Some(SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let Setup {
        tmp,
        recipient,
        store,
        ..
    } = setup();
    let Some(disk) = SmallDisk::mount(&tmp.path().join("disk")) else {
        return;
    };
    let data = disk.0.join("device");
    let mut device = device(&data, recipient.clone(), &store);
    let first = capture_photo(&device, "Nikon_D70.jpg");
    device.submit(first.id, Details::default()).unwrap();
    // Fill the disk to the last few kilobytes.
    let filler = disk.0.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0x5A; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len - 16 * 1024)
        .unwrap();

    let err = device
        .capture(
            fixture("gps/DSCN0010.jpg"),
            &test_support::no_location(),
            CaptureClock::now().unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, DeviceError::StorageFull { .. }), "{err}");
    assert!(device.integrity_ok().unwrap());
    let outbox: Vec<(uuid::Uuid, State)> = device
        .reports()
        .unwrap()
        .iter()
        .map(|r| (r.id, r.state))
        .collect();
    assert_eq!(
        outbox,
        vec![(first.id, State::Sealed)],
        "the queued report is untouched"
    );

    std::fs::remove_file(&filler).unwrap();
    let second = capture_photo(&device, "gps/DSCN0010.jpg");
    device.submit(second.id, Details::default()).unwrap();
    drop(device);
    let device = self::device(&data, recipient, &store);
    assert!(device
        .reports()
        .unwrap()
        .iter()
        .all(|r| r.state == State::Sealed && r.problem.is_none()));
}

#[test]
fn purge_delivered_removes_ciphertext_thumbnail_and_the_outbox_row() {
    let Setup {
        tmp,
        recipient,
        store,
        ..
    } = setup();
    let mut device = device(&tmp.path().join("device"), recipient, &store);
    let delivered = capture_photo(&device, "Canon_40D.jpg");
    device.submit(delivered.id, Details::default()).unwrap();
    let waiting = capture_photo(&device, "Nikon_D70.jpg");
    device.submit(waiting.id, Details::default()).unwrap();
    device.begin_upload(delivered.id).unwrap();
    let receipt = "{}".to_string();
    device
        .record_outcome(delivered.id, AttemptOutcome::Delivered { receipt })
        .unwrap();
    assert_eq!(device.purge_delivered().unwrap(), 1);
    assert!(!device.sealed_report(delivered.id).exists());
    assert!(matches!(
        device.thumbnail(delivered.id),
        Err(DeviceError::Draft(DraftError::NotFound(_)))
    ));
    let outbox: Vec<_> = device
        .reports()
        .unwrap()
        .iter()
        .map(|r| (r.id, r.state))
        .collect();
    assert_eq!(
        outbox,
        vec![(waiting.id, State::Sealed)],
        "undelivered reports are kept"
    );
    assert!(device.sealed_report(waiting.id).exists());
    // Nothing of the purged report stays in the database: no row, and with secure_delete on,
    // no readable leftover of its id in the file's free pages.
    let db = tmp.path().join("device/queue.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM reports WHERE id = ?1",
            [delivered.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0);
    drop(conn);
    drop(device);
    let id = delivered.id.to_string();
    for file in [db.clone(), db.with_extension("sqlite3-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
                "{} still holds the purged id",
                file.display()
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "queue.sqlite3 is the app's only");
    }
    // Random ids: nothing in them tells the capture time.
    assert_eq!(delivered.id.get_version_num(), 4);
}

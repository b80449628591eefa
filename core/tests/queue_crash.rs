//! Kill -9 at random moments: a child process loops capture → submit → (fake) delivery; the
//! parent kills it, reopens the data dir and checks that nothing acknowledged is lost, the
//! database is sound, every sealed file is whole, and no orphan is left.
//!
//! 20 trials by default, 200 with `cargo xtask test --long`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sighting_core::capture::{CaptureRequest, Location, LocationMissing};
use sighting_core::device::{AttemptOutcome, Device, DeviceConfig};
use sighting_core::keys::FileKeyStore;
use sighting_core::queue::State;
use sighting_core::report::{CaptureClock, Details};
use sighting_core::seal::Recipient;
use uuid::Uuid;

use support::fixture;
use test_support as support;

const CHILD_ENV: &str = "SIGHTING_CRASH_CHILD";

fn open(dir: &Path) -> Device {
    let recipient: Recipient = std::fs::read_to_string(dir.join("recipient.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let store = FileKeyStore::open(&dir.join("keystore.key")).unwrap();
    let config = DeviceConfig::new(vec![recipient]);
    Device::open(&dir.join("device"), &store, config).unwrap()
}

/// The child: runs until killed. Only started by the parent test (it is `#[ignore]`d otherwise).
#[test]
#[ignore = "run as a child process by kill_9_at_random_moments_loses_nothing"]
fn crash_child() {
    let dir = PathBuf::from(std::env::var_os(CHILD_ENV).expect("started by the parent test"));
    let mut device = open(&dir);
    let photo = fixture("Canon_40D.jpg");
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let mut acked = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("acked.log"))
        .unwrap();
    loop {
        let draft = device
            .capture(photo.clone(), &request, CaptureClock::now().unwrap())
            .unwrap();
        device.submit(draft.id, Details::default()).unwrap();
        // submit returned: the report is acknowledged to the reporter.
        acked
            .write_all(format!("{}\n", draft.id).as_bytes())
            .unwrap();
        acked.sync_all().unwrap();
        // A delivery without a server, through the calls the sync engine makes.
        device.begin_upload(draft.id).unwrap();
        let receipt = "{}".to_string();
        device
            .record_outcome(draft.id, AttemptOutcome::Delivered { receipt })
            .unwrap();
    }
}

#[test]
fn kill_9_at_random_moments_loses_nothing() {
    let trials = if std::env::var_os("SIGHTING_LONG_TESTS").is_some() {
        200
    } else {
        20
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let recipient = support::age_keygen(&dir.join("org.txt")).to_string();
    std::fs::write(dir.join("recipient.txt"), recipient).unwrap();
    drop(open(dir)); // keys and database exist before the first kill
    let mut delivered_before = 0;
    for trial in 0..trials {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "crash_child", "--nocapture"])
            .env(CHILD_ENV, dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(support::random_ms(30..600)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let device = open(dir); // runs the recovery sweep
        assert_eq!(
            device.verify_ciphertexts().unwrap(),
            0,
            "trial {trial}: a sealed file does not match its hash"
        );
        assert!(
            device.integrity_ok().unwrap(),
            "trial {trial}: integrity_check"
        );
        let reports = device.reports().unwrap();
        let acked = std::fs::read_to_string(dir.join("acked.log")).unwrap_or_default();
        // Only whole lines count: a kill in the middle of writing one leaves a partial record.
        let whole = acked.split_inclusive('\n').filter(|l| l.ends_with('\n'));
        for id in whole.map(|l| l.trim().parse::<Uuid>().unwrap()) {
            let report = reports.iter().find(|r| r.id == id);
            let state = report.map(|r| r.state);
            assert!(
                matches!(
                    state,
                    Some(State::Sealed | State::Uploading | State::Delivered)
                ),
                "trial {trial}: acknowledged report {id} is {state:?}"
            );
        }
        for r in &reports {
            assert!(
                r.problem.is_none(),
                "trial {trial}: {} flagged: {:?}",
                r.id,
                r.problem
            );
        }
        // No orphans: each file in the outbox and drafts belongs to a row in the right state.
        for (sub, states) in [
            ("device/outbox", [State::Sealed, State::Uploading]),
            ("device/drafts", [State::Draft, State::Draft]),
        ] {
            for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                let id: Uuid = name
                    .split('.')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap_or_else(|_| panic!("trial {trial}: stray {name}"));
                let state = reports.iter().find(|r| r.id == id).map(|r| r.state);
                assert!(
                    state.is_some_and(|s| states.contains(&s)),
                    "trial {trial}: orphan {sub}/{name} ({state:?})"
                );
            }
        }
        delivered_before = reports
            .iter()
            .filter(|r| r.state == State::Delivered)
            .count()
            .max(delivered_before);
    }
    assert!(
        delivered_before > 0,
        "the child never got far enough to deliver anything"
    );
}

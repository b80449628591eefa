//! The device behind its I/O thread: concurrent callers, async results, panics contained.

use std::collections::HashSet;
use std::sync::Arc;

use sighting_core::capture::{CaptureRequest, Location, LocationMissing};
use sighting_core::device::{Device, DeviceConfig};
use sighting_core::handle::{DeviceHandle, HandleError};
use sighting_core::keys::FileKeyStore;
use sighting_core::queue::State;
use sighting_core::report::{CaptureClock, Details};

use support::fixture;
use test_support as support;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn handle(dir: &std::path::Path) -> DeviceHandle {
    let recipient = support::age_keygen(&dir.join("org.txt"));
    let store = FileKeyStore::open(&dir.join("keystore.key")).unwrap();
    let config = DeviceConfig::new(vec![recipient]);
    DeviceHandle::new(Device::open(&dir.join("device"), &store, config).unwrap()).unwrap()
}

#[test]
fn two_submitters_and_a_lister_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Arc::new(handle(tmp.path()));
    let submitter = |device: Arc<DeviceHandle>, photo: &'static str| {
        std::thread::spawn(move || {
            let bytes = fixture(photo);
            let mut ids = Vec::new();
            for _ in 0..5 {
                let bytes = bytes.clone();
                let id = block_on(device.call(move |d| {
                    let request = CaptureRequest {
                        location: Location::Missing(LocationMissing::NoFix),
                        captured_at: None,
                    };
                    let draft = d.capture(bytes, &request, CaptureClock::now()?)?;
                    d.submit(draft.id, Details::default())?;
                    Ok(draft.id)
                }))
                .unwrap();
                ids.push(id);
            }
            ids
        })
    };
    let a = submitter(device.clone(), "Canon_40D.jpg");
    let b = submitter(device.clone(), "Nikon_D70.jpg");
    let lister = {
        let device = device.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            for _ in 0..50 {
                let reports = block_on(device.call(|d| d.reports())).unwrap();
                // Every listing is a consistent snapshot: whole reports only, none twice.
                let ids: HashSet<_> = reports.iter().map(|r| r.id).collect();
                assert_eq!(ids.len(), reports.len());
                assert!(
                    reports.iter().all(|r| r.state == State::Sealed),
                    "a listing saw a half-made report"
                );
                assert!(reports.len() >= seen, "reports never disappear");
                seen = reports.len();
            }
        })
    };
    let mut ids: Vec<_> = a.join().unwrap();
    ids.extend(b.join().unwrap());
    lister.join().unwrap();
    let reports = block_on(device.call(|d| d.reports())).unwrap();
    assert_eq!(reports.len(), 10);
    assert_eq!(
        reports.iter().map(|r| r.id).collect::<HashSet<_>>(),
        ids.into_iter().collect()
    );
    assert!(block_on(device.call(|d| d.integrity_ok())).unwrap());
}

#[test]
fn a_panic_on_the_io_thread_is_an_error_and_the_device_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let device = handle(tmp.path());
    let result: Result<(), HandleError> = block_on(device.call(|_| panic!("a bug")));
    assert!(matches!(result, Err(HandleError::Panicked)));
    assert!(block_on(device.call(|d| d.reports())).unwrap().is_empty());
}

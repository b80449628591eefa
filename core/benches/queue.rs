//! The queue: cold open (open + migrate + recovery sweep) of a data dir holding 0 and 1,000
//! sealed reports, submit throughput (seal + durable write + row), and the panic wipe of 500
//! sealed reports (keys first, then every file).
//!
//! Run: `cargo bench -p sighting-core --bench queue` (or `cargo xtask bench`).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use sighting_core::device::{Device, DeviceConfig};
use sighting_core::keys::FileKeyStore;
use sighting_core::report::{CaptureClock, Details};

/// A test-only recipient (made with age-keygen; its identity is in core/src/seal/age.rs tests).
const RECIPIENT: &str = "age12d26g50hktp8t73tgtudnn5dgd5efy88fgntq49fcremdz20ua8spn6353";

fn open(dir: &Path) -> Device {
    let store = FileKeyStore::open(&dir.join("keystore.key")).unwrap();
    let config = DeviceConfig {
        quota_bytes: u64::MAX,
        ..DeviceConfig::new(vec![RECIPIENT.parse().unwrap()])
    };
    Device::open(&dir.join("device"), &store, config).unwrap()
}

/// A data dir with `n` sealed reports, each captured and submitted for real. They come from a
/// small photo: opening reads only the files' metadata (the hash check runs in the background),
/// so the count of reports is what it pays for, not their size.
fn outbox_with(n: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let mut device = open(tmp.path());
    let small = test_support::fixture("Fujifilm_FinePix_E500.jpg");
    for _ in 0..n {
        let draft = device
            .capture(
                small.clone(),
                &test_support::no_location(),
                CaptureClock::now().unwrap(),
            )
            .unwrap();
        device.submit(draft.id, Details::default()).unwrap();
    }
    tmp
}

fn cold_open(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_cold_open");
    g.sample_size(20);
    for n in [0, 1000] {
        let dir = outbox_with(n);
        assert_eq!(open(dir.path()).reports().unwrap().len(), n);
        g.bench_function(format!("{n} sealed reports"), |b| {
            b.iter(|| open(dir.path()))
        });
    }
    g.finish();
}

fn submit(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut device = open(dir.path());
    let photo = test_support::iphone_8mp();
    let mut g = c.benchmark_group("queue_submit");
    g.sample_size(20);
    // Only the submit is timed: seal the ~360 KB upload copy, fsync, rename, fsync the
    // directory, commit the row.
    g.bench_function("submit (8 MP photo's upload copy)", |b| {
        b.iter_custom(|iters| {
            let mut timed = std::time::Duration::ZERO;
            for _ in 0..iters {
                let id = device
                    .capture(
                        photo.clone(),
                        &test_support::no_location(),
                        CaptureClock::now().unwrap(),
                    )
                    .unwrap()
                    .id;
                let started = std::time::Instant::now();
                device.submit(id, Details::default()).unwrap();
                timed += started.elapsed();
            }
            timed
        })
    });
    g.finish();
}

fn panic_wipe(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_panic_wipe");
    g.sample_size(10);
    g.bench_function("500 sealed reports", |b| {
        b.iter_batched(
            || {
                let dir = outbox_with(500);
                let device = open(dir.path());
                (dir, device)
            },
            |(dir, device)| {
                device.wipe().unwrap();
                dir
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, cold_open, submit, panic_wipe);
criterion_main!(benches);

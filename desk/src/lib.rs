//! The review desk: opens sealed reports with the organisation's identity (the `age` crate, an
//! implementation independent of the phone's) and checks each one ([`report`]); this file runs
//! that over a data directory, a batch at a time, into the desk's state.
//!
//! Then the review: [`sightings`] (what is known about each report, clock correction, repeat
//! sightings) and [`export`] (GeoJSON, CSV and the offline review page).

pub mod app;
pub mod bulletins;
pub mod export;
pub mod gcj02;
pub mod keep;
pub mod keygen;
pub mod lead;
pub mod ranking;
pub mod receipts;
pub mod report;
pub mod sightings;
pub mod state;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sighting_core::report::Manifest;
use sighting_core::wire::desk_feed::IntakeRecord;

pub use report::{open_report, read_identities, OpenError, OpenedReport};

/// The outcome for one sealed file: its manifest once the report is written out (the photo is
/// not kept in memory: a run over thousands of reports holds one at a time).
#[derive(Debug)]
pub struct Outcome {
    pub file: PathBuf,
    pub result: Result<Manifest, OpenError>,
    /// The intake receipt checked against the organisation's intake key (`None`: no record).
    pub receipt: Option<receipts::ReceiptCheck>,
}

/// A sealed file's name as the desk records it: relative to the data directory.
pub(crate) fn relative_name(data: &Path, file: &Path) -> String {
    file.strip_prefix(data)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

/// Opens every `*.age` file under `data` not opened before and writes each good report to
/// `out/reports/<id>/{photo.jpg,manifest.json}`; records each report once in the `reports`
/// table of `out/desk.sqlite3`, then regroups the same photo and rewrites the exports
/// (`sightings.json`, `sightings.geojson`, `sightings-no-location.csv`, `sightings.csv`,
/// `index.html`) when anything changed. Returns this run's outcomes: bad reports with their
/// reason, never skipped (and listed in the exports as failed).
pub fn open_dir(
    identities: &[age::x25519::Identity],
    data: &Path,
    out: &Path,
) -> anyhow::Result<Vec<Outcome>> {
    open_dir_checked(identities, None, data, out)
}

/// [`open_dir`], checking every intake receipt against `intake_key` (the organisation's
/// `server.pub`); receipts opened before without it are checked now.
pub fn open_dir_checked(
    identities: &[age::x25519::Identity],
    intake_key: Option<&[u8; 32]>,
    data: &Path,
    out: &Path,
) -> anyhow::Result<Vec<Outcome>> {
    make_private_dir(out)?;
    keep::check_organisation(identities, out)?;
    let state = state::DeskState::open(out)?;
    let mut outcomes = Vec::new();
    open_into(&state, identities, intake_key, data, out, &mut |o| {
        outcomes.push(o)
    })?;
    Ok(outcomes)
}

/// How many reports one run recorded, and how many of them failed to open.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OpenCounts {
    pub recorded: usize,
    pub failed: usize,
}

/// Reports opened and recorded per transaction.
const RECORD_BATCH: usize = 256;

/// [`open_dir_checked`] into a desk state already open (the desk app's), each outcome handed
/// to `on_outcome` as it is recorded. Nothing grows with the number of reports: the files are
/// listed one directory at a time and opened a batch at a time, and an outcome is not kept
/// (a desk holding 100,000 reports polls in the memory of one batch).
pub fn open_into(
    state: &state::DeskState,
    identities: &[age::x25519::Identity],
    intake_key: Option<&[u8; 32]>,
    data: &Path,
    out: &Path,
    on_outcome: &mut dyn FnMut(Outcome),
) -> anyhow::Result<OpenCounts> {
    let rechecked = state.recheck_receipts(data, intake_key)?;
    let progress = indicatif::ProgressBar::new_spinner();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let mut counts = OpenCounts::default();
    let mut any_opened = false;
    let mut open_batch = |batch: Vec<PathBuf>| -> anyhow::Result<()> {
        // Ids claimed in this batch: a second report under one of them is refused (those of
        // earlier batches are recorded by now, and refused through the state).
        let claimed = Mutex::new(HashSet::new());
        let open = |file: &PathBuf| {
            open_one(
                state,
                &claimed,
                identities,
                intake_key,
                data,
                out,
                file.clone(),
            )
        };
        let opened = in_parallel(&batch, workers, open);
        let (sightings, outcomes): (Vec<sightings::Sighting>, Vec<_>) = opened.into_iter().unzip();
        // A file not named by a report id (`<id>.age`, as the intake names them) is no report
        // of the intake's: its outcome is said, and it is tried again on every run.
        let sightings: Vec<_> = sightings
            .into_iter()
            .filter(|s| s.id.parse::<uuid::Uuid>().is_ok())
            .collect();
        state.record_reports(&sightings)?;
        progress.inc(outcomes.len() as u64);
        for outcome in outcomes {
            counts.recorded += 1;
            match outcome.result {
                Ok(_) => any_opened = true,
                Err(_) => counts.failed += 1,
            }
            on_outcome(outcome);
        }
        Ok(())
    };
    // Opened reports are done; one that failed is tried again (a wrong key today, the right
    // one tomorrow) and its old record replaced by the new outcome.
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    each_sealed(data, &mut |file| {
        if !state.is_opened(&relative_name(data, &file))? {
            batch.push(file);
            if batch.len() == RECORD_BATCH {
                open_batch(std::mem::take(&mut batch))?;
            }
        }
        Ok(())
    })?;
    if !batch.is_empty() {
        open_batch(batch)?;
    }
    progress.finish_and_clear();
    if any_opened {
        keep::record_organisation(identities, out)?;
    }
    // The groups change only with what was recorded: a poll with nothing new regroups nothing.
    let regrouped = counts.recorded > 0 && state.regroup_same_photos()?;
    let exports_missing = !out.join("sightings.json").is_file();
    if counts.recorded > 0 || rechecked || regrouped || exports_missing {
        export::write_from(out, state)?;
    }
    Ok(counts)
}

/// `work` over `items` on `workers` threads, the results in the items' order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let work = &work;
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    (w..items.len())
                        .step_by(workers)
                        .map(|i| (i, work(&items[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Opens one sealed file: what to record of it, and the outcome.
fn open_one(
    state: &state::DeskState,
    claimed: &Mutex<HashSet<uuid::Uuid>>,
    identities: &[age::x25519::Identity],
    intake_key: Option<&[u8; 32]>,
    data: &Path,
    out: &Path,
    file: PathBuf,
) -> (sightings::Sighting, Outcome) {
    let opened = fs::File::open(&file)
        .map_err(|e| OpenError::Decrypt(e.to_string()))
        .and_then(|f| open_report(identities, std::io::BufReader::new(f)));
    let mut receipt = None;
    let opened = match opened {
        Err(e) => Err(e),
        Ok(report) => {
            // What the intake server recorded beside the ciphertext (receipt, clocks).
            let record = receipts::read_record(&file);
            let id = report.manifest.id;
            let kept = check_ids(&file, &report, record.as_ref()).and_then(|()| {
                // Claimed in this run (by another worker, say) or recorded before.
                let claimed = !claimed.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
                let before = state
                    .is_opened_id(&id.to_string())
                    .map_err(|e| OpenError::Bundle(format!("cannot read the desk's state: {e}")))?;
                keep_report(out, &report, claimed || before)
            });
            kept.map(|()| {
                let mut sighting = sightings::Sighting::verified(
                    relative_name(data, &file),
                    &report.manifest,
                    &report.manifest_json,
                    record.as_ref(),
                );
                if let Some(record) = &record {
                    let check = match receipts::file_sha256(&file) {
                        Ok(sha) => receipts::check(&record.receipt, &sha, intake_key),
                        Err(_) => receipts::ReceiptCheck::NotVerified,
                    };
                    sighting.set_receipt(check);
                    receipt = Some(check);
                }
                // Groups use the hash of the photo itself, never the one the manifest claims.
                sighting.perceptual_hash =
                    sighting_core::capture::perceptual_hash(&report.photo, &Default::default())
                        .ok()
                        .map(|h| format!("{h:016x}"));
                (report.manifest, sighting)
            })
        }
    };
    let (result, sighting) = match opened {
        Ok((manifest, sighting)) => (Ok(manifest), sighting),
        Err(e) => {
            let stem = file.file_stem().unwrap_or_default().to_string_lossy();
            let failed =
                sightings::Sighting::not_opened(stem.into_owned(), relative_name(data, &file), &e);
            (Err(e), failed)
        }
    };
    let outcome = Outcome {
        file,
        result,
        receipt,
    };
    (sighting, outcome)
}

/// A report's id must be the one the intake received it under (the file name, and the receipt
/// beside it).
fn check_ids(
    file: &Path,
    report: &OpenedReport,
    record: Option<&IntakeRecord>,
) -> Result<(), OpenError> {
    let id = report.manifest.id;
    let received = file
        .file_stem()
        .and_then(|stem| stem.to_str())
        .and_then(|stem| stem.parse::<uuid::Uuid>().ok());
    // The receipt, where the intake's record came along, must say the same.
    let receipt_id = record.map_or(received, |r| Some(r.receipt.report_id));
    for received in [received, receipt_id] {
        match received {
            Some(received) if received == id => {}
            other => {
                return Err(OpenError::IdMismatch {
                    manifest: id.to_string(),
                    received: other.map_or_else(|| "unknown".into(), |r| r.to_string()),
                })
            }
        }
    }
    Ok(())
}

/// Writes a verified report to `out/reports/<id>/` unless a report with its id was opened
/// before (a forgery reusing a victim's id cannot replace the victim's report).
fn keep_report(out: &Path, report: &OpenedReport, opened_before: bool) -> Result<(), OpenError> {
    let id = report.manifest.id;
    let io = |e: std::io::Error| OpenError::Bundle(format!("cannot write the report: {e}"));
    let reports = out.join("reports");
    make_private_dir(&reports).map_err(io)?;
    let dir = reports.join(id.to_string());
    if opened_before {
        return Err(OpenError::Duplicate(id.to_string()));
    }
    // A folder no record names is what a run stopped before recording left: written again.
    match private_dir_builder().create(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        other => other.map_err(io)?,
    }
    write_private(&dir.join("photo.jpg"), &report.photo).map_err(io)?;
    write_private(&dir.join("manifest.json"), &report.manifest_json).map_err(io)?;
    Ok(())
}

fn private_dir_builder() -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// Makes `dir` (and missing parents) readable by the desk's user only; tightens `dir` to 0700
/// if an older desk made it with the default mode.
pub(crate) fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    private_dir_builder().recursive(true).create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes a file readable by the desk's user only (decrypted photos, notes, exports),
/// atomically: a temporary file made 0600, then renamed over the old one.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    file.write_all(bytes)?;
    fs::rename(temp, path)
}

/// Hands every `*.age` file under `dir` to `each`, each directory's names in order. Lists one
/// directory's names at a time, never every path under `dir`.
fn each_sealed(
    dir: &Path,
    each: &mut dyn FnMut(PathBuf) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let listing =
        fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in listing {
        let entry = entry?;
        // A symbolic link is followed, as the path it names.
        let is_dir = match entry.file_type()? {
            kind if kind.is_symlink() => entry.path().is_dir(),
            kind => kind.is_dir(),
        };
        names.push((entry.file_name(), is_dir));
    }
    names.sort();
    for (name, is_dir) in names {
        let path = dir.join(name);
        if is_dir {
            each_sealed(&path, each)?;
        } else if path.extension().is_some_and(|e| e == "age") {
            each(path)?;
        }
    }
    Ok(())
}

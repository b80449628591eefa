//! The device on a desktop: `capture`, `discard`, `queue`, `sync`, `wipe`, all on `--data DIR`
//! ([`crate::config`]). The same core as the phone apps.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use sighting_core::capture::{read_photo, CaptureOptions, CaptureRequest, Location};
use sighting_core::device::Device;
use sighting_core::handle::DeviceHandle;
use sighting_core::queue::{ReportStatus, State};
use sighting_core::report::{CaptureClock, Details};
use sighting_core::sync::SyncBudget;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::{load, open, syncer, Data};
use crate::observations::ObservationArgs;
use crate::photo::LocationArgs;

#[derive(Args)]
pub struct CaptureArgs {
    /// The photo: a camera JPEG, or a PNG or WebP from the gallery (HEIC must be converted
    /// to JPEG first).
    photo: std::path::PathBuf,
    #[command(flatten)]
    location: LocationArgs,
    /// What the reporter saw (at most 1,000 characters).
    #[arg(long)]
    note: Option<String>,
    #[command(flatten)]
    observations: ObservationArgs,
    /// Stop at a draft (not sealed, not sent).
    #[arg(long)]
    draft: bool,
}

pub fn capture(data: &Data, args: &CaptureArgs) -> Result<()> {
    let details = Details {
        note: args.note.clone(),
        observations: args.observations.observations(),
        ..Default::default()
    };
    // Refused before a draft exists: a refusal leaves nothing behind.
    details.validate().context("--note")?;
    let dir = data.dir()?;
    let mut device = open(&dir, &load(&dir)?)?;
    let options = CaptureOptions::default();
    let bytes =
        read_photo(&args.photo, &options).with_context(|| args.photo.display().to_string())?;
    let request = CaptureRequest {
        location: args.location.location(),
        captured_at: Some(OffsetDateTime::now_utc()),
    };
    let draft = device
        .capture(bytes, &request, CaptureClock::now()?)
        .with_context(|| args.photo.display().to_string())?;
    println!(
        "draft {}: {}×{}, location {}",
        draft.id, draft.width, draft.height, draft.location
    );
    if let Location::Missing(reason) = &draft.location {
        eprintln!(
            "warning: no location ({}): the report is kept and says so; give --lat and --lon if \
             you know where it was",
            reason.as_str()
        );
    }
    if let Some(case) = &args.observations.case_number {
        warn_if_not_listed(&device, case);
    }
    if !args.draft {
        let envelope = match device.submit(draft.id, details) {
            Ok(envelope) => envelope,
            Err(e) => {
                // The photo is still the reporter's file: a draft no command can submit would
                // only hold space.
                device.discard(draft.id)?;
                return Err(e.into());
            }
        };
        println!(
            "sealed {} ({} bytes), waiting to be sent",
            envelope.report_id, envelope.ciphertext_bytes
        );
    }
    Ok(())
}

/// A case number the list on this device does not have may be a typo: say so, keep the report.
fn warn_if_not_listed(device: &Device, case: &str) {
    let listed = device
        .bulletins(OffsetDateTime::now_utc(), None)
        .is_ok_and(|b| b.cases.iter().any(|c| c.case.number == case));
    if !listed {
        eprintln!(
            "warning: case {case} is not in the missing-children list on this device (see \
             `sighting bulletins`); the report is kept with it"
        );
    }
}

#[derive(Args)]
pub struct DiscardArgs {
    /// The draft's id (from `sighting queue`).
    id: Uuid,
}

pub fn discard(data: &Data, args: &DiscardArgs) -> Result<()> {
    let dir = data.dir()?;
    open(&dir, &load(&dir)?)?.discard(args.id)?;
    println!("discarded draft {}", args.id);
    Ok(())
}

#[derive(Args)]
pub struct QueueArgs {
    #[arg(long)]
    json: bool,
}

pub fn queue(data: &Data, args: &QueueArgs) -> Result<()> {
    let dir = data.dir()?;
    let device = open(&dir, &load(&dir)?)?;
    let reports = device.reports()?;
    let labelled = reports
        .iter()
        .map(|r| Ok((r, device.label(r.id)?.unwrap_or_default())))
        .collect::<Result<Vec<_>>>()?;
    if args.json {
        let rows: Vec<_> = labelled
            .iter()
            .map(|(r, label)| {
                serde_json::json!({
                    "id": r.id, "state": r.state.as_str(), "bytes": r.bytes,
                    "created_at": rfc3339(r.created_at),
                    "note_start": label.note_start, "case_number": label.case_number,
                    "attempts": r.attempts,
                    "last_error": r.last_error.map(|e| e.to_string()),
                    "last_error_detail": r.last_error_detail,
                    "reject_reason": r.reject_reason, "problem": r.problem,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for (r, label) in &labelled {
        let why = r
            .problem
            .as_deref()
            .or(r.reject_reason.as_deref())
            .or(r.last_error_detail.as_deref())
            .map(|w| format!("  ({w})"))
            .unwrap_or_default();
        let case = label
            .case_number
            .as_deref()
            .map(|c| format!("case {c}  "))
            .unwrap_or_default();
        let note = label
            .note_start
            .as_deref()
            .map(|n| format!("\"{n}…\"  "))
            .unwrap_or_default();
        println!(
            "{}  {:<20} {case}{note}{}{why}",
            utc_minutes(r.created_at),
            r.state.as_str(),
            r.id
        );
    }
    println!("{}", crate::count(reports.len(), "report", "reports"));
    Ok(())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `2026-05-01 14:03Z`: to the minute, in UTC.
fn utc_minutes(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

#[derive(Args)]
pub struct SyncArgs {
    /// Stop after this many seconds (what is cut resumes next time).
    #[arg(long, default_value_t = 30)]
    budget_secs: u64,
}

/// Sends what is waiting; fails (exit 1) while anything is still not delivered.
pub fn sync(data: &Data, args: &SyncArgs) -> Result<()> {
    let dir = data.dir()?;
    let config = load(&dir)?;
    let syncer = syncer(&dir, &config)?;
    let device = DeviceHandle::new(open(&dir, &config)?)?;
    let budget = SyncBudget {
        honour_backoff: false,
        ..SyncBudget::background(Duration::from_secs(args.budget_secs))
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let summary = runtime.block_on(syncer.sync(&device, budget))?;
    println!(
        "{} delivered, {} not confirmed, {} rejected, {} to retry, {} paused; {} bytes sent",
        summary.delivered.len(),
        summary.unconfirmed.len(),
        summary.rejected.len(),
        summary.retrying.len(),
        summary.paused.len(),
        summary.bytes_sent
    );
    for (id, failure) in &summary.retrying {
        println!("  {id}: {} ({})", failure.detail, failure.error);
    }
    for (id, why) in &summary.rejected {
        println!("  {id}: refused: {why}");
    }
    // The missing-children list comes along with a sync, for the area asked for last time.
    if config.bulletin_key.is_some() {
        runtime.block_on(crate::bulletins::refresh_line(&syncer, &device, None));
    }
    let waiting = runtime
        .block_on(device.call(|d| d.reports()))?
        .iter()
        .filter(|r| is_waiting(r))
        .count();
    anyhow::ensure!(
        waiting == 0 && summary.rejected.is_empty(),
        "{} not delivered yet (kept; `sighting sync` again), {} refused by the server",
        crate::count(waiting, "report", "reports"),
        summary.rejected.len()
    );
    Ok(())
}

/// Sealed but not yet confirmed by the server.
fn is_waiting(r: &ReportStatus) -> bool {
    matches!(
        r.state,
        State::Sealed | State::Uploading | State::UploadedUnconfirmed
    )
}

#[derive(Args)]
pub struct WipeArgs {
    /// Do not ask (the unsent reports are destroyed too).
    #[arg(long)]
    yes: bool,
}

/// Panic wipe: says what unsent reports it destroys and asks, unless `--yes`.
pub fn wipe(data: &Data, args: &WipeArgs) -> Result<()> {
    let dir = data.dir()?;
    // `load` refuses a directory without our config.json, so nothing else is ever removed.
    let device = open(&dir, &load(&dir)?)?;
    let reports = device.reports()?;
    let drafts = reports.iter().filter(|r| r.state == State::Draft).count();
    let waiting = reports.iter().filter(|r| is_waiting(r)).count();
    let what = format!(
        "{} not yet delivered and {}, with every key and file in {}",
        crate::count(waiting, "report", "reports"),
        crate::count(drafts, "draft", "drafts"),
        dir.display()
    );
    if !args.yes {
        eprint!("This destroys {what}. Type yes to wipe: ");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        anyhow::ensure!(
            answer.trim() == "yes",
            "not wiped (answer yes, or run `sighting wipe --yes`)"
        );
    }
    device.wipe()?;
    // The key file standing in for the phone's keystore goes too.
    std::fs::remove_dir_all(&dir)?;
    println!("wiped: destroyed {what}");
    Ok(())
}

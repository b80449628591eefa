//! `sighting demo`: the whole flow on one machine.
//!
//! The organisation's keys and two published missing-child cases; a device that captures the
//! sample photos while offline (its sync fails and the outbox says so), one of them twice (the
//! same photo sent twice); the intake server on a free loopback port, given the signed bulletin
//! feed; the device syncs with a progress bar, verifies each receipt and fetches the
//! missing-children list for its area; a reporter links a new sighting to one case ([`cases`]);
//! the review desk opens and verifies every new report, writes the GeoJSON, CSV and the review
//! page, and ranks the case's candidates; a summary of what was sent and stripped.

mod cases;
mod summary;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ring::signature::KeyPair;

use anyhow::{Context, Result};
use clap::Args;
use sighting_core::capture::{CaptureRequest, Location, LocationFix, LocationSource};
use sighting_core::client::ClientConfig;
use sighting_core::handle::DeviceHandle;
use sighting_core::keys::FileKeyStore;
use sighting_core::queue::{AttemptError, State};
use sighting_core::report::{CaptureClock, Details};
use sighting_core::seal::Recipient;
use sighting_core::sync::{SyncBudget, SyncListener, Syncer};
use sighting_desk::{self as desk, keygen};
use sighting_intake::{self as intake, store::SqliteStore, Intake, IntakeConfig};
use time::OffsetDateTime;
use uuid::Uuid;

use summary::{count, print_summary, Row};

/// Sample photos compiled in, so the demo needs nothing outside the repository (see
/// `cli/samples/NOTICE.md`).
const SAMPLES: &[(&str, &[u8])] = &[
    (
        "Canon_40D.jpg",
        include_bytes!("../../cli/samples/Canon_40D.jpg"),
    ),
    (
        "Nikon_D70.jpg",
        include_bytes!("../../cli/samples/Nikon_D70.jpg"),
    ),
    (
        "DSCN0010.jpg",
        include_bytes!("../../cli/samples/DSCN0010.jpg"),
    ),
    (
        "portrait_6.jpg",
        include_bytes!("../../cli/samples/portrait_6.jpg"),
    ),
];

#[derive(Args)]
pub struct DemoArgs {
    /// Keep everything the demo makes in this directory (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Use the JPEGs in this directory instead of the bundled samples.
    #[arg(long)]
    photos: Option<PathBuf>,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    // The intake and desk run in this process: their warnings go to stderr, as `sighting-server`
    // prints them. Linking the server's logger also gives the crates both builds share the same
    // features, so the server command the demo prints next does not compile them again (it
    // took ~5 minutes on 2 cores).
    let _ = tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_writer(std::io::stderr)
        .try_init();
    let temp;
    let root = match &args.keep {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let photos = match &args.photos {
        Some(dir) => read_photos(dir)?,
        None => SAMPLES
            .iter()
            .map(|(n, b)| (n.to_string(), b.to_vec()))
            .collect(),
    };
    tokio::runtime::Runtime::new()?.block_on(async {
        // Ctrl-C ends the flow here, so the server stops and the temporary directory is removed.
        tokio::select! {
            result = flow(&root, photos) => result,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        }
    })?;
    if args.keep.is_some() {
        println!("\nKept in {}", root.display());
        let dir = root.display();
        println!("Review these sightings in the desk app (a reviewer first, then the desk):");
        println!(
            "   cargo run --release -p sighting-server -- desk-user add --state {dir}/desk --name you   (it asks for a passphrase of 12 or more characters, twice)"
        );
        // With a contact (printed on every lead package) the desk can make lead packages too.
        println!(
            "   cargo run --release -p sighting-server -- desk --identity {dir}/org/identity.txt --state {dir}/desk --data {dir}/server --contact \"{DEMO_CONTACT}\""
        );
        println!("   then open http://127.0.0.1:8090/ in a browser and log in.");
    } else {
        println!("\n(Everything above was in a temporary directory, now removed: run with --keep DIR to keep it and try the review desk on it.)");
    }
    Ok(())
}

/// The demo organisation's contact for lead packages: plainly not a real one.
const DEMO_CONTACT: &str = "Sighting demo organisation, demo@example.org";

/// Where the demo's phone is: Amsterdam Centraal.
const PHONE_AT: (f64, f64) = (52.3791, 4.9003);

/// The demo's stand-in for a phone's location service: a fix `i` steps of ~150 m from
/// Amsterdam Centraal.
fn phone_fix(i: usize) -> Location {
    Location::Fix(LocationFix {
        lat: PHONE_AT.0 - 0.0009 * i as f64,
        lon: PHONE_AT.1 - 0.0011 * i as f64,
        accuracy_m: Some(12.0),
        altitude_m: None,
        heading_deg: None,
        fix_time: OffsetDateTime::now_utc() - time::Duration::seconds(2),
        provider: "demo".into(),
        source: LocationSource::Device,
    })
}

async fn flow(root: &Path, photos: Vec<(String, Vec<u8>)>) -> Result<()> {
    println!("1. The organisation makes its keys (the identity stays at the review desk)");
    let org = root.join("org");
    let recipient = organisation_recipient(&org)?;
    let server_key = keygen::read_server_key(&org.join(keygen::SERVER_KEY_FILE))?;
    let server_public: [u8; 32] = server_key.public_key().as_ref().try_into()?;
    let bulletin_public = keygen::read_bulletin_public_key(&org.join(keygen::BULLETIN_PUB_FILE))?;
    println!("   recipient {recipient}\n");

    println!(
        "2. It publishes two vetted missing-child cases (police reference, family consent, photo)"
    );
    let desk_dir = root.join("desk");
    // The last photo stands for the child: the case's photo, and what the reporter sends in
    // step 6 (kept out of the other sightings, so it is not the same photo as one of them).
    let mut photos = photos;
    let child = if photos.len() > 1 {
        photos.pop()
    } else {
        photos.last().cloned()
    };
    let child = child.map(|(_, bytes)| bytes).unwrap_or_default();
    let desk = cases::publish_cases(&desk_dir, &child)?;

    let sightings = sightings(photos);
    println!(
        "\n3. A reporter's device, offline, captures {} and seals them",
        count(sightings.len(), "photo", "photos")
    );
    // The phone is set up for an intake address that does not answer yet: it is offline.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let intake_url = format!("http://127.0.0.1:{port}");
    let device_dir = root.join("device");
    let config = ClientConfig {
        chunk_size: Some(64 << 10),
        bulletin_key: Some(bulletin_public),
        ..ClientConfig::new(&device_dir, vec![recipient], &intake_url, server_public)
    };
    let device = config.open_device(&FileKeyStore::open(&device_dir.join("keystore.key"))?)?;
    let syncer = config.syncer()?;
    let (mut rows, mut failed) = capture_all(&device, sightings).await;
    syncer.sync(&device, SEND_NOW).await?;
    println!("\n   The outbox while offline (honest states):");
    print_outbox(&device).await?;

    println!("\n4. The intake server starts on {intake_url} (it stores ciphertext only)");
    let store = SqliteStore::open(&root.join("server"))?;
    let intake_config = IntakeConfig {
        bulletin_key: Some(bulletin_public),
        ..IntakeConfig::default()
    };
    let intake = Intake::new(Arc::new(store), server_key, intake_config);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let server = tokio::spawn(async move { intake::serve(listener, intake).await });
    cases::push_feed(&desk, &org, &intake_url).await?;

    println!("\n5. Back online, the device syncs (tus, resumable) and checks each signed receipt");
    failed += sync_online(&device, &syncer, rows.iter().map(|r| r.sealed_bytes).sum()).await?;
    println!("   and fetches the missing-children list for its area:");
    cases::fetch_bulletins(&device, &syncer, PHONE_AT).await?;

    println!(
        "\n6. A reporter sees a girl who looks like case {}, and says so at capture (the phone never says \"a match\")",
        cases::LINKED_CASE
    );
    let linked = cases::linked_capture(&device, child, phone_fix(9)).await?;
    println!(
        "   sealed {} with the case number and what the reporter saw",
        linked.id
    );
    rows.push(linked);
    failed += sync_online(&device, &syncer, 0).await?;
    server.abort();

    println!("\n7. The review desk opens and verifies every new report the server received");
    failed += open_at_desk(&org, &root.join("server"), &desk_dir)?;
    println!(
        "\n8. The desk ranks the candidates for case {}",
        cases::LINKED_CASE
    );
    cases::rank_linked_case(&desk, &desk_dir)?;
    print_summary(&rows, &desk_dir)?;
    anyhow::ensure!(
        failed == 0,
        "{} failed",
        count(failed, "photo or report", "photos or reports")
    );
    Ok(())
}

/// "Send now": everything waiting, whatever its retry time.
const SEND_NOW: SyncBudget = SyncBudget {
    max_wall: Duration::from_secs(30),
    max_bytes: u64::MAX,
    honour_backoff: false,
    allow_metered: true,
    metered: false,
};

/// The photos with the places they were taken; the first is seen twice, by two passers-by
/// ~150 m apart: the same photo sent twice.
fn sightings(photos: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>, Location)> {
    let mut sightings = Vec::new();
    for (i, (name, bytes)) in photos.into_iter().enumerate() {
        if i == 0 {
            let again = format!("{name} (seen again)");
            sightings.push((name, bytes.clone(), phone_fix(0)));
            sightings.push((again, bytes, phone_fix(1)));
        } else {
            sightings.push((name, bytes, phone_fix(i + 1)));
        }
    }
    sightings
}

/// Captures and submits each photo; the rows for the summary, and how many were refused.
async fn capture_all(
    device: &DeviceHandle,
    sightings: Vec<(String, Vec<u8>, Location)>,
) -> (Vec<Row>, usize) {
    let (mut rows, mut failed) = (Vec::new(), 0);
    for (name, bytes, location) in sightings {
        let camera_bytes = bytes.len();
        let note = format!("demo sighting from {name}");
        let result = device
            .call(move |d| {
                let request = CaptureRequest {
                    location,
                    captured_at: Some(OffsetDateTime::now_utc()),
                };
                let draft = d.capture(bytes, &request, CaptureClock::now()?)?;
                let details = Details {
                    note: Some(note),
                    ..Default::default()
                };
                let envelope = d.submit(draft.id, details)?;
                Ok((draft, envelope))
            })
            .await;
        let (draft, envelope) = match result {
            Ok(sealed) => sealed,
            Err(e) => {
                failed += 1;
                println!("   {name}: refused: {e}");
                continue;
            }
        };
        let row = Row::new(name.clone(), camera_bytes, &draft, &envelope);
        println!(
            "   {name}: {camera_bytes} B camera file → {}×{} upload copy → {} B sealed\n      stripped: {}\n      location: {}",
            draft.width, draft.height, row.sealed_bytes, row.stripped, row.location
        );
        rows.push(row);
    }
    (rows, failed)
}

/// Syncs with a progress bar over the bytes waiting; returns how many reports were not
/// delivered.
async fn sync_online(device: &DeviceHandle, syncer: &Syncer, waiting: u64) -> Result<usize> {
    let bar = Arc::new(ProgressBars::new(waiting));
    syncer.set_listener(Some(bar.clone()));
    let summary = syncer.sync(device, SEND_NOW).await?;
    bar.bar.finish_and_clear();
    println!(
        "   {} delivered, {} bytes sent",
        summary.delivered.len(),
        summary.bytes_sent
    );
    for (id, failure) in &summary.retrying {
        println!(
            "   NOT DELIVERED {id}: {} ({})",
            failure.detail, failure.error
        );
    }
    for (id, why) in &summary.rejected {
        println!("   NOT DELIVERED {id}: refused: {why}");
    }
    print_outbox(device).await?;
    Ok(summary.retrying.len() + summary.rejected.len())
}

/// Opens every new report at the desk; returns how many failed.
fn open_at_desk(org: &Path, server: &Path, desk_dir: &Path) -> Result<usize> {
    let identities = desk::read_identities(&org.join(keygen::IDENTITY_FILE))?;
    let mut failed = 0;
    for o in desk::open_dir(&identities, server, desk_dir)? {
        match &o.result {
            Ok(r) => println!(
                "   verified {}  {}",
                r.id,
                r.details.note.as_deref().unwrap_or("")
            ),
            Err(e) => {
                failed += 1;
                println!("   FAILED {}: {e}", o.file.display());
            }
        }
    }
    Ok(failed)
}

/// The sync's progress as one bar over the bytes waiting (the server's confirmed offsets).
struct ProgressBars {
    bar: indicatif::ProgressBar,
    confirmed: std::sync::Mutex<std::collections::HashMap<Uuid, u64>>,
}

impl ProgressBars {
    fn new(total: u64) -> Self {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("   [{bar:40}] {bytes}/{total_bytes}")
        {
            bar.set_style(style);
        }
        Self {
            bar,
            confirmed: Default::default(),
        }
    }
}

impl SyncListener for ProgressBars {
    fn progress(&self, report: Uuid, sent: u64, _total: u64) {
        if let Ok(mut confirmed) = self.confirmed.lock() {
            confirmed.insert(report, sent);
            self.bar.set_position(confirmed.values().sum());
        }
    }

    fn state_changed(&self, _: Uuid, _: State, _: Option<AttemptError>, _: Option<&str>) {}
}

async fn print_outbox(device: &DeviceHandle) -> Result<()> {
    for r in device.call(|d| d.reports()).await? {
        let note = match (r.last_error, &r.last_error_detail, r.state) {
            (Some(kind), Some(detail), _) => format!("attempt {}, {kind}: {detail}", r.attempts),
            (_, _, State::Delivered) => "receipt verified".to_string(),
            _ => String::new(),
        };
        println!(
            "   {}  {:<9} {:>7} B  {note}",
            r.id,
            r.state.as_str(),
            r.bytes
        );
    }
    Ok(())
}

/// Makes the organisation's keys on the first run; later runs in the same directory reuse them.
fn organisation_recipient(org: &Path) -> Result<Recipient> {
    let recipient_file = org.join(keygen::RECIPIENT_FILE);
    let recipient = if recipient_file.exists() {
        std::fs::read_to_string(&recipient_file)?.trim().to_string()
    } else {
        keygen::keygen(org)?.recipient
    };
    recipient
        .parse()
        .with_context(|| format!("{}", recipient_file.display()))
}

fn read_photos(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut photos = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let is_jpeg = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"));
        if is_jpeg {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            photos.push((name, std::fs::read(&path)?));
        }
    }
    photos.sort();
    anyhow::ensure!(!photos.is_empty(), "no .jpg files in {}", dir.display());
    Ok(photos)
}

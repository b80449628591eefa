//! Cases and bulletins benchmark (`cargo xtask bench` runs it): a register of N published
//! cases (default 5,000) spread over China, each with one photo; the time to build and sign
//! the feed and its size; the intake taking the push; a phone near Beijing refreshing its list
//! in a process of its own (time, bytes downloaded, peak RSS: the phone's side alone); then
//! ranking S synthetic sightings (default 10,000) against every case, as the desk's case pages
//! do one case at a time.
//!
//! ```text
//! cases_bench PHOTO [CASES] [SIGHTINGS]
//! ```

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use ring::signature::KeyPair;
use sighting_core::report::{AgeBand, Observations, Sex};
use sighting_core::sync::{SyncConfig, Syncer};
use sighting_desk::keygen;
use sighting_desk::sightings::Sighting;
use sighting_desk::state::{CaseDetails, DeskState, Role};
use sighting_desk::{bulletins, ranking};
use sighting_intake::IntakeConfig;
use time::OffsetDateTime;

/// Where the phone is: Beijing.
const PHONE: (f64, f64) = (39.90, 116.40);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("phone") {
        return phone_child(&args[1..]);
    }
    let photo = args
        .first()
        .context("usage: cases_bench PHOTO [CASES] [SIGHTINGS]")?;
    let n: usize = args.get(1).map_or(Ok(5_000), |n| n.parse())?;
    let s: usize = args.get(2).map_or(Ok(10_000), |n| n.parse())?;
    let tmp = tempfile::tempdir()?;
    let org = keygen::keygen(&tmp.path().join("org"))?;
    let desk = register(&tmp.path().join("desk"), &std::fs::read(photo)?, n)?;

    let key = keygen::read_bulletin_key(&tmp.path().join("org").join(keygen::BULLETIN_KEY_FILE))?;
    let started = Instant::now();
    let feed = bulletins::build(
        &desk,
        &key,
        1,
        OffsetDateTime::now_utc(),
        time::Duration::days(14),
    )?;
    let build = started.elapsed();
    let tile_bytes: usize = feed.tiles.values().map(Vec::len).sum();
    let photo_bytes: usize = feed.photos.values().map(Vec::len).sum();
    println!(
        "cases: {n} published; feed built and signed in {:.2} s: index {} KB, {} tiles, {:.2} MB of tiles, {} distinct photo(s) beside them ({} KB)",
        build.as_secs_f64(),
        feed.index_json.len() / 1000,
        feed.tiles.len(),
        tile_bytes as f64 / 1e6,
        feed.photos.len(),
        photo_bytes / 1000
    );

    let runtime = tokio::runtime::Runtime::new()?;
    let public: [u8; 32] = key.public_key().as_ref().try_into()?;
    let config = IntakeConfig {
        bulletin_key: Some(public),
        ..IntakeConfig::default()
    };
    let intake_dir = tmp.path().join("intake");
    let server = runtime.block_on(test_support::Server::start(
        &intake_dir,
        &test_support::server_key().0,
        config,
    ));
    let base = server.base.clone();
    let started = Instant::now();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let status = runtime.block_on(feed.push(&reqwest::Client::new(), &base, &key))?;
    anyhow::ensure!(status.is_success(), "push: {status}");
    println!(
        "push to the intake (verify, store): {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let child = Command::new(std::env::current_exe()?)
        .args(["phone", &base, &org.bulletin_key, &org.recipient])
        .arg(tmp.path().join("phone"))
        .output()?;
    anyhow::ensure!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    print!("{}", String::from_utf8_lossy(&child.stdout));

    rank_all(&desk, s)
}

/// N published cases spread over China (18–53° N, 74–134° E), each with the one photo.
fn register(dir: &Path, photo: &[u8], n: usize) -> Result<DeskState> {
    let desk = DeskState::open(dir)?;
    let cm = desk.add_reviewer("bench", "a long bench password", Role::CaseManager)?;
    let small = bulletins::case_photo(photo)?;
    let started = Instant::now();
    for i in 0..n {
        let number = format!("C-{i:05}");
        let details = CaseDetails {
            first_name: format!("Child{i}"),
            sex: if i % 2 == 0 { Sex::Girl } else { Sex::Boy },
            date_of_birth: None,
            age_when_missing: (i % 15) as u8 + 2,
            missing_since: format!("20{:02}-0{}-1{}", 15 + i % 11, 1 + i % 9, i % 10),
            last_seen_district: format!("District {}", i % 300),
            last_seen_lat: 18.0 + (i * 7919 % 3500) as f64 / 100.0,
            last_seen_lon: 74.0 + (i * 104_729 % 6000) as f64 / 100.0,
            marks: if i % 4 == 0 {
                "scar on the left hand".into()
            } else {
                String::new()
            },
            police_reference: Some(format!("P-{i}")),
            private_notes: None,
        };
        let c = desk.create_case(&cm, &number, &details)?;
        let c = desk.add_case_photo(&cm, &number, c.version, &small)?;
        let c = desk.record_family_consent(&cm, &number, c.version)?;
        desk.publish_case(&cm, &number, c.version)?;
    }
    println!(
        "register: {n} cases (each created, photographed, consented, published: 4 audited transactions) in {:.1} s; case photo {} KB",
        started.elapsed().as_secs_f64(),
        small.len() / 1000
    );
    Ok(desk)
}

/// The phone's side, alone in this process: refresh near Beijing, then list offline.
fn phone_child(args: &[String]) -> Result<()> {
    let (base, bulletin_key, recipient, dir) = (&args[0], &args[1], &args[2], &args[3]);
    let device = test_support::phone(Path::new(dir), recipient);
    let key = sighting_core::wire::parse_server_key(bulletin_key).context("bulletin key")?;
    let syncer = Syncer::new(SyncConfig {
        bulletin_key: Some(key),
        ..SyncConfig::new(base.as_str(), [0; 32])
    })?;
    let runtime = tokio::runtime::Runtime::new()?;
    let started = Instant::now();
    let refresh = runtime.block_on(syncer.refresh_bulletins(&device, Some(PHONE)))?;
    let took = started.elapsed();
    let started = Instant::now();
    let list =
        runtime.block_on(device.call(|d| d.bulletins(OffsetDateTime::now_utc(), Some(PHONE))))?;
    let listed = started.elapsed();
    let unchanged = runtime.block_on(syncer.refresh_bulletins(&device, Some(PHONE)))?;
    let nearest = list.cases.first().context("no case near Beijing")?;
    let started = Instant::now();
    let photo = runtime.block_on(syncer.case_photo(&device, &nearest.case.number, 0))?;
    let opened = started.elapsed();
    println!(
        "phone near Beijing: first refresh {:.2} s for {} cases in {} tiles, {:.3} MB downloaded; unchanged refresh {} bytes downloaded; the list (decrypt, sort) {:.0} ms; a case opened: its photo {} bytes in {:.0} ms; peak RSS {:.0} MiB",
        took.as_secs_f64(),
        list.cases.len(),
        refresh.tiles_downloaded,
        refresh.bytes_downloaded as f64 / 1e6,
        unchanged.bytes_downloaded,
        listed.as_secs_f64() * 1e3,
        photo.len(),
        opened.as_secs_f64() * 1e3,
        test_support::peak_rss_mib()
    );
    Ok(())
}

/// S sightings over China with observations, ranked against every case.
fn rank_all(desk: &DeskState, s: usize) -> Result<()> {
    let sightings: Vec<Sighting> = (0..s).map(sighting).collect();
    let cases = desk.cases()?;
    let keep = BTreeSet::new();
    let started = Instant::now();
    let mut listed = 0;
    for case in &cases {
        listed += ranking::rank(case, &sightings, &keep).len();
    }
    let took = started.elapsed();
    println!(
        "ranking: {s} sightings against each of {} cases in {:.1} s ({:.2} ms per case page), {:.1} candidates per case",
        cases.len(),
        took.as_secs_f64(),
        took.as_secs_f64() * 1e3 / cases.len() as f64,
        listed as f64 / cases.len() as f64
    );
    Ok(())
}

fn sighting(i: usize) -> Sighting {
    let mut s = Sighting::failed(format!("s{i}"), format!("s{i}.age"), String::new());
    s.status = "verified".into();
    s.reason = None;
    s.lat = Some(18.0 + (i * 6151 % 3500) as f64 / 100.0);
    s.lon = Some(74.0 + (i * 7877 % 6000) as f64 / 100.0);
    s.captured_at = Some(format!(
        "2026-{:02}-{:02}T10:00:00+08:00",
        1 + i % 12,
        1 + i % 28
    ));
    s.observations = Some(Observations {
        case_number: (i % 50 == 0).then(|| format!("C-{:05}", i % 5000)),
        sex: Some(if i % 3 == 0 { Sex::Boy } else { Sex::Girl }),
        age_band: Some(match i % 4 {
            0 => AgeBand::Under5,
            1 => AgeBand::From5To9,
            2 => AgeBand::From10To13,
            _ => AgeBand::From14To17,
        }),
        injury_or_disability: Some(i % 7 == 0),
        ..Default::default()
    });
    s
}

//! The demo's missing-children loop: the organisation publishes two vetted cases and pushes the
//! signed bulletin feed to the intake; the device fetches the list for its area; a reporter who
//! recognises a child says "this may be case C-1" at capture; the desk ranks that case's
//! candidates with their reasons. Deciding stays with a reviewer (the desk app).

use std::path::Path;

use anyhow::{Context, Result};
use sighting_core::capture::{CaptureRequest, Location};
use sighting_core::handle::DeviceHandle;
use sighting_core::report::{AgeBand, CaptureClock, Details, Observations, Sex};
use sighting_core::sync::Syncer;
use sighting_desk::keygen;
use sighting_desk::lead::Lang;
use sighting_desk::state::{CaseDetails, DeskState, Role};
use sighting_desk::{bulletins, ranking, sightings};
use time::OffsetDateTime;
use uuid::Uuid;

use super::summary::{count, Row};

/// The case the demo's reporter recognises.
pub const LINKED_CASE: &str = "C-1";
const CASE_MANAGER: &str = "demo-case-manager";

/// Two cases near the demo's phone, vetted and published (again-runs find them published).
pub fn publish_cases(desk_dir: &Path, case_photo: &[u8]) -> Result<DeskState> {
    let desk = DeskState::open(desk_dir)?;
    let manager = match desk.reviewer(CASE_MANAGER)? {
        Some(m) => m,
        // The demo never logs in as this account: its password is random and forgotten.
        None => desk.add_reviewer(CASE_MANAGER, &Uuid::new_v4().to_string(), Role::CaseManager)?,
    };
    let photo = bulletins::case_photo(case_photo)?;
    for (number, name, sex, age, district, (lat, lon)) in [
        (
            LINKED_CASE,
            "Mila",
            Sex::Girl,
            7,
            "Amsterdam-Noord",
            (52.392, 4.921),
        ),
        (
            "C-2",
            "Sam",
            Sex::Boy,
            10,
            "Utrecht Centraal",
            (52.089, 5.110),
        ),
    ] {
        if desk.case(number).is_err() {
            let details = CaseDetails {
                first_name: name.into(),
                sex,
                date_of_birth: None,
                age_when_missing: age,
                missing_since: "2026-10-01".into(),
                last_seen_district: district.into(),
                last_seen_lat: lat,
                last_seen_lon: lon,
                marks: "small scar above the left eyebrow".into(),
                police_reference: Some(format!("NL-2026-{number}")),
                private_notes: None,
            };
            let c = desk.create_case(&manager, number, &details)?;
            let c = desk.add_case_photo(&manager, number, c.version, &photo)?;
            let c = desk.record_family_consent(&manager, number, c.version)?;
            desk.publish_case(&manager, number, c.version)?;
        }
        println!("   case {number}: {name}, {age}, last seen in {district}: published");
    }
    Ok(desk)
}

/// Signs the feed of published cases and pushes it to the intake (`PUT /v1/bulletins`).
pub async fn push_feed(desk: &DeskState, org: &Path, intake_url: &str) -> Result<()> {
    let key = keygen::read_bulletin_key(&org.join(keygen::BULLETIN_KEY_FILE))?;
    let now = OffsetDateTime::now_utc();
    let version = u64::try_from(sighting_core::millis::now())?;
    let feed = bulletins::build(desk, &key, version, now, time::Duration::days(14))?;
    let client = sighting_desk::app::Puller::client(None)?;
    let status = feed.push(&client, intake_url, &key).await?;
    anyhow::ensure!(status.is_success(), "the intake refused the feed: {status}");
    println!(
        "   the desk signed bulletin feed version {version} and pushed it to the intake ({})",
        count(feed.tiles.len(), "tile", "tiles")
    );
    Ok(())
}

/// The device fetches the list for the area around it and shows it, nearest first.
pub async fn fetch_bulletins(
    device: &DeviceHandle,
    syncer: &Syncer,
    here: (f64, f64),
) -> Result<()> {
    let refresh = syncer.refresh_bulletins(device, Some(here)).await?;
    println!(
        "   fetched {} bytes for the 5° cells around it (never its position): {}",
        refresh.bytes_downloaded,
        count(refresh.cases, "case", "cases")
    );
    let list = device
        .call(move |d| d.bulletins(OffsetDateTime::now_utc(), Some(here)))
        .await?;
    for c in &list.cases {
        println!(
            "   {}  {}, {} when missing, last seen in {}, {:.1} km away",
            c.case.number,
            c.case.first_name,
            c.case.age_when_missing,
            c.case.last_seen.district,
            c.distance_m.unwrap_or_default() / 1000.0
        );
    }
    if let Some(line) = list.safety_line {
        println!("   {}", line.en);
    }
    Ok(())
}

/// A reporter sees a girl who looks like the linked case's child and sends a photo saying so;
/// its row in the summary.
pub async fn linked_capture(device: &DeviceHandle, photo: Vec<u8>, at: Location) -> Result<Row> {
    let camera_bytes = photo.len();
    let (draft, envelope) = device
        .call(move |d| {
            let request = CaptureRequest {
                location: at,
                captured_at: Some(OffsetDateTime::now_utc()),
            };
            let draft = d.capture(photo, &request, CaptureClock::now()?)?;
            let details = Details {
                note: Some("a girl selling flowers by the ferry; she looks like the photo".into()),
                observations: Some(Observations {
                    case_number: Some(LINKED_CASE.into()),
                    sex: Some(Sex::Girl),
                    age_band: Some(AgeBand::From5To9),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let envelope = d.submit(draft.id, details)?;
            Ok((draft, envelope))
        })
        .await
        .context("the linked capture")?;
    let name = format!("child's photo (case {LINKED_CASE})");
    Ok(Row::new(name, camera_bytes, &draft, &envelope))
}

/// The desk's candidates for the linked case, best first, with their reasons.
pub fn rank_linked_case(desk: &DeskState, desk_dir: &Path) -> Result<()> {
    let case = desk.case(LINKED_CASE)?;
    let all = sightings::load(desk_dir)?;
    let ranked = ranking::rank(&case, &all, &Default::default());
    println!(
        "   {} for {LINKED_CASE}, best first (a reviewer compares and decides in the desk app):",
        count(ranked.len(), "candidate", "candidates")
    );
    for c in ranked.iter().take(5) {
        println!("   {:>4}  {}", c.score, c.sighting_id);
        // In the words the desk's page shows beside the candidate.
        for reason in &c.reasons {
            println!("           {}", reason.words(Lang::En));
        }
    }
    Ok(())
}

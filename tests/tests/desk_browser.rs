//! The desk app in a real browser: Debian's Chromium driven by playwright-core
//! (`tests/browser/desk.mjs`, with axe-core over the main views). This side builds a desk from
//! reports that went phone → intake server (strangers' notes among them, one report that fails
//! verification, a tile server that does not answer), runs the script as two reviewers would
//! click, then checks what a browser cannot: the signed lead package as a police officer opens it
//! (minisign, sha256sum, pdftotext), and
//! the audit log in the desk's database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sighting_core::handle::DeviceHandle;
use sighting_core::report::{
    Activity, AgeBand, CaptureClock, Details, Observations, Sex, WithAdults,
};
use sighting_desk::app::{self, Desk, DeskConfig, MapTiles};
use sighting_desk::state::Role;
use sighting_desk::{self as desk, keygen};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use support::tool;
use support::{phone, server_key, syncer, Server, NOW};
use test_support as support;

const PASSWORD: &str = "a long desk password";

/// What a newcomer walking the desk hit, in Chinese and English.
#[path = "desk_browser/newcomer.rs"]
mod newcomer;
/// The list searched, narrowed and downloaded.
#[path = "desk_browser/search.rs"]
mod search;
/// Who the case manager's package goes to, and why it goes without confirmed links.
const RECIPIENT: &str = "锡耶纳警察局 Rossi 警官";
const OVERRIDE_REASON: &str = "警官要求提供车站附近的全部目击";
/// The GPS fixtures were taken in Tuscany.
const COUNTRY_ZH: &str = "意大利";

async fn submit(
    device: &DeviceHandle,
    photo: &'static str,
    note: &str,
    observations: Option<Observations>,
) -> Uuid {
    let details = Details {
        observations,
        note: Some(note.to_string()),
        tags: BTreeMap::from([(
            "<b id=\"injected\">tag</b>".to_string(),
            json!("<img src=x onerror=\"document.body.dataset.injected=1\">"),
        )]),
    };
    device
        .call(move |d| {
            let request = support::no_location();
            let draft = d.capture(support::fixture(photo), &request, CaptureClock::now()?)?;
            d.submit(draft.id, details)?;
            Ok(draft.id)
        })
        .await
        .unwrap()
}

/// `tests/browser/node_modules`, which `cargo xtask test` installs (`npm ci`).
fn browser_tests() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules is missing: `cargo xtask test` installs it, or run `npm ci` there",
        dir.display()
    );
    dir
}

/// Runs `tests/browser/<script>` in Node with `facts` (what the page should show) in a file
/// under `dir`; the test fails with the script's own error if the script fails.
async fn run_script(script: &str, facts: &serde_json::Value, dir: &Path) {
    let facts_file = dir.join("facts.json");
    std::fs::write(&facts_file, facts.to_string()).unwrap();
    let script = browser_tests().join(script);
    let clicked = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("DESK_FACTS", &facts_file)
            .output()
            .expect("node (Node.js) on PATH")
    })
    .await
    .unwrap();
    println!("{}", String::from_utf8_lossy(&clicked.stdout));
    assert!(
        clicked.status.success(),
        "the browser test failed:\n{}",
        String::from_utf8_lossy(&clicked.stderr)
    );
}

/// A loopback port nothing listens on: the organisation's tile server, down.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_click_through_the_desk_in_chromium() {
    click_through(Tiles::Unreachable).await;
}

/// As the README starts the desk: no tile server (the page once threw `Map has no maxZoom
/// specified` and listed nothing). The cheap run: the list, the map and one sighting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tile_server_the_list_map_and_a_sighting_show_in_chromium() {
    click_through(Tiles::None).await;
}

#[derive(PartialEq)]
enum Tiles {
    /// The organisation's tile server, down: the whole walk.
    Unreachable,
    /// None configured: the views the map is on.
    None,
}

async fn click_through(tiles: Tiles) {
    browser_tests(); // fails at once when node_modules is missing
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    const PHOTOS: [&str; 3] = ["gps/DSCN0010.jpg", "gps/DSCN0012.jpg", "gps/DSCN0021.jpg"];
    // The reporter thinks of a case this desk has not registered: shown as such.
    let seen = Observations {
        case_number: Some("C-404".into()),
        sex: Some(Sex::Boy),
        age_band: Some(AgeBand::From5To9),
        injury_or_disability: Some(false),
        with_adults: Some(WithAdults::Several),
        activity: Some(Activity::Begging),
    };
    let pick = submit(
        &device,
        PHOTOS[0],
        "a boy begging by the station",
        Some(seen),
    )
    .await;
    // A reporter who saw the bulletin of case C-7 (registered below) and thinks this is her.
    let her = Observations {
        case_number: Some("C-7".into()),
        sex: Some(Sex::Girl),
        age_band: Some(AgeBand::From5To9),
        ..Default::default()
    };
    let linked = submit(
        &device,
        PHOTOS[1],
        "she looked like the girl on the poster",
        Some(her),
    )
    .await;
    let mut hostile = Vec::new();
    for (i, note) in support::hostile_notes().into_iter().enumerate() {
        // The direction override's from a camera with no GPS: a report with no location too.
        let photo = if note.contains('\u{202e}') {
            "Canon_40D.jpg"
        } else {
            PHOTOS[i % PHOTOS.len()]
        };
        hostile.push((submit(&device, photo, &note, None).await, note));
    }
    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, Default::default()).await;
    let delivered = syncer(&server.base, public, 256 << 10)
        .sync(&device, NOW)
        .await
        .unwrap()
        .delivered;
    assert_eq!(delivered.len(), 2 + hostile.len());
    server.stop().await;
    let failed = Uuid::new_v4();
    let sealed = data.join("reports").join(format!("{failed}.age"));
    std::fs::write(sealed, b"not age at all").unwrap();

    let state = tmp.path().join("desk");
    // The organisation's settings for lead packages, as `desk --contact … --lead-key …` keeps them.
    desk::lead::LeadConfig {
        contact: Some("Siena child search, duty desk +39 0577 555 0100".into()),
        time_zone: Some("Asia/Shanghai".into()),
        key: Some(tmp.path().join("org").join(keygen::LEAD_KEY_FILE)),
        font: None,
    }
    .save(&state)
    .unwrap();
    let dead_tiles = format!("http://127.0.0.1:{}/{{z}}/{{x}}/{{y}}.png", dead_port());
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&tmp.path().join("org").join(keygen::IDENTITY_FILE))
            .unwrap(),
        intake_key: None,
        source: app::Source::Dir(data),
        state: state.clone(),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: (tiles == Tiles::Unreachable)
            .then(|| MapTiles::new(&dead_tiles, "© test tiles").unwrap()),
        bulletins: None,
    })
    .unwrap();
    assert_eq!(desk.open_new().unwrap(), 3 + hostile.len());
    for name in ["ana", "bo"] {
        desk.state
            .add_reviewer(name, PASSWORD, Role::Reviewer)
            .unwrap();
    }
    // Case C-7, last seen where the fixtures were taken, with a photo for the comparison.
    let chen = desk
        .state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let mut details = support::cases::case_details(43.47, 11.88);
    details.missing_since = "2026-09-01".into();
    details.age_when_missing = 7;
    details.police_reference = Some("2026-SI-0707".into());
    let case = desk.state.create_case(&chen, "C-7", &details).unwrap();
    let photo = desk::bulletins::case_photo(&support::fixture("gps/DSCN0021.jpg")).unwrap();
    desk.state
        .add_case_photo(&chen, "C-7", case.version, &photo)
        .unwrap();
    let app = support::DeskApp::start(desk.clone()).await;
    let url = format!("{}/", app.base);

    let shown = desk.report(&pick.to_string()).expect("the pick was opened");
    let captured_at = shown.captured_at.clone().unwrap();
    let captured_local = OffsetDateTime::parse(&captured_at, &Rfc3339)
        .unwrap()
        .to_offset(UtcOffset::from_hms(8, 0, 0).unwrap());
    // As a Chinese reviewer reads it, in the desk's zone: 2026年12月3日 14:35.
    let captured_local = format!(
        "{}年{}月{}日 {:02}:{:02}",
        captured_local.year(),
        u8::from(captured_local.month()),
        captured_local.day(),
        captured_local.hour(),
        captured_local.minute()
    );
    let out = tmp.path().join("browser");
    std::fs::create_dir_all(&out).unwrap();
    let ids: Vec<String> = delivered
        .iter()
        .map(Uuid::to_string)
        .chain([failed.to_string()])
        .collect();
    let lead = [pick.to_string(), hostile[0].0.to_string()];
    // When each was taken and received (ms; the corrected capture time where known): the list is
    // newest first by these.
    let times: BTreeMap<&String, _> = ids
        .iter()
        .map(|id| {
            let ms = |t: Option<time::OffsetDateTime>| t.map(sighting_core::millis::from_time);
            let report = desk.report(id);
            let captured = report.as_ref().and_then(|r| ms(r.time()));
            (
                id,
                json!([captured, report.and_then(|r| ms(r.received_time()))]),
            )
        })
        .collect();
    let facts = json!({
        "url": url,
        "tiles": tiles == Tiles::Unreachable,
        "times": times,
        "password": PASSWORD,
        "reviewers": ["ana", "bo"],
        "out": out,
        "ids": ids,
        // All but the one from a camera with no GPS.
        "located": delivered.len() - 1,
        // The page's own scripts, as its HTML lists them: nothing a stranger wrote may add one.
        "scripts": sighting_desk::app::PAGE_HTML.matches("<script ").count(),
        "hostile": hostile.iter().map(|(id, note)| json!({ "id": id, "note": note })).collect::<Vec<_>>(),
        "pick": {
            "id": pick,
            "captured_at": captured_at,
            "captured_local": captured_local,
            "lat": shown.lat,
            "country_zh": COUNTRY_ZH,
        },
        "failed": failed,
        "lead": lead,
        "recipient": RECIPIENT,
        "override_reason": OVERRIDE_REASON,
        "case": {
            "number": "C-7",
            "first_name": details.first_name,
            "linked": linked,
            "manager": "chen",
            "photo": support::fixtures().join("gps/DSCN0012.jpg"),
        },
    });
    run_script("desk.mjs", &facts, tmp.path()).await;
    app.stop().await;
    if tiles == Tiles::None {
        return;
    }

    // The lead package as the officer opens it, with stock tools only: the signature with the
    // organisation's published key, the sums, the PDF in the language chosen (Chinese).
    let name = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("lead-C-7-") && n.ends_with(".zip"))
        .expect("the package was downloaded");
    let lead_pub = tmp.path().join("org").join(keygen::LEAD_PUB_FILE);
    tool(
        &out,
        "minisign",
        &["-Vm", &name, "-p", lead_pub.to_str().unwrap()],
    );
    let unpacked = out.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    tool(&unpacked, "unzip", &["-q", &format!("../{name}")]);
    let sums = tool(&unpacked, "sha256sum", &["-c", "--strict", "SHA256SUMS"]);
    for id in &lead {
        assert!(sums.contains(&format!("{id}/photo.jpg: OK")), "{sums}");
        let custody: serde_json::Value =
            serde_json::from_slice(&std::fs::read(unpacked.join(id).join("custody.json")).unwrap())
                .unwrap();
        let actions: Vec<&str> = custody["custody"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.first(), Some(&"opened"));
        // The package is audited once made (875012a): its own line is in the desk's log, not
        // in the custody it carries.
        assert!(!actions.contains(&"lead_package"), "{actions:?}");
    }
    let text = tool(
        &unpacked,
        "pdftotext",
        &["-layout", &name.replace(".zip", ".pdf"), "-"],
    );
    for words in ["C-7", "2026-SI-0707", "保管链", "Asia/Shanghai", "请勿"] {
        assert!(text.contains(words), "{words:?} not in the PDF:\n{text}");
    }
    for code in [
        "forwarded_to_police",
        "in_review",
        "lead_package",
        "→ verified",
    ] {
        assert!(!text.contains(code), "{code:?} in the PDF:\n{text}");
    }

    // ana's possible match on the linked candidate and bo's confirmation, in the audit log with
    // the case and their notes.
    let decided: Vec<String> = desk
        .state
        .audit(Some(&linked.to_string()))
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|e| {
            let (case, to) = (e.case_number.unwrap_or_default(), e.to.unwrap_or_default());
            let note = e.note.unwrap_or_default();
            format!("{} {} {case} {to} {note}", e.reviewer.unwrap(), e.action)
        })
        .collect();
    assert_eq!(
        decided,
        [
            "ana candidate_decision C-7 possible_match 外套和海报上一样",
            "ana triage C-7 possible_match 外套和海报上一样",
            "bo link_confirmed C-7 linked_to_case Same coat and the scar on the chin",
        ]
    );

    // The case chen opened in the page, through the gate, each step audited.
    let c8 = desk.state.case("C-8").unwrap();
    assert_eq!(c8.publication, desk::state::Publication::Published);
    assert_eq!((c8.photos, c8.details.sex), (1, Sex::Boy));
    let steps: Vec<String> = desk
        .state
        .audit(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.case_number.as_deref() == Some("C-8"))
        .map(|e| format!("{} {}", e.reviewer.unwrap_or_default(), e.action))
        .collect();
    assert_eq!(
        steps,
        [
            "chen case_created",
            "chen case_consent",
            "chen case_photo_added",
            "chen case_publication",
            "chen case_edited"
        ]
    );

    // The audit log: each change once, in order; bo's conflicting change is not in it, his note
    // kept through the conflict is, as a comment.
    let trail: Vec<String> = desk
        .state
        .audit(Some(&pick.to_string()))
        .unwrap()
        .into_iter()
        .map(|e| {
            let who = e.reviewer.unwrap_or_else(|| "desk".into());
            let (from, to) = (e.from.unwrap_or_default(), e.to.unwrap_or_default());
            format!("{who} {} {from}→{to}", e.action)
        })
        .collect();
    assert_eq!(
        trail,
        [
            "desk opened →verified",
            "ana comment →",
            "ana triage new→in_review",
            "ana triage in_review→forwarded_to_police",
            "ana triage forwarded_to_police→in_review",
            "bo comment →",
            "ana triage in_review→forwarded_to_police",
            "chen lead_override →",
            &format!("chen lead_package →{name}"),
        ]
    );
    let sent = desk.state.audit(Some(&pick.to_string())).unwrap();
    let notes: Vec<_> = sent
        .iter()
        .rev()
        .take(2)
        .map(|e| e.note.as_deref())
        .collect();
    assert_eq!(notes, [Some(RECIPIENT), Some(OVERRIDE_REASON)]);
    // Never reviewed, it went to the police on the case manager's word: forwarded now.
    let other = desk.state.sighting(&lead[1]).unwrap();
    assert_eq!(other.triage, desk::state::Triage::ForwardedToPolice);
}

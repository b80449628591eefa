//! A lead package opened as the officer would: a sighting sent phone → intake → desk, a case
//! with its police reference, `sighting-server lead` run as a reviewer; then, with stock tools
//! only, `minisign -V` with the organisation's published key (a changed byte refused),
//! `unzip`, `sha256sum -c`, and `pdftotext` of the PDF in both languages: the case, the police
//! reference, local times in the named zone, the mainland map link, and no raw codes.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sighting_core::capture::{CaptureRequest, Location, LocationFix, LocationSource};
use sighting_core::report::{AgeBand, CaptureClock, Details, Observations, Sex};
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::state::{Role, Triage};
use sighting_desk::{self as desk, keygen};
use test_support::{fixture, phone, server_key, syncer, Server, NOW};

const BIN: &str = env!("CARGO_BIN_EXE_sighting-server");

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn tool(dir: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_checks_the_signature_and_reads_the_case_in_either_language() {
    let tmp = tempfile::tempdir().unwrap();
    let org_dir = tmp.path().join("org");
    let org = keygen::keygen(&org_dir).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    // Seen in Haidian, Beijing, 1.2 km from where the child was last seen; a second sighting
    // there goes out later on a case manager's override.
    let ids = device
        .call(|d| {
            let fix = LocationFix {
                lat: 39.9700,
                lon: 116.3100,
                accuracy_m: Some(25.0),
                altitude_m: None,
                heading_deg: None,
                fix_time: time::OffsetDateTime::now_utc(),
                provider: "gps".into(),
                source: LocationSource::Device,
            };
            let request = CaptureRequest {
                location: Location::Fix(fix),
                captured_at: None,
            };
            let draft = d.capture(fixture("gps/DSCN0010.jpg"), &request, CaptureClock::now()?)?;
            let details = Details {
                note: Some("穿红色外套 <b>x</b> \u{202E}abc".into()),
                observations: Some(Observations {
                    case_number: Some("C-1".into()),
                    sex: Some(Sex::Girl),
                    age_band: Some(AgeBand::From5To9),
                    ..Default::default()
                }),
                ..Default::default()
            };
            d.submit(draft.id, details)?;
            let second = d.capture(fixture("gps/DSCN0021.jpg"), &request, CaptureClock::now()?)?;
            d.submit(second.id, Details::default())?;
            Ok([draft.id.to_string(), second.id.to_string()])
        })
        .await
        .unwrap();
    let [id, second] = ids;
    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, Default::default()).await;
    syncer(&server.base, public, 64 << 10)
        .sync(&device, NOW)
        .await
        .unwrap();
    server.stop().await;

    let state = tmp.path().join("desk");
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&org_dir.join(keygen::IDENTITY_FILE)).unwrap(),
        intake_key: None,
        source: app::Source::Dir(data.clone()),
        state: state.clone(),
        poll: Duration::from_millis(200),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    assert_eq!(desk.open_new().unwrap(), 2);
    let ana = desk
        .state
        .add_reviewer("ana", "a long desk password", Role::Reviewer)
        .unwrap();
    let chen = desk
        .state
        .add_reviewer("chen", "a long desk password", Role::CaseManager)
        .unwrap();
    let mut details = test_support::cases::case_details(39.9600, 116.3000);
    details.first_name = "Lin".into();
    details.police_reference = Some("2026-HD-1234".into());
    let c = desk.state.create_case(&chen, "C-1", &details).unwrap();
    let photo = desk::bulletins::case_photo(&fixture("gps/DSCN0012.jpg")).unwrap();
    desk.state
        .add_case_photo(&chen, "C-1", c.version, &photo)
        .unwrap();
    let row = desk.state.sighting(&id).unwrap();
    desk.state
        .change_triage(&ana, &id, row.version, Triage::InReview, Some("看起来很像"))
        .unwrap();
    desk.state
        .add_reviewer("bo", "a long desk password", Role::Reviewer)
        .unwrap();
    // Ana's script acts as her with a token she made in the app.
    let (_, token) = desk.state.make_token(&ana, "lead script").unwrap();
    let token_file = tmp.path().join("ana.token");
    std::fs::write(&token_file, token).unwrap();
    let (_, token) = desk.state.make_token(&chen, "lead script").unwrap();
    let chen_token_file = tmp.path().join("chen.token");
    std::fs::write(&chen_token_file, token).unwrap();
    drop(desk);

    let out = tmp.path().join("for-police");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (state_s, token_s, out_s, data_s) = (s(&state), s(&token_file), s(&out), s(&data));
    let key_s = s(&org_dir.join(keygen::LEAD_KEY_FILE));
    let chen_token_s = s(&chen_token_file);
    let export_as = |who: &str, token: &str, sighting: &str, lang: &str, gate: &[&str]| {
        let mut args = vec![
            "lead",
            "--state",
            &state_s,
            "--as",
            who,
            "--token-file",
            token,
            "--case",
            "C-1",
            "--sighting",
            sighting,
            "--out",
            &out_s,
            "--lang",
            lang,
            "--data",
            &data_s,
            "--contact",
            "Beijing Child Search, duty desk +86 10 5555 0100",
            "--time-zone",
            "Asia/Shanghai",
            "--lead-key",
            &key_s,
        ];
        args.extend_from_slice(gate);
        run(&args)
    };
    let export_with = |lang: &str, gate: &[&str]| export_as("ana", &token_s, &id, lang, gate);
    let recipient = "海淀分局 王警官";
    let export = |lang: &str| export_with(lang, &["--recipient", recipient]);

    // No second reviewer confirmed the link: refused, and ana cannot override; nothing made.
    let (ok, _, err) = export("both");
    assert!(!ok && err.contains("no second reviewer confirmed"), "{err}");
    let (ok, _, err) = export_with("both", &["--override-reason", "the officer asked"]);
    assert!(!ok && err.contains("only a case manager"), "{err}");
    assert!(
        !out.exists() && !state.join("leads").exists(),
        "nothing made"
    );
    {
        let desk = sighting_desk::state::DeskState::open(&state).unwrap();
        let by = |name: &str| desk.reviewer(name).unwrap().unwrap();
        let possible = sighting_desk::state::Decision::PossibleMatch;
        desk.decide_candidate(&by("ana"), "C-1", &id, possible, Some("红外套"))
            .unwrap();
        let confirmed = sighting_desk::state::LinkReview::Confirmed;
        desk.review_link(&by("bo"), "C-1", &id, confirmed, "same coat, same age")
            .unwrap();
    }
    // When the link was proposed and confirmed, as the officer's clock reads it.
    let (proposed_at, confirmed_at) = {
        let desk = sighting_desk::state::DeskState::open(&state).unwrap();
        let d = desk.candidate_decisions("C-1").unwrap().remove(0);
        let local = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .unwrap()
                .in_tz("Asia/Shanghai")
                .unwrap()
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        (local(d.at_ms), local(d.reviewed_at_ms.unwrap()))
    };
    let (ok, printed, err) = export("both");
    assert!(ok, "{err}");
    let zip_path = std::path::PathBuf::from(printed.lines().next().unwrap());
    let name = zip_path.file_name().unwrap().to_str().unwrap().to_string();
    let today = jiff::Timestamp::now()
        .in_tz("Asia/Shanghai")
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    assert_eq!(name, format!("lead-C-1-{today}-1.zip"));

    // The signature, with the stock tool and the published key; a changed byte is refused.
    let lead_pub = s(&org_dir.join(keygen::LEAD_PUB_FILE));
    let (verified, said) = tool(&out, "minisign", &["-Vm", &name, "-p", &lead_pub]);
    assert!(verified, "{said}");
    assert!(said.contains(&format!("file:{name}")), "{said}");
    let mut bytes = std::fs::read(&zip_path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    let tampered = tmp.path().join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    std::fs::write(tampered.join(&name), &bytes).unwrap();
    std::fs::copy(
        out.join(format!("{name}.minisig")),
        tampered.join(format!("{name}.minisig")),
    )
    .unwrap();
    let (verified, said) = tool(&tampered, "minisign", &["-Vm", &name, "-p", &lead_pub]);
    assert!(!verified, "a changed package verified: {said}");

    // Unzipped, every file checks against SHA256SUMS.
    let unpacked = unzip(&tmp.path().join("unpacked"), &zip_path);
    let (ok, said) = tool(&unpacked, "sha256sum", &["-c", "--strict", "SHA256SUMS"]);
    assert!(ok, "{said}");
    for file in [
        "case-photo.jpg",
        "photo.jpg",
        "manifest.json",
        "intake-record.json",
    ] {
        assert!(said.contains(file), "{file} not listed: {said}");
    }

    // The PDF, as text: both languages, the case, local times named, no codes.
    let text = pdf_text(&unpacked, &name);
    assert!(!text.contains("No second reviewer"), "{text}");
    for words in [
        "C-1",
        "Lin",
        "2026-HD-1234",
        "(Asia/Shanghai, UTC+08:00)",
        "Chain of custody",
        "保管链",
        "https://uri.amap.com/marker?position=",
        "GCJ-02",
        "Beijing Child Search",
        "minisign -Vm",
        "sha256sum -c SHA256SUMS",
        "changed the status from “newly received”",
        "“in review”",
        "由“新收到”改为“审核中”",
        "穿红色外套",
        "[U+202E]",
        "Do not approach",
        "请勿",
        // The reviewers' assessment: who proposed the link and who confirmed it, their notes.
        "The reviewers' assessment",
        "审核人员的评估",
        "ana: proposed it as a possible match",
        "ana：提出可能相符",
        "红外套",
        "bo: confirmed the link",
        "bo：确认了关联",
        "same coat, same age",
        &proposed_at,
        &confirmed_at,
    ] {
        assert!(text.contains(words), "{words:?} not in the PDF:\n{text}");
    }
    for code in [
        "in_review",
        "lead_package",
        "forwarded_to_police",
        "→ verified",
        "possible_match",
        "from_5_to_9",
        "T06:",
        "Z ",
    ] {
        assert!(!text.contains(code), "{code:?} in the PDF:\n{text}");
    }

    // Forwarded to police, the package and its recipient in the audit log with the case.
    {
        let desk = sighting_desk::state::DeskState::open(&state).unwrap();
        assert_eq!(
            desk.sighting(&id).unwrap().triage,
            Triage::ForwardedToPolice
        );
        let lines: Vec<String> = desk.audit(Some(&id)).unwrap()[..]
            .iter()
            .rev()
            .take(2)
            .map(|e| {
                let (to, note) = (e.to.clone().unwrap_or_default(), e.note.clone());
                format!(
                    "{} {} {to} {}",
                    e.action,
                    e.case_number.clone().unwrap(),
                    note.unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                "triage C-1 forwarded_to_police ".to_string(),
                format!("lead_package C-1 {name} {recipient}"),
            ]
        );
    }

    // The next export that day is the day's second; one language only.
    let (ok, printed, err) = export("en");
    assert!(ok, "{err}");
    assert!(
        printed.contains(&format!("lead-C-1-{today}-2.zip")),
        "{printed}"
    );

    // A link no second reviewer confirmed goes out only on a case manager's written reason,
    // and the PDF says so: who proposed it and their note, that no one confirmed it, who sent
    // it anyway and why.
    {
        let desk = sighting_desk::state::DeskState::open(&state).unwrap();
        let ana = desk.reviewer("ana").unwrap().unwrap();
        let possible = sighting_desk::state::Decision::PossibleMatch;
        desk.decide_candidate(&ana, "C-1", &second, possible, Some("同样的蓝色书包"))
            .unwrap();
    }
    let to_officer = ["--recipient", recipient];
    let (ok, _, err) = export_as("ana", &token_s, &second, "both", &to_officer);
    assert!(!ok && err.contains("no second reviewer confirmed"), "{err}");
    let reason = "王警官要求提供学校附近的全部目击";
    let gate = ["--recipient", recipient, "--override-reason", reason];
    let (ok, printed, err) = export_as("chen", &chen_token_s, &second, "both", &gate);
    assert!(ok, "{err}");
    let name = format!("lead-C-1-{today}-3.zip");
    assert!(printed.contains(&name), "{printed}");
    let unpacked = unzip(&tmp.path().join("overridden"), &out.join(&name));
    let text = pdf_text(&unpacked, &name);
    for words in [
        "No second reviewer confirmed this sighting's link to the case",
        "没有第二位审核员确认本目击报告与案件的关联",
        "A case manager, chen, sent it to the",
        "案件负责人 chen 仍将其交给警方",
        "chen: sent it without a confirmed link",
        "chen：在关联未经确认时仍发送",
        reason,
        "ana: proposed it as a possible match",
        "同样的蓝色书包",
        "none has confirmed or rejected it",
        "尚无人确认或否决",
    ] {
        assert!(text.contains(words), "{words:?} not in the PDF:\n{text}");
    }
    for code in ["possible_match", "case_manager", "lead_override"] {
        assert!(!text.contains(code), "{code:?} in the PDF:\n{text}");
    }
    let desk = sighting_desk::state::DeskState::open(&state).unwrap();
    assert_eq!(
        desk.sighting(&second).unwrap().triage,
        Triage::ForwardedToPolice
    );
    let overrides: Vec<_> = desk.audit(Some(&second)).unwrap()[..]
        .iter()
        .filter(|e| e.action == "lead_override")
        .map(|e| (e.reviewer.clone().unwrap(), e.note.clone().unwrap()))
        .collect();
    assert_eq!(overrides, [("chen".to_string(), reason.to_string())]);
}

/// The package unzipped into `dir`, as the officer would.
fn unzip(dir: &Path, zip: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let (ok, said) = tool(dir, "unzip", &["-q", zip.to_str().unwrap()]);
    assert!(ok, "{said}");
    dir.to_path_buf()
}

/// The text of package `name`'s PDF, unzipped in `dir` (kept in $SIGHTING_KEEP_LEAD, to look
/// at).
fn pdf_text(dir: &Path, name: &str) -> String {
    let pdf = name.replace(".zip", ".pdf");
    let (ok, text) = tool(dir, "pdftotext", &["-layout", &pdf, "-"]);
    assert!(ok, "{text}");
    if let Some(keep) = std::env::var_os("SIGHTING_KEEP_LEAD") {
        std::fs::copy(dir.join(&pdf), Path::new(&keep).join(&pdf)).unwrap();
    }
    text
}

#[test]
fn an_organisation_without_a_lead_key_is_told_how_to_make_one() {
    let tmp = tempfile::tempdir().unwrap();
    let org = tmp.path().join("org");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    assert!(run(&["keygen", "--out", &s(&org)]).0);
    let identity = std::fs::read(org.join(keygen::IDENTITY_FILE)).unwrap();
    std::fs::remove_file(org.join(keygen::LEAD_KEY_FILE)).unwrap();
    std::fs::remove_file(org.join(keygen::LEAD_PUB_FILE)).unwrap();
    let state = tmp.path().join("desk");
    let (ok, _, err) = run(&[
        "lead",
        "--state",
        &s(&state),
        "--as",
        "ana",
        "--case",
        "C-1",
        "--sighting",
        "x",
        "--out",
        &s(&tmp.path().join("out")),
        "--contact",
        "the desk",
        "--lead-key",
        &s(&org.join(keygen::LEAD_KEY_FILE)),
    ]);
    assert!(!ok && err.contains("keygen --lead-only"), "{err}");
    let (ok, printed, err) = run(&["keygen", "--lead-only", "--out", &s(&org)]);
    assert!(ok, "{err}");
    assert!(printed.contains("lead.pub"), "{printed}");
    assert!(org.join(keygen::LEAD_PUB_FILE).is_file());
    assert_eq!(
        std::fs::read(org.join(keygen::IDENTITY_FILE)).unwrap(),
        identity,
        "the organisation's identity is untouched"
    );
    let (ok, _, err) = run(&["keygen", "--lead-only", "--out", &s(&org)]);
    assert!(!ok && err.contains("refusing to overwrite"), "{err}");
}

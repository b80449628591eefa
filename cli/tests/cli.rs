//! The `sighting` binary as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

use test_support::fixtures;

fn sighting(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sighting"))
        .args(args)
        .output()
        .unwrap()
}

fn exiftool_n(path: &Path) -> serde_json::Value {
    let out = Command::new("exiftool")
        .args(["-j", "-n", "-G1"])
        .arg(path)
        .output()
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

#[test]
fn sanitize_writes_gps_that_exiftool_reads() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixtures().join("Nikon_D70.jpg");
    let (out, up, thumb) = (
        dir.path().join("o.jpg"),
        dir.path().join("u.jpg"),
        dir.path().join("t.jpg"),
    );
    let run = sighting(&[
        "photo",
        "sanitize",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--lat",
        "-33.8567844",
        "--lon",
        "151.2152967",
        "--accuracy",
        "12",
        "--time",
        "2026-01-02T03:04:05Z",
        "--upload-copy",
        up.to_str().unwrap(),
        "--thumbnail",
        thumb.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let removed: Vec<&str> = summary["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["what"].as_str().unwrap())
        .collect();
    assert!(
        removed.contains(&"Exif") && removed.contains(&"XMP"),
        "{removed:?}"
    );
    let tags = exiftool_n(&out);
    assert!((tags["Composite:GPSLatitude"].as_f64().unwrap() + 33.856_784_4).abs() < 1e-6);
    assert!((tags["Composite:GPSLongitude"].as_f64().unwrap() - 151.215_296_7).abs() < 1e-6);
    assert_eq!(tags["GPS:GPSDateStamp"], "2026:01:02");
    assert!(tags.get("XMP-x:XMPToolkit").is_none() && tags.get("IFD0:Make").is_none());
    assert!(up.exists() && thumb.exists());
}

#[test]
fn bad_input_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jpg");
    let heic = fixtures().join("heic/IMG_5195.HEIC");
    let run = sighting(&[
        "photo",
        "sanitize",
        heic.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("HEIC photos must be converted to JPEG first"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.exists());

    let nikon = fixtures().join("Nikon_D70.jpg");
    let run = sighting(&[
        "photo",
        "sanitize",
        nikon.to_str().unwrap(),
        out.to_str().unwrap(),
        "--lat",
        "91",
        "--lon",
        "0",
    ]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("latitude 91"));
}

/// An intake server on loopback, as an organisation runs it; dropped with the runtime.
struct LoopbackIntake {
    url: String,
    keys: sighting_desk::keygen::PublicKeys,
    org: tempfile::TempDir,
    data: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

fn start_intake() -> LoopbackIntake {
    use sighting_intake::{self as intake, store::SqliteStore, Intake, IntakeConfig};
    let (org, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let keys = sighting_desk::keygen::keygen(org.path()).unwrap();
    let key = sighting_desk::keygen::read_server_key(
        &org.path().join(sighting_desk::keygen::SERVER_KEY_FILE),
    )
    .unwrap();
    let store = SqliteStore::open(data.path()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = IntakeConfig {
        bulletin_key: sighting_core::wire::parse_server_key(&keys.bulletin_key),
        ..IntakeConfig::default()
    };
    let intake = Intake::new(std::sync::Arc::new(store), key, config);
    runtime.spawn(async move { intake::serve(listener, intake).await });
    LoopbackIntake {
        url,
        keys,
        org,
        data,
        runtime,
    }
}

/// `sighting --data DATA init` for the intake's organisation, with this URL and server key.
fn init(data: &str, intake: &LoopbackIntake, url: &str, server_key: &str) -> Output {
    init_with(data, intake, url, server_key, &[])
}

/// The same, with more flags.
fn init_with(
    data: &str,
    intake: &LoopbackIntake,
    url: &str,
    server_key: &str,
    more: &[&str],
) -> Output {
    let recipient = &intake.keys.recipient;
    let mut args = vec![
        "--data",
        data,
        "init",
        "--recipient",
        recipient,
        "--intake",
        url,
        "--server-key",
        server_key,
    ];
    args.extend_from_slice(more);
    sighting(&args)
}

fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn device_commands_capture_queue_sync_and_wipe() {
    let intake = start_intake();
    let device = tempfile::tempdir().unwrap();
    let data = device.path().join("sighting");
    let data = data.to_str().unwrap();
    let server_key = &intake.keys.server_key;

    // A wrong server key is refused before anything is written.
    let bad = init(data, &intake, &intake.url, "not-a-key");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--server-key"));
    assert!(!Path::new(data).exists());
    // So is plain http to anything but loopback.
    let remote = init(data, &intake, "http://intake.example.org", server_key);
    assert!(!remote.status.success());
    assert!(!Path::new(data).exists());

    assert_ok(&init(data, &intake, &intake.url, server_key));
    let photo = fixtures().join("Nikon_D70.jpg");
    let captured = assert_ok(&sighting(&[
        "--data",
        data,
        "capture",
        photo.to_str().unwrap(),
        "--lat",
        "-1.2921",
        "--lon",
        "36.8219",
        "--accuracy",
        "8",
        "--note",
        "by the market gate",
    ]));
    assert!(captured.contains("waiting to be sent"), "{captured}");
    // A bad photo fails with a reason and loses nothing already queued.
    let heic = fixtures().join("heic/IMG_5195.HEIC");
    let refused = sighting(&["--data", data, "capture", heic.to_str().unwrap()]);
    assert!(!refused.status.success());
    let draft = assert_ok(&sighting(&[
        "--data",
        data,
        "capture",
        photo.to_str().unwrap(),
        "--draft",
    ]));
    assert!(draft.contains("location none ("), "{draft}");

    let queue = |data: &str| -> Vec<serde_json::Value> {
        serde_json::from_str(&assert_ok(&sighting(&["--data", data, "queue", "--json"]))).unwrap()
    };
    let before = queue(data);
    let states: Vec<&str> = before
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        states.contains(&"sealed") && states.contains(&"draft"),
        "{states:?}"
    );

    let synced = assert_ok(&sighting(&["--data", data, "sync", "--budget-secs", "20"]));
    assert!(synced.starts_with("1 delivered"), "{synced}");
    let after = queue(data);
    let sent = after.iter().find(|r| r["state"] == "delivered").unwrap();
    // The intake server holds exactly that report, as ciphertext.
    let stored = intake
        .data
        .path()
        .join("reports")
        .join(format!("{}.age", sent["id"].as_str().unwrap()));
    assert!(std::fs::read(&stored)
        .unwrap()
        .starts_with(b"age-encryption.org/v1\n"));
    // A second sync sends nothing more.
    let again = assert_ok(&sighting(&["--data", data, "sync"]));
    assert!(again.starts_with("0 delivered"), "{again}");

    assert_ok(&sighting(&["--data", data, "wipe", "--yes"]));
    assert!(!Path::new(data).exists());
    assert!(!sighting(&["--data", data, "queue"]).status.success());
}

#[test]
fn bulletins_around_the_device_and_a_capture_linked_to_a_case() {
    let intake = start_intake();
    let device = tempfile::tempdir().unwrap();
    let data = device.path().join("sighting");
    let data = data.to_str().unwrap();

    // The organisation publishes two Dutch cases and one in Beijing.
    let (desk, _) = test_support::cases::desk_with_cases(
        &device.path().join("desk"),
        &[(52.37, 4.90), (52.09, 5.12), (39.92, 116.44)],
    );
    let key = sighting_desk::keygen::read_bulletin_key(
        &intake
            .org
            .path()
            .join(sighting_desk::keygen::BULLETIN_KEY_FILE),
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let feed =
        sighting_desk::bulletins::build(&desk, &key, 1, now, time::Duration::days(14)).unwrap();
    let status = intake
        .runtime
        .block_on(feed.push(&test_support::client(), &intake.url, &key))
        .unwrap();
    assert!(status.is_success(), "{status}");

    let init = init(data, &intake, &intake.url, &intake.keys.server_key);
    assert_ok(&init);
    let no_key = sighting(&["--data", data, "bulletins"]);
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("--bulletin-key"));
    let bulletin_key = [
        "--update",
        "--bulletin-key",
        intake.keys.bulletin_key.as_str(),
    ];
    assert_ok(&init_with(
        data,
        &intake,
        &intake.url,
        &intake.keys.server_key,
        &bulletin_key,
    ));

    let list = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--data", data, "bulletins", "--json"];
        all.extend_from_slice(args);
        let out = assert_ok(&sighting(&all));
        serde_json::from_str(&out[out.find('{').unwrap()..]).unwrap()
    };
    let fetched = list(&["--near", "52.36,4.86"]);
    assert_eq!(fetched["status"]["state"], "current");
    let numbers: Vec<&str> = fetched["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["C-0", "C-1"],
        "nearest first, Beijing not fetched"
    );
    assert_eq!(fetched["cases"][0]["photos"], 1);
    assert!(fetched["safety_line"]["zh"].as_str().unwrap().len() > 10);
    // Offline, the same list.
    assert_eq!(
        list(&["--offline", "--near", "52.36,4.86"])["cases"],
        fetched["cases"]
    );
    // The list carries no photo: opening a case fetches it, the bytes the desk published.
    let out = device.path().join("c0.jpg");
    let opened = assert_ok(&sighting(&[
        "--data",
        data,
        "bulletins",
        "--photo",
        "C-0",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(opened.contains("photo of case C-0"), "{opened}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        desk.case_photos("C-0").unwrap()[0]
    );
    let beijing = sighting(&[
        "--data",
        data,
        "bulletins",
        "--photo",
        "C-2",
        "--out",
        "x.jpg",
    ]);
    assert!(!beijing.status.success());
    assert!(
        String::from_utf8_lossy(&beijing.stderr).contains("no photo 0 in the list held"),
        "{beijing:?}"
    );

    // "This may be C-0", with what the reporter saw; a word off the lists is refused.
    let photo = fixtures().join("Nikon_D70.jpg");
    let photo = photo.to_str().unwrap();
    let linked = assert_ok(&sighting(&[
        "--data",
        data,
        "capture",
        photo,
        "--case",
        "C-0",
        "--sex",
        "girl",
        "--age-band",
        "5_to_9",
        "--injury",
        "no",
        "--with-adults",
        "one",
        "--activity",
        "begging",
    ]));
    assert!(linked.contains("waiting to be sent"), "{linked}");
    for bad in [["--sex", "robot"], ["--case", "C 0"], ["--injury", "maybe"]] {
        let mut args = vec!["--data", data, "capture", photo];
        args.extend_from_slice(&bad);
        let out = sighting(&args);
        assert!(!out.status.success(), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(bad[0]),
            "{bad:?}"
        );
    }
    let synced = assert_ok(&sighting(&["--data", data, "sync"]));
    assert!(
        synced.contains("missing-children list version 1: 2 cases around you"),
        "{synced}"
    );
}

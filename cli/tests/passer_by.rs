//! The passer-by's path with the `sighting` binary: what a reporter meets on a first try, from
//! a gallery photo to a wipe.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use test_support::fixtures;

fn sighting(args: &[&str]) -> Output {
    sighting_with_stdin(args, "")
}

/// The binary with `stdin` as its input (empty: no one to answer).
fn sighting_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sighting"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An organisation's keys and a device set up for it, with an intake URL nothing listens on.
struct Device {
    _dir: tempfile::TempDir,
    org: PathBuf,
    data: String,
    keys: sighting_desk::keygen::PublicKeys,
}

impl Device {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let org = dir.path().join("org");
        let keys = sighting_desk::keygen::keygen(&org).unwrap();
        let data = dir.path().join("sighting").to_str().unwrap().to_string();
        let device = Self {
            _dir: dir,
            org,
            data,
            keys,
        };
        assert_ok(&device.run(&[
            "init",
            "--recipient",
            &device.keys.recipient,
            "--intake",
            "http://127.0.0.1:9",
            "--server-key",
            &device.keys.server_key,
        ]));
        device
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--data", &self.data];
        all.extend_from_slice(args);
        sighting(&all)
    }

    fn queue(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&assert_ok(&self.run(&["queue", "--json"]))).unwrap()
    }
}

fn photo() -> String {
    fixtures()
        .join("Nikon_D70.jpg")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_note_is_limited_in_characters_and_a_refusal_leaves_no_draft() {
    let device = Device::new();
    let long = "见".repeat(1760);
    let refused = device.run(&["capture", &photo(), "--note", &long]);
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert!(
        err.contains("the note is 1760 characters; the limit is 1000"),
        "{err}"
    );
    assert!(device.queue().is_empty(), "no orphan draft");
    // 1,000 Chinese characters (3,000 bytes) are a note.
    let fits = "见".repeat(1000);
    assert_ok(&device.run(&[
        "capture",
        &photo(),
        "--note",
        &fits,
        "--lat",
        "1",
        "--lon",
        "1",
    ]));

    // A draft can be thrown away.
    let draft = assert_ok(&device.run(&["capture", &photo(), "--draft"]));
    let id = draft
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':');
    assert_eq!(device.queue().len(), 2);
    let out = assert_ok(&device.run(&["discard", id]));
    assert!(out.contains(id), "{out}");
    let left = device.queue();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["state"], "sealed");
}

#[test]
fn init_keeps_an_existing_device_and_takes_keys_from_files() {
    let device = Device::new();
    let server_pub = device.org.join(sighting_desk::keygen::SERVER_PUB_FILE);
    let bulletin_pub = device.org.join(sighting_desk::keygen::BULLETIN_PUB_FILE);
    assert_ok(&device.run(&["capture", &photo(), "--lat", "1", "--lon", "1"]));
    // Setting it up again is refused: the report and the keys stay.
    let again = device.run(&[
        "init",
        "--recipient",
        &device.keys.recipient,
        "--intake",
        "http://127.0.0.1:9",
        "--server-key",
        server_pub.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("init --update"),
        "{}",
        stderr(&again)
    );
    assert_eq!(device.queue().len(), 1);
    // Updating adds the bulletin key, from its file; a later update keeps it.
    assert_ok(&device.run(&[
        "init",
        "--update",
        "--bulletin-key",
        bulletin_pub.to_str().unwrap(),
    ]));
    assert_ok(&device.run(&[
        "init",
        "--update",
        "--server-key",
        server_pub.to_str().unwrap(),
    ]));
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(&device.data).join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["bulletin_key"], device.keys.bulletin_key);
    assert_eq!(config["server_key"], device.keys.server_key);
    assert_eq!(device.queue().len(), 1);
    // A file that holds no key is said to be that.
    let recipient = device.org.join(sighting_desk::keygen::RECIPIENT_FILE);
    let bad = device.run(&[
        "init",
        "--update",
        "--server-key",
        recipient.to_str().unwrap(),
    ]);
    assert!(
        stderr(&bad).contains("does not hold a base64 Ed25519"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn queue_shows_time_note_case_and_state() {
    let device = Device::new();
    assert_ok(&device.run(&[
        "capture",
        &photo(),
        "--lat",
        "1",
        "--lon",
        "1",
        "--case",
        "C-7",
        "--note",
        "a girl in a red coat by the north gate of the station, with a man",
    ]));
    let text = assert_ok(&device.run(&["queue"]));
    let line = text.lines().next().unwrap();
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert!(line.starts_with(&today), "{line}");
    assert!(line.contains(" sealed "), "{line}");
    assert!(line.contains("case C-7"), "{line}");
    assert!(
        line.contains("\"a girl in a red coat by the north gate o…\""),
        "{line}"
    );
    let json = device.queue();
    assert_eq!(json[0]["case_number"], "C-7");
    assert!(json[0]["created_at"].as_str().unwrap().starts_with(&today));
}

#[test]
fn sync_fails_while_a_report_is_not_delivered() {
    let device = Device::new();
    assert_ok(&device.run(&["capture", &photo(), "--lat", "1", "--lon", "1"]));
    let out = device.run(&["sync", "--budget-secs", "5"]);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr(&out).contains("1 report not delivered yet"),
        "{}",
        stderr(&out)
    );
    assert_eq!(device.queue()[0]["state"], "sealed");
}

#[test]
fn wipe_says_what_it_destroys_and_asks() {
    let device = Device::new();
    assert_ok(&device.run(&["capture", &photo(), "--lat", "1", "--lon", "1"]));
    assert_ok(&device.run(&["capture", &photo(), "--draft"]));
    // No one to answer: nothing is wiped.
    let unanswered = device.run(&["wipe"]);
    assert!(!unanswered.status.success());
    let err = stderr(&unanswered);
    assert!(
        err.contains("This destroys 1 report not yet delivered and 1 draft,"),
        "{err}"
    );
    assert!(err.contains("--yes"), "{err}");
    let no = sighting_with_stdin(&["--data", &device.data, "wipe"], "no\n");
    assert!(!no.status.success());
    assert_eq!(device.queue().len(), 2);
    // "yes" at the question, or --yes.
    let yes = sighting_with_stdin(&["--data", &device.data, "wipe"], "yes\n");
    assert!(assert_ok(&yes).contains("destroyed 1 report not yet delivered"));
    assert!(!Path::new(&device.data).exists());
    let other = Device::new();
    assert_ok(&other.run(&["wipe", "--yes"]));
    assert!(!Path::new(&other.data).exists());
}

#[test]
fn the_data_dir_is_private() {
    let device = Device::new();
    assert_ok(&device.run(&[
        "capture",
        &photo(),
        "--lat",
        "1",
        "--lon",
        "1",
        "--note",
        "x",
    ]));
    assert_ok(&device.run(&["capture", &photo(), "--draft"]));
    let mut stack = vec![PathBuf::from(&device.data)];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    assert!(files >= 6, "{files}");
}

#[test]
fn a_capture_without_location_or_with_an_unknown_case_warns_and_keeps_it() {
    let device = Device::new();
    let out = assert_ok(&device.run(&["capture", &photo(), "--case", "C-404"]));
    assert!(out.contains("waiting to be sent"), "{out}");
    let ran = device.run(&["capture", &photo(), "--case", "C-404"]);
    let err = stderr(&ran);
    assert!(err.contains("warning: no location (no_fix)"), "{err}");
    assert!(
        err.contains("warning: case C-404 is not in the missing-children list"),
        "{err}"
    );
    assert_eq!(device.queue().len(), 2);
    // With a place and no case: no warning.
    let quiet = device.run(&["capture", &photo(), "--lat", "1", "--lon", "1"]);
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn errors_are_said_once_and_choices_listed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jpg");
    let out = out.to_str().unwrap();
    let lat = sighting(&[
        "photo",
        "sanitize",
        &photo(),
        out,
        "--lat",
        "139.9",
        "--lon",
        "1",
    ]);
    let err = stderr(&lat);
    assert_eq!(err.matches("latitude 139.9").count(), 1, "{err}");
    let missing = sighting(&["photo", "sanitize", "/nonexistent/p.jpg", out]);
    let err = stderr(&missing);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("/nonexistent/p.jpg"), "{err}");

    let device = Device::new();
    let female = device.run(&["capture", &photo(), "--sex", "female"]);
    let err = stderr(&female);
    assert!(
        err.contains("\"female\" is not one of: boy, girl, unknown"),
        "{err}"
    );
    assert!(!err.contains("unknown variant"), "{err}");
}

/// A gallery file made from a fixture with `convert`, then given metadata with exiftool.
fn gallery_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let made = Command::new("convert")
        .arg(fixtures().join("Canon_40D.jpg"))
        .args(["-resize", "640x480"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let tagged = Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            "-XMP-dc:Creator=Reporter Name",
            "-EXIF:Artist=Reporter Name",
            "-EXIF:GPSLatitude=39.9",
            "-EXIF:GPSLatitudeRef=N",
            "-EXIF:GPSLongitude=116.4",
            "-EXIF:GPSLongitudeRef=E",
        ])
        .args(
            name.ends_with(".png")
                .then_some("-PNG:Comment=reporter's phone number"),
        )
        .arg(&path)
        .status()
        .unwrap();
    assert!(tagged.success());
    path
}

fn exiftool(path: &Path) -> serde_json::Value {
    let out = Command::new("exiftool")
        .args(["-j", "-G1", "-a"])
        .arg(path)
        .output()
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

#[test]
fn png_and_webp_from_the_gallery_keep_only_their_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::new();
    for name in ["screenshot.png", "repost.webp"] {
        let input = gallery_file(dir.path(), name);
        let before = exiftool(&input).to_string();
        assert!(before.contains("Reporter Name"), "{before}");
        let (out, up) = (dir.path().join("o.jpg"), dir.path().join("u.jpg"));
        let ran = assert_ok(&sighting(&[
            "photo",
            "sanitize",
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            "--upload-copy",
            up.to_str().unwrap(),
            "--json",
        ]));
        let summary: serde_json::Value = serde_json::from_str(&ran).unwrap();
        assert_eq!(
            (summary["width"].as_u64(), summary["height"].as_u64()),
            (Some(640), Some(435))
        );
        let removed = summary["removed"].to_string();
        assert!(
            removed.contains("Exif") && removed.contains("XMP"),
            "{removed}"
        );
        for written in [&out, &up] {
            let tags = exiftool(written);
            let text = tags.to_string();
            assert_eq!(tags["File:FileType"], "JPEG", "{text}");
            for gone in ["Reporter", "phone number", "GPSLatitude", "XMP-"] {
                assert!(!text.contains(gone), "{gone} in {name}: {text}");
            }
        }
        let captured = assert_ok(&device.run(&[
            "capture",
            input.to_str().unwrap(),
            "--lat",
            "1",
            "--lon",
            "1",
        ]));
        assert!(captured.contains("640×435"), "{captured}");
    }
    // HEIC: converted by the phone apps; the CLI says so.
    let heic = fixtures().join("heic/IMG_5195.HEIC");
    let refused = device.run(&["capture", heic.to_str().unwrap()]);
    assert!(
        stderr(&refused).contains("must be converted to JPEG"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(device.queue().len(), 2);
}

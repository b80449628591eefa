//! The README's case commands (section "Missing-child cases and bulletins") run exactly as
//! printed, in a shell, against the real binary: the case manager's passphrase file made as
//! shown proves `--as chen`. The intake and the push (`serve`, `bulletins publish`) are left to
//! `case_cli.rs`, which runs them against a server on loopback.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sighting-server");

/// The README's first `sh` block after `heading`, one command a line (continuations joined,
/// comments dropped).
fn commands_after(heading: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let section = &readme[readme.find(heading).expect("the section")..];
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    block
        .replace("\\\n", " ")
        .lines()
        .map(|l| {
            l.split("   #")
                .next()
                .unwrap()
                .split("  # ")
                .next()
                .unwrap()
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_readmes_case_commands_work_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        test_support::fixtures().join("gps/DSCN0021.jpg"),
        tmp.path().join("lin.jpg"),
    )
    .unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let commands = commands_after("## Missing-child cases and bulletins");
    let mut ran = 0;
    for command in &commands {
        // The intake and the push need a server: case_cli.rs runs them on loopback.
        if command.starts_with("sighting-server serve") || command.contains("bulletins publish") {
            continue;
        }
        let out = Command::new("sh")
            .args(["-c", command])
            .current_dir(tmp.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert!(
            out.status.success(),
            "{command}\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        ran += 1;
        if command.contains(" publish ") {
            assert!(text(&out.stdout).contains("\"publication\": \"published\""));
        }
    }
    assert_eq!(ran, 7, "{commands:#?}");
    let mode = std::fs::metadata(tmp.path().join("chen.pass")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        mode.permissions().mode() & 0o077,
        0,
        "the passphrase file is chen's alone"
    );
    // Without the passphrase file, the same command is refused.
    let refused = Command::new(BIN)
        .args(["case", "--state", "desk/", "--as", "chen", "list"])
        .current_dir(tmp.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

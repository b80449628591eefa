//! Our age encryption against the real `age` CLI (Debian package `age`): it must open every sealed
//! report, and refuse every tampered or truncated one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ring::rand::{SecureRandom, SystemRandom};
use sighting_core::seal::{self, age, BundleFile, Recipient};

use test_support as support;

struct Identity {
    file: PathBuf,
    recipient: Recipient,
}

fn keygen(dir: &Path, name: &str) -> Identity {
    let file = dir.join(name);
    let recipient = support::age_keygen(&file);
    Identity { file, recipient }
}

fn age_decrypt(identity: &Path, sealed: &[u8]) -> Output {
    let mut child = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let sealed = sealed.to_vec();
    // Write on another thread: age streams its output while we feed it.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&sealed);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    SystemRandom::new().fill(&mut v).unwrap();
    v
}

fn encrypt(recipients: &[Recipient], payload: &[u8]) -> Vec<u8> {
    let mut w = age::encrypt(recipients, Vec::new()).unwrap();
    // Uneven writes, so chunk boundaries never line up with write boundaries.
    for piece in payload.chunks(7919) {
        w.write_all(piece).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn the_age_cli_opens_every_size_for_one_and_three_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<Identity> = (0..3)
        .map(|i| keygen(dir.path(), &format!("id{i}.txt")))
        .collect();
    for size in [0, 1, 65535, 65536, 65537, 5_000_000] {
        let payload = random_bytes(size);
        for count in [1, 3] {
            let recipients: Vec<Recipient> =
                ids[..count].iter().map(|i| i.recipient.clone()).collect();
            let sealed = encrypt(&recipients, &payload);
            for id in &ids[..count] {
                let out = age_decrypt(&id.file, &sealed);
                assert!(
                    out.status.success(),
                    "size {size}, {count} recipients: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(out.stdout == payload, "size {size}: payload differs");
            }
        }
    }
}

#[test]
fn a_report_for_one_organisation_is_closed_to_another() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (
        keygen(dir.path(), "ours.txt"),
        keygen(dir.path(), "theirs.txt"),
    );
    let sealed = encrypt(&[ours.recipient], b"sighting");
    assert!(!age_decrypt(&theirs.file, &sealed).status.success());
}

#[test]
fn a_sealed_bundle_untars_with_age_and_tar() {
    let dir = tempfile::tempdir().unwrap();
    let id = keygen(dir.path(), "org.txt");
    let manifest = br#"{"schema":"sighting.report/1"}"#;
    let photo = random_bytes(300_000);
    let files = vec![
        BundleFile::bytes("manifest.json", manifest),
        BundleFile::bytes("photo.jpg", &photo),
    ];
    let sealed = seal::seal(&[id.recipient], files, Vec::new()).unwrap();
    let report = dir.path().join("report.age");
    std::fs::write(&report, &sealed).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    // The exact pipeline the design promises: age -d -i org.key report.age | tar x
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i {} {} | tar x -C {}",
            id.file.display(),
            report.display(),
            out_dir.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read(out_dir.join("manifest.json")).unwrap(),
        manifest
    );
    assert_eq!(std::fs::read(out_dir.join("photo.jpg")).unwrap(), photo);
}

/// Where each part of a sealed file is: header end (after the MAC line), payload chunks.
fn header_len(sealed: &[u8]) -> usize {
    let mac = sealed.windows(4).position(|w| w == b"--- ").unwrap();
    mac + sealed[mac..].iter().position(|&b| b == b'\n').unwrap() + 1
}

#[test]
fn tampering_anywhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let id = keygen(dir.path(), "org.txt");
    let payload = random_bytes(3 * 65536 + 100); // four chunks
    let sealed = encrypt(std::slice::from_ref(&id.recipient), &payload);
    assert!(age_decrypt(&id.file, &sealed).status.success());
    let header = header_len(&sealed);
    let chunk = 65536 + 16;
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let flip = |at: usize| {
        let mut t = sealed.clone();
        t[at] ^= 0x01;
        t
    };
    // A character of the stanza body (still base64, different key material).
    let stanza = sealed.windows(10).position(|w| w == b"-> X25519 ").unwrap();
    let body = stanza + sealed[stanza..].iter().position(|&b| b == b'\n').unwrap() + 3;
    let mut t = sealed.clone();
    t[body] = if t[body] == b'A' { b'B' } else { b'A' };
    cases.push(("stanza body".into(), t));
    let mut t = sealed.clone();
    t[header - 3] = if t[header - 3] == b'A' { b'B' } else { b'A' };
    cases.push(("header MAC".into(), t));
    cases.push(("payload nonce".into(), flip(header + 3)));
    for c in 0..4 {
        cases.push((format!("chunk {c}"), flip(header + 16 + c * chunk + 10)));
    }
    cases.push((
        "truncated mid-chunk".into(),
        sealed[..sealed.len() - 10].to_vec(),
    ));
    cases.push((
        "last chunk dropped".into(),
        sealed[..header + 16 + 3 * chunk].to_vec(),
    ));
    cases.push(("header only".into(), sealed[..header].to_vec()));
    for (what, tampered) in cases {
        let out = age_decrypt(&id.file, &tampered);
        assert!(
            !out.status.success(),
            "age accepted a file with a tampered {what}"
        );
    }
}

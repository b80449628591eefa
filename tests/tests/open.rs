//! Phone to desk: reports sealed by the core (ring) are opened by the desk (age crate), and every
//! kind of bad report gets its own reason.

use std::path::Path;
use std::process::Command;

use sighting_core::capture::{capture, CaptureOptions, CaptureRequest, Location, LocationMissing};
use sighting_core::keys::{DeviceKeys, FileKeyStore};
use sighting_core::report::{CaptureClock, Details, Manifest};
use sighting_core::seal::{self, BundleFile, Recipient};
use sighting_desk::keygen;
use sighting_desk::{self as desk, OpenError};
use uuid::Uuid;

use support::fixture;
use test_support as support;

struct Phone {
    keys: DeviceKeys,
    _dir: tempfile::TempDir,
}

fn phone() -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let store = FileKeyStore::open(&dir.path().join("store.key")).unwrap();
    Phone {
        keys: DeviceKeys::open_or_create(&dir.path().join("keys"), &store).unwrap(),
        _dir: dir,
    }
}

/// A real report: a fixture photo through capture, a signed manifest, the upload copy.
fn report(phone: &Phone, photo: &str) -> (Uuid, Vec<u8>, Vec<u8>) {
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let captured = capture(fixture(photo), &request, &CaptureOptions::default()).unwrap();
    let id = Uuid::now_v7();
    let details = Details {
        note: Some("near the market".into()),
        ..Default::default()
    };
    let manifest = Manifest::new(
        id,
        &captured,
        CaptureClock::now().unwrap(),
        details,
        &phone.keys.device.public_key(),
    )
    .unwrap();
    (id, manifest.to_json().unwrap(), captured.upload_copy)
}

fn org(dir: &Path) -> (Vec<age::x25519::Identity>, Recipient) {
    let keys = keygen::keygen(dir).unwrap();
    (
        desk::read_identities(&dir.join(keygen::IDENTITY_FILE)).unwrap(),
        keys.recipient.parse().unwrap(),
    )
}

#[test]
fn good_and_bad_reports_each_get_the_right_status() {
    let tmp = tempfile::tempdir().unwrap();
    let (identities, recipient) = org(&tmp.path().join("org"));
    let ours = std::slice::from_ref(&recipient);
    let (_, other_recipient) = org(&tmp.path().join("other-org"));
    let data = tmp.path().join("data/reports");
    std::fs::create_dir_all(&data).unwrap();
    let phone = phone();
    let put =
        |name: &str, bytes: &[u8]| std::fs::write(data.join(format!("{name}.age")), bytes).unwrap();

    let (id, manifest, photo) = report(&phone, "gps/DSCN0010.jpg");
    let (good, envelope) = seal::seal_report(
        id,
        &manifest,
        &photo,
        None,
        &phone.keys.device,
        ours,
        Vec::new(),
    )
    .unwrap();
    assert_eq!(envelope.ciphertext_bytes, good.len() as u64);
    // The intake files a report under the id it received: `reports/<id>.age`.
    put(&id.to_string(), &good);

    let mut tampered = good.clone();
    let at = tampered.len() - 100;
    tampered[at] ^= 0x40;
    put("2-tampered", &tampered);

    // A valid signature over the manifest, but another photo in the bundle.
    let (_, _, other_photo) = report(&phone, "Canon_40D.jpg");
    let sig = phone.keys.device.sign_manifest(&manifest);
    let swapped = seal_parts(ours, &manifest, &sig, &other_photo);
    put("3-swapped-photo", &swapped);

    // The manifest edited after signing (the note changed).
    let edited = String::from_utf8(manifest.clone())
        .unwrap()
        .replace("near the market", "near the harbour");
    let edited_bundle = seal_parts(ours, edited.as_bytes(), &sig, &photo);
    put("4-edited-manifest", &edited_bundle);

    let (other_id, other_manifest, other) = report(&phone, "Nikon_D70.jpg");
    let (for_others, _) = seal::seal_report(
        other_id,
        &other_manifest,
        &other,
        None,
        &phone.keys.device,
        &[other_recipient],
        Vec::new(),
    )
    .unwrap();
    put("5-other-org", &for_others);
    put("6-truncated", &good[..good.len() / 2]);

    let out = tmp.path().join("desk");
    let outcomes = desk::open_dir(&identities, &tmp.path().join("data"), &out).unwrap();
    let status: Vec<(String, String)> = outcomes
        .iter()
        .map(|o| {
            let name = o.file.file_stem().unwrap().to_string_lossy().into_owned();
            let name = if name == id.to_string() {
                "1-good".to_string()
            } else {
                name
            };
            let status = match &o.result {
                Ok(_) => "verified".to_string(),
                Err(OpenError::NotForUs) => "not-for-us".into(),
                Err(OpenError::Decrypt(_)) => "corrupt".into(),
                Err(OpenError::Signature) => "bad-signature".into(),
                Err(OpenError::PhotoHash) => "photo-mismatch".into(),
                Err(e) => format!("other: {e}"),
            };
            (name, status)
        })
        .collect();
    let mut status = status;
    status.sort();
    let expected = [
        ("1-good", "verified"),
        ("2-tampered", "corrupt"),
        ("3-swapped-photo", "photo-mismatch"),
        ("4-edited-manifest", "bad-signature"),
        ("5-other-org", "not-for-us"),
        ("6-truncated", "corrupt"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(status, expected);
    let opened = out.join("reports").join(id.to_string());
    assert_eq!(std::fs::read(opened.join("photo.jpg")).unwrap(), photo);
    assert_eq!(
        std::fs::read(opened.join("manifest.json")).unwrap(),
        manifest
    );
}

#[test]
fn the_desk_opens_a_bundle_the_age_cli_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let (identities, recipient) = org(&tmp.path().join("org"));
    let phone = phone();
    let (_, manifest, photo) = report(&phone, "Canon_40D.jpg");
    let bundle = tmp.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    std::fs::write(bundle.join("manifest.json"), &manifest).unwrap();
    std::fs::write(
        bundle.join("manifest.sig"),
        phone.keys.device.sign_manifest(&manifest),
    )
    .unwrap();
    std::fs::write(bundle.join("photo.jpg"), &photo).unwrap();
    let sealed = tmp.path().join("report.age");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar c --format=ustar -C {} manifest.json manifest.sig photo.jpg | age -r {recipient} > {}",
            bundle.display(),
            sealed.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let opened = desk::open_report(&identities, std::fs::File::open(&sealed).unwrap()).unwrap();
    assert_eq!(opened.photo, photo);
}

#[test]
fn keygen_writes_private_files_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let keys = keygen::keygen(tmp.path()).unwrap();
    assert!(keys.recipient.starts_with("age1"));
    for (file, mode) in [
        (keygen::IDENTITY_FILE, 0o600),
        (keygen::SERVER_KEY_FILE, 0o600),
        (keygen::RECIPIENT_FILE, 0o644),
    ] {
        let meta = std::fs::metadata(tmp.path().join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    // The age CLI accepts the identity file as it is.
    let out = Command::new("age-keygen")
        .arg("-y")
        .arg(tmp.path().join(keygen::IDENTITY_FILE))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), keys.recipient);
    assert!(keygen::keygen(tmp.path()).is_err());
}

#[test]
fn the_desk_refuses_every_tampered_part() {
    let tmp = tempfile::tempdir().unwrap();
    let (identities, recipient) = org(&tmp.path().join("org"));
    let phone = phone();
    let (id, manifest, photo) = report(&phone, "gps/DSCN0010.jpg");
    let sealed = seal_for(&phone, id, &manifest, &photo, recipient);
    let mac = sealed.windows(4).position(|w| w == b"--- ").unwrap();
    let header = mac + sealed[mac..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let chunks = (sealed.len() - header - 16).div_ceil(65536 + 16);
    assert!(chunks >= 2, "the photo spans several chunks");
    let mut cases = vec![("header MAC", header - 3), ("payload nonce", header + 3)];
    let stanza = sealed.windows(10).position(|w| w == b"-> X25519 ").unwrap();
    cases.push(("stanza", stanza + 14));
    for c in 0..chunks {
        cases.push(("chunk", header + 16 + c * (65536 + 16) + 5));
    }
    for (what, at) in cases {
        let mut t = sealed.clone();
        t[at] = if t[at] == b'A' { b'B' } else { t[at] ^ 0x01 };
        let err = desk::open_report(&identities, &t[..]).err();
        assert!(
            matches!(err, Some(OpenError::Decrypt(_) | OpenError::NotForUs)),
            "{what} at {at}: {err:?}"
        );
    }
    assert!(desk::open_report(&identities, &sealed[..sealed.len() - 1]).is_err());
    assert!(desk::open_report(&identities, &sealed[..]).is_ok());
}

/// A stranger's report whose age header never ends (4 MiB of well-formed stanzas): refused at
/// once, where the `age` crate alone spent over 5 minutes on it (found by fuzzing).
#[test]
fn an_endless_age_header_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (identities, _) = org(&tmp.path().join("org"));
    let stanza = format!("-> X25519 {}\n{}\n", "A".repeat(43), "A".repeat(43));
    let mut endless = b"age-encryption.org/v1\n".to_vec();
    while endless.len() < 4 << 20 {
        endless.extend_from_slice(stanza.as_bytes());
    }
    let err = desk::open_report(&identities, &endless[..]).err();
    assert!(
        matches!(&err, Some(OpenError::Decrypt(why)) if why.contains("end of the age header")),
        "{err:?}"
    );
}

/// A hostile reporter signs (with their own key) a manifest that reuses a victim's report id,
/// and claims a perceptual hash of their choosing.
#[test]
fn a_forged_report_cannot_replace_another_or_choose_its_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (identities, recipient) = org(&tmp.path().join("org"));
    let ours = std::slice::from_ref(&recipient);
    let (victim, attacker) = (phone(), phone());
    let seal_as = |phone: &Phone, id: Uuid, manifest: &[u8], photo: &[u8]| {
        let sig = phone.keys.device.sign_manifest(manifest);
        (id, seal_parts(ours, manifest, &sig, photo))
    };
    let (id, manifest, photo) = report(&victim, "gps/DSCN0010.jpg");
    let (_, good) = seal_as(&victim, id, &manifest, &photo);
    // The attacker's manifest: the victim's id, another photo, and a hash picked to join (or
    // split) a cluster.
    let (_, attacker_manifest, attacker_photo) = report(&attacker, "Nikon_D70.jpg");
    let forged_manifest: serde_json::Value = serde_json::from_slice(&attacker_manifest).unwrap();
    let mut forged_manifest = forged_manifest;
    forged_manifest["id"] = serde_json::json!(id);
    let forged_manifest = serde_json::to_vec(&forged_manifest).unwrap();
    let (_, forged) = seal_as(&attacker, id, &forged_manifest, &attacker_photo);

    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("reports")).unwrap();
    std::fs::write(data.join(format!("reports/{id}.age")), &good).unwrap();
    // Received under another report id (the one its envelope signed).
    let other = Uuid::new_v4();
    std::fs::write(data.join(format!("reports/{other}.age")), &forged).unwrap();
    let out = tmp.path().join("desk");
    let outcomes = desk::open_dir(&identities, &data, &out).unwrap();
    let failed: Vec<_> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .collect();
    assert!(
        matches!(failed.as_slice(), [OpenError::IdMismatch { .. }]),
        "{failed:?}"
    );
    // The same forgery filed under the victim's id later (another intake's folder, copied in).
    let later = tmp.path().join("later");
    std::fs::create_dir_all(later.join("intake-2/reports")).unwrap();
    std::fs::write(later.join(format!("intake-2/reports/{id}.age")), &forged).unwrap();
    let outcomes = desk::open_dir(&identities, &later, &out).unwrap();
    assert!(matches!(outcomes[0].result, Err(OpenError::Duplicate(_))));
    let kept = out.join("reports").join(id.to_string());
    assert_eq!(std::fs::read(kept.join("photo.jpg")).unwrap(), photo);
    assert_eq!(std::fs::read(kept.join("manifest.json")).unwrap(), manifest);

    // A manifest claiming another perceptual hash: the desk uses the photo's own.
    let (lying_id, lying, lying_photo) = report(&victim, "gps/DSCN0010.jpg");
    let lying = String::from_utf8(lying).unwrap();
    let claimed: Manifest = Manifest::from_json(lying.as_bytes()).unwrap();
    let lying = lying.replace(&claimed.perceptual_hash, "ffffffffffffffff");
    let (_, sealed) = seal_as(&victim, lying_id, lying.as_bytes(), &lying_photo);
    let third = tmp.path().join("third");
    std::fs::create_dir_all(third.join("reports")).unwrap();
    std::fs::write(third.join(format!("reports/{lying_id}.age")), &sealed).unwrap();
    desk::open_dir(&identities, &third, &out).unwrap();
    let sightings = desk::sightings::load(&out).unwrap();
    let hash = |id: Uuid| {
        sightings
            .iter()
            .find(|s| s.id == id.to_string() && s.status == "verified")
            .and_then(|s| s.perceptual_hash.clone())
            .unwrap()
    };
    assert_ne!(hash(lying_id), "ffffffffffffffff");
    assert_eq!(hash(lying_id), hash(id), "the same photo, the same hash");
    assert_eq!(
        hash(id),
        claimed.perceptual_hash,
        "and the one capture computed"
    );
}

/// What the desk writes holds children's photos and strangers' notes: its user's only.
#[test]
#[cfg(unix)]
fn desk_output_is_private_to_the_desk_user() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (identities, recipient) = org(&tmp.path().join("org"));
    let phone = phone();
    let (id, manifest, photo) = report(&phone, "gps/DSCN0010.jpg");
    let sealed = seal_for(&phone, id, &manifest, &photo, recipient);
    let data = tmp.path().join("data/reports");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join(format!("{id}.age")), sealed).unwrap();
    let out = tmp.path().join("desk");
    desk::open_dir(&identities, &tmp.path().join("data"), &out).unwrap();
    let mut checked = 0;
    let mut walk = vec![out.clone()];
    while let Some(dir) = walk.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk.push(path);
            } else {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 7,
        "photo, manifest, sightings.json and the exports: {checked}"
    );
}

/// A signed manifest whose position is off the globe: the report is flagged, not a point.
#[test]
fn coordinates_off_the_globe_are_flagged_not_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let (identities, recipient) = org(&tmp.path().join("org"));
    let phone = phone();
    let data = tmp.path().join("data/reports");
    std::fs::create_dir_all(&data).unwrap();
    for (lat, lon) in [(1e300, 5.0), (52.0, -181.0), (-90.5, 0.0)] {
        let (id, manifest, photo) = report(&phone, "gps/DSCN0010.jpg");
        let mut m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        let fix_time = m["captured_at"].clone();
        let object = m.as_object_mut().unwrap();
        object.remove("location_missing");
        object.insert(
            "location".into(),
            serde_json::json!({"lat": lat, "lon": lon, "accuracy_m": 5.0, "fix_time": fix_time,
                "provider": "gps", "source": "device"}),
        );
        let manifest = serde_json::to_vec(&m).unwrap();
        let sig = phone.keys.device.sign_manifest(&manifest);
        let sealed = seal_parts(std::slice::from_ref(&recipient), &manifest, &sig, &photo);
        std::fs::write(data.join(format!("{id}.age")), sealed).unwrap();
    }
    let out = tmp.path().join("desk");
    let outcomes = desk::open_dir(&identities, &tmp.path().join("data"), &out).unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    let sightings = desk::sightings::load(&out).unwrap();
    assert_eq!(sightings.len(), 3);
    for s in &sightings {
        assert_eq!((s.lat, s.lon), (None, None));
        assert_eq!(
            s.location_missing.as_deref(),
            Some(desk::sightings::INVALID_LOCATION)
        );
    }
    let geojson = std::fs::read_to_string(out.join("sightings.geojson")).unwrap();
    assert!(!geojson.contains("1e300") && !geojson.contains("\"Point\""));
}

/// One report sealed by `phone` to `recipient`, as the core seals it.
fn seal_for(
    phone: &Phone,
    id: Uuid,
    manifest: &[u8],
    photo: &[u8],
    recipient: Recipient,
) -> Vec<u8> {
    seal::seal_report(
        id,
        manifest,
        photo,
        None,
        &phone.keys.device,
        &[recipient],
        Vec::new(),
    )
    .unwrap()
    .0
}

/// A manifest "signed" by the identity point (a key of order 1) with R = identity, S = 0:
/// RFC 8032's plain check accepts it for any manifest; the desk does not.
#[test]
fn a_small_order_key_cannot_sign_a_manifest() {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let tmp = tempfile::tempdir().unwrap();
    let (identities, recipient) = org(&tmp.path().join("org"));
    let phone = phone();
    let (id, manifest, photo) = report(&phone, "gps/DSCN0010.jpg");
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    let mut m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    m["device_key"] = serde_json::json!(STANDARD.encode(identity_point));
    let manifest = serde_json::to_vec(&m).unwrap();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&identity_point);
    let sealed = seal_parts(&[recipient], &manifest, &sig, &photo);
    let opened = desk::open_report(&identities, &sealed[..]);
    assert!(
        matches!(opened, Err(OpenError::Signature)),
        "{id}: {opened:?}"
    );
}

/// A bundle sealed to `recipients` as given: for reports that are wrong on purpose.
fn seal_parts(recipients: &[Recipient], manifest: &[u8], sig: &[u8], photo: &[u8]) -> Vec<u8> {
    seal::seal(
        recipients,
        vec![
            BundleFile::bytes("manifest.json", manifest),
            BundleFile::bytes("manifest.sig", sig),
            BundleFile::bytes("photo.jpg", photo),
        ],
        Vec::new(),
    )
    .unwrap()
}

//! What leaves the phone: a sealed report the `age` CLI opens, no readable photo on disk, no
//! boot id in the manifest.

use super::*;

#[test]
fn capture_and_submit_leave_no_readable_photo_and_the_age_cli_opens_the_report() {
    let Setup {
        tmp,
        identity,
        recipient,
        store,
    } = setup();
    let data = tmp.path().join("device");
    let mut device = device(&data, recipient, &store);
    let camera = fixture("gps/DSCN0010.jpg");
    // The same capture run outside the device gives the exact plaintexts to look for.
    let reference = capture(
        camera.clone(),
        &test_support::no_location(),
        &CaptureOptions::default(),
    )
    .unwrap();
    let plaintexts = [
        &camera[..],
        &reference.sanitized.jpeg,
        &reference.upload_copy,
        &reference.thumbnail,
    ];

    let draft = device
        .capture(
            camera.clone(),
            &test_support::no_location(),
            CaptureClock::now().unwrap(),
        )
        .unwrap();
    assert!(
        matches!(draft.location, Location::Fix(_)),
        "the camera's GPS is the fallback"
    );
    assert!(draft.removed.iter().any(|r| r.what == "Exif"));
    assert_no_plaintext(&data, &plaintexts);
    assert_eq!(device.thumbnail(draft.id).unwrap(), reference.thumbnail);

    let note = "girl of about 8, red dress, with an older man";
    let envelope = device
        .submit(
            draft.id,
            Details {
                note: Some(note.into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_no_plaintext(&data, &plaintexts);
    assert!(device.drafts().unwrap().is_empty());

    let sealed = std::fs::read(device.sealed_report(draft.id)).unwrap();
    assert_eq!(
        ring::digest::digest(&ring::digest::SHA256, &sealed).as_ref(),
        envelope.ciphertext_sha256
    );
    UnparsedPublicKey::new(&ED25519, device.device_key())
        .verify(
            &envelope_message(draft.id, &envelope.ciphertext_sha256),
            &envelope.envelope_sig,
        )
        .unwrap();

    let out = tmp.path().join("opened");
    open_with_age_cli(&identity, &device.sealed_report(draft.id), &out);
    assert_eq!(
        std::fs::read(out.join("photo.jpg")).unwrap(),
        reference.upload_copy
    );
    assert_eq!(
        std::fs::read(out.join("original.jpg")).unwrap(),
        reference.sanitized.jpeg
    );
    let manifest = std::fs::read(out.join("manifest.json")).unwrap();
    let sig = std::fs::read(out.join("manifest.sig")).unwrap();
    UnparsedPublicKey::new(&ED25519, device.device_key())
        .verify(&manifest, &sig)
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(manifest["details"]["note"], note);
    assert_eq!(manifest["id"], draft.id.to_string());
    assert_eq!(manifest["location"]["source"], "exif");
}

/// The manifest's `clock.boot_id` of a sealed report, opened with the `age` CLI.
fn sealed_boot_tag(device: &Device, identity: &Path, id: uuid::Uuid, dir: &Path) -> String {
    open_with_age_cli(identity, &device.sealed_report(id), dir);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    manifest["clock"]["boot_id"].as_str().unwrap().to_string()
}

/// The kernel's boot id never leaves the phone; the keyed tag in its place matches the upload
/// metadata's within one identity, and changes with `reset_identity`.
#[cfg(target_os = "linux")]
#[test]
fn reports_carry_a_keyed_boot_tag_not_the_boot_id() {
    let Setup {
        tmp,
        identity,
        recipient,
        store,
    } = setup();
    let mut device = device(&tmp.path().join("device"), recipient, &store);
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let mut tags = Vec::new();
    for (i, reset) in [false, false, true].into_iter().enumerate() {
        if reset {
            device.reset_identity(&store).unwrap();
        }
        let draft = capture_photo(&device, "Canon_40D.jpg");
        device.submit(draft.id, Details::default()).unwrap();
        let tag = sealed_boot_tag(
            &device,
            &identity,
            draft.id,
            &tmp.path().join(format!("o{i}")),
        );
        let upload = device.device_clock().unwrap();
        assert_eq!(upload.boot_tag_hex(), tag, "the upload says the same boot");
        tags.push(tag);
    }
    assert_eq!(tags[0].len(), 16);
    assert!(!tags[0].contains(boot_id.trim()) && !boot_id.contains(&tags[0]));
    assert_eq!(tags[0], tags[1], "one boot, one identity: one tag");
    assert_ne!(
        tags[1], tags[2],
        "a reset identity cannot be linked by its boot tag"
    );
    for entry in files(&tmp.path().join("device")) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(36).any(|w| w == boot_id.trim().as_bytes()),
            "{} holds the boot id",
            entry.display()
        );
    }
}

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::signature::{Ed25519KeyPair, KeyPair};
use time::macros::datetime;

use super::*;

/// A fixed key, so the feed's bytes are a test vector (Ed25519 signatures are deterministic).
fn key() -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap()
}

fn public(key: &Ed25519KeyPair) -> [u8; 32] {
    key.public_key().as_ref().try_into().unwrap()
}

/// The smallest JPEG-looking photo: SOI, EOI.
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xD9];

fn photo() -> PhotoRef {
    PhotoRef::of(JPEG)
}

fn case(number: &str, lat: f64, lon: f64) -> Case {
    Case {
        number: number.into(),
        first_name: "小明".into(),
        sex: Sex::Boy,
        age_when_missing: 6,
        missing_since: "2026-03-01".into(),
        last_seen: LastSeen {
            district: "朝阳区".into(),
            lat,
            lon,
        },
        marks: "scar above the left eye".into(),
        photos: vec![photo()],
    }
}

fn feed(version: u64) -> (Vec<u8>, Vec<u8>, IndexBody) {
    let tile = TileFile {
        tile: "25-59".into(),
        cases: vec![case("C-2026-001", 39.92, 116.44)],
    };
    let (bytes, entry) = tile.write().unwrap();
    let body = IndexBody {
        version,
        issued_at: "2026-11-01T00:00:00Z".into(),
        expires_at: "2026-12-01T00:00:00Z".into(),
        safety_line: SafetyLine {
            en: "Do not approach or confront. Report in the app.".into(),
            zh: "请勿接近或对峙。请在应用内报告。".into(),
        },
        tiles: vec![entry],
    };
    (body.sign(&key()).unwrap(), bytes, body)
}

const NOW: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);

#[test]
fn a_signed_feed_opens_and_its_bytes_are_the_vector() {
    let (index, tile, body) = feed(3);
    let opened = IndexBody::open(&index, &public(&key()), Some(3), NOW).unwrap();
    assert_eq!(opened, body);
    let read = TileFile::open(&tile, &opened, "25-59").unwrap();
    assert_eq!(read.cases[0].first_name, "小明");
    // The vector: a change here changes what every phone in the field must read.
    let digest = |b: &[u8]| {
        super::super::hex::encode(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
    };
    assert_eq!(
        (digest(&index), digest(&tile)),
        (
            "f28895325f0959737d6f905f3c3f51c0a0a3ae754ad1a8b351135e171716ba2a".to_string(),
            "4814743fd08e9dbccab1820e6e5e7fc5e40839fa693e84b0deb21c9b276a8cfe".to_string()
        )
    );
}

#[test]
fn a_tampered_index_or_another_key_is_refused() {
    let (index, _, _) = feed(3);
    let mut signed: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let body = STANDARD.decode(signed["body"].as_str().unwrap()).unwrap();
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace("\"version\":3", "\"version\":9");
    signed["body"] = STANDARD.encode(tampered).into();
    let tampered = serde_json::to_vec(&signed).unwrap();
    assert_eq!(
        IndexBody::open(&tampered, &public(&key()), None, NOW),
        Err(BulletinError::BadSignature)
    );
    let other = Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap();
    assert_eq!(
        IndexBody::open(&index, &public(&other), None, NOW),
        Err(BulletinError::BadSignature)
    );
    assert!(matches!(
        IndexBody::open(b"{\"body\":1}", &public(&key()), None, NOW),
        Err(BulletinError::Malformed(_))
    ));
    let huge = vec![b' '; MAX_INDEX_BYTES + 1];
    assert_eq!(
        IndexBody::open(&huge, &public(&key()), None, NOW),
        Err(BulletinError::IndexTooLarge(MAX_INDEX_BYTES + 1))
    );
}

#[test]
fn an_older_version_is_a_rollback_and_an_expired_feed_is_refused() {
    let (index, _, _) = feed(4);
    assert_eq!(
        IndexBody::open(&index, &public(&key()), Some(5), NOW),
        Err(BulletinError::Rollback { got: 4, have: 5 })
    );
    assert!(
        IndexBody::open(&index, &public(&key()), Some(4), NOW).is_ok(),
        "the same feed again"
    );
    assert_eq!(
        IndexBody::open(
            &index,
            &public(&key()),
            None,
            datetime!(2026-12-01 00:00 UTC)
        ),
        Err(BulletinError::Expired("2026-12-01T00:00:00Z".into()))
    );
}

#[test]
fn a_tile_must_hash_to_the_index_and_hold_only_its_cases() {
    let (index, tile, _) = feed(3);
    let body = IndexBody::open(&index, &public(&key()), None, NOW).unwrap();
    let mut truncated = tile.clone();
    truncated.pop();
    assert_eq!(
        TileFile::open(&truncated, &body, "25-59"),
        Err(BulletinError::TileMismatch("25-59".into()))
    );
    assert_eq!(
        TileFile::open(&tile, &body, "25-60"),
        Err(BulletinError::TileMismatch("25-60".into()))
    );
    // A tile whose bytes the index pins, but listing a case the index does not.
    let other = TileFile {
        tile: "25-59".into(),
        cases: vec![case("C-2026-999", 39.92, 116.44)],
    };
    let (bytes, mut entry) = other.write().unwrap();
    entry.cases = vec!["C-2026-001".into()];
    let mut listed = body.clone();
    listed.tiles = vec![entry];
    assert_eq!(
        TileFile::open(&bytes, &listed, "25-59"),
        Err(BulletinError::TileMismatch("25-59".into()))
    );
}

#[test]
fn bad_cases_are_refused_before_signing_or_reading() {
    let bad = |edit: fn(&mut Case)| {
        let mut c = case("C-1", 39.92, 116.44);
        edit(&mut c);
        TileFile {
            tile: "25-59".into(),
            cases: vec![c],
        }
        .write()
        .unwrap_err()
    };
    assert!(matches!(
        bad(|c| c.photos = vec![PhotoRef::of(&vec![0xFF; MAX_PHOTO_BYTES + 10])]),
        BulletinError::Malformed(_)
    ));
    assert!(matches!(
        bad(|c| c.photos[0].sha256 = c.photos[0].sha256.to_uppercase()),
        BulletinError::Malformed(_)
    ));
    assert!(matches!(
        bad(|c| c.photos[0].bytes = 0),
        BulletinError::Malformed(_)
    ));
    assert!(matches!(
        bad(|c| c.photos = vec![photo(); 4]),
        BulletinError::Malformed(_)
    ));
    assert!(matches!(
        bad(|c| c.missing_since = "last spring".into()),
        BulletinError::Malformed(_)
    ));
    assert!(matches!(
        bad(|c| c.marks = "x".repeat(MAX_TEXT_CHARS + 1)),
        BulletinError::Malformed(_)
    ));
    assert!(
        matches!(
            bad(|c| c.last_seen.lat = -33.9),
            BulletinError::Malformed(_)
        ),
        "not in its tile"
    );
}

#[test]
fn a_photo_opens_only_as_its_tile_names_it() {
    let (index, tile, _) = feed(3);
    let body = IndexBody::open(&index, &public(&key()), None, NOW).unwrap();
    let tile = TileFile::open(&tile, &body, "25-59").unwrap();
    let signed = &tile.cases[0].photos[0];
    // The vector: the digest and size of the four bytes, and where the intake serves them.
    assert_eq!(
        (signed.sha256.as_str(), signed.bytes, signed.file_name()),
        (
            "32461d5bd1773012acef0ba15636752949bd7c2ce50f9172159d9f56cf0dd9af",
            4,
            format!("photos/{}.jpg", signed.sha256)
        )
    );
    assert_eq!(signed.open(JPEG), Ok(()));
    assert_eq!(
        signed.open(&[0xFF, 0xD8, 0xFF, 0xDA]),
        Err(BulletinError::PhotoMismatch(signed.sha256.clone()))
    );
    assert_eq!(
        signed.open(&[0xFF, 0xD8, 0xFF]),
        Err(BulletinError::PhotoMismatch(signed.sha256.clone()))
    );
    assert_eq!(
        signed.open(&[0xFF, 0xD8, 0xFF, 0xD9, 0]),
        Err(BulletinError::PhotoTooLarge { signed: 4, got: 5 })
    );
    let gif = PhotoRef::of(b"GIF89a");
    assert!(matches!(
        gif.open(b"GIF89a"),
        Err(BulletinError::Malformed(_))
    ));
    // Only canonical names reach a store.
    assert_eq!(
        photo::photo_file_name(&format!("{}.jpg", signed.sha256)),
        Some(signed.file_name())
    );
    for bad in ["x.jpg", "../index.json", &signed.sha256.to_uppercase()] {
        assert_eq!(photo::photo_file_name(bad), None, "{bad:?}");
    }
    // A push carries each distinct photo once, in the order the tiles first list it.
    let mut two = tile.clone();
    two.cases.push(case("C-2026-002", 39.93, 116.45));
    two.cases[1]
        .photos
        .insert(0, PhotoRef::of(&[0xFF, 0xD8, 1]));
    assert_eq!(
        photo::photos_in_push_order(&body, [&two]),
        vec![photo(), PhotoRef::of(&[0xFF, 0xD8, 1])]
    );
}

#[test]
fn a_push_authorization_binds_the_index_and_the_time() {
    let key = Ed25519KeyPair::from_seed_unchecked(&[9; 32]).unwrap();
    let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let index = b"{\"body\":\"e30=\",\"sig\":\"\"}";
    let now = 1_800_000_000;
    let header = push_authorization(&key, index, now);
    let digest = check_push_authorization(&header, &public, now + 60).unwrap();
    assert_eq!(
        digest.as_slice(),
        ring::digest::digest(&ring::digest::SHA256, index).as_ref()
    );
    // Too old, from the future, another key, another digest, malformed: refused.
    for at in [now + PUSH_SKEW_SECONDS + 1, now - PUSH_SKEW_SECONDS - 1] {
        assert!(check_push_authorization(&header, &public, at).is_err());
    }
    let stranger = Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap();
    let forged = push_authorization(&stranger, index, now);
    assert!(check_push_authorization(&forged, &public, now).is_err());
    let other = push_authorization(&key, b"other", now);
    let swapped = format!(
        "{}, {}",
        header.split(", sig=").next().unwrap(),
        other.split(", ").nth(2).unwrap()
    );
    assert!(check_push_authorization(&swapped, &public, now).is_err());
    for bad in ["", "t=1", "t=x, sha256=00, sig=AA==", "nonsense"] {
        assert!(
            check_push_authorization(bad, &public, now).is_err(),
            "{bad:?}"
        );
    }
}

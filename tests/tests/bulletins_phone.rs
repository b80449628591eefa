//! The bulletin feed on the phone: it fetches the index and only the tiles around it, keeps
//! them encrypted, lists the cases nearest first with the safety line, loses a closed case at
//! the next refresh and everything once the feed expires, and refuses a bad feed whole while
//! keeping its last good one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, Uri};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::bulletins::{regions_near, FeedStatus};
use sighting_core::handle::DeviceHandle;
use sighting_core::queue::{AttemptError, State};
use sighting_core::sync::{RefreshError, SyncConfig, SyncListener, Syncer};
use sighting_core::wire::bulletin::{
    BulletinError, IndexBody, PhotoRef, TileFile, MAX_INDEX_BYTES,
};
use sighting_core::wire::region_tile::RegionTile;
use sighting_desk::bulletins::{self, Feed};
use sighting_desk::state::DeskState;
use sighting_intake::IntakeConfig;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use support::cases::desk_with_cases;
use support::{server_key, Server};
use test_support as support;

const AMSTERDAM: (f64, f64) = (52.37, 4.90);
const UTRECHT: (f64, f64) = (52.09, 5.12);
const BEIJING: (f64, f64) = (39.92, 116.44);
/// Where the phone is: a few km from the Amsterdam case.
const PHONE: (f64, f64) = (52.36, 4.86);

fn bulletin_key() -> (Ed25519KeyPair, [u8; 32]) {
    let key = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
    let public = key.public_key().as_ref().try_into().unwrap();
    (key, public)
}

fn feed(desk: &DeskState, key: &Ed25519KeyPair, version: u64) -> Feed {
    let now = OffsetDateTime::now_utc();
    bulletins::build(desk, key, version, now, Duration::days(14)).unwrap()
}

fn phone_syncer(base: &str, bulletin_key: [u8; 32]) -> Syncer {
    let _ = support::client();
    Syncer::new(SyncConfig {
        bulletin_key: Some(bulletin_key),
        ..SyncConfig::new(base, server_key().1)
    })
    .unwrap()
}

async fn shown(phone: &DeviceHandle, now: OffsetDateTime) -> (FeedStatus, Vec<String>) {
    let list = phone
        .call(move |d| d.bulletins(now, Some(PHONE)))
        .await
        .unwrap();
    let numbers = list.cases.iter().map(|c| c.case.number.clone()).collect();
    (list.status, numbers)
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[derive(Default)]
struct Heard(Mutex<Vec<(u64, usize)>>);

impl SyncListener for Heard {
    fn progress(&self, _: Uuid, _: u64, _: u64) {}
    fn state_changed(&self, _: Uuid, _: State, _: Option<AttemptError>, _: Option<&str>) {}
    fn bulletins_changed(&self, version: u64, cases: usize) {
        self.0.lock().unwrap().push((version, cases));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_keeps_the_cases_around_it_encrypted_and_loses_closed_and_expired_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = bulletin_key();
    let config = IntakeConfig {
        bulletin_key: Some(public),
        ..IntakeConfig::default()
    };
    let server = Server::start(&tmp.path().join("intake"), &server_key().0, config).await;
    let (desk, cm) = desk_with_cases(&tmp.path().join("desk"), &[AMSTERDAM, UTRECHT, BEIJING]);
    let push = |feed: Feed| {
        let (base, key) = (server.base.clone(), &key);
        async move {
            let status = feed.push(&support::client(), &base, key).await.unwrap();
            assert_eq!(status, StatusCode::NO_CONTENT);
        }
    };
    let phone = support::phone(
        tmp.path(),
        &support::age_keygen(&tmp.path().join("org")).to_string(),
    );
    let syncer = phone_syncer(&server.base, public);
    let heard = Arc::new(Heard::default());
    syncer.set_listener(Some(heard.clone()));

    // Before anything is published: nothing, and nothing to show.
    let none = syncer.refresh_bulletins(&phone, Some(PHONE)).await.unwrap();
    assert_eq!((none.version, none.changed), (None, false));
    assert_eq!(
        shown(&phone, OffsetDateTime::now_utc()).await.0,
        FeedStatus::NotFetched
    );

    // Version 1: the two Dutch cases (the phone's tile and the one east of it), not Beijing.
    push(feed(&desk, &key, 1)).await;
    let first = syncer.refresh_bulletins(&phone, Some(PHONE)).await.unwrap();
    assert_eq!(
        (first.version, first.changed, first.cases),
        (Some(1), true, 2)
    );
    assert_eq!(first.tiles_downloaded, 2);
    let list = phone
        .call(|d| d.bulletins(OffsetDateTime::now_utc(), Some(PHONE)))
        .await
        .unwrap();
    let numbers: Vec<&str> = list.cases.iter().map(|c| c.case.number.as_str()).collect();
    assert_eq!(numbers, ["C-0", "C-1"], "nearest first");
    let km: Vec<f64> = list
        .cases
        .iter()
        .map(|c| c.distance_m.unwrap() / 1e3)
        .collect();
    assert!(km[0] < 5.0 && (25.0..45.0).contains(&km[1]), "{km:?}");
    assert!(list.safety_line.unwrap().en.contains("approach"));
    assert_eq!(list.cases[0].case.photos.len(), 1);
    assert!(matches!(
        list.status,
        FeedStatus::Current { version: 1, .. }
    ));

    // Nothing changed: the index answers 304 and no tile is fetched again.
    let again = syncer.refresh_bulletins(&phone, None).await.unwrap();
    assert_eq!((again.changed, again.bytes_downloaded), (false, 0));

    // At rest: no name, place, marks or photo bytes in any file of the phone (the photo fetched
    // as the case is opened).
    let photo = syncer.case_photo(&phone, "C-0", 0).await.unwrap();
    let window = &photo[photo.len() / 2..photo.len() / 2 + 32];
    for file in files_under(&tmp.path().join("device")) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in [b"limps on the right leg".as_slice(), b"Centrum", window] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds plaintext",
                file.display()
            );
        }
    }

    // Utrecht's case is closed: gone from the phone at the next refresh, its file too.
    let utrecht = desk.case("C-1").unwrap();
    desk.close_case(&cm, "C-1", utrecht.version).unwrap();
    push(feed(&desk, &key, 2)).await;
    let second = syncer.refresh_bulletins(&phone, None).await.unwrap();
    assert_eq!(
        (second.version, second.changed, second.cases),
        (Some(2), true, 1)
    );
    let now = OffsetDateTime::now_utc();
    assert_eq!(shown(&phone, now).await.1, ["C-0"]);
    let tiles = tmp.path().join("device/bulletins/tiles");
    assert_eq!(files_under(&tiles).len(), 1);
    assert_eq!(*heard.0.lock().unwrap(), [(1, 2), (2, 1)]);

    // Offline past the expiry: nothing shown, the photos deleted, and the phone says since when.
    let (status, numbers) = shown(&phone, now + Duration::days(15)).await;
    assert!(
        matches!(status, FeedStatus::Expired { version: 2, .. }),
        "{status:?}"
    );
    assert!(numbers.is_empty());
    assert!(files_under(&tiles).is_empty());
    server.stop().await;
}

/// A bulletin server that serves what the test puts in it (stale, forged, cut) and records
/// every request's path and query.
#[derive(Default)]
struct FeedServer {
    files: Mutex<HashMap<String, Vec<u8>>>,
    asked: Mutex<Vec<String>>,
}

impl FeedServer {
    async fn start(self: &Arc<Self>) -> String {
        let files = self.clone();
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let files = files.clone();
            async move {
                files.asked.lock().unwrap().push(uri.to_string());
                match files.files.lock().unwrap().get(uri.path()) {
                    Some(bytes) => (StatusCode::OK, bytes.clone()),
                    None => (StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn serve(&self, index_json: &[u8], tiles: &[(&str, Vec<u8>)]) {
        let mut files = self.files.lock().unwrap();
        files.clear();
        files.insert("/v1/bulletins/index.json".into(), index_json.to_vec());
        for (name, bytes) in tiles {
            files.insert(format!("/v1/bulletins/tiles/{name}.json"), bytes.clone());
        }
    }

    fn serve_feed(&self, feed: &Feed) {
        let tiles: Vec<(&str, Vec<u8>)> = feed
            .tiles
            .iter()
            .map(|(n, b)| (n.as_str(), b.clone()))
            .collect();
        self.serve(&feed.index_json, &tiles);
    }
}

/// A feed whose Amsterdam tile holds a case with a photo over the limit, correctly signed.
fn feed_with_an_oversized_photo(feed: &Feed, key: &Ed25519KeyPair) -> (Vec<u8>, String, Vec<u8>) {
    let name = &RegionTile::at(AMSTERDAM.0, AMSTERDAM.1)
        .unwrap()
        .to_string();
    let bytes = &feed.tiles[name];
    let mut tile: TileFile = serde_json::from_slice(bytes).unwrap();
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.resize(100 << 10, 0);
    tile.cases[0].photos = vec![PhotoRef::of(&jpeg)];
    let bytes = serde_json::to_vec(&tile).unwrap();
    let mut index: IndexBody = feed.index.clone();
    index.version += 10;
    index.tiles.retain(|t| &t.tile == name);
    index.tiles[0].sha256 = sighting_core::wire::hex::encode(
        ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref(),
    );
    index.tiles[0].bytes = bytes.len() as u64;
    (index.sign(key).unwrap(), name.clone(), bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_feed_is_refused_whole_and_the_phone_keeps_its_last_good_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = bulletin_key();
    let (desk, _) = desk_with_cases(&tmp.path().join("desk"), &[AMSTERDAM, UTRECHT, BEIJING]);
    let server = Arc::new(FeedServer::default());
    let base = server.start().await;
    let phone = support::phone(
        tmp.path(),
        &support::age_keygen(&tmp.path().join("org")).to_string(),
    );
    let syncer = phone_syncer(&base, public);

    let good = feed(&desk, &key, 5);
    server.serve_feed(&good);
    let refresh = syncer.refresh_bulletins(&phone, Some(PHONE)).await.unwrap();
    assert_eq!((refresh.version, refresh.cases), (Some(5), 2));

    // What the phone asked for says nothing finer than a 5° tile: the index, and tiles among
    // the nine around it, without a query.
    let around: Vec<String> = regions_near(PHONE.0, PHONE.1)
        .iter()
        .map(|t| format!("/v1/bulletins/tiles/{t}.json"))
        .collect();
    let asked = server.asked.lock().unwrap().clone();
    assert_eq!(asked[0], "/v1/bulletins/index.json");
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked[1..].iter().all(|p| around.contains(p)), "{asked:?}");

    let stranger = Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap();
    let past = OffsetDateTime::now_utc() - Duration::days(20);
    let expired = bulletins::build(&desk, &key, 9, past, Duration::days(14)).unwrap();
    // Other tiles than the ones held (the numbers swapped), so the phone has to fetch them.
    let (other_desk, _) = desk_with_cases(&tmp.path().join("desk2"), &[UTRECHT, AMSTERDAM]);
    let newer = feed(&other_desk, &key, 6);
    let cut: Vec<(&str, Vec<u8>)> = newer
        .tiles
        .iter()
        .map(|(n, b)| (n.as_str(), b[..b.len() - 1].to_vec()))
        .collect();
    let (oversized_index, oversized_name, oversized_tile) =
        feed_with_an_oversized_photo(&good, &key);

    type Check = fn(&RefreshError) -> bool;
    type Tiles<'a> = Vec<(&'a str, Vec<u8>)>;
    let cases: Vec<(&str, Vec<u8>, Tiles, Check)> = vec![
        (
            "an older version",
            feed(&desk, &key, 4).index_json,
            vec![],
            |e| {
                matches!(
                    e,
                    RefreshError::Feed(BulletinError::Rollback { got: 4, have: 5 })
                )
            },
        ),
        (
            "another key",
            feed(&desk, &stranger, 6).index_json,
            vec![],
            |e| matches!(e, RefreshError::Feed(BulletinError::BadSignature)),
        ),
        ("an expired feed", expired.index_json.clone(), vec![], |e| {
            matches!(e, RefreshError::Feed(BulletinError::Expired(_)))
        }),
        ("a truncated tile", newer.index_json.clone(), cut, |e| {
            matches!(
                e,
                RefreshError::TooLarge | RefreshError::Feed(BulletinError::TileMismatch(_))
            )
        }),
        (
            "an oversized photo",
            oversized_index,
            vec![(&oversized_name, oversized_tile)],
            |e| matches!(e, RefreshError::Feed(BulletinError::Malformed(_))),
        ),
        (
            "an oversized index",
            vec![b' '; MAX_INDEX_BYTES + 1],
            vec![],
            |e| matches!(e, RefreshError::TooLarge),
        ),
        ("not JSON", b"{\"body\": 1".to_vec(), vec![], |e| {
            matches!(e, RefreshError::Feed(BulletinError::Malformed(_)))
        }),
    ];
    for (what, index, tiles, check) in cases {
        server.serve(&index, &tiles);
        let error = syncer
            .refresh_bulletins(&phone, Some(PHONE))
            .await
            .expect_err(what);
        assert!(check(&error), "{what}: {error:?}");
        let (status, numbers) = shown(&phone, OffsetDateTime::now_utc()).await;
        assert!(
            matches!(status, FeedStatus::Current { version: 5, .. }),
            "{what}"
        );
        assert_eq!(numbers, ["C-0", "C-1"], "{what}");
    }
}

/// Every file under `dir` and `dir` itself with their modes, as `(path, mode & 0o777, is_dir)`.
fn modes_under(dir: &Path) -> Vec<(std::path::PathBuf, u32, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut all = vec![(dir.to_path_buf(), mode(dir), true)];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(modes_under(&path));
        } else {
            all.push((path.clone(), mode(&path), false));
        }
    }
    all
}

/// Someone who can read the phone's data folder (another user of a desktop, a backup) learns
/// nothing from it: every file is 0600 and every folder 0700, and a tile's file name is not the
/// public digest the index lists for it (which would say which 5° cells the phone holds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phones_files_are_private_and_tiles_are_named_by_a_keyed_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = bulletin_key();
    let (desk, _) = desk_with_cases(&tmp.path().join("desk"), &[AMSTERDAM, UTRECHT]);
    let server = Arc::new(FeedServer::default());
    let base = server.start().await;
    let feed = feed(&desk, &key, 1);
    server.serve_feed(&feed);
    let phone = support::phone(
        tmp.path(),
        &support::age_keygen(&tmp.path().join("org")).to_string(),
    );
    support::submit(&phone, "Canon_40D.jpg").await;
    let refresh = phone_syncer(&base, public)
        .refresh_bulletins(&phone, Some(PHONE))
        .await
        .unwrap();
    assert_eq!(refresh.tiles_downloaded, 2);

    let device = tmp.path().join("device");
    let all = modes_under(&device);
    assert!(all.len() > 8, "{all:?}");
    for (path, mode, is_dir) in &all {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }
    let digests: Vec<&str> = feed.index.tiles.iter().map(|t| t.sha256.as_str()).collect();
    let tiles = files_under(&device.join("bulletins/tiles"));
    assert_eq!(tiles.len(), 2);
    for tile in &tiles {
        let name = tile.file_name().unwrap().to_str().unwrap();
        assert!(
            digests.iter().all(|d| !name.contains(d)),
            "{name} is a public digest"
        );
    }
    // The list still reads its tiles by their keyed names.
    let (_, numbers) = shown(&phone, OffsetDateTime::now_utc()).await;
    assert_eq!(numbers, ["C-0", "C-1"]);
}

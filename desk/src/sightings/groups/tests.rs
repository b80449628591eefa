use std::collections::BTreeMap;

use proptest::prelude::*;
use sighting_core::capture::perceptual_hash;

use super::*;

/// The grouping as it was: every pair of reports compared. Ties between groups' first
/// captures are broken by their first report (before: by the union-find root, arbitrary).
fn all_pairs(facts: &[PhotoFacts]) -> Vec<Option<u32>> {
    let n = facts.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        let Some(a) = facts[i].hash else { continue };
        for j in i + 1..n {
            let Some(b) = facts[j].hash else { continue };
            if phash_distance(a, b) <= PHASH_THRESHOLD && every_pair_plausible(&facts[i], &facts[j])
            {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri] = rj;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        groups.entry(root(&mut parent, i)).or_default().push(i);
    }
    let mut same: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    same.sort_by_key(|g| (g.iter().filter_map(|&i| facts[i].time_ms).min(), g[0]));
    let mut numbers = vec![None; n];
    for (k, group) in same.iter().enumerate() {
        for &i in group {
            numbers[i] = Some(k as u32 + 1);
        }
    }
    numbers
}

/// Whether one child could have been at both places, as it was: always the full distance.
fn every_pair_plausible(a: &PhotoFacts, b: &PhotoFacts) -> bool {
    let (Some(lat1), Some(lon1), Some(lat2), Some(lon2)) = (a.lat, a.lon, b.lat, b.lon) else {
        return true;
    };
    let elapsed = match (a.time_ms, b.time_ms) {
        (Some(t1), Some(t2)) => (t1 - t2).abs() as f64 / 1000.0,
        _ => return true,
    };
    let reach = PLACE_MARGIN_M
        + a.accuracy_m.unwrap_or(0.0)
        + b.accuracy_m.unwrap_or(0.0)
        + WALK_M_PER_S * elapsed;
    distance_m((lat1, lon1), (lat2, lon2)) <= reach
}

/// Reports as the desk bench makes them, over the shared fixtures' real photo hashes: each
/// photo sent many times at places over a city minutes apart, every fifth with two bits of its
/// hash flipped (a re-encoded copy), so that exact, near and far hashes all occur.
#[test]
fn groups_over_the_fixture_photos_are_those_of_comparing_every_pair() {
    let mut photos = vec![test_support::fixtures()];
    let mut hashes: Vec<u64> = Vec::new();
    while let Some(path) = photos.pop() {
        match std::fs::read_dir(&path) {
            Ok(dir) => photos.extend(dir.map(|e| e.expect("a fixture").path())),
            Err(_) => hashes.extend(
                std::fs::read(&path)
                    .ok()
                    .and_then(|jpeg| perceptual_hash(&jpeg, &Default::default()).ok()),
            ),
        }
    }
    hashes.sort_unstable();
    assert!(hashes.len() > 50, "{} fixture hashes", hashes.len());
    let facts: Vec<PhotoFacts> = (0..3000usize)
        .map(|i| {
            let hash = hashes[i % hashes.len()];
            let flips = if i % 5 == 0 {
                1 << (i % 64) | 1 << ((i * 7 + 3) % 64)
            } else {
                0
            };
            PhotoFacts {
                hash: (i % 97 != 0).then_some(hash ^ flips),
                lat: (i % 997 != 0).then_some(52.30 + (i % 37) as f64 * 0.01),
                lon: (i % 997 != 0).then_some(4.80 + (i % 41) as f64 * 0.01),
                accuracy_m: Some(10.0 + (i % 3) as f64 * 40.0),
                time_ms: (i % 991 != 0).then_some(1_790_000_000_000 + i as i64 * 1_000),
            }
        })
        .collect();
    let expected = all_pairs(&facts);
    let groups = expected.iter().flatten().max().copied().unwrap_or(0);
    let grouped = expected.iter().flatten().count();
    // The scenario has groups of every kind, and reports left alone.
    assert!(
        groups > 100 && grouped > 300 && grouped < 2900,
        "{groups} groups, {grouped} reports"
    );
    assert_eq!(same_photo_groups(&facts), expected);
}

#[test]
fn near_hash_pairs_are_every_pair_within_the_threshold_once() {
    let base = 0x0123_4567_89ab_cdefu64;
    // Flips spread over the quarters: 10 bits apart is near, 11 is not.
    let spread = |bits: u32| (0..bits).fold(0u64, |m, k| m | 1 << (k * 6 % 64));
    let hashes = [base, base ^ spread(10), base ^ spread(11), !base, base ^ 1];
    let mut pairs = near_hash_pairs(&hashes);
    pairs.sort_unstable();
    assert_eq!(pairs, [(0, 1), (0, 4), (1, 2), (1, 4), (2, 4)]);
}

fn facts() -> impl Strategy<Value = Vec<PhotoFacts>> {
    let one = (
        0..4usize,
        proptest::collection::vec(0..64u32, 0..12),
        proptest::option::weighted(0.9, (0.0..0.05f64, 0.0..0.05f64)),
        proptest::option::weighted(0.9, 0..4_000_000i64),
        proptest::option::weighted(0.95, Just(())),
    )
        .prop_map(|(base, flips, place, time, hashed)| {
            let bases = [0u64, u64::MAX, 0x00ff_00ff_00ff_00ff, 0x0f0f_0f0f_0f0f_0f0f];
            let hash = flips.iter().fold(bases[base], |h, &bit| h ^ 1 << bit);
            PhotoFacts {
                hash: hashed.map(|()| hash),
                lat: place.map(|p| 52.3 + p.0),
                lon: place.map(|p| 4.8 + p.1),
                accuracy_m: Some(20.0),
                time_ms: time,
            }
        });
    proptest::collection::vec(one, 0..80)
}

proptest! {
    /// Near and far hashes, exact copies, reports without a place, a time or a hash.
    #[test]
    fn groups_are_those_of_comparing_every_pair(facts in facts()) {
        prop_assert_eq!(same_photo_groups(&facts), all_pairs(&facts));
    }
}

//! Same-photo groups without comparing every pair of reports: reports are gathered by photo
//! hash, and only hashes within [`PHASH_THRESHOLD`] of each other (found through an index of
//! their 16-bit quarters) have their reports compared by place and time. At 100,000 reports
//! the all-pairs loop made 5·10⁹ comparisons on every poll.

use std::collections::HashMap;

use sighting_core::bulletins::distance_m;
use sighting_core::capture::phash_distance;

use super::{PhotoFacts, PHASH_THRESHOLD, PLACE_MARGIN_M, WALK_M_PER_S};

/// The hash is indexed by its four 16-bit quarters. Two hashes within the threshold differ in
/// at most `QUARTER_SLACK` bits in at least one quarter (4 × 3 > 10), so looking up every
/// value within that many bits of each quarter finds every near hash.
const QUARTERS: u32 = 4;
const QUARTER_SLACK: u32 = PHASH_THRESHOLD / QUARTERS;
const _: () = assert!(QUARTERS * (QUARTER_SLACK + 1) > PHASH_THRESHOLD);
const _: () = assert!(QUARTER_SLACK == 2, "near_quarter_masks flips up to 2 bits");

/// Each report's group number (1, 2, …, by each group's first capture, then by its first
/// report), `None` when no other report has its photo; the same groups as comparing every
/// pair (the tests keep that as the reference).
pub fn same_photo_groups(facts: &[PhotoFacts]) -> Vec<Option<u32>> {
    let mut groups = Groups::new(facts);
    let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, f) in facts.iter().enumerate() {
        if let Some(hash) = f.hash {
            by_hash.entry(hash).or_default().push(i);
        }
    }
    let (hashes, members): (Vec<u64>, Vec<Vec<usize>>) = by_hash.into_iter().unzip();
    for same in &members {
        for (k, &i) in same.iter().enumerate() {
            for &j in &same[k + 1..] {
                groups.join_if_plausible(i, j);
            }
        }
    }
    for (a, b) in near_hash_pairs(&hashes) {
        for &i in &members[a] {
            for &j in &members[b] {
                groups.join_if_plausible(i, j);
            }
        }
    }
    groups.numbers()
}

/// Every pair `(a, b)`, `a < b`, of distinct hashes within [`PHASH_THRESHOLD`], once each.
fn near_hash_pairs(hashes: &[u64]) -> Vec<(usize, usize)> {
    let quarter = |hash: u64, q: u32| (hash >> (16 * q)) as u16;
    // Per quarter, the hashes' indices sorted by that quarter's value, and where each value
    // starts (a bucket array of 65,536 + 1 offsets).
    let index: Vec<(Vec<u32>, Vec<u32>)> = (0..QUARTERS)
        .map(|q| {
            let mut order: Vec<u32> = (0..hashes.len() as u32).collect();
            order.sort_unstable_by_key(|&i| quarter(hashes[i as usize], q));
            let mut starts = vec![0u32; (1 << 16) + 1];
            for &i in &order {
                starts[usize::from(quarter(hashes[i as usize], q)) + 1] += 1;
            }
            for v in 1..starts.len() {
                starts[v] += starts[v - 1];
            }
            (order, starts)
        })
        .collect();
    let masks = near_quarter_masks();
    let mut pairs = Vec::new();
    for (a, &hash) in hashes.iter().enumerate() {
        for (q, (order, starts)) in (0..QUARTERS).zip(&index) {
            for &mask in &masks {
                let value = usize::from(quarter(hash, q) ^ mask);
                let bucket = &order[starts[value] as usize..starts[value + 1] as usize];
                for &b in bucket.iter().filter(|&&b| b as usize > a) {
                    let other = hashes[b as usize];
                    // Taken under the first quarter within the slack only, so each pair once.
                    let first = (0..QUARTERS).find(|&p| {
                        (quarter(hash, p) ^ quarter(other, p)).count_ones() <= QUARTER_SLACK
                    });
                    if first == Some(q) && phash_distance(hash, other) <= PHASH_THRESHOLD {
                        pairs.push((a, b as usize));
                    }
                }
            }
        }
    }
    pairs
}

/// The 16-bit values with at most two bits set (1 + 16 + 120).
fn near_quarter_masks() -> Vec<u16> {
    let mut masks = vec![0u16];
    for x in 0..16 {
        masks.push(1 << x);
        for y in x + 1..16 {
            masks.push(1 << x | 1 << y);
        }
    }
    masks
}

/// Reports joined into groups (a union-find forest over their indices).
struct Groups<'a> {
    facts: &'a [PhotoFacts],
    parent: Vec<usize>,
}

impl<'a> Groups<'a> {
    fn new(facts: &'a [PhotoFacts]) -> Self {
        Groups {
            facts,
            parent: (0..facts.len()).collect(),
        }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Joins two reports of near photos when one child could have been at both; a pair
    /// already in one group changes nothing, so its place and time are not compared.
    fn join_if_plausible(&mut self, i: usize, j: usize) {
        let (ri, rj) = (self.root(i), self.root(j));
        if ri != rj && plausible(&self.facts[i], &self.facts[j]) {
            self.parent[ri] = rj;
        }
    }

    fn numbers(mut self) -> Vec<Option<u32>> {
        let n = self.facts.len();
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..n {
            let root = self.root(i);
            members.entry(root).or_default().push(i);
        }
        let mut same: Vec<Vec<usize>> = members.into_values().filter(|g| g.len() > 1).collect();
        // Members are in index order: a group's first report is `g[0]`.
        same.sort_by_key(|g| (g.iter().filter_map(|&i| self.facts[i].time_ms).min(), g[0]));
        let mut numbers = vec![None; n];
        for (k, group) in same.iter().enumerate() {
            for &i in group {
                numbers[i] = Some(k as u32 + 1);
            }
        }
        numbers
    }
}

/// Whether one child could have been at both places at those times.
fn plausible(a: &PhotoFacts, b: &PhotoFacts) -> bool {
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
    // The latitudes alone set a floor under the distance (along a meridian): most far pairs
    // end here, without the trigonometry (a tenth of the time of a 100,000-report regroup).
    if (lat1 - lat2).abs() * METRES_PER_DEGREE_AT_LEAST > reach {
        return false;
    }
    distance_m((lat1, lon1), (lat2, lon2)) <= reach
}

/// A degree of latitude is 111,195 m on the sphere `distance_m` uses; a little less here, so
/// the floor stays under the distance whatever its rounding.
const METRES_PER_DEGREE_AT_LEAST: f64 = 111_000.0;

#[cfg(test)]
mod tests;

//! Region tiles: how the bulletin feed is cut up, so that a phone asks only for coarse areas and
//! what it downloads says nothing finer about where it is.
//!
//! Format (bulletin feed v1): the globe is cut into cells of 5° of latitude by 5° of longitude
//! (about 550 km north–south). A cell is named `"<row>-<col>"` with
//! `row = floor((lat + 90) / 5)` in 0..=35 and `col = floor((lon + 180) / 5)` in 0..=71 (the
//! north pole and the antimeridian fall into the last row and column). A case is filed under the
//! cell of the place it was last seen. A phone asks for the cell it is in and the eight around
//! it (columns wrap at the antimeridian, rows stop at the poles), so a request names a
//! 15°×15° block, never a point.

use std::fmt;
use std::str::FromStr;

/// Degrees per cell side.
pub const CELL_DEGREES: f64 = 5.0;
const ROWS: i32 = 36;
const COLS: i32 = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionTile {
    row: i32,
    col: i32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a region tile name: {0:?}")]
pub struct TileNameError(String);

impl RegionTile {
    /// The cell holding a WGS-84 point; `None` off the globe (or not finite).
    pub fn at(lat: f64, lon: f64) -> Option<Self> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return None;
        }
        let row = (((lat + 90.0) / CELL_DEGREES).floor() as i32).min(ROWS - 1);
        let col = (((lon + 180.0) / CELL_DEGREES).floor() as i32).min(COLS - 1);
        Some(Self { row, col })
    }

    /// This cell and the ones around it: what a phone here asks for.
    pub fn with_neighbours(self) -> Vec<RegionTile> {
        let mut tiles = Vec::with_capacity(9);
        for dr in -1..=1 {
            let row = self.row + dr;
            if !(0..ROWS).contains(&row) {
                continue;
            }
            for dc in -1..=1 {
                let col = (self.col + dc).rem_euclid(COLS);
                tiles.push(RegionTile { row, col });
            }
        }
        tiles
    }
}

impl fmt::Display for RegionTile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.row, self.col)
    }
}

impl FromStr for RegionTile {
    type Err = TileNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TileNameError(s.chars().take(40).collect());
        let (row, col) = s.split_once('-').ok_or_else(bad)?;
        // Digits only: no sign, no space, no leading `+`, so each cell has one name.
        let number = |part: &str| {
            (!part.is_empty() && part.len() <= 2 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<i32>().ok())
                .flatten()
        };
        let (row, col) = (number(row).ok_or_else(bad)?, number(col).ok_or_else(bad)?);
        if row >= ROWS || col >= COLS || s != format!("{row}-{col}") {
            return Err(bad());
        }
        Ok(Self { row, col })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_of_known_places() {
        // Beijing (39.9 N, 116.4 E): row floor(129.9/5) = 25, col floor(296.4/5) = 59.
        assert_eq!(
            RegionTile::at(39.9042, 116.4074).unwrap().to_string(),
            "25-59"
        );
        // Amsterdam (52.37 N, 4.90 E): row 28, col 36.
        assert_eq!(
            RegionTile::at(52.3791, 4.9003).unwrap().to_string(),
            "28-36"
        );
        // The edges: south-west corner, north pole, antimeridian.
        assert_eq!(RegionTile::at(-90.0, -180.0).unwrap().to_string(), "0-0");
        assert_eq!(RegionTile::at(90.0, 180.0).unwrap().to_string(), "35-71");
        assert_eq!(RegionTile::at(f64::NAN, 0.0), None);
        assert_eq!(RegionTile::at(91.0, 0.0), None);
    }

    #[test]
    fn neighbours_wrap_at_the_antimeridian_and_stop_at_the_poles() {
        let fiji = RegionTile::at(-17.7, 179.0).unwrap();
        let names: Vec<String> = fiji
            .with_neighbours()
            .iter()
            .map(|t| t.to_string())
            .collect();
        assert_eq!(names.len(), 9);
        assert!(names.contains(&"14-0".to_string()), "{names:?}");
        let pole = RegionTile::at(89.0, 0.0).unwrap();
        assert_eq!(pole.with_neighbours().len(), 6);
    }

    #[test]
    fn names_round_trip_and_only_canonical_names_parse() {
        for row in 0..ROWS {
            for col in 0..COLS {
                let tile = RegionTile { row, col };
                assert_eq!(tile.to_string().parse::<RegionTile>(), Ok(tile));
            }
        }
        for bad in [
            "", "1", "1-", "-1-2", "01-2", "1-072", "36-0", "0-72", "+1-2", "1 -2", "1-2-3", "../1",
        ] {
            assert!(bad.parse::<RegionTile>().is_err(), "{bad:?}");
        }
    }
}

//! WGS-84 → GCJ-02, the datum mainland China's map services (AutoNavi/Amap, Tencent, Google's
//! China tiles) draw in. Everything the desk keeps is WGS-84; this is only for the export a
//! caseworker opens on those maps, where a WGS-84 point would sit hundreds of metres off.
//!
//! GCJ-02 is an obfuscation published by no standard; this is the widely reproduced public
//! formula (Krasovsky 1940 ellipsoid, a = 6378245 m, e² = 0.00669342162296594323), the one in
//! eviltransform and coordtransform, whose published test vectors the tests check. Outside
//! the mainland's bounding box coordinates are unchanged, as those services expect.

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// Whether the services that use GCJ-02 would shift this point (a coarse box around China).
pub fn in_china(lat: f64, lon: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

/// (lat, lon) in WGS-84 → (lat, lon) in GCJ-02.
pub fn from_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = offset(lon - 105.0, lat - 35.0);
    let rad_lat = lat.to_radians();
    let magic = 1.0 - EE * rad_lat.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    let dlat = dlat * 180.0 / ((A * (1.0 - EE)) / (magic * sqrt_magic) * std::f64::consts::PI);
    let dlon = dlon * 180.0 / (A / sqrt_magic * rad_lat.cos() * std::f64::consts::PI);
    (lat + dlat, lon + dlon)
}

/// Where a reviewer or an officer opens a point: a mainland map (Amap, in GCJ-02) inside
/// mainland China, where OpenStreetMap is unreliable; OpenStreetMap elsewhere.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MapLink {
    /// The point in GCJ-02 (lat, lon), inside mainland China only.
    pub gcj02: Option<(f64, f64)>,
    pub url: String,
}

impl MapLink {
    pub fn for_point(lat: f64, lon: f64) -> Self {
        if in_china(lat, lon) {
            let (g_lat, g_lon) = from_wgs84(lat, lon);
            Self {
                gcj02: Some((g_lat, g_lon)),
                url: format!("https://uri.amap.com/marker?position={g_lon:.6},{g_lat:.6}"),
            }
        } else {
            Self {
                gcj02: None,
                url: format!(
                    "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}"
                ),
            }
        }
    }
}

/// The formula's offsets in metres-like units for x = lon − 105°, y = lat − 35°.
fn offset(x: f64, y: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let wave = 20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin();
    let mut lat = wave + 20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin();
    let mut lon = wave + 20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin();
    lat += 160.0 * (y / 12.0 * PI).sin() + 320.0 * (y / 30.0 * PI).sin();
    lon += 150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin();
    lat *= 2.0 / 3.0;
    lon *= 2.0 / 3.0;
    let root = x.abs().sqrt();
    lat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root;
    lon += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root;
    (lat, lon)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (WGS-84 lat, lon) → (GCJ-02 lat, lon): eviltransform's test vectors (Shanghai, Shenzhen,
    /// Beijing) and coordtransform's README example (Beijing, Tiananmen).
    const VECTORS: [(f64, f64, f64, f64); 4] = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
        (39.915, 116.404, 39.91640428150164, 116.41024449916938),
    ];

    #[test]
    fn published_vectors() {
        for (lat, lon, gcj_lat, gcj_lon) in VECTORS {
            let (got_lat, got_lon) = from_wgs84(lat, lon);
            assert!(
                (got_lat - gcj_lat).abs() < 1e-9,
                "{lat},{lon}: lat {got_lat}"
            );
            assert!(
                (got_lon - gcj_lon).abs() < 1e-9,
                "{lat},{lon}: lon {got_lon}"
            );
        }
    }

    #[test]
    fn outside_china_nothing_moves() {
        for (lat, lon) in [
            (52.3791, 4.9003),
            (-1.2921, 36.8219),
            (22.3193, 72.0),
            (60.0, 110.0),
        ] {
            assert_eq!(from_wgs84(lat, lon), (lat, lon));
        }
    }

    #[test]
    fn beijing_opens_on_amap_in_gcj02_and_amsterdam_on_openstreetmap() {
        let beijing = MapLink::for_point(39.9042, 116.4074);
        let (g_lat, g_lon) = beijing.gcj02.unwrap();
        assert_eq!((g_lat, g_lon), from_wgs84(39.9042, 116.4074));
        assert!((g_lat - 39.9042).abs() > 1e-4, "shifted");
        assert_eq!(
            beijing.url,
            format!("https://uri.amap.com/marker?position={g_lon:.6},{g_lat:.6}")
        );
        let amsterdam = MapLink::for_point(52.3791, 4.9003);
        assert_eq!(amsterdam.gcj02, None);
        assert!(amsterdam
            .url
            .starts_with("https://www.openstreetmap.org/?mlat=52.379100&mlon=4.900300"));
    }
}

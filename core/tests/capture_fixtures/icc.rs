//! Colour profiles kept, and nothing in them that names a maker, device or date.

use super::*;

/// Every photo with an ICC profile (the fixtures and the demo's iPhone-era sample, whose
/// profile names Apple four times): the sanitized photo and the upload copy keep the colours
/// (white point, primaries, adaptation, tone curves) and nothing that names a maker, device,
/// date or anything in words; the pixels are untouched.
#[test]
fn icc_profiles_keep_their_colours_and_lose_their_maker() {
    let mut photos: Vec<PathBuf> = all_files(&fixtures())
        .into_iter()
        .filter(|p| expected_refusal(p).is_none())
        .collect();
    photos.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/samples/portrait_6.jpg"));
    let originals = exiftool(&photos);
    let mut checked = 0;
    let mut written = Vec::new();
    let mut with_profile = Vec::new();
    for (path, before) in photos.iter().zip(&originals) {
        if !before.keys().any(|k| k.starts_with("ICC_Profile:")) {
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        let Ok(captured) = capture(bytes.clone(), &request(), &CaptureOptions::default()) else {
            continue;
        };
        assert_eq!(
            decode(&captured.sanitized.jpeg).unwrap().pixels,
            decode(&bytes).unwrap().pixels,
            "{}: pixels unchanged",
            path.display()
        );
        written.push(write_temp(&captured.sanitized.jpeg));
        written.push(write_temp(&captured.upload_copy));
        with_profile.push(before.clone());
    }
    let after = exiftool(&written);
    const COLOURS: [&str; 7] = [
        "MediaWhitePoint",
        "RedMatrixColumn",
        "GreenMatrixColumn",
        "BlueMatrixColumn",
        "ChromaticAdaptation",
        "ColorSpaceData",
        "ProfileConnectionSpace",
    ];
    const IDENTIFYING: [&str; 7] = [
        "ProfileCMMType",
        "PrimaryPlatform",
        "DeviceManufacturer",
        "DeviceModel",
        "ProfileCreator",
        "DeviceMfgDesc",
        "DeviceModelDesc",
    ];
    for (before, copies) in with_profile.iter().zip(after.chunks(2)) {
        for copy in copies {
            for (tag, value) in before {
                let name = tag.split(':').nth(1).unwrap_or_default();
                if tag.starts_with("ICC") && COLOURS.contains(&name) {
                    let kept = copy.iter().find(|(t, _)| t.ends_with(&format!(":{name}")));
                    assert_eq!(kept.map(|(_, v)| v), Some(value), "{tag} kept");
                }
            }
            for (tag, value) in copy {
                let name = tag.split(':').nth(1).unwrap_or_default();
                let text = value.to_string();
                assert!(
                    !IDENTIFYING.contains(&name) || matches!(text.as_str(), "0" | "\"\""),
                    "{tag} = {text}"
                );
                assert!(
                    !text.contains("Apple") && !text.contains("Copyright 2"),
                    "{tag} = {text}"
                );
                if name == "ProfileDateTime" {
                    assert!(
                        text.contains("0000:00:00") || text == "\"\"",
                        "{tag} = {text}"
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 2, "photos with a profile: {checked}");
    println!("{checked} photos with an ICC profile checked");
}

//! The desk's pulled ciphertexts are readable by the desk's user only: `STATE/pulled/` and its
//! `reports/` are 0700, made so when the puller starts, and tightened when a desk made them
//! 0755 before.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sighting_desk::app::Puller;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_pulled_directory_is_private_to_the_desk() {
    let tmp = tempfile::tempdir().unwrap();
    let _ = test_support::client();
    let fresh = tmp.path().join("fresh/pulled");
    Puller::new("http://127.0.0.1:9/", "token".into(), None, fresh.clone()).unwrap();
    let older = tmp.path().join("older/pulled");
    std::fs::create_dir_all(older.join("reports")).unwrap();
    for dir in [&older, &older.join("reports")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Puller::new("http://127.0.0.1:9/", "token".into(), None, older.clone()).unwrap();
    for dir in [&fresh, &older] {
        for d in [dir.clone(), dir.join("reports")] {
            assert_eq!(mode(&d), 0o700, "{} is {:o}", d.display(), mode(&d));
        }
    }
}

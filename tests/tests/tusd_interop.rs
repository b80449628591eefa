//! Our tus client against tusd (the reference tus server, `go install
//! github.com/tus/tusd/v2/cmd/tusd@v2.9.1`; `cargo xtask test` installs it and sets
//! `SIGHTING_TUSD`): the files tusd stores are byte-identical to our ciphertext, an upload cut
//! by the budget and a tusd restart resumes without resending, and with no receipt endpoint
//! the report ends `uploaded_unconfirmed`.

use std::path::Path;
use std::process::Child;

use sighting_core::queue::State;
use sighting_core::sync::SyncBudget;
use sighting_desk::keygen;

use support::engines::{free_port, spawn_tusd};
use support::{phone, submit, syncer, NOW};
use test_support as support;

/// tusd, stopped when dropped.
struct Tusd(Child);

impl Tusd {
    fn start(dir: &Path, port: u16) -> Tusd {
        Tusd(spawn_tusd(dir, port))
    }
}

impl Drop for Tusd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// tusd's stored files (`<id>`, beside `<id>.info`), by SHA-256.
fn stored(dir: &Path) -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none())
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            ring::digest::digest(&ring::digest::SHA256, &bytes)
                .as_ref()
                .try_into()
                .unwrap()
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tusd_stores_our_ciphertext_byte_identical_and_a_cut_upload_resumes_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let small = submit(&device, "Canon_40D.jpg").await;
    let large = submit(&device, "orientation/portrait_1.jpg").await;
    let mut expected: Vec<[u8; 32]> = device
        .call(|d| {
            d.reports()?
                .iter()
                .map(|r| {
                    let bytes = std::fs::read(d.sealed_report(r.id))?;
                    Ok(ring::digest::digest(&ring::digest::SHA256, &bytes)
                        .as_ref()
                        .try_into()
                        .unwrap())
                })
                .collect()
        })
        .await
        .unwrap();
    expected.sort();
    let sizes: u64 = device
        .call(|d| Ok(d.reports()?.iter().map(|r| r.bytes).sum()))
        .await
        .unwrap();

    let uploads = tmp.path().join("tusd");
    std::fs::create_dir_all(&uploads).unwrap();
    let port = free_port();
    let tusd = Tusd::start(&uploads, port);
    let url = format!("http://127.0.0.1:{port}");
    let public = [7u8; 32]; // tusd signs nothing: no receipt will be checked

    // First run: the small report whole (with its POST), the large one cut by the byte budget.
    let first = syncer(&url, public, 32 << 10)
        .sync(
            &device,
            SyncBudget {
                max_bytes: 80 << 10,
                ..NOW
            },
        )
        .await
        .unwrap();
    assert_eq!(first.unconfirmed, vec![small], "{first:?}");
    assert_eq!(first.paused, vec![large], "{first:?}");

    // tusd restarts (a deploy, a crash); a new app process resumes from tusd's offset.
    drop(tusd);
    let _tusd = Tusd::start(&uploads, port);
    let second = syncer(&url, public, 32 << 10)
        .sync(&device, NOW)
        .await
        .unwrap();
    assert_eq!(second.unconfirmed, vec![large], "{second:?}");
    assert_eq!(
        first.bytes_sent + second.bytes_sent,
        sizes,
        "no byte sent twice"
    );

    assert_eq!(
        stored(&uploads),
        expected,
        "tusd holds exactly our ciphertext"
    );
    let outbox = device.call(|d| d.reports()).await.unwrap();
    assert!(outbox.iter().all(|r| r.state == State::UploadedUnconfirmed));
}

//! `sighting-server serve` refuses a bad configuration with one clear line and a non-zero exit.

use std::process::Command;

fn serve(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sighting-server"))
        .arg("serve")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

#[test]
fn bad_configurations_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    sighting_desk::keygen::keygen(&keys).unwrap();
    let key = keys.join("server.key");
    let data = tmp.path().join("data");
    let (key, data_s) = (key.to_str().unwrap(), data.to_str().unwrap());

    let (ok, err) = serve(&[
        "--data",
        data_s,
        "--key",
        tmp.path().join("missing.key").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("cannot read the server key"), "{err}");

    let (ok, err) = serve(&[
        "--data",
        data_s,
        "--key",
        keys.join("recipient.txt").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("is not a server key"), "{err}");

    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let (ok, err) = serve(&["--data", file.join("data").to_str().unwrap(), "--key", key]);
    assert!(
        !ok && err.contains("cannot use") && err.contains("as the data directory"),
        "{err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (ok, err) = serve(&["--data", data_s, "--key", key, "--listen", &addr]);
    assert!(
        !ok && err.contains(&format!("cannot listen on {addr}")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    // A shared store: credentials never on the command line, a store that cannot be reached
    // named, the receipt key required.
    let shared = "postgres://intake@127.0.0.1:1/intake;file:///nonexistent";
    for (args, expected) in [
        (
            vec![
                "--store",
                "postgres://intake:hunter2@127.0.0.1:1/db;s3://b",
                "--key",
                key,
            ],
            "no password in the address",
        ),
        (
            vec!["--store", "mysql://x", "--key", key],
            "expected sqlite:DIR or postgres://",
        ),
        (
            vec!["--store", "postgres://intake@127.0.0.1:1/db", "--key", key],
            "expected postgres://…;s3://bucket/prefix",
        ),
        (
            vec!["--store", shared, "--key", key],
            "cannot use the shared store at postgres://intake@127.0.0.1:1/intake",
        ),
        (vec!["--store", shared], "--store needs --key"),
    ] {
        let (ok, err) = serve(&args);
        assert!(!ok && err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            !err.contains("hunter2"),
            "the password is never echoed: {err}"
        );
    }
}

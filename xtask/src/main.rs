//! `cargo xtask test [--long]` runs every test: Rust, then the generated bindings from Kotlin on
//! the JVM (Maven) and from Python (pytest). `cargo xtask bench` runs the benchmarks side by side
//! with the peer tools and prints ratios. `cargo xtask bindings [--release]` generates the
//! Kotlin, Swift and Python bindings. `cargo xtask vendor-web` refreshes the npm packages the
//! desk's pages embed.

mod bench;
mod shell_words;
mod shells;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("test") => test(&root, args[1..].iter().any(|a| a == "--long")),
        Some("bench") => bench::run(&root, args[1..].iter().any(|a| a == "--quick")),
        Some("bindings") => bindings(&root, args[1..].iter().any(|a| a == "--release")).map(|_| ()),
        Some("check-shells") => bindings(&root, false).and_then(|_| shells::check(&root)),
        Some("fuzz") => fuzz(&root, &args[1..]),
        Some("vendor-web") => vendor_web(&root),
        _ => bail!(
            "usage: cargo xtask test [--long] | bench [--quick] | bindings [--release] | \
             check-shells | fuzz [--seconds N] [TARGET…] | vendor-web"
        ),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn test(root: &Path, long: bool) -> Result<()> {
    shipped_features(root)?;
    trust_line(root)?;
    let python = python_env(root)?;
    let peers = go_peers(root)?;
    // The desk's browser tests: playwright-core and axe-core (Debian's Chromium, no download).
    npm_ci(&root.join("tests/browser"))?;
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(root)
        .args(["test", "--workspace", "--all-targets", "--no-fail-fast"])
        .env("SIGHTING_PYTHON", &python)
        .envs(peers);
    if long {
        cargo.env("SIGHTING_LONG_TESTS", "1");
    }
    run(&mut cargo)?;

    // The bindings from the foreign side, against the debug build just tested; and the shells,
    // which cannot be built here, checked against them.
    bindings(root, false)?;
    shells::check(root)?;
    run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "-p",
        "sighting-server",
        "--bin",
        "sighting-server",
    ]))?;
    let server = root.join("target/debug/sighting-server");
    run(Command::new("mvn")
        .current_dir(root.join("bindings/kotlin"))
        .args(["-q", "-B", "test"]))?;
    // The Android app's own code under Robolectric, with the same library and bindings.
    run(Command::new("mvn")
        .current_dir(root.join("android/robolectric"))
        .args(["-q", "-B", "test"]))?;
    run(Command::new(&python)
        .current_dir(root.join("bindings/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .env("PYTHONPATH", root.join("target/bindings/python"))
        .env("SIGHTING_SERVER", &server))
}

/// The server as shipped (`cargo build -p sighting-server`, no dev-dependencies) has the
/// features it needs. The test builds cannot show it: there the tests' own dependencies turn
/// features on for the server too (`object_store`'s HTTP transport was missing from the shipped
/// server alone, so `serve --store …;s3://…` failed, while every test passed).
fn shipped_features(root: &Path) -> Result<()> {
    let tree = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["tree", "-p", "sighting-server", "-e", "normal,features"])
        .args(["-i", "object_store", "--prefix", "none"])
        .output()?;
    let tree = String::from_utf8_lossy(&tree.stdout);
    anyhow::ensure!(
        tree.contains("object_store feature \"reqwest\""),
        "the shipped sighting-server has no HTTP transport for object_store: add the `reqwest` \
         feature to its object_store dependency (server/Cargo.toml)"
    );
    Ok(())
}

/// The trust line, as built: the intake (internet-facing, ciphertext only) and the desk (the
/// organisation's identity, reviewers' data) share only the core, and the phone's CLI without
/// its desktop demo links the core alone (no server, database, object store, argon2 or zip).
fn trust_line(root: &Path) -> Result<()> {
    let crates_of = |args: &[&str]| -> Result<String> {
        let out = Command::new(env!("CARGO"))
            .current_dir(root)
            .args([
                "tree", "-e", "normal", "--prefix", "none", "--format", "{p}",
            ])
            .args(args)
            .output()?;
        anyhow::ensure!(out.status.success(), "cargo tree {args:?} failed");
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let depends =
        |tree: &str, name: &str| tree.lines().any(|l| l.starts_with(&format!("{name} v")));
    let checks: [(&[&str], &[&str]); 3] = [
        (&["-p", "sighting-intake"], &["sighting-desk"]),
        (&["-p", "sighting-desk"], &["sighting-intake"]),
        (
            &["-p", "sighting-cli", "--no-default-features"],
            &[
                "sighting-server",
                "sighting-intake",
                "sighting-desk",
                "tokio-postgres",
                "object_store",
                "argon2",
                "zip",
            ],
        ),
    ];
    for (args, forbidden) in checks {
        let tree = crates_of(args)?;
        for name in forbidden {
            anyhow::ensure!(
                !depends(&tree, name),
                "{} depends on {name}: that crosses the trust line (docs/architecture.md)",
                args[1]
            );
        }
    }
    Ok(())
}

/// The fuzz targets (`fuzz/fuzz_targets/`) under libFuzzer via cargo-fuzz, which needs a
/// nightly toolchain (`-Zsanitizer`, sancov): each target for `--seconds` (default 60), from a
/// scratch copy of its corpus in `target/fuzz-corpus/` (so new inputs do not land in the
/// repository); crashes go to `target/fuzz-artifacts/<target>/`.
fn fuzz(root: &Path, args: &[String]) -> Result<()> {
    const TARGETS: [&str; 5] = [
        "jpeg_walker",
        "exif_reader",
        "tus_headers",
        "manifest",
        "sealed_report",
    ];
    let mut seconds = "60".to_string();
    let mut chosen = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => seconds = rest.next().context("--seconds needs a number")?.clone(),
            target if TARGETS.contains(&target) => chosen.push(target),
            other => bail!("unknown fuzz target {other:?}; the targets: {TARGETS:?}"),
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }
    for target in chosen {
        let scratch = root.join("target/fuzz-corpus").join(target);
        let artifacts = root.join("target/fuzz-artifacts").join(target);
        std::fs::create_dir_all(&scratch)?;
        std::fs::create_dir_all(&artifacts)?;
        run(Command::new("cargo")
            .current_dir(root.join("fuzz"))
            .args(["+nightly", "fuzz", "run", target])
            .arg(&scratch)
            .arg(root.join("fuzz/corpus").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display())))?;
    }
    Ok(())
}

/// `npm ci` in `dir`: exactly the packages its lock file names.
fn npm_ci(dir: &Path) -> Result<()> {
    run(Command::new("npm").current_dir(dir).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
}

/// The map library, its clustering plugin and the country outlines with names in English and
/// Chinese, from npm into `desk/web/vendor/` (committed; the server embeds them).
fn vendor_web(root: &Path) -> Result<()> {
    let web = root.join("desk/web");
    npm_ci(&web)?;
    run(Command::new("node").current_dir(&web).arg("vendor.mjs"))
}

/// A Python virtualenv under `target/` with the test tools from PyPI: tuspy (the third-party tus
/// client the intake server is tested against), pytest and cryptography (the Python bindings'
/// tests). Made once, then reused.
fn python_env(root: &Path) -> Result<PathBuf> {
    const PACKAGES: [&str; 3] = ["tuspy==1.1.0", "pytest==8.3.4", "cryptography==44.0.0"];
    let venv = root.join("target/py-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let stamp = venv.join("installed.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(&PACKAGES.join("\n")) {
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PACKAGES))?;
        std::fs::write(&stamp, PACKAGES.join("\n"))?;
    }
    Ok(python)
}

/// Builds the `sighting-ffi` cdylib and generates Kotlin, Swift and Python from it (library
/// mode: the bindings come from the metadata in the library itself, so they always match it)
/// into `target/bindings/{kotlin,kotlin-jvm,swift,python}`. Returns the library's path.
///
/// `--release` builds what the phones ship, the `mobile` profile, which keeps
/// `strip = "debuginfo"`: a fully stripped library has no UniFFI metadata left to generate from.
pub(crate) fn bindings(root: &Path, release: bool) -> Result<PathBuf> {
    let profile = if release { "mobile" } else { "debug" };
    let mut build = Command::new(env!("CARGO"));
    build
        .current_dir(root)
        .args(["build", "-p", "sighting-ffi", "-p", "uniffi-bindgen"]);
    if release {
        build.args(["--profile", "mobile"]);
    }
    run(&mut build)?;
    let library = root.join(format!("target/{profile}/libsighting_ffi.so"));
    let out = root.join("target/bindings");
    // kotlin: for Android (android_cleaner); kotlin-jvm: the same API for the JVM tests.
    let jvm = root.join("bindings/sighting-ffi/uniffi-jvm.toml");
    for (dir, language, config) in [
        ("kotlin", "kotlin", None),
        ("kotlin-jvm", "kotlin", Some(&jvm)),
        ("swift", "swift", None),
        ("python", "python", None),
    ] {
        let dir = out.join(dir);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let mut generate = Command::new(root.join(format!("target/{profile}/uniffi-bindgen")));
        generate
            .current_dir(root)
            .args(["generate", "--no-format", "--library"])
            .arg(&library)
            .args(["--language", language, "--out-dir"])
            .arg(&dir);
        if let Some(config) = config {
            generate.arg("--config").arg(config);
        }
        run(&mut generate)?;
    }
    // Python loads the library from beside its module.
    std::fs::copy(&library, out.join("python/libsighting_ffi.so"))?;
    Ok(library)
}

/// The peers built from the Go module proxy into `target/go-bin` (once), as the variables the
/// tests and benches find them by: tusd, the reference tus server our sync client is tested and
/// the intake benchmarked against, and versitygw, the S3 server (Apache-2.0) the shared intake
/// store is tested and benchmarked on.
pub(crate) fn go_peers(root: &Path) -> Result<Vec<(&'static str, PathBuf)>> {
    let bin = root.join("target/go-bin");
    [
        (
            "SIGHTING_TUSD",
            "tusd",
            "github.com/tus/tusd/v2/cmd/tusd@v2.9.1",
        ),
        (
            "SIGHTING_VERSITYGW",
            "versitygw",
            "github.com/versity/versitygw/cmd/versitygw@v1.8.0",
        ),
    ]
    .into_iter()
    .map(|(variable, name, module)| {
        let tool = bin.join(name);
        if !tool.exists() {
            run(Command::new("go")
                .args(["install", module])
                .env("GOBIN", &bin))?;
        }
        Ok((variable, tool))
    })
    .collect()
}

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

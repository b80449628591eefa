//! The mobile library's size as shipped, on x86_64 and arm64, and what it is made of.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

/// The phones' architecture, cross-compiled for Linux: the same code as `aarch64-linux-android`
/// and `aarch64-apple-ios` but buildable here with Debian's cross GCC (no NDK or Xcode needed).
const ARM64: &str = "aarch64-unknown-linux-gnu";

/// What a phone may install: the arm64 library fully stripped.
const BUDGET: u64 = 4 << 20;

/// The shipped `libsighting_ffi.so` (the `mobile` profile): on x86_64 and, where the cross
/// toolchain is installed (`rustup target add aarch64-unknown-linux-gnu`, Debian
/// `gcc-aarch64-linux-gnu` and `libc6-dev-arm64-cross`), on arm64. Returns the report, and a
/// line saying so when arm64 is over the budget.
pub(super) fn ffi_sizes(root: &Path) -> Result<(String, Option<String>)> {
    build_ffi(root, None)?;
    let (mut out, _) = ffi_size(root, None)?;
    let has_target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(ARM64));
    let has_gcc = Command::new("aarch64-linux-gnu-gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(has_target && has_gcc) {
        out.push_str(&format!(
            "arm64 NOT MEASURED, the budget not checked: `rustup target add {ARM64}` and \
             `apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross`\n"
        ));
        return Ok((out, None));
    }
    build_ffi(root, Some(ARM64))?;
    let (arm64, stripped) = ffi_size(root, Some(ARM64))?;
    out.push_str(&arm64);
    let over = (stripped > BUDGET).then(|| {
        format!(
            "OVER BUDGET: the arm64 library is {:.2} MiB stripped ({stripped} bytes), the budget \
             {:.2} MiB ({BUDGET} bytes)",
            stripped as f64 / 1048576.0,
            BUDGET as f64 / 1048576.0
        )
    });
    Ok((out, over))
}

/// `cargo build --profile mobile -p sighting-ffi`, alone, as the app builds ship it: built together
/// with `uniffi-bindgen` (as `cargo xtask bindings` does), shared dependencies get the
/// generator's features too. `Some(ARM64)` cross-compiles with Debian's GCC.
fn build_ffi(root: &Path, target: Option<&str>) -> Result<()> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(root)
        .args(["build", "--profile", "mobile", "-p", "sighting-ffi"]);
    if let Some(triple) = target {
        let gcc = "aarch64-linux-gnu-gcc";
        cargo
            .args(["--target", triple])
            .env("CC_aarch64_unknown_linux_gnu", gcc)
            .env("AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar")
            .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", gcc);
    }
    crate::run(&mut cargo)
}

/// One build's size as shipped (`strip = "debuginfo"`, which keeps UniFFI's metadata), fully
/// stripped (returned in bytes too), and the largest crates by the size of their code
/// (`nm --size-sort`, grouped by the first path segment of each demangled symbol).
fn ffi_size(root: &Path, target: Option<&str>) -> Result<(String, u64)> {
    let (dir, tools, arch) = match target {
        Some(triple) => (
            format!("target/{triple}/mobile"),
            "aarch64-linux-gnu-",
            "arm64",
        ),
        None => ("target/mobile".to_string(), "", "x86_64"),
    };
    let library = root.join(dir).join("libsighting_ffi.so");
    let stripped = root.join(format!("target/bench/libsighting_ffi.{arch}.stripped.so"));
    crate::run(
        Command::new(format!("{tools}strip"))
            .arg("--strip-all")
            .arg(&library)
            .arg("-o")
            .arg(&stripped),
    )?;
    let mib = |p: &Path| -> Result<f64> { Ok(std::fs::metadata(p)?.len() as f64 / 1048576.0) };
    let stripped_bytes = std::fs::metadata(&stripped)?.len();
    let mut out = format!(
        "libsighting_ffi.so (mobile profile, {arch}): {:.2} MiB as built, {:.2} MiB fully \
         stripped ({stripped_bytes} bytes)\n",
        mib(&library)?,
        mib(&stripped)?
    );
    let nm = Command::new(format!("{tools}nm"))
        .args(["--size-sort", "-C", "-S"])
        .arg(&library)
        .output()?;
    let mut by_crate: std::collections::BTreeMap<String, u64> = Default::default();
    for line in String::from_utf8_lossy(&nm.stdout).lines() {
        let mut parts = line.splitn(4, ' ');
        let (_, size, _, name) = (parts.next(), parts.next(), parts.next(), parts.next());
        let (Some(size), Some(name)) = (size, name) else {
            continue;
        };
        let size = u64::from_str_radix(size, 16).unwrap_or(0);
        let name = name.trim_start_matches('<').trim_start_matches("_<");
        let krate = name
            .split("::")
            .next()
            .unwrap_or(name)
            .split(['<', ' '])
            .next()
            .unwrap_or(name);
        let krate = if krate.starts_with("ring_core_") || krate.starts_with("GFp") {
            "ring (C/asm)"
        } else if krate.starts_with("tj")
            || krate.starts_with("jpeg_")
            || krate.starts_with("jsimd")
        {
            "libjpeg-turbo (C)"
        } else if krate.starts_with("sqlite3") {
            "sqlite (C)"
        } else {
            krate
        };
        *by_crate.entry(krate.to_string()).or_default() += size;
    }
    let mut sizes: Vec<_> = by_crate.into_iter().collect();
    sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
    out.push_str("largest by symbol size (KiB):\n");
    for (krate, size) in sizes.iter().take(12) {
        out.push_str(&format!("  {:>7.1}  {krate}\n", *size as f64 / 1024.0));
    }
    Ok((out, stripped_bytes))
}

//! `cargo xtask check-shells`: the Android and iOS shells cannot be compiled here, so this keeps
//! them from drifting from the bindings. Every method they call on a `SightingClient` exists in
//! the generated Kotlin and Swift; every `org.sighting.*` type the Android app imports exists in
//! the generated Kotlin; every generated Swift record the iOS app builds is built with the
//! record's fields, in order. And their words ([`crate::shell_words`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

pub fn check(root: &Path) -> Result<()> {
    let generated = root.join("target/bindings");
    let kotlin = std::fs::read_to_string(generated.join("kotlin/org/sighting/sighting_ffi.kt"))?;
    let swift = std::fs::read_to_string(generated.join("swift/SightingFFI.swift"))?;
    let android = sources(&root.join("android/app/src/main/java"), "kt")?;
    let ios = sources(&root.join("ios/Sighting"), "swift")?;
    let mut problems = Vec::new();
    let mut checked = 0;

    for (file, text) in &android {
        for method in client_calls(text) {
            checked += 1;
            if !kotlin.contains(&format!("fun `{method}`(")) {
                problems.push(format!(
                    "{}: SightingClient.{method} is not in the Kotlin bindings",
                    file.display()
                ));
            }
        }
        for line in text.lines() {
            let Some(name) = line.trim().strip_prefix("import org.sighting.") else {
                continue;
            };
            if name.starts_with("shell.") || name.starts_with("app.") {
                continue;
            }
            checked += 1;
            let declared = ["class ", "interface ", "object "].iter().any(|kind| {
                kotlin.contains(&format!("{kind}{name} "))
                    || kotlin.contains(&format!("{kind}{name}:"))
            });
            if !declared {
                problems.push(format!(
                    "{}: org.sighting.{name} is not in the Kotlin bindings",
                    file.display()
                ));
            }
        }
    }
    for (file, text) in &ios {
        for method in client_calls(text) {
            checked += 1;
            if !swift.contains(&format!("func {method}(")) {
                problems.push(format!(
                    "{}: SightingClient.{method} is not in the Swift bindings",
                    file.display()
                ));
            }
        }
        for (record, fields) in swift_records(&swift) {
            for labels in initialiser_labels(text, &record) {
                checked += 1;
                if labels != fields {
                    problems.push(format!(
                        "{}: {record}({}) but the bindings have {record}({})",
                        file.display(),
                        labels.join(", "),
                        fields.join(", ")
                    ));
                }
            }
        }
    }
    problems.extend(crate::shell_words::check(root)?);
    if !problems.is_empty() {
        bail!(
            "the shells drifted from the bindings or lack a word:\n  {}",
            problems.join("\n  ")
        );
    }
    println!("check-shells: {checked} uses of the bindings in the shells, all present");
    Ok(())
}

pub(crate) fn sources(dir: &Path, ext: &str) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(sources(&path, ext)?);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push((path.clone(), std::fs::read_to_string(&path)?));
        }
    }
    Ok(out)
}

/// Method names called as `client.name(` or `client().name(`.
fn client_calls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["client().", "client."] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && rest[name.len()..].starts_with('(') {
                out.push(name);
            }
        }
    }
    out
}

/// Each public struct of the generated Swift with its stored fields in order (the labels of
/// its memberwise initialiser).
fn swift_records(swift: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (at, _) in swift.match_indices("public struct ") {
        let rest = &swift[at + "public struct ".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
        if name.starts_with("FfiConverter") || !rest[name.len()..].starts_with(": Equatable") {
            continue;
        }
        let body = &rest[..rest.find("public init(").unwrap_or(rest.len())];
        let fields = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("public var "))
            .filter_map(|l| l.split(':').next())
            .map(|f| f.trim().to_string())
            .collect();
        out.push((name, fields));
    }
    out
}

/// The argument labels of every `Record(` call in `text`.
fn initialiser_labels(text: &str, record: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let call = format!("{record}(");
    for (at, _) in text.match_indices(&call) {
        let before = text[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '.') {
            continue;
        }
        let args = &text[at + call.len()..];
        let (mut depth, mut end) = (0i32, args.len());
        for (i, c) in args.char_indices() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' if depth == 0 => {
                    end = i;
                    break;
                }
                ')' | ']' => depth -= 1,
                _ => {}
            }
        }
        let mut labels = Vec::new();
        let mut depth = 0;
        let mut part = String::new();
        for c in args[..end].chars().chain([',']) {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    if let Some((label, _)) = part.split_once(':') {
                        labels.push(label.trim().to_string());
                    }
                    part.clear();
                    continue;
                }
                _ => {}
            }
            part.push(c);
        }
        out.push(labels);
    }
    out
}

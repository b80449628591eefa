//! The shells' words, checked by `cargo xtask check-shells`: every word a screen shows exists
//! in English and in Simplified Chinese, and none is written into a screen's code.
//!
//! - Android: `values/strings.xml` and `values-zh-rCN/strings.xml` hold the same keys, none
//!   empty, the Chinese ones in Chinese, with the same placeholders; every `R.string.x` the app
//!   names exists, every key is used; no literal in `Text("…")`, `contentDescription = "…"` or
//!   `message = "…"`.
//! - iOS: every literal a SwiftUI view looks up (`Text("…")`, `Button("…")`, `Label("…")`,
//!   `String(localized: "…")`, …) is in `Localizable.xcstrings` with English and `zh-Hans`
//!   values and the same placeholders, never built by interpolation; every catalog key is used;
//!   no `message = "…"`; the permission prompts in `InfoPlist.xcstrings` in both languages.
//!
//! Words composed from the core's values (the outbox's states, the missing-children list) live
//! in the shared models, in both languages side by side, and are unit-tested on the JVM.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

/// Problems found, one line each.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = android(root)?;
    problems.extend(ios(root)?);
    Ok(problems)
}

fn android(root: &Path) -> Result<Vec<String>> {
    let res = root.join("android/app/src/main/res");
    let read = |p: &str| std::fs::read_to_string(res.join(p)).with_context(|| p.to_string());
    let en = android_strings(&read("values/strings.xml")?);
    let zh = android_strings(&read("values-zh-rCN/strings.xml")?);
    let organisation = android_strings(&read("values/organisation.xml")?);
    let mut problems = two_languages("values-zh-rCN/strings.xml", &en, &zh);
    let mut code = String::new();
    for (file, text) in super::shells::sources(&root.join("android/app/src/main/java"), "kt")? {
        for literal in ["Text(\"", "contentDescription = \"", "message = \""] {
            if text.contains(literal) {
                problems.push(format!(
                    "{}: a hard-coded word ({literal}…): use a string resource",
                    file.display()
                ));
            }
        }
        code.push_str(&text);
    }
    code.push_str(&std::fs::read_to_string(
        root.join("android/app/src/main/AndroidManifest.xml"),
    )?);
    let named = names_after(&code, "R.string.").chain(names_after(&code, "@string/"));
    for name in named {
        if !en.contains_key(&name) && !organisation.contains_key(&name) {
            problems.push(format!("R.string.{name} is in no strings.xml"));
        }
    }
    for key in en.keys() {
        if !code.contains(&format!("R.string.{key})"))
            && !code.contains(&format!("R.string.{key},"))
            && !code.contains(&format!("@string/{key}\""))
        {
            problems.push(format!("strings.xml: {key} is never used"));
        }
    }
    Ok(problems)
}

/// A String Catalog's English and `zh-Hans` words by key.
type Catalog = (BTreeMap<String, String>, BTreeMap<String, String>);

fn catalog(path: &Path) -> Result<Catalog> {
    let catalog: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(path).with_context(|| path.display().to_string())?,
    )?;
    let (mut en, mut zh) = (BTreeMap::new(), BTreeMap::new());
    for (key, entry) in catalog["strings"].as_object().context("no strings")? {
        let value = |lang: &str| {
            entry["localizations"][lang]["stringUnit"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        en.insert(key.clone(), value("en"));
        zh.insert(key.clone(), value("zh-Hans"));
    }
    Ok((en, zh))
}

fn ios(root: &Path) -> Result<Vec<String>> {
    // The permission prompts (Info.plist usage descriptions) are words too.
    let (plist_en, plist_zh) = catalog(&root.join("ios/Sighting/InfoPlist.xcstrings"))?;
    let mut problems = two_languages("InfoPlist.xcstrings zh-Hans", &plist_en, &plist_zh);
    let project = std::fs::read_to_string(root.join("ios/project.yml"))?;
    for key in names_after(&project, "INFOPLIST_KEY_").filter(|k| k.ends_with("UsageDescription")) {
        if !plist_en.contains_key(&key) {
            problems.push(format!("InfoPlist.xcstrings: {key} is missing"));
        }
    }
    let (en, zh) = catalog(&root.join("ios/Sighting/Localizable.xcstrings"))?;
    problems.extend(two_languages("Localizable.xcstrings zh-Hans", &en, &zh));
    let mut used = std::collections::BTreeSet::new();
    for (file, text) in super::shells::sources(&root.join("ios/Sighting"), "swift")? {
        if text.contains("message = \"") {
            problems.push(format!(
                "{}: a hard-coded word (message = \"…\"): use String(localized:)",
                file.display()
            ));
        }
        for call in [
            "Text(\"",
            "Button(\"",
            "TextField(\"",
            "Toggle(\"",
            "Label(\"",
            "Picker(\"",
            "Section(\"",
            ".navigationTitle(\"",
            "String(localized: \"",
        ] {
            for (at, _) in text.match_indices(call) {
                let key = literal(&text[at + call.len()..]);
                if key.contains("\\(") {
                    problems.push(format!(
                        "{}: {call}{key}\": a looked-up word built by interpolation; use String(format:) with a catalog key",
                        file.display()
                    ));
                } else if !en.contains_key(&key) {
                    problems.push(format!(
                        "{}: {key:?} is not in Localizable.xcstrings",
                        file.display()
                    ));
                }
                used.insert(key);
            }
        }
    }
    for key in en.keys().filter(|k| !used.contains(*k)) {
        problems.push(format!("Localizable.xcstrings: {key:?} is never used"));
    }
    Ok(problems)
}

/// Both languages have the same keys, none empty, the Chinese in Chinese, the same placeholders.
fn two_languages(
    what: &str,
    en: &BTreeMap<String, String>,
    zh: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for key in en.keys().filter(|k| !zh.contains_key(*k)) {
        problems.push(format!("{what}: {key} is missing"));
    }
    for key in zh.keys().filter(|k| !en.contains_key(*k)) {
        problems.push(format!("{what}: {key} has no English"));
    }
    for (key, zh_word) in zh {
        let Some(en_word) = en.get(key) else { continue };
        let han = zh_word
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        if en_word.trim().is_empty() || !han {
            problems.push(format!("{what}: {key} is empty or not Chinese"));
        }
        if placeholders(en_word) != placeholders(zh_word) {
            problems.push(format!(
                "{what}: {key} has other placeholders than in English"
            ));
        }
    }
    problems
}

/// `%1$s`, `%d`, `%@`, `%lld`, … in order of appearance, sorted (languages may reorder them).
fn placeholders(word: &str) -> Vec<String> {
    let mut found: Vec<String> = word
        .match_indices('%')
        .map(|(at, _)| {
            word[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '$' || *c == '@')
                .collect()
        })
        .collect();
    found.sort();
    found
}

/// `<string name="key">value</string>` entries of a resources file.
fn android_strings(xml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in xml.split("<string name=\"").skip(1) {
        let Some((name, rest)) = part.split_once('"') else {
            continue;
        };
        let value = rest
            .split_once('>')
            .and_then(|(_, v)| v.split_once("</string>"))
            .map(|(v, _)| v.to_string())
            .unwrap_or_default();
        out.insert(name.to_string(), value);
    }
    out
}

fn names_after<'a>(text: &'a str, marker: &'a str) -> impl Iterator<Item = String> + 'a {
    text.match_indices(marker).map(move |(at, _)| {
        text[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    })
}

/// A Swift string literal's text, up to its closing quote.
fn literal(rest: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in rest.chars() {
        match c {
            '"' if !escaped => break,
            '\\' if !escaped => escaped = true,
            _ => escaped = false,
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_untranslated_word_and_other_placeholders_are_problems() {
        let en = BTreeMap::from([
            ("a".to_string(), "Send".to_string()),
            ("b".to_string(), "Case %1$s".to_string()),
            ("c".to_string(), "Save".to_string()),
        ]);
        let zh = BTreeMap::from([
            ("a".to_string(), "发送".to_string()),
            ("b".to_string(), "案件".to_string()),
            ("d".to_string(), "多余".to_string()),
        ]);
        let problems = two_languages("zh", &en, &zh);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("c is missing")));
        assert!(problems.iter().any(|p| p.contains("d has no English")));
        assert!(problems
            .iter()
            .any(|p| p.contains("b has other placeholders")));
    }

    #[test]
    fn resources_and_literals_are_read_as_written() {
        let xml = r#"<resources><string name="send">Send</string>
            <string name="photo_ready">Photo (%1$d×%2$d)</string></resources>"#;
        let strings = android_strings(xml);
        assert_eq!(strings["photo_ready"], "Photo (%1$d×%2$d)");
        assert_eq!(placeholders(&strings["photo_ready"]), ["1$d", "2$d"]);
        assert_eq!(literal(r#"Say \"hi\"") {"#), r#"Say \"hi\""#);
    }
}

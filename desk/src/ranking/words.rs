//! A reason in words, for the command line and the demo: the words the desk's pages show
//! (`web/pages/words.json`, Chinese and English), filled in as the pages fill them.

use std::sync::LazyLock;

use serde_json::Value;

use super::Reason;
use crate::lead::Lang;

/// The pages' words, read once.
static WORDS: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../web/pages/words.json")).unwrap_or_default()
});

/// A word by its key; the key itself if there is none, as on the pages.
fn word(lang: Lang, key: &str) -> String {
    let language = match lang {
        Lang::En => "en",
        Lang::Zh => "zh",
    };
    WORDS[language][key].as_str().unwrap_or(key).to_string()
}

impl Reason {
    /// This reason as the desk's pages word it, its values (a sex or age band in words too)
    /// filled in.
    pub fn words(&self, lang: Lang) -> String {
        let mut values = serde_json::to_value(self).unwrap_or_default();
        let seen = values["seen"].as_str().unwrap_or_default().to_string();
        let seen = match self {
            Reason::SexDiffers { .. } => word(lang, &format!("sex_{seen}")),
            Reason::AgeFits { .. } | Reason::AgeDiffers { .. } => {
                word(lang, &format!("age_{seen}"))
            }
            _ => seen,
        };
        values["seen"] = Value::String(seen);
        let kind = values["kind"].as_str().unwrap_or_default();
        fill(&word(lang, &format!("reason_{kind}")), &values)
    }
}

/// `{name}` in `template` replaced by the value of that name (nothing if it has none).
fn fill(template: &str, values: &Value) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                match &values[&after[..close]] {
                    Value::String(s) => out.push_str(s),
                    Value::Number(n) => out.push_str(&n.to_string()),
                    _ => {}
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sighting_core::report::{AgeBand, Sex};

    fn every_kind() -> [Reason; 11] {
        [
            Reason::LinkedByReporter,
            Reason::LinkedToAnotherCase {
                case_number: "C-9".into(),
            },
            Reason::SexFits,
            Reason::SexDiffers { seen: Sex::Boy },
            Reason::AgeFits {
                expected: 7,
                seen: AgeBand::From5To9,
            },
            Reason::AgeDiffers {
                expected: 12,
                seen: AgeBand::Under5,
            },
            Reason::FromLastSeen { km: 3 },
            Reason::OutOfReach { km: 900, days: 1 },
            Reason::SeenBeforeMissing,
            Reason::InjuryFitsMarks,
            Reason::NoInjuryButMarks,
        ]
    }

    #[test]
    fn every_reason_has_words_in_both_languages_and_no_code() {
        for reason in every_kind() {
            for lang in [Lang::En, Lang::Zh] {
                let said = reason.words(lang);
                assert!(
                    !said.is_empty() && !said.contains(['{', '}', '_']),
                    "{reason:?} in {lang:?}: {said}"
                );
            }
        }
    }

    #[test]
    fn the_values_are_filled_in_and_worded() {
        let age = Reason::AgeFits {
            expected: 7,
            seen: AgeBand::From5To9,
        };
        let said = age.words(Lang::En);
        assert!(said.contains("5 to 9") && said.contains('7'), "{said}");
        assert!(age.words(Lang::Zh).contains("5 至 9"));
        let sex = Reason::SexDiffers { seen: Sex::Boy }.words(Lang::En);
        assert!(sex.contains("boy"), "{sex}");
        let far = Reason::FromLastSeen { km: 3 }.words(Lang::En);
        assert!(far.starts_with("3 km"), "{far}");
        let other = Reason::LinkedToAnotherCase {
            case_number: "C-9".into(),
        };
        assert!(other.words(Lang::Zh).contains("C-9"));
    }

    #[test]
    fn a_template_keeps_what_is_not_a_name() {
        let values = serde_json::json!({ "km": 4, "seen": "boy" });
        assert_eq!(fill("{km} km, {seen} {nope} {", &values), "4 km, boy  {");
    }
}

//! The desk's pages and everything they load, embedded in the binary: the page, its script,
//! style and words (`desk/web/pages/`), and the vendored map library, clustering plugin and
//! country outlines (`desk/web/vendor/`, from npm by `cargo xtask vendor-web`). Nothing is
//! fetched from anywhere else at run time but the map tiles of the organisation's own server.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A file the pages load, by its path under `/static/`.
struct Asset {
    path: &'static str,
    mime: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $mime:expr, $file:literal) => {
        Asset {
            path: $path,
            mime: $mime,
            bytes: include_bytes!(concat!("../../web/", $file)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON: &str = "application/json";

const ASSETS: &[Asset] = &[
    asset!("desk.js", JS, "pages/desk.js"),
    asset!("map.js", JS, "pages/map.js"),
    asset!("search.js", JS, "pages/search.js"),
    asset!("lead.js", JS, "pages/lead.js"),
    asset!("cases.js", JS, "pages/cases.js"),
    asset!("candidates.js", JS, "pages/candidates.js"),
    asset!("admin.js", JS, "pages/admin.js"),
    asset!("desk.css", CSS, "pages/desk.css"),
    asset!("words.json", JSON, "pages/words.json"),
    asset!("vendor/leaflet.js", JS, "vendor/leaflet.js"),
    asset!("vendor/leaflet.css", CSS, "vendor/leaflet.css"),
    asset!(
        "vendor/leaflet.markercluster.js",
        JS,
        "vendor/leaflet.markercluster.js"
    ),
    asset!("vendor/MarkerCluster.css", CSS, "vendor/MarkerCluster.css"),
    asset!(
        "vendor/MarkerCluster.Default.css",
        CSS,
        "vendor/MarkerCluster.Default.css"
    ),
    asset!("vendor/countries.json", JSON, "vendor/countries.json"),
];

/// The desk's one page.
pub const INDEX: &str = include_str!("../../web/pages/index.html");

pub(super) async fn index() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response()
}

pub(super) async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(a) => ([(header::CONTENT_TYPE, a.mime)], a.bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The organisation's tile server: a URL template with `{z}`, `{x}` and `{y}`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MapTiles {
    pub url: String,
    /// Credit shown on the map (OpenStreetMap data needs "© OpenStreetMap contributors").
    pub attribution: String,
    /// `scheme://host[:port]`: the one place besides the desk that pages may load images from.
    #[serde(skip)]
    origin: String,
}

impl MapTiles {
    pub fn new(url: &str, attribution: &str) -> anyhow::Result<Self> {
        let parsed = reqwest::Url::parse(&url.replace(['{', '}'], ""))
            .map_err(|e| anyhow::anyhow!("the tile URL template is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            anyhow::bail!("the tile URL template must be http(s)");
        }
        if !["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p)) {
            anyhow::bail!("the tile URL template needs {{z}}, {{x}} and {{y}}");
        }
        Ok(MapTiles {
            url: url.to_string(),
            attribution: attribution.to_string(),
            origin: parsed.origin().ascii_serialization(),
        })
    }
}

/// Only the desk's own scripts, styles, fonts and data; images also from the tile server.
pub(super) fn content_security_policy(tiles: Option<&MapTiles>) -> String {
    let tile_origin = tiles.map(|t| format!(" {}", t.origin)).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: blob:{tile_origin}; connect-src 'self'; font-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn words() -> serde_json::Value {
        let words = ASSETS.iter().find(|a| a.path == "words.json").unwrap();
        serde_json::from_slice(words.bytes).unwrap()
    }

    fn keys(language: &str) -> BTreeSet<String> {
        words()[language]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// Every key the page and its script name literally: `data-i18n="key"` and
    /// `data-i18n-label="key"` in the page, `t("key")`, `flash("key")` and
    /// `say("id", "key")` in the script.
    fn literal_keys() -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        for (at, _) in script().match_indices("say(\"") {
            let mut parts = script()[at + 5..].split('"');
            if let (Some(_id), Some(", "), Some(key)) = (parts.next(), parts.next(), parts.next()) {
                used.insert(key.to_string());
            }
        }
        for (text, openers) in [
            (INDEX, &["data-i18n=\"", "data-i18n-label=\""][..]),
            (script(), &["t(\"", "flash(\""][..]),
        ] {
            for opener in openers {
                for (at, _) in text.match_indices(opener) {
                    // `t("` only as a call of its own (not `set("`).
                    let before = text[..at].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                        continue;
                    }
                    let key = text[at + opener.len()..].split('"').next().unwrap();
                    // `t("triage_" + x)`: a prefix, checked by `built_keys`.
                    if !key.ends_with('_') {
                        used.insert(key.to_string());
                    }
                }
            }
        }
        used
    }

    /// The page's own scripts, as its `<script>` tags name them (the vendored ones aside).
    fn page_scripts() -> Vec<&'static str> {
        let opener = "<script src=\"/static/";
        INDEX
            .match_indices(opener)
            .map(|(at, _)| INDEX[at + opener.len()..].split('"').next().unwrap())
            .filter(|path| !path.starts_with("vendor/"))
            .collect()
    }

    /// The page's scripts, one after the other.
    fn script() -> &'static str {
        static ALL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        ALL.get_or_init(|| {
            page_scripts()
                .into_iter()
                .map(|name| {
                    let asset = ASSETS.iter().find(|a| a.path == name).unwrap();
                    std::str::from_utf8(asset.bytes).unwrap()
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// Every script the desk serves is on the page, and every one the page loads is served: a
    /// script left out of either would go unchecked for its words, or never run.
    #[test]
    fn the_page_loads_every_script_the_desk_serves() {
        let listed: BTreeSet<_> = page_scripts().into_iter().collect();
        let served: BTreeSet<_> = ASSETS
            .iter()
            .map(|a| a.path)
            .filter(|p| p.ends_with(".js") && !p.starts_with("vendor/"))
            .collect();
        assert_eq!(listed, served);
        assert!(listed.contains("map.js") && listed.contains("lead.js"));
    }

    /// The keys the script builds from a value (`t("triage_" + x)`), from the values' own types.
    fn built_keys() -> BTreeSet<String> {
        use crate::state::{Publication, Role, Triage};
        use serde_json::json;
        use sighting_core::report::{Activity, AgeBand, Sex, WithAdults};
        let triage = Triage::ALL.map(|t| format!("triage_{t}"));
        let roles = [Role::Reviewer, Role::CaseManager, Role::Admin].map(|r| format!("role_{r}"));
        // The audit log's actions (`state/mod.rs`, `state/cases.rs`), the outcomes of opening a
        // report, and a case's publication states.
        let actions = [
            "opened",
            "triage",
            "comment",
            "assign",
            "lead_package",
            "case_created",
            "case_edited",
            "case_photo_added",
            "case_consent",
            "case_publication",
            "candidate_decision",
            "reviewer_added",
            "reviewer_disabled",
            "reviewer_enabled",
            "password_reset",
            "logins_unlocked",
            "token_made",
            "token_revoked",
            "link_confirmed",
            "link_rejected",
            "lead_override",
            "export",
        ]
        .map(|a| format!("action_{a}"));
        let outcomes = ["verified", "failed"].map(|o| format!("outcome_{o}"));
        let name =
            |prefix: &str, value: serde_json::Value| format!("{prefix}{}", value.as_str().unwrap());
        let publication = [
            Publication::Draft,
            Publication::Published,
            Publication::Closed,
        ]
        .map(|p| name("publication_", json!(p)));
        // The reporter's answers (`core::report::observations`), from the types themselves.
        let sex = [Sex::Boy, Sex::Girl, Sex::Unknown].map(|v| name("sex_", json!(v)));
        let age = [
            AgeBand::Under5,
            AgeBand::From5To9,
            AgeBand::From10To13,
            AgeBand::From14To17,
        ]
        .map(|v| name("age_", json!(v)));
        let adults = [WithAdults::None, WithAdults::One, WithAdults::Several]
            .map(|v| name("adults_", json!(v)));
        let activity = [
            Activity::Begging,
            Activity::Selling,
            Activity::Performing,
            Activity::Other,
        ]
        .map(|v| name("activity_", json!(v)));
        // Why a report has no place (`core::capture::location`, or coordinates off the globe),
        // and a receipt the desk cannot vouch for (`desk::receipts`).
        use sighting_core::capture::LocationMissing;
        let no_location = [
            LocationMissing::PermissionDenied,
            LocationMissing::NoFix,
            LocationMissing::Stale,
            LocationMissing::Disabled,
            LocationMissing::NoProvider,
        ]
        .map(|m| format!("location_missing_{}", m.as_str()))
        .into_iter()
        .chain([format!(
            "location_missing_{}",
            crate::sightings::INVALID_LOCATION
        )]);
        use crate::receipts::ReceiptCheck;
        let receipts = [ReceiptCheck::NotVerified, ReceiptCheck::Unchecked]
            .map(|r| name("receipt_", json!(r)));
        // A candidate's reasons and decisions (`desk::ranking`, `state::decisions`).
        use crate::ranking::Reason;
        use crate::state::{Decision, LinkReview};
        let reasons = [
            Reason::LinkedByReporter,
            Reason::LinkedToAnotherCase {
                case_number: String::new(),
            },
            Reason::SexFits,
            Reason::SexDiffers { seen: Sex::Boy },
            Reason::AgeFits {
                expected: 0,
                seen: AgeBand::Under5,
            },
            Reason::AgeDiffers {
                expected: 0,
                seen: AgeBand::Under5,
            },
            Reason::FromLastSeen { km: 0 },
            Reason::OutOfReach { km: 0, days: 0 },
            Reason::SeenBeforeMissing,
            Reason::InjuryFitsMarks,
            Reason::NoInjuryButMarks,
        ]
        .map(|r| name("reason_", json!(r)["kind"].clone()));
        let decisions = [Decision::PossibleMatch, Decision::NotThisChild];
        let decisions = decisions
            .map(|d| name("decision_", json!(d)))
            .into_iter()
            .chain(decisions.map(|d| name("decide_", json!(d))))
            .chain(
                [LinkReview::Confirmed, LinkReview::Rejected].map(|r| name("decide_", json!(r))),
            );
        triage
            .into_iter()
            .chain(reasons)
            .chain(decisions)
            .chain(roles)
            .chain(actions)
            .chain(outcomes)
            .chain(publication)
            .chain(sex)
            .chain(age)
            .chain(adults)
            .chain(activity)
            .chain(no_location)
            .chain(receipts)
            .collect()
    }

    /// A word's form for a count of one (`count_one`): English has it, Chinese none (unlike
    /// `adults_one`, a word of its own in both).
    fn singular(key: &str) -> Option<&str> {
        key.strip_suffix("_one")
            .filter(|_| !keys("zh").contains(key))
    }

    #[test]
    fn every_word_exists_in_chinese_and_english_and_none_is_empty() {
        let (zh, en) = (keys("zh"), keys("en"));
        for key in en.iter().filter_map(|k| singular(k)) {
            assert!(zh.contains(key), "{key}_one has no {key}");
        }
        let en: BTreeSet<_> = en.into_iter().filter(|k| singular(k).is_none()).collect();
        let one_sided: Vec<_> = zh.symmetric_difference(&en).collect();
        assert!(
            one_sided.is_empty(),
            "keys in one language only: {one_sided:?}"
        );
        let words = words();
        for key in &zh {
            for language in ["zh", "en"] {
                let word = words[language][key].as_str().unwrap_or_default();
                assert!(!word.trim().is_empty(), "{language}.{key} is empty");
            }
        }
        assert!(zh.len() > 50, "{} words", zh.len());
    }

    #[test]
    fn every_word_the_pages_use_exists_and_every_word_is_used() {
        let known = keys("en");
        let used: BTreeSet<String> = literal_keys().into_iter().chain(built_keys()).collect();
        let missing: Vec<_> = used.difference(&known).collect();
        assert!(
            missing.is_empty(),
            "used but not in words.json: {missing:?}"
        );
        // A key the script picks among (`"saved"`, a server's code it words) counts as used
        // where it is quoted; a count's singular where its word is.
        let unused: Vec<_> = known
            .difference(&used)
            .filter(|k| !script().contains(&format!("\"{k}\"")))
            .filter(|k| singular(k).is_none_or(|base| !used.contains(base)))
            .collect();
        assert!(
            unused.is_empty(),
            "in words.json but never used: {unused:?}"
        );
        for prefix in [
            "triage_",
            "role_",
            "action_",
            "outcome_",
            "publication_",
            "sex_",
            "age_",
            "adults_",
            "activity_",
            "reason_",
            "decision_",
            "decide_",
            "location_missing_",
            "receipt_",
        ] {
            assert!(
                script().contains(&format!("t(\"{prefix}\" + ")),
                "{prefix} is built"
            );
        }
    }

    #[test]
    fn chinese_words_are_chinese() {
        let words = words();
        // Han characters, or CJK punctuation (`{name}（{role}）`, the list comma `、`).
        let han = |s: &str| {
            s.chars().any(|c| {
                ('\u{4e00}'..='\u{9fff}').contains(&c)
                    || ('\u{ff00}'..='\u{ffef}').contains(&c)
                    || ('\u{3000}'..='\u{303f}').contains(&c)
            })
        };
        let latin_only: Vec<_> = keys("zh")
            .into_iter()
            .filter(|k| !han(words["zh"][k].as_str().unwrap()))
            .collect();
        assert!(
            latin_only.is_empty(),
            "zh words with no Chinese: {latin_only:?}"
        );
    }

    #[test]
    fn a_tile_template_is_checked_and_only_its_origin_joins_the_policy() {
        let tiles =
            MapTiles::new("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png", "©").unwrap();
        let csp = content_security_policy(Some(&tiles));
        assert!(csp.contains("img-src 'self' data: blob: https://tiles.example.org:8443;"));
        assert!(!content_security_policy(None).contains("example"));
        assert!(MapTiles::new("https://tiles.example.org/{z}/{x}.png", "").is_err());
        assert!(MapTiles::new("javascript:alert(1)//{z}/{x}/{y}", "").is_err());
        assert!(MapTiles::new("not a url {z}{x}{y}", "").is_err());
    }
}

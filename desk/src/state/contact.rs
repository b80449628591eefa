//! Contact details in text that goes to every phone: a phone number, an e-mail address or a
//! street address in a published field would reach strangers (and anyone posing as the family's
//! helper could be called). This catches the careless case manager, not a determined one: a
//! number spelled out in words passes. It leans towards letting ordinary descriptions through
//! ("scar on left arm, 3 cm", dates, heights), since the case manager reads every refusal.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// What a published field must not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Contact {
    Phone,
    Email,
    Address,
}

impl Contact {
    /// In words, for an error message.
    pub fn words(self) -> &'static str {
        match self {
            Contact::Phone => "a phone number",
            Contact::Email => "an e-mail address",
            Contact::Address => "an address",
        }
    }
}

/// Digits at least this many in one run of digits and separators make a phone number: the
/// shortest local numbers have 7; sizes, heights and ages have far fewer.
const PHONE_DIGITS: usize = 7;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a pattern written here")
}

/// Dates (`2026-03-01`, `01.03.2026`) are taken out before phone numbers are looked for: they
/// are digit runs too. (No `\b`: a date may follow a Chinese character directly.)
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{4}")
});

/// A run of digits with what people put between them in a phone number: spaces, `-`, `.`,
/// `/`, brackets, a leading `+`.
static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| regex(r"\+?[0-9(][0-9\s\-./()]*[0-9]"));

/// `name@domain.tld`, spaces around the `@` allowed.
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"[\w.+\-]+\s*@\s*[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}"));

/// Address shapes, one alternative each:
/// - Chinese: a road and a number (`建国路88号`), a building, unit or room number (`3号楼`,
///   `2单元`, `1201室`), or a residential compound (`幸福小区`);
/// - English: a number before a street word (`12 Main Street`, `221B Baker St`), or an
///   apartment number (`apt 4B`);
/// - Dutch, German, French: a street word and its number (`Damstraat 12`, `5 rue de Rivoli`).
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    regex(concat!(
        r"(?:路|街|道|巷|弄|胡同)\s*[0-9]+",
        r"|[0-9]+\s*(?:号楼|號樓|栋|棟|幢|单元|單元|室)",
        r"|小区|小區",
        r"|(?i:[0-9]+[a-z]?\s+(?:[a-z'\-]+\s+){0,3}(?:street|st|road|rd|avenue|ave|lane|ln|boulevard|blvd|drive)\b)",
        r"|(?i:\b(?:apt|apartment|suite)\.?\s*#?[0-9]+)",
        r"|(?i:\b\w*(?:straat|weg|laan|gracht|plein|strasse|straße|gasse|allee)\s+[0-9]+)",
        r"|(?i:[0-9]+,?\s+(?:rue|avenue|boulevard|chemin|impasse)\b)",
    ))
});

/// Full-width digits and signs (as Chinese input methods type them) as their ASCII forms.
fn narrow(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// The first kind of contact detail `text` seems to hold, if any.
pub fn find_contact(text: &str) -> Option<Contact> {
    let text = narrow(text);
    if EMAIL.is_match(&text) {
        return Some(Contact::Email);
    }
    let undated = DATE.replace_all(&text, " ");
    let phone = DIGIT_RUN
        .find_iter(&undated)
        .any(|run| run.as_str().chars().filter(char::is_ascii_digit).count() >= PHONE_DIGITS);
    if phone {
        return Some(Contact::Phone);
    }
    ADDRESS.is_match(&text).then_some(Contact::Address)
}

//! "This may be case N" and what the reporter saw, chosen from lists (sealed in the report).

use std::fmt;

use anyhow::Result;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use serde::de::{DeserializeOwned, IntoDeserializer};
use sighting_core::report::{is_case_number, Activity, AgeBand, Observations, Sex, WithAdults};

#[derive(Args)]
pub struct ObservationArgs {
    /// The published case number this child may be (from `sighting bulletins`).
    #[arg(long = "case", value_parser = case_number)]
    pub case_number: Option<String>,
    /// boy, girl or unknown.
    #[arg(long, value_parser = choice::<Sex>)]
    sex: Option<Sex>,
    /// under_5, 5_to_9, 10_to_13 or 14_to_17.
    #[arg(long, value_parser = choice::<AgeBand>)]
    age_band: Option<AgeBand>,
    /// A visible injury or disability: yes or no.
    #[arg(long, value_parser = PossibleValuesParser::new(["yes", "no"]).map(|v| v == "yes"))]
    injury: Option<bool>,
    /// Accompanied by adults: none, one or several.
    #[arg(long, value_parser = choice::<WithAdults>)]
    with_adults: Option<WithAdults>,
    /// begging, selling, performing or other.
    #[arg(long, value_parser = choice::<Activity>)]
    activity: Option<Activity>,
}

impl ObservationArgs {
    pub fn observations(&self) -> Option<Observations> {
        let o = Observations {
            case_number: self.case_number.clone(),
            sex: self.sex,
            age_band: self.age_band,
            injury_or_disability: self.injury,
            with_adults: self.with_adults,
            activity: self.activity,
        };
        (o != Observations::default()).then_some(o)
    }
}

fn case_number(value: &str) -> Result<String, String> {
    if is_case_number(value) {
        Ok(value.to_string())
    } else {
        Err("a case number is 1 to 40 letters, digits, - or _".into())
    }
}

/// One of the manifest's words for a list answer. The core's serde names are the one list: a
/// word outside it is refused with that list, as serde's derive hands it over.
fn choice<T: DeserializeOwned>(word: &str) -> Result<T, String> {
    T::deserialize(word.into_deserializer()).map_err(|e: NotAChoice| e.0)
}

#[derive(Debug)]
struct NotAChoice(String);

impl fmt::Display for NotAChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAChoice {}

impl serde::de::Error for NotAChoice {
    fn custom<M: fmt::Display>(message: M) -> Self {
        NotAChoice(message.to_string())
    }

    fn unknown_variant(word: &str, expected: &'static [&'static str]) -> Self {
        NotAChoice(format!("{word:?} is not one of: {}", expected.join(", ")))
    }
}

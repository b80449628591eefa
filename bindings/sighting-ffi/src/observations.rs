//! What the reporter saw besides the photo, chosen from lists in the capture form: "this may be
//! case N", and the child's sex, age band, injury, company and activity. Sealed in the report
//! only; the phone never says "a match".

use sighting_core::report as core;

use crate::bulletins::Sex;
use crate::SightingError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AgeBand {
    Under5,
    From5To9,
    From10To13,
    From14To17,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WithAdults {
    None,
    One,
    Several,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Activity {
    Begging,
    Selling,
    Performing,
    Other,
}

/// Every field optional: the reporter answers what they can.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct Observations {
    /// The published case the reporter thinks this may be (from the "Missing children" list).
    #[uniffi(default = None)]
    pub case_number: Option<String>,
    #[uniffi(default = None)]
    pub sex: Option<Sex>,
    #[uniffi(default = None)]
    pub age_band: Option<AgeBand>,
    #[uniffi(default = None)]
    pub injury_or_disability: Option<bool>,
    #[uniffi(default = None)]
    pub with_adults: Option<WithAdults>,
    #[uniffi(default = None)]
    pub activity: Option<Activity>,
}

pub(crate) fn observations(o: Observations) -> Result<core::Observations, SightingError> {
    if let Some(n) = o
        .case_number
        .as_deref()
        .filter(|n| !core::is_case_number(n))
    {
        return Err(SightingError::InvalidInput {
            reason: format!(
                "{:?} is not a case number",
                n.chars().take(40).collect::<String>()
            ),
        });
    }
    Ok(core::Observations {
        case_number: o.case_number,
        sex: o.sex.map(|s| match s {
            Sex::Boy => core::Sex::Boy,
            Sex::Girl => core::Sex::Girl,
            Sex::Unknown => core::Sex::Unknown,
        }),
        age_band: o.age_band.map(|a| match a {
            AgeBand::Under5 => core::AgeBand::Under5,
            AgeBand::From5To9 => core::AgeBand::From5To9,
            AgeBand::From10To13 => core::AgeBand::From10To13,
            AgeBand::From14To17 => core::AgeBand::From14To17,
        }),
        injury_or_disability: o.injury_or_disability,
        with_adults: o.with_adults.map(|w| match w {
            WithAdults::None => core::WithAdults::None,
            WithAdults::One => core::WithAdults::One,
            WithAdults::Several => core::WithAdults::Several,
        }),
        activity: o.activity.map(|a| match a {
            Activity::Begging => core::Activity::Begging,
            Activity::Selling => core::Activity::Selling,
            Activity::Performing => core::Activity::Performing,
            Activity::Other => core::Activity::Other,
        }),
    })
}

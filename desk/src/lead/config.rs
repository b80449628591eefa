//! How the organisation's lead packages are made, kept with the desk's state
//! (`lead-settings.json`) so the app and `sighting-server lead` make the same package: the
//! organisation's contact, the officers' time zone, the lead-signing key and the font.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{Fonts, LeadKey, LeadSettings};

pub const SETTINGS_FILE: &str = "lead-settings.json";
/// Characters of the contact at most (it is printed on every package).
const MAX_CONTACT: usize = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadConfig {
    /// Who the officer calls: the organisation's name, a phone number, an address.
    pub contact: Option<String>,
    /// The desk's time zone, as IANA names it (`Asia/Shanghai`): its pages and the officers'
    /// packages show times in it; default this machine's.
    pub time_zone: Option<String>,
    /// `lead.key` from keygen.
    pub key: Option<PathBuf>,
    /// The CJK font (default: Noto Sans CJK where it is installed).
    pub font: Option<PathBuf>,
}

impl LeadConfig {
    /// What the desk keeps; nothing yet is the default.
    pub fn load(state: &Path) -> anyhow::Result<Self> {
        match std::fs::read(state.join(SETTINGS_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not readable", state.join(SETTINGS_FILE).display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).context(SETTINGS_FILE),
        }
    }

    /// `other`'s settings where given, ours elsewhere.
    pub fn merged(self, other: LeadConfig) -> Self {
        Self {
            contact: other.contact.or(self.contact),
            time_zone: other.time_zone.or(self.time_zone),
            key: other.key.or(self.key),
            font: other.font.or(self.font),
        }
    }

    /// The IANA name of the zone the desk shows times in: the one given, else this machine's
    /// (UTC when the machine names none).
    pub fn zone_name(&self) -> String {
        self.time_zone
            .clone()
            .or_else(|| jiff::tz::TimeZone::system().iana_name().map(String::from))
            .unwrap_or_else(|| "UTC".into())
    }

    /// Checks the settings, then keeps them (0600) for the next start and for scripts.
    pub fn save(&self, state: &Path) -> anyhow::Result<()> {
        self.check()?;
        crate::make_private_dir(state)?;
        let json = serde_json::to_vec_pretty(self)?;
        crate::write_private(&state.join(SETTINGS_FILE), &json)?;
        Ok(())
    }

    fn check(&self) -> anyhow::Result<()> {
        if let Some(contact) = &self.contact {
            anyhow::ensure!(
                !contact.trim().is_empty() && contact.chars().count() <= MAX_CONTACT,
                "the contact is 1 to {MAX_CONTACT} characters"
            );
        }
        if let Some(zone) = &self.time_zone {
            jiff::tz::TimeZone::get(zone)
                .with_context(|| format!("{zone:?} is not a time zone (e.g. Asia/Shanghai)"))?;
        }
        Ok(())
    }

    /// Everything a package needs, read and checked; each missing piece says how to give it.
    pub fn settings(&self) -> anyhow::Result<LeadSettings> {
        self.check()?;
        let contact = self.contact.clone().context(
            "no organisation contact for lead packages: give --contact \"…\" (to `desk` once, or to `lead`)",
        )?;
        let key_path = self.key.as_ref().context(
            "no lead-signing key: give --lead-key org/lead.key (make one with `sighting-server keygen --lead-only --out org/`)",
        )?;
        let zone = match &self.time_zone {
            Some(zone) => jiff::tz::TimeZone::get(zone)?,
            None => jiff::tz::TimeZone::system(),
        };
        Ok(LeadSettings {
            zone,
            contact,
            key: LeadKey::read(key_path)?,
            fonts: Fonts::find(self.font.as_deref())?,
        })
    }
}

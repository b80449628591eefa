//! `sighting-server lead`: a signed lead package from scripts, made by the same rules as the
//! app's export (one code path, [`lead::issue`]), as a named reviewer (audited as theirs once made), kept under the desk's `leads/` and
//! copied to `--out` with its signature.

use std::path::PathBuf;

use anyhow::Context;
use sighting_desk::lead::{self, Export, LeadConfig};
use sighting_desk::state::{DeskState, LeadGate};

#[derive(clap::Args)]
pub struct LeadArgs {
    /// The desk's state directory.
    #[arg(long)]
    state: PathBuf,
    /// The reviewer making the package (an account from `desk-user add`).
    #[arg(long = "as")]
    by: String,
    #[command(flatten)]
    proof: crate::desk_cli::ProofArgs,
    /// The case the package is for.
    #[arg(long)]
    case: String,
    /// The sightings (report ids) to put in it.
    #[arg(long = "sighting", required = true, num_args = 1..)]
    sightings: Vec<String>,
    /// Where to write lead-<case>-<date>-<n>.zip and its .minisig.
    #[arg(long)]
    out: PathBuf,
    /// The officer's language: zh, en or both.
    #[arg(long, default_value = "both")]
    lang: String,
    /// The officer or unit the package goes to (in the audit log with the package's name).
    #[arg(long)]
    recipient: Option<String>,
    /// A case manager's written reason to send sightings whose link to the case no second
    /// reviewer confirmed (audited); without it such sightings are refused.
    #[arg(long)]
    override_reason: Option<String>,
    /// The intake's data directory the desk opens reports from (for their intake records);
    /// default STATE/pulled, where a desk that pulls from the intake keeps them.
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// The organisation's settings for packages; given to `desk`, they are kept with its state for
/// the app and for `lead`.
#[derive(clap::Args)]
pub struct SettingsArgs {
    /// The organisation's contact printed on every lead package (name, phone, address).
    #[arg(long)]
    contact: Option<String>,
    /// The desk's time zone (IANA name, e.g. Asia/Shanghai): times on its pages and in lead
    /// packages; default this machine's.
    #[arg(long)]
    time_zone: Option<String>,
    /// lead.key from keygen: signs lead packages.
    #[arg(long)]
    lead_key: Option<PathBuf>,
    /// The CJK font for lead packages' PDF (default: Noto Sans CJK where installed).
    #[arg(long)]
    font: Option<PathBuf>,
}

impl SettingsArgs {
    fn config(self) -> LeadConfig {
        LeadConfig {
            contact: self.contact,
            time_zone: self.time_zone,
            key: self.lead_key.map(absolute),
            font: self.font.map(absolute),
        }
    }

    /// Keeps what is given with the desk's state (the rest stays as it was).
    pub fn keep(self, state: &std::path::Path) -> anyhow::Result<()> {
        let given = self.config();
        if given == LeadConfig::default() {
            return Ok(());
        }
        LeadConfig::load(state)?.merged(given).save(state)
    }

    /// As [`SettingsArgs::keep`]; with no lead key given or kept yet, `lead.key` beside the
    /// identity where keygen put it (as `server.pub` is found).
    pub fn keep_beside(
        mut self,
        state: &std::path::Path,
        identity: &std::path::Path,
    ) -> anyhow::Result<()> {
        if self.lead_key.is_none() && LeadConfig::load(state)?.key.is_none() {
            let beside = identity
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .join(sighting_desk::keygen::LEAD_KEY_FILE);
            self.lead_key = beside.is_file().then_some(beside);
        }
        self.keep(state)
    }
}

/// A path kept in the settings is read later from another directory.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

pub fn lead(args: LeadArgs) -> anyhow::Result<()> {
    let langs = lead::languages(&args.lang).map_err(anyhow::Error::msg)?;
    let settings = LeadConfig::load(&args.state)?
        .merged(args.settings.config())
        .settings()?;
    let desk = DeskState::open(&args.state)?;
    let by = args.proof.person(&desk, &args.by)?;
    let data = args.data.unwrap_or_else(|| args.state.join("pulled"));
    let export = Export {
        desk: &desk,
        state: &args.state,
        data: &data,
        by: &by,
        case: &args.case,
        ids: &args.sightings,
        langs: &langs,
        now_ms: sighting_core::millis::now(),
        gate: LeadGate {
            recipient: args.recipient.as_deref(),
            override_reason: args.override_reason.as_deref(),
        },
    };
    let (package, kept) = lead::issue(&export, &settings, |id| desk.report(id).ok().flatten())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let zip = args.out.join(&package.name);
    std::fs::write(&zip, &package.zip).with_context(|| format!("{}", zip.display()))?;
    let sig = args.out.join(format!("{}.minisig", package.name));
    std::fs::write(&sig, package.minisig.as_bytes())?;
    println!("{}", zip.display());
    println!("{}", sig.display());
    println!("kept at the desk: {}", kept.display());
    Ok(())
}

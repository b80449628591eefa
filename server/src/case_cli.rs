//! `sighting-server case …` and `sighting-server bulletins publish`: the case register and the
//! bulletin feed from scripts, on the desk's machine. Each change is made as a named case
//! manager, who proves it (their passphrase or an API token they made in the app), and audited
//! as theirs.

use std::path::PathBuf;

use anyhow::Context;
use sighting_core::wire::bulletin::Sex;
use sighting_desk::bulletins;
use sighting_desk::keygen;
use sighting_desk::state::{CaseDetails, DeskState};

#[derive(clap::Args)]
pub struct CaseArgs {
    /// The desk's state directory.
    #[arg(long)]
    state: PathBuf,
    /// The case manager making the change (an account from `desk-user add`).
    #[arg(long = "as")]
    by: String,
    #[command(flatten)]
    proof: crate::desk_cli::ProofArgs,
    #[command(subcommand)]
    action: CaseAction,
}

#[derive(clap::Subcommand)]
pub enum CaseAction {
    /// Open a case as a draft.
    Add {
        #[arg(long)]
        number: String,
        #[command(flatten)]
        details: DetailArgs,
    },
    /// Replace what the case says (every field; the audit names those that changed).
    Edit {
        #[arg(long)]
        number: String,
        #[command(flatten)]
        details: DetailArgs,
    },
    /// Add a photo (re-encoded small; at most 3).
    Photo {
        #[arg(long)]
        number: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Record that the family consented to publication.
    Consent {
        #[arg(long)]
        number: String,
    },
    /// Publish a vetted case (police reference, consent and a photo needed).
    Publish {
        #[arg(long)]
        number: String,
    },
    /// Close a case: off every phone at the next feed.
    Close {
        #[arg(long)]
        number: String,
    },
    /// Every case, as JSON.
    List,
    /// The case's candidates among the sightings the desk opened, best first, with the
    /// reasons and any reviewer's decision, as JSON. Deciding stays with a reviewer.
    Candidates {
        #[arg(long)]
        number: String,
    },
}

#[derive(clap::Args)]
pub struct DetailArgs {
    /// First name only (it is published).
    #[arg(long)]
    first_name: String,
    /// boy, girl or unknown.
    #[arg(long)]
    sex: String,
    #[arg(long)]
    age_when_missing: u8,
    /// YYYY-MM-DD.
    #[arg(long)]
    date_of_birth: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    missing_since: String,
    #[arg(long)]
    district: String,
    #[arg(long, allow_hyphen_values = true)]
    lat: f64,
    #[arg(long, allow_hyphen_values = true)]
    lon: f64,
    /// Distinguishing marks, visible injury or disability.
    #[arg(long, default_value = "")]
    marks: String,
    #[arg(long)]
    police_reference: Option<String>,
}

#[derive(clap::Args)]
pub struct PublishArgs {
    #[arg(long)]
    state: PathBuf,
    /// bulletin.key from keygen.
    #[arg(long)]
    key: PathBuf,
    /// Days the feed stays valid on phones (they hide it after).
    #[arg(long, default_value_t = 14)]
    days: i64,
    /// Write the feed's files here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// And push it to the intake server (https://…).
    #[arg(long)]
    intake: Option<String>,
    /// Trust only this CA certificate (PEM) for the intake server.
    #[arg(long)]
    ca: Option<PathBuf>,
}

impl DetailArgs {
    fn into_details(self) -> anyhow::Result<CaseDetails> {
        let sex: Sex = serde_json::from_value(serde_json::Value::String(self.sex))
            .context("--sex is boy, girl or unknown")?;
        Ok(CaseDetails {
            first_name: self.first_name,
            sex,
            date_of_birth: self.date_of_birth,
            age_when_missing: self.age_when_missing,
            missing_since: self.missing_since,
            last_seen_district: self.district,
            last_seen_lat: self.lat,
            last_seen_lon: self.lon,
            marks: self.marks,
            police_reference: self.police_reference,
            private_notes: None,
        })
    }
}

pub fn case(args: CaseArgs) -> anyhow::Result<()> {
    let desk = DeskState::open(&args.state)?;
    let by = args.proof.person(&desk, &args.by)?;
    let version = |number: &str| desk.case(number).map(|c| c.version);
    let row = match args.action {
        CaseAction::Add { number, details } => {
            desk.create_case(&by, &number, &details.into_details()?)?
        }
        CaseAction::Edit { number, details } => {
            // The private notes are not a flag here: the ones the case has are kept.
            let current = desk.case(&number)?;
            let details = CaseDetails {
                private_notes: current.details.private_notes,
                ..details.into_details()?
            };
            desk.edit_case(&by, &number, current.version, &details)?
        }
        CaseAction::Photo { number, file } => {
            let jpeg = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
            let small = bulletins::case_photo(&jpeg)?;
            desk.add_case_photo(&by, &number, version(&number)?, &small)?
        }
        CaseAction::Consent { number } => {
            desk.record_family_consent(&by, &number, version(&number)?)?
        }
        CaseAction::Publish { number } => desk.publish_case(&by, &number, version(&number)?)?,
        CaseAction::Close { number } => desk.close_case(&by, &number, version(&number)?)?,
        CaseAction::List => {
            println!("{}", serde_json::to_string_pretty(&desk.cases()?)?);
            return Ok(());
        }
        CaseAction::Candidates { number } => {
            let case = desk.case(&number)?;
            let decisions = desk.candidate_decisions(&number)?;
            let ranked = desk.with_opened_reports(|sightings| {
                sighting_desk::ranking::rank_with_decisions(&case, sightings, &decisions)
            })?;
            let rows: Vec<_> = ranked
                .into_iter()
                .map(|(c, decision)| serde_json::json!({ "candidate": c, "decision": decision }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(());
        }
    };
    println!("{}", serde_json::to_string_pretty(&row)?);
    Ok(())
}

pub fn publish(args: PublishArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.out.is_some() || args.intake.is_some(),
        "give --out DIR, --intake URL, or both"
    );
    let desk = DeskState::open(&args.state)?;
    let key = keygen::read_bulletin_key(&args.key)?;
    let now = time::OffsetDateTime::now_utc();
    // Milliseconds since the epoch: newer than any feed this desk published before.
    let version = u64::try_from(sighting_core::millis::now()).context("the clock")?;
    let feed = bulletins::build(&desk, &key, version, now, time::Duration::days(args.days))?;
    let cases: usize = feed.index.tiles.iter().map(|t| t.cases.len()).sum();
    if let Some(out) = &args.out {
        feed.write(out)?;
    }
    if let Some(intake) = &args.intake {
        let ca = args.ca.map(std::fs::read).transpose().context("--ca")?;
        let client = sighting_desk::app::Puller::client(ca.as_deref())?;
        // https, or http to loopback only: as the phone and the puller require.
        let intake = sighting_core::sync::check_intake_url(intake)?;
        tokio::runtime::Runtime::new()?.block_on(feed.push_or_reason(
            &client,
            intake.as_str(),
            &key,
        ))?;
    }
    println!(
        "bulletin feed version {version}: {} in {}, valid until {}",
        crate::count(cases, "published case", "published cases"),
        crate::count(feed.tiles.len(), "tile", "tiles"),
        feed.index.expires_at
    );
    Ok(())
}

//! `sighting-server desk` and `sighting-server desk-user`: the review desk's web app and its
//! reviewers' accounts.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use sighting_desk::keygen;
use sighting_desk::{self as desk, app, state};

#[derive(clap::Args)]
pub struct DeskArgs {
    /// The organisation's age identity file (it never leaves this machine).
    #[arg(long)]
    identity: PathBuf,
    /// The desk's state: desk.sqlite3, the opened reports and the exports (0700).
    #[arg(long)]
    state: PathBuf,
    /// The intake server's data directory, or a copy of it, to open new reports from.
    #[arg(long, conflicts_with = "intake", required_unless_present = "intake")]
    data: Option<PathBuf>,
    /// Or the intake server itself (https://…), pulled with the desk token.
    #[arg(long, requires = "token_file")]
    intake: Option<String>,
    /// The intake's receipt key (server.pub from keygen, or the key itself) every receipt must
    /// be signed with; default: server.pub beside --identity.
    #[arg(long)]
    server_key: Option<String>,
    /// desk.token from `sighting-server desk-token`.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Trust only this CA certificate (PEM) for the intake server.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Address to listen on: loopback unless --lan.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
    /// Listen beyond loopback, for a desk behind a TLS-terminating proxy on the organisation's
    /// network (the session cookie is then Secure; see README, "The review desk").
    #[arg(long)]
    lan: bool,
    /// A name the desk is reached by besides localhost and its address (a proxy in front of
    /// it; repeat for more). Requests for any other name are refused, as a rebound DNS name of
    /// another site would be.
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_host: Vec<String>,
    /// Seconds between looks for new reports.
    #[arg(long, default_value_t = 10)]
    poll_secs: u64,
    /// The organisation's map tile server, as a URL template with {z}, {x} and {y}. Without it
    /// the map shows country outlines only (nothing is fetched from anyone else).
    #[arg(long)]
    tiles: Option<String>,
    /// The credit the tile server's data needs, shown on the map.
    #[arg(long, default_value = "")]
    tiles_attribution: String,
    /// bulletin.key from keygen: publishing or closing a case in the app pushes the bulletin
    /// feed to the intake (--bulletin-intake, else --intake).
    #[arg(long)]
    bulletin_key: Option<PathBuf>,
    /// Where to push the feed, when it is not the --intake the desk pulls from.
    #[arg(long, requires = "bulletin_key")]
    bulletin_intake: Option<String>,
    /// Lead packages: kept with the state for the app and for `sighting-server lead` (the
    /// lead key defaults to lead.key beside --identity).
    #[command(flatten)]
    lead: crate::lead_cli::SettingsArgs,
}

#[derive(clap::Subcommand)]
pub enum DeskUser {
    /// Add a person; the passphrase is asked for twice at a terminal, else read from the first
    /// line of standard input.
    Add {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        name: String,
        /// reviewer, case_manager or admin.
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
    /// Everyone with an account: name, role, active or disabled.
    List {
        #[arg(long)]
        state: PathBuf,
    },
    /// Disable a person: every session of theirs ends now, their API tokens stop working.
    Disable {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Let a disabled person log in again.
    Enable {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// A new passphrase (asked for as `add` does); their sessions end.
    Reset {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Let a name locked out by wrong passphrases log in again now (a running desk sees it).
    Unlock {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        name: String,
    },
}

/// How a script that acts as a person (`--as NAME`) proves it is them, so the audit never names
/// someone who did not act.
#[derive(clap::Args)]
pub struct ProofArgs {
    /// A file whose first line is the passphrase of the person named by --as. Without it or
    /// --token-file the passphrase is read from standard input, when that is not a terminal.
    #[arg(long, conflicts_with = "token_file")]
    passphrase_file: Option<PathBuf>,
    /// A file holding an API token the person made in the desk app (the Account tab).
    #[arg(long)]
    token_file: Option<PathBuf>,
}

/// A passphrase or token file is a line: anything longer is not one.
const MAX_PROOF_BYTES: u64 = 4096;

impl ProofArgs {
    /// The person called `name`, once they have proven it; a clear refusal otherwise.
    pub fn person(&self, desk: &state::DeskState, name: &str) -> anyhow::Result<state::Reviewer> {
        let read = |path: &PathBuf| -> anyhow::Result<String> {
            let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
            let mut text = String::new();
            file.take(MAX_PROOF_BYTES + 1)
                .read_to_string(&mut text)
                .with_context(|| format!("{}", path.display()))?;
            anyhow::ensure!(
                text.len() as u64 <= MAX_PROOF_BYTES,
                "{} is not a passphrase or token file (over {MAX_PROOF_BYTES} bytes)",
                path.display()
            );
            Ok(text)
        };
        let first_line = |text: &str| text.lines().next().unwrap_or("").to_string();
        let (given, is_token) = match (&self.passphrase_file, &self.token_file) {
            (Some(path), _) => (first_line(&read(path)?), false),
            (None, Some(path)) => (read(path)?.trim().to_string(), true),
            (None, None) if !std::io::stdin().is_terminal() => {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .take(MAX_PROOF_BYTES)
                    .read_line(&mut line)?;
                (first_line(&line), false)
            }
            (None, None) => (String::new(), false),
        };
        anyhow::ensure!(
            !given.is_empty(),
            "--as {name}: acting as “{name}” needs their passphrase (--passphrase-file \
             FILE, or on standard input) or an API token they made in the desk app \
             (--token-file FILE). Nothing was done."
        );
        let proof = match is_token {
            true => state::Proof::Token(&given),
            false => state::Proof::Passphrase(&given),
        };
        match desk.prove(name, proof) {
            Ok(person) => Ok(person),
            Err(state::StateError::Credentials) => anyhow::bail!(
                "--as {name}: that is not the passphrase or a live token of “{name}”, or \
                 “{name}” has no active account. Nothing was done."
            ),
            Err(e) => Err(e.into()),
        }
    }
}

pub fn desk(args: DeskArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.lan || app::is_loopback(&args.listen),
        "{} is not a loopback address: the desk serves loopback only, unless --lan (behind TLS)",
        args.listen
    );
    tracing_subscriber::fmt().with_target(false).init();
    args.lead.keep_beside(&args.state, &args.identity)?;
    let ca = args.ca.map(std::fs::read).transpose().context("--ca")?;
    let bulletins = match (
        &args.bulletin_key,
        args.bulletin_intake.as_ref().or(args.intake.as_ref()),
    ) {
        (Some(key), Some(intake)) => Some(app::FeedPusher::new(
            keygen::read_bulletin_key(key)?,
            intake,
            ca.as_deref(),
        )?),
        (Some(_), None) => {
            anyhow::bail!("--bulletin-key needs --bulletin-intake URL (or --intake)")
        }
        (None, _) => None,
    };
    let source = match (args.data, args.intake, args.token_file) {
        (Some(dir), _, _) => app::Source::Dir(dir),
        (None, Some(intake), Some(token_file)) => {
            let token = keygen::read_desk_token(&token_file)?;
            let pulled = args.state.join("pulled");
            app::Source::Intake(app::Puller::new(&intake, token, ca.as_deref(), pulled)?)
        }
        _ => anyhow::bail!("give --data DIR, or --intake URL with --token-file"),
    };
    let config = app::DeskConfig {
        identities: desk::read_identities(&args.identity)?,
        intake_key: desk::receipts::intake_key_for(args.server_key.as_deref(), &args.identity)?,
        source,
        state: args.state,
        poll: Duration::from_secs(args.poll_secs.max(1)),
        lan: args.lan,
        tiles: args
            .tiles
            .map(|url| app::MapTiles::new(&url, &args.tiles_attribution))
            .transpose()
            .context("--tiles")?,
        bulletins,
    };
    let desk = app::Desk::new(config)?;
    tokio::runtime::Runtime::new()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let hosts = app::AllowedHosts::new(listener.local_addr()?, &args.allowed_host)?;
        println!("review desk on http://{}", listener.local_addr()?);
        app::serve_for(listener, desk, hosts, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}

/// A new passphrase: at a terminal, asked for twice without echo; from a script, the first
/// line of standard input.
fn new_passphrase() -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut password = String::new();
        std::io::stdin().lock().read_line(&mut password)?;
        return Ok(password.trim_end_matches(['\n', '\r']).to_string());
    }
    // The prompts go to standard error, so standard output stays the command's answer.
    let ask = |prompt: &str| {
        let config = rpassword::ConfigBuilder::new()
            .output_writer(std::io::stderr())
            .build();
        rpassword::prompt_password_with_config(prompt, config)
    };
    let first = ask("Passphrase (12 or more characters): ")?;
    let again = ask("The same passphrase again: ")?;
    confirmed(first, &again)
}

/// The passphrase, when it was typed the same both times.
fn confirmed(first: String, again: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        first == again,
        "the two passphrases typed differ. Nothing was changed: run the command again."
    );
    Ok(first)
}

pub fn desk_user(action: DeskUser) -> anyhow::Result<()> {
    match action {
        DeskUser::Add { state, name, role } => {
            let role: state::Role = role.parse()?;
            let password = new_passphrase()?;
            let reviewer = state::DeskState::open(&state)?.add_reviewer(&name, &password, role)?;
            println!("added {} ({})", reviewer.name, reviewer.role);
        }
        DeskUser::List { state } => {
            for account in state::DeskState::open(&state)?.accounts()? {
                let active = match account.disabled {
                    true => "disabled",
                    false => "active",
                };
                println!("{}\t{}\t{active}", account.name, account.role);
            }
        }
        DeskUser::Disable { state, name } => {
            state::DeskState::open(&state)?.set_disabled(None, &name, true)?;
            println!("disabled {name}: every session of theirs has ended");
        }
        DeskUser::Enable { state, name } => {
            state::DeskState::open(&state)?.set_disabled(None, &name, false)?;
            println!("enabled {name}");
        }
        DeskUser::Reset { state, name } => {
            let password = new_passphrase()?;
            state::DeskState::open(&state)?.reset_password(None, &name, &password)?;
            println!("new passphrase for {name}: their sessions have ended");
        }
        DeskUser::Unlock { state, name } => {
            state::DeskState::open(&state)?.unlock(None, &name)?;
            println!("unlocked {name}: they may log in again now");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::confirmed;

    #[test]
    fn a_passphrase_typed_differently_twice_is_refused() {
        let same = confirmed("a long desk passphrase".into(), "a long desk passphrase");
        assert_eq!(same.unwrap(), "a long desk passphrase");
        let differ = confirmed("a long desk passphrase".into(), "a long desk passphrasf");
        let said = differ.unwrap_err().to_string();
        assert!(
            said.contains("differ") && said.contains("Nothing was changed"),
            "{said}"
        );
    }
}

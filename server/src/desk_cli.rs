//! `sighting-server desk` and `sighting-server desk-user`: the review desk's web app and its
//! reviewers' accounts.

use std::io::BufRead;
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
    /// Lead packages: kept with the state for the app and for `sighting-server lead`.
    #[command(flatten)]
    lead: crate::lead_cli::SettingsArgs,
}

#[derive(clap::Subcommand)]
pub enum DeskUser {
    /// Add a reviewer; the password is read from the first line of standard input.
    Add {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        name: String,
        /// reviewer, case_manager or admin.
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
}

pub fn desk(args: DeskArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.lan || app::is_loopback(&args.listen),
        "{} is not a loopback address: the desk serves loopback only, unless --lan (behind TLS)",
        args.listen
    );
    tracing_subscriber::fmt().with_target(false).init();
    args.lead.keep(&args.state)?;
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

pub fn desk_user(action: DeskUser) -> anyhow::Result<()> {
    match action {
        DeskUser::Add { state, name, role } => {
            let role: state::Role = role.parse()?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']);
            let reviewer = state::DeskState::open(&state)?.add_reviewer(&name, password, role)?;
            println!("added {} ({})", reviewer.name, reviewer.role);
            Ok(())
        }
    }
}

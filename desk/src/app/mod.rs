//! `sighting-server desk`: the review desk as a local web app. It opens new reports from the
//! intake's data directory (or a copy of it) continuously, records each in the desk's state,
//! and serves reviewers a JSON API behind a login: the sightings (filtered and paged on the
//! server), each one's details, photo and audit trail, and the triage changes.
//!
//! Loopback only by default. LAN mode (`--lan`) is for a desk behind a TLS-terminating proxy on
//! the organisation's network: the session cookie is then `Secure`. The organisation's identity
//! never leaves this machine; decrypted files stay 0600 under the state directory.

mod admin;
mod api;
mod auth;
mod cases;
mod error;
mod feed;
mod hosts;
mod lock;
mod pages;
mod pull;
mod search;
mod throttle;
mod views;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use super::sightings::Sighting;
use super::state::DeskState;
pub use feed::FeedPusher;
pub use hosts::AllowedHosts;
pub use pages::{MapTiles, INDEX as PAGE_HTML};
pub use pull::{PullLimits, Puller};

/// Where new reports come from.
pub enum Source {
    /// The intake's data directory, or a copy of it.
    Dir(PathBuf),
    /// The intake server itself, pulled with the desk token.
    Intake(Puller),
}

/// What the desk app runs on.
pub struct DeskConfig {
    pub identities: Vec<age::x25519::Identity>,
    /// The intake's receipt key (`server.pub`): every receipt is checked against it (`None`:
    /// receipts are shown as not checked).
    pub intake_key: Option<[u8; 32]>,
    pub source: Source,
    /// The desk's state: `desk.sqlite3`, the opened reports and the exports.
    pub state: PathBuf,
    /// How often new reports are looked for.
    pub poll: Duration,
    /// Behind TLS on the organisation's network: cookies are `Secure`.
    pub lan: bool,
    /// The organisation's tile server; without one the map shows country outlines only.
    pub tiles: Option<MapTiles>,
    /// The bulletin key and intake: publishing or closing a case pushes the feed.
    pub bulletins: Option<FeedPusher>,
}

/// The app's shared state.
pub struct Desk {
    pub state: DeskState,
    config: DeskConfig,
    /// Every response's Content-Security-Policy (it names the tile server).
    csp: HeaderValue,
    logins: throttle::LoginThrottle,
    /// Held while the desk runs: a second desk on this state refuses to start.
    _lock: lock::StateLock,
    /// Permits for password checks ([`auth::PASSWORD_CHECKS`]).
    password_checks: Arc<tokio::sync::Semaphore>,
}

impl Desk {
    pub fn new(config: DeskConfig) -> anyhow::Result<Arc<Self>> {
        let csp = HeaderValue::from_str(&pages::content_security_policy(config.tiles.as_ref()))?;
        let lock = lock::StateLock::acquire(&config.state)?;
        // Before anything is opened or served: the identity must be this desk's organisation's.
        crate::keep::check_organisation(&config.identities, &config.state)?;
        let desk = Arc::new(Self {
            state: DeskState::open(&config.state)?,
            config,
            csp,
            logins: Default::default(),
            _lock: lock,
            password_checks: Arc::new(tokio::sync::Semaphore::new(auth::PASSWORD_CHECKS)),
        });
        desk.state
            .recheck_receipts(desk.data_dir(), desk.config.intake_key.as_ref())?;
        Ok(desk)
    }

    /// Opens what is new under the data directory and records it; returns how many reports
    /// were new.
    pub fn open_new(&self) -> anyhow::Result<usize> {
        // The desk shows reports from its state: an outcome itself is not kept.
        let counts = crate::open_into(
            &self.state,
            &self.config.identities,
            self.config.intake_key.as_ref(),
            self.data_dir(),
            &self.config.state,
            &mut |_| {},
        )?;
        Ok(counts.recorded)
    }

    /// Where the sealed reports are: the data directory given, or where the puller puts them.
    fn data_dir(&self) -> &std::path::Path {
        match &self.config.source {
            Source::Dir(dir) => dir,
            Source::Intake(puller) => puller.data_dir(),
        }
    }

    /// What the report says, as opened (`None`: no such report, or the state could not be
    /// read, which is logged).
    pub fn report(&self, id: &str) -> Option<Sighting> {
        self.state
            .report(id)
            .inspect_err(|e| tracing::error!(error = %e, "reading a report"))
            .ok()
            .flatten()
    }

    fn photo_path(&self, id: &str) -> Option<PathBuf> {
        // Only ids the desk opened name a directory: never a path from the request.
        let id: crate::state::ReportId = id.parse().ok()?;
        let opened = self.state.is_opened_id(&id.to_string());
        opened.ok().filter(|o| *o).map(|_| {
            let dir = self.config.state.join("reports").join(id.to_string());
            dir.join("photo.jpg")
        })
    }
}

/// The routes, for the names in `hosts` only; every response carries the security headers.
pub fn router(desk: Arc<Desk>, hosts: AllowedHosts) -> Router {
    let api = Router::new()
        .route("/api/me", get(auth::me))
        .route("/api/config", get(api::config))
        .route("/api/map", get(api::map))
        .route("/api/export.csv", get(search::export_csv))
        .route("/api/export.geojson", get(search::export_geojson))
        .route("/api/sightings/{id}/thumb", get(api::thumb))
        .route("/api/logout", post(auth::logout))
        .route("/api/sightings", get(api::list))
        .route("/api/sightings/{id}", get(api::detail))
        .route("/api/sightings/{id}/photo", get(api::photo))
        .route("/api/sightings/{id}/triage", post(api::triage))
        .route("/api/sightings/{id}/assign", post(api::assign))
        .route("/api/audit", get(admin::audit))
        .route("/api/people", get(admin::people).post(admin::add))
        .route("/api/people/{name}/reset", post(admin::reset))
        .route("/api/people/{name}/{what}", post(admin::change))
        .route("/api/tokens", get(admin::tokens).post(admin::make_token))
        .route("/api/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/api/leads", post(api::lead_package))
        .route("/api/leads/{name}", get(api::lead_file))
        .route("/api/cases", get(cases::list).post(cases::create))
        .route(
            "/api/cases/{number}/photos",
            post(cases::add_photo).layer(axum::extract::DefaultBodyLimit::max(
                cases::MAX_CASE_PHOTO_UPLOAD,
            )),
        )
        .route("/api/cases/{number}/photos/{index}", get(cases::photo))
        .route("/api/cases/{number}", post(cases::edit))
        .route("/api/cases/{number}/{step}", post(cases::step))
        .route("/api/bulletins/push", post(cases::push_feed))
        .route("/api/cases/{number}/candidates", get(cases::candidates))
        .route("/api/cases/{number}/candidates/{id}", post(cases::decide))
        .layer(middleware::from_fn_with_state(
            desk.clone(),
            auth::require_session,
        ));
    Router::new()
        .route("/", get(pages::index))
        .route("/static/{*path}", get(pages::asset))
        .route(
            "/api/login",
            post(auth::login).layer(axum::extract::DefaultBodyLimit::max(auth::MAX_LOGIN_BODY)),
        )
        .merge(api)
        .layer(middleware::from_fn_with_state(
            Arc::new(hosts),
            hosts::check,
        ))
        .layer(middleware::map_response_with_state(
            desk.clone(),
            security_headers,
        ))
        .with_state(desk)
}

/// Every response: no script but our own, no framing, no referrer, no sniffing.
async fn security_headers(
    State(desk): State<Arc<Desk>>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, desk.csp.clone());
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Serves the app on `listener`, under the loopback names and its address, and looks for new
/// reports every `poll` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    desk: Arc<Desk>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let hosts = AllowedHosts::new(listener.local_addr()?, &[])?;
    serve_for(listener, desk, hosts, shutdown).await
}

/// [`serve`], under the names in `hosts`.
pub async fn serve_for(
    listener: tokio::net::TcpListener,
    desk: Arc<Desk>,
    hosts: AllowedHosts,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let opener = {
        let desk = desk.clone();
        tokio::spawn(async move {
            loop {
                if let Source::Intake(puller) = &desk.config.source {
                    if let Err(e) = puller.pull().await {
                        tracing::warn!(error = %e, "pulling from the intake failed");
                    }
                }
                let d = desk.clone();
                match tokio::task::spawn_blocking(move || d.open_new()).await {
                    Ok(Ok(n)) if n > 0 => tracing::info!(reports = n, "opened new reports"),
                    Ok(Err(e)) => tracing::error!(error = %e, "opening new reports failed"),
                    _ => {}
                }
                tokio::time::sleep(desk.config.poll).await;
            }
        })
    };
    let result = axum::serve(listener, router(desk, hosts))
        .with_graceful_shutdown(shutdown)
        .await;
    opener.abort();
    Ok(result?)
}

/// Whether `listen` is a loopback address (the default mode allows nothing else).
pub fn is_loopback(listen: &str) -> bool {
    listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

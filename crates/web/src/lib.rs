//! The portal of Collabo: an axum server with Japanese HTML pages (askama, rendered on
//! the server, no SPA) for society staff, admins, auditors and employer contacts, and a
//! JSON API under `/api/v1` (with its OpenAPI document) for employers' and the
//! society's systems.
//!
//! Who may call what is decided in the permission table: every route is declared once
//! in [`routes::table`] with the [`collabo_domain::authz::Action`] it needs, and one
//! middleware ([`gate`]) checks it before any handler runs — and every operation of
//! `collabo-app` checks it again, so a handler cannot forget it. Handlers turn HTTP
//! into calls of `collabo_app::App` and its answers into pages.
//!
//! Deliberately not here: SQL and storage (crates/store, reached only through
//! crates/app), business rules (crates/domain, applied by crates/app), parsing of
//! uploads (crates/app), reading the system clock anywhere but [`clock`].

pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod gate;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod view;

use std::sync::Arc;

pub use clock::{Clock, FixedClock, ShiftedClock, SystemClock};
pub use collabo_app::App;
pub use config::ServeConfig;
pub use demo::{DemoAccount, ensure_demo_accounts};
pub use error::WebError;

/// What every handler can reach: the application, the clock, the settings.
#[derive(Clone)]
pub struct AppState {
    /// The one door to every operation.
    pub app: App,
    /// Where "now" comes from (a fixed clock in tests, a shifted one with `--date`).
    pub clock: Arc<dyn Clock>,
    /// Portal settings.
    pub config: Arc<ServeConfig>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// The letter renderer (fonts scanned, templates parsed), built on first use and
    /// dropped when an admin uploads a template.
    letters: Arc<tokio::sync::Mutex<Option<Arc<collabo_letters::Renderer>>>>,
    /// The reverse proxies whose `X-Forwarded-For` is trusted.
    pub proxies: Arc<Vec<client::IpRange>>,
    /// Imports and runs started from the staff pages.
    pub jobs: jobs::SharedJobs,
}

impl AppState {
    /// A state over an application with the given clock and settings (the
    /// employers' upload quota of the settings is applied to the application). A
    /// `trusted_proxies` entry that does not parse is left out (with an error logged;
    /// [`serve`] refuses to start with one).
    pub fn new(app: App, clock: Arc<dyn Clock>, config: ServeConfig) -> AppState {
        let proxies = config.proxies().unwrap_or_else(|e| {
            tracing::error!(%e, "trusted_proxies ignored");
            Vec::new()
        });
        AppState {
            app: app.with_employer_upload_quota(Some(config.employer_uploads_per_day)),
            clock,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::default()),
            letters: Arc::new(tokio::sync::Mutex::new(None)),
            proxies: Arc::new(proxies),
            jobs: Arc::new(jobs::Jobs::default()),
        }
    }
    /// The letter renderer with the admin's templates (built off the async runtime on
    /// first use, then shared).
    pub async fn renderer(&self) -> Result<Arc<collabo_letters::Renderer>, WebError> {
        let mut cached = self.letters.lock().await;
        if let Some(r) = cached.as_ref() {
            return Ok(r.clone());
        }
        let templates = self.config.templates_dir.clone();
        let built = tokio::task::spawn_blocking(move || {
            let dir = templates.is_dir().then_some(templates.as_path());
            collabo_letters::Renderer::with_default_fonts(None, dir)
        })
        .await
        .map_err(|e| WebError::Internal(format!("join: {e}")))?
        .map(Arc::new)
        .map_err(|e| WebError::BadRequest(format!("通知の作成準備に失敗しました: {e}")))?;
        *cached = Some(built.clone());
        Ok(built)
    }
    /// Forgets the renderer (a template changed).
    pub async fn forget_renderer(&self) {
        *self.letters.lock().await = None;
    }

    /// Now, from the clock (the portal's time).
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
    /// The wall-clock time (TOTP codes only).
    pub fn wall(&self) -> jiff::Timestamp {
        self.clock.wall()
    }
    /// Today in Japan (the society's calendar day).
    pub fn today(&self) -> collabo_domain::Date {
        clock::japan_date(self.clock.now())
    }
    /// The login limits of these settings.
    pub fn login_policy(&self) -> collabo_app::accounts::LoginPolicy {
        collabo_app::accounts::LoginPolicy {
            lockout_failures: self.config.lockout_failures,
            lockout_minutes: self.config.lockout_minutes,
            session_minutes: self.config.session_minutes,
            throttle_free_failures: self.config.login_free_failures,
            throttle_max_seconds: self.config.login_max_delay_seconds,
        }
    }
}

/// The whole application: every route of [`routes::table`] behind the gate, plus
/// metrics and request tracing.
pub fn router(state: AppState) -> axum::Router {
    routes::build(state)
}

/// The router of the separate metrics address (`metrics_listen`): `/metrics` only.
pub fn metrics_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(routes::public::metrics_open))
        .layer(axum::middleware::from_fn(routes::security_headers))
        .with_state(state)
}

/// Opens the database and serves until Ctrl-C (plain HTTP; put a TLS reverse proxy in
/// front, see README.md). With `config.date` the clock is shifted to that day. With
/// `metrics_listen`, `/metrics` is served there too.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    use anyhow::Context as _;
    config.proxies().context("trusted_proxies")?;
    let app = App::open(
        &config.database_url,
        config.insurer.as_deref(),
        &config.data_dir,
    )
    .await
    .with_context(|| format!("opening {}", config.database_url))?;
    let clock: Arc<dyn Clock> = match &config.date {
        Some(d) => Arc::new(ShiftedClock::new(
            collabo_app::parse_date(d).map_err(anyhow::Error::msg)?,
        )),
        None => Arc::new(SystemClock),
    };
    let listen = config.listen.clone();
    let metrics_listen = config.metrics_listen.clone();
    let state = AppState::new(app, clock, config);
    if let Some(address) = metrics_listen {
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .with_context(|| format!("binding {address}"))?;
        tracing::info!(%address, "metrics listening");
        let metrics = metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(%e, "metrics listener stopped");
            }
        });
    }
    let router = router(state);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(%listen, "collabo portal listening");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving")?;
    Ok(())
}

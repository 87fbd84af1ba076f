//! The portal of Collabo: an axum server with Japanese HTML pages (askama, rendered on
//! the server, no SPA) for society staff, admins, auditors and employer contacts, and a
//! JSON API under `/api/v1` (with its OpenAPI document) for employers' and the
//! society's systems.
//!
//! Who may call what is decided in one place: every route is declared once in
//! [`routes::table`] with the [`collabo_domain::authz::Action`] it needs, and one
//! middleware ([`gate`]) enforces the permission table before any handler runs. The
//! same list builds the router and drives the route-matrix test.
//!
//! Deliberately not here: SQL (crates/store), parsing of uploads (crates/app), the
//! permission table itself (crates/domain), reading the system clock anywhere but
//! [`clock::SystemClock`].

pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod gate;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod view;

use std::sync::Arc;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::ServeConfig;
pub use demo::{DemoAccount, ensure_demo_accounts};
pub use error::WebError;

use collabo_store::Store;

/// What every handler can reach: the store, the clock, the settings.
#[derive(Clone)]
pub struct AppState {
    /// The society's store.
    pub store: Store,
    /// Where "now" comes from (a fixed clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Portal settings.
    pub config: Arc<ServeConfig>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Serialises this process's audit appends. SQLite starts a transaction as a
    /// reader and fails with SQLITE_BUSY when two readers both try to become the
    /// writer (the append reads the last hash, then inserts); one writer at a time
    /// avoids that. PostgreSQL is already serialised by the store's advisory lock.
    pub audit_lock: Arc<tokio::sync::Mutex<()>>,
}

impl AppState {
    /// A state over a store with the given clock and settings.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: ServeConfig) -> AppState {
        AppState {
            store,
            clock,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::default()),
            audit_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
    /// Appends one audit record (one writer at a time, see `audit_lock`).
    pub async fn audit(
        &self,
        entry: &collabo_store::AuditEntry,
    ) -> Result<(), collabo_store::StoreError> {
        let _one_writer = self.audit_lock.lock().await;
        self.store.audit(entry, self.now()).await
    }
    /// Now, from the clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
    /// Today in Japan (the society's calendar day).
    pub fn today(&self) -> collabo_domain::Date {
        clock::japan_date(self.clock.now())
    }
}

/// The whole application: every route of [`routes::table`] behind the gate, plus
/// metrics and request tracing.
pub fn router(state: AppState) -> axum::Router {
    routes::build(state)
}

/// Opens the store and serves until Ctrl-C (plain HTTP; put a TLS reverse proxy in
/// front, see README.md).
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let store = Store::open(&config.database_url, config.insurer.as_deref())
        .await
        .with_context(|| format!("opening {}", config.database_url))?;
    let listen = config.listen.clone();
    let state = AppState::new(store, Arc::new(SystemClock), config);
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    tracing::info!(%listen, "collabo portal listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving")?;
    Ok(())
}

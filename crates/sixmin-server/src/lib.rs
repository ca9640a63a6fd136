//! The HTTP face of a running engine: `/metrics` (Prometheus text format), `/healthz`,
//! `/readyz`, `/api/status` (JSON) and `/` (the status page, `?lang=he` for Hebrew).
//!
//! The engine task owns the engine; it publishes a [`StatusView`] and updates the metrics
//! registry on every refresh. Handlers only read what was published, so a scrape never
//! waits for the engine.

pub mod background;
pub mod status;
pub mod watch;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus::Registry;
use serde::Deserialize;

pub use crate::background::{urls, wait_for_stop_signal, BackgroundServer, StartError};
pub use crate::status::{render_html, Lang, StatusView, TopicStatus};
pub use crate::watch::Watch;

/// What the handlers read.
pub struct Shared {
    /// The metrics registry.
    pub registry: Registry,
    /// The latest status view.
    pub status: RwLock<StatusView>,
    /// Whether the service is ready (input connected, state restored).
    pub ready: AtomicBool,
    /// How often the status page reloads itself, seconds.
    pub refresh_seconds: u32,
}

impl Shared {
    /// A new shared state around a registry.
    pub fn new(registry: Registry) -> Arc<Shared> {
        Arc::new(Shared {
            registry,
            status: RwLock::new(StatusView::default()),
            ready: AtomicBool::new(false),
            refresh_seconds: 5,
        })
    }

    /// Publishes a new status view.
    pub fn publish(&self, view: StatusView) {
        if let Ok(mut status) = self.status.write() {
            *status = view;
        }
    }

    /// Marks the service ready or not.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    lang: Option<String>,
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let text = sixmin_metrics::encode_text(&shared.registry);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn status_json(State(shared): State<Arc<Shared>>) -> Response {
    let body = shared
        .status
        .read()
        .map(|view| serde_json::to_string(&*view).unwrap_or_default())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn page(State(shared): State<Arc<Shared>>, Query(query): Query<PageQuery>) -> Html<String> {
    let lang = match query.lang.as_deref() {
        Some("he") => Lang::Hebrew,
        _ => Lang::English,
    };
    let view = shared
        .status
        .read()
        .map(|view| view.clone())
        .unwrap_or_default();
    Html(render_html(&view, lang, shared.refresh_seconds))
}

/// The router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/status", get(status_json))
        .with_state(shared)
}

/// Binds `address` and serves until `shutdown` resolves. Returns the bound address first
/// through `bound` (useful with port 0).
pub async fn serve(
    address: SocketAddr,
    shared: Arc<Shared>,
    bound: tokio::sync::oneshot::Sender<SocketAddr>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    // The caller may have stopped waiting for the address; serving goes on regardless.
    bound.send(local).ok();
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await
}

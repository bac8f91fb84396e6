//! The read-only JSON status API that `writeback serve --listen ADDR` offers beside the
//! scheduler: for health checks of a service manager or load balancer, and for dashboards.
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | `{"status": "ok", "version": ...}` |
//! | `GET /api/writebacks` | every writeback, as `writeback list --json` |
//! | `GET /api/writebacks/{name}` | one writeback, as `writeback show NAME --json` |
//! | `GET /api/runs?writeback=NAME&limit=N` | recent runs, newest first, as `writeback runs --json` |
//!
//! Nothing here changes state and nothing returned carries a secret (tokens never leave the
//! store; URLs carry no query string). It has no authentication, so bind it to loopback or put
//! it behind a proxy that authenticates.

use std::net::SocketAddr;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::{Error, ExitCode};
use crate::store::{Home, Store};
use crate::writebacks;

/// Most runs one request returns.
const MAX_RUNS: usize = 1000;

/// The application error: every failure becomes a JSON body with the same sentence the CLI
/// prints, and a status that matches its exit code.
struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.0.exit_code() {
            ExitCode::NotFound => StatusCode::NOT_FOUND,
            ExitCode::InputRejected => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({ "error": { "message": self.0.to_string() } });
        (status, Json(body)).into_response()
    }
}

/// Reads from the store on a blocking thread (SQLite calls block).
async fn with_store<T: Send + 'static>(
    home: Home,
    f: impl FnOnce(&Store) -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || f(&Store::open(&home)?))
        .await
        .map_err(|e| ApiError(Error::Invalid(format!("the request failed: {e}"))))?
        .map_err(ApiError)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn list(State(home): State<Home>) -> Result<Response, ApiError> {
    let views = with_store(home, writebacks::list).await?;
    Ok(Json(views).into_response())
}

async fn show(State(home): State<Home>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let view = with_store(home, move |s| writebacks::show(s, &name)).await?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize)]
struct RunsQuery {
    writeback: Option<String>,
    limit: Option<usize>,
}

async fn runs(State(home): State<Home>, Query(q): Query<RunsQuery>) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(20).clamp(1, MAX_RUNS);
    let runs = with_store(home, move |s| Ok(s.runs(q.writeback.as_deref(), limit)?)).await?;
    Ok(Json(runs).into_response())
}

/// The routes.
pub fn router(home: Home) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/writebacks", get(list))
        .route("/api/writebacks/{name}", get(show))
        .route("/api/runs", get(runs))
        .with_state(home)
}

/// Binds `addr` (port 0 picks a free one) and returns the listener and the address it got.
pub async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Invalid(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Invalid(format!("cannot listen on {addr}: {e}")))?;
    Ok((listener, local))
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    home: Home,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if let Err(e) = axum::serve(listener, router(home))
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "the status API stopped");
    }
}

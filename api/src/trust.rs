//! The node's trust in its log, as the API shows it: `/readyz`, and the gate that
//! stops the API serving anything from a log that failed verification.
//!
//! Once the ledger finds damage (at open, by a read, by the projector, by an
//! operator's full verification) the store refuses every write. The API then also
//! refuses every read of data with `503 urn:hoso:problem:ledger:untrusted` naming the
//! first bad position: a read model or a dossier folded from a log that is known to be
//! altered is not evidence of anything, and an inspector or a sync consumer must not
//! be handed it as if it were. Logging in and out still work (they touch only
//! `sessions.db`), so that an operator can authenticate to `/readyz` to see why; the
//! OpenAPI document and `/metrics` stay open; `/healthz` stays a bare liveness check.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::MaybeOperator;
use crate::problem::Problem;

/// Routes under `/api/v1` that stay open on an untrusted node.
const OPEN_WHEN_UNTRUSTED: &[&str] = &["/api/v1/sessions", "/api/v1/openapi.json"];

/// Refuses every other `/api/v1` request while the log is untrusted.
pub(crate) async fn gate(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/v1/")
        && !OPEN_WHEN_UNTRUSTED.contains(&path)
        && let Some(damage) = s.workflows.store().damage()
    {
        return Problem::untrusted(damage.position).into_response();
    }
    next.run(req).await
}

/// Whether this node should receive traffic.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `untrusted` (the log failed verification) or `unavailable` (the
    /// log does not answer).
    pub status: String,
    /// Operators only (a system administrator's session): why not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Operators only: the first bad position of an untrusted log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_position: Option<u64>,
    /// Operators only: next position of the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_position: Option<u64>,
    /// Operators only: events the read side has still to apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection_lag: Option<u64>,
}

/// Readiness: 200 when the log is trusted and answers, 503 otherwise. Anonymous
/// callers see only the status; a system administrator's session also gets the reason
/// and the first bad position.
#[utoipa::path(get, path = "/readyz", tag = "system",
    security((), ("bearer" = [])),
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub(crate) async fn readyz(
    State(s): State<Arc<AppState>>,
    MaybeOperator(operator): MaybeOperator,
) -> Response {
    let store = s.workflows.store();
    let head = store.head_position().await;
    let log_position = head.as_ref().ok().map(|h| h.map_or(0, |h| h + 1));
    let (status, reason, first_bad_position) = match (store.damage(), &head) {
        (Some(d), _) => ("untrusted", Some(d.detail), d.position),
        (None, Err(e)) => ("unavailable", Some(e.to_string()), None),
        (None, Ok(_)) => ("ready", None, None),
    };
    let code = if status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = if operator {
        Readiness {
            status: status.into(),
            reason,
            first_bad_position,
            log_position,
            projection_lag: log_position.map(|p| p.saturating_sub(s.read.next_position())),
        }
    } else {
        Readiness {
            status: status.into(),
            reason: None,
            first_bad_position: None,
            log_position: None,
            projection_lag: None,
        }
    };
    (code, Json(body)).into_response()
}

//! The node's trust in its log and its storage, as the API shows it: `/readyz`, and
//! the gate that stops the API serving anything from a log that failed verification.
//!
//! `/readyz` answers 200 only when every check passes: the log is trusted
//! (`ledger-trusted`), it accepts writes (`ledger-writable`: not marked corrupt, it
//! answers, and no write failed for want of storage since the last one that
//! succeeded), the data directory's file system keeps the free space
//! [`ReadinessLimits`](crate::ReadinessLimits) asks for (`disk-space`), and the read
//! model is not further behind the log than its bound (`read-model-lag`). Otherwise
//! 503, a problem naming each failed check (what was found only to operators).
//!
//! A storage failure is learnt from the answers themselves: the gate records every
//! `storage:unavailable` problem, and forgets it at the next write that succeeds or
//! when `/readyz`'s probe (a small file written, synced and removed in the data
//! directory) succeeds, so a node taken out of rotation comes back by itself once
//! space returns.
//!
//! Once the ledger finds damage (at open, by a read, by the projector, by an
//! operator's full verification) the store refuses every write. The API then also
//! refuses every read of data with `503 urn:hoso:problem:ledger:untrusted` naming the
//! first bad position: a read model or a dossier folded from a log that is known to be
//! altered is not evidence of anything, and an inspector or a sync consumer must not
//! be handed it as if it were. Logging in and out still work (they touch only
//! `sessions.db`), so that an operator can authenticate to `/readyz` to see why; the
//! OpenAPI document and `/metrics` stay open; `/healthz` stays a bare liveness check.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use chrono::{DateTime, Utc};

use crate::AppState;
use crate::extract::MaybeOperator;
use crate::problem::{Problem, StorageFailed};

/// Routes under `/api/v1` that stay open on an untrusted node.
const OPEN_WHEN_UNTRUSTED: &[&str] = &["/api/v1/sessions", "/api/v1/openapi.json"];

/// The file `/readyz` writes, syncs and removes in the data directory to learn
/// whether storage accepts writes again after a failure (never left behind).
pub const WRITE_PROBE_FILE: &str = "readyz.probe";

/// Refuses every other `/api/v1` request while the log is untrusted, and keeps
/// [`StorageHealth`] up to date from the answers.
pub(crate) async fn gate(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/api/v1/")
        && !OPEN_WHEN_UNTRUSTED.contains(&path)
        && let Some(damage) = s.workflows.store().damage()
    {
        return Problem::untrusted(damage.position).into_response();
    }
    let writes = !req.method().is_safe();
    let what = format!("{} {}", req.method(), path);
    let resp = next.run(req).await;
    if resp.extensions().get::<StorageFailed>().is_some() {
        s.storage.failed(s.now(), what);
    } else if writes && resp.status().is_success() {
        s.storage.succeeded();
    }
    resp
}

/// The last request that failed for want of storage, until a write succeeds.
#[derive(Debug, Default)]
pub struct StorageHealth {
    last_failure: Mutex<Option<(DateTime<Utc>, String)>>,
}

impl StorageHealth {
    fn failed(&self, at: DateTime<Utc>, what: String) {
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some((at, what));
    }

    fn succeeded(&self) {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    /// When and on what the last storage failure happened, if none succeeded since.
    pub fn last_failure(&self) -> Option<(DateTime<Utc>, String)> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Whether this node should receive traffic (200: every check passed).
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`.
    pub status: String,
    /// Operators only (a system administrator's session): next position of the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_position: Option<u64>,
    /// Operators only: events the read side has still to apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection_lag: Option<u64>,
    /// Operators only: bytes free in the data directory's file system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
}

/// A readiness check that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FailedCheck {
    /// `ledger-trusted`, `ledger-writable`, `disk-space` or `read-model-lag`.
    pub check: String,
    /// Operators only: what was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// 503 from `/readyz`: a problem (RFC 9457, `application/problem+json`) of type
/// `urn:hoso:problem:health:not-ready` naming each failed check.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReady {
    /// `urn:hoso:problem:health:not-ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary.
    pub title: String,
    /// HTTP status: 503.
    pub status: u16,
    /// The failed checks' names, in words.
    pub detail: String,
    /// Every check that failed.
    pub checks: Vec<FailedCheck>,
    /// Operators only: the first bad position of an untrusted log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// Operators only: next position of the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_position: Option<u64>,
    /// Operators only: events the read side has still to apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection_lag: Option<u64>,
}

/// Free and total bytes of the file system holding `dir`.
fn disk_space(dir: &Path) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(dir)?;
    Ok((
        st.f_bavail.saturating_mul(st.f_frsize),
        st.f_blocks.saturating_mul(st.f_frsize),
    ))
}

/// Writes, syncs and removes a small file in `dir`: whether the storage accepts
/// writes now.
fn probe_write(dir: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    let path = dir.join(WRITE_PROBE_FILE);
    let written = std::fs::File::create(&path).and_then(|mut f| {
        f.write_all(&[0u8; 4096])?;
        f.sync_all()
    });
    let removed = std::fs::remove_file(&path);
    written?;
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What the checks found.
struct Findings {
    failed: Vec<FailedCheck>,
    position: Option<u64>,
    log_position: Option<u64>,
    projection_lag: Option<u64>,
    free_bytes: Option<u64>,
}

async fn check(s: &AppState) -> Findings {
    let limits = s.config.readiness;
    let store = s.workflows.store();
    let mut failed = Vec::new();
    let mut fail = |check: &str, detail: String| {
        failed.push(FailedCheck {
            check: check.into(),
            detail: Some(detail),
        });
    };
    let damage = store.damage();
    if let Some(d) = &damage {
        fail("ledger-trusted", d.detail.clone());
    }
    let head = store.head_position().await;
    let log_position = head.as_ref().ok().map(|h| h.map_or(0, |h| h + 1));
    if damage.is_some() {
        fail(
            "ledger-writable",
            "the ledger refuses writes: it failed verification".into(),
        );
    } else if let Err(e) = &head {
        fail("ledger-writable", format!("the log does not answer: {e}"));
    } else if let Some((at, what)) = s.storage.last_failure() {
        let dir = s.data_dir.clone();
        let probe = tokio::task::spawn_blocking(move || probe_write(&dir)).await;
        match probe {
            Ok(Ok(())) => {
                tracing::info!(failed_at = %at, "storage accepts writes again");
                s.storage.succeeded();
            }
            Ok(Err(e)) => fail(
                "ledger-writable",
                format!(
                    "{what} failed for want of storage at {}; a write in the data directory still fails: {e}",
                    at.to_rfc3339()
                ),
            ),
            Err(e) => fail("ledger-writable", format!("the write probe failed: {e}")),
        }
    }
    let dir = s.data_dir.clone();
    let space = tokio::task::spawn_blocking(move || disk_space(&dir)).await;
    let free_bytes = match space {
        Ok(Ok((free, total))) => {
            let by_percent = total / 100 * u64::from(limits.min_free_percent);
            let needed = limits.min_free_bytes.min(by_percent);
            if free < needed {
                fail(
                    "disk-space",
                    format!(
                        "{free} bytes free in {}, below the {needed} bytes required (the smaller of {} bytes and {} % of {total})",
                        s.data_dir.display(),
                        limits.min_free_bytes,
                        limits.min_free_percent
                    ),
                );
            }
            Some(free)
        }
        Ok(Err(e)) => {
            fail(
                "disk-space",
                format!("cannot measure {}: {e}", s.data_dir.display()),
            );
            None
        }
        Err(e) => {
            fail("disk-space", format!("cannot measure: {e}"));
            None
        }
    };
    let projection_lag = log_position.map(|p| p.saturating_sub(s.read.next_position()));
    if let Some(lag) = projection_lag
        && lag > limits.max_projection_lag
    {
        fail(
            "read-model-lag",
            format!(
                "the read model is {lag} events behind the log (at most {} allowed)",
                limits.max_projection_lag
            ),
        );
    }
    Findings {
        failed,
        position: damage.and_then(|d| d.position),
        log_position,
        projection_lag,
        free_bytes,
    }
}

/// Readiness: 200 when every check passes (the log trusted and writable, the data
/// directory's free space and the read model's lag within their bounds), else 503,
/// a problem naming each failed check. Anonymous callers see only the names; a
/// system administrator's session also gets what was found and the positions.
#[utoipa::path(get, path = "/readyz", tag = "system",
    security((), ("bearer" = [])),
    responses((status = 200, body = Readiness),
              (status = 503, body = NotReady, content_type = "application/problem+json")))]
pub(crate) async fn readyz(
    State(s): State<Arc<AppState>>,
    MaybeOperator(operator): MaybeOperator,
) -> Response {
    let f = check(&s).await;
    let only = |v: Option<u64>| v.filter(|_| operator);
    if f.failed.is_empty() {
        return Json(Readiness {
            status: "ready".into(),
            log_position: only(f.log_position),
            projection_lag: only(f.projection_lag),
            free_bytes: only(f.free_bytes),
        })
        .into_response();
    }
    let names: Vec<&str> = f.failed.iter().map(|c| c.check.as_str()).collect();
    let detail = format!("not ready: {} failed", names.join(", "));
    for c in &f.failed {
        tracing::debug!(check = %c.check, detail = ?c.detail, "not ready");
    }
    let checks = f
        .failed
        .into_iter()
        .map(|c| FailedCheck {
            check: c.check,
            detail: c.detail.filter(|_| operator),
        })
        .collect();
    let body = NotReady {
        type_: "urn:hoso:problem:health:not-ready".into(),
        title: "Service Unavailable".into(),
        status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
        detail,
        checks,
        position: only(f.position),
        log_position: only(f.log_position),
        projection_lag: only(f.projection_lag),
    };
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    r
}

//! The routes, their shared input and output types, the request-id and
//! metrics middleware, and the OpenAPI document generated from the
//! handlers' annotations.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use hoso_commands::workflows::Receipt;
use hoso_ledger::SourceDocument;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::problem::{ApiResult, Problem};

pub mod accounts;
pub mod bulk_import;
pub mod decisions;
pub mod dossiers;
pub mod ledger;
pub mod org;
pub mod reports;
pub mod resume;
pub mod sessions;
pub mod sync;
pub mod sync_continuous;
pub mod sync_months;

/// What a command did: the aggregate's new revision and the global
/// position to wait for (`?wait_for=`) to read it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReceiptOut {
    /// Id of what was created or changed.
    pub id: String,
    /// Its stream.
    pub stream: String,
    /// The stream's revision after the command (the new `ETag`).
    pub revision: u64,
    /// Global position of the last event written.
    pub position: u64,
    /// What the caller should know although the command succeeded.
    pub warnings: Vec<String>,
}

impl ReceiptOut {
    /// From a receipt.
    pub fn new(id: impl Into<String>, r: Receipt) -> Self {
        Self {
            id: id.into(),
            stream: r.stream,
            revision: r.revision,
            position: r.position,
            warnings: r.warnings,
        }
    }
}

/// The decision or document behind a command.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentIn {
    /// Number, e.g. `125/QĐ-UBND`.
    pub number: String,
    /// Date signed.
    pub date: NaiveDate,
    /// Issuing body.
    pub issuer: String,
    /// SHA-256 (hex) of the digitised copy uploaded as an attachment.
    #[serde(default)]
    pub attachment_sha256: Option<String>,
}

impl DocumentIn {
    /// As the ledger records it.
    pub fn into_source(self) -> ApiResult<SourceDocument> {
        let attachment_sha256 = self
            .attachment_sha256
            .as_deref()
            .map(|h| parse_sha256(h, "attachment_sha256"))
            .transpose()?;
        Ok(SourceDocument {
            number: self.number,
            date: self.date,
            issuer: self.issuer,
            attachment_sha256,
        })
    }
}

/// A 64-hex-digit SHA-256.
pub fn parse_sha256(h: &str, what: &str) -> ApiResult<[u8; 32]> {
    let bytes = hex::decode(h)
        .map_err(|_| Problem::bad_request("invalid-hash", format!("{what}: not hex")))?;
    bytes
        .try_into()
        .map_err(|_| Problem::bad_request("invalid-hash", format!("{what}: not 32 bytes")))
}

/// `?wait_for=<position>`: read your own writes.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitFor {
    /// Answer only once the read side has applied this global position
    /// (from a command's answer), or 503 after the server's bound.
    pub wait_for: Option<u64>,
}

/// The names today of the accounts `ids`, for an answer that would otherwise
/// name who acted only by account id (the log keeps ids). An id that is no
/// account (an import's actor, the system) has no name.
pub(crate) async fn account_names(
    state: &AppState,
    ids: &[&str],
) -> ApiResult<std::collections::HashMap<String, String>> {
    Ok(state
        .workflows
        .accounts_by_id(ids)
        .await?
        .into_iter()
        .map(|(id, a)| (id, a.display_name))
        .collect())
}

/// Waits for the read side to reach `position`, if asked. A position the log
/// has not reached is refused at once: no write gave it, so waiting for it
/// could only time out.
pub async fn wait(state: &AppState, w: Option<u64>) -> ApiResult<()> {
    let Some(p) = w else {
        return Ok(());
    };
    if p >= state.read.next_position() {
        let head = state
            .workflows
            .store()
            .head_position()
            .await
            .map_err(hoso_projections::ProjectionError::from)?;
        if head.is_none_or(|h| p > h) {
            let end = head.map_or(0, |h| h + 1);
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "read",
                "wait-beyond-log",
                format!(
                    "wait_for={p} is beyond the log, whose next position is {end}: \
                     give the position a command answered with"
                ),
            ));
        }
    }
    state.read.wait_for(p, state.config.read_wait).await?;
    Ok(())
}

/// Liveness. Anonymous callers learn only that the process answers; a system
/// administrator's session also gets the backend and the positions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Operators only: backend of the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Operators only: next position of the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_position: Option<u64>,
    /// Operators only: next position the read side will apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection_position: Option<u64>,
}

#[utoipa::path(get, path = "/healthz", tag = "system", security((), ("bearer" = [])),
    responses((status = 200, body = Health), (status = 503, body = Problem)))]
async fn healthz(
    State(s): State<Arc<AppState>>,
    crate::extract::MaybeOperator(operator): crate::extract::MaybeOperator,
) -> ApiResult<Json<Health>> {
    let store = s.workflows.store();
    let head = store.head_position().await.map_err(|e| {
        tracing::error!(error = %e, "health check: the log does not answer");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "failure",
            "log-unavailable",
            "the log does not answer",
        )
    })?;
    Ok(Json(Health {
        status: "ok".into(),
        backend: operator.then(|| store.backend_name().to_owned()),
        log_position: operator.then(|| head.map_or(0, |h| h + 1)),
        projection_position: operator.then(|| s.read.next_position()),
    }))
}

#[utoipa::path(get, path = "/metrics", tag = "system", security(()),
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let head = s.workflows.store().head_position().await.ok().flatten();
    let damage = s.workflows.store().damage();
    let mut text = s
        .metrics
        .render(head, s.read.next_position(), damage.as_ref());
    if let Some(g) = sync::gauges(&s).await {
        text.push_str(&g.render());
    }
    if let Some(lag) = sync_continuous::lag_gauges(&s).await {
        text.push_str(&lag);
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", security(()),
    responses((status = 200, description = "This document")))]
async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            text,
        )
            .into_response(),
        Err(e) => Problem::internal(&e).into_response(),
    }
}

async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "request",
        "no-route",
        "no such route; see /api/v1/openapi.json",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "request",
        "method-not-allowed",
        "this route does not take that method; see /api/v1/openapi.json",
    )
}

/// Gives each request an id (echoed as `x-request-id`), a tracing span
/// carrying it, and a line in the metrics.
async fn observe(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    // A response to a session (or the login that opens one) is for its holder only.
    let private =
        req.headers().contains_key(header::AUTHORIZATION) || req.uri().path() == "/api/v1/sessions";
    let span = tracing::info_span!("request", id = %id, method = %method, route = %route);
    let mut resp = {
        let _g = span.enter();
        tracing::debug!("started");
        drop(_g);
        tracing::Instrument::instrument(next.run(req), span.clone()).await
    };
    let took = started.elapsed();
    let status = resp.status().as_u16();
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(status, micros = took.as_micros() as u64, "answered");
        } else {
            tracing::info!(status, micros = took.as_micros() as u64, "answered");
        }
    });
    s.metrics.request(&method, &route, status, took);
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let headers = resp.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Bytes as they are, for uploads and downloads: a client generator gives
/// them as a byte stream, not as JSON.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);

/// The OpenAPI 3.1 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "hoso", description = "Personnel dossiers of Vietnamese public servants as a tamper-evident ledger of events."),
    paths(
        healthz, crate::trust::readyz, metrics, openapi,
        sessions::login, sessions::logout,
        dossiers::open, dossiers::import, bulk_import::import, dossiers::search, dossiers::read, dossiers::history, dossiers::declare,
        dossiers::review, dossiers::approval_request, dossiers::approve, dossiers::transfer,
        dossiers::incoming,
        dossiers::status, dossiers::upload, dossiers::attachment, dossiers::audit,
        dossiers::readers, dossiers::obligations,
        decisions::record, resume::resume,
        org::tree, org::ceased, org::names, org::decide, org::unit, org::subtree, org::headcount, org::quota,
        accounts::me, accounts::delegates, accounts::list, accounts::issue, accounts::change_own_password, accounts::issue_password,
        accounts::change, accounts::attempts,
        reports::annual, reports::management, reports::sla, reports::approvals_pending,
        reports::quality, reports::crosstab,
        ledger::latest, ledger::inclusion, ledger::consistency, ledger::bundle,
        sync::next, sync::seal, sync::feed, sync::batch, sync::acknowledge, sync::report,
        sync_continuous::keys,
        sync_months::next, sync_months::sign, sync_months::list, sync_months::month,
    ),
    components(schemas(Problem, ReceiptOut, DocumentIn, Health, crate::trust::Readiness,
        crate::trust::NotReady, crate::trust::FailedCheck, reports::Format,
        decisions::DecisionIn, decisions::AmountIn)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Every route behind a session can answer 401 (no, expired or
        // revoked token; locked account) and 403 (issued password not yet
        // changed, BT 4.4), always as a problem.
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            // Refused with `ledger:untrusted` once the log failed verification
            // (see `crate::trust`); and any of them, logging in and out too, with
            // `storage:unavailable` when the storage fails.
            let gated = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.delete,
                &mut item.put,
            ]
            .into_iter()
            .flatten()
            {
                problems_as_problem_json(op);
                edge_refusals(op, &problem);
                if gated {
                    op.responses.responses.entry("503".into()).or_insert_with(|| {
                        problem("The ledger failed verification: this node serves nothing from it (urn:hoso:problem:ledger:untrusted); the storage failed, retry after the Retry-After seconds (urn:hoso:problem:storage:unavailable); or the read side did not catch up in time").into()
                    });
                }
                // Open when any requirement is empty (no session, or an optional one).
                let open = op.security.as_ref().is_some_and(|s| {
                    s.iter().any(|r| {
                        serde_json::to_value(r)
                            .is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
                    })
                });
                if open {
                    continue;
                }
                op.responses.responses.entry("401".into()).or_insert_with(|| {
                    problem("No live session: missing, invalid or expired token, or a locked account").into()
                });
                op.responses.responses.entry("403".into()).or_insert_with(|| {
                    problem("Not allowed: a rule refused it, or the issued password must be changed first (BT 4.4)").into()
                });
            }
        }
    }
}

/// Every error answer is a problem, whatever media type a route's annotation
/// gave it: the server always sends `application/problem+json` (RFC 9457).
fn problems_as_problem_json(op: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::RefOr;
    for (status, resp) in op.responses.responses.iter_mut() {
        let RefOr::T(resp) = resp else { continue };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        if let Some(content) = resp.content.shift_remove("application/json") {
            resp.content
                .insert("application/problem+json".to_owned(), content);
        }
    }
}

/// The refusals the extractors give before a handler runs, listed on every
/// operation they can reach: a body that is not the JSON the operation takes,
/// too large, or of another media type; a query string or a value that breaks
/// an input rule (`hoso_domain::input`).
fn edge_refusals(
    op: &mut utoipa::openapi::path::Operation,
    problem: &dyn Fn(&str) -> utoipa::openapi::Response,
) {
    let has_body = op.request_body.is_some();
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut add = |status: &str, what: &str| {
        op.responses
            .responses
            .entry(status.into())
            .or_insert_with(|| problem(what).into());
    };
    if has_body || has_params {
        add(
            "400",
            "Malformed: a body that is not the JSON this operation takes, or a query string it cannot read",
        );
        add(
            "422",
            "A value breaks an input rule (urn:hoso:problem:input:<rule>, with a JSON pointer to it) or a rule of the domain",
        );
    }
    if has_body {
        add("413", "The body is larger than the server takes");
        add(
            "415",
            "The body is not of a media type this operation takes",
        );
    }
}

/// Every route.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.body_limit;
    let api = Router::new()
        .route("/sessions", post(sessions::login).delete(sessions::logout))
        .route("/dossiers", post(dossiers::open).get(dossiers::search))
        .route("/dossiers/imports", post(dossiers::import))
        .route("/dossiers/imports/bulk", bulk_import::route())
        .route("/dossiers/{id}", get(dossiers::read))
        .route("/dossiers/{id}/history", get(dossiers::history))
        .route("/dossiers/{id}/audit", get(dossiers::audit))
        .route("/dossiers/{id}/readers", get(dossiers::readers))
        .route("/dossiers/{id}/obligations", get(dossiers::obligations))
        .route("/dossiers/{id}/resume", get(resume::resume))
        .route("/dossiers/{id}/bundle", get(ledger::bundle))
        .route("/dossiers/{id}/declarations", post(dossiers::declare))
        .route("/dossiers/{id}/review", post(dossiers::review))
        .route(
            "/dossiers/{id}/approvals",
            get(dossiers::approval_request).post(dossiers::approve),
        )
        .route("/dossiers/{id}/transfers", post(dossiers::transfer))
        .route("/transfers", get(dossiers::incoming))
        .route("/dossiers/{id}/status", post(dossiers::status))
        .route("/dossiers/{id}/decisions", post(decisions::record))
        .route("/dossiers/{id}/attachments", post(dossiers::upload))
        .route(
            "/dossiers/{id}/attachments/{sha256}",
            get(dossiers::attachment),
        )
        .route("/org-units", get(org::tree).post(org::decide))
        .route("/org-units/ceased", get(org::ceased))
        .route("/org-units/names", get(org::names))
        .route("/org-units/{code}", get(org::unit))
        .route("/org-units/{code}/tree", get(org::subtree))
        .route("/org-units/{code}/headcount", get(org::headcount))
        .route("/org-units/{code}/quota", get(org::quota))
        .route("/accounts", get(accounts::list).post(accounts::issue))
        .route("/accounts/me", get(accounts::me))
        .route("/accounts/me/delegates", get(accounts::delegates))
        .route("/accounts/me/password", post(accounts::change_own_password))
        .route("/accounts/{id}/password", post(accounts::issue_password))
        .route("/accounts/{id}/changes", post(accounts::change))
        .route("/security/attempts", get(accounts::attempts))
        .route("/reports/annual", get(reports::annual))
        .route("/reports/management", get(reports::management))
        .route("/reports/sla", get(reports::sla))
        .route(
            "/reports/approvals-pending",
            get(reports::approvals_pending),
        )
        .route("/reports/quality", get(reports::quality))
        .route("/reports/crosstab", get(reports::crosstab))
        .route("/ledger/checkpoints/latest", get(ledger::latest))
        .route("/ledger/proofs/inclusion", get(ledger::inclusion))
        .route("/ledger/proofs/consistency", get(ledger::consistency))
        .route("/sync/batches", get(sync::feed).post(sync::seal))
        .route("/sync/batches/next", get(sync::next))
        .route("/sync/batches/{sequence}", get(sync::batch))
        .route("/sync/batches/{sequence}/ack", post(sync::acknowledge))
        .route("/reports/sync", get(sync::report))
        .route("/sync/keys", get(sync_continuous::keys))
        .route(
            "/sync/months",
            get(sync_months::list).post(sync_months::sign),
        )
        .route("/sync/months/next", get(sync_months::next))
        .route("/sync/months/{month}", get(sync_months::month))
        .route("/openapi.json", get(openapi));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(crate::trust::readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::trust::gate,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Parses an enumerated value in its one spelling (`cong_chuc`, see
/// [`hoso_schemas::spelling`]); an unknown one is refused with the valid ones
/// listed.
pub fn parse_enum<T: hoso_schemas::Spelling>(value: &str, what: &str) -> ApiResult<T> {
    T::from_spelling(value).ok_or_else(|| invalid_value(what, value, &T::spellings()))
}

/// The refusal of an unknown enumerated value, listing the valid ones.
pub fn invalid_value(what: &str, value: &str, valid: &[impl AsRef<str>]) -> Problem {
    let valid: Vec<&str> = valid.iter().map(AsRef::as_ref).collect();
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "request",
        "invalid-value",
        format!(
            "{what}: unknown value \"{value}\"; valid values: {}",
            valid.join(", ")
        ),
    )
}

/// As [`parse_enum`], for a value of a JSON body at `pointer`, which the
/// problem names.
pub fn parse_enum_at<T: hoso_schemas::Spelling>(value: &str, pointer: &str) -> ApiResult<T> {
    parse_enum(value, pointer).map_err(|mut p| {
        p.pointer = Some(pointer.to_owned());
        p
    })
}

//! Reports, in JSON or CSV (`format=csv`): annual headcount (BT 16.5,
//! HY 14.1), management (KT 19.2), SLA of obligations, approvals pending.
//! Each is for a unit subtree the caller holds a right over (or an
//! inspection in force over, and the inspector's query is logged); a unit
//! outside scope is not found and the attempt is recorded.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use hoso_projections::reports::{
    AnnualReport, ManagementReport, PendingWindow, SlaReport, pending_to_csv,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::org::require_scope;
use crate::AppState;
use crate::extract::{Caller, Params};
use crate::problem::{ApiResult, Problem};

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (default).
    #[default]
    Json,
    /// CSV.
    Csv,
}

fn csv(text: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

fn answer<T: serde::Serialize>(
    format: Format,
    report: T,
    to_csv: impl Fn(&T) -> String,
) -> Response {
    match format {
        Format::Json => Json(report).into_response(),
        Format::Csv => csv(to_csv(&report)),
    }
}

/// Annual report parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnnualParams {
    /// Root unit.
    pub org: String,
    /// Year (default: this year).
    pub year: Option<i32>,
    /// `json` or `csv`.
    #[serde(default)]
    pub format: Format,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// The annual headcount report by rank, title and job position.
#[utoipa::path(get, path = "/api/v1/reports/annual", tag = "reports", params(AnnualParams),
    responses((status = 200, content((AnnualReport = "application/json"), (String = "text/csv"))),
              (status = 404, body = Problem)))]
pub async fn annual(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<AnnualParams>,
) -> ApiResult<Response> {
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/annual", uri.query()).await?;
    let year = p.year.unwrap_or_else(|| s.today().year());
    let r = s.read.annual_report(&p.org, year)?;
    Ok(answer(p.format, r, AnnualReport::to_csv))
}

/// Management report parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ManagementParams {
    /// Root unit.
    pub org: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// `json` or `csv`.
    #[serde(default)]
    pub format: Format,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// New dossiers, status updates and pending approvals for a period (KT 19.2).
#[utoipa::path(get, path = "/api/v1/reports/management", tag = "reports",
    params(ManagementParams),
    responses((status = 200, content((ManagementReport = "application/json"), (String = "text/csv"))),
              (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn management(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<ManagementParams>,
) -> ApiResult<Response> {
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/management", uri.query()).await?;
    if p.from > p.to {
        return Err(Problem::bad_request(
            "invalid-period",
            "`from` is after `to`",
        ));
    }
    let r = s.read.management_report(&p.org, p.from, p.to)?;
    Ok(answer(p.format, r, ManagementReport::to_csv))
}

/// SLA report parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SlaParams {
    /// Root unit.
    pub org: String,
    /// Report date (default today).
    pub on: Option<NaiveDate>,
    /// `json` or `csv`.
    #[serde(default)]
    pub format: Format,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// Open and overdue obligations per responsible unit of the subtree, due
/// dates in working days from the profile.
#[utoipa::path(get, path = "/api/v1/reports/sla", tag = "reports", params(SlaParams),
    responses((status = 200, content((SlaReport = "application/json"), (String = "text/csv"))),
              (status = 404, body = Problem)))]
pub async fn sla(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<SlaParams>,
) -> ApiResult<Response> {
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/sla", uri.query()).await?;
    let on = p.on.unwrap_or_else(|| s.today());
    let units = s.read.subtree(&p.org, on)?;
    let mut r = s.read.sla_report(on, s.workflows.calendar())?;
    r.units.retain(|l| units.contains(&l.org_code));
    let visible = s.read.dossiers_in_units(&units)?;
    r.open.retain(|o| visible.contains(&o.dossier_id));
    Ok(answer(p.format, r, SlaReport::to_csv))
}

/// Approvals-pending parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PendingParams {
    /// `json` or `csv`.
    #[serde(default)]
    pub format: Format,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// Locked dossiers waiting for a signature per monthly window, province
/// wide: Sở Nội vụ only.
#[utoipa::path(get, path = "/api/v1/reports/approvals-pending", tag = "reports",
    params(PendingParams),
    responses((status = 200, content((Vec<PendingWindow> = "application/json"), (String = "text/csv"))),
              (status = 403, body = Problem)))]
pub async fn approvals_pending(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Params(p): Params<PendingParams>,
) -> ApiResult<Response> {
    super::wait(&s, p.wait_for).await?;
    if !c.is_system_admin() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access",
            "system-admin-only",
            "the province-wide approvals report is for Sở Nội vụ",
        ));
    }
    let r = s
        .read
        .approvals_pending(s.workflows.profile(), s.workflows.calendar())?;
    Ok(answer(p.format, r, |r: &Vec<PendingWindow>| {
        pending_to_csv(r)
    }))
}

//! Organisation views: the tree at a date, a subtree, headcount by a
//! dimension, and staffing quota against actual. Any right over a unit
//! (DL 12.2 *access* includes statistics of the scope) opens its views;
//! outside scope a unit is not found.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use chrono::NaiveDate;
use hoso_projections::views::{Dimension, OrgNode, QuotaReport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

use super::dossiers::refused;
use crate::AppState;
use crate::extract::{Caller, Params, PathParams};
use crate::problem::{ApiResult, Problem};

/// The caller must hold a right over `code` (Sở Nội vụ holds all), or an
/// inspection in force over it; an inspector's query is then logged with
/// its criteria (`query`, the request's query string).
pub(crate) async fn require_scope(
    s: &AppState,
    c: &Caller,
    code: &str,
    route: &str,
    query: Option<&str>,
) -> ApiResult<()> {
    if s.workflows.right_over_unit(&c.actor, code).await?.is_some() {
        if c.account.kind == hoso_domain::account::AccountKind::Inspector {
            let criteria = match query {
                Some(q) if !q.is_empty() => format!("code={code}&{q}"),
                _ => format!("code={code}"),
            };
            s.workflows
                .log_inspection_query(&c.actor, code, route, &criteria, Vec::new())
                .await?;
        }
        Ok(())
    } else {
        refused(s, c, route, &format!("unit={code}"));
        Err(Problem::not_found("unit"))
    }
}

/// A date, default today.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DateParam {
    /// The date (default: today in Vietnam).
    pub date: Option<NaiveDate>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// The whole tree of units on a date. Staff accounts only.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "organisation", params(DateParam),
    responses((status = 200, body = Vec<OrgNode>), (status = 403, body = Problem)))]
pub async fn tree(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Params(p): Params<DateParam>,
) -> ApiResult<Json<Vec<OrgNode>>> {
    super::wait(&s, p.wait_for).await?;
    if c.account.kind == hoso_domain::account::AccountKind::Personal {
        return Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "access",
            "staff-only",
            "the organisation views are for staff accounts",
        ));
    }
    Ok(Json(s.read.tree_at(p.date.unwrap_or_else(|| s.today()))?))
}

/// The subtree under a unit on a date.
#[utoipa::path(get, path = "/api/v1/org-units/{code}/tree", tag = "organisation",
    params(("code" = String, Path, description = "Unit code"), DateParam),
    responses((status = 200, body = Vec<OrgNode>), (status = 404, body = Problem)))]
pub async fn subtree(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    PathParams(code): PathParams<String>,
    Params(p): Params<DateParam>,
) -> ApiResult<Json<Vec<OrgNode>>> {
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &code, "GET /org-units/{code}/tree", uri.query()).await?;
    let date = p.date.unwrap_or_else(|| s.today());
    let units = s.read.subtree(&code, date)?;
    Ok(Json(
        s.read
            .tree_at(date)?
            .into_iter()
            .filter(|n| units.contains(&n.code))
            .collect(),
    ))
}

/// Headcount parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HeadcountParams {
    /// The dimension.
    #[param(value_type = Dimension, inline)]
    pub by: String,
    /// Date (default today).
    pub date: Option<NaiveDate>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// Headcount of a subtree.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeadcountOut {
    /// Unit.
    pub unit: String,
    /// Date.
    pub date: NaiveDate,
    /// Dimension.
    pub by: String,
    /// Count per value.
    pub counts: BTreeMap<String, u64>,
}

/// Headcount of the subtree on a date by one dimension.
#[utoipa::path(get, path = "/api/v1/org-units/{code}/headcount", tag = "organisation",
    params(("code" = String, Path, description = "Unit code"), HeadcountParams),
    responses((status = 200, body = HeadcountOut), (status = 400, body = Problem),
              (status = 404, body = Problem),
              (status = 422, body = Problem, description = "An unknown dimension; the problem lists the valid ones")))]
pub async fn headcount(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    PathParams(code): PathParams<String>,
    Params(p): Params<HeadcountParams>,
) -> ApiResult<Json<HeadcountOut>> {
    super::wait(&s, p.wait_for).await?;
    require_scope(
        &s,
        &c,
        &code,
        "GET /org-units/{code}/headcount",
        uri.query(),
    )
    .await?;
    let by = super::reports::dimension(&p.by, "by")?;
    let date = p.date.unwrap_or_else(|| s.today());
    Ok(Json(HeadcountOut {
        counts: s.read.headcount(&code, date, by)?,
        unit: code,
        date,
        by: p.by,
    }))
}

/// A year.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct YearParam {
    /// Year (default this year).
    pub year: Option<u32>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// Staffing quota against actual for a year.
#[utoipa::path(get, path = "/api/v1/org-units/{code}/quota", tag = "organisation",
    params(("code" = String, Path, description = "Unit code"), YearParam),
    responses((status = 200, body = QuotaReport), (status = 404, body = Problem)))]
pub async fn quota(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    PathParams(code): PathParams<String>,
    Params(p): Params<YearParam>,
) -> ApiResult<Json<QuotaReport>> {
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &code, "GET /org-units/{code}/quota", uri.query()).await?;
    use chrono::Datelike;
    let year = p
        .year
        .unwrap_or_else(|| u32::try_from(s.today().year()).unwrap_or(2026));
    Ok(Json(s.read.quota(&code, year)?))
}

/// A decision about a unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrgChangeIn {
    /// Establish a unit (admin right over its parent; Sở Nội vụ for a root).
    Establish {
        /// Name.
        name: String,
        /// Kind, e.g. `provincial_department`, `public_service_unit`.
        kind: String,
        /// Parent unit code.
        #[serde(default)]
        parent: Option<String>,
        /// First day.
        effective: NaiveDate,
    },
    /// Rename.
    Rename {
        /// New name.
        name: String,
        /// First day of the new name.
        effective: NaiveDate,
    },
    /// Merge into a successor; dossiers and accounts move (DL 5.5).
    MergeInto {
        /// Successor code.
        successor: String,
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Dissolve.
    Dissolve {
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
}

/// A decision about a unit, with its document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgDecisionIn {
    /// Unit code (its stream is `org-<code>`).
    pub code: String,
    /// The decision.
    pub decision: super::DocumentIn,
    /// What it does.
    pub change: OrgChangeIn,
}

/// Establishes, renames, merges or dissolves a unit.
#[utoipa::path(post, path = "/api/v1/org-units", tag = "organisation",
    request_body = OrgDecisionIn,
    responses((status = 200, body = super::ReceiptOut), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn decide(
    State(s): State<Arc<AppState>>,
    c: Caller,
    crate::extract::Body(input): crate::extract::Body<OrgDecisionIn>,
) -> ApiResult<Json<super::ReceiptOut>> {
    use hoso_domain::org::{OrgChange, OrgCommand};
    use hoso_schemas::pb::org::OrgUnitKind;
    let change = match input.change {
        OrgChangeIn::Establish {
            name,
            kind,
            parent,
            effective,
        } => OrgChange::Establish {
            name,
            kind: super::parse_enum(&kind, "ORG_UNIT_KIND_", "kind", OrgUnitKind::from_str_name)?,
            parent,
            effective,
        },
        OrgChangeIn::Rename { name, effective } => OrgChange::Rename { name, effective },
        OrgChangeIn::MergeInto {
            successor,
            effective,
        } => OrgChange::MergeInto {
            successor,
            effective,
        },
        OrgChangeIn::Dissolve { effective } => OrgChange::Dissolve { effective },
    };
    let code = input.code.clone();
    let r = s
        .workflows
        .org(
            &c.actor,
            OrgCommand {
                code: input.code,
                decision: input.decision.into_source()?,
                change,
            },
        )
        .await?;
    Ok(Json(super::ReceiptOut::new(code, r)))
}

//! Organisation views: the tree at a date, a subtree, headcount by a
//! dimension, and staffing quota against actual. Any right over a unit
//! (DL 12.2 *access* includes statistics of the scope) opens its views;
//! outside scope a unit is not found.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use chrono::NaiveDate;
use hoso_domain::org::{ApprovalAuthority, JobPosition, OrgChange, OrgCommand, StaffingQuota};
use hoso_projections::units::UnitView;
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
#[into_params(parameter_in = Query)]
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
    staff_only(&c)?;
    Ok(Json(s.read.tree_at(p.date.unwrap_or_else(|| s.today()))?))
}

/// The units that had ceased by a date (merged, split or dissolved on or
/// before it), as they stood that day, with their successors and the unit
/// that holds their people (DL 5.5): what the tree of that day no longer
/// shows. Staff accounts only, like the tree.
#[utoipa::path(get, path = "/api/v1/org-units/ceased", tag = "organisation", params(DateParam),
    responses((status = 200, body = Vec<UnitView>), (status = 403, body = Problem)))]
pub async fn ceased(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Params(p): Params<DateParam>,
) -> ApiResult<Json<Vec<UnitView>>> {
    super::wait(&s, p.wait_for).await?;
    staff_only(&c)?;
    Ok(Json(s.read.ceased_by(p.date.unwrap_or_else(|| s.today()))?))
}

/// Most codes one request may ask names for.
pub const NAMES_LIMIT: usize = 64;

/// Units to name.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NamesParam {
    /// Unit codes, separated by commas (at most 64).
    pub codes: String,
    /// The date whose names are given (default: today in Vietnam).
    pub date: Option<NaiveDate>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// A unit's name on a date.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitName {
    /// Code.
    pub code: String,
    /// Name in force on the date (its last name once ceased).
    pub name: String,
}

/// The names of the units asked for, on a date, in the order asked (each
/// once; codes of no unit are left out), so that a page shows units by name
/// with one request. Every account: a public body's name is public, unlike
/// the tree's structure and quotas, and a servant's own dossier names its
/// units.
#[utoipa::path(get, path = "/api/v1/org-units/names", tag = "organisation", params(NamesParam),
    responses((status = 200, body = Vec<UnitName>), (status = 400, body = Problem)))]
pub async fn names(
    State(s): State<Arc<AppState>>,
    _c: Caller,
    Params(p): Params<NamesParam>,
) -> ApiResult<Json<Vec<UnitName>>> {
    super::wait(&s, p.wait_for).await?;
    let mut codes: Vec<&str> = Vec::new();
    for code in p.codes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    if codes.len() > NAMES_LIMIT {
        return Err(Problem::bad_request(
            "too-many-codes",
            format!("at most {NAMES_LIMIT} unit codes at a time"),
        ));
    }
    let date = p.date.unwrap_or_else(|| s.today());
    let mut named = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(u) = s.read.unit_at(code, date)? {
            named.push(UnitName {
                code: u.code,
                name: u.name,
            });
        }
    }
    Ok(Json(named))
}

/// The organisation views are for staff accounts, not personal ones.
fn staff_only(c: &Caller) -> ApiResult<()> {
    if c.account.kind == hoso_domain::account::AccountKind::Personal {
        return Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "access",
            "staff-only",
            "the organisation views are for staff accounts",
        ));
    }
    Ok(())
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
#[into_params(parameter_in = Query)]
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearParam {
    /// Year (default this year).
    #[param(minimum = 1900, maximum = 2100)]
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

/// One unit as it stands on a date: status and who holds its people,
/// staffing quotas, job positions and approval authority in force.
#[utoipa::path(get, path = "/api/v1/org-units/{code}", tag = "organisation",
    params(("code" = String, Path, description = "Unit code"), DateParam),
    responses((status = 200, body = UnitView), (status = 400, body = Problem),
              (status = 404, body = Problem)))]
pub async fn unit(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    PathParams(code): PathParams<String>,
    Params(p): Params<DateParam>,
) -> ApiResult<Json<UnitView>> {
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &code, "GET /org-units/{code}", uri.query()).await?;
    let date = p.date.unwrap_or_else(|| s.today());
    s.read
        .unit_at(&code, date)?
        .map(Json)
        .ok_or_else(|| Problem::not_found("unit"))
}

/// A decision about a unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OrgChangeIn {
    /// Establish a unit (admin right over its parent; Sở Nội vụ for a root).
    Establish {
        /// Kind: `provincial_department`, `peoples_committee_province`,
        /// `peoples_committee_district`, `peoples_committee_commune`,
        /// `public_service_unit`, `association`, `internal_division`.
        kind: String,
        /// Name.
        name: String,
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
    /// Merge into a successor (DL 5.5): from `effective` on the unit's
    /// dossiers and accounts are the successor's; a future date moves them
    /// on that date, not before.
    MergeInto {
        /// Successor code.
        successor: String,
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Split into two or more successors, which must exist on `effective`
    /// (DL 5.5). People and accounts go to the first successor on that
    /// date; the receiving agencies redistribute them by transfers.
    Split {
        /// Successor codes, the receiving one first.
        successors: Vec<String>,
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Dissolve.
    Dissolve {
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Set the staffing quota (biên chế) of one year; a later decision for
    /// the same year replaces it.
    SetStaffingQuota {
        /// Calendar year.
        year: u32,
        /// Headcounts by category.
        quota: StaffingQuotaIn,
    },
    /// Define (or redefine, same code) a job position (vị trí việc làm).
    DefineJobPosition {
        /// Position code, unique within the unit.
        code: String,
        /// Title.
        title: String,
        /// Group: `leadership`, `professional`, `shared_professional`, `support`.
        group: String,
        /// Lowest rank or professional title code required, e.g. `01.003`.
        #[serde(default)]
        required_rank_code: String,
        /// Number of people the position is for (at least 1).
        headcount: u32,
        /// First day it holds.
        effective: NaiveDate,
    },
    /// Assign which personnel the unit's head approves (DT 11), within the
    /// unit's own subtree (DL 6); replaces any earlier assignment.
    AssignApprovalAuthority {
        /// Categories: `can_bo`, `cong_chuc`, `vien_chuc`, `nguoi_lao_dong`,
        /// `commune_cadre`.
        categories: Vec<String>,
        /// Units (with everything below them) whose personnel are approved.
        subordinates: Vec<String>,
        /// First day it holds.
        effective: NaiveDate,
    },
}

/// A year's staffing quota by category, as Decree 62/2020 and 106/2020
/// count it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffingQuotaIn {
    /// Công chức (cadres and civil servants).
    pub civil_servants: u32,
    /// Viên chức.
    pub public_employees: u32,
    /// Người lao động.
    pub contract_workers: u32,
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

impl OrgChangeIn {
    /// The domain's change, every enum value checked against its list.
    fn into_change(self) -> ApiResult<OrgChange> {
        Ok(match self {
            Self::Establish {
                name,
                kind,
                parent,
                effective,
            } => OrgChange::Establish {
                name,
                kind: super::parse_enum_at(&kind, "/change/kind")?,
                parent,
                effective,
            },
            Self::Rename { name, effective } => OrgChange::Rename { name, effective },
            Self::MergeInto {
                successor,
                effective,
            } => OrgChange::MergeInto {
                successor,
                effective,
            },
            Self::Split {
                successors,
                effective,
            } => OrgChange::Split {
                successors,
                effective,
            },
            Self::Dissolve { effective } => OrgChange::Dissolve { effective },
            Self::SetStaffingQuota { year, quota } => OrgChange::SetStaffingQuota {
                year,
                quota: StaffingQuota {
                    civil_servants: quota.civil_servants,
                    public_employees: quota.public_employees,
                    contract_workers: quota.contract_workers,
                },
            },
            Self::DefineJobPosition {
                code,
                title,
                group,
                required_rank_code,
                headcount,
                effective,
            } => OrgChange::DefineJobPosition {
                position: JobPosition {
                    code,
                    title,
                    group: super::parse_enum_at(&group, "/change/group")?,
                    required_rank_code,
                    headcount,
                },
                effective,
            },
            Self::AssignApprovalAuthority {
                categories,
                subordinates,
                effective,
            } => OrgChange::AssignApprovalAuthority {
                authority: ApprovalAuthority {
                    categories: categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| super::parse_enum_at(c, &format!("/change/categories/{i}")))
                        .collect::<ApiResult<_>>()?,
                    subordinates,
                },
                effective,
            },
        })
    }
}

/// Records a decision about a unit: establish, rename, merge, split,
/// dissolve, staffing quota, job position or approval authority. A merger,
/// split or dissolution moves the unit's dossiers and accounts on its
/// effective date (DL 5.5). Each refusal names its rule
/// (`urn:hoso:problem:org:<rule>`, with the article where one applies).
#[utoipa::path(post, path = "/api/v1/org-units", tag = "organisation",
    request_body = OrgDecisionIn,
    responses((status = 200, body = super::ReceiptOut),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn decide(
    State(s): State<Arc<AppState>>,
    c: Caller,
    crate::extract::Body(input): crate::extract::Body<OrgDecisionIn>,
) -> ApiResult<Json<super::ReceiptOut>> {
    let change = input.change.into_change()?;
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

/// How often the server looks for restructurings whose effective date has
/// come and writes their moves (DL 5.5). Reads and rights do not wait for
/// it: they resolve the unit by date (`OrgTree::holder_at`).
const RESTRUCTURING_SWEEP: std::time::Duration = std::time::Duration::from_secs(600);

/// Writes the moves of restructurings that have taken effect, at start and
/// then every [`RESTRUCTURING_SWEEP`], for as long as the server runs.
pub(crate) async fn fulfil_restructurings(state: Arc<AppState>) {
    let mut ticks = tokio::time::interval(RESTRUCTURING_SWEEP);
    loop {
        ticks.tick().await;
        match state.workflows.fulfil_due_restructurings().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(dossiers = n, "restructuring moves written (DL 5.5)"),
            Err(e) => tracing::warn!(error = %e, "restructuring moves not written; retried later"),
        }
    }
}

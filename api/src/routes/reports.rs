//! Reports: annual headcount (BT 16.5, HY 14.1), management (KT 19.2), SLA
//! of obligations, approvals pending, the quantity and quality report
//! (DL 7.11) and the cross-tab of any two dimensions. Each answers
//! `format=json` (default), `csv` (its main table) or `xlsx` (a workbook of
//! all its tables, counts as numbers), a file with its name in
//! `Content-Disposition` for the last two. Each is for a unit subtree the
//! caller holds a right over (or an inspection in force over, and the
//! inspector's query is logged); a unit outside scope is not found and the
//! attempt is recorded.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use hoso_projections::crosstab::CrossTab;
use hoso_projections::reports::{
    AnnualReport, Cell, ManagementReport, PendingApprovals, PendingWindow, QualityReport,
    SlaReport, Tabular,
};
use hoso_projections::views::Dimension;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::org::require_scope;
use crate::AppState;
use crate::extract::{Caller, Params};
use crate::problem::{ApiResult, Problem};

/// The media type of a spreadsheet (Office Open XML workbook).
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The media type of a report's CSV.
pub const CSV: &str = "text/csv; charset=utf-8";

/// Output format of a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (default).
    #[default]
    Json,
    /// CSV: the report's main table.
    Csv,
    /// A spreadsheet (XLSX): every table of the report, one sheet each.
    Xlsx,
}

impl Format {
    const ALL: [Self; 3] = [Self::Json, Self::Csv, Self::Xlsx];

    fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    /// The format a query names (JSON when it names none); an unknown one
    /// is a 422 problem listing the valid ones.
    pub fn parse(value: Option<&str>) -> ApiResult<Self> {
        let Some(value) = value else {
            return Ok(Self::Json);
        };
        Self::ALL
            .into_iter()
            .find(|f| f.name() == value)
            .ok_or_else(|| {
                let valid: Vec<&str> = Self::ALL.iter().map(|f| f.name()).collect();
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "request",
                    "invalid-format",
                    format!(
                        "unknown format \"{value}\"; valid formats: {}",
                        valid.join(", ")
                    ),
                );
                p.pointer = Some("query:format".to_owned());
                p
            })
    }
}

/// A dimension a query names; an unknown one is a 422 problem listing the
/// valid ones (`param` names the query parameter).
pub fn dimension(value: &str, param: &str) -> ApiResult<Dimension> {
    Dimension::parse(value).ok_or_else(|| {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request",
            "invalid-dimension",
            format!(
                "unknown dimension \"{value}\" for `{param}`; valid dimensions: {}",
                Dimension::names()
            ),
        );
        p.pointer = Some(format!("query:{param}"));
        p
    })
}

/// A spreadsheet's bytes, as the OpenAPI document declares them.
pub struct Spreadsheet;

impl PartialSchema for Spreadsheet {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .content_media_type(XLSX)
            .description(Some("An XLSX workbook: one sheet per table of the report"))
            .into()
    }
}

impl ToSchema for Spreadsheet {}

/// A report's file name: `<report>-<unit>-<period>.<ext>`, from characters
/// safe in a header and on any file system.
fn file_name(stem: &[&str], format: Format) -> String {
    let safe: String = stem
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.{}", format.name())
}

/// The report's tables as an XLSX workbook.
fn workbook(sheets: &[hoso_projections::reports::Sheet]) -> Result<Vec<u8>, Problem> {
    let failed = |e: rust_xlsxwriter::XlsxError| Problem::internal(&e);
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(sheet.name).map_err(failed)?;
        for (col, heading) in (0u16..).zip(&sheet.header) {
            ws.write_string_with_format(0, col, heading, &bold)
                .map_err(failed)?;
        }
        for (row, cells) in (1u32..).zip(&sheet.rows) {
            for (col, cell) in (0u16..).zip(cells) {
                match cell {
                    Cell::Text(t) => ws.write_string(row, col, t),
                    // Counts stay far below 2^53, exact as a spreadsheet number.
                    Cell::Count(n) => ws.write_number(row, col, *n as f64),
                }
                .map_err(failed)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(failed)?;
    }
    book.save_to_buffer().map_err(failed)
}

fn attachment(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// The report in the format asked: JSON, its main table as CSV, or all its
/// tables as a workbook, named `stem` joined by `-`.
fn answer<T: Serialize + Tabular>(
    format: Format,
    report: &T,
    stem: &[&str],
) -> ApiResult<Response> {
    let name = file_name(stem, format);
    Ok(match format {
        Format::Json => Json(report).into_response(),
        Format::Csv => attachment(CSV, &name, report.csv().into_bytes()),
        Format::Xlsx => attachment(XLSX, &name, workbook(&report.sheets())?),
    })
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
    /// `json` (default), `csv` or `xlsx`.
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<String>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// The annual headcount report by category, rank, professional title and job
/// position (BT 16.5, HY 14.1: the total of cadres, civil servants, public
/// employees and workers by rank, professional title and job position).
#[utoipa::path(get, path = "/api/v1/reports/annual", tag = "reports", params(AnnualParams),
    responses((status = 200, description = "The report",
               content((AnnualReport = "application/json"), (String = "text/csv"),
                       (Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn annual(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<AnnualParams>,
) -> ApiResult<Response> {
    let format = Format::parse(p.format.as_deref())?;
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/annual", uri.query()).await?;
    let year = p.year.unwrap_or_else(|| s.today().year());
    let r = s.read.annual_report(&p.org, year)?;
    answer(format, &r, &["annual", &p.org, &year.to_string()])
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
    /// `json` (default), `csv` or `xlsx`.
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<String>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// New dossiers, status updates and pending approvals for a period (KT 19.2).
#[utoipa::path(get, path = "/api/v1/reports/management", tag = "reports",
    params(ManagementParams),
    responses((status = 200, description = "The report",
               content((ManagementReport = "application/json"), (String = "text/csv"),
                       (Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn management(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<ManagementParams>,
) -> ApiResult<Response> {
    let format = Format::parse(p.format.as_deref())?;
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/management", uri.query()).await?;
    if p.from > p.to {
        return Err(Problem::bad_request(
            "invalid-period",
            "`from` is after `to`",
        ));
    }
    let r = s.read.management_report(&p.org, p.from, p.to)?;
    let (from, to) = (p.from.to_string(), p.to.to_string());
    answer(format, &r, &["management", &p.org, &from, &to])
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
    /// `json` (default), `csv` (the per-unit lines) or `xlsx` (also the
    /// open obligations).
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<String>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// Open and overdue obligations per responsible unit of the subtree, due
/// dates in working days from the profile.
#[utoipa::path(get, path = "/api/v1/reports/sla", tag = "reports", params(SlaParams),
    responses((status = 200, description = "The report",
               content((SlaReport = "application/json"), (String = "text/csv"),
                       (Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn sla(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<SlaParams>,
) -> ApiResult<Response> {
    let format = Format::parse(p.format.as_deref())?;
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/sla", uri.query()).await?;
    let on = p.on.unwrap_or_else(|| s.today());
    let units = s.read.subtree(&p.org, on)?;
    let mut r = s.read.sla_report(on, s.workflows.calendar())?;
    r.units.retain(|l| units.contains(&l.org_code));
    let visible = s.read.dossiers_in_units(&units)?;
    r.open.retain(|o| visible.contains(&o.dossier_id));
    answer(format, &r, &["sla", &p.org, &on.to_string()])
}

/// Approvals-pending parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PendingParams {
    /// `json` (default), `csv` or `xlsx`.
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<String>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// Locked dossiers waiting for a signature per monthly window, province
/// wide: Sở Nội vụ only.
#[utoipa::path(get, path = "/api/v1/reports/approvals-pending", tag = "reports",
    params(PendingParams),
    responses((status = 200, description = "The report",
               content((Vec<PendingWindow> = "application/json"), (String = "text/csv"),
                       (Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn approvals_pending(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Params(p): Params<PendingParams>,
) -> ApiResult<Response> {
    let format = Format::parse(p.format.as_deref())?;
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
    let today = s.today().to_string();
    answer(
        format,
        &PendingApprovals(&r),
        &["approvals-pending", &today],
    )
}

/// Quantity and quality report parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QualityParams {
    /// Root unit.
    pub org: String,
    /// Date of the tree and of the ages (default today).
    pub date: Option<NaiveDate>,
    /// `json` (default), `csv` or `xlsx`.
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<String>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// The quantity and quality report of the subtree's personnel (DL 7.11:
/// the report forms of the quantity and quality of cadres, civil servants
/// and public employees, after Circulars 11/2012/TT-BNV and 07/2019/TT-BNV;
/// HY 14.1: the Home Affairs sector's statistical reports): per personnel
/// category, how many, women, ethnic minorities, Party members, by
/// professional qualification level (item 15.2) and by age band.
#[utoipa::path(get, path = "/api/v1/reports/quality", tag = "reports", params(QualityParams),
    responses((status = 200, description = "The report",
               content((QualityReport = "application/json"), (String = "text/csv"),
                       (Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn quality(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<QualityParams>,
) -> ApiResult<Response> {
    let format = Format::parse(p.format.as_deref())?;
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/quality", uri.query()).await?;
    let date = p.date.unwrap_or_else(|| s.today());
    let r = s.read.quality_report(&p.org, date)?;
    answer(format, &r, &["quality", &p.org, &date.to_string()])
}

/// Cross-tab parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CrosstabParams {
    /// Root unit.
    pub org: String,
    /// Dimension of the rows.
    #[param(value_type = Dimension, inline)]
    pub rows: String,
    /// Dimension of the columns.
    #[param(value_type = Dimension, inline)]
    pub cols: String,
    /// Date of the tree and of the ages (default today).
    pub date: Option<NaiveDate>,
    /// `json` (default), `csv` or `xlsx`.
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<String>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// Headcount of the subtree on a date by two dimensions (DL 7.3, HY 6.2:
/// statistics by criteria of one's choosing): labelled rows and columns,
/// each with its total; the row totals are the headcount by `rows`, the
/// column totals the headcount by `cols`.
#[utoipa::path(get, path = "/api/v1/reports/crosstab", tag = "reports", params(CrosstabParams),
    responses((status = 200, description = "The cross-tab",
               content((CrossTab = "application/json"), (String = "text/csv"),
                       (Spreadsheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem, description = "An unknown dimension or format; the problem lists the valid ones")))]
pub async fn crosstab(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<CrosstabParams>,
) -> ApiResult<Response> {
    let format = Format::parse(p.format.as_deref())?;
    let rows = dimension(&p.rows, "rows")?;
    let cols = dimension(&p.cols, "cols")?;
    super::wait(&s, p.wait_for).await?;
    require_scope(&s, &c, &p.org, "GET /reports/crosstab", uri.query()).await?;
    let date = p.date.unwrap_or_else(|| s.today());
    let r = s.read.crosstab(&p.org, date, rows, cols)?;
    answer(
        format,
        &r,
        &[
            "crosstab",
            &p.org,
            rows.name(),
            cols.name(),
            &date.to_string(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_format_lists_the_valid_ones() {
        let p = Format::parse(Some("pdf")).err().map(|p| p.detail);
        assert_eq!(
            p.flatten().as_deref(),
            Some("unknown format \"pdf\"; valid formats: json, csv, xlsx")
        );
        assert_eq!(Format::parse(None).ok(), Some(Format::Json));
        assert_eq!(Format::parse(Some("xlsx")).ok(), Some(Format::Xlsx));
    }

    #[test]
    fn an_unknown_dimension_lists_every_valid_one() {
        let p = dimension("sex", "rows").err();
        let detail = p
            .as_ref()
            .and_then(|p| p.detail.clone())
            .unwrap_or_default();
        for d in Dimension::ALL {
            assert!(detail.contains(d.name()), "{detail}");
        }
        assert_eq!(p.map(|p| p.status), Some(422));
    }

    #[test]
    fn a_file_name_keeps_only_safe_characters() {
        assert_eq!(
            file_name(&["annual", "000.02.00.H33", "2026"], Format::Xlsx),
            "annual-000.02.00.H33-2026.xlsx"
        );
        assert_eq!(file_name(&["x", "a\"b/c"], Format::Csv), "x-a_b_c.csv");
    }
}

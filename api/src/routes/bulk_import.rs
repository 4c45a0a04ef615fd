//! `POST /api/v1/dossiers/imports/bulk`: the province's existing records
//! from the CSV or XLSX its HR software exports (`docs/import-format.md`),
//! for the portal: the file is the body, `?dry_run=true` checks and reports
//! every row's problems, a real run checks the whole file before its first
//! append and can be sent again (what is imported already is left as it
//! is). The Sở Nội vụ only, as the national record's import
//! (`POST /dossiers/imports`). The work is `hoso_import`'s, shared with
//! `hoso import`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use hoso_commands::workflows::{AccessRule, CommandError};
use hoso_import::{FileKind, ImportError, Options, XLSX_MEDIA_TYPE};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::extract::{Caller, Params, RawBody};
use crate::problem::{ApiResult, Problem};

/// Largest file accepted: 50,000 people of the format are about 20 MiB of
/// CSV (an XLSX is smaller).
pub const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The route, with its own body limit (the API's default is far smaller).
pub fn route() -> MethodRouter<Arc<AppState>> {
    post(import).layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Query of a bulk import.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BulkParams {
    /// `true`: check and report, write nothing (default `false`).
    #[serde(default)]
    pub dry_run: bool,
    /// The exporting system's name (default `hr-export`): with each record
    /// id it names the dossier, so the same file sent again adds nothing.
    pub source: Option<String>,
}

/// One problem of one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowProblemOut {
    /// The row number a spreadsheet shows (the header's, for a column
    /// problem).
    pub row: u32,
    /// The column's machine key, when the problem is one value's.
    pub column: Option<String>,
    /// The rule, `family:code` (`input:too-long`, `import:required`,
    /// `form:missing-field`, `scope:unknown-unit`, …).
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

/// What a bulk import found and did.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkReport {
    /// The source name the ids were derived from.
    pub source: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Data rows in the file.
    pub rows: usize,
    /// Headers the format does not know, ignored.
    pub ignored_columns: Vec<String>,
    /// Every problem of every row; any refuses a real run.
    pub problems: Vec<RowProblemOut>,
    /// People already in the ledger from elsewhere, records changed since
    /// an earlier import: not imported.
    pub conflicts: Vec<RowProblemOut>,
    /// New records (a dry run: that would be imported).
    pub new: usize,
    /// Records imported now.
    pub imported: usize,
    /// Records an earlier import wrote with the same content.
    pub unchanged: usize,
    /// Records whose append failed (a concurrent change): send the file again.
    pub failed: Vec<RowProblemOut>,
}

/// A refused import: a problem, with the whole report when the refusal is
/// the file's problems (`import:file-has-problems`); nothing was appended.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkRefused {
    /// `urn:hoso:problem:import:file-has-problems`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary.
    pub title: String,
    /// 422.
    pub status: u16,
    /// How many problems.
    pub detail: String,
    /// The whole report, every problem with its row and column (only for
    /// `import:file-has-problems`; an unreadable file or a value breaking an
    /// input rule is a plain problem).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<BulkReport>,
}

fn rows_out(problems: Vec<hoso_import::Problem>) -> Vec<RowProblemOut> {
    problems
        .into_iter()
        .map(|p| RowProblemOut {
            row: p.row,
            column: p.column,
            rule: p.rule,
            message: p.message,
        })
        .collect()
}

impl From<hoso_import::Report> for BulkReport {
    fn from(r: hoso_import::Report) -> Self {
        Self {
            source: r.source,
            dry_run: r.dry_run,
            rows: r.rows,
            ignored_columns: r.ignored_columns,
            problems: rows_out(r.problems),
            conflicts: rows_out(r.conflicts),
            new: r.new,
            imported: r.imported,
            unchanged: r.unchanged,
            failed: rows_out(r.failed),
        }
    }
}

/// Imports the province's existing records from a CSV (`text/csv`) or XLSX
/// file (the body, binary), one row per person (`docs/import-format.md`).
/// A dry run answers every row's problems and writes nothing; a real run
/// with any problem is refused whole (422, every problem listed) before
/// its first append. Each record is written under a dossier id derived from
/// (source, record id) and event ids from its content, so the same file
/// sent again, or after a failure half way, completes the import and adds
/// nothing else. A person who already has a dossier is a conflict, listed
/// and not imported. Sở Nội vụ only (BT 11.1, HY 11.2).
#[utoipa::path(post, path = "/api/v1/dossiers/imports/bulk", tag = "dossiers", params(BulkParams),
    operation_id = "import_bulk",
    request_body(content(
        (inline(super::Binary) = "text/csv"),
        (inline(super::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ), description = "The exported file, as bytes"),
    responses((status = 200, body = BulkReport, description = "The dry run's report, or the real run's: imported, unchanged, conflicts"),
              (status = 400, body = Problem),
              (status = 403, body = Problem, description = "Not the Sở Nội vụ (urn:hoso:problem:access:system-admin-only)"),
              (status = 413, body = Problem, description = "Over the body limit (64 MiB)"),
              (status = 415, body = Problem, description = "Neither text/csv nor the XLSX media type"),
              (status = 422, content(
                  (BulkRefused = "application/problem+json"),
              ), description = "The file has problems: nothing was imported (urn:hoso:problem:import:file-has-problems, every problem listed), or it cannot be read (urn:hoso:problem:import:unreadable-file, input:…)")))]
pub async fn import(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Params(p): Params<BulkParams>,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> ApiResult<Response> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(FileKind::from_media_type)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request",
                "unsupported-media-type",
                format!("Expected `Content-Type: text/csv` or `{XLSX_MEDIA_TYPE}`"),
            )
        })?;
    // The right first, before the file is read.
    if !c.is_system_admin() {
        return Err(CommandError::from(AccessRule::SystemAdminOnly(
            "import the province's existing records (BT 11.1, HY 11.2)",
        ))
        .into());
    }
    // Reading 50,000 rows is CPU work: off the async workers.
    let table = tokio::task::spawn_blocking(move || hoso_import::read::read(&bytes, kind))
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "import",
                "unreadable-file",
                e.to_string(),
            )
        })?;
    let options = Options::new(
        p.source.as_deref().unwrap_or(hoso_import::DEFAULT_SOURCE),
        p.dry_run,
    );
    let started = std::time::Instant::now();
    let report = hoso_import::run(&s.workflows, &c.actor, &table, &options, &|_, _, _| {})
        .await
        .map_err(|e| match e {
            ImportError::Command(e) => Problem::from(e),
            ImportError::Read(e) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "import",
                "unreadable-file",
                e.to_string(),
            ),
        })?;
    if report.imported > 0 {
        s.metrics.append(started.elapsed());
    }
    if report.refused {
        let detail = format!(
            "{} problems in {} rows: nothing was imported",
            report.problems.len(),
            report.rows
        );
        let body = BulkRefused {
            type_: "urn:hoso:problem:import:file-has-problems".to_owned(),
            title: "The file has problems".to_owned(),
            status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
            detail,
            report: Some(report.into()),
        };
        let mut r = (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        return Ok(r);
    }
    Ok((StatusCode::OK, Json(BulkReport::from(report))).into_response())
}

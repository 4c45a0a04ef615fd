//! Dossier routes: open, search, read (current and as-of), history, the
//! declaration–review–approval cycle, transfers, status, attachments and
//! the dossier's audit trail, who has read it and its open deadlines.
//!
//! Every route that names a dossier first asks the write side on what
//! ground the caller may see it; without one the answer is the same 404 as
//! for an id that does not exist, and the attempt is recorded.

use hoso_commands::workflows::{
    AcceptTransfer, Approve, ChangeDepartment, ChangeStatus, Declare, ForwardTransfer,
    ImportDossier, InitiateTransfer, RejectTransfer, Review,
};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use hoso_commands::workflows::{
    AccessRule, ApprovalSignature, CommandError, OpenDossier, ReadBasis, ReviewStep, SearchScope,
    right_name,
};
use hoso_domain::account::AccountKind;
use hoso_domain::dossier::EmploymentStatus;
use hoso_domain::review::ReviewState;
use hoso_projections::audit::{AuditEntry, AuditQuery};
use hoso_projections::reports::OpenObligation;
use hoso_projections::search::SearchQuery;
use hoso_projections::views::HistoryEntry;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::pb::dossier::FieldEntry;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{DocumentIn, ReceiptOut, WaitFor, parse_enum, parse_sha256, wait};
use crate::AppState;
use crate::access::{DossierOut, Filter, Revealed};
use crate::extract::{Body, Caller, IfMatch, Params, PathParams, RawBody};
use crate::problem::{ApiResult, Problem};
use crate::sessions::Attempt;
use hoso_domain::input::TextKind;
use hoso_domain::restriction::Restriction;

/// The ground on which the caller sees the dossier, or the 404 that hides it.
pub(crate) async fn basis(s: &AppState, c: &Caller, id: &str, route: &str) -> ApiResult<ReadBasis> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(Problem::bad_request("invalid-id", "a dossier id is a UUID"));
    }
    match s.workflows.read_basis(&c.actor, id).await? {
        Some(b) => Ok(b),
        None => {
            refused(s, c, route, id);
            Err(Problem::not_found("dossier"))
        }
    }
}

/// Records a refused attempt to reach something outside scope.
pub(crate) fn refused(s: &AppState, c: &Caller, route: &str, what: &str) {
    s.sessions.record(&Attempt {
        at: s.now().to_rfc3339(),
        kind: "scope-refused".into(),
        account_id: Some(c.account.id.clone()),
        username: Some(c.account.username.clone()),
        client: c.client.clone(),
        target: route.to_owned(),
        detail: what.to_owned(),
    });
}

async fn log_reads(
    s: &AppState,
    c: &Caller,
    id: &str,
    basis: &ReadBasis,
    revealed: Revealed,
    purpose: &str,
) -> ApiResult<()> {
    if revealed.0.is_empty() && !basis.logs_every_read() {
        return Ok(());
    }
    let mut fields = revealed.0;
    fields.sort();
    fields.dedup();
    s.workflows
        .log_access(&c.actor, id, fields, basis, purpose)
        .await?;
    Ok(())
}

fn filter<'a>(s: &'a AppState, basis: &'a ReadBasis, id: &'a str) -> Filter<'a> {
    Filter {
        map: s.workflows.profile().restrictions(),
        keyring: &s.keyring,
        basis,
        dossier_id: id,
        cache: Some(&s.withheld),
    }
}

/// Personnel category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Cán bộ.
    CanBo,
    /// Công chức.
    CongChuc,
    /// Viên chức.
    VienChuc,
    /// Người lao động.
    NguoiLaoDong,
    /// Commune-level cadre.
    CommuneCadre,
}

impl From<Category> for PersonnelCategory {
    fn from(c: Category) -> Self {
        match c {
            Category::CanBo => Self::CanBo,
            Category::CongChuc => Self::CongChuc,
            Category::VienChuc => Self::VienChuc,
            Category::NguoiLaoDong => Self::NguoiLaoDong,
            Category::CommuneCadre => Self::CommuneCadre,
        }
    }
}

/// A new dossier after a recruitment decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenIn {
    /// Id chosen by the client (UUID) so that a retry opens nothing twice.
    #[serde(default)]
    pub id: Option<uuid::Uuid>,
    /// 12-digit identification number.
    pub person_id: String,
    /// Full name.
    pub full_name: String,
    /// Date of birth.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// Category.
    pub category: Category,
    /// Managing unit code.
    pub managing_unit: String,
    /// Employing unit code.
    pub employing_unit: String,
    /// Recruitment date.
    pub recruited_on: NaiveDate,
    /// Recruitment decision or contract.
    pub decision: DocumentIn,
}

/// Opens a dossier (update right over both units).
#[utoipa::path(post, path = "/api/v1/dossiers", tag = "dossiers", request_body = OpenIn,
    responses((status = 201, body = ReceiptOut), (status = 400, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn open(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Body(input): Body<OpenIn>,
) -> ApiResult<(StatusCode, Json<ReceiptOut>)> {
    let id = input.id.unwrap_or_else(uuid::Uuid::now_v7).to_string();
    let started = std::time::Instant::now();
    let receipt = s
        .workflows
        .open_dossier_with_id(
            &c.actor,
            &id,
            OpenDossier {
                person_id: input.person_id,
                full_name: input.full_name,
                birth_date: input.birth_date,
                category: input.category.into(),
                managing_unit: input.managing_unit,
                employing_unit: input.employing_unit,
                recruited_on: input.recruited_on,
                decision: input.decision.into_source()?,
            },
        )
        .await?;
    s.metrics.append(started.elapsed());
    Ok((StatusCode::CREATED, Json(ReceiptOut::new(id, receipt))))
}

/// A national record pushed by the Sở Nội vụ for a person arriving from
/// another province (BT 11.1, HY 11.2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportIn {
    /// The system the record comes from (e.g. `csdlqg`, or the sending
    /// province's).
    pub source_system: String,
    /// The record's id there.
    pub source_record_id: String,
    /// Managing (and employing) unit here.
    pub managing_unit: String,
    /// When the paper dossier was handed over (HY 11.2).
    pub handed_over_on: NaiveDate,
    /// The record: a `hoso-national/1` document (docs/national-exchange-format.md),
    /// as a JSON object. Its digest is SHA-256 of this member's bytes
    /// exactly as received.
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

/// The envelope read for the record's bytes as received.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportEnvelope<'a> {
    #[serde(rename = "source_system")]
    _source_system: serde::de::IgnoredAny,
    #[serde(rename = "source_record_id")]
    _source_record_id: serde::de::IgnoredAny,
    #[serde(rename = "managing_unit")]
    _managing_unit: serde::de::IgnoredAny,
    #[serde(rename = "handed_over_on")]
    _handed_over_on: serde::de::IgnoredAny,
    #[serde(borrow)]
    record: &'a serde_json::value::RawValue,
}

/// A dossier imported from a pushed record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOut {
    /// The new dossier's id.
    pub dossier_id: String,
    /// The append's receipt.
    pub receipt: ReceiptOut,
    /// SHA-256 (hex) of the record's bytes as received, kept in the
    /// `DossierImported` event.
    pub source_digest: String,
}

/// Imports a dossier from a national record pushed over HTTP (BT 11.1,
/// HY 11.2) through the import rules: Sở Nội vụ only. Every string in the
/// body passes the input rules; the record's digest is SHA-256 of the
/// `record` member's bytes exactly as received (for a sender that pushes
/// a document's canonical bytes, the digest its batch item carries). The
/// same identification number imported twice is a 409.
#[utoipa::path(post, path = "/api/v1/dossiers/imports", tag = "dossiers", request_body = ImportIn,
    responses((status = 201, body = ImportOut), (status = 400, body = Problem),
              (status = 403, body = Problem, description = "Not the Sở Nội vụ (urn:hoso:problem:access:system-admin-only)"),
              (status = 409, body = Problem, description = "The identification number already has a dossier (urn:hoso:problem:scope:person-id-taken)"),
              (status = 415, body = Problem),
              (status = 422, body = Problem, description = "The record cannot be imported (urn:hoso:problem:exchange:…, input:…, dossier:…)")))]
pub async fn import(
    State(s): State<Arc<AppState>>,
    c: Caller,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> ApiResult<(StatusCode, Json<ImportOut>)> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request",
            "unsupported-media-type",
            "Expected request with `Content-Type: application/json`",
        ));
    }
    let unreadable = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Data => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request",
            "invalid-body",
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        ),
        _ => Problem::bad_request("malformed-json", e.to_string()),
    };
    // Every string passes the input rules as any body's does. The record's
    // are checked as form values (long text, whatever their member name)
    // and left as received: its bytes are what the digest covers, and the
    // import's decider cleans the values it keeps.
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(unreadable)?;
    let record = value.as_object_mut().and_then(|o| o.remove("record"));
    crate::extract::clean(&mut value)?;
    if let Some(record) = record {
        crate::extract::check_as(&record, &mut "/record".to_owned(), TextKind::Long)?;
        if let Some(o) = value.as_object_mut() {
            o.insert("record".to_owned(), record);
        }
    }
    let input: ImportIn = serde_json::from_value(value).map_err(unreadable)?;
    // Input rules first, as for every body; then the right, before the
    // record is read, so a caller without it learns nothing about the
    // record. The handler checks again.
    if !c.is_system_admin() {
        return Err(CommandError::from(AccessRule::SystemAdminOnly(
            "import a record pushed from another province (BT 11.1, HY 11.2)",
        ))
        .into());
    }
    let envelope: ImportEnvelope<'_> = serde_json::from_slice(&bytes).map_err(unreadable)?;
    let record = envelope.record.get().as_bytes();
    let digest = hoso_projections::exchange::digest(record);
    let incoming = hoso_projections::exchange_in::from_document(record)?;
    let started = std::time::Instant::now();
    let (id, receipt) = s
        .workflows
        .import_dossier(
            &c.actor,
            ImportDossier {
                source_system: input.source_system,
                source_record_id: input.source_record_id,
                source_digest: Some(digest),
                person_id: incoming.identification_number,
                full_name: incoming.full_name,
                category: incoming.category,
                managing_unit: input.managing_unit,
                sections: incoming.sections,
                handed_over_on: input.handed_over_on,
            },
        )
        .await?;
    s.metrics.append(started.elapsed());
    Ok((
        StatusCode::CREATED,
        Json(ImportOut {
            dossier_id: id.clone(),
            receipt: ReceiptOut::new(id, receipt),
            source_digest: hex::encode(digest),
        }),
    ))
}

/// Read parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadParams {
    /// Effective date: what was legally true then.
    pub as_of: Option<NaiveDate>,
    /// Recorded date: what the ledger knew by the end of that day.
    pub known_at: Option<NaiveDate>,
    /// Read your writes: wait for this position.
    pub wait_for: Option<u64>,
    /// Purpose of the read, recorded with reads of restricted data.
    pub purpose: Option<String>,
}

/// The dossier as the caller may see it (`as_of`, `known_at`), its reads of
/// restricted data logged: what `GET /dossiers/{id}` answers, and what the
/// printed résumé (`routes/resume.rs`) is made from.
pub(crate) async fn visible(
    s: &AppState,
    c: &Caller,
    id: &str,
    route: &str,
    p: &ReadParams,
) -> ApiResult<DossierOut> {
    let basis = basis(s, c, id, route).await?;
    wait(s, p.wait_for).await?;
    let view = s
        .read
        .dossier(id, p.as_of, p.known_at)?
        .ok_or_else(|| Problem::not_found("dossier"))?;
    let (mut out, revealed) = filter(s, &basis, id).dossier(view)?;
    let ids: Vec<&str> = out
        .approvals
        .iter()
        .flat_map(|a| std::iter::once(a.signer.as_str()).chain(a.delegated_from.as_deref()))
        .collect();
    let names = super::account_names(s, &ids).await?;
    for a in &mut out.approvals {
        a.signer_name = names.get(&a.signer).cloned();
        a.delegated_from_name = a
            .delegated_from
            .as_ref()
            .and_then(|d| names.get(d).cloned());
    }
    log_reads(
        s,
        c,
        id,
        &basis,
        revealed,
        p.purpose.as_deref().unwrap_or(""),
    )
    .await?;
    Ok(out)
}

/// Reads a dossier as the caller may see it, now or as of a date on either
/// time axis. `ETag` is the stream revision.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"), ReadParams),
    responses((status = 200, body = DossierOut), (status = 404, body = Problem),
              (status = 400, body = Problem)))]
pub async fn read(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Params(p): Params<ReadParams>,
) -> ApiResult<Response> {
    let out = visible(&s, &c, &id, "GET /dossiers/{id}", &p).await?;
    let etag = format!("\"{}\"", out.revision);
    let mut resp = Json(out).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

/// Every event of the dossier with actor (and the actor's name today), times,
/// source document and the field-level diff, restricted values withheld or
/// opened per clearance.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/history", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"), WaitFor),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = Problem)))]
pub async fn history(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Params(w): Params<WaitFor>,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    let basis = basis(&s, &c, &id, "GET /dossiers/{id}/history").await?;
    wait(&s, w.wait_for).await?;
    let entries = s.read.history(&id)?;
    let (mut entries, revealed) = filter(&s, &basis, &id).history(entries)?;
    let ids: Vec<&str> = entries.iter().map(|e| e.actor.as_str()).collect();
    let names = super::account_names(&s, &ids).await?;
    for e in &mut entries {
        e.actor_name = names.get(&e.actor).cloned();
    }
    log_reads(&s, &c, &id, &basis, revealed, "history").await?;
    Ok(Json(entries))
}

/// The dossier's audit trail: changes and reads of restricted data. Admin
/// right over the dossier's unit (or Sở Nội vụ).
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/audit", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"), WaitFor),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn audit(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Params(w): Params<WaitFor>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let basis = basis(&s, &c, &id, "GET /dossiers/{id}/audit").await?;
    if basis != ReadBasis::Right(AccessRight::Admin) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access",
            "insufficient-right",
            "the audit trail needs admin right over the dossier's unit",
        )
        .cite(Some("DL 12.2")));
    }
    wait(&s, w.wait_for).await?;
    Ok(Json(s.read.audit(&AuditQuery {
        dossier_id: Some(id),
        limit: Some(1_000),
        ..AuditQuery::default()
    })?))
}

/// Which page of a dossier's readers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadersParams {
    /// Only reads recorded before this position (the previous page's `next`).
    pub before: Option<u64>,
    /// Page size (default 100, at most 1,000).
    pub limit: Option<usize>,
    /// Read your writes: wait for this position first.
    pub wait_for: Option<u64>,
}

/// One recorded read of the dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReaderOut {
    /// When it was read (RFC 3339).
    pub at: String,
    /// The reader's account.
    pub reader: String,
    /// The reader's name, as the account was issued.
    pub reader_name: Option<String>,
    /// The reader's account kind, e.g. `specialist`, `inspector`.
    pub reader_kind: Option<String>,
    /// The reader's unit.
    pub reader_unit: Option<String>,
    /// The ground of the read, as recorded (the spelling of
    /// `GET /dossiers/{id}`'s `access.basis`): `own-data`, `right:<right>`,
    /// `consent:<id>`, `delegation:<id>` or `inspection:<id>`.
    pub basis: String,
    /// The purpose the reader declared (may be empty).
    pub purpose: String,
    /// The restricted fields it opened (`attachment/<address>` for a
    /// document); empty for an inspector's read of general data.
    pub fields: Vec<String>,
}

/// A page of a dossier's readers, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadersOut {
    /// Reads, newest first.
    pub items: Vec<ReaderOut>,
    /// `before` of the next page, if there may be one.
    pub next: Option<u64>,
}

/// Who has read the dossier: every read the API recorded of it (reads of
/// restricted data, every read by an inspector, BT 4.3, HY 4.4), newest
/// first, with the reader, the ground (right, consent, delegation,
/// inspection), the purpose and the fields. For the person the dossier is
/// about (their personal account) and for admin right over its unit.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/readers", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"), ReadersParams),
    responses((status = 200, body = ReadersOut),
              (status = 403, body = Problem, description = "Neither the dossier's holder nor admin right over its unit (urn:hoso:problem:access:insufficient-right)"),
              (status = 404, body = Problem)))]
pub async fn readers(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Params(p): Params<ReadersParams>,
) -> ApiResult<Json<ReadersOut>> {
    let basis = basis(&s, &c, &id, "GET /dossiers/{id}/readers").await?;
    if !matches!(basis, ReadBasis::Own | ReadBasis::Right(AccessRight::Admin)) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access",
            "insufficient-right",
            "who read a dossier is shown to the person it is about and to admin right over its unit",
        )
        .cite(Some("DL 12.2")));
    }
    wait(&s, p.wait_for).await?;
    let limit = p.limit.unwrap_or(100).clamp(1, 1_000);
    let reads = s.read.reads_of(&id, p.before, Some(limit))?;
    let next = (reads.len() == limit)
        .then(|| reads.last().map(|r| r.position))
        .flatten();
    // Readers are few against reads: looked up together, once.
    let ids: Vec<&str> = reads.iter().map(|r| r.reader.as_str()).collect();
    let accounts = s.workflows.accounts_by_id(&ids).await?;
    let mut items = Vec::with_capacity(reads.len());
    for r in reads {
        let a = accounts.get(&r.reader);
        items.push(ReaderOut {
            at: r.recorded_at,
            reader_name: a.map(|a| a.display_name.clone()),
            reader_kind: a.map(|a| hoso_schemas::Spelling::spelling(a.kind)),
            reader_unit: a.map(|a| a.org_code.clone()),
            reader: r.reader,
            basis: r.basis,
            purpose: r.purpose,
            fields: r.fields,
        });
    }
    Ok(Json(ReadersOut { items, next }))
}

/// The dossier's open deadlines: each obligation of the profile running on
/// it (declare, review, sign, record a decision…) with its due date, the
/// working days it is overdue today and the article it rests on, soonest
/// due first. For whoever may read the dossier.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/obligations", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"), WaitFor),
    responses((status = 200, body = Vec<OpenObligation>), (status = 404, body = Problem)))]
pub async fn obligations(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Params(w): Params<WaitFor>,
) -> ApiResult<Json<Vec<OpenObligation>>> {
    let basis = basis(&s, &c, &id, "GET /dossiers/{id}/obligations").await?;
    wait(&s, w.wait_for).await?;
    let open = s
        .read
        .open_obligations(&id, s.today(), s.workflows.calendar())?;
    // No restricted field is shown; an inspector's read is on record all the same.
    log_reads(&s, &c, &id, &basis, Revealed(Vec::new()), "obligations").await?;
    Ok(Json(open))
}

/// One field as declared.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldIn {
    /// Form field code, e.g. `25a`.
    pub field: String,
    /// Table row from 1 (0 or absent outside tables).
    #[serde(default)]
    pub row: u32,
    /// Value.
    pub value: String,
}

/// A section of the résumé form.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationIn {
    /// Section code, e.g. `identity`.
    pub section: String,
    /// Fields.
    pub fields: Vec<FieldIn>,
    /// SHA-256 (hex) of uploaded digitised proofs (required after approval, BT 6.3).
    #[serde(default)]
    pub attachments: Vec<String>,
    /// When the change happened (starts the declaring clock, HY 10.5).
    #[serde(default)]
    pub occurred_on: Option<NaiveDate>,
}

pub(crate) fn conflict_as_412(m: IfMatch, p: Problem) -> Problem {
    // With If-Match the caller asked for an exact revision: a concurrent
    // change between our check and the append is a failed precondition.
    if m.0.is_some() && p.status == 409 && p.type_.ends_with(":conflict:conflict") {
        Problem {
            status: 412,
            title: "Precondition Failed".into(),
            ..p
        }
    } else {
        p
    }
}

fn receipt_response(id: &str, r: hoso_commands::workflows::Receipt) -> Response {
    let etag = format!("\"{}\"", r.revision);
    let mut resp = Json(ReceiptOut::new(id, r)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// Declares one section (the person through their personal account, or
/// the managing unit). Restricted fields are sealed before they reach the
/// log. Honors `If-Match`.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/declarations", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"),
           ("If-Match" = Option<String>, Header, description = "Expected revision (the ETag)")),
    request_body = DeclarationIn,
    responses((status = 200, body = ReceiptOut), (status = 404, body = Problem),
              (status = 412, body = Problem), (status = 422, body = Problem, description = "A rule refused it, or it cites an attachment not uploaded to this dossier (urn:hoso:problem:attachment:not-uploaded)")))]
pub async fn declare(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    m: IfMatch,
    Body(input): Body<DeclarationIn>,
) -> ApiResult<Response> {
    basis(&s, &c, &id, "POST /dossiers/{id}/declarations").await?;
    let attachments = input
        .attachments
        .iter()
        .map(|h| parse_sha256(h, "attachments"))
        .collect::<ApiResult<Vec<_>>>()?;
    uploaded(&s, &id, &attachments).await?;
    let fields = input
        .fields
        .into_iter()
        .map(|f| FieldEntry {
            field_code: f.field,
            value: f.value,
            row: f.row,
            sealed: Vec::new(),
        })
        .collect();
    let started = std::time::Instant::now();
    let r = s
        .workflows
        .declare(
            &c.actor,
            Declare {
                occurred_on: input.occurred_on,
                expected: m.0,
                ..Declare::new(&id, &input.section, fields).with_attachments(attachments.clone())
            },
        )
        .await
        .map_err(|e| conflict_as_412(m, e.into()))?;
    s.metrics.append(started.elapsed());
    cited(&s, &id, &attachments).await;
    Ok(receipt_response(&id, r))
}

/// Refuses a citation of anything not uploaded to dossier `id` (an upload
/// already needs write access to it, so this also makes a citation the act
/// of someone allowed to write the dossier).
pub(crate) async fn uploaded(s: &Arc<AppState>, id: &str, shas: &[[u8; 32]]) -> ApiResult<()> {
    if shas.is_empty() {
        return Ok(());
    }
    let (store, id, shas) = (s.attachments.clone(), id.to_owned(), shas.to_vec());
    tokio::task::spawn_blocking(move || store.check_uploaded(&id, &shas))
        .await
        .map_err(|e| Problem::internal(&e))??;
    Ok(())
}

/// Marks what an appended event cites, so that it leaves its uploader's
/// quota and is never swept. A failure here is only logged: the event is
/// written, and the sweeper asks the log before it removes anything.
pub(crate) async fn cited(s: &Arc<AppState>, id: &str, shas: &[[u8; 32]]) {
    if shas.is_empty() {
        return;
    }
    let (store, id, shas) = (s.attachments.clone(), id.to_owned(), shas.to_vec());
    match tokio::task::spawn_blocking(move || store.mark_cited(&id, &shas)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "could not mark cited attachments"),
        Err(e) => tracing::error!(error = %e, "could not mark cited attachments"),
    }
}

/// The scan a decision cites, if any.
fn scan(d: &hoso_ledger::SourceDocument) -> Vec<[u8; 32]> {
    d.attachment_sha256.into_iter().collect()
}

/// A reviewer's step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewIn {
    /// Return sections with reasons (HY 15.6).
    Return {
        /// Sections returned.
        sections: Vec<String>,
        /// Why.
        reasons: Vec<String>,
    },
    /// Verify the pending declaration against the papers.
    Verify {
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// Lock the verified declaration (HY 10.3).
    Lock,
}

/// Returns, verifies or locks the pending declaration (update right over
/// the managing unit; never one's own). Honors `If-Match`.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/review", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"),
           ("If-Match" = Option<String>, Header, description = "Expected revision (the ETag)")),
    request_body = ReviewIn,
    responses((status = 200, body = ReceiptOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 412, body = Problem),
              (status = 422, body = Problem)))]
pub async fn review(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    m: IfMatch,
    Body(input): Body<ReviewIn>,
) -> ApiResult<Response> {
    basis(&s, &c, &id, "POST /dossiers/{id}/review").await?;
    let step = match input {
        ReviewIn::Return { sections, reasons } => ReviewStep::Return {
            section_codes: sections,
            reasons,
        },
        ReviewIn::Verify { note } => ReviewStep::Verify { note },
        ReviewIn::Lock => ReviewStep::Lock,
    };
    let r = s
        .workflows
        .review(
            &c.actor,
            Review {
                expected: m.0,
                ..Review::new(&id, step)
            },
        )
        .await
        .map_err(|e| conflict_as_412(m, e.into()))?;
    Ok(receipt_response(&id, r))
}

/// What to sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalRequestOut {
    /// Dossier stream.
    pub stream: String,
    /// Revision to sign.
    pub revision: u64,
    /// Its chain hash (hex).
    pub stream_hash: String,
    /// The digest to sign with ed25519 (hex).
    pub digest: String,
}

/// The digest the approver signs for the dossier as it stands.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/approvals", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)")),
    responses((status = 200, body = ApprovalRequestOut), (status = 404, body = Problem)))]
pub async fn approval_request(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<ApprovalRequestOut>> {
    let b = basis(&s, &c, &id, "GET /dossiers/{id}/approvals").await?;
    let r = s.workflows.approval_request(&id).await?;
    // Only an inspector's is logged: the request reveals no field.
    log_reads(&s, &c, &id, &b, Revealed::default(), "approval-request").await?;
    Ok(Json(ApprovalRequestOut {
        stream: r.stream,
        revision: r.revision,
        stream_hash: hex::encode(r.stream_hash),
        digest: hex::encode(r.digest),
    }))
}

/// A signature over the approval digest.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalIn {
    /// Revision signed.
    pub revision: u64,
    /// Chain hash signed (hex).
    pub stream_hash: String,
    /// The signer's registered key id.
    pub key_id: String,
    /// ed25519 signature (hex, 64 bytes).
    pub signature: String,
}

/// Approves by digital signature (the head, or a deputy in force).
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/approvals", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)")),
    request_body = ApprovalIn,
    responses((status = 200, body = ReceiptOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn approve(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Body(input): Body<ApprovalIn>,
) -> ApiResult<Response> {
    basis(&s, &c, &id, "POST /dossiers/{id}/approvals").await?;
    let stream_hash = parse_sha256(&input.stream_hash, "stream_hash")?;
    let signature = hex::decode(&input.signature)
        .map_err(|_| Problem::bad_request("invalid-signature", "signature: not hex"))?;
    let r = s
        .workflows
        .approve(
            &c.actor,
            Approve {
                dossier_id: String::from(&id),
                signature: ApprovalSignature {
                    revision: input.revision,
                    stream_hash,
                    key_id: input.key_id,
                    signature,
                },
            },
        )
        .await?;
    Ok(receipt_response(&id, r))
}

/// A move or transfer step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum TransferIn {
    /// Move within the agency (DL 10.1).
    Move {
        /// New employing unit.
        to: String,
        /// Effective date.
        effective: NaiveDate,
        /// Decision.
        document: DocumentIn,
    },
    /// Send to another agency (DL 10.2).
    Initiate {
        /// `reassignment`, `rotation`, `secondment` or `transfer`.
        kind: String,
        /// Receiving agency.
        to: String,
        /// Effective date.
        effective: NaiveDate,
        /// Decision.
        document: DocumentIn,
    },
    /// The receiver accepts.
    Accept {
        /// Transfer id.
        transfer_id: String,
    },
    /// The receiver forwards to one of its units (KT 11.2).
    Forward {
        /// Transfer id.
        transfer_id: String,
        /// Unit.
        to: String,
    },
    /// The receiver refuses.
    Reject {
        /// Transfer id.
        transfer_id: String,
        /// Why.
        reason: String,
    },
}

/// Moves or transfers the dossier. Initiating answers with the transfer's
/// id as `id`; every other step with the dossier's.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/transfers", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)")),
    request_body = TransferIn,
    responses((status = 200, body = ReceiptOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem, description = "A rule refused it, or it cites an attachment not uploaded to this dossier (urn:hoso:problem:attachment:not-uploaded)")))]
pub async fn transfer(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Body(input): Body<TransferIn>,
) -> ApiResult<Response> {
    basis(&s, &c, &id, "POST /dossiers/{id}/transfers").await?;
    let wf = &s.workflows;
    let dossier_id = id.clone();
    let mut cites = Vec::new();
    let r = match input {
        TransferIn::Move {
            to,
            effective,
            document,
        } => {
            let document = document.into_source()?;
            uploaded(&s, &id, &scan(&document)).await?;
            cites = scan(&document);
            let command = ChangeDepartment {
                dossier_id,
                to,
                effective,
                document,
            };
            wf.change_department(&c.actor, command).await?
        }
        TransferIn::Initiate {
            kind,
            to,
            effective,
            document,
        } => {
            let document = document.into_source()?;
            uploaded(&s, &id, &scan(&document)).await?;
            let cites = scan(&document);
            let command = InitiateTransfer {
                dossier_id,
                kind: parse_enum(&kind, "kind")?,
                to,
                effective,
                document,
            };
            let (transfer_id, r) = wf.initiate_transfer(&c.actor, command).await?;
            cited(&s, &id, &cites).await;
            // The receiver needs the transfer's id to accept, forward or reject.
            return Ok(receipt_response(&transfer_id, r));
        }
        TransferIn::Accept { transfer_id } => {
            let command = AcceptTransfer {
                dossier_id,
                transfer_id,
            };
            wf.accept_transfer(&c.actor, command).await?
        }
        TransferIn::Forward { transfer_id, to } => {
            let command = ForwardTransfer {
                dossier_id,
                transfer_id,
                to,
            };
            wf.forward_transfer(&c.actor, command).await?
        }
        TransferIn::Reject {
            transfer_id,
            reason,
        } => {
            let command = RejectTransfer {
                dossier_id,
                transfer_id,
                reason,
            };
            wf.reject_transfer(&c.actor, command).await?
        }
    };
    cited(&s, &id, &cites).await;
    Ok(receipt_response(&id, r))
}

/// Which transfers to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncomingParams {
    /// Root of the receiving subtree; with rights over several subtrees,
    /// required (as for search). A unit outside scope is not found.
    pub unit: Option<String>,
    /// Wait for a position first.
    pub wait_for: Option<u64>,
}

/// Transfers sent to the caller's units by another agency and waiting for
/// their answer — accept, forward after accepting, or reject (DL 10.2,
/// KT 11.2) — oldest first. Scoped like search: the subtree asked for (or
/// the caller's one subtree; the whole province for the Sở Nội vụ), and
/// only the dossiers the caller may read, which a receiving unit may
/// while a transfer to it is pending.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "dossiers", params(IncomingParams),
    responses((status = 200, body = Vec<hoso_projections::transfers::PendingTransfer>),
              (status = 400, body = Problem, description = "Rights over several subtrees and no `unit` (urn:hoso:problem:request:unit-required)"),
              (status = 403, body = Problem, description = "No right over any unit (urn:hoso:problem:access:no-search-scope)"),
              (status = 404, body = Problem, description = "A unit outside the caller's scope")))]
pub async fn incoming(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<IncomingParams>,
) -> ApiResult<Json<Vec<hoso_projections::transfers::PendingTransfer>>> {
    let (unit, _) = search_unit(&s, &c, p.unit.as_deref()).await?;
    wait(&s, p.wait_for).await?;
    let units = match &unit {
        Some(u) => Some(s.read.subtree(u, s.today())?),
        None => None,
    };
    let pending = s.read.pending_transfers(units.as_deref())?;
    let ids: Vec<&str> = pending.iter().map(|t| t.dossier_id.as_str()).collect();
    let bases = s.workflows.read_bases(&c.actor, &ids).await?;
    let shown: Vec<_> = pending
        .into_iter()
        .zip(bases)
        .filter_map(|(t, b)| b.map(|_| t))
        .collect();
    if c.account.kind == AccountKind::Inspector
        && let Some(root) = &unit
    {
        let ids = shown.iter().map(|t| t.dossier_id.clone()).collect();
        s.workflows
            .log_inspection_query(
                &c.actor,
                root,
                "GET /transfers",
                uri.query().unwrap_or(""),
                ids,
            )
            .await?;
    }
    Ok(Json(shown))
}

/// An employment status change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// `active`, `seconded`, `transferred_out`, `party_bloc`, `retired`,
    /// `resigned`, `dismissed`, `deceased`.
    pub status: String,
    /// Effective date.
    pub effective: NaiveDate,
    /// Decision.
    pub document: DocumentIn,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// Changes the employment status (retirement, resignation, …); a
/// non-active dossier moves to the archive and its personal account is
/// locked (BT 11.2).
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/status", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)")),
    request_body = StatusIn,
    responses((status = 200, body = ReceiptOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem, description = "A rule refused it, or it cites an attachment not uploaded to this dossier (urn:hoso:problem:attachment:not-uploaded)")))]
pub async fn status(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Body(input): Body<StatusIn>,
) -> ApiResult<Response> {
    basis(&s, &c, &id, "POST /dossiers/{id}/status").await?;
    let status = parse_enum(&input.status, "status")?;
    let document = input.document.into_source()?;
    let cites = scan(&document);
    uploaded(&s, &id, &cites).await?;
    let r = s
        .workflows
        .change_status(
            &c.actor,
            ChangeStatus {
                dossier_id: String::from(&id),
                status,
                effective: input.effective,
                document,
                note: String::from(&input.note),
            },
        )
        .await?;
    cited(&s, &id, &cites).await;
    Ok(receipt_response(&id, r))
}

/// A stored attachment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    /// SHA-256 (hex): cite it in a declaration or decision.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Uploads a digitised document for this dossier (raw bytes). It is stored
/// outside the log, encrypted under the dossier's key; this dossier's events
/// cite it by its SHA-256, and no other dossier's can. Uploads not cited yet
/// count against the uploader's quota and are removed after the profile's
/// grace period.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/attachments", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)")),
    request_body(content = inline(super::Binary), content_type = "application/octet-stream",
        description = "The document's bytes as they are (a scan, a PDF); any media type is stored as bytes"),
    responses((status = 201, body = AttachmentOut), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 413, body = Problem, description = "Over the uploader's quota of uncited uploads (urn:hoso:problem:attachment:quota-exceeded), or over the body limit")))]
pub async fn upload(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<AttachmentOut>)> {
    let b = basis(&s, &c, &id, "POST /dossiers/{id}/attachments").await?;
    if matches!(b, ReadBasis::Inspection { .. }) {
        return Err(CommandError::from(AccessRule::InspectorReadOnly(c.account.id.clone())).into());
    }
    let may = matches!(
        b,
        ReadBasis::Own | ReadBasis::Right(AccessRight::Update | AccessRight::Admin)
    );
    if !may {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access",
            "insufficient-right",
            "uploading needs update right over the dossier's unit, or the dossier to be yours",
        )
        .cite(Some("DL 12.2")));
    }
    if body.is_empty() {
        return Err(Problem::bad_request(
            "empty-body",
            "the attachment is empty",
        ));
    }
    let quota = s.workflows.profile().uploads().pending_quota_bytes;
    let (store, account, dossier) = (s.attachments.clone(), c.account.id.clone(), id.clone());
    let stored = tokio::task::spawn_blocking(move || store.put(&account, &dossier, &body, quota))
        .await
        .map_err(|e| Problem::internal(&e))??;
    Ok((
        StatusCode::CREATED,
        Json(AttachmentOut {
            sha256: hex::encode(stored.sha256),
            bytes: stored.bytes,
        }),
    ))
}

/// Downloads an attachment the dossier cites.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/attachments/{sha256}", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"),
           ("sha256" = String, Path, description = "SHA-256 (hex)"), super::WaitFor),
    responses((status = 200, description = "The bytes", body = inline(super::Binary), content_type = "application/octet-stream"),
              (status = 404, body = Problem)))]
pub async fn attachment(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams((id, sha)): PathParams<(String, String)>,
    Params(w): Params<super::WaitFor>,
) -> ApiResult<Response> {
    super::wait(&s, w.wait_for).await?;
    let b = basis(&s, &c, &id, "GET /dossiers/{id}/attachments/{sha256}").await?;
    let digest = parse_sha256(&sha, "sha256")?;
    let sha = sha.to_ascii_lowercase();
    // Only what this dossier cites (in a decision or as a section's proof):
    // an attachment of another dossier is as invisible as that dossier, and
    // one cited at a level above the reader's is as invisible as its field.
    let history = s.read.history(&id)?;
    let f = filter(&s, &b, &id);
    let level = f.attachment_level(&history, &sha);
    let visible = level.is_some_and(|l| f.may_see("", l) || b == ReadBasis::Own);
    let bytes = if visible {
        let (store, dossier) = (s.attachments.clone(), id.clone());
        tokio::task::spawn_blocking(move || store.get(&dossier, &digest))
            .await
            .map_err(|e| Problem::internal(&e))??
    } else {
        None
    };
    // Records name the document by its address in this dossier, never by its
    // digest: which document a restricted section cites is itself restricted,
    // and the address means something only to the holder of the dossier's key.
    let address = s.attachments.address(&id, &digest)?;
    let Some(bytes) = bytes else {
        refused(&s, &c, "GET /dossiers/{id}/attachments/{sha256}", &address);
        return Err(Problem::not_found("attachment"));
    };
    if level.is_some_and(Restriction::is_sealed) || b.logs_every_read() {
        log_reads(
            &s,
            &c,
            &id,
            &b,
            Revealed(vec![format!("attachment/{address}")]),
            "attachment",
        )
        .await?;
    }
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok((h, bytes).into_response())
}

/// Search criteria.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Part of the name, diacritics optional.
    pub name: Option<String>,
    /// Exact identification number (restricted: needs update right).
    pub person_id: Option<String>,
    /// Root of a unit subtree.
    pub unit: Option<String>,
    /// Category: `can_bo`, `cong_chuc`, `vien_chuc`, `nguoi_lao_dong`, `commune_cadre`.
    pub category: Option<String>,
    /// Rank or title code.
    pub rank_code: Option<String>,
    /// Part of the rank or title name.
    pub title: Option<String>,
    /// Part of the job position.
    pub job_position: Option<String>,
    /// Status: `active`, `retired`, …
    pub status: Option<String>,
    /// Youngest age.
    pub age_min: Option<u32>,
    /// Oldest age.
    pub age_max: Option<u32>,
    /// Part of the highest qualification.
    pub qualification: Option<String>,
    /// Party membership.
    pub party_member: Option<bool>,
    /// Review state: `awaiting_declaration`, `declaring`, `returned`,
    /// `verified`, `locked`, `approved` (the reviewer's and the head's queues).
    pub workflow: Option<String>,
    /// Search the archive.
    #[serde(default)]
    pub archived: bool,
    /// Page size (≤ 500).
    pub limit: Option<usize>,
    /// Cursor of the next page.
    pub after: Option<String>,
    /// Wait for a position first.
    pub wait_for: Option<u64>,
}

/// Searches the dossiers in the caller's scope. With rights over several
/// subtrees, `unit` chooses one; a unit outside scope is not found.
#[utoipa::path(get, path = "/api/v1/dossiers", tag = "dossiers", params(SearchParams),
    responses((status = 200, body = HitsOut), (status = 400, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn search(
    State(s): State<Arc<AppState>>,
    c: Caller,
    uri: Uri,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<HitsOut>> {
    let (unit, right) = search_unit(&s, &c, p.unit.as_deref()).await?;
    let by_number = p.person_id.is_some();
    if by_number && right < AccessRight::Update {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access",
            "insufficient-right",
            format!(
                "searching by identification number needs update right; you hold {}",
                right_name(right)
            ),
        )
        .cite(Some("BT 4.3, HY 4.4")));
    }
    let category = p
        .category
        .as_deref()
        .map(|v| parse_enum::<PersonnelCategory>(v, "category"))
        .transpose()?;
    let status = p
        .status
        .as_deref()
        .map(|v| parse_enum::<EmploymentStatus>(v, "status"))
        .transpose()?;
    let workflow = p.workflow.as_deref().map(parse_review_state).transpose()?;
    wait(&s, p.wait_for).await?;
    let searched = unit.clone();
    // The read model keeps no number in clear: it is searched by the
    // number's keyed hash.
    let person_key = p.person_id.as_deref().map(|n| s.workflows.person_key(n));
    let mut page = s.read.search(&SearchQuery {
        name: p.name,
        person_key,
        unit,
        category: category.map(|c| c as i32),
        rank_code: p.rank_code,
        title: p.title,
        job_position: p.job_position,
        status: status.map(|s| s as i32),
        age_min: p.age_min,
        age_max: p.age_max,
        qualification: p.qualification,
        party_member: p.party_member,
        workflow,
        archived: p.archived,
        limit: p.limit,
        after: p.after,
    })?;
    let hits = shown_hits(
        &s,
        &c,
        std::mem::take(&mut page.items),
        p.person_id.as_deref(),
    )
    .await?;
    if c.account.kind == AccountKind::Inspector
        && let Some(root) = &searched
    {
        let ids = page.items.iter().map(|h| h.id.clone()).collect();
        s.workflows
            .log_inspection_query(
                &c.actor,
                root,
                "GET /dossiers",
                uri.query().unwrap_or(""),
                ids,
            )
            .await?;
    }
    Ok(Json(HitsOut {
        items: hits,
        next: page.next,
    }))
}

/// A review state in its one name (`ReviewState::as_str`); an unknown one
/// is refused with the valid ones listed, as [`parse_enum`] refuses.
fn parse_review_state(value: &str) -> ApiResult<ReviewState> {
    value.parse().map_err(|_| {
        let valid: Vec<&str> = ReviewState::ALL.iter().map(|w| w.as_str()).collect();
        super::invalid_value("workflow", value, &valid)
    })
}

/// A page of hits.
#[derive(Debug, Serialize, ToSchema)]
pub struct HitsOut {
    /// Hits in (folded name, id) order.
    pub items: Vec<HitOut>,
    /// Cursor of the next page, if there may be one.
    pub next: Option<String>,
}

/// A search hit, showing what the caller may see of the dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct HitOut {
    /// Dossier id.
    pub id: String,
    /// Identification number, only when the caller searched by it (a list
    /// of hits must not reveal restricted numbers unlogged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<String>,
    /// Name.
    pub full_name: String,
    /// Category, e.g. `cong_chuc`.
    pub category: String,
    /// Managing unit.
    pub managing_unit: String,
    /// Employing unit.
    pub employing_unit: String,
    /// Employment status, e.g. `active`.
    pub status: String,
    /// Review cycle.
    #[schema(value_type = String)]
    pub workflow: hoso_domain::review::ReviewState,
    /// Rank or title code, where the caller may see the rank.
    pub rank_code: Option<String>,
    /// Rank or title name, likewise.
    pub rank_name: Option<String>,
    /// Job position, where the caller may see positions.
    pub job_position: Option<String>,
    /// Year of birth.
    pub birth_year: Option<i64>,
}

/// The hits as the caller may see them: each through the same filter as a
/// read of that dossier on the caller's ground for it.
async fn shown_hits(
    s: &AppState,
    c: &Caller,
    hits: Vec<hoso_projections::search::SearchHit>,
    searched_number: Option<&str>,
) -> ApiResult<Vec<HitOut>> {
    use hoso_schemas::Spelling;
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    let bases = s.workflows.read_bases(&c.actor, &ids).await?;
    let mut out = Vec::with_capacity(hits.len());
    for (h, basis) in hits.into_iter().zip(bases) {
        let Some(b) = basis else {
            continue;
        };
        let f = filter(s, &b, &h.id);
        let rank = f.shows("rank");
        let positions = f.shows("positions");
        out.push(HitOut {
            person_id: searched_number.map(str::to_owned),
            full_name: h.full_name,
            category: PersonnelCategory::spelling_of(h.category),
            managing_unit: h.managing_unit,
            employing_unit: h.employing_unit,
            status: EmploymentStatus::spelling_of(h.status),
            workflow: h.workflow,
            rank_code: h.rank_code.filter(|_| rank),
            rank_name: h.rank_name.filter(|_| rank),
            job_position: h.job_position.filter(|_| positions),
            birth_year: h.birth_year,
            id: h.id,
        });
    }
    Ok(out)
}

/// The subtree a search covers and the caller's right there: the unit asked for
/// if the caller holds a right over it, or the caller's one subtree; the whole
/// province for the Sở Nội vụ.
async fn search_unit(
    s: &AppState,
    c: &Caller,
    asked: Option<&str>,
) -> ApiResult<(Option<String>, AccessRight)> {
    match s.workflows.search_scope(&c.actor).await? {
        SearchScope::Province => Ok((asked.map(str::to_owned), AccessRight::Admin)),
        SearchScope::Subtrees(roots) if roots.is_empty() => {
            // An attempt to look beyond one's own dossier: on record like the 404s.
            refused(s, c, "GET /dossiers", "no search scope");
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "access",
                "no-search-scope",
                "this account holds no right over any unit; a person reads their own dossier by its id",
            )
            .cite(Some("DL 12.2")))
        }
        SearchScope::Subtrees(roots) => match asked {
            Some(u) => match s.workflows.right_over_unit(&c.actor, u).await? {
                Some(r) => Ok((Some(u.to_owned()), r)),
                None => {
                    refused(s, c, "GET /dossiers", &format!("unit={u}"));
                    Err(Problem::not_found("unit"))
                }
            },
            None if roots.len() == 1 => Ok((Some(roots[0].0.clone()), roots[0].1)),
            None => Err(Problem::bad_request(
                "unit-required",
                format!(
                    "you hold rights over {} subtrees; choose one with `unit`",
                    roots.len()
                ),
            )),
        },
    }
}

//! `POST /dossiers/{id}/decisions`: every decision of the state about a
//! person — appointment, rank, salary, allowance, award, discipline,
//! training, evaluation and planning (quy hoạch) — recorded by the unit that
//! manages the dossier with update right (DL 9.2b, DL 12.2), each with its
//! decision document (number, date, issuer, and the scan uploaded to the
//! dossier, BT 6.3) and an effective date that may lie in the past.
//!
//! The body is one JSON object tagged by `kind`. Every enum value is spelled
//! as the rest of the API spells enums: the protobuf name without its prefix,
//! in lower case (`ALLOWANCE_KIND_POSITION` is `position`), and the lists
//! below are derived from the catalogue, so the document, the refusals and
//! the log cannot disagree. An unknown `kind` or value is a 422
//! `request:invalid-value` problem naming the member and listing the valid
//! values, before anything else is read.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use hoso_commands::workflows::RecordDecision;
use hoso_domain::dossier::{
    AllowanceKind, AppointmentKind, DisciplineBody, DisciplineForm, EvaluationGrade,
    RankChangeKind, StateDecision, TrainingMode,
};
use hoso_schemas::pb::dossier::allowance_changed::Amount;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use hoso_schemas::Spelling;

use super::{DocumentIn, ReceiptOut};
use crate::AppState;
use crate::extract::{Body, Caller, IfMatch, PathParams};
use crate::problem::{ApiResult, Problem};

/// 422 `request:invalid-value`: the member at `pointer` holds `value`, which
/// is none of `valid`.
fn invalid_value(pointer: &str, value: &str, valid: &[&str]) -> Problem {
    let member = pointer.trim_start_matches('/');
    let mut p = Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "request",
        "invalid-value",
        format!(
            "{member}: unknown value \"{value}\"; valid values: {}",
            valid.join(", ")
        ),
    );
    p.pointer = Some(pointer.to_owned());
    p
}

/// `value` read as a `T`, or the problem listing `T`'s values.
fn parse<T: Spelling>(value: &str, pointer: &str) -> ApiResult<T> {
    super::parse_enum_at(value, pointer)
}

/// The schema of a member holding a value of `T`: a string, one of its values.
fn enum_schema<T: Spelling>() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(T::spellings()))
        .build()
}

fn appointment_kinds() -> Object {
    enum_schema::<AppointmentKind>()
}
fn rank_change_kinds() -> Object {
    enum_schema::<RankChangeKind>()
}
fn allowance_kinds() -> Object {
    enum_schema::<AllowanceKind>()
}
fn discipline_forms() -> Object {
    enum_schema::<DisciplineForm>()
}
fn discipline_bodies() -> Object {
    enum_schema::<DisciplineBody>()
}
fn training_modes() -> Object {
    enum_schema::<TrainingMode>()
}
fn evaluation_grades() -> Object {
    enum_schema::<EvaluationGrade>()
}

/// The kinds of decision, as `kind` spells them.
pub const KINDS: [&str; 9] = [
    "appointment",
    "rank",
    "salary",
    "allowance",
    "award",
    "discipline",
    "training",
    "evaluation",
    "planning",
];

/// An allowance's amount: exactly one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AmountIn {
    /// Coefficient in hundredths: 0.25 is 25.
    CoefficientX100(u32),
    /// Percentage in hundredths: 7% is 700.
    PercentX100(u32),
    /// A sum in đồng.
    AmountVnd(i64),
}

impl From<AmountIn> for Amount {
    fn from(a: AmountIn) -> Self {
        match a {
            AmountIn::CoefficientX100(c) => Self::CoefficientX100(c),
            AmountIn::PercentX100(p) => Self::PercentX100(p),
            AmountIn::AmountVnd(v) => Self::AmountVnd(v),
        }
    }
}

/// A decision of the state about the person, tagged by `kind`. Every kind
/// carries its `effective` date (which may lie in the past) and its
/// `document`; a `document.attachment_sha256` must name a scan already
/// uploaded to this dossier (`POST /dossiers/{id}/attachments`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DecisionIn {
    /// Appointment, reappointment, concurrent post, relief or election.
    Appointment {
        /// `appointed`, `reappointed`, `concurrent`, `relieved`, `elected`.
        #[schema(schema_with = appointment_kinds)]
        appointment_kind: String,
        /// The position.
        position_title: String,
        /// Unit of the position.
        #[serde(default)]
        org_code: String,
        /// End of the term, when the decision sets one.
        #[serde(default)]
        term_end: Option<NaiveDate>,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
    /// Civil-service rank (ngạch) or professional title.
    Rank {
        /// `initial`, `promoted`, `transferred`, `demoted`.
        #[schema(schema_with = rank_change_kinds)]
        rank_change_kind: String,
        /// Code, e.g. `01.003` or `V.07.04.31`.
        rank_code: String,
        /// Name.
        #[serde(default)]
        rank_name: String,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
    /// Salary step and coefficient on a scale of Decree 204/2004.
    Salary {
        /// Rank (grade) code the scale belongs to.
        rank_code: String,
        /// Step (bậc), from 1.
        step: u32,
        /// Coefficient in hundredths: 2.34 is 234.
        coefficient_x100: u32,
        /// Salary group of the scale, e.g. `A1`.
        #[serde(default)]
        salary_group: String,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
    /// An allowance set, changed or (without `amount`) ended.
    Allowance {
        /// The allowance.
        #[schema(schema_with = allowance_kinds)]
        allowance_kind: String,
        /// Name as written in the decision; required for `other`.
        #[serde(default)]
        name: String,
        /// The amount; absent or null ends the allowance.
        #[serde(default)]
        amount: Option<AmountIn>,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
    /// An award (khen thưởng).
    Award {
        /// Form, e.g. `Bằng khen của Chủ tịch UBND tỉnh`.
        form: String,
        /// Reason.
        #[serde(default)]
        reason: String,
        /// Year.
        year: u32,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
    /// Discipline (kỷ luật); the reason is sealed before it reaches the log.
    Discipline {
        /// The form of discipline.
        #[schema(schema_with = discipline_forms)]
        form: String,
        /// The body that imposed it.
        #[schema(schema_with = discipline_bodies)]
        body: String,
        /// Reason.
        #[serde(default)]
        reason: String,
        /// End of its effect.
        #[serde(default)]
        until: Option<NaiveDate>,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
    /// Training (a row of form item 27).
    Training {
        /// Institution.
        institution: String,
        /// Major.
        #[serde(default)]
        major: String,
        /// Start.
        #[serde(default)]
        from: Option<NaiveDate>,
        /// End.
        #[serde(default)]
        until: Option<NaiveDate>,
        /// Mode.
        #[schema(schema_with = training_modes)]
        mode: String,
        /// Degree, certificate or level obtained.
        #[serde(default)]
        qualification: String,
        /// Effective date.
        effective: NaiveDate,
        /// The decision (its scan is the certificate).
        document: DocumentIn,
    },
    /// Annual evaluation and grading.
    Evaluation {
        /// Year evaluated.
        year: u32,
        /// Grade.
        #[schema(schema_with = evaluation_grades)]
        grade: String,
        /// Comments.
        #[serde(default)]
        comments: String,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
    /// Planning (quy hoạch): the position the person is planned for and the
    /// period, in years.
    Planning {
        /// The position planned for.
        position_title: String,
        /// Unit of the position.
        #[serde(default)]
        org_code: String,
        /// First year of the period.
        from_year: u32,
        /// Last year of the period (inclusive).
        until_year: u32,
        /// Effective date.
        effective: NaiveDate,
        /// The decision.
        document: DocumentIn,
    },
}

impl DecisionIn {
    /// The domain's decision, its effective date and its document, once
    /// every enum value is read.
    fn into_parts(self) -> ApiResult<(StateDecision, NaiveDate, DocumentIn)> {
        use DecisionIn as D;
        Ok(match self {
            D::Appointment {
                appointment_kind,
                position_title,
                org_code,
                term_end,
                effective,
                document,
            } => (
                StateDecision::Appointment {
                    kind: parse(&appointment_kind, "/appointment_kind")?,
                    position_title,
                    org_code,
                    term_end,
                },
                effective,
                document,
            ),
            D::Rank {
                rank_change_kind,
                rank_code,
                rank_name,
                effective,
                document,
            } => (
                StateDecision::Rank {
                    kind: parse(&rank_change_kind, "/rank_change_kind")?,
                    rank_code,
                    rank_name,
                },
                effective,
                document,
            ),
            D::Salary {
                rank_code,
                step,
                coefficient_x100,
                salary_group,
                effective,
                document,
            } => (
                StateDecision::Salary {
                    rank_code,
                    step,
                    coefficient_x100,
                    salary_group,
                },
                effective,
                document,
            ),
            D::Allowance {
                allowance_kind,
                name,
                amount,
                effective,
                document,
            } => (
                StateDecision::Allowance {
                    kind: parse(&allowance_kind, "/allowance_kind")?,
                    name,
                    amount: amount.map(Amount::from),
                },
                effective,
                document,
            ),
            D::Award {
                form,
                reason,
                year,
                effective,
                document,
            } => (
                StateDecision::Award { form, reason, year },
                effective,
                document,
            ),
            D::Discipline {
                form,
                body,
                reason,
                until,
                effective,
                document,
            } => (
                StateDecision::Discipline {
                    form: parse(&form, "/form")?,
                    body: parse(&body, "/body")?,
                    reason,
                    until,
                },
                effective,
                document,
            ),
            D::Training {
                institution,
                major,
                from,
                until,
                mode,
                qualification,
                effective,
                document,
            } => (
                StateDecision::Training {
                    institution,
                    major,
                    from,
                    until,
                    mode: parse(&mode, "/mode")?,
                    qualification,
                },
                effective,
                document,
            ),
            D::Evaluation {
                year,
                grade,
                comments,
                effective,
                document,
            } => (
                StateDecision::Evaluation {
                    year,
                    grade: parse(&grade, "/grade")?,
                    comments,
                },
                effective,
                document,
            ),
            D::Planning {
                position_title,
                org_code,
                from_year,
                until_year,
                effective,
                document,
            } => (
                StateDecision::Planning {
                    position_title,
                    org_code,
                    from_year,
                    until_year,
                },
                effective,
                document,
            ),
        })
    }
}

/// The body read as a [`DecisionIn`]: an unknown `kind` is refused with the
/// valid kinds before serde reads the rest (whose message for an unknown tag
/// is not the API's).
fn read(body: Value) -> ApiResult<DecisionIn> {
    match body.get("kind") {
        Some(Value::String(k)) if KINDS.contains(&k.as_str()) => {}
        Some(Value::String(k)) => return Err(invalid_value("/kind", k, &KINDS)),
        Some(other) => return Err(invalid_value("/kind", &other.to_string(), &KINDS)),
        None => {
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request",
                "invalid-body",
                format!("kind: required, one of {}", KINDS.join(", ")),
            );
            p.pointer = Some("/kind".to_owned());
            return Err(p);
        }
    }
    serde_json::from_value(body).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request",
            "invalid-body",
            e.to_string(),
        )
    })
}

/// Records a decision of the state about the person (update right over
/// the dossier's managing unit, DL 9.2b, DL 12.2). Refused while the dossier
/// is in transit to another agency (`dossier:in-transit`, BT 11.3, HY 11.1).
/// Honours `If-Match`. Answers with the dossier's new revision as `ETag`; read it back with
/// `GET /dossiers/{id}?wait_for=<position>`, and at any effective date with
/// `as_of`.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/decisions", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id (UUID)"),
           ("If-Match" = Option<String>, Header, description = "Expected revision (the ETag)")),
    request_body = DecisionIn,
    responses((status = 200, body = ReceiptOut),
              (status = 400, body = Problem, description = "Malformed JSON, id or hash"),
              (status = 403, body = Problem, description = "No update right over the dossier's managing unit (urn:hoso:problem:access:insufficient-right)"),
              (status = 404, body = Problem, description = "No such dossier visible to you, or the unit an appointment or planning names does not exist (urn:hoso:problem:scope:unknown-unit)"),
              (status = 409, body = Problem, description = "The dossier changed while the decision was recorded"),
              (status = 412, body = Problem, description = "The dossier is no longer at the revision If-Match names"),
              (status = 413, body = Problem),
              (status = 415, body = Problem),
              (status = 422, body = Problem, description = "An unknown kind or value (urn:hoso:problem:request:invalid-value, listing the valid ones), a scan not uploaded to this dossier (urn:hoso:problem:attachment:not-uploaded), a dossier in transit (urn:hoso:problem:dossier:in-transit) or another rule of the decision (urn:hoso:problem:dossier:…)")))]
pub async fn record(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    m: IfMatch,
    Body(body): Body<Value>,
) -> ApiResult<Response> {
    super::dossiers::basis(&s, &c, &id, "POST /dossiers/{id}/decisions").await?;
    let (decision, effective, document) = read(body)?.into_parts()?;
    let document = document.into_source()?;
    let scan: Vec<[u8; 32]> = document.attachment_sha256.into_iter().collect();
    super::dossiers::uploaded(&s, &id, &scan).await?;
    let started = std::time::Instant::now();
    let r = s
        .workflows
        .record_decision_expecting(
            &c.actor,
            RecordDecision {
                dossier_id: id.clone(),
                decision,
                effective,
                document,
            },
            m.0,
        )
        .await
        .map_err(|e| super::dossiers::conflict_as_412(m, e.into()))?;
    s.metrics.append(started.elapsed());
    super::dossiers::cited(&s, &id, &scan).await;
    let etag = format!("\"{}\"", r.revision);
    let mut resp = Json(ReceiptOut::new(&id, r)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_spelled_once_and_reads_back() {
        assert_eq!(
            EvaluationGrade::spellings(),
            ["excellent", "good", "completed", "not_completed"]
        );
        for v in AllowanceKind::all() {
            assert_eq!(
                parse::<AllowanceKind>(&v.spelling(), "/allowance_kind").ok(),
                Some(v)
            );
        }
        assert!(parse::<AllowanceKind>("unspecified", "/allowance_kind").is_err());
    }

    #[test]
    fn the_document_lists_each_kind_and_its_values() {
        use utoipa::OpenApi;
        let doc = serde_json::to_value(crate::routes::ApiDoc::openapi()).unwrap();
        let decision = &doc["components"]["schemas"]["DecisionIn"];
        let variants = decision["oneOf"].as_array().unwrap();
        assert_eq!(variants.len(), KINDS.len());
        let evaluation = variants
            .iter()
            .find(|v| v["properties"]["kind"]["enum"][0] == "evaluation")
            .unwrap();
        assert_eq!(
            evaluation["properties"]["grade"]["enum"],
            serde_json::json!(["excellent", "good", "completed", "not_completed"])
        );
        assert!(
            doc["paths"]["/api/v1/dossiers/{id}/decisions"]["post"].is_object(),
            "the route is documented"
        );
    }

    #[test]
    fn an_unknown_value_lists_the_valid_ones() {
        let p = parse::<DisciplineForm>("flogging", "/form").unwrap_err();
        assert_eq!(p.type_, "urn:hoso:problem:request:invalid-value");
        assert_eq!(p.pointer.as_deref(), Some("/form"));
        let detail = p.detail.unwrap_or_default();
        assert!(detail.contains("reprimand, warning"), "{detail}");
        let p = read(serde_json::json!({"kind": "promotion"})).unwrap_err();
        assert!(
            p.detail
                .unwrap_or_default()
                .contains("appointment, rank, salary"),
            "lists the kinds"
        );
    }
}

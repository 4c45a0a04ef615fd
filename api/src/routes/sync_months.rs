//! The director's month statement of continuous mode over HTTP (HY 13.6;
//! `docs/sync-format.md` §8), the same flow as a monthly batch's seal: `GET
//! /sync/months/next` hands out the statement over the month's continuous
//! batches and the digest to sign, `POST /sync/months` takes it back with the
//! director's ed25519 signature (`Workflows::sign_month`). The feed's readers
//! get the signed statements: `GET /sync/months` and `GET /sync/months/{month}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use hoso_commands::workflows::{BatchRule, SignMonth, SignedMonth};
use hoso_sync::Month;
use hoso_sync::month::MonthStatement;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sync::{director, feed_reader, sync_problem};
use super::{ReceiptOut, parse_sha256};
use crate::AppState;
use crate::extract::{Body, Caller, PathParams};
use crate::problem::{ApiResult, Problem};

/// A month statement (`hoso-sync-month/1`) as a JSON object: its members in
/// canonical order, so this object written compactly is its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthJson {
    /// Always `hoso-sync-month/1`.
    pub format: String,
    /// The province profile's name.
    pub province: String,
    /// `yyyy-mm`.
    pub month: String,
    /// Sequence of the month's first batch.
    pub first_sequence: u64,
    /// Sequence of its last batch.
    pub last_sequence: u64,
    /// Number of batches.
    pub batch_count: u64,
    /// Their items, summed.
    pub item_count: u64,
    /// RFC 9162 root over the batches' statement digests (hex).
    pub merkle_root: String,
    /// The previous month statement's digest (hex; zeros for the first).
    pub previous_digest: String,
}

impl From<&MonthStatement> for MonthJson {
    fn from(s: &MonthStatement) -> Self {
        Self {
            format: s.format.clone(),
            province: s.province.clone(),
            month: s.month.to_string(),
            first_sequence: s.first_sequence,
            last_sequence: s.last_sequence,
            batch_count: s.batch_count,
            item_count: s.item_count,
            merkle_root: hex::encode(s.merkle_root),
            previous_digest: hex::encode(s.previous_digest),
        }
    }
}

impl MonthJson {
    fn to_statement(&self) -> ApiResult<MonthStatement> {
        Ok(MonthStatement {
            format: self.format.clone(),
            province: self.province.clone(),
            month: parse_month(&self.month)?,
            first_sequence: self.first_sequence,
            last_sequence: self.last_sequence,
            batch_count: self.batch_count,
            item_count: self.item_count,
            merkle_root: parse_sha256(&self.merkle_root, "statement.merkle_root")?,
            previous_digest: parse_sha256(&self.previous_digest, "statement.previous_digest")?,
        })
    }
}

fn parse_month(text: &str) -> ApiResult<Month> {
    text.parse()
        .map_err(|e| sync_problem(BatchRule::BadStatement(e)))
}

/// The next month statement, for the director to sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextMonthOut {
    /// The statement to sign.
    pub statement: MonthJson,
    /// The digest to sign with ed25519 (hex): `SHA-256("hoso-sync-month-v1" ‖ 0x00 ‖ statement bytes)`.
    pub digest: String,
    /// The first day it may be signed (the 1st of the month after).
    pub sign_from: NaiveDate,
}

/// The director's signature over a month statement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignMonthIn {
    /// The statement as handed out.
    pub statement: MonthJson,
    /// The director's registered key id.
    pub key_id: String,
    /// ed25519 signature over the statement digest (hex, 64 bytes).
    pub signature: String,
}

/// A signed month statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthOut {
    /// The statement.
    pub statement: MonthJson,
    /// Its digest (hex), what the director signed.
    pub digest: String,
    /// ed25519 signature over the digest (hex).
    pub signature: String,
    /// The director's key id.
    pub key_id: String,
    /// The director's public key (hex), as the account registered it.
    pub public_key: Option<String>,
    /// The director's account.
    pub signer: String,
    /// Vietnam date of the signature.
    pub signed_on: NaiveDate,
}

/// The signed month statements.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthsOut {
    /// By month.
    pub months: Vec<MonthOut>,
}

async fn month_out(s: &AppState, m: SignedMonth) -> ApiResult<MonthOut> {
    let public_key = s
        .workflows
        .caller(&m.signer)
        .await?
        .and_then(|a| a.keys.get(&m.key_id).map(|k| hex::encode(&k.public_key)));
    Ok(MonthOut {
        statement: MonthJson::from(&m.statement),
        digest: hex::encode(m.digest),
        signature: hex::encode(&m.signature),
        key_id: m.key_id,
        public_key,
        signer: m.signer,
        signed_on: m.signed_on,
    })
}

/// The next month statement over the continuous batches and the digest the
/// director signs. Director (or system administrator).
#[utoipa::path(get, path = "/api/v1/sync/months/next", tag = "sync", operation_id = "next_month_statement",
    responses((status = 200, body = NextMonthOut),
              (status = 403, body = Problem, description = "Not the Sở Nội vụ director (urn:hoso:problem:sync:not-director)"),
              (status = 404, body = Problem, description = "Every continuous batch is in a signed month (urn:hoso:problem:sync:no-month-to-sign)")))]
pub async fn next(State(s): State<Arc<AppState>>, c: Caller) -> ApiResult<Json<NextMonthOut>> {
    if !c.is_system_admin() {
        director(&s, &c).await?;
    }
    let next = s.workflows.next_month_statement().await?;
    let digest = next.statement.digest().map_err(|e| Problem::internal(&e))?;
    Ok(Json(NextMonthOut {
        statement: MonthJson::from(&next.statement),
        digest: hex::encode(digest),
        sign_from: next.sign_from,
    }))
}

/// The director signs the month statement (`sync.MonthStatementSigned`), once
/// the month is over; once per month.
#[utoipa::path(post, path = "/api/v1/sync/months", tag = "sync",
    request_body = SignMonthIn,
    responses((status = 201, body = ReceiptOut, description = "Signed; `id` is the month"),
              (status = 403, body = Problem, description = "Not the Sở Nội vụ director (urn:hoso:problem:sync:not-director), or a key not usable today"),
              (status = 404, body = Problem, description = "No month to sign (urn:hoso:problem:sync:no-month-to-sign)"),
              (status = 409, body = Problem, description = "Signed already (urn:hoso:problem:sync:month-already-signed)"),
              (status = 422, body = Problem, description = "The month is not over (sync:month-not-over), a statement other than the log's (sync:statement-mismatch), or a bad signature")))]
pub async fn sign(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Body(input): Body<SignMonthIn>,
) -> ApiResult<Response> {
    let statement = input.statement.to_statement()?;
    let signature = hex::decode(&input.signature)
        .map_err(|_| Problem::bad_request("invalid-signature", "signature: not hex"))?;
    let month = statement.month.to_string();
    let r = s
        .workflows
        .sign_month(
            &c.actor,
            SignMonth {
                statement,
                key_id: input.key_id,
                signature,
            },
        )
        .await?;
    let mut resp = (StatusCode::CREATED, Json(ReceiptOut::new(month.clone(), r))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/sync/months/{month}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Every signed month statement. The feed's readers.
#[utoipa::path(get, path = "/api/v1/sync/months", tag = "sync",
    responses((status = 200, body = MonthsOut),
              (status = 403, body = Problem, description = "Not a reader of the feed (urn:hoso:problem:sync:not-national-sync)")))]
pub async fn list(State(s): State<Arc<AppState>>, c: Caller) -> ApiResult<Json<MonthsOut>> {
    feed_reader(&s, &c).await?;
    let mut months = Vec::new();
    for m in s.workflows.month_statements().await? {
        months.push(month_out(&s, m).await?);
    }
    Ok(Json(MonthsOut { months }))
}

/// One signed month statement. The feed's readers.
#[utoipa::path(get, path = "/api/v1/sync/months/{month}", tag = "sync",
    params(("month" = String, Path, description = "yyyy-mm")),
    responses((status = 200, body = MonthOut),
              (status = 403, body = Problem, description = "Not a reader of the feed (urn:hoso:problem:sync:not-national-sync)"),
              (status = 404, body = Problem, description = "Not signed (urn:hoso:problem:sync:unknown-month)")))]
pub async fn month(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(month): PathParams<String>,
) -> ApiResult<Json<MonthOut>> {
    feed_reader(&s, &c).await?;
    let month = parse_month(&month)?;
    let m = s
        .workflows
        .month_statement(month)
        .await?
        .ok_or_else(|| sync_problem(BatchRule::UnknownMonth(month.to_string())))?;
    Ok(Json(month_out(&s, m).await?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_month_object_written_compactly_is_its_canonical_bytes() {
        let s = MonthStatement {
            format: hoso_sync::month::MONTH_FORMAT.to_owned(),
            province: "hung-yen".to_owned(),
            month: Month::new(2026, 7).unwrap(),
            first_sequence: 1,
            last_sequence: 3,
            batch_count: 3,
            item_count: 40,
            merkle_root: [4; 32],
            previous_digest: [0; 32],
        };
        let json = MonthJson::from(&s);
        assert_eq!(
            serde_json::to_vec(&json).unwrap(),
            s.canonical_bytes().unwrap()
        );
        assert_eq!(json.to_statement().unwrap(), s);
    }
}

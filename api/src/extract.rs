//! Request extractors that answer bad input with problems, never with
//! axum's plain-text rejections: JSON bodies, query strings, the caller's
//! session, the client address and `If-Match`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use hoso_commands::workflows::Actor;
use hoso_domain::account::{Account, AccountKind};
use hoso_domain::input::{self, InputRule, TextKind};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::problem::Problem;
use crate::sessions::{Attempt, TokenState};

/// A JSON body; malformed JSON, wrong types and unknown fields are 400 or
/// 422 problems, an oversized body 413, a wrong media type 415. Every string
/// in it (member names included) passes [`hoso_domain::input`]'s rules and is
/// NFC-normalised before the route's type is read from it, so no route can
/// forget them; a refusal is a 422 `input:<rule>` problem naming the JSON
/// pointer of the value.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(r) => return Err(json_problem(&r)),
        };
        cleaned(value).map(Self)
    }
}

/// A JSON value read as `T` after every string in it passed the input rules,
/// as [`Body`] reads a whole body (for a route that takes part of its body
/// as raw bytes).
pub(crate) fn cleaned<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, Problem> {
    clean(&mut value)?;
    serde_json::from_value::<T>(value).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request",
            "invalid-body",
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        )
    })
}

/// Cleans every string of a body in place, as [`Body`] does.
pub(crate) fn clean(value: &mut serde_json::Value) -> Result<(), Problem> {
    clean_json(value, &mut String::new(), TextKind::Normal)
}

/// Checks, without changing them, every string under `value` as `kind`
/// whatever its member name, and every member name as short text: for a
/// document carried whole in a body (a national record), whose names are
/// not the API's and whose bytes are kept as received. `pointer` is where
/// `value` sits in the body.
pub(crate) fn check_as(
    value: &serde_json::Value,
    pointer: &mut String,
    kind: TextKind,
) -> Result<(), Problem> {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            clean_text(s, kind).map_err(|r| input_problem(&r, pointer))?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                check_as(item, pointer, kind)?;
                pointer.truncate(len);
            }
        }
        Value::Object(members) => {
            for (key, item) in members {
                let len = pointer.len();
                pointer.push('/');
                let checked =
                    input::clean(key, TextKind::Short).map_err(|r| input_problem(&r, pointer))?;
                pointer.push_str(&checked.replace('~', "~0").replace('/', "~1"));
                check_as(item, pointer, kind)?;
                pointer.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Cleans every string under `value` in place; `pointer` is the JSON pointer
/// of `value` and `kind` the kind its member name gives (array items inherit
/// their array's).
fn clean_json(
    value: &mut serde_json::Value,
    pointer: &mut String,
    kind: TextKind,
) -> Result<(), Problem> {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Some(clean) = clean_text(s, kind).map_err(|r| input_problem(&r, pointer))? {
                *s = clean;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                clean_json(item, pointer, kind)?;
                pointer.truncate(len);
            }
        }
        Value::Object(members) => {
            let mut cleaned = serde_json::Map::with_capacity(members.len());
            for (key, mut item) in std::mem::take(members) {
                let len = pointer.len();
                pointer.push('/');
                // RFC 6901 escapes; the key is checked before it is echoed.
                let checked =
                    input::clean(&key, TextKind::Short).map_err(|r| input_problem(&r, pointer))?;
                pointer.push_str(&checked.replace('~', "~0").replace('/', "~1"));
                clean_json(&mut item, pointer, input::kind_of_field(&checked))?;
                pointer.truncate(len);
                cleaned.insert(checked, item);
            }
            *members = cleaned;
        }
        Value::Number(n) => {
            if n.is_u64() && n.as_i64().is_none() {
                let rule = InputRule::NumberOutOfRange {
                    given: n.to_string(),
                };
                return Err(input_problem(&rule, pointer));
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
    Ok(())
}

/// `text` checked as `kind`: `None` when it is already clean as given.
fn clean_text(text: &str, kind: TextKind) -> Result<Option<String>, InputRule> {
    if kind != TextKind::Secret {
        input::check_if_date(text)?;
    }
    let clean = input::clean(text, kind)?;
    Ok((clean != text).then_some(clean))
}

/// 422 `input:<rule>`: the value at `pointer` (a JSON pointer, or
/// `query:<name>` / `path:<name>`) broke `rule`.
fn input_problem(rule: &InputRule, pointer: &str) -> Problem {
    let at = if pointer.is_empty() { "/" } else { pointer };
    let mut p = Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "input",
        rule.code(),
        format!("{at}: {rule}"),
    );
    p.pointer = Some(at.to_owned());
    p
}

fn json_problem(r: &JsonRejection) -> Problem {
    let status = r.status();
    let code = match r {
        JsonRejection::JsonDataError(_) => "invalid-body",
        JsonRejection::JsonSyntaxError(_) => "malformed-json",
        JsonRejection::MissingJsonContentType(_) => "unsupported-media-type",
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
        _ => "unreadable-body",
    };
    // axum's text names the field and the expected type; it never holds
    // server internals.
    Problem::new(status, "request", code, r.body_text())
}

/// A query string; bad values are 400 problems, values breaking the input
/// rules 422 `input:<rule>` problems. Values are NFC-normalised before the
/// route reads them (so a decomposed search finds a composed name).
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| Problem::bad_request("invalid-query", e.to_string()))?;
        for (name, value) in &mut pairs {
            *name = input::clean(name, TextKind::Short).map_err(|r| input_problem(&r, "query"))?;
            input::check_if_number(value)
                .map_err(|r| input_problem(&r, &format!("query:{name}")))?;
            // A year on its own is a year of the records, as in a date.
            if name == "year"
                && let Ok(year) = value.parse::<i64>()
            {
                input::check_year(year).map_err(|r| input_problem(&r, "query:year"))?;
            }
            if let Some(clean) = clean_text(value, input::kind_of_field(name))
                .map_err(|r| input_problem(&r, &format!("query:{name}")))?
            {
                *value = clean;
            }
        }
        let cleaned = serde_urlencoded::to_string(&pairs)
            .map_err(|e| Problem::bad_request("invalid-query", e.to_string()))?;
        serde_urlencoded::from_str::<T>(&cleaned)
            .map(Self)
            .map_err(|e| {
                Problem::bad_request(
                    "invalid-query",
                    format!("Failed to deserialize query string: {e}"),
                )
            })
    }
}

/// Path parameters; an undecodable segment is a 400 problem, one breaking
/// the input rules a 422 `input:<rule>` problem. Values are NFC-normalised.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|r| path_problem(&r))?;
        let mut values = Vec::with_capacity(raw.len());
        for (name, value) in raw {
            let clean = input::clean(&value, TextKind::Short)
                .map_err(|r| input_problem(&r, &format!("path:{name}")))?;
            values.push(serde_json::Value::String(clean));
        }
        // One parameter reads as a scalar, several as a tuple.
        let value = match <[serde_json::Value; 1]>::try_from(values) {
            Ok([one]) => one,
            Err(many) => serde_json::Value::Array(many),
        };
        serde_json::from_value::<T>(value)
            .map(Self)
            .map_err(|e| Problem::bad_request("invalid-path", format!("Invalid URL: {e}")))
    }
}

fn path_problem(r: &PathRejection) -> Problem {
    Problem::bad_request("invalid-path", r.body_text())
}

/// A raw body (uploads); too large is a 413 problem.
#[derive(Debug)]
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(Self(b)),
            Err(r) => Err(bytes_problem(&r)),
        }
    }
}

fn bytes_problem(r: &BytesRejection) -> Problem {
    let status = r.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "body-too-large"
    } else {
        "unreadable-body"
    };
    Problem::new(status, "request", code, r.body_text())
}

/// The client's address as the server saw it.
pub fn client_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The authenticated caller: a live session of an account that may act.
#[derive(Debug, Clone)]
pub struct Caller {
    /// As the handlers take it.
    pub actor: Actor,
    /// The account now.
    pub account: Account,
    /// The session's token hash (to end it).
    pub token_hash: [u8; 32],
    /// Client address.
    pub client: String,
}

impl Caller {
    /// Whether this is the Sở Nội vụ system administrator.
    pub fn is_system_admin(&self) -> bool {
        self.account.kind == AccountKind::SystemAdmin
    }
}

/// A caller whose issued password may still be unchanged: only for
/// changing it and ending the session (BT 4.4).
#[derive(Debug, Clone)]
pub struct PendingCaller(pub Caller);

async fn authenticate(parts: &Parts, state: &Arc<AppState>) -> Result<Caller, Problem> {
    let client = client_of(parts);
    let token = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Problem::unauthenticated(
                "missing-token",
                "send the session token as `Authorization: Bearer <token>` (POST /api/v1/sessions)",
            )
        })?;
    let now = state.now();
    let session = match state.sessions.lookup(token, now) {
        Ok(Ok(s)) => s,
        Ok(Err(why)) => {
            let (code, detail) = match why {
                TokenState::Expired => ("token-expired", "the session has expired; log in again"),
                TokenState::Unknown => ("invalid-token", "the token is not a live session"),
            };
            state.sessions.record(&Attempt {
                at: now.to_rfc3339(),
                kind: "token-refused".into(),
                account_id: None,
                username: None,
                client,
                target: parts.uri.path().to_owned(),
                detail: code.into(),
            });
            return Err(Problem::unauthenticated(code, detail));
        }
        Err(e) => return Err(Problem::from(e)),
    };
    let account = state
        .workflows
        .caller(&session.account_id)
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| {
            Problem::unauthenticated("invalid-token", "the session's account is gone")
        })?;
    if let Some(reason) = account.locked {
        state.sessions.record(&Attempt {
            at: now.to_rfc3339(),
            kind: "token-refused".into(),
            account_id: Some(account.id.clone()),
            username: Some(account.username.clone()),
            client,
            target: parts.uri.path().to_owned(),
            detail: format!(
                "account locked ({})",
                hoso_schemas::Spelling::spelling(reason)
            ),
        });
        return Err(Problem::unauthenticated(
            "account-locked",
            "the account is locked; its sessions no longer work",
        ));
    }
    Ok(Caller {
        actor: Actor::new(account.id.clone()),
        account,
        token_hash: session.token_hash,
        client,
    })
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let c = authenticate(parts, state).await?;
        if c.account.must_change_password {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "access",
                "password-change-required",
                "change the issued password first: POST /api/v1/accounts/me/password",
            )
            .cite(Some("BT 4.4")));
        }
        Ok(c)
    }
}

impl FromRequestParts<Arc<AppState>> for PendingCaller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(authenticate(parts, state).await?))
    }
}

/// The revision named by `If-Match`, if the header is present.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get(axum::http::header::IF_MATCH) else {
            return Ok(Self(None));
        };
        let text = v.to_str().unwrap_or_default().trim();
        let text = text.strip_prefix("W/").unwrap_or(text);
        text.trim_matches('"')
            .parse::<u64>()
            .map(|r| Self(Some(r)))
            .map_err(|_| {
                Problem::bad_request(
                    "invalid-if-match",
                    "If-Match must be the ETag of a dossier read: a quoted revision number",
                )
            })
    }
}

/// Whether the request carries the session of a system administrator (an operator).
/// Never refuses: routes open to everyone use it to add what only operators may see.
#[derive(Debug, Clone, Copy)]
pub struct MaybeOperator(pub bool);

impl FromRequestParts<Arc<AppState>> for MaybeOperator {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .is_none()
        {
            return Ok(Self(false));
        }
        Ok(Self(authenticate(parts, state).await.is_ok_and(|c| {
            c.is_system_admin() && !c.account.must_change_password
        })))
    }
}

//! Request extractors that answer bad input with problems, never with
//! axum's plain-text rejections: JSON bodies, query strings, the caller's
//! session, the client address and `If-Match`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use hoso_commands::workflows::Actor;
use hoso_domain::account::{Account, AccountKind};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::problem::Problem;
use crate::sessions::{Attempt, TokenState};

/// A JSON body; malformed JSON, wrong types and unknown fields are 400 or
/// 422 problems, an oversized body 413, a wrong media type 415.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(r) => Err(json_problem(&r)),
        }
    }
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

/// A query string; bad values are 400 problems.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(r) => Err(query_problem(&r)),
        }
    }
}

fn query_problem(r: &QueryRejection) -> Problem {
    Problem::bad_request("invalid-query", r.body_text())
}

/// Path parameters; an undecodable segment is a 400 problem.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(r) => Err(path_problem(&r)),
        }
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
        Err(e) => return Err(Problem::internal(&e)),
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
            detail: format!("account locked ({reason:?})"),
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

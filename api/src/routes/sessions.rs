//! Logging in and out.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Json, extract::FromRequestParts};
use hoso_commands::credentials::PasswordCheck;
use hoso_domain::account::Account;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::extract::{Body, PendingCaller, client_of};
use crate::problem::{ApiResult, Problem};
use crate::sessions::Attempt;

/// Login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// Bearer token; shown once, stored only as a hash.
    pub token: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// The account.
    pub account_id: String,
    /// The issued password must be changed before anything else (BT 4.4).
    pub must_change_password: bool,
}

/// The client address, for throttling and the record.
pub struct Client(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        Ok(Self(client_of(parts)))
    }
}

fn failed() -> Problem {
    // One answer for an unknown name, a wrong password and a locked
    // account: the API must not tell which names exist, nor confirm a guess
    // once an account is locked.
    Problem::unauthenticated(
        "bad-credentials",
        "unknown login name, wrong password, or an account that is locked",
    )
}

/// Logs in with a login name and password (argon2id). Failures slow down,
/// then lock the account (HY 5.1) and refuse the client address.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", security(()),
    request_body = LoginIn,
    responses((status = 201, body = SessionOut), (status = 401, body = Problem),
              (status = 429, body = Problem), (status = 400, body = Problem)))]
pub async fn login(
    State(s): State<Arc<AppState>>,
    Client(client): Client,
    Body(input): Body<LoginIn>,
) -> ApiResult<(StatusCode, Json<SessionOut>)> {
    let cfg = &s.config;
    let login = Login {
        now: s.now(),
        username: input.username.trim().to_lowercase(),
        client,
    };
    let (_, by_client) = s
        .sessions
        .failures(&login.username, &login.client, cfg.failure_window)
        .map_err(|e| Problem::internal(&e))?;
    if by_client >= cfg.client_failures_allowed {
        return Err(login.throttled(&s, by_client));
    }
    let account_id = s.workflows.account_by_username(&login.username).await?;
    // Count the attempt before checking it, so that guesses sent in
    // parallel cannot all be tried before the lock lands; a success clears
    // the name's count again.
    let (by_name, by_client) = s
        .sessions
        .fail(&login.username, &login.client, cfg.failure_window)
        .map_err(|e| Problem::internal(&e))?;
    let account = login
        .checked_account(&s, account_id.as_deref(), by_name, &input.password)
        .await?;
    let Some(account) = account else {
        login
            .failed(&s, account_id.as_deref(), by_name, by_client)
            .await?;
        return Err(failed());
    };
    s.sessions
        .succeed(&login.username, &login.client)
        .map_err(|e| Problem::internal(&e))?;
    let (token, session) = s
        .sessions
        .create(&account.id, cfg.session_ttl, login.now)
        .map_err(Problem::from)?;
    s.sessions
        .record(&login.attempt("login-ok", Some(&account.id), String::new()));
    Ok((
        StatusCode::CREATED,
        Json(SessionOut {
            token,
            expires_at: session.expires_at.to_rfc3339(),
            account_id: account.id.clone(),
            must_change_password: account.must_change_password,
        }),
    ))
}

/// One login attempt: who tried, from where, when.
struct Login {
    now: chrono::DateTime<chrono::Utc>,
    username: String,
    client: String,
}

impl Login {
    /// The record of this attempt, of `kind`.
    fn attempt(&self, kind: &str, account: Option<&str>, detail: String) -> Attempt {
        Attempt {
            at: self.now.to_rfc3339(),
            kind: kind.to_owned(),
            account_id: account.map(str::to_owned),
            username: Some(self.username.clone()),
            client: self.client.clone(),
            target: "POST /api/v1/sessions".to_owned(),
            detail,
        }
    }

    /// The refusal of an address past its allowance of failures, recorded.
    fn throttled(&self, s: &AppState, by_client: u32) -> Problem {
        s.sessions.record(&self.attempt(
            "login-throttled",
            None,
            format!("{by_client} failures from this address in the window"),
        ));
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "session",
            "too-many-failures",
            "too many failed logins from this address; try again later",
        )
        .cite(Some("HY 5.1"))
    }

    /// The account, if the password is its own. A locked account, or one past its
    /// allowance, is not checked at all, and an unknown name costs a check of
    /// nothing: a right guess and a wrong one must look the same, and take as long.
    async fn checked_account(
        &self,
        s: &AppState,
        account_id: Option<&str>,
        by_name: u32,
        password: &str,
    ) -> ApiResult<Option<Account>> {
        let known = match account_id {
            Some(id) => s.workflows.caller(id).await?,
            None => None,
        };
        let checkable = known
            .as_ref()
            .is_some_and(|a| a.locked.is_none() && by_name <= s.config.lock_after_failures);
        let check = match (account_id, checkable) {
            (Some(id), true) => s.workflows.check_credentials(id, password).await?,
            _ => {
                s.workflows.check_nothing(password).await?;
                PasswordCheck::NoCredential
            }
        };
        Ok(match check {
            PasswordCheck::Match { .. } => known,
            _ => None,
        })
    }

    /// Records a failure, locks the account once it has failed too often (HY 5.1),
    /// and slows the next guess down: the delay doubles per failure in the window.
    async fn failed(
        &self,
        s: &AppState,
        account_id: Option<&str>,
        by_name: u32,
        by_client: u32,
    ) -> ApiResult<()> {
        let cfg = &s.config;
        s.sessions.record(&self.attempt(
            "login-failed",
            account_id,
            format!("{by_name} failures for this name, {by_client} from this address"),
        ));
        if let Some(id) = account_id
            && by_name >= cfg.lock_after_failures
        {
            let note = format!("{by_name} failed logins (HY 5.1)");
            if s.workflows.lock_for_security(id, &note).await?.is_some() {
                s.sessions
                    .revoke_account(id, self.now)
                    .map_err(Problem::from)?;
                s.sessions
                    .record(&self.attempt("account-locked", Some(id), note.clone()));
            }
        }
        let exp = by_name.max(by_client).saturating_sub(1).min(5);
        tokio::time::sleep(cfg.failure_delay * 2u32.pow(exp)).await;
        Ok(())
    }
}

/// Ends the session of the token presented.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "sessions",
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    State(s): State<Arc<AppState>>,
    PendingCaller(c): PendingCaller,
) -> ApiResult<StatusCode> {
    s.sessions
        .revoke(&c.token_hash, s.now())
        .map_err(Problem::from)?;
    Ok(StatusCode::NO_CONTENT)
}

//! RFC 9457 problem details: every refusal and failure the API returns.
//!
//! The `type` is a URN naming the rule, `urn:hoso:problem:<family>:<code>`,
//! stable across releases so that a portal can branch on it; `citation`
//! names the regulation article where one applies. Internal failures (the
//! store, the read model) are logged with the request id and answered with
//! a generic problem: no internal detail leaves the server. A failure of the
//! storage itself (disk full, I/O error, the log's backend unreachable) is not
//! a fault of the request: it is `503 storage:unavailable` with `Retry-After`,
//! and `/readyz` says not ready until a write succeeds again.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoso_commands::workflows::{AccessRule, BatchRule, CommandError, ScopeRule};
use hoso_projections::ProjectionError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem (RFC 9457, `application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URN of the rule or failure, `urn:hoso:problem:<family>:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened in this case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The regulation article behind the rule, e.g. `HY 10.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// Stream of the aggregate the refusal is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// That stream's revision when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// For `ledger:untrusted`: the global position of the first event that failed
    /// verification (a missing tail names its first missing position).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// For `input:*`: where the refused value is, a JSON pointer into the body
    /// (RFC 6901) or `query:<name>` / `path:<name>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl Problem {
    /// A problem of `family:code` with a status and detail.
    pub fn new(status: StatusCode, family: &str, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("urn:hoso:problem:{family}:{code}"),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            citation: None,
            stream: None,
            revision: None,
            position: None,
            pointer: None,
        }
    }

    /// 503: the node found its log damaged and no longer trusts it, so it refuses to
    /// serve from it or write to it until an operator restores a verified backup.
    pub fn untrusted(position: Option<u64>) -> Self {
        let at = position.map_or_else(String::new, |p| format!(" at position {p}"));
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ledger",
            "untrusted",
            format!(
                "the ledger failed verification{at}; this node refuses reads and writes until an operator restores a verified backup"
            ),
        );
        p.position = position;
        p
    }

    /// 503: the storage failed (disk full, I/O error, the log's backend
    /// unreachable); the same request may succeed later. The cause is logged,
    /// never sent.
    pub fn storage_unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "storage failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage",
            "unavailable",
            "the server's storage failed (full or unreadable); nothing of this request was kept; retry later",
        )
    }

    /// A failure no rule explains: [`Problem::storage_unavailable`] when its cause
    /// (anywhere in its chain of sources) is the storage failing, else
    /// [`Problem::internal`].
    pub fn failure(e: &(dyn std::error::Error + 'static)) -> Self {
        if is_storage_failure(e) {
            Self::storage_unavailable(&e)
        } else {
            Self::internal(&e)
        }
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "request", code, detail)
    }

    /// 404: no such thing, or outside the caller's scope (the two look the
    /// same on purpose).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "request",
            "not-found",
            format!("no {what} with that identifier is visible to you"),
        )
    }

    /// 401: no valid session.
    pub fn unauthenticated(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "session", code, detail)
    }

    /// 500 without detail; the cause is logged, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failure",
            "internal",
            "the server failed; the failure is logged with this request's id",
        )
    }

    /// With a citation.
    pub fn cite(mut self, citation: Option<&str>) -> Self {
        self.citation = citation.map(str::to_owned);
        self
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The `type` of a storage failure.
pub const STORAGE_UNAVAILABLE: &str = "urn:hoso:problem:storage:unavailable";

/// Seconds a client is asked to wait after a storage failure: long enough for an
/// operator's clean-up or a backend's restart not to be hammered, short enough
/// for a portal to retry while its user waits.
const STORAGE_RETRY_AFTER: &str = "30";

/// Marks an answer that a storage failure caused, so `/readyz` learns of it
/// (`crate::trust::gate` records it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StorageFailed;

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let storage = self.type_ == STORAGE_UNAVAILABLE;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if storage {
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(STORAGE_RETRY_AFTER),
            );
            r.extensions_mut().insert(StorageFailed);
        }
        r
    }
}

/// Whether `e`, or any error it was caused by, is the storage failing rather than
/// a rule or a bug: the log's failure kinds (I/O, its backend, a closed writer),
/// SQLite's full disk, I/O error or unopenable file, or the operating system's
/// "no space" / "I/O error" / "read-only file system".
pub fn is_storage_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    use hoso_ledger::StoreError;
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(s) = c.downcast_ref::<StoreError>() {
            match s {
                StoreError::Io { .. }
                | StoreError::Backend { .. }
                | StoreError::Closed
                | StoreError::ReadOnly => return true,
                StoreError::Sqlite { source, .. } => return sqlite_storage_failure(source),
                _ => return false,
            }
        }
        if let Some(s) = c.downcast_ref::<rusqlite::Error>() {
            return sqlite_storage_failure(s);
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return io_storage_failure(io);
        }
        if let Some(pg) = c.downcast_ref::<hoso_ledger::postgres::blocking::Error>() {
            return postgres_storage_failure(pg);
        }
        cause = c.source();
    }
    false
}

/// The shared database of a PostgreSQL deployment: a connection lost or refused,
/// or a server short of resources (SQLSTATE classes 08, 53, 57 and 58), is the
/// same for a caller as a local disk failing; a refused statement is a bug.
fn postgres_storage_failure(e: &hoso_ledger::postgres::blocking::Error) -> bool {
    use hoso_ledger::postgres::blocking::Error as E;
    match e {
        E::Postgres(_) => e.sqlstate().is_none_or(|code| {
            ["08", "53", "57", "58"]
                .iter()
                .any(|class| code.starts_with(class))
        }),
        E::Runtime(_) | E::Gone => true,
        E::Url(_) | E::PasswordInUrl => false,
    }
}

fn sqlite_storage_failure(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e.sqlite_error_code(),
        Some(
            C::DiskFull
                | C::SystemIoFailure
                | C::CannotOpen
                | C::ReadOnly
                | C::DatabaseBusy
                | C::DatabaseLocked
        )
    )
}

fn io_storage_failure(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    // EIO has no kind of its own.
    const EIO: i32 = 5;
    matches!(
        e.kind(),
        K::StorageFull | K::ReadOnlyFilesystem | K::QuotaExceeded
    ) || e.raw_os_error() == Some(EIO)
}

impl From<rusqlite::Error> for Problem {
    /// A local database (sessions, uploads) failed.
    fn from(e: rusqlite::Error) -> Self {
        Self::failure(&e)
    }
}

impl From<crate::sessions::SessionError> for Problem {
    /// The sessions' store (local file or shared database) failed.
    fn from(e: crate::sessions::SessionError) -> Self {
        Self::failure(&e)
    }
}

impl From<CommandError> for Problem {
    fn from(e: CommandError) -> Self {
        let status = match &e {
            CommandError::Access(r) => match r.rule {
                AccessRule::UnknownActor(_) | AccessRule::ActorLocked { .. } => {
                    StatusCode::UNAUTHORIZED
                }
                _ => StatusCode::FORBIDDEN,
            },
            CommandError::Scope(r) => match r.rule {
                ScopeRule::UnknownUnit(_) | ScopeRule::UnknownAccount(_) => StatusCode::NOT_FOUND,
                ScopeRule::PersonIdTaken(_)
                | ScopeRule::PersonalAccountTaken(_)
                | ScopeRule::UsernameTaken(..) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            CommandError::Dossier(r)
                if matches!(r.rule, hoso_domain::dossier::DossierRule::NotOpened) =>
            {
                StatusCode::NOT_FOUND
            }
            CommandError::Org(_)
            | CommandError::Account(_)
            | CommandError::Dossier(_)
            | CommandError::Password(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CommandError::Sync(r) => match r.rule {
                BatchRule::NotDirector(_) | BatchRule::NotNationalSync(_) => StatusCode::FORBIDDEN,
                BatchRule::UnknownBatch(_)
                | BatchRule::UnknownMonth(_)
                | BatchRule::NoMonthToSign => StatusCode::NOT_FOUND,
                // The feed's mode, or what the log holds, decides; the
                // request cannot change that.
                BatchRule::SealedByConnection
                | BatchRule::NotContinuous
                | BatchRule::MonthAlreadySigned(_) => StatusCode::CONFLICT,
                // A batch is sealed once and acknowledged once: a second
                // attempt conflicts with what the log already holds.
                BatchRule::AlreadySealed { .. } | BatchRule::AlreadyAcknowledged { .. } => {
                    StatusCode::CONFLICT
                }
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            CommandError::Conflict { .. } => StatusCode::CONFLICT,
            CommandError::Store(hoso_ledger::StoreError::Poisoned { position, .. }) => {
                return Self::untrusted(*position);
            }
            _ => return Self::failure(&e),
        };
        let (stream, revision) = match &e {
            CommandError::Access(r) => (r.stream.clone(), r.revision),
            CommandError::Scope(r) => (r.stream.clone(), r.revision),
            CommandError::Dossier(r) => (Some(format!("dossier-{}", r.dossier)), r.revision),
            CommandError::Account(r) => (Some(format!("account-{}", r.account)), r.revision),
            CommandError::Conflict { stream, actual, .. } => (Some(stream.clone()), *actual),
            CommandError::Sync(r) => (r.stream.clone(), r.revision),
            _ => (None, None),
        };
        // A uniqueness refusal must not name the holder: the dossier or
        // account may be outside the caller's scope.
        let detail = match &e {
            CommandError::Scope(r) => match &r.rule {
                ScopeRule::PersonIdTaken(_) => {
                    "this identification number already has a dossier in the province".to_owned()
                }
                ScopeRule::PersonalAccountTaken(_) => {
                    "this person already has a personal account (HY 4.5)".to_owned()
                }
                ScopeRule::UsernameTaken(name, _) => format!("username {name:?} is taken"),
                _ => e.to_string(),
            },
            _ => e.to_string(),
        };
        Self {
            stream,
            revision,
            ..Self::new(status, e.family(), e.code(), detail).cite(e.citation().as_deref())
        }
    }
}

impl From<ProjectionError> for Problem {
    fn from(e: ProjectionError) -> Self {
        match e {
            ProjectionError::BadQuery(q) => Self::bad_request("bad-query", q),
            ProjectionError::Timeout { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "read",
                "wait-timeout",
                e.to_string(),
            ),
            ProjectionError::Chain(v) => Self::untrusted(Some(v.position)),
            ProjectionError::Store(hoso_ledger::StoreError::Poisoned { position, .. }) => {
                Self::untrusted(position)
            }
            other => Self::failure(&other),
        }
    }
}

impl From<hoso_commands::sealing::SealError> for Problem {
    fn from(e: hoso_commands::sealing::SealError) -> Self {
        // A missing key file is the operator's to fix; say so plainly in
        // the log, and only that decryption is unavailable to the caller.
        tracing::error!(error = %e, "field decryption failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "sealing",
            e.code(),
            "restricted fields cannot be decrypted on this server now",
        )
    }
}

impl From<crate::attachments::AttachmentError> for Problem {
    fn from(e: crate::attachments::AttachmentError) -> Self {
        use crate::attachments::AttachmentError as E;
        match e {
            E::NotUploaded { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachment",
                "not-uploaded",
                format!(
                    "{e}: upload the document to this dossier first (POST /dossiers/{{id}}/attachments)"
                ),
            ),
            E::QuotaExceeded { .. } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "attachment",
                "quota-exceeded",
                format!(
                    "{e}; cite your uploads in a declaration or decision, or wait for the uncited ones to be removed"
                ),
            ),
            E::Sealing(s) => s.into(),
            other => Self::failure(&other),
        }
    }
}

impl From<hoso_projections::exchange_in::IncomingError> for Problem {
    /// A national record that cannot be read as an import: 422
    /// `exchange:<code>`, the detail naming the key, section or field.
    fn from(e: hoso_projections::exchange_in::IncomingError) -> Self {
        use hoso_projections::exchange_in::IncomingError as E;
        let pointer = match &e {
            E::IdentificationWithheld => Some("/record/identification_number".to_owned()),
            E::UnknownSection(s) => Some(format!("/record/sections/{}", pointer_token(s))),
            E::Format { .. } => Some("/record/format".to_owned()),
            E::UnknownCategory(_) => Some("/record/category".to_owned()),
            _ => None,
        };
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "exchange",
            e.code(),
            e.to_string(),
        )
        .cite(Some("BT 11.1, HY 11.2"));
        p.pointer = pointer;
        p
    }
}

/// One JSON pointer reference token (RFC 6901 escapes).
fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, Problem>;

#[cfg(test)]
mod tests {
    use super::*;
    use hoso_commands::workflows::Refusal;

    fn sync(rule: BatchRule) -> Problem {
        Problem::from(CommandError::Sync(Refusal {
            stream: Some("sync-3".to_owned()),
            revision: Some(0),
            rule,
        }))
    }

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_full_disk_or_an_io_error_is_a_503_storage_problem_with_retry_after_not_a_500() {
        use hoso_ledger::StoreError;
        let full = || sqlite(rusqlite::ffi::SQLITE_FULL);
        for p in [
            Problem::from(full()),
            Problem::from(sqlite(rusqlite::ffi::SQLITE_IOERR)),
            Problem::from(ProjectionError::Sqlite(full())),
            Problem::from(CommandError::Store(StoreError::Backend {
                detail: "group commit failed".into(),
            })),
            Problem::from(CommandError::Store(StoreError::Sqlite {
                context: "commit",
                source: full(),
            })),
            Problem::from(crate::attachments::AttachmentError::Io {
                path: "/d/attachments/x".into(),
                source: std::io::Error::from(std::io::ErrorKind::StorageFull),
            }),
        ] {
            assert_eq!(p.status, 503, "{p:?}");
            assert_eq!(p.type_, STORAGE_UNAVAILABLE);
            let r = p.into_response();
            assert_eq!(r.headers()[header::RETRY_AFTER], STORAGE_RETRY_AFTER);
            assert!(r.extensions().get::<StorageFailed>().is_some());
        }
        // A failure that is not the storage's stays a generic 500, unmarked.
        let p = Problem::from(sqlite(rusqlite::ffi::SQLITE_CONSTRAINT));
        assert_eq!(p.status, 500);
        let r = p.into_response();
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
        assert!(r.extensions().get::<StorageFailed>().is_none());
    }

    #[test]
    fn a_record_that_cannot_be_imported_is_a_422_exchange_problem_naming_it() {
        use hoso_projections::exchange_in::IncomingError as E;
        let p = Problem::from(E::UnknownField {
            section: "identity".into(),
            field: "nickname".into(),
        });
        assert_eq!(p.status, 422);
        assert_eq!(p.type_, "urn:hoso:problem:exchange:unknown-field");
        assert!(
            p.detail
                .as_deref()
                .is_some_and(|d| d.contains("identity/nickname"))
        );
        let p = Problem::from(E::IdentificationWithheld);
        assert_eq!(p.type_, "urn:hoso:problem:exchange:identification-withheld");
        assert_eq!(p.pointer.as_deref(), Some("/record/identification_number"));
        let p = Problem::from(E::UnknownSection("a/b~c".into()));
        assert_eq!(p.pointer.as_deref(), Some("/record/sections/a~1b~0c"));
    }

    #[test]
    fn a_refused_seal_or_acknowledgement_is_a_sync_problem_never_a_500() {
        for (rule, status) in [
            (BatchRule::NotDirector("a".into()), 403),
            (BatchRule::NotNationalSync("a".into()), 403),
            (BatchRule::UnknownBatch(9), 404),
            (
                BatchRule::AlreadySealed {
                    sequence: 3,
                    month: "2026-02".into(),
                },
                409,
            ),
            (
                BatchRule::AlreadyAcknowledged {
                    sequence: 3,
                    receipt: "r-1".into(),
                },
                409,
            ),
            (BatchRule::BadReceipt, 422),
            (BatchRule::SealedByConnection, 409),
            (BatchRule::NotContinuous, 409),
            (BatchRule::MonthAlreadySigned("2026-07".into()), 409),
            (BatchRule::UnknownMonth("2026-07".into()), 404),
            (BatchRule::NothingToSeal, 422),
            (
                BatchRule::NotNextBatch {
                    expected: 4,
                    found: 5,
                },
                422,
            ),
        ] {
            let code = rule.code();
            let p = sync(rule);
            assert_eq!(p.status, status, "{code}");
            assert_eq!(p.type_, format!("urn:hoso:problem:sync:{code}"));
            assert_eq!(p.stream.as_deref(), Some("sync-3"));
        }
    }
}

//! Typed errors of the event store: one variant per rule or failure a caller may act on.

use std::path::PathBuf;

use uuid::Uuid;

use crate::envelope::ExpectedRevision;
use crate::verify::ChainViolation;

/// Everything an [`EventStore`](crate::EventStore) operation can refuse or fail with.
///
/// Rejections (the caller asked for something the rules forbid) are kept apart from
/// failures (the storage broke): see [`StoreError::is_rejection`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: another writer got there first.
    #[error("wrong expected revision on stream {stream}: expected {expected}, current {}", current.map_or_else(|| "no stream".to_owned(), |c| format!("revision {c}")))]
    WrongExpectedRevision {
        /// Stream written to.
        stream: String,
        /// What the writer expected.
        expected: ExpectedRevision,
        /// The stream's actual last revision.
        current: Option<u64>,
    },
    /// An event id is already stored, but not as an exact retry of this append.
    #[error(
        "event id {event_id} is already stored as {existing}; this append is not a retry of that one"
    )]
    DuplicateEventId {
        /// The clashing id.
        event_id: Uuid,
        /// Where it is stored (stream and revision).
        existing: String,
    },
    /// The append breaks a limit or carries malformed data.
    #[error("invalid append: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// The directory or file is not a hoso store.
    #[error("{}: not a hoso store: {reason}", path.display())]
    NotAStore {
        /// Path examined.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A store already exists where one was to be created.
    #[error("{}: a hoso store already exists here", path.display())]
    AlreadyExists {
        /// Path examined.
        path: PathBuf,
    },
    /// Stored data is damaged: unreadable pages, undecodable rows, or a broken hash chain.
    #[error("store corrupt{}: {detail}", position.map(|p| format!(" at position {p}")).unwrap_or_default())]
    Corrupt {
        /// Global position of the first damaged event, when known.
        position: Option<u64>,
        /// What was found.
        detail: String,
    },
    /// The hash chain does not verify.
    #[error(transparent)]
    Chain(#[from] ChainViolation),
    /// Corruption was detected earlier; the store refuses all writes until repaired.
    #[error("store refuses writes: corruption was detected earlier ({reason})")]
    Poisoned {
        /// Global position of the first damaged event, when known.
        position: Option<u64>,
        /// The first corruption detected.
        reason: String,
    },
    /// The store was opened read-only.
    #[error("store is open read-only")]
    ReadOnly,
    /// The store was closed or its writer stopped.
    #[error("store is closed")]
    Closed,
    /// A file-system operation failed.
    #[error("{}: {action}", path.display())]
    Io {
        /// What was attempted.
        action: &'static str,
        /// Path involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite failed for a reason other than corruption.
    #[error("sqlite: {context}")]
    Sqlite {
        /// What was attempted.
        context: &'static str,
        /// Underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The remote backend failed or was unreachable.
    #[error("backend: {detail}")]
    Backend {
        /// What failed.
        detail: String,
    },
}

impl StoreError {
    /// True when the rules refused the request (retrying the same request cannot succeed
    /// without a change), false when storage failed.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Self::WrongExpectedRevision { .. }
                | Self::DuplicateEventId { .. }
                | Self::InvalidInput { .. }
        )
    }

    /// True when the error reveals damaged data, which must stop all further writes.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Self::Corrupt { .. } | Self::Chain(_))
    }
}

/// The first damage found in a log: why the store stopped trusting it. Kept for the
/// life of the store and, for a writable SQLite store, in its corruption marker file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Damage {
    /// Global position of the first bad event, when the damage has one (a missing tail
    /// names the first missing position).
    pub position: Option<u64>,
    /// What was found, in words.
    pub detail: String,
}

impl Damage {
    /// Damage with no position (e.g. an unreadable page).
    pub fn new(position: Option<u64>, detail: impl Into<String>) -> Self {
        Self {
            position,
            detail: detail.into(),
        }
    }

    /// The refusal a write gets from a store holding this damage.
    pub fn refusal(&self) -> StoreError {
        StoreError::Poisoned {
            position: self.position,
            reason: self.detail.clone(),
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl From<&StoreError> for Damage {
    fn from(e: &StoreError) -> Self {
        let position = match e {
            StoreError::Corrupt { position, .. } | StoreError::Poisoned { position, .. } => {
                *position
            }
            StoreError::Chain(v) => Some(v.position),
            _ => None,
        };
        Self::new(position, e.to_string())
    }
}

impl From<&ChainViolation> for Damage {
    fn from(v: &ChainViolation) -> Self {
        Self::new(Some(v.position), v.to_string())
    }
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

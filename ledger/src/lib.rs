//! The hoso ledger: an append-only, per-stream hash-chained event log behind one
//! [`EventStore`] trait, with an embedded SQLite backend (the default), and a
//! PostgreSQL and a KurrentDB backend for clustered deployments.
//!
//! Start reading at [`store::EventStore`], then [`envelope`] for what is hashed and
//! [`sqlite`] for how an append becomes durable.

pub mod checkpoint;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod envelope;
pub mod error;
mod feed;
#[cfg(feature = "kurrentdb")]
pub mod kurrent;
pub mod ledger_keys;
pub mod merkle;
#[cfg(feature = "postgres")]
pub mod postgres;
mod retry;
pub mod sealer;
pub mod sqlite;
pub mod store;
pub mod tree;
pub mod typed;
pub mod verify;

pub use checkpoint::{HeadReason, KeyId, SignedTreeHead, TreeHead};
pub use clock::TimeSource;
pub use envelope::{ExpectedRevision, GENESIS_HASH, Hash, NewEvent, RecordedEvent, SourceDocument};
pub use error::{Damage, StoreError, StoreResult};
#[cfg(feature = "kurrentdb")]
pub use kurrent::KurrentStore;
pub use ledger_keys::{KeyState, LedgerKeyError, LedgerKeyInfo, LedgerKeyRing};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::{
    AppendResult, Direction, EventFeed, EventStore, PageObserver, StoreOptions, StreamFrom,
};
pub use verify::{ChainVerifier, ChainViolation, VerifyReport, ViolationKind};

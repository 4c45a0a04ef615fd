//! The command handlers of hoso: load the aggregates a command touches from the
//! store, check who may do it, let the pure deciders of `hoso-domain` decide, seal
//! what must be sealed, append with optimistic concurrency, and carry out the
//! follow-on events other aggregates need.
//!
//! - [`workflows`]: the façade, [`workflows::Workflows`], and the vocabulary of
//!   commands, receipts and errors callers import.
//! - [`error`]: why a command did not run.
//! - [`index`]: the in-memory index of who holds what, caught up from `$all`.
//! - [`authz`]: one answer to each authorisation question (rights, approval
//!   authority, delegations, read grounds).
//! - [`execute`]: the one path a command runs, and the lock order.
//! - [`handlers`]: the commands, by aggregate (dossier, org, account).
//! - [`credentials`]: DT 10 password rules and the argon2id credential table kept
//!   outside the log.
//! - [`sealing`]: the field keys and per-dossier data keys that seal restricted
//!   fields before they reach the log.
//! - [`identifiers`]: identification numbers sealed in every event that names a
//!   person, and looked up by their keyed hash (the person key).

pub mod authz;
pub mod connection_key;
pub mod credentials;
pub mod error;
pub mod execute;
pub mod handlers;
pub mod identifiers;
pub mod index;
pub mod sealing;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod workflows;

use std::sync::Arc;

use hoso_domain::clock::Clock;
use hoso_ledger::TimeSource;

/// The ledger's time source reading the same clock the rules read, so a pinned clock
/// pins `recorded_at` too.
pub fn ledger_time(clock: Arc<dyn Clock>) -> TimeSource {
    TimeSource::from_fn(move || clock.now())
}

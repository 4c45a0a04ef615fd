//! The command handlers of hoso: load the aggregates a command touches from the
//! store, check who may do it, let the pure deciders of `hoso-domain` decide, seal
//! what must be sealed, append with optimistic concurrency, and carry out the
//! follow-on events other aggregates need.
//!
//! - [`workflows`]: the handlers and the index of who holds what they consult.
//! - [`credentials`]: DT 10 password rules and the argon2id credential table kept
//!   outside the log.
//! - [`sealing`]: the field keys and per-dossier data keys that seal restricted
//!   fields before they reach the log.

pub mod credentials;
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

//! Where the ledger takes transaction time (`recorded_at`) from.
//!
//! The clock abstraction of the product lives in the domain crate, above this one;
//! the ledger only needs "now" and so takes it as a function. The binary hands it the
//! same clock the rules use, tests hand it a stopped one.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A source of transaction time for appends.
#[derive(Clone)]
pub struct TimeSource(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl TimeSource {
    /// The operating system's clock.
    pub fn system() -> Self {
        // The one place of this crate that reads the system time; everything else is
        // stamped through a `TimeSource`.
        #[allow(clippy::disallowed_methods)]
        Self(Arc::new(Utc::now))
    }

    /// Time from any function, e.g. an injected clock's `now`.
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for TimeSource {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for TimeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimeSource")
    }
}

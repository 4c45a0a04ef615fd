//! The story's clock, moved day by day, and the running of many commands at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use hoso_domain::clock::{Clock, ManualClock};

use super::CONCURRENCY;
use crate::progress::Progress;

/// The clock the handlers and the store read, moved day by day as the story goes.
pub(super) struct Story {
    pub(super) clock: Arc<ManualClock>,
    /// When the last line was said, to show how long each step took.
    pub(super) last: std::cell::Cell<Instant>,
}

/// 10:00 in Hà Nội on `d`.
pub(super) fn ten_am(d: NaiveDate) -> anyhow::Result<chrono::DateTime<Utc>> {
    d.and_hms_opt(3, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t))
        .context("date out of range")
}

impl Story {
    pub(super) fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            clock,
            last: std::cell::Cell::new(Instant::now()),
        }
    }

    /// Moves the clock to 10:00 in Hà Nội on `d`; the story never goes back in time.
    pub(super) fn set(&self, d: NaiveDate) -> anyhow::Result<()> {
        let at = ten_am(d)?;
        let now = self.clock.now();
        anyhow::ensure!(
            at >= now,
            "the demo's clock would go back from {now} to {at}"
        );
        self.clock.set(at);
        Ok(())
    }

    pub(super) fn today(&self) -> NaiveDate {
        hoso_domain::calendar::date_in_vietnam(self.clock.now())
    }

    pub(super) fn say(&self, what: String) {
        println!(
            "  {}  {what} [{:.1} s]",
            self.today().format("%a %d/%m/%Y"),
            self.last.get().elapsed().as_secs_f64()
        );
        self.last.set(Instant::now());
    }
}

// ===== running many commands at once ==============================================================

/// Runs `f` over `items`, [`CONCURRENCY`] at a time on the runtime's threads, with
/// progress; results in the order of `items`. The first failure ends the run.
pub(super) async fn each<C, T, R, F, Fut>(
    what: &str,
    ctx: &Arc<C>,
    items: Vec<T>,
    f: F,
) -> anyhow::Result<Vec<R>>
where
    C: Send + Sync + 'static,
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Arc<C>, T) -> Fut,
    Fut: Future<Output = anyhow::Result<R>> + Send + 'static,
{
    let progress = Progress::new(what, items.len() as u64);
    let mut out = Vec::with_capacity(items.len());
    let mut tasks =
        futures::stream::iter(items.into_iter().map(|t| tokio::spawn(f(ctx.clone(), t))))
            .buffered(CONCURRENCY);
    while let Some(joined) = tasks.next().await {
        out.push(joined.with_context(|| format!("a {what} task panicked"))??);
        progress.set(out.len() as u64);
    }
    progress.finish();
    Ok(out)
}

/// Runs a command that hashes a password to completion on this thread. The
/// credential table computes argon2id (tens of milliseconds of CPU) inside the async
/// handler; `block_in_place` tells the runtime, which hands the other tasks queued
/// on this worker to another one instead of letting them wait behind the hash.
pub(super) fn hashing<F: Future>(command: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(command))
}

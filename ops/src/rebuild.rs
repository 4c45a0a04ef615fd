//! `hoso rebuild`: the read model thrown away and built again from the log,
//! with every hash chain verified on the way and progress (events/s, ETA)
//! shown. The old read model stays in place until the new one is complete.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hoso_api::access::KeyringSealer;
use hoso_domain::clock::SystemClock;
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;

use crate::data_dir::{DataDir, Keys};
use crate::progress::Progress;

/// Rebuilds the read model of `data`, caching within `cache_mib` MiB.
pub async fn run(data: &Path, cache_mib: usize) -> anyhow::Result<()> {
    let dir = DataDir::new(data);
    let store = dir.on(Arc::new(SystemClock)).open_store()?;
    let total = store.head_position().await?.map_or(0, |h| h + 1);
    let progress = Progress::new("rebuilding", total);
    let started = Instant::now();
    // The operator's command runs now: "today" is the system's.
    let clock = std::sync::Arc::new(hoso_domain::clock::SystemClock);
    // Numbers written in clear by older versions are sealed on the way in.
    let sealer = Arc::new(KeyringSealer(Arc::new(dir.keyring(Keys::Open)?)));
    let (model, report) = ReadModel::rebuild_within(
        data,
        &store,
        clock,
        sealer,
        cache_mib.saturating_mul(1 << 20),
        &|n| progress.set(n),
    )
    .await
    .context("rebuilding the read model")?;
    progress.finish();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rebuilt the read model from {} events in {} streams in {secs:.1} s ({:.0} events/s, caches within {cache_mib} MiB); every hash chain verified",
        report.events,
        report.streams,
        report.events as f64 / secs.max(1e-9)
    );
    println!(
        "read model: {} (projection version {}), next position {}",
        dir.read_model_file().display(),
        hoso_projections::PROJECTION_VERSION,
        model.next_position()
    );
    Ok(())
}

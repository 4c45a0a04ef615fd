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
    let store = open_store(&dir, cache_mib)?;
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

/// The log of `dir` opened for a rebuild within `cache_mib` MiB: its readers map
/// no more of it than the rebuild's share ([`hoso_projections::rebuild_map_bytes`]),
/// so that reading it whole does not make the whole file resident in this process.
fn open_store(dir: &DataDir, cache_mib: usize) -> anyhow::Result<hoso_ledger::SqliteStore> {
    dir.on(Arc::new(SystemClock))
        .mapping_at_most(hoso_projections::rebuild_map_bytes(
            cache_mib.saturating_mul(1 << 20),
        ))
        .open_store()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_rebuild_maps_no_more_of_the_log_or_the_read_model_than_its_share() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::self_contained(tmp.path());
        drop(dir.on(Arc::new(SystemClock)).create_store().unwrap());
        let store = open_store(&dir, 256).unwrap();
        let share = 64 << 20;
        assert_eq!(hoso_projections::rebuild_map_bytes(256 << 20), share);
        assert_eq!(store.reader_map_size().await.unwrap(), share);
        let sealer = Arc::new(KeyringSealer(Arc::new(
            dir.keyring(Keys::OpenOrCreate).unwrap(),
        )));
        let (model, _) = ReadModel::rebuild_within(
            tmp.path(),
            &store,
            Arc::new(SystemClock),
            sealer,
            256 << 20,
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(model.reader_map_size().unwrap(), share);
        // Any other opening keeps the large maps a server's reads want.
        drop((model, store));
        let served = dir.on(Arc::new(SystemClock)).open_store().unwrap();
        assert!(served.reader_map_size().await.unwrap() > 1 << 30);
    }
}

//! `hoso bench backup`: `hoso backup` of a province-sized log (the rebuild bench's
//! generated province, kept between runs) while its store is open, then `hoso restore`
//! of that backup with every check (manifest digests, every hash chain, the read model
//! rebuilt), beside a plain read-model rebuild of the same log in the same sitting.
//! Targets (issue 17): a backup of 5 M events within 30 s; a restore within 1.5× the
//! rebuild.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hoso_api::access::KeyringSealer;
use hoso_domain::clock::{Clock, SystemClock};
use hoso_domain::profile::{BackupKind, Profile};
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;

use crate::data_dir::{DataDir, Keys};
use crate::progress::Progress;

/// What to measure.
pub struct Options {
    /// Data directory of the log (generated there if it holds none).
    pub data: Option<PathBuf>,
    /// People in the generated province (about 55 events each).
    pub people: u64,
    /// Seed of the generated log.
    pub seed: u64,
    /// Rounds; the medians are reported.
    pub rounds: usize,
    /// Print one JSON object as the last line.
    pub json: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs the benchmark.
pub async fn run(o: Options) -> anyhow::Result<()> {
    let (dir, store, keyring) =
        super::rebuild::open_or_generate(o.data, o.people, o.seed, None).await?;
    let events = store.head_position().await?.map_or(0, |h| h + 1);
    // What `hoso init` writes beside the log, so the directory backs up as a node's.
    let data = DataDir::self_contained(&dir);
    if !data.settings_file().exists() {
        data.write_settings(&Profile::load("national")?, "hoso bench backup")?;
    }
    let now = SystemClock.now();
    data.ledger_keys(Keys::OpenOrCreate, now)?;
    data.connection_key(Keys::OpenOrCreate, now)?;
    let keys_dir = tempfile::tempdir()?;
    let keys = keys_dir.path().join("keys.json");
    crate::backup::export_keys(&dir, &keys, now)?;

    let dest = dir.with_file_name(format!(
        "{}-backups",
        dir.file_name()
            .map_or_else(|| "bench".into(), |n| n.to_string_lossy().into_owned())
    ));
    let target = dir.with_file_name(format!(
        "{}-restored",
        dir.file_name()
            .map_or_else(|| "bench".into(), |n| n.to_string_lossy().into_owned())
    ));
    let (mut backups, mut restores, mut rebuilds) = (Vec::new(), Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..o.rounds.max(1) {
        for d in [&dest, &target] {
            if d.exists() {
                std::fs::remove_dir_all(d)?;
            }
        }
        // The store stays open (its lock held), as under a serving node.
        let started = Instant::now();
        let copy =
            crate::backup::backup(&dir, &dest, BackupKind::Manual, false, SystemClock.now())?;
        backups.push(started.elapsed().as_secs_f64());
        bytes = crate::backup::Manifest::read(&copy)?
            .files
            .iter()
            .map(|f| f.size)
            .sum::<u64>();

        let started = Instant::now();
        crate::restore::run(&crate::restore::RestoreArgs {
            from: &copy,
            data: &target,
            keys: Some(&keys),
            published_head: None,
            accept_rollback: None,
        })
        .await?;
        restores.push(started.elapsed().as_secs_f64());

        let model_dir = dir.join("bench-readmodel");
        std::fs::create_dir_all(&model_dir)?;
        let progress = Progress::new("rebuilding", events);
        let started = Instant::now();
        ReadModel::rebuild(
            &model_dir,
            store.as_ref(),
            Arc::new(SystemClock),
            Arc::new(KeyringSealer(keyring.clone())),
            &|n| progress.set(n),
        )
        .await?;
        rebuilds.push(started.elapsed().as_secs_f64());
        progress.finish();
    }
    for d in [&dest, &target] {
        if d.exists() {
            std::fs::remove_dir_all(d)?;
        }
    }
    let (b, r, rb) = (median(backups), median(restores), median(rebuilds));
    let per_event_us = |s: f64| s * 1e6 / events.max(1) as f64;
    println!(
        "backup of {events} events ({:.0} MiB): {b:.1} s ({:.2} µs/event, {:.0} MiB/s); restore with verification and read model: {r:.1} s ({:.2} µs/event); rebuild alone: {rb:.1} s; restore / rebuild = {:.2} (medians of {})",
        bytes as f64 / 1_048_576.0,
        per_event_us(b),
        bytes as f64 / 1_048_576.0 / b.max(1e-9),
        per_event_us(r),
        r / rb.max(1e-9),
        o.rounds.max(1)
    );
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "backup",
                "events": events,
                "bytes": bytes,
                "backup_s": b,
                "restore_s": r,
                "rebuild_s": rb,
                "restore_over_rebuild": r / rb.max(1e-9),
                "rounds": o.rounds.max(1),
            })
        );
    }
    Ok(())
}

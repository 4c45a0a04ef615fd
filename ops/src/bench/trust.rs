//! `hoso bench checkpoint` and `hoso bench open`: what the sealer costs — signed tree
//! heads against plain appends, and the verification at open against a plain
//! verified read of the same log — each pair measured in one sitting, because this
//! machine's speed drifts between sittings and only ratios taken together mean much.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hoso_domain::clock::{Clock, SystemClock};
use hoso_ledger::checkpoint::HEAD_FILE;
use hoso_ledger::ledger_keys::LEDGER_KEY_FILE;
use hoso_ledger::sealer::{CheckpointPolicy, Sealer, SealerFiles};
use hoso_ledger::tree::{MerkleTree, TREE_FILE};
use hoso_ledger::{EventStore, LedgerKeyRing, SqliteStore};

use super::{AppendShape, Target, append_on, generate, store_at};

/// Options of `bench checkpoint`.
pub struct CheckpointOptions {
    pub events: u64,
    pub rounds: usize,
    pub writers: usize,
    pub every_events: u64,
    pub json: bool,
}

fn sealer_files(dir: &Path) -> SealerFiles {
    SealerFiles {
        tree: dir.join(TREE_FILE),
        head: dir.join(HEAD_FILE),
    }
}

async fn open_sealer(
    dir: &Path,
    store: &SqliteStore,
    policy: CheckpointPolicy,
) -> anyhow::Result<(Arc<Sealer>, hoso_ledger::sealer::OpenReport)> {
    let now = SystemClock.now();
    let keys = LedgerKeyRing::open_or_create(&dir.join(LEDGER_KEY_FILE), now)?;
    Ok(Sealer::open(
        Arc::new(store.clone()),
        sealer_files(dir),
        keys,
        hoso_commands::ledger_time(Arc::new(SystemClock)),
        policy,
        false,
        &|_| (),
    )
    .await?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Rounds of appends alternated between two logs in one sitting: one that no sealer
/// follows, one whose sealer runs throughout (a log must not be written without its
/// sealer once it has signed a shutdown head: the next open would refuse it).
pub async fn checkpoint(o: CheckpointOptions) -> anyhow::Result<()> {
    anyhow::ensure!(o.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(o.every_events > 0, "--every-events must be at least 1");
    let plain = store_at(None)?;
    let sealed = store_at(None)?;
    let dir = sealed
        .store
        .path()
        .parent()
        .context("the bench ledger has a directory")?
        .to_owned();
    let shape = AppendShape {
        events: o.events,
        writers: o.writers,
        payload_bytes: 600,
        streams_per_writer: 64,
    };
    let policy = CheckpointPolicy {
        every_events: o.every_events,
        every: Duration::from_secs(60),
    };
    let (sealer, _) = open_sealer(&dir, &sealed.store, policy).await?;
    let first = sealer.latest().map_or(0, |h| h.head.tree_size);
    let running = tokio::spawn(sealer.clone().run());
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for round in 0..o.rounds {
        // Alternate which goes first, so neither always runs on the other's heels.
        if round % 2 == 0 {
            off.push(append_on(&plain.store, &shape).await?.events_per_s);
            on.push(append_on(&sealed.store, &shape).await?.events_per_s);
        } else {
            on.push(append_on(&sealed.store, &shape).await?.events_per_s);
            off.push(append_on(&plain.store, &shape).await?.events_per_s);
        }
        println!(
            "round {}: {:.0} events/s without, {:.0} with checkpoints",
            round + 1,
            off[round],
            on[round]
        );
    }
    let last = sealer
        .shutdown()
        .await?
        .context("the bench ledger became untrusted")?;
    running.await.context("sealer task")??;
    let heads = sealed
        .store
        .read_stream(
            hoso_ledger::checkpoint::CHECKPOINT_STREAM,
            hoso_ledger::StreamFrom::Start,
            hoso_ledger::Direction::Forwards,
            usize::MAX,
        )
        .await?
        .len();
    let (without, with) = (median(off), median(on));
    let cost = 1.0 - with / without;
    println!(
        "checkpoint: {} events a round, {} writers, a signed tree head every {} events: median {without:.0} events/s without, {with:.0} with ({:.1} % cost; {heads} heads signed over {} events)",
        o.events,
        o.writers,
        o.every_events,
        cost * 100.0,
        last.head.tree_size - first
    );
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "checkpoint", "events": o.events, "rounds": o.rounds, "writers": o.writers,
                "every_events": o.every_events, "without_events_per_s": without,
                "with_events_per_s": with, "cost": cost, "heads": heads,
            })
        );
    }
    Ok(())
}

/// Opening after `events` new events (against `bench read` of the same log), then
/// after none.
pub async fn open(events: u64, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(events > 0, "--events must be at least 1");
    let Target { store, _tmp, .. } = store_at(None)?;
    let dir = store
        .path()
        .parent()
        .context("the bench ledger has a directory")?
        .to_owned();
    generate(&store, events).await?;

    // A plain verified read of the whole log (what `bench read` measures).
    let started = Instant::now();
    let read = store.verify_all(&|_| ()).await?;
    let read_s = started.elapsed().as_secs_f64();

    // First open: no tree yet, so every event is new to it.
    let started = Instant::now();
    let (sealer, report) = open_sealer(&dir, &store, CheckpointPolicy::default()).await?;
    let first_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.damage.is_none(), "{:?}", report.damage);
    sealer.shutdown().await?;
    drop(sealer);

    // Again, with nothing new (the shutdown head's own event only), several times.
    let mut again = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (sealer, report) = open_sealer(&dir, &store, CheckpointPolicy::default()).await?;
        again.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(report.damage.is_none(), "{:?}", report.damage);
        sealer.shutdown().await?;
    }
    let again_ms = median(again) * 1000.0;
    let tree = MerkleTree::open_or_create(&dir.join(TREE_FILE))?;
    println!(
        "open: {} events verified and added to the tree in {first_s:.2} s ({:.2}x `bench read` of the same log, {read_s:.2} s); \
         opening again with none new: median {again_ms:.1} ms (tree of {} leaves)",
        read.events,
        first_s / read_s,
        tree.len()
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "open", "events": read.events, "read_s": read_s, "first_open_s": first_s,
                "ratio": first_s / read_s, "reopen_ms": again_ms,
            })
        );
    }
    Ok(())
}

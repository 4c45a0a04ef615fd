//! A node's trust in its log, as the binary sets it up: the sealer opened over the
//! data directory (verifying what is new since the last run, checking the log against
//! the latest signed tree head), what it found said plainly, and the background scrub
//! that re-verifies the whole log after the node has started serving.

use std::sync::Arc;
use std::time::Duration;

use hoso_ledger::EventStore;
use hoso_ledger::sealer::{CheckpointPolicy, OpenReport, Sealer, SealerFiles};
use hoso_ledger::tree::TREE_FILE;

use crate::data_dir::{Keys, Node};
use crate::progress::Progress;

/// How much of the log to verify at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verify {
    /// Only what was appended since the tree's end (the default).
    Incremental,
    /// The whole log, rebuilding the Merkle tree.
    Full,
}

/// Opens the node's sealer: verifies the log and checks it against the latest signed
/// head, printing what it did. A damaged log does not stop the node from starting
/// (the store refuses writes and the API refuses to serve; `/readyz` says why), so the
/// answer is the sealer either way.
pub async fn open(node: &Node, verify: Verify, keys: Keys) -> anyhow::Result<Arc<Sealer>> {
    let clock = node.workflows.clock().clone();
    let key_file = node.dir.ledger_key_file();
    let existed = key_file.exists();
    let ring = node.dir.ledger_keys(keys, clock.now())?;
    if !existed {
        // A directory from before signed tree heads: its first key. (Had the file been
        // removed from a directory whose log holds heads, those heads no longer verify
        // and the check below says so.)
        println!(
            "created the ledger signing key in {}; publish its public key (`hoso keys ledger show`)",
            key_file.display()
        );
    }
    let rule = node.workflows.profile().ledger();
    let policy = CheckpointPolicy {
        every_events: rule.checkpoint_every_events,
        every: Duration::from_secs(rule.checkpoint_every_seconds),
    };
    let files = SealerFiles {
        tree: node.dir.path().join(TREE_FILE),
        head: node.dir.head_file(),
    };
    let total = node.store.head_position().await?.map_or(0, |h| h + 1);
    let progress = Progress::new("verifying", total);
    // On a log several nodes share, only the holder of the lease signs heads.
    let (sealer, report) = Sealer::open_with_lease(
        node.store.clone(),
        files,
        ring,
        hoso_commands::ledger_time(clock),
        policy,
        verify == Verify::Full,
        &|n| progress.set(n),
        node.lease.clone(),
    )
    .await?;
    progress.finish();
    print_report(&report, &sealer);
    Ok(sealer)
}

fn print_report(report: &OpenReport, sealer: &Sealer) {
    let from = report.verified_from;
    let what = if report.tree_rebuilt {
        "the whole log".to_owned()
    } else {
        format!("the log from position {from}")
    };
    if let Some(damage) = &report.damage {
        let at = damage
            .position
            .map_or_else(String::new, |p| format!(" at position {p}"));
        println!(
            "LEDGER UNTRUSTED{at}: {}\n  this node refuses writes and serves nothing from the log; restore a verified backup",
            damage.detail
        );
        return;
    }
    let against = report.checked_against.as_ref().map_or_else(
        || "no earlier signed tree head".to_owned(),
        |h| {
            format!(
                "the tree head signed at {} ({}, size {})",
                h.head.signed_at, h.head.reason, h.head.tree_size
            )
        },
    );
    println!(
        "verified {what}: {} events, consistent with {against}",
        report.verified_events
    );
    if let Some(h) = sealer.latest() {
        println!(
            "signed tree head: size {}, root {}, key {}",
            h.head.tree_size,
            hex::encode(h.head.root),
            h.head.key_id
        );
    }
}

/// Re-verifies the whole log in the background, now and then every `every`: damage
/// to events before the tree's end (which the open did not re-read) is found without
/// anyone asking, and makes the node untrusted.
pub fn spawn_scrub(store: Arc<dyn EventStore>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if store.damage().is_some() {
                return;
            }
            let started = std::time::Instant::now();
            match store.verify_all(&|_| ()).await {
                Ok(r) => tracing::info!(
                    events = r.events,
                    secs = started.elapsed().as_secs_f64(),
                    "background verification: every hash chain intact"
                ),
                Err(e) if e.is_corruption() => {
                    // The store marked itself; the ERROR line is its.
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "background verification failed to run"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

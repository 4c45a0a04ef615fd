//! `hoso bench proof`: the Merkle tree over `$all` at log scale. Builds a tree of
//! `--leaves` pseudo-random leaves in a temporary `ledger-tree.db` (appended and
//! flushed in large batches, as the open-time verification does), reopens it, then
//! times inclusion and consistency proofs at random indices and sizes, and small
//! append+flush rounds as the sealer does them. Each proof is verified with the
//! client functions outside the timed part; the full tree's root is checked against
//! a [`Frontier`] kept beside the build.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use hoso_ledger::Hash;
use hoso_ledger::merkle::{Frontier, verify_consistency, verify_inclusion};
use hoso_ledger::tree::{MerkleTree, TREE_FILE};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use crate::progress::Progress;

/// What to measure.
pub struct Options {
    /// Leaves in the tree.
    pub leaves: u64,
    /// Random queries of each proof kind.
    pub queries: usize,
    /// Leaves per flush while building.
    pub flush_every: u64,
    /// Print one JSON object as the last line.
    pub json: bool,
}

/// Leaf `i`: a hash nobody chose, that the verification can recompute.
fn leaf(i: u64) -> Hash {
    let mut h = Sha256::new();
    h.update(b"hoso bench proof leaf");
    h.update(i.to_be_bytes());
    h.finalize().into()
}

/// Runs the benchmark on a blocking thread (it is all CPU and disk).
pub async fn run(options: Options) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(&options))
        .await
        .context("proof benchmark thread")?
}

/// Time this thread has spent runnable but waiting for a CPU, from
/// `/proc/thread-self/schedstat` (Linux; `None` elsewhere). The kernel adds to it
/// each time the thread is scheduled back in, so a read on the thread itself is
/// exact. On a loaded machine the wall-clock tail of a proof is mostly this wait.
fn cpu_wait() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Wall-clock times of one kind of query, and the same less the waits for a CPU.
#[derive(Default)]
struct Times {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Times {
    /// Runs `f`, recording its times (the wait counter is read outside the wall clock).
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let wait0 = cpu_wait();
        let t = Instant::now();
        let out = f();
        let wall = t.elapsed();
        self.wall.push(wall);
        if let (Some(a), Some(b)) = (wait0, cpu_wait()) {
            self.cpu.push(wall.saturating_sub(b.saturating_sub(a)));
        }
        out
    }
}

/// Median, p90, p99 and max of `samples`, in microseconds.
fn spread_us(samples: &mut [Duration]) -> (f64, f64, f64, f64) {
    if samples.is_empty() {
        return (0.0, 0.0, 0.0, 0.0);
    }
    samples.sort_unstable();
    let at = |p: f64| {
        let i = ((samples.len() - 1) as f64 * p).round() as usize;
        samples[i.min(samples.len() - 1)].as_secs_f64() * 1e6
    };
    (at(0.5), at(0.9), at(0.99), at(1.0))
}

/// Timings of building the tree.
struct Build {
    append: Duration,
    flush: Duration,
    reopen: Duration,
    file_bytes: u64,
}

fn build(path: &Path, options: &Options) -> anyhow::Result<(MerkleTree, Build)> {
    let tree = MerkleTree::open_or_create(path)?;
    let progress = Progress::new("building tree", options.leaves);
    let mut frontier = Frontier::new();
    let (mut append, mut flush) = (Duration::ZERO, Duration::ZERO);
    let step = 65_536u64.min(options.flush_every.max(1));
    let mut since_flush = 0;
    let mut next = 0u64;
    while next < options.leaves {
        let n = step.min(options.leaves - next);
        let batch: Vec<Hash> = (next..next + n).map(leaf).collect();
        for h in &batch {
            frontier.push(h);
        }
        let t = Instant::now();
        tree.append(&batch);
        append += t.elapsed();
        next += n;
        since_flush += n;
        if since_flush >= options.flush_every || next == options.leaves {
            let t = Instant::now();
            tree.flush()?;
            flush += t.elapsed();
            since_flush = 0;
        }
        progress.set(next);
    }
    progress.finish();
    drop(tree);
    let t = Instant::now();
    let tree = MerkleTree::open_or_create(path)?;
    let reopen = t.elapsed();
    anyhow::ensure!(
        tree.root(options.leaves)? == frontier.root(),
        "the persisted tree's root differs from the frontier's"
    );
    let file_bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    Ok((
        tree,
        Build {
            append,
            flush,
            reopen,
            file_bytes,
        },
    ))
}

/// Times `queries` inclusion proofs at random (index, size); verifies each after.
fn inclusion(tree: &MerkleTree, rng: &mut StdRng, queries: usize) -> anyhow::Result<Times> {
    let len = tree.len();
    let mut times = Times::default();
    let progress = Progress::new("inclusion proofs", queries as u64);
    for q in 0..queries {
        let index = rng.random_range(0..len);
        // Half against the whole tree (the usual request), half at older sizes.
        let size = if q % 2 == 0 {
            len
        } else {
            rng.random_range(index + 1..=len)
        };
        let proof = times.time(|| tree.inclusion_proof(index, size))?;
        let root = tree.root(size)?;
        verify_inclusion(&leaf(index), &proof, &root)
            .with_context(|| format!("inclusion proof of {index} in {size}"))?;
        progress.set(q as u64 + 1);
    }
    progress.finish();
    Ok(times)
}

/// Times `queries` consistency proofs between random sizes; verifies each after.
fn consistency(tree: &MerkleTree, rng: &mut StdRng, queries: usize) -> anyhow::Result<Times> {
    let len = tree.len();
    let mut times = Times::default();
    let progress = Progress::new("consistency proofs", queries as u64);
    for q in 0..queries {
        let to = if q % 2 == 0 {
            len
        } else {
            rng.random_range(1..=len)
        };
        let from = rng.random_range(1..=to);
        let proof = times.time(|| tree.consistency_proof(from, to))?;
        verify_consistency(&tree.root(from)?, &tree.root(to)?, &proof)
            .with_context(|| format!("consistency proof from {from} to {to}"))?;
        progress.set(q as u64 + 1);
    }
    progress.finish();
    Ok(times)
}

/// Times rounds of 100 leaves appended then flushed (one durable transaction each),
/// the sealer's pattern.
fn small_flushes(tree: &MerkleTree, rounds: u64) -> anyhow::Result<Vec<Duration>> {
    const PER_ROUND: u64 = 100;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let from = tree.len();
        let batch: Vec<Hash> = (from..from + PER_ROUND).map(leaf).collect();
        let t = Instant::now();
        tree.append(&batch);
        tree.flush()?;
        times.push(t.elapsed());
    }
    Ok(times)
}

fn run_blocking(options: &Options) -> anyhow::Result<()> {
    anyhow::ensure!(options.leaves > 0, "--leaves must be at least 1");
    anyhow::ensure!(options.flush_every > 0, "--flush-every must be at least 1");
    // Under the working directory, not /tmp, which may be tmpfs (fsync for free).
    let tmp = tempfile::Builder::new()
        .prefix(".hoso-bench-proof-")
        .tempdir_in(".")
        .context("create a temporary directory in the working directory")?;
    let path = tmp.path().join(TREE_FILE);
    let started = Instant::now();
    let (tree, built) = build(&path, options)?;
    let mut rng = StdRng::seed_from_u64(2026);
    let mut incl = inclusion(&tree, &mut rng, options.queries)?;
    let mut cons = consistency(&tree, &mut rng, options.queries)?;
    let mut rounds = small_flushes(&tree, 50)?;
    let (i50, i90, i99, imax) = spread_us(&mut incl.wall);
    let (c50, c90, c99, cmax) = spread_us(&mut cons.wall);
    let (icpu50, _, icpu99, _) = spread_us(&mut incl.cpu);
    let (ccpu50, _, ccpu99, _) = spread_us(&mut cons.cpu);
    let (f50, _, f99, _) = spread_us(&mut rounds);
    let n = options.leaves;
    let build_s = (built.append + built.flush).as_secs_f64();
    let leaves_per_s = n as f64 / build_s.max(1e-9);
    println!(
        "proof: {n} leaves built in {build_s:.2} s ({leaves_per_s:.0} leaves/s: append {:.2} s, flush {:.2} s \
         every {} leaves), file {:.1} MiB, reopened and checked in {:.1} ms",
        built.append.as_secs_f64(),
        built.flush.as_secs_f64(),
        options.flush_every,
        built.file_bytes as f64 / (1024.0 * 1024.0),
        built.reopen.as_secs_f64() * 1e3,
    );
    println!(
        "proof: {} inclusion proofs: median {i50:.1} µs, p90 {i90:.1} µs, p99 {i99:.1} µs, max {imax:.1} µs; \
         {} consistency proofs: median {c50:.1} µs, p90 {c90:.1} µs, p99 {c99:.1} µs, max {cmax:.1} µs; \
         append+flush of 100 leaves: median {:.2} ms, p99 {:.2} ms (total run {:.1} s)",
        incl.wall.len(),
        cons.wall.len(),
        f50 / 1e3,
        f99 / 1e3,
        started.elapsed().as_secs_f64()
    );
    if !incl.cpu.is_empty() {
        println!(
            "proof: less the waits for a CPU (the machine's load): inclusion median {icpu50:.1} µs, \
             p99 {icpu99:.1} µs; consistency median {ccpu50:.1} µs, p99 {ccpu99:.1} µs"
        );
    }
    if options.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "proof", "leaves": n, "queries": options.queries,
                "build_seconds": build_s, "leaves_per_s": leaves_per_s,
                "append_seconds": built.append.as_secs_f64(),
                "flush_seconds": built.flush.as_secs_f64(), "flush_every": options.flush_every,
                "file_bytes": built.file_bytes, "reopen_ms": built.reopen.as_secs_f64() * 1e3,
                "inclusion_p50_us": i50, "inclusion_p90_us": i90, "inclusion_p99_us": i99, "inclusion_max_us": imax,
                "consistency_p50_us": c50, "consistency_p90_us": c90, "consistency_p99_us": c99, "consistency_max_us": cmax,
                "inclusion_unqueued_p50_us": icpu50, "inclusion_unqueued_p99_us": icpu99,
                "consistency_unqueued_p50_us": ccpu50, "consistency_unqueued_p99_us": ccpu99,
                "append_flush_100_p50_ms": f50 / 1e3, "append_flush_100_p99_ms": f99 / 1e3,
            })
        );
    }
    Ok(())
}

//! `hoso bench`: throughput and latency of the ledger on this machine, every append
//! durable (fsync before acknowledgement). With `--json` the last line is one JSON
//! object, for scripts and BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use hoso_domain::clock::{Clock, SystemClock};
use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, SqliteStore};
use hoso_schemas::pb::dossier::DeclarationSubmitted;
use uuid::Uuid;

use crate::data_dir::DataDir;
use crate::progress::Progress;
use crate::synth::Synth;

mod backup;
mod bundle;
mod http;
mod import;
mod postgres;
mod proof;
mod rebuild;
mod sync;
mod trust;

/// Which benchmark.
#[derive(Subcommand)]
pub enum Which {
    /// A province's export of `--people` people generated as CSV and bulk
    /// imported into a fresh data directory: dry run, real run and a rerun
    /// that adds nothing, timed (median of `--rounds`).
    Import {
        /// People in the export.
        #[arg(long, default_value_t = 50_000)]
        people: usize,
        /// Rounds, each on a fresh directory.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Concurrent single-event appends, each acknowledged after fsync.
    Append {
        /// The ledger backend measured.
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        /// Data directory (opened if it holds a ledger, created if not); a temporary
        /// one by default. SQLite only.
        #[arg(long)]
        data: Option<PathBuf>,
        /// PostgreSQL database URL, without the password (which comes from
        /// `HOSO_DATABASE_PASSWORD`); the ledger schema is created if absent. Use a
        /// database of its own: the benchmark leaves its events there.
        #[arg(long)]
        url: Option<String>,
        /// Events to append in all.
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Concurrent writers.
        #[arg(long, default_value_t = 64)]
        writers: usize,
        /// Payload size of each event.
        #[arg(long, default_value_t = 600)]
        payload_bytes: usize,
        /// Streams each writer rotates through, like an officer working on a pile of
        /// dossiers. More streams scatter each commit over more index pages.
        #[arg(long, default_value_t = 64)]
        streams_per_writer: usize,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Every projection rebuilt from position 0 of a province-sized log
    /// (generated and kept on first use), chains verified, peak memory.
    Rebuild {
        /// Data directory of the log (generated there if it holds none);
        /// `.hoso-bench-rebuild-<people>` by default.
        #[arg(long)]
        data: Option<PathBuf>,
        /// People in the generated province (about 55 events each).
        #[arg(long, default_value_t = 100_000)]
        people: u64,
        /// Seed of the generated log.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Memory the rebuild caches in, MiB (SQLite's page cache and the
        /// folded state of the dossiers applied last, half each).
        #[arg(long, default_value_t = hoso_projections::DEFAULT_REBUILD_CACHE_MIB)]
        cache_mib: usize,
        /// MiB each reader connection may map of the log and of the read model
        /// (`mmap_size`); a quarter of `--cache-mib` by default, as `hoso
        /// rebuild`. `--map-mib 4096` maps as `hoso serve` does.
        #[arg(long)]
        map_mib: Option<u64>,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// `hoso backup` of the rebuild bench's generated province (its store open), then
    /// `hoso restore` of it with every check, beside a rebuild of the same log.
    Backup {
        /// Data directory of the log (generated there if it holds none);
        /// `.hoso-bench-rebuild-<people>` by default.
        #[arg(long)]
        data: Option<PathBuf>,
        /// People in the generated province (about 55 events each).
        #[arg(long, default_value_t = 100_000)]
        people: u64,
        /// Seed of the generated log.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Rounds (medians reported).
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// The JSON API over loopback: authenticated dossier reads, then durable
    /// declarations, from many keep-alive connections, against a server
    /// started in process on a synthetic province (built through the command
    /// handlers on first use and kept).
    Http {
        /// Dossiers in the synthetic province.
        #[arg(long, default_value_t = 100_000)]
        people: u64,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds each phase (reads, then declarations) runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Data directory of the data set (built there if it holds no finished one);
        /// `.hoso-bench-http-<people>` by default.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// The Merkle tree over `$all`: build a tree of `--leaves` leaves, then time
    /// inclusion and consistency proofs and append+flush.
    Proof {
        /// Leaves in the tree.
        #[arg(long, default_value_t = 10_000_000)]
        leaves: u64,
        /// Random queries of each proof kind.
        #[arg(long, default_value_t = 4000)]
        queries: usize,
        /// Leaves appended between flushes while building.
        #[arg(long, default_value_t = 1 << 20)]
        flush_every: u64,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// What signed tree heads cost appends: `bench append` rounds without and with
    /// the sealer running, alternated in one sitting; medians and their ratio.
    Checkpoint {
        /// Events per round.
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Rounds of each kind.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Concurrent writers.
        #[arg(long, default_value_t = 64)]
        writers: usize,
        /// A tree head every this many events (the profile's default).
        #[arg(long, default_value_t = 10_000)]
        every_events: u64,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// What opening a data directory costs: verifying `--events` new events into the
    /// tree (against `bench read` of the same log, same sitting), and opening again
    /// with none new.
    Open {
        /// Events in the generated log, all new to the first open.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Offline verification of a dossier bundle (`hoso verify-bundle`): median time
    /// to verify one dossier's bundle with the ledger key.
    Bundle {
        /// Events of the dossier (declarations, then one signed approval).
        #[arg(long, default_value_t = 100)]
        events: u64,
        /// Unrelated events in the log, so the proofs have a realistic depth.
        #[arg(long, default_value_t = 100_000)]
        noise: u64,
        /// Verifications timed.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// The national sync feed on the rebuild bench's generated province
    /// (every dossier approved): sealing one batch of every approval, and the
    /// consumer's verification of it as served, in items/s.
    Sync {
        /// Data directory of the log (generated there if it holds none);
        /// `.hoso-bench-rebuild-<people>` by default, shared with `bench rebuild`.
        #[arg(long)]
        data: Option<PathBuf>,
        /// People in the generated province (about 55 events each).
        #[arg(long, default_value_t = 100_000)]
        people: u64,
        /// Seed of the generated log.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Province profile (restrictions, `[sync] national_receives`).
        #[arg(long, default_value = crate::data_dir::DEFAULT_PROFILE)]
        profile: String,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Full `$all` read with hash-chain verification.
    Read {
        /// Data directory to read. A directory without a ledger gets a generated log of
        /// `--events` (kept for the next run); by default a temporary one is used.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Size of the generated log.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// MiB each reader connection may map of the log (`mmap_size`); the
        /// ledger's default (4 GiB, what `hoso serve` maps) unless given, e.g.
        /// `--map-mib 64` for what `hoso rebuild` maps within its default budget.
        #[arg(long)]
        map_mib: Option<u64>,
        /// Print one JSON object as the last line.
        #[arg(long)]
        json: bool,
    },
}

/// A ledger backend `bench append` can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The embedded SQLite file.
    Sqlite,
    /// A PostgreSQL database (`--url`).
    Postgres,
}

/// Runs one benchmark.
pub async fn run(which: Which) -> anyhow::Result<()> {
    match which {
        Which::Import {
            people,
            rounds,
            json,
        } => import::run(people, rounds, json).await,
        Which::Append {
            backend,
            data,
            url,
            events,
            writers,
            payload_bytes,
            streams_per_writer,
            json,
        } => {
            let shape = AppendShape {
                events,
                writers,
                payload_bytes,
                streams_per_writer,
            };
            match backend {
                Backend::Sqlite => append(data, shape, json).await,
                Backend::Postgres => {
                    anyhow::ensure!(data.is_none(), "--data is for --backend sqlite");
                    let url = url.context("--backend postgres needs --url")?;
                    postgres::append(&url, shape, json).await
                }
            }
        }
        Which::Read {
            data,
            events,
            map_mib,
            json,
        } => read(data, events, map_mib, json).await,
        Which::Checkpoint {
            events,
            rounds,
            writers,
            every_events,
            json,
        } => {
            trust::checkpoint(trust::CheckpointOptions {
                events,
                rounds,
                writers,
                every_events,
                json,
            })
            .await
        }
        Which::Open { events, json } => trust::open(events, json).await,
        Which::Proof {
            leaves,
            queries,
            flush_every,
            json,
        } => {
            proof::run(proof::Options {
                leaves,
                queries,
                flush_every,
                json,
            })
            .await
        }
        Which::Bundle {
            events,
            noise,
            runs,
            json,
        } => {
            bundle::run(bundle::Options {
                events,
                noise,
                runs,
                json,
            })
            .await
        }
        Which::Rebuild {
            data,
            people,
            seed,
            cache_mib,
            map_mib,
            json,
        } => rebuild::run(data, people, seed, cache_mib, map_mib, json).await,
        Which::Backup {
            data,
            people,
            seed,
            rounds,
            json,
        } => {
            backup::run(backup::Options {
                data,
                people,
                seed,
                rounds,
                json,
            })
            .await
        }
        Which::Sync {
            data,
            people,
            seed,
            profile,
            json,
        } => {
            sync::run(sync::Options {
                data,
                people,
                seed,
                profile,
                json,
            })
            .await
        }
        Which::Http {
            people,
            connections,
            seconds,
            data,
            json,
        } => {
            http::run(http::Options {
                people,
                connections,
                seconds,
                data,
                json,
            })
            .await
        }
    }
}

/// A ledger to benchmark on, and the temporary directory holding it (if any).
pub(crate) struct Target {
    pub store: SqliteStore,
    /// True when the ledger was created for this run (so it is empty).
    pub created: bool,
    pub _tmp: Option<tempfile::TempDir>,
}

fn target(store: SqliteStore, created: bool, tmp: Option<tempfile::TempDir>) -> Target {
    Target {
        store,
        created,
        _tmp: tmp,
    }
}

/// Opens the ledger in `data`, or creates one there, or in a temporary directory.
pub(crate) fn store_at(data: Option<&Path>) -> anyhow::Result<Target> {
    let system: Arc<dyn Clock> = Arc::new(SystemClock);
    match data.map(DataDir::self_contained) {
        Some(dir) if dir.has_ledger() => Ok(target(dir.on(system).open_store()?, false, None)),
        Some(dir) => Ok(target(dir.on(system).create_store()?, true, None)),
        None => {
            // Under the working directory's file system rather than /tmp, which may be
            // tmpfs, where fsync costs nothing and the figures would lie.
            let tmp = tempfile::Builder::new()
                .prefix(".hoso-bench-")
                .tempdir_in(".")
                .context("create a temporary data directory in the working directory")?;
            let store = DataDir::self_contained(tmp.path())
                .on(system)
                .create_store()?;
            Ok(target(store, true, Some(tmp)))
        }
    }
}

pub(crate) fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let idx = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted_us[idx.min(sorted_us.len() - 1)]) / 1000.0
}

/// Updates a progress report from a shared counter until `done` reaches `total`.
pub(crate) fn watch_progress(
    progress: Arc<Progress>,
    counter: Arc<AtomicU64>,
    total: u64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let n = counter.load(Ordering::Relaxed);
            progress.set(n);
            if n >= total {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// What the append benchmark writes.
pub(crate) struct AppendShape {
    pub events: u64,
    pub writers: usize,
    pub payload_bytes: usize,
    pub streams_per_writer: usize,
}

async fn append(data: Option<PathBuf>, shape: AppendShape, json: bool) -> anyhow::Result<()> {
    let Target { store, _tmp, .. } = store_at(data.as_deref())?;
    let r = append_on(&store, &shape).await?;
    report_append(store.backend_name(), &shape, &r, json);
    Ok(())
}

/// Prints what an append run measured: one line, and the JSON object with `--json`.
pub(crate) fn report_append(backend: &str, shape: &AppendShape, r: &AppendRun, json: bool) {
    let &AppendShape {
        events,
        writers,
        payload_bytes,
        streams_per_writer,
    } = shape;
    println!(
        "append ({backend}): {events} events, {writers} writers, {payload_bytes}-byte payloads, fsync before ack: \
         {:.0} events/s in {:.2} s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.events_per_s, r.seconds, r.p50_ms, r.p99_ms, r.max_ms
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "append", "backend": backend, "events": events, "writers": writers, "payload_bytes": payload_bytes,
                "streams": writers * streams_per_writer,
                "seconds": r.seconds, "events_per_s": r.events_per_s,
                "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "max_ms": r.max_ms,
            })
        );
    }
}

/// What one append run measured.
pub(crate) struct AppendRun {
    pub events_per_s: f64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Appends `shape` to `store` from concurrent writers, with progress output.
pub(crate) async fn append_on<S: EventStore + Clone>(
    store: &S,
    shape: &AppendShape,
) -> anyhow::Result<AppendRun> {
    let &AppendShape {
        events,
        writers,
        payload_bytes,
        streams_per_writer,
    } = shape;
    anyhow::ensure!(writers > 0, "--writers must be at least 1");
    anyhow::ensure!(
        streams_per_writer > 0,
        "--streams-per-writer must be at least 1"
    );
    anyhow::ensure!(events > 0, "--events must be at least 1");
    let payload = Synth::new(1).declaration_payload(payload_bytes);
    let event_type = "dossier.DeclarationSubmitted";
    let _: DeclarationSubmitted =
        prost::Message::decode(payload.as_slice()).context("bench payload")?;

    let done = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Progress::new("appending", events));
    let ticker = watch_progress(progress.clone(), done.clone(), events);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let n = events / writers as u64 + u64::from((w as u64) < events % writers as u64);
        let store = store.clone();
        let payload = payload.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            writer(&store, n, streams_per_writer, event_type, payload, &done).await
        }));
    }
    let mut latencies_us = Vec::with_capacity(events as usize);
    for t in tasks {
        latencies_us.extend(t.await.context("writer task")??);
    }
    let elapsed = started.elapsed();
    ticker.await.context("progress task")?;
    progress.finish();
    latencies_us.sort_unstable();
    Ok(AppendRun {
        events_per_s: events as f64 / elapsed.as_secs_f64(),
        seconds: elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&latencies_us, 0.50),
        p99_ms: percentile_ms(&latencies_us, 0.99),
        max_ms: percentile_ms(&latencies_us, 1.0),
    })
}

/// One writer: `n` single-event appends rotating through `streams` new streams;
/// returns their latencies in microseconds.
async fn writer<S: EventStore>(
    store: &S,
    n: u64,
    streams: usize,
    event_type: &str,
    payload: Vec<u8>,
    done: &AtomicU64,
) -> anyhow::Result<Vec<u32>> {
    let mut streams: Vec<(String, Option<u64>)> = (0..streams)
        .map(|_| (format!("dossier-{}", Uuid::new_v4()), None))
        .collect();
    let rotation = streams.len();
    let mut latencies_us = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let (stream, revision) = &mut streams[i % rotation];
        let expected = revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let event = NewEvent::new(event_type, 1, payload.clone()).with_actor("bench");
        let t = Instant::now();
        let r = store.append(stream, expected, vec![event]).await?;
        latencies_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        *revision = Some(r.stream_revision);
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(latencies_us)
}

/// Fills a store with `events` events in streams of 50, appended in batches by
/// concurrent writers (fast, and realistic for the verifier: many streams).
pub(crate) async fn generate(store: &SqliteStore, events: u64) -> anyhow::Result<()> {
    const PER_STREAM: u64 = 50;
    const WRITERS: u64 = 8;
    let payload = Synth::new(2).declaration_payload(600);
    let done = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Progress::new("generating", events));
    let ticker = watch_progress(progress.clone(), done.clone(), events);
    let streams = events.div_ceil(PER_STREAM);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let payload = payload.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = w;
            while s < streams {
                let n = PER_STREAM.min(events - s * PER_STREAM);
                let batch = (0..n)
                    .map(|_| NewEvent::new("dossier.DeclarationSubmitted", 1, payload.clone()))
                    .collect();
                store
                    .append(
                        &format!("dossier-{}", Uuid::new_v4()),
                        ExpectedRevision::NoStream,
                        batch,
                    )
                    .await?;
                done.fetch_add(n, Ordering::Relaxed);
                s += WRITERS;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await.context("generator task")??;
    }
    ticker.await.context("progress task")?;
    progress.finish();
    Ok(())
}

async fn read(
    data: Option<PathBuf>,
    events: u64,
    map_mib: Option<u64>,
    json: bool,
) -> anyhow::Result<()> {
    let Target {
        store,
        created,
        _tmp,
    } = store_at(data.as_deref())?;
    if created {
        generate(&store, events).await?;
    }
    let store = match map_mib {
        // Reopened with its readers' maps bounded (the generating store closed first).
        Some(mib) => {
            let path = store.path().parent().map(Path::to_owned);
            drop(store);
            let path = path.context("the ledger's directory")?;
            let bytes = mib.saturating_mul(1 << 20);
            DataDir::self_contained(&path)
                .on(Arc::new(SystemClock))
                .mapping_at_most(bytes)
                .open_store()?
        }
        None => store,
    };
    let total = store.head_position().await?.map_or(0, |p| p + 1);
    let progress = Progress::new("reading", total);
    let started = Instant::now();
    let report = store
        .verify_all(&|page| {
            if let Some(last) = page.last() {
                progress.set(last.position + 1);
            }
        })
        .await?;
    let elapsed = started.elapsed();
    progress.finish();
    let events_per_s = report.events as f64 / elapsed.as_secs_f64();
    println!(
        "read: {} events in {} streams read from $all and hash-chain verified: {events_per_s:.0} events/s in {:.2} s",
        report.events,
        report.streams,
        elapsed.as_secs_f64()
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "read", "events": report.events, "streams": report.streams,
                "seconds": elapsed.as_secs_f64(), "events_per_s": events_per_s,
            })
        );
    }
    Ok(())
}

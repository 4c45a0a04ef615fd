//! The read side of hoso: projections folded from the log into a SQLite
//! read model beside it (`readmodel.db`), rebuildable from position 0.
//!
//! - [`schema`]: the tables and their version; a stale file is rebuilt.
//! - [`apply`]: the projector — each page of events and the checkpoint in
//!   one transaction, so a crash never applies an event twice or skips one.
//! - [`views`]: a dossier now or as of any date on both time axes
//!   (`as_of`: effective date, `known_at`: recorded date), its history with
//!   field-level diffs, and the organisation tree and headcounts at any date.
//! - [`search`]: any combination of criteria, names with or without
//!   diacritics, stable keyset pagination; the archive searched separately.
//! - [`reports`]: the annual headcount report, the management report, the
//!   SLA report of obligations, approvals pending per monthly window, the
//!   quality report, each as JSON or as a table (CSV, spreadsheet).
//! - [`crosstab`]: headcount of a subtree by any two dimensions.
//! - [`audit`]: who changed (or read) what, when, by actor or dossier.
//! - [`transfers`]: transfers between agencies and where each stands (the
//!   receiving agency's list of dossiers waiting for its answer).
//! - [`approvals`]: every signed approval in log order, and a dossier as an
//!   approval left it (the national sync feed's source).
//! - [`exchange`]: the national exchange format, `hoso-national/1`: an
//!   approved dossier mapped to one canonical JSON document.
//! - [`exchange_in`]: a `hoso-national/1` document read back into what an
//!   import takes (a record pushed to us, BT 11.1, HY 11.2).
//! - [`identifiers`]: identification numbers kept only as a keyed hash and
//!   sealed, older clear ones sealed on the way in ([`IdentifierSealer`]).
//!
//! [`ReadModel`] ties them together: it catches up with a store, follows
//! its `$all` subscription live, lets a caller wait for a position ("read
//! your writes"), and rebuilds while verifying every hash chain.

pub mod apply;
pub mod approvals;
pub mod audit;
mod cache;
pub mod crosstab;
mod dates;
pub mod exchange;
pub mod exchange_in;
pub mod identifiers;
pub mod reports;
pub mod schema;
pub mod search;
pub mod transfers;
pub mod units;
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use chrono::NaiveDate;
use futures::{FutureExt as _, StreamExt as _};
use hoso_domain::clock::Clock;
use hoso_domain::org::OrgTree;
use hoso_ledger::{EventStore, StoreError};
use rusqlite::Connection;

use crate::apply::Projector;
pub use crate::identifiers::IdentifierSealer;
pub use crate::schema::{DAMAGED_PREFIX, Found, PROJECTION_VERSION, READ_MODEL_FILE};

/// Events applied per transaction while catching up or rebuilding.
const PAGE: usize = 4_096;

/// Memory a rebuild caches in, MiB, unless told otherwise
/// ([`ReadModel::rebuild_within`]): half for SQLite's page cache, half for the
/// folded state of the dossiers and streams applied last. Whatever the size
/// of the log, this is what the rebuild's caches hold at most.
pub const DEFAULT_REBUILD_CACHE_MIB: usize = 256;

/// Bytes each reader connection of a read model maps of its file unless opened
/// otherwise: a dossier's history rows lie on scattered pages, and copying them in
/// with read calls was a third of a dossier read.
pub const READ_MODEL_MAP_BYTES: u64 = 4 << 30;

/// The most a rebuild within `cache_bytes` ([`ReadModel::rebuild_within`]) lets a
/// connection map of a file it reads, the log (its caller opens the store so,
/// `hoso_ledger::StoreOptions::read_map_bytes`) or the read model it writes: a
/// quarter of the budget. Mapped pages count in the process's resident size and a
/// full read of the log would map all of it; past this bound pages are read into a
/// page cache of fixed size instead.
pub fn rebuild_map_bytes(cache_bytes: usize) -> u64 {
    u64::try_from(cache_bytes / 4).unwrap_or(u64::MAX)
}

/// Failures of the read side.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The read-model database failed.
    #[error("read model: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The log failed or is damaged.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    /// A stored event does not decode.
    #[error(transparent)]
    Decode(#[from] Box<hoso_ledger::typed::EventDecodeError>),
    /// The read model holds something it cannot have written.
    #[error("read model is damaged: {0}; rebuild it (hoso rebuild)")]
    Corrupt(String),
    /// The projections did not reach a position in time.
    #[error(
        "the read side did not apply position {wanted} within {} ms ({})",
        waited.as_millis(),
        match reached {
            Some(p) => format!("it has applied up to {p}"),
            None => "it has applied nothing yet".to_owned(),
        }
    )]
    Timeout {
        /// Position waited for.
        wanted: u64,
        /// Last position applied.
        reached: Option<u64>,
        /// How long.
        waited: Duration,
    },
    /// An event does not continue its stream's hash chain as the read model holds it:
    /// it is not applied, and the log is marked damaged.
    #[error("not applied: {0}")]
    Chain(hoso_ledger::ChainViolation),
    /// A lock was poisoned by a panic.
    #[error("read model lock poisoned")]
    Poisoned,
    /// Bad query input.
    #[error("{0}")]
    BadQuery(String),
    /// A read-model file could not be created, moved or removed.
    #[error("read model file {0}")]
    Io(String),
    /// A dossier's identification number, written in clear by an older
    /// version, could not be sealed for the read model.
    #[error("cannot seal the identification number of dossier {dossier}: {problem}")]
    Seal {
        /// The dossier.
        dossier: String,
        /// Why.
        problem: String,
    },
}

/// How a read model stands against the log it is to follow
/// ([`ReadModel::agreement_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Its last applied event is in the log as applied.
    Agrees,
    /// It has applied events up to `next - 1`, but the log ends before (`log_next`).
    Ahead {
        /// Position the read model would apply next.
        next: u64,
        /// Position the log would write next.
        log_next: u64,
    },
    /// The log holds another event (or none) where the read model's last one was.
    Diverged {
        /// Position of the read model's last applied event.
        position: u64,
    },
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    /// Events read, verified and applied.
    pub events: u64,
    /// Streams whose chains verified.
    pub streams: u64,
}

/// The read model of one data directory.
pub struct ReadModel {
    path: PathBuf,
    projector: Mutex<Projector>,
    /// Read-only connections, so that concurrent requests do not queue on
    /// one (WAL readers never block each other or the projector).
    readers: Vec<Mutex<Connection>>,
    /// Where the next reader search starts, spreading callers over the pool.
    next_reader: std::sync::atomic::AtomicUsize,
    org: RwLock<OrgTree>,
    applied: tokio::sync::watch::Sender<u64>,
    registry: hoso_schemas::Registry,
    /// Where "today" comes from when a query does not name a date.
    clock: std::sync::Arc<dyn Clock>,
    /// Seals numbers that older events carry in clear.
    sealer: std::sync::Arc<dyn IdentifierSealer>,
}

impl std::fmt::Debug for ReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadModel")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ReadModel {
    /// Opens the read model in `dir`, creating it if absent. A file of
    /// another projection version is deleted and recreated empty (and
    /// reported as [`Found::Stale`]): the caller then catches up from 0,
    /// which is a rebuild. `clock` gives "today" to the queries that
    /// default to it; `sealer` seals the identification numbers that events
    /// written by older versions carry in clear ([`identifiers`]).
    pub fn open(
        dir: &Path,
        clock: std::sync::Arc<dyn Clock>,
        sealer: std::sync::Arc<dyn IdentifierSealer>,
    ) -> Result<(Self, Found), ProjectionError> {
        Self::open_with(dir, true, clock, sealer, READ_MODEL_MAP_BYTES)
    }

    /// [`open`](Self::open) with `map_bytes` the most each reader connection maps
    /// of the file.
    fn open_with(
        dir: &Path,
        indexed: bool,
        clock: std::sync::Arc<dyn Clock>,
        sealer: std::sync::Arc<dyn IdentifierSealer>,
        map_bytes: u64,
    ) -> Result<(Self, Found), ProjectionError> {
        let path = dir.join(READ_MODEL_FILE);
        // A damaged file is never served (some routes would answer 500s from it):
        // moved aside, it is rebuilt from the log like a stale one.
        let damaged = match schema::damage(&path)? {
            Some(reason) => {
                let moved_to = move_damaged_aside(&path, clock.now())?;
                tracing::warn!(%reason, moved_to = %moved_to.display(), "the read model is damaged; moved aside, it is rebuilt from the log");
                Some(Found::Damaged { reason, moved_to })
            }
            None => None,
        };
        let (conn, found) = schema::open(&path, indexed)?;
        let conn = match found {
            Found::Stale { version } => {
                tracing::warn!(
                    found = version,
                    expected = PROJECTION_VERSION,
                    "read model was written by projection version {version}; rebuilding it as version {PROJECTION_VERSION}"
                );
                drop(conn);
                remove_read_model(&path)?;
                schema::open(&path, indexed)?.0
            }
            Found::Created | Found::Damaged { .. } => conn,
            Found::Current => {
                // A rebuild that stopped before its last step left no indexes.
                schema::create_indexes(&conn)?;
                conn
            }
        };
        let found = damaged.unwrap_or(found);
        let projector = Projector::load(conn)?;
        let readers = (0..reader_count())
            .map(|_| {
                Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .and_then(|conn| {
                    conn.execute_batch(&format!("PRAGMA mmap_size = {map_bytes};"))?;
                    Ok(Mutex::new(conn))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (applied, _) = tokio::sync::watch::channel(projector.next_position());
        Ok((
            Self {
                path,
                org: RwLock::new(projector.org.clone()),
                projector: Mutex::new(projector),
                readers,
                next_reader: std::sync::atomic::AtomicUsize::new(0),
                applied,
                registry: hoso_schemas::Registry::standard(),
                clock,
                sealer,
            },
            found,
        ))
    }

    /// Copies the write-ahead log into the database file and empties it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`), for a clean stop: the file alone then
    /// holds everything applied. Fails when a reader kept it from completing.
    pub fn checkpoint(&self) -> Result<(), ProjectionError> {
        let p = self
            .projector
            .lock()
            .map_err(|_| ProjectionError::Poisoned)?;
        let (busy, log, copied): (i64, i64, i64) =
            p.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        if busy != 0 {
            return Err(ProjectionError::Io(format!(
                "{}: the checkpoint was kept from completing ({copied} of {log} frames copied)",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Deletes the read model in `dir` and builds it again from position 0,
    /// verifying every hash chain as it reads. `progress` is called after
    /// each page with the number of events applied so far. Caches within
    /// [`DEFAULT_REBUILD_CACHE_MIB`]; the read model returned maps its file as
    /// [`open`](Self::open) does, for a server to go on with.
    pub async fn rebuild(
        dir: &Path,
        store: &dyn EventStore,
        clock: std::sync::Arc<dyn Clock>,
        sealer: std::sync::Arc<dyn IdentifierSealer>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(Self, RebuildReport), ProjectionError> {
        Self::rebuild_mapped(
            dir,
            store,
            clock,
            sealer,
            DEFAULT_REBUILD_CACHE_MIB << 20,
            READ_MODEL_MAP_BYTES,
            progress,
        )
        .await
    }

    /// [`rebuild`](Self::rebuild) caching within `cache_bytes`: half of it
    /// SQLite's page cache, half the projector's folded state (summaries and
    /// chain heads of the dossiers applied last, the others read back from
    /// the tables when needed). The read model comes out the same whatever
    /// the budget; a smaller one costs reads.
    ///
    /// The read model's reader connections, the returned one's included, map
    /// at most [`rebuild_map_bytes`] of its file; the caller bounds the
    /// store's likewise (`hoso_ledger::StoreOptions::read_map_bytes`), so that
    /// the process's resident size, which counts mapped pages, is set by the
    /// budget and not by the size of the log.
    ///
    /// Reading and verifying run on this task while a blocking thread
    /// applies the pages, so the two halves use both cores; the secondary
    /// indexes are built once at the end.
    pub async fn rebuild_within(
        dir: &Path,
        store: &dyn EventStore,
        clock: std::sync::Arc<dyn Clock>,
        sealer: std::sync::Arc<dyn IdentifierSealer>,
        cache_bytes: usize,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(Self, RebuildReport), ProjectionError> {
        Self::rebuild_mapped(
            dir,
            store,
            clock,
            sealer,
            cache_bytes,
            rebuild_map_bytes(cache_bytes),
            progress,
        )
        .await
    }

    /// [`rebuild_within`](Self::rebuild_within) with its reader connections
    /// mapping at most `map_bytes` of the read model's file instead of its
    /// share of the budget: to compare maps (`hoso bench rebuild --map-mib`).
    pub async fn rebuild_mapped(
        dir: &Path,
        store: &dyn EventStore,
        clock: std::sync::Arc<dyn Clock>,
        sealer: std::sync::Arc<dyn IdentifierSealer>,
        cache_bytes: usize,
        map_bytes: u64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(Self, RebuildReport), ProjectionError> {
        // Built beside the live file and swapped in at the end: until then
        // the old read model stays whole, and a crash mid-way leaves only a
        // scratch directory that the next rebuild clears.
        let scratch = dir.join(REBUILD_DIR);
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch).map_err(|e| io_failure(&scratch, &e))?;
        }
        std::fs::create_dir_all(&scratch).map_err(|e| io_failure(&scratch, &e))?;
        let (model, _) =
            Self::open_with(&scratch, false, clock.clone(), sealer.clone(), map_bytes)?;
        {
            let mut p = model
                .projector
                .lock()
                .map_err(|_| ProjectionError::Poisoned)?;
            p.position_hashed = store.dense_positions();
            p.set_cache_budget(cache_bytes / 2);
            // SQLite's share, in KiB (a negative cache_size); temporary tables and
            // the sorts that build the indexes spill to files instead of growing
            // in memory with the log.
            let page_cache_kib = (cache_bytes / 2 / 1024).max(64);
            p.conn.execute_batch(&format!(
                "PRAGMA cache_size = -{page_cache_kib}; PRAGMA temp_store = FILE;"
            ))?;
        }
        let model = std::sync::Arc::new(model);
        let applied = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (pages, mut inbox) = tokio::sync::mpsc::channel::<Vec<apply::Prepared>>(4);
        let applier = {
            let model = model.clone();
            let applied = applied.clone();
            tokio::task::spawn_blocking(move || -> Result<(), ProjectionError> {
                while let Some(page) = inbox.blocking_recv() {
                    let n = model.apply_prepared(&page)?;
                    applied.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(())
            })
        };
        let verified =
            Self::read_verified(store, sealer.as_ref(), &pages, &applied, progress).await;
        drop(pages);
        let applier_result = applier
            .await
            .map_err(|e| ProjectionError::Corrupt(format!("projector thread failed: {e}")))?;
        // A failure to apply explains a closed channel, so it comes first.
        applier_result?;
        let report = verified?;
        progress(applied.load(std::sync::atomic::Ordering::Relaxed));
        let model = std::sync::Arc::try_unwrap(model).map_err(|_| {
            ProjectionError::Corrupt("read model still shared after rebuild".into())
        })?;
        {
            let p = model
                .projector
                .lock()
                .map_err(|_| ProjectionError::Poisoned)?;
            schema::create_indexes(&p.conn)?;
            // Back to the journalled, crash-safe mode of a live read model,
            // with everything on disk before the swap.
            p.conn
                .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
            p.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        drop(model);
        let live = dir.join(READ_MODEL_FILE);
        remove_read_model(&live)?;
        let built = scratch.join(READ_MODEL_FILE);
        std::fs::rename(&built, &live).map_err(|e| io_failure(&built, &e))?;
        std::fs::remove_dir_all(&scratch).map_err(|e| io_failure(&scratch, &e))?;
        let (model, _) = Self::open_with(dir, true, clock, sealer, map_bytes)?;
        Ok((model, report))
    }

    /// Reads `$all` page by page, verifying every chain, and hands each
    /// verified page to `pages`. The next page is read while this one is
    /// verified.
    async fn read_verified(
        store: &dyn EventStore,
        sealer: &dyn IdentifierSealer,
        pages: &tokio::sync::mpsc::Sender<Vec<apply::Prepared>>,
        applied: &std::sync::atomic::AtomicU64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<RebuildReport, ProjectionError> {
        let registry = hoso_schemas::Registry::standard();
        let first = store.first_position();
        let mut verifier = if store.dense_positions() {
            hoso_ledger::ChainVerifier::dense_from(first)
        } else {
            hoso_ledger::ChainVerifier::sparse(false)
        };
        let read_failed = |e: StoreError| {
            if e.is_corruption() {
                store.mark_corrupt(hoso_ledger::Damage::from(&e));
            }
            ProjectionError::Store(e)
        };
        let mut page = store.read_all(first, PAGE).await.map_err(read_failed)?;
        while let Some(last) = page.last() {
            let next_from = last.position + 1;
            let (next, checked) = futures::future::join(store.read_all(next_from, PAGE), async {
                page.iter().try_for_each(|e| verifier.check(e))
            })
            .await;
            if let Err(v) = checked {
                store.mark_corrupt(hoso_ledger::Damage::from(&v));
                return Err(StoreError::Chain(v).into());
            }
            let mut prepared = apply::prepare(&registry, sealer, page)?;
            for p in &mut prepared {
                // The verifier above re-hashed and linked it.
                p.verified = true;
            }
            if pages.send(prepared).await.is_err() {
                // The projector stopped; its error is reported by the caller.
                break;
            }
            progress(applied.load(std::sync::atomic::Ordering::Relaxed));
            page = next.map_err(read_failed)?;
        }
        Ok(RebuildReport {
            events: verifier.events(),
            streams: verifier.streams() as u64,
        })
    }

    /// Applies a page of events in `$all` order (skipping any already
    /// applied). Returns how many were applied.
    pub fn apply(&self, page: Vec<hoso_ledger::RecordedEvent>) -> Result<usize, ProjectionError> {
        let prepared = apply::prepare(&self.registry, self.sealer.as_ref(), page)?;
        self.apply_prepared(&prepared)
    }

    fn apply_prepared(&self, page: &[apply::Prepared]) -> Result<usize, ProjectionError> {
        let mut p = self
            .projector
            .lock()
            .map_err(|_| ProjectionError::Poisoned)?;
        let org_before = page.iter().any(apply::Prepared::is_org);
        let n = p.apply_page(page)?;
        if n > 0 {
            if org_before {
                *self.org.write().map_err(|_| ProjectionError::Poisoned)? = p.org.clone();
            }
            self.applied.send_replace(p.next_position());
        }
        Ok(n)
    }

    /// Keeps at most about `bytes` of folded state (dossier summaries, chain
    /// heads) in memory while following the log; what is forgotten is read
    /// back from the tables when next needed. A read model starts with
    /// [`apply::DEFAULT_STATE_CACHE_BYTES`].
    pub fn set_state_cache(&self, bytes: usize) -> Result<(), ProjectionError> {
        self.projector
            .lock()
            .map_err(|_| ProjectionError::Poisoned)?
            .set_cache_budget(bytes);
        Ok(())
    }

    /// Today's date in Vietnam by the injected clock: the date of the
    /// queries that do not name one.
    pub fn today(&self) -> NaiveDate {
        hoso_domain::calendar::date_in_vietnam(self.clock.now())
    }

    /// Position of the next event to apply (0 for an empty read model).
    pub fn next_position(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Reads and applies everything the store has beyond the checkpoint.
    pub async fn catch_up(&self, store: &dyn EventStore) -> Result<u64, ProjectionError> {
        let mut applied = 0u64;
        loop {
            let from = self.next_position().max(store.first_position());
            let page = store.read_all(from, PAGE).await?;
            if page.is_empty() {
                return Ok(applied);
            }
            applied += self.apply_from(store, page)? as u64;
        }
    }

    /// Applies a page read from `store`; an event that does not continue its chain
    /// marks the store damaged (the node stops trusting its log) and is not applied.
    fn apply_from(
        &self,
        store: &dyn EventStore,
        page: Vec<hoso_ledger::RecordedEvent>,
    ) -> Result<usize, ProjectionError> {
        self.projector
            .lock()
            .map_err(|_| ProjectionError::Poisoned)?
            .position_hashed = store.dense_positions();
        self.apply(page).inspect_err(|e| {
            if let ProjectionError::Chain(v) = e {
                store.mark_corrupt(hoso_ledger::Damage::from(v));
            }
        })
    }

    /// Whether this read model was built from `store`'s log as it stands: its last
    /// applied event must still be in the log, at its position, with its hash. A read
    /// model ahead of the log (the log lost its tail) or built from another log is to
    /// be rebuilt, never trusted.
    pub async fn agreement_with(
        &self,
        store: &dyn EventStore,
    ) -> Result<Agreement, ProjectionError> {
        let next = self.next_position();
        if next <= store.first_position() {
            return Ok(Agreement::Agrees);
        }
        let last = self
            .projector
            .lock()
            .map_err(|_| ProjectionError::Poisoned)?
            .last_applied();
        let log_next = store.head_position().await?.map_or(0, |h| h + 1);
        if log_next < next {
            return Ok(Agreement::Ahead { next, log_next });
        }
        let Some((position, hash)) = last else {
            return Ok(Agreement::Diverged { position: next - 1 });
        };
        let found = store.read_all(position, 1).await?;
        match found.first() {
            Some(e) if e.position == position && e.hash == hash => Ok(Agreement::Agrees),
            _ => Ok(Agreement::Diverged { position }),
        }
    }

    /// Follows the store's `$all` subscription from the checkpoint, applying
    /// whatever has arrived in one transaction; returns only on error.
    pub async fn follow(&self, store: &dyn EventStore) -> Result<(), ProjectionError> {
        let mut feed = store.subscribe_all(self.next_position().max(store.first_position()));
        let mut page = Vec::new();
        loop {
            let Some(first) = feed.next().await else {
                return Ok(());
            };
            page.push(first?);
            // Take whatever else is ready without waiting, so a burst is
            // applied in one transaction.
            while page.len() < PAGE {
                match feed.next().now_or_never() {
                    Some(Some(e)) => page.push(e?),
                    _ => break,
                }
            }
            self.apply_from(store, std::mem::take(&mut page))?;
        }
    }

    /// Waits until the projections have applied the event at `position`
    /// (read your writes), or `timeout` passes.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let mut rx = self.applied.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|next| *next > position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ProjectionError::Timeout {
                wanted: position,
                reached: self.next_position().checked_sub(1),
                waited: timeout,
            }),
        }
    }

    pub(crate) fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ProjectionError>,
    ) -> Result<T, ProjectionError> {
        // A free connection if there is one, else wait for one in turn.
        let n = self.readers.len();
        let start = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for i in 0..n {
            match self.readers[(start + i) % n].try_lock() {
                Ok(conn) => return f(&conn),
                Err(std::sync::TryLockError::WouldBlock) => {}
                Err(std::sync::TryLockError::Poisoned(_)) => return Err(ProjectionError::Poisoned),
            }
        }
        let conn = self.readers[start % n]
            .lock()
            .map_err(|_| ProjectionError::Poisoned)?;
        f(&conn)
    }

    /// The `mmap_size` this read model's reader connections run with, as SQLite
    /// reports it (capped by SQLite's own limit): what a reader may map of the file.
    pub fn reader_map_size(&self) -> Result<u64, ProjectionError> {
        self.with_reader(|conn| {
            let n: i64 = conn.query_row("PRAGMA mmap_size", [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    pub(crate) fn with_org<T>(&self, f: impl FnOnce(&OrgTree) -> T) -> Result<T, ProjectionError> {
        let org = self.org.read().map_err(|_| ProjectionError::Poisoned)?;
        Ok(f(&org))
    }

    /// Every row of every table, in a stable order: two read models built
    /// from the same log dump identically (live versus rebuilt).
    pub fn dump(&self) -> Result<Vec<String>, ProjectionError> {
        self.with_reader(|conn| {
            let mut out = Vec::new();
            for (table, order) in [
                ("meta", "key"),
                ("chain_heads", "stream"),
                ("last_applied", "id"),
                ("org_events", "position"),
                ("dossiers", "id"),
                ("sections", "dossier_id, section_code, approved"),
                ("history", "position"),
                ("obligations", "dossier_id, obligation_id"),
                ("approvals", "position"),
                ("transfers", "transfer_id"),
                ("audit", "position"),
            ] {
                let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
                let columns = stmt.column_count();
                let mut rows = stmt.query([])?;
                while let Some(r) = rows.next()? {
                    let mut line = format!("{table}:");
                    for i in 0..columns {
                        let v: rusqlite::types::Value = r.get(i)?;
                        line.push_str(&format!(" {v:?}"));
                    }
                    out.push(line);
                }
            }
            Ok(out)
        })
    }
}

/// Read-only connections of a read model: one per core (reads run on the
/// caller's thread), at least two, at most eight.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// Scratch directory a rebuild builds the new read model in.
const REBUILD_DIR: &str = "readmodel.rebuilding";

fn io_failure(path: &Path, e: &std::io::Error) -> ProjectionError {
    ProjectionError::Io(format!("{}: {e}", path.display()))
}

/// Moves a damaged read model (and its write-ahead log) to
/// `readmodel.db.damaged-<now>`; its shared-memory file is only removed.
fn move_damaged_aside(
    path: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PathBuf, ProjectionError> {
    let to = path.with_file_name(format!(
        "{}{}",
        schema::DAMAGED_PREFIX,
        now.format("%Y%m%dT%H%M%S%.3fZ")
    ));
    for suffix in ["", "-wal"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut dest = to.as_os_str().to_owned();
        dest.push(suffix);
        match std::fs::rename(&from, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_failure(Path::new(&from), &e)),
        }
    }
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    match std::fs::remove_file(&shm) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_failure(Path::new(&shm), &e)),
    }
    Ok(to)
}

fn remove_read_model(path: &Path) -> Result<(), ProjectionError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_failure(Path::new(&p), &e)),
        }
    }
    Ok(())
}

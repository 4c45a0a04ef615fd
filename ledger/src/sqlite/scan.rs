//! Whole-log verification for the SQLite backend. `$all` is cut into ranges of
//! positions that reader threads read, decode and hash in parallel, each on its own
//! connection, while the caller's task checks every stream's chain in `$all` order.
//!
//! Hashing needs no chain state, so it moves to the threads that read the events (right
//! after decoding, while the bytes are still in cache); what must be in order (position,
//! revision and link checks) is a map lookup and a few comparisons per event. Positions
//! are the `INTEGER PRIMARY KEY`, so a range is a b-tree seek plus a walk, and the ranges
//! taken in order are exactly the rows one sequential read would return, gaps included:
//! the checks and the first bad position reported are those of
//! [`EventStore::verify_all`]'s definition.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use rusqlite::{Connection, params};
use tokio::sync::mpsc;

use super::SqliteStore;
use super::index::Span;
use super::schema::{COLUMNS, event_from_row, sql_error};
use crate::envelope::{Hash, RecordedEvent};
use crate::error::{Damage, StoreError, StoreResult};
use crate::store::{EventStore, PageObserver};
use crate::verify::{ChainVerifier, VerifyReport};

/// Positions per range, i.e. per page handed from a reader to the checker.
const RANGE: u64 = 8_192;
/// Pages a reader may have ready before the checker takes them: enough to ride out an
/// uneven page, few enough to bound memory (a page is about 8 MB at 600-byte payloads).
const READ_AHEAD: usize = 1;
/// Most reader threads: past the core count they only compete with the checker.
const READERS_MAX: usize = 4;

/// One range, as far as it could be read.
struct Page {
    /// Events in position order.
    events: Vec<RecordedEvent>,
    /// The content hash of each event, as [`ChainVerifier::check_hashed`] takes it.
    hashes: Vec<Hash>,
    /// Why the page ended before its range did: the first row that could not be read.
    /// It is reported only after the rows before it have been checked, so an edit
    /// earlier in the same page is still the first bad position.
    stopped: Option<StoreError>,
}

/// Verifies every chain from position `from` to the head (see the module
/// documentation); a stream that continues from before `from` is linked to its last
/// event there, found through the stream index.
pub(super) async fn verify_from(
    store: &SqliteStore,
    from: u64,
    observe: PageObserver<'_>,
) -> StoreResult<VerifyReport> {
    let mut verifier = ChainVerifier::dense_from(from);
    let mut last_position = None;
    let last = store
        .with_reader(|conn| {
            conn.query_row("SELECT max(position) FROM events", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map_err(|e| sql_error("read log head", e))
        })
        .await?;
    // Only rows at position 0 and after are read, as by `read_all(0, …)`; a log whose
    // greatest position is negative has none.
    let mut next = from;
    if let Some(last) = last
        .and_then(|p| u64::try_from(p).ok())
        .filter(|&last| last >= from)
    {
        let mut scan = Scan::start(
            &store.inner.db_path,
            store.inner.map_bytes,
            from,
            last,
            verifier.position_hashed(),
        );
        let checked = check_ranges(store, &mut scan, &mut verifier, observe).await;
        scan.finish().await;
        if let Some(p) = checked? {
            last_position = Some(p);
        }
        next = last + 1;
    }
    // Events appended while the ranges were read: page by page until an empty one, as in
    // the trait's definition (a short page is not the end; only an empty one is).
    loop {
        let page = match store.read_all(next, RANGE as usize).await {
            Ok(page) => page,
            Err(e) => return Err(corruption_marked(store, e)),
        };
        let Some(last) = page.last() else { break };
        last_position = Some(last.position);
        next = last.position + 1;
        seed(store, &mut verifier, &page, from)
            .await
            .map_err(|e| corruption_marked(store, e))?;
        for e in &page {
            if let Err(v) = verifier.check(e) {
                return Err(corruption_marked(store, StoreError::Chain(v)));
            }
        }
        observe(&page);
    }
    Ok(VerifyReport {
        events: verifier.events(),
        streams: verifier.streams() as u64,
        last_position,
    })
}

/// Takes the scan's pages in order and checks them; the last position checked.
async fn check_ranges(
    store: &SqliteStore,
    scan: &mut Scan,
    verifier: &mut ChainVerifier,
    observe: PageObserver<'_>,
) -> StoreResult<Option<u64>> {
    let mut last_position = None;
    while let Some(page) = scan.next_page().await {
        let page = page.map_err(|e| corruption_marked(store, e))?;
        seed(store, verifier, &page.events, scan.from)
            .await
            .map_err(|e| corruption_marked(store, e))?;
        for (e, hash) in page.events.iter().zip(&page.hashes) {
            if let Err(v) = verifier.check_hashed(e, hash) {
                return Err(corruption_marked(store, StoreError::Chain(v)));
            }
        }
        if let Some(last) = page.events.last() {
            last_position = Some(last.position);
            observe(&page.events);
        }
        if let Some(e) = page.stopped {
            return Err(corruption_marked(store, e));
        }
    }
    Ok(last_position)
}

/// Gives `verifier` the head of each stream of `page` that continues from before
/// `from`: its event there, read through the stream index (which checks the row). A
/// head that cannot be found is left out, so the event fails its check and is named.
async fn seed(
    store: &SqliteStore,
    verifier: &mut ChainVerifier,
    page: &[RecordedEvent],
    from: u64,
) -> StoreResult<()> {
    if from == 0 {
        return Ok(());
    }
    let wanted: Vec<(String, u64)> = verifier
        .unseeded(page)
        .into_iter()
        .map(|(s, r)| (s.to_owned(), r))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let index = store.inner.index.clone();
    let heads = store
        .with_reader(move |conn| {
            let mut heads = Vec::with_capacity(wanted.len());
            for (stream, revision) in wanted {
                let span = Span::Forwards {
                    from: revision,
                    max: 1,
                };
                let found = index.read(conn, &stream, span, false)?;
                if let Some(e) = found
                    .into_iter()
                    .find(|e| e.revision == revision && e.position < from)
                {
                    heads.push((stream, e.revision, e.hash));
                }
            }
            Ok(heads)
        })
        .await?;
    for (stream, revision, hash) in heads {
        verifier.seed(&stream, revision, hash);
    }
    Ok(())
}

fn corruption_marked(store: &SqliteStore, e: StoreError) -> StoreError {
    if e.is_corruption() {
        store.mark_corrupt(Damage::from(&e));
    }
    e
}

/// Reader threads over the ranges of `[0, last]`. Reader `w` of `n` reads ranges
/// `w, w + n, …` into its own bounded channel, so the checker takes range `k` from
/// reader `k mod n` and gets the pages in order without sorting them.
struct Scan {
    receivers: Vec<mpsc::Receiver<Page>>,
    threads: Vec<JoinHandle<()>>,
    /// First position scanned.
    from: u64,
    /// Range the checker takes next, and the first range (ranges are aligned to
    /// multiples of [`RANGE`], the first one cut at `from`).
    next: u64,
    first_range: u64,
    ranges: u64,
}

impl Scan {
    fn start(db_path: &Path, map_bytes: u64, from: u64, last: u64, position_hashed: bool) -> Self {
        let first_range = from / RANGE;
        let ranges = last / RANGE + 1;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let readers = cores
            .clamp(1, READERS_MAX)
            .min(usize::try_from(ranges - first_range).unwrap_or(usize::MAX));
        let mut receivers = Vec::with_capacity(readers);
        let mut threads = Vec::with_capacity(readers);
        for w in 0..readers {
            let (tx, rx) = mpsc::channel(READ_AHEAD);
            let reader = Reader {
                db_path: db_path.to_owned(),
                map_bytes,
                from,
                first_range: first_range + w as u64,
                step: readers as u64,
                ranges,
                last,
                position_hashed,
            };
            match std::thread::Builder::new()
                .name("hoso-ledger-scan".into())
                .spawn(move || reader.run(&tx))
            {
                Ok(t) => threads.push(t),
                Err(source) => {
                    // The checker finds this reader's first page missing and says why.
                    tracing::warn!(error = %source, "cannot start a scan thread");
                }
            }
            receivers.push(rx);
        }
        Self {
            receivers,
            threads,
            from,
            next: first_range,
            first_range,
            ranges,
        }
    }

    /// The next range's page, or `None` after the last range.
    async fn next_page(&mut self) -> Option<StoreResult<Page>> {
        if self.next >= self.ranges {
            return None;
        }
        let stopped = || StoreError::Backend {
            detail: "a scan thread stopped before reading its ranges".into(),
        };
        let reader = (self.next - self.first_range)
            .checked_rem(self.receivers.len() as u64)
            .and_then(|i| usize::try_from(i).ok());
        let Some(rx) = reader.and_then(|i| self.receivers.get_mut(i)) else {
            return Some(Err(stopped()));
        };
        let page = rx.recv().await.ok_or_else(stopped);
        self.next += 1;
        Some(page)
    }

    /// Stops the readers (a reader finishing a page finds its channel closed) and waits
    /// for them, so that no thread outlives the verification.
    async fn finish(self) {
        drop(self.receivers);
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// One reader thread's share of the ranges.
struct Reader {
    db_path: PathBuf,
    /// Bytes the reader maps of the log (the store's setting).
    map_bytes: u64,
    /// First position to read (the first range is cut there).
    from: u64,
    first_range: u64,
    step: u64,
    ranges: u64,
    last: u64,
    position_hashed: bool,
}

impl Reader {
    fn run(self, tx: &mpsc::Sender<Page>) {
        let conn = match super::open_reader(&self.db_path, self.map_bytes) {
            Ok(conn) => conn,
            Err(e) => {
                let _ = tx.blocking_send(Page {
                    events: Vec::new(),
                    hashes: Vec::new(),
                    stopped: Some(e),
                });
                return;
            }
        };
        let mut k = self.first_range;
        while k < self.ranges {
            // Ranges stay aligned to multiples of RANGE; only the first is cut at `from`.
            let lo = (k * RANGE).max(self.from);
            let hi = (k * RANGE).saturating_add(RANGE - 1).min(self.last);
            let page = self.read_range(&conn, lo, hi);
            let stopped = page.stopped.is_some();
            // A closed channel means the checker is done (it found a problem).
            if tx.blocking_send(page).is_err() || stopped {
                return;
            }
            k += self.step;
        }
    }

    /// Reads, decodes and hashes the events with `lo <= position <= hi`.
    fn read_range(&self, conn: &Connection, lo: u64, hi: u64) -> Page {
        let capacity = usize::try_from(hi - lo + 1).unwrap_or(0);
        let mut events = Vec::with_capacity(capacity);
        let mut hashes = Vec::with_capacity(capacity);
        let mut read = || -> StoreResult<()> {
            let sql = format!(
                "SELECT {COLUMNS} FROM events WHERE position BETWEEN ?1 AND ?2 ORDER BY position"
            );
            let mut stmt = conn
                .prepare_cached(&sql)
                .map_err(|e| sql_error("prepare read", e))?;
            let mut rows = stmt
                .query(params![to_i64(lo), to_i64(hi)])
                .map_err(|e| sql_error("read events", e))?;
            while let Some(row) = rows.next().map_err(|e| sql_error("read events", e))? {
                let e = event_from_row(row)?;
                hashes.push(e.compute_hash(self.position_hashed));
                events.push(e);
            }
            Ok(())
        };
        let stopped = read().err();
        Page {
            events,
            hashes,
            stopped,
        }
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

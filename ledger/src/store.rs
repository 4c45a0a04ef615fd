//! The `EventStore` contract every backend implements and the conformance suite checks.

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;

use crate::envelope::{ExpectedRevision, NewEvent, RecordedEvent};
use crate::error::{Damage, StoreError, StoreResult};
use crate::verify::{ChainVerifier, VerifyReport};

/// Options common to every backend.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Source of transaction time (`recorded_at`).
    pub clock: crate::clock::TimeSource,
    /// Bytes each read-only connection of the SQLite backend may map of the log and
    /// of its stream index (`PRAGMA mmap_size`). `None`: 4 GiB of the log and 1 GiB of
    /// the index, what a server's reads want. A process that reads the whole log once
    /// (a rebuild) bounds it with its cache budget: mapped pages count in its resident
    /// size, and the whole log would be mapped; pages past the bound are copied into
    /// the connection's page cache instead, which stays within its own size. Other
    /// backends ignore it.
    pub read_map_bytes: Option<u64>,
}

impl StoreOptions {
    /// The rows a new store writes in its meta table, whatever the backend: its
    /// format and version, when it was created, and an id of its own (which the
    /// derived files made from it, such as the stream index, record).
    pub(crate) fn new_store_meta(&self, format: &str, version: i64) -> [(&'static str, String); 4] {
        [
            ("format", format.to_owned()),
            ("format_version", version.to_string()),
            ("created_at", self.clock.now().to_rfc3339()),
            ("store_id", uuid::Uuid::now_v7().to_string()),
        ]
    }
}

/// Where a stream read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFrom {
    /// Revision 0 (forwards) — or the first event when reading backwards.
    Start,
    /// The last event.
    End,
    /// This revision, inclusive.
    Revision(u64),
}

/// Reading direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending revisions.
    Forwards,
    /// Descending revisions.
    Backwards,
}

/// The outcome of a successful append (or of an idempotent retry of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AppendResult {
    /// Revision of the last event of the batch: pass it as `Exact` to append next.
    pub stream_revision: u64,
    /// Global position of the first event of the batch.
    pub first_position: u64,
    /// Global position of the last event of the batch.
    pub last_position: u64,
}

/// A catch-up-then-live feed of `$all`.
pub type EventFeed = Pin<Box<dyn Stream<Item = StoreResult<RecordedEvent>> + Send>>;

/// Observer of a long read: called with each page after its events have verified, so a
/// caller can report progress or inspect the events in the same pass.
pub type PageObserver<'a> = &'a (dyn Fn(&[RecordedEvent]) + Send + Sync);

/// An append-only, hash-chained event log.
///
/// Invariants every backend upholds (and `conformance` checks):
/// - an append is atomic: all events of the batch are stored, or none;
/// - an acknowledged append is durable;
/// - per-stream revisions are dense from 0; `$all` positions strictly increase;
/// - a batch whose first event id is stored already is answered with the original result;
/// - nothing stored is ever changed or removed.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` if its current revision satisfies `expected`.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> StoreResult<AppendResult>;

    /// Reads at most `max_count` events of one stream.
    async fn read_stream(
        &self,
        stream: &str,
        from: StreamFrom,
        direction: Direction,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>>;

    /// The positions and stored chain hashes of at most `max_count` events of `$all`
    /// from `from_position`: what the Merkle tree needs of each event, without the
    /// rest. A backend may answer it from [`read_all`](Self::read_all).
    async fn read_hashes(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<(u64, crate::envelope::Hash)>> {
        Ok(self
            .read_all(from_position, max_count)
            .await?
            .into_iter()
            .map(|e| (e.position, e.hash))
            .collect())
    }

    /// Reads at most `max_count` events of `$all` from `from_position` (inclusive).
    /// A page may end early (just before a damaged event, which the next read from
    /// there reports); only an empty page means the end of the log.
    async fn read_all(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>>;

    /// The events of `$all` at positions `[from_position, to_position)` whose type is
    /// `event_type`, in order, at most `max_count`; an empty answer means none is left
    /// in the range. For a reader after one kind of event in a long range (the sync
    /// feed's approvals of a month): a backend can skip the others without carrying
    /// their payloads out. The default filters [`EventStore::read_all`]'s pages.
    async fn read_all_of_type(
        &self,
        from_position: u64,
        to_position: u64,
        event_type: &str,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let mut out = Vec::new();
        let mut next = from_position;
        while next < to_position && out.len() < max_count {
            let page = self.read_all(next, 4_096).await?;
            let Some(last) = page.last() else { break };
            next = last.position + 1;
            out.extend(
                page.into_iter()
                    .take_while(|e| e.position < to_position)
                    .filter(|e| e.event_type == event_type),
            );
        }
        out.truncate(max_count);
        Ok(out)
    }

    /// Every event from `from_position` on, in order: stored ones first, then live ones,
    /// with no gap and no duplicate at the switch. Ends only on error or when dropped.
    fn subscribe_all(&self, from_position: u64) -> EventFeed;

    /// The stream's last revision, or `None` if it has no events.
    async fn stream_revision(&self, stream: &str) -> StoreResult<Option<u64>>;

    /// Position of the last event in `$all`, or `None` when empty.
    async fn head_position(&self) -> StoreResult<Option<u64>>;

    /// The position of the first event, so readers of sparse logs know where to start.
    fn first_position(&self) -> u64 {
        0
    }

    /// Whether positions are dense (`0, 1, 2, …`). A dense backend assigns positions
    /// before hashing and covers them by the hash, so verification also detects an
    /// event removed from `$all` or `$all` reordered.
    fn dense_positions(&self) -> bool;

    /// Whether several nodes may append to this log at once (a shared database), so
    /// that the log can grow while this node is stopped or idle. The sealer then checks
    /// less after a shutdown head (see [`crate::sealer`]). Default: one node per log.
    fn shared(&self) -> bool {
        false
    }

    /// Records that corruption was detected; the store must refuse all writes from now on.
    fn mark_corrupt(&self, damage: Damage);

    /// The damage that made this store stop trusting its log (and refuse writes), if any.
    fn damage(&self) -> Option<Damage>;

    /// A short name for logs: `sqlite`, `kurrentdb`.
    fn backend_name(&self) -> &'static str;

    /// Verifies every stream's hash chain over the whole log in `$all` order, reporting
    /// the first bad position. A violation also marks the store corrupt.
    async fn verify_all(&self, observe: PageObserver<'_>) -> StoreResult<VerifyReport> {
        const PAGE: usize = 8_192;
        let first = self.first_position();
        let mut verifier = if self.dense_positions() {
            ChainVerifier::dense_from(first)
        } else {
            ChainVerifier::sparse(false)
        };
        let mut last_position = None;
        let mut next_read = Some(self.read_all(first, PAGE));
        while let Some(read) = next_read.take() {
            let page = match read.await {
                Ok(page) => page,
                Err(e) => {
                    if e.is_corruption() {
                        self.mark_corrupt(Damage::from(&e));
                    }
                    return Err(e);
                }
            };
            let Some(last) = page.last() else { break };
            last_position = Some(last.position);
            // Read the next page while this one is hashed: reading and hashing then
            // run on two cores instead of taking turns on one.
            // A short page is not proof of the end: a backend may end a page just before a
            // damaged row. Only an empty page ends the log.
            let prefetch = Some(self.read_all(last.position + 1, PAGE));
            let (prefetched, checked) = futures::future::join(
                async move {
                    match prefetch {
                        Some(read) => Some(read.await),
                        None => None,
                    }
                },
                async {
                    for e in &page {
                        verifier.check(e)?;
                    }
                    Ok::<(), crate::verify::ChainViolation>(())
                },
            )
            .await;
            if let Err(v) = checked {
                self.mark_corrupt(Damage::from(&v));
                return Err(StoreError::Chain(v));
            }
            observe(&page);
            next_read = prefetched.map(|r| Box::pin(async move { r }) as _);
        }
        Ok(VerifyReport {
            events: verifier.events(),
            streams: verifier.streams() as u64,
            last_position,
        })
    }

    /// Verifies the log from `from` to the head, as [`verify_all`](Self::verify_all)
    /// does from the start: the part an earlier verification did not cover. Each stream
    /// that continues from before `from` is linked to its last event there, which is
    /// taken as verified. Backends with sparse positions verify the whole log.
    async fn verify_from(&self, from: u64, observe: PageObserver<'_>) -> StoreResult<VerifyReport> {
        const PAGE: usize = 8_192;
        if !self.dense_positions() || from <= self.first_position() {
            return self.verify_all(observe).await;
        }
        let mut verifier = ChainVerifier::dense_from(from);
        let mut last_position = None;
        let mut next = from;
        let fail = |e: StoreError| {
            if e.is_corruption() {
                self.mark_corrupt(Damage::from(&e));
            }
            e
        };
        loop {
            let page = self.read_all(next, PAGE).await.map_err(fail)?;
            let Some(last) = page.last() else { break };
            last_position = Some(last.position);
            next = last.position + 1;
            let wanted: Vec<(String, u64)> = verifier
                .unseeded(&page)
                .into_iter()
                .map(|(s, r)| (s.to_owned(), r))
                .collect();
            for (stream, revision) in wanted {
                let before = self
                    .read_stream(
                        &stream,
                        StreamFrom::Revision(revision),
                        Direction::Forwards,
                        1,
                    )
                    .await
                    .map_err(fail)?;
                if let Some(e) = before
                    .first()
                    .filter(|e| e.revision == revision && e.position < from)
                {
                    verifier.seed(&stream, e.revision, e.hash);
                }
            }
            for e in &page {
                if let Err(v) = verifier.check(e) {
                    return Err(fail(StoreError::Chain(v)));
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

    /// Verifies one stream's chain from revision 0.
    async fn verify_stream(&self, stream: &str) -> StoreResult<u64> {
        const PAGE: usize = 4_096;
        let mut verifier = ChainVerifier::sparse(self.dense_positions());
        let mut from = 0;
        loop {
            let page = self
                .read_stream(
                    stream,
                    StreamFrom::Revision(from),
                    Direction::Forwards,
                    PAGE,
                )
                .await?;
            let Some(last) = page.last() else { break };
            from = last.revision + 1;
            for e in &page {
                if let Err(v) = verifier.check(e) {
                    self.mark_corrupt(Damage::from(&v));
                    return Err(StoreError::Chain(v));
                }
            }
        }
        Ok(verifier.events())
    }
}

//! The KurrentDB backend: the ledger on a KurrentDB (EventStoreDB) node or cluster, for
//! deployments that outgrow one machine.
//!
//! KurrentDB already has streams, revisions, optimistic concurrency, event ids, `$all`
//! and catch-up subscriptions; this module adds what the ledger needs on top:
//!
//! - **The hash chain.** Before an append the stream's last event is read and re-hashed,
//!   each new event is chained to it with [`chain_hash`], and the batch is appended with
//!   the exact revision that was read (`StreamRevision(last)` or `NoStream`), so a
//!   concurrent writer makes the server refuse rather than fork the chain. For
//!   [`ExpectedRevision::Any`] and [`ExpectedRevision::StreamExists`] the expectation
//!   is checked against what was read and the whole read-chain-append cycle is retried
//!   (up to [`APPEND_ATTEMPTS_MAX`] times) when another writer won.
//! - **The envelope.** Stream, revision, id, type and payload are KurrentDB's own fields;
//!   the rest of the envelope and the hashes travel in the event's custom metadata
//!   (see [`metadata`]). An event whose metadata does not decode is reported as
//!   [`StoreError::Corrupt`] at its position.
//! - **Idempotent retry.** The contract answers a batch whose first event id is stored
//!   already with the original result. KurrentDB does not index event ids, so the
//!   original is looked for where a retry can have put it: at revision `n + 1` for
//!   `Exact(n)`, at revision 0 for `NoStream`, and for `Any`/`StreamExists` by scanning
//!   the stream backwards from its head, stopping once events are older than the time
//!   in the (v7) event id minus [`RETRY_CLOCK_SKEW_US`]. Only this stream is searched: an
//!   id stored in another stream is not detected (the SQLite backend detects it).
//! - **Positions.** See [`position`]: a ledger position is twice the `$all` commit
//!   position, so that both "this event" and "just after it" map onto a record boundary
//!   the server can read from. Positions are sparse ([`EventStore::dense_positions`] is
//!   false). System events (stream or type starting with `$`) are not part of the ledger
//!   and are left out of `$all`.
//! - **Poison.** Once corruption is seen (a head that does not match its hash, metadata
//!   that does not decode, a stream deleted on the server), appends are refused with
//!   [`StoreError::Poisoned`] for the life of this store value and its clones.
//!
//! Requires a server that reports `$all` positions on stream reads (EventStoreDB 22.10,
//! KurrentDB and later); older servers are refused with a [`StoreError::Backend`] naming
//! the event, as is a log holding legacy explicit transactions.

mod metadata;
mod position;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, CurrentRevision, EventData, ReadAllOptions,
    ReadStreamOptions, ResolvedEvent, StreamPosition, StreamState, SubscribeToAllOptions,
    SubscriptionFilter,
};
use uuid::Uuid;

use crate::clock::TimeSource;
use crate::envelope::{
    EnvelopeRef, ExpectedRevision, GENESIS_HASH, Hash, NewEvent, RecordedEvent, chain_hash,
    from_micros, truncate_to_micros, validate_append,
};
use crate::error::{Damage, StoreError, StoreResult};
use crate::store::{AppendResult, Direction, EventFeed, EventStore, StoreOptions, StreamFrom};
use metadata::Metadata;

/// Times the read-chain-append cycle is repeated for `Any`/`StreamExists` when other
/// writers keep moving the stream's head; beyond this the append fails as a backend error.
pub const APPEND_ATTEMPTS_MAX: usize = 16;
/// How far the recorded time of a stored event may precede the time in the v7 id of the
/// batch that wrote it (clocks of the id generator and the writer disagreeing). Bounds
/// the backwards scan that looks for the original of a retried `Any` append.
pub const RETRY_CLOCK_SKEW_US: i64 = 10 * 60 * 1_000_000;
/// Events per page of that scan.
const RETRY_SCAN_PAGE: usize = 64;
/// Events per page when looking backwards for the last ledger event in `$all`.
const HEAD_SCAN_PAGE: usize = 32;
/// Oldest server known to report `$all` positions on stream reads, which appends need.
const SERVER_VERSION_MIN: (usize, usize) = (22, 10);

/// A hoso ledger kept in KurrentDB. Cheap to clone; clones share one connection and one
/// poison flag.
#[derive(Clone)]
pub struct KurrentStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// Host list for logs and `Debug`; never the connection string, which may hold a password.
    endpoints: String,
    clock: TimeSource,
    poison: Poison,
    /// Largest `recorded_at` this process has written, so transaction time never goes
    /// backwards between this process's appends even if the clock does.
    last_recorded_us: AtomicI64,
}

impl std::fmt::Debug for KurrentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentStore")
            .field("endpoints", &self.inner.endpoints)
            .field("poisoned", &self.inner.poison.get().is_some())
            .finish()
    }
}

/// The first corruption detected.
#[derive(Debug, Default)]
struct Poison(Mutex<Option<Damage>>);

impl Poison {
    fn set(&self, damage: Damage) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            tracing::error!(position = ?damage.position, reason = %damage.detail, "ledger damage detected: the node is untrusted and refuses all further writes");
            *g = Some(damage);
        }
    }

    fn get(&self) -> Option<Damage> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl KurrentStore {
    /// Connects to the server named by a KurrentDB connection string, e.g.
    /// `kurrentdb://admin:changeit@127.0.0.1:2113?tls=false`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// Like [`connect`](Self::connect), with options.
    ///
    /// Fails if the connection string does not parse or no node answers, so that a
    /// wrong address is found at start-up rather than at the first append.
    pub async fn connect_with(url: &str, options: StoreOptions) -> StoreResult<Self> {
        let settings: ClientSettings =
            url.parse()
                .map_err(|e: kurrentdb::ClientSettingsParseError| {
                    // The parse error may quote the whole string, password included.
                    let why = e
                        .error()
                        .map_or_else(|| e.message().to_owned(), ToString::to_string);
                    StoreError::Backend {
                        detail: format!("invalid KurrentDB connection string: {why}"),
                    }
                })?;
        let endpoints = settings
            .hosts()
            .iter()
            .map(|h| format!("{}:{}", h.host, h.port))
            .collect::<Vec<_>>()
            .join(",");
        let client = Client::new(settings).map_err(|e| StoreError::Backend {
            detail: format!("cannot create KurrentDB client for {endpoints}: {e}"),
        })?;
        let info = client
            .server_info()
            .await
            .map_err(|e| StoreError::Backend {
                detail: format!("cannot reach KurrentDB at {endpoints}: {e}"),
            })?;
        let version = info.version();
        // 0.0.0 means the server predates version reporting, let alone stream positions.
        if version < SERVER_VERSION_MIN {
            tracing::warn!(
                %version,
                "KurrentDB server may be too old for hoso: appends need $all positions on stream reads ({}.{} or later)",
                SERVER_VERSION_MIN.0,
                SERVER_VERSION_MIN.1,
            );
        }
        tracing::info!(%endpoints, %version, "connected to KurrentDB");
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                endpoints,
                clock: options.clock,
                poison: Poison::default(),
                last_recorded_us: AtomicI64::new(i64::MIN),
            }),
        })
    }

    /// The corruption that stopped writes, if any.
    pub fn poisoned(&self) -> Option<String> {
        self.inner.poison.get().map(|d| d.detail)
    }

    /// Records corruption found by an operation before handing its result on.
    fn note<T>(&self, result: StoreResult<T>) -> StoreResult<T> {
        if let Err(e) = &result
            && e.is_corruption()
        {
            self.inner.poison.set(Damage::from(e));
        }
        result
    }

    /// Reads one stream page as the server stores it (no decoding); a stream that does
    /// not exist reads as empty.
    async fn read_stream_raw(
        &self,
        stream: &str,
        from: StreamPosition<u64>,
        backwards: bool,
        max_count: usize,
        from_leader: bool,
    ) -> StoreResult<Vec<ResolvedEvent>> {
        if max_count == 0 {
            return Ok(Vec::new());
        }
        // `position` resets the direction for Start/End, so the direction comes after it.
        let options = ReadStreamOptions::default()
            .position(from)
            .max_count(max_count);
        let options = if backwards {
            options.backwards()
        } else {
            options.forwards()
        };
        let options = options.requires_leader(from_leader);
        let mut read = match self.inner.client.read_stream(stream, &options).await {
            Ok(read) => read,
            Err(e) => return stream_read_outcome(stream, e),
        };
        let mut out = Vec::new();
        while out.len() < max_count {
            match read.next().await {
                Ok(Some(e)) => out.push(e),
                Ok(None) => break,
                Err(e) => return stream_read_outcome(stream, e),
            }
        }
        Ok(out)
    }

    /// Reads and decodes one stream page.
    async fn read_stream_events(
        &self,
        stream: &str,
        from: StreamPosition<u64>,
        backwards: bool,
        max_count: usize,
        from_leader: bool,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let raw = self
            .read_stream_raw(stream, from, backwards, max_count, from_leader)
            .await?;
        raw.iter()
            .map(|r| {
                let e = original(r)?;
                decode_event(e, ledger_position(r, e)?)
            })
            .collect()
    }

    /// The stream's last event, re-hashed: the chain is only ever extended from a head
    /// that still matches its hash. Read from the leader, which has every acknowledged
    /// write.
    async fn head(&self, stream: &str) -> StoreResult<Option<RecordedEvent>> {
        let mut page = self
            .read_stream_events(stream, StreamPosition::End, true, 1, true)
            .await?;
        let Some(head) = page.pop() else {
            return Ok(None);
        };
        if head.compute_hash(false) != head.hash {
            return Err(StoreError::Corrupt {
                position: Some(head.position),
                detail: format!(
                    "head of stream {} (revision {}) does not match its hash",
                    head.stream, head.revision
                ),
            });
        }
        Ok(Some(head))
    }

    /// The transaction time of the next batch: now, but never before the stream's head
    /// nor before this process's previous append.
    fn recorded_at(&self, head: Option<&RecordedEvent>) -> StoreResult<DateTime<Utc>> {
        let mut us = self.inner.clock.now().timestamp_micros();
        if let Some(h) = head {
            us = us.max(h.recorded_at.timestamp_micros());
        }
        us = us.max(self.inner.last_recorded_us.fetch_max(us, Ordering::Relaxed));
        from_micros(us).ok_or_else(|| StoreError::Backend {
            detail: format!("clock out of range: {us} µs"),
        })
    }

    /// If `events` is a retry of a batch stored already, the original result.
    async fn find_original(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        head: &RecordedEvent,
        events: &[NewEvent],
    ) -> StoreResult<Option<AppendResult>> {
        let Some(first_id) = events.first().map(|e| e.event_id) else {
            return Ok(None);
        };
        let start = match expected {
            // The original was appended right after revision n, or not at all.
            ExpectedRevision::Exact(n) => match n.checked_add(1) {
                Some(start) if start <= head.revision => start,
                _ => return Ok(None),
            },
            ExpectedRevision::NoStream => 0,
            ExpectedRevision::Any | ExpectedRevision::StreamExists => {
                match self.scan_for(stream, head, first_id).await? {
                    Some(revision) => revision,
                    None => return Ok(None),
                }
            }
        };
        let stored = self
            .read_stream_events(
                stream,
                StreamPosition::Position(start),
                false,
                events.len(),
                true,
            )
            .await?;
        if stored.first().map(|e| e.event_id) != Some(first_id) {
            return Ok(None);
        }
        replay(events, &stored).map(Some)
    }

    /// The revision of the event with id `id`, searching backwards from the head and
    /// stopping where events were recorded too long before the id was generated.
    async fn scan_for(
        &self,
        stream: &str,
        head: &RecordedEvent,
        id: Uuid,
    ) -> StoreResult<Option<u64>> {
        let horizon_us = id_time_us(&id).map(|t| t.saturating_sub(RETRY_CLOCK_SKEW_US));
        let too_old =
            |e: &RecordedEvent| horizon_us.is_some_and(|h| e.recorded_at.timestamp_micros() < h);
        if head.event_id == id {
            return Ok(Some(head.revision));
        }
        if too_old(head) {
            return Ok(None);
        }
        let mut next = head.revision.checked_sub(1);
        while let Some(from) = next {
            let page = self
                .read_stream_events(
                    stream,
                    StreamPosition::Position(from),
                    true,
                    RETRY_SCAN_PAGE,
                    true,
                )
                .await?;
            for e in &page {
                if e.event_id == id {
                    return Ok(Some(e.revision));
                }
                if too_old(e) {
                    return Ok(None);
                }
            }
            next = page.last().and_then(|e| e.revision.checked_sub(1));
        }
        Ok(None)
    }

    /// The result of an acknowledged append, read back from the stream: the
    /// acknowledgement carries one position for the whole batch, the contract wants the
    /// first and the last. Also confirms the server stored this batch (or, when it
    /// recognised a concurrent duplicate by its ids, the identical original).
    async fn read_back(
        &self,
        stream: &str,
        first_revision: u64,
        events: &[NewEvent],
    ) -> StoreResult<AppendResult> {
        let stored = self
            .read_stream_events(
                stream,
                StreamPosition::Position(first_revision),
                false,
                events.len(),
                true,
            )
            .await?;
        let same_ids = stored.len() == events.len()
            && stored
                .iter()
                .zip(events)
                .all(|(s, e)| s.event_id == e.event_id);
        if !same_ids {
            return Err(StoreError::Backend {
                detail: format!(
                    "append to {stream} was acknowledged, but revisions from {first_revision} do not hold this batch"
                ),
            });
        }
        replay(events, &stored)
    }

    async fn append_checked(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: &[NewEvent],
    ) -> StoreResult<AppendResult> {
        for attempt in 1..=APPEND_ATTEMPTS_MAX {
            if let Some(damage) = self.inner.poison.get() {
                return Err(damage.refusal());
            }
            let head = self.head(stream).await?;
            if let Some(h) = &head
                && let Some(original) = self.find_original(stream, expected, h, events).await?
            {
                return Ok(original);
            }
            let current = head.as_ref().map(|h| h.revision);
            if !expected.admits(current) {
                return Err(StoreError::WrongExpectedRevision {
                    stream: stream.to_owned(),
                    expected,
                    current,
                });
            }
            let (state, first_revision, prev) = match &head {
                None => (StreamState::NoStream, 0, GENESIS_HASH),
                Some(h) => (
                    StreamState::StreamRevision(h.revision),
                    h.revision + 1,
                    h.hash,
                ),
            };
            let recorded_at = self.recorded_at(head.as_ref())?;
            let chain = chain_metadata(stream, first_revision, prev, recorded_at, events);
            let batch = event_data(events, &chain)?;
            let options = AppendToStreamOptions::default().stream_state(state);
            match self
                .inner
                .client
                .append_to_stream(stream, &options, batch)
                .await
            {
                Ok(_) => return self.read_back(stream, first_revision, events).await,
                Err(kurrentdb::Error::WrongExpectedVersion {
                    current: server, ..
                }) => match expected {
                    ExpectedRevision::Exact(_) | ExpectedRevision::NoStream => {
                        return Err(StoreError::WrongExpectedRevision {
                            stream: stream.to_owned(),
                            expected,
                            current: match server {
                                CurrentRevision::Current(r) => Some(r),
                                CurrentRevision::NoStream => None,
                            },
                        });
                    }
                    // The caller accepts any position, but the chain must link to the
                    // true predecessor: read the new head and chain again.
                    ExpectedRevision::Any | ExpectedRevision::StreamExists => {
                        tracing::debug!(
                            stream,
                            attempt,
                            "concurrent append moved the head; chaining again"
                        );
                    }
                },
                Err(e) => return Err(backend(&format!("append to {stream}"), &e)),
            }
        }
        Err(StoreError::Backend {
            detail: format!(
                "append to {stream}: other writers moved the stream's head {APPEND_ATTEMPTS_MAX} times in a row"
            ),
        })
    }

    async fn read_all_checked(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let mut out = Vec::new();
        let mut next = from_position;
        let mut last_seen: Option<u64> = None;
        while out.len() < max_count {
            let needed = max_count - out.len();
            // An odd start makes the server begin at the event just before it, which is
            // then dropped: ask for one more.
            let skipped = usize::from(!next.is_multiple_of(2));
            let options = ReadAllOptions::default()
                .position(position::read_start(next))
                .forwards()
                .filter(ledger_events())
                .max_count(needed.saturating_add(skipped));
            let mut read = self
                .inner
                .client
                .read_all(&options)
                .await
                .map_err(|e| backend("read $all", &e))?;
            let mut fresh = 0usize;
            while let Some(r) = read.next().await.map_err(|e| backend("read $all", &e))? {
                let e = original(&r)?;
                let pos = ledger_position(&r, e)?;
                if pos < next {
                    continue;
                }
                if last_seen.is_some_and(|l| pos <= l) {
                    return Err(not_increasing(e, pos));
                }
                last_seen = Some(pos);
                fresh += 1;
                if !is_system(e) && out.len() < max_count {
                    out.push(decode_event(e, pos)?);
                }
            }
            // Fewer new events than asked for: the end of `$all`.
            let Some(last) = last_seen.filter(|_| fresh >= needed) else {
                break;
            };
            next = last + 1;
        }
        Ok(out)
    }

    async fn head_position_checked(&self) -> StoreResult<Option<u64>> {
        let mut from = StreamPosition::End;
        loop {
            let options = ReadAllOptions::default()
                .position(from)
                .backwards()
                .filter(ledger_events())
                .max_count(HEAD_SCAN_PAGE);
            let mut read = self
                .inner
                .client
                .read_all(&options)
                .await
                .map_err(|e| backend("read $all", &e))?;
            let mut count = 0usize;
            let mut oldest = None;
            while let Some(r) = read.next().await.map_err(|e| backend("read $all", &e))? {
                let e = original(&r)?;
                let pos = ledger_position(&r, e)?;
                if !is_system(e) {
                    return Ok(Some(pos));
                }
                count += 1;
                oldest = Some(pos);
            }
            match oldest {
                // A full page of system-typed events: keep looking further back.
                Some(pos) if count == HEAD_SCAN_PAGE => {
                    from = StreamPosition::Position(position::of_event(pos))
                }
                _ => return Ok(None),
            }
        }
    }
}

/// Maps a stream read's failure: a missing stream is empty, a deleted one is damage (the
/// ledger never deletes), anything else a backend failure.
fn stream_read_outcome<T: Default>(stream: &str, e: kurrentdb::Error) -> StoreResult<T> {
    match e {
        kurrentdb::Error::ResourceNotFound => Ok(T::default()),
        kurrentdb::Error::ResourceDeleted => Err(StoreError::Corrupt {
            position: None,
            detail: format!("stream {stream} was deleted on the server; the ledger never deletes"),
        }),
        e => Err(backend(&format!("read stream {stream}"), &e)),
    }
}

fn backend(what: &str, e: &kurrentdb::Error) -> StoreError {
    StoreError::Backend {
        detail: format!("{what}: {e}"),
    }
}

/// The server-side filter for `$all`: no system streams. System-typed events in other
/// streams (links) are dropped by [`is_system`] after reading.
fn ledger_events() -> SubscriptionFilter {
    SubscriptionFilter::on_stream_name().exclude_system_events()
}

fn is_system(e: &kurrentdb::RecordedEvent) -> bool {
    e.stream_id().starts_with('$') || e.event_type.starts_with('$')
}

/// The stored event itself (link resolution is never asked for, so it is always there).
fn original(r: &ResolvedEvent) -> StoreResult<&kurrentdb::RecordedEvent> {
    r.event.as_ref().ok_or_else(|| StoreError::Backend {
        detail: "the server sent a read result without an event".into(),
    })
}

fn ledger_position(r: &ResolvedEvent, e: &kurrentdb::RecordedEvent) -> StoreResult<u64> {
    position::from_commit(e.position.commit)
        .or_else(|| r.commit_position.and_then(position::from_commit))
        .ok_or_else(|| StoreError::Backend {
            detail: format!(
                "the server reported no $all position for {}@{}; hoso needs EventStoreDB {}.{} or KurrentDB, \
                 which report it on stream reads",
                e.stream_id(),
                e.revision,
                SERVER_VERSION_MIN.0,
                SERVER_VERSION_MIN.1,
            ),
        })
}

fn not_increasing(e: &kurrentdb::RecordedEvent, pos: u64) -> StoreError {
    StoreError::Backend {
        detail: format!(
            "$all positions do not increase at {}@{} ({}): events written in a legacy explicit \
             transaction share a commit position, which the ledger cannot represent (position {pos})",
            e.stream_id(),
            e.revision,
            e.position,
        ),
    }
}

/// The ledger event stored as `e` at ledger position `position`.
fn decode_event(e: &kurrentdb::RecordedEvent, position: u64) -> StoreResult<RecordedEvent> {
    let stream = e.stream_id();
    let m = metadata::decode(&e.custom_metadata).map_err(|why| StoreError::Corrupt {
        position: Some(position),
        detail: format!("event {stream}@{}: {why}", e.revision),
    })?;
    Ok(RecordedEvent {
        position,
        stream: stream.to_owned(),
        revision: e.revision,
        event_id: e.id,
        event_type: e.event_type.clone(),
        schema_version: m.schema_version,
        payload: e.data.to_vec(),
        actor: m.actor,
        correlation_id: m.correlation_id,
        causation_id: m.causation_id,
        recorded_at: m.recorded_at,
        effective_at: m.effective_at,
        source_document: m.source_document,
        prev_hash: m.prev_hash,
        hash: m.hash,
    })
}

/// The metadata of each event of the batch, each chained to the one before, starting
/// from `prev` (the hash of the head at `first_revision - 1`).
fn chain_metadata(
    stream: &str,
    first_revision: u64,
    mut prev: Hash,
    recorded_at: DateTime<Utc>,
    events: &[NewEvent],
) -> Vec<Metadata> {
    let mut out = Vec::with_capacity(events.len());
    for (revision, e) in (first_revision..).zip(events) {
        let hash = chain_hash(
            &prev,
            &EnvelopeRef::of_new(stream, revision, None, recorded_at, e),
            &e.payload,
        );
        out.push(Metadata {
            schema_version: e.schema_version,
            actor: e.actor.clone(),
            correlation_id: e.correlation_id,
            causation_id: e.causation_id,
            recorded_at,
            effective_at: e.effective_at,
            source_document: e.source_document.clone(),
            prev_hash: prev,
            hash,
        });
        prev = hash;
    }
    out
}

/// The batch as KurrentDB events: our id, type and payload (binary), the rest of the
/// envelope and the chain in the metadata.
fn event_data(events: &[NewEvent], metadata: &[Metadata]) -> StoreResult<Vec<EventData>> {
    events
        .iter()
        .zip(metadata)
        .map(|(e, m)| {
            let meta = metadata::encode(m).map_err(|err| StoreError::Backend {
                detail: format!("encode metadata of event {}: {err}", e.event_id),
            })?;
            Ok(
                EventData::binary(&e.event_type, Bytes::from(e.payload.clone()))
                    .id(e.event_id)
                    .metadata(Bytes::from(meta)),
            )
        })
        .collect()
}

/// The original result of `events` from the stored run `stored` that starts with the
/// batch's first event, provided it is exactly this batch (same ids in order, same types
/// and payloads); otherwise the same refusals as the SQLite backend.
fn replay(events: &[NewEvent], stored: &[RecordedEvent]) -> StoreResult<AppendResult> {
    for (i, e) in events.iter().enumerate() {
        let Some(s) = stored.get(i) else {
            return Err(StoreError::InvalidInput {
                reason: format!(
                    "event {} of this batch is new but earlier ones are stored: not a retry",
                    e.event_id
                ),
            });
        };
        if s.event_id != e.event_id {
            return Err(StoreError::InvalidInput {
                reason: format!(
                    "event {} of this batch does not follow the stored earlier ones: not a retry",
                    e.event_id
                ),
            });
        }
        if s.event_type != e.event_type || s.payload != e.payload {
            return Err(StoreError::DuplicateEventId {
                event_id: e.event_id,
                existing: format!("{}@{}", s.stream, s.revision),
            });
        }
    }
    match (
        stored.first(),
        events.len().checked_sub(1).and_then(|i| stored.get(i)),
    ) {
        (Some(first), Some(last)) => Ok(AppendResult {
            stream_revision: last.revision,
            first_position: first.position,
            last_position: last.position,
        }),
        _ => Err(StoreError::InvalidInput {
            reason: "a batch must hold at least one event".into(),
        }),
    }
}

/// Microseconds since the Unix epoch encoded in a v7 id, if it is one.
fn id_time_us(id: &Uuid) -> Option<i64> {
    if id.get_version() != Some(uuid::Version::SortRand) {
        return None;
    }
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    i64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(i64::from(nanos / 1_000))
}

#[async_trait]
impl EventStore for KurrentStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> StoreResult<AppendResult> {
        if let Some(damage) = self.inner.poison.get() {
            return Err(damage.refusal());
        }
        let events: Vec<NewEvent> = events
            .into_iter()
            .map(|mut e| {
                // What is hashed must equal what is read back, which has µs precision.
                e.effective_at = e.effective_at.map(truncate_to_micros);
                e
            })
            .collect();
        validate_append(stream, &events)?;
        if let Some(e) = events.iter().find(|e| e.event_type.starts_with('$')) {
            return Err(StoreError::InvalidInput {
                reason: format!(
                    "event type {} is reserved for KurrentDB system events",
                    e.event_type
                ),
            });
        }
        let result = self.append_checked(stream, expected, &events).await;
        self.note(result)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: StreamFrom,
        direction: Direction,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let start = match (direction, from) {
            (Direction::Forwards, StreamFrom::End) => return Ok(Vec::new()),
            (Direction::Forwards, StreamFrom::Start) => StreamPosition::Start,
            (Direction::Backwards, StreamFrom::End) => StreamPosition::End,
            (Direction::Backwards, StreamFrom::Start) => StreamPosition::Position(0),
            (Direction::Forwards, StreamFrom::Revision(r)) => StreamPosition::Position(r),
            (Direction::Backwards, StreamFrom::Revision(r)) => {
                // Reading backwards from beyond the end is not clamped by every server
                // version; clamp to the last revision here so the result is "revision <= r".
                match self.stream_revision(stream).await? {
                    None => return Ok(Vec::new()),
                    Some(last) => StreamPosition::Position(r.min(last)),
                }
            }
        };
        let backwards = direction == Direction::Backwards;
        let result = self
            .read_stream_events(stream, start, backwards, max_count, false)
            .await;
        self.note(result)
    }

    async fn read_all(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let result = self.read_all_checked(from_position, max_count).await;
        self.note(result)
    }

    fn subscribe_all(&self, from_position: u64) -> EventFeed {
        struct Feed {
            store: KurrentStore,
            subscription: Option<kurrentdb::Subscription>,
            from: u64,
            last: Option<u64>,
            done: bool,
        }
        let feed = Feed {
            store: self.clone(),
            subscription: None,
            from: from_position,
            last: None,
            done: false,
        };
        // The server's subscription does catch-up and the switch to live itself, without
        // gap or duplicate; its start checkpoint is exclusive, which `subscription_start`
        // translates. Positions are still checked here, so a resent event is never passed on.
        Box::pin(futures::stream::unfold(feed, |mut f| async move {
            if f.done {
                return None;
            }
            let mut subscription = match f.subscription.take() {
                Some(s) => s,
                None => {
                    let options = SubscribeToAllOptions::default()
                        .position(position::subscription_start(f.from))
                        .filter(ledger_events());
                    f.store.inner.client.subscribe_to_all(&options).await
                }
            };
            loop {
                let r = match subscription.next().await {
                    Ok(r) => r,
                    Err(e) => {
                        f.done = true;
                        return Some((Err(backend("subscription to $all", &e)), f));
                    }
                };
                let located = original(&r).and_then(|e| ledger_position(&r, e).map(|pos| (e, pos)));
                let (e, pos) = match located {
                    Ok(found) => found,
                    Err(err) => {
                        f.done = true;
                        return Some((Err(err), f));
                    }
                };
                if pos < f.from || f.last.is_some_and(|l| pos <= l) {
                    tracing::warn!(
                        position = pos,
                        "subscription to $all resent an event; skipped"
                    );
                    continue;
                }
                f.last = Some(pos);
                if is_system(e) {
                    continue;
                }
                let decoded = f.store.note(decode_event(e, pos));
                f.done = decoded.is_err();
                f.subscription = Some(subscription);
                return Some((decoded, f));
            }
        }))
    }

    async fn stream_revision(&self, stream: &str) -> StoreResult<Option<u64>> {
        let last = self
            .read_stream_raw(stream, StreamPosition::End, true, 1, false)
            .await;
        let last = self.note(last)?;
        Ok(last
            .first()
            .and_then(|r| r.event.as_ref())
            .map(|e| e.revision))
    }

    async fn head_position(&self) -> StoreResult<Option<u64>> {
        self.head_position_checked().await
    }

    fn dense_positions(&self) -> bool {
        false
    }

    fn mark_corrupt(&self, damage: Damage) {
        self.inner.poison.set(damage);
    }

    fn damage(&self) -> Option<Damage> {
        self.inner.poison.get()
    }

    fn backend_name(&self) -> &'static str {
        "kurrentdb"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::SourceDocument;

    fn batch(n: usize) -> Vec<NewEvent> {
        (0..n)
            .map(|i| NewEvent::new("test.Happened", 1, vec![i as u8; 4]))
            .collect()
    }

    /// What the server would hand back for `events` stored from `first_revision` at
    /// commit positions 100, 200, …
    fn stored(stream: &str, first_revision: u64, events: &[NewEvent]) -> Vec<RecordedEvent> {
        let at = from_micros(1_700_000_000_000_000).unwrap();
        let mut prev = GENESIS_HASH;
        (first_revision..)
            .zip(events)
            .enumerate()
            .map(|(i, (revision, e))| {
                let hash = chain_hash(
                    &prev,
                    &EnvelopeRef::of_new(stream, revision, None, at, e),
                    &e.payload,
                );
                let r = RecordedEvent {
                    position: position::from_commit(100 * (i as u64 + 1)).unwrap(),
                    stream: stream.into(),
                    revision,
                    event_id: e.event_id,
                    event_type: e.event_type.clone(),
                    schema_version: e.schema_version,
                    payload: e.payload.clone(),
                    actor: e.actor.clone(),
                    correlation_id: e.correlation_id,
                    causation_id: e.causation_id,
                    recorded_at: at,
                    effective_at: e.effective_at,
                    source_document: e.source_document.clone(),
                    prev_hash: prev,
                    hash,
                };
                prev = hash;
                r
            })
            .collect()
    }

    #[test]
    fn a_retry_is_answered_with_the_original_result() {
        let events = batch(3);
        let s = stored("s", 5, &events);
        assert_eq!(
            replay(&events, &s).unwrap(),
            AppendResult {
                stream_revision: 7,
                first_position: 200,
                last_position: 600
            }
        );
    }

    #[test]
    fn a_changed_retry_is_refused_like_sqlite_does() {
        let events = batch(3);
        let s = stored("s", 0, &events);
        // Same ids, different content.
        let mut changed = events.clone();
        changed[1].payload.push(9);
        assert!(matches!(
            replay(&changed, &s),
            Err(StoreError::DuplicateEventId { event_id, existing }) if event_id == events[1].event_id && existing == "s@1"
        ));
        // A longer batch whose new tail is not stored.
        let mut longer = events.clone();
        longer.extend(batch(1));
        assert!(matches!(
            replay(&longer, &s),
            Err(StoreError::InvalidInput { .. })
        ));
        // A batch that starts like a stored one and then diverges.
        let mut diverging = events.clone();
        diverging[2] = batch(1).remove(0);
        assert!(matches!(
            replay(&diverging, &s),
            Err(StoreError::InvalidInput { .. })
        ));
    }

    #[test]
    fn the_chain_in_metadata_links_to_the_head_and_verifies() {
        let mut events = batch(3);
        events[0] = events[0]
            .clone()
            .with_actor("acc-1")
            .with_trace(Some(Uuid::now_v7()), Some(Uuid::now_v7()))
            .with_effective_at(from_micros(1_600_000_000_000_000).unwrap())
            .with_source_document(SourceDocument {
                number: "1/QĐ".into(),
                date: chrono::NaiveDate::from_ymd_opt(2020, 9, 13).unwrap(),
                issuer: "UBND".into(),
                attachment_sha256: Some([7; 32]),
            });
        let at = from_micros(1_700_000_000_000_001).unwrap();
        let head_hash = [3; 32];
        let chain = chain_metadata("dossier-1", 4, head_hash, at, &events);
        assert_eq!(event_data(&events, &chain).unwrap().len(), 3);
        // Rebuild what a reader gets back (metadata through its bytes) and verify it.
        let mut link = head_hash;
        for ((revision, e), m) in (4..).zip(&events).zip(&chain) {
            let m = metadata::decode(&metadata::encode(m).unwrap()).unwrap();
            let r = RecordedEvent {
                position: 0,
                stream: "dossier-1".into(),
                revision,
                event_id: e.event_id,
                event_type: e.event_type.clone(),
                schema_version: m.schema_version,
                payload: e.payload.clone(),
                actor: m.actor,
                correlation_id: m.correlation_id,
                causation_id: m.causation_id,
                recorded_at: m.recorded_at,
                effective_at: m.effective_at,
                source_document: m.source_document,
                prev_hash: m.prev_hash,
                hash: m.hash,
            };
            assert_eq!(r.recorded_at, at);
            assert_eq!(r.prev_hash, link);
            assert_eq!(r.compute_hash(false), r.hash);
            link = r.hash;
        }
        assert_eq!(chain[0].source_document, events[0].source_document);
    }

    #[test]
    fn v7_ids_give_their_time_and_others_none() {
        let id = Uuid::now_v7();
        // A v7 id carries the wall time it was made at, so this compares
        // with the system time, read the crate's one sanctioned way.
        let now_us = TimeSource::system().now().timestamp_micros();
        let t = id_time_us(&id).unwrap();
        assert!((now_us - t).abs() < 5_000_000, "{t} vs {now_us}");
        assert_eq!(id_time_us(&Uuid::from_u128(42)), None);
        assert_eq!(
            id_time_us(&uuid::Builder::from_random_bytes([7; 16]).into_uuid()),
            None
        );
    }
}

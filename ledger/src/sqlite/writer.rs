//! The single writer thread and its group commit.
//!
//! Every append goes through one thread that owns the only writing connection. It takes
//! whatever requests are queued, checks each against the stream heads (committed ones
//! plus those written earlier in the same group), inserts the accepted ones in one
//! transaction and commits once — one fsync for the whole group — before answering
//! anyone. A request the rules refuse is answered with its rejection and leaves no row;
//! a storage failure rolls back the whole group and every request in it fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{OwnedSemaphorePermit, oneshot, watch};
use uuid::Uuid;

use super::index::StreamIndex;
use super::schema::sql_error;
use crate::clock::TimeSource;
use crate::envelope::{
    EnvelopeRef, ExpectedRevision, GENESIS_HASH, Hash, NewEvent, chain_hash, days_since_epoch,
};
use crate::error::{Damage, StoreError, StoreResult};
use crate::retry::{Batch, Stored, duplicate, replay};
use crate::store::AppendResult;

/// Most requests committed together; bounds the latency one group adds to the next.
const GROUP_REQUESTS_MAX: usize = 1_024;
/// Most events committed together.
const GROUP_EVENTS_MAX: usize = 16_384;
/// Longest a commit waits for more requests to join its group.
const GATHER_WAIT_MAX: std::time::Duration = std::time::Duration::from_micros(500);
/// Stream heads kept in memory; beyond this the cache is dropped and refilled from disk.
const HEADS_CACHED_MAX: usize = 500_000;

/// One append waiting for the writer.
pub(super) struct WriteRequest {
    pub stream: String,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<StoreResult<AppendResult>>,
    /// A place in the bounded queue, released when the request is answered.
    pub _permit: OwnedSemaphorePermit,
}

impl Batch for WriteRequest {
    fn stream(&self) -> &str {
        &self.stream
    }

    fn events(&self) -> &[NewEvent] {
        &self.events
    }
}

/// The first corruption detected, shared by the store and its writer, and kept in a
/// marker file beside the log so that a restart does not forget it: writes stay refused
/// until an operator has repaired the ledger (e.g. restored a verified backup) and
/// removed the marker.
#[derive(Debug)]
pub(super) struct Poison {
    damage: Mutex<Option<Damage>>,
    /// `None` when the store was opened read-only: it may not write even the marker.
    marker: Option<std::path::PathBuf>,
}

impl Poison {
    /// The poison state of the store whose marker file is `marker`. The marker holds the
    /// damage as JSON; a marker of an older build holds only the words, which are kept.
    pub fn load(marker: std::path::PathBuf, writable: bool) -> Self {
        let damage = std::fs::read_to_string(&marker).ok().map(|text| {
            serde_json::from_str::<Damage>(&text).unwrap_or_else(|_| Damage::new(None, text))
        });
        Self {
            damage: Mutex::new(damage),
            marker: writable.then_some(marker),
        }
    }

    pub fn set(&self, damage: Damage) {
        let mut g = self.damage.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            tracing::error!(position = ?damage.position, reason = %damage.detail, "ledger damage detected: the node is untrusted and refuses all further writes");
            if let Some(marker) = &self.marker {
                let text = serde_json::to_string(&damage).unwrap_or_else(|_| damage.detail.clone());
                if let Err(e) = std::fs::write(marker, text) {
                    tracing::error!(error = %e, marker = %marker.display(), "cannot record the corruption marker");
                }
            }
            *g = Some(damage);
        }
    }

    pub fn get(&self) -> Option<Damage> {
        self.damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub(super) struct Writer {
    pub conn: Connection,
    pub next_position: u64,
    pub last_recorded_us: i64,
    pub heads: HashMap<String, (u64, Hash)>,
    pub poison: Arc<Poison>,
    pub head_tx: watch::Sender<Option<u64>>,
    pub clock: TimeSource,
    pub index: Arc<StreamIndex>,
    /// Set by the maintenance thread when the WAL has grown long; see [`Writer::run`].
    pub wal_catch_up: Arc<std::sync::atomic::AtomicBool>,
}

/// Why one request could not be applied.
enum Refusal {
    /// The rules said no; nothing of this request was written, the group goes on.
    Rejected(StoreError),
    /// Storage failed; the whole group must roll back.
    Failed(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Failed(e)
    }
}

/// Where an event of the current group was written: its request and index in that
/// request's batch, and its revision and position.
#[derive(Clone, Copy)]
struct Written {
    request: usize,
    index: usize,
    revision: u64,
    position: u64,
}

/// What the current group has written so far, not yet committed.
#[derive(Default)]
struct Pending {
    heads: HashMap<String, (u64, Hash)>,
    ids: HashMap<Uuid, Written>,
    /// (request, revision, position) of every event written, in log order.
    placed: Vec<(usize, u64, u64)>,
    last_hash: Option<Hash>,
}

impl Writer {
    /// Serves requests until every sender is gone.
    ///
    /// Gathering is what makes group commit pay: the writers answered by the last
    /// commit come straight back, so the writer waits (briefly, bounded by
    /// `GATHER_WAIT_MAX`) until about as many requests as it just answered are queued.
    /// Without the wait, the first writer back would get a commit (and an fsync) of its
    /// own while the rest queue behind it, halving the group size.
    pub fn run(mut self, rx: std::sync::mpsc::Receiver<WriteRequest>) {
        use std::sync::mpsc::RecvTimeoutError;
        let mut group: Vec<WriteRequest> = Vec::with_capacity(64);
        let mut expected_back = 1usize;
        while let Ok(first) = rx.recv() {
            let mut events = first.events.len();
            group.push(first);
            let deadline = std::time::Instant::now() + GATHER_WAIT_MAX;
            while group.len() < GROUP_REQUESTS_MAX && events < GROUP_EVENTS_MAX {
                let next = match rx.try_recv() {
                    Ok(r) => Ok(r),
                    Err(_) if group.len() >= expected_back => break,
                    Err(_) => {
                        let now = std::time::Instant::now();
                        if now >= deadline {
                            break;
                        }
                        rx.recv_timeout(deadline - now)
                    }
                };
                match next {
                    Ok(r) => {
                        events += r.events.len();
                        group.push(r);
                    }
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            expected_back = group.len();
            tracing::trace!(requests = group.len(), events, "group commit");
            self.commit_group(&mut group);
            group.clear();
            // SQLite starts the WAL over only when a write begins with every frame
            // already copied back, which a checkpoint on another thread never achieves
            // while appends keep coming: the WAL would grow without end, and appending
            // to a growing file costs each fsync a metadata update. The background
            // checkpoint has copied most frames, so finishing it here copies only the
            // last few groups' and the next BEGIN rewinds the WAL.
            if self
                .wal_catch_up
                .swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                let started = std::time::Instant::now();
                match self
                    .conn
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
                {
                    Ok(frames) => tracing::trace!(
                        frames,
                        us = started.elapsed().as_micros() as u64,
                        "writer finished the checkpoint"
                    ),
                    Err(e) => tracing::warn!(error = %e, "writer checkpoint failed"),
                }
            }
        }
        tracing::debug!("ledger writer stopped");
    }

    fn commit_group(&mut self, group: &mut [WriteRequest]) {
        if let Some(damage) = self.poison.get() {
            for r in group.iter_mut() {
                reply(r, Err(damage.refusal()));
            }
            return;
        }
        let now_us = self
            .clock
            .now()
            .timestamp_micros()
            .max(self.last_recorded_us);
        let mut pending = Pending::default();
        let mut position = self.next_position;
        let mut outcomes: Vec<StoreResult<AppendResult>> = Vec::with_capacity(group.len());

        let started = std::time::Instant::now();
        let result = (|| -> StoreResult<()> {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| sql_error("begin", e))?;
            for i in 0..group.len() {
                match self.apply(group, i, &mut pending, &mut position, now_us) {
                    Ok(r) => outcomes.push(Ok(r)),
                    Err(Refusal::Rejected(e)) => outcomes.push(Err(e)),
                    Err(Refusal::Failed(e)) => return Err(e),
                }
            }
            let applied = std::time::Instant::now();
            let committed = self
                .conn
                .execute_batch("COMMIT")
                .map_err(|e| sql_error("commit", e));
            tracing::trace!(
                requests = group.len(),
                apply_us = (applied - started).as_micros() as u64,
                commit_us = applied.elapsed().as_micros() as u64,
                "group committed"
            );
            committed
        })();

        match result {
            Ok(()) => {
                if position > self.next_position {
                    self.next_position = position;
                    self.last_recorded_us = now_us;
                    if self.heads.len() + pending.heads.len() > HEADS_CACHED_MAX {
                        self.heads.clear();
                    }
                    self.heads.extend(pending.heads);
                    if let Some(last_hash) = pending.last_hash {
                        // Before anyone hears of the commit, so a read after the
                        // acknowledgement finds these events by stream.
                        self.index.record(
                            pending
                                .placed
                                .iter()
                                .map(|&(r, rev, pos)| (group[r].stream.as_str(), rev, pos)),
                            position,
                            last_hash,
                        );
                    }
                    self.head_tx.send_replace(Some(position - 1));
                }
                for (r, o) in group.iter_mut().zip(outcomes) {
                    reply(r, o);
                }
            }
            Err(e) => {
                // Nothing of this group is on disk. Forget what it cached, so the next
                // group starts from committed state only.
                let _ = self.conn.execute_batch("ROLLBACK");
                self.heads.clear();
                tracing::error!(error = %e, requests = group.len(), "group commit failed; rolled back");
                if e.is_corruption() {
                    self.poison.set(Damage::from(&e));
                }
                let detail = e.to_string();
                for r in group.iter_mut() {
                    reply(
                        r,
                        Err(StoreError::Backend {
                            detail: format!("group commit failed: {detail}"),
                        }),
                    );
                }
            }
        }
    }

    fn apply(
        &mut self,
        group: &[WriteRequest],
        index: usize,
        pending: &mut Pending,
        position: &mut u64,
        now_us: i64,
    ) -> Result<AppendResult, Refusal> {
        let req = &group[index];
        // Limits and shapes were checked by `SqliteStore::append` before queueing, off
        // this single serial thread; only an empty batch could still index out of range.
        let Some(first) = req.events.first() else {
            return Err(Refusal::Rejected(StoreError::InvalidInput {
                reason: "a batch must hold at least one event".into(),
            }));
        };

        // An append whose first event is stored already is a retry: answer as before.
        if let Some(stored) = self.find_event(&first.event_id, pending)? {
            let mut first = Some(stored);
            return replay(group, req, |id| match first.take() {
                Some(s) => Ok(Some(s)),
                None => self.find_event(id, pending),
            })
            .map_err(Refusal::Rejected);
        }
        for e in &req.events[1..] {
            if let Some(stored) = self.find_event(&e.event_id, pending)? {
                return Err(Refusal::Rejected(duplicate(e.event_id, &stored, group)));
            }
        }

        let head = self.head(&req.stream, pending)?;
        let current = head.map(|(rev, _)| rev);
        if !req.expected.admits(current) {
            return Err(Refusal::Rejected(StoreError::WrongExpectedRevision {
                stream: req.stream.clone(),
                expected: req.expected,
                current,
            }));
        }

        let (mut revision, mut prev) = match head {
            Some((rev, hash)) => (rev + 1, hash),
            None => (0, GENESIS_HASH),
        };
        let first_position = *position;
        let recorded_at = crate::envelope::from_micros(now_us).ok_or_else(|| {
            Refusal::Failed(StoreError::Backend {
                detail: format!("clock out of range: {now_us}"),
            })
        })?;
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO events (position, stream, revision, event_id, event_type, \
                 schema_version, payload, actor, correlation_id, causation_id, recorded_at, \
                 effective_at, doc_number, doc_date, doc_issuer, doc_sha256, prev_hash, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )
            .map_err(|e| sql_error("prepare insert", e))?;
        for (i, e) in req.events.iter().enumerate() {
            let env = EnvelopeRef::of_new(&req.stream, revision, Some(*position), recorded_at, e);
            let hash = chain_hash(&prev, &env, &e.payload);
            let doc = e.source_document.as_ref();
            insert
                .execute(params![
                    *position as i64,
                    req.stream,
                    revision as i64,
                    e.event_id.as_bytes(),
                    e.event_type,
                    e.schema_version,
                    e.payload,
                    e.actor,
                    e.correlation_id.as_ref().map(|u| u.as_bytes()),
                    e.causation_id.as_ref().map(|u| u.as_bytes()),
                    now_us,
                    e.effective_at.map(|t| t.timestamp_micros()),
                    doc.map(|d| d.number.as_str()),
                    doc.map(|d| days_since_epoch(d.date)),
                    doc.map(|d| d.issuer.as_str()),
                    doc.and_then(|d| d.attachment_sha256.as_ref())
                        .map(|h| h.as_slice()),
                    prev.as_slice(),
                    hash.as_slice(),
                ])
                .map_err(|e| sql_error("insert event", e))?;
            let written = Written {
                request: index,
                index: i,
                revision,
                position: *position,
            };
            pending.ids.insert(e.event_id, written);
            pending.placed.push((index, revision, *position));
            pending.last_hash = Some(hash);
            prev = hash;
            revision += 1;
            *position += 1;
        }
        let last_revision = revision - 1;
        pending
            .heads
            .insert(req.stream.clone(), (last_revision, prev));
        Ok(AppendResult {
            stream_revision: last_revision,
            first_position,
            last_position: *position - 1,
        })
    }

    /// The stream's head: this group's writes first, then the cache, then the disk.
    /// A head read from disk is re-hashed before the chain is extended from it, so a
    /// tampered head is caught before anything new is linked to it.
    fn head(&mut self, stream: &str, pending: &Pending) -> StoreResult<Option<(u64, Hash)>> {
        if let Some(h) = pending.heads.get(stream) {
            return Ok(Some(*h));
        }
        if let Some(h) = self.heads.get(stream) {
            return Ok(Some(*h));
        }
        let Some(e) = self.index.latest(&self.conn, stream)? else {
            return Ok(None);
        };
        if e.compute_hash(true) != e.hash {
            let err = StoreError::Corrupt {
                position: Some(e.position),
                detail: format!(
                    "head of stream {} (revision {}) does not match its hash",
                    e.stream, e.revision
                ),
            };
            self.poison.set(Damage::from(&err));
            return Err(err);
        }
        let head = (e.revision, e.hash);
        self.heads.insert(stream.to_owned(), head);
        Ok(Some(head))
    }

    fn find_event(&self, id: &Uuid, pending: &Pending) -> StoreResult<Option<Stored>> {
        if let Some(&Written {
            request,
            index,
            revision,
            position,
        }) = pending.ids.get(id)
        {
            return Ok(Some(Stored::InGroup {
                request,
                index,
                revision,
                position,
            }));
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT stream, revision, position, event_type, schema_version, payload FROM events WHERE event_id = ?1",
            )
            .map_err(|e| sql_error("look up event id", e))?;
        stmt.query_row([id.as_bytes()], |r| {
            Ok(Stored::Row {
                stream: r.get(0)?,
                // u64 reads refuse a negative value instead of wrapping it.
                revision: r.get::<_, u64>(1)?,
                position: r.get::<_, u64>(2)?,
                event_type: r.get(3)?,
                schema_version: r.get(4)?,
                payload: r.get(5)?,
            })
        })
        .optional()
        .map_err(|e| sql_error("look up event id", e))
    }
}

fn reply(r: &mut WriteRequest, outcome: StoreResult<AppendResult>) {
    let (tx, _) = oneshot::channel();
    let sender = std::mem::replace(&mut r.reply, tx);
    // The caller may have given up waiting (cancelled); the write stands regardless.
    let _ = sender.send(outcome);
}

//! The writer task of one node and its group commit.
//!
//! Every append of a node goes through one task owning that node's writing connection.
//! It takes whatever requests queued while the previous group was committing and
//! commits them in one transaction which first takes the log's transaction-level
//! advisory lock ([`APPEND_LOCK_KEY`]): positions are assigned from the head read
//! *under* that lock, so the nodes sharing the database take turns and positions stay
//! dense from 0, each covered by its event's hash exactly as the SQLite backend does.
//! The reply goes out only after `COMMIT` returned, with `synchronous_commit = on`.
//! A request the rules refuse is answered with its rejection and leaves no row; a
//! storage failure rolls back the whole group and every request in it fails.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use super::schema::{APPEND_LOCK_KEY, COLUMNS, NOTIFY_CHANNEL, event_from_row, pg_error};
use super::{Shared, open_client};
use crate::envelope::{
    EnvelopeRef, ExpectedRevision, GENESIS_HASH, Hash, NewEvent, chain_hash, days_since_epoch,
};
use crate::error::{Damage, StoreError, StoreResult};
use crate::retry::{Batch, Stored, duplicate, replay};
use crate::store::AppendResult;

/// Most requests committed together.
const GROUP_REQUESTS_MAX: usize = 1_024;
/// Most events committed together.
const GROUP_EVENTS_MAX: usize = 16_384;
/// Most payload bytes committed together (one `INSERT` carries them all).
const GROUP_BYTES_MAX: usize = 32 << 20;
/// Stream heads kept in memory; beyond this the cache is dropped and refilled.
const HEADS_CACHED_MAX: usize = 200_000;

/// One append waiting for the writer.
pub(super) struct WriteRequest {
    pub stream: String,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<StoreResult<AppendResult>>,
}

impl Batch for WriteRequest {
    fn stream(&self) -> &str {
        &self.stream
    }

    fn events(&self) -> &[NewEvent] {
        &self.events
    }
}

/// The rows of one group, column by column, for one `INSERT … SELECT FROM UNNEST`.
#[derive(Default)]
struct Rows<'a> {
    position: Vec<i64>,
    stream: Vec<&'a str>,
    revision: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<&'a str>,
    schema_version: Vec<i64>,
    payload: Vec<&'a [u8]>,
    actor: Vec<&'a str>,
    correlation_id: Vec<Option<Uuid>>,
    causation_id: Vec<Option<Uuid>>,
    recorded_at: Vec<i64>,
    effective_at: Vec<Option<i64>>,
    doc_number: Vec<Option<&'a str>>,
    doc_date: Vec<Option<i32>>,
    doc_issuer: Vec<Option<&'a str>>,
    doc_sha256: Vec<Option<&'a [u8]>>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

/// What the current group has written so far, not yet committed.
#[derive(Default)]
struct Pending {
    heads: HashMap<String, (u64, Hash)>,
    ids: HashMap<Uuid, (usize, usize, u64, u64)>,
}

/// What a group's transaction read under the lock.
struct Snapshot {
    now_us: i64,
    ids: HashMap<Uuid, Stored>,
    heads: HashMap<String, (u64, Hash)>,
}

/// The group commit's statements, prepared once per connection: a statement sent as
/// text is parsed in a round trip of its own every time.
pub(super) struct Prepared {
    lock: Statement,
    damage: Statement,
    head: Statement,
    ids: Statement,
    heads: Statement,
    insert: Statement,
    notify: Statement,
}

impl Prepared {
    pub async fn on(client: &Client) -> StoreResult<Self> {
        let prepare = |sql: String| async move {
            client
                .prepare(&sql)
                .await
                .map_err(|e| pg_error("prepare the writer's statements", &e))
        };
        Ok(Self {
            lock: prepare("SELECT pg_advisory_xact_lock($1)".into()).await?,
            damage: prepare("SELECT position, detail FROM hoso_damage LIMIT 1".into()).await?,
            head: prepare(
                "SELECT position, recorded_at FROM hoso_events ORDER BY position DESC LIMIT 1"
                    .into(),
            )
            .await?,
            ids: prepare(
                "SELECT stream, revision, position, event_type, schema_version, payload, event_id \
                 FROM hoso_events WHERE event_id = ANY($1)"
                    .into(),
            )
            .await?,
            heads: prepare(format!(
                "SELECT e.* FROM unnest($1::text[]) AS s(name) CROSS JOIN LATERAL \
                 (SELECT {COLUMNS} FROM hoso_events WHERE stream = s.name \
                  ORDER BY revision DESC LIMIT 1) AS e"
            ))
            .await?,
            insert: prepare(
                "INSERT INTO hoso_events (position, stream, revision, event_id, event_type, \
                 schema_version, payload, actor, correlation_id, causation_id, recorded_at, \
                 effective_at, doc_number, doc_date, doc_issuer, doc_sha256, prev_hash, hash) \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], \
                 $5::text[], $6::bigint[], $7::bytea[], $8::text[], $9::uuid[], $10::uuid[], \
                 $11::bigint[], $12::bigint[], $13::text[], $14::int[], $15::text[], \
                 $16::bytea[], $17::bytea[], $18::bytea[])"
                    .into(),
            )
            .await?,
            notify: prepare("SELECT pg_notify($1, $2)".into()).await?,
        })
    }
}

pub(super) struct Writer {
    pub shared: Arc<Shared>,
    /// The writing connection and its statements; `None` after it was lost.
    pub client: Option<(Client, Prepared)>,
    /// Stream heads as of `cache_next`: valid only while the log's next position is
    /// still the one this node's last commit left (no other node wrote since).
    pub heads: HashMap<String, (u64, Hash)>,
    pub cache_next: Option<u64>,
}

impl Writer {
    /// Serves requests until every sender is gone. Requests arriving while a group
    /// commits queue in the channel and form the next group.
    pub async fn run(mut self, mut rx: mpsc::Receiver<WriteRequest>) {
        let mut group: Vec<WriteRequest> = Vec::with_capacity(64);
        while let Some(first) = rx.recv().await {
            let mut events = first.events.len();
            let mut bytes: usize = first.events.iter().map(|e| e.payload.len()).sum();
            group.push(first);
            while group.len() < GROUP_REQUESTS_MAX
                && events < GROUP_EVENTS_MAX
                && bytes < GROUP_BYTES_MAX
            {
                match rx.try_recv() {
                    Ok(r) => {
                        events += r.events.len();
                        bytes += r.events.iter().map(|e| e.payload.len()).sum::<usize>();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            tracing::trace!(requests = group.len(), events, "group commit");
            self.commit_group(&mut group).await;
            group.clear();
        }
        tracing::debug!("postgres ledger writer stopped");
    }

    async fn commit_group(&mut self, group: &mut [WriteRequest]) {
        if let Some(damage) = self.shared.poison.get() {
            for r in group.iter_mut() {
                reply(r, Err(damage.refusal()));
            }
            return;
        }
        let result = self.try_commit(group).await;
        match result {
            Ok(outcomes) => {
                for (r, o) in group.iter_mut().zip(outcomes) {
                    reply(r, o);
                }
            }
            Err(e) => {
                // Nothing of this group is stored (the transaction was rolled back, or
                // its COMMIT's outcome is unknown: a retry with the same event ids is
                // answered from the log either way). Forget every cached head.
                self.heads.clear();
                self.cache_next = None;
                if self.client.as_ref().is_some_and(|(c, _)| c.is_closed()) {
                    self.client = None;
                }
                tracing::error!(error = %e, requests = group.len(), "group commit failed");
                if e.is_corruption() {
                    self.shared.poison.set(Damage::from(&e));
                }
                let refusal = match &e {
                    StoreError::Poisoned { .. } => None,
                    _ => Some(e.to_string()),
                };
                for r in group.iter_mut() {
                    let err = match &refusal {
                        None => self
                            .shared
                            .poison
                            .get()
                            .map_or(StoreError::Closed, |d| d.refusal()),
                        Some(detail) => StoreError::Backend {
                            detail: format!("group commit failed: {detail}"),
                        },
                    };
                    reply(r, Err(err));
                }
            }
        }
    }

    async fn try_commit(
        &mut self,
        group: &[WriteRequest],
    ) -> StoreResult<Vec<StoreResult<AppendResult>>> {
        if self.client.is_none() {
            let client = open_client(&self.shared.config, true).await?;
            let prepared = Prepared::on(&client).await?;
            self.client = Some((client, prepared));
        }
        let Some((client, st)) = self.client.as_mut() else {
            return Err(StoreError::Closed);
        };
        let tx = client
            .transaction()
            .await
            .map_err(|e| pg_error("begin", &e))?;
        tx.execute(&st.lock, &[&APPEND_LOCK_KEY])
            .await
            .map_err(|e| pg_error("take the append lock", &e))?;
        // Damage recorded by any node stops every node's writes: checked under the lock.
        if let Some(row) = tx
            .query_opt(&st.damage, &[])
            .await
            .map_err(|e| pg_error("read damage", &e))?
        {
            let position: Option<i64> = row.try_get(0).ok().flatten();
            let detail: String = row
                .try_get(1)
                .unwrap_or_else(|_| "damage recorded by another node".into());
            let damage = Damage::new(position.and_then(|p| u64::try_from(p).ok()), detail);
            self.shared.poison.remember(damage.clone());
            return Err(damage.refusal());
        }
        let head = tx
            .query_opt(&st.head, &[])
            .await
            .map_err(|e| pg_error("read log head", &e))?;
        let (next_position, last_us) = match head {
            None => (0, i64::MIN),
            Some(row) => {
                let p: i64 = row.try_get(0).map_err(|e| pg_error("read log head", &e))?;
                let us: i64 = row.try_get(1).map_err(|e| pg_error("read log head", &e))?;
                let next = u64::try_from(p)
                    .ok()
                    .and_then(|p| p.checked_add(1))
                    .ok_or_else(|| StoreError::Corrupt {
                        position: None,
                        detail: format!("impossible last position {p}"),
                    })?;
                (next, us)
            }
        };
        if self.cache_next != Some(next_position) {
            // Another node wrote since this one last committed: its cached heads may be stale.
            self.heads.clear();
        }
        let now_us = self.shared.clock.now().timestamp_micros().max(last_us);

        // Everything the rules need from the log, in two queries for the whole group.
        let ids: Vec<Uuid> = group
            .iter()
            .flat_map(|r| r.events.iter().map(|e| e.event_id))
            .collect();
        let mut stored = HashMap::new();
        for row in tx
            .query(&st.ids, &[&ids])
            .await
            .map_err(|e| pg_error("look up event ids", &e))?
        {
            let bad = |e: tokio_postgres::Error| StoreError::Corrupt {
                position: None,
                detail: format!("a stored event cannot be read by id: {e}"),
            };
            let num = |v: i64| u64::try_from(v).ok();
            let (Some(revision), Some(position), Some(schema_version)) = (
                num(row.try_get(1).map_err(bad)?),
                num(row.try_get(2).map_err(bad)?),
                u32::try_from(row.try_get::<_, i64>(4).map_err(bad)?).ok(),
            ) else {
                return Err(StoreError::Corrupt {
                    position: None,
                    detail: "a stored event has a negative revision or position".into(),
                });
            };
            stored.insert(
                row.try_get::<_, Uuid>(6).map_err(bad)?,
                Stored::Row {
                    stream: row.try_get(0).map_err(bad)?,
                    revision,
                    position,
                    event_type: row.try_get(3).map_err(bad)?,
                    schema_version,
                    payload: row.try_get(5).map_err(bad)?,
                },
            );
        }
        let mut wanted: Vec<&str> = group
            .iter()
            .map(|r| r.stream.as_str())
            .filter(|s| !self.heads.contains_key(*s))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut heads = HashMap::new();
        if !wanted.is_empty() {
            for row in tx
                .query(&st.heads, &[&wanted])
                .await
                .map_err(|e| pg_error("read stream heads", &e))?
            {
                let e = event_from_row(&row)?;
                // A head is re-hashed before anything is chained onto it.
                if e.compute_hash(true) != e.hash {
                    return Err(StoreError::Corrupt {
                        position: Some(e.position),
                        detail: format!(
                            "head of stream {} (revision {}) does not match its hash",
                            e.stream, e.revision
                        ),
                    });
                }
                heads.insert(e.stream, (e.revision, e.hash));
            }
        }
        let snapshot = Snapshot {
            now_us,
            ids: stored,
            heads,
        };

        let mut rows = Rows::default();
        let mut pending = Pending::default();
        let mut position = next_position;
        let mut outcomes = Vec::with_capacity(group.len());
        for i in 0..group.len() {
            outcomes.push(apply(
                &self.heads,
                group,
                i,
                &snapshot,
                &mut pending,
                &mut position,
                &mut rows,
            ));
        }
        if position > next_position {
            tx.execute(
                &st.insert,
                &[
                    &rows.position,
                    &rows.stream,
                    &rows.revision,
                    &rows.event_id,
                    &rows.event_type,
                    &rows.schema_version,
                    &rows.payload,
                    &rows.actor,
                    &rows.correlation_id,
                    &rows.causation_id,
                    &rows.recorded_at,
                    &rows.effective_at,
                    &rows.doc_number,
                    &rows.doc_date,
                    &rows.doc_issuer,
                    &rows.doc_sha256,
                    &rows.prev_hash,
                    &rows.hash,
                ],
            )
            .await
            .map_err(|e| pg_error("insert events", &e))?;
            // Delivered to the listeners of every node at COMMIT, not before.
            let last = (position - 1).to_string();
            tx.execute(&st.notify, &[&NOTIFY_CHANNEL, &last])
                .await
                .map_err(|e| pg_error("notify", &e))?;
        }
        tx.commit().await.map_err(|e| pg_error("commit", &e))?;

        if position > next_position {
            if self.heads.len() + pending.heads.len() > HEADS_CACHED_MAX {
                self.heads.clear();
            }
            self.heads.extend(snapshot.heads);
            self.heads.extend(pending.heads);
            self.shared.announce(position - 1);
        }
        self.cache_next = Some(position);
        Ok(outcomes)
    }
}

/// Checks one request against the log as read under the lock (and the heads cached
/// from this node's previous commit) plus what this group placed before it, and places
/// its events. Pure: nothing is written here.
fn apply<'a>(
    cached: &HashMap<String, (u64, Hash)>,
    group: &'a [WriteRequest],
    index: usize,
    snapshot: &Snapshot,
    pending: &mut Pending,
    position: &mut u64,
    rows: &mut Rows<'a>,
) -> StoreResult<AppendResult> {
    let req = &group[index];
    let Some(first) = req.events.first() else {
        return Err(StoreError::InvalidInput {
            reason: "a batch must hold at least one event".into(),
        });
    };
    let find = |id: &Uuid, pending: &Pending| -> Option<Stored> {
        if let Some(&(request, index, revision, position)) = pending.ids.get(id) {
            return Some(Stored::InGroup {
                request,
                index,
                revision,
                position,
            });
        }
        match snapshot.ids.get(id) {
            Some(Stored::Row {
                stream,
                revision,
                position,
                event_type,
                schema_version,
                payload,
            }) => Some(Stored::Row {
                stream: stream.clone(),
                revision: *revision,
                position: *position,
                event_type: event_type.clone(),
                schema_version: *schema_version,
                payload: payload.clone(),
            }),
            _ => None,
        }
    };
    // An append whose first event is stored already is a retry: answer as before.
    if find(&first.event_id, pending).is_some() {
        return replay(group, req, |id| Ok(find(id, pending)));
    }
    for e in &req.events[1..] {
        if let Some(s) = find(&e.event_id, pending) {
            return Err(duplicate(e.event_id, &s, group));
        }
    }
    let head = pending
        .heads
        .get(&req.stream)
        .or_else(|| cached.get(&req.stream))
        .or_else(|| snapshot.heads.get(&req.stream))
        .copied();
    let current = head.map(|(rev, _)| rev);
    if !req.expected.admits(current) {
        return Err(StoreError::WrongExpectedRevision {
            stream: req.stream.clone(),
            expected: req.expected,
            current,
        });
    }
    let (mut revision, mut prev) = match head {
        Some((rev, hash)) => (rev + 1, hash),
        None => (0, GENESIS_HASH),
    };
    let recorded_at =
        crate::envelope::from_micros(snapshot.now_us).ok_or_else(|| StoreError::Backend {
            detail: format!("clock out of range: {}", snapshot.now_us),
        })?;
    let first_position = *position;
    for (i, e) in req.events.iter().enumerate() {
        let env = EnvelopeRef::of_new(&req.stream, revision, Some(*position), recorded_at, e);
        let hash = chain_hash(&prev, &env, &e.payload);
        let doc = e.source_document.as_ref();
        rows.position.push(super::schema::to_i64(*position));
        rows.stream.push(&req.stream);
        rows.revision.push(super::schema::to_i64(revision));
        rows.event_id.push(e.event_id);
        rows.event_type.push(&e.event_type);
        rows.schema_version.push(i64::from(e.schema_version));
        rows.payload.push(&e.payload);
        rows.actor.push(&e.actor);
        rows.correlation_id.push(e.correlation_id);
        rows.causation_id.push(e.causation_id);
        rows.recorded_at.push(snapshot.now_us);
        rows.effective_at
            .push(e.effective_at.map(|t| t.timestamp_micros()));
        rows.doc_number.push(doc.map(|d| d.number.as_str()));
        rows.doc_date.push(doc.map(|d| days_since_epoch(d.date)));
        rows.doc_issuer.push(doc.map(|d| d.issuer.as_str()));
        rows.doc_sha256.push(
            doc.and_then(|d| d.attachment_sha256.as_ref())
                .map(|h| h.as_slice()),
        );
        rows.prev_hash.push(prev.to_vec());
        rows.hash.push(hash.to_vec());
        pending
            .ids
            .insert(e.event_id, (index, i, revision, *position));
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

fn reply(r: &mut WriteRequest, outcome: StoreResult<AppendResult>) {
    let (tx, _) = oneshot::channel();
    let sender = std::mem::replace(&mut r.reply, tx);
    // The caller may have given up waiting (cancelled); the write stands regardless.
    let _ = sender.send(outcome);
}

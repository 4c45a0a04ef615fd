//! The sealer: verifies the log when a node opens it, keeps the Merkle tree over `$all`
//! in step with it, and signs tree heads — every N events or T seconds, right after
//! opening, and at a clean shutdown.
//!
//! **At open** ([`Sealer::open`]) the log is checked from where the tree file ends
//! (every leaf in the tree is an event an earlier open or this node's own writer
//! verified) to the head, and each verified event becomes a leaf; the cost is the new
//! events, not the whole log (`full` re-checks everything and rebuilds the tree). Then
//! the latest signed tree head — the newer of `tree-head.json` and the last
//! `ledger.TreeHeadSigned` event in the log — must hold:
//!
//! - its signature, by a key of the ring valid for it;
//! - the log is at least as long as the head (a shorter log names the missing range:
//!   deleting the tail is not silent);
//! - the first `tree_size` events hash to the signed root;
//! - after a head signed at a clean shutdown, the log holds exactly one more event (that
//!   head's own checkpoint event): anything after it was appended while no node held
//!   the log. (After a crash the last head is an interval or opening head, and the
//!   events after it — acknowledged before the crash — are verified and accepted.)
//!
//! Any failure marks the store damaged ([`EventStore::mark_corrupt`]): it refuses
//! writes, and the API refuses to serve from it. Nothing is signed over a log that
//! failed.
//!
//! **While running** the sealer follows `$all` from the tree's end (positions and
//! stored hashes only, polled every 50 ms: the events were written by this node, which
//! holds the log's lock), appends each event's hash as a leaf, and signs a head when `every_events` events arrived since the last
//! one, or `every` passed with at least one new event (its own checkpoint events do not
//! count, so an idle node does not sign forever). A head is appended to the log
//! (`ledger-checkpoints`) first and written to `tree-head.json` after, so a crash
//! between the two leaves the file one head behind, never ahead of the log.
//!
//! **A log shared by several nodes** (a backend whose [`EventStore::shared`] is true,
//! e.g. PostgreSQL) grows while any one node is stopped, so two things change. Only the
//! holder of a [`SigningLease`] signs heads (`opened`, `interval`, `shutdown`) and
//! records keys; every other node keeps following the log, verifying each event's
//! chain link and hash as it arrives (it did not write them), and takes the lease over
//! when the holder's session ends. And the check after a shutdown head becomes: the
//! head's own checkpoint event is there (the log is longer than the head), and the
//! events after it verify — not "exactly one more event", since other nodes may
//! legitimately have appended after this node stopped. A log cut back to before the
//! shutdown head is still found; appends by a writer that bypassed every node are not
//! told apart from another node's, which is what the shared database's own access
//! control and the next signed head (held by clients, inspectors) are for. Nodes that
//! share a log share the ledger key ring, so each can check the heads the others sign.
//!
//! **Limits, stated plainly.** An attacker who can write the data directory while the
//! node is stopped, and who removes both the tail of the log and every newer signed
//! head (file and events), leaves a log this node cannot tell from an older one; only a
//! holder of a newer head (a client, the national database, an inspector) can, with a
//! consistency proof. Events before the tree's end are not re-read at open; a damaged
//! old event is found when read (every read re-hashes the rows it returns), by the
//! projector, by `hoso verify`, or by `serve --verify full`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoso_schemas::pb::ledger as pb;
use hoso_schemas::{DomainEvent, Registry};
use tokio::sync::{Notify, watch};

use crate::checkpoint::{
    CHECKPOINT_STREAM, HeadFileError, HeadReason, KEYS_STREAM, SignedTreeHead, TreeHead,
    read_head_file, write_head_file,
};
use crate::clock::TimeSource;
use crate::envelope::{ExpectedRevision, Hash, NewEvent, RecordedEvent};
use crate::error::{Damage, StoreError};
use crate::ledger_keys::{LedgerKeyError, LedgerKeyRing};
use crate::store::{Direction, EventStore, StreamFrom};
use crate::tree::{MerkleTree, TreeError};

/// Hashes read per page while following the log.
const FOLLOW_PAGE: usize = 16_384;
/// How long the sealer waits for new events once it has caught up.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

/// When the sealer signs a tree head while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// After this many new events.
    pub every_events: u64,
    /// After this long, if any event arrived.
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every_events: 10_000,
            every: Duration::from_secs(60),
        }
    }
}

/// The right to sign heads on a log shared by several nodes: one holder at a time.
/// Implemented by `postgres::Lease` (an advisory lock held by a database session).
#[async_trait::async_trait]
pub trait SigningLease: Send + Sync {
    /// Takes the lease if free; true if this node holds it now.
    async fn try_acquire(&self) -> Result<bool, StoreError>;
    /// Whether this node holds the lease now.
    fn held(&self) -> bool;
}

#[cfg(feature = "postgres")]
#[async_trait::async_trait]
impl SigningLease for crate::postgres::Lease {
    async fn try_acquire(&self) -> Result<bool, StoreError> {
        crate::postgres::Lease::try_acquire(self).await
    }

    fn held(&self) -> bool {
        crate::postgres::Lease::held(self)
    }
}

/// Where the sealer keeps its files.
#[derive(Debug, Clone)]
pub struct SealerFiles {
    /// The Merkle tree (`ledger-tree.db`), derived from the log.
    pub tree: PathBuf,
    /// The latest signed tree head (`tree-head.json`).
    pub head: PathBuf,
}

/// Why the sealer could not run. Damage to the log is not one of these: it is
/// reported in [`OpenReport::damage`] and marked on the store.
#[derive(Debug, thiserror::Error)]
pub enum SealerError {
    /// The backend's positions are not dense, so they cannot be leaf indices.
    #[error("signed tree heads need a backend with dense positions; {0} has none")]
    SparsePositions(&'static str),
    /// The log failed for a reason other than damage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tree file failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The head file could not be written.
    #[error(transparent)]
    HeadFile(#[from] HeadFileError),
    /// The key ring could not be used.
    #[error(transparent)]
    Keys(#[from] LedgerKeyError),
}

/// What opening found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// Position verification started from (the tree's end, or 0 for a full pass).
    pub verified_from: u64,
    /// Events verified now.
    pub verified_events: u64,
    /// Whether the tree file was rebuilt (missing, damaged, out of step, or `full`).
    pub tree_rebuilt: bool,
    /// The head the log was checked against, if there was one.
    pub checked_against: Option<SignedTreeHead>,
    /// The damage found, if any (also marked on the store).
    pub damage: Option<Damage>,
}

/// The running sealer; share it in an `Arc`.
pub struct Sealer {
    store: Arc<dyn EventStore>,
    tree: Arc<MerkleTree>,
    keys: LedgerKeyRing,
    files: SealerFiles,
    clock: TimeSource,
    policy: CheckpointPolicy,
    latest: watch::Sender<Option<SignedTreeHead>>,
    /// Serialises signing, so heads are appended in tree-size order.
    signing: tokio::sync::Mutex<()>,
    stop: Notify,
    stopped: Mutex<bool>,
    /// True while [`run`](Self::run) is following the log.
    running: watch::Sender<bool>,
    /// On a shared log, who may sign; `None`: this node alone writes the log and signs.
    lease: Option<Arc<dyn SigningLease>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("tree", &self.tree)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Opens the tree, verifies the log and checks it against the latest signed head
    /// (see the module documentation). On success it records the ring's keys in the
    /// log and signs an opening head; on damage it marks the store and signs nothing.
    /// `progress` is called with the number of events verified so far.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        store: Arc<dyn EventStore>,
        files: SealerFiles,
        keys: LedgerKeyRing,
        clock: TimeSource,
        policy: CheckpointPolicy,
        full: bool,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(Arc<Self>, OpenReport), SealerError> {
        Self::open_with_lease(store, files, keys, clock, policy, full, progress, None).await
    }

    /// As [`open`](Self::open), on a log that several nodes may share: this node signs
    /// heads only while it holds `lease` (see the module documentation).
    #[allow(clippy::too_many_arguments)]
    pub async fn open_with_lease(
        store: Arc<dyn EventStore>,
        files: SealerFiles,
        keys: LedgerKeyRing,
        clock: TimeSource,
        policy: CheckpointPolicy,
        full: bool,
        progress: &(dyn Fn(u64) + Send + Sync),
        lease: Option<Arc<dyn SigningLease>>,
    ) -> Result<(Arc<Self>, OpenReport), SealerError> {
        if !store.dense_positions() {
            return Err(SealerError::SparsePositions(store.backend_name()));
        }
        let log_len = store.head_position().await?.map_or(0, |h| h + 1);
        let (tree, mut tree_rebuilt) = open_tree(&files, full)?;
        // A missing tree file starts empty: the log is then verified from position 0.
        tree_rebuilt |= tree.is_empty() && log_len > 0;
        let mut truncated = None;
        if !tree_rebuilt {
            match tree_against_log(store.as_ref(), &tree, log_len).await? {
                TreeFit::Matches => {}
                TreeFit::LogShorter => {
                    // The tree holds only events this node verified: the log lost them.
                    truncated = Some(Damage::new(
                        Some(log_len),
                        format!(
                            "the log ends at position {log_len}, but the Merkle tree built from it holds {} events: positions {log_len}..{} are missing",
                            tree.len(),
                            tree.len() - 1
                        ),
                    ));
                }
                TreeFit::Foreign => {
                    tracing::warn!(
                        tree = tree.len(),
                        log = log_len,
                        "the Merkle tree file was not built from this log; rebuilding it from the log"
                    );
                    tree.reset()?;
                    tree_rebuilt = true;
                }
            }
        }
        if let Some(damage) = truncated {
            store.mark_corrupt(damage);
        }
        let sealer = Arc::new(Self {
            store,
            tree: Arc::new(tree),
            keys,
            files,
            clock,
            policy,
            latest: watch::Sender::new(None),
            signing: tokio::sync::Mutex::new(()),
            stop: Notify::new(),
            stopped: Mutex::new(false),
            running: watch::Sender::new(false),
            lease,
        });
        let verified_from = sealer.tree.len();
        let head = sealer.latest_signed_head().await?;
        let mut report = OpenReport {
            verified_from,
            verified_events: 0,
            tree_rebuilt,
            checked_against: head.clone(),
            damage: sealer.store.damage(),
        };
        if report.damage.is_none() {
            match sealer.catch_up(progress).await {
                Ok(n) => report.verified_events = n,
                Err(SealerError::Store(e)) if e.is_corruption() => {}
                Err(e) => return Err(e),
            }
            report.damage = sealer.store.damage();
        }
        if report.damage.is_none()
            && let Some(head) = &head
            && let Some(damage) = sealer.check_head(head, log_len).await?
        {
            sealer.store.mark_corrupt(damage);
            report.damage = sealer.store.damage();
        }
        if report.damage.is_some() {
            return Ok((sealer, report));
        }
        // The tree is written to its file by `run`, off the open path: it is derived, and
        // leaves lost to a crash are verified again at the next open.
        sealer.latest.send_replace(head);
        if sealer.may_sign().await? {
            sealer.record_keys().await?;
            sealer.sign(HeadReason::Opened).await?;
        }
        Ok((sealer, report))
    }

    /// The Merkle tree (for proofs).
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// The key ring heads are signed and checked with.
    pub fn keys(&self) -> &LedgerKeyRing {
        &self.keys
    }

    /// Whether this node may sign now: always without a lease; with one, while it holds
    /// it (taking it if it is free).
    async fn may_sign(&self) -> Result<bool, SealerError> {
        match &self.lease {
            None => Ok(true),
            Some(l) if l.held() => Ok(true),
            Some(l) => Ok(l.try_acquire().await?),
        }
    }

    /// Whether this node holds the signing lease (always true without one).
    pub fn holds_lease(&self) -> bool {
        self.lease.as_ref().is_none_or(|l| l.held())
    }

    /// The latest head signed or checked by this node.
    pub fn latest(&self) -> Option<SignedTreeHead> {
        self.latest.borrow().clone()
    }

    /// Follows `$all`, extending the tree and signing heads by the policy, until
    /// [`shutdown`](Self::shutdown). Returns early only on failure (logged by the
    /// caller); the store's damage state is the caller's to show.
    pub async fn run(self: Arc<Self>) -> Result<(), SealerError> {
        struct Running<'a>(&'a watch::Sender<bool>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.send_replace(false);
            }
        }
        {
            // Checked and set under one lock, so `shutdown` sees either a stopped
            // sealer that never runs or a running one it waits for.
            let stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
            if *stopped {
                return Ok(());
            }
            self.running.send_replace(true);
        }
        let _running = Running(&self.running);
        let mut signed_size = self.latest().map_or(0, |h| h.head.tree_size);
        let mut last_sign = Instant::now();
        // What the open verified goes to the file now, while the node already serves.
        self.flush_tree().await?;
        if self.store.shared() {
            return self.follow_shared(signed_size, last_sign).await;
        }
        loop {
            // Positions and hashes only, a page at a time: following the log this way
            // costs appends a few per cent, where reading whole events cost a third.
            let page = self.store.read_hashes(self.tree.len(), FOLLOW_PAGE).await?;
            let start = self.tree.len();
            for (expected, (position, _)) in (start..).zip(&page) {
                if *position != expected {
                    // Only a damaged log can skip or repeat a position here.
                    let damage = Damage::new(
                        Some(expected),
                        format!("the log gave position {position} where {expected} was next"),
                    );
                    self.store.mark_corrupt(damage);
                    return Ok(());
                }
            }
            let hashes: Vec<_> = page.iter().map(|(_, h)| *h).collect();
            // Appended up to each multiple of the policy's count, so a head covers
            // exactly `every_events` more events however the pages fall.
            let mut rest = hashes.as_slice();
            while !rest.is_empty() {
                let room = (signed_size + self.policy.every_events)
                    .saturating_sub(self.tree.len())
                    .max(1);
                let (now, later) =
                    rest.split_at(rest.len().min(usize::try_from(room).unwrap_or(usize::MAX)));
                self.tree.append(now);
                rest = later;
                if self.tree.len() - signed_size >= self.policy.every_events {
                    signed_size = self.sign_interval().await?;
                    last_sign = Instant::now();
                }
            }
            // A head's own checkpoint event follows it: more than one event since is news.
            if self.tree.len().saturating_sub(signed_size) > 1
                && last_sign.elapsed() >= self.policy.every
            {
                signed_size = self.sign_interval().await?;
                last_sign = Instant::now();
            }
            if page.len() < FOLLOW_PAGE {
                tokio::select! {
                    () = self.stop.notified() => return Ok(()),
                    () = tokio::time::sleep(FOLLOW_POLL) => {}
                }
            }
        }
    }

    /// [`run`](Self::run) on a log other nodes append to: their events are verified
    /// (hash and chain link) as they arrive, not only taken as leaves, and a head is
    /// signed only by the lease holder, when the policy says so.
    async fn follow_shared(
        &self,
        mut signed_size: u64,
        mut last_sign: Instant,
    ) -> Result<(), SealerError> {
        loop {
            self.catch_up(&|_| ()).await?;
            if self.store.damage().is_some() {
                return Ok(());
            }
            let new = self.tree.len().saturating_sub(signed_size);
            let due = new >= self.policy.every_events
                || (new > 1 && last_sign.elapsed() >= self.policy.every);
            if due && self.may_sign().await? {
                signed_size = self.sign_interval().await?;
                last_sign = Instant::now();
            }
            tokio::select! {
                () = self.stop.notified() => return Ok(()),
                () = tokio::time::sleep(FOLLOW_POLL) => {}
            }
        }
    }

    /// Stops [`run`](Self::run) and, if the log is trusted, brings the tree up to the
    /// log's head and signs a shutdown head over it. Call it after the last write.
    pub async fn shutdown(&self) -> Result<Option<SignedTreeHead>, SealerError> {
        {
            let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
            if *stopped {
                return Ok(None);
            }
            *stopped = true;
        }
        self.stop.notify_waiters();
        self.stop.notify_one();
        // The tree has one writer at a time: wait until `run` has let go of it.
        let mut running = self.running.subscribe();
        let _ = running.wait_for(|r| !*r).await;
        if self.store.damage().is_some() {
            return Ok(None);
        }
        self.catch_up(&|_| ()).await?;
        if self.store.damage().is_some() {
            return Ok(None);
        }
        if !self.may_sign().await? {
            self.tree.flush()?;
            return Ok(None);
        }
        let head = self.sign(HeadReason::Shutdown).await?;
        self.tree.flush()?;
        Ok(Some(head))
    }

    /// Signs an interval head, then writes the tree's new leaves to its file; answers
    /// the head's size.
    async fn sign_interval(&self) -> Result<u64, SealerError> {
        let size = self.sign(HeadReason::Interval).await?.head.tree_size;
        self.flush_tree().await?;
        Ok(size)
    }

    /// Writes the tree's new leaves to its file, on the blocking pool.
    async fn flush_tree(&self) -> Result<(), SealerError> {
        let tree = self.tree.clone();
        tokio::task::spawn_blocking(move || tree.flush())
            .await
            .map_err(|e| StoreError::Backend {
                detail: format!("the tree's flush task failed: {e}"),
            })??;
        Ok(())
    }

    /// Signs a head over the tree as it stands, appends it to the log, then writes the
    /// head file.
    async fn sign(&self, reason: HeadReason) -> Result<SignedTreeHead, SealerError> {
        let _one_at_a_time = self.signing.lock().await;
        let size = self.tree.len();
        let root = self.tree.root(size)?;
        let (key_id, key) = self.keys.signer();
        let head = SignedTreeHead::sign(
            TreeHead::new(size, root, self.clock.now(), key_id, reason),
            key,
        );
        let event = DomainEvent::from(head.to_event());
        self.store
            .append(
                CHECKPOINT_STREAM,
                ExpectedRevision::Any,
                vec![NewEvent::new(
                    event.type_name(),
                    event.schema_version(),
                    event.encode_payload(),
                )],
            )
            .await?;
        write_head_file(&self.files.head, &head)?;
        tracing::info!(tree_size = size, root = %hex::encode(root), %key_id, %reason, "signed tree head");
        self.latest.send_replace(Some(head.clone()));
        Ok(head)
    }

    /// Verifies the log from the tree's end to its head and appends each verified
    /// event as a leaf. Answers the number of events verified.
    async fn catch_up(&self, progress: &(dyn Fn(u64) + Send + Sync)) -> Result<u64, SealerError> {
        let from = self.tree.len();
        let done = std::sync::atomic::AtomicU64::new(0);
        // The tree hashes on its own thread while the scan reads and checks the next
        // pages: the two overlap instead of taking turns on the checker's thread.
        let (pages, mut inbox) =
            tokio::sync::mpsc::unbounded_channel::<Vec<crate::envelope::Hash>>();
        let tree = self.tree.clone();
        let hasher = tokio::task::spawn_blocking(move || {
            while let Some(hashes) = inbox.blocking_recv() {
                tree.append(&hashes);
            }
        });
        let observe = |page: &[RecordedEvent]| {
            // The receiver lives until every sender is gone.
            let _ = pages.send(page.iter().map(|e| e.hash).collect());
            let n = done.fetch_add(page.len() as u64, std::sync::atomic::Ordering::Relaxed);
            progress(n + page.len() as u64);
        };
        let report = self.store.verify_from(from, &observe).await;
        drop(pages);
        hasher.await.map_err(|e| StoreError::Backend {
            detail: format!("the tree's hashing task failed: {e}"),
        })?;
        Ok(report?.events)
    }

    /// The newer of the head file and the last checkpoint event of the log.
    async fn latest_signed_head(&self) -> Result<Option<SignedTreeHead>, SealerError> {
        Ok(latest_signed_head(self.store.as_ref(), &self.files.head).await?)
    }

    /// Whether the log (already verified into the tree) holds against `head`.
    async fn check_head(
        &self,
        head: &SignedTreeHead,
        log_len: u64,
    ) -> Result<Option<Damage>, SealerError> {
        let h = &head.head;
        if let Err(e) = self.keys.verify(head) {
            return Ok(Some(Damage::new(
                None,
                format!(
                    "the latest signed tree head (size {}, signed {}) does not verify: {e}",
                    h.tree_size, h.signed_at
                ),
            )));
        }
        let prefix_root = if log_len < h.tree_size {
            None
        } else {
            Some(self.tree.root(h.tree_size)?)
        };
        if let Some(damage) = log_against_head(head, log_len, prefix_root) {
            return Ok(Some(damage));
        }
        if h.reason == HeadReason::Shutdown && self.store.shared() {
            // Other nodes may append after this one stopped: only the head's own
            // checkpoint event must be there (see the module documentation).
            if log_len <= h.tree_size {
                return Ok(Some(Damage::new(
                    Some(h.tree_size),
                    format!(
                        "the checkpoint event of the shutdown head at position {} is missing",
                        h.tree_size
                    ),
                )));
            }
            return Ok(None);
        }
        if h.reason == HeadReason::Shutdown && log_len != h.tree_size + 1 {
            let detail = if log_len == h.tree_size {
                format!(
                    "the checkpoint event of the shutdown head at position {} is missing",
                    h.tree_size
                )
            } else {
                format!(
                    "events {}..{} were appended while the node was stopped (after its shutdown head)",
                    h.tree_size + 1,
                    log_len - 1
                )
            };
            let first = if log_len == h.tree_size {
                h.tree_size
            } else {
                h.tree_size + 1
            };
            return Ok(Some(Damage::new(Some(first), detail)));
        }
        Ok(None)
    }

    /// Appends the ring's keys (and revocations) not yet recorded in `ledger-keys`.
    async fn record_keys(&self) -> Result<(), SealerError> {
        let registry = Registry::standard();
        let recorded = self
            .store
            .read_stream(
                KEYS_STREAM,
                StreamFrom::Start,
                Direction::Forwards,
                usize::MAX,
            )
            .await?;
        let mut registered = std::collections::HashSet::new();
        let mut revoked = std::collections::HashSet::new();
        for e in &recorded {
            match registry.decode(&e.event_type, e.schema_version, &e.payload) {
                Ok(DomainEvent::LedgerKeyRegistered(m)) => {
                    registered.insert(m.key_id);
                }
                Ok(DomainEvent::LedgerKeyRevoked(m)) => {
                    revoked.insert(m.key_id);
                }
                _ => {}
            }
        }
        let mut events = Vec::new();
        for key in self.keys.public_keys() {
            let id = key.key_id.as_bytes().to_vec();
            if !registered.contains(&id) {
                events.push(DomainEvent::from(key.registered_event()));
            }
            if let Some(r) = key.revoked_event()
                && !revoked.contains(&id)
            {
                events.push(DomainEvent::from(r));
            }
        }
        if events.is_empty() {
            return Ok(());
        }
        let events = events
            .into_iter()
            .map(|e| NewEvent::new(e.type_name(), e.schema_version(), e.encode_payload()))
            .collect();
        self.store
            .append(KEYS_STREAM, ExpectedRevision::Any, events)
            .await?;
        // Our own events: verified by construction, but leaves like any other.
        self.catch_up(&|_| ()).await?;
        Ok(())
    }
}

/// The latest signed tree head a data directory holds: the newer of its head file
/// (`head_file`) and the last checkpoint event of its log. A head file that cannot be
/// read counts as absent (and is logged): the log's own checkpoints still hold.
pub async fn latest_signed_head(
    store: &dyn EventStore,
    head_file: &Path,
) -> Result<Option<SignedTreeHead>, StoreError> {
    let from_file = match read_head_file(head_file) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "the signed tree head file cannot be read");
            None
        }
    };
    let last = store
        .read_stream(CHECKPOINT_STREAM, StreamFrom::End, Direction::Backwards, 1)
        .await?;
    let registry = Registry::standard();
    let from_log = last.first().and_then(|e| {
        match registry.decode(&e.event_type, e.schema_version, &e.payload) {
            Ok(DomainEvent::TreeHeadSigned(m)) => SignedTreeHead::from_event(&m).ok(),
            _ => None,
        }
    });
    Ok(match (from_file, from_log) {
        (Some(f), Some(l)) if l.head.tree_size > f.head.tree_size => {
            tracing::warn!(
                file = f.head.tree_size,
                log = l.head.tree_size,
                "the signed tree head file is older than the log's last checkpoint"
            );
            Some(l)
        }
        (Some(f), _) => Some(f),
        (None, l) => l,
    })
}

/// Whether a log of `log_len` events holds against a signed head: not shorter than it
/// (the missing range is named), and its first `tree_size` events hashing to the signed
/// root — `prefix_root` is their Merkle root, `None` when the log is shorter. The head's
/// signature is the caller's to check.
pub fn log_against_head(
    signed: &SignedTreeHead,
    log_len: u64,
    prefix_root: Option<Hash>,
) -> Option<Damage> {
    let h = &signed.head;
    let Some(root) = prefix_root.filter(|_| log_len >= h.tree_size) else {
        return Some(Damage::new(
            Some(log_len),
            format!(
                "the log ends at position {log_len}, but the tree head signed at {} covers {} events: positions {log_len}..{} are missing",
                h.signed_at,
                h.tree_size,
                h.tree_size.saturating_sub(1)
            ),
        ));
    };
    (root != h.root).then(|| {
        Damage::new(
            None,
            format!(
                "the first {} events of the log do not hash to the root signed at {}: the log was rewritten",
                h.tree_size, h.signed_at
            ),
        )
    })
}

/// Opens the tree file, starting over when it is damaged, of another format, or a
/// full pass is asked for. Answers whether it starts empty by that decision.
fn open_tree(files: &SealerFiles, full: bool) -> Result<(MerkleTree, bool), SealerError> {
    if full {
        MerkleTree::discard(&files.tree)?;
        return Ok((MerkleTree::open_or_create(&files.tree)?, true));
    }
    match MerkleTree::open_or_create(&files.tree) {
        Ok(tree) => Ok((tree, false)),
        Err(e @ (TreeError::Corrupt { .. } | TreeError::Format { .. })) => {
            tracing::warn!(error = %e, "rebuilding the Merkle tree file from the log");
            MerkleTree::discard(&files.tree)?;
            Ok((MerkleTree::open_or_create(&files.tree)?, true))
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether every leaf of `tree` is still the log's event at its position, as far as
/// one look can tell: the tree is not longer than the log and its last leaf is the
/// hash of the log's event there (leaves before it are bound to it by the chains and
/// the tree's own root check at open).
/// How the tree file stands against the log.
enum TreeFit {
    /// Its last leaf is the log's event at that position.
    Matches,
    /// It is longer than the log, and the log's last event is its leaf there: the
    /// log lost events the tree holds.
    LogShorter,
    /// It was built from another log (or the log was rewritten under it).
    Foreign,
}

/// Compares the tree with the log at one point, the tree's last leaf (or, when the
/// log is shorter, the log's last event): the leaves before it are bound to it by the
/// hash chains, which were verified when they went in.
async fn tree_against_log(
    store: &dyn EventStore,
    tree: &MerkleTree,
    log_len: u64,
) -> Result<TreeFit, SealerError> {
    let len = tree.len();
    if len == 0 {
        return Ok(TreeFit::Matches);
    }
    let at = len.min(log_len);
    if at == 0 {
        return Ok(TreeFit::LogShorter);
    }
    let found = store.read_all(at - 1, 1).await?;
    let same = match found.first() {
        Some(e) if e.position == at - 1 => e.hash == tree.leaf(at - 1)?,
        _ => false,
    };
    Ok(match (same, len > log_len) {
        (true, false) => TreeFit::Matches,
        (true, true) => TreeFit::LogShorter,
        (false, _) => TreeFit::Foreign,
    })
}

/// The checkpoint events' payload type, for callers that decode them.
pub type TreeHeadEvent = pb::TreeHeadSigned;

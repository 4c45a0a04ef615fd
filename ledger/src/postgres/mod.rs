//! The PostgreSQL backend: one database shared by several hoso nodes, each with a
//! writer task doing group commit, a reading connection, and a listener that hears the
//! other nodes' commits (`LISTEN`/`NOTIFY`).
//!
//! Positions are dense from 0 and covered by the hash exactly as in the SQLite backend,
//! so verification, the Merkle tree, the sealer and bundles work unchanged: every
//! commit group takes a transaction-level advisory lock before it reads the head and
//! assigns positions (see [`writer`]). The log table is append-only in the database
//! too (triggers refuse `UPDATE`, `DELETE` and `TRUNCATE`). Damage found by any node
//! is recorded in `hoso_damage`, which every node checks under the append lock, so
//! one node's finding stops all nodes' writes, also after a restart.
//!
//! [`blocking`] is the synchronous client the stores beside the log (credentials,
//! sessions, data keys, uploads) use on their own threads.
//!
//! Connections use no TLS: the database is expected on the node's host or a private
//! network. The password is passed apart from the URL and never logged.

pub mod blocking;
mod lease;
mod schema;
#[cfg(feature = "conformance")]
pub mod testing;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

pub use lease::Lease;
use schema::{COLUMNS, DDL, NOTIFY_CHANNEL, SCHEMA_LOCK_KEY, events_from_rows, pg_error, to_i64};
pub use schema::{FORMAT, FORMAT_VERSION};
use writer::{WriteRequest, Writer};

use crate::clock::TimeSource;
use crate::envelope::{ExpectedRevision, NewEvent, RecordedEvent};
use crate::error::{Damage, StoreError, StoreResult};
use crate::store::{AppendResult, Direction, EventFeed, EventStore, StoreOptions, StreamFrom};

/// Requests that may wait for the writer before appenders are made to wait in turn.
const QUEUE_REQUESTS_MAX: usize = 8_192;
/// How long a caught-up subscription waits for a notification before looking at the
/// log anyway: a notification lost with a dropped listener connection cannot stall it.
const FEED_FALLBACK_POLL: Duration = Duration::from_millis(500);
/// Pause before a dropped listener connection is opened again.
const LISTEN_RETRY: Duration = Duration::from_secs(1);
/// Events re-hashed at connect, to catch a damaged tail before anything is chained on it.
const TAIL_CHECK_EVENTS: i64 = 256;

/// A hoso ledger in a PostgreSQL database. Cheap to clone; clones share one writer.
/// Several `PostgresStore`s (nodes) may share one database.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.inner.shared.display)
            .finish()
    }
}

/// What the store, its writer and its listener share.
pub(crate) struct Shared {
    config: Config,
    /// `postgres://user@host:port/db`, without the password, for messages.
    display: String,
    clock: TimeSource,
    poison: Poison,
    head_tx: watch::Sender<Option<u64>>,
}

impl Shared {
    /// Raises the known head to `last` (never lowers it): wakes this node's feeds.
    fn announce(&self, last: u64) {
        self.head_tx.send_if_modified(|h| {
            if h.is_none_or(|h| h < last) {
                *h = Some(last);
                true
            } else {
                false
            }
        });
    }
}

struct Inner {
    shared: Arc<Shared>,
    requests: mpsc::Sender<WriteRequest>,
    reader: tokio::sync::Mutex<Option<Arc<Client>>>,
    head_rx: watch::Receiver<Option<u64>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer stops by itself once the queue closes (after finishing what was
        // queued); the listener and the damage recorder are stopped here.
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The first damage this node knows of, and a channel to the task that records it in
/// `hoso_damage` for every node.
pub(crate) struct Poison {
    damage: Mutex<Option<Damage>>,
    record: mpsc::UnboundedSender<Damage>,
}

impl Poison {
    /// Records damage found by this node: kept here and written to the database.
    fn set(&self, damage: Damage) {
        if self.remember(damage.clone()) {
            let _ = self.record.send(damage);
        }
    }

    /// Keeps damage already recorded in the database (found by any node). True if it
    /// is the first this node knows of.
    fn remember(&self, damage: Damage) -> bool {
        let mut g = self.damage.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_some() {
            return false;
        }
        tracing::error!(position = ?damage.position, reason = %damage.detail, "ledger damage detected: the node is untrusted and refuses all further writes");
        *g = Some(damage);
        true
    }

    fn get(&self) -> Option<Damage> {
        self.damage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Opens a connection and drives it on its own task. The writer's sessions insist on
/// `synchronous_commit = on`, whatever the server's default: an append is acknowledged
/// only once its commit record is flushed.
pub(crate) async fn open_client(config: &Config, writer: bool) -> StoreResult<Client> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| pg_error("connect", &e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection ended");
        }
    });
    if writer {
        client
            .batch_execute("SET synchronous_commit = on")
            .await
            .map_err(|e| pg_error("configure the session", &e))?;
    }
    Ok(client)
}

/// Parses `url` (a `postgres://` URL or key=value string) and adds the password kept
/// apart from it.
pub(crate) fn parse_config(url: &str, password: Option<&str>) -> StoreResult<(Config, String)> {
    let mut config: Config = url.parse().map_err(|e| StoreError::Backend {
        detail: format!("invalid PostgreSQL connection string: {e}"),
    })?;
    if let Some(p) = password {
        config.password(p);
    }
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let display = format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    );
    Ok((config, display))
}

impl PostgresStore {
    /// Connects to the database at `url` (password apart, e.g. from
    /// `HOSO_DATABASE_PASSWORD`), creating the ledger's schema if the database has none.
    /// A database whose schema was written by a newer hoso is refused.
    pub async fn connect(
        url: &str,
        password: Option<&str>,
        options: StoreOptions,
    ) -> StoreResult<Self> {
        let (config, display) = parse_config(url, password)?;
        let mut client = open_client(&config, false).await?;
        ensure_schema(&mut client, &display, &options).await?;

        let recorded = client
            .query_opt("SELECT position, detail FROM hoso_damage LIMIT 1", &[])
            .await
            .map_err(|e| pg_error("read damage", &e))?
            .map(|row| {
                let position: Option<i64> = row.try_get(0).ok().flatten();
                let detail: String = row
                    .try_get(1)
                    .unwrap_or_else(|_| "damage recorded by another node".into());
                Damage::new(position.and_then(|p| u64::try_from(p).ok()), detail)
            });
        let head: Option<i64> = client
            .query_one("SELECT max(position) FROM hoso_events", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_error("read log head", &e))?;
        let head = head.and_then(|h| u64::try_from(h).ok());

        let (record_tx, record_rx) = mpsc::unbounded_channel();
        let (head_tx, head_rx) = watch::channel(head);
        let shared = Arc::new(Shared {
            config,
            display,
            clock: options.clock,
            poison: Poison {
                damage: Mutex::new(recorded.clone()),
                record: record_tx,
            },
            head_tx,
        });
        if let Some(d) = &recorded {
            tracing::error!(position = ?d.position, reason = %d.detail, "the shared ledger holds recorded damage: writes are refused");
        }
        if let Err(e) = check_tail(&client).await {
            if e.is_corruption() {
                shared.poison.set(Damage::from(&e));
            } else {
                return Err(e);
            }
        }

        let (requests, rx) = mpsc::channel(QUEUE_REQUESTS_MAX);
        let writer_client = open_client(&shared.config, true).await?;
        let prepared = writer::Prepared::on(&writer_client).await?;
        let writer = Writer {
            shared: shared.clone(),
            client: Some((writer_client, prepared)),
            heads: Default::default(),
            cache_next: None,
        };
        // The writer is not aborted on drop: it finishes what was queued, then stops.
        tokio::spawn(writer.run(rx));
        let tasks = vec![
            tokio::spawn(listen(shared.clone())),
            tokio::spawn(record_damage(shared.config.clone(), record_rx)),
        ];
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                requests,
                reader: tokio::sync::Mutex::new(Some(Arc::new(client))),
                head_rx,
                tasks,
            }),
        })
    }

    /// The database, as `postgres://user@host:port/db` (no password).
    pub fn database(&self) -> &str {
        &self.inner.shared.display
    }

    /// A lease on this database named `name` (see [`Lease`]), on its own connection.
    pub async fn lease(&self, name: &str) -> StoreResult<Lease> {
        Lease::with_config(&self.inner.shared.config, name).await
    }

    /// The reading connection, opened again if it was lost. Queries from many tasks
    /// share it: the client pipelines them.
    async fn reader(&self) -> StoreResult<Arc<Client>> {
        let mut g = self.inner.reader.lock().await;
        if let Some(c) = g.as_ref()
            && !c.is_closed()
        {
            return Ok(c.clone());
        }
        let c = Arc::new(open_client(&self.inner.shared.config, false).await?);
        *g = Some(c.clone());
        Ok(c)
    }

    async fn query_events(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        stop_before_damage: bool,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let client = self.reader().await?;
        let rows = client
            .query(sql, params)
            .await
            .map_err(|e| pg_error("read events", &e))?;
        let result = events_from_rows(&rows, stop_before_damage);
        if let Err(e) = &result
            && e.is_corruption()
        {
            self.inner.shared.poison.set(Damage::from(e));
        }
        result
    }
}

/// Creates the schema if the database has none, under an advisory lock so that nodes
/// starting together create it once; otherwise checks that it is a hoso ledger of a
/// format this build knows.
async fn ensure_schema(client: &mut Client, db: &str, options: &StoreOptions) -> StoreResult<()> {
    let not_a_store = |reason: String| StoreError::NotAStore {
        path: db.into(),
        reason,
    };
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg_error("begin", &e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK_KEY])
        .await
        .map_err(|e| pg_error("take the schema lock", &e))?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('hoso_meta') IS NOT NULL", &[])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| pg_error("look for the schema", &e))?;
    if !exists {
        let events: bool = tx
            .query_one("SELECT to_regclass('hoso_events') IS NOT NULL", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_error("look for the schema", &e))?;
        if events {
            return Err(not_a_store(
                "it has a hoso_events table but no hoso_meta: not created by hoso".into(),
            ));
        }
        tx.batch_execute(DDL)
            .await
            .map_err(|e| pg_error("create the schema", &e))?;
        for (k, v) in options.new_store_meta(FORMAT, FORMAT_VERSION) {
            tx.execute(
                "INSERT INTO hoso_meta (key, value) VALUES ($1, $2)",
                &[&k, &v],
            )
            .await
            .map_err(|e| pg_error("write meta", &e))?;
        }
        tx.commit()
            .await
            .map_err(|e| pg_error("create the schema", &e))?;
        tracing::info!(database = %db, "created ledger schema");
        return Ok(());
    }
    let meta = |key: &'static str| {
        let tx = &tx;
        async move {
            tx.query_opt("SELECT value FROM hoso_meta WHERE key = $1", &[&key])
                .await
                .map_err(|e| pg_error("read meta", &e))?
                .map(|r| r.try_get::<_, String>(0))
                .transpose()
                .map_err(|e| pg_error("read meta", &e))
        }
    };
    let format = meta("format").await?;
    if format.as_deref() != Some(FORMAT) {
        return Err(not_a_store(format!(
            "hoso_meta.format is {format:?}, not {FORMAT:?}"
        )));
    }
    let version = meta("format_version").await?;
    match version.as_deref().map(str::parse::<i64>) {
        Some(Ok(v)) if v == FORMAT_VERSION => {}
        Some(Ok(v)) if v > FORMAT_VERSION => {
            return Err(not_a_store(format!(
                "format version {v} was written by a newer hoso (this build reads up to {FORMAT_VERSION})"
            )));
        }
        other => {
            return Err(not_a_store(format!(
                "unknown format version {other:?} (this build reads {FORMAT_VERSION})"
            )));
        }
    }
    tx.commit().await.map_err(|e| pg_error("commit", &e))?;
    Ok(())
}

/// Re-hashes the last events and checks each links to its stream predecessor: a torn
/// or edited tail is found at connect, before anything is chained onto it.
async fn check_tail(client: &Client) -> StoreResult<()> {
    let sql = format!(
        "SELECT {COLUMNS} FROM hoso_events ORDER BY position DESC LIMIT {TAIL_CHECK_EVENTS}"
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(|e| pg_error("read the tail", &e))?;
    for e in events_from_rows(&rows, false)? {
        if e.compute_hash(true) != e.hash {
            return Err(StoreError::Corrupt {
                position: Some(e.position),
                detail: format!("event {}@{} does not match its hash", e.stream, e.revision),
            });
        }
        if e.revision > 0 {
            let prev = client
                .query_opt(
                    "SELECT hash FROM hoso_events WHERE stream = $1 AND revision = $2",
                    &[&e.stream, &to_i64(e.revision - 1)],
                )
                .await
                .map_err(|err| pg_error("read the tail", &err))?
                .and_then(|r| r.try_get::<_, Vec<u8>>(0).ok());
            if prev.as_deref() != Some(e.prev_hash.as_slice()) {
                return Err(StoreError::Corrupt {
                    position: Some(e.position),
                    detail: format!(
                        "event {}@{} does not link to its predecessor",
                        e.stream, e.revision
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Hears every node's commits on [`NOTIFY_CHANNEL`] and raises the known head; opens
/// its connection again when it drops (feeds poll meanwhile).
async fn listen(shared: Arc<Shared>) {
    use futures::StreamExt;
    loop {
        match shared.config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                let sql = format!("LISTEN {NOTIFY_CHANNEL}");
                let listen = client.batch_execute(&sql);
                // The connection must be polled for the LISTEN to complete.
                let mut listen = std::pin::pin!(listen);
                let mut listening = false;
                loop {
                    tokio::select! {
                        done = &mut listen, if !listening => {
                            if let Err(e) = done {
                                tracing::warn!(error = %e, "LISTEN failed");
                                break;
                            }
                            listening = true;
                        }
                        m = messages.next() => match m {
                            Some(Ok(AsyncMessage::Notification(n))) => {
                                if let Ok(p) = n.payload().parse::<u64>() {
                                    shared.announce(p);
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "listener connection failed");
                                break;
                            }
                            None => break,
                        },
                        () = shared.head_tx.closed() => return,
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the listener connection"),
        }
        tokio::select! {
            () = tokio::time::sleep(LISTEN_RETRY) => {}
            () = shared.head_tx.closed() => return,
        }
    }
}

/// Writes each damage this node finds to `hoso_damage` (the first one stays), so that
/// every node refuses writes and reports it, also after a restart.
async fn record_damage(config: Config, mut rx: mpsc::UnboundedReceiver<Damage>) {
    while let Some(d) = rx.recv().await {
        for attempt in 0..5u32 {
            let result = async {
                let client = open_client(&config, true).await?;
                client
                    .execute(
                        "INSERT INTO hoso_damage (id, position, detail) VALUES (1, $1, $2) \
                         ON CONFLICT (id) DO NOTHING",
                        &[&d.position.map(to_i64), &d.detail],
                    )
                    .await
                    .map_err(|e| pg_error("record damage", &e))
            }
            .await;
            match result {
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, attempt, "cannot record the ledger damage in the database");
                    tokio::time::sleep(LISTEN_RETRY).await;
                }
            }
        }
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> StoreResult<AppendResult> {
        if let Some(damage) = self.inner.shared.poison.get() {
            return Err(damage.refusal());
        }
        crate::envelope::validate_append(stream, &events)?;
        let events = events
            .into_iter()
            .map(|mut e| {
                // What is hashed must equal what is read back, which has µs precision.
                e.effective_at = e.effective_at.map(crate::envelope::truncate_to_micros);
                e
            })
            .collect();
        let (reply, rx) = oneshot::channel();
        self.inner
            .requests
            .send(WriteRequest {
                stream: stream.to_owned(),
                expected,
                events,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from: StreamFrom,
        direction: Direction,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        if max_count == 0 {
            return Ok(Vec::new());
        }
        let from = match (from, direction) {
            (StreamFrom::End, Direction::Forwards) => return Ok(Vec::new()),
            (StreamFrom::End, Direction::Backwards) => i64::MAX,
            (StreamFrom::Start, _) => 0,
            (StreamFrom::Revision(r), _) => to_i64(r),
        };
        let limit = to_i64(max_count as u64);
        let sql = match direction {
            Direction::Forwards => format!(
                "SELECT {COLUMNS} FROM hoso_events WHERE stream = $1 AND revision >= $2 \
                 ORDER BY revision LIMIT $3"
            ),
            Direction::Backwards => format!(
                "SELECT {COLUMNS} FROM hoso_events WHERE stream = $1 AND revision <= $2 \
                 ORDER BY revision DESC LIMIT $3"
            ),
        };
        self.query_events(&sql, &[&stream, &from, &limit], false)
            .await
    }

    async fn read_all(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM hoso_events WHERE position >= $1 ORDER BY position LIMIT $2"
        );
        self.query_events(
            &sql,
            &[&to_i64(from_position), &to_i64(max_count as u64)],
            true,
        )
        .await
    }

    /// Filtered by type in the database: the other rows never leave it.
    async fn read_all_of_type(
        &self,
        from_position: u64,
        to_position: u64,
        event_type: &str,
        max_count: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM hoso_events WHERE position >= $1 AND position < $2 \
             AND event_type = $3 ORDER BY position LIMIT $4"
        );
        self.query_events(
            &sql,
            &[
                &to_i64(from_position),
                &to_i64(to_position),
                &event_type,
                &to_i64(max_count as u64),
            ],
            true,
        )
        .await
    }

    /// Two columns of the rows, not the events: the sealer follows the log with it.
    async fn read_hashes(
        &self,
        from_position: u64,
        max_count: usize,
    ) -> StoreResult<Vec<(u64, crate::envelope::Hash)>> {
        let client = self.reader().await?;
        let rows = client
            .query(
                "SELECT position, hash FROM hoso_events WHERE position >= $1 \
                 ORDER BY position LIMIT $2",
                &[&to_i64(from_position), &to_i64(max_count as u64)],
            )
            .await
            .map_err(|e| pg_error("read hashes", &e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let position = row
                .try_get::<_, i64>(0)
                .ok()
                .and_then(|p| u64::try_from(p).ok());
            let hash = row
                .try_get::<_, &[u8]>(1)
                .ok()
                .and_then(|h| crate::envelope::Hash::try_from(h).ok());
            let (Some(position), Some(hash)) = (position, hash) else {
                let e = StoreError::Corrupt {
                    position,
                    detail: "a row's position or hash has the wrong shape".into(),
                };
                self.inner.shared.poison.set(Damage::from(&e));
                return Err(e);
            };
            out.push((position, hash));
        }
        Ok(out)
    }

    fn subscribe_all(&self, from_position: u64) -> EventFeed {
        crate::feed::follow(
            self.clone(),
            from_position,
            self.inner.head_rx.clone(),
            Some(FEED_FALLBACK_POLL),
        )
    }

    async fn stream_revision(&self, stream: &str) -> StoreResult<Option<u64>> {
        let client = self.reader().await?;
        let r: Option<i64> = client
            .query_one(
                "SELECT max(revision) FROM hoso_events WHERE stream = $1",
                &[&stream],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_error("read stream revision", &e))?;
        r.map(|r| {
            u64::try_from(r).map_err(|_| StoreError::Corrupt {
                position: None,
                detail: format!("stream {stream} has a negative revision"),
            })
        })
        .transpose()
    }

    async fn head_position(&self) -> StoreResult<Option<u64>> {
        let client = self.reader().await?;
        let r: Option<i64> = client
            .query_one("SELECT max(position) FROM hoso_events", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg_error("read log head", &e))?;
        let head = r
            .map(|r| {
                u64::try_from(r).map_err(|_| StoreError::Corrupt {
                    position: None,
                    detail: format!("impossible last position {r}"),
                })
            })
            .transpose()?;
        if let Some(h) = head {
            self.inner.shared.announce(h);
        }
        Ok(head)
    }

    fn dense_positions(&self) -> bool {
        true
    }

    fn shared(&self) -> bool {
        true
    }

    fn mark_corrupt(&self, damage: Damage) {
        self.inner.shared.poison.set(damage);
    }

    fn damage(&self) -> Option<Damage> {
        self.inner.shared.poison.get()
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }
}

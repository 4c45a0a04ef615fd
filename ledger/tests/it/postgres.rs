//! The PostgreSQL backend against the store contract, on a fresh database per test on
//! the server named by `HOSO_POSTGRES_URL` (skipped with a note without it, a failure
//! in CI), plus what only a shared database can get wrong: two nodes appending to one
//! log, clients bypassing hoso, damage seen by every node, the format check, the lease.

use futures::StreamExt;
use hoso_ledger::postgres::{Lease, PostgresStore, testing};
use hoso_ledger::{
    Damage, EventStore, ExpectedRevision, NewEvent, StoreError, StoreOptions, conformance,
};
use tokio_postgres::NoTls;

/// A fresh database for one test, or `None` (after the note) without a server.
async fn fresh(what: &str) -> Option<String> {
    let url = testing::server_url(what)?;
    Some(testing::scratch_database(&url).await)
}

async fn connect(url: &str) -> PostgresStore {
    PostgresStore::connect(url, None, StoreOptions::default())
        .await
        .unwrap()
}

/// A client that bypasses hoso, as an operator's or an attacker's would.
async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

fn ev(marker: &str) -> NewEvent {
    NewEvent::new("test.Happened", 1, marker.as_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_conformance_suite() {
    let Some(url) = fresh("the PostgreSQL conformance suite").await else {
        return;
    };
    let store = connect(&url).await;
    conformance::run_all(&store).await;
    assert_eq!(store.damage(), None, "the contract checks found no damage");
}

#[test]
fn postgres_passes_the_model_based_properties() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(url) = rt.block_on(fresh("the PostgreSQL model-based properties")) else {
        return;
    };
    let store = rt.block_on(connect(&url));
    conformance::properties(&rt, &store, 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_append_only_inside_the_database() {
    let Some(url) = fresh("the PostgreSQL append-only triggers").await else {
        return;
    };
    let store = connect(&url).await;
    store
        .append("s", ExpectedRevision::NoStream, vec![ev("a"), ev("b")])
        .await
        .unwrap();
    let client = raw(&url).await;
    for sql in [
        "UPDATE hoso_events SET payload = '\\x00' WHERE position = 0",
        "DELETE FROM hoso_events WHERE position = 1",
        "TRUNCATE hoso_events",
    ] {
        let err = client.batch_execute(sql).await.unwrap_err();
        let message = err
            .as_db_error()
            .map(|d| d.message().to_owned())
            .unwrap_or_default();
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    // A second event at a taken place in a stream is refused by the database as well.
    let err = client
        .batch_execute(
            "INSERT INTO hoso_events SELECT position + 10, stream, revision, gen_random_uuid(), \
             event_type, schema_version, payload, actor, correlation_id, causation_id, \
             recorded_at, effective_at, doc_number, doc_date, doc_issuer, doc_sha256, \
             prev_hash, hash FROM hoso_events WHERE position = 1",
        )
        .await
        .unwrap_err();
    assert!(
        err.as_db_error()
            .is_some_and(|d| d.constraint() == Some("hoso_events_stream_revision")),
        "{err:?}"
    );
    assert_eq!(store.verify_all(&|_| ()).await.unwrap().events, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_append_to_one_dense_verifying_log_and_hear_each_other() {
    let Some(url) = fresh("the PostgreSQL two-node test").await else {
        return;
    };
    let a = connect(&url).await;
    let b = connect(&url).await;
    let mut feed_a = a.subscribe_all(0);
    const TASKS: usize = 4;
    const APPENDS: usize = 25;
    let mut tasks = Vec::new();
    for (node, store) in [("a", a.clone()), ("b", b.clone())] {
        for t in 0..TASKS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..APPENDS {
                    // One shared stream raced with exact expectations, and one per task.
                    let shared = loop {
                        let current = store.stream_revision("shared").await.unwrap();
                        let expected =
                            current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                        match store
                            .append("shared", expected, vec![ev(&format!("{node}{t}-{i}"))])
                            .await
                        {
                            Ok(r) => break r,
                            Err(StoreError::WrongExpectedRevision { .. }) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    };
                    let own = store
                        .append(
                            &format!("{node}-{t}"),
                            ExpectedRevision::Any,
                            vec![ev("x"), ev("y")],
                        )
                        .await
                        .unwrap();
                    acked.push(shared);
                    acked.push(own);
                }
                acked
            }));
        }
    }
    let mut positions = Vec::new();
    for t in tasks {
        for r in t.await.unwrap() {
            positions.extend(r.first_position..=r.last_position);
        }
    }
    positions.sort_unstable();
    let total = (2 * TASKS * APPENDS * 3) as u64;
    assert_eq!(
        positions,
        (0..total).collect::<Vec<_>>(),
        "dense, no position twice"
    );
    for store in [&a, &b] {
        let report = store.verify_all(&|_| ()).await.unwrap();
        assert_eq!(report.events, total);
        assert_eq!(store.head_position().await.unwrap(), Some(total - 1));
    }
    // Node a's subscriber saw every event, node b's included, once and in order.
    for expected in 0..total {
        let e = feed_a.next().await.unwrap().unwrap();
        assert_eq!(e.position, expected);
    }
    // And a live append on b reaches a's feed.
    let r = b
        .append("late", ExpectedRevision::NoStream, vec![ev("late")])
        .await
        .unwrap();
    let e = feed_a.next().await.unwrap().unwrap();
    assert_eq!((e.position, e.stream.as_str()), (r.first_position, "late"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_a_newer_format_is_refused() {
    let Some(url) = fresh("the PostgreSQL format check").await else {
        return;
    };
    drop(connect(&url).await);
    raw(&url)
        .await
        .batch_execute("UPDATE hoso_meta SET value = '99' WHERE key = 'format_version'")
        .await
        .unwrap();
    let err = PostgresStore::connect(&url, None, StoreOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotAStore { reason, .. } if reason.contains("newer hoso")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_found_by_one_node_stops_every_node_and_survives_reconnecting() {
    let Some(url) = fresh("the PostgreSQL damage test").await else {
        return;
    };
    let a = connect(&url).await;
    let b = connect(&url).await;
    a.append("s", ExpectedRevision::NoStream, vec![ev("a")])
        .await
        .unwrap();
    let damage = Damage::new(Some(0), "planted by the test");
    a.mark_corrupt(damage.clone());
    assert!(matches!(
        a.append("s", ExpectedRevision::Any, vec![ev("b")]).await,
        Err(StoreError::Poisoned { .. })
    ));
    // The record is written off the caller's path: wait until node b's commit sees it.
    let mut refused = None;
    for _ in 0..200 {
        match b.append("t", ExpectedRevision::Any, vec![ev("t")]).await {
            Err(StoreError::Poisoned { position, reason }) => {
                refused = Some((position, reason));
                break;
            }
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(refused, Some((Some(0), "planted by the test".to_owned())));
    assert_eq!(b.damage(), Some(damage.clone()));
    drop((a, b));
    let c = connect(&url).await;
    assert_eq!(c.damage(), Some(damage));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_malformed_row_is_corruption_at_its_position() {
    let Some(url) = fresh("the PostgreSQL tamper test").await else {
        return;
    };
    let store = connect(&url).await;
    for i in 0..3 {
        store
            .append("s", ExpectedRevision::Any, vec![ev(&i.to_string())])
            .await
            .unwrap();
    }
    let client = raw(&url).await;
    // A superuser can switch the triggers off; the hash chain still tells.
    client
        .batch_execute(
            "ALTER TABLE hoso_events DISABLE TRIGGER USER; \
             UPDATE hoso_events SET payload = '\\x58' WHERE position = 1; \
             ALTER TABLE hoso_events ENABLE TRIGGER USER;",
        )
        .await
        .unwrap();
    let err = store.verify_all(&|_| ()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Chain(v) if v.position == 1),
        "{err}"
    );
    assert!(store.damage().is_some());

    // A row of the wrong shape (a short hash) is refused when read, naming its position.
    let other = fresh("the PostgreSQL malformed-row test").await.unwrap();
    let store = connect(&other).await;
    store
        .append("s", ExpectedRevision::Any, vec![ev("0")])
        .await
        .unwrap();
    raw(&other)
        .await
        .batch_execute(
            "INSERT INTO hoso_events SELECT 1, stream, 1, gen_random_uuid(), event_type, \
             schema_version, payload, actor, correlation_id, causation_id, recorded_at, \
             effective_at, doc_number, doc_date, doc_issuer, doc_sha256, hash, '\\x0102' \
             FROM hoso_events WHERE position = 0",
        )
        .await
        .unwrap();
    let err = store.read_all(1, 10).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                position: Some(1),
                ..
            }
        ),
        "{err}"
    );
    // A page that starts with good events ends before the bad one.
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lease_holder_at_a_time_and_the_lease_is_lost_with_its_session() {
    let Some(url) = fresh("the PostgreSQL lease test").await else {
        return;
    };
    let first = Lease::connect(&url, None, "sealer").await.unwrap();
    let second = Lease::connect(&url, None, "sealer").await.unwrap();
    let unrelated = Lease::connect(&url, None, "other").await.unwrap();
    assert!(first.try_acquire().await.unwrap());
    assert!(first.held());
    assert!(!second.try_acquire().await.unwrap());
    assert!(!second.held());
    assert!(unrelated.try_acquire().await.unwrap());
    // The holder's session ends (a node dies): the server releases the lock.
    drop(first);
    let mut taken = false;
    for _ in 0..200 {
        if second.try_acquire().await.unwrap() {
            taken = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(taken && second.held());
    second.release().await.unwrap();
    assert!(!second.held());
}

mod sealing {
    //! Two sealers over one shared log: one signs, the other follows and verifies, and
    //! takes over when the holder's lease goes.

    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use hoso_ledger::checkpoint::HEAD_FILE;
    use hoso_ledger::sealer::{CheckpointPolicy, OpenReport, Sealer, SealerFiles, SigningLease};
    use hoso_ledger::tree::TREE_FILE;
    use hoso_ledger::{EventStore, ExpectedRevision, LedgerKeyRing, TimeSource};

    use super::{PostgresStore, connect, ev, fresh};

    async fn open(store: &PostgresStore, dir: &Path, keys: &Path) -> (Arc<Sealer>, OpenReport) {
        let lease: Arc<dyn SigningLease> = Arc::new(store.lease("sealer").await.unwrap());
        Sealer::open_with_lease(
            Arc::new(store.clone()),
            SealerFiles {
                tree: dir.join(TREE_FILE),
                head: dir.join(HEAD_FILE),
            },
            LedgerKeyRing::open_or_create(keys, TimeSource::system().now()).unwrap(),
            TimeSource::system(),
            CheckpointPolicy {
                every_events: 10,
                every: Duration::from_secs(3600),
            },
            false,
            &|_| (),
            Some(lease),
        )
        .await
        .unwrap()
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..800 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("never happened: {what}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_lease_holder_signs_and_another_node_takes_over() {
        let Some(url) = fresh("the PostgreSQL two-sealer test").await else {
            return;
        };
        let (dir_a, dir_b, ring) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        // Nodes sharing a log share the key ring.
        let keys = ring.path().join("ledger-keys.json");
        let (a, b) = (connect(&url).await, connect(&url).await);
        let (sealer_a, report) = open(&a, dir_a.path(), &keys).await;
        assert_eq!(report.damage, None);
        let opened = sealer_a.latest().map(|h| h.head.tree_size);
        assert!(
            sealer_a.holds_lease() && opened.is_some(),
            "a signed its opening"
        );
        let opened = opened.unwrap_or_default();
        let (sealer_b, report) = open(&b, dir_b.path(), &keys).await;
        assert_eq!(report.damage, None);
        assert!(!sealer_b.holds_lease());
        let run_a = tokio::spawn(sealer_a.clone().run());
        let run_b = tokio::spawn(sealer_b.clone().run());

        // Node b writes; node a signs over b's events, b follows and verifies.
        for i in 0..25 {
            b.append("s", ExpectedRevision::Any, vec![ev(&i.to_string())])
                .await
                .unwrap();
        }
        // A shared log's sealer signs over whatever it has caught up with once ten
        // events are new, so where heads fall depends on its polls; ten past the
        // opening head is the one size the policy guarantees.
        until("a signs an interval head over b's events", || {
            sealer_a
                .latest()
                .is_some_and(|h| h.head.tree_size >= opened + 10)
        })
        .await;
        let head = b.head_position().await.unwrap().unwrap();
        until("b's tree follows the log", || sealer_b.tree().len() > head).await;
        assert!(!dir_b.path().join(HEAD_FILE).exists(), "b signed nothing");

        // a stops cleanly: its shutdown head, then its lease goes with its session.
        let shutdown = sealer_a
            .shutdown()
            .await
            .unwrap()
            .expect("a signs at shutdown");
        run_a.await.unwrap().unwrap();
        drop(sealer_a);
        for i in 0..15 {
            b.append("s", ExpectedRevision::Any, vec![ev(&format!("after {i}"))])
                .await
                .unwrap();
        }
        until("b takes the lease and signs", || {
            sealer_b
                .latest()
                .is_some_and(|h| h.head.tree_size > shutdown.head.tree_size)
        })
        .await;
        assert!(sealer_b.holds_lease());

        // a comes back after b appended past a's shutdown head: on a shared log that
        // is another node's work, verified, not damage.
        let (_sealer_a, report) = open(&a, dir_a.path(), &keys).await;
        assert_eq!(report.damage, None);
        assert!(report.verified_events > 0);
        sealer_b.shutdown().await.unwrap();
        run_b.await.unwrap().unwrap();
        assert_eq!(a.damage(), None);
        assert_eq!(b.damage(), None);
    }
}

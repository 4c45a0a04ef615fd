//! The sealer against a real SQLite log: the tree follows the log, heads are signed
//! by the policy and at shutdown, and each way of altering a stopped node's log is
//! found at the next open, naming where.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hoso_ledger::checkpoint::{CHECKPOINT_STREAM, HEAD_FILE, read_head_file};
use hoso_ledger::merkle::{root_of, verify_consistency, verify_inclusion};
use hoso_ledger::sealer::{CheckpointPolicy, OpenReport, Sealer, SealerFiles};
use hoso_ledger::sqlite::DB_FILE;
use hoso_ledger::tree::TREE_FILE;
use hoso_ledger::{
    Direction, EventStore, ExpectedRevision, HeadReason, LedgerKeyRing, NewEvent, SqliteStore,
    StoreOptions, StreamFrom, TimeSource,
};

const KEYS: &str = "ledger-keys.json";

fn files(dir: &Path) -> SealerFiles {
    SealerFiles {
        tree: dir.join(TREE_FILE),
        head: dir.join(HEAD_FILE),
    }
}

fn ev(marker: &str) -> NewEvent {
    NewEvent::new("test.Happened", 1, marker.as_bytes().to_vec())
}

fn policy(every_events: u64) -> CheckpointPolicy {
    CheckpointPolicy {
        every_events,
        every: Duration::from_secs(3600),
    }
}

async fn open_sealer(
    dir: &Path,
    store: &SqliteStore,
    every_events: u64,
    full: bool,
) -> (Arc<Sealer>, OpenReport) {
    let keys = LedgerKeyRing::open_or_create(&dir.join(KEYS), TimeSource::system().now()).unwrap();
    Sealer::open(
        Arc::new(store.clone()),
        files(dir),
        keys,
        TimeSource::system(),
        policy(every_events),
        full,
        &|_| (),
    )
    .await
    .unwrap()
}

async fn append_n(store: &SqliteStore, n: usize) {
    for i in 0..n {
        store
            .append(
                &format!("s-{}", i % 3),
                ExpectedRevision::Any,
                vec![ev(&i.to_string())],
            )
            .await
            .unwrap();
    }
}

async fn log_hashes(store: &SqliteStore) -> Vec<[u8; 32]> {
    store
        .read_all(0, 1_000_000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.hash)
        .collect()
}

/// A node's life: open (sealer), `n` appends while it runs, clean shutdown.
async fn session(dir: &Path, n: usize, every_events: u64) {
    let store = if dir.join(DB_FILE).exists() {
        SqliteStore::open(dir, StoreOptions::default()).unwrap()
    } else {
        SqliteStore::create(dir, StoreOptions::default()).unwrap()
    };
    let (sealer, report) = open_sealer(dir, &store, every_events, false).await;
    assert_eq!(report.damage, None, "{report:?}");
    let run = tokio::spawn(sealer.clone().run());
    append_n(&store, n).await;
    sealer.shutdown().await.unwrap().unwrap();
    run.await.unwrap().unwrap();
}

fn tamper(dir: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS events_append_only_update; DROP TRIGGER IF EXISTS events_append_only_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

async fn reopen(dir: &Path) -> (SqliteStore, OpenReport) {
    // After a simulated crash (an aborted task), a blocking read it started may hold
    // the store for a moment longer.
    let mut tries = 0;
    let store = loop {
        match SqliteStore::open(dir, StoreOptions::default()) {
            Ok(store) => break store,
            Err(e) if tries < 50 && e.to_string().contains("lock") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    let (_sealer, report) = open_sealer(dir, &store, 1_000, false).await;
    (store, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_are_signed_by_the_policy_and_cover_the_log_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::create(dir.path(), StoreOptions::default()).unwrap();
    let (sealer, report) = open_sealer(dir.path(), &store, 10, false).await;
    assert_eq!(report.damage, None);
    let opened = sealer.latest().unwrap();
    assert_eq!(opened.head.reason, HeadReason::Opened);
    // The key registration is the first event; the opening head covers it.
    assert_eq!(opened.head.tree_size, 1);
    let run = tokio::spawn(sealer.clone().run());
    append_n(&store, 35).await;
    // Let the running sealer follow the appends (it polls), so that it signs the
    // interval heads rather than the shutdown covering everything.
    let appended = store.head_position().await.unwrap().unwrap() + 1;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sealer.tree().len() < appended {
        assert!(
            std::time::Instant::now() < deadline,
            "the sealer never followed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let last = sealer.shutdown().await.unwrap().unwrap();
    run.await.unwrap().unwrap();
    assert_eq!(last.head.reason, HeadReason::Shutdown);

    let hashes = log_hashes(&store).await;
    let size = last.head.tree_size as usize;
    assert_eq!(
        hashes.len(),
        size + 1,
        "the shutdown head's own event follows it"
    );
    assert_eq!(last.head.root, root_of(&hashes[..size]));
    sealer.keys().verify(&last).unwrap();
    assert_eq!(
        read_head_file(&dir.path().join(HEAD_FILE)).unwrap(),
        Some(last.clone())
    );

    let heads = store
        .read_stream(
            CHECKPOINT_STREAM,
            StreamFrom::Start,
            Direction::Forwards,
            100,
        )
        .await
        .unwrap();
    // Opened, three interval heads (every 10 appends), shutdown.
    assert_eq!(heads.len(), 5, "{heads:?}");

    // Proofs from the tree verify against the signed root.
    let tree = sealer.tree();
    for i in [0, 7, size as u64 - 1] {
        let proof = tree.inclusion_proof(i, size as u64).unwrap();
        verify_inclusion(&hashes[i as usize], &proof, &last.head.root).unwrap();
    }
    let old = opened.head;
    let proof = tree.consistency_proof(old.tree_size, size as u64).unwrap();
    verify_consistency(&old.root, &last.head.root, &proof).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_restart_verifies_only_the_new_events() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), 50, 1_000).await;
    let (_store, report) = reopen(dir.path()).await;
    assert_eq!(report.damage, None, "{report:?}");
    assert!(!report.tree_rebuilt);
    // Only the shutdown head's own event was not yet in the tree.
    assert_eq!(report.verified_events, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_tail_names_the_missing_range() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), 50, 1_000).await;
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let len = store.head_position().await.unwrap().unwrap() + 1;
    drop(store);
    tamper(
        dir.path(),
        &format!("DELETE FROM events WHERE position >= {}", len - 3),
    );
    let (store, report) = reopen(dir.path()).await;
    let damage = report.damage.expect("a shorter log is damage");
    assert_eq!(damage.position, Some(len - 3));
    assert!(damage.detail.contains("missing"), "{}", damage.detail);
    assert!(
        store
            .append("s-0", ExpectedRevision::Any, vec![ev("x")])
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_shutdown_checkpoint_deleted_is_found() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), 20, 1_000).await;
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let last = store.head_position().await.unwrap().unwrap();
    drop(store);
    tamper(
        dir.path(),
        &format!("DELETE FROM events WHERE position = {last}"),
    );
    let (_store, report) = reopen(dir.path()).await;
    let damage = report.damage.expect("the missing checkpoint is damage");
    assert_eq!(damage.position, Some(last));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_appended_while_the_node_was_stopped_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), 20, 1_000).await;
    // Well-formed events with valid chains, appended by something other than the node.
    let store = SqliteStore::open(dir.path(), StoreOptions::default()).unwrap();
    let before = store.head_position().await.unwrap().unwrap() + 1;
    append_n(&store, 2).await;
    drop(store);
    let (_store, report) = reopen(dir.path()).await;
    let damage = report.damage.expect("appends while stopped are damage");
    assert_eq!(damage.position, Some(before));
    assert!(damage.detail.contains("stopped"), "{}", damage.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_acknowledged_before_a_crash_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::create(dir.path(), StoreOptions::default()).unwrap();
        let (sealer, _) = open_sealer(dir.path(), &store, 10, false).await;
        let run = tokio::spawn(sealer.clone().run());
        append_n(&store, 25).await;
        // No shutdown head: the process dies.
        run.abort();
        let _ = run.await;
    }
    let (_store, report) = reopen(dir.path()).await;
    assert_eq!(report.damage, None, "{report:?}");
    assert!(report.verified_events > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_byte_after_the_tree_is_found_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::create(dir.path(), StoreOptions::default()).unwrap();
        let (sealer, _) = open_sealer(dir.path(), &store, 1_000, false).await;
        let run = tokio::spawn(sealer.clone().run());
        append_n(&store, 400).await;
        run.abort();
        let _ = run.await;
    }
    // Beyond the tree (the crashed node flushed none of these) and beyond the tail
    // that the store re-checks itself at open.
    tamper(
        dir.path(),
        "UPDATE events SET payload = X'00' WHERE position = 30",
    );
    let (_store, report) = reopen(dir.path()).await;
    assert_eq!(report.damage.and_then(|d| d.position), Some(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_log_does_not_match_its_signed_root() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), 20, 1_000).await;
    // The tree file goes too, so nothing derived remembers the old log; the signed
    // head still does.
    std::fs::remove_file(dir.path().join(TREE_FILE)).unwrap();
    tamper(
        dir.path(),
        "UPDATE events SET payload = X'00' WHERE position = 5",
    );
    let (_store, report) = reopen(dir.path()).await;
    assert!(report.tree_rebuilt);
    assert_eq!(report.damage.and_then(|d| d.position), Some(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_tree_file_is_rebuilt_and_a_lost_head_file_is_found_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), 30, 1_000).await;
    std::fs::remove_file(dir.path().join(TREE_FILE)).unwrap();
    std::fs::remove_file(dir.path().join(HEAD_FILE)).unwrap();
    let (_store, report) = reopen(dir.path()).await;
    assert_eq!(report.damage, None, "{report:?}");
    assert!(report.tree_rebuilt);
    assert_eq!(
        report.checked_against.map(|h| h.head.reason),
        Some(HeadReason::Shutdown)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_signed_by_an_unknown_key_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), 10, 1_000).await;
    // Another ring: the recorded heads were not signed by any of its keys.
    std::fs::remove_file(dir.path().join(KEYS)).unwrap();
    let (_store, report) = reopen(dir.path()).await;
    let damage = report.damage.expect("an unverifiable head is damage");
    assert!(
        damage.detail.contains("does not verify"),
        "{}",
        damage.detail
    );
}

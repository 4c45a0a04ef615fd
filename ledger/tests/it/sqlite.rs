//! The SQLite backend against the store contract, plus what only a file-backed store
//! can get wrong: reopening, refusing foreign or damaged files, detecting tampering.

use std::path::Path;

use hoso_ledger::sqlite::DB_FILE;
use hoso_ledger::{
    EventStore, ExpectedRevision, NewEvent, SqliteStore, StoreError, StoreOptions, ViolationKind,
    conformance,
};

fn create(dir: &Path) -> SqliteStore {
    SqliteStore::create(dir, StoreOptions::default()).unwrap()
}

fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
    SqliteStore::open(dir, StoreOptions::default())
}

fn ev(marker: &str) -> NewEvent {
    NewEvent::new("test.Happened", 1, marker.as_bytes().to_vec())
}

/// Event `i` of stream `s-{s}`.
async fn append_marker(store: &SqliteStore, s: usize, i: usize) {
    store
        .append(
            &format!("s-{s}"),
            ExpectedRevision::Any,
            vec![ev(&format!("{s}:{i}"))],
        )
        .await
        .unwrap();
}

/// `streams` streams of `per_stream` events, one stream after the other.
async fn fill(store: &SqliteStore, streams: usize, per_stream: usize) {
    for s in 0..streams {
        for i in 0..per_stream {
            append_marker(store, s, i).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    conformance::run_all(&store).await;
}

#[test]
fn sqlite_passes_the_model_based_properties() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(async { create(dir.path()) });
    conformance::properties(&rt, &store, 48);
}

#[tokio::test]
async fn events_survive_reopening_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 3, 4).await;
    }
    let store = open(dir.path()).unwrap();
    assert_eq!(store.head_position().await.unwrap(), Some(11));
    let r = store
        .append("s-1", ExpectedRevision::Exact(3), vec![ev("after reopen")])
        .await
        .unwrap();
    assert_eq!((r.stream_revision, r.first_position), (4, 12));
    let report = store.verify_all(&|_| ()).await.unwrap();
    assert_eq!((report.events, report.streams), (13, 3));
}

#[tokio::test]
async fn the_same_event_id_in_another_stream_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    let e = ev("x");
    store
        .append("a", ExpectedRevision::Any, vec![e.clone()])
        .await
        .unwrap();
    let r = store.append("b", ExpectedRevision::Any, vec![e]).await;
    assert!(
        matches!(r, Err(StoreError::DuplicateEventId { .. })),
        "{r:?}"
    );
    let r = store
        .append("a", ExpectedRevision::Any, vec![ev("new"), ev("newer")])
        .await
        .unwrap();
    assert_eq!(r.stream_revision, 2);
}

#[tokio::test]
async fn create_refuses_an_existing_store_and_open_refuses_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    assert!(matches!(open(&missing), Err(StoreError::NotAStore { .. })));
    assert!(!missing.exists(), "open never creates a store");
    std::fs::create_dir(&missing).unwrap();
    let err = open(&missing).unwrap_err();
    assert!(err.to_string().contains("hoso init"), "{err}");
    drop(create(dir.path()));
    assert!(matches!(
        SqliteStore::create(dir.path(), StoreOptions::default()),
        Err(StoreError::AlreadyExists { .. })
    ));
}

/// What a create killed before its rename leaves: a half-written side file
/// and its journal, but no `ledger.db`. The next create replaces them and the
/// store opens whole; nothing named `ledger.db` ever lacked its meta table.
#[tokio::test]
async fn a_create_interrupted_before_its_rename_leaves_no_store_and_is_started_over() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ledger.db.creating"), b"half a page").unwrap();
    std::fs::write(dir.path().join("ledger.db.creating-journal"), b"x").unwrap();
    assert!(
        matches!(open(dir.path()), Err(StoreError::NotAStore { .. })),
        "a side file is not a store"
    );
    let store = create(dir.path());
    append_marker(&store, 0, 0).await;
    drop(store);
    assert!(!dir.path().join("ledger.db.creating").exists());
    assert!(!dir.path().join("ledger.db.creating-journal").exists());
    let reopened = open(dir.path()).unwrap();
    assert_eq!(reopened.head_position().await.unwrap(), Some(0));
}

#[tokio::test]
async fn a_second_process_cannot_open_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = create(dir.path());
    let err = open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("another hoso process"), "{err}");
}

#[test]
fn a_file_that_is_not_sqlite_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(DB_FILE),
        b"this is a text file, not a ledger\n".repeat(200),
    )
    .unwrap();
    let err = open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
}

#[test]
fn an_sqlite_file_of_another_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY);")
        .unwrap();
    drop(conn);
    let err = open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a hoso ledger"), "{err}");
}

#[test]
fn a_store_from_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(create(dir.path()));
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute(
        "UPDATE meta SET value = '99' WHERE key = 'format_version'",
        [],
    )
    .unwrap();
    drop(conn);
    let err = open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("newer hoso"), "{err}");
}

#[tokio::test]
async fn a_truncated_file_is_reported_as_corrupt_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 50, 20).await;
    }
    let path = dir.path().join(DB_FILE);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 64 * 1024, "the WAL was folded into the file on close");
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 3).unwrap();
    drop(f);
    let outcome = match open(dir.path()) {
        Err(e) => Err(e),
        Ok(store) => store.verify_all(&|_| ()).await.map(|_| ()),
    };
    let err = outcome.unwrap_err();
    assert!(err.is_corruption(), "{err:?}");
}

/// Edits a stored event behind the ledger's back, as an attacker with the sqlite3 CLI would
/// (the append-only triggers have to be dropped first).
fn tamper(dir: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    conn.execute_batch(
        "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

#[tokio::test]
async fn the_log_refuses_updates_and_deletes_from_any_client() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    fill(&store, 1, 2).await;
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let err = conn
        .execute("UPDATE events SET actor = 'mallory'", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn.execute("DELETE FROM events", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[tokio::test]
async fn an_altered_payload_byte_is_located_and_stops_all_writes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 20, 30).await;
    }
    tamper(
        dir.path(),
        "UPDATE events SET payload = CAST('forged' AS BLOB) WHERE position = 123",
    );
    let store = open(dir.path()).unwrap();
    let err = store.verify_all(&|_| ()).await.unwrap_err();
    match &err {
        StoreError::Chain(v) => {
            assert_eq!(v.position, 123);
            assert!(matches!(v.kind, ViolationKind::ContentAltered { .. }));
        }
        other => panic!("expected a chain violation, got {other:?}"),
    }
    let r = store
        .append("s-0", ExpectedRevision::Any, vec![ev("after")])
        .await;
    assert!(matches!(r, Err(StoreError::Poisoned { .. })), "{r:?}");
}

#[tokio::test]
async fn a_deleted_event_is_located() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 5, 10).await;
    }
    tamper(dir.path(), "DELETE FROM events WHERE position = 17");
    let store = open(dir.path()).unwrap();
    match store.verify_all(&|_| ()).await.unwrap_err() {
        StoreError::Chain(v) => assert_eq!(
            (v.position, v.kind),
            (18, ViolationKind::PositionGap { expected: 17 })
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_tampered_tail_is_caught_at_open_and_no_write_follows() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 5).await;
    }
    tamper(
        dir.path(),
        "UPDATE events SET actor = 'mallory' WHERE position = 9",
    );
    let store = open(dir.path()).unwrap();
    assert!(store.poisoned().unwrap().contains("position 9"));
    let r = store
        .append("s-1", ExpectedRevision::Any, vec![ev("x")])
        .await;
    assert!(matches!(r, Err(StoreError::Poisoned { .. })), "{r:?}");
}

#[tokio::test]
async fn a_value_of_the_wrong_shape_is_corruption_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 300).await;
    }
    // STRICT tables refuse a wrong type, so forge a short hash instead.
    tamper(
        dir.path(),
        "UPDATE events SET hash = x'0102' WHERE position = 3",
    );
    let store = open(dir.path()).unwrap();
    // The page ends before the damaged row; reading from it names it.
    assert_eq!(store.read_all(0, 10).await.unwrap().len(), 3);
    let err = store.read_all(3, 10).await.unwrap_err();
    assert!(err.to_string().contains("position 3"), "{err}");
    assert!(err.is_corruption());
}

#[tokio::test]
async fn a_stream_tail_removed_and_the_log_renumbered_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 4, 5).await;
    }
    // Position 4 is the last event of stream s-0; later events are shifted down to hide
    // the gap, so revisions and positions are dense again.
    tamper(
        dir.path(),
        "DELETE FROM events WHERE position = 4; UPDATE events SET position = position - 1 WHERE position > 4;",
    );
    let store = open(dir.path()).unwrap();
    match store.verify_all(&|_| ()).await.unwrap_err() {
        StoreError::Chain(v) => assert_eq!(v.position, 4),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn swapped_positions_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 3, 3).await;
    }
    tamper(
        dir.path(),
        "UPDATE events SET position = 100 WHERE position = 2;
         UPDATE events SET position = 2 WHERE position = 3;
         UPDATE events SET position = 3 WHERE position = 100;",
    );
    let store = open(dir.path()).unwrap();
    match store.verify_all(&|_| ()).await.unwrap_err() {
        StoreError::Chain(v) => assert_eq!(v.position, 2),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn document_fields_without_a_document_are_corruption() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 300).await;
    }
    tamper(
        dir.path(),
        "UPDATE events SET doc_issuer = 'forged' WHERE position = 5",
    );
    let store = open(dir.path()).unwrap();
    let err = store.verify_all(&|_| ()).await.unwrap_err();
    assert!(err.is_corruption(), "{err:?}");
    assert!(err.to_string().contains("position 5"), "{err}");
}

#[tokio::test]
async fn invalid_utf8_in_a_text_column_is_corruption_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 300).await;
    }
    tamper(
        dir.path(),
        "UPDATE events SET actor = CAST(x'61ff' AS TEXT) WHERE position = 7",
    );
    let store = open(dir.path()).unwrap();
    let err = store.verify_all(&|_| ()).await.unwrap_err();
    assert!(err.is_corruption(), "{err:?}");
    assert!(
        err.to_string().contains("position 7") && err.to_string().contains("actor"),
        "{err}"
    );
}

#[tokio::test]
async fn detected_corruption_still_refuses_writes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 10, 40).await;
    }
    // Far from the tail, so only a full verification finds it.
    tamper(
        dir.path(),
        "UPDATE events SET actor = 'mallory' WHERE position = 3",
    );
    {
        let store = open(dir.path()).unwrap();
        assert_eq!(store.poisoned(), None);
        store.verify_all(&|_| ()).await.unwrap_err();
    }
    let store = open(dir.path()).unwrap();
    assert!(store.poisoned().unwrap().contains("position 3"));
    let r = store
        .append("s-1", ExpectedRevision::Any, vec![ev("x")])
        .await;
    assert!(matches!(r, Err(StoreError::Poisoned { .. })), "{r:?}");
}

#[tokio::test]
async fn a_read_only_store_reads_and_refuses_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let writer = create(dir.path());
    fill(&writer, 2, 3).await;
    let reader = SqliteStore::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.verify_all(&|_| ()).await.unwrap().events, 6);
    let r = reader
        .append("s-0", ExpectedRevision::Any, vec![ev("x")])
        .await;
    assert!(matches!(r, Err(StoreError::ReadOnly)), "{r:?}");
}

#[tokio::test]
async fn an_edit_before_an_unreadable_row_in_the_same_page_is_reported_first() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 100).await;
    }
    tamper(
        dir.path(),
        "UPDATE events SET actor = 'mallory' WHERE position = 10;
         UPDATE events SET hash = x'0102' WHERE position = 100;",
    );
    let store = open(dir.path()).unwrap();
    match store.verify_all(&|_| ()).await.unwrap_err() {
        StoreError::Chain(v) => assert_eq!(v.position, 10),
        other => panic!("expected the edit at 10 first, got {other:?}"),
    }
}

// The stream index (`ledger-index.db`) is derived from the log: these check that reads
// by stream stay exact whichever layer (file, memory) holds an entry, and that a lost,
// foreign or stale index file is rebuilt rather than trusted.

/// The revisions `read_stream` returns, for comparing with what was appended.
async fn revisions(
    store: &SqliteStore,
    stream: &str,
    from: hoso_ledger::StreamFrom,
    direction: hoso_ledger::Direction,
    max: usize,
) -> Vec<u64> {
    store
        .read_stream(stream, from, direction, max)
        .await
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e.stream, stream);
            e.revision
        })
        .collect()
}

#[tokio::test]
async fn stream_reads_span_the_index_file_and_memory() {
    use hoso_ledger::{Direction::*, StreamFrom::*};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 3, 10).await;
    }
    // Closing flushed revisions 0..=9 to the file; 10..=14 live in memory only.
    let store = open(dir.path()).unwrap();
    assert!(dir.path().join(hoso_ledger::sqlite::INDEX_FILE).is_file());
    for s in 0..3 {
        for i in 10..15 {
            store
                .append(
                    &format!("s-{s}"),
                    ExpectedRevision::Exact(i - 1),
                    vec![ev("m")],
                )
                .await
                .unwrap();
        }
    }
    let all: Vec<u64> = (0..15).collect();
    assert_eq!(revisions(&store, "s-1", Start, Forwards, 100).await, all);
    assert_eq!(
        revisions(&store, "s-1", Revision(8), Forwards, 4).await,
        [8, 9, 10, 11]
    );
    assert_eq!(
        revisions(&store, "s-1", Revision(12), Forwards, 100).await,
        [12, 13, 14]
    );
    assert_eq!(
        revisions(&store, "s-1", End, Backwards, 7).await,
        [14, 13, 12, 11, 10, 9, 8]
    );
    assert_eq!(
        revisions(&store, "s-1", Revision(9), Backwards, 3).await,
        [9, 8, 7]
    );
    assert_eq!(
        revisions(&store, "s-1", Revision(11), Backwards, 3).await,
        [11, 10, 9]
    );
    assert_eq!(revisions(&store, "s-1", Start, Backwards, 3).await, [0]);
    assert!(
        revisions(&store, "s-9", Start, Forwards, 10)
            .await
            .is_empty()
    );
    assert_eq!(store.stream_revision("s-2").await.unwrap(), Some(14));
    assert_eq!(store.stream_revision("s-9").await.unwrap(), None);
    // A new head found through the index extends the chain correctly after reopening.
    drop(store);
    let store = open(dir.path()).unwrap();
    store
        .append("s-0", ExpectedRevision::Exact(14), vec![ev("n")])
        .await
        .unwrap();
    assert_eq!(store.verify_stream("s-0").await.unwrap(), 16);
    assert_eq!(store.verify_all(&|_| ()).await.unwrap().events, 46);
}

#[tokio::test]
async fn a_lost_foreign_or_stale_index_file_is_rebuilt_from_the_log() {
    use hoso_ledger::{Direction::*, StreamFrom::*};
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join(hoso_ledger::sqlite::INDEX_FILE);
    {
        let store = create(dir.path());
        fill(&store, 2, 6).await;
    }
    // Lost: rebuilt on open.
    std::fs::remove_file(&index).unwrap();
    {
        let store = open(dir.path()).unwrap();
        assert_eq!(
            revisions(&store, "s-1", Start, Forwards, 100).await,
            [0, 1, 2, 3, 4, 5]
        );
    }
    // Stale: the log restored from a copy taken before more events were appended.
    let backup = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join(DB_FILE), backup.path().join(DB_FILE)).unwrap();
    {
        let store = open(dir.path()).unwrap();
        fill(&store, 1, 4).await;
        assert_eq!(store.stream_revision("s-0").await.unwrap(), Some(9));
    }
    std::fs::copy(backup.path().join(DB_FILE), dir.path().join(DB_FILE)).unwrap();
    {
        let store = open(dir.path()).unwrap();
        assert_eq!(store.stream_revision("s-0").await.unwrap(), Some(5));
        // Appending again takes the places the lost events had, without a conflict.
        fill(&store, 1, 1).await;
        assert_eq!(store.verify_all(&|_| ()).await.unwrap().events, 13);
    }
    // Foreign: another ledger's index file.
    let other = tempfile::tempdir().unwrap();
    {
        let store = create(other.path());
        fill(&store, 3, 2).await;
    }
    std::fs::copy(other.path().join(hoso_ledger::sqlite::INDEX_FILE), &index).unwrap();
    let store = open(dir.path()).unwrap();
    assert_eq!(
        revisions(&store, "s-0", Start, Forwards, 100).await,
        (0..7).collect::<Vec<_>>()
    );
    assert!(
        revisions(&store, "s-2", Start, Forwards, 100)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_read_only_store_indexes_in_memory_and_sees_later_appends() {
    use hoso_ledger::{Direction::*, StreamFrom::*};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 3).await;
    }
    // An evidence copy of the log alone: nothing is written beside it.
    std::fs::remove_file(dir.path().join(hoso_ledger::sqlite::INDEX_FILE)).unwrap();
    let writer = open(dir.path()).unwrap();
    std::fs::remove_file(dir.path().join(hoso_ledger::sqlite::INDEX_FILE)).ok();
    let reader = SqliteStore::open_read_only(dir.path()).unwrap();
    assert_eq!(
        revisions(&reader, "s-0", Start, Forwards, 100).await,
        [0, 1, 2]
    );
    fill(&writer, 2, 2).await;
    assert_eq!(
        revisions(&reader, "s-0", End, Backwards, 100).await,
        [4, 3, 2, 1, 0]
    );
    assert_eq!(reader.stream_revision("s-1").await.unwrap(), Some(4));
}

#[tokio::test]
async fn an_event_moved_under_the_index_is_corruption_at_its_position() {
    use hoso_ledger::{Direction::*, StreamFrom::*};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 300).await;
    }
    // Position 5 is s-0@5; relabelled, it would vanish from s-0 without a trace if reads
    // trusted the stream column instead of the index that recorded it.
    tamper(
        dir.path(),
        "UPDATE events SET stream = 's-1' WHERE position = 5",
    );
    let store = open(dir.path()).unwrap();
    assert_eq!(
        revisions(&store, "s-0", Start, Forwards, 5).await,
        [0, 1, 2, 3, 4]
    );
    let err = store
        .read_stream("s-0", Revision(5), Forwards, 10)
        .await
        .unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains("position 5"), "{err}");
    assert!(store.poisoned().is_some());
}

#[tokio::test]
async fn a_format_1_log_is_migrated_on_open_and_reads_the_same() {
    use hoso_ledger::{Direction::*, StreamFrom::*};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 4).await;
    }
    // Make it what a version-1 build wrote: the stream index inside the log, no file.
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(
            "CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);
             UPDATE meta SET value = '1' WHERE key = 'format_version';",
        )
        .unwrap();
    }
    std::fs::remove_file(dir.path().join(hoso_ledger::sqlite::INDEX_FILE)).unwrap();
    // Read-only: readable as it is, and left as it is.
    {
        let reader = SqliteStore::open_read_only(dir.path()).unwrap();
        assert_eq!(
            revisions(&reader, "s-1", Start, Forwards, 10).await,
            [0, 1, 2, 3]
        );
    }
    let store = open(dir.path()).unwrap();
    assert_eq!(
        revisions(&store, "s-1", Start, Forwards, 10).await,
        [0, 1, 2, 3]
    );
    fill(&store, 2, 1).await;
    assert_eq!(store.verify_all(&|_| ()).await.unwrap().events, 10);
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let (version, old_index): (String, i64) = conn
        .query_row(
            "SELECT (SELECT value FROM meta WHERE key = 'format_version'),
                    (SELECT count(*) FROM sqlite_schema WHERE name = 'events_stream_revision')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((version.as_str(), old_index), ("2", 0));
}

/// One step of [`stream_reads_match_a_model_across_reopenings`].
#[derive(Debug, Clone)]
enum Step {
    Append {
        stream: usize,
        events: usize,
    },
    Reopen,
    Read {
        stream: usize,
        from: u64,
        backwards: bool,
        max: usize,
    },
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        6 => (0..4usize, 1..4usize).prop_map(|(stream, events)| Step::Append { stream, events }),
        1 => Just(Step::Reopen),
        4 => (0..4usize, 0..12u64, any::<bool>(), 1..8usize)
            .prop_map(|(stream, from, backwards, max)| Step::Read { stream, from, backwards, max }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]
    /// Reopening flushes memory to the index file, so random reopenings put each
    /// stream's revisions across both layers at random places.
    #[test]
    fn stream_reads_match_a_model_across_reopenings(steps in proptest::collection::vec(step(), 1..40)) {
        use hoso_ledger::{Direction, StreamFrom};
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let mut store = create(dir.path());
            let mut lengths = [0u64; 4];
            for s in steps {
                match s {
                    Step::Append { stream, events } => {
                        let batch = (0..events).map(|i| ev(&format!("{stream}:{i}"))).collect();
                        let expected = match lengths[stream] {
                            0 => ExpectedRevision::NoStream,
                            n => ExpectedRevision::Exact(n - 1),
                        };
                        store.append(&format!("p-{stream}"), expected, batch).await.unwrap();
                        lengths[stream] += events as u64;
                    }
                    Step::Reopen => {
                        drop(store);
                        store = open(dir.path()).unwrap();
                    }
                    Step::Read { stream, from, backwards, max } => {
                        let n = lengths[stream];
                        let want: Vec<u64> = if backwards {
                            (0..n.min(from + 1)).rev().take(max).collect()
                        } else {
                            (from..n).take(max).collect()
                        };
                        let direction = if backwards { Direction::Backwards } else { Direction::Forwards };
                        let got = revisions(&store, &format!("p-{stream}"), StreamFrom::Revision(from), direction, max).await;
                        assert_eq!(got, want, "p-{stream} from {from} backwards={backwards} max {max}");
                    }
                }
            }
            assert_eq!(store.verify_all(&|_| ()).await.unwrap().events, lengths.iter().sum::<u64>());
        });
    }
}
/// Fills `streams` streams of `per_stream` events each, one batch per stream: enough
/// events for whole-log verification to cut `$all` into several ranges.
async fn fill_large(store: &SqliteStore, streams: usize, per_stream: usize) {
    for s in 0..streams {
        let batch = (0..per_stream).map(|i| ev(&format!("{s}:{i}"))).collect();
        store
            .append(&format!("big-{s}"), ExpectedRevision::NoStream, batch)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_of_many_ranges_verifies_in_order_and_observes_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    fill_large(&store, 10, 3_000).await;
    let seen = std::sync::Mutex::new(Vec::new());
    let report = store
        .verify_all(&|page| seen.lock().unwrap().extend(page.iter().map(|e| e.position)))
        .await
        .unwrap();
    assert_eq!((report.events, report.streams), (30_000, 10));
    assert_eq!(report.last_position, Some(29_999));
    assert_eq!(*seen.lock().unwrap(), (0..30_000).collect::<Vec<u64>>());
}

/// A log of several verification ranges, tampered with `sql`, reopened.
async fn large_tampered(sql: &str) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill_large(&store, 10, 3_000).await;
    }
    tamper(dir.path(), sql);
    let store = open(dir.path()).unwrap();
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_ranges_the_first_bad_position_is_reported() {
    // Whole-log verification reads later parts of the log on other threads while
    // earlier ones are checked; whatever is found first in time, the earliest
    // position must be what is reported.
    let (_dir, store) = large_tampered(
        "UPDATE events SET actor = 'mallory' WHERE position = 17000;
         UPDATE events SET hash = x'0102' WHERE position = 25000;",
    )
    .await;
    match store.verify_all(&|_| ()).await.unwrap_err() {
        StoreError::Chain(v) => assert_eq!(v.position, 17_000),
        other => panic!("expected the edit at 17000 first, got {other:?}"),
    }

    let (_dir, store) = large_tampered(
        "UPDATE events SET hash = x'0102' WHERE position = 9000;
         UPDATE events SET actor = 'mallory' WHERE position = 17000;",
    )
    .await;
    let err = store.verify_all(&|_| ()).await.unwrap_err();
    assert!(err.is_corruption(), "{err:?}");
    assert!(err.to_string().contains("position 9000"), "{err}");
    assert!(store.poisoned().unwrap().contains("position 9000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_wider_than_a_range_is_a_position_gap() {
    // Events 12000..=24999 removed: whole ranges of positions hold nothing.
    let (_dir, store) =
        large_tampered("DELETE FROM events WHERE position BETWEEN 12000 AND 24999;").await;
    match store.verify_all(&|_| ()).await.unwrap_err() {
        StoreError::Chain(v) => assert_eq!(
            (v.position, v.kind),
            (25_000, ViolationKind::PositionGap { expected: 12_000 })
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_damaged_index_file_is_rebuilt_and_not_blamed_on_the_log() {
    use hoso_ledger::{Direction::*, StreamFrom::*};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 5).await;
    }
    // A half-copied restore: the index file is garbage.
    std::fs::write(
        dir.path().join(hoso_ledger::sqlite::INDEX_FILE),
        vec![0x5a; 10_000],
    )
    .unwrap();
    let store = open(dir.path()).unwrap();
    assert_eq!(store.poisoned(), None);
    assert_eq!(
        revisions(&store, "s-1", Start, Forwards, 10).await,
        [0, 1, 2, 3, 4]
    );
    store
        .append("s-1", ExpectedRevision::Exact(4), vec![ev("after")])
        .await
        .unwrap();
    assert!(
        !dir.path()
            .join(hoso_ledger::sqlite::CORRUPT_MARKER_FILE)
            .exists()
    );
}

#[tokio::test]
async fn a_second_event_claiming_a_stream_place_is_corruption() {
    use hoso_ledger::{Direction::*, StreamFrom::*};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill(&store, 2, 3).await;
    }
    // Inserts are not blocked by the triggers: another client appends a copy of
    // s-0@0 at the tail, so s-0 would hold revision 0 twice.
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(
        "INSERT INTO events SELECT 6, stream, revision, randomblob(16), event_type,
           schema_version, payload, actor, correlation_id, causation_id, recorded_at,
           effective_at, doc_number, doc_date, doc_issuer, doc_sha256, prev_hash, hash
         FROM events WHERE position = 0;",
    )
    .unwrap();
    drop(conn);
    // A reader without the index file meets it while indexing the log.
    std::fs::rename(
        dir.path().join(hoso_ledger::sqlite::INDEX_FILE),
        dir.path().join("index.bak"),
    )
    .unwrap();
    let reader = SqliteStore::open_read_only(dir.path()).unwrap();
    let err = reader
        .read_stream("s-1", Start, Forwards, 10)
        .await
        .unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains("position 6"), "{err}");
    drop(reader);
    // A writable open refuses to write after it.
    let store = open(dir.path()).unwrap();
    assert!(store.poisoned().is_some());
}

/// `streams` streams of `per_stream` events each, appended round-robin so that every
/// stream spans the whole log.
async fn fill_interleaved(store: &SqliteStore, streams: usize, per_stream: usize) {
    for i in 0..per_stream {
        for s in 0..streams {
            append_marker(store, s, i).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_from_checks_only_the_new_part_linked_to_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    fill_interleaved(&store, 3, 400).await;
    for from in [0, 1, 599, 600, 1199] {
        let report = store.verify_from(from, &|_| ()).await.unwrap();
        assert_eq!(report.events, 1200 - from, "from {from}");
        assert_eq!(report.last_position, Some(1199));
    }
    let report = store.verify_from(1200, &|_| ()).await.unwrap();
    assert_eq!((report.events, report.last_position), (0, None));
    assert_eq!(store.poisoned(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_from_a_position_inside_a_scan_range_reads_each_event_once() {
    // Several of the scan's 8192-position ranges, starting mid-range.
    let dir = tempfile::tempdir().unwrap();
    let store = create(dir.path());
    for chunk in 0..25 {
        let batch = (0..1_000).map(|i| ev(&format!("{chunk}:{i}"))).collect();
        store
            .append(&format!("s-{}", chunk % 4), ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    for from in [1, 5_000, 8_191, 8_192, 8_193, 16_000, 24_999] {
        let seen = std::sync::atomic::AtomicU64::new(0);
        let report = store
            .verify_from(from, &|page| {
                seen.fetch_add(page.len() as u64, std::sync::atomic::Ordering::Relaxed);
            })
            .await
            .unwrap();
        assert_eq!(report.events, 25_000 - from, "from {from}");
        assert_eq!(seen.into_inner(), 25_000 - from, "from {from}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_from_finds_an_edit_after_its_start_and_marks_the_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill_interleaved(&store, 3, 400).await;
    }
    // Outside the tail that `open` re-checks.
    tamper(
        dir.path(),
        "UPDATE events SET payload = X'00' WHERE position = 700",
    );
    let store = open(dir.path()).unwrap();
    assert_eq!(store.poisoned(), None, "open re-checks only the tail");
    // A pass that starts after the edit does not see it: an earlier pass covered it.
    store.verify_from(800, &|_| ()).await.unwrap();
    match store.verify_from(600, &|_| ()).await.unwrap_err() {
        StoreError::Chain(v) => {
            assert_eq!(v.position, 700);
            assert!(matches!(v.kind, ViolationKind::ContentAltered { .. }));
        }
        other => panic!("{other:?}"),
    }
    let damage = store.damage().unwrap();
    assert_eq!(damage.position, Some(700));
    let r = store
        .append("s-1", ExpectedRevision::Any, vec![ev("x")])
        .await;
    assert!(
        matches!(
            r,
            Err(StoreError::Poisoned {
                position: Some(700),
                ..
            })
        ),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_from_links_each_stream_to_its_event_before_the_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = create(dir.path());
        fill_interleaved(&store, 3, 400).await;
    }
    // The stored hash of stream s-1's last event before 600 no longer matches what its
    // successor after 600 links to.
    tamper(
        dir.path(),
        "UPDATE events SET hash = zeroblob(32) WHERE position = 598",
    );
    let store = open(dir.path()).unwrap();
    let e = store.verify_from(600, &|_| ()).await.unwrap_err();
    assert!(e.is_corruption(), "{e:?}");
    let position = store.damage().and_then(|d| d.position);
    assert!(
        position == Some(598) || position == Some(601),
        "{e} at {position:?}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// For any log, any start and any single altered event: `verify_from` checks
    /// exactly the events from its start, finds the edit exactly when it lies there,
    /// and never reports another position; `verify_all` always finds it.
    #[test]
    fn verify_from_finds_exactly_the_edits_after_its_start(
        streams in 1usize..6,
        events in 1u64..200,
        from_frac in 0.0f64..1.0,
        edit_frac in proptest::option::of(0.0f64..1.0),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let from = ((events as f64) * from_frac) as u64;
        let edit = edit_frac.map(|f| ((events as f64) * f) as u64);
        rt.block_on(async {
            let store = create(dir.path());
            for i in 0..events {
                store
                    .append(
                        &format!("s-{}", i as usize % streams),
                        ExpectedRevision::Any,
                        vec![ev(&i.to_string())],
                    )
                    .await
                    .unwrap();
            }
            drop(store);
            if let Some(p) = edit {
                tamper(dir.path(), &format!("UPDATE events SET actor = 'mallory' WHERE position = {p}"));
            }
            let store = SqliteStore::open_read_only(dir.path()).unwrap();
            let r = store.verify_from(from, &|_| ()).await;
            match edit {
                Some(p) if p >= from => match r {
                    Err(StoreError::Chain(v)) => assert_eq!(v.position, p),
                    other => panic!("edit at {p}, from {from}: {other:?}"),
                },
                _ => assert_eq!(r.unwrap().events, events - from),
            }
            let all = store.verify_all(&|_| ()).await;
            match edit {
                Some(p) => assert!(matches!(all, Err(StoreError::Chain(ref v)) if v.position == p), "{all:?}"),
                None => assert_eq!(all.unwrap().events, events),
            }
        });
    }
}

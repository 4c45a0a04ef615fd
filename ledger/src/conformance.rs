//! The store contract as executable checks, generic over [`EventStore`], so that every
//! backend is held to exactly the same rules.
//!
//! Every check namespaces its streams with a fresh random prefix and looks at `$all`
//! only from the head it saw at its start, so the suite also runs against a shared
//! server that holds other data. Checks panic on a violation: this is test code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use uuid::Uuid;

use crate::envelope::{ExpectedRevision, NewEvent, RecordedEvent, SourceDocument, limits};
use crate::error::StoreError;
use crate::store::{AppendResult, Direction, EventStore, StreamFrom};

/// Runs every contract check against `store`.
pub async fn run_all<S: EventStore + Clone>(store: &S) {
    append_and_read_back(store).await;
    expected_revision_rules(store).await;
    idempotent_retry(store).await;
    batches_are_atomic(store).await;
    read_all_pages_concatenate(store).await;
    read_all_of_type_keeps_the_range_and_the_type(store).await;
    concurrent_writers_lose_no_update(store, 16, 8).await;
    subscription_catches_up_then_goes_live(store).await;
    chains_verify(store).await;
}

fn prefix() -> String {
    format!("conf{}", Uuid::now_v7().simple())
}

fn event(marker: &str) -> NewEvent {
    NewEvent::new("test.Happened", 1, marker.as_bytes().to_vec()).with_actor("conformance")
}

/// The position from which this check's events will appear in `$all`.
async fn start_position<S: EventStore>(store: &S) -> u64 {
    match store.head_position().await.expect("head position") {
        Some(p) => p + 1,
        None => store.first_position(),
    }
}

/// Reads `$all` from `from` to the current head, keeping only streams under `prefix`.
async fn all_under<S: EventStore>(store: &S, from: u64, prefix: &str) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let page = store.read_all(next, 500).await.expect("read $all");
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        // Only an empty page ends the log (a backend may end a page early).
        out.extend(page.into_iter().filter(|e| e.stream.starts_with(prefix)));
    }
    out
}

async fn read_whole_stream<S: EventStore>(store: &S, stream: &str) -> Vec<RecordedEvent> {
    store
        .read_stream(
            stream,
            StreamFrom::Start,
            Direction::Forwards,
            usize::MAX >> 1,
        )
        .await
        .expect("read stream")
}

/// Events come back exactly as written, in order, with the envelope intact.
pub async fn append_and_read_back<S: EventStore>(store: &S) {
    let p = prefix();
    let stream = format!("{p}-a");
    let start = start_position(store).await;
    let doc = SourceDocument {
        number: "125/QĐ-UBND".into(),
        date: chrono::NaiveDate::from_ymd_opt(2024, 3, 10).expect("date"),
        issuer: "UBND tỉnh Hưng Yên".into(),
        attachment_sha256: Some([7; 32]),
    };
    let effective = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00+07:00")
        .expect("time")
        .to_utc();
    let corr = Uuid::now_v7();
    let written = vec![
        event("one")
            .with_trace(Some(corr), None)
            .with_effective_at(effective)
            .with_source_document(doc.clone()),
        event("two").with_actor("account-7"),
        NewEvent::new("test.Empty", 3, Vec::new()),
    ];
    let r = store
        .append(&stream, ExpectedRevision::NoStream, written.clone())
        .await
        .expect("append to a new stream");
    assert_eq!(r.stream_revision, 2);
    assert!(r.first_position < r.last_position);

    let read = read_whole_stream(store, &stream).await;
    assert_eq!(read.len(), 3);
    for (i, (w, e)) in written.iter().zip(&read).enumerate() {
        assert_eq!(e.revision, i as u64);
        assert_eq!(e.stream, stream);
        assert_eq!(e.event_id, w.event_id);
        assert_eq!(e.event_type, w.event_type);
        assert_eq!(e.schema_version, w.schema_version);
        assert_eq!(e.payload, w.payload);
        assert_eq!(e.actor, w.actor);
        assert_eq!(e.correlation_id, w.correlation_id);
        assert_eq!(e.causation_id, w.causation_id);
        assert_eq!(e.effective_at, w.effective_at);
        assert_eq!(e.source_document, w.source_document);
        assert_eq!(
            e.compute_hash(store.dense_positions()),
            e.hash,
            "stored hash covers the stored content"
        );
    }
    assert_eq!(read[0].position, r.first_position);
    assert_eq!(read[2].position, r.last_position);
    assert_eq!(read[1].prev_hash, read[0].hash);
    assert_eq!(read[0].prev_hash, crate::GENESIS_HASH);

    let back = store
        .read_stream(&stream, StreamFrom::End, Direction::Backwards, 2)
        .await
        .expect("read backwards");
    let revs: Vec<u64> = back.iter().map(|e| e.revision).collect();
    assert_eq!(revs, vec![2, 1]);
    let from1 = store
        .read_stream(&stream, StreamFrom::Revision(1), Direction::Forwards, 10)
        .await
        .expect("read from revision");
    assert_eq!(from1.len(), 2);
    assert_eq!(
        store.stream_revision(&stream).await.expect("revision"),
        Some(2)
    );
    assert_eq!(
        store
            .stream_revision(&format!("{p}-none"))
            .await
            .expect("revision"),
        None
    );
    assert!(
        read_whole_stream(store, &format!("{p}-none"))
            .await
            .is_empty(),
        "a missing stream reads as empty"
    );

    let all = all_under(store, start, &p).await;
    assert_eq!(all, read, "$all holds the same events in the same order");
}

/// Each expectation admits exactly the states it names; a refusal reports the truth.
pub async fn expected_revision_rules<S: EventStore>(store: &S) {
    let p = prefix();
    let s = format!("{p}-rev");
    let conflict = |r: Result<AppendResult, StoreError>, want_current: Option<u64>| match r {
        Err(StoreError::WrongExpectedRevision { current, .. }) => assert_eq!(current, want_current),
        other => panic!("expected a revision conflict, got {other:?}"),
    };
    conflict(
        store
            .append(&s, ExpectedRevision::StreamExists, vec![event("x")])
            .await,
        None,
    );
    conflict(
        store
            .append(&s, ExpectedRevision::Exact(0), vec![event("x")])
            .await,
        None,
    );
    store
        .append(&s, ExpectedRevision::NoStream, vec![event("0")])
        .await
        .expect("no-stream on a new stream");
    conflict(
        store
            .append(&s, ExpectedRevision::NoStream, vec![event("x")])
            .await,
        Some(0),
    );
    conflict(
        store
            .append(&s, ExpectedRevision::Exact(5), vec![event("x")])
            .await,
        Some(0),
    );
    let r = store
        .append(&s, ExpectedRevision::Exact(0), vec![event("1")])
        .await
        .expect("exact");
    assert_eq!(r.stream_revision, 1);
    let r = store
        .append(&s, ExpectedRevision::StreamExists, vec![event("2")])
        .await
        .expect("stream exists");
    assert_eq!(r.stream_revision, 2);
    let r = store
        .append(&s, ExpectedRevision::Any, vec![event("3"), event("4")])
        .await
        .expect("any");
    assert_eq!(r.stream_revision, 4);
    let r = store
        .append(
            &format!("{p}-fresh"),
            ExpectedRevision::Any,
            vec![event("a")],
        )
        .await
        .expect("any on a new stream");
    assert_eq!(r.stream_revision, 0);
    let markers: Vec<Vec<u8>> = read_whole_stream(store, &s)
        .await
        .into_iter()
        .map(|e| e.payload)
        .collect();
    assert_eq!(markers, [b"0", b"1", b"2", b"3", b"4"].map(|b| b.to_vec()));
}

/// Re-sending an acknowledged batch returns the original result and writes nothing.
pub async fn idempotent_retry<S: EventStore>(store: &S) {
    let p = prefix();
    let s = format!("{p}-idem");
    store
        .append(&s, ExpectedRevision::NoStream, vec![event("first")])
        .await
        .expect("first");
    let batch = vec![event("a"), event("b")];
    let original = store
        .append(&s, ExpectedRevision::Exact(0), batch.clone())
        .await
        .expect("batch");
    // The retry carries the same (now stale) expectation, as a client retrying after a
    // lost acknowledgement would.
    let retried = store
        .append(&s, ExpectedRevision::Exact(0), batch.clone())
        .await
        .expect("retry is not a conflict");
    assert_eq!(retried, original);
    let retried_any = store
        .append(&s, ExpectedRevision::Any, batch)
        .await
        .expect("retry with any");
    assert_eq!(retried_any, original);
    assert_eq!(
        read_whole_stream(store, &s).await.len(),
        3,
        "the retry wrote nothing"
    );
}

/// A refused batch leaves no trace, whichever event in it is at fault.
pub async fn batches_are_atomic<S: EventStore>(store: &S) {
    let p = prefix();
    let s = format!("{p}-atomic");
    store
        .append(&s, ExpectedRevision::NoStream, vec![event("0")])
        .await
        .expect("first");
    let oversized = NewEvent::new("test.Big", 1, vec![0; limits::PAYLOAD_BYTES_MAX + 1]);
    let r = store
        .append(&s, ExpectedRevision::Any, vec![event("ok"), oversized])
        .await;
    assert!(matches!(r, Err(StoreError::InvalidInput { .. })), "{r:?}");
    let r = store
        .append(&s, ExpectedRevision::Exact(7), vec![event("x"), event("y")])
        .await;
    assert!(
        matches!(r, Err(StoreError::WrongExpectedRevision { .. })),
        "{r:?}"
    );
    let r = store.append(&s, ExpectedRevision::Any, Vec::new()).await;
    assert!(matches!(r, Err(StoreError::InvalidInput { .. })), "{r:?}");
    let e = event("twice");
    let r = store
        .append(&s, ExpectedRevision::Any, vec![e.clone(), e])
        .await;
    assert!(matches!(r, Err(StoreError::InvalidInput { .. })), "{r:?}");
    assert_eq!(read_whole_stream(store, &s).await.len(), 1);
}

/// Paging through `$all` yields exactly what one read does.
pub async fn read_all_pages_concatenate<S: EventStore>(store: &S) {
    let p = prefix();
    let start = start_position(store).await;
    for i in 0..5 {
        let batch = (0..7).map(|j| event(&format!("{i}.{j}"))).collect();
        store
            .append(&format!("{p}-page{}", i % 2), ExpectedRevision::Any, batch)
            .await
            .expect("append");
    }
    let whole = all_under(store, start, &p).await;
    assert_eq!(whole.len(), 35);
    let mut paged = Vec::new();
    let mut next = start;
    loop {
        let page = store.read_all(next, 3).await.expect("page");
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        paged.extend(page.into_iter().filter(|e| e.stream.starts_with(&p)));
    }
    assert_eq!(paged, whole);
    let positions: Vec<u64> = whole.iter().map(|e| e.position).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "positions strictly increase"
    );
    if store.dense_positions() {
        assert!(
            positions.windows(2).all(|w| w[1] == w[0] + 1),
            "positions are dense"
        );
    }
}

/// A read by type gives exactly the events of that type in the range, in order, a
/// page at a time, and nothing outside the range.
pub async fn read_all_of_type_keeps_the_range_and_the_type<S: EventStore>(store: &S) {
    let p = prefix();
    let start = start_position(store).await;
    for i in 0..6 {
        let kind = if i % 3 == 2 {
            "test.Wanted"
        } else {
            "test.Happened"
        };
        let batch = (0..4)
            .map(|j| {
                NewEvent::new(kind, 1, format!("{i}.{j}").into_bytes()).with_actor("conformance")
            })
            .collect();
        store
            .append(&format!("{p}-typed{i}"), ExpectedRevision::Any, batch)
            .await
            .expect("append");
    }
    let whole = all_under(store, start, &p).await;
    assert_eq!(whole.len(), 24);
    // The range ends inside the last wanted batch: two of its four events are out.
    let to = whole[22].position;
    let expected: Vec<RecordedEvent> = whole
        .iter()
        .filter(|e| e.event_type == "test.Wanted" && e.position < to)
        .cloned()
        .collect();
    assert_eq!(expected.len(), 6);
    let mut paged = Vec::new();
    let mut next = start;
    loop {
        let page = store
            .read_all_of_type(next, to, "test.Wanted", 4)
            .await
            .expect("typed page");
        assert!(page.len() <= 4);
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        paged.extend(page.into_iter().filter(|e| e.stream.starts_with(&p)));
    }
    assert_eq!(paged, expected);
    let none = store
        .read_all_of_type(start, to, "test.Nothing", 10)
        .await
        .expect("typed read");
    assert!(none.iter().all(|e| !e.stream.starts_with(&p)));
}

/// Many writers race on one stream with exact expectations; every acknowledged append
/// is there exactly once and revisions stay dense: no lost update.
pub async fn concurrent_writers_lose_no_update<S: EventStore + Clone>(
    store: &S,
    writers: usize,
    appends_each: usize,
) {
    let p = prefix();
    let s = Arc::new(format!("{p}-race"));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut conflicts = 0u32;
            while acked.len() < appends_each {
                let current = store.stream_revision(&s).await.expect("revision");
                let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                let marker = format!("w{w}-{}", acked.len());
                match store.append(&s, expected, vec![event(&marker)]).await {
                    Ok(r) => acked.push((marker, r.stream_revision)),
                    Err(StoreError::WrongExpectedRevision { .. }) => conflicts += 1,
                    Err(e) => panic!("unexpected error: {e}"),
                }
            }
            (acked, conflicts)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        let (a, _) = t.await.expect("writer task");
        acked.extend(a);
    }
    let stored = read_whole_stream(store, &s).await;
    assert_eq!(stored.len(), writers * appends_each);
    let mut revisions = HashSet::new();
    for (marker, rev) in &acked {
        let e = &stored[*rev as usize];
        assert_eq!(
            e.payload,
            marker.as_bytes(),
            "acknowledged revision holds that write"
        );
        assert!(
            revisions.insert(*rev),
            "two writers acknowledged at one revision"
        );
    }
    assert!(
        stored
            .iter()
            .enumerate()
            .all(|(i, e)| e.revision == i as u64)
    );
}

/// A subscription from a past position delivers the stored events, then the live ones,
/// each exactly once and in order, across the switch.
pub async fn subscription_catches_up_then_goes_live<S: EventStore + Clone>(store: &S) {
    let p = prefix();
    let start = start_position(store).await;
    let s = format!("{p}-sub");
    for i in 0..40 {
        store
            .append(&s, ExpectedRevision::Any, vec![event(&format!("{i}"))])
            .await
            .expect("append before");
    }
    let mut feed = store.subscribe_all(start);
    let writer = {
        let store = store.clone();
        let s = s.clone();
        tokio::spawn(async move {
            for i in 40..100 {
                store
                    .append(&s, ExpectedRevision::Any, vec![event(&format!("{i}"))])
                    .await
                    .expect("append live");
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut seen = Vec::new();
    let mut last_position = None;
    while seen.len() < 100 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), feed.next())
            .await
            .expect("subscription stalled")
            .expect("subscription ended")
            .expect("subscription error");
        if let Some(lp) = last_position {
            assert!(next.position > lp, "positions increase in the feed");
        }
        last_position = Some(next.position);
        if next.stream == s {
            seen.push(String::from_utf8_lossy(&next.payload).into_owned());
        }
    }
    writer.await.expect("writer");
    let want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(seen, want, "every event exactly once, in order");
}

/// Whatever the checks above wrote, every chain verifies.
pub async fn chains_verify<S: EventStore>(store: &S) {
    let report = store.verify_all(&|_| ()).await.expect("whole log verifies");
    assert!(report.events > 0);
}

/// One step of the model-based property.
#[derive(Debug, Clone)]
enum Op {
    Append {
        stream: usize,
        expect: Expect,
        events: usize,
    },
    RetryLast,
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Any,
    NoStream,
    StreamExists,
    /// The model's current revision shifted by this much (0 = correct).
    ExactOffset(i8),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let expect = prop_oneof![
        Just(Expect::Any),
        Just(Expect::NoStream),
        Just(Expect::StreamExists),
        (-1i8..=1).prop_map(Expect::ExactOffset),
        Just(Expect::ExactOffset(0)),
    ];
    prop_oneof![
        6 => (0usize..4, expect, 1usize..4).prop_map(|(stream, expect, events)| Op::Append { stream, expect, events }),
        1 => Just(Op::RetryLast),
    ]
}

/// Model-based property: random appends (right and wrong expectations, retries) against
/// a `BTreeMap` model. After every step the store's answer matches the model's; at the
/// end every stream, `$all` and the chains match it too.
pub fn properties<S: EventStore + Clone>(rt: &tokio::runtime::Runtime, store: &S, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op_strategy(), 1..40), |ops| {
        rt.block_on(check_against_model(store, ops));
        Ok(())
    });
    if let Err(e) = result {
        panic!("store contract property failed: {e}");
    }
}

async fn check_against_model<S: EventStore>(store: &S, ops: Vec<Op>) {
    let p = prefix();
    let start = start_position(store).await;
    let mut model: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    let mut global: Vec<Uuid> = Vec::new();
    let mut last_ok: Option<(String, ExpectedRevision, Vec<NewEvent>, AppendResult)> = None;
    for op in ops {
        match op {
            Op::Append {
                stream,
                expect,
                events,
            } => {
                let name = format!("{p}-s{stream}");
                let current = model.get(&name).map(|v| v.len() as u64 - 1);
                let expected = match expect {
                    Expect::Any => ExpectedRevision::Any,
                    Expect::NoStream => ExpectedRevision::NoStream,
                    Expect::StreamExists => ExpectedRevision::StreamExists,
                    Expect::ExactOffset(d) => {
                        let base = current.map_or(0i64, |c| c as i64);
                        ExpectedRevision::Exact((base + i64::from(d)).max(0) as u64)
                    }
                };
                let batch: Vec<NewEvent> = (0..events).map(|i| event(&format!("{i}"))).collect();
                let result = store.append(&name, expected, batch.clone()).await;
                if expected.admits(current) {
                    let r = result.expect("model admits this append");
                    let base = current.map_or(0, |c| c + 1);
                    assert_eq!(r.stream_revision, base + events as u64 - 1);
                    let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
                    model.entry(name.clone()).or_default().extend(&ids);
                    global.extend(ids);
                    last_ok = Some((name, expected, batch, r));
                } else {
                    match result {
                        Err(StoreError::WrongExpectedRevision { current: c, .. }) => {
                            assert_eq!(c, current)
                        }
                        other => panic!(
                            "model refuses {expected:?} at {current:?}, store said {other:?}"
                        ),
                    }
                }
            }
            Op::RetryLast => {
                if let Some((name, expected, batch, original)) = &last_ok {
                    let r = store
                        .append(name, *expected, batch.clone())
                        .await
                        .expect("a retry of an acknowledged append succeeds");
                    assert_eq!(r, *original);
                }
            }
        }
    }
    for (name, ids) in &model {
        let stored: Vec<Uuid> = read_whole_stream(store, name)
            .await
            .iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(&stored, ids, "stream {name} matches the model");
        store.verify_stream(name).await.expect("chain verifies");
    }
    let all: Vec<Uuid> = all_under(store, start, &p)
        .await
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(
        all, global,
        "$all holds every acknowledged event once, in order"
    );
}

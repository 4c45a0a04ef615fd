//! The KurrentDB backend against the store contract, on the real server named by
//! `HOSO_KURRENTDB_URL` (e.g. `kurrentdb://127.0.0.1:2113?tls=false`). No server can be
//! assumed on a build machine, so without it the server test is compiled as ignored
//! (see `ledger/build.rs`): the run shows it as `ignored` with the reason, one line,
//! rather than as a pass.
//!
//! Everything written goes to freshly named streams, and the damaged events this file
//! plants live in a system (`$`) stream that is not part of the ledger's `$all`, so the
//! server can be shared and reused.

use bytes::Bytes;
use hoso_ledger::kurrent::KurrentStore;
use hoso_ledger::{Direction, SourceDocument};
use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, StoreError, StreamFrom, conformance};
use kurrentdb::{AppendToStreamOptions, Client, EventData};
use uuid::Uuid;

const URL_VAR: &str = "HOSO_KURRENTDB_URL";
/// Property cases; every case is a few hundred round trips to the server.
const CASES_VAR: &str = "HOSO_KURRENTDB_CASES";
const CASES_DEFAULT: u32 = 16;

#[test]
#[cfg_attr(
    not(hoso_kurrentdb_server),
    ignore = "did not run: HOSO_KURRENTDB_URL is not set, so the KurrentDB conformance tests were skipped"
)]
fn kurrentdb_passes_the_store_contract() {
    let url = std::env::var(URL_VAR).unwrap_or_default();
    assert!(
        !url.trim().is_empty(),
        "{URL_VAR} was set when this test was built but is not set now: rebuild or set it"
    );
    let cases = std::env::var(CASES_VAR)
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{CASES_VAR} must be a number, got {v:?}"))
        })
        .unwrap_or(CASES_DEFAULT);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = rt
        .block_on(KurrentStore::connect(&url))
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but the server cannot be used: {e}"));
    rt.block_on(conformance::run_all(&store));
    conformance::properties(&rt, &store, cases);
    rt.block_on(hashes_and_envelope_survive_the_server(&store));
    assert_eq!(
        store.poisoned(),
        None,
        "the contract checks found no damage"
    );
    rt.block_on(damaged_metadata_is_corruption_and_stops_writes(&url));
}

/// Every envelope field, read back through the server, still hashes to what was chained.
async fn hashes_and_envelope_survive_the_server(store: &KurrentStore) {
    let stream = format!("kurrent{}-envelope", Uuid::now_v7().simple());
    let full = NewEvent::new("test.Full", 7, vec![0, 1, 2, 255])
        .with_actor("account-1 (Trần Thị B)")
        .with_trace(Some(Uuid::now_v7()), Some(Uuid::now_v7()))
        // Any past instant will do; a fixed one keeps the run repeatable.
        .with_effective_at(chrono::DateTime::from_timestamp(1_739_000_000, 123_456_000).unwrap())
        .with_source_document(SourceDocument {
            number: "88/QĐ-UBND".into(),
            date: chrono::NaiveDate::from_ymd_opt(2023, 12, 31).unwrap(),
            issuer: "UBND tỉnh Đắk Lắk".into(),
            attachment_sha256: None,
        });
    let r = store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![full.clone(), NewEvent::new("test.Bare", 1, Vec::new())],
        )
        .await
        .unwrap();
    assert!(r.first_position < r.last_position);
    let read = store
        .read_stream(&stream, StreamFrom::Start, Direction::Forwards, 10)
        .await
        .unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].source_document, full.source_document);
    assert_eq!(read[0].effective_at, full.effective_at);
    assert_eq!(
        read[0].recorded_at, read[1].recorded_at,
        "one transaction time per batch"
    );
    assert_eq!(store.verify_stream(&stream).await.unwrap(), 2);
    // The positions an append reports are the ones `$all` shows.
    let all = store.read_all(r.first_position, 2).await.unwrap();
    assert_eq!(all, read);
    // Reading from just after an event excludes it.
    let after = store.read_all(r.first_position + 1, 1).await.unwrap();
    assert_eq!(after.first().map(|e| e.event_id), Some(read[1].event_id));
}

/// An event whose metadata is not hoso's is reported as corruption at its position, and
/// from then on the store refuses to write.
async fn damaged_metadata_is_corruption_and_stops_writes(url: &str) {
    // A separate store, so poisoning it leaves the one above alone.
    let store = KurrentStore::connect(url).await.unwrap();
    let client = Client::new(url.parse().unwrap()).unwrap();
    // A system stream: readable by name, but outside the ledger's `$all`.
    let stream = format!("$hoso-test-{}", Uuid::now_v7().simple());
    let planted = vec![
        EventData::binary("test.Planted", Bytes::from_static(b"no metadata")).id(Uuid::now_v7()),
    ];
    if let Err(e) = client
        .append_to_stream(stream.as_str(), &AppendToStreamOptions::default(), planted)
        .await
    {
        if matches!(e, kurrentdb::Error::AccessDenied) {
            eprintln!(
                "SKIP kurrentdb damaged-metadata check: the connection may not write system streams"
            );
            return;
        }
        panic!("plant a damaged event: {e}");
    }
    match store
        .read_stream(&stream, StreamFrom::Start, Direction::Forwards, 1)
        .await
    {
        Err(StoreError::Corrupt {
            position: Some(_),
            detail,
        }) => {
            assert!(detail.contains("no metadata"), "{detail}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(store.poisoned().is_some());
    let refused = store
        .append(
            &format!("kurrent{}-after", Uuid::now_v7().simple()),
            ExpectedRevision::Any,
            vec![NewEvent::new("test.Happened", 1, b"x".to_vec())],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Poisoned { .. })),
        "{refused:?}"
    );
}

/// These need no server: a bad connection string or an unreachable node fails at
/// connect, as a backend error that never repeats the password.
#[tokio::test]
async fn bad_connection_strings_fail_at_connect_without_leaking_the_password() {
    for url in [
        "kurrentdb://admin:s3cret@[::1:2113?tls=false",
        "http://admin:s3cret@127.0.0.1:2113",
        // Port 1 on loopback: refused at once, so discovery gives up quickly.
        "kurrentdb://admin:s3cret@127.0.0.1:1?tls=false",
    ] {
        match KurrentStore::connect(url).await {
            Err(StoreError::Backend { detail }) => {
                assert!(!detail.contains("s3cret"), "{url}: {detail}");
            }
            other => panic!("{url}: expected a backend error, got {other:?}"),
        }
    }
}

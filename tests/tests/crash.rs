//! Crash safety: a child process appends as fast as it can and is killed with SIGKILL at
//! random moments; after each kill the reopened ledger must hold every acknowledged
//! append, no partial batch, and verify end to end. The same against PostgreSQL (a
//! fresh database on the server named by `HOSO_POSTGRES_URL`): there the kill ends the
//! client mid-transaction, and the server must keep exactly the committed groups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use hoso_ledger::postgres::{PostgresStore, testing};
use hoso_ledger::{Direction, EventStore, SqliteStore, StoreOptions, StreamFrom};
use rand::Rng;
use uuid::Uuid;

const KILLS: usize = 24;

#[derive(Debug)]
struct Ack {
    stream: String,
    revision: u64,
    first_id: Uuid,
    batch: u64,
}

fn parse(line: &str) -> Option<Ack> {
    let mut parts = line.split_whitespace();
    (parts.next()? == "ACK").then_some(())?;
    Some(Ack {
        stream: parts.next()?.to_owned(),
        revision: parts.next()?.parse().ok()?,
        first_id: parts.next()?.parse().ok()?,
        batch: parts.next()?.parse().ok()?,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_write_loses_no_acknowledged_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    kill_rounds(dir.path().as_os_str(), KILLS, || {
        let path = path.clone();
        async move { SqliteStore::open(&path, StoreOptions::default()).unwrap() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_write_loses_no_acknowledged_append_to_postgres() {
    let Some(server) = testing::server_url("the PostgreSQL crash test") else {
        return;
    };
    let url = testing::scratch_database(&server).await;
    let target = url.clone();
    kill_rounds(std::ffi::OsStr::new(&target), KILLS / 2, || {
        let url = url.clone();
        async move {
            PostgresStore::connect(&url, None, StoreOptions::default())
                .await
                .unwrap()
        }
    })
    .await;
}

/// `rounds` times: start the writer on `target`, SIGKILL it at a random moment, then
/// check the store `open` gives against every acknowledgement printed so far.
async fn kill_rounds<S, F, Fut>(target: &std::ffi::OsStr, rounds: usize, open: F)
where
    S: EventStore,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    let mut rng = rand::rng();
    let mut acked: Vec<Ack> = Vec::new();
    let mut total_events_seen = 0;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(target)
            .arg("16")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            // Everything the child printed before it died is still in the pipe.
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| parse(&l))
                .collect::<Vec<_>>()
        });
        let wait_ms = rng.random_range(30..400);
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        // Only our SIGKILL may end the writer: if it died on its own (say, a revision
        // conflict, which would mean a lost update), the round proves nothing.
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "round {round}: the writer ended by itself ({status}): {stderr}"
        );
        assert!(
            stderr.trim().is_empty(),
            "round {round}: the writer complained: {stderr}"
        );
        let round_acks = reader.join().unwrap();
        acked.extend(round_acks);

        let store = open().await;
        assert_eq!(
            store.damage(),
            None,
            "round {round}: a kill is not corruption"
        );
        let report = store.verify_all(&|_| ()).await.unwrap();
        assert!(
            report.events >= total_events_seen,
            "round {round}: events disappeared"
        );
        total_events_seen = report.events;

        let mut streams: HashMap<String, Vec<hoso_ledger::RecordedEvent>> = HashMap::new();
        for ack in &acked {
            if !streams.contains_key(&ack.stream) {
                let events = store
                    .read_stream(
                        &ack.stream,
                        StreamFrom::Start,
                        Direction::Forwards,
                        usize::MAX >> 1,
                    )
                    .await
                    .unwrap();
                streams.insert(ack.stream.clone(), events);
            }
            let events = &streams[&ack.stream];
            let first_revision = ack.revision + 1 - ack.batch;
            let stored = events.get(first_revision as usize).unwrap_or_else(|| {
                panic!(
                    "round {round}: acknowledged {ack:?} is missing (stream has {} events)",
                    events.len()
                )
            });
            assert_eq!(stored.event_id, ack.first_id, "round {round}: {ack:?}");
        }
        for (name, events) in &streams {
            assert_eq!(
                events.len() % 3,
                0,
                "round {round}: stream {name} holds a partial batch"
            );
        }
        drop(store);
    }
    assert!(
        acked.len() > 100,
        "the writer made progress between kills: {} acks",
        acked.len()
    );
}

//! Child process of the crash test: appends batches to a ledger as fast as it can and
//! prints one `ACK` line per acknowledged append, until it is killed.
//!
//! Usage: `crash-writer TARGET WRITERS`, TARGET a data directory (SQLite) or a
//! `postgres://` URL (PostgreSQL). Each line is
//! `ACK <stream> <last revision> <first event id> <batch size>`, printed only after
//! the append returned, i.e. after it was durable.

use std::io::Write;
use std::path::PathBuf;

use hoso_ledger::postgres::PostgresStore;
use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, SqliteStore, StoreOptions};

/// Events per append: a torn batch would show as a stream length that is not a multiple.
const BATCH: usize = 3;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: crash-writer TARGET WRITERS"))?;
    let writers: usize = args.next().unwrap_or_else(|| "16".into()).parse()?;
    if target.starts_with("postgres://") || target.starts_with("postgresql://") {
        let store = PostgresStore::connect(&target, None, StoreOptions::default()).await?;
        return write_until_killed(store, writers).await;
    }
    let dir = PathBuf::from(target);
    let store = if dir.join(hoso_ledger::sqlite::DB_FILE).exists() {
        SqliteStore::open(&dir, StoreOptions::default())?
    } else {
        SqliteStore::create(&dir, StoreOptions::default())?
    };
    write_until_killed(store, writers).await
}

async fn write_until_killed<S: EventStore + Clone>(store: S, writers: usize) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let stream = format!("crash-{w}");
            let mut revision = store.stream_revision(&stream).await?;
            loop {
                let batch: Vec<NewEvent> = (0..BATCH)
                    .map(|i| NewEvent::new("test.CrashProbe", 1, format!("{w}:{i}").into_bytes()))
                    .collect();
                let first_id = batch[0].event_id;
                let expected = revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
                let r = store.append(&stream, expected, batch).await?;
                revision = Some(r.stream_revision);
                let mut out = std::io::stdout().lock();
                writeln!(out, "ACK {stream} {} {first_id} {BATCH}", r.stream_revision)?;
                out.flush()?;
            }
            #[allow(unreachable_code)]
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

//! `hoso bench append --backend postgres`: the append benchmark against a PostgreSQL
//! database, measured exactly as on SQLite (same writers, payloads, streams and
//! figures), so the two can be set side by side.

use anyhow::Context;
use hoso_ledger::postgres::PostgresStore;
use hoso_ledger::{EventStore, StoreOptions};

use super::{AppendShape, append_on, report_append};

/// Connects to `url` (password from `HOSO_DATABASE_PASSWORD`), appends `shape` and
/// reports it.
pub(super) async fn append(url: &str, shape: AppendShape, json: bool) -> anyhow::Result<()> {
    let password = std::env::var("HOSO_DATABASE_PASSWORD").ok();
    let store = PostgresStore::connect(url, password.as_deref(), StoreOptions::default())
        .await
        .with_context(|| format!("connect to the ledger database at {url}"))?;
    let r = append_on(&store, &shape).await?;
    report_append(store.backend_name(), &shape, &r, json);
    Ok(())
}

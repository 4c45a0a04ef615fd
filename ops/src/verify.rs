//! `hoso verify`: the operator's and inspector's check that the log is exactly what was
//! written — SQLite's page check, every stream's hash chain, and every payload decoding
//! through the catalogue.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;

use hoso_ledger::typed::{EventDecodeError, decode};
use hoso_ledger::{EventStore, SqliteStore, StoreError};
use hoso_schemas::Registry;

use crate::progress::Progress;

/// Runs the verification; exit code 1 means the log is damaged or tampered with.
pub async fn run(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    // Read-only: verification takes no lock and changes nothing in the directory, so
    // it works beside a running server and on an inspector's evidence copy.
    let store = match SqliteStore::open_read_only(data) {
        Ok(s) => s,
        Err(e) if e.is_corruption() => return Ok(fail(json, &e.to_string(), None)),
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = store.check_pages().await {
        return Ok(fail(json, &e.to_string(), None));
    }
    let total = store.head_position().await?.map_or(0, |p| p + 1);
    let progress = Progress::new("verifying", total);
    let registry = Registry::standard();
    let first_undecodable: Mutex<Option<Box<EventDecodeError>>> = Mutex::new(None);
    let result = store
        .verify_all(&|page| {
            if let Some(last) = page.last() {
                progress.set(last.position + 1);
            }
            let mut slot = first_undecodable.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = page.iter().find_map(|e| decode(&registry, e).err());
            }
        })
        .await;
    progress.finish();
    let report = match result {
        Ok(r) => r,
        Err(e @ (StoreError::Chain(_) | StoreError::Corrupt { .. })) => {
            let position = match &e {
                StoreError::Chain(v) => Some(v.position),
                StoreError::Corrupt { position, .. } => *position,
                _ => None,
            };
            return Ok(fail(json, &e.to_string(), position));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(e) = first_undecodable
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Ok(fail(json, &e.to_string(), Some(e.position)));
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "events": report.events, "streams": report.streams, "last_position": report.last_position})
        );
    } else {
        println!(
            "ok: {} events in {} streams verified (hash chains intact, every payload decodes); last position {}",
            report.events,
            report.streams,
            report
                .last_position
                .map_or_else(|| "-".to_owned(), |p| p.to_string())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn fail(json: bool, problem: &str, position: Option<u64>) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": false, "problem": problem, "position": position})
        );
    } else {
        println!("FAILED: {problem}");
    }
    ExitCode::from(1)
}

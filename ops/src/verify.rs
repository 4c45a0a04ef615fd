//! `hoso verify`: the operator's and inspector's check that the log is exactly what was
//! written — SQLite's page check, every stream's hash chain, every payload decoding
//! through the catalogue, and the log against the latest signed tree head (the newer
//! of `tree-head.json` and the log's last checkpoint): not shorter than it, its first
//! `tree_size` events hashing to its root, its signature by the directory's ledger key.
//! Read-only: it reports; refusing writes is the running node's business.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;

use hoso_ledger::checkpoint::HEAD_FILE;
use hoso_ledger::merkle::Frontier;
use hoso_ledger::sealer::{latest_signed_head, log_against_head};
use hoso_ledger::typed::{EventDecodeError, decode};
use hoso_ledger::{EventStore, LedgerKeyRing, SignedTreeHead, SqliteStore, StoreError};
use hoso_schemas::Registry;

use crate::progress::Progress;

/// Runs the verification; exit code 1 means the log is damaged or tampered with.
pub async fn run(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    // Read-only: verification takes no lock and changes nothing in the directory, so
    // it works beside a running server and on an inspector's evidence copy.
    crate::data_dir::DataDir::new(data).check_init_finished()?;
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
    // A log too damaged to give its checkpoints is reported by the chain check below,
    // with the position; the head check then has nothing to add.
    let head = latest_signed_head(&store, &data.join(HEAD_FILE))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the log's signed tree heads");
            None
        });
    let head_size = head.as_ref().map_or(0, |h| h.head.tree_size);
    let frontier = Mutex::new(Frontier::new());
    let first_undecodable: Mutex<Option<Box<EventDecodeError>>> = Mutex::new(None);
    let result = store
        .verify_all(&|page| {
            if let Some(last) = page.last() {
                progress.set(last.position + 1);
            }
            let mut f = frontier.lock().unwrap_or_else(|p| p.into_inner());
            for e in page {
                if f.size() >= head_size {
                    break;
                }
                f.push(&e.hash);
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
    let frontier = frontier.into_inner().unwrap_or_else(|p| p.into_inner());
    let against = match &head {
        None => "no signed tree head to check against".to_owned(),
        Some(h) => match check_head(data, h, total, &frontier) {
            Ok(what) => what,
            Err((problem, position)) => return Ok(fail(json, &problem, position)),
        },
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "events": report.events, "streams": report.streams, "last_position": report.last_position, "tree_head": against})
        );
    } else {
        println!(
            "ok: {} events in {} streams verified (hash chains intact, every payload decodes); last position {}; {against}",
            report.events,
            report.streams,
            report
                .last_position
                .map_or_else(|| "-".to_owned(), |p| p.to_string())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The log (`log_len` events, hashed into `frontier` up to the head's size) against
/// the signed head; the words for the report, or the failure and its position.
fn check_head(
    data: &Path,
    signed: &SignedTreeHead,
    log_len: u64,
    frontier: &Frontier,
) -> Result<String, (String, Option<u64>)> {
    let h = &signed.head;
    let prefix_root = (frontier.size() == h.tree_size).then(|| frontier.root());
    if let Some(damage) = log_against_head(signed, log_len, prefix_root) {
        return Err((damage.detail, damage.position));
    }
    let key_file = crate::data_dir::DataDir::new(data).ledger_key_file();
    let signature = match LedgerKeyRing::load(&key_file) {
        Ok(ring) => match ring.verify(signed) {
            Ok(()) => format!("signature by key {} valid", h.key_id),
            Err(e) => return Err((format!("the signed tree head does not verify: {e}"), None)),
        },
        Err(e) => format!("signature not checked ({e})"),
    };
    Ok(format!(
        "consistent with the tree head signed at {} ({}, {} events; {signature})",
        h.signed_at, h.reason, h.tree_size
    ))
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

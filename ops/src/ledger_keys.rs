//! `hoso keys ledger show | rotate | revoke`: the ledger key ring that signs tree
//! heads. The active key's public key is what a province publishes for inspectors.
//!
//! The ring is a file; a running `hoso serve` keeps the ring it opened, so a
//! rotation or revocation takes effect at its next start.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use hoso_domain::clock::{Clock, SystemClock};
use hoso_ledger::checkpoint::read_head_file;
use hoso_ledger::{KeyId, KeyState, LedgerKeyInfo};
use serde_json::{Value, json};

use crate::data_dir::{DataDir, Keys};

/// `hoso keys ledger show`: every key with its state, dates and public key.
pub fn show(data: &Path, as_json: bool) -> anyhow::Result<()> {
    let ring = DataDir::new(data).ledger_keys(Keys::Open, SystemClock.now())?;
    if as_json {
        let keys: Vec<Value> = ring.public_keys().iter().map(key_json).collect();
        let out = json!({
            "file": ring.path().display().to_string(),
            "active": ring.active().key_id.to_string(),
            "keys": keys,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("ledger keys in {}:", ring.path().display());
    for key in ring.public_keys() {
        println!("{}", key_line(key));
    }
    println!(
        "publish the active key's public key for inspectors: {}",
        hex::encode(ring.active().public_key.as_bytes())
    );
    Ok(())
}

/// `hoso keys ledger rotate`: a new active key; the old one kept, retired.
pub fn rotate(data: &Path) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let mut ring = DataDir::new(data).ledger_keys(Keys::Open, now)?;
    let old = ring.active().key_id;
    let new = ring.rotate(now)?;
    println!(
        "rotated the ledger key of {}: {old} is retired (its tree heads stay valid), {new} is active with public key {}",
        ring.path().display(),
        hex::encode(ring.active().public_key.as_bytes())
    );
    println!("a running `hoso serve` signs with the new key from its next start");
    Ok(())
}

/// `hoso keys ledger revoke`: heads of `key_id` valid through `valid_through` (by
/// default the tree size of the latest signed head, else 0), none after.
pub fn revoke(data: &Path, key_id: KeyId, valid_through: Option<u64>) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let dir = DataDir::new(data);
    let mut ring = dir.ledger_keys(Keys::Open, now)?;
    let bound = match valid_through {
        Some(n) => n,
        None => read_head_file(&dir.head_file())?.map_or(0, |h| h.head.tree_size),
    };
    let r = ring.revoke(key_id, now, bound)?;
    println!(
        "revoked ledger key {} of {}: its tree heads are valid through tree size {bound}, none after",
        r.revoked,
        ring.path().display()
    );
    if let Some(new) = r.rotated_to {
        println!(
            "it was the active key: {new} is active now, with public key {}",
            hex::encode(ring.active().public_key.as_bytes())
        );
    }
    Ok(())
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn key_line(key: &LedgerKeyInfo) -> String {
    let state = match key.state {
        KeyState::Active => "active".to_owned(),
        KeyState::Retired { retired_at } => format!("retired {}", time(retired_at)),
        KeyState::Revoked {
            revoked_at,
            valid_through_tree_size,
        } => format!(
            "revoked {} (valid through tree size {valid_through_tree_size})",
            time(revoked_at)
        ),
    };
    format!(
        "  {}  created {}  {state}  public key {}",
        key.key_id,
        time(key.created_at),
        hex::encode(key.public_key.as_bytes())
    )
}

fn key_json(key: &LedgerKeyInfo) -> Value {
    let mut out = json!({
        "key_id": key.key_id.to_string(),
        "state": key.state.name(),
        "created_at": time(key.created_at),
        "public_key": hex::encode(key.public_key.as_bytes()),
    });
    match key.state {
        KeyState::Active => {}
        KeyState::Retired { retired_at } => out["retired_at"] = time(retired_at).into(),
        KeyState::Revoked {
            revoked_at,
            valid_through_tree_size,
        } => {
            out["revoked_at"] = time(revoked_at).into();
            out["valid_through_tree_size"] = valid_through_tree_size.into();
        }
    }
    out
}

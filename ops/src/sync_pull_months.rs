//! Continuous mode in `hoso sync pull` (HY 13.6; `docs/sync-format.md` §8): with
//! `--connection-key` the batches are verified under the province's connection
//! key instead of the director's, and the director's month statements are pulled
//! and verified under `--director-key`: canonical encoding and digest, the
//! director's signature, the chain of month statements, and the Merkle root over
//! the statement digests of the batches the consumer already verified and wrote.
//! A month whose batches are not all pulled yet waits for the next run.
//!
//! Each verified statement is written as `month-<yyyy-mm>.json` (the served
//! object); a month already written must be served again byte for byte.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use hoso_sync::Hash;
use hoso_sync::month::{MonthStatement, month_root};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::sync_pull::{get_bytes, write_atomically};

/// An ed25519 public key given on the command line: 64 hex digits, or a file
/// holding them. `flag` names it in errors.
pub fn public_key(flag: &str, given: &str) -> Result<[u8; 32]> {
    let parse = |s: &str| -> Option<[u8; 32]> { hex::decode(s.trim()).ok()?.try_into().ok() };
    if let Some(k) = parse(given) {
        return Ok(k);
    }
    let text = fs::read_to_string(given).with_context(|| {
        format!("{flag} {given:?} is neither 64 hex digits nor a readable file")
    })?;
    parse(&text).ok_or_else(|| anyhow!("{given}: not a 32-byte public key in hex"))
}

/// The key the batches are verified under: the connection key when given
/// (continuous mode), else the director's.
pub fn batch_key(director_key: &str, connection_key: Option<&str>) -> Result<[u8; 32]> {
    match connection_key {
        Some(k) => public_key("--connection-key", k),
        None => public_key("--director-key", director_key),
    }
}

#[derive(Deserialize)]
struct MonthsPage {
    months: Vec<Box<RawValue>>,
}

#[derive(Deserialize)]
struct ServedMonth {
    statement: Box<RawValue>,
    digest: String,
    signature: String,
    key_id: String,
}

/// Pulls and verifies the signed month statements; answers how many were
/// written this run.
pub async fn pull(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    out: &Path,
    director_key: &[u8; 32],
) -> Result<usize> {
    let bytes = get_bytes(http, &format!("{base}/sync/months"), token).await?;
    let page: MonthsPage =
        serde_json::from_slice(&bytes).context("GET /sync/months: unexpected answer")?;
    let mut previous: Option<(MonthStatement, Hash)> = None;
    let mut written = 0;
    for raw in &page.months {
        let Some(statement) = verify(raw.get().as_bytes(), previous.as_ref(), director_key, out)?
        else {
            break;
        };
        let file = out.join(format!("month-{}.json", statement.month));
        match fs::read(&file) {
            Ok(old) if old == raw.get().as_bytes() => {}
            Ok(_) => bail!(
                "month {}: served differently from {} written before",
                statement.month,
                file.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomically(out, &file, raw.get().as_bytes())?;
                println!(
                    "month {}: batches {}–{} ({} items) verified under the director's signature, written to {}",
                    statement.month,
                    statement.first_sequence,
                    statement.last_sequence,
                    statement.item_count,
                    file.display()
                );
                written += 1;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
        let digest = statement.digest()?;
        previous = Some((statement, digest));
    }
    Ok(written)
}

/// Every check of one served month statement; `None` when one of its batches
/// is not pulled yet.
fn verify(
    bytes: &[u8],
    previous: Option<&(MonthStatement, Hash)>,
    director_key: &[u8; 32],
    out: &Path,
) -> Result<Option<MonthStatement>> {
    let m: ServedMonth =
        serde_json::from_slice(bytes).context("a month statement of the documented shape")?;
    let statement = MonthStatement::from_canonical(m.statement.get().as_bytes())
        .context("month statement: canonical encoding")?;
    let name = statement.month;
    let digest = statement.digest()?;
    if m.digest != hex::encode(digest) {
        bail!("month {name}: digest {} is not the statement's", m.digest);
    }
    let signature = hex::decode(&m.signature).context("signature is not hex")?;
    statement
        .verify_signature(director_key, &signature)
        .with_context(|| {
            format!(
                "month {name}: the signature does not verify under the director key given (served key_id {})",
                m.key_id
            )
        })?;
    match previous {
        Some((p, p_digest))
            if statement.previous_digest != *p_digest
                || p.last_sequence.checked_add(1) != Some(statement.first_sequence) =>
        {
            bail!("month {name} does not follow month {}", p.month);
        }
        Some(_) => {}
        None if statement.previous_digest != [0; 32] => {
            bail!("month {name} is the first served but names a previous statement")
        }
        None => {}
    }
    let mut digests = Vec::new();
    for sequence in statement.first_sequence..=statement.last_sequence {
        let file = out.join(format!("batch-{sequence}.ndjson"));
        let text = match fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        #[derive(Deserialize)]
        struct Head {
            statement_digest: String,
        }
        let head: Head = serde_json::from_str(text.lines().next().unwrap_or_default())
            .with_context(|| format!("{}: first line", file.display()))?;
        let d: Hash = hex::decode(&head.statement_digest)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| anyhow!("{}: statement_digest is not hex", file.display()))?;
        digests.push(d);
    }
    if month_root(&digests) != statement.merkle_root {
        bail!(
            "month {name}: the batches {}–{} pulled do not give its merkle_root",
            statement.first_sequence,
            statement.last_sequence
        );
    }
    Ok(Some(statement))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_key_is_the_connection_key_when_given() {
        let director = "11".repeat(32);
        let connection = "22".repeat(32);
        assert_eq!(batch_key(&director, None).unwrap(), [0x11; 32]);
        assert_eq!(batch_key(&director, Some(&connection)).unwrap(), [0x22; 32]);
        let e = batch_key(&director, Some("nope")).unwrap_err();
        assert!(format!("{e:#}").contains("--connection-key"), "{e:#}");
    }
}

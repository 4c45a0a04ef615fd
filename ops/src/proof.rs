//! `hoso verify-proof`: checks, offline, a proof the API served against signed tree
//! heads — the files are the JSON answers of `GET /api/v1/ledger/proofs/inclusion`,
//! `…/consistency` and `…/checkpoints/latest` as they came. Exit 0 when the proof holds
//! and the heads are authenticated by the ledger key, 2 when it holds but no key was
//! given, 1 on any failure (naming what).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use ed25519_dalek::VerifyingKey;
use hoso_api::routes::ledger::{ConsistencyOut, InclusionOut};
use hoso_ledger::SignedTreeHead;
use hoso_ledger::merkle::{ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion};

use crate::bundle::{failed, parse_key};

/// What to check.
#[derive(Debug, clap::Subcommand)]
pub enum ProofKind {
    /// The event is leaf `leaf_index` of the tree the head signs.
    Inclusion {
        /// The proof (`GET /api/v1/ledger/proofs/inclusion`).
        #[arg(long)]
        proof: std::path::PathBuf,
        /// The signed head of the proof's tree size (`GET /api/v1/ledger/checkpoints/latest`).
        #[arg(long)]
        head: std::path::PathBuf,
        /// The event's chain hash as you hold it (64 hex), if the proof must be about it.
        #[arg(long)]
        event_hash: Option<String>,
        /// The province's published ledger public key: 64 hex digits or a file.
        #[arg(long)]
        ledger_key: Option<String>,
    },
    /// The older head's tree is a prefix of the newer head's tree: nothing it covered
    /// was changed or removed since.
    Consistency {
        /// The proof (`GET /api/v1/ledger/proofs/consistency`).
        #[arg(long)]
        proof: std::path::PathBuf,
        /// The older signed head.
        #[arg(long)]
        old: std::path::PathBuf,
        /// The newer signed head.
        #[arg(long)]
        new: std::path::PathBuf,
        /// The province's published ledger public key: 64 hex digits or a file.
        #[arg(long)]
        ledger_key: Option<String>,
    },
}

/// Runs the check.
pub fn run(kind: &ProofKind) -> ExitCode {
    match check(kind) {
        Ok((what, authenticated)) => {
            println!("{what}");
            if authenticated {
                ExitCode::SUCCESS
            } else {
                println!("not authenticated: give --ledger-key to check the heads' signatures");
                ExitCode::from(2)
            }
        }
        Err(e) => failed(&format!("{e:#}")),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a {what}", path.display()))
}

fn hash(field: &str, text: &str) -> anyhow::Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .with_context(|| format!("{field} is not 64 hex digits"))?;
    Ok(out)
}

fn hashes(path: &[String]) -> anyhow::Result<Vec<[u8; 32]>> {
    path.iter().map(|h| hash("a path hash", h)).collect()
}

/// The head, its signature checked when there is a key.
fn head(path: &Path, key: Option<&VerifyingKey>) -> anyhow::Result<SignedTreeHead> {
    let head: SignedTreeHead = read_json(path, "signed tree head")?;
    if let Some(key) = key {
        head.verify(key).with_context(|| {
            format!(
                "the tree head in {} is not signed by that ledger key",
                path.display()
            )
        })?;
    }
    Ok(head)
}

fn check(kind: &ProofKind) -> anyhow::Result<(String, bool)> {
    match kind {
        ProofKind::Inclusion {
            proof,
            head: head_file,
            event_hash,
            ledger_key,
        } => {
            let key = ledger_key.as_deref().map(parse_key).transpose()?;
            let signed = head(head_file, key.as_ref())?;
            let p: InclusionOut = read_json(proof, "inclusion proof")?;
            let h = &signed.head;
            anyhow::ensure!(
                p.tree_size == h.tree_size,
                "the proof is against a tree of {} events, the head signs one of {}",
                p.tree_size,
                h.tree_size
            );
            let leaf = hash("event_hash", &p.event_hash)?;
            if let Some(expected) = event_hash {
                anyhow::ensure!(
                    hash("--event-hash", expected)? == leaf,
                    "the proof is about another event (hash {})",
                    p.event_hash
                );
            }
            let proof = InclusionProof {
                leaf_index: p.leaf_index,
                tree_size: p.tree_size,
                path: hashes(&p.path)?,
            };
            verify_inclusion(&leaf, &proof, &h.root)
                .context("the inclusion proof does not lead to the signed root")?;
            Ok((
                format!(
                    "ok: the event at position {} (hash {}) is in the log of {} events whose root was signed at {} by key {}",
                    p.leaf_index, p.event_hash, h.tree_size, h.signed_at, h.key_id
                ),
                key.is_some(),
            ))
        }
        ProofKind::Consistency {
            proof,
            old,
            new,
            ledger_key,
        } => {
            let key = ledger_key.as_deref().map(parse_key).transpose()?;
            let (old, new) = (head(old, key.as_ref())?, head(new, key.as_ref())?);
            let p: ConsistencyOut = read_json(proof, "consistency proof")?;
            anyhow::ensure!(
                p.from_size == old.head.tree_size && p.to_size == new.head.tree_size,
                "the proof is from {} to {} events, the heads sign {} and {}",
                p.from_size,
                p.to_size,
                old.head.tree_size,
                new.head.tree_size
            );
            let proof = ConsistencyProof {
                from_size: p.from_size,
                to_size: p.to_size,
                path: hashes(&p.path)?,
            };
            verify_consistency(&old.head.root, &new.head.root, &proof).context(
                "the newer log does not extend the older one: events the older head covered were changed or removed",
            )?;
            Ok((
                format!(
                    "ok: the log of {} events signed at {} extends, unchanged, the log of {} events signed at {}",
                    new.head.tree_size, new.head.signed_at, old.head.tree_size, old.head.signed_at
                ),
                key.is_some(),
            ))
        }
    }
}

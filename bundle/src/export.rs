//! Building a bundle from a store, its Merkle tree and a signed tree head.
//!
//! The exporter checks its own work before handing it out: every proof it writes is
//! verified against the head's root, so a tree file out of step with the log (or with
//! the head) is reported here rather than discovered by an inspector.

use hoso_domain::account;
use hoso_ledger::merkle::{InclusionProof, ProofError, verify_inclusion};
use hoso_ledger::tree::{MerkleTree, TreeError};
use hoso_ledger::{Direction, EventStore, RecordedEvent, SignedTreeHead, StoreError, StreamFrom};
use hoso_schemas::{DomainEvent, Registry};

use crate::format::{Bundle, BundleEvent, FORMAT, attachment_list, cited_attachments};

/// Why a bundle could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store does not hash positions (KurrentDB assigns them after hashing), so
    /// its events cannot be leaves of the Merkle tree over dense positions.
    #[error("the {0} backend does not hash dense positions; bundles need the SQLite ledger")]
    UnsupportedBackend(&'static str),
    /// The stream name is not a dossier stream.
    #[error("{0} is not a dossier stream (dossier-<id>)")]
    NotADossier(String),
    /// The dossier stream has no events.
    #[error("dossier {0} not found")]
    DossierNotFound(String),
    /// The dossier's first event is after the head: no signed head covers it yet.
    #[error(
        "the signed tree head (size {tree_size}) covers no event of {dossier}: its first event is at position {first_position}; wait for the next head"
    )]
    NotCovered {
        /// The dossier stream.
        dossier: String,
        /// The head's tree size.
        tree_size: u64,
        /// Position of the dossier's first event.
        first_position: u64,
    },
    /// The tree holds fewer leaves than the head claims.
    #[error("the Merkle tree has {tree_len} leaves, fewer than the head's {tree_size}")]
    TreeShorterThanHead {
        /// Leaves in the tree.
        tree_len: u64,
        /// The head's tree size.
        tree_size: u64,
    },
    /// The tree's root at the head's size is not the head's root.
    #[error("the Merkle tree's root at size {tree_size} is not the signed head's root")]
    TreeDisagreesWithHead {
        /// The head's tree size.
        tree_size: u64,
    },
    /// A stored event is not the leaf the tree holds at its position.
    #[error("event at position {position} ({stream}) is not proven by the tree: {source}")]
    ProofDoesNotVerify {
        /// Position of the event.
        position: u64,
        /// Its stream.
        stream: String,
        /// What the check said.
        source: ProofError,
    },
    /// An approval names a key that its signer's account never registered before the head.
    #[error(
        "approval at revision {revision} names key {key_id} of account {signer}, which has no registration covered by the head"
    )]
    SignerKeyNotFound {
        /// Revision of the `ApprovalSigned` event.
        revision: u64,
        /// The signing account.
        signer: String,
        /// The key id.
        key_id: String,
    },
    /// A stored event does not decode.
    #[error(transparent)]
    Decode(#[from] Box<hoso_ledger::typed::EventDecodeError>),
    /// Reading the store failed.
    #[error("reading the log: {0}")]
    Store(#[from] StoreError),
    /// Reading the tree failed.
    #[error("reading the Merkle tree: {0}")]
    Tree(#[from] TreeError),
}

/// Exports the bundle of `dossier_stream` (`dossier-<id>`) against `head`: the
/// dossier's events covered by the head, the registrations of the keys that signed
/// its approvals, the attachment hashes its events cite, an inclusion proof for every
/// included event, and the head.
pub async fn export(
    store: &dyn EventStore,
    tree: &MerkleTree,
    head: &SignedTreeHead,
    dossier_stream: &str,
) -> Result<Bundle, ExportError> {
    if !store.dense_positions() {
        return Err(ExportError::UnsupportedBackend(store.backend_name()));
    }
    if !dossier_stream.starts_with(hoso_domain::dossier::STREAM_PREFIX) {
        return Err(ExportError::NotADossier(dossier_stream.to_owned()));
    }
    let tree_size = head.head.tree_size;
    let tree_len = tree.len();
    if tree_len < tree_size {
        return Err(ExportError::TreeShorterThanHead {
            tree_len,
            tree_size,
        });
    }
    if tree.root(tree_size)? != head.head.root {
        return Err(ExportError::TreeDisagreesWithHead { tree_size });
    }
    let stored = store
        .read_stream(
            dossier_stream,
            StreamFrom::Start,
            Direction::Forwards,
            usize::MAX,
        )
        .await?;
    let Some(first) = stored.first() else {
        return Err(ExportError::DossierNotFound(dossier_stream.to_owned()));
    };
    let first_position = first.position;
    let covered: Vec<&RecordedEvent> = stored
        .iter()
        .take_while(|e| e.position < tree_size)
        .collect();
    let Some(last) = covered.last() else {
        return Err(ExportError::NotCovered {
            dossier: dossier_stream.to_owned(),
            tree_size,
            first_position,
        });
    };
    let last_revision = last.revision;
    let later_events_omitted = covered.len() < stored.len();

    let registry = Registry::standard();
    let mut events = Vec::with_capacity(covered.len());
    let mut citations = Vec::new();
    let mut wanted_keys: Vec<(u64, String, String)> = Vec::new();
    for e in &covered {
        let decoded = hoso_ledger::typed::decode(&registry, e)?;
        citations.push((
            e.revision,
            cited_attachments(&decoded, e.source_document.as_ref()),
        ));
        if let DomainEvent::ApprovalSigned(a) = &decoded
            && !wanted_keys
                .iter()
                .any(|(_, s, k)| *s == a.signer && *k == a.key_id)
        {
            wanted_keys.push((e.revision, a.signer.clone(), a.key_id.clone()));
        }
        events.push(proven(tree, head, e)?);
    }

    let mut signer_keys = Vec::with_capacity(wanted_keys.len());
    for (revision, signer, key_id) in wanted_keys {
        let registration = find_registration(store, &registry, &signer, &key_id, tree_size)
            .await?
            .ok_or_else(|| ExportError::SignerKeyNotFound {
                revision,
                signer: signer.clone(),
                key_id: key_id.clone(),
            })?;
        signer_keys.push(proven(tree, head, &registration)?);
    }
    signer_keys.sort_by_key(|e| e.position);
    signer_keys.dedup_by_key(|e| e.position);

    if later_events_omitted {
        tracing::info!(
            dossier = dossier_stream,
            tree_size,
            omitted = stored.len() - covered.len(),
            "events after the signed head are left out of the bundle"
        );
    }
    Ok(Bundle {
        format: FORMAT.to_owned(),
        dossier: dossier_stream.to_owned(),
        last_revision,
        later_events_omitted,
        tree_head: head.clone(),
        events,
        signer_keys,
        attachments: attachment_list(citations),
    })
}

/// The event with its inclusion proof, checked against the head's root.
fn proven(
    tree: &MerkleTree,
    head: &SignedTreeHead,
    e: &RecordedEvent,
) -> Result<BundleEvent, ExportError> {
    let proof: InclusionProof = tree.inclusion_proof(e.position, head.head.tree_size)?;
    verify_inclusion(&e.hash, &proof, &head.head.root).map_err(|source| {
        ExportError::ProofDoesNotVerify {
            position: e.position,
            stream: e.stream.clone(),
            source,
        }
    })?;
    Ok(BundleEvent::of(e, proof.path))
}

/// The `SigningKeyRegistered` event of `key_id` in `signer`'s account stream, if one
/// is covered by a head of `tree_size`.
async fn find_registration(
    store: &dyn EventStore,
    registry: &Registry,
    signer: &str,
    key_id: &str,
    tree_size: u64,
) -> Result<Option<RecordedEvent>, ExportError> {
    let stream = account::stream_id(signer);
    let events = store
        .read_stream(&stream, StreamFrom::Start, Direction::Forwards, usize::MAX)
        .await?;
    for e in events {
        if e.position >= tree_size {
            break;
        }
        if e.event_type != "account.SigningKeyRegistered" {
            continue;
        }
        if let DomainEvent::SigningKeyRegistered(k) = hoso_ledger::typed::decode(registry, &e)?
            && k.key_id == key_id
            && k.account_id == signer
        {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

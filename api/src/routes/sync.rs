//! The national sync feed over HTTP (issue 15; format in
//! `docs/sync-format.md`, documents in `docs/national-exchange-format.md`).
//!
//! - The Sở Nội vụ director's flow, like a head's approval: `GET
//!   /sync/batches/next` hands out the next batch's statement and the digest
//!   to sign (the items' documents are rendered here, so the Merkle root is
//!   the read side's); `POST /sync/batches` takes the statement back with the
//!   ed25519 signature and seals it (`Workflows::seal_batch`).
//! - The feed, read by the national database's `national_sync` account (and
//!   by the system administrator and the director): the sealed batches in
//!   sequence order with their delivery state, paged, with an `ETag`; one
//!   batch a page of items at a time, each page with the statement and
//!   signature and each item with its document and inclusion proof under
//!   the whole batch's root; and the acknowledgement with the national
//!   database's receipt. Serving the national sync account the page with a
//!   batch's last item records its delivery (`sync.BatchDelivered`).
//!
//! Documents are never stored: each is rendered from the read model (the
//! dossier folded up to its approval) when served, so identifiers stay
//! sealed at rest. Rendering is deterministic, so the same page of a batch
//! always has the same bytes, and its `ETag` is computed from the statement
//! digest and the page's parameters without rendering anything. The first
//! time a batch is served its items are all rendered once and checked
//! against the sealed Merkle root, and their digests kept
//! ([`crate::sync_cache`]); later pages render only their own items, which
//! must hash to the digests kept. A batch whose documents no longer hash to
//! its root is refused rather than served unverifiable.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use hoso_commands::workflows::{ApprovalRef, BatchRule, SealBatch, SealedBatch};
use hoso_domain::account::AccountKind;
use hoso_domain::profile::Profile;
use hoso_ledger::merkle::InclusionProof;
use hoso_projections::approvals::Approval;
use hoso_projections::exchange::{self, ExchangeError, SealedOpener};
use hoso_projections::{ProjectionError, ReadModel};
use hoso_sync::{BatchItem, BatchStatement, Hash};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::{ReceiptOut, parse_sha256};
use crate::AppState;
use crate::access::KeyringSealer;
use crate::extract::{Body, Caller, Params, PathParams};
use crate::problem::{ApiResult, Problem};
use crate::sync_cache::{Unverified, VerifiedBatch};

/// Batches per page of the feed when the caller names no limit.
const DEFAULT_LIMIT: usize = 50;
/// Most batches per page.
const MAX_LIMIT: usize = 500;
/// Items named in an `unverifiable-batch` problem.
const NAMED_ITEMS: usize = 10;
/// Items per page of a batch when the caller names no `items_limit`: about
/// 1 MB of documents.
pub const DEFAULT_ITEMS_LIMIT: u64 = 500;
/// Most items per page of a batch (about 10 MB of documents).
pub const MAX_ITEMS_LIMIT: u64 = 5_000;
/// Domain separation of a batch page's `ETag`; a change of the page's shape
/// changes it, so that no tag ever names two different bodies.
const PAGE_TAG_CONTEXT: &[u8] = b"hoso-sync-batch-page-v1";

/// A batch statement (`hoso-sync-statement/1`) as a JSON object: its members
/// in canonical order, so this object written compactly is the statement's
/// canonical bytes (`docs/sync-format.md` §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementJson {
    /// Always `hoso-sync-statement/1`.
    pub format: String,
    /// The province profile's name.
    pub province: String,
    /// Batch sequence, from 1.
    pub sequence: u64,
    /// `yyyy-mm`.
    pub month: String,
    /// First log position covered.
    pub from_position: u64,
    /// One past the last log position covered.
    pub to_position: u64,
    /// Number of items.
    pub item_count: u64,
    /// RFC 9162 root over the items' digests (hex).
    pub merkle_root: String,
    /// The previous batch's statement digest (hex; zeros for batch 1).
    pub previous_digest: String,
}

impl From<&BatchStatement> for StatementJson {
    fn from(s: &BatchStatement) -> Self {
        Self {
            format: s.format.clone(),
            province: s.province.clone(),
            sequence: s.sequence,
            month: s.month.to_string(),
            from_position: s.from_position,
            to_position: s.to_position,
            item_count: s.item_count,
            merkle_root: hex::encode(s.merkle_root),
            previous_digest: hex::encode(s.previous_digest),
        }
    }
}

impl StatementJson {
    /// The statement, refusing a malformed one as `sync:bad-statement`.
    fn to_statement(&self) -> ApiResult<BatchStatement> {
        let month = self
            .month
            .parse()
            .map_err(|e| sync_problem(BatchRule::BadStatement(e)))?;
        Ok(BatchStatement {
            format: self.format.clone(),
            province: self.province.clone(),
            sequence: self.sequence,
            month,
            from_position: self.from_position,
            to_position: self.to_position,
            item_count: self.item_count,
            merkle_root: parse_sha256(&self.merkle_root, "statement.merkle_root")?,
            previous_digest: parse_sha256(&self.previous_digest, "statement.previous_digest")?,
        })
    }
}

/// One item of a batch, without its document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemSummary {
    /// The dossier id.
    pub dossier: String,
    /// The approved revision.
    pub revision: u64,
    /// That revision's chain hash (hex).
    pub chain_hash: String,
    /// SHA-256 of the dossier's `hoso-national/1` document (hex).
    pub document_sha256: String,
}

impl From<&BatchItem> for ItemSummary {
    fn from(i: &BatchItem) -> Self {
        Self {
            dossier: i.dossier.clone(),
            revision: i.revision,
            chain_hash: hex::encode(i.chain_hash),
            document_sha256: hex::encode(i.document_sha256),
        }
    }
}

/// The next batch, for the director to sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextBatchOut {
    /// The statement to sign, as its canonical JSON object.
    pub statement: StatementJson,
    /// The digest to sign with ed25519 (hex): `SHA-256("hoso-sync-statement-v1" ‖ 0x00 ‖ statement bytes)`.
    pub digest: String,
    /// Monthly mode: the first day the batch may be sealed.
    pub seal_from: Option<NaiveDate>,
    /// The items the statement's Merkle root covers, in batch order.
    pub items: Vec<ItemSummary>,
}

/// The director's seal over a statement handed out by `GET /sync/batches/next`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealIn {
    /// The statement as handed out.
    pub statement: StatementJson,
    /// The director's registered key id.
    pub key_id: String,
    /// ed25519 signature over the statement digest (hex, 64 bytes).
    pub signature: String,
}

/// The national database's receipt for a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckIn {
    /// The national database's receipt reference (1–200 characters).
    pub receipt: String,
}

/// `?after=<sequence>&limit=<n>`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Only batches after this sequence (the `next` cursor of the previous page).
    pub after: Option<u64>,
    /// Batches per page (default 50, at most 500).
    pub limit: Option<usize>,
}

/// The national database's acknowledgement of a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AcknowledgementOut {
    /// Receipt reference.
    pub receipt: String,
    /// The national sync account that acknowledged.
    pub account: String,
    /// Vietnam date.
    pub on: NaiveDate,
}

/// Where a sealed batch stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `sealed`, `delivered` (served whole to the national sync account),
    /// `acknowledged`, or `overdue` (not acknowledged past
    /// `acknowledgement_due`, delivered or not).
    pub state: String,
    /// Vietnam date of the seal.
    pub sealed_on: NaiveDate,
    /// Vietnam date the national sync account was first served the page
    /// holding the batch's last item.
    pub delivered_on: Option<NaiveDate>,
    /// Last day the acknowledgement is on time (`[sync] ack_overdue_working_days`).
    pub acknowledgement_due: NaiveDate,
    /// The acknowledgement, once received.
    pub acknowledgement: Option<AcknowledgementOut>,
}

/// A sealed batch in the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchSummary {
    /// Sequence.
    pub sequence: u64,
    /// `yyyy-mm`.
    pub month: String,
    /// Number of items.
    pub item_count: u64,
    /// The statement digest (hex), as signed.
    pub statement_digest: String,
    /// Delivery.
    pub delivery: DeliveryOut,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedOut {
    /// Sealed batches, by sequence.
    pub batches: Vec<BatchSummary>,
    /// The `after` of the next page, when there are more batches.
    pub next: Option<u64>,
}

/// An RFC 9162 inclusion proof of an item in its batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemProofOut {
    /// The item's place in the batch, from 0.
    pub leaf_index: u64,
    /// The batch's item count.
    pub tree_size: u64,
    /// Sibling hashes, leaf level first (hex).
    pub path: Vec<String>,
}

/// One item of a sealed batch, with its document and proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemOut {
    /// The dossier id.
    pub dossier: String,
    /// The approved revision.
    pub revision: u64,
    /// That revision's chain hash (hex).
    pub chain_hash: String,
    /// SHA-256 of `document`'s bytes as served (hex).
    pub document_sha256: String,
    /// The dossier in the national exchange format `hoso-national/1`, exactly
    /// the canonical bytes `document_sha256` covers.
    #[schema(value_type = Object)]
    pub document: Box<RawValue>,
    /// Inclusion proof of the item's digest under the statement's `merkle_root`.
    pub proof: ItemProofOut,
}

/// `?items_after=<index>&items_limit=<n>`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    /// Index of the last item already received (the `next_items_after` of
    /// the previous page); absent: from item 0.
    pub items_after: Option<u64>,
    /// Items per page (default 500, 1–5,000).
    pub items_limit: Option<u64>,
}

/// A page of a sealed batch: only what never changes (no delivery state,
/// which is in the feed), so the same page always has the same bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// The statement, as its canonical JSON object.
    pub statement: StatementJson,
    /// Its digest (hex), what the director signed.
    pub statement_digest: String,
    /// ed25519 signature over the digest (hex).
    pub signature: String,
    /// The director's key id.
    pub key_id: String,
    /// The signer's public key (hex, 32 bytes): the director's, as the
    /// director's account registered it under `key_id`, or in continuous mode
    /// the province connection key's, as the seal event records it.
    pub public_key: Option<String>,
    /// The signing account.
    pub signer: String,
    /// Items in the whole batch (the statement's `item_count`).
    pub item_count: u64,
    /// The `items_after` asked for: this page's items follow that index
    /// (null: from item 0).
    pub items_after: Option<u64>,
    /// Items per page asked for (or the default).
    pub items_limit: u64,
    /// The `items_after` of the next page; null on the batch's last page.
    pub next_items_after: Option<u64>,
    /// This page's items, in batch order, each proved under the whole
    /// batch's root.
    pub items: Vec<ItemOut>,
}

/// An item rendered from the read model: the item and its document's bytes.
pub(crate) struct Rendered {
    pub(crate) item: BatchItem,
    pub(crate) document: Vec<u8>,
}

/// Why a batch's items could not be built from the read model.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The read model could not be read.
    #[error(transparent)]
    Read(#[from] ProjectionError),
    /// An approval names a dossier the read model lacks (out of step with the log).
    #[error("approval at position {position} names dossier {dossier} which the read model lacks")]
    MissingDossier {
        /// Position of the approval.
        position: u64,
        /// The dossier it names.
        dossier: String,
    },
    /// The approved dossier could not be put in the exchange format.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// An item could not be encoded.
    #[error(transparent)]
    Sync(#[from] hoso_sync::SyncError),
    /// A rendered document is not a JSON text (it always is: `to_bytes` wrote it).
    #[error("a rendered document is not JSON: {0}")]
    Document(String),
}

/// The items of a batch over `approvals` (in log order) and each item's
/// document bytes: each dossier folded up to its approval, rendered as
/// `hoso-national/1` under the profile's restrictions and `[sync]
/// national_receives`, and digested. Shared by the routes and `hoso bench
/// sync`, so the figures measure what is served.
pub fn build_items(
    read: &ReadModel,
    profile: &Profile,
    opener: &dyn SealedOpener,
    approvals: &[Approval],
) -> Result<Vec<(BatchItem, Vec<u8>)>, BuildError> {
    let mut out = Vec::with_capacity(approvals.len());
    for a in approvals {
        let view = read
            .dossier_as_approved(a)?
            .ok_or_else(|| BuildError::MissingDossier {
                position: a.position,
                dossier: a.dossier_id.clone(),
            })?;
        let doc = exchange::to_document(
            &view,
            a.approved_revision,
            profile.restrictions(),
            profile.sync().national_receives,
            opener,
        )?;
        let document = exchange::to_bytes(&doc)?;
        out.push((
            BatchItem {
                dossier: a.dossier_id.clone(),
                revision: a.approved_revision,
                chain_hash: a.stream_hash,
                document_sha256: exchange::digest(&document),
            },
            document,
        ));
    }
    Ok(out)
}

/// The served form of items: each with its document and its inclusion
/// proof (`proofs`, in the same order).
pub fn items_out(
    items: Vec<(BatchItem, Vec<u8>)>,
    proofs: Vec<InclusionProof>,
) -> Result<Vec<ItemOut>, BuildError> {
    if items.len() != proofs.len() {
        return Err(BuildError::Document(format!(
            "{} items but {} proofs",
            items.len(),
            proofs.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for ((item, document), proof) in items.into_iter().zip(proofs) {
        let text = String::from_utf8(document).map_err(|e| BuildError::Document(e.to_string()))?;
        let document =
            RawValue::from_string(text).map_err(|e| BuildError::Document(e.to_string()))?;
        out.push(ItemOut {
            dossier: item.dossier,
            revision: item.revision,
            chain_hash: hex::encode(item.chain_hash),
            document_sha256: hex::encode(item.document_sha256),
            document,
            proof: ItemProofOut {
                leaf_index: proof.leaf_index,
                tree_size: proof.tree_size,
                path: proof.path.iter().map(hex::encode).collect(),
            },
        });
    }
    Ok(out)
}

/// Why a page of a verified batch could not be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The page's items could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The read model's approvals for the page are not those verified (out
    /// of step with the log).
    #[error(
        "the read model's approvals for items {first}..{end} are not the batch's verified ones"
    )]
    Approvals {
        /// First item of the page.
        first: u64,
        /// One past its last.
        end: u64,
    },
    /// An item, rendered now, no longer hashes to its verified digest.
    #[error("item {index} (dossier {dossier}, revision {revision})")]
    Changed {
        /// Its index in the batch.
        index: u64,
        /// The dossier.
        dossier: String,
        /// The approved revision.
        revision: u64,
    },
    /// The page reaches past the batch.
    #[error(transparent)]
    Range(#[from] Unverified),
}

/// Items `first..end` of a batch verified earlier, served: their approvals
/// read by the log positions kept in `verified`, only their documents
/// rendered, each checked against the digest verified, each proof taken
/// from the tree kept. Shared by the batch route and `hoso bench sync`, so
/// the figures measure what is served.
pub fn serve_page(
    read: &ReadModel,
    profile: &Profile,
    opener: &dyn SealedOpener,
    verified: &VerifiedBatch,
    first: u64,
    end: u64,
) -> Result<Vec<ItemOut>, PageError> {
    if first >= end {
        return Ok(Vec::new());
    }
    let (Some(from), Some(last)) = (verified.position(first), verified.position(end - 1)) else {
        return Err(PageError::Range(Unverified::OutOfRange {
            sequence: verified.sequence(),
            count: verified.item_count(),
            index: end,
        }));
    };
    let approvals = read
        .approvals_between(from.checked_sub(1), last)
        .map_err(BuildError::from)?;
    let same = approvals.len() as u64 == end - first
        && approvals
            .iter()
            .zip(first..)
            .all(|(a, i)| verified.position(i) == Some(a.position));
    if !same {
        return Err(PageError::Approvals { first, end });
    }
    let items = build_items(read, profile, opener, &approvals)?;
    let digests = items
        .iter()
        .map(|(i, _)| hoso_sync::item_digest(i))
        .collect::<Result<Vec<Hash>, _>>()
        .map_err(BuildError::from)?;
    if let Err(e) = verified.check_page(first, &digests) {
        return Err(match e {
            Unverified::Item { index, .. } => {
                let named = usize::try_from(index - first)
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|(item, _)| item);
                PageError::Changed {
                    index,
                    dossier: named.map(|i| i.dossier.clone()).unwrap_or_default(),
                    revision: named.map_or(0, |i| i.revision),
                }
            }
            other => PageError::Range(other),
        });
    }
    let proofs = (first..end)
        .map(|i| verified.proof(i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items_out(items, proofs)?)
}

/// Renders the documents of the approvals recorded in `[from, to)` from the
/// read model (waiting for it to reach `to`), in log order.
pub(crate) async fn render(s: &AppState, from: u64, to: u64) -> ApiResult<Vec<(u64, Rendered)>> {
    let Some(last) = to.checked_sub(1).filter(|_| to > from) else {
        return Ok(Vec::new());
    };
    s.read.wait_for(last, s.config.read_wait).await?;
    let approvals = s.read.approvals_between(from.checked_sub(1), last)?;
    let opener = KeyringSealer(s.keyring.clone());
    let built = build_items(&s.read, s.workflows.profile(), &opener, &approvals)
        .map_err(|e| Problem::internal(&e))?;
    Ok(approvals
        .iter()
        .zip(built)
        .map(|(a, (item, document))| (a.position, Rendered { item, document }))
        .collect())
}

/// The digests of rendered items, in order.
fn digests_of(rendered: &[(u64, Rendered)]) -> ApiResult<Vec<Hash>> {
    rendered
        .iter()
        .map(|(_, r)| hoso_sync::item_digest(&r.item))
        .collect::<Result<Vec<Hash>, _>>()
        .map_err(|e| Problem::internal(&e))
}

/// What a seal renders to check or make its statement's root: the range's
/// items, their digests and the root over them.
pub(crate) struct RenderedRange {
    pub(crate) rendered: Vec<(u64, Rendered)>,
    pub(crate) digests: Vec<Hash>,
    pub(crate) root: Hash,
}

impl RenderedRange {
    /// Renders `[from, to)` (see [`render`]) and digests it.
    pub(crate) async fn of(s: &AppState, from: u64, to: u64) -> ApiResult<Self> {
        let rendered = render(s, from, to).await?;
        let digests = digests_of(&rendered)?;
        let root = hoso_sync::root_of_digests(&digests);
        Ok(Self {
            rendered,
            digests,
            root,
        })
    }

    /// Once `statement` is sealed over these items, keeps their digests in
    /// the node's cache, so the batch's first serving renders only its page
    /// instead of the whole batch again.
    pub(crate) fn remember_sealed(self, s: &AppState, statement: &BatchStatement) {
        let sequence = statement.sequence;
        let positions = self.rendered.iter().map(|(p, _)| *p).collect();
        let verified = statement
            .digest()
            .map_err(|e| e.to_string())
            .and_then(|digest| {
                VerifiedBatch::verify(statement, digest, positions, self.digests)
                    .map_err(|e| e.to_string())
            });
        match verified {
            Ok(v) => s.sync_digests.insert(Arc::new(v)),
            // The seal was checked against the log; a batch not kept here
            // is rendered and verified on its first serving, as after a
            // restart.
            Err(e) => {
                tracing::warn!(sequence, error = %e, "a sealed batch's digests were not kept")
            }
        }
    }
}

/// The read model's items must be the log's approvals: the same positions,
/// dossiers, revisions and chain hashes. They are unless the read model
/// fell out of step with the log, a failure of the server.
pub(crate) fn agree(log: &[ApprovalRef], read: &[(u64, Rendered)]) -> ApiResult<()> {
    let same = log.len() == read.len()
        && log.iter().zip(read).all(|(l, (position, r))| {
            l.position == *position
                && l.dossier_id == r.item.dossier
                && l.revision == r.item.revision
                && l.chain_hash == r.item.chain_hash
        });
    if same {
        Ok(())
    } else {
        Err(Problem::internal(
            &"the read model's approvals differ from the log's for the batch range",
        ))
    }
}

pub(crate) fn sync_problem(rule: BatchRule) -> Problem {
    Problem::from(hoso_commands::workflows::CommandError::from(rule))
}

/// Whether the caller is the director ([`BatchRule::NotDirector`] otherwise).
pub(crate) async fn director(s: &AppState, c: &Caller) -> ApiResult<()> {
    s.workflows.check_director(&c.actor).await?;
    Ok(())
}

/// The feed's readers: the national database's sync account, the system
/// administrator and the director; anyone else is refused with
/// `sync:not-national-sync` (a 403: the feed's existence is no secret).
pub(crate) async fn feed_reader(s: &AppState, c: &Caller) -> ApiResult<()> {
    if matches!(
        c.account.kind,
        AccountKind::NationalSync | AccountKind::SystemAdmin
    ) || s.workflows.check_director(&c.actor).await.is_ok()
    {
        Ok(())
    } else {
        Err(sync_problem(BatchRule::NotNationalSync(
            c.account.id.clone(),
        )))
    }
}

/// The statement of the next batch and the digest the director signs.
/// Director (or system administrator, who sees what is about to be signed).
#[utoipa::path(get, path = "/api/v1/sync/batches/next", tag = "sync", operation_id = "next_batch",
    responses((status = 200, body = NextBatchOut),
              (status = 403, body = Problem, description = "Not the Sở Nội vụ director (urn:hoso:problem:sync:not-director)")))]
pub async fn next(State(s): State<Arc<AppState>>, c: Caller) -> ApiResult<Json<NextBatchOut>> {
    if !c.is_system_admin() {
        director(&s, &c).await?;
    }
    let range = s.workflows.batch_range().await?;
    let rendered = render(&s, range.from_position, range.to_position).await?;
    agree(&range.approvals, &rendered)?;
    let items: Vec<BatchItem> = rendered.into_iter().map(|(_, r)| r.item).collect();
    let root = hoso_sync::merkle_root(&items).map_err(|e| Problem::internal(&e))?;
    let statement = range.statement(root);
    let digest = statement.digest().map_err(|e| Problem::internal(&e))?;
    Ok(Json(NextBatchOut {
        statement: StatementJson::from(&statement),
        digest: hex::encode(digest),
        seal_from: range.seal_from,
        items: items.iter().map(ItemSummary::from).collect(),
    }))
}

/// Seals the next batch with the director's signature over its statement
/// digest (`sync.MonthlyBatchSealed`); a batch is sealed once, and only
/// with the Merkle root of its documents as this server renders them.
#[utoipa::path(post, path = "/api/v1/sync/batches", tag = "sync",
    request_body = SealIn,
    responses((status = 201, body = ReceiptOut, description = "Sealed; `id` is the batch sequence"),
              (status = 403, body = Problem, description = "Not the Sở Nội vụ director (urn:hoso:problem:sync:not-director), or a key not usable today"),
              (status = 409, body = Problem, description = "Sealed already (urn:hoso:problem:sync:already-sealed), or continuous mode, where the server seals with the province connection key (urn:hoso:problem:sync:sealed-by-connection)"),
              (status = 422, body = Problem, description = "Too early, not the next batch, a statement other than the log's, or a bad signature")))]
pub async fn seal(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Body(input): Body<SealIn>,
) -> ApiResult<Response> {
    let statement = input.statement.to_statement()?;
    let signature = hex::decode(&input.signature)
        .map_err(|_| Problem::bad_request("invalid-signature", "signature: not hex"))?;
    let sequence = statement.sequence;
    // `seal_batch` checks everything but the root, which only the read side
    // can compute: a root other than the documents' would seal a batch that
    // can never be served verifiable. Only the director's statement costs a
    // rendering, and only over a range the log holds.
    director(&s, &c).await?;
    super::sync_continuous::refuse_director_seal(&s)?;
    let log_end = s
        .workflows
        .store()
        .head_position()
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_or(0, |h| h + 1);
    let checked = if statement.from_position <= statement.to_position
        && statement.to_position <= log_end
    {
        let range = RenderedRange::of(&s, statement.from_position, statement.to_position).await?;
        if range.root != statement.merkle_root {
            return Err(sync_problem(BatchRule::StatementMismatch {
                field: "merkle_root",
                expected: hex::encode(range.root),
                found: hex::encode(statement.merkle_root),
            }));
        }
        Some(range)
    } else {
        None
    };
    let r = s
        .workflows
        .seal_batch(
            &c.actor,
            SealBatch {
                statement: statement.clone(),
                key_id: input.key_id,
                signature,
            },
        )
        .await?;
    if let Some(range) = checked {
        range.remember_sealed(&s, &statement);
    }
    let mut resp = (
        StatusCode::CREATED,
        Json(ReceiptOut::new(sequence.to_string(), r)),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/sync/batches/{sequence}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

fn delivery(s: &AppState, b: &SealedBatch) -> DeliveryOut {
    DeliveryOut {
        state: s.workflows.delivery_state(b).as_str().to_owned(),
        sealed_on: b.sealed_on,
        delivered_on: b.delivered_on,
        acknowledgement_due: s.workflows.acknowledgement_due(b),
        acknowledgement: b.acknowledgement.as_ref().map(|a| AcknowledgementOut {
            receipt: a.receipt.clone(),
            account: a.account.clone(),
            on: a.on,
        }),
    }
}

fn summary(s: &AppState, b: &SealedBatch) -> BatchSummary {
    BatchSummary {
        sequence: b.statement.sequence,
        month: b.statement.month.to_string(),
        item_count: b.statement.item_count,
        statement_digest: hex::encode(b.statement_digest),
        delivery: delivery(s, b),
    }
}

/// A JSON answer with a strong `ETag` over its bytes; `If-None-Match` with
/// that tag is answered 304 with no body.
fn tagged<T: Serialize>(headers: &HeaderMap, body: &T) -> ApiResult<Response> {
    let bytes = serde_json::to_vec(body).map_err(|e| Problem::internal(&e))?;
    let tag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    if none_match(headers, &tag) {
        return not_modified(&tag);
    }
    with_tag(&tag, bytes)
}

/// Whether `If-None-Match` names `tag` (or `*`): the client holds the bytes.
fn none_match(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
}

fn not_modified(tag: &str) -> ApiResult<Response> {
    let etag = HeaderValue::from_str(tag).map_err(|e| Problem::internal(&e))?;
    Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response())
}

/// JSON `bytes` under the strong tag `tag`.
fn with_tag(tag: &str, bytes: Vec<u8>) -> ApiResult<Response> {
    let etag = HeaderValue::from_str(tag).map_err(|e| Problem::internal(&e))?;
    Ok((
        [
            (header::ETAG, etag),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The sealed batches after `after`, by sequence, a page at a time. The
/// national sync account, the system administrator and the director.
#[utoipa::path(get, path = "/api/v1/sync/batches", tag = "sync",
    params(FeedQuery, ("If-None-Match" = Option<String>, Header, description = "An ETag of this page")),
    responses((status = 200, body = FeedOut, headers(("ETag" = String, description = "Tag of this page's bytes"))),
              (status = 304, description = "Unchanged since the ETag given"),
              (status = 403, body = Problem, description = "Not a reader of the feed (urn:hoso:problem:sync:not-national-sync)")))]
pub async fn feed(
    State(s): State<Arc<AppState>>,
    c: Caller,
    headers: HeaderMap,
    Params(q): Params<FeedQuery>,
) -> ApiResult<Response> {
    feed_reader(&s, &c).await?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let after = q.after.unwrap_or(0);
    let batches = s.workflows.sealed_batches().await?;
    let mut page: Vec<BatchSummary> = batches
        .iter()
        .filter(|b| b.statement.sequence > after)
        .take(limit + 1)
        .map(|b| summary(&s, b))
        .collect();
    let next = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|b| b.sequence)
    } else {
        None
    };
    tagged(
        &headers,
        &FeedOut {
            batches: page,
            next,
        },
    )
}

fn parse_sequence(text: &str) -> ApiResult<u64> {
    text.parse::<u64>().map_err(|_| {
        Problem::bad_request(
            "invalid-path",
            "a batch is named by its sequence, a decimal number",
        )
    })
}

/// The items of a batch one page holds, from the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ItemPage {
    /// `items_after` as asked.
    after: Option<u64>,
    /// `items_limit` as asked, or the default.
    limit: u64,
    /// First item.
    first: u64,
    /// One past the last.
    end: u64,
    /// The next page's `items_after`.
    next: Option<u64>,
}

impl ItemPage {
    /// The page `q` asks of a batch of `count` items; a limit outside
    /// 1–[`MAX_ITEMS_LIMIT`] or an `items_after` naming no item before the
    /// batch's last is a 400 `request:invalid-query`.
    fn of(sequence: u64, count: u64, q: &BatchQuery) -> ApiResult<Self> {
        let limit = q.items_limit.unwrap_or(DEFAULT_ITEMS_LIMIT);
        if !(1..=MAX_ITEMS_LIMIT).contains(&limit) {
            return Err(Problem::bad_request(
                "invalid-query",
                format!("items_limit {limit}: from 1 to {MAX_ITEMS_LIMIT} items per page"),
            ));
        }
        let first = match q.items_after {
            None => 0,
            Some(after) if after.saturating_add(1) < count => after + 1,
            Some(after) => {
                return Err(Problem::bad_request(
                    "invalid-query",
                    format!(
                        "items_after {after}: batch {sequence} has {count} items, so no item follows it (items_after is the index of the last item received, below {})",
                        count.saturating_sub(1)
                    ),
                ));
            }
        };
        let end = first.saturating_add(limit).min(count);
        Ok(Self {
            after: q.items_after,
            limit,
            first,
            end,
            next: (end < count).then(|| end - 1),
        })
    }

    /// The page's strong `ETag`: the batch (its statement digest) and the
    /// page asked, so it is known before anything is rendered. The bytes
    /// it names never change: a sealed batch is never changed, documents
    /// are rendered deterministically and checked against the sealed root,
    /// and nothing that changes after sealing is in the page.
    fn tag(&self, statement_digest: &Hash) -> String {
        let mut h = Sha256::new();
        h.update(PAGE_TAG_CONTEXT);
        h.update([0]);
        h.update(statement_digest);
        h.update(self.first.to_be_bytes());
        h.update(self.limit.to_be_bytes());
        format!("\"{}\"", hex::encode(&h.finalize()[..16]))
    }
}

/// A page of one sealed batch: the statement and signature, and the page's
/// items, each with its document (rendered from the log now, never stored)
/// and its inclusion proof under the whole batch's root. The national sync
/// account served the page with the batch's last item (or an empty batch's
/// only page) records its delivery.
#[utoipa::path(get, path = "/api/v1/sync/batches/{sequence}", tag = "sync",
    params(("sequence" = u64, Path, description = "Batch sequence"),
           BatchQuery,
           ("If-None-Match" = Option<String>, Header, description = "The ETag of this page")),
    responses((status = 200, body = BatchOut, headers(("ETag" = String, description = "Strong tag of this page, from the statement digest and the page asked: the same page always has the same bytes"))),
              (status = 304, description = "The tag given is this page's (nothing is rendered)"),
              (status = 400, body = Problem, description = "items_limit outside 1–5000, or items_after not before the batch's last item (urn:hoso:problem:request:invalid-query)"),
              (status = 403, body = Problem, description = "Not a reader of the feed (urn:hoso:problem:sync:not-national-sync)"),
              (status = 404, body = Problem, description = "No such sealed batch (urn:hoso:problem:sync:unknown-batch)"),
              (status = 500, body = Problem, description = "The batch's documents no longer hash to its sealed Merkle root (urn:hoso:problem:sync:unverifiable-batch, naming the items)")))]
pub async fn batch(
    State(s): State<Arc<AppState>>,
    c: Caller,
    headers: HeaderMap,
    PathParams(sequence): PathParams<String>,
    Params(q): Params<BatchQuery>,
) -> ApiResult<Response> {
    feed_reader(&s, &c).await?;
    let sequence = parse_sequence(&sequence)?;
    let b = s
        .workflows
        .sealed_batch(sequence)
        .await?
        .ok_or_else(|| sync_problem(BatchRule::UnknownBatch(sequence)))?;
    let page = ItemPage::of(sequence, b.statement.item_count, &q)?;
    let tag = page.tag(&b.statement_digest);
    if none_match(&headers, &tag) {
        record_delivery(&s, &c, &b, &page).await;
        return not_modified(&tag);
    }
    let mut verified = s.sync_digests.get(sequence, &b.statement_digest);
    let mut fill = None;
    if verified.is_none() {
        // Another request may be filling it now: wait, then look again.
        fill = Some(s.sync_digests.filling().await);
        verified = s.sync_digests.get(sequence, &b.statement_digest);
    }
    let items = match verified {
        Some(verified) => {
            drop(fill);
            let opener = KeyringSealer(s.keyring.clone());
            serve_page(
                &s.read,
                s.workflows.profile(),
                &opener,
                &verified,
                page.first,
                page.end,
            )
            .map_err(|e| page_problem(&b, e))?
        }
        None => {
            let items = first_serving(&s, &b, &page).await;
            drop(fill);
            items?
        }
    };
    let signer_key = s
        .workflows
        .caller(&b.signer)
        .await?
        .and_then(|a| a.keys.get(&b.key_id).map(|k| hex::encode(&k.public_key)))
        .or_else(|| b.signer_public_key.as_ref().map(hex::encode));
    let st = &b.statement;
    let bytes = serde_json::to_vec(&BatchOut {
        statement: StatementJson::from(st),
        statement_digest: hex::encode(b.statement_digest),
        signature: hex::encode(&b.signature),
        key_id: b.key_id.clone(),
        public_key: signer_key,
        signer: b.signer.clone(),
        item_count: st.item_count,
        items_after: page.after,
        items_limit: page.limit,
        next_items_after: page.next,
        items,
    })
    .map_err(|e| Problem::internal(&e))?;
    record_delivery(&s, &c, &b, &page).await;
    with_tag(&tag, bytes)
}

/// The first serving of a batch since this node started (or since it left
/// the cache): every item rendered, the whole checked against the sealed
/// root, the verified digests kept, and the page asked answered from this
/// rendering.
async fn first_serving(s: &AppState, b: &SealedBatch, page: &ItemPage) -> ApiResult<Vec<ItemOut>> {
    let st = &b.statement;
    let rendered = render(s, st.from_position, st.to_position).await?;
    let digests = digests_of(&rendered)?;
    let positions = rendered.iter().map(|(p, _)| *p).collect();
    let verified = VerifiedBatch::verify(st, b.statement_digest, positions, digests)
        .map_err(|e| unverifiable(b, &rendered, &e))?;
    let verified = Arc::new(verified);
    s.sync_digests.insert(verified.clone());
    let proofs = (page.first..page.end)
        .map(|i| verified.proof(i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Problem::internal(&e))?;
    let (first, end) = (
        usize::try_from(page.first).map_err(|e| Problem::internal(&e))?,
        usize::try_from(page.end).map_err(|e| Problem::internal(&e))?,
    );
    let items = rendered
        .into_iter()
        .skip(first)
        .take(end - first)
        .map(|(_, r)| (r.item, r.document))
        .collect();
    items_out(items, proofs).map_err(|e| Problem::internal(&e))
}

/// Records the batch delivered when the national sync account was served
/// the page holding its last item (`Workflows::record_delivery`: once).
/// Not recording it does not withhold the page: the next serving of the
/// last page records it.
async fn record_delivery(s: &AppState, c: &Caller, b: &SealedBatch, page: &ItemPage) {
    if page.next.is_some()
        || c.account.kind != AccountKind::NationalSync
        || b.delivered_on.is_some()
        || b.acknowledgement.is_some()
    {
        return;
    }
    let sequence = b.statement.sequence;
    if let Err(e) = s.workflows.record_delivery(&c.actor, sequence).await {
        tracing::warn!(sequence, error = %e, "the delivery of a batch served whole was not recorded");
    }
}

/// A sealed batch that cannot be served verifiable (`sync:unverifiable-batch`).
///
/// The answer is a 500, not a 409: nothing the client sent conflicts with
/// anything and no request of its own can resolve it. The server cannot
/// reproduce what its director signed — a profile change of `[sync]
/// national_receives` or of the restriction levels after sealing, or a read
/// model out of step — and an operator must put the setting back. Unlike
/// other 500s, the problem says why and names the items, so the operator
/// knows where to look.
fn unverifiable_problem(b: &SealedBatch, detail: String) -> Problem {
    let sequence = b.statement.sequence;
    tracing::error!(sequence, %detail, "sealed batch no longer verifies");
    let mut p = Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "sync",
        "unverifiable-batch",
        detail,
    );
    p.stream = Some(hoso_sync::stream_name(sequence));
    p
}

/// The problem of a page of a verified batch that cannot be served.
fn page_problem(b: &SealedBatch, e: PageError) -> Problem {
    match e {
        PageError::Changed { .. } => unverifiable_problem(
            b,
            format!(
                "batch {}: {e}, rendered now, no longer hashes to the digest verified against the sealed Merkle root when the batch was first served; was the profile's [sync] national_receives or [restrictions] changed?",
                b.statement.sequence
            ),
        ),
        other => Problem::internal(&other),
    }
}

/// The problem of a batch whose items, rendered now, are not what was
/// sealed: the national database could not verify them.
fn unverifiable(b: &SealedBatch, rendered: &[(u64, Rendered)], e: &Unverified) -> Problem {
    let st = &b.statement;
    if !matches!(e, Unverified::Root { .. }) {
        return unverifiable_problem(b, e.to_string());
    }
    // The seal commits to the items' digests through the root alone, so
    // which document changed cannot be told from here; the items are named
    // (dossier and revision) so that the operator can render them again.
    let named: Vec<String> = rendered
        .iter()
        .enumerate()
        .take(NAMED_ITEMS)
        .map(|(i, (_, r))| {
            format!(
                "item {i} (dossier {}, revision {})",
                r.item.dossier, r.item.revision
            )
        })
        .chain(
            (rendered.len() > NAMED_ITEMS)
                .then(|| format!("{} more", rendered.len() - NAMED_ITEMS)),
        )
        .collect();
    unverifiable_problem(
        b,
        format!(
            "batch {}: the documents as rendered now do not hash to the sealed Merkle root, so at least one of its items no longer verifies ({}); was the profile's [sync] national_receives or [restrictions] changed after sealing?",
            st.sequence,
            named.join(", ")
        ),
    )
}

/// The national database acknowledges a batch with its receipt
/// (`sync.BatchAcknowledged`). Idempotent: the same receipt again answers
/// the first acknowledgement; another receipt is refused.
#[utoipa::path(post, path = "/api/v1/sync/batches/{sequence}/ack", tag = "sync",
    params(("sequence" = u64, Path, description = "Batch sequence")),
    request_body = AckIn,
    responses((status = 200, body = ReceiptOut, description = "Acknowledged (now or before, with this receipt); `id` is the batch sequence"),
              (status = 403, body = Problem, description = "Not the national sync account (urn:hoso:problem:sync:not-national-sync)"),
              (status = 404, body = Problem, description = "No such sealed batch (urn:hoso:problem:sync:unknown-batch)"),
              (status = 409, body = Problem, description = "Acknowledged with another receipt (urn:hoso:problem:sync:already-acknowledged)"),
              (status = 422, body = Problem, description = "A malformed receipt (urn:hoso:problem:sync:bad-receipt)")))]
pub async fn acknowledge(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(sequence): PathParams<String>,
    Body(input): Body<AckIn>,
) -> ApiResult<Json<ReceiptOut>> {
    let sequence = parse_sequence(&sequence)?;
    let r = s
        .workflows
        .acknowledge_batch(&c.actor, sequence, &input.receipt)
        .await?;
    Ok(Json(ReceiptOut::new(sequence.to_string(), r)))
}

/// Every sealed batch with its delivery state and due date.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncReport {
    /// Today, by the server's clock (what `overdue` is judged against).
    pub today: NaiveDate,
    /// The batches, by sequence.
    pub batches: Vec<BatchSummary>,
    /// Counts by delivery state.
    pub counts: BTreeMap<String, u64>,
}

/// The delivery report: each sealed batch, its state (sealed, delivered,
/// acknowledged; overdue when not acknowledged after `[sync]
/// ack_overdue_working_days`, delivered or not) and due date. The feed's
/// readers.
#[utoipa::path(get, path = "/api/v1/reports/sync", tag = "reports",
    responses((status = 200, body = SyncReport),
              (status = 403, body = Problem, description = "Not a reader of the feed (urn:hoso:problem:sync:not-national-sync)")))]
pub async fn report(State(s): State<Arc<AppState>>, c: Caller) -> ApiResult<Json<SyncReport>> {
    feed_reader(&s, &c).await?;
    let batches: Vec<BatchSummary> = s
        .workflows
        .sealed_batches()
        .await?
        .iter()
        .map(|b| summary(&s, b))
        .collect();
    let mut counts: BTreeMap<String, u64> = ["sealed", "delivered", "acknowledged", "overdue"]
        .into_iter()
        .map(|k| (k.to_owned(), 0))
        .collect();
    for b in &batches {
        *counts.entry(b.delivery.state.clone()).or_default() += 1;
    }
    Ok(Json(SyncReport {
        today: s.workflows.today(),
        batches,
        counts,
    }))
}

/// The feed's delivery gauges for `/metrics`.
pub async fn gauges(s: &AppState) -> Option<crate::metrics::SyncGauges> {
    let batches = s.workflows.sealed_batches().await.ok()?;
    let mut g = crate::metrics::SyncGauges {
        last_sealed: batches.last().map(|b| b.statement.sequence),
        ..Default::default()
    };
    for b in &batches {
        match s.workflows.delivery_state(b) {
            hoso_commands::workflows::DeliveryState::Sealed => g.sealed += 1,
            hoso_commands::workflows::DeliveryState::Delivered => g.delivered += 1,
            hoso_commands::workflows::DeliveryState::Acknowledged => g.acknowledged += 1,
            hoso_commands::workflows::DeliveryState::Overdue => g.overdue += 1,
        }
    }
    Some(g)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use hoso_sync::Month;

    fn statement() -> BatchStatement {
        BatchStatement {
            format: hoso_sync::STATEMENT_FORMAT.to_owned(),
            province: "binh-thuan".to_owned(),
            sequence: 2,
            month: Month::new(2026, 4).unwrap(),
            from_position: 120,
            to_position: 180,
            item_count: 3,
            merkle_root: [7; 32],
            previous_digest: [9; 32],
        }
    }

    #[test]
    fn a_statement_object_written_compactly_is_its_canonical_bytes() {
        let s = statement();
        let json = StatementJson::from(&s);
        assert_eq!(
            serde_json::to_vec(&json).unwrap(),
            s.canonical_bytes().unwrap()
        );
        assert_eq!(json.to_statement().unwrap(), s);
    }

    #[test]
    fn a_malformed_statement_is_refused_as_a_problem() {
        let mut json = StatementJson::from(&statement());
        json.month = "2026-13".to_owned();
        let p = json.to_statement().unwrap_err();
        assert_eq!(p.type_, "urn:hoso:problem:sync:bad-statement");
        let mut json = StatementJson::from(&statement());
        json.merkle_root = "zz".to_owned();
        assert_eq!(json.to_statement().unwrap_err().status, 400);
    }

    #[test]
    fn an_answer_is_not_modified_for_its_own_tag_strong_weak_or_listed() {
        let body = serde_json::json!({"batches": [], "next": null});
        let first = tagged(&HeaderMap::new(), &body).unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let ask = |value: String| {
            let mut h = HeaderMap::new();
            h.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(&value).unwrap(),
            );
            tagged(&h, &body).unwrap().status()
        };
        assert_eq!(ask(tag.clone()), StatusCode::NOT_MODIFIED);
        assert_eq!(ask(format!("W/{tag}")), StatusCode::NOT_MODIFIED);
        assert_eq!(ask(format!("\"other\", {tag}")), StatusCode::NOT_MODIFIED);
        assert_eq!(ask("\"other\"".to_owned()), StatusCode::OK);
        let changed = serde_json::json!({"batches": [], "next": 1});
        let again = tagged(&HeaderMap::new(), &changed).unwrap();
        assert_ne!(again.headers()[header::ETAG].to_str().unwrap(), tag);
    }

    #[test]
    fn a_batch_is_paged_by_the_index_of_the_last_item_received() {
        let q = |after, limit| BatchQuery {
            items_after: after,
            items_limit: limit,
        };
        let spans = |count, limit| {
            let mut after = None;
            let mut out = Vec::new();
            loop {
                let p = ItemPage::of(1, count, &q(after, limit)).unwrap();
                out.push((p.first, p.end));
                match p.next {
                    Some(n) => after = Some(n),
                    None => return out,
                }
            }
        };
        assert_eq!(spans(5, Some(2)), [(0, 2), (2, 4), (4, 5)]);
        assert_eq!(spans(4, Some(2)), [(0, 2), (2, 4)]);
        assert_eq!(spans(0, None), [(0, 0)]);
        assert_eq!(spans(3, None), [(0, 3)]);
        for (count, after, limit) in [
            (5, Some(4), None),
            (5, Some(9), None),
            (0, Some(0), None),
            (5, None, Some(0)),
            (5, None, Some(MAX_ITEMS_LIMIT + 1)),
        ] {
            let p = ItemPage::of(1, count, &q(after, limit)).unwrap_err();
            assert_eq!(p.status, 400, "{count} {after:?} {limit:?}");
            assert_eq!(p.type_, "urn:hoso:problem:request:invalid-query");
        }
    }

    #[test]
    fn a_page_tag_names_the_batch_and_the_page_asked() {
        let page = |after, limit| {
            ItemPage::of(
                1,
                10,
                &BatchQuery {
                    items_after: after,
                    items_limit: limit,
                },
            )
            .unwrap()
        };
        let tag = page(None, Some(4)).tag(&[1; 32]);
        assert_eq!(tag, page(None, Some(4)).tag(&[1; 32]));
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_ne!(tag, page(None, Some(4)).tag(&[2; 32]));
        assert_ne!(tag, page(Some(0), Some(4)).tag(&[1; 32]));
        assert_ne!(tag, page(None, Some(5)).tag(&[1; 32]));
    }
}

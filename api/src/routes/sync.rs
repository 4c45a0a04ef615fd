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
//!   sequence order, paged, with an `ETag`; one batch with its statement,
//!   signature and items, each item with its document and inclusion proof;
//!   and the acknowledgement with the national database's receipt.
//!
//! Documents are never stored: each is rendered from the read model (the
//! dossier folded up to its approval) when served, so identifiers stay
//! sealed at rest. Rendering is deterministic, so the same batch always
//! serves the same items and documents, byte for byte; before serving, the
//! rendered items are checked against the sealed Merkle root, and a batch
//! whose documents no longer hash to it is refused rather than served
//! unverifiable.

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

/// Batches per page of the feed when the caller names no limit.
const DEFAULT_LIMIT: usize = 50;
/// Most batches per page.
const MAX_LIMIT: usize = 500;
/// Items named in an `unverifiable-batch` problem.
const NAMED_ITEMS: usize = 10;

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
    /// `sealed`, `acknowledged` or `overdue`.
    pub state: String,
    /// Vietnam date of the seal.
    pub sealed_on: NaiveDate,
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

/// A sealed batch.
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
    /// Delivery.
    pub delivery: DeliveryOut,
    /// The items, in batch order.
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

/// The served form of a batch's items: each with its document and its
/// inclusion proof under the root of `digests` (the items' digests, in
/// order). Shared by the batch route and `hoso bench sync`.
pub fn items_out(
    items: Vec<(BatchItem, Vec<u8>)>,
    digests: &[Hash],
) -> Result<Vec<ItemOut>, BuildError> {
    if items.len() != digests.len() {
        return Err(BuildError::Document(format!(
            "{} items but {} digests",
            items.len(),
            digests.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for ((item, document), proof) in items.into_iter().zip(hoso_sync::inclusion_proofs(digests)) {
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
#[utoipa::path(get, path = "/api/v1/sync/batches/next", tag = "sync",
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
    if statement.from_position <= statement.to_position && statement.to_position <= log_end {
        let rendered = render(&s, statement.from_position, statement.to_position).await?;
        let items: Vec<BatchItem> = rendered.into_iter().map(|(_, r)| r.item).collect();
        let root = hoso_sync::merkle_root(&items).map_err(|e| Problem::internal(&e))?;
        if root != statement.merkle_root {
            return Err(sync_problem(BatchRule::StatementMismatch {
                field: "merkle_root",
                expected: hex::encode(root),
                found: hex::encode(statement.merkle_root),
            }));
        }
    }
    let r = s
        .workflows
        .seal_batch(
            &c.actor,
            SealBatch {
                statement,
                key_id: input.key_id,
                signature,
            },
        )
        .await?;
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
    let matched = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag);
    let etag = HeaderValue::from_str(&tag).map_err(|e| Problem::internal(&e))?;
    if matched {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
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

/// One sealed batch: the statement, the signature, and every item with its
/// document (rendered from the log now, never stored) and inclusion proof.
#[utoipa::path(get, path = "/api/v1/sync/batches/{sequence}", tag = "sync",
    params(("sequence" = u64, Path, description = "Batch sequence"),
           ("If-None-Match" = Option<String>, Header, description = "An ETag of this batch")),
    responses((status = 200, body = BatchOut, headers(("ETag" = String, description = "Tag of these bytes"))),
              (status = 304, description = "Unchanged since the ETag given"),
              (status = 403, body = Problem, description = "Not a reader of the feed (urn:hoso:problem:sync:not-national-sync)"),
              (status = 404, body = Problem, description = "No such sealed batch (urn:hoso:problem:sync:unknown-batch)"),
              (status = 500, body = Problem, description = "The batch's documents no longer hash to its sealed Merkle root (urn:hoso:problem:sync:unverifiable-batch, naming the item)")))]
pub async fn batch(
    State(s): State<Arc<AppState>>,
    c: Caller,
    headers: HeaderMap,
    PathParams(sequence): PathParams<String>,
) -> ApiResult<Response> {
    feed_reader(&s, &c).await?;
    let sequence = parse_sequence(&sequence)?;
    let b = s
        .workflows
        .sealed_batch(sequence)
        .await?
        .ok_or_else(|| sync_problem(BatchRule::UnknownBatch(sequence)))?;
    let st = &b.statement;
    let rendered = render(&s, st.from_position, st.to_position).await?;
    let items: Vec<&BatchItem> = rendered.iter().map(|(_, r)| &r.item).collect();
    let digests = items
        .iter()
        .map(|i| hoso_sync::item_digest(i))
        .collect::<Result<Vec<Hash>, _>>()
        .map_err(|e| Problem::internal(&e))?;
    check_sealed(&b, &rendered, &digests)?;
    let signer_key = s
        .workflows
        .caller(&b.signer)
        .await?
        .and_then(|a| a.keys.get(&b.key_id).map(|k| hex::encode(&k.public_key)))
        .or_else(|| b.signer_public_key.as_ref().map(hex::encode));
    let out_items = items_out(
        rendered
            .into_iter()
            .map(|(_, r)| (r.item, r.document))
            .collect(),
        &digests,
    )
    .map_err(|e| Problem::internal(&e))?;
    tagged(
        &headers,
        &BatchOut {
            statement: StatementJson::from(st),
            statement_digest: hex::encode(b.statement_digest),
            signature: hex::encode(&b.signature),
            key_id: b.key_id.clone(),
            public_key: signer_key,
            signer: b.signer.clone(),
            delivery: delivery(&s, &b),
            items: out_items,
        },
    )
}

/// Refuses to serve a sealed batch whose items, rendered now, do not give
/// its sealed Merkle root: the national database could not verify them.
///
/// The answer is a 500 (`sync:unverifiable-batch`), not a 409: nothing the
/// client sent conflicts with anything and no request of its own can
/// resolve it. The server cannot reproduce what its director signed — a
/// profile change of `[sync] national_receives` or of the restriction
/// levels after sealing, or a read model out of step — and an operator must
/// put the setting back. Unlike other 500s, the problem says why and names
/// the batch's items (the seal holds only their root, so which one changed
/// cannot be told), so the operator knows where to look.
fn check_sealed(b: &SealedBatch, rendered: &[(u64, Rendered)], digests: &[Hash]) -> ApiResult<()> {
    let st = &b.statement;
    let unverifiable = |detail: String| {
        tracing::error!(sequence = st.sequence, %detail, "sealed batch no longer verifies");
        let mut p = Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "sync",
            "unverifiable-batch",
            detail,
        );
        p.stream = Some(hoso_sync::stream_name(st.sequence));
        p
    };
    if rendered.len() as u64 != st.item_count {
        return Err(unverifiable(format!(
            "batch {} sealed {} items; the log now gives {}",
            st.sequence,
            st.item_count,
            rendered.len()
        )));
    }
    if hoso_sync::root_of_digests(digests) == st.merkle_root {
        return Ok(());
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
    Err(unverifiable(format!(
        "batch {}: the documents as rendered now do not hash to the sealed Merkle root, so at least one of its items no longer verifies ({}); was the profile's [sync] national_receives or [restrictions] changed after sealing?",
        st.sequence,
        named.join(", ")
    )))
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

/// The delivery report: each sealed batch, its state (sealed, acknowledged,
/// overdue after `[sync] ack_overdue_working_days`) and due date. The feed's
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
    let mut counts: BTreeMap<String, u64> = ["sealed", "acknowledged", "overdue"]
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
}

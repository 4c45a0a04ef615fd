//! The ledger's own evidence: the latest signed tree head, and inclusion and
//! consistency proofs against the Merkle tree over `$all` (RFC 9162), which a client
//! checks with `hoso_ledger::merkle::{verify_inclusion, verify_consistency}` or
//! `hoso verify-proof`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hoso_ledger::SignedTreeHead;
use hoso_ledger::tree::TreeError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::extract::{Caller, Params, PathParams};
use crate::problem::{ApiResult, Problem};

/// A signed tree head: the node's ed25519 signature over (size, root, time, key, reason).
/// The exact signed bytes are given in `docs/bundle-format.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TreeHeadOut {
    /// Leaves: the events of `$all` at positions `0..tree_size`.
    pub tree_size: u64,
    /// Merkle tree hash over them (64 lowercase hex).
    pub root: String,
    /// When it was signed (RFC 3339, microseconds, UTC).
    pub signed_at: String,
    /// The ledger key that signed it (16 lowercase hex).
    pub key_id: String,
    /// `interval`, `opened` or `shutdown`.
    pub reason: String,
    /// Ed25519 signature (128 lowercase hex).
    pub signature: String,
}

impl TreeHeadOut {
    /// The JSON form of a signed head (the same object as `tree-head.json`).
    pub fn of(head: &SignedTreeHead) -> Result<Self, Problem> {
        serde_json::to_value(head)
            .and_then(serde_json::from_value)
            .map_err(|e| Problem::internal(&e))
    }

    /// Back to the signed head, checking every field's form.
    pub fn to_signed(&self) -> Result<SignedTreeHead, serde_json::Error> {
        serde_json::to_value(self).and_then(serde_json::from_value)
    }
}

/// Where `tree_size` is omitted, the latest signed head's size is used.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// Global position of the event (its leaf index).
    pub position: u64,
    /// Size of the tree to prove against (default: the latest signed head's).
    pub tree_size: Option<u64>,
}

/// An inclusion proof (RFC 9162 §2.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionOut {
    /// Leaf index: the event's global position.
    pub leaf_index: u64,
    /// Size of the tree proved against.
    pub tree_size: u64,
    /// The event's chain hash (the leaf's content; 64 hex).
    pub event_hash: String,
    /// The root of that tree (64 hex), to compare with a signed head of that size.
    pub root: String,
    /// Sibling hashes from the leaf up (64 hex each).
    pub path: Vec<String>,
}

/// Both sizes are required.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size (≥ 1).
    pub from: u64,
    /// The newer tree size (≥ `from`).
    pub to: u64,
}

/// A consistency proof (RFC 9162 §2.1.4): the tree of `from_size` is a prefix of the
/// tree of `to_size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyOut {
    /// The older size.
    pub from_size: u64,
    /// The newer size.
    pub to_size: u64,
    /// Root of the older tree (64 hex).
    pub from_root: String,
    /// Root of the newer tree (64 hex).
    pub to_root: String,
    /// The proof's hashes (64 hex each).
    pub path: Vec<String>,
}

fn sealer(s: &AppState) -> Result<&Arc<hoso_ledger::sealer::Sealer>, Problem> {
    s.sealer.as_ref().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ledger",
            "no-tree",
            "this node keeps no Merkle tree over its log (a backend without dense positions)",
        )
    })
}

fn tree_problem(e: TreeError) -> Problem {
    match e {
        TreeError::Range(r) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ledger",
            "outside-tree",
            r.to_string(),
        ),
        TreeError::SizeBeyondTree { .. } => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ledger",
            "beyond-tree",
            e.to_string(),
        ),
        other => Problem::internal(&other),
    }
}

/// The latest signed tree head this node signed (or checked at open).
#[utoipa::path(get, path = "/api/v1/ledger/checkpoints/latest", tag = "ledger", security(()),
    responses((status = 200, body = TreeHeadOut), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn latest(State(s): State<Arc<AppState>>) -> ApiResult<Json<TreeHeadOut>> {
    let head = sealer(&s)?.latest().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "ledger",
            "no-tree-head",
            "no tree head has been signed yet",
        )
    })?;
    Ok(Json(TreeHeadOut::of(&head)?))
}

/// Proof that the event at `position` is in the tree of `tree_size` events.
#[utoipa::path(get, path = "/api/v1/ledger/proofs/inclusion", tag = "ledger", params(InclusionQuery),
    responses((status = 200, body = InclusionOut), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn inclusion(
    State(s): State<Arc<AppState>>,
    _caller: Caller,
    Params(q): Params<InclusionQuery>,
) -> ApiResult<Json<InclusionOut>> {
    let sealer = sealer(&s)?;
    let tree_size = match q.tree_size {
        Some(n) => n,
        None => sealer.latest().map(|h| h.head.tree_size).ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "ledger",
                "no-tree-head",
                "no tree head has been signed yet; give tree_size",
            )
        })?,
    };
    let tree = sealer.tree();
    let proof = tree
        .inclusion_proof(q.position, tree_size)
        .map_err(tree_problem)?;
    let event_hash = tree.leaf(q.position).map_err(tree_problem)?;
    let root = tree.root(tree_size).map_err(tree_problem)?;
    Ok(Json(InclusionOut {
        leaf_index: proof.leaf_index,
        tree_size: proof.tree_size,
        event_hash: hex::encode(event_hash),
        root: hex::encode(root),
        path: proof.path.iter().map(hex::encode).collect(),
    }))
}

/// Proof that the tree of `from` events is a prefix of the tree of `to` events.
#[utoipa::path(get, path = "/api/v1/ledger/proofs/consistency", tag = "ledger", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyOut), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn consistency(
    State(s): State<Arc<AppState>>,
    _caller: Caller,
    Params(q): Params<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyOut>> {
    let tree = sealer(&s)?.tree();
    let proof = tree.consistency_proof(q.from, q.to).map_err(tree_problem)?;
    Ok(Json(ConsistencyOut {
        from_size: proof.from_size,
        to_size: proof.to_size,
        from_root: hex::encode(tree.root(q.from).map_err(tree_problem)?),
        to_root: hex::encode(tree.root(q.to).map_err(tree_problem)?),
        path: proof.path.iter().map(hex::encode).collect(),
    }))
}

fn export_problem(e: hoso_bundle::ExportError) -> Problem {
    use hoso_bundle::ExportError as E;
    match e {
        E::DossierNotFound(_) | E::NotADossier(_) => Problem::not_found("dossier"),
        E::NotCovered { .. } => Problem::new(
            StatusCode::CONFLICT,
            "ledger",
            "not-yet-covered",
            "no signed tree head covers this dossier's events yet; the next one comes within the profile's checkpoint interval",
        ),
        other => Problem::internal(&other),
    }
}

/// The dossier's offline bundle: its events exactly as stored (sealed fields stay
/// ciphertext), the signers' key registrations, the attachment hashes it cites, an
/// inclusion proof per event against the latest signed tree head, and that head —
/// checked with `hoso verify-bundle FILE --ledger-key KEY` (format:
/// `docs/bundle-format.md`). For whoever may read the dossier's history (inspectors
/// within their inspection); every export is recorded in the audit trail.
#[utoipa::path(get, path = "/api/v1/dossiers/{id}/bundle", tag = "ledger",
    params(("id" = String, Path, description = "Dossier id (UUID)")),
    responses((status = 200, description = "The bundle (canonical JSON, docs/bundle-format.md)", content_type = "application/json"),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn bundle(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(Problem::bad_request("invalid-id", "a dossier id is a UUID"));
    }
    let Some(basis) = s.workflows.bundle_basis(&c.actor, &id).await? else {
        crate::routes::dossiers::refused(&s, &c, "GET /dossiers/{id}/bundle", &id);
        return Err(Problem::not_found("dossier"));
    };
    let sealer = sealer(&s)?;
    let head = sealer.latest().ok_or_else(|| {
        Problem::new(
            StatusCode::CONFLICT,
            "ledger",
            "not-yet-covered",
            "no tree head has been signed yet",
        )
    })?;
    let store = s.workflows.store();
    let bundle = hoso_bundle::export(
        store.as_ref(),
        sealer.tree(),
        &head,
        &format!("dossier-{id}"),
    )
    .await
    .map_err(export_problem)?;
    let bytes = bundle.to_bytes().map_err(|e| Problem::internal(&e))?;
    s.workflows
        .log_access(&c.actor, &id, Vec::new(), &basis, "bundle")
        .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                axum::http::HeaderValue::from_str(&format!(
                    "attachment; filename=\"dossier-{id}.bundle.json\""
                ))
                .map_err(|e| Problem::internal(&e))?,
            ),
        ],
        bytes,
    )
        .into_response())
}

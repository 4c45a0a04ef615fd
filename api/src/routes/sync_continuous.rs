//! Continuous delivery of the national sync feed (HY 13.6; `docs/sync-format.md`
//! §8): the server seals each batch itself with the province's connection key,
//! from a background task of `hoso serve` ([`seal_next`]), and publishes the
//! connection key's public key to the feed's readers (`GET /sync/keys`); the
//! feed falls behind `[sync] lag` visibly in `/metrics` ([`lag_gauges`]).
//!
//! The batch's documents are rendered here, as for the director's statement
//! (`sync::next`), so the sealed Merkle root is the one the feed serves.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use hoso_commands::workflows::{BatchRule, CONNECTION_SIGNER};
use hoso_domain::profile::SyncMode;
use serde::Serialize;
use utoipa::ToSchema;

use super::sync::{RenderedRange, agree, feed_reader, sync_problem};
use crate::AppState;
use crate::extract::Caller;
use crate::problem::{ApiResult, Problem};

/// The province's connection key, as published.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionKeyOut {
    /// Its id: the first 8 bytes of SHA-256 of the public key (16 hex); the
    /// `key_id` of every batch it seals.
    pub key_id: String,
    /// The ed25519 public key (64 hex).
    pub public_key: String,
    /// Always `ed25519`.
    pub algorithm: String,
    /// When the key was made.
    pub created_at: DateTime<Utc>,
    /// The `signer` of every batch it seals.
    pub signer: String,
}

/// The keys a consumer of the feed verifies with.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncKeysOut {
    /// `[sync] mode`: `monthly` (the director signs each batch) or
    /// `continuous` (the connection key signs each batch, the director each
    /// month's statement).
    pub mode: String,
    /// The province's connection key (HY 13.6), when this server holds one.
    pub connection: Option<ConnectionKeyOut>,
}

/// The province's connection key's public key and id (HY 13.6). The feed's
/// readers (the national sync account, the system administrator, the director).
#[utoipa::path(get, path = "/api/v1/sync/keys", tag = "sync",
    responses((status = 200, body = SyncKeysOut),
              (status = 403, body = Problem, description = "Not a reader of the feed (urn:hoso:problem:sync:not-national-sync)")))]
pub async fn keys(State(s): State<Arc<AppState>>, c: Caller) -> ApiResult<Json<SyncKeysOut>> {
    feed_reader(&s, &c).await?;
    let mode = match s.workflows.profile().sync().mode {
        SyncMode::Monthly => "monthly",
        SyncMode::Continuous => "continuous",
    };
    Ok(Json(SyncKeysOut {
        mode: mode.to_owned(),
        connection: s.connection_key.as_ref().map(|k| ConnectionKeyOut {
            key_id: k.key_id().to_string(),
            public_key: k.public_key_hex(),
            algorithm: "ed25519".to_owned(),
            created_at: k.created_at(),
            signer: CONNECTION_SIGNER.to_owned(),
        }),
    }))
}

/// A batch the server sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedNow {
    /// Its sequence.
    pub sequence: u64,
    /// Its item count.
    pub items: u64,
}

/// One round of the continuous sealer: in continuous mode, when approvals
/// were recorded since the last batch, renders their documents and seals
/// the batch up to the log's end with the connection key. `None` when there
/// is nothing to seal (or monthly mode). A batch sealed meanwhile by another
/// round is `sync:already-sealed`; the next round seals what follows it.
pub async fn seal_next(s: &AppState) -> ApiResult<Option<SealedNow>> {
    if s.workflows.profile().sync().mode != SyncMode::Continuous {
        return Ok(None);
    }
    let key = s
        .connection_key
        .as_ref()
        .ok_or_else(|| Problem::internal(&"continuous mode without a connection key"))?;
    let range = s.workflows.batch_range().await?;
    if range.approvals.is_empty() {
        return Ok(None);
    }
    let rendered = RenderedRange::of(s, range.from_position, range.to_position).await?;
    agree(&range.approvals, &rendered.rendered)?;
    let statement = range.statement(rendered.root);
    s.workflows.seal_continuous(key, statement.clone()).await?;
    rendered.remember_sealed(s, &statement);
    Ok(Some(SealedNow {
        sequence: statement.sequence,
        items: statement.item_count,
    }))
}

/// `/metrics` gauges of continuous mode: the age of the oldest approval not
/// yet in a sealed batch, and whether it is past `[sync] lag` (so an operator
/// sees the sealer fall behind). `None` in monthly mode.
pub async fn lag_gauges(s: &AppState) -> Option<String> {
    let lag = s.workflows.sync_lag().await.ok()??;
    let age = lag
        .oldest_unsealed
        .map_or(0, |at| (s.now() - at).num_seconds().max(0));
    let mut out = String::new();
    out.push_str("# HELP hoso_sync_oldest_unsealed_approval_seconds Continuous mode: age of the oldest approval not yet in a sealed batch (0: none).\n");
    out.push_str("# TYPE hoso_sync_oldest_unsealed_approval_seconds gauge\n");
    let _ = writeln!(out, "hoso_sync_oldest_unsealed_approval_seconds {age}");
    out.push_str(
        "# HELP hoso_sync_lag_breached Continuous mode: 1 when that approval is past [sync] lag.\n",
    );
    out.push_str("# TYPE hoso_sync_lag_breached gauge\n");
    let _ = writeln!(out, "hoso_sync_lag_breached {}", u8::from(lag.breached));
    Some(out)
}

/// Refuses the director's seal in continuous mode before any document is
/// rendered for it ([`BatchRule::SealedByConnection`]).
pub(crate) fn refuse_director_seal(s: &AppState) -> ApiResult<()> {
    if s.workflows.profile().sync().mode == SyncMode::Continuous {
        return Err(sync_problem(BatchRule::SealedByConnection));
    }
    Ok(())
}

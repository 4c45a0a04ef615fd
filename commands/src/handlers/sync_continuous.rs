//! Continuous delivery of the national sync feed (issue 15; HY 13.6, Decree
//! 27/2026/NĐ-CP): in `[sync] mode = "continuous"` the server seals the
//! batches itself, signed with the province's connection key
//! ([`crate::connection_key`]), while the Sở Nội vụ director signs each
//! month's statement over them (`sync_months`).
//!
//! **The seal.** [`Workflows::seal_continuous`] takes the statement the read
//! side built for the next batch (the Merkle root is over the documents it
//! rendered, which only the read side can do) and checks it against the log
//! as the director's seal is checked: the next sequence, a cut at or before
//! the log's end, the approvals of `[from_position, to_position)`, the
//! previous digest. A batch holds at least one approval. The event is the
//! same `sync.MonthlyBatchSealed` the director's seal appends, with:
//! `signer` = [`CONNECTION_SIGNER`] (no account has that id: account ids are
//! UUIDs), `director_key_id` = the connection key's id (16 hex digits),
//! `signer_public_key` = its 32-byte public key, `signature` = ed25519 by the
//! connection key over the statement digest.
//!
//! **The lag.** A continuous batch must be sealed within `[sync] lag` of the
//! approval it carries being recorded. [`Workflows::sync_lag`] says how old
//! the oldest approval not yet in a sealed batch is and whether it is past
//! its due day, for `/metrics`.

use chrono::{DateTime, NaiveDate, Utc};
use hoso_domain::calendar::date_in_vietnam;
use hoso_domain::profile::SyncMode;
use hoso_ledger::ExpectedRevision;
use hoso_schemas::pb::sync::MonthlyBatchSealed;
use hoso_sync::BatchStatement;

use super::sync::{BatchRange, BatchRule, compare, mismatch};
use crate::connection_key::ConnectionKey;
use crate::error::{CommandError, Result};
use crate::workflows::{Receipt, Workflows};

/// The `signer` of a batch the server sealed with the connection key: a
/// system actor, not an account.
pub const CONNECTION_SIGNER: &str = "province-connection";

/// How far behind the continuous feed is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLag {
    /// When the oldest approval not yet in a sealed batch was recorded
    /// (`None`: every approval is sealed).
    pub oldest_unsealed: Option<DateTime<Utc>>,
    /// The last day it may be sealed on (`[sync] lag` after its day).
    pub due: Option<NaiveDate>,
    /// Whether today is past `due`.
    pub breached: bool,
}

impl Workflows {
    /// The server seals the next continuous batch with the connection key:
    /// `statement` must be the log's next batch cut at or before the log's
    /// end, with at least one approval; its Merkle root is the caller's (the
    /// read side's, over the documents it rendered). Refused outside
    /// continuous mode ([`BatchRule::NotContinuous`]).
    pub async fn seal_continuous(
        &self,
        key: &ConnectionKey,
        statement: BatchStatement,
    ) -> Result<Receipt> {
        if self.profile.sync().mode != SyncMode::Continuous {
            return Err(BatchRule::NotContinuous.into());
        }
        statement.check().map_err(BatchRule::BadStatement)?;
        let range = self.batch_range().await?;
        if statement.sequence < range.sequence {
            return Err(BatchRule::AlreadySealed {
                sequence: statement.sequence,
                month: statement.month.to_string(),
            }
            .into());
        }
        if statement.sequence != range.sequence {
            return Err(BatchRule::NotNextBatch {
                expected: range.sequence,
                found: statement.sequence,
            }
            .into());
        }
        if statement.to_position > range.to_position {
            return Err(mismatch(
                "to_position",
                range.to_position,
                statement.to_position,
            ));
        }
        let expected = BatchRange {
            to_position: statement.to_position,
            approvals: self
                .batch_approvals(range.from_position, statement.to_position)
                .await?,
            ..range
        };
        if expected.approvals.is_empty() {
            return Err(BatchRule::NothingToSeal.into());
        }
        compare(&expected.statement(statement.merkle_root), &statement)?;
        let digest = statement.digest().map_err(BatchRule::BadStatement)?;
        let event = MonthlyBatchSealed {
            month: statement.month.to_string(),
            item_count: statement.item_count,
            merkle_root: statement.merkle_root.to_vec(),
            director_key_id: key.key_id().to_string(),
            signature: key.sign(&digest).to_vec(),
            sequence: statement.sequence,
            from_position: statement.from_position,
            to_position: statement.to_position,
            previous_digest: statement.previous_digest.to_vec(),
            statement_digest: digest.to_vec(),
            signer: CONNECTION_SIGNER.to_owned(),
            province: statement.province.clone(),
            format: statement.format.clone(),
            signer_public_key: key.public_key().as_bytes().to_vec(),
        };
        let stream = hoso_sync::stream_name(statement.sequence);
        match self
            .append(
                CONNECTION_SIGNER,
                &stream,
                ExpectedRevision::NoStream,
                vec![event.into()],
                None,
                None,
            )
            .await
        {
            Err(CommandError::Conflict { .. }) => Err(BatchRule::AlreadySealed {
                sequence: statement.sequence,
                month: statement.month.to_string(),
            }
            .into()),
            other => other,
        }
    }

    /// Continuous mode: how old the oldest approval not yet sealed is, and
    /// whether it is past `[sync] lag` (`None` in monthly mode or without a
    /// lag, where the window is the month's).
    pub async fn sync_lag(&self) -> Result<Option<SyncLag>> {
        let rule = self.profile.sync();
        let (SyncMode::Continuous, Some(lag)) = (rule.mode, rule.lag) else {
            return Ok(None);
        };
        let range = self.batch_range().await?;
        let Some(first) = range.approvals.first() else {
            return Ok(Some(SyncLag {
                oldest_unsealed: None,
                due: None,
                breached: false,
            }));
        };
        let recorded = self.store.read_all(first.position, 1).await?;
        let Some(at) = recorded.first().map(|e| e.recorded_at) else {
            return Ok(None);
        };
        let due = lag.due(date_in_vietnam(at), &self.calendar);
        Ok(Some(SyncLag {
            oldest_unsealed: Some(at),
            due: Some(due),
            breached: self.today() > due,
        }))
    }
}

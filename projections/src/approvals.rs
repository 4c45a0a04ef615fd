//! The approvals feed: every `dossier.ApprovalSigned` in log order, and a
//! dossier exactly as it stood when an approval signed it.
//!
//! The national sync feed sends approved revisions only (issue 15): an
//! unapproved change stays out until a later approval brings it in. This
//! module is where the batches are cut from. [`ReadModel::approvals_between`]
//! lists the approvals recorded in a range of `$all` positions, and
//! [`ReadModel::dossier_as_approved`] folds the dossier's history up to and
//! including the approval event, so the view holds the sections that
//! approval brought into force and nothing declared after it.

use chrono::{DateTime, Utc};
use hoso_ledger::Hash;
use rusqlite::OptionalExtension;

use crate::views::DossierView;
use crate::{ProjectionError, ReadModel};

/// One signed approval of a dossier revision, as the log recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Position of the `dossier.ApprovalSigned` event in `$all`.
    pub position: u64,
    /// The dossier.
    pub dossier_id: String,
    /// Revision of the approval event itself in the dossier's stream.
    pub event_revision: u64,
    /// The revision the head signed (the approval event's predecessor).
    pub approved_revision: u64,
    /// The chain hash of the dossier's stream at `approved_revision`, as
    /// signed.
    pub stream_hash: Hash,
    /// Account that signed.
    pub signer: String,
    /// Head whose power the signer used, when signing by delegation.
    pub delegated_from: Option<String>,
    /// Signing key id.
    pub key_id: String,
    /// When the approval was recorded.
    pub recorded_at: DateTime<Utc>,
}

const COLUMNS: &str = "position, dossier_id, event_revision, approved_revision, stream_hash,
                       signer, delegated_from, key_id, recorded_at";

fn approval_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Approval> {
    let u = |i: usize| -> rusqlite::Result<u64> {
        let v: i64 = r.get(i)?;
        u64::try_from(v).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Integer, e.into())
        })
    };
    let hash: Vec<u8> = r.get(4)?;
    let stream_hash = Hash::try_from(hash.as_slice()).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Blob, e.into())
    })?;
    let at: i64 = r.get(8)?;
    let recorded_at = DateTime::from_timestamp_micros(at).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            8,
            rusqlite::types::Type::Integer,
            format!("recorded_at {at} out of range").into(),
        )
    })?;
    Ok(Approval {
        position: u(0)?,
        dossier_id: r.get(1)?,
        event_revision: u(2)?,
        approved_revision: u(3)?,
        stream_hash,
        signer: r.get(5)?,
        delegated_from: r.get(6)?,
        key_id: r.get(7)?,
        recorded_at,
    })
}

fn sql_position(p: u64) -> i64 {
    i64::try_from(p).unwrap_or(i64::MAX)
}

impl ReadModel {
    /// The approvals recorded after `from_exclusive` (from the start of the
    /// log when `None`) up to and including `to_inclusive`, in log order.
    /// Only what the read model has applied is listed: wait for
    /// `to_inclusive` first to cut a range that is complete.
    pub fn approvals_between(
        &self,
        from_exclusive: Option<u64>,
        to_inclusive: u64,
    ) -> Result<Vec<Approval>, ProjectionError> {
        let from = from_exclusive.map_or(-1, sql_position);
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM approvals
                 WHERE position > ?1 AND position <= ?2 ORDER BY position"
            ))?;
            let rows = stmt
                .query_map([from, sql_position(to_inclusive)], approval_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The approval that signed `approved_revision` of a dossier, if any.
    pub fn approval_of(
        &self,
        dossier_id: &str,
        approved_revision: u64,
    ) -> Result<Option<Approval>, ProjectionError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM approvals
                 WHERE dossier_id = ?1 AND approved_revision = ?2 ORDER BY position LIMIT 1"
            ))?;
            Ok(stmt
                .query_row(
                    rusqlite::params![dossier_id, sql_position(approved_revision)],
                    approval_row,
                )
                .optional()?)
        })
    }

    /// The dossier exactly as `approval` left it: its history folded up to
    /// and including the approval event, every recorded decision applied
    /// whatever its effective date (the view does not depend on the day it
    /// is asked). `None` if the read model holds no such dossier; an error
    /// if the event at that revision is not this approval.
    pub fn dossier_as_approved(
        &self,
        approval: &Approval,
    ) -> Result<Option<DossierView>, ProjectionError> {
        let Some(view) = self.dossier_at_revision(&approval.dossier_id, approval.event_revision)?
        else {
            return Ok(None);
        };
        let signed = view.approvals.last().is_some_and(|a| {
            a.revision == approval.approved_revision && a.signer == approval.signer
        });
        if view.revision != approval.event_revision || !signed {
            return Err(ProjectionError::Corrupt(format!(
                "dossier {} revision {} is not the approval of revision {} the approvals table names",
                approval.dossier_id, approval.event_revision, approval.approved_revision
            )));
        }
        Ok(Some(view))
    }
}

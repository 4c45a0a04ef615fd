//! Transfers between agencies (DL 10.2) and where each stands, so that the
//! receiving agency can list the dossiers sent to it and waiting for its
//! answer (accept, forward, reject: KT 11.2) without reading every stream.
//!
//! The commands' index keeps no transfers (a dossier in transit is found by
//! reading its stream when it is asked for by id); this table is the list.

use hoso_schemas::DomainEvent;
use hoso_schemas::Spelling;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::TransferKind;
use rusqlite::{Transaction, params};
use serde::Serialize;

use crate::dates::pb_date_text;
use crate::{ProjectionError, ReadModel};

/// A transfer not yet answered by the receiving agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingTransfer {
    /// The transfer's id (what accepting, forwarding and rejecting name).
    pub transfer_id: String,
    /// The dossier sent.
    pub dossier_id: String,
    /// The person's name.
    pub full_name: String,
    /// Personnel category, e.g. `cong_chuc`.
    pub category: String,
    /// `reassignment`, `rotation`, `secondment` or `transfer`.
    pub kind: String,
    /// The sending agency.
    pub from_unit: String,
    /// The receiving agency.
    pub to_unit: String,
    /// Effective date of the decision.
    pub effective: Option<String>,
    /// The decision's number.
    pub decision_number: Option<String>,
    /// The decision's date.
    pub decision_date: Option<String>,
    /// The decision's issuer.
    pub decision_issuer: Option<String>,
    /// When it was sent (RFC 3339).
    pub initiated_at: String,
}

/// Records what a transfer event changes (others are ignored).
pub(crate) fn apply(
    tx: &Transaction<'_>,
    dossier_id: &str,
    recorded_at: i64,
    event: &DomainEvent,
) -> Result<(), ProjectionError> {
    use DomainEvent as E;
    let (transfer_id, state) = match event {
        E::TransferInitiated(t) => {
            let doc = t.decision.as_ref();
            tx.prepare_cached(
                "INSERT OR REPLACE INTO transfers (transfer_id, dossier_id, kind, from_unit, to_unit,
                     effective, doc_number, doc_date, doc_issuer, initiated_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending')",
            )?
            .execute(params![
                t.transfer_id,
                dossier_id,
                t.kind,
                t.from_org_code,
                t.to_org_code,
                t.effective.as_ref().and_then(pb_date_text),
                doc.map(|d| d.number.as_str()),
                doc.and_then(|d| d.date.as_ref()).and_then(pb_date_text),
                doc.map(|d| d.issuer.as_str()),
                recorded_at
            ])?;
            return Ok(());
        }
        E::TransferAccepted(t) => (&t.transfer_id, "accepted"),
        E::TransferRejected(t) => (&t.transfer_id, "rejected"),
        E::TransferForwarded(t) => (&t.transfer_id, "forwarded"),
        _ => return Ok(()),
    };
    tx.prepare_cached("UPDATE transfers SET state = ?2 WHERE transfer_id = ?1")?
        .execute(params![transfer_id, state])?;
    Ok(())
}

impl ReadModel {
    /// Transfers waiting for an answer whose receiving agency is one of
    /// `units` (any, for `None`), oldest first.
    pub fn pending_transfers(
        &self,
        units: Option<&[String]>,
    ) -> Result<Vec<PendingTransfer>, ProjectionError> {
        let units: Option<std::collections::HashSet<&str>> =
            units.map(|u| u.iter().map(String::as_str).collect());
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT t.transfer_id, t.dossier_id, d.full_name, d.category, t.kind, t.from_unit,
                        t.to_unit, t.effective, t.doc_number, t.doc_date, t.doc_issuer, t.initiated_at
                 FROM transfers t JOIN dossiers d ON d.id = t.dossier_id
                 WHERE t.state = 'pending'
                 ORDER BY t.initiated_at, t.transfer_id",
            )?;
            let rows = stmt.query_map([], |r| {
                let at: i64 = r.get(11)?;
                Ok(PendingTransfer {
                    transfer_id: r.get(0)?,
                    dossier_id: r.get(1)?,
                    full_name: r.get(2)?,
                    category: PersonnelCategory::spelling_of(r.get(3)?),
                    kind: TransferKind::spelling_of(r.get(4)?),
                    from_unit: r.get(5)?,
                    to_unit: r.get(6)?,
                    effective: r.get(7)?,
                    decision_number: r.get(8)?,
                    decision_date: r.get(9)?,
                    decision_issuer: r.get(10)?,
                    initiated_at: chrono::DateTime::from_timestamp_micros(at)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default(),
                })
            })?;
            let mut out = Vec::new();
            for row in rows {
                let t = row?;
                if units.as_ref().is_none_or(|u| u.contains(t.to_unit.as_str())) {
                    out.push(t);
                }
            }
            Ok(out)
        })
    }
}

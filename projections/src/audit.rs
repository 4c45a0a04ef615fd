//! The audit trail: every change to an account, unit or dossier (dossier
//! changes come from their history rows, the rest from the audit table) (and, once the API
//! records them, every read of restricted data) with its actor, time
//! and detail, newest last, filtered by actor or dossier; and the reads of
//! one dossier, newest first, for the person it is about (who read my
//! dossier, under which right or consent).

use serde::{Deserialize, Serialize};

use crate::{ProjectionError, ReadModel};

/// Filter of the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this actor's entries.
    pub actor: Option<String>,
    /// Only entries about this dossier.
    pub dossier_id: Option<String>,
    /// Only entries after this position (the previous page's last).
    pub after: Option<u64>,
    /// Page size (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Global position of the event.
    pub position: u64,
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
    /// Account that acted.
    pub actor: String,
    /// Stream written.
    pub stream: String,
    /// Event type.
    pub event_type: String,
    /// Dossier concerned, if any.
    pub dossier_id: Option<String>,
    /// What changed (the diff) or, for reads, which fields and why.
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub detail: serde_json::Value,
}

impl ReadModel {
    /// A page of the audit trail in position order.
    pub fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, ProjectionError> {
        let limit = i64::try_from(q.limit.unwrap_or(100).clamp(1, 1_000)).unwrap_or(100);
        let after = q.after.map_or(-1, |a| i64::try_from(a).unwrap_or(i64::MAX));
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT position, recorded_at, actor, stream, type, dossier_id, detail FROM (
                     SELECT position, recorded_at, actor, 'dossier-' || dossier_id AS stream, type,
                            dossier_id, diff AS detail
                     FROM history
                     WHERE (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR dossier_id = ?3)
                     UNION ALL
                     SELECT position, recorded_at, actor, stream, type, dossier_id, detail FROM audit
                     WHERE (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR dossier_id = ?3))
                 WHERE position > ?1
                 ORDER BY position LIMIT ?4",
            )?;
            let rows = stmt
                .query_map(
                    rusqlite::params![after, q.actor, q.dossier_id, limit],
                    |r| {
                        let detail: String = r.get(6)?;
                        Ok(AuditEntry {
                            position: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                            recorded_at: crate::dates::micros_text(r.get(1)?),
                            actor: r.get(2)?,
                            stream: r.get(3)?,
                            event_type: r.get(4)?,
                            dossier_id: r.get(5)?,
                            detail: serde_json::from_str(&detail)
                                .unwrap_or(serde_json::Value::Null),
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

/// One read of a dossier the API recorded (a `dossier.AccessLogged` event,
/// kept on the reader's account stream): what its holder sees of who read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierRead {
    /// Global position of the event (the cursor of the next page).
    pub position: u64,
    /// When it was read (RFC 3339).
    pub recorded_at: String,
    /// The reader's account.
    pub reader: String,
    /// The ground of the read, as recorded: `own-data`, `right:<right>`,
    /// `consent:<id>`, `delegation:<id>` or `inspection:<id>`.
    pub basis: String,
    /// The purpose the reader declared (may be empty).
    pub purpose: String,
    /// The restricted fields opened (`attachment/<address>` for a
    /// document); empty for an inspector's read of general data.
    pub fields: Vec<String>,
}

impl ReadModel {
    /// The reads recorded of `dossier_id`, newest first: at most `limit`
    /// (default 100, at most 1,000) before position `before`.
    pub fn reads_of(
        &self,
        dossier_id: &str,
        before: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Vec<DossierRead>, ProjectionError> {
        let limit = i64::try_from(limit.unwrap_or(100).clamp(1, 1_000)).unwrap_or(100);
        let before = before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX));
        let read_type =
            hoso_schemas::DomainEvent::from(hoso_schemas::pb::dossier::AccessLogged::default())
                .type_name();
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT position, recorded_at, actor, detail FROM audit
                 WHERE dossier_id = ?1 AND type = ?2 AND position < ?3
                 ORDER BY position DESC LIMIT ?4",
            )?;
            let rows = stmt
                .query_map(
                    rusqlite::params![dossier_id, read_type, before, limit],
                    |r| {
                        let detail: String = r.get(3)?;
                        let detail: serde_json::Value =
                            serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null);
                        let text = |k: &str| detail[k].as_str().unwrap_or("").to_owned();
                        Ok(DossierRead {
                            position: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                            recorded_at: crate::dates::micros_text(r.get(1)?),
                            reader: r.get(2)?,
                            basis: text("basis"),
                            purpose: text("purpose"),
                            fields: detail["fields"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|f| f.as_str().map(str::to_owned))
                                .collect(),
                        })
                    },
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

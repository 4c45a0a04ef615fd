//! The audit trail: every change to an account, unit or dossier (dossier
//! changes come from their history rows, the rest from the audit table) (and, once the API
//! records them, every read of restricted data) with its actor, time
//! and detail, newest last, filtered by actor or dossier.

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

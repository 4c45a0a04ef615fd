//! The decision or document an event rests on. It lives here, below both the
//! ledger (whose envelope stores it) and the domain (whose rules demand it), so
//! neither has to depend on the other for it.

use chrono::NaiveDate;

/// The decision or document an event rests on (số, ngày, cơ quan ban hành, bản số hóa).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceDocument {
    /// Document number, e.g. `125/QĐ-UBND`.
    pub number: String,
    /// Date the document was signed.
    pub date: NaiveDate,
    /// Issuing body.
    pub issuer: String,
    /// SHA-256 of the digitised copy, stored content-addressed outside the log.
    pub attachment_sha256: Option<[u8; 32]>,
}

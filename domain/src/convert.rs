//! Conversions between the catalogue's wire types and the domain's: dates
//! and decision references. One place, so every aggregate reads a partial
//! or impossible date the same way (as absent).

use chrono::{Datelike, NaiveDate};
use hoso_schemas::SourceDocument;
use hoso_schemas::pb::common;

/// A catalogue date as a calendar date; `None` when absent, partial
/// (month or day 0) or impossible.
pub(crate) fn from_pb_date(d: Option<&common::Date>) -> Option<NaiveDate> {
    let d = d?;
    NaiveDate::from_ymd_opt(i32::try_from(d.year).ok()?, d.month, d.day)
}

/// A calendar date for the catalogue.
pub(crate) fn to_pb_date(d: NaiveDate) -> common::Date {
    common::Date {
        // Decisions are never dated before year 1; 0 marks the impossible.
        year: u32::try_from(d.year()).unwrap_or(0),
        month: d.month(),
        day: d.day(),
    }
}

/// A decision document for the catalogue.
pub(crate) fn to_decision_ref(doc: &SourceDocument) -> common::DecisionRef {
    common::DecisionRef {
        number: doc.number.clone(),
        date: Some(to_pb_date(doc.date)),
        issuer: doc.issuer.clone(),
        attachment_sha256: doc
            .attachment_sha256
            .map(|h| h.to_vec())
            .unwrap_or_default(),
    }
}

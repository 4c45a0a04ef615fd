//! What the deciders' given/when/then tests share: dates, and the protobuf shapes the
//! expected events carry. Written out here rather than borrowed from the crate, so an
//! expectation never comes from the code it checks.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{Datelike, NaiveDate};
use hoso_schemas::SourceDocument;
use hoso_schemas::pb::common;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A date as events carry it.
pub fn pd(date: NaiveDate) -> common::Date {
    common::Date {
        year: u32::try_from(date.year()).unwrap(),
        month: date.month(),
        day: date.day(),
    }
}

/// A document as events cite it.
pub fn decision_ref(doc: &SourceDocument) -> common::DecisionRef {
    common::DecisionRef {
        number: doc.number.clone(),
        date: Some(pd(doc.date)),
        issuer: doc.issuer.clone(),
        attachment_sha256: doc
            .attachment_sha256
            .map(|h| h.to_vec())
            .unwrap_or_default(),
    }
}

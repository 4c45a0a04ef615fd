//! Dates as the read model writes them: ISO `YYYY-MM-DD` text, which sorts
//! and compares correctly in SQL.

use chrono::NaiveDate;
use hoso_schemas::pb::common::Date;

/// A calendar date as ISO text.
pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A catalogue date as ISO text; `None` for an absent or impossible date.
/// A partial date (month or day 0, from old paper forms) takes the first
/// month or day, so it sorts at the start of its period.
pub(crate) fn pb_date_text(d: &Date) -> Option<String> {
    let date = NaiveDate::from_ymd_opt(i32::try_from(d.year).ok()?, d.month.max(1), d.day.max(1))?;
    Some(date_text(date))
}

/// Parses ISO text written by [`date_text`].
pub(crate) fn parse(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

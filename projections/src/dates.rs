//! Dates as the read model writes them: ISO `YYYY-MM-DD` text, which sorts
//! and compares correctly in SQL.

use chrono::NaiveDate;
use hoso_schemas::pb::common::Date;

/// A calendar date as ISO text.
pub(crate) fn date_text(d: NaiveDate) -> String {
    // Written by hand: this runs for most events of a rebuild, and chrono's
    // format strings are parsed on every call.
    use chrono::Datelike;
    let mut s = String::with_capacity(10);
    let (y, m, day) = (d.year(), d.month(), d.day());
    let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{y:04}-{m:02}-{day:02}"));
    s
}

/// Microseconds since the Unix epoch as RFC 3339 text (how recorded times
/// are stored, and how the API shows them).
pub(crate) fn micros_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
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

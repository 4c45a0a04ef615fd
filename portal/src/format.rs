//! Dates and names as Vietnamese readers expect them: `dd/mm/yyyy`, times in
//! Vietnam's time zone, and people ordered by given name (the last word of the
//! full name), then by the rest, without regard to diacritics.

use chrono::{DateTime, FixedOffset, NaiveDate};
use hoso_domain::text::fold;

/// `2026-01-05` → `05/01/2026`; anything else is shown as it is.
pub(crate) fn date(iso: &str) -> String {
    match NaiveDate::parse_from_str(iso.get(..10).unwrap_or(iso), "%Y-%m-%d") {
        Ok(d) if iso.len() == 10 => d.format("%d/%m/%Y").to_string(),
        _ => time(iso),
    }
}

/// An RFC 3339 instant → `05/01/2026 14:03` in Vietnam (UTC+7).
pub(crate) fn time(rfc3339: &str) -> String {
    let vietnam = FixedOffset::east_opt(7 * 3600);
    match (DateTime::parse_from_rfc3339(rfc3339), vietnam) {
        (Ok(t), Some(tz)) => t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string(),
        _ => rfc3339.to_owned(),
    }
}

/// `05/01/2026` → `2026-01-05`, for a form field typed the Vietnamese way; an
/// ISO date passes unchanged.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y-%m-%d"))
        .ok()
}

/// The key people are listed by: given name, then family and middle names,
/// each folded (`Nguyễn Văn Đức` sorts as `duc`, `nguyen van`).
pub(crate) fn name_key(full_name: &str) -> (String, String) {
    let folded = fold(&full_name.to_lowercase());
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    let given = words.pop().unwrap_or("").to_owned();
    (given, words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_day_first() {
        assert_eq!(date("2026-01-05"), "05/01/2026");
        assert_eq!(date("2026-01-05T00:30:00Z"), "05/01/2026 07:30");
        assert_eq!(date("không rõ"), "không rõ");
        assert_eq!(
            parse_date("05/01/2026"),
            NaiveDate::from_ymd_opt(2026, 1, 5)
        );
        assert_eq!(
            parse_date("2026-01-05"),
            NaiveDate::from_ymd_opt(2026, 1, 5)
        );
        assert_eq!(parse_date("5 tháng 1"), None);
    }

    #[test]
    fn people_sort_by_given_name_then_family_name() {
        let mut names = vec!["Trần Văn Bình", "Nguyễn Thị An", "Lê Đức Anh", "Đặng An"];
        names.sort_by_key(|n| name_key(n));
        assert_eq!(
            names,
            vec!["Đặng An", "Nguyễn Thị An", "Lê Đức Anh", "Trần Văn Bình"]
        );
    }
}

//! Who has read a dossier ("Ai đã xem hồ sơ của tôi"): every read the API
//! recorded of it, newest first — when, who, under which right, consent,
//! delegation or inspection, for what purpose, and which restricted fields.
//! The list is the API's (`GET /dossiers/{id}/readers`), which shows it to
//! the person the dossier is about and to admin right over its unit.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::format;
use crate::page::{page, refused_page};
use crate::session::Viewer;
use crate::units::Units;
use crate::words;

/// Reads shown on one page.
const PAGE: u64 = 100;

/// What a read opened, as the API records it, in words: a form field
/// (`identity/25a#0`: section, field, row), a section's proofs
/// (`identity/attachments`), a document (`attachment/<address>`) or a fact
/// of the dossier (`person_id`, `discipline`, …).
fn field_words(code: &str) -> String {
    let Some((section, rest)) = code.split_once('/') else {
        return words::fact(code).to_owned();
    };
    if section == "attachment" {
        return "Tài liệu đính kèm".to_owned();
    }
    let title = super::dossier::section_title(section);
    if rest == "attachments" {
        return format!("{title}: tài liệu chứng minh");
    }
    let (field, row) = rest.split_once('#').unwrap_or((rest, "0"));
    match row {
        "0" | "" => format!("{title}: {}", super::dossier::label(field)),
        row => format!("{title}: {}, dòng {row}", super::dossier::label(field)),
    }
}

/// What one read opened, in words, grouped: a table section's fields are
/// named once with the rows read (`Quan hệ gia đình (mục 30): Mối quan hệ
/// (30.c1), Họ và tên (30.c2) — dòng 1, 2, 3`), not once per row, so that a
/// read of a whole family section is a line, not a page.
fn read_words(codes: &[&str]) -> Vec<String> {
    // (section, its fields in the order read, the rows read)
    let mut sections: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
    let mut out: Vec<(usize, String)> = Vec::new();
    for code in codes {
        let grouped = code.split_once('/').and_then(|(section, rest)| {
            let (field, row) = rest.split_once('#')?;
            (section != "attachment" && rest != "attachments").then_some((section, field, row))
        });
        let Some((section, field, row)) = grouped else {
            let words = field_words(code);
            if !out.iter().any(|(_, w)| *w == words) {
                out.push((usize::MAX, words));
            }
            continue;
        };
        let i = match sections.iter().position(|(s, _, _)| *s == section) {
            Some(i) => i,
            None => {
                sections.push((section, Vec::new(), Vec::new()));
                out.push((sections.len() - 1, String::new()));
                sections.len() - 1
            }
        };
        let (_, fields, rows) = &mut sections[i];
        if !fields.contains(&field) {
            fields.push(field);
        }
        if !matches!(row, "" | "0") && !rows.contains(&row) {
            rows.push(row);
        }
    }
    out.into_iter()
        .map(|(i, words)| {
            let Some((section, fields, rows)) = sections.get(i) else {
                return words;
            };
            let labels: Vec<String> = fields.iter().map(|f| super::dossier::label(f)).collect();
            let title = super::dossier::section_title(section);
            match rows.as_slice() {
                [] => format!("{title}: {}", labels.join(", ")),
                [row] => format!("{title}: {}, dòng {row}", labels.join(", ")),
                rows => format!("{title}: {} — dòng {}", labels.join(", "), rows.join(", ")),
            }
        })
        .collect()
}

/// Why the API read the dossier, when a page of the API's own asked (the
/// history, the deadlines, an approval, the inspector's bundle, a scan);
/// a read with no purpose is of the dossier itself; anything else is the
/// purpose the reader typed, as typed.
fn purpose_words(p: &str) -> &str {
    match p {
        "" => "Xem hồ sơ",
        "history" => "Xem lịch sử thay đổi",
        "obligations" => "Xem thời hạn xử lý",
        "approval-request" => "Chuẩn bị ký phê duyệt",
        "bundle" => "Tải gói hồ sơ kiểm chứng",
        "attachment" => "Xem tài liệu đính kèm",
        other => other,
    }
}

/// Reads in a row by the same reader on the same ground (a page opened
/// again and again, and the reads each page makes) as one row: how many
/// times and since when, every purpose and everything read, newest first as
/// the API gives them.
struct Collapsed<'a> {
    newest: &'a Value,
    times: usize,
    since: &'a str,
    purposes: Vec<&'a str>,
    codes: Vec<&'a str>,
}

fn collapsed(items: &[Value]) -> Vec<Collapsed<'_>> {
    let mut out: Vec<Collapsed<'_>> = Vec::new();
    for r in items {
        let at = r["at"].as_str().unwrap_or("");
        let purpose = r["purpose"].as_str().unwrap_or("");
        let codes = r["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        match out.last_mut() {
            Some(c) if c.newest["reader"] == r["reader"] && c.newest["basis"] == r["basis"] => {
                c.times += 1;
                c.since = at;
                if !c.purposes.contains(&purpose) {
                    c.purposes.push(purpose);
                }
                for code in codes {
                    if !c.codes.contains(&code) {
                        c.codes.push(code);
                    }
                }
            }
            _ => out.push(Collapsed {
                newest: r,
                times: 1,
                since: at,
                purposes: vec![purpose],
                codes: codes.collect(),
            }),
        }
    }
    out
}

/// The reader: name, kind of account and unit; "Bạn" for the visitor.
fn reader_cell(r: &Value, me: &str, units: &Units) -> Markup {
    let account = r["reader"].as_str().unwrap_or("");
    html! {
        @if !me.is_empty() && account == me {
            strong { "Bạn" }
        } @else {
            (r["reader_name"].as_str().unwrap_or(account))
        }
        @if let Some(kind) = r["reader_kind"].as_str() {
            br; span.hint { (words::account_kind(kind)) }
        }
        @if let Some(unit) = r["reader_unit"].as_str() {
            " · " (units.show(unit))
        }
    }
}

/// The reads as a table.
fn readers_table(items: &[Value], me: &str, units: &Units) -> Markup {
    html! {
        div.scroll {
            table #readers {
                thead {
                    tr {
                        th scope="col" { "Thời điểm" }
                        th scope="col" { "Người xem" }
                        th scope="col" { "Căn cứ" }
                        th scope="col" { "Mục đích" }
                        th scope="col" { "Thông tin đã xem" }
                    }
                }
                tbody {
                    @for c in collapsed(items) {
                        @let r = c.newest;
                        @let fields = read_words(&c.codes);
                        @let purposes: Vec<&str> = c.purposes.iter().map(|p| purpose_words(p)).collect();
                        tr {
                            td {
                                (format::time(r["at"].as_str().unwrap_or("")))
                                @if c.times > 1 {
                                    br; span.hint { (c.times) " lần, từ " (format::time(c.since)) }
                                }
                            }
                            td { (reader_cell(r, me, units)) }
                            td { (words::read_basis(r["basis"].as_str().unwrap_or(""))) }
                            td { (purposes.join("; ")) }
                            td {
                                @if fields.is_empty() { em { "(thông tin chung)" } }
                                @else { (fields.join("; ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /dossiers/{id}/readers?before=`.
pub(crate) async fn show(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<super::Query>,
) -> Response {
    let Some(id) = super::dossier_id(&id) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let mut query = vec![("limit", PAGE.to_string())];
    if let Some(b) = q.get("before").and_then(|b| b.parse::<u64>().ok()) {
        query.push(("before", b.to_string()));
    }
    let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
    let r = match p
        .api
        .get(&v.who, &format!("/dossiers/{id}/readers?{qs}"))
        .await
    {
        Ok(r) => r,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let items = r["items"].as_array().cloned().unwrap_or_default();
    let own = v.own_dossier() == Some(id);
    let me = v.me["id"].as_str().unwrap_or("");
    let units = Units::of_field(&p, &v, &items, "reader_unit").await;
    let body = html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        p {
            "Mỗi lần thông tin hạn chế của hồ sơ được xem, và mọi lần xem của thanh tra, "
            "đều được ghi lại cùng căn cứ cho phép xem (BT 4.3, HY 4.4)."
        }
        @if items.is_empty() {
            p.hint { "Chưa có lần xem nào được ghi nhận." }
        } @else {
            (readers_table(&items, me, &units))
        }
        @if let Some(next) = r["next"].as_u64() {
            p { a href={ "/dossiers/" (id) "/readers?before=" (next) } { "Các lần xem trước đó →" } }
        }
    };
    let title = if own {
        "Ai đã xem hồ sơ của tôi"
    } else {
        "Ai đã xem hồ sơ"
    };
    page(&v, title, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_of_record_of_what_was_read_is_said_in_words() {
        assert_eq!(field_words("attachment/ab12"), "Tài liệu đính kèm");
        assert!(field_words("identity/25a#0").ends_with("(25a)"));
        assert!(field_words("family/30.c2#2").ends_with(", dòng 2"));
        assert!(field_words("health/attachments").ends_with(": tài liệu chứng minh"));
        assert_eq!(field_words("discipline"), "Kỷ luật");
        assert_eq!(field_words("something_new"), "something_new");
    }

    #[test]
    fn a_read_of_a_table_section_names_each_field_once_with_the_rows_read() {
        let read = read_words(&[
            "discipline",
            "family/30.c1#1",
            "family/30.c1#2",
            "family/30.c2#1",
            "family/30.c2#2",
            "identity/25a#0",
            "identity/7#0",
            "person_id",
            "attachment/ab12",
        ]);
        assert_eq!(read.len(), 5, "{read:?}");
        assert_eq!(read[0], "Kỷ luật");
        assert!(read[1].contains("(30.c1), "), "{read:?}");
        assert!(read[1].ends_with("(30.c2) — dòng 1, 2"), "{read:?}");
        assert!(read[2].ends_with("(25a), Tôn giáo (7)"), "{read:?}");
        assert_eq!(read[3], "Số định danh cá nhân");
        assert_eq!(read[4], "Tài liệu đính kèm");
    }

    #[test]
    fn reads_in_a_row_by_one_reader_on_one_ground_are_one_row_and_the_apis_purposes_are_in_words() {
        let read = |at: &str, reader: &str, purpose: &str| {
            json!({"at": at, "reader": reader, "basis": "right:update",
                   "purpose": purpose, "fields": ["identity/7#0"]})
        };
        let items = [
            read("2026-12-07T04:03:00Z", "a", ""),
            read("2026-12-07T04:02:00Z", "a", ""),
            read("2026-12-07T04:01:00Z", "a", ""),
            read("2026-12-07T04:00:00Z", "a", "history"),
            read("2026-11-30T04:00:00Z", "b", ""),
        ];
        let rows = collapsed(&items);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].times, rows[0].since), (4, "2026-12-07T04:00:00Z"));
        let html = readers_table(&items, "", &Units::default()).into_string();
        assert!(html.contains("4 lần, từ 07/12/2026 11:00"), "{html}");
        assert!(html.contains("Xem hồ sơ; Xem lịch sử thay đổi"), "{html}");
        assert!(!html.contains(">history<"), "{html}");
    }

    #[test]
    fn a_read_names_the_reader_the_ground_and_the_fields_in_words() {
        let items = [
            json!({"at": "2026-03-02T03:00:00Z", "reader": "a-1", "reader_name": "Cán bộ yte.tochuc",
                   "reader_kind": "specialist", "reader_unit": "000.02.00.H33",
                   "basis": "right:update", "purpose": "", "fields": ["identity/25a#0", "person_id", "attachment/ab12"]}),
            json!({"at": "2026-03-01T03:00:00Z", "reader": "me", "reader_name": "Nguyễn Văn An",
                   "basis": "own-data", "purpose": "history", "fields": []}),
        ];
        let html = readers_table(&items, "me", &Units::default()).into_string();
        assert!(html.contains("02/03/2026 10:00"), "{html}");
        assert!(html.contains("Cán bộ yte.tochuc"), "{html}");
        assert!(html.contains("Chuyên viên tổ chức cán bộ"), "{html}");
        assert!(html.contains("Quyền cập nhật"), "{html}");
        assert!(html.contains("Tài liệu đính kèm"), "{html}");
        assert!(html.contains("Số định danh cá nhân"), "{html}");
        assert!(html.contains("(25a)"), "{html}");
        assert!(html.contains("<strong>Bạn</strong>"), "{html}");
        assert!(
            !html.contains("Nguyễn Văn An"),
            "the visitor is named as such"
        );
        assert!(html.contains("(thông tin chung)"), "{html}");
    }
}

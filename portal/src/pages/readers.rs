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

/// The reader: name, kind of account and unit; "Bạn" for the visitor.
fn reader_cell(r: &Value, me: &str) -> Markup {
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
            " · " code { (unit) }
        }
    }
}

/// The reads as a table.
fn readers_table(items: &[Value], me: &str) -> Markup {
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
                    @for r in items {
                        @let fields: Vec<String> = r["fields"].as_array().into_iter().flatten()
                            .filter_map(Value::as_str).map(field_words).collect();
                        tr {
                            td { (format::time(r["at"].as_str().unwrap_or(""))) }
                            td { (reader_cell(r, me)) }
                            td { (words::read_basis(r["basis"].as_str().unwrap_or(""))) }
                            td { (r["purpose"].as_str().filter(|p| !p.is_empty()).unwrap_or("—")) }
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
    let body = html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        p {
            "Mỗi lần thông tin hạn chế của hồ sơ được xem, và mọi lần xem của thanh tra, "
            "đều được ghi lại cùng căn cứ cho phép xem (BT 4.3, HY 4.4)."
        }
        @if items.is_empty() {
            p.hint { "Chưa có lần xem nào được ghi nhận." }
        } @else {
            (readers_table(&items, me))
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
    fn a_read_names_the_reader_the_ground_and_the_fields_in_words() {
        let items = [
            json!({"at": "2026-03-02T03:00:00Z", "reader": "a-1", "reader_name": "Cán bộ yte.tochuc",
                   "reader_kind": "specialist", "reader_unit": "000.02.00.H33",
                   "basis": "right:update", "purpose": "", "fields": ["identity/25a#0", "person_id", "attachment/ab12"]}),
            json!({"at": "2026-03-01T03:00:00Z", "reader": "me", "reader_name": "Nguyễn Văn An",
                   "basis": "own-data", "purpose": "history", "fields": []}),
        ];
        let html = readers_table(&items, "me").into_string();
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

//! Search: the criteria of the search API (name without diacritics, number,
//! unit, category, rank, title, position, status, age, qualification, party
//! membership), a page of hits ordered by given name, and the next page.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::format;
use crate::page::{page, refusal_box};
use crate::session::Viewer;
use crate::units::{self, Tree, Units};
use crate::words;

/// The search API's criteria, with their labels; all text.
const CRITERIA: &[(&str, &str, &str)] = &[
    ("name", "Họ tên", "có thể gõ không dấu"),
    (
        "person_id",
        "Số định danh cá nhân",
        "12 chữ số; cần quyền cập nhật",
    ),
    (
        "unit",
        "Đơn vị",
        "gõ tên hoặc mã; tìm trong đơn vị và các đơn vị trực thuộc",
    ),
    ("rank_code", "Mã ngạch, chức danh", ""),
    ("title", "Tên ngạch, chức danh", "một phần tên"),
    ("job_position", "Vị trí việc làm", "một phần tên"),
    ("qualification", "Trình độ chuyên môn", "một phần tên"),
    ("age_min", "Tuổi từ", ""),
    ("age_max", "Tuổi đến", ""),
];

const CATEGORIES: &[&str] = &[
    "can_bo",
    "cong_chuc",
    "vien_chuc",
    "nguoi_lao_dong",
    "commune_cadre",
];
const STATUSES: &[&str] = &[
    "active",
    "seconded",
    "transferred_out",
    "party_bloc",
    "retired",
    "resigned",
    "dismissed",
    "deceased",
];

fn select(
    name: &str,
    label: &str,
    values: &[&str],
    chosen: &str,
    word: fn(&str) -> &str,
) -> Markup {
    html! {
        div {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                option value="" { "— Tất cả —" }
                @for v in values {
                    option value=(v) selected[*v == chosen] { (word(v)) }
                }
            }
        }
    }
}

fn party(v: &str) -> &str {
    match v {
        "true" => "Đảng viên",
        "false" => "Không phải đảng viên",
        other => other,
    }
}

/// `GET /search`.
pub(crate) async fn search(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let get = |k: &str| q.get(k).map_or("", |s| s.trim());
    let mut asked: Vec<(&str, &str)> = Vec::new();
    for k in
        CRITERIA
            .iter()
            .map(|(k, _, _)| *k)
            .chain(["category", "status", "party_member", "after"])
    {
        if !get(k).is_empty() {
            asked.push((k, get(k)));
        }
    }
    let archived = get("archived") == "on";
    if archived {
        asked.push(("archived", "true"));
    }
    let searched = !asked.is_empty() || q.contains_key("go");
    let answer = if searched {
        let qs = serde_urlencoded::to_string(&asked).unwrap_or_default();
        match p.api.get(&v.who, &format!("/dossiers?{qs}")).await {
            Ok(hits) => {
                let items = hits["items"].as_array().cloned().unwrap_or_default();
                let units = Units::of_field(&p, &v, &items, "employing_unit").await;
                Some(Ok((hits, units)))
            }
            Err(r) => Some(Err(r)),
        }
    } else {
        None
    };
    // The unit criterion offers the units under the searcher's rights by name.
    let tree = Tree::of(&p, &v).await;
    let (datalist, units_list) = units::offer("units-in-scope", &tree.in_scope(&v));
    let body = html! {
        (datalist)
        form.stack method="get" action="/search" role="search" {
            input type="hidden" name="go" value="1";
            @for (k, label, hint) in CRITERIA {
                div {
                    label for=(k) { (label) @if !hint.is_empty() { span.hint { " (" (hint) ")" } } }
                    @let list = if *k == "unit" { units_list } else { None };
                    input id=(k) type="text" name=(k) value=(get(k)) list=[list] autocomplete=[list.map(|_| "off")];
                }
            }
            (select("category", "Phân loại", CATEGORIES, get("category"), words::category))
            (select("status", "Tình trạng", STATUSES, get("status"), words::status))
            (select("party_member", "Đảng viên", &["true", "false"], get("party_member"), party))
            div {
                input #archived type="checkbox" name="archived" checked[archived];
                label.inline for="archived" { " Tìm trong hồ sơ đã lưu trữ" }
            }
            div { button type="submit" { "Tìm kiếm" } }
        }
        @match answer {
            None => {},
            Some(Err(r)) => { (refusal_box(&r)) },
            Some(Ok((hits, units))) => { (results(&hits, &q, &units)) },
        }
    };
    page(&v, "Tra cứu hồ sơ", body)
}

fn results(hits: &Value, q: &super::Query, units: &Units) -> Markup {
    let mut items: Vec<&Value> = hits["items"].as_array().into_iter().flatten().collect();
    items.sort_by_key(|h| format::name_key(h["full_name"].as_str().unwrap_or("")));
    let next = hits["next"].as_str().map(|after| {
        let mut q: Vec<(&str, &str)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "after")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        q.push(("after", after));
        serde_urlencoded::to_string(&q).unwrap_or_default()
    });
    html! {
        h2 #results { "Kết quả (" (items.len()) ")" }
        @if items.is_empty() { p { "Không tìm thấy hồ sơ nào trong phạm vi quản lý của tài khoản." } }
        @else {
            div.scroll {
                table {
                    thead {
                        tr {
                            th scope="col" { "Họ và tên" }
                            th scope="col" { "Năm sinh" }
                            th scope="col" { "Phân loại" }
                            th scope="col" { "Ngạch" }
                            th scope="col" { "Đơn vị" }
                            th scope="col" { "Tình trạng" }
                            th scope="col" { "Quy trình" }
                        }
                    }
                    tbody {
                        @for h in items {
                            tr {
                                td { a href={ "/dossiers/" (h["id"].as_str().unwrap_or("")) } { (h["full_name"].as_str().unwrap_or("")) } }
                                td { (h["birth_year"].as_i64().map(|y| y.to_string()).unwrap_or_default()) }
                                td { (words::category(h["category"].as_str().unwrap_or(""))) }
                                td { (h["rank_name"].as_str().unwrap_or("")) }
                                td { (units.show_value(&h["employing_unit"])) }
                                td { (words::status(h["status"].as_str().unwrap_or(""))) }
                                td { (words::workflow(h["workflow"].as_str().unwrap_or(""))) }
                            }
                        }
                    }
                }
            }
            @if let Some(qs) = next { p { a href={ "/search?" (qs) } { "Trang sau →" } } }
        }
    }
}

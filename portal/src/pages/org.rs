//! The organisation at any date: the tree of units that exist that day,
//! nested, with the units that had ceased by then (merged, split, dissolved)
//! and the successors that took their people (DL 5.5); and one unit's page
//! with its quotas, job positions, approval authority and headcount.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::call::Refusal;
use crate::format;
use crate::page::{item, page, refused_page};
use crate::session::Viewer;
use crate::units::Units;
use crate::words;

/// The date a page asks about: `on` as typed (dd/mm/yyyy or ISO), else today.
fn date_of(p: &Portal, q: &super::Query) -> Result<NaiveDate, Refusal> {
    match q.get("on").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(p.state.today()),
        Some(t) => format::parse_date(t).ok_or_else(bad_date),
    }
}

/// A date the portal could not read.
pub(crate) fn bad_date() -> Refusal {
    Refusal {
        type_: "urn:hoso:problem:portal:bad-date".into(),
        status: 400,
        ..Refusal::default()
    }
}

/// The date picker every organisation page has.
fn date_form(action: &str, on: NaiveDate) -> Markup {
    html! {
        form.inline method="get" action=(action) aria-label="Chọn ngày xem cơ cấu tổ chức" {
            div {
                label for="on" { "Tại ngày " span.hint { "(dd/mm/yyyy)" } }
                input #on type="text" name="on" inputmode="numeric" placeholder="dd/mm/yyyy"
                    value=(on.format("%d/%m/%Y"));
            }
            div { button.secondary type="submit" { "Xem" } }
        }
    }
}

/// The units of a tree answer, nested: each parent's children in code order
/// (codes are hierarchical, QĐ 20/2020/QĐ-TTg); a unit whose parent is not in
/// the tree that day is a root.
pub(crate) fn nest(nodes: &[Value]) -> (Vec<&Value>, HashMap<&str, Vec<&Value>>) {
    let codes: std::collections::HashSet<&str> =
        nodes.iter().filter_map(|n| n["code"].as_str()).collect();
    let mut roots = Vec::new();
    let mut children: HashMap<&str, Vec<&Value>> = HashMap::new();
    for n in nodes {
        match n["parent"].as_str().filter(|p| codes.contains(p)) {
            Some(parent) => children.entry(parent).or_default().push(n),
            None => roots.push(n),
        }
    }
    let by_code = |a: &&Value, b: &&Value| {
        a["code"]
            .as_str()
            .unwrap_or("")
            .cmp(b["code"].as_str().unwrap_or(""))
    };
    roots.sort_by(by_code);
    for list in children.values_mut() {
        list.sort_by(by_code);
    }
    (roots, children)
}

/// A unit's link, keeping the date.
fn unit_link(code: &str, name: &str, on: NaiveDate) -> Markup {
    html! {
        a href={ "/org/" (code) "?on=" (on.format("%d/%m/%Y")) } { (name) } " " code { (code) }
    }
}

/// One unit and, below it, its children; `received` names the ceased units
/// whose people it took.
fn branch(
    n: &Value,
    children: &HashMap<&str, Vec<&Value>>,
    received: &HashMap<String, Vec<(String, String)>>,
    on: NaiveDate,
    depth: usize,
) -> Markup {
    let code = n["code"].as_str().unwrap_or("");
    let name = n["name"].as_str().unwrap_or("");
    html! {
        li {
            (unit_link(code, name, on))
            @if let Some(from) = received.get(code) {
                " "
                span.hint {
                    "(tiếp nhận từ: "
                    @for (i, (c, n)) in from.iter().enumerate() {
                        @if i > 0 { "; " }
                        (n) " " code { (c) }
                    }
                    ")"
                }
            }
            // Depth bounds the recursion on a malformed tree (a cycle cannot
            // come from the API, whose parents are resolved on a date).
            @if let Some(kids) = children.get(code).filter(|_| depth < 32) {
                ul { @for k in kids { (branch(k, children, received, on, depth + 1)) } }
            }
        }
    }
}

/// `GET /org?on=`: the tree at a date, and what had ceased by then.
pub(crate) async fn tree(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let on = match date_of(&p, &q) {
        Ok(d) => d,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let tree = p.api.get(&v.who, &format!("/org-units?date={on}")).await;
    let gone = p
        .api
        .get(&v.who, &format!("/org-units/ceased?date={on}"))
        .await;
    let (nodes, ceased) = match (tree, gone) {
        (Ok(n), Ok(c)) => (n, c),
        (Err(r), _) | (_, Err(r)) => return refused_page(Some(&v), &r),
    };
    let nodes = nodes.as_array().cloned().unwrap_or_default();
    let ceased = ceased.as_array().cloned().unwrap_or_default();
    let names: HashMap<&str, &str> = nodes
        .iter()
        .chain(ceased.iter())
        .filter_map(|n| Some((n["code"].as_str()?, n["name"].as_str().unwrap_or(""))))
        .collect();
    let mut received: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for u in &ceased {
        if let (Some(holder), Some(code)) = (u["holder"].as_str(), u["code"].as_str())
            && holder != code
        {
            received
                .entry(holder.to_owned())
                .or_default()
                .push((code.to_owned(), u["name"].as_str().unwrap_or("").to_owned()));
        }
    }
    let (roots, children) = nest(&nodes);
    let body = html! {
        (date_form("/org", on))
        p.hint { (nodes.len()) " đơn vị đang tồn tại ngày " (on.format("%d/%m/%Y")) ". Chọn một đơn vị để xem biên chế, vị trí việc làm và số lượng người." }
        ul.tree #org-tree { @for r in &roots { (branch(r, &children, &received, on, 0)) } }
        h2 { "Đơn vị đã sáp nhập, chia tách, giải thể" }
        @if ceased.is_empty() { p.hint { "Không có đơn vị nào chấm dứt hoạt động tính đến ngày này." } }
        @else {
            div.scroll {
                table #ceased {
                    thead { tr {
                        th scope="col" { "Đơn vị" }
                        th scope="col" { "Hình thức" }
                        th scope="col" { "Từ ngày" }
                        th scope="col" { "Đơn vị kế thừa" }
                        th scope="col" { "Đơn vị tiếp nhận hồ sơ, tài khoản" }
                    } }
                    tbody {
                        @for u in &ceased {
                            @let code = u["code"].as_str().unwrap_or("");
                            tr {
                                td { (unit_link(code, u["name"].as_str().unwrap_or(""), on)) }
                                td { (words::unit_status(u["status"].as_str().unwrap_or(""))) }
                                td { (u["ceases_on"].as_str().map(format::date).unwrap_or_default()) }
                                td {
                                    @for (i, s) in u["successors"].as_array().into_iter().flatten().filter_map(Value::as_str).enumerate() {
                                        @if i > 0 { ", " }
                                        (unit_link(s, names.get(s).copied().unwrap_or(""), on))
                                    }
                                }
                                td {
                                    @let h = u["holder"].as_str().unwrap_or("");
                                    @if h == code { "—" } @else { (unit_link(h, names.get(h).copied().unwrap_or(""), on)) }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "Từ ngày sáp nhập, chia tách, hồ sơ và tài khoản của đơn vị cũ thuộc đơn vị tiếp nhận (DL 5.5)." }
        }
    };
    page(&v, "Cơ cấu tổ chức", body)
}

/// The dimensions headcount is broken down by, in the API's spelling.
pub(crate) const DIMENSIONS: [(&str, &str); 11] = [
    ("category", "Phân loại"),
    ("rank", "Ngạch"),
    ("title", "Chức danh nghề nghiệp"),
    ("job_position", "Vị trí việc làm"),
    ("gender", "Giới tính"),
    ("age_band", "Độ tuổi"),
    ("ethnicity", "Dân tộc"),
    ("education", "Trình độ giáo dục phổ thông"),
    ("qualification", "Trình độ chuyên môn"),
    ("party_member", "Đảng viên"),
    ("unit", "Đơn vị quản lý"),
];

/// `GET /org/{code}?on=&by=`: one unit on a date and its headcount.
pub(crate) async fn unit(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(code): Path<String>,
    Query(q): Query<super::Query>,
) -> Response {
    if !hoso_domain::org::is_valid_code(&code) {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    }
    let on = match date_of(&p, &q) {
        Ok(d) => d,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let by = q
        .get("by")
        .map(String::as_str)
        .filter(|b| DIMENSIONS.iter().any(|(d, _)| d == b))
        .unwrap_or("category");
    let u = match p
        .api
        .get(&v.who, &format!("/org-units/{code}?date={on}"))
        .await
    {
        Ok(u) => u,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let counts = p
        .api
        .get(
            &v.who,
            &format!("/org-units/{code}/headcount?by={by}&date={on}"),
        )
        .await;
    let name = u["name"].as_str().unwrap_or("").to_owned();
    let ondmy = on.format("%d/%m/%Y").to_string();
    // Parent, successors and holder by their names on the page's date.
    let related: Vec<&str> = [&u["parent"], &u["holder"]]
        .into_iter()
        .chain(u["successors"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let units = Units::on(&p, &v, &related, Some(on)).await;
    let body = html! {
        p { a href={ "/org?on=" (ondmy) } { "← Cơ cấu tổ chức ngày " (ondmy) } }
        (date_form(&format!("/org/{code}"), on))
        dl.facts {
            (item("Mã định danh", html! { code { (code) } }))
            (item("Loại hình", html! { (words::unit_kind(u["kind"].as_str().unwrap_or(""))) }))
            (item("Đơn vị cấp trên", html! {
                @match u["parent"].as_str() { Some(par) => { a href={ "/org/" (par) "?on=" (ondmy) } { (units.show(par)) } }, None => "—" }
            }))
            (item("Thành lập", html! { (u["established"].as_str().map(format::date).unwrap_or_default()) }))
            (item("Tình trạng", html! {
                (words::unit_status(u["status"].as_str().unwrap_or("")))
                @if let Some(c) = u["ceases_on"].as_str() { " từ ngày " (format::date(c)) }
            }))
            @if let Some(s) = u["successors"].as_array().filter(|s| !s.is_empty()) {
                (item("Đơn vị kế thừa", html! {
                    @for (i, c) in s.iter().filter_map(Value::as_str).enumerate() {
                        @if i > 0 { ", " }
                        a href={ "/org/" (c) "?on=" (ondmy) } { (units.show(c)) }
                    }
                }))
            }
            @if u["holder"].as_str().is_some_and(|h| h != code) {
                (item("Hồ sơ, tài khoản thuộc", html! { (units.show_value(&u["holder"])) }))
            }
        }
        h2 { "Số lượng người làm việc" }
        form.inline method="get" action={ "/org/" (code) } aria-label="Thống kê số lượng" {
            input type="hidden" name="on" value=(ondmy);
            div {
                label for="by" { "Thống kê theo" }
                select #by name="by" data-autosubmit {
                    @for (d, label) in DIMENSIONS {
                        option value=(d) selected[d == by] { (label) }
                    }
                }
            }
            div { button.secondary type="submit" { "Thống kê" } }
        }
        @match &counts {
            Ok(c) => { (counts_table(c, by)) },
            Err(r) => { (crate::page::refusal_box(r)) },
        }
        h2 { "Biên chế được giao" }
        @let quotas = u["quotas"].as_array().cloned().unwrap_or_default();
        @if quotas.is_empty() { p.hint { "Chưa có quyết định giao biên chế." } }
        @else {
            table #quotas {
                thead { tr { th scope="col" { "Năm" } th scope="col" { "Công chức" } th scope="col" { "Viên chức" } th scope="col" { "Người lao động" } } }
                tbody { @for qu in &quotas { tr {
                    td { (qu["year"]) } td { (qu["civil_servants"]) } td { (qu["public_employees"]) } td { (qu["contract_workers"]) }
                } } }
            }
        }
        h2 { "Vị trí việc làm" }
        @let positions = u["job_positions"].as_array().cloned().unwrap_or_default();
        @if positions.is_empty() { p.hint { "Chưa có vị trí việc làm." } }
        @else {
            table #positions {
                thead { tr { th scope="col" { "Mã" } th scope="col" { "Tên vị trí" } th scope="col" { "Ngạch, chức danh tối thiểu" } th scope="col" { "Số người" } } }
                tbody { @for jp in &positions { tr {
                    td { (jp["code"].as_str().unwrap_or("")) }
                    td { (jp["title"].as_str().unwrap_or("")) }
                    td { (jp["required_rank_code"].as_str().unwrap_or("")) }
                    td { (jp["headcount"]) }
                } } }
            }
        }
        @if let Some(a) = u["approval_authority"].as_object() {
            h2 { "Thẩm quyền phê duyệt (DT 11)" }
            p {
                "Phê duyệt hồ sơ "
                (a.get("categories").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(words::category).collect::<Vec<_>>().join(", "))
                " của các đơn vị: "
                (a.get("subordinates").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
            }
        }
    };
    page(&v, &format!("Đơn vị: {name}"), body)
}

/// A headcount answer as a table, largest first, with the total.
fn counts_table(c: &Value, by: &str) -> Markup {
    let counts: BTreeMap<&str, u64> = c["counts"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, n)| (k.as_str(), n.as_u64().unwrap_or(0)))
        .collect();
    let mut rows: Vec<(&str, u64)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let total: u64 = rows.iter().map(|r| r.1).sum();
    let label = |k: &str| -> String {
        match by {
            "category" => words::category(k).to_owned(),
            _ => k.to_owned(),
        }
    };
    html! {
        table #headcount {
            thead { tr { th scope="col" { "Nhóm" } th scope="col" { "Số người" } } }
            tbody {
                @for (k, n) in &rows { tr { td { (label(k)) } td { (n) } } }
            }
            tfoot { tr { th scope="row" { "Tổng số" } td { strong { (total) } } } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn units_nest_under_their_parent_and_orphans_are_roots() {
        let nodes = vec![
            json!({"code": "000.02.00.H33", "name": "Sở Y tế", "parent": "000.00.00.H33"}),
            json!({"code": "000.00.00.H33", "name": "UBND tỉnh", "parent": null}),
            json!({"code": "000.01.00.H33", "name": "Sở Nội vụ", "parent": "000.00.00.H33"}),
            json!({"code": "000.09.01.H33", "name": "Mồ côi", "parent": "000.09.00.H33"}),
        ];
        let (roots, children) = nest(&nodes);
        let codes: Vec<&str> = roots.iter().filter_map(|n| n["code"].as_str()).collect();
        assert_eq!(codes, vec!["000.00.00.H33", "000.09.01.H33"]);
        let kids: Vec<&str> = children["000.00.00.H33"]
            .iter()
            .filter_map(|n| n["code"].as_str())
            .collect();
        assert_eq!(kids, vec!["000.01.00.H33", "000.02.00.H33"]);
    }

    #[test]
    fn headcount_lists_largest_first_with_the_total() {
        let html = counts_table(
            &json!({"counts": {"cong_chuc": 2, "vien_chuc": 5}}),
            "category",
        )
        .into_string();
        let vc = html.find("Viên chức").unwrap_or(usize::MAX);
        let cc = html.find("Công chức").unwrap_or(0);
        assert!(vc < cc, "{html}");
        assert!(html.contains("<strong>7</strong>"), "{html}");
    }
}

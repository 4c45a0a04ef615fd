//! The API's reports as pages: annual headcount (BT 16.5, HY 14.1),
//! management (KT 19.2), obligations' deadlines, quantity and quality
//! (DL 7.11), a cross-tab of two dimensions (DL 7.3), approvals pending and
//! the national sync deliveries; each shown as tables, with its CSV and XLSX
//! downloaded through the portal exactly as the API writes them.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::call::Refusal;
use crate::format;
use crate::page::{page, refusal_box, refused_page};
use crate::session::Viewer;
use crate::words;

use super::org::DIMENSIONS;

/// The reports, as (portal name, title, has CSV/XLSX).
const REPORTS: [(&str, &str, bool); 7] = [
    (
        "annual",
        "Báo cáo số lượng hằng năm (BT 16.5, HY 14.1)",
        true,
    ),
    ("management", "Báo cáo quản lý theo kỳ (KT 19.2)", true),
    ("sla", "Thời hạn xử lý, việc quá hạn", true),
    ("quality", "Báo cáo số lượng, chất lượng (DL 7.11)", true),
    ("crosstab", "Thống kê theo hai tiêu chí (DL 7.3)", true),
    ("approvals-pending", "Hồ sơ chờ phê duyệt toàn tỉnh", true),
    ("sync", "Đồng bộ với cơ sở dữ liệu quốc gia", false),
];

fn unknown_report() -> Refusal {
    Refusal {
        type_: "urn:hoso:problem:portal:unknown-report".into(),
        status: 404,
        ..Refusal::default()
    }
}

/// An API path and its query parameters.
pub(crate) type ApiRequest = (String, Vec<(&'static str, String)>);

/// A report as answered, with its CSV and XLSX links when it has files.
type Shown = Result<(Value, Option<(String, String)>), Refusal>;

/// The API request of a report the page's query asks for: its path and
/// query, dates typed dd/mm/yyyy turned into ISO. Only the report's own
/// parameters are passed; `format` is added by the download route.
pub(crate) fn api_request(q: &super::Query) -> Result<ApiRequest, Refusal> {
    let kind = q.get("kind").map(String::as_str).unwrap_or("");
    let text = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let date = |k: &str| -> Result<Option<String>, Refusal> {
        text(k)
            .map(|t| {
                format::parse_date(t)
                    .map(|d| d.to_string())
                    .ok_or_else(super::org::bad_date)
            })
            .transpose()
    };
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let org = |out: &mut Vec<(&'static str, String)>| {
        out.push(("org", text("org").unwrap_or("").to_owned()));
    };
    let path = match kind {
        "annual" => {
            org(&mut out);
            if let Some(y) = text("year") {
                out.push(("year", y.to_owned()));
            }
            "/reports/annual"
        }
        "management" => {
            org(&mut out);
            for k in ["from", "to"] {
                out.push((k, date(k)?.unwrap_or_default()));
            }
            "/reports/management"
        }
        "sla" => {
            org(&mut out);
            if let Some(d) = date("date")? {
                out.push(("on", d));
            }
            "/reports/sla"
        }
        "quality" | "crosstab" => {
            org(&mut out);
            if kind == "crosstab" {
                for k in ["rows", "cols"] {
                    out.push((k, text(k).unwrap_or("").to_owned()));
                }
            }
            if let Some(d) = date("date")? {
                out.push(("date", d));
            }
            if kind == "crosstab" {
                "/reports/crosstab"
            } else {
                "/reports/quality"
            }
        }
        "approvals-pending" => "/reports/approvals-pending",
        "sync" => "/reports/sync",
        _ => return Err(unknown_report()),
    };
    Ok((path.to_owned(), out))
}

fn with_query(path: &str, q: &[(&str, String)]) -> String {
    if q.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(q).unwrap_or_default()
        )
    }
}

/// A report's key in Vietnamese, or the key itself.
fn key_words(k: &str) -> &str {
    match k {
        "org" | "org_code" | "unit" => "Đơn vị",
        "managing_unit" => "Đơn vị quản lý",
        "year" => "Năm",
        "from" => "Từ ngày",
        "to" => "Đến ngày",
        "date" | "on" | "today" => "Ngày",
        "month" => "Tháng",
        "total" => "Tổng số",
        "count" => "Số lượng",
        "counts" => "Số lượng theo nhóm",
        "name" => "Tên",
        "key" => "Mã",
        "category" | "by_category" => "Phân loại",
        "by_rank" | "rank_code" => "Theo ngạch",
        "rank_name" => "Tên ngạch",
        "by_title" => "Theo chức danh nghề nghiệp",
        "by_job_position" | "job_position" => "Theo vị trí việc làm",
        "by_qualification" | "qualification" => "Theo trình độ chuyên môn",
        "by_age_band" => "Theo độ tuổi",
        "women" => "Nữ",
        "ethnic_minorities" => "Dân tộc thiểu số",
        "party_members" => "Đảng viên",
        "new_dossiers" => "Hồ sơ mới",
        "status_updates" => "Cập nhật tình trạng",
        "pending_approvals" | "pending" => "Chờ phê duyệt",
        "approvals" => "Phê duyệt",
        "decisions" => "Quyết định",
        "returned" => "Trả lại",
        "units" => "Theo đơn vị",
        "open" => "Việc đang mở",
        "overdue" => "Quá hạn",
        "overdue_working_days" => "Số ngày làm việc quá hạn",
        "closed_on_time" => "Hoàn thành đúng hạn",
        "closed_late" => "Hoàn thành quá hạn",
        "due" => "Hạn",
        "obligation" => "Nghĩa vụ",
        "dossier_id" => "Hồ sơ",
        "citation" => "Căn cứ",
        "windows" => "Kỳ phê duyệt",
        "rows" => "Dòng",
        "columns" => "Cột",
        "rows_by" => "Dòng theo",
        "columns_by" => "Cột theo",
        "batches" => "Các lô đồng bộ",
        "sequence" => "Số thứ tự",
        "delivery" => "Tình trạng chuyển",
        "state" => "Trạng thái",
        _ => k,
    }
}

/// A scalar as a cell: ISO dates day first, booleans in words.
fn scalar(v: &Value) -> Markup {
    html! {
        @match v {
            Value::Null => {},
            Value::Bool(true) => "Có",
            Value::Bool(false) => "Không",
            Value::String(s) if s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().get(7) == Some(&b'-') => {
                (format::date(s))
            },
            Value::String(s) => (s),
            other => (other.to_string()),
        }
    }
}

/// A value inside a table cell: nested values written compactly.
fn compact(v: &Value) -> Markup {
    html! {
        @match v {
            Value::Array(items) => {
                @for (i, x) in items.iter().enumerate() {
                    @if i > 0 { "; " }
                    (compact(x))
                }
            },
            Value::Object(m) => {
                @for (i, (k, x)) in m.iter().enumerate() {
                    @if i > 0 { "; " }
                    (key_words(k)) ": " (compact(x))
                }
            },
            other => (scalar(other)),
        }
    }
}

/// A row's name in words where the API gives only a code: a personnel
/// category's, or "not known" for the reports' `unknown` group.
fn row_words(row: &Value) -> String {
    let code = row["code"].as_str().or(row["key"].as_str()).unwrap_or("");
    match code {
        "unknown" => "Chưa xác định".to_owned(),
        c if words::category(c) != c => words::category(c).to_owned(),
        _ => String::new(),
    }
}

/// A list of objects as one table, the columns the union of their keys in
/// the order first seen.
fn table(items: &[Value]) -> Markup {
    let mut cols: Vec<&str> = Vec::new();
    for i in items {
        for k in i.as_object().into_iter().flat_map(|m| m.keys()) {
            if !cols.contains(&k.as_str()) {
                cols.push(k);
            }
        }
    }
    // What names a row comes first, as a reader looks for it.
    let first = |c: &&str| !matches!(*c, "key" | "code" | "org_code" | "name" | "unit");
    cols.sort_by_key(|c| first(c));
    html! {
        div.scroll {
            table {
                thead { tr { @for c in &cols { th scope="col" { (key_words(c)) } } } }
                tbody {
                    @for i in items {
                        tr { @for c in &cols {
                            @if *c == "name" && i["name"].as_str().is_none_or(str::is_empty) {
                                td { (row_words(i)) }
                            } @else {
                                td { (compact(&i[*c])) }
                            }
                        } }
                    }
                }
            }
        }
    }
}

/// Any report's JSON as headings, definition lists and tables.
pub(crate) fn json_view(v: &Value, depth: usize) -> Markup {
    html! {
        @match v {
            Value::Array(items) if items.iter().all(Value::is_object) => {
                @if items.is_empty() { p.hint { "Không có dòng nào." } }
                @else { (table(items)) }
            },
            Value::Object(m) => {
                @let (flat, nested): (Vec<_>, Vec<_>) = m.iter().partition(|(_, x)| !(x.is_object() || x.is_array()) || is_scalar_list(x));
                @if !flat.is_empty() {
                    dl.facts {
                        @for (k, x) in &flat { dt { (key_words(k)) } dd { (compact(x)) } }
                    }
                }
                @for (k, x) in &nested {
                    @if depth < 2 { h2 { (key_words(k)) } } @else { h3 { (key_words(k)) } }
                    @if depth < 6 { (json_view(x, depth + 1)) } @else { (compact(x)) }
                }
            },
            other => p { (compact(other)) },
        }
    }
}

fn is_scalar_list(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().all(|x| !(x.is_object() || x.is_array())))
}

/// The report form, filled with what was asked.
fn report_form(v: &Viewer, q: &super::Query) -> Markup {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let kind = get("kind");
    let org = q.get("org").cloned().unwrap_or_else(|| v.unit().to_owned());
    html! {
        form.stack #report-form method="get" action="/reports" aria-label="Chọn báo cáo" {
            div {
                label for="kind" { "Báo cáo" }
                select #kind name="kind" {
                    @for (k, title, _) in REPORTS {
                        option value=(k) selected[k == kind] { (title) }
                    }
                }
            }
            div {
                label for="org" { "Đơn vị " span.hint { "(mã định danh; báo cáo gồm cả các đơn vị trực thuộc)" } }
                input #org type="text" name="org" value=(org);
            }
            div {
                label for="year" { "Năm " span.hint { "(báo cáo hằng năm)" } }
                input #year type="text" name="year" inputmode="numeric" value=(get("year"));
            }
            div {
                label for="from" { "Từ ngày " span.hint { "(báo cáo quản lý, dd/mm/yyyy)" } }
                input #from type="text" name="from" inputmode="numeric" placeholder="dd/mm/yyyy" value=(get("from"));
            }
            div {
                label for="to" { "Đến ngày " span.hint { "(báo cáo quản lý, dd/mm/yyyy)" } }
                input #to type="text" name="to" inputmode="numeric" placeholder="dd/mm/yyyy" value=(get("to"));
            }
            div {
                label for="date" { "Tại ngày " span.hint { "(thời hạn, chất lượng, thống kê; mặc định hôm nay)" } }
                input #date type="text" name="date" inputmode="numeric" placeholder="dd/mm/yyyy" value=(get("date"));
            }
            @for (name, label) in [("rows", "Dòng theo"), ("cols", "Cột theo")] {
                div {
                    label for=(name) { (label) " " span.hint { "(thống kê theo hai tiêu chí)" } }
                    select id=(name) name=(name) {
                        @let chosen = get(name);
                        @for (d, l) in DIMENSIONS {
                            option value=(d) selected[d == chosen] { (l) }
                        }
                    }
                }
            }
            div { button type="submit" { "Xem báo cáo" } }
        }
    }
}

/// `GET /reports?kind=…`: the form, and the report asked for.
pub(crate) async fn show(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let asked = q
        .get("kind")
        .filter(|k| !k.is_empty())
        .map(|_| api_request(&q));
    let title = REPORTS
        .iter()
        .find(|(k, _, _)| Some(*k) == q.get("kind").map(String::as_str))
        .map(|r| r.1);
    let shown: Option<Shown> = match asked {
        None => None,
        Some(Err(r)) => Some(Err(r)),
        Some(Ok((path, params))) => {
            let files = REPORTS
                .iter()
                .any(|(k, _, f)| *f && Some(*k) == q.get("kind").map(String::as_str));
            let links = files.then(|| {
                let mut kept: Vec<(&str, String)> =
                    vec![("kind", q.get("kind").cloned().unwrap_or_default())];
                for k in ["org", "year", "from", "to", "date", "rows", "cols"] {
                    if let Some(x) = q.get(k).filter(|x| !x.is_empty()) {
                        kept.push((k, x.clone()));
                    }
                }
                let link = |f: &str| {
                    let mut l = kept.clone();
                    l.push(("format", f.to_owned()));
                    with_query("/reports/file", &l)
                };
                (link("csv"), link("xlsx"))
            });
            Some(
                p.api
                    .get(&v.who, &with_query(&path, &params))
                    .await
                    .map(|r| (r, links)),
            )
        }
    };
    let body = html! {
        (report_form(&v, &q))
        @match &shown {
            None => {},
            Some(Err(r)) => { (refusal_box(r)) },
            Some(Ok((report, links))) => {
                section #report aria-label=(title.unwrap_or("Báo cáo")) {
                    h2 { (title.unwrap_or("Báo cáo")) }
                    @if let Some((csv, xlsx)) = links {
                        p.actions {
                            a.button href=(csv) download { "Tải CSV" }
                            a.button href=(xlsx) download { "Tải Excel (XLSX)" }
                        }
                    }
                    (json_view(report, 1))
                }
            },
        }
    };
    page(&v, "Báo cáo, thống kê", body)
}

/// `GET /reports/file?kind=…&format=csv|xlsx`: the API's file, with its
/// media type and file name.
pub(crate) async fn file(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let format = match q.get("format").map(String::as_str) {
        Some(f @ ("csv" | "xlsx")) => f.to_owned(),
        _ => return refused_page(Some(&v), &unknown_report()),
    };
    let (path, mut params) = match api_request(&q) {
        Ok(r) => r,
        Err(r) => return refused_page(Some(&v), &r),
    };
    params.push(("format", format));
    let answer = p
        .api
        .send(&v.who, Method::GET, &with_query(&path, &params), None)
        .await;
    if !answer.ok() {
        return refused_page(Some(&v), &answer.refusal());
    }
    let mut resp = (answer.status, answer.body).into_response();
    for h in [header::CONTENT_TYPE, header::CONTENT_DISPOSITION] {
        if let Some(val) = answer.headers.get(&h) {
            resp.headers_mut().insert(h, val.clone());
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(pairs: &[(&str, &str)]) -> super::super::Query {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_report_request_passes_only_its_own_parameters_with_iso_dates() {
        let (path, q) = api_request(&query(&[
            ("kind", "management"),
            ("org", "000.02.00.H33"),
            ("from", "01/01/2026"),
            ("to", "2026-03-31"),
            ("year", "2026"),
        ]))
        .unwrap_or_default();
        assert_eq!(path, "/reports/management");
        assert_eq!(
            with_query(&path, &q),
            "/reports/management?org=000.02.00.H33&from=2026-01-01&to=2026-03-31"
        );
        let (path, q) = api_request(&query(&[
            ("kind", "sla"),
            ("org", "X"),
            ("date", "05/01/2026"),
        ]))
        .unwrap_or_default();
        assert_eq!(with_query(&path, &q), "/reports/sla?org=X&on=2026-01-05");
    }

    #[test]
    fn an_unknown_report_or_a_bad_date_is_refused_before_the_api() {
        assert_eq!(
            api_request(&query(&[("kind", "../accounts")]))
                .err()
                .map(|r| r.status),
            Some(404)
        );
        assert_eq!(
            api_request(&query(&[("kind", "sla"), ("date", "31/02/2026")]))
                .err()
                .map(|r| r.rule().to_owned()),
            Some("portal:bad-date".to_owned())
        );
    }

    #[test]
    fn a_category_row_is_named_in_words_not_by_its_code_alone() {
        let html = json_view(
            &json!({"by_category": [{"code": "commune_cadre", "name": "", "count": 14},
                                    {"code": "unknown", "name": "", "count": 1},
                                    {"code": "01.003", "name": "Chuyên viên", "count": 12}]}),
            1,
        )
        .into_string();
        assert!(html.contains("<td>Cán bộ, công chức cấp xã</td>"), "{html}");
        assert!(html.contains("<td>Chưa xác định</td>"), "{html}");
        assert!(html.contains("<td>Chuyên viên</td>"), "{html}");
    }

    #[test]
    fn a_report_renders_as_lists_and_tables_in_vietnamese() {
        let html = json_view(
            &json!({"org": "X", "year": 2026, "by_category": [{"key": "cong_chuc", "count": 3}], "today": "2026-01-05"}),
            1,
        )
        .into_string();
        assert!(html.contains("<dt>Năm</dt><dd>2026</dd>"), "{html}");
        assert!(html.contains("05/01/2026"), "{html}");
        assert!(html.contains("<th scope=\"col\">Số lượng</th>"), "{html}");
        assert!(html.contains("<td>cong_chuc</td><td>3</td>"), "{html}");
        assert!(html.contains("<h2>Phân loại</h2>"), "{html}");
    }
}

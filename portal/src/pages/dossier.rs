//! A dossier: its facts and sections as approved, the changes waiting for
//! review, what was returned and why, its open deadlines, the approvals, the
//! history with each change's diff, and the actions the visitor's roles
//! allow. The `as_of` picker shows the dossier as it stood on a date.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::format;
use crate::page::{csrf, item, page, refused_page};
use crate::session::Viewer;
use crate::units::Units;
use crate::words;

/// Renders one field's value: a sealed one the reader may not open shows as
/// withheld, never as empty.
fn value(f: &Value) -> Markup {
    let v = f["value"].as_str().unwrap_or("");
    let sealed = f["sealed"].as_str().is_some_and(|s| !s.is_empty());
    html! {
        @if v.is_empty() && sealed { em { "(thông tin hạn chế, không hiển thị)" } }
        @else { (v) }
    }
}

pub(crate) fn label(code: &str) -> String {
    match hoso_domain::form::field_label_or_column(code) {
        Some(l) => format!("{l} ({code})"),
        None => code.to_owned(),
    }
}

pub(crate) fn section_title(code: &str) -> &str {
    hoso_domain::form::section(code).map_or(code, |s| s.title)
}

/// A section's fields as a table (rows of a table section numbered; the row
/// column only where there are rows).
fn fields_table(fields: &Value) -> Markup {
    let empty = Vec::new();
    let fields = fields.as_array().unwrap_or(&empty);
    let rows = fields
        .iter()
        .any(|f| f["row"].as_u64().is_some_and(|r| r > 0));
    html! {
        div.scroll {
            table.fields {
                thead { tr { th scope="col" { "Mục" } @if rows { th scope="col" { "Dòng" } } th scope="col" { "Nội dung" } } }
                tbody {
                    @for f in fields {
                        tr {
                            td { (label(f["field"].as_str().unwrap_or(""))) }
                            @if rows { td { @match f["row"].as_u64() { Some(0) | None => {}, Some(r) => { (r) } } } }
                            td { (value(f)) }
                        }
                    }
                }
            }
        }
    }
}

/// Who acted: their name (the account id on hover) when the API gave it,
/// else the shortened id.
fn who(name: &Value, id: &str) -> Markup {
    html! {
        @match name.as_str().filter(|n| !n.is_empty()) {
            Some(n) => { span title=(id) { (n) } },
            None => { (account(id)) },
        }
    }
}

/// An account's id, shortened for a table cell (the whole id on hover and
/// for screen readers). Its end, not its start: ids are UUIDv7, whose first
/// characters are the time of issue and read the same for every account
/// issued the same week.
pub(crate) fn account(id: &str) -> Markup {
    let chars: Vec<char> = id.chars().collect();
    let short: String = chars[chars.len().saturating_sub(8)..].iter().collect();
    html! {
        @if short.len() < id.len() { code title=(id) aria-label=(id) { "…" (short) } }
        @else { code { (id) } }
    }
}

/// The sections of `map` in the form's order (unknown codes last).
fn in_form_order(map: &Value) -> Vec<(&str, &Value)> {
    let Some(m) = map.as_object() else {
        return Vec::new();
    };
    let order = |code: &str| {
        hoso_domain::form::SECTIONS
            .iter()
            .position(|s| s.code == code)
            .unwrap_or(usize::MAX)
    };
    let mut out: Vec<(&str, &Value)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
    out.sort_by_key(|(k, _)| (order(k), k.to_string()));
    out
}

/// `GET /dossiers/{id}?as_of=&known_at=`.
pub(crate) async fn page_handler(
    p: &Portal,
    v: &Viewer,
    id: &str,
    q: &super::Query,
) -> Result<Response, Response> {
    let id = super::dossier_id(id).ok_or_else(|| refused_page(Some(v), &not_found_refusal()))?;
    let mut query = Vec::new();
    for k in ["as_of", "known_at"] {
        if let Some(d) = q.get(k).filter(|d| !d.is_empty()) {
            let d = format::parse_date(d).map_or_else(|| d.clone(), |d| d.to_string());
            query.push((k, d));
        }
    }
    if let Some(w) = q.get("wait_for").and_then(|w| w.parse::<u64>().ok()) {
        query.push(("wait_for", w.to_string()));
    }
    let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
    let uri = if qs.is_empty() {
        format!("/dossiers/{id}")
    } else {
        format!("/dossiers/{id}?{qs}")
    };
    let d = p
        .api
        .get(&v.who, &uri)
        .await
        .map_err(|r| refused_page(Some(v), &r))?;
    // What was returned and why is in the history; only asked when it matters.
    let returned =
        if d["workflow"] == "returned" || !d["pending"].as_object().is_none_or(|m| m.is_empty()) {
            p.api
                .get(&v.who, &format!("/dossiers/{id}/history"))
                .await
                .ok()
                .map(|h| last_returns(&h))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
    // Deadlines run now: shown with the dossier as it stands, not as of a date.
    // A refusal leaves the section out rather than the page.
    let current = query.iter().all(|(k, _)| *k == "wait_for");
    let deadlines = if current {
        p.api
            .get(&v.who, &format!("/dossiers/{id}/obligations"))
            .await
            .ok()
            .map(|o| o.as_array().cloned().unwrap_or_default())
    } else {
        None
    };
    let codes: Vec<&str> = ["managing_unit", "employing_unit"]
        .iter()
        .filter_map(|k| d[*k].as_str())
        .collect();
    let units = Units::of(p, v, &codes).await;
    let name = d["full_name"].as_str().unwrap_or("").to_owned();
    let workflow = d["workflow"].as_str().unwrap_or("");
    let own = v.own_dossier() == Some(id);
    let may_write = own || v.has_grants();
    let body = html! {
        dl.facts {
            (item("Họ và tên", html! { (name) }))
            (item("Phân loại", html! { (words::category(d["category"].as_str().unwrap_or(""))) }))
            (item("Tình trạng", html! { (words::status(d["status"].as_str().unwrap_or(""))) }))
            (item("Đơn vị quản lý", html! { span #managing-unit { (units.show_value(&d["managing_unit"])) } }))
            (item("Đơn vị sử dụng", html! { span #employing-unit { (units.show_value(&d["employing_unit"])) } }))
            (item("Quy trình", html! { span.badge.(workflow) #workflow { (words::workflow(workflow)) } }))
            (item("Phiên bản", html! { (d["revision"]) }))
            @if let Some(r) = d["rank"].as_object() {
                (item("Ngạch", html! { (r["value"]["name"].as_str().unwrap_or("")) " (" (r["value"]["code"].as_str().unwrap_or("")) ")" }))
            }
            @if let Some(s) = d["salary"].as_object() {
                (item("Bậc, hệ số lương", html! {
                    "Bậc " (s["value"]["step"]) ", hệ số "
                    (hundredths(s["value"]["coefficient_x100"].as_u64().unwrap_or(0)))
                }))
            }
        }
        form.inline method="get" action={ "/dossiers/" (id) } aria-label="Xem hồ sơ tại một thời điểm" {
            div {
                label for="as_of" { "Xem hồ sơ tại ngày " span.hint { "(ngày hiệu lực, dd/mm/yyyy)" } }
                input #as_of type="text" name="as_of" inputmode="numeric" placeholder="dd/mm/yyyy"
                    value=(d["as_of"].as_str().map(format::date).unwrap_or_default());
            }
            div { button.secondary type="submit" { "Xem" } }
            @if d["as_of"].is_string() { a href={ "/dossiers/" (id) } { "Về hiện tại" } }
        }
        nav.actions aria-label="Thao tác với hồ sơ" {
            a href={ "/dossiers/" (id) "/history" } { "Lịch sử thay đổi" }
            @if v.has_grants() && !own && v.kind() != "inspector" && d["as_of"].is_null() {
                a href={ "/dossiers/" (id) "/decisions" } { "Cập nhật quyết định" }
                a href={ "/dossiers/" (id) "/status" } { "Thay đổi tình trạng" }
                a href={ "/dossiers/" (id) "/transfers" } { "Điều động, chuyển công tác" }
                a href={ "/dossiers/" (id) "/account" } { "Cấp tài khoản cá nhân" }
            }
            @if v.kind() != "personal" {
                a href={ "/dossiers/" (id) "/timeline" } { "Dòng thời gian kiểm chứng (gói hồ sơ)" }
            }
            @if own || may_see_readers(v) {
                " "
                a href={ "/dossiers/" (id) "/readers" } {
                    @if own { "Ai đã xem hồ sơ của tôi" } @else { "Ai đã xem hồ sơ" }
                }
            }
        }
        @if let Some(open) = &deadlines {
            section #deadlines aria-labelledby="deadlines-title" {
                h2 #deadlines-title { "Thời hạn" }
                @if open.is_empty() { p.hint { "Không có việc nào đang chờ xử lý theo thời hạn." } }
                @else {
                    @let late = open.iter().filter(|o| o["overdue_working_days"].as_u64().unwrap_or(0) > 0).count();
                    @if late > 0 { p.overdue role="status" { "Có " (late) " việc đã quá hạn." } }
                    (super::queues::deadline_list(open))
                    p.hint { "Thời hạn tính theo ngày làm việc của tỉnh (trừ ngày nghỉ lễ, Tết)." }
                }
            }
        }
        @if !returned.is_empty() {
            section.refusal #returned {
                h2 { "Nội dung bị trả lại" }
                ul {
                    @for (section, reasons) in &returned {
                        li { strong { (section_title(section)) } ": " (reasons.join("; ")) }
                    }
                }
                @if own { p { "Vui lòng kê khai lại các mục trên." } }
            }
        }
        (access_note(&d["access"]))
        h2 { "Thông tin đã phê duyệt" }
        @let approved = in_form_order(&d["sections"]);
        @if approved.is_empty() { p.hint { "Chưa có mục nào được phê duyệt." } }
        @for (code, fields) in approved {
            section aria-label=(section_title(code)) {
                h3 { (section_title(code)) }
                (fields_table(fields))
            }
        }
        h2 { "Thay đổi đang chờ thẩm định, phê duyệt" }
        @let pending = in_form_order(&d["pending"]);
        @if pending.is_empty() { p.hint { "Không có thay đổi nào đang chờ." } }
        @for (code, fields) in pending {
            section.pending aria-label={ "Đang chờ: " (section_title(code)) } {
                h3 { (section_title(code)) }
                (fields_table(fields))
            }
        }
        @if may_write && d["as_of"].is_null() {
            h2 { "Kê khai, bổ sung" }
            @if workflow == "locked" || workflow == "verified" && !own {
                p.hint { "Bản kê khai đang ở bước thẩm định hoặc phê duyệt." }
            }
            ul.sections {
                @for s in hoso_domain::form::SECTIONS {
                    li { a href={ "/dossiers/" (id) "/declare/" (s.code) } { (s.title) } }
                }
            }
        }
        @if v.has_grants() && !own && d["as_of"].is_null() && matches!(workflow, "declaring" | "verified") {
            (review_forms(v, id, workflow, &pending_codes(&d)))
        }
        @if workflow == "locked" && v.has_keys() && d["as_of"].is_null() {
            p { a.button href={ "/dossiers/" (id) "/approve" } { "Ký phê duyệt" } }
        }
        h2 { "Các lần phê duyệt" }
        @let approvals = d["approvals"].as_array().cloned().unwrap_or_default();
        @if approvals.is_empty() { p.hint { "Chưa có." } }
        @else {
            div.scroll {
                table #approvals {
                    thead { tr { th { "Phiên bản" } th { "Người ký" } th { "Khóa" } th { "Ủy quyền từ" } } }
                    tbody {
                        @for a in &approvals {
                            tr {
                                td { (a["revision"]) }
                                td { (who(&a["signer_name"], a["signer"].as_str().unwrap_or(""))) }
                                td { code { (a["key_id"].as_str().unwrap_or("")) } }
                                td { @if let Some(from) = a["delegated_from"].as_str() { (who(&a["delegated_from_name"], from)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(v, &format!("Hồ sơ: {name}"), body))
}

/// On what ground the visitor reads the dossier, up to which level, and what
/// the API left out for that level (`section/field#row`, or a fact's name):
/// a withheld field is named, never silently missing.
fn access_note(a: &Value) -> Markup {
    let basis = a["basis"].as_str().unwrap_or("");
    let ground = match basis.split_once(':') {
        None if basis == "own-data" => "hồ sơ của chính mình".to_owned(),
        Some(("right", r)) => format!(
            "quyền {} đối với đơn vị quản lý",
            words::right(r).to_lowercase()
        ),
        Some(("delegation", _)) => "ủy quyền phê duyệt".to_owned(),
        Some(("consent", _)) => "sự đồng ý của người có hồ sơ".to_owned(),
        Some(("inspection", _)) => "quyết định thanh tra".to_owned(),
        _ => basis.to_owned(),
    };
    let level = match a["clearance"].as_str().unwrap_or("") {
        "general" => "thông thường",
        "restricted" => "hạn chế",
        "secret" => "mật",
        other => other,
    };
    let withheld: Vec<String> = a["withheld"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(withheld_words)
        .collect();
    html! {
        @if !basis.is_empty() {
            p.hint #access {
                "Căn cứ xem hồ sơ: " (ground) "; mức thông tin được xem: " (level) "."
                @if !withheld.is_empty() {
                    " Không hiển thị theo mức được xem: " (withheld.join("; ")) "."
                }
            }
        }
    }
}

/// `identity/25a#0` → the field's label; a fact's name as it is.
fn withheld_words(w: &str) -> String {
    let Some((section, rest)) = w.split_once('/') else {
        return words::fact(w).to_owned();
    };
    let field = rest.split('#').next().unwrap_or(rest);
    format!("{} ({})", label(field), section_title(section))
}

/// Whether the visitor may hold admin right over some unit (or is the Sở
/// Nội vụ), so that a dossier's readers may be theirs to see; the API
/// decides for the dossier at hand.
fn may_see_readers(v: &Viewer) -> bool {
    v.kind() == "system_admin"
        || v.me["grants"]
            .as_object()
            .is_some_and(|g| g.values().any(|r| r == "admin"))
}

fn pending_codes(d: &Value) -> Vec<String> {
    d["pending"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The reviewer's three steps: return sections with reasons, verify, lock.
fn review_forms(v: &Viewer, id: &str, workflow: &str, pending: &[String]) -> Markup {
    html! {
        h2 { "Thẩm định" }
        div.actions {
            @if workflow == "declaring" && !pending.is_empty() {
                form method="post" action={ "/dossiers/" (id) "/review" } aria-label="Trả lại để kê khai lại" {
                    (csrf(v))
                    input type="hidden" name="action" value="return";
                    fieldset {
                        legend { "Trả lại các mục" }
                        @for (i, code) in pending.iter().enumerate() {
                            div {
                                input type="checkbox" name="sections" value=(code) id={ "ret-" (i) };
                                label.inline for={ "ret-" (i) } { (section_title(code)) }
                            }
                        }
                    }
                    label for="reason" { "Lý do trả lại" }
                    textarea #reason name="reason" required {}
                    button.danger type="submit" { "Trả lại" }
                }
                form method="post" action={ "/dossiers/" (id) "/review" } aria-label="Xác nhận đã thẩm định" {
                    (csrf(v))
                    input type="hidden" name="action" value="verify";
                    label for="note" { "Ghi chú thẩm định" span.hint { " (không bắt buộc)" } }
                    input #note type="text" name="note";
                    button type="submit" { "Xác nhận khớp bản gốc" }
                }
            }
            @if workflow == "verified" {
                form method="post" action={ "/dossiers/" (id) "/review" } aria-label="Khóa bản kê khai" {
                    (csrf(v))
                    input type="hidden" name="action" value="lock";
                    p { "Khóa bản kê khai đã thẩm định để trình phê duyệt (HY 10.3). Sau khi khóa, người kê khai không thể sửa." }
                    button type="submit" { "Khóa và trình phê duyệt" }
                }
            }
        }
    }
}

/// The latest return of each section still relevant: (section, reasons).
fn last_returns(history: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for e in history.as_array().into_iter().flatten() {
        let ty = e["event_type"].as_str().unwrap_or("");
        if ty.ends_with("ApprovalSigned") {
            out.clear();
        }
        for d in e["diff"].as_array().into_iter().flatten() {
            if let (Some(s), Some(r)) = (d["section"].as_str(), d["returned"].as_array()) {
                out.retain(|(k, _)| k != s);
                let reasons = r
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect();
                out.push((s.to_owned(), reasons));
            }
        }
        if ty.ends_with("DeclarationSubmitted") {
            for d in e["diff"].as_array().into_iter().flatten() {
                if let Some(s) = d["section"].as_str() {
                    out.retain(|(k, _)| k != s);
                }
            }
        }
    }
    out
}

/// The refusal of a dossier that is not there or not the visitor's to see.
pub(crate) fn not_found_refusal() -> crate::call::Refusal {
    crate::call::Refusal {
        type_: "urn:hoso:problem:request:not-found".into(),
        status: 404,
        ..crate::call::Refusal::default()
    }
}

/// `GET /dossiers/{id}`.
pub(crate) async fn show(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<super::Query>,
) -> Response {
    page_handler(&p, &v, &id, &q).await.unwrap_or_else(|r| r)
}

/// An event type in words.
pub(crate) fn event_words(ty: &str) -> &str {
    match ty.rsplit('.').next().unwrap_or(ty) {
        "DossierOpened" => "Lập hồ sơ",
        "DossierImported" => "Nhập hồ sơ từ hệ thống cũ",
        "DeclarationSubmitted" => "Kê khai",
        "DeclarationReturned" => "Trả lại để kê khai lại",
        "DeclarationVerified" => "Thẩm định",
        "DossierLocked" => "Khóa bản kê khai",
        "ApprovalSigned" => "Phê duyệt (ký số)",
        "RankChanged" => "Thay đổi ngạch",
        "SalaryChanged" => "Thay đổi lương",
        "AppointmentRecorded" => "Bổ nhiệm, miễn nhiệm",
        "AwardGranted" => "Khen thưởng",
        "DisciplineImposed" => "Kỷ luật",
        "EvaluationRecorded" => "Đánh giá, xếp loại",
        "PlanningRecorded" => "Quy hoạch",
        "TransferInitiated" => "Chuyển công tác (đi)",
        "TransferAccepted" => "Tiếp nhận chuyển công tác",
        "TransferRejected" => "Từ chối tiếp nhận",
        "TransferForwarded" => "Chuyển tiếp cho đơn vị sử dụng",
        "DepartmentChanged" => "Điều động trong cơ quan",
        "AllowanceChanged" => "Phụ cấp",
        "TrainingRecorded" => "Đào tạo, bồi dưỡng",
        "ManagingUnitReassigned" => "Đổi đơn vị quản lý do sắp xếp tổ chức",
        "StatusChanged" => "Thay đổi tình trạng",
        "ObligationOpened" => "Mở thời hạn xử lý",
        "ObligationClosed" => "Đóng thời hạn xử lý",
        "AccessLogged" => "Ghi nhận truy cập",
        other => other,
    }
}

/// A changed value: text as it is, anything else (a decision's amounts, a
/// rank with its step) compactly.
fn changed(v: &Value) -> Markup {
    html! {
        @match v {
            Value::String(t) => { (t) },
            other => { code { (other.to_string()) } },
        }
    }
}

/// The name of a value the API spells as a code (`grade`: `good`), from the
/// decision forms' own lists; the code itself when the list lacks it.
fn value_words(list: &str, code: &str) -> String {
    words::decision_values(list)
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_owned(), |(_, w)| (*w).to_owned())
}

/// Hundredths as a Vietnamese decimal: 432 → "4,32", 4000 → "40".
fn hundredths(x: u64) -> String {
    match x % 100 {
        0 => (x / 100).to_string(),
        f => format!("{},{f:02}", x / 100),
    }
}

/// A date member of a decision, dd/mm/yyyy.
fn date_of(v: &Value) -> Option<String> {
    v.as_str().filter(|d| !d.is_empty()).map(format::date)
}

/// A change the history records of a decision, a move or a status (a member
/// of the dossier's summary, not of the form): its label and its new value
/// in words, as the decision was typed — never the API's JSON.
pub(crate) fn summary_change(
    field: &str,
    to: &Value,
    units: &Units,
) -> Option<(&'static str, String)> {
    let text = |k: &str| to[k].as_str().unwrap_or("").trim().to_owned();
    let join = |parts: Vec<String>| {
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(match field {
        "rank" => ("Ngạch, chức danh", to.as_str()?.to_owned()),
        "position" => ("Chức vụ", to.as_str()?.to_owned()),
        "managing_unit" => ("Đơn vị quản lý", units.words(to.as_str()?)),
        "employing_unit" => ("Đơn vị sử dụng", units.words(to.as_str()?)),
        "status" => {
            let code = match to {
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| words::STATUSES.get(i).copied())?,
                Value::String(s) => s.as_str(),
                _ => return None,
            };
            ("Tình trạng", words::status(code).to_owned())
        }
        "salary" => (
            "Bậc, hệ số lương",
            join(vec![
                format!("ngạch {}", text("rank")),
                format!("bậc {}", to["step"].as_u64()?),
                format!("hệ số {}", hundredths(to["coefficient_x100"].as_u64()?)),
            ]),
        ),
        "allowance" => {
            let a = &to["amount"];
            let amount = if let Some(p) = a["percent_x100"].as_u64() {
                format!("{}%", hundredths(p))
            } else if let Some(c) = a["coefficient_x100"].as_u64() {
                format!("hệ số {}", hundredths(c))
            } else if let Some(v) = a["amount_vnd"].as_u64() {
                format!("{v} đồng")
            } else {
                "chấm dứt".to_owned()
            };
            let name = match text("name") {
                n if n.is_empty() => value_words("allowance_kind", &text("kind")),
                n => n,
            };
            ("Phụ cấp", format!("{name}: {amount}"))
        }
        "award" => (
            "Khen thưởng",
            join(vec![
                text("form"),
                to["year"]
                    .as_u64()
                    .map(|y| format!("năm {y}"))
                    .unwrap_or_default(),
            ]),
        ),
        "discipline" => (
            "Kỷ luật",
            join(vec![
                value_words("discipline_form", &text("form")),
                value_words("discipline_body", &text("body")),
                date_of(&to["until"])
                    .map(|d| format!("đến {d}"))
                    .unwrap_or_default(),
            ]),
        ),
        "training" => (
            "Đào tạo, bồi dưỡng",
            join(vec![
                text("institution"),
                text("major"),
                value_words("training_mode", &text("mode")),
                text("qualification"),
                match (date_of(&to["from"]), date_of(&to["until"])) {
                    (Some(f), Some(u)) => format!("từ {f} đến {u}"),
                    (Some(f), None) => format!("từ {f}"),
                    (None, Some(u)) => format!("đến {u}"),
                    (None, None) => String::new(),
                },
            ]),
        ),
        "evaluation" => (
            "Đánh giá, xếp loại",
            format!(
                "năm {}: {}",
                to["year"].as_u64()?,
                value_words("grade", &text("grade"))
            ),
        ),
        "planning" => (
            "Quy hoạch",
            join(vec![
                text("position"),
                to["org_code"]
                    .as_str()
                    .map(|c| units.words(c))
                    .unwrap_or_default(),
                match (to["from_year"].as_u64(), to["until_year"].as_u64()) {
                    (Some(f), Some(u)) => format!("giai đoạn {f}–{u}"),
                    _ => String::new(),
                },
            ]),
        ),
        _ => return None,
    })
}

/// The unit codes a history names (moves, transfers, the opening, planning),
/// so that one call can name them all.
fn history_units(entries: &[Value]) -> Vec<&str> {
    let mut codes = Vec::new();
    for d in entries
        .iter()
        .flat_map(|e| e["diff"].as_array().into_iter().flatten())
    {
        match d["field"].as_str() {
            Some("managing_unit" | "employing_unit") => {
                codes.extend([&d["from"], &d["to"]].into_iter().filter_map(Value::as_str));
            }
            Some("planning") => codes.extend(d["to"]["org_code"].as_str()),
            _ => {}
        }
        if d["transfer"].is_string() {
            codes.extend(d["to"].as_str());
        }
        for side in ["managing_unit", "employing_unit"] {
            codes.extend(d["opened"][side].as_str());
        }
    }
    codes
}

fn diff_item(id: &str, d: &Value, units: &Units) -> Markup {
    let section = d["section"].as_str().unwrap_or("");
    // A member of the summary: its label from whichever side is there.
    let summary = d["field"]
        .as_str()
        .filter(|_| section.is_empty())
        .and_then(|f| {
            let side = |v: &Value| {
                (!v.is_null())
                    .then(|| summary_change(f, v, units))
                    .flatten()
            };
            let (to, from) = (side(&d["to"]), side(&d["from"]));
            let label = to.as_ref().or(from.as_ref())?.0;
            Some((label, from.map(|(_, w)| w), to.map(|(_, w)| w)))
        });
    html! {
        @if let Some((label, from, to)) = summary {
            li {
                (label) ": "
                @if let Some(from) = from { del { (from) } " → " }
                @if let Some(to) = to { ins { (to) } } @else { em { "(thôi, chấm dứt)" } }
            }
        } @else if let Some(transfer) = d["transfer"].as_str() {
            li { "Chuyển hồ sơ đến " (units.show_value(&d["to"])) " (mã chuyển công tác " code { (transfer) } ")" }
        } @else if let Some(field) = d["field"].as_str() {
            li {
                @if !section.is_empty() { (section_title(section)) " · " }
                (label(field))
                @if let Some(r) = d["row"].as_u64().filter(|r| *r > 0) { " · dòng " (r) }
                ": "
                @if d["sealed"].as_bool() == Some(true) { em { "(thông tin hạn chế đã thay đổi)" } }
                @else {
                    @if !d["from"].is_null() { del { (changed(&d["from"])) } " → " }
                    @if d["to"].is_null() { em { "(xóa)" } } @else { ins { (changed(&d["to"])) } }
                }
            }
        } @else if let Some(r) = d["returned"].as_array() {
            li {
                "Trả lại mục " (section_title(section)) ": "
                (r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
            }
        } @else if let Some(docs) = d["attachments"].as_array() {
            li {
                "Tài liệu chứng minh (" (section_title(section)) "): "
                @for (i, sha) in docs.iter().filter_map(Value::as_str).enumerate() {
                    @if i > 0 { ", " }
                    a href={ "/dossiers/" (id) "/attachments/" (sha) } title=(sha) {
                        "bản số hóa " (sha.chars().take(8).collect::<String>()) "…"
                    }
                }
            }
        } @else if let Some(o) = d["opened"].as_object() {
            li {
                (o.get("full_name").and_then(Value::as_str).unwrap_or(""))
                "; đơn vị quản lý " (units.show_value(o.get("managing_unit").unwrap_or(&Value::Null)))
                "; đơn vị sử dụng " (units.show_value(o.get("employing_unit").unwrap_or(&Value::Null)))
            }
        } @else if let Some(r) = d["approved_revision"].as_u64() {
            li { "Phê duyệt phiên bản " (r) }
        } @else {
            li { code { (d.to_string()) } }
        }
    }
}

/// The bookkeeping of deadlines (an obligation opened or closed): the
/// history shows it only when asked, since it carries no change to read and
/// would otherwise make most of a dossier's rows (the deadlines themselves
/// are on the dossier's page and in the reports).
fn bookkeeping(e: &Value) -> bool {
    let ty = e["event_type"].as_str().unwrap_or("");
    matches!(
        ty.rsplit('.').next(),
        Some("ObligationOpened" | "ObligationClosed")
    )
}

/// `GET /dossiers/{id}/history?all=`: every change with its diff, the date it
/// took effect and the date it was recorded; with `all`, the deadlines'
/// bookkeeping too.
pub(crate) async fn history(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<super::Query>,
) -> Response {
    let Some(id) = super::dossier_id(&id) else {
        return refused_page(Some(&v), &not_found_refusal());
    };
    let h = match p.api.get(&v.who, &format!("/dossiers/{id}/history")).await {
        Ok(h) => h,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let all = q.get("all").is_some_and(|a| a == "1");
    let mut entries = h.as_array().cloned().unwrap_or_default();
    let hidden = entries.iter().filter(|e| bookkeeping(e)).count();
    if !all {
        entries.retain(|e| !bookkeeping(e));
    }
    let units = Units::of(&p, &v, &history_units(&entries)).await;
    let body = html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        @if hidden > 0 {
            p.hint #bookkeeping {
                @if all {
                    "Đang hiện cả " (hidden) " sự kiện mở, đóng thời hạn xử lý. "
                    a href={ "/dossiers/" (id) "/history" } { "Chỉ hiện các thay đổi" }
                } @else {
                    "Không hiện " (hidden) " sự kiện mở, đóng thời hạn xử lý. "
                    a href={ "/dossiers/" (id) "/history?all=1" } { "Hiện tất cả" }
                }
            }
        }
        div.scroll {
            table #history {
                thead {
                    tr {
                        th scope="col" { "Phiên bản" }
                        th scope="col" { "Sự kiện" }
                        th scope="col" { "Ngày hiệu lực" }
                        th scope="col" { "Ngày ghi nhận" }
                        th scope="col" { "Người thực hiện" }
                        th scope="col" { "Căn cứ" }
                        th scope="col" { "Thay đổi" }
                    }
                }
                tbody {
                    @for e in entries.iter().rev() {
                        tr {
                            td { (e["revision"]) }
                            td { (event_words(e["event_type"].as_str().unwrap_or(""))) }
                            td { (e["effective"].as_str().map(format::date).unwrap_or_default()) }
                            td { (format::time(e["recorded_at"].as_str().unwrap_or(""))) }
                            td { (who(&e["actor_name"], e["actor"].as_str().unwrap_or(""))) }
                            td {
                                @if let Some(doc) = e["document"].as_object() {
                                    (doc.get("number").and_then(Value::as_str).unwrap_or(""))
                                    @if let Some(date) = doc.get("date").and_then(Value::as_str) { " ngày " (format::date(date)) }
                                    @if let Some(sha) = doc.get("attachment_sha256").and_then(Value::as_str) {
                                        " · " a href={ "/dossiers/" (id) "/attachments/" (sha) } { "bản số hóa" }
                                    }
                                }
                            }
                            td.diff {
                                ul { @for d in e["diff"].as_array().into_iter().flatten() { (diff_item(id, d, &units)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&v, "Lịch sử thay đổi hồ sơ", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_return_shows_until_the_section_is_declared_again() {
        let h = json!([
            {"event_type": "dossier.DeclarationSubmitted", "diff": [{"section": "identity", "field": "1", "to": "A"}]},
            {"event_type": "dossier.DeclarationReturned", "diff": [{"section": "identity", "returned": ["thiếu tôn giáo"]}]},
        ]);
        assert_eq!(
            last_returns(&h),
            vec![("identity".to_owned(), vec!["thiếu tôn giáo".to_owned()])]
        );
        let mut again = h.as_array().cloned().unwrap_or_default();
        again.push(json!({"event_type": "dossier.DeclarationSubmitted", "diff": [{"section": "identity", "field": "7", "to": "B"}]}));
        assert!(last_returns(&Value::Array(again)).is_empty());
    }

    #[test]
    fn a_change_to_a_value_that_is_not_text_is_shown_not_taken_for_a_removal() {
        let salary = json!({"field": "salary", "from": null,
                            "to": {"rank": "01.003", "step": 2, "coefficient_x100": 267}});
        let shown = diff_item("d", &salary, &Units::default()).into_string();
        assert!(
            shown.contains("Bậc, hệ số lương: <ins>ngạch 01.003, bậc 2, hệ số 2,67</ins>"),
            "{shown}"
        );
        assert!(!shown.contains("(xóa)"), "{shown}");
        let removed = diff_item(
            "d",
            &json!({"section": "identity", "field": "7", "from": "A", "to": null}),
            &Units::default(),
        );
        assert!(removed.into_string().contains("(xóa)"));
    }

    #[test]
    fn decisions_moves_and_statuses_are_shown_in_words_not_as_the_apis_json() {
        for (d, want) in [
            (
                json!({"field": "evaluation", "from": null, "to": {"grade": "not_completed", "year": 2025}}),
                "Đánh giá, xếp loại: <ins>năm 2025: Không hoàn thành nhiệm vụ</ins>",
            ),
            (
                json!({"field": "allowance", "from": null, "to": {"amount": {"percent_x100": 4000},
                       "kind": "professional_preference", "name": "Phụ cấp ưu đãi theo nghề"}}),
                "Phụ cấp: <ins>Phụ cấp ưu đãi theo nghề: 40%</ins>",
            ),
            (
                json!({"field": "status", "from": 1, "to": 2}),
                "Tình trạng: <del>Đang công tác</del> → <ins>",
            ),
            (
                json!({"field": "rank", "from": null, "to": "V.08.01.03"}),
                "Ngạch, chức danh: <ins>V.08.01.03</ins>",
            ),
            (
                json!({"transfer": "t-1", "to": "000.00.01.H33"}),
                "Chuyển hồ sơ đến <code>000.00.01.H33</code>",
            ),
        ] {
            let shown = diff_item("d", &d, &Units::default()).into_string();
            assert!(shown.contains(want), "{shown}");
            assert!(!shown.contains('{'), "no raw JSON: {shown}");
        }
    }

    #[test]
    fn units_in_the_history_are_named_with_their_codes_beside() {
        let mut units = Units::default();
        units.add(&json!([
            {"code": "000.04.00.H33", "name": "Sở Y tế tỉnh Hưng Yên"},
            {"code": "901.04.00.H33", "name": "Bệnh viện Đa khoa tỉnh Hưng Yên"},
        ]));
        let entries = [
            json!({"diff": [{"opened": {"full_name": "Lê Văn A", "managing_unit": "000.04.00.H33",
                                        "employing_unit": "901.04.00.H33"}}]}),
            json!({"diff": [{"field": "employing_unit", "from": "901.04.00.H33", "to": "000.04.00.H33"},
                            {"transfer": "t-1", "to": "000.00.01.H33"}]}),
        ];
        assert_eq!(
            history_units(&entries),
            [
                "000.04.00.H33",
                "901.04.00.H33",
                "901.04.00.H33",
                "000.04.00.H33",
                "000.00.01.H33"
            ]
        );
        let opened = diff_item("d", &entries[0]["diff"][0], &units).into_string();
        assert!(
            opened.contains("đơn vị quản lý <span class=\"unit\">Sở Y tế tỉnh Hưng Yên"),
            "{opened}"
        );
        let moved = diff_item("d", &entries[1]["diff"][0], &units).into_string();
        assert!(
            moved.contains(
                "<del>Bệnh viện Đa khoa tỉnh Hưng Yên (901.04.00.H33)</del> → <ins>Sở Y tế tỉnh Hưng Yên (000.04.00.H33)</ins>"
            ),
            "{moved}"
        );
        // A unit the API did not name stays a code.
        let sent = diff_item("d", &entries[1]["diff"][1], &units).into_string();
        assert!(sent.contains("<code>000.00.01.H33</code>"), "{sent}");
    }

    #[test]
    fn the_deadlines_bookkeeping_is_told_apart_from_the_changes() {
        assert!(bookkeeping(
            &json!({"event_type": "dossier.ObligationOpened"})
        ));
        assert!(bookkeeping(
            &json!({"event_type": "dossier.ObligationClosed"})
        ));
        assert!(!bookkeeping(
            &json!({"event_type": "dossier.SalaryChanged"})
        ));
    }

    #[test]
    fn a_cited_document_links_to_its_scan() {
        let sha = "ab".repeat(32);
        let shown = diff_item(
            "d1",
            &json!({"section": "identity", "attachments": [sha]}),
            &Units::default(),
        )
        .into_string();
        assert!(
            shown.contains(&format!("/dossiers/d1/attachments/{sha}")),
            "{shown}"
        );
        assert!(!shown.contains('{'), "no raw JSON: {shown}");
    }
}

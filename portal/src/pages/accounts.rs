//! Accounts and rights, for those who administer them (DL 12.2, HY 5.1):
//! the accounts of the visitor's scope with kind, unit, rights, lock and
//! signing keys; and the forms to issue an account, grant, change or revoke a
//! right, and issue a password (BT 4.4: the holder must change it at first
//! login). Every decision is the API's.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::Portal;
use crate::format;
use crate::page::{csrf, page, refused_page};
use crate::session::{CSRF_FIELD, Viewer};
use crate::units::Units;
use crate::words;

use super::{Fields, field};

/// Kinds an account can be issued as here (an inspector's account comes
/// with its inspection decision, issued through the API).
const KINDS: [&str; 5] = [
    "personal",
    "specialist",
    "agency_head",
    "agency_admin",
    "system_admin",
];

/// The accounts by holder's name, as Vietnamese lists are read.
pub(crate) fn sorted(list: &[Value]) -> Vec<&Value> {
    let mut out: Vec<&Value> = list.iter().collect();
    out.sort_by_key(|a| format::name_key(a["display_name"].as_str().unwrap_or("")));
    out
}

/// An account's state in words.
pub(crate) fn state_words(a: &Value) -> &'static str {
    if a["locked"].is_string() {
        "Đang bị khóa"
    } else if !a["has_password"].as_bool().unwrap_or(false) {
        "Chưa cấp mật khẩu"
    } else if a["must_change_password"].as_bool().unwrap_or(false) {
        "Chờ đổi mật khẩu được cấp"
    } else {
        "Đang hoạt động"
    }
}

fn keys_cell(keys: &Map<String, Value>) -> Markup {
    html! {
        @for (id, k) in keys {
            div {
                code { (id) }
                @if let Some(f) = k["valid_from"].as_str() { " từ " (format::date(f)) }
                @if let Some(u) = k["valid_until"].as_str() { " đến " (format::date(u)) }
                @if let Some(r) = k["revoked_from"].as_str() { " " span.bad { "(thu hồi từ " (format::date(r)) ")" } }
            }
        }
    }
}

/// The list as a table.
pub(crate) fn accounts_table(list: &[Value], units: &Units) -> Markup {
    let empty = Map::new();
    html! {
        div.scroll {
            table #accounts {
                thead { tr {
                    th scope="col" { "Họ và tên" }
                    th scope="col" { "Tên đăng nhập" }
                    th scope="col" { "Loại tài khoản" }
                    th scope="col" { "Đơn vị" }
                    th scope="col" { "Quyền được giao" }
                    th scope="col" { "Tình trạng" }
                    th scope="col" { "Khóa ký số" }
                    th scope="col" { "Mã tài khoản" }
                } }
                tbody {
                    @for a in sorted(list) {
                        tr {
                            td { (a["display_name"].as_str().unwrap_or("")) }
                            td { (a["username"].as_str().unwrap_or("")) }
                            td { (words::account_kind(a["kind"].as_str().unwrap_or(""))) }
                            td { (units.show_value(&a["org_code"])) }
                            td {
                                @for (unit, right) in a["grants"].as_object().unwrap_or(&empty) {
                                    div { (words::right(right.as_str().unwrap_or("")))  " tại " (units.show(unit)) }
                                }
                            }
                            td class=[(a["locked"].is_string()).then_some("bad")] { (state_words(a)) }
                            td { (keys_cell(a["keys"].as_object().unwrap_or(&empty))) }
                            td { code { (a["id"].as_str().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
    }
}

/// A select of the listed accounts, by name.
fn account_select(id: &str, list: &[Value]) -> Markup {
    html! {
        select id=(id) name="account" required {
            @for a in sorted(list) {
                option value=(a["id"].as_str().unwrap_or("")) {
                    (a["display_name"].as_str().unwrap_or("")) " (" (a["username"].as_str().unwrap_or("")) ")"
                }
            }
        }
    }
}

fn forms(v: &Viewer, list: &[Value]) -> Markup {
    html! {
        div.actions {
            form.stack method="post" action="/accounts" aria-label="Cấp tài khoản" {
                (csrf(v))
                h2 { "Cấp tài khoản" }
                div { label for="kind" { "Loại tài khoản" }
                    select #kind name="kind" {
                        @for k in KINDS {
                            @if k != "system_admin" || v.kind() == "system_admin" {
                                option value=(k) { (words::account_kind(k)) }
                            }
                        }
                    }
                }
                div { label for="username" { "Tên đăng nhập" } input #username type="text" name="username" required autocomplete="off"; }
                div { label for="display_name" { "Họ và tên" } input #display_name type="text" name="display_name" required; }
                div { label for="org_code" { "Đơn vị " span.hint { "(mã định danh)" } }
                    input #org_code type="text" name="org_code" required value=(v.unit()); }
                div { label for="person_id" { "Số định danh cá nhân " span.hint { "(tài khoản cá nhân)" } }
                    input #person_id type="text" name="person_id" inputmode="numeric" autocomplete="off"; }
                div { label for="birth_date" { "Ngày sinh " span.hint { "(dd/mm/yyyy; để kiểm tra mật khẩu, DT 10.2)" } }
                    input #birth_date type="text" name="birth_date" inputmode="numeric" placeholder="dd/mm/yyyy"; }
                div { button type="submit" { "Cấp tài khoản" } }
            }
            @if !list.is_empty() {
                form.stack method="post" action="/accounts/changes" aria-label="Giao, thay đổi, thu hồi quyền" {
                    (csrf(v))
                    h2 { "Giao, thay đổi, thu hồi quyền" }
                    div { label for="change-account" { "Tài khoản" } (account_select("change-account", list)) }
                    div { label for="action" { "Thao tác" }
                        select #action name="action" {
                            option value="grant" { "Giao quyền" }
                            option value="expand" { "Mở rộng quyền" }
                            option value="restrict" { "Thu hẹp quyền" }
                            option value="revoke" { "Thu hồi quyền" }
                        }
                    }
                    div { label for="change-org" { "Đơn vị " span.hint { "(gồm các đơn vị trực thuộc)" } }
                        input #change-org type="text" name="org_code" required value=(v.unit()); }
                    div { label for="right" { "Quyền " span.hint { "(không dùng khi thu hồi)" } }
                        select #right name="right" {
                            @for r in ["access", "update", "admin"] { option value=(r) { (words::right(r)) } }
                        }
                    }
                    div { label for="reason" { "Lý do" } input #reason type="text" name="reason" required; }
                    p.hint { "Không ai được giao quyền cao hơn quyền mình đang giữ (HY 5.1)." }
                    div { button type="submit" { "Thực hiện" } }
                }
                form.stack method="post" action="/accounts/password" aria-label="Cấp mật khẩu" {
                    (csrf(v))
                    h2 { "Cấp lại mật khẩu" }
                    div { label for="password-account" { "Tài khoản" } (account_select("password-account", list)) }
                    div { label for="issued" { "Mật khẩu cấp " span.hint { "(người dùng phải đổi khi đăng nhập lần đầu, BT 4.4)" } }
                        input #issued type="password" name="password" required autocomplete="new-password"; }
                    p.hint { "Các phiên làm việc của tài khoản kết thúc khi cấp mật khẩu mới." }
                    div { button type="submit" { "Cấp mật khẩu" } }
                }
            }
        }
    }
}

/// `GET /accounts`.
pub(crate) async fn list(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let list = match p.api.get(&v.who, "/accounts").await {
        Ok(l) => l.as_array().cloned().unwrap_or_default(),
        Err(r) => return refused_page(Some(&v), &r),
    };
    let done = match q.get("done").map(String::as_str) {
        Some("issued") => Some("Đã cấp tài khoản. Hãy cấp mật khẩu cho tài khoản mới."),
        Some("changed") => Some("Đã thay đổi quyền."),
        Some("password") => Some("Đã cấp mật khẩu; người dùng phải đổi khi đăng nhập lần đầu."),
        _ => None,
    };
    let mut codes: Vec<&str> = Vec::new();
    for a in &list {
        codes.extend(a["org_code"].as_str());
        if let Some(g) = a["grants"].as_object() {
            codes.extend(g.keys().map(String::as_str));
        }
    }
    let units = Units::of(&p, &v, &codes).await;
    let body = html! {
        @if let Some(d) = done { p.notice role="status" { (d) } }
        p { (list.len()) " tài khoản thuộc phạm vi quản trị của bạn (DL 12.2)." }
        (accounts_table(&list, &units))
        (forms(&v, &list))
    };
    page(&v, "Tài khoản và phân quyền", body)
}

/// `Some(value)` for a field that was filled in.
fn filled<'a>(f: &'a Fields, name: &str) -> Option<&'a str> {
    field(f, name).map(str::trim).filter(|s| !s.is_empty())
}

/// `POST /accounts`: issue an account.
pub(crate) async fn issue(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = v.check(&headers, field(&f, CSRF_FIELD)) {
        return r;
    }
    let mut body = json!({
        "kind": filled(&f, "kind").unwrap_or(""),
        "username": filled(&f, "username").unwrap_or(""),
        "org_code": filled(&f, "org_code").unwrap_or(""),
        "display_name": filled(&f, "display_name").unwrap_or(""),
    });
    if let Some(pid) = filled(&f, "person_id") {
        body["person_id"] = json!(pid);
    }
    if let Some(b) = filled(&f, "birth_date") {
        match format::parse_date(b) {
            Some(d) => body["birth_date"] = json!(d.to_string()),
            None => return refused_page(Some(&v), &super::org::bad_date()),
        }
    }
    match p.api.json(&v.who, Method::POST, "/accounts", &body).await {
        Ok(_) => Redirect::to("/accounts?done=issued").into_response(),
        Err(r) => refused_page(Some(&v), &r),
    }
}

/// An account id as the API writes them (a UUID), so that it can go in a path.
fn account_id(f: &Fields) -> Option<&str> {
    filled(f, "account").and_then(super::dossier_id)
}

/// `POST /accounts/changes`: grant, expand, restrict or revoke a right.
pub(crate) async fn change(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = v.check(&headers, field(&f, CSRF_FIELD)) {
        return r;
    }
    let Some(id) = account_id(&f) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let action = filled(&f, "action").unwrap_or("");
    let mut body = json!({
        "action": action,
        "org_code": filled(&f, "org_code").unwrap_or(""),
        "reason": filled(&f, "reason").unwrap_or(""),
    });
    if action != "revoke" {
        body["right"] = json!(filled(&f, "right").unwrap_or(""));
    }
    match p
        .api
        .json(
            &v.who,
            Method::POST,
            &format!("/accounts/{id}/changes"),
            &body,
        )
        .await
    {
        Ok(_) => Redirect::to("/accounts?done=changed").into_response(),
        Err(r) => refused_page(Some(&v), &r),
    }
}

/// `POST /accounts/password`: issue a password.
pub(crate) async fn password(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = v.check(&headers, field(&f, CSRF_FIELD)) {
        return r;
    }
    let Some(id) = account_id(&f) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let body = json!({ "password": field(&f, "password").unwrap_or("") });
    match p
        .api
        .json(
            &v.who,
            Method::POST,
            &format!("/accounts/{id}/password"),
            &body,
        )
        .await
    {
        Ok(_) => Redirect::to("/accounts?done=password").into_response(),
        Err(r) => refused_page(Some(&v), &r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_list_by_given_name_with_their_state_and_rights() {
        let list = vec![
            json!({"id": "1", "display_name": "Trần Văn Bình", "username": "binh", "kind": "specialist",
                   "org_code": "H", "grants": {"H": "update"}, "locked": "other", "has_password": true,
                   "must_change_password": false, "keys": {}}),
            json!({"id": "2", "display_name": "Nguyễn Thị An", "username": "an", "kind": "agency_head",
                   "org_code": "H", "grants": {}, "locked": null, "has_password": true,
                   "must_change_password": true, "keys": {"gd-2026": {"valid_from": "2026-01-05", "valid_until": null, "revoked_from": null}}}),
        ];
        let html = accounts_table(&list, &Units::default()).into_string();
        let an = html.find("Nguyễn Thị An").unwrap_or(usize::MAX);
        let binh = html.find("Trần Văn Bình").unwrap_or(0);
        assert!(an < binh, "{html}");
        assert!(
            html.contains(r#"<td class="bad">Đang bị khóa</td>"#),
            "{html}"
        );
        assert!(html.contains("Chờ đổi mật khẩu được cấp"), "{html}");
        assert!(html.contains("Cập nhật tại <code>H</code>"), "{html}");
        assert!(
            html.contains("<code>gd-2026</code> từ 05/01/2026"),
            "{html}"
        );
    }
}

//! Accounts and rights, for those who administer them (DL 12.2, HY 5.1):
//! the accounts of the visitor's scope with kind, unit, rights, lock and
//! signing keys; and the forms to issue an account, grant, change or revoke a
//! right, issue a password (BT 4.4: the holder must change it at first
//! login) and register a signing key (a new head's, or a deputy's who signs
//! under delegation, KT 8.1). Every decision is the API's.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
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
                form.stack method="post" action="/accounts/keys" aria-label="Đăng ký khóa ký số" {
                    (csrf(v))
                    h2 { "Đăng ký khóa ký số" }
                    div { label for="key-account" { "Tài khoản" } (account_select("key-account", list)) }
                    div { label for="key_id" { "Tên khóa " span.hint { "(ví dụ bvdk.giamdoc-2027)" } }
                        input #key_id type="text" name="key_id" required; }
                    div { label for="public_key" { "Khóa công khai " span.hint { "(Ed25519, 64 ký tự hex, do người giữ khóa cung cấp; khóa bí mật không bao giờ gửi lên hệ thống)" } }
                        input #public_key type="text" name="public_key" required spellcheck="false" autocomplete="off"; }
                    div { label for="valid_from" { "Có hiệu lực từ ngày " span.hint { "(dd/mm/yyyy)" } }
                        input #valid_from type="text" name="valid_from" inputmode="numeric" placeholder="dd/mm/yyyy" required; }
                    div { label for="valid_until" { "Đến ngày " span.hint { "(dd/mm/yyyy; để trống: không giới hạn)" } }
                        input #valid_until type="text" name="valid_until" inputmode="numeric" placeholder="dd/mm/yyyy"; }
                    div { button type="submit" { "Đăng ký khóa" } }
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
        Some("key") => Some("Đã đăng ký khóa ký số."),
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
    super::post_then(&p, &v, "/accounts", &body, "/accounts?done=issued").await
}

/// An account id as the API writes them (a UUID), so that it can go in a path.
fn account_id(f: &Fields) -> Option<&str> {
    filled(f, "account").and_then(super::dossier_id)
}

/// A post about one account: its form token checked and the account's id
/// (from the `account` field) in the shape of one; else the page that refuses it.
fn account_post<'a>(v: &Viewer, headers: &HeaderMap, f: &'a Fields) -> Result<&'a str, Response> {
    v.check(headers, field(f, CSRF_FIELD))?;
    account_id(f).ok_or_else(|| refused_page(Some(v), &super::dossier::not_found_refusal()))
}

/// `POST /accounts/changes`: grant, expand, restrict or revoke a right.
pub(crate) async fn change(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let id = match account_post(&v, &headers, &f) {
        Ok(id) => id,
        Err(r) => return r,
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
    let path = format!("/accounts/{id}/changes");
    super::post_then(&p, &v, &path, &body, "/accounts?done=changed").await
}

/// The API's body for registering a signing key, from the form.
pub(crate) fn key_body(f: &Fields) -> Result<Value, crate::call::Refusal> {
    use super::forms::{date, required, required_date};
    let mut body = json!({
        "action": "register_key",
        "key_id": required(f, "key_id", "Tên khóa")?.trim(),
        "public_key": required(f, "public_key", "Khóa công khai")?.trim().to_ascii_lowercase(),
        "valid_from": required_date(f, "valid_from", "Có hiệu lực từ ngày")?,
    });
    if let Some(until) = date(f, "valid_until", "Đến ngày")? {
        body["valid_until"] = json!(until);
    }
    Ok(body)
}

/// `POST /accounts/keys`: register a signing key.
pub(crate) async fn key(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let id = match account_post(&v, &headers, &f) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match key_body(&f) {
        Ok(body) => {
            let path = format!("/accounts/{id}/changes");
            super::post_then(&p, &v, &path, &body, "/accounts?done=key").await
        }
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
    let id = match account_post(&v, &headers, &f) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let body = json!({ "password": field(&f, "password").unwrap_or("") });
    let path = format!("/accounts/{id}/password");
    super::post_then(&p, &v, &path, &body, "/accounts?done=password").await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::forms::tests::post;

    #[test]
    fn a_signing_key_is_registered_with_its_public_half_and_dates_only() {
        let f = post(&[
            ("account", "01a24e98-96f7-7457-b265-fa1be6250c7d"),
            ("key_id", " bvdk.phogiamdoc-2027 "),
            ("public_key", "AB01"),
            ("valid_from", "01/01/2027"),
            ("valid_until", ""),
        ]);
        assert_eq!(
            key_body(&f).unwrap(),
            json!({"action": "register_key", "key_id": "bvdk.phogiamdoc-2027",
                   "public_key": "ab01", "valid_from": "2027-01-01"})
        );
        let late = post(&[
            ("key_id", "k"),
            ("public_key", "ab"),
            ("valid_from", "01/01/2027"),
            ("valid_until", "31/02/2027"),
        ]);
        assert_eq!(key_body(&late).unwrap_err().rule(), "portal:bad-date");
        let none = post(&[("key_id", "k"), ("valid_from", "01/01/2027")]);
        assert_eq!(key_body(&none).unwrap_err().rule(), "portal:missing-field");
    }

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

//! Opening a new dossier after a recruitment decision, and issuing the
//! person's personal account with a password they must change at first
//! login (HY 10.1, BT 4.4) — from one page, `/dossiers/new`. The dossier's
//! id is chosen when the form is drawn, so a form sent twice opens nothing
//! twice. When the dossier is opened but the account is refused, the page
//! says so and offers the account form again on its own.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::Portal;
use crate::call::Refusal;
use crate::page::{csrf, page, refusal_box, refused_page};
use crate::session::{CSRF_FIELD, Viewer};
use crate::units::{self, Tree};
use crate::words;

use super::forms::{self, date, date_input, input, required, required_date, text};
use super::{Fields, field};

const TITLE: &str = "Lập hồ sơ mới";

/// The categories offered, as the API spells them.
const CATEGORIES: [&str; 5] = [
    "cong_chuc",
    "vien_chuc",
    "can_bo",
    "commune_cadre",
    "nguoi_lao_dong",
];

/// The API's body for `POST /dossiers` from the form.
pub(crate) fn open_body(f: &Fields) -> Result<Value, Refusal> {
    let managing = required(f, "managing_unit", "Đơn vị quản lý")?;
    let employing = match text(f, "employing_unit") {
        "" => managing,
        e => e,
    };
    let mut b = json!({
        "person_id": required(f, "person_id", "Số định danh cá nhân")?,
        "full_name": required(f, "full_name", "Họ và tên")?,
        "category": required(f, "category", "Phân loại")?,
        "managing_unit": managing,
        "employing_unit": employing,
        "recruited_on": required_date(f, "recruited_on", "Ngày tuyển dụng")?,
        "decision": forms::document(f)?,
    });
    if let Some(d) = date(f, "birth_date", "Ngày sinh")? {
        b["birth_date"] = json!(d);
    }
    if let Some(id) = super::dossier_id(text(f, "dossier_id")) {
        b["id"] = json!(id);
    }
    Ok(b)
}

/// The API's body for `POST /accounts` (a personal account) from the form;
/// `None` when no login name was typed (no account asked for).
pub(crate) fn account_body(f: &Fields) -> Result<Option<Value>, Refusal> {
    let username = text(f, "username");
    if username.is_empty() {
        return Ok(None);
    }
    let org = match text(f, "account_unit") {
        "" => required(f, "managing_unit", "Đơn vị quản lý")?,
        u => u,
    };
    let mut b = json!({
        "kind": "personal",
        "username": username,
        "org_code": org,
        "person_id": required(f, "person_id", "Số định danh cá nhân")?,
        "display_name": required(f, "full_name", "Họ và tên")?,
    });
    if let Some(d) = date(f, "birth_date", "Ngày sinh")? {
        b["birth_date"] = json!(d);
    }
    Ok(Some(b))
}

/// A fresh UUID (version 4) for the dossier this form will open.
fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The id of the datalist of the units under the viewer's rights.
const IN_SCOPE: &str = "units-in-scope";

fn account_inputs(f: &Fields, units: Option<&str>) -> Markup {
    html! {
        fieldset {
            legend { "Tài khoản cá nhân của người có hồ sơ" }
            p.hint { "Để trống tên đăng nhập nếu chưa cấp tài khoản. Người nhận phải đổi mật khẩu được cấp ở lần đăng nhập đầu tiên (BT 4.4)." }
            (input(f, "username", "Tên đăng nhập", "ví dụ an.nv", false))
            div {
                label for="password" { "Mật khẩu cấp lần đầu" span.hint { " (ít nhất 12 ký tự, có chữ hoa, chữ thường, chữ số và ký tự đặc biệt; DT 10.1–10.2)" } }
                input #password type="text" name="password" autocomplete="off";
            }
            (forms::input_listed("", f, "account_unit", "Đơn vị của tài khoản", "để trống: đơn vị quản lý hồ sơ", false, units))
        }
    }
}

fn the_form(v: &Viewer, f: &Fields, tree: &Tree) -> Markup {
    let (datalist, units) = units::offer(IN_SCOPE, &tree.in_scope(v));
    let categories: Vec<(&str, &str)> = CATEGORIES
        .iter()
        .map(|c| (*c, words::category(c)))
        .collect();
    let id = match super::dossier_id(text(f, "dossier_id")) {
        Some(id) => id.to_owned(),
        None => new_id(),
    };
    let unit = if text(f, "managing_unit").is_empty() {
        vec![("managing_unit".to_owned(), v.unit().to_owned())]
    } else {
        Vec::new()
    };
    let f: Fields = f.iter().cloned().chain(unit).collect();
    html! {
        form.stack #open-form method="post" action="/dossiers/new" {
            (csrf(v))
            input type="hidden" name="dossier_id" value=(id);
            fieldset {
                legend { "Người được tuyển dụng" }
                (input(&f, "full_name", "Họ và tên", "", true))
                (input(&f, "person_id", "Số định danh cá nhân", "12 chữ số", true))
                (date_input(&f, "birth_date", "Ngày sinh", false))
                (forms::select(&f, "category", "Phân loại", &categories))
            }
            fieldset {
                legend { "Đơn vị và tuyển dụng" }
                (forms::input_listed("", &f, "managing_unit", "Đơn vị quản lý hồ sơ", "gõ tên hoặc mã", true, units))
                (forms::input_listed("", &f, "employing_unit", "Đơn vị sử dụng", "để trống nếu trùng đơn vị quản lý", false, units))
                (date_input(&f, "recruited_on", "Ngày tuyển dụng", true))
            }
            (forms::document_inputs_without_scan(&f))
            (account_inputs(&f, units))
            div { button type="submit" { "Lập hồ sơ" } }
        }
        (datalist)
    }
}

/// `GET /dossiers/new`.
pub(crate) async fn form(State(p): State<Arc<Portal>>, v: Viewer) -> Response {
    let tree = Tree::of(&p, &v).await;
    let body = html! {
        p { "Lập hồ sơ cho người mới được tuyển dụng theo quyết định tuyển dụng hoặc hợp đồng, và cấp tài khoản để người đó tự kê khai." }
        (the_form(&v, &Fields::new(), &tree))
    };
    page(&v, TITLE, body)
}

/// Issues the account `body` asks for and its first password; the
/// account's id, or why not (with the id when only the password failed).
async fn issue(
    p: &Portal,
    v: &Viewer,
    existing: Option<&str>,
    body: &Value,
    password: &str,
) -> Result<(String, u64), (Option<String>, Refusal)> {
    let account = match existing {
        Some(a) => a.to_owned(),
        None => {
            let r = p
                .api
                .json(&v.who, Method::POST, "/accounts", body)
                .await
                .map_err(|r| (None, r))?;
            r["id"].as_str().unwrap_or("").to_owned()
        }
    };
    if account.is_empty() || account.contains('/') {
        return Err((None, Refusal::internal("the API named no account")));
    }
    let r = p
        .api
        .json(
            &v.who,
            Method::POST,
            &format!("/accounts/{account}/password"),
            &json!({ "password": password }),
        )
        .await
        .map_err(|r| (Some(account.clone()), r))?;
    Ok((account, r["position"].as_u64().unwrap_or(0)))
}

/// The account form of an opened dossier (`POST /dossiers/{id}/account`).
fn account_form(v: &Viewer, id: &str, at: u64, account: Option<&str>, f: &Fields) -> Markup {
    html! {
        h2 { "Cấp tài khoản cá nhân" }
        @if let Some(a) = account { p { "Tài khoản đã được tạo (" code { (a) } "); chỉ còn cấp mật khẩu." } }
        form.stack method="post" action={ "/dossiers/" (id) "/account" } {
            (csrf(v))
            @if let Some(a) = account { input type="hidden" name="account_id" value=(a); }
            input type="hidden" name="wait_for" value=(at);
            (input(f, "full_name", "Họ và tên", "", true))
            (input(f, "person_id", "Số định danh cá nhân", "12 chữ số", true))
            (date_input(f, "birth_date", "Ngày sinh", false))
            (input(f, "managing_unit", "Mã đơn vị quản lý hồ sơ", "", true))
            (account_inputs(f, None))
            div { button type="submit" { "Cấp tài khoản" } }
        }
    }
}

/// The account form of an opened dossier, after a refusal.
fn account_page(
    v: &Viewer,
    id: &str,
    at: u64,
    account: Option<&str>,
    r: &Refusal,
    f: &Fields,
) -> Response {
    let body = html! {
        p.notice role="status" {
            "Hồ sơ đã được lập. "
            a href={ "/dossiers/" (id) "?wait_for=" (at) } { "Mở hồ sơ" }
        }
        (refusal_box(r))
        (account_form(v, id, at, account, f))
    };
    let mut resp = page(v, "Cấp tài khoản cá nhân", body);
    *resp.status_mut() = axum::http::StatusCode::from_u16(r.status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    resp
}

/// `GET /dossiers/{id}/account`: the form to issue the person's account.
pub(crate) async fn account_form_page(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let (id, d) = match super::dossier_for_page(&p, &v, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let f: Fields = vec![
        (
            "full_name".into(),
            d["full_name"].as_str().unwrap_or("").to_owned(),
        ),
        (
            "managing_unit".into(),
            d["managing_unit"].as_str().unwrap_or("").to_owned(),
        ),
    ];
    let body = html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        p.hint { "Tài khoản để người có hồ sơ tự kê khai, xem hồ sơ và thời hạn của mình (HY 10.1)." }
        (account_form(&v, id, 0, None, &f))
    };
    page(&v, "Cấp tài khoản cá nhân", body)
}

/// The personal account asked for, once the dossier `id` is open at `at`.
async fn then_account(p: &Portal, v: &Viewer, id: &str, at: u64, f: &Fields) -> Response {
    let existing = super::dossier_id(text(f, "account_id")).map(str::to_owned);
    let body = match account_body(f) {
        Ok(Some(b)) => b,
        Ok(None) if existing.is_none() => {
            return Redirect::to(&format!("/dossiers/{id}?wait_for={at}")).into_response();
        }
        Ok(None) => json!({}),
        Err(r) => return account_page(v, id, at, existing.as_deref(), &r, f),
    };
    let password = text(f, "password");
    if password.is_empty() {
        let r = forms::refuse("missing-field", "chưa điền \"Mật khẩu cấp lần đầu\"");
        return account_page(v, id, at, existing.as_deref(), &r, f);
    }
    match issue(p, v, existing.as_deref(), &body, password).await {
        Ok((_, pos)) => {
            Redirect::to(&format!("/dossiers/{id}?wait_for={}", pos.max(at))).into_response()
        }
        Err((account, r)) => account_page(v, id, at, account.or(existing).as_deref(), &r, f),
    }
}

/// `POST /dossiers/new`.
pub(crate) async fn submit(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = v.check(&headers, field(&f, CSRF_FIELD)) {
        return r;
    }
    let opened = match open_body(&f) {
        Ok(b) => p.api.json(&v.who, Method::POST, "/dossiers", &b).await,
        Err(r) => Err(r),
    };
    let receipt = match opened {
        Ok(r) => r,
        Err(r) => {
            // The same form sent again: its dossier is open already, so only
            // the account may be left to issue.
            if let Some(id) = super::dossier_id(text(&f, "dossier_id"))
                && r.rule() == "conflict:conflict"
                && p.api.get(&v.who, &format!("/dossiers/{id}")).await.is_ok()
            {
                return then_account(&p, &v, id, 0, &f).await;
            }
            let tree = Tree::of(&p, &v).await;
            return forms::refused_form(&v, TITLE, &r, the_form(&v, &f, &tree));
        }
    };
    let Some(id) = receipt["id"].as_str().and_then(super::dossier_id) else {
        return refused_page(Some(&v), &Refusal::internal("the API named no dossier"));
    };
    let at = receipt["position"].as_u64().unwrap_or(0);
    then_account(&p, &v, id, at, &f).await
}

/// `POST /dossiers/{id}/account`: the personal account of an opened dossier.
pub(crate) async fn account(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match super::dossier_post(&v, &headers, &f, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let at = text(&f, "wait_for").parse::<u64>().unwrap_or(0);
    if text(&f, "username").is_empty() && text(&f, "account_id").is_empty() {
        let r = forms::refuse("missing-field", "chưa điền \"Tên đăng nhập\"");
        return account_page(&v, id, at, None, &r, &f);
    }
    then_account(&p, &v, id, at, &f).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::forms::tests::post;

    fn recruited() -> Fields {
        post(&[
            ("dossier_id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
            ("full_name", "Nguyễn Thị Hương"),
            ("person_id", "033190001234"),
            ("birth_date", "17/05/1990"),
            ("category", "vien_chuc"),
            ("managing_unit", "000.02.01.H33"),
            ("employing_unit", ""),
            ("recruited_on", "05/01/2026"),
            ("doc_number", "15/QĐ-SYT"),
            ("doc_date", "02/01/2026"),
            ("doc_issuer", "Sở Y tế"),
            ("username", ""),
        ])
    }

    #[test]
    fn a_dossier_is_opened_with_the_id_chosen_when_the_form_was_drawn() {
        assert_eq!(
            open_body(&recruited()).unwrap(),
            json!({"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "person_id": "033190001234",
                   "full_name": "Nguyễn Thị Hương", "birth_date": "1990-05-17", "category": "vien_chuc",
                   "managing_unit": "000.02.01.H33", "employing_unit": "000.02.01.H33",
                   "recruited_on": "2026-01-05",
                   "decision": {"number": "15/QĐ-SYT", "date": "2026-01-02", "issuer": "Sở Y tế"}})
        );
        assert!(super::super::dossier_id(&new_id()).is_some());
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn hy_10_1_a_personal_account_is_asked_for_only_with_a_login_name() {
        let f = recruited();
        assert_eq!(account_body(&f).unwrap(), None);
        let mut f = f;
        f.retain(|(k, _)| k != "username");
        f.push(("username".into(), "huong.nt".into()));
        assert_eq!(
            account_body(&f).unwrap(),
            Some(
                json!({"kind": "personal", "username": "huong.nt", "org_code": "000.02.01.H33",
                        "person_id": "033190001234", "display_name": "Nguyễn Thị Hương",
                        "birth_date": "1990-05-17"})
            )
        );
    }
}

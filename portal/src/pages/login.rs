//! Logging in and out, and changing a password: the rules are listed before
//! they can be broken, and ticked off as the new password is typed.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use rand::Rng;
use serde::Deserialize;
use serde_json::json;

use crate::Portal;
use crate::call::{As, Refusal};
use crate::page::{self, refusal_box};
use crate::session::{self, CSRF_FIELD, Pending, Viewer, cookie, equal, same_origin, set_cookie};

/// `?next=`: where to go once logged in.
#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

/// Only a path of this site: never `//host` or `https://…`.
fn local(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn login_page(p: &Portal, next: &str, refusal: Option<&Refusal>, status: StatusCode) -> Response {
    let token = hex::encode(rand::rng().random::<[u8; 16]>());
    let body = html! {
        @if let Some(r) = refusal { (refusal_box(r)) }
        form.stack method="post" action="/login" {
            input type="hidden" name=(CSRF_FIELD) value=(token);
            input type="hidden" name="next" value=(next);
            div {
                label for="username" { "Tên đăng nhập" }
                input #username type="text" name="username" autocomplete="username" required autofocus;
            }
            div {
                label for="password" { "Mật khẩu" }
                input #password type="password" name="password" autocomplete="current-password" required;
            }
            div { button type="submit" { "Đăng nhập" } }
        }
        p.hint {
            "Tài khoản do đơn vị quản lý cấp. Mật khẩu được cấp lần đầu phải đổi ngay khi đăng nhập (BT 4.4). "
            "Đăng nhập sai nhiều lần, tài khoản sẽ bị tạm khóa."
        }
    };
    let mut resp = (status, page::bare("Đăng nhập", &body)).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(p, session::login_cookie_name(p), &token, 15 * 60),
    );
    resp
}

/// `GET /login`.
pub(crate) async fn form(State(p): State<Arc<Portal>>, Query(q): Query<Next>) -> Response {
    login_page(&p, local(q.next.as_deref()), None, StatusCode::OK)
}

/// The login form.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`: opens an API session and keeps its token in the cookie.
pub(crate) async fn submit(
    State(p): State<Arc<Portal>>,
    headers: HeaderMap,
    axum::extract::ConnectInfo(client): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local(f.next.as_deref()).to_owned();
    let doubled = cookie(&headers, session::login_cookie_name(&p)).unwrap_or("");
    if same_origin(&headers).is_err() || !equal(doubled.as_bytes(), f.csrf.as_bytes()) {
        let r = Refusal {
            type_: "urn:hoso:problem:portal:forged-form".into(),
            status: 403,
            ..Refusal::default()
        };
        return login_page(&p, &next, Some(&r), StatusCode::FORBIDDEN);
    }
    let who = As {
        token: None,
        client: Some(client),
    };
    let answer = p
        .api
        .json(
            &who,
            Method::POST,
            "/sessions",
            &json!({"username": f.username, "password": f.password}),
        )
        .await;
    match answer {
        Ok(s) => {
            let token = s["token"].as_str().unwrap_or("");
            let to = if s["must_change_password"].as_bool() == Some(true) {
                "/password"
            } else {
                next.as_str()
            };
            let mut resp = Redirect::to(to).into_response();
            let ttl = p.state.config.session_ttl.as_secs();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(&p, session::session_cookie_name(&p), token, ttl),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(&p, session::login_cookie_name(&p), "", 0),
            );
            resp
        }
        Err(r) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::UNAUTHORIZED);
            login_page(&p, &next, Some(&r), status)
        }
    }
}

/// A form with only the form token.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenOnly {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// `POST /logout`: ends the API session and forgets the cookie.
pub(crate) async fn logout(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<TokenOnly>,
) -> Response {
    if let Err(r) = v.check(&headers, f.csrf.as_deref()) {
        return r;
    }
    let answer = p.api.send(&v.who, Method::DELETE, "/sessions", None).await;
    if !answer.ok() {
        tracing::warn!(status = %answer.status, "the session could not be ended on logout");
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&p, session::session_cookie_name(&p), "", 0),
    );
    resp
}

fn rules() -> Markup {
    use hoso_commands::credentials::{BT_4_4, DT_10, MIN_LENGTH};
    html! {
        p { "Mật khẩu mới phải đáp ứng các yêu cầu sau (" (DT_10) "):" }
        ul.rules #password-rules {
            li data-rule="length" { "Ít nhất " (MIN_LENGTH) " ký tự" }
            li data-rule="upper" { "Có chữ in hoa" }
            li data-rule="lower" { "Có chữ thường" }
            li data-rule="digit" { "Có chữ số" }
            li data-rule="special" { "Có ký tự đặc biệt (ví dụ # ! @ %)" }
            li { "Không chứa tên đăng nhập, họ tên hoặc ngày sinh của người sử dụng" }
            li { "Khác mật khẩu hiện tại (" (BT_4_4) ")" }
        }
    }
}

fn password_page(csrf: &str, refusal: Option<&Refusal>, status: StatusCode) -> Response {
    let body = html! {
        @if let Some(r) = refusal { (refusal_box(r)) }
        (rules())
        form.stack method="post" action="/password" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            div {
                label for="current-password" { "Mật khẩu hiện tại" }
                input #current-password type="password" name="current" autocomplete="current-password" required;
            }
            div {
                label for="new-password" { "Mật khẩu mới" }
                input #new-password type="password" name="new" autocomplete="new-password" required aria-describedby="password-rules";
            }
            div {
                label for="confirm-password" { "Nhập lại mật khẩu mới" }
                input #confirm-password type="password" name="confirm" autocomplete="new-password" required;
            }
            div { button type="submit" { "Đổi mật khẩu" } }
        }
    };
    (status, page::bare("Đổi mật khẩu", &body)).into_response()
}

/// `GET /password`.
pub(crate) async fn password_form(v: Pending) -> Response {
    password_page(&v.csrf, None, StatusCode::OK)
}

/// The password form.
#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    current: String,
    new: String,
    confirm: String,
}

/// `POST /password`.
pub(crate) async fn password_submit(
    State(p): State<Arc<Portal>>,
    v: Pending,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Err(r) = v.check(&headers, f.csrf.as_deref()) {
        return r;
    }
    if f.new != f.confirm {
        let r = Refusal {
            type_: "urn:hoso:problem:portal:confirmation-differs".into(),
            status: 422,
            detail: Some("Mật khẩu nhập lại không khớp với mật khẩu mới.".into()),
            ..Refusal::default()
        };
        return password_page(&v.csrf, Some(&r), StatusCode::UNPROCESSABLE_ENTITY);
    }
    match p
        .api
        .json(
            &v.who,
            Method::POST,
            "/accounts/me/password",
            &json!({"current": f.current, "new": f.new}),
        )
        .await
    {
        Ok(_) => Redirect::to("/?changed=password").into_response(),
        Err(r) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            password_page(&v.csrf, Some(&r), status)
        }
    }
}

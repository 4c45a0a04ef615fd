//! The frame every page shares: the document head, the navigation of the
//! visitor's roles, the refusal box, and the hidden form-token field.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::call::Refusal;
use crate::session::{CSRF_FIELD, Viewer};
use crate::words;

/// A whole page for a signed-in visitor.
pub(crate) fn page(v: &Viewer, title: &str, body: Markup) -> Response {
    Html(document(title, Some(v), &body).into_string()).into_response()
}

/// A whole page with no navigation (login, errors before a session).
pub(crate) fn bare(title: &str, body: &Markup) -> Html<String> {
    Html(document(title, None, body).into_string())
}

fn document(title: &str, v: Option<&Viewer>, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Hồ sơ cán bộ, công chức, viên chức" }
                link rel="icon" type="image/svg+xml" href="/assets/favicon.svg";
                link rel="stylesheet" href="/assets/portal.css";
                script src="/assets/portal.js" defer {}
            }
            body {
                a.skip href="#main" { "Bỏ qua, đến nội dung chính" }
                header.top {
                    a.brand href="/" { "Hồ sơ CBCCVC" }
                    @if let Some(v) = v { (nav(v)) }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer {
                    p { "Hệ thống quản lý hồ sơ cán bộ, công chức, viên chức — sổ cái chỉ ghi thêm, kiểm chứng được." }
                }
            }
        }
    }
}

fn nav(v: &Viewer) -> Markup {
    let kind = v.kind();
    html! {
        nav aria-label="Điều hướng chính" {
            ul {
                li { a href="/" { "Trang chủ" } }
                @if let Some(d) = v.own_dossier() {
                    li { a href={ "/dossiers/" (d) } { "Hồ sơ của tôi" } }
                }
                @if v.has_grants() || kind == "inspector" || kind == "system_admin" {
                    li { a href="/search" { "Tra cứu hồ sơ" } }
                }
                @if v.has_grants() && kind != "inspector" {
                    li { a href="/queue/review" { "Hàng chờ thẩm định" } }
                    li { a href="/transfers" { "Hồ sơ chuyển đến" } }
                    li { a href="/dossiers/new" { "Lập hồ sơ mới" } }
                }
                @if kind == "agency_head" {
                    li { a href="/delegations" { "Ủy quyền phê duyệt" } }
                }
                @if kind == "agency_head" || v.has_keys() {
                    li { a href="/queue/approvals" { "Phê duyệt" } }
                }
                @if kind != "personal" && !kind.is_empty() {
                    li { a href="/org" { "Cơ cấu tổ chức" } }
                }
                @if v.has_grants() || kind == "inspector" || kind == "system_admin" {
                    li { a href="/reports" { "Báo cáo" } }
                }
                @if kind == "system_admin" || kind == "agency_admin" {
                    li { a href="/accounts" { "Tài khoản" } }
                }
                @if kind == "system_admin" {
                    li { a href="/security" { "Nhật ký an ninh" } }
                }
                @if kind == "system_admin" || (kind == "agency_head" && v.has_keys()) {
                    li { a href="/sync" { "Đồng bộ quốc gia" } }
                }
                li { a href="/password" { "Đổi mật khẩu" } }
            }
            form.logout method="post" action="/logout" {
                (csrf(v))
                span.who { (v.name()) " · " (words::account_kind(kind)) }
                button type="submit" { "Đăng xuất" }
            }
        }
    }
}

/// The hidden field with the session's form token.
pub(crate) fn csrf(v: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(v.csrf); }
}

/// Why the API refused, in words, with the article it rests on.
pub(crate) fn refusal_box(r: &Refusal) -> Markup {
    let said = words::refusal(r.rule()).unwrap_or_else(|| words::status_words(r.status));
    html! {
        div.refusal role="alert" {
            p.said { strong { "Không thực hiện được. " } (said) }
            @if let Some(c) = &r.citation {
                p.citation { "Căn cứ: " strong { (c) } }
            }
            @if let Some(d) = &r.detail {
                details {
                    summary { "Chi tiết từ hệ thống" }
                    p { code { (r.rule()) } " — " (d) }
                }
            }
        }
    }
}

/// A page that is only a refusal, with the API's status.
pub(crate) fn refused_page(v: Option<&Viewer>, r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = html! {
        (refusal_box(r))
        p { a href="/" { "Về trang chủ" } }
    };
    let html = match v {
        Some(v) => document("Không thực hiện được", Some(v), &body),
        None => document("Không thực hiện được", None, &body),
    };
    (status, Html(html.into_string())).into_response()
}

/// A labelled value for a definition list.
pub(crate) fn item(label: &str, value: Markup) -> Markup {
    html! { dt { (label) } dd { (value) } }
}

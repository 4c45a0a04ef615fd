//! Approval by digital signature, made in the browser: the page shows the
//! digest the API asks to be signed, the head picks the key file they hold,
//! the script signs with WebCrypto Ed25519 and sends only the signature. The
//! key file is read by the browser and never leaves it (its input has no name
//! and sits outside the form).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use chrono::Datelike;
use hoso_domain::profile::ApprovalLevel;
use maud::{Markup, html};
use serde_json::json;

use crate::Portal;
use crate::format;
use crate::page::{csrf, item, page, refused_page};
use crate::session::Viewer;

use super::{Fields, field};

/// This month's approval windows of the profile, with their articles.
pub(crate) fn windows(p: &Portal) -> Markup {
    let today = p.state.today();
    let wf = &p.state.workflows;
    let levels = [
        (ApprovalLevel::UnitHead, "Thủ trưởng đơn vị"),
        (
            ApprovalLevel::DepartmentHead,
            "Giám đốc sở, Chủ tịch UBND cấp huyện",
        ),
        (ApprovalLevel::HomeAffairsDirector, "Giám đốc Sở Nội vụ"),
    ];
    html! {
        table #windows {
            caption { "Thời hạn phê duyệt tháng " (today.month()) "/" (today.year()) }
            thead { tr { th scope="col" { "Cấp phê duyệt" } th scope="col" { "Từ ngày" } th scope="col" { "Đến ngày" } th scope="col" { "Căn cứ" } } }
            tbody {
                @for (level, name) in levels {
                    @let rule = wf.profile().approval_window_rule(level);
                    tr {
                        td { (name) }
                        @match wf.profile().approval_window(level, today.year(), today.month(), wf.calendar()) {
                            Ok((from, to)) => {
                                td { (from.format("%d/%m/%Y")) }
                                td { (to.format("%d/%m/%Y")) }
                            },
                            Err(e) => { td colspan="2" { (e.to_string()) } },
                        }
                        td { (rule.citation) }
                    }
                }
            }
        }
    }
}

/// `GET /dossiers/{id}/approve`.
pub(crate) async fn form(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let (id, d) = match super::dossier_for_page(&p, &v, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let rq = match p
        .api
        .get(&v.who, &format!("/dossiers/{id}/approvals"))
        .await
    {
        Ok(rq) => rq,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let keys: Vec<String> = v.me["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    let digest = rq["digest"].as_str().unwrap_or("");
    let body = html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        dl.facts {
            (item("Hồ sơ", html! { (d["full_name"].as_str().unwrap_or("")) }))
            (item("Phiên bản ký", html! { (rq["revision"]) }))
            (item("Mã băm chuỗi", html! { code { (rq["stream_hash"].as_str().unwrap_or("")) } }))
            (item("Nội dung cần ký", html! { code #digest { (digest) } }))
            (item("Hôm nay", html! { (format::date(&p.state.today().to_string())) }))
        }
        (windows(&p))
        @if keys.is_empty() {
            p.refusal { "Tài khoản chưa đăng ký khóa ký số nào, nên chưa thể phê duyệt." }
        } @else {
            div.stack {
                label for="keyfile" { "Tệp khóa ký số của tôi " span.hint { "(PEM, PKCS #8; tệp chỉ được đọc trên trình duyệt này, không gửi lên máy chủ)" } }
                input #keyfile type="file" accept=".pem,.key,application/x-pem-file";
            }
            form.stack #approve-form method="post" action={ "/dossiers/" (id) "/approve" } data-sign data-digest=(digest) data-keyfile="keyfile" {
                (csrf(&v))
                input type="hidden" name="revision" value=(rq["revision"]);
                input type="hidden" name="stream_hash" value=(rq["stream_hash"].as_str().unwrap_or(""));
                input type="hidden" name="signature" value="";
                div {
                    label for="key_id" { "Khóa đã đăng ký" }
                    select #key_id name="key_id" {
                        @for k in &keys { option value=(k) { (k) } }
                    }
                }
                p data-status role="status" {}
                div { button type="submit" { "Ký và phê duyệt" } }
            }
        }
    };
    page(&v, "Phê duyệt hồ sơ bằng chữ ký số", body)
}

/// `POST /dossiers/{id}/approve`: the signature the browser made.
pub(crate) async fn submit(
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
    let revision = field(&f, "revision")
        .and_then(|r| r.parse::<u64>().ok())
        .unwrap_or(0);
    let body = json!({
        "revision": revision,
        "stream_hash": field(&f, "stream_hash").unwrap_or(""),
        "key_id": field(&f, "key_id").unwrap_or(""),
        "signature": field(&f, "signature").unwrap_or(""),
    });
    match p
        .api
        .json(
            &v.who,
            Method::POST,
            &format!("/dossiers/{id}/approvals"),
            &body,
        )
        .await
    {
        Ok(r) => super::forms::to_dossier(&v, id, &r),
        Err(r) => refused_page(Some(&v), &r),
    }
}

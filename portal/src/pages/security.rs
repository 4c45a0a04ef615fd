//! The security record for Sở Nội vụ (HY 5.1): logins, refused logins and
//! tokens, locked accounts and attempts outside scope, newest first, times in
//! Vietnam's time zone.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::format;
use crate::page::{page, refused_page};
use crate::session::Viewer;
use crate::words;

/// How many entries a page shows when the visitor does not say.
const DEFAULT_LIMIT: usize = 100;

/// The entries as a table; refusals and failures marked.
pub(crate) fn attempts_table(list: &[Value]) -> Markup {
    html! {
        div.scroll {
            table #attempts {
                thead { tr {
                    th scope="col" { "Thời điểm" }
                    th scope="col" { "Sự việc" }
                    th scope="col" { "Tài khoản" }
                    th scope="col" { "Tên đăng nhập" }
                    th scope="col" { "Địa chỉ máy" }
                    th scope="col" { "Đối tượng truy cập" }
                    th scope="col" { "Chi tiết" }
                } }
                tbody {
                    @for a in list {
                        @let kind = a["kind"].as_str().unwrap_or("");
                        tr {
                            td { (format::time(a["at"].as_str().unwrap_or(""))) }
                            td class=[(kind != "login-ok").then_some("bad")] { (words::attempt_kind(kind)) }
                            td {
                                @if let Some(id) = a["account_id"].as_str() {
                                    @match (a["account_name"].as_str(), a["account_username"].as_str()) {
                                        (Some(name), Some(login)) => { span title=(id) { (name) " (" (login) ")" } },
                                        _ => { (super::dossier::account(id)) },
                                    }
                                }
                            }
                            td { (a["username"].as_str().unwrap_or("")) }
                            td { code { (a["client"].as_str().unwrap_or("")) } }
                            td { code { (a["target"].as_str().unwrap_or("")) } }
                            td { (words::attempt_detail(a["detail"].as_str().unwrap_or(""))) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /security?limit=`.
pub(crate) async fn attempts(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, 1_000);
    let list = match p
        .api
        .get(&v.who, &format!("/security/attempts?limit={limit}"))
        .await
    {
        Ok(l) => l.as_array().cloned().unwrap_or_default(),
        Err(r) => return refused_page(Some(&v), &r),
    };
    let body = html! {
        p { "Nhật ký đăng nhập và các lần truy cập bị từ chối (HY 5.1), mới nhất trước; giờ Việt Nam." }
        form.inline method="get" action="/security" aria-label="Số dòng hiển thị" {
            div {
                label for="limit" { "Số dòng" }
                select #limit name="limit" data-autosubmit {
                    @for n in [50usize, 100, 500, 1000] {
                        option value=(n) selected[n == limit] { (n) }
                    }
                }
            }
            div { button.secondary type="submit" { "Xem" } }
        }
        @if list.is_empty() { p.hint { "Chưa có sự việc nào." } }
        @else { (attempts_table(&list)) }
    };
    page(&v, "Nhật ký an ninh", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attempts_show_vietnam_time_and_mark_refusals() {
        let html = attempts_table(&[
            json!({"at": "2026-03-02T01:30:00Z", "kind": "login-failed", "username": "a", "client": "127.0.0.1", "target": "POST /api/v1/sessions", "detail": "1"}),
            json!({"at": "2026-03-02T17:05:00+00:00", "kind": "login-ok", "account_id": "acc-1", "account_name": "Trần Văn Bình", "account_username": "binh", "client": "127.0.0.1", "target": "POST /api/v1/sessions", "detail": ""}),
        ])
        .into_string();
        assert!(
            html.contains(r#"<span title="acc-1">Trần Văn Bình (binh)</span>"#),
            "{html}"
        );
        assert!(html.contains("02/03/2026 08:30"), "{html}");
        assert!(html.contains("03/03/2026 00:05"), "{html}");
        assert!(
            html.contains(r#"<td class="bad">Đăng nhập sai</td>"#),
            "{html}"
        );
        assert!(html.contains("<td>Đăng nhập thành công</td>"), "{html}");
    }
}

//! The first page after login: what this visitor's roles can do, one card each.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;

use crate::Portal;
use crate::page::page;
use crate::session::Viewer;
use crate::units::Units;
use crate::words;

/// `GET /`.
pub(crate) async fn home(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let kind = v.kind().to_owned();
    let mut codes = vec![v.unit()];
    if let Some(g) = v.me["grants"].as_object() {
        codes.extend(g.keys().map(String::as_str));
    }
    let units = Units::of(&p, &v, &codes).await;
    let body = html! {
        @if q.get("changed").map(String::as_str) == Some("password") {
            p.notice role="status" { "Đã đổi mật khẩu." }
        }
        p { "Xin chào " strong { (v.name()) } " (" (words::account_kind(&kind)) ", đơn vị " (units.show(v.unit())) ")." }
        @if let Some(grants) = v.me["grants"].as_object().filter(|g| !g.is_empty()) {
            p { "Quyền được giao: "
                @for (i, (unit, right)) in grants.iter().enumerate() {
                    @if i > 0 { ", " }
                    (words::right(right.as_str().unwrap_or(""))) " tại " (units.show(unit))
                }
            }
        }
        div.cards {
            @if let Some(d) = v.own_dossier() {
                section.card {
                    h2 { "Hồ sơ của tôi" }
                    p { "Xem hồ sơ đã phê duyệt, các thay đổi đang chờ, nội dung bị trả lại và ai đã xem hồ sơ." }
                    a.button href={ "/dossiers/" (d) } { "Mở hồ sơ của tôi" }
                }
            }
            @if v.has_grants() && kind != "inspector" {
                section.card {
                    h2 { "Hàng chờ thẩm định" }
                    p { "Các bản kê khai chờ thẩm định, hạn xử lý theo ngày làm việc và các việc quá hạn." }
                    a.button href="/queue/review" { "Mở hàng chờ" }
                }
            }
            @if v.has_grants() || kind == "inspector" || kind == "system_admin" {
                section.card {
                    h2 { "Tra cứu hồ sơ" }
                    p { "Tìm theo họ tên (không cần dấu), số định danh, đơn vị, ngạch, chức vụ, độ tuổi…" }
                    a.button href="/search" { "Tra cứu" }
                }
            }
            @if kind != "personal" && !kind.is_empty() {
                section.card {
                    h2 { "Cơ cấu tổ chức" }
                    p { "Cây đơn vị tại bất kỳ ngày nào, các đơn vị đã sáp nhập, chia tách và đơn vị kế thừa; biên chế, số lượng người." }
                    a.button href="/org" { "Xem cơ cấu" }
                }
            }
            @if v.has_grants() || kind == "inspector" || kind == "system_admin" {
                section.card {
                    h2 { "Báo cáo, thống kê" }
                    p { "Báo cáo hằng năm, quản lý, chất lượng, thời hạn xử lý; tải CSV hoặc Excel." }
                    a.button href="/reports" { "Mở báo cáo" }
                }
            }
            @if kind == "system_admin" || kind == "agency_admin" {
                section.card {
                    h2 { "Tài khoản và phân quyền" }
                    p { "Cấp tài khoản, giao và thu hồi quyền, cấp lại mật khẩu." }
                    a.button href="/accounts" { "Quản lý tài khoản" }
                }
            }
            @if kind == "system_admin" {
                section.card {
                    h2 { "Nhật ký an ninh" }
                    p { "Đăng nhập, đăng nhập sai, truy cập ngoài phạm vi bị từ chối." }
                    a.button href="/security" { "Xem nhật ký" }
                }
            }
            @if kind == "agency_head" || v.has_keys() {
                section.card {
                    h2 { "Phê duyệt hằng tháng" }
                    p { "Hồ sơ đã khóa chờ phê duyệt bằng chữ ký số; ký ngay trên trình duyệt bằng tệp khóa của mình." }
                    a.button href="/queue/approvals" { "Mở danh sách phê duyệt" }
                }
            }
        }
    };
    page(&v, "Trang chủ", body)
}

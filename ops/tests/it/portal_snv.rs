//! The Sở Nội vụ's pages of the portal served by `hoso serve`, read as the
//! browser reads them (the session cookie holds the API token): the org tree
//! with a merged unit and its successor, the accounts, the security record,
//! a report and its CSV and XLSX passed through with the API's media type and
//! file name. Each page shows what the API answered, and only that.

use reqwest::StatusCode;
use serde_json::json;

use crate::support;
use crate::support::api::{Client, HEALTH, ROOT, decision};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
const PW: &str = "Cua-Toi#2026!y";
const EDUCATION: &str = "000.03.00.H33";
const OLD: &str = "000.03.01.H33";

/// A page as the signed-in browser gets it: status, headers, body text.
async fn page(
    c: &Client,
    token: &str,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = c
        .http
        .get(format!("{}{path}", c.base))
        .header("cookie", format!("hoso_session={token}"))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn html(c: &Client, token: &str, path: &str) -> String {
    let (status, _, body) = page(c, token, path).await;
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_affairs_pages_show_what_the_api_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ADMIN_OTP);
    let served = support::serve(&data);
    let c = Client::conforming(served.base.clone()).await;
    let admin = c.first_login("snv.admin", ADMIN_OTP, PW).await;
    c.health_department(&admin).await;
    for (code, name, parent) in [
        (EDUCATION, "Sở Giáo dục và Đào tạo", ROOT),
        (OLD, "Phòng Khảo thí cũ", EDUCATION),
    ] {
        c.ok(
            "POST",
            "/api/v1/org-units",
            &admin,
            json!({"code": code, "decision": decision("2/QĐ-UBND"),
                   "change": {"action": "establish", "name": name,
                              "kind": "internal_division", "parent": parent, "effective": "2026-01-05"}}),
        )
        .await;
    }
    c.ok(
        "POST",
        "/api/v1/org-units",
        &admin,
        json!({"code": OLD, "decision": decision("3/QĐ-UBND"),
               "change": {"action": "merge_into", "successor": EDUCATION, "effective": "2026-01-06"}}),
    )
    .await;
    c.staff(&admin, "specialist", "yte.tochuc", HEALTH, "update", PW)
        .await;

    // The tree before the merger has the old unit under its department; from
    // its date it is listed as merged, with its successor.
    let before = html(&c, &admin, "/org?on=05/01/2026").await;
    assert!(
        before.contains("Phòng Khảo thí cũ") && before.contains("Sở Y tế"),
        "{before}"
    );
    assert!(before.contains("Không có đơn vị nào chấm dứt"), "{before}");
    let after = html(&c, &admin, "/org?on=07/01/2026").await;
    assert!(after.contains("id=\"ceased\""), "{after}");
    assert!(after.contains("Sáp nhập"), "{after}");
    assert!(after.contains("tiếp nhận từ: Phòng Khảo thí cũ"), "{after}");
    let unit = html(
        &c,
        &admin,
        &format!("/org/{HEALTH}?on=07/01/2026&by=category"),
    )
    .await;
    assert!(unit.contains("id=\"headcount\""), "{unit}");
    let (status, _, _) = page(&c, &admin, "/org?on=31/02/2026").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Accounts and the security record.
    let accounts = html(&c, &admin, "/accounts").await;
    assert!(
        accounts.contains("yte.tochuc") && accounts.contains("Chuyên viên tổ chức cán bộ"),
        "{accounts}"
    );
    let security = html(&c, &admin, "/security").await;
    assert!(security.contains("Đăng nhập thành công"), "{security}");

    // A report, and its files exactly as the API writes them.
    let report = html(
        &c,
        &admin,
        &format!("/reports?kind=annual&org={HEALTH}&year=2026"),
    )
    .await;
    assert!(
        report.contains("id=\"report\"") && report.contains("/reports/file?"),
        "{report}"
    );
    for (format, media) in [
        ("csv", "text/csv; charset=utf-8"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ] {
        let (status, headers, body) = page(
            &c,
            &admin,
            &format!("/reports/file?kind=annual&org={HEALTH}&year=2026&format={format}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], media);
        assert_eq!(
            headers["content-disposition"],
            format!("attachment; filename=\"annual-{HEALTH}-2026.{format}\"").as_str()
        );
        assert!(!body.is_empty());
    }

    // A specialist is refused the Sở Nội vụ's pages in words, by the API's rule.
    let focal = c.token("yte.tochuc", PW).await;
    let (status, _, body) = page(&c, &focal, "/security").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("chỉ dành cho Sở Nội vụ")
    );
    let (status, _, _) = page(&c, &focal, "/accounts").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

//! The web portal end to end, in headless Chromium against `hoso serve`: a
//! declaration returned, declared again, verified, locked and approved with a
//! signature made in the browser, walked through the pages by the three people
//! who do it; and a specialist of another department trying the first
//! department's dossier through every page and form.
//!
//! After every step the browser's console must hold no error (the real
//! console, as chromedriver keeps it), so a script error or a refused style on
//! any page fails here. Every run saves screenshots of the main pages under
//! `target/portal-screenshots/`; two of them are in `docs/screenshots/`.
//!
//! The province is built through the JSON API (as `http.rs` builds its own);
//! only what the test is about goes through the pages.

use ed25519_dalek::SigningKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support;
use crate::support::api::{Client, decision};
use crate::support::browser::{Browser, field, fill_items, pem_key_file};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
/// What every staff account chose at its first login.
const PW: &str = "Cua-Toi#2026!y";
/// What the servant's account is issued, and what the servant chooses.
const ISSUED: &str = "Cap-Moi#2026!x";
const CHOSEN: &str = "Ho-So-Moi#2026!z";

const ROOT: &str = support::api::ROOT;
const HEALTH: &str = support::api::HEALTH;
const EDUCATION: &str = "000.03.00.H33";

const SERVANT: &str = "an.nv";
const SERVANT_NAME: &str = "Nguyễn Văn An";
const PERSON_ID: &str = "001090001234";
const HR: &str = "yte.tochuc";
const OTHER_HR: &str = "gd.tochuc";
const HEAD: &str = "yte.giamdoc";
const KEY_ID: &str = "gd-2026";

/// A served data directory with its province: the health department's
/// specialist and head (with a registered key), the education department's
/// specialist, and one servant of the health department with a dossier and a
/// personal account whose issued password is [`ISSUED`].
struct Province {
    api: Client,
    served: support::Served,
    hr: String,
    other_hr: String,
    dossier: String,
    key: SigningKey,
    tmp: tempfile::TempDir,
}

impl Province {
    fn base(&self) -> &str {
        &self.served.base
    }

    fn page(&self, path: &str) -> String {
        format!("{}{path}", self.served.base)
    }

    /// The dossier as the health specialist reads it through the API.
    async fn read(&self) -> Value {
        self.api
            .get_ok(&format!("/api/v1/dossiers/{}", self.dossier), &self.hr)
            .await
    }
}

async fn province() -> Province {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ADMIN_OTP);
    let served = support::serve(&data);
    let api = Client::conforming(served.base.clone()).await;
    let admin = api.first_login("snv.admin", ADMIN_OTP, PW).await;
    api.health_department(&admin).await;
    api.ok(
        "POST",
        "/api/v1/org-units",
        &admin,
        json!({"code": EDUCATION, "decision": decision("1/QĐ-UBND"),
               "change": {"action": "establish", "name": "Sở Giáo dục và Đào tạo",
                          "kind": "provincial_department", "parent": ROOT,
                          "effective": "2026-01-05"}}),
    )
    .await;
    let (_, hr) = api
        .staff(&admin, "specialist", HR, HEALTH, "update", PW)
        .await;
    let (_, other_hr) = api
        .staff(&admin, "specialist", OTHER_HR, EDUCATION, "update", PW)
        .await;
    let (head, _) = api
        .staff(&admin, "agency_head", HEAD, HEALTH, "access", PW)
        .await;
    let key = SigningKey::from_bytes(&[7u8; 32]);
    api.ok(
        "POST",
        &format!("/api/v1/accounts/{head}/changes"),
        &admin,
        json!({"action": "register_key", "key_id": KEY_ID,
               "public_key": hex::encode(key.verifying_key().to_bytes()),
               "valid_from": "2026-01-05"}),
    )
    .await;
    let r = api
        .ok(
            "POST",
            "/api/v1/dossiers",
            &hr,
            json!({"person_id": PERSON_ID, "full_name": SERVANT_NAME, "birth_date": "1990-05-17",
                   "category": "cong_chuc", "managing_unit": HEALTH, "employing_unit": HEALTH,
                   "recruited_on": "2026-01-05", "decision": decision("15/QĐ-SYT")}),
        )
        .await;
    let dossier = r["id"].as_str().unwrap().to_owned();
    let r = api
        .ok(
            "POST",
            "/api/v1/accounts",
            &hr,
            json!({"kind": "personal", "username": SERVANT, "org_code": HEALTH,
                   "person_id": PERSON_ID, "display_name": SERVANT_NAME,
                   "birth_date": "1990-05-17"}),
        )
        .await;
    let account = r["id"].as_str().unwrap();
    api.ok(
        "POST",
        &format!("/api/v1/accounts/{account}/password"),
        &hr,
        json!({"password": ISSUED}),
    )
    .await;
    Province {
        api,
        served,
        hr,
        other_hr,
        dossier,
        key,
        tmp,
    }
}

/// Declares the identity section on the open declare page.
async fn type_identity(b: &Browser, religion: &str) {
    fill_items(
        b,
        &[
            ("1", "NGUYỄN VĂN AN"),
            ("3a", "17/05/1990"),
            ("3b", "Nam"),
            ("25a", PERSON_ID),
            ("7", religion),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_declaration_return_lock_and_signed_approval_by_three_users() {
    let Some(mut b) = Browser::start("the portal's browser tests").await else {
        return;
    };
    let p = province().await;
    let id = p.dossier.clone();
    let dossier_path = format!("/dossiers/{id}");

    // The servant: the issued password leads to the password page, whose
    // rules are shown before anything is typed and ticked while typing.
    b.open(&p.page("/login"), "#username").await;
    b.screenshot("01-login", 1280).await;
    b.no_errors("login page").await;
    b.log_in(p.base(), SERVANT, ISSUED).await;
    b.wait_path("/password").await;
    let rules = b.text("#password-rules").await;
    assert!(rules.contains("Ít nhất 12 ký tự"), "{rules}");
    assert!(rules.contains("Có ký tự đặc biệt"), "{rules}");
    b.fill("#current-password", ISSUED).await;
    b.fill("#new-password", CHOSEN).await;
    b.fill("#confirm-password", CHOSEN).await;
    let met = b
        .run(
            "return document.querySelectorAll('#password-rules li.met').length;",
            vec![],
        )
        .await;
    assert_eq!(met, json!(5), "every rule the script checks is ticked");
    b.screenshot("02-password", 1280).await;
    b.press("Đổi mật khẩu").await;
    b.wait_text("p.notice", "Đã đổi mật khẩu").await;
    b.no_errors("password changed").await;

    // My dossier, then the identity section with a supporting document
    // uploaded on the page (with its progress), then the recruitment section.
    b.follow("Hồ sơ của tôi").await;
    b.wait_path(&dossier_path).await;
    b.wait_text("#workflow", "Chờ kê khai").await;
    b.follow("Sơ yếu lý lịch: nhân thân").await;
    b.wait_for("#declare-form").await;
    type_identity(&b, "Không").await;
    b.upload(p.tmp.path(), "giay-khai-sinh.pdf").await;
    let cited = b
        .run(
            "return Array.from(document.querySelectorAll('#declare-form input[name=attachments]')).map(function (i) { return i.value; });",
            vec![],
        )
        .await;
    assert_eq!(cited.as_array().map(Vec::len), Some(1), "{cited}");
    b.screenshot("03-declare", 1280).await;
    b.press("Gửi kê khai").await;
    b.wait_text("#workflow", "Đang kê khai").await;
    b.no_errors("identity declared").await;
    b.follow("Tuyển dụng, chức vụ, công việc").await;
    b.fill(&field("11a"), "05/01/2026").await;
    b.fill(&field("11b"), "Sở Y tế").await;
    b.press("Gửi kê khai").await;
    b.wait_text("#workflow", "Đang kê khai").await;
    let page = b.text("main").await;
    assert!(page.contains("Sở Y tế"), "the pending recruitment shows");
    b.screenshot("04-servant-dossier", 1280).await;
    b.no_errors("recruitment declared").await;
    let read = p.read().await;
    let sha = cited[0].as_str().unwrap();
    assert!(
        read["pending"]["identity"].is_array() && read["pending"]["recruitment"].is_array(),
        "{read}"
    );
    b.log_out().await;

    // The HR specialist finds the dossier by a name typed without diacritics
    // and returns the identity section with a reason.
    b.log_in(p.base(), HR, PW).await;
    b.follow("Tra cứu hồ sơ").await;
    b.fill("#name", "nguyen van an").await;
    b.press("Tìm kiếm").await;
    b.wait_text("#results", "Kết quả (1)").await;
    b.screenshot("05-search", 1280).await;
    b.no_errors("search").await;
    b.follow(SERVANT_NAME).await;
    b.wait_text("#workflow", "Đang kê khai").await;
    b.screenshot("06-hr-review", 1280).await;
    b.click("input[name=sections][value=identity]").await;
    let reason = "thiếu tôn giáo theo giấy khai sinh";
    b.fill("#reason", reason).await;
    b.press("Trả lại").await;
    b.wait_text("#returned", reason).await;
    b.no_errors("returned").await;
    b.log_out().await;

    // The servant sees what was returned and why, and declares again.
    b.log_in(p.base(), SERVANT, CHOSEN).await;
    b.follow("Hồ sơ của tôi").await;
    let returned = b.wait_text("#returned", reason).await;
    assert!(returned.contains("Sơ yếu lý lịch: nhân thân"), "{returned}");
    b.screenshot("07-servant-returned", 1280).await;
    b.follow("Sơ yếu lý lịch: nhân thân").await;
    b.wait_for("#declare-form").await;
    type_identity(&b, "Phật giáo Hòa Hảo").await;
    b.press("Gửi kê khai").await;
    b.wait_text("#workflow", "Đang kê khai").await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#returned"))
            .await
            .is_err(),
        "declared again, nothing shows as returned"
    );
    b.no_errors("declared again").await;
    b.log_out().await;

    // The specialist verifies against the papers, then locks.
    b.log_in(p.base(), HR, PW).await;
    b.open(&p.page(&dossier_path), "#workflow").await;
    b.fill("#note", "khớp bản gốc").await;
    b.press("Xác nhận khớp bản gốc").await;
    b.wait_text("#workflow", "Đã thẩm định").await;
    b.press("Khóa và trình phê duyệt").await;
    b.wait_text("#workflow", "Đã khóa").await;
    b.open(&p.page(&format!("{dossier_path}/history")), "#history")
        .await;
    let history = b.text("#history").await;
    for step in [
        "Kê khai",
        "Trả lại để kê khai lại",
        "Thẩm định",
        "Khóa bản kê khai",
    ] {
        assert!(history.contains(step), "{step} in the history: {history}");
    }
    assert!(history.contains("Phật giáo Hòa Hảo"), "{history}");
    b.screenshot("08-history", 1280).await;
    b.no_errors("verified, locked, history").await;
    b.log_out().await;

    // The head signs in the browser with the key file they hold.
    let pem = pem_key_file(&p.tmp.path().join("giamdoc-gd-2026.pem"), &p.key);
    b.log_in(p.base(), HEAD, PW).await;
    b.open(&p.page(&format!("{dossier_path}/approve")), "#keyfile")
        .await;
    let digest = b.text("#digest").await;
    assert_eq!(digest.len(), 64, "{digest}");
    b.screenshot("09-approve", 1280).await;
    b.wait_for("#keyfile")
        .await
        .send_keys(pem.to_str().unwrap())
        .await
        .unwrap();
    b.press("Ký và phê duyệt").await;
    // Outside the profile's monthly window the API accepts and warns where the
    // profile only warns (the served node runs on today's date); the portal
    // shows the warnings before going back to the dossier, since a redirect
    // would lose them.
    let landed = b.wait_for("#warnings, #workflow").await;
    if landed.attr("id").await.unwrap().as_deref() == Some("warnings") {
        b.screenshot("10-approved-with-warnings", 1280).await;
        b.follow("Về hồ sơ").await;
    }
    b.wait_text("#workflow", "Đã phê duyệt").await;
    let approvals = b.text("#approvals").await;
    assert!(approvals.contains(KEY_ID), "{approvals}");
    b.screenshot("10-approved", 1280).await;
    b.screenshot("11-approved-phone", 390).await;
    b.no_errors("approved").await;

    // The log agrees: approved once, with the head's key, and the document
    // uploaded in the page is cited by the declaration.
    let read = p.read().await;
    assert_eq!(read["workflow"], "approved", "{read}");
    assert_eq!(read["approvals"].as_array().map(Vec::len), Some(1));
    assert_eq!(read["approvals"][0]["key_id"], KEY_ID);
    let history = p
        .api
        .get_ok(&format!("/api/v1/dossiers/{id}/history"), &p.hr)
        .await;
    assert!(history.to_string().contains(sha), "{history}");

    // The servant sees the approved dossier, as the phone shows it too.
    b.log_out().await;
    b.log_in(p.base(), SERVANT, CHOSEN).await;
    b.follow("Hồ sơ của tôi").await;
    b.wait_text("#workflow", "Đã phê duyệt").await;
    b.screenshot("12-servant-approved-phone", 390).await;
    b.no_errors("the servant's approved dossier").await;
    b.close().await;
}

/// Builds a form in the page and submits it as the visitor's browser would,
/// with the page's own form token unless `token` is given.
async fn post_form(b: &Browser, action: &str, fields: &[(&str, &str)], token: Option<&str>) {
    let fields: Vec<Value> = fields.iter().map(|(k, v)| json!([k, v])).collect();
    b.run(
        "var f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
         var own = document.querySelector('input[name=_csrf]');
         var token = arguments[2] === null ? (own ? own.value : '') : arguments[2];
         var all = arguments[1].concat([['_csrf', token]]);
         all.forEach(function (kv) {
           var i = document.createElement('input'); i.type = 'hidden';
           i.name = kv[0]; i.value = kv[1]; f.appendChild(i);
         });
         document.body.appendChild(f); f.submit(); return true;",
        vec![json!(action), json!(fields), json!(token)],
    )
    .await;
}

/// `fetch` from the page with the browser's cookie; the answer's status.
async fn fetch_status(b: &Browser, action: &str, body: &str, csrf_header: bool) -> u16 {
    let status = b
        .client
        .execute_async(
            "var done = arguments[arguments.length - 1];
             var own = document.querySelector('input[name=_csrf]');
             var headers = {'Content-Type': arguments[2] ? 'application/octet-stream' : 'application/x-www-form-urlencoded'};
             if (arguments[2] && own) { headers['X-CSRF-Token'] = own.value; }
             fetch(arguments[0], {method: 'POST', body: arguments[1], headers: headers, credentials: 'same-origin'})
               .then(function (r) { done(r.status); }, function (e) { done(String(e)); });",
            vec![json!(action), json!(body), json!(csrf_header)],
        )
        .await
        .unwrap();
    u16::try_from(status.as_u64().unwrap_or_else(|| panic!("{status}"))).unwrap()
}

/// The page says it refused: the refusal frame with its words.
async fn refused(b: &Browser, step: &str, words: &str) {
    let said = b.wait_text(".refusal", words).await;
    assert!(!said.is_empty(), "{step}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_scope_escape_is_refused() {
    let Some(mut b) = Browser::start("the portal's browser tests").await else {
        return;
    };
    let p = province().await;
    let id = p.dossier.clone();
    let decl = format!("/api/v1/dossiers/{id}/declarations");
    p.api
        .ok(
            "POST",
            &decl,
            &p.hr,
            json!({"section": "identity", "fields": [
                {"field": "1", "value": "NGUYỄN VĂN AN"}, {"field": "3a", "value": "17/05/1990"},
                {"field": "3b", "value": "Nam"}, {"field": "25a", "value": PERSON_ID}]}),
        )
        .await;
    let before = p.read().await;
    let revision = before["revision"].clone();
    // The API itself: not the other department's to read.
    let direct = p
        .api
        .get(&format!("/api/v1/dossiers/{id}"), &p.other_hr)
        .await;
    assert_eq!(direct.status, StatusCode::NOT_FOUND, "{}", direct.body);

    let not_ours = "ngoài phạm vi quản lý";
    b.log_in(p.base(), OTHER_HR, PW).await;
    b.no_errors("the other specialist's home").await;
    for path in [
        format!("/dossiers/{id}"),
        format!("/dossiers/{id}/history"),
        format!("/dossiers/{id}/declare/identity"),
        format!("/dossiers/{id}/approve"),
    ] {
        b.open(&p.page(&path), "main h1").await;
        assert_eq!(b.text("main h1").await, "Không thực hiện được", "{path}");
        refused(&b, &path, not_ours).await;
        let shown = b.text("main").await;
        assert!(!shown.contains(SERVANT_NAME), "{path} names the person");
        b.errors_except(&path, &[404]).await;
    }
    b.screenshot("13-scope-refused", 1280).await;

    // The forms, posted with the visitor's own valid form token.
    b.open(&p.page("/"), "main h1").await;
    post_form(
        &b,
        &format!("/dossiers/{id}/review"),
        &[("action", "verify"), ("note", "")],
        None,
    )
    .await;
    refused(&b, "review", not_ours).await;
    b.errors_except("review post", &[404]).await;
    b.open(&p.page("/"), "main h1").await;
    post_form(
        &b,
        &format!("/dossiers/{id}/review"),
        &[("action", "lock")],
        None,
    )
    .await;
    refused(&b, "lock", not_ours).await;
    b.errors_except("lock post", &[404]).await;
    b.open(&p.page("/"), "main h1").await;
    post_form(
        &b,
        &format!("/dossiers/{id}/declare/identity"),
        &[("f:7:0", "Không"), ("f:1:0", "NGUYỄN VĂN AN")],
        None,
    )
    .await;
    refused(&b, "declare", not_ours).await;
    b.errors_except("declare post", &[404]).await;
    b.open(&p.page("/"), "main h1").await;
    post_form(
        &b,
        &format!("/dossiers/{id}/approve"),
        &[
            ("revision", &revision.to_string()),
            ("key_id", KEY_ID),
            ("stream_hash", &"0".repeat(64)),
            ("signature", &"0".repeat(128)),
        ],
        None,
    )
    .await;
    refused(&b, "approve", not_ours).await;
    b.errors_except("approve post", &[404]).await;
    b.open(&p.page("/"), "main h1").await;
    let upload = fetch_status(&b, &format!("/dossiers/{id}/upload"), "a scan", true).await;
    assert_eq!(upload, 404, "an upload to another department's dossier");
    b.errors_except("upload", &[404]).await;
    b.log_out().await;

    // A forged form: the dossier's own specialist, but not the session's
    // token, is refused before anything reaches the API.
    b.log_in(p.base(), HR, PW).await;
    b.open(&p.page("/"), "main h1").await;
    let forged = fetch_status(
        &b,
        &format!("/dossiers/{id}/review"),
        "action=verify&_csrf=00000000000000000000000000000000",
        false,
    )
    .await;
    assert_eq!(forged, 403);
    post_form(
        &b,
        &format!("/dossiers/{id}/review"),
        &[("action", "verify")],
        Some("00000000000000000000000000000000"),
    )
    .await;
    refused(&b, "forged", "chống giả mạo").await;
    b.errors_except("forged form", &[403]).await;

    let after = p.read().await;
    assert_eq!(after["revision"], revision, "nothing was appended: {after}");
    assert_eq!(after["workflow"], before["workflow"]);
    b.close().await;
}

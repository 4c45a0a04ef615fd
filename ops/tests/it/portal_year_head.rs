//! The heads' year and the Sở Nội vụ's year on the demo province, walked in
//! headless Chromium with the logins and key files `hoso demo` prints: a head
//! signs the month's pending dossier from the approval queue with the key
//! file (another finds nothing waiting), delegates signing to a deputy picked by name (KT 8.1), the deputy
//! signs under the delegation and the head ends it; the Sở Nội vụ's director
//! limits a delegation to a division ticked by name; the Sở Nội vụ reads the
//! org tree across the demo's merger, the accounts (registering a signing
//! key), the security record after a failed login, downloads a report as CSV and XLSX, and its director
//! seals the national sync batch the demo left for today.
//!
//! What a focal point would have done first (verifying and locking a
//! declaration, issuing the deputy's account and key) is prepared through
//! the JSON API; what the heads and the Sở Nội vụ do goes through the pages.
//! The served node runs on today's date, after the demo's story (Jan–Mar 2026).

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::support::api::Client;
use crate::support::browser::{Browser, pem_key_file};
use crate::support::demo::Demo;

/// The demo's first school: its head and focal point are demo logins, and it
/// took the merged school in (with the change declared after February's
/// signatures, which waits for a head).
const SCHOOL: &str = "101.03.00.H33";
/// The school merged into it on 09/02/2026.
const MERGED: &str = "102.03.00.H33";
/// The provincial hospital, whose head delegates in the walk.
const HOSPITAL: &str = "901.04.00.H33";
const PROVINCE: &str = "000.00.00.H33";
/// The Sở Nội vụ's office, one of its divisions.
const SNV_OFFICE: &str = "001.01.00.H33";
const SNV_OFFICE_NAME: &str = "Văn phòng Sở Nội vụ";

const DEPUTY: &str = "bvdk.phogiamdoc";
const DEPUTY_NAME: &str = "Trịnh Minh Phương";
const DEPUTY_KEY: &str = "bvdk.phogiamdoc-2026";
const ISSUED: &str = "Cap-Moi#2026!x";
const CHOSEN: &str = "Pho-Giam-Doc#2026!q";

/// The API, and a bearer token for a demo login.
async fn api(demo: &Demo, user: &str) -> (Client, String) {
    let c = Client::conforming(demo.base().to_owned()).await;
    let login = demo.login(user);
    let t = c.token(&login.username, &login.password).await;
    (c, t)
}

/// The focal point's work before the head's: the unit's declarations that
/// wait (`declaring`) verified and locked. Returns the locked dossiers' ids
/// and names.
async fn verify_and_lock_waiting(demo: &Demo, focal: &str, unit: &str) -> Vec<(String, String)> {
    let (c, t) = api(demo, focal).await;
    let hits = c
        .get_ok(
            &format!("/api/v1/dossiers?unit={unit}&workflow=declaring"),
            &t,
        )
        .await;
    let mut locked = Vec::new();
    for h in hits["items"].as_array().unwrap() {
        let id = h["id"].as_str().unwrap();
        let review = format!("/api/v1/dossiers/{id}/review");
        c.ok(
            "POST",
            &review,
            &t,
            json!({"action": "verify", "note": "khớp bản gốc"}),
        )
        .await;
        c.ok("POST", &review, &t, json!({"action": "lock"})).await;
        locked.push((id.to_owned(), h["full_name"].as_str().unwrap().to_owned()));
    }
    locked
}

/// A change of residence declared by the focal point for an approved
/// dossier of `unit`, with its proof, verified and locked. Returns the
/// dossier's id and name.
async fn locked_change(c: &Client, t: &str, unit: &str, skip: &[String]) -> (String, String) {
    let hits = c
        .get_ok(
            &format!("/api/v1/dossiers?unit={unit}&workflow=approved"),
            t,
        )
        .await;
    let h = hits["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| !skip.iter().any(|s| h["id"] == s.as_str()))
        .unwrap()
        .clone();
    let id = h["id"].as_str().unwrap();
    let up = c
        .upload(id, t, b"%PDF-1.4\n% giay xac nhan cu tru\n".to_vec())
        .await;
    let sha = up.body["sha256"].as_str().unwrap();
    c.ok(
        "POST",
        &format!("/api/v1/dossiers/{id}/declarations"),
        t,
        json!({"section": "residence", "attachments": [sha],
               "fields": [{"field": "8", "row": 0, "value": "Phường Hiến Nam, tỉnh Hưng Yên"},
                          {"field": "9", "row": 0, "value": "Phường Hiến Nam, tỉnh Hưng Yên"}]}),
    )
    .await;
    let review = format!("/api/v1/dossiers/{id}/review");
    c.ok("POST", &review, t, json!({"action": "verify"})).await;
    c.ok("POST", &review, t, json!({"action": "lock"})).await;
    (id.to_owned(), h["full_name"].as_str().unwrap().to_owned())
}

/// The hospital's deputy director, as its administrator would issue them:
/// a staff account of the hospital with access right, a password they
/// changed, and a registered signing key. Returns the key file.
async fn hospital_deputy(demo: &Demo) -> PathBuf {
    let (c, admin) = api(demo, "snv.hethong").await;
    let r = c
        .ok(
            "POST",
            "/api/v1/accounts",
            &admin,
            json!({"kind": "specialist", "username": DEPUTY, "org_code": HOSPITAL,
                   "display_name": DEPUTY_NAME}),
        )
        .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let changes = format!("/api/v1/accounts/{id}/changes");
    c.ok(
        "POST",
        &changes,
        &admin,
        json!({"action": "grant", "org_code": HOSPITAL, "right": "access", "reason": "phó giám đốc"}),
    )
    .await;
    let key = SigningKey::from_bytes(&[42u8; 32]);
    c.ok(
        "POST",
        &changes,
        &admin,
        json!({"action": "register_key", "key_id": DEPUTY_KEY,
               "public_key": hex::encode(key.verifying_key().to_bytes()),
               "valid_from": "2026-01-05"}),
    )
    .await;
    c.ok(
        "POST",
        &format!("/api/v1/accounts/{id}/password"),
        &admin,
        json!({"password": ISSUED}),
    )
    .await;
    c.first_login(DEPUTY, ISSUED, CHOSEN).await;
    pem_key_file(&demo.dir.join(format!("{DEPUTY}.pem")), &key)
}

/// Signs the open approval page's digest with `key_file` and waits for the
/// dossier approved (through the API's warnings page, outside the window).
async fn sign_in_page(b: &mut Browser, key_file: &Path, shot: &str) {
    let digest = b.text("#digest").await;
    assert_eq!(digest.len(), 64, "{digest}");
    b.wait_for("#keyfile")
        .await
        .send_keys(key_file.to_str().unwrap())
        .await
        .unwrap();
    b.press("Ký và phê duyệt").await;
    let landed = b.wait_for("#warnings, #workflow").await;
    if landed.attr("id").await.unwrap().as_deref() == Some("warnings") {
        let said = b.text("#warnings").await;
        assert!(
            said.contains("Phê duyệt ngoài thời hạn hằng tháng"),
            "the window's warning in words: {said}"
        );
        b.screenshot(shot, 1280).await;
        b.no_errors("the approval's warnings").await;
        b.follow("Về hồ sơ").await;
    }
    b.wait_text("#workflow", "Đã phê duyệt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_signs_the_change_left_for_march_from_the_approval_queue() {
    let Some(mut b) = Browser::start("the heads' year on the demo province").await else {
        return;
    };
    let demo = Demo::serve();
    // The change declared on 27/02 after February's signatures, in the school
    // that took the merged one in: its focal point verifies and locks it.
    let locked = verify_and_lock_waiting(&demo, "thcs01.tccb", SCHOOL).await;
    assert_eq!(
        locked.len(),
        1,
        "the demo leaves one change waiting: {locked:?}"
    );
    let (id, name) = locked[0].clone();

    let head = demo.login("thcs01.hieutruong");
    b.log_in(demo.base(), &head.username, &head.password).await;
    b.follow("Phê duyệt").await;
    b.wait_for("#windows").await;
    let windows = b.text("#windows").await;
    assert!(
        windows.contains("Thủ trưởng đơn vị") && windows.contains("/2026"),
        "this month's windows: {windows}"
    );
    let queue = b.wait_text("#approval-queue", &name).await;
    assert!(!queue.contains("declaring"), "{queue}");
    // The change has waited since March (the node runs on today's date): its
    // deadline is marked overdue, counted in working days.
    let late = b.text("#approval-queue li.overdue").await;
    assert!(
        late.contains("— quá hạn") && late.contains("ngày làm việc"),
        "{late}"
    );
    b.screenshot("year-head-01-approval-queue", 1280).await;
    b.no_errors("the head's approval queue").await;

    b.follow(&name).await;
    b.wait_text("#workflow", "Đã khóa").await;
    b.follow("Ký phê duyệt").await;
    b.wait_for("#keyfile").await;
    b.screenshot("year-head-02-approve", 1280).await;
    b.no_errors("the approval page").await;
    sign_in_page(
        &mut b,
        &demo.key_file("thcs01.hieutruong"),
        "year-head-03-approval-warnings",
    )
    .await;
    let approvals = b.text("#approvals").await;
    assert!(approvals.contains("thcs01.hieutruong-2026"), "{approvals}");
    b.no_errors("approved").await;

    // The queue is empty now, and the API agrees.
    b.follow("Phê duyệt").await;
    b.wait_text("main", "Không có hồ sơ nào đang chờ phê duyệt")
        .await;
    let (c, t) = api(&demo, "thcs01.tccb").await;
    let d = c.get_ok(&format!("/api/v1/dossiers/{id}"), &t).await;
    assert_eq!(d["workflow"], "approved", "{d}");
    b.no_errors("the empty queue").await;
    b.log_out().await;

    // The commune's chairman has nothing waiting: the queue says so, under
    // the month's windows.
    let chair = demo.login("xa01.chutich");
    b.log_in(demo.base(), &chair.username, &chair.password)
        .await;
    b.follow("Phê duyệt").await;
    b.wait_for("#windows").await;
    b.wait_text("main", "Không có hồ sơ nào đang chờ phê duyệt")
        .await;
    b.no_errors("the commune chairman's queue").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_delegates_to_a_deputy_picked_by_name_who_signs_until_it_is_ended() {
    let Some(mut b) = Browser::start("the heads' year on the demo province").await else {
        return;
    };
    let demo = Demo::serve();
    let key_file = hospital_deputy(&demo).await;
    let (c, focal) = api(&demo, "bvdk.tccb").await;
    let (own, own_name) = locked_change(&c, &focal, HOSPITAL, &[]).await;
    let (theirs, their_name) =
        locked_change(&c, &focal, HOSPITAL, std::slice::from_ref(&own)).await;

    // The head signs one change, then delegates: the deputy is chosen by
    // name among the hospital's staff accounts, not typed as an id.
    let head = demo.login("bvdk.giamdoc");
    b.log_in(demo.base(), &head.username, &head.password).await;
    b.follow("Phê duyệt").await;
    b.wait_text("#approval-queue", &their_name).await;
    b.follow(&own_name).await;
    b.follow("Ký phê duyệt").await;
    b.wait_for("#digest").await;
    // The node's today, as the approval page says it (dd/mm/yyyy).
    let today = b
        .run(
            "return Array.from(document.querySelectorAll('dl.facts dt'))
                 .find(function (dt) { return dt.textContent === 'Hôm nay'; })
                 .nextElementSibling.textContent.trim();",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .to_owned();
    sign_in_page(
        &mut b,
        &demo.key_file("bvdk.giamdoc"),
        "year-head-04-head-warnings",
    )
    .await;

    b.follow("Ủy quyền phê duyệt").await;
    let choices = b.text("select#to_account").await;
    assert!(
        choices.contains(DEPUTY_NAME) && choices.contains("bvdk.tccb"),
        "the hospital's staff by name: {choices}"
    );
    assert!(
        !choices.contains("bvdk.giamdoc"),
        "not the head themself: {choices}"
    );
    // The hospital has no units under it: a delegation covers it whole.
    let no_units = b
        .run(
            "return document.querySelector('#org_codes') === null;",
            vec![],
        )
        .await;
    assert_eq!(
        no_units,
        json!(true),
        "no unit list for a unit without units"
    );
    let deputy_id = b
        .run(
            "var want = arguments[0];
             var o = Array.from(document.querySelectorAll('#to_account option'))
                 .find(function (o) { return o.textContent.indexOf(want) >= 0; });
             o.selected = true;
             return o.value;",
            vec![json!(DEPUTY_NAME)],
        )
        .await;
    assert!(
        deputy_id.as_str().is_some_and(|s| s.len() == 36),
        "{deputy_id}"
    );
    b.fill("#valid_from", &today).await;
    b.fill("#valid_until", "31/12/2027").await;
    b.fill("#doc_number", "25/QĐ-BVĐK").await;
    b.fill("#doc_date", &today).await;
    b.fill("#doc_issuer", "Bệnh viện Đa khoa tỉnh Hưng Yên")
        .await;
    b.screenshot("year-head-05-delegate", 1280).await;
    b.press("Ủy quyền").await;
    let given = b.wait_text("#delegations", DEPUTY_NAME).await;
    assert!(given.contains("Đang có hiệu lực"), "{given}");
    b.screenshot("year-head-06-delegations", 1280).await;
    b.no_errors("delegated").await;
    b.log_out().await;

    // The deputy signs the other change with their own key, under the delegation.
    b.log_in(demo.base(), DEPUTY, CHOSEN).await;
    b.follow("Phê duyệt").await;
    b.wait_text("#approval-queue", &their_name).await;
    b.follow(&their_name).await;
    b.follow("Ký phê duyệt").await;
    b.wait_for("#keyfile").await;
    b.screenshot("year-head-07-deputy-approve", 1280).await;
    sign_in_page(&mut b, &key_file, "year-head-08-deputy-warnings").await;
    let approvals = b.text("#approvals").await;
    assert!(approvals.contains(DEPUTY_KEY), "{approvals}");
    b.no_errors("the deputy approved").await;
    b.log_out().await;

    // The head ends the delegation, with a reason.
    b.log_in(demo.base(), &head.username, &head.password).await;
    b.follow("Ủy quyền phê duyệt").await;
    b.fill("#reason-0", "Phó giám đốc đi học dài hạn").await;
    b.press("Chấm dứt ủy quyền").await;
    let given = b.wait_text("#delegations", "Đã chấm dứt").await;
    assert!(given.contains(DEPUTY_NAME), "{given}");
    b.no_errors("the delegation ended").await;

    // The log agrees: both changes approved, the second with the deputy's key.
    let d = c
        .get_ok(&format!("/api/v1/dossiers/{theirs}"), &focal)
        .await;
    assert_eq!(d["workflow"], "approved", "{d}");
    let last = d["approvals"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["key_id"], DEPUTY_KEY, "{d}");
    b.close().await;
}

/// `href`'s answer fetched by the page itself, as the download link does:
/// status, media type, disposition and the first bytes.
async fn fetched(b: &Browser, href: &str) -> Value {
    b.run(
        "return fetch(arguments[0], {credentials: 'same-origin'}).then(function (r) {
             return r.arrayBuffer().then(function (buf) {
                 return [r.status, r.headers.get('content-type'), r.headers.get('content-disposition'),
                         Array.from(new Uint8Array(buf).slice(0, 4)), buf.byteLength];
             });
         });",
        vec![json!(href)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_affairs_reads_the_merger_accounts_attempts_and_downloads_reports() {
    let Some(mut b) = Browser::start("the Sở Nội vụ's year on the demo province").await
    else {
        return;
    };
    let demo = Demo::serve();
    let (c, t) = api(&demo, "snv.hethong").await;
    let merged = c
        .get_ok(&format!("/api/v1/org-units/{MERGED}?date=2026-02-01"), &t)
        .await;
    let merged_name = merged["name"].as_str().unwrap().to_owned();

    // A failed login first, for the security record.
    b.open(&demo.page("/login"), "#username").await;
    b.fill("#username", "snv.tccb").await;
    b.fill("#password", "sai-mat-khau").await;
    b.press("Đăng nhập").await;
    b.wait_for(".refusal").await;
    b.errors_except("a wrong password", &[401]).await;

    let admin = demo.login("snv.hethong");
    b.log_in(demo.base(), &admin.username, &admin.password)
        .await;

    // The tree before the merger holds the merged school; after, it is
    // listed as merged into the first school.
    b.follow("Cơ cấu tổ chức").await;
    b.fill("#on", "01/02/2026").await;
    b.press("Xem").await;
    b.wait_text("#org-tree", &merged_name).await;
    b.no_errors("the tree before the merger").await;
    b.fill("#on", "01/03/2026").await;
    b.press("Xem").await;
    let ceased = b.wait_text("#ceased", "Sáp nhập").await;
    assert!(ceased.contains(&merged_name), "{ceased}");
    b.screenshot("year-head-09-org-after-merger", 1280).await;
    b.no_errors("the tree after the merger").await;
    // The merged school's own page names the school that took it in.
    b.open(
        &demo.page(&format!("/org/{MERGED}?on=01/03/2026")),
        "main dl.facts",
    )
    .await;
    let facts = b.text("main dl.facts").await;
    assert!(
        facts.contains("Đơn vị kế thừa")
            && facts.contains("Trường Trung học cơ sở Phố Hiến")
            && facts.contains(SCHOOL),
        "the successor by name: {facts}"
    );
    b.no_errors("the merged school's page").await;

    // Accounts and rights, as the system administrator sees them.
    b.follow("Tài khoản").await;
    let accounts = b.wait_text("#accounts", "thanhtra.kiemtra").await;
    assert!(accounts.contains("bvdk.giamdoc"), "{accounts}");
    b.screenshot("year-head-10-accounts", 1280).await;
    b.no_errors("accounts").await;

    // A signing key registered for the hospital's focal point (who would sign
    // under a delegation), with its public half only.
    let picked = b
        .run(
            "var o = Array.from(document.querySelectorAll('#key-account option'))
                 .find(function (o) { return o.textContent.indexOf('(bvdk.tccb)') >= 0; });
             o.selected = true;
             return o.value;",
            vec![],
        )
        .await;
    assert!(picked.is_string(), "{picked}");
    let public = SigningKey::from_bytes(&[9u8; 32])
        .verifying_key()
        .to_bytes();
    b.fill("#key_id", "bvdk.tccb-2027").await;
    b.fill("#public_key", &hex::encode(public)).await;
    b.fill("#valid_from", "01/01/2027").await;
    b.press("Đăng ký khóa").await;
    b.wait_text("p.notice", "Đã đăng ký khóa ký số").await;
    let accounts = b.text("#accounts").await;
    assert!(
        accounts.contains("bvdk.tccb-2027 từ 01/01/2027"),
        "{accounts}"
    );
    b.no_errors("a signing key registered").await;

    // The security record lists the failed login.
    b.follow("Nhật ký an ninh").await;
    let attempts = b.wait_text("#attempts", "Đăng nhập sai").await;
    let failed = b
        .run(
            "return Array.from(document.querySelectorAll('#attempts tbody tr'))
                 .map(function (r) { return r.textContent; })
                 .filter(function (t) { return t.indexOf('snv.tccb') >= 0 && t.indexOf('Đăng nhập sai') >= 0; });",
            vec![],
        )
        .await;
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 1, "the failed login, once: {attempts}");
    let row = failed[0].as_str().unwrap();
    assert!(
        row.contains("lần sai với tên đăng nhập này") && !row.contains("failures"),
        "the detail in words: {row}"
    );
    // The account by its holder's name and login (the login column repeats it).
    assert!(
        row.contains("(snv.tccb)") && row.matches("snv.tccb").count() == 2,
        "the account by name: {row}"
    );
    b.screenshot("year-head-11-security", 1280).await;
    b.no_errors("security attempts").await;

    // The annual report of the province, and both files downloaded.
    b.follow("Báo cáo").await;
    b.wait_for("#report-form").await;
    b.run(
        "document.getElementById('kind').value = 'annual'; return null;",
        vec![],
    )
    .await;
    b.fill("#org", PROVINCE).await;
    b.fill("#year", "2026").await;
    b.press("Xem báo cáo").await;
    let report = b.text("#report").await;
    assert!(
        report.contains("Cán bộ, công chức cấp xã") && report.contains("Viên chức"),
        "categories in words: {report}"
    );
    b.screenshot("year-head-12-report", 1280).await;
    b.no_errors("the annual report").await;
    let links = b
        .run(
            "return Array.from(document.querySelectorAll('#report a[download]')).map(function (a) { return a.href; });",
            vec![],
        )
        .await;
    let links: Vec<String> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    let csv = fetched(&b, &links[0]).await;
    assert_eq!(csv[0], 200, "{csv}");
    assert_eq!(csv[1], "text/csv; charset=utf-8", "{csv}");
    assert!(
        csv[2].as_str().unwrap().ends_with(".csv\""),
        "a file name: {csv}"
    );
    assert!(csv[4].as_u64().unwrap() > 10, "{csv}");
    let xlsx = fetched(&b, &links[1]).await;
    assert_eq!(xlsx[0], 200, "{xlsx}");
    assert_eq!(
        xlsx[1], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "{xlsx}"
    );
    assert_eq!(xlsx[3], json!([0x50, 0x4b, 3, 4]), "a zip: {xlsx}");
    b.no_errors("the report's files").await;
    b.log_out().await;

    // The agency administrator of the Sở Nội vụ sees the accounts it administers.
    let quantri = demo.login("snv.quantri");
    b.log_in(demo.base(), &quantri.username, &quantri.password)
        .await;
    b.follow("Tài khoản").await;
    let listed = b.wait_text("#accounts", "snv.tccb").await;
    assert!(!listed.contains("bvdk.giamdoc"), "only its own: {listed}");
    b.screenshot("year-head-13-agency-accounts", 1280).await;
    b.no_errors("the agency administrator's accounts").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kt_8_1_a_head_limits_a_delegation_to_units_ticked_by_name() {
    let Some(mut b) = Browser::start("a head's delegation limited to some units").await else {
        return;
    };
    let demo = Demo::serve();
    let director = demo.login("snv.giamdoc");
    b.log_in(demo.base(), &director.username, &director.password)
        .await;
    b.follow("Ủy quyền phê duyệt").await;
    // The Sở Nội vụ and its divisions, by name, the Sở first.
    let units = b.text("#org_codes").await;
    assert!(
        units.contains("Sở Nội vụ tỉnh Hưng Yên") && units.contains(SNV_OFFICE_NAME),
        "{units}"
    );
    assert!(
        units.find("Sở Nội vụ tỉnh").unwrap() < units.find(SNV_OFFICE_NAME).unwrap(),
        "{units}"
    );
    let picked = b
        .run(
            "var o = Array.from(document.querySelectorAll('#to_account option'))
                 .find(function (o) { return o.value !== ''; });
             o.selected = true;
             return o.textContent;",
            vec![],
        )
        .await;
    let deputy = picked
        .as_str()
        .unwrap()
        .split(" (")
        .next()
        .unwrap()
        .to_owned();
    b.run(
        "var want = arguments[0];
         var l = Array.from(document.querySelectorAll('#org_codes label'))
             .find(function (l) { return l.textContent.indexOf(want) >= 0; });
         document.getElementById(l.htmlFor).click();",
        vec![json!(SNV_OFFICE_NAME)],
    )
    .await;
    b.fill("#valid_from", "01/01/2027").await;
    b.fill("#valid_until", "31/03/2027").await;
    b.fill("#doc_number", "40/QĐ-SNV").await;
    b.fill("#doc_date", "01/12/2026").await;
    b.fill("#doc_issuer", "Sở Nội vụ tỉnh Hưng Yên").await;
    b.screenshot("year-head-16-delegate-units", 1280).await;
    b.press("Ủy quyền").await;
    let given = b.wait_text("#delegations", &deputy).await;
    assert!(given.contains(SNV_OFFICE_NAME), "the unit by name: {given}");
    b.no_errors("delegated over one division").await;

    // The log holds the ticked unit's code.
    let (c, t) = api(&demo, "snv.giamdoc").await;
    let me = c.get_ok("/api/v1/accounts/me", &t).await;
    let limits: Vec<Value> = me["delegations"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["org_codes"].clone())
        .collect();
    assert_eq!(limits, [json!([SNV_OFFICE])], "{me}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_director_seals_the_next_months_national_batch_with_the_key_file() {
    let Some(mut b) = Browser::start("the Sở Nội vụ's year on the demo province").await
    else {
        return;
    };
    let demo = Demo::serve();
    let director = demo.login("snv.giamdoc");
    b.log_in(demo.base(), &director.username, &director.password)
        .await;
    b.follow("Đồng bộ quốc gia").await;
    // The demo sealed January and February; March is next, and its time
    // to be sealed has come (the node runs on today's date).
    let sealed = b.text("#batches").await;
    assert!(
        sealed.contains("02/2026") && sealed.contains("01/2026"),
        "{sealed}"
    );
    let next = b.text("#next-batch").await;
    assert!(next.contains("03/2026"), "{next}");
    b.screenshot("year-head-14-sync", 1280).await;
    b.no_errors("the sync page").await;
    b.wait_for("#keyfile")
        .await
        .send_keys(demo.key_file("snv.giamdoc").to_str().unwrap())
        .await
        .unwrap();
    b.press("Ký và niêm phong lô").await;
    b.wait_text("p.notice", "Đã ký và niêm phong").await;
    let sealed = b.text("#batches").await;
    assert!(sealed.contains("03/2026"), "{sealed}");
    let next = b.text("#next-batch").await;
    assert!(next.contains("04/2026"), "the next month follows: {next}");
    b.screenshot("year-head-15-sync-sealed", 1280).await;
    b.no_errors("the batch sealed").await;

    let (c, t) = api(&demo, "snv.giamdoc").await;
    let report = c.get_ok("/api/v1/reports/sync", &t).await;
    let months: Vec<&str> = report["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["month"].as_str())
        .collect();
    assert_eq!(months, ["2026-01", "2026-02", "2026-03"], "{report}");
    b.close().await;
}

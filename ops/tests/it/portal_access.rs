//! The portal's quality bar (issue 18) in headless Chromium on the demo
//! province, with the logins the demo prints: the inspector's year (search,
//! a dossier's verified timeline, the bundle downloaded and verified offline,
//! nothing writable); every role's main pages readable at 200 % zoom and on a
//! phone (no sideways scrolling of the page, screenshots to look at), with a
//! label on every field; a walk done with the keyboard alone, focus always
//! visible; and organisational units shown by their names, not only codes.

use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::demo::Demo;
use crate::support::{arg, hoso, published_ledger_key, text};

/// The CSS width a 1280-pixel window shows at 200 % zoom.
const ZOOMED: u32 = 640;
/// A phone's CSS width.
const PHONE: u32 = 390;

/// A key as WebDriver's actions spell it (one code point).
fn code(k: Key) -> char {
    k.chars().next().unwrap_or('\u{e000}')
}

/// Presses `keys` one after the other on the keyboard, whatever has the focus
/// (WebDriver actions: the page sees only key events); `shift` holds Shift
/// down while they are pressed.
async fn keys(b: &Browser, shift: bool, keys: &[char]) {
    let mut a = KeyActions::new("keyboard".into());
    if shift {
        a = a.then(KeyAction::Down {
            value: code(Key::Shift),
        });
    }
    for k in keys {
        a = a
            .then(KeyAction::Down { value: *k })
            .then(KeyAction::Up { value: *k });
    }
    if shift {
        a = a.then(KeyAction::Up {
            value: code(Key::Shift),
        });
    }
    b.client.perform_actions(a).await.unwrap();
}

/// Types `words` on the keyboard into whatever has the focus.
async fn type_text(b: &Browser, words: &str) {
    keys(b, false, &words.chars().collect::<Vec<_>>()).await;
}

/// What has the focus, and whether it shows it (an outline or a shadow).
async fn focused(b: &Browser) -> Value {
    b.run(
        "var e = document.activeElement; var s = getComputedStyle(e);
         return {tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name') || '',
                 text: (e.innerText || e.value || '').trim().slice(0, 80),
                 visible: e.matches(':focus-visible'),
                 ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'};",
        vec![],
    )
    .await
}

/// Presses Tab (Shift-Tab when `back`) until `wanted` holds of the focused
/// element, asserting at every stop that the focus can be seen.
async fn tab_to(b: &Browser, back: bool, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..120 {
        keys(b, back, &[code(Key::Tab)]).await;
        let f = focused(b).await;
        if f["tag"] != "body" {
            assert_eq!(
                f["ring"],
                json!(true),
                "the focus on {f} is not visible (looking for {what})"
            );
        }
        if wanted(&f) {
            return f;
        }
    }
    panic!("Tab never reached {what}");
}

/// Waits until the address's path is no longer `path`.
async fn left(b: &Browser, path: &str) {
    let started = Instant::now();
    while b.client.current_url().await.unwrap().path() == path {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "still on {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every visible field with no label: no `<label for>` (nor around it), no
/// `aria-label`, no `aria-labelledby`.
async fn unlabelled(b: &Browser) -> Value {
    b.run(
        "return Array.from(document.querySelectorAll('input, select, textarea')).filter(function (e) {
           var t = (e.getAttribute('type') || '').toLowerCase();
           if (['hidden', 'submit', 'button', 'reset', 'image'].indexOf(t) >= 0) return false;
           if (e.getClientRects().length === 0) return false;
           return !(e.labels && e.labels.length > 0) && !e.getAttribute('aria-label')
             && !e.getAttribute('aria-labelledby');
         }).map(function (e) { return e.outerHTML.slice(0, 160); });",
        vec![],
    )
    .await
}

/// At `width` CSS pixels (`scale` device pixels each), whether the page is
/// wider than the window, and which elements stick out (not inside a box
/// that scrolls on its own).
async fn overflow(b: &Browser, width: u32, scale: u32) -> Value {
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": width, "height": 900, "deviceScaleFactor": scale, "mobile": width < 600}),
    )
    .await;
    let found = b
        .run(
            "var w = window.innerWidth; var out = [];
             document.querySelectorAll('body *').forEach(function (e) {
               var r = e.getBoundingClientRect();
               if (r.width === 0 || r.right <= w + 1) return;
               for (var a = e.parentElement; a; a = a.parentElement) {
                 var o = getComputedStyle(a).overflowX;
                 if (o === 'auto' || o === 'scroll' || o === 'hidden') return;
               }
               out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : '')
                 + ' right=' + Math.round(r.right) + ' ' + (e.innerText || '').trim().slice(0, 40));
             });
             return {scroll: document.scrollingElement.scrollWidth, inner: w, out: out.slice(0, 12)};",
            vec![],
        )
        .await;
    b.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
    found
}

/// One page as a reader at 200 % zoom and on a phone sees it: every field
/// labelled, no sideways scrolling of the page at either width, no console
/// error, and the screenshots `access-zoom-NAME` and `access-phone-NAME`.
async fn readable(b: &mut Browser, name: &str, url: &str, css: &str) {
    b.open(url, css).await;
    let missing = unlabelled(b).await;
    assert_eq!(missing, json!([]), "{name} ({url}): fields without a label");
    for (width, shot) in [(ZOOMED, "zoom"), (PHONE, "phone")] {
        let o = overflow(b, width, 2).await;
        assert!(
            o["scroll"].as_u64() <= o["inner"].as_u64(),
            "{name} ({url}) at {width} px scrolls sideways: {o}"
        );
        b.screenshot(&format!("access-{shot}-{name}"), width).await;
    }
    b.no_errors(name).await;
}

/// Logs in as the demo's `user`.
async fn as_user(b: &Browser, demo: &Demo, user: &str) {
    let login = demo.login(user);
    b.log_in(demo.base(), &login.username, &login.password)
        .await;
}

/// The links of the search results, with their workflow words.
async fn hits(b: &Browser) -> Vec<(String, String)> {
    let rows = b
        .run(
            "return Array.from(document.querySelectorAll('#results + .scroll tbody tr')).map(function (r) {
               return [r.querySelector('a').getAttribute('href'), r.lastElementChild.innerText.trim()];
             });",
            vec![],
        )
        .await;
    rows.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r[0].as_str().unwrap_or("").to_owned(),
                r[1].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Searches every active dossier of the visitor's scope.
async fn search_active(b: &Browser, demo: &Demo) {
    b.open(&demo.page("/search"), "#status").await;
    b.client
        .find(fantoccini::Locator::Css("#status"))
        .await
        .unwrap()
        .select_by_value("active")
        .await
        .unwrap();
    b.press("Tìm kiếm").await;
    b.wait_text("#results", "Kết quả (").await;
}

/// How many elements match `css`.
async fn count(b: &Browser, css: &str) -> u64 {
    b.run(
        "return document.querySelectorAll(arguments[0]).length;",
        vec![json!(css)],
    )
    .await
    .as_u64()
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_reads_a_verified_timeline_downloads_the_bundle_and_cannot_write() {
    let Some(mut b) = Browser::start("the portal's accessibility browser tests").await else {
        return;
    };
    let demo = Demo::serve();
    as_user(&b, &demo, "thanhtra.kiemtra").await;

    // The inspector searches the province and opens an approved dossier;
    // the results name each unit.
    b.follow("Tra cứu hồ sơ").await;
    search_active(&b, &demo).await;
    assert!(
        count(&b, "#results + .scroll td .unit").await > 0,
        "the results show units by name: {}",
        b.text("main").await
    );
    b.screenshot("access-inspector-search", 1280).await;
    let found = hits(&b).await;
    let (href, _) = found
        .iter()
        .find(|(_, w)| w == "Đã phê duyệt")
        .unwrap_or_else(|| panic!("an approved dossier among {found:?}"));
    let id = href.trim_start_matches("/dossiers/").to_owned();
    b.click(&format!("a[href='{href}']")).await;
    b.wait_text("#workflow", "Đã phê duyệt").await;
    let unit = b.text("#managing-unit").await;
    assert!(
        count(&b, "#managing-unit .unit").await == 1 && unit.chars().any(char::is_lowercase),
        "the managing unit by name: {unit}"
    );

    // Read-only: no link or form that writes, and a write posted anyway
    // (with the page's own form token) is refused by the API.
    for write in [
        "/declare/",
        "/decisions",
        "/status",
        "/transfers",
        "/account",
        "/approve",
    ] {
        assert_eq!(
            count(&b, &format!("main a[href*='{write}']")).await,
            0,
            "the inspector is offered {write}"
        );
    }
    assert_eq!(
        count(&b, "main form[method=post]").await,
        0,
        "the inspector is offered a form that writes"
    );
    b.no_errors("the inspector's dossier page").await;
    b.run(
        "var f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
         [['action', 'verify'], ['note', 'thanh tra'],
          ['_csrf', document.querySelector('input[name=_csrf]').value]].forEach(function (kv) {
           var i = document.createElement('input'); i.type = 'hidden';
           i.name = kv[0]; i.value = kv[1]; f.appendChild(i);
         });
         document.body.appendChild(f); f.submit(); return null;",
        vec![json!(format!("/dossiers/{id}/review"))],
    )
    .await;
    b.wait_text("main h1", "Không thực hiện được").await;
    b.errors_except("the inspector's write refused", &[403, 404])
        .await;
    b.open(&demo.page(href), "#workflow").await;
    b.wait_text("#workflow", "Đã phê duyệt").await;

    // The timeline: every link of the chain and every signature ✓, verified
    // against the province's ledger key.
    b.follow("Dòng thời gian kiểm chứng (gói hồ sơ)").await;
    let verdict = b.text("#verdict").await;
    assert!(verdict.contains("toàn vẹn và xác thực"), "{verdict}");
    let rows = count(&b, "#timeline tbody tr").await;
    assert!(rows > 1, "{rows} events");
    assert_eq!(
        count(&b, "#timeline tbody td:nth-child(2) .ok").await,
        rows,
        "a ✓ for every link of the chain"
    );
    assert_eq!(count(&b, "#timeline .bad").await, 0, "no ✗");
    assert!(
        count(&b, "#timeline tbody td:nth-child(8) .ok").await >= 1,
        "the approval's signature is ✓"
    );
    b.screenshot("access-inspector-timeline", 1280).await;
    b.no_errors("the inspector's timeline").await;

    // The download is the bundle, and it verifies offline.
    let link = b.wait_for("a[download]").await;
    let href = link.attr("href").await.unwrap().unwrap();
    assert_eq!(href, format!("/dossiers/{id}/bundle"));
    let got = b
        .run(
            "return fetch(arguments[0]).then(function (r) {
               return r.arrayBuffer().then(function (buf) {
                 var bytes = new Uint8Array(buf); var s = '';
                 for (var i = 0; i < bytes.length; i += 0x8000) {
                   s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
                 }
                 return {status: r.status, type: r.headers.get('content-type'),
                         disposition: r.headers.get('content-disposition'), b64: btoa(s)};
               });
             });",
            vec![json!(href)],
        )
        .await;
    assert_eq!(got["status"], 200, "{}", got["type"]);
    assert_eq!(got["type"], "application/json");
    let disposition = got["disposition"].as_str().unwrap_or("");
    assert!(
        disposition.starts_with("attachment") && disposition.contains(&id),
        "{disposition}"
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(got["b64"].as_str().unwrap())
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("dossier.bundle.json");
    std::fs::write(&file, &bytes).unwrap();
    let o = hoso(&[
        "verify-bundle",
        &arg(&file),
        "--ledger-key",
        &published_ledger_key(&demo.dir),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("verified and authenticated"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains(&id), "{}", text(&o));
    b.no_errors("the bundle downloaded").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_page_is_labelled_and_readable_at_200_percent_zoom_and_on_a_phone() {
    let Some(mut b) = Browser::start("the portal's accessibility browser tests").await else {
        return;
    };
    let demo = Demo::serve();
    readable(&mut b, "login", &demo.page("/login"), "#username").await;

    // The public servant.
    let servant = demo.login_as("personal account of").username.clone();
    as_user(&b, &demo, &servant).await;
    readable(&mut b, "servant-home", &demo.page("/"), "main h1").await;
    b.follow("Hồ sơ của tôi").await;
    b.wait_for("#workflow").await;
    let own = b.client.current_url().await.unwrap().path().to_owned();
    readable(&mut b, "servant-dossier", &demo.page(&own), "#workflow").await;
    assert_eq!(
        count(&b, "#managing-unit .unit, #employing-unit .unit").await,
        2,
        "the servant's own dossier names its units: {}",
        b.text("dl.facts").await
    );
    readable(
        &mut b,
        "servant-declare",
        &demo.page(&format!("{own}/declare/identity")),
        "#declare-form",
    )
    .await;
    readable(
        &mut b,
        "servant-readers",
        &demo.page(&format!("{own}/readers")),
        "main h1",
    )
    .await;
    readable(&mut b, "password", &demo.page("/password"), "#new-password").await;
    b.open(&demo.page("/"), "main h1").await;
    b.log_out().await;

    // The focal point of the hospital.
    as_user(&b, &demo, "bvdk.tccb").await;
    readable(&mut b, "focal-home", &demo.page("/"), "main h1").await;
    search_active(&b, &demo).await;
    let url = b.client.current_url().await.unwrap().to_string();
    readable(&mut b, "search-results", &url, "#results").await;
    assert!(
        count(&b, "#results + .scroll td .unit").await > 0,
        "search results show units by name"
    );
    let found = hits(&b).await;
    let (dossier, _) = found.first().expect("the hospital has dossiers").clone();
    readable(
        &mut b,
        "review-queue",
        &demo.page("/queue/review"),
        "main h1",
    )
    .await;
    readable(&mut b, "dossier", &demo.page(&dossier), "#workflow").await;
    assert_eq!(
        count(&b, "#managing-unit .unit, #employing-unit .unit").await,
        2,
        "the dossier page names its units"
    );
    readable(
        &mut b,
        "history",
        &demo.page(&format!("{dossier}/history")),
        "#history",
    )
    .await;
    for (name, page) in [
        ("decisions", "decisions"),
        ("status", "status"),
        ("transfer", "transfers"),
        ("account-issue", "account"),
    ] {
        readable(
            &mut b,
            name,
            &demo.page(&format!("{dossier}/{page}")),
            "main h1",
        )
        .await;
    }
    readable(
        &mut b,
        "incoming-transfers",
        &demo.page("/transfers"),
        "main h1",
    )
    .await;
    readable(
        &mut b,
        "open-dossier",
        &demo.page("/dossiers/new"),
        "main h1",
    )
    .await;
    b.log_out().await;

    // The hospital's director.
    as_user(&b, &demo, "bvdk.giamdoc").await;
    readable(
        &mut b,
        "approval-queue",
        &demo.page("/queue/approvals"),
        "main h1",
    )
    .await;
    readable(&mut b, "delegations", &demo.page("/delegations"), "main h1").await;
    b.log_out().await;

    // The Sở Nội vụ: organisation, reports, accounts, security, sync.
    as_user(&b, &demo, "snv.tccb").await;
    readable(&mut b, "org-tree", &demo.page("/org"), "#org-tree").await;
    let unit = b
        .run(
            "return Array.from(document.querySelectorAll('#org-tree a'))
               .find(function (a) { return a.innerText.indexOf('Sở Nội vụ') >= 0; })
               .getAttribute('href');",
            vec![],
        )
        .await;
    readable(
        &mut b,
        "org-unit",
        &demo.page(unit.as_str().unwrap()),
        "main h1",
    )
    .await;
    readable(&mut b, "reports", &demo.page("/reports"), "main h1").await;
    b.log_out().await;
    as_user(&b, &demo, "snv.quantri").await;
    readable(&mut b, "accounts", &demo.page("/accounts"), "#accounts").await;
    b.log_out().await;
    as_user(&b, &demo, "snv.hethong").await;
    readable(&mut b, "security", &demo.page("/security"), "main h1").await;
    readable(&mut b, "sync", &demo.page("/sync"), "main h1").await;
    b.log_out().await;

    // The inspector's timeline.
    as_user(&b, &demo, "thanhtra.kiemtra").await;
    readable(
        &mut b,
        "timeline",
        &demo.page(&format!("{dossier}/timeline")),
        "#timeline",
    )
    .await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servant_declares_with_the_keyboard_alone_and_always_sees_the_focus() {
    let Some(mut b) = Browser::start("the portal's accessibility browser tests").await else {
        return;
    };
    let demo = Demo::serve();
    let servant = demo.login_as("personal account of").clone();

    // The login page opens in the login name; Shift-Tab goes back to the
    // skip link (shown when focused), whose Enter moves the focus to the main
    // content, and Tab from there reaches the field.
    b.open(&demo.page("/login"), "#username").await;
    assert_eq!(focused(&b).await["id"], "username");
    let skip = tab_to(&b, true, "the skip link", |f| {
        f["tag"] == "a" && f["text"] == "Bỏ qua, đến nội dung chính"
    })
    .await;
    assert_eq!(skip["visible"], json!(true), "{skip}");
    let shown = b
        .run(
            "var r = document.activeElement.getBoundingClientRect(); return r.left >= 0 && r.top >= 0 && r.width > 0;",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(true), "the focused skip link is on the screen");
    keys(&b, false, &[code(Key::Enter)]).await;
    let started = Instant::now();
    while focused(&b).await["id"] != "main" {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the skip link leads to the main content"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tab_to(&b, false, "the login name", |f| f["id"] == "username").await;
    type_text(&b, &servant.username).await;
    tab_to(&b, false, "the password", |f| f["id"] == "password").await;
    type_text(&b, &servant.password).await;
    // Back and forth: Shift-Tab returns to the login name.
    tab_to(&b, true, "the login name again", |f| f["id"] == "username").await;
    tab_to(&b, false, "the password again", |f| f["id"] == "password").await;
    keys(&b, false, &[code(Key::Enter)]).await;
    left(&b, "/login").await;
    b.wait_for("main h1").await;
    b.no_errors("logged in with the keyboard").await;

    // To my dossier, then to its identity section.
    tab_to(&b, false, "my dossier", |f| f["text"] == "Hồ sơ của tôi").await;
    keys(&b, false, &[code(Key::Enter)]).await;
    b.wait_for("#workflow").await;
    let dossier = b.client.current_url().await.unwrap().path().to_owned();
    tab_to(&b, false, "the identity section", |f| {
        f["text"] == "Sơ yếu lý lịch: nhân thân"
    })
    .await;
    keys(&b, false, &[code(Key::Enter)]).await;
    b.wait_for("#declare-form").await;

    // The religion (item 7) typed over, then the form sent with Enter on
    // its button.
    tab_to(&b, false, "the religion", |f| f["id"] == "f:7:0").await;
    let mut a = KeyActions::new("keyboard".into());
    for action in [
        KeyAction::Down {
            value: code(Key::Control),
        },
        KeyAction::Down { value: 'a' },
        KeyAction::Up { value: 'a' },
        KeyAction::Up {
            value: code(Key::Control),
        },
    ] {
        a = a.then(action);
    }
    b.client.perform_actions(a).await.unwrap();
    type_text(&b, "Phật giáo Hòa Hảo").await;
    // A change to an approved dossier needs its paper (BT 6.3): the file is
    // chosen on the focused file field (what WebDriver can do in place of
    // the system's file dialog), uploaded with Enter on its button.
    tab_to(&b, false, "the file field", |f| f["id"] == "document-file").await;
    let tmp = tempfile::tempdir().unwrap();
    let paper = tmp.path().join("giay-chung-nhan.pdf");
    std::fs::write(&paper, b"%PDF-1.4\n% a scan\n").unwrap();
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(paper.to_str().unwrap())
        .await
        .unwrap();
    tab_to(&b, false, "the upload button", |f| {
        f["tag"] == "button" && f["text"] == "Tải lên"
    })
    .await;
    keys(&b, false, &[code(Key::Enter)]).await;
    b.wait_text("[data-status]", "Đã tải lên").await;
    let f = tab_to(&b, false, "the send button", |f| {
        f["tag"] == "button" && f["text"] == "Gửi kê khai"
    })
    .await;
    assert_eq!(f["visible"], json!(true), "{f}");
    keys(&b, false, &[code(Key::Enter)]).await;
    b.wait_path(&dossier).await;
    let pending = b.wait_text("main", "Phật giáo Hòa Hảo").await;
    assert!(
        pending.contains("Thay đổi đang chờ"),
        "the declaration is pending: {pending}"
    );
    b.screenshot("access-keyboard-declared", 1280).await;
    b.no_errors("declared with the keyboard").await;
    b.close().await;
}

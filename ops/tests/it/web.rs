//! The portal's session over the wire: TLS terminated by `hoso serve`, the
//! cookies' attributes over TLS, behind a TLS proxy and over plain HTTP, and
//! the login form's anti-forgery token. (What the pages do is walked through
//! in a real browser in `portal.rs`.)

use std::path::Path;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::support::{self, arg, serve_with};

const ADMIN_OTP: &str = "Cap-Dau#2026!snv";

fn client(root: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder().redirect(Policy::none());
    if let Some(pem) = root {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The cookie `name` among `Set-Cookie`s: its whole line.
fn cookie_line<'a>(lines: &'a [String], name: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {lines:?}"))
}

fn value_of(line: &str) -> &str {
    line.split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v)
        .unwrap()
}

/// Logs in as the administrator through the login form; answers the
/// `Set-Cookie`s of the login page and of the login.
async fn log_in(
    http: &reqwest::Client,
    base: &str,
    prefix: &str,
) -> (Vec<String>, reqwest::Response) {
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let first = set_cookies(&page);
    let login_cookie = format!("{prefix}hoso_login");
    let token = value_of(cookie_line(&first, &login_cookie)).to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{token}\"")), "{html}");
    let r = http
        .post(format!("{base}/login"))
        .header(COOKIE, format!("{login_cookie}={token}"))
        .form(&[
            ("_csrf", token.as_str()),
            ("username", "snv.admin"),
            ("password", ADMIN_OTP),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    (first, r)
}

fn self_signed(dir: &Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let c =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.key_pair.serialize_pem()).unwrap();
    (c.cert.pem(), cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_session_cookie_is_secure_host_only_http_only_and_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ADMIN_OTP);
    let (pem, cert, key) = self_signed(tmp.path());
    let served = serve_with(&data, &["--tls-cert", &arg(&cert), "--tls-key", &arg(&key)]);
    assert!(served.base.starts_with("https://"), "{}", served.base);
    let http = client(Some(&pem));
    // The JSON API is served over the same TLS.
    let doc = http
        .get(format!("{}/api/v1/openapi.json", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    let (first, r) = log_in(&http, &served.base, "__Host-").await;
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(
            cookie_line(&first, "__Host-hoso_login").contains(attr),
            "{first:?}"
        );
    }
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // An issued password is changed before anything else (BT 4.4).
    assert_eq!(r.headers()[LOCATION], "/password");
    let lines = set_cookies(&r);
    let session = cookie_line(&lines, "__Host-hoso_session");
    for attr in ["Path=/", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Domain="), "{session}");
    // A client that does not trust the certificate gets nowhere.
    assert!(
        client(None)
            .get(format!("{}/login", served.base))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_tls_proxy_the_cookies_are_secure_and_over_plain_http_they_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ADMIN_OTP);
    let http = client(None);
    {
        let proxied = serve_with(&data, &["--behind-tls-proxy"]);
        let (_, r) = log_in(&http, &proxied.base, "__Host-").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(cookie_line(&set_cookies(&r), "__Host-hoso_session").contains("Secure"));
    }
    let plain = serve_with(&data, &[]);
    let (_, r) = log_in(&http, &plain.base, "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let lines = set_cookies(&r);
    let session = cookie_line(&lines, "hoso_session");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "{session}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_form_without_its_token_or_from_another_origin_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ADMIN_OTP);
    let served = serve_with(&data, &[]);
    let http = client(None);
    let form = [
        ("_csrf", "00112233445566778899aabbccddeeff"),
        ("username", "snv.admin"),
        ("password", ADMIN_OTP),
    ];
    // No cookie to match the field: a page of another site posting the form.
    let r = http
        .post(format!("{}/login", served.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookies(&r)
            .iter()
            .all(|l| !l.starts_with("hoso_session="))
    );
    // The right token, but the browser says the post comes from elsewhere.
    let r = http
        .post(format!("{}/login", served.base))
        .header(COOKIE, format!("hoso_login={}", form[0].1))
        .header("origin", "http://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookies(&r)
            .iter()
            .all(|l| !l.starts_with("hoso_session="))
    );
    // A page with no session sends the visitor to the login page, coming back.
    let r = http
        .get(format!("{}/search?name=an", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login?next=%2Fsearch%3Fname%3Dan");
    // Every page forbids framing and foreign scripts.
    let r = http
        .get(format!("{}/login", served.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
}

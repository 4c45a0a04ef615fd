//! A headless Chromium driven through chromedriver (WebDriver, plain HTTP on
//! loopback) for the portal's end-to-end tests: one chromedriver per test,
//! killed with its browser when dropped; the browser's console log read after
//! every step; whole-page screenshots (any width, a phone's too) written
//! where the build keeps its output.
//!
//! Without `chromium` and `chromedriver` on the machine the tests print a
//! NOTE and skip, except under `HOSO_CI_STANDALONE` (`.ci/run`), where a
//! missing browser is a failure: CI must run them.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Set by CI: a missing browser is then a failure, never a skip.
const STANDALONE_VAR: &str = "HOSO_CI_STANDALONE";

/// How long a page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(20);

/// The first of `names` found as a file in a directory of `PATH`.
fn executable(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let c = dir.join(name);
            if c.is_file() {
                return Some(c);
            }
        }
    }
    None
}

/// `goog:loggingPrefs` makes chromedriver keep the console; this reads and
/// clears it (`POST /session/{id}/se/log`, chromedriver's log command).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// A Chrome DevTools Protocol command, through chromedriver
/// (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// One entry of the browser's console.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub level: String,
    pub source: String,
    pub message: String,
}

/// A chromedriver with one browser session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    /// Where screenshots go.
    shots: PathBuf,
    /// Every console entry seen, with the page it came from.
    pub seen: Vec<(String, LogEntry)>,
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Where the build keeps its output: `CARGO_TARGET_DIR`, else the directory
/// above the test binary's profile directory (`target/debug/deps/it-…`).
pub fn target_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        let t = PathBuf::from(t);
        return if t.is_absolute() {
            t
        } else {
            std::env::current_dir().unwrap().join(t)
        };
    }
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map_or_else(std::env::temp_dir, Path::to_path_buf)
}

impl Browser {
    /// A headless Chromium `width` × 900 pixels, or `None` after a NOTE when
    /// the machine has no browser (a failure under `HOSO_CI_STANDALONE`).
    pub async fn start(what: &str) -> Option<Self> {
        let chromium = executable(&["chromium", "chromium-browser"]);
        let driver = executable(&["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                std::env::var_os(STANDALONE_VAR).is_none(),
                "chromium or chromedriver is missing but {STANDALONE_VAR} is set: {what} must run in CI \
                 (apt-get install chromium chromium-driver)"
            );
            eprintln!("NOTE: chromium or chromedriver is not installed: {what} skipped");
            return None;
        };
        let port = free_port();
        let mut child = Command::new(&driver)
            .arg(format!("--port={port}"))
            // The browser's own words (the file picker's button) in
            // Vietnamese when its translations (chromium-l10n) are installed;
            // on Linux it takes the language from the environment.
            .env("LANGUAGE", "vi")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that dropping kills the browser too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = reqwest::get(format!("{url}/status"))
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("chromedriver ended early: {status}");
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not answer on {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=1280,900", "--lang=vi",
                         "--disable-dev-shm-usage", "--no-first-run"],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let _ = rustix::process::kill_process_group(
                    rustix::process::Pid::from_child(&child),
                    rustix::process::Signal::KILL,
                );
                let _ = child.wait();
                panic!("no browser session: {e}");
            }
        };
        let shots = target_dir().join("portal-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let mut b = Self {
            client,
            driver: child,
            shots,
            seen: Vec::new(),
        };
        // The check is worth something only if the log is really read, and
        // read whole: an error written on purpose must come back, even after
        // the browser has moved to another page (the tests read the log at
        // the end of a step, after the step's pages).
        b.run("console.error('hoso: console probe'); return null;", vec![])
            .await;
        b.client.goto("data:text/html,<p>probe</p>").await.unwrap();
        let probe = b.console().await;
        assert!(
            probe
                .iter()
                .any(|e| e.level == "SEVERE" && e.message.contains("hoso: console probe")),
            "chromedriver's browser log does not show the console: {probe:?}"
        );
        Some(b)
    }

    /// Ends the browser session, then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Reads (and clears) the console, keeping what it said.
    pub async fn console(&mut self) -> Vec<LogEntry> {
        let page = self
            .client
            .current_url()
            .await
            .map_or_else(|_| String::new(), |u| u.to_string());
        let raw = self.client.issue_cmd(BrowserLog).await.unwrap();
        let entries: Vec<LogEntry> = raw
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| LogEntry {
                level: e["level"].as_str().unwrap_or("").to_owned(),
                source: e["source"].as_str().unwrap_or("").to_owned(),
                message: e["message"].as_str().unwrap_or("").to_owned(),
            })
            .collect();
        self.seen
            .extend(entries.iter().map(|e| (page.clone(), e.clone())));
        entries
    }

    /// Asserts the console holds no error (`SEVERE`) since the last look.
    pub async fn no_errors(&mut self, step: &str) {
        self.errors_except(step, &[]).await;
    }

    /// Asserts the console holds no error since the last look but the
    /// browser's own report of answers whose status is one of `refused`
    /// (a page the test expects to be refused).
    pub async fn errors_except(&mut self, step: &str, refused: &[u16]) {
        let bad: Vec<LogEntry> = self
            .console()
            .await
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .filter(|e| {
                !(e.source == "network"
                    && refused
                        .iter()
                        .any(|s| e.message.contains(&format!("status of {s} "))))
            })
            .collect();
        assert!(bad.is_empty(), "{step}: console errors: {bad:#?}");
    }

    /// Opens `url` and waits until the page shows `css`.
    pub async fn open(&self, url: &str, css: &str) {
        self.client.goto(url).await.unwrap();
        self.wait_for(css).await;
    }

    /// Waits until the page shows an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        let c = &self.client;
        match c
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let at = c.current_url().await.map(|u| u.to_string());
                let src = c.source().await.unwrap_or_default();
                panic!("no {css} on {at:?}: {e}\n{src}");
            }
        }
    }

    /// Waits until the address's path starts with `path`.
    pub async fn wait_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let u = self.client.current_url().await.unwrap();
            if u.path().starts_with(path) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "still on {u}, waiting for {path}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element matching `css` reads something containing `text`.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            let now = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if now.contains(text) {
                return now;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} reads {now:?}, waiting for {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap()
    }

    /// The options of the `select` or `datalist` matching `css`, as (value,
    /// label) pairs.
    pub async fn options(&self, css: &str) -> Vec<(String, String)> {
        self.wait_for(css).await;
        let v = self
            .run(
                "return Array.from(document.querySelectorAll(arguments[0] + ' option'))
                     .map(function (o) { return [o.value, o.textContent.trim()]; });",
                vec![serde_json::json!(css)],
            )
            .await;
        serde_json::from_value(v).unwrap()
    }

    /// Types `value` into the field matching `css`, replacing what it held.
    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.wait_for(css).await;
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap();
    }

    /// Clicks the button reading `label` (the first whose text is exactly it).
    pub async fn press(&self, label: &str) {
        let xpath = format!("//button[normalize-space(.)='{label}']");
        let b = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {label:?}: {e}"));
        b.click().await.unwrap();
    }

    /// Follows the link reading `label`.
    pub async fn follow(&self, label: &str) {
        let a = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::LinkText(label))
            .await
            .unwrap_or_else(|e| panic!("no link {label:?}: {e}"));
        a.click().await.unwrap();
    }

    /// Runs `script` in the page; its result.
    pub async fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap()
    }

    /// A DevTools command through chromedriver; its result.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Saves the whole page (not only what the viewport shows) as
    /// `portal-screenshots/NAME.png`, laid out `width` CSS pixels wide (a
    /// phone's width too: the window itself cannot be made that narrow, so
    /// the viewport is emulated, as DevTools' device mode does).
    pub async fn screenshot(&self, name: &str, width: u32) -> PathBuf {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
        let height = self
            .run(
                "return Math.ceil(document.body.getBoundingClientRect().bottom + window.scrollY);",
                vec![],
            )
            .await
            .as_u64()
            .unwrap_or(900)
            .clamp(300, 8000);
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                       "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
            )
            .await;
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or(""))
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Uploads `name` with the page's upload form and waits for it to be cited
    /// by the form it belongs to; the bar ends full.
    pub async fn upload(&self, dir: &Path, name: &str) {
        let doc = dir.join(name);
        std::fs::write(&doc, format!("%PDF-1.4\n% {name}\n")).unwrap();
        self.wait_for("#document-file")
            .await
            .send_keys(doc.to_str().unwrap())
            .await
            .unwrap();
        self.press("Tải lên").await;
        let said = self.wait_text("[data-status]", "Đã tải lên").await;
        assert!(said.contains(name), "{said}");
        let progress = self
            .run(
                "var p = document.getElementById('upload-progress'); return [p.value, p.max];",
                vec![],
            )
            .await;
        assert_eq!(progress[0], progress[1], "the bar is full: {progress}");
    }

    /// Logs out through the navigation's button.
    pub async fn log_out(&self) {
        self.press("Đăng xuất").await;
        self.wait_path("/login").await;
    }

    /// Logs in as `user` and waits to leave the login page.
    pub async fn log_in(&self, base: &str, user: &str, password: &str) {
        self.open(&format!("{base}/login"), "#username").await;
        self.fill("#username", user).await;
        self.fill("#password", password).await;
        self.press("Đăng nhập").await;
        let started = Instant::now();
        while self.client.current_url().await.unwrap().path() == "/login" {
            assert!(
                started.elapsed() < PATIENCE,
                "{user} stays on the login page: {}",
                self.client.source().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver and the browser it started share its process group.
        let _ = rustix::process::kill_process_group(
            rustix::process::Pid::from_child(&self.driver),
            rustix::process::Signal::KILL,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The declare page's field for item `code` (row 0: not a table section).
pub fn field(code: &str) -> String {
    format!("[id='f:{code}:0']")
}

/// Types each `(item code, value)` into the open declare page.
pub async fn fill_items(b: &Browser, items: &[(&str, &str)]) {
    for (code, value) in items {
        b.fill(&field(code), value).await;
    }
}

/// The key file a head or deputy keeps, written to `path`: the Ed25519 seed
/// as PKCS #8, PEM (RFC 8410), as `openssl genpkey -algorithm ed25519` writes it.
pub fn pem_key_file(path: &Path, key: &ed25519_dalek::SigningKey) -> PathBuf {
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(&key.to_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    std::fs::write(
        path,
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    path.to_owned()
}

//! What the binary's tests share: running `hoso`, reading what it said, starting
//! `hoso init` and `hoso serve` on a free port, and ([`api`]) a client of the API.
//! Each test file uses part of it.
#![allow(dead_code)]

pub mod api;
pub mod browser;
pub mod demo;
pub mod node;
pub mod openapi;
pub mod proxy;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The built `hoso`, with no key-file locations inherited from the caller's
/// environment (each test's data directory holds its own keys).
pub fn hoso_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hoso"));
    c.env_remove("HOSO_LEDGER_KEY_FILE")
        .env_remove("HOSO_FIELD_KEY_FILE");
    c
}

/// Runs `hoso` with `args` to the end.
pub fn hoso(args: &[&str]) -> Output {
    hoso_cmd().args(args).output().unwrap()
}

/// Everything it printed, standard output first.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// A recursive copy of a closed data directory or backup (no one writes its
/// SQLite files meanwhile), every directory the owner's alone as `hoso` makes
/// them (`hoso serve` would say so of a data directory that is not).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, depth first.
pub fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `hoso init` of a new data directory whose system administrator is issued
/// `admin_password`.
pub fn init(data: &Path, admin_password: &str) {
    let o = hoso_cmd()
        .args(["init", "--data", &arg(data)])
        .env("HOSO_ADMIN_PASSWORD", admin_password)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// A running `hoso serve`, killed when dropped (a test that fails must not
/// leave a server behind).
pub struct Served {
    /// The process (kill it, or stop it with SIGINT).
    pub child: Child,
    /// `http://127.0.0.1:PORT`, without `/api/v1`.
    pub base: String,
    /// Every line it printed so far.
    pub lines: Arc<Mutex<Vec<String>>>,
}

/// Starts `hoso serve` on a free port and returns once it says it is serving.
pub fn serve(data: &Path) -> Served {
    serve_with(data, &[])
}

/// [`serve`] with more arguments (`--tls-cert …`, `--behind-tls-proxy`); the
/// base address is `https://…` when it serves TLS.
pub fn serve_with(data: &Path, more: &[&str]) -> Served {
    let mut child = hoso_cmd()
        .args(["serve", "--data", &arg(data), "--listen", "127.0.0.1:0"])
        .args(more)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "server ended early: {seen:?}"
        );
        seen.push(line.trim_end().to_owned());
        if line.contains("serving") {
            break;
        }
    }
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .unwrap()
        .trim_end_matches("/api/v1")
        .to_owned();
    let lines = Arc::new(Mutex::new(seen));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            sink.lock().unwrap().push(l);
        }
    });
    Served { child, base, lines }
}

impl Served {
    /// Stops the server with `signal` (`INT` as Ctrl-C does, `TERM` as a
    /// service manager does), checks that it ended cleanly, and returns every
    /// line it printed.
    pub fn stop(mut self, signal: &str) -> Vec<String> {
        let ok = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
        // The thread reading its output may not have taken the last lines yet.
        std::thread::sleep(Duration::from_millis(50));
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The active ledger public key, as `hoso keys ledger show` publishes it.
pub fn published_ledger_key(data: &Path) -> String {
    let o = hoso(&["keys", "ledger", "show", "--data", &arg(data), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    shown["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["state"] == "active")
        .unwrap()["public_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

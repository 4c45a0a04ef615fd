//! The demo province as a new user meets it: `hoso demo --data DIR` run once
//! per test binary (small, so it takes seconds), its printed logins read back,
//! and a copy of its directory served for each test that asks, so tests that
//! change the province do not see each other's changes.
//!
//! The portal's year-of-work tests walk this province in the browser with
//! exactly the logins and key files the demo prints for people to use.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use super::{Served, arg, copy_dir, hoso_cmd, serve, text};

/// People in the tests' demo province: enough for the demo's story (moves,
/// transfers, a merger), few enough to build in a few seconds in a debug build.
pub const PEOPLE: &str = "60";

/// One printed login: the name, the password the holder chose, and the role
/// as the demo describes it (e.g. "focal point of Bệnh viện Đa khoa tỉnh Hưng Yên").
#[derive(Clone, Debug)]
pub struct Login {
    pub username: String,
    pub password: String,
    pub role: String,
}

/// The demo's directory (kept for the binary's life) and what it printed.
struct Built {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    logins: Vec<Login>,
    printed: String,
}

static BUILT: OnceLock<Built> = OnceLock::new();

fn built() -> &'static Built {
    BUILT.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        let o = hoso_cmd()
            .args(["demo", "--data", &arg(&dir), "--people", PEOPLE])
            .output()
            .unwrap();
        let printed = text(&o);
        assert!(o.status.success(), "hoso demo failed:\n{printed}");
        let logins = logins_of(&printed);
        assert!(
            !logins.is_empty(),
            "hoso demo printed no logins:\n{printed}"
        );
        Built {
            _tmp: tmp,
            dir,
            logins,
            printed,
        }
    })
}

/// The logins under the demo's "demo logins" heading: lines of
/// `username password role…`, indented, up to the first line that is not.
fn logins_of(printed: &str) -> Vec<Login> {
    printed
        .lines()
        .skip_while(|l| !l.starts_with("demo logins"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let username = words.next()?.to_owned();
            let password = words.next()?.to_owned();
            let role = words.collect::<Vec<_>>().join(" ");
            Some(Login {
                username,
                password,
                role,
            })
        })
        .collect()
}

/// A served copy of the demo's directory.
pub struct Demo {
    /// The copy's directory (its `demo-keys/` holds the heads' key files).
    pub dir: PathBuf,
    pub served: Served,
    logins: BTreeMap<String, Login>,
    _tmp: tempfile::TempDir,
}

impl Demo {
    /// Copies the demo's directory (built on first use) and serves the copy.
    pub fn serve() -> Self {
        let b = built();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        copy_dir(&b.dir, &dir);
        let served = serve(&dir);
        Self {
            dir,
            served,
            logins: b
                .logins
                .iter()
                .map(|l| (l.username.clone(), l.clone()))
                .collect(),
            _tmp: tmp,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.served.base
    }

    /// A page's address.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.served.base)
    }

    /// The printed login named `username`.
    pub fn login(&self, username: &str) -> &Login {
        self.logins
            .get(username)
            .unwrap_or_else(|| panic!("the demo printed no login {username}:\n{}", built().printed))
    }

    /// The printed login whose role starts with `role` (e.g. "personal account of").
    pub fn login_as(&self, role: &str) -> &Login {
        self.logins
            .values()
            .find(|l| l.role.starts_with(role))
            .unwrap_or_else(|| panic!("the demo printed no login as {role}:\n{}", built().printed))
    }

    /// The key file the demo wrote for `username` (a head), to pick in the
    /// approval page.
    pub fn key_file(&self, username: &str) -> PathBuf {
        let f = self.dir.join("demo-keys").join(format!("{username}.pem"));
        assert!(f.is_file(), "no key file {}", f.display());
        f
    }

    /// Everything the demo printed.
    pub fn printed() -> &'static str {
        &built().printed
    }
}

//! How `hoso sync pull` authenticates. The national database's sync account
//! holds a password, not a long-lived token: with `--user NAME --password-file F`
//! the consumer logs in (`POST /api/v1/sessions`), pulls with the session's
//! bearer token and ends the session (`DELETE /api/v1/sessions`) when done,
//! whatever the pull came to. `--token-file` hands it a token instead. Either
//! file must be readable by its owner only, and neither secret is printed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::sync_pull::{api_base, problem_text, read_owner_only, read_token};

/// The credentials the consumer was given.
pub enum Auth {
    /// A file (mode 600) holding a bearer token.
    TokenFile(PathBuf),
    /// An account's login name and a file (mode 600) holding its password.
    Password {
        /// Login name.
        user: String,
        /// The password's file.
        password_file: PathBuf,
    },
}

impl Auth {
    /// `--token-file F`, or `--user NAME --password-file F`: exactly one.
    pub fn from_args(
        token_file: Option<PathBuf>,
        user: Option<String>,
        password_file: Option<PathBuf>,
    ) -> Result<Self> {
        match (token_file, user, password_file) {
            (Some(file), None, None) => Ok(Self::TokenFile(file)),
            (None, Some(user), Some(password_file)) => Ok(Self::Password {
                user,
                password_file,
            }),
            _ => bail!("give either --token-file, or --user with --password-file"),
        }
    }
}

/// The bearer token a pull runs with, and the session to end after it when
/// the consumer opened one.
pub struct Session {
    token: String,
    /// The API base and client of a session this consumer opened.
    opened: Option<(String, reqwest::Client)>,
}

#[derive(Deserialize)]
struct SessionOut {
    token: String,
    must_change_password: bool,
}

impl Session {
    /// The token of the token file, or a new session for the user.
    pub async fn open(auth: &Auth, url: &str) -> Result<Self> {
        match auth {
            Auth::TokenFile(file) => Ok(Self {
                token: read_token(file)?,
                opened: None,
            }),
            Auth::Password {
                user,
                password_file,
            } => login(url, user, password_file).await,
        }
    }

    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Ends a session this consumer opened, then answers `outcome` (the pull's
    /// own failure comes first; a session that cannot be ended is reported, it
    /// expires on the server anyway).
    pub async fn close(self, outcome: Result<()>) -> Result<()> {
        let Some((base, http)) = self.opened else {
            return outcome;
        };
        let ended = logout(&http, &base, &self.token).await;
        match (outcome, ended) {
            (Err(e), Err(end)) => Err(e.context(format!("and the session was not ended: {end:#}"))),
            (Err(e), Ok(())) => Err(e),
            (Ok(()), ended) => ended,
        }
    }
}

/// The password of `file`: its text without the final line break.
fn read_password(file: &Path) -> Result<String> {
    let text = read_owner_only(file)?;
    let password = text
        .strip_suffix('\n')
        .map_or(text.as_str(), |p| p.strip_suffix('\r').unwrap_or(p));
    if password.is_empty() || password.contains('\n') {
        bail!("{} does not hold one password on one line", file.display());
    }
    Ok(password.to_owned())
}

async fn login(url: &str, user: &str, password_file: &Path) -> Result<Session> {
    let password = read_password(password_file)?;
    let base = api_base(url);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .context("cannot build the HTTP client")?;
    let sessions = format!("{base}/sessions");
    let resp = http
        .post(&sessions)
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .with_context(|| format!("POST {sessions}"))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .with_context(|| format!("POST {sessions}"))?;
    if !status.is_success() {
        bail!(
            "login as {user} refused: POST {sessions}: {status}: {}",
            problem_text(&bytes)
        );
    }
    let out: SessionOut = serde_json::from_slice(&bytes)
        .with_context(|| format!("POST {sessions}: unexpected answer"))?;
    if out.must_change_password {
        let refused = format!(
            "{user} still holds its issued password, which must be changed before the account acts (BT 4.4)"
        );
        return Err(match logout(&http, &base, &out.token).await {
            Ok(()) => anyhow::anyhow!(refused),
            Err(e) => anyhow::anyhow!("{refused}; and the session was not ended: {e:#}"),
        });
    }
    Ok(Session {
        token: out.token,
        opened: Some((base, http)),
    })
}

async fn logout(http: &reqwest::Client, base: &str, token: &str) -> Result<()> {
    let sessions = format!("{base}/sessions");
    let resp = http
        .delete(&sessions)
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("DELETE {sessions}"))?;
    let status = resp.status();
    if !status.is_success() {
        let bytes = resp.bytes().await.unwrap_or_default();
        bail!("DELETE {sessions}: {status}: {}", problem_text(&bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_token_file_or_a_user_with_a_password_file_exactly() {
        let f = || Some(PathBuf::from("f"));
        let u = || Some("csdlqg.dongbo".to_owned());
        assert!(matches!(
            Auth::from_args(f(), None, None),
            Ok(Auth::TokenFile(_))
        ));
        assert!(matches!(
            Auth::from_args(None, u(), f()),
            Ok(Auth::Password { .. })
        ));
        for (t, user, p) in [
            (None, None, None),
            (f(), u(), f()),
            (f(), u(), None),
            (None, u(), None),
            (None, None, f()),
        ] {
            assert!(Auth::from_args(t, user, p).is_err());
        }
    }

    #[test]
    fn a_password_file_others_can_read_is_refused_without_printing_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("password");
        std::fs::write(&f, "Mật-khẩu 1\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_password(&f).unwrap_err().to_string();
        assert!(!e.contains("Mật-khẩu"), "{e}");
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        // Only the line break goes: a space inside or at the end is the password's.
        assert_eq!(read_password(&f).unwrap(), "Mật-khẩu 1");
        std::fs::write(&f, "a b \r\n").unwrap();
        assert_eq!(read_password(&f).unwrap(), "a b ");
        for bad in ["", "\n", "one\ntwo\n"] {
            std::fs::write(&f, bad).unwrap();
            assert!(read_password(&f).is_err(), "{bad:?}");
        }
    }
}

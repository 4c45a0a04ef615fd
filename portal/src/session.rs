//! The browser's session: the API token in a cookie no script reads, the
//! account it belongs to, and the anti-forgery token every form carries.
//!
//! The form token is derived from the session token (a keyed digest of a
//! secret the browser holds only as an `HttpOnly` cookie), so a page of another
//! site can neither read nor guess it, and nothing beside the API's session
//! table has to be kept. Posts are also refused when the browser says they
//! come from another origin.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Portal;
use crate::call::{As, Refusal};

/// The session cookie's name over plain HTTP; over TLS it takes the
/// `__Host-` prefix, which browsers accept only `Secure`, host-only and on `/`.
pub const SESSION_COOKIE: &str = "hoso_session";
/// The login form's double-submitted token.
pub(crate) const LOGIN_COOKIE: &str = "hoso_login";
/// The form field every post carries.
pub(crate) const CSRF_FIELD: &str = "_csrf";

/// A signed-in visitor: their session and their account as the API sees it.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) who: As,
    /// `GET /accounts/me`.
    pub(crate) me: Value,
    /// The token this session's forms carry.
    pub(crate) csrf: String,
}

impl Viewer {
    /// A visitor for unit tests of pages: `me` as `GET /accounts/me` would
    /// answer, no token.
    #[cfg(test)]
    pub(crate) fn for_tests(me: Value) -> Self {
        Self {
            who: crate::call::As {
                token: None,
                client: None,
            },
            me,
            csrf: "t".into(),
        }
    }

    /// The account's kind (`personal`, `specialist`, `agency_head`, …).
    pub(crate) fn kind(&self) -> &str {
        self.me["kind"].as_str().unwrap_or("")
    }

    /// The personal account's own dossier.
    pub(crate) fn own_dossier(&self) -> Option<&str> {
        self.me["dossier"].as_str()
    }

    /// The account's unit.
    pub(crate) fn unit(&self) -> &str {
        self.me["org_code"].as_str().unwrap_or("")
    }

    /// Whether the account holds a right (any) over some unit.
    pub(crate) fn has_grants(&self) -> bool {
        self.me["grants"].as_object().is_some_and(|g| !g.is_empty())
    }

    /// Whether the account may sign (a registered key).
    pub(crate) fn has_keys(&self) -> bool {
        self.me["keys"].as_array().is_some_and(|k| !k.is_empty())
    }

    /// The name to greet.
    pub(crate) fn name(&self) -> &str {
        self.me["display_name"]
            .as_str()
            .or_else(|| self.me["username"].as_str())
            .unwrap_or("")
    }

    /// Refuses a post whose form token is not this session's, or that the
    /// browser says comes from another origin.
    pub(crate) fn check(&self, headers: &HeaderMap, token: Option<&str>) -> Result<(), Response> {
        check_post(headers, token, &self.csrf)
    }
}

/// Refuses a post whose form token is not `csrf`, or that the browser says
/// comes from another origin.
fn check_post(headers: &HeaderMap, token: Option<&str>, csrf: &str) -> Result<(), Response> {
    same_origin(headers)?;
    match token {
        Some(t) if equal(t.as_bytes(), csrf.as_bytes()) => Ok(()),
        _ => Err(forged()),
    }
}

/// The form token of a session token.
pub(crate) fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"hoso-portal-form/1\0");
    h.update(token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Constant-time equality, so the comparison does not tell how much matched.
pub(crate) fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A post the browser marks as coming from another origin.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), Response> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    if origin == "null" || origin_host != host {
        return Err(forged());
    }
    Ok(())
}

fn forged() -> Response {
    let page = crate::page::bare(
        "Yêu cầu không hợp lệ",
        &crate::page::refusal_box(&Refusal {
            type_: "urn:hoso:problem:portal:forged-form".into(),
            status: 403,
            detail: None,
            citation: None,
        }),
    );
    (StatusCode::FORBIDDEN, page).into_response()
}

/// The cookie named `name` in the request, if any.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session cookie's name as served.
pub(crate) fn session_cookie_name(p: &Portal) -> &'static str {
    if p.config.secure {
        "__Host-hoso_session"
    } else {
        SESSION_COOKIE
    }
}

/// The login form's cookie's name as served.
pub(crate) fn login_cookie_name(p: &Portal) -> &'static str {
    if p.config.secure {
        "__Host-hoso_login"
    } else {
        LOGIN_COOKIE
    }
}

/// `Set-Cookie` for `name` = `value`, living `max_age` seconds (0 removes it).
pub(crate) fn set_cookie(p: &Portal, name: &str, value: &str, max_age: u64) -> HeaderValue {
    let secure = if p.config.secure { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The browser's address, as the API's throttling and attempt log want it.
pub(crate) fn client_of(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// Where a visitor without a session is sent: the login page, coming back here.
fn to_login(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{q}")).into_response()
}

impl FromRequestParts<Arc<Portal>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, p: &Arc<Portal>) -> Result<Self, Response> {
        let name = session_cookie_name(p);
        let Some(token) = cookie(&parts.headers, name).map(str::to_owned) else {
            return Err(to_login(parts));
        };
        let who = As {
            token: Some(token.clone()),
            client: client_of(parts),
        };
        match p.api.get(&who, "/accounts/me").await {
            Ok(me) => Ok(Self {
                csrf: csrf_of(&token),
                who,
                me,
            }),
            Err(r) if r.rule() == "access:password-change-required" => {
                Err(Redirect::to("/password").into_response())
            }
            Err(r) if r.status == 401 => {
                let mut resp = to_login(parts);
                resp.headers_mut()
                    .append(header::SET_COOKIE, set_cookie(p, name, "", 0));
                Err(resp)
            }
            Err(r) => Err(crate::page::refused_page(None, &r)),
        }
    }
}

/// A visitor who has a session, whether or not the issued password has been
/// changed yet: the password page is the one page open before that.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) who: As,
    pub(crate) csrf: String,
}

impl FromRequestParts<Arc<Portal>> for Pending {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, p: &Arc<Portal>) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, session_cookie_name(p)).map(str::to_owned) else {
            return Err(to_login(parts));
        };
        Ok(Self {
            csrf: csrf_of(&token),
            who: As {
                token: Some(token),
                client: client_of(parts),
            },
        })
    }
}

impl Pending {
    pub(crate) fn check(&self, headers: &HeaderMap, token: Option<&str>) -> Result<(), Response> {
        check_post(headers, token, &self.csrf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_token_depends_on_the_session() {
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_eq!(csrf_of("a"), csrf_of("a"));
        assert_eq!(csrf_of("a").len(), 32);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("hoso_session_x=1; hoso_session=abc; other=2"),
        );
        assert_eq!(cookie(&h, "hoso_session"), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn a_post_from_another_origin_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("hoso.example:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://hoso.example:8080"),
        );
        assert!(same_origin(&h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(same_origin(&h).is_err());
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&h).is_err());
    }
}

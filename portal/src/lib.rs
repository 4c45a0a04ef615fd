//! The hoso web portal: Vietnamese pages for the people who keep and own the
//! dossiers, served by `hoso serve` beside the JSON API.
//!
//! **No back door.** A page never reads the read model or calls the command
//! handlers itself: every read and every write is a request to the API's own
//! router, in process (`call.rs`), carrying the session's bearer token and the
//! browser's address. Scopes, restriction levels, consent, the access log,
//! throttling and input rules are therefore the API's, by construction; the
//! portal only turns a page request into API requests and their answers into
//! HTML. One browser round trip per page: the server makes the API calls a
//! page needs and answers with the page whole.
//!
//! **Sessions and forms.** Logging in through the portal opens an API session;
//! its token lives in a cookie the page's scripts cannot read (`HttpOnly`),
//! sent only by this site's own pages (`SameSite=Strict`), and `Secure` when
//! served over TLS. Every form carries a token derived from the session
//! (`session.rs`), checked before anything is sent to the API; the login form,
//! which has no session yet, carries a double-submitted random one.
//!
//! **Assets.** The stylesheet and the one script are in the binary
//! (`assets/`); no CDN, no build step. The script does only what a form cannot:
//! upload progress, the signature made in the browser with the head's key file
//! (WebCrypto Ed25519, the key never leaves the browser), and the password
//! rules checked as they are typed. A strict Content-Security-Policy allows no
//! other script.
//!
//! Where to start reading: [`mount`], then `pages/dossier.rs`.

// A page's refusal is rendered as a page, built once per refused request.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};

mod assets;
mod call;
mod format;
mod page;
mod pages;
mod session;
mod units;
mod words;

pub use session::SESSION_COOKIE;

/// How the portal is served.
#[derive(Debug, Clone, Default)]
pub struct PortalConfig {
    /// Served over TLS (directly, or behind a TLS proxy the server was told
    /// about): cookies are marked `Secure` and take the `__Host-` prefix.
    pub secure: bool,
}

/// What every page handler holds.
pub(crate) struct Portal {
    pub(crate) api: call::Api,
    pub(crate) state: Arc<hoso_api::AppState>,
    pub(crate) config: PortalConfig,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal").finish_non_exhaustive()
    }
}

/// The portal's pages in front of `api` (the router of [`hoso_api::router`]):
/// what no page matches goes to the API unchanged.
///
/// `state` is read for what is the same for everyone and reveals nothing
/// (today's date in Vietnam, the profile's windows and deadlines, the
/// password rules); everything about a person or an account comes through
/// `api`.
pub fn mount(state: Arc<hoso_api::AppState>, api: Router, config: PortalConfig) -> Router {
    let portal = Arc::new(Portal {
        api: call::Api::new(api.clone()),
        state,
        config,
    });
    Router::new()
        .route("/", get(pages::home::home))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route(
            "/password",
            get(pages::login::password_form).post(pages::login::password_submit),
        )
        .route("/search", get(pages::search::search))
        .route("/queue/review", get(pages::queues::review))
        .route("/queue/approvals", get(pages::queues::approvals))
        .route(
            "/dossiers/new",
            get(pages::open::form).post(pages::open::submit),
        )
        .route("/dossiers/{id}", get(pages::dossier::show))
        .route(
            "/dossiers/{id}/account",
            get(pages::open::account_form_page).post(pages::open::account),
        )
        .route("/dossiers/{id}/history", get(pages::dossier::history))
        .route("/dossiers/{id}/readers", get(pages::readers::show))
        .route(
            "/dossiers/{id}/declare/{section}",
            get(pages::declare::form).post(pages::declare::submit),
        )
        .route("/dossiers/{id}/upload", post(pages::declare::upload))
        .route(
            "/dossiers/{id}/attachments/{sha256}",
            get(pages::declare::attachment),
        )
        .route("/dossiers/{id}/review", post(pages::review::submit))
        .route(
            "/dossiers/{id}/status",
            get(pages::status::form).post(pages::status::submit),
        )
        .route(
            "/dossiers/{id}/decisions",
            get(pages::decisions::form).post(pages::decisions::submit),
        )
        .route(
            "/dossiers/{id}/transfers",
            get(pages::transfers::form).post(pages::transfers::submit),
        )
        .route("/transfers", get(pages::transfers::incoming))
        .route(
            "/delegations",
            get(pages::delegations::show).post(pages::delegations::submit),
        )
        .route(
            "/dossiers/{id}/approve",
            get(pages::approve::form).post(pages::approve::submit),
        )
        .route("/dossiers/{id}/timeline", get(pages::timeline::show))
        .route("/dossiers/{id}/bundle", get(pages::timeline::download))
        .route("/org", get(pages::org::tree))
        .route("/org/{code}", get(pages::org::unit))
        .route("/reports", get(pages::reports::show))
        .route("/reports/file", get(pages::reports::file))
        .route("/security", get(pages::security::attempts))
        .route("/sync", get(pages::sync::form).post(pages::sync::submit))
        .route(
            "/accounts",
            get(pages::accounts::list).post(pages::accounts::issue),
        )
        .route("/accounts/changes", post(pages::accounts::change))
        .route("/accounts/password", post(pages::accounts::password))
        .route("/accounts/keys", post(pages::accounts::key))
        .route("/assets/{name}", get(assets::serve))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(portal)
        .fallback_service(api)
}

/// What every page answer carries: no script but ours, no framing, no
/// sniffing, no caching of a person's data.
async fn secure_headers(mut resp: axum::response::Response) -> axum::response::Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

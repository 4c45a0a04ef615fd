//! One module per group of pages. Each handler takes the visitor, makes the
//! API calls its page needs (`crate::call`), and renders the answer; a refusal
//! is rendered as the page's refusal box, with the API's status.

pub(crate) mod accounts;
pub(crate) mod approve;
pub(crate) mod decisions;
pub(crate) mod declare;
pub(crate) mod delegations;
pub(crate) mod dossier;
pub(crate) mod forms;
pub(crate) mod home;
pub(crate) mod login;
pub(crate) mod open;
pub(crate) mod org;
pub(crate) mod queues;
pub(crate) mod readers;
pub(crate) mod reports;
pub(crate) mod review;
pub(crate) mod search;
pub(crate) mod security;
pub(crate) mod status;
pub(crate) mod sync;
pub(crate) mod timeline;
pub(crate) mod transfers;

use std::collections::HashMap;

/// A form post as name → values (fields such as `attachments` repeat).
pub(crate) type Fields = Vec<(String, String)>;

/// The first value of `name`.
pub(crate) fn field<'a>(f: &'a Fields, name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Every value of `name`, in order.
pub(crate) fn fields<'a>(f: &'a Fields, name: &str) -> Vec<&'a str> {
    f.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A query string as a map (the first value of each name).
pub(crate) type Query = HashMap<String, String>;

/// A post about one dossier: its form token checked (and its origin), its
/// id of the shape an API path takes; else the page that refuses it.
pub(crate) fn dossier_post<'a>(
    v: &crate::session::Viewer,
    headers: &axum::http::HeaderMap,
    f: &Fields,
    id: &'a str,
) -> Result<&'a str, axum::response::Response> {
    v.check(headers, field(f, crate::session::CSRF_FIELD))?;
    dossier_id(id).ok_or_else(|| crate::page::refused_page(Some(v), &dossier::not_found_refusal()))
}

/// Sends a form's body to the API and answers as a form post should: on to
/// `then` when the API took it, else the page saying why it did not.
pub(crate) async fn post_then(
    p: &crate::Portal,
    v: &crate::session::Viewer,
    path: &str,
    body: &serde_json::Value,
    then: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match p
        .api
        .json(&v.who, axum::http::Method::POST, path, body)
        .await
    {
        Ok(_) => axum::response::Redirect::to(then).into_response(),
        Err(r) => crate::page::refused_page(Some(v), &r),
    }
}

/// A page about one dossier: its id checked and the dossier as the API gives
/// it to the visitor; else the page that refuses it.
pub(crate) async fn dossier_for_page<'a>(
    p: &crate::Portal,
    v: &crate::session::Viewer,
    id: &'a str,
) -> Result<(&'a str, serde_json::Value), axum::response::Response> {
    let id = dossier_id(id)
        .ok_or_else(|| crate::page::refused_page(Some(v), &dossier::not_found_refusal()))?;
    let d = p
        .api
        .get(&v.who, &format!("/dossiers/{id}"))
        .await
        .map_err(|r| crate::page::refused_page(Some(v), &r))?;
    Ok((id, d))
}

/// `id` when it has the shape of a dossier id (a UUID), so that it can be
/// put in an API path as it is.
pub(crate) fn dossier_id(id: &str) -> Option<&str> {
    (id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')).then_some(id)
}

//! The reviewer's steps on a pending declaration: return with reasons,
//! verify against the papers, lock for approval (HY 10).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::json;

use crate::Portal;
use crate::page::refused_page;
use crate::session::Viewer;

use super::{Fields, field, fields};

/// `POST /dossiers/{id}/review`.
pub(crate) async fn submit(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let id = match super::dossier_post(&v, &headers, &f, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let body = match field(&f, "action") {
        Some("return") => {
            let reason = field(&f, "reason").unwrap_or("").trim();
            json!({
                "action": "return",
                "sections": fields(&f, "sections"),
                "reasons": if reason.is_empty() { Vec::new() } else { vec![reason] },
            })
        }
        Some("verify") => json!({"action": "verify", "note": field(&f, "note").unwrap_or("")}),
        _ => json!({"action": "lock"}),
    };
    match p
        .api
        .json(
            &v.who,
            Method::POST,
            &format!("/dossiers/{id}/review"),
            &body,
        )
        .await
    {
        Ok(r) => super::forms::to_dossier(&v, id, &r),
        Err(r) => refused_page(Some(&v), &r),
    }
}

//! A change of employment status (retirement, resignation, secondment, …):
//! the new status, its effective date, the decision and its scan (KT 11.3,
//! HY 11.3). A departure moves the dossier to the archive and locks the
//! person's account (BT 11.2); the API refuses an unlawful change.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::Portal;
use crate::call::Refusal;
use crate::page::{csrf, page};
use crate::session::Viewer;
use crate::words;

use super::Fields;
use super::forms::{self, date_input, document_inputs, input, required, required_date, text};

const TITLE: &str = "Thay đổi tình trạng công tác";

/// The API's body for `POST /dossiers/{id}/status` from the form.
pub(crate) fn body(f: &Fields) -> Result<Value, Refusal> {
    let status = required(f, "status", "Tình trạng mới")?;
    Ok(json!({
        "status": status,
        "effective": required_date(f, "effective", "Ngày có hiệu lực")?,
        "document": forms::document(f)?,
        "note": text(f, "note"),
    }))
}

fn the_form(v: &Viewer, id: &str, f: &Fields) -> Markup {
    let options: Vec<(&str, &str)> = words::STATUSES
        .iter()
        .map(|s| (*s, words::status(s)))
        .collect();
    html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        form.stack #status-form method="post" action={ "/dossiers/" (id) "/status" } {
            (csrf(v))
            (forms::select(f, "status", "Tình trạng mới", &options))
            (date_input(f, "effective", "Ngày có hiệu lực", true))
            (document_inputs(f))
            (input(f, "note", "Ghi chú", "không bắt buộc", false))
            p.hint { "Nghỉ hưu, thôi việc, buộc thôi việc, từ trần hoặc chuyển công tác: hồ sơ chuyển vào lưu trữ và tài khoản cá nhân bị khóa (BT 11.2)." }
        }
        // The scan is uploaded before the form is sent: its button comes
        // after the upload (it belongs to the form by its `form` attribute).
        (forms::upload(v, id, "status-form"))
        div.submit { button type="submit" form="status-form" { "Ghi nhận thay đổi" } }
    }
}

/// `GET /dossiers/{id}/status`.
pub(crate) async fn form(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let (id, d) = match super::dossier_for_page(&p, &v, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let now = vec![(
        "status".to_owned(),
        d["status"].as_str().unwrap_or("").to_owned(),
    )];
    let body = html! {
        p {
            strong { (d["full_name"].as_str().unwrap_or("")) } " — tình trạng hiện tại: "
            (words::status(d["status"].as_str().unwrap_or("")))
        }
        (the_form(&v, id, &now))
    };
    page(&v, TITLE, body)
}

/// `POST /dossiers/{id}/status`.
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
    let answer = match body(&f) {
        Ok(b) => {
            p.api
                .json(&v.who, Method::POST, &format!("/dossiers/{id}/status"), &b)
                .await
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(r) => forms::to_dossier(&v, id, &r),
        Err(r) => forms::refused_form(&v, TITLE, &r, the_form(&v, id, &f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::forms::tests::post;

    #[test]
    fn a_retirement_is_sent_with_its_decision_and_iso_dates() {
        let f = post(&[
            ("status", "retired"),
            ("effective", "01/07/2026"),
            ("doc_number", "88/QĐ-SYT"),
            ("doc_date", "15/06/2026"),
            ("doc_issuer", "Sở Y tế"),
            ("attachments", "ab12"),
            ("note", ""),
        ]);
        assert_eq!(
            body(&f).unwrap(),
            json!({"status": "retired", "effective": "2026-07-01", "note": "",
                   "document": {"number": "88/QĐ-SYT", "date": "2026-06-15", "issuer": "Sở Y tế",
                                "attachment_sha256": "ab12"}})
        );
    }

    #[test]
    fn an_effective_date_typed_month_first_is_refused_before_the_api() {
        let f = post(&[
            ("status", "retired"),
            ("effective", "07/31/2026"),
            ("doc_number", "88"),
            ("doc_date", "15/06/2026"),
            ("doc_issuer", "Sở Y tế"),
        ]);
        assert_eq!(body(&f).unwrap_err().rule(), "portal:bad-date");
    }
}

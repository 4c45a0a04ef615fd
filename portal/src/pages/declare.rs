//! Declaring a section of the résumé form (2C-BNV/2008 and the newer
//! variant's additions), with its supporting documents uploaded first, with
//! progress, and cited by their SHA-256; and reading an attachment back.

use std::sync::Arc;

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::Portal;
use crate::call::Refusal;
use crate::format;
use crate::page::{csrf, page, refusal_box, refused_page};
use crate::session::{Viewer, equal, same_origin};

use super::{Fields, field, fields};

/// Rows a table section's form offers beyond those already declared.
const SPARE_ROWS: u32 = 2;

/// The values a form shows: what was typed (after a refusal), else what is
/// pending, else what is approved.
fn current(d: &Value, section: &str) -> Vec<(String, u32, String)> {
    for key in ["pending", "sections"] {
        if let Some(fields) = d[key][section].as_array() {
            return fields
                .iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap_or("").to_owned(),
                        u32::try_from(f["row"].as_u64().unwrap_or(0)).unwrap_or(0),
                        f["value"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
        }
    }
    Vec::new()
}

/// The documents cited by the section's latest declaration since the last
/// approval, so that a declaration returned and declared again keeps the
/// proofs already uploaded (BT 6.3 asks for them again) unless unticked.
fn earlier_proofs(history: &Value, section: &str) -> Vec<String> {
    let mut proofs = Vec::new();
    for e in history.as_array().into_iter().flatten() {
        let ty = e["event_type"].as_str().unwrap_or("");
        if ty.ends_with("ApprovalSigned") {
            proofs.clear();
        }
        if !ty.ends_with("DeclarationSubmitted") {
            continue;
        }
        let diff = e["diff"].as_array().cloned().unwrap_or_default();
        if !diff.iter().any(|d| d["section"] == section) {
            continue;
        }
        proofs = diff
            .iter()
            .filter(|d| d["section"] == section)
            .filter_map(|d| d["attachments"].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    proofs
}

/// The documents already cited, each kept (ticked) unless unticked.
fn kept_proofs(id: &str, proofs: &[String]) -> Markup {
    html! {
        @if !proofs.is_empty() {
            fieldset #kept-proofs {
                legend { "Tài liệu đã nộp" }
                p.hint { "Đính kèm lại vào bản kê khai này; bỏ chọn tài liệu không còn dùng." }
                @for (i, sha) in proofs.iter().enumerate() {
                    div {
                        input type="checkbox" name="attachments" value=(sha) id={ "kept-" (i) } checked;
                        label.inline for={ "kept-" (i) } { "Bản số hóa " (sha.chars().take(8).collect::<String>()) "…" }
                        " " a href={ "/dossiers/" (id) "/attachments/" (sha) } { "xem" }
                    }
                }
            }
        }
    }
}

fn input_name(code: &str, row: u32) -> String {
    format!("f:{code}:{row}")
}

fn the_form(
    v: &Viewer,
    id: &str,
    spec: &hoso_domain::form::SectionSpec,
    values: &[(String, u32, String)],
    occurred_on: &str,
    proofs: &[String],
) -> Markup {
    let rows: Vec<u32> = if spec.table {
        let declared = values.iter().map(|(_, r, _)| *r).max().unwrap_or(0);
        (1..=declared + SPARE_ROWS).collect()
    } else {
        vec![0]
    };
    let value_of = |code: &str, row: u32| {
        values
            .iter()
            .find(|(c, r, _)| c == code && *r == row)
            .map_or("", |(_, _, v)| v.as_str())
    };
    html! {
        form.stack #declare-form method="post" action={ "/dossiers/" (id) "/declare/" (spec.code) } {
            (csrf(v))
            @for row in &rows {
                @if spec.table { h3 { "Dòng " (row) } }
                @for code in spec.fields {
                    @let name = input_name(code, *row);
                    @let required = !spec.table && spec.required.contains(code);
                    div {
                        label for=(name) {
                            (hoso_domain::form::field_label_or_column(code).unwrap_or_else(|| (*code).to_owned()))
                            span.hint { " (mục " (code) ")" @if required { " — bắt buộc" } }
                        }
                        input id=(name) type="text" name=(name) value=(value_of(code, *row)) required[required];
                    }
                }
            }
            div {
                label for="occurred_on" { "Ngày phát sinh thay đổi " span.hint { "(dd/mm/yyyy, nếu có; bắt đầu tính thời hạn kê khai)" } }
                input #occurred_on type="text" name="occurred_on" inputmode="numeric" placeholder="dd/mm/yyyy" value=(occurred_on);
            }
            (kept_proofs(id, proofs))
        }
        // The documents come before the declaration's own button (which
        // belongs to the form above by its `form` attribute): uploaded first,
        // they are cited when the declaration is sent.
        section.upload aria-labelledby="documents" {
            h2 #documents { "Tài liệu chứng minh" }
            p.hint { "Bản số hóa giấy tờ (ảnh chụp, PDF). Bắt buộc với thay đổi sau khi hồ sơ đã được phê duyệt (BT 6.3). Các tài liệu tải lên ở đây được đính kèm vào bản kê khai khi gửi." }
            form.stack data-upload={ "/dossiers/" (id) "/upload" } data-csrf=(v.csrf) data-into="declare-form" {
                div {
                    label for="document-file" { "Chọn tệp" }
                    div.inline {
                        input #document-file type="file";
                        button.secondary type="submit" { "Tải lên" }
                    }
                }
                progress #upload-progress max="1" value="0" aria-label="Tiến độ tải lên" {}
                p data-status role="status" {}
                ul data-uploaded {}
            }
        }
        div.submit { button type="submit" form="declare-form" { "Gửi kê khai" } }
    }
}

/// `GET /dossiers/{id}/declare/{section}`.
pub(crate) async fn form(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path((id, section)): Path<(String, String)>,
) -> Response {
    let (Some(id), Some(spec)) = (super::dossier_id(&id), hoso_domain::form::section(&section))
    else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let d = match p.api.get(&v.who, &format!("/dossiers/{id}")).await {
        Ok(d) => d,
        Err(r) => return refused_page(Some(&v), &r),
    };
    // Only a dossier under declaration has proofs to keep; a refused read of
    // the history leaves them to be uploaded again rather than the page out.
    let proofs = if matches!(d["workflow"].as_str(), Some("declaring" | "returned")) {
        p.api
            .get(&v.who, &format!("/dossiers/{id}/history"))
            .await
            .map(|h| earlier_proofs(&h, spec.code))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let body = html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ của " (d["full_name"].as_str().unwrap_or("")) } }
        (the_form(&v, id, spec, &current(&d, spec.code), "", &proofs))
    };
    page(&v, &format!("Kê khai: {}", spec.title), body)
}

/// `POST /dossiers/{id}/declare/{section}`.
pub(crate) async fn submit(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Path((id, section)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = v.check(&headers, field(&f, crate::session::CSRF_FIELD)) {
        return r;
    }
    let (Some(id), Some(spec)) = (super::dossier_id(&id), hoso_domain::form::section(&section))
    else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let mut typed = Vec::new();
    for (k, value) in &f {
        let Some(rest) = k.strip_prefix("f:") else {
            continue;
        };
        let Some((code, row)) = rest.rsplit_once(':') else {
            continue;
        };
        let Ok(row) = row.parse::<u32>() else {
            continue;
        };
        if !value.trim().is_empty() {
            typed.push((code.to_owned(), row, value.trim().to_owned()));
        }
    }
    let occurred = field(&f, "occurred_on").unwrap_or("").trim().to_owned();
    // A document kept from before and uploaded again is cited once.
    let mut cited: Vec<String> = Vec::new();
    for sha in fields(&f, "attachments") {
        if !sha.is_empty() && !cited.iter().any(|c| c == sha) {
            cited.push(sha.to_owned());
        }
    }
    let mut body = json!({
        "section": spec.code,
        "fields": typed.iter().map(|(c, r, v)| json!({"field": c, "row": r, "value": v})).collect::<Vec<_>>(),
        "attachments": cited,
    });
    let bad_date = if occurred.is_empty() {
        None
    } else {
        match format::parse_date(&occurred) {
            Some(d) => {
                body["occurred_on"] = json!(d.to_string());
                None
            }
            None => Some(Refusal {
                type_: "urn:hoso:problem:portal:bad-date".into(),
                status: 422,
                detail: Some(format!(
                    "ngày phát sinh \"{occurred}\" không đúng dạng dd/mm/yyyy"
                )),
                ..Refusal::default()
            }),
        }
    };
    let answer = match bad_date {
        Some(r) => Err(r),
        None => {
            p.api
                .json(
                    &v.who,
                    Method::POST,
                    &format!("/dossiers/{id}/declarations"),
                    &body,
                )
                .await
        }
    };
    match answer {
        Ok(r) => super::forms::to_dossier(&v, id, &r),
        Err(r) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let body = html! {
                p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
                (refusal_box(&r))
                // What was cited stays cited: the uploads are not lost with the refusal.
                (the_form(&v, id, spec, &typed, &occurred, &cited))
            };
            let mut resp = page(&v, &format!("Kê khai: {}", spec.title), body);
            *resp.status_mut() = status;
            resp
        }
    }
}

/// `POST /dossiers/{id}/upload`: the document's bytes, from the page's script
/// (with `X-CSRF-Token`), stored by the API; answers `{sha256, bytes}` or
/// `{message}` in words.
pub(crate) async fn upload(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let token = headers.get("x-csrf-token").and_then(|t| t.to_str().ok());
    if same_origin(&headers).is_err()
        || !token.is_some_and(|t| equal(t.as_bytes(), v.csrf.as_bytes()))
    {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"message": crate::words::refusal("portal:forged-form")})),
        )
            .into_response();
    }
    let Some(id) = super::dossier_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let answer = p
        .api
        .send(
            &v.who,
            Method::POST,
            &format!("/dossiers/{id}/attachments"),
            Some(("application/octet-stream", body)),
        )
        .await;
    if answer.ok() {
        let mut resp = (answer.status, answer.body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return resp;
    }
    let r = answer.refusal();
    let said =
        crate::words::refusal(r.rule()).unwrap_or_else(|| crate::words::status_words(r.status));
    (
        answer.status,
        axum::Json(json!({"message": said, "rule": r.rule(), "citation": r.citation})),
    )
        .into_response()
}

/// `GET /dossiers/{id}/attachments/{sha256}`: the document as the API serves
/// it to this visitor (only a dossier that cites it, only within scope).
pub(crate) async fn attachment(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path((id, sha)): Path<(String, String)>,
) -> Response {
    let (Some(id), true) = (
        super::dossier_id(&id),
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
    ) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let answer = p
        .api
        .send(
            &v.who,
            Method::GET,
            &format!("/dossiers/{id}/attachments/{sha}"),
            None,
        )
        .await;
    if !answer.ok() {
        return refused_page(Some(&v), &answer.refusal());
    }
    let mut resp = (answer.status, answer.body).into_response();
    for h in [header::CONTENT_TYPE, header::CONTENT_DISPOSITION] {
        if let Some(val) = answer.headers.get(&h) {
            resp.headers_mut().insert(h, val.clone());
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt_6_3_a_returned_section_declared_again_keeps_its_proofs_until_approved() {
        let history = json!([
            {"event_type": "dossier.DeclarationSubmitted",
             "diff": [{"section": "residence", "field": "9", "to": "A"},
                      {"section": "residence", "attachments": ["aa"]}]},
            {"event_type": "dossier.DeclarationSubmitted",
             "diff": [{"section": "identity", "attachments": ["bb"]}]},
            {"event_type": "dossier.DeclarationReturned",
             "diff": [{"section": "residence", "returned": ["thiếu số nhà"]}]},
        ]);
        assert_eq!(earlier_proofs(&history, "residence"), vec!["aa".to_owned()]);
        assert_eq!(earlier_proofs(&history, "identity"), vec!["bb".to_owned()]);
        assert!(earlier_proofs(&history, "family").is_empty());
        let mut approved = history.as_array().cloned().unwrap_or_default();
        approved.push(json!({"event_type": "dossier.ApprovalSigned", "diff": []}));
        assert!(earlier_proofs(&Value::Array(approved), "residence").is_empty());
        let shown = kept_proofs("d1", &["ab".repeat(32)]).into_string();
        assert!(shown.contains("name=\"attachments\""), "{shown}");
        assert!(shown.contains("checked"), "{shown}");
    }
}

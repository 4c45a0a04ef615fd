//! What the HR forms share: fields read from a post (dates typed
//! dd/mm/yyyy, numbers, required text) into the API's JSON with a refusal
//! in words for what cannot be read, the decision document block, the scan
//! uploaded first, and the answer after a command (the dossier page, once
//! the read side has the change).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::call::Refusal;
use crate::format;
use crate::page::{page, refusal_box};
use crate::session::Viewer;

use super::{Fields, field, fields};

/// A refusal of the portal's own (`portal:<code>`), before anything is sent.
pub(crate) fn refuse(code: &str, detail: impl Into<String>) -> Refusal {
    Refusal {
        type_: format!("urn:hoso:problem:portal:{code}"),
        status: 422,
        detail: Some(detail.into()),
        citation: None,
    }
}

/// A value typed into `name`, trimmed ("" when absent).
pub(crate) fn text<'a>(f: &'a Fields, name: &str) -> &'a str {
    field(f, name).unwrap_or("").trim()
}

/// A value that must be typed.
pub(crate) fn required<'a>(f: &'a Fields, name: &str, label: &str) -> Result<&'a str, Refusal> {
    let v = text(f, name);
    if v.is_empty() {
        return Err(refuse("missing-field", format!("chưa điền \"{label}\"")));
    }
    Ok(v)
}

/// A date typed dd/mm/yyyy, as the API's ISO text; `None` when left empty.
pub(crate) fn date(f: &Fields, name: &str, label: &str) -> Result<Option<String>, Refusal> {
    let v = text(f, name);
    if v.is_empty() {
        return Ok(None);
    }
    format::parse_date(v)
        .map(|d| Some(d.to_string()))
        .ok_or_else(|| {
            refuse(
                "bad-date",
                format!("\"{label}\": \"{v}\" không đúng dạng dd/mm/yyyy"),
            )
        })
}

/// A date that must be typed.
pub(crate) fn required_date(f: &Fields, name: &str, label: &str) -> Result<String, Refusal> {
    date(f, name, label)?.ok_or_else(|| refuse("missing-field", format!("chưa điền \"{label}\"")))
}

/// A whole number that must be typed.
pub(crate) fn number(f: &Fields, name: &str, label: &str) -> Result<u64, Refusal> {
    let v = required(f, name, label)?;
    v.parse::<u64>()
        .map_err(|_| refuse("bad-number", format!("\"{label}\": \"{v}\" không phải số")))
}

/// A decimal typed the Vietnamese way (`2,34` or `2.34`) in hundredths:
/// `2,34` → 234. At most two decimals; no floats on the way.
pub(crate) fn hundredths(f: &Fields, name: &str, label: &str) -> Result<u64, Refusal> {
    let v = required(f, name, label)?;
    let bad = || refuse("bad-number", format!("\"{label}\": \"{v}\" không phải số"));
    let t = v.replace(',', ".");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: u64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

/// The decision document: number, date signed, issuer, and the scan
/// uploaded to the dossier (the last one uploaded on the page).
pub(crate) fn document(f: &Fields) -> Result<Value, Refusal> {
    let mut doc = json!({
        "number": required(f, "doc_number", "Số quyết định")?,
        "date": required_date(f, "doc_date", "Ngày ký")?,
        "issuer": required(f, "doc_issuer", "Cơ quan ban hành")?,
    });
    if let Some(sha) = fields(f, "attachments")
        .into_iter()
        .map(str::trim)
        .rfind(|s| !s.is_empty())
    {
        doc["attachment_sha256"] = json!(sha);
    }
    Ok(doc)
}

/// What a form shows in `name`: what was typed before a refusal, else "".
pub(crate) fn typed<'a>(f: &'a Fields, name: &str) -> &'a str {
    field(f, name).unwrap_or("")
}

/// A labelled text input.
pub(crate) fn input(f: &Fields, name: &str, label: &str, hint: &str, required: bool) -> Markup {
    input_listed("", f, name, label, hint, required, None)
}

/// [`input`] whose id is `name` after `prefix` (the second form of a page
/// with the same fields needs ids of its own, or its labels would name the
/// first form's fields), offering the suggestions of the `datalist` whose id
/// is `list`, when there is one: the browser matches what is typed against
/// the options' labels too, so a unit's code is found by typing its name.
pub(crate) fn input_listed(
    prefix: &str,
    f: &Fields,
    name: &str,
    label: &str,
    hint: &str,
    required: bool,
    list: Option<&str>,
) -> Markup {
    let id = format!("{prefix}{name}");
    html! {
        div {
            label for=(id) {
                (label)
                @if !hint.is_empty() { span.hint { " (" (hint) ")" } }
                @if required { span.hint { " — bắt buộc" } }
            }
            input id=(id) type="text" name=(name) value=(typed(f, name)) required[required] list=[list] autocomplete=[list.map(|_| "off")];
        }
    }
}

/// A labelled date input typed dd/mm/yyyy.
pub(crate) fn date_input(f: &Fields, name: &str, label: &str, required: bool) -> Markup {
    date_input_in("", f, name, label, required)
}

/// [`date_input`] whose id is `name` after `prefix` (see [`input_listed`]).
pub(crate) fn date_input_in(
    prefix: &str,
    f: &Fields,
    name: &str,
    label: &str,
    required: bool,
) -> Markup {
    let id = format!("{prefix}{name}");
    html! {
        div {
            label for=(id) {
                (label) span.hint { " (dd/mm/yyyy)" }
                @if required { span.hint { " — bắt buộc" } }
            }
            input id=(id) type="text" name=(name) inputmode="numeric" placeholder="dd/mm/yyyy"
                value=(typed(f, name)) required[required];
        }
    }
}

/// A labelled choice among `options` (value, words).
pub(crate) fn select(f: &Fields, name: &str, label: &str, options: &[(&str, &str)]) -> Markup {
    let chosen = typed(f, name);
    html! {
        div {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                @for (value, words) in options {
                    option value=(value) selected[*value == chosen] { (words) }
                }
            }
        }
    }
}

/// The decision document's fields, on a page with the scan's upload below.
pub(crate) fn document_inputs(f: &Fields) -> Markup {
    document_inputs_in("", f)
}

/// [`document_inputs`] with ids after `prefix` (see [`input_listed`]).
pub(crate) fn document_inputs_in(prefix: &str, f: &Fields) -> Markup {
    html! {
        fieldset {
            legend { "Quyết định, văn bản căn cứ" }
            (input_listed(prefix, f, "doc_number", "Số quyết định", "ví dụ 125/QĐ-UBND", true, None))
            (date_input_in(prefix, f, "doc_date", "Ngày ký", true))
            (input_listed(prefix, f, "doc_issuer", "Cơ quan ban hành", "", true, None))
            p.hint { "Bản số hóa quyết định tải lên ở phần bên dưới được đính kèm (bản tải lên sau cùng)." }
            @for sha in fields(f, "attachments") {
                input type="hidden" name="attachments" value=(sha);
            }
        }
    }
}

/// The decision document's fields on a page that has no upload: a dossier
/// not yet opened has nowhere to keep a scan (uploads belong to a dossier),
/// so the page must not promise one.
pub(crate) fn document_inputs_without_scan(f: &Fields) -> Markup {
    html! {
        fieldset {
            legend { "Quyết định, văn bản căn cứ" }
            (input(f, "doc_number", "Số quyết định", "ví dụ 125/QĐ-UBND", true))
            (date_input(f, "doc_date", "Ngày ký", true))
            (input(f, "doc_issuer", "Cơ quan ban hành", "", true))
        }
    }
}

/// The upload of the scanned decision, with progress, whose SHA-256 the
/// script adds to the form `into` (as in `declare.rs`), or to each of the
/// forms `into` names separated by spaces.
pub(crate) fn upload(v: &Viewer, id: &str, into: &str) -> Markup {
    html! {
        h2 { "Bản số hóa quyết định" }
        p.hint { "Ảnh chụp hoặc PDF của quyết định (BT 6.3). Tải lên trước khi gửi biểu mẫu." }
        form.stack data-upload={ "/dossiers/" (id) "/upload" } data-csrf=(v.csrf) data-into=(into) {
            div {
                label for="document-file" { "Chọn tệp" }
                input #document-file type="file";
            }
            progress #upload-progress max="1" value="0" aria-label="Tiến độ tải lên" {}
            p data-status role="status" {}
            ul data-uploaded {}
            div { button.secondary type="submit" { "Tải lên" } }
        }
    }
}

/// After a command: the dossier page, once the read side has applied it; or,
/// when the API accepted it with warnings (an approval outside the profile's
/// window where the profile only warns, say), a page saying so first, since a
/// redirect would lose them.
pub(crate) fn to_dossier(v: &Viewer, id: &str, receipt: &Value) -> Response {
    let url = format!(
        "/dossiers/{id}?wait_for={}",
        receipt["position"].as_u64().unwrap_or(0)
    );
    let warnings: Vec<&str> = receipt["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if warnings.is_empty() {
        return Redirect::to(&url).into_response();
    }
    let body = maud::html! {
        div.notice role="status" {
            p { strong { "Đã thực hiện." } " Hệ thống ghi nhận và lưu ý:" }
            ul #warnings { @for w in &warnings { li { (crate::words::warning(w)) } } }
        }
        p { a.button href=(url) { "Về hồ sơ" } }
    };
    crate::page::page(v, "Đã thực hiện, có lưu ý", body)
}

/// The form's page again, with the refusal above it, under the API's status.
pub(crate) fn refused_form(v: &Viewer, title: &str, r: &Refusal, form: Markup) -> Response {
    let status = StatusCode::from_u16(r.status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let body = html! {
        (refusal_box(r))
        (form)
    };
    let mut resp = page(v, title, body);
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn post(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn dates_are_typed_day_first_and_sent_as_iso() {
        let f = post(&[("d", "05/01/2026"), ("bad", "2026/13/01")]);
        assert_eq!(
            date(&f, "d", "Ngày").unwrap().as_deref(),
            Some("2026-01-05")
        );
        assert_eq!(date(&f, "none", "Ngày").unwrap(), None);
        let r = date(&f, "bad", "Ngày ký").unwrap_err();
        assert_eq!(r.rule(), "portal:bad-date");
        assert!(crate::words::refusal(r.rule()).is_some());
        assert_eq!(
            required_date(&f, "none", "Ngày ký").unwrap_err().rule(),
            "portal:missing-field"
        );
    }

    #[test]
    fn coefficients_are_read_in_hundredths_without_floats() {
        for (typed, want) in [("2,34", 234), ("2.34", 234), ("4", 400), ("0,5", 50)] {
            let f = post(&[("c", typed)]);
            assert_eq!(hundredths(&f, "c", "Hệ số").unwrap(), want, "{typed}");
        }
        for typed in ["2,345", "-1", "abc", ",", "1e3"] {
            let f = post(&[("c", typed)]);
            assert!(hundredths(&f, "c", "Hệ số").is_err(), "{typed}");
        }
    }

    #[test]
    fn a_page_without_an_upload_promises_no_scan() {
        let f = post(&[("attachments", "aa")]);
        let shown = document_inputs_without_scan(&f).into_string();
        assert!(!shown.contains("Bản số hóa"), "{shown}");
        assert!(!shown.contains("attachments"), "{shown}");
        assert!(document_inputs(&f).into_string().contains("Bản số hóa"));
    }

    #[test]
    fn a_document_cites_the_last_scan_uploaded() {
        let f = post(&[
            ("doc_number", " 12/QĐ-UBND "),
            ("doc_date", "03/04/2026"),
            ("doc_issuer", "UBND tỉnh"),
            ("attachments", "aa"),
            ("attachments", "bb"),
        ]);
        assert_eq!(
            document(&f).unwrap(),
            json!({"number": "12/QĐ-UBND", "date": "2026-04-03", "issuer": "UBND tỉnh",
                   "attachment_sha256": "bb"})
        );
        let f = post(&[("doc_number", "12"), ("doc_date", "03/04/2026")]);
        assert_eq!(document(&f).unwrap_err().rule(), "portal:missing-field");
    }
}

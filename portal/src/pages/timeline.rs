//! The inspector's timeline of a dossier: the dossier's offline bundle, as
//! the API exports it (`GET /dossiers/{id}/bundle`, recorded in the audit
//! trail), verified here with `hoso-bundle` exactly as the inspector's own
//! tool would, and shown event by event with a ✓/✗ for its link in the hash
//! chain and for each approval signature; and the bundle itself to download
//! and keep.
//!
//! The head is authenticated with the province's published ledger key,
//! taken from this node's key ring (public, the same for everyone); a bundle
//! that fails verification is still listed, each event's link checked on its
//! own, with the verifier's reason.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use hoso_bundle::{Bundle, BundleEvent, TimelineEntry};
use maud::{Markup, html};

use crate::Portal;
use crate::call::Refusal;
use crate::format;
use crate::page::{page, refused_page};
use crate::session::Viewer;

/// What revision 0 links to: the all-zero genesis hash (bundle format).
const GENESIS: [u8; 32] = [0; 32];

/// Whether each event's `prev_hash` is the hash of the event before it
/// (revision 0: the genesis hash), in the bundle's order.
pub(crate) fn links(events: &[BundleEvent]) -> Vec<bool> {
    events
        .iter()
        .enumerate()
        .map(
            |(i, e)| match i.checked_sub(1).and_then(|p| events.get(p)) {
                None => e.prev_hash == GENESIS,
                Some(prev) => e.prev_hash == prev.hash && e.revision == prev.revision + 1,
            },
        )
        .collect()
}

fn mark(ok: bool) -> Markup {
    html! {
        @if ok { span.ok aria-label="hợp lệ" { "✓" } }
        @else { span.bad aria-label="không hợp lệ" { "✗" } }
    }
}

/// A diff's field, `27.c1#2` (item, table column, row) in words with its code.
fn field_name(field: &str) -> String {
    match field.split_once('#') {
        Some((code, row)) => format!("{}, dòng {row}", super::dossier::label(code)),
        None => super::dossier::label(field),
    }
}

/// A diff's value; a sealed one (the bundle carries only its ciphertext) said so.
fn shown(value: &str) -> Markup {
    html! {
        @if value == hoso_bundle::SEALED { em { "(thông tin hạn chế, đã mã hóa)" } }
        @else { (value) }
    }
}

/// The verified timeline, one row per event.
pub(crate) fn entries_table(entries: &[TimelineEntry], links: &[bool]) -> Markup {
    html! {
        div.scroll {
            table #timeline {
                thead { tr {
                    th scope="col" { "Phiên bản" }
                    th scope="col" { "Liên kết chuỗi" }
                    th scope="col" { "Sự kiện" }
                    th scope="col" { "Thời điểm ghi" }
                    th scope="col" { "Ngày hiệu lực" }
                    th scope="col" { "Người thực hiện" }
                    th scope="col" { "Căn cứ" }
                    th scope="col" { "Chữ ký số" }
                } }
                tbody {
                    @for (i, e) in entries.iter().enumerate() {
                        tr {
                            td { (e.revision) }
                            td { (mark(links.get(i).copied().unwrap_or(false))) }
                            td {
                                (super::dossier::event_words(&e.event_type))
                                br;
                                span.hint { (e.summary) }
                                @if !e.changes.is_empty() {
                                    ul.diff {
                                        @for c in &e.changes {
                                            li {
                                                (super::dossier::section_title(&c.section)) " · " (field_name(&c.field)) ": "
                                                @if let Some(b) = &c.before { del { (shown(b)) } " → " }
                                                @match &c.after { Some(a) => { ins { (shown(a)) } }, None => { em { "(xóa)" } } }
                                            }
                                        }
                                    }
                                }
                            }
                            td { (format::time(&e.recorded_at.to_rfc3339())) }
                            td { (e.effective.as_deref().map(format::date).unwrap_or_default()) }
                            td { (super::dossier::account(&e.who)) }
                            td { (e.decision.as_deref().unwrap_or("")) }
                            td {
                                @if let Some(s) = &e.signature {
                                    (mark(s.valid)) " "
                                    "ký phiên bản " (s.signed_revision) " bởi " (super::dossier::account(&s.signer))
                                    " (khóa " code { (s.key_id) } ")"
                                    @if let Some(d) = &s.delegated_from { ", ủy quyền từ " (super::dossier::account(d)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A bundle that did not verify: its events with each link checked.
fn unverified_table(events: &[BundleEvent], links: &[bool]) -> Markup {
    html! {
        div.scroll {
            table #timeline {
                thead { tr {
                    th scope="col" { "Phiên bản" }
                    th scope="col" { "Liên kết chuỗi" }
                    th scope="col" { "Sự kiện" }
                    th scope="col" { "Người thực hiện" }
                } }
                tbody {
                    @for (i, e) in events.iter().enumerate() {
                        tr {
                            td { (e.revision) }
                            td { (mark(links.get(i).copied().unwrap_or(false))) }
                            td { (super::dossier::event_words(&e.event_type)) }
                            td { (super::dossier::account(&e.actor)) }
                        }
                    }
                }
            }
        }
    }
}

fn unreadable(detail: impl std::fmt::Display) -> Refusal {
    Refusal {
        type_: "urn:hoso:problem:portal:bundle-unreadable".into(),
        status: 502,
        detail: Some(detail.to_string()),
        citation: None,
    }
}

/// The bundle's bytes from the API, or its refusal.
async fn fetch(p: &Portal, v: &Viewer, id: &str) -> Result<crate::call::Reply, Refusal> {
    let answer = p
        .api
        .send(&v.who, Method::GET, &format!("/dossiers/{id}/bundle"), None)
        .await;
    if answer.ok() {
        Ok(answer)
    } else {
        Err(answer.refusal())
    }
}

/// `GET /dossiers/{id}/timeline`.
pub(crate) async fn show(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = super::dossier_id(&id) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let answer = match fetch(&p, &v, id).await {
        Ok(a) => a,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let bundle: Bundle = match serde_json::from_slice(&answer.body) {
        Ok(b) => b,
        Err(e) => return refused_page(Some(&v), &unreadable(e)),
    };
    let ledger_key = p.state.sealer.as_ref().and_then(|s| {
        s.keys()
            .get(bundle.tree_head.head.key_id)
            .map(|k| k.public_key)
    });
    let linked = links(&bundle.events);
    let verified = hoso_bundle::verify(&answer.body, ledger_key.as_ref());
    let head = &bundle.tree_head.head;
    let body = html! {
        p {
            a href={ "/dossiers/" (id) } { "← Về hồ sơ" }
            " · "
            a.button href={ "/dossiers/" (id) "/bundle" } download { "Tải gói hồ sơ" }
        }
        dl.facts {
            dt { "Hồ sơ" } dd { code { (bundle.dossier) } }
            dt { "Gốc cây Merkle được ký" } dd {
                "kích thước " (head.tree_size) ", ký lúc "
                (format::time(&head.signed_at.to_rfc3339())) ", khóa sổ cái " code { (head.key_id.to_string()) }
            }
            dt { "Số sự kiện" } dd { (bundle.events.len()) }
        }
        @match &verified {
            Ok(report) => {
                @if report.is_authenticated() {
                    p.notice role="status" #verdict {
                        (mark(true)) " Gói hồ sơ toàn vẹn và xác thực: mọi sự kiện liên kết đúng chuỗi băm, nằm trong cây Merkle có gốc được ký bằng khóa sổ cái của tỉnh, mọi chữ ký phê duyệt hợp lệ."
                    }
                } @else {
                    p.notice role="status" #verdict {
                        (mark(true)) " Gói hồ sơ nhất quán (chuỗi băm, chứng minh Merkle, chữ ký phê duyệt), nhưng chưa xác thực được chữ ký gốc cây vì không có khóa sổ cái tương ứng."
                    }
                }
                @if report.later_events_omitted {
                    p.hint { "Các sự kiện ghi sau gốc cây này chưa có trong gói; tải lại sau khi gốc cây tiếp theo được ký." }
                }
                (entries_table(&hoso_bundle::timeline_in(report, hoso_bundle::Lang::Vietnamese), &linked))
            },
            Err(e) => {
                div.refusal role="alert" #verdict {
                    p.said { (mark(false)) " " strong { "Gói hồ sơ KHÔNG kiểm chứng được." } " Không nên tin nội dung dưới đây." }
                    details { summary { "Lý do từ bộ kiểm chứng" } p { code { (e.to_string()) } } }
                }
                (unverified_table(&bundle.events, &linked))
            },
        }
    };
    page(&v, "Dòng thời gian hồ sơ (kiểm chứng)", body)
}

/// `GET /dossiers/{id}/bundle`: the bundle file, as the API wrote it.
pub(crate) async fn download(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = super::dossier_id(&id) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let answer = match fetch(&p, &v, id).await {
        Ok(a) => a,
        Err(r) => return refused_page(Some(&v), &r),
    };
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

    fn event(revision: u64, prev: u8, hash: u8) -> BundleEvent {
        serde_json::from_str(&serde_json::json!({
            "position": revision * 3, "stream": "dossier-x", "revision": revision,
            "event_id": "00000000-0000-7000-8000-000000000000",
            "event_type": "dossier.DeclarationSubmitted", "schema_version": 1,
            "actor": "a", "correlation_id": null, "causation_id": null,
            "recorded_at_us": 0, "effective_at_us": null, "source_document": null,
            "payload": "", "prev_hash": hex::encode([prev; 32]), "hash": hex::encode([hash; 32]),
            "proof": [],
        })
        .to_string())
        .unwrap()
    }

    #[test]
    fn each_link_of_the_chain_is_judged_on_its_own() {
        let good = [event(0, 0, 1), event(1, 1, 2), event(2, 2, 3)];
        assert_eq!(links(&good), vec![true, true, true]);
        let broken = [event(0, 0, 1), event(1, 9, 2), event(2, 2, 3)];
        assert_eq!(links(&broken), vec![true, false, true]);
        let bad_genesis = [event(0, 5, 1)];
        assert_eq!(links(&bad_genesis), vec![false]);
    }

    #[test]
    fn a_bad_signature_shows_a_cross() {
        let entry = TimelineEntry {
            revision: 4,
            position: 9,
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            who: "head".into(),
            event_type: "dossier.ApprovalSigned".into(),
            summary: "approval".into(),
            effective: None,
            decision: None,
            changes: Vec::new(),
            signature: Some(hoso_bundle::SignatureMark {
                signer: "head".into(),
                delegated_from: None,
                key_id: "k1".into(),
                signed_revision: 3,
                valid: false,
            }),
        };
        let html = entries_table(&[entry], &[true]).into_string();
        assert!(html.contains("Phê duyệt (ký số)"), "{html}");
        assert!(
            html.contains(r#"<span class="ok" aria-label="hợp lệ">✓</span>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="bad" aria-label="không hợp lệ">✗</span> ký phiên bản 3"#),
            "{html}"
        );
        assert!(html.contains("01/01/1970 07:00"), "{html}");
    }
}

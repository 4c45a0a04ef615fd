//! Moves and transfers: a move within the agency (DL 10.1), a transfer to
//! another agency with its scanned decision (DL 10.2), and on the receiving
//! side accepting, forwarding to a using unit, or rejecting with a reason
//! (KT 11.2); and the receiving unit's list of dossiers sent to it and
//! waiting for its answer (`GET /transfers` of the API).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::Portal;
use crate::call::Refusal;
use crate::format;
use crate::page::{csrf, page, refusal_box, refused_page};
use crate::session::Viewer;
use crate::units::{self, Tree, Units};
use crate::words;

use super::Fields;
use super::forms::{self, date_input, document_inputs, refuse, required, required_date};

const TITLE: &str = "Điều động, chuyển công tác";

/// The API's body for `POST /dossiers/{id}/transfers` from the form.
pub(crate) fn body(f: &Fields) -> Result<Value, Refusal> {
    let action = forms::text(f, "action");
    Ok(match action {
        "move" => json!({
            "action": "move",
            "to": required(f, "to", "Đơn vị mới")?,
            "effective": required_date(f, "effective", "Ngày có hiệu lực")?,
            "document": forms::document(f)?,
        }),
        "initiate" => json!({
            "action": "initiate",
            "kind": required(f, "kind", "Hình thức")?,
            "to": required(f, "to", "Cơ quan tiếp nhận")?,
            "effective": required_date(f, "effective", "Ngày có hiệu lực")?,
            "document": forms::document(f)?,
        }),
        "accept" => json!({
            "action": "accept",
            "transfer_id": required(f, "transfer_id", "Mã chuyển công tác")?,
        }),
        "forward" => json!({
            "action": "forward",
            "transfer_id": required(f, "transfer_id", "Mã chuyển công tác")?,
            "to": required(f, "to", "Đơn vị sử dụng")?,
        }),
        "reject" => json!({
            "action": "reject",
            "transfer_id": required(f, "transfer_id", "Mã chuyển công tác")?,
            "reason": required(f, "reason", "Lý do từ chối")?,
        }),
        other => return Err(refuse("missing-field", format!("thao tác \"{other}\""))),
    })
}

/// Where a dossier's transfer to another agency stands, from its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InFlight {
    /// Sent to `to`, not yet answered.
    Pending { transfer_id: String, to: String },
    /// Accepted, not yet forwarded to a using unit.
    Accepted { transfer_id: String },
}

/// The transfer in flight, if any: the last one initiated, unless it was
/// rejected, or accepted and then forwarded.
pub(crate) fn in_flight(history: &Value) -> Option<InFlight> {
    let mut now = None;
    for e in history.as_array().into_iter().flatten() {
        let ty = e["event_type"].as_str().unwrap_or("");
        match ty.rsplit('.').next().unwrap_or(ty) {
            "TransferInitiated" => {
                now = e["diff"].as_array().and_then(|d| {
                    d.iter().find_map(|x| {
                        Some(InFlight::Pending {
                            transfer_id: x["transfer"].as_str()?.to_owned(),
                            to: x["to"].as_str().unwrap_or("").to_owned(),
                        })
                    })
                });
            }
            "TransferAccepted" => {
                now = match now {
                    Some(InFlight::Pending { transfer_id, .. }) => {
                        Some(InFlight::Accepted { transfer_id })
                    }
                    other => other,
                };
            }
            "TransferRejected" | "TransferForwarded" => now = None,
            _ => {}
        }
    }
    now
}

/// The province's units today, offered by name in the forms' unit fields,
/// by the rules the API applies: a move stays within the agency of the
/// employing unit (DL 10.1), a transfer goes to another agency than the
/// managing unit's (DL 10.2), and a forward goes to a unit under the receiver,
/// which manages the dossier once it accepted (KT 11.2).
#[derive(Debug, Default)]
struct Offered {
    tree: Tree,
    managing: String,
    employing: String,
    /// Each field's datalist and the id it is named by, in [`UnitField`]'s
    /// order, made once per page.
    offers: Vec<(Markup, Option<&'static str>)>,
}

/// The unit fields of the page, in the order of `Offered::offers`.
#[derive(Debug, Clone, Copy)]
enum UnitField {
    Move,
    Transfer,
    Forward,
}

impl Offered {
    async fn of(p: &Portal, v: &Viewer, managing: &str, employing: &str) -> Self {
        Self::new(Tree::of(p, v).await, managing, employing)
    }

    fn new(t: Tree, managing: &str, employing: &str) -> Self {
        let offers = vec![
            units::offer("units-move", &t.of_agency(t.agency_of(employing), true)),
            units::offer("units-transfer", &t.of_agency(t.agency_of(managing), false)),
            units::offer("units-forward", &t.part(&[managing], true)),
        ];
        Self {
            tree: t,
            managing: managing.to_owned(),
            employing: employing.to_owned(),
            offers,
        }
    }

    fn datalists(&self) -> Markup {
        html! { @for (list, _) in &self.offers { (list) } }
    }

    /// The id of the datalist a field names, if it has units to offer.
    fn list(&self, field: UnitField) -> Option<&'static str> {
        self.offers.get(field as usize).and_then(|(_, id)| *id)
    }

    /// The hidden fields that carry the dossier's units, for the suggestions
    /// of a form shown again after a refusal (they choose only what is
    /// suggested; the API decided the rest).
    fn carried(&self) -> Markup {
        html! { (hidden(MANAGING, &self.managing)) (hidden(EMPLOYING, &self.employing)) }
    }
}

const MANAGING: &str = "shown_managing";
const EMPLOYING: &str = "shown_employing";

fn hidden(name: &str, value: &str) -> Markup {
    html! { input type="hidden" name=(name) value=(value); }
}

/// The forms the dossier's state allows: the sender's two when nothing is
/// in flight, the receiver's when something is. The API decides who may.
fn the_forms(
    v: &Viewer,
    id: &str,
    flight: Option<&InFlight>,
    f: &Fields,
    offered: &Offered,
) -> Markup {
    let chosen = forms::text(f, "action");
    // A refused form shows what was typed; the other forms start empty.
    let typed = |action: &str| {
        if chosen == action {
            f.clone()
        } else {
            Fields::new()
        }
    };
    html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        (offered.datalists())
        @match flight {
            Some(InFlight::Pending { transfer_id, to }) => {
                p.notice { "Hồ sơ đang được chuyển đến " (offered.tree.names().show(to)) ", chờ cơ quan tiếp nhận trả lời (mã " code { (transfer_id) } ")." }
                @let answer = html! { div.actions {
                    form method="post" action={ "/dossiers/" (id) "/transfers" } aria-label="Tiếp nhận hồ sơ" {
                        (csrf(v)) (hidden("action", "accept")) (hidden("transfer_id", transfer_id))
                        p { "Tiếp nhận hồ sơ về cơ quan (KT 11.2). Sau khi tiếp nhận có thể chuyển tiếp cho đơn vị sử dụng." }
                        button type="submit" { "Tiếp nhận" }
                    }
                    form method="post" action={ "/dossiers/" (id) "/transfers" } aria-label="Từ chối tiếp nhận" {
                        (csrf(v)) (hidden("action", "reject")) (hidden("transfer_id", transfer_id))
                        label for="reason" { "Lý do từ chối" span.hint { " — bắt buộc" } }
                        textarea #reason name="reason" required { (forms::typed(f, "reason")) }
                        button.danger type="submit" { "Từ chối tiếp nhận" }
                    }
                } };
                @if receives(v, to) { (answer) }
                @else {
                    p.hint { "Trong khi chờ, không ai được thay đổi hồ sơ (BT 11.3, HY 11.1)." }
                    details {
                        summary { "Thuộc cơ quan tiếp nhận? Tiếp nhận hoặc từ chối" }
                        (answer)
                    }
                }
            },
            Some(InFlight::Accepted { transfer_id }) => {
                h2 { "Chuyển tiếp cho đơn vị sử dụng" }
                form.stack method="post" action={ "/dossiers/" (id) "/transfers" } {
                    (csrf(v)) (hidden("action", "forward")) (hidden("transfer_id", transfer_id)) (offered.carried())
                    (forms::input_listed("forward-", &typed("forward"), "to", "Đơn vị sử dụng", "thuộc cơ quan tiếp nhận; gõ tên hoặc mã", true, offered.list(UnitField::Forward)))
                    div { button type="submit" { "Chuyển tiếp" } }
                }
                (sender_forms(v, id, f, offered))
            },
            None => { (sender_forms(v, id, f, offered)) },
        }
    }
}

/// Whether the visitor is of the receiving agency `to`, as far as the
/// account says (its unit, or a right given at `to`); the API decides.
fn receives(v: &Viewer, to: &str) -> bool {
    v.unit() == to || v.me["grants"].get(to).is_some()
}

/// The sender's two forms: a move within the agency, a transfer out.
fn sender_forms(v: &Viewer, id: &str, f: &Fields, offered: &Offered) -> Markup {
    let kinds: Vec<(&str, &str)> = words::TRANSFER_KINDS
        .iter()
        .map(|k| (*k, words::transfer_kind(k)))
        .collect();
    let chosen = forms::text(f, "action");
    let typed = |action: &str| {
        if chosen == action {
            f.clone()
        } else {
            Fields::new()
        }
    };
    html! {
        h2 { "Điều động trong cơ quan" }
        p.hint { "Chuyển sang đơn vị khác của cùng cơ quan (DL 10.1)." }
        @let mv = typed("move");
        form.stack #move-form method="post" action={ "/dossiers/" (id) "/transfers" } {
            (csrf(v)) (hidden("action", "move")) (offered.carried())
            (forms::input_listed("", &mv, "to", "Đơn vị mới", "gõ tên hoặc mã, ví dụ 000.02.01.H33", true, offered.list(UnitField::Move)))
            (date_input(&mv, "effective", "Ngày có hiệu lực", true))
            (document_inputs(&mv))
            div { button type="submit" { "Điều động" } }
        }
        h2 { "Chuyển công tác sang cơ quan khác" }
        p.hint { "Gửi hồ sơ cho cơ quan tiếp nhận (DL 10.2); bắt buộc kèm bản số hóa quyết định. Trong khi chờ, không ai được thay đổi hồ sơ (BT 11.3)." }
        @let out = typed("initiate");
        form.stack #transfer-form method="post" action={ "/dossiers/" (id) "/transfers" } {
            (csrf(v)) (hidden("action", "initiate")) (offered.carried())
            (forms::select(&out, "kind", "Hình thức", &kinds))
            (forms::input_listed("out-", &out, "to", "Cơ quan tiếp nhận", "gõ tên hoặc mã, ví dụ 000.03.00.H33", true, offered.list(UnitField::Transfer)))
            (forms::date_input_in("out-", &out, "effective", "Ngày có hiệu lực", true))
            (forms::document_inputs_in("out-", &out))
            div { button type="submit" { "Gửi hồ sơ" } }
        }
        (forms::upload(v, id, "move-form transfer-form"))
        p.hint { "Bản số hóa tải lên được đính kèm vào biểu mẫu gửi đi, điều động hay chuyển công tác." }
    }
}

/// The dossier's history, for the transfer in flight.
async fn flight_of(p: &Portal, v: &Viewer, id: &str) -> Result<Option<InFlight>, Refusal> {
    let h = p
        .api
        .get(&v.who, &format!("/dossiers/{id}/history"))
        .await?;
    Ok(in_flight(&h))
}

/// `GET /dossiers/{id}/transfers`.
pub(crate) async fn form(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    let (id, d) = match super::dossier_for_page(&p, &v, &id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let flight = match flight_of(&p, &v, id).await {
        Ok(f) => f,
        Err(r) => return refused_page(Some(&v), &r),
    };
    let codes: Vec<&str> = ["managing_unit", "employing_unit"]
        .iter()
        .filter_map(|k| d[*k].as_str())
        .collect();
    let units = Units::of(&p, &v, &codes).await;
    let offered = Offered::of(
        &p,
        &v,
        d["managing_unit"].as_str().unwrap_or(""),
        d["employing_unit"].as_str().unwrap_or(""),
    )
    .await;
    let body = html! {
        p {
            strong { (d["full_name"].as_str().unwrap_or("")) } " — đơn vị quản lý "
            (units.show_value(&d["managing_unit"])) ", đơn vị sử dụng "
            (units.show_value(&d["employing_unit"]))
        }
        (the_forms(&v, id, flight.as_ref(), &Fields::new(), &offered))
    };
    page(&v, TITLE, body)
}

/// `POST /dossiers/{id}/transfers`.
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
                .json(
                    &v.who,
                    Method::POST,
                    &format!("/dossiers/{id}/transfers"),
                    &b,
                )
                .await
        }
        Err(r) => Err(r),
    };
    match answer {
        // A rejected dossier goes back to its sender: the receiver no longer
        // sees it, so it returns to its list.
        Ok(r) if forms::text(&f, "action") == "reject" => Redirect::to(&format!(
            "/transfers?wait_for={}",
            r["position"].as_u64().unwrap_or(0)
        ))
        .into_response(),
        Ok(r) => forms::to_dossier(&v, id, &r),
        Err(r) => {
            let flight = flight_of(&p, &v, id).await.ok().flatten();
            let offered = Offered::of(
                &p,
                &v,
                forms::text(&f, MANAGING),
                forms::text(&f, EMPLOYING),
            )
            .await;
            forms::refused_form(
                &v,
                TITLE,
                &r,
                the_forms(&v, id, flight.as_ref(), &f, &offered),
            )
        }
    }
}

/// `GET /transfers?wait_for=`: the transfers waiting for the visitor's units.
pub(crate) async fn incoming(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let wait = q.get("wait_for").and_then(|w| w.parse::<u64>().ok());
    let units: Vec<Option<String>> = match v.me["grants"].as_object() {
        Some(g) if !g.is_empty() => g.keys().cloned().map(Some).collect(),
        _ => vec![None],
    };
    let mut found: BTreeMap<String, Value> = BTreeMap::new();
    let mut refusal = None;
    for unit in units {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(u) = unit {
            query.push(("unit", u));
        }
        if let Some(w) = wait {
            query.push(("wait_for", w.to_string()));
        }
        let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
        match p.api.get(&v.who, &format!("/transfers?{qs}")).await {
            Ok(list) => {
                for t in list.as_array().into_iter().flatten() {
                    if let Some(tid) = t["transfer_id"].as_str() {
                        found.entry(tid.to_owned()).or_insert_with(|| t.clone());
                    }
                }
            }
            Err(r) => refusal = Some(r),
        }
    }
    let mut list: Vec<Value> = found.into_values().collect();
    list.sort_by_key(|t| format::name_key(t["full_name"].as_str().unwrap_or("")));
    let mut codes: Vec<&str> = Vec::new();
    for t in &list {
        codes.extend(t["from_unit"].as_str());
        codes.extend(t["to_unit"].as_str());
    }
    let units = Units::of(&p, &v, &codes).await;
    let body = html! {
        p { "Hồ sơ do cơ quan khác gửi đến, chờ tiếp nhận, chuyển tiếp hoặc từ chối (DL 10.2, KT 11.2)." }
        @if let (Some(r), true) = (&refusal, list.is_empty()) { (refusal_box(r)) }
        @if list.is_empty() { p { "Không có hồ sơ nào đang chờ tiếp nhận." } }
        @else {
            div.scroll {
                table #incoming {
                    thead { tr {
                        th scope="col" { "Họ và tên" }
                        th scope="col" { "Hình thức" }
                        th scope="col" { "Từ cơ quan" }
                        th scope="col" { "Đến" }
                        th scope="col" { "Ngày hiệu lực" }
                        th scope="col" { "Quyết định" }
                        th scope="col" { "Ngày gửi" }
                    } }
                    tbody {
                        @for t in &list {
                            tr {
                                td { a href={ "/dossiers/" (t["dossier_id"].as_str().unwrap_or("")) "/transfers" } { (t["full_name"].as_str().unwrap_or("")) } }
                                td { (words::transfer_kind(t["kind"].as_str().unwrap_or(""))) }
                                td { (units.show_value(&t["from_unit"])) }
                                td { (units.show_value(&t["to_unit"])) }
                                td { (t["effective"].as_str().map(format::date).unwrap_or_default()) }
                                td {
                                    (t["decision_number"].as_str().unwrap_or(""))
                                    @if let Some(d) = t["decision_date"].as_str() { " ngày " (format::date(d)) }
                                    @if let Some(i) = t["decision_issuer"].as_str() { " — " (i) }
                                }
                                td { (format::time(t["initiated_at"].as_str().unwrap_or(""))) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&v, "Hồ sơ chuyển đến", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::forms::tests::post;

    #[test]
    fn dl_10_2_a_transfer_out_carries_kind_receiver_and_scanned_decision() {
        let f = post(&[
            ("action", "initiate"),
            ("kind", "transfer"),
            ("to", "000.03.00.H33"),
            ("effective", "06/04/2026"),
            ("doc_number", "60/QĐ-UBND"),
            ("doc_date", "03/04/2026"),
            ("doc_issuer", "UBND tỉnh"),
            ("attachments", "cafe"),
        ]);
        assert_eq!(
            body(&f).unwrap(),
            json!({"action": "initiate", "kind": "transfer", "to": "000.03.00.H33",
                   "effective": "2026-04-06",
                   "document": {"number": "60/QĐ-UBND", "date": "2026-04-03", "issuer": "UBND tỉnh",
                                "attachment_sha256": "cafe"}})
        );
    }

    #[test]
    fn dl_10_1_a_move_is_offered_the_agencys_units_and_a_transfer_the_other_agencies() {
        let tree = json!([
            {"code": "000.00.00.H33", "name": "UBND tỉnh", "parent": null, "agency": "000.00.00.H33"},
            {"code": "000.04.00.H33", "name": "Sở Y tế", "parent": "000.00.00.H33", "agency": "000.04.00.H33"},
            {"code": "001.04.00.H33", "name": "Văn phòng Sở Y tế", "parent": "000.04.00.H33", "agency": "000.04.00.H33"},
            {"code": "901.04.00.H33", "name": "Bệnh viện", "parent": "000.04.00.H33", "agency": "901.04.00.H33"},
        ]);
        // Managed by the Sở, employed by its office.
        let offered = Offered::new(
            Tree::from_nodes(tree.as_array().cloned().unwrap()),
            "000.04.00.H33",
            "001.04.00.H33",
        );
        let lists = offered.datalists().into_string();
        assert!(
            lists.contains(r#"<datalist id="units-move"><option value="000.04.00.H33">Sở Y tế</option><option value="001.04.00.H33">Văn phòng Sở Y tế</option></datalist>"#),
            "the agency's own units, not the hospital under it: {lists}"
        );
        assert!(
            lists.contains(r#"<datalist id="units-transfer"><option value="000.00.00.H33">UBND tỉnh</option><option value="901.04.00.H33">Bệnh viện</option></datalist>"#),
            "the other agencies, the hospital under the Sở among them: {lists}"
        );
        assert!(
            lists.contains(r#"<datalist id="units-forward"><option value="000.04.00.H33">"#),
            "{lists}"
        );
        let v = Viewer::for_tests(json!({}));
        let sender = sender_forms(&v, "d-1", &Fields::new(), &offered).into_string();
        assert!(sender.contains(r#"list="units-move""#), "{sender}");
        assert!(sender.contains(r#"list="units-transfer""#), "{sender}");
        assert!(
            sender.contains(r#"name="shown_employing" value="001.04.00.H33""#),
            "{sender}"
        );
        // Without the tree, the fields take a typed code and name no list.
        let bare = sender_forms(&v, "d-1", &Fields::new(), &Offered::default()).into_string();
        assert!(!bare.contains("list="), "{bare}");
    }

    #[test]
    fn kt_11_2_the_receiver_answers_by_the_transfer_id() {
        let accept = post(&[("action", "accept"), ("transfer_id", "t-1")]);
        assert_eq!(
            body(&accept).unwrap(),
            json!({"action": "accept", "transfer_id": "t-1"})
        );
        let forward = post(&[
            ("action", "forward"),
            ("transfer_id", "t-1"),
            ("to", "000.03.01.H33"),
        ]);
        assert_eq!(body(&forward).unwrap()["to"], "000.03.01.H33");
        let reject = post(&[
            ("action", "reject"),
            ("transfer_id", "t-1"),
            ("reason", " "),
        ]);
        assert_eq!(body(&reject).unwrap_err().rule(), "portal:missing-field");
    }

    #[test]
    fn the_transfer_in_flight_is_read_from_the_history() {
        let sent = json!([
            {"event_type": "dossier.DossierOpened", "diff": []},
            {"event_type": "dossier.TransferInitiated", "diff": [{"transfer": "t-1", "to": "EDU"}]},
        ]);
        assert_eq!(
            in_flight(&sent),
            Some(InFlight::Pending {
                transfer_id: "t-1".into(),
                to: "EDU".into()
            })
        );
        let mut h = sent.as_array().cloned().unwrap_or_default();
        h.push(json!({"event_type": "dossier.TransferAccepted", "diff": []}));
        assert_eq!(
            in_flight(&Value::Array(h.clone())),
            Some(InFlight::Accepted {
                transfer_id: "t-1".into()
            })
        );
        h.push(json!({"event_type": "dossier.TransferForwarded", "diff": []}));
        assert_eq!(in_flight(&Value::Array(h)), None);
        let mut r = sent.as_array().cloned().unwrap_or_default();
        r.push(json!({"event_type": "dossier.TransferRejected", "diff": []}));
        assert_eq!(in_flight(&Value::Array(r)), None);
    }
}

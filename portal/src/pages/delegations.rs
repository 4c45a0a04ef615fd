//! A head's delegations of approval power to a deputy (KT 8.1): the ones
//! given, in force or ended, a form to delegate for a period (over the
//! head's whole unit or some of its units, all categories or some) under a
//! written decision, and ending one before its term. Only the head delegates
//! their own power, to a staff account of their unit; the API decides. The
//! deputy is picked by name among the accounts the API lists for the head
//! (`GET /accounts/me/delegates`), not typed as an account id, and the units
//! a delegation may be limited to are ticked by name among those of the
//! head's own subtree (`GET /org-units/{code}/tree`).

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::Portal;
use crate::call::Refusal;
use crate::format;
use crate::page::{csrf, page, refusal_box};
use crate::session::{CSRF_FIELD, Viewer};
use crate::units::{Tree, Units};
use crate::words;

use super::forms::{self, date_input, input, refuse, required, required_date, text};
use super::{Fields, field, fields};

const TITLE: &str = "Ủy quyền phê duyệt";

/// The categories a delegation may be limited to, as the API spells them.
const CATEGORIES: [&str; 4] = ["can_bo", "cong_chuc", "vien_chuc", "nguoi_lao_dong"];

/// The API's body for `POST /accounts/{me}/changes` from the form.
pub(crate) fn body(f: &Fields) -> Result<Value, Refusal> {
    match text(f, "action") {
        "delegate" => {
            // Ticked boxes send a code each; the typed field (shown when the
            // subtree could not be listed) sends them separated.
            let org_codes: Vec<&str> = fields(f, "org_codes")
                .into_iter()
                .flat_map(|v| v.split([',', ';', ' ', '\n']))
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            Ok(json!({
                "action": "delegate",
                "to_account": required(f, "to_account", "Người được ủy quyền")?,
                "valid_from": required_date(f, "valid_from", "Từ ngày")?,
                "valid_until": required_date(f, "valid_until", "Đến ngày")?,
                "org_codes": org_codes,
                "categories": fields(f, "categories"),
                "decision": forms::document(f)?,
            }))
        }
        "end" => Ok(json!({
            "action": "revoke_delegation",
            "delegation_id": required(f, "delegation_id", "Mã ủy quyền")?,
            "reason": required(f, "reason", "Lý do chấm dứt")?,
        })),
        other => Err(refuse("missing-field", format!("thao tác \"{other}\""))),
    }
}

/// The accounts the head may delegate to, as the API lists them, by given name.
async fn deputies(p: &Portal, v: &Viewer) -> Result<Vec<Value>, Refusal> {
    let listed = p.api.get(&v.who, "/accounts/me/delegates").await?;
    let mut out = listed.as_array().cloned().unwrap_or_default();
    out.sort_by_key(|a| format::name_key(a["display_name"].as_str().unwrap_or("")));
    Ok(out)
}

/// The units of the head's own subtree today (the head's unit first), from
/// the province's tree: delegating needs no right over a unit, so the
/// scope-checked subtree route would refuse a head holding none (and record
/// the refusal as a security attempt). Nothing to offer when the tree cannot
/// be read: the form then takes typed codes.
async fn scope(p: &Portal, v: &Viewer) -> Result<Vec<Value>, Refusal> {
    let unit = v.unit();
    let tree = Tree::of(p, v).await;
    let mut out: Vec<Value> = tree.part(&[unit], true).into_iter().cloned().collect();
    if out.is_empty() {
        return Err(Refusal::internal("the organisation tree could not be read"));
    }
    out.sort_by_key(|u| {
        (
            u["code"].as_str() != Some(unit),
            u["code"].as_str().map(str::to_owned),
        )
    });
    Ok(out)
}

/// Names of the units a page shows: the subtree's, and any a delegation names
/// that is no longer in it (merged away, say).
async fn unit_names(p: &Portal, v: &Viewer, scope: &Result<Vec<Value>, Refusal>) -> Units {
    let mut units = Units::default();
    if let Ok(list) = scope {
        units.add_nodes(list);
    }
    let empty = serde_json::Map::new();
    let named: Vec<&str> = v.me["delegations"]
        .as_object()
        .unwrap_or(&empty)
        .values()
        .flat_map(|d| d["org_codes"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .filter(|c| units.name(c).is_none())
        .collect();
    if !named.is_empty() {
        units.add_all(Units::of(p, v, &named).await);
    }
    units
}

/// A deputy in words: name, login name, and whether they can sign yet.
fn deputy_words(a: &Value) -> String {
    let mut w = format!(
        "{} ({})",
        a["display_name"].as_str().unwrap_or(""),
        a["username"].as_str().unwrap_or("")
    );
    if a["keys"].as_array().is_none_or(Vec::is_empty) {
        w.push_str(" — chưa đăng ký khóa ký số");
    }
    w
}

fn given(v: &Viewer, deputies: &[Value], units: &Units) -> Markup {
    let empty = serde_json::Map::new();
    let list = v.me["delegations"].as_object().unwrap_or(&empty);
    html! {
        h2 { "Các lần ủy quyền" }
        @if list.is_empty() { p.hint { "Chưa ủy quyền lần nào." } }
        @else {
            div.scroll {
                table #delegations {
                    thead { tr {
                        th scope="col" { "Người được ủy quyền" }
                        th scope="col" { "Thời hạn" }
                        th scope="col" { "Phạm vi" }
                        th scope="col" { "Tình trạng" }
                        th scope="col" { "Chấm dứt" }
                    } }
                    tbody {
                        @for (i, (id, d)) in list.iter().enumerate() {
                            tr {
                                @let to = d["to_account"].as_str().unwrap_or("");
                                td {
                                    @match deputies.iter().find(|a| a["id"].as_str() == Some(to)) {
                                        Some(a) => { (a["display_name"].as_str().unwrap_or("")) " (" (a["username"].as_str().unwrap_or("")) ")" },
                                        None => { code { (to) } },
                                    }
                                }
                                td {
                                    (format::date(d["valid_from"].as_str().unwrap_or(""))) " – "
                                    (format::date(d["valid_until"].as_str().unwrap_or("")))
                                }
                                td {
                                    @let names = units;
                                    @let units = d["org_codes"].as_array().cloned().unwrap_or_default();
                                    @let cats = d["categories"].as_array().cloned().unwrap_or_default();
                                    @if units.is_empty() { "Toàn đơn vị" }
                                    @else {
                                        @for (j, u) in units.iter().enumerate() {
                                            @if j > 0 { ", " }
                                            (names.show_value(u))
                                        }
                                    }
                                    "; "
                                    @if cats.is_empty() { "mọi đối tượng" }
                                    @else { (cats.iter().filter_map(Value::as_str).map(words::category).collect::<Vec<_>>().join(", ")) }
                                }
                                td {
                                    @if d["revoked"] == true { "Đã chấm dứt" }
                                    @else if d["in_force"] == true { strong.ok { "Đang có hiệu lực" } }
                                    @else { "Không có hiệu lực hôm nay" }
                                }
                                td {
                                    @if d["revoked"] != true {
                                        form.inline method="post" action="/delegations" {
                                            (csrf(v))
                                            input type="hidden" name="action" value="end";
                                            input type="hidden" name="delegation_id" value=(id);
                                            div {
                                                label for={ "reason-" (i) } { "Lý do" }
                                                input id={ "reason-" (i) } type="text" name="reason" required;
                                            }
                                            div { button.danger type="submit" { "Chấm dứt ủy quyền" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The deputy's field: a choice among the accounts the API lists, or, when
/// it lists none or refuses, why (and the form is not offered).
fn deputy_field(f: &Fields, deputies: &Result<Vec<Value>, Refusal>) -> Markup {
    let chosen = text(f, "to_account");
    html! {
        @match deputies {
            Err(r) => { (refusal_box(r)) },
            Ok(list) if list.is_empty() => {
                p.refusal { "Đơn vị chưa có tài khoản cán bộ nào (ngoài tài khoản của mình) để ủy quyền; quản trị cơ quan cấp tài khoản cho cấp phó trước." }
            },
            Ok(list) => {
                div {
                    label for="to_account" { "Người được ủy quyền" span.hint { " — bắt buộc" } }
                    select #to_account name="to_account" required {
                        option value="" { "— Chọn cán bộ của đơn vị —" }
                        @for a in list {
                            @let id = a["id"].as_str().unwrap_or("");
                            option value=(id) selected[id == chosen] { (deputy_words(a)) }
                        }
                    }
                }
            },
        }
    }
}

/// The units a delegation may be limited to: a box per unit of the head's
/// subtree, by name; none when the head's unit has no units under it (the
/// delegation covers it whole); the typed codes when the subtree could not be
/// listed.
fn units_field(f: &Fields, scope: &Result<Vec<Value>, Refusal>) -> Markup {
    let ticked: Vec<&str> = fields(f, "org_codes");
    // A form shown again keeps every unit it was sent with, listed or not:
    // dropping one would widen the delegation, up to the whole unit.
    let listed = |code: &str| {
        scope
            .as_ref()
            .is_ok_and(|l| l.iter().any(|u| u["code"].as_str() == Some(code)))
    };
    let unlisted: Vec<&str> = ticked.iter().copied().filter(|c| !listed(c)).collect();
    let typed: Fields = vec![("org_codes".to_owned(), ticked.join(", "))];
    html! {
        @match scope {
            Ok(list) if list.len() <= 1 && unlisted.is_empty() => {},
            Ok(list) => {
                fieldset #org_codes {
                    legend { "Đơn vị được ủy quyền " span.hint { "(không chọn: toàn đơn vị)" } }
                    @for (i, u) in list.iter().enumerate() {
                        @let code = u["code"].as_str().unwrap_or("");
                        div {
                            input type="checkbox" name="org_codes" value=(code) id={ "unit-" (i) } checked[ticked.contains(&code)];
                            " " label.inline for={ "unit-" (i) } {
                                (u["name"].as_str().unwrap_or(code)) " " small.code { (code) }
                            }
                        }
                    }
                    @for (i, code) in unlisted.iter().enumerate() {
                        div {
                            input type="checkbox" name="org_codes" value=(code) id={ "unit-x" (i) } checked;
                            " " label.inline for={ "unit-x" (i) } { code { (code) } }
                        }
                    }
                }
            },
            Err(_) => {
                (input(&typed, "org_codes", "Mã các đơn vị được ủy quyền", "cách nhau bởi dấu phẩy; để trống: toàn đơn vị", false))
            },
        }
    }
}

fn the_form(
    v: &Viewer,
    f: &Fields,
    deputies: &Result<Vec<Value>, Refusal>,
    scope: &Result<Vec<Value>, Refusal>,
) -> Markup {
    let chosen = fields(f, "categories");
    let can = deputies.as_ref().is_ok_and(|l| !l.is_empty());
    html! {
        h2 { "Ủy quyền mới" }
        p.hint { "Người được ủy quyền ký phê duyệt thay trong thời hạn và phạm vi dưới đây, bằng khóa ký số của chính họ (KT 8.1). Chỉ ủy quyền cho tài khoản cán bộ thuộc đơn vị mình." }
        form.stack method="post" action="/delegations" {
            (csrf(v))
            input type="hidden" name="action" value="delegate";
            (deputy_field(f, deputies))
            (date_input(f, "valid_from", "Từ ngày", true))
            (date_input(f, "valid_until", "Đến ngày", true))
            (units_field(f, scope))
            fieldset {
                legend { "Đối tượng " span.hint { "(không chọn: mọi đối tượng)" } }
                @for (i, c) in CATEGORIES.iter().enumerate() {
                    div {
                        input type="checkbox" name="categories" value=(c) id={ "cat-" (i) } checked[chosen.contains(c)];
                        " " label.inline for={ "cat-" (i) } { (words::category(c)) }
                    }
                }
            }
            fieldset {
                legend { "Văn bản ủy quyền" }
                (input(f, "doc_number", "Số văn bản", "ví dụ 12/QĐ-SYT", true))
                (date_input(f, "doc_date", "Ngày ký", true))
                (input(f, "doc_issuer", "Cơ quan ban hành", "", true))
            }
            div { button type="submit" disabled[!can] { "Ủy quyền" } }
        }
    }
}

/// `GET /delegations`.
pub(crate) async fn show(State(p): State<Arc<Portal>>, v: Viewer) -> Response {
    let deputies = deputies(&p, &v).await;
    let listed = deputies.as_deref().unwrap_or_default();
    let scope = scope(&p, &v).await;
    let units = unit_names(&p, &v, &scope).await;
    let body = html! {
        (given(&v, listed, &units))
        (the_form(&v, &Fields::new(), &deputies, &scope))
    };
    page(&v, TITLE, body)
}

/// `POST /delegations`.
pub(crate) async fn submit(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = v.check(&headers, field(&f, CSRF_FIELD)) {
        return r;
    }
    let me = v.me["id"].as_str().unwrap_or("");
    let answer = match body(&f) {
        Ok(_) if me.is_empty() || me.contains('/') => {
            Err(Refusal::internal("the API named no account"))
        }
        Ok(b) => {
            p.api
                .json(&v.who, Method::POST, &format!("/accounts/{me}/changes"), &b)
                .await
        }
        Err(r) => Err(r),
    };
    match answer {
        // The account's changes are read from the write side, current at once.
        Ok(_) => Redirect::to("/delegations").into_response(),
        Err(r) => {
            let typed = if text(&f, "action") == "delegate" {
                f.clone()
            } else {
                Fields::new()
            };
            let deputies = deputies(&p, &v).await;
            let listed = deputies.as_deref().unwrap_or_default();
            let scope = scope(&p, &v).await;
            let units = unit_names(&p, &v, &scope).await;
            forms::refused_form(
                &v,
                TITLE,
                &r,
                html! { (given(&v, listed, &units)) (the_form(&v, &typed, &deputies, &scope)) },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::forms::tests::post;

    #[test]
    fn kt_8_1_a_delegation_names_deputy_period_scope_and_decision() {
        let f = post(&[
            ("action", "delegate"),
            ("to_account", "acc-2"),
            ("valid_from", "01/05/2026"),
            ("valid_until", "31/05/2026"),
            ("org_codes", "000.02.01.H33, 000.02.02.H33"),
            ("categories", "vien_chuc"),
            ("doc_number", "12/QĐ-SYT"),
            ("doc_date", "28/04/2026"),
            ("doc_issuer", "Sở Y tế"),
        ]);
        assert_eq!(
            body(&f).unwrap(),
            json!({"action": "delegate", "to_account": "acc-2", "valid_from": "2026-05-01",
                   "valid_until": "2026-05-31", "org_codes": ["000.02.01.H33", "000.02.02.H33"],
                   "categories": ["vien_chuc"],
                   "decision": {"number": "12/QĐ-SYT", "date": "2026-04-28", "issuer": "Sở Y tế"}})
        );
    }

    #[test]
    fn kt_8_1_a_delegation_limited_to_ticked_units() {
        let f = post(&[
            ("action", "delegate"),
            ("to_account", "acc-2"),
            ("valid_from", "01/05/2026"),
            ("valid_until", "31/05/2026"),
            ("org_codes", "000.02.01.H33"),
            ("org_codes", "000.02.02.H33"),
            ("doc_number", "12/QĐ-SYT"),
            ("doc_date", "28/04/2026"),
            ("doc_issuer", "Sở Y tế"),
        ]);
        assert_eq!(
            body(&f).unwrap()["org_codes"],
            json!(["000.02.01.H33", "000.02.02.H33"])
        );
    }

    #[test]
    fn kt_8_1_a_refused_delegation_keeps_every_unit_it_was_sent_with() {
        let f = post(&[
            ("org_codes", "000.02.01.H33"),
            ("org_codes", "000.02.09.H33"),
        ]);
        let scope: Result<Vec<Value>, Refusal> = Ok(vec![
            json!({"code": "000.02.00.H33", "name": "Sở Tài chính"}),
            json!({"code": "000.02.01.H33", "name": "Văn phòng"}),
        ]);
        let shown = units_field(&f, &scope).into_string();
        assert!(
            shown.contains(r#"value="000.02.01.H33" id="unit-1" checked"#),
            "{shown}"
        );
        assert!(
            shown.contains(r#"value="000.02.09.H33" id="unit-x0" checked"#),
            "a unit no longer listed stays ticked: {shown}"
        );
        let typed = units_field(&f, &Err(Refusal::internal("no tree"))).into_string();
        assert!(
            typed.contains(r#"value="000.02.01.H33, 000.02.09.H33""#),
            "every code typed again: {typed}"
        );
    }

    #[test]
    fn kt_8_1_ending_a_delegation_says_why() {
        let f = post(&[
            ("action", "end"),
            ("delegation_id", "d-1"),
            ("reason", "Đã trở lại"),
        ]);
        assert_eq!(
            body(&f).unwrap(),
            json!({"action": "revoke_delegation", "delegation_id": "d-1", "reason": "Đã trở lại"})
        );
        let f = post(&[("action", "end"), ("delegation_id", "d-1")]);
        assert_eq!(body(&f).unwrap_err().rule(), "portal:missing-field");
    }
}

//! Decisions of the state about a person — appointment, rank, salary,
//! allowance, award, discipline, training, evaluation, planning — recorded
//! by the managing unit with the decision and its scan (DL 9.2b, BT 6.3).
//! One page, a form per kind chosen at its top; each form is described once
//! ([`specs`]) and both drawn and read from that description, so what is
//! shown and what is sent cannot disagree.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::Portal;
use crate::call::Refusal;
use crate::page::{csrf, page, refused_page};
use crate::session::Viewer;
use crate::units::{self, Tree};
use crate::words;

use super::Fields;
use super::forms::{self, date_input, document_inputs, input, refuse, required_date, text};

/// The kinds, as the API's `kind` spells them, in the order offered.
pub(crate) const KINDS: [&str; 9] = [
    "appointment",
    "rank",
    "salary",
    "allowance",
    "award",
    "discipline",
    "training",
    "evaluation",
    "planning",
];

/// How one member of a decision is typed.
#[derive(Debug, Clone, Copy)]
enum Typed {
    /// Text; required or not, with a hint.
    Text(bool, &'static str),
    /// A date dd/mm/yyyy; required or not.
    Date(bool),
    /// One of the values listed by `words::decision_values` under this key.
    Choice(&'static str),
    /// A whole number (a year, a step).
    Whole,
    /// A coefficient typed `2,34`, sent in hundredths.
    Hundredths,
    /// An allowance's amount: a unit and a value; none ends the allowance.
    Amount,
    /// A unit's code, optional, with a hint: the province's units are offered
    /// by name.
    Unit(&'static str),
}

/// One member of a decision: its name in the API's body (and the form's),
/// its label, how it is typed.
#[derive(Debug, Clone, Copy)]
struct Spec {
    member: &'static str,
    label: &'static str,
    typed: Typed,
}

const fn s(member: &'static str, label: &'static str, typed: Typed) -> Spec {
    Spec {
        member,
        label,
        typed,
    }
}

/// The members of each kind, besides `effective` and `document`.
fn specs(kind: &str) -> Option<&'static [Spec]> {
    use Typed::{Amount, Choice, Date, Hundredths, Text, Unit, Whole};
    Some(match kind {
        "appointment" => {
            const SPECS: &[Spec] = &[
                s("appointment_kind", "Hình thức", Choice("appointment_kind")),
                s(
                    "position_title",
                    "Chức vụ",
                    Text(true, "ví dụ Trưởng phòng"),
                ),
                s(
                    "org_code",
                    "Đơn vị của chức vụ",
                    Unit("nếu khác đơn vị sử dụng; gõ tên hoặc mã"),
                ),
                s("term_end", "Hết thời hạn giữ chức vụ", Date(false)),
            ];
            SPECS
        }
        "rank" => {
            const SPECS: &[Spec] = &[
                s("rank_change_kind", "Hình thức", Choice("rank_change_kind")),
                s(
                    "rank_code",
                    "Mã ngạch, chức danh",
                    Text(true, "ví dụ 01.003 hoặc V.07.04.31"),
                ),
                s("rank_name", "Tên ngạch, chức danh", Text(false, "")),
            ];
            SPECS
        }
        "salary" => {
            const SPECS: &[Spec] = &[
                s(
                    "rank_code",
                    "Mã ngạch của thang lương",
                    Text(true, "ví dụ 01.003"),
                ),
                s("step", "Bậc", Whole),
                s("coefficient_x100", "Hệ số lương", Hundredths),
                s("salary_group", "Nhóm ngạch", Text(false, "ví dụ A1")),
            ];
            SPECS
        }
        "allowance" => {
            const SPECS: &[Spec] = &[
                s("allowance_kind", "Loại phụ cấp", Choice("allowance_kind")),
                s(
                    "name",
                    "Tên phụ cấp theo quyết định",
                    Text(false, "bắt buộc với phụ cấp khác"),
                ),
                s("amount", "Mức phụ cấp", Amount),
            ];
            SPECS
        }
        "award" => {
            const SPECS: &[Spec] = &[
                s(
                    "form",
                    "Hình thức khen thưởng",
                    Text(true, "ví dụ Bằng khen của Chủ tịch UBND tỉnh"),
                ),
                s("reason", "Thành tích", Text(false, "")),
                s("year", "Năm", Whole),
            ];
            SPECS
        }
        "discipline" => {
            const SPECS: &[Spec] = &[
                s("form", "Hình thức kỷ luật", Choice("discipline_form")),
                s(
                    "body",
                    "Cơ quan, tổ chức kỷ luật",
                    Choice("discipline_body"),
                ),
                s(
                    "reason",
                    "Lý do",
                    Text(false, "thông tin hạn chế, được niêm phong"),
                ),
                s("until", "Hết thời hạn kỷ luật", Date(false)),
            ];
            SPECS
        }
        "training" => {
            const SPECS: &[Spec] = &[
                s("institution", "Cơ sở đào tạo", Text(true, "")),
                s("major", "Chuyên ngành", Text(false, "")),
                s("from", "Từ ngày", Date(false)),
                s("until", "Đến ngày", Date(false)),
                s("mode", "Hình thức đào tạo", Choice("training_mode")),
                s(
                    "qualification",
                    "Văn bằng, chứng chỉ, trình độ",
                    Text(false, ""),
                ),
            ];
            SPECS
        }
        "evaluation" => {
            const SPECS: &[Spec] = &[
                s("year", "Năm đánh giá", Whole),
                s("grade", "Xếp loại", Choice("grade")),
                s("comments", "Nhận xét", Text(false, "")),
            ];
            SPECS
        }
        "planning" => {
            const SPECS: &[Spec] = &[
                s("position_title", "Chức danh quy hoạch", Text(true, "")),
                s("org_code", "Đơn vị của chức danh", Unit("gõ tên hoặc mã")),
                s("from_year", "Từ năm", Whole),
                s("until_year", "Đến năm", Whole),
            ];
            SPECS
        }
        _ => return None,
    })
}

/// The units an allowance's amount may be given in, as the API names them.
const AMOUNT_UNITS: [(&str, &str); 4] = [
    ("", "Không có (chấm dứt phụ cấp)"),
    ("coefficient_x100", "Hệ số (ví dụ 0,25)"),
    ("percent_x100", "Phần trăm (ví dụ 7 hoặc 7,5)"),
    ("amount_vnd", "Số tiền (đồng)"),
];

/// The API's body for `POST /dossiers/{id}/decisions` of `kind` from the form.
pub(crate) fn body(kind: &str, f: &Fields) -> Result<Value, Refusal> {
    let specs = specs(kind)
        .ok_or_else(|| refuse("missing-field", format!("loại quyết định \"{kind}\"")))?;
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    for spec in specs {
        let value = match spec.typed {
            Typed::Text(true, _) => json!(forms::required(f, spec.member, spec.label)?),
            Typed::Text(false, _) | Typed::Unit(_) => json!(text(f, spec.member)),
            Typed::Date(_) => match forms::date(f, spec.member, spec.label)? {
                Some(d) => json!(d),
                None => continue,
            },
            Typed::Choice(_) => json!(forms::required(f, spec.member, spec.label)?),
            Typed::Whole => json!(forms::number(f, spec.member, spec.label)?),
            Typed::Hundredths => json!(forms::hundredths(f, spec.member, spec.label)?),
            Typed::Amount => match text(f, "amount_unit") {
                "" => continue,
                "amount_vnd" => json!({"amount_vnd": forms::number(f, "amount", spec.label)?}),
                unit @ ("coefficient_x100" | "percent_x100") => {
                    json!({ unit: forms::hundredths(f, "amount", spec.label)? })
                }
                other => return Err(refuse("missing-field", format!("đơn vị \"{other}\""))),
            },
        };
        out.insert(spec.member.into(), value);
    }
    out.insert(
        "effective".into(),
        json!(required_date(f, "effective", "Ngày có hiệu lực")?),
    );
    out.insert("document".into(), forms::document(f)?);
    Ok(Value::Object(out))
}

fn spec_input(f: &Fields, spec: &Spec, units: Option<&str>) -> Markup {
    match spec.typed {
        Typed::Text(req, hint) => input(f, spec.member, spec.label, hint, req),
        Typed::Unit(hint) => {
            forms::input_listed("", f, spec.member, spec.label, hint, false, units)
        }
        Typed::Date(req) => date_input(f, spec.member, spec.label, req),
        Typed::Choice(key) => {
            forms::select(f, spec.member, spec.label, words::decision_values(key))
        }
        Typed::Whole => input(f, spec.member, spec.label, "số", true),
        Typed::Hundredths => input(f, spec.member, spec.label, "ví dụ 2,34", true),
        Typed::Amount => html! {
            (forms::select(f, "amount_unit", "Đơn vị của mức phụ cấp", &AMOUNT_UNITS))
            (input(f, "amount", spec.label, "bỏ trống khi chấm dứt phụ cấp", false))
        },
    }
}

/// The id of the datalist of the province's units.
const UNITS: &str = "units";

fn the_form(v: &Viewer, id: &str, kind: &str, f: &Fields, tree: &Tree) -> Markup {
    let specs = specs(kind).unwrap_or(&[]);
    let (datalist, units) = if asks_unit(kind) {
        units::offer(UNITS, &tree.all())
    } else {
        (Markup::default(), None)
    };
    html! {
        p { a href={ "/dossiers/" (id) } { "← Về hồ sơ" } }
        nav.actions aria-label="Loại quyết định" {
            @for k in KINDS {
                @if k == kind { strong aria-current="page" { (words::decision_kind(k)) } }
                @else { a href={ "/dossiers/" (id) "/decisions?kind=" (k) } { (words::decision_kind(k)) } }
            }
        }
        h2 { (words::decision_kind(kind)) }
        form.stack #decision-form method="post" action={ "/dossiers/" (id) "/decisions" } {
            (csrf(v))
            input type="hidden" name="kind" value=(kind);
            @for spec in specs { (spec_input(f, spec, units)) }
            (date_input(f, "effective", "Ngày có hiệu lực", true))
            (document_inputs(f))
        }
        // The scan is uploaded before the form is sent: its button comes
        // after the upload (it belongs to the form by its `form` attribute).
        (forms::upload(v, id, "decision-form"))
        div.submit { button type="submit" form="decision-form" { "Cập nhật quyết định vào hồ sơ" } }
        (datalist)
    }
}

const TITLE: &str = "Cập nhật quyết định";

/// Whether the form of `kind` names a unit.
fn asks_unit(kind: &str) -> bool {
    specs(kind)
        .unwrap_or(&[])
        .iter()
        .any(|s| matches!(s.typed, Typed::Unit(_)))
}

/// The province's tree, read only for a kind whose form names a unit.
async fn unit_tree(p: &Portal, v: &Viewer, kind: &str) -> Tree {
    if asks_unit(kind) {
        Tree::of(p, v).await
    } else {
        Tree::default()
    }
}

/// `GET /dossiers/{id}/decisions?kind=`.
pub(crate) async fn form(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<super::Query>,
) -> Response {
    let Some(id) = super::dossier_id(&id) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let kind = q
        .get("kind")
        .map(String::as_str)
        .filter(|k| KINDS.contains(k))
        .unwrap_or(KINDS[0]);
    let d = match p.api.get(&v.who, &format!("/dossiers/{id}")).await {
        Ok(d) => d,
        Err(r) => return refused_page(Some(&v), &r),
    };
    // A salary step is on the scale of the person's current rank: its code
    // is filled in (still editable, for a step on a new rank).
    let mut f = Fields::new();
    if kind == "salary"
        && let Some(code) = d["rank"]["value"]["code"].as_str()
    {
        f.push(("rank_code".to_owned(), code.to_owned()));
    }
    let tree = unit_tree(&p, &v, kind).await;
    let body = html! {
        p { strong { (d["full_name"].as_str().unwrap_or("")) } }
        (the_form(&v, id, kind, &f, &tree))
    };
    page(&v, TITLE, body)
}

/// `POST /dossiers/{id}/decisions`.
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
    let kind = text(&f, "kind");
    let kind = KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or(KINDS[0]);
    let answer = match body(kind, &f) {
        Ok(b) => {
            p.api
                .json(
                    &v.who,
                    Method::POST,
                    &format!("/dossiers/{id}/decisions"),
                    &b,
                )
                .await
        }
        Err(r) => Err(r),
    };
    match answer {
        Ok(r) => forms::to_dossier(&v, id, &r),
        Err(r) => {
            let tree = unit_tree(&p, &v, kind).await;
            forms::refused_form(&v, TITLE, &r, the_form(&v, id, kind, &f, &tree))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::forms::tests::post;

    #[test]
    fn a_position_or_planning_unit_is_offered_by_name_and_sent_as_its_code() {
        let tree = Tree::from_nodes(vec![
            json!({"code": "000.04.00.H33", "name": "Sở Y tế", "parent": null}),
            json!({"code": "001.04.00.H33", "name": "Văn phòng Sở Y tế", "parent": "000.04.00.H33"}),
        ]);
        let v = Viewer::for_tests(json!({}));
        for kind in ["appointment", "planning"] {
            let form = the_form(&v, "d-1", kind, &Fields::new(), &tree).into_string();
            assert!(
                form.contains(r#"name="org_code" value="" list="units""#),
                "{form}"
            );
            assert!(
                form.contains(r#"<option value="001.04.00.H33">Văn phòng Sở Y tế</option>"#),
                "{form}"
            );
        }
        let rank = the_form(&v, "d-1", "rank", &Fields::new(), &tree).into_string();
        assert!(!rank.contains("datalist"), "{rank}");
        let f = with_document(&[
            ("position_title", "Phó Chánh Văn phòng"),
            ("org_code", "001.04.00.H33"),
            ("from_year", "2026"),
            ("until_year", "2031"),
        ]);
        assert_eq!(body("planning", &f).unwrap()["org_code"], "001.04.00.H33");
    }

    fn with_document(pairs: &[(&str, &str)]) -> Fields {
        let mut f = post(pairs);
        f.extend(post(&[
            ("effective", "01/04/2026"),
            ("doc_number", "7/QĐ-SYT"),
            ("doc_date", "30/03/2026"),
            ("doc_issuer", "Sở Y tế"),
        ]));
        f
    }

    #[test]
    fn every_kind_is_described_and_every_choice_has_values() {
        for kind in KINDS {
            let specs = specs(kind).unwrap();
            assert_ne!(words::decision_kind(kind), kind);
            for spec in specs {
                if let Typed::Choice(key) = spec.typed {
                    assert!(!words::decision_values(key).is_empty(), "{kind}.{key}");
                }
            }
        }
    }

    #[test]
    fn a_salary_coefficient_typed_with_a_comma_is_sent_in_hundredths() {
        let f = with_document(&[
            ("rank_code", "V.08.05.12"),
            ("step", "3"),
            ("coefficient_x100", "2,67"),
            ("salary_group", ""),
        ]);
        assert_eq!(
            body("salary", &f).unwrap(),
            json!({"kind": "salary", "rank_code": "V.08.05.12", "step": 3, "coefficient_x100": 267,
                   "salary_group": "", "effective": "2026-04-01",
                   "document": {"number": "7/QĐ-SYT", "date": "2026-03-30", "issuer": "Sở Y tế"}})
        );
    }

    #[test]
    fn an_allowance_without_an_amount_ends_it() {
        let f = with_document(&[
            ("allowance_kind", "position"),
            ("name", ""),
            ("amount_unit", ""),
        ]);
        let b = body("allowance", &f).unwrap();
        assert!(b.get("amount").is_none(), "{b}");
        let f = with_document(&[
            ("allowance_kind", "professional_preference"),
            ("amount_unit", "percent_x100"),
            ("amount", "7,5"),
        ]);
        assert_eq!(
            body("allowance", &f).unwrap()["amount"],
            json!({"percent_x100": 750})
        );
    }

    #[test]
    fn optional_dates_are_left_out_and_typed_ones_sent_as_iso() {
        let f = with_document(&[
            ("form", "warning"),
            ("body", "government"),
            ("reason", "vi phạm"),
            ("until", "31/03/2027"),
        ]);
        let b = body("discipline", &f).unwrap();
        assert_eq!(b["until"], "2027-03-31");
        assert_eq!(b["form"], "warning");
        let f = with_document(&[
            ("appointment_kind", "appointed"),
            ("position_title", "Trưởng khoa"),
        ]);
        let b = body("appointment", &f).unwrap();
        assert!(b.get("term_end").is_none(), "{b}");
        assert_eq!(b["org_code"], "");
    }

    #[test]
    fn a_year_that_is_not_a_number_is_refused_in_words() {
        let f = with_document(&[("year", "hai nghìn"), ("grade", "good")]);
        let r = body("evaluation", &f).unwrap_err();
        assert_eq!(r.rule(), "portal:bad-number");
        assert!(words::refusal(r.rule()).is_some());
    }
}

//! The work waiting for the visitor: the reviewer's queue (declarations to
//! verify and lock, with each dossier's open deadlines in working days and the
//! overdue marked) and the head's approval queue (locked dossiers, with this
//! month's approval windows). Both are searches in the visitor's scope, by
//! review state, joined with the SLA report of the same units.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use crate::Portal;
use crate::call::Refusal;
use crate::format;
use crate::page::{page, refusal_box};
use crate::session::Viewer;
use crate::units::Units;
use crate::words;

/// The units the visitor holds a right over.
fn granted_units(v: &Viewer) -> Vec<String> {
    v.me["grants"]
        .as_object()
        .map(|g| g.keys().cloned().collect())
        .unwrap_or_default()
}

/// Dossiers in `states` under the visitor's units, each once, by given name.
async fn in_states(p: &Portal, v: &Viewer, states: &[&str]) -> Result<Vec<Value>, Refusal> {
    let mut seen = HashMap::new();
    for unit in granted_units(v) {
        for state in states {
            let mut after: Option<String> = None;
            loop {
                let mut q = vec![
                    ("unit", unit.as_str()),
                    ("workflow", state),
                    ("limit", "500"),
                ];
                if let Some(a) = &after {
                    q.push(("after", a));
                }
                let qs = serde_urlencoded::to_string(&q).unwrap_or_default();
                let hits = p.api.get(&v.who, &format!("/dossiers?{qs}")).await?;
                for h in hits["items"].as_array().into_iter().flatten() {
                    if let Some(id) = h["id"].as_str() {
                        seen.entry(id.to_owned()).or_insert_with(|| h.clone());
                    }
                }
                match hits["next"].as_str() {
                    Some(n) => after = Some(n.to_owned()),
                    None => break,
                }
            }
        }
    }
    let mut out: Vec<Value> = seen.into_values().collect();
    out.sort_by_key(|h| format::name_key(h["full_name"].as_str().unwrap_or("")));
    Ok(out)
}

/// Open obligations of the visitor's units, by dossier.
async fn deadlines(p: &Portal, v: &Viewer) -> HashMap<String, Vec<Value>> {
    let mut by_dossier: HashMap<String, Vec<Value>> = HashMap::new();
    for unit in granted_units(v) {
        let q = serde_urlencoded::to_string([("org", unit.as_str())]).unwrap_or_default();
        // A unit the visitor cannot report on still has its queue; its
        // deadlines are only not shown.
        if let Ok(r) = p.api.get(&v.who, &format!("/reports/sla?{q}")).await {
            for o in r["open"].as_array().into_iter().flatten() {
                if let Some(id) = o["dossier_id"].as_str() {
                    let list = by_dossier.entry(id.to_owned()).or_default();
                    if !list.contains(o) {
                        list.push(o.clone());
                    }
                }
            }
        }
    }
    by_dossier
}

/// Open obligations as the API gives them (`OpenObligation`), each with its
/// due date and, when past it, the working days overdue, marked.
pub(crate) fn deadline_list(open: &[Value]) -> Markup {
    html! {
        ul.deadlines {
            @for o in open {
                @let late = o["overdue_working_days"].as_u64().unwrap_or(0);
                li.overdue[late > 0] {
                    (words::obligation(o["obligation"].as_str().unwrap_or("")))
                    ": hạn " (format::date(o["due"].as_str().unwrap_or("")))
                    @if late > 0 { " — quá hạn " (late) " ngày làm việc" }
                    " (" (o["citation"].as_str().unwrap_or("")) ")"
                }
            }
        }
    }
}

fn queue_table(
    id: &str,
    hits: &[Value],
    open: &HashMap<String, Vec<Value>>,
    units: &Units,
) -> Markup {
    html! {
        div.scroll {
            table id=(id) {
                thead {
                    tr {
                        th scope="col" { "Họ và tên" }
                        th scope="col" { "Đơn vị" }
                        th scope="col" { "Bước" }
                        th scope="col" { "Thời hạn (ngày làm việc)" }
                    }
                }
                tbody {
                    @for h in hits {
                        @let did = h["id"].as_str().unwrap_or("");
                        tr {
                            td { a href={ "/dossiers/" (did) } { (h["full_name"].as_str().unwrap_or("")) } }
                            td { (units.show_value(&h["managing_unit"])) }
                            td { (words::workflow(h["workflow"].as_str().unwrap_or(""))) }
                            td { @if let Some(o) = open.get(did) { (deadline_list(o)) } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /queue/review`.
pub(crate) async fn review(State(p): State<Arc<Portal>>, v: Viewer) -> Response {
    let hits = in_states(&p, &v, &["declaring", "verified"]).await;
    let open = deadlines(&p, &v).await;
    let units = Units::of_field(&p, &v, hits.as_deref().unwrap_or_default(), "managing_unit").await;
    let overdue = open
        .values()
        .flatten()
        .filter(|o| o["overdue_working_days"].as_u64().unwrap_or(0) > 0)
        .count();
    let body = html! {
        p { "Hôm nay: " (format::date(&p.state.today().to_string())) ". Thời hạn tính theo ngày làm việc của tỉnh (trừ ngày nghỉ lễ, Tết)." }
        @if overdue > 0 { p.overdue role="status" { "Có " (overdue) " việc đã quá hạn." } }
        @match hits {
            Err(r) => { (refusal_box(&r)) },
            Ok(hits) => {
                @if hits.is_empty() { p { "Không có bản kê khai nào đang chờ thẩm định." } }
                @else { (queue_table("review-queue", &hits, &open, &units)) }
            },
        }
    };
    page(&v, "Hàng chờ thẩm định", body)
}

/// `GET /queue/approvals`.
pub(crate) async fn approvals(State(p): State<Arc<Portal>>, v: Viewer) -> Response {
    let hits = in_states(&p, &v, &["locked"]).await;
    let open = deadlines(&p, &v).await;
    let units = Units::of_field(&p, &v, hits.as_deref().unwrap_or_default(), "managing_unit").await;
    let body = html! {
        (super::approve::windows(&p))
        @match hits {
            Err(r) => { (refusal_box(&r)) },
            Ok(hits) => {
                @if hits.is_empty() { p { "Không có hồ sơ nào đang chờ phê duyệt." } }
                @else { (queue_table("approval-queue", &hits, &open, &units)) }
            },
        }
    };
    page(&v, "Hồ sơ chờ phê duyệt", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_overdue_deadline_is_marked_with_its_working_days() {
        let open = [
            json!({"obligation": "review_new_dossier", "due": "2026-03-02",
                   "overdue_working_days": 3, "citation": "HY 10.3"}),
            json!({"obligation": "declare_new_dossier", "due": "2026-03-20",
                   "overdue_working_days": 0, "citation": "HY 10.1"}),
        ];
        let html = deadline_list(&open).into_string();
        assert!(
            html.contains(
                "<li class=\"overdue\">Thẩm định hồ sơ mới: hạn 02/03/2026 — quá hạn 3 ngày làm việc (HY 10.3)</li>"
            ),
            "{html}"
        );
        assert!(
            html.contains(">Kê khai hồ sơ mới: hạn 20/03/2026 (HY 10.1)</li>"),
            "{html}"
        );
        assert!(!html.contains("overdue\">Kê khai"), "not yet due: {html}");
    }
}

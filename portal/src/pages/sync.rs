//! The month's national sync batch, signed by the Sở Nội vụ director in the
//! browser: the page shows the statement the API proposes and its digest,
//! the director picks the key file they hold, the script signs the digest
//! with WebCrypto Ed25519 (as for an approval, `approve.rs`) and only the
//! signature is sent; the API checks it, the statement and its Merkle root
//! before sealing. Below, the delivery report of the sealed batches.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::Datelike;
use maud::{Markup, html};
use serde_json::{Value, json};

use crate::Portal;
use crate::format;
use crate::page::{csrf, item, page, refusal_box, refused_page};
use crate::session::{CSRF_FIELD, Viewer};

use super::{Fields, field};

/// The statement's fields, as the API names them; the numeric ones are sent
/// back as numbers.
const TEXT_FIELDS: [&str; 5] = [
    "format",
    "province",
    "month",
    "merkle_root",
    "previous_digest",
];
const NUMBER_FIELDS: [&str; 4] = ["sequence", "from_position", "to_position", "item_count"];

/// The statement a form posts back, as the API reads it; `None` when a
/// number is not one.
pub(crate) fn statement_of(f: &Fields) -> Option<Value> {
    let mut s = serde_json::Map::new();
    for k in TEXT_FIELDS {
        s.insert(k.to_owned(), json!(field(f, k).unwrap_or("")));
    }
    for k in NUMBER_FIELDS {
        s.insert(k.to_owned(), json!(field(f, k)?.parse::<u64>().ok()?));
    }
    Some(Value::Object(s))
}

/// A batch's month (`2026-03`) as people write it: `03/2026`.
fn month(m: &str) -> String {
    match m.split_once('-') {
        Some((y, mm)) if y.len() == 4 && mm.len() == 2 => format!("{mm}/{y}"),
        _ => m.to_owned(),
    }
}

/// What can be signed, and when: the next batch from its first day, and
/// whether later months wait behind it (one batch at a time, in order).
fn when_words(month_iso: &str, seal_from: Option<&str>, today: chrono::NaiveDate) -> Markup {
    let from = seal_from.and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let shown = month(month_iso);
    // The last month whose batch may be sealed today: the one before this month.
    let last_closed = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .map(|d| d.format("%Y-%m").to_string());
    html! {
        @match from {
            Some(f) if f > today => {
                p.hint #when role="status" {
                    "Lô tháng " (shown) " chỉ ký được từ ngày " (f.format("%d/%m/%Y"))
                    " (sau khi tháng kết thúc, theo quy định đồng bộ của tỉnh). Hiện chưa có lô nào để ký."
                }
            },
            _ => {
                p.hint #when role="status" {
                    "Lô tháng " (shown) " đã đến hạn ký."
                    @if let Some(last) = last_closed.as_deref().filter(|l| *l > month_iso) {
                        " Các tháng sau, đến tháng " (month(last)) ", được ký lần lượt sau lô này, mỗi lần một lô."
                    }
                }
            },
        }
    }
}

/// The delivery state of a sealed batch in words.
fn delivery_words(s: &str) -> &str {
    match s {
        "sealed" => "Đã niêm phong, chưa chuyển",
        "delivered" => "Đã chuyển",
        "acknowledged" => "Đã xác nhận nhận",
        "overdue" => "Quá hạn xác nhận",
        other => other,
    }
}

fn delivery_table(report: &Value) -> Markup {
    let batches = report["batches"].as_array().cloned().unwrap_or_default();
    html! {
        @if batches.is_empty() { p.hint { "Chưa có lô nào được niêm phong." } }
        @else {
            div.scroll {
                table #batches {
                    thead { tr { th scope="col" { "Lô" } th scope="col" { "Tháng" } th scope="col" { "Số hồ sơ" } th scope="col" { "Niêm phong ngày" } th scope="col" { "Hạn xác nhận" } th scope="col" { "Tình trạng" } } }
                    tbody {
                        @for b in batches.iter().rev() {
                            @let st = b["delivery"]["state"].as_str().unwrap_or("");
                            tr {
                                td { (b["sequence"]) }
                                td { (month(b["month"].as_str().unwrap_or(""))) }
                                td { (b["item_count"]) }
                                td { (b["delivery"]["sealed_on"].as_str().map(format::date).unwrap_or_default()) }
                                td { (b["delivery"]["acknowledgement_due"].as_str().map(format::date).unwrap_or_default()) }
                                td class=[(st == "overdue").then_some("bad")] { (delivery_words(st)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /sync`.
pub(crate) async fn form(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    Query(q): Query<super::Query>,
) -> Response {
    let next = p.api.get(&v.who, "/sync/batches/next").await;
    let report = p.api.get(&v.who, "/reports/sync").await;
    if let (Err(r), Err(_)) = (&next, &report) {
        return refused_page(Some(&v), r);
    }
    let keys: Vec<String> = v.me["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    let body = html! {
        @if q.get("done").map(String::as_str) == Some("sealed") {
            p.notice role="status" { "Đã ký và niêm phong lô đồng bộ." }
        }
        h2 { "Lô tiếp theo" }
        @match &next {
            Err(r) => { (refusal_box(r)) },
            Ok(n) => {
                @let st = &n["statement"];
                @let digest = n["digest"].as_str().unwrap_or("");
                @let early = n["seal_from"].as_str().is_some_and(|d| d > p.state.today().to_string().as_str());
                section #next-batch aria-label="Lô tiếp theo" {
                (when_words(st["month"].as_str().unwrap_or(""), n["seal_from"].as_str(), p.state.today()))
                dl.facts {
                    (item("Lô số", html! { (st["sequence"]) }))
                    (item("Tháng", html! { (month(st["month"].as_str().unwrap_or(""))) }))
                    (item("Số hồ sơ phê duyệt", html! { (st["item_count"]) }))
                    (item("Vị trí sổ cái", html! { (st["from_position"]) " – " (st["to_position"]) }))
                    (item("Gốc Merkle", html! { code { (st["merkle_root"].as_str().unwrap_or("")) } }))
                    (item("Lô trước", html! { code { (st["previous_digest"].as_str().unwrap_or("")) } }))
                    (item("Được ký từ ngày", html! { (n["seal_from"].as_str().map(format::date).unwrap_or_else(|| "—".to_owned())) }))
                    (item("Nội dung cần ký", html! { code #digest { (digest) } }))
                }
                @if keys.is_empty() {
                    p.hint { "Tài khoản chưa đăng ký khóa ký số nên chỉ xem được lô tiếp theo; Giám đốc Sở Nội vụ ký niêm phong." }
                } @else if early {
                } @else {
                    div.stack {
                        label for="keyfile" { "Tệp khóa ký số của tôi " span.hint { "(PEM, PKCS #8; tệp chỉ được đọc trên trình duyệt này, không gửi lên máy chủ)" } }
                        input #keyfile type="file" accept=".pem,.key,application/x-pem-file";
                    }
                    form.stack #seal-form method="post" action="/sync" data-sign data-digest=(digest) data-keyfile="keyfile" {
                        (csrf(&v))
                        @for k in TEXT_FIELDS { input type="hidden" name=(k) value=(st[k].as_str().unwrap_or("")); }
                        @for k in NUMBER_FIELDS { input type="hidden" name=(k) value=(st[k]); }
                        input type="hidden" name="signature" value="";
                        div {
                            label for="key_id" { "Khóa đã đăng ký" }
                            select #key_id name="key_id" { @for k in &keys { option value=(k) { (k) } } }
                        }
                        p data-status role="status" {}
                        div { button type="submit" { "Ký và niêm phong lô" } }
                    }
                }
                }
            },
        }
        h2 { "Các lô đã niêm phong" }
        @match &report {
            Ok(r) => { (delivery_table(r)) },
            Err(r) => { (refusal_box(r)) },
        }
    };
    page(&v, "Đồng bộ cơ sở dữ liệu quốc gia", body)
}

/// `POST /sync`: the signature the browser made over the statement's digest.
pub(crate) async fn submit(
    State(p): State<Arc<Portal>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = v.check(&headers, field(&f, CSRF_FIELD)) {
        return r;
    }
    let Some(statement) = statement_of(&f) else {
        return refused_page(Some(&v), &super::dossier::not_found_refusal());
    };
    let body = json!({
        "statement": statement,
        "key_id": field(&f, "key_id").unwrap_or(""),
        "signature": field(&f, "signature").unwrap_or(""),
    });
    super::post_then(&p, &v, "/sync/batches", &body, "/sync?done=sealed").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_batches_list_newest_first_with_their_dates() {
        let html = delivery_table(&json!({"batches": [
            {"sequence": 1, "month": "2026-01", "item_count": 20,
             "delivery": {"state": "acknowledged", "sealed_on": "2026-02-02", "acknowledgement_due": "2026-02-09"}},
            {"sequence": 2, "month": "2026-02", "item_count": 4,
             "delivery": {"state": "overdue", "sealed_on": "2026-03-02", "acknowledgement_due": "2026-03-09"}},
        ]}))
        .into_string();
        let second = html.find("<td>02/2026</td>").unwrap_or(usize::MAX);
        let first = html.find("<td>01/2026</td>").unwrap_or(0);
        assert!(second < first, "{html}");
        assert!(html.contains("<td>09/03/2026</td>"), "{html}");
        assert!(
            html.contains(r#"<td class="bad">Quá hạn xác nhận</td>"#),
            "{html}"
        );
    }

    #[test]
    fn the_page_says_which_month_can_be_signed_and_from_when() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        let behind = when_words("2026-03", Some("2026-04-01"), today).into_string();
        assert!(
            behind.contains("Lô tháng 03/2026 đã đến hạn ký."),
            "{behind}"
        );
        assert!(behind.contains("đến tháng 11/2026"), "{behind}");
        let early = when_words("2026-12", Some("2027-01-01"), today).into_string();
        assert!(
            early.contains("chỉ ký được từ ngày 01/01/2027")
                && early.contains("chưa có lô nào để ký"),
            "{early}"
        );
        let last = when_words("2026-11", Some("2026-12-01"), today).into_string();
        assert!(!last.contains("Các tháng sau"), "{last}");
    }

    #[test]
    fn the_statement_goes_back_with_its_numbers_as_numbers() {
        let f: Fields = [
            ("format", "hoso-sync-statement/1"),
            ("province", "binh-thuan"),
            ("month", "2026-04"),
            ("merkle_root", "aa"),
            ("previous_digest", "bb"),
            ("sequence", "2"),
            ("from_position", "120"),
            ("to_position", "180"),
            ("item_count", "3"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let s = statement_of(&f).unwrap_or_default();
        assert_eq!(s["sequence"], 2);
        assert_eq!(s["to_position"], 180);
        assert_eq!(s["month"], "2026-04");
        let mut bad = f.clone();
        bad.retain(|(k, _)| k != "item_count");
        assert!(statement_of(&bad).is_none());
    }
}

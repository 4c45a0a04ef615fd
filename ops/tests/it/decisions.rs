//! Decisions of the state over HTTP (`POST /dossiers/{id}/decisions`): each
//! kind recorded by the managing unit and read back, its scanned decision
//! cited from the dossier's uploads, a bad value refused with the valid
//! ones listed, both time axes of the read (a salary decision recorded
//! today, effective three months ago), and a dossier in transit to another
//! agency frozen until the receiver answers (BT 11.3, HY 11.1).
//!
//! The testkit's province is served in-process on its manual clock: the
//! dossier is opened in January and the office works on 6 April 2026.

use std::sync::Arc;

use hoso_commands::testkit::{HOSPITAL, Province, d};
use hoso_domain::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::node::Node;

const PID: &str = "033190001234";
const EDUCATION: &str = "000.03.00.H33";

/// The province on 6 April 2026, with one hospital dossier opened on
/// 5 January.
struct Office {
    node: Node,
    clock: Arc<ManualClock>,
    dossier: String,
    /// The health department's focal point (update right over the hospital).
    focal: String,
    focal_id: String,
    /// The education department's focal point.
    education: String,
    /// The Sở Nội vụ administrator (admin right everywhere).
    admin: String,
}

async fn office() -> Office {
    let p = Province::new("binh-thuan", d(2026, 1, 5)).await;
    let dossier = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.set_today(d(2026, 4, 6));
    let Province {
        dir,
        store,
        clock,
        wf,
        admin,
        health_focal,
        education_focal,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    Office {
        focal: node.session(&health_focal.account_id),
        focal_id: health_focal.account_id,
        education: node.session(&education_focal.account_id),
        admin: node.session(&admin.account_id),
        node,
        clock,
        dossier,
    }
}

impl Office {
    /// Sends the dossier to Education (`kind`: `transfer`, `reassignment`)
    /// under decision `number`; the transfer's id and the decisions' scan.
    async fn send_to_education(&self, kind: &str, number: &str) -> (String, String) {
        let scan = self.scan(b"quyet dinh dieu dong").await;
        let sent = self
            .node
            .ok(
                "POST",
                &self.path("/transfers"),
                &self.focal,
                json!({"action": "initiate", "kind": kind, "to": EDUCATION,
                       "effective": "2026-04-06",
                       "document": document(number, "2026-04-03", Some(&scan))}),
            )
            .await;
        (sent["id"].as_str().unwrap().to_owned(), scan)
    }

    fn path(&self, tail: &str) -> String {
        format!("/api/v1/dossiers/{}{tail}", self.dossier)
    }

    /// Uploads a scan to the dossier; its SHA-256.
    async fn scan(&self, bytes: &[u8]) -> String {
        let a = self
            .node
            .upload(&self.dossier, &self.focal, bytes.to_vec())
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body["sha256"].as_str().unwrap().to_owned()
    }

    /// Records `body` as the focal point; the receipt.
    async fn record(&self, body: Value) -> Value {
        self.node
            .ok("POST", &self.path("/decisions"), &self.focal, body)
            .await
    }

    /// The focal point's decision, refused or not.
    async fn try_record(&self, body: Value) -> crate::support::api::Answer {
        self.node
            .post(&self.path("/decisions"), &self.focal, body)
            .await
    }

    /// The dossier as `token` reads it, after `receipt`'s position.
    async fn read(&self, token: &str, receipt: &Value, query: &str) -> Value {
        let position = receipt["position"].as_u64().unwrap();
        let sep = if query.is_empty() { "" } else { "&" };
        self.node
            .get_ok(
                &self.path(&format!("?wait_for={position}{sep}{query}")),
                token,
            )
            .await
    }

    async fn history(&self, token: &str, receipt: &Value) -> Vec<Value> {
        let position = receipt["position"].as_u64().unwrap();
        let h = self
            .node
            .get_ok(&self.path(&format!("/history?wait_for={position}")), token)
            .await;
        h.as_array().unwrap().clone()
    }
}

/// A decision document dated `date`, citing `scan` when given.
fn document(number: &str, date: &str, scan: Option<&str>) -> Value {
    let mut doc = json!({"number": number, "date": date, "issuer": "UBND tỉnh Bình Thuận"});
    if let Some(sha) = scan {
        doc["attachment_sha256"] = json!(sha);
    }
    doc
}

/// `fields` with the decision's kind, effective date and document.
fn decision(kind: &str, effective: &str, doc: Value, fields: Value) -> Value {
    let mut body = fields;
    body["kind"] = json!(kind);
    body["effective"] = json!(effective);
    body["document"] = doc;
    body
}

/// The history entry of `event_type`, the last one.
fn entry<'a>(history: &'a [Value], event_type: &str) -> &'a Value {
    history
        .iter()
        .rev()
        .find(|e| e["event_type"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type} in {history:?}"))
}

#[tokio::test]
async fn dl_9_2b_every_decision_of_the_state_is_recorded_and_read_back() {
    let o = office().await;
    let scan = o.scan(b"%PDF-1.7 quyet dinh bo nhiem").await;
    let doc = |n: &str| document(n, "2026-04-03", Some(&scan));
    o.record(decision(
        "appointment",
        "2026-04-01",
        doc("10/QĐ-SYT"),
        json!({"appointment_kind": "appointed", "position_title": "Phó Trưởng khoa Nội",
               "org_code": HOSPITAL, "term_end": "2031-03-31"}),
    ))
    .await;
    o.record(decision(
        "rank",
        "2026-04-01",
        doc("11/QĐ-SYT"),
        json!({"rank_change_kind": "promoted", "rank_code": "V.08.01.02",
               "rank_name": "Bác sĩ chính (hạng II)"}),
    ))
    .await;
    o.record(decision(
        "salary",
        "2026-04-01",
        doc("12/QĐ-SYT"),
        json!({"rank_code": "V.08.01.02", "step": 1, "coefficient_x100": 440,
               "salary_group": "A2.1"}),
    ))
    .await;
    o.record(decision(
        "allowance",
        "2026-04-01",
        doc("13/QĐ-SYT"),
        json!({"allowance_kind": "position", "name": "Phụ cấp chức vụ Phó Trưởng khoa",
               "amount": {"coefficient_x100": 30}}),
    ))
    .await;
    o.record(decision(
        "award",
        "2026-04-02",
        doc("14/QĐ-UBND"),
        json!({"form": "Bằng khen của Chủ tịch UBND tỉnh", "reason": "Chống dịch", "year": 2026}),
    ))
    .await;
    o.record(decision(
        "discipline",
        "2026-04-02",
        doc("15/QĐ-SYT"),
        json!({"form": "reprimand", "body": "government",
               "reason": "Vi phạm thời giờ làm việc", "until": "2027-04-01"}),
    ))
    .await;
    o.record(decision(
        "training",
        "2026-03-31",
        doc("16/QĐ-SYT"),
        json!({"institution": "Đại học Y Dược TP.HCM", "major": "Nội khoa",
               "from": "2024-09-01", "until": "2026-03-31", "mode": "in_service",
               "qualification": "Bác sĩ chuyên khoa I"}),
    ))
    .await;
    o.record(decision(
        "evaluation",
        "2026-01-15",
        doc("17/QĐ-SYT"),
        json!({"year": 2025, "grade": "excellent", "comments": "Hoàn thành xuất sắc"}),
    ))
    .await;
    let last = o
        .record(decision(
            "planning",
            "2026-04-03",
            doc("18/QĐ-TU"),
            json!({"position_title": "Giám đốc Bệnh viện", "org_code": HOSPITAL,
                   "from_year": 2026, "until_year": 2031}),
        ))
        .await;

    let v = o.read(&o.focal, &last, "").await;
    assert_eq!(v["positions"][0]["value"], "Phó Trưởng khoa Nội");
    assert_eq!(v["positions"][0]["effective"], "2026-04-01");
    assert_eq!(v["rank"]["value"]["code"], "V.08.01.02");
    assert_eq!(v["salary"]["value"]["coefficient_x100"], 440);
    assert_eq!(v["salary"]["value"]["step"], 1);
    assert_eq!(v["awards"][0]["form"], "Bằng khen của Chủ tịch UBND tỉnh");
    assert_eq!(v["evaluations"][0]["year"], 2025);
    assert_eq!(
        v["planning"][0]["value"],
        json!({"position": "Giám đốc Bệnh viện", "org_code": HOSPITAL,
               "from_year": 2026, "until_year": 2031})
    );
    assert_eq!(v["planning"][0]["effective"], "2026-04-03");
    // Discipline is secret: withheld from update right, shown to admin right.
    // Withheld: an empty list, and named as withheld.
    assert_eq!(v["discipline"], json!([]), "{v}");
    assert!(
        v["access"]["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "discipline"),
        "{v}"
    );
    let seen = o.read(&o.admin, &last, "").await;
    assert_eq!(seen["discipline"][0]["effective"], "2026-04-02");

    // Allowances and training are kept in the history, each with its
    // document and what it set.
    let history = o.history(&o.focal, &last).await;
    let allowance = entry(&history, "dossier.AllowanceChanged");
    assert_eq!(allowance["effective"], "2026-04-01");
    assert_eq!(allowance["document"]["number"], "13/QĐ-SYT");
    assert_eq!(allowance["document"]["attachment_sha256"], scan.as_str());
    assert_eq!(allowance["diff"][0]["to"]["kind"], "position");
    assert_eq!(
        allowance["diff"][0]["to"]["amount"],
        json!({"coefficient_x100": 30})
    );
    let training = entry(&history, "dossier.TrainingRecorded");
    assert_eq!(training["diff"][0]["to"]["mode"], "in_service");
    assert_eq!(
        training["diff"][0]["to"]["qualification"],
        "Bác sĩ chuyên khoa I"
    );
    let planning = entry(&history, "dossier.PlanningRecorded");
    assert_eq!(planning["document"]["number"], "18/QĐ-TU");
    // The admin sees the discipline's form, never its sealed reason.
    let history = o.history(&o.admin, &last).await;
    let discipline = entry(&history, "dossier.DisciplineImposed");
    assert_eq!(discipline["diff"][0]["to"]["form"], "reprimand");
    assert!(!discipline.to_string().contains("thời giờ"), "{discipline}");

    // The cited scan is served back to a reader of the dossier.
    let bytes = o
        .node
        .get(&o.path(&format!("/attachments/{scan}")), &o.focal)
        .await;
    assert_eq!(bytes.status, StatusCode::OK);
    assert_eq!(bytes.bytes, b"%PDF-1.7 quyet dinh bo nhiem");
}

#[tokio::test]
async fn bt_6_3_a_decision_cites_only_a_scan_uploaded_to_its_dossier() {
    let o = office().await;
    let never_uploaded = "ab".repeat(32);
    let a = o
        .try_record(decision(
            "salary",
            "2026-01-06",
            document("20/QĐ-SYT", "2026-04-03", Some(&never_uploaded)),
            json!({"rank_code": "V.08.01.03", "step": 2, "coefficient_x100": 267}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.body["type"], "urn:hoso:problem:attachment:not-uploaded");
    // Without any scan the decision lacks its digitised copy (BT 6.3).
    let a = o
        .try_record(decision(
            "salary",
            "2026-01-06",
            document("20/QĐ-SYT", "2026-04-03", None),
            json!({"rank_code": "V.08.01.03", "step": 2, "coefficient_x100": 267}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.body["type"], "urn:hoso:problem:dossier:proof-required");
    assert_eq!(a.body["citation"], "BT 6.3, HY 8.5");
}

#[tokio::test]
async fn an_unknown_kind_or_value_is_refused_with_the_valid_ones_listed() {
    let o = office().await;
    let scan = o.scan(b"scan").await;
    let doc = document("21/QĐ-SYT", "2026-04-03", Some(&scan));
    let refused = |a: &crate::support::api::Answer, pointer: &str, listed: &[&str]| {
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert_eq!(a.body["type"], "urn:hoso:problem:request:invalid-value");
        assert_eq!(a.body["pointer"], pointer);
        let detail = a.body["detail"].as_str().unwrap();
        for v in listed {
            assert!(detail.contains(v), "{detail} lists {v}");
        }
        // No Rust debug text reaches the caller.
        for debug in ["Some(", "None", "Exact(", "{ ", "::"] {
            assert!(!detail.contains(debug), "{detail}");
        }
    };
    let a = o
        .try_record(decision("promotion", "2026-04-01", doc.clone(), json!({})))
        .await;
    refused(&a, "/kind", &["appointment", "salary", "planning"]);
    let a = o
        .try_record(decision(
            "discipline",
            "2026-04-01",
            doc.clone(),
            json!({"form": "DISCIPLINE_FORM_WARNING", "body": "government"}),
        ))
        .await;
    refused(
        &a,
        "/form",
        &["reprimand", "warning", "salary_step_reduction", "dismissal"],
    );
    let a = o
        .try_record(decision(
            "evaluation",
            "2026-01-15",
            doc.clone(),
            json!({"year": 2025, "grade": "unspecified"}),
        ))
        .await;
    refused(
        &a,
        "/grade",
        &["excellent", "good", "completed", "not_completed"],
    );
    // A planning for a position in a unit that does not exist.
    let a = o
        .try_record(decision(
            "planning",
            "2026-04-01",
            doc.clone(),
            json!({"position_title": "Giám đốc", "org_code": "999.99.99.H33",
                       "from_year": 2026, "until_year": 2031}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    assert_eq!(a.body["type"], "urn:hoso:problem:scope:unknown-unit");
    // A value the rules refuse: a coefficient off every scale.
    let a = o
        .try_record(decision(
            "salary",
            "2026-04-01",
            doc,
            json!({"rank_code": "01.003", "step": 1, "coefficient_x100": 9}),
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.body["type"], "urn:hoso:problem:dossier:bad-decision");
    // Nothing refused reached the dossier.
    let v = o.node.get_ok(&o.path(""), &o.focal).await;
    assert!(v["salary"].is_null(), "{v}");
}

#[tokio::test]
async fn a_back_dated_salary_shows_as_of_its_effect_and_not_known_before_it_was_recorded() {
    let o = office().await;
    let scan = o.scan(b"quyet dinh nang luong").await;
    // Recorded today (6 April), effective three months ago.
    let r = o
        .record(decision(
            "salary",
            "2026-01-06",
            document("30/QĐ-SYT", "2026-04-03", Some(&scan)),
            json!({"rank_code": "V.08.01.03", "step": 3, "coefficient_x100": 300,
                   "salary_group": "A1"}),
        ))
        .await;
    let now = o.read(&o.focal, &r, "").await;
    assert_eq!(now["salary"]["value"]["coefficient_x100"], 300);
    // A decision recorded against a revision the dossier has moved past is
    // refused (If-Match), and writes nothing.
    let stale = format!("\"{}\"", r["revision"].as_u64().unwrap() - 1);
    let a = o
        .node
        .send(
            "POST",
            &o.path("/decisions"),
            Some(&o.focal),
            crate::support::api::Body::Json(decision(
                "salary",
                "2026-02-01",
                document("31/QĐ-SYT", "2026-04-03", Some(&scan)),
                json!({"rank_code": "V.08.01.03", "step": 4, "coefficient_x100": 333}),
            )),
            &[("if-match", &stale)],
        )
        .await;
    assert_eq!(a.status, StatusCode::PRECONDITION_FAILED, "{}", a.body);
    // As of two months ago it was in effect…
    let then = o.read(&o.focal, &r, "as_of=2026-02-06").await;
    assert_eq!(then["salary"]["effective"], "2026-01-06", "{then}");
    assert_eq!(then["as_of"], "2026-02-06");
    // …but before its effective date it was not.
    let before = o.read(&o.focal, &r, "as_of=2026-01-05").await;
    assert!(before["salary"].is_null(), "{before}");
    // What the ledger knew yesterday does not hold it, whatever the date of effect.
    let yesterday = o.read(&o.focal, &r, "known_at=2026-04-05").await;
    assert!(yesterday["salary"].is_null(), "{yesterday}");
    assert_eq!(yesterday["known_at"], "2026-04-05");
    let both = o
        .read(&o.focal, &r, "as_of=2026-02-06&known_at=2026-04-05")
        .await;
    assert!(both["salary"].is_null(), "{both}");
    // Known by the end of today, in effect two months ago.
    let today = o
        .read(&o.focal, &r, "as_of=2026-02-06&known_at=2026-04-06")
        .await;
    assert_eq!(today["salary"]["value"]["step"], 3);
    // The next day (a new session: the clock moved past the last one's
    // hour) nothing changes what was known on the 6th.
    hoso_commands::testkit::set_today(&o.clock, d(2026, 4, 7));
    let focal = o.node.session(&o.focal_id);
    let later = o.read(&focal, &r, "known_at=2026-04-06").await;
    assert_eq!(later["salary"]["value"]["coefficient_x100"], 300);
}

#[tokio::test]
async fn bt_11_3_a_dossier_in_transit_is_frozen_until_the_receiver_answers() {
    let o = office().await;
    let (transfer, scan) = o.send_to_education("transfer", "40/QĐ-UBND").await;
    let doc = |n: &str| document(n, "2026-04-03", Some(&scan));
    let salary = decision(
        "salary",
        "2026-04-01",
        doc("41/QĐ-SYT"),
        json!({"rank_code": "V.08.01.03", "step": 2, "coefficient_x100": 267}),
    );
    let frozen = |a: &crate::support::api::Answer| {
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert_eq!(a.body["type"], "urn:hoso:problem:dossier:in-transit");
        assert_eq!(a.body["citation"], "BT 11.3, HY 11.1");
        let detail = a.body["detail"].as_str().unwrap();
        assert!(
            detail.contains(&transfer) && detail.contains(EDUCATION),
            "{detail}"
        );
    };
    // The sender can no longer record a decision, a declaration, a review
    // or a status (a move within the agency: the domain's unit tests).
    frozen(&o.try_record(salary.clone()).await);
    frozen(
        &o.node
            .post(
                &o.path("/declarations"),
                &o.focal,
                json!({"section": "identity", "fields": [{"field": "1", "value": "NGUYỄN THỊ HƯƠNG"}]}),
            )
            .await,
    );
    frozen(
        &o.node
            .post(&o.path("/review"), &o.focal, json!({"action": "verify"}))
            .await,
    );
    frozen(
        &o.node
            .post(
                &o.path("/status"),
                &o.focal,
                json!({"status": "retired", "effective": "2026-04-06", "document": doc("42/QĐ")}),
            )
            .await,
    );
    // The receiver holds no right over the dossier until it accepts.
    let a = o
        .node
        .post(&o.path("/decisions"), &o.education, salary.clone())
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(a.body["type"], "urn:hoso:problem:access:insufficient-right");
    // It accepts; then the dossier is its own to change, and no longer the sender's.
    let accepted = o
        .node
        .ok(
            "POST",
            &o.path("/transfers"),
            &o.education,
            json!({"action": "accept", "transfer_id": transfer}),
        )
        .await;
    let v = o.read(&o.education, &accepted, "").await;
    assert_eq!(v["managing_unit"], EDUCATION);
    let r = o
        .node
        .ok("POST", &o.path("/decisions"), &o.education, salary.clone())
        .await;
    let v = o.read(&o.education, &r, "").await;
    assert_eq!(v["salary"]["value"]["coefficient_x100"], 267);
    let a = o.try_record(salary).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
}

#[tokio::test]
async fn bt_11_3_a_rejected_transfer_gives_the_dossier_back_to_its_sender() {
    let o = office().await;
    let (transfer, scan) = o.send_to_education("reassignment", "50/QĐ-UBND").await;
    let doc = |n: &str| document(n, "2026-04-03", Some(&scan));
    o.node
        .ok(
            "POST",
            &o.path("/transfers"),
            &o.education,
            json!({"action": "reject", "transfer_id": transfer, "reason": "Không còn biên chế"}),
        )
        .await;
    let r = o
        .record(decision(
            "planning",
            "2026-04-06",
            doc("51/QĐ-TU"),
            json!({"position_title": "Trưởng khoa Nội", "from_year": 2026, "until_year": 2030}),
        ))
        .await;
    let v = o.read(&o.focal, &r, "").await;
    assert_eq!(v["managing_unit"], HOSPITAL);
    assert_eq!(v["planning"][0]["value"]["position"], "Trưởng khoa Nội");
}

//! Restructuring over HTTP (`POST /api/v1/org-units`): split, staffing
//! quota, job positions and approval authority, each decided and read back
//! (`GET /org-units`, `/org-units/{code}`, `/org-units/{code}/quota`); the
//! refusals as typed problems naming their rule, unknown values listed; and
//! a merger decided today with a future effective date, which moves the
//! dossier and the old unit's rights on that date and not before (DL 5.5),
//! on an in-process node whose manual clock is advanced past the date.

use std::sync::Arc;

use chrono::NaiveDate;
use hoso_commands::testkit::{
    EDUCATION, HEALTH, HEALTH_DIV_A, HEALTH_DIV_B, HOSPITAL, Province, d, doc, set_today, staff,
};
use hoso_domain::account::AccountKind;
use hoso_domain::clock::ManualClock;
use hoso_domain::org::{OrgChange, OrgCommand, OrgUnitKind};
use hoso_schemas::pb::common::AccessRight;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::api::{Answer, decision};
use crate::support::node::Node;

const PROFILE: &str = "binh-thuan";
/// The successor of the hospital's merger, established in the setup.
const CENTRE: &str = "000.02.02.H33";
const PERSON: &str = "001090007777";

/// A served province on 2 March 2026: the hospital with a dossier and a
/// focal point of its own (update right over the hospital only), a regional
/// health centre with its focal point.
struct Setup {
    node: Node,
    clock: Arc<ManualClock>,
    admin: String,
    hospital_focal: String,
    centre_focal: String,
    /// Account ids, for new sessions once the clock has moved on.
    ids: [String; 3],
    dossier: String,
}

impl Setup {
    /// Moves the clock to `day` and opens new sessions on it (the old ones
    /// expired with the days passed).
    fn advance_to(&mut self, day: NaiveDate) {
        set_today(&self.clock, day);
        let [admin, hospital, centre] = &self.ids;
        self.admin = self.node.session(admin);
        self.hospital_focal = self.node.session(hospital);
        self.centre_focal = self.node.session(centre);
    }
}

async fn setup() -> Setup {
    let today = d(2026, 3, 2);
    let p = Province::new(PROFILE, today).await;
    p.wf.org(
        &p.admin,
        OrgCommand {
            code: CENTRE.into(),
            decision: doc("5/QĐ-UBND", today),
            change: OrgChange::Establish {
                name: "Trung tâm Y tế khu vực".into(),
                kind: OrgUnitKind::PublicServiceUnit,
                parent: Some(HEALTH.into()),
                effective: d(2026, 1, 1),
            },
        },
    )
    .await
    .unwrap();
    let hospital_focal = staff(
        &p.wf,
        &p.admin,
        "bv.tochuc",
        HOSPITAL,
        AccountKind::Specialist,
        Some(AccessRight::Update),
    )
    .await;
    let centre_focal = staff(
        &p.wf,
        &p.admin,
        "ttyt.tochuc",
        CENTRE,
        AccountKind::Specialist,
        Some(AccessRight::Update),
    )
    .await;
    let dossier = p.open(PERSON, HOSPITAL, &p.health_focal).await;
    let Province {
        dir,
        store,
        clock,
        wf,
        admin,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    Setup {
        admin: node.session(&admin.account_id),
        hospital_focal: node.session(&hospital_focal.account_id),
        centre_focal: node.session(&centre_focal.account_id),
        ids: [
            admin.account_id,
            hospital_focal.account_id,
            centre_focal.account_id,
        ],
        node,
        clock,
        dossier,
    }
}

/// A decision about `code` by `token`.
async fn decide(node: &Node, token: &str, code: &str, change: Value) -> Answer {
    let body = json!({"code": code, "decision": decision("21/QĐ-UBND"), "change": change});
    node.call("POST", "/api/v1/org-units", Some(token), Some(body))
        .await
}

/// Decides and waits until the read model has it.
async fn decided(node: &Node, token: &str, code: &str, change: Value) -> u64 {
    let a = decide(node, token, code, change).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["position"].as_u64().unwrap()
}

fn problem_type(a: &Answer) -> &str {
    a.body["type"].as_str().unwrap_or_default()
}

/// A refusal as a problem: its status, its type, no Rust debug text.
fn assert_refused(a: &Answer, status: StatusCode, type_: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.content_type, "application/problem+json");
    assert_eq!(problem_type(a), type_, "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap_or_default();
    for debug in ["Some(", "None", "Exact(", "{ "] {
        assert!(!detail.contains(debug), "debug text in {detail}");
    }
}

/// Division B split on 2 March 2026 between division A and the centre; the
/// decision's position.
async fn split_division_b(s: &Setup) -> u64 {
    decided(
        &s.node,
        &s.admin,
        HEALTH_DIV_B,
        json!({"action": "split", "successors": [HEALTH_DIV_A, CENTRE], "effective": "2026-03-02"}),
    )
    .await
}

fn unit_path(code: &str, query: &str) -> String {
    format!("/api/v1/org-units/{code}{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dl_5_5_split_takes_effect_on_its_date_and_hands_people_to_the_first_successor() {
    let s = setup().await;
    let at = split_division_b(&s).await;
    let tree = |date: &str| format!("/api/v1/org-units?date={date}&wait_for={at}");
    let before = s.node.get_ok(&tree("2026-03-01"), &s.admin).await;
    let after = s.node.get_ok(&tree("2026-03-02"), &s.admin).await;
    let has = |v: &Value, code: &str| v.as_array().unwrap().iter().any(|n| n["code"] == code);
    assert!(has(&before, HEALTH_DIV_B));
    assert!(!has(&after, HEALTH_DIV_B));
    assert!(has(&after, HEALTH_DIV_A) && has(&after, CENTRE));
    let unit = s
        .node
        .get_ok(&unit_path(HEALTH_DIV_B, "?date=2026-03-02"), &s.admin)
        .await;
    assert_eq!(unit["status"], "split");
    assert_eq!(unit["ceases_on"], "2026-03-02");
    assert_eq!(unit["successors"], json!([HEALTH_DIV_A, CENTRE]));
    assert_eq!(unit["holder"], HEALTH_DIV_A);
    // The tree of that day no longer shows it; the ceased units of that day
    // do, with their successors, and not the day before.
    let ceased = |date: &str| format!("/api/v1/org-units/ceased?date={date}&wait_for={at}");
    let gone = s.node.get_ok(&ceased("2026-03-02"), &s.admin).await;
    let b = gone
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == HEALTH_DIV_B)
        .unwrap();
    assert_eq!(b["successors"], json!([HEALTH_DIV_A, CENTRE]));
    assert_eq!(b["ceases_on"], "2026-03-02");
    assert!(!has(
        &s.node.get_ok(&ceased("2026-03-01"), &s.admin).await,
        HEALTH_DIV_B
    ));
    // A ceased unit takes no further decisions (DL 5.5).
    let again = decide(
        &s.node,
        &s.admin,
        HEALTH_DIV_B,
        json!({"action": "rename", "name": "Phòng B", "effective": "2026-03-03"}),
    )
    .await;
    assert_refused(
        &again,
        StatusCode::UNPROCESSABLE_ENTITY,
        "urn:hoso:problem:org:unit-ceased",
    );
    assert_eq!(again.body["citation"], "DL 5.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_job_position_and_approval_authority_round_trip() {
    let s = setup().await;
    decided(
        &s.node,
        &s.admin,
        HOSPITAL,
        json!({"action": "set_staffing_quota", "year": 2026,
               "quota": {"civil_servants": 4, "public_employees": 120, "contract_workers": 9}}),
    )
    .await;
    decided(
        &s.node,
        &s.admin,
        HOSPITAL,
        json!({"action": "define_job_position", "code": "VTVL-07", "title": "Bác sĩ điều trị",
               "group": "professional", "required_rank_code": "V.08.01.03", "headcount": 35,
               "effective": "2026-04-01"}),
    )
    .await;
    let at = decided(
        &s.node,
        &s.admin,
        HEALTH,
        json!({"action": "assign_approval_authority", "categories": ["vien_chuc", "nguoi_lao_dong"],
               "subordinates": [HOSPITAL], "effective": "2026-03-02"}),
    )
    .await;
    let quota = s
        .node
        .get_ok(
            &unit_path(HOSPITAL, &format!("/quota?year=2026&wait_for={at}")),
            &s.admin,
        )
        .await;
    assert_eq!(
        quota["quota"],
        json!({"civil_servants": 4, "public_employees": 120, "contract_workers": 9})
    );
    assert_eq!(
        quota["actual"],
        json!({"civil_servants": 0, "public_employees": 1, "contract_workers": 0}),
        "the hospital's one dossier"
    );
    let hospital = s
        .node
        .get_ok(&unit_path(HOSPITAL, "?date=2026-04-01"), &s.admin)
        .await;
    assert_eq!(
        hospital["quotas"],
        json!([{"year": 2026, "civil_servants": 4, "public_employees": 120, "contract_workers": 9}])
    );
    assert_eq!(
        hospital["job_positions"],
        json!([{"code": "VTVL-07", "title": "Bác sĩ điều trị", "group": "professional",
                "required_rank_code": "V.08.01.03", "headcount": 35}])
    );
    // Not yet in force the day before its effective date.
    let before = s
        .node
        .get_ok(&unit_path(HOSPITAL, "?date=2026-03-31"), &s.admin)
        .await;
    assert_eq!(before["job_positions"], json!([]));
    let health = s.node.get_ok(&unit_path(HEALTH, ""), &s.admin).await;
    assert_eq!(
        health["approval_authority"],
        json!({"categories": ["vien_chuc", "nguoi_lao_dong"], "subordinates": [HOSPITAL]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_values_are_refused_with_the_valid_ones_listed() {
    let s = setup().await;
    let cases = [
        (
            json!({"action": "establish", "name": "Bộ", "kind": "ministry",
                   "parent": HEALTH, "effective": "2026-03-02"}),
            "/change/kind",
            "provincial_department, peoples_committee_province",
        ),
        (
            json!({"action": "define_job_position", "code": "X", "title": "Y", "group": "boss",
                   "headcount": 1, "effective": "2026-03-02"}),
            "/change/group",
            "leadership, professional, shared_professional, support",
        ),
        (
            json!({"action": "assign_approval_authority", "categories": ["cong_chuc", "soldier"],
                   "subordinates": [HOSPITAL], "effective": "2026-03-02"}),
            "/change/categories/1",
            "can_bo, cong_chuc, vien_chuc, nguoi_lao_dong, commune_cadre",
        ),
    ];
    for (change, pointer, listed) in cases {
        let a = decide(&s.node, &s.admin, "000.02.09.H33", change).await;
        assert_refused(
            &a,
            StatusCode::UNPROCESSABLE_ENTITY,
            "urn:hoso:problem:request:invalid-value",
        );
        assert_eq!(a.body["pointer"], pointer);
        let detail = a.body["detail"].as_str().unwrap();
        assert!(detail.contains(listed), "{detail}");
    }
    // An unknown action lists the actions.
    let a = decide(
        &s.node,
        &s.admin,
        HOSPITAL,
        json!({"action": "annex", "effective": "2026-03-02"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap();
    for action in [
        "split",
        "set_staffing_quota",
        "define_job_position",
        "assign_approval_authority",
    ] {
        assert!(detail.contains(action), "{detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restructuring_refusals_name_their_rule() {
    let s = setup().await;
    let cases = [
        (
            HEALTH_DIV_B,
            json!({"action": "split", "successors": [HEALTH_DIV_A, HEALTH_DIV_A], "effective": "2026-03-02"}),
            "split-too-few",
            None,
        ),
        (
            HEALTH_DIV_B,
            json!({"action": "split", "successors": [HEALTH_DIV_A, "000.09.09.H33"], "effective": "2026-03-02"}),
            "successor-missing",
            Some("DL 5.5"),
        ),
        (
            HOSPITAL,
            json!({"action": "merge_into", "successor": CENTRE, "effective": "2025-06-01"}),
            "successor-not-active",
            Some("DL 5.5"),
        ),
        (
            HOSPITAL,
            json!({"action": "set_staffing_quota", "year": 2019,
                   "quota": {"civil_servants": 1, "public_employees": 1, "contract_workers": 1}}),
            "quota-year-before-establishment",
            None,
        ),
        (
            HOSPITAL,
            json!({"action": "define_job_position", "code": "VTVL-01", "title": "Điều dưỡng",
                   "group": "professional", "headcount": 0, "effective": "2026-03-02"}),
            "job-position-incomplete",
            None,
        ),
        (
            HOSPITAL,
            json!({"action": "assign_approval_authority", "categories": ["vien_chuc"],
                   "subordinates": [EDUCATION], "effective": "2026-03-02"}),
            "authority-outside-scope",
            Some("DT 11"),
        ),
        (
            HOSPITAL,
            json!({"action": "assign_approval_authority", "categories": [],
                   "subordinates": [HOSPITAL], "effective": "2026-03-02"}),
            "authority-empty",
            Some("DT 11"),
        ),
    ];
    for (code, change, rule, citation) in cases {
        let a = decide(&s.node, &s.admin, code, change).await;
        assert_refused(
            &a,
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("urn:hoso:problem:org:{rule}"),
        );
        if let Some(c) = citation {
            assert_eq!(a.body["citation"], c, "{}", a.body);
        }
    }
    // Restructuring a unit needs admin right over it.
    let a = decide(
        &s.node,
        &s.hospital_focal,
        HOSPITAL,
        json!({"action": "merge_into", "successor": CENTRE, "effective": "2026-04-01"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
}

/// The dossier read by `token` (`as_of` optional), with its status.
async fn dossier(s: &Setup, token: &str, as_of: Option<&str>, at: u64) -> Answer {
    let q = as_of.map_or(String::new(), |d| format!("&as_of={d}"));
    s.node
        .call(
            "GET",
            &format!("/api/v1/dossiers/{}?wait_for={at}{q}", s.dossier),
            Some(token),
            None,
        )
        .await
}

async fn declare(s: &Setup, token: &str, section: Value) -> Answer {
    s.node
        .call(
            "POST",
            &format!("/api/v1/dossiers/{}/declarations", s.dossier),
            Some(token),
            Some(section),
        )
        .await
}

fn identity() -> Value {
    json!({"section": "identity", "fields": [
        {"field": "1", "value": "NGUYỄN THỊ HƯƠNG"}, {"field": "3a", "value": "17/05/1990"},
        {"field": "3b", "value": "Nữ"}, {"field": "25a", "value": PERSON}
    ]})
}

fn recruitment() -> Value {
    json!({"section": "recruitment", "fields": [
        {"field": "11a", "value": "02/01/2026"}, {"field": "11b", "value": "Sở Y tế"}
    ]})
}

/// Headcount of `code` on `date` by category, summed.
async fn headcount(s: &Setup, code: &str, date: &str, at: u64) -> u64 {
    let v = s
        .node
        .get_ok(
            &unit_path(
                code,
                &format!("/headcount?by=category&date={date}&wait_for={at}"),
            ),
            &s.admin,
        )
        .await;
    v["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// Ids found by a search of `unit`'s subtree, with the managing unit shown.
async fn found(s: &Setup, unit: &str, at: u64) -> Vec<(String, String)> {
    let v = s
        .node
        .get_ok(
            &format!("/api/v1/dossiers?unit={unit}&wait_for={at}"),
            &s.admin,
        )
        .await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap().to_owned(),
                h["managing_unit"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dl_5_5_future_merger_moves_staff_on_its_effective_date_not_at_once() {
    let mut s = setup().await;
    let effective = d(2026, 3, 12);
    // Recorded on 2 March, effective ten days later.
    let at = decided(
        &s.node,
        &s.admin,
        HOSPITAL,
        json!({"action": "merge_into", "successor": CENTRE, "effective": "2026-03-12"}),
    )
    .await;

    // Today the dossier is the hospital's, in every read.
    let v = dossier(&s, &s.hospital_focal, None, at).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(v.body["managing_unit"], HOSPITAL);
    let ahead = dossier(&s, &s.hospital_focal, Some("2026-03-12"), at).await;
    assert_eq!(
        ahead.body["managing_unit"], CENTRE,
        "as_of the date: the successor"
    );
    assert_eq!(headcount(&s, HOSPITAL, "2026-03-02", at).await, 1);
    assert_eq!(headcount(&s, CENTRE, "2026-03-02", at).await, 0);
    assert_eq!(headcount(&s, CENTRE, "2026-03-12", at).await, 1);
    assert_eq!(
        found(&s, HOSPITAL, at).await,
        vec![(s.dossier.clone(), HOSPITAL.to_owned())]
    );
    assert!(found(&s, CENTRE, at).await.is_empty());
    // The hospital still changes it; the centre cannot even see it.
    let a = declare(&s, &s.hospital_focal, identity()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let at = a.body["position"].as_u64().unwrap();
    assert_eq!(
        dossier(&s, &s.centre_focal, None, at).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        declare(&s, &s.centre_focal, recruitment()).await.status,
        StatusCode::NOT_FOUND
    );
    // Nothing was written to the dossier: the move waits for its date.
    let history = s
        .node
        .get_ok(
            &format!("/api/v1/dossiers/{}/history?wait_for={at}", s.dossier),
            &s.admin,
        )
        .await;
    assert!(
        !history.to_string().contains("ManagingUnitReassigned"),
        "{history}"
    );

    // The clock passes the date; no one does anything.
    s.advance_to(effective);
    let v = dossier(&s, &s.centre_focal, None, at).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(v.body["managing_unit"], CENTRE);
    let back = dossier(&s, &s.centre_focal, Some("2026-03-11"), at).await;
    assert_eq!(
        back.body["managing_unit"], HOSPITAL,
        "as_of before the date"
    );
    assert_eq!(headcount(&s, CENTRE, "2026-03-12", at).await, 1);
    assert_eq!(
        found(&s, CENTRE, at).await,
        vec![(s.dossier.clone(), CENTRE.to_owned())]
    );
    // The old unit's right ended with it (DL 5.5); the successor's began.
    assert_eq!(
        dossier(&s, &s.hospital_focal, None, at).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        declare(&s, &s.hospital_focal, recruitment()).await.status,
        StatusCode::NOT_FOUND
    );
    let a = declare(&s, &s.centre_focal, recruitment()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // The server writes the move, dated as decided; reads agree before and after.
    let moved = s
        .node
        .state
        .workflows
        .fulfil_due_restructurings()
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(
        s.node
            .state
            .workflows
            .fulfil_due_restructurings()
            .await
            .unwrap(),
        0
    );
    // `/healthz` counts the log's events; the last one's position is one less.
    let at = s.node.log_position(&s.admin).await - 1;
    let history = s
        .node
        .get_ok(
            &format!("/api/v1/dossiers/{}/history?wait_for={at}", s.dossier),
            &s.admin,
        )
        .await;
    let reassigned = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["event_type"] == "dossier.ManagingUnitReassigned")
        .unwrap();
    assert_eq!(reassigned["effective"], "2026-03-12");
    assert_eq!(reassigned["actor"], "system");
    for (as_of, unit) in [
        (Some("2026-03-11"), HOSPITAL),
        (Some("2026-03-12"), CENTRE),
        (None, CENTRE),
    ] {
        let v = dossier(&s, &s.centre_focal, as_of, at).await;
        assert_eq!(v.body["managing_unit"], unit, "as_of {as_of:?}");
    }
    // The hospital's focal point now belongs to the centre, without the old grant.
    let me = s
        .node
        .get_ok("/api/v1/accounts/me", &s.hospital_focal)
        .await;
    assert_eq!(me["org_code"], CENTRE, "{me}");
}

/// A read as known at a date knows only the restructurings recorded by then:
/// a merger recorded on 5 March is unknown to a read as known on 4 March,
/// whatever its `as_of`, and known to one as known on 5 March.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dl_5_5_a_read_as_known_before_a_merger_was_recorded_does_not_see_it() {
    let mut s = setup().await;
    s.advance_to(d(2026, 3, 5));
    let at = decided(
        &s.node,
        &s.admin,
        HOSPITAL,
        json!({"action": "merge_into", "successor": CENTRE, "effective": "2026-03-12"}),
    )
    .await;
    for (known_at, unit) in [("2026-03-04", HOSPITAL), ("2026-03-05", CENTRE)] {
        let v = s
            .node
            .get_ok(
                &format!(
                    "/api/v1/dossiers/{}?wait_for={at}&as_of=2026-03-20&known_at={known_at}",
                    s.dossier
                ),
                &s.admin,
            )
            .await;
        assert_eq!(v["managing_unit"], unit, "known_at {known_at}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_names_in_one_request_on_a_date_ceased_units_by_their_last_name() {
    let s = setup().await;
    let at = split_division_b(&s).await;
    // Any account, in the order asked, each once, a code of no unit left out;
    // a unit that had ceased by the date keeps its last name.
    let names = |codes: &str| {
        format!("/api/v1/org-units/names?codes={codes}&date=2026-03-02&wait_for={at}")
    };
    let asked = format!("{HOSPITAL},{CENTRE},{HOSPITAL},000.99.99.H33,{HEALTH_DIV_B}");
    let got = s.node.get_ok(&names(&asked), &s.hospital_focal).await;
    let codes: Vec<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [HOSPITAL, CENTRE, HEALTH_DIV_B], "{got}");
    assert_eq!(got[1]["name"], "Trung tâm Y tế khu vực");
    assert!(
        got.as_array()
            .unwrap()
            .iter()
            .all(|u| !u["name"].as_str().unwrap().is_empty()),
        "{got}"
    );
    // Nothing asked, nothing named; too many at once is refused.
    let none = s.node.get_ok(&names(""), &s.admin).await;
    assert_eq!(none, json!([]));
    let many: Vec<String> = (0..=hoso_api::routes::org::NAMES_LIMIT)
        .map(|i| format!("000.{i:02}.00.H33"))
        .collect();
    let refused = s
        .node
        .call("GET", &names(&many.join(",")), Some(&s.admin), None)
        .await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "urn:hoso:problem:request:too-many-codes",
    );
}

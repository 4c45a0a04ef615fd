//! Grounds of access that end with time, over real HTTP against the API
//! server on a manual clock: a written consent after its last day, a
//! delegation after its period (BT 4.5, HY 4.8, KT 8.1), and an expired
//! session token. The server is `hoso_api::serve`, as `hoso serve` runs
//! it; only the clock is the test's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use hoso_api::{ApiConfig, AppState};
use hoso_commands::testkit::{EDUCATION, Province, d, doc, staff};
use hoso_domain::account::{AccountChange, AccountKind};
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PW: &str = "Cua-Toi#2026!y";

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn login(&self, user: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&json!({"username": user, "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_4_5_consents_and_kt_8_1_delegations_end_and_tokens_expire() {
    let p = Province::new("national", d(2026, 3, 10)).await;
    let pid = "001190004321";
    let edu = p.open(pid, EDUCATION, &p.education_focal).await;
    p.declare_basics(&p.education_focal, &edu, pid).await;
    let deputy = staff(
        &p.wf,
        &p.admin,
        "gd.phogiamdoc",
        EDUCATION,
        AccountKind::Specialist,
        None,
    )
    .await;
    // A consent for the health focal point, in force through 10 March.
    p.wf.account(
        &p.admin,
        &p.health_focal.account_id,
        AccountChange::GrantConsent {
            consent_id: "c-1".into(),
            subject_person_id: pid.into(),
            document: doc("7/GĐY-SGD", d(2026, 3, 9)),
            expires: d(2026, 3, 10),
            section_codes: vec![],
        },
    )
    .await
    .unwrap();
    // The education head's approval power delegated for 10–11 March.
    p.wf.account(
        &p.education_head.actor,
        &p.education_head.actor.account_id,
        AccountChange::Delegate {
            delegation_id: "del-1".into(),
            to_account: deputy.account_id.clone(),
            valid_from: d(2026, 3, 10),
            valid_until: d(2026, 3, 11),
            org_codes: vec![],
            categories: vec![],
            decision: doc("12/QĐ-SGD", d(2026, 3, 9)),
        },
    )
    .await
    .unwrap();

    let Province {
        dir,
        store,
        clock,
        wf,
        ..
    } = p;
    let (read, _) = ReadModel::open(dir.path()).unwrap();
    read.catch_up(store.as_ref() as &dyn EventStore)
        .await
        .unwrap();
    let keyring = wf.keyring().clone();
    let state = Arc::new(
        AppState::new(
            dir.path(),
            Arc::new(wf),
            Arc::new(read),
            keyring,
            ApiConfig {
                session_ttl: Duration::from_secs(2),
                ..ApiConfig::default()
            },
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(hoso_api::serve(listener, state, std::future::pending()));
    let c = Client {
        base,
        http: reqwest::Client::new(),
    };
    let path = format!("/api/v1/dossiers/{edu}");

    let reader = c.login("yte.tochuc").await;
    let sub = c.login("gd.phogiamdoc").await;
    let (status, v) = c.get(&path, &reader).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["access"]["basis"], "consent:c-1");
    let (status, v) = c.get(&path, &sub).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["access"]["basis"], "delegation:del-1");

    // 11 March: the consent has lapsed; the delegation holds.
    hoso_commands::testkit::set_today(&clock, d(2026, 3, 11));
    let (status, v) = c.get(&path, &reader).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(c.get(&path, &sub).await.0, StatusCode::OK);
    // 12 March: so has the delegation.
    hoso_commands::testkit::set_today(&clock, d(2026, 3, 12));
    let (status, v) = c.get(&path, &sub).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");

    // Sessions end on their own.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, v) = c.get(&path, &reader).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["type"], "urn:hoso:problem:session:token-expired");
}

//! Grounds of access that end with time, through the API's router on a
//! manual clock: a written consent after its last day, a delegation after
//! its period (BT 4.5, HY 4.8, KT 8.1), and an expired session token. The
//! requests go to `hoso_api::router` in-process (nothing here depends on a
//! socket); the clock is the test's, and sessions read it too, so time
//! passes by moving the clock, never by sleeping.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoso_api::{ApiConfig, AppState};
use hoso_commands::testkit::{EDUCATION, Province, d, doc, staff};
use hoso_domain::account::{AccountChange, AccountKind};
use hoso_domain::clock::Clock;
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PW: &str = "Cua-Toi#2026!y";
/// Long enough to outlast the two days the grounds of access take to end.
const SESSION_TTL: Duration = Duration::from_secs(3 * 24 * 3600);

struct Client {
    router: Router,
}

impl Client {
    async fn send(&self, rq: Request<Body>) -> (StatusCode, Value) {
        let r = self.router.clone().oneshot(rq).await.unwrap();
        let status = r.status();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn login(&self, user: &str) -> String {
        let rq = Request::post("/api/v1/sessions")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": user, "password": PW}).to_string(),
            ))
            .unwrap();
        let (status, v) = self.send(rq).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let rq = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.send(rq).await
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
    let keyring = wf.keyring().clone();
    let sealer = Arc::new(hoso_api::access::KeyringSealer(keyring.clone()));
    let (read, _) = ReadModel::open(dir.path(), clock.clone(), sealer).unwrap();
    read.catch_up(store.as_ref() as &dyn EventStore)
        .await
        .unwrap();
    let state = Arc::new(
        AppState::new(
            dir.path(),
            Arc::new(wf),
            Arc::new(read),
            keyring,
            ApiConfig {
                session_ttl: SESSION_TTL,
                ..ApiConfig::default()
            },
        )
        .unwrap(),
    );
    let c = Client {
        router: hoso_api::router(state),
    };
    let path = format!("/api/v1/dossiers/{edu}");

    let logged_in_at = clock.now();
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

    // Sessions end on their own: alive to the last second of their
    // lifetime, refused after it.
    let ttl = chrono::Duration::from_std(SESSION_TTL).unwrap();
    clock.set(logged_in_at + ttl - chrono::Duration::seconds(1));
    let (status, v) = c.get("/api/v1/accounts/me", &reader).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    clock.set(logged_in_at + ttl + chrono::Duration::seconds(1));
    let (status, v) = c.get(&path, &reader).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["type"], "urn:hoso:problem:session:token-expired");
}

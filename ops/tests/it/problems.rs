//! Refusals as a caller reads them over HTTP: the rule of the profile in
//! force, named with its article and dates, in the API's spellings.

use std::sync::Arc;

use ed25519_dalek::Signer;
use hoso_commands::testkit::{Province, SCHOOL, d, set_today};
use hoso_schemas::pb::common::AccessRight;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::node::Node;

const PID: &str = "033190001234";

/// Kon Tum lets a head delegate the signature to a deputy (KT 8.1a). Once
/// the delegation has ended, the deputy's signature is refused as such: the
/// refusal cites the Kon Tum rule and says the day it ended, not that the
/// deputy has no approval authority (DT 11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kt_8_1_an_ended_delegation_is_cited_with_the_day_it_ended() {
    let p = Province::new("kon-tum", d(2026, 3, 27)).await;
    // A deputy director reads the department's dossiers on their own right.
    let deputy = p.education_deputy(Some(AccessRight::Access)).await;
    let id = p.locked_dossier(PID, SCHOOL, &p.education_focal).await;
    // April: the delegation ended on 31 March.
    set_today(&p.clock, d(2026, 4, 2));
    let Province { dir, store, wf, .. } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let token = node.session(&deputy.actor.account_id);
    let approvals = format!("/api/v1/dossiers/{id}/approvals");
    let rq = node.get_ok(&approvals, &token).await;
    let digest = hex::decode(rq["digest"].as_str().unwrap()).unwrap();
    let refused = node
        .post(
            &approvals,
            &token,
            json!({"revision": rq["revision"], "stream_hash": rq["stream_hash"],
                   "key_id": deputy.key_id, "signature": hex::encode(deputy.key.sign(&digest).to_bytes())}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        refused.body["type"],
        "urn:hoso:problem:access:delegation-ended"
    );
    assert_eq!(refused.body["citation"], "KT 8.1a", "{}", refused.body);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("ended on 2026-03-31"), "{detail}");
}

/// An unknown section or a field outside its section is refused with the
/// valid ones listed, as an unknown enumerated value is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_section_or_field_lists_the_valid_ones() {
    let p = Province::new("kon-tum", d(2026, 3, 27)).await;
    let id = p.open(PID, SCHOOL, &p.education_focal).await;
    let focal = p.education_focal.account_id.clone();
    let Province { dir, store, wf, .. } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let token = node.session(&focal);
    let decl = format!("/api/v1/dossiers/{id}/declarations");
    let a = node
        .post(
            &decl,
            &token,
            json!({"section": "identiti", "fields": [{"field": "1", "value": "An"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("valid sections: identity, residence"),
        "{detail}"
    );
    let a = node
        .post(
            &decl,
            &token,
            json!({"section": "identity", "fields": [{"field": "99", "value": "An"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap();
    assert!(detail.contains("its fields: 1, 2, 3a, 3b"), "{detail}");
    let a = node
        .post(
            &format!("/api/v1/dossiers/{id}/status"),
            &token,
            json!({"status": "Retired", "effective": "2026-03-27",
                   "document": {"number": "1/QĐ", "date": "2026-03-27", "issuer": "UBND"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let detail = a.body["detail"].as_str().unwrap();
    assert!(detail.contains("valid values: active,"), "{detail}");
}

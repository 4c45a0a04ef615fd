//! The receiving agency's list of transfers waiting for its answer over HTTP
//! (`GET /transfers`): a dossier sent by the hospital to Education is listed
//! for Education, with what accepting or rejecting it needs, and for no one
//! outside Education's scope; once answered it leaves the list (DL 10.2,
//! KT 11.2).

use std::sync::Arc;

use hoso_commands::testkit::{EDUCATION, HEALTH, HOSPITAL, Province, d};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::node::Node;

const PID: &str = "033190004321";

/// The province on 6 April 2026, the hospital dossier sent to Education;
/// the node, the dossier, the transfer and the tokens of the health and
/// education focal points.
async fn sent(kind: &str) -> (Node, String, String, String, String, u64) {
    let p = Province::new("binh-thuan", d(2026, 1, 5)).await;
    let dossier = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.set_today(d(2026, 4, 6));
    let Province {
        dir,
        store,
        wf,
        health_focal,
        education_focal,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let focal = node.session(&health_focal.account_id);
    let education = node.session(&education_focal.account_id);
    let scan = node
        .upload(&dossier, &focal, b"quyet dinh thuyen chuyen".to_vec())
        .await;
    assert_eq!(scan.status, StatusCode::CREATED, "{}", scan.body);
    let r = node
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{dossier}/transfers"),
            &focal,
            json!({"action": "initiate", "kind": kind, "to": EDUCATION, "effective": "2026-04-06",
                   "document": {"number": "60/QĐ-UBND", "date": "2026-04-03",
                                "issuer": "UBND tỉnh Bình Thuận", "attachment_sha256": scan.body["sha256"]}}),
        )
        .await;
    let transfer = r["id"].as_str().unwrap().to_owned();
    let position = r["position"].as_u64().unwrap();
    (node, dossier, transfer, focal, education, position)
}

async fn listed(node: &Node, token: &str, query: &str) -> Vec<Value> {
    node.get_ok(&format!("/api/v1/transfers?{query}"), token)
        .await
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn kt_11_2_the_receiving_agency_lists_what_waits_for_its_answer() {
    let (node, dossier, transfer, focal, education, at) = sent("transfer").await;
    let waiting = listed(&node, &education, &format!("wait_for={at}")).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let t = &waiting[0];
    assert_eq!(t["transfer_id"], transfer.as_str());
    assert_eq!(t["dossier_id"], dossier.as_str());
    assert_eq!(t["kind"], "transfer");
    assert_eq!(
        (&t["from_unit"], &t["to_unit"]),
        (&json!(HOSPITAL), &json!(EDUCATION))
    );
    assert_eq!(t["effective"], "2026-04-06");
    assert_eq!(t["decision_number"], "60/QĐ-UBND");
    assert!(!t["full_name"].as_str().unwrap().is_empty(), "{t}");
    // The same with the unit named; the sender's list is its own, and
    // Education's subtree is not the sender's to look into.
    let named = listed(&node, &education, &format!("unit={EDUCATION}")).await;
    assert_eq!(named.len(), 1);
    assert!(listed(&node, &focal, "").await.is_empty());
    let outside = node
        .get(&format!("/api/v1/transfers?unit={EDUCATION}"), &focal)
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND, "{}", outside.body);
    let outside = node
        .get(&format!("/api/v1/transfers?unit={HEALTH}"), &education)
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND, "{}", outside.body);

    // Accepted, it leaves the list.
    let r = node
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{dossier}/transfers"),
            &education,
            json!({"action": "accept", "transfer_id": transfer}),
        )
        .await;
    let after = r["position"].as_u64().unwrap();
    assert!(
        listed(&node, &education, &format!("wait_for={after}"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn kt_11_2_a_rejected_transfer_leaves_the_list() {
    let (node, dossier, transfer, _, education, at) = sent("reassignment").await;
    assert_eq!(
        listed(&node, &education, &format!("wait_for={at}"))
            .await
            .len(),
        1
    );
    let r = node
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{dossier}/transfers"),
            &education,
            json!({"action": "reject", "transfer_id": transfer, "reason": "Không còn biên chế"}),
        )
        .await;
    let after = r["position"].as_u64().unwrap();
    assert!(
        listed(&node, &education, &format!("wait_for={after}"))
            .await
            .is_empty()
    );
}

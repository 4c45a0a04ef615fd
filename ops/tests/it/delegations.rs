//! A head's delegations as the head reads them back over HTTP
//! (`GET /accounts/me`, KT 8.1): given, in force, then ended early; an
//! account that never delegated has no `delegations` member; the staff
//! accounts a head may pick as deputy (`GET /accounts/me/delegates`).

use std::sync::Arc;

use hoso_commands::testkit::{Province, d};
use serde_json::json;

use crate::support::node::Node;

#[tokio::test]
async fn kt_8_1_a_head_reads_back_the_delegations_given_and_their_end() {
    let p = Province::new("binh-thuan", d(2026, 4, 6)).await;
    let Province {
        dir,
        store,
        wf,
        health_head,
        health_focal,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let head_id = health_head.actor.account_id.clone();
    let head = node.session(&head_id);
    let focal = node.session(&health_focal.account_id);
    let me = node.get_ok("/api/v1/accounts/me", &head).await;
    assert!(me.get("delegations").is_none(), "{me}");

    let changes = format!("/api/v1/accounts/{head_id}/changes");
    node.ok(
        "POST",
        &changes,
        &head,
        json!({"action": "delegate", "delegation_id": "uq-1", "to_account": health_focal.account_id,
               "valid_from": "2026-04-06", "valid_until": "2026-04-30",
               "categories": ["vien_chuc"],
               "decision": {"number": "12/QĐ-SYT", "date": "2026-04-03", "issuer": "Sở Y tế"}}),
    )
    .await;
    let me = node.get_ok("/api/v1/accounts/me", &head).await;
    let given = &me["delegations"]["uq-1"];
    assert_eq!(
        given["to_account"],
        health_focal.account_id.as_str(),
        "{me}"
    );
    assert_eq!(
        (&given["valid_from"], &given["valid_until"]),
        (&json!("2026-04-06"), &json!("2026-04-30"))
    );
    assert_eq!(given["categories"], json!(["vien_chuc"]));
    assert_eq!(
        (&given["in_force"], &given["revoked"]),
        (&json!(true), &json!(false))
    );
    // The deputy's own account lists none: they are the head's to give.
    let deputy = node.get_ok("/api/v1/accounts/me", &focal).await;
    assert!(deputy.get("delegations").is_none(), "{deputy}");

    node.ok(
        "POST",
        &changes,
        &head,
        json!({"action": "revoke_delegation", "delegation_id": "uq-1", "reason": "Đã trở lại"}),
    )
    .await;
    let me = node.get_ok("/api/v1/accounts/me", &head).await;
    let ended = &me["delegations"]["uq-1"];
    assert_eq!(
        (&ended["in_force"], &ended["revoked"]),
        (&json!(false), &json!(true))
    );
}

#[tokio::test]
async fn kt_8_1_a_head_picks_a_deputy_among_the_staff_accounts_of_their_unit() {
    let p = Province::new("binh-thuan", d(2026, 4, 6)).await;
    let Province {
        dir,
        store,
        wf,
        health_head,
        health_focal,
        education_focal,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let head_id = health_head.actor.account_id.clone();
    let head = node.session(&head_id);

    let listed = node.get_ok("/api/v1/accounts/me/delegates", &head).await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(ids.contains(&health_focal.account_id.as_str()), "{listed}");
    assert!(
        !ids.contains(&education_focal.account_id.as_str()),
        "another department's staff is outside the head's unit: {listed}"
    );
    assert!(!ids.contains(&head_id.as_str()), "not the head: {listed}");
    let focal = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == health_focal.account_id.as_str())
        .unwrap();
    for field in ["username", "display_name", "org_code", "kind"] {
        assert!(focal[field].is_string(), "{field}: {focal}");
    }
    assert!(focal["keys"].is_array(), "{focal}");

    // Anyone but a head is refused, as their delegation would be.
    let other = node.session(&health_focal.account_id);
    let refused = node.get("/api/v1/accounts/me/delegates", &other).await;
    assert_eq!(
        refused.status,
        reqwest::StatusCode::FORBIDDEN,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["citation"], "KT 8.1", "{}", refused.body);
}

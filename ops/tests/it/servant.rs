//! What the portal's public servant and reviewer pages read, over HTTP on the
//! testkit's province: the review queues' search by review state (an
//! unknown state refused with the valid ones listed), who has read a dossier
//! (its holder and admin right over its unit; anyone else's dossier not
//! found) and one dossier's deadlines in working days. Served in-process
//! (`support::node`) for the testkit's manual clock, which makes a deadline
//! pass without waiting.

use std::sync::Arc;

use hoso_commands::testkit::{EDUCATION, HEALTH, HOSPITAL, Province, SCHOOL, d, set_today};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::node::Node;

const PID: &str = "033190001234";
const OTHER: &str = "033190005678";

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queues_search_by_review_state() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let waiting = p.open(PID, HOSPITAL, &p.health_focal).await;
    let declared = p.open(OTHER, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &declared, OTHER).await;
    let locked = p
        .locked_dossier("033190002468", HOSPITAL, &p.health_focal)
        .await;
    let school = p
        .locked_dossier("033190003579", SCHOOL, &p.education_focal)
        .await;
    let focal = p.health_focal.account_id.clone();
    let Province { dir, store, wf, .. } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let token = node.session(&focal);
    let queue = |state: &str, unit: &str| {
        let (node, token) = (&node, &token);
        let q = format!("/api/v1/dossiers?unit={unit}&workflow={state}");
        async move { node.get_ok(&q, token).await }
    };
    let page = queue("awaiting_declaration", HEALTH).await;
    assert_eq!(ids(&page), vec![waiting.as_str()], "{page}");
    let page = queue("declaring", HEALTH).await;
    assert_eq!(ids(&page), vec![declared.as_str()], "{page}");
    assert_eq!(page["items"][0]["workflow"], "declaring");
    let page = queue("locked", HEALTH).await;
    assert_eq!(ids(&page), vec![locked.as_str()], "{page}");
    assert!(ids(&queue("approved", HEALTH).await).is_empty());
    // Another department's locked dossier is in its queue, not outside scope.
    assert!(!ids(&page).contains(&school.as_str()));
    let outside = node
        .get(
            &format!("/api/v1/dossiers?unit={EDUCATION}&workflow=locked"),
            &token,
        )
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND, "{}", outside.body);

    let unknown = node
        .get(
            &format!("/api/v1/dossiers?unit={HEALTH}&workflow=approving"),
            &token,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown.body["type"],
        "urn:hoso:problem:request:invalid-value"
    );
    let detail = unknown.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "valid values: awaiting_declaration, declaring, returned, verified, locked, approved"
        ),
        "{detail}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_4_3_a_person_sees_who_read_their_dossier_and_their_deadlines_and_no_one_elses() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let person = p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&person, &id, PID).await;
    let other_id = p.open(OTHER, HOSPITAL, &p.health_focal).await;
    let other = p.personal_account(OTHER, HOSPITAL, &p.health_focal).await;
    let (focal, admin) = (
        p.health_focal.account_id.clone(),
        p.admin.account_id.clone(),
    );
    let Province {
        dir,
        store,
        wf,
        clock,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let person_t = node.session(&person.account_id);
    let (focal_t, admin_t) = (node.session(&focal), node.session(&admin));

    // The focal point reads the identification number (restricted, BT 4.3):
    // the read is recorded under its update right.
    let read = node
        .get_ok(
            &format!("/api/v1/dossiers/{id}?purpose=th%E1%BA%A9m%20%C4%91%E1%BB%8Bnh"),
            &focal_t,
        )
        .await;
    assert_eq!(read["access"]["basis"], "right:update", "{read}");
    let head = node.log_position(&admin_t).await - 1;
    let readers = format!("/api/v1/dossiers/{id}/readers?wait_for={head}");
    let mine = node.get_ok(&readers, &person_t).await;
    let by_focal: Vec<&Value> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reader"] == focal.as_str())
        .collect();
    assert_eq!(by_focal.len(), 1, "{mine}");
    let r = by_focal[0];
    assert_eq!(r["basis"], "right:update", "{r}");
    assert_eq!(r["purpose"], "thẩm định", "{r}");
    assert_eq!(r["reader_name"], "Cán bộ yte.tochuc", "{r}");
    assert_eq!(r["reader_kind"], "specialist", "{r}");
    assert_eq!(r["reader_unit"], HEALTH, "{r}");
    assert_eq!(
        r["fields"],
        serde_json::json!(["identity/25a#0", "person_id"])
    );
    assert!(r["at"].as_str().unwrap().starts_with("2026-03-02"), "{r}");
    // Admin right over the unit (the Sở Nội vụ's) sees the same list.
    let admin_view = node.get_ok(&readers, &admin_t).await;
    assert_eq!(admin_view["items"], mine["items"]);
    // A right to update the dossier is not a right to its readers.
    let refused = node.get(&readers, &focal_t).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        refused.body["type"],
        "urn:hoso:problem:access:insufficient-right"
    );

    // Deadlines: the review runs from the declaration (HY 10.3), five
    // working days; three weeks later it is overdue.
    set_today(&clock, d(2026, 3, 23));
    // Sessions last hours, not weeks: new ones on the new day.
    let (person_t, other_t, focal_t) = (
        node.session(&person.account_id),
        node.session(&other.account_id),
        node.session(&focal),
    );
    let deadlines = format!("/api/v1/dossiers/{id}/obligations");
    let open = node.get_ok(&deadlines, &person_t).await;
    let review = open
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["obligation"] == "review_new_dossier")
        .unwrap_or_else(|| panic!("{open}"));
    assert_eq!(review["citation"], "HY 10.3");
    assert_eq!(review["due"], "2026-03-09");
    assert!(
        review["overdue_working_days"].as_u64().unwrap() > 5,
        "{review}"
    );
    assert_eq!(node.get_ok(&deadlines, &focal_t).await, open);

    // Another person's dossier is not found, its readers and deadlines alike.
    for path in [
        format!("/api/v1/dossiers/{id}/readers"),
        format!("/api/v1/dossiers/{id}/obligations"),
    ] {
        let a = node.get(&path, &other_t).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}: {}", a.body);
    }
    // Their own are theirs.
    let theirs = node
        .get_ok(&format!("/api/v1/dossiers/{other_id}/readers"), &other_t)
        .await;
    assert!(theirs["items"].is_array(), "{theirs}");
    assert!(
        node.get_ok(
            &format!("/api/v1/dossiers/{other_id}/obligations"),
            &other_t
        )
        .await
        .is_array()
    );
}

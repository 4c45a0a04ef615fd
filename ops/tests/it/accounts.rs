//! `GET /api/v1/accounts` over HTTP: the accounts an administrator
//! administers (DL 12.2, HY 5.1), Sở Nội vụ all of them, an agency
//! administrator those of its own subtree, with kind, unit, rights, lock and
//! keys; anyone else refused as for any change to an account.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support;
use crate::support::api::{Client, HEALTH, ROOT, decision};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
const PW: &str = "Cua-Toi#2026!y";
const EDUCATION: &str = "000.03.00.H33";

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dl_12_2_accounts_are_listed_to_those_who_administer_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ADMIN_OTP);
    let served = support::serve(&data);
    let c = Client::conforming(served.base.clone()).await;
    let admin = c.first_login("snv.admin", ADMIN_OTP, PW).await;
    c.health_department(&admin).await;
    c.ok(
        "POST",
        "/api/v1/org-units",
        &admin,
        json!({"code": EDUCATION, "decision": decision("2/QĐ-UBND"),
               "change": {"action": "establish", "name": "Sở Giáo dục và Đào tạo",
                          "kind": "provincial_department", "parent": ROOT, "effective": "2026-01-05"}}),
    )
    .await;
    let (health_admin_id, health_admin) = c
        .staff(&admin, "agency_admin", "yte.quantri", HEALTH, "admin", PW)
        .await;
    let (focal_id, focal) = c
        .staff(&admin, "specialist", "yte.tochuc", HEALTH, "update", PW)
        .await;
    let (edu_id, _) = c
        .staff(&admin, "specialist", "gd.tochuc", EDUCATION, "update", PW)
        .await;

    // Sở Nội vụ sees every account, its own included.
    let all = c.get_ok("/api/v1/accounts", &admin).await;
    let every = ids(&all);
    for id in [&health_admin_id, &focal_id, &edu_id] {
        assert!(every.contains(id), "{all}");
    }
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|a| a["username"] == "snv.admin")
    );

    // The health department's administrator sees its own subtree only.
    let lock = json!({"action": "lock", "note": "nghỉ phép dài hạn"});
    c.ok(
        "POST",
        &format!("/api/v1/accounts/{focal_id}/changes"),
        &health_admin,
        lock,
    )
    .await;
    let mine = c.get_ok("/api/v1/accounts", &health_admin).await;
    let seen = ids(&mine);
    assert!(
        seen.contains(&focal_id) && seen.contains(&health_admin_id),
        "{mine}"
    );
    assert!(!seen.contains(&edu_id), "{mine}");
    assert!(
        !mine
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["username"] == "snv.admin")
    );
    let f = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == focal_id.as_str())
        .unwrap();
    assert_eq!(f["kind"], "specialist");
    assert_eq!(f["org_code"], HEALTH);
    assert_eq!(f["grants"], json!({HEALTH: "update"}));
    assert_eq!(f["locked"], "other");
    assert_eq!(f["has_password"], true);
    assert_eq!(f["must_change_password"], false);

    // A specialist administers no account: refused, as a change would be.
    let edu_focal = c.token("gd.tochuc", PW).await;
    let refused = c.get("/api/v1/accounts", &edu_focal).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(
        refused.body["type"],
        "urn:hoso:problem:access:insufficient-right"
    );
    // The locked focal point's sessions ended with the lock.
    let ended = c.get("/api/v1/accounts", &focal).await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED, "{}", ended.body);
}

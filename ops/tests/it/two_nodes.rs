//! Two `hoso serve` nodes over one PostgreSQL database (issue 17): the second node
//! is made by copying the first's `hoso.toml` and key files, not by `hoso init`;
//! writes through either are read through the other (`wait_for`), a session made on
//! one works on the other, a password changed through one logs in on the other, a
//! document uploaded through one is read through the other, and only the node
//! holding the lease signs tree heads.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::api::{Client, HEALTH, ROOT, decision};
use crate::support::{arg, hoso_cmd, serve, text};

const ISSUED: &str = "Khoi-Tao#2026!a";
const CHOSEN: &str = "Hai-Nut-Chung#2026";

/// `hoso init --backend postgres --url URL` of `data`.
fn init_postgres(data: &Path, url: &str) {
    let o = hoso_cmd()
        .args([
            "init",
            "--data",
            &arg(data),
            "--backend",
            "postgres",
            "--url",
            url,
        ])
        .env("HOSO_ADMIN_PASSWORD", ISSUED)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_over_one_postgres_serve_each_others_writes_and_sessions() {
    let Some(server) =
        hoso_ledger::postgres::testing::server_url("two hoso serve nodes over one PostgreSQL")
    else {
        return;
    };
    let url = hoso_ledger::postgres::testing::scratch_database(&server).await;
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    init_postgres(&a_dir, &url);
    let toml = std::fs::read_to_string(a_dir.join("hoso.toml")).unwrap();
    assert!(toml.contains("backend = \"postgres\""), "{toml}");

    // A second `hoso init` on the same database is refused: nodes are copies.
    let again = hoso_cmd()
        .args([
            "init",
            "--data",
            &arg(&tmp.path().join("c")),
            "--backend",
            "postgres",
            "--url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        text(&again).contains("already holds a ledger"),
        "{}",
        text(&again)
    );
    // A URL with a password in it is refused, naming where the password goes.
    let with_password = url.replacen("postgres@", "postgres:secret@", 1);
    let refused = hoso_cmd()
        .args([
            "init",
            "--data",
            &arg(&tmp.path().join("d")),
            "--backend",
            "postgres",
            "--url",
            &with_password,
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("HOSO_DATABASE_PASSWORD"),
        "{}",
        text(&refused)
    );

    // Node B: the same settings and key files, nothing else.
    std::fs::create_dir_all(&b_dir).unwrap();
    for f in [
        "hoso.toml",
        "field-keys.json",
        "ledger-keys.json",
        "connection-key.json",
    ] {
        std::fs::copy(a_dir.join(f), b_dir.join(f)).unwrap();
    }
    let a = serve(&a_dir);
    let b = serve(&b_dir);
    let (api_a, api_b) = (Client::new(&a.base), Client::new(&b.base));

    // The administrator's first login on A; the session works on B.
    let admin = api_a.first_login("snv.admin", ISSUED, CHOSEN).await;
    let me = api_b.get("/api/v1/accounts/me", &admin).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    // The password changed through A logs in on B.
    let on_b = api_b.token("snv.admin", CHOSEN).await;

    // Written through A, read through B once B has caught up with A's position.
    api_a.health_department(&admin).await;
    let wait = api_a.log_position(&admin).await - 1;
    let health = api_b
        .get(
            &format!("/api/v1/org-units/{HEALTH}?wait_for={wait}"),
            &on_b,
        )
        .await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.body);

    // Written through B, read through A.
    let education = "000.03.00.H33";
    api_b
        .ok(
            "POST",
            "/api/v1/org-units",
            &on_b,
            json!({"code": education, "decision": decision("2/QĐ-UBND"),
                   "change": {"action": "establish", "name": "Sở Giáo dục", "kind": "provincial_department",
                              "parent": ROOT, "effective": "2026-01-05"}}),
        )
        .await;
    let wait = api_b.log_position(&on_b).await - 1;
    let seen = api_a
        .get(
            &format!("/api/v1/org-units/{education}?wait_for={wait}"),
            &admin,
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);

    // A document uploaded through A is read through B: the encrypted bytes and
    // the dossier's data key are in the database, not in A's directory.
    let (_, focal) = api_a
        .staff(&admin, "specialist", "yte.tochuc", HEALTH, "update", CHOSEN)
        .await;
    let dossier = api_a
        .open_dossier(&focal, "001090001234", "Nguyễn Văn An")
        .await;
    let scan = "QUYẾT ĐỊNH tuyển dụng số 15/QĐ-SYT".as_bytes().to_vec();
    let uploaded = api_a.upload(&dossier, &focal, scan.clone()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    let sha = uploaded.body["sha256"].as_str().unwrap().to_owned();
    // A document is read through the dossier that cites it: an award citing it.
    let mut award = decision("16/QĐ-UBND");
    award["attachment_sha256"] = json!(sha);
    api_a
        .ok(
            "POST",
            &format!("/api/v1/dossiers/{dossier}/decisions"),
            &focal,
            json!({"kind": "award", "effective": "2026-01-05", "document": award,
                   "form": "Giấy khen", "reason": "Hoàn thành xuất sắc nhiệm vụ", "year": 2026}),
        )
        .await;
    let wait = api_a.log_position(&admin).await - 1;
    let read = api_b
        .get(
            &format!("/api/v1/dossiers/{dossier}/attachments/{sha}?wait_for={wait}"),
            &focal,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.bytes, scan);
    for dir in [&a_dir, &b_dir] {
        let local = dir.join("attachments");
        let files = std::fs::read_dir(&local).map_or(0, |d| d.count());
        assert_eq!(files, 0, "{} holds attachment files", local.display());
    }

    // One node at a time seals: A, started first, holds the lease and signed the
    // heads; B follows the log and signs none.
    assert!(a_dir.join("tree-head.json").exists());
    assert!(
        !b_dir.join("tree-head.json").exists(),
        "the node without the lease signed a tree head"
    );

    // Logged out through B, the session is gone on A too.
    let out = api_b
        .call("DELETE", "/api/v1/sessions", Some(&admin), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let gone = api_a.get("/api/v1/accounts/me", &admin).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED, "{}", gone.body);
}

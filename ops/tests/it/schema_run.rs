//! A schema-driven run over the served OpenAPI document: schemathesis (from
//! PyPI) generates requests from the document alone, valid and invalid, and
//! checks that the server never fails (5xx), answers only the statuses and
//! media types the document lists, with bodies its schemas accept, and refuses
//! what the document calls invalid. The HTTP tests check the requests they
//! make by hand; this checks the ones nobody thought of.
//!
//! schemathesis is a Python tool: `.ci/run` installs it into a virtual
//! environment and names it in `HOSO_SCHEMATHESIS`. Elsewhere the test looks
//! for `schemathesis` on the PATH and, when there is none, says so and passes
//! without running, except under `.ci/run` (`HOSO_CI_STANDALONE`), where a
//! missing tool is a failure.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::support::{self, api::Client};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
const PW: &str = "Hai-Lan#2026!Kx9";

fn schemathesis() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HOSO_SCHEMATHESIS") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("schemathesis"))
            .find(|p| p.is_file())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_survives_a_schema_driven_run() {
    let Some(tool) = schemathesis() else {
        assert!(
            std::env::var_os("HOSO_CI_STANDALONE").is_none(),
            "schemathesis is missing: .ci/run installs it and sets HOSO_SCHEMATHESIS"
        );
        eprintln!(
            "NOTE: schemathesis is not installed (pip install schemathesis, or set \
             HOSO_SCHEMATHESIS): the schema-driven run was skipped"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    support::init(&data, ADMIN_OTP);
    let served = support::serve(&data);
    let api = Client::conforming(served.base.clone()).await;
    let admin = api.first_login("snv.admin", ADMIN_OTP, PW).await;
    // Something to find: a unit, a dossier in it.
    api.health_department(&admin).await;
    api.ok(
        "POST",
        "/api/v1/dossiers",
        &admin,
        json!({"person_id": "001090001234", "full_name": "Nguyễn Văn An",
               "birth_date": "1990-05-17", "category": "cong_chuc",
               "managing_unit": support::api::HEALTH, "employing_unit": support::api::HEALTH,
               "recruited_on": "2026-01-05", "decision": support::api::decision("15/QĐ-SYT")}),
    )
    .await;
    let out = Command::new(&tool)
        .args([
            "run",
            &format!("{}/api/v1/openapi.json", served.base),
            "--header",
            &format!("Authorization: Bearer {admin}"),
            "--checks",
            "all",
            // The document cannot express every rule of the domain (a unit
            // that exists, a password policy), so a request valid by its
            // schemas may still be refused; the reverse is checked.
            "--exclude-checks",
            "positive_data_acceptance",
            // Logging out would end the run's session, and wrong current
            // passwords lock the account (HY 5.1); the HTTP tests cover both.
            "--exclude-operation-id",
            "logout",
            "--exclude-operation-id",
            "change_own_password",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "10",
            "--workers",
            "2",
            "--seed",
            "16",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = support::text(&out);
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    assert!(text.contains("passed"), "{text}");
}

//! A national record pushed over HTTP by the Sở Nội vụ for a person arriving
//! from another province (BT 11.1, HY 11.2), against `hoso serve`: the
//! record (`tests/fixtures/national-record.json`, a `hoso-national/1`
//! document as the sending province writes it) becomes a dossier through
//! the import rules, its event keeps the source and the digest of the bytes
//! received, the identification number stays sealed on disk; a second push,
//! a record without the number, an unknown field and a caller without the
//! right are refused as problems.
//!
//! On the real server because what is tested is the route as shipped: the
//! raw body read for the digest, the served keyring sealing the number, and
//! the files `hoso serve` writes.

use std::path::PathBuf;

use crate::support;
use crate::support::api::{Body, Client, HEALTH};

use hoso_ledger::EventStore;
use hoso_ledger::sqlite::SqliteStore;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
const PW: &str = "Cua-Toi#2026!y";
/// The number in the fixture.
const PID: &str = "079190004321";
const IMPORTS: &str = "/api/v1/dossiers/imports";

/// The request body around `record`, whose bytes are put in as they are.
fn push(record: &[u8], record_id: &str) -> Vec<u8> {
    let mut body = format!(
        r#"{{"source_system":"snv-79","source_record_id":"{record_id}","managing_unit":"{HEALTH}","handed_over_on":"2026-01-05","record":"#
    )
    .into_bytes();
    body.extend_from_slice(record);
    body.push(b'}');
    body
}

fn fixture() -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/national-record.json"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_national_record_becomes_a_dossier_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ADMIN_OTP);
    let served = support::serve(&data);
    let s = Client::conforming(served.base.clone()).await;
    let api = s.document();
    let route = &api["paths"][IMPORTS]["post"];
    assert!(route["responses"]["201"].is_object(), "{route}");
    for schema in ["ImportIn", "ImportOut"] {
        assert!(api["components"]["schemas"][schema].is_object(), "{schema}");
    }
    let admin = s.first_login("snv.admin", ADMIN_OTP, PW).await;
    s.health_department(&admin).await;
    // A unit's specialist with update right: may open dossiers, not import.
    let (_, clerk) = s
        .staff(&admin, "specialist", "yte.tochuc", HEALTH, "update", PW)
        .await;

    let record = fixture();
    let (status, refused) = s
        .request("POST", IMPORTS, &clerk, Body::Raw(push(&record, "QG-79-1")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["type"], "urn:hoso:problem:access:system-admin-only");

    // The record as the sending province wrote it.
    let (status, created) = s
        .request("POST", IMPORTS, &admin, Body::Raw(push(&record, "QG-79-1")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["dossier_id"].as_str().unwrap().to_owned();
    assert_eq!(created["receipt"]["id"], id.as_str());
    let digest = hex::encode(Sha256::digest(&record));
    assert_eq!(created["source_digest"], digest.as_str());
    let position = created["receipt"]["position"].as_u64().unwrap();

    // The dossier holds the record's sections, awaiting review (BT 11.1).
    let (status, read) = s
        .request(
            "GET",
            &format!("/api/v1/dossiers/{id}?wait_for={position}"),
            &admin,
            Body::None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let text = read.to_string();
    for expected in [
        "Lê Thị Mai",
        "LÊ THỊ MAI",
        "career",
        "family",
        "Trần Thị Lan",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }

    // The event keeps the source and the digest of the bytes received.
    let store = SqliteStore::open_read_only(&data).unwrap();
    let events = store.read_all(0, 10_000).await.unwrap();
    let imported: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "dossier.DossierImported")
        .collect();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].stream, format!("dossier-{id}"));
    let e =
        hoso_schemas::pb::dossier::DossierImported::decode(imported[0].payload.as_slice()).unwrap();
    assert_eq!(e.source_system, "snv-79");
    assert_eq!(e.source_record_id, "QG-79-1");
    assert_eq!(hex::encode(&e.source_digest), digest);
    assert!(e.person_id.is_empty(), "the number is sealed, not in clear");
    assert!(!e.person_id_sealed.is_empty());
    let codes: Vec<&str> = e.sections.iter().map(|s| s.section_code.as_str()).collect();
    assert_eq!(codes, ["identity", "recruitment", "career", "family"]);
    let family = &e.sections[3].fields;
    assert!(
        family.iter().any(|f| f.field_code == "30.c2" && f.row == 1),
        "the family member's full_name is item 30.c2, not identity's 1"
    );
    drop(store);

    // The number is nowhere on disk in clear, nor as its unkeyed digest.
    let mut all = Vec::new();
    support::files(&data, &mut all);
    let unkeyed = hex::encode(Sha256::digest(PID.as_bytes()));
    for path in &all {
        let bytes = std::fs::read(path).unwrap();
        for needle in [PID, unkeyed.as_str()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds {needle}",
                path.display()
            );
        }
    }

    // The same record again: the number already has a dossier.
    let (status, again) = s
        .request("POST", IMPORTS, &admin, Body::Raw(push(&record, "QG-79-1")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["type"], "urn:hoso:problem:scope:person-id-taken");
    assert!(!again.to_string().contains(&id), "the holder is not named");

    // A record that withholds the number cannot be imported.
    let mut withheld: Value = serde_json::from_slice(&record).unwrap();
    withheld
        .as_object_mut()
        .unwrap()
        .remove("identification_number");
    let (status, p) = s
        .request(
            "POST",
            IMPORTS,
            &admin,
            Body::Raw(push(&serde_json::to_vec(&withheld).unwrap(), "QG-79-2")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(
        p["type"],
        "urn:hoso:problem:exchange:identification-withheld"
    );

    // A field the format does not name is refused, named, never dropped.
    let mut unknown: Value = serde_json::from_slice(&record).unwrap();
    unknown["identification_number"] = json!("001090001234");
    unknown["sections"]["identity"]["identification_number"] = json!("001090001234");
    unknown["sections"]["identity"]["nickname"] = json!("Mai");
    let (status, p) = s
        .request(
            "POST",
            IMPORTS,
            &admin,
            Body::Raw(push(&serde_json::to_vec(&unknown).unwrap(), "QG-79-3")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["type"], "urn:hoso:problem:exchange:unknown-field");
    assert!(
        p["detail"].as_str().unwrap().contains("identity/nickname"),
        "{p}"
    );

    // The record's strings pass the input rules, named by their pointer.
    let mut control: Value = serde_json::from_slice(&record).unwrap();
    control["sections"]["identity"]["birth_place"] = json!("Quận 3\u{7}");
    let (status, p) = s
        .request(
            "POST",
            IMPORTS,
            &admin,
            Body::Raw(push(&serde_json::to_vec(&control).unwrap(), "QG-79-4")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:hoso:problem:input:"),
        "{p}"
    );
    assert_eq!(p["pointer"], "/record/sections/identity/birth_place");

    // Nothing but the one import was written for the refused pushes.
    let store = SqliteStore::open_read_only(&data).unwrap();
    let after = store.read_all(0, 10_000).await.unwrap();
    assert_eq!(
        after
            .iter()
            .filter(|e| e.event_type == "dossier.DossierImported")
            .count(),
        1
    );
    drop(store);

    // A form value is long text wherever it stands in the record (up to
    // the form's 2,000 characters, line breaks allowed), as in a
    // declaration; another person, re-encoded with sorted keys, is imported.
    let mut long: Value = serde_json::from_slice(&record).unwrap();
    long["identification_number"] = json!("001090001234");
    long["sections"]["identity"]["identification_number"] = json!("001090001234");
    let title = format!("Chuyên viên\n{}", "Văn phòng Sở Y tế. ".repeat(80));
    assert!(title.chars().count() > 1_000 && title.chars().count() < 2_000);
    long["sections"]["career"][0]["title_and_unit"] = json!(title);
    let (status, p) = s
        .request(
            "POST",
            IMPORTS,
            &admin,
            Body::Raw(push(&serde_json::to_vec(&long).unwrap(), "QG-79-5")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
}

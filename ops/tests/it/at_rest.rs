//! Personal data at rest (issue 14): a data directory that `hoso serve` wrote
//! holds no identification number in clear, nor the unkeyed digest the
//! number could be recovered from, in any file — log, stream index, read
//! model, key stores, WAL and shared-memory files included — while the
//! readers allowed to see a number still see it and a search by number still
//! finds its dossier; and that the server refuses to start without the
//! identifier key those hashes were made with.
//!
//! On the real server: what is on disk is what `hoso init` and `hoso serve`
//! write, and the server is killed, not stopped, so that the WAL files are
//! left as a crash would leave them, never checkpointed away.

use crate::support;
use crate::support::api::{Client, HEALTH, decision};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";

/// The numbers written: a dossier with a personal account, a dossier a
/// consent names, a dossier only.
const OWN: &str = "001090001234";
const CONSENTED: &str = "001190004321";
const OTHER: &str = "001090000077";

/// What must not be found on disk for `number`: the number, the full
/// SHA-256 of it in hex, and the digest stream names carried before
/// identifiers were keyed (its first 16 bytes, domain-separated).
fn forbidden(number: &str) -> Vec<String> {
    let full = hex::encode(Sha256::digest(number.as_bytes()));
    let mut h = Sha256::new();
    h.update(b"hoso-person-id\0");
    h.update(number.as_bytes());
    let old_stream_digest = hex::encode(&h.finalize()[..16]);
    vec![number.to_owned(), full, old_stream_digest]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identification_number_is_on_disk_in_clear_or_as_an_unkeyed_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ISSUED);
    let served = support::serve(&data);
    let api = Client::new(served.base.clone());

    let admin = api.first_login("snv.admin", ISSUED, CHOSEN).await;
    api.health_department(&admin).await;
    let (_, focal) = api
        .staff(&admin, "specialist", "yte.tochuc", HEALTH, "update", CHOSEN)
        .await;
    let (clerk_id, clerk) = api
        .staff(&admin, "specialist", "yte.vanthu", HEALTH, "access", CHOSEN)
        .await;

    let mut dossiers = Vec::new();
    for (number, name) in [
        (OWN, "Nguyễn Văn An"),
        (CONSENTED, "Lê Thị Hoa"),
        (OTHER, "Phạm Văn Cường"),
    ] {
        dossiers.push(api.open_dossier(&focal, number, name).await);
    }
    api.ok(
        "POST",
        "/api/v1/accounts",
        &focal,
        json!({"kind": "personal", "username": "an.nv", "org_code": HEALTH, "person_id": OWN,
               "display_name": "Nguyễn Văn An", "birth_date": "1990-05-17"}),
    )
    .await;
    let consent = api
        .ok(
            "POST",
            &format!("/api/v1/accounts/{clerk_id}/changes"),
            &admin,
            json!({"action": "grant_consent", "subject_person_id": CONSENTED,
                   "document": decision("7/GĐY-SYT"), "expires": "2099-12-31",
                   "sections": ["recruitment"]}),
        )
        .await;
    let wait = consent["position"].as_u64().unwrap();

    // A search by number finds the dossier (the caller holds the number).
    let found = api
        .get_ok(
            &format!("/api/v1/dossiers?person_id={OWN}&wait_for={wait}"),
            &focal,
        )
        .await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["id"], dossiers[0]);
    assert_eq!(items[0]["person_id"], OWN);
    // A search by name does not list numbers.
    let by_name = api.get_ok("/api/v1/dossiers?name=an", &focal).await;
    assert!(
        by_name["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h.get("person_id").is_none()),
        "{by_name}"
    );

    // A reader cleared for restricted data sees the number, opened; one
    // holding only access right (general clearance) does not.
    let path = format!("/api/v1/dossiers/{}", dossiers[0]);
    assert_eq!(api.get_ok(&path, &focal).await["person_id"], OWN);
    let below = api.get_ok(&path, &clerk).await;
    assert_eq!(below["person_id"], Value::Null, "{below}");
    let history = format!("{path}/history");
    let seen = api.get_ok(&history, &focal).await.to_string();
    assert!(seen.contains(OWN), "{seen}");
    assert!(!seen.contains("person_id_sealed"), "{seen}");
    let withheld = api.get_ok(&history, &clerk).await.to_string();
    assert!(!withheld.contains(OWN), "{withheld}");
    assert!(withheld.contains("(withheld)"), "{withheld}");

    // Killed, not stopped: the WAL files stay as they are.
    let mut served = served;
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    let mut all = Vec::new();
    support::files(&data, &mut all);
    assert!(
        all.iter()
            .any(|p| p.to_string_lossy().ends_with("ledger.db-wal")),
        "{all:?}"
    );
    for number in [OWN, CONSENTED, OTHER] {
        for needle in forbidden(number) {
            for path in &all {
                let bytes = std::fs::read(path).unwrap();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{} holds {needle} (of {number})",
                    path.display()
                );
            }
        }
    }

    // The keyed hashes in the log are worth nothing without their key: the
    // server refuses to start without it, or with another.
    let key_file = data.join("field-keys.json");
    let original: Value = serde_json::from_slice(&std::fs::read(&key_file).unwrap()).unwrap();
    let serve_with = |keys: &Value| {
        std::fs::write(&key_file, serde_json::to_vec(keys).unwrap()).unwrap();
        support::hoso(&[
            "serve",
            "--data",
            &support::arg(&data),
            "--listen",
            "127.0.0.1:0",
        ])
    };
    let mut without = original.clone();
    without.as_object_mut().unwrap().remove("identifier_key");
    let o = serve_with(&without);
    assert!(!o.status.success());
    assert!(
        support::text(&o).contains("key file has no identifier key"),
        "{}",
        support::text(&o)
    );
    let mut another = original.clone();
    another["identifier_key"] = json!("ab".repeat(32));
    let o = serve_with(&another);
    assert!(!o.status.success());
    assert!(
        support::text(&o).contains("is not the one this data directory was created with"),
        "{}",
        support::text(&o)
    );
}

/// A data directory made before identifier keys: its key file holds none and
/// `data-keys.db` records none. The next start gives it one (in the same key
/// file, still 0600), once: the start after keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_key_file_is_given_an_identifier_key_once_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let o = support::hoso_cmd()
        .args(["init", "--data", &support::arg(&data)])
        .env("HOSO_ADMIN_PASSWORD", ISSUED)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", support::text(&o));
    let key_file = data.join("field-keys.json");
    let read_keys = || serde_json::from_slice::<Value>(&std::fs::read(&key_file).unwrap()).unwrap();
    let mut keys = read_keys();
    keys.as_object_mut().unwrap().remove("identifier_key");
    std::fs::write(&key_file, serde_json::to_vec(&keys).unwrap()).unwrap();
    rusqlite::Connection::open(data.join("data-keys.db"))
        .unwrap()
        .execute_batch("DROP TABLE meta")
        .unwrap();

    drop(support::serve(&data));
    let upgraded = read_keys();
    let identifier = upgraded["identifier_key"].as_str().unwrap().to_owned();
    assert_eq!(identifier.len(), 64);
    assert_eq!(upgraded["keys"], keys["keys"], "the KEKs are untouched");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    drop(support::serve(&data));
    assert_eq!(read_keys(), upgraded);
}

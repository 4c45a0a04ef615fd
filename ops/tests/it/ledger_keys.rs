//! `hoso init` and `hoso keys ledger show | rotate | revoke` as an operator runs them:
//! the key ring's file, its mode, and what each command leaves in it.

use std::path::Path;

use crate::support;
use crate::support::{hoso, text};

use chrono::TimeZone;
use ed25519_dalek::SigningKey;
use hoso_ledger::checkpoint::{HeadReason, KeyId, SignedTreeHead, TreeHead, write_head_file};
use serde_json::Value;

const RING: &str = "ledger-keys.json";

fn ok(args: &[&str]) -> String {
    let o = hoso(args);
    assert!(o.status.success(), "hoso {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A fresh `hoso init --no-admin` directory.
fn init(tmp: &tempfile::TempDir) -> String {
    let data = tmp.path().join("d").to_str().unwrap().to_owned();
    ok(&["init", "--data", &data, "--no-admin"]);
    data
}

fn show(data: &str) -> Value {
    serde_json::from_str(&ok(&["keys", "ledger", "show", "--data", data, "--json"])).unwrap()
}

fn ring_file(data: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(Path::new(data).join(RING)).unwrap()).unwrap()
}

#[test]
fn init_creates_the_ring_with_mode_0600_and_show_prints_its_public_key() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d").to_str().unwrap().to_owned();
    let out = ok(&["init", "--data", &data, "--no-admin"]);
    let path = Path::new(&data).join(RING);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let file = ring_file(&data);
    let keys = file["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["state"], "active");
    let public = keys[0]["public_key"].as_str().unwrap().to_owned();
    assert_eq!(public.len(), 64);
    assert!(out.contains(&public), "init names the public key: {out}");

    let text = ok(&["keys", "ledger", "show", "--data", &data]);
    assert!(text.contains(&public), "{text}");
    assert!(text.contains("active"), "{text}");
    assert!(!text.contains(keys[0]["secret_key"].as_str().unwrap()));

    let json = show(&data);
    assert_eq!(json["active"], keys[0]["key_id"]);
    assert_eq!(json["keys"][0]["public_key"], public.as_str());
    assert_eq!(json["keys"][0]["state"], "active");
    assert!(json["keys"][0].get("secret_key").is_none());

    // A second init leaves the directory alone.
    let o = hoso(&["init", "--data", &data, "--no-admin"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(ring_file(&data), file);
}

#[test]
fn rotate_keeps_the_old_key_listed_as_retired() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(&tmp);
    let before = show(&data);
    let old = before["active"].as_str().unwrap().to_owned();
    ok(&["keys", "ledger", "rotate", "--data", &data]);
    let after = show(&data);
    let new = after["active"].as_str().unwrap();
    assert_ne!(new, old);
    let keys = after["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["key_id"], old.as_str());
    assert_eq!(keys[0]["state"], "retired");
    assert!(keys[0]["retired_at"].is_string());
    assert_eq!(keys[0]["public_key"], before["keys"][0]["public_key"]);
    assert_eq!(keys[1]["state"], "active");
    // Only the active key's secret is kept.
    let file = ring_file(&data);
    assert!(file["keys"][0].get("secret_key").is_none());
    assert!(file["keys"][1]["secret_key"].is_string());
}

#[test]
fn revoke_records_the_bound_given_or_that_of_the_latest_head() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(&tmp);
    let first = show(&data)["active"].as_str().unwrap().to_owned();
    ok(&["keys", "ledger", "rotate", "--data", &data]);
    let second = show(&data)["active"].as_str().unwrap().to_owned();

    // An explicit bound, on a retired key: no rotation.
    ok(&[
        "keys",
        "ledger",
        "revoke",
        &first,
        "--data",
        &data,
        "--valid-through",
        "7",
    ]);
    let json = show(&data);
    assert_eq!(json["keys"][0]["state"], "revoked");
    assert_eq!(json["keys"][0]["valid_through_tree_size"], 7);
    assert_eq!(json["active"], second.as_str());

    // The active key, bound by tree-head.json: a new key becomes active.
    let signer = SigningKey::from_bytes(&[5; 32]);
    let head = TreeHead::new(
        41,
        [2; 32],
        chrono::Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap(),
        KeyId::of(&signer.verifying_key()),
        HeadReason::Shutdown,
    );
    write_head_file(
        &Path::new(&data).join("tree-head.json"),
        &SignedTreeHead::sign(head, &signer),
    )
    .unwrap();
    let out = ok(&["keys", "ledger", "revoke", &second, "--data", &data]);
    assert!(out.contains("valid through tree size 41"), "{out}");
    let json = show(&data);
    let keys = json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[1]["state"], "revoked");
    assert_eq!(keys[1]["valid_through_tree_size"], 41);
    assert_eq!(keys[2]["state"], "active");
    assert_eq!(json["active"], keys[2]["key_id"]);

    // Twice, or an unknown key: refused, nothing changed.
    let o = hoso(&["keys", "ledger", "revoke", &second, "--data", &data]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already revoked"), "{}", text(&o));
    let o = hoso(&[
        "keys",
        "ledger",
        "revoke",
        "00112233445566ff",
        "--data",
        &data,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no ledger key"), "{}", text(&o));
    assert_eq!(show(&data), json);
}

#[test]
fn revoke_without_a_head_file_bounds_at_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let data = init(&tmp);
    let id = show(&data)["active"].as_str().unwrap().to_owned();
    ok(&["keys", "ledger", "revoke", &id, "--data", &data]);
    let json = show(&data);
    assert_eq!(json["keys"][0]["valid_through_tree_size"], 0);
}

#[test]
fn the_environment_can_put_the_ring_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d").to_str().unwrap().to_owned();
    let ring = tmp.path().join("secrets").join("ledger.json");
    let run = |args: &[&str]| {
        support::hoso_cmd()
            .args(args)
            .env("HOSO_LEDGER_KEY_FILE", &ring)
            .output()
            .unwrap()
    };
    let o = run(&["init", "--data", &data, "--no-admin"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(ring.exists());
    assert!(!Path::new(&data).join(RING).exists());
    let o = run(&["keys", "ledger", "show", "--data", &data]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(ring.to_str().unwrap()), "{}", text(&o));
    // Without the variable, the directory has no ring: a clear error.
    let o = hoso(&["keys", "ledger", "show", "--data", &data]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("ledger key file missing"), "{}", text(&o));
}

#[test]
fn a_ring_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = init(&tmp);
    let path = Path::new(&data).join(RING);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = hoso(&["keys", "ledger", "show", "--data", &data]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
}

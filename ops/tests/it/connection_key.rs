//! The province connection key (HY 13.6) as an operator meets it: made by `hoso
//! init` with the node's other keys (mode 0600), printed by `hoso sync
//! connection-key`, and a key file others may read, or a malformed one, refused
//! without its secret printed.

use std::os::unix::fs::PermissionsExt;

use crate::support::{arg, hoso, text};

#[test]
fn hy_13_6_init_makes_the_connection_key_and_the_command_prints_its_public_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let data = arg(&dir);
    let o = hoso(&["init", "--data", &data]);
    assert!(o.status.success(), "{}", text(&o));
    let file = dir.join("connection-key.json");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let public = stored["public_key"].as_str().unwrap();
    let secret = stored["secret_key"].as_str().unwrap();
    assert!(text(&o).contains(public), "{}", text(&o));

    let o = hoso(&["sync", "connection-key", "--data", &data]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), public);
    assert!(!text(&o).contains(secret));

    // Readable by others: refused, the secret not printed.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = hoso(&["sync", "connection-key", "--data", &data]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
    assert!(!text(&o).contains(secret));

    // Malformed: refused, naming the rule.
    let broken = std::fs::read_to_string(&file)
        .unwrap()
        .replace(public, &"00".repeat(32));
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, broken).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = hoso(&["sync", "connection-key", "--data", &data]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("public_key is not that of the secret key"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains(secret));
}

#[test]
fn a_directory_without_a_connection_key_is_told_where_it_comes_from() {
    let tmp = tempfile::tempdir().unwrap();
    let o = hoso(&["sync", "connection-key", "--data", &arg(tmp.path())]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("connection key file missing"),
        "{}",
        text(&o)
    );
}

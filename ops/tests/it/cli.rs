//! The `hoso` binary as an operator uses it: init, demo, verify, and verify catching a
//! single altered byte written behind the ledger's back.

use std::path::Path;

use crate::support::{arg as data_arg, hoso, hoso_cmd, text};

#[test]
fn init_then_verify_an_empty_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_arg(&tmp.path().join("d"));
    let o = hoso(&["init", "--data", &data]);
    assert!(o.status.success(), "{}", text(&o));
    // The administrator's account is the ledger's first events; its
    // one-time password is printed once.
    assert!(text(&o).contains("one-time password"), "{}", text(&o));
    let o = hoso(&["verify", "--data", &data]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("ok: 3 events in 2 streams"),
        "{}",
        text(&o)
    );
    let o = hoso(&["init", "--data", &data]);
    assert_eq!(o.status.code(), Some(2), "init refuses to overwrite");
    assert!(text(&o).contains("already exists"), "{}", text(&o));
}

/// What an operator's log file gets: a new ledger (and its new stream index) is no
/// cause for a warning, and logs written to a file or a pipe carry no terminal
/// colour codes.
#[test]
fn a_new_ledger_warns_of_nothing_and_logs_to_a_pipe_carry_no_colour() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_arg(&tmp.path().join("d"));
    let o = hoso_cmd()
        .args(["init", "--data", &data])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let logs = String::from_utf8_lossy(&o.stderr);
    assert!(logs.contains("INFO"), "info lines are written: {logs}");
    assert!(!logs.contains("WARN"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in a piped log: {logs:?}"
    );
}

#[test]
fn verify_refuses_a_directory_that_is_not_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let o = hoso(&["verify", "--data", &data_arg(tmp.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not a hoso store"), "{}", text(&o));
}

#[test]
fn demo_builds_a_province_that_verifies_and_one_altered_byte_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_arg(&tmp.path().join("demo"));
    let o = hoso(&["demo", "--data", &data, "--people", "150"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("under the national profile"), "{out}");
    assert!(out.contains("dossiers opened:                150"), "{out}");
    assert!(out.contains("every hash chain intact"), "{out}");
    // Every workflow ran through the handlers: the first approvals of all 150
    // dossiers, both transfer outcomes, departures and the merger.
    assert!(out.contains("(150 new dossiers,"), "{out}");
    // The national profile lets heads delegate: the deputy signed some.
    assert!(!out.contains("; 0 by a deputy"), "{out}");
    assert!(out.contains("accepted and forwarded, 1 rejected"), "{out}");
    for status in ["retired", "resigned", "deceased"] {
        assert!(out.contains(&format!("1 {status}")), "{out}");
    }
    assert!(out.contains("dossiers imported:              1"), "{out}");
    assert!(out.contains("merger:"), "{out}");
    // The read side: the province's reports, checked against the write side.
    assert!(out.contains("annual headcount report 2026"), "{out}");
    assert!(out.contains("totals match a brute-force count"), "{out}");
    assert!(out.contains("SLA report on"), "{out}");
    assert!(Path::new(&data).join("readmodel.db").exists());
    // The read model is disposable: rebuilt from the log, chains verified.
    let o = hoso(&["rebuild", "--data", &data]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("every hash chain verified"),
        "{}",
        text(&o)
    );
    // The kept directory is a data directory: its profile and credential table,
    // and the logins whose passwords the holders changed.
    let settings = std::fs::read_to_string(Path::new(&data).join("hoso.toml")).unwrap();
    assert!(settings.contains("profile = \"national\""), "{settings}");
    assert!(Path::new(&data).join("credentials.db").exists());
    assert!(out.contains("snv.hethong"), "{out}");

    let o = hoso(&["verify", "--data", &data, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let last = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(v["ok"], true);
    let events = v["events"].as_u64().unwrap();
    assert!(events > 150 * 7);

    // Flip one byte in the middle of one payload, as someone with the sqlite3 CLI could.
    let position = events / 2;
    let db = Path::new(&data).join("ledger.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stream: String = conn
        .query_row(
            "SELECT stream FROM events WHERE position = ?1",
            [position as i64],
            |r| r.get(0),
        )
        .unwrap();
    let mut payload: Vec<u8> = conn
        .query_row(
            "SELECT payload FROM events WHERE position = ?1",
            [position as i64],
            |r| r.get(0),
        )
        .unwrap();
    let mid = payload.len() / 2;
    payload[mid] ^= 0x01;
    conn.execute_batch("DROP TRIGGER events_append_only_update")
        .unwrap();
    conn.execute(
        "UPDATE events SET payload = ?1 WHERE position = ?2",
        rusqlite::params![payload, position as i64],
    )
    .unwrap();
    drop(conn);

    let o = hoso(&["verify", "--data", &data]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(&format!("position {position}")), "{out}");
    assert!(out.contains(&stream), "{out}");
}

#[test]
fn verify_names_an_undecodable_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let o = hoso(&["init", "--data", &data_arg(&data), "--no-admin"]);
    assert!(o.status.success());
    // A correctly chained event whose payload is not what its type says.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, SqliteStore, StoreOptions};
        let store = SqliteStore::open(&data, StoreOptions::default()).unwrap();
        store
            .append(
                "dossier-x",
                ExpectedRevision::NoStream,
                vec![NewEvent::new(
                    "dossier.DossierOpened",
                    1,
                    vec![0xff, 0xff, 0xff],
                )],
            )
            .await
            .unwrap();
        store
            .append(
                "dossier-x",
                ExpectedRevision::Any,
                vec![NewEvent::new("dossier.NoSuchEvent", 1, vec![])],
            )
            .await
            .unwrap();
    });
    let o = hoso(&["verify", "--data", &data_arg(&data)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("position 0") && out.contains("dossier.DossierOpened"),
        "{out}"
    );
}

#[test]
fn verify_reads_a_ledger_held_open_by_another_process_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let o = hoso(&["demo", "--data", &data_arg(&data), "--people", "20"]);
    assert!(o.status.success(), "{}", text(&o));
    let db = data.join("ledger.db");
    let before = std::fs::read(&db).unwrap();
    // This process holds the writer's lock, as a running server would.
    let held = hoso_ledger::SqliteStore::open(&data, hoso_ledger::StoreOptions::default()).unwrap();
    let o = hoso(&["verify", "--data", &data_arg(&data)]);
    assert!(o.status.success(), "{}", text(&o));
    drop(held);
    // Tamper, then verify: the corruption is reported, but the inspector's run writes
    // no marker and leaves the file as it found it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER events_append_only_update; UPDATE events SET actor = 'mallory' WHERE position = 3;",
    )
    .unwrap();
    drop(conn);
    let tampered = std::fs::read(&db).unwrap();
    assert_ne!(before, tampered);
    let o = hoso(&["verify", "--data", &data_arg(&data)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!data.join("ledger.corrupt").exists());
    assert_eq!(std::fs::read(&db).unwrap(), tampered);
}

#[test]
fn demo_runs_under_the_profile_of_an_initialised_directory_and_refuses_a_used_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hy");
    let o = hoso(&[
        "init",
        "--data",
        &data_arg(&data),
        "--profile",
        "hung-yen",
        "--no-admin",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = hoso(&["demo", "--data", &data_arg(&data), "--people", "40"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("under the hung-yen profile"), "{out}");
    // Hưng Yên's heads do not delegate approval: the deputy is refused, the head signs.
    assert!(out.contains("deputy signature refused"), "{out}");
    assert!(out.contains("(40 new dossiers,"), "{out}");
    // Hưng Yên's unit heads sign from the 20th, department heads from the 23rd.
    assert!(
        out.contains("Tue 20/01/2026  approval window of the unit heads:"),
        "{out}"
    );
    assert!(out.contains("every hash chain intact"), "{out}");

    let o = hoso(&["demo", "--data", &data_arg(&data), "--people", "40"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already holds a ledger"), "{}", text(&o));
}

#[test]
fn init_selects_a_province_profile_and_names_the_valid_ones_on_a_typo() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hy");
    let o = hoso(&["init", "--data", &data_arg(&data), "--profile", "hung-yen"]);
    assert!(o.status.success(), "{}", text(&o));
    let settings = std::fs::read_to_string(data.join("hoso.toml")).unwrap();
    assert!(settings.contains("profile = \"hung-yen\""), "{settings}");

    let typo = tmp.path().join("typo");
    let o = hoso(&["init", "--data", &data_arg(&typo), "--profile", "hungyen"]);
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o);
    for name in [
        "kon-tum",
        "dak-lak",
        "binh-thuan",
        "dong-thap",
        "hung-yen",
        "national",
    ] {
        assert!(out.contains(name), "{out}");
    }
    assert!(!typo.exists(), "a refused init leaves nothing behind");
}

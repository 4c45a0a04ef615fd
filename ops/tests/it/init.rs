//! `hoso init` killed at any point: the directory is refused by every other
//! command until `hoso init` runs again, which finishes it into a node that
//! verifies and whose administrator exists — never a half-made node that
//! looks like a real one, never a directory only hand-editing can mend.

use std::path::Path;
use std::time::Instant;

use crate::support::{arg, hoso, hoso_cmd, text};

const OTP: &str = "Mot-Lan#2026!Kh";

fn init_cmd(data: &Path) -> std::process::Command {
    let mut c = hoso_cmd();
    c.args(["init", "--data", &arg(data)])
        .env("HOSO_ADMIN_PASSWORD", OTP)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

/// A node fresh from a whole `hoso init`: the administrator's three events.
fn assert_whole(data: &Path) {
    let o = hoso(&["verify", "--data", &arg(data)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("ok: 3 events in 2 streams"),
        "{}",
        text(&o)
    );
    assert!(!data.join("init-incomplete").exists());
}

#[test]
fn an_init_killed_at_any_point_is_refused_until_init_runs_again_and_then_whole() {
    let tmp = tempfile::tempdir().unwrap();
    // How long a whole init takes here, to spread the kills across it.
    let started = Instant::now();
    let timed = tmp.path().join("timed");
    assert!(init_cmd(&timed).status().unwrap().success());
    let whole = started.elapsed();
    assert_whole(&timed);

    // Kills spread over the measured run, twelve apart; the load of the
    // machine changes how long a run takes, so the kills go on (up to a bound)
    // until enough of them have landed inside one.
    const SPREAD: u32 = 12;
    const ENOUGH: u32 = 12;
    let mut interrupted = 0;
    let mut kills = 0;
    for i in 0..60 {
        if i >= 2 * SPREAD && interrupted >= ENOUGH {
            break;
        }
        kills += 1;
        let at = whole * (i % SPREAD) / SPREAD;
        let data = tmp.path().join(format!("d{i}"));
        let mut child = init_cmd(&data).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let finished = child.wait().unwrap().success();
        // Killed after its last step (the marker's removal) but before it
        // exited, init had finished: the node is whole and is not made again.
        let done = !data.join("init-incomplete").exists() && data.join("hoso.toml").exists();
        if finished || done {
            assert_whole(&data);
            let again = hoso(&["init", "--data", &arg(&data)]);
            assert!(text(&again).contains("already exists"), "{}", text(&again));
            continue;
        }
        if data.join("init-incomplete").exists() {
            interrupted += 1;
            for cmd in [
                vec!["verify", "--data"],
                vec!["serve", "--listen", "127.0.0.1:0", "--data"],
                vec!["rebuild", "--data"],
            ] {
                let mut args = cmd.clone();
                let d = arg(&data);
                args.push(&d);
                let o = hoso(&args);
                assert!(!o.status.success(), "{cmd:?} took a half-made directory");
                assert!(
                    text(&o).contains("was interrupted"),
                    "{cmd:?}: {}",
                    text(&o)
                );
            }
        }
        let o = init_cmd(&data)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "init after a kill at {at:?}: {}",
            text(&o)
        );
        assert_whole(&data);
        let again = hoso(&["init", "--data", &arg(&data)]);
        assert!(!again.status.success(), "a whole node is never made again");
        assert!(text(&again).contains("already exists"), "{}", text(&again));
    }
    eprintln!(
        "{interrupted} of {kills} kills left an interrupted init (a whole init takes {whole:?})"
    );
    // The kills must have landed inside the run, not only before or after it.
    assert!(
        interrupted >= 3,
        "only {interrupted} of {kills} kills left an interrupted init (a whole init takes {whole:?})"
    );
}

/// The same, by hand: what a kill between the ledger's side file and its
/// rename leaves (a half-written `ledger.db.creating`) is replaced.
#[test]
fn an_init_over_a_half_written_ledger_side_file_starts_it_over() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("init-incomplete"), "").unwrap();
    std::fs::write(data.join("ledger.db.creating"), b"half a page").unwrap();
    let o = init_cmd(&data)
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("interrupted before it finished; starting it over"),
        "{}",
        text(&o)
    );
    assert!(!data.join("ledger.db.creating").exists());
    assert_whole(&data);
}

//! The month's round trip end to end (issue 15): `hoso demo` tells a province of
//! 2,000 people through January and February 2026 — declarations, approvals,
//! the director sealing both months on 2 March — then `hoso serve` serves it and
//! `hoso sync pull`, logging in with the national sync account's password,
//! pulls, verifies, writes and acknowledges both batches. Each batch's items are
//! the approvals the log records in its month (counted here from the log, not by
//! the code under test); the change declared after February's signatures is in
//! no batch at its unapproved revision; a consumer killed before the ack gets
//! the same bytes on the rerun and the batch is acknowledged once; a byte
//! flipped in a served document is refused with the item named and nothing
//! acknowledged. One demo serves every case: it is the expensive part.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{Datelike, FixedOffset};
use hoso_ledger::{EventStore, RecordedEvent, SqliteStore};
use prost::Message;
use serde_json::Value;

use crate::support::proxy::tampering_proxy;
use crate::support::{arg, hoso, hoso_cmd, serve, text};

const NATIONAL: &str = "csdlqg.dongbo";

/// An approval as the log records it: the dossier and the revision approved.
type Approved = (String, u64);

/// Every event of the demo's log.
async fn log(data: &Path) -> Vec<RecordedEvent> {
    let store = SqliteStore::open_read_only(data).unwrap();
    store.read_all(0, usize::MAX).await.unwrap()
}

/// The approvals of the log by (year, month) of their recording in Vietnam
/// (UTC+7, no daylight saving), in log order.
fn approvals_by_month(events: &[RecordedEvent]) -> BTreeMap<(i32, u32), Vec<Approved>> {
    let vietnam = FixedOffset::east_opt(7 * 3600).unwrap();
    let mut by_month: BTreeMap<(i32, u32), Vec<Approved>> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.event_type == "dossier.ApprovalSigned")
    {
        let signed =
            hoso_schemas::pb::dossier::ApprovalSigned::decode(e.payload.as_slice()).unwrap();
        let at = e.recorded_at.with_timezone(&vietnam);
        let dossier = e.stream.strip_prefix("dossier-").unwrap().to_owned();
        by_month
            .entry((at.year(), at.month()))
            .or_default()
            .push((dossier, signed.revision));
    }
    by_month
}

/// Acknowledgements recorded on `sync-<n>`.
fn acks(events: &[RecordedEvent], n: u64) -> usize {
    events
        .iter()
        .filter(|e| e.stream == format!("sync-{n}") && e.event_type == "sync.BatchAcknowledged")
        .count()
}

/// The items of a written batch file: (dossier, revision), in order.
fn items(file: &Path) -> Vec<Approved> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["dossier"].as_str().unwrap().to_owned(),
                v["revision"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A national consumer: its output directory and password file (mode 600).
struct Consumer {
    password_file: PathBuf,
    out: PathBuf,
}

fn consumer(root: &Path, name: &str, password: &str) -> Consumer {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    Consumer {
        password_file,
        out: dir.join("national"),
    }
}

/// `hoso sync pull --user … --password-file …` to the end (off the runtime's threads).
async fn pull(url: &str, c: &Consumer, director_key: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = [
        "sync",
        "pull",
        "--url",
        url,
        "--user",
        NATIONAL,
        "--password-file",
        &arg(&c.password_file),
        "--out",
        &arg(&c.out),
        "--director-key",
        &arg(director_key),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || hoso_cmd().args(&args).output().unwrap())
        .await
        .unwrap()
}

/// The first letter of the first document's first key changes case: still
/// JSON, another document.
fn flip_first_document(bytes: &mut [u8]) {
    let what = br#""document":{""#;
    let at = bytes
        .windows(what.len())
        .position(|w| w == what)
        .expect("a served document")
        + what.len();
    assert!(bytes[at].is_ascii_alphabetic(), "{}", bytes[at] as char);
    bytes[at] ^= 0x20;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_12_4_a_2000_person_month_round_trips_through_the_reference_consumer() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let demo_args = ["demo", "--data", &arg(&data)].map(str::to_owned);
    let o = tokio::task::spawn_blocking(move || {
        hoso(&demo_args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    let said = text(&o);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("2000 public servants"), "{said}");
    let demo_s = started.elapsed().as_secs_f64();
    // The demo names its login and the change it left unapproved.
    let password = said
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(NATIONAL)).then(|| w.next().unwrap().to_owned())
        })
        .unwrap_or_else(|| panic!("no login for {NATIONAL}: {said}"));
    let left_out = said
        .lines()
        .find_map(|l| l.split("left out of the batches:").nth(1))
        .unwrap_or_else(|| panic!("no change left out: {said}"));
    let mut words = left_out.split_whitespace().skip(1);
    let late_dossier = words.next().unwrap().to_owned();
    let late_revision: u64 = words.nth(2).unwrap().trim_end_matches(':').parse().unwrap();
    let director_key = data.join("sync").join("director.pub");
    let key_text = std::fs::read_to_string(&director_key).unwrap();
    assert_eq!(key_text.len(), 65, "{key_text:?}");
    assert!(key_text.ends_with('\n'));

    // Counted from the log: the approvals of January and of February, and the
    // late change, recorded in February with no approval after it.
    let events = log(&data).await;
    let by_month = approvals_by_month(&events);
    let january = by_month[&(2026, 1)].clone();
    let february = by_month[&(2026, 2)].clone();
    assert!(january.len() >= 2000, "{}", january.len());
    assert!(!february.is_empty());
    assert!(!by_month.contains_key(&(2026, 3)), "no approval in March");
    let stream = format!("dossier-{late_dossier}");
    let last_approval = events
        .iter()
        .filter(|e| e.stream == stream && e.event_type == "dossier.ApprovalSigned")
        .map(|e| e.position)
        .max()
        .unwrap();
    let late = events
        .iter()
        .find(|e| {
            e.stream == stream
                && e.position > last_approval
                && e.event_type == "dossier.DeclarationSubmitted"
        })
        .unwrap_or_else(|| panic!("no declaration after {stream}'s last approval"));
    assert!(late.revision <= late_revision);
    let vietnam = FixedOffset::east_opt(7 * 3600).unwrap();
    assert_eq!(late.recorded_at.with_timezone(&vietnam).month(), 2);
    let unapproved_from = late.revision;
    assert_eq!((acks(&events, 1), acks(&events, 2)), (0, 0));

    let server = serve(&data);
    let base = server.base.clone();

    // A byte flipped in a served document: refused, the item named, nothing
    // acknowledged, nothing written.
    let (proxy, passed) = tampering_proxy(base.clone(), flip_first_document).await;
    let tampered = consumer(tmp.path(), "tampered", &password);
    let o = pull(&proxy, &tampered, &director_key, &[]).await;
    let said = text(&o);
    assert!(!o.status.success(), "{said}");
    assert!(said.contains("batch 1 refused"), "{said}");
    assert!(
        said.contains(&format!("item 0 (dossier {})", january[0].0)),
        "{said}"
    );
    assert!(said.contains("document_sha256"), "{said}");
    assert!(!said.contains(&password), "the password was printed");
    assert_eq!(passed.load(Ordering::SeqCst), 0);
    assert!(!tampered.out.join("batch-1.ndjson").exists());
    assert!(!tampered.out.join("cursor.json").exists());
    let events = log(&data).await;
    assert_eq!((acks(&events, 1), acks(&events, 2)), (0, 0));

    // Killed before the first ack: the batch is written, not acknowledged.
    let national = consumer(tmp.path(), "national", &password);
    let pulled = Instant::now();
    let o = pull(&base, &national, &director_key, &["--abort-before-ack"]).await;
    assert!(!o.status.success(), "{}", text(&o));
    let written = std::fs::read(national.out.join("batch-1.ndjson")).unwrap();
    assert!(!national.out.join("cursor.json").exists());
    assert_eq!(acks(&log(&data).await, 1), 0);

    // The rerun: the same bytes, both batches verified, written, acknowledged
    // once each, the cursor at 2.
    let o = pull(&base, &national, &director_key, &[]).await;
    let said = text(&o);
    assert!(o.status.success(), "{said}");
    let pull_s = pulled.elapsed().as_secs_f64();
    assert!(
        said.contains("pulled 2 batch(es); cursor at batch 2"),
        "{said}"
    );
    assert!(!said.contains(&password), "the password was printed");
    assert_eq!(
        std::fs::read(national.out.join("batch-1.ndjson")).unwrap(),
        written
    );
    let cursor: Value =
        serde_json::from_slice(&std::fs::read(national.out.join("cursor.json")).unwrap()).unwrap();
    assert_eq!(cursor["sequence"], 2);
    let events = log(&data).await;
    assert_eq!((acks(&events, 1), acks(&events, 2)), (1, 1));

    // Each batch is its month's approvals, in log order.
    let one = items(&national.out.join("batch-1.ndjson"));
    let two = items(&national.out.join("batch-2.ndjson"));
    assert_eq!(one, january);
    assert_eq!(two, february);
    // The late change is in no batch at its unapproved revision.
    assert!(
        !one.iter()
            .chain(&two)
            .any(|(d, r)| *d == late_dossier && *r >= unapproved_from),
        "dossier {late_dossier} went out at or after its unapproved revision {unapproved_from}"
    );

    // Nothing new: nothing pulled, nothing acknowledged again.
    let o = pull(&base, &national, &director_key, &[]).await;
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("up to date"), "{}", text(&o));
    let events = log(&data).await;
    assert_eq!((acks(&events, 1), acks(&events, 2)), (1, 1));
    drop(server);
    eprintln!(
        "national_month: demo {demo_s:.1} s, {} + {} items; crash, rerun and pull {pull_s:.1} s; whole test {:.1} s",
        january.len(),
        february.len(),
        started.elapsed().as_secs_f64()
    );
}

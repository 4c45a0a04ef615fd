//! The bulk import through both ways in, against `hoso serve` and the `hoso`
//! binary: `POST /api/v1/dossiers/imports/bulk` — a dry run's report, a file
//! with a bad value refused with its row listed and nothing appended, half
//! the file imported (as a crash would leave it) then the whole file as XLSX
//! completing it, the CSV again adding nothing — then `hoso import` on the
//! stopped server's directory: a dry run, a rerun that leaves the log as it
//! is, and a bad file refused with exit status 1.

use hoso_ledger::EventStore;
use hoso_ledger::sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support;
use crate::support::api::{Answer, Client, HEALTH};

const ADMIN_OTP: &str = "Mot-Lan#2026!Kh";
const PW: &str = "Cua-Toi#2026!y";
const BULK: &str = "/api/v1/dossiers/imports/bulk";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The sample export, its people managed by the test server's department.
fn sample() -> String {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/examples/import-sample.csv");
    std::fs::read_to_string(path)
        .unwrap()
        .replace("000.03.00.H33", HEALTH)
}

/// The first `rows` data rows of a CSV (its records span one line each).
fn first_rows(csv: &str, rows: usize) -> String {
    csv.lines()
        .take(rows + 1)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The same rows as an XLSX workbook, every cell text.
fn as_xlsx(csv: &str) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    for (r, record) in reader.records().enumerate() {
        for (c, v) in record.unwrap().iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32, c as u16, v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn post(client: &Client, token: &str, query: &str, media: &str, body: Vec<u8>) -> Answer {
    let resp = reqwest::Client::new()
        .post(format!("{}{BULK}?{query}", client.base))
        .bearer_auth(token)
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .unwrap();
    client.answer("POST", BULK, resp).await
}

/// The events of the log outside the ledger's own streams (tree heads).
fn written(data: &std::path::Path) -> usize {
    let store = SqliteStore::open_read_only(data).unwrap();
    let rt = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        rt.block_on(async {
            let head = store.head_position().await.unwrap().map_or(0, |h| h + 1);
            let all = store.read_all(0, head as usize).await.unwrap();
            all.iter()
                .filter(|e| !e.stream.starts_with("ledger-"))
                .count()
        })
    })
}

fn count(store: &SqliteStore, event_type: &str) -> usize {
    let rt = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        rt.block_on(async {
            let head = store.head_position().await.unwrap().map_or(0, |h| h + 1);
            store
                .read_all_of_type(0, head, event_type, usize::MAX)
                .await
                .unwrap()
                .len()
        })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_import_over_http_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    support::init(&data, ADMIN_OTP);
    let served = support::serve(&data);
    let client = Client::conforming(&served.base).await;
    let admin = client.first_login("snv.admin", ADMIN_OTP, PW).await;
    client.health_department(&admin).await;
    let csv = sample();

    // A dry run: every row would be imported; nothing is written.
    let dry = post(
        &client,
        &admin,
        "dry_run=true",
        "text/csv",
        csv.clone().into_bytes(),
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert_eq!(dry.body["new"], 5);
    assert_eq!(dry.body["ignored_columns"], serde_json::json!(["STT"]));

    // A bad value: refused whole, its row and column listed.
    let bad = csv.replacen("03/11/1992", "31/02/1992", 1);
    let refused = post(
        &client,
        &admin,
        "dry_run=false",
        "text/csv",
        bad.into_bytes(),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.content_type.as_str(), "application/problem+json");
    assert_eq!(
        refused.body["type"],
        "urn:hoso:problem:import:file-has-problems"
    );
    let problem = &refused.body["report"]["problems"][0];
    assert_eq!(
        (problem["row"].as_u64(), problem["column"].as_str()),
        (Some(3), Some("ngay_sinh"))
    );
    assert_eq!(refused.body["report"]["imported"], 0);

    // Half the file, as a crash would leave it; then the whole file as XLSX.
    let half = post(
        &client,
        &admin,
        "dry_run=false",
        "text/csv",
        first_rows(&csv, 2).into_bytes(),
    )
    .await;
    assert_eq!(half.body["imported"], 2, "{}", half.body);
    let whole = post(&client, &admin, "dry_run=false", XLSX, as_xlsx(&csv)).await;
    assert_eq!(
        (
            whole.body["imported"].as_u64(),
            whole.body["unchanged"].as_u64()
        ),
        (Some(3), Some(2)),
        "{}",
        whole.body
    );
    // The CSV again adds nothing.
    let again = post(&client, &admin, "", "text/csv", csv.clone().into_bytes()).await;
    assert_eq!(
        (
            again.body["imported"].as_u64(),
            again.body["unchanged"].as_u64()
        ),
        (Some(0), Some(5)),
        "{}",
        again.body
    );
    // Another media type is refused.
    let json = post(&client, &admin, "", "application/json", b"{}".to_vec()).await;
    assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    drop(served);

    {
        let store = SqliteStore::open_read_only(&data).unwrap();
        assert_eq!(count(&store, "dossier.DossierImported"), 5);
        assert_eq!(count(&store, "dossier.PersonIdReserved"), 5);
    }

    // The CLI on the stopped server's directory.
    let file = dir.path().join("export.csv");
    std::fs::write(&file, &csv).unwrap();
    let before = written(&data);
    let out = support::hoso(&[
        "import",
        &support::arg(&file),
        "--data",
        &support::arg(&data),
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", support::text(&out));
    assert!(
        support::text(&out).contains("0 new, 5 already imported unchanged"),
        "{}",
        support::text(&out)
    );
    let out = support::hoso(&[
        "import",
        &support::arg(&file),
        "--data",
        &support::arg(&data),
        "--json",
    ]);
    assert!(out.status.success(), "{}", support::text(&out));
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let report: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(
        (report["imported"].as_u64(), report["unchanged"].as_u64()),
        (Some(0), Some(5))
    );
    // Nothing but the shutdown head the run signs.
    assert_eq!(written(&data), before);
    // The server trusts what the CLI wrote: it signed a head over it.
    let served = support::serve(&data);
    let client = Client::conforming(&served.base).await;
    let admin = client.token("snv.admin", PW).await;
    let again = post(&client, &admin, "", "text/csv", csv.clone().into_bytes()).await;
    assert_eq!(again.body["unchanged"], 5, "{}", again.body);
    drop(served);
    std::fs::write(&file, csv.replacen(HEALTH, "999.99.99.H33", 1)).unwrap();
    let out = support::hoso(&[
        "import",
        &support::arg(&file),
        "--data",
        &support::arg(&data),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", support::text(&out));
    assert!(
        support::text(&out).contains("row 2, column ma_don_vi: scope:unknown-unit"),
        "{}",
        support::text(&out)
    );
}

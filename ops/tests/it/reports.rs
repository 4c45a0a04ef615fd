//! Statistics and reports over HTTP on the testkit's province: job positions
//! held (recorded by appointment decisions) counted in the reports, the
//! cross-tab of two dimensions agreeing with the one-dimension headcounts,
//! every report's CSV and XLSX read back equal to its JSON, and unknown
//! dimensions and formats refused with the valid ones listed.

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use hoso_commands::testkit::{HEALTH, HOSPITAL, Province, d, doc};
use hoso_commands::workflows::RecordDecision;
use hoso_domain::dossier::{AppointmentKind, StateDecision};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::node::Node;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The hospital's people: (identification number, job position appointed
/// to, or none).
const PEOPLE: [(&str, Option<&str>); 4] = [
    ("033190001234", Some("Bác sĩ")),
    ("033190005678", Some("Điều dưỡng")),
    ("033190002468", Some("Điều dưỡng")),
    ("033190003579", None),
];

/// The province on 2 March with the hospital's people declared, three of
/// them appointed to their job positions; served, with a token of the
/// system administrator.
async fn province() -> (Node, String) {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    for (i, (pid, position)) in PEOPLE.iter().enumerate() {
        let id = p.open(pid, HOSPITAL, &p.health_focal).await;
        p.declare_basics(&p.health_focal, &id, pid).await;
        if let Some(title) = position {
            p.wf.record_decision(
                &p.health_focal,
                RecordDecision {
                    dossier_id: id.clone(),
                    decision: StateDecision::Appointment {
                        kind: AppointmentKind::Appointed,
                        position_title: (*title).to_owned(),
                        org_code: HOSPITAL.to_owned(),
                        term_end: None,
                    },
                    effective: d(2026, 1, 2),
                    document: doc(&format!("{}/QĐ-BV", 20 + i), d(2026, 1, 2)),
                },
            )
            .await
            .unwrap();
        }
    }
    let Province {
        dir,
        store,
        wf,
        admin,
        ..
    } = p;
    let path = dir.path().to_path_buf();
    let node = Node::start(&path, Arc::new(wf), &store, Some(dir)).await;
    let token = node.session(&admin.account_id);
    (node, token)
}

/// A GET answered 200 with `content_type`; its bytes and its
/// `Content-Disposition`.
async fn file(node: &Node, path: &str, token: &str, content_type: &str) -> (Vec<u8>, String) {
    let resp = node
        .api
        .http
        .get(format!("{}{path}", node.api.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), content_type, "{path}");
    let disposition = header("content-disposition");
    (resp.bytes().await.unwrap().to_vec(), disposition)
}

/// The first sheet of a workbook (or the one named) as text cells.
fn xlsx_grid(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) => {
                        assert_eq!(f.fract(), 0.0, "a count is whole");
                        format!("{f:.0}")
                    }
                    Data::Int(i) => i.to_string(),
                    other => panic!("unexpected cell {other:?}"),
                })
                .collect()
        })
        .collect()
}

/// CSV (RFC 4180) as text cells.
fn csv_grid(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    rows
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The cross-tab's JSON as the table its CSV and XLSX must hold.
fn crosstab_grid(j: &Value) -> Vec<Vec<String>> {
    let columns = j["columns"].as_array().unwrap();
    let mut header = vec![
        format!("{}/{}", text(&j["rows_by"]), text(&j["columns_by"])),
        "name".to_owned(),
    ];
    header.extend(columns.iter().map(|c| text(&c["key"])));
    header.push("total".to_owned());
    let mut grid = vec![header];
    for r in j["rows"].as_array().unwrap() {
        let mut line = vec![text(&r["key"]), text(&r["name"])];
        line.extend(r["counts"].as_array().unwrap().iter().map(text));
        line.push(text(&r["total"]));
        grid.push(line);
    }
    let mut totals = vec!["total".to_owned(), String::new()];
    totals.extend(columns.iter().map(|c| text(&c["total"])));
    totals.push(text(&j["total"]));
    grid.push(totals);
    grid
}

/// The annual report's JSON as the table its CSV and XLSX must hold.
fn annual_grid(j: &Value) -> Vec<Vec<String>> {
    let mut grid = vec![
        ["breakdown", "key", "name", "count"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for (section, member) in [
        ("category", "by_category"),
        ("rank", "by_rank"),
        ("title", "by_title"),
        ("job_position", "by_job_position"),
    ] {
        for c in j[member].as_array().unwrap() {
            grid.push(vec![
                section.to_owned(),
                text(&c["key"]),
                text(&c["name"]),
                text(&c["count"]),
            ]);
        }
    }
    grid.push(vec![
        "total".to_owned(),
        String::new(),
        String::new(),
        text(&j["total"]),
    ]);
    grid
}

/// Counts by key of a list of `{key, count}` or `{key, total}` objects.
fn by_key(list: &Value, count: &str) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (text(&c["key"]), c[count].as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

/// A headcount's `counts` object as sorted pairs.
fn counts(j: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = j["counts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bt_16_5_job_positions_held_are_counted_not_unknown() {
    let (node, token) = province().await;
    let annual = node
        .get_ok(
            &format!("/api/v1/reports/annual?org={HEALTH}&year=2026"),
            &token,
        )
        .await;
    // Sorted as strings: `Đ` (U+0110) after `u`.
    assert_eq!(
        by_key(&annual["by_job_position"], "count"),
        [
            ("Bác sĩ".to_owned(), 1),
            ("unknown".to_owned(), 1),
            ("Điều dưỡng".to_owned(), 2)
        ]
    );
    let headcount = node
        .get_ok(
            &format!("/api/v1/org-units/{HEALTH}/headcount?by=job_position"),
            &token,
        )
        .await;
    assert_eq!(
        counts(&headcount),
        by_key(&annual["by_job_position"], "count")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crosstab_of_two_dimensions_has_the_headcounts_as_its_totals() {
    let (node, token) = province().await;
    for (rows, cols) in [
        ("job_position", "gender"),
        ("category", "age_band"),
        ("unit", "job_position"),
    ] {
        let j = node
            .get_ok(
                &format!(
                    "/api/v1/reports/crosstab?org={HEALTH}&rows={rows}&cols={cols}&date=2026-03-02"
                ),
                &token,
            )
            .await;
        assert_eq!(j["rows_by"], rows);
        assert_eq!(j["columns_by"], cols);
        assert_eq!(j["total"], PEOPLE.len() as u64);
        let headcount = |by: &str| {
            let path = format!("/api/v1/org-units/{HEALTH}/headcount?by={by}&date=2026-03-02");
            let node = &node;
            let token = &token;
            async move { counts(&node.get_ok(&path, token).await) }
        };
        assert_eq!(by_key(&j["rows"], "total"), headcount(rows).await, "{rows}");
        assert_eq!(
            by_key(&j["columns"], "total"),
            headcount(cols).await,
            "{cols}"
        );
        for r in j["rows"].as_array().unwrap() {
            let sum: u64 = r["counts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .sum();
            assert_eq!(r["total"].as_u64(), Some(sum));
        }
    }
    // Every woman of the hospital, by job position: the declared sex and the
    // appointments, cell by cell.
    let j = node
        .get_ok(
            &format!("/api/v1/reports/crosstab?org={HEALTH}&rows=job_position&cols=unit"),
            &token,
        )
        .await;
    assert_eq!(j["columns"][0]["key"], HOSPITAL);
    assert_eq!(j["columns"][0]["name"], "Bệnh viện Đa khoa tỉnh");
    let cells: Vec<(String, u64)> = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (text(&r["key"]), r["counts"][0].as_u64().unwrap()))
        .collect();
    assert_eq!(
        cells,
        [
            ("Bác sĩ".to_owned(), 1),
            ("Điều dưỡng".to_owned(), 2),
            ("unknown".to_owned(), 1)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_reads_back_from_xlsx_and_csv_equal_to_its_json() {
    let (node, token) = province().await;
    let q = format!("org={HEALTH}&rows=job_position&cols=gender&date=2026-03-02");
    let json = node
        .get_ok(&format!("/api/v1/reports/crosstab?{q}"), &token)
        .await;
    let want = crosstab_grid(&json);
    let (xlsx, name) = file(
        &node,
        &format!("/api/v1/reports/crosstab?{q}&format=xlsx"),
        &token,
        XLSX,
    )
    .await;
    assert_eq!(
        name,
        format!("attachment; filename=\"crosstab-{HEALTH}-job_position-gender-2026-03-02.xlsx\"")
    );
    assert_eq!(xlsx_grid(&xlsx, "crosstab"), want);
    let (csv, name) = file(
        &node,
        &format!("/api/v1/reports/crosstab?{q}&format=csv"),
        &token,
        "text/csv; charset=utf-8",
    )
    .await;
    assert!(name.ends_with(".csv\""), "{name}");
    assert_eq!(csv_grid(&csv), want);

    let annual = format!("/api/v1/reports/annual?org={HEALTH}&year=2026");
    let json = node.get_ok(&annual, &token).await;
    let want = annual_grid(&json);
    assert!(
        want.iter()
            .any(|r| r[0] == "job_position" && r[1] == "Điều dưỡng")
    );
    let (xlsx, _) = file(&node, &format!("{annual}&format=xlsx"), &token, XLSX).await;
    assert_eq!(xlsx_grid(&xlsx, "annual"), want);
    let (csv, _) = file(
        &node,
        &format!("{annual}&format=csv"),
        &token,
        "text/csv; charset=utf-8",
    )
    .await;
    assert_eq!(csv_grid(&csv), want);

    // The quality report: the total line's figures in the sheet and the JSON.
    let quality = format!("/api/v1/reports/quality?org={HEALTH}&date=2026-03-02");
    let json = node.get_ok(&quality, &token).await;
    let total = json["lines"].as_array().unwrap().last().unwrap();
    assert_eq!(total["category"], "total");
    assert_eq!(total["total"], PEOPLE.len() as u64);
    assert_eq!(total["women"], PEOPLE.len() as u64);
    let (xlsx, _) = file(&node, &format!("{quality}&format=xlsx"), &token, XLSX).await;
    let grid = xlsx_grid(&xlsx, "quality");
    assert_eq!(grid.len(), json["lines"].as_array().unwrap().len() + 1);
    let last = grid.last().unwrap();
    assert_eq!(last[..3], ["total", "4", "4"]);
    let (csv, _) = file(
        &node,
        &format!("{quality}&format=csv"),
        &token,
        "text/csv; charset=utf-8",
    )
    .await;
    assert_eq!(csv_grid(&csv), grid);

    // The other reports answer a workbook too, each sheet named.
    for (path, sheets) in [
        (
            format!("/api/v1/reports/sla?org={HEALTH}&format=xlsx"),
            &["units", "open"][..],
        ),
        (
            format!(
                "/api/v1/reports/management?org={HEALTH}&from=2026-01-01&to=2026-03-02&format=xlsx"
            ),
            &["management"][..],
        ),
        (
            "/api/v1/reports/approvals-pending?format=xlsx".to_owned(),
            &["approvals_pending"][..],
        ),
    ] {
        let (xlsx, _) = file(&node, &path, &token, XLSX).await;
        let book: Xlsx<_> = Xlsx::new(Cursor::new(xlsx)).unwrap();
        assert_eq!(book.sheet_names(), sheets, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_dimension_or_format_is_refused_listing_the_valid_ones() {
    let (node, token) = province().await;
    for path in [
        format!("/api/v1/reports/crosstab?org={HEALTH}&rows=sex&cols=gender"),
        format!("/api/v1/reports/crosstab?org={HEALTH}&rows=gender&cols=position"),
        format!("/api/v1/org-units/{HEALTH}/headcount?by=position"),
    ] {
        let a = node.get(&path, &token).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(a.body["type"], "urn:hoso:problem:request:invalid-dimension");
        let detail = text(&a.body["detail"]);
        for valid in [
            "category",
            "rank",
            "title",
            "job_position",
            "gender",
            "age_band",
            "ethnicity",
            "education",
            "qualification",
            "party_member",
            "unit",
        ] {
            assert!(detail.contains(valid), "{detail}");
        }
        assert!(!detail.contains("Some("), "{detail}");
    }
    for path in [
        format!("/api/v1/reports/annual?org={HEALTH}&format=pdf"),
        format!("/api/v1/reports/crosstab?org={HEALTH}&rows=gender&cols=unit&format=ods"),
        "/api/v1/reports/approvals-pending?format=XLSX".to_owned(),
    ] {
        let a = node.get(&path, &token).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(a.body["type"], "urn:hoso:problem:request:invalid-format");
        assert!(
            text(&a.body["detail"]).ends_with("valid formats: json, csv, xlsx"),
            "{}",
            a.body
        );
    }
}

//! Dry run, real run, reruns, a crash half way, conflicts and the refusal
//! of a file with problems, on the test province (CSV and XLSX).

use hoso_commands::testkit::{Province, d, f};
use hoso_commands::workflows::{Actor, CommandError, Declare};
use hoso_import::read::{self, FileKind, Table};
use hoso_import::{ImportError, Options, Report};
use hoso_ledger::{EventStore, ExpectedRevision, NewEvent};
use hoso_schemas::DomainEvent;

const SAMPLE: &str = include_str!("../../../docs/examples/import-sample.csv");

async fn province() -> Province {
    Province::new("national", d(2026, 12, 1)).await
}

fn sample() -> Table {
    read::read(SAMPLE.as_bytes(), FileKind::Csv).unwrap()
}

async fn import(p: &Province, table: &Table, dry_run: bool) -> Report {
    hoso_import::run(
        &p.wf,
        &p.admin,
        table,
        &Options::new("pm-nhan-su", dry_run),
        &|_, _, _| {},
    )
    .await
    .unwrap()
}

async fn head(p: &Province) -> Option<u64> {
    p.store.head_position().await.unwrap()
}

/// The sample's rows as an XLSX workbook, the way a spreadsheet saves them.
fn as_xlsx(table: &Table) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in table.headers.iter().enumerate() {
        sheet.write_string(0, c as u16, h).unwrap();
    }
    for (r, (_, cells)) in table.rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn dry_run_reports_and_writes_nothing() {
    let p = province().await;
    let before = head(&p).await;
    let r = import(&p, &sample(), true).await;
    assert_eq!((r.rows, r.new, r.imported), (5, 5, 0), "{r:#?}");
    assert!(r.problems.is_empty() && r.conflicts.is_empty(), "{r:#?}");
    assert_eq!(r.ignored_columns, ["STT"]);
    assert_eq!(head(&p).await, before);
}

#[tokio::test]
async fn real_run_imports_and_a_rerun_adds_nothing_in_csv_or_xlsx() {
    let p = province().await;
    let r = import(&p, &sample(), false).await;
    assert_eq!((r.imported, r.unchanged), (5, 0), "{r:#?}");
    let id = hoso_import::run::dossier_id("pm-nhan-su", "NS-000101");
    assert_eq!(
        p.wf.dossier_of_person("001090001234").await.unwrap(),
        Some(id.clone())
    );
    let events = p.events(&format!("dossier-{id}")).await;
    let DomainEvent::DossierImported(e) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(e.source_system, "pm-nhan-su");
    assert_eq!(e.source_record_id, "NS-000101");
    // The number is sealed, never in clear.
    assert!(e.person_id.is_empty() && !e.person_id_sealed.is_empty());
    let codes: Vec<&str> = e.sections.iter().map(|s| s.section_code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "identity",
            "residence",
            "recruitment",
            "rank_salary",
            "education"
        ]
    );

    let after = head(&p).await;
    let again = import(&p, &sample(), false).await;
    assert_eq!((again.imported, again.unchanged), (0, 5), "{again:#?}");
    let bytes = as_xlsx(&sample());
    let xlsx = read::read(&bytes, FileKind::sniff(&bytes)).unwrap();
    let as_xlsx = import(&p, &xlsx, false).await;
    assert_eq!(
        (as_xlsx.imported, as_xlsx.unchanged),
        (0, 5),
        "{as_xlsx:#?}"
    );
    assert_eq!(head(&p).await, after);
}

#[tokio::test]
async fn a_crash_half_way_is_completed_by_a_rerun() {
    let p = province().await;
    let full = sample();
    let half = Table {
        rows: full.rows[..2].to_vec(),
        ..full.clone()
    };
    assert_eq!(import(&p, &half, false).await.imported, 2);
    // A crash between a record's claim and its dossier: the claim alone.
    let third = hoso_import::run::dossier_id("pm-nhan-su", "NS-000103");
    let claim = DomainEvent::from(hoso_schemas::pb::dossier::PersonIdReserved {
        dossier_id: third.clone(),
    });
    let key = p.wf.person_key("001085007788");
    p.store
        .append(
            &hoso_domain::dossier::person_id_stream(&key),
            ExpectedRevision::NoStream,
            vec![NewEvent::from_domain(&claim).with_actor(p.admin.account_id.as_str())],
        )
        .await
        .unwrap();
    let r = import(&p, &full, false).await;
    assert_eq!((r.imported, r.unchanged), (3, 2), "{r:#?}");
    assert!(r.conflicts.is_empty(), "{r:#?}");
    assert_eq!(
        p.wf.dossier_of_person("001085007788").await.unwrap(),
        Some(third)
    );
    let after = head(&p).await;
    assert_eq!(import(&p, &full, false).await.unchanged, 5);
    assert_eq!(head(&p).await, after);
}

#[tokio::test]
async fn a_bad_value_refuses_the_file_listing_every_problem() {
    let p = province().await;
    let mut t = sample();
    t.rows[1].1[2] = "TRẦN\u{202E}THỊ".to_owned(); // ho_ten: a bidi override
    t.rows[1].1[4] = "31/02/1992".to_owned(); // ngay_sinh
    t.rows[3].1[6] = "Hợp đồng".to_owned(); // doi_tuong
    t.rows[4].1[7] = "999.99.99.H33".to_owned(); // ma_don_vi
    t.rows[4].1[19] = String::new(); // ma_ngach, required with the rank
    let before = head(&p).await;
    let r = import(&p, &t, false).await;
    assert!(r.refused && r.imported == 0, "{r:#?}");
    let found: Vec<(u32, Option<&str>, &str)> = r
        .problems
        .iter()
        .map(|x| (x.row, x.column.as_deref(), x.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (3, Some("ho_ten"), "input:bidi-control"),
            (3, Some("ngay_sinh"), "form:bad-value"),
            (5, Some("doi_tuong"), "import:unknown-category"),
            (6, Some("ma_don_vi"), "scope:unknown-unit"),
            (6, Some("ma_ngach"), "form:missing-field"),
        ]
    );
    assert!(r.problems[2].message.contains("\"Viên chức\""), "{r:#?}");
    assert_eq!(head(&p).await, before);
    // The dry run reports the same problems.
    let dry = import(&p, &t, true).await;
    assert_eq!(dry.problems, r.problems);
}

#[tokio::test]
async fn duplicates_in_the_file_are_problems() {
    let p = province().await;
    let mut t = sample();
    t.rows[2].1[3] = t.rows[0].1[3].clone(); // the same person
    t.rows[3].1[1] = t.rows[0].1[1].clone(); // the same record id
    t.rows[4].1[1] = t.rows[4].1[3].clone(); // the number as record id
    let r = import(&p, &t, true).await;
    let rules: Vec<(u32, &str)> = r
        .problems
        .iter()
        .map(|x| (x.row, x.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            (4, "import:duplicate-person"),
            (5, "import:duplicate-record"),
            (6, "import:record-id-is-person-id"),
        ]
    );
}

#[tokio::test]
async fn a_person_from_elsewhere_or_a_changed_record_is_a_conflict() {
    let p = province().await;
    let opened = p
        .open(
            "001090001234",
            hoso_commands::testkit::HOSPITAL,
            &p.health_focal,
        )
        .await;
    let r = import(&p, &sample(), false).await;
    assert_eq!(r.imported, 4, "{r:#?}");
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].rule, "import:person-has-dossier");
    assert!(r.conflicts[0].message.contains(&opened));
    // The same file from another source: every person is a conflict.
    let other = hoso_import::run(
        &p.wf,
        &p.admin,
        &sample(),
        &Options::new("another-system", false),
        &|_, _, _| {},
    )
    .await
    .unwrap();
    assert_eq!((other.imported, other.conflicts.len()), (0, 5));
    // A record changed since its import.
    let mut t = sample();
    t.rows[1].1[23] = "Cử nhân Văn học".to_owned(); // chuyen_mon
    let changed = import(&p, &t, false).await;
    assert_eq!(changed.conflicts.len(), 2, "{changed:#?}");
    assert_eq!(changed.conflicts[1].rule, "import:record-changed");
    assert_eq!(changed.unchanged, 3);
}

#[tokio::test]
async fn only_the_system_administrator_imports() {
    let p = province().await;
    let err = hoso_import::run(
        &p.wf,
        &p.health_focal,
        &sample(),
        &Options::new("pm-nhan-su", true),
        &|_, _, _| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Command(CommandError::Access(_))),
        "{err}"
    );
    let _ = (
        Actor::new("x"),
        Declare::new("x", "identity", vec![f("1", "x", 0)]),
    );
}

//! `hoso bench import --people N`: a province's export of N people generated
//! as CSV in the import format, then imported into a fresh data directory
//! (in the working directory, so on this machine's disk) through
//! `hoso_import` as `hoso import` runs it: a dry run, the real run, and a
//! rerun that must add nothing; each timed, the median of `--rounds`
//! printed.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use chrono::NaiveDate;
use hoso_commands::workflows::Actor;
use hoso_domain::clock::SystemClock;
use hoso_domain::org::{OrgChange, OrgCommand, OrgUnitKind};
use hoso_import::read::{FileKind, read};
use hoso_import::{Options, Report};
use hoso_ledger::SourceDocument;

use crate::data_dir::{DataDir, Keys};

const ROOT: &str = "000.00.00.H33";
const UNIT: &str = "000.03.00.H33";

/// The CSV of `people` people, every one valid, all managed by [`UNIT`].
pub fn export_csv(people: usize) -> String {
    let mut out = String::from(
        "Mã hồ sơ,Họ và tên khai sinh,Số định danh cá nhân,Ngày sinh,Giới tính,Đối tượng,Mã đơn vị quản lý,Ngày bàn giao hồ sơ,Dân tộc,Tôn giáo,Nơi thường trú,Ngày tuyển dụng,Cơ quan tuyển dụng,Chức vụ hiện tại,Mã ngạch,\"Ngạch công chức, viên chức\",Bậc lương,Hệ số lương,Trình độ giáo dục phổ thông,Trình độ chuyên môn cao nhất\n",
    );
    const FAMILY: [&str; 6] = ["NGUYỄN", "TRẦN", "LÊ", "PHẠM", "HOÀNG", "VŨ"];
    const GIVEN: [&str; 6] = ["AN", "BÌNH", "CƯỜNG", "DUNG", "HƯƠNG", "ĐỨC"];
    for i in 0..people {
        let female = i % 2 == 1;
        let year = 1970 + (i % 30);
        // Century-and-sex digit (0 male, 1 female, 1900s), two year digits,
        // a six-digit serial: unique for fewer than a million a year.
        let id = format!("001{}{:02}{:06}", u8::from(female), year % 100, i / 30);
        let _ = writeln!(
            out,
            "NS-{i:07},{} {} {},{id},{:02}/{:02}/{year},{},{},{UNIT},01/12/2026,Kinh,Không,\"Số {} đường Lê Lợi, tỉnh Hưng Yên\",01/09/{},Sở Giáo dục và Đào tạo,Chuyên viên,01.003,Chuyên viên,{},{}.{:02},12/12,Cử nhân",
            FAMILY[i % 6],
            if female { "THỊ" } else { "VĂN" },
            GIVEN[(i / 6) % 6],
            1 + i % 28,
            1 + i % 12,
            if female { "Nữ" } else { "Nam" },
            if i % 3 == 0 {
                "Viên chức"
            } else {
                "Công chức"
            },
            1 + i % 200,
            year + 24,
            1 + i % 9,
            2 + i % 5,
            (i * 33) % 100,
        );
    }
    out
}

fn paper(number: &str, date: NaiveDate) -> SourceDocument {
    SourceDocument {
        number: number.into(),
        date,
        issuer: "UBND tỉnh".into(),
        attachment_sha256: None,
    }
}

/// A fresh data directory with an administrator and the unit the export names.
async fn fresh(dir: &std::path::Path) -> anyhow::Result<(crate::data_dir::Node, Actor)> {
    let profile = hoso_domain::profile::Profile::load("national")?;
    let data = DataDir::new(dir);
    let opener = data.on(Arc::new(SystemClock));
    let store = opener.create_store()?;
    data.write_settings(&profile, "hoso bench import")?;
    let node = opener.node(store, profile, Keys::Create)?;
    let wf = &node.workflows;
    let (id, _) = wf
        .bootstrap_system_admin("snv.admin", "Quản trị", ROOT, "Khoi-Tao#2026!")
        .await?;
    wf.change_password(&id, "Khoi-Tao#2026!", "Doi-Ngay#2026!")
        .await?;
    let admin = Actor::new(id);
    let founded = NaiveDate::from_ymd_opt(2020, 1, 1).context("date")?;
    for (code, name, kind, parent) in [
        (
            ROOT,
            "UBND tỉnh",
            OrgUnitKind::PeoplesCommitteeProvince,
            None,
        ),
        (
            UNIT,
            "Sở Giáo dục và Đào tạo",
            OrgUnitKind::ProvincialDepartment,
            Some(ROOT),
        ),
    ] {
        wf.org(
            &admin,
            OrgCommand {
                code: code.into(),
                decision: paper("1/QĐ-UBND", founded),
                change: OrgChange::Establish {
                    name: name.into(),
                    kind,
                    parent: parent.map(Into::into),
                    effective: founded,
                },
            },
        )
        .await?;
    }
    Ok((node, admin))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the benchmark.
pub async fn run(people: usize, rounds: usize, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let csv = export_csv(people);
    let table = read(csv.as_bytes(), FileKind::Csv)?;
    let generated = started.elapsed().as_secs_f64();
    println!(
        "generated an export of {people} people: {:.1} MiB of CSV in {generated:.1} s",
        csv.len() as f64 / 1_048_576.0
    );
    let (mut dry, mut real, mut rerun) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let tmp = tempfile::Builder::new()
            .prefix(".hoso-bench-import-")
            .tempdir_in(".")?;
        let (node, admin) = fresh(tmp.path()).await?;
        let wf = &node.workflows;
        let time = |dry_run: bool| {
            let table = &table;
            let admin = &admin;
            async move {
                let t = Instant::now();
                let report: Report = hoso_import::run(
                    wf,
                    admin,
                    table,
                    &Options::new("bench", dry_run),
                    &|_, _, _| {},
                )
                .await?;
                anyhow::Ok((t.elapsed().as_secs_f64(), report))
            }
        };
        let (d, r) = time(true).await?;
        ensure!(r.new == people && r.problems.is_empty(), "dry run: {r:?}");
        let (i, r) = time(false).await?;
        ensure!(r.imported == people, "real run: {:?}", r.failed.first());
        let head = node.store.head_position().await?;
        let (again, r) = time(false).await?;
        ensure!(r.unchanged == people && r.imported == 0, "rerun");
        ensure!(
            node.store.head_position().await? == head,
            "the rerun appended"
        );
        println!(
            "round {}: dry run {d:.1} s, real run {i:.1} s ({:.0} people/s), rerun {again:.1} s (nothing appended)",
            round + 1,
            people as f64 / i.max(1e-9)
        );
        dry.push(d);
        real.push(i);
        rerun.push(again);
    }
    let (d, i, a) = (median(dry), median(real), median(rerun));
    println!(
        "median of {rounds}: dry run {d:.1} s, real run {i:.1} s ({:.0} people/s), rerun {a:.1} s",
        people as f64 / i.max(1e-9)
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "import", "people": people, "rounds": rounds,
                "dry_run_s": d, "real_run_s": i, "rerun_s": a,
            })
        );
    }
    Ok(())
}

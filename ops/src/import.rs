//! `hoso import FILE --data DIR`: the province's existing records from the
//! CSV or XLSX its HR software exports (`docs/import-format.md`), through
//! `hoso_import` as the Sở Nội vụ administrator, with progress on the
//! terminal and a summary. `--dry-run` checks and reports every row's
//! problems; a real run checks the whole file before its first append and
//! can be run again (after a crash too): what is imported already is left
//! as it is.
//!
//! Exit status: 0 when every row is imported or unchanged, 1 when the file
//! has problems (a real run then appends nothing), 3 when rows were left
//! out as conflicts or failed appends, 2 on any other error.

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use hoso_commands::workflows::Actor;
use hoso_domain::clock::SystemClock;
use hoso_import::{FileKind, Options, Phase, Report};

use crate::data_dir::{DataDir, Keys};
use crate::progress::Progress;

/// What `hoso import` was asked.
pub struct ImportArgs<'a> {
    /// The file.
    pub file: &'a Path,
    /// The data directory.
    pub data: &'a Path,
    /// Check only.
    pub dry_run: bool,
    /// The exporting system's name.
    pub source: &'a str,
    /// The system administrator the records are imported as.
    pub admin: &'a str,
    /// Print the report as one line of JSON (the last) instead of the summary.
    pub json: bool,
}

/// Runs `hoso import`.
pub async fn run(args: &ImportArgs<'_>) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(args.file).with_context(|| format!("read {}", args.file.display()))?;
    let xlsx = args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let kind = if xlsx {
        FileKind::Xlsx
    } else {
        FileKind::sniff(&bytes)
    };
    let table = hoso_import::read::read(&bytes, kind)
        .with_context(|| format!("read {}", args.file.display()))?;
    let node = DataDir::new(args.data)
        .on(Arc::new(SystemClock))
        .open_node(Keys::Open)?;
    // Appends go through the node's trust as `hoso serve`'s do: the log
    // verified against the latest signed head first, and a shutdown head
    // signed over what was imported, or the next `hoso serve` would take the
    // new events for ones forged while it was stopped. A dry run writes
    // nothing, not even a head.
    let sealer = if args.dry_run {
        None
    } else {
        let sealer =
            crate::trust::open(&node, crate::trust::Verify::Incremental, Keys::Open).await?;
        let running = tokio::spawn(sealer.clone().run());
        Some((sealer, running))
    };
    let admin = node
        .workflows
        .account_by_username(args.admin)
        .await?
        .with_context(|| {
            format!(
                "no account {} (the Sở Nội vụ administrator, --admin)",
                args.admin
            )
        })?;
    let started = Instant::now();
    // One bar per phase, each closed when the next begins.
    let bar: Mutex<Option<(Phase, Progress)>> = Mutex::new(None);
    let progress = |phase: Phase, done: usize, total: usize| {
        let mut bar = bar.lock().unwrap_or_else(|p| p.into_inner());
        if bar.as_ref().is_none_or(|(p, _)| *p != phase) {
            if let Some((_, old)) = bar.take() {
                old.finish();
            }
            let what = match phase {
                Phase::Checking => "checking",
                Phase::Matching => "matching",
                Phase::Importing => "importing",
            };
            *bar = Some((phase, Progress::new(what, total as u64)));
        }
        if let Some((_, p)) = bar.as_ref() {
            p.set(done as u64);
        }
    };
    let report = hoso_import::run(
        &node.workflows,
        &Actor::new(admin),
        &table,
        &Options::new(args.source, args.dry_run),
        &progress,
    )
    .await?;
    if let Some((_, p)) = bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
        p.finish();
    }
    if let Some((sealer, running)) = sealer {
        sealer
            .shutdown()
            .await?
            .context("the ledger became untrusted during the import")?;
        running.await??;
    }
    if args.json {
        // One line, the last: the trust check prints before it.
        println!("{}", serde_json::to_string(&report)?);
    } else {
        summary(args.file, &report, started.elapsed().as_secs_f64());
    }
    Ok(if !report.problems.is_empty() {
        ExitCode::from(1)
    } else if !report.conflicts.is_empty() || !report.failed.is_empty() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary(file: &Path, r: &Report, secs: f64) {
    let what = if r.dry_run { "dry run of" } else { "import of" };
    println!(
        "{what} {} (source {}): {} rows in {secs:.1} s",
        file.display(),
        r.source,
        r.rows
    );
    if !r.ignored_columns.is_empty() {
        println!("  ignored columns: {}", r.ignored_columns.join(", "));
    }
    let list = |title: &str, items: &[hoso_import::Problem]| {
        if items.is_empty() {
            return;
        }
        println!("  {title}: {}", items.len());
        for p in items {
            println!(
                "    row {}{}: {} — {}",
                p.row,
                p.column
                    .as_deref()
                    .map(|c| format!(", column {c}"))
                    .unwrap_or_default(),
                p.rule,
                p.message
            );
        }
    };
    list("problems", &r.problems);
    list("conflicts (not imported)", &r.conflicts);
    list("failed appends (run again)", &r.failed);
    if r.dry_run {
        println!(
            "  {} new, {} already imported unchanged; nothing was written{}",
            r.new,
            r.unchanged,
            if r.problems.is_empty() {
                ""
            } else {
                " (fix the problems, then run without --dry-run)"
            }
        );
    } else if r.refused {
        println!("  refused: the file has problems, nothing was imported");
    } else {
        println!(
            "  {} imported, {} already imported unchanged",
            r.imported, r.unchanged
        );
    }
}

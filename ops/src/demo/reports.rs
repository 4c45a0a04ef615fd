//! The read side of the demo: the ledger projected into its read model and the
//! province's annual headcount and SLA reports printed.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use chrono::Datelike;
use hoso_commands::workflows::Workflows;
use hoso_ledger::EventStore;
use hoso_ledger::SqliteStore;

use super::Tale;
use super::summary::{row, tally};
use crate::data_dir::{DataDir, Node};

/// Projects the demo ledger into its read model and prints the province's
/// annual headcount report (BT 16.5, HY 14.1) and SLA report of obligations.
pub(super) async fn print_reports(
    dir: &DataDir,
    store: &SqliteStore,
    wf: &Workflows,
    root: &str,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let sealer = std::sync::Arc::new(hoso_api::access::KeyringSealer(wf.keyring().clone()));
    let (model, _) = hoso_projections::ReadModel::open(dir.path(), wf.clock().clone(), sealer)
        .context("opening the read model")?;
    let events = model
        .catch_up(store)
        .await
        .context("projecting the demo ledger")?;
    println!(
        "read model: {events} events projected in {:.1} s into {}",
        started.elapsed().as_secs_f64(),
        dir.read_model_file().display()
    );
    let today = wf.today();
    print_annual_report(&model, wf, root, today.year()).await?;
    print_sla_report(&model, wf, today)
}

/// The annual headcount report, checked against the write side.
async fn print_annual_report(
    model: &hoso_projections::ReadModel,
    wf: &Workflows,
    root: &str,
    year: i32,
) -> anyhow::Result<()> {
    let annual = model.annual_report(root, year)?;
    println!("annual headcount report {year} ({root} and below, BT 16.5, HY 14.1):");
    row("active people", annual.total);
    for c in &annual.by_category {
        println!("    {:<36} {}", c.key, c.count);
    }
    // The report must agree with a brute-force count taken on the write
    // side (the handlers' own index of every dossier), category by category.
    let mut brute: BTreeMap<String, u64> = BTreeMap::new();
    for d in wf.dossier_summaries().await?.values() {
        if !hoso_domain::dossier::is_archived_status(d.status) {
            *brute
                .entry(hoso_schemas::Spelling::spelling(d.category))
                .or_default() += 1;
        }
    }
    let reported: BTreeMap<String, u64> = annual
        .by_category
        .iter()
        .map(|c| (c.key.clone(), c.count))
        .collect();
    anyhow::ensure!(
        reported == brute,
        "annual report {reported:?} disagrees with a brute-force count {brute:?}"
    );
    println!(
        "  (totals match a brute-force count of the {} active dossiers on the write side)",
        brute.values().sum::<u64>()
    );
    print_largest("by civil-service rank", &annual.by_rank);
    print_largest("by professional title", &annual.by_title);
    print_largest("by job position", &annual.by_job_position);
    Ok(())
}

/// The five largest of `counts`.
fn print_largest(title: &str, counts: &[hoso_projections::reports::Count]) {
    let mut sorted: Vec<_> = counts.iter().collect();
    sorted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    println!("  {title} ({} kinds, largest first):", sorted.len());
    for c in sorted.iter().take(5) {
        println!(
            "    {:<14} {:<40} {}",
            c.key,
            c.name.as_deref().unwrap_or(""),
            c.count
        );
    }
}

/// The SLA report of obligations.
fn print_sla_report(
    model: &hoso_projections::ReadModel,
    wf: &Workflows,
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    let sla = model.sla_report(today, wf.calendar())?;
    let sum =
        |f: fn(&hoso_projections::reports::SlaLine) -> u64| sla.units.iter().map(f).sum::<u64>();
    println!(
        "SLA report on {} ({} units with obligations; due dates in the profile's working days):",
        sla.on,
        sla.units.len()
    );
    row("open, not yet due", sum(|l| l.open));
    row("open and overdue", sum(|l| l.overdue));
    row("closed on time", sum(|l| l.closed_on_time));
    row("closed late", sum(|l| l.closed_late));
    for o in sla
        .open
        .iter()
        .filter(|o| o.overdue_working_days > 0)
        .take(5)
    {
        println!(
            "    overdue {:>3} working days: {} ({}) due {} on dossier {}",
            o.overdue_working_days, o.obligation, o.citation, o.due, o.dossier_id
        );
    }
    Ok(())
}

impl Tale {
    /// The log verified end to end, the summary, and the read side's reports.
    pub(super) async fn verify_and_report(
        &self,
        node: &Node,
        elapsed: std::time::Duration,
    ) -> anyhow::Result<()> {
        let store = node.sqlite()?;
        let tally = tally(store).await?;
        let report = store
            .verify_all(&|_| ())
            .await
            .context("verifying the demo ledger")?;
        self.summary
            .print(&self.province, &tally, report.events, elapsed);
        println!(
            "  verify: {} events in {} streams, every hash chain intact, every payload decodes",
            report.events, report.streams
        );
        print_reports(&node.dir, store, &self.wf, self.province.root()).await
    }
}

//! `hoso demo`: a fresh synthetic province written through the ledger, step by step as
//! the workflows would (each step its own append with an exact expected revision),
//! then verified end to end.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use futures::StreamExt;
use hoso_ledger::sqlite::DB_FILE;
use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, SqliteStore, StoreOptions};
use hoso_schemas::pb::common::PersonnelCategory;

use crate::progress::Progress;
use crate::synth::{Person, Synth};

/// Dossiers written at the same time, like officers working in parallel.
const CONCURRENT_DOSSIERS: usize = 32;
/// Communes in the synthetic province.
const COMMUNES: usize = 24;

/// Builds, writes and verifies the synthetic province.
pub async fn run(data: Option<PathBuf>, people: usize, seed: u64) -> anyhow::Result<()> {
    let (dir, tmp) = match data {
        Some(d) => {
            anyhow::ensure!(
                !d.join(DB_FILE).exists(),
                "{} already holds a ledger; give the demo a new directory",
                d.display()
            );
            (d, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("hoso-demo-")
                .tempdir()
                .context("create a temporary directory")?;
            (t.path().to_owned(), Some(t))
        }
    };
    let store = SqliteStore::create(&dir, StoreOptions::default())?;
    println!(
        "hoso demo: a synthetic province of {people} public servants, ledger at {}",
        store.path().display()
    );

    let mut synth = Synth::new(seed);
    let units = synth.units(COMMUNES);
    let started = Instant::now();
    for (stream, events) in synth.unit_events(&units) {
        store
            .append(&stream, ExpectedRevision::NoStream, events)
            .await?;
    }
    let dossiers: Vec<(Person, Vec<NewEvent>)> = (0..people)
        .map(|i| {
            let p = synth.person(&units);
            let focal = format!("focal-{}", i % 40);
            let events = synth.dossier_events(&p, &focal);
            (p, events)
        })
        .collect();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_category: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (p, events) in &dossiers {
        *by_category.entry(category_name(p.category)).or_default() += 1;
        for e in events {
            *by_type.entry(e.event_type.clone()).or_default() += 1;
        }
    }
    let total: u64 = by_type.values().sum();

    let done = Arc::new(AtomicU64::new(0));
    let progress = Progress::new("dossiers", people as u64);
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(dossiers)
        .map(|(p, events)| {
            let store = store.clone();
            let done = done.clone();
            let progress = &progress;
            async move {
                let stream = p.stream();
                let mut expected = ExpectedRevision::NoStream;
                for e in events {
                    let r = store.append(&stream, expected, vec![e]).await?;
                    expected = ExpectedRevision::Exact(r.stream_revision);
                }
                progress.set(done.fetch_add(1, Ordering::Relaxed) + 1);
                Ok(())
            }
        })
        .buffer_unordered(CONCURRENT_DOSSIERS)
        .collect()
        .await;
    progress.finish();
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    let written = started.elapsed();

    let report = store
        .verify_all(&|_| ())
        .await
        .context("verifying the demo ledger")?;
    println!("  organisation units established: {}", units.len());
    println!("  dossiers opened:                {people}");
    for (category, n) in &by_category {
        println!("    {category:<28} {n}");
    }
    println!("  events by type:");
    for (t, n) in &by_type {
        println!("    {t:<34} {n}");
    }
    println!(
        "  {} events written in {:.2} s ({:.0} events/s, every append durable)",
        report.events,
        written.as_secs_f64(),
        (total + units.len() as u64) as f64 / written.as_secs_f64()
    );
    println!(
        "  verify: {} events in {} streams, every hash chain intact",
        report.events, report.streams
    );
    match tmp {
        Some(t) => {
            drop(store);
            drop(t);
            println!(
                "the data directory was temporary and is removed; run `hoso demo --data DIR` to keep it"
            );
        }
        None => println!(
            "kept in {}; check it with `hoso verify --data {}`",
            dir.display(),
            dir.display()
        ),
    }
    Ok(())
}

fn category_name(c: PersonnelCategory) -> &'static str {
    match c {
        PersonnelCategory::CanBo => "cán bộ",
        PersonnelCategory::CongChuc => "công chức",
        PersonnelCategory::VienChuc => "viên chức",
        PersonnelCategory::NguoiLaoDong => "người lao động",
        PersonnelCategory::CommuneCadre => "cán bộ, công chức cấp xã",
        PersonnelCategory::Unspecified => "unspecified",
    }
}

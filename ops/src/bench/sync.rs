//! `hoso bench sync`: the national sync feed's two costs on a generated
//! province (the rebuild bench's log, every dossier approved once): sealing
//! a batch (its items' documents rendered and digested, the Merkle root,
//! the statement digest and the director's ed25519 signature) and the
//! consumer's verification of the batch as served, a page at a time (every
//! document's SHA-256, canonical item and inclusion proof, the signature),
//! in items/s.
//!
//! Both sides run the code the server and `hoso sync pull` run
//! (`hoso_api::routes::sync::{build_items, serve_page}`,
//! `hoso_api::sync_cache::VerifiedBatch`, `crate::sync_pull::Assembly`);
//! the served pages are built in memory, so HTTP transfer is not in the
//! figure. The seal is not appended to the log:
//! the generated province has no director account, and one append is not
//! what this measures.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use ed25519_dalek::{Signer, SigningKey};
use hoso_api::access::KeyringSealer;
use hoso_api::routes::sync::{
    BatchOut, DEFAULT_ITEMS_LIMIT, StatementJson, build_items, serve_page,
};
use hoso_api::sync_cache::VerifiedBatch;
use hoso_domain::clock::SystemClock;
use hoso_domain::profile::Profile;
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;
use hoso_sync::{BatchStatement, Hash, Month};

use crate::progress::Progress;

/// What to run.
pub struct Options {
    /// Data directory of the generated log (shared with `bench rebuild`).
    pub data: Option<PathBuf>,
    /// People in the generated province.
    pub people: u64,
    /// Seed of the generated log.
    pub seed: u64,
    /// Province profile whose restrictions and `[sync]` apply.
    pub profile: String,
    /// Print one JSON object as the last line.
    pub json: bool,
}

/// Runs the benchmark.
pub async fn run(o: Options) -> anyhow::Result<()> {
    let (dir, store, keyring) = super::rebuild::open_or_generate(o.data, o.people, o.seed).await?;
    let profile = Profile::load(&o.profile)?;
    let events = store.head_position().await?.map_or(0, |h| h + 1);
    let model_dir = dir.join("bench-sync-readmodel");
    let _ = std::fs::remove_dir_all(&model_dir);
    std::fs::create_dir_all(&model_dir)?;
    let progress = Progress::new("building the read model", events);
    let opener = KeyringSealer(keyring.clone());
    let (read, _) = ReadModel::rebuild(
        &model_dir,
        store.as_ref(),
        Arc::new(SystemClock),
        Arc::new(KeyringSealer(keyring)),
        &|n| progress.set(n),
    )
    .await?;
    progress.finish();
    let Some(last) = events.checked_sub(1) else {
        bail!("the log is empty");
    };

    // (a) Sealing: the batch is the whole log, every dossier's approval in
    // one batch (the generator writes them all at once, so they fall in no
    // calendar month of their own; the batch is labelled 2026-01).
    let director = SigningKey::from_bytes(&[0x5d; 32]);
    eprintln!("sealing: rendering and digesting every approved dossier…");
    let started = Instant::now();
    let approvals = read.approvals_between(None, last)?;
    let items = build_items(&read, &profile, &opener, &approvals)?;
    let digests = items
        .iter()
        .map(|(i, _)| hoso_sync::item_digest(i))
        .collect::<Result<Vec<Hash>, _>>()?;
    let statement = BatchStatement {
        format: hoso_sync::STATEMENT_FORMAT.to_owned(),
        province: profile.name().to_owned(),
        sequence: 1,
        month: Month::new(2026, 1).context("month")?,
        from_position: 0,
        to_position: events,
        item_count: items.len() as u64,
        merkle_root: hoso_sync::root_of_digests(&digests),
        previous_digest: [0; 32],
    };
    let statement_digest = statement.digest()?;
    let signature = director.sign(&statement_digest).to_bytes();
    let seal_s = started.elapsed().as_secs_f64();
    let n = items.len() as u64;
    if n == 0 {
        bail!("the generated log holds no approval");
    }

    // (b) Serving, as the route does: the batch's digests verified against
    // the root and kept (the first serving's check; its rendering is the
    // seal's above), then every page of the default size rendered again,
    // checked against the digests kept and proved from the tree kept.
    let started = Instant::now();
    let document_bytes: usize = items.iter().map(|(_, d)| d.len()).sum();
    drop(items);
    let positions = approvals.iter().map(|a| a.position).collect();
    let verified = VerifiedBatch::verify(&statement, statement_digest, positions, digests)?;
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let first = after.map_or(0, |a: u64| a + 1);
        let end = (first + DEFAULT_ITEMS_LIMIT).min(n);
        let next = (end < n).then(|| end - 1);
        let body = BatchOut {
            statement: StatementJson::from(&statement),
            statement_digest: hex::encode(statement_digest),
            signature: hex::encode(signature),
            key_id: "director-1".to_owned(),
            public_key: Some(hex::encode(director.verifying_key().to_bytes())),
            signer: "director".to_owned(),
            item_count: n,
            items_after: after,
            items_limit: DEFAULT_ITEMS_LIMIT,
            next_items_after: next,
            items: serve_page(&read, &profile, &opener, &verified, first, end)?,
        };
        pages.push(serde_json::to_vec(&body)?);
        match next {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    let serve_s = started.elapsed().as_secs_f64();
    let served_bytes: usize = pages.iter().map(Vec::len).sum();
    eprintln!("verifying {n} items as the consumer, page by page…");
    let started = Instant::now();
    let key = director.verifying_key().to_bytes();
    let (mut assembly, mut next) = crate::sync_pull::Assembly::first(&pages[0], 1, None, &key)?;
    for page in &pages[1..] {
        if next.is_none() {
            bail!("a page after the last");
        }
        next = assembly.page(page)?;
    }
    let verified = assembly.finish()?;
    let verify_s = started.elapsed().as_secs_f64();
    if verified.statement != statement {
        bail!("the consumer verified another statement");
    }
    let per_s = n as f64 / verify_s;
    println!(
        "sealing 1 batch of {n} items (the whole log as one batch, {events} events): {seal_s:.2} s (target ≤ 10 s); documents {:.1} MiB",
        document_bytes as f64 / 1_048_576.0
    );
    println!(
        "serving: the digests verified and kept, then {} pages of {DEFAULT_ITEMS_LIMIT} items rendered, checked and proved ({:.1} MiB of JSON) in {serve_s:.2} s; the seal itself not appended (no director account in the generated log)",
        pages.len(),
        served_bytes as f64 / 1_048_576.0
    );
    println!(
        "consumer verification of the served JSON: {verify_s:.2} s, {per_s:.0} items/s (target ≥ 20,000)"
    );
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "sync",
                "events": events,
                "items": n,
                "seal_seconds": seal_s,
                "serve_seconds": serve_s,
                "served_bytes": served_bytes,
                "pages": pages.len(),
                "verify_seconds": verify_s,
                "verify_items_per_s": per_s,
            })
        );
    }
    Ok(())
}

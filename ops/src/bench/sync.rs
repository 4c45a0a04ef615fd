//! `hoso bench sync`: the national sync feed's two costs on a generated
//! province (the rebuild bench's log, every dossier approved once): sealing
//! a batch (the handler's scan of the log for its range and approvals, its
//! items' documents rendered and digested, the Merkle root, the statement
//! digest and the director's ed25519 signature) and the
//! consumer's verification of the batch as served, a page at a time (every
//! document's SHA-256, canonical item and inclusion proof, the signature),
//! in items/s.
//!
//! Both sides run the code the server and `hoso sync pull` run
//! (`Workflows::batch_range`, `hoso_api::routes::sync::{build_items, serve_page}`,
//! `hoso_api::sync_cache::VerifiedBatch`, `crate::sync_pull::Assembly`);
//! the served pages are built in memory, so HTTP transfer is not in the
//! figure. The seal is not appended to the log:
//! the generated province has no director account, and one append is not
//! what this measures.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use ed25519_dalek::{Signer, SigningKey};
use hoso_api::access::KeyringSealer;
use hoso_api::routes::sync::{
    BatchOut, DEFAULT_ITEMS_LIMIT, StatementJson, build_items, serve_page,
};
use hoso_api::sync_cache::VerifiedBatch;
use hoso_commands::credentials::CredentialStore;
use hoso_commands::workflows::Workflows;
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::SystemClock;
use hoso_domain::profile::Profile;
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;
use hoso_sync::Hash;

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
    let (dir, store, keyring) =
        super::rebuild::open_or_generate(o.data, o.people, o.seed, None).await?;
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
        Arc::new(KeyringSealer(keyring.clone())),
        &|n| progress.set(n),
    )
    .await?;
    progress.finish();
    if events == 0 {
        bail!("the log is empty");
    }

    // (a) Sealing, as the director's `GET /sync/batches/next` and the seal
    // check do: the handler's scan of the log for the batch's range and
    // approvals (`Workflows::batch_range`), then every approved dossier
    // rendered and digested, the Merkle root, the statement digest and the
    // director's signature. The generator writes the whole log within one
    // calendar month, so batch 1 is all of it.
    let wf = Workflows::new(
        store.clone(),
        Profile::load(&o.profile)?,
        WorkingCalendar::official()?,
        Arc::new(SystemClock),
        CredentialStore::open(&dir.join("bench-sync-credentials.db"))?,
        keyring.clone(),
    );
    let director = SigningKey::from_bytes(&[0x5d; 32]);
    // A server's handlers keep their index of the log caught up as events
    // arrive; a fresh one reads the whole log first, which sealing does not
    // pay, so that is done before the clock starts.
    eprintln!("catching the handlers' index up with the log ({events} events)…");
    wf.sealed_batches().await?;
    eprintln!(
        "sealing: the batch's range from the log, then every approved dossier rendered and digested…"
    );
    let started = Instant::now();
    let range = wf.batch_range().await?;
    let scan_s = started.elapsed().as_secs_f64();
    let Some(last) = range.to_position.checked_sub(1) else {
        bail!("the batch is empty");
    };
    let approvals = read.approvals_between(None, last)?;
    let same = approvals.len() == range.approvals.len()
        && approvals
            .iter()
            .zip(&range.approvals)
            .all(|(r, l)| r.position == l.position && r.dossier_id == l.dossier_id);
    if !same {
        bail!("the read model's approvals differ from the log's");
    }
    let items = build_items(&read, &profile, &opener, &approvals)?;
    let digests = items
        .iter()
        .map(|(i, _)| hoso_sync::item_digest(i))
        .collect::<Result<Vec<Hash>, _>>()?;
    let statement = range.statement(hoso_sync::root_of_digests(&digests));
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
        "sealing 1 batch of {n} items (the whole log as one batch, {events} events): {seal_s:.2} s (target ≤ 10 s), of which the log scan for the range {scan_s:.2} s; documents {:.1} MiB",
        document_bytes as f64 / 1_048_576.0
    );
    println!(
        "serving: the digests verified and kept, then {} pages of {DEFAULT_ITEMS_LIMIT} items rendered, checked and proved ({:.1} MiB of JSON) in {serve_s:.2} s; the seal event itself is not appended (the generated log has no director account; one append)",
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
                "scan_seconds": scan_s,
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

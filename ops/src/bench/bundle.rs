//! `hoso bench bundle`: how long an inspector waits for `hoso verify-bundle`. A log of
//! unrelated events with one dossier of `--events` events (declarations, then one
//! approval signed with a registered key) is written to a temporary directory, a
//! Merkle tree built over it and a head signed; the dossier's bundle is exported once
//! and verified `--runs` times with the ledger key.

use std::time::Instant;

use anyhow::Context;
use ed25519_dalek::{Signer, SigningKey};
use hoso_domain::clock::{Clock, SystemClock};
use hoso_ledger::tree::{MerkleTree, TREE_FILE};
use hoso_ledger::{
    EventStore, ExpectedRevision, HeadReason, LedgerKeyRing, NewEvent, SignedTreeHead, SqliteStore,
    StoreOptions, TreeHead,
};
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::account::{KeyAlgorithm, SigningKeyRegistered};
use hoso_schemas::pb::common::Date;
use hoso_schemas::pb::dossier::{ApprovalSigned, DeclarationSubmitted, FieldEntry};
use rand::RngCore;
use uuid::Uuid;

/// What to measure.
pub struct Options {
    /// Events of the dossier (the last is the approval).
    pub events: u64,
    /// Unrelated events in the log around it.
    pub noise: u64,
    /// Verifications timed.
    pub runs: usize,
    /// Print one JSON object as the last line.
    pub json: bool,
}

/// Runs the benchmark.
pub async fn run(o: Options) -> anyhow::Result<()> {
    anyhow::ensure!(o.events >= 2, "--events must be at least 2");
    anyhow::ensure!(o.runs >= 1, "--runs must be at least 1");
    let tmp = tempfile::Builder::new()
        .prefix(".hoso-bench-bundle-")
        .tempdir_in(".")
        .context("create a temporary data directory in the working directory")?;
    let store = SqliteStore::create(tmp.path(), StoreOptions::default())?;
    // A quarter of the noise before the dossier, half between its events, the rest after.
    let before = o.noise / 4;
    let between = (o.noise / 2) / (o.events - 1);
    let after = o.noise - before - between * (o.events - 1);
    append_noise(&store, before).await?;

    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let signer_key = SigningKey::from_bytes(&seed);
    let signer = Uuid::now_v7().to_string();
    let key_id = "bench-key".to_owned();
    let registration = DomainEvent::from(SigningKeyRegistered {
        key_id: key_id.clone(),
        account_id: signer.clone(),
        algorithm: KeyAlgorithm::Ed25519.into(),
        public_key: signer_key.verifying_key().to_bytes().to_vec(),
        valid_from: Some(Date {
            year: 2026,
            month: 1,
            day: 1,
        }),
        valid_until: None,
    });
    store
        .append(
            &hoso_domain::account::stream_id(&signer),
            ExpectedRevision::Any,
            vec![NewEvent::from_domain(&registration)],
        )
        .await?;

    let dossier = hoso_domain::dossier::stream_id(&Uuid::now_v7().to_string());
    let mut last = None;
    for i in 0..o.events - 1 {
        let declaration = DomainEvent::from(DeclarationSubmitted {
            form: "2C-BNV/2008".into(),
            section_code: format!("s{}", i % 8),
            fields: (0..6)
                .map(|f| FieldEntry {
                    field_code: format!("{}", f + 1),
                    value: format!("giá trị {i}-{f}"),
                    row: 0,
                    sealed: Vec::new(),
                })
                .collect(),
            supporting_attachments: vec![vec![(i % 251) as u8; 32]],
            sealed_attachments: Vec::new(),
        });
        let r = store
            .append(
                &dossier,
                ExpectedRevision::Any,
                vec![NewEvent::from_domain(&declaration).with_actor(signer.clone())],
            )
            .await?;
        last = Some(r);
        append_noise(&store, between).await?;
    }
    let signed_revision = last.map(|r| r.stream_revision).unwrap_or_default();
    let signed = store
        .read_stream(
            &dossier,
            hoso_ledger::StreamFrom::Revision(signed_revision),
            hoso_ledger::Direction::Forwards,
            1,
        )
        .await?;
    let stream_hash = signed.first().context("the dossier's last event")?.hash;
    let digest = hoso_domain::signing::approval_digest(&dossier, signed_revision, &stream_hash);
    let approval = DomainEvent::from(ApprovalSigned {
        revision: signed_revision,
        stream_hash: stream_hash.to_vec(),
        key_id,
        signature: signer_key.sign(&digest).to_bytes().to_vec(),
        signer: signer.clone(),
        delegated_from: None,
    });
    store
        .append(
            &dossier,
            ExpectedRevision::Exact(signed_revision),
            vec![NewEvent::from_domain(&approval).with_actor(signer)],
        )
        .await?;
    append_noise(&store, after).await?;

    let tree = MerkleTree::open_or_create(&tmp.path().join(TREE_FILE))?;
    let mut from = 0;
    loop {
        let page = store.read_all(from, 8_192).await?;
        let Some(end) = page.last() else { break };
        from = end.position + 1;
        tree.append(&page.iter().map(|e| e.hash).collect::<Vec<_>>());
    }
    tree.flush()?;
    let ring = LedgerKeyRing::create(&tmp.path().join("ledger-keys.json"), SystemClock.now())?;
    let (ledger_key_id, ledger_key) = ring.signer();
    let head = SignedTreeHead::sign(
        TreeHead::new(
            tree.len(),
            tree.current_root(),
            SystemClock.now(),
            ledger_key_id,
            HeadReason::Interval,
        ),
        ledger_key,
    );
    let bundle = hoso_bundle::export(&store, &tree, &head, &dossier).await?;
    let bytes = bundle.to_bytes()?;
    let public = ledger_key.verifying_key();

    let mut times_us = Vec::with_capacity(o.runs);
    for _ in 0..o.runs {
        let started = Instant::now();
        let report = hoso_bundle::verify(&bytes, Some(&public))?;
        times_us.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        anyhow::ensure!(report.is_authenticated(), "the bundle did not authenticate");
    }
    times_us.sort_unstable();
    let median = super::percentile_ms(&times_us, 0.5);
    let p99 = super::percentile_ms(&times_us, 0.99);
    println!(
        "bundle: {} events ({} bytes) in a log of {} events, verified with the ledger key {} times: median {median:.3} ms, p99 {p99:.3} ms",
        bundle.events.len(),
        bytes.len(),
        tree.len(),
        o.runs
    );
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "bundle", "events": bundle.events.len(), "bytes": bytes.len(),
                "log_events": tree.len(), "runs": o.runs,
                "median_ms": median, "p99_ms": p99,
            })
        );
    }
    Ok(())
}

/// Appends `n` small events to unrelated streams, in batches.
async fn append_noise(store: &SqliteStore, n: u64) -> anyhow::Result<()> {
    let mut left = n;
    while left > 0 {
        let batch = left.min(1_000);
        let events = (0..batch)
            .map(|i| NewEvent::new("bench.Noise", 1, vec![(i % 256) as u8; 64]))
            .collect();
        store
            .append(
                &format!("noise-{}", Uuid::now_v7()),
                ExpectedRevision::NoStream,
                events,
            )
            .await?;
        left -= batch;
    }
    Ok(())
}

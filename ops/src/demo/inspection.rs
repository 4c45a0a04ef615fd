//! The demo's last chapter: what an audit inspector takes away. Once the node has
//! signed its shutdown head, one approved dossier is exported as a bundle and checked
//! the way an inspector would, with nothing but the file and the published public key.

use std::time::Instant;

use anyhow::Context;
use hoso_ledger::sealer::Sealer;
use hoso_ledger::{EventStore, SignedTreeHead};

/// Exports and verifies the bundle of the first dossier with a signed approval.
pub(super) async fn bundle_round_trip(
    store: &dyn EventStore,
    sealer: &Sealer,
    head: &SignedTreeHead,
) -> anyhow::Result<()> {
    let Some(stream) = approved_dossier(store).await? else {
        println!("  inspector's bundle: no dossier was approved, nothing to export");
        return Ok(());
    };
    let bundle = hoso_bundle::export(store, sealer.tree(), head, &stream)
        .await
        .context("exporting a dossier bundle")?;
    let bytes = bundle.to_bytes()?;
    let key = sealer.keys().active().public_key;
    let started = Instant::now();
    let report = hoso_bundle::verify(&bytes, Some(&key)).context("verifying the bundle")?;
    let took = started.elapsed();
    println!(
        "  inspector's bundle of an approved dossier ({} KB, checked offline in {:.1} ms, as `hoso verify-bundle --ledger-key` does): {}",
        bytes.len() / 1024,
        took.as_secs_f64() * 1000.0,
        report.verdict()
    );
    Ok(())
}

/// The stream of the first `dossier.ApprovalSigned` event in the log.
async fn approved_dossier(store: &dyn EventStore) -> anyhow::Result<Option<String>> {
    const PAGE: usize = 4_096;
    let mut from = 0;
    loop {
        let page = store.read_all(from, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        from = last.position + 1;
        if let Some(e) = page
            .iter()
            .find(|e| e.event_type == "dossier.ApprovalSigned")
        {
            return Ok(Some(e.stream.clone()));
        }
    }
}

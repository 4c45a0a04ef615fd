//! The attachment sweeper against a real log and read model, on a manual clock:
//! after the profile's grace period an upload no event cites is removed, and one a
//! restricted section cites (sealed in its declaration) is kept even when the API
//! never marked it cited — the sweeper opens the sealed citation before removing
//! anything.

use std::sync::Arc;

use hoso_api::attachments::{Swept, sweep};
use hoso_api::{ApiConfig, AppState};
use hoso_commands::testkit::{EDUCATION, Province, d, f};
use hoso_commands::workflows::Declare;
use hoso_domain::clock::Clock;
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncited_uploads_go_after_the_grace_period_and_sealed_citations_keep_theirs() {
    let p = Province::new("national", d(2026, 3, 10)).await;
    let pid = "001190004321";
    let dossier = p.open(pid, EDUCATION, &p.education_focal).await;
    let Province {
        dir,
        store,
        clock,
        wf,
        education_focal,
        ..
    } = p;
    let keyring = wf.keyring().clone();
    let sealer = Arc::new(hoso_api::access::KeyringSealer(keyring.clone()));
    let (read, _) = ReadModel::open(dir.path(), clock.clone(), sealer).unwrap();
    let read = Arc::new(read);
    let wf = Arc::new(wf);
    let state = Arc::new(
        AppState::new(
            dir.path(),
            wf.clone(),
            read.clone(),
            keyring,
            ApiConfig::default(),
        )
        .unwrap(),
    );
    let uploader = &education_focal.account_id;
    let quota = wf.profile().uploads().pending_quota_bytes;
    let proof = state
        .attachments
        .put(uploader, &dossier, b"marriage certificate", quota)
        .unwrap();
    let stray = state
        .attachments
        .put(uploader, &dossier, b"never cited", quota)
        .unwrap();
    // The family section (restricted) cites the proof: sealed in the log, and
    // (as after a crash between the append and the mark) not marked cited.
    wf.declare(
        &education_focal,
        Declare::new(
            &dossier,
            "family",
            vec![f("30.c1", "Vợ", 1), f("30.c2", "Trần Thị Bình", 1)],
        )
        .with_attachments(vec![proof.sha256]),
    )
    .await
    .unwrap();
    read.catch_up(store.as_ref() as &dyn EventStore)
        .await
        .unwrap();
    let history = read.history(&dossier).unwrap();
    let text = serde_json::to_string(&history).unwrap();
    assert!(text.contains("sealed_attachments"), "{text}");
    assert!(!text.contains(&hex::encode(proof.sha256)), "{text}");

    // Within the grace period (7 days in the national profile) nothing goes.
    clock.set(clock.now() + chrono::Duration::days(6));
    assert_eq!(sweep(&state).await.unwrap(), Swept::default());
    clock.set(clock.now() + chrono::Duration::days(2));
    let swept = sweep(&state).await.unwrap();
    assert_eq!(
        swept,
        Swept {
            removed: 1,
            bytes: b"never cited".len() as u64,
            found_cited: 1
        }
    );
    assert_eq!(
        state.attachments.get(&dossier, &stray.sha256).unwrap(),
        None
    );
    assert_eq!(
        state
            .attachments
            .get(&dossier, &proof.sha256)
            .unwrap()
            .unwrap(),
        b"marriage certificate"
    );
    assert_eq!(state.attachments.pending_bytes(uploader).unwrap(), 0);
}

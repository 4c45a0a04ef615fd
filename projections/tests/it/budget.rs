//! The projector's memory budget decides what it keeps in memory, never what
//! it builds: a rebuild within a tiny budget, and a live read model that
//! forgets every summary and chain head between events, produce the same
//! read model as a rebuild within a large one.

use std::sync::Arc;

use hoso_commands::testkit::*;
use hoso_commands::workflows::ChangeStatus;
use hoso_domain::dossier::EmploymentStatus;
use hoso_ledger::EventStore;
use hoso_projections::ReadModel;

use crate::readmodel::{open_named, sealer};

async fn seconded(p: &Province, id: &str, number: &str) {
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: id.to_owned(),
            status: EmploymentStatus::Seconded,
            effective: d(2026, 3, 20),
            document: doc(number, d(2026, 3, 20)),
            note: String::new(),
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_tiny_cache_budget_builds_the_same_read_model_as_a_large_one() {
    let p = Province::new("kon-tum", d(2026, 3, 27)).await;
    // Dossiers whose events interleave, so that a dossier comes back after
    // others have pushed it out of a small cache.
    let (first, _) = p.approved_dossier("033190001234").await;
    let (second, _) = p.approved_dossier("033190005678").await;
    open_named(&p, "033090000002", "Lê Văn Tâm", SCHOOL).await;
    seconded(&p, &first, "8/QĐ").await;
    open_named(&p, "033090000003", "Trần Thị Hà", SCHOOL).await;
    seconded(&p, &second, "9/QĐ").await;
    let head = p.store.head_position().await.unwrap().unwrap();

    let rebuild = |budget: usize| {
        let p = &p;
        async move {
            let dir = tempfile::tempdir().unwrap();
            let (model, report) = ReadModel::rebuild_within(
                dir.path(),
                p.store.as_ref(),
                p.clock.clone(),
                sealer(p),
                budget,
                &|_| {},
            )
            .await
            .unwrap();
            assert_eq!(report.events, head + 1);
            (dir, model)
        }
    };
    let (_large_dir, large) = rebuild(1 << 30).await;
    let (_tiny_dir, tiny) = rebuild(1).await;
    let expected = large.dump().unwrap();
    assert!(expected.iter().any(|row| row.starts_with("dossiers:")));
    assert_eq!(tiny.dump().unwrap(), expected);
    // Its connections map a quarter of the budget of the read model, whatever
    // the budget (none at all within one byte: every page is read in).
    assert_eq!(large.reader_map_size().unwrap(), 256 << 20);
    assert_eq!(tiny.reader_map_size().unwrap(), 0);

    // One event per transaction with room for about one summary and one head:
    // nearly every event's dossier and chain head are read back from the tables.
    let live_dir = tempfile::tempdir().unwrap();
    let (live, _) = ReadModel::open(live_dir.path(), p.clock.clone(), sealer(&p)).unwrap();
    let live = Arc::new(live);
    live.set_state_cache(1).unwrap();
    // Opened for a server, it maps as much as SQLite lets it.
    assert!(live.reader_map_size().unwrap() > 1 << 30);
    for position in 0..=head {
        let page = p.store.read_all(position, 1).await.unwrap();
        assert_eq!(live.apply(page).unwrap(), 1, "event at {position}");
    }
    assert_eq!(live.dump().unwrap(), expected);
}

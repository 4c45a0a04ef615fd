//! The read models, fed by the real command handlers on a real store: the
//! bitemporal dossier view, the tree before and after a merger, search
//! without diacritics, reports against brute-force counts, the archive,
//! live-versus-rebuild equality, versioning, read-your-writes, and an
//! inspector's reads and queries in the audit trail.

use hoso_commands::workflows::{ChangeStatus, Declare, RecordDecision, Review};
use std::sync::Arc;
use std::time::Duration;

use hoso_commands::sealing::{Keyring, PERSON_ID_CONTEXT};
use hoso_commands::testkit::*;
use hoso_commands::workflows::OpenDossier;
use hoso_domain::dossier::{EmploymentStatus, RankChangeKind, StateDecision};
use hoso_domain::org::{OrgChange, OrgCommand};
use hoso_ledger::EventStore;
use hoso_projections::search::SearchQuery;
use hoso_projections::views::{Dimension, Staffing};
use hoso_projections::{Found, IdentifierSealer, ProjectionError, ReadModel};
use hoso_schemas::pb::common::PersonnelCategory;

const PID: &str = "033190001234";

fn salary(step: u32, coefficient_x100: u32) -> StateDecision {
    StateDecision::Salary {
        rank_code: "V.08.05.12".into(),
        step,
        coefficient_x100,
        salary_group: "A1".into(),
    }
}

/// The province's field keys as the read model's sealer (the node's is
/// `hoso_api::access::KeyringSealer`, which this crate cannot depend on).
struct Keys(Arc<Keyring>);

impl IdentifierSealer for Keys {
    fn person_key(&self, person_id: &str) -> String {
        self.0.person_key(person_id)
    }

    fn seal_person_id(
        &self,
        dossier_id: &str,
        person_id: &str,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self
            .0
            .seal_stable(dossier_id, PERSON_ID_CONTEXT, person_id.as_bytes())?)
    }
}

pub(crate) fn sealer(p: &Province) -> Arc<dyn IdentifierSealer> {
    Arc::new(Keys(p.wf.keyring().clone()))
}

async fn model(p: &Province) -> (tempfile::TempDir, ReadModel) {
    let dir = tempfile::tempdir().unwrap();
    let (m, found) = ReadModel::open(dir.path(), p.clock.clone(), sealer(p)).unwrap();
    assert_eq!(found, Found::Created);
    m.catch_up(p.store.as_ref()).await.unwrap();
    (dir, m)
}

#[tokio::test]
async fn salary_recorded_in_march_effective_in_january_shows_on_both_time_axes() {
    let p = Province::new("national", d(2026, 1, 5)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: salary(1, 234),
            effective: d(2025, 6, 1),
            document: doc("1/QĐ-SYT", d(2025, 5, 20)),
        },
    )
    .await
    .unwrap();
    p.set_today(d(2026, 3, 10));
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: salary(2, 267),
            effective: d(2026, 1, 1),
            document: doc("7/QĐ-SYT", d(2026, 3, 9)),
        },
    )
    .await
    .unwrap();
    let (_dir, m) = model(&p).await;
    let coefficient = |v: Option<hoso_projections::views::DossierView>| {
        v.unwrap().salary.map(|s| s.value.coefficient_x100)
    };
    // What was legally true on 1 February, as known today: the March decision applies.
    assert_eq!(
        coefficient(m.dossier(&id, Some(d(2026, 2, 1)), None).unwrap()),
        Some(267)
    );
    // ...as the ledger knew it on 1 March: the decision was not recorded yet.
    assert_eq!(
        coefficient(
            m.dossier(&id, Some(d(2026, 2, 1)), Some(d(2026, 3, 1)))
                .unwrap()
        ),
        Some(234)
    );
    // Before either took effect.
    assert_eq!(
        coefficient(m.dossier(&id, Some(d(2025, 1, 1)), None).unwrap()),
        None
    );
    // Before the dossier existed in the ledger.
    assert!(m.dossier(&id, None, Some(d(2026, 1, 4))).unwrap().is_none());
    // Now.
    let now = m.dossier(&id, None, None).unwrap().unwrap();
    assert_eq!(now.salary.unwrap().value.step, 2);
    assert_eq!(
        now.revision,
        p.stream(&format!("dossier-{id}")).await.len() as u64 - 1
    );
}

#[tokio::test]
async fn merger_shows_the_old_tree_before_and_the_new_one_after_its_effective_date() {
    let p = Province::new("dak-lak", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.wf.org(
        &p.admin,
        OrgCommand {
            code: HOSPITAL.into(),
            decision: doc("99/QĐ-UBND", d(2026, 2, 20)),
            change: OrgChange::MergeInto {
                successor: HEALTH.into(),
                effective: d(2026, 3, 1),
            },
        },
    )
    .await
    .unwrap();
    let (_dir, m) = model(&p).await;
    let codes = |date| {
        m.tree_at(date)
            .unwrap()
            .into_iter()
            .map(|n| n.code)
            .collect::<Vec<_>>()
    };
    assert!(codes(d(2026, 2, 28)).contains(&HOSPITAL.to_owned()));
    assert!(!codes(d(2026, 3, 1)).contains(&HOSPITAL.to_owned()));
    // The dossier moved with the merger; the department counts it.
    let v = m.dossier(&id, None, None).unwrap().unwrap();
    assert_eq!(v.managing_unit, HEALTH);
    let by = m
        .headcount(HEALTH, d(2026, 3, 2), Dimension::Category)
        .unwrap();
    assert_eq!(by.get("vien_chuc"), Some(&1));
    let history = m.history(&id).unwrap();
    let moved = history
        .iter()
        .find(|h| h.event_type == "dossier.ManagingUnitReassigned")
        .unwrap();
    assert_eq!(moved.document.as_ref().unwrap()["number"], "99/QĐ-UBND");
    assert_eq!(moved.diff[0]["from"], HOSPITAL);
}

pub(crate) async fn open_named(p: &Province, pid: &str, name: &str, unit: &str) -> String {
    let opening = OpenDossier {
        full_name: name.into(),
        birth_date: None,
        ..p.opening(pid, unit)
    };
    let focal = if unit == SCHOOL {
        &p.education_focal
    } else {
        &p.health_focal
    };
    p.wf.open_dossier(focal, opening).await.unwrap().0
}

#[tokio::test]
async fn search_finds_names_without_diacritics_with_stable_pages() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let an = open_named(&p, "033090000001", "Nguyễn Văn An", HOSPITAL).await;
    let anh = open_named(&p, "033090000002", "Nguyễn Văn Anh", SCHOOL).await;
    let duc = open_named(&p, "033090000003", "Đỗ Minh Đức", HOSPITAL).await;
    let (_dir, m) = model(&p).await;
    let q = |name: &str| SearchQuery {
        name: Some(name.into()),
        ..SearchQuery::default()
    };
    let ids = |page: hoso_projections::search::SearchPage| {
        page.items.into_iter().map(|h| h.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(m.search(&q("nguyen van an")).unwrap()),
        vec![an.clone(), anh.clone()]
    );
    assert_eq!(
        ids(m.search(&q("NGUYỄN  văn")).unwrap()),
        vec![an.clone(), anh.clone()]
    );
    assert_eq!(ids(m.search(&q("do minh duc")).unwrap()), vec![duc.clone()]);
    // Words in any order, each the start of a word of the name.
    assert_eq!(
        ids(m.search(&q("an nguyen")).unwrap()),
        vec![an.clone(), anh.clone()]
    );
    assert!(ids(m.search(&q("guyen")).unwrap()).is_empty());
    assert_eq!(ids(m.search(&q("đức")).unwrap()), vec![duc.clone()]);
    // Name and unit subtree together.
    let in_health = SearchQuery {
        name: Some("nguyen".into()),
        unit: Some(HEALTH.into()),
        ..SearchQuery::default()
    };
    assert_eq!(ids(m.search(&in_health).unwrap()), vec![an.clone()]);
    // Pages: two, then one, in the same order as one big page.
    let first = m
        .search(&SearchQuery {
            limit: Some(2),
            ..SearchQuery::default()
        })
        .unwrap();
    let next = first.next.clone().unwrap();
    let second = m
        .search(&SearchQuery {
            limit: Some(2),
            after: Some(next),
            ..SearchQuery::default()
        })
        .unwrap();
    let mut paged = ids(first);
    paged.extend(ids(second));
    assert_eq!(paged, ids(m.search(&SearchQuery::default()).unwrap()));
    assert_eq!(paged, vec![duc, an, anh]);
    assert!(matches!(
        m.search(&SearchQuery {
            after: Some("zz".into()),
            ..SearchQuery::default()
        }),
        Err(ProjectionError::BadQuery(_))
    ));
}

#[tokio::test]
async fn people_who_left_are_searched_in_the_archive_and_never_lost() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = open_named(&p, "033090000001", "Trần Thị Lan", HOSPITAL).await;
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&id),
            status: EmploymentStatus::Retired,
            effective: d(2026, 3, 1),
            document: doc("4/QĐ-SYT", d(2026, 2, 20)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();
    let (_dir, m) = model(&p).await;
    let active = m.search(&SearchQuery::default()).unwrap();
    assert!(active.items.is_empty());
    let archived = m
        .search(&SearchQuery {
            archived: true,
            name: Some("tran thi lan".into()),
            ..SearchQuery::default()
        })
        .unwrap();
    assert_eq!(archived.items.len(), 1);
    let v = m.dossier(&id, None, None).unwrap().unwrap();
    assert!(v.archived);
}

#[tokio::test]
async fn annual_report_matches_a_brute_force_count() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let ranks = [
        ("V.08.05.12", "Điều dưỡng hạng III"),
        ("01.003", "Chuyên viên"),
        ("V.08.05.12", "Điều dưỡng hạng III"),
        ("01.002", "Chuyên viên chính"),
    ];
    let mut ids = Vec::new();
    for (i, (code, name)) in ranks.iter().enumerate() {
        let pid = format!("03309000000{i}");
        let id = open_named(&p, &pid, &format!("Người {i}"), HOSPITAL).await;
        p.wf.record_decision(
            &p.health_focal,
            RecordDecision {
                dossier_id: String::from(&id),
                decision: StateDecision::Rank {
                    kind: RankChangeKind::Initial,
                    rank_code: (*code).into(),
                    rank_name: (*name).into(),
                },
                effective: d(2026, 1, 1),
                document: doc("5/QĐ", d(2026, 1, 1)),
            },
        )
        .await
        .unwrap();
        ids.push(id);
    }
    // One leaves: it must not be counted.
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&ids[3]),
            status: EmploymentStatus::Resigned,
            effective: d(2026, 3, 1),
            document: doc("6/QĐ", d(2026, 3, 1)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();
    let (_dir, m) = model(&p).await;
    let report = m.annual_report(ROOT, 2026).unwrap();
    // Brute force over the aggregates themselves.
    let mut titles = std::collections::BTreeMap::new();
    let mut civil = std::collections::BTreeMap::new();
    let mut total = 0;
    for id in &ids {
        let dossier = p.wf.load_dossier(id).await.unwrap().unwrap();
        if dossier.is_archived() {
            continue;
        }
        total += 1;
        let code = m
            .dossier(id, None, None)
            .unwrap()
            .unwrap()
            .rank
            .unwrap()
            .value
            .code;
        let bucket = if code.starts_with("V.") {
            &mut titles
        } else {
            &mut civil
        };
        *bucket.entry(code).or_insert(0u64) += 1;
    }
    assert_eq!(report.total, total);
    let as_map = |v: &[hoso_projections::reports::Count]| {
        v.iter()
            .map(|c| (c.key.clone(), c.count))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(as_map(&report.by_title), titles);
    assert_eq!(as_map(&report.by_rank), civil);
    assert_eq!(
        report.by_title[0].name.as_deref(),
        Some("Điều dưỡng hạng III")
    );
    let csv = report.to_csv();
    assert!(csv.starts_with("breakdown,key,name,count\r\n"));
    assert!(
        csv.contains("title,V.08.05.12,Điều dưỡng hạng III,2\r\n"),
        "{csv}"
    );
}

#[tokio::test]
async fn sla_report_shows_overdue_obligations_in_working_days() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let (_dir, m) = model(&p).await;
    // HY 10.1: the account was due within 5 working days of 2 January (9 January).
    let report = m.sla_report(d(2026, 3, 2), p.wf.calendar()).unwrap();
    let open = report
        .open
        .iter()
        .find(|o| o.dossier_id == id && o.obligation == "issue_new_dossier_account")
        .unwrap();
    assert_eq!(open.due, "2026-01-09");
    assert_eq!(open.citation, "HY 10.1");
    assert!(open.overdue_working_days > 20);
    let line = report
        .units
        .iter()
        .find(|l| l.org_code == HOSPITAL)
        .unwrap();
    assert_eq!(line.overdue, 1);
    assert!(report.to_csv().contains(&format!("{HOSPITAL},0,1,0,0")));
    // Issuing the account closes it (late).
    p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    m.catch_up(p.store.as_ref()).await.unwrap();
    let report = m.sla_report(d(2026, 3, 2), p.wf.calendar()).unwrap();
    let line = report
        .units
        .iter()
        .find(|l| l.org_code == HOSPITAL)
        .unwrap();
    assert_eq!((line.overdue, line.closed_late), (0, 1));
}

#[tokio::test]
async fn one_dossiers_deadlines_are_its_open_obligations_overdue_in_working_days() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let other = p.open("033190005678", HOSPITAL, &p.health_focal).await;
    let (_dir, m) = model(&p).await;
    let open = m
        .open_obligations(&id, d(2026, 3, 2), p.wf.calendar())
        .unwrap();
    // HY 10.1: the account was due within 5 working days of 2 January.
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].dossier_id, id);
    assert_eq!(open[0].obligation, "issue_new_dossier_account");
    assert_eq!(
        (open[0].due.as_str(), open[0].citation.as_str()),
        ("2026-01-09", "HY 10.1")
    );
    // The same figure as the SLA report's.
    let sla = m.sla_report(d(2026, 3, 2), p.wf.calendar()).unwrap();
    let same = sla.open.iter().find(|o| o.dossier_id == id).unwrap();
    assert_eq!(same, &open[0]);
    assert!(open[0].overdue_working_days > 20);
    // Not yet due on its first days, and never another dossier's.
    let early = m
        .open_obligations(&id, d(2026, 1, 5), p.wf.calendar())
        .unwrap();
    assert_eq!(early[0].overdue_working_days, 0);
    assert!(open.iter().all(|o| o.dossier_id != other));
    // Issuing the account closes it and opens the declaration's (HY 10.2).
    p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    m.catch_up(p.store.as_ref()).await.unwrap();
    let open = m
        .open_obligations(&id, d(2026, 3, 2), p.wf.calendar())
        .unwrap();
    assert!(
        open.iter()
            .all(|o| o.obligation != "issue_new_dossier_account"),
        "{open:?}"
    );
}

#[tokio::test]
async fn the_queues_search_by_review_state() {
    use hoso_domain::review::ReviewState;
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let waiting = open_named(&p, "033090000001", "Nguyễn Văn An", HOSPITAL).await;
    let declared = open_named(&p, "033090000002", "Trần Thị Bình", HOSPITAL).await;
    p.declare_basics(&p.health_focal, &declared, "033090000002")
        .await;
    let locked = p
        .locked_dossier("033090000003", HOSPITAL, &p.health_focal)
        .await;
    let elsewhere = p
        .locked_dossier("033090000004", SCHOOL, &p.education_focal)
        .await;
    let (_dir, m) = model(&p).await;
    let in_state = |w: ReviewState, unit: &str| {
        m.search(&SearchQuery {
            workflow: Some(w),
            unit: Some(unit.into()),
            ..SearchQuery::default()
        })
        .unwrap()
        .items
        .into_iter()
        .map(|h| (h.id, h.workflow))
        .collect::<Vec<_>>()
    };
    assert_eq!(
        in_state(ReviewState::AwaitingDeclaration, HEALTH),
        vec![(waiting, ReviewState::AwaitingDeclaration)]
    );
    assert_eq!(
        in_state(ReviewState::Declaring, HEALTH),
        vec![(declared, ReviewState::Declaring)]
    );
    assert_eq!(
        in_state(ReviewState::Locked, HEALTH),
        vec![(locked, ReviewState::Locked)]
    );
    assert_eq!(
        in_state(ReviewState::Locked, EDUCATION),
        vec![(elsewhere, ReviewState::Locked)]
    );
    assert!(in_state(ReviewState::Approved, HEALTH).is_empty());
    assert!(in_state(ReviewState::Returned, HEALTH).is_empty());
}

#[tokio::test]
async fn the_reads_of_a_dossier_are_listed_newest_first_with_their_ground() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let other = p.open("033190005678", HOSPITAL, &p.health_focal).await;
    let basis =
        p.wf.read_basis(&p.health_focal, &id)
            .await
            .unwrap()
            .unwrap();
    for purpose in ["thẩm định", "báo cáo"] {
        p.wf.log_access(&p.health_focal, &id, vec!["7".into()], &basis, purpose)
            .await
            .unwrap();
    }
    p.wf.log_access(&p.health_focal, &other, vec!["7".into()], &basis, "khác")
        .await
        .unwrap();
    let (_dir, m) = model(&p).await;
    let reads = m.reads_of(&id, None, None).unwrap();
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert_eq!(reads[0].purpose, "báo cáo", "newest first");
    assert_eq!(reads[0].reader, p.health_focal.account_id);
    assert_eq!(reads[0].basis, "right:update");
    assert_eq!(reads[0].fields, vec!["7".to_owned()]);
    assert!(reads[0].position > reads[1].position);
    // Pages: the next page starts before the last read shown.
    let first = m.reads_of(&id, None, Some(1)).unwrap();
    let second = m.reads_of(&id, Some(first[0].position), Some(1)).unwrap();
    assert_eq!(
        [first[0].purpose.as_str(), second[0].purpose.as_str()],
        ["báo cáo", "thẩm định"]
    );
}

#[tokio::test]
async fn history_shows_actor_document_and_field_level_diff() {
    let p = Province::new("national", d(2026, 3, 27)).await;
    let (id, person) = p.approved_dossier(PID).await;
    p.wf.declare(
        &person,
        Declare::new(
            &id,
            "identity",
            vec![
                f("1", "NGUYỄN THỊ HƯƠNG", 0),
                f("3a", "18/05/1990", 0),
                f("3b", "Nữ", 0),
                f("25a", PID, 0),
            ],
        )
        .with_attachments(vec![[9; 32]]),
    )
    .await
    .unwrap();
    let (_dir, m) = model(&p).await;
    let history = m.history(&id).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.event_type, "dossier.ObligationOpened");
    let declared = history
        .iter()
        .rev()
        .find(|h| h.event_type == "dossier.DeclarationSubmitted")
        .unwrap();
    assert_eq!(declared.actor, person.account_id);
    assert_eq!(
        declared.diff,
        // The sealed 25a, re-declared unchanged, is no change; the proof
        // the change carries is named.
        serde_json::json!([{ "section": "identity", "field": "3a", "row": 0,
                             "from": "17/05/1990", "to": "18/05/1990" },
                           { "section": "identity", "attachments": ["09".repeat(32)] }])
    );
    // The approved version stays in force while the change is pending.
    let v = m.dossier(&id, None, None).unwrap().unwrap();
    let born = |fields: &Vec<hoso_projections::views::Field>| {
        fields
            .iter()
            .find(|f| f.field == "3a")
            .unwrap()
            .value
            .clone()
    };
    assert_eq!(born(&v.sections["identity"]), "17/05/1990");
    assert_eq!(born(&v.pending["identity"]), "18/05/1990");
}

#[tokio::test]
async fn live_projection_equals_a_rebuild_from_position_zero() {
    let p = Province::new("kon-tum", d(2026, 3, 27)).await;
    let live_dir = tempfile::tempdir().unwrap();
    let (live, _) = ReadModel::open(live_dir.path(), p.clock.clone(), sealer(&p)).unwrap();
    let live = Arc::new(live);
    let store: Arc<dyn EventStore> = p.store.clone();
    let follower = {
        let live = live.clone();
        let store = store.clone();
        tokio::spawn(async move { live.follow(store.as_ref()).await })
    };
    let (id, _) = p.approved_dossier(PID).await;
    open_named(&p, "033090000002", "Lê Văn Tâm", SCHOOL).await;
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&id),
            status: EmploymentStatus::Seconded,
            effective: d(2026, 3, 20),
            document: doc("8/QĐ", d(2026, 3, 20)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();
    let head = p.store.head_position().await.unwrap().unwrap();
    live.wait_for(head, Duration::from_secs(10)).await.unwrap();
    follower.abort();

    let rebuilt_dir = tempfile::tempdir().unwrap();
    let seen = std::sync::atomic::AtomicU64::new(0);
    let (rebuilt, report) = ReadModel::rebuild(
        rebuilt_dir.path(),
        p.store.as_ref(),
        p.clock.clone(),
        sealer(&p),
        &|n| {
            seen.store(n, std::sync::atomic::Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    assert_eq!(report.events, head + 1);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), head + 1);
    assert_eq!(live.dump().unwrap(), rebuilt.dump().unwrap());
    // Replaying a page already applied changes nothing.
    let page = p.store.read_all(0, 100).await.unwrap();
    assert_eq!(rebuilt.apply(page).unwrap(), 0);
    assert_eq!(live.dump().unwrap(), rebuilt.dump().unwrap());
}

#[tokio::test]
async fn waiting_for_a_position_not_reached_times_out_clearly() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let (_dir, m) = model(&p).await;
    let head = p.store.head_position().await.unwrap().unwrap();
    m.wait_for(head, Duration::from_millis(10)).await.unwrap();
    let err = m
        .wait_for(head + 5, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(err, ProjectionError::Timeout { reached: Some(r), .. } if r == head));
}

#[tokio::test]
async fn a_read_model_of_another_version_is_rebuilt_and_says_so() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    p.open(PID, HOSPITAL, &p.health_focal).await;
    let (dir, m) = model(&p).await;
    let before = m.dump().unwrap();
    drop(m);
    {
        let conn =
            rusqlite::Connection::open(dir.path().join(hoso_projections::READ_MODEL_FILE)).unwrap();
        conn.execute("UPDATE meta SET value = 0 WHERE key = 'version'", [])
            .unwrap();
    }
    let (m, found) = ReadModel::open(dir.path(), p.clock.clone(), sealer(&p)).unwrap();
    assert_eq!(found, Found::Stale { version: 0 });
    assert_eq!(m.next_position(), 0);
    m.catch_up(p.store.as_ref()).await.unwrap();
    assert_eq!(m.dump().unwrap(), before);
}

#[tokio::test]
async fn headcount_by_every_dimension_and_quota_against_actual() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.wf.declare(
        &p.health_focal,
        Declare::new(
            &id,
            "identity",
            vec![
                f("1", "NGUYỄN THỊ HƯƠNG", 0),
                f("3a", "17/05/1990", 0),
                f("3b", "Nữ", 0),
                f("6", "Kinh", 0),
                f("25a", PID, 0),
            ],
        ),
    )
    .await
    .unwrap();
    p.wf.org(
        &p.admin,
        OrgCommand {
            code: HEALTH.into(),
            decision: doc("12/QĐ-UBND", d(2026, 1, 5)),
            change: OrgChange::SetStaffingQuota {
                year: 2026,
                quota: hoso_domain::org::StaffingQuota {
                    civil_servants: 40,
                    public_employees: 300,
                    contract_workers: 12,
                },
            },
        },
    )
    .await
    .unwrap();
    let (_dir, m) = model(&p).await;
    let on = d(2026, 3, 2);
    let one = |by| m.headcount(HEALTH, on, by).unwrap();
    assert_eq!(one(Dimension::Gender).get("Nữ"), Some(&1));
    assert_eq!(one(Dimension::Ethnicity).get("Kinh"), Some(&1));
    assert_eq!(one(Dimension::AgeBand).get("30-39"), Some(&1));
    assert_eq!(one(Dimension::Category).get("vien_chuc"), Some(&1));
    let q = m.quota(HEALTH, 2026).unwrap();
    let staffing = |civil_servants, public_employees, contract_workers| Staffing {
        civil_servants,
        public_employees,
        contract_workers,
    };
    assert_eq!(q.quota, Some(staffing(40, 300, 12)));
    assert_eq!(q.actual, staffing(0, 1, 0));
    let _ = PersonnelCategory::VienChuc;
}

#[tokio::test]
async fn audit_trail_lists_every_change_by_actor_and_dossier() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: salary(1, 234),
            effective: d(2026, 1, 1),
            document: doc("1/QĐ", d(2026, 3, 1)),
        },
    )
    .await
    .unwrap();
    let (_dir, m) = model(&p).await;
    let about = m
        .audit(&hoso_projections::audit::AuditQuery {
            dossier_id: Some(id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert!(about.iter().all(|e| e.actor == p.health_focal.account_id));
    assert_eq!(about.first().unwrap().event_type, "dossier.DossierOpened");
    assert!(
        about
            .iter()
            .any(|e| e.event_type == "dossier.SalaryChanged" && e.detail[0]["field"] == "salary")
    );
    let by_admin = m
        .audit(&hoso_projections::audit::AuditQuery {
            actor: Some(p.admin.account_id.clone()),
            limit: Some(3),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_admin.len(), 3);
    let next = m
        .audit(&hoso_projections::audit::AuditQuery {
            actor: Some(p.admin.account_id.clone()),
            after: Some(by_admin[2].position),
            limit: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert!(next[0].position > by_admin[2].position);
}

#[tokio::test]
async fn an_inspectors_reads_and_queries_are_in_the_audit_trail() {
    use hoso_commands::workflows::{InspectionTerms, IssueAccount};
    use hoso_domain::account::AccountKind;
    use hoso_domain::restriction::Restriction;
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let (inspector, _) =
        p.wf.issue_inspector(
            &p.admin,
            IssueAccount {
                kind: AccountKind::Inspector,
                username: "thanhtra.cuong".into(),
                org_code: SNV.into(),
                person_id: None,
                display_name: "Thanh tra viên".into(),
                birth_date: None,
            },
            InspectionTerms {
                org_codes: vec![HEALTH.into()],
                valid_from: d(2026, 3, 1),
                valid_until: d(2026, 5, 31),
                clearance: Restriction::General,
                decision: doc("42/QĐ-TTr", d(2026, 2, 25)),
            },
        )
        .await
        .unwrap();
    let i = hoso_commands::workflows::Actor::new(inspector.clone());
    let basis = p.wf.read_basis(&i, &id).await.unwrap().unwrap();
    p.wf.log_access(&i, &id, Vec::new(), &basis, "thanh tra")
        .await
        .unwrap();
    p.wf.log_inspection_query(&i, HEALTH, "GET /dossiers", "name=huong", vec![id.clone()])
        .await
        .unwrap();
    let (_dir, m) = model(&p).await;
    let about = m
        .audit(&hoso_projections::audit::AuditQuery {
            dossier_id: Some(id.clone()),
            ..Default::default()
        })
        .unwrap();
    let read = about
        .iter()
        .find(|e| e.event_type == "dossier.AccessLogged")
        .unwrap();
    assert_eq!(read.actor, inspector);
    assert_eq!(read.detail["basis"], basis.describe());
    let by_inspector = m
        .audit(&hoso_projections::audit::AuditQuery {
            actor: Some(inspector.clone()),
            ..Default::default()
        })
        .unwrap();
    let query = by_inspector
        .iter()
        .find(|e| e.event_type == "account.InspectionQueried")
        .unwrap();
    assert_eq!(query.detail["route"], "GET /dossiers");
    assert_eq!(query.detail["criteria"], "name=huong");
    assert_eq!(query.detail["dossiers"][0], id.as_str());
}

#[tokio::test]
async fn approvals_pending_per_monthly_window() {
    let p = Province::new("hung-yen", d(2026, 3, 10)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    let (_dir, m) = model(&p).await;
    let pending = m
        .approvals_pending(p.wf.profile(), p.wf.calendar())
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].month.as_str(), pending[0].pending),
        ("2026-03", 1)
    );
    // HY 8.2: unit heads sign on the 20th to 22nd.
    assert!(pending[0].windows.contains(&(
        "unit_head".to_owned(),
        "2026-03-20".to_owned(),
        "2026-03-22".to_owned()
    )));
    let csv = hoso_projections::reports::pending_to_csv(&pending);
    assert!(
        csv.contains("2026-03,1,unit_head,2026-03-20,2026-03-22\r\n"),
        "{csv}"
    );
}

#[tokio::test]
async fn an_event_that_does_not_continue_its_chain_is_never_applied() {
    let p = Province::new("national", d(2026, 1, 5)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let dir = tempfile::tempdir().unwrap();
    let (m, _) = ReadModel::open(dir.path(), p.clock.clone(), sealer(&p)).unwrap();
    let all = p.store.read_all(0, 10_000).await.unwrap();
    let (before, tail) = all.split_at(all.len() - 1);
    m.apply(before.to_vec()).unwrap();
    let next = m.next_position();

    // Altered content: the stored hash no longer matches.
    let mut altered = tail[0].clone();
    altered.actor = "mallory".into();
    assert!(matches!(
        m.apply(vec![altered]),
        Err(ProjectionError::Chain(v)) if v.position == tail[0].position
    ));
    // A forged event whose own hash is right but which links to nothing applied.
    let mut forged = tail[0].clone();
    forged.prev_hash = [7; 32];
    forged.hash = forged.compute_hash(true);
    assert!(matches!(
        m.apply(vec![forged]),
        Err(ProjectionError::Chain(_))
    ));
    assert_eq!(m.next_position(), next, "nothing was applied");

    // The genuine event is applied, and survives reopening with its chain head.
    m.apply(tail.to_vec()).unwrap();
    drop(m);
    let (m, found) = ReadModel::open(dir.path(), p.clock.clone(), sealer(&p)).unwrap();
    assert_eq!(found, Found::Current);
    assert_eq!(m.next_position(), next + 1);
    assert!(m.dossier(&id, None, None).unwrap().is_some());
    // Catching up through the store applies what follows, linked to the saved heads.
    p.declare_basics(&p.health_focal, &id, PID).await;
    m.catch_up(p.store.as_ref()).await.unwrap();
    assert_eq!(
        Some(m.next_position()),
        p.store.head_position().await.unwrap().map(|h| h + 1)
    );
}

#[tokio::test]
async fn a_read_model_ahead_of_the_log_or_from_another_log_is_not_trusted() {
    use hoso_projections::Agreement;
    let p = Province::new("national", d(2026, 1, 5)).await;
    p.open(PID, HOSPITAL, &p.health_focal).await;
    let (_dir, m) = model(&p).await;
    assert_eq!(
        m.agreement_with(p.store.as_ref()).await.unwrap(),
        Agreement::Agrees
    );
    // Another log, shorter: the read model is ahead of it.
    let short = Province::new("national", d(2026, 1, 5)).await;
    assert!(matches!(
        m.agreement_with(short.store.as_ref()).await.unwrap(),
        Agreement::Ahead { .. }
    ));
    // Another log at least as long: the event at the read model's last position differs.
    let other = Province::new("national", d(2026, 1, 5)).await;
    for pid in ["033190001235", "033190001236", "033190001237"] {
        other.open(pid, HOSPITAL, &other.health_focal).await;
    }
    assert!(matches!(
        m.agreement_with(other.store.as_ref()).await.unwrap(),
        Agreement::Diverged { .. }
    ));
}

/// Whether any file under `dir` (WAL and shared-memory files included)
/// holds `needle`.
fn any_file_holds(dir: &std::path::Path, needle: &[u8]) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if let Some(hit) = any_file_holds(&path, needle) {
                return Some(hit);
            }
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            return Some(path);
        }
    }
    None
}

/// A log written before identification numbers were sealed: the dossier
/// opening carries the number in clear, its reservation stream is named by
/// the old unkeyed digest. The log is never rewritten, so it must still load
/// (the handlers find the person by number, refuse a second dossier), and
/// neither a live nor a rebuilt read model may hold the number in clear.
#[tokio::test]
async fn a_legacy_log_with_clear_numbers_still_loads_and_the_read_model_holds_none() {
    use hoso_ledger::{ExpectedRevision, NewEvent};
    use hoso_schemas::pb::dossier as pb;
    const OLD: &str = "033085004321";
    let p = Province::new("national", d(2026, 1, 5)).await;
    let legacy = "0190aaaa-0000-7000-8000-000000000001";
    let opened: hoso_schemas::DomainEvent = pb::DossierOpened {
        person_id: OLD.into(),
        full_name: "Trần Văn Cũ".into(),
        category: PersonnelCategory::VienChuc.into(),
        managing_unit: HOSPITAL.into(),
        employing_unit: HOSPITAL.into(),
        ..Default::default()
    }
    .into();
    p.store
        .append(
            &format!("dossier-{legacy}"),
            ExpectedRevision::NoStream,
            vec![NewEvent::from_domain(&opened).with_actor("old-version")],
        )
        .await
        .unwrap();
    // The reservation stream as the old version named it.
    let old_digest = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"hoso-person-id\0");
        h.update(OLD.as_bytes());
        hex::encode(&h.finalize()[..16])
    };
    let reserved: hoso_schemas::DomainEvent = pb::PersonIdReserved {
        dossier_id: legacy.into(),
    }
    .into();
    p.store
        .append(
            &format!("pid-{old_digest}"),
            ExpectedRevision::NoStream,
            vec![NewEvent::from_domain(&reserved).with_actor("old-version")],
        )
        .await
        .unwrap();
    // And one dossier written the new way.
    let new = p.open(PID, HOSPITAL, &p.health_focal).await;

    // The handlers read the old event: found by number, loaded with it, and
    // a second dossier for the same number refused.
    assert_eq!(
        p.wf.dossier_of_person(OLD).await.unwrap().as_deref(),
        Some(legacy)
    );
    let loaded = p.wf.load_dossier(legacy).await.unwrap().unwrap();
    assert_eq!(loaded.person_id, OLD);
    assert_eq!(loaded.person_key, p.wf.person_key(OLD));
    let again =
        p.wf.open_dossier(&p.health_focal, p.opening(OLD, HOSPITAL))
            .await
            .unwrap_err();
    assert_eq!(again.code(), "person-id-taken", "{again}");
    // The new dossier's number is sealed in the log, and opens on load.
    assert_eq!(
        p.wf.load_dossier(&new).await.unwrap().unwrap().person_id,
        PID
    );

    let keyring = p.wf.keyring().clone();
    let check = |m: &ReadModel, dir: &std::path::Path| {
        for pid in [OLD, PID] {
            let hits = m
                .search(&SearchQuery {
                    person_key: Some(keyring.person_key(pid)),
                    ..SearchQuery::default()
                })
                .unwrap();
            assert_eq!(hits.items.len(), 1, "{pid}");
            assert!(hits.items[0].person_id.is_empty());
            let id = &hits.items[0].id;
            let view = m.dossier(id, None, None).unwrap().unwrap();
            let sealed = hex::decode(&view.person_id_sealed).unwrap();
            assert_eq!(
                keyring.open_sealed(id, PERSON_ID_CONTEXT, &sealed).unwrap(),
                pid.as_bytes()
            );
            for history in m.history(id).unwrap() {
                assert!(!history.diff.to_string().contains(pid));
            }
            assert!(
                !m.dump().unwrap().iter().any(|row| row.contains(pid)),
                "{pid} in a row"
            );
            assert_eq!(any_file_holds(dir, pid.as_bytes()), None, "{pid}");
        }
    };
    let (live_dir, live) = model(&p).await;
    check(&live, live_dir.path());
    let rebuilt_dir = tempfile::tempdir().unwrap();
    let (rebuilt, _) = ReadModel::rebuild(
        rebuilt_dir.path(),
        p.store.as_ref(),
        p.clock.clone(),
        sealer(&p),
        &|_| (),
    )
    .await
    .unwrap();
    check(&rebuilt, rebuilt_dir.path());
    assert_eq!(live.dump().unwrap(), rebuilt.dump().unwrap());
}

//! Every row of the deadline table of REGULATIONS.md, for every province
//! profile: running each workflow through the handlers records the
//! obligation the profile defines for it, with the profile's citation and a
//! due date computed in the profile's units (working or calendar days) from
//! the date its clock started.

use hoso_commands::workflows::{
    AcceptTransfer, ChangeDepartment, ChangeStatus, Declare, ImportDossier, InitiateTransfer,
    RecordDecision, Review,
};
use std::collections::BTreeMap;

use chrono::NaiveDate;
use hoso_commands::testkit::*;
use hoso_commands::workflows::OpenDossier;
use hoso_domain::dossier::{EmploymentStatus, RankChangeKind, StateDecision, TransferKind};
use hoso_ledger::EventStore;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::{ObligationClosed, ObligationOpened};
use hoso_schemas::{DomainEvent, Registry};

fn date(d: &hoso_schemas::pb::common::Date) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year as i32, d.month, d.day).unwrap()
}

/// Runs every workflow once and returns the obligations opened and closed.
async fn run_every_workflow(
    profile: &str,
) -> (
    Province,
    Vec<ObligationOpened>,
    BTreeMap<String, ObligationClosed>,
) {
    let p = Province::new(profile, d(2026, 3, 23)).await;
    // New dossier: account, declaration, review and lock, signature.
    let pid = "033190001234";
    let id = p.open(pid, HOSPITAL, &p.health_focal).await;
    p.set_today(d(2026, 3, 24));
    let person = p.personal_account(pid, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&person, &id, pid).await;
    p.set_today(d(2026, 3, 25));
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    p.set_today(d(2026, 3, 27));
    p.sign(&p.health_head, &id).await.unwrap();
    // Personal change with proof, reviewed and approved.
    p.wf.declare(
        &person,
        Declare {
            occurred_on: Some(d(2026, 3, 20)),
            ..Declare::new(
                &id,
                "training",
                vec![f("27.c1", "Đại học Y Hà Nội", 1), f("27.c5", "Thạc sĩ", 1)],
            )
            .with_attachments(vec![[3; 32]])
        },
    )
    .await
    .unwrap();
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    p.sign(&p.health_head, &id).await.unwrap();
    // A decision of the state.
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: StateDecision::Rank {
                kind: RankChangeKind::Promoted,
                rank_code: "V.08.05.12".into(),
                rank_name: "Điều dưỡng hạng III".into(),
            },
            effective: d(2026, 3, 16),
            document: doc("31/QĐ-SYT", d(2026, 3, 13)),
        },
    )
    .await
    .unwrap();
    // Move inside the department.
    let (moved, _) =
        p.wf.open_dossier(
            &p.health_focal,
            OpenDossier {
                employing_unit: HEALTH_DIV_A.into(),
                ..p.opening("033090004321", HEALTH)
            },
        )
        .await
        .unwrap();
    p.wf.change_department(
        &p.health_focal,
        ChangeDepartment {
            dossier_id: String::from(&moved),
            to: String::from(HEALTH_DIV_B),
            effective: d(2026, 3, 20),
            document: doc("32/QĐ-SYT", d(2026, 3, 19)),
        },
    )
    .await
    .unwrap();
    // Transfer to another agency.
    let (transfer, _) =
        p.wf.initiate_transfer(
            &p.health_focal,
            InitiateTransfer {
                dossier_id: String::from(&id),
                kind: TransferKind::Transfer,
                to: String::from(EDUCATION),
                effective: d(2026, 3, 23),
                document: doc("40/QĐ-UBND", d(2026, 3, 20)),
            },
        )
        .await
        .unwrap();
    p.set_today(d(2026, 3, 30));
    p.wf.accept_transfer(
        &p.education_focal,
        AcceptTransfer {
            dossier_id: String::from(&id),
            transfer_id: String::from(&transfer),
        },
    )
    .await
    .unwrap();
    // Arrival from another province.
    p.wf.import_dossier(
        &p.admin,
        ImportDossier {
            source_system: "csdlqg".into(),
            source_record_id: String::from("QG-1"),
            source_digest: None,
            person_id: String::from("033088007777"),
            full_name: String::from("Lê Văn Tâm"),
            category: PersonnelCategory::CongChuc,
            managing_unit: String::from(HEALTH),
            sections: vec![],
            handed_over_on: d(2026, 3, 18),
        },
    )
    .await
    .unwrap();
    // Leaving.
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&moved),
            status: EmploymentStatus::Retired,
            effective: d(2026, 3, 1),
            document: doc("41/QĐ-SYT", d(2026, 2, 15)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();

    let registry = Registry::standard();
    let mut opened = Vec::new();
    let mut closed = BTreeMap::new();
    for e in p.store.read_all(0, usize::MAX).await.unwrap() {
        match hoso_ledger::typed::decode(&registry, &e).unwrap() {
            DomainEvent::ObligationOpened(o) => opened.push(o),
            DomainEvent::ObligationClosed(c) => {
                closed.insert(format!("{}/{}", e.stream, c.obligation_id), c);
            }
            _ => {}
        }
    }
    (p, opened, closed)
}

async fn every_row_recorded(profile: &str) {
    let (p, opened, _) = run_every_workflow(profile).await;
    let profile = p.wf.profile();
    let cal = p.wf.calendar();
    let mut missing = Vec::new();
    for (obligation, rule) in profile.deadlines() {
        let found: Vec<&ObligationOpened> = opened
            .iter()
            .filter(|o| o.obligation == obligation.key())
            .collect();
        if found.is_empty() {
            missing.push(obligation.key());
            continue;
        }
        for o in found {
            assert_eq!(o.citation, rule.citation, "{}", o.obligation);
            let from = date(o.counted_from.as_ref().unwrap());
            assert_eq!(
                date(o.due.as_ref().unwrap()),
                rule.due(from, cal),
                "{} counted from {from}",
                o.obligation
            );
            assert!(
                from <= d(2026, 3, 30),
                "{} counted from the future",
                o.obligation
            );
        }
    }
    assert!(
        missing.is_empty(),
        "{}: no obligation recorded for {missing:?}",
        profile.name()
    );
    // Nothing is recorded that the profile does not define.
    for o in &opened {
        assert!(
            profile.deadlines().any(|(ob, _)| ob.key() == o.obligation),
            "{} is not in {}",
            o.obligation,
            profile.name()
        );
    }
}

#[tokio::test]
async fn kt_every_deadline_row_is_recorded_with_its_due_date() {
    every_row_recorded("kon-tum").await;
}

#[tokio::test]
async fn dl_every_deadline_row_is_recorded_with_its_due_date() {
    every_row_recorded("dak-lak").await;
}

#[tokio::test]
async fn bt_every_deadline_row_is_recorded_with_its_due_date() {
    every_row_recorded("binh-thuan").await;
}

#[tokio::test]
async fn dt_every_deadline_row_is_recorded_with_its_due_date() {
    every_row_recorded("dong-thap").await;
}

#[tokio::test]
async fn hy_every_deadline_row_is_recorded_with_its_due_date() {
    every_row_recorded("hung-yen").await;
}

#[tokio::test]
async fn national_every_deadline_row_is_recorded_with_its_due_date() {
    every_row_recorded("national").await;
}

#[tokio::test]
async fn hy_10_1_to_10_4_new_dossier_clocks_run_in_working_days_and_close_in_order() {
    let (_, opened, closed) = run_every_workflow("hung-yen").await;
    let get = |key: &str| {
        opened
            .iter()
            .find(|o| o.obligation == key)
            .unwrap_or_else(|| panic!("{key}"))
    };
    // HY 10.1: account within 5 working days of the decision (2 January
    // 2026, a Friday): 5, 6, 7, 8, 9 January.
    let account = get("issue_new_dossier_account");
    assert_eq!(date(account.due.as_ref().unwrap()), d(2026, 1, 9));
    // HY 10.2: declare within 5 working days of the account (24 March).
    let declare = get("declare_new_dossier");
    assert_eq!(date(declare.counted_from.as_ref().unwrap()), d(2026, 3, 24));
    assert_eq!(date(declare.due.as_ref().unwrap()), d(2026, 3, 31));
    // HY 10.3 review from the declaration, HY 10.4 signature from the lock.
    assert_eq!(get("review_new_dossier").citation, "HY 10.3");
    assert_eq!(
        date(get("sign_new_dossier").counted_from.as_ref().unwrap()),
        d(2026, 3, 25)
    );
    // The account came late (24 March against 9 January); the rest on time.
    let late: BTreeMap<&str, bool> = closed
        .values()
        .filter_map(|c| {
            opened
                .iter()
                .find(|o| o.obligation_id == c.obligation_id)
                .map(|o| (o.obligation.as_str(), c.late))
        })
        .collect();
    assert_eq!(late.get("issue_new_dossier_account"), Some(&true));
    assert_eq!(late.get("declare_new_dossier"), Some(&false));
    assert_eq!(late.get("review_new_dossier"), Some(&false));
    assert_eq!(late.get("sign_new_dossier"), Some(&false));
}

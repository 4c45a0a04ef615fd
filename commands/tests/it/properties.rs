//! Random command sequences against the real handlers and store, checking
//! the invariants the regulations rest on: one personal account and one
//! dossier per person, no dossier in two units at once, nothing ever
//! deleted or changed, archived dossiers changed only by a lawful status
//! change, every approval signature verifying against the revision it
//! names, and every chain verifying. Every refusal must be a typed rule,
//! never a failure.

use hoso_commands::workflows::{
    AcceptTransfer, ChangeStatus, Declare, InitiateTransfer, RecordDecision, RejectTransfer, Review,
};
use std::collections::{BTreeMap, BTreeSet};

use hoso_commands::testkit::*;
use hoso_commands::workflows::{CommandError, IssueAccount};
use hoso_domain::account::AccountKind;
use hoso_domain::dossier::{self, EmploymentStatus, RankChangeKind, StateDecision, TransferKind};
use hoso_domain::signing;
use hoso_ledger::EventStore;
use hoso_schemas::{DomainEvent, Registry};
use proptest::prelude::*;

const PEOPLE: [&str; 4] = [
    "033190001234",
    "033085004321",
    "001201009999",
    "079095123456",
];
const UNITS: [&str; 3] = [HOSPITAL, EDUCATION, SCHOOL];

#[derive(Debug, Clone)]
enum Op {
    Open(usize, usize),
    IssuePersonal(usize),
    Declare(usize, bool),
    Return(usize),
    Verify(usize),
    Lock(usize),
    Sign(usize, bool),
    Decision(usize),
    Transfer(usize, usize),
    Accept(usize),
    Reject(usize),
    Status(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let person = 0..PEOPLE.len();
    prop_oneof![
        (person.clone(), 0..UNITS.len()).prop_map(|(p, u)| Op::Open(p, u)),
        person.clone().prop_map(Op::IssuePersonal),
        (person.clone(), any::<bool>()).prop_map(|(p, proof)| Op::Declare(p, proof)),
        person.clone().prop_map(Op::Return),
        person.clone().prop_map(Op::Verify),
        person.clone().prop_map(Op::Lock),
        (person.clone(), any::<bool>()).prop_map(|(p, h)| Op::Sign(p, h)),
        person.clone().prop_map(Op::Decision),
        (person.clone(), 0..UNITS.len()).prop_map(|(p, u)| Op::Transfer(p, u)),
        person.clone().prop_map(Op::Accept),
        person.clone().prop_map(Op::Reject),
        (person, 0..4usize).prop_map(|(p, s)| Op::Status(p, s)),
    ]
}

const STATUSES: [EmploymentStatus; 4] = [
    EmploymentStatus::Retired,
    EmploymentStatus::Deceased,
    EmploymentStatus::Seconded,
    EmploymentStatus::Active,
];

async fn apply(
    p: &Province,
    op: &Op,
    dossiers: &mut BTreeMap<usize, String>,
) -> Result<(), CommandError> {
    let focal_for = |unit: &str| {
        if unit == HOSPITAL || unit == HEALTH {
            &p.health_focal
        } else {
            &p.education_focal
        }
    };
    let dossier_of = |i: usize| dossiers.get(&i).cloned();
    let managing = |id: &str| {
        let id = id.to_owned();
        async move { p.wf.load_dossier(&id).await.unwrap().unwrap() }
    };
    match *op {
        Op::Open(i, u) => {
            let (id, _) =
                p.wf.open_dossier(focal_for(UNITS[u]), opening_for(p, PEOPLE[i], UNITS[u]))
                    .await?;
            dossiers.insert(i, id);
        }
        Op::IssuePersonal(i) => {
            let unit = match dossier_of(i) {
                Some(id) => managing(&id).await.managing_unit,
                None => HOSPITAL.to_owned(),
            };
            p.wf.issue_account(
                focal_for(&unit),
                IssueAccount {
                    kind: AccountKind::Personal,
                    username: format!("p{}", PEOPLE[i]),
                    org_code: unit.clone(),
                    person_id: Some(PEOPLE[i].into()),
                    display_name: "Người thử".into(),
                    birth_date: None,
                },
            )
            .await?;
        }
        _ => {
            let i = match op {
                Op::Declare(i, _)
                | Op::Return(i)
                | Op::Verify(i)
                | Op::Lock(i)
                | Op::Sign(i, _)
                | Op::Decision(i)
                | Op::Transfer(i, _)
                | Op::Accept(i)
                | Op::Reject(i)
                | Op::Status(i, _) => *i,
                Op::Open(..) | Op::IssuePersonal(_) => unreachable!(),
            };
            let Some(id) = dossier_of(i) else {
                return Ok(());
            };
            let dos = managing(&id).await;
            let focal = focal_for(&dos.managing_unit);
            match *op {
                Op::Declare(_, proof) => {
                    let attachments = if proof { vec![[1; 32]] } else { vec![] };
                    p.wf.declare(
                        focal,
                        Declare::new(
                            &id,
                            "identity",
                            vec![
                                f("1", "NGƯỜI THỬ", 0),
                                f("3a", "1990", 0),
                                f("3b", "Nam", 0),
                                f("25a", PEOPLE[i], 0),
                            ],
                        )
                        .with_attachments(attachments.clone()),
                    )
                    .await?;
                    p.wf.declare(
                        focal,
                        Declare::new(
                            &id,
                            "recruitment",
                            vec![f("11a", "2026", 0), f("11b", "Sở", 0)],
                        )
                        .with_attachments(attachments),
                    )
                    .await?;
                }
                Op::Return(_) => {
                    p.wf.review(focal, Review::send_back(&id, vec![], vec!["sai".into()]))
                        .await?;
                }
                Op::Verify(_) => {
                    p.wf.review(focal, Review::verify(&id, "")).await?;
                }
                Op::Lock(_) => {
                    p.wf.review(focal, Review::lock(&id)).await?;
                }
                Op::Sign(_, health) => {
                    let head = if health {
                        &p.health_head
                    } else {
                        &p.education_head
                    };
                    p.sign(head, &id).await?;
                }
                Op::Decision(_) => {
                    p.wf.record_decision(
                        focal,
                        RecordDecision {
                            dossier_id: String::from(&id),
                            decision: StateDecision::Rank {
                                kind: RankChangeKind::Promoted,
                                rank_code: "01.003".into(),
                                rank_name: "Chuyên viên".into(),
                            },
                            effective: d(2026, 1, 1),
                            document: doc("1/QĐ", d(2026, 3, 1)),
                        },
                    )
                    .await?;
                }
                Op::Transfer(_, u) => {
                    p.wf.initiate_transfer(
                        focal,
                        InitiateTransfer {
                            dossier_id: String::from(&id),
                            kind: TransferKind::Transfer,
                            to: String::from(UNITS[u]),
                            effective: d(2026, 3, 27),
                            document: doc("2/QĐ", d(2026, 3, 1)),
                        },
                    )
                    .await?;
                }
                Op::Accept(_) | Op::Reject(_) => {
                    if let Some(t) = &dos.transfer {
                        let receiver = focal_for(&t.to);
                        if matches!(op, Op::Accept(_)) {
                            p.wf.accept_transfer(
                                receiver,
                                AcceptTransfer {
                                    dossier_id: String::from(&id),
                                    transfer_id: String::from(&t.transfer_id),
                                },
                            )
                            .await?;
                        } else {
                            p.wf.reject_transfer(
                                receiver,
                                RejectTransfer {
                                    dossier_id: String::from(&id),
                                    transfer_id: String::from(&t.transfer_id),
                                    reason: String::from("không nhận"),
                                },
                            )
                            .await?;
                        }
                    }
                }
                Op::Status(_, s) => {
                    p.wf.change_status(
                        focal,
                        ChangeStatus {
                            dossier_id: String::from(&id),
                            status: STATUSES[s],
                            effective: d(2026, 3, 1),
                            document: doc("3/QĐ", d(2026, 3, 1)),
                            note: String::from(""),
                        },
                    )
                    .await?;
                }
                Op::Open(..) | Op::IssuePersonal(_) => unreachable!(),
            }
        }
    }
    Ok(())
}

fn opening_for(p: &Province, person_id: &str, unit: &str) -> hoso_commands::workflows::OpenDossier {
    hoso_commands::workflows::OpenDossier {
        birth_date: None,
        ..p.opening(person_id, unit)
    }
}

async fn check(ops: Vec<Op>) {
    let p = Province::new("national", d(2026, 3, 27)).await;
    let mut dossiers = BTreeMap::new();
    let mut seen: Vec<[u8; 32]> = Vec::new();
    for op in &ops {
        if let Err(e) = apply(&p, op, &mut dossiers).await {
            assert!(
                e.is_rejection(),
                "{op:?} failed instead of being refused: {e}"
            );
        }
        // Nothing stored is ever changed or removed.
        let all = p.store.read_all(0, usize::MAX).await.unwrap();
        assert!(all.len() >= seen.len());
        for (before, now) in seen.iter().zip(&all) {
            assert_eq!(
                before, &now.hash,
                "event at {} changed after {op:?}",
                now.position
            );
        }
        seen = all.iter().map(|e| e.hash).collect();
    }

    let registry = Registry::standard();
    let all = p.store.read_all(0, usize::MAX).await.unwrap();
    let mut personal: BTreeMap<String, usize> = BTreeMap::new();
    let mut opened: BTreeMap<String, usize> = BTreeMap::new();
    let mut archived_at: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_stream: BTreeMap<String, Vec<&hoso_ledger::RecordedEvent>> = BTreeMap::new();
    for e in &all {
        by_stream.entry(e.stream.clone()).or_default().push(e);
        let event = hoso_ledger::typed::decode(&registry, e).unwrap();
        match &event {
            // Numbers reach the log sealed; uniqueness is by person key.
            DomainEvent::AccountIssued(a) if !a.person_key.is_empty() => {
                assert!(a.person_id.is_empty() && !a.person_id_sealed.is_empty());
                *personal.entry(a.person_key.clone()).or_default() += 1;
            }
            DomainEvent::DossierOpened(o) => {
                assert!(o.person_id.is_empty() && !o.person_id_sealed.is_empty());
                *opened.entry(o.person_key.clone()).or_default() += 1
            }
            DomainEvent::StatusChanged(s) if dossier::is_archived_status(s.status()) => {
                archived_at.entry(e.stream.clone()).or_insert(e.revision);
            }
            DomainEvent::ApprovalSigned(a) => {
                // The signature verifies against the hash of the revision it names.
                let at = by_stream[&e.stream][a.revision as usize];
                assert_eq!(a.stream_hash, at.hash.to_vec());
                let digest = signing::approval_digest(&e.stream, a.revision, &at.hash);
                let signer = p.wf.load_account(&a.signer).await.unwrap().unwrap();
                signing::verify(&signer.keys[&a.key_id].public_key, &digest, &a.signature).unwrap();
            }
            _ => {}
        }
        // Archived dossiers change only by a lawful status change (and the
        // obligations that change closes), or move with a restructured unit.
        if let Some(&from) = archived_at.get(&e.stream)
            && e.revision > from
        {
            assert!(
                matches!(
                    event,
                    DomainEvent::StatusChanged(_)
                        | DomainEvent::ManagingUnitReassigned(_)
                        | DomainEvent::ObligationOpened(_)
                        | DomainEvent::ObligationClosed(_)
                ),
                "{} changed after archiving: {}",
                e.stream,
                e.event_type
            );
        }
    }
    assert!(personal.values().all(|n| *n == 1), "{personal:?}");
    assert!(opened.values().all(|n| *n == 1), "{opened:?}");
    // No dossier in two units at once: each has one managing unit, and it
    // is a unit of the tree; a pending transfer is the only way out.
    let tree = p.wf.org_tree().await.unwrap();
    let units: BTreeSet<&String> = tree.units().keys().collect();
    for id in dossiers.values() {
        let dos = p.wf.load_dossier(id).await.unwrap().unwrap();
        assert!(units.contains(&dos.managing_unit), "{}", dos.managing_unit);
        if let Some(t) = &dos.transfer {
            assert_ne!(t.to, dos.managing_unit);
        }
    }
    let report = p.store.verify_all(&|_| {}).await.unwrap();
    assert_eq!(report.events, all.len() as u64);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..28)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check(ops));
    }
}

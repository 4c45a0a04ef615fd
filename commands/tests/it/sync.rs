//! The write side of the national sync feed on the test province: which
//! approvals a batch holds, who seals it and when, what the statement must
//! say, and the national database's acknowledgement. Each test is named after
//! the rule it checks.

use ed25519_dalek::{Signer, SigningKey};
use hoso_commands::testkit::*;
use hoso_commands::workflows::{
    AccessRule, ApprovalRef, BatchRange, BatchRule, CommandError, DeliveryState, IssueAccount,
    SealBatch,
};
use hoso_domain::account::{AccountChange, AccountKind, AccountRule};
use hoso_domain::profile::Profile;
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::common::AccessRight;
use hoso_sync::{BatchItem, BatchStatement, Month, SyncError};
use sha2::{Digest, Sha256};

const PID_A: &str = "033190001234";
const PID_B: &str = "033090004321";

/// Stands in for the exchange-format document's digest, which the read side
/// computes: anything fixed per (dossier, revision) will do here.
fn document_digest(a: &ApprovalRef) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(a.dossier_id.as_bytes());
    h.update(a.revision.to_be_bytes());
    h.finalize().into()
}

fn items(range: &BatchRange) -> Vec<BatchItem> {
    range
        .approvals
        .iter()
        .map(|a| BatchItem {
            dossier: a.dossier_id.clone(),
            revision: a.revision,
            chain_hash: a.chain_hash,
            document_sha256: document_digest(a),
        })
        .collect()
}

fn statement(range: &BatchRange) -> BatchStatement {
    range.statement(hoso_sync::merkle_root(&items(range)).unwrap())
}

fn signed(statement: BatchStatement, head: &Head) -> SealBatch {
    // An impossible statement has no digest; the refusal comes before the
    // signature is looked at.
    let signature = match statement.digest() {
        Ok(digest) => head.key.sign(&digest).to_bytes().to_vec(),
        Err(_) => vec![0; 64],
    };
    SealBatch {
        statement,
        key_id: head.key_id.clone(),
        signature,
    }
}

fn batch_rule(e: CommandError) -> BatchRule {
    match e {
        CommandError::Sync(r) => r.rule,
        other => panic!("expected a sync rule, got {other:?}"),
    }
}

fn access_rule(e: CommandError) -> AccessRule {
    match e {
        CommandError::Access(r) => r.rule,
        other => panic!("expected an access rule, got {other:?}"),
    }
}

/// A province opened in March 2026 with dossier A approved in March and
/// dossier B declared in March but approved on 2 April.
async fn march_and_april() -> (Province, String, String) {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let (a, _) = p.approved_dossier(PID_A).await;
    let b = p.open(PID_B, HOSPITAL, &p.health_focal).await;
    let person = p.personal_account(PID_B, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&person, &b, PID_B).await;
    p.wf.review(
        &p.health_focal,
        hoso_commands::workflows::Review::verify(&b, "khớp hồ sơ gốc"),
    )
    .await
    .unwrap();
    p.wf.review(&p.health_focal, hoso_commands::workflows::Review::lock(&b))
        .await
        .unwrap();
    p.set_today(d(2026, 4, 2));
    p.sign(&p.health_head, &b).await.unwrap();
    (p, a, b)
}

#[tokio::test]
async fn a_batch_holds_the_approvals_recorded_in_its_month_in_log_order() {
    let (p, a, b) = march_and_april().await;
    let range = p.wf.batch_range().await.unwrap();
    assert_eq!(range.sequence, 1);
    assert_eq!(range.month, Month::new(2026, 3).unwrap());
    assert_eq!(range.from_position, 0);
    assert_eq!(range.previous_digest, [0; 32]);
    assert_eq!(range.seal_from, Some(d(2026, 4, 1)));
    assert_eq!(range.province, "binh-thuan");
    let ids: Vec<_> = range
        .approvals
        .iter()
        .map(|x| x.dossier_id.as_str())
        .collect();
    assert_eq!(ids, [a.as_str()], "B's approval of 2 April is not March's");
    // The item is the approval event's own revision and chain hash.
    let approval = &range.approvals[0];
    let events = p.stream(&format!("dossier-{a}")).await;
    let signed_event = events
        .iter()
        .find(|e| e.position == approval.position)
        .unwrap();
    match hoso_ledger::typed::decode(&hoso_schemas::Registry::standard(), signed_event).unwrap() {
        DomainEvent::ApprovalSigned(s) => {
            assert_eq!(s.revision, approval.revision);
            assert_eq!(s.stream_hash, approval.chain_hash.to_vec());
        }
        other => panic!("{other:?}"),
    }
    // The range ends at the first event of April: B's approval is after it.
    assert!(
        range.to_position
            <= p.stream(&format!("dossier-{b}"))
                .await
                .last()
                .unwrap()
                .position
    );
}

#[tokio::test]
async fn a_change_not_yet_approved_stays_out_and_its_later_approval_lands_in_the_next_batch() {
    let (p, a, b) = march_and_april().await;
    let director = p.director().await;
    let march = p.wf.batch_range().await.unwrap();
    p.wf.seal_batch(&director.actor, signed(statement(&march), &director))
        .await
        .unwrap();
    p.set_today(d(2026, 5, 4));
    let april = p.wf.batch_range().await.unwrap();
    assert_eq!(april.sequence, 2);
    assert_eq!(april.month, Month::new(2026, 4).unwrap());
    assert_eq!(april.from_position, march.to_position);
    let sealed = p.wf.sealed_batch(1).await.unwrap().unwrap();
    assert_eq!(april.previous_digest, sealed.statement_digest);
    let ids: Vec<_> = april
        .approvals
        .iter()
        .map(|x| x.dossier_id.as_str())
        .collect();
    assert_eq!(ids, [b.as_str()]);
    assert!(!ids.contains(&a.as_str()));
    let receipt =
        p.wf.seal_batch(&director.actor, signed(statement(&april), &director))
            .await
            .unwrap();
    assert_eq!(receipt.stream, "sync-2");
    let both = p.wf.sealed_batches().await.unwrap();
    hoso_sync::verify_follows(&both[0].statement, &both[1].statement).unwrap();
}

#[tokio::test]
async fn only_the_so_noi_vu_director_seals_a_batch() {
    let (p, _, _) = march_and_april().await;
    let range = p.wf.batch_range().await.unwrap();
    // A head of another department, with a valid key of its own.
    let other = signed(statement(&range), &p.health_head);
    assert_eq!(
        batch_rule(
            p.wf.seal_batch(&p.health_head.actor, other)
                .await
                .unwrap_err()
        ),
        BatchRule::NotDirector(p.health_head.actor.account_id.clone())
    );
    // The system administrator is of Sở Nội vụ but not its director.
    let director = p.director().await;
    assert!(matches!(
        batch_rule(
            p.wf.seal_batch(&p.admin, signed(statement(&range), &director))
                .await
                .unwrap_err()
        ),
        BatchRule::NotDirector(_)
    ));
    let national = p.national_sync().await;
    assert_eq!(
        access_rule(
            p.wf.seal_batch(&national, signed(statement(&range), &director))
                .await
                .unwrap_err()
        ),
        AccessRule::NationalSyncReadOnly(national.account_id.clone())
    );
    // The same question, asked before a statement is handed out.
    p.wf.check_director(&director.actor).await.unwrap();
    for who in [&p.health_head.actor, &p.admin, &national] {
        assert_eq!(
            batch_rule(p.wf.check_director(who).await.unwrap_err()),
            BatchRule::NotDirector(who.account_id.clone())
        );
    }
    p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_month_is_sealed_from_the_profiles_seal_day_of_the_next_month() {
    let text = Profile::source("binh-thuan")
        .unwrap()
        .replace("[sync]\n", "[sync]\nseal_from_day = 5\n");
    let profile = Profile::from_toml_str("binh-thuan", &text).unwrap();
    assert_eq!(profile.sync().seal_from_day, 5);
    let p = Province::with_profile(profile, d(2026, 3, 2)).await;
    p.approved_dossier(PID_A).await;
    let director = p.director().await;
    for day in [d(2026, 3, 31), d(2026, 4, 4)] {
        p.set_today(day);
        let range = p.wf.batch_range().await.unwrap();
        assert_eq!(range.seal_from, Some(d(2026, 4, 5)));
        assert_eq!(
            batch_rule(
                p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
                    .await
                    .unwrap_err()
            ),
            BatchRule::TooEarly {
                month: "2026-03".into(),
                seal_from: d(2026, 4, 5),
                today: day,
            }
        );
    }
    p.set_today(d(2026, 4, 5));
    let range = p.wf.batch_range().await.unwrap();
    p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_statement_must_say_what_the_log_says() {
    let (p, _, _) = march_and_april().await;
    let director = p.director().await;
    let range = p.wf.batch_range().await.unwrap();
    let good = statement(&range);
    type Change = fn(&mut BatchStatement);
    let cases: [(&str, Change); 5] = [
        ("month", |s| s.month = Month::new(2026, 4).unwrap()),
        ("to_position", |s| s.to_position += 1),
        ("from_position", |s| s.from_position = 1),
        ("item_count", |s| s.item_count = 0),
        ("province", |s| s.province = "hung-yen".into()),
    ];
    for (field, change) in cases {
        let mut s = good.clone();
        change(&mut s);
        match batch_rule(
            p.wf.seal_batch(&director.actor, signed(s, &director))
                .await
                .unwrap_err(),
        ) {
            BatchRule::StatementMismatch { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let mut chained = good.clone();
    chained.previous_digest = [7; 32];
    assert_eq!(
        batch_rule(
            p.wf.seal_batch(&director.actor, signed(chained, &director))
                .await
                .unwrap_err()
        ),
        BatchRule::BadStatement(SyncError::PreviousDigest {
            sequence: 1,
            zero: false
        })
    );
    let mut ahead = good.clone();
    ahead.sequence = 2;
    ahead.previous_digest = [7; 32];
    assert_eq!(
        batch_rule(
            p.wf.seal_batch(&director.actor, signed(ahead, &director))
                .await
                .unwrap_err()
        ),
        BatchRule::NotNextBatch {
            expected: 1,
            found: 2
        }
    );
    // Nothing was appended by the refusals.
    assert!(p.wf.sealed_batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_empty_month_is_sealed_with_the_empty_root() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let director = p.director().await;
    p.set_today(d(2026, 4, 1));
    let range = p.wf.batch_range().await.unwrap();
    assert!(range.approvals.is_empty());
    let wrong = range.statement([1; 32]);
    assert!(matches!(
        batch_rule(
            p.wf.seal_batch(&director.actor, signed(wrong, &director))
                .await
                .unwrap_err()
        ),
        BatchRule::StatementMismatch {
            field: "merkle_root",
            ..
        }
    ));
    let empty = range.statement(hoso_ledger::merkle::empty_root());
    p.wf.seal_batch(&director.actor, signed(empty, &director))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_director_signs_the_statement_digest_with_a_key_usable_today() {
    let (p, _, _) = march_and_april().await;
    let director = p.director().await;
    let range = p.wf.batch_range().await.unwrap();
    let mut forged = signed(statement(&range), &director);
    forged.signature = SigningKey::from_bytes(&[42; 32])
        .sign(&statement(&range).digest().unwrap())
        .to_bytes()
        .to_vec();
    assert!(matches!(
        batch_rule(p.wf.seal_batch(&director.actor, forged).await.unwrap_err()),
        BatchRule::BadSignature(_)
    ));
    // A signature over another statement (another root) does not carry over.
    let mut swapped = signed(range.statement([3; 32]), &director);
    swapped.statement = statement(&range);
    assert!(matches!(
        batch_rule(p.wf.seal_batch(&director.actor, swapped).await.unwrap_err()),
        BatchRule::BadSignature(_)
    ));
    let mut unknown = signed(statement(&range), &director);
    unknown.key_id = "snv.giamdoc-2019".into();
    assert!(matches!(
        access_rule(p.wf.seal_batch(&director.actor, unknown).await.unwrap_err()),
        AccessRule::KeyNotUsable { .. }
    ));
    p.wf.account(
        &p.admin,
        &director.actor.account_id,
        AccountChange::RevokeKey {
            key_id: director.key_id.clone(),
            reason: "mất thiết bị".into(),
            effective: d(2026, 4, 2),
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        access_rule(
            p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
                .await
                .unwrap_err()
        ),
        AccessRule::KeyNotUsable { .. }
    ));
}

#[tokio::test]
async fn a_sealed_batch_is_never_sealed_again() {
    let (p, _, _) = march_and_april().await;
    let director = p.director().await;
    let range = p.wf.batch_range().await.unwrap();
    let seal = signed(statement(&range), &director);
    let receipt =
        p.wf.seal_batch(&director.actor, seal.clone())
            .await
            .unwrap();
    assert_eq!((receipt.stream.as_str(), receipt.revision), ("sync-1", 0));
    assert_eq!(
        batch_rule(p.wf.seal_batch(&director.actor, seal).await.unwrap_err()),
        BatchRule::AlreadySealed {
            sequence: 1,
            month: "2026-03".into()
        }
    );
    assert_eq!(p.stream("sync-1").await.len(), 1);
}

#[tokio::test]
async fn anyone_with_the_log_can_recompute_and_verify_a_sealed_batch() {
    let (p, _, _) = march_and_april().await;
    let director = p.director().await;
    let range = p.wf.batch_range().await.unwrap();
    p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
        .await
        .unwrap();
    let sealed = p.wf.sealed_batch(1).await.unwrap().unwrap();
    assert_eq!(sealed.statement, statement(&range));
    assert_eq!(sealed.signer, director.actor.account_id);
    let public = director.key.verifying_key().to_bytes();
    hoso_sync::verify_signature(&sealed.statement, &public, &sealed.signature).unwrap();
    let again =
        p.wf.batch_approvals(sealed.statement.from_position, sealed.statement.to_position)
            .await
            .unwrap();
    assert_eq!(again, range.approvals);
    let recomputed = BatchRange {
        approvals: again,
        ..range.clone()
    };
    let items = items(&recomputed);
    let digests = hoso_sync::item_digests(&items).unwrap();
    for (i, item) in items.iter().enumerate() {
        let proof = hoso_sync::inclusion_proof(&digests, i as u64).unwrap();
        hoso_sync::verify_item(&sealed.statement, item, &proof).unwrap();
    }
    // The event carries the digest the director signed.
    match &p.events("sync-1").await[0] {
        DomainEvent::MonthlyBatchSealed(e) => {
            assert_eq!(
                e.statement_digest,
                sealed.statement.digest().unwrap().to_vec()
            );
            assert_eq!(e.director_key_id, director.key_id);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_acknowledgement_is_the_national_sync_accounts_and_idempotent() {
    let (p, _, _) = march_and_april().await;
    let director = p.director().await;
    let national = p.national_sync().await;
    assert_eq!(
        batch_rule(
            p.wf.acknowledge_batch(&national, 1, "BNV-1")
                .await
                .unwrap_err()
        ),
        BatchRule::UnknownBatch(1)
    );
    let range = p.wf.batch_range().await.unwrap();
    p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
        .await
        .unwrap();
    assert_eq!(
        batch_rule(
            p.wf.acknowledge_batch(&director.actor, 1, "BNV-1")
                .await
                .unwrap_err()
        ),
        BatchRule::NotNationalSync(director.actor.account_id.clone())
    );
    assert_eq!(
        batch_rule(
            p.wf.acknowledge_batch(&national, 1, "  ")
                .await
                .unwrap_err()
        ),
        BatchRule::BadReceipt
    );
    let first = p.wf.acknowledge_batch(&national, 1, "BNV-1").await.unwrap();
    let again = p.wf.acknowledge_batch(&national, 1, "BNV-1").await.unwrap();
    assert_eq!(first, again);
    assert_eq!(p.stream("sync-1").await.len(), 2);
    assert_eq!(
        batch_rule(
            p.wf.acknowledge_batch(&national, 1, "BNV-2")
                .await
                .unwrap_err()
        ),
        BatchRule::AlreadyAcknowledged {
            sequence: 1,
            receipt: "BNV-1".into()
        }
    );
    let ack =
        p.wf.sealed_batch(1)
            .await
            .unwrap()
            .unwrap()
            .acknowledgement
            .unwrap();
    assert_eq!(
        (ack.receipt.as_str(), ack.account.as_str()),
        ("BNV-1", national.account_id.as_str())
    );
    // The next batch still starts where the sealed one ended.
    assert_eq!(
        p.wf.batch_range().await.unwrap().from_position,
        range.to_position
    );
}

#[tokio::test]
async fn a_national_sync_account_is_issued_by_so_noi_vu_and_holds_nothing() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let agency_admin = staff(
        &p.wf,
        &p.admin,
        "yte.quantri",
        HEALTH,
        AccountKind::AgencyAdmin,
        Some(AccessRight::Admin),
    )
    .await;
    let issue = IssueAccount {
        kind: AccountKind::NationalSync,
        username: "csdlqg.khac".into(),
        org_code: HEALTH.into(),
        person_id: None,
        display_name: "CSDLQG".into(),
        birth_date: None,
    };
    assert_eq!(
        access_rule(p.wf.issue_account(&agency_admin, issue).await.unwrap_err()),
        AccessRule::SystemAdminOnly("issue national sync accounts")
    );
    let national = p.national_sync().await;
    // No command but the acknowledgement.
    assert_eq!(
        access_rule(
            p.wf.issue_account(
                &national,
                IssueAccount {
                    kind: AccountKind::Specialist,
                    username: "x.y".into(),
                    org_code: HEALTH.into(),
                    person_id: None,
                    display_name: "X".into(),
                    birth_date: None,
                },
            )
            .await
            .unwrap_err()
        ),
        AccessRule::NationalSyncReadOnly(national.account_id.clone())
    );
    // No right, key or delegation can be given to it.
    let refused =
        p.wf.account(
            &p.admin,
            &national.account_id,
            AccountChange::Grant {
                org_code: ROOT.into(),
                right: AccessRight::Access,
                reason: "đồng bộ".into(),
                decision: None,
            },
        )
        .await
        .unwrap_err();
    match refused {
        CommandError::Account(r) => {
            assert_eq!(
                r.rule,
                AccountRule::NationalSyncReadOnly("a right over units")
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unacknowledged_batch_is_overdue_after_the_profiles_working_days() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    p.approved_dossier(PID_A).await;
    let director = p.director().await;
    let national = p.national_sync().await;
    // Wednesday 1 April 2026; five working days later is Wednesday 8 April.
    p.set_today(d(2026, 4, 1));
    let range = p.wf.batch_range().await.unwrap();
    p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
        .await
        .unwrap();
    let batch = p.wf.sealed_batch(1).await.unwrap().unwrap();
    assert_eq!(batch.sealed_on, d(2026, 4, 1));
    assert_eq!(p.wf.acknowledgement_due(&batch), d(2026, 4, 8));
    p.set_today(d(2026, 4, 8));
    assert_eq!(p.wf.delivery_state(&batch), DeliveryState::Sealed);
    p.set_today(d(2026, 4, 9));
    assert_eq!(p.wf.delivery_state(&batch), DeliveryState::Overdue);
    p.wf.acknowledge_batch(&national, 1, "BNV-9").await.unwrap();
    let batch = p.wf.sealed_batch(1).await.unwrap().unwrap();
    assert_eq!(p.wf.delivery_state(&batch), DeliveryState::Acknowledged);
}

#[tokio::test]
async fn a_batch_is_delivered_once_to_the_national_sync_account_and_is_overdue_all_the_same() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    p.approved_dossier(PID_A).await;
    let director = p.director().await;
    let national = p.national_sync().await;
    p.set_today(d(2026, 4, 1));
    assert_eq!(
        batch_rule(p.wf.record_delivery(&national, 1).await.unwrap_err()),
        BatchRule::UnknownBatch(1)
    );
    let range = p.wf.batch_range().await.unwrap();
    p.wf.seal_batch(&director.actor, signed(statement(&range), &director))
        .await
        .unwrap();
    // The director reading the feed delivers nothing.
    assert_eq!(
        batch_rule(p.wf.record_delivery(&director.actor, 1).await.unwrap_err()),
        BatchRule::NotNationalSync(director.actor.account_id.clone())
    );
    // Two requests at once append one event between them.
    let (first, second) = tokio::join!(
        p.wf.record_delivery(&national, 1),
        p.wf.record_delivery(&national, 1)
    );
    let appended: Vec<_> = [first.unwrap(), second.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(appended.len(), 1, "{appended:?}");
    assert_eq!(appended[0].stream, "sync-1");
    assert_eq!(p.wf.record_delivery(&national, 1).await.unwrap(), None);
    let events = p.events("sync-1").await;
    assert_eq!(events.len(), 2);
    assert!(matches!(
        &events[1],
        DomainEvent::BatchDelivered(e) if e.sequence == 1 && e.destination == national.account_id
    ));
    let batch = p.wf.sealed_batch(1).await.unwrap().unwrap();
    assert_eq!(batch.delivered_on, Some(d(2026, 4, 1)));
    assert_eq!(p.wf.delivery_state(&batch), DeliveryState::Delivered);
    // Delivered is no receipt: past the due day it is overdue.
    p.set_today(d(2026, 4, 9));
    assert_eq!(p.wf.delivery_state(&batch), DeliveryState::Overdue);
    p.wf.acknowledge_batch(&national, 1, "BNV-9").await.unwrap();
    let batch = p.wf.sealed_batch(1).await.unwrap().unwrap();
    assert_eq!(p.wf.delivery_state(&batch), DeliveryState::Acknowledged);
    assert_eq!(p.wf.record_delivery(&national, 1).await.unwrap(), None);
    assert_eq!(p.stream("sync-1").await.len(), 3);
}

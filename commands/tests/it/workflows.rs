//! The regulated workflows end to end, through the command handlers on a
//! real SQLite store. Each test is named after the rule it checks.

use hoso_commands::credentials::PasswordRejection;
use hoso_commands::testkit::*;
use hoso_commands::workflows::{
    AcceptTransfer, Approve, ChangeDepartment, ChangeStatus, Declare, ForwardTransfer,
    ImportDossier, InitiateTransfer, RecordDecision, RejectTransfer, Review,
};
use hoso_commands::workflows::{AccessRule, Actor, CommandError, IssueAccount, Receipt, ScopeRule};
use hoso_domain::account::{AccountChange, AccountKind, LockReason};
use hoso_domain::dossier::{
    DossierRule, EmploymentStatus, RankChangeKind, ReviewState, StateDecision, TransferKind,
};
use hoso_domain::org::{OrgChange, OrgCommand};
use hoso_domain::profile::Profile;
use hoso_ledger::EventStore;
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};

const PID: &str = "033190001234";
const PID2: &str = "033090004321";

fn dossier_rule(e: CommandError) -> DossierRule {
    match e {
        CommandError::Dossier(r) => r.rule,
        other => panic!("expected a dossier rule, got {other:?}"),
    }
}

fn access_rule(e: CommandError) -> AccessRule {
    match e {
        CommandError::Access(r) => r.rule,
        other => panic!("expected an access rule, got {other:?}"),
    }
}

fn scope_rule(e: CommandError) -> ScopeRule {
    match e {
        CommandError::Scope(r) => r.rule,
        other => panic!("expected a scope rule, got {other:?}"),
    }
}

fn rank() -> StateDecision {
    StateDecision::Rank {
        kind: RankChangeKind::Promoted,
        rank_code: "V.08.05.12".into(),
        rank_name: "Điều dưỡng hạng III".into(),
    }
}

/// The dossier once `signer` signed it with `receipt`: approved at that
/// revision, the last approval by `signer` in their own right.
async fn assert_signed_by(p: &Province, id: &str, signer: &Head, receipt: &Receipt) {
    let dos = p.wf.load_dossier(id).await.unwrap().unwrap();
    assert_eq!(dos.workflow, ReviewState::Approved);
    assert_eq!(dos.revision, receipt.revision);
    let last = dos.approvals.last().unwrap();
    assert_eq!(last.signer, signer.actor.account_id);
    assert_eq!(last.delegated_from, None);
}

/// The heads the handlers name as approvers of the dossier.
async fn approvers(p: &Province, id: &str) -> Vec<String> {
    p.wf.approvers_of(id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.account_id)
        .collect()
}

#[tokio::test]
async fn bt_4_4_issued_password_must_be_changed_before_anything_else() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let (id, _) =
        p.wf.issue_account(
            &p.admin,
            IssueAccount {
                kind: AccountKind::Specialist,
                username: "yte.moi".into(),
                org_code: HEALTH.into(),
                person_id: None,
                display_name: "Trần Văn Bình".into(),
                birth_date: None,
            },
        )
        .await
        .unwrap();
    p.wf.account(
        &p.admin,
        &id,
        AccountChange::Grant {
            org_code: HEALTH.into(),
            right: AccessRight::Update,
            reason: "phân công".into(),
            decision: None,
        },
    )
    .await
    .unwrap();
    p.wf.issue_password(&p.admin, &id, "Cap-Moi#2026!x")
        .await
        .unwrap();
    let err =
        p.wf.open_dossier(&Actor::new(&id), p.opening(PID, HOSPITAL))
            .await
            .unwrap_err();
    assert_eq!(
        access_rule(err),
        AccessRule::PasswordChangeRequired(id.clone())
    );
    p.wf.change_password(&id, "Cap-Moi#2026!x", "Cua-Toi#2026!y")
        .await
        .unwrap();
    p.wf.open_dossier(&Actor::new(&id), p.opening(PID, HOSPITAL))
        .await
        .unwrap();
    // The log knows a password was issued and changed, and by whom; never the password.
    let events = p.events(&format!("account-{id}")).await;
    let facts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            DomainEvent::PasswordChanged(c) => Some((c.kind(), c.changed_by.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(facts.len(), 2);
    assert_eq!(facts[0].1, p.admin.account_id);
    assert_eq!(facts[1].1, id);
}

#[tokio::test]
async fn dt_10_issued_and_changed_passwords_follow_the_complexity_rules() {
    let p = Province::new("dong-thap", d(2026, 3, 2)).await;
    let err =
        p.wf.issue_password(&p.admin, &p.health_focal.account_id, "short#1A")
            .await
            .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Password(PasswordRejection::TooShort { .. })
    ));
    let err =
        p.wf.change_password(
            &p.health_focal.account_id,
            "Cua-Toi#2026!y",
            "Xx#9yte.tochuc-2026",
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Password(PasswordRejection::ContainsPersonalData { what: "username" })
    ));
    let err =
        p.wf.change_password(
            &p.health_focal.account_id,
            "Cua-Toi#2026!y",
            "Cua-Toi#2026!y",
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Password(PasswordRejection::Unchanged)
    ));
}

#[tokio::test]
async fn hy_4_5_one_personal_account_per_person() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let dossier = p.open(PID, HOSPITAL, &p.health_focal).await;
    let first = p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    let err =
        p.wf.issue_account(
            &p.health_focal,
            IssueAccount {
                kind: AccountKind::Personal,
                username: "another.name".into(),
                org_code: HOSPITAL.into(),
                person_id: Some(PID.into()),
                display_name: "Nguyễn Thị Hương".into(),
                birth_date: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        scope_rule(err),
        ScopeRule::PersonalAccountTaken(first.account_id)
    );
    assert_eq!(p.wf.dossier_of_person(PID).await.unwrap(), Some(dossier));
}

#[tokio::test]
async fn identification_number_opens_one_dossier_and_must_be_well_formed() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let first = p.open(PID, HOSPITAL, &p.health_focal).await;
    let err =
        p.wf.open_dossier(&p.education_focal, p.opening(PID, SCHOOL))
            .await
            .unwrap_err();
    assert_eq!(scope_rule(err), ScopeRule::PersonIdTaken(first));
    for bad in ["03319000123", "999190001234", "033290001234"] {
        let err =
            p.wf.open_dossier(&p.health_focal, p.opening(bad, HOSPITAL))
                .await
                .unwrap_err();
        assert!(
            matches!(dossier_rule(err), DossierRule::BadPersonId(_)),
            "{bad}"
        );
    }
    // A refused opening claimed nothing: the well-formed number is still free.
    p.open(PID2, HOSPITAL, &p.health_focal).await;
}

#[tokio::test]
async fn dl_12_2_each_operation_needs_its_right_over_the_unit() {
    let p = Province::new("dak-lak", d(2026, 3, 2)).await;
    let reader = staff(
        &p.wf,
        &p.admin,
        "yte.xem",
        HEALTH,
        AccountKind::Specialist,
        Some(AccessRight::Access),
    )
    .await;
    let err =
        p.wf.open_dossier(&reader, p.opening(PID, HOSPITAL))
            .await
            .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::InsufficientRight {
            needed: AccessRight::Update,
            held: Some(AccessRight::Access),
            ..
        }
    ));
    // Scope is hierarchical (DL 6): health's right does not reach the school.
    let err =
        p.wf.open_dossier(&p.health_focal, p.opening(PID, SCHOOL))
            .await
            .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::InsufficientRight { held: None, .. }
    ));
    // ...but reaches the hospital below the department.
    p.open(PID, HOSPITAL, &p.health_focal).await;
}

#[tokio::test]
async fn hy_5_1_no_one_grants_more_than_they_hold() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let clerk = staff(
        &p.wf,
        &p.admin,
        "yte.vanthu",
        HEALTH,
        AccountKind::Specialist,
        None,
    )
    .await;
    let err =
        p.wf.account(
            &p.health_focal,
            &clerk.account_id,
            AccountChange::Grant {
                org_code: HEALTH.into(),
                right: AccessRight::Admin,
                reason: "tự cấp".into(),
                decision: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::Escalation { .. }));
    // Nor to itself.
    let err =
        p.wf.account(
            &p.health_focal,
            &p.health_focal.account_id,
            AccountChange::Expand {
                org_code: HEALTH.into(),
                right: AccessRight::Admin,
                reason: "tự nâng quyền".into(),
                decision: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::Escalation { .. }));
}

#[tokio::test]
async fn hy_10_3_review_locks_declaration() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let person = p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&person, &id, PID).await;
    // The person cannot review their own declaration.
    let err =
        p.wf.review(&person, Review::verify(&id, "tự duyệt"))
            .await
            .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::SelfReview | AccessRule::InsufficientRight { .. }
    ));
    p.wf.review(&p.health_focal, Review::verify(&id, "khớp"))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    let err =
        p.wf.declare(
            &person,
            Declare::new(&id, "residence", vec![f("8", "Hưng Yên", 0)]),
        )
        .await
        .unwrap_err();
    assert_eq!(dossier_rule(err), DossierRule::DeclarationLocked("locked"));
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.workflow, ReviewState::Locked);
}

#[tokio::test]
async fn hy_15_6_a_returned_declaration_says_why_and_can_be_corrected() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let person = p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&person, &id, PID).await;
    let err =
        p.wf.review(
            &p.health_focal,
            Review::send_back(&id, vec!["identity".into()], vec!["  ".into()]),
        )
        .await
        .unwrap_err();
    assert_eq!(dossier_rule(err), DossierRule::ReasonsRequired);
    p.wf.review(
        &p.health_focal,
        Review::send_back(
            &id,
            vec![],
            vec!["Ngày sinh không khớp giấy khai sinh".into()],
        ),
    )
    .await
    .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.workflow, ReviewState::Returned);
    assert_eq!(
        dos.returned_reasons,
        vec!["Ngày sinh không khớp giấy khai sinh".to_owned()]
    );
    p.declare_basics(&person, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, "đã sửa"))
        .await
        .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.workflow, ReviewState::Verified);
}

#[tokio::test]
async fn new_dossier_cannot_be_verified_without_identity_and_recruitment() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.wf.declare(
        &p.health_focal,
        Declare::new(&id, "residence", vec![f("8", "Hưng Yên", 0)]),
    )
    .await
    .unwrap();
    let err =
        p.wf.review(&p.health_focal, Review::verify(&id, ""))
            .await
            .unwrap_err();
    assert_eq!(dossier_rule(err), DossierRule::SectionMissing("identity"));
}

#[tokio::test]
async fn approval_signature_names_the_exact_revision_and_hash() {
    let p = Province::new("national", d(2026, 3, 27)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let person = p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&person, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    let stale = p.wf.approval_request(&id).await.unwrap();
    // A decision recorded meanwhile moves the dossier on: the signature no
    // longer covers what is there.
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: rank(),
            effective: d(2026, 3, 1),
            document: doc("5/QĐ-SYT", d(2026, 3, 20)),
        },
    )
    .await
    .unwrap();
    use ed25519_dalek::Signer;
    let sig = p.health_head.key.sign(&stale.digest).to_bytes().to_vec();
    let err =
        p.wf.approve(
            &p.health_head.actor,
            Approve {
                dossier_id: String::from(&id),
                signature: hoso_commands::workflows::ApprovalSignature {
                    revision: stale.revision,
                    stream_hash: stale.stream_hash,
                    key_id: p.health_head.key_id.clone(),
                    signature: sig,
                },
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        dossier_rule(err),
        DossierRule::StaleApproval { .. }
    ));
    // Someone else's key over the right digest does not verify either.
    let req = p.wf.approval_request(&id).await.unwrap();
    let forged = p.education_head.key.sign(&req.digest).to_bytes().to_vec();
    let err =
        p.wf.approve(
            &p.health_head.actor,
            Approve {
                dossier_id: String::from(&id),
                signature: hoso_commands::workflows::ApprovalSignature {
                    revision: req.revision,
                    stream_hash: req.stream_hash,
                    key_id: p.health_head.key_id.clone(),
                    signature: forged,
                },
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(dossier_rule(err), DossierRule::BadSignature(_)));
    let receipt = p.sign(&p.health_head, &id).await.unwrap();
    assert!(
        receipt.warnings.is_empty(),
        "27 March is in the last-5-days window"
    );
    // The stored signature verifies against the stored hash at the revision it names.
    let stored = p.stream(&format!("dossier-{id}")).await;
    let approval = p
        .events(&format!("dossier-{id}"))
        .await
        .into_iter()
        .find_map(|e| match e {
            DomainEvent::ApprovalSigned(a) => Some(a),
            _ => None,
        })
        .unwrap();
    let at = &stored[approval.revision as usize];
    assert_eq!(approval.stream_hash, at.hash.to_vec());
    let digest = hoso_domain::signing::approval_digest(
        &format!("dossier-{id}"),
        approval.revision,
        &at.hash,
    );
    hoso_domain::signing::verify(
        &p.health_head.key.verifying_key().to_bytes(),
        &digest,
        &approval.signature,
    )
    .unwrap();
}

#[tokio::test]
async fn dt_11_department_head_approves_its_own_units_staff_only() {
    let p = Province::new("dong-thap", d(2026, 3, 27)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    assert_eq!(
        approvers(&p, &id).await,
        vec![p.health_head.actor.account_id.clone()]
    );
    let err = p.sign(&p.education_head, &id).await.unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::NotApprover { .. }));
    let r = p.sign(&p.health_head, &id).await.unwrap();
    assert_signed_by(&p, &id, &p.health_head, &r).await;
}

#[tokio::test]
async fn kt_8_1_a_delegated_deputy_signs_within_the_delegation() {
    let p = Province::new("kon-tum", d(2026, 3, 27)).await;
    let deputy = signer(
        &p.wf,
        &p.admin,
        "yte.phogiamdoc",
        HEALTH,
        AccountKind::AgencyHead,
        None,
        9,
        d(2026, 3, 27),
    )
    .await;
    let id = p.locked_dossier(PID, SCHOOL, &p.education_focal).await;
    // Health's deputy has no power over education's school without delegation.
    let err = p.sign(&deputy, &id).await.unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::NotApprover { .. }));
    // Education's head delegates to a deputy of its own unit only.
    let err =
        p.wf.account(
            &p.education_head.actor,
            &p.education_head.actor.account_id,
            AccountChange::Delegate {
                delegation_id: "uq-1".into(),
                to_account: deputy.actor.account_id.clone(),
                valid_from: d(2026, 3, 1),
                valid_until: d(2026, 3, 31),
                org_codes: vec![],
                categories: vec![],
                decision: doc("3/QĐ-SGD", d(2026, 3, 1)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(scope_rule(err), ScopeRule::BadDelegate(_)));
    let edu_deputy = p.education_deputy(None).await;
    p.sign(&edu_deputy, &id).await.unwrap();
    let approval = p
        .events(&format!("dossier-{id}"))
        .await
        .into_iter()
        .find_map(|e| match e {
            DomainEvent::ApprovalSigned(a) => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(approval.signer, edu_deputy.actor.account_id);
    assert_eq!(
        approval.delegated_from.as_deref(),
        Some(p.education_head.actor.account_id.as_str())
    );
}

#[tokio::test]
async fn hy_delegation_is_refused_because_hung_yen_has_no_delegation_rule() {
    let p = Province::new("hung-yen", d(2026, 3, 23)).await;
    let deputy = signer(
        &p.wf,
        &p.admin,
        "gd.phogiamdoc",
        EDUCATION,
        AccountKind::Specialist,
        None,
        11,
        d(2026, 3, 23),
    )
    .await;
    p.wf.account(
        &p.education_head.actor,
        &p.education_head.actor.account_id,
        AccountChange::Delegate {
            delegation_id: "uq-1".into(),
            to_account: deputy.actor.account_id.clone(),
            valid_from: d(2026, 3, 1),
            valid_until: d(2026, 3, 31),
            org_codes: vec![],
            categories: vec![],
            decision: doc("3/QĐ-SGD", d(2026, 3, 1)),
        },
    )
    .await
    .unwrap();
    let id = p.open(PID, SCHOOL, &p.education_focal).await;
    p.declare_basics(&p.education_focal, &id, PID).await;
    p.wf.review(&p.education_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.education_focal, Review::lock(&id))
        .await
        .unwrap();
    let err = p.sign(&deputy, &id).await.unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::Delegation(_)));
    // The delegation stays recorded, but the head alone approves.
    let head =
        p.wf.load_account(&p.education_head.actor.account_id)
            .await
            .unwrap()
            .unwrap();
    assert!(head.delegations.contains_key("uq-1"));
    assert_eq!(
        approvers(&p, &id).await,
        vec![p.education_head.actor.account_id.clone()]
    );
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.workflow, ReviewState::Locked);
    assert!(dos.approvals.is_empty());
}

fn refusing(profile: &str) -> Profile {
    let text = Profile::source(profile)
        .unwrap()
        .replace("out_of_window = \"warn\"", "out_of_window = \"refuse\"");
    Profile::from_toml_str(profile, &text).unwrap()
}

#[tokio::test]
async fn hy_8_2_unit_heads_approve_on_days_20_to_22() {
    // The hospital's own head is a unit head (HY 8.2: public service units).
    let p = Province::with_profile(refusing("hung-yen"), d(2026, 3, 2)).await;
    let hospital_head = head(&p.wf, &p.admin, "bv.giamdoc", HOSPITAL, 7, d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    p.set_today(d(2026, 3, 24));
    let err = p.sign(&hospital_head, &id).await.unwrap_err();
    let rule = access_rule(err);
    assert!(matches!(rule, AccessRule::OutsideApprovalWindow { .. }));
    let text = rule.to_string();
    assert!(
        text.contains("HY 8.2") && text.contains("2026-03-20") && text.contains("2026-03-22"),
        "{text}"
    );
    p.set_today(d(2026, 3, 21));
    let receipt = p.sign(&hospital_head, &id).await.unwrap();
    assert!(receipt.warnings.is_empty());
}

#[tokio::test]
async fn hy_8_1_department_heads_approve_on_days_23_to_25_and_warn_outside() {
    // Shipped profiles warn: the approval stands, the warning says why.
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    let receipt = p.sign(&p.health_head, &id).await.unwrap();
    assert_eq!(receipt.warnings.len(), 1);
    assert!(
        receipt.warnings[0].contains("HY 8.1"),
        "{:?}",
        receipt.warnings
    );
}

#[tokio::test]
async fn bt_7_1_approval_in_the_last_five_days_of_the_month() {
    let p = Province::with_profile(refusing("binh-thuan"), d(2026, 2, 20)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    let err = p.sign(&p.health_head, &id).await.unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::OutsideApprovalWindow { .. }
    ));
    p.set_today(d(2026, 2, 24)); // 24–28 February are the last five days
    let r = p.sign(&p.health_head, &id).await.unwrap();
    assert!(r.warnings.is_empty());
    assert_signed_by(&p, &id, &p.health_head, &r).await;
}

#[tokio::test]
async fn bt_6_3_change_after_approval_needs_digitised_proof_and_old_version_stays_in_force() {
    let p = Province::new("binh-thuan", d(2026, 3, 26)).await;
    let (id, person) = p.approved_dossier(PID).await;
    let training = vec![f("27.c1", "Đại học Y Hà Nội", 1), f("27.c5", "Thạc sĩ", 1)];
    let err =
        p.wf.declare(&person, Declare::new(&id, "training", training.clone()))
            .await
            .unwrap_err();
    assert!(matches!(
        dossier_rule(err),
        DossierRule::ProofRequired { .. }
    ));
    p.wf.declare(
        &person,
        Declare::new(&id, "training", training).with_attachments(vec![[7; 32]]),
    )
    .await
    .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert!(
        dos.section("training").is_none(),
        "the change is pending, not in force"
    );
    assert!(dos.pending.contains_key("training"));
    assert!(
        dos.section("identity").is_some(),
        "the approved version stays in force"
    );
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    p.sign(&p.health_head, &id).await.unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert!(dos.section("training").is_some());
    assert_eq!(dos.approvals.len(), 2);
}

#[tokio::test]
async fn bt_6_3_state_decisions_need_their_digitised_decision() {
    let p = Province::new("binh-thuan", d(2026, 3, 26)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let err =
        p.wf.record_decision(
            &p.health_focal,
            RecordDecision {
                dossier_id: String::from(&id),
                decision: rank(),
                effective: d(2026, 3, 1),
                document: paper_only("9/QĐ-SYT", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        dossier_rule(err),
        DossierRule::ProofRequired { .. }
    ));
    // Effective dates may lie in the past; decision dates may not lie ahead.
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: rank(),
            effective: d(2025, 1, 1),
            document: doc("9/QĐ-SYT", d(2026, 3, 2)),
        },
    )
    .await
    .unwrap();
    let err =
        p.wf.record_decision(
            &p.health_focal,
            RecordDecision {
                dossier_id: String::from(&id),
                decision: rank(),
                effective: d(2026, 4, 1),
                document: doc("10/QĐ-SYT", d(2026, 4, 1)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        dossier_rule(err),
        DossierRule::DecisionInFuture { .. }
    ));
}

#[tokio::test]
async fn dl_10_1_move_within_the_agency_stays_inside_it() {
    let p = Province::new("dak-lak", d(2026, 3, 2)).await;
    let opening = hoso_commands::workflows::OpenDossier {
        employing_unit: HEALTH_DIV_A.into(),
        ..p.opening(PID, HEALTH)
    };
    let (id, _) = p.wf.open_dossier(&p.health_focal, opening).await.unwrap();
    p.wf.change_department(
        &p.health_focal,
        ChangeDepartment {
            dossier_id: String::from(&id),
            to: String::from(HEALTH_DIV_B),
            effective: d(2026, 3, 2),
            document: doc("7/QĐ-SYT", d(2026, 3, 2)),
        },
    )
    .await
    .unwrap();
    let err =
        p.wf.change_department(
            &p.health_focal,
            ChangeDepartment {
                dossier_id: String::from(&id),
                to: String::from(SCHOOL),
                effective: d(2026, 3, 2),
                document: doc("8/QĐ-SYT", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(scope_rule(err), ScopeRule::NotSameAgency { .. }));
    // A transfer is for another agency; inside one it is a move (DL 10.1).
    let err =
        p.wf.initiate_transfer(
            &p.health_focal,
            InitiateTransfer {
                dossier_id: String::from(&id),
                kind: TransferKind::Transfer,
                to: String::from(HEALTH_DIV_A),
                effective: d(2026, 3, 2),
                document: doc("20/QĐ-UBND", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(scope_rule(err), ScopeRule::SameAgency { .. }));
    let events = p.events(&format!("dossier-{id}")).await;
    let due = events.iter().find_map(|e| match e {
        DomainEvent::ObligationOpened(o) if o.obligation == "transfer_within_agency" => {
            Some(o.clone())
        }
        _ => None,
    });
    let due = due.expect("DL 10.1 sets 2 working days");
    assert_eq!(due.citation, "DL 10.1");
    // Monday 2 March + 2 working days = Wednesday 4 March.
    assert_eq!(due.due.unwrap().day, 4);
}

#[tokio::test]
async fn dl_10_2_transfer_needs_scanned_decision_then_send_accept_forward() {
    let p = Province::new("dak-lak", d(2026, 3, 2)).await;
    let (id, person) = p.approved_dossier(PID).await;
    let err =
        p.wf.initiate_transfer(
            &p.health_focal,
            InitiateTransfer {
                dossier_id: String::from(&id),
                kind: TransferKind::Transfer,
                to: String::from(EDUCATION),
                effective: d(2026, 3, 2),
                document: paper_only("20/QĐ-UBND", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(dossier_rule(err), DossierRule::ScannedDecisionRequired);
    let (transfer, _) =
        p.wf.initiate_transfer(
            &p.health_focal,
            InitiateTransfer {
                dossier_id: String::from(&id),
                kind: TransferKind::Transfer,
                to: String::from(EDUCATION),
                effective: d(2026, 3, 2),
                document: doc("20/QĐ-UBND", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap();
    // Only the receiver accepts.
    let err =
        p.wf.accept_transfer(
            &p.health_focal,
            AcceptTransfer {
                dossier_id: String::from(&id),
                transfer_id: String::from(&transfer),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::InsufficientRight { .. }
    ));
    p.wf.accept_transfer(
        &p.education_focal,
        AcceptTransfer {
            dossier_id: String::from(&id),
            transfer_id: String::from(&transfer),
        },
    )
    .await
    .unwrap();
    let err =
        p.wf.forward_transfer(
            &p.education_focal,
            ForwardTransfer {
                dossier_id: String::from(&id),
                transfer_id: String::from(&transfer),
                to: String::from(HOSPITAL),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(scope_rule(err), ScopeRule::OutsideReceiver { .. }));
    p.wf.forward_transfer(
        &p.education_focal,
        ForwardTransfer {
            dossier_id: String::from(&id),
            transfer_id: String::from(&transfer),
            to: String::from(SCHOOL),
        },
    )
    .await
    .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(
        (dos.managing_unit.as_str(), dos.employing_unit.as_str()),
        (EDUCATION, SCHOOL)
    );
    // BT 11.3 / HY 11.1: the old unit's access ended, the new unit's began.
    let err =
        p.wf.record_decision(
            &p.health_focal,
            RecordDecision {
                dossier_id: String::from(&id),
                decision: rank(),
                effective: d(2026, 3, 1),
                document: doc("9/QĐ-SYT", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::InsufficientRight { .. }
    ));
    p.wf.record_decision(
        &p.education_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: rank(),
            effective: d(2026, 3, 1),
            document: doc("9/QĐ-SGD", d(2026, 3, 2)),
        },
    )
    .await
    .unwrap();
    // The personal account moved with the dossier.
    let acc =
        p.wf.load_account(&person.account_id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(acc.org_code, EDUCATION);
    // Sending was on time; receiving is closed.
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert!(
        dos.obligations
            .values()
            .all(|o| o.obligation != "receive_inter_agency_transfer")
    );
}

#[tokio::test]
async fn kt_11_2_a_rejected_transfer_leaves_the_dossier_where_it_was() {
    let p = Province::new("kon-tum", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let (transfer, _) =
        p.wf.initiate_transfer(
            &p.health_focal,
            InitiateTransfer {
                dossier_id: String::from(&id),
                kind: TransferKind::Reassignment,
                to: String::from(EDUCATION),
                effective: d(2026, 3, 2),
                document: doc("20/QĐ-UBND", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap();
    let err =
        p.wf.change_status(
            &p.health_focal,
            ChangeStatus {
                dossier_id: String::from(&id),
                status: EmploymentStatus::Retired,
                effective: d(2026, 3, 2),
                document: doc("1/QĐ-SYT", d(2026, 3, 2)),
                note: String::from(""),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(dossier_rule(err), DossierRule::InTransit { .. }));
    p.wf.reject_transfer(
        &p.education_focal,
        RejectTransfer {
            dossier_id: String::from(&id),
            transfer_id: String::from(&transfer),
            reason: String::from("Không còn biên chế"),
        },
    )
    .await
    .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.managing_unit, HOSPITAL);
    assert!(dos.transfer.is_none());
}

#[tokio::test]
async fn bt_11_1_arrival_from_another_province_is_imported_by_so_noi_vu() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let sections = vec![(
        "identity".to_owned(),
        vec![
            f("1", "LÊ VĂN TÂM", 0),
            f("3a", "1985", 0),
            f("3b", "Nam", 0),
            f("25a", PID2, 0),
        ],
    )];
    let err =
        p.wf.import_dossier(
            &p.health_focal,
            ImportDossier {
                source_system: "csdlqg".into(),
                source_record_id: String::from("QG-778"),
                source_digest: None,
                person_id: String::from(PID2),
                full_name: String::from("Lê Văn Tâm"),
                category: PersonnelCategory::CongChuc,
                managing_unit: String::from(HEALTH),
                sections: sections.clone(),
                handed_over_on: d(2026, 2, 27),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::SystemAdminOnly(_)));
    let (id, _) =
        p.wf.import_dossier(
            &p.admin,
            ImportDossier {
                source_system: "csdlqg".into(),
                source_record_id: String::from("QG-778"),
                source_digest: None,
                person_id: String::from(PID2),
                full_name: String::from("Lê Văn Tâm"),
                category: PersonnelCategory::CongChuc,
                managing_unit: String::from(HEALTH),
                sections,
                handed_over_on: d(2026, 2, 27),
            },
        )
        .await
        .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(
        dos.workflow,
        ReviewState::Declaring,
        "imported data is reviewed like a declaration"
    );
    assert_eq!(p.wf.dossier_of_person(PID2).await.unwrap(), Some(id));
}

#[tokio::test]
async fn kt_11_3_status_changes_archive_and_only_lawful_ones_follow() {
    let p = Province::new("kon-tum", d(2026, 3, 2)).await;
    let (id, person) = p.approved_dossier(PID).await;
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&id),
            status: EmploymentStatus::Deceased,
            effective: d(2026, 2, 20),
            document: doc("2/TB-SYT", d(2026, 2, 25)),
            note: String::from("từ trần"),
        },
    )
    .await
    .unwrap();
    // A deceased person cannot be transferred, changed or revived.
    let err =
        p.wf.initiate_transfer(
            &p.health_focal,
            InitiateTransfer {
                dossier_id: String::from(&id),
                kind: TransferKind::Transfer,
                to: String::from(EDUCATION),
                effective: d(2026, 3, 2),
                document: doc("20/QĐ-UBND", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        dossier_rule(err),
        DossierRule::Archived(EmploymentStatus::Deceased)
    ));
    let err =
        p.wf.change_status(
            &p.health_focal,
            ChangeStatus {
                dossier_id: String::from(&id),
                status: EmploymentStatus::Active,
                effective: d(2026, 3, 2),
                document: doc("3/QĐ-SYT", d(2026, 3, 2)),
                note: String::from(""),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        dossier_rule(err),
        DossierRule::StatusTransition { .. }
    ));
    // BT 11.2: the personal account's write access ended.
    let acc =
        p.wf.load_account(&person.account_id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(acc.locked, Some(LockReason::HolderLeft));
    // Nothing was deleted: the approved sections are still there.
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert!(dos.is_archived() && dos.section("identity").is_some());
    // KT 11.3: 15 calendar days from the decision's effect.
    let rec = p
        .events(&format!("dossier-{id}"))
        .await
        .into_iter()
        .find_map(|e| match e {
            DomainEvent::ObligationOpened(o) if o.obligation == "record_status_change" => Some(o),
            _ => None,
        })
        .unwrap();
    assert_eq!(rec.citation, "KT 11.3");
    let due = rec.due.unwrap();
    // 20 February + 15 days is Saturday 7 March; a limit that ends on a
    // day off runs to the next working day.
    assert_eq!((due.month, due.day), (3, 9));
}

#[tokio::test]
async fn hy_11_3_retired_person_may_later_be_recorded_deceased() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&id),
            status: EmploymentStatus::Retired,
            effective: d(2026, 3, 1),
            document: doc("4/QĐ-SYT", d(2026, 2, 1)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.status, EmploymentStatus::Retired);
    assert!(dos.is_archived());
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&id),
            status: EmploymentStatus::Deceased,
            effective: d(2026, 3, 2),
            document: doc("5/TB-SYT", d(2026, 3, 2)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.status, EmploymentStatus::Deceased);
    assert!(dos.is_archived());
}

#[tokio::test]
async fn dl_5_5_merger_moves_dossiers_and_accounts_citing_the_decision() {
    let p = Province::new("dak-lak", d(2026, 3, 2)).await;
    let (id, person) = p.approved_dossier(PID).await;
    let hospital_admin = staff(
        &p.wf,
        &p.admin,
        "bv.quantri",
        HOSPITAL,
        AccountKind::AgencyAdmin,
        Some(AccessRight::Admin),
    )
    .await;
    p.wf.org(
        &p.admin,
        OrgCommand {
            code: HOSPITAL.into(),
            decision: doc("99/QĐ-UBND", d(2026, 3, 1)),
            change: OrgChange::MergeInto {
                successor: HEALTH.into(),
                effective: d(2026, 3, 1),
            },
        },
    )
    .await
    .unwrap();
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(
        (dos.managing_unit.as_str(), dos.employing_unit.as_str()),
        (HEALTH, HEALTH)
    );
    let moved = p
        .stream(&format!("dossier-{id}"))
        .await
        .into_iter()
        .find(|e| e.event_type == "dossier.ManagingUnitReassigned")
        .unwrap();
    assert_eq!(moved.source_document.unwrap().number, "99/QĐ-UBND");
    for acc in [&person, &hospital_admin] {
        let a = p.wf.load_account(&acc.account_id).await.unwrap().unwrap();
        assert_eq!(a.org_code, HEALTH);
        assert!(
            !a.grants.contains_key(HOSPITAL),
            "rights over the merged unit are revoked"
        );
    }
    // Running the completion again finds nothing left to do.
    assert_eq!(
        p.wf.complete_restructuring(&p.admin, HOSPITAL)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn concurrent_commands_on_one_dossier_one_wins_the_other_conflicts() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let rev = p.wf.load_dossier(&id).await.unwrap().unwrap().revision;
    // Both callers saw the dossier at `rev` and send it as their If-Match.
    let declaring = |value: &str| {
        p.wf.declare(
            &p.health_focal,
            Declare::new(
                &id,
                "identity",
                vec![
                    f("1", value, 0),
                    f("3a", "17/05/1990", 0),
                    f("3b", "Nữ", 0),
                    f("25a", PID, 0),
                ],
            )
            .expecting(rev),
        )
    };
    let (a, b) = tokio::join!(declaring("NGUYỄN THỊ HƯƠNG"), declaring("NGUYỄN THỊ HOA"));
    let (winner, receipt, loser) = match (a, b) {
        (Ok(r), Err(e)) => ("NGUYỄN THỊ HƯƠNG", r, e),
        (Err(e), Ok(r)) => ("NGUYỄN THỊ HOA", r, e),
        (Ok(_), Ok(_)) => panic!("both commands expecting revision {rev} succeeded"),
        (Err(a), Err(b)) => panic!("both commands failed: {a}; {b}"),
    };
    assert!(
        matches!(
            loser,
            CommandError::Conflict {
                expected: hoso_ledger::ExpectedRevision::Exact(e),
                actual: Some(actual),
                ..
            } if e == rev && actual == receipt.revision
        ),
        "{loser:?}"
    );
    // A caller still holding `rev` after the race is refused by its If-Match
    // before anything is written.
    let stale = declaring("NGUYỄN THỊ HẠNH").await.unwrap_err();
    assert!(
        matches!(stale, CommandError::Conflict { actual: Some(actual), .. } if actual == receipt.revision),
        "{stale:?}"
    );
    // The stream holds the winner's declaration, once, at rev + 1 (with
    // whatever else the same batch wrote), and nothing of the loser's.
    let dos = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(dos.revision, receipt.revision);
    let name = dos.pending["identity"].iter().find(|f| f.field_code == "1");
    assert_eq!(name.map(|f| f.value.as_str()), Some(winner));
    let stream = format!("dossier-{id}");
    let declared: Vec<(u64, String)> = p
        .stream(&stream)
        .await
        .iter()
        .filter_map(
            |e| match hoso_ledger::typed::decode(&hoso_schemas::Registry::standard(), e) {
                Ok(DomainEvent::DeclarationSubmitted(d)) => {
                    Some((e.revision, d.fields[0].value.clone()))
                }
                _ => None,
            },
        )
        .collect();
    assert_eq!(declared, vec![(rev + 1, winner.to_owned())]);
    // Nothing half-written: the stream is a valid chain of whole batches.
    p.store
        .verify_stream(&format!("dossier-{id}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn bt_4_5_consent_needs_the_written_document_and_the_managing_authority() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    p.open(PID, HOSPITAL, &p.health_focal).await;
    let inspector = staff(
        &p.wf,
        &p.admin,
        "thanhtra.tinh",
        SNV,
        AccountKind::Specialist,
        None,
    )
    .await;
    let consent = |number: &str| AccountChange::GrantConsent {
        consent_id: format!("c-{number}"),
        subject_person_id: PID.into(),
        document: hoso_ledger::SourceDocument {
            number: number.into(),
            ..doc("x", d(2026, 3, 1))
        },
        expires: d(2026, 6, 30),
        section_codes: vec![],
    };
    // The focal point holds update, not admin, over the managing unit; and
    // no right over the inspector's unit, so the account is not even named.
    let err =
        p.wf.account(&p.health_focal, &inspector.account_id, consent("15/CV-SYT"))
            .await
            .unwrap_err();
    let refused = scope_rule(err);
    assert_eq!(
        refused,
        ScopeRule::UnknownAccount(inspector.account_id.clone())
    );
    // A person with no dossier here is refused alike: the refusal does not
    // tell whether, or where, a dossier exists.
    let nobody = match consent("16/CV-SYT") {
        AccountChange::GrantConsent {
            consent_id,
            document,
            expires,
            section_codes,
            ..
        } => AccountChange::GrantConsent {
            consent_id,
            subject_person_id: "001090000999".into(),
            document,
            expires,
            section_codes,
        },
        other => other,
    };
    let err =
        p.wf.account(&p.health_focal, &inspector.account_id, nobody)
            .await
            .unwrap_err();
    assert_eq!(scope_rule(err), refused);
    let err =
        p.wf.account(&p.admin, &inspector.account_id, consent(""))
            .await
            .unwrap_err();
    assert!(
        matches!(err, CommandError::Account(r) if r.rule == hoso_domain::account::AccountRule::ConsentDocumentRequired)
    );
    p.wf.account(&p.admin, &inspector.account_id, consent("15/CV-SYT"))
        .await
        .unwrap();
    let a =
        p.wf.load_account(&inspector.account_id)
            .await
            .unwrap()
            .unwrap();
    assert!(a.consents["c-15/CV-SYT"].in_force_on(d(2026, 6, 30)));
    assert!(!a.consents["c-15/CV-SYT"].in_force_on(d(2026, 7, 1)));
}

#[tokio::test]
async fn hy_10_3_locked_actor_accounts_cannot_act() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    p.wf.account(
        &p.admin,
        &p.health_focal.account_id,
        AccountChange::Lock {
            reason: LockReason::Security,
            note: "đăng nhập sai nhiều lần".into(),
        },
    )
    .await
    .unwrap();
    let err =
        p.wf.open_dossier(&p.health_focal, p.opening(PID, HOSPITAL))
            .await
            .unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::ActorLocked { .. }));
    p.wf.account(
        &p.admin,
        &p.health_focal.account_id,
        AccountChange::Unlock {
            reason: "đã xác minh".into(),
        },
    )
    .await
    .unwrap();
    p.open(PID, HOSPITAL, &p.health_focal).await;
}

/// Establishes a district People's Committee with one commune under the root.
async fn district_with_commune(p: &Province) -> (&'static str, &'static str) {
    const DISTRICT: &str = "000.40.00.H33";
    const COMMUNE: &str = "001.40.00.H33";
    for (code, name, kind, parent) in [
        (
            DISTRICT,
            "UBND huyện Châu Thành",
            hoso_domain::org::OrgUnitKind::PeoplesCommitteeDistrict,
            ROOT,
        ),
        (
            COMMUNE,
            "UBND xã An Hiệp",
            hoso_domain::org::OrgUnitKind::PeoplesCommitteeCommune,
            DISTRICT,
        ),
    ] {
        p.wf.org(
            &p.admin,
            OrgCommand {
                code: code.into(),
                decision: paper_only("2/QĐ-UBND", d(2020, 1, 1)),
                change: OrgChange::Establish {
                    name: name.into(),
                    kind,
                    parent: Some(parent.into()),
                    effective: d(2020, 1, 1),
                },
            },
        )
        .await
        .unwrap();
    }
    (DISTRICT, COMMUNE)
}

async fn locked_dossier(
    p: &Province,
    person_id: &str,
    unit: &str,
    category: PersonnelCategory,
    focal: &Actor,
) -> String {
    let opening = hoso_commands::workflows::OpenDossier {
        category,
        ..p.opening(person_id, unit)
    };
    let (id, _) = p.wf.open_dossier(focal, opening).await.unwrap();
    p.declare_basics(focal, &id, person_id).await;
    p.wf.review(focal, Review::verify(&id, "")).await.unwrap();
    p.wf.review(focal, Review::lock(&id)).await.unwrap();
    id
}

#[tokio::test]
async fn dt_11_district_chair_approves_commune_staff() {
    let p = Province::new("dong-thap", d(2026, 3, 27)).await;
    let (district, commune) = district_with_commune(&p).await;
    let chair = head(
        &p.wf,
        &p.admin,
        "huyen.chutich",
        district,
        21,
        d(2026, 3, 27),
    )
    .await;
    let focal = staff(
        &p.wf,
        &p.admin,
        "huyen.noivu",
        district,
        AccountKind::Specialist,
        Some(AccessRight::Update),
    )
    .await;
    let id = locked_dossier(&p, PID, commune, PersonnelCategory::CommuneCadre, &focal).await;
    let err = p.sign(&p.health_head, &id).await.unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::NotApprover { .. }));
    assert!(approvers(&p, &id).await.contains(&chair.actor.account_id));
    let r = p.sign(&chair, &id).await.unwrap();
    assert_signed_by(&p, &id, &chair, &r).await;
}

#[tokio::test]
async fn dt_11_1_department_heads_do_not_approve_cadres() {
    let p = Province::new("dong-thap", d(2026, 3, 27)).await;
    let id = locked_dossier(&p, PID, HEALTH, PersonnelCategory::CanBo, &p.health_focal).await;
    assert!(
        !approvers(&p, &id)
            .await
            .contains(&p.health_head.actor.account_id)
    );
    let err = p.sign(&p.health_head, &id).await.unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::NotApprover { .. }));
    let id = locked_dossier(
        &p,
        PID2,
        HEALTH,
        PersonnelCategory::CongChuc,
        &p.health_focal,
    )
    .await;
    let r = p.sign(&p.health_head, &id).await.unwrap();
    assert_signed_by(&p, &id, &p.health_head, &r).await;
}

#[tokio::test]
async fn dt_11_3_public_service_unit_heads_approve_public_employees_only() {
    let p = Province::new("dong-thap", d(2026, 3, 27)).await;
    let hospital_head = head(&p.wf, &p.admin, "bv.giamdoc", HOSPITAL, 7, d(2026, 3, 27)).await;
    let civil = locked_dossier(
        &p,
        PID,
        HOSPITAL,
        PersonnelCategory::CongChuc,
        &p.health_focal,
    )
    .await;
    let err = p.sign(&hospital_head, &civil).await.unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::NotApprover { .. }));
    let employee = locked_dossier(
        &p,
        PID2,
        HOSPITAL,
        PersonnelCategory::VienChuc,
        &p.health_focal,
    )
    .await;
    assert_eq!(
        approvers(&p, &employee).await,
        vec![
            hospital_head.actor.account_id.clone(),
            p.health_head.actor.account_id.clone()
        ]
    );
    let r = p.sign(&hospital_head, &employee).await.unwrap();
    assert_signed_by(&p, &employee, &hospital_head, &r).await;
    // The department above the hospital approves the civil servant.
    assert_eq!(
        approvers(&p, &civil).await,
        vec![p.health_head.actor.account_id.clone()]
    );
    let r = p.sign(&p.health_head, &civil).await.unwrap();
    assert_signed_by(&p, &civil, &p.health_head, &r).await;
}

/// For every profile: approving inside the window is silent, outside it
/// warns (all shipped profiles `warn`) citing the profile's own article.
async fn window_rows(
    profile: &str,
    inside: chrono::NaiveDate,
    outside: chrono::NaiveDate,
    citation: &str,
) {
    let p = Province::new(profile, outside).await;
    let a = locked_dossier(
        &p,
        PID,
        HEALTH,
        PersonnelCategory::CongChuc,
        &p.health_focal,
    )
    .await;
    let b = locked_dossier(
        &p,
        PID2,
        HEALTH,
        PersonnelCategory::CongChuc,
        &p.health_focal,
    )
    .await;
    let warned = p.sign(&p.health_head, &a).await.unwrap();
    assert_eq!(warned.warnings.len(), 1, "{profile}");
    assert!(
        warned.warnings[0].contains(citation),
        "{profile}: {:?}",
        warned.warnings
    );
    p.set_today(inside);
    let silent = p.sign(&p.health_head, &b).await.unwrap();
    assert!(
        silent.warnings.is_empty(),
        "{profile}: {:?}",
        silent.warnings
    );
}

#[tokio::test]
async fn kt_8_1_approval_window_last_five_days() {
    window_rows("kon-tum", d(2026, 4, 27), d(2026, 4, 24), "KT 8.1").await;
}

#[tokio::test]
async fn bt_7_1_approval_window_last_five_days_warns_outside() {
    window_rows("binh-thuan", d(2026, 4, 26), d(2026, 4, 10), "BT 7.1").await;
}

#[tokio::test]
async fn dt_12_approval_window_last_five_days() {
    window_rows("dong-thap", d(2026, 4, 30), d(2026, 4, 25), "DT 12").await;
}

#[tokio::test]
async fn hy_8_1_department_head_window_days_23_to_25() {
    window_rows("hung-yen", d(2026, 4, 23), d(2026, 4, 22), "HY 8.1").await;
}

#[tokio::test]
async fn dl_approval_window_follows_circular_06() {
    let profile = Profile::load("dak-lak").unwrap();
    let citation = profile
        .approval_window_rule(hoso_domain::profile::ApprovalLevel::DepartmentHead)
        .citation
        .clone();
    window_rows("dak-lak", d(2026, 4, 28), d(2026, 4, 2), &citation).await;
}

#[tokio::test]
async fn dl_15_7_lost_password_is_reissued_by_the_administrator() {
    let p = Province::new("dak-lak", d(2026, 3, 2)).await;
    let id = p.health_focal.account_id.clone();
    // Someone without admin right over the unit cannot reissue; one with no
    // right there at all is not even told the account exists.
    let err =
        p.wf.issue_password(&p.education_focal, &id, "Cap-Lai#2026!z")
            .await
            .unwrap_err();
    assert_eq!(scope_rule(err), ScopeRule::UnknownAccount(id.clone()));
    let err =
        p.wf.issue_password(&p.health_head.actor, &id, "Cap-Lai#2026!z")
            .await
            .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::InsufficientRight { .. }
    ));
    p.wf.issue_password(&p.admin, &id, "Cap-Lai#2026!z")
        .await
        .unwrap();
    // The old password is gone and the new one must be changed first (BT 4.4).
    assert_eq!(
        p.wf.check_credentials(&id, "Cua-Toi#2026!y").await.unwrap(),
        hoso_commands::credentials::PasswordCheck::Mismatch
    );
    let err =
        p.wf.open_dossier(&p.health_focal, p.opening(PID, HOSPITAL))
            .await
            .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::PasswordChangeRequired(_)
    ));
    let last = p.events(&format!("account-{id}")).await.pop().unwrap();
    assert!(matches!(
        last,
        DomainEvent::PasswordChanged(c) if c.kind() == hoso_domain::account::PasswordChangeKind::Reissued
    ));
}

#[tokio::test]
async fn bt_3_7_rights_are_granted_restricted_expanded_and_revoked() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let clerk = staff(
        &p.wf,
        &p.admin,
        "yte.nhanvien",
        HEALTH,
        AccountKind::Specialist,
        Some(AccessRight::Update),
    )
    .await;
    let change = |c: AccountChange| {
        let wf = &p.wf;
        let admin = &p.admin;
        let id = clerk.account_id.clone();
        async move { wf.account(admin, &id, c).await }
    };
    change(AccountChange::Restrict {
        org_code: HEALTH.into(),
        right: AccessRight::Access,
        reason: "chuyển việc".into(),
    })
    .await
    .unwrap();
    let err =
        p.wf.open_dossier(&clerk, p.opening(PID, HOSPITAL))
            .await
            .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::InsufficientRight { .. }
    ));
    let err = change(AccountChange::Restrict {
        org_code: HEALTH.into(),
        right: AccessRight::Update,
        reason: "".into(),
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, CommandError::Account(r) if matches!(r.rule, hoso_domain::account::AccountRule::WrongDirection { .. }))
    );
    change(AccountChange::Expand {
        org_code: HEALTH.into(),
        right: AccessRight::Update,
        reason: "giao lại".into(),
        decision: None,
    })
    .await
    .unwrap();
    p.wf.open_dossier(&clerk, p.opening(PID, HOSPITAL))
        .await
        .unwrap();
    change(AccountChange::Revoke {
        org_code: HEALTH.into(),
        reason: "nghỉ việc".into(),
    })
    .await
    .unwrap();
    let err =
        p.wf.open_dossier(&clerk, p.opening(PID2, HOSPITAL))
            .await
            .unwrap_err();
    assert!(matches!(
        access_rule(err),
        AccessRule::InsufficientRight { held: None, .. }
    ));
    // Personal accounts hold no rights over units (BT 4.5).
    let person = p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    let err =
        p.wf.account(
            &p.admin,
            &person.account_id,
            AccountChange::Grant {
                org_code: HOSPITAL.into(),
                right: AccessRight::Access,
                reason: "".into(),
                decision: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommandError::Account(r) if r.rule == hoso_domain::account::AccountRule::PersonalAccountHoldsNoRights)
    );
}

#[tokio::test]
async fn reconcile_finds_nothing_to_do_after_successful_commands() {
    let p = Province::new("hung-yen", d(2026, 3, 2)).await;
    let (id, _) = p.approved_dossier(PID).await;
    let (t, _) =
        p.wf.initiate_transfer(
            &p.health_focal,
            InitiateTransfer {
                dossier_id: String::from(&id),
                kind: TransferKind::Transfer,
                to: String::from(EDUCATION),
                effective: d(2026, 3, 2),
                document: doc("20/QĐ-UBND", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap();
    p.wf.accept_transfer(
        &p.education_focal,
        AcceptTransfer {
            dossier_id: String::from(&id),
            transfer_id: String::from(&t),
        },
    )
    .await
    .unwrap();
    p.wf.change_status(
        &p.education_focal,
        ChangeStatus {
            dossier_id: String::from(&id),
            status: EmploymentStatus::Resigned,
            effective: d(2026, 3, 2),
            document: doc("21/QĐ-SGD", d(2026, 3, 2)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();
    assert_eq!(p.wf.reconcile(&p.admin).await.unwrap(), 0);
}

#[tokio::test]
async fn a_revoked_signing_key_no_longer_signs() {
    let p = Province::new("national", d(2026, 3, 27)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, PID).await;
    p.wf.review(&p.health_focal, Review::verify(&id, ""))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    p.wf.account(
        &p.health_head.actor,
        &p.health_head.actor.account_id,
        AccountChange::RevokeKey {
            key_id: p.health_head.key_id.clone(),
            reason: "mất thiết bị ký".into(),
            effective: d(2026, 3, 27),
        },
    )
    .await
    .unwrap();
    let err = p.sign(&p.health_head, &id).await.unwrap_err();
    assert!(matches!(access_rule(err), AccessRule::KeyNotUsable { .. }));
}

#[tokio::test]
async fn dl_5_5_the_archive_moves_with_a_merged_unit() {
    let p = Province::new("dak-lak", d(2026, 3, 2)).await;
    let active = p.open(PID, HOSPITAL, &p.health_focal).await;
    let retired = p.open(PID2, HOSPITAL, &p.health_focal).await;
    p.wf.change_status(
        &p.health_focal,
        ChangeStatus {
            dossier_id: String::from(&retired),
            status: EmploymentStatus::Retired,
            effective: d(2026, 2, 1),
            document: doc("3/QĐ-SYT", d(2026, 1, 20)),
            note: String::from(""),
        },
    )
    .await
    .unwrap();
    p.wf.org(
        &p.admin,
        OrgCommand {
            code: HOSPITAL.into(),
            decision: doc("99/QĐ-UBND", d(2026, 3, 1)),
            change: OrgChange::MergeInto {
                successor: HEALTH.into(),
                effective: d(2026, 3, 1),
            },
        },
    )
    .await
    .unwrap();
    for id in [&active, &retired] {
        let dos = p.wf.load_dossier(id).await.unwrap().unwrap();
        assert_eq!(dos.managing_unit, HEALTH, "{id}");
    }
    // Still archived, and still closed to anything but a lawful status change.
    let err =
        p.wf.record_decision(
            &p.health_focal,
            RecordDecision {
                dossier_id: String::from(&retired),
                decision: rank(),
                effective: d(2026, 3, 1),
                document: doc("5/QĐ", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(dossier_rule(err), DossierRule::Archived(_)));
}

#[tokio::test]
async fn refusals_name_the_aggregate_and_its_revision() {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let err =
        p.wf.record_decision(
            &p.education_focal,
            RecordDecision {
                dossier_id: String::from(&id),
                decision: rank(),
                effective: d(2026, 3, 1),
                document: doc("5/QĐ", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    let revision = p.stream(&format!("dossier-{id}")).await.len() as u64 - 1;
    match &err {
        CommandError::Access(r) => {
            assert_eq!(r.stream.as_deref(), Some(format!("dossier-{id}").as_str()));
            assert_eq!(r.revision, Some(revision));
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("dossier-{id} at revision {revision}")),
        "{text}"
    );
    assert_eq!(err.citation().as_deref(), Some("DL 12.2, DL 6"));
    assert_eq!((err.family(), err.code()), ("access", "insufficient-right"));
}

#[tokio::test]
async fn bt_4_3_restricted_fields_are_sealed_before_they_reach_the_log() {
    let p = Province::new("national", d(2026, 3, 10)).await;
    let pid = "001190004321";
    let id = p.open(pid, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&p.health_focal, &id, pid).await;
    let declared = p
        .events(&format!("dossier-{id}"))
        .await
        .into_iter()
        .find_map(|e| match e {
            DomainEvent::DeclarationSubmitted(d) if d.section_code == "identity" => Some(d),
            _ => None,
        })
        .unwrap();
    let number = declared
        .fields
        .iter()
        .find(|f| f.field_code == "25a")
        .unwrap();
    assert!(number.value.is_empty(), "no plaintext in the payload");
    assert!(!number.sealed.is_empty());
    let opened =
        p.wf.keyring()
            .open_sealed(
                &id,
                &hoso_domain::restriction::seal_context("25a", 0),
                &number.sealed,
            )
            .unwrap();
    assert_eq!(opened, pid.as_bytes());
    // Bound to its place: the same ciphertext does not open as another field.
    assert!(
        p.wf.keyring()
            .open_sealed(
                &id,
                &hoso_domain::restriction::seal_context("1", 0),
                &number.sealed
            )
            .is_err()
    );
    // General fields stay in clear for the read side's statistics.
    let sex = declared
        .fields
        .iter()
        .find(|f| f.field_code == "3b")
        .unwrap();
    assert_eq!((sex.value.as_str(), sex.sealed.is_empty()), ("Nữ", true));
    // The chain covers the ciphertext: the log verifies with no key at all.
    p.store.verify_all(&|_| ()).await.unwrap();
}

#[tokio::test]
async fn bt_4_3_discipline_details_are_sealed_in_the_log() {
    use hoso_schemas::pb::dossier::{DisciplineBody, DisciplineForm};
    let p = Province::new("national", d(2026, 3, 20)).await;
    let pid = "001190004321";
    let id = p.open(pid, HOSPITAL, &p.health_focal).await;
    let reason = "Vi phạm quy định về thời giờ làm việc";
    p.wf.record_decision(
        &p.health_focal,
        RecordDecision {
            dossier_id: String::from(&id),
            decision: hoso_domain::dossier::StateDecision::Discipline {
                form: DisciplineForm::Reprimand,
                body: DisciplineBody::Government,
                reason: reason.into(),
                until: Some(d(2026, 12, 31)),
            },
            effective: d(2026, 3, 1),
            document: doc("9/QĐ-SYT", d(2026, 3, 20)),
        },
    )
    .await
    .unwrap();
    let imposed = p
        .events(&format!("dossier-{id}"))
        .await
        .into_iter()
        .find_map(|e| match e {
            DomainEvent::DisciplineImposed(d) => Some(d),
            _ => None,
        })
        .unwrap();
    assert!(imposed.reason.is_empty());
    let opened =
        p.wf.keyring()
            .open_sealed(
                &id,
                hoso_commands::workflows::DISCIPLINE_REASON_CONTEXT,
                &imposed.sealed_reason,
            )
            .unwrap();
    assert_eq!(opened, reason.as_bytes());
}

/// HY 5.1: failed logins arriving together each try to lock the account;
/// one locks it and the others find it locked, quietly (a refusal naming the
/// account would tell a real login name from a made-up one).
#[tokio::test]
async fn hy_5_1_parallel_failed_logins_lock_once_and_quietly() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let target = &p.health_focal.account_id;
    let tries = (0..16).map(|_| p.wf.lock_for_security(target, "5 failed logins"));
    let locked = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .filter(Option::is_some)
        .count();
    assert_eq!(locked, 1);
    // And one more, after the fact.
    assert!(
        p.wf.lock_for_security(target, "6 failed logins")
            .await
            .unwrap()
            .is_none()
    );
}

/// Issue 14: reservation streams are named by the number's keyed hash, and no
/// event carries the number in clear or names a stream by an unkeyed digest
/// of it (a 12-digit number with a known prefix is found by brute force in a
/// second).
#[tokio::test]
async fn bt_3_6_reservations_are_named_by_a_keyed_hash_and_numbers_are_sealed() {
    use sha2::{Digest, Sha256};
    let p = Province::new("national", d(2026, 1, 5)).await;
    let dossier = p.open(PID, HOSPITAL, &p.health_focal).await;
    p.wf.issue_account(
        &p.health_focal,
        IssueAccount {
            kind: AccountKind::Personal,
            username: "huong.nt".into(),
            org_code: HOSPITAL.into(),
            person_id: Some(PID.into()),
            display_name: "Nguyễn Thị Hương".into(),
            birth_date: Some(d(1990, 5, 17)),
        },
    )
    .await
    .unwrap();
    // An arrival from another province names a person too.
    let (imported, _) =
        p.wf.import_dossier(
            &p.admin,
            ImportDossier {
                source_system: "csdlqg".into(),
                source_record_id: String::from("QG-778"),
                source_digest: None,
                person_id: String::from(PID2),
                full_name: String::from("Lê Văn Tâm"),
                category: PersonnelCategory::CongChuc,
                managing_unit: String::from(HEALTH),
                sections: vec![],
                handed_over_on: d(2026, 1, 5),
            },
        )
        .await
        .unwrap();
    let key = p.wf.person_key(PID);
    assert_eq!(key.len(), 64);
    assert!(
        p.store
            .read_all(0, usize::MAX)
            .await
            .unwrap()
            .iter()
            .any(|e| e.stream == format!("pid-{}", p.wf.person_key(PID2)))
    );
    let all = p.store.read_all(0, usize::MAX).await.unwrap();
    let streams: std::collections::BTreeSet<&str> = all.iter().map(|e| e.stream.as_str()).collect();
    assert!(
        streams.contains(format!("pid-{key}").as_str()),
        "{streams:?}"
    );
    assert!(
        streams.contains(format!("personal-{key}").as_str()),
        "{streams:?}"
    );
    let unkeyed = {
        let mut h = Sha256::new();
        h.update(b"hoso-person-id\0");
        h.update(PID.as_bytes());
        hex::encode(&h.finalize()[..16])
    };
    let plain_sha = hex::encode(Sha256::digest(PID.as_bytes()));
    for e in &all {
        for needle in [PID, PID2, unkeyed.as_str(), plain_sha.as_str()] {
            assert!(!e.stream.contains(needle), "{}", e.stream);
            assert!(
                !e.payload
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes()),
                "{} #{} holds {needle}",
                e.stream,
                e.revision
            );
        }
    }
    // The number is still the dossier's, opened where the rules need it.
    assert_eq!(
        p.wf.dossier_of_person(PID).await.unwrap().as_deref(),
        Some(dossier.as_str())
    );
    assert_eq!(
        p.wf.load_dossier(&dossier)
            .await
            .unwrap()
            .unwrap()
            .person_id,
        PID
    );
    assert_eq!(
        p.wf.dossier_of_person(PID2).await.unwrap().as_deref(),
        Some(imported.as_str())
    );
    // Uniqueness holds by the key: a second dossier and a second personal
    // account for the number are refused.
    let again =
        p.wf.open_dossier(&p.health_focal, p.opening(PID, HOSPITAL))
            .await
            .unwrap_err();
    assert!(matches!(scope_rule(again), ScopeRule::PersonIdTaken(ref d) if *d == dossier),);
}

/// Issue 14, an older log: a personal account and a consent written before
/// numbers were sealed carry the number in clear and no person key. They
/// still count: the account is the person's (a second is refused) and the
/// consent opens the person's dossier.
#[tokio::test]
async fn hy_4_5_a_legacy_personal_account_and_consent_still_hold_by_their_clear_number() {
    use hoso_ledger::{ExpectedRevision, NewEvent};
    use hoso_schemas::pb::account as pb;
    use hoso_schemas::pb::common::{Date, DecisionRef};
    let p = Province::new("national", d(2026, 1, 5)).await;
    let dossier = p.open(PID, HOSPITAL, &p.health_focal).await;
    let legacy_account = "0190aaaa-0000-7000-8000-0000000000a1";
    let issued: DomainEvent = pb::AccountIssued {
        kind: AccountKind::Personal.into(),
        username: "cu.nv".into(),
        org_code: HOSPITAL.into(),
        person_id: PID.into(),
        display_name: "Nguyễn Thị Hương".into(),
        ..Default::default()
    }
    .into();
    let consent: DomainEvent = pb::ConsentGranted {
        consent_id: "c-old".into(),
        reader_account: p.education_focal.account_id.clone(),
        subject_person_id: PID.into(),
        document: Some(DecisionRef {
            number: "7/GĐY-SYT".into(),
            date: Some(Date {
                year: 2026,
                month: 1,
                day: 5,
            }),
            issuer: "Sở Y tế".into(),
            ..Default::default()
        }),
        expires: Some(Date {
            year: 2099,
            month: 12,
            day: 31,
        }),
        ..Default::default()
    }
    .into();
    for (stream, event, expected) in [
        (
            format!("account-{legacy_account}"),
            issued,
            ExpectedRevision::NoStream,
        ),
        (
            format!("account-{}", p.education_focal.account_id),
            consent,
            ExpectedRevision::Any,
        ),
    ] {
        p.store
            .append(
                &stream,
                expected,
                vec![NewEvent::from_domain(&event).with_actor("old-version")],
            )
            .await
            .unwrap();
    }

    assert_eq!(
        p.wf.personal_account_of(PID).await.unwrap().as_deref(),
        Some(legacy_account)
    );
    let loaded = p.wf.load_account(legacy_account).await.unwrap().unwrap();
    assert_eq!(loaded.person_id.as_deref(), Some(PID));
    assert_eq!(loaded.person_key, Some(p.wf.person_key(PID)));
    let again =
        p.wf.issue_account(
            &p.health_focal,
            IssueAccount {
                kind: AccountKind::Personal,
                username: "huong.nt".into(),
                org_code: HOSPITAL.into(),
                person_id: Some(PID.into()),
                display_name: "Nguyễn Thị Hương".into(),
                birth_date: Some(d(1990, 5, 17)),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(scope_rule(again), ScopeRule::PersonalAccountTaken(ref a) if a == legacy_account)
    );
    let basis = p.wf.read_basis(&p.education_focal, &dossier).await.unwrap();
    assert!(
        matches!(&basis, Some(hoso_commands::workflows::ReadBasis::Consent { consent_id, .. }) if consent_id == "c-old"),
        "{basis:?}"
    );
}

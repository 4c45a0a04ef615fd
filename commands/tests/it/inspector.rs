//! Inspector accounts through the handlers on a real SQLite store: issued
//! by Sở Nội vụ only with their inspection, refused every command, reading
//! only the dossiers managed inside an inspection's subtrees while its term
//! runs, with the inspection's clearance, and every read and query logged.
//! Each test is named after the rule it checks.

use chrono::NaiveDate;
use hoso_commands::testkit::*;
use hoso_commands::workflows::{
    AccessRule, Actor, ApprovalSignature, Approve, ChangeDepartment, ChangeStatus, CommandError,
    Declare, ImportDossier, InitiateTransfer, InspectionTerms, IssueAccount, ReadBasis,
    RecordDecision, Review, ScopeRule, SearchScope,
};
use hoso_domain::account::{AccountChange, AccountKind, AccountRule, LockReason};
use hoso_domain::dossier::{EmploymentStatus, RankChangeKind, StateDecision, TransferKind};
use hoso_domain::org::{OrgChange, OrgCommand};
use hoso_domain::restriction::Restriction;
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::pb::dossier::access_logged::Basis;

const PID: &str = "033190001234";
const PID2: &str = "033090004321";
const PASSWORD: &str = "Cap-Moi#2026!x";
const CHANGED: &str = "Cua-Toi#2026!y";

fn access_rule(e: CommandError) -> AccessRule {
    match e {
        CommandError::Access(r) => r.rule,
        other => panic!("expected an access rule, got {other:?}"),
    }
}

fn refused<T: std::fmt::Debug>(r: Result<T, CommandError>) -> AccessRule {
    access_rule(r.unwrap_err())
}

fn inspector_issue(username: &str) -> IssueAccount {
    IssueAccount {
        kind: AccountKind::Inspector,
        username: username.into(),
        org_code: SNV.into(),
        person_id: None,
        display_name: "Thanh tra viên Lê Văn Cường".into(),
        birth_date: None,
    }
}

fn terms(
    units: &[&str],
    from: NaiveDate,
    until: NaiveDate,
    clearance: Restriction,
) -> InspectionTerms {
    InspectionTerms {
        org_codes: units.iter().map(|u| (*u).to_owned()).collect(),
        valid_from: from,
        valid_until: until,
        clearance,
        decision: doc("42/QĐ-TTr", d(2026, 2, 25)),
    }
}

/// An inspector of the health sector for March–May 2026, password changed.
async fn inspector(p: &Province, clearance: Restriction) -> Actor {
    let (id, _) =
        p.wf.issue_inspector(
            &p.admin,
            inspector_issue("thanhtra.cuong"),
            terms(&[HEALTH], d(2026, 3, 1), d(2026, 5, 31), clearance),
        )
        .await
        .unwrap();
    p.wf.issue_password(&p.admin, &id, PASSWORD).await.unwrap();
    p.wf.change_password(&id, PASSWORD, CHANGED).await.unwrap();
    Actor::new(id)
}

#[tokio::test]
async fn only_the_system_administrator_issues_an_inspector() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let err =
        p.wf.issue_inspector(
            &p.health_focal,
            inspector_issue("thanhtra.x"),
            terms(
                &[HEALTH],
                d(2026, 3, 1),
                d(2026, 5, 31),
                Restriction::General,
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(
        access_rule(err),
        AccessRule::SystemAdminOnly("issue inspector accounts")
    );
    // Nor as a plain account without its inspection.
    let err =
        p.wf.issue_account(&p.health_focal, inspector_issue("thanhtra.y"))
            .await
            .unwrap_err();
    assert_eq!(
        access_rule(err),
        AccessRule::SystemAdminOnly("issue inspector accounts")
    );
}

#[tokio::test]
async fn an_inspector_issued_with_a_refused_term_leaves_nothing_written() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let err =
        p.wf.issue_inspector(
            &p.admin,
            inspector_issue("thanhtra.cuong"),
            terms(
                &[HEALTH],
                d(2026, 5, 1),
                d(2026, 4, 1),
                Restriction::General,
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Account(r) if matches!(r.rule, AccountRule::BadPeriod { .. })
    ));
    // The username was not claimed: the same name is issued with a good term.
    assert!(p.stream("username-thanhtra.cuong").await.is_empty());
    let (id, _) =
        p.wf.issue_inspector(
            &p.admin,
            inspector_issue("thanhtra.cuong"),
            terms(
                &[HEALTH],
                d(2026, 3, 1),
                d(2026, 5, 31),
                Restriction::General,
            ),
        )
        .await
        .unwrap();
    let events = p.events(&format!("account-{id}")).await;
    assert!(matches!(events[0], DomainEvent::AccountIssued(_)));
    assert!(matches!(events[1], DomainEvent::InspectionGranted(_)));
}

#[tokio::test]
async fn an_inspection_never_reaches_secret_data() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let err =
        p.wf.issue_inspector(
            &p.admin,
            inspector_issue("thanhtra.cuong"),
            terms(
                &[HEALTH],
                d(2026, 3, 1),
                d(2026, 5, 31),
                Restriction::Secret,
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Account(r) if r.rule == AccountRule::InspectionClearanceTooHigh
    ));
}

#[tokio::test]
async fn an_inspector_is_refused_every_command() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let (id, person) = p.approved_dossier(PID).await;
    let i = inspector(&p, Restriction::Restricted).await;
    let read_only = AccessRule::InspectorReadOnly(i.account_id.clone());
    let when = d(2026, 3, 2);
    assert_eq!(
        refused(p.wf.open_dossier(&i, p.opening(PID2, HOSPITAL)).await),
        read_only
    );
    assert_eq!(
        refused(
            p.wf.declare(&i, Declare::new(&id, "residence", vec![f("8", "Huế", 0)]))
                .await
        ),
        read_only
    );
    assert_eq!(
        refused(p.wf.review(&i, Review::verify(&id, "thanh tra")).await),
        read_only
    );
    let req = p.wf.approval_request(&id).await.unwrap();
    let approve = Approve {
        dossier_id: id.clone(),
        signature: ApprovalSignature {
            revision: req.revision,
            stream_hash: req.stream_hash,
            key_id: "none".into(),
            signature: vec![0; 64],
        },
    };
    assert_eq!(refused(p.wf.approve(&i, approve).await), read_only);
    let decision = RecordDecision {
        dossier_id: id.clone(),
        decision: StateDecision::Rank {
            kind: RankChangeKind::Promoted,
            rank_code: "V.08.05.12".into(),
            rank_name: "Điều dưỡng hạng III".into(),
        },
        effective: when,
        document: doc("5/QĐ-SYT", when),
    };
    assert_eq!(refused(p.wf.record_decision(&i, decision).await), read_only);
    let move_within = ChangeDepartment {
        dossier_id: id.clone(),
        to: HEALTH_DIV_B.into(),
        effective: when,
        document: doc("7/QĐ-SYT", when),
    };
    assert_eq!(
        refused(p.wf.change_department(&i, move_within).await),
        read_only
    );
    let transfer = InitiateTransfer {
        dossier_id: id.clone(),
        kind: TransferKind::Transfer,
        to: EDUCATION.into(),
        effective: when,
        document: doc("20/QĐ-UBND", when),
    };
    assert_eq!(
        refused(p.wf.initiate_transfer(&i, transfer).await),
        read_only
    );
    let status = ChangeStatus {
        dossier_id: id.clone(),
        status: EmploymentStatus::Retired,
        effective: when,
        document: doc("30/QĐ-SYT", when),
        note: String::new(),
    };
    assert_eq!(refused(p.wf.change_status(&i, status).await), read_only);
    let import = ImportDossier {
        source_system: "csdlqg".into(),
        source_record_id: "csdlqg-1".into(),
        source_digest: None,
        person_id: PID2.into(),
        full_name: "Phạm Văn Dũng".into(),
        category: PersonnelCategory::CongChuc,
        managing_unit: HEALTH.into(),
        sections: Vec::new(),
        handed_over_on: when,
    };
    assert_eq!(refused(p.wf.import_dossier(&i, import).await), read_only);
    let rename = OrgCommand {
        code: HOSPITAL.into(),
        decision: doc("99/QĐ-UBND", when),
        change: OrgChange::Rename {
            name: "Bệnh viện mới".into(),
            effective: when,
        },
    };
    assert_eq!(refused(p.wf.org(&i, rename).await), read_only);
    assert_eq!(refused(p.wf.reconcile(&i).await), read_only);
    assert_eq!(
        refused(p.wf.complete_restructuring(&i, HOSPITAL).await),
        read_only
    );
    let lock = AccountChange::Lock {
        reason: LockReason::Other,
        note: "thử".into(),
    };
    assert_eq!(
        refused(p.wf.account(&i, &person.account_id, lock).await),
        read_only
    );
    // Not even on its own account: no right, key or anything else.
    let own_grant = AccountChange::Grant {
        org_code: HEALTH.into(),
        right: AccessRight::Access,
        reason: "tự cấp".into(),
        decision: None,
    };
    assert_eq!(
        refused(p.wf.account(&i, &i.account_id, own_grant).await),
        read_only
    );
    assert_eq!(
        refused(
            p.wf.issue_account(
                &i,
                IssueAccount {
                    kind: AccountKind::Specialist,
                    username: "phu.ta".into(),
                    org_code: HEALTH.into(),
                    person_id: None,
                    display_name: "Phụ tá".into(),
                    birth_date: None,
                },
            )
            .await
        ),
        read_only
    );
    assert_eq!(
        refused(
            p.wf.issue_password(&i, &person.account_id, "Mat-Khau#2026!z")
                .await
        ),
        read_only
    );
    // Its own password change is the one thing it does.
    p.wf.change_password(&i.account_id, CHANGED, "Moi-Nua#2026!w")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_inspector_is_never_a_deputy_nor_given_a_right() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let i = inspector(&p, Restriction::General).await;
    let err =
        p.wf.account(
            &p.health_head.actor,
            &p.health_head.actor.account_id,
            AccountChange::Delegate {
                delegation_id: "del-1".into(),
                to_account: i.account_id.clone(),
                valid_from: d(2026, 3, 2),
                valid_until: d(2026, 3, 31),
                org_codes: Vec::new(),
                categories: Vec::new(),
                decision: doc("9/QĐ-SYT", d(2026, 3, 2)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Scope(r) if matches!(r.rule, ScopeRule::BadDelegate(_))
    ));
    let err =
        p.wf.account(
            &p.admin,
            &i.account_id,
            AccountChange::Grant {
                org_code: HEALTH.into(),
                right: AccessRight::Access,
                reason: "nhầm".into(),
                decision: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Account(r) if r.rule == AccountRule::InspectorReadOnly("a right over units")
    ));
}

#[tokio::test]
async fn an_inspector_reads_a_dossier_managed_inside_its_scope_with_the_inspection_clearance() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let (id, _) = p.approved_dossier(PID).await;
    let i = inspector(&p, Restriction::General).await;
    let basis = p.wf.read_basis(&i, &id).await.unwrap().unwrap();
    let ReadBasis::Inspection {
        inspection_id,
        decision_number,
        clearance,
    } = &basis
    else {
        panic!("expected an inspection basis, got {basis:?}");
    };
    assert_eq!(decision_number, "42/QĐ-TTr");
    assert_eq!(*clearance, Restriction::General);
    assert_eq!(basis.clearance(), Restriction::General);
    assert_eq!(basis.describe(), format!("inspection:{inspection_id}"));
    assert!(basis.logs_every_read());
    // The bundle goes to the same readers.
    assert_eq!(p.wf.bundle_basis(&i, &id).await.unwrap(), Some(basis));
}

#[tokio::test]
async fn a_restricted_clearance_comes_only_from_the_inspection_granting_it() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let (id, _) = p.approved_dossier(PID).await;
    let i = inspector(&p, Restriction::Restricted).await;
    let basis = p.wf.read_basis(&i, &id).await.unwrap().unwrap();
    assert_eq!(basis.clearance(), Restriction::Restricted);
}

#[tokio::test]
async fn outside_its_subtrees_a_dossier_is_as_missing_to_an_inspector() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let school = p.open(PID, SCHOOL, &p.education_focal).await;
    let i = inspector(&p, Restriction::General).await;
    assert_eq!(p.wf.read_basis(&i, &school).await.unwrap(), None);
    assert_eq!(p.wf.bundle_basis(&i, &school).await.unwrap(), None);
    assert_eq!(
        p.wf.read_basis(&i, "0197f5c2-0000-7000-8000-000000000000")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn outside_its_term_or_once_revoked_an_inspection_reads_nothing() {
    let p = Province::new("binh-thuan", d(2026, 2, 20)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let i = inspector(&p, Restriction::General).await;
    // Before the term.
    assert_eq!(p.wf.read_basis(&i, &id).await.unwrap(), None);
    assert_eq!(
        p.wf.search_scope(&i).await.unwrap(),
        SearchScope::Subtrees(Vec::new())
    );
    p.set_today(d(2026, 3, 1));
    assert!(p.wf.read_basis(&i, &id).await.unwrap().is_some());
    assert_eq!(
        p.wf.search_scope(&i).await.unwrap(),
        SearchScope::Subtrees(vec![(HEALTH.into(), AccessRight::Access)])
    );
    assert_eq!(
        p.wf.right_over_unit(&i, HOSPITAL).await.unwrap(),
        Some(AccessRight::Access)
    );
    assert_eq!(p.wf.right_over_unit(&i, SCHOOL).await.unwrap(), None);
    p.set_today(d(2026, 5, 31));
    assert!(p.wf.read_basis(&i, &id).await.unwrap().is_some());
    // After the term.
    p.set_today(d(2026, 6, 1));
    assert_eq!(p.wf.read_basis(&i, &id).await.unwrap(), None);
    assert_eq!(p.wf.right_over_unit(&i, HOSPITAL).await.unwrap(), None);
    // Revoked within the term.
    p.set_today(d(2026, 4, 1));
    let acc = p.wf.caller(&i.account_id).await.unwrap().unwrap();
    let inspection_id = acc.inspections.keys().next().unwrap().clone();
    p.wf.account(
        &p.admin,
        &i.account_id,
        AccountChange::RevokeInspection {
            inspection_id,
            reason: "kết thúc sớm".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(p.wf.read_basis(&i, &id).await.unwrap(), None);
}

#[tokio::test]
async fn an_inspection_follows_the_managing_unit_on_the_day_of_the_read() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let (inspector_id, _) =
        p.wf.issue_inspector(
            &p.admin,
            inspector_issue("thanhtra.bv"),
            terms(
                &[HOSPITAL],
                d(2026, 3, 1),
                d(2026, 5, 31),
                Restriction::General,
            ),
        )
        .await
        .unwrap();
    p.wf.issue_password(&p.admin, &inspector_id, PASSWORD)
        .await
        .unwrap();
    p.wf.change_password(&inspector_id, PASSWORD, CHANGED)
        .await
        .unwrap();
    let i = Actor::new(inspector_id);
    assert!(p.wf.read_basis(&i, &id).await.unwrap().is_some());
    // The hospital merges into the department: its dossiers are managed
    // there from then on, outside the hospital's inspection.
    p.wf.org(
        &p.admin,
        OrgCommand {
            code: HOSPITAL.into(),
            decision: doc("99/QĐ-UBND", d(2026, 3, 2)),
            change: OrgChange::MergeInto {
                successor: HEALTH.into(),
                effective: d(2026, 3, 2),
            },
        },
    )
    .await
    .unwrap();
    let moved = p.wf.load_dossier(&id).await.unwrap().unwrap();
    assert_eq!(moved.managing_unit, HEALTH);
    assert_eq!(p.wf.read_basis(&i, &id).await.unwrap(), None);
}

#[tokio::test]
async fn every_read_and_query_of_an_inspector_is_logged_on_its_account() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let (id, _) = p.approved_dossier(PID).await;
    let i = inspector(&p, Restriction::General).await;
    let basis = p.wf.read_basis(&i, &id).await.unwrap().unwrap();
    p.wf.log_access(&i, &id, Vec::new(), &basis, "thanh tra")
        .await
        .unwrap();
    let logged =
        p.wf.log_inspection_query(&i, HEALTH, "GET /dossiers", "name=huong", vec![id.clone()])
            .await
            .unwrap();
    assert!(logged.is_some());
    let ReadBasis::Inspection { inspection_id, .. } = basis else {
        unreachable!()
    };
    let events = p.events(&format!("account-{}", i.account_id)).await;
    let read = events
        .iter()
        .find_map(|e| match e {
            DomainEvent::AccessLogged(a) => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(read.dossier_id, id);
    assert_eq!(read.basis, Some(Basis::InspectionId(inspection_id.clone())));
    let query = events
        .iter()
        .find_map(|e| match e {
            DomainEvent::InspectionQueried(q) => Some(q.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(query.inspection_id, inspection_id);
    assert_eq!(query.route, "GET /dossiers");
    assert_eq!(query.criteria, "name=huong");
    assert_eq!(query.dossier_ids, vec![id]);
    // Nobody else's queries are logged this way, nor an inspector's outside scope.
    assert!(
        p.wf.log_inspection_query(&p.health_focal, HEALTH, "GET /dossiers", "", Vec::new())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        p.wf.log_inspection_query(&i, EDUCATION, "GET /dossiers", "", Vec::new())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_second_inspection_never_lowers_the_clearance_of_the_first() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let i = inspector(&p, Restriction::Restricted).await;
    // Only Sở Nội vụ grants one.
    let later = |by: &str| AccountChange::GrantInspection {
        inspection_id: format!("zz-{by}"),
        org_codes: vec![HOSPITAL.into()],
        valid_from: d(2026, 3, 2),
        valid_until: d(2026, 3, 31),
        clearance: Restriction::General,
        decision: doc("43/QĐ-TTr", d(2026, 3, 2)),
    };
    // The health focal point holds no right over the inspector's unit, so for
    // it the account does not exist (no refusal tells accounts apart).
    let err =
        p.wf.account(&p.health_focal, &i.account_id, later("focal"))
            .await
            .unwrap_err();
    assert!(
        matches!(&err, CommandError::Scope(r) if r.rule == ScopeRule::UnknownAccount(i.account_id.clone())),
        "{err:?}"
    );
    p.wf.account(&p.admin, &i.account_id, later("admin"))
        .await
        .unwrap();
    let basis = p.wf.read_basis(&i, &id).await.unwrap().unwrap();
    assert_eq!(basis.clearance(), Restriction::Restricted);
}

//! The account decider against the rules: issue and kinds (HY 4.5), rights
//! over org subtrees (DL 12.2, personal accounts none: BT 4.5, HY 4.8),
//! locks (HY 5.1), password facts, signing keys, delegations (KT 8.1) and
//! consents to read outside one's scope (BT 4.5), and inspector accounts with
//! their inspections (read-only, a term, never secret).
//!
//! Tests read given / when / then: `given` runs changes through `decide`
//! and folds what they produce with `evolve`, so the history itself passed
//! the rules; `when` decides one more change against that state; the
//! assertions name the exact event or the exact rule broken.

use crate::support::{d, decision_ref, pd};
use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use hoso_domain::account::{
    Account, AccountChange, AccountKind, AccountRule, LockReason, PasswordChangeKind, decide,
    evolve,
};
use hoso_domain::person_id::PersonIdProblem;
use hoso_domain::restriction::Restriction;
use hoso_schemas::pb::account as pb;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::{DomainEvent, SourceDocument};

const ID: &str = "a-1";
const PID: &str = "033090001234";
const UNIT: &str = "000.01.00.H33";
const DIVISION: &str = "000.01.02.H33";

/// Injected "today": no test reads the system clock.
fn today() -> NaiveDate {
    d(2026, 3, 2)
}

fn doc(number: &str) -> SourceDocument {
    SourceDocument {
        number: number.into(),
        date: d(2026, 2, 20),
        issuer: "Sở Nội vụ".into(),
        attachment_sha256: None,
    }
}

fn issue(kind: AccountKind) -> AccountChange {
    AccountChange::Issue {
        kind,
        username: "huong.nt".into(),
        org_code: UNIT.into(),
        person_id: (kind == AccountKind::Personal).then(|| PID.into()),
        display_name: "Nguyễn Thị Hương".into(),
        birth_date: Some(d(1990, 5, 17)),
    }
}

fn public_key(seed: u8) -> Vec<u8> {
    SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes()
        .to_vec()
}

fn register_key(key_id: &str) -> AccountChange {
    AccountChange::RegisterKey {
        key_id: key_id.into(),
        public_key: public_key(7),
        valid_from: d(2026, 1, 1),
        valid_until: Some(d(2027, 12, 31)),
    }
}

fn grant(org: &str, right: AccessRight) -> AccountChange {
    AccountChange::Grant {
        org_code: org.into(),
        right,
        reason: "phân công".into(),
        decision: Some(doc("5/QĐ-SNV")),
    }
}

fn delegate(id: &str, to: &str) -> AccountChange {
    AccountChange::Delegate {
        delegation_id: id.into(),
        to_account: to.into(),
        valid_from: d(2026, 3, 1),
        valid_until: d(2026, 3, 31),
        org_codes: vec![UNIT.into()],
        categories: vec![PersonnelCategory::VienChuc],
        decision: doc("9/QĐ-SYT"),
    }
}

fn consent(id: &str, expires: NaiveDate) -> AccountChange {
    AccountChange::GrantConsent {
        consent_id: id.into(),
        subject_person_id: PID.into(),
        document: doc("VB-01"),
        expires,
        section_codes: vec!["identity".into()],
    }
}

fn given(history: Vec<AccountChange>) -> Account {
    let mut state: Option<Account> = None;
    for change in history {
        let events =
            decide(state.as_ref(), ID, change, today()).expect("history must pass the rules");
        for e in &events {
            state = evolve(state, e, ID);
        }
    }
    state.expect("the history issues the account")
}

fn when(state: &Account, change: AccountChange) -> Result<Vec<DomainEvent>, AccountRule> {
    decide(Some(state), ID, change, today()).map_err(|r| {
        assert_eq!(r.account, ID);
        assert_eq!(r.revision, Some(state.revision));
        r.rule
    })
}

fn when_new(change: AccountChange) -> Result<Vec<DomainEvent>, AccountRule> {
    decide(None, ID, change, today()).map_err(|r| {
        assert_eq!(r.revision, None);
        r.rule
    })
}

fn then(mut state: Account, outcome: Result<Vec<DomainEvent>, AccountRule>) -> Account {
    for e in &outcome.unwrap() {
        state = evolve(Some(state), e, ID).unwrap();
    }
    state
}

fn head() -> Account {
    given(vec![issue(AccountKind::AgencyHead)])
}

fn admin_over_unit() -> Account {
    given(vec![
        issue(AccountKind::AgencyAdmin),
        grant(UNIT, AccessRight::Update),
    ])
}

// ---- issue and kinds ------------------------------------------------------

#[test]
fn issue_records_the_account() {
    assert_eq!(
        when_new(issue(AccountKind::Specialist)),
        Ok(vec![
            pb::AccountIssued {
                kind: AccountKind::Specialist.into(),
                username: "huong.nt".into(),
                org_code: UNIT.into(),
                person_id: String::new(),
                display_name: "Nguyễn Thị Hương".into(),
                birth_date: Some(pd(d(1990, 5, 17))),
                person_id_sealed: Vec::new(),
                person_key: String::new(),
            }
            .into()
        ])
    );
    let state = given(vec![issue(AccountKind::Personal)]);
    assert_eq!(state.person_id.as_deref(), Some(PID));
    assert_eq!(state.revision, 0);
    assert!(!state.has_password);
}

#[test]
fn an_account_is_issued_once_and_first() {
    assert_eq!(
        when_new(AccountChange::Unlock { reason: "x".into() }),
        Err(AccountRule::NotIssued)
    );
    assert_eq!(
        when(&head(), issue(AccountKind::AgencyHead)),
        Err(AccountRule::AlreadyIssued)
    );
}

#[test]
fn issue_needs_kind_username_and_name() {
    assert_eq!(
        when_new(issue(AccountKind::Unspecified)),
        Err(AccountRule::KindRequired)
    );
    for bad in ["ab", "Huong", "huong nt", "hương"] {
        let mut change = issue(AccountKind::Specialist);
        if let AccountChange::Issue { username, .. } = &mut change {
            *username = bad.into();
        }
        assert_eq!(when_new(change), Err(AccountRule::BadUsername(bad.into())));
    }
    let mut change = issue(AccountKind::Specialist);
    if let AccountChange::Issue { display_name, .. } = &mut change {
        *display_name = " ".into();
    }
    assert_eq!(when_new(change), Err(AccountRule::NameRequired));
}

#[test]
fn hy_4_5_personal_account_carries_the_identification_number_and_only_it_does() {
    let mut change = issue(AccountKind::Personal);
    if let AccountChange::Issue { person_id, .. } = &mut change {
        *person_id = None;
    }
    let rule = when_new(change).unwrap_err();
    assert!(matches!(rule, AccountRule::PersonIdPlacement(m) if m.contains("HY 4.5")));
    let mut change = issue(AccountKind::Specialist);
    if let AccountChange::Issue { person_id, .. } = &mut change {
        *person_id = Some(PID.into());
    }
    assert_eq!(
        when_new(change),
        Err(AccountRule::PersonIdPlacement(
            "only personal accounts carry an identification number"
        ))
    );
    let mut change = issue(AccountKind::Personal);
    if let AccountChange::Issue { birth_date, .. } = &mut change {
        *birth_date = Some(d(1985, 1, 1));
    }
    assert_eq!(
        when_new(change),
        Err(AccountRule::BadPersonId(
            PersonIdProblem::BirthYearMismatch {
                id: PID.into(),
                encoded: 1990,
                birth: d(1985, 1, 1),
            }
        ))
    );
}

// ---- rights over subtrees -------------------------------------------------

#[test]
fn dl_12_2_grant_a_right_over_a_subtree() {
    let state = given(vec![issue(AccountKind::AgencyAdmin)]);
    let events = when(&state, grant(UNIT, AccessRight::Update)).unwrap();
    assert_eq!(
        events,
        vec![
            pb::AccessGranted {
                right: AccessRight::Update.into(),
                org_code: UNIT.into(),
                reason: "phân công".into(),
                decision: Some(decision_ref(&doc("5/QĐ-SNV"))),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.grants.get(UNIT), Some(&AccessRight::Update));
}

#[test]
fn dl_12_2_one_grant_per_subtree_and_a_named_right() {
    let state = admin_over_unit();
    assert_eq!(
        when(&state, grant(UNIT, AccessRight::Admin)),
        Err(AccountRule::GrantExists {
            org_code: UNIT.into(),
            existing: AccessRight::Update,
        })
    );
    let rule = when(&state, grant(DIVISION, AccessRight::Unspecified)).unwrap_err();
    assert_eq!(rule, AccountRule::RightRequired);
    assert_eq!(rule.citation(), Some("DL 12.2"));
}

#[test]
fn bt_4_5_personal_accounts_hold_no_rights_over_units() {
    let state = given(vec![issue(AccountKind::Personal)]);
    let rule = when(&state, grant(UNIT, AccessRight::Access)).unwrap_err();
    assert_eq!(rule, AccountRule::PersonalAccountHoldsNoRights);
    assert_eq!(rule.citation(), Some("BT 4.5, HY 4.8"));
}

#[test]
fn dl_12_2_restrict_lowers_and_expand_raises() {
    let state = admin_over_unit();
    let restrict = |right| AccountChange::Restrict {
        org_code: UNIT.into(),
        right,
        reason: "bớt quyền".into(),
    };
    let expand = |right| AccountChange::Expand {
        org_code: UNIT.into(),
        right,
        reason: "thêm quyền".into(),
        decision: None,
    };
    assert_eq!(
        when(&state, restrict(AccessRight::Admin)),
        Err(AccountRule::WrongDirection {
            org_code: UNIT.into(),
            current: AccessRight::Update,
            requested: AccessRight::Admin,
            direction: "lower",
        })
    );
    // Restricting to the right already held changes nothing: refused.
    assert_eq!(
        when(&state, restrict(AccessRight::Update)),
        Err(AccountRule::WrongDirection {
            org_code: UNIT.into(),
            current: AccessRight::Update,
            requested: AccessRight::Update,
            direction: "lower",
        })
    );
    assert_eq!(
        when(&state, expand(AccessRight::Update)),
        Err(AccountRule::WrongDirection {
            org_code: UNIT.into(),
            current: AccessRight::Update,
            requested: AccessRight::Update,
            direction: "higher",
        })
    );
    let events = when(&state, restrict(AccessRight::Access)).unwrap();
    assert_eq!(
        events,
        vec![
            pb::AccessRestricted {
                org_code: UNIT.into(),
                right: AccessRight::Access.into(),
                reason: "bớt quyền".into(),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.grants.get(UNIT), Some(&AccessRight::Access));
    let state = then(state.clone(), when(&state, expand(AccessRight::Admin)));
    assert_eq!(state.grants.get(UNIT), Some(&AccessRight::Admin));
}

#[test]
fn rights_change_only_over_a_granted_subtree() {
    let state = admin_over_unit();
    assert_eq!(
        when(
            &state,
            AccountChange::Restrict {
                org_code: DIVISION.into(),
                right: AccessRight::Access,
                reason: String::new(),
            }
        ),
        Err(AccountRule::NoGrant(DIVISION.into()))
    );
    assert_eq!(
        when(
            &state,
            AccountChange::Expand {
                org_code: DIVISION.into(),
                right: AccessRight::Admin,
                reason: String::new(),
                decision: None,
            }
        ),
        Err(AccountRule::NoGrant(DIVISION.into()))
    );
    let revoke = |org: &str| AccountChange::Revoke {
        org_code: org.into(),
        reason: "nghỉ".into(),
    };
    assert_eq!(
        when(&state, revoke(DIVISION)),
        Err(AccountRule::NoGrant(DIVISION.into()))
    );
    let events = when(&state, revoke(UNIT)).unwrap();
    assert_eq!(
        events,
        vec![
            pb::AccessRevoked {
                org_code: UNIT.into(),
                reason: "nghỉ".into(),
            }
            .into()
        ]
    );
    assert!(then(state, Ok(events)).grants.is_empty());
}

// ---- locks and passwords --------------------------------------------------

#[test]
fn hy_5_1_lock_with_a_reason_and_unlock() {
    let state = head();
    assert_eq!(
        when(
            &state,
            AccountChange::Lock {
                reason: LockReason::Unspecified,
                note: String::new(),
            }
        ),
        Err(AccountRule::LockReasonRequired)
    );
    assert_eq!(
        when(&state, AccountChange::Unlock { reason: "x".into() }),
        Err(AccountRule::NotLocked)
    );
    let lock = AccountChange::Lock {
        reason: LockReason::Security,
        note: "5 failed logins (HY 5.1)".into(),
    };
    let events = when(&state, lock.clone()).unwrap();
    assert_eq!(
        events,
        vec![
            pb::AccountLocked {
                reason: LockReason::Security.into(),
                note: "5 failed logins (HY 5.1)".into(),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.locked, Some(LockReason::Security));
    assert_eq!(when(&state, lock), Err(AccountRule::AlreadyLocked));
    let events = when(
        &state,
        AccountChange::Unlock {
            reason: "xác minh chủ tài khoản".into(),
        },
    )
    .unwrap();
    assert_eq!(
        events,
        vec![
            pb::AccountUnlocked {
                reason: "xác minh chủ tài khoản".into(),
            }
            .into()
        ]
    );
    assert_eq!(then(state, Ok(events)).locked, None);
}

#[test]
fn issued_password_must_be_changed_by_its_holder() {
    let state = head();
    let record = |kind| AccountChange::RecordPassword {
        kind,
        by: "admin".into(),
    };
    let events = when(&state, record(PasswordChangeKind::Issued)).unwrap();
    assert_eq!(
        events,
        vec![
            pb::PasswordChanged {
                kind: PasswordChangeKind::Issued.into(),
                changed_by: "admin".into(),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert!(state.has_password && state.must_change_password);
    let state = then(
        state.clone(),
        when(&state, record(PasswordChangeKind::Changed)),
    );
    assert!(state.has_password && !state.must_change_password);
}

// ---- signing keys -----------------------------------------------------------

#[test]
fn signing_key_registered_to_an_account_that_signs() {
    let state = head();
    let events = when(&state, register_key("k-1")).unwrap();
    assert_eq!(
        events,
        vec![
            pb::SigningKeyRegistered {
                key_id: "k-1".into(),
                account_id: ID.into(),
                algorithm: pb::KeyAlgorithm::Ed25519.into(),
                public_key: public_key(7),
                valid_from: Some(pd(d(2026, 1, 1))),
                valid_until: Some(pd(d(2027, 12, 31))),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert!(state.keys["k-1"].usable_on(today()));
    assert_eq!(
        when(&state, register_key("k-1")),
        Err(AccountRule::KeyExists("k-1".into()))
    );
    for kind in [AccountKind::Personal, AccountKind::AgencyAdmin] {
        let other = given(vec![issue(kind)]);
        assert_eq!(
            when(&other, register_key("k-1")),
            Err(AccountRule::KindCannotSign(kind))
        );
    }
}

#[test]
fn signing_key_must_be_ed25519_with_a_sound_period() {
    let state = head();
    let mut change = register_key("k-1");
    if let AccountChange::RegisterKey { public_key, .. } = &mut change {
        *public_key = vec![1; 31];
    }
    assert_eq!(when(&state, change), Err(AccountRule::BadPublicKey));
    let mut change = register_key("k-1");
    if let AccountChange::RegisterKey { valid_until, .. } = &mut change {
        *valid_until = Some(d(2025, 12, 31));
    }
    assert_eq!(
        when(&state, change),
        Err(AccountRule::BadPeriod {
            from: d(2026, 1, 1),
            until: d(2025, 12, 31),
        })
    );
}

#[test]
fn signing_key_revoked_once_from_its_effective_date() {
    let state = given(vec![issue(AccountKind::AgencyHead), register_key("k-1")]);
    let revoke = |key: &str| AccountChange::RevokeKey {
        key_id: key.into(),
        reason: "lộ khóa".into(),
        effective: d(2026, 3, 2),
    };
    assert_eq!(
        when(&state, revoke("k-2")),
        Err(AccountRule::UnknownKey("k-2".into()))
    );
    let events = when(&state, revoke("k-1")).unwrap();
    assert_eq!(
        events,
        vec![
            pb::SigningKeyRevoked {
                key_id: "k-1".into(),
                reason: "lộ khóa".into(),
                effective: Some(pd(d(2026, 3, 2))),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert!(state.keys["k-1"].usable_on(d(2026, 3, 1)));
    assert!(!state.keys["k-1"].usable_on(d(2026, 3, 2)));
    assert_eq!(
        when(&state, revoke("k-1")),
        Err(AccountRule::AlreadyRevoked("k-1".into()))
    );
}

// ---- delegations ------------------------------------------------------------

#[test]
fn kt_8_1_delegation_to_a_deputy_for_a_period() {
    let state = head();
    let events = when(&state, delegate("dg-1", "a-2")).unwrap();
    assert_eq!(
        events,
        vec![
            pb::DelegationGranted {
                delegation_id: "dg-1".into(),
                from_account: ID.into(),
                to_account: "a-2".into(),
                valid_from: Some(pd(d(2026, 3, 1))),
                valid_until: Some(pd(d(2026, 3, 31))),
                org_codes: vec![UNIT.into()],
                categories: vec![PersonnelCategory::VienChuc.into()],
                decision: Some(decision_ref(&doc("9/QĐ-SYT"))),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    let delegation = &state.delegations["dg-1"];
    assert!(delegation.in_force_on(d(2026, 3, 31)));
    assert!(!delegation.in_force_on(d(2026, 4, 1)));
    assert_eq!(
        when(&state, delegate("dg-1", "a-3")),
        Err(AccountRule::IdExists("dg-1".into()))
    );
}

#[test]
fn kt_8_1_delegation_not_to_oneself_and_on_a_complete_decision() {
    let state = head();
    let rule = when(&state, delegate("dg-1", ID)).unwrap_err();
    assert_eq!(rule, AccountRule::DelegationToSelf);
    assert_eq!(rule.citation(), Some("KT 8.1"));
    let mut change = delegate("dg-1", "a-2");
    if let AccountChange::Delegate { decision, .. } = &mut change {
        decision.issuer = " ".into();
    }
    assert_eq!(
        when(&state, change),
        Err(AccountRule::DelegationDecisionRequired)
    );
    let mut change = delegate("dg-1", "a-2");
    if let AccountChange::Delegate { valid_until, .. } = &mut change {
        *valid_until = d(2026, 2, 28);
    }
    assert_eq!(
        when(&state, change),
        Err(AccountRule::BadPeriod {
            from: d(2026, 3, 1),
            until: d(2026, 2, 28),
        })
    );
}

#[test]
fn kt_8_1_delegation_revoked_once() {
    let state = given(vec![
        issue(AccountKind::AgencyHead),
        delegate("dg-1", "a-2"),
    ]);
    let revoke = |id: &str| AccountChange::RevokeDelegation {
        delegation_id: id.into(),
        reason: "hết việc".into(),
    };
    assert_eq!(
        when(&state, revoke("dg-9")),
        Err(AccountRule::UnknownDelegation("dg-9".into()))
    );
    let events = when(&state, revoke("dg-1")).unwrap();
    assert_eq!(
        events,
        vec![
            pb::DelegationRevoked {
                delegation_id: "dg-1".into(),
                reason: "hết việc".into(),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert!(!state.delegations["dg-1"].in_force_on(d(2026, 3, 15)));
    assert_eq!(
        when(&state, revoke("dg-1")),
        Err(AccountRule::AlreadyRevoked("dg-1".into()))
    );
}

// ---- consents ---------------------------------------------------------------

#[test]
fn bt_4_5_consent_cites_its_written_document() {
    let state = head();
    let events = when(&state, consent("c-1", d(2026, 6, 30))).unwrap();
    assert_eq!(
        events,
        vec![
            pb::ConsentGranted {
                consent_id: "c-1".into(),
                reader_account: ID.into(),
                subject_person_id: PID.into(),
                document: Some(decision_ref(&doc("VB-01"))),
                expires: Some(pd(d(2026, 6, 30))),
                section_codes: vec!["identity".into()],
                // The decider holds no key: sealing is the commands layer's.
                subject_person_id_sealed: Vec::new(),
                subject_key: String::new(),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert!(state.consents["c-1"].in_force_on(d(2026, 6, 30)));
    assert!(!state.consents["c-1"].in_force_on(d(2026, 7, 1)));
    assert_eq!(state.consents["c-1"].document_number, "VB-01");

    let mut change = consent("c-2", d(2026, 6, 30));
    if let AccountChange::GrantConsent { document, .. } = &mut change {
        document.number = String::new();
    }
    let rule = when(&state, change).unwrap_err();
    assert_eq!(rule, AccountRule::ConsentDocumentRequired);
    assert_eq!(rule.citation(), Some("BT 4.5, HY 4.8"));
}

#[test]
fn bt_4_5_consent_not_already_expired_nor_reused_nor_for_a_bad_number() {
    let state = given(vec![
        issue(AccountKind::AgencyHead),
        consent("c-1", d(2026, 6, 30)),
    ]);
    assert_eq!(
        when(&state, consent("c-2", d(2026, 3, 1))),
        Err(AccountRule::ConsentExpired {
            expires: d(2026, 3, 1),
            today: today(),
        })
    );
    // Expiring today still holds today.
    assert!(when(&state, consent("c-2", today())).is_ok());
    assert_eq!(
        when(&state, consent("c-1", d(2026, 6, 30))),
        Err(AccountRule::IdExists("c-1".into()))
    );
    let mut change = consent("c-2", d(2026, 6, 30));
    if let AccountChange::GrantConsent {
        subject_person_id, ..
    } = &mut change
    {
        *subject_person_id = "999090001234".into();
    }
    assert_eq!(
        when(&state, change),
        Err(AccountRule::BadPersonId(PersonIdProblem::UnknownProvince {
            id: "999090001234".into(),
            code: 999,
        }))
    );
}

#[test]
fn bt_4_5_consent_withdrawn_once() {
    let state = given(vec![
        issue(AccountKind::AgencyHead),
        consent("c-1", d(2026, 6, 30)),
    ]);
    let revoke = |id: &str| AccountChange::RevokeConsent {
        consent_id: id.into(),
        reason: "rút lại".into(),
    };
    assert_eq!(
        when(&state, revoke("c-9")),
        Err(AccountRule::UnknownConsent("c-9".into()))
    );
    let events = when(&state, revoke("c-1")).unwrap();
    assert_eq!(
        events,
        vec![
            pb::ConsentRevoked {
                consent_id: "c-1".into(),
                reason: "rút lại".into(),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert!(!state.consents["c-1"].in_force_on(d(2026, 3, 3)));
    assert_eq!(
        when(&state, revoke("c-1")),
        Err(AccountRule::AlreadyRevoked("c-1".into()))
    );
}

// ---- reassignment -----------------------------------------------------------

#[test]
fn dl_5_5_account_moves_to_another_unit() {
    let state = head();
    let reassign = |to: &str| AccountChange::Reassign {
        to_org: to.into(),
        reason: "sáp nhập".into(),
        decision: Some(doc("70/QĐ-UBND")),
    };
    assert_eq!(
        when(&state, reassign(UNIT)),
        Err(AccountRule::SameUnit(UNIT.into()))
    );
    let events = when(&state, reassign("000.05.00.H33")).unwrap();
    assert_eq!(
        events,
        vec![
            pb::AccountReassigned {
                from_org_code: UNIT.into(),
                to_org_code: "000.05.00.H33".into(),
                reason: "sáp nhập".into(),
                decision: Some(decision_ref(&doc("70/QĐ-UBND"))),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.org_code, "000.05.00.H33");
    assert_eq!(state.revision, 1);
}

// ---- Inspector accounts and their inspections ----

fn inspection(
    id: &str,
    from: NaiveDate,
    until: NaiveDate,
    clearance: Restriction,
) -> AccountChange {
    AccountChange::GrantInspection {
        inspection_id: id.into(),
        org_codes: vec![UNIT.into()],
        valid_from: from,
        valid_until: until,
        clearance,
        decision: doc("42/QĐ-TTr"),
    }
}

fn march(id: &str) -> AccountChange {
    inspection(id, d(2026, 3, 1), d(2026, 5, 31), Restriction::General)
}

#[test]
fn an_inspection_records_its_units_term_clearance_and_decision() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    let events = when(
        &a,
        inspection(
            "i-1",
            d(2026, 3, 1),
            d(2026, 5, 31),
            Restriction::Restricted,
        ),
    )
    .unwrap();
    assert_eq!(
        events,
        vec![DomainEvent::InspectionGranted(pb::InspectionGranted {
            inspection_id: "i-1".into(),
            org_codes: vec![UNIT.into()],
            valid_from: Some(pd(d(2026, 3, 1))),
            valid_until: Some(pd(d(2026, 5, 31))),
            clearance: pb::InspectionClearance::Restricted.into(),
            decision: Some(decision_ref(&doc("42/QĐ-TTr"))),
        })]
    );
    let a = evolve(Some(a), &events[0], ID).unwrap();
    let i = &a.inspections["i-1"];
    assert_eq!(i.clearance, Restriction::Restricted);
    assert_eq!(i.decision_number, "42/QĐ-TTr");
    assert!(i.in_force_on(d(2026, 3, 1)) && i.in_force_on(d(2026, 5, 31)));
    assert!(!i.in_force_on(d(2026, 2, 28)) && !i.in_force_on(d(2026, 6, 1)));
}

#[test]
fn an_inspection_is_given_only_to_an_inspector_account() {
    let a = given(vec![issue(AccountKind::Specialist)]);
    assert_eq!(
        when(&a, march("i-1")),
        Err(AccountRule::NotAnInspector(AccountKind::Specialist))
    );
}

#[test]
fn an_inspection_names_at_least_one_unit() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    let AccountChange::GrantInspection {
        inspection_id,
        valid_from,
        valid_until,
        clearance,
        decision,
        ..
    } = march("i-1")
    else {
        unreachable!()
    };
    let change = AccountChange::GrantInspection {
        inspection_id,
        org_codes: vec![" ".into()],
        valid_from,
        valid_until,
        clearance,
        decision,
    };
    assert_eq!(when(&a, change), Err(AccountRule::InspectionScopeRequired));
}

#[test]
fn an_inspection_term_that_ends_before_it_starts_is_a_bad_period() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    assert_eq!(
        when(
            &a,
            inspection("i-1", d(2026, 5, 1), d(2026, 4, 30), Restriction::General)
        ),
        Err(AccountRule::BadPeriod {
            from: d(2026, 5, 1),
            until: d(2026, 4, 30)
        })
    );
}

#[test]
fn an_inspection_whose_term_is_over_is_not_granted() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    assert_eq!(
        when(
            &a,
            inspection("i-1", d(2026, 1, 1), d(2026, 3, 1), Restriction::General)
        ),
        Err(AccountRule::InspectionEnded {
            until: d(2026, 3, 1),
            today: today()
        })
    );
}

#[test]
fn an_inspection_never_reaches_secret_data() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    assert_eq!(
        when(
            &a,
            inspection("i-1", d(2026, 3, 1), d(2026, 5, 31), Restriction::Secret)
        ),
        Err(AccountRule::InspectionClearanceTooHigh)
    );
}

#[test]
fn an_inspection_cites_its_decision() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    let change = AccountChange::GrantInspection {
        inspection_id: "i-1".into(),
        org_codes: vec![UNIT.into()],
        valid_from: d(2026, 3, 1),
        valid_until: d(2026, 5, 31),
        clearance: Restriction::General,
        decision: SourceDocument {
            issuer: String::new(),
            ..doc("42/QĐ-TTr")
        },
    };
    assert_eq!(
        when(&a, change),
        Err(AccountRule::InspectionDecisionRequired)
    );
}

#[test]
fn an_inspection_id_is_used_once() {
    let a = given(vec![issue(AccountKind::Inspector), march("i-1")]);
    assert_eq!(
        when(&a, march("i-1")),
        Err(AccountRule::IdExists("i-1".into()))
    );
}

#[test]
fn an_inspector_holds_no_right_over_units() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    assert_eq!(
        when(&a, grant(UNIT, AccessRight::Access)),
        Err(AccountRule::InspectorReadOnly("a right over units"))
    );
}

#[test]
fn an_inspector_registers_no_signing_key() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    assert_eq!(
        when(&a, register_key("k-1")),
        Err(AccountRule::InspectorReadOnly("a signing key"))
    );
}

#[test]
fn a_national_sync_account_holds_no_right_key_or_delegation() {
    let a = given(vec![issue(AccountKind::NationalSync)]);
    assert_eq!(
        when(&a, grant(UNIT, AccessRight::Access)),
        Err(AccountRule::NationalSyncReadOnly("a right over units"))
    );
    assert_eq!(
        when(&a, register_key("k-1")),
        Err(AccountRule::NationalSyncReadOnly("a signing key"))
    );
    assert_eq!(
        when(&a, delegate("del-1", "a-2")),
        Err(AccountRule::NationalSyncReadOnly(
            "approval power to delegate"
        ))
    );
}

#[test]
fn an_inspector_delegates_nothing() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    assert_eq!(
        when(&a, delegate("del-1", "a-2")),
        Err(AccountRule::InspectorReadOnly("approval power to delegate"))
    );
}

#[test]
fn a_revoked_inspection_is_no_longer_in_force_and_is_not_revoked_twice() {
    let a = given(vec![
        issue(AccountKind::Inspector),
        march("i-1"),
        AccountChange::RevokeInspection {
            inspection_id: "i-1".into(),
            reason: "kết thúc sớm".into(),
        },
    ]);
    assert!(!a.inspections["i-1"].in_force_on(today()));
    assert_eq!(
        when(
            &a,
            AccountChange::RevokeInspection {
                inspection_id: "i-1".into(),
                reason: "again".into(),
            }
        ),
        Err(AccountRule::AlreadyRevoked("i-1".into()))
    );
    assert_eq!(
        when(
            &a,
            AccountChange::RevokeInspection {
                inspection_id: "i-9".into(),
                reason: "unknown".into(),
            }
        ),
        Err(AccountRule::UnknownInspection("i-9".into()))
    );
}

#[test]
fn an_inspection_stored_without_a_clearance_reads_as_general() {
    let a = given(vec![issue(AccountKind::Inspector)]);
    let stored = DomainEvent::InspectionGranted(pb::InspectionGranted {
        inspection_id: "i-1".into(),
        org_codes: vec![UNIT.into()],
        valid_from: Some(pd(d(2026, 3, 1))),
        valid_until: Some(pd(d(2026, 5, 31))),
        clearance: pb::InspectionClearance::Unspecified.into(),
        decision: Some(decision_ref(&doc("42/QĐ-TTr"))),
    });
    let a = evolve(Some(a), &stored, ID).unwrap();
    assert_eq!(a.inspections["i-1"].clearance, Restriction::General);
}

#[test]
fn birth_date_out_of_range() {
    for date in [
        d(-2026, 1, 5),
        d(0, 1, 1),
        d(1899, 12, 31),
        today().succ_opt().unwrap(),
    ] {
        let mut change = issue(AccountKind::Personal);
        if let AccountChange::Issue { birth_date, .. } = &mut change {
            *birth_date = Some(date);
        }
        assert_eq!(
            when_new(change),
            Err(AccountRule::BirthDateOutOfRange {
                date,
                today: today()
            }),
            "{date}"
        );
    }
}

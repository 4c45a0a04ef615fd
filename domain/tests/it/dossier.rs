//! The dossier decider against the rules: opening and import (BT 3.6,
//! BT 11.1), declaring on the 2C form, return with reasons (HY 15.6),
//! verification, the lock after review (HY 10.3), the head's signature,
//! decisions of the state, transfers (DL 10.1, DL 10.2), status changes and
//! the archive (KT 11.3, HY 11.3, BT 11.5), restructuring (DL 5.5), and the
//! obligations each step opens or closes with its due date from the
//! province profile and the working-day calendar.
//!
//! Tests read given / when / then: `given` runs changes through `decide`
//! and folds what they produce with `evolve`, so the history itself passed
//! the rules; `when` decides one more change against that state; the
//! assertions name the exact events or the exact rule broken.

use crate::support::{d, decision_ref, pd};
use std::sync::LazyLock;

use chrono::NaiveDate;
use ed25519_dalek::{Signer, SigningKey};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::dossier::{
    AppointmentKind, Dossier, DossierChange, DossierContext, DossierRule, EmploymentStatus,
    ReviewState, SignedApproval, StateDecision, TransferKind, decide, evolve, stream_id,
};
use hoso_domain::form::{FORM_2C, FormError};
use hoso_domain::person_id::PersonIdProblem;
use hoso_domain::profile::Profile;
use hoso_domain::signing::{SignatureProblem, approval_digest};
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::{self as pb, FieldEntry};
use hoso_schemas::{DomainEvent, SourceDocument};

static CAL: LazyLock<WorkingCalendar> = LazyLock::new(|| WorkingCalendar::official().unwrap());
static HUNG_YEN: LazyLock<Profile> = LazyLock::new(|| Profile::load("hung-yen").unwrap());
static KON_TUM: LazyLock<Profile> = LazyLock::new(|| Profile::load("kon-tum").unwrap());

const ID: &str = "d-1";
/// Born 1990 in province 033.
const PID: &str = "033090001234";
const UNIT: &str = "000.01.00.H33";
const DIVISION: &str = "000.01.02.H33";
const OTHER_AGENCY: &str = "000.05.00.H33";
const OTHER_DIVISION: &str = "000.05.01.H33";

/// Injected "today", a Monday with no holiday in the following weeks: no
/// test reads the system clock.
fn today() -> NaiveDate {
    d(2026, 3, 2)
}

fn ctx(profile: &'static Profile) -> DossierContext<'static> {
    DossierContext {
        today: today(),
        profile,
        calendar: &CAL,
    }
}

fn field(code: &str, value: &str) -> FieldEntry {
    FieldEntry {
        field_code: code.into(),
        value: value.into(),
        row: 0,
        sealed: Vec::new(),
    }
}

fn identity() -> Vec<FieldEntry> {
    vec![
        field("1", "NGUYỄN THỊ HƯƠNG"),
        field("3a", "17/05/1990"),
        field("3b", "Nữ"),
        field("25a", PID),
    ]
}

fn recruitment() -> Vec<FieldEntry> {
    vec![field("11a", "02/01/2026"), field("11b", "Sở Y tế")]
}

/// A decision document with its scanned copy.
fn doc(number: &str, date: NaiveDate) -> SourceDocument {
    SourceDocument {
        number: number.into(),
        date,
        issuer: "UBND tỉnh Hưng Yên".into(),
        attachment_sha256: Some([9; 32]),
    }
}

fn paper_only(number: &str, date: NaiveDate) -> SourceDocument {
    SourceDocument {
        attachment_sha256: None,
        ..doc(number, date)
    }
}

fn open(has_personal_account: bool) -> DossierChange {
    DossierChange::Open {
        person_id: PID.into(),
        full_name: "Nguyễn Thị Hương".into(),
        birth_date: Some(d(1990, 5, 17)),
        category: PersonnelCategory::VienChuc,
        managing_unit: UNIT.into(),
        employing_unit: DIVISION.into(),
        recruited_on: d(2026, 2, 23),
        decision: doc("12/QĐ-SYT", d(2026, 2, 20)),
        has_personal_account,
    }
}

fn declare(section: &str, fields: Vec<FieldEntry>) -> DossierChange {
    DossierChange::Declare {
        section_code: section.into(),
        fields,
        attachments: vec![],
        occurred_on: None,
    }
}

fn declare_with_proof(
    section: &str,
    fields: Vec<FieldEntry>,
    occurred: NaiveDate,
) -> DossierChange {
    DossierChange::Declare {
        section_code: section.into(),
        fields,
        attachments: vec![[4; 32]],
        occurred_on: Some(occurred),
    }
}

fn verify() -> DossierChange {
    DossierChange::Verify {
        note: "khớp bản giấy".into(),
    }
}

fn lock() -> DossierChange {
    DossierChange::Lock {
        reason: "đã thẩm định".into(),
    }
}

/// The chain hash the loader would set at each revision; any value the
/// dossier's own revision determines will do for a pure decider.
fn hash_at(revision: u64) -> [u8; 32] {
    [u8::try_from(revision % 250).unwrap() + 1; 32]
}

fn head_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// The head's signature over the dossier's current revision and hash.
fn signature(state: &Dossier) -> SignedApproval {
    let key = head_key();
    let digest = approval_digest(&stream_id(ID), state.revision, &state.head_hash);
    SignedApproval {
        revision: state.revision,
        stream_hash: state.head_hash,
        key_id: "k-1".into(),
        public_key: key.verifying_key().to_bytes().to_vec(),
        signature: key.sign(&digest).to_bytes().to_vec(),
        signer: "head".into(),
        delegated_from: None,
    }
}

/// Folds decided events into the state, as the loader does.
fn fold(mut state: Option<Dossier>, events: &[DomainEvent]) -> Dossier {
    for e in events {
        state = evolve(state, e, ID);
        if let Some(s) = state.as_mut() {
            s.head_hash = hash_at(s.revision);
        }
    }
    state.expect("the history opens the dossier")
}

fn given_in(profile: &'static Profile, history: Vec<DossierChange>) -> Dossier {
    let mut state: Option<Dossier> = None;
    for change in history {
        let events =
            decide(state.as_ref(), ID, change, &ctx(profile)).expect("history must pass the rules");
        state = Some(fold(state, &events));
    }
    state.expect("the history opens the dossier")
}

fn given(history: Vec<DossierChange>) -> Dossier {
    given_in(&HUNG_YEN, history)
}

fn when(state: &Dossier, change: DossierChange) -> Result<Vec<DomainEvent>, DossierRule> {
    decide(Some(state), ID, change, &ctx(&HUNG_YEN)).map_err(|r| {
        assert_eq!(r.dossier, ID);
        assert_eq!(r.revision, Some(state.revision));
        r.rule
    })
}

fn when_new(change: DossierChange) -> Result<Vec<DomainEvent>, DossierRule> {
    decide(None, ID, change, &ctx(&HUNG_YEN)).map_err(|r| {
        assert_eq!(r.revision, None);
        r.rule
    })
}

fn then(state: Dossier, outcome: Result<Vec<DomainEvent>, DossierRule>) -> Dossier {
    fold(Some(state), &outcome.unwrap())
}

fn opened(
    key: &str,
    revision: u64,
    counted_from: NaiveDate,
    due: NaiveDate,
    citation: &str,
    responsible: &str,
) -> DomainEvent {
    pb::ObligationOpened {
        obligation_id: format!("{key}-{revision}"),
        obligation: key.into(),
        counted_from: Some(pd(counted_from)),
        due: Some(pd(due)),
        citation: citation.into(),
        responsible_org_code: responsible.into(),
    }
    .into()
}

fn closed(id: &str, late: bool, outcome: &str) -> DomainEvent {
    pb::ObligationClosed {
        obligation_id: id.into(),
        closed_on: Some(pd(today())),
        late,
        outcome: outcome.into(),
    }
    .into()
}

fn submitted(section: &str, fields: Vec<FieldEntry>, attachments: Vec<Vec<u8>>) -> DomainEvent {
    pb::DeclarationSubmitted {
        form: FORM_2C.into(),
        section_code: section.into(),
        fields,
        supporting_attachments: attachments,
        sealed_attachments: Vec::new(),
    }
    .into()
}

/// Opened with an account, both sections declared: waiting for review.
fn declared() -> Dossier {
    given(vec![
        open(true),
        declare("identity", identity()),
        declare("recruitment", recruitment()),
    ])
}

fn locked() -> Dossier {
    given(vec![
        open(true),
        declare("identity", identity()),
        declare("recruitment", recruitment()),
        verify(),
        lock(),
    ])
}

fn approved() -> Dossier {
    let state = locked();
    let outcome = when(&state, DossierChange::Approve(signature(&state)));
    then(state, outcome)
}

fn transfer(id: &str, to: &str, document: SourceDocument) -> DossierChange {
    DossierChange::InitiateTransfer {
        transfer_id: id.into(),
        kind: TransferKind::Reassignment,
        to: to.into(),
        effective: d(2026, 3, 1),
        document,
    }
}

fn status(status: EmploymentStatus, document: SourceDocument) -> DossierChange {
    DossierChange::ChangeStatus {
        status,
        effective: d(2026, 3, 1),
        document,
        note: String::new(),
    }
}

fn appointment(kind: AppointmentKind, title: &str, document: SourceDocument) -> DossierChange {
    DossierChange::RecordDecision {
        decision: StateDecision::Appointment {
            kind,
            position_title: title.into(),
            org_code: DIVISION.into(),
            term_end: None,
        },
        effective: d(2026, 2, 27),
        document,
    }
}

// ---- opening ------------------------------------------------------------

#[test]
fn hy_10_1_opening_starts_the_account_clock_from_the_decision() {
    let events = when_new(open(false)).unwrap();
    let decision = doc("12/QĐ-SYT", d(2026, 2, 20));
    assert_eq!(
        events,
        vec![
            pb::DossierOpened {
                person_id: PID.into(),
                full_name: "Nguyễn Thị Hương".into(),
                category: PersonnelCategory::VienChuc.into(),
                managing_unit: UNIT.into(),
                employing_unit: DIVISION.into(),
                recruitment_decision: Some(decision_ref(&decision)),
                recruited_on: Some(pd(d(2026, 2, 23))),
                birth_date: Some(pd(d(1990, 5, 17))),
                // The decider holds no key: sealing is the commands layer's.
                person_id_sealed: Vec::new(),
                person_key: String::new(),
            }
            .into(),
            // Friday 20 February + 5 working days.
            opened(
                "issue_new_dossier_account",
                0,
                d(2026, 2, 20),
                d(2026, 2, 27),
                "HY 10.1",
                UNIT
            ),
        ]
    );
    let state = fold(None, &events);
    assert_eq!(state.workflow, ReviewState::AwaitingDeclaration);
    assert_eq!(state.status, EmploymentStatus::Active);
}

#[test]
fn hy_10_2_account_issued_starts_the_declaring_clock() {
    let state = given(vec![open(false)]);
    let events = when(&state, DossierChange::PersonalAccountIssued).unwrap();
    assert_eq!(
        events,
        vec![
            // Due on 27 February, closed on 2 March: late.
            closed(
                "issue_new_dossier_account-0",
                true,
                "personal account issued"
            ),
            opened(
                "declare_new_dossier",
                2,
                today(),
                d(2026, 3, 9),
                "HY 10.2",
                UNIT
            ),
        ]
    );
    // Once the declaring clock runs, a second notice opens nothing more.
    let state = then(state, Ok(events));
    assert_eq!(
        when(&state, DossierChange::PersonalAccountIssued),
        Ok(vec![])
    );
}

#[test]
fn opening_for_a_person_with_an_account_starts_the_declaring_clock_at_once() {
    let events = when_new(open(true)).unwrap();
    assert_eq!(
        events[1..],
        // Hưng Yên counts it from the account, which exists today.
        [opened(
            "declare_new_dossier",
            0,
            today(),
            d(2026, 3, 9),
            "HY 10.2",
            UNIT
        )]
    );
}

#[test]
fn kt_declaration_counted_from_the_decision_starts_with_the_account_clock() {
    // Kon Tum counts the declaration from the decision, not from the account.
    let events = decide(None, ID, open(false), &ctx(&KON_TUM)).unwrap();
    let keys: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            DomainEvent::ObligationOpened(o) => Some(o.obligation.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ["issue_new_dossier_account", "declare_new_dossier"]);
}

#[test]
fn bt_3_6_opening_needs_a_valid_identification_number() {
    let mut change = open(false);
    if let DossierChange::Open { person_id, .. } = &mut change {
        *person_id = "03309000123".into();
    }
    assert_eq!(
        when_new(change),
        Err(DossierRule::BadPersonId(PersonIdProblem::NotTwelveDigits(
            "03309000123".into()
        )))
    );
    // The number encodes the birth year.
    let mut change = open(false);
    if let DossierChange::Open { birth_date, .. } = &mut change {
        *birth_date = Some(d(1991, 1, 1));
    }
    assert!(matches!(
        when_new(change),
        Err(DossierRule::BadPersonId(
            PersonIdProblem::BirthYearMismatch { encoded: 1990, .. }
        ))
    ));
}

#[test]
fn opening_needs_category_name_and_a_complete_past_decision() {
    let with = |edit: fn(&mut DossierChange)| {
        let mut change = open(false);
        edit(&mut change);
        when_new(change)
    };
    assert_eq!(
        with(|c| if let DossierChange::Open { category, .. } = c {
            *category = PersonnelCategory::Unspecified;
        }),
        Err(DossierRule::CategoryRequired)
    );
    assert_eq!(
        with(|c| if let DossierChange::Open { full_name, .. } = c {
            *full_name = "  ".into();
        }),
        Err(DossierRule::NameRequired)
    );
    assert_eq!(
        with(|c| if let DossierChange::Open { decision, .. } = c {
            decision.issuer = String::new();
        }),
        Err(DossierRule::DecisionIncomplete)
    );
    assert_eq!(
        with(|c| if let DossierChange::Open { decision, .. } = c {
            decision.date = d(2026, 3, 3);
        }),
        Err(DossierRule::DecisionInFuture {
            number: "12/QĐ-SYT".into(),
            date: d(2026, 3, 3),
            today: today(),
        })
    );
}

#[test]
fn a_dossier_opens_once_and_nothing_else_comes_first() {
    assert_eq!(
        when_new(declare("identity", identity())),
        Err(DossierRule::NotOpened)
    );
    let state = given(vec![open(false)]);
    assert_eq!(when(&state, open(false)), Err(DossierRule::AlreadyOpened));
}

#[test]
fn hy_11_2_import_meets_the_arrival_clock_and_starts_review() {
    let import = DossierChange::Import {
        source_system: "csdlqg".into(),
        source_record_id: "R-7".into(),
        source_digest: None,
        person_id: PID.into(),
        full_name: "Nguyễn Thị Hương".into(),
        category: PersonnelCategory::CongChuc,
        managing_unit: UNIT.into(),
        employing_unit: DIVISION.into(),
        sections: vec![("identity".into(), identity())],
        handed_over_on: d(2026, 2, 2),
    };
    let events = when_new(import).unwrap();
    assert_eq!(
        events[1..],
        [
            // 2 February + 10 working days skips the Tết holiday (16–20 February).
            opened(
                "request_arrival_from_other_province",
                0,
                d(2026, 2, 2),
                d(2026, 2, 23),
                "HY 11.2",
                UNIT
            ),
            closed(
                "request_arrival_from_other_province-0",
                true,
                "imported from the national database"
            ),
            opened(
                "review_new_dossier",
                0,
                today(),
                d(2026, 3, 9),
                "HY 10.3",
                UNIT
            ),
        ]
    );
    // BT 11.1: the national record is declared data still to be reviewed.
    let state = fold(None, &events);
    assert_eq!(state.workflow, ReviewState::Declaring);
    assert_eq!(state.pending.keys().collect::<Vec<_>>(), ["identity"]);
    assert!(state.approved.is_empty());
}

#[test]
fn an_import_keeps_the_record_source_and_digest_in_its_event() {
    let import = DossierChange::Import {
        source_system: "snv-79".into(),
        source_record_id: "R-7".into(),
        source_digest: Some([7; 32]),
        person_id: PID.into(),
        full_name: "Nguyễn Thị Hương".into(),
        category: PersonnelCategory::CongChuc,
        managing_unit: UNIT.into(),
        employing_unit: DIVISION.into(),
        sections: vec![],
        handed_over_on: d(2026, 2, 2),
    };
    let events = when_new(import).unwrap();
    let DomainEvent::DossierImported(e) = &events[0] else {
        panic!("first event is {:?}", events[0]);
    };
    assert_eq!(
        (e.source_system.as_str(), e.source_record_id.as_str()),
        ("snv-79", "R-7")
    );
    assert_eq!(e.source_digest, [7; 32]);
}

#[test]
fn import_checks_its_sections_against_the_form() {
    let import = DossierChange::Import {
        source_system: "csdlqg".into(),
        source_record_id: "R-7".into(),
        source_digest: None,
        person_id: PID.into(),
        full_name: "Nguyễn Thị Hương".into(),
        category: PersonnelCategory::CongChuc,
        managing_unit: UNIT.into(),
        employing_unit: DIVISION.into(),
        sections: vec![("identity".into(), vec![field("1", "X")])],
        handed_over_on: d(2026, 2, 2),
    };
    assert_eq!(
        when_new(import),
        Err(DossierRule::Form(FormError::MissingField {
            section: "identity".into(),
            field: "3a".into(),
            row: None,
        }))
    );
}

// ---- declaring and review ------------------------------------------------

#[test]
fn hy_10_3_first_declaration_ends_declaring_and_starts_review() {
    let state = given(vec![open(true)]);
    let events = when(&state, declare("identity", identity())).unwrap();
    assert_eq!(
        events,
        vec![
            submitted("identity", identity(), vec![]),
            closed("declare_new_dossier-0", false, "declared"),
            // Obligations are named after the revision of their batch's
            // first event; opening took revisions 0 and 1.
            opened(
                "review_new_dossier",
                2,
                today(),
                d(2026, 3, 9),
                "HY 10.3",
                UNIT
            ),
        ]
    );
    // A second section joins the review already running.
    let state = then(state, Ok(events));
    assert_eq!(state.workflow, ReviewState::Declaring);
    assert_eq!(
        when(&state, declare("recruitment", recruitment())),
        Ok(vec![submitted("recruitment", recruitment(), vec![])])
    );
}

#[test]
fn declared_section_must_fit_the_2c_form() {
    let state = given(vec![open(true)]);
    assert_eq!(
        when(&state, declare("salary", identity())),
        Err(DossierRule::Form(FormError::UnknownSection(
            "salary".into()
        )))
    );
    let mut wrong_id = identity();
    wrong_id[3] = field("25a", "033090009999");
    assert!(matches!(
        when(&state, declare("identity", wrong_id)),
        Err(DossierRule::Form(FormError::BadValue { field, .. })) if field == "25a"
    ));
}

#[test]
fn hy_15_6_return_needs_reasons() {
    let state = declared();
    let outcome = when(
        &state,
        DossierChange::Return {
            section_codes: vec![],
            reasons: vec![" ".into()],
        },
    );
    assert_eq!(outcome, Err(DossierRule::ReasonsRequired));
    assert_eq!(DossierRule::ReasonsRequired.citation(), Some("HY 15.6"));
}

#[test]
fn hy_15_6_return_of_all_pending_sections_sends_the_dossier_back() {
    let state = declared();
    let reasons = vec!["ngày sinh không khớp giấy khai sinh".to_owned()];
    let events = when(
        &state,
        DossierChange::Return {
            section_codes: vec![],
            reasons: reasons.clone(),
        },
    )
    .unwrap();
    let returned = |code: &str| -> DomainEvent {
        pb::DeclarationReturned {
            section_code: code.into(),
            reasons: reasons.clone(),
        }
        .into()
    };
    assert_eq!(events, vec![returned("identity"), returned("recruitment")]);
    let state = then(state, Ok(events));
    assert_eq!(state.workflow, ReviewState::Returned);
    assert_eq!(state.returned_reasons, reasons);
    assert!(state.pending.is_empty());
}

#[test]
fn return_of_one_section_keeps_the_rest_in_review() {
    let state = declared();
    let outcome = when(
        &state,
        DossierChange::Return {
            section_codes: vec!["recruitment".into()],
            reasons: vec!["thiếu quyết định".into()],
        },
    );
    let state = then(state, outcome);
    assert_eq!(state.workflow, ReviewState::Declaring);
    assert_eq!(state.pending.keys().collect::<Vec<_>>(), ["identity"]);
}

#[test]
fn return_names_only_pending_sections_and_only_while_declaring() {
    let state = declared();
    assert_eq!(
        when(
            &state,
            DossierChange::Return {
                section_codes: vec!["family".into()],
                reasons: vec!["x".into()],
            }
        ),
        Err(DossierRule::SectionNotPending("family".into()))
    );
    let state = given(vec![open(true)]);
    assert_eq!(
        when(
            &state,
            DossierChange::Return {
                section_codes: vec![],
                reasons: vec!["x".into()],
            }
        ),
        Err(DossierRule::WrongStep {
            step: "return",
            actual: ReviewState::AwaitingDeclaration,
            expected: "declared and not yet verified",
        })
    );
}

#[test]
fn verify_records_the_pending_sections() {
    let state = declared();
    assert_eq!(
        when(&state, verify()),
        Ok(vec![
            pb::DeclarationVerified {
                section_codes: vec!["identity".into(), "recruitment".into()],
                note: "khớp bản giấy".into(),
            }
            .into()
        ])
    );
}

#[test]
fn verify_needs_something_pending_and_the_sections_of_a_new_dossier() {
    let state = given(vec![open(true)]);
    assert_eq!(when(&state, verify()), Err(DossierRule::NothingPending));
    let state = given(vec![open(true), declare("identity", identity())]);
    assert_eq!(
        when(&state, verify()),
        Err(DossierRule::SectionMissing("recruitment"))
    );
    let verified = given(vec![
        open(true),
        declare("identity", identity()),
        declare("recruitment", recruitment()),
        verify(),
    ]);
    assert_eq!(
        when(&verified, verify()),
        Err(DossierRule::WrongStep {
            step: "verify",
            actual: ReviewState::Verified,
            expected: "declared",
        })
    );
}

#[test]
fn hy_10_3_locks_after_review_and_starts_the_signing_clock() {
    let mut state = declared();
    state = then(state.clone(), when(&state, verify()));
    let events = when(&state, lock()).unwrap();
    assert_eq!(
        events,
        vec![
            pb::DossierLocked {
                reason: "đã thẩm định".into(),
            }
            .into(),
            closed("review_new_dossier-2", false, "verified and locked"),
            opened(
                "sign_new_dossier",
                state.revision + 1,
                today(),
                d(2026, 3, 9),
                "HY 10.4",
                UNIT
            ),
        ]
    );
    assert_eq!(then(state, Ok(events)).workflow, ReviewState::Locked);
}

#[test]
fn hy_10_3_lock_needs_a_verified_declaration() {
    assert_eq!(
        when(&declared(), lock()),
        Err(DossierRule::WrongStep {
            step: "lock",
            actual: ReviewState::Declaring,
            expected: "verified",
        })
    );
}

#[test]
fn hy_10_3_declaration_refused_once_verified_or_locked() {
    let state = declared();
    let verified = then(state.clone(), when(&state, verify()));
    assert_eq!(
        when(&verified, declare("identity", identity())),
        Err(DossierRule::DeclarationLocked("verified"))
    );
    let rule = when(&locked(), declare("identity", identity())).unwrap_err();
    assert_eq!(rule, DossierRule::DeclarationLocked("locked"));
    assert_eq!(rule.citation(), Some("HY 10.3"));
}

// ---- approval -------------------------------------------------------------

#[test]
fn hy_10_4_signature_approves_the_locked_revision() {
    let state = locked();
    let s = signature(&state);
    let events = when(&state, DossierChange::Approve(s.clone())).unwrap();
    // The lock's batch started at revision 7.
    let sign_id = "sign_new_dossier-7";
    assert_eq!(
        events,
        vec![
            pb::ApprovalSigned {
                revision: state.revision,
                stream_hash: s.stream_hash.to_vec(),
                key_id: "k-1".into(),
                signature: s.signature,
                signer: "head".into(),
                delegated_from: None,
            }
            .into(),
            closed(sign_id, false, "signed"),
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.workflow, ReviewState::Approved);
    assert!(state.pending.is_empty());
    assert_eq!(state.section("identity"), Some(identity().as_slice()));
    assert!(state.obligations.is_empty());
}

#[test]
fn approval_needs_the_lock() {
    let state = declared();
    assert_eq!(
        when(&state, DossierChange::Approve(signature(&state))),
        Err(DossierRule::WrongStep {
            step: "approval",
            actual: ReviewState::Declaring,
            expected: "locked",
        })
    );
}

#[test]
fn approval_of_another_revision_is_stale() {
    let state = locked();
    let mut s = signature(&state);
    s.revision -= 1;
    assert_eq!(
        when(&state, DossierChange::Approve(s)),
        Err(DossierRule::StaleApproval {
            signed: state.revision - 1,
            current: state.revision,
        })
    );
}

#[test]
fn approval_over_another_hash_is_refused() {
    let state = locked();
    let mut s = signature(&state);
    s.stream_hash = [0xee; 32];
    assert_eq!(
        when(&state, DossierChange::Approve(s)),
        Err(DossierRule::HashMismatch(state.revision))
    );
}

#[test]
fn approval_signature_must_verify_against_the_digest_and_key() {
    let state = locked();
    // Signed over another dossier's digest.
    let mut s = signature(&state);
    let other = approval_digest(&stream_id("d-2"), state.revision, &state.head_hash);
    s.signature = head_key().sign(&other).to_bytes().to_vec();
    assert_eq!(
        when(&state, DossierChange::Approve(s)),
        Err(DossierRule::BadSignature(SignatureProblem::Mismatch))
    );
    // Another key than the one registered.
    let mut s = signature(&state);
    s.public_key = SigningKey::from_bytes(&[8; 32])
        .verifying_key()
        .to_bytes()
        .to_vec();
    assert_eq!(
        when(&state, DossierChange::Approve(s)),
        Err(DossierRule::BadSignature(SignatureProblem::Mismatch))
    );
    let mut s = signature(&state);
    s.public_key = vec![1, 2, 3];
    assert_eq!(
        when(&state, DossierChange::Approve(s)),
        Err(DossierRule::BadSignature(SignatureProblem::BadKey))
    );
    let mut s = signature(&state);
    s.signature.truncate(63);
    assert_eq!(
        when(&state, DossierChange::Approve(s)),
        Err(DossierRule::BadSignature(SignatureProblem::BadLength(63)))
    );
}

// ---- change sets after approval -----------------------------------------

#[test]
fn bt_6_3_change_to_an_approved_dossier_needs_its_proof() {
    let state = approved();
    let rule = when(&state, declare("residence", vec![field("8", "Hưng Yên")])).unwrap_err();
    assert_eq!(
        rule,
        DossierRule::ProofRequired {
            what: "a change to an approved dossier"
        }
    );
    assert_eq!(rule.citation(), Some("BT 6.3, HY 8.5"));
}

#[test]
fn hy_10_5_change_set_records_the_declaring_clock_and_starts_approval() {
    let state = approved();
    let residence = vec![field("8", "Hưng Yên")];
    // The change happened on 20 February; 5 working days ran out on the 27th.
    let events = when(
        &state,
        declare_with_proof("residence", residence.clone(), d(2026, 2, 20)),
    )
    .unwrap();
    let next = state.revision + 1;
    assert_eq!(
        events,
        vec![
            submitted("residence", residence, vec![vec![4; 32]]),
            opened(
                "declare_personal_change",
                next,
                d(2026, 2, 20),
                d(2026, 2, 27),
                "HY 10.5",
                UNIT
            ),
            closed(
                &format!("declare_personal_change-{next}"),
                true,
                "declared with proof"
            ),
            opened(
                "approve_personal_change",
                next,
                today(),
                d(2026, 3, 16),
                "HY 10.5",
                UNIT
            ),
        ]
    );
    // The approved sections stay in force while the change waits.
    let state = then(state, Ok(events));
    assert_eq!(state.workflow, ReviewState::Declaring);
    assert!(state.section("residence").is_none());
    assert!(state.pending.contains_key("residence"));
}

// ---- decisions of the state ------------------------------------------------

#[test]
fn hy_10_5_decision_of_the_state_is_recorded_with_its_clock() {
    let state = approved();
    let document = doc("30/QĐ-SYT", d(2026, 2, 26));
    let events = when(
        &state,
        appointment(
            AppointmentKind::Appointed,
            "Phó trưởng phòng",
            document.clone(),
        ),
    )
    .unwrap();
    let next = state.revision + 1;
    assert_eq!(
        events,
        vec![
            pb::AppointmentRecorded {
                kind: AppointmentKind::Appointed.into(),
                position_title: "Phó trưởng phòng".into(),
                org_code: DIVISION.into(),
                effective: Some(pd(d(2026, 2, 27))),
                term_end: None,
                decision: Some(decision_ref(&document)),
            }
            .into(),
            // Counted from the effective date, Friday 27 February.
            opened(
                "record_state_decision",
                next,
                d(2026, 2, 27),
                d(2026, 3, 6),
                "HY 10.5",
                UNIT
            ),
            closed(&format!("record_state_decision-{next}"), false, "recorded"),
        ]
    );
}

#[test]
fn deadline_met_on_its_due_day_and_missed_the_day_after() {
    let state = approved();
    let next = state.revision + 1;
    let id = format!("record_state_decision-{next}");
    let recorded = |effective| {
        let mut change = appointment(
            AppointmentKind::Appointed,
            "Phó trưởng phòng",
            doc("30/QĐ-SYT", d(2026, 2, 20)),
        );
        if let DossierChange::RecordDecision { effective: e, .. } = &mut change {
            *e = effective;
        }
        let events = when(&state, change).unwrap();
        events.last().cloned().unwrap()
    };
    // Monday 23 February + 5 working days is today.
    assert_eq!(recorded(d(2026, 2, 23)), closed(&id, false, "recorded"));
    // Friday 20 February + 5 working days was Friday 27 February.
    assert_eq!(recorded(d(2026, 2, 20)), closed(&id, true, "recorded"));
}

#[test]
fn hy_8_5_decision_of_the_state_needs_its_digitised_document() {
    assert_eq!(
        when(
            &approved(),
            appointment(
                AppointmentKind::Appointed,
                "Phó trưởng phòng",
                paper_only("30/QĐ-SYT", d(2026, 2, 26))
            )
        ),
        Err(DossierRule::ProofRequired {
            what: "a decision of the state"
        })
    );
}

#[test]
fn decision_content_is_checked() {
    let state = approved();
    let document = doc("30/QĐ-SYT", d(2026, 2, 26));
    assert_eq!(
        when(
            &state,
            appointment(
                AppointmentKind::Unspecified,
                "Trưởng phòng",
                document.clone()
            )
        ),
        Err(DossierRule::BadDecision(
            "an appointment needs its kind and position".into()
        ))
    );
    let salary = |step, coefficient_x100| DossierChange::RecordDecision {
        decision: StateDecision::Salary {
            rank_code: "01.003".into(),
            step,
            coefficient_x100,
            salary_group: "A1".into(),
        },
        effective: d(2026, 2, 27),
        document: document.clone(),
    };
    assert!(matches!(
        when(&state, salary(3, 1_600)),
        Err(DossierRule::BadDecision(m)) if m.contains("Decree 204/2004")
    ));
    assert!(when(&state, salary(3, 300)).is_ok());
    let training = DossierChange::RecordDecision {
        decision: StateDecision::Training {
            institution: " ".into(),
            major: "Quản lý".into(),
            from: None,
            until: None,
            mode: pb::TrainingMode::Unspecified,
            qualification: String::new(),
        },
        effective: d(2026, 2, 27),
        document,
    };
    assert_eq!(
        when(&state, training),
        Err(DossierRule::BadDecision(
            "training needs its institution".into()
        ))
    );
}

#[test]
fn each_decision_of_the_state_checks_its_content() {
    use pb::{AllowanceKind, DisciplineBody, DisciplineForm, EvaluationGrade, RankChangeKind};
    let state = approved();
    let document = doc("30/QĐ-SYT", d(2026, 2, 26));
    let record = |decision| DossierChange::RecordDecision {
        decision,
        effective: d(2026, 2, 27),
        document: document.clone(),
    };
    let refused = |decision, message: &str| {
        assert_eq!(
            when(&state, record(decision)),
            Err(DossierRule::BadDecision(message.into()))
        );
    };
    refused(
        StateDecision::Rank {
            kind: RankChangeKind::Promoted,
            rank_code: " ".into(),
            rank_name: "Chuyên viên chính".into(),
        },
        "a rank change needs its kind and rank code",
    );
    refused(
        StateDecision::Allowance {
            kind: AllowanceKind::Other,
            name: String::new(),
            amount: None,
        },
        "an allowance needs its kind, and a name when the kind is other",
    );
    refused(
        StateDecision::Award {
            form: String::new(),
            reason: "hoàn thành xuất sắc".into(),
            year: 2025,
        },
        "an award needs its form",
    );
    refused(
        StateDecision::Discipline {
            form: DisciplineForm::Reprimand,
            body: DisciplineBody::Unspecified,
            reason: "x".into(),
            until: None,
        },
        "discipline needs its form and the body that imposed it",
    );
    refused(
        StateDecision::Evaluation {
            year: 2025,
            grade: EvaluationGrade::Unspecified,
            comments: String::new(),
        },
        "an evaluation needs its grade",
    );

    let first = |decision| when(&state, record(decision)).unwrap().remove(0);
    assert_eq!(
        first(StateDecision::Rank {
            kind: RankChangeKind::Promoted,
            rank_code: "01.002".into(),
            rank_name: "Chuyên viên chính".into(),
        }),
        pb::RankChanged {
            kind: RankChangeKind::Promoted.into(),
            rank_code: "01.002".into(),
            rank_name: "Chuyên viên chính".into(),
            effective: Some(pd(d(2026, 2, 27))),
            decision: Some(decision_ref(&document)),
        }
        .into()
    );
    assert_eq!(
        first(StateDecision::Discipline {
            form: DisciplineForm::Reprimand,
            body: DisciplineBody::Government,
            reason: "vi phạm".into(),
            until: Some(d(2026, 8, 27)),
        }),
        pb::DisciplineImposed {
            form: DisciplineForm::Reprimand.into(),
            body: DisciplineBody::Government.into(),
            reason: "vi phạm".into(),
            effective: Some(pd(d(2026, 2, 27))),
            until: Some(pd(d(2026, 8, 27))),
            decision: Some(decision_ref(&document)),
            sealed_reason: Vec::new(),
        }
        .into()
    );
    // A course carries its certificate: the decision's digitised copy.
    assert_eq!(
        first(StateDecision::Training {
            institution: "Học viện Hành chính".into(),
            major: "Quản lý nhà nước".into(),
            from: Some(d(2025, 9, 1)),
            until: Some(d(2026, 1, 31)),
            mode: pb::TrainingMode::InService,
            qualification: "Chứng chỉ".into(),
        }),
        pb::TrainingRecorded {
            institution: "Học viện Hành chính".into(),
            major: "Quản lý nhà nước".into(),
            from: Some(pd(d(2025, 9, 1))),
            until: Some(pd(d(2026, 1, 31))),
            mode: pb::TrainingMode::InService.into(),
            qualification: "Chứng chỉ".into(),
            certificate_sha256: vec![9; 32],
        }
        .into()
    );
    assert_eq!(
        first(StateDecision::Evaluation {
            year: 2025,
            grade: EvaluationGrade::Excellent,
            comments: "tốt".into(),
        }),
        pb::EvaluationRecorded {
            year: 2025,
            grade: EvaluationGrade::Excellent.into(),
            comments: "tốt".into(),
            decision: Some(decision_ref(&document)),
        }
        .into()
    );
}

#[test]
fn decision_document_must_be_complete_and_not_in_the_future() {
    let state = approved();
    let mut document = doc("30/QĐ-SYT", d(2026, 2, 26));
    document.number = String::new();
    assert_eq!(
        when(
            &state,
            appointment(AppointmentKind::Appointed, "Trưởng phòng", document)
        ),
        Err(DossierRule::DecisionIncomplete)
    );
    assert!(matches!(
        when(
            &state,
            appointment(
                AppointmentKind::Appointed,
                "Trưởng phòng",
                doc("31/QĐ-SYT", d(2026, 4, 1))
            )
        ),
        Err(DossierRule::DecisionInFuture { .. })
    ));
}

// ---- transfers ----------------------------------------------------------

#[test]
fn dl_10_1_move_within_the_agency() {
    let state = approved();
    let document = doc("40/QĐ-SYT", d(2026, 2, 27));
    let change = DossierChange::ChangeDepartment {
        to: "000.01.03.H33".into(),
        effective: d(2026, 3, 1),
        document: document.clone(),
    };
    let events = when(&state, change).unwrap();
    assert_eq!(
        events[0],
        pb::DepartmentChanged {
            from_org_code: DIVISION.into(),
            to_org_code: "000.01.03.H33".into(),
            effective: Some(pd(d(2026, 3, 1))),
            decision: Some(decision_ref(&document)),
        }
        .into()
    );
    assert_eq!(
        then(state.clone(), Ok(events)).employing_unit,
        "000.01.03.H33"
    );
    assert_eq!(
        when(
            &state,
            DossierChange::ChangeDepartment {
                to: DIVISION.into(),
                effective: d(2026, 3, 1),
                document,
            }
        ),
        Err(DossierRule::SameUnit(DIVISION.into()))
    );
}

#[test]
fn dl_10_2_transfer_needs_the_scanned_decision() {
    let rule = when(
        &approved(),
        transfer(
            "t-1",
            OTHER_AGENCY,
            paper_only("50/QĐ-UBND", d(2026, 2, 27)),
        ),
    )
    .unwrap_err();
    assert_eq!(rule, DossierRule::ScannedDecisionRequired);
    assert_eq!(rule.citation(), Some("DL 10.2"));
}

#[test]
fn hy_11_1_transfer_sends_and_starts_the_receiving_clock() {
    let state = approved();
    let document = doc("50/QĐ-UBND", d(2026, 2, 27));
    let events = when(&state, transfer("t-1", OTHER_AGENCY, document.clone())).unwrap();
    let next = state.revision + 1;
    assert_eq!(
        events,
        vec![
            pb::TransferInitiated {
                transfer_id: "t-1".into(),
                kind: TransferKind::Reassignment.into(),
                from_org_code: UNIT.into(),
                to_org_code: OTHER_AGENCY.into(),
                effective: Some(pd(d(2026, 3, 1))),
                decision: Some(decision_ref(&document)),
            }
            .into(),
            // Effective Sunday 1 March + 10 working days.
            opened(
                "send_inter_agency_transfer",
                next,
                d(2026, 3, 1),
                d(2026, 3, 13),
                "HY 11.1",
                UNIT
            ),
            closed(&format!("send_inter_agency_transfer-{next}"), false, "sent"),
            opened(
                "receive_inter_agency_transfer",
                next,
                d(2026, 3, 1),
                d(2026, 3, 13),
                "HY 11.1",
                OTHER_AGENCY
            ),
        ]
    );
}

#[test]
fn transfer_is_accepted_then_forwarded_to_the_using_unit() {
    let state = approved();
    let document = doc("50/QĐ-UBND", d(2026, 2, 27));
    let state = then(
        state.clone(),
        when(&state, transfer("t-1", OTHER_AGENCY, document)),
    );
    // The transfer's batch started at revision 12.
    let receive = "receive_inter_agency_transfer-12";
    let accept = DossierChange::AcceptTransfer {
        transfer_id: "t-1".into(),
        at: OTHER_AGENCY.into(),
    };
    let events = when(&state, accept).unwrap();
    assert_eq!(
        events,
        vec![
            pb::TransferAccepted {
                transfer_id: "t-1".into(),
                org_code: OTHER_AGENCY.into(),
            }
            .into(),
            closed(receive, false, "accepted"),
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.managing_unit, OTHER_AGENCY);
    assert_eq!(state.employing_unit, OTHER_AGENCY);
    assert_eq!(state.transfer, None);

    let forward = |to: &str| DossierChange::ForwardTransfer {
        transfer_id: "t-1".into(),
        to: to.into(),
    };
    assert_eq!(
        when(&state, forward(OTHER_AGENCY)),
        Err(DossierRule::SameUnit(OTHER_AGENCY.into()))
    );
    let events = when(&state, forward(OTHER_DIVISION)).unwrap();
    assert_eq!(
        events,
        vec![
            pb::TransferForwarded {
                transfer_id: "t-1".into(),
                from_org_code: OTHER_AGENCY.into(),
                to_org_code: OTHER_DIVISION.into(),
            }
            .into()
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.employing_unit, OTHER_DIVISION);
    // Forwarded once: the accepted transfer is spent.
    assert_eq!(
        when(&state, forward("000.05.02.H33")),
        Err(DossierRule::NoSuchTransfer("t-1".into()))
    );
}

#[test]
fn transfer_rejected_with_reason_closes_the_receiving_clock() {
    let state = approved();
    let document = doc("50/QĐ-UBND", d(2026, 2, 27));
    let state = then(
        state.clone(),
        when(&state, transfer("t-1", OTHER_AGENCY, document)),
    );
    let reject = |reason: &str| DossierChange::RejectTransfer {
        transfer_id: "t-1".into(),
        reason: reason.into(),
    };
    assert_eq!(when(&state, reject(" ")), Err(DossierRule::ReasonsRequired));
    let events = when(&state, reject("không còn chỉ tiêu")).unwrap();
    assert_eq!(
        events,
        vec![
            pb::TransferRejected {
                transfer_id: "t-1".into(),
                org_code: OTHER_AGENCY.into(),
                reason: "không còn chỉ tiêu".into(),
            }
            .into(),
            closed("receive_inter_agency_transfer-12", false, "rejected"),
        ]
    );
    let state = then(state, Ok(events));
    assert_eq!(state.transfer, None);
    assert_eq!(state.managing_unit, UNIT);
}

#[test]
fn one_transfer_at_a_time_and_only_the_one_in_progress() {
    let state = approved();
    let document = doc("50/QĐ-UBND", d(2026, 2, 27));
    assert_eq!(
        when(&state, transfer("t-1", UNIT, document.clone())),
        Err(DossierRule::SameUnit(UNIT.into()))
    );
    let mut unspecified = transfer("t-1", OTHER_AGENCY, document.clone());
    if let DossierChange::InitiateTransfer { kind, .. } = &mut unspecified {
        *kind = TransferKind::Unspecified;
    }
    assert_eq!(
        when(&state, unspecified),
        Err(DossierRule::BadDecision("a transfer needs its kind".into()))
    );
    let state = then(
        state.clone(),
        when(&state, transfer("t-1", OTHER_AGENCY, document.clone())),
    );
    let pending = Err(DossierRule::InTransit {
        transfer_id: "t-1".into(),
        to: OTHER_AGENCY.into(),
    });
    assert_eq!(
        when(&state, transfer("t-2", "000.06.00.H33", document.clone())),
        pending
    );
    assert_eq!(
        when(
            &state,
            DossierChange::ChangeDepartment {
                to: "000.01.03.H33".into(),
                effective: d(2026, 3, 1),
                document: document.clone(),
            }
        ),
        pending
    );
    assert_eq!(
        when(&state, status(EmploymentStatus::Retired, document)),
        pending
    );
    assert_eq!(
        when(
            &state,
            DossierChange::AcceptTransfer {
                transfer_id: "t-9".into(),
                at: OTHER_AGENCY.into(),
            }
        ),
        Err(DossierRule::NoSuchTransfer("t-9".into()))
    );
    assert_eq!(
        when(
            &state,
            DossierChange::RejectTransfer {
                transfer_id: "t-9".into(),
                reason: "x".into(),
            }
        ),
        Err(DossierRule::NoSuchTransfer("t-9".into()))
    );
    // Not yet accepted, so nothing to forward: the dossier is still in transit.
    assert_eq!(
        when(
            &state,
            DossierChange::ForwardTransfer {
                transfer_id: "t-1".into(),
                to: OTHER_DIVISION.into(),
            }
        ),
        pending
    );
}

// ---- status, departure, archive ----------------------------------------

#[test]
fn hy_11_3_departure_archives_and_ends_the_open_clocks() {
    // Opened without an account: the issuing clock is still open.
    let state = given(vec![open(false)]);
    let document = doc("60/QĐ-SYT", d(2026, 2, 27));
    let events = when(&state, status(EmploymentStatus::Resigned, document.clone())).unwrap();
    assert_eq!(
        events,
        vec![
            pb::StatusChanged {
                status: EmploymentStatus::Resigned.into(),
                effective: Some(pd(d(2026, 3, 1))),
                decision: Some(decision_ref(&document)),
                note: String::new(),
            }
            .into(),
            opened(
                "record_status_change",
                2,
                d(2026, 3, 1),
                d(2026, 3, 6),
                "HY 11.3",
                UNIT
            ),
            closed("record_status_change-2", false, "recorded"),
            closed(
                "issue_new_dossier_account-0",
                true,
                "moot: dossier archived (resigned)"
            ),
        ]
    );
    let state = then(state, Ok(events));
    assert!(state.is_archived());
    assert!(state.obligations.is_empty());
}

#[test]
fn bt_11_5_archived_dossier_refuses_everything_but_status_and_restructuring() {
    let state = given(vec![
        open(true),
        status(EmploymentStatus::Retired, doc("60/QĐ-SYT", d(2026, 2, 27))),
    ]);
    let rule = when(&state, declare("identity", identity())).unwrap_err();
    assert_eq!(rule, DossierRule::Archived(EmploymentStatus::Retired));
    assert_eq!(rule.citation(), Some("BT 11.5, HY 12.1"));
    assert_eq!(
        when(
            &state,
            transfer("t-1", OTHER_AGENCY, doc("1/QĐ", d(2026, 2, 27)))
        ),
        Err(DossierRule::Archived(EmploymentStatus::Retired))
    );
    // The archive follows its unit through a restructuring (DL 5.5) …
    let reassign = DossierChange::Reassign {
        from: UNIT.into(),
        to: OTHER_AGENCY.into(),
        effective: d(2026, 3, 1),
        document: doc("70/QĐ-UBND", d(2026, 2, 27)),
    };
    assert!(when(&state, reassign).is_ok());
    // … and a retired person can still be recorded as deceased.
    assert!(
        when(
            &state,
            status(EmploymentStatus::Deceased, doc("61/QĐ", d(2026, 2, 27)))
        )
        .is_ok()
    );
}

#[test]
fn kt_11_3_status_changes_follow_the_lawful_transitions() {
    let state = given(vec![
        open(true),
        status(EmploymentStatus::Retired, doc("60/QĐ-SYT", d(2026, 2, 27))),
    ]);
    let rule = when(
        &state,
        status(EmploymentStatus::Active, doc("61/QĐ", d(2026, 2, 27))),
    )
    .unwrap_err();
    assert_eq!(
        rule,
        DossierRule::StatusTransition {
            from: EmploymentStatus::Retired,
            to: EmploymentStatus::Active,
        }
    );
    assert_eq!(rule.citation(), Some("KT 11.3, HY 11.3"));
    let active = given(vec![open(true)]);
    assert!(matches!(
        when(
            &active,
            status(EmploymentStatus::Active, doc("61/QĐ", d(2026, 2, 27)))
        ),
        Err(DossierRule::StatusTransition { .. })
    ));
}

#[test]
fn status_change_needs_its_digitised_decision() {
    let state = given(vec![open(true)]);
    assert_eq!(
        when(
            &state,
            status(
                EmploymentStatus::Seconded,
                paper_only("62/QĐ", d(2026, 2, 27))
            )
        ),
        Err(DossierRule::ProofRequired {
            what: "a status change"
        })
    );
}

#[test]
fn dl_5_5_restructuring_moves_the_dossier_to_the_successor() {
    let state = given(vec![open(true)]);
    let document = doc("70/QĐ-UBND", d(2026, 2, 27));
    let reassign = |from: &str| DossierChange::Reassign {
        from: from.into(),
        to: OTHER_AGENCY.into(),
        effective: d(2026, 3, 1),
        document: document.clone(),
    };
    let events = when(&state, reassign(UNIT)).unwrap();
    assert_eq!(
        events,
        vec![
            pb::ManagingUnitReassigned {
                from_org_code: UNIT.into(),
                to_org_code: OTHER_AGENCY.into(),
                effective: Some(pd(d(2026, 3, 1))),
                decision: Some(decision_ref(&document)),
                reason: "restructuring (DL 5.5)".into(),
            }
            .into()
        ]
    );
    let moved = then(state.clone(), Ok(events));
    assert_eq!(moved.managing_unit, OTHER_AGENCY);
    assert_eq!(moved.employing_unit, DIVISION);
    assert_eq!(
        when(&state, reassign("000.09.00.H33")),
        Err(DossierRule::BadDecision(
            "the dossier is in neither managing nor employing unit 000.09.00.H33".into()
        ))
    );
}

// ---- dates in sane ranges (issue 14) -------------------------------------

fn open_with(edit: impl FnOnce(&mut DossierChange)) -> Result<Vec<DomainEvent>, DossierRule> {
    let mut change = open(false);
    edit(&mut change);
    when_new(change)
}

#[test]
fn birth_date_out_of_range() {
    for date in [d(-2026, 1, 5), d(0, 1, 1), d(1899, 12, 31), d(2026, 3, 3)] {
        assert_eq!(
            open_with(|c| if let DossierChange::Open { birth_date, .. } = c {
                *birth_date = Some(date);
            }),
            Err(DossierRule::BirthDateOutOfRange {
                date,
                today: today()
            }),
            "{date}"
        );
    }
}

#[test]
fn decision_before_records() {
    for date in [d(-2026, 1, 5), d(0, 1, 1), d(1899, 12, 31)] {
        assert_eq!(
            open_with(|c| if let DossierChange::Open { decision, .. } = c {
                decision.date = date;
            }),
            Err(DossierRule::DecisionBeforeRecords {
                number: "12/QĐ-SYT".into(),
                date
            }),
            "{date}"
        );
    }
    // Every later decision passes the same check.
    let state = approved();
    assert!(matches!(
        when(
            &state,
            status(EmploymentStatus::Retired, doc("1/QĐ", d(-2026, 1, 5)))
        ),
        Err(DossierRule::DecisionBeforeRecords { .. })
    ));
}

#[test]
fn recruitment_out_of_range() {
    for date in [d(-2026, 1, 5), d(1899, 12, 31)] {
        assert_eq!(
            open_with(|c| if let DossierChange::Open { recruited_on, .. } = c {
                *recruited_on = date;
            }),
            Err(DossierRule::RecruitmentOutOfRange {
                date,
                earliest: None
            }),
            "{date}"
        );
    }
    assert_eq!(
        open_with(|c| if let DossierChange::Open { recruited_on, .. } = c {
            *recruited_on = d(1990, 5, 16);
        }),
        Err(DossierRule::RecruitmentOutOfRange {
            date: d(1990, 5, 16),
            earliest: Some(d(1990, 5, 17))
        })
    );
    // A decision signed today may recruit from next month.
    assert!(
        open_with(|c| if let DossierChange::Open { recruited_on, .. } = c {
            *recruited_on = d(2026, 4, 1);
        })
        .is_ok()
    );
}

#[test]
fn occurred_out_of_range() {
    let state = approved();
    for date in [d(-2026, 1, 5), d(1899, 12, 31), d(2026, 3, 3)] {
        assert_eq!(
            when(
                &state,
                declare_with_proof("residence", vec![field("8", "Hưng Yên")], date)
            ),
            Err(DossierRule::OccurredOutOfRange {
                date,
                today: today()
            }),
            "{date}"
        );
    }
}

fn import_of(full_name: &str, name_field: &str) -> DossierChange {
    let mut fields = identity();
    fields[0].value = name_field.into();
    DossierChange::Import {
        source_system: "csdlqg".into(),
        source_record_id: "R-7".into(),
        source_digest: None,
        person_id: PID.into(),
        full_name: full_name.into(),
        category: PersonnelCategory::CongChuc,
        managing_unit: UNIT.into(),
        employing_unit: DIVISION.into(),
        sections: vec![("identity".into(), fields)],
        handed_over_on: d(2026, 2, 2),
    }
}

#[test]
fn input_rules_hold_for_an_imported_record() {
    use hoso_domain::input::InputRule;
    // Decomposed text from the national database is stored composed.
    let nfd = "Nguye\u{0302}\u{0303}n Thi\u{0323} Hu\u{031B}o\u{031B}ng";
    let events = when_new(import_of(nfd, nfd)).unwrap();
    let DomainEvent::DossierImported(e) = &events[0] else {
        panic!("{:?}", events[0]);
    };
    assert_eq!(e.full_name, "Nguyễn Thị Hương");
    assert_eq!(e.sections[0].fields[0].value, "Nguyễn Thị Hương");
    // Controls and bidi overrides are refused, naming the value.
    assert_eq!(
        when_new(import_of("Nguyễn\u{0}Hương", "Hương")),
        Err(DossierRule::Input {
            field: "full_name".into(),
            rule: InputRule::ControlCharacter { code: 0, at: 6 }
        })
    );
    assert_eq!(
        when_new(import_of("Hương", "H\u{202E}ương")),
        Err(DossierRule::Input {
            field: "identity/1".into(),
            rule: InputRule::BidiControl {
                code: 0x202E,
                at: 1
            }
        })
    );
}

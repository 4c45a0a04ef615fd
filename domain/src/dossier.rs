//! The dossier aggregate: one stream per person (`dossier-<uuid>`).
//!
//! The workflow of a new dossier (HY 10.1–10.4, BT 6, DL 9.1):
//!
//! ```text
//! opened/imported ─declare─▶ declaring ─verify─▶ verified ─lock─▶ locked ─sign─▶ approved
//!                     ▲          │                                               │
//!                     └─return───┘            declare (with digitised proof) ◀──┘
//! ```
//!
//! After the first approval a declaration is a *change set* (BT 6.3, HY 10.5):
//! it must carry its digitised proof, it waits in `pending` while the approved
//! sections stay in force, and it goes through the same review and signed
//! approval. Decisions of the state (rank, salary, appointment, discipline…)
//! are recorded by the managing agency with their decision document; they
//! need no review because the decision is the authority.
//!
//! Every step that starts or ends a regulated clock opens or closes an
//! obligation with its due date from the province profile, in the same
//! batch as the step, so the SLA report never disagrees with the record.
//! Deadlines never block lawful late work; they are only recorded.
//!
//! [`decide`] is pure. Who may ask for a change, and whether other
//! aggregates agree (target unit exists, approval authority, key
//! registration), is checked by the workflow service before it is called.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use hoso_schemas::DomainEvent;
use hoso_schemas::SourceDocument;
use hoso_schemas::Spelling;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::{self as pb, FieldEntry};

use crate::input::{self, InputRule, TextKind};

pub use hoso_schemas::pb::dossier::{
    AllowanceKind, AppointmentKind, DisciplineBody, DisciplineForm, EmploymentStatus,
    EvaluationGrade, RankChangeKind, TrainingMode, TransferKind,
};

use crate::calendar::WorkingCalendar;
use crate::convert::{from_pb_date, to_decision_ref, to_pb_date};
use crate::form::{self, FormError};
use crate::person_id::{self, PersonIdProblem};
use crate::profile::{Obligation, Profile, Trigger};
pub use crate::review::ReviewState;
use crate::signing::{self, SignatureProblem};

/// Stream name prefix of the dossier family.
pub const STREAM_PREFIX: &str = "dossier-";

/// The stream of one dossier.
pub fn stream_id(dossier_id: &str) -> String {
    format!("{STREAM_PREFIX}{dossier_id}")
}

/// The reservation stream of an identification number, named by its
/// person key (the keyed hash the commands layer computes), never by the
/// number or an unkeyed digest of it: every reader of the log sees stream
/// names, and the space of numbers is small enough to search.
pub fn person_id_stream(person_key: &str) -> String {
    format!("pid-{person_key}")
}

/// One signed approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// Revision approved.
    pub revision: u64,
    /// Chain hash at that revision.
    pub stream_hash: Vec<u8>,
    /// Key used.
    pub key_id: String,
    /// Signature.
    pub signature: Vec<u8>,
    /// Signing account.
    pub signer: String,
    /// Delegating head, when signed by a deputy.
    pub delegated_from: Option<String>,
}

/// A transfer to another agency in progress (DL 10.2, KT 11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransfer {
    /// Id.
    pub transfer_id: String,
    /// Kind.
    pub kind: TransferKind,
    /// Sending unit.
    pub from: String,
    /// Receiving agency.
    pub to: String,
    /// Effective date.
    pub effective: NaiveDate,
}

/// An obligation not yet closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenObligation {
    /// Profile key.
    pub obligation: String,
    /// Due date.
    pub due: NaiveDate,
    /// Unit expected to act.
    pub responsible: String,
}

/// State of one dossier.
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    /// Dossier id.
    pub id: String,
    /// Identification number, once the commands layer has opened it (empty
    /// when folded from sealed events that were not opened).
    pub person_id: String,
    /// Keyed hash of the identification number (the events' `person_key`).
    pub person_key: String,
    /// Name.
    pub full_name: String,
    /// Date of birth, if known.
    pub birth_date: Option<NaiveDate>,
    /// Category.
    pub category: PersonnelCategory,
    /// Managing unit (H1).
    pub managing_unit: String,
    /// Employing unit (H2).
    pub employing_unit: String,
    /// Employment status.
    pub status: EmploymentStatus,
    /// Review cycle.
    pub workflow: ReviewState,
    /// Sections as last approved, by section code.
    pub approved: BTreeMap<String, Vec<FieldEntry>>,
    /// Sections declared since, not yet approved.
    pub pending: BTreeMap<String, Vec<FieldEntry>>,
    /// Reasons of the last return.
    pub returned_reasons: Vec<String>,
    /// Signed approvals.
    pub approvals: Vec<ApprovalRecord>,
    /// Transfer in progress.
    pub transfer: Option<PendingTransfer>,
    /// Transfer accepted and not yet forwarded to a using unit.
    pub accepted_transfer: Option<String>,
    /// Open obligations by id.
    pub obligations: BTreeMap<String, OpenObligation>,
    /// Last revision.
    pub revision: u64,
    /// Chain hash of the last event; set by the loader from the stored
    /// event, since a domain event alone does not know it.
    pub head_hash: [u8; 32],
}

impl Dossier {
    /// Whether the dossier is in the archive: its person has left (BT 11.5,
    /// HY 12.1). A seconded person still belongs to the unit.
    pub fn is_archived(&self) -> bool {
        is_archived_status(self.status)
    }

    /// Whether it has ever been approved.
    pub fn ever_approved(&self) -> bool {
        !self.approvals.is_empty()
    }

    /// Sections as they stand for the record: approved ones overlaid with
    /// nothing pending (pending changes are not in force yet).
    pub fn section(&self, code: &str) -> Option<&[FieldEntry]> {
        self.approved.get(code).map(Vec::as_slice)
    }
}

/// A status as Vietnamese readers name it (the portal, the inspector's timeline).
pub fn status_words(s: EmploymentStatus) -> &'static str {
    use EmploymentStatus as S;
    match s {
        S::Active => "Đang công tác",
        S::Seconded => "Biệt phái",
        S::TransferredOut => "Đã chuyển công tác",
        S::PartyBloc => "Chuyển sang khối Đảng, đoàn thể",
        S::Retired => "Nghỉ hưu",
        S::Resigned => "Thôi việc",
        S::Dismissed => "Buộc thôi việc",
        S::Deceased => "Từ trần",
        S::Unspecified => "Chưa xác định",
    }
}

/// [`status_words`] of a status in the API's spelling (`retired`), if it is one.
pub fn status_words_of(spelling: &str) -> Option<&'static str> {
    EmploymentStatus::from_spelling(spelling).map(status_words)
}

/// Whether a status puts the dossier in the archive.
pub fn is_archived_status(s: EmploymentStatus) -> bool {
    !matches!(
        s,
        EmploymentStatus::Active | EmploymentStatus::Seconded | EmploymentStatus::Unspecified
    )
}

/// Whether a status change is lawful (KT 11.3, HY 11.3): a deceased person
/// changes no more; a person who left can only be recorded as deceased; a
/// seconded person returns or leaves.
pub fn status_transition_allowed(from: EmploymentStatus, to: EmploymentStatus) -> bool {
    use EmploymentStatus as S;
    if to == S::Unspecified || from == to {
        return false;
    }
    match from {
        S::Active | S::Unspecified => to != S::Active,
        S::Seconded => true,
        S::Deceased => false,
        S::Retired | S::TransferredOut | S::PartyBloc | S::Resigned | S::Dismissed => {
            to == S::Deceased
        }
    }
}

/// Folds one event of a dossier stream. The caller sets `head_hash`.
pub fn evolve(state: Option<Dossier>, event: &DomainEvent, dossier_id: &str) -> Option<Dossier> {
    use DomainEvent as E;
    let fresh = |person_id: &str,
                 person_key: &str,
                 full_name: &str,
                 birth_date,
                 category,
                 managing: &str,
                 employing: &str| Dossier {
        id: dossier_id.to_owned(),
        person_id: person_id.to_owned(),
        person_key: person_key.to_owned(),
        full_name: full_name.to_owned(),
        birth_date,
        category,
        managing_unit: managing.to_owned(),
        employing_unit: employing.to_owned(),
        status: EmploymentStatus::Active,
        workflow: ReviewState::AwaitingDeclaration,
        approved: BTreeMap::new(),
        pending: BTreeMap::new(),
        returned_reasons: Vec::new(),
        approvals: Vec::new(),
        transfer: None,
        accepted_transfer: None,
        obligations: BTreeMap::new(),
        revision: 0,
        head_hash: [0; 32],
    };
    match (state, event) {
        (None, E::DossierOpened(e)) => Some(fresh(
            &e.person_id,
            &e.person_key,
            &e.full_name,
            from_pb_date(e.birth_date.as_ref()),
            e.category(),
            &e.managing_unit,
            &e.employing_unit,
        )),
        (None, E::DossierImported(e)) => {
            let mut d = fresh(
                &e.person_id,
                &e.person_key,
                &e.full_name,
                None,
                e.category(),
                &e.managing_unit,
                &e.employing_unit,
            );
            // The national record arrives as declared data that this
            // province's reviewers still have to check (BT 11.1).
            for s in &e.sections {
                d.pending.insert(s.section_code.clone(), s.fields.clone());
            }
            d.workflow = ReviewState::opened(!d.pending.is_empty());
            Some(d)
        }
        (None, _) => None,
        (Some(mut d), event) => {
            d.revision += 1;
            apply(&mut d, event);
            Some(d)
        }
    }
}

fn apply(d: &mut Dossier, event: &DomainEvent) {
    use DomainEvent as E;
    let workflow_before = d.workflow;
    match event {
        E::DeclarationSubmitted(e) => {
            d.pending.insert(e.section_code.clone(), e.fields.clone());
        }
        E::DeclarationReturned(e) => {
            d.pending.remove(&e.section_code);
            d.returned_reasons.clone_from(&e.reasons);
        }
        E::ApprovalSigned(e) => apply_approval(d, e),
        E::DepartmentChanged(e) => d.employing_unit.clone_from(&e.to_org_code),
        E::TransferInitiated(e) => d.transfer = Some(PendingTransfer::initiated(e)),
        E::TransferAccepted(e) => apply_transfer_accepted(d, e),
        E::TransferForwarded(e) => {
            d.employing_unit.clone_from(&e.to_org_code);
            d.accepted_transfer = None;
        }
        E::TransferRejected(_) => d.transfer = None,
        E::StatusChanged(e) => d.status = e.status(),
        E::ManagingUnitReassigned(e) => apply_unit_reassigned(d, e),
        E::ObligationOpened(e) => apply_obligation_opened(d, e),
        E::ObligationClosed(e) => {
            d.obligations.remove(&e.obligation_id);
        }
        _ => {}
    }
    d.workflow = workflow_before.after(event, !d.pending.is_empty());
}

/// A signed approval makes everything pending approved and keeps the
/// signature, so the approval can be verified again later.
fn apply_approval(d: &mut Dossier, e: &pb::ApprovalSigned) {
    let pending = std::mem::take(&mut d.pending);
    d.approved.extend(pending);
    d.approvals.push(ApprovalRecord {
        revision: e.revision,
        stream_hash: e.stream_hash.clone(),
        key_id: e.key_id.clone(),
        signature: e.signature.clone(),
        signer: e.signer.clone(),
        delegated_from: e.delegated_from.clone(),
    });
}

impl PendingTransfer {
    /// The transfer as initiated; a missing effective date reads as the
    /// default date rather than failing the fold of a stored event.
    fn initiated(e: &pb::TransferInitiated) -> Self {
        Self {
            transfer_id: e.transfer_id.clone(),
            kind: e.kind(),
            from: e.from_org_code.clone(),
            to: e.to_org_code.clone(),
            effective: from_pb_date(e.effective.as_ref()).unwrap_or_default(),
        }
    }
}

/// On acceptance the receiving agency manages the dossier; an acceptance
/// without a pending transfer changes nothing.
fn apply_transfer_accepted(d: &mut Dossier, e: &pb::TransferAccepted) {
    if let Some(t) = d.transfer.take() {
        d.managing_unit.clone_from(&t.to);
        d.employing_unit.clone_from(&e.org_code);
        d.accepted_transfer = Some(t.transfer_id);
    }
}

/// A unit reorganised away hands its role over, whether it managed or
/// employed the person (or both).
fn apply_unit_reassigned(d: &mut Dossier, e: &pb::ManagingUnitReassigned) {
    if d.managing_unit == e.from_org_code {
        d.managing_unit.clone_from(&e.to_org_code);
    }
    if d.employing_unit == e.from_org_code {
        d.employing_unit.clone_from(&e.to_org_code);
    }
}

/// Tracks an open obligation; one whose due date cannot be read is not
/// tracked.
fn apply_obligation_opened(d: &mut Dossier, e: &pb::ObligationOpened) {
    if let Some(due) = from_pb_date(e.due.as_ref()) {
        d.obligations.insert(
            e.obligation_id.clone(),
            OpenObligation {
                obligation: e.obligation.clone(),
                due,
                responsible: e.responsible_org_code.clone(),
            },
        );
    }
}

/// A decision of the state about the person, recorded by the managing agency.
#[derive(Debug, Clone, PartialEq)]
pub enum StateDecision {
    /// Appointment, reappointment, relief, election.
    Appointment {
        /// Kind.
        kind: AppointmentKind,
        /// Position.
        position_title: String,
        /// Unit of the position.
        org_code: String,
        /// End of term.
        term_end: Option<NaiveDate>,
    },
    /// Rank or professional title.
    Rank {
        /// Kind.
        kind: RankChangeKind,
        /// Code, e.g. "01.003".
        rank_code: String,
        /// Name.
        rank_name: String,
    },
    /// Salary step and coefficient.
    Salary {
        /// Rank code.
        rank_code: String,
        /// Step from 1.
        step: u32,
        /// Coefficient in hundredths.
        coefficient_x100: u32,
        /// Salary group, e.g. "A1".
        salary_group: String,
    },
    /// Allowance set or ended.
    Allowance {
        /// Kind.
        kind: AllowanceKind,
        /// Name in the decision.
        name: String,
        /// Amount; `None` ends it.
        amount: Option<pb::allowance_changed::Amount>,
    },
    /// Award.
    Award {
        /// Form.
        form: String,
        /// Reason.
        reason: String,
        /// Year.
        year: u32,
    },
    /// Discipline.
    Discipline {
        /// Form.
        form: DisciplineForm,
        /// Body.
        body: DisciplineBody,
        /// Reason.
        reason: String,
        /// End of effect.
        until: Option<NaiveDate>,
    },
    /// Training (a row of item 27).
    Training {
        /// Institution.
        institution: String,
        /// Major.
        major: String,
        /// Start.
        from: Option<NaiveDate>,
        /// End.
        until: Option<NaiveDate>,
        /// Mode.
        mode: TrainingMode,
        /// Qualification.
        qualification: String,
    },
    /// Annual evaluation.
    Evaluation {
        /// Year.
        year: u32,
        /// Grade.
        grade: EvaluationGrade,
        /// Comments.
        comments: String,
    },
    /// Planning (quy hoạch): the person is planned for a position over a
    /// period of years.
    Planning {
        /// The position planned for.
        position_title: String,
        /// Unit of the position.
        org_code: String,
        /// First year of the period.
        from_year: u32,
        /// Last year of the period (inclusive).
        until_year: u32,
    },
}

/// The longest planning period accepted, in years: a planning covers one
/// term ahead (five years) and the next one's start.
pub const PLANNING_MAX_YEARS: u32 = 10;

/// A signature that the service has matched to a registered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedApproval {
    /// Revision the signer saw.
    pub revision: u64,
    /// Chain hash the signer saw.
    pub stream_hash: [u8; 32],
    /// Key id.
    pub key_id: String,
    /// The key's public half, from the signer's account.
    pub public_key: Vec<u8>,
    /// ed25519 signature over [`signing::approval_digest`].
    pub signature: Vec<u8>,
    /// Signing account.
    pub signer: String,
    /// The head whose power a deputy uses.
    pub delegated_from: Option<String>,
}

/// What to do to a dossier.
#[derive(Debug, Clone, PartialEq)]
pub enum DossierChange {
    /// Open after a recruitment decision or contract.
    Open {
        /// Identification number.
        person_id: String,
        /// Name.
        full_name: String,
        /// Date of birth.
        birth_date: Option<NaiveDate>,
        /// Category.
        category: PersonnelCategory,
        /// Managing unit.
        managing_unit: String,
        /// Employing unit.
        employing_unit: String,
        /// Recruitment date.
        recruited_on: NaiveDate,
        /// Recruitment decision or contract.
        decision: SourceDocument,
        /// The person already has a personal account (the clock for
        /// declaring starts now rather than at its issue).
        has_personal_account: bool,
    },
    /// Import a record pulled from the national database (BT 11.1, HY 11.2).
    Import {
        /// e.g. "csdlqg".
        source_system: String,
        /// Record id there.
        source_record_id: String,
        /// SHA-256 of the record's bytes as received, when the import came
        /// from received bytes (a record pushed over HTTP).
        source_digest: Option<[u8; 32]>,
        /// Identification number.
        person_id: String,
        /// Name.
        full_name: String,
        /// Category.
        category: PersonnelCategory,
        /// Managing unit.
        managing_unit: String,
        /// Employing unit.
        employing_unit: String,
        /// Sections of the record.
        sections: Vec<(String, Vec<FieldEntry>)>,
        /// When the paper dossier was handed over (starts the HY 11.2 clock).
        handed_over_on: NaiveDate,
    },
    /// The personal account was issued (starts the declaration clock where
    /// the profile counts from it).
    PersonalAccountIssued,
    /// Declare one section.
    Declare {
        /// Section code.
        section_code: String,
        /// Fields.
        fields: Vec<FieldEntry>,
        /// SHA-256 of digitised proofs.
        attachments: Vec<[u8; 32]>,
        /// For a change to an approved dossier: when the change happened (or
        /// the valid paper arrived, KT 10.2); starts the declaring clock.
        /// Today when not given.
        occurred_on: Option<NaiveDate>,
    },
    /// Return sections with reasons (HY 15.6).
    Return {
        /// Sections (empty: all pending).
        section_codes: Vec<String>,
        /// Reasons told to the person.
        reasons: Vec<String>,
    },
    /// Verify the pending declaration.
    Verify {
        /// Note.
        note: String,
    },
    /// Lock the verified declaration (HY 10.3).
    Lock {
        /// Reason.
        reason: String,
    },
    /// Record the head's signature.
    Approve(SignedApproval),
    /// Record a decision of the state.
    RecordDecision {
        /// What.
        decision: StateDecision,
        /// Effective date (may be in the past).
        effective: NaiveDate,
        /// Decision document.
        document: SourceDocument,
    },
    /// Move within the same agency (DL 10.1).
    ChangeDepartment {
        /// New employing division.
        to: String,
        /// Effective date.
        effective: NaiveDate,
        /// Decision.
        document: SourceDocument,
    },
    /// Send to another agency (DL 10.2).
    InitiateTransfer {
        /// Id.
        transfer_id: String,
        /// Kind.
        kind: TransferKind,
        /// Receiving agency.
        to: String,
        /// Effective date.
        effective: NaiveDate,
        /// Decision, with its scanned copy.
        document: SourceDocument,
    },
    /// The receiving agency accepts.
    AcceptTransfer {
        /// Id.
        transfer_id: String,
        /// Unit the dossier lands in (the receiving agency itself).
        at: String,
    },
    /// The receiving agency passes it to the using unit.
    ForwardTransfer {
        /// Id of the accepted transfer.
        transfer_id: String,
        /// Using unit.
        to: String,
    },
    /// The receiving agency refuses.
    RejectTransfer {
        /// Id.
        transfer_id: String,
        /// Why.
        reason: String,
    },
    /// Change employment status (KT 11.3, HY 11.3).
    ChangeStatus {
        /// New status.
        status: EmploymentStatus,
        /// Effective date.
        effective: NaiveDate,
        /// Decision.
        document: SourceDocument,
        /// Note.
        note: String,
    },
    /// The unit was merged or split: move to the successor (DL 5.5).
    Reassign {
        /// The ceased unit.
        from: String,
        /// Successor.
        to: String,
        /// Effective date.
        effective: NaiveDate,
        /// Restructuring decision.
        document: SourceDocument,
    },
}

/// The rule a dossier change breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DossierRule {
    /// No such dossier.
    #[error("dossier does not exist")]
    NotOpened,
    /// Opened already.
    #[error("dossier already exists")]
    AlreadyOpened,
    /// Bad identification number.
    #[error("{0}")]
    BadPersonId(PersonIdProblem),
    /// The number belongs to another dossier.
    #[error("identification number already has dossier {0} in this province")]
    PersonIdTaken(String),
    /// Category unspecified.
    #[error("personnel category is required")]
    CategoryRequired,
    /// Name missing.
    #[error("full name is required")]
    NameRequired,
    /// Decision document incomplete.
    #[error("the decision document needs its number and issuer")]
    DecisionIncomplete,
    /// Decision dated in the future.
    #[error("decision {number} is dated {date}, after today {today}")]
    DecisionInFuture {
        /// Number.
        number: String,
        /// Date.
        date: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// A document dated before the first year any record is kept for
    /// ([`crate::input::FIRST_YEAR`]).
    #[error(
        "decision {number} is dated {date}, before {}",
        crate::input::FIRST_YEAR
    )]
    DecisionBeforeRecords {
        /// Number.
        number: String,
        /// Date.
        date: NaiveDate,
    },
    /// A birth date before [`crate::input::FIRST_YEAR`] or after today.
    #[error(
        "birth date {date} is not between {}-01-01 and today {today}",
        crate::input::FIRST_YEAR
    )]
    BirthDateOutOfRange {
        /// Date given.
        date: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// A recruitment before [`crate::input::FIRST_YEAR`] or before the
    /// person was born. Its effective date may lie after today: a decision
    /// signed now may recruit from next month.
    #[error("recruitment on {date} is before {}", earliest.map_or_else(|| format!("{}", crate::input::FIRST_YEAR), |b| format!("the birth date {b}")))]
    RecruitmentOutOfRange {
        /// Date given.
        date: NaiveDate,
        /// The birth date, when that is what it precedes.
        earliest: Option<NaiveDate>,
    },
    /// A declared change said to have happened after today or before
    /// [`crate::input::FIRST_YEAR`].
    #[error(
        "the change is said to have occurred on {date}, which is not between {}-01-01 and today {today}",
        crate::input::FIRST_YEAR
    )]
    OccurredOutOfRange {
        /// Date given.
        date: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// Text that breaks the input rules ([`crate::input`]); the API refuses it
    /// at its edge, this catches the paths that bypass HTTP (bulk import).
    #[error("{field}: {rule}")]
    Input {
        /// Which value.
        field: String,
        /// The rule it broke.
        rule: InputRule,
    },
    /// A change without its digitised document (BT 6.3, HY 8.5).
    #[error("{what} needs its digitised supporting document (BT 6.3, HY 8.5)")]
    ProofRequired {
        /// What lacked it.
        what: &'static str,
    },
    /// A transfer decision without its scanned copy (DL 10.2).
    #[error("a transfer to another agency needs the scanned decision attached (DL 10.2)")]
    ScannedDecisionRequired,
    /// The section does not fit the form.
    #[error("{0}")]
    Form(FormError),
    /// Declaration after verification or lock (HY 10.3).
    #[error("the declaration is {0}; it cannot change until the head has signed (HY 10.3)")]
    DeclarationLocked(&'static str),
    /// Nothing to review.
    #[error("nothing is pending review")]
    NothingPending,
    /// Return without reasons (HY 15.6).
    #[error("a returned declaration must say why (HY 15.6)")]
    ReasonsRequired,
    /// Section not pending.
    #[error("section {0} is not pending")]
    SectionNotPending(String),
    /// Required sections missing before the first approval.
    #[error("a new dossier needs section {0} declared before it can be verified")]
    SectionMissing(&'static str),
    /// Step out of order.
    #[error("the dossier is {actual}; {step} needs it {expected}")]
    WrongStep {
        /// The step asked for.
        step: &'static str,
        /// Where the dossier is.
        actual: ReviewState,
        /// Where it must be.
        expected: &'static str,
    },
    /// Approval of a revision that is not the current one.
    #[error(
        "approval signed revision {signed}, but the dossier is at revision {current}; sign the current revision"
    )]
    StaleApproval {
        /// Revision signed.
        signed: u64,
        /// Current revision.
        current: u64,
    },
    /// Approval over a hash that is not the stream's.
    #[error("approval signed a hash that is not the dossier's hash at revision {0}")]
    HashMismatch(u64),
    /// The signature does not verify.
    #[error("approval signature: {0}")]
    BadSignature(SignatureProblem),
    /// The dossier is archived (BT 11.5, HY 12.1).
    #[error(
        "the dossier is archived ({}); only a lawful status change may be recorded (BT 11.5, HY 12.1)",
        .0.spelling()
    )]
    Archived(EmploymentStatus),
    /// Unlawful status change (KT 11.3, HY 11.3).
    #[error(
        "status cannot change from {} to {} (KT 11.3, HY 11.3)",
        from.spelling(),
        to.spelling()
    )]
    StatusTransition {
        /// Current.
        from: EmploymentStatus,
        /// Asked.
        to: EmploymentStatus,
    },
    /// The dossier is in transit to another agency: until the receiver
    /// accepts or rejects the transfer nobody changes it; the sender's
    /// access ends with the hand-over (BT 11.3, HY 11.1).
    #[error(
        "the dossier is in transit to {to} (transfer {transfer_id}); nothing may change it until {to} accepts or rejects the transfer (BT 11.3, HY 11.1)"
    )]
    InTransit {
        /// The pending transfer.
        transfer_id: String,
        /// The receiving agency.
        to: String,
    },
    /// No such transfer.
    #[error("no transfer {0} is in progress")]
    NoSuchTransfer(String),
    /// Transfer to the unit it is already in.
    #[error("the dossier is already in {0}")]
    SameUnit(String),
    /// Bad state-decision content.
    #[error("{0}")]
    BadDecision(String),
}

impl DossierRule {
    /// The article the rule comes from, where one does.
    pub fn citation(&self) -> Option<&'static str> {
        Some(match self {
            Self::ProofRequired { .. } => "BT 6.3, HY 8.5",
            Self::ScannedDecisionRequired => "DL 10.2",
            Self::DeclarationLocked(_) => "HY 10.3",
            Self::ReasonsRequired => "HY 15.6",
            Self::Archived(_) => "BT 11.5, HY 12.1",
            Self::StatusTransition { .. } => "KT 11.3, HY 11.3",
            Self::InTransit { .. } => "BT 11.3, HY 11.1",
            Self::PersonIdTaken(_) | Self::BadPersonId(_) => "BT 3.6, KT 3.3",
            _ => return None,
        })
    }

    /// Stable identifier of the rule, for API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOpened => "dossier-not-opened",
            Self::AlreadyOpened => "dossier-already-opened",
            Self::BadPersonId(_) => "bad-person-id",
            Self::PersonIdTaken(_) => "person-id-taken",
            Self::CategoryRequired => "category-required",
            Self::NameRequired => "name-required",
            Self::DecisionIncomplete => "decision-incomplete",
            Self::DecisionInFuture { .. } => "decision-in-future",
            Self::DecisionBeforeRecords { .. } => "decision-before-records",
            Self::BirthDateOutOfRange { .. } => "birth-date-out-of-range",
            Self::RecruitmentOutOfRange { .. } => "recruitment-out-of-range",
            Self::OccurredOutOfRange { .. } => "occurred-out-of-range",
            Self::Input { rule, .. } => rule.code(),
            Self::ProofRequired { .. } => "proof-required",
            Self::ScannedDecisionRequired => "scanned-decision-required",
            Self::Form(_) => "form",
            Self::DeclarationLocked(_) => "declaration-locked",
            Self::NothingPending => "nothing-pending",
            Self::ReasonsRequired => "reasons-required",
            Self::SectionNotPending(_) => "section-not-pending",
            Self::SectionMissing(_) => "section-missing",
            Self::WrongStep { .. } => "wrong-step",
            Self::StaleApproval { .. } => "stale-approval",
            Self::HashMismatch(_) => "hash-mismatch",
            Self::BadSignature(_) => "bad-signature",
            Self::Archived(_) => "archived",
            Self::StatusTransition { .. } => "status-transition",
            Self::InTransit { .. } => "in-transit",
            Self::NoSuchTransfer(_) => "no-such-transfer",
            Self::SameUnit(_) => "same-unit",
            Self::BadDecision(_) => "bad-decision",
        }
    }
}

/// A refused dossier change: the rule, the dossier and its revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule} (dossier {dossier}{})", revision.map(|r| format!(" at revision {r}")).unwrap_or_default())]
pub struct DossierRejection {
    /// Dossier id.
    pub dossier: String,
    /// Its revision, if it exists.
    pub revision: Option<u64>,
    /// The rule.
    pub rule: DossierRule,
}

/// What [`decide`] needs besides the dossier.
#[derive(Debug, Clone, Copy)]
pub struct DossierContext<'a> {
    /// Today, injected.
    pub today: NaiveDate,
    /// The province's rules.
    pub profile: &'a Profile,
    /// Its working-day calendar.
    pub calendar: &'a WorkingCalendar,
}

/// Decides a change against the dossier's state.
pub fn decide(
    state: Option<&Dossier>,
    dossier_id: &str,
    change: DossierChange,
    ctx: &DossierContext<'_>,
) -> Result<Vec<DomainEvent>, DossierRejection> {
    let reject = |rule: DossierRule| DossierRejection {
        dossier: dossier_id.to_owned(),
        revision: state.map(|d| d.revision),
        rule,
    };
    match state {
        None => decide_open(dossier_id, change, ctx),
        Some(d) => decide_existing(d, change, ctx).map_err(reject),
    }
}

/// Events of one decision, with the revision the next one will get.
struct Batch<'a> {
    events: Vec<DomainEvent>,
    first_revision: u64,
    ctx: &'a DossierContext<'a>,
}

impl<'a> Batch<'a> {
    fn new(state: Option<&Dossier>, ctx: &'a DossierContext<'a>) -> Self {
        Self {
            events: Vec::new(),
            first_revision: state.map_or(0, |d| d.revision + 1),
            ctx,
        }
    }

    fn push(&mut self, e: impl Into<DomainEvent>) {
        self.events.push(e.into());
    }

    /// Opens an obligation if the profile sets a deadline for it; returns
    /// its id and due date.
    fn open_obligation(
        &mut self,
        ob: Obligation,
        dates: Dates,
        responsible: &str,
    ) -> Option<(String, NaiveDate)> {
        let rule = self.ctx.profile.deadline(ob)?;
        let counted_from = dates.for_trigger(rule.counted_from);
        let due = rule.due(counted_from, self.ctx.calendar);
        let id = format!("{}-{}", ob.key(), self.first_revision);
        let citation = rule.citation.clone();
        self.push(pb::ObligationOpened {
            obligation_id: id.clone(),
            obligation: ob.key().to_owned(),
            counted_from: Some(to_pb_date(counted_from)),
            due: Some(to_pb_date(due)),
            citation,
            responsible_org_code: responsible.to_owned(),
        });
        Some((id, due))
    }

    fn push_close(&mut self, obligation_id: String, due: NaiveDate, outcome: &str) {
        let today = self.ctx.today;
        self.push(pb::ObligationClosed {
            obligation_id,
            closed_on: Some(to_pb_date(today)),
            late: today > due,
            outcome: outcome.to_owned(),
        });
    }

    /// Closes every open obligation of kind `ob`.
    fn close(&mut self, state: &Dossier, ob: Obligation, outcome: &str) {
        for (id, o) in &state.obligations {
            if o.obligation == ob.key() {
                self.push_close(id.clone(), o.due, outcome);
            }
        }
    }

    /// Opens and at once closes an obligation fulfilled by this very
    /// decision (recording a decision of the state, a status change): the
    /// record shows its due date and whether it was met.
    fn fulfil(&mut self, ob: Obligation, dates: Dates, responsible: &str, outcome: &str) {
        if let Some((id, due)) = self.open_obligation(ob, dates, responsible) {
            self.push_close(id, due, outcome);
        }
    }
}

/// The dates a deadline may be counted from.
#[derive(Debug, Clone, Copy)]
struct Dates {
    today: NaiveDate,
    occurred: Option<NaiveDate>,
    decision: Option<NaiveDate>,
    effective: Option<NaiveDate>,
    handed_over: Option<NaiveDate>,
}

impl Dates {
    fn today(today: NaiveDate) -> Self {
        Self {
            today,
            occurred: None,
            decision: None,
            effective: None,
            handed_over: None,
        }
    }

    fn of_decision(today: NaiveDate, doc: &SourceDocument, effective: NaiveDate) -> Self {
        Self {
            today,
            occurred: None,
            decision: Some(doc.date),
            effective: Some(effective),
            handed_over: None,
        }
    }

    fn for_trigger(&self, t: Trigger) -> NaiveDate {
        match t {
            Trigger::DecisionDated => self.decision.or(self.effective).unwrap_or(self.today),
            Trigger::DecisionEffective => self.effective.or(self.decision).unwrap_or(self.today),
            Trigger::DossierHandedOver => self.handed_over.unwrap_or(self.today),
            Trigger::ChangeOccurred | Trigger::ValidPaperReceived => {
                self.occurred.unwrap_or(self.today)
            }
            // The remaining triggers are the step being recorded now.
            Trigger::AccountIssued
            | Trigger::DeclarationSubmitted
            | Trigger::BasicDataEntered
            | Trigger::DeclarationLocked
            | Trigger::TransferReceived => self.today,
        }
    }
}

fn check_document(doc: &SourceDocument, today: NaiveDate) -> Result<(), DossierRule> {
    if doc.number.trim().is_empty() || doc.issuer.trim().is_empty() {
        return Err(DossierRule::DecisionIncomplete);
    }
    if doc.date > today {
        return Err(DossierRule::DecisionInFuture {
            number: doc.number.clone(),
            date: doc.date,
            today,
        });
    }
    if doc.date.year() < crate::input::FIRST_YEAR {
        return Err(DossierRule::DecisionBeforeRecords {
            number: doc.number.clone(),
            date: doc.date,
        });
    }
    Ok(())
}

/// `text` in NFC, or the input rule it breaks, naming `field`.
fn clean_input(field: &str, text: &str, kind: TextKind) -> Result<String, DossierRule> {
    input::clean(text, kind).map_err(|rule| DossierRule::Input {
        field: field.to_owned(),
        rule,
    })
}

/// A recruitment's effective date: not before records are kept nor before
/// the person was born (it may be after today).
fn check_recruitment(
    recruited_on: NaiveDate,
    birth_date: Option<NaiveDate>,
) -> Result<(), DossierRule> {
    if recruited_on.year() < crate::input::FIRST_YEAR {
        return Err(DossierRule::RecruitmentOutOfRange {
            date: recruited_on,
            earliest: None,
        });
    }
    if let Some(birth) = birth_date.filter(|b| recruited_on < *b) {
        return Err(DossierRule::RecruitmentOutOfRange {
            date: recruited_on,
            earliest: Some(birth),
        });
    }
    Ok(())
}

fn check_proof(doc: &SourceDocument, what: &'static str) -> Result<(), DossierRule> {
    if doc.attachment_sha256.is_none() {
        return Err(DossierRule::ProofRequired { what });
    }
    Ok(())
}

/// Opens a dossier or imports one; called by [`decide`] for a stream with no events.
pub fn decide_open(
    dossier_id: &str,
    change: DossierChange,
    ctx: &DossierContext<'_>,
) -> Result<Vec<DomainEvent>, DossierRejection> {
    open_events(change, ctx).map_err(|rule| DossierRejection {
        dossier: dossier_id.to_owned(),
        revision: None,
        rule,
    })
}

/// The events that open a dossier, or the rule the change breaks; kept
/// apart from [`decide_open`], which only labels the rejection.
fn open_events(
    change: DossierChange,
    ctx: &DossierContext<'_>,
) -> Result<Vec<DomainEvent>, DossierRule> {
    let mut b = Batch::new(None, ctx);
    match change {
        DossierChange::Open {
            person_id,
            full_name,
            birth_date,
            category,
            managing_unit,
            employing_unit,
            recruited_on,
            decision,
            has_personal_account,
        } => {
            check_identity(&person_id, birth_date, category, &full_name, ctx.today)?;
            check_document(&decision, ctx.today)?;
            check_recruitment(recruited_on, birth_date)?;
            b.push(pb::DossierOpened {
                person_id,
                full_name,
                category: category.into(),
                managing_unit: managing_unit.clone(),
                employing_unit,
                recruitment_decision: Some(to_decision_ref(&decision)),
                recruited_on: Some(to_pb_date(recruited_on)),
                birth_date: birth_date.map(to_pb_date),
                // The commands layer seals the number and keys it on the way
                // to the log; the domain holds no key.
                ..Default::default()
            });
            let dates = Dates::of_decision(ctx.today, &decision, recruited_on);
            open_new_dossier_clocks(&mut b, dates, &managing_unit, has_personal_account);
        }
        DossierChange::Import {
            source_system,
            source_record_id,
            source_digest,
            person_id,
            full_name,
            category,
            managing_unit,
            employing_unit,
            mut sections,
            handed_over_on,
        } => {
            // A pulled record never passed the API's edge: the same rules here.
            let source_system = clean_input("source_system", &source_system, TextKind::Short)?;
            let source_record_id =
                clean_input("source_record_id", &source_record_id, TextKind::Short)?;
            let full_name = clean_input("full_name", &full_name, TextKind::Short)?;
            for (code, fields) in &mut sections {
                for f in fields.iter_mut() {
                    f.value = clean_input(
                        &format!("{code}/{}", f.field_code),
                        &f.value,
                        TextKind::Long,
                    )?;
                }
            }
            check_identity(&person_id, None, category, &full_name, ctx.today)?;
            check_imported_sections(&sections, &person_id)?;
            let has_sections = !sections.is_empty();
            b.push(pb::DossierImported {
                source_system,
                source_record_id,
                person_id,
                full_name,
                category: category.into(),
                managing_unit: managing_unit.clone(),
                employing_unit,
                sections: section_data(sections),
                source_digest: source_digest.map(Vec::from).unwrap_or_default(),
                // Sealed and keyed by the commands layer, as in DossierOpened.
                ..Default::default()
            });
            import_clocks(&mut b, handed_over_on, &managing_unit, has_sections);
        }
        _ => return Err(DossierRule::NotOpened),
    }
    Ok(b.events)
}

/// An imported record's sections must pass the same form rules as a
/// declaration, checked in the record's order so the first bad one is named.
fn check_imported_sections(
    sections: &[(String, Vec<FieldEntry>)],
    person_id: &str,
) -> Result<(), DossierRule> {
    for (code, fields) in sections {
        form::validate_section(code, fields, person_id).map_err(DossierRule::Form)?;
    }
    Ok(())
}

/// The imported sections in the event's shape.
fn section_data(sections: Vec<(String, Vec<FieldEntry>)>) -> Vec<pb::SectionData> {
    sections
        .into_iter()
        .map(|(section_code, fields)| pb::SectionData {
            section_code,
            fields,
        })
        .collect()
}

/// Who the dossier is about: a valid identification number, a category and
/// a name, checked in that order.
fn check_identity(
    person_id: &str,
    birth_date: Option<NaiveDate>,
    category: PersonnelCategory,
    full_name: &str,
    today: NaiveDate,
) -> Result<(), DossierRule> {
    if let Some(date) = birth_date.filter(|b| b.year() < crate::input::FIRST_YEAR || *b > today) {
        return Err(DossierRule::BirthDateOutOfRange { date, today });
    }
    person_id::validate(person_id, birth_date).map_err(DossierRule::BadPersonId)?;
    if category == PersonnelCategory::Unspecified {
        return Err(DossierRule::CategoryRequired);
    }
    if full_name.trim().is_empty() {
        return Err(DossierRule::NameRequired);
    }
    Ok(())
}

/// A recruitment starts the account's clock, or the declaring one when the
/// person already has an account.
fn open_new_dossier_clocks(
    b: &mut Batch<'_>,
    dates: Dates,
    managing_unit: &str,
    has_personal_account: bool,
) {
    if has_personal_account {
        b.open_obligation(Obligation::DeclareNewDossier, dates, managing_unit);
    } else {
        b.open_obligation(Obligation::IssueNewDossierAccount, dates, managing_unit);
        // Where the profile counts the declaration from the decision
        // (not from the account), its clock starts now too.
        if b.ctx
            .profile
            .deadline(Obligation::DeclareNewDossier)
            .is_some_and(|r| r.counted_from != Trigger::AccountIssued)
        {
            b.open_obligation(Obligation::DeclareNewDossier, dates, managing_unit);
        }
    }
}

/// An import meets the request for the paper dossier (HY 11.2) and, when it
/// brought sections, starts their review.
fn import_clocks(
    b: &mut Batch<'_>,
    handed_over_on: NaiveDate,
    managing_unit: &str,
    has_sections: bool,
) {
    let today = b.ctx.today;
    let dates = Dates {
        handed_over: Some(handed_over_on),
        ..Dates::today(today)
    };
    b.fulfil(
        Obligation::RequestArrivalFromOtherProvince,
        dates,
        managing_unit,
        "imported from the national database",
    );
    if has_sections {
        b.open_obligation(
            Obligation::ReviewNewDossier,
            Dates::today(today),
            managing_unit,
        );
    }
}

fn decide_existing(
    d: &Dossier,
    change: DossierChange,
    ctx: &DossierContext<'_>,
) -> Result<Vec<DomainEvent>, DossierRule> {
    let mut b = Batch::new(Some(d), ctx);
    check_not_archived(d, &change)?;
    check_not_in_transit(d, &change)?;
    match change {
        DossierChange::Open { .. } | DossierChange::Import { .. } => {
            return Err(DossierRule::AlreadyOpened);
        }
        DossierChange::PersonalAccountIssued => personal_account_issued(d, &mut b),
        DossierChange::Declare {
            section_code,
            fields,
            attachments,
            occurred_on,
        } => declare(d, &mut b, section_code, fields, &attachments, occurred_on)?,
        DossierChange::Return {
            section_codes,
            reasons,
        } => return_sections(d, &mut b, section_codes, &reasons)?,
        DossierChange::Verify { note } => verify(d, &mut b, note)?,
        DossierChange::Lock { reason } => lock(d, &mut b, reason)?,
        DossierChange::Approve(s) => approve(d, &mut b, s)?,
        DossierChange::RecordDecision {
            decision,
            effective,
            document,
        } => record_decision(d, &mut b, decision, effective, &document)?,
        DossierChange::ChangeDepartment {
            to,
            effective,
            document,
        } => change_department(d, &mut b, to, effective, &document)?,
        DossierChange::InitiateTransfer {
            transfer_id,
            kind,
            to,
            effective,
            document,
        } => initiate_transfer(d, &mut b, transfer_id, kind, &to, effective, &document)?,
        DossierChange::AcceptTransfer { transfer_id, at } => {
            accept_transfer(d, &mut b, &transfer_id, at)?;
        }
        DossierChange::ForwardTransfer { transfer_id, to } => {
            forward_transfer(d, &mut b, transfer_id, to)?;
        }
        DossierChange::RejectTransfer {
            transfer_id,
            reason,
        } => reject_transfer(d, &mut b, &transfer_id, reason)?,
        DossierChange::ChangeStatus {
            status,
            effective,
            document,
            note,
        } => change_status(d, &mut b, status, effective, &document, note)?,
        DossierChange::Reassign {
            from,
            to,
            effective,
            document,
        } => reassign(d, &mut b, from, to, effective, &document)?,
    }
    Ok(b.events)
}

/// Archived dossiers are immutable except by a lawful status change, and
/// the archive moves with its unit when the unit is restructured (DL 5.5):
/// the successor keeps the records of people who left.
fn check_not_archived(d: &Dossier, change: &DossierChange) -> Result<(), DossierRule> {
    if d.is_archived()
        && !matches!(
            change,
            DossierChange::ChangeStatus { .. } | DossierChange::Reassign { .. }
        )
    {
        return Err(DossierRule::Archived(d.status));
    }
    Ok(())
}

/// A dossier in transit to another agency is frozen (BT 11.3, HY 11.1):
/// the sender hands it over with its access, and the receiver holds none
/// until it accepts. Only the receiver's answer goes through, and the two
/// facts no unit chooses: a personal account issued (it closes a clock) and
/// the reassignment of a restructured unit (DL 5.5), which must complete.
fn check_not_in_transit(d: &Dossier, change: &DossierChange) -> Result<(), DossierRule> {
    let Some(t) = &d.transfer else {
        return Ok(());
    };
    let allowed = matches!(
        change,
        DossierChange::AcceptTransfer { .. }
            | DossierChange::RejectTransfer { .. }
            | DossierChange::PersonalAccountIssued
            | DossierChange::Reassign { .. }
    );
    if allowed {
        return Ok(());
    }
    Err(DossierRule::InTransit {
        transfer_id: t.transfer_id.clone(),
        to: t.to.clone(),
    })
}

fn wrong_step(d: &Dossier, step: &'static str, expected: &'static str) -> DossierRule {
    DossierRule::WrongStep {
        step,
        actual: d.workflow,
        expected,
    }
}

fn has_open(d: &Dossier, ob: Obligation) -> bool {
    d.obligations.values().any(|o| o.obligation == ob.key())
}

/// The account ends the issuing clock and, where the profile counts the
/// declaration from the account, starts the declaring one.
fn personal_account_issued(d: &Dossier, b: &mut Batch<'_>) {
    b.close(
        d,
        Obligation::IssueNewDossierAccount,
        "personal account issued",
    );
    if d.workflow == ReviewState::AwaitingDeclaration && !has_open(d, Obligation::DeclareNewDossier)
    {
        b.open_obligation(
            Obligation::DeclareNewDossier,
            Dates::today(b.ctx.today),
            &d.managing_unit,
        );
    }
}

/// Declares one section: refused once verified or locked (HY 10.3); after
/// the first approval a change set that needs its proof (BT 6.3).
fn declare(
    d: &Dossier,
    b: &mut Batch<'_>,
    section_code: String,
    fields: Vec<FieldEntry>,
    attachments: &[[u8; 32]],
    occurred_on: Option<NaiveDate>,
) -> Result<(), DossierRule> {
    match d.workflow {
        ReviewState::Verified => return Err(DossierRule::DeclarationLocked("verified")),
        ReviewState::Locked => return Err(DossierRule::DeclarationLocked("locked")),
        _ => {}
    }
    let today = b.ctx.today;
    if let Some(date) = occurred_on.filter(|o| o.year() < crate::input::FIRST_YEAR || *o > today) {
        return Err(DossierRule::OccurredOutOfRange { date, today });
    }
    form::validate_section(&section_code, &fields, &d.person_id).map_err(DossierRule::Form)?;
    let change_set = d.ever_approved();
    if change_set && attachments.is_empty() {
        return Err(DossierRule::ProofRequired {
            what: "a change to an approved dossier",
        });
    }
    let first_pending = d.pending.is_empty();
    b.push(pb::DeclarationSubmitted {
        form: form::FORM_2C.to_owned(),
        section_code,
        fields,
        supporting_attachments: attachments.iter().map(|a| a.to_vec()).collect(),
        sealed_attachments: Vec::new(),
    });
    if change_set {
        declaration_clocks_of_change_set(d, b, occurred_on, first_pending);
    } else {
        declaration_clocks_of_new_dossier(d, b);
    }
    Ok(())
}

/// A change set: the declaring clock is met now; the first pending section
/// starts the one clock of review and approval.
fn declaration_clocks_of_change_set(
    d: &Dossier,
    b: &mut Batch<'_>,
    occurred_on: Option<NaiveDate>,
    first_pending: bool,
) {
    let today = b.ctx.today;
    b.fulfil(
        Obligation::DeclarePersonalChange,
        Dates {
            occurred: occurred_on,
            ..Dates::today(today)
        },
        &d.managing_unit,
        "declared with proof",
    );
    if first_pending {
        b.open_obligation(
            Obligation::ApprovePersonalChange,
            Dates::today(today),
            &d.managing_unit,
        );
    }
}

/// A new dossier: declaring ends its clock and starts the review's.
fn declaration_clocks_of_new_dossier(d: &Dossier, b: &mut Batch<'_>) {
    b.close(d, Obligation::DeclareNewDossier, "declared");
    if !has_open(d, Obligation::ReviewNewDossier) {
        b.open_obligation(
            Obligation::ReviewNewDossier,
            Dates::today(b.ctx.today),
            &d.managing_unit,
        );
    }
}

/// Returns pending sections, always with reasons (HY 15.6).
fn return_sections(
    d: &Dossier,
    b: &mut Batch<'_>,
    section_codes: Vec<String>,
    reasons: &[String],
) -> Result<(), DossierRule> {
    if !matches!(d.workflow, ReviewState::Declaring) {
        return Err(wrong_step(d, "return", "declared and not yet verified"));
    }
    if reasons.iter().all(|r| r.trim().is_empty()) {
        return Err(DossierRule::ReasonsRequired);
    }
    let codes: Vec<String> = if section_codes.is_empty() {
        d.pending.keys().cloned().collect()
    } else {
        section_codes
    };
    for code in codes {
        if !d.pending.contains_key(&code) {
            return Err(DossierRule::SectionNotPending(code));
        }
        b.push(pb::DeclarationReturned {
            section_code: code,
            reasons: reasons.to_vec(),
        });
    }
    Ok(())
}

/// Verifies the pending declaration; a new dossier needs its required
/// sections first.
fn verify(d: &Dossier, b: &mut Batch<'_>, note: String) -> Result<(), DossierRule> {
    if d.workflow != ReviewState::Declaring || d.pending.is_empty() {
        return Err(if d.pending.is_empty() {
            DossierRule::NothingPending
        } else {
            wrong_step(d, "verify", "declared")
        });
    }
    if !d.ever_approved() {
        for required in form::REQUIRED_FOR_FIRST_APPROVAL {
            if !d.pending.contains_key(*required) && !d.approved.contains_key(*required) {
                return Err(DossierRule::SectionMissing(required));
            }
        }
    }
    b.push(pb::DeclarationVerified {
        section_codes: d.pending.keys().cloned().collect(),
        note,
    });
    Ok(())
}

/// Locks the verified declaration (HY 10.3).
fn lock(d: &Dossier, b: &mut Batch<'_>, reason: String) -> Result<(), DossierRule> {
    if d.workflow != ReviewState::Verified {
        return Err(wrong_step(d, "lock", "verified"));
    }
    b.push(pb::DossierLocked { reason });
    if d.ever_approved() {
        // A change set's one clock (review and approve) runs on.
    } else {
        b.close(d, Obligation::ReviewNewDossier, "verified and locked");
        b.open_obligation(
            Obligation::SignNewDossier,
            Dates::today(b.ctx.today),
            &d.managing_unit,
        );
    }
    Ok(())
}

/// Records the head's signature over the current revision and chain hash.
fn approve(d: &Dossier, b: &mut Batch<'_>, s: SignedApproval) -> Result<(), DossierRule> {
    if d.workflow != ReviewState::Locked {
        return Err(wrong_step(d, "approval", "locked"));
    }
    if s.revision != d.revision {
        return Err(DossierRule::StaleApproval {
            signed: s.revision,
            current: d.revision,
        });
    }
    if s.stream_hash != d.head_hash {
        return Err(DossierRule::HashMismatch(s.revision));
    }
    let digest = signing::approval_digest(&stream_id(&d.id), s.revision, &s.stream_hash);
    signing::verify(&s.public_key, &digest, &s.signature).map_err(DossierRule::BadSignature)?;
    b.push(pb::ApprovalSigned {
        revision: s.revision,
        stream_hash: s.stream_hash.to_vec(),
        key_id: s.key_id,
        signature: s.signature,
        signer: s.signer,
        delegated_from: s.delegated_from,
    });
    let outcome = "signed";
    b.close(d, Obligation::SignNewDossier, outcome);
    b.close(d, Obligation::ApprovePersonalChange, outcome);
    Ok(())
}

/// Records a decision of the state with its document, which fulfils the
/// recording clock in the same batch.
fn record_decision(
    d: &Dossier,
    b: &mut Batch<'_>,
    decision: StateDecision,
    effective: NaiveDate,
    document: &SourceDocument,
) -> Result<(), DossierRule> {
    let today = b.ctx.today;
    check_document(document, today)?;
    check_proof(document, "a decision of the state")?;
    b.push(state_decision_event(decision, effective, document)?);
    b.fulfil(
        Obligation::RecordStateDecision,
        Dates::of_decision(today, document, effective),
        &d.managing_unit,
        "recorded",
    );
    Ok(())
}

/// The effective date and decision reference every state decision carries.
struct DecisionRefs {
    effective: Option<hoso_schemas::pb::common::Date>,
    decision: Option<hoso_schemas::pb::common::DecisionRef>,
}

/// The event of one state decision, once its content is checked.
fn state_decision_event(
    decision: StateDecision,
    effective: NaiveDate,
    document: &SourceDocument,
) -> Result<DomainEvent, DossierRule> {
    let refs = DecisionRefs {
        effective: Some(to_pb_date(effective)),
        decision: Some(to_decision_ref(document)),
    };
    match decision {
        StateDecision::Appointment {
            kind,
            position_title,
            org_code,
            term_end,
        } => appointment_event(kind, position_title, org_code, term_end, refs),
        StateDecision::Rank {
            kind,
            rank_code,
            rank_name,
        } => rank_event(kind, rank_code, rank_name, refs),
        StateDecision::Salary {
            rank_code,
            step,
            coefficient_x100,
            salary_group,
        } => salary_event(rank_code, step, coefficient_x100, salary_group, refs),
        StateDecision::Allowance { kind, name, amount } => {
            allowance_event(kind, name, amount, refs)
        }
        StateDecision::Award { form, reason, year } => award_event(form, reason, year, refs),
        StateDecision::Discipline {
            form,
            body,
            reason,
            until,
        } => discipline_event(form, body, reason, until, refs),
        StateDecision::Training {
            institution,
            major,
            from,
            until,
            mode,
            qualification,
        } => {
            let certificate = document.attachment_sha256.map(|h| h.to_vec());
            let course = Course {
                institution,
                major,
                from,
                until,
                mode,
                qualification,
            };
            training_event(course, certificate.unwrap_or_default())
        }
        StateDecision::Evaluation {
            year,
            grade,
            comments,
        } => evaluation_event(year, grade, comments, refs),
        StateDecision::Planning {
            position_title,
            org_code,
            from_year,
            until_year,
        } => planning_event(
            Planned {
                position_title,
                org_code,
                from_year,
                until_year,
            },
            refs,
        ),
    }
}

/// A planning as the decision states it.
struct Planned {
    position_title: String,
    org_code: String,
    from_year: u32,
    until_year: u32,
}

/// A planning names its position and a period of whole years that starts
/// no earlier than records are kept and spans at most
/// [`PLANNING_MAX_YEARS`].
fn planning_event(p: Planned, refs: DecisionRefs) -> Result<DomainEvent, DossierRule> {
    if p.position_title.trim().is_empty() {
        return Err(DossierRule::BadDecision(
            "a planning needs the position planned for".into(),
        ));
    }
    let (first, last) = (crate::input::FIRST_YEAR, crate::input::LAST_YEAR);
    let in_records = |y: u32| i32::try_from(y).is_ok_and(|y| (first..=last).contains(&y));
    let span_ok = p.until_year >= p.from_year && p.until_year - p.from_year < PLANNING_MAX_YEARS;
    if !in_records(p.from_year) || !in_records(p.until_year) || !span_ok {
        return Err(DossierRule::BadDecision(format!(
            "a planning period runs from a year to the same or a later one, at most {PLANNING_MAX_YEARS} years, between {first} and {last}; {}–{} is not one",
            p.from_year, p.until_year
        )));
    }
    Ok(pb::PlanningRecorded {
        position_title: p.position_title,
        org_code: p.org_code,
        from_year: p.from_year,
        until_year: p.until_year,
        effective: refs.effective,
        decision: refs.decision,
    }
    .into())
}

fn appointment_event(
    kind: AppointmentKind,
    position_title: String,
    org_code: String,
    term_end: Option<NaiveDate>,
    refs: DecisionRefs,
) -> Result<DomainEvent, DossierRule> {
    if kind == AppointmentKind::Unspecified || position_title.trim().is_empty() {
        return Err(DossierRule::BadDecision(
            "an appointment needs its kind and position".into(),
        ));
    }
    Ok(pb::AppointmentRecorded {
        kind: kind.into(),
        position_title,
        org_code,
        effective: refs.effective,
        term_end: term_end.map(to_pb_date),
        decision: refs.decision,
    }
    .into())
}

fn rank_event(
    kind: RankChangeKind,
    rank_code: String,
    rank_name: String,
    refs: DecisionRefs,
) -> Result<DomainEvent, DossierRule> {
    if kind == RankChangeKind::Unspecified || rank_code.trim().is_empty() {
        return Err(DossierRule::BadDecision(
            "a rank change needs its kind and rank code".into(),
        ));
    }
    Ok(pb::RankChanged {
        kind: kind.into(),
        rank_code,
        rank_name,
        effective: refs.effective,
        decision: refs.decision,
    }
    .into())
}

fn salary_event(
    rank_code: String,
    step: u32,
    coefficient_x100: u32,
    salary_group: String,
    refs: DecisionRefs,
) -> Result<DomainEvent, DossierRule> {
    if step == 0 || !(100..=1_500).contains(&coefficient_x100) {
        return Err(DossierRule::BadDecision(format!(
            "salary step {step} / coefficient {coefficient_x100} (hundredths) is outside the scales of Decree 204/2004"
        )));
    }
    Ok(pb::SalaryChanged {
        rank_code,
        step,
        coefficient_x100,
        salary_group,
        effective: refs.effective,
        decision: refs.decision,
    }
    .into())
}

fn allowance_event(
    kind: AllowanceKind,
    name: String,
    amount: Option<pb::allowance_changed::Amount>,
    refs: DecisionRefs,
) -> Result<DomainEvent, DossierRule> {
    if kind == AllowanceKind::Unspecified
        || (kind == AllowanceKind::Other && name.trim().is_empty())
    {
        return Err(DossierRule::BadDecision(
            "an allowance needs its kind, and a name when the kind is other".into(),
        ));
    }
    Ok(pb::AllowanceChanged {
        kind: kind.into(),
        name,
        amount,
        effective: refs.effective,
        decision: refs.decision,
    }
    .into())
}

fn award_event(
    form: String,
    reason: String,
    year: u32,
    refs: DecisionRefs,
) -> Result<DomainEvent, DossierRule> {
    if form.trim().is_empty() {
        return Err(DossierRule::BadDecision("an award needs its form".into()));
    }
    Ok(pb::AwardGranted {
        form,
        reason,
        year,
        decision: refs.decision,
    }
    .into())
}

fn discipline_event(
    form: DisciplineForm,
    body: DisciplineBody,
    reason: String,
    until: Option<NaiveDate>,
    refs: DecisionRefs,
) -> Result<DomainEvent, DossierRule> {
    if form == DisciplineForm::Unspecified || body == DisciplineBody::Unspecified {
        return Err(DossierRule::BadDecision(
            "discipline needs its form and the body that imposed it".into(),
        ));
    }
    Ok(pb::DisciplineImposed {
        form: form.into(),
        body: body.into(),
        reason,
        effective: refs.effective,
        until: until.map(to_pb_date),
        decision: refs.decision,
        // Sealed by the handler before the append.
        sealed_reason: Vec::new(),
    }
    .into())
}

/// One row of item 27, as the decision states it.
struct Course {
    institution: String,
    major: String,
    from: Option<NaiveDate>,
    until: Option<NaiveDate>,
    mode: TrainingMode,
    qualification: String,
}

fn training_event(c: Course, certificate_sha256: Vec<u8>) -> Result<DomainEvent, DossierRule> {
    if c.institution.trim().is_empty() {
        return Err(DossierRule::BadDecision(
            "training needs its institution".into(),
        ));
    }
    Ok(pb::TrainingRecorded {
        institution: c.institution,
        major: c.major,
        from: c.from.map(to_pb_date),
        until: c.until.map(to_pb_date),
        mode: c.mode.into(),
        qualification: c.qualification,
        certificate_sha256,
    }
    .into())
}

fn evaluation_event(
    year: u32,
    grade: EvaluationGrade,
    comments: String,
    refs: DecisionRefs,
) -> Result<DomainEvent, DossierRule> {
    if grade == EvaluationGrade::Unspecified {
        return Err(DossierRule::BadDecision(
            "an evaluation needs its grade".into(),
        ));
    }
    Ok(pb::EvaluationRecorded {
        year,
        grade: grade.into(),
        comments,
        decision: refs.decision,
    }
    .into())
}

/// Moves the person to another division of the same agency (DL 10.1).
fn change_department(
    d: &Dossier,
    b: &mut Batch<'_>,
    to: String,
    effective: NaiveDate,
    document: &SourceDocument,
) -> Result<(), DossierRule> {
    let today = b.ctx.today;
    check_document(document, today)?;
    check_proof(document, "a move to another division")?;
    if to == d.employing_unit {
        return Err(DossierRule::SameUnit(to));
    }
    b.push(pb::DepartmentChanged {
        from_org_code: d.employing_unit.clone(),
        to_org_code: to,
        effective: Some(to_pb_date(effective)),
        decision: Some(to_decision_ref(document)),
    });
    b.fulfil(
        Obligation::TransferWithinAgency,
        Dates::of_decision(today, document, effective),
        &d.managing_unit,
        "moved",
    );
    Ok(())
}

/// Sends the dossier to another agency with the scanned decision (DL 10.2);
/// the receiving agency's clock starts.
fn initiate_transfer(
    d: &Dossier,
    b: &mut Batch<'_>,
    transfer_id: String,
    kind: TransferKind,
    to: &str,
    effective: NaiveDate,
    document: &SourceDocument,
) -> Result<(), DossierRule> {
    let today = b.ctx.today;
    check_document(document, today)?;
    if document.attachment_sha256.is_none() {
        return Err(DossierRule::ScannedDecisionRequired);
    }
    if to == d.managing_unit {
        return Err(DossierRule::SameUnit(to.to_owned()));
    }
    if kind == TransferKind::Unspecified {
        return Err(DossierRule::BadDecision("a transfer needs its kind".into()));
    }
    b.push(pb::TransferInitiated {
        transfer_id,
        kind: kind.into(),
        from_org_code: d.managing_unit.clone(),
        to_org_code: to.to_owned(),
        effective: Some(to_pb_date(effective)),
        decision: Some(to_decision_ref(document)),
    });
    let dates = Dates::of_decision(today, document, effective);
    b.fulfil(
        Obligation::SendInterAgencyTransfer,
        dates,
        &d.managing_unit,
        "sent",
    );
    b.open_obligation(Obligation::ReceiveInterAgencyTransfer, dates, to);
    Ok(())
}

fn transfer_in_progress<'d>(
    d: &'d Dossier,
    transfer_id: &str,
) -> Result<&'d PendingTransfer, DossierRule> {
    d.transfer
        .as_ref()
        .filter(|t| t.transfer_id == transfer_id)
        .ok_or_else(|| DossierRule::NoSuchTransfer(transfer_id.to_owned()))
}

/// The receiving agency accepts the transfer in progress.
fn accept_transfer(
    d: &Dossier,
    b: &mut Batch<'_>,
    transfer_id: &str,
    at: String,
) -> Result<(), DossierRule> {
    let t = transfer_in_progress(d, transfer_id)?;
    b.push(pb::TransferAccepted {
        transfer_id: t.transfer_id.clone(),
        org_code: at,
    });
    b.close(d, Obligation::ReceiveInterAgencyTransfer, "accepted");
    Ok(())
}

/// The receiving agency passes an accepted dossier to its using unit.
fn forward_transfer(
    d: &Dossier,
    b: &mut Batch<'_>,
    transfer_id: String,
    to: String,
) -> Result<(), DossierRule> {
    if d.accepted_transfer.as_deref() != Some(transfer_id.as_str()) {
        return Err(DossierRule::NoSuchTransfer(transfer_id));
    }
    if to == d.employing_unit {
        return Err(DossierRule::SameUnit(to));
    }
    b.push(pb::TransferForwarded {
        transfer_id,
        from_org_code: d.employing_unit.clone(),
        to_org_code: to,
    });
    Ok(())
}

/// The receiving agency refuses the transfer in progress, saying why.
fn reject_transfer(
    d: &Dossier,
    b: &mut Batch<'_>,
    transfer_id: &str,
    reason: String,
) -> Result<(), DossierRule> {
    let t = transfer_in_progress(d, transfer_id)?;
    if reason.trim().is_empty() {
        return Err(DossierRule::ReasonsRequired);
    }
    b.push(pb::TransferRejected {
        transfer_id: t.transfer_id.clone(),
        org_code: t.to.clone(),
        reason,
    });
    b.close(d, Obligation::ReceiveInterAgencyTransfer, "rejected");
    Ok(())
}

/// Records a lawful status change (KT 11.3, HY 11.3); a departure archives
/// the dossier and ends its open clocks.
fn change_status(
    d: &Dossier,
    b: &mut Batch<'_>,
    status: EmploymentStatus,
    effective: NaiveDate,
    document: &SourceDocument,
    note: String,
) -> Result<(), DossierRule> {
    let today = b.ctx.today;
    check_document(document, today)?;
    if !status_transition_allowed(d.status, status) {
        return Err(DossierRule::StatusTransition {
            from: d.status,
            to: status,
        });
    }
    check_proof(document, "a status change")?;
    b.push(pb::StatusChanged {
        status: status.into(),
        effective: Some(to_pb_date(effective)),
        decision: Some(to_decision_ref(document)),
        note,
    });
    b.fulfil(
        Obligation::RecordStatusChange,
        Dates::of_decision(today, document, effective),
        &d.managing_unit,
        "recorded",
    );
    if is_archived_status(status) {
        // Nobody will declare, review or sign for a person who left;
        // the open clocks end with the dossier's active life.
        let outcome = format!("moot: dossier archived ({})", status.spelling());
        for (id, o) in &d.obligations {
            b.push_close(id.clone(), o.due, &outcome);
        }
    }
    Ok(())
}

/// Moves the dossier to the successor of its restructured unit (DL 5.5).
fn reassign(
    d: &Dossier,
    b: &mut Batch<'_>,
    from: String,
    to: String,
    effective: NaiveDate,
    document: &SourceDocument,
) -> Result<(), DossierRule> {
    if d.managing_unit != from && d.employing_unit != from {
        return Err(DossierRule::BadDecision(format!(
            "the dossier is in neither managing nor employing unit {from}"
        )));
    }
    b.push(pb::ManagingUnitReassigned {
        from_org_code: from,
        to_org_code: to,
        effective: Some(to_pb_date(effective)),
        decision: Some(to_decision_ref(document)),
        reason: "restructuring (DL 5.5)".to_owned(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Planning and the transit lock, given / when / then over the decider.

    use super::*;
    use crate::calendar::WorkingCalendar;
    use crate::profile::Profile;
    use std::sync::LazyLock;

    static CAL: LazyLock<WorkingCalendar> = LazyLock::new(|| WorkingCalendar::official().unwrap());
    static PROFILE: LazyLock<Profile> = LazyLock::new(|| Profile::load("binh-thuan").unwrap());

    const ID: &str = "d-1";
    const UNIT: &str = "000.02.00.H33";
    const RECEIVER: &str = "000.03.00.H33";

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn ctx() -> DossierContext<'static> {
        DossierContext {
            today: day(2026, 3, 2),
            profile: &PROFILE,
            calendar: &CAL,
        }
    }

    fn doc(number: &str) -> SourceDocument {
        SourceDocument {
            number: number.into(),
            date: day(2026, 2, 27),
            issuer: "UBND tỉnh".into(),
            attachment_sha256: Some([7; 32]),
        }
    }

    /// `state` after `change`, which must pass.
    fn given(state: Option<Dossier>, change: DossierChange) -> Dossier {
        let events = decide(state.as_ref(), ID, change, &ctx()).unwrap();
        events.iter().fold(state, |s, e| evolve(s, e, ID)).unwrap()
    }

    fn when(state: &Dossier, change: DossierChange) -> Result<Vec<DomainEvent>, DossierRule> {
        decide(Some(state), ID, change, &ctx()).map_err(|r| r.rule)
    }

    fn opened() -> Dossier {
        given(
            None,
            DossierChange::Open {
                person_id: "033090001234".into(),
                full_name: "Nguyễn Thị Hương".into(),
                birth_date: Some(day(1990, 5, 17)),
                category: PersonnelCategory::CongChuc,
                managing_unit: UNIT.into(),
                employing_unit: UNIT.into(),
                recruited_on: day(2026, 2, 23),
                decision: doc("12/QĐ-SYT"),
                has_personal_account: true,
            },
        )
    }

    fn planning(from_year: u32, until_year: u32) -> DossierChange {
        DossierChange::RecordDecision {
            decision: StateDecision::Planning {
                position_title: "Phó Giám đốc Sở".into(),
                org_code: UNIT.into(),
                from_year,
                until_year,
            },
            effective: day(2026, 1, 1),
            document: doc("30/QĐ-TU"),
        }
    }

    fn salary() -> DossierChange {
        DossierChange::RecordDecision {
            decision: StateDecision::Salary {
                rank_code: "01.003".into(),
                step: 3,
                coefficient_x100: 300,
                salary_group: "A1".into(),
            },
            effective: day(2025, 12, 1),
            document: doc("31/QĐ-SNV"),
        }
    }

    fn in_transit() -> Dossier {
        given(
            Some(opened()),
            DossierChange::InitiateTransfer {
                transfer_id: "t-1".into(),
                kind: TransferKind::Transfer,
                to: RECEIVER.into(),
                effective: day(2026, 3, 1),
                document: doc("40/QĐ-UBND"),
            },
        )
    }

    #[test]
    fn a_planning_is_recorded_with_its_position_period_and_decision() {
        let events = when(&opened(), planning(2026, 2031)).unwrap();
        let DomainEvent::PlanningRecorded(p) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(p.position_title, "Phó Giám đốc Sở");
        assert_eq!((p.from_year, p.until_year), (2026, 2031));
        assert_eq!(p.effective, Some(to_pb_date(day(2026, 1, 1))));
        assert_eq!(
            p.decision.as_ref().map(|d| d.number.as_str()),
            Some("30/QĐ-TU")
        );
        // The recording clock of a decision of the state is met in the same batch.
        assert!(
            events
                .iter()
                .any(|e| matches!(e, DomainEvent::ObligationClosed(_)))
        );
    }

    #[test]
    fn a_planning_period_is_a_short_span_of_years_in_order() {
        let state = opened();
        for (from, until) in [(2031, 2026), (2026, 2036), (1800, 1805), (2100, 2101)] {
            assert!(
                matches!(
                    when(&state, planning(from, until)),
                    Err(DossierRule::BadDecision(_))
                ),
                "{from}–{until}"
            );
        }
        let mut untitled = planning(2026, 2031);
        if let DossierChange::RecordDecision {
            decision: StateDecision::Planning { position_title, .. },
            ..
        } = &mut untitled
        {
            position_title.clear();
        }
        assert!(matches!(
            when(&state, untitled),
            Err(DossierRule::BadDecision(_))
        ));
        assert!(when(&state, planning(2026, 2026)).is_ok());
    }

    #[test]
    fn bt_11_3_a_dossier_in_transit_takes_no_change_until_the_receiver_answers() {
        let state = in_transit();
        let frozen = Err(DossierRule::InTransit {
            transfer_id: "t-1".into(),
            to: RECEIVER.into(),
        });
        let declare = DossierChange::Declare {
            section_code: "identity".into(),
            fields: Vec::new(),
            attachments: Vec::new(),
            occurred_on: None,
        };
        let status = DossierChange::ChangeStatus {
            status: EmploymentStatus::Retired,
            effective: day(2026, 3, 1),
            document: doc("41/QĐ"),
            note: String::new(),
        };
        let department = DossierChange::ChangeDepartment {
            to: "001.02.00.H33".into(),
            effective: day(2026, 3, 1),
            document: doc("42/QĐ"),
        };
        let again = DossierChange::InitiateTransfer {
            transfer_id: "t-2".into(),
            kind: TransferKind::Transfer,
            to: "000.04.00.H33".into(),
            effective: day(2026, 3, 1),
            document: doc("43/QĐ"),
        };
        let review = DossierChange::Verify {
            note: String::new(),
        };
        for change in [
            salary(),
            planning(2026, 2031),
            declare,
            status,
            department,
            again,
            review,
        ] {
            assert_eq!(when(&state, change.clone()), frozen, "{change:?}");
        }
        // The receiver's answer goes through, and afterwards the receiver
        // manages the dossier and may change it.
        let reject = DossierChange::RejectTransfer {
            transfer_id: "t-1".into(),
            reason: "Không còn biên chế".into(),
        };
        assert!(when(&state, reject).is_ok());
        let accepted = given(
            Some(state),
            DossierChange::AcceptTransfer {
                transfer_id: "t-1".into(),
                at: RECEIVER.into(),
            },
        );
        assert_eq!(accepted.managing_unit, RECEIVER);
        assert!(when(&accepted, salary()).is_ok());
    }

    #[test]
    fn refusals_name_states_as_the_api_spells_them() {
        let transition = DossierRule::StatusTransition {
            from: EmploymentStatus::TransferredOut,
            to: EmploymentStatus::Active,
        };
        assert_eq!(
            transition.to_string(),
            "status cannot change from transferred_out to active (KT 11.3, HY 11.3)"
        );
        let archived = DossierRule::Archived(EmploymentStatus::Retired).to_string();
        assert!(
            archived.starts_with("the dossier is archived (retired);"),
            "{archived}"
        );
        let step = DossierRule::WrongStep {
            step: "lock",
            actual: ReviewState::Declaring,
            expected: "verified",
        };
        assert_eq!(
            step.to_string(),
            "the dossier is declaring; lock needs it verified"
        );
    }

    #[test]
    fn dl_5_5_a_restructuring_still_reaches_a_dossier_in_transit() {
        let state = in_transit();
        let reassign = DossierChange::Reassign {
            from: UNIT.into(),
            to: "000.09.00.H33".into(),
            effective: day(2026, 3, 1),
            document: doc("50/QĐ-UBND"),
        };
        assert!(when(&state, reassign).is_ok());
        assert!(when(&state, DossierChange::PersonalAccountIssued).is_ok());
    }
}

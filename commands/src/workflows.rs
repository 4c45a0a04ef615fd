//! The command handlers: everything the regulations require of the write
//! side, run against a real [`EventStore`].
//!
//! Each handler (1) catches its [`Index`] up with the log, (2) checks that
//! the actor may do this — rights over the org subtree as of today (DL 12.2,
//! DL 6), approval authority (DT 11), delegations (KT 8.1), the actor's own
//! lock and must-change-password state (BT 4.4), (3) loads the target
//! aggregate from its stream and asks its pure decider, and (4) appends the
//! events with the revision it loaded as the expected revision, so a
//! concurrent command on the same aggregate gets [`CommandError::Conflict`]
//! and can retry; nothing is half-written.
//!
//! Uniqueness across aggregates is not checked against the index (which
//! may lag a concurrent writer) but claimed through reservation streams
//! appended with `NoStream`: `pid-…` for an identification number's one
//! dossier, `personal-…` for a person's one personal account (HY 4.5),
//! `username-…` for a login name. The claim is written first; if the
//! aggregate's own append then fails, a retry with the same id finds its own
//! claim and carries on.
//!
//! Work that spans aggregates (a merger moving dossiers and accounts, a
//! dossier leaving the province locking its personal account) is a series of
//! appends, each idempotent by state; [`Workflows::complete_restructuring`]
//! may be run again after any failure and finishes what is left.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hoso_domain::clock::Clock;
use hoso_ledger::typed::{self, EventDecodeError};
use hoso_ledger::{
    Direction, EventStore, ExpectedRevision, NewEvent, RecordedEvent, SourceDocument, StoreError,
    StreamFrom,
};
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::pb::dossier::FieldEntry;
use hoso_schemas::{DomainEvent, Registry};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::credentials::{
    CredentialError, CredentialStore, PasswordCheck, PasswordContext, PasswordRejection,
    check_password,
};
use crate::sealing::Keyring;
use hoso_domain::account::{
    self, Account, AccountChange, AccountKind, AccountRejection, AccountRule, LockReason,
    PasswordChangeKind,
};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::dossier::{
    self, Dossier, DossierChange, DossierContext, DossierRejection, DossierRule, EmploymentStatus,
    SignedApproval, StateDecision, TransferKind,
};
use hoso_domain::org::{self, OrgChange, OrgCommand, OrgRejection, OrgStatus, OrgTree};

mod reading;
use hoso_domain::profile::{self, ApprovalLevel, OrgKind, OutOfWindowPolicy, Profile, WindowCheck};
use hoso_domain::signing;
pub use reading::{ReadBasis, SearchScope, right_name};

/// Events read per page while catching up.
const CATCH_UP_PAGE: usize = 4_096;

/// The account on whose behalf a command runs (authenticated by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Account id.
    pub account_id: String,
}

impl Actor {
    /// The actor of an account.
    pub fn new(account_id: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
        }
    }
}

/// What a successful command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The aggregate's stream.
    pub stream: String,
    /// Its revision after the command.
    pub revision: u64,
    /// Global position of the last event written (wait for projections to
    /// reach it to read your own write).
    pub position: u64,
    /// Things the caller should be told although the command succeeded,
    /// e.g. an approval outside its window under a `warn` profile.
    pub warnings: Vec<String>,
}

/// An authorisation rule that refused the actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessRule {
    /// The actor's account does not exist.
    #[error("actor account {0} does not exist")]
    UnknownActor(String),
    /// The actor's account is locked.
    #[error("actor account {account} is locked ({reason:?})")]
    ActorLocked {
        /// Account.
        account: String,
        /// Why.
        reason: LockReason,
    },
    /// An issued password must be changed first (BT 4.4).
    #[error("account {0} must change its issued password before anything else (BT 4.4)")]
    PasswordChangeRequired(String),
    /// Not enough right over the unit (DL 12.2, DL 6).
    #[error("{needed:?} right over {org_code} is required; the actor holds {held:?} (DL 12.2)")]
    InsufficientRight {
        /// Unit.
        org_code: String,
        /// Needed.
        needed: AccessRight,
        /// Held, if any.
        held: Option<AccessRight>,
    },
    /// Granting more than one holds (HY 5.1).
    #[error(
        "cannot grant {requested:?} over {org_code} while holding only {held:?} there (HY 5.1)"
    )]
    Escalation {
        /// Unit.
        org_code: String,
        /// Asked.
        requested: AccessRight,
        /// Held.
        held: Option<AccessRight>,
    },
    /// Only the person may declare (or the unit with update right).
    #[error(
        "only the person, through their personal account, or the managing unit may declare (HY 10.2)"
    )]
    NotDeclarant,
    /// A person may not review their own declaration.
    #[error("a person cannot review or lock their own declaration (HY 10.3)")]
    SelfReview,
    /// Not an approver of this dossier (DT 11).
    #[error(
        "account {signer} has no approval authority over this dossier's unit and category ({citation})"
    )]
    NotApprover {
        /// Signer.
        signer: String,
        /// Rule text.
        citation: &'static str,
    },
    /// Delegation not allowed or not in force (KT 8.1).
    #[error("{0}")]
    Delegation(String),
    /// The key cannot sign today.
    #[error(
        "key {key_id} of {account} cannot sign on {date}: unknown, not yet valid, expired or revoked"
    )]
    KeyNotUsable {
        /// Account.
        account: String,
        /// Key.
        key_id: String,
        /// Date.
        date: NaiveDate,
    },
    /// Approval outside the monthly window, under a `refuse` profile.
    #[error("approval outside window ({citation}): {level} approve from {first} to {last}")]
    OutsideApprovalWindow {
        /// Level.
        level: &'static str,
        /// First day.
        first: NaiveDate,
        /// Last day.
        last: NaiveDate,
        /// Article.
        citation: String,
    },
    /// Only Sở Nội vụ may do this.
    #[error("only the Sở Nội vụ system administrator may {0}")]
    SystemAdminOnly(&'static str),
    /// Only the holder may change their own password.
    #[error("only the holder changes their own password; administrators reissue (DL 15.7)")]
    NotHolder,
    /// Consent is recorded by the managing authority of an existing dossier.
    #[error(
        "a consent is recorded by an account with admin right over the managing unit of the person's dossier in this province (BT 4.5, HY 4.8)"
    )]
    ConsentNotAllowed,
}

impl AccessRule {
    /// The article the rule comes from, where one does.
    pub fn citation(&self) -> Option<&'static str> {
        Some(match self {
            Self::PasswordChangeRequired(_) => "BT 4.4",
            Self::InsufficientRight { .. } => "DL 12.2, DL 6",
            Self::Escalation { .. } => "HY 5.1",
            Self::NotDeclarant => "HY 10.2",
            Self::SelfReview => "HY 10.3",
            Self::NotApprover { .. } => "DT 11",
            Self::Delegation(_) => "KT 8.1",
            Self::SystemAdminOnly(_) => "BT 11.1, HY 11.2",
            Self::NotHolder => "DL 15.7",
            Self::ConsentNotAllowed => "BT 4.5, HY 4.8",
            Self::UnknownActor(_) | Self::ActorLocked { .. } | Self::KeyNotUsable { .. } => {
                return None;
            }
            // The window's article comes from the profile and is in the message.
            Self::OutsideApprovalWindow { .. } => return None,
        })
    }

    /// Stable identifier of the rule.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownActor(_) => "unknown-actor",
            Self::ActorLocked { .. } => "actor-locked",
            Self::PasswordChangeRequired(_) => "password-change-required",
            Self::InsufficientRight { .. } => "insufficient-right",
            Self::Escalation { .. } => "escalation",
            Self::NotDeclarant => "not-declarant",
            Self::SelfReview => "self-review",
            Self::NotApprover { .. } => "not-approver",
            Self::Delegation(_) => "delegation",
            Self::KeyNotUsable { .. } => "key-not-usable",
            Self::OutsideApprovalWindow { .. } => "outside-approval-window",
            Self::SystemAdminOnly(_) => "system-admin-only",
            Self::NotHolder => "not-holder",
            Self::ConsentNotAllowed => "consent-not-allowed",
        }
    }
}

/// A rule about the organisation that a command on a dossier or account broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeRule {
    /// Unknown unit.
    #[error("unit {0} does not exist")]
    UnknownUnit(String),
    /// Unit not active today.
    #[error("unit {0} does not exist on {1} (merged, split, dissolved or not yet established)")]
    UnitNotActive(String, NaiveDate),
    /// A move within one agency that leaves it (DL 10.1).
    #[error(
        "{from} and {to} are not divisions of the same agency; use a transfer (DL 10.1, DL 10.2)"
    )]
    NotSameAgency {
        /// From.
        from: String,
        /// To.
        to: String,
    },
    /// A transfer between divisions of the same agency (DL 10.2 vs 10.1).
    #[error("{from} and {to} belong to the same agency; move within the agency instead (DL 10.1)")]
    SameAgency {
        /// From.
        from: String,
        /// To.
        to: String,
    },
    /// Forward to a unit outside the receiver (KT 11.2).
    #[error("{to} is not a unit of the receiving agency {receiver} (KT 11.2)")]
    OutsideReceiver {
        /// Target.
        to: String,
        /// Receiver.
        receiver: String,
    },
    /// The identification number already has a dossier.
    #[error("identification number already has dossier {0} in this province")]
    PersonIdTaken(String),
    /// The person already has a personal account (HY 4.5).
    #[error("the person already has personal account {0} (HY 4.5)")]
    PersonalAccountTaken(String),
    /// Login name taken (by the account, when known).
    #[error("username {name:?} is taken{by}", name = .0, by = .1.as_ref().map(|a| format!(" by account {a}")).unwrap_or_default())]
    UsernameTaken(String, Option<String>),
    /// The person has no dossier in the province.
    #[error("identification number has no dossier in this province")]
    NoDossierForPerson,
    /// Unknown account referenced.
    #[error("account {0} does not exist")]
    UnknownAccount(String),
    /// The delegate cannot sign for this unit.
    #[error("{0}")]
    BadDelegate(String),
}

impl ScopeRule {
    /// The article the rule comes from, where one does.
    pub fn citation(&self) -> Option<&'static str> {
        Some(match self {
            Self::NotSameAgency { .. } | Self::SameAgency { .. } => "DL 10.1, DL 10.2",
            Self::OutsideReceiver { .. } => "KT 11.2",
            Self::PersonalAccountTaken(_) => "HY 4.5",
            Self::PersonIdTaken(_) => "BT 3.6, KT 3.3",
            Self::BadDelegate(_) => "KT 8.1",
            _ => return None,
        })
    }

    /// Stable identifier of the rule.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownUnit(_) => "unknown-unit",
            Self::UnitNotActive(..) => "unit-not-active",
            Self::NotSameAgency { .. } => "not-same-agency",
            Self::SameAgency { .. } => "same-agency",
            Self::OutsideReceiver { .. } => "outside-receiver",
            Self::PersonIdTaken(_) => "person-id-taken",
            Self::PersonalAccountTaken(_) => "personal-account-taken",
            Self::UsernameTaken(..) => "username-taken",
            Self::NoDossierForPerson => "no-dossier-for-person",
            Self::UnknownAccount(_) => "unknown-account",
            Self::BadDelegate(_) => "bad-delegate",
        }
    }
}

/// A refusal by a rule checked across aggregates, with the aggregate the
/// command was about and its revision when the refusal happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal<R> {
    /// Stream of the aggregate the command was about, when it names one.
    pub stream: Option<String>,
    /// That stream's revision, if it exists.
    pub revision: Option<u64>,
    /// The rule.
    pub rule: R,
}

impl<R: std::fmt::Display> std::fmt::Display for Refusal<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.rule)?;
        match (&self.stream, self.revision) {
            (Some(s), Some(r)) => write!(f, " ({s} at revision {r})"),
            (Some(s), None) => write!(f, " ({s})"),
            _ => Ok(()),
        }
    }
}

impl<R: std::fmt::Debug + std::fmt::Display> std::error::Error for Refusal<R> {}

/// Why a command did not run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The organisation decider refused.
    #[error(transparent)]
    Org(#[from] OrgRejection),
    /// The account decider refused.
    #[error(transparent)]
    Account(#[from] AccountRejection),
    /// The dossier decider refused.
    #[error(transparent)]
    Dossier(#[from] DossierRejection),
    /// The actor may not do this.
    #[error(transparent)]
    Access(Refusal<AccessRule>),
    /// An organisation rule across aggregates.
    #[error(transparent)]
    Scope(Refusal<ScopeRule>),
    /// The new password breaks DT 10.
    #[error("password refused: {0}")]
    Password(#[from] PasswordRejection),
    /// Someone else changed the aggregate since it was read; retry.
    #[error("conflict on {stream}: expected {expected:?}, found {actual:?}; reload and retry")]
    Conflict {
        /// Stream.
        stream: String,
        /// What the command expected.
        expected: ExpectedRevision,
        /// What the store has.
        actual: Option<u64>,
    },
    /// The store failed.
    #[error("event store: {0}")]
    Store(#[source] StoreError),
    /// A stored event did not decode.
    #[error(transparent)]
    Decode(#[from] Box<EventDecodeError>),
    /// The credential table failed.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The profile's calendar could not compute a window.
    #[error(transparent)]
    Profile(#[from] profile::ProfileError),
    /// A restricted field could not be sealed (e.g. the key file is missing).
    #[error(transparent)]
    Sealing(#[from] crate::sealing::SealError),
}

impl From<AccessRule> for CommandError {
    fn from(rule: AccessRule) -> Self {
        Self::Access(Refusal {
            stream: None,
            revision: None,
            rule,
        })
    }
}

impl From<ScopeRule> for CommandError {
    fn from(rule: ScopeRule) -> Self {
        Self::Scope(Refusal {
            stream: None,
            revision: None,
            rule,
        })
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::WrongExpectedRevision {
                stream,
                expected,
                current: actual,
            } => Self::Conflict {
                stream,
                expected,
                actual,
            },
            other => Self::Store(other),
        }
    }
}

impl CommandError {
    /// Whether the command was refused by a rule (the caller's fault or the
    /// state of the world), as opposed to a conflict or a failure.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Self::Org(_)
                | Self::Account(_)
                | Self::Dossier(_)
                | Self::Access(_)
                | Self::Scope(_)
                | Self::Password(_)
        )
    }

    /// The family of [`Self::code`]: `org`, `account`, `dossier`, `access`,
    /// `scope`, `password` for refusals, `failure` otherwise. A code is
    /// unique within its family, so `family/code` names a problem type.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Org(_) => "org",
            Self::Account(_) => "account",
            Self::Dossier(_) => "dossier",
            Self::Access(_) => "access",
            Self::Scope(_) => "scope",
            Self::Password(_) => "password",
            Self::Conflict { .. } => "conflict",
            Self::Store(_)
            | Self::Decode(_)
            | Self::Credentials(_)
            | Self::Profile(_)
            | Self::Sealing(_) => "failure",
        }
    }

    /// The article behind a refusal, where one exists.
    pub fn citation(&self) -> Option<&'static str> {
        match self {
            Self::Org(r) => r.citation(),
            Self::Account(r) => r.rule.citation(),
            Self::Dossier(r) => r.rule.citation(),
            Self::Access(r) => r.rule.citation(),
            Self::Scope(r) => r.rule.citation(),
            Self::Password(PasswordRejection::Unchanged) => Some(crate::credentials::BT_4_4),
            Self::Password(_) => Some(crate::credentials::DT_10),
            _ => None,
        }
    }

    /// Stable identifier of the rule or failure, for API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Org(r) => r.code(),
            Self::Account(r) => r.rule.code(),
            Self::Dossier(r) => r.rule.code(),
            Self::Access(r) => r.rule.code(),
            Self::Scope(r) => r.rule.code(),
            Self::Password(_) => "password-rule",
            Self::Conflict { .. } => "conflict",
            Self::Store(_) => "store",
            Self::Decode(_) => "decode",
            Self::Credentials(_) => "credentials",
            Self::Profile(_) => "profile",
            Self::Sealing(e) => e.code(),
        }
    }
}

type Result<T, E = CommandError> = std::result::Result<T, E>;

/// A reviewer's step on a pending declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewStep {
    /// Return sections with reasons (HY 15.6).
    Return {
        /// Sections returned.
        section_codes: Vec<String>,
        /// Why.
        reasons: Vec<String>,
    },
    /// Verify against the papers.
    Verify {
        /// Note.
        note: String,
    },
    /// Lock the verified declaration (HY 10.3).
    Lock,
}

/// What a sealed discipline reason is bound to besides its dossier.
pub const DISCIPLINE_REASON_CONTEXT: &[u8] = b"discipline\x1freason";

/// The dossier, or the refusal for one never opened.
fn opened(dossier_id: &str, loaded: Option<Dossier>) -> Result<Dossier> {
    loaded.ok_or_else(|| {
        DossierRejection {
            dossier: dossier_id.to_owned(),
            revision: None,
            rule: DossierRule::NotOpened,
        }
        .into()
    })
}

/// Refuses, as a conflict, a command whose caller expected another revision.
fn check_expected(dossier_id: &str, d: &Dossier, expected: Option<u64>) -> Result<()> {
    match expected {
        Some(e) if e != d.revision => Err(CommandError::Conflict {
            stream: dossier::stream_id(dossier_id),
            expected: ExpectedRevision::Exact(e),
            actual: Some(d.revision),
        }),
        _ => Ok(()),
    }
}

/// What the handlers know of other aggregates, folded from `$all`.
#[derive(Debug, Default)]
struct Index {
    /// Next position to read.
    next_position: Option<u64>,
    org: OrgTree,
    accounts: BTreeMap<String, Account>,
    dossiers: BTreeMap<String, DossierSummary>,
    /// Identification number → dossier id.
    by_person: BTreeMap<String, String>,
    /// Identification number → personal account id.
    personal_accounts: BTreeMap<String, String>,
    /// Login name → account id.
    usernames: BTreeMap<String, String>,
}

/// The little of a dossier other commands need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierSummary {
    /// Identification number.
    pub person_id: String,
    /// Managing unit.
    pub managing_unit: String,
    /// Employing unit.
    pub employing_unit: String,
    /// Category.
    pub category: PersonnelCategory,
    /// Status.
    pub status: EmploymentStatus,
}

impl Index {
    fn apply(&mut self, stream: &str, event: &DomainEvent) {
        use DomainEvent as E;
        if stream.starts_with(org::STREAM_PREFIX) {
            self.org.apply(stream, event);
        } else if let Some(id) = stream.strip_prefix(account::STREAM_PREFIX) {
            let state = self.accounts.remove(id);
            if let Some(a) = account::evolve(state, event, id) {
                if let E::AccountIssued(e) = event {
                    self.usernames
                        .insert(e.username.to_lowercase(), id.to_owned());
                    if !e.person_id.is_empty() {
                        self.personal_accounts
                            .insert(e.person_id.clone(), id.to_owned());
                    }
                }
                self.accounts.insert(id.to_owned(), a);
            }
        } else if let Some(id) = stream.strip_prefix(dossier::STREAM_PREFIX) {
            match event {
                E::DossierOpened(e) => {
                    self.by_person.insert(e.person_id.clone(), id.to_owned());
                    self.dossiers.insert(
                        id.to_owned(),
                        DossierSummary {
                            person_id: e.person_id.clone(),
                            managing_unit: e.managing_unit.clone(),
                            employing_unit: e.employing_unit.clone(),
                            category: e.category(),
                            status: EmploymentStatus::Active,
                        },
                    );
                }
                E::DossierImported(e) => {
                    self.by_person.insert(e.person_id.clone(), id.to_owned());
                    self.dossiers.insert(
                        id.to_owned(),
                        DossierSummary {
                            person_id: e.person_id.clone(),
                            managing_unit: e.managing_unit.clone(),
                            employing_unit: e.employing_unit.clone(),
                            category: e.category(),
                            status: EmploymentStatus::Active,
                        },
                    );
                }
                _ => {
                    if let Some(s) = self.dossiers.get_mut(id) {
                        match event {
                            E::DepartmentChanged(e) => s.employing_unit.clone_from(&e.to_org_code),
                            E::TransferInitiated(_) => {}
                            E::TransferAccepted(e) => {
                                // The accepting unit is the new managing agency.
                                s.managing_unit.clone_from(&e.org_code);
                                s.employing_unit.clone_from(&e.org_code);
                            }
                            E::TransferForwarded(e) => s.employing_unit.clone_from(&e.to_org_code),
                            E::StatusChanged(e) => s.status = e.status(),
                            E::ManagingUnitReassigned(e) => {
                                if s.managing_unit == e.from_org_code {
                                    s.managing_unit.clone_from(&e.to_org_code);
                                }
                                if s.employing_unit == e.from_org_code {
                                    s.employing_unit.clone_from(&e.to_org_code);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
}

fn level_name(level: ApprovalLevel) -> &'static str {
    match level {
        ApprovalLevel::UnitHead => "unit heads",
        ApprovalLevel::DepartmentHead => "department and district heads",
        ApprovalLevel::HomeAffairsDirector => "the Sở Nội vụ director",
    }
}

/// What an approver needs to sign: the digest covers `stream` at `revision`
/// whose chain hash is `stream_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// Dossier stream.
    pub stream: String,
    /// Revision to sign.
    pub revision: u64,
    /// Its chain hash.
    pub stream_hash: [u8; 32],
    /// The digest to sign with ed25519.
    pub digest: [u8; 32],
}

/// A signature over an [`ApprovalRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSignature {
    /// Revision signed.
    pub revision: u64,
    /// Hash signed.
    pub stream_hash: [u8; 32],
    /// Signer's key id (registered to the signer's account).
    pub key_id: String,
    /// 64-byte ed25519 signature.
    pub signature: Vec<u8>,
}

/// A new dossier after a recruitment decision or contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDossier {
    /// Identification number.
    pub person_id: String,
    /// Name.
    pub full_name: String,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Category.
    pub category: PersonnelCategory,
    /// Managing unit.
    pub managing_unit: String,
    /// Employing unit.
    pub employing_unit: String,
    /// Recruitment date.
    pub recruited_on: NaiveDate,
    /// Decision or contract.
    pub decision: SourceDocument,
}

/// A new account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueAccount {
    /// Kind.
    pub kind: AccountKind,
    /// Login name.
    pub username: String,
    /// Unit.
    pub org_code: String,
    /// Identification number, for personal accounts.
    pub person_id: Option<String>,
    /// Name.
    pub display_name: String,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
}

/// The write side of hoso.
pub struct Workflows {
    store: Arc<dyn EventStore>,
    registry: Registry,
    profile: Profile,
    calendar: WorkingCalendar,
    clock: Arc<dyn Clock>,
    credentials: Arc<CredentialStore>,
    keyring: Arc<Keyring>,
    index: Mutex<Index>,
}

impl std::fmt::Debug for Workflows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflows")
            .field("backend", &self.store.backend_name())
            .field("profile", &self.profile.name())
            .finish_non_exhaustive()
    }
}

impl Workflows {
    /// Handlers over `store` under a province profile. Restricted and
    /// secret fields (the profile's `[restrictions]`) are sealed with
    /// `keyring` before they are appended.
    pub fn new(
        store: Arc<dyn EventStore>,
        profile: Profile,
        calendar: WorkingCalendar,
        clock: Arc<dyn Clock>,
        credentials: CredentialStore,
        keyring: Arc<Keyring>,
    ) -> Self {
        Self {
            store,
            registry: Registry::standard(),
            profile,
            calendar,
            clock,
            credentials: Arc::new(credentials),
            keyring,
            index: Mutex::new(Index::default()),
        }
    }

    /// The field keys.
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// Seals, in place, every field of a declaration or import whose level
    /// is restricted or above, so that its plaintext never reaches the log.
    /// The decider has already validated the plaintext.
    fn seal_fields(&self, dossier_id: &str, events: &mut [DomainEvent]) -> Result<()> {
        let map = self.profile.restrictions();
        let seal = |section: &str, fields: &mut Vec<FieldEntry>| -> Result<()> {
            for f in fields.iter_mut() {
                if f.sealed.is_empty() && map.field(section, &f.field_code).is_sealed() {
                    // Stable, so that a re-declared unchanged value shows as
                    // unchanged in the history's diff.
                    f.sealed = self.keyring.seal_stable(
                        dossier_id,
                        &hoso_domain::restriction::seal_context(&f.field_code, f.row),
                        f.value.as_bytes(),
                    )?;
                    f.value.clear();
                }
            }
            Ok(())
        };
        for e in events.iter_mut() {
            match e {
                DomainEvent::DeclarationSubmitted(d) => {
                    seal(&d.section_code.clone(), &mut d.fields)?
                }
                DomainEvent::DossierImported(d) => {
                    for sec in &mut d.sections {
                        seal(&sec.section_code.clone(), &mut sec.fields)?;
                    }
                }
                DomainEvent::DisciplineImposed(d)
                    if map.fact("discipline").is_sealed() && !d.reason.is_empty() =>
                {
                    d.sealed_reason = self.keyring.seal(
                        dossier_id,
                        DISCIPLINE_REASON_CONTEXT,
                        d.reason.as_bytes(),
                    )?;
                    d.reason.clear();
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The province profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The working-day calendar.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The clock every "now" of these handlers comes from, for the layers
    /// above (sessions, the read side's "today") to share.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Today in Vietnam (UTC+7).
    pub fn today(&self) -> NaiveDate {
        hoso_domain::calendar::date_in_vietnam(self.clock.now())
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Names the aggregate in a cross-aggregate refusal that does not name
    /// one yet: the stream the command was about and its current revision.
    async fn about<T>(&self, stream: &str, result: Result<T>) -> Result<T> {
        let revision = match &result {
            Err(CommandError::Access(Refusal { stream: None, .. }))
            | Err(CommandError::Scope(Refusal { stream: None, .. })) => {
                self.store.stream_revision(stream).await.ok().flatten()
            }
            _ => return result,
        };
        result.map_err(|e| match e {
            CommandError::Access(r) => CommandError::Access(Refusal {
                stream: Some(stream.to_owned()),
                revision,
                rule: r.rule,
            }),
            CommandError::Scope(r) => CommandError::Scope(Refusal {
                stream: Some(stream.to_owned()),
                revision,
                rule: r.rule,
            }),
            other => other,
        })
    }

    /// Reads `$all` from where the index stopped to the head.
    async fn catch_up(&self) -> Result<tokio::sync::MutexGuard<'_, Index>> {
        let mut idx = self.index.lock().await;
        // Nothing appended since the last catch-up: skip the read (every API
        // request comes here, twice). A dense store publishes its head in
        // memory before it acknowledges an append, so any event appended
        // before this call began is at or below `head`, and an index that
        // has read past `head` has seen it. Other backends answer
        // `head_position` with a round trip, which saves nothing.
        if self.store.dense_positions()
            && let Some(next) = idx.next_position
            && self.store.head_position().await?.is_none_or(|h| h < next)
        {
            return Ok(idx);
        }
        let mut from = idx
            .next_position
            .unwrap_or_else(|| self.store.first_position());
        loop {
            let page = self.store.read_all(from, CATCH_UP_PAGE).await?;
            let Some(last) = page.last() else { break };
            from = last.position + 1;
            for e in &page {
                let event = typed::decode(&self.registry, e)?;
                idx.apply(&e.stream, &event);
            }
            idx.next_position = Some(from);
            // A short page is almost always the head; stopping here saves a
            // read per command. If it ended early before a damaged event,
            // the next command's catch-up reads on and meets it.
            if page.len() < CATCH_UP_PAGE {
                break;
            }
        }
        Ok(idx)
    }

    async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>> {
        Ok(self
            .store
            .read_stream(stream, StreamFrom::Start, Direction::Forwards, usize::MAX)
            .await?)
    }

    /// Loads a dossier from its stream.
    pub async fn load_dossier(&self, dossier_id: &str) -> Result<Option<Dossier>> {
        let mut state: Option<Dossier> = None;
        for e in self.read_stream(&dossier::stream_id(dossier_id)).await? {
            let event = typed::decode(&self.registry, &e)?;
            state = dossier::evolve(state, &event, dossier_id);
            if let Some(d) = state.as_mut() {
                d.revision = e.revision;
                d.head_hash = e.hash;
            }
        }
        Ok(state)
    }

    /// Loads an account from its stream.
    pub async fn load_account(&self, account_id: &str) -> Result<Option<Account>> {
        let mut state: Option<Account> = None;
        for e in self.read_stream(&account::stream_id(account_id)).await? {
            let event = typed::decode(&self.registry, &e)?;
            state = account::evolve(state, &event, account_id);
            if let Some(a) = state.as_mut() {
                a.revision = e.revision;
            }
        }
        Ok(state)
    }

    /// The organisation tree as the handlers see it now.
    pub async fn org_tree(&self) -> Result<OrgTree> {
        Ok(self.catch_up().await?.org.clone())
    }

    /// The dossier id of an identification number, if it has one.
    pub async fn dossier_of_person(&self, person_id: &str) -> Result<Option<String>> {
        Ok(self.catch_up().await?.by_person.get(person_id).cloned())
    }

    /// The personal account of an identification number, if issued.
    pub async fn personal_account_of(&self, person_id: &str) -> Result<Option<String>> {
        Ok(self
            .catch_up()
            .await?
            .personal_accounts
            .get(person_id)
            .cloned())
    }

    /// Summaries of every dossier, by id.
    pub async fn dossier_summaries(&self) -> Result<BTreeMap<String, DossierSummary>> {
        Ok(self.catch_up().await?.dossiers.clone())
    }

    /// The account id of a login name.
    pub async fn account_by_username(&self, username: &str) -> Result<Option<String>> {
        Ok(self
            .catch_up()
            .await?
            .usernames
            .get(&username.to_lowercase())
            .cloned())
    }

    async fn append(
        &self,
        actor: &str,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<DomainEvent>,
        document: Option<&SourceDocument>,
        correlation: Option<Uuid>,
    ) -> Result<Receipt> {
        let events: Vec<NewEvent> = events
            .iter()
            .map(|e| {
                let mut n = NewEvent::from_domain(e)
                    .with_actor(actor)
                    .with_trace(correlation, None);
                if let Some(doc) = document {
                    n = n.with_source_document(doc.clone());
                }
                n
            })
            .collect();
        let result = self.store.append(stream, expected, events).await?;
        Ok(Receipt {
            stream: stream.to_owned(),
            revision: result.stream_revision,
            position: result.last_position,
            warnings: Vec::new(),
        })
    }

    /// Claims a reservation stream for `owner`; succeeds again for the same
    /// owner (a retry), refuses another.
    async fn reserve(
        &self,
        actor: &str,
        stream: &str,
        event: DomainEvent,
        owner: &str,
        taken: impl Fn(String) -> ScopeRule,
    ) -> Result<()> {
        match self
            .append(
                actor,
                stream,
                ExpectedRevision::NoStream,
                vec![event],
                None,
                None,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(CommandError::Conflict { .. }) => {
                let first = self
                    .store
                    .read_stream(stream, StreamFrom::Start, Direction::Forwards, 1)
                    .await?;
                let holder = match first.first().map(|e| typed::decode(&self.registry, e)) {
                    Some(Ok(DomainEvent::PersonIdReserved(r))) => r.dossier_id,
                    Some(Ok(DomainEvent::PersonalAccountReserved(r))) => r.account_id,
                    Some(Ok(DomainEvent::UsernameReserved(r))) => r.account_id,
                    Some(Err(e)) => return Err(e.into()),
                    _ => String::new(),
                };
                if holder == owner {
                    Ok(())
                } else {
                    Err(taken(holder).into())
                }
            }
            Err(e) => Err(e),
        }
    }

    // ----- who the actor is and what it may do ------------------------------

    /// The actor's account, refusing unknown, locked, and must-change-password actors.
    fn active_actor<'i>(&self, idx: &'i Index, actor: &Actor) -> Result<&'i Account, AccessRule> {
        let a = idx
            .accounts
            .get(&actor.account_id)
            .ok_or_else(|| AccessRule::UnknownActor(actor.account_id.clone()))?;
        if let Some(reason) = a.locked {
            return Err(AccessRule::ActorLocked {
                account: a.id.clone(),
                reason,
            });
        }
        if a.must_change_password {
            return Err(AccessRule::PasswordChangeRequired(a.id.clone()));
        }
        Ok(a)
    }

    /// The highest right `a` holds over `org_code` today.
    fn right_over(&self, idx: &Index, a: &Account, org_code: &str) -> Option<AccessRight> {
        if a.kind == AccountKind::SystemAdmin {
            return Some(AccessRight::Admin);
        }
        if a.kind == AccountKind::Personal {
            return None;
        }
        let today = self.today();
        a.grants
            .iter()
            .filter(|(root, _)| idx.org.contains(root, org_code, today))
            .map(|(_, r)| *r)
            .max()
    }

    fn require_right(
        &self,
        idx: &Index,
        a: &Account,
        org_code: &str,
        needed: AccessRight,
    ) -> Result<(), AccessRule> {
        let held = self.right_over(idx, a, org_code);
        if held.is_some_and(|h| h >= needed) {
            Ok(())
        } else {
            Err(AccessRule::InsufficientRight {
                org_code: org_code.to_owned(),
                needed,
                held,
            })
        }
    }

    fn require_active_unit(&self, idx: &Index, code: &str) -> Result<(), ScopeRule> {
        let today = self.today();
        match org::UnitLookup::unit(&idx.org, code) {
            None => Err(ScopeRule::UnknownUnit(code.to_owned())),
            Some(u) if !u.is_active_at(today) => {
                Err(ScopeRule::UnitNotActive(code.to_owned(), today))
            }
            Some(_) => Ok(()),
        }
    }

    fn ctx(&self) -> DossierContext<'_> {
        DossierContext {
            today: self.today(),
            profile: &self.profile,
            calendar: &self.calendar,
        }
    }

    // ----- bootstrap -----------------------------------------------------------

    /// Creates the Sở Nội vụ system administrator of an empty province, with
    /// an issued password it must change at first login (BT 4.4). Refused
    /// once any account exists.
    pub async fn bootstrap_system_admin(
        &self,
        username: &str,
        display_name: &str,
        org_code: &str,
        password: &str,
    ) -> Result<(String, Receipt)> {
        let idx = self.catch_up().await?;
        if !idx.accounts.is_empty() {
            return Err(
                AccessRule::SystemAdminOnly("create accounts once the province has any").into(),
            );
        }
        drop(idx);
        let id = Uuid::now_v7().to_string();
        check_password(
            password,
            &PasswordContext {
                username,
                full_name: display_name,
                birth_date: None,
            },
        )?;
        self.issue_account_as(
            "system",
            &id,
            IssueAccount {
                kind: AccountKind::SystemAdmin,
                username: username.to_owned(),
                org_code: org_code.to_owned(),
                person_id: None,
                display_name: display_name.to_owned(),
                birth_date: None,
            },
        )
        .await?;
        let receipt = self
            .replace_password("system", &id, password, true, PasswordChangeKind::Issued)
            .await?;
        Ok((id, receipt))
    }

    // ----- organisation ----------------------------------------------------------

    /// Runs a decision about a unit. Establishing a unit needs admin right
    /// over its parent (the system administrator for the root); everything
    /// else, admin right over the unit. A merger or split then moves the
    /// unit's dossiers and accounts (DL 5.5).
    pub async fn org(&self, actor: &Actor, command: OrgCommand) -> Result<Receipt> {
        let about = org::stream_id(&command.code);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?;
            match &command.change {
                OrgChange::Establish { parent: None, .. } => {
                    if a.kind != AccountKind::SystemAdmin {
                        return Err(AccessRule::SystemAdminOnly(
                            "establish the province's root unit",
                        )
                        .into());
                    }
                }
                OrgChange::Establish {
                    parent: Some(p), ..
                } => self.require_right(&idx, a, p, AccessRight::Admin)?,
                _ => self.require_right(&idx, a, &command.code, AccessRight::Admin)?,
            }
            let stream = org::stream_id(&command.code);
            let unit = org::UnitLookup::unit(&idx.org, &command.code).cloned();
            let restructuring = matches!(
                command.change,
                OrgChange::MergeInto { .. } | OrgChange::Split { .. } | OrgChange::Dissolve { .. }
            );
            let code = command.code.clone();
            let decision = command.decision.clone();
            let events = org::decide(unit.as_ref(), command, &idx.org, self.today())?;
            let expected = unit.as_ref().map_or(ExpectedRevision::NoStream, |u| {
                ExpectedRevision::Exact(u.revision())
            });
            drop(idx);
            let receipt = self
                .append(
                    &actor.account_id,
                    &stream,
                    expected,
                    events,
                    Some(&decision),
                    None,
                )
                .await?;
            if restructuring {
                self.complete_restructuring(actor, &code).await?;
            }
            Ok(receipt)
        }
        .await;
        self.about(&about, result).await
    }

    /// Moves the dossiers and accounts of a merged or split unit to its
    /// successor, and revokes rights over it (DL 5.5). Idempotent: run it
    /// again after a failure and it finishes what is left.
    ///
    /// For a split, people and accounts go to the first successor; the
    /// receiving agencies then redistribute them with ordinary transfers,
    /// since the split decision itself does not say who goes where.
    pub async fn complete_restructuring(&self, actor: &Actor, code: &str) -> Result<usize> {
        let about = org::stream_id(code);
        let result = async {
            let idx = self.catch_up().await?;
            let Some(unit) = org::UnitLookup::unit(&idx.org, code).cloned() else {
                return Err(ScopeRule::UnknownUnit(code.to_owned()).into());
            };
            let (successor, effective) = match unit.status() {
                OrgStatus::Merged { into, effective } => (Some(into.clone()), *effective),
                OrgStatus::Split { into, effective } => (into.first().cloned(), *effective),
                OrgStatus::Dissolved { effective } => (None, *effective),
                OrgStatus::Active => return Ok(0),
            };
            let decision = self.restructuring_decision(code).await?;
            let dossiers: Vec<String> = idx
                .dossiers
                .iter()
                .filter(|(_, s)| s.managing_unit == code || s.employing_unit == code)
                .map(|(id, _)| id.clone())
                .collect();
            let accounts: Vec<(String, bool, bool)> = idx
                .accounts
                .values()
                .map(|a| {
                    (
                        a.id.clone(),
                        a.org_code == code,
                        a.grants.contains_key(code),
                    )
                })
                .filter(|(_, belongs, granted)| *belongs || *granted)
                .collect();
            drop(idx);
            let mut moved = 0;
            if let Some(successor) = &successor {
                for id in dossiers {
                    let Some(d) = self.load_dossier(&id).await? else {
                        continue;
                    };
                    if d.managing_unit != code && d.employing_unit != code {
                        continue;
                    }
                    let events = dossier::decide(
                        Some(&d),
                        &id,
                        DossierChange::Reassign {
                            from: code.to_owned(),
                            to: successor.clone(),
                            effective,
                            document: decision.clone(),
                        },
                        &self.ctx(),
                    )?;
                    self.append(
                        &actor.account_id,
                        &dossier::stream_id(&id),
                        ExpectedRevision::Exact(d.revision),
                        events,
                        Some(&decision),
                        None,
                    )
                    .await?;
                    moved += 1;
                }
            }
            for (id, belongs, granted) in accounts {
                let Some(a) = self.load_account(&id).await? else {
                    continue;
                };
                let mut events = Vec::new();
                if granted && a.grants.contains_key(code) {
                    events.extend(account::decide(
                        Some(&a),
                        &id,
                        AccountChange::Revoke {
                            org_code: code.to_owned(),
                            reason: format!("unit {code} restructured (DL 5.5)"),
                        },
                        self.today(),
                    )?);
                }
                if belongs && a.org_code == code {
                    match &successor {
                        Some(s) => events.extend(account::decide(
                            Some(&a),
                            &id,
                            AccountChange::Reassign {
                                to_org: s.clone(),
                                reason: format!("unit {code} restructured (DL 5.5)"),
                                decision: Some(decision.clone()),
                            },
                            self.today(),
                        )?),
                        None if a.locked.is_none() => events.extend(account::decide(
                            Some(&a),
                            &id,
                            AccountChange::Lock {
                                reason: LockReason::UnitReorganised,
                                note: format!("unit {code} dissolved (DL 5.5)"),
                            },
                            self.today(),
                        )?),
                        None => {}
                    }
                }
                if events.is_empty() {
                    continue;
                }
                self.append(
                    &actor.account_id,
                    &account::stream_id(&id),
                    ExpectedRevision::Exact(a.revision),
                    events,
                    Some(&decision),
                    None,
                )
                .await?;
            }
            Ok(moved)
        }
        .await;
        self.about(&about, result).await
    }

    /// Finishes every cross-aggregate follow-up that a failure may have left
    /// undone: dossiers and accounts of restructured units (DL 5.5), personal
    /// accounts that did not follow their dossier's transfer (HY 11.1), and
    /// personal accounts of archived dossiers still unlocked (BT 11.2).
    /// Each step is idempotent by state; returns how many appends it made.
    pub async fn reconcile(&self, actor: &Actor) -> Result<usize> {
        let idx = self.catch_up().await?;
        self.active_actor(&idx, actor)?;
        let ceased: Vec<String> = idx
            .org
            .units()
            .values()
            .filter(|u| *u.status() != OrgStatus::Active)
            .map(|u| u.code().to_owned())
            .collect();
        let mut personal_moves = Vec::new();
        let mut locks = Vec::new();
        for s in idx.dossiers.values() {
            let Some(acc) = idx
                .personal_accounts
                .get(&s.person_id)
                .and_then(|id| idx.accounts.get(id))
            else {
                continue;
            };
            if dossier::is_archived_status(s.status) {
                if acc.locked.is_none() {
                    locks.push((acc.id.clone(), s.status));
                }
            } else if acc.org_code != s.managing_unit {
                personal_moves.push((acc.id.clone(), s.managing_unit.clone()));
            }
        }
        drop(idx);
        let mut appends = 0;
        for code in ceased {
            appends += self.complete_restructuring(actor, &code).await?;
        }
        for (account_id, to) in personal_moves {
            self.move_personal_account(
                &actor.account_id,
                &account_id,
                &to,
                "dossier moved (HY 11.1)",
            )
            .await?;
            appends += 1;
        }
        for (account_id, status) in locks {
            self.account_change_as(
                &actor.account_id,
                &account_id,
                AccountChange::Lock {
                    reason: LockReason::HolderLeft,
                    note: format!("dossier archived: {status:?} (BT 11.2)"),
                },
            )
            .await?;
            appends += 1;
        }
        Ok(appends)
    }

    async fn restructuring_decision(&self, code: &str) -> Result<SourceDocument> {
        let last = self
            .store
            .read_stream(
                &org::stream_id(code),
                StreamFrom::End,
                Direction::Backwards,
                16,
            )
            .await?;
        Ok(last
            .into_iter()
            .find_map(|e| e.source_document)
            .unwrap_or(SourceDocument {
                number: format!("restructuring of {code}"),
                date: self.today(),
                issuer: code.to_owned(),
                attachment_sha256: None,
            }))
    }

    // ----- accounts ----------------------------------------------------------------

    async fn issue_account_as(
        &self,
        actor: &str,
        id: &str,
        issue: IssueAccount,
    ) -> Result<Receipt> {
        // Claims first: a retry with the same id finds its own claims.
        self.reserve(
            actor,
            &account::username_stream(&issue.username),
            hoso_schemas::pb::account::UsernameReserved {
                account_id: id.to_owned(),
            }
            .into(),
            id,
            |holder| ScopeRule::UsernameTaken(issue.username.clone(), Some(holder)),
        )
        .await?;
        if let (AccountKind::Personal, Some(pid)) = (issue.kind, &issue.person_id) {
            hoso_domain::person_id::validate(pid, issue.birth_date).map_err(|p| {
                AccountRejection {
                    account: id.to_owned(),
                    revision: None,
                    rule: AccountRule::BadPersonId(p),
                }
            })?;
            self.reserve(
                actor,
                &account::personal_stream(pid),
                hoso_schemas::pb::account::PersonalAccountReserved {
                    account_id: id.to_owned(),
                }
                .into(),
                id,
                ScopeRule::PersonalAccountTaken,
            )
            .await?;
        }
        let existing = self.load_account(id).await?;
        if existing.is_some() {
            return Err(AccountRejection {
                account: id.to_owned(),
                revision: existing.map(|a| a.revision),
                rule: AccountRule::AlreadyIssued,
            }
            .into());
        }
        let events = account::decide(
            None,
            id,
            AccountChange::Issue {
                kind: issue.kind,
                username: issue.username,
                org_code: issue.org_code,
                person_id: issue.person_id,
                display_name: issue.display_name,
                birth_date: issue.birth_date,
            },
            self.today(),
        )?;
        self.append(
            actor,
            &account::stream_id(id),
            ExpectedRevision::NoStream,
            events,
            None,
            None,
        )
        .await
    }

    /// Issues an account (HY 10.1, DL 12). Staff accounts need admin right
    /// over their unit; a personal account needs update right over the
    /// managing unit of the person's dossier — the focal point creates it —
    /// and is the person's only one (HY 4.5). Returns the new account id.
    pub async fn issue_account(
        &self,
        actor: &Actor,
        issue: IssueAccount,
    ) -> Result<(String, Receipt)> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        self.require_active_unit(&idx, &issue.org_code)?;
        let dossier = match (issue.kind, &issue.person_id) {
            (AccountKind::Personal, Some(pid)) => {
                self.require_right(&idx, a, &issue.org_code, AccessRight::Update)?;
                if let Some(existing) = idx.personal_accounts.get(pid) {
                    return Err(ScopeRule::PersonalAccountTaken(existing.clone()).into());
                }
                idx.by_person.get(pid).cloned()
            }
            (AccountKind::SystemAdmin, _) if a.kind != AccountKind::SystemAdmin => {
                return Err(
                    AccessRule::SystemAdminOnly("issue system administrator accounts").into(),
                );
            }
            _ => {
                self.require_right(&idx, a, &issue.org_code, AccessRight::Admin)?;
                None
            }
        };
        if let Some(u) = idx.usernames.get(&issue.username.to_lowercase()) {
            return Err(ScopeRule::UsernameTaken(issue.username.clone(), Some(u.clone())).into());
        }
        drop(idx);
        let id = Uuid::now_v7().to_string();
        let receipt = self.issue_account_as(&actor.account_id, &id, issue).await?;
        // The declaration clock of a waiting dossier starts with the account
        // where the profile counts from it (HY 10.2).
        if let Some(dossier_id) = dossier
            && let Some(d) = self.load_dossier(&dossier_id).await?
            && !d.is_archived()
        {
            let events = dossier::decide(
                Some(&d),
                &dossier_id,
                DossierChange::PersonalAccountIssued,
                &self.ctx(),
            )?;
            if !events.is_empty() {
                self.append(
                    &actor.account_id,
                    &dossier::stream_id(&dossier_id),
                    ExpectedRevision::Exact(d.revision),
                    events,
                    None,
                    None,
                )
                .await?;
            }
        }
        Ok((id, receipt))
    }

    async fn account_change_as(
        &self,
        actor: &str,
        account_id: &str,
        change: AccountChange,
    ) -> Result<Receipt> {
        let state = self.load_account(account_id).await?;
        let document = match &change {
            AccountChange::Grant { decision, .. }
            | AccountChange::Expand { decision, .. }
            | AccountChange::Reassign { decision, .. } => decision.clone(),
            AccountChange::Delegate { decision, .. } => Some(decision.clone()),
            AccountChange::GrantConsent { document, .. } => Some(document.clone()),
            _ => None,
        };
        let expected = state.as_ref().map_or(ExpectedRevision::NoStream, |a| {
            ExpectedRevision::Exact(a.revision)
        });
        let events = account::decide(state.as_ref(), account_id, change, self.today())?;
        self.append(
            actor,
            &account::stream_id(account_id),
            expected,
            events,
            document.as_ref(),
            None,
        )
        .await
    }

    /// Changes an account's rights, lock, keys, delegations or consents,
    /// after checking the actor may (DL 12.2; no one grants more than they
    /// hold, HY 5.1).
    pub async fn account(
        &self,
        actor: &Actor,
        account_id: &str,
        change: AccountChange,
    ) -> Result<Receipt> {
        let about = account::stream_id(account_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?;
            let target = idx
                .accounts
                .get(account_id)
                .ok_or_else(|| ScopeRule::UnknownAccount(account_id.to_owned()))?;
            match &change {
                AccountChange::Grant {
                    org_code, right, ..
                }
                | AccountChange::Expand {
                    org_code, right, ..
                } => {
                    self.require_active_unit(&idx, org_code)?;
                    let held = self.right_over(&idx, a, org_code);
                    if held < Some(AccessRight::Admin) || held < Some(*right) {
                        return Err(AccessRule::Escalation {
                            org_code: org_code.clone(),
                            requested: *right,
                            held,
                        }
                        .into());
                    }
                }
                AccountChange::Restrict { org_code, .. }
                | AccountChange::Revoke { org_code, .. } => {
                    self.require_right(&idx, a, org_code, AccessRight::Admin)?;
                }
                AccountChange::Lock { .. } | AccountChange::Unlock { .. } => {
                    self.require_right(&idx, a, &target.org_code, AccessRight::Admin)?;
                }
                AccountChange::RegisterKey { .. } | AccountChange::RevokeKey { .. } => {
                    if a.id != target.id {
                        self.require_right(&idx, a, &target.org_code, AccessRight::Admin)?;
                    }
                }
                AccountChange::Delegate {
                    to_account,
                    org_codes,
                    ..
                } => {
                    if a.id != target.id && a.kind != AccountKind::SystemAdmin {
                        return Err(AccessRule::Delegation(
                            "only the head delegates their own approval power (KT 8.1)".to_owned(),
                        )
                        .into());
                    }
                    // Only a head has approval power to delegate, and only
                    // over the head's own unit (a delegation also lets the
                    // deputy read what they sign).
                    if target.kind != AccountKind::AgencyHead {
                        return Err(AccessRule::Delegation(
                            "only the approval power of a head (agency head account) can be delegated (KT 8.1)"
                                .to_owned(),
                        )
                        .into());
                    }
                    let today = self.today();
                    if let Some(outside) = org_codes
                        .iter()
                        .find(|c| !idx.org.contains(&target.org_code, c, today))
                    {
                        return Err(ScopeRule::BadDelegate(format!(
                            "unit {outside} is outside the delegating head's unit {}",
                            target.org_code
                        ))
                        .into());
                    }
                    let deputy = idx
                        .accounts
                        .get(to_account)
                        .ok_or_else(|| ScopeRule::UnknownAccount(to_account.clone()))?;
                    if deputy.kind == AccountKind::Personal {
                        return Err(ScopeRule::BadDelegate(
                            "approval power cannot be delegated to a personal account".to_owned(),
                        )
                        .into());
                    }
                    if !idx
                        .org
                        .contains(&target.org_code, &deputy.org_code, self.today())
                    {
                        return Err(ScopeRule::BadDelegate(format!(
                            "deputy {} belongs to {}, outside the delegating head's unit {}",
                            deputy.id, deputy.org_code, target.org_code
                        ))
                        .into());
                    }
                }
                AccountChange::RevokeDelegation { .. } => {
                    if a.id != target.id {
                        self.require_right(&idx, a, &target.org_code, AccessRight::Admin)?;
                    }
                }
                AccountChange::GrantConsent {
                    subject_person_id, ..
                } => {
                    // The managing authority of the subject's dossier
                    // consents. Whether the person has a dossier here, and
                    // where, is not told to anyone who could not consent:
                    // both refusals are the same.
                    let managing = idx
                        .by_person
                        .get(subject_person_id)
                        .and_then(|id| idx.dossiers.get(id))
                        .map(|d| d.managing_unit.clone());
                    let may = managing
                        .as_deref()
                        .is_some_and(|m| self.right_over(&idx, a, m) == Some(AccessRight::Admin));
                    if !may {
                        return Err(AccessRule::ConsentNotAllowed.into());
                    }
                }
                AccountChange::RevokeConsent { consent_id, .. } => {
                    let managing = target
                        .consents
                        .get(consent_id)
                        .and_then(|c| idx.by_person.get(&c.subject_person_id))
                        .and_then(|d| idx.dossiers.get(d))
                        .map(|d| d.managing_unit.clone())
                        .unwrap_or_else(|| target.org_code.clone());
                    self.require_right(&idx, a, &managing, AccessRight::Admin)?;
                }
                AccountChange::Reassign { to_org, .. } => {
                    self.require_active_unit(&idx, to_org)?;
                    self.require_right(&idx, a, &target.org_code, AccessRight::Admin)?;
                    self.require_right(&idx, a, to_org, AccessRight::Admin)?;
                }
                AccountChange::RecordPassword { .. } => {
                    return Err(AccessRule::NotHolder.into());
                }
                AccountChange::Issue { .. } => {
                    return Err(AccountRejection {
                        account: account_id.to_owned(),
                        revision: Some(target.revision),
                        rule: AccountRule::AlreadyIssued,
                    }
                    .into());
                }
            }
            drop(idx);
            self.account_change_as(&actor.account_id, account_id, change)
                .await
        }
        .await;
        self.about(&about, result).await
    }

    /// Issues (or reissues, DL 15.7) a password chosen by an administrator
    /// with admin right over the account's unit. The holder must change it
    /// at first login (BT 4.4).
    pub async fn issue_password(
        &self,
        actor: &Actor,
        account_id: &str,
        password: &str,
    ) -> Result<Receipt> {
        let about = account::stream_id(account_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?;
            let target = idx
                .accounts
                .get(account_id)
                .ok_or_else(|| ScopeRule::UnknownAccount(account_id.to_owned()))?
                .clone();
            if target.kind == AccountKind::Personal {
                self.require_right(&idx, a, &target.org_code, AccessRight::Update)?;
            } else {
                self.require_right(&idx, a, &target.org_code, AccessRight::Admin)?;
            }
            drop(idx);
            check_password(
                password,
                &PasswordContext {
                    username: &target.username,
                    full_name: &target.display_name,
                    birth_date: target.birth_date,
                },
            )?;
            let kind = if target.has_password {
                PasswordChangeKind::Reissued
            } else {
                PasswordChangeKind::Issued
            };
            self.replace_password(&actor.account_id, account_id, password, true, kind)
                .await
        }
        .await;
        self.about(&about, result).await
    }

    /// The holder changes their own password, proving the current one.
    pub async fn change_password(
        &self,
        account_id: &str,
        current: &str,
        new: &str,
    ) -> Result<Receipt> {
        let about = account::stream_id(account_id);
        let result = async {
            let idx = self.catch_up().await?;
            let target = idx
                .accounts
                .get(account_id)
                .ok_or_else(|| AccessRule::UnknownActor(account_id.to_owned()))?
                .clone();
            drop(idx);
            if let Some(reason) = target.locked {
                return Err(AccessRule::ActorLocked {
                    account: account_id.to_owned(),
                    reason,
                }
                .into());
            }
            match self.verify_password(account_id, current).await? {
                PasswordCheck::Match { .. } => {}
                PasswordCheck::Mismatch | PasswordCheck::NoCredential => {
                    return Err(AccessRule::NotHolder.into());
                }
            }
            if current == new {
                return Err(PasswordRejection::Unchanged.into());
            }
            check_password(
                new,
                &PasswordContext {
                    username: &target.username,
                    full_name: &target.display_name,
                    birth_date: target.birth_date,
                },
            )?;
            self.replace_password(
                account_id,
                account_id,
                new,
                false,
                PasswordChangeKind::Changed,
            )
            .await
        }
        .await;
        self.about(&about, result).await
    }

    /// Checks a password (for the API's login).
    pub async fn check_credentials(
        &self,
        account_id: &str,
        password: &str,
    ) -> Result<PasswordCheck> {
        self.verify_password(account_id, password).await
    }

    /// Spends the time of a password check on nothing (for a login name
    /// that does not exist, or an account that may not log in), so that the
    /// API's answer time does not tell them apart from a wrong password.
    pub async fn check_nothing(&self, password: &str) -> Result<()> {
        let pw = password.to_owned();
        self.on_credentials(move |c| c.verify_decoy(&pw)).await
    }

    // Hashing costs tens of milliseconds of CPU by design; it runs on the
    // blocking pool so that it never stalls the commands sharing a worker.
    async fn on_credentials<T: Send + 'static>(
        &self,
        f: impl FnOnce(&CredentialStore) -> Result<T, CredentialError> + Send + 'static,
    ) -> Result<T> {
        let store = self.credentials.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| CredentialError::Hash(format!("hashing task failed: {e}")))?
            .map_err(Into::into)
    }

    /// Stores a new password and records the fact in the log; if the fact
    /// cannot be appended, the earlier credential is put back, so the table
    /// never holds a password the log does not know of.
    async fn replace_password(
        &self,
        by: &str,
        account_id: &str,
        password: &str,
        must_change: bool,
        kind: PasswordChangeKind,
    ) -> Result<Receipt> {
        let before = self.credentials.snapshot(account_id)?;
        self.set_password(account_id, password, must_change).await?;
        let result = self
            .account_change_as(
                by,
                account_id,
                AccountChange::RecordPassword {
                    kind,
                    by: by.to_owned(),
                },
            )
            .await;
        if result.is_err() {
            self.credentials.restore(account_id, before.as_ref())?;
        }
        result
    }

    async fn set_password(
        &self,
        account_id: &str,
        password: &str,
        must_change: bool,
    ) -> Result<()> {
        let (id, pw, at) = (account_id.to_owned(), password.to_owned(), self.now());
        self.on_credentials(move |c| c.set(&id, &pw, must_change, at))
            .await
    }

    async fn verify_password(&self, account_id: &str, password: &str) -> Result<PasswordCheck> {
        let (id, pw) = (account_id.to_owned(), password.to_owned());
        self.on_credentials(move |c| c.verify(&id, &pw)).await
    }

    // ----- dossiers ------------------------------------------------------------------

    async fn run_dossier(
        &self,
        actor: &str,
        dossier_id: &str,
        state: &Dossier,
        change: DossierChange,
        document: Option<&SourceDocument>,
    ) -> Result<Receipt> {
        let mut events = dossier::decide(Some(state), dossier_id, change, &self.ctx())?;
        self.seal_fields(dossier_id, &mut events)?;
        self.append(
            actor,
            &dossier::stream_id(dossier_id),
            ExpectedRevision::Exact(state.revision),
            events,
            document,
            None,
        )
        .await
    }

    async fn dossier_for(&self, dossier_id: &str) -> Result<Dossier> {
        self.load_dossier(dossier_id).await?.ok_or_else(|| {
            DossierRejection {
                dossier: dossier_id.to_owned(),
                revision: None,
                rule: DossierRule::NotOpened,
            }
            .into()
        })
    }

    /// Opens a dossier after a recruitment decision or contract. Needs
    /// update right over the managing and employing units; the
    /// identification number must have no dossier in the province yet.
    /// Returns the new dossier id.
    pub async fn open_dossier(
        &self,
        actor: &Actor,
        open: OpenDossier,
    ) -> Result<(String, Receipt)> {
        let id = Uuid::now_v7().to_string();
        let receipt = self.open_dossier_with_id(actor, &id, open).await?;
        Ok((id, receipt))
    }

    /// [`Self::open_dossier`] with a caller-chosen id, so a retry after a
    /// lost answer does not open a second dossier.
    pub async fn open_dossier_with_id(
        &self,
        actor: &Actor,
        id: &str,
        open: OpenDossier,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?;
            self.require_active_unit(&idx, &open.managing_unit)?;
            self.require_active_unit(&idx, &open.employing_unit)?;
            self.require_right(&idx, a, &open.managing_unit, AccessRight::Update)?;
            self.require_right(&idx, a, &open.employing_unit, AccessRight::Update)?;
            if let Some(existing) = idx.by_person.get(&open.person_id)
                && existing != id
            {
                return Err(ScopeRule::PersonIdTaken(existing.clone()).into());
            }
            let has_personal_account = idx.personal_accounts.contains_key(&open.person_id);
            drop(idx);
            // A caller-chosen id that is already another dossier must not
            // claim the number for it.
            if let Some(actual) = self.store.stream_revision(&dossier::stream_id(id)).await? {
                return Err(CommandError::Conflict {
                    stream: dossier::stream_id(id),
                    expected: ExpectedRevision::NoStream,
                    actual: Some(actual),
                });
            }
            // Validate before claiming, so a malformed number claims nothing.
            let decision = open.decision.clone();
            let events = dossier::decide_open(
                id,
                DossierChange::Open {
                    person_id: open.person_id.clone(),
                    full_name: open.full_name,
                    birth_date: open.birth_date,
                    category: open.category,
                    managing_unit: open.managing_unit,
                    employing_unit: open.employing_unit,
                    recruited_on: open.recruited_on,
                    decision: open.decision,
                    has_personal_account,
                },
                &self.ctx(),
            )?;
            self.reserve(
                &actor.account_id,
                &dossier::person_id_stream(&open.person_id),
                hoso_schemas::pb::dossier::PersonIdReserved {
                    dossier_id: id.to_owned(),
                }
                .into(),
                id,
                ScopeRule::PersonIdTaken,
            )
            .await?;
            self.append(
                &actor.account_id,
                &dossier::stream_id(id),
                ExpectedRevision::NoStream,
                events,
                Some(&decision),
                None,
            )
            .await
        }
        .await;
        self.about(&about, result).await
    }

    /// Imports a dossier pulled from the national database for a person
    /// arriving from another province (BT 11.1, HY 11.2): Sở Nội vụ only.
    #[allow(clippy::too_many_arguments)]
    pub async fn import_dossier(
        &self,
        actor: &Actor,
        source_record_id: &str,
        person_id: &str,
        full_name: &str,
        category: PersonnelCategory,
        managing_unit: &str,
        sections: Vec<(String, Vec<FieldEntry>)>,
        handed_over_on: NaiveDate,
    ) -> Result<(String, Receipt)> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        if a.kind != AccountKind::SystemAdmin {
            return Err(AccessRule::SystemAdminOnly(
                "pull a record from the national database (BT 11.1, HY 11.2)",
            )
            .into());
        }
        self.require_active_unit(&idx, managing_unit)?;
        if let Some(existing) = idx.by_person.get(person_id) {
            return Err(ScopeRule::PersonIdTaken(existing.clone()).into());
        }
        drop(idx);
        let id = Uuid::now_v7().to_string();
        let mut events = dossier::decide_open(
            &id,
            DossierChange::Import {
                source_system: "csdlqg".to_owned(),
                source_record_id: source_record_id.to_owned(),
                person_id: person_id.to_owned(),
                full_name: full_name.to_owned(),
                category,
                managing_unit: managing_unit.to_owned(),
                employing_unit: managing_unit.to_owned(),
                sections,
                handed_over_on,
            },
            &self.ctx(),
        )?;
        self.seal_fields(&id, &mut events)?;
        self.reserve(
            &actor.account_id,
            &dossier::person_id_stream(person_id),
            hoso_schemas::pb::dossier::PersonIdReserved {
                dossier_id: id.clone(),
            }
            .into(),
            &id,
            ScopeRule::PersonIdTaken,
        )
        .await?;
        let receipt = self
            .append(
                &actor.account_id,
                &dossier::stream_id(&id),
                ExpectedRevision::NoStream,
                events,
                None,
                None,
            )
            .await?;
        Ok((id, receipt))
    }

    /// Declares one section of the résumé form: by the person through their
    /// personal account (HY 10.2), or by the managing unit with update
    /// right (KT 10.1). After approval a declaration is a change set and
    /// needs its digitised proof (BT 6.3).
    pub async fn declare(
        &self,
        actor: &Actor,
        dossier_id: &str,
        section_code: &str,
        fields: Vec<FieldEntry>,
        attachments: Vec<[u8; 32]>,
    ) -> Result<Receipt> {
        self.declare_change(actor, dossier_id, section_code, fields, attachments, None)
            .await
    }

    /// [`Self::declare`] for a change to an approved dossier, saying when
    /// the change happened (HY 10.5, BT 6.3) or the valid paper arrived
    /// (KT 10.2), which starts the declaring clock.
    pub async fn declare_change(
        &self,
        actor: &Actor,
        dossier_id: &str,
        section_code: &str,
        fields: Vec<FieldEntry>,
        attachments: Vec<[u8; 32]>,
        occurred_on: Option<NaiveDate>,
    ) -> Result<Receipt> {
        self.declare_at(
            actor,
            dossier_id,
            section_code,
            fields,
            attachments,
            occurred_on,
            None,
        )
        .await
    }

    /// [`Self::declare_change`] only if the dossier is still at revision
    /// `expected` (the caller's `If-Match`); otherwise a conflict, and
    /// nothing is written.
    #[allow(clippy::too_many_arguments)]
    pub async fn declare_at(
        &self,
        actor: &Actor,
        dossier_id: &str,
        section_code: &str,
        fields: Vec<FieldEntry>,
        attachments: Vec<[u8; 32]>,
        occurred_on: Option<NaiveDate>,
        expected: Option<u64>,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            // Read the stream before taking the index, so that commands on
            // different dossiers do not queue behind each other's reads.
            let loaded = self.load_dossier(dossier_id).await?;
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = opened(dossier_id, loaded)?;
            check_expected(dossier_id, &d, expected)?;
            let own =
                a.kind == AccountKind::Personal && a.person_id.as_deref() == Some(&d.person_id);
            if !own {
                if a.kind == AccountKind::Personal {
                    return Err(AccessRule::NotDeclarant.into());
                }
                self.require_right(&idx, &a, &d.managing_unit, AccessRight::Update)?;
            }
            drop(idx);
            self.run_dossier(
                &actor.account_id,
                dossier_id,
                &d,
                DossierChange::Declare {
                    section_code: section_code.to_owned(),
                    fields,
                    attachments,
                    occurred_on,
                },
                None,
            )
            .await
        }
        .await;
        self.about(&about, result).await
    }

    /// A reviewer's step only if the dossier is still at revision `expected`
    /// (the caller's `If-Match`); otherwise a conflict, and nothing is written.
    pub async fn review_at(
        &self,
        actor: &Actor,
        dossier_id: &str,
        step: ReviewStep,
        expected: Option<u64>,
    ) -> Result<Receipt> {
        let change = match step {
            ReviewStep::Return {
                section_codes,
                reasons,
            } => DossierChange::Return {
                section_codes,
                reasons,
            },
            ReviewStep::Verify { note } => DossierChange::Verify { note },
            ReviewStep::Lock => DossierChange::Lock {
                reason: "verified against the original papers (HY 10.3)".to_owned(),
            },
        };
        self.reviewer_step(actor, dossier_id, change, expected)
            .await
    }

    async fn reviewer_step(
        &self,
        actor: &Actor,
        dossier_id: &str,
        change: DossierChange,
        expected: Option<u64>,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let loaded = self.load_dossier(dossier_id).await?;
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = opened(dossier_id, loaded)?;
            check_expected(dossier_id, &d, expected)?;
            if a.person_id.as_deref() == Some(&d.person_id) {
                return Err(AccessRule::SelfReview.into());
            }
            self.require_right(&idx, &a, &d.managing_unit, AccessRight::Update)?;
            drop(idx);
            self.run_dossier(&actor.account_id, dossier_id, &d, change, None)
                .await
        }
        .await;
        self.about(&about, result).await
    }

    /// The focal point returns sections with reasons (HY 15.6).
    pub async fn return_declaration(
        &self,
        actor: &Actor,
        dossier_id: &str,
        section_codes: Vec<String>,
        reasons: Vec<String>,
    ) -> Result<Receipt> {
        self.reviewer_step(
            actor,
            dossier_id,
            DossierChange::Return {
                section_codes,
                reasons,
            },
            None,
        )
        .await
    }

    /// The focal point verifies the pending declaration against the papers.
    pub async fn verify_declaration(
        &self,
        actor: &Actor,
        dossier_id: &str,
        note: &str,
    ) -> Result<Receipt> {
        self.reviewer_step(
            actor,
            dossier_id,
            DossierChange::Verify {
                note: note.to_owned(),
            },
            None,
        )
        .await
    }

    /// The focal point locks the verified declaration (HY 10.3).
    pub async fn lock_declaration(&self, actor: &Actor, dossier_id: &str) -> Result<Receipt> {
        self.reviewer_step(
            actor,
            dossier_id,
            DossierChange::Lock {
                reason: "verified against the original papers (HY 10.3)".to_owned(),
            },
            None,
        )
        .await
    }

    /// What the head signs to approve the dossier as it stands now.
    pub async fn approval_request(&self, dossier_id: &str) -> Result<ApprovalRequest> {
        let d = self.dossier_for(dossier_id).await?;
        let stream = dossier::stream_id(dossier_id);
        Ok(ApprovalRequest {
            digest: signing::approval_digest(&stream, d.revision, &d.head_hash),
            stream,
            revision: d.revision,
            stream_hash: d.head_hash,
        })
    }

    /// Whether the head of `unit` approves dossiers of `category` managed by
    /// `managing_unit` today, and in which window: an explicit assignment in
    /// the org tree (DT 11 as data) first, then the profile's rules.
    fn approval_level(
        &self,
        idx: &Index,
        unit: &str,
        managing_unit: &str,
        category: PersonnelCategory,
    ) -> Option<(ApprovalLevel, bool)> {
        let today = self.today();
        let u = org::UnitLookup::unit(&idx.org, unit)?;
        let kind = OrgKind::of_unit_kind(u.kind())?;
        let parent_kind = u
            .parent_at(today)
            .and_then(|p| org::UnitLookup::unit(&idx.org, p))
            .and_then(|p| OrgKind::of_unit_kind(p.kind()));
        let cat = account::profile_category(category)?;
        let rules: Vec<&profile::AuthorityRule> =
            self.profile.authority_for(kind, parent_kind, cat).collect();
        let rule_level = rules
            .iter()
            .map(|r| (r.level, r.delegable))
            .min_by_key(|(l, _)| *l);
        if let Some(assigned) = u.approval_authority_at(today) {
            let covers = assigned.categories.contains(&category)
                && assigned
                    .subordinates
                    .iter()
                    .any(|s| idx.org.contains(s, managing_unit, today));
            if covers {
                return Some(rule_level.unwrap_or((ApprovalLevel::UnitHead, false)));
            }
        }
        if idx.org.contains(unit, managing_unit, today) {
            return rule_level;
        }
        None
    }

    /// Records the head's (or a delegated deputy's) signature over the
    /// dossier at the revision and hash of [`Self::approval_request`]. The
    /// signer must hold an agency-head account whose unit has approval
    /// authority over the dossier's unit and category (DT 11), sign with a
    /// key registered to the signer and usable today, and — where the
    /// profile refuses out-of-window signing — sign inside the window.
    pub async fn approve(
        &self,
        actor: &Actor,
        dossier_id: &str,
        sig: ApprovalSignature,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let signer = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            let today = self.today();
            let key = signer
                .keys
                .get(&sig.key_id)
                .filter(|k| k.usable_on(today))
                .ok_or_else(|| AccessRule::KeyNotUsable {
                    account: signer.id.clone(),
                    key_id: sig.key_id.clone(),
                    date: today,
                })?
                .clone();
            let own = (signer.kind == AccountKind::AgencyHead)
                .then(|| self.approval_level(&idx, &signer.org_code, &d.managing_unit, d.category))
                .flatten();
            let (level, delegated_from) = match own {
                Some((level, _)) => (level, None),
                None => {
                    // A deputy signing under a head's delegation (KT 8.1).
                    let mut found = None;
                    let mut refusal = None;
                    for head in idx.accounts.values() {
                        if head.kind != AccountKind::AgencyHead || head.locked.is_some() {
                            continue;
                        }
                        for del in head.delegations.values() {
                            if del.to_account != signer.id || !del.in_force_on(today) {
                                continue;
                            }
                            let covers_unit = del.org_codes.is_empty()
                                || del
                                    .org_codes
                                    .iter()
                                    .any(|o| idx.org.contains(o, &d.managing_unit, today));
                            let covers_cat =
                                del.categories.is_empty() || del.categories.contains(&d.category);
                            if !(covers_unit && covers_cat) {
                                continue;
                            }
                            match self.approval_level(
                                &idx,
                                &head.org_code,
                                &d.managing_unit,
                                d.category,
                            ) {
                                Some((level, true)) => found = Some((level, head.id.clone())),
                                Some((_, false)) => {
                                    refusal = Some(format!(
                                        "the {} profile does not let {} delegate approval (no delegation rule in {})",
                                        self.profile.name(),
                                        head.id,
                                        self.profile.code()
                                    ));
                                }
                                None => {}
                            }
                        }
                    }
                    match (found, refusal) {
                        (Some((level, head)), _) => (level, Some(head)),
                        (None, Some(why)) => return Err(AccessRule::Delegation(why).into()),
                        (None, None) => {
                            return Err(AccessRule::NotApprover {
                                signer: signer.id.clone(),
                                citation: "DT 11, KT 8.1",
                            }
                            .into());
                        }
                    }
                }
            };
            drop(idx);
            let mut warnings = Vec::new();
            if let WindowCheck::OutOfWindow {
                policy,
                window: (first, last),
                citation,
            } = self
                .profile
                .check_approval_date(level, today, &self.calendar)?
            {
                let rule = AccessRule::OutsideApprovalWindow {
                    level: level_name(level),
                    first,
                    last,
                    citation,
                };
                match policy {
                    OutOfWindowPolicy::Refuse => return Err(rule.into()),
                    OutOfWindowPolicy::Warn => warnings.push(rule.to_string()),
                }
            }
            let mut receipt = self
                .run_dossier(
                    &actor.account_id,
                    dossier_id,
                    &d,
                    DossierChange::Approve(SignedApproval {
                        revision: sig.revision,
                        stream_hash: sig.stream_hash,
                        key_id: sig.key_id,
                        public_key: key.public_key,
                        signature: sig.signature,
                        signer: signer.id,
                        delegated_from,
                    }),
                    None,
                )
                .await?;
            receipt.warnings = warnings;
            Ok(receipt)
        }
        .await;
        self.about(&about, result).await
    }

    /// Records a decision of the state (appointment, rank, salary,
    /// allowance, award, discipline, training, evaluation) with its decision
    /// document and digitised copy (BT 6.3); needs update right over the
    /// managing unit.
    pub async fn record_decision(
        &self,
        actor: &Actor,
        dossier_id: &str,
        decision: StateDecision,
        effective: NaiveDate,
        document: SourceDocument,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            self.require_right(&idx, &a, &d.managing_unit, AccessRight::Update)?;
            drop(idx);
            let doc = document.clone();
            self.run_dossier(
                &actor.account_id,
                dossier_id,
                &d,
                DossierChange::RecordDecision {
                    decision,
                    effective,
                    document,
                },
                Some(&doc),
            )
            .await
        }
        .await;
        self.about(&about, result).await
    }

    /// Moves the person to another division of the same agency (DL 10.1).
    pub async fn change_department(
        &self,
        actor: &Actor,
        dossier_id: &str,
        to: &str,
        effective: NaiveDate,
        document: SourceDocument,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            self.require_active_unit(&idx, to)?;
            let today = self.today();
            let from_agency = idx.org.agency_of(&d.employing_unit, today);
            let to_agency = idx.org.agency_of(to, today);
            if from_agency.is_none() || from_agency != to_agency {
                return Err(ScopeRule::NotSameAgency {
                    from: d.employing_unit.clone(),
                    to: to.to_owned(),
                }
                .into());
            }
            self.require_right(&idx, &a, &d.employing_unit, AccessRight::Update)?;
            self.require_right(&idx, &a, to, AccessRight::Update)?;
            drop(idx);
            let doc = document.clone();
            self.run_dossier(
                &actor.account_id,
                dossier_id,
                &d,
                DossierChange::ChangeDepartment {
                    to: to.to_owned(),
                    effective,
                    document,
                },
                Some(&doc),
            )
            .await
        }
        .await;
        self.about(&about, result).await
    }

    /// Sends the dossier to another agency of the province (DL 10.2, KT
    /// 11.2) with the scanned decision attached. Returns the transfer id.
    pub async fn initiate_transfer(
        &self,
        actor: &Actor,
        dossier_id: &str,
        kind: TransferKind,
        to: &str,
        effective: NaiveDate,
        document: SourceDocument,
    ) -> Result<(String, Receipt)> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            self.require_active_unit(&idx, to)?;
            let today = self.today();
            let from_agency = idx.org.agency_of(&d.managing_unit, today);
            if from_agency.is_some() && from_agency == idx.org.agency_of(to, today) {
                return Err(ScopeRule::SameAgency {
                    from: d.managing_unit.clone(),
                    to: to.to_owned(),
                }
                .into());
            }
            self.require_right(&idx, &a, &d.managing_unit, AccessRight::Update)?;
            drop(idx);
            let transfer_id = Uuid::now_v7().to_string();
            let doc = document.clone();
            let receipt = self
                .run_dossier(
                    &actor.account_id,
                    dossier_id,
                    &d,
                    DossierChange::InitiateTransfer {
                        transfer_id: transfer_id.clone(),
                        kind,
                        to: to.to_owned(),
                        effective,
                        document,
                    },
                    Some(&doc),
                )
                .await?;
            Ok((transfer_id, receipt))
        }
        .await;
        self.about(&about, result).await
    }

    /// The receiving agency accepts: the dossier's managing unit becomes the
    /// receiver, so the old unit's access ends and the new one's begins
    /// (BT 11.3, HY 11.1); the personal account moves with it.
    pub async fn accept_transfer(
        &self,
        actor: &Actor,
        dossier_id: &str,
        transfer_id: &str,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            let to = d
                .transfer
                .as_ref()
                .filter(|t| t.transfer_id == transfer_id)
                .map(|t| t.to.clone())
                .ok_or_else(|| DossierRejection {
                    dossier: dossier_id.to_owned(),
                    revision: Some(d.revision),
                    rule: DossierRule::NoSuchTransfer(transfer_id.to_owned()),
                })?;
            self.require_right(&idx, &a, &to, AccessRight::Update)?;
            let personal = idx.personal_accounts.get(&d.person_id).cloned();
            drop(idx);
            let receipt = self
                .run_dossier(
                    &actor.account_id,
                    dossier_id,
                    &d,
                    DossierChange::AcceptTransfer {
                        transfer_id: transfer_id.to_owned(),
                        at: to.clone(),
                    },
                    None,
                )
                .await?;
            if let Some(pa) = personal {
                self.move_personal_account(
                    &actor.account_id,
                    &pa,
                    &to,
                    "dossier transferred (HY 11.1)",
                )
                .await?;
            }
            Ok(receipt)
        }
        .await;
        self.about(&about, result).await
    }

    async fn move_personal_account(
        &self,
        actor: &str,
        account_id: &str,
        to: &str,
        reason: &str,
    ) -> Result<()> {
        if let Some(acc) = self.load_account(account_id).await?
            && acc.org_code != to
        {
            self.account_change_as(
                actor,
                account_id,
                AccountChange::Reassign {
                    to_org: to.to_owned(),
                    reason: reason.to_owned(),
                    decision: None,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The receiving agency passes the accepted dossier on to the unit that
    /// will use it, inside its own subtree (KT 11.2, DL 10.2).
    pub async fn forward_transfer(
        &self,
        actor: &Actor,
        dossier_id: &str,
        transfer_id: &str,
        to: &str,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            self.require_active_unit(&idx, to)?;
            if !idx.org.contains(&d.managing_unit, to, self.today()) {
                return Err(ScopeRule::OutsideReceiver {
                    to: to.to_owned(),
                    receiver: d.managing_unit.clone(),
                }
                .into());
            }
            self.require_right(&idx, &a, &d.managing_unit, AccessRight::Update)?;
            drop(idx);
            self.run_dossier(
                &actor.account_id,
                dossier_id,
                &d,
                DossierChange::ForwardTransfer {
                    transfer_id: transfer_id.to_owned(),
                    to: to.to_owned(),
                },
                None,
            )
            .await
        }
        .await;
        self.about(&about, result).await
    }

    /// The receiving agency refuses the transfer; the dossier stays.
    pub async fn reject_transfer(
        &self,
        actor: &Actor,
        dossier_id: &str,
        transfer_id: &str,
        reason: &str,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            let to = d
                .transfer
                .as_ref()
                .map(|t| t.to.clone())
                .unwrap_or_default();
            self.require_right(&idx, &a, &to, AccessRight::Update)?;
            drop(idx);
            self.run_dossier(
                &actor.account_id,
                dossier_id,
                &d,
                DossierChange::RejectTransfer {
                    transfer_id: transfer_id.to_owned(),
                    reason: reason.to_owned(),
                },
                None,
            )
            .await
        }
        .await;
        self.about(&about, result).await
    }

    /// Records a status change (KT 11.3, HY 11.3). A person who leaves is
    /// archived, never deleted, and their personal account's write access
    /// ends (BT 11.2).
    pub async fn change_status(
        &self,
        actor: &Actor,
        dossier_id: &str,
        status: EmploymentStatus,
        effective: NaiveDate,
        document: SourceDocument,
        note: &str,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(dossier_id);
        let result = async {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?.clone();
            let d = self.dossier_for(dossier_id).await?;
            self.require_right(&idx, &a, &d.managing_unit, AccessRight::Update)?;
            let personal = idx.personal_accounts.get(&d.person_id).cloned();
            drop(idx);
            let doc = document.clone();
            let receipt = self
                .run_dossier(
                    &actor.account_id,
                    dossier_id,
                    &d,
                    DossierChange::ChangeStatus {
                        status,
                        effective,
                        document,
                        note: note.to_owned(),
                    },
                    Some(&doc),
                )
                .await?;
            if dossier::is_archived_status(status)
                && let Some(pa) = personal
                && let Some(acc) = self.load_account(&pa).await?
                && acc.locked.is_none()
            {
                self.account_change_as(
                    &actor.account_id,
                    &pa,
                    AccountChange::Lock {
                        reason: LockReason::HolderLeft,
                        note: format!("dossier archived: {status:?} (BT 11.2)"),
                    },
                )
                .await?;
            }
            Ok(receipt)
        }
        .await;
        self.about(&about, result).await
    }
}

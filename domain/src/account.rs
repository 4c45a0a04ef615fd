//! The account aggregate: one stream per account (`account-<uuid>`).
//!
//! An account's stream holds everything whose truth belongs to the account:
//! its kind and unit, the rights it holds over org subtrees (DL 12.2), its
//! lock state (HY 10.3, security), the facts of password issue and change
//! (never the password), its signing keys, the delegations it has given
//! (KT 8.1) and the consents that let it read a dossier outside its scope
//! (BT 4.5), and, for an inspector account, the inspections it may carry
//! out: read-only terms over org subtrees with a clearance of their own.
//! [`decide`] is pure: the authorisation of *who* may ask for a
//! change, and checks against other aggregates, are the workflow service's.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use hoso_schemas::DomainEvent;
use hoso_schemas::SourceDocument;
use hoso_schemas::Spelling;
use hoso_schemas::pb::account as pb;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};

pub use hoso_schemas::pb::account::{
    AccountKind, InspectionClearance, LockReason, PasswordChangeKind,
};

use crate::convert::{from_pb_date, to_decision_ref, to_pb_date};
use crate::person_id;
use crate::restriction::Restriction;

/// Stream name prefix of the account family.
pub const STREAM_PREFIX: &str = "account-";

/// The stream of one account.
pub fn stream_id(account_id: &str) -> String {
    format!("{STREAM_PREFIX}{account_id}")
}

/// The reservation stream of a login name (case-insensitive).
pub fn username_stream(username: &str) -> String {
    format!("username-{}", username.to_lowercase())
}

/// The reservation stream of the one personal account of a person (HY 4.5),
/// named by the person key (the keyed hash of the identification number the
/// commands layer computes), never by the number or an unkeyed digest of it.
pub fn personal_stream(person_key: &str) -> String {
    format!("personal-{person_key}")
}

/// A registered signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    /// Raw ed25519 public key.
    pub public_key: Vec<u8>,
    /// First day it may sign.
    pub valid_from: Option<NaiveDate>,
    /// Last day it may sign, if limited.
    pub valid_until: Option<NaiveDate>,
    /// First day it may no longer sign, once revoked.
    pub revoked_from: Option<NaiveDate>,
}

impl RegisteredKey {
    /// Whether the key may sign on `date`.
    pub fn usable_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| f <= date)
            && self.valid_until.is_none_or(|u| date <= u)
            && self.revoked_from.is_none_or(|r| date < r)
    }
}

/// A delegation of approval power this account has given (KT 8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The deputy.
    pub to_account: String,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: NaiveDate,
    /// Units covered (empty: the delegator's whole scope).
    pub org_codes: Vec<String>,
    /// Categories covered (empty: all).
    pub categories: Vec<PersonnelCategory>,
    /// Revoked before its end.
    pub revoked: bool,
}

impl Delegation {
    /// Whether it is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        !self.revoked && self.valid_from <= date && date <= self.valid_until
    }
}

/// A written consent held by this account to read someone's dossier (BT 4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Whose dossier (identification number), once the commands layer has
    /// opened it (empty when folded from sealed events not opened).
    pub subject_person_id: String,
    /// Keyed hash of the subject's identification number.
    pub subject_key: String,
    /// Last day it holds.
    pub expires: Option<NaiveDate>,
    /// Sections covered (empty: all).
    pub section_codes: Vec<String>,
    /// The consent document's number.
    pub document_number: String,
    /// Revoked before expiry.
    pub revoked: bool,
}

impl Consent {
    /// Whether it is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        !self.revoked && self.expires.is_some_and(|e| date <= e)
    }
}

/// An inspection an inspector account may carry out: read-only, over the
/// subtrees rooted at `org_codes`, from `valid_from` to `valid_until`, up to
/// `clearance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Roots of the subtrees inspected.
    pub org_codes: Vec<String>,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: NaiveDate,
    /// Highest level shown (never secret).
    pub clearance: Restriction,
    /// The inspection decision's number.
    pub decision_number: String,
    /// Ended before its term.
    pub revoked: bool,
}

impl Inspection {
    /// Whether it is in force on `date`.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        !self.revoked && self.valid_from <= date && date <= self.valid_until
    }
}

/// The restriction level an inspection clearance names; unspecified is
/// general, the default of an inspection.
pub fn inspection_clearance(c: InspectionClearance) -> Restriction {
    match c {
        InspectionClearance::Unspecified | InspectionClearance::General => Restriction::General,
        InspectionClearance::Restricted => Restriction::Restricted,
        InspectionClearance::Secret => Restriction::Secret,
    }
}

/// State of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Account id (UUID).
    pub id: String,
    /// Kind.
    pub kind: AccountKind,
    /// Login name.
    pub username: String,
    /// Unit the account belongs to.
    pub org_code: String,
    /// Identification number, for personal accounts, once the commands
    /// layer has opened it (`None` when folded from sealed events not opened).
    pub person_id: Option<String>,
    /// Keyed hash of the identification number, for personal accounts.
    pub person_key: Option<String>,
    /// Holder's name.
    pub display_name: String,
    /// Holder's date of birth, when known.
    pub birth_date: Option<NaiveDate>,
    /// Rights held, by the root of the subtree they cover.
    pub grants: BTreeMap<String, AccessRight>,
    /// Why it is locked, if it is.
    pub locked: Option<LockReason>,
    /// A password has been issued.
    pub has_password: bool,
    /// An issued (or reissued) password not yet changed by the holder (BT 4.4).
    pub must_change_password: bool,
    /// Signing keys by id.
    pub keys: BTreeMap<String, RegisteredKey>,
    /// Delegations given, by id.
    pub delegations: BTreeMap<String, Delegation>,
    /// Consents held, by id.
    pub consents: BTreeMap<String, Consent>,
    /// Inspections given to an inspector account, by id.
    pub inspections: BTreeMap<String, Inspection>,
    /// Last revision of the stream.
    pub revision: u64,
}

/// Folds one event of an account stream.
pub fn evolve(state: Option<Account>, event: &DomainEvent, account_id: &str) -> Option<Account> {
    use DomainEvent as E;
    if let E::AccountIssued(e) = event {
        return Some(issued(account_id, e));
    }
    let mut a = state?;
    a.revision += 1;
    match event {
        E::AccessGranted(e) => {
            a.grants.insert(e.org_code.clone(), e.right());
        }
        E::AccessRestricted(e) => {
            a.grants.insert(e.org_code.clone(), e.right());
        }
        E::AccessExpanded(e) => {
            a.grants.insert(e.org_code.clone(), e.right());
        }
        E::AccessRevoked(e) => {
            a.grants.remove(&e.org_code);
        }
        E::AccountLocked(e) => a.locked = Some(e.reason()),
        E::AccountUnlocked(_) => a.locked = None,
        E::PasswordChanged(e) => {
            a.has_password = true;
            a.must_change_password = e.kind() != PasswordChangeKind::Changed;
        }
        E::SigningKeyRegistered(e) => {
            a.keys.insert(
                e.key_id.clone(),
                RegisteredKey {
                    public_key: e.public_key.clone(),
                    valid_from: from_pb_date(e.valid_from.as_ref()),
                    valid_until: from_pb_date(e.valid_until.as_ref()),
                    revoked_from: None,
                },
            );
        }
        E::SigningKeyRevoked(e) => {
            if let Some(k) = a.keys.get_mut(&e.key_id) {
                k.revoked_from = from_pb_date(e.effective.as_ref());
            }
        }
        E::DelegationGranted(e) => {
            if let Some(d) = delegation_of(e) {
                a.delegations.insert(e.delegation_id.clone(), d);
            }
        }
        E::DelegationRevoked(e) => {
            if let Some(d) = a.delegations.get_mut(&e.delegation_id) {
                d.revoked = true;
            }
        }
        E::ConsentGranted(e) => {
            a.consents.insert(e.consent_id.clone(), consent_of(e));
        }
        E::ConsentRevoked(e) => {
            if let Some(c) = a.consents.get_mut(&e.consent_id) {
                c.revoked = true;
            }
        }
        E::AccountReassigned(e) => a.org_code = e.to_org_code.clone(),
        E::InspectionGranted(e) => {
            if let Some(i) = inspection_of(e) {
                a.inspections.insert(e.inspection_id.clone(), i);
            }
        }
        E::InspectionRevoked(e) => {
            if let Some(i) = a.inspections.get_mut(&e.inspection_id) {
                i.revoked = true;
            }
        }
        _ => {}
    }
    Some(a)
}

/// A new account, as issued.
fn issued(account_id: &str, e: &pb::AccountIssued) -> Account {
    Account {
        id: account_id.to_owned(),
        kind: e.kind(),
        username: e.username.clone(),
        org_code: e.org_code.clone(),
        person_id: (!e.person_id.is_empty()).then(|| e.person_id.clone()),
        person_key: (!e.person_key.is_empty()).then(|| e.person_key.clone()),
        display_name: e.display_name.clone(),
        birth_date: from_pb_date(e.birth_date.as_ref()),
        grants: BTreeMap::new(),
        locked: None,
        has_password: false,
        must_change_password: false,
        keys: BTreeMap::new(),
        delegations: BTreeMap::new(),
        consents: BTreeMap::new(),
        inspections: BTreeMap::new(),
        revision: 0,
    }
}

/// A delegation as granted; `None` when its period is not stored whole.
fn delegation_of(e: &pb::DelegationGranted) -> Option<Delegation> {
    Some(Delegation {
        to_account: e.to_account.clone(),
        valid_from: from_pb_date(e.valid_from.as_ref())?,
        valid_until: from_pb_date(e.valid_until.as_ref())?,
        org_codes: e.org_codes.clone(),
        categories: e.categories().collect(),
        revoked: false,
    })
}

/// An inspection as granted; `None` when its term is not stored whole.
fn inspection_of(e: &pb::InspectionGranted) -> Option<Inspection> {
    Some(Inspection {
        org_codes: e.org_codes.clone(),
        valid_from: from_pb_date(e.valid_from.as_ref())?,
        valid_until: from_pb_date(e.valid_until.as_ref())?,
        clearance: inspection_clearance(e.clearance()),
        decision_number: e
            .decision
            .as_ref()
            .map(|d| d.number.clone())
            .unwrap_or_default(),
        revoked: false,
    })
}

fn consent_of(e: &pb::ConsentGranted) -> Consent {
    Consent {
        subject_person_id: e.subject_person_id.clone(),
        subject_key: e.subject_key.clone(),
        expires: from_pb_date(e.expires.as_ref()),
        section_codes: e.section_codes.clone(),
        document_number: e
            .document
            .as_ref()
            .map(|d| d.number.clone())
            .unwrap_or_default(),
        revoked: false,
    }
}

/// What to do to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Issue the account.
    Issue {
        /// Kind.
        kind: AccountKind,
        /// Login name: 3–64 of `a-z 0-9 . _ -`.
        username: String,
        /// Unit it belongs to.
        org_code: String,
        /// Identification number; required for, and only for, personal accounts.
        person_id: Option<String>,
        /// Holder's name.
        display_name: String,
        /// Holder's date of birth.
        birth_date: Option<NaiveDate>,
    },
    /// Grant a right over a subtree the account holds none over yet.
    Grant {
        /// Root of the subtree.
        org_code: String,
        /// The right.
        right: AccessRight,
        /// Why.
        reason: String,
        /// Decision, if any.
        decision: Option<SourceDocument>,
    },
    /// Lower an existing right.
    Restrict {
        /// Root of the subtree.
        org_code: String,
        /// The lower right.
        right: AccessRight,
        /// Why.
        reason: String,
    },
    /// Raise an existing right.
    Expand {
        /// Root of the subtree.
        org_code: String,
        /// The higher right.
        right: AccessRight,
        /// Why.
        reason: String,
        /// Decision, if any.
        decision: Option<SourceDocument>,
    },
    /// Remove a right.
    Revoke {
        /// Root of the subtree.
        org_code: String,
        /// Why.
        reason: String,
    },
    /// Lock the account.
    Lock {
        /// Why.
        reason: LockReason,
        /// Free text.
        note: String,
    },
    /// Unlock it.
    Unlock {
        /// Why.
        reason: String,
    },
    /// Record a password issue or change (the credential itself is stored
    /// outside the log).
    RecordPassword {
        /// Issued, changed by the holder, or reissued.
        kind: PasswordChangeKind,
        /// Account that did it.
        by: String,
    },
    /// Register an ed25519 public key.
    RegisterKey {
        /// Key id, unique within the account.
        key_id: String,
        /// 32-byte public key.
        public_key: Vec<u8>,
        /// First day it may sign.
        valid_from: NaiveDate,
        /// Last day, if limited.
        valid_until: Option<NaiveDate>,
    },
    /// Revoke a key from a date on.
    RevokeKey {
        /// Key id.
        key_id: String,
        /// Why.
        reason: String,
        /// First day it may no longer sign.
        effective: NaiveDate,
    },
    /// Delegate approval power to a deputy for a period (KT 8.1).
    Delegate {
        /// Id of the delegation.
        delegation_id: String,
        /// The deputy's account.
        to_account: String,
        /// First day.
        valid_from: NaiveDate,
        /// Last day.
        valid_until: NaiveDate,
        /// Units covered (empty: all the delegator's).
        org_codes: Vec<String>,
        /// Categories covered (empty: all).
        categories: Vec<PersonnelCategory>,
        /// The delegation decision.
        decision: SourceDocument,
    },
    /// End a delegation early.
    RevokeDelegation {
        /// Id.
        delegation_id: String,
        /// Why.
        reason: String,
    },
    /// Record a written consent for this account to read a dossier (BT 4.5).
    GrantConsent {
        /// Id.
        consent_id: String,
        /// Whose dossier.
        subject_person_id: String,
        /// The written consent.
        document: SourceDocument,
        /// Last day it holds.
        expires: NaiveDate,
        /// Sections covered (empty: all).
        section_codes: Vec<String>,
    },
    /// Withdraw a consent.
    RevokeConsent {
        /// Id.
        consent_id: String,
        /// Why.
        reason: String,
    },
    /// Give an inspector account an inspection: read-only over subtrees for
    /// a term, up to a clearance the decision grants.
    GrantInspection {
        /// Id of the inspection.
        inspection_id: String,
        /// Roots of the subtrees inspected (at least one).
        org_codes: Vec<String>,
        /// First day.
        valid_from: NaiveDate,
        /// Last day.
        valid_until: NaiveDate,
        /// Highest level shown: general unless the decision grants restricted.
        clearance: Restriction,
        /// The decision ordering the inspection.
        decision: SourceDocument,
    },
    /// End an inspection before its term.
    RevokeInspection {
        /// Id.
        inspection_id: String,
        /// Why.
        reason: String,
    },
    /// Move the account to another unit (DL 5.5 restructuring, or its
    /// holder's dossier moved).
    Reassign {
        /// New unit.
        to_org: String,
        /// Why.
        reason: String,
        /// The decision behind it.
        decision: Option<SourceDocument>,
    },
}

/// The rule an account change breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRule {
    /// No such account.
    #[error("account does not exist")]
    NotIssued,
    /// Issued already.
    #[error("account already issued")]
    AlreadyIssued,
    /// Kind unspecified.
    #[error("account kind is required")]
    KindRequired,
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
    /// Bad login name.
    #[error("username {0:?} must be 3–64 characters of a-z, 0-9, '.', '_' or '-'")]
    BadUsername(String),
    /// Name missing.
    #[error("display name is required")]
    NameRequired,
    /// Personal account without identification number, or a staff account with one.
    #[error("{0}")]
    PersonIdPlacement(&'static str),
    /// Bad identification number.
    #[error("{0}")]
    BadPersonId(#[from] person_id::PersonIdProblem),
    /// Personal accounts hold no rights over units: a person reads their own
    /// dossier only (BT 4.5, HY 4.8).
    #[error("personal accounts hold no rights over units (BT 4.5, HY 4.8)")]
    PersonalAccountHoldsNoRights,
    /// Right unspecified.
    #[error("a right (access, update or admin) is required (DL 12.2)")]
    RightRequired,
    /// Grant over a subtree already granted.
    #[error(
        "the account already holds {existing:?} over {org_code}; expand or restrict it instead"
    )]
    GrantExists {
        /// Subtree.
        org_code: String,
        /// Right held.
        existing: AccessRight,
    },
    /// No grant over the subtree.
    #[error("the account holds no right over {0}")]
    NoGrant(String),
    /// Restrict to an equal or higher right, or expand to an equal or lower one.
    #[error(
        "{requested:?} is not {direction} than the current {current:?} over {org_code} (DL 12.2)"
    )]
    WrongDirection {
        /// Subtree.
        org_code: String,
        /// Held.
        current: AccessRight,
        /// Asked.
        requested: AccessRight,
        /// "lower" or "higher".
        direction: &'static str,
    },
    /// Locked already.
    #[error("account is already locked")]
    AlreadyLocked,
    /// Not locked.
    #[error("account is not locked")]
    NotLocked,
    /// Lock reason unspecified.
    #[error("a lock reason is required")]
    LockReasonRequired,
    /// Key id reused.
    #[error("key {0} is already registered")]
    KeyExists(String),
    /// Unknown key.
    #[error("no key {0} is registered to the account")]
    UnknownKey(String),
    /// Not an ed25519 public key.
    #[error("public key is not a valid 32-byte ed25519 key")]
    BadPublicKey,
    /// Only accounts that sign may hold keys.
    #[error("{} accounts do not sign approvals", .0.spelling())]
    KindCannotSign(AccountKind),
    /// A validity period that ends before it starts.
    #[error("period from {from} to {until} ends before it starts")]
    BadPeriod {
        /// Start.
        from: NaiveDate,
        /// End.
        until: NaiveDate,
    },
    /// Delegation to oneself.
    #[error("an account cannot delegate to itself")]
    DelegationToSelf,
    /// Id reused.
    #[error("{0} is already used by another delegation or consent of this account")]
    IdExists(String),
    /// Unknown delegation.
    #[error("no delegation {0}")]
    UnknownDelegation(String),
    /// Unknown consent.
    #[error("no consent {0}")]
    UnknownConsent(String),
    /// Revoked already.
    #[error("{0} is already revoked")]
    AlreadyRevoked(String),
    /// Consent without its written document (BT 4.5).
    #[error("a consent must cite its written document: number and issuer (BT 4.5, HY 4.8)")]
    ConsentDocumentRequired,
    /// Consent that has already expired.
    #[error("consent expires {expires}, before today {today}")]
    ConsentExpired {
        /// Expiry.
        expires: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// Reassigned to its own unit.
    #[error("the account already belongs to {0}")]
    SameUnit(String),
    /// Delegation decision incomplete.
    #[error("the delegation decision needs its number and issuer (KT 8.1)")]
    DelegationDecisionRequired,
    /// An inspector reads only: it holds no right over units, signs nothing
    /// and is never a deputy.
    #[error("an inspector account reads only; it cannot be given {0}")]
    InspectorReadOnly(&'static str),
    /// The national database's sync account reads the province's batches and
    /// acknowledges them; it holds no right, key or delegation.
    #[error("a national sync account reads batches only; it cannot be given {0}")]
    NationalSyncReadOnly(&'static str),
    /// An inspection given to an account that is not an inspector's.
    #[error("{} accounts carry no inspections; issue an inspector account", .0.spelling())]
    NotAnInspector(AccountKind),
    /// An inspection without a unit to inspect.
    #[error("an inspection names at least one unit to inspect")]
    InspectionScopeRequired,
    /// An inspection whose term is over before it is granted.
    #[error("inspection ends {until}, before today {today}")]
    InspectionEnded {
        /// Last day.
        until: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// An inspection reaching secret data: no rule lets one.
    #[error(
        "an inspection's clearance is general or, when its decision grants it, restricted; never secret (BT 4.3, HY 4.4)"
    )]
    InspectionClearanceTooHigh,
    /// Inspection decision incomplete.
    #[error("an inspection must cite its decision: number and issuer")]
    InspectionDecisionRequired,
    /// Unknown inspection.
    #[error("no inspection {0}")]
    UnknownInspection(String),
}

impl AccountRule {
    /// The article the rule comes from, where one does.
    pub fn citation(&self) -> Option<&'static str> {
        Some(match self {
            Self::PersonIdPlacement(_) => "HY 4.5",
            Self::PersonalAccountHoldsNoRights => "BT 4.5, HY 4.8",
            Self::RightRequired | Self::WrongDirection { .. } => "DL 12.2",
            Self::ConsentDocumentRequired | Self::ConsentExpired { .. } => "BT 4.5, HY 4.8",
            Self::DelegationDecisionRequired | Self::DelegationToSelf => "KT 8.1",
            Self::InspectionClearanceTooHigh => "BT 4.3, HY 4.4",
            _ => return None,
        })
    }

    /// Stable identifier of the rule, for API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotIssued => "account-not-issued",
            Self::AlreadyIssued => "account-already-issued",
            Self::KindRequired => "account-kind-required",
            Self::BadUsername(_) => "bad-username",
            Self::BirthDateOutOfRange { .. } => "birth-date-out-of-range",
            Self::NameRequired => "name-required",
            Self::PersonIdPlacement(_) => "person-id-placement",
            Self::BadPersonId(_) => "bad-person-id",
            Self::PersonalAccountHoldsNoRights => "personal-account-holds-no-rights",
            Self::RightRequired => "right-required",
            Self::GrantExists { .. } => "grant-exists",
            Self::NoGrant(_) => "no-grant",
            Self::WrongDirection { .. } => "wrong-direction",
            Self::AlreadyLocked => "already-locked",
            Self::NotLocked => "not-locked",
            Self::LockReasonRequired => "lock-reason-required",
            Self::KeyExists(_) => "key-exists",
            Self::UnknownKey(_) => "unknown-key",
            Self::BadPublicKey => "bad-public-key",
            Self::KindCannotSign(_) => "kind-cannot-sign",
            Self::BadPeriod { .. } => "bad-period",
            Self::DelegationToSelf => "delegation-to-self",
            Self::IdExists(_) => "id-exists",
            Self::UnknownDelegation(_) => "unknown-delegation",
            Self::UnknownConsent(_) => "unknown-consent",
            Self::AlreadyRevoked(_) => "already-revoked",
            Self::ConsentDocumentRequired => "consent-document-required",
            Self::ConsentExpired { .. } => "consent-expired",
            Self::SameUnit(_) => "same-unit",
            Self::DelegationDecisionRequired => "delegation-decision-required",
            Self::InspectorReadOnly(_) => "inspector-read-only",
            Self::NationalSyncReadOnly(_) => "national-sync-read-only",
            Self::NotAnInspector(_) => "not-an-inspector",
            Self::InspectionScopeRequired => "inspection-scope-required",
            Self::InspectionEnded { .. } => "inspection-ended",
            Self::InspectionClearanceTooHigh => "inspection-clearance-too-high",
            Self::InspectionDecisionRequired => "inspection-decision-required",
            Self::UnknownInspection(_) => "unknown-inspection",
        }
    }
}

/// A refused account change: the rule, the account and its revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule} (account {account}{})", revision.map(|r| format!(" at revision {r}")).unwrap_or_default())]
pub struct AccountRejection {
    /// Account id.
    pub account: String,
    /// Its revision, if it exists.
    pub revision: Option<u64>,
    /// The rule.
    pub rule: AccountRule,
}

fn is_valid_username(u: &str) -> bool {
    (3..=64).contains(&u.len())
        && u.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// Decides a change against the account's state. `today` is injected.
pub fn decide(
    state: Option<&Account>,
    account_id: &str,
    change: AccountChange,
    today: NaiveDate,
) -> Result<Vec<DomainEvent>, AccountRejection> {
    let reject = |rule: AccountRule| AccountRejection {
        account: account_id.to_owned(),
        revision: state.map(|a| a.revision),
        rule,
    };
    if let AccountChange::Issue {
        birth_date: Some(date),
        ..
    } = &change
        && (date.year() < crate::input::FIRST_YEAR || *date > today)
    {
        return Err(reject(AccountRule::BirthDateOutOfRange {
            date: *date,
            today,
        }));
    }
    let event: DomainEvent = match (state, change) {
        (
            None,
            AccountChange::Issue {
                kind,
                username,
                org_code,
                person_id,
                display_name,
                birth_date,
            },
        ) => issue(
            kind,
            username,
            org_code,
            person_id,
            display_name,
            birth_date,
        )
        .map_err(reject)?,
        (Some(_), AccountChange::Issue { .. }) => return Err(reject(AccountRule::AlreadyIssued)),
        (None, _) => return Err(reject(AccountRule::NotIssued)),
        (Some(a), change) => decide_existing(a, change, today).map_err(reject)?,
    };
    Ok(vec![event])
}

/// Issues an account: a kind, a login name, a name, and an identification
/// number exactly when the account is personal (HY 4.5).
fn issue(
    kind: AccountKind,
    username: String,
    org_code: String,
    person_id: Option<String>,
    display_name: String,
    birth_date: Option<NaiveDate>,
) -> Result<DomainEvent, AccountRule> {
    if kind == AccountKind::Unspecified {
        return Err(AccountRule::KindRequired);
    }
    if !is_valid_username(&username) {
        return Err(AccountRule::BadUsername(username));
    }
    if display_name.trim().is_empty() {
        return Err(AccountRule::NameRequired);
    }
    match (kind == AccountKind::Personal, &person_id) {
        (true, None) => {
            return Err(AccountRule::PersonIdPlacement(
                "a personal account needs the holder's identification number (HY 4.5)",
            ));
        }
        (false, Some(_)) => {
            return Err(AccountRule::PersonIdPlacement(
                "only personal accounts carry an identification number",
            ));
        }
        (true, Some(id)) => person_id::validate(id, birth_date)?,
        (false, None) => {}
    }
    Ok(pb::AccountIssued {
        kind: kind.into(),
        username,
        org_code,
        person_id: person_id.unwrap_or_default(),
        display_name,
        birth_date: birth_date.map(to_pb_date),
        // The commands layer seals the number and keys it on the way to the
        // log; the domain holds no key.
        ..Default::default()
    }
    .into())
}

fn decide_existing(
    a: &Account,
    change: AccountChange,
    today: NaiveDate,
) -> Result<DomainEvent, AccountRule> {
    match change {
        AccountChange::Issue { .. } => Err(AccountRule::AlreadyIssued),
        AccountChange::Grant {
            org_code,
            right,
            reason,
            decision,
        } => grant(a, org_code, right, reason, decision.as_ref()),
        AccountChange::Restrict {
            org_code,
            right,
            reason,
        } => restrict(a, org_code, right, reason),
        AccountChange::Expand {
            org_code,
            right,
            reason,
            decision,
        } => expand(a, org_code, right, reason, decision.as_ref()),
        AccountChange::Revoke { org_code, reason } => revoke(a, org_code, reason),
        AccountChange::Lock { reason, note } => lock(a, reason, note),
        AccountChange::Unlock { reason } => unlock(a, reason),
        AccountChange::RecordPassword { kind, by } => Ok(password_changed(kind, by)),
        AccountChange::RegisterKey {
            key_id,
            public_key,
            valid_from,
            valid_until,
        } => register_key(a, key_id, public_key, valid_from, valid_until),
        AccountChange::RevokeKey {
            key_id,
            reason,
            effective,
        } => revoke_key(a, key_id, reason, effective),
        AccountChange::Delegate {
            delegation_id: id,
            to_account: to,
            valid_from: from,
            valid_until: until,
            org_codes: orgs,
            categories: cats,
            decision: doc,
        } => delegate(a, id, to, (from, until), orgs, cats, &doc),
        AccountChange::RevokeDelegation {
            delegation_id,
            reason,
        } => revoke_delegation(a, delegation_id, reason),
        AccountChange::GrantConsent {
            consent_id: id,
            subject_person_id: subject,
            document: doc,
            expires,
            section_codes: sections,
        } => grant_consent(a, id, subject, &doc, expires, sections, today),
        AccountChange::RevokeConsent { consent_id, reason } => {
            revoke_consent(a, consent_id, reason)
        }
        AccountChange::Reassign {
            to_org,
            reason,
            decision,
        } => reassign(a, to_org, reason, decision.as_ref()),
        AccountChange::GrantInspection {
            inspection_id,
            org_codes,
            valid_from,
            valid_until,
            clearance,
            decision,
        } => grant_inspection(
            a,
            inspection_id,
            org_codes,
            (valid_from, valid_until),
            clearance,
            &decision,
            today,
        ),
        AccountChange::RevokeInspection {
            inspection_id,
            reason,
        } => revoke_inspection(a, inspection_id, reason),
    }
}

/// A password change has no rule of its own here: the password never
/// reaches the domain, only the fact that it changed and who changed it.
fn password_changed(kind: PasswordChangeKind, by: String) -> DomainEvent {
    pb::PasswordChanged {
        kind: kind.into(),
        changed_by: by,
    }
    .into()
}

/// Only staff accounts hold rights over units, and a right must be named
/// (DL 12.2, BT 4.5).
fn needs_right(a: &Account, right: AccessRight) -> Result<(), AccountRule> {
    if a.kind == AccountKind::Personal {
        Err(AccountRule::PersonalAccountHoldsNoRights)
    } else if a.kind == AccountKind::Inspector {
        Err(AccountRule::InspectorReadOnly("a right over units"))
    } else if a.kind == AccountKind::NationalSync {
        Err(AccountRule::NationalSyncReadOnly("a right over units"))
    } else if right == AccessRight::Unspecified {
        Err(AccountRule::RightRequired)
    } else {
        Ok(())
    }
}

fn held(a: &Account, org_code: &str) -> Result<AccessRight, AccountRule> {
    a.grants
        .get(org_code)
        .copied()
        .ok_or_else(|| AccountRule::NoGrant(org_code.to_owned()))
}

/// Grants a right over a subtree that the account holds nothing over (DL 12.2).
fn grant(
    a: &Account,
    org_code: String,
    right: AccessRight,
    reason: String,
    decision: Option<&SourceDocument>,
) -> Result<DomainEvent, AccountRule> {
    needs_right(a, right)?;
    if let Some(existing) = a.grants.get(&org_code).copied() {
        return Err(AccountRule::GrantExists { org_code, existing });
    }
    Ok(pb::AccessGranted {
        right: right.into(),
        org_code,
        reason,
        decision: decision.map(to_decision_ref),
    }
    .into())
}

/// Lowers a held right (DL 12.2).
fn restrict(
    a: &Account,
    org_code: String,
    right: AccessRight,
    reason: String,
) -> Result<DomainEvent, AccountRule> {
    needs_right(a, right)?;
    let current = held(a, &org_code)?;
    if right >= current {
        return Err(wrong_direction(org_code, current, right, "lower"));
    }
    Ok(pb::AccessRestricted {
        org_code,
        right: right.into(),
        reason,
    }
    .into())
}

/// Raises a held right (DL 12.2).
fn expand(
    a: &Account,
    org_code: String,
    right: AccessRight,
    reason: String,
    decision: Option<&SourceDocument>,
) -> Result<DomainEvent, AccountRule> {
    needs_right(a, right)?;
    let current = held(a, &org_code)?;
    if right <= current {
        return Err(wrong_direction(org_code, current, right, "higher"));
    }
    Ok(pb::AccessExpanded {
        org_code,
        right: right.into(),
        reason,
        decision: decision.map(to_decision_ref),
    }
    .into())
}

/// Revokes a held right.
fn revoke(a: &Account, org_code: String, reason: String) -> Result<DomainEvent, AccountRule> {
    held(a, &org_code)?;
    Ok(pb::AccessRevoked { org_code, reason }.into())
}

fn wrong_direction(
    org_code: String,
    current: AccessRight,
    requested: AccessRight,
    direction: &'static str,
) -> AccountRule {
    AccountRule::WrongDirection {
        org_code,
        current,
        requested,
        direction,
    }
}

/// Locks the account for a named reason; a locked account is not locked twice.
fn lock(a: &Account, reason: LockReason, note: String) -> Result<DomainEvent, AccountRule> {
    if reason == LockReason::Unspecified {
        return Err(AccountRule::LockReasonRequired);
    }
    if a.locked.is_some() {
        return Err(AccountRule::AlreadyLocked);
    }
    Ok(pb::AccountLocked {
        reason: reason.into(),
        note,
    }
    .into())
}

fn unlock(a: &Account, reason: String) -> Result<DomainEvent, AccountRule> {
    if a.locked.is_none() {
        return Err(AccountRule::NotLocked);
    }
    Ok(pb::AccountUnlocked { reason }.into())
}

/// Moves the account to another unit.
fn reassign(
    a: &Account,
    to_org: String,
    reason: String,
    decision: Option<&SourceDocument>,
) -> Result<DomainEvent, AccountRule> {
    if to_org == a.org_code {
        return Err(AccountRule::SameUnit(to_org));
    }
    Ok(pb::AccountReassigned {
        from_org_code: a.org_code.clone(),
        to_org_code: to_org,
        reason,
        decision: decision.map(to_decision_ref),
    }
    .into())
}

/// Registers an ed25519 signing key to an account whose kind signs.
fn register_key(
    a: &Account,
    key_id: String,
    public_key: Vec<u8>,
    valid_from: NaiveDate,
    valid_until: Option<NaiveDate>,
) -> Result<DomainEvent, AccountRule> {
    if a.kind == AccountKind::Inspector {
        return Err(AccountRule::InspectorReadOnly("a signing key"));
    }
    if a.kind == AccountKind::NationalSync {
        return Err(AccountRule::NationalSyncReadOnly("a signing key"));
    }
    if !matches!(
        a.kind,
        AccountKind::AgencyHead | AccountKind::SystemAdmin | AccountKind::Specialist
    ) {
        return Err(AccountRule::KindCannotSign(a.kind));
    }
    if a.keys.contains_key(&key_id) {
        return Err(AccountRule::KeyExists(key_id));
    }
    let valid = <[u8; 32]>::try_from(public_key.as_slice())
        .ok()
        .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
        .is_some();
    if !valid {
        return Err(AccountRule::BadPublicKey);
    }
    if let Some(until) = valid_until
        && until < valid_from
    {
        return Err(AccountRule::BadPeriod {
            from: valid_from,
            until,
        });
    }
    Ok(pb::SigningKeyRegistered {
        key_id,
        account_id: a.id.clone(),
        algorithm: pb::KeyAlgorithm::Ed25519.into(),
        public_key,
        valid_from: Some(to_pb_date(valid_from)),
        valid_until: valid_until.map(to_pb_date),
    }
    .into())
}

fn revoke_key(
    a: &Account,
    key_id: String,
    reason: String,
    effective: NaiveDate,
) -> Result<DomainEvent, AccountRule> {
    let key = a
        .keys
        .get(&key_id)
        .ok_or_else(|| AccountRule::UnknownKey(key_id.clone()))?;
    if key.revoked_from.is_some() {
        return Err(AccountRule::AlreadyRevoked(key_id));
    }
    Ok(pb::SigningKeyRevoked {
        key_id,
        reason,
        effective: Some(to_pb_date(effective)),
    }
    .into())
}

/// Delegates the head's power to another account for a period, on a
/// complete decision (KT 8.1).
fn delegate(
    a: &Account,
    delegation_id: String,
    to_account: String,
    (valid_from, valid_until): (NaiveDate, NaiveDate),
    org_codes: Vec<String>,
    categories: Vec<PersonnelCategory>,
    decision: &SourceDocument,
) -> Result<DomainEvent, AccountRule> {
    if a.kind == AccountKind::Inspector {
        return Err(AccountRule::InspectorReadOnly("approval power to delegate"));
    }
    if a.kind == AccountKind::NationalSync {
        return Err(AccountRule::NationalSyncReadOnly(
            "approval power to delegate",
        ));
    }
    if to_account == a.id {
        return Err(AccountRule::DelegationToSelf);
    }
    if a.delegations.contains_key(&delegation_id) {
        return Err(AccountRule::IdExists(delegation_id));
    }
    if valid_until < valid_from {
        return Err(AccountRule::BadPeriod {
            from: valid_from,
            until: valid_until,
        });
    }
    if decision.number.trim().is_empty() || decision.issuer.trim().is_empty() {
        return Err(AccountRule::DelegationDecisionRequired);
    }
    Ok(pb::DelegationGranted {
        delegation_id,
        from_account: a.id.clone(),
        to_account,
        valid_from: Some(to_pb_date(valid_from)),
        valid_until: Some(to_pb_date(valid_until)),
        org_codes,
        categories: categories.into_iter().map(Into::into).collect(),
        decision: Some(to_decision_ref(decision)),
    }
    .into())
}

fn revoke_delegation(
    a: &Account,
    delegation_id: String,
    reason: String,
) -> Result<DomainEvent, AccountRule> {
    let d = a
        .delegations
        .get(&delegation_id)
        .ok_or_else(|| AccountRule::UnknownDelegation(delegation_id.clone()))?;
    if d.revoked {
        return Err(AccountRule::AlreadyRevoked(delegation_id));
    }
    Ok(pb::DelegationRevoked {
        delegation_id,
        reason,
    }
    .into())
}

/// Records the written consent that lets the account read a dossier outside
/// its scope (BT 4.5, HY 4.8).
fn grant_consent(
    a: &Account,
    consent_id: String,
    subject_person_id: String,
    document: &SourceDocument,
    expires: NaiveDate,
    section_codes: Vec<String>,
    today: NaiveDate,
) -> Result<DomainEvent, AccountRule> {
    if document.number.trim().is_empty() || document.issuer.trim().is_empty() {
        return Err(AccountRule::ConsentDocumentRequired);
    }
    if expires < today {
        return Err(AccountRule::ConsentExpired { expires, today });
    }
    if a.consents.contains_key(&consent_id) {
        return Err(AccountRule::IdExists(consent_id));
    }
    person_id::validate(&subject_person_id, None)?;
    Ok(pb::ConsentGranted {
        consent_id,
        reader_account: a.id.clone(),
        subject_person_id,
        document: Some(to_decision_ref(document)),
        expires: Some(to_pb_date(expires)),
        section_codes,
        // The commands layer seals the subject's number and keys it on the
        // way to the log; the domain holds no key.
        ..Default::default()
    }
    .into())
}

/// Gives an inspector an inspection: at least one subtree, a term that is
/// well-formed and not yet over, a clearance below secret, on a decision.
fn grant_inspection(
    a: &Account,
    inspection_id: String,
    org_codes: Vec<String>,
    (valid_from, valid_until): (NaiveDate, NaiveDate),
    clearance: Restriction,
    decision: &SourceDocument,
    today: NaiveDate,
) -> Result<DomainEvent, AccountRule> {
    if a.kind != AccountKind::Inspector {
        return Err(AccountRule::NotAnInspector(a.kind));
    }
    if a.inspections.contains_key(&inspection_id) {
        return Err(AccountRule::IdExists(inspection_id));
    }
    if org_codes.iter().all(|c| c.trim().is_empty()) {
        return Err(AccountRule::InspectionScopeRequired);
    }
    if valid_until < valid_from {
        return Err(AccountRule::BadPeriod {
            from: valid_from,
            until: valid_until,
        });
    }
    if valid_until < today {
        return Err(AccountRule::InspectionEnded {
            until: valid_until,
            today,
        });
    }
    let clearance = match clearance {
        Restriction::General => InspectionClearance::General,
        Restriction::Restricted => InspectionClearance::Restricted,
        Restriction::Secret => return Err(AccountRule::InspectionClearanceTooHigh),
    };
    if decision.number.trim().is_empty() || decision.issuer.trim().is_empty() {
        return Err(AccountRule::InspectionDecisionRequired);
    }
    Ok(pb::InspectionGranted {
        inspection_id,
        org_codes: org_codes
            .into_iter()
            .filter(|c| !c.trim().is_empty())
            .collect(),
        valid_from: Some(to_pb_date(valid_from)),
        valid_until: Some(to_pb_date(valid_until)),
        clearance: clearance.into(),
        decision: Some(to_decision_ref(decision)),
    }
    .into())
}

fn revoke_inspection(
    a: &Account,
    inspection_id: String,
    reason: String,
) -> Result<DomainEvent, AccountRule> {
    let i = a
        .inspections
        .get(&inspection_id)
        .ok_or_else(|| AccountRule::UnknownInspection(inspection_id.clone()))?;
    if i.revoked {
        return Err(AccountRule::AlreadyRevoked(inspection_id));
    }
    Ok(pb::InspectionRevoked {
        inspection_id,
        reason,
    }
    .into())
}

fn revoke_consent(
    a: &Account,
    consent_id: String,
    reason: String,
) -> Result<DomainEvent, AccountRule> {
    let c = a
        .consents
        .get(&consent_id)
        .ok_or_else(|| AccountRule::UnknownConsent(consent_id.clone()))?;
    if c.revoked {
        return Err(AccountRule::AlreadyRevoked(consent_id));
    }
    Ok(pb::ConsentRevoked { consent_id, reason }.into())
}

/// The personnel category as the profile names it.
pub fn profile_category(c: PersonnelCategory) -> Option<crate::profile::PersonnelCategory> {
    use crate::profile::PersonnelCategory as P;
    Some(match c {
        PersonnelCategory::Unspecified => return None,
        PersonnelCategory::CanBo => P::CanBo,
        PersonnelCategory::CongChuc => P::CongChuc,
        PersonnelCategory::VienChuc => P::VienChuc,
        PersonnelCategory::NguoiLaoDong => P::NguoiLaoDong,
        PersonnelCategory::CommuneCadre => P::CommuneCadre,
    })
}

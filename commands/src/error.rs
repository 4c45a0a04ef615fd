//! Why a command did not run: the refusals by authorisation ([`AccessRule`])
//! and by organisation scope ([`ScopeRule`]), named after their articles, and
//! [`CommandError`], which also carries the deciders' rejections, conflicts
//! and failures. The API maps each variant to a problem type by
//! [`CommandError::family`] and [`CommandError::code`].

use std::borrow::Cow;

use chrono::NaiveDate;
use hoso_domain::account::{AccountRejection, LockReason};
use hoso_domain::dossier::DossierRejection;
use hoso_domain::org::OrgRejection;
use hoso_domain::profile;
use hoso_ledger::typed::EventDecodeError;
use hoso_ledger::{ExpectedRevision, StoreError};
use hoso_schemas::Spelling;
use hoso_schemas::pb::common::AccessRight;

use crate::credentials::{CredentialError, PasswordRejection};

/// An authorisation rule that refused the actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessRule {
    /// The actor's account does not exist.
    #[error("actor account {0} does not exist")]
    UnknownActor(String),
    /// The actor's account is locked.
    #[error("actor account {account} is locked ({})", reason.spelling())]
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
    #[error(
        "{} right over {org_code} is required; the actor holds {} (DL 12.2)",
        needed.spelling(),
        held.map_or_else(|| "no right there".to_owned(), |r| format!("{} right", r.spelling()))
    )]
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
        "cannot grant {} right over {org_code} while holding only {} there (HY 5.1)",
        requested.spelling(),
        held.map_or_else(|| "no right".to_owned(), |r| format!("{} right", r.spelling()))
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
    /// A deputy's delegation that would cover the dossier has ended (or was
    /// revoked): named with its date and the profile's rule, not as a
    /// missing approval authority.
    #[error(
        "the delegation from {head} to {signer} ended on {ended_on}; sign only while a delegation is in force ({citation})"
    )]
    DelegationEnded {
        /// The delegating head.
        head: String,
        /// The deputy.
        signer: String,
        /// Its last day in force (the day before revocation took effect).
        ended_on: NaiveDate,
        /// The profile's rule that lets the head delegate.
        citation: String,
    },
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
    /// An inspector reads what its inspection covers and changes nothing
    /// but its own password.
    #[error(
        "inspector account {0} is read-only: it may read within its inspection, never change anything"
    )]
    InspectorReadOnly(String),
    /// The national database's sync account acknowledges batches and changes
    /// nothing else.
    #[error("national sync account {0} may only acknowledge batches, never change anything")]
    NationalSyncReadOnly(String),
}

impl AccessRule {
    /// The article the rule comes from, where one does.
    pub fn citation(&self) -> Option<Cow<'static, str>> {
        if let Self::DelegationEnded { citation, .. } = self {
            return Some(Cow::Owned(citation.clone()));
        }
        Some(Cow::Borrowed(match self {
            Self::PasswordChangeRequired(_) => "BT 4.4",
            Self::InsufficientRight { .. } => "DL 12.2, DL 6",
            Self::Escalation { .. } => "HY 5.1",
            Self::NotDeclarant => "HY 10.2",
            Self::SelfReview => "HY 10.3",
            Self::NotApprover { citation, .. } => citation,
            Self::Delegation(_) => "KT 8.1",
            Self::SystemAdminOnly(_) => "BT 11.1, HY 11.2",
            Self::NotHolder => "DL 15.7",
            Self::ConsentNotAllowed => "BT 4.5, HY 4.8",
            Self::UnknownActor(_)
            | Self::InspectorReadOnly(_)
            | Self::NationalSyncReadOnly(_)
            | Self::ActorLocked { .. }
            | Self::KeyNotUsable { .. } => {
                return None;
            }
            // The window's article comes from the profile and is in the message.
            Self::OutsideApprovalWindow { .. } | Self::DelegationEnded { .. } => return None,
        }))
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
            Self::DelegationEnded { .. } => "delegation-ended",
            Self::Delegation(_) => "delegation",
            Self::KeyNotUsable { .. } => "key-not-usable",
            Self::OutsideApprovalWindow { .. } => "outside-approval-window",
            Self::SystemAdminOnly(_) => "system-admin-only",
            Self::NotHolder => "not-holder",
            Self::ConsentNotAllowed => "consent-not-allowed",
            Self::InspectorReadOnly(_) => "inspector-read-only",
            Self::NationalSyncReadOnly(_) => "national-sync-read-only",
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
    /// A rule of the national sync feed (sealing, acknowledging).
    #[error(transparent)]
    Sync(Refusal<crate::handlers::sync::BatchRule>),
    /// The new password breaks DT 10.
    #[error("password refused: {0}")]
    Password(#[from] PasswordRejection),
    /// Someone else changed the aggregate since it was read; retry.
    #[error(
        "conflict on {stream}: expected {expected}, found {}; reload and retry",
        actual.map_or_else(|| "no stream".to_owned(), |r| format!("revision {r}"))
    )]
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
                | Self::Sync(_)
                | Self::Password(_)
        )
    }

    /// The family of [`Self::code`]: `org`, `account`, `dossier`, `access`,
    /// `scope`, `sync`, `password` for refusals, `failure` otherwise. A code is
    /// unique within its family, so `family/code` names a problem type.
    pub fn family(&self) -> &'static str {
        match self {
            Self::Org(_) => "org",
            Self::Account(_) => "account",
            Self::Dossier(_) => "dossier",
            Self::Access(_) => "access",
            Self::Scope(_) => "scope",
            Self::Sync(_) => "sync",
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
    pub fn citation(&self) -> Option<Cow<'static, str>> {
        match self {
            Self::Access(r) => r.rule.citation(),
            _ => self.static_citation().map(Cow::Borrowed),
        }
    }

    fn static_citation(&self) -> Option<&'static str> {
        match self {
            Self::Org(r) => r.citation(),
            Self::Account(r) => r.rule.citation(),
            Self::Dossier(r) => r.rule.citation(),
            Self::Scope(r) => r.rule.citation(),
            Self::Sync(r) => r.rule.citation(),
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
            Self::Sync(r) => r.rule.code(),
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

/// What a handler answers.
pub(crate) type Result<T, E = CommandError> = std::result::Result<T, E>;

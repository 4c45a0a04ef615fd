//! The façade of the write side: [`Workflows`] owns the store, the profile,
//! the calendar, the clock, the credential table, the field keys and the
//! index, and every command is a method on it. The API holds one
//! `Arc<Workflows>`; the handlers themselves live by aggregate in
//! [`crate::handlers`], their authorisation in [`crate::authz`] and the one
//! path they all run in [`crate::execute`].
//!
//! The module keeps its name so that `hoso_commands::workflows::…` stays the
//! single import path of the command vocabulary: it re-exports the command
//! structs, the errors and the receipts.
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

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::Clock;
use hoso_domain::profile::Profile;
use hoso_ledger::EventStore;
use hoso_schemas::Registry;
use tokio::sync::Mutex;

use crate::credentials::CredentialStore;
use crate::index::Index;
use crate::sealing::Keyring;

pub use crate::authz::{Approver, ReadBasis, SearchScope, right_name};
pub use crate::error::{AccessRule, CommandError, Refusal, ScopeRule};
pub use crate::execute::{ATTACHMENT_DIGEST_CONTEXT, DISCIPLINE_REASON_CONTEXT};
pub use crate::handlers::account::{InspectionTerms, IssueAccount};
pub use crate::handlers::bulk_import::import_event_id;
pub use crate::handlers::dossier::{
    AcceptTransfer, ApprovalRequest, ApprovalSignature, Approve, ChangeDepartment, ChangeStatus,
    Declare, ForwardTransfer, ImportDossier, InitiateTransfer, OpenDossier, RecordDecision,
    RejectTransfer, Review, ReviewStep,
};
pub use crate::handlers::sync::{
    Acknowledgement, ApprovalRef, BatchRange, BatchRule, DeliveryState, SealBatch, SealedBatch,
};
pub use crate::handlers::sync_continuous::{CONNECTION_SIGNER, SyncLag};
pub use crate::handlers::sync_months::{NextMonth, SignMonth, SignedMonth};
pub use crate::index::DossierSummary;

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

/// The write side of hoso.
pub struct Workflows {
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) registry: Registry,
    pub(crate) profile: Profile,
    pub(crate) calendar: WorkingCalendar,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) credentials: Arc<CredentialStore>,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) index: Mutex<Index>,
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

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

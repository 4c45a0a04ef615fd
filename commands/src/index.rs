//! What the handlers know of other aggregates: an in-memory [`Index`] of the
//! organisation tree, the accounts, a summary of each dossier and the
//! uniqueness maps, folded from `$all` and kept behind one mutex.
//!
//! [`Workflows::catch_up`] takes that mutex and reads the log from where the
//! index stopped. The guard is the "index lock" of the lock order written in
//! [`crate::execute`]: no stream is read while it is held.

use std::collections::BTreeMap;

use hoso_domain::account::{self, Account};
use hoso_domain::dossier::{self, EmploymentStatus};
use hoso_domain::org::{self, OrgTree};
use hoso_ledger::typed;
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::common::PersonnelCategory;

use crate::error::Result;
use crate::workflows::Workflows;

/// Events read per page while catching up.
const CATCH_UP_PAGE: usize = 4_096;

/// What the handlers know of other aggregates, folded from `$all`.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Next position to read.
    pub(crate) next_position: Option<u64>,
    pub(crate) org: OrgTree,
    pub(crate) accounts: BTreeMap<String, Account>,
    pub(crate) dossiers: BTreeMap<String, DossierSummary>,
    /// Person key (the keyed hash of the identification number) → dossier id.
    pub(crate) by_person: BTreeMap<String, String>,
    /// Person key → personal account id.
    pub(crate) personal_accounts: BTreeMap<String, String>,
    /// Login name → account id.
    pub(crate) usernames: BTreeMap<String, String>,
    /// Sealed national sync batches, by sequence.
    pub(crate) batches: BTreeMap<u64, crate::handlers::sync::SealedBatch>,
    /// Signed month statements of continuous mode, by month.
    pub(crate) months: BTreeMap<hoso_sync::Month, crate::handlers::sync_months::SignedMonth>,
}

/// The little of a dossier other commands need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierSummary {
    /// Person key: the keyed hash of the identification number (the number
    /// itself stays sealed).
    pub person_key: String,
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
        if stream.starts_with(org::STREAM_PREFIX) {
            self.org.apply(stream, event);
        } else if let Some(id) = stream.strip_prefix(account::STREAM_PREFIX) {
            self.apply_account(id, event);
        } else if let Some(id) = stream.strip_prefix(dossier::STREAM_PREFIX) {
            self.apply_dossier(id, event);
        }
    }

    fn apply_account(&mut self, id: &str, event: &DomainEvent) {
        let state = self.accounts.remove(id);
        if let Some(a) = account::evolve(state, event, id) {
            if let DomainEvent::AccountIssued(e) = event {
                self.usernames
                    .insert(e.username.to_lowercase(), id.to_owned());
                if !e.person_key.is_empty() {
                    self.personal_accounts
                        .insert(e.person_key.clone(), id.to_owned());
                }
            }
            self.accounts.insert(id.to_owned(), a);
        }
    }

    fn apply_dossier(&mut self, id: &str, event: &DomainEvent) {
        use DomainEvent as E;
        let opened = match event {
            E::DossierOpened(e) => Some((
                &e.person_key,
                &e.managing_unit,
                &e.employing_unit,
                e.category(),
            )),
            E::DossierImported(e) => Some((
                &e.person_key,
                &e.managing_unit,
                &e.employing_unit,
                e.category(),
            )),
            _ => None,
        };
        if let Some((person_key, managing_unit, employing_unit, category)) = opened {
            self.by_person.insert(person_key.clone(), id.to_owned());
            self.dossiers.insert(
                id.to_owned(),
                DossierSummary {
                    person_key: person_key.clone(),
                    managing_unit: managing_unit.clone(),
                    employing_unit: employing_unit.clone(),
                    category,
                    status: EmploymentStatus::Active,
                },
            );
        } else if let Some(s) = self.dossiers.get_mut(id) {
            s.apply(event);
        }
    }
}

impl DossierSummary {
    fn apply(&mut self, event: &DomainEvent) {
        use DomainEvent as E;
        match event {
            E::DepartmentChanged(e) => self.employing_unit.clone_from(&e.to_org_code),
            E::TransferAccepted(e) => {
                // The accepting unit is the new managing agency.
                self.managing_unit.clone_from(&e.org_code);
                self.employing_unit.clone_from(&e.org_code);
            }
            E::TransferForwarded(e) => self.employing_unit.clone_from(&e.to_org_code),
            E::StatusChanged(e) => self.status = e.status(),
            E::ManagingUnitReassigned(e) => {
                if self.managing_unit == e.from_org_code {
                    self.managing_unit.clone_from(&e.to_org_code);
                }
                if self.employing_unit == e.from_org_code {
                    self.employing_unit.clone_from(&e.to_org_code);
                }
            }
            _ => {}
        }
    }
}

impl Workflows {
    /// Reads `$all` from where the index stopped to the head.
    pub(crate) async fn catch_up(&self) -> Result<tokio::sync::MutexGuard<'_, Index>> {
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
                let mut event = match typed::decode(&self.registry, e) {
                    Ok(event) => event,
                    // An event altered in the file may no longer decode: that is
                    // damage to the log (the store then refuses writes and the
                    // API answers `ledger:untrusted`), not a failure of this
                    // request, and the index reads on so that logins still work.
                    Err(_) if e.compute_hash(self.store.dense_positions()) != e.hash => {
                        self.store.mark_corrupt(hoso_ledger::Damage::new(
                            Some(e.position),
                            format!(
                                "event {}@{} does not match its hash and does not decode",
                                e.stream, e.revision
                            ),
                        ));
                        continue;
                    }
                    Err(decode) => return Err(decode.into()),
                };
                // Keyed, not opened: the index looks numbers up by key.
                self.key_identifiers(&mut event);
                if let Some(sequence) = hoso_sync::sequence_of(&e.stream) {
                    crate::handlers::sync::apply(&mut idx.batches, sequence, e, &event);
                } else if hoso_sync::month::month_of_stream(&e.stream).is_some() {
                    crate::handlers::sync_months::apply(&mut idx.months, e, &event);
                } else {
                    idx.apply(&e.stream, &event);
                }
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

    /// The organisation tree as the handlers see it now.
    pub async fn org_tree(&self) -> Result<OrgTree> {
        Ok(self.catch_up().await?.org.clone())
    }

    /// The dossier id of an identification number, if it has one.
    pub async fn dossier_of_person(&self, person_id: &str) -> Result<Option<String>> {
        let key = self.person_key(person_id);
        Ok(self.catch_up().await?.by_person.get(&key).cloned())
    }

    /// The dossier of a personal account's holder, if the account is one and
    /// the holder has a dossier here.
    pub async fn dossier_of_account(&self, account_id: &str) -> Result<Option<String>> {
        let idx = self.catch_up().await?;
        Ok(idx
            .accounts
            .get(account_id)
            .and_then(|a| a.person_key.as_ref())
            .and_then(|k| idx.by_person.get(k))
            .cloned())
    }

    /// The personal account of an identification number, if issued.
    pub async fn personal_account_of(&self, person_id: &str) -> Result<Option<String>> {
        let key = self.person_key(person_id);
        Ok(self.catch_up().await?.personal_accounts.get(&key).cloned())
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
}

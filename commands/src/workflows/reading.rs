//! Who may read what: the read side's authorisation, decided by the same
//! index and rules as the commands so that reads and writes never disagree
//! about scope.
//!
//! A reader sees a dossier on one of four grounds, checked today (Vietnam
//! time): it is their own (through their personal account); they hold a
//! right over the dossier's managing or employing unit (DL 12.2, DL 6); a
//! head's approval power is delegated to them and in force (KT 8.1); or a
//! written consent in force names the person (BT 4.5, HY 4.8). Anything else
//! is outside scope, which the API answers as "not found" so that existence
//! is not revealed. Reads of restricted or secret data are recorded as
//! `AccessLogged` events on the reader's account stream.

use hoso_ledger::ExpectedRevision;
use hoso_schemas::pb::common::AccessRight;
use hoso_schemas::pb::dossier::{AccessLogged, access_logged::Basis};

use super::{AccessRule, Actor, CommandError, Receipt, Result, Workflows};
use hoso_domain::account::{self, Account, AccountChange, AccountKind, LockReason};
use hoso_domain::org;
use hoso_domain::restriction::Restriction;

/// The ground on which a reader sees a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBasis {
    /// The person's own dossier, through their personal account.
    Own,
    /// A right over the dossier's managing or employing unit.
    Right(AccessRight),
    /// A head's approval power delegated to the reader and in force (KT 8.1).
    Delegation {
        /// The delegating head's account.
        from_account: String,
        /// The delegation's id.
        delegation_id: String,
    },
    /// A written consent in force (BT 4.5, HY 4.8).
    Consent {
        /// The consent's id.
        consent_id: String,
        /// Its document number.
        document_number: String,
        /// Sections it covers (empty: all).
        sections: Vec<String>,
    },
}

impl ReadBasis {
    /// The highest restriction level this ground reveals.
    pub fn clearance(&self) -> Restriction {
        match self {
            Self::Own => Restriction::Secret,
            Self::Right(r) => Restriction::clearance_of(*r),
            Self::Delegation { .. } | Self::Consent { .. } => Restriction::Restricted,
        }
    }

    /// Whether the ground covers a section of the form.
    pub fn covers_section(&self, section: &str) -> bool {
        match self {
            Self::Consent { sections, .. } => {
                sections.is_empty() || sections.iter().any(|s| s == section)
            }
            _ => true,
        }
    }

    /// Stable name of the ground, as the API and the audit trail show it.
    pub fn describe(&self) -> String {
        match self {
            Self::Own => "own-data".to_owned(),
            Self::Right(r) => format!("right:{}", right_name(*r)),
            Self::Delegation { delegation_id, .. } => format!("delegation:{delegation_id}"),
            Self::Consent { consent_id, .. } => format!("consent:{consent_id}"),
        }
    }
}

/// Lower-case name of a right.
pub fn right_name(r: AccessRight) -> &'static str {
    match r {
        AccessRight::Admin => "admin",
        AccessRight::Update => "update",
        AccessRight::Access => "access",
        AccessRight::Unspecified => "none",
    }
}

/// Where a reader may search: everywhere (Sở Nội vụ), or the subtrees they
/// hold a right over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchScope {
    /// The whole province.
    Province,
    /// The roots of the subtrees, with the right held there.
    Subtrees(Vec<(String, AccessRight)>),
}

impl Workflows {
    /// The caller's account as the handlers see it now (for the API's
    /// session checks), if it exists.
    pub async fn caller(&self, account_id: &str) -> Result<Option<Account>> {
        Ok(self.catch_up().await?.accounts.get(account_id).cloned())
    }

    /// Whether `actor` may read the dossier today, and on what ground.
    /// `None` means outside scope (or no such dossier): the two must look
    /// the same to the caller. An actor who may not act at all (unknown,
    /// locked, must change password) is refused.
    pub async fn read_basis(&self, actor: &Actor, dossier_id: &str) -> Result<Option<ReadBasis>> {
        if let Some(found) = self.read_basis_indexed(actor, dossier_id).await? {
            return Ok(found);
        }
        // The receiving agency must see a dossier sent to it before it
        // accepts, forwards or rejects it (DL 10.2, KT 11.2). The index keeps
        // no transfers, so this (rare) miss reads the dossier's stream.
        let Some(d) = self.load_dossier(dossier_id).await? else {
            return Ok(None);
        };
        let Some(to) = d.transfer.map(|t| t.to) else {
            return Ok(None);
        };
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        if a.kind == AccountKind::Personal {
            return Ok(None);
        }
        Ok(self.right_over(&idx, a, &to).map(ReadBasis::Right))
    }

    /// [`Self::read_basis`] from the index alone: `Some(answer)` when the
    /// index decides, `None` when only a pending transfer could still give
    /// a ground.
    async fn read_basis_indexed(
        &self,
        actor: &Actor,
        dossier_id: &str,
    ) -> Result<Option<Option<ReadBasis>>> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        let Some(d) = idx.dossiers.get(dossier_id) else {
            return Ok(Some(None));
        };
        if a.kind == AccountKind::Personal {
            if a.person_id.as_deref() == Some(d.person_id.as_str()) {
                return Ok(Some(Some(ReadBasis::Own)));
            }
        } else {
            let right = [&d.managing_unit, &d.employing_unit]
                .into_iter()
                .filter_map(|u| self.right_over(&idx, a, u))
                .max();
            if let Some(r) = right {
                return Ok(Some(Some(ReadBasis::Right(r))));
            }
        }
        let today = self.today();
        // A deputy signing for a head needs to read what they sign.
        // Only a head's power counts, and only where the head still holds a
        // right: a delegation never reaches further than its delegator.
        let heads = idx
            .accounts
            .values()
            .filter(|h| h.kind == AccountKind::AgencyHead && h.locked.is_none());
        for head in heads {
            for (id, del) in &head.delegations {
                if del.to_account == a.id
                    && del.in_force_on(today)
                    && (del.categories.is_empty() || del.categories.contains(&d.category))
                    && [&d.managing_unit, &d.employing_unit].into_iter().any(|u| {
                        let covered = if del.org_codes.is_empty() {
                            idx.org.contains(&head.org_code, u, today)
                        } else {
                            del.org_codes.iter().any(|c| idx.org.contains(c, u, today))
                        };
                        covered
                            && idx.org.contains(&head.org_code, u, today)
                            && self.right_over(&idx, head, u).is_some()
                    })
                {
                    return Ok(Some(Some(ReadBasis::Delegation {
                        from_account: head.id.clone(),
                        delegation_id: id.clone(),
                    })));
                }
            }
        }
        for (id, c) in &a.consents {
            if c.subject_person_id == d.person_id && c.in_force_on(today) {
                return Ok(Some(Some(ReadBasis::Consent {
                    consent_id: id.clone(),
                    document_number: c.document_number.clone(),
                    sections: c.section_codes.clone(),
                })));
            }
        }
        Ok(None)
    }

    /// Whether `actor` holds at least `needed` over a unit today (for reads
    /// of organisation views and reports).
    pub async fn right_over_unit(
        &self,
        actor: &Actor,
        org_code: &str,
    ) -> Result<Option<AccessRight>> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        Ok(self.right_over(&idx, a, org_code))
    }

    /// Where `actor` may search.
    pub async fn search_scope(&self, actor: &Actor) -> Result<SearchScope> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        if a.kind == AccountKind::SystemAdmin {
            return Ok(SearchScope::Province);
        }
        if a.kind == AccountKind::Personal {
            return Ok(SearchScope::Subtrees(Vec::new()));
        }
        let today = self.today();
        Ok(SearchScope::Subtrees(
            a.grants
                .iter()
                .filter(|(root, _)| {
                    org::UnitLookup::unit(&idx.org, root).is_some_and(|u| u.is_active_at(today))
                })
                .map(|(root, r)| (root.clone(), *r))
                .collect(),
        ))
    }

    /// Records that `actor` read restricted or secret fields of a dossier
    /// (BT 4.3, HY 4.4): an `AccessLogged` event on the reader's account
    /// stream, naming the dossier, the fields and the ground.
    pub async fn log_access(
        &self,
        actor: &Actor,
        dossier_id: &str,
        field_codes: Vec<String>,
        basis: &ReadBasis,
        purpose: &str,
    ) -> Result<Receipt> {
        let basis = match basis {
            ReadBasis::Own => Basis::OwnData(true),
            ReadBasis::Right(r) => Basis::Right(*r as i32),
            ReadBasis::Delegation { delegation_id, .. } => {
                Basis::ConsentId(format!("delegation:{delegation_id}"))
            }
            ReadBasis::Consent { consent_id, .. } => Basis::ConsentId(consent_id.clone()),
        };
        self.append(
            &actor.account_id,
            &account::stream_id(&actor.account_id),
            ExpectedRevision::StreamExists,
            vec![
                AccessLogged {
                    reader_account: actor.account_id.clone(),
                    field_codes,
                    basis: Some(basis),
                    purpose: purpose.to_owned(),
                    dossier_id: dossier_id.to_owned(),
                }
                .into(),
            ],
            None,
            None,
        )
        .await
    }

    /// Locks an account after repeated failed logins (HY 5.1: attempts at
    /// unauthorised access are prevented and recorded). Idempotent: an
    /// already locked account is left as it is.
    pub async fn lock_for_security(&self, account_id: &str, note: &str) -> Result<Option<Receipt>> {
        let Some(acc) = self.load_account(account_id).await? else {
            return Err(AccessRule::UnknownActor(account_id.to_owned()).into());
        };
        if acc.locked.is_some() {
            return Ok(None);
        }
        match self
            .account_change_as(
                "system",
                account_id,
                AccountChange::Lock {
                    reason: LockReason::Security,
                    note: note.to_owned(),
                },
            )
            .await
        {
            Ok(r) => Ok(Some(r)),
            // Someone else changed the account meanwhile; the caller retries
            // on the next failure.
            Err(CommandError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

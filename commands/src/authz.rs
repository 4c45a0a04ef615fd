//! Authorisation: one answer to each question of who may do what, asked by
//! the command handlers, the read side and the demo alike.
//!
//! - Who the actor is: [`Workflows::active_actor`] refuses unknown, locked and
//!   must-change-password actors (BT 4.4).
//! - What right they hold over a unit today: [`Workflows::right_over`] and
//!   [`Workflows::require_right`] (DL 12.2, DL 6).
//! - Who may approve a dossier: [`Workflows::approval_level`] (DT 11 as data,
//!   then the profile's rules), [`Workflows::approval_basis`] for a signer,
//!   including a deputy under a head's delegation (KT 8.1), and
//!   [`Workflows::approving_units`] / [`Workflows::approvers_of`] for the
//!   units and heads who may (the demo asks these rather than keep a model of
//!   its own).
//! - Whether a delegation may be made: [`Workflows::check_delegation`].
//! - Who may read what ([`ReadBasis`]), and who may export a dossier's
//!   bundle ([`Workflows::bundle_basis`]).
//!
//! An inspector account never acts: [`Workflows::acting_actor`], which
//! every command asks, refuses it (`InspectorReadOnly`); only its own
//! password change passes. It reads on one ground alone, an inspection in
//! force today over a subtree holding the dossier's managing unit today,
//! with the clearance the inspection grants.
//!
//! A reader sees a dossier on one of four grounds, checked today (Vietnam
//! time): it is their own (through their personal account); they hold a
//! right over the dossier's managing or employing unit (DL 12.2, DL 6); a
//! head's approval power is delegated to them and in force (KT 8.1); or a
//! written consent in force names the person (BT 4.5, HY 4.8). Anything else
//! is outside scope, which the API answers as "not found" so that existence
//! is not revealed.

use hoso_domain::account::{self, Account, AccountKind, Inspection};
use hoso_domain::dossier::Dossier;
use hoso_domain::org;
use hoso_domain::profile::{self, ApprovalLevel, OrgKind};
use hoso_domain::restriction::Restriction;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};

use crate::error::{AccessRule, Result, ScopeRule};
use crate::index::Index;
use crate::workflows::{Actor, Workflows};

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
    /// An inspection in force, held by an inspector account.
    Inspection {
        /// The inspection's id.
        inspection_id: String,
        /// Its decision's number.
        decision_number: String,
        /// The clearance the inspection grants (general unless its
        /// decision grants restricted).
        clearance: Restriction,
    },
}

impl ReadBasis {
    /// The highest restriction level this ground reveals.
    pub fn clearance(&self) -> Restriction {
        match self {
            Self::Own => Restriction::Secret,
            Self::Right(r) => Restriction::clearance_of(*r),
            Self::Delegation { .. } | Self::Consent { .. } => Restriction::Restricted,
            Self::Inspection { clearance, .. } => *clearance,
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
            Self::Inspection { inspection_id, .. } => format!("inspection:{inspection_id}"),
        }
    }

    /// Whether every read on this ground is logged, whatever the levels of
    /// the fields it returns (an inspector's are; the others log only reads
    /// of restricted data, BT 4.3).
    pub fn logs_every_read(&self) -> bool {
        matches!(self, Self::Inspection { .. })
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

/// An account that may approve a dossier today, and at which level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// The head's account.
    pub account_id: String,
    /// The head's unit.
    pub org_code: String,
    /// The level whose window applies.
    pub level: ApprovalLevel,
}

impl Workflows {
    /// The actor's account, refusing unknown, locked, and must-change-password actors.
    pub(crate) fn active_actor<'i>(
        &self,
        idx: &'i Index,
        actor: &Actor,
    ) -> Result<&'i Account, AccessRule> {
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

    /// [`Self::active_actor`] for a command: an inspector account reads
    /// only, so it is refused whatever it asks to change; so is a national
    /// sync account, whose one command (acknowledging a batch,
    /// `Workflows::acknowledge_batch`) asks [`Self::active_actor`] itself.
    pub(crate) fn acting_actor<'i>(
        &self,
        idx: &'i Index,
        actor: &Actor,
    ) -> Result<&'i Account, AccessRule> {
        let a = self.active_actor(idx, actor)?;
        if a.kind == AccountKind::Inspector {
            return Err(AccessRule::InspectorReadOnly(a.id.clone()));
        }
        if a.kind == AccountKind::NationalSync {
            return Err(AccessRule::NationalSyncReadOnly(a.id.clone()));
        }
        Ok(a)
    }

    /// The inspection of `a` in force today whose subtrees hold `org_code`
    /// today, if any; of several, the one with the highest clearance (then
    /// the greatest id), so a second, narrower inspection never lowers what
    /// the first lets the inspector see.
    fn inspection_over<'a>(
        &self,
        idx: &Index,
        a: &'a Account,
        org_code: &str,
    ) -> Option<(&'a String, &'a Inspection)> {
        if a.kind != AccountKind::Inspector {
            return None;
        }
        let today = self.today();
        let holder = idx.org.holder_at(org_code, today);
        a.inspections
            .iter()
            .filter(|(_, i)| {
                i.in_force_on(today)
                    && i.org_codes
                        .iter()
                        .any(|root| idx.org.contains(root, &holder, today))
            })
            .max_by(|(id_a, a), (id_b, b)| a.clearance.cmp(&b.clearance).then(id_a.cmp(id_b)))
    }

    /// The highest right `a` holds over `org_code` today.
    pub(crate) fn right_over(
        &self,
        idx: &Index,
        a: &Account,
        org_code: &str,
    ) -> Option<AccessRight> {
        if a.kind == AccountKind::SystemAdmin {
            return Some(AccessRight::Admin);
        }
        if matches!(
            a.kind,
            AccountKind::Personal | AccountKind::Inspector | AccountKind::NationalSync
        ) {
            return None;
        }
        let today = self.today();
        // A unit restructured away by today is answered for by the unit that
        // holds its people today (DL 5.5): the old unit's grants stop on
        // the effective date, the successor's start, whether or not the
        // move events have been written yet.
        let holder = idx.org.holder_at(org_code, today);
        a.grants
            .iter()
            .filter(|(root, _)| idx.org.contains(root, &holder, today))
            .map(|(_, r)| *r)
            .max()
    }

    /// Refuses an actor holding less than `needed` over the unit today.
    pub(crate) fn require_right(
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

    /// Refuses a unit that does not exist or is not active today.
    pub(crate) fn require_active_unit(&self, idx: &Index, code: &str) -> Result<(), ScopeRule> {
        let today = self.today();
        match org::UnitLookup::unit(&idx.org, code) {
            None => Err(ScopeRule::UnknownUnit(code.to_owned())),
            Some(u) if !u.is_active_at(today) => {
                Err(ScopeRule::UnitNotActive(code.to_owned(), today))
            }
            Some(_) => Ok(()),
        }
    }

    /// Whether the head of `unit` approves dossiers of `category` managed by
    /// `managing_unit` today, and in which window: an explicit assignment in
    /// the org tree (DT 11 as data) first, then the profile's rules. The
    /// flag says whether the profile lets the head delegate it (KT 8.1).
    pub(crate) fn approval_level(
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

    /// On what ground `signer` approves the dossier `d` today: as a head
    /// whose unit has approval authority over its unit and category (DT 11),
    /// or as a deputy under a head's delegation in force (KT 8.1). Answers
    /// the level whose window applies and the delegating head, if any.
    pub(crate) fn approval_basis(
        &self,
        idx: &Index,
        signer: &Account,
        d: &Dossier,
    ) -> Result<(ApprovalLevel, Option<String>), AccessRule> {
        let own = (signer.kind == AccountKind::AgencyHead)
            .then(|| self.approval_level(idx, &signer.org_code, &d.managing_unit, d.category))
            .flatten();
        match own {
            Some((level, _)) => Ok((level, None)),
            None => self.delegated_approval(idx, signer, d),
        }
    }

    /// A deputy signing under a head's delegation (KT 8.1): the last head
    /// whose delegation in force covers the dossier and whose profile lets
    /// it delegate.
    fn delegated_approval(
        &self,
        idx: &Index,
        signer: &Account,
        d: &Dossier,
    ) -> Result<(ApprovalLevel, Option<String>), AccessRule> {
        let today = self.today();
        let mut found = None;
        let mut refusal = None;
        let mut ended = None;
        let heads = idx
            .accounts
            .values()
            .filter(|h| h.kind == AccountKind::AgencyHead && h.locked.is_none());
        for head in heads {
            for del in head.delegations.values() {
                if del.to_account != signer.id || today < del.valid_from {
                    continue;
                }
                if !del.in_force_on(today) {
                    // Ended or revoked: remembered, to name it if nothing
                    // else lets the deputy sign.
                    ended = Some((head, del.valid_until.min(today)));
                    continue;
                }
                let covers_unit = del.org_codes.is_empty()
                    || del
                        .org_codes
                        .iter()
                        .any(|o| idx.org.contains(o, &d.managing_unit, today));
                let covers_cat = del.categories.is_empty() || del.categories.contains(&d.category);
                if !(covers_unit && covers_cat) {
                    continue;
                }
                match self.approval_level(idx, &head.org_code, &d.managing_unit, d.category) {
                    Some((level, true)) => found = Some((level, head.id.clone())),
                    Some((_, false)) => refusal = Some(self.not_delegable(head)),
                    None => {}
                }
            }
        }
        match (found, refusal, ended) {
            (Some((level, head)), _, _) => Ok((level, Some(head))),
            (None, Some(why), _) => Err(AccessRule::Delegation(why)),
            (None, None, Some((head, last_day))) => Err(AccessRule::DelegationEnded {
                head: head.id.clone(),
                signer: signer.id.clone(),
                ended_on: last_day,
                citation: self.delegation_citation(idx, head, d),
            }),
            (None, None, None) => Err(AccessRule::NotApprover {
                signer: signer.id.clone(),
                citation: "DT 11, KT 8.1",
            }),
        }
    }

    /// The article of the profile in force that let `head` delegate its
    /// approval of `d` (KT 8.1a in Kon Tum, BT 7.1 in Bình Thuận…).
    fn delegation_citation(&self, idx: &Index, head: &Account, d: &Dossier) -> String {
        let today = self.today();
        let rule = org::UnitLookup::unit(&idx.org, &head.org_code).and_then(|u| {
            let kind = OrgKind::of_unit_kind(u.kind())?;
            let parent_kind = u
                .parent_at(today)
                .and_then(|p| org::UnitLookup::unit(&idx.org, p))
                .and_then(|p| OrgKind::of_unit_kind(p.kind()));
            let cat = account::profile_category(d.category)?;
            self.profile
                .authority_for(kind, parent_kind, cat)
                .find(|r| r.delegable)
                .map(|r| r.citation.clone())
        });
        rule.unwrap_or_else(|| format!("the {} profile's delegation rule", self.profile.name()))
    }

    fn not_delegable(&self, head: &Account) -> String {
        format!(
            "the {} profile does not let {} delegate approval (no delegation rule in {})",
            self.profile.name(),
            head.id,
            self.profile.code()
        )
    }

    /// Whether the head `target` may delegate its approval power over
    /// `org_codes` to `to_account` (KT 8.1), asked by `a`.
    pub(crate) fn check_delegation(
        &self,
        idx: &Index,
        a: &Account,
        target: &Account,
        to_account: &str,
        org_codes: &[String],
    ) -> Result<()> {
        if a.id != target.id && a.kind != AccountKind::SystemAdmin {
            return Err(AccessRule::Delegation(
                "only the head delegates their own approval power (KT 8.1)".to_owned(),
            )
            .into());
        }
        // Only a head has approval power to delegate, and only over the
        // head's own unit (a delegation also lets the deputy read what they
        // sign).
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
            .ok_or_else(|| ScopeRule::UnknownAccount(to_account.to_owned()))?;
        if deputy.kind == AccountKind::Personal {
            return Err(ScopeRule::BadDelegate(
                "approval power cannot be delegated to a personal account".to_owned(),
            )
            .into());
        }
        if deputy.kind == AccountKind::Inspector {
            return Err(ScopeRule::BadDelegate(
                "approval power cannot be delegated to an inspector account, which reads only"
                    .to_owned(),
            )
            .into());
        }
        if !idx.org.contains(&target.org_code, &deputy.org_code, today) {
            return Err(ScopeRule::BadDelegate(format!(
                "deputy {} belongs to {}, outside the delegating head's unit {}",
                deputy.id, deputy.org_code, target.org_code
            ))
            .into());
        }
        Ok(())
    }

    /// The heads who may approve a dossier today by their own authority
    /// (DT 11), nearest to the dossier's managing unit first: the heads of
    /// [`Self::approving_units`], by the rule [`Self::approve`] applies to a
    /// head who signs. Locked heads are left out; a deputy's delegated power
    /// is not listed. Empty for an unknown dossier.
    pub async fn approvers_of(&self, dossier_id: &str) -> Result<Vec<Approver>> {
        let idx = self.catch_up().await?;
        let Some(d) = idx.dossiers.get(dossier_id) else {
            return Ok(Vec::new());
        };
        let units = self.approving_units_in(&idx, &d.managing_unit, d.category);
        let mut approvers = Vec::new();
        for (unit, level) in units {
            let heads = idx.accounts.values().filter(|h| {
                h.kind == AccountKind::AgencyHead && h.locked.is_none() && h.org_code == unit
            });
            approvers.extend(heads.map(|h| Approver {
                account_id: h.id.clone(),
                org_code: unit.clone(),
                level,
            }));
        }
        Ok(approvers)
    }

    /// The active units whose head approves dossiers of `category` managed
    /// by `managing_unit` today, with the level whose window applies:
    /// first the units from the managing unit up, nearest first, then any
    /// other unit explicitly assigned the authority (DT 11 as data). The same
    /// rule as [`Self::approve`]'s, whether or not the unit has a head yet.
    pub async fn approving_units(
        &self,
        managing_unit: &str,
        category: PersonnelCategory,
    ) -> Result<Vec<(String, ApprovalLevel)>> {
        let idx = self.catch_up().await?;
        Ok(self.approving_units_in(&idx, managing_unit, category))
    }

    fn approving_units_in(
        &self,
        idx: &Index,
        managing_unit: &str,
        category: PersonnelCategory,
    ) -> Vec<(String, ApprovalLevel)> {
        let today = self.today();
        let mut line = Vec::new();
        let mut current = org::UnitLookup::unit(&idx.org, managing_unit);
        while let Some(u) = current {
            line.push(u.code().to_owned());
            current = u
                .parent_at(today)
                .and_then(|p| org::UnitLookup::unit(&idx.org, p));
        }
        let off_line = idx
            .org
            .units()
            .values()
            .filter(|u| u.approval_authority_at(today).is_some())
            .map(|u| u.code().to_owned())
            .filter(|c| !line.contains(c));
        let candidates: Vec<String> = line.iter().cloned().chain(off_line).collect();
        candidates
            .into_iter()
            .filter(|c| org::UnitLookup::unit(&idx.org, c).is_some_and(|u| u.is_active_at(today)))
            .filter_map(|c| {
                let (level, _) = self.approval_level(idx, &c, managing_unit, category)?;
                Some((c, level))
            })
            .collect()
    }

    /// The caller's account as the handlers see it now (for the API's
    /// session checks), if it exists.
    pub async fn caller(&self, account_id: &str) -> Result<Option<Account>> {
        Ok(self.catch_up().await?.accounts.get(account_id).cloned())
    }

    /// The accounts among `ids` as the handlers see them now, under one
    /// catch-up (a page naming who acted or read; an id of no account is
    /// left out).
    pub async fn accounts_by_id(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, Account>> {
        let idx = self.catch_up().await?;
        Ok(ids
            .iter()
            .filter_map(|id| Some(((*id).to_owned(), idx.accounts.get(*id)?.clone())))
            .collect())
    }

    /// Whether `actor` may read the dossier today, and on what ground.
    /// `None` means outside scope (or no such dossier): the two must look
    /// the same to the caller. An actor who may not act at all (unknown,
    /// locked, must change password) is refused.
    pub async fn read_basis(&self, actor: &Actor, dossier_id: &str) -> Result<Option<ReadBasis>> {
        let decided = {
            let idx = self.catch_up().await?;
            self.read_basis_indexed(&idx, actor, dossier_id)?
        };
        if let Some(found) = decided {
            return Ok(found);
        }
        self.read_basis_in_transit(actor, dossier_id).await
    }

    /// [`Self::read_basis`] of several dossiers, the index caught up once
    /// for all of them (a page of search hits).
    pub async fn read_bases(
        &self,
        actor: &Actor,
        dossier_ids: &[&str],
    ) -> Result<Vec<Option<ReadBasis>>> {
        let decided = {
            let idx = self.catch_up().await?;
            dossier_ids
                .iter()
                .map(|id| self.read_basis_indexed(&idx, actor, id))
                .collect::<Result<Vec<_>>>()?
        };
        let mut out = Vec::with_capacity(decided.len());
        for (id, found) in dossier_ids.iter().zip(decided) {
            out.push(match found {
                Some(found) => found,
                None => self.read_basis_in_transit(actor, id).await?,
            });
        }
        Ok(out)
    }

    /// The ground the index cannot decide: a dossier sent to the actor's
    /// unit and not yet accepted.
    async fn read_basis_in_transit(
        &self,
        actor: &Actor,
        dossier_id: &str,
    ) -> Result<Option<ReadBasis>> {
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
    fn read_basis_indexed(
        &self,
        idx: &Index,
        actor: &Actor,
        dossier_id: &str,
    ) -> Result<Option<Option<ReadBasis>>> {
        let a = self.active_actor(idx, actor)?;
        let Some(d) = idx.dossiers.get(dossier_id) else {
            return Ok(Some(None));
        };
        if a.kind == AccountKind::Inspector {
            // An inspection is the inspector's one ground: no transfer,
            // delegation or consent widens it.
            return Ok(Some(self.inspection_over(idx, a, &d.managing_unit).map(
                |(id, i)| ReadBasis::Inspection {
                    inspection_id: id.clone(),
                    decision_number: i.decision_number.clone(),
                    clearance: i.clearance,
                },
            )));
        }
        if a.kind == AccountKind::Personal {
            if a.person_key.as_deref() == Some(d.person_key.as_str()) {
                return Ok(Some(Some(ReadBasis::Own)));
            }
        } else {
            let right = [&d.managing_unit, &d.employing_unit]
                .into_iter()
                .filter_map(|u| self.right_over(idx, a, u))
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
                            && self.right_over(idx, head, u).is_some()
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
            if c.subject_key == d.person_key && c.in_force_on(today) {
                return Ok(Some(Some(ReadBasis::Consent {
                    consent_id: id.clone(),
                    document_number: c.document_number.clone(),
                    sections: c.section_codes.clone(),
                })));
            }
        }
        Ok(None)
    }

    /// The accounts a head may delegate approval power to today (KT 8.1):
    /// the staff accounts of the head's unit and its subtree that are not
    /// locked, by [`Self::check_delegation`]'s rule (no personal, inspector or
    /// sync account; not the head). Anyone but a head is refused, as their
    /// delegation would be: a head picks a deputy without holding the admin
    /// right that lists every account.
    pub async fn delegates_for(&self, actor: &Actor) -> Result<Vec<Account>> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        if a.kind != AccountKind::AgencyHead {
            return Err(AccessRule::Delegation(
                "only the approval power of a head (agency head account) can be delegated (KT 8.1)"
                    .to_owned(),
            )
            .into());
        }
        let today = self.today();
        Ok(idx
            .accounts
            .values()
            .filter(|t| {
                t.id != a.id
                    && t.locked.is_none()
                    && !matches!(
                        t.kind,
                        AccountKind::Personal | AccountKind::Inspector | AccountKind::NationalSync
                    )
                    && idx.org.contains(&a.org_code, &t.org_code, today)
            })
            .cloned()
            .collect())
    }

    /// The accounts `actor` administers today (DL 12.2, HY 5.1), by id:
    /// every account for Sở Nội vụ; for anyone else, the accounts of the
    /// units it holds the admin right over (a unit restructured away is
    /// answered for by its holder today, as for every right). An actor
    /// holding the admin right nowhere is refused, as it would be for any
    /// change to an account.
    pub async fn accounts_administered(&self, actor: &Actor) -> Result<Vec<Account>> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        let admin_somewhere = a.kind == AccountKind::SystemAdmin
            || (a.kind == AccountKind::AgencyAdmin
                && a.grants.values().any(|r| *r == AccessRight::Admin));
        if !admin_somewhere {
            return Err(AccessRule::InsufficientRight {
                org_code: a.org_code.clone(),
                needed: AccessRight::Admin,
                held: self.right_over(&idx, a, &a.org_code),
            }
            .into());
        }
        Ok(idx
            .accounts
            .values()
            .filter(|t| self.right_over(&idx, a, &t.org_code) == Some(AccessRight::Admin))
            .cloned()
            .collect())
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
        if a.kind == AccountKind::Inspector {
            // An inspection in force reads the unit's views and reports as
            // access right does, and no more.
            return Ok(self
                .inspection_over(&idx, a, org_code)
                .map(|_| AccessRight::Access));
        }
        Ok(self.right_over(&idx, a, org_code))
    }

    /// The inspection under which `actor` reads `org_code` today: `None`
    /// for any account that is not an inspector, or outside its
    /// inspections (for logging an inspector's queries).
    pub async fn inspection_for_unit(
        &self,
        actor: &Actor,
        org_code: &str,
    ) -> Result<Option<String>> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        Ok(self
            .inspection_over(&idx, a, org_code)
            .map(|(id, _)| id.clone()))
    }

    /// Whether `actor` may export the dossier's offline bundle (its events
    /// with their chain, and the proofs that tie them to a signed tree
    /// head), and on what ground. The bundle holds the dossier's whole
    /// history, so it goes to exactly those who may read that history: an
    /// inspector within an inspection's scope and term, and every other
    /// reader [`Self::read_basis`] lets in. `None` means outside scope or
    /// no such dossier, answered alike (404). What the bundle may show of
    /// restricted fields is the ground's [`ReadBasis::clearance`], as for a
    /// read; an exporter logs the export as a read (`log_access`).
    pub async fn bundle_basis(&self, actor: &Actor, dossier_id: &str) -> Result<Option<ReadBasis>> {
        self.read_basis(actor, dossier_id).await
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
        if a.kind == AccountKind::Inspector {
            let mut roots: Vec<(String, AccessRight)> = a
                .inspections
                .values()
                .filter(|i| i.in_force_on(today))
                .flat_map(|i| i.org_codes.iter())
                .filter(|root| {
                    org::UnitLookup::unit(&idx.org, root).is_some_and(|u| u.is_active_at(today))
                })
                .map(|root| (root.clone(), AccessRight::Access))
                .collect();
            roots.sort();
            roots.dedup();
            return Ok(SearchScope::Subtrees(roots));
        }
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
}

//! Handlers of the organisation: bootstrapping the province's first
//! administrator, decisions about units (DL 5), and the follow-up of a
//! merger, split or dissolution that moves the unit's dossiers and accounts
//! (DL 5.5), plus [`Workflows::reconcile`], which finishes any
//! cross-aggregate follow-up a failure left undone.
//!
//! A restructuring moves people on its effective date, not on the day it is
//! recorded. Until that date nothing is written to the dossiers and accounts;
//! from it, every reader already answers with the successor
//! (`OrgTree::holder_at`), and the move events are written by the first
//! follow-up run on or after the date ([`Workflows::fulfil_due_restructurings`],
//! which the server runs periodically, or any later decision or reconcile).
//! They carry the decision's effective date, so `as_of` reads agree before
//! and after they are written.

use chrono::NaiveDate;
use hoso_domain::account::{
    self, Account, AccountChange, AccountKind, LockReason, PasswordChangeKind,
};
use hoso_domain::dossier::{self, DossierChange};
use hoso_domain::org::{self, OrgChange, OrgCommand, OrgStatus};
use hoso_ledger::{Direction, ExpectedRevision, SourceDocument, StreamFrom};
use hoso_schemas::pb::common::AccessRight;
use uuid::Uuid;

use crate::credentials::{PasswordContext, check_password};
use crate::error::{AccessRule, Result, ScopeRule};
use crate::handlers::account::IssueAccount;
use crate::index::Index;
use crate::workflows::{Actor, Receipt, Workflows};

/// The actor recorded on the moves the server writes by itself when a
/// restructuring's effective date has come.
pub const SYSTEM_ACTOR: &str = "system";

/// What a restructured unit leaves behind: who follows it where.
struct Restructuring {
    successor: Option<String>,
    effective: NaiveDate,
    dossiers: Vec<String>,
    /// Account, whether it belongs to the unit, whether it holds a grant there.
    accounts: Vec<(String, bool, bool)>,
}

impl Workflows {
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

    /// Runs a decision about a unit. Establishing a unit needs admin right
    /// over its parent (the system administrator for the root); everything
    /// else, admin right over the unit. A merger or split then moves the
    /// unit's dossiers and accounts (DL 5.5).
    pub async fn org(&self, actor: &Actor, command: OrgCommand) -> Result<Receipt> {
        let about = org::stream_id(&command.code);
        let result = self.org_decision(actor, command).await;
        self.about(&about, result).await
    }

    async fn org_decision(&self, actor: &Actor, command: OrgCommand) -> Result<Receipt> {
        let stream = org::stream_id(&command.code);
        let restructuring = matches!(
            command.change,
            OrgChange::MergeInto { .. } | OrgChange::Split { .. } | OrgChange::Dissolve { .. }
        );
        let code = command.code.clone();
        let decision = command.decision.clone();
        let (events, expected) = {
            let idx = self.catch_up().await?;
            self.authorize_org(&idx, actor, &command)?;
            let unit = org::UnitLookup::unit(&idx.org, &command.code).cloned();
            let events = org::decide(unit.as_ref(), command, &idx.org, self.today())?;
            let expected = unit.as_ref().map_or(ExpectedRevision::NoStream, |u| {
                ExpectedRevision::Exact(u.revision())
            });
            (events, expected)
        };
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

    fn authorize_org(&self, idx: &Index, actor: &Actor, command: &OrgCommand) -> Result<()> {
        let a = self.acting_actor(idx, actor)?;
        match &command.change {
            OrgChange::Establish { parent: None, .. } => {
                if a.kind != AccountKind::SystemAdmin {
                    return Err(
                        AccessRule::SystemAdminOnly("establish the province's root unit").into(),
                    );
                }
            }
            OrgChange::Establish {
                parent: Some(p), ..
            } => self.require_right(idx, a, p, AccessRight::Admin)?,
            _ => self.require_right(idx, a, &command.code, AccessRight::Admin)?,
        }
        Ok(())
    }

    /// Moves the dossiers and accounts of a merged or split unit to its
    /// successor, and revokes rights over it (DL 5.5), if its effective
    /// date has come (before it, nothing is due and nothing is written).
    /// Idempotent: run it again after a failure and it finishes what is left.
    ///
    /// For a split, people and accounts go to the first successor; the
    /// receiving agencies then redistribute them with ordinary transfers,
    /// since the split decision itself does not say who goes where.
    pub async fn complete_restructuring(&self, actor: &Actor, code: &str) -> Result<usize> {
        let about = org::stream_id(code);
        let result = self.restructure(actor, code).await;
        self.about(&about, result).await
    }

    async fn restructure(&self, actor: &Actor, code: &str) -> Result<usize> {
        {
            let idx = self.catch_up().await?;
            self.acting_actor(&idx, actor)?;
        }
        self.move_restructured(&actor.account_id, code).await
    }

    /// Writes the moves of every unit whose merger, split or dissolution
    /// has taken effect by today and whose dossiers or accounts have not
    /// followed yet (DL 5.5), as [`SYSTEM_ACTOR`]: the clock passing the
    /// effective date is the only trigger. Idempotent; returns how many
    /// dossiers moved. Reads do not wait for it (see the module doc).
    pub async fn fulfil_due_restructurings(&self) -> Result<usize> {
        let today = self.today();
        let due: Vec<String> = {
            let idx = self.catch_up().await?;
            idx.org
                .units()
                .values()
                .filter(|u| u.status().ceased_on().is_some_and(|c| c <= today))
                .map(|u| u.code().to_owned())
                .collect()
        };
        let mut moved = 0;
        for code in due {
            let about = org::stream_id(&code);
            let result = self.move_restructured(SYSTEM_ACTOR, &code).await;
            moved += self.about(&about, result).await?;
        }
        Ok(moved)
    }

    /// Moves what a ceased unit leaves behind, once its effective date has
    /// come; before it, nothing (the people stay with the unit until then).
    async fn move_restructured(&self, actor_id: &str, code: &str) -> Result<usize> {
        let Some(r) = self.restructuring_of(code).await? else {
            return Ok(0);
        };
        if r.effective > self.today() || (r.dossiers.is_empty() && r.accounts.is_empty()) {
            return Ok(0);
        }
        // Read after the index lock is released (the lock order).
        let decision = self.restructuring_decision(code).await?;
        let mut moved = 0;
        if let Some(successor) = &r.successor {
            for id in &r.dossiers {
                if self
                    .reassign_dossier(actor_id, id, code, successor, r.effective, &decision)
                    .await?
                {
                    moved += 1;
                }
            }
        }
        for (id, belongs, granted) in &r.accounts {
            self.restructure_account(actor_id, id, code, *belongs, *granted, &r, &decision)
                .await?;
        }
        Ok(moved)
    }

    /// Who follows a ceased unit where, from the index; `None` for a unit
    /// still active.
    async fn restructuring_of(&self, code: &str) -> Result<Option<Restructuring>> {
        let idx = self.catch_up().await?;
        let Some(unit) = org::UnitLookup::unit(&idx.org, code) else {
            return Err(ScopeRule::UnknownUnit(code.to_owned()).into());
        };
        let Some(effective) = unit.status().ceased_on() else {
            return Ok(None);
        };
        let successor = unit.status().receiver().map(str::to_owned);
        let dossiers = idx
            .dossiers
            .iter()
            .filter(|(_, s)| s.managing_unit == code || s.employing_unit == code)
            .map(|(id, _)| id.clone())
            .collect();
        let accounts = idx
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
        Ok(Some(Restructuring {
            successor,
            effective,
            dossiers,
            accounts,
        }))
    }

    /// Moves one dossier off a ceased unit; `false` when it had already moved.
    async fn reassign_dossier(
        &self,
        actor_id: &str,
        id: &str,
        code: &str,
        successor: &str,
        effective: NaiveDate,
        decision: &SourceDocument,
    ) -> Result<bool> {
        let Some(d) = self.load_dossier(id).await? else {
            return Ok(false);
        };
        if d.managing_unit != code && d.employing_unit != code {
            return Ok(false);
        }
        let change = DossierChange::Reassign {
            from: code.to_owned(),
            to: successor.to_owned(),
            effective,
            document: decision.clone(),
        };
        self.write_dossier(actor_id, &d, change, Some(decision))
            .await?;
        Ok(true)
    }

    /// Revokes the grant over a ceased unit, and moves (or, for a dissolved
    /// unit, locks) an account that belonged to it.
    #[allow(clippy::too_many_arguments)]
    async fn restructure_account(
        &self,
        actor_id: &str,
        id: &str,
        code: &str,
        belongs: bool,
        granted: bool,
        r: &Restructuring,
        decision: &SourceDocument,
    ) -> Result<()> {
        let Some(a) = self.load_account(id).await? else {
            return Ok(());
        };
        let events = self.restructuring_events(&a, code, belongs, granted, r, decision)?;
        if events.is_empty() {
            return Ok(());
        }
        self.append(
            actor_id,
            &account::stream_id(id),
            ExpectedRevision::Exact(a.revision),
            events,
            Some(decision),
            None,
        )
        .await?;
        Ok(())
    }

    fn restructuring_events(
        &self,
        a: &Account,
        code: &str,
        belongs: bool,
        granted: bool,
        r: &Restructuring,
        decision: &SourceDocument,
    ) -> Result<Vec<hoso_schemas::DomainEvent>> {
        let today = self.today();
        let mut events = Vec::new();
        if granted && a.grants.contains_key(code) {
            let revoke = AccountChange::Revoke {
                org_code: code.to_owned(),
                reason: format!("unit {code} restructured (DL 5.5)"),
            };
            events.extend(account::decide(Some(a), &a.id, revoke, today)?);
        }
        if belongs && a.org_code == code {
            let change = match &r.successor {
                Some(s) => Some(AccountChange::Reassign {
                    to_org: s.clone(),
                    reason: format!("unit {code} restructured (DL 5.5)"),
                    decision: Some(decision.clone()),
                }),
                None if a.locked.is_none() => Some(AccountChange::Lock {
                    reason: LockReason::UnitReorganised,
                    note: format!("unit {code} dissolved (DL 5.5)"),
                }),
                None => None,
            };
            if let Some(change) = change {
                events.extend(account::decide(Some(a), &a.id, change, today)?);
            }
        }
        Ok(events)
    }

    /// Finishes every cross-aggregate follow-up that a failure may have left
    /// undone: dossiers and accounts of restructured units (DL 5.5), personal
    /// accounts that did not follow their dossier's transfer (HY 11.1), and
    /// personal accounts of archived dossiers still unlocked (BT 11.2).
    /// Each step is idempotent by state; returns how many appends it made.
    pub async fn reconcile(&self, actor: &Actor) -> Result<usize> {
        let idx = self.catch_up().await?;
        self.acting_actor(&idx, actor)?;
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
                .get(&s.person_key)
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
                    note: format!(
                        "dossier archived: {} (BT 11.2)",
                        hoso_schemas::Spelling::spelling(status)
                    ),
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
}

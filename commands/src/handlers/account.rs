//! Handlers of accounts: issuing them (HY 10.1, DL 12; a person's one
//! personal account, HY 4.5), rights, locks, keys, delegations and consents
//! (DL 12.2, HY 5.1, KT 8.1, BT 4.5), passwords (DT 10, BT 4.4, DL 15.7),
//! the record of restricted reads (BT 4.3) and of every read and query of
//! an inspector, inspector accounts and their inspections, and the security
//! lock after failed logins (HY 5.1).
//!
//! A password lives in the credential table outside the log; its change is
//! recorded in the log, and the table is put back if that record fails.

use chrono::NaiveDate;
use hoso_domain::account::{
    self, Account, AccountChange, AccountKind, AccountRejection, AccountRule, LockReason,
    PasswordChangeKind,
};
use hoso_domain::dossier::{self, DossierChange};
use hoso_domain::restriction::Restriction;
use hoso_ledger::ExpectedRevision;
use hoso_schemas::pb::account::InspectionQueried;
use hoso_schemas::pb::common::AccessRight;
use hoso_schemas::pb::dossier::{AccessLogged, access_logged::Basis};
use hoso_schemas::{DomainEvent, SourceDocument};
use uuid::Uuid;

use crate::authz::ReadBasis;
use crate::credentials::{
    CredentialError, CredentialStore, PasswordCheck, PasswordContext, PasswordRejection,
    check_password,
};
use crate::error::{AccessRule, CommandError, Result, ScopeRule};
use crate::index::Index;
use crate::workflows::{Actor, Receipt, Workflows};

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

/// The inspection an inspector account is issued with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionTerms {
    /// Roots of the subtrees inspected (at least one).
    pub org_codes: Vec<String>,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: NaiveDate,
    /// Highest level shown: general unless the decision grants restricted.
    pub clearance: Restriction,
    /// The decision ordering the inspection.
    pub decision: SourceDocument,
}

impl InspectionTerms {
    /// The change that gives these terms, under a new inspection id.
    pub fn into_change(self) -> AccountChange {
        AccountChange::GrantInspection {
            inspection_id: Uuid::now_v7().to_string(),
            org_codes: self.org_codes,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            clearance: self.clearance,
            decision: self.decision,
        }
    }
}

impl Workflows {
    pub(crate) async fn issue_account_as(
        &self,
        actor: &str,
        id: &str,
        issue: IssueAccount,
    ) -> Result<Receipt> {
        self.issue_account_with(actor, id, issue, None).await
    }

    /// Issues the account and, in the same append, applies `then` to it
    /// (an inspector's first inspection), so that the account never exists
    /// without it.
    async fn issue_account_with(
        &self,
        actor: &str,
        id: &str,
        issue: IssueAccount,
        then: Option<AccountChange>,
    ) -> Result<Receipt> {
        if let Some(change) = &then {
            // The account's first change is decided before any claim, so
            // that terms the rules refuse leave no username claimed.
            self.decide_issue(id, &issue, Some(change.clone()))?;
        }
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
                &account::personal_stream(&self.person_key(pid)),
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
        let document = match &then {
            Some(AccountChange::GrantInspection { decision, .. }) => Some(decision.clone()),
            _ => None,
        };
        let events = self.decide_issue(id, &issue, then)?;
        self.append(
            actor,
            &account::stream_id(id),
            ExpectedRevision::NoStream,
            events,
            document.as_ref(),
            None,
        )
        .await
    }

    /// The events that issue the account and then apply `then` to it.
    fn decide_issue(
        &self,
        id: &str,
        issue: &IssueAccount,
        then: Option<AccountChange>,
    ) -> Result<Vec<DomainEvent>> {
        let mut events = account::decide(
            None,
            id,
            AccountChange::Issue {
                kind: issue.kind,
                username: issue.username.clone(),
                org_code: issue.org_code.clone(),
                person_id: issue.person_id.clone(),
                display_name: issue.display_name.clone(),
                birth_date: issue.birth_date,
            },
            self.today(),
        )?;
        if let Some(change) = then {
            let state = events.iter().fold(None, |s, e| account::evolve(s, e, id));
            events.extend(account::decide(state.as_ref(), id, change, self.today())?);
        }
        Ok(events)
    }

    /// Issues an inspector account with its first inspection, in one
    /// append: Sở Nội vụ only. The terms are checked by the account decider
    /// before anything is written (a term that ends before it starts, or
    /// before today, no unit, a secret clearance, a decision without number
    /// or issuer). Returns the new account id.
    pub async fn issue_inspector(
        &self,
        actor: &Actor,
        issue: IssueAccount,
        terms: InspectionTerms,
    ) -> Result<(String, Receipt)> {
        if issue.kind != AccountKind::Inspector {
            return Err(AccountRejection {
                account: String::new(),
                revision: None,
                rule: AccountRule::NotAnInspector(issue.kind),
            }
            .into());
        }
        {
            let idx = self.catch_up().await?;
            self.authorize_issue(&idx, actor, &issue)?;
            for code in &terms.org_codes {
                self.require_active_unit(&idx, code)?;
            }
        }
        let id = Uuid::now_v7().to_string();
        let receipt = self
            .issue_account_with(&actor.account_id, &id, issue, Some(terms.into_change()))
            .await?;
        Ok((id, receipt))
    }

    /// Whether `actor` may issue the account (under the index lock); for a
    /// personal account, the person's dossier, if any.
    fn authorize_issue(
        &self,
        idx: &Index,
        actor: &Actor,
        issue: &IssueAccount,
    ) -> Result<Option<String>> {
        let a = self.acting_actor(idx, actor)?;
        self.require_active_unit(idx, &issue.org_code)?;
        let dossier = match (issue.kind, &issue.person_id) {
            (AccountKind::Personal, Some(pid)) => {
                self.require_right(idx, a, &issue.org_code, AccessRight::Update)?;
                let key = self.person_key(pid);
                if let Some(existing) = idx.personal_accounts.get(&key) {
                    return Err(ScopeRule::PersonalAccountTaken(existing.clone()).into());
                }
                idx.by_person.get(&key).cloned()
            }
            (AccountKind::SystemAdmin, _) if a.kind != AccountKind::SystemAdmin => {
                return Err(
                    AccessRule::SystemAdminOnly("issue system administrator accounts").into(),
                );
            }
            // An inspection reaches across agencies; only the province's
            // administrator orders one.
            (AccountKind::Inspector, _) if a.kind != AccountKind::SystemAdmin => {
                return Err(AccessRule::SystemAdminOnly("issue inspector accounts").into());
            }
            // The national database's client reads the whole province's feed.
            (AccountKind::NationalSync, _) if a.kind != AccountKind::SystemAdmin => {
                return Err(AccessRule::SystemAdminOnly("issue national sync accounts").into());
            }
            _ => {
                self.require_right(idx, a, &issue.org_code, AccessRight::Admin)?;
                None
            }
        };
        if let Some(u) = idx.usernames.get(&issue.username.to_lowercase()) {
            return Err(ScopeRule::UsernameTaken(issue.username.clone(), Some(u.clone())).into());
        }
        Ok(dossier)
    }

    /// Issues an account (HY 10.1, DL 12). Staff accounts need admin right
    /// over their unit; a personal account needs update right over the
    /// managing unit of the person's dossier — the focal point creates it —
    /// and is the person's only one (HY 4.5). An inspector account is
    /// Sở Nội vụ's to issue, and reads nothing until given an inspection
    /// ([`Self::issue_inspector`] issues both at once). Returns the new
    /// account id.
    pub async fn issue_account(
        &self,
        actor: &Actor,
        issue: IssueAccount,
    ) -> Result<(String, Receipt)> {
        let idx = self.catch_up().await?;
        let dossier = self.authorize_issue(&idx, actor, &issue)?;
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

    pub(crate) async fn account_change_as(
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
            AccountChange::GrantInspection { decision, .. } => Some(decision.clone()),
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
            {
                let idx = self.catch_up().await?;
                self.authorize_account_change(&idx, actor, account_id, &change)?;
            }
            self.account_change_as(&actor.account_id, account_id, change)
                .await
        }
        .await;
        self.about(&about, result).await
    }

    /// `check`'s answer about the account `account_id`, except that an actor
    /// who may not act on an account it holds no right over (one of another
    /// unit's) is told what a made-up id would tell it: that no such account
    /// exists. Refusals then cannot be used to list the province's accounts,
    /// while an allowed change (a consent granted by the dossier's managing
    /// unit to an account elsewhere) still goes through.
    fn hiding_unreachable<T>(
        &self,
        idx: &Index,
        a: &Account,
        account_id: &str,
        check: impl FnOnce(&Account) -> Result<T>,
    ) -> Result<T> {
        let unknown = || CommandError::from(ScopeRule::UnknownAccount(account_id.to_owned()));
        let target = idx.accounts.get(account_id).ok_or_else(unknown)?;
        let reachable = target.id == a.id || self.right_over(idx, a, &target.org_code).is_some();
        match check(target) {
            Err(_) if !reachable => Err(unknown()),
            answer => answer,
        }
    }

    /// Whether `actor` may make `change` to the account (under the index lock).
    fn authorize_account_change(
        &self,
        idx: &Index,
        actor: &Actor,
        account_id: &str,
        change: &AccountChange,
    ) -> Result<()> {
        let a = self.acting_actor(idx, actor)?;
        self.hiding_unreachable(idx, a, account_id, |target| {
            self.check_account_change(idx, a, target, change)
        })
    }

    /// The rules of `change` for `a` acting on `target`.
    fn check_account_change(
        &self,
        idx: &Index,
        a: &Account,
        target: &Account,
        change: &AccountChange,
    ) -> Result<()> {
        let account_id = target.id.as_str();
        match change {
            AccountChange::Grant {
                org_code, right, ..
            }
            | AccountChange::Expand {
                org_code, right, ..
            } => self.check_grant(idx, a, org_code, *right)?,
            AccountChange::Restrict { org_code, .. } | AccountChange::Revoke { org_code, .. } => {
                self.require_right(idx, a, org_code, AccessRight::Admin)?;
            }
            AccountChange::Lock { .. } | AccountChange::Unlock { .. } => {
                self.require_right(idx, a, &target.org_code, AccessRight::Admin)?;
            }
            AccountChange::RegisterKey { .. }
            | AccountChange::RevokeKey { .. }
            | AccountChange::RevokeDelegation { .. } => {
                if a.id != target.id {
                    self.require_right(idx, a, &target.org_code, AccessRight::Admin)?;
                }
            }
            AccountChange::Delegate {
                to_account,
                org_codes,
                ..
            } => self.check_delegation(idx, a, target, to_account, org_codes)?,
            AccountChange::GrantConsent {
                subject_person_id, ..
            } => self.check_consent(idx, a, subject_person_id)?,
            AccountChange::RevokeConsent { consent_id, .. } => {
                let managing = target
                    .consents
                    .get(consent_id)
                    .and_then(|c| idx.by_person.get(&c.subject_key))
                    .and_then(|d| idx.dossiers.get(d))
                    .map(|d| d.managing_unit.clone())
                    .unwrap_or_else(|| target.org_code.clone());
                self.require_right(idx, a, &managing, AccessRight::Admin)?;
            }
            AccountChange::Reassign { to_org, .. } => {
                self.require_active_unit(idx, to_org)?;
                self.require_right(idx, a, &target.org_code, AccessRight::Admin)?;
                self.require_right(idx, a, to_org, AccessRight::Admin)?;
            }
            AccountChange::GrantInspection { org_codes, .. } => {
                if a.kind != AccountKind::SystemAdmin {
                    return Err(AccessRule::SystemAdminOnly("grant inspections").into());
                }
                for code in org_codes {
                    self.require_active_unit(idx, code)?;
                }
            }
            AccountChange::RevokeInspection { .. } => {
                if a.kind != AccountKind::SystemAdmin {
                    return Err(AccessRule::SystemAdminOnly("revoke inspections").into());
                }
            }
            AccountChange::RecordPassword { .. } => return Err(AccessRule::NotHolder.into()),
            AccountChange::Issue { .. } => {
                return Err(AccountRejection {
                    account: account_id.to_owned(),
                    revision: Some(target.revision),
                    rule: AccountRule::AlreadyIssued,
                }
                .into());
            }
        }
        Ok(())
    }

    /// No one grants more than they hold, nor anything without admin right
    /// over the unit (HY 5.1).
    fn check_grant(
        &self,
        idx: &Index,
        a: &Account,
        org_code: &str,
        right: AccessRight,
    ) -> Result<()> {
        self.require_active_unit(idx, org_code)?;
        let held = self.right_over(idx, a, org_code);
        if held < Some(AccessRight::Admin) || held < Some(right) {
            return Err(AccessRule::Escalation {
                org_code: org_code.to_owned(),
                requested: right,
                held,
            }
            .into());
        }
        Ok(())
    }

    /// The managing authority of the subject's dossier consents. Whether the
    /// person has a dossier here, and where, is not told to anyone who could
    /// not consent: both refusals are the same.
    fn check_consent(&self, idx: &Index, a: &Account, subject_person_id: &str) -> Result<()> {
        let managing = idx
            .by_person
            .get(&self.person_key(subject_person_id))
            .and_then(|id| idx.dossiers.get(id))
            .map(|d| d.managing_unit.as_str());
        let may = managing.is_some_and(|m| self.right_over(idx, a, m) == Some(AccessRight::Admin));
        if !may {
            return Err(AccessRule::ConsentNotAllowed.into());
        }
        Ok(())
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
            let a = self.acting_actor(&idx, actor)?;
            let target = self.hiding_unreachable(&idx, a, account_id, |target| {
                let needed = if target.kind == AccountKind::Personal {
                    AccessRight::Update
                } else {
                    AccessRight::Admin
                };
                self.require_right(&idx, a, &target.org_code, needed)?;
                Ok(target.clone())
            })?;
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
    pub(crate) async fn replace_password(
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

    /// Moves a personal account to the unit of its dossier (HY 11.1), unless
    /// it is there already.
    pub(crate) async fn move_personal_account(
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

    /// Records that `actor` read restricted or secret fields of a dossier
    /// (BT 4.3, HY 4.4), or that an inspector read it at all: an
    /// `AccessLogged` event on the reader's account stream, naming the
    /// dossier, the fields and the ground.
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
            ReadBasis::Inspection { inspection_id, .. } => {
                Basis::InspectionId(inspection_id.clone())
            }
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

    /// Records a search or report an inspector ran over `org_code` under
    /// an inspection in force: an `InspectionQueried` event on the
    /// inspector's account stream with the route, the criteria and the
    /// dossiers returned. Nothing is recorded (`None`) for any other
    /// account, nor for a unit outside the inspector's inspections (the
    /// caller refuses those).
    pub async fn log_inspection_query(
        &self,
        actor: &Actor,
        org_code: &str,
        route: &str,
        criteria: &str,
        dossier_ids: Vec<String>,
    ) -> Result<Option<Receipt>> {
        let Some(inspection_id) = self.inspection_for_unit(actor, org_code).await? else {
            return Ok(None);
        };
        let receipt = self
            .append(
                &actor.account_id,
                &account::stream_id(&actor.account_id),
                ExpectedRevision::StreamExists,
                vec![
                    InspectionQueried {
                        inspection_id,
                        route: route.to_owned(),
                        criteria: criteria.to_owned(),
                        dossier_ids,
                    }
                    .into(),
                ],
                None,
                None,
            )
            .await?;
        Ok(Some(receipt))
    }

    /// Locks an account after repeated failed logins (HY 5.1: attempts at
    /// unauthorised access are prevented and recorded). Idempotent: an
    /// already locked account is left as it is.
    pub async fn lock_for_security(&self, account_id: &str, note: &str) -> Result<Option<Receipt>> {
        // The account is loaded once, by the change itself: no check here
        // could stand anyway, since between it and the append another failure
        // may lock the account; the decider's refusals are the answers.
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
            // A login failing in parallel locked it first: locked is locked.
            Err(CommandError::Account(AccountRejection {
                rule: AccountRule::AlreadyLocked,
                ..
            })) => Ok(None),
            Err(CommandError::Account(AccountRejection {
                rule: AccountRule::NotIssued,
                ..
            })) => Err(AccessRule::UnknownActor(account_id.to_owned()).into()),
            Err(e) => Err(e),
        }
    }
}

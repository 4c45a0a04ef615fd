//! Handlers of dossiers, each command a struct run through the one path of
//! [`crate::execute`]: opening and importing (BT 3.6, BT 11.1), declaring
//! (HY 10.2, KT 10.1, BT 6.3), the focal point's review (HY 10.3, HY 15.6),
//! the head's signed approval (DT 11, KT 8.1), decisions of the state,
//! moves and transfers (DL 10, KT 11.2, BT 11.3, HY 11.1) and status
//! changes (KT 11.3, BT 11.2).
//!
//! A command's `authorize` is its rule: which right over which unit, and
//! which facts of the index it carries on to the decider or the follow-up.

use chrono::NaiveDate;
use hoso_domain::account::{Account, AccountKind};
use hoso_domain::dossier::{
    self, Dossier, DossierChange, EmploymentStatus, SignedApproval, StateDecision, TransferKind,
};
use hoso_domain::profile::{ApprovalLevel, OutOfWindowPolicy, WindowCheck};
use hoso_domain::signing;
use hoso_ledger::{ExpectedRevision, SourceDocument};
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::pb::dossier::FieldEntry;
use uuid::Uuid;

use crate::error::{AccessRule, CommandError, Result, ScopeRule};
use crate::execute::{DossierCommand, FollowUp, Plan};
use crate::index::Index;
use crate::workflows::{Actor, Receipt, Workflows};

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

/// A dossier pulled from the national database for a person arriving from
/// another province (BT 11.1, HY 11.2).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportDossier {
    /// Where the record comes from (e.g. `csdlqg`, or the pushing Sở Nội
    /// vụ's system).
    pub source_system: String,
    /// The record's id in the national database.
    pub source_record_id: String,
    /// SHA-256 of the record's bytes as received, kept in the event; `None`
    /// when the record did not arrive as bytes (the demo's built records).
    pub source_digest: Option<[u8; 32]>,
    /// Identification number.
    pub person_id: String,
    /// Name.
    pub full_name: String,
    /// Category.
    pub category: PersonnelCategory,
    /// Managing (and employing) unit here.
    pub managing_unit: String,
    /// The record's sections, by code.
    pub sections: Vec<(String, Vec<FieldEntry>)>,
    /// When the record was handed over.
    pub handed_over_on: NaiveDate,
}

impl ImportDossier {
    /// The decider's change: the record's unit both manages and employs.
    pub(crate) fn into_change(self) -> DossierChange {
        DossierChange::Import {
            source_system: self.source_system,
            source_record_id: self.source_record_id,
            source_digest: self.source_digest,
            person_id: self.person_id,
            full_name: self.full_name,
            category: self.category,
            employing_unit: self.managing_unit.clone(),
            managing_unit: self.managing_unit,
            sections: self.sections,
            handed_over_on: self.handed_over_on,
        }
    }
}

/// One section of the résumé form, declared by the person through their
/// personal account (HY 10.2) or by the managing unit with update right
/// (KT 10.1). After approval a declaration is a change set and needs its
/// digitised proof (BT 6.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Declare {
    /// Dossier.
    pub dossier_id: String,
    /// Section of the form.
    pub section_code: String,
    /// Its fields.
    pub fields: Vec<FieldEntry>,
    /// SHA-256 of the digitised proofs.
    pub attachments: Vec<[u8; 32]>,
    /// For a change to an approved dossier: when the change happened
    /// (HY 10.5, BT 6.3) or the valid paper arrived (KT 10.2), which starts
    /// the declaring clock.
    pub occurred_on: Option<NaiveDate>,
    /// The revision the caller saw (`If-Match`): if the dossier moved on,
    /// a conflict and nothing is written.
    pub expected: Option<u64>,
}

impl Declare {
    /// A declaration of `fields` in `section_code`, with no proofs, no date
    /// of change and no expected revision.
    pub fn new(
        dossier_id: impl Into<String>,
        section_code: impl Into<String>,
        fields: Vec<FieldEntry>,
    ) -> Self {
        Self {
            dossier_id: dossier_id.into(),
            section_code: section_code.into(),
            fields,
            attachments: Vec::new(),
            occurred_on: None,
            expected: None,
        }
    }

    /// With the SHA-256 of its digitised proofs.
    pub fn with_attachments(mut self, attachments: Vec<[u8; 32]>) -> Self {
        self.attachments = attachments;
        self
    }

    /// With the date the change happened.
    pub fn occurred_on(mut self, date: NaiveDate) -> Self {
        self.occurred_on = Some(date);
        self
    }

    /// Only if the dossier is still at `revision`.
    pub fn expecting(mut self, revision: u64) -> Self {
        self.expected = Some(revision);
        self
    }
}

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

/// The focal point's step on a pending declaration; not on their own
/// (HY 10.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Dossier.
    pub dossier_id: String,
    /// The step.
    pub step: ReviewStep,
    /// The revision the caller saw (`If-Match`).
    pub expected: Option<u64>,
}

impl Review {
    /// A step with no expected revision.
    pub fn new(dossier_id: impl Into<String>, step: ReviewStep) -> Self {
        Self {
            dossier_id: dossier_id.into(),
            step,
            expected: None,
        }
    }

    /// Verify against the papers.
    pub fn verify(dossier_id: impl Into<String>, note: impl Into<String>) -> Self {
        Self::new(dossier_id, ReviewStep::Verify { note: note.into() })
    }

    /// Lock the verified declaration (HY 10.3).
    pub fn lock(dossier_id: impl Into<String>) -> Self {
        Self::new(dossier_id, ReviewStep::Lock)
    }

    /// Return sections with reasons (HY 15.6).
    pub fn send_back(
        dossier_id: impl Into<String>,
        section_codes: Vec<String>,
        reasons: Vec<String>,
    ) -> Self {
        Self::new(
            dossier_id,
            ReviewStep::Return {
                section_codes,
                reasons,
            },
        )
    }

    /// Only if the dossier is still at `revision`.
    pub fn expecting(mut self, revision: u64) -> Self {
        self.expected = Some(revision);
        self
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

/// The head's (or a delegated deputy's) signature over the dossier at the
/// revision and hash of [`Workflows::approval_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approve {
    /// Dossier.
    pub dossier_id: String,
    /// The signature.
    pub signature: ApprovalSignature,
}

/// A decision of the state (appointment, rank, salary, allowance, award,
/// discipline, training, evaluation, planning) with its decision document,
/// recorded by the unit that manages the dossier (DL 9.2b) with update
/// right (DL 12.2). Refused while the dossier is in transit to another
/// agency (BT 11.3, HY 11.1).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordDecision {
    /// Dossier.
    pub dossier_id: String,
    /// The decision.
    pub decision: StateDecision,
    /// From when.
    pub effective: NaiveDate,
    /// The decision document and its digitised copy (BT 6.3).
    pub document: SourceDocument,
}

/// A move to another division of the same agency (DL 10.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeDepartment {
    /// Dossier.
    pub dossier_id: String,
    /// The new division.
    pub to: String,
    /// From when.
    pub effective: NaiveDate,
    /// The decision.
    pub document: SourceDocument,
}

/// Sending the dossier to another agency of the province (DL 10.2,
/// KT 11.2) with the scanned decision attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiateTransfer {
    /// Dossier.
    pub dossier_id: String,
    /// Kind of transfer.
    pub kind: TransferKind,
    /// The receiving unit.
    pub to: String,
    /// From when.
    pub effective: NaiveDate,
    /// The decision.
    pub document: SourceDocument,
}

/// The receiving agency accepts (BT 11.3, HY 11.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptTransfer {
    /// Dossier.
    pub dossier_id: String,
    /// Transfer.
    pub transfer_id: String,
}

/// The receiving agency passes the accepted dossier on to one of its units
/// (KT 11.2, DL 10.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTransfer {
    /// Dossier.
    pub dossier_id: String,
    /// Transfer.
    pub transfer_id: String,
    /// The unit that will use it.
    pub to: String,
}

/// The receiving agency refuses the transfer; the dossier stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectTransfer {
    /// Dossier.
    pub dossier_id: String,
    /// Transfer.
    pub transfer_id: String,
    /// Why.
    pub reason: String,
}

/// A status change (KT 11.3, HY 11.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStatus {
    /// Dossier.
    pub dossier_id: String,
    /// The new status.
    pub status: EmploymentStatus,
    /// From when.
    pub effective: NaiveDate,
    /// The decision.
    pub document: SourceDocument,
    /// Note.
    pub note: String,
}

// ----- the rules of each command ----------------------------------------------------

impl DossierCommand for Declare {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn expected(&self) -> Option<u64> {
        self.expected
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        let own = a.kind == AccountKind::Personal && a.person_key.as_deref() == Some(&d.person_key);
        if !own {
            if a.kind == AccountKind::Personal {
                return Err(AccessRule::NotDeclarant.into());
            }
            wf.require_right(idx, a, &d.managing_unit, AccessRight::Update)?;
        }
        Ok(Plan::change(DossierChange::Declare {
            section_code: self.section_code,
            fields: self.fields,
            attachments: self.attachments,
            occurred_on: self.occurred_on,
        }))
    }
}

impl DossierCommand for Review {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn expected(&self) -> Option<u64> {
        self.expected
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        if a.person_key.as_deref() == Some(&d.person_key) {
            return Err(AccessRule::SelfReview.into());
        }
        wf.require_right(idx, a, &d.managing_unit, AccessRight::Update)?;
        Ok(Plan::change(match self.step {
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
        }))
    }
}

impl DossierCommand for Approve {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    /// The signer must hold an agency-head account whose unit has approval
    /// authority over the dossier's unit and category (DT 11), or a head's
    /// delegation (KT 8.1), sign with a key registered to the signer and
    /// usable today, and — where the profile refuses out-of-window signing —
    /// sign inside the window.
    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        let today = wf.today();
        let sig = self.signature;
        let key = a
            .keys
            .get(&sig.key_id)
            .filter(|k| k.usable_on(today))
            .ok_or_else(|| AccessRule::KeyNotUsable {
                account: a.id.clone(),
                key_id: sig.key_id.clone(),
                date: today,
            })?;
        let (level, delegated_from) = wf.approval_basis(idx, a, d)?;
        let warnings = window_warnings(wf, level, today)?;
        let mut plan = Plan::change(DossierChange::Approve(SignedApproval {
            revision: sig.revision,
            stream_hash: sig.stream_hash,
            key_id: sig.key_id,
            public_key: key.public_key.clone(),
            signature: sig.signature,
            signer: a.id.clone(),
            delegated_from,
        }));
        plan.warnings = warnings;
        Ok(plan)
    }
}

/// The approval window of `level` (HY 10.4): outside it, a refusal under a
/// `refuse` profile, a warning under a `warn` one.
fn window_warnings(wf: &Workflows, level: ApprovalLevel, today: NaiveDate) -> Result<Vec<String>> {
    let WindowCheck::OutOfWindow {
        policy,
        window: (first, last),
        citation,
    } = wf.profile.check_approval_date(level, today, &wf.calendar)?
    else {
        return Ok(Vec::new());
    };
    let rule = AccessRule::OutsideApprovalWindow {
        level: level_name(level),
        first,
        last,
        citation,
    };
    match policy {
        OutOfWindowPolicy::Refuse => Err(rule.into()),
        OutOfWindowPolicy::Warn => Ok(vec![rule.to_string()]),
    }
}

fn level_name(level: ApprovalLevel) -> &'static str {
    match level {
        ApprovalLevel::UnitHead => "unit heads",
        ApprovalLevel::DepartmentHead => "department and district heads",
        ApprovalLevel::HomeAffairsDirector => "the Sở Nội vụ director",
    }
}

impl DossierCommand for RecordDecision {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        wf.require_right(idx, a, &d.managing_unit, AccessRight::Update)?;
        // A position is held, or planned for, in a unit that exists today.
        if let StateDecision::Appointment { org_code, .. }
        | StateDecision::Planning { org_code, .. } = &self.decision
            && !org_code.is_empty()
        {
            wf.require_active_unit(idx, org_code)?;
        }
        let document = self.document.clone();
        Ok(Plan::change(DossierChange::RecordDecision {
            decision: self.decision,
            effective: self.effective,
            document: self.document,
        })
        .with_document(document))
    }
}

/// [`RecordDecision`] only if the dossier is still at the revision the
/// caller saw (`If-Match`).
struct DecisionExpecting {
    command: RecordDecision,
    expected: Option<u64>,
}

impl DossierCommand for DecisionExpecting {
    fn dossier_id(&self) -> &str {
        &self.command.dossier_id
    }

    fn expected(&self) -> Option<u64> {
        self.expected
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        self.command.authorize(wf, idx, a, d)
    }
}

impl DossierCommand for ChangeDepartment {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        wf.require_active_unit(idx, &self.to)?;
        let today = wf.today();
        let from_agency = idx.org.agency_of(&d.employing_unit, today);
        let to_agency = idx.org.agency_of(&self.to, today);
        if from_agency.is_none() || from_agency != to_agency {
            return Err(ScopeRule::NotSameAgency {
                from: d.employing_unit.clone(),
                to: self.to,
            }
            .into());
        }
        wf.require_right(idx, a, &d.employing_unit, AccessRight::Update)?;
        wf.require_right(idx, a, &self.to, AccessRight::Update)?;
        let document = self.document.clone();
        Ok(Plan::change(DossierChange::ChangeDepartment {
            to: self.to,
            effective: self.effective,
            document: self.document,
        })
        .with_document(document))
    }
}

/// [`InitiateTransfer`] with the id the handler chose for the transfer.
struct Initiate {
    command: InitiateTransfer,
    transfer_id: String,
}

impl DossierCommand for Initiate {
    fn dossier_id(&self) -> &str {
        &self.command.dossier_id
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        let c = self.command;
        wf.require_active_unit(idx, &c.to)?;
        let today = wf.today();
        let from_agency = idx.org.agency_of(&d.managing_unit, today);
        if from_agency.is_some() && from_agency == idx.org.agency_of(&c.to, today) {
            return Err(ScopeRule::SameAgency {
                from: d.managing_unit.clone(),
                to: c.to,
            }
            .into());
        }
        wf.require_right(idx, a, &d.managing_unit, AccessRight::Update)?;
        let document = c.document.clone();
        Ok(Plan::change(DossierChange::InitiateTransfer {
            transfer_id: self.transfer_id,
            kind: c.kind,
            to: c.to,
            effective: c.effective,
            document: c.document,
        })
        .with_document(document))
    }
}

impl DossierCommand for AcceptTransfer {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        let to = d
            .transfer
            .as_ref()
            .filter(|t| t.transfer_id == self.transfer_id)
            .map(|t| t.to.clone())
            .ok_or_else(|| dossier::DossierRejection {
                dossier: self.dossier_id.clone(),
                revision: Some(d.revision),
                rule: dossier::DossierRule::NoSuchTransfer(self.transfer_id.clone()),
            })?;
        wf.require_right(idx, a, &to, AccessRight::Update)?;
        let then = match idx.personal_accounts.get(&d.person_key) {
            Some(account_id) => FollowUp::MovePersonalAccount {
                account_id: account_id.clone(),
                to: to.clone(),
            },
            None => FollowUp::Nothing,
        };
        Ok(Plan::change(DossierChange::AcceptTransfer {
            transfer_id: self.transfer_id,
            at: to,
        })
        .then(then))
    }
}

impl DossierCommand for ForwardTransfer {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        wf.require_active_unit(idx, &self.to)?;
        if !idx.org.contains(&d.managing_unit, &self.to, wf.today()) {
            return Err(ScopeRule::OutsideReceiver {
                to: self.to,
                receiver: d.managing_unit.clone(),
            }
            .into());
        }
        wf.require_right(idx, a, &d.managing_unit, AccessRight::Update)?;
        Ok(Plan::change(DossierChange::ForwardTransfer {
            transfer_id: self.transfer_id,
            to: self.to,
        }))
    }
}

impl DossierCommand for RejectTransfer {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        let to = d
            .transfer
            .as_ref()
            .map(|t| t.to.as_str())
            .unwrap_or_default();
        wf.require_right(idx, a, to, AccessRight::Update)?;
        Ok(Plan::change(DossierChange::RejectTransfer {
            transfer_id: self.transfer_id,
            reason: self.reason,
        }))
    }
}

impl DossierCommand for ChangeStatus {
    fn dossier_id(&self) -> &str {
        &self.dossier_id
    }

    fn authorize(self, wf: &Workflows, idx: &Index, a: &Account, d: &Dossier) -> Result<Plan> {
        wf.require_right(idx, a, &d.managing_unit, AccessRight::Update)?;
        let then = match idx.personal_accounts.get(&d.person_key) {
            Some(account_id) if dossier::is_archived_status(self.status) => {
                FollowUp::LockPersonalAccount {
                    account_id: account_id.clone(),
                    status: self.status,
                }
            }
            _ => FollowUp::Nothing,
        };
        let document = self.document.clone();
        Ok(Plan::change(DossierChange::ChangeStatus {
            status: self.status,
            effective: self.effective,
            document: self.document,
            note: self.note,
        })
        .with_document(document)
        .then(then))
    }
}

// ----- the façade's dossier commands ----------------------------------------------

impl Workflows {
    /// Declares one section of the résumé form ([`Declare`]).
    pub async fn declare(&self, actor: &Actor, command: Declare) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// A reviewer's step ([`Review`]).
    pub async fn review(&self, actor: &Actor, command: Review) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// Records the head's (or a delegated deputy's) signature ([`Approve`]).
    pub async fn approve(&self, actor: &Actor, command: Approve) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// Records a decision of the state; needs update right over the
    /// managing unit ([`RecordDecision`]).
    pub async fn record_decision(&self, actor: &Actor, command: RecordDecision) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// [`Self::record_decision`] only if the dossier is still at `expected`
    /// (the caller's `If-Match`; `None` asks nothing): if it moved on, a
    /// conflict and nothing is written.
    pub async fn record_decision_expecting(
        &self,
        actor: &Actor,
        command: RecordDecision,
        expected: Option<u64>,
    ) -> Result<Receipt> {
        self.execute(actor, DecisionExpecting { command, expected })
            .await
    }

    /// Moves the person to another division of the same agency
    /// ([`ChangeDepartment`]).
    pub async fn change_department(
        &self,
        actor: &Actor,
        command: ChangeDepartment,
    ) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// Sends the dossier to another agency ([`InitiateTransfer`]). Returns
    /// the transfer id.
    pub async fn initiate_transfer(
        &self,
        actor: &Actor,
        command: InitiateTransfer,
    ) -> Result<(String, Receipt)> {
        let transfer_id = Uuid::now_v7().to_string();
        let command = Initiate {
            command,
            transfer_id: transfer_id.clone(),
        };
        let receipt = self.execute(actor, command).await?;
        Ok((transfer_id, receipt))
    }

    /// The receiving agency accepts: the dossier's managing unit becomes the
    /// receiver, so the old unit's access ends and the new one's begins
    /// (BT 11.3, HY 11.1); the personal account moves with it.
    pub async fn accept_transfer(&self, actor: &Actor, command: AcceptTransfer) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// The receiving agency passes the accepted dossier on to the unit that
    /// will use it, inside its own subtree ([`ForwardTransfer`]).
    pub async fn forward_transfer(
        &self,
        actor: &Actor,
        command: ForwardTransfer,
    ) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// The receiving agency refuses the transfer ([`RejectTransfer`]).
    pub async fn reject_transfer(&self, actor: &Actor, command: RejectTransfer) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// Records a status change. A person who leaves is archived, never
    /// deleted, and their personal account's write access ends (BT 11.2).
    pub async fn change_status(&self, actor: &Actor, command: ChangeStatus) -> Result<Receipt> {
        self.execute(actor, command).await
    }

    /// What the head signs to approve the dossier as it stands now.
    pub async fn approval_request(&self, dossier_id: &str) -> Result<ApprovalRequest> {
        let loaded = self.load_dossier(dossier_id).await?;
        let d = crate::execute::opened(dossier_id, loaded)?;
        let stream = dossier::stream_id(dossier_id);
        Ok(ApprovalRequest {
            digest: signing::approval_digest(&stream, d.revision, &d.head_hash),
            stream,
            revision: d.revision,
            stream_hash: d.head_hash,
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
        let result = self.open_as(actor, id, open).await;
        self.about(&about, result).await
    }

    async fn open_as(&self, actor: &Actor, id: &str, open: OpenDossier) -> Result<Receipt> {
        let has_personal_account = {
            let idx = self.catch_up().await?;
            self.authorize_open(&idx, actor, id, &open)?;
            idx.personal_accounts
                .contains_key(&self.person_key(&open.person_id))
        };
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
        let person_id = open.person_id.clone();
        let events = dossier::decide_open(
            id,
            DossierChange::Open {
                person_id: open.person_id,
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
        self.claim_person_id(&actor.account_id, &person_id, id)
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

    fn authorize_open(
        &self,
        idx: &Index,
        actor: &Actor,
        id: &str,
        open: &OpenDossier,
    ) -> Result<()> {
        let a = self.acting_actor(idx, actor)?;
        self.require_active_unit(idx, &open.managing_unit)?;
        self.require_active_unit(idx, &open.employing_unit)?;
        self.require_right(idx, a, &open.managing_unit, AccessRight::Update)?;
        self.require_right(idx, a, &open.employing_unit, AccessRight::Update)?;
        if let Some(existing) = idx.by_person.get(&self.person_key(&open.person_id))
            && existing != id
        {
            return Err(ScopeRule::PersonIdTaken(existing.clone()).into());
        }
        Ok(())
    }

    /// Claims the identification number's one dossier (BT 3.6, KT 3.3).
    async fn claim_person_id(&self, actor: &str, person_id: &str, dossier_id: &str) -> Result<()> {
        self.reserve(
            actor,
            &dossier::person_id_stream(&self.person_key(person_id)),
            hoso_schemas::pb::dossier::PersonIdReserved {
                dossier_id: dossier_id.to_owned(),
            }
            .into(),
            dossier_id,
            ScopeRule::PersonIdTaken,
        )
        .await
    }

    /// Imports a dossier pulled from the national database ([`ImportDossier`]):
    /// Sở Nội vụ only. Returns the new dossier id.
    pub async fn import_dossier(
        &self,
        actor: &Actor,
        import: ImportDossier,
    ) -> Result<(String, Receipt)> {
        {
            let idx = self.catch_up().await?;
            self.authorize_import(&idx, actor, &import)?;
        }
        let id = Uuid::now_v7().to_string();
        let person_id = import.person_id.clone();
        let mut events = dossier::decide_open(&id, import.into_change(), &self.ctx())?;
        self.seal_fields(&id, &mut events)?;
        self.claim_person_id(&actor.account_id, &person_id, &id)
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

    fn authorize_import(&self, idx: &Index, actor: &Actor, import: &ImportDossier) -> Result<()> {
        let a = self.acting_actor(idx, actor)?;
        if a.kind != AccountKind::SystemAdmin {
            return Err(AccessRule::SystemAdminOnly(
                "pull a record from the national database (BT 11.1, HY 11.2)",
            )
            .into());
        }
        self.require_active_unit(idx, &import.managing_unit)?;
        if let Some(existing) = idx.by_person.get(&self.person_key(&import.person_id)) {
            return Err(ScopeRule::PersonIdTaken(existing.clone()).into());
        }
        Ok(())
    }
}

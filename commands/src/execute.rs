//! The one path every dossier command runs, and the steps shared by all
//! handlers: loading an aggregate, sealing restricted fields, appending with
//! optimistic concurrency, claiming reservation streams, and naming the
//! aggregate in a refusal.
//!
//! A dossier command ([`DossierCommand`]) goes through [`Workflows::execute`]:
//!
//! 1. **load** the dossier's stream — once, and before the index lock, so
//!    that commands on different dossiers do not queue behind each other's
//!    reads;
//! 2. **authorize** under the index lock: the actor must be able to act
//!    (BT 4.4), the dossier must exist and be at the caller's expected
//!    revision, and the command's own rule must let the actor do it
//!    ([`DossierCommand::authorize`], pure, answering a [`Plan`]);
//! 3. **decide** with the pure decider of `hoso-domain`;
//! 4. **seal** restricted fields ([`Workflows::seal_fields`]); every append
//!    also seals identification numbers
//!    ([`crate::identifiers::seal_events`]);
//! 5. **append** with the loaded revision as the expected one, so a
//!    concurrent command on the same dossier gets [`CommandError::Conflict`]
//!    and nothing is half-written;
//! 6. **answer** a [`Receipt`], after the follow-up on another aggregate the
//!    plan asked for (a personal account moving or locked with its dossier).
//!
//! # Lock order
//!
//! There is one lock, the index's mutex, taken by [`Workflows::catch_up`]
//! (which, holding it, reads `$all` from where the index stopped: that read
//! is the index's own). The rule: **no stream is read or appended while the
//! index lock is held**. A handler reads the streams it needs first, takes
//! the index lock to check and plan what to write, releases it, then appends
//! (and reads and appends again for any follow-up). The lock is never taken
//! twice in one scope, so a handler that calls another handler (a merger's
//! restructuring, a transfer's account move) has released it first; the
//! credential table's own mutex is only taken on the blocking pool, never
//! under the index lock.

use hoso_domain::account::{self, Account, AccountChange, LockReason};
use hoso_domain::dossier::{
    self, Dossier, DossierChange, DossierContext, DossierRejection, DossierRule, EmploymentStatus,
};
use hoso_ledger::typed;
use hoso_ledger::{
    Direction, ExpectedRevision, NewEvent, RecordedEvent, SourceDocument, StreamFrom,
};
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::dossier::FieldEntry;
use uuid::Uuid;

use crate::error::{CommandError, Refusal, Result, ScopeRule};
use crate::index::Index;
use crate::workflows::{Actor, Receipt, Workflows};

/// What a sealed discipline reason is bound to besides its dossier.
pub const DISCIPLINE_REASON_CONTEXT: &[u8] = b"discipline\x1freason";
/// What the sealed SHA-256 of a restricted section's supporting document is
/// bound to besides its dossier.
pub const ATTACHMENT_DIGEST_CONTEXT: &[u8] = b"attachment\x1fsha256";

/// A command on one existing dossier, run by [`Workflows::execute`].
pub(crate) trait DossierCommand {
    /// The dossier it is about.
    fn dossier_id(&self) -> &str;

    /// The revision the caller saw (its `If-Match`), if it names one.
    fn expected(&self) -> Option<u64> {
        None
    }

    /// Checks that `actor` may do this to `d` and says what to write. Runs
    /// under the index lock, so it reads only `idx` and the loaded dossier.
    fn authorize(self, wf: &Workflows, idx: &Index, actor: &Account, d: &Dossier) -> Result<Plan>;
}

/// What an authorised dossier command writes, and what follows.
pub(crate) struct Plan {
    /// The change the decider is asked for.
    pub(crate) change: DossierChange,
    /// The decision document attached to the events, if any.
    pub(crate) document: Option<SourceDocument>,
    /// Warnings for the caller although the command succeeds.
    pub(crate) warnings: Vec<String>,
    /// The follow-up on another aggregate.
    pub(crate) then: FollowUp,
}

impl Plan {
    /// A plan that writes `change` and nothing else.
    pub(crate) fn change(change: DossierChange) -> Self {
        Self {
            change,
            document: None,
            warnings: Vec::new(),
            then: FollowUp::Nothing,
        }
    }

    /// The same plan, with the decision document attached to its events.
    pub(crate) fn with_document(mut self, document: SourceDocument) -> Self {
        self.document = Some(document);
        self
    }

    /// The same plan, with a follow-up.
    pub(crate) fn then(mut self, then: FollowUp) -> Self {
        self.then = then;
        self
    }
}

/// Work on another aggregate that a dossier command carries out once its
/// own events are appended; each is idempotent by state, and
/// [`Workflows::reconcile`] finishes any left undone by a failure.
pub(crate) enum FollowUp {
    /// Nothing.
    Nothing,
    /// The person's personal account follows the dossier (HY 11.1).
    MovePersonalAccount {
        /// Account.
        account_id: String,
        /// New unit.
        to: String,
    },
    /// The person left: their personal account's write access ends (BT 11.2).
    LockPersonalAccount {
        /// Account.
        account_id: String,
        /// The archived status.
        status: EmploymentStatus,
    },
}

/// The dossier, or the refusal for one never opened.
pub(crate) fn opened(dossier_id: &str, loaded: Option<Dossier>) -> Result<Dossier> {
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
pub(crate) fn check_expected(dossier_id: &str, d: &Dossier, expected: Option<u64>) -> Result<()> {
    match expected {
        Some(e) if e != d.revision => Err(CommandError::Conflict {
            stream: dossier::stream_id(dossier_id),
            expected: ExpectedRevision::Exact(e),
            actual: Some(d.revision),
        }),
        _ => Ok(()),
    }
}

impl Workflows {
    /// Runs a dossier command: load → authorize → decide → seal → append →
    /// answer (see the module documentation).
    pub(crate) async fn execute(
        &self,
        actor: &Actor,
        command: impl DossierCommand,
    ) -> Result<Receipt> {
        let about = dossier::stream_id(command.dossier_id());
        let result = self.execute_on(actor, command).await;
        self.about(&about, result).await
    }

    async fn execute_on(&self, actor: &Actor, command: impl DossierCommand) -> Result<Receipt> {
        // Read the stream before taking the index lock (the lock order).
        let loaded = self.load_dossier(command.dossier_id()).await?;
        let (d, plan) = self.authorize(actor, command, loaded).await?;
        let mut receipt = self
            .write_dossier(&actor.account_id, &d, plan.change, plan.document.as_ref())
            .await?;
        receipt.warnings = plan.warnings;
        self.follow_up(&actor.account_id, plan.then).await?;
        Ok(receipt)
    }

    /// The authorize step, under the index lock (released on return).
    async fn authorize(
        &self,
        actor: &Actor,
        command: impl DossierCommand,
        loaded: Option<Dossier>,
    ) -> Result<(Dossier, Plan)> {
        let idx = self.catch_up().await?;
        let a = self.acting_actor(&idx, actor)?;
        let d = opened(command.dossier_id(), loaded)?;
        check_expected(command.dossier_id(), &d, command.expected())?;
        let plan = command.authorize(self, &idx, a, &d)?;
        Ok((d, plan))
    }

    /// The decide, seal and append steps for a loaded dossier.
    pub(crate) async fn write_dossier(
        &self,
        actor: &str,
        d: &Dossier,
        change: DossierChange,
        document: Option<&SourceDocument>,
    ) -> Result<Receipt> {
        let mut events = dossier::decide(Some(d), &d.id, change, &self.ctx())?;
        self.seal_fields(&d.id, &mut events)?;
        self.append(
            actor,
            &dossier::stream_id(&d.id),
            ExpectedRevision::Exact(d.revision),
            events,
            document,
            None,
        )
        .await
    }

    async fn follow_up(&self, actor: &str, then: FollowUp) -> Result<()> {
        match then {
            FollowUp::Nothing => Ok(()),
            FollowUp::MovePersonalAccount { account_id, to } => {
                self.move_personal_account(actor, &account_id, &to, "dossier transferred (HY 11.1)")
                    .await
            }
            FollowUp::LockPersonalAccount { account_id, status } => {
                if let Some(acc) = self.load_account(&account_id).await?
                    && acc.locked.is_none()
                {
                    self.account_change_as(
                        actor,
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
                }
                Ok(())
            }
        }
    }

    /// The context the dossier decider reads: today, the profile, the calendar.
    pub(crate) fn ctx(&self) -> DossierContext<'_> {
        DossierContext {
            today: self.today(),
            profile: &self.profile,
            calendar: &self.calendar,
        }
    }

    /// Seals, in place, every field of a declaration or import whose level
    /// is restricted or above, so that its plaintext never reaches the log.
    /// The decider has already validated the plaintext.
    pub(crate) fn seal_fields(&self, dossier_id: &str, events: &mut [DomainEvent]) -> Result<()> {
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
                    seal(&d.section_code.clone(), &mut d.fields)?;
                    // Which document a restricted section cites says something
                    // of it (a marriage certificate, a health paper): sealed
                    // like its fields, the section's level deciding.
                    let level = map
                        .sections
                        .get(&d.section_code)
                        .copied()
                        .unwrap_or(map.default);
                    if level.is_sealed() {
                        for sha in std::mem::take(&mut d.supporting_attachments) {
                            d.sealed_attachments.push(self.keyring.seal(
                                dossier_id,
                                ATTACHMENT_DIGEST_CONTEXT,
                                &sha,
                            )?);
                        }
                    }
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

    /// Names the aggregate in a cross-aggregate refusal that does not name
    /// one yet: the stream the command was about and its current revision.
    pub(crate) async fn about<T>(&self, stream: &str, result: Result<T>) -> Result<T> {
        let revision = match &result {
            // An unknown account names nothing: a hidden account is answered
            // the same way, and a revision would tell it from a made-up id.
            Err(CommandError::Scope(Refusal {
                rule: ScopeRule::UnknownAccount(_),
                ..
            })) => return result,
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

    pub(crate) async fn read_stream(&self, stream: &str) -> Result<Vec<RecordedEvent>> {
        Ok(self
            .store
            .read_stream(stream, StreamFrom::Start, Direction::Forwards, usize::MAX)
            .await?)
    }

    /// Loads a dossier from its stream.
    pub async fn load_dossier(&self, dossier_id: &str) -> Result<Option<Dossier>> {
        let mut state: Option<Dossier> = None;
        for e in self.read_stream(&dossier::stream_id(dossier_id)).await? {
            let mut event = typed::decode(&self.registry, &e)?;
            self.open_identifiers(&e.stream, &mut event)?;
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
            let mut event = typed::decode(&self.registry, &e)?;
            self.open_identifiers(&e.stream, &mut event)?;
            state = account::evolve(state, &event, account_id);
            if let Some(a) = state.as_mut() {
                a.revision = e.revision;
            }
        }
        Ok(state)
    }

    pub(crate) async fn append(
        &self,
        actor: &str,
        stream: &str,
        expected: ExpectedRevision,
        mut events: Vec<DomainEvent>,
        document: Option<&SourceDocument>,
        correlation: Option<Uuid>,
    ) -> Result<Receipt> {
        // Every append, whichever handler made the events: no number reaches
        // the log in clear.
        self.seal_identifiers(stream, &mut events)?;
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
    pub(crate) async fn reserve(
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
}

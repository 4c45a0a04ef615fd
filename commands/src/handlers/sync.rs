//! The write side of the national sync feed: which approvals the next batch
//! holds, the Sở Nội vụ director's seal over its statement, its delivery to
//! the national database's sync account and that database's acknowledgement
//! (BT 7.2, BT 12.3–12.4, HY 8.4, DT 19.2, KT 13).
//!
//! **What a batch covers.** Batch `n` covers the log positions
//! `[from_position, to_position)`, where `from_position` is batch `n-1`'s
//! `to_position` (0 for the first). In monthly mode batch `n` is for month
//! `M` (the month after batch `n-1`'s, the month of the log's first event for
//! the first batch) and `to_position` is the first position recorded on or
//! after the 1st of `M+1` (Vietnam time), or the log's end. Its items are the
//! `dossier.ApprovalSigned` events in the range, in log order: a change not
//! yet approved stays out, and an approval signed later lands in a later
//! batch, by construction; anyone holding the log recomputes them. In
//! continuous mode a batch runs from the previous one to the log's end when
//! it is cut, and its month is the month it is sealed in.
//!
//! **Cost.** [`Workflows::batch_range`] and [`Workflows::seal_batch`] find the
//! cut by a binary search on `recorded_at` (it never decreases along the log),
//! then read only the range's approvals, by type
//! ([`hoso_ledger::EventStore::read_all_of_type`]: SQLite filters them without
//! handing the month's other events out). The sealed batches themselves come
//! from the index (`sync-<n>` streams).
//!
//! **Who seals.** The director of Sở Nội vụ signs the province's data before it
//! is synced (BT 7.2, HY 8.4, DT 19.2). Here: an active agency-head account
//! whose unit is the unit of an active system-administrator account (the
//! system administrators are Sở Nội vụ's, `ACCOUNT_KIND_SYSTEM_ADMIN`), signing
//! the statement digest with one of its registered ed25519 keys usable on the
//! sealing day. The server never holds the key: the director's client signs
//! [`hoso_sync::BatchStatement::digest`]. In continuous mode the server seals
//! instead, with the province's connection key (`sync_continuous`), and the
//! director signs each month's statement over those batches (`sync_months`).
//!
//! **Windows.** In monthly mode month `M` may be sealed from day
//! `[sync] seal_from_day` of `M+1`: every heads' approval window of `M` lies
//! inside `M`. A batch is never changed: its stream is created with
//! `ExpectedRevision::NoStream`, so a second seal of the same batch is
//! refused; corrections are approvals, which go in the next batch.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use hoso_domain::account::Account;
use hoso_domain::calendar::{Deadline, date_in_vietnam, start_of_day_in_vietnam};
use hoso_domain::dossier;
use hoso_domain::profile::SyncMode;
use hoso_domain::signing::SignatureProblem;
use hoso_ledger::typed;
use hoso_ledger::{ExpectedRevision, RecordedEvent};
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::account::AccountKind;
use hoso_schemas::pb::dossier::ApprovalSigned;
use hoso_schemas::pb::sync::{BatchAcknowledged, BatchDelivered, MonthlyBatchSealed};
use hoso_sync::{BatchStatement, Hash, Month, STATEMENT_FORMAT, SyncError};

use crate::error::{AccessRule, CommandError, Refusal, Result};
use crate::index::Index;
use crate::workflows::{Actor, Receipt, Workflows};

/// Events read per page while scanning a batch's range.
const SCAN_PAGE: usize = 4_096;
/// Longest receipt reference kept from the national database.
const RECEIPT_MAX: usize = 200;
/// Appends of `sync.BatchDelivered` tried before a conflict is reported.
const DELIVERY_ATTEMPTS: usize = 3;
/// The regulations that make the Sở Nội vụ director sign before syncing.
const DIRECTOR_RULE: &str = "BT 7.2, BT 12.4, HY 8.4, DT 19.2";

/// A rule of the sync feed that refused a seal or an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchRule {
    /// Only the Sở Nội vụ director seals a batch.
    #[error(
        "account {0} is not the Sở Nội vụ director (an agency head of the system administrators' unit) who signs batches ({DIRECTOR_RULE})"
    )]
    NotDirector(String),
    /// Monthly mode: the month's approvals are not all in yet.
    #[error("month {month} can be sealed from {seal_from}, not on {today} ([sync] seal_from_day)")]
    TooEarly {
        /// The batch's month.
        month: String,
        /// First day it may be sealed.
        seal_from: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// The batch was sealed already; a batch is never changed.
    #[error("batch {sequence} ({month}) is sealed already; corrections go in the next batch")]
    AlreadySealed {
        /// Sequence.
        sequence: u64,
        /// Its month.
        month: String,
    },
    /// The statement is not for the next batch.
    #[error("the next batch is {expected}, not {found}")]
    NotNextBatch {
        /// The next sequence.
        expected: u64,
        /// The statement's.
        found: u64,
    },
    /// The statement is impossible on its face.
    #[error("statement refused: {0}")]
    BadStatement(SyncError),
    /// The statement says something else than the log about the batch.
    #[error("the statement's {field} is {found}; the log says {expected}")]
    StatementMismatch {
        /// Which field.
        field: &'static str,
        /// What the log gives.
        expected: String,
        /// What the statement says.
        found: String,
    },
    /// The signature does not verify over the statement digest.
    #[error("the director's signature does not verify over the statement digest: {0}")]
    BadSignature(SignatureProblem),
    /// Only the national database's sync account acknowledges a batch.
    #[error("account {0} is not a national sync account; only one acknowledges a batch")]
    NotNationalSync(String),
    /// No such batch has been sealed.
    #[error("batch {0} has not been sealed")]
    UnknownBatch(u64),
    /// A receipt reference that is empty or too long.
    #[error("a receipt reference is 1–{RECEIPT_MAX} characters without control characters")]
    BadReceipt,
    /// The batch was acknowledged with another receipt.
    #[error("batch {sequence} was acknowledged with receipt {receipt:?}")]
    AlreadyAcknowledged {
        /// Sequence.
        sequence: u64,
        /// The receipt on record.
        receipt: String,
    },
    /// Continuous mode: the server seals batches with the province's
    /// connection key; the director signs the month statement instead.
    #[error(
        "in continuous mode the server seals batches with the province's connection key (HY 13.6); the director signs the month's statement"
    )]
    SealedByConnection,
    /// Monthly mode: only the director seals, the server never does.
    #[error("the server seals batches itself only in continuous mode ([sync] mode)")]
    NotContinuous,
    /// A batch holds at least one approval when the server seals it.
    #[error("no approval has been recorded since the last batch: nothing to seal")]
    NothingToSeal,
    /// The month is not over: its statement cannot be signed yet.
    #[error("month {month} can be signed from {sign_from}, not on {today}")]
    MonthNotOver {
        /// The month.
        month: String,
        /// Its first day after.
        sign_from: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// The month statement was signed already.
    #[error("the statement of month {0} is signed already")]
    MonthAlreadySigned(String),
    /// No continuous batch waits for a month statement.
    #[error("every sealed batch is in a signed month statement: no month to sign")]
    NoMonthToSign,
    /// No statement of that month has been signed.
    #[error("no statement of month {0} has been signed")]
    UnknownMonth(String),
}

impl BatchRule {
    /// The article the rule comes from, where one does.
    pub fn citation(&self) -> Option<&'static str> {
        match self {
            Self::NotDirector(_) | Self::BadSignature(_) => Some(DIRECTOR_RULE),
            Self::SealedByConnection | Self::NotContinuous => Some("HY 13.6"),
            Self::AlreadySealed { .. } => Some("BT 12.4"),
            _ => None,
        }
    }

    /// Stable identifier of the rule, for API problem types (family `sync`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotDirector(_) => "not-director",
            Self::TooEarly { .. } => "too-early",
            Self::AlreadySealed { .. } => "already-sealed",
            Self::NotNextBatch { .. } => "not-next-batch",
            Self::BadStatement(_) => "bad-statement",
            Self::StatementMismatch { .. } => "statement-mismatch",
            Self::BadSignature(_) => "bad-signature",
            Self::NotNationalSync(_) => "not-national-sync",
            Self::UnknownBatch(_) => "unknown-batch",
            Self::BadReceipt => "bad-receipt",
            Self::AlreadyAcknowledged { .. } => "already-acknowledged",
            Self::SealedByConnection => "sealed-by-connection",
            Self::NotContinuous => "not-continuous",
            Self::NothingToSeal => "nothing-to-seal",
            Self::MonthNotOver { .. } => "month-not-over",
            Self::MonthAlreadySigned(_) => "month-already-signed",
            Self::NoMonthToSign => "no-month-to-sign",
            Self::UnknownMonth(_) => "unknown-month",
        }
    }
}

impl From<BatchRule> for CommandError {
    fn from(rule: BatchRule) -> Self {
        Self::Sync(Refusal {
            stream: None,
            revision: None,
            rule,
        })
    }
}

/// One approval in the log: an item of a batch, before its document's digest
/// is known (the read side renders the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRef {
    /// Position of the `dossier.ApprovalSigned` event.
    pub position: u64,
    /// The dossier.
    pub dossier_id: String,
    /// The approved revision.
    pub revision: u64,
    /// That revision's chain hash (`ApprovalSigned.stream_hash`).
    pub chain_hash: Hash,
}

/// The next batch as the log defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRange {
    /// The province profile's name (the statement's `province`).
    pub province: String,
    /// Sequence of the batch.
    pub sequence: u64,
    /// Its month.
    pub month: Month,
    /// First position covered.
    pub from_position: u64,
    /// One past the last position covered (until the month is over, the log's
    /// end now).
    pub to_position: u64,
    /// The previous batch's statement digest (zeros for the first).
    pub previous_digest: Hash,
    /// The approvals, in log order.
    pub approvals: Vec<ApprovalRef>,
    /// Monthly mode: the first day the batch may be sealed.
    pub seal_from: Option<NaiveDate>,
}

impl BatchRange {
    /// The statement of this batch, given the Merkle root over its items
    /// (`hoso_sync::merkle_root` of the items the read side built, in the
    /// order of [`Self::approvals`]).
    pub fn statement(&self, merkle_root: Hash) -> BatchStatement {
        BatchStatement {
            format: STATEMENT_FORMAT.to_owned(),
            province: self.province.clone(),
            sequence: self.sequence,
            month: self.month,
            from_position: self.from_position,
            to_position: self.to_position,
            item_count: self.approvals.len() as u64,
            merkle_root,
            previous_digest: self.previous_digest,
        }
    }
}

/// What the director hands in to seal a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealBatch {
    /// The statement signed.
    pub statement: BatchStatement,
    /// The director's key.
    pub key_id: String,
    /// Ed25519 signature over `statement.digest()`.
    pub signature: Vec<u8>,
}

/// A sealed batch, as its `sync-<n>` stream records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatch {
    /// The statement, rebuilt from the seal event.
    pub statement: BatchStatement,
    /// Its digest, as signed.
    pub statement_digest: Hash,
    /// The account that signed.
    pub signer: String,
    /// Its key.
    pub key_id: String,
    /// The signature.
    pub signature: Vec<u8>,
    /// Continuous mode: the province connection key's public key the seal
    /// event records (`None` when the director signed: the key is the
    /// director account's, under `key_id`).
    pub signer_public_key: Option<Vec<u8>>,
    /// Position of the seal event.
    pub sealed_at_position: u64,
    /// Vietnam date of the seal.
    pub sealed_on: NaiveDate,
    /// Vietnam date the national sync account was first served the batch's
    /// last item (`sync.BatchDelivered`), once it was.
    pub delivered_on: Option<NaiveDate>,
    /// The acknowledgement, once received.
    pub acknowledgement: Option<Acknowledgement>,
    /// The stream's revision.
    pub revision: u64,
}

/// Where a sealed batch stands with the national database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Sealed, not yet served whole to the national sync account, still
    /// within `[sync] ack_overdue_working_days`.
    Sealed,
    /// Served whole to the national sync account (`sync.BatchDelivered`),
    /// not acknowledged, still within `[sync] ack_overdue_working_days`.
    Delivered,
    /// Acknowledged with a receipt.
    Acknowledged,
    /// Not acknowledged and past the day it was due, whether delivered or
    /// not: only the receipt says the national database holds the batch.
    Overdue,
}

impl DeliveryState {
    /// Stable name, for reports and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sealed => "sealed",
            Self::Delivered => "delivered",
            Self::Acknowledged => "acknowledged",
            Self::Overdue => "overdue",
        }
    }
}

/// The national database's receipt for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The receipt reference.
    pub receipt: String,
    /// The national sync account.
    pub account: String,
    /// Vietnam date.
    pub on: NaiveDate,
    /// Revision of the acknowledgement in the batch's stream.
    pub revision: u64,
    /// Its position.
    pub position: u64,
}

/// Folds one event of a `sync-<n>` stream into the index. An event that does
/// not fit (a seal whose statement cannot be rebuilt) is left out: it was
/// never appended by this code, and the chain check of the log, not the index,
/// is where a foreign event is judged.
pub(crate) fn apply(
    batches: &mut BTreeMap<u64, SealedBatch>,
    sequence: u64,
    recorded: &RecordedEvent,
    event: &DomainEvent,
) {
    match event {
        DomainEvent::MonthlyBatchSealed(e) => {
            let Some(statement) = statement_of(e) else {
                tracing::warn!(sequence, "sealed batch without a readable statement");
                return;
            };
            let digest = statement.digest().ok().unwrap_or_default();
            batches.insert(
                sequence,
                SealedBatch {
                    statement,
                    statement_digest: digest,
                    signer: e.signer.clone(),
                    key_id: e.director_key_id.clone(),
                    signature: e.signature.clone(),
                    signer_public_key: (!e.signer_public_key.is_empty())
                        .then(|| e.signer_public_key.clone()),
                    sealed_at_position: recorded.position,
                    sealed_on: date_in_vietnam(recorded.recorded_at),
                    delivered_on: None,
                    acknowledgement: None,
                    revision: recorded.revision,
                },
            );
        }
        DomainEvent::BatchDelivered(_) => {
            if let Some(b) = batches.get_mut(&sequence) {
                b.revision = recorded.revision;
                b.delivered_on
                    .get_or_insert(date_in_vietnam(recorded.recorded_at));
            }
        }
        DomainEvent::BatchAcknowledged(e) => {
            if let Some(b) = batches.get_mut(&sequence) {
                b.revision = recorded.revision;
                b.acknowledgement = Some(Acknowledgement {
                    receipt: e.receipt.clone(),
                    account: e.acknowledged_by.clone(),
                    on: date_in_vietnam(recorded.recorded_at),
                    revision: recorded.revision,
                    position: recorded.position,
                });
            }
        }
        _ => {
            if let Some(b) = batches.get_mut(&sequence) {
                b.revision = recorded.revision;
            }
        }
    }
}

/// The statement a seal event carries.
fn statement_of(e: &MonthlyBatchSealed) -> Option<BatchStatement> {
    let statement = BatchStatement {
        format: e.format.clone(),
        province: e.province.clone(),
        sequence: e.sequence,
        month: e.month.parse().ok()?,
        from_position: e.from_position,
        to_position: e.to_position,
        item_count: e.item_count,
        merkle_root: e.merkle_root.as_slice().try_into().ok()?,
        previous_digest: e.previous_digest.as_slice().try_into().ok()?,
    };
    statement.check().ok()?;
    Some(statement)
}

/// The month `date` falls in.
fn month_of(date: NaiveDate) -> Option<Month> {
    Month::new(date.year(), date.month())
}

/// The first day of `month`.
fn first_day(month: Month) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(month.year(), month.month(), 1)
}

/// Where the next batch starts, as the index knows it.
struct Next {
    sequence: u64,
    from_position: u64,
    previous_digest: Hash,
    /// Monthly mode: the month after the previous batch's.
    month_after_previous: Option<Month>,
}

impl Workflows {
    fn next_batch(idx: &Index) -> Next {
        match idx.batches.last_key_value() {
            None => Next {
                sequence: 1,
                from_position: 0,
                previous_digest: [0; 32],
                month_after_previous: None,
            },
            Some((sequence, b)) => Next {
                sequence: sequence + 1,
                from_position: b.statement.to_position,
                previous_digest: b.statement_digest,
                month_after_previous: b.statement.month.next(),
            },
        }
    }

    /// The next batch: its sequence, month, log range and approvals, read from
    /// the log after the last sealed batch. In monthly mode the range is final
    /// only once the month is over (see [`BatchRange::seal_from`]).
    pub async fn batch_range(&self) -> Result<BatchRange> {
        let next = Self::next_batch(&*self.catch_up().await?);
        let rule = self.profile.sync();
        let today = self.today();
        let (month, cut) = match rule.mode {
            SyncMode::Monthly => {
                let month = match next.month_after_previous {
                    Some(m) => m,
                    None => self.first_month(next.from_position).await?,
                };
                let after = month.next().and_then(first_day);
                (month, after)
            }
            SyncMode::Continuous => (self.month_or_refuse(today)?, None),
        };
        let (to_position, approvals) = self
            .scan(next.from_position, cut.map(start_of_day_in_vietnam), None)
            .await?;
        let seal_from = cut.and_then(|d| d.with_day(rule.seal_from_day));
        Ok(BatchRange {
            province: self.profile.name().to_owned(),
            sequence: next.sequence,
            month,
            from_position: next.from_position,
            to_position,
            previous_digest: next.previous_digest,
            approvals,
            seal_from,
        })
    }

    /// The approvals recorded at positions `[from_position, to_position)`, in
    /// log order: a sealed batch's items, recomputed from the log.
    pub async fn batch_approvals(
        &self,
        from_position: u64,
        to_position: u64,
    ) -> Result<Vec<ApprovalRef>> {
        Ok(self.scan(from_position, None, Some(to_position)).await?.1)
    }

    /// Every sealed batch, by sequence, with its acknowledgement if any.
    pub async fn sealed_batches(&self) -> Result<Vec<SealedBatch>> {
        Ok(self.catch_up().await?.batches.values().cloned().collect())
    }

    /// One sealed batch.
    pub async fn sealed_batch(&self, sequence: u64) -> Result<Option<SealedBatch>> {
        Ok(self.catch_up().await?.batches.get(&sequence).cloned())
    }

    /// The last day the national database's acknowledgement of `batch` is on
    /// time: `[sync] ack_overdue_working_days` working days after its sealing.
    pub fn acknowledgement_due(&self, batch: &SealedBatch) -> NaiveDate {
        Deadline::working_days(self.profile.sync().ack_overdue_working_days)
            .due(batch.sealed_on, &self.calendar)
    }

    /// Where `batch` stands today: sealed → delivered → acknowledged, and
    /// overdue once unacknowledged past its due day, delivered or not.
    pub fn delivery_state(&self, batch: &SealedBatch) -> DeliveryState {
        if batch.acknowledgement.is_some() {
            DeliveryState::Acknowledged
        } else if self.today() > self.acknowledgement_due(batch) {
            DeliveryState::Overdue
        } else if batch.delivered_on.is_some() {
            DeliveryState::Delivered
        } else {
            DeliveryState::Sealed
        }
    }

    /// The director seals the next batch ([`SealBatch`]): the actor must be
    /// the Sở Nội vụ director, the day inside the profile's window (monthly
    /// mode), the statement the one the log gives (sequence, month, range,
    /// item count, previous digest; the Merkle root is the caller's, as the
    /// documents come from the read side, except that an empty batch must have
    /// the empty root), and the signature valid over its digest with the
    /// actor's key usable today. Appends `sync.MonthlyBatchSealed` to a new
    /// `sync-<n>` stream.
    pub async fn seal_batch(&self, actor: &Actor, seal: SealBatch) -> Result<Receipt> {
        let SealBatch {
            statement,
            key_id,
            signature,
        } = seal;
        if self.profile.sync().mode == SyncMode::Continuous {
            return Err(BatchRule::SealedByConnection.into());
        }
        let today = self.today();
        let (next, public_key) = {
            let idx = self.catch_up().await?;
            let a = self.acting_actor(&idx, actor)?;
            self.require_director(&idx, a)?;
            let key = a
                .keys
                .get(&key_id)
                .filter(|k| k.usable_on(today))
                .ok_or_else(|| AccessRule::KeyNotUsable {
                    account: a.id.clone(),
                    key_id: key_id.clone(),
                    date: today,
                })?;
            if let Some(b) = idx.batches.get(&statement.sequence) {
                return Err(BatchRule::AlreadySealed {
                    sequence: statement.sequence,
                    month: b.statement.month.to_string(),
                }
                .into());
            }
            (Self::next_batch(&idx), key.public_key.clone())
        };
        if statement.sequence != next.sequence {
            return Err(BatchRule::NotNextBatch {
                expected: next.sequence,
                found: statement.sequence,
            }
            .into());
        }
        statement.check().map_err(BatchRule::BadStatement)?;
        let range = self.batch_range().await?;
        // The index may have moved on between the two reads: a batch sealed
        // meanwhile makes this one's sequence taken.
        if range.sequence != statement.sequence {
            return Err(BatchRule::AlreadySealed {
                sequence: statement.sequence,
                month: statement.month.to_string(),
            }
            .into());
        }
        if let Some(seal_from) = range.seal_from
            && today < seal_from
        {
            return Err(BatchRule::TooEarly {
                month: range.month.to_string(),
                seal_from,
                today,
            }
            .into());
        }
        // Monthly mode's cut is the month's end (continuous mode was refused
        // above: `sync_continuous` seals its batches).
        let expected = range;
        let empty_root = (expected.approvals.is_empty()).then(hoso_ledger::merkle::empty_root);
        let wanted = expected.statement(empty_root.unwrap_or(statement.merkle_root));
        compare(&wanted, &statement)?;
        let digest = statement.digest().map_err(BatchRule::BadStatement)?;
        hoso_domain::signing::verify(&public_key, &digest, &signature)
            .map_err(BatchRule::BadSignature)?;
        let event = MonthlyBatchSealed {
            month: statement.month.to_string(),
            item_count: statement.item_count,
            merkle_root: statement.merkle_root.to_vec(),
            director_key_id: key_id,
            signature,
            sequence: statement.sequence,
            from_position: statement.from_position,
            to_position: statement.to_position,
            previous_digest: statement.previous_digest.to_vec(),
            statement_digest: digest.to_vec(),
            signer: actor.account_id.clone(),
            province: statement.province.clone(),
            format: statement.format.clone(),
            signer_public_key: Vec::new(),
        };
        let stream = hoso_sync::stream_name(statement.sequence);
        match self
            .append(
                &actor.account_id,
                &stream,
                ExpectedRevision::NoStream,
                vec![event.into()],
                None,
                None,
            )
            .await
        {
            Err(CommandError::Conflict { .. }) => Err(BatchRule::AlreadySealed {
                sequence: statement.sequence,
                month: statement.month.to_string(),
            }
            .into()),
            other => other,
        }
    }

    /// The national database acknowledges batch `sequence` with its receipt
    /// reference. Idempotent: the same receipt again answers the first
    /// acknowledgement's receipt and appends nothing; another receipt is
    /// refused.
    pub async fn acknowledge_batch(
        &self,
        actor: &Actor,
        sequence: u64,
        receipt: &str,
    ) -> Result<Receipt> {
        let receipt = receipt.trim();
        if receipt.is_empty()
            || receipt.chars().count() > RECEIPT_MAX
            || receipt.chars().any(char::is_control)
        {
            return Err(BatchRule::BadReceipt.into());
        }
        let (batch, month) = {
            let idx = self.catch_up().await?;
            let a = self.active_actor(&idx, actor)?;
            if a.kind != AccountKind::NationalSync {
                return Err(BatchRule::NotNationalSync(a.id.clone()).into());
            }
            let b = idx
                .batches
                .get(&sequence)
                .ok_or(BatchRule::UnknownBatch(sequence))?;
            (b.clone(), b.statement.month.to_string())
        };
        let stream = hoso_sync::stream_name(sequence);
        if let Some(ack) = &batch.acknowledgement {
            return if ack.receipt == receipt {
                Ok(Receipt {
                    stream,
                    revision: ack.revision,
                    position: ack.position,
                    warnings: Vec::new(),
                })
            } else {
                Err(BatchRule::AlreadyAcknowledged {
                    sequence,
                    receipt: ack.receipt.clone(),
                }
                .into())
            };
        }
        let event = BatchAcknowledged {
            month,
            delivery_id: String::new(),
            receipt: receipt.to_owned(),
            sequence,
            acknowledged_by: actor.account_id.clone(),
        };
        match self
            .append(
                &actor.account_id,
                &stream,
                ExpectedRevision::Exact(batch.revision),
                vec![event.into()],
                None,
                None,
            )
            .await
        {
            // Acknowledged meanwhile (a retry racing the first call): answer
            // from the stream as it is now.
            Err(CommandError::Conflict { .. }) => {
                let now = self
                    .catch_up()
                    .await?
                    .batches
                    .get(&sequence)
                    .and_then(|b| b.acknowledgement.clone());
                match now {
                    Some(ack) if ack.receipt == receipt => Ok(Receipt {
                        stream,
                        revision: ack.revision,
                        position: ack.position,
                        warnings: Vec::new(),
                    }),
                    Some(ack) => Err(BatchRule::AlreadyAcknowledged {
                        sequence,
                        receipt: ack.receipt,
                    }
                    .into()),
                    None => Err(CommandError::Conflict {
                        stream,
                        expected: ExpectedRevision::Exact(batch.revision),
                        actual: None,
                    }),
                }
            }
            other => other,
        }
    }

    /// Records that the national sync account `actor` has been served the
    /// whole of batch `sequence` (the page holding its last item, or the
    /// empty batch's only page): appends `sync.BatchDelivered` once.
    /// Answers the receipt of the event appended, or `None` when nothing
    /// was: the batch was delivered (or acknowledged, which says more)
    /// before. Requests racing each other append one event between them:
    /// the append expects the stream's revision, and the loser finds the
    /// batch delivered when it looks again.
    pub async fn record_delivery(&self, actor: &Actor, sequence: u64) -> Result<Option<Receipt>> {
        let stream = hoso_sync::stream_name(sequence);
        // Each lost race means another event landed on the stream; the
        // stream only ever holds a seal, a delivery and an acknowledgement.
        for _ in 0..DELIVERY_ATTEMPTS {
            let batch = {
                let idx = self.catch_up().await?;
                let a = self.active_actor(&idx, actor)?;
                if a.kind != AccountKind::NationalSync {
                    return Err(BatchRule::NotNationalSync(a.id.clone()).into());
                }
                idx.batches
                    .get(&sequence)
                    .ok_or(BatchRule::UnknownBatch(sequence))?
                    .clone()
            };
            if batch.delivered_on.is_some() || batch.acknowledgement.is_some() {
                return Ok(None);
            }
            let event = BatchDelivered {
                month: batch.statement.month.to_string(),
                destination: actor.account_id.clone(),
                delivery_id: String::new(),
                sequence,
            };
            match self
                .append(
                    &actor.account_id,
                    &stream,
                    ExpectedRevision::Exact(batch.revision),
                    vec![event.into()],
                    None,
                    None,
                )
                .await
            {
                Err(CommandError::Conflict { .. }) => continue,
                other => return other.map(Some),
            }
        }
        Err(CommandError::Conflict {
            stream,
            expected: ExpectedRevision::Any,
            actual: None,
        })
    }

    /// Refuses `actor` unless it is the Sở Nội vụ director who seals batches
    /// ([`BatchRule::NotDirector`]): the API asks before it hands out a
    /// statement to sign, so that only the director sees one being prepared.
    pub async fn check_director(&self, actor: &Actor) -> Result<()> {
        let idx = self.catch_up().await?;
        let a = self.active_actor(&idx, actor)?;
        self.require_director(&idx, a)?;
        Ok(())
    }

    /// Refuses anyone but the Sở Nội vụ director: an agency head of a unit
    /// where an active system administrator sits.
    pub(crate) fn require_director(&self, idx: &Index, a: &Account) -> Result<(), BatchRule> {
        let home_affairs = a.kind == AccountKind::AgencyHead
            && idx.accounts.values().any(|s| {
                s.kind == AccountKind::SystemAdmin && s.locked.is_none() && s.org_code == a.org_code
            });
        if home_affairs {
            Ok(())
        } else {
            Err(BatchRule::NotDirector(a.id.clone()))
        }
    }

    /// Continuous mode's month: today's.
    pub(crate) fn month_or_refuse(&self, today: NaiveDate) -> Result<Month> {
        month_of(today).ok_or_else(|| {
            CommandError::Profile(hoso_domain::profile::ProfileError::DateOutOfRange {
                year: today.year(),
                month: today.month(),
            })
        })
    }

    /// The month of the log's first event at or after `from` (today's if there
    /// is none): the first batch's month.
    async fn first_month(&self, from: u64) -> Result<Month> {
        let first = self.store.read_all(from, 1).await?;
        let day = first
            .first()
            .map_or_else(|| self.today(), |e| date_in_vietnam(e.recorded_at));
        self.month_or_refuse(day)
    }

    /// The range from `from` to the first event recorded at or after `cut`, or
    /// position `end`, or the log's end; answers where it ends and the
    /// approvals in it, read by type so that the month's other events stay in
    /// the store.
    async fn scan(
        &self,
        from: u64,
        cut: Option<chrono::DateTime<chrono::Utc>>,
        end: Option<u64>,
    ) -> Result<(u64, Vec<ApprovalRef>)> {
        let head = self.store.head_position().await?.map_or(from, |h| h + 1);
        let mut to = end.map_or(head, |end| end.min(head)).max(from);
        if let Some(cut) = cut {
            to = self.first_recorded_at_or_after(from, to, cut).await?;
        }
        let approval_type = DomainEvent::from(ApprovalSigned::default()).type_name();
        let mut approvals = Vec::new();
        let mut position = from;
        loop {
            let page = self
                .store
                .read_all_of_type(position, to, approval_type, SCAN_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            position = last.position + 1;
            for e in &page {
                let Some(dossier_id) = e.stream.strip_prefix(dossier::STREAM_PREFIX) else {
                    continue;
                };
                if let DomainEvent::ApprovalSigned(a) = typed::decode(&self.registry, e)? {
                    let Ok(chain_hash) = <Hash>::try_from(a.stream_hash.as_slice()) else {
                        continue;
                    };
                    approvals.push(ApprovalRef {
                        position: e.position,
                        dossier_id: dossier_id.to_owned(),
                        revision: a.revision,
                        chain_hash,
                    });
                }
            }
        }
        Ok((to, approvals))
    }

    /// The first position in `[from, to)` recorded at or after `at`, or `to`: a
    /// binary search, since `recorded_at` never decreases along the log (an
    /// invariant of the stores), reading one event per step instead of the range.
    async fn first_recorded_at_or_after(
        &self,
        from: u64,
        to: u64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64> {
        let (mut lo, mut hi) = (from, to);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.store.read_all(mid, 1).await?.first() {
                // A sparse log answers the first event at or after `mid`.
                Some(e) if e.position < hi && e.recorded_at < at => lo = e.position + 1,
                Some(e) if e.position < hi => hi = e.position,
                _ => hi = mid,
            }
        }
        // On a sparse log `lo` may fall between events: the boundary is the
        // next event's position, as a reader of the range would meet it.
        match self.store.read_all(lo, 1).await?.first() {
            Some(e) if e.position < to => Ok(e.position),
            _ => Ok(to),
        }
    }
}

pub(crate) fn mismatch(
    field: &'static str,
    expected: impl ToString,
    found: impl ToString,
) -> CommandError {
    BatchRule::StatementMismatch {
        field,
        expected: expected.to_string(),
        found: found.to_string(),
    }
    .into()
}

/// Names the first field where the statement differs from the log's.
pub(crate) fn compare(wanted: &BatchStatement, given: &BatchStatement) -> Result<()> {
    let fields: [(&'static str, String, String); 9] = [
        ("format", wanted.format.clone(), given.format.clone()),
        ("province", wanted.province.clone(), given.province.clone()),
        (
            "sequence",
            wanted.sequence.to_string(),
            given.sequence.to_string(),
        ),
        ("month", wanted.month.to_string(), given.month.to_string()),
        (
            "from_position",
            wanted.from_position.to_string(),
            given.from_position.to_string(),
        ),
        (
            "to_position",
            wanted.to_position.to_string(),
            given.to_position.to_string(),
        ),
        (
            "item_count",
            wanted.item_count.to_string(),
            given.item_count.to_string(),
        ),
        (
            "merkle_root",
            hex::encode(wanted.merkle_root),
            hex::encode(given.merkle_root),
        ),
        (
            "previous_digest",
            hex::encode(wanted.previous_digest),
            hex::encode(given.previous_digest),
        ),
    ];
    first_mismatch(fields)
}

/// Refuses at the first `(field, expected, found)` whose values differ,
/// naming it ([`BatchRule::StatementMismatch`]).
pub(crate) fn first_mismatch(
    fields: impl IntoIterator<Item = (&'static str, String, String)>,
) -> Result<()> {
    match fields
        .into_iter()
        .find(|(_, expected, found)| expected != found)
    {
        Some((field, expected, found)) => Err(mismatch(field, expected, found)),
        None => Ok(()),
    }
}

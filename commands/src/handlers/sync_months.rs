//! The director's month statement of continuous mode (HY 13.6; format in
//! `hoso_sync::month`, `docs/sync-format.md` §8): once a month is over, the Sở
//! Nội vụ director signs a statement committing to every batch the server
//! sealed in it with the connection key, as the director signs a monthly
//! batch: the server hands out the statement and its digest, the director's
//! client signs it with a registered ed25519 key usable that day.
//!
//! **Which month.** Month statements chain in sequence order: the next one
//! starts at the first batch after the last signed statement's
//! `last_sequence` that the connection key sealed; its month is that batch's
//! month and it runs through the last batch of that month. A continuous batch
//! is for the month it is sealed in, so once the month is over its batches
//! are final. Each statement lives in its own stream `sync-month-<yyyy-mm>`,
//! created with `ExpectedRevision::NoStream`: a month is signed once.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hoso_domain::calendar::date_in_vietnam;
use hoso_ledger::{ExpectedRevision, RecordedEvent};
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::sync::MonthStatementSigned;
use hoso_sync::month::{MONTH_FORMAT, MonthStatement, month_root, month_stream};
use hoso_sync::{Hash, Month};

use super::sync::{BatchRule, first_mismatch, mismatch};
use super::sync_continuous::CONNECTION_SIGNER;
use crate::error::{AccessRule, CommandError, Result};
use crate::index::Index;
use crate::workflows::{Actor, Receipt, Workflows};

/// A month statement the director signed, as its stream records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMonth {
    /// The statement, rebuilt from the event.
    pub statement: MonthStatement,
    /// Its digest, as signed.
    pub digest: Hash,
    /// The director's account.
    pub signer: String,
    /// The director's key.
    pub key_id: String,
    /// The signature.
    pub signature: Vec<u8>,
    /// Vietnam date of the signature.
    pub signed_on: NaiveDate,
    /// Position of the event.
    pub position: u64,
}

/// The next month statement to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextMonth {
    /// The statement as the log gives it.
    pub statement: MonthStatement,
    /// The first day it may be signed: the 1st of the month after.
    pub sign_from: NaiveDate,
}

/// What the director hands in to sign a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignMonth {
    /// The statement signed.
    pub statement: MonthStatement,
    /// The director's key.
    pub key_id: String,
    /// Ed25519 signature over `statement.digest()`.
    pub signature: Vec<u8>,
}

/// Folds a month statement's event into the index; one that does not fit is
/// left out (never appended by this code: the log's chain check judges it).
pub(crate) fn apply(
    months: &mut BTreeMap<Month, SignedMonth>,
    recorded: &RecordedEvent,
    event: &DomainEvent,
) {
    let DomainEvent::MonthStatementSigned(e) = event else {
        return;
    };
    let Some(statement) = statement_of(e) else {
        tracing::warn!(stream = %recorded.stream, "month statement without a readable statement");
        return;
    };
    let Ok(digest) = statement.digest() else {
        return;
    };
    months.insert(
        statement.month,
        SignedMonth {
            statement,
            digest,
            signer: e.signer.clone(),
            key_id: e.key_id.clone(),
            signature: e.signature.clone(),
            signed_on: date_in_vietnam(recorded.recorded_at),
            position: recorded.position,
        },
    );
}

fn statement_of(e: &MonthStatementSigned) -> Option<MonthStatement> {
    let s = MonthStatement {
        format: e.format.clone(),
        province: e.province.clone(),
        month: e.month.parse().ok()?,
        first_sequence: e.first_sequence,
        last_sequence: e.last_sequence,
        batch_count: e.batch_count,
        item_count: e.item_count,
        merkle_root: e.merkle_root.as_slice().try_into().ok()?,
        previous_digest: e.previous_digest.as_slice().try_into().ok()?,
    };
    s.check().ok()?;
    Some(s)
}

impl Workflows {
    /// The next month statement as the index gives it, or `None` when every
    /// batch the connection key sealed is in a signed month.
    fn next_month_of(&self, idx: &Index) -> Option<NextMonth> {
        let last = idx
            .months
            .values()
            .max_by_key(|m| m.statement.last_sequence);
        let after = last.map_or(0, |m| m.statement.last_sequence);
        let (&first, month) = idx
            .batches
            .range(after + 1..)
            .find(|(_, b)| b.signer == CONNECTION_SIGNER)
            .map(|(s, b)| (s, b.statement.month))?;
        let batches: Vec<_> = idx
            .batches
            .range(first..)
            .map(|(_, b)| b)
            .take_while(|b| b.statement.month == month)
            .collect();
        let last_sequence = batches.last().map_or(first, |b| b.statement.sequence);
        let digests: Vec<Hash> = batches.iter().map(|b| b.statement_digest).collect();
        let sign_from = month
            .next()
            .and_then(|m| NaiveDate::from_ymd_opt(m.year(), m.month(), 1))?;
        Some(NextMonth {
            statement: MonthStatement {
                format: MONTH_FORMAT.to_owned(),
                province: self.profile.name().to_owned(),
                month,
                first_sequence: first,
                last_sequence,
                batch_count: batches.len() as u64,
                item_count: batches.iter().map(|b| b.statement.item_count).sum(),
                merkle_root: month_root(&digests),
                previous_digest: last.map_or([0; 32], |m| m.digest),
            },
            sign_from,
        })
    }

    /// The next month statement for the director to sign
    /// ([`BatchRule::NoMonthToSign`] when there is none).
    pub async fn next_month_statement(&self) -> Result<NextMonth> {
        let idx = self.catch_up().await?;
        self.next_month_of(&idx)
            .ok_or_else(|| BatchRule::NoMonthToSign.into())
    }

    /// The signed statement of `month`, if any.
    pub async fn month_statement(&self, month: Month) -> Result<Option<SignedMonth>> {
        Ok(self.catch_up().await?.months.get(&month).cloned())
    }

    /// Every signed month statement, by month.
    pub async fn month_statements(&self) -> Result<Vec<SignedMonth>> {
        Ok(self.catch_up().await?.months.values().cloned().collect())
    }

    /// The director signs the next month statement: the actor must be the Sở
    /// Nội vụ director with a key usable today, the month over, the statement
    /// the one the sealed batches give (a batch of the month left out is a
    /// [`BatchRule::StatementMismatch`]), the signature valid over its digest.
    /// Appends `sync.MonthStatementSigned` to a new `sync-month-<yyyy-mm>`.
    pub async fn sign_month(&self, actor: &Actor, sign: SignMonth) -> Result<Receipt> {
        let SignMonth {
            statement,
            key_id,
            signature,
        } = sign;
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
            if idx.months.contains_key(&statement.month) {
                return Err(BatchRule::MonthAlreadySigned(statement.month.to_string()).into());
            }
            (self.next_month_of(&idx), key.public_key.clone())
        };
        statement.check().map_err(BatchRule::BadStatement)?;
        let next = next.ok_or(BatchRule::NoMonthToSign)?;
        if statement.month != next.statement.month {
            return Err(mismatch("month", next.statement.month, statement.month));
        }
        if today < next.sign_from {
            return Err(BatchRule::MonthNotOver {
                month: statement.month.to_string(),
                sign_from: next.sign_from,
                today,
            }
            .into());
        }
        compare_month(&next.statement, &statement)?;
        let digest = statement.digest().map_err(BatchRule::BadStatement)?;
        hoso_domain::signing::verify(&public_key, &digest, &signature)
            .map_err(BatchRule::BadSignature)?;
        let event = MonthStatementSigned {
            format: statement.format.clone(),
            province: statement.province.clone(),
            month: statement.month.to_string(),
            first_sequence: statement.first_sequence,
            last_sequence: statement.last_sequence,
            batch_count: statement.batch_count,
            item_count: statement.item_count,
            merkle_root: statement.merkle_root.to_vec(),
            previous_digest: statement.previous_digest.to_vec(),
            statement_digest: digest.to_vec(),
            signer: actor.account_id.clone(),
            key_id,
            signature,
        };
        match self
            .append(
                &actor.account_id,
                &month_stream(statement.month),
                ExpectedRevision::NoStream,
                vec![event.into()],
                None,
                None,
            )
            .await
        {
            Err(CommandError::Conflict { .. }) => {
                Err(BatchRule::MonthAlreadySigned(statement.month.to_string()).into())
            }
            other => other,
        }
    }
}

/// Names the first field where the month statement differs from the log's.
fn compare_month(wanted: &MonthStatement, given: &MonthStatement) -> Result<()> {
    let fields: [(&'static str, String, String); 8] = [
        ("format", wanted.format.clone(), given.format.clone()),
        ("province", wanted.province.clone(), given.province.clone()),
        (
            "first_sequence",
            wanted.first_sequence.to_string(),
            given.first_sequence.to_string(),
        ),
        (
            "last_sequence",
            wanted.last_sequence.to_string(),
            given.last_sequence.to_string(),
        ),
        (
            "batch_count",
            wanted.batch_count.to_string(),
            given.batch_count.to_string(),
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

//! Continuous delivery of the national sync feed on the test province (HY
//! 13.6, Decree 27/2026/NĐ-CP): the server seals each batch with the
//! province's connection key, the director may not, and the feed is late once
//! an approval waits past `[sync] lag`. Each test is named after the rule it
//! checks.

use chrono::Duration;
use ed25519_dalek::Signer;
use hoso_commands::connection_key::ConnectionKey;
use hoso_commands::testkit::*;
use hoso_commands::workflows::{
    ApprovalRef, BatchRange, BatchRule, CONNECTION_SIGNER, CommandError, SealBatch, SignMonth,
};
use hoso_domain::profile::Profile;
use hoso_sync::month::{MonthStatement, month_root};
use hoso_sync::{BatchItem, BatchStatement, Month};
use sha2::{Digest, Sha256};

const PID_A: &str = "033190001234";
const PID_B: &str = "033090004321";

/// Stands in for the exchange-format document's digest, which the read side
/// computes.
fn document_digest(a: &ApprovalRef) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(a.dossier_id.as_bytes());
    h.update(a.revision.to_be_bytes());
    h.finalize().into()
}

fn statement(range: &BatchRange) -> BatchStatement {
    let items: Vec<BatchItem> = range
        .approvals
        .iter()
        .map(|a| BatchItem {
            dossier: a.dossier_id.clone(),
            revision: a.revision,
            chain_hash: a.chain_hash,
            document_sha256: document_digest(a),
        })
        .collect();
    range.statement(hoso_sync::merkle_root(&items).unwrap())
}

fn batch_rule(e: CommandError) -> BatchRule {
    match e {
        CommandError::Sync(r) => r.rule,
        other => panic!("expected a sync rule, got {other:?}"),
    }
}

fn continuous() -> Profile {
    let text = Profile::source("binh-thuan").unwrap().replace(
        "mode = \"monthly\"",
        "mode = \"continuous\"\nlag = { amount = 1, unit = \"working_days\" }",
    );
    Profile::from_toml_str("binh-thuan", &text).unwrap()
}

fn key(p: &Province, name: &str) -> ConnectionKey {
    ConnectionKey::create(&p.dir.path().join(name), p.clock_now()).unwrap()
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for Province {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        hoso_domain::clock::Clock::now(&*self.clock)
    }
}

#[tokio::test]
async fn hy_13_6_continuous_batches_are_signed_with_the_connection_key() {
    let p = Province::with_profile(continuous(), d(2026, 7, 1)).await;
    let connection = key(&p, "connection-key.json");
    let other = key(&p, "other-key.json");
    // Nothing approved yet: nothing to seal.
    let empty = p.wf.batch_range().await.unwrap();
    assert!(empty.approvals.is_empty());
    let refused =
        p.wf.seal_continuous(
            &connection,
            empty.statement(hoso_ledger::merkle::empty_root()),
        )
        .await
        .unwrap_err();
    assert_eq!(batch_rule(refused), BatchRule::NothingToSeal);

    let (a, _) = p.approved_dossier(PID_A).await;
    let range = p.wf.batch_range().await.unwrap();
    assert_eq!(range.seal_from, None);
    assert_eq!(range.month, Month::new(2026, 7).unwrap());
    assert_eq!(range.approvals.len(), 1);
    assert_eq!(range.approvals[0].dossier_id, a);
    // A cut beyond the log's end is refused.
    let mut beyond = statement(&range);
    beyond.to_position += 10;
    assert!(matches!(
        batch_rule(p.wf.seal_continuous(&connection, beyond).await.unwrap_err()),
        BatchRule::StatementMismatch {
            field: "to_position",
            ..
        }
    ));
    let st = statement(&range);
    p.wf.seal_continuous(&connection, st.clone()).await.unwrap();
    let sealed = p.wf.sealed_batch(1).await.unwrap().unwrap();
    assert_eq!(sealed.statement, st);
    assert_eq!(sealed.signer, CONNECTION_SIGNER);
    assert_eq!(sealed.key_id, connection.key_id().to_string());
    assert_eq!(
        sealed.signer_public_key.as_deref(),
        Some(connection.public_key().as_bytes().as_slice())
    );
    hoso_sync::verify_signature(
        &sealed.statement,
        connection.public_key().as_bytes(),
        &sealed.signature,
    )
    .unwrap();
    assert!(
        hoso_sync::verify_signature(
            &sealed.statement,
            other.public_key().as_bytes(),
            &sealed.signature
        )
        .is_err(),
        "a batch verifies under the connection key only"
    );
    // Sealed once: the same statement again is refused.
    assert!(matches!(
        batch_rule(p.wf.seal_continuous(&connection, st).await.unwrap_err()),
        BatchRule::AlreadySealed { sequence: 1, .. }
    ));
    // The next approval lands in the next batch, chained to the first.
    p.approved_dossier(PID_B).await;
    let next = p.wf.batch_range().await.unwrap();
    assert_eq!(next.sequence, 2);
    assert_eq!(next.from_position, sealed.statement.to_position);
    assert_eq!(next.previous_digest, sealed.statement_digest);
    assert_eq!(next.approvals.len(), 1);
    p.wf.seal_continuous(&connection, statement(&next))
        .await
        .unwrap();
    let second = p.wf.sealed_batch(2).await.unwrap().unwrap();
    hoso_sync::verify_follows(&sealed.statement, &second.statement).unwrap();
}

#[tokio::test]
async fn continuous_mode_refuses_the_director_sealing_batches() {
    let p = Province::with_profile(continuous(), d(2026, 7, 1)).await;
    p.approved_dossier(PID_A).await;
    let director = p.director().await;
    let st = statement(&p.wf.batch_range().await.unwrap());
    let signature = director.key.sign(&st.digest().unwrap()).to_bytes().to_vec();
    let refused =
        p.wf.seal_batch(
            &director.actor,
            SealBatch {
                statement: st,
                key_id: director.key_id.clone(),
                signature,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(batch_rule(refused), BatchRule::SealedByConnection);
    assert!(p.wf.sealed_batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn monthly_mode_is_never_sealed_by_the_server() {
    let p = Province::new("binh-thuan", d(2026, 3, 2)).await;
    p.approved_dossier(PID_A).await;
    let connection = key(&p, "connection-key.json");
    let st = statement(&p.wf.batch_range().await.unwrap());
    let refused = p.wf.seal_continuous(&connection, st).await.unwrap_err();
    assert_eq!(batch_rule(refused), BatchRule::NotContinuous);
    assert_eq!(p.wf.sync_lag().await.unwrap(), None);
}

#[tokio::test]
async fn an_approval_waiting_past_the_lag_is_reported_late() {
    let p = Province::with_profile(continuous(), d(2026, 7, 1)).await;
    let connection = key(&p, "connection-key.json");
    let lag = p.wf.sync_lag().await.unwrap().unwrap();
    assert_eq!(lag.oldest_unsealed, None);
    assert!(!lag.breached);
    p.approved_dossier(PID_A).await;
    let approved_at = p.clock_now();
    let lag = p.wf.sync_lag().await.unwrap().unwrap();
    assert_eq!(lag.oldest_unsealed, Some(approved_at));
    // One working day after Wednesday 1 July 2026 is Thursday 2 July.
    assert_eq!(lag.due, Some(d(2026, 7, 2)));
    assert!(!lag.breached);
    p.clock.advance(Duration::days(2));
    assert!(p.wf.sync_lag().await.unwrap().unwrap().breached);
    // Sealed (late), nothing waits any more.
    p.wf.seal_continuous(&connection, statement(&p.wf.batch_range().await.unwrap()))
        .await
        .unwrap();
    let lag = p.wf.sync_lag().await.unwrap().unwrap();
    assert_eq!((lag.oldest_unsealed, lag.breached), (None, false));
}

fn sign_month(statement: MonthStatement, head: &Head) -> SignMonth {
    let signature = match statement.digest() {
        Ok(digest) => head.key.sign(&digest).to_bytes().to_vec(),
        Err(_) => vec![0; 64],
    };
    SignMonth {
        statement,
        key_id: head.key_id.clone(),
        signature,
    }
}

#[tokio::test]
async fn the_director_signs_the_month_of_continuous_batches() {
    let p = Province::with_profile(continuous(), d(2026, 7, 1)).await;
    let connection = key(&p, "connection-key.json");
    let director = p.director().await;
    assert_eq!(
        batch_rule(p.wf.next_month_statement().await.unwrap_err()),
        BatchRule::NoMonthToSign
    );
    // Two continuous batches in July.
    p.approved_dossier(PID_A).await;
    p.wf.seal_continuous(&connection, statement(&p.wf.batch_range().await.unwrap()))
        .await
        .unwrap();
    p.approved_dossier(PID_B).await;
    p.wf.seal_continuous(&connection, statement(&p.wf.batch_range().await.unwrap()))
        .await
        .unwrap();
    let batches = p.wf.sealed_batches().await.unwrap();
    let next = p.wf.next_month_statement().await.unwrap();
    let july = &next.statement;
    assert_eq!(july.month, Month::new(2026, 7).unwrap());
    assert_eq!((july.first_sequence, july.last_sequence), (1, 2));
    assert_eq!((july.batch_count, july.item_count), (2, 2));
    assert_eq!(
        july.merkle_root,
        month_root(&[batches[0].statement_digest, batches[1].statement_digest])
    );
    assert_eq!(july.previous_digest, [0; 32]);
    assert_eq!(next.sign_from, d(2026, 8, 1));
    // Not before the month is over.
    let early =
        p.wf.sign_month(&director.actor, sign_month(july.clone(), &director))
            .await
            .unwrap_err();
    assert!(matches!(
        batch_rule(early),
        BatchRule::MonthNotOver { sign_from, .. } if sign_from == d(2026, 8, 1)
    ));
    p.set_today(d(2026, 8, 3));
    // A statement leaving out a batch of the month is not the log's.
    let mut short = july.clone();
    short.last_sequence = 1;
    short.batch_count = 1;
    short.item_count = 1;
    short.merkle_root = month_root(&[batches[0].statement_digest]);
    assert!(matches!(
        batch_rule(
            p.wf.sign_month(&director.actor, sign_month(short, &director))
                .await
                .unwrap_err()
        ),
        BatchRule::StatementMismatch {
            field: "last_sequence",
            ..
        }
    ));
    // Only the director, with a valid signature over the digest.
    let mut forged = sign_month(july.clone(), &director);
    forged.signature[0] ^= 1;
    assert!(matches!(
        batch_rule(p.wf.sign_month(&director.actor, forged).await.unwrap_err()),
        BatchRule::BadSignature(_)
    ));
    assert!(matches!(
        batch_rule(
            p.wf.sign_month(
                &p.health_head.actor,
                sign_month(july.clone(), &p.health_head)
            )
            .await
            .unwrap_err()
        ),
        BatchRule::NotDirector(_)
    ));
    p.wf.sign_month(&director.actor, sign_month(july.clone(), &director))
        .await
        .unwrap();
    let signed =
        p.wf.month_statement(july.month)
            .await
            .unwrap()
            .expect("signed");
    assert_eq!(&signed.statement, july);
    assert_eq!(signed.signer, director.actor.account_id);
    signed
        .statement
        .verify_signature(director.key.verifying_key().as_bytes(), &signed.signature)
        .unwrap();
    // Signed once.
    assert_eq!(
        batch_rule(
            p.wf.sign_month(&director.actor, sign_month(july.clone(), &director))
                .await
                .unwrap_err()
        ),
        BatchRule::MonthAlreadySigned("2026-07".to_owned())
    );
    assert_eq!(
        batch_rule(p.wf.next_month_statement().await.unwrap_err()),
        BatchRule::NoMonthToSign
    );
    // August's batch starts the next month statement, chained to July's.
    p.approved_dossier("033190005678").await;
    p.wf.seal_continuous(&connection, statement(&p.wf.batch_range().await.unwrap()))
        .await
        .unwrap();
    let august = p.wf.next_month_statement().await.unwrap().statement;
    assert_eq!(august.month, Month::new(2026, 8).unwrap());
    assert_eq!((august.first_sequence, august.last_sequence), (3, 3));
    assert_eq!(august.previous_digest, signed.digest);
}

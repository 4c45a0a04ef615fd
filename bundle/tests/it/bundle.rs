//! Bundles exported from a province built by the real command handlers, signed with a
//! real ledger key ring, and verified through the public API only.

use std::time::Instant;

use hoso_bundle::{
    Authentication, Bundle, BundleError, ExportError, Section, export, timeline, verify,
};
use hoso_commands::testkit::{HOSPITAL, Province, d, f};
use hoso_commands::workflows::{Declare, Review};
use hoso_domain::clock::Clock;
use hoso_ledger::tree::MerkleTree;
use hoso_ledger::{
    EventStore, ExpectedRevision, HeadReason, LedgerKeyRing, NewEvent, SignedTreeHead, TreeHead,
};
use hoso_schemas::pb::dossier::{ApprovalSigned, AttachmentAdded};

const PID: &str = "033190001234";

struct Fixture {
    p: Province,
    tree: MerkleTree,
    ring: LedgerKeyRing,
    head: SignedTreeHead,
    dossier: String,
    _keys: tempfile::TempDir,
}

/// Feeds the tree every event it lacks, then signs a head over all of it.
async fn sign_head(p: &Province, tree: &MerkleTree, ring: &LedgerKeyRing) -> SignedTreeHead {
    let events = p.store.read_all(tree.len(), usize::MAX).await.unwrap();
    let hashes: Vec<_> = events.iter().map(|e| e.hash).collect();
    tree.append(&hashes);
    tree.flush().unwrap();
    let (key_id, key) = ring.signer();
    let head = TreeHead::new(
        tree.len(),
        tree.current_root(),
        p.clock.now(),
        key_id,
        HeadReason::Interval,
    );
    SignedTreeHead::sign(head, key)
}

/// A dossier declared twice (the second time with a change), verified, locked and
/// signed by the head of health, and a head over the whole log.
async fn fixture() -> Fixture {
    let p = Province::new("national", d(2026, 3, 2)).await;
    let id = p.open(PID, HOSPITAL, &p.health_focal).await;
    let person = p.personal_account(PID, HOSPITAL, &p.health_focal).await;
    p.declare_basics(&person, &id, PID).await;
    p.wf.declare(
        &person,
        Declare::new(
            &id,
            "identity",
            vec![
                f("1", "NGUYỄN THỊ HƯƠNG", 0),
                f("3a", "17/05/1990", 0),
                f("3b", "Nữ", 0),
                f("5", "Hưng Yên", 0),
                f("25a", PID, 0),
            ],
        ),
    )
    .await
    .unwrap();
    p.wf.review(&p.health_focal, Review::verify(&id, "khớp hồ sơ gốc"))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&id))
        .await
        .unwrap();
    p.sign(&p.health_head, &id).await.unwrap();
    let keys = tempfile::tempdir().unwrap();
    let ring = LedgerKeyRing::create(&keys.path().join("ledger-keys.json"), p.clock.now()).unwrap();
    let tree = MerkleTree::open_or_create(&p.dir.path().join("ledger-tree.db")).unwrap();
    let head = sign_head(&p, &tree, &ring).await;
    Fixture {
        dossier: hoso_domain::dossier::stream_id(&id),
        p,
        tree,
        ring,
        head,
        _keys: keys,
    }
}

async fn bundle_of(fx: &Fixture) -> Bundle {
    export(fx.p.store.as_ref(), &fx.tree, &fx.head, &fx.dossier)
        .await
        .unwrap()
}

fn ledger_key(fx: &Fixture) -> ed25519_dalek::VerifyingKey {
    fx.ring.signer().1.verifying_key()
}

#[tokio::test]
async fn a_bundle_verifies_with_the_ledger_key_and_tells_the_history() {
    let fx = fixture().await;
    let bundle = bundle_of(&fx).await;
    let stream = fx.p.stream(&fx.dossier).await;
    assert_eq!(bundle.events.len(), stream.len());
    assert!(!bundle.later_events_omitted);
    assert_eq!(bundle.signer_keys.len(), 1);
    assert_eq!(
        bundle.signer_keys[0].event_type,
        "account.SigningKeyRegistered"
    );
    // The opening decision's digitised copy is cited.
    assert!(bundle.attachments.iter().any(|a| a.sha256 == [0x5c; 32]));

    let bytes = bundle.to_bytes().unwrap();
    let key = ledger_key(&fx);
    let report = verify(&bytes, Some(&key)).unwrap();
    assert!(report.is_authenticated());
    assert!(report.verdict().starts_with("verified and authenticated"));
    assert_eq!(report.approvals.len(), 1);
    assert!(report.approvals[0].valid);

    let entries = timeline(&report);
    assert_eq!(entries.len(), stream.len());
    let signed: Vec<_> = entries
        .iter()
        .filter_map(|e| e.signature.as_ref())
        .collect();
    assert_eq!(signed.len(), 1);
    assert!(signed[0].valid);
    assert_eq!(signed[0].signer, fx.p.health_head.actor.account_id);
    // The second identity declaration shows what changed, and only that; the
    // identification number is sealed and stays so.
    let declarations: Vec<_> = entries
        .iter()
        .filter(|e| e.event_type == "dossier.DeclarationSubmitted")
        .collect();
    let second_identity = declarations
        .iter()
        .filter(|e| e.changes.iter().any(|c| c.section == "identity"))
        .nth(1)
        .expect("two identity declarations");
    assert_eq!(
        second_identity.changes.len(),
        1,
        "{:?}",
        second_identity.changes
    );
    assert_eq!(second_identity.changes[0].field, "5");
    assert_eq!(second_identity.changes[0].before, None);
    assert_eq!(
        second_identity.changes[0].after.as_deref(),
        Some("Hưng Yên")
    );
    let first_identity = declarations[0];
    let number = first_identity
        .changes
        .iter()
        .find(|c| c.field == "25a")
        .unwrap();
    assert_eq!(number.after.as_deref(), Some(hoso_bundle::timeline::SEALED));
    // The opening names its decision and its date.
    assert!(
        entries[0]
            .decision
            .as_deref()
            .unwrap()
            .contains("12/QĐ-SYT")
    );
    assert!(entries[0].effective.is_some());
}

#[tokio::test]
async fn without_a_key_a_bundle_is_only_self_consistent() {
    let fx = fixture().await;
    let bytes = bundle_of(&fx).await.to_bytes().unwrap();
    let report = verify(&bytes, None).unwrap();
    assert_eq!(report.authentication, Authentication::NotAuthenticated);
    assert!(!report.is_authenticated());
    assert!(
        report
            .verdict()
            .starts_with("self-consistent, not authenticated")
    );
}

#[tokio::test]
async fn another_key_does_not_authenticate_a_bundle() {
    let fx = fixture().await;
    let bytes = bundle_of(&fx).await.to_bytes().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let other = LedgerKeyRing::create(&dir.path().join("other.json"), fx.p.clock.now()).unwrap();
    let err = verify(&bytes, Some(&other.signer().1.verifying_key())).unwrap_err();
    assert!(matches!(err, BundleError::HeadSignature { .. }), "{err}");
    // A head re-signed by another key (same content) is refused under the real key.
    let mut bundle = bundle_of(&fx).await;
    bundle.tree_head = SignedTreeHead::sign(bundle.tree_head.head, other.signer().1);
    let err = verify(&bundle.to_bytes().unwrap(), Some(&ledger_key(&fx))).unwrap_err();
    assert!(matches!(err, BundleError::HeadSignature { .. }), "{err}");
}

#[tokio::test]
async fn flipping_any_byte_fails_verification() {
    let fx = fixture().await;
    let bytes = bundle_of(&fx).await.to_bytes().unwrap();
    let key = ledger_key(&fx);
    let started = Instant::now();
    verify(&bytes, Some(&key)).unwrap();
    eprintln!("one verify: {:?}", started.elapsed());
    let started = Instant::now();
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    // Every byte with its low bit flipped; every fourth also with its case bit (an
    // upper-case hex digit decodes to the same bytes, so only canonicality catches it).
    let mut flips = 0;
    for i in 0..bytes.len() {
        let masks: &[u8] = if i % 4 == 0 { &[0x01, 0x20] } else { &[0x01] };
        for &mask in masks {
            flips += 1;
            let mut flipped = bytes.clone();
            flipped[i] ^= mask;
            match verify(&flipped, Some(&key)) {
                Ok(_) => panic!(
                    "byte {i} ({:?}) ^ {mask:#04x} still verifies",
                    char::from(bytes[i])
                ),
                Err(e) => {
                    let kind = format!("{e:?}");
                    let kind = kind.split([' ', '(', '{']).next().unwrap_or("").to_owned();
                    *reasons.entry(kind).or_default() += 1;
                }
            }
        }
    }
    eprintln!(
        "{} bytes, {flips} flips in {:?}: {reasons:?}",
        bytes.len(),
        started.elapsed()
    );
    // The failures are named, and hashes and proofs are among them.
    assert!(reasons.contains_key("HashMismatch"));
    assert!(reasons.contains_key("Inclusion"));
}

#[tokio::test]
async fn dropping_any_event_fails_verification_and_says_which() {
    let fx = fixture().await;
    let bundle = bundle_of(&fx).await;
    let key = ledger_key(&fx);
    for i in 0..bundle.events.len() {
        let mut cut = bundle.clone();
        cut.events.remove(i);
        let err = verify(&cut.to_bytes().unwrap(), Some(&key)).unwrap_err();
        if i + 1 == bundle.events.len() {
            assert!(
                matches!(err, BundleError::LastRevisionMismatch { .. }),
                "dropping the last event: {err}"
            );
        } else {
            match &err {
                BundleError::RevisionGap { at, expected } => {
                    assert_eq!(at.section, Section::Dossier);
                    assert_eq!(at.index, i);
                    assert_eq!(*expected, i as u64);
                }
                other => panic!("dropping event {i}: {other}"),
            }
        }
        assert!(err.to_string().contains("revision"), "{err}");
    }
    for i in 0..bundle.signer_keys.len() {
        let mut cut = bundle.clone();
        cut.signer_keys.remove(i);
        let err = verify(&cut.to_bytes().unwrap(), Some(&key)).unwrap_err();
        assert!(
            matches!(err, BundleError::MissingSignerKey { .. }),
            "dropping key event {i}: {err}"
        );
    }
    let mut cut = bundle.clone();
    cut.attachments.pop();
    assert!(matches!(
        verify(&cut.to_bytes().unwrap(), Some(&key)),
        Err(BundleError::AttachmentsMismatch { .. })
    ));
}

#[tokio::test]
async fn a_non_canonical_file_is_refused() {
    let fx = fixture().await;
    let bundle = bundle_of(&fx).await;
    let pretty = serde_json::to_vec_pretty(&bundle).unwrap();
    assert!(matches!(
        verify(&pretty, None),
        Err(BundleError::NotCanonical { .. })
    ));
    let mut no_newline = bundle.to_bytes().unwrap();
    no_newline.pop();
    assert!(matches!(
        verify(&no_newline, None),
        Err(BundleError::NotCanonical { .. })
    ));
    assert!(matches!(
        verify(b"{}", None),
        Err(BundleError::Malformed { .. })
    ));
}

#[tokio::test]
async fn events_after_the_head_are_left_out_and_said_to_be() {
    let fx = fixture().await;
    let revision = fx.p.stream(&fx.dossier).await.len() as u64 - 1;
    let later = NewEvent::from_domain(
        &AttachmentAdded {
            sha256: vec![7; 32],
            media_type: "application/pdf".into(),
            size_bytes: 10,
            description: "scan".into(),
        }
        .into(),
    );
    fx.p.store
        .append(&fx.dossier, ExpectedRevision::Exact(revision), vec![later])
        .await
        .unwrap();
    let bundle = bundle_of(&fx).await;
    assert!(bundle.later_events_omitted);
    assert_eq!(bundle.last_revision, revision);
    assert!(!bundle.attachments.iter().any(|a| a.sha256 == [7; 32]));
    verify(&bundle.to_bytes().unwrap(), Some(&ledger_key(&fx))).unwrap();
    // The next head covers it.
    let head = sign_head(&fx.p, &fx.tree, &fx.ring).await;
    let bundle = export(fx.p.store.as_ref(), &fx.tree, &head, &fx.dossier)
        .await
        .unwrap();
    assert!(!bundle.later_events_omitted);
    assert!(bundle.attachments.iter().any(|a| a.sha256 == [7; 32]));
    verify(&bundle.to_bytes().unwrap(), Some(&ledger_key(&fx))).unwrap();
}

#[tokio::test]
async fn export_refuses_what_it_cannot_prove() {
    let fx = fixture().await;
    let store = fx.p.store.as_ref();
    let missing = hoso_domain::dossier::stream_id("00000000-0000-7000-8000-000000000000");
    assert!(matches!(
        export(store, &fx.tree, &fx.head, &missing).await,
        Err(ExportError::DossierNotFound(_))
    ));
    assert!(matches!(
        export(store, &fx.tree, &fx.head, "account-x").await,
        Err(ExportError::NotADossier(_))
    ));
    // A head signed before the dossier existed covers none of it.
    let first = fx.p.stream(&fx.dossier).await[0].position;
    let (key_id, key) = fx.ring.signer();
    let early = SignedTreeHead::sign(
        TreeHead::new(
            first,
            fx.tree.root(first).unwrap(),
            fx.p.clock.now(),
            key_id,
            HeadReason::Opened,
        ),
        key,
    );
    assert!(matches!(
        export(store, &fx.tree, &early, &fx.dossier).await,
        Err(ExportError::NotCovered { .. })
    ));
    // A head beyond the tree, and a head whose root the tree does not have.
    let mut beyond = fx.head.head;
    beyond.tree_size += 5;
    let beyond = SignedTreeHead::sign(beyond, key);
    assert!(matches!(
        export(store, &fx.tree, &beyond, &fx.dossier).await,
        Err(ExportError::TreeShorterThanHead { .. })
    ));
    let mut forged = fx.head.head;
    forged.root[0] ^= 1;
    let forged = SignedTreeHead::sign(forged, key);
    assert!(matches!(
        export(store, &fx.tree, &forged, &fx.dossier).await,
        Err(ExportError::TreeDisagreesWithHead { .. })
    ));
}

#[tokio::test]
async fn an_approval_signature_that_does_not_verify_is_named() {
    let fx = fixture().await;
    // Written behind the handlers' back (they refuse a bad signature): a second
    // approval of the same revision with a signature of the right length but wrong.
    let stream = fx.p.stream(&fx.dossier).await;
    let registry = hoso_schemas::Registry::standard();
    let good = stream
        .iter()
        .find_map(
            |e| match hoso_ledger::typed::decode(&registry, e).unwrap() {
                hoso_schemas::DomainEvent::ApprovalSigned(a) => Some(a),
                _ => None,
            },
        )
        .unwrap();
    let mut signature = good.signature.clone();
    signature[0] ^= 1;
    let forged = ApprovalSigned {
        signature,
        ..good.clone()
    };
    let revision = stream.len() as u64 - 1;
    fx.p.store
        .append(
            &fx.dossier,
            ExpectedRevision::Exact(revision),
            vec![NewEvent::from_domain(&forged.into())],
        )
        .await
        .unwrap();
    let head = sign_head(&fx.p, &fx.tree, &fx.ring).await;
    let bundle = export(fx.p.store.as_ref(), &fx.tree, &head, &fx.dossier)
        .await
        .unwrap();
    let err = verify(&bundle.to_bytes().unwrap(), Some(&ledger_key(&fx))).unwrap_err();
    match &err {
        BundleError::ApprovalSignature {
            approval, signer, ..
        } => {
            assert_eq!(*approval, revision + 1);
            assert_eq!(*signer, good.signer);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("does not verify"), "{err}");
}

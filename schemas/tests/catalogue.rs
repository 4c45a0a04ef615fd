//! The catalogue seen from outside the crate: the stored names and versions
//! that must keep resolving, the frozen v1 salary format, and error kinds.

use hoso_schemas::pb;
use hoso_schemas::{DomainEvent, Registry, SchemaError};

/// Every `(type, version)` ever published. Stored events carry these names,
/// so an entry may never disappear and a version may only grow; new types
/// are appended here when they are added.
const PUBLISHED: &[(&str, u32)] = &[
    ("org.OrgUnitEstablished", 1),
    ("org.OrgUnitRenamed", 1),
    ("org.OrgUnitMerged", 1),
    ("org.OrgUnitSplit", 1),
    ("org.OrgUnitDissolved", 1),
    ("org.StaffingQuotaSet", 1),
    ("org.JobPositionDefined", 1),
    ("org.ApprovalAuthorityAssigned", 1),
    ("account.AccountIssued", 1),
    ("account.AccessGranted", 1),
    ("account.AccessRestricted", 1),
    ("account.AccessExpanded", 1),
    ("account.AccessRevoked", 1),
    ("account.AccountLocked", 1),
    ("account.AccountUnlocked", 1),
    ("account.PasswordChanged", 1),
    ("account.SigningKeyRegistered", 1),
    ("account.SigningKeyRevoked", 1),
    ("account.DelegationGranted", 1),
    ("account.DelegationRevoked", 1),
    ("account.ConsentGranted", 1),
    ("account.ConsentRevoked", 1),
    ("dossier.DossierOpened", 1),
    ("dossier.DeclarationSubmitted", 1),
    ("dossier.DeclarationReturned", 1),
    ("dossier.DeclarationVerified", 1),
    ("dossier.DossierLocked", 1),
    ("dossier.ApprovalSigned", 1),
    ("dossier.AppointmentRecorded", 1),
    ("dossier.RankChanged", 1),
    ("dossier.SalaryChanged", 2),
    ("dossier.AllowanceChanged", 1),
    ("dossier.AwardGranted", 1),
    ("dossier.DisciplineImposed", 1),
    ("dossier.TrainingRecorded", 1),
    ("dossier.EvaluationRecorded", 1),
    ("dossier.AttachmentAdded", 1),
    ("dossier.DepartmentChanged", 1),
    ("dossier.TransferInitiated", 1),
    ("dossier.TransferAccepted", 1),
    ("dossier.TransferForwarded", 1),
    ("dossier.TransferRejected", 1),
    ("dossier.StatusChanged", 1),
    ("dossier.DossierImported", 1),
    ("dossier.AccessLogged", 1),
    ("sync.MonthlyBatchSealed", 1),
    ("sync.BatchDelivered", 1),
    ("sync.BatchAcknowledged", 1),
    ("account.UsernameReserved", 1),
    ("account.PersonalAccountReserved", 1),
    ("account.AccountReassigned", 1),
    ("dossier.PersonIdReserved", 1),
    ("dossier.ManagingUnitReassigned", 1),
    ("dossier.ObligationOpened", 1),
    ("dossier.ObligationClosed", 1),
    ("ledger.TreeHeadSigned", 1),
    ("ledger.LedgerKeyRegistered", 1),
    ("ledger.LedgerKeyRevoked", 1),
    ("account.InspectionGranted", 1),
    ("account.InspectionRevoked", 1),
    ("account.InspectionQueried", 1),
    ("sync.MonthStatementSigned", 1),
    ("dossier.PlanningRecorded", 1),
    ("ledger.RollbackAccepted", 1),
];

#[test]
fn every_published_type_still_resolves() {
    let registry = Registry::standard();
    for &(name, version) in PUBLISHED {
        let current = registry.current_version(name);
        assert!(
            current.is_some_and(|c| c >= version),
            "{name} v{version} published, registry has {current:?}"
        );
        // The oldest and the newest published versions both read.
        for v in [1, version] {
            assert!(
                !matches!(
                    registry.decode(name, v, &[]),
                    Err(SchemaError::UnknownType { .. } | SchemaError::UnknownVersion { .. })
                ),
                "{name} v{v}"
            );
        }
    }
    let unpublished: Vec<_> = registry
        .type_names()
        .filter(|name| !PUBLISHED.iter().any(|(p, _)| p == name))
        .collect();
    assert!(unpublished.is_empty(), "add to PUBLISHED: {unpublished:?}");
}

#[test]
fn events_round_trip_through_the_public_api() {
    let registry = Registry::standard();
    let events: Vec<DomainEvent> = vec![
        pb::org::OrgUnitEstablished {
            code: "000.00.00.H30".to_owned(),
            name: "UBND tỉnh Hưng Yên".to_owned(),
            kind: pb::org::OrgUnitKind::PeoplesCommitteeProvince.into(),
            parent_code: String::new(),
            effective: Some(pb::common::Date {
                year: 2025,
                month: 7,
                day: 1,
            }),
            decision: None,
        }
        .into(),
        pb::dossier::SalaryChanged {
            rank_code: "01.003".to_owned(),
            step: 4,
            coefficient_x100: 333,
            salary_group: "A1".to_owned(),
            effective: None,
            decision: None,
        }
        .into(),
        pb::sync::MonthlyBatchSealed {
            month: "2026-01".to_owned(),
            item_count: 3,
            merkle_root: vec![1; 32],
            director_key_id: "k1".to_owned(),
            signature: vec![2; 64],
            ..Default::default()
        }
        .into(),
    ];
    let names: Vec<_> = events.iter().map(DomainEvent::type_name).collect();
    assert_eq!(
        names,
        [
            "org.OrgUnitEstablished",
            "dossier.SalaryChanged",
            "sync.MonthlyBatchSealed"
        ]
    );
    for event in events {
        let decoded = registry.decode(
            event.type_name(),
            event.schema_version(),
            &event.encode_payload(),
        );
        assert_eq!(decoded.ok(), Some(event));
    }
}

fn read_hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(str::chars)
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .unwrap_or_else(|| panic!("bad hex at digit {i}"))
        })
        .collect()
}

#[test]
fn stored_v1_salary_reads_as_v2() {
    let stored = read_hex(include_str!("fixtures/salary_changed_v1.hex"));
    let event = Registry::standard().decode("dossier.SalaryChanged", 1, &stored);
    let Ok(DomainEvent::SalaryChanged(salary)) = event else {
        panic!("{event:?}");
    };
    assert_eq!(salary.coefficient_x100, 234);
    assert_eq!(salary.step, 3);
    assert_eq!(salary.rank_code, "01.003");
    assert_eq!(
        salary.decision.map(|d| d.number),
        Some("125/QĐ-UBND".to_owned())
    );
}

#[test]
fn unreadable_events_are_typed_errors() {
    let registry = Registry::standard();
    assert!(matches!(
        registry.decode("dossier.Unheard", 1, &[]),
        Err(SchemaError::UnknownType { .. })
    ));
    assert!(matches!(
        registry.decode("dossier.DossierOpened", 2, &[]),
        Err(SchemaError::UnknownVersion {
            version: 2,
            current: 1,
            ..
        })
    ));
    let garbage = registry.decode("dossier.DossierOpened", 1, &[0xff, 0xff, 0xff]);
    let Err(error @ SchemaError::Decode { .. }) = garbage else {
        panic!("{garbage:?}");
    };
    assert!(std::error::Error::source(&error).is_some());

    let bad_v1 = pb::legacy::dossier::SalaryChangedV1 {
        coefficient: "2.3.4".to_owned(),
        step: "1".to_owned(),
        ..Default::default()
    };
    assert!(matches!(
        registry.decode(
            "dossier.SalaryChanged",
            1,
            &prost::Message::encode_to_vec(&bad_v1)
        ),
        Err(SchemaError::Upcast { from: 1, .. })
    ));
}

//! The registry: from a stored `(type name, schema version, payload)` to a
//! [`DomainEvent`] of the current version.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::SchemaError;
use crate::event::{CATALOGUE, DomainEvent, EventType};
use crate::upcast::{self, StepError, StepFn, Upcaster};

/// Knows every event type, its current version, and the upcast steps from
/// older versions.
#[derive(Debug, Clone)]
pub struct Registry {
    types: BTreeMap<&'static str, EventType>,
    upcasters: BTreeMap<(&'static str, u32), StepFn>,
}

impl Registry {
    /// The whole catalogue of this build with its upcasters.
    pub fn standard() -> Registry {
        Self::new(CATALOGUE, upcast::STANDARD)
    }

    fn new(types: &[EventType], upcasters: &[Upcaster]) -> Registry {
        Registry {
            types: types.iter().map(|t| (t.type_name, *t)).collect(),
            upcasters: upcasters
                .iter()
                .map(|u| ((u.type_name, u.from), u.step))
                .collect(),
        }
    }

    /// Decodes a stored payload, upcasting it step by step when it was
    /// written at an older version.
    pub fn decode(
        &self,
        type_name: &str,
        schema_version: u32,
        payload: &[u8],
    ) -> Result<DomainEvent, SchemaError> {
        let event_type = self
            .types
            .get(type_name)
            .ok_or_else(|| SchemaError::UnknownType {
                type_name: type_name.to_owned(),
            })?;
        let current = event_type.current_version;
        let unknown_version = || SchemaError::UnknownVersion {
            type_name: type_name.to_owned(),
            version: schema_version,
            current,
        };
        // Version 0 is never written: versions start at 1.
        if schema_version == 0 || schema_version > current {
            return Err(unknown_version());
        }

        let mut version = schema_version;
        let mut bytes = Cow::Borrowed(payload);
        while version < current {
            let step = self
                .upcasters
                .get(&(event_type.type_name, version))
                .ok_or_else(unknown_version)?;
            bytes = Cow::Owned(step(&bytes).map_err(|error| match error {
                StepError::Decode(source) => SchemaError::Decode {
                    type_name: type_name.to_owned(),
                    version,
                    source,
                },
                StepError::Invalid(reason) => SchemaError::Upcast {
                    type_name: type_name.to_owned(),
                    from: version,
                    reason,
                },
            })?);
            version += 1;
        }

        (event_type.decode)(&bytes).map_err(|source| SchemaError::Decode {
            type_name: type_name.to_owned(),
            version: current,
            source,
        })
    }

    /// Current schema version of a type, or `None` if it is not in the
    /// catalogue.
    pub fn current_version(&self, type_name: &str) -> Option<u32> {
        self.types.get(type_name).map(|t| t.current_version)
    }

    /// Every type name in the catalogue, in lexical order.
    pub fn type_names(&self) -> impl Iterator<Item = &'static str> {
        self.types.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::pb;
    use crate::samples::{hex_fixture, samples};

    const SALARY_V1_FIXTURE: &str = include_str!("../tests/fixtures/salary_changed_v1.hex");

    #[test]
    fn catalogue_names_are_unique_and_prefixed_by_family() {
        let registry = Registry::standard();
        assert_eq!(registry.type_names().count(), CATALOGUE.len());
        for name in registry.type_names() {
            let (family, _) = name.split_once('.').unwrap_or_default();
            assert!(
                ["org", "account", "dossier", "sync", "ledger"].contains(&family),
                "{name}"
            );
        }
    }

    #[test]
    fn every_type_round_trips_through_the_registry() {
        let registry = Registry::standard();
        let samples = samples();
        let sampled: BTreeMap<_, _> = samples.iter().map(|e| (e.type_name(), e)).collect();
        let missing: Vec<_> = registry
            .type_names()
            .filter(|name| !sampled.contains_key(name))
            .collect();
        assert!(missing.is_empty(), "no sample for {missing:?}");

        for event in &samples {
            let payload = event.encode_payload();
            assert!(!payload.is_empty(), "{} sample is empty", event.type_name());
            assert_eq!(
                registry.current_version(event.type_name()),
                Some(event.schema_version())
            );
            let decoded = registry.decode(event.type_name(), event.schema_version(), &payload);
            assert_eq!(decoded.as_ref().ok(), Some(event), "{}", event.type_name());
        }
    }

    #[test]
    fn unknown_type_is_reported() {
        let error = Registry::standard().decode("dossier.Nonexistent", 1, &[]);
        assert!(
            matches!(&error, Err(SchemaError::UnknownType { type_name }) if type_name == "dossier.Nonexistent"),
            "{error:?}"
        );
        // Names are exact: no family-less or case-folded lookups.
        for name in ["DossierOpened", "dossier.dossieropened", ""] {
            assert!(matches!(
                Registry::standard().decode(name, 1, &[]),
                Err(SchemaError::UnknownType { .. })
            ));
        }
    }

    #[test]
    fn future_and_zero_versions_are_reported() {
        let registry = Registry::standard();
        for version in [0, 2, u32::MAX] {
            let error = registry.decode("org.OrgUnitEstablished", version, &[]);
            assert!(
                matches!(
                    error,
                    Err(SchemaError::UnknownVersion { version: v, current: 1, .. }) if v == version
                ),
                "{error:?}"
            );
        }
        assert!(matches!(
            registry.decode("dossier.SalaryChanged", 3, &[]),
            Err(SchemaError::UnknownVersion {
                version: 3,
                current: 2,
                ..
            })
        ));
    }

    #[test]
    fn garbage_payload_is_a_decode_error_for_every_type() {
        let registry = Registry::standard();
        // Field 1, length-delimited, claims 5 bytes but only 1 follows. Where
        // field 1 is a varint the wire type is wrong instead; both must fail.
        let garbage = [0x0a, 0x05, 0x01];
        for name in registry.type_names() {
            for version in 1..=registry.current_version(name).unwrap_or_default() {
                let error = registry.decode(name, version, &garbage);
                assert!(
                    matches!(&error, Err(SchemaError::Decode { version: v, .. }) if *v == version),
                    "{name} v{version}: {error:?}"
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let registry = Registry::standard();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64: deterministic noise, reproducible on failure.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let names: Vec<_> = registry.type_names().collect();
        for _ in 0..20_000 {
            let len = (next() % 48) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let name = names[(next() as usize) % names.len()];
            let version = (next() % 3) as u32;
            let _ = registry.decode(name, version, &bytes);
        }
    }

    fn salary_v1(coefficient: &str, step: &str) -> Vec<u8> {
        pb::legacy::dossier::SalaryChangedV1 {
            rank_code: "01.003".to_owned(),
            step: step.to_owned(),
            coefficient: coefficient.to_owned(),
            effective: Some(pb::common::Date {
                year: 2024,
                month: 7,
                day: 1,
            }),
            decision: None,
        }
        .encode_to_vec()
    }

    #[test]
    fn salary_v1_is_read_as_v2_with_exact_coefficient() {
        let registry = Registry::standard();
        for (text, expected) in [("2.34", 234), ("4", 400), ("2.3", 230), ("4.98", 498)] {
            let event = registry.decode("dossier.SalaryChanged", 1, &salary_v1(text, "3"));
            let Ok(DomainEvent::SalaryChanged(salary)) = event else {
                panic!("{text}: {event:?}");
            };
            assert_eq!(salary.coefficient_x100, expected, "{text}");
            assert_eq!(salary.step, 3);
            assert_eq!(salary.rank_code, "01.003");
            assert_eq!(salary.salary_group, "");
            assert_eq!(
                salary.effective.map(|d| (d.year, d.month, d.day)),
                Some((2024, 7, 1))
            );
        }
    }

    #[test]
    fn frozen_salary_v1_fixture_is_read_as_v2() {
        let bytes = hex_fixture(SALARY_V1_FIXTURE);
        let expected = pb::legacy::dossier::SalaryChangedV1 {
            rank_code: "01.003".to_owned(),
            step: "3".to_owned(),
            coefficient: "2.34".to_owned(),
            effective: Some(pb::common::Date {
                year: 2024,
                month: 7,
                day: 1,
            }),
            decision: Some(pb::common::DecisionRef {
                number: "125/QĐ-UBND".to_owned(),
                date: Some(pb::common::Date {
                    year: 2024,
                    month: 6,
                    day: 20,
                }),
                issuer: "UBND tỉnh Hưng Yên".to_owned(),
                attachment_sha256: vec![0xab; 32],
            }),
        };
        // The legacy .proto must still write exactly the frozen bytes.
        assert_eq!(expected.encode_to_vec(), bytes);

        let event = Registry::standard().decode("dossier.SalaryChanged", 1, &bytes);
        let Ok(DomainEvent::SalaryChanged(salary)) = event else {
            panic!("{event:?}");
        };
        assert_eq!(
            salary,
            pb::dossier::SalaryChanged {
                rank_code: expected.rank_code,
                step: 3,
                coefficient_x100: 234,
                salary_group: String::new(),
                effective: expected.effective,
                decision: expected.decision,
            }
        );
    }

    #[test]
    fn bad_legacy_salary_is_an_upcast_error() {
        let registry = Registry::standard();
        for (coefficient, step) in [
            ("2,34", "3"),
            ("2.345", "3"),
            ("", "3"),
            ("0", "3"),
            ("2.34", ""),
            ("2.34", "0"),
            ("2.34", "ba"),
        ] {
            let error = registry.decode("dossier.SalaryChanged", 1, &salary_v1(coefficient, step));
            assert!(
                matches!(&error, Err(SchemaError::Upcast { from: 1, type_name, .. }) if type_name == "dossier.SalaryChanged"),
                "{coefficient:?}/{step:?}: {error:?}"
            );
        }
    }

    #[test]
    fn v2_bytes_read_as_v1_fail_instead_of_being_misread() {
        let v2 = pb::dossier::SalaryChanged {
            rank_code: "01.003".to_owned(),
            step: 3,
            coefficient_x100: 234,
            ..Default::default()
        }
        .encode_to_vec();
        assert!(matches!(
            Registry::standard().decode("dossier.SalaryChanged", 1, &v2),
            Err(SchemaError::Decode { version: 1, .. })
        ));
    }

    // Three versions of a made-up history of `dossier.DossierLocked`, to
    // check that steps chain in order up to the current version.
    fn lock_v1_to_v2(payload: &[u8]) -> Result<Vec<u8>, StepError> {
        let mut text =
            String::from_utf8(payload.to_vec()).map_err(|e| StepError::Invalid(e.to_string()))?;
        text.push_str(" +v2");
        Ok(text.into_bytes())
    }

    fn lock_v2_to_v3(payload: &[u8]) -> Result<Vec<u8>, StepError> {
        let text =
            String::from_utf8(payload.to_vec()).map_err(|e| StepError::Invalid(e.to_string()))?;
        Ok(pb::dossier::DossierLocked {
            reason: format!("{text} +v3"),
        }
        .encode_to_vec())
    }

    fn chained_registry(upcasters: &[Upcaster]) -> Registry {
        let locked = CATALOGUE
            .iter()
            .find(|t| t.type_name == "dossier.DossierLocked")
            .map(|t| EventType {
                current_version: 3,
                ..*t
            });
        Registry::new(locked.as_slice(), upcasters)
    }

    #[test]
    fn upcast_steps_chain_to_the_current_version() {
        let registry = chained_registry(&[
            Upcaster {
                type_name: "dossier.DossierLocked",
                from: 2,
                step: lock_v2_to_v3,
            },
            Upcaster {
                type_name: "dossier.DossierLocked",
                from: 1,
                step: lock_v1_to_v2,
            },
        ]);
        let expected = |reason: &str| {
            DomainEvent::DossierLocked(pb::dossier::DossierLocked {
                reason: reason.to_owned(),
            })
        };
        assert_eq!(
            registry.decode("dossier.DossierLocked", 1, b"v1").ok(),
            Some(expected("v1 +v2 +v3"))
        );
        assert_eq!(
            registry.decode("dossier.DossierLocked", 2, b"v2").ok(),
            Some(expected("v2 +v3"))
        );
    }

    #[test]
    fn a_gap_in_the_chain_is_an_unknown_version() {
        let registry = chained_registry(&[Upcaster {
            type_name: "dossier.DossierLocked",
            from: 2,
            step: lock_v2_to_v3,
        }]);
        assert!(matches!(
            registry.decode("dossier.DossierLocked", 1, b"v1"),
            Err(SchemaError::UnknownVersion {
                version: 1,
                current: 3,
                ..
            })
        ));
        assert!(registry.decode("dossier.DossierLocked", 2, b"v2").is_ok());
    }

    #[test]
    fn standard_upcasters_are_complete_chains() {
        let registry = Registry::standard();
        for &(name, from) in registry.upcasters.keys() {
            let current = registry.current_version(name);
            assert!(current.is_some_and(|c| from < c), "{name} v{from}");
        }
        for name in registry.type_names() {
            let current = registry.current_version(name).unwrap_or_default();
            for from in 1..current {
                assert!(
                    registry.upcasters.contains_key(&(name, from)),
                    "{name} v{from}"
                );
            }
        }
    }

    #[test]
    fn error_messages_name_type_and_version() {
        let registry = Registry::standard();
        let message = |result: Result<DomainEvent, SchemaError>| {
            result.err().map(|e| e.to_string()).unwrap_or_default()
        };
        assert_eq!(
            message(registry.decode("org.Nope", 1, &[])),
            "unknown event type `org.Nope`"
        );
        assert_eq!(
            message(registry.decode("dossier.SalaryChanged", 7, &[])),
            "event type `dossier.SalaryChanged` schema version 7 cannot be read (current version is 2)"
        );
        assert_eq!(
            message(registry.decode("sync.BatchDelivered", 1, &[0x0a, 0x05])),
            "payload of event type `sync.BatchDelivered` schema version 1 does not decode"
        );
        assert_eq!(
            message(registry.decode("dossier.SalaryChanged", 1, &salary_v1("2,34", "3"))),
            "event type `dossier.SalaryChanged` cannot be upcast from schema version 1: \
             coefficient \"2,34\": invalid character ',' in decimal"
        );
    }
}

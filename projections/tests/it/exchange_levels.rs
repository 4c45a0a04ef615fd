//! The restricted-data rule of the national exchange as a property: for any
//! levels a profile may give the form's fields and facts and any allowed
//! level, the document sends exactly the declared fields at or below the
//! allowed level (sealed ones opened), names exactly the rest in `withheld`,
//! and encodes to the same bytes every time.

use std::collections::{BTreeMap, BTreeSet};

use hoso_domain::form::SECTIONS;
use hoso_domain::restriction::{Restriction, RestrictionMap};
use hoso_domain::review::ReviewState;
use hoso_projections::exchange::{self, FACTS, Fact, OpenError, SealedOpener};
use hoso_projections::views::{Approval, DossierView, Field};
use proptest::prelude::*;

/// "Seals" by prefixing, so a value opened can be told from one taken in clear.
struct Prefix;

impl SealedOpener for Prefix {
    fn open_person_id(&self, _: &str, sealed: &[u8]) -> Result<String, OpenError> {
        Ok(format!("opened:{}", String::from_utf8(sealed.to_vec())?))
    }

    fn open_field(&self, _: &str, _: &str, _: u32, sealed: &[u8]) -> Result<String, OpenError> {
        Ok(format!("opened:{}", String::from_utf8(sealed.to_vec())?))
    }
}

fn level() -> impl Strategy<Value = Restriction> {
    prop_oneof![
        Just(Restriction::General),
        Just(Restriction::Restricted),
        Just(Restriction::Secret)
    ]
}

/// Every form field with a random level, every fact with one, and which
/// fields the dossier declared (sealed exactly when their level says so).
fn case() -> impl Strategy<Value = (RestrictionMap, Restriction, Vec<bool>)> {
    let n_fields: usize = SECTIONS.iter().map(|s| s.fields.len()).sum();
    (
        proptest::collection::vec(level(), n_fields),
        proptest::collection::vec(level(), FACTS.len()),
        level(),
        proptest::collection::vec(any::<bool>(), n_fields),
    )
        .prop_map(|(field_levels, fact_levels, allowed, declared)| {
            let mut levels = RestrictionMap::default();
            let codes = SECTIONS.iter().flat_map(|s| s.fields.iter());
            for (code, l) in codes.zip(field_levels) {
                levels.fields.insert((*code).to_owned(), l);
            }
            for ((fact, _), l) in FACTS.iter().zip(fact_levels) {
                levels.facts.insert((*fact).to_owned(), l);
            }
            (levels, allowed, declared)
        })
}

fn view(levels: &RestrictionMap, declared: &[bool]) -> DossierView {
    let mut sections: BTreeMap<String, Vec<Field>> = BTreeMap::new();
    let mut i = 0;
    for spec in SECTIONS {
        for field in spec.fields {
            if declared[i] {
                let row = u32::from(spec.table);
                let value = format!("{}:{field}", spec.code);
                let sealed = levels.field(spec.code, field).is_sealed();
                sections
                    .entry(spec.code.to_owned())
                    .or_default()
                    .push(Field {
                        field: (*field).to_owned(),
                        row,
                        value: if sealed { String::new() } else { value.clone() },
                        sealed: sealed.then(|| hex::encode(value)),
                    });
            }
            i += 1;
        }
    }
    DossierView {
        id: "d-1".into(),
        revision: 9,
        person_id_sealed: hex::encode("033190001234"),
        full_name: "Nguyễn Văn An".into(),
        category: "PERSONNEL_CATEGORY_CONG_CHUC".into(),
        managing_unit: "u".into(),
        employing_unit: "u".into(),
        status: "EMPLOYMENT_STATUS_ACTIVE".into(),
        archived: false,
        workflow: ReviewState::Approved,
        sections,
        pending: BTreeMap::new(),
        rank: None,
        salary: None,
        positions: vec![],
        awards: vec![],
        discipline: vec![],
        evaluations: vec![],
        planning: vec![],
        approvals: vec![Approval {
            revision: 8,
            signer: "h".into(),
            delegated_from: None,
            key_id: "k".into(),
            signer_name: None,
            delegated_from_name: None,
        }],
        as_of: None,
        known_at: None,
    }
}

proptest! {
    #[test]
    fn the_document_sends_exactly_what_the_allowed_level_reaches((levels, allowed, declared) in case()) {
        let v = view(&levels, &declared);
        let doc = exchange::to_document(&v, 8, &levels, allowed, &Prefix).unwrap();
        let mut sent = BTreeSet::new();
        for section in &doc.sections.0 {
            for row in &section.rows {
                for (name, value) in &row.values {
                    sent.insert(format!("{}/{name}", section.code));
                    let (field, level) = SECTIONS
                        .iter()
                        .find(|s| s.code == section.code)
                        .and_then(|s| s.fields.iter().find(|f| exchange::national_name(f).map(|n| n.0) == Some(*name)).map(|f| (*f, levels.field(s.code, f))))
                        .unwrap();
                    prop_assert!(level <= allowed);
                    let clear = format!("{}:{field}", section.code);
                    let expected = if level.is_sealed() { format!("opened:{clear}") } else { clear };
                    prop_assert_eq!(value, &expected);
                }
            }
        }
        let mut i = 0;
        let mut want_withheld = Vec::new();
        for (fact, name) in FACTS {
            if levels.fact(fact) > allowed {
                want_withheld.push((*name).to_owned());
            }
        }
        for spec in SECTIONS {
            for field in spec.fields {
                let name = exchange::national_name(field).unwrap().0;
                let key = format!("{}/{name}", spec.code);
                let reaches = levels.field(spec.code, field) <= allowed;
                prop_assert_eq!(sent.contains(&key), declared[i] && reaches, "{}", key);
                if !reaches {
                    want_withheld.push(key);
                }
                i += 1;
            }
        }
        prop_assert_eq!(&doc.withheld, &want_withheld);
        prop_assert_eq!(
            matches!(doc.identification_number, Fact::Sent(_)),
            levels.fact("person_id") <= allowed
        );
        let bytes = exchange::to_bytes(&doc).unwrap();
        prop_assert_eq!(&bytes, &exchange::to_bytes(&exchange::to_document(&v, 8, &levels, allowed, &Prefix).unwrap()).unwrap());
        if levels.fact("person_id") > allowed {
            prop_assert!(!String::from_utf8_lossy(&bytes).contains("033190001234"));
        }
    }
}

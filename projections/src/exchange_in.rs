//! The national exchange format read back: a `hoso-national/1` document (as
//! [`crate::exchange::to_bytes`] writes it, or as another province's Sở Nội
//! vụ pushes it to us) parsed into what an import needs (BT 11.1, HY 11.2).
//!
//! [`from_document`] is the inverse of the section mapping in
//! [`crate::exchange`]: national names go back to form item codes **per
//! section**, because names repeat across sections (`period` is in
//! training, career and pre-recruitment; `full_name` in identity and
//! family). Nothing is dropped silently: another format, a missing
//! identification number (a record that withholds it cannot be imported),
//! an unknown key, section or field, or a duplicated key is a typed error
//! naming it. The facts outside the form (rank, salary, positions, awards,
//! evaluations, discipline) are accepted but not imported: they are
//! decisions recorded here by their own commands. The values are not
//! checked here: the import's decider applies the input and form rules.

use std::collections::BTreeSet;
use std::fmt;

use hoso_domain::form::{SECTIONS, SectionSpec};
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::FieldEntry;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, de::IgnoredAny};

use crate::exchange::{FIELDS, FORMAT};

/// A national record read back, in the shape an import takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The dossier's id in the sending province (`dossier_id`).
    pub dossier_id: String,
    /// The revision its approval signed there.
    pub approved_revision: u64,
    /// Identification number (required).
    pub identification_number: String,
    /// Name.
    pub full_name: String,
    /// Personnel category.
    pub category: PersonnelCategory,
    /// The record's sections in form order, fields by form item code in
    /// form order (rows in row order for tables).
    pub sections: Vec<(String, Vec<FieldEntry>)>,
    /// What the sender withheld, as the document names it.
    pub withheld: Vec<String>,
}

/// Why a document cannot be imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IncomingError {
    /// Not a JSON object of the document's shape (the parser's message
    /// names the key: an unknown or missing one, a wrong type).
    #[error("not a {FORMAT} document: {0}")]
    Malformed(String),
    /// Another format or version.
    #[error("format {found:?} is not {FORMAT}")]
    Format {
        /// The document's `format`.
        found: String,
    },
    /// The identification number is absent (withheld by the sender's
    /// level): the dossier cannot be identified here.
    #[error("the record withholds identification_number; it cannot be imported without it")]
    IdentificationWithheld,
    /// A category that is not a `PERSONNEL_CATEGORY_…` code.
    #[error("unknown category {0:?}")]
    UnknownCategory(String),
    /// A section the format does not name.
    #[error("unknown section {0:?}")]
    UnknownSection(String),
    /// A field the section does not hold under this format.
    #[error("unknown field {section}/{field}")]
    UnknownField {
        /// Section code.
        section: String,
        /// The field's name in the document.
        field: String,
    },
    /// A key given twice.
    #[error("{0} is given twice")]
    Duplicate(String),
    /// A section, row or value of the wrong shape.
    #[error("{section}: {problem}")]
    Shape {
        /// Section code.
        section: String,
        /// What is wrong.
        problem: String,
    },
}

impl IncomingError {
    /// A stable code per rule (the API's problem type ends with it).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed-record",
            Self::Format { .. } => "unknown-format",
            Self::IdentificationWithheld => "identification-withheld",
            Self::UnknownCategory(_) => "unknown-category",
            Self::UnknownSection(_) => "unknown-section",
            Self::UnknownField { .. } => "unknown-field",
            Self::Duplicate(_) => "duplicate-key",
            Self::Shape { .. } => "bad-shape",
        }
    }
}

/// The document's keys, in `to_document`'s order; unknown keys refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(rename = "format")]
    _format: IgnoredAny,
    dossier_id: String,
    approved_revision: u64,
    #[serde(default)]
    identification_number: Option<String>,
    full_name: String,
    category: String,
    #[serde(rename = "status")]
    _status: IgnoredAny,
    #[serde(rename = "managing_unit")]
    _managing_unit: IgnoredAny,
    #[serde(rename = "employing_unit")]
    _employing_unit: IgnoredAny,
    #[serde(default, rename = "rank")]
    _rank: Option<IgnoredAny>,
    #[serde(default, rename = "salary")]
    _salary: Option<IgnoredAny>,
    #[serde(default, rename = "positions")]
    _positions: Option<IgnoredAny>,
    #[serde(default, rename = "awards")]
    _awards: Option<IgnoredAny>,
    #[serde(default, rename = "evaluations")]
    _evaluations: Option<IgnoredAny>,
    #[serde(default, rename = "discipline")]
    _discipline: Option<IgnoredAny>,
    sections: Pairs<SectionValue>,
    withheld: Vec<String>,
}

/// Only `format`, read first so another version is named as such rather
/// than as an unknown key.
#[derive(Deserialize)]
struct Probe {
    format: String,
}

/// A JSON object as its entries in document order, duplicates kept (so
/// they can be refused; a map would keep the last silently).
struct Pairs<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, V>()? {
                    out.push(entry);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// A row's or plain section's value: text, or (only for `row`) a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Cell {
    Text(String),
    Number(u64),
}

/// A section as written: an object (plain) or an array of rows (table).
#[derive(Deserialize)]
#[serde(untagged)]
enum SectionValue {
    Plain(Pairs<Cell>),
    Table(Vec<Pairs<Cell>>),
}

/// Parses a `hoso-national/1` document into what an import takes.
pub fn from_document(bytes: &[u8]) -> Result<Incoming, IncomingError> {
    let malformed = |e: serde_json::Error| IncomingError::Malformed(e.to_string());
    let probe: Probe = serde_json::from_slice(bytes).map_err(malformed)?;
    if probe.format != FORMAT {
        return Err(IncomingError::Format {
            found: probe.format,
        });
    }
    let wire: Wire = serde_json::from_slice(bytes).map_err(malformed)?;
    let identification_number = wire
        .identification_number
        .ok_or(IncomingError::IdentificationWithheld)?;
    let category = PersonnelCategory::from_str_name(&wire.category)
        .filter(|c| *c != PersonnelCategory::Unspecified)
        .ok_or_else(|| IncomingError::UnknownCategory(wire.category.clone()))?;
    let mut seen = BTreeSet::new();
    let mut parsed: Vec<(usize, String, Vec<FieldEntry>)> = Vec::new();
    for (code, value) in wire.sections.0 {
        let (index, spec) = SECTIONS
            .iter()
            .enumerate()
            .find(|(_, s)| s.code == code)
            .ok_or_else(|| IncomingError::UnknownSection(code.clone()))?;
        if !seen.insert(code.clone()) {
            return Err(IncomingError::Duplicate(format!("section {code}")));
        }
        parsed.push((index, code, section_fields(spec, value)?));
    }
    // Form order, whatever order the sender wrote.
    parsed.sort_by_key(|(index, _, _)| *index);
    Ok(Incoming {
        dossier_id: wire.dossier_id,
        approved_revision: wire.approved_revision,
        identification_number,
        full_name: wire.full_name,
        category,
        sections: parsed.into_iter().map(|(_, c, f)| (c, f)).collect(),
        withheld: wire.withheld,
    })
}

/// The form item code of a national name within one section.
fn field_code(spec: &SectionSpec, name: &str) -> Option<&'static str> {
    spec.fields
        .iter()
        .copied()
        .find(|code| FIELDS.iter().any(|(c, n, _)| c == code && *n == name))
}

fn section_fields(
    spec: &SectionSpec,
    value: SectionValue,
) -> Result<Vec<FieldEntry>, IncomingError> {
    let shape = |problem: &str| IncomingError::Shape {
        section: spec.code.to_owned(),
        problem: problem.to_owned(),
    };
    let rows: Vec<(u32, Vec<(String, Cell)>)> = match (value, spec.table) {
        (SectionValue::Plain(fields), false) => vec![(0, fields.0)],
        (SectionValue::Table(rows), true) => {
            let mut out = Vec::new();
            let mut numbers = BTreeSet::new();
            for Pairs(mut cells) in rows {
                // The encoder writes `row` first; a reader takes it wherever
                // it is (a re-encoded document may sort its keys).
                let at = cells
                    .iter()
                    .position(|(key, _)| key == "row")
                    .ok_or_else(|| shape("each row has its number, \"row\""))?;
                let row = match cells.remove(at) {
                    (_, Cell::Number(n)) => u32::try_from(n)
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| shape("a row number is from 1"))?,
                    (_, Cell::Text(_)) => return Err(shape("a row number is a number")),
                };
                if !numbers.insert(row) {
                    return Err(IncomingError::Duplicate(format!("{}#{row}", spec.code)));
                }
                out.push((row, cells));
            }
            out
        }
        (SectionValue::Plain(_), true) => return Err(shape("a table section is an array of rows")),
        (SectionValue::Table(_), false) => return Err(shape("a plain section is an object")),
    };
    let mut entries: Vec<(u32, usize, FieldEntry)> = Vec::new();
    for (row, cells) in rows {
        let mut names = BTreeSet::new();
        for (name, cell) in cells {
            let unknown = || IncomingError::UnknownField {
                section: spec.code.to_owned(),
                field: name.clone(),
            };
            let code = field_code(spec, &name).ok_or_else(unknown)?;
            if !names.insert(name.clone()) {
                return Err(IncomingError::Duplicate(format!("{}/{name}", spec.code)));
            }
            let Cell::Text(value) = cell else {
                return Err(shape(&format!("{name} is not text")));
            };
            let index = spec.fields.iter().position(|c| *c == code).unwrap_or(0);
            entries.push((
                row,
                index,
                FieldEntry {
                    field_code: code.to_owned(),
                    value,
                    row,
                    sealed: Vec::new(),
                },
            ));
        }
    }
    entries.sort_by_key(|(row, index, _)| (*row, *index));
    Ok(entries.into_iter().map(|(_, _, e)| e).collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::exchange::{RowOut, SectionOut, Sections};

    fn doc(extra: &str, sections: &str) -> Vec<u8> {
        format!(
            r#"{{"format":"hoso-national/1","dossier_id":"d-1","approved_revision":4,{extra}"full_name":"TRẦN THỊ B","category":"PERSONNEL_CATEGORY_VIEN_CHUC","status":"EMPLOYMENT_STATUS_ACTIVE","managing_unit":"000.00.31.H30","employing_unit":"000.03.31.H30","rank":null,"positions":[],"sections":{sections},"withheld":[]}}"#
        )
        .into_bytes()
    }

    const PID: &str = r#""identification_number":"001085004321","#;

    #[test]
    fn names_repeated_across_sections_map_back_per_section() {
        let bytes = doc(
            PID,
            r#"{"identity":{"full_name":"TRẦN THỊ B"},"career":[{"row":1,"period":"2016 - nay"}],"family":[{"full_name":"TRẦN VĂN C","row":2}]}"#,
        );
        let got = from_document(&bytes).unwrap();
        let codes: Vec<(&str, Vec<(&str, u32)>)> = got
            .sections
            .iter()
            .map(|(s, f)| {
                (
                    s.as_str(),
                    f.iter().map(|e| (e.field_code.as_str(), e.row)).collect(),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                ("identity", vec![("1", 0)]),
                ("career", vec![("28.c1", 1)]),
                ("family", vec![("30.c2", 2)]),
            ]
        );
        assert_eq!(got.identification_number, "001085004321");
        assert_eq!(got.category, PersonnelCategory::VienChuc);
    }

    /// Any choice of fields, rows and text, written by the exchange's own
    /// encoder, reads back to the same (section, code, row, value) list.
    /// (section index, rows of (row number, (field index, value))).
    type Picked = Vec<(usize, Vec<(u32, Vec<(usize, String)>)>)>;

    fn sections_strategy() -> impl Strategy<Value = Picked> {
        let value = "[a-zA-Z0-9 ,/ăâđêôơưÀ-ỹ\\\"-]{0,12}";
        let section = (0..SECTIONS.len()).prop_flat_map(move |index| {
            let spec = &SECTIONS[index];
            let fields = proptest::sample::subsequence(
                (0..spec.fields.len()).collect::<Vec<_>>(),
                1..=spec.fields.len(),
            )
            .prop_flat_map(move |picked| {
                picked
                    .into_iter()
                    .map(|i| (Just(i), value))
                    .collect::<Vec<_>>()
            });
            let rows = if spec.table { 1..4usize } else { 1..2usize };
            (
                Just(index),
                proptest::collection::vec(fields, rows).prop_map(move |rows| {
                    rows.into_iter()
                        .enumerate()
                        .map(|(i, f)| (if spec.table { i as u32 + 1 } else { 0 }, f))
                        .collect()
                }),
            )
        });
        proptest::collection::vec(section, 0..6)
    }

    proptest! {
        #[test]
        fn what_the_encoder_writes_reads_back(picked in sections_strategy()) {
            let mut out: Vec<SectionOut> = Vec::new();
            let mut want = Vec::new();
            let mut used = BTreeSet::new();
            for (index, rows) in picked {
                if !used.insert(index) {
                    continue;
                }
                let spec = &SECTIONS[index];
                let mut rows_out = Vec::new();
                for (row, fields) in rows {
                    let mut values = Vec::new();
                    for (i, value) in fields {
                        let code = spec.fields[i];
                        let name = crate::exchange::national_name(code).map(|(n, _)| n).unwrap_or("");
                        values.push((name, value.clone()));
                        want.push((spec.code.to_owned(), code.to_owned(), row, value));
                    }
                    rows_out.push(RowOut { row, values });
                }
                out.push(SectionOut { code: spec.code, rows: rows_out, table: spec.table });
            }
            out.sort_by_key(|s| SECTIONS.iter().position(|x| x.code == s.code));
            let sections = serde_json::to_string(&Sections(out)).unwrap_or_default();
            let got = from_document(&doc(PID, &sections)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut got: Vec<(String, String, u32, String)> = got
                .sections
                .into_iter()
                .flat_map(|(s, f)| f.into_iter().map(move |e| (s.clone(), e.field_code, e.row, e.value)))
                .collect();
            got.sort();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let err = |b: Vec<u8>| from_document(&b).unwrap_err();
        assert_eq!(err(doc("", "{}")), IncomingError::IdentificationWithheld);
        assert_eq!(
            err(doc(PID, r#"{"identity":{"nickname":"B"}}"#)),
            IncomingError::UnknownField {
                section: "identity".into(),
                field: "nickname".into()
            }
        );
        assert_eq!(
            err(doc(PID, r#"{"career":[{"row":1,"full_name":"B"}]}"#)),
            IncomingError::UnknownField {
                section: "career".into(),
                field: "full_name".into()
            }
        );
        assert_eq!(
            err(doc(PID, r#"{"hobbies":{}}"#)),
            IncomingError::UnknownSection("hobbies".into())
        );
        assert!(matches!(
            err(doc(PID, r#"{"identity":{"sex":"Nam","sex":"Nữ"}}"#)),
            IncomingError::Duplicate(_)
        ));
        assert!(matches!(
            err(doc(PID, r#"{"career":{"period":"2016"}}"#)),
            IncomingError::Shape { .. }
        ));
        assert!(matches!(
            err(doc(PID, r#"{"career":[{"period":"2016"}]}"#)),
            IncomingError::Shape { .. }
        ));
        let other = String::from_utf8(doc(PID, "{}"))
            .unwrap()
            .replace("hoso-national/1", "hoso-national/2");
        assert_eq!(
            err(other.into_bytes()),
            IncomingError::Format {
                found: "hoso-national/2".into()
            }
        );
        let extra = doc(&format!("{PID}\"nickname\":\"x\","), "{}");
        assert!(matches!(err(extra), IncomingError::Malformed(m) if m.contains("nickname")));
        assert!(matches!(err(b"[1]".to_vec()), IncomingError::Malformed(_)));
    }
}

//! The national exchange format, `hoso-national/1`: an approved dossier as
//! one JSON document with stable field names, in one canonical encoding.
//!
//! The national database's own specification is not public (issue 15), so
//! the format is ours, documented field by field in
//! `docs/national-exchange-format.md`; adapting to the national schema later
//! means changing this module (and the format's version), nothing else.
//!
//! [`to_document`] is pure: it takes the dossier exactly as an approval left
//! it ([`crate::ReadModel::dossier_as_approved`]), the profile's restriction
//! levels, the highest level the national database receives (a profile
//! setting, passed in by the caller) and an [`SealedOpener`] for the values
//! sealed at rest (the read side holds no key). What is above the allowed
//! level is left out and named in `withheld`; the list depends on the levels
//! alone, never on what the dossier holds, so it reveals nothing about the
//! dossier. Sealed values are opened only when sent, and only into the
//! returned document: nothing here writes them anywhere.
//!
//! [`to_bytes`] is the one encoding: compact JSON, keys in the order the
//! document declares them (form order inside sections), no insignificant
//! whitespace, non-ASCII text as raw UTF-8, integers only. The same approved
//! revision, levels and allowed level always give the same bytes, so a
//! batch's Merkle leaf can cover [`digest`] of them.

use hoso_domain::form::{SECTIONS, SectionSpec};
use hoso_domain::restriction::{Restriction, RestrictionMap};
use hoso_schemas::Spelling;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::{DisciplineForm, EmploymentStatus, EvaluationGrade};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::views::{DossierView, Field};

/// The format's name and version, written in every document.
pub const FORMAT: &str = "hoso-national/1";

/// Why a sealed value could not be opened (the opener's own error).
pub type OpenError = Box<dyn std::error::Error + Send + Sync>;

/// Opens values sealed at rest under a dossier's data key. The node hands
/// one over (the API's field keyring); the read side holds no key.
pub trait SealedOpener {
    /// The dossier's identification number, from its sealed bytes.
    fn open_person_id(&self, dossier_id: &str, sealed: &[u8]) -> Result<String, OpenError>;

    /// A form field's value, from its sealed bytes (bound to field and row).
    fn open_field(
        &self,
        dossier_id: &str,
        field: &str,
        row: u32,
        sealed: &[u8],
    ) -> Result<String, OpenError>;
}

/// Why a dossier could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The view still holds declared sections awaiting approval: it is not
    /// the state an approval left.
    #[error("dossier {dossier} holds pending sections; only an approved state is exchanged")]
    Pending {
        /// The dossier.
        dossier: String,
    },
    /// The view's last approval is not the one the document is for.
    #[error("dossier {dossier}: the view's last approval is not of revision {revision}")]
    NotApproved {
        /// The dossier.
        dossier: String,
        /// The approved revision asked for.
        revision: u64,
    },
    /// A section or field the format has no name for (the form catalogue
    /// grew without this module).
    #[error("dossier {dossier}: {section}/{field} has no national name in {FORMAT}")]
    Unmapped {
        /// The dossier.
        dossier: String,
        /// Section code.
        section: String,
        /// Field code (empty for a whole section).
        field: String,
    },
    /// A sealed value to be sent could not be opened.
    #[error("dossier {dossier}: cannot open sealed {what}: {problem}")]
    Unopenable {
        /// The dossier.
        dossier: String,
        /// What (a national name).
        what: String,
        /// Why.
        problem: String,
    },
    /// The document could not be encoded.
    #[error("cannot encode the document: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What a form field's value is, as the document describes it. Every value
/// is sent as the text declared; the kind says what that text holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A date as paper forms write it: `dd/mm/yyyy`, `mm/yyyy` or `yyyy`.
    Date,
    /// `Nam` or `Nữ`.
    Sex,
    /// Digits only.
    Digits,
    /// A whole number written in decimal digits.
    Number,
    /// A salary coefficient or allowance with two decimals, as declared.
    Decimal,
    /// A period (from – to) as declared.
    Period,
    /// A reference to a file (an attachment digest).
    FileRef,
}

impl Kind {
    /// The name the documentation uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Date => "form-date",
            Self::Sex => "sex",
            Self::Digits => "digits",
            Self::Number => "number-text",
            Self::Decimal => "decimal-text",
            Self::Period => "period",
            Self::FileRef => "file-ref",
        }
    }
}

/// The national name of every form field, by form item code, with its
/// kind. Names are unique within their section and never reused.
pub const FIELDS: &[(&str, &str, Kind)] = &[
    // identity
    ("1", "full_name", Kind::Text),
    ("2", "other_names", Kind::Text),
    ("3a", "birth_date", Kind::Date),
    ("3b", "sex", Kind::Sex),
    ("4", "birth_place", Kind::Text),
    ("5", "native_place", Kind::Text),
    ("6", "ethnicity", Kind::Text),
    ("7", "religion", Kind::Text),
    ("25a", "identification_number", Kind::Digits),
    ("25b", "identification_issued_on", Kind::Date),
    ("H3", "personnel_file_number", Kind::Text),
    ("H4", "photo", Kind::FileRef),
    // residence
    ("8", "permanent_residence", Kind::Text),
    ("9", "current_residence", Kind::Text),
    ("n.7", "mobile_number", Kind::Digits),
    // recruitment
    ("10", "occupation_when_recruited", Kind::Text),
    ("11a", "recruited_on", Kind::Date),
    ("11b", "recruiting_agency", Kind::Text),
    ("12", "current_positions", Kind::Text),
    ("13", "main_duties", Kind::Text),
    ("n.13", "appointment_dates", Kind::Text),
    ("n.17", "joined_agency_on", Kind::Date),
    // rank_salary
    ("14a", "rank_name", Kind::Text),
    ("14b", "rank_code", Kind::Text),
    ("14c", "salary_step", Kind::Number),
    ("14d", "salary_coefficient", Kind::Decimal),
    ("14e", "salary_step_since", Kind::Date),
    ("14f", "position_allowance", Kind::Decimal),
    ("14g", "other_allowances", Kind::Text),
    // education
    ("15.1", "general_education", Kind::Text),
    ("15.2", "highest_qualification", Kind::Text),
    ("15.3", "political_theory", Kind::Text),
    ("15.4", "state_management", Kind::Text),
    ("15.5", "foreign_languages", Kind::Text),
    ("15.6", "it_skills", Kind::Text),
    // party_military
    ("16a", "party_admitted_on", Kind::Date),
    ("16b", "party_full_member_on", Kind::Date),
    ("17", "socio_political_organisations", Kind::Text),
    ("18a", "enlisted_on", Kind::Date),
    ("18b", "demobilised_on", Kind::Date),
    ("18c", "highest_military_rank", Kind::Text),
    // honours
    ("19", "highest_honorary_title", Kind::Text),
    ("20", "professional_strengths", Kind::Text),
    ("21", "commendations", Kind::Text),
    ("22", "discipline", Kind::Text),
    // health
    ("23a", "health_status", Kind::Text),
    ("23b", "height_cm", Kind::Number),
    ("23c", "weight_kg", Kind::Number),
    ("23d", "blood_type", Kind::Text),
    ("24a", "war_invalid_grade", Kind::Text),
    ("24b", "policy_family", Kind::Text),
    ("26", "social_insurance_number", Kind::Digits),
    // training (table)
    ("27.c1", "institution", Kind::Text),
    ("27.c2", "major", Kind::Text),
    ("27.c3", "period", Kind::Period),
    ("27.c4", "mode_of_study", Kind::Text),
    ("27.c5", "qualification", Kind::Text),
    // career (table)
    ("28.c1", "period", Kind::Period),
    ("28.c2", "title_and_unit", Kind::Text),
    // history
    ("29a", "detention_and_former_regime", Kind::Text),
    ("29b", "foreign_organisations", Kind::Text),
    ("29c", "relatives_abroad", Kind::Text),
    // family (table)
    ("30.c1", "relationship", Kind::Text),
    ("30.c2", "full_name", Kind::Text),
    ("30.c3", "birth_year", Kind::Number),
    ("30.c4", "details", Kind::Text),
    // salary_history (table)
    ("31.r1", "effective_month", Kind::Date),
    ("31.r2", "rank_code_and_step", Kind::Text),
    ("31.r3", "salary_coefficient", Kind::Decimal),
    // pre_recruitment (table)
    ("T0.c1", "period", Kind::Period),
    ("T0.c2", "activity", Kind::Text),
    // social_media
    ("n.25", "accounts", Kind::Text),
];

/// The facts outside the form the document carries, by the profile's fact
/// name, with their national names. `person_id` is the identification
/// number.
pub const FACTS: &[(&str, &str)] = &[
    ("person_id", "identification_number"),
    ("rank", "rank"),
    ("salary", "salary"),
    ("positions", "positions"),
    ("awards", "awards"),
    ("evaluations", "evaluations"),
    ("discipline", "discipline"),
];

/// The national name and kind of a form field.
pub fn national_name(field: &str) -> Option<(&'static str, Kind)> {
    FIELDS
        .iter()
        .find(|(code, _, _)| *code == field)
        .map(|(_, name, kind)| (*name, *kind))
}

/// A fact the national database may or may not receive: left out of the
/// encoding when withheld (and then named in `withheld`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact<T> {
    /// Above the allowed level: not sent.
    Withheld,
    /// Sent.
    Sent(T),
}

impl<T> Fact<T> {
    /// Whether the fact is left out.
    pub fn is_withheld(&self) -> bool {
        matches!(self, Self::Withheld)
    }
}

impl<T: Serialize> Serialize for Fact<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Sent(v) => v.serialize(s),
            // Never reached through `Document` (skipped); a bare fact
            // serialises as null.
            Self::Withheld => s.serialize_none(),
        }
    }
}

/// Rank or professional title in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RankOut {
    /// Rank code (`01.003`, `V.08.05.12`…).
    pub code: String,
    /// Rank name.
    pub name: String,
    /// Effective date, ISO.
    pub effective: Option<String>,
}

/// Salary in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalaryOut {
    /// Rank code the step belongs to.
    pub rank_code: String,
    /// Step.
    pub step: u32,
    /// Coefficient in hundredths (never a float).
    pub coefficient_x100: u32,
    /// Salary group.
    pub salary_group: String,
    /// Effective date, ISO.
    pub effective: Option<String>,
}

/// A position held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PositionOut {
    /// Title.
    pub title: String,
    /// Effective date, ISO.
    pub effective: Option<String>,
}

/// An award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwardOut {
    /// Form of the award.
    pub form: String,
    /// Year.
    pub year: u32,
}

/// An annual evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationOut {
    /// Year.
    pub year: u32,
    /// Grade (`EVALUATION_GRADE_…`).
    pub grade: String,
}

/// A discipline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisciplineOut {
    /// Form (`DISCIPLINE_FORM_…`).
    pub form: String,
    /// Effective date, ISO.
    pub effective: Option<String>,
}

/// One approved section as sent: its fields by national name, in form order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionOut {
    /// Section code (the form catalogue's, already stable).
    pub code: &'static str,
    /// Rows: one row numbered 0 for a plain section, rows from 1 for a table.
    pub rows: Vec<RowOut>,
    /// Whether the section is a table.
    pub table: bool,
}

/// One row of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOut {
    /// Row number (0 outside tables).
    pub row: u32,
    /// (national name, value), in form order.
    pub values: Vec<(&'static str, String)>,
}

struct RowFields<'a>(&'a RowOut, bool);

impl Serialize for RowFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let RowFields(row, table) = self;
        let mut m = s.serialize_map(Some(row.values.len() + usize::from(*table)))?;
        if *table {
            m.serialize_entry("row", &row.row)?;
        }
        for (name, value) in &row.values {
            m.serialize_entry(name, value)?;
        }
        m.end()
    }
}

struct Rows<'a>(&'a [RowOut]);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for row in self.0 {
            seq.serialize_element(&RowFields(row, true))?;
        }
        seq.end()
    }
}

/// The approved sections, serialised as one object keyed by section code in
/// form order: a plain section is an object of its fields, a table an array
/// of row objects (`row` first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sections(pub Vec<SectionOut>);

impl Serialize for Sections {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for section in &self.0 {
            if section.table {
                m.serialize_entry(section.code, &Rows(&section.rows))?;
            } else if let Some(row) = section.rows.first() {
                m.serialize_entry(section.code, &RowFields(row, false))?;
            }
        }
        m.end()
    }
}

/// A dossier in the national exchange format. Serialised in declaration
/// order; a withheld fact is left out and named in `withheld`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// Dossier id.
    pub dossier_id: String,
    /// The revision the approval signed.
    pub approved_revision: u64,
    /// Identification number (a restricted fact by default).
    #[serde(skip_serializing_if = "Fact::is_withheld")]
    pub identification_number: Fact<String>,
    /// Name (the dossier's, as opened or imported).
    pub full_name: String,
    /// Personnel category (`PERSONNEL_CATEGORY_…`).
    pub category: String,
    /// Employment status (`EMPLOYMENT_STATUS_…`).
    pub status: String,
    /// Managing unit code.
    pub managing_unit: String,
    /// Employing unit code.
    pub employing_unit: String,
    /// Rank or title in effect (null when none recorded).
    #[serde(skip_serializing_if = "Fact::is_withheld")]
    pub rank: Fact<Option<RankOut>>,
    /// Salary in effect (null when none recorded).
    #[serde(skip_serializing_if = "Fact::is_withheld")]
    pub salary: Fact<Option<SalaryOut>>,
    /// Positions held.
    #[serde(skip_serializing_if = "Fact::is_withheld")]
    pub positions: Fact<Vec<PositionOut>>,
    /// Awards.
    #[serde(skip_serializing_if = "Fact::is_withheld")]
    pub awards: Fact<Vec<AwardOut>>,
    /// Annual evaluations.
    #[serde(skip_serializing_if = "Fact::is_withheld")]
    pub evaluations: Fact<Vec<EvaluationOut>>,
    /// Discipline (secret by default).
    #[serde(skip_serializing_if = "Fact::is_withheld")]
    pub discipline: Fact<Vec<DisciplineOut>>,
    /// Approved sections of the form.
    pub sections: Sections,
    /// What the national database does not receive at this level: facts by
    /// national name, then form fields as `section/name`, in form order.
    pub withheld: Vec<String>,
}

/// Everything above `allowed` under `levels`, by national name: facts first,
/// then every form field in form order. Decided by the levels alone.
pub fn withheld(levels: &RestrictionMap, allowed: Restriction) -> Vec<String> {
    let mut out: Vec<String> = FACTS
        .iter()
        .filter(|(fact, _)| levels.fact(fact) > allowed)
        .map(|(_, name)| (*name).to_owned())
        .collect();
    for spec in SECTIONS {
        for field in spec.fields {
            if levels.field(spec.code, field) > allowed {
                let name = national_name(field).map_or(*field, |(n, _)| n);
                out.push(format!("{}/{name}", spec.code));
            }
        }
    }
    out
}

/// Maps the dossier as an approval left it (`view`, from
/// [`crate::ReadModel::dossier_as_approved`]) to the national document for
/// `approved_revision`. `levels` are the profile's restriction levels,
/// `allowed` the highest level the national database receives (the
/// profile's setting); `opener` opens the sealed values that are sent.
pub fn to_document(
    view: &DossierView,
    approved_revision: u64,
    levels: &RestrictionMap,
    allowed: Restriction,
    opener: &dyn SealedOpener,
) -> Result<Document, ExchangeError> {
    let dossier = view.id.as_str();
    if !view.pending.is_empty() {
        return Err(ExchangeError::Pending {
            dossier: dossier.to_owned(),
        });
    }
    if view.approvals.last().map(|a| a.revision) != Some(approved_revision) {
        return Err(ExchangeError::NotApproved {
            dossier: dossier.to_owned(),
            revision: approved_revision,
        });
    }
    let sends = |fact: &str| levels.fact(fact) <= allowed;
    let identification_number = if sends("person_id") {
        let sealed = hex::decode(&view.person_id_sealed)
            .map_err(|e| unopenable(dossier, "identification_number", &e))?;
        Fact::Sent(
            opener
                .open_person_id(dossier, &sealed)
                .map_err(|e| unopenable(dossier, "identification_number", &*e))?,
        )
    } else {
        Fact::Withheld
    };
    let rank = when(sends("rank"), || {
        view.rank.as_ref().map(|r| RankOut {
            code: r.value.code.clone(),
            name: r.value.name.clone(),
            effective: r.effective.clone(),
        })
    });
    let salary = when(sends("salary"), || {
        view.salary.as_ref().map(|s| SalaryOut {
            rank_code: s.value.rank_code.clone(),
            step: s.value.step,
            coefficient_x100: s.value.coefficient_x100,
            salary_group: s.value.salary_group.clone(),
            effective: s.effective.clone(),
        })
    });
    let positions = when(sends("positions"), || {
        view.positions
            .iter()
            .map(|p| PositionOut {
                title: p.value.clone(),
                effective: p.effective.clone(),
            })
            .collect()
    });
    let awards = when(sends("awards"), || {
        view.awards
            .iter()
            .map(|a| AwardOut {
                form: a.form.clone(),
                year: a.year,
            })
            .collect()
    });
    let evaluations = when(sends("evaluations"), || {
        view.evaluations
            .iter()
            .map(|e| EvaluationOut {
                year: e.year,
                grade: wire::<EvaluationGrade>(&e.grade),
            })
            .collect()
    });
    let discipline = when(sends("discipline"), || {
        view.discipline
            .iter()
            .map(|d| DisciplineOut {
                form: wire::<DisciplineForm>(&d.value),
                effective: d.effective.clone(),
            })
            .collect()
    });
    Ok(Document {
        format: FORMAT,
        dossier_id: dossier.to_owned(),
        approved_revision,
        identification_number,
        full_name: view.full_name.clone(),
        category: wire::<PersonnelCategory>(&view.category),
        status: wire::<EmploymentStatus>(&view.status),
        managing_unit: view.managing_unit.clone(),
        employing_unit: view.employing_unit.clone(),
        rank,
        salary,
        positions,
        awards,
        evaluations,
        discipline,
        sections: sections(view, levels, allowed, opener)?,
        withheld: withheld(levels, allowed),
    })
}

fn when<T>(sent: bool, make: impl FnOnce() -> T) -> Fact<T> {
    if sent {
        Fact::Sent(make())
    } else {
        Fact::Withheld
    }
}

fn unopenable(dossier: &str, what: &str, e: &dyn std::fmt::Display) -> ExchangeError {
    ExchangeError::Unopenable {
        dossier: dossier.to_owned(),
        what: what.to_owned(),
        problem: e.to_string(),
    }
}

/// The approved sections in form order, each field sent only at or below
/// `allowed`; a section left with nothing to send is left out.
fn sections(
    view: &DossierView,
    levels: &RestrictionMap,
    allowed: Restriction,
    opener: &dyn SealedOpener,
) -> Result<Sections, ExchangeError> {
    let dossier = view.id.as_str();
    if let Some(code) = view
        .sections
        .keys()
        .find(|code| !SECTIONS.iter().any(|s| s.code == code.as_str()))
    {
        return Err(ExchangeError::Unmapped {
            dossier: dossier.to_owned(),
            section: code.clone(),
            field: String::new(),
        });
    }
    let mut out = Vec::new();
    for spec in SECTIONS {
        let Some(fields) = view.sections.get(spec.code) else {
            continue;
        };
        let rows = section_rows(dossier, spec, fields, levels, allowed, opener)?;
        if !rows.is_empty() {
            out.push(SectionOut {
                code: spec.code,
                rows,
                table: spec.table,
            });
        }
    }
    Ok(Sections(out))
}

fn section_rows(
    dossier: &str,
    spec: &SectionSpec,
    fields: &[Field],
    levels: &RestrictionMap,
    allowed: Restriction,
    opener: &dyn SealedOpener,
) -> Result<Vec<RowOut>, ExchangeError> {
    let unmapped = |field: &str| ExchangeError::Unmapped {
        dossier: dossier.to_owned(),
        section: spec.code.to_owned(),
        field: field.to_owned(),
    };
    // (row, position on the form, national name, value)
    let mut cells: Vec<(u32, usize, &'static str, String)> = Vec::new();
    for f in fields {
        let index = spec
            .fields
            .iter()
            .position(|c| *c == f.field)
            .ok_or_else(|| unmapped(&f.field))?;
        let (name, _) = national_name(&f.field).ok_or_else(|| unmapped(&f.field))?;
        if levels.field(spec.code, &f.field) > allowed {
            continue;
        }
        let value = match &f.sealed {
            Some(hex_text) => {
                let what = format!("{}/{name}#{}", spec.code, f.row);
                let sealed = hex::decode(hex_text).map_err(|e| unopenable(dossier, &what, &e))?;
                opener
                    .open_field(dossier, &f.field, f.row, &sealed)
                    .map_err(|e| unopenable(dossier, &what, &*e))?
            }
            None => f.value.clone(),
        };
        cells.push((f.row, index, name, value));
    }
    cells.sort_by_key(|(row, index, _, _)| (*row, *index));
    let mut rows: Vec<RowOut> = Vec::new();
    for (row, _, name, value) in cells {
        match rows.last_mut() {
            Some(last) if last.row == row => last.values.push((name, value)),
            _ => rows.push(RowOut {
                row,
                values: vec![(name, value)],
            }),
        }
    }
    Ok(rows)
}

/// The canonical bytes of a document: compact JSON in declaration order.
pub fn to_bytes(doc: &Document) -> Result<Vec<u8>, ExchangeError> {
    Ok(serde_json::to_vec(doc)?)
}

/// SHA-256 of a document's canonical bytes (what a batch's Merkle leaf
/// covers).
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The exchange format's name of a value the read views spell for the API
/// (`cong_chuc` → `PERSONNEL_CATEGORY_CONG_CHUC`): the format is fixed by its
/// specification and sealed batches' digests cover it, so it keeps the
/// protobuf names whatever the API's spelling.
fn wire<T: Spelling>(spelt: &str) -> String {
    T::from_spelling(spelt).map_or_else(
        || format!("{}UNSPECIFIED", T::PREFIX),
        |v| v.proto_name().to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_form_field_has_one_national_name_unique_in_its_section() {
        let mut mapped = BTreeSet::new();
        for spec in SECTIONS {
            let mut names = BTreeSet::new();
            for field in spec.fields {
                let (name, _) = national_name(field)
                    .unwrap_or_else(|| panic!("{}/{field} has no national name", spec.code));
                assert!(names.insert(name), "{}/{name} twice", spec.code);
                assert_ne!(name, "row", "`row` is the table rows' own key");
                assert!(
                    name.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{name} is not snake_case"
                );
                mapped.insert(*field);
            }
        }
        for (code, _, _) in FIELDS {
            assert!(mapped.contains(code), "{code} is not on the form");
        }
        assert_eq!(mapped.len(), FIELDS.len(), "a form code mapped twice");
    }

    #[test]
    fn the_document_describes_every_field_and_fact() {
        let doc = include_str!("../../docs/national-exchange-format.md");
        assert!(doc.contains(&format!("(`{FORMAT}`)")));
        for spec in SECTIONS {
            assert!(
                doc.contains(&format!("### `{}`", spec.code)),
                "{}",
                spec.code
            );
        }
        for (code, name, kind) in FIELDS {
            let row = format!("| `{name}` | {code} |");
            let line = doc.lines().find(|l| l.starts_with(&row));
            assert!(
                line.is_some_and(|l| l.contains(&format!("| {} |", kind.as_str()))),
                "{code} ({name}, {}) is not documented",
                kind.as_str()
            );
        }
        for (_, name) in FACTS {
            assert!(doc.contains(&format!("| `{name}` |")), "{name}");
        }
    }

    #[test]
    fn withheld_follows_the_levels_and_shrinks_as_the_allowed_level_rises() {
        let mut levels = RestrictionMap::default();
        levels.fields.insert("25a".into(), Restriction::Restricted);
        levels.fields.insert("22".into(), Restriction::Secret);
        levels
            .facts
            .insert("person_id".into(), Restriction::Restricted);
        assert_eq!(
            withheld(&levels, Restriction::General),
            [
                "identification_number",
                "identity/identification_number",
                "honours/discipline"
            ]
        );
        assert_eq!(
            withheld(&levels, Restriction::Restricted),
            ["honours/discipline"]
        );
        assert!(withheld(&levels, Restriction::Secret).is_empty());
    }

    #[test]
    fn a_fact_serialises_as_its_value_and_is_skipped_when_withheld() {
        #[derive(Serialize)]
        struct Probe {
            #[serde(skip_serializing_if = "Fact::is_withheld")]
            a: Fact<Option<u32>>,
            #[serde(skip_serializing_if = "Fact::is_withheld")]
            b: Fact<u32>,
        }
        let json = |p: &Probe| serde_json::to_string(p).unwrap_or_default();
        assert_eq!(
            json(&Probe {
                a: Fact::Sent(None),
                b: Fact::Withheld
            }),
            r#"{"a":null}"#
        );
        assert_eq!(
            json(&Probe {
                a: Fact::Withheld,
                b: Fact::Sent(7)
            }),
            r#"{"b":7}"#
        );
    }

    #[test]
    fn sections_keep_form_order_and_tables_put_the_row_first() {
        let sections = Sections(vec![
            SectionOut {
                code: "identity",
                table: false,
                rows: vec![RowOut {
                    row: 0,
                    values: vec![("full_name", "A".into()), ("birth_date", "1990".into())],
                }],
            },
            SectionOut {
                code: "career",
                table: true,
                rows: vec![RowOut {
                    row: 1,
                    values: vec![("period", "2016 - nay".into())],
                }],
            },
        ]);
        assert_eq!(
            serde_json::to_string(&sections).unwrap_or_default(),
            r#"{"identity":{"full_name":"A","birth_date":"1990"},"career":[{"row":1,"period":"2016 - nay"}]}"#
        );
    }
}

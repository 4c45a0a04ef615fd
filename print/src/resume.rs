//! What is printed: one reader's view of a dossier at one date.
//!
//! The caller fills a [`Resume`] from what that reader may see (the API from
//! its filtered read, tests from a view directly). A value the reader may not
//! see is absent and named in `withheld`, so the form can say "withheld"
//! where the JSON read leaves the field out, instead of printing a blank that
//! would read as "nothing declared".

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use hoso_projections::views::{Dated, DossierView, Rank, Salary};

/// One reader's view of a dossier, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// Dossier id.
    pub dossier_id: String,
    /// Stream revision the view was folded to.
    pub revision: u64,
    /// Full name as recorded when the dossier was opened.
    pub full_name: String,
    /// Identification number, when the reader is cleared for it.
    pub person_id: Option<String>,
    /// Managing unit, as it should be printed (its name, else its code).
    pub managing_unit: String,
    /// Employing unit, as it should be printed.
    pub employing_unit: String,
    /// Approved form fields in force, by (field code, row); field codes are
    /// unique across sections (`hoso_domain::form::SECTIONS`).
    pub fields: BTreeMap<(String, u32), String>,
    /// Sections declared and not yet approved: not printed, only named.
    pub pending_sections: Vec<String>,
    /// Rank or professional title in effect on `as_of`.
    pub rank: Option<Dated<Rank>>,
    /// Salary in effect on `as_of`.
    pub salary: Option<Dated<Salary>>,
    /// Positions held on `as_of`.
    pub positions: Vec<Dated<String>>,
    /// Awards (form, year).
    pub awards: Vec<(String, u32)>,
    /// Discipline (the form's enum name, effective date); `None` when withheld.
    pub discipline: Option<Vec<Dated<String>>>,
    /// What the reader may not see: `section/field` codes and fact names
    /// (`person_id`, `rank`, `salary`, `positions`, `awards`, `discipline`, …),
    /// as the JSON read's `access.withheld` lists them.
    pub withheld: Vec<String>,
    /// Effective date of the view (`YYYY-MM-DD`), if not today.
    pub as_of: Option<String>,
    /// Recorded date of the view (`YYYY-MM-DD`), if not now.
    pub known_at: Option<String>,
    /// The day it is printed (the caller's clock).
    pub printed_on: NaiveDate,
}

/// What the form shows for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// A value.
    Value(String),
    /// Nothing recorded.
    Blank,
    /// Recorded or not, the reader may not see it.
    Withheld,
}

impl Shown {
    /// The text printed for it.
    pub fn text(&self) -> &str {
        match self {
            Shown::Value(v) => v,
            Shown::Blank => "",
            Shown::Withheld => WITHHELD,
        }
    }
}

/// Printed in place of a value the reader may not see.
pub const WITHHELD: &str = "(không có quyền xem)";

impl Resume {
    /// Every field of an unfiltered view, sealed values left out as withheld
    /// (the read model holds no keys): what a reader cleared for general
    /// fields only would be shown. The API fills its own from the filtered
    /// read instead.
    pub fn from_view(view: &DossierView, printed_on: NaiveDate) -> Self {
        let mut fields = BTreeMap::new();
        let mut withheld = BTreeSet::new();
        for (section, entries) in &view.sections {
            for f in entries {
                if f.sealed.is_some() {
                    withheld.insert(format!("{section}/{}", f.field));
                } else {
                    fields.insert((f.field.clone(), f.row), f.value.clone());
                }
            }
        }
        if !view.person_id_sealed.is_empty() {
            withheld.insert("person_id".to_owned());
        }
        Resume {
            dossier_id: view.id.clone(),
            revision: view.revision,
            full_name: view.full_name.clone(),
            person_id: None,
            managing_unit: view.managing_unit.clone(),
            employing_unit: view.employing_unit.clone(),
            fields,
            pending_sections: view.pending.keys().cloned().collect(),
            rank: view.rank.clone(),
            salary: view.salary.clone(),
            positions: view.positions.clone(),
            awards: view.awards.clone(),
            discipline: Some(view.discipline.clone()),
            withheld: withheld.into_iter().collect(),
            as_of: view.as_of.clone(),
            known_at: view.known_at.clone(),
            printed_on,
        }
    }

    /// Whether a field code or fact name is withheld from this reader.
    pub fn is_withheld(&self, code: &str) -> bool {
        self.withheld
            .iter()
            .any(|w| w == code || w.rsplit_once('/').is_some_and(|(_, f)| f == code))
    }

    /// A field of a plain section (row 0).
    pub fn field(&self, code: &str) -> Shown {
        self.cell(code, 0)
    }

    /// A field in a table row.
    pub fn cell(&self, code: &str, row: u32) -> Shown {
        match self.fields.get(&(code.to_owned(), row)) {
            Some(v) if !v.trim().is_empty() => Shown::Value(v.clone()),
            _ if self.is_withheld(code) => Shown::Withheld,
            _ => Shown::Blank,
        }
    }

    /// The table rows (1, 2, …) that hold any of these fields, in order.
    pub fn rows(&self, codes: &[&str]) -> Vec<u32> {
        let rows: BTreeSet<u32> = self
            .fields
            .keys()
            .filter(|(f, r)| *r > 0 && codes.contains(&f.as_str()))
            .map(|(_, r)| *r)
            .collect();
        rows.into_iter().collect()
    }

    /// Whether any of these table fields is withheld from this reader.
    pub fn table_withheld(&self, codes: &[&str]) -> bool {
        codes.iter().any(|c| self.is_withheld(c))
    }
}

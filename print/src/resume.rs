//! What is printed: one reader's view of a dossier at one date.
//!
//! The caller fills a [`Resume`] from what that reader may see: the API from
//! the filtered dossier view its JSON read returns. A value the reader may not
//! see is absent and named in `withheld`, so the form can say "withheld"
//! where the JSON read leaves the field out, instead of printing a blank that
//! would read as "nothing declared".

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use hoso_projections::views::{Dated, Rank, Salary};

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
    /// Discipline (the form as the API spells it, effective date); `None`
    /// when withheld.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn resume() -> Resume {
        let fields = [
            (("1", 0), "TRẦN VĂN DŨNG"),
            (("2", 0), "  "),
            (("27.c1", 2), "Học viện Hành chính"),
            (("27.c5", 3), "Cử nhân"),
        ]
        .into_iter()
        .map(|((f, r), v)| ((f.to_owned(), r), v.to_owned()))
        .collect();
        Resume {
            dossier_id: "d".to_owned(),
            revision: 7,
            full_name: "Trần Văn Dũng".to_owned(),
            person_id: None,
            managing_unit: "Sở Nội vụ".to_owned(),
            employing_unit: "Sở Nội vụ".to_owned(),
            fields,
            pending_sections: Vec::new(),
            rank: None,
            salary: None,
            positions: Vec::new(),
            awards: Vec::new(),
            discipline: None,
            withheld: vec!["identity/25a".to_owned(), "person_id".to_owned()],
            as_of: None,
            known_at: None,
            printed_on: NaiveDate::default(),
        }
    }

    #[test]
    fn values_blanks_and_withheld_items_are_told_apart() {
        let r = resume();
        assert_eq!(r.field("1"), Shown::Value("TRẦN VĂN DŨNG".to_owned()));
        assert_eq!(r.field("2"), Shown::Blank, "blank text is nothing declared");
        assert_eq!(r.field("25a"), Shown::Withheld);
        assert_eq!(r.field("25a").text(), WITHHELD);
        assert!(r.is_withheld("person_id"));
        assert!(!r.is_withheld("25b"));
        assert_eq!(r.field("25b"), Shown::Blank);
    }

    #[test]
    fn table_rows_are_the_rows_holding_any_of_its_fields() {
        let r = resume();
        assert_eq!(r.rows(&["27.c1", "27.c5"]), [2, 3]);
        assert_eq!(r.rows(&["28.c1"]), Vec::<u32>::new());
        assert_eq!(r.cell("27.c1", 2).text(), "Học viện Hành chính");
        assert_eq!(r.cell("27.c1", 3), Shown::Blank);
        assert!(!r.table_withheld(&["27.c1", "27.c5"]));
    }
}

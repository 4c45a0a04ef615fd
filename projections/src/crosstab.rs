//! Statistics by any two dimensions: the active people of a unit's subtree
//! counted by a row dimension against a column dimension (cross-tab), with
//! labelled rows and columns and their totals.
//!
//! A person is counted once, in the subtree of the unit that manages their
//! dossier (its managing unit, form item H1), with the tree of the date and
//! the people as the read model stands — the same people and the same keys
//! as the one-dimension headcount ([`ReadModel::headcount`] is the
//! cross-tab's margin), so the two never disagree.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hoso_schemas::Spelling;
use hoso_schemas::pb::common::PersonnelCategory;
use serde::Serialize;

use crate::dates::date_text;
use crate::views::{Dimension, age_band};
use crate::{ProjectionError, ReadModel};

/// The key of a value nobody declared.
pub const UNKNOWN: &str = "unknown";

/// Age bands in their natural order.
const AGE_BANDS: [&str; 5] = ["under 30", "30-39", "40-49", "50-59", "60 and over"];

/// Professional qualification levels (trình độ chuyên môn) as the quality
/// report counts them: key, Vietnamese name, the words that name the level
/// at the start of item 15.2 (folded: no diacritics, lower case).
const QUALIFICATIONS: [(&str, &str, &[&str]); 7] = [
    ("doctorate", "Tiến sĩ", &["tien si", "tskh"]),
    ("master", "Thạc sĩ", &["thac si"]),
    (
        "university",
        "Đại học",
        &[
            "dai hoc",
            "cu nhan",
            "ky su",
            "bac si",
            "duoc si",
            "kien truc su",
        ],
    ),
    ("college", "Cao đẳng", &["cao dang"]),
    ("intermediate", "Trung cấp", &["trung cap"]),
    ("elementary", "Sơ cấp", &["so cap"]),
    ("other", "Khác", &[]),
];

/// Every key of a dimension whose values are a closed list (age bands,
/// qualification levels), `unknown` last, each with its name; `None` for an
/// open dimension.
pub fn closed_keys(by: Dimension) -> Option<Vec<(&'static str, Option<&'static str>)>> {
    let mut keys: Vec<(&'static str, Option<&'static str>)> = match by {
        Dimension::AgeBand => AGE_BANDS.iter().map(|b| (*b, None)).collect(),
        Dimension::Qualification => QUALIFICATIONS
            .iter()
            .map(|(k, n, _)| (*k, Some(*n)))
            .collect(),
        _ => return None,
    };
    keys.push((UNKNOWN, None));
    Some(keys)
}

/// What the statistics read of one active person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Personnel category (protobuf number).
    pub category: i32,
    /// Rank or professional title code.
    pub rank_code: Option<String>,
    /// Its name.
    pub rank_name: Option<String>,
    /// Job position held.
    pub job_position: Option<String>,
    /// Sex as declared (item 3b).
    pub gender: Option<String>,
    /// Year of birth (item 3a).
    pub birth_year: Option<i64>,
    /// Ethnicity (item 6).
    pub ethnicity: Option<String>,
    /// General education (item 15.1).
    pub education: Option<String>,
    /// Professional qualification as declared (item 15.2).
    pub qualification: Option<String>,
    /// Party member (item 16a declared).
    pub party_member: bool,
    /// Managing unit.
    pub managing_unit: String,
}

impl Person {
    /// Whether the code is a professional title of public employees (`V.`).
    fn is_title(&self) -> bool {
        self.rank_code
            .as_deref()
            .is_some_and(|c| c.starts_with("V."))
    }
}

/// The qualification level item 15.2 names (e.g. `Thạc sĩ Quản lý công`
/// → `master`), `other` when it names none of them.
pub fn qualification_level(declared: &str) -> &'static str {
    let folded = hoso_domain::text::fold(declared.trim());
    QUALIFICATIONS
        .iter()
        .find(|(_, _, words)| words.iter().any(|w| folded.starts_with(w)))
        .map_or("other", |(key, _, _)| key)
}

/// The key a person falls under in a dimension on `date`.
pub fn key_of(p: &Person, by: Dimension, date: NaiveDate) -> String {
    let known = |v: &Option<String>| v.clone().unwrap_or_else(|| UNKNOWN.to_owned());
    match by {
        Dimension::Category => match PersonnelCategory::try_from(p.category) {
            Ok(c) if c != PersonnelCategory::Unspecified => c.spelling(),
            _ => UNKNOWN.to_owned(),
        },
        Dimension::Rank if !p.is_title() => known(&p.rank_code),
        Dimension::Title if p.is_title() => known(&p.rank_code),
        Dimension::Rank | Dimension::Title => UNKNOWN.to_owned(),
        Dimension::JobPosition => known(&p.job_position),
        Dimension::Gender => known(&p.gender),
        Dimension::AgeBand => age_band(p.birth_year, date).to_owned(),
        Dimension::Ethnicity => known(&p.ethnicity),
        Dimension::Education => known(&p.education),
        Dimension::Qualification => p
            .qualification
            .as_deref()
            .map_or(UNKNOWN, qualification_level)
            .to_owned(),
        Dimension::PartyMember => if p.party_member {
            "member"
        } else {
            "not_member"
        }
        .to_owned(),
        Dimension::Unit => p.managing_unit.clone(),
    }
}

/// People counted by one dimension.
pub fn tally(people: &[Person], by: Dimension, date: NaiveDate) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for p in people {
        *out.entry(key_of(p, by, date)).or_insert(0) += 1;
    }
    out
}

/// Where a key sorts in its dimension: bands and levels in their natural
/// order, other keys alphabetically, `unknown` last.
fn order(by: Dimension, key: &str) -> (usize, String) {
    let rank = match by {
        Dimension::AgeBand => AGE_BANDS.iter().position(|b| *b == key),
        Dimension::Qualification => QUALIFICATIONS.iter().position(|(k, _, _)| *k == key),
        _ => None,
    };
    match (rank, key) {
        (_, UNKNOWN) => (usize::MAX, String::new()),
        (Some(r), _) => (r, String::new()),
        (None, _) => (0, key.to_owned()),
    }
}

/// One column of a cross-tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Column {
    /// The value (a code, a declared value, or `unknown`).
    pub key: String,
    /// Its name, where the key is a code (rank, title, unit, qualification).
    pub name: Option<String>,
    /// People in the column.
    pub total: u64,
}

/// One row of a cross-tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Row {
    /// The value (a code, a declared value, or `unknown`).
    pub key: String,
    /// Its name, where the key is a code.
    pub name: Option<String>,
    /// People in each column, in the order of `columns`.
    pub counts: Vec<u64>,
    /// People in the row.
    pub total: u64,
}

/// Headcount of a subtree on a date by two dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrossTab {
    /// Root unit.
    pub org_code: String,
    /// Date of the tree.
    pub date: String,
    /// Dimension of the rows.
    pub rows_by: Dimension,
    /// Dimension of the columns.
    pub columns_by: Dimension,
    /// Columns, with their totals.
    pub columns: Vec<Column>,
    /// Rows, with their cells and totals.
    pub rows: Vec<Row>,
    /// Active people in the subtree.
    pub total: u64,
}

/// Counts `people` by `rows` against `columns`; `name` names a key of a
/// dimension where it has a name.
pub fn cross(
    people: &[Person],
    rows_by: Dimension,
    columns_by: Dimension,
    date: NaiveDate,
    name: impl Fn(Dimension, &str) -> Option<String>,
) -> (Vec<Row>, Vec<Column>) {
    let mut cells: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut row_keys: BTreeMap<String, u64> = BTreeMap::new();
    let mut col_keys: BTreeMap<String, u64> = BTreeMap::new();
    for p in people {
        let (r, c) = (key_of(p, rows_by, date), key_of(p, columns_by, date));
        *row_keys.entry(r.clone()).or_insert(0) += 1;
        *col_keys.entry(c.clone()).or_insert(0) += 1;
        *cells.entry((r, c)).or_insert(0) += 1;
    }
    let sorted = |by: Dimension, keys: BTreeMap<String, u64>| {
        let mut v: Vec<(String, u64)> = keys.into_iter().collect();
        v.sort_by_key(|(k, _)| order(by, k));
        v
    };
    let col_keys = sorted(columns_by, col_keys);
    let rows = sorted(rows_by, row_keys)
        .into_iter()
        .map(|(key, total)| Row {
            counts: col_keys
                .iter()
                .map(|(c, _)| cells.get(&(key.clone(), c.clone())).copied().unwrap_or(0))
                .collect(),
            name: name(rows_by, &key),
            key,
            total,
        })
        .collect();
    let columns = col_keys
        .into_iter()
        .map(|(key, total)| Column {
            name: name(columns_by, &key),
            key,
            total,
        })
        .collect();
    (rows, columns)
}

impl ReadModel {
    /// The active people managed in the subtree of `code` on `date`, as the
    /// read model stands; none if the unit does not exist that day.
    pub fn people_of(&self, code: &str, date: NaiveDate) -> Result<Vec<Person>, ProjectionError> {
        let units = self.subtree(code, date)?;
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT category, rank_code, rank_name, job_position, gender, birth_year,
                        ethnicity, education, qualification, party_member, managing_unit
                 FROM dossiers WHERE managing_unit = ?1 AND archived = 0",
            )?;
            let mut out = Vec::new();
            for unit in &units {
                let rows = stmt.query_map([unit], |r| {
                    Ok(Person {
                        category: r.get(0)?,
                        rank_code: r.get(1)?,
                        rank_name: r.get(2)?,
                        job_position: r.get(3)?,
                        gender: r.get(4)?,
                        birth_year: r.get(5)?,
                        ethnicity: r.get(6)?,
                        education: r.get(7)?,
                        qualification: r.get(8)?,
                        party_member: r.get(9)?,
                        managing_unit: r.get(10)?,
                    })
                })?;
                for p in rows {
                    out.push(p?);
                }
            }
            Ok(out)
        })
    }

    /// Headcount of the subtree of `code` on `date` by `rows` against
    /// `columns`. Its row totals are [`ReadModel::headcount`] by `rows`, its
    /// column totals the headcount by `columns`.
    pub fn crosstab(
        &self,
        code: &str,
        date: NaiveDate,
        rows_by: Dimension,
        columns_by: Dimension,
    ) -> Result<CrossTab, ProjectionError> {
        let people = self.people_of(code, date)?;
        let units: BTreeMap<String, String> = self
            .tree_at(date)?
            .into_iter()
            .map(|n| (n.code, n.name))
            .collect();
        let ranks: BTreeMap<&str, &str> = people
            .iter()
            .filter_map(|p| Some((p.rank_code.as_deref()?, p.rank_name.as_deref()?)))
            .collect();
        let name = |by: Dimension, key: &str| -> Option<String> {
            match by {
                Dimension::Rank | Dimension::Title => ranks.get(key).map(|n| (*n).to_owned()),
                Dimension::Unit => units.get(key).cloned(),
                Dimension::Qualification => QUALIFICATIONS
                    .iter()
                    .find(|(k, _, _)| *k == key)
                    .map(|(_, n, _)| (*n).to_owned()),
                _ => None,
            }
        };
        let (rows, columns) = cross(&people, rows_by, columns_by, date, name);
        Ok(CrossTab {
            org_code: code.to_owned(),
            date: date_text(date),
            rows_by,
            columns_by,
            total: people.len() as u64,
            columns,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    fn person(i: u32) -> Person {
        let pick = |options: &[&str]| Some(options[i as usize % options.len()].to_owned());
        Person {
            category: [1, 2, 3][i as usize % 3],
            rank_code: pick(&["01.003", "V.07.04.32", "06.031", "V.08.05.13"]),
            rank_name: pick(&["Chuyên viên", "Giáo viên", "Kế toán viên", "Điều dưỡng"]),
            job_position: (!i.is_multiple_of(5))
                .then(|| pick(&["Chuyên viên", "Kế toán"]))
                .flatten(),
            gender: pick(&["Nam", "Nữ"]),
            birth_year: (!i.is_multiple_of(7)).then_some(1960 + i64::from(i % 40)),
            ethnicity: pick(&["Kinh", "Tày", "Mường"]),
            education: Some("12/12".to_owned()),
            qualification: pick(&["Thạc sĩ Luật", "Đại học Sư phạm", "Cao đẳng Y"]),
            party_member: i.is_multiple_of(4),
            managing_unit: format!("00{}.01.00.H33", i % 3),
        }
    }

    #[test]
    fn the_crosstab_totals_are_the_one_dimension_headcounts() {
        let people: Vec<Person> = (0..97).map(person).collect();
        let on = d(2026, 6, 30);
        for rows_by in Dimension::ALL {
            for columns_by in Dimension::ALL {
                let (rows, columns) = cross(&people, rows_by, columns_by, on, |_, _| None);
                let by_rows: BTreeMap<String, u64> =
                    rows.iter().map(|r| (r.key.clone(), r.total)).collect();
                let by_cols: BTreeMap<String, u64> =
                    columns.iter().map(|c| (c.key.clone(), c.total)).collect();
                assert_eq!(by_rows, tally(&people, rows_by, on), "{rows_by:?}");
                assert_eq!(by_cols, tally(&people, columns_by, on), "{columns_by:?}");
                for r in &rows {
                    assert_eq!(r.counts.iter().sum::<u64>(), r.total);
                }
                for (i, c) in columns.iter().enumerate() {
                    assert_eq!(rows.iter().map(|r| r.counts[i]).sum::<u64>(), c.total);
                }
                assert_eq!(rows.iter().map(|r| r.total).sum::<u64>(), 97);
            }
        }
    }

    #[test]
    fn bands_and_levels_keep_their_natural_order_and_unknown_comes_last() {
        let people: Vec<Person> = (0..97).map(person).collect();
        let (rows, columns) = cross(
            &people,
            Dimension::AgeBand,
            Dimension::Qualification,
            d(2026, 6, 30),
            |_, _| None,
        );
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "under 30",
                "30-39",
                "40-49",
                "50-59",
                "60 and over",
                UNKNOWN
            ],
            "{keys:?}"
        );
        let levels: Vec<&str> = columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(levels, ["master", "university", "college"]);
    }

    #[test]
    fn a_qualification_is_classified_by_the_level_it_starts_with() {
        assert_eq!(qualification_level("Thạc sĩ Quản lý công"), "master");
        assert_eq!(qualification_level("  Tiến sĩ Y học"), "doctorate");
        assert_eq!(qualification_level("Cử nhân Luật"), "university");
        assert_eq!(qualification_level("Bác sĩ đa khoa"), "university");
        assert_eq!(qualification_level("Trung cấp Điều dưỡng"), "intermediate");
        assert_eq!(qualification_level("Chứng chỉ tin học"), "other");
    }

    #[test]
    fn rank_and_title_split_the_codes_and_each_person_is_unknown_in_one() {
        let p = person(1);
        assert_eq!(p.rank_code.as_deref(), Some("V.07.04.32"));
        assert_eq!(key_of(&p, Dimension::Title, d(2026, 1, 1)), "V.07.04.32");
        assert_eq!(key_of(&p, Dimension::Rank, d(2026, 1, 1)), UNKNOWN);
        let none = Person::default();
        assert_eq!(
            key_of(&none, Dimension::JobPosition, d(2026, 1, 1)),
            UNKNOWN
        );
        assert_eq!(key_of(&none, Dimension::Category, d(2026, 1, 1)), UNKNOWN);
        assert_eq!(
            key_of(&none, Dimension::PartyMember, d(2026, 1, 1)),
            "not_member"
        );
    }
}

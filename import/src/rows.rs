//! From a read [`Table`] to the records to import: the header matched to
//! the format's columns, then every row checked on its own — every value
//! through the input rules the API applies (`hoso_domain::input`), dates,
//! the category, the managing unit in the organisation tree, the form's
//! sections and their required items (`hoso_domain::form`) — collecting
//! every problem of every row, not stopping at the first.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hoso_domain::form::{self, FormError};
use hoso_domain::input;
use hoso_domain::org::{OrgTree, UnitLookup};
use hoso_domain::person_id::{self, PersonIdProblem};
use hoso_domain::text::fold;
use hoso_schemas::Spelling;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::FieldEntry;
use serde::Serialize;

use crate::columns::{self, COLUMNS, Column, Target};
use crate::read::Table;

/// One problem of one row (or of the header, row of the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The row number a spreadsheet shows.
    pub row: u32,
    /// The column's machine key, when the problem is one value's.
    pub column: Option<String>,
    /// The rule broken, `family:code` (`input:too-long`, `import:required`,
    /// `form:missing-field`, `dossier:…`, `scope:…`).
    pub rule: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(row: u32, column: Option<&Column>, rule: &str, message: String) -> Self {
        Self {
            row,
            column: column.map(|c| c.key.to_owned()),
            rule: rule.to_owned(),
            message,
        }
    }
}

/// The file's columns matched to the format's.
#[derive(Debug, Clone)]
pub struct Layout {
    /// For each column of the file, the format's column it is.
    by_position: Vec<Option<&'static Column>>,
    /// Headers the format does not know, ignored.
    pub ignored: Vec<String>,
}

/// Matches the header row; a missing required column or a column given
/// twice is a problem of the header's row.
pub fn layout(table: &Table) -> Result<Layout, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_position = Vec::with_capacity(table.headers.len());
    let mut ignored = Vec::new();
    for (i, h) in table.headers.iter().enumerate() {
        let column = columns::find(h);
        match column {
            Some(c) => {
                if seen.insert(c.key, i).is_some() {
                    problems.push(Problem::new(
                        table.header_row,
                        Some(c),
                        "import:duplicate-column",
                        format!("column {:?} ({}) is given twice", c.header, c.key),
                    ));
                }
            }
            None if h.trim().is_empty() => {}
            None => ignored.push(h.clone()),
        }
        by_position.push(column);
    }
    for c in COLUMNS
        .iter()
        .filter(|c| c.required || is_identity_required(c))
    {
        if !seen.contains_key(c.key) {
            problems.push(Problem::new(
                table.header_row,
                Some(c),
                "import:missing-column",
                format!("the file has no column {:?} ({})", c.header, c.key),
            ));
        }
    }
    if problems.is_empty() {
        Ok(Layout {
            by_position,
            ignored,
        })
    } else {
        Err(problems)
    }
}

/// Items of the identity section every dossier has (date of birth, sex):
/// required as columns since the section always is.
fn is_identity_required(c: &Column) -> bool {
    matches!(c.target, Target::Field("identity", f) if form::section("identity").is_some_and(|s| s.required.contains(&f)))
}

/// A row that passed every check of its own: what to import.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its row number.
    pub row: u32,
    /// Its id in the exporting software.
    pub record_id: String,
    /// Identification number.
    pub person_id: String,
    /// Name.
    pub full_name: String,
    /// Category.
    pub category: PersonnelCategory,
    /// Managing unit.
    pub managing_unit: String,
    /// Handover date, if the file gives one.
    pub handed_over_on: Option<NaiveDate>,
    /// Form sections in form order.
    pub sections: Vec<(String, Vec<FieldEntry>)>,
    /// Every non-empty value, cleaned, by column key in format order: what
    /// the record's content digest covers.
    pub values: Vec<(&'static str, String)>,
}

/// The categories a row may name, as HR software writes them, and the
/// API's spelling (`cong_chuc`).
const CATEGORIES: &[(&str, PersonnelCategory)] = &[
    ("Cán bộ", PersonnelCategory::CanBo),
    ("Công chức", PersonnelCategory::CongChuc),
    ("Viên chức", PersonnelCategory::VienChuc),
    ("Người lao động", PersonnelCategory::NguoiLaoDong),
    ("Cán bộ, công chức cấp xã", PersonnelCategory::CommuneCadre),
];

fn category_of(value: &str) -> Option<PersonnelCategory> {
    let folded = fold(value.trim());
    CATEGORIES
        .iter()
        .find(|(name, c)| folded == fold(name) || folded == c.spelling())
        .map(|(_, c)| *c)
}

fn category_list() -> String {
    CATEGORIES
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A date as `dd/mm/yyyy` or `yyyy-mm-dd`, in the years the system keeps.
fn full_date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(value, "%Y-%m-%d"))
        .ok()
        .filter(|d| input::check_date(*d).is_ok())
}

fn person_id_message(p: &PersonIdProblem) -> String {
    // Not the number itself: the report is shown and saved.
    match p {
        PersonIdProblem::NotTwelveDigits(_) => {
            "not 12 digits (a number cell drops leading zeros: format the column as text)"
                .to_owned()
        }
        PersonIdProblem::UnknownProvince { code, .. } => {
            format!("starts with {code:03}, which is no province code")
        }
        PersonIdProblem::BirthYearMismatch { encoded, birth, .. } => {
            format!("encodes birth year {encoded}, but the date of birth is {birth}")
        }
    }
}

/// Checks one row: every problem of it, or the record it is.
pub fn check_row(
    row: u32,
    cells: &[String],
    layout: &Layout,
    org: &OrgTree,
    today: NaiveDate,
) -> Result<Record, Vec<Problem>> {
    let mut problems = Vec::new();
    // Cleaned values by column, in format order.
    let mut values: BTreeMap<usize, (&'static Column, String)> = BTreeMap::new();
    for (i, column) in layout.by_position.iter().enumerate() {
        let (Some(c), Some(raw)) = (column, cells.get(i)) else {
            continue;
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        match input::clean(raw, c.kind()) {
            Ok(v) => {
                let order = COLUMNS.iter().position(|x| x.key == c.key).unwrap_or(0);
                values.insert(order, (c, v));
            }
            Err(rule) => problems.push(Problem::new(
                row,
                Some(c),
                &format!("input:{}", rule.code()),
                rule.to_string(),
            )),
        }
    }
    let get = |target: Target| {
        values
            .values()
            .find(|(c, _)| c.target == target)
            .map(|(_, v)| v.clone())
    };
    let mut fact = |target: Target| -> Option<String> {
        let c = columns::of_target(target);
        let v = get(target);
        // A value refused by the input rules is reported already.
        let refused = problems.iter().any(|p| p.column.as_deref() == Some(c.key));
        if v.is_none() && c.required && !refused {
            problems.push(Problem::new(
                row,
                Some(c),
                "import:required",
                format!("{} ({}) is required", c.header, c.key),
            ));
        }
        v
    };
    let record_id = fact(Target::RecordId);
    let person_id = fact(Target::PersonId);
    let full_name = fact(Target::FullName);
    let category = fact(Target::Category);
    let unit = fact(Target::ManagingUnit);
    let handed_over = fact(Target::HandedOverOn);

    if let Some(pid) = &person_id
        && let Err(p) = person_id::validate(pid, None)
    {
        problems.push(Problem::new(
            row,
            Some(columns::of_target(Target::PersonId)),
            "dossier:bad-person-id",
            person_id_message(&p),
        ));
    }
    if let (Some(r), Some(p)) = (&record_id, &person_id)
        && r == p
    {
        problems.push(Problem::new(
            row,
            Some(columns::of_target(Target::RecordId)),
            "import:record-id-is-person-id",
            "the record id repeats the identification number, which must never be kept in clear: export the software's own record id".to_owned(),
        ));
    }
    let category = category.and_then(|v| {
        let c = category_of(&v);
        if c.is_none() {
            problems.push(Problem::new(
                row,
                Some(columns::of_target(Target::Category)),
                "import:unknown-category",
                format!("unknown category \"{v}\"; one of {}", category_list()),
            ));
        }
        c
    });
    if let Some(code) = &unit {
        let column = Some(columns::of_target(Target::ManagingUnit));
        match org.unit(code) {
            None => problems.push(Problem::new(
                row,
                column,
                "scope:unknown-unit",
                format!("no unit {code} in the organisation tree"),
            )),
            Some(u) if !u.is_active_at(today) => problems.push(Problem::new(
                row,
                column,
                "scope:unit-not-active",
                format!("unit {code} is not active on {today}"),
            )),
            Some(_) => {}
        }
    }
    let handed_over_on = handed_over.and_then(|v| {
        let column = Some(columns::of_target(Target::HandedOverOn));
        match full_date(&v) {
            Some(d) if d <= today => Some(d),
            Some(d) => {
                problems.push(Problem::new(
                    row,
                    column,
                    "import:date-in-future",
                    format!("{d} is after today {today}"),
                ));
                None
            }
            None => {
                problems.push(Problem::new(
                    row,
                    column,
                    "import:bad-date",
                    format!(
                        "\"{v}\" is not a date dd/mm/yyyy between {} and {}",
                        input::FIRST_YEAR,
                        input::LAST_YEAR
                    ),
                ));
                None
            }
        }
    });

    // Form items, by section in form order.
    let mut sections: BTreeMap<usize, Vec<FieldEntry>> = BTreeMap::new();
    let entry = |code: &str, value: String| FieldEntry {
        field_code: code.to_owned(),
        value,
        row: 0,
        sealed: Vec::new(),
    };
    let position = |section: &str| {
        form::SECTIONS
            .iter()
            .position(|s| s.code == section)
            .unwrap_or(usize::MAX)
    };
    for (c, v) in values.values() {
        let Target::Field(section, field) = c.target else {
            continue;
        };
        let mut value = v.clone();
        if c.is_date() && !form::is_form_date(&value) {
            problems.push(Problem::new(
                row,
                Some(c),
                "form:bad-value",
                format!("\"{value}\" is not a date (dd/mm/yyyy, mm/yyyy or yyyy)"),
            ));
            continue;
        }
        if field == "3b" {
            match fold(&value).as_str() {
                "nam" => value = "Nam".to_owned(),
                "nu" => value = "Nữ".to_owned(),
                _ => {
                    problems.push(Problem::new(
                        row,
                        Some(c),
                        "form:bad-value",
                        format!("sex must be \"Nam\" or \"Nữ\", not \"{value}\""),
                    ));
                    continue;
                }
            }
        }
        sections
            .entry(position(section))
            .or_default()
            .push(entry(field, value));
    }
    // The identity section is every dossier's: name and number come from
    // their own columns.
    let identity = sections.entry(position("identity")).or_default();
    if let Some(name) = &full_name {
        identity.insert(0, entry("1", name.clone()));
    }
    if let Some(pid) = &person_id {
        identity.push(entry("25a", pid.clone()));
    }
    for (&i, fields) in &sections {
        let Some(spec) = form::SECTIONS.get(i) else {
            continue;
        };
        for required in spec.required {
            let present = fields.iter().any(|f| f.field_code == *required);
            let column = columns::of_field(spec.code, required);
            let reported =
                column.is_some_and(|c| problems.iter().any(|p| p.column.as_deref() == Some(c.key)));
            if !present && !reported && !matches!(*required, "1" | "25a") {
                problems.push(Problem::new(
                    row,
                    column,
                    "form:missing-field",
                    format!(
                        "section {} ({}) needs {}",
                        spec.code,
                        spec.title,
                        column.map_or_else(
                            || format!("item {required}"),
                            |c| format!("{} ({})", c.header, c.key)
                        )
                    ),
                ));
            }
        }
    }
    let pid_for_form = person_id.clone().unwrap_or_default();
    let sections: Vec<(String, Vec<FieldEntry>)> = sections
        .into_iter()
        .filter_map(|(i, fields)| form::SECTIONS.get(i).map(|s| (s.code.to_owned(), fields)))
        .collect();
    if problems.is_empty() {
        // The form's own check, the decider's, as the last word.
        for (code, fields) in &sections {
            if let Err(e) = form::validate_section(code, fields, &pid_for_form) {
                problems.push(form_problem(row, code, &e));
            }
        }
    }
    match (record_id, person_id, full_name, category, unit) {
        (
            Some(record_id),
            Some(person_id),
            Some(full_name),
            Some(category),
            Some(managing_unit),
        ) if problems.is_empty() => Ok(Record {
            row,
            record_id,
            person_id,
            full_name,
            category,
            managing_unit,
            handed_over_on,
            sections,
            values: values.into_values().map(|(c, v)| (c.key, v)).collect(),
        }),
        _ => Err(problems),
    }
}

/// A form rule's problem, on the column of the field it names.
pub(crate) fn form_problem(row: u32, section: &str, e: &FormError) -> Problem {
    let (field, code) = match e {
        FormError::UnknownSection(_) => (None, "unknown-section"),
        FormError::FieldOutsideSection { field, .. } => (Some(field), "field-outside-section"),
        FormError::BadRow { field, .. } => (Some(field), "bad-row"),
        FormError::DuplicateField { field, .. } => (Some(field), "duplicate-field"),
        FormError::MissingField { field, .. } => (Some(field), "missing-field"),
        FormError::BadValue { field, .. } => (Some(field), "bad-value"),
        FormError::Empty(_) => (None, "empty-section"),
    };
    let column = field.and_then(|f| columns::of_field(section, f));
    Problem::new(row, column, &format!("form:{code}"), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(header: &str, row: &str) -> Table {
        crate::read::read_csv(format!("{header}\n{row}\n").as_bytes()).unwrap()
    }

    const HEADER: &str =
        "ma_ho_so,ho_ten,so_dinh_danh,ngay_sinh,gioi_tinh,doi_tuong,ma_don_vi,ngay_ban_giao,ngach";

    fn check(row: &str) -> Result<Record, Vec<Problem>> {
        let t = table(HEADER, row);
        let l = layout(&t).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        check_row(t.rows[0].0, &t.rows[0].1, &l, &OrgTree::default(), today)
    }

    fn found(problems: &[Problem]) -> Vec<(Option<&str>, &str)> {
        problems
            .iter()
            .map(|p| (p.column.as_deref(), p.rule.as_str()))
            .collect()
    }

    #[test]
    fn missing_columns_and_a_column_twice_are_header_problems() {
        let t = table("ma_ho_so,Mã hồ sơ,ho_ten", "a,b,c");
        let problems = layout(&t).unwrap_err();
        let rules: Vec<&str> = problems.iter().map(|p| p.rule.as_str()).collect();
        assert_eq!(rules[0], "import:duplicate-column");
        assert!(rules[1..].iter().all(|r| *r == "import:missing-column"));
        assert!(problems.iter().all(|p| p.row == 1));
        // so_dinh_danh, ngay_sinh, gioi_tinh, doi_tuong, ma_don_vi
        assert_eq!(problems.len(), 6);
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let problems = check(
            "001090001234,NGUYỄN\u{200B}AN,001090001234,31/02/1990,nam giới,Hợp đồng,999.00.00.H33,01/01/2027,Chuyên viên",
        )
        .unwrap_err();
        assert_eq!(
            found(&problems),
            [
                (Some("ho_ten"), "input:invisible-character"),
                (Some("ma_ho_so"), "import:record-id-is-person-id"),
                (Some("doi_tuong"), "import:unknown-category"),
                (Some("ma_don_vi"), "scope:unknown-unit"),
                (Some("ngay_ban_giao"), "import:date-in-future"),
                (Some("ngay_sinh"), "form:bad-value"),
                (Some("gioi_tinh"), "form:bad-value"),
                (Some("ma_ngach"), "form:missing-field"),
            ]
        );
        assert!(problems.iter().all(|p| p.row == 2));
    }

    #[test]
    fn required_values_and_a_bad_number() {
        let problems = check(",,12345,,,,,,").unwrap_err();
        assert_eq!(
            found(&problems),
            [
                (Some("ma_ho_so"), "import:required"),
                (Some("ho_ten"), "import:required"),
                (Some("doi_tuong"), "import:required"),
                (Some("ma_don_vi"), "import:required"),
                (Some("so_dinh_danh"), "dossier:bad-person-id"),
                (Some("ngay_sinh"), "form:missing-field"),
                (Some("gioi_tinh"), "form:missing-field"),
            ]
        );
        // The report does not repeat the number.
        assert!(!problems[4].message.contains("12345"));
    }

    #[test]
    fn categories_by_name_or_api_spelling() {
        assert_eq!(category_of("CÔNG CHỨC"), Some(PersonnelCategory::CongChuc));
        assert_eq!(category_of("vien_chuc"), Some(PersonnelCategory::VienChuc));
        assert_eq!(
            category_of("Cán bộ, công chức cấp xã"),
            Some(PersonnelCategory::CommuneCadre)
        );
        assert_eq!(category_of("Hợp đồng"), None);
    }
}

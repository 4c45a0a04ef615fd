//! The résumé form a dossier is declared on: its sections and the field codes
//! each section holds, and the checks a declared section must pass.
//!
//! Sections follow Mẫu 2C-BNV/2008 (item numbers of
//! `domain/data/field_catalog.tsv`) plus the additions of the newer
//! 2C variant (mobile number, appointment dates, date joined the agency,
//! social-media accounts, pre-recruitment history), which carry an `n.`
//! prefix because their numbering clashes with 2008's. A section is declared
//! whole, never field by field, so a review always sees one coherent section.

use std::collections::BTreeSet;

use hoso_schemas::pb::dossier::FieldEntry;

/// Longest value of any form field, in characters (the field catalogue's
/// free-text items are the longest).
pub const MAX_VALUE_CHARS: usize = 2_000;

/// Form template name recorded in every declaration.
pub const FORM_2C: &str = "2C-BNV/2008";

/// One section of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionSpec {
    /// Stable code used in events and the API, e.g. `"identity"`.
    pub code: &'static str,
    /// Vietnamese heading as on the form.
    pub title: &'static str,
    /// Field codes the section may hold.
    pub fields: &'static [&'static str],
    /// Fields that must be present (non-empty) whenever the section is declared.
    pub required: &'static [&'static str],
    /// A table section (training, career, family, salary history): fields
    /// carry a row number from 1; other sections use row 0.
    pub table: bool,
}

/// Every section, in form order.
pub const SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        code: "identity",
        title: "Sơ yếu lý lịch: nhân thân",
        fields: &[
            "1", "2", "3a", "3b", "4", "5", "6", "7", "25a", "25b", "H3", "H4",
        ],
        required: &["1", "3a", "3b", "25a"],
        table: false,
    },
    SectionSpec {
        code: "residence",
        title: "Nơi thường trú, chỗ ở hiện nay",
        fields: &["8", "9", "n.7"],
        required: &["8"],
        table: false,
    },
    SectionSpec {
        code: "recruitment",
        title: "Tuyển dụng, chức vụ, công việc",
        fields: &["10", "11a", "11b", "12", "13", "n.13", "n.17"],
        required: &["11a", "11b"],
        table: false,
    },
    SectionSpec {
        code: "rank_salary",
        title: "Ngạch, bậc, hệ số lương, phụ cấp",
        fields: &["14a", "14b", "14c", "14d", "14e", "14f", "14g"],
        required: &["14a", "14b"],
        table: false,
    },
    SectionSpec {
        code: "education",
        title: "Trình độ",
        fields: &["15.1", "15.2", "15.3", "15.4", "15.5", "15.6"],
        required: &["15.1"],
        table: false,
    },
    SectionSpec {
        code: "party_military",
        title: "Đảng, đoàn thể, quân ngũ",
        fields: &["16a", "16b", "17", "18a", "18b", "18c"],
        required: &[],
        table: false,
    },
    SectionSpec {
        code: "honours",
        title: "Danh hiệu, sở trường, khen thưởng, kỷ luật",
        fields: &["19", "20", "21", "22"],
        required: &[],
        table: false,
    },
    SectionSpec {
        code: "health",
        title: "Sức khỏe, chính sách",
        fields: &["23a", "23b", "23c", "23d", "24a", "24b", "26"],
        required: &[],
        table: false,
    },
    SectionSpec {
        code: "training",
        title: "Đào tạo, bồi dưỡng (mục 27)",
        fields: &["27.c1", "27.c2", "27.c3", "27.c4", "27.c5"],
        required: &["27.c1", "27.c5"],
        table: true,
    },
    SectionSpec {
        code: "career",
        title: "Tóm tắt quá trình công tác (mục 28)",
        fields: &["28.c1", "28.c2"],
        required: &["28.c1", "28.c2"],
        table: true,
    },
    SectionSpec {
        code: "history",
        title: "Đặc điểm lịch sử bản thân (mục 29)",
        fields: &["29a", "29b", "29c"],
        required: &[],
        table: false,
    },
    SectionSpec {
        code: "family",
        title: "Quan hệ gia đình (mục 30)",
        fields: &["30.c1", "30.c2", "30.c3", "30.c4"],
        required: &["30.c1", "30.c2"],
        table: true,
    },
    SectionSpec {
        code: "salary_history",
        title: "Diễn biến quá trình lương (mục 31)",
        fields: &["31.r1", "31.r2", "31.r3"],
        required: &["31.r1", "31.r2", "31.r3"],
        table: true,
    },
    SectionSpec {
        code: "pre_recruitment",
        title: "Quá trình trước khi tuyển dụng (mẫu 2C mới, T0)",
        fields: &["T0.c1", "T0.c2"],
        required: &["T0.c1", "T0.c2"],
        table: true,
    },
    SectionSpec {
        code: "social_media",
        title: "Tài khoản mạng xã hội (mẫu 2C mới, mục 25)",
        fields: &["n.25"],
        required: &["n.25"],
        table: false,
    },
];

/// Sections a new dossier must have declared before its first review can
/// verify it: who the person is and how they were recruited.
pub const REQUIRED_FOR_FIRST_APPROVAL: &[&str] = &["identity", "recruitment"];

/// The section with this code.
pub fn section(code: &str) -> Option<&'static SectionSpec> {
    SECTIONS.iter().find(|s| s.code == code)
}

/// The Vietnamese label of a field code as the form prints it: an item of
/// Mẫu 2C-BNV/2008, or with the `n.` prefix an item of the newer 2C variant
/// (`domain/data/field_catalog.tsv`, embedded). `None` for a code neither has.
pub fn field_label(code: &str) -> Option<&'static str> {
    static LABELS: std::sync::OnceLock<std::collections::HashMap<String, &'static str>> =
        std::sync::OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for line in include_str!("../data/field_catalog.tsv").lines().skip(1) {
            let mut cols = line.split('\t');
            let (Some(form), Some(item), Some(label)) = (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            let key = match form {
                FORM_2C => item.to_owned(),
                f if f.starts_with("2C newer variant") => format!("n.{item}"),
                _ => continue,
            };
            m.entry(key).or_insert(label);
        }
        m
    });
    labels.get(code).copied()
}

/// [`field_label`], or for a table column without a label of its own
/// (`T0.c1`: the newer variant's pre-recruitment history, whose catalogue item
/// names its columns only in words) its table's label and column number.
pub fn field_label_or_column(code: &str) -> Option<String> {
    if let Some(l) = field_label(code) {
        return Some(l.to_owned());
    }
    let (table, column) = code.rsplit_once(".c")?;
    let table_label = field_label(table).or_else(|| field_label(&format!("n.{table}")))?;
    Some(format!("{table_label} — cột {column}"))
}

/// Why a declared section does not fit the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// No such section.
    #[error(
        "unknown section \"{0}\"; valid sections: {valid}",
        valid = SECTIONS.iter().map(|s| s.code).collect::<Vec<_>>().join(", ")
    )]
    UnknownSection(String),
    /// A field that does not belong to the section.
    #[error(
        "field \"{field}\" does not belong to section {section}; its fields: {}",
        self::section(section).map(|s| s.fields.join(", ")).unwrap_or_default()
    )]
    FieldOutsideSection {
        /// Section code.
        section: String,
        /// Field code.
        field: String,
    },
    /// A table row number on a plain section, or row 0 in a table.
    #[error("field {field:?} of section {section} has row {row}; {expected}")]
    BadRow {
        /// Section code.
        section: String,
        /// Field code.
        field: String,
        /// Row given.
        row: u32,
        /// What was expected.
        expected: &'static str,
    },
    /// The same field (and row) twice.
    #[error("field {field:?} row {row} of section {section} is declared twice")]
    DuplicateField {
        /// Section code.
        section: String,
        /// Field code.
        field: String,
        /// Row.
        row: u32,
    },
    /// A required field is missing or blank (in some row, for tables).
    #[error("section {section} lacks required field {field:?}{}", row.map(|r| format!(" in row {r}")).unwrap_or_default())]
    MissingField {
        /// Section code.
        section: String,
        /// Field code.
        field: String,
        /// Table row, if any.
        row: Option<u32>,
    },
    /// A value that is malformed for its field.
    #[error("field {field:?}: {problem}")]
    BadValue {
        /// Field code.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A section with no fields at all.
    #[error("section {0} is empty")]
    Empty(String),
}

/// Checks a declared section against the form. `person_id` is the dossier's
/// identification number, which item 25a must repeat.
pub fn validate_section(
    section_code: &str,
    fields: &[FieldEntry],
    person_id: &str,
) -> Result<(), FormError> {
    let spec =
        section(section_code).ok_or_else(|| FormError::UnknownSection(section_code.to_owned()))?;
    if fields.is_empty() {
        return Err(FormError::Empty(spec.code.to_owned()));
    }
    let mut seen = BTreeSet::new();
    let mut rows = BTreeSet::new();
    for f in fields {
        if !spec.fields.contains(&f.field_code.as_str()) {
            return Err(FormError::FieldOutsideSection {
                section: spec.code.to_owned(),
                field: f.field_code.clone(),
            });
        }
        match (spec.table, f.row) {
            (true, 0) => {
                return Err(FormError::BadRow {
                    section: spec.code.to_owned(),
                    field: f.field_code.clone(),
                    row: 0,
                    expected: "table rows are numbered from 1",
                });
            }
            (false, row) if row != 0 => {
                return Err(FormError::BadRow {
                    section: spec.code.to_owned(),
                    field: f.field_code.clone(),
                    row,
                    expected: "only table sections have rows",
                });
            }
            _ => {}
        }
        if !seen.insert((f.field_code.as_str(), f.row)) {
            return Err(FormError::DuplicateField {
                section: spec.code.to_owned(),
                field: f.field_code.clone(),
                row: f.row,
            });
        }
        rows.insert(f.row);
        check_value(&f.field_code, &f.value, person_id)?;
    }
    for row in rows {
        for required in spec.required {
            let present = fields
                .iter()
                .any(|f| f.field_code == *required && f.row == row && !f.value.trim().is_empty());
            if !present {
                return Err(FormError::MissingField {
                    section: spec.code.to_owned(),
                    field: (*required).to_owned(),
                    row: spec.table.then_some(row),
                });
            }
        }
    }
    Ok(())
}

/// Whether `value` is a date as old forms write it: `dd/mm/yyyy`, `mm/yyyy`
/// or `yyyy` (records transcribed from paper often lack the day).
pub fn is_form_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('/').collect();
    let num = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    let year_ok = |s: &str| num(s, 4) && s.parse::<u32>().is_ok_and(|y| (1900..=2199).contains(&y));
    match parts.as_slice() {
        [y] => year_ok(y),
        [m, y] => num(m, 2) && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m)) && year_ok(y),
        [d, m, y] => {
            let (Ok(d), Ok(m), Ok(yy)) = (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>())
            else {
                return false;
            };
            num(y, 4) && chrono::NaiveDate::from_ymd_opt(yy, m, d).is_some() && year_ok(y)
        }
        _ => false,
    }
}

fn check_value(field: &str, value: &str, person_id: &str) -> Result<(), FormError> {
    let bad = |problem: String| {
        Err(FormError::BadValue {
            field: field.to_owned(),
            problem,
        })
    };
    match field {
        "25a" if value != person_id => bad(format!(
            "identification number {value:?} differs from the dossier's {person_id}"
        )),
        "3a" | "11a" | "16a" | "16b" | "18a" | "18b" | "25b" | "31.r1"
            if !value.is_empty() && !is_form_date(value) =>
        {
            bad(format!(
                "{value:?} is not a date (dd/mm/yyyy, mm/yyyy or yyyy)"
            ))
        }
        "3b" if !matches!(value, "Nam" | "Nữ") => {
            bad(format!("sex must be Nam or Nữ, not {value:?}"))
        }
        _ if value.chars().count() > MAX_VALUE_CHARS => {
            bad(format!("longer than {MAX_VALUE_CHARS} characters"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(code: &str, value: &str, row: u32) -> FieldEntry {
        FieldEntry {
            field_code: code.to_owned(),
            value: value.to_owned(),
            row,
            sealed: Vec::new(),
        }
    }

    #[test]
    fn every_field_of_every_section_has_a_label() {
        for s in SECTIONS {
            for code in s.fields {
                assert!(field_label_or_column(code).is_some(), "{} {code}", s.code);
            }
        }
        assert_eq!(field_label("25a"), Some("Số chứng minh nhân dân"));
        assert_eq!(field_label("zz"), None);
        assert_eq!(
            field_label_or_column("T0.c2").as_deref(),
            Some("Quá trình làm việc, học tập trước khi tuyển dụng (thời gian; nội dung) — cột 2")
        );
    }

    #[test]
    fn identity_section_validates() {
        let fields = [
            f("1", "NGUYỄN VĂN AN", 0),
            f("3a", "17/05/1990", 0),
            f("3b", "Nam", 0),
            f("25a", "001090001234", 0),
        ];
        assert_eq!(
            validate_section("identity", &fields, "001090001234"),
            Ok(())
        );
        assert!(matches!(
            validate_section("identity", &fields, "001090009999"),
            Err(FormError::BadValue { .. })
        ));
        assert!(matches!(
            validate_section("identity", &fields[..3], "001090001234"),
            Err(FormError::MissingField { .. })
        ));
    }

    #[test]
    fn tables_need_rows_and_plain_sections_refuse_them() {
        let ok = [f("27.c1", "ĐH Huế", 1), f("27.c5", "Cử nhân", 1)];
        assert_eq!(validate_section("training", &ok, "x"), Ok(()));
        let zero = [f("27.c1", "ĐH Huế", 0), f("27.c5", "Cử nhân", 0)];
        assert!(matches!(
            validate_section("training", &zero, "x"),
            Err(FormError::BadRow { .. })
        ));
        let second_row_incomplete = [
            f("27.c1", "ĐH Huế", 1),
            f("27.c5", "Cử nhân", 1),
            f("27.c1", "Học viện HCQG", 2),
        ];
        assert!(matches!(
            validate_section("training", &second_row_incomplete, "x"),
            Err(FormError::MissingField { row: Some(2), .. })
        ));
        assert!(matches!(
            validate_section("residence", &[f("8", "Hưng Yên", 3)], "x"),
            Err(FormError::BadRow { .. })
        ));
    }

    #[test]
    fn partial_dates_from_paper_forms_are_dates() {
        for ok in ["1990", "05/1990", "17/05/1990"] {
            assert!(is_form_date(ok), "{ok}");
        }
        for bad in ["31/02/1990", "13/1990", "90", "1990-05-17", ""] {
            assert!(!is_form_date(bad), "{bad}");
        }
    }

    #[test]
    fn every_field_code_is_in_one_section_only() {
        let mut seen = BTreeSet::new();
        for s in SECTIONS {
            for f in s.fields {
                assert!(seen.insert(*f), "{f} twice");
            }
            for r in s.required {
                assert!(s.fields.contains(r), "{} requires unknown {r}", s.code);
            }
        }
    }
}

//! The 12-digit personal identification number (số định danh cá nhân), the
//! identifier of a person's one dossier (Decree 27/2026, BT 3.6, KT 3.3).
//!
//! Layout (Circular 59/2021/TT-BCA): three digits for the province of birth
//! registration, one digit for sex and century of birth, two digits for the
//! year of birth, six random digits. Only the layout can be checked here; the
//! national population database is the authority on whether a number exists.

use chrono::{Datelike, NaiveDate};

/// Province codes of birth registration (Decree 137/2015, 63 provinces
/// before the 2025 mergers; numbers issued earlier keep them).
const PROVINCE_CODES: &[u16] = &[
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

/// Why a number is not a personal identification number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonIdProblem {
    /// Not exactly 12 ASCII digits.
    #[error("{0:?} is not 12 digits")]
    NotTwelveDigits(String),
    /// The first three digits are no province code.
    #[error("{id} starts with {code:03}, which is no province code")]
    UnknownProvince {
        /// The number.
        id: String,
        /// Its first three digits.
        code: u16,
    },
    /// Century digit or year digits disagree with the date of birth.
    #[error("{id} encodes birth year {encoded}, but the date of birth is {birth}")]
    BirthYearMismatch {
        /// The number.
        id: String,
        /// Year the number encodes.
        encoded: i32,
        /// Date of birth given.
        birth: NaiveDate,
    },
}

/// Checks the layout of a personal identification number, and its birth
/// year against `birth_date` when one is given.
pub fn validate(id: &str, birth_date: Option<NaiveDate>) -> Result<(), PersonIdProblem> {
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PersonIdProblem::NotTwelveDigits(id.to_owned()));
    }
    let num = |range: std::ops::Range<usize>| {
        id.get(range)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0)
    };
    let code = num(0..3);
    if !PROVINCE_CODES.contains(&code) {
        return Err(PersonIdProblem::UnknownProvince {
            id: id.to_owned(),
            code,
        });
    }
    let century = 1900 + 100 * i32::from(num(3..4) / 2);
    let encoded = century + i32::from(num(4..6));
    if let Some(birth) = birth_date
        && birth.year() != encoded
    {
        return Err(PersonIdProblem::BirthYearMismatch {
            id: id.to_owned(),
            encoded,
            birth,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_checked() {
        let birth = NaiveDate::from_ymd_opt(1990, 5, 17);
        assert_eq!(validate("033090001234", birth), Ok(()));
        assert_eq!(validate("033190001234", birth), Ok(()), "female, 1900s");
        assert!(matches!(
            validate("03309000123", None),
            Err(PersonIdProblem::NotTwelveDigits(_))
        ));
        assert!(matches!(
            validate("03309000123x", None),
            Err(PersonIdProblem::NotTwelveDigits(_))
        ));
        assert!(matches!(
            validate("003090001234", None),
            Err(PersonIdProblem::UnknownProvince { code: 3, .. })
        ));
        assert!(matches!(
            validate("033290001234", birth),
            Err(PersonIdProblem::BirthYearMismatch { encoded: 2090, .. })
        ));
        assert_eq!(
            validate("001205001234", NaiveDate::from_ymd_opt(2005, 1, 1)),
            Ok(())
        );
    }
}

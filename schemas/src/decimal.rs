//! Exact conversion between decimal text and integer hundredths.
//!
//! Salary and allowance coefficients are kept as integer hundredths
//! (`2.34` is `234`) because binary floating point cannot represent most of
//! them exactly. Legacy payloads and forms carry them as text; this module
//! reads that text without ever going through a float.

use std::fmt;

/// Why a text is not a decimal with at most two fractional digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// The text is empty.
    #[error("empty decimal")]
    Empty,
    /// A decimal point without digits on one side, e.g. `".5"` or `"2."`.
    #[error("decimal point must have digits on both sides")]
    MissingDigits,
    /// Anything other than ASCII digits and one `.`, including signs,
    /// spaces and the decimal comma.
    #[error("invalid character {found:?} in decimal")]
    InvalidCharacter {
        /// The first offending character.
        found: char,
    },
    /// More than two digits after the point; rounding would alter a legal
    /// value, so it is refused.
    #[error("more than two fractional digits")]
    TooPrecise,
    /// The value does not fit in `u32` hundredths.
    #[error("decimal too large")]
    OutOfRange,
}

/// Parses `"2.34"` as `234`, `"4"` as `400` and `"2.3"` as `230`.
///
/// Accepts ASCII digits with an optional `.` followed by one or two digits;
/// everything else is an error, never a guess.
pub fn parse_hundredths(text: &str) -> Result<u32, DecimalError> {
    if text.is_empty() {
        return Err(DecimalError::Empty);
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let whole = digits_value(whole)?;
    let fraction = match fraction {
        None => 0,
        Some(fraction) => {
            let value = digits_value(fraction)?;
            match fraction.len() {
                1 => value * 10,
                2 => value,
                _ => return Err(DecimalError::TooPrecise),
            }
        }
    };
    whole
        .checked_mul(100)
        .and_then(|hundredths| hundredths.checked_add(fraction))
        .ok_or(DecimalError::OutOfRange)
}

/// Value of a non-empty run of ASCII digits.
fn digits_value(digits: &str) -> Result<u32, DecimalError> {
    if digits.is_empty() {
        return Err(DecimalError::MissingDigits);
    }
    digits.chars().try_fold(0u32, |value, c| {
        let digit = c
            .to_digit(10)
            .ok_or(DecimalError::InvalidCharacter { found: c })?;
        value
            .checked_mul(10)
            .and_then(|value| value.checked_add(digit))
            .ok_or(DecimalError::OutOfRange)
    })
}

/// Displays integer hundredths as a decimal with two fractional digits:
/// `Hundredths(234)` shows as `2.34`, `Hundredths(400)` as `4.00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hundredths(pub u32);

impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_hundredths() {
        for (text, expected) in [
            ("2.34", 234),
            ("4", 400),
            ("2.3", 230),
            ("0.2", 20),
            ("0.05", 5),
            ("10.00", 1000),
            ("02.34", 234),
            ("0", 0),
            ("42949672.95", u32::MAX),
        ] {
            assert_eq!(parse_hundredths(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn rejects_malformed_text() {
        use DecimalError::*;
        for (text, expected) in [
            ("", Empty),
            (".", MissingDigits),
            (".5", MissingDigits),
            ("2.", MissingDigits),
            ("2,34", InvalidCharacter { found: ',' }),
            ("-2.34", InvalidCharacter { found: '-' }),
            ("+2.34", InvalidCharacter { found: '+' }),
            (" 2.34", InvalidCharacter { found: ' ' }),
            ("2.34 ", InvalidCharacter { found: ' ' }),
            ("1.2.3", InvalidCharacter { found: '.' }),
            ("2.3x", InvalidCharacter { found: 'x' }),
            ("١", InvalidCharacter { found: '١' }),
            ("2e3", InvalidCharacter { found: 'e' }),
            ("2.345", TooPrecise),
            ("2.340", TooPrecise),
            ("42949672.96", OutOfRange),
            ("99999999999999999999", OutOfRange),
        ] {
            assert_eq!(parse_hundredths(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn display_round_trips() {
        for value in [0, 5, 20, 234, 400, 1000, u32::MAX] {
            let text = Hundredths(value).to_string();
            assert_eq!(parse_hundredths(&text), Ok(value), "{text}");
        }
        assert_eq!(Hundredths(234).to_string(), "2.34");
        assert_eq!(Hundredths(5).to_string(), "0.05");
    }
}

//! The one set of rules every piece of text and every date must pass before it
//! may reach the log, which is append-only: what is accepted once is kept for
//! ever. The API applies them at its edge to every string of every request
//! (bodies, query strings, path segments); bulk paths that bypass HTTP call
//! [`clean`] and [`check_date`] themselves.
//!
//! Accepted text is returned in Unicode Normalization Form C, so that the same
//! name typed on two keyboards (precomposed `ễ` or `e` + two combining marks)
//! is stored, compared and searched as one spelling. Refused are characters
//! that are invisible or change how the surrounding text is displayed —
//! controls, bidirectional overrides and marks, zero-width characters,
//! noncharacters and private-use code points — and combining marks with no
//! base to sit on. Each field kind has a length bound.

use chrono::{Datelike, NaiveDate};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The kind of a text field, which sets its length bound and whether it may
/// span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// One line, short: names, usernames, codes, document numbers.
    Short,
    /// One line of ordinary text: issuers, titles, search queries.
    Normal,
    /// Free text that may hold line feeds (`\n`) and tabs: form values, notes.
    Long,
    /// A password: checked but never rewritten, since its hash was taken from
    /// exactly the bytes typed.
    Secret,
}

impl TextKind {
    /// Most characters (after normalisation) a value of this kind may have.
    pub const fn max_chars(self) -> usize {
        match self {
            Self::Short => 256,
            Self::Normal => 1_000,
            Self::Long => crate::form::MAX_VALUE_CHARS,
            Self::Secret => 1_024,
        }
    }

    const fn multiline(self) -> bool {
        matches!(self, Self::Long)
    }
}

/// The kind of the field named `key` (a JSON member or query parameter name).
/// Names not listed are [`TextKind::Normal`]; list a new field here when it
/// needs another bound.
pub fn kind_of_field(key: &str) -> TextKind {
    match key {
        "password" | "current" | "new" => TextKind::Secret,
        "value" | "note" | "notes" | "comment" | "comments" | "reason" | "reasons" => {
            TextKind::Long
        }
        "username" | "full_name" | "display_name" | "name" | "code" | "org_code" | "org_codes"
        | "person_id" | "number" | "parent" | "kind" | "status" | "section" | "field"
        | "category" | "action" | "clearance" | "key_id" | "stream_hash" | "signature"
        | "attachment_sha256" | "attachments" | "id" | "to" | "from" | "unit" | "managing_unit"
        | "employing_unit" | "successor" | "role" | "scope" => TextKind::Short,
        _ => TextKind::Normal,
    }
}

/// Earliest year any date in the system may carry: older records are not
/// kept in hoso (and `0000` or negative years are typing or encoding errors).
pub const FIRST_YEAR: i32 = 1900;
/// Latest year any date may carry.
pub const LAST_YEAR: i32 = 2100;

/// A rule a value broke. Positions are character offsets in the value after
/// normalisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputRule {
    /// A C0/C1 control (NUL, BEL, ESC, …), or a line break in a one-line field.
    #[error("control character U+{code:04X} at character {at}")]
    ControlCharacter {
        /// Code point.
        code: u32,
        /// Character offset.
        at: usize,
    },
    /// A bidirectional embedding, override, isolate or mark, which can make
    /// text display other than it reads (U+202A–202E, U+2066–2069, U+200E,
    /// U+200F, U+061C).
    #[error("bidirectional control U+{code:04X} at character {at}")]
    BidiControl {
        /// Code point.
        code: u32,
        /// Character offset.
        at: usize,
    },
    /// A zero-width or otherwise invisible character (U+200B–200D, U+2060–2064,
    /// U+FEFF, soft hyphen, fillers, tags), which makes two names that look
    /// alike differ.
    #[error("invisible character U+{code:04X} at character {at}")]
    Invisible {
        /// Code point.
        code: u32,
        /// Character offset.
        at: usize,
    },
    /// A Unicode noncharacter (U+FDD0–FDEF, U+xxFFFE, U+xxFFFF).
    #[error("noncharacter U+{code:04X} at character {at}")]
    Noncharacter {
        /// Code point.
        code: u32,
        /// Character offset.
        at: usize,
    },
    /// A private-use code point, whose meaning only some font knows.
    #[error("private-use character U+{code:04X} at character {at}")]
    PrivateUse {
        /// Code point.
        code: u32,
        /// Character offset.
        at: usize,
    },
    /// A combining mark with no letter before it (at the start, or after a
    /// space or line break), even after composing.
    #[error("combining mark U+{code:04X} at character {at} has no base character")]
    LoneCombiningMark {
        /// Code point.
        code: u32,
        /// Character offset.
        at: usize,
    },
    /// Longer than the field kind allows.
    #[error("{chars} characters; at most {max} allowed")]
    TooLong {
        /// Characters given (at least; counting stops far past the bound).
        chars: usize,
        /// The bound.
        max: usize,
    },
    /// A date outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
    #[error("year {year} is outside {FIRST_YEAR}..={LAST_YEAR}")]
    YearOutOfRange {
        /// The year given.
        year: i64,
    },
    /// A whole number outside the signed 64-bit range every number of the
    /// API lies in (the document declares them `int64`; the log and the read
    /// model store them so).
    #[error("{given} is outside -9223372036854775808..=9223372036854775807")]
    NumberOutOfRange {
        /// The number as given.
        given: String,
    },
}

impl InputRule {
    /// Stable code of the rule, as in `urn:hoso:problem:input:<code>`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::ControlCharacter { .. } => "control-character",
            Self::BidiControl { .. } => "bidi-control",
            Self::Invisible { .. } => "invisible-character",
            Self::Noncharacter { .. } => "noncharacter",
            Self::PrivateUse { .. } => "private-use",
            Self::LoneCombiningMark { .. } => "lone-combining-mark",
            Self::TooLong { .. } => "too-long",
            Self::YearOutOfRange { .. } => "year-out-of-range",
            Self::NumberOutOfRange { .. } => "number-out-of-range",
        }
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&u) || u & 0xFFFE == 0xFFFE
}

fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}')
}

fn is_line_control(c: char) -> bool {
    // U+2028/2029 break lines like LF without being C0 controls.
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Checks `text` as a field of `kind` and answers it in NFC (a
/// [`TextKind::Secret`] unchanged), or the first rule it breaks.
pub fn clean(text: &str, kind: TextKind) -> Result<String, InputRule> {
    let max = kind.max_chars();
    // A character is at most 4 bytes: far longer input is refused before any
    // work proportional to its length beyond this count.
    if text.len() > max.saturating_mul(4) {
        return Err(InputRule::TooLong {
            chars: text.chars().take(max.saturating_mul(4) + 1).count(),
            max,
        });
    }
    let out: String = if kind == TextKind::Secret {
        text.to_owned()
    } else {
        text.nfc().collect()
    };
    let mut chars = 0usize;
    let mut prev: Option<char> = None;
    for (at, c) in out.chars().enumerate() {
        let code = u32::from(c);
        let allowed_space = kind.multiline() && matches!(c, '\n' | '\t');
        if is_line_control(c) && !allowed_space {
            return Err(InputRule::ControlCharacter { code, at });
        }
        if is_bidi_control(c) {
            return Err(InputRule::BidiControl { code, at });
        }
        if is_invisible(c) {
            return Err(InputRule::Invisible { code, at });
        }
        if is_noncharacter(c) {
            return Err(InputRule::Noncharacter { code, at });
        }
        if is_private_use(c) {
            return Err(InputRule::PrivateUse { code, at });
        }
        if is_combining_mark(c) && prev.is_none_or(char::is_whitespace) {
            return Err(InputRule::LoneCombiningMark { code, at });
        }
        prev = Some(c);
        chars = at + 1;
    }
    if chars > max {
        return Err(InputRule::TooLong { chars, max });
    }
    Ok(out)
}

/// Checks that `date` lies in [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn check_date(date: NaiveDate) -> Result<NaiveDate, InputRule> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(InputRule::YearOutOfRange {
            year: i64::from(date.year()),
        })
    }
}

/// Checks that a year given on its own lies in
/// [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn check_year(year: i64) -> Result<i32, InputRule> {
    i32::try_from(year)
        .ok()
        .filter(|y| (FIRST_YEAR..=LAST_YEAR).contains(y))
        .ok_or(InputRule::YearOutOfRange { year })
}

/// If `text` is written as a whole number, checks that it fits in a signed
/// 64-bit integer; any other text passes. A query string carries numbers as
/// text, so the edge checks every value that would deserialise as one.
pub fn check_if_number(text: &str) -> Result<(), InputRule> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    match text.parse::<i64>() {
        Ok(_) => Ok(()),
        Err(_) => Err(InputRule::NumberOutOfRange {
            given: text.to_owned(),
        }),
    }
}

/// If `text` is written as an ISO date (`YYYY-MM-DD`, which also admits
/// `-2026-01-05` and `+12026-01-05`), checks its year; any other text passes.
/// The edge does not know which strings the route reads as dates, so it
/// checks every string that would deserialise as one.
pub fn check_if_date(text: &str) -> Result<(), InputRule> {
    // Short-circuit the common case: dates are short and start with a digit or sign.
    if text.len() > 16 || !text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return Ok(());
    }
    match text.parse::<NaiveDate>() {
        Ok(d) => check_date(d).map(|_| ()),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::is_nfc;

    #[test]
    fn numbers_beyond_int64_and_years_beyond_the_records_are_refused() {
        assert!(check_if_number("9223372036854775807").is_ok());
        assert!(check_if_number("-9223372036854775808").is_ok());
        assert!(check_if_number("12a").is_ok());
        assert_eq!(
            check_if_number("9223372036854775808").unwrap_err().code(),
            "number-out-of-range"
        );
        assert_eq!(check_year(2026), Ok(2026));
        assert_eq!(
            check_year(2_147_483_648).unwrap_err().code(),
            "year-out-of-range"
        );
        assert!(check_year(1899).is_err());
    }

    #[test]
    fn nfd_names_are_stored_composed() {
        let nfd = "Nguye\u{0302}\u{0303}n Va\u{0306}n \u{0110}u\u{031B}\u{0301}c";
        let out = clean(nfd, TextKind::Short).unwrap();
        assert_eq!(out, "Nguyễn Văn Đức");
        assert!(is_nfc(&out));
    }

    #[test]
    fn control_character() {
        for (s, code) in [
            ("An\u{0}h", 0),
            ("a\u{7}", 7),
            ("\u{1b}[31m", 0x1b),
            ("a\u{85}", 0x85),
        ] {
            assert_eq!(
                clean(s, TextKind::Normal).unwrap_err().code(),
                "control-character",
                "{code:x}"
            );
        }
        assert!(matches!(
            clean("a\r\nb", TextKind::Short),
            Err(InputRule::ControlCharacter { code: 0x0D, at: 1 })
        ));
        assert!(clean("a\u{2028}b", TextKind::Normal).is_err());
        // Free text may span lines; CR and other controls stay refused.
        assert_eq!(clean("a\n\tb", TextKind::Long).unwrap(), "a\n\tb");
        assert!(clean("a\r\nb", TextKind::Long).is_err());
        assert!(clean("a\u{0}b", TextKind::Long).is_err());
        assert!(clean("a\u{0}b", TextKind::Secret).is_err());
    }

    #[test]
    fn bidi_control() {
        for c in [
            '\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let s = format!("abc{c}def");
            assert_eq!(
                clean(&s, TextKind::Short),
                Err(InputRule::BidiControl {
                    code: u32::from(c),
                    at: 3
                })
            );
        }
    }

    #[test]
    fn invisible_character() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
        ] {
            let s = format!("An{c}");
            assert_eq!(
                clean(&s, TextKind::Short).unwrap_err().code(),
                "invisible-character"
            );
        }
    }

    #[test]
    fn noncharacter_and_private_use() {
        assert_eq!(
            clean("a\u{FFFE}", TextKind::Short).unwrap_err().code(),
            "noncharacter"
        );
        assert_eq!(
            clean("a\u{FDD0}", TextKind::Short).unwrap_err().code(),
            "noncharacter"
        );
        assert_eq!(
            clean("a\u{10FFFF}", TextKind::Short).unwrap_err().code(),
            "noncharacter"
        );
        assert_eq!(
            clean("a\u{E000}", TextKind::Short).unwrap_err().code(),
            "private-use"
        );
    }

    #[test]
    fn lone_combining_mark() {
        for s in ["\u{0301}", "\u{0301}An", "An \u{0303}", "a\n\u{0300}"] {
            assert_eq!(
                clean(s, TextKind::Long).unwrap_err().code(),
                "lone-combining-mark",
                "{s:?}"
            );
        }
        assert_eq!(
            clean("\u{0301}Mat-khau#1", TextKind::Secret)
                .unwrap_err()
                .code(),
            "lone-combining-mark"
        );
        // A mark that composes, or stacks on a letter, has its base.
        assert_eq!(clean("e\u{0301}", TextKind::Short).unwrap(), "é");
        assert!(clean("q\u{0301}\u{0323}", TextKind::Short).is_ok());
    }

    #[test]
    fn too_long() {
        let at_bound = "ễ".repeat(TextKind::Short.max_chars());
        assert!(clean(&at_bound, TextKind::Short).is_ok());
        let over = format!("{at_bound}a");
        assert_eq!(
            clean(&over, TextKind::Short),
            Err(InputRule::TooLong {
                chars: 257,
                max: 256
            })
        );
        let huge = "x".repeat(230 * 1024);
        for kind in [
            TextKind::Short,
            TextKind::Normal,
            TextKind::Long,
            TextKind::Secret,
        ] {
            assert_eq!(clean(&huge, kind).unwrap_err().code(), "too-long");
        }
    }

    #[test]
    fn year_out_of_range() {
        for s in [
            "-2026-01-05",
            "0000-01-01",
            "1899-12-31",
            "2101-01-01",
            "+12026-01-05",
        ] {
            assert_eq!(
                check_if_date(s).unwrap_err().code(),
                "year-out-of-range",
                "{s}"
            );
        }
        for s in [
            "1900-01-01",
            "2026-01-05",
            "2100-12-31",
            "Nguyễn",
            "-",
            "17/05/1990",
            "12",
        ] {
            assert_eq!(check_if_date(s), Ok(()), "{s}");
        }
    }

    #[test]
    fn field_kinds() {
        assert_eq!(kind_of_field("password"), TextKind::Secret);
        assert_eq!(kind_of_field("value"), TextKind::Long);
        assert_eq!(kind_of_field("username"), TextKind::Short);
        assert_eq!(kind_of_field("issuer"), TextKind::Normal);
    }

    proptest! {
        #[test]
        fn accepted_text_is_nfc_and_cleaning_is_idempotent(s in "\\PC{0,40}") {
            for kind in [TextKind::Short, TextKind::Normal, TextKind::Long] {
                if let Ok(out) = clean(&s, kind) {
                    prop_assert!(is_nfc(&out));
                    prop_assert_eq!(clean(&out, kind), Ok(out.clone()));
                }
            }
        }

        #[test]
        fn decomposed_and_composed_spellings_clean_alike(s in "[a-zA-Zàáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ ]{1,30}") {
            let nfd: String = s.nfd().collect();
            let s = s.trim_start().to_owned();
            let nfd = nfd.trim_start().to_owned();
            prop_assert_eq!(clean(&nfd, TextKind::Short), clean(&s, TextKind::Short));
        }
    }
}

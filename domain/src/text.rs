//! Vietnamese text folding: the one place that decides when two spellings of
//! a name are "the same", so password checks (DT 10.2) and, later, search
//! agree. Folding lower-cases, strips tone and vowel marks and maps `đ` to
//! `d`, so `Nguyễn Văn Đức` and `nguyen van duc` fold alike.

/// Folds one character; characters outside Vietnamese's Latin letters pass
/// through lower-cased.
pub fn fold_char(c: char) -> char {
    const GROUPS: &[(&str, char)] = &[
        ("àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", 'a'),
        ("èéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆ", 'e'),
        ("ìíỉĩịÌÍỈĨỊ", 'i'),
        ("òóỏõọôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", 'o'),
        ("ùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰ", 'u'),
        ("ỳýỷỹỵỲÝỶỸỴ", 'y'),
        ("đĐ", 'd'),
    ];
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    for (group, base) in GROUPS {
        if group.contains(c) {
            return *base;
        }
    }
    c.to_lowercase().next().unwrap_or(c)
}

/// Folds a whole string (see the module documentation). Text is composed
/// (NFC) first, so a decomposed spelling — stored before the input rules
/// normalised everything, or typed into a search — folds like the composed one.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc().map(fold_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_tones_marks_and_d_bar() {
        assert_eq!(fold("Nguyễn Văn Đức"), "nguyen van duc");
        assert_eq!(fold("TRẦN THỊ HƯƠNG"), "tran thi huong");
        assert_eq!(fold("Phạm Quỳnh Anh"), "pham quynh anh");
    }

    #[test]
    fn decomposed_text_folds_like_composed() {
        let nfd = "Nguye\u{0302}\u{0303}n Va\u{0306}n \u{0110}u\u{031B}\u{0301}c";
        assert_eq!(fold(nfd), "nguyen van duc");
    }
}

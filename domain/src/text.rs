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

/// Folds a whole string (see the module documentation).
pub fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
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
}

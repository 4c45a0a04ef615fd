//! The columns of the import format (`docs/import-format.md`): one row per
//! person, as a province's HR software exports its staff list. Each column
//! has a stable machine key, the Vietnamese header such software writes, and
//! what it becomes: a fact of the import (record id, number, name, category,
//! managing unit, handover date) or an item of the résumé form (a field code
//! of a section of `hoso_domain::form`).
//!
//! A header matches a column when it folds (`hoso_domain::text::fold`: case,
//! tone marks, `đ`) to the column's header or to its key, so `HỌ VÀ TÊN`,
//! `Họ và tên` and `ho_ten` are the same column. Columns the format does not
//! know (a row counter `STT`, the software's own extras) are listed and
//! ignored.

use hoso_domain::form;
use hoso_domain::input::TextKind;
use hoso_domain::text::fold;

/// What a column's value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The record's id in the exporting software (the import's
    /// `source_record_id`, kept in clear: never the identification number).
    RecordId,
    /// The identification number: the dossier's number and form item 25a.
    PersonId,
    /// The full name: the dossier's name and form item 1.
    FullName,
    /// The personnel category.
    Category,
    /// The managing (and employing) unit's code; it must exist and be active.
    ManagingUnit,
    /// When the paper dossier was handed over (HY 11.2); today when absent.
    HandedOverOn,
    /// An item of the résumé form: section code and field code.
    Field(&'static str, &'static str),
}

/// One column of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Stable machine key (`snake_case`, ASCII).
    pub key: &'static str,
    /// The header as HR software writes it.
    pub header: &'static str,
    /// What the value becomes.
    pub target: Target,
    /// Whether every row must give it.
    pub required: bool,
}

const fn fact(key: &'static str, header: &'static str, target: Target, required: bool) -> Column {
    Column {
        key,
        header,
        target,
        required,
    }
}

const fn item(
    key: &'static str,
    header: &'static str,
    section: &'static str,
    field: &'static str,
) -> Column {
    Column {
        key,
        header,
        target: Target::Field(section, field),
        required: false,
    }
}

/// Every column, in the order the sample file and the documentation list them.
pub const COLUMNS: &[Column] = &[
    fact("ma_ho_so", "Mã hồ sơ", Target::RecordId, true),
    fact("ho_ten", "Họ và tên khai sinh", Target::FullName, true),
    fact(
        "so_dinh_danh",
        "Số định danh cá nhân",
        Target::PersonId,
        true,
    ),
    item("ngay_sinh", "Ngày sinh", "identity", "3a"),
    item("gioi_tinh", "Giới tính", "identity", "3b"),
    fact("doi_tuong", "Đối tượng", Target::Category, true),
    fact("ma_don_vi", "Mã đơn vị quản lý", Target::ManagingUnit, true),
    fact(
        "ngay_ban_giao",
        "Ngày bàn giao hồ sơ",
        Target::HandedOverOn,
        false,
    ),
    item("so_hieu", "Số hiệu cán bộ, công chức", "identity", "H3"),
    item("ten_goi_khac", "Tên gọi khác", "identity", "2"),
    item("noi_sinh", "Nơi sinh", "identity", "4"),
    item("que_quan", "Quê quán", "identity", "5"),
    item("dan_toc", "Dân tộc", "identity", "6"),
    item("ton_giao", "Tôn giáo", "identity", "7"),
    item("ngay_cap", "Ngày cấp", "identity", "25b"),
    item("noi_thuong_tru", "Nơi thường trú", "residence", "8"),
    item("noi_o_hien_nay", "Nơi ở hiện nay", "residence", "9"),
    item("dien_thoai", "Số điện thoại di động", "residence", "n.7"),
    item(
        "nghe_nghiep_khi_tuyen",
        "Nghề nghiệp khi được tuyển dụng",
        "recruitment",
        "10",
    ),
    item("ngay_tuyen_dung", "Ngày tuyển dụng", "recruitment", "11a"),
    item(
        "co_quan_tuyen_dung",
        "Cơ quan tuyển dụng",
        "recruitment",
        "11b",
    ),
    item("chuc_vu", "Chức vụ hiện tại", "recruitment", "12"),
    item(
        "cong_viec_chinh",
        "Công việc chính được giao",
        "recruitment",
        "13",
    ),
    item("ngay_bo_nhiem", "Ngày bổ nhiệm", "recruitment", "n.13"),
    item(
        "ngay_vao_co_quan",
        "Ngày vào cơ quan hiện đang công tác",
        "recruitment",
        "n.17",
    ),
    item("ngach", "Ngạch công chức, viên chức", "rank_salary", "14a"),
    item("ma_ngach", "Mã ngạch", "rank_salary", "14b"),
    item("bac_luong", "Bậc lương", "rank_salary", "14c"),
    item("he_so_luong", "Hệ số lương", "rank_salary", "14d"),
    item("ngay_huong", "Ngày hưởng", "rank_salary", "14e"),
    item("phu_cap_chuc_vu", "Phụ cấp chức vụ", "rank_salary", "14f"),
    item("phu_cap_khac", "Phụ cấp khác", "rank_salary", "14g"),
    item(
        "giao_duc_pho_thong",
        "Trình độ giáo dục phổ thông",
        "education",
        "15.1",
    ),
    item(
        "chuyen_mon",
        "Trình độ chuyên môn cao nhất",
        "education",
        "15.2",
    ),
    item(
        "ly_luan_chinh_tri",
        "Lý luận chính trị",
        "education",
        "15.3",
    ),
    item("quan_ly_nha_nuoc", "Quản lý nhà nước", "education", "15.4"),
    item("ngoai_ngu", "Ngoại ngữ", "education", "15.5"),
    item("tin_hoc", "Tin học", "education", "15.6"),
    item("ngay_vao_dang", "Ngày vào Đảng", "party_military", "16a"),
    item(
        "ngay_chinh_thuc",
        "Ngày chính thức",
        "party_military",
        "16b",
    ),
    item(
        "to_chuc_chinh_tri_xa_hoi",
        "Ngày tham gia tổ chức chính trị - xã hội",
        "party_military",
        "17",
    ),
    item("ngay_nhap_ngu", "Ngày nhập ngũ", "party_military", "18a"),
    item("ngay_xuat_ngu", "Ngày xuất ngũ", "party_military", "18b"),
    item("quan_ham", "Quân hàm cao nhất", "party_military", "18c"),
    item("danh_hieu", "Danh hiệu được phong tặng", "honours", "19"),
    item("so_truong", "Sở trường công tác", "honours", "20"),
    item("khen_thuong", "Khen thưởng", "honours", "21"),
    item("ky_luat", "Kỷ luật", "honours", "22"),
    item("suc_khoe", "Tình trạng sức khỏe", "health", "23a"),
    item("chieu_cao", "Chiều cao", "health", "23b"),
    item("can_nang", "Cân nặng", "health", "23c"),
    item("nhom_mau", "Nhóm máu", "health", "23d"),
    item("thuong_binh", "Thương binh hạng", "health", "24a"),
    item(
        "gia_dinh_chinh_sach",
        "Con gia đình chính sách",
        "health",
        "24b",
    ),
    item("so_bhxh", "Số sổ BHXH", "health", "26"),
];

/// The column whose header or key `header` is (after folding), if any.
pub fn find(header: &str) -> Option<&'static Column> {
    let h = fold(header.trim());
    COLUMNS.iter().find(|c| h == c.key || h == fold(c.header))
}

/// The column that fills form item `field` of `section`.
pub fn of_field(section: &str, field: &str) -> Option<&'static Column> {
    COLUMNS
        .iter()
        .find(|c| matches!(c.target, Target::Field(s, f) if s == section && f == field))
}

/// The column of a fact.
pub fn of_target(target: Target) -> &'static Column {
    COLUMNS
        .iter()
        .find(|c| c.target == target)
        .unwrap_or(&COLUMNS[0])
}

impl Column {
    /// How its value is checked by the input rules: form items as form
    /// values (long text, as a declaration's), facts as short text.
    pub fn kind(&self) -> TextKind {
        match self.target {
            Target::Field(..) => TextKind::Long,
            _ => TextKind::Short,
        }
    }

    /// Whether the value is a date as forms write it (`dd/mm/yyyy`,
    /// `mm/yyyy`, `yyyy`).
    pub fn is_date(&self) -> bool {
        matches!(
            self.target,
            Target::HandedOverOn
                | Target::Field(
                    _,
                    "3a" | "11a" | "16a" | "16b" | "18a" | "18b" | "25b" | "14e"
                )
                | Target::Field(_, "n.13" | "n.17")
        )
    }

    /// The form section it fills, if it is a form item.
    pub fn section(&self) -> Option<&'static form::SectionSpec> {
        match self.target {
            Target::Field(section, _) => form::section(section),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_form_item_is_a_field_of_its_section() {
        for c in COLUMNS {
            if let Target::Field(section, field) = c.target {
                let spec = form::section(section).unwrap_or_else(|| panic!("{section}"));
                assert!(
                    spec.fields.contains(&field),
                    "{} → {section}/{field}",
                    c.key
                );
                assert!(!spec.table, "{section} is a table");
            }
        }
    }

    #[test]
    fn keys_and_headers_are_unique_after_folding() {
        let mut seen = BTreeSet::new();
        for c in COLUMNS {
            assert!(seen.insert(c.key.to_owned()), "{}", c.key);
            assert!(seen.insert(fold(c.header)), "{}", c.header);
            assert!(c.key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn headers_match_however_they_are_cased_or_keyed() {
        for h in ["HỌ VÀ TÊN KHAI SINH", " họ và tên khai sinh ", "ho_ten"] {
            assert_eq!(find(h).map(|c| c.key), Some("ho_ten"), "{h}");
        }
        // Decomposed (NFD) as some exports write it.
        assert_eq!(find("Ngay\u{300} sinh").map(|c| c.key), Some("ngay_sinh"));
        assert_eq!(find("STT"), None);
    }

    #[test]
    fn every_required_item_of_a_non_table_section_has_a_column() {
        for c in COLUMNS {
            if let Some(spec) = c.section() {
                for required in spec.required {
                    assert!(
                        of_field(spec.code, required).is_some() || matches!(*required, "1" | "25a"),
                        "{}/{required}",
                        spec.code
                    );
                }
            }
        }
    }
}

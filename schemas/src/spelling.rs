//! The one spelling of each enumerated value outside the log: the protobuf
//! name without its type prefix, in lower snake case (`cong_chuc` for
//! `PERSONNEL_CATEGORY_CONG_CHUC`). The API reads values in it, writes them in
//! it and lists them in it when it refuses an unknown one, so a client never
//! meets two spellings of one value. The log keeps the numbers.

use crate::pb;

/// An enum of the catalogue with its outside spelling.
pub trait Spelling: Sized + Copy + 'static {
    /// The protobuf prefix of the type's values (`PERSONNEL_CATEGORY_`).
    const PREFIX: &'static str;

    /// The protobuf name (`PERSONNEL_CATEGORY_CONG_CHUC`).
    fn proto_name(self) -> &'static str;

    /// The value of a protobuf name.
    fn from_proto_name(name: &str) -> Option<Self>;

    /// Every value but the unspecified one, in number order.
    fn all() -> Vec<Self>;

    /// `cong_chuc`.
    fn spelling(self) -> String {
        self.proto_name()
            .strip_prefix(Self::PREFIX)
            .unwrap_or(self.proto_name())
            .to_ascii_lowercase()
    }

    /// The value spelt `text`; never the unspecified value.
    fn from_spelling(text: &str) -> Option<Self> {
        if text.is_empty()
            || text.eq_ignore_ascii_case("unspecified")
            || !text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return None;
        }
        Self::from_proto_name(&format!("{}{}", Self::PREFIX, text.to_ascii_uppercase()))
    }

    /// Every valid spelling, for a refusal to list.
    fn spellings() -> Vec<String> {
        Self::all().into_iter().map(Self::spelling).collect()
    }

    /// The spelling of a stored number; `unspecified` for one this build
    /// does not know.
    fn spelling_of(number: i32) -> String
    where
        Self: TryFrom<i32>,
    {
        Self::try_from(number).map_or_else(|_| "unspecified".to_owned(), Self::spelling)
    }
}

macro_rules! spelling {
    ($($ty:path = $prefix:literal),* $(,)?) => {
        $(
            impl Spelling for $ty {
                const PREFIX: &'static str = $prefix;

                fn proto_name(self) -> &'static str {
                    self.as_str_name()
                }

                fn from_proto_name(name: &str) -> Option<Self> {
                    Self::from_str_name(name)
                }

                fn all() -> Vec<Self> {
                    // Values are numbered densely from 0 (unspecified); a
                    // gap of more than a few numbers ends the list.
                    let mut out = Vec::new();
                    let mut misses = 0;
                    for n in 1..i32::MAX {
                        match Self::try_from(n) {
                            Ok(v) => {
                                out.push(v);
                                misses = 0;
                            }
                            Err(_) if misses < 16 => misses += 1,
                            Err(_) => break,
                        }
                    }
                    out
                }
            }
        )*
    };
}

spelling! {
    pb::common::PersonnelCategory = "PERSONNEL_CATEGORY_",
    pb::common::AccessRight = "ACCESS_RIGHT_",
    pb::account::AccountKind = "ACCOUNT_KIND_",
    pb::account::LockReason = "LOCK_REASON_",
    pb::account::PasswordChangeKind = "PASSWORD_CHANGE_KIND_",
    pb::account::InspectionClearance = "INSPECTION_CLEARANCE_",
    pb::dossier::AppointmentKind = "APPOINTMENT_KIND_",
    pb::dossier::RankChangeKind = "RANK_CHANGE_KIND_",
    pb::dossier::AllowanceKind = "ALLOWANCE_KIND_",
    pb::dossier::DisciplineForm = "DISCIPLINE_FORM_",
    pb::dossier::DisciplineBody = "DISCIPLINE_BODY_",
    pb::dossier::TrainingMode = "TRAINING_MODE_",
    pb::dossier::EvaluationGrade = "EVALUATION_GRADE_",
    pb::dossier::TransferKind = "TRANSFER_KIND_",
    pb::dossier::EmploymentStatus = "EMPLOYMENT_STATUS_",
    pb::org::OrgUnitKind = "ORG_UNIT_KIND_",
    pb::org::JobPositionGroup = "JOB_POSITION_GROUP_",
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::common::PersonnelCategory;
    use pb::dossier::EmploymentStatus;

    #[test]
    fn a_value_reads_back_from_its_spelling_and_unspecified_is_none() {
        assert_eq!(PersonnelCategory::CongChuc.spelling(), "cong_chuc");
        assert_eq!(
            PersonnelCategory::from_spelling("cong_chuc"),
            Some(PersonnelCategory::CongChuc)
        );
        assert_eq!(PersonnelCategory::from_spelling("unspecified"), None);
        assert_eq!(PersonnelCategory::from_spelling("CONG_CHUC"), None);
        assert_eq!(PersonnelCategory::from_spelling(""), None);
        assert_eq!(EmploymentStatus::spelling_of(9999), "unspecified");
    }

    #[test]
    fn every_value_of_every_enum_round_trips() {
        fn check<T: Spelling + PartialEq + std::fmt::Debug>() {
            let all = T::all();
            assert!(!all.is_empty(), "{}", T::PREFIX);
            for v in all {
                let s = v.spelling();
                assert!(!s.is_empty() && !s.contains(T::PREFIX), "{s}");
                assert_eq!(T::from_spelling(&s), Some(v), "{s}");
            }
        }
        check::<PersonnelCategory>();
        check::<EmploymentStatus>();
        check::<pb::common::AccessRight>();
        check::<pb::account::AccountKind>();
        check::<pb::account::LockReason>();
        check::<pb::dossier::DisciplineForm>();
        check::<pb::dossier::EvaluationGrade>();
        check::<pb::org::OrgUnitKind>();
        check::<pb::dossier::TransferKind>();
    }
}

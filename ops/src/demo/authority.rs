//! What the demo needs of approval authority (DT 11) beyond what the handlers
//! answer: the categories each sector employs. Who approves whose dossiers is
//! asked of the handlers ([`hoso_commands::workflows::Workflows::approving_units`],
//! [`hoso_commands::workflows::Workflows::approvers_of`]), which apply the rule the
//! approve handler applies.

use hoso_schemas::pb::common::PersonnelCategory;

use crate::synth::Sector;

/// The categories an agency of this sector may employ.
pub(super) fn categories_of(sector: Sector) -> &'static [PersonnelCategory] {
    match sector {
        Sector::School | Sector::Health => {
            &[PersonnelCategory::VienChuc, PersonnelCategory::NguoiLaoDong]
        }
        Sector::Commune => &[
            PersonnelCategory::CommuneCadre,
            PersonnelCategory::NguoiLaoDong,
        ],
        _ => &[PersonnelCategory::CongChuc, PersonnelCategory::NguoiLaoDong],
    }
}

//! Approval authority (DT 11): who signs whose dossiers.

use std::collections::{BTreeMap, BTreeSet};

use hoso_domain::account::{self};
use hoso_domain::org::OrgUnitKind;
use hoso_domain::profile::{ApprovalLevel, OrgKind, Profile};
use hoso_schemas::pb::common::PersonnelCategory;

use crate::synth::{Province, Sector};

/// Who signs whose dossiers: the nearest unit, from the managing unit up, whose head
/// the profile's authority rules (or an explicit assignment) make an approver.
pub(super) struct Authority {
    pub(super) units: BTreeMap<String, (OrgUnitKind, Option<String>)>,
    pub(super) explicit: BTreeMap<String, Vec<PersonnelCategory>>,
    pub(super) ceased: BTreeSet<String>,
}

impl Authority {
    pub(super) fn new(province: &Province) -> Self {
        Self {
            units: province
                .units
                .iter()
                .map(|u| (u.code.clone(), (u.kind, u.parent.clone())))
                .collect(),
            explicit: BTreeMap::new(),
            ceased: BTreeSet::new(),
        }
    }

    /// The approval level of the head of `code` for `category`, if an approver.
    pub(super) fn level_of(
        &self,
        profile: &Profile,
        code: &str,
        category: PersonnelCategory,
    ) -> Option<ApprovalLevel> {
        let (kind, parent) = self.units.get(code)?;
        let kind = OrgKind::of_unit_kind(*kind)?;
        let parent_kind = parent
            .as_ref()
            .and_then(|p| self.units.get(p))
            .and_then(|(k, _)| OrgKind::of_unit_kind(*k));
        let rule = profile
            .authority_for(kind, parent_kind, account::profile_category(category)?)
            .map(|r| r.level)
            .min();
        if self
            .explicit
            .get(code)
            .is_some_and(|cats| cats.contains(&category))
        {
            return Some(rule.unwrap_or(ApprovalLevel::UnitHead));
        }
        rule
    }

    /// The unit whose head signs dossiers of `category` managed by `managing`.
    pub(super) fn approver(
        &self,
        profile: &Profile,
        managing: &str,
        category: PersonnelCategory,
        has_head: impl Fn(&str) -> bool,
    ) -> Option<(String, ApprovalLevel)> {
        let mut current = Some(managing.to_owned());
        while let Some(code) = current {
            if !self.ceased.contains(&code)
                && has_head(&code)
                && let Some(level) = self.level_of(profile, &code, category)
            {
                return Some((code, level));
            }
            current = self.units.get(&code).and_then(|(_, p)| p.clone());
        }
        None
    }
}

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

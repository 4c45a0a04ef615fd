//! Access-restriction levels of dossier data (độ hạn chế tiếp cận, BT 4.3,
//! HY 4.4) and the clearance a reader holds.
//!
//! Every field of the résumé form carries a level; which level is data in
//! the province profile (`[restrictions]`), not code, because provinces
//! class data differently and an operator must be able to review it. A
//! reader sees a field only when their clearance reaches its level; fields
//! at `restricted` or above are also sealed (encrypted) in the log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use hoso_schemas::pb::common::AccessRight;

/// How restricted a piece of dossier data is. Ordered: a clearance of one
/// level covers every level below it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    /// Anyone with access to the dossier.
    #[default]
    General,
    /// Update right, the person, or a written consent (BT 4.5, HY 4.8).
    Restricted,
    /// Admin right or the person only.
    Secret,
}

impl Restriction {
    /// Stable name, as in the profile and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Restricted => "restricted",
            Self::Secret => "secret",
        }
    }

    /// Whether data at this level is sealed in the log.
    pub fn is_sealed(self) -> bool {
        self >= Self::Restricted
    }

    /// The clearance a right over the dossier's unit gives (DL 12.2).
    pub fn clearance_of(right: AccessRight) -> Self {
        match right {
            AccessRight::Admin => Self::Secret,
            AccessRight::Update => Self::Restricted,
            AccessRight::Access | AccessRight::Unspecified => Self::General,
        }
    }
}

/// The levels of a profile: a default, per-section levels, and per-field
/// levels that override their section's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictionMap {
    /// Level of anything not named.
    #[serde(default)]
    pub default: Restriction,
    /// Level of every field of a section, by section code.
    #[serde(default)]
    pub sections: BTreeMap<String, Restriction>,
    /// Level of one field, by form field code; wins over its section.
    #[serde(default)]
    pub fields: BTreeMap<String, Restriction>,
    /// Level of the facts the dossier's summary shows outside the form
    /// (e.g. `person_id`, `discipline`), by name.
    #[serde(default)]
    pub facts: BTreeMap<String, Restriction>,
    /// Why the levels are what they are.
    #[serde(default)]
    pub citation: String,
}

impl RestrictionMap {
    /// The level of a field of a section.
    pub fn field(&self, section: &str, field: &str) -> Restriction {
        self.fields
            .get(field)
            .or_else(|| self.sections.get(section))
            .copied()
            .unwrap_or(self.default)
    }

    /// The level of a named fact outside the form.
    pub fn fact(&self, name: &str) -> Restriction {
        self.facts.get(name).copied().unwrap_or(self.default)
    }

    /// Checks that every named section and field exists on the form.
    pub fn validate(&self) -> Result<(), String> {
        for s in self.sections.keys() {
            if crate::form::section(s).is_none() {
                return Err(format!("restrictions name unknown section {s:?}"));
            }
        }
        for f in self.fields.keys() {
            if !crate::form::SECTIONS
                .iter()
                .any(|s| s.fields.contains(&f.as_str()))
            {
                return Err(format!("restrictions name unknown field {f:?}"));
            }
        }
        Ok(())
    }
}

/// What a sealed field's ciphertext is bound to besides its dossier: the
/// field and the row, so that a ciphertext moved to another place of the
/// form (or another dossier) does not open.
pub fn seal_context(field_code: &str, row: u32) -> Vec<u8> {
    format!("field\u{1f}{field_code}\u{1f}{row}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    #[test]
    fn bt_4_3_every_profile_classes_identification_health_family_and_discipline() {
        for name in Profile::names() {
            let p = Profile::load(name).expect("profile");
            let r = p.restrictions();
            assert_eq!(
                r.field("identity", "25a"),
                Restriction::Restricted,
                "{name}"
            );
            assert_eq!(r.field("identity", "1"), Restriction::General, "{name}");
            assert_eq!(r.field("health", "23a"), Restriction::Restricted, "{name}");
            assert_eq!(
                r.field("family", "30.c2"),
                Restriction::Restricted,
                "{name}"
            );
            assert_eq!(r.field("history", "29a"), Restriction::Restricted, "{name}");
            assert_eq!(r.field("honours", "22"), Restriction::Secret, "{name}");
            assert_eq!(r.field("honours", "21"), Restriction::General, "{name}");
            assert_eq!(r.fact("discipline"), Restriction::Secret, "{name}");
            assert_eq!(r.fact("person_id"), Restriction::Restricted, "{name}");
        }
    }

    #[test]
    fn clearance_follows_the_right() {
        assert_eq!(
            Restriction::clearance_of(AccessRight::Admin),
            Restriction::Secret
        );
        assert_eq!(
            Restriction::clearance_of(AccessRight::Update),
            Restriction::Restricted
        );
        assert_eq!(
            Restriction::clearance_of(AccessRight::Access),
            Restriction::General
        );
        assert!(Restriction::Secret > Restriction::Restricted);
    }

    #[test]
    fn unknown_names_are_rejected() {
        let mut m = RestrictionMap::default();
        m.fields.insert("99z".into(), Restriction::Secret);
        assert!(m.validate().is_err());
    }
}

//! What a reader gets to see of a dossier.
//!
//! The ground of the read ([`ReadBasis`]) gives a clearance; each field's
//! level comes from the profile's `[restrictions]`. Fields above the
//! clearance (or outside a consent's sections) are left out and listed as
//! withheld; sealed fields the reader may see are opened with the dossier's
//! data key. The caller then records an `AccessLogged` event naming every
//! restricted or secret field it returned (for an inspector, whatever it
//! returned: every read under an inspection is logged). An inspection's
//! clearance is the one its decision grants, general by default.

use std::collections::BTreeMap;

use hoso_commands::sealing::{Keyring, PERSON_ID_CONTEXT};
use hoso_commands::workflows::ReadBasis;
use hoso_domain::restriction::{Restriction, RestrictionMap, seal_context};
use hoso_projections::IdentifierSealer;
use hoso_projections::views::{
    Approval, Award, Dated, DossierView, Evaluation, Field, HistoryEntry, Planning, Rank, Salary,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::problem::Problem;

/// One field as returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldOut {
    /// Form field code.
    pub field: String,
    /// Table row (0 outside tables).
    pub row: u32,
    /// Value.
    pub value: String,
    /// Its restriction level: `general`, `restricted` or `secret`.
    #[schema(value_type = String)]
    pub level: Restriction,
}

/// How the read was allowed and what it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AccessInfo {
    /// The ground: `own-data`, `right:<admin|update|access>`,
    /// `delegation:<id>`, `consent:<id>` or `inspection:<id>`.
    pub basis: String,
    /// Highest level shown: `general`, `restricted` or `secret`.
    #[schema(value_type = String)]
    pub clearance: Restriction,
    /// What was left out, as `section/field#row` or a fact's name.
    pub withheld: Vec<String>,
}

/// A dossier as a reader may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DossierOut {
    /// Dossier id.
    pub id: String,
    /// Stream revision (also the `ETag`).
    pub revision: u64,
    /// Identification number, when cleared.
    pub person_id: Option<String>,
    /// Name.
    pub full_name: String,
    /// Category.
    pub category: String,
    /// Managing unit.
    pub managing_unit: String,
    /// Employing unit.
    pub employing_unit: String,
    /// Employment status.
    pub status: String,
    /// In the archive.
    pub archived: bool,
    /// Review cycle state.
    #[schema(value_type = String)]
    pub workflow: hoso_domain::review::ReviewState,
    /// Approved sections in force.
    pub sections: BTreeMap<String, Vec<FieldOut>>,
    /// Declared sections awaiting review and approval.
    pub pending: BTreeMap<String, Vec<FieldOut>>,
    /// Rank or title in effect.
    pub rank: Option<Dated<Rank>>,
    /// Salary in effect.
    pub salary: Option<Dated<Salary>>,
    /// Positions held.
    pub positions: Vec<Dated<String>>,
    /// Awards.
    pub awards: Vec<Award>,
    /// Discipline (form, effective date); empty, and named in
    /// `access.withheld`, for a reader not cleared for it (secret by default).
    pub discipline: Vec<Dated<String>>,
    /// Evaluations.
    pub evaluations: Vec<Evaluation>,
    /// Plannings (quy hoạch) in effect: position, unit and period.
    pub planning: Vec<Dated<Planning>>,
    /// Signed approvals.
    pub approvals: Vec<Approval>,
    /// Effective date of the view, if not today.
    pub as_of: Option<String>,
    /// Recorded date of the view, if not now.
    pub known_at: Option<String>,
    /// How the read was allowed and what was withheld.
    pub access: AccessInfo,
}

/// What a filtered read revealed at `restricted` or above (to be logged).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Revealed(pub Vec<String>);

/// Applies the restriction levels of a profile and opens sealed fields.
pub struct Filter<'a> {
    /// The profile's levels.
    pub map: &'a RestrictionMap,
    /// Field keys.
    pub keyring: &'a Keyring,
    /// The ground of the read.
    pub basis: &'a ReadBasis,
    /// The dossier.
    pub dossier_id: &'a str,
    /// Withheld lists already computed for this profile, if the caller keeps
    /// them.
    pub cache: Option<&'a WithheldCache>,
}

/// The withheld list of each clearance, computed once per server (the
/// profile does not change while it runs).
#[derive(Debug, Default)]
pub struct WithheldCache([std::sync::OnceLock<Vec<String>>; 3]);

impl Filter<'_> {
    fn clearance(&self) -> Restriction {
        self.basis.clearance()
    }

    fn sees(&self, section: &str, level: Restriction) -> bool {
        level <= self.clearance() && self.basis.covers_section(section)
    }

    /// The dossier's identification number, opened from its sealed hex.
    fn open_person_id(&self, sealed_hex: &str) -> Result<String, Problem> {
        let bytes = hex::decode(sealed_hex).map_err(|e| Problem::internal(&e))?;
        let plain = self
            .keyring
            .open_sealed(self.dossier_id, PERSON_ID_CONTEXT, &bytes)?;
        String::from_utf8(plain).map_err(|e| Problem::internal(&e))
    }

    fn open(&self, field: &str, row: u32, sealed_hex: &str) -> Result<String, Problem> {
        let bytes = hex::decode(sealed_hex).map_err(|e| Problem::internal(&e))?;
        let plain = self
            .keyring
            .open_sealed(self.dossier_id, &seal_context(field, row), &bytes)?;
        String::from_utf8(plain).map_err(|e| Problem::internal(&e))
    }

    /// The SHA-256 of a restricted section's supporting document, sealed in
    /// its declaration.
    fn open_digest(&self, sealed_hex: &str) -> Result<Vec<u8>, Problem> {
        let bytes = hex::decode(sealed_hex).map_err(|e| Problem::internal(&e))?;
        Ok(self.keyring.open_sealed(
            self.dossier_id,
            hoso_commands::workflows::ATTACHMENT_DIGEST_CONTEXT,
            &bytes,
        )?)
    }

    /// The level of a section's supporting documents: its own level, or the
    /// profile's default.
    fn section_level(&self, section: &str) -> Restriction {
        self.map
            .sections
            .get(section)
            .copied()
            .unwrap_or(self.map.default)
    }

    /// [`Self::withheld`], computed once per clearance for the grounds that
    /// are not consents (a consent's list depends on its sections).
    fn withheld_list(&self) -> Vec<String> {
        match (self.cache, self.basis) {
            (
                Some(cache),
                ReadBasis::Own
                | ReadBasis::Right(_)
                | ReadBasis::Delegation { .. }
                | ReadBasis::Inspection { .. },
            ) => cache.0[self.clearance() as usize]
                .get_or_init(|| self.withheld())
                .clone(),
            _ => self.withheld(),
        }
    }

    /// Everything this reader may not see, decided by the ground alone and
    /// never by what the dossier holds: a list built from the values present
    /// would tell a reader below clearance that, say, a discipline exists.
    fn withheld(&self) -> Vec<String> {
        let mut out = Vec::new();
        for spec in hoso_domain::form::SECTIONS {
            for field in spec.fields {
                if !self.sees(spec.code, self.map.field(spec.code, field)) {
                    out.push(format!("{}/{field}", spec.code));
                }
            }
        }
        for (fact, section) in FACTS {
            if !self.sees(section, self.map.fact(fact)) {
                out.push((*fact).to_owned());
            }
        }
        out
    }

    fn sections(
        &self,
        sections: BTreeMap<String, Vec<Field>>,
        revealed: &mut Revealed,
    ) -> Result<BTreeMap<String, Vec<FieldOut>>, Problem> {
        let mut out = BTreeMap::new();
        for (section, fields) in sections {
            let mut kept = Vec::new();
            for f in fields {
                let level = self.map.field(&section, &f.field);
                if !self.sees(&section, level) {
                    continue;
                }
                let value = match &f.sealed {
                    Some(s) => self.open(&f.field, f.row, s)?,
                    None => f.value,
                };
                if level.is_sealed() {
                    revealed.0.push(format!("{section}/{}#{}", f.field, f.row));
                }
                kept.push(FieldOut {
                    field: f.field,
                    row: f.row,
                    value,
                    level,
                });
            }
            if !kept.is_empty() {
                out.insert(section, kept);
            }
        }
        Ok(out)
    }

    /// Whether a fact outside the form is visible; records it when restricted.
    fn fact(&self, name: &str, revealed: &mut Revealed) -> bool {
        let section = FACTS
            .iter()
            .find(|(f, _)| *f == name)
            .map_or("identity", |(_, s)| *s);
        let level = self.map.fact(name);
        let sees = self.sees(section, level);
        if sees && level.is_sealed() {
            revealed.0.push(name.to_owned());
        }
        sees
    }

    /// The dossier as this reader may see it, and what of it was restricted.
    pub fn dossier(&self, v: DossierView) -> Result<(DossierOut, Revealed), Problem> {
        let mut revealed = Revealed::default();
        let sections = self.sections(v.sections, &mut revealed)?;
        let pending = self.sections(v.pending, &mut revealed)?;
        let mut r = |name: &str| self.fact(name, &mut revealed);
        let person_id = if r("person_id") {
            Some(self.open_person_id(&v.person_id_sealed)?)
        } else {
            None
        };
        let discipline = if r("discipline") {
            v.discipline
        } else {
            Vec::new()
        };
        let rank = if r("rank") { v.rank } else { None };
        let salary = if r("salary") { v.salary } else { None };
        let positions = if r("positions") {
            v.positions
        } else {
            Vec::new()
        };
        let awards = if r("awards") { v.awards } else { Vec::new() };
        let evaluations = if r("evaluations") {
            v.evaluations
        } else {
            Vec::new()
        };
        let planning = if r("planning") {
            v.planning
        } else {
            Vec::new()
        };
        Ok((
            DossierOut {
                id: v.id,
                revision: v.revision,
                person_id,
                full_name: v.full_name,
                category: v.category,
                managing_unit: v.managing_unit,
                employing_unit: v.employing_unit,
                status: v.status,
                archived: v.archived,
                workflow: v.workflow,
                sections,
                pending,
                rank,
                salary,
                positions,
                awards,
                discipline,
                evaluations,
                planning,
                approvals: v.approvals,
                as_of: v.as_of,
                known_at: v.known_at,
                access: AccessInfo {
                    basis: self.basis.describe(),
                    clearance: self.clearance(),
                    withheld: self.withheld_list(),
                },
            },
            revealed,
        ))
    }

    /// The history with every diff item above the reader's clearance
    /// withheld and sealed values opened. An event about a secret fact the
    /// reader may not see keeps only its revision, position and time.
    pub fn history(
        &self,
        entries: Vec<HistoryEntry>,
    ) -> Result<(Vec<HistoryEntry>, Revealed), Problem> {
        let mut revealed = Revealed::default();
        let mut out = Vec::with_capacity(entries.len());
        for mut e in entries {
            if e.event_type == "dossier.DisciplineImposed"
                && !self.fact("discipline", &mut revealed)
            {
                e.event_type = "withheld".into();
                e.document = None;
                e.effective = None;
                e.diff = serde_json::json!([{ "withheld": "discipline" }]);
                out.push(e);
                continue;
            }
            if let Value::Array(items) = &mut e.diff {
                for item in items.iter_mut() {
                    self.history_item(item, &mut revealed)?;
                }
            }
            out.push(e);
        }
        Ok((out, revealed))
    }

    fn history_item(&self, item: &mut Value, revealed: &mut Revealed) -> Result<(), Problem> {
        if let Some(opened) = item.get_mut("opened").and_then(Value::as_object_mut) {
            // The read model keeps the number sealed; the reader sees it
            // opened, or withheld, never the ciphertext.
            let sealed = opened.remove("person_id_sealed");
            let shown = match sealed.as_ref().and_then(Value::as_str) {
                Some(hex) if self.fact("person_id", revealed) => {
                    Value::String(self.open_person_id(hex)?)
                }
                _ => Value::String("(withheld)".into()),
            };
            opened.insert("person_id".into(), shown);
            return Ok(());
        }
        let section = item
            .get("section")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let field = item.get("field").and_then(Value::as_str).map(str::to_owned);
        let (section, field) = match (section, field) {
            (Some(section), Some(field)) => (section, field),
            (Some(section), None) => {
                // A section's supporting documents (BT 6.3).
                if !self.sees(&section, self.section_level(&section)) {
                    *item = serde_json::json!({ "section": section, "withheld": true });
                } else if let Some(sealed) = item
                    .as_object_mut()
                    .and_then(|o| o.remove("sealed_attachments"))
                {
                    let mut opened = Vec::new();
                    for h in sealed.as_array().into_iter().flatten() {
                        let h = h.as_str().unwrap_or_default();
                        opened.push(Value::String(hex::encode(self.open_digest(h)?)));
                    }
                    revealed.0.push(format!("{section}/attachments"));
                    item["attachments"] = Value::Array(opened);
                }
                return Ok(());
            }
            (None, _) => {
                // Facts outside the form (rank, units, status): a consent
                // limited to some sections does not reach them.
                if matches!(self.basis, ReadBasis::Consent { sections, .. } if !sections.is_empty())
                {
                    *item = serde_json::json!({ "withheld": true });
                }
                return Ok(());
            }
        };
        let row = item
            .get("row")
            .and_then(Value::as_u64)
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(0);
        let level = self.map.field(&section, &field);
        if !self.sees(&section, level) {
            *item = serde_json::json!({
                "section": section, "field": field, "row": row, "withheld": true,
            });
            return Ok(());
        }
        if level.is_sealed() {
            revealed.0.push(format!("{section}/{field}#{row}"));
        }
        if item.get("sealed").and_then(Value::as_bool) == Some(true) {
            let open = |k: &str| -> Result<Value, Problem> {
                Ok(match item.get(k).and_then(Value::as_str) {
                    Some(h) => Value::String(self.open(&field, row, h)?),
                    None => Value::Null,
                })
            };
            let (from, to) = (open("from_sealed")?, open("to_sealed")?);
            *item = serde_json::json!({
                "section": section, "field": field, "row": row, "from": from, "to": to,
            });
        }
        Ok(())
    }

    /// The level at which the dossier's history cites an attachment, or
    /// `None` when it does not cite it: a decision's scan takes the level of
    /// what the decision is about, a proof the level of its section.
    pub fn attachment_level(&self, entries: &[HistoryEntry], sha: &str) -> Option<Restriction> {
        let mut level: Option<Restriction> = None;
        let mut cite = |l: Restriction| level = Some(level.map_or(l, |cur| cur.min(l)));
        for e in entries {
            let doc_sha = e
                .document
                .as_ref()
                .and_then(|d| d.get("attachment_sha256"))
                .and_then(Value::as_str);
            if doc_sha == Some(sha) {
                cite(if e.event_type == "dossier.DisciplineImposed" {
                    self.map.fact("discipline")
                } else {
                    Restriction::General
                });
            }
            if let Value::Array(items) = &e.diff {
                for item in items {
                    let cited = item
                        .get("attachments")
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.iter().any(|h| h.as_str() == Some(sha)))
                        || item
                            .get("sealed_attachments")
                            .and_then(Value::as_array)
                            .is_some_and(|a| {
                                a.iter().any(|h| {
                                    // One that cannot be opened (no key) cites nothing
                                    // this server can show.
                                    self.open_digest(h.as_str().unwrap_or_default())
                                        .is_ok_and(|d| hex::encode(d) == sha)
                                })
                            });
                    if cited && let Some(section) = item.get("section").and_then(Value::as_str) {
                        cite(self.section_level(section));
                    }
                }
            }
        }
        level
    }

    /// Whether the reader may see a fact shown outside the form's sections
    /// (`rank`, `positions`, …), without recording it as revealed: for a list
    /// that shows the fact only where it may.
    pub fn shows(&self, fact: &str) -> bool {
        self.fact(fact, &mut Revealed::default())
    }

    /// Whether the reader may see something of `level` in `section`.
    pub fn may_see(&self, section: &str, level: Restriction) -> bool {
        self.sees(section, level)
    }
}

/// Facts shown outside the form's sections, and the section a consent must
/// cover for them.
const FACTS: &[(&str, &str)] = &[
    ("person_id", "identity"),
    ("discipline", "honours"),
    ("rank", "rank_salary"),
    ("salary", "rank_salary"),
    ("positions", "recruitment"),
    ("awards", "honours"),
    ("evaluations", "honours"),
    ("planning", "recruitment"),
];

/// The field keyring as the read model's [`IdentifierSealer`]: the read side
/// holds no key, so the node hands it this when it builds the read model.
#[derive(Debug, Clone)]
pub struct KeyringSealer(pub std::sync::Arc<Keyring>);

impl IdentifierSealer for KeyringSealer {
    fn person_key(&self, person_id: &str) -> String {
        self.0.person_key(person_id)
    }

    fn seal_person_id(
        &self,
        dossier_id: &str,
        person_id: &str,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        // As the commands layer seals a new event's number, so both open alike.
        Ok(self
            .0
            .seal_stable(dossier_id, PERSON_ID_CONTEXT, person_id.as_bytes())?)
    }
}

/// The field keyring as the national exchange's opener: the sync feed opens
/// what the profile says the national database receives, in the document
/// it serves and nowhere else.
impl hoso_projections::exchange::SealedOpener for KeyringSealer {
    fn open_person_id(
        &self,
        dossier_id: &str,
        sealed: &[u8],
    ) -> Result<String, hoso_projections::exchange::OpenError> {
        let plain = self.0.open_sealed(dossier_id, PERSON_ID_CONTEXT, sealed)?;
        Ok(String::from_utf8(plain)?)
    }

    fn open_field(
        &self,
        dossier_id: &str,
        field: &str,
        row: u32,
        sealed: &[u8],
    ) -> Result<String, hoso_projections::exchange::OpenError> {
        let plain = self
            .0
            .open_sealed(dossier_id, &seal_context(field, row), sealed)?;
        Ok(String::from_utf8(plain)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use hoso_domain::profile::Profile;
    use hoso_schemas::pb::common::AccessRight;

    fn field(f: &str, row: u32, value: &str) -> Field {
        Field {
            field: f.into(),
            row,
            value: value.into(),
            sealed: None,
        }
    }

    fn view(keyring: &Keyring) -> DossierView {
        let sealed = keyring
            .seal("d-1", &seal_context("25a", 0), b"001090001234")
            .unwrap();
        let mut identity = vec![field("1", 0, "NGUYỄN VĂN AN")];
        identity.push(Field {
            sealed: Some(hex::encode(sealed)),
            ..field("25a", 0, "")
        });
        DossierView {
            id: "d-1".into(),
            revision: 3,
            person_id_sealed: hex::encode(
                keyring
                    .seal_stable("d-1", PERSON_ID_CONTEXT, b"001090001234")
                    .unwrap(),
            ),
            full_name: "Nguyễn Văn An".into(),
            category: "cong_chuc".into(),
            managing_unit: "u".into(),
            employing_unit: "u".into(),
            status: "active".into(),
            archived: false,
            workflow: hoso_domain::review::ReviewState::Approved,
            sections: [
                ("identity".to_owned(), identity),
                (
                    "honours".to_owned(),
                    vec![field("22", 0, "Khiển trách 2024")],
                ),
            ]
            .into(),
            pending: BTreeMap::new(),
            rank: None,
            salary: None,
            positions: vec![],
            awards: vec![],
            discipline: vec![],
            evaluations: vec![],
            planning: vec![],
            approvals: vec![],
            as_of: None,
            known_at: None,
        }
    }

    fn read(basis: ReadBasis) -> (DossierOut, Revealed) {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Keyring::create(dir.path(), None).unwrap();
        let profile = Profile::load("national").unwrap();
        let f = Filter {
            map: profile.restrictions(),
            keyring: &keyring,
            basis: &basis,
            dossier_id: "d-1",
            cache: None,
        };
        f.dossier(view(&keyring)).unwrap()
    }

    #[test]
    fn bt_4_3_access_right_sees_general_fields_only_and_is_told_what_was_withheld() {
        let (out, revealed) = read(ReadBasis::Right(AccessRight::Access));
        assert_eq!(out.person_id, None);
        assert_eq!(out.sections["identity"].len(), 1);
        assert!(!out.sections.contains_key("honours"));
        for w in [
            "honours/22",
            "identity/25a",
            "family/30.c2",
            "person_id",
            "discipline",
        ] {
            assert!(out.access.withheld.iter().any(|x| x == w), "{w}");
        }
        assert!(!out.access.withheld.iter().any(|x| x == "identity/1"));
        // Always a list; that it is withheld, not empty, is said above.
        assert!(out.discipline.is_empty());
        assert!(
            revealed.0.is_empty(),
            "nothing restricted read, nothing to log"
        );
    }

    #[test]
    fn hy_4_4_update_right_opens_restricted_fields_but_not_secret_ones() {
        let (out, revealed) = read(ReadBasis::Right(AccessRight::Update));
        let id = &out.sections["identity"][1];
        assert_eq!(
            (id.value.as_str(), id.level),
            ("001090001234", Restriction::Restricted)
        );
        assert_eq!(out.access.withheld, ["honours/22", "discipline"]);
        assert_eq!(revealed.0, ["identity/25a#0", "person_id"]);
        assert_eq!(out.person_id.as_deref(), Some("001090001234"));
    }

    #[test]
    fn the_keyring_opens_for_the_national_exchange_only_what_the_allowed_level_sends() {
        use hoso_projections::exchange::{Fact, to_document};
        let dir = tempfile::tempdir().unwrap();
        let keyring = std::sync::Arc::new(Keyring::create(dir.path(), None).unwrap());
        let profile = Profile::load("national").unwrap();
        let mut v = view(&keyring);
        v.approvals.push(Approval {
            revision: 2,
            signer: "h".into(),
            delegated_from: None,
            key_id: "k".into(),
            signer_name: None,
            delegated_from_name: None,
        });
        let opener = KeyringSealer(keyring);
        let doc = |allowed| to_document(&v, 2, profile.restrictions(), allowed, &opener).unwrap();
        let restricted = doc(Restriction::Restricted);
        assert_eq!(
            restricted.identification_number,
            Fact::Sent("001090001234".to_owned())
        );
        let identity = &restricted.sections.0[0].rows[0].values;
        assert!(identity.contains(&("identification_number", "001090001234".to_owned())));
        let general = doc(Restriction::General);
        assert_eq!(general.identification_number, Fact::Withheld);
        assert_eq!(general.sections.0[0].rows[0].values.len(), 1);
    }

    #[test]
    fn the_history_opens_the_sealed_number_for_a_cleared_reader_only() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Keyring::create(dir.path(), None).unwrap();
        let profile = Profile::load("national").unwrap();
        let sealed = keyring
            .seal_stable("d-1", PERSON_ID_CONTEXT, b"001090001234")
            .unwrap();
        let entry = HistoryEntry {
            revision: 0,
            position: 7,
            event_type: "dossier.DossierOpened".into(),
            actor: "a".into(),
            actor_name: None,
            recorded_at: "2026-01-05T00:00:00Z".into(),
            effective: None,
            document: None,
            diff: serde_json::json!([{ "opened": {
                "person_id_sealed": hex::encode(sealed), "full_name": "Nguyễn Văn An",
            }}]),
        };
        let history = |basis: ReadBasis| {
            let f = Filter {
                map: profile.restrictions(),
                keyring: &keyring,
                basis: &basis,
                dossier_id: "d-1",
                cache: None,
            };
            let (out, _) = f.history(vec![entry.clone()]).unwrap();
            out[0].diff[0]["opened"].clone()
        };
        let cleared = history(ReadBasis::Right(AccessRight::Update));
        assert_eq!(cleared["person_id"], "001090001234");
        assert!(cleared.get("person_id_sealed").is_none());
        let below = history(ReadBasis::Right(AccessRight::Access));
        assert_eq!(below["person_id"], "(withheld)");
        assert!(below.get("person_id_sealed").is_none());
        assert_eq!(below["full_name"], "Nguyễn Văn An");
    }

    #[test]
    fn the_person_sees_everything_of_their_own() {
        let (out, revealed) = read(ReadBasis::Own);
        assert!(out.access.withheld.is_empty());
        assert_eq!(out.sections["honours"][0].value, "Khiển trách 2024");
        // Including the (empty) discipline list, which is secret.
        assert_eq!(revealed.0.len(), 4);
    }

    #[test]
    fn bt_4_5_a_consent_covers_its_sections_only() {
        let (out, _) = read(ReadBasis::Consent {
            consent_id: "c".into(),
            document_number: "7/GĐY".into(),
            sections: vec!["honours".into()],
        });
        assert!(!out.sections.contains_key("identity"));
        assert!(out.access.withheld.contains(&"identity/1".to_owned()));
        assert_eq!(
            out.person_id, None,
            "the number belongs to the identity section"
        );
        assert_eq!(out.rank, None);
        // Secret stays secret under a consent.
        assert!(out.access.withheld.contains(&"honours/22".to_owned()));
    }
}

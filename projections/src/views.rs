//! Reading a dossier and the organisation from the read model.
//!
//! A dossier view is folded on demand from its history rows, which makes
//! both time axes exact: `known_at` drops what the ledger had not recorded
//! by the end of that day (Vietnam time), `as_of` drops decisions not yet
//! in effect on that date. Facts that a later decision replaces (rank,
//! salary, position, status, units) are taken by effective date, not by
//! the order they were recorded, so a back-dated decision lands where the
//! law puts it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Utc};
use hoso_domain::org::OrgTree;
use hoso_domain::review::ReviewState;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::EmploymentStatus;
use hoso_schemas::pb::dossier::{AppointmentKind, FieldEntry};
use hoso_schemas::{DomainEvent, Spelling};
use serde::Serialize;

use crate::apply::{decode_current, effective_of};
use crate::dates::date_text;
use crate::{ProjectionError, ReadModel};

/// One field value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Field {
    /// Field code of the form.
    pub field: String,
    /// Table row (0 outside tables).
    pub row: u32,
    /// Value (empty while sealed).
    pub value: String,
    /// The sealed value of a restricted or secret field (hex AEAD
    /// ciphertext); the read model holds no keys, the API opens it for a
    /// reader cleared to see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

fn fields(entries: &[FieldEntry]) -> Vec<Field> {
    entries
        .iter()
        .map(|f| Field {
            field: f.field_code.clone(),
            row: f.row,
            value: f.value.clone(),
            sealed: (!f.sealed.is_empty()).then(|| hex::encode(&f.sealed)),
        })
        .collect()
}

/// A fact with the date it takes effect and the revision that recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dated<T> {
    /// Effective date.
    pub effective: Option<String>,
    /// Dossier revision that recorded it.
    pub revision: u64,
    /// The fact.
    pub value: T,
}

/// Rank or professional title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rank {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// Salary step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Salary {
    /// Rank code.
    pub rank_code: String,
    /// Step.
    pub step: u32,
    /// Coefficient in hundredths.
    pub coefficient_x100: u32,
    /// Salary group.
    pub salary_group: String,
}

/// A planning (quy hoạch): the position a person is planned for and the
/// period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Planning {
    /// The position planned for.
    pub position: String,
    /// Unit of the position.
    pub org_code: String,
    /// First year of the period.
    pub from_year: u32,
    /// Last year of the period (inclusive).
    pub until_year: u32,
}

/// A signed approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// Revision approved.
    pub revision: u64,
    /// Signer.
    pub signer: String,
    /// Delegating head.
    pub delegated_from: Option<String>,
    /// Key id.
    pub key_id: String,
    /// The signer's name today, filled by the API (the log holds the account id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_name: Option<String>,
    /// The delegating head's name today, filled by the API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_from_name: Option<String>,
}

/// A dossier as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierView {
    /// Dossier id.
    pub id: String,
    /// Last revision folded (the `ETag`).
    pub revision: u64,
    /// Identification number sealed under the dossier's data key, hex
    /// (opened by the API for a reader cleared to see it).
    pub person_id_sealed: String,
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
    /// Review cycle.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub workflow: ReviewState,
    /// Approved sections, in force.
    pub sections: BTreeMap<String, Vec<Field>>,
    /// Declared sections waiting for review and approval.
    pub pending: BTreeMap<String, Vec<Field>>,
    /// Rank or title in effect.
    pub rank: Option<Dated<Rank>>,
    /// Salary in effect.
    pub salary: Option<Dated<Salary>>,
    /// Positions held.
    pub positions: Vec<Dated<String>>,
    /// Awards.
    pub awards: Vec<Award>,
    /// Discipline in effect or past (form, effective date).
    pub discipline: Vec<Dated<String>>,
    /// Annual evaluations.
    pub evaluations: Vec<Evaluation>,
    /// Plannings in effect, by effective date.
    pub planning: Vec<Dated<Planning>>,
    /// Approvals.
    pub approvals: Vec<Approval>,
    /// Effective date the view was taken at, if not today.
    pub as_of: Option<String>,
    /// Recorded date the view was taken at, if not now.
    pub known_at: Option<String>,
}

/// An award (khen thưởng).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Award {
    /// Form, as the decision names it.
    pub form: String,
    /// Year.
    pub year: u32,
}

/// An annual evaluation (đánh giá, xếp loại).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    /// Year evaluated.
    pub year: u32,
    /// Grade, e.g. `excellent`.
    pub grade: String,
}

/// One event of a dossier's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// Revision.
    pub revision: u64,
    /// Global position.
    pub position: u64,
    /// Event type.
    pub event_type: String,
    /// Actor.
    pub actor: String,
    /// The actor's name today, filled by the API (the log holds the account
    /// id); absent for an actor that is no account (an import, the system).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
    /// Effective date, when the event has one.
    pub effective: Option<String>,
    /// Source document.
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub document: Option<serde_json::Value>,
    /// Field-level changes it caused.
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub diff: serde_json::Value,
}

struct Row {
    revision: u64,
    ty: String,
    recorded_at: chrono::DateTime<Utc>,
    effective: Option<String>,
    body: Vec<u8>,
}

fn later<T>(slot: &mut Option<Dated<T>>, candidate: Dated<T>) {
    let replace = match slot {
        None => true,
        Some(cur) => (&candidate.effective, candidate.revision) >= (&cur.effective, cur.revision),
    };
    if replace {
        *slot = Some(candidate);
    }
}

impl ReadModel {
    /// The dossier now, or as it stood (`as_of`, effective date) as known
    /// at the end of `known_at` (recorded date, Vietnam time).
    pub fn dossier(
        &self,
        id: &str,
        as_of: Option<NaiveDate>,
        known_at: Option<NaiveDate>,
    ) -> Result<Option<DossierView>, ProjectionError> {
        let mut view = self.fold_dossier(id, as_of, known_at, u64::MAX)?;
        if let Some(v) = view.as_mut() {
            // A merger or split moves people on its effective date (DL 5.5),
            // whether or not its move events are written yet; a read as known
            // at a date knows only the restructurings recorded by then.
            let on = as_of.unwrap_or_else(|| self.today());
            let mut hold = |org: &OrgTree| {
                v.managing_unit = org.holder_at(&v.managing_unit, on);
                v.employing_unit = org.holder_at(&v.employing_unit, on);
            };
            match known_at {
                Some(k) => hold(&self.org_known_at(k)?),
                None => self.with_org(hold)?,
            }
        }
        Ok(view)
    }

    /// The organisation as recorded by the end of `known_at` (Vietnam time),
    /// folded from the read model's copy of its events.
    pub fn org_known_at(&self, known_at: NaiveDate) -> Result<OrgTree, ProjectionError> {
        let until = known_at.succ_opt().map_or(i64::MAX, |d| {
            hoso_domain::calendar::start_of_day_in_vietnam(d).timestamp_micros()
        });
        self.with_reader(|conn| {
            let mut org = OrgTree::new();
            let mut stmt = conn.prepare_cached(
                "SELECT stream, type, body FROM org_events WHERE recorded_at < ?1
                 ORDER BY position",
            )?;
            let mut rows = stmt.query([until])?;
            while let Some(r) = rows.next()? {
                let stream: String = r.get(0)?;
                let ty: String = r.get(1)?;
                let body: Vec<u8> = r.get(2)?;
                org.apply(&stream, &decode_current(&self.registry, &ty, &body)?);
            }
            Ok(org)
        })
    }

    /// The dossier as it stood at stream revision `revision`: its history
    /// folded up to and including that revision, every recorded decision
    /// applied whatever its effective date. `None` if the dossier is unknown;
    /// a revision past its last one gives its latest state.
    pub fn dossier_at_revision(
        &self,
        id: &str,
        revision: u64,
    ) -> Result<Option<DossierView>, ProjectionError> {
        self.fold_dossier(id, None, None, revision)
    }

    fn fold_dossier(
        &self,
        id: &str,
        as_of: Option<NaiveDate>,
        known_at: Option<NaiveDate>,
        up_to: u64,
    ) -> Result<Option<DossierView>, ProjectionError> {
        let up_to = i64::try_from(up_to).unwrap_or(i64::MAX);
        let rows = self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT revision, type, recorded_at, effective, body FROM history
                 WHERE dossier_id = ?1 AND revision <= ?2 ORDER BY revision",
            )?;
            let rows = stmt
                .query_map(rusqlite::params![id, up_to], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(rev, ty, at, eff, body)| {
                    Ok(Row {
                        revision: u64::try_from(rev).unwrap_or(0),
                        ty,
                        recorded_at: chrono::DateTime::from_timestamp_micros(at)
                            .ok_or_else(|| ProjectionError::Corrupt(format!("recorded_at {at}")))?,
                        effective: eff,
                        body,
                    })
                })
                .collect::<Result<Vec<_>, ProjectionError>>()
        })?;
        let registry = &self.registry;
        let known_until = known_at
            .and_then(|d| d.succ_opt())
            .map(hoso_domain::calendar::start_of_day_in_vietnam);
        let as_of_text = as_of.map(date_text);
        let mut view: Option<DossierView> = None;
        for row in rows {
            if known_until.is_some_and(|k| row.recorded_at >= k) {
                break;
            }
            let in_effect = match (&as_of_text, &row.effective) {
                (Some(a), Some(e)) => e <= a,
                _ => true,
            };
            let event = decode_current(registry, &row.ty, &row.body)?;
            fold(&mut view, id, row.revision, &event, in_effect);
        }
        if let Some(v) = view.as_mut() {
            v.as_of = as_of_text;
            v.known_at = known_at.map(date_text);
        }
        Ok(view)
    }

    /// Every event of a dossier with its envelope and diff.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, ProjectionError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT revision, position, type, actor, recorded_at, effective, diff,
                        doc_number, doc_date, doc_issuer, doc_sha256
                 FROM history WHERE dossier_id = ?1 ORDER BY revision",
            )?;
            let rows = stmt
                .query_map([id], |r| {
                    let diff: String = r.get(6)?;
                    let number: Option<String> = r.get(7)?;
                    let sha: Option<Vec<u8>> = r.get(10)?;
                    let document = match number {
                        Some(number) => Some(serde_json::json!({
                            "number": number,
                            "date": r.get::<_, Option<String>>(8)?,
                            "issuer": r.get::<_, Option<String>>(9)?,
                            "attachment_sha256": sha.map(hex::encode),
                        })),
                        None => None,
                    };
                    Ok(HistoryEntry {
                        revision: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        position: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        event_type: r.get(2)?,
                        actor: r.get(3)?,
                        actor_name: None,
                        recorded_at: crate::dates::micros_text(r.get(4)?),
                        effective: r.get(5)?,
                        document,
                        diff: serde_json::from_str(&diff).unwrap_or(serde_json::Value::Null),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

fn fold(
    view: &mut Option<DossierView>,
    id: &str,
    revision: u64,
    event: &DomainEvent,
    in_effect: bool,
) {
    if let Some(opened) = opened_view(id, revision, event) {
        *view = Some(opened);
        return;
    }
    let Some(v) = view.as_mut() else { return };
    v.revision = revision;
    // The review cycle is the record's own; only decisions wait for their
    // effective date.
    if review_step(v, event) || !in_effect {
        return;
    }
    record_decision(v, revision, event);
}

/// The view of a dossier just opened or imported; `None` for other events.
fn opened_view(id: &str, revision: u64, event: &DomainEvent) -> Option<DossierView> {
    use DomainEvent as E;
    let open =
        |person_id_sealed: &[u8], name: &str, category: i32, managing: &str, employing: &str| {
            DossierView {
                id: id.to_owned(),
                revision,
                person_id_sealed: hex::encode(person_id_sealed),
                full_name: name.to_owned(),
                category: PersonnelCategory::spelling_of(category),
                managing_unit: managing.to_owned(),
                employing_unit: employing.to_owned(),
                status: EmploymentStatus::Active.spelling(),
                archived: false,
                workflow: ReviewState::opened(false),
                sections: BTreeMap::new(),
                pending: BTreeMap::new(),
                rank: None,
                salary: None,
                positions: Vec::new(),
                awards: Vec::new(),
                discipline: Vec::new(),
                evaluations: Vec::new(),
                planning: Vec::new(),
                approvals: Vec::new(),
                as_of: None,
                known_at: None,
            }
        };
    match event {
        E::DossierOpened(o) => Some(open(
            &o.person_id_sealed,
            &o.full_name,
            o.category,
            &o.managing_unit,
            &o.employing_unit,
        )),
        E::DossierImported(o) => {
            let mut v = open(
                &o.person_id_sealed,
                &o.full_name,
                o.category,
                &o.managing_unit,
                &o.employing_unit,
            );
            for s in &o.sections {
                v.pending.insert(s.section_code.clone(), fields(&s.fields));
            }
            v.workflow = ReviewState::opened(!v.pending.is_empty());
            Some(v)
        }
        _ => None,
    }
}

/// Applies a step of the review cycle, moving the state by the one state
/// machine, [`ReviewState::after`]; says whether the event was one.
fn review_step(v: &mut DossierView, event: &DomainEvent) -> bool {
    use DomainEvent as E;
    match event {
        E::DeclarationSubmitted(d) => {
            v.pending.insert(d.section_code.clone(), fields(&d.fields));
        }
        E::DeclarationReturned(r) => {
            v.pending.remove(&r.section_code);
        }
        E::DeclarationVerified(_) | E::DossierLocked(_) => {}
        E::ApprovalSigned(a) => {
            let pending = std::mem::take(&mut v.pending);
            v.sections.extend(pending);
            v.approvals.push(Approval {
                revision: a.revision,
                signer: a.signer.clone(),
                delegated_from: a.delegated_from.clone(),
                key_id: a.key_id.clone(),
                signer_name: None,
                delegated_from_name: None,
            });
        }
        _ => return false,
    }
    // Once, after the sections moved: the state machine needs only whether any
    // declared section still waits.
    v.workflow = v.workflow.after(event, !v.pending.is_empty());
    true
}

/// Applies a decision in effect: facts a later decision replaces are kept
/// by effective date.
fn record_decision(v: &mut DossierView, revision: u64, event: &DomainEvent) {
    use DomainEvent as E;
    let effective = effective_of(event);
    match event {
        E::RankChanged(r) => later(
            &mut v.rank,
            Dated {
                effective,
                revision,
                value: Rank {
                    code: r.rank_code.clone(),
                    name: r.rank_name.clone(),
                },
            },
        ),
        E::SalaryChanged(s) => later(
            &mut v.salary,
            Dated {
                effective,
                revision,
                value: Salary {
                    rank_code: s.rank_code.clone(),
                    step: s.step,
                    coefficient_x100: s.coefficient_x100,
                    salary_group: s.salary_group.clone(),
                },
            },
        ),
        E::AppointmentRecorded(a) => {
            if a.kind() == AppointmentKind::Relieved {
                v.positions.retain(|p| p.value != a.position_title);
            } else {
                v.positions.push(Dated {
                    effective,
                    revision,
                    value: a.position_title.clone(),
                });
            }
        }
        E::AwardGranted(a) => v.awards.push(Award {
            form: a.form.clone(),
            year: a.year,
        }),
        E::DisciplineImposed(d) => v.discipline.push(Dated {
            effective,
            revision,
            value: d.form().spelling(),
        }),
        E::EvaluationRecorded(e) => v.evaluations.push(Evaluation {
            year: e.year,
            grade: e.grade().spelling(),
        }),
        E::PlanningRecorded(p) => v.planning.push(Dated {
            effective,
            revision,
            value: Planning {
                position: p.position_title.clone(),
                org_code: p.org_code.clone(),
                from_year: p.from_year,
                until_year: p.until_year,
            },
        }),
        _ => move_or_status(v, event),
    }
}

/// Moves between units and status changes in effect.
fn move_or_status(v: &mut DossierView, event: &DomainEvent) {
    use DomainEvent as E;
    match event {
        E::DepartmentChanged(m) => v.employing_unit.clone_from(&m.to_org_code),
        E::TransferAccepted(t) => {
            v.managing_unit.clone_from(&t.org_code);
            v.employing_unit.clone_from(&t.org_code);
        }
        E::TransferForwarded(t) => v.employing_unit.clone_from(&t.to_org_code),
        E::ManagingUnitReassigned(m) => {
            if v.managing_unit == m.from_org_code {
                v.managing_unit.clone_from(&m.to_org_code);
            }
            if v.employing_unit == m.from_org_code {
                v.employing_unit.clone_from(&m.to_org_code);
            }
        }
        E::StatusChanged(s) => {
            v.status = s.status().spelling();
            v.archived = hoso_domain::dossier::is_archived_status(s.status());
        }
        _ => {}
    }
}

/// A node of the organisation tree on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgNode {
    /// Code.
    pub code: String,
    /// Name on that date.
    pub name: String,
    /// Parent on that date.
    pub parent: Option<String>,
    /// The agency it belongs to on that date: itself, unless it is an internal
    /// division, then its nearest parent that is not one (a move within the
    /// agency, DL 10.1, stays inside it).
    pub agency: Option<String>,
}

/// What headcount is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Personnel category.
    Category,
    /// Civil-service rank (ngạch).
    Rank,
    /// Professional title of public employees (chức danh nghề nghiệp, `V.` codes).
    Title,
    /// Job position held (vị trí việc làm): the latest appointment in force.
    JobPosition,
    /// Sex.
    Gender,
    /// Age band on the date.
    AgeBand,
    /// Ethnicity.
    Ethnicity,
    /// General education level.
    Education,
    /// Professional qualification level (trình độ chuyên môn), from item 15.2.
    Qualification,
    /// Party membership (`member` or `not_member`).
    PartyMember,
    /// Managing unit.
    Unit,
}

impl Dimension {
    /// Every dimension, in the order the API lists them.
    pub const ALL: [Self; 11] = [
        Self::Category,
        Self::Rank,
        Self::Title,
        Self::JobPosition,
        Self::Gender,
        Self::AgeBand,
        Self::Ethnicity,
        Self::Education,
        Self::Qualification,
        Self::PartyMember,
        Self::Unit,
    ];

    /// The API's name of the dimension.
    pub fn name(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Rank => "rank",
            Self::Title => "title",
            Self::JobPosition => "job_position",
            Self::Gender => "gender",
            Self::AgeBand => "age_band",
            Self::Ethnicity => "ethnicity",
            Self::Education => "education",
            Self::Qualification => "qualification",
            Self::PartyMember => "party_member",
            Self::Unit => "unit",
        }
    }

    /// Parses the API's name of a dimension.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == s)
    }

    /// The valid names, comma-separated (for a refusal to list).
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

/// Age band of a birth year on a date.
pub fn age_band(birth_year: Option<i64>, on: NaiveDate) -> &'static str {
    match birth_year.map(|y| i64::from(on.year()) - y) {
        None => "unknown",
        Some(a) if a < 30 => "under 30",
        Some(a) if a < 40 => "30-39",
        Some(a) if a < 50 => "40-49",
        Some(a) if a < 60 => "50-59",
        Some(_) => "60 and over",
    }
}

/// Staffing quota against the actual headcount of one unit's subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaReport {
    /// Unit.
    pub org_code: String,
    /// Year.
    pub year: u32,
    /// Quota decided for the year, if any.
    pub quota: Option<Staffing>,
    /// Active dossiers on 31 December of the year (civil servants include
    /// cadres and commune cadres).
    pub actual: Staffing,
}

/// Heads by the three lines of a staffing quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Staffing {
    /// Civil servants (biên chế công chức).
    pub civil_servants: u32,
    /// Public employees paid by the state budget (số lượng người làm việc).
    pub public_employees: u32,
    /// Contract workers (hợp đồng lao động).
    pub contract_workers: u32,
}

impl ReadModel {
    /// The organisation tree on `date`.
    pub fn tree_at(&self, date: NaiveDate) -> Result<Vec<OrgNode>, ProjectionError> {
        self.with_org(|org| {
            org.tree_at(date)
                .into_iter()
                .map(|(code, name, parent)| {
                    let agency = org.agency_of(&code, date);
                    OrgNode {
                        code,
                        name,
                        parent,
                        agency,
                    }
                })
                .collect()
        })
    }

    /// Ids of the dossiers managed or employed by any of `units`.
    pub fn dossiers_in_units(
        &self,
        units: &[String],
    ) -> Result<std::collections::HashSet<String>, ProjectionError> {
        let units: std::collections::HashSet<&str> = units.iter().map(String::as_str).collect();
        self.with_reader(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id, managing_unit, employing_unit FROM dossiers")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut out = std::collections::HashSet::new();
            for row in rows {
                let (id, m, e) = row?;
                if units.contains(m.as_str()) || units.contains(e.as_str()) {
                    out.insert(id);
                }
            }
            Ok(out)
        })
    }

    /// Units of the subtree under `code` on `date` (itself first), then the
    /// units restructured away by then whose people it holds that day
    /// (`OrgTree::holder_at`, DL 5.5), so that a dossier still recorded
    /// under a merged unit counts where it belongs on `date`; empty if the
    /// unit does not exist that day.
    pub fn subtree(&self, code: &str, date: NaiveDate) -> Result<Vec<String>, ProjectionError> {
        self.with_org(|org| {
            let mut units = org.subtree(code, date);
            if units.is_empty() {
                return units;
            }
            let held: Vec<String> = org
                .units()
                .values()
                .filter(|u| u.status().ceased_on().is_some_and(|c| c <= date))
                .map(|u| u.code().to_owned())
                .filter(|c| units.contains(&org.holder_at(c, date)))
                .collect();
            units.extend(held);
            units
        })
    }

    /// Active headcount of a subtree by a dimension, as the read model
    /// stands, with the tree of `date` (see [`crate::crosstab`]).
    pub fn headcount(
        &self,
        code: &str,
        date: NaiveDate,
        by: Dimension,
    ) -> Result<BTreeMap<String, u64>, ProjectionError> {
        let people = self.people_of(code, date)?;
        Ok(crate::crosstab::tally(&people, by, date))
    }

    /// Staffing quota against actual headcount for a unit's subtree.
    pub fn quota(&self, code: &str, year: u32) -> Result<QuotaReport, ProjectionError> {
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).unwrap_or(2000), 12, 31)
            .ok_or_else(|| ProjectionError::BadQuery(format!("year {year}")))?;
        let quota = self.with_org(|org| org::unit_quota(org, code, year))?;
        let by = self.headcount(code, date, Dimension::Category)?;
        let n = |k: &str| u32::try_from(by.get(k).copied().unwrap_or(0)).unwrap_or(u32::MAX);
        Ok(QuotaReport {
            org_code: code.to_owned(),
            year,
            quota,
            actual: Staffing {
                civil_servants: n("cong_chuc") + n("can_bo") + n("commune_cadre"),
                public_employees: n("vien_chuc"),
                contract_workers: n("nguoi_lao_dong"),
            },
        })
    }
}

mod org {
    use hoso_domain::org::{OrgTree, UnitLookup};

    pub(super) fn unit_quota(org: &OrgTree, code: &str, year: u32) -> Option<super::Staffing> {
        let q = org.unit(code)?.quota(year)?;
        Some(super::Staffing {
            civil_servants: q.civil_servants,
            public_employees: q.public_employees,
            contract_workers: q.contract_workers,
        })
    }
}

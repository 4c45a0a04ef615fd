//! One organisation unit as it stands on a date: name, kind, parent, life
//! status (and who receives its people, DL 5.5), staffing quotas by year,
//! the job positions in force and the approval authority in force (DT 11).
//! Folded from the org events the read model already keeps in its tree.

use chrono::NaiveDate;
use hoso_domain::org::{OrgStatus, OrgUnit, UnitLookup};
use serde::Serialize;

use crate::{ProjectionError, ReadModel};

/// A unit on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitView {
    /// Electronic identifier code (QĐ 20/2020/QĐ-TTg).
    pub code: String,
    /// Name in force on the date (its last name once ceased).
    pub name: String,
    /// Kind, e.g. `provincial_department`.
    pub kind: String,
    /// Parent recorded for the date.
    pub parent: Option<String>,
    /// First day the unit exists.
    pub established: NaiveDate,
    /// `active`, `merged`, `split` or `dissolved`, as recorded (a future
    /// date is shown in `ceases_on`).
    pub status: String,
    /// First day the unit no longer exists, if a decision ends it.
    pub ceases_on: Option<NaiveDate>,
    /// Successors of a merger or split, in the order decided.
    pub successors: Vec<String>,
    /// The unit that holds its people on the date (itself until it ceases;
    /// then the merger's successor or the split's first successor, DL 5.5).
    pub holder: String,
    /// Staffing quotas (biên chế), by year.
    pub quotas: Vec<QuotaView>,
    /// Job positions (vị trí việc làm) in force on the date, by code.
    pub job_positions: Vec<JobPositionView>,
    /// Approval authority in force on the date (DT 11), if assigned.
    pub approval_authority: Option<AuthorityView>,
}

/// The staffing quota of one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaView {
    /// Year.
    pub year: u32,
    /// Công chức.
    pub civil_servants: u32,
    /// Viên chức.
    pub public_employees: u32,
    /// Người lao động.
    pub contract_workers: u32,
}

/// A job position in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobPositionView {
    /// Position code, unique within the unit.
    pub code: String,
    /// Title.
    pub title: String,
    /// `leadership`, `professional`, `shared_professional` or `support`.
    pub group: String,
    /// Lowest rank or professional title code required (may be empty).
    pub required_rank_code: String,
    /// Number of people the position is for.
    pub headcount: u32,
}

/// Whose dossiers the unit's head approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorityView {
    /// Personnel categories, e.g. `cong_chuc`.
    pub categories: Vec<String>,
    /// Units (with everything below them) whose personnel are approved.
    pub subordinates: Vec<String>,
}

/// A proto enum's name without its prefix, in lower case: the spelling the
/// API takes in requests.
fn spelled(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

fn view(unit: &OrgUnit, holder: String, on: NaiveDate) -> UnitView {
    let (status, successors) = match unit.status() {
        OrgStatus::Active => ("active", Vec::new()),
        OrgStatus::Merged { into, .. } => ("merged", vec![into.clone()]),
        OrgStatus::Split { into, .. } => ("split", into.clone()),
        OrgStatus::Dissolved { .. } => ("dissolved", Vec::new()),
    };
    UnitView {
        code: unit.code().to_owned(),
        name: unit
            .name_at(on)
            .unwrap_or_else(|| unit.current_name())
            .to_owned(),
        kind: spelled(unit.kind().as_str_name(), "ORG_UNIT_KIND_"),
        parent: unit.parent_at(on).map(str::to_owned),
        established: unit.established(),
        status: status.to_owned(),
        ceases_on: unit.status().ceased_on(),
        successors,
        holder,
        quotas: unit
            .quotas()
            .iter()
            .map(|(year, q)| QuotaView {
                year: *year,
                civil_servants: q.civil_servants,
                public_employees: q.public_employees,
                contract_workers: q.contract_workers,
            })
            .collect(),
        job_positions: unit
            .job_positions_at(on)
            .into_values()
            .map(|p| JobPositionView {
                code: p.code.clone(),
                title: p.title.clone(),
                group: spelled(p.group.as_str_name(), "JOB_POSITION_GROUP_"),
                required_rank_code: p.required_rank_code.clone(),
                headcount: p.headcount,
            })
            .collect(),
        approval_authority: unit.approval_authority_at(on).map(|a| AuthorityView {
            categories: a
                .categories
                .iter()
                .map(|c| spelled(c.as_str_name(), "PERSONNEL_CATEGORY_"))
                .collect(),
            subordinates: a.subordinates.clone(),
        }),
    }
}

impl ReadModel {
    /// The unit `code` as it stands on `on`; `None` for a code never
    /// established.
    pub fn unit_at(&self, code: &str, on: NaiveDate) -> Result<Option<UnitView>, ProjectionError> {
        self.with_org(|org| org.unit(code).map(|u| view(u, org.holder_at(code, on), on)))
    }

    /// The units that had ceased by `on` (merged, split or dissolved on or
    /// before it), as they stood that day, by code: what the tree of that
    /// day no longer shows, with the successors that took their people
    /// (DL 5.5).
    pub fn ceased_by(&self, on: NaiveDate) -> Result<Vec<UnitView>, ProjectionError> {
        self.with_org(|org| {
            org.units()
                .values()
                .filter(|u| {
                    u.established() <= on && u.status().ceased_on().is_some_and(|c| c <= on)
                })
                .map(|u| view(u, org.holder_at(u.code(), on), on))
                .collect()
        })
    }
}

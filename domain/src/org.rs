//! The organisation aggregate: one stream per unit (`org-<code>`), and the
//! organisation tree folded from all of them.
//!
//! - [`OrgUnit`] is the state of one unit, rebuilt by [`evolve`] from the
//!   events of its stream: name history, parent, status, staffing quotas,
//!   job positions and approval authority, each effective-dated.
//! - [`decide`] is the pure decider: given the unit (or `None` before it is
//!   established), a command, the other units it must consult (parent,
//!   successors, subordinates) and today's date, it returns the events to
//!   append or an [`OrgRejection`] naming the rule that said no. It does no
//!   I/O and reads no clock; the caller injects `today`.
//! - [`OrgTree`] folds the org events of `$all` and answers the tree *at any
//!   date*: renames, mergers, splits and dissolutions all take effect on
//!   their effective date, so a scope check for a 2024 dossier sees the 2024
//!   tree even after the 2025 mergers.
//!
//! Why the tree is events and not configuration: units are renamed, merged
//! and split by decisions (DL 5.5), and every past approval must still be
//! checked against the tree as it stood on the day it was signed.
//!
//! A rejection (the rule said no) is an [`OrgRejection`] value; failures
//! (the store broke) belong to the caller, never to this module.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use chrono::{Datelike, NaiveDate};
use hoso_schemas::DomainEvent;
use hoso_schemas::SourceDocument;
use hoso_schemas::pb::{common, org as pb};

use crate::convert::{from_pb_date, to_decision_ref, to_pb_date};

pub use hoso_schemas::pb::common::PersonnelCategory;
pub use hoso_schemas::pb::org::{JobPositionGroup, OrgUnitKind};

/// Stream name prefix of the organisation family: `org-<code>`.
pub const STREAM_PREFIX: &str = "org-";

/// Citation of the electronic identifier code format.
pub const QD_20_2020: &str = "QĐ 20/2020/QĐ-TTg";
/// Citation: a merged or split unit's accounts are revoked, its scope passes on.
pub const DL_5_5: &str = "DL 5.5";
/// Citation: scope is hierarchical, an agency manages its subordinate units.
pub const DL_6: &str = "DL 6";
/// Citation: who may approve whom.
pub const DT_11: &str = "DT 11";

/// How deep a chain of parents or successors may be followed. A real
/// province has at most five levels; the limit turns a cycle that slipped
/// into the log into a `None` instead of a hang.
const CHAIN_DEPTH_MAX: usize = 64;

/// The stream that holds the events of the unit `code`.
pub fn stream_id(code: &str) -> String {
    format!("{STREAM_PREFIX}{code}")
}

/// Whether `code` has the shape of an electronic identifier code of
/// QĐ 20/2020/QĐ-TTg: four dot-separated groups, three digits, two digits,
/// two digits, then one capital letter and two digits (`000.00.00.H33`).
pub fn is_valid_code(code: &str) -> bool {
    fn digits(s: &str, n: usize) -> bool {
        s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
    }
    let groups: Vec<&str> = code.split('.').collect();
    let [a, b, c, level1] = groups.as_slice() else {
        return false;
    };
    let level1_ok = level1.len() == 3
        && level1
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_uppercase)
        && digits(level1.get(1..).unwrap_or(""), 2);
    digits(a, 3) && digits(b, 2) && digits(c, 2) && level1_ok
}

/// A value that holds from `effective` (inclusive) until the next entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated<T> {
    /// First day the value holds.
    pub effective: NaiveDate,
    /// The value.
    pub value: T,
}

/// Where a unit stands in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgStatus {
    /// Exists (possibly not yet, if its establishment is in the future).
    Active,
    /// Merged into `into` from `effective` on.
    Merged {
        /// The successor unit.
        into: String,
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Split into `into` from `effective` on.
    Split {
        /// The successor units.
        into: Vec<String>,
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Dissolved from `effective` on.
    Dissolved {
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
}

impl OrgStatus {
    /// The first day the unit no longer exists, if it has ceased.
    pub fn ceased_on(&self) -> Option<NaiveDate> {
        match self {
            Self::Active => None,
            Self::Merged { effective, .. }
            | Self::Split { effective, .. }
            | Self::Dissolved { effective } => Some(*effective),
        }
    }
}

impl OrgStatus {
    /// The unit that receives the ceased unit's dossiers and accounts
    /// (DL 5.5): the successor of a merger, the first successor of a split
    /// (the split decision does not say who goes where; the receiving
    /// agencies redistribute by ordinary transfers); none for a dissolution
    /// or an active unit.
    pub fn receiver(&self) -> Option<&str> {
        match self {
            Self::Merged { into, .. } => Some(into),
            Self::Split { into, .. } => into.first().map(String::as_str),
            Self::Active | Self::Dissolved { .. } => None,
        }
    }
}

impl fmt::Display for OrgStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Active => f.write_str("active"),
            Self::Merged { into, effective } => write!(f, "merged into {into} on {effective}"),
            Self::Split { into, effective } => {
                write!(f, "split into {} on {effective}", into.join(", "))
            }
            Self::Dissolved { effective } => write!(f, "dissolved on {effective}"),
        }
    }
}

/// Biên chế: headcount allowed for one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StaffingQuota {
    /// Công chức.
    pub civil_servants: u32,
    /// Viên chức.
    pub public_employees: u32,
    /// Người lao động.
    pub contract_workers: u32,
}

/// Vị trí việc làm of a unit (Decrees 62/2020 and 106/2020).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPosition {
    /// Position code, unique within the unit; a later definition replaces an earlier one.
    pub code: String,
    /// Title.
    pub title: String,
    /// Group of positions.
    pub group: JobPositionGroup,
    /// Lowest rank or professional title code required, e.g. `01.003`.
    pub required_rank_code: String,
    /// Number of people the position is for.
    pub headcount: u32,
}

/// Whose dossiers the head of a unit approves (DT 11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalAuthority {
    /// Personnel categories approved.
    pub categories: Vec<PersonnelCategory>,
    /// Units (and everything below them) whose personnel are approved.
    pub subordinates: Vec<String>,
}

/// State of one organisation unit, folded from its stream by [`evolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit {
    code: String,
    kind: OrgUnitKind,
    established: NaiveDate,
    /// Sorted by effective date; the first entry is the founding name.
    names: Vec<Dated<String>>,
    /// Sorted by effective date. Only establishment sets it today (there is
    /// no re-parenting event yet); kept as a history so one can be added
    /// without changing callers.
    parents: Vec<Dated<Option<String>>>,
    status: OrgStatus,
    quotas: BTreeMap<u32, StaffingQuota>,
    job_positions: Vec<Dated<JobPosition>>,
    approval_authority: Vec<Dated<ApprovalAuthority>>,
    revision: u64,
}

impl OrgUnit {
    /// Electronic identifier code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Kind of unit.
    pub fn kind(&self) -> OrgUnitKind {
        self.kind
    }

    /// Effective date of establishment.
    pub fn established(&self) -> NaiveDate {
        self.established
    }

    /// Revision of the last event of the stream (dense from 0).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Life status.
    pub fn status(&self) -> &OrgStatus {
        &self.status
    }

    /// Name history, oldest first.
    pub fn names(&self) -> &[Dated<String>] {
        &self.names
    }

    /// Whether the unit exists on `date`: established on or before it and not ceased by it.
    pub fn is_active_at(&self, date: NaiveDate) -> bool {
        self.established <= date && self.status.ceased_on().is_none_or(|c| date < c)
    }

    /// The name in force on `date`; `None` before establishment. After the
    /// unit ceased, its last name (history keeps it).
    pub fn name_at(&self, date: NaiveDate) -> Option<&str> {
        at(&self.names, date).map(String::as_str)
    }

    /// The most recent name, whatever its effective date.
    pub fn current_name(&self) -> &str {
        self.names.last().map_or("", |n| n.value.as_str())
    }

    /// The parent recorded for `date`, not following the parent's mergers
    /// (see [`OrgTree::tree_at`] for that).
    pub fn parent_at(&self, date: NaiveDate) -> Option<&str> {
        at(&self.parents, date).and_then(|p| p.as_deref())
    }

    /// Staffing quota of `year`, if one was set.
    pub fn quota(&self, year: u32) -> Option<StaffingQuota> {
        self.quotas.get(&year).copied()
    }

    /// All quotas, by year.
    pub fn quotas(&self) -> &BTreeMap<u32, StaffingQuota> {
        &self.quotas
    }

    /// Job positions in force on `date`, by position code.
    pub fn job_positions_at(&self, date: NaiveDate) -> BTreeMap<&str, &JobPosition> {
        self.job_positions
            .iter()
            .take_while(|p| p.effective <= date)
            .map(|p| (p.value.code.as_str(), &p.value))
            .collect()
    }

    /// Approval authority in force on `date`: a later assignment replaces
    /// the earlier one.
    pub fn approval_authority_at(&self, date: NaiveDate) -> Option<&ApprovalAuthority> {
        at(&self.approval_authority, date)
    }

    fn founded(e: &pb::OrgUnitEstablished) -> Self {
        // An event in the log passed `decide`, which requires a date; a
        // missing one can only come from a foreign import and is read as
        // "always existed" rather than dropping the unit.
        let established = from_pb_date(e.effective.as_ref()).unwrap_or(NaiveDate::MIN);
        let parent = (!e.parent_code.is_empty()).then(|| e.parent_code.clone());
        Self {
            code: e.code.clone(),
            kind: OrgUnitKind::try_from(e.kind).unwrap_or(OrgUnitKind::Unspecified),
            established,
            names: vec![Dated {
                effective: established,
                value: e.name.clone(),
            }],
            parents: vec![Dated {
                effective: established,
                value: parent,
            }],
            status: OrgStatus::Active,
            quotas: BTreeMap::new(),
            job_positions: Vec::new(),
            approval_authority: Vec::new(),
            revision: 0,
        }
    }

    /// Folds one event of this unit's stream; returns whether it was an org event.
    fn apply(&mut self, event: &DomainEvent) -> bool {
        let effective = |d: Option<&common::Date>| from_pb_date(d).unwrap_or(self.established);
        match event {
            // A second establishment cannot pass `decide`; counted, not applied.
            DomainEvent::OrgUnitEstablished(_) => {}
            DomainEvent::OrgUnitRenamed(e) => {
                let d = Dated {
                    effective: effective(e.effective.as_ref()),
                    value: e.name.clone(),
                };
                insert_dated(&mut self.names, d);
            }
            DomainEvent::OrgUnitMerged(e) => {
                self.status = OrgStatus::Merged {
                    into: e.successor_code.clone(),
                    effective: effective(e.effective.as_ref()),
                };
            }
            DomainEvent::OrgUnitSplit(e) => {
                self.status = OrgStatus::Split {
                    into: e.successor_codes.clone(),
                    effective: effective(e.effective.as_ref()),
                };
            }
            DomainEvent::OrgUnitDissolved(e) => {
                self.status = OrgStatus::Dissolved {
                    effective: effective(e.effective.as_ref()),
                };
            }
            DomainEvent::StaffingQuotaSet(e) => {
                let quota = StaffingQuota {
                    civil_servants: e.civil_servants,
                    public_employees: e.public_employees,
                    contract_workers: e.contract_workers,
                };
                self.quotas.insert(e.year, quota);
            }
            DomainEvent::JobPositionDefined(e) => {
                let d = Dated {
                    effective: effective(e.effective.as_ref()),
                    value: JobPosition::defined(e),
                };
                insert_dated(&mut self.job_positions, d);
            }
            DomainEvent::ApprovalAuthorityAssigned(e) => {
                let d = Dated {
                    effective: effective(e.effective.as_ref()),
                    value: ApprovalAuthority::assigned(e),
                };
                insert_dated(&mut self.approval_authority, d);
            }
            _ => return false,
        }
        true
    }
}

impl JobPosition {
    /// The position as recorded; a group this build does not know reads as
    /// unspecified rather than failing the fold of a stored event.
    fn defined(e: &pb::JobPositionDefined) -> Self {
        Self {
            code: e.position_code.clone(),
            title: e.title.clone(),
            group: JobPositionGroup::try_from(e.group).unwrap_or(JobPositionGroup::Unspecified),
            required_rank_code: e.required_rank_code.clone(),
            headcount: e.headcount,
        }
    }
}

impl ApprovalAuthority {
    /// The authority as recorded; a category this build does not know reads
    /// as unspecified rather than failing the fold of a stored event.
    fn assigned(e: &pb::ApprovalAuthorityAssigned) -> Self {
        Self {
            categories: e
                .categories
                .iter()
                .map(|c| PersonnelCategory::try_from(*c).unwrap_or(PersonnelCategory::Unspecified))
                .collect(),
            subordinates: e.subordinate_codes.clone(),
        }
    }
}

/// Folds one event into the state of a unit. Events of other families are
/// ignored; anything before the establishment is ignored too (it cannot
/// have been written by [`decide`]).
pub fn evolve(state: Option<OrgUnit>, event: &DomainEvent) -> Option<OrgUnit> {
    match (state, event) {
        (None, DomainEvent::OrgUnitEstablished(e)) => Some(OrgUnit::founded(e)),
        (None, _) => None,
        (Some(mut unit), event) => {
            if unit.apply(event) {
                unit.revision += 1;
            }
            Some(unit)
        }
    }
}

/// The last entry in force on `date` of a history sorted by effective date.
fn at<T>(history: &[Dated<T>], date: NaiveDate) -> Option<&T> {
    history
        .iter()
        .take_while(|d| d.effective <= date)
        .last()
        .map(|d| &d.value)
}

/// Keeps the history sorted by effective date; of two entries on the same
/// day, the one recorded later wins (it goes after).
fn insert_dated<T>(history: &mut Vec<Dated<T>>, entry: Dated<T>) {
    let i = history.partition_point(|d| d.effective <= entry.effective);
    history.insert(i, entry);
}

/// Access to the other units a decision must consult.
pub trait UnitLookup {
    /// The unit with this code, if established.
    fn unit(&self, code: &str) -> Option<&OrgUnit>;
}

impl UnitLookup for BTreeMap<String, OrgUnit> {
    fn unit(&self, code: &str) -> Option<&OrgUnit> {
        self.get(code)
    }
}

/// The unit that carries `code`'s scope on `date`: itself while active,
/// its merger successor (followed transitively) after a merger, `None`
/// before establishment, after a split or dissolution, or for an unknown code.
fn resolve(units: &impl UnitLookup, code: &str, date: NaiveDate) -> Option<String> {
    let mut current = code;
    for _ in 0..CHAIN_DEPTH_MAX {
        let unit = units.unit(current)?;
        if unit.established > date {
            return None;
        }
        match &unit.status {
            OrgStatus::Merged { into, effective } if *effective <= date => current = into,
            status if status.ceased_on().is_some_and(|c| c <= date) => return None,
            _ => return Some(current.to_owned()),
        }
    }
    None
}

/// See [`OrgTree::holder_at`].
fn holder(units: &impl UnitLookup, code: &str, date: NaiveDate) -> String {
    let mut current = code;
    for _ in 0..CHAIN_DEPTH_MAX {
        let Some(unit) = units.unit(current) else {
            break;
        };
        match (unit.status.ceased_on(), unit.status.receiver()) {
            (Some(ceased), Some(next)) if ceased <= date => current = next,
            _ => break,
        }
    }
    current.to_owned()
}

/// Whether `code` is `ancestor` or lies below it on `date`, parents'
/// mergers followed.
fn is_within(units: &impl UnitLookup, code: &str, ancestor: &str, date: NaiveDate) -> bool {
    let mut current = resolve(units, code, date);
    for _ in 0..CHAIN_DEPTH_MAX {
        let Some(c) = current else { return false };
        if c == ancestor {
            return true;
        }
        current = units
            .unit(&c)
            .and_then(|u| u.parent_at(date))
            .and_then(|p| resolve(units, p, date));
    }
    false
}

/// What a decision does to a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgChange {
    /// Establish the unit under `parent` (`None` for the province's root).
    Establish {
        /// Name at establishment.
        name: String,
        /// Kind of unit.
        kind: OrgUnitKind,
        /// Parent unit code.
        parent: Option<String>,
        /// First day the unit exists.
        effective: NaiveDate,
    },
    /// Rename from `effective` on.
    Rename {
        /// New name.
        name: String,
        /// First day of the new name.
        effective: NaiveDate,
    },
    /// Merge into `successor` (DL 5.5).
    MergeInto {
        /// Successor unit code.
        successor: String,
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Split into two or more successors.
    Split {
        /// Successor unit codes.
        successors: Vec<String>,
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Dissolve.
    Dissolve {
        /// First day the unit no longer exists.
        effective: NaiveDate,
    },
    /// Set the biên chế of one year.
    SetStaffingQuota {
        /// Calendar year.
        year: u32,
        /// Headcounts.
        quota: StaffingQuota,
    },
    /// Define (or redefine) a job position.
    DefineJobPosition {
        /// The position.
        position: JobPosition,
        /// First day it holds.
        effective: NaiveDate,
    },
    /// Assign approval authority (DT 11); replaces any earlier assignment.
    AssignApprovalAuthority {
        /// The authority.
        authority: ApprovalAuthority,
        /// First day it holds.
        effective: NaiveDate,
    },
}

/// A decision about one unit: every change rests on a decision document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgCommand {
    /// The unit the decision is about (its stream is `org-<code>`).
    pub code: String,
    /// Số, ngày, cơ quan ban hành of the decision.
    pub decision: SourceDocument,
    /// What it does.
    pub change: OrgChange,
}

/// Why a decision about a unit was refused. One variant per rule; each
/// names the unit, its revision when it exists, and the citation if the
/// rule comes from a text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgRejection {
    /// The decision document lacks its number or issuer.
    #[error("decision for {code} lacks its {missing}")]
    DecisionIncomplete {
        /// Unit code.
        code: String,
        /// Unit revision, if established.
        revision: Option<u64>,
        /// `"number"` or `"issuer"`.
        missing: &'static str,
    },
    /// The decision is dated after today: it cannot have been signed yet.
    #[error("decision {number} for {code} is dated {date}, after today {today}")]
    DecisionInFuture {
        /// Unit code.
        code: String,
        /// Unit revision, if established.
        revision: Option<u64>,
        /// Decision number.
        number: String,
        /// Decision date.
        date: NaiveDate,
        /// Today, as injected.
        today: NaiveDate,
    },
    /// The command was routed to another unit's stream.
    #[error("decision about {command_code} applied to unit {code} (revision {revision})")]
    UnitMismatch {
        /// Code of the loaded unit.
        code: String,
        /// Its revision.
        revision: u64,
        /// Code in the command.
        command_code: String,
    },
    /// The code is not an electronic identifier code.
    #[error("{code} is not an identifier code of the form 000.00.00.H00 ({QD_20_2020})")]
    InvalidCode {
        /// The code given.
        code: String,
    },
    /// The unit exists already.
    #[error("{code} is already established (revision {revision})")]
    AlreadyEstablished {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
    },
    /// The unit has not been established.
    #[error("{code} is not established")]
    NotEstablished {
        /// Unit code.
        code: String,
    },
    /// The kind was left unspecified.
    #[error("{code}: the kind of unit must be specified")]
    KindUnspecified {
        /// Unit code.
        code: String,
    },
    /// A name may not be blank.
    #[error("{code}: the name must not be empty")]
    EmptyName {
        /// Unit code.
        code: String,
        /// Unit revision, if established.
        revision: Option<u64>,
    },
    /// A unit cannot be its own parent.
    #[error("{code} cannot be its own parent")]
    ParentIsSelf {
        /// Unit code.
        code: String,
    },
    /// The parent is not established.
    #[error("{code}: parent {parent} is not established")]
    ParentMissing {
        /// Unit code.
        code: String,
        /// Parent code.
        parent: String,
    },
    /// The parent does not exist on the effective date.
    #[error("{code}: parent {parent} is not active on {effective}")]
    ParentNotActive {
        /// Unit code.
        code: String,
        /// Parent code.
        parent: String,
        /// Effective date of the establishment.
        effective: NaiveDate,
    },
    /// A merged, split or dissolved unit takes no further changes; its
    /// scope and accounts pass to the successors (DL 5.5).
    #[error("{code} (revision {revision}) is {status} and takes no further changes ({DL_5_5})")]
    UnitCeased {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// How it ceased.
        status: OrgStatus,
    },
    /// A change cannot take effect before the unit exists.
    #[error(
        "{code} (revision {revision}): effective {effective} precedes establishment on {established}"
    )]
    EffectiveBeforeEstablishment {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// Effective date asked for.
        effective: NaiveDate,
        /// Establishment date.
        established: NaiveDate,
    },
    /// A unit cannot merge into itself.
    #[error("{code} (revision {revision}) cannot merge into itself ({DL_5_5})")]
    MergeIntoSelf {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
    },
    /// The successor is not established.
    #[error("{code} (revision {revision}): successor {successor} is not established ({DL_5_5})")]
    SuccessorMissing {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// Successor code.
        successor: String,
    },
    /// The successor does not exist on the effective date, so the scope
    /// would pass to nobody.
    #[error(
        "{code} (revision {revision}): successor {successor} is not active on {effective} ({DL_5_5})"
    )]
    SuccessorNotActive {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// Successor code.
        successor: String,
        /// Effective date of the merger or split.
        effective: NaiveDate,
    },
    /// A split needs at least two distinct successors (one is a merger or rename).
    #[error(
        "{code} (revision {revision}): a split needs at least two distinct successors, got {count}"
    )]
    SplitTooFew {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// Distinct successors given.
        count: usize,
    },
    /// A unit cannot be among its own split successors.
    #[error("{code} (revision {revision}) cannot split into itself")]
    SplitIntoSelf {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
    },
    /// A quota for a year before the unit existed.
    #[error(
        "{code} (revision {revision}): quota year {year} precedes establishment on {established}"
    )]
    QuotaYearBeforeEstablishment {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// Year asked for.
        year: u32,
        /// Establishment date.
        established: NaiveDate,
    },
    /// A job position lacks its code, title or headcount.
    #[error("{code} (revision {revision}): job position lacks its {missing}")]
    JobPositionIncomplete {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// What is missing.
        missing: &'static str,
    },
    /// An assignment with no categories or no subordinate units approves nobody.
    #[error("{code} (revision {revision}): approval authority names no {missing} ({DT_11})")]
    AuthorityEmpty {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// `"category"` or `"subordinate unit"`.
        missing: &'static str,
    },
    /// A head approves only within the unit's own subtree.
    #[error(
        "{code} (revision {revision}): {subordinate} is not within its subtree on {effective} ({DL_6}, {DT_11})"
    )]
    AuthorityOutsideScope {
        /// Unit code.
        code: String,
        /// Its revision.
        revision: u64,
        /// The unit outside the subtree.
        subordinate: String,
        /// Effective date of the assignment.
        effective: NaiveDate,
    },
}

impl OrgRejection {
    /// Stable identifier of the rule, for API problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DecisionIncomplete { .. } => "decision-incomplete",
            Self::DecisionInFuture { .. } => "decision-in-future",
            Self::UnitMismatch { .. } => "unit-mismatch",
            Self::InvalidCode { .. } => "invalid-code",
            Self::AlreadyEstablished { .. } => "already-established",
            Self::NotEstablished { .. } => "not-established",
            Self::KindUnspecified { .. } => "kind-unspecified",
            Self::EmptyName { .. } => "empty-name",
            Self::ParentIsSelf { .. } => "parent-is-self",
            Self::ParentMissing { .. } => "parent-missing",
            Self::ParentNotActive { .. } => "parent-not-active",
            Self::UnitCeased { .. } => "unit-ceased",
            Self::EffectiveBeforeEstablishment { .. } => "effective-before-establishment",
            Self::MergeIntoSelf { .. } => "merge-into-self",
            Self::SuccessorMissing { .. } => "successor-missing",
            Self::SuccessorNotActive { .. } => "successor-not-active",
            Self::SplitTooFew { .. } => "split-too-few",
            Self::SplitIntoSelf { .. } => "split-into-self",
            Self::QuotaYearBeforeEstablishment { .. } => "quota-year-before-establishment",
            Self::JobPositionIncomplete { .. } => "job-position-incomplete",
            Self::AuthorityEmpty { .. } => "authority-empty",
            Self::AuthorityOutsideScope { .. } => "authority-outside-scope",
        }
    }

    /// The article the rule comes from, where one does.
    pub fn citation(&self) -> Option<&'static str> {
        match self {
            Self::InvalidCode { .. } => Some(QD_20_2020),
            Self::UnitCeased { .. } => Some(DL_5_5),
            Self::SuccessorMissing { .. } => Some(DL_5_5),
            Self::SuccessorNotActive { .. } => Some(DL_5_5),
            Self::AuthorityOutsideScope { .. } => Some(DT_11),
            Self::AuthorityEmpty { .. } => Some(DT_11),
            Self::ParentNotActive { .. } => Some(DL_6),
            Self::ParentMissing { .. } => Some(DL_6),
            _ => None,
        }
    }
}

/// Decides a command against the unit's state.
///
/// `unit` is the state of the command's stream (`None` if it has no
/// events); `units` gives the other units the rules consult (parent,
/// successors, subordinates) as of the same read; `today` is the injected
/// date against which decision documents are checked.
pub fn decide(
    unit: Option<&OrgUnit>,
    command: OrgCommand,
    units: &impl UnitLookup,
    today: NaiveDate,
) -> Result<Vec<DomainEvent>, OrgRejection> {
    let OrgCommand {
        code,
        decision,
        change,
    } = command;
    check_decision(&code, unit.map(OrgUnit::revision), &decision, today)?;
    let decision_ref = Some(to_decision_ref(&decision));

    let (unit, change) = match (unit, change) {
        (
            None,
            OrgChange::Establish {
                name,
                kind,
                parent,
                effective,
            },
        ) => {
            return establish(code, name, kind, parent, effective, units, decision_ref);
        }
        (unit, change) => (active_target(unit, &code, &change)?, change),
    };
    let t = Existing {
        unit,
        code: &code,
        units,
    };
    let event: DomainEvent = match change {
        // Handled above; kept in the match so a new change cannot be forgotten.
        OrgChange::Establish { .. } => {
            return Err(OrgRejection::AlreadyEstablished {
                code,
                revision: unit.revision,
            });
        }
        OrgChange::Rename { name, effective } => t.rename(name, effective, decision_ref)?,
        OrgChange::MergeInto {
            successor,
            effective,
        } => t.merge_into(successor, effective, decision_ref)?,
        OrgChange::Split {
            successors,
            effective,
        } => t.split(successors, effective, decision_ref)?,
        OrgChange::Dissolve { effective } => t.dissolve(effective, decision_ref)?,
        OrgChange::SetStaffingQuota { year, quota } => {
            t.set_staffing_quota(year, quota, decision_ref)?
        }
        OrgChange::DefineJobPosition {
            position,
            effective,
        } => t.define_job_position(position, effective, decision_ref)?,
        OrgChange::AssignApprovalAuthority {
            authority,
            effective,
        } => t.assign_approval_authority(authority, effective, decision_ref)?,
    };
    Ok(vec![event])
}

/// The unit a command other than a first establishment changes: the
/// stream's own unit, established, and still active.
fn active_target<'u>(
    unit: Option<&'u OrgUnit>,
    code: &str,
    change: &OrgChange,
) -> Result<&'u OrgUnit, OrgRejection> {
    let unit = match (unit, change) {
        (Some(u), _) if u.code != code => {
            return Err(OrgRejection::UnitMismatch {
                code: u.code.clone(),
                revision: u.revision,
                command_code: code.to_owned(),
            });
        }
        (Some(u), OrgChange::Establish { .. }) => {
            return Err(OrgRejection::AlreadyEstablished {
                code: code.to_owned(),
                revision: u.revision,
            });
        }
        (None, _) => {
            return Err(OrgRejection::NotEstablished {
                code: code.to_owned(),
            });
        }
        (Some(u), _) => u,
    };
    // A ceased unit's scope has passed on (DL 5.5); changing it would
    // write into a unit nobody manages any more.
    if unit.status != OrgStatus::Active {
        return Err(OrgRejection::UnitCeased {
            code: code.to_owned(),
            revision: unit.revision,
            status: unit.status.clone(),
        });
    }
    Ok(unit)
}

/// An established, active unit a decision changes, with the other units
/// its rules consult.
struct Existing<'a, L> {
    unit: &'a OrgUnit,
    code: &'a str,
    units: &'a L,
}

impl<L: UnitLookup> Existing<'_, L> {
    fn not_before_establishment(&self, effective: NaiveDate) -> Result<(), OrgRejection> {
        if effective < self.unit.established {
            Err(OrgRejection::EffectiveBeforeEstablishment {
                code: self.code.to_owned(),
                revision: self.unit.revision,
                effective,
                established: self.unit.established,
            })
        } else {
            Ok(())
        }
    }

    /// A successor of a merger or split must exist and be active on the
    /// effective date (DL 5.5).
    fn successor_active(&self, successor: &str, effective: NaiveDate) -> Result<(), OrgRejection> {
        match self.units.unit(successor) {
            None => Err(OrgRejection::SuccessorMissing {
                code: self.code.to_owned(),
                revision: self.unit.revision,
                successor: successor.to_owned(),
            }),
            Some(s) if !s.is_active_at(effective) => Err(OrgRejection::SuccessorNotActive {
                code: self.code.to_owned(),
                revision: self.unit.revision,
                successor: successor.to_owned(),
                effective,
            }),
            Some(_) => Ok(()),
        }
    }

    fn rename(
        &self,
        name: String,
        effective: NaiveDate,
        decision: Option<common::DecisionRef>,
    ) -> Result<DomainEvent, OrgRejection> {
        self.not_before_establishment(effective)?;
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err(OrgRejection::EmptyName {
                code: self.code.to_owned(),
                revision: Some(self.unit.revision),
            });
        }
        Ok(pb::OrgUnitRenamed {
            name,
            effective: Some(to_pb_date(effective)),
            decision,
        }
        .into())
    }

    /// Merges the unit into an active successor (DL 5.5).
    fn merge_into(
        &self,
        successor: String,
        effective: NaiveDate,
        decision: Option<common::DecisionRef>,
    ) -> Result<DomainEvent, OrgRejection> {
        self.not_before_establishment(effective)?;
        if successor == self.code {
            return Err(OrgRejection::MergeIntoSelf {
                code: self.code.to_owned(),
                revision: self.unit.revision,
            });
        }
        self.successor_active(&successor, effective)?;
        Ok(pb::OrgUnitMerged {
            successor_code: successor,
            effective: Some(to_pb_date(effective)),
            decision,
        }
        .into())
    }

    /// Splits the unit between at least two distinct active successors (DL 5.5).
    fn split(
        &self,
        successors: Vec<String>,
        effective: NaiveDate,
        decision: Option<common::DecisionRef>,
    ) -> Result<DomainEvent, OrgRejection> {
        self.not_before_establishment(effective)?;
        let (code, revision) = (self.code.to_owned(), self.unit.revision);
        // Order kept as decided; duplicates dropped so the count is honest.
        let mut seen = BTreeSet::new();
        let successors: Vec<String> = successors
            .into_iter()
            .filter(|s| seen.insert(s.clone()))
            .collect();
        if successors.contains(&code) {
            return Err(OrgRejection::SplitIntoSelf { code, revision });
        }
        if successors.len() < 2 {
            return Err(OrgRejection::SplitTooFew {
                code,
                revision,
                count: successors.len(),
            });
        }
        for s in &successors {
            self.successor_active(s, effective)?;
        }
        Ok(pb::OrgUnitSplit {
            successor_codes: successors,
            effective: Some(to_pb_date(effective)),
            decision,
        }
        .into())
    }

    /// A unit cannot be dissolved before it was established.
    fn dissolve(
        &self,
        effective: NaiveDate,
        decision: Option<common::DecisionRef>,
    ) -> Result<DomainEvent, OrgRejection> {
        self.not_before_establishment(effective)?;
        Ok(pb::OrgUnitDissolved {
            effective: Some(to_pb_date(effective)),
            decision,
        }
        .into())
    }

    fn set_staffing_quota(
        &self,
        year: u32,
        quota: StaffingQuota,
        decision: Option<common::DecisionRef>,
    ) -> Result<DomainEvent, OrgRejection> {
        let established_year = u32::try_from(self.unit.established.year()).unwrap_or(0);
        if year < established_year {
            return Err(OrgRejection::QuotaYearBeforeEstablishment {
                code: self.code.to_owned(),
                revision: self.unit.revision,
                year,
                established: self.unit.established,
            });
        }
        Ok(pb::StaffingQuotaSet {
            year,
            civil_servants: quota.civil_servants,
            public_employees: quota.public_employees,
            contract_workers: quota.contract_workers,
            decision,
        }
        .into())
    }

    fn define_job_position(
        &self,
        position: JobPosition,
        effective: NaiveDate,
        decision: Option<common::DecisionRef>,
    ) -> Result<DomainEvent, OrgRejection> {
        self.not_before_establishment(effective)?;
        let missing = if position.code.trim().is_empty() {
            Some("code")
        } else if position.title.trim().is_empty() {
            Some("title")
        } else if position.group == JobPositionGroup::Unspecified {
            Some("group")
        } else if position.headcount == 0 {
            Some("headcount")
        } else {
            None
        };
        if let Some(missing) = missing {
            return Err(OrgRejection::JobPositionIncomplete {
                code: self.code.to_owned(),
                revision: self.unit.revision,
                missing,
            });
        }
        Ok(pb::JobPositionDefined {
            position_code: position.code,
            title: position.title,
            group: position.group.into(),
            required_rank_code: position.required_rank_code,
            headcount: position.headcount,
            effective: Some(to_pb_date(effective)),
            decision,
        }
        .into())
    }

    /// Gives the unit's head power to approve named categories in units
    /// within its own subtree (DL 6, DT 11).
    fn assign_approval_authority(
        &self,
        authority: ApprovalAuthority,
        effective: NaiveDate,
        decision: Option<common::DecisionRef>,
    ) -> Result<DomainEvent, OrgRejection> {
        self.not_before_establishment(effective)?;
        let (code, revision) = (self.code.to_owned(), self.unit.revision);
        let categories: Vec<PersonnelCategory> = authority
            .categories
            .into_iter()
            .filter(|c| *c != PersonnelCategory::Unspecified)
            .collect();
        let missing = if categories.is_empty() {
            Some("category")
        } else if authority.subordinates.is_empty() {
            Some("subordinate unit")
        } else {
            None
        };
        if let Some(missing) = missing {
            return Err(OrgRejection::AuthorityEmpty {
                code,
                revision,
                missing,
            });
        }
        // A head approves only personnel the unit manages (DL 6, DT 11);
        // the unit itself counts as within its own subtree.
        let scope = WithSelf(self.units, self.unit);
        if let Some(outside) = authority
            .subordinates
            .iter()
            .find(|s| !is_within(&scope, s, self.code, effective))
        {
            return Err(OrgRejection::AuthorityOutsideScope {
                code,
                revision,
                subordinate: outside.clone(),
                effective,
            });
        }
        Ok(pb::ApprovalAuthorityAssigned {
            categories: categories.into_iter().map(i32::from).collect(),
            subordinate_codes: authority.subordinates,
            effective: Some(to_pb_date(effective)),
            decision,
        }
        .into())
    }
}

struct WithSelf<'a, L>(&'a L, &'a OrgUnit);

impl<L: UnitLookup> UnitLookup for WithSelf<'_, L> {
    fn unit(&self, code: &str) -> Option<&OrgUnit> {
        if code == self.1.code {
            Some(self.1)
        } else {
            self.0.unit(code)
        }
    }
}

fn check_decision(
    code: &str,
    revision: Option<u64>,
    decision: &SourceDocument,
    today: NaiveDate,
) -> Result<(), OrgRejection> {
    let missing = if decision.number.trim().is_empty() {
        Some("number")
    } else if decision.issuer.trim().is_empty() {
        Some("issuer")
    } else {
        None
    };
    if let Some(missing) = missing {
        return Err(OrgRejection::DecisionIncomplete {
            code: code.to_owned(),
            revision,
            missing,
        });
    }
    if decision.date > today {
        return Err(OrgRejection::DecisionInFuture {
            code: code.to_owned(),
            revision,
            number: decision.number.clone(),
            date: decision.date,
            today,
        });
    }
    Ok(())
}

fn establish(
    code: String,
    name: String,
    kind: OrgUnitKind,
    parent: Option<String>,
    effective: NaiveDate,
    units: &impl UnitLookup,
    decision: Option<common::DecisionRef>,
) -> Result<Vec<DomainEvent>, OrgRejection> {
    if !is_valid_code(&code) {
        return Err(OrgRejection::InvalidCode { code });
    }
    if kind == OrgUnitKind::Unspecified {
        return Err(OrgRejection::KindUnspecified { code });
    }
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(OrgRejection::EmptyName {
            code,
            revision: None,
        });
    }
    // An empty parent string means "root", the same as the wire format.
    let parent = parent.filter(|p| !p.is_empty());
    if let Some(p) = &parent {
        if *p == code {
            return Err(OrgRejection::ParentIsSelf { code });
        }
        match units.unit(p) {
            None => {
                return Err(OrgRejection::ParentMissing {
                    code,
                    parent: p.clone(),
                });
            }
            Some(u) if !u.is_active_at(effective) => {
                return Err(OrgRejection::ParentNotActive {
                    code,
                    parent: p.clone(),
                    effective,
                });
            }
            Some(_) => {}
        }
    }
    Ok(vec![
        pb::OrgUnitEstablished {
            code,
            name,
            kind: kind.into(),
            parent_code: parent.unwrap_or_default(),
            effective: Some(to_pb_date(effective)),
            decision,
        }
        .into(),
    ])
}

/// One node of the tree at a date: `(code, name, parent)`.
pub type TreeNode = (String, String, Option<String>);

/// The organisation tree, folded from the org events of `$all` in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgTree {
    units: BTreeMap<String, OrgUnit>,
}

impl UnitLookup for OrgTree {
    fn unit(&self, code: &str) -> Option<&OrgUnit> {
        self.units.get(code)
    }
}

impl OrgTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds events given as `(stream, event)` pairs in `$all` order.
    pub fn from_events<'a>(events: impl IntoIterator<Item = (&'a str, &'a DomainEvent)>) -> Self {
        let mut tree = Self::new();
        for (stream, event) in events {
            tree.apply(stream, event);
        }
        tree
    }

    /// Folds one event of `$all`. Events outside `org-` streams are ignored:
    /// only the stream names the unit of a rename or merger.
    pub fn apply(&mut self, stream: &str, event: &DomainEvent) {
        let Some(code) = stream.strip_prefix(STREAM_PREFIX) else {
            return;
        };
        let state = self.units.remove(code);
        if let Some(unit) = evolve(state, event) {
            self.units.insert(code.to_owned(), unit);
        }
    }

    /// All units ever established, by code.
    pub fn units(&self) -> &BTreeMap<String, OrgUnit> {
        &self.units
    }

    /// The tree on `date`, by code: units that exist that day, with the name
    /// in force and the parent that carries the scope that day (a parent
    /// merged by then is replaced by its successor; a parent split or
    /// dissolved by then leaves the unit as a root until it is re-attached).
    pub fn tree_at(&self, date: NaiveDate) -> Vec<TreeNode> {
        self.units
            .values()
            .filter(|u| u.is_active_at(date))
            .map(|u| {
                let parent = u.parent_at(date).and_then(|p| resolve(self, p, date));
                let name = u.name_at(date).unwrap_or_default().to_owned();
                (u.code.clone(), name, parent)
            })
            .collect()
    }

    /// The name of `code` on `date` (its last name if it had ceased by then).
    pub fn name_at(&self, code: &str, date: NaiveDate) -> Option<&str> {
        self.units.get(code)?.name_at(date)
    }

    /// The unit that carries `code`'s scope on `date`: the unit itself while
    /// it exists, its successor (followed through repeated mergers) once
    /// merged (DL 5.5); `None` before establishment, after a split or
    /// dissolution, or for an unknown code.
    pub fn successor_of(&self, code: &str, date: NaiveDate) -> Option<String> {
        resolve(self, code, date)
    }

    /// The unit that holds, on `date`, the dossiers and accounts recorded
    /// under `code` (DL 5.5): `code` itself until it ceases, then the
    /// receiver of its merger or split ([`OrgStatus::receiver`]), followed
    /// through later restructurings of the receiver. A dissolved unit, an
    /// unknown code or a restructuring not yet in effect leaves `code`.
    ///
    /// Why this, and not the recorded unit: a restructuring decided today
    /// may take effect later; until that day the people stay with the old
    /// unit, from that day they are the successor's, and nothing has to be
    /// written on the day for every reader to agree (the move events the
    /// server writes afterwards only record what this already answers).
    pub fn holder_at(&self, code: &str, date: NaiveDate) -> String {
        holder(self, code, date)
    }

    /// Whether `code` is `ancestor` or lies below it on `date` (mergers
    /// followed: a merged unit's people lie within its successor).
    pub fn contains(&self, ancestor: &str, code: &str, date: NaiveDate) -> bool {
        is_within(self, code, ancestor, date)
    }

    /// The unit that carries `code`'s scope on `date`: itself while active,
    /// its merger successor after a merger, `None` if it does not exist then.
    pub fn resolve(&self, code: &str, date: NaiveDate) -> Option<String> {
        resolve(self, code, date)
    }

    /// The agency `code` belongs to on `date`: the nearest unit at or above
    /// it that is not an internal division (DL 10.1 moves stay inside it).
    pub fn agency_of(&self, code: &str, date: NaiveDate) -> Option<String> {
        let mut current = resolve(self, code, date);
        for _ in 0..CHAIN_DEPTH_MAX {
            let c = current?;
            let unit = self.unit(&c)?;
            if unit.kind() != OrgUnitKind::InternalDivision {
                return Some(c);
            }
            current = unit.parent_at(date).and_then(|p| resolve(self, p, date));
        }
        None
    }

    /// `code` and every unit below it on `date`, root first then breadth
    /// first; empty if `code` does not exist that day. Used for scope checks
    /// (DL 6): a merged unit has no scope of its own after the merger.
    pub fn subtree(&self, code: &str, date: NaiveDate) -> Vec<String> {
        let tree = self.tree_at(date);
        if !tree.iter().any(|(c, _, _)| c == code) {
            return Vec::new();
        }
        let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (c, _, parent) in &tree {
            if let Some(p) = parent {
                children.entry(p.as_str()).or_default().push(c.as_str());
            }
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([code]);
        while let Some(c) = queue.pop_front() {
            if !seen.insert(c) {
                continue;
            }
            out.push(c.to_owned());
            if let Some(kids) = children.get(c) {
                queue.extend(kids.iter().copied());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Decides `change` about `code` against `tree` (decision signed on
    /// `today`) and folds what it produced.
    fn decided(tree: &mut OrgTree, code: &str, change: OrgChange, today: NaiveDate) {
        let unit = tree.unit(code).cloned();
        let command = OrgCommand {
            code: code.into(),
            decision: SourceDocument {
                number: "12/QĐ-UBND".into(),
                date: today,
                issuer: "UBND tỉnh".into(),
                attachment_sha256: None,
            },
            change,
        };
        for e in decide(unit.as_ref(), command, &*tree, today).unwrap() {
            tree.apply(&stream_id(code), &e);
        }
    }

    const ROOT: &str = "000.00.00.H33";
    const A: &str = "000.01.00.H33";
    const B: &str = "000.02.00.H33";
    const C: &str = "000.03.00.H33";

    /// A root and three departments founded on 1 January 2020.
    fn province() -> OrgTree {
        let mut tree = OrgTree::new();
        let on = d(2020, 1, 1);
        for (code, parent) in [
            (ROOT, None),
            (A, Some(ROOT)),
            (B, Some(ROOT)),
            (C, Some(ROOT)),
        ] {
            let change = OrgChange::Establish {
                name: format!("Đơn vị {code}"),
                kind: OrgUnitKind::ProvincialDepartment,
                parent: parent.map(Into::into),
                effective: on,
            };
            decided(&mut tree, code, change, on);
        }
        tree
    }

    #[test]
    fn dl_5_5_future_merger_hands_people_over_on_its_effective_date() {
        let mut tree = province();
        let today = d(2026, 3, 2);
        let effective = d(2026, 3, 12);
        let change = OrgChange::MergeInto {
            successor: B.into(),
            effective,
        };
        decided(&mut tree, A, change, today);
        assert_eq!(
            tree.holder_at(A, today),
            A,
            "recorded today, not yet in effect"
        );
        assert_eq!(tree.holder_at(A, d(2026, 3, 11)), A);
        assert_eq!(tree.holder_at(A, effective), B);
        assert_eq!(tree.holder_at(A, d(2027, 1, 1)), B);
        assert_eq!(
            tree.holder_at(B, effective),
            B,
            "the successor keeps its own"
        );
    }

    #[test]
    fn dl_5_5_split_hands_people_to_the_first_successor() {
        let mut tree = province();
        let on = d(2026, 7, 1);
        let change = OrgChange::Split {
            successors: vec![C.into(), B.into()],
            effective: on,
        };
        decided(&mut tree, A, change, d(2026, 6, 1));
        assert_eq!(
            tree.units()[A].status().receiver(),
            Some(C),
            "the order decided is kept"
        );
        assert_eq!(tree.holder_at(A, d(2026, 6, 30)), A);
        assert_eq!(tree.holder_at(A, on), C);
    }

    #[test]
    fn dl_5_5_holder_follows_successive_restructurings() {
        let mut tree = province();
        let first = OrgChange::MergeInto {
            successor: B.into(),
            effective: d(2026, 1, 1),
        };
        decided(&mut tree, A, first, d(2025, 12, 1));
        let second = OrgChange::MergeInto {
            successor: C.into(),
            effective: d(2026, 6, 1),
        };
        decided(&mut tree, B, second, d(2026, 2, 1));
        assert_eq!(tree.holder_at(A, d(2025, 12, 31)), A);
        assert_eq!(tree.holder_at(A, d(2026, 5, 31)), B);
        assert_eq!(tree.holder_at(A, d(2026, 6, 1)), C);
    }

    #[test]
    fn dl_5_5_dissolved_unit_has_no_receiver() {
        let mut tree = province();
        let change = OrgChange::Dissolve {
            effective: d(2026, 1, 1),
        };
        decided(&mut tree, A, change, d(2025, 12, 1));
        assert_eq!(tree.units()[A].status().receiver(), None);
        assert_eq!(tree.holder_at(A, d(2026, 2, 1)), A);
        assert_eq!(
            tree.holder_at("999.99.99.Z99", d(2026, 2, 1)),
            "999.99.99.Z99"
        );
    }

    #[test]
    fn dl_5_5_future_merger_is_decided_against_the_successor_on_its_date() {
        let mut tree = province();
        let today = d(2026, 3, 2);
        // C dissolves before the merger's date: merging into it is refused.
        let dissolve = OrgChange::Dissolve {
            effective: d(2026, 3, 10),
        };
        decided(&mut tree, C, dissolve, today);
        let unit = tree.unit(A).cloned();
        let command = OrgCommand {
            code: A.into(),
            decision: SourceDocument {
                number: "13/QĐ-UBND".into(),
                date: today,
                issuer: "UBND tỉnh".into(),
                attachment_sha256: None,
            },
            change: OrgChange::MergeInto {
                successor: C.into(),
                effective: d(2026, 3, 12),
            },
        };
        let refused = decide(unit.as_ref(), command, &tree, today).unwrap_err();
        assert_eq!(refused.code(), "successor-not-active");
        assert_eq!(refused.citation(), Some(DL_5_5));
    }
}

//! Province profiles: what each provincial regulation requires, as data.
//!
//! Each of the five provinces (and a generic national profile following
//! Circular 06/2023/TT-BNV) has a TOML file in `domain/profiles/` holding
//! its deadlines, monthly approval windows, approval authority rules,
//! report due dates and sync cadence, each with the article it comes from.
//! The files are embedded with `include_str!`, so the binary needs no files
//! at run time; `hoso init --profile <name>` picks one.
//!
//! Why data and not code: the regulations differ per province, are
//! amended, and since the 2025 mergers a merged province may keep one
//! predecessor's rules; an operator can read and review a TOML file against
//! the regulation text, article by article.
//!
//! Every rule says where its number comes from ([`Basis`]): the province's
//! own text, the national Circular 06/2023 (when the province defers to it
//! or is silent), or a product default (when no text sets a number).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use crate::calendar::{Deadline, WorkingCalendar};
use crate::restriction::{Restriction, RestrictionMap};

mod backup;

pub use backup::{BackupKind, BackupRule, KEEP_MONTHS_MIN, last_working_day_of_month};

/// The profile names, in the order of [`Profile::names`].
const EMBEDDED: [(&str, &str); 6] = [
    ("binh-thuan", include_str!("../../profiles/binh-thuan.toml")),
    ("dak-lak", include_str!("../../profiles/dak-lak.toml")),
    ("dong-thap", include_str!("../../profiles/dong-thap.toml")),
    ("hung-yen", include_str!("../../profiles/hung-yen.toml")),
    ("kon-tum", include_str!("../../profiles/kon-tum.toml")),
    ("national", include_str!("../../profiles/national.toml")),
];
const NAMES: [&str; 6] = [
    EMBEDDED[0].0,
    EMBEDDED[1].0,
    EMBEDDED[2].0,
    EMBEDDED[3].0,
    EMBEDDED[4].0,
    EMBEDDED[5].0,
];

/// Upper bound of any deadline in a profile: a year. Larger numbers are
/// typos, and bounding them bounds the day-by-day counting.
const DEADLINE_DAYS_MAX: u32 = 366;
/// A fixed day-of-month window must exist in every month, February too.
const WINDOW_DAY_MAX: u32 = 28;
/// "The last n (working) days of the month": n is small.
const WINDOW_LENGTH_MAX: u32 = 20;

/// Why a profile could not be loaded or a profile computation was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProfileError {
    /// No embedded profile has this name.
    #[error("unknown province profile {name:?}; valid profiles: {}", valid.join(", "))]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The names that exist.
        valid: Vec<String>,
    },
    /// The profile text is not valid TOML of the profile shape.
    #[error("profile {name:?} cannot be read")]
    Parse {
        /// Profile name.
        name: String,
        /// The TOML error (with line and column).
        #[source]
        source: toml::de::Error,
    },
    /// The profile parses but says something impossible.
    #[error("profile {name:?}: {problem}")]
    Invalid {
        /// Profile name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A month outside 1–12.
    #[error("month {month} does not exist")]
    InvalidMonth {
        /// The month asked for.
        month: u32,
    },
    /// A date the calendar library cannot represent.
    #[error("{year}-{month:02} is outside the supported date range")]
    DateOutOfRange {
        /// Year asked for.
        year: i32,
        /// Month asked for.
        month: u32,
    },
}

/// Every obligation with a time limit in the dossier workflow.
///
/// The steps are the union of the five regulations' steps; a province that
/// has no limit for a step takes the national value, and says so in the
/// rule's citation, note and [`Basis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Obligation {
    /// New dossier, step 1: after the recruitment decision or contract the
    /// agency opens the dossier and issues the person's account (or, in DL,
    /// hands out the information form).
    IssueNewDossierAccount,
    /// New dossier, step 2: the person declares the résumé.
    DeclareNewDossier,
    /// New dossier, step 3: the focal point checks the declaration against
    /// the papers and locks it (DL: the unit enters the basic data).
    ReviewNewDossier,
    /// New dossier, step 4: the head verifies and signs.
    SignNewDossier,
    /// A personal change (family, training, awards...) is declared with its
    /// digitised proof.
    DeclarePersonalChange,
    /// The managing authority checks and approves a declared personal change.
    ApprovePersonalChange,
    /// A change decided by the state (appointment, transfer, salary,
    /// discipline...) is recorded by the agency.
    RecordStateDecision,
    /// The dossier moves to another department of the same agency.
    TransferWithinAgency,
    /// Transfer to another agency of the province: the sending side (or its
    /// superior) hands the dossier / access over.
    SendInterAgencyTransfer,
    /// Transfer to another agency of the province: the receiving side takes
    /// it over (forwards it to the using unit, creates the account, syncs).
    ReceiveInterAgencyTransfer,
    /// Arrival from another province: ask Sở Nội vụ to pull the record from
    /// the national database.
    RequestArrivalFromOtherProvince,
    /// Leaving (out of the province, to the Party bloc, retired, resigned,
    /// dismissed, deceased): the dossier's status is updated.
    RecordStatusChange,
}

impl Obligation {
    /// Every obligation.
    pub const ALL: [Obligation; 12] = [
        Obligation::IssueNewDossierAccount,
        Obligation::DeclareNewDossier,
        Obligation::ReviewNewDossier,
        Obligation::SignNewDossier,
        Obligation::DeclarePersonalChange,
        Obligation::ApprovePersonalChange,
        Obligation::RecordStateDecision,
        Obligation::TransferWithinAgency,
        Obligation::SendInterAgencyTransfer,
        Obligation::ReceiveInterAgencyTransfer,
        Obligation::RequestArrivalFromOtherProvince,
        Obligation::RecordStatusChange,
    ];

    /// The key used in the profile files, e.g. `declare_new_dossier`.
    pub fn key(self) -> &'static str {
        match self {
            Obligation::IssueNewDossierAccount => "issue_new_dossier_account",
            Obligation::DeclareNewDossier => "declare_new_dossier",
            Obligation::ReviewNewDossier => "review_new_dossier",
            Obligation::SignNewDossier => "sign_new_dossier",
            Obligation::DeclarePersonalChange => "declare_personal_change",
            Obligation::ApprovePersonalChange => "approve_personal_change",
            Obligation::RecordStateDecision => "record_state_decision",
            Obligation::TransferWithinAgency => "transfer_within_agency",
            Obligation::SendInterAgencyTransfer => "send_inter_agency_transfer",
            Obligation::ReceiveInterAgencyTransfer => "receive_inter_agency_transfer",
            Obligation::RequestArrivalFromOtherProvince => "request_arrival_from_other_province",
            Obligation::RecordStatusChange => "record_status_change",
        }
    }
}

impl fmt::Display for Obligation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The event a deadline is counted from (that day itself does not count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The date of the decision: recruitment decision or contract for a new
    /// dossier, receiving decision (DT 22.5) — "kể từ ngày có quyết định".
    DecisionDated,
    /// The date the decision takes effect — "kể từ ngày văn bản có hiệu lực".
    DecisionEffective,
    /// The person's account was issued.
    AccountIssued,
    /// The person submitted a declaration (new dossier or change).
    DeclarationSubmitted,
    /// The unit entered the basic data of a new dossier (DL 9.1d).
    BasicDataEntered,
    /// The focal point reviewed and locked the declaration (HY 10.4).
    DeclarationLocked,
    /// The personal information changed — "kể từ ngày có thông tin thay đổi".
    ChangeOccurred,
    /// The agency received valid paper documents (KT 10.2).
    ValidPaperReceived,
    /// The receiving agency got the transferred dossier in the system (DL 10.2).
    TransferReceived,
    /// The paper dossier was handed over (BT 11.3b, HY 11.2).
    DossierHandedOver,
}

/// Where a rule's number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The province's own regulation sets it.
    Province,
    /// Circular 06/2023/TT-BNV (the national profile), because the province
    /// defers to it or is silent.
    #[serde(rename = "circular_06")]
    Circular06,
    /// No text sets a number; a product default, to be reviewed by the
    /// province.
    ProductDefault,
}

/// A deadline with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    /// The time limit.
    pub deadline: Deadline,
    /// What it is counted from.
    pub counted_from: Trigger,
    /// The article, e.g. "HY 10.2", or "DT 9.2 → TT06 6.3".
    pub citation: String,
    /// Where the number comes from.
    pub basis: Basis,
    /// Why, when the citation alone does not say it.
    #[serde(default)]
    pub note: Option<String>,
}

impl DeadlineRule {
    /// The last day that is on time, for a trigger on `trigger_date`.
    pub fn due(&self, trigger_date: NaiveDate, cal: &WorkingCalendar) -> NaiveDate {
        self.deadline.due(trigger_date, cal)
    }
}

/// Who signs in a monthly approval window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalLevel {
    /// Heads of units: public service units, communes, subordinate agencies
    /// (HY 8.2).
    UnitHead,
    /// Heads of provincial departments and district People's Committees
    /// (HY 8.1).
    DepartmentHead,
    /// The director of Sở Nội vụ, signing the province's data for the
    /// national database (BT 7.2, HY 8.4).
    HomeAffairsDirector,
}

impl ApprovalLevel {
    /// Every level, in signing order.
    pub const ALL: [ApprovalLevel; 3] = [
        ApprovalLevel::UnitHead,
        ApprovalLevel::DepartmentHead,
        ApprovalLevel::HomeAffairsDirector,
    ];
}

/// Which days of a month a window covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowRule {
    /// The last `days` calendar days ("05 ngày cuối mỗi tháng").
    LastDaysOfMonth {
        /// How many days.
        days: u32,
    },
    /// The last `days` working days ("5 ngày làm việc cuối của từng tháng").
    LastWorkingDaysOfMonth {
        /// How many working days.
        days: u32,
    },
    /// Fixed days of the month ("từ ngày 20 đến ngày 22 hằng tháng").
    DaysOfMonth {
        /// First day.
        first: u32,
        /// Last day (inclusive).
        last: u32,
    },
}

impl WindowRule {
    fn check(&self) -> Result<(), String> {
        match *self {
            WindowRule::LastDaysOfMonth { days } | WindowRule::LastWorkingDaysOfMonth { days } => {
                if !(1..=WINDOW_LENGTH_MAX).contains(&days) {
                    return Err(format!("window of {days} days"));
                }
            }
            WindowRule::DaysOfMonth { first, last } => {
                if !(1 <= first && first <= last && last <= WINDOW_DAY_MAX) {
                    return Err(format!("window from day {first} to day {last}"));
                }
            }
        }
        Ok(())
    }

    /// First and last day of the window in a month.
    fn dates(
        &self,
        year: i32,
        month: u32,
        cal: &WorkingCalendar,
    ) -> Result<(NaiveDate, NaiveDate), ProfileError> {
        if !(1..=12).contains(&month) {
            return Err(ProfileError::InvalidMonth { month });
        }
        let out_of_range = ProfileError::DateOutOfRange { year, month };
        let first_of_month = NaiveDate::from_ymd_opt(year, month, 1).ok_or(out_of_range.clone())?;
        let last_of_month = first_of_month
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .ok_or(out_of_range.clone())?;
        let day = |d: u32| first_of_month.with_day(d).ok_or(out_of_range.clone());
        match *self {
            WindowRule::LastDaysOfMonth { days } => {
                let first = last_of_month
                    .day()
                    .saturating_sub(days.saturating_sub(1))
                    .max(1);
                Ok((day(first)?, last_of_month))
            }
            WindowRule::LastWorkingDaysOfMonth { days } => {
                let working: Vec<NaiveDate> = first_of_month
                    .iter_days()
                    .take_while(|d| *d <= last_of_month)
                    .filter(|d| cal.is_working_day(*d))
                    .collect();
                let n = usize::try_from(days).unwrap_or(usize::MAX);
                let tail = &working[working.len().saturating_sub(n)..];
                match (tail.first(), tail.last()) {
                    (Some(first), Some(last)) => Ok((*first, *last)),
                    // A month without a single working day cannot happen
                    // with real data; fall back to the whole month.
                    _ => Ok((first_of_month, last_of_month)),
                }
            }
            WindowRule::DaysOfMonth { first, last } => Ok((day(first)?, day(last)?)),
        }
    }
}

/// The window of one approval level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalWindow {
    /// The days.
    pub window: WindowRule,
    /// The article.
    pub citation: String,
    /// Where the rule comes from.
    pub basis: Basis,
    /// Why, when the citation alone does not say it.
    #[serde(default)]
    pub note: Option<String>,
}

/// What happens to an approval signed outside its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfWindowPolicy {
    /// The command is refused with a typed error naming the window rule.
    Refuse,
    /// The approval is accepted and flagged (SLA report, warning).
    Warn,
}

/// The windows of the three levels.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalWindows {
    /// Heads of units.
    pub unit_head: ApprovalWindow,
    /// Heads of departments and districts.
    pub department_head: ApprovalWindow,
    /// Director of Sở Nội vụ.
    pub home_affairs_director: ApprovalWindow,
}

impl ApprovalWindows {
    fn get(&self, level: ApprovalLevel) -> &ApprovalWindow {
        match level {
            ApprovalLevel::UnitHead => &self.unit_head,
            ApprovalLevel::DepartmentHead => &self.department_head,
            ApprovalLevel::HomeAffairsDirector => &self.home_affairs_director,
        }
    }
}

/// Who signs an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approver {
    /// The head of an org unit of the rule's kinds.
    UnitHead,
    /// The director of Sở Nội vụ.
    HomeAffairsDirector,
}

/// Kinds of org unit; the same names as the org event catalogue's
/// `OrgUnitKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// Sở, ban, ngành: a department of the provincial People's Committee
    /// (also its subordinate agencies such as a chi cục).
    ProvincialDepartment,
    /// The provincial People's Committee.
    PeoplesCommitteeProvince,
    /// A district People's Committee (abolished 1 July 2025).
    PeoplesCommitteeDistrict,
    /// A commune People's Committee.
    PeoplesCommitteeCommune,
    /// Đơn vị sự nghiệp công lập: school, hospital, centre.
    PublicServiceUnit,
    /// Fund or association (quỹ, hội).
    Association,
    /// A division inside an agency (phòng, ban).
    InternalDivision,
}

impl OrgKind {
    /// The profile's name for a catalogue unit kind (`None` for unspecified).
    pub fn of_unit_kind(k: hoso_schemas::pb::org::OrgUnitKind) -> Option<Self> {
        use hoso_schemas::pb::org::OrgUnitKind as K;
        Some(match k {
            K::Unspecified => return None,
            K::ProvincialDepartment => Self::ProvincialDepartment,
            K::PeoplesCommitteeProvince => Self::PeoplesCommitteeProvince,
            K::PeoplesCommitteeDistrict => Self::PeoplesCommitteeDistrict,
            K::PeoplesCommitteeCommune => Self::PeoplesCommitteeCommune,
            K::PublicServiceUnit => Self::PublicServiceUnit,
            K::Association => Self::Association,
            K::InternalDivision => Self::InternalDivision,
        })
    }
}

/// Statutory personnel categories; the same names as the event catalogue's
/// `PersonnelCategory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonnelCategory {
    /// Cán bộ: elected or appointed cadre.
    CanBo,
    /// Công chức: civil servant.
    CongChuc,
    /// Viên chức: public-service employee.
    VienChuc,
    /// Người lao động: contract worker (Decree 111/2022).
    NguoiLaoDong,
    /// Commune-level cadre or civil servant.
    CommuneCadre,
}

/// Who approves whose data (e.g. DT 11).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityRule {
    /// Who signs.
    pub approver: Approver,
    /// For [`Approver::UnitHead`]: the kinds of unit whose head approves
    /// (empty: any unit). Empty for the director.
    #[serde(default)]
    pub org_kinds: Vec<OrgKind>,
    /// The kinds of that unit's parent (empty: any parent).
    #[serde(default)]
    pub parent_kinds: Vec<OrgKind>,
    /// The categories approved, among the personnel the approver's unit and
    /// its subordinate units manage.
    pub categories: Vec<PersonnelCategory>,
    /// Only cadres managed by the Provincial Party Standing Committee (DT 11.5).
    #[serde(default)]
    pub standing_committee_managed_only: bool,
    /// The head may delegate the signature to a deputy (KT 8.1, BT 7.1).
    #[serde(default)]
    pub delegable: bool,
    /// The approval window the approver signs in.
    pub level: ApprovalLevel,
    /// The article.
    pub citation: String,
    /// Where the rule comes from.
    pub basis: Basis,
    /// Why, when the citation alone does not say it.
    #[serde(default)]
    pub note: Option<String>,
}

impl AuthorityRule {
    /// Whether the head of a unit of `org_kind` (whose parent is of
    /// `parent_kind`) is an approver under this rule.
    pub fn applies_to_head_of(&self, org_kind: OrgKind, parent_kind: Option<OrgKind>) -> bool {
        self.approver == Approver::UnitHead
            && (self.org_kinds.is_empty() || self.org_kinds.contains(&org_kind))
            && (self.parent_kinds.is_empty()
                || parent_kind.is_some_and(|p| self.parent_kinds.contains(&p)))
    }

    /// Whether the rule covers personnel of `category`.
    pub fn covers(&self, category: PersonnelCategory) -> bool {
        self.categories.contains(&category)
    }
}

/// The approval section of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// What happens to an approval outside its window.
    pub out_of_window: OutOfWindowPolicy,
    /// Why that policy.
    #[serde(default)]
    pub out_of_window_note: Option<String>,
    /// The monthly windows.
    pub windows: ApprovalWindows,
    /// Who approves whom.
    pub authority: Vec<AuthorityRule>,
}

/// A day of the year, written "MM-DD" in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct MonthDay {
    /// Month 1–12.
    pub month: u32,
    /// Day; always exists in every year (29 February is refused).
    pub day: u32,
}

impl MonthDay {
    /// This day in `year`.
    pub fn in_year(self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
    }
}

impl TryFrom<String> for MonthDay {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bad = || format!("{text:?} is not a day of the year written MM-DD");
        let (m, d) = text.split_once('-').ok_or_else(bad)?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let day: u32 = d.parse().map_err(|_| bad())?;
        // 2023 is not a leap year: the day must exist in every year.
        if NaiveDate::from_ymd_opt(2023, month, day).is_none() {
            return Err(bad());
        }
        Ok(Self { month, day })
    }
}

/// Who files a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reporter {
    /// Agencies, units and localities, to the province (via Sở Nội vụ).
    Agencies,
    /// Sở Nội vụ, to the province and/or the Ministry of Home Affairs.
    HomeAffairs,
}

/// A periodic report and when it is due.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDue {
    /// What the report is.
    pub title: String,
    /// Who files it.
    pub reporter: Reporter,
    /// The due day ("ngày 31/5"), or the day it must be before.
    pub due: MonthDay,
    /// "trước ngày …": the report must arrive before `due`, not on it.
    #[serde(default)]
    pub strictly_before: bool,
    /// The first day it may be filed, when the text sets one (HY 14.1).
    #[serde(default)]
    pub opens: Option<MonthDay>,
    /// The article.
    pub citation: String,
}

impl ReportDue {
    /// The last day in `year` on which the report is on time.
    pub fn last_day(&self, year: i32) -> Option<NaiveDate> {
        let due = self.due.in_year(year)?;
        if self.strictly_before {
            due.pred_opt()
        } else {
            Some(due)
        }
    }
}

/// How approved changes reach the national database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Monthly signed batches after the approval window (the five
    /// regulations, Circular 06/2023).
    Monthly,
    /// Each change within `lag` of its processing (Decree 27/2026/NĐ-CP,
    /// from 1 July 2026: about one working day): the server seals the
    /// batches with the province's connection key (HY 13.6) and the director
    /// signs each month's statement over them.
    Continuous,
}

/// The sync section of a profile (`[sync]`). The national profile writes every
/// setting out; a provincial profile that leaves one out takes the same value
/// (the serde defaults below equal `national.toml`, which a test checks).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRule {
    /// Monthly or continuous.
    pub mode: SyncMode,
    /// For continuous sync: how soon after processing.
    #[serde(default)]
    pub lag: Option<Deadline>,
    /// Month M may be sealed from this day of month M+1 on (1–28). Every
    /// heads' approval window of month M lies inside month M, so day 1 is the
    /// first day on which all of M's approvals are in; a later day leaves room
    /// for approvals signed late under `out_of_window = "warn"`.
    #[serde(default = "SyncRule::default_seal_from_day")]
    pub seal_from_day: u32,
    /// A sealed batch not acknowledged by the national database within this
    /// many working days of its sealing is overdue (delivery report, metrics).
    #[serde(default = "SyncRule::default_ack_overdue")]
    pub ack_overdue_working_days: u32,
    /// The highest restriction level of dossier data the national database
    /// receives; fields above it are left out of a batch's documents.
    #[serde(default = "SyncRule::default_national_receives")]
    pub national_receives: Restriction,
    /// The article.
    pub citation: String,
    /// Why, when the citation alone does not say it.
    #[serde(default)]
    pub note: Option<String>,
}

impl SyncRule {
    fn default_seal_from_day() -> u32 {
        1
    }

    fn default_ack_overdue() -> u32 {
        5
    }

    fn default_national_receives() -> Restriction {
        Restriction::Restricted
    }

    fn check(&self) -> Result<(), String> {
        match (self.mode, self.lag) {
            (SyncMode::Monthly, Some(_)) => return Err("monthly sync with a lag".into()),
            (SyncMode::Continuous, None) => return Err("continuous sync without a lag".into()),
            (SyncMode::Continuous, Some(lag)) if !(1..=DEADLINE_DAYS_MAX).contains(&lag.amount) => {
                return Err(format!("sync lag of {lag}"));
            }
            _ => {}
        }
        if !(1..=WINDOW_DAY_MAX).contains(&self.seal_from_day) {
            return Err(format!(
                "[sync]: seal_from_day {} (must exist in every month: 1–{WINDOW_DAY_MAX})",
                self.seal_from_day
            ));
        }
        if !(1..=DEADLINE_DAYS_MAX).contains(&self.ack_overdue_working_days) {
            return Err(format!(
                "[sync]: ack_overdue_working_days {}",
                self.ack_overdue_working_days
            ));
        }
        Ok(())
    }
}

/// How often the node signs a tree head over the log while it runs (it also signs
/// one when it opens and one at a clean shutdown). Not a regulation: an operating
/// setting kept with the province's other settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRule {
    /// After this many new events.
    #[serde(default = "LedgerRule::default_events")]
    pub checkpoint_every_events: u64,
    /// After this many seconds, if any event arrived.
    #[serde(default = "LedgerRule::default_seconds")]
    pub checkpoint_every_seconds: u64,
}

impl LedgerRule {
    fn default_events() -> u64 {
        10_000
    }

    fn default_seconds() -> u64 {
        60
    }
}

impl Default for LedgerRule {
    fn default() -> Self {
        Self {
            checkpoint_every_events: Self::default_events(),
            checkpoint_every_seconds: Self::default_seconds(),
        }
    }
}

/// Limits on uploaded documents (scans kept outside the log). Not a
/// regulation: an operating setting kept with the province's other settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRule {
    /// Bytes one account may hold in uploads that no declaration or decision
    /// cites yet; an upload beyond it is refused.
    #[serde(default = "UploadRule::default_quota")]
    pub pending_quota_bytes: u64,
    /// Days an upload may stay uncited before it is removed.
    #[serde(default = "UploadRule::default_grace")]
    pub unreferenced_grace_days: u32,
}

impl UploadRule {
    fn default_quota() -> u64 {
        100 * 1024 * 1024
    }

    fn default_grace() -> u32 {
        7
    }
}

impl UploadRule {
    /// Refuses a quota of nothing and a grace period of no day.
    pub fn check(&self) -> Result<(), String> {
        if self.pending_quota_bytes == 0 || self.unreferenced_grace_days == 0 {
            return Err("[uploads]: the quota and the grace period must each be at least 1".into());
        }
        Ok(())
    }
}

impl Default for UploadRule {
    fn default() -> Self {
        Self {
            pending_quota_bytes: Self::default_quota(),
            unreferenced_grace_days: Self::default_grace(),
        }
    }
}

/// Where a date falls relative to its approval window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowCheck {
    /// Inside the window.
    InWindow,
    /// Outside it; what the profile says to do.
    OutOfWindow {
        /// Refuse or warn.
        policy: OutOfWindowPolicy,
        /// The window of that month.
        window: (NaiveDate, NaiveDate),
        /// The article setting the window.
        citation: String,
    },
}

/// One province's rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    name: String,
    province: String,
    code: String,
    regulation: String,
    deadlines: BTreeMap<Obligation, DeadlineRule>,
    approval: Approval,
    #[serde(default)]
    reports: Vec<ReportDue>,
    sync: SyncRule,
    /// Signed tree heads; defaults when absent.
    #[serde(default)]
    ledger: LedgerRule,
    /// Upload quota and grace period; defaults when absent.
    #[serde(default)]
    uploads: UploadRule,
    /// Backups: kinds, schedule, keeping; defaults when absent.
    #[serde(default)]
    backup: BackupRule,
    /// Access-restriction levels; a profile without its own takes the
    /// national profile's.
    #[serde(default)]
    restrictions: Option<RestrictionMap>,
}

impl Profile {
    /// The names of the embedded profiles.
    pub fn names() -> &'static [&'static str] {
        &NAMES
    }

    /// Loads an embedded profile by name (e.g. `hung-yen`).
    pub fn load(name: &str) -> Result<Self, ProfileError> {
        Self::from_toml_str(name, Self::source(name)?)
    }

    /// The TOML text of an embedded profile, as compiled into the binary: the
    /// starting point of a province's own variant.
    pub fn source(name: &str) -> Result<&'static str, ProfileError> {
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
            .ok_or_else(|| ProfileError::UnknownProfile {
                name: name.to_owned(),
                valid: NAMES.iter().map(|n| (*n).to_owned()).collect(),
            })
    }

    /// Parses and checks a profile; its `name` field must equal `name`.
    pub fn from_toml_str(name: &str, text: &str) -> Result<Self, ProfileError> {
        let mut profile: Profile = toml::from_str(text).map_err(|source| ProfileError::Parse {
            name: name.to_owned(),
            source,
        })?;
        if profile.restrictions.is_none() && name != "national" {
            profile.restrictions = Self::load("national")?.restrictions;
        }
        profile.validate(name)?;
        Ok(profile)
    }

    fn validate(&self, name: &str) -> Result<(), ProfileError> {
        let invalid = |problem: String| ProfileError::Invalid {
            name: name.to_owned(),
            problem,
        };
        if self.name != name {
            return Err(invalid(format!("declares the name {:?}", self.name)));
        }
        if self.ledger.checkpoint_every_events == 0 || self.ledger.checkpoint_every_seconds == 0 {
            return Err(invalid(
                "[ledger]: checkpoints must come after at least one event and one second".into(),
            ));
        }
        self.uploads.check().map_err(invalid)?;
        self.backup.check().map_err(invalid)?;
        for (obligation, rule) in &self.deadlines {
            if !(1..=DEADLINE_DAYS_MAX).contains(&rule.deadline.amount) {
                return Err(invalid(format!(
                    "{obligation}: deadline of {}",
                    rule.deadline
                )));
            }
        }
        for level in ApprovalLevel::ALL {
            self.approval
                .windows
                .get(level)
                .window
                .check()
                .map_err(|p| invalid(format!("{level:?}: {p}")))?;
        }
        for rule in &self.approval.authority {
            if rule.categories.is_empty() {
                return Err(invalid(format!("{}: approves no category", rule.citation)));
            }
            if rule.approver == Approver::HomeAffairsDirector
                && !(rule.org_kinds.is_empty() && rule.parent_kinds.is_empty())
            {
                return Err(invalid(format!(
                    "{}: the director rule names org kinds",
                    rule.citation
                )));
            }
        }
        for report in &self.reports {
            if report.opens.is_some_and(|opens| opens > report.due) {
                return Err(invalid(format!(
                    "{}: opens after it is due",
                    report.citation
                )));
            }
        }
        match &self.restrictions {
            None => return Err(invalid("no [restrictions] table".into())),
            Some(r) => r.validate().map_err(invalid)?,
        }
        self.sync.check().map_err(invalid)?;
        Ok(())
    }

    /// Profile name, e.g. `hung-yen`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Province name, e.g. "Hưng Yên".
    pub fn province(&self) -> &str {
        &self.province
    }

    /// Citation prefix, e.g. "HY" (or "TT06" for the national profile).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The regulation the profile implements.
    pub fn regulation(&self) -> &str {
        &self.regulation
    }

    /// The rule for an obligation.
    pub fn deadline(&self, obligation: Obligation) -> Option<&DeadlineRule> {
        self.deadlines.get(&obligation)
    }

    /// Every deadline rule.
    pub fn deadlines(&self) -> impl Iterator<Item = (Obligation, &DeadlineRule)> {
        self.deadlines.iter().map(|(o, r)| (*o, r))
    }

    /// The window rule of a level.
    pub fn approval_window_rule(&self, level: ApprovalLevel) -> &ApprovalWindow {
        self.approval.windows.get(level)
    }

    /// First and last day (inclusive) of a level's approval window in a month.
    pub fn approval_window(
        &self,
        level: ApprovalLevel,
        year: i32,
        month: u32,
        cal: &WorkingCalendar,
    ) -> Result<(NaiveDate, NaiveDate), ProfileError> {
        self.approval
            .windows
            .get(level)
            .window
            .dates(year, month, cal)
    }

    /// Whether an approval at `level` on `date` is inside its window, and if
    /// not, what the profile says to do.
    pub fn check_approval_date(
        &self,
        level: ApprovalLevel,
        date: NaiveDate,
        cal: &WorkingCalendar,
    ) -> Result<WindowCheck, ProfileError> {
        let (first, last) = self.approval_window(level, date.year(), date.month(), cal)?;
        if first <= date && date <= last {
            Ok(WindowCheck::InWindow)
        } else {
            Ok(WindowCheck::OutOfWindow {
                policy: self.approval.out_of_window,
                window: (first, last),
                citation: self.approval.windows.get(level).citation.clone(),
            })
        }
    }

    /// What happens to an approval outside its window.
    pub fn out_of_window_policy(&self) -> OutOfWindowPolicy {
        self.approval.out_of_window
    }

    /// Who approves whom.
    pub fn authority_rules(&self) -> &[AuthorityRule] {
        &self.approval.authority
    }

    /// The unit-head rules under which the head of a unit of `org_kind`
    /// (parent of `parent_kind`) approves personnel of `category`.
    pub fn authority_for(
        &self,
        org_kind: OrgKind,
        parent_kind: Option<OrgKind>,
        category: PersonnelCategory,
    ) -> impl Iterator<Item = &AuthorityRule> {
        self.approval
            .authority
            .iter()
            .filter(move |r| r.applies_to_head_of(org_kind, parent_kind) && r.covers(category))
    }

    /// Periodic reports and their due dates.
    pub fn reports(&self) -> &[ReportDue] {
        &self.reports
    }

    /// How and when approved data goes to the national database.
    pub fn sync(&self) -> &SyncRule {
        &self.sync
    }

    /// When the node signs tree heads.
    pub fn ledger(&self) -> LedgerRule {
        self.ledger
    }

    /// Which backups the regulation asks for, and how long they are kept.
    pub fn backup(&self) -> &BackupRule {
        &self.backup
    }

    /// The upload quota and grace period.
    pub fn uploads(&self) -> UploadRule {
        self.uploads
    }

    /// The same profile with the data directory's own upload limits (an
    /// operating setting the operator may set in `hoso.toml`).
    #[must_use]
    pub fn with_uploads(mut self, uploads: UploadRule) -> Self {
        self.uploads = uploads;
        self
    }

    /// Access-restriction levels of dossier data (BT 4.3, HY 4.4).
    pub fn restrictions(&self) -> &RestrictionMap {
        // validate() refuses a profile without one.
        static EMPTY: std::sync::OnceLock<RestrictionMap> = std::sync::OnceLock::new();
        self.restrictions
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(RestrictionMap::default))
    }
}

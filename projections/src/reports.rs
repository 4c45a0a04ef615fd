//! Reports: the annual headcount report (BT 16.5, HY 14.1), the management
//! report (KT 19.2), the SLA report of obligations and their due dates,
//! approvals pending per monthly window, the quantity and quality report of
//! the personnel (DL 7.11) and the cross-tab ([`crate::crosstab`]) — each as
//! JSON (serde) or as tables ([`Tabular`]: the first sheet is the CSV, all of
//! them a spreadsheet's sheets).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::profile::{ApprovalLevel, Profile};
use hoso_domain::review::ReviewState;
use rusqlite::{Connection, Row};
use serde::Serialize;

use crate::crosstab::{self, CrossTab, Person};
use crate::dates::{date_text, parse};
use crate::views::Dimension;
use crate::{ProjectionError, ReadModel};

/// Renders rows as CSV (RFC 4180: fields with commas, quotes or line
/// breaks are quoted, quotes doubled).
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    let mut out = header
        .iter()
        .map(|h| field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// One cell of a report's table: text, or a count (a spreadsheet keeps it
/// a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text (codes, names, dates).
    Text(String),
    /// A count.
    Count(u64),
}

impl Cell {
    /// The cell as CSV text.
    pub fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Count(n) => n.to_string(),
        }
    }
}

impl From<&str> for Cell {
    fn from(t: &str) -> Self {
        Self::Text(t.to_owned())
    }
}

impl From<String> for Cell {
    fn from(t: String) -> Self {
        Self::Text(t)
    }
}

impl From<&String> for Cell {
    fn from(t: &String) -> Self {
        Self::Text(t.clone())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Self::Count(n)
    }
}

/// One table of a report: a sheet of a spreadsheet, or a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// Sheet name (at most 31 characters, none of `[]:*?/\`).
    pub name: &'static str,
    /// Column headings.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    /// A sheet with these headings.
    pub fn new(name: &'static str, header: &[&str]) -> Self {
        Self {
            name,
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// As CSV.
    pub fn to_csv(&self) -> String {
        let header: Vec<&str> = self.header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::text).collect())
            .collect();
        to_csv(&header, &rows)
    }
}

/// A report as tables: the first sheet is what its CSV holds; a spreadsheet
/// holds them all.
pub trait Tabular {
    /// The report's tables, the main one first.
    fn sheets(&self) -> Vec<Sheet>;

    /// The main table as CSV.
    fn csv(&self) -> String {
        self.sheets().first().map(Sheet::to_csv).unwrap_or_default()
    }
}

/// One line of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    /// Code or value.
    pub key: String,
    /// Name, where the key is a code.
    pub name: Option<String>,
    /// Active people.
    pub count: u64,
}

/// The annual headcount report of a unit's subtree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnnualReport {
    /// Unit.
    pub org_code: String,
    /// Year.
    pub year: i32,
    /// Active people in the subtree.
    pub total: u64,
    /// By personnel category.
    pub by_category: Vec<Count>,
    /// By civil-service rank (ngạch).
    pub by_rank: Vec<Count>,
    /// By professional title (chức danh nghề nghiệp).
    pub by_title: Vec<Count>,
    /// By job position.
    pub by_job_position: Vec<Count>,
}

impl AnnualReport {
    /// As CSV: one line per breakdown entry.
    pub fn to_csv(&self) -> String {
        self.csv()
    }
}

impl Tabular for AnnualReport {
    fn sheets(&self) -> Vec<Sheet> {
        let mut sheet = Sheet::new("annual", &["breakdown", "key", "name", "count"]);
        for (section, counts) in [
            ("category", &self.by_category),
            ("rank", &self.by_rank),
            ("title", &self.by_title),
            ("job_position", &self.by_job_position),
        ] {
            for c in counts {
                sheet.rows.push(vec![
                    section.into(),
                    (&c.key).into(),
                    c.name.clone().unwrap_or_default().into(),
                    c.count.into(),
                ]);
            }
        }
        sheet.rows.push(vec![
            "total".into(),
            "".into(),
            "".into(),
            self.total.into(),
        ]);
        vec![sheet]
    }
}

/// The management report of a period (KT 19.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagementReport {
    /// Unit.
    pub org_code: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Per unit: new dossiers, status updates, approvals signed, returns.
    pub units: Vec<ManagementLine>,
    /// Dossiers locked and waiting for a signature now.
    pub pending_approvals: u64,
}

/// One unit of the management report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagementLine {
    /// Unit (current managing unit).
    pub org_code: String,
    /// Dossiers opened or imported.
    pub new_dossiers: u64,
    /// Status changes recorded.
    pub status_updates: u64,
    /// Approvals signed.
    pub approvals: u64,
    /// Declarations returned to the person.
    pub returned: u64,
    /// Decisions of the state recorded.
    pub decisions: u64,
}

impl ManagementReport {
    /// As CSV.
    pub fn to_csv(&self) -> String {
        self.csv()
    }
}

impl Tabular for ManagementReport {
    fn sheets(&self) -> Vec<Sheet> {
        let mut sheet = Sheet::new(
            "management",
            &[
                "org_code",
                "new_dossiers",
                "status_updates",
                "approvals",
                "returned",
                "decisions",
            ],
        );
        for l in &self.units {
            sheet.rows.push(vec![
                (&l.org_code).into(),
                l.new_dossiers.into(),
                l.status_updates.into(),
                l.approvals.into(),
                l.returned.into(),
                l.decisions.into(),
            ]);
        }
        vec![sheet]
    }
}

/// One open obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenObligation {
    /// Dossier.
    pub dossier_id: String,
    /// Profile key.
    pub obligation: String,
    /// Article.
    pub citation: String,
    /// Clock start.
    pub counted_from: String,
    /// Due date.
    pub due: String,
    /// Working days past due on the report date (0 if not overdue).
    pub overdue_working_days: u32,
}

/// SLA figures of one responsible unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaLine {
    /// Responsible unit.
    pub org_code: String,
    /// Open and not yet due.
    pub open: u64,
    /// Open and past due.
    pub overdue: u64,
    /// Closed on time.
    pub closed_on_time: u64,
    /// Closed late.
    pub closed_late: u64,
}

/// The SLA report: obligations per responsible unit on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    /// Report date.
    pub on: String,
    /// Per unit.
    pub units: Vec<SlaLine>,
    /// Every open obligation, most overdue first.
    pub open: Vec<OpenObligation>,
}

impl SlaReport {
    /// As CSV: the per-unit lines.
    pub fn to_csv(&self) -> String {
        self.csv()
    }
}

impl Tabular for SlaReport {
    /// The per-unit lines, then every open obligation.
    fn sheets(&self) -> Vec<Sheet> {
        let mut units = Sheet::new(
            "units",
            &[
                "org_code",
                "open",
                "overdue",
                "closed_on_time",
                "closed_late",
            ],
        );
        for l in &self.units {
            units.rows.push(vec![
                (&l.org_code).into(),
                l.open.into(),
                l.overdue.into(),
                l.closed_on_time.into(),
                l.closed_late.into(),
            ]);
        }
        let mut open = Sheet::new(
            "open",
            &[
                "dossier_id",
                "obligation",
                "citation",
                "counted_from",
                "due",
                "overdue_working_days",
            ],
        );
        for o in &self.open {
            open.rows.push(vec![
                (&o.dossier_id).into(),
                (&o.obligation).into(),
                (&o.citation).into(),
                (&o.counted_from).into(),
                (&o.due).into(),
                u64::from(o.overdue_working_days).into(),
            ]);
        }
        vec![units, open]
    }
}

/// Locked dossiers waiting for a signature, by the month they were locked,
/// with that month's approval windows from the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingWindow {
    /// "YYYY-MM".
    pub month: String,
    /// Dossiers waiting.
    pub pending: u64,
    /// Window of each approval level that month: (level, first, last).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<serde_json::Value>>))]
    pub windows: Vec<(String, String, String)>,
}

/// Pending approvals as CSV: one line per month and approval level.
pub fn pending_to_csv(months: &[PendingWindow]) -> String {
    PendingApprovals(months).csv()
}

/// The pending approvals of every month, as a table (and as JSON, the
/// list itself).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(transparent)]
pub struct PendingApprovals<'a>(pub &'a [PendingWindow]);

impl Tabular for PendingApprovals<'_> {
    fn sheets(&self) -> Vec<Sheet> {
        let mut sheet = Sheet::new(
            "approvals_pending",
            &["month", "pending", "level", "window_first", "window_last"],
        );
        for m in self.0 {
            for (level, first, last) in &m.windows {
                sheet.rows.push(vec![
                    (&m.month).into(),
                    m.pending.into(),
                    level.into(),
                    first.into(),
                    last.into(),
                ]);
            }
        }
        vec![sheet]
    }
}

impl ReadModel {
    /// The annual headcount report of a subtree for `year` (tree of 31 December).
    pub fn annual_report(&self, code: &str, year: i32) -> Result<AnnualReport, ProjectionError> {
        let date = NaiveDate::from_ymd_opt(year, 12, 31)
            .ok_or_else(|| ProjectionError::BadQuery(format!("year {year}")))?;
        let names = self.rank_names()?;
        let counts = |by: Dimension, named: bool| -> Result<Vec<Count>, ProjectionError> {
            Ok(self
                .headcount(code, date, by)?
                .into_iter()
                .map(|(key, count)| Count {
                    name: if named {
                        names.get(&key).cloned()
                    } else {
                        None
                    },
                    key,
                    count,
                })
                .collect())
        };
        let by_category = counts(Dimension::Category, false)?;
        Ok(AnnualReport {
            org_code: code.to_owned(),
            year,
            total: by_category.iter().map(|c| c.count).sum(),
            by_category,
            by_rank: counts(Dimension::Rank, true)?
                .into_iter()
                .filter(|c| c.key != "unknown")
                .collect(),
            by_title: counts(Dimension::Title, true)?
                .into_iter()
                .filter(|c| c.key != "unknown")
                .collect(),
            by_job_position: counts(Dimension::JobPosition, false)?,
        })
    }

    fn rank_names(&self) -> Result<BTreeMap<String, String>, ProjectionError> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT rank_code, max(rank_name) FROM dossiers WHERE rank_code IS NOT NULL
                 GROUP BY rank_code",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows
                .into_iter()
                .filter_map(|(c, n)| n.map(|n| (c, n)))
                .collect())
        })
    }

    /// The management report of a subtree for the days `from..=to` (recorded
    /// dates, Vietnam time).
    pub fn management_report(
        &self,
        code: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ManagementReport, ProjectionError> {
        let units = self.subtree(code, to)?;
        // Days in Vietnam: midnight there is 17:00 UTC the day before.
        let micros =
            |d: NaiveDate| hoso_domain::calendar::start_of_day_in_vietnam(d).timestamp_micros();
        let (start, end) = (micros(from), micros(to.succ_opt().unwrap_or(to)));
        self.with_reader(|conn| {
            Ok(ManagementReport {
                org_code: code.to_owned(),
                from: date_text(from),
                to: date_text(to),
                units: management_lines(conn, &units, start, end)?,
                pending_approvals: pending_approvals(conn, &units)?,
            })
        })
    }

    /// The SLA report on `on`: open obligations (overdue ones with the
    /// working days they are late) and closed ones, per responsible unit.
    pub fn sla_report(
        &self,
        on: NaiveDate,
        cal: &WorkingCalendar,
    ) -> Result<SlaReport, ProjectionError> {
        self.with_reader(|conn| {
            let mut lines: BTreeMap<String, SlaLine> = BTreeMap::new();
            let mut open = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT dossier_id, obligation, citation, counted_from, due, responsible, closed_on, late
                 FROM obligations",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                tally_obligation(r, on, cal, &mut lines, &mut open)?;
            }
            open.sort_by(|a, b| {
                b.overdue_working_days
                    .cmp(&a.overdue_working_days)
                    .then_with(|| a.due.cmp(&b.due))
                    .then_with(|| a.dossier_id.cmp(&b.dossier_id))
            });
            Ok(SlaReport {
                on: date_text(on),
                units: lines.into_values().collect(),
                open,
            })
        })
    }

    /// The open obligations of one dossier on `on`, soonest due first, each
    /// with the working days it is overdue: the same figures as the SLA
    /// report's, for the person and the reviewer of that dossier alone.
    pub fn open_obligations(
        &self,
        dossier_id: &str,
        on: NaiveDate,
        cal: &WorkingCalendar,
    ) -> Result<Vec<OpenObligation>, ProjectionError> {
        self.with_reader(|conn| {
            let mut lines = BTreeMap::new();
            let mut open = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT dossier_id, obligation, citation, counted_from, due, responsible, closed_on, late
                 FROM obligations WHERE dossier_id = ?1 AND closed_on IS NULL",
            )?;
            let mut rows = stmt.query([dossier_id])?;
            while let Some(r) = rows.next()? {
                tally_obligation(r, on, cal, &mut lines, &mut open)?;
            }
            open.sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.obligation.cmp(&b.obligation)));
            Ok(open)
        })
    }

    /// Locked dossiers waiting for a signature, per month locked, with the
    /// profile's windows for that month.
    pub fn approvals_pending(
        &self,
        profile: &Profile,
        cal: &WorkingCalendar,
    ) -> Result<Vec<PendingWindow>, ProjectionError> {
        let months: BTreeMap<String, u64> = self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT substr(locked_on, 1, 7), count(*) FROM dossiers
                 WHERE workflow = ?1 AND archived = 0 AND locked_on IS NOT NULL
                 GROUP BY 1",
            )?;
            let rows = stmt
                .query_map([ReviewState::Locked.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows
                .into_iter()
                .map(|(m, n)| (m, u64::try_from(n).unwrap_or(0)))
                .collect())
        })?;
        let mut out = Vec::new();
        for (month, pending) in months {
            let first = parse(&format!("{month}-01"))
                .ok_or_else(|| ProjectionError::Corrupt(format!("lock month {month}")))?;
            let mut windows = Vec::new();
            for (level, name) in [
                (ApprovalLevel::UnitHead, "unit_head"),
                (ApprovalLevel::DepartmentHead, "department_head"),
                (ApprovalLevel::HomeAffairsDirector, "home_affairs_director"),
            ] {
                if let Ok((a, b)) = profile.approval_window(level, first.year(), first.month(), cal)
                {
                    windows.push((name.to_owned(), date_text(a), date_text(b)));
                }
            }
            out.push(PendingWindow {
                month,
                pending,
                windows,
            });
        }
        Ok(out)
    }
}

/// Events recorded in `start..end` (microseconds), counted per managing
/// unit of the subtree.
fn management_lines(
    conn: &Connection,
    units: &[String],
    start: i64,
    end: i64,
) -> Result<Vec<ManagementLine>, ProjectionError> {
    let mut lines: BTreeMap<String, ManagementLine> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT d.managing_unit, h.type, count(*) FROM history h
         JOIN dossiers d ON d.id = h.dossier_id
         WHERE h.recorded_at >= ?1 AND h.recorded_at < ?2
         GROUP BY d.managing_unit, h.type",
    )?;
    let mut rows = stmt.query([&start, &end])?;
    while let Some(r) = rows.next()? {
        let unit: String = r.get(0)?;
        if !units.contains(&unit) {
            continue;
        }
        let ty: String = r.get(1)?;
        let n = u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0);
        let line = lines.entry(unit.clone()).or_insert_with(|| ManagementLine {
            org_code: unit,
            ..ManagementLine::default()
        });
        match ty.as_str() {
            "dossier.DossierOpened" | "dossier.DossierImported" => line.new_dossiers += n,
            "dossier.StatusChanged" => line.status_updates += n,
            "dossier.ApprovalSigned" => line.approvals += n,
            "dossier.DeclarationReturned" => line.returned += n,
            "dossier.AppointmentRecorded"
            | "dossier.RankChanged"
            | "dossier.SalaryChanged"
            | "dossier.AllowanceChanged"
            | "dossier.AwardGranted"
            | "dossier.DisciplineImposed"
            | "dossier.EvaluationRecorded"
            | "dossier.TrainingRecorded" => line.decisions += n,
            _ => {}
        }
    }
    Ok(lines.into_values().collect())
}

/// Dossiers of the subtree locked and waiting for the head's signature.
fn pending_approvals(conn: &Connection, units: &[String]) -> Result<u64, ProjectionError> {
    let mut pending = 0;
    let mut stmt = conn.prepare_cached(
        "SELECT managing_unit FROM dossiers WHERE workflow = ?1 AND archived = 0",
    )?;
    let mut rows = stmt.query([ReviewState::Locked.as_str()])?;
    while let Some(r) = rows.next()? {
        if units.contains(&r.get::<_, String>(0)?) {
            pending += 1;
        }
    }
    Ok(pending)
}

/// Counts one obligation row on its responsible unit's line; an open one
/// is listed with the working days it is overdue on `on`.
fn tally_obligation(
    r: &Row<'_>,
    on: NaiveDate,
    cal: &WorkingCalendar,
    lines: &mut BTreeMap<String, SlaLine>,
    open: &mut Vec<OpenObligation>,
) -> Result<(), ProjectionError> {
    let responsible: String = r.get(5)?;
    let line = lines.entry(responsible.clone()).or_insert_with(|| SlaLine {
        org_code: responsible,
        ..SlaLine::default()
    });
    let due: String = r.get(4)?;
    let closed: Option<String> = r.get(6)?;
    if closed.is_some() {
        if r.get::<_, Option<bool>>(7)?.unwrap_or(false) {
            line.closed_late += 1;
        } else {
            line.closed_on_time += 1;
        }
        return Ok(());
    }
    let due_date =
        parse(&due).ok_or_else(|| ProjectionError::Corrupt(format!("due date {due}")))?;
    let late = if due_date < on {
        cal.working_days_between(due_date, on)
    } else {
        0
    };
    if due_date < on {
        line.overdue += 1;
    } else {
        line.open += 1;
    }
    open.push(OpenObligation {
        dossier_id: r.get(0)?,
        obligation: r.get(1)?,
        citation: r.get(2)?,
        counted_from: r.get(3)?,
        due,
        overdue_working_days: u32::try_from(late).unwrap_or(0),
    });
    Ok(())
}

impl Tabular for CrossTab {
    /// Rows down, columns across, each line's total at its end and the
    /// columns' totals in a last `total` line.
    fn sheets(&self) -> Vec<Sheet> {
        let corner = format!("{}/{}", self.rows_by.name(), self.columns_by.name());
        let mut header = vec![corner, "name".to_owned()];
        header.extend(self.columns.iter().map(|c| c.key.clone()));
        header.push("total".to_owned());
        let mut rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| {
                let mut line: Vec<Cell> =
                    vec![(&r.key).into(), r.name.clone().unwrap_or_default().into()];
                line.extend(r.counts.iter().map(|n| Cell::Count(*n)));
                line.push(r.total.into());
                line
            })
            .collect();
        let mut totals: Vec<Cell> = vec!["total".into(), "".into()];
        totals.extend(self.columns.iter().map(|c| Cell::Count(c.total)));
        totals.push(self.total.into());
        rows.push(totals);
        vec![Sheet {
            name: "crosstab",
            header,
            rows,
        }]
    }
}

/// One line of the quantity and quality report: the people of one
/// personnel category (or all of them, `total`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityLine {
    /// Personnel category (as dossiers spell it), or `total`.
    pub category: String,
    /// Active people.
    pub total: u64,
    /// Women (item 3b `Nữ`).
    pub women: u64,
    /// Of an ethnic minority (item 6 declared and not `Kinh`).
    pub ethnic_minorities: u64,
    /// Party members (item 16a declared).
    pub party_members: u64,
    /// By professional qualification level (item 15.2), every level listed.
    pub by_qualification: Vec<Count>,
    /// By age band on the report date, every band listed.
    pub by_age_band: Vec<Count>,
}

/// The quantity and quality report of a unit's subtree on a date (DL 7.11):
/// per personnel category, how many, how many women, of ethnic minorities,
/// Party members, by qualification level and by age band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QualityReport {
    /// Root unit.
    pub org_code: String,
    /// Report date.
    pub date: String,
    /// One line per category present, then the `total` line.
    pub lines: Vec<QualityLine>,
}

impl Tabular for QualityReport {
    fn sheets(&self) -> Vec<Sheet> {
        let mut header: Vec<String> = [
            "category",
            "total",
            "women",
            "ethnic_minorities",
            "party_members",
        ]
        .map(str::to_owned)
        .to_vec();
        let first = self.lines.first();
        for c in first
            .map(|l| l.by_qualification.as_slice())
            .unwrap_or_default()
        {
            header.push(format!("qualification:{}", c.key));
        }
        for c in first.map(|l| l.by_age_band.as_slice()).unwrap_or_default() {
            header.push(format!("age_band:{}", c.key));
        }
        let rows = self
            .lines
            .iter()
            .map(|l| {
                let mut line: Vec<Cell> = vec![
                    (&l.category).into(),
                    l.total.into(),
                    l.women.into(),
                    l.ethnic_minorities.into(),
                    l.party_members.into(),
                ];
                line.extend(l.by_qualification.iter().map(|c| Cell::Count(c.count)));
                line.extend(l.by_age_band.iter().map(|c| Cell::Count(c.count)));
                line
            })
            .collect();
        vec![Sheet {
            name: "quality",
            header,
            rows,
        }]
    }
}

/// The quality report's line of `people`.
fn quality_line(category: String, people: &[&Person], date: NaiveDate) -> QualityLine {
    let folded = |v: &Option<String>| v.as_deref().map(hoso_domain::text::fold);
    let breakdown = |by: Dimension| -> Vec<Count> {
        crosstab::closed_keys(by)
            .unwrap_or_default()
            .into_iter()
            .map(|(key, name)| Count {
                key: key.to_owned(),
                name: name.map(str::to_owned),
                count: people
                    .iter()
                    .filter(|p| crosstab::key_of(p, by, date) == key)
                    .count() as u64,
            })
            .collect()
    };
    QualityLine {
        category,
        total: people.len() as u64,
        women: people
            .iter()
            .filter(|p| folded(&p.gender).as_deref() == Some("nu"))
            .count() as u64,
        ethnic_minorities: people
            .iter()
            .filter(|p| folded(&p.ethnicity).is_some_and(|e| e != "kinh"))
            .count() as u64,
        party_members: people.iter().filter(|p| p.party_member).count() as u64,
        by_qualification: breakdown(Dimension::Qualification),
        by_age_band: breakdown(Dimension::AgeBand),
    }
}

impl ReadModel {
    /// The quantity and quality report of the subtree of `code` on `date`.
    pub fn quality_report(
        &self,
        code: &str,
        date: NaiveDate,
    ) -> Result<QualityReport, ProjectionError> {
        let people = self.people_of(code, date)?;
        let mut by_category: BTreeMap<String, Vec<&Person>> = BTreeMap::new();
        for p in &people {
            by_category
                .entry(crosstab::key_of(p, Dimension::Category, date))
                .or_default()
                .push(p);
        }
        let mut lines: Vec<QualityLine> = by_category
            .into_iter()
            .map(|(category, members)| quality_line(category, &members, date))
            .collect();
        let everyone: Vec<&Person> = people.iter().collect();
        lines.push(quality_line("total".to_owned(), &everyone, date));
        Ok(QualityReport {
            org_code: code.to_owned(),
            date: date_text(date),
            lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(i: u8) -> Person {
        Person {
            category: [2, 3][usize::from(i % 2)],
            gender: Some(if i.is_multiple_of(3) { "Nữ" } else { "Nam" }.to_owned()),
            ethnicity: Some(if i.is_multiple_of(4) { "Tày" } else { "Kinh" }.to_owned()),
            qualification: (!i.is_multiple_of(5)).then(|| "Thạc sĩ Luật".to_owned()),
            birth_year: Some(1970 + i64::from(i)),
            party_member: i.is_multiple_of(2),
            ..Person::default()
        }
    }

    #[test]
    fn a_quality_line_lists_every_level_and_band_and_they_add_up() {
        let people: Vec<Person> = (0..30).map(person).collect();
        let all: Vec<&Person> = people.iter().collect();
        let line = quality_line("total".into(), &all, NaiveDate::MIN);
        let on = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or(NaiveDate::MIN);
        let line_on = quality_line("total".into(), &all, on);
        assert_eq!(line.total, 30);
        assert_eq!(line.women, 10);
        assert_eq!(line.ethnic_minorities, 8);
        assert_eq!(line.party_members, 15);
        for l in [&line, &line_on] {
            assert_eq!(l.by_qualification.len(), 8);
            assert_eq!(l.by_age_band.len(), 6);
            assert_eq!(l.by_qualification.iter().map(|c| c.count).sum::<u64>(), 30);
            assert_eq!(l.by_age_band.iter().map(|c| c.count).sum::<u64>(), 30);
        }
        let master = line.by_qualification.iter().find(|c| c.key == "master");
        assert_eq!(master.map(|c| c.count), Some(24));
        assert_eq!(master.and_then(|c| c.name.as_deref()), Some("Thạc sĩ"));
    }

    #[test]
    fn a_sheet_as_csv_quotes_what_needs_quoting() {
        let mut sheet = Sheet::new("x", &["key", "count"]);
        sheet.rows.push(vec!["a, \"b\"".into(), 3.into()]);
        assert_eq!(sheet.to_csv(), "key,count\r\n\"a, \"\"b\"\"\",3\r\n");
    }

    #[test]
    fn a_quality_report_sheet_has_a_column_per_figure() {
        let people: Vec<Person> = (0..6).map(person).collect();
        let all: Vec<&Person> = people.iter().collect();
        let report = QualityReport {
            org_code: "000.02.00.H33".into(),
            date: "2026-06-30".into(),
            lines: vec![quality_line("total".into(), &all, NaiveDate::MIN)],
        };
        let sheets = report.sheets();
        let sheet = &sheets[0];
        assert_eq!(sheet.header.len(), 5 + 8 + 6);
        assert_eq!(sheet.rows[0].len(), sheet.header.len());
        assert_eq!(sheet.header[5], "qualification:doctorate");
        assert_eq!(sheet.rows[0][1], Cell::Count(6));
    }
}

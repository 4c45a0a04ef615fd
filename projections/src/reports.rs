//! Reports: the annual headcount report (BT 16.5, HY 14.1), the management
//! report (KT 19.2), the SLA report of obligations and their due dates, and
//! approvals pending per monthly window — each as JSON (serde) or CSV.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::profile::{ApprovalLevel, Profile};
use hoso_domain::review::ReviewState;
use rusqlite::{Connection, Row};
use serde::Serialize;

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
        let mut rows = Vec::new();
        for (section, counts) in [
            ("category", &self.by_category),
            ("rank", &self.by_rank),
            ("title", &self.by_title),
            ("job_position", &self.by_job_position),
        ] {
            for c in counts {
                rows.push(vec![
                    section.to_owned(),
                    c.key.clone(),
                    c.name.clone().unwrap_or_default(),
                    c.count.to_string(),
                ]);
            }
        }
        rows.push(vec![
            "total".into(),
            String::new(),
            String::new(),
            self.total.to_string(),
        ]);
        to_csv(&["breakdown", "key", "name", "count"], &rows)
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
        let rows: Vec<Vec<String>> = self
            .units
            .iter()
            .map(|l| {
                vec![
                    l.org_code.clone(),
                    l.new_dossiers.to_string(),
                    l.status_updates.to_string(),
                    l.approvals.to_string(),
                    l.returned.to_string(),
                    l.decisions.to_string(),
                ]
            })
            .collect();
        to_csv(
            &[
                "org_code",
                "new_dossiers",
                "status_updates",
                "approvals",
                "returned",
                "decisions",
            ],
            &rows,
        )
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
        let rows: Vec<Vec<String>> = self
            .units
            .iter()
            .map(|l| {
                vec![
                    l.org_code.clone(),
                    l.open.to_string(),
                    l.overdue.to_string(),
                    l.closed_on_time.to_string(),
                    l.closed_late.to_string(),
                ]
            })
            .collect();
        to_csv(
            &[
                "org_code",
                "open",
                "overdue",
                "closed_on_time",
                "closed_late",
            ],
            &rows,
        )
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
    let mut rows = Vec::new();
    for m in months {
        for (level, first, last) in &m.windows {
            rows.push(vec![
                m.month.clone(),
                m.pending.to_string(),
                level.clone(),
                first.clone(),
                last.clone(),
            ]);
        }
    }
    to_csv(
        &["month", "pending", "level", "window_first", "window_last"],
        &rows,
    )
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

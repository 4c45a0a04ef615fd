//! The dossier's history as an inspector reads it: one entry per event of a verified
//! bundle — who, when, the effective date, the decision document, field-level changes
//! of declarations, and approval signatures with their check.
//!
//! Sealed fields stay sealed: a bundle carries ciphertext only, so the timeline says
//! "sealed" where a value would be, and a changed ciphertext is shown as a change whose
//! content is not visible.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use hoso_schemas::pb::common::{Date, DecisionRef};
use hoso_schemas::pb::dossier::FieldEntry;
use hoso_schemas::{DomainEvent, Spelling};

use crate::verify::Report;

/// What a sealed field shows in place of its value.
pub const SEALED: &str = "sealed";

/// One step of the dossier's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// Revision in the dossier stream.
    pub revision: u64,
    /// Position in `$all`.
    pub position: u64,
    /// When the ledger recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who caused it (account id, or `system`).
    pub who: String,
    /// The event type, e.g. `dossier.RankChanged`.
    pub event_type: String,
    /// A one-line description.
    pub summary: String,
    /// The date it takes effect, when it has one (`YYYY-MM-DD`, or shorter for a
    /// partial date).
    pub effective: Option<String>,
    /// The decision document: number, date, issuer.
    pub decision: Option<String>,
    /// Field changes of a declaration against the section's previous declaration.
    pub changes: Vec<FieldChange>,
    /// An approval's signature and whether it verified.
    pub signature: Option<SignatureMark>,
}

/// One field's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The form section.
    pub section: String,
    /// The field code, with its table row when it has one (`27.c1#2`).
    pub field: String,
    /// The value before (`None`: not declared before).
    pub before: Option<String>,
    /// The value after (`None`: no longer declared).
    pub after: Option<String>,
}

/// An approval's signature in the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureMark {
    /// The signing account.
    pub signer: String,
    /// The account whose power was used, if by delegation.
    pub delegated_from: Option<String>,
    /// The key id.
    pub key_id: String,
    /// The revision signed.
    pub signed_revision: u64,
    /// Whether the signature verified under the registered key.
    pub valid: bool,
}

/// The language of the timeline's words (summaries and decision references);
/// codes, names and values are the dossier's own in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// For the command line (`hoso verify-bundle --show`).
    English,
    /// For the portal, whose readers are Vietnamese.
    Vietnamese,
}

impl Lang {
    fn pick(self, en: String, vi: String) -> String {
        match self {
            Self::English => en,
            Self::Vietnamese => vi,
        }
    }
}

/// The timeline of a verified bundle, in revision order, in English.
pub fn timeline(report: &Report) -> Vec<TimelineEntry> {
    timeline_in(report, Lang::English)
}

/// The timeline of a verified bundle, in revision order, in `lang`.
pub fn timeline_in(report: &Report, lang: Lang) -> Vec<TimelineEntry> {
    let mut sections: BTreeMap<String, BTreeMap<(String, u32), Value>> = BTreeMap::new();
    report
        .events
        .iter()
        .map(|e| {
            let r = &e.recorded;
            let mut entry = TimelineEntry {
                revision: r.revision,
                position: r.position,
                recorded_at: r.recorded_at,
                who: r.actor.clone(),
                event_type: r.event_type.clone(),
                summary: r
                    .event_type
                    .split_once('.')
                    .map_or(r.event_type.as_str(), |(_, name)| name)
                    .to_owned(),
                effective: r.effective_at.map(|t| vietnam_date(t).to_string()),
                decision: r.source_document.as_ref().map(|d| {
                    lang.pick(
                        format!("{} of {}, {}", d.number, d.date, d.issuer),
                        format!(
                            "{} ngày {}, {}",
                            d.number,
                            d.date.format("%d/%m/%Y"),
                            d.issuer
                        ),
                    )
                }),
                changes: Vec::new(),
                signature: None,
            };
            describe(&e.decoded, &mut entry, &mut sections, lang);
            if let DomainEvent::ApprovalSigned(_) = &e.decoded
                && let Some(a) = report
                    .approvals
                    .iter()
                    .find(|a| a.approval_revision == r.revision)
            {
                entry.signature = Some(SignatureMark {
                    signer: a.signer.clone(),
                    delegated_from: a.delegated_from.clone(),
                    key_id: a.key_id.clone(),
                    signed_revision: a.signed_revision,
                    valid: a.valid,
                });
            }
            entry
        })
        .collect()
}

/// A declared value as the timeline can show it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Clear(String),
    Sealed(Vec<u8>),
}

impl Value {
    fn of(f: &FieldEntry) -> Self {
        if f.sealed.is_empty() {
            Self::Clear(f.value.clone())
        } else {
            Self::Sealed(f.sealed.clone())
        }
    }

    fn show(&self) -> String {
        match self {
            Self::Clear(v) => v.clone(),
            Self::Sealed(_) => SEALED.to_owned(),
        }
    }
}

/// The section's new content, and its changes against what was declared before.
fn declare(
    sections: &mut BTreeMap<String, BTreeMap<(String, u32), Value>>,
    section: &str,
    fields: &[FieldEntry],
) -> Vec<FieldChange> {
    let now: BTreeMap<(String, u32), Value> = fields
        .iter()
        .map(|f| ((f.field_code.clone(), f.row), Value::of(f)))
        .collect();
    let before = sections.remove(section).unwrap_or_default();
    let name = |(code, row): &(String, u32)| {
        if *row == 0 {
            code.clone()
        } else {
            format!("{code}#{row}")
        }
    };
    let mut changes = Vec::new();
    for (k, v) in &now {
        match before.get(k) {
            Some(old) if old == v => {}
            old => changes.push(FieldChange {
                section: section.to_owned(),
                field: name(k),
                before: old.map(Value::show),
                after: Some(v.show()),
            }),
        }
    }
    for (k, old) in &before {
        if !now.contains_key(k) {
            changes.push(FieldChange {
                section: section.to_owned(),
                field: name(k),
                before: Some(old.show()),
                after: None,
            });
        }
    }
    sections.insert(section.to_owned(), now);
    changes
}

fn describe(
    event: &DomainEvent,
    entry: &mut TimelineEntry,
    sections: &mut BTreeMap<String, BTreeMap<(String, u32), Value>>,
    lang: Lang,
) {
    let dated = |entry: &mut TimelineEntry, effective: &Option<Date>, d: &Option<DecisionRef>| {
        if entry.effective.is_none() {
            entry.effective = effective.as_ref().and_then(show_date);
        }
        if entry.decision.is_none() {
            entry.decision = d.as_ref().map(|d| show_decision(d, lang));
        }
    };
    let say = |en: String, vi: String| lang.pick(en, vi);
    match event {
        DomainEvent::DossierOpened(e) => {
            entry.summary = say(
                format!(
                    "dossier opened, managing unit {}, employing unit {}",
                    e.managing_unit, e.employing_unit
                ),
                format!(
                    "lập hồ sơ, đơn vị quản lý {}, đơn vị sử dụng {}",
                    e.managing_unit, e.employing_unit
                ),
            );
            dated(entry, &e.recruited_on, &e.recruitment_decision);
        }
        DomainEvent::DossierImported(e) => {
            entry.summary = say(
                format!("dossier imported from {}", e.source_system),
                format!("nhập hồ sơ từ {}", e.source_system),
            );
            for s in &e.sections {
                let changes = declare(sections, &s.section_code, &s.fields);
                entry.changes.extend(changes);
            }
        }
        DomainEvent::DeclarationSubmitted(e) => {
            entry.summary = say(
                format!("section {} declared ({})", e.section_code, e.form),
                format!("kê khai mục {} (mẫu {})", title(&e.section_code), e.form),
            );
            entry.changes = declare(sections, &e.section_code, &e.fields);
        }
        DomainEvent::DeclarationReturned(e) => {
            entry.summary = say(
                format!(
                    "section {} returned: {}",
                    e.section_code,
                    e.reasons.join("; ")
                ),
                format!(
                    "trả lại mục {}: {}",
                    title(&e.section_code),
                    e.reasons.join("; ")
                ),
            );
        }
        DomainEvent::DeclarationVerified(e) => {
            entry.summary = if e.section_codes.is_empty() {
                say(
                    "declaration verified".into(),
                    "đã thẩm định bản kê khai".into(),
                )
            } else {
                let codes = e.section_codes.join(", ");
                let titles: Vec<&str> = e.section_codes.iter().map(|c| title(c)).collect();
                say(
                    format!("sections {codes} verified"),
                    format!("đã thẩm định các mục {}", titles.join("; ")),
                )
            };
        }
        DomainEvent::DossierLocked(_) => {
            entry.summary = say("declaration locked".into(), "khóa bản kê khai".into());
        }
        DomainEvent::ApprovalSigned(e) => {
            entry.summary = say(
                format!("approval of revision {} signed by {}", e.revision, e.signer),
                format!("ký phê duyệt phiên bản {} bởi {}", e.revision, e.signer),
            );
        }
        DomainEvent::AppointmentRecorded(e) => {
            entry.summary = say(
                format!("appointment: {} in {}", e.position_title, e.org_code),
                format!("bổ nhiệm: {} tại {}", e.position_title, e.org_code),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::RankChanged(e) => {
            entry.summary = say(
                format!("rank {} {}", e.rank_code, e.rank_name),
                format!("ngạch {} {}", e.rank_code, e.rank_name),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::SalaryChanged(e) => {
            let (whole, cents) = (e.coefficient_x100 / 100, e.coefficient_x100 % 100);
            entry.summary = say(
                format!(
                    "salary {} step {}, coefficient {whole}.{cents:02}",
                    e.rank_code, e.step
                ),
                format!(
                    "lương ngạch {} bậc {}, hệ số {whole},{cents:02}",
                    e.rank_code, e.step
                ),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::AllowanceChanged(e) => {
            entry.summary = say(
                format!("allowance {}", e.name),
                format!("phụ cấp {}", e.name),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::AwardGranted(e) => {
            entry.summary = say(
                format!("award {} ({})", e.form, e.year),
                format!("khen thưởng {} (năm {})", e.form, e.year),
            );
            dated(entry, &None, &e.decision);
        }
        DomainEvent::DisciplineImposed(e) => {
            entry.summary = if e.sealed_reason.is_empty() {
                say(
                    format!("discipline: {}", e.reason),
                    format!("kỷ luật: {}", e.reason),
                )
            } else {
                say(
                    format!("discipline (reason {SEALED})"),
                    "kỷ luật (lý do được mã hóa)".into(),
                )
            };
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::TrainingRecorded(e) => {
            entry.summary = say(
                format!("training {} at {}", e.qualification, e.institution),
                format!("đào tạo {} tại {}", e.qualification, e.institution),
            );
        }
        DomainEvent::EvaluationRecorded(e) => {
            entry.summary = say(
                format!("evaluation {}", e.year),
                format!("đánh giá, xếp loại năm {}", e.year),
            );
            dated(entry, &None, &e.decision);
        }
        DomainEvent::PlanningRecorded(e) => {
            entry.summary = say(
                format!(
                    "planning: {} in {}, {}–{}",
                    e.position_title, e.org_code, e.from_year, e.until_year
                ),
                format!(
                    "quy hoạch: {} tại {}, {}–{}",
                    e.position_title, e.org_code, e.from_year, e.until_year
                ),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::AttachmentAdded(e) => {
            let digest = hex::encode(&e.sha256);
            entry.summary = say(
                format!("attachment {digest} ({})", e.description),
                format!("tài liệu đính kèm {digest} ({})", e.description),
            );
        }
        DomainEvent::DepartmentChanged(e) => {
            entry.summary = say(
                format!("department {} → {}", e.from_org_code, e.to_org_code),
                format!("điều động {} → {}", e.from_org_code, e.to_org_code),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::ManagingUnitReassigned(e) => {
            entry.summary = say(
                format!("managing unit {} → {}", e.from_org_code, e.to_org_code),
                format!("đơn vị quản lý {} → {}", e.from_org_code, e.to_org_code),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::TransferInitiated(e) => {
            entry.summary = say(
                format!("transfer {} → {}", e.from_org_code, e.to_org_code),
                format!("chuyển công tác {} → {}", e.from_org_code, e.to_org_code),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::TransferAccepted(e) => {
            entry.summary = say(
                format!("transfer accepted by {}", e.org_code),
                format!("{} tiếp nhận", e.org_code),
            );
        }
        DomainEvent::TransferForwarded(e) => {
            entry.summary = say(
                format!("transfer forwarded to {}", e.to_org_code),
                format!("chuyển tiếp cho {}", e.to_org_code),
            );
        }
        DomainEvent::TransferRejected(e) => {
            entry.summary = say(
                format!("transfer rejected by {}: {}", e.org_code, e.reason),
                format!("{} từ chối tiếp nhận: {}", e.org_code, e.reason),
            );
        }
        DomainEvent::StatusChanged(e) => {
            entry.summary = say(
                format!("status {}", e.status().spelling()),
                format!(
                    "tình trạng: {}",
                    hoso_domain::dossier::status_words(e.status()).to_lowercase()
                ),
            );
            dated(entry, &e.effective, &e.decision);
        }
        DomainEvent::ObligationOpened(e) => {
            entry.summary = say(
                format!("obligation {} opened ({})", e.obligation, e.citation),
                format!("mở thời hạn {} ({})", e.obligation, e.citation),
            );
        }
        DomainEvent::ObligationClosed(e) => {
            entry.summary = say(
                format!(
                    "obligation closed: {}{}",
                    e.outcome,
                    if e.late { " (late)" } else { "" }
                ),
                format!(
                    "đóng thời hạn: {}{}",
                    e.outcome,
                    if e.late { " (quá hạn)" } else { "" }
                ),
            );
        }
        _ => {}
    }
}

fn show_date(d: &Date) -> Option<String> {
    match (d.year, d.month, d.day) {
        (0, _, _) => None,
        (y, 0, _) => Some(format!("{y:04}")),
        (y, m, 0) => Some(format!("{y:04}-{m:02}")),
        (y, m, day) => Some(format!("{y:04}-{m:02}-{day:02}")),
    }
}

fn show_decision(d: &DecisionRef, lang: Lang) -> String {
    let date = d.date.as_ref().and_then(show_date).unwrap_or_default();
    lang.pick(
        format!("{} of {date}, {}", d.number, d.issuer),
        format!("{} ngày {}, {}", d.number, vi_date(&date), d.issuer),
    )
}

/// A section of the 2C form by its title (its code if the form has no such section).
fn title(code: &str) -> &str {
    hoso_domain::form::section(code).map_or(code, |s| s.title)
}

/// `YYYY-MM-DD` (or a shorter partial date) as Vietnamese write it: `DD/MM/YYYY`.
fn vi_date(iso: &str) -> String {
    let parts: Vec<&str> = iso.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{d}/{m}/{y}"),
        [y, m] => format!("{m}/{y}"),
        _ => iso.to_owned(),
    }
}

/// The calendar date in Vietnam (UTC+7) of an instant: legal dates are Vietnamese.
fn vietnam_date(t: DateTime<Utc>) -> NaiveDate {
    FixedOffset::east_opt(7 * 3600)
        .map(|tz| t.with_timezone(&tz).date_naive())
        .unwrap_or_else(|| t.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(code: &str, value: &str, sealed: &[u8]) -> FieldEntry {
        FieldEntry {
            field_code: code.into(),
            value: value.into(),
            row: 0,
            sealed: sealed.to_vec(),
        }
    }

    #[test]
    fn a_declaration_is_diffed_against_the_previous_one_of_its_section() {
        let mut sections = BTreeMap::new();
        let first = declare(
            &mut sections,
            "identity",
            &[field("1", "An", &[]), field("25a", "", &[1, 2])],
        );
        assert_eq!(first.len(), 2);
        assert_eq!(first[1].after.as_deref(), Some(SEALED));
        // Another section does not disturb this one.
        declare(&mut sections, "family", &[field("30", "x", &[])]);
        let second = declare(
            &mut sections,
            "identity",
            &[field("1", "Bình", &[]), field("25a", "", &[1, 2])],
        );
        assert_eq!(
            second,
            vec![FieldChange {
                section: "identity".into(),
                field: "1".into(),
                before: Some("An".into()),
                after: Some("Bình".into()),
            }]
        );
        // A field no longer declared is shown as removed; a resealed one as a change
        // whose content is not visible.
        let third = declare(&mut sections, "identity", &[field("25a", "", &[9])]);
        assert_eq!(third.len(), 2);
        assert!(third.iter().any(|c| c.field == "1" && c.after.is_none()));
        assert!(third.iter().any(|c| c.field == "25a"
            && c.before.as_deref() == Some(SEALED)
            && c.after.as_deref() == Some(SEALED)));
    }

    #[test]
    fn a_planning_and_a_status_read_in_the_api_spelling() {
        use hoso_schemas::pb::dossier::{EmploymentStatus, PlanningRecorded, StatusChanged};
        let date = |year, month, day| Some(Date { year, month, day });
        let mut entry = TimelineEntry {
            revision: 3,
            position: 9,
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            who: "a".into(),
            event_type: "dossier.PlanningRecorded".into(),
            summary: String::new(),
            effective: None,
            decision: None,
            changes: Vec::new(),
            signature: None,
        };
        let planning = DomainEvent::PlanningRecorded(PlanningRecorded {
            position_title: "Giám đốc Bệnh viện".into(),
            org_code: "000.02.01.H33".into(),
            from_year: 2026,
            until_year: 2031,
            effective: date(2026, 4, 3),
            decision: None,
        });
        describe(&planning, &mut entry, &mut BTreeMap::new(), Lang::English);
        assert_eq!(
            entry.summary,
            "planning: Giám đốc Bệnh viện in 000.02.01.H33, 2026–2031"
        );
        assert_eq!(entry.effective.as_deref(), Some("2026-04-03"));
        let status = DomainEvent::StatusChanged(StatusChanged {
            status: EmploymentStatus::TransferredOut.into(),
            ..Default::default()
        });
        describe(&status, &mut entry, &mut BTreeMap::new(), Lang::English);
        assert_eq!(entry.summary, "status transferred_out");
        // The portal's timeline says the same in Vietnamese, dates as Vietnamese write them.
        describe(&status, &mut entry, &mut BTreeMap::new(), Lang::Vietnamese);
        assert_eq!(entry.summary, "tình trạng: đã chuyển công tác");
        let decided = DomainEvent::SalaryChanged(hoso_schemas::pb::dossier::SalaryChanged {
            rank_code: "V.08.05.12".into(),
            step: 8,
            coefficient_x100: 432,
            decision: Some(DecisionRef {
                number: "15/QĐ-BV".into(),
                date: date(2026, 3, 1),
                issuer: "Bệnh viện Đa khoa tỉnh".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        entry.decision = None;
        describe(&decided, &mut entry, &mut BTreeMap::new(), Lang::Vietnamese);
        assert_eq!(entry.summary, "lương ngạch V.08.05.12 bậc 8, hệ số 4,32");
        assert_eq!(
            entry.decision.as_deref(),
            Some("15/QĐ-BV ngày 01/03/2026, Bệnh viện Đa khoa tỉnh")
        );
    }

    #[test]
    fn partial_dates_show_what_is_known() {
        let date = |year, month, day| Date { year, month, day };
        assert_eq!(show_date(&date(1997, 0, 0)).as_deref(), Some("1997"));
        assert_eq!(show_date(&date(1997, 3, 0)).as_deref(), Some("1997-03"));
        assert_eq!(show_date(&date(1997, 3, 9)).as_deref(), Some("1997-03-09"));
        assert_eq!(show_date(&date(0, 0, 0)), None);
    }
}

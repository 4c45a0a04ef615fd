//! Wed 7 Jan: dossiers opened on their recruitment decisions, personal accounts
//! issued, and what each person does afterwards drawn in advance.

use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use hoso_commands::credentials::PasswordContext;
use hoso_commands::workflows::{
    Actor, CommandError, IssueAccount, OpenDossier, Refusal, ScopeRule, Workflows,
};
use hoso_domain::account::AccountKind;
use hoso_domain::dossier::{
    AllowanceKind, AppointmentKind, DisciplineBody, DisciplineForm, EvaluationGrade,
    RankChangeKind, StateDecision,
};
use hoso_ledger::SourceDocument;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::allowance_changed::Amount;

use super::Tale;
use super::organisation::position_of;
use super::people::{Decision, Member, People, Plan, Staff};
use super::story::{each, hashing};
use super::summary::{Summary, category_name};
use super::{PASSWORD_EVERY, PROVINCE_ISSUER, day};
use crate::synth::{Person, Province, Sector, Synth};

/// A dossier to open and the personal account to issue with it.
pub(super) struct Recruit {
    pub(super) person: Person,
    pub(super) username: String,
    pub(super) passwords: Option<(String, String)>,
    pub(super) decision: SourceDocument,
}

pub(super) enum Opened {
    Done(Box<Member>),
    /// The handler refused the identification number as taken.
    Taken(Box<Recruit>),
}

pub(super) type Hr = (Arc<Workflows>, Arc<Staff>);

pub(super) async fn recruit(hr: Arc<Hr>, r: Recruit) -> anyhow::Result<Opened> {
    let (wf, staff) = (&hr.0, &hr.1);
    let p = &r.person;
    let focal = &staff.of(&p.managing_unit)?.focal;
    let opened = wf
        .open_dossier(
            focal,
            OpenDossier {
                person_id: p.person_id.clone(),
                full_name: p.full_name.clone(),
                birth_date: Some(p.born),
                category: p.category,
                managing_unit: p.managing_unit.clone(),
                employing_unit: p.employing_unit.clone(),
                recruited_on: p.recruited,
                decision: r.decision.clone(),
            },
        )
        .await;
    let dossier = match opened {
        Ok((id, _)) => id,
        Err(CommandError::Scope(Refusal {
            rule: ScopeRule::PersonIdTaken(_),
            ..
        })) => {
            return Ok(Opened::Taken(Box::new(r)));
        }
        Err(e) => return Err(e).with_context(|| format!("open the dossier of {}", p.full_name)),
    };
    let (account, _) = wf
        .issue_account(
            focal,
            IssueAccount {
                kind: AccountKind::Personal,
                username: r.username.clone(),
                org_code: p.managing_unit.clone(),
                person_id: Some(p.person_id.clone()),
                display_name: p.full_name.clone(),
                birth_date: Some(p.born),
            },
        )
        .await
        .with_context(|| format!("issue the personal account of {}", p.full_name))?;
    if let Some((issued, _)) = &r.passwords {
        hashing(wf.issue_password(focal, &account, issued))
            .with_context(|| format!("issue a password to {}", r.username))?;
    }
    Ok(Opened::Done(Box::new(Member {
        person: r.person,
        dossier,
        account: Actor::new(account),
        passwords: r.passwords,
    })))
}

pub(super) async fn recruit_all(
    wf: &Arc<Workflows>,
    staff: &Arc<Staff>,
    province: &Province,
    persons: Vec<Person>,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<Vec<Member>> {
    let (first, typos) = recruits(province, persons, synth, &summary.login_units);
    let hr: Arc<Hr> = Arc::new((wf.clone(), staff.clone()));
    let mut members = Vec::new();
    let mut retry = Vec::new();
    for outcome in each("dossiers", &hr, first, recruit).await? {
        match outcome {
            Opened::Done(m) => members.push(*m),
            Opened::Taken(r) => retry.push(*r),
        }
    }
    // Numbers drawn twice are entered last, one at a time, so that the handler's
    // refusal (ScopeRule::PersonIdTaken) falls on the same person whatever the
    // order of the concurrent commands; the number is then re-checked and re-entered.
    retry.extend(typos);
    for mut r in retry {
        loop {
            match recruit(hr.clone(), r).await? {
                Opened::Done(m) => {
                    members.push(*m);
                    break;
                }
                Opened::Taken(back) => {
                    r = *back;
                    synth.renumber(&mut r.person);
                    summary.renumbered += 1;
                }
            }
        }
    }
    members.sort_by_key(|m| m.person.index);
    summary.dossiers_opened = members.len() as u64;
    summary.personal_accounts = members.len() as u64;
    summary.personal_passwords = members.iter().filter(|m| m.passwords.is_some()).count() as u64;
    for m in &members {
        *summary
            .by_category
            .entry(category_name(m.person.category))
            .or_default() += 1;
    }
    Ok(members)
}

/// The recruits drawn for `persons`: those to enter at once, and those whose
/// identification number was drawn twice, entered last.
///
/// The personal login the demo prints is a hospital's, in a unit whose focal
/// point's login is printed too, so that both sides of a declaration can be
/// walked with printed logins. In a province too small for such a person to
/// be among the one in [`PASSWORD_EVERY`] with a password, the first of them
/// gets one too, drawn from a generator of its own (the province's other
/// draws stay as they were).
fn recruits(
    province: &Province,
    persons: Vec<Person>,
    synth: &mut Synth,
    login_units: &std::collections::BTreeSet<String>,
) -> (Vec<Recruit>, Vec<Recruit>) {
    let printable =
        |p: &Person| p.sector == Sector::Health && login_units.contains(&p.managing_unit);
    let printed = if persons
        .iter()
        .any(|p| p.index % PASSWORD_EVERY == 0 && printable(p))
    {
        None
    } else {
        persons.iter().find(|p| printable(p)).map(|p| p.index)
    };
    let mut own = synth.fork(0x7072_696e_7465_6400);
    let mut first = Vec::new();
    let mut typos = Vec::new();
    for p in persons {
        let username = Synth::username(&p.full_name, p.index);
        let ctx = PasswordContext {
            username: &username,
            full_name: &p.full_name,
            birth_date: Some(p.born),
        };
        let passwords = if p.index % PASSWORD_EVERY == 0 {
            Some((synth.password(&ctx), synth.password(&ctx)))
        } else if printed == Some(p.index) {
            Some((own.password(&ctx), own.password(&ctx)))
        } else {
            None
        };
        let (abbr, issuer) = issuer_of(province, &p.managing_unit);
        let decision = synth.document("QĐ", &abbr, &issuer, p.recruited);
        let r = Recruit {
            person: p,
            username,
            passwords,
            decision,
        };
        if r.person.duplicate_id {
            typos.push(r);
        } else {
            first.push(r);
        }
    }
    (first, typos)
}

/// The abbreviation and name of the unit that issues an agency's decisions.
pub(super) fn issuer_of(province: &Province, code: &str) -> (String, String) {
    province.unit(code).map_or_else(
        || ("UBND".to_owned(), PROVINCE_ISSUER.to_owned()),
        |u| (u.abbr.clone(), u.name.clone()),
    )
}

pub(super) fn plan_all(synth: &mut Synth, province: &Province, members: &[Member]) -> Vec<Plan> {
    members.iter().map(|m| plan(synth, province, m)).collect()
}

/// What one person does after recruitment.
fn plan(synth: &mut Synth, province: &Province, m: &Member) -> Plan {
    let p = &m.person;
    let (abbr, issuer) = issuer_of(province, &p.managing_unit);
    let sections = synth.sections(p, &issuer);
    let returned = synth.rng_bool(0.05);
    let (mut decisions, grade) = first_decisions(synth, p, (&abbr, &issuer));
    if let Some(position) = province
        .unit(&p.managing_unit)
        .and_then(|u| position_of(u, p))
    {
        decisions.push((
            "appointment",
            StateDecision::Appointment {
                kind: AppointmentKind::Appointed,
                position_title: position.title,
                org_code: p.managing_unit.clone(),
                term_end: None,
            },
            p.recruited,
            synth.document("QĐ", &abbr, &issuer, p.recruited),
        ));
    }
    decisions.extend(later_decisions(synth, p, grade, (&abbr, &issuer)));
    let change = synth.change(p);
    Plan {
        sections,
        returned,
        decisions,
        change,
    }
}

/// Rank, salary and the 2025 evaluation, with the grade drawn.
fn first_decisions(
    synth: &mut Synth,
    p: &Person,
    (abbr, issuer): (&str, &str),
) -> (Vec<Decision>, EvaluationGrade) {
    let doc = |synth: &mut Synth, on: NaiveDate| synth.document("QĐ", abbr, issuer, on);
    let mut decisions = vec![
        (
            "rank",
            StateDecision::Rank {
                kind: RankChangeKind::Initial,
                rank_code: p.rank.code.to_owned(),
                rank_name: p.rank.name.to_owned(),
            },
            p.recruited,
            doc(synth, p.recruited),
        ),
        (
            "salary",
            StateDecision::Salary {
                rank_code: p.rank.code.to_owned(),
                step: p.step,
                coefficient_x100: p.rank.coefficient_x100(p.step),
                salary_group: p.rank.group.to_owned(),
            },
            day(2026, 1, 1),
            doc(synth, day(2025, 12, 22)),
        ),
    ];
    let grade = match synth.rng_below(100) {
        0..15 => EvaluationGrade::Excellent,
        15..85 => EvaluationGrade::Good,
        85..98 => EvaluationGrade::Completed,
        _ => EvaluationGrade::NotCompleted,
    };
    decisions.push((
        "evaluation",
        StateDecision::Evaluation {
            year: 2025,
            grade,
            comments: "Đánh giá, xếp loại chất lượng năm 2025".to_owned(),
        },
        day(2026, 1, 9),
        doc(synth, day(2026, 1, 9)),
    ));
    (decisions, grade)
}

/// An allowance, an award after an excellent grade, a discipline, where drawn.
fn later_decisions(
    synth: &mut Synth,
    p: &Person,
    grade: EvaluationGrade,
    (abbr, issuer): (&str, &str),
) -> Vec<Decision> {
    let doc = |synth: &mut Synth, on: NaiveDate| synth.document("QĐ", abbr, issuer, on);
    let mut decisions = Vec::new();
    let preference = match p.sector {
        Sector::School => Some(3_000),
        Sector::Health => Some(4_000),
        _ => None,
    };
    if let Some(percent) = preference.filter(|_| p.category == PersonnelCategory::VienChuc) {
        decisions.push((
            "allowance",
            StateDecision::Allowance {
                kind: AllowanceKind::ProfessionalPreference,
                name: "Phụ cấp ưu đãi theo nghề".to_owned(),
                amount: Some(Amount::PercentX100(percent)),
            },
            p.recruited,
            doc(synth, p.recruited),
        ));
    } else if synth.rng_bool(0.08) {
        decisions.push((
            "allowance",
            StateDecision::Allowance {
                kind: AllowanceKind::Position,
                name: "Phụ cấp chức vụ Phó Trưởng phòng".to_owned(),
                amount: Some(Amount::CoefficientX100(30)),
            },
            day(2025, 10, 1),
            doc(synth, day(2025, 9, 25)),
        ));
    }
    if grade == EvaluationGrade::Excellent && synth.rng_bool(0.6) {
        let form = if synth.rng_bool(0.3) {
            "Bằng khen của Chủ tịch Ủy ban nhân dân tỉnh"
        } else {
            "Chiến sĩ thi đua cơ sở"
        };
        decisions.push((
            "award",
            StateDecision::Award {
                form: form.to_owned(),
                reason: "Hoàn thành xuất sắc nhiệm vụ năm 2025".to_owned(),
                year: 2025,
            },
            day(2026, 1, 12),
            doc(synth, day(2026, 1, 12)),
        ));
    }
    if p.index % 300 == 11 {
        decisions.push((
            "discipline",
            StateDecision::Discipline {
                form: DisciplineForm::Reprimand,
                body: DisciplineBody::Government,
                reason: "Vi phạm quy định về thời giờ làm việc".to_owned(),
                until: Some(day(2026, 12, 31)),
            },
            day(2026, 1, 12),
            doc(synth, day(2026, 1, 12)),
        ));
    }
    decisions
}

impl Tale {
    /// Wed 7 Jan: dossiers and personal accounts; then what each person will do.
    pub(super) async fn recruit(
        &mut self,
        staff: &Arc<Staff>,
        persons: Vec<Person>,
    ) -> anyhow::Result<Arc<People>> {
        self.story.set(day(2026, 1, 7))?;
        let summary = &mut self.summary;
        let members = recruit_all(
            &self.wf,
            staff,
            &self.province,
            persons,
            &mut self.synth,
            summary,
        )
        .await?;
        self.story.say(format!(
            "{} dossiers opened on their recruitment decisions, {} personal accounts, {} passwords issued; {} identification numbers refused as taken and re-entered",
            summary.dossiers_opened,
            summary.personal_accounts,
            summary.personal_passwords,
            summary.renumbered
        ));
        // A hospital's: its unit keeps its staff's rights all year (the school
        // whose logins are printed is the one merged away on 9 February).
        let with_password = |m: &&Member| m.passwords.is_some();
        let shown = members
            .iter()
            .filter(with_password)
            .find(|m| {
                m.person.sector == Sector::Health
                    && summary.login_units.contains(&m.person.managing_unit)
            })
            .or_else(|| members.iter().find(with_password));
        if let Some(m) = shown
            && let Some((_, chosen)) = &m.passwords
        {
            summary.logins.push((
                format!("personal account of {}", m.person.full_name),
                Synth::username(&m.person.full_name, m.person.index),
                chosen.clone(),
            ));
        }
        let plans = plan_all(&mut self.synth, &self.province, &members);
        Ok(Arc::new(People {
            wf: self.wf.clone(),
            staff: staff.clone(),
            members,
            plans,
        }))
    }
}

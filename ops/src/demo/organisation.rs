//! Mon 5 Jan: the system administrator is bootstrapped and the organisation tree
//! established by decision, with quotas, job positions and approval assignments.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use hoso_commands::credentials::PasswordContext;
use hoso_commands::workflows::{Actor, Workflows};
use hoso_domain::org::{
    ApprovalAuthority, JobPosition, JobPositionGroup, OrgChange, OrgCommand, StaffingQuota,
};
use hoso_schemas::pb::common::PersonnelCategory;

use super::Tale;
use super::authority::categories_of;
use super::story::{each, hashing};
use super::summary::Summary;
use super::{PROVINCE_ISSUER, day};
use crate::synth::{Person, Province, Sector, Synth, Unit};

pub(super) async fn bootstrap(
    wf: &Workflows,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<Actor> {
    let username = "snv.hethong";
    let name = "Quản trị hệ thống Sở Nội vụ";
    let ctx = PasswordContext {
        username,
        full_name: name,
        birth_date: None,
    };
    let issued = synth.password(&ctx);
    let chosen = synth.password(&ctx);
    let (id, _) = hashing(wf.bootstrap_system_admin(username, name, "000.01.00.H33", &issued))
        .context("bootstrap the system administrator")?;
    hashing(wf.change_password(&id, &issued, &chosen))
        .context("the administrator changes the issued password")?;
    summary.staff_accounts += 1;
    summary.staff_passwords += 1;
    summary.password_changes += 1;
    summary.logins.push((
        "system administrator".to_owned(),
        username.to_owned(),
        chosen,
    ));
    *summary
        .staff_by_kind
        .entry("system administrator")
        .or_default() += 1;
    Ok(Actor::new(id))
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn organisation(
    wf: &Arc<Workflows>,
    admin: &Actor,
    province: &Province,
    persons: &[Person],
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    establish_units(wf, admin, province, synth, summary).await?;
    // Staffing quotas and job positions per agency; an explicit approval
    // assignment where no head up the tree is an approver under the profile.
    let mut headcount: BTreeMap<&str, BTreeMap<PersonnelCategory, u32>> = BTreeMap::new();
    for p in persons {
        *headcount
            .entry(p.managing_unit.as_str())
            .or_default()
            .entry(p.category)
            .or_default() += 1;
    }
    let mut per_agency: Vec<(Actor, Vec<OrgCommand>)> = Vec::new();
    for u in province.agencies() {
        let quota = quota_of(headcount.get(u.code.as_str()));
        let commands = agency_decisions(wf, admin, u, quota, province, synth, summary).await?;
        per_agency.push((admin.clone(), commands));
    }
    each(
        "quotas",
        wf,
        per_agency,
        |wf, (actor, commands)| async move {
            for c in commands {
                org_command(wf.clone(), (actor.clone(), c)).await?;
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}

/// Every unit established by decision, a level of the tree at a time so that
/// each parent exists before its children.
async fn establish_units(
    wf: &Arc<Workflows>,
    admin: &Actor,
    province: &Province,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let founded = day(2025, 7, 1);
    let depth = |u: &Unit| {
        let mut d = 0;
        let mut p = u.parent.clone();
        while let Some(code) = p {
            d += 1;
            p = province.unit(&code).and_then(|u| u.parent.clone());
        }
        d
    };
    let max_depth = province.units.iter().map(depth).max().unwrap_or(0);
    let wf_ctx = wf.clone();
    for level in 0..=max_depth {
        let commands: Vec<(Actor, OrgCommand)> = province
            .units
            .iter()
            .filter(|u| depth(u) == level)
            .map(|u| {
                let decision = synth.document("QĐ", "UBND", PROVINCE_ISSUER, day(2025, 6, 30));
                (
                    admin.clone(),
                    OrgCommand {
                        code: u.code.clone(),
                        decision,
                        change: OrgChange::Establish {
                            name: u.name.clone(),
                            kind: u.kind,
                            parent: u.parent.clone(),
                            effective: founded,
                        },
                    },
                )
            })
            .collect();
        summary.units += commands.len() as u64;
        each("units", &wf_ctx, commands, org_command).await?;
    }
    Ok(())
}

/// The staffing quota of an agency for 2026: its headcount by category, with a margin.
fn quota_of(counts: Option<&BTreeMap<PersonnelCategory, u32>>) -> StaffingQuota {
    let count = |c: PersonnelCategory| counts.and_then(|m| m.get(&c)).copied().unwrap_or(0);
    let margin = |n: u32| n + n / 10 + 2;
    StaffingQuota {
        civil_servants: margin(
            count(PersonnelCategory::CongChuc) + count(PersonnelCategory::CommuneCadre),
        ),
        public_employees: margin(count(PersonnelCategory::VienChuc)),
        contract_workers: margin(count(PersonnelCategory::NguoiLaoDong)),
    }
}

/// An agency's quota and job positions, to be decided; and, where no head up the
/// tree approves under the profile, an explicit approval assignment, decided at
/// once so that the handlers know it when the next agency (a descendant, maybe)
/// is asked about.
async fn agency_decisions(
    wf: &Arc<Workflows>,
    admin: &Actor,
    u: &Unit,
    quota: StaffingQuota,
    province: &Province,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<Vec<OrgCommand>> {
    let mut commands = vec![OrgCommand {
        code: u.code.clone(),
        decision: synth.document("QĐ", "UBND", PROVINCE_ISSUER, day(2025, 12, 15)),
        change: OrgChange::SetStaffingQuota { year: 2026, quota },
    }];
    let positions_decision = synth.document("QĐ", "UBND", PROVINCE_ISSUER, day(2025, 12, 18));
    for position in job_positions(u, quota) {
        commands.push(OrgCommand {
            code: u.code.clone(),
            decision: positions_decision.clone(),
            change: OrgChange::DefineJobPosition {
                position,
                effective: day(2026, 1, 1),
            },
        });
        summary.job_positions += 1;
    }
    // Asked of the handlers, which know the assignments made so far (made at
    // once, in the order of the agencies, ancestors first).
    let has_head = |code: &str| province.unit(code).is_some_and(Unit::is_agency);
    let mut uncovered = Vec::new();
    for c in categories_of(u.sector) {
        let units = wf.approving_units(&u.code, *c).await?;
        if !units.iter().any(|(code, _)| has_head(code)) {
            uncovered.push(*c);
        }
    }
    if !uncovered.is_empty() {
        let assignment = OrgCommand {
            code: u.code.clone(),
            decision: synth.document("QĐ", "UBND", PROVINCE_ISSUER, day(2025, 12, 30)),
            change: OrgChange::AssignApprovalAuthority {
                authority: ApprovalAuthority {
                    categories: uncovered,
                    subordinates: vec![u.code.clone()],
                },
                effective: day(2026, 1, 1),
            },
        };
        org_command(wf.clone(), (admin.clone(), assignment)).await?;
        summary.explicit_approvals += 1;
    }
    Ok(commands)
}

pub(super) async fn org_command(
    wf: Arc<Workflows>,
    (actor, command): (Actor, OrgCommand),
) -> anyhow::Result<()> {
    let what = format!("{:?} for {}", command.change, command.code);
    wf.org(&actor, command)
        .await
        .with_context(|| format!("org decision {what}"))?;
    Ok(())
}

pub(super) fn job_positions(u: &Unit, quota: StaffingQuota) -> Vec<JobPosition> {
    let staff = (quota.civil_servants + quota.public_employees).max(2);
    let position = |code: &str, title: &str, group, rank: &str, headcount: u32| JobPosition {
        code: code.to_owned(),
        title: title.to_owned(),
        group,
        required_rank_code: rank.to_owned(),
        headcount: headcount.max(1),
    };
    let leader = position(
        "LĐ01",
        u.head_title,
        JobPositionGroup::Leadership,
        "01.002",
        1,
    );
    let accountant = position(
        "HT01",
        "Kế toán",
        JobPositionGroup::SharedProfessional,
        "06.031",
        1,
    );
    let professional = match u.sector {
        Sector::School => vec![position(
            "CM01",
            "Giáo viên trung học cơ sở",
            JobPositionGroup::Professional,
            "V.07.04.32",
            staff,
        )],
        Sector::Health => vec![
            position(
                "CM01",
                "Bác sĩ",
                JobPositionGroup::Professional,
                "V.08.01.03",
                staff / 3,
            ),
            position(
                "CM02",
                "Điều dưỡng",
                JobPositionGroup::Professional,
                "V.08.05.13",
                staff - staff / 3,
            ),
        ],
        Sector::Commune => vec![position(
            "CM01",
            "Công chức Văn phòng - Thống kê",
            JobPositionGroup::Professional,
            "01.003",
            staff,
        )],
        _ => vec![position(
            "CM01",
            "Chuyên viên",
            JobPositionGroup::Professional,
            "01.003",
            staff,
        )],
    };
    let support = position(
        "HT02",
        "Nhân viên hỗ trợ, phục vụ",
        JobPositionGroup::Support,
        CONTRACT_RANK_CODE,
        quota.contract_workers,
    );
    let mut out = vec![leader];
    out.extend(professional);
    out.push(accountant);
    out.push(support);
    out
}

/// The rank code contract workers are paid on in the demo (Cán sự).
const CONTRACT_RANK_CODE: &str = "01.004";

/// The job position a person of agency `u` is recruited to (Decree
/// 62/2020: a civil servant is recruited to a job position of the agency):
/// a contract worker to the support position, anyone else to the
/// professional or shared position whose lowest required rank is theirs,
/// else to the agency's first professional one. Leadership positions are
/// not filled at recruitment.
pub(super) fn position_of(u: &Unit, p: &Person) -> Option<JobPosition> {
    let positions = job_positions(u, StaffingQuota::default());
    let group = |g: JobPositionGroup| move |j: &&JobPosition| j.group == g;
    let found = if p.category == PersonnelCategory::NguoiLaoDong {
        positions.iter().find(group(JobPositionGroup::Support))
    } else {
        positions
            .iter()
            .filter(|j| {
                !matches!(
                    j.group,
                    JobPositionGroup::Leadership | JobPositionGroup::Support
                )
            })
            .find(|j| j.required_rank_code == p.rank.code)
            .or_else(|| positions.iter().find(group(JobPositionGroup::Professional)))
    };
    found.cloned()
}

impl Tale {
    /// Mon 5 Jan: the system administrator, then the organisation by decision.
    pub(super) async fn establish(&mut self, persons: &[Person]) -> anyhow::Result<Actor> {
        let admin = bootstrap(&self.wf, &mut self.synth, &mut self.summary).await?;
        organisation(
            &self.wf,
            &admin,
            &self.province,
            persons,
            &mut self.synth,
            &mut self.summary,
        )
        .await?;
        self.story.say(format!(
            "the system administrator changes the issued password; {} units established by decision, with staffing quotas for 2026, {} job positions and {} explicit approval assignments",
            self.summary.units,
            self.summary.job_positions,
            self.summary.explicit_approvals
        ));
        Ok(admin)
    }
}

//! February: changes with proof, moves between divisions, transfers, an arrival
//! from another province and departures.

use hoso_commands::workflows::{
    AcceptTransfer, ChangeDepartment, ChangeStatus, Declare, ForwardTransfer, ImportDossier,
    InitiateTransfer, RejectTransfer, Review,
};
use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use hoso_commands::workflows::{Actor, IssueAccount};
use hoso_domain::account::AccountKind;
use hoso_domain::dossier::{EmploymentStatus, TransferKind};
use hoso_ledger::SourceDocument;
use hoso_schemas::pb::dossier::FieldEntry;

use super::Tale;
use super::approvals::{approver, sign};
use super::declarations::verify_and_lock;
use super::people::People;
use super::recruitment::issuer_of;
use super::story::each;
use super::summary::{Summary, status_name};
use super::{DELEGATING_DEPARTMENT, PROVINCE_ISSUER, day};
use crate::synth::{Person, Province, Sector, Synth};

/// A departure: person, status, effective date, decision, note.
pub(super) type Departure = (usize, EmploymentStatus, NaiveDate, SourceDocument, String);

/// Who does what in February, chosen deterministically from the population.
pub(super) struct Roles {
    /// Changes after approval (with proof).
    pub(super) changes: Vec<usize>,
    /// Moves between divisions of one agency: person, division, decision.
    pub(super) moves: Vec<(usize, String, SourceDocument)>,
    /// Transfers to another department: person, department, division, decision.
    pub(super) transfers: Vec<(usize, String, String, SourceDocument)>,
    /// The transfer the receiver rejects.
    pub(super) rejected: Option<usize>,
    /// Departures: person, status, effective date, decision, note.
    pub(super) leaving: Vec<Departure>,
    /// The school that merges.
    pub(super) merged: String,
    /// Its successor.
    pub(super) successor: String,
}

impl Roles {
    pub(super) fn choose(ctx: &People, province: &Province, synth: &mut Synth) -> Self {
        let schools = province.of_sector(Sector::School);
        // The first school's head and focal point are demo logins: their
        // school takes the second one in, so they keep their rights and find
        // the merged school's people among their own.
        let merged = schools.get(1).map(|u| u.code.clone()).unwrap_or_default();
        let successor = schools.first().map(|u| u.code.clone()).unwrap_or_default();
        let n = ctx.members.len();
        let mut used = BTreeSet::new();
        let in_department = |i: &usize| ctx.members[*i].person.sector == Sector::Department;
        let pool: Vec<usize> = (0..n).filter(in_department).collect();
        let mut pool = pool.into_iter();
        let moves = Self::moves(ctx, province, synth, pool.by_ref().take((n / 100).max(1)));
        used.extend(moves.iter().map(|m| m.0));
        let transfers = Self::transfers(
            ctx,
            province,
            synth,
            pool.by_ref().take((n / 200).max(1) + 1),
        );
        used.extend(transfers.iter().map(|t| t.0));
        // The last transfer is the one the receiver rejects.
        let rejected = if transfers.len() > 1 {
            transfers.last().map(|t| t.0)
        } else {
            None
        };
        let leaving = Self::leaving(ctx, province, synth, &used, &merged);
        used.extend(leaving.iter().map(|l| l.0));
        let changes = Self::changes(ctx, &used, &merged);
        Self {
            changes,
            moves,
            transfers,
            rejected,
            leaving,
            merged,
            successor,
        }
    }

    /// Moves of people of `chosen` to another division of their agency.
    fn moves(
        ctx: &People,
        province: &Province,
        synth: &mut Synth,
        chosen: impl Iterator<Item = usize>,
    ) -> Vec<(usize, String, SourceDocument)> {
        let person = |i: usize| &ctx.members[i].person;
        let mut moves = Vec::new();
        for i in chosen {
            let p = person(i);
            let Some(to) = province
                .divisions_of(&p.managing_unit)
                .into_iter()
                .find(|d| d.code != p.employing_unit)
            else {
                continue;
            };
            let (abbr, issuer) = issuer_of(province, &p.managing_unit);
            moves.push((
                i,
                to.code.clone(),
                synth.document("QĐ", &abbr, &issuer, day(2026, 1, 30)),
            ));
        }
        moves
    }

    /// Transfers of people of `chosen` to the department three further on.
    fn transfers(
        ctx: &People,
        province: &Province,
        synth: &mut Synth,
        chosen: impl Iterator<Item = usize>,
    ) -> Vec<(usize, String, String, SourceDocument)> {
        let person = |i: usize| &ctx.members[i].person;
        let departments = province.of_sector(Sector::Department);
        let mut transfers = Vec::new();
        for i in chosen {
            let p = person(i);
            let from = departments
                .iter()
                .position(|d| d.code == p.managing_unit)
                .unwrap_or(0);
            let target = departments[(from + 3) % departments.len()];
            let division = province
                .divisions_of(&target.code)
                .first()
                .map_or_else(|| target.code.clone(), |d| d.code.clone());
            transfers.push((
                i,
                target.code.clone(),
                division,
                synth.document("QĐ", "UBND", PROVINCE_ISSUER, day(2026, 1, 29)),
            ));
        }
        transfers
    }

    /// The oldest retire, the youngest resign, and one person dies, among those
    /// not `used`. Nobody of the school that merges leaves before the merger: the
    /// handlers cannot yet move an archived dossier to a successor (the dossier
    /// decider refuses every change but a status change once archived, so
    /// `complete_restructuring` would stop half-way through the merger).
    fn leaving(
        ctx: &People,
        province: &Province,
        synth: &mut Synth,
        used: &BTreeSet<usize>,
        merged: &str,
    ) -> Vec<Departure> {
        let n = ctx.members.len();
        let person = |i: usize| &ctx.members[i].person;
        let mut rest: Vec<usize> = (0..n)
            .filter(|i| !used.contains(i) && person(*i).managing_unit != merged)
            .collect();
        rest.sort_by_key(|i| (person(*i).born, *i));
        let mut leaving = Vec::new();
        let retire = (n / 250).max(1);
        for &i in rest.iter().take(retire) {
            let (abbr, issuer) = issuer_of(province, &person(i).managing_unit);
            leaving.push((
                i,
                EmploymentStatus::Retired,
                day(2026, 2, 1),
                synth.document("QĐ", &abbr, &issuer, day(2025, 11, 3)),
                "Nghỉ hưu hưởng chế độ bảo hiểm xã hội".to_owned(),
            ));
        }
        let resign = (n / 500).max(1);
        for &i in rest.iter().rev().take(resign) {
            let (abbr, issuer) = issuer_of(province, &person(i).managing_unit);
            leaving.push((
                i,
                EmploymentStatus::Resigned,
                day(2026, 2, 1),
                synth.document("QĐ", &abbr, &issuer, day(2026, 1, 20)),
                "Thôi việc theo nguyện vọng".to_owned(),
            ));
        }
        if let Some(&i) = rest.get(rest.len() / 2) {
            leaving.push((
                i,
                EmploymentStatus::Deceased,
                day(2026, 1, 28),
                synth.document(
                    "TLKT",
                    "UBND",
                    "Ủy ban nhân dân xã Kim Động",
                    day(2026, 1, 29),
                ),
                "Từ trần".to_owned(),
            ));
        }
        leaving.sort_by_key(|l| l.0);
        leaving.dedup_by_key(|l| l.0);
        leaving
    }

    /// Changes after approval, by people who do nothing else.
    fn changes(ctx: &People, used: &BTreeSet<usize>, merged: &str) -> Vec<usize> {
        let n = ctx.members.len();
        let person = |i: usize| &ctx.members[i].person;
        let mut changes: Vec<usize> = (0..n)
            .filter(|i| {
                !used.contains(i)
                    && (i % 10 == 3 || (person(*i).managing_unit == merged && i % 10 == 4))
            })
            .collect();
        if changes.is_empty()
            && let Some(i) = (0..n).find(|i| !used.contains(i))
        {
            changes.push(i);
        }
        changes
    }
}

pub(super) async fn declare_change(ctx: Arc<People>, i: usize) -> anyhow::Result<()> {
    let m = &ctx.members[i];
    let (code, fields, proof) = &ctx.plans[i].change;
    ctx.wf
        .declare(
            &m.account,
            Declare::new(&m.dossier, *code, fields.clone()).with_attachments(vec![*proof]),
        )
        .await
        .with_context(|| format!("{} declares a change of {code}", m.person.full_name))?;
    Ok(())
}

pub(super) async fn move_within_agency(
    ctx: Arc<People>,
    (i, to, document): (usize, String, SourceDocument),
) -> anyhow::Result<()> {
    let m = &ctx.members[i];
    ctx.wf
        .change_department(
            ctx.focal(i)?,
            ChangeDepartment {
                dossier_id: String::from(&m.dossier),
                to: String::from(&to),
                effective: day(2026, 2, 2),
                document,
            },
        )
        .await
        .with_context(|| format!("move {} to {to}", m.person.full_name))?;
    Ok(())
}

/// A transfer on its way.
#[derive(Clone)]
pub(super) struct Transfer {
    pub(super) id: String,
    pub(super) member: usize,
    pub(super) to: String,
    pub(super) division: String,
}

pub(super) async fn initiate(
    ctx: Arc<People>,
    (i, to, division, document): (usize, String, String, SourceDocument),
) -> anyhow::Result<Transfer> {
    let m = &ctx.members[i];
    let (id, _) = ctx
        .wf
        .initiate_transfer(
            ctx.focal(i)?,
            InitiateTransfer {
                dossier_id: String::from(&m.dossier),
                kind: TransferKind::Reassignment,
                to: String::from(&to),
                effective: day(2026, 2, 2),
                document,
            },
        )
        .await
        .with_context(|| format!("transfer {} to {to}", m.person.full_name))?;
    Ok(Transfer {
        id,
        member: i,
        to,
        division,
    })
}

pub(super) async fn accept(ctx: Arc<People>, t: Transfer) -> anyhow::Result<()> {
    let m = &ctx.members[t.member];
    let receiver = &ctx.staff.of(&t.to)?.focal;
    ctx.wf
        .accept_transfer(
            receiver,
            AcceptTransfer {
                dossier_id: String::from(&m.dossier),
                transfer_id: String::from(&t.id),
            },
        )
        .await
        .with_context(|| format!("{} accepts {}", t.to, m.person.full_name))?;
    Ok(())
}

pub(super) async fn forward(ctx: Arc<People>, t: Transfer) -> anyhow::Result<()> {
    let m = &ctx.members[t.member];
    let receiver = &ctx.staff.of(&t.to)?.focal;
    ctx.wf
        .forward_transfer(
            receiver,
            ForwardTransfer {
                dossier_id: String::from(&m.dossier),
                transfer_id: String::from(&t.id),
                to: String::from(&t.division),
            },
        )
        .await
        .with_context(|| format!("forward {} to {}", m.person.full_name, t.division))?;
    Ok(())
}

pub(super) async fn reject(ctx: Arc<People>, t: Transfer) -> anyhow::Result<()> {
    let m = &ctx.members[t.member];
    let receiver = &ctx.staff.of(&t.to)?.focal;
    ctx.wf
        .reject_transfer(
            receiver,
            RejectTransfer {
                dossier_id: String::from(&m.dossier),
                transfer_id: String::from(&t.id),
                reason: String::from("Không còn chỉ tiêu biên chế công chức năm 2026"),
            },
        )
        .await
        .with_context(|| format!("{} rejects {}", t.to, m.person.full_name))?;
    Ok(())
}

pub(super) async fn depart(
    ctx: Arc<People>,
    (i, status, effective, document, note): (
        usize,
        EmploymentStatus,
        NaiveDate,
        SourceDocument,
        String,
    ),
) -> anyhow::Result<()> {
    let m = &ctx.members[i];
    ctx.wf
        .change_status(
            ctx.focal(i)?,
            ChangeStatus {
                dossier_id: String::from(&m.dossier),
                status,
                effective,
                document,
                note: String::from(&note),
            },
        )
        .await
        .with_context(|| format!("record {status:?} for {}", m.person.full_name))?;
    Ok(())
}

/// A person arriving from another province.
pub(super) struct Arrival {
    pub(super) person: Person,
    pub(super) dossier: String,
}

/// Sở Nội vụ pulls the record of a person arriving from another province from the
/// national database (BT 11.1, HY 11.2); the receiving department's focal point
/// issues the personal account.
pub(super) async fn arrive(
    ctx: &People,
    admin: &Actor,
    province: &Province,
    synth: &mut Synth,
    index: usize,
) -> anyhow::Result<Arrival> {
    let p = synth.arrival(index, province, DELEGATING_DEPARTMENT);
    let previous = "Sở Y tế tỉnh Nam Định";
    let sections: Vec<(String, Vec<FieldEntry>)> = synth
        .sections(&p, previous)
        .into_iter()
        .filter(|(c, _)| matches!(*c, "identity" | "recruitment" | "rank_salary" | "education"))
        .map(|(c, f)| (c.to_owned(), f))
        .collect();
    let (dossier, _) = ctx
        .wf
        .import_dossier(
            admin,
            ImportDossier {
                source_system: "csdlqg".into(),
                source_record_id: String::from(&format!("CSDLQG-36-{}", &p.person_id[6..])),
                source_digest: None,
                person_id: String::from(&p.person_id),
                full_name: String::from(&p.full_name),
                category: p.category,
                managing_unit: String::from(&p.managing_unit),
                sections,
                handed_over_on: day(2026, 1, 30),
            },
        )
        .await
        .with_context(|| format!("import the dossier of {}", p.full_name))?;
    let focal = &ctx.staff.of(&p.managing_unit)?.focal;
    ctx.wf
        .issue_account(
            focal,
            IssueAccount {
                kind: AccountKind::Personal,
                username: Synth::username(&p.full_name, index),
                org_code: p.managing_unit.clone(),
                person_id: Some(p.person_id.clone()),
                display_name: p.full_name.clone(),
                birth_date: Some(p.born),
            },
        )
        .await
        .with_context(|| format!("issue the personal account of {}", p.full_name))?;
    Ok(Arrival { person: p, dossier })
}

/// The focal point checks the imported record, and the head signs it at once,
/// outside the monthly window: a `warn` profile accepts it with a warning.
pub(super) async fn approve_arrival(
    ctx: &People,
    arrival: &Arrival,
    summary: &mut Summary,
) -> anyhow::Result<Option<String>> {
    let p = &arrival.person;
    let focal = &ctx.staff.of(&p.managing_unit)?.focal;
    ctx.wf
        .review(
            focal,
            Review::verify(&arrival.dossier, "Đã đối chiếu với hồ sơ giấy bàn giao"),
        )
        .await
        .context("verify the imported record")?;
    ctx.wf
        .review(focal, Review::lock(&arrival.dossier))
        .await
        .context("lock the imported record")?;
    let (head, _) = approver(ctx, &arrival.dossier)
        .await?
        .context("nobody approves the arrival")?;
    let signer = &ctx.staff.of(&head)?.head;
    let receipt = sign(&ctx.wf, signer, &arrival.dossier)
        .await
        .context("sign the imported record")?;
    summary.approvals_arrival += 1;
    summary.approval_warnings += receipt.warnings.len() as u64;
    Ok(receipt.warnings.into_iter().next())
}

impl Tale {
    /// February up to the merger: changes, moves, transfers, an arrival and
    /// departures. Returns who did what.
    pub(super) async fn february(
        &mut self,
        ctx: &Arc<People>,
        admin: &Actor,
        people: usize,
    ) -> anyhow::Result<Roles> {
        self.story.set(day(2026, 2, 2))?;
        let roles = Roles::choose(ctx, &self.province, &mut self.synth);
        let (transfers, arrival) = self.sending(ctx, admin, &roles, people).await?;
        self.story.set(day(2026, 2, 3))?;
        let accepted = self.receiving(ctx, &roles, transfers, &arrival).await?;
        self.story.set(day(2026, 2, 4))?;
        self.leaving(ctx, &roles, accepted).await?;
        Ok(roles)
    }

    /// Mon 2 Feb: changes declared, moves, transfers sent, a record imported.
    async fn sending(
        &mut self,
        ctx: &Arc<People>,
        admin: &Actor,
        roles: &Roles,
        people: usize,
    ) -> anyhow::Result<(Vec<Transfer>, Arrival)> {
        each("changes", ctx, roles.changes.clone(), declare_change).await?;
        self.summary.changes = roles.changes.len() as u64;
        each("moves", ctx, roles.moves.clone(), move_within_agency).await?;
        self.summary.moves = roles.moves.len() as u64;
        let transfers = each("transfers", ctx, roles.transfers.clone(), initiate).await?;
        let arrival = arrive(ctx, admin, &self.province, &mut self.synth, people).await?;
        self.summary.imported = 1;
        self.story.say(format!(
            "{} changes declared with their proof, {} moves between divisions, {} transfers sent with the scanned decision, 1 record pulled from the national database for an arrival",
            self.summary.changes,
            self.summary.moves,
            transfers.len()
        ));
        Ok((transfers, arrival))
    }

    /// Tue 3 Feb: the receivers accept or reject, the changes are locked and
    /// the arrival signed. Returns the accepted transfers.
    async fn receiving(
        &mut self,
        ctx: &Arc<People>,
        roles: &Roles,
        transfers: Vec<Transfer>,
        arrival: &Arrival,
    ) -> anyhow::Result<Vec<Transfer>> {
        let summary = &mut self.summary;
        let (rejected, accepted): (Vec<Transfer>, Vec<Transfer>) = transfers
            .into_iter()
            .partition(|t| roles.rejected == Some(t.member));
        summary.transfers_rejected = rejected.len() as u64;
        summary.transfers_accepted = accepted.len() as u64;
        each("rejecting", ctx, rejected, reject).await?;
        each("accepting", ctx, accepted.clone(), accept).await?;
        each("reviewing", ctx, roles.changes.clone(), verify_and_lock).await?;
        let warning = approve_arrival(ctx, arrival, summary).await?;
        self.story.say(format!(
            "{} transfers accepted by the receiving agencies, {} rejected; the changes verified and locked; the arrival signed at once{}",
            summary.transfers_accepted,
            summary.transfers_rejected,
            warning.map_or_else(String::new, |w| format!(", with a warning: {w}"))
        ));
        Ok(accepted)
    }

    /// Wed 4 Feb: accepted transfers forwarded to divisions; people leave.
    async fn leaving(
        &mut self,
        ctx: &Arc<People>,
        roles: &Roles,
        accepted: Vec<Transfer>,
    ) -> anyhow::Result<()> {
        each("forwarding", ctx, accepted, forward).await?;
        let summary = &mut self.summary;
        summary.transfers_forwarded = summary.transfers_accepted;
        for l in &roles.leaving {
            *summary.status_changes.entry(status_name(l.1)).or_default() += 1;
        }
        each("departures", ctx, roles.leaving.clone(), depart).await?;
        self.story.say(format!(
            "transferred dossiers forwarded to divisions of the receivers; {} people leave: dossiers archived, personal accounts locked",
            roles.leaving.len()
        ));
        Ok(())
    }
}

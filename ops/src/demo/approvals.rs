//! The approval windows: heads (and a deputy under delegation) sign.

use super::Tale;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use ed25519_dalek::Signer as _;
use hoso_commands::workflows::{
    AccessRule, ApprovalSignature, CommandError, Receipt, Refusal, Workflows,
};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::profile::{ApprovalLevel, Profile};

use super::authority::Authority;
use super::people::{People, Signer};
use super::story::{Story, each};
use super::summary::Summary;

/// Signs the dossier as it stands now: the digest of [`Workflows::approval_request`],
/// signed with the signer's ed25519 key as the signer's client would.
pub(super) async fn sign(
    wf: &Workflows,
    signer: &Signer,
    dossier: &str,
) -> Result<Receipt, CommandError> {
    let req = wf.approval_request(dossier).await?;
    let signature = signer.key.sign(&req.digest).to_bytes().to_vec();
    wf.approve(
        &signer.actor,
        dossier,
        ApprovalSignature {
            revision: req.revision,
            stream_hash: req.stream_hash,
            key_id: signer.key_id.clone(),
            signature,
        },
    )
    .await
}

/// The first day, from `today` on, inside the level's monthly approval window.
pub(super) fn window_start(
    profile: &Profile,
    cal: &WorkingCalendar,
    level: ApprovalLevel,
    today: NaiveDate,
) -> anyhow::Result<NaiveDate> {
    let (first, last) = profile.approval_window(level, today.year(), today.month(), cal)?;
    if today <= last {
        return Ok(first.max(today));
    }
    let next = today
        .with_day(1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .context("date out of range")?;
    Ok(profile
        .approval_window(level, next.year(), next.month(), cal)?
        .0)
}

pub(super) fn level_name(level: ApprovalLevel) -> &'static str {
    match level {
        ApprovalLevel::UnitHead => "unit heads",
        ApprovalLevel::DepartmentHead => "department heads",
        ApprovalLevel::HomeAffairsDirector => "the Sở Nội vụ director",
    }
}

pub(super) async fn approve_one(
    ctx: Arc<People>,
    (i, signer, by_deputy): (usize, Signer, bool),
) -> anyhow::Result<(u64, bool)> {
    let m = &ctx.members[i];
    let r = sign(&ctx.wf, &signer, &m.dossier)
        .await
        .with_context(|| format!("sign the dossier of {}", m.person.full_name))?;
    Ok((r.warnings.len() as u64, by_deputy))
}

/// Signs the locked dossiers of `pending`, each by its approver (DT 11) on the first
/// day of that approver's window. In January the deputy signs every other dossier
/// of the delegating head, where the profile lets heads delegate (KT 8.1); where it
/// does not, the deputy's first signature is refused and the head signs.
pub(super) async fn approve_in_windows(
    story: &Story,
    ctx: &Arc<People>,
    authority: &Authority,
    pending: Vec<usize>,
    january: bool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let profile = ctx.wf.profile();
    let cal = ctx.wf.calendar();
    let summaries = ctx.wf.dossier_summaries().await?;
    let has_head = |code: &str| ctx.staff.agencies.contains_key(code);
    type Batch = (BTreeSet<ApprovalLevel>, Vec<(usize, String)>);
    let mut by_day: BTreeMap<NaiveDate, Batch> = BTreeMap::new();
    for i in pending {
        let m = &ctx.members[i];
        let s = summaries
            .get(&m.dossier)
            .with_context(|| format!("no summary of dossier {}", m.dossier))?;
        let (head, level) = authority
            .approver(profile, &s.managing_unit, s.category, has_head)
            .with_context(|| {
                format!(
                    "nobody approves {:?} dossiers of {} under this profile",
                    s.category, s.managing_unit
                )
            })?;
        let batch = by_day
            .entry(window_start(profile, cal, level, story.today())?)
            .or_default();
        batch.0.insert(level);
        batch.1.push((i, head));
    }
    for (d, (levels, batch)) in by_day {
        story.set(d)?;
        let mut signed = 0;
        let mut warnings = 0;
        let mut deputy_signed = 0;
        let mut deputy_ok = None;
        let mut items = Vec::with_capacity(batch.len());
        for (n, (i, head)) in batch.into_iter().enumerate() {
            let deputy = ctx
                .staff
                .deputy
                .as_ref()
                .filter(|d| january && d.agency == head);
            if let Some(deputy) = deputy {
                match deputy_ok {
                    None => match sign(&ctx.wf, &deputy.signer, &ctx.members[i].dossier).await {
                        Ok(r) => {
                            deputy_ok = Some(true);
                            signed += 1;
                            deputy_signed += 1;
                            warnings += r.warnings.len() as u64;
                            continue;
                        }
                        Err(CommandError::Access(Refusal {
                            rule: AccessRule::Delegation(why),
                            ..
                        })) => {
                            deputy_ok = Some(false);
                            summary.deputy_refused = Some(why);
                        }
                        Err(e) => return Err(e).context("the deputy signs under delegation"),
                    },
                    Some(true) if n % 2 == 0 => {
                        items.push((i, deputy.signer.clone(), true));
                        continue;
                    }
                    Some(_) => {}
                }
            }
            items.push((i, ctx.staff.of(&head)?.head.clone(), false));
        }
        for (w, by_deputy) in each("approving", ctx, items, approve_one).await? {
            signed += 1;
            warnings += w;
            deputy_signed += u64::from(by_deputy);
        }
        if january {
            summary.approvals_first += signed;
        } else {
            summary.approvals_change += signed;
        }
        summary.approvals_by_deputy += deputy_signed;
        summary.approval_warnings += warnings;
        let who: Vec<&str> = levels.into_iter().map(level_name).collect();
        let mut line = format!(
            "approval window of the {}: {signed} {} signed",
            who.join(" and "),
            if january { "new dossiers" } else { "changes" }
        );
        if deputy_signed > 0 {
            line.push_str(&format!(
                ", {deputy_signed} of them by the deputy under delegation"
            ));
        }
        if let (Some(why), Some(false)) = (&summary.deputy_refused, deputy_ok) {
            line.push_str(&format!(
                "; the deputy's signature was refused ({why}), so the head signed"
            ));
        }
        if warnings > 0 {
            line.push_str(&format!(", {warnings} outside the window (warned)"));
        }
        story.say(line);
    }
    Ok(())
}

impl Tale {
    /// The approval windows of the month: the new dossiers in January, the
    /// changes in February.
    pub(super) async fn approvals(
        &mut self,
        ctx: &Arc<People>,
        authority: &Authority,
        pending: Vec<usize>,
        january: bool,
    ) -> anyhow::Result<()> {
        approve_in_windows(
            &self.story,
            ctx,
            authority,
            pending,
            january,
            &mut self.summary,
        )
        .await
    }
}

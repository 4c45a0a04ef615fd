//! The approval windows: heads (and a deputy under delegation) sign.

use hoso_commands::workflows::Approve;
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

use super::Tale;
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
        Approve {
            dossier_id: String::from(dossier),
            signature: ApprovalSignature {
                revision: req.revision,
                stream_hash: req.stream_hash,
                key_id: signer.key_id.clone(),
                signature,
            },
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

/// The unit whose head signs the dossier, and the level whose window applies:
/// the nearest approver the handlers name (DT 11) among the agencies that have
/// a head in the demo.
pub(super) async fn approver(
    ctx: &People,
    dossier: &str,
) -> anyhow::Result<Option<(String, ApprovalLevel)>> {
    Ok(ctx
        .wf
        .approvers_of(dossier)
        .await?
        .into_iter()
        .find(|a| ctx.staff.agencies.contains_key(&a.org_code))
        .map(|a| (a.org_code, a.level)))
}

/// Signs the locked dossiers of `pending`, each by its approver (DT 11) on the first
/// day of that approver's window. In January the deputy signs every other dossier
/// of the delegating head, where the profile lets heads delegate (KT 8.1); where it
/// does not, the deputy's first signature is refused and the head signs.
pub(super) async fn approve_in_windows(
    story: &Story,
    ctx: &Arc<People>,
    pending: Vec<usize>,
    january: bool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    for (d, (levels, batch)) in schedule(story, ctx, pending).await? {
        story.set(d)?;
        let mut window = Window::default();
        let items = signers(ctx, batch, january, &mut window, summary).await?;
        for (w, by_deputy) in each("approving", ctx, items, approve_one).await? {
            window.signed += 1;
            window.warnings += w;
            window.deputy_signed += u64::from(by_deputy);
        }
        if january {
            summary.approvals_first += window.signed;
        } else {
            summary.approvals_change += window.signed;
        }
        summary.approvals_by_deputy += window.deputy_signed;
        summary.approval_warnings += window.warnings;
        story.say(window.line(levels, january, summary));
    }
    Ok(())
}

/// The levels signing on one day, and the dossiers with the unit whose head signs.
type Batch = (BTreeSet<ApprovalLevel>, Vec<(usize, String)>);

/// The dossiers of `pending` by the first day of their approver's window.
async fn schedule(
    story: &Story,
    ctx: &Arc<People>,
    pending: Vec<usize>,
) -> anyhow::Result<BTreeMap<NaiveDate, Batch>> {
    let profile = ctx.wf.profile();
    let cal = ctx.wf.calendar();
    let mut by_day: BTreeMap<NaiveDate, Batch> = BTreeMap::new();
    for i in pending {
        let m = &ctx.members[i];
        let (head, level) = approver(ctx, &m.dossier).await?.with_context(|| {
            format!(
                "nobody approves {:?} dossiers of {} under this profile",
                m.person.category, m.person.managing_unit
            )
        })?;
        let batch = by_day
            .entry(window_start(profile, cal, level, story.today())?)
            .or_default();
        batch.0.insert(level);
        batch.1.push((i, head));
    }
    Ok(by_day)
}

/// What one day of an approval window came to.
#[derive(Default)]
struct Window {
    signed: u64,
    warnings: u64,
    deputy_signed: u64,
    /// Whether the deputy's first signature under delegation was accepted.
    deputy_ok: Option<bool>,
}

impl Window {
    /// The story's line for the day.
    fn line(&self, levels: BTreeSet<ApprovalLevel>, january: bool, summary: &Summary) -> String {
        let Self {
            signed,
            warnings,
            deputy_signed,
            deputy_ok,
        } = *self;
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
        line
    }
}

/// Who signs each dossier of the batch. In January the deputy tries the first of
/// the delegating head's dossiers at once (counted in `window`); if accepted, the
/// deputy signs every other one after it, else the head signs them all.
async fn signers(
    ctx: &Arc<People>,
    batch: Vec<(usize, String)>,
    january: bool,
    window: &mut Window,
    summary: &mut Summary,
) -> anyhow::Result<Vec<(usize, Signer, bool)>> {
    let mut items = Vec::with_capacity(batch.len());
    for (n, (i, head)) in batch.into_iter().enumerate() {
        let deputy = ctx
            .staff
            .deputy
            .as_ref()
            .filter(|d| january && d.agency == head);
        if let Some(deputy) = deputy {
            match window.deputy_ok {
                None => match sign(&ctx.wf, &deputy.signer, &ctx.members[i].dossier).await {
                    Ok(r) => {
                        window.deputy_ok = Some(true);
                        window.signed += 1;
                        window.deputy_signed += 1;
                        window.warnings += r.warnings.len() as u64;
                        continue;
                    }
                    Err(CommandError::Access(Refusal {
                        rule: AccessRule::Delegation(why),
                        ..
                    })) => {
                        window.deputy_ok = Some(false);
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
    Ok(items)
}

impl Tale {
    /// The approval windows of the month: the new dossiers in January, the
    /// changes in February.
    pub(super) async fn approvals(
        &mut self,
        ctx: &Arc<People>,
        pending: Vec<usize>,
        january: bool,
    ) -> anyhow::Result<()> {
        approve_in_windows(&self.story, ctx, pending, january, &mut self.summary).await
    }
}

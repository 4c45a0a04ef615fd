//! January: the people declare, the focal points review and lock, and the
//! decisions of the state are recorded.

use hoso_commands::workflows::{Declare, RecordDecision, Review};
use std::sync::Arc;

use anyhow::Context;

use super::people::People;
use super::story::{each, hashing};
use super::{Tale, day};

/// The person changes any issued password (BT 4.4), then declares every section;
/// returns how many were declared.
pub(super) async fn declare(ctx: Arc<People>, i: usize) -> anyhow::Result<u64> {
    let m = &ctx.members[i];
    let plan = &ctx.plans[i];
    if let Some((issued, chosen)) = &m.passwords {
        hashing(
            ctx.wf
                .change_password(&m.account.account_id, issued, chosen),
        )
        .with_context(|| format!("{} changes the issued password", m.person.full_name))?;
    }
    for (code, fields) in &plan.sections {
        let mut fields = fields.clone();
        if plan.returned && *code == "identity" {
            fields.retain(|f| f.field_code != "7");
        }
        ctx.wf
            .declare(&m.account, Declare::new(&m.dossier, *code, fields))
            .await
            .with_context(|| format!("{} declares {code}", m.person.full_name))?;
    }
    Ok(plan.sections.len() as u64)
}

/// The focal point returns an incomplete identity section with its reason (HY 15.6)
/// and the person completes it; then the focal point verifies against the papers
/// and locks (HY 10.3). Returns whether a section was returned.
pub(super) async fn review(ctx: Arc<People>, i: usize) -> anyhow::Result<bool> {
    let m = &ctx.members[i];
    let plan = &ctx.plans[i];
    let focal = ctx.focal(i)?;
    if plan.returned {
        ctx.wf
            .review(
                focal,
                Review::send_back(
                    &m.dossier,
                    vec!["identity".to_owned()],
                    vec!["Thiếu mục 7 (Tôn giáo); đề nghị khai bổ sung".to_owned()],
                ),
            )
            .await
            .with_context(|| format!("return the identity of {}", m.person.full_name))?;
        let identity = plan
            .sections
            .iter()
            .find(|(c, _)| *c == "identity")
            .map(|(_, f)| f.clone())
            .unwrap_or_default();
        ctx.wf
            .declare(&m.account, Declare::new(&m.dossier, "identity", identity))
            .await
            .with_context(|| format!("{} declares the identity again", m.person.full_name))?;
    }
    verify_and_lock(ctx.clone(), i).await?;
    Ok(plan.returned)
}

pub(super) async fn verify_and_lock(ctx: Arc<People>, i: usize) -> anyhow::Result<()> {
    let m = &ctx.members[i];
    let focal = ctx.focal(i)?;
    ctx.wf
        .review(
            focal,
            Review::verify(&m.dossier, "Đã đối chiếu với bản gốc hồ sơ giấy"),
        )
        .await
        .with_context(|| format!("verify the declaration of {}", m.person.full_name))?;
    ctx.wf
        .review(focal, Review::lock(&m.dossier))
        .await
        .with_context(|| format!("lock the declaration of {}", m.person.full_name))?;
    Ok(())
}

pub(super) async fn decide(ctx: Arc<People>, i: usize) -> anyhow::Result<Vec<&'static str>> {
    let m = &ctx.members[i];
    let focal = ctx.focal(i)?;
    let mut kinds = Vec::new();
    for (kind, decision, effective, document) in &ctx.plans[i].decisions {
        ctx.wf
            .record_decision(
                focal,
                RecordDecision {
                    dossier_id: String::from(&m.dossier),
                    decision: decision.clone(),
                    effective: *effective,
                    document: document.clone(),
                },
            )
            .await
            .with_context(|| format!("record the {kind} decision of {}", m.person.full_name))?;
        kinds.push(*kind);
    }
    Ok(kinds)
}

impl Tale {
    /// Thu 8 Jan: the people declare.
    pub(super) async fn declaring(
        &mut self,
        ctx: &Arc<People>,
        everyone: &[usize],
    ) -> anyhow::Result<()> {
        self.story.set(day(2026, 1, 8))?;
        let declared = each("declaring", ctx, everyone.to_vec(), declare).await?;
        let summary = &mut self.summary;
        summary.declarations += declared.iter().sum::<u64>();
        summary.password_changes += summary.personal_passwords;
        self.story.say(format!(
            "{} sections declared by the people through their personal accounts ({} changed their issued password first)",
            summary.declarations, summary.personal_passwords
        ));
        Ok(())
    }

    /// Mon 12 Jan: the focal points return a few, verify and lock.
    pub(super) async fn reviewing(
        &mut self,
        ctx: &Arc<People>,
        everyone: &[usize],
    ) -> anyhow::Result<()> {
        self.story.set(day(2026, 1, 12))?;
        let reviewed = each("reviewing", ctx, everyone.to_vec(), review).await?;
        let summary = &mut self.summary;
        summary.returned = reviewed.iter().filter(|r| **r).count() as u64;
        summary.declarations += summary.returned;
        self.story.say(format!(
            "focal points return {} identity sections with reasons; after the corrections all {} declarations are verified and locked",
            summary.returned,
            ctx.members.len()
        ));
        Ok(())
    }

    /// Tue 13 Jan: the decisions of the state.
    pub(super) async fn deciding(
        &mut self,
        ctx: &Arc<People>,
        everyone: &[usize],
    ) -> anyhow::Result<()> {
        self.story.set(day(2026, 1, 13))?;
        for k in each("decisions", ctx, everyone.to_vec(), decide)
            .await?
            .into_iter()
            .flatten()
        {
            *self.summary.decisions.entry(k).or_default() += 1;
        }
        self.story.say(format!(
            "{} decisions of the state recorded with their scanned copies",
            self.summary.decisions.values().sum::<u64>()
        ));
        Ok(())
    }
}

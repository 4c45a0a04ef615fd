//! 9 Feb: a school merges into its neighbour by decision (DL 5.5).

use anyhow::Context;
use hoso_commands::workflows::Actor;
use hoso_domain::org::{OrgChange, OrgCommand};

use super::Tale;
use super::movements::Roles;
use super::people::People;
use super::summary::Summary;
use super::{PROVINCE_ISSUER, day};
use crate::synth::Synth;

/// A school merges into its neighbour by decision (DL 5.5): the handler moves its
/// dossiers and accounts to the successor and revokes rights over it. Checks that
/// everything moved and that running the restructuring again finds nothing left.
pub(super) async fn merge(
    ctx: &People,
    admin: &Actor,
    roles: &Roles,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let (from, to) = (&roles.merged, &roles.successor);
    let before = ctx.wf.dossier_summaries().await?;
    let dossiers = before
        .values()
        .filter(|s| s.managing_unit == *from || s.employing_unit == *from)
        .count();
    let mut accounts: Vec<String> = ctx
        .members
        .iter()
        .filter(|m| m.person.managing_unit == *from)
        .map(|m| m.account.account_id.clone())
        .collect();
    if let Ok(s) = ctx.staff.of(from) {
        accounts.push(s.head.actor.account_id.clone());
        accounts.push(s.focal.account_id.clone());
    }
    ctx.wf
        .org(
            admin,
            OrgCommand {
                code: from.clone(),
                decision: synth.document("QĐ", "UBND", PROVINCE_ISSUER, day(2026, 2, 6)),
                change: OrgChange::MergeInto {
                    successor: to.clone(),
                    effective: day(2026, 2, 9),
                },
            },
        )
        .await
        .with_context(|| format!("merge {from} into {to}"))?;
    let after = ctx.wf.dossier_summaries().await?;
    let left = after
        .values()
        .filter(|s| s.managing_unit == *from || s.employing_unit == *from)
        .count();
    anyhow::ensure!(
        left == 0,
        "{left} dossiers were left in the merged unit {from}"
    );
    let mut moved_accounts = 0;
    for id in &accounts {
        let a = ctx
            .wf
            .load_account(id)
            .await?
            .with_context(|| format!("account {id} vanished"))?;
        anyhow::ensure!(
            a.org_code == *to && !a.grants.contains_key(from),
            "account {id} was not moved to {to} with its rights over {from} revoked"
        );
        moved_accounts += 1;
    }
    let again = ctx.wf.complete_restructuring(admin, from).await?;
    anyhow::ensure!(again == 0, "the restructuring moved {again} dossiers twice");
    summary.merger_dossiers = dossiers as u64;
    summary.merger_accounts = moved_accounts;
    Ok(())
}

impl Tale {
    /// Mon 9 Feb: the merger.
    pub(super) async fn merger(
        &mut self,
        ctx: &People,
        admin: &Actor,
        roles: &Roles,
    ) -> anyhow::Result<()> {
        self.story.set(day(2026, 2, 9))?;
        merge(ctx, admin, roles, &mut self.synth, &mut self.summary).await?;
        self.story.say(format!(
            "{} merges into {}: {} dossiers and {} accounts moved to the successor, rights over the old unit revoked",
            roles.merged, roles.successor, self.summary.merger_dossiers, self.summary.merger_accounts
        ));
        Ok(())
    }
}

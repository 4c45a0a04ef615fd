//! The national sync feed's first two months. Fri 27 Feb: one person declares a
//! change after the heads signed February's, so it is still unapproved at the
//! month's cut. Mon 2 Mar (the profile's `[sync] seal_from_day` lets January and
//! February be sealed): the system administrator issues the national database's
//! sync account, and the Sở Nội vụ director seals January's and February's
//! batches through the path the API takes — the log's range
//! ([`Workflows::batch_range`]), the documents rendered from the caught-up read
//! model (`hoso_api::routes::sync::build_items`), their Merkle root, the
//! statement signed with the director's key, [`Workflows::seal_batch`]. The
//! director's public key is published in the data directory for the consumer
//! (`hoso sync pull --director-key`), which gets it out of band.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ed25519_dalek::Signer as _;
use hoso_api::access::KeyringSealer;
use hoso_api::routes::sync::build_items;
use hoso_commands::credentials::PasswordContext;
use hoso_commands::workflows::{Actor, Declare, SealBatch, Workflows};
use hoso_domain::account::{AccountChange, AccountKind};
use hoso_ledger::SqliteStore;
use hoso_projections::ReadModel;

use super::accounts::{Hire, hire, note};
use super::people::{People, Signer};
use super::{Tale, day};
use crate::data_dir::Node;

/// The national database's sync account (`hoso sync pull --user`).
pub(super) const NATIONAL_SYNC_USER: &str = "csdlqg.dongbo";
/// Sở Nội vụ, where the system administrator sits and whose head is the director
/// who seals the batches.
const HOME_AFFAIRS: &str = "000.01.00.H33";

/// A batch the director sealed, for the summary.
pub(super) struct SealedLine {
    pub(super) sequence: u64,
    pub(super) month: String,
    pub(super) items: u64,
    pub(super) statement_digest: String,
}

/// The change still unapproved at February's cut: dossier and its revision.
pub(super) struct LeftOut {
    pub(super) dossier: String,
    pub(super) revision: u64,
}

impl Tale {
    /// Fri 27 Feb: the first person of the February changes declares another
    /// change (a new address or a degree, with its proof) after the heads signed
    /// in the window; it waits for March's window.
    pub(super) async fn late_change(
        &mut self,
        ctx: &Arc<People>,
        changes: &[usize],
    ) -> anyhow::Result<()> {
        self.story.set(day(2026, 2, 27))?;
        let i = changes.first().copied().unwrap_or_default();
        let m = &ctx.members[i];
        let (code, fields, proof) = self.synth.change(&m.person);
        let receipt = ctx
            .wf
            .declare(
                &m.account,
                Declare::new(&m.dossier, code, fields).with_attachments(vec![proof]),
            )
            .await
            .with_context(|| format!("{} declares a late change", m.person.full_name))?;
        self.story.say(format!(
            "{} declares a change of {code} after February's signatures (dossier {}, revision {}); it waits for March's window",
            m.person.full_name, m.dossier, receipt.revision
        ));
        self.summary.sync_left_out = Some(LeftOut {
            dossier: m.dossier.clone(),
            revision: receipt.revision,
        });
        Ok(())
    }

    /// Mon 2 Mar: the national sync account issued, January's and February's
    /// batches sealed by the director, the director's key published. Returns
    /// the time spent on the read side (projecting the log, rendering the
    /// documents), which is not the handlers' work.
    pub(super) async fn national_sync(
        &mut self,
        node: &Node,
        admin: &Actor,
        director: &Signer,
    ) -> anyhow::Result<Duration> {
        self.story.set(day(2026, 3, 2))?;
        self.issue_national_account(admin).await?;
        self.issue_inspector(admin).await?;
        let wf = &self.wf;
        let started = Instant::now();
        let read = read_model(node, wf).await?;
        let mut read_side = started.elapsed();
        for _ in 0..2 {
            let (line, rendering) = seal_next(wf, node.sqlite()?, &read, director).await?;
            read_side += rendering;
            self.summary.sync_batches.push(line);
        }
        drop(read);
        let key_file = node.dir.director_key_file();
        if let Some(parent) = key_file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
        std::fs::write(
            &key_file,
            format!("{}\n", hex::encode(director.key.verifying_key().to_bytes())),
        )
        .with_context(|| format!("write {}", key_file.display()))?;
        let batches: Vec<String> = self
            .summary
            .sync_batches
            .iter()
            .map(|b| format!("{} ({} items)", b.month, b.items))
            .collect();
        self.story.say(format!(
            "the national database's sync account {NATIONAL_SYNC_USER} issued; the Sở Nội vụ director seals the batches of {} (read model projected and documents rendered in {:.1} s); the director's public key written to {}",
            batches.join(" and "),
            read_side.as_secs_f64(),
            key_file.display()
        ));
        Ok(read_side)
    }

    /// The national database's sync account, read-only, with a password its
    /// holder changes (BT 4.4); shown with the demo logins.
    async fn issue_national_account(&mut self, admin: &Actor) -> anyhow::Result<()> {
        let display_name = "Cơ sở dữ liệu quốc gia về cán bộ, công chức, viên chức";
        let ctx = PasswordContext {
            username: NATIONAL_SYNC_USER,
            full_name: display_name,
            birth_date: None,
        };
        let passwords = (self.synth.password(&ctx), self.synth.password(&ctx));
        let h = Hire {
            issuer: admin.clone(),
            kind: AccountKind::NationalSync,
            username: NATIONAL_SYNC_USER.to_owned(),
            org: self.province.root().to_owned(),
            display_name: display_name.to_owned(),
            right: None,
            decision: self
                .synth
                .document("QĐ", "SNV", "Sở Nội vụ", day(2026, 3, 2)),
            passwords: Some(passwords),
            key: None,
        };
        note(
            &mut self.summary,
            &h,
            "national database's sync account (hoso sync pull --user)",
        );
        hire(&self.wf, h).await?;
        Ok(())
    }

    /// An inspector of the provincial inspectorate, with an inspection of the
    /// whole province ordered by decision, read-only and for general-level
    /// fields, running to the end of 2027: the portal's inspector login (a
    /// dossier's timeline from its verified bundle).
    async fn issue_inspector(&mut self, admin: &Actor) -> anyhow::Result<()> {
        let username = "thanhtra.kiemtra";
        let display_name = "Thanh tra viên, Thanh tra tỉnh";
        let ctx = PasswordContext {
            username,
            full_name: display_name,
            birth_date: None,
        };
        let passwords = (self.synth.password(&ctx), self.synth.password(&ctx));
        let decision = self
            .synth
            .document("QĐ", "TTr", "Thanh tra tỉnh", day(2026, 3, 2));
        let h = Hire {
            issuer: admin.clone(),
            kind: AccountKind::Inspector,
            username: username.to_owned(),
            org: self.province.root().to_owned(),
            display_name: display_name.to_owned(),
            right: None,
            decision: decision.clone(),
            passwords: Some(passwords),
            key: None,
        };
        note(
            &mut self.summary,
            &h,
            "inspector (whole province, until 31/12/2027)",
        );
        let (inspector, _) = hire(&self.wf, h).await?;
        self.wf
            .account(
                admin,
                &inspector.account_id,
                AccountChange::GrantInspection {
                    inspection_id: uuid::Uuid::now_v7().to_string(),
                    org_codes: vec![self.province.root().to_owned()],
                    valid_from: day(2026, 3, 2),
                    valid_until: day(2027, 12, 31),
                    clearance: hoso_domain::restriction::Restriction::General,
                    decision,
                },
            )
            .await
            .context("grant the inspector's inspection")?;
        Ok(())
    }

    /// The Sở Nội vụ director: the head of the system administrator's unit.
    pub(super) fn director(ctx: &People) -> anyhow::Result<Signer> {
        Ok(ctx.staff.of(HOME_AFFAIRS)?.head.clone())
    }
}

/// The demo's read model, caught up with the log (the reports reuse it).
async fn read_model(node: &Node, wf: &Workflows) -> anyhow::Result<ReadModel> {
    let sealer = Arc::new(KeyringSealer(wf.keyring().clone()));
    let (read, _) = ReadModel::open(node.dir.path(), wf.clock().clone(), sealer)
        .context("opening the read model")?;
    read.catch_up(node.store.as_ref())
        .await
        .context("projecting the demo ledger")?;
    Ok(read)
}

/// Seals the next batch as the director does: the range the log gives, its
/// items rendered from the read model (which must name the same approvals),
/// the root, the statement digest signed with the director's key. Returns
/// the batch and the time its rendering took.
async fn seal_next(
    wf: &Workflows,
    store: &SqliteStore,
    read: &ReadModel,
    director: &Signer,
) -> anyhow::Result<(SealedLine, Duration)> {
    let started = Instant::now();
    read.catch_up(store).await?;
    let range = wf.batch_range().await?;
    let approvals = match range.to_position.checked_sub(1) {
        Some(last) if range.to_position > range.from_position => {
            read.approvals_between(range.from_position.checked_sub(1), last)?
        }
        _ => Vec::new(),
    };
    let opener = KeyringSealer(wf.keyring().clone());
    let items = build_items(read, wf.profile(), &opener, &approvals)?;
    let agree = items.len() == range.approvals.len()
        && items.iter().zip(&range.approvals).all(|((item, _), a)| {
            item.dossier == a.dossier_id
                && item.revision == a.revision
                && item.chain_hash == a.chain_hash
        });
    anyhow::ensure!(
        agree,
        "the read model's approvals differ from the log's for batch {}",
        range.sequence
    );
    let batch: Vec<_> = items.into_iter().map(|(item, _)| item).collect();
    let rendering = started.elapsed();
    let statement = range.statement(hoso_sync::merkle_root(&batch)?);
    let digest = statement.digest()?;
    let signature = director.key.sign(&digest).to_bytes().to_vec();
    let line = SealedLine {
        sequence: statement.sequence,
        month: statement.month.to_string(),
        items: statement.item_count,
        statement_digest: hex::encode(digest),
    };
    wf.seal_batch(
        &director.actor,
        SealBatch {
            statement,
            key_id: director.key_id.clone(),
            signature,
        },
    )
    .await
    .with_context(|| {
        format!(
            "the director seals batch {} ({})",
            line.sequence, line.month
        )
    })?;
    Ok((line, rendering))
}

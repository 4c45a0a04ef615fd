//! Tue 6 Jan: staff accounts, their rights, signing keys and a delegation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Context;
use ed25519_dalek::SigningKey;
use hoso_commands::credentials::PasswordContext;
use hoso_commands::workflows::{Actor, IssueAccount, Workflows};
use hoso_domain::account::{AccountChange, AccountKind};
use hoso_ledger::SourceDocument;
use hoso_schemas::pb::common::AccessRight;

use super::Tale;
use super::people::{AgencyStaff, Deputy, Signer, Staff};
use super::story::{each, hashing};
use super::summary::Summary;
use super::{DELEGATING_DEPARTMENT, day};
use crate::synth::{Province, Sector, Synth, Unit};

/// A staff account to issue: who, where, the right to grant, the passwords and the key.
pub(super) struct Hire {
    pub(super) issuer: Actor,
    pub(super) kind: AccountKind,
    pub(super) username: String,
    pub(super) org: String,
    pub(super) display_name: String,
    pub(super) right: Option<AccessRight>,
    pub(super) decision: SourceDocument,
    /// The password issued and the one the holder chooses, for the accounts that
    /// get one.
    pub(super) passwords: Option<(String, String)>,
    pub(super) key: Option<[u8; 32]>,
}

impl Hire {
    pub(super) fn draw(
        synth: &mut Synth,
        issuer: &Actor,
        kind: AccountKind,
        unit: &Unit,
        role: &str,
        right: Option<AccessRight>,
        login: bool,
    ) -> Self {
        let female = synth.rng_bool(0.4);
        let display_name = synth.name(female);
        let username = format!("{}.{role}", unit.slug);
        let ctx = PasswordContext {
            username: &username,
            full_name: &display_name,
            birth_date: None,
        };
        let passwords = login.then(|| (synth.password(&ctx), synth.password(&ctx)));
        let decision = synth.document("QĐ", &unit.abbr, &unit.name, day(2026, 1, 5));
        let key = matches!(kind, AccountKind::AgencyHead).then(|| synth.key_seed());
        Self {
            issuer: issuer.clone(),
            kind,
            username,
            org: unit.code.clone(),
            display_name,
            right,
            decision,
            passwords,
            key,
        }
    }
}

/// Issues the account, grants its right, issues any password, which the holder then
/// changes (BT 4.4), and has a head register its signing key.
pub(super) async fn hire(wf: &Workflows, h: Hire) -> anyhow::Result<(Actor, Option<Signer>)> {
    let (id, _) = wf
        .issue_account(
            &h.issuer,
            IssueAccount {
                kind: h.kind,
                username: h.username.clone(),
                org_code: h.org.clone(),
                person_id: None,
                display_name: h.display_name.clone(),
                birth_date: None,
            },
        )
        .await
        .with_context(|| format!("issue account {}", h.username))?;
    if let Some(right) = h.right {
        wf.account(
            &h.issuer,
            &id,
            AccountChange::Grant {
                org_code: h.org.clone(),
                right,
                reason: "phân công theo quyết định (DL 12.2)".to_owned(),
                decision: Some(h.decision.clone()),
            },
        )
        .await
        .with_context(|| format!("grant {right:?} to {}", h.username))?;
    }
    if let Some((issued, chosen)) = &h.passwords {
        hashing(wf.issue_password(&h.issuer, &id, issued))
            .with_context(|| format!("issue a password to {}", h.username))?;
        hashing(wf.change_password(&id, issued, chosen))
            .with_context(|| format!("{} changes the issued password", h.username))?;
    }
    let actor = Actor::new(id);
    let signer = match h.key {
        Some(seed) => {
            let key = SigningKey::from_bytes(&seed);
            let key_id = format!("{}-2026", h.username);
            wf.account(
                &actor,
                &actor.account_id,
                AccountChange::RegisterKey {
                    key_id: key_id.clone(),
                    public_key: key.verifying_key().to_bytes().to_vec(),
                    valid_from: day(2026, 1, 6),
                    valid_until: Some(day(2030, 12, 31)),
                },
            )
            .await
            .with_context(|| format!("{} registers a signing key", h.username))?;
            Some(Signer {
                actor: actor.clone(),
                key_id,
                key,
            })
        }
        None => None,
    };
    Ok((actor, signer))
}

pub(super) async fn hire_task(
    wf: Arc<Workflows>,
    h: Hire,
) -> anyhow::Result<(Actor, Option<Signer>)> {
    hire(&wf, h).await
}

pub(super) fn kind_name(k: AccountKind) -> &'static str {
    match k {
        AccountKind::SystemAdmin => "system administrator",
        AccountKind::AgencyAdmin => "agency administrators",
        AccountKind::AgencyHead => "agency heads",
        AccountKind::Specialist => "specialists (focal points, deputy)",
        AccountKind::Personal => "personal",
        AccountKind::Inspector => "inspectors",
        AccountKind::NationalSync => "national sync",
        AccountKind::Unspecified => "unspecified",
    }
}

/// Counts a staff account in the summary, and remembers its login if it has a password.
pub(super) fn note(summary: &mut Summary, h: &Hire, role: &str) {
    summary.staff_accounts += 1;
    *summary.staff_by_kind.entry(kind_name(h.kind)).or_default() += 1;
    if let Some((_, chosen)) = &h.passwords {
        summary.staff_passwords += 1;
        summary.password_changes += 1;
        if !role.is_empty() {
            summary
                .logins
                .push((role.to_owned(), h.username.clone(), chosen.clone()));
            if let Some(seed) = h.key {
                summary.login_keys.push((h.username.clone(), seed));
            }
        }
    }
}

pub(super) async fn accounts(
    wf: &Arc<Workflows>,
    admin: &Actor,
    province: &Province,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<Staff> {
    let dept_admins = agency_administrators(wf, admin, province, synth, summary).await?;
    let (hires, agencies) = heads_and_focal_points(admin, province, &dept_admins, synth, summary);
    let hired = each("staff", wf, hires, hire_task).await?;
    let mut staff = Staff {
        agencies: BTreeMap::new(),
        deputy: None,
    };
    for (code, pair) in agencies.into_iter().zip(hired.chunks(2)) {
        let [(_, Some(head)), (focal, _)] = pair else {
            anyhow::bail!("staff of {code} incomplete");
        };
        staff.agencies.insert(
            code,
            AgencyStaff {
                head: head.clone(),
                focal: focal.clone(),
            },
        );
    }
    summary.keys = staff.agencies.len() as u64;
    staff.deputy = deputy(wf, province, &dept_admins, &staff, synth, summary).await?;
    Ok(staff)
}

/// Each department's administrator, issued by Sở Nội vụ with admin right over it;
/// by department code.
async fn agency_administrators(
    wf: &Arc<Workflows>,
    admin: &Actor,
    province: &Province,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<BTreeMap<String, Actor>> {
    let departments = province.of_sector(Sector::Department);
    let hires: Vec<Hire> = departments
        .iter()
        .map(|u| {
            Hire::draw(
                synth,
                admin,
                AccountKind::AgencyAdmin,
                u,
                "quantri",
                Some(AccessRight::Admin),
                true,
            )
        })
        .collect();
    for (n, h) in hires.iter().enumerate() {
        note(summary, h, if n == 0 { "agency administrator" } else { "" });
    }
    Ok(departments
        .iter()
        .map(|u| u.code.clone())
        .zip(
            each("administrators", wf, hires, hire_task)
                .await?
                .into_iter()
                .map(|(a, _)| a),
        )
        .collect())
}

/// Heads and focal points: a department's administrator hires for the department
/// and its public service units; Sở Nội vụ for the communes. Those of the
/// departments and of the first unit of each other kind get passwords (the demo
/// logins); the others act as an already-authenticated caller would, which keeps
/// the demo from spending most of its time in argon2id.
/// Returns the hires, a head then a focal point per agency, and the agencies.
fn heads_and_focal_points(
    admin: &Actor,
    province: &Province,
    dept_admins: &BTreeMap<String, Actor>,
    synth: &mut Synth,
    summary: &mut Summary,
) -> (Vec<Hire>, Vec<String>) {
    let mut hires = Vec::new();
    let mut agencies = Vec::new();
    let mut sectors_with_login = BTreeSet::new();
    for u in province.agencies() {
        let issuer = province
            .department_of(&u.code)
            .and_then(|d| dept_admins.get(&d.code))
            .unwrap_or(admin);
        let head_role = match u.sector {
            Sector::School => "hieutruong",
            Sector::Commune => "chutich",
            _ => "giamdoc",
        };
        let first_of_kind = sectors_with_login.insert(format!("{:?}", u.sector));
        let login = u.sector == Sector::Department || first_of_kind;
        let head = Hire::draw(
            synth,
            issuer,
            AccountKind::AgencyHead,
            u,
            head_role,
            Some(AccessRight::Access),
            login,
        );
        let focal = Hire::draw(
            synth,
            issuer,
            AccountKind::Specialist,
            u,
            "tccb",
            Some(AccessRight::Update),
            login,
        );
        let (head_label, focal_label) = if first_of_kind {
            (
                format!("{} of {}", u.head_title, u.name),
                format!("focal point of {}", u.name),
            )
        } else {
            (String::new(), String::new())
        };
        if first_of_kind {
            summary.login_units.insert(u.code.clone());
        }
        note(summary, &head, &head_label);
        note(summary, &focal, &focal_label);
        hires.push(head);
        hires.push(focal);
        agencies.push(u.code.clone());
    }
    (hires, agencies)
}

/// A deputy director of the delegating department, with a signing key, and the
/// head's delegation (KT 8.1) for January and February.
async fn deputy(
    wf: &Arc<Workflows>,
    province: &Province,
    dept_admins: &BTreeMap<String, Actor>,
    staff: &Staff,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<Option<Deputy>> {
    let (Some(unit), Some(dept_admin)) = (
        province.unit(DELEGATING_DEPARTMENT),
        dept_admins.get(DELEGATING_DEPARTMENT),
    ) else {
        return Ok(None);
    };
    let mut h = Hire::draw(
        synth,
        dept_admin,
        AccountKind::Specialist,
        unit,
        "phogiamdoc",
        Some(AccessRight::Access),
        true,
    );
    h.key = Some(synth.key_seed());
    note(summary, &h, &format!("deputy director of {}", unit.name));
    let username = h.username.clone();
    let (deputy, signer) = hire(wf, h).await?;
    summary.keys += 1;
    let head = staff.of(DELEGATING_DEPARTMENT)?.head.actor.clone();
    let decision = synth.document("QĐ", &unit.abbr, &unit.name, day(2026, 1, 6));
    wf.account(
        &head,
        &head.account_id,
        AccountChange::Delegate {
            delegation_id: format!("uy-quyen-{}-2026-01", unit.slug),
            to_account: deputy.account_id.clone(),
            valid_from: day(2026, 1, 6),
            valid_until: day(2026, 2, 28),
            org_codes: Vec::new(),
            categories: Vec::new(),
            decision,
        },
    )
    .await
    .context("the head delegates signing to the deputy")?;
    summary.delegations += 1;
    Ok(signer.map(|signer| Deputy {
        agency: unit.code.clone(),
        username,
        signer,
    }))
}

impl Tale {
    /// Tue 6 Jan: staff accounts, their rights and keys, and a delegation.
    pub(super) async fn hire_staff(&mut self, admin: &Actor) -> anyhow::Result<Arc<Staff>> {
        self.story.set(day(2026, 1, 6))?;
        let staff = Arc::new(
            accounts(
                &self.wf,
                admin,
                &self.province,
                &mut self.synth,
                &mut self.summary,
            )
            .await?,
        );
        let summary = &self.summary;
        self.story.say(format!(
            "{} staff accounts with their rights ({} with a password issued and changed by the holder), {} signing keys; {}",
            summary.staff_accounts,
            summary.staff_passwords,
            summary.keys,
            staff.deputy.as_ref().map_or_else(
                || "no delegation".to_owned(),
                |d| format!(
                    "the head of {} delegates signing to {}",
                    d.agency, d.username
                )
            )
        ));
        Ok(staff)
    }
}

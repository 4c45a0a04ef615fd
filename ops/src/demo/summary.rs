//! The summary printed at the end of the demo.

use std::collections::BTreeMap;

use hoso_domain::dossier::EmploymentStatus;
use hoso_ledger::{EventStore, SqliteStore};
use hoso_schemas::Registry;
use hoso_schemas::pb::common::PersonnelCategory;

use super::PASSWORD_EVERY;
use super::sync::{LeftOut, SealedLine};
use crate::synth::{Province, Sector};

#[derive(Default)]
pub(super) struct Summary {
    pub(super) units: u64,
    pub(super) job_positions: u64,
    /// Agencies given an explicit approval assignment (DT 11 as data).
    pub(super) explicit_approvals: u64,
    pub(super) staff_accounts: u64,
    pub(super) staff_by_kind: BTreeMap<&'static str, u64>,
    pub(super) keys: u64,
    pub(super) delegations: u64,
    pub(super) staff_passwords: u64,
    pub(super) dossiers_opened: u64,
    pub(super) by_category: BTreeMap<&'static str, u64>,
    pub(super) renumbered: u64,
    pub(super) personal_accounts: u64,
    pub(super) personal_passwords: u64,
    pub(super) password_changes: u64,
    pub(super) declarations: u64,
    pub(super) returned: u64,
    pub(super) decisions: BTreeMap<&'static str, u64>,
    pub(super) approvals_first: u64,
    pub(super) approvals_change: u64,
    pub(super) approvals_arrival: u64,
    pub(super) approvals_by_deputy: u64,
    pub(super) deputy_refused: Option<String>,
    pub(super) approval_warnings: u64,
    pub(super) changes: u64,
    pub(super) moves: u64,
    pub(super) transfers_accepted: u64,
    pub(super) transfers_forwarded: u64,
    pub(super) transfers_rejected: u64,
    pub(super) imported: u64,
    pub(super) status_changes: BTreeMap<&'static str, u64>,
    pub(super) merger_dossiers: u64,
    pub(super) merger_accounts: u64,
    /// The national sync batches the director sealed.
    pub(super) sync_batches: Vec<SealedLine>,
    /// The change left out of February's batch, unapproved at the cut.
    pub(super) sync_left_out: Option<LeftOut>,
    /// Demo logins: role, login name, password.
    pub(super) logins: Vec<(String, String, String)>,
    /// The signing keys of the demo logins that have one: login name, ed25519
    /// seed. Written as key files for the portal's in-browser signature.
    pub(super) login_keys: Vec<(String, [u8; 32])>,
    /// The units whose head and focal point are among the demo logins: the
    /// personal login is drawn from one of them, so the printed logins can walk
    /// a declaration through review and approval together.
    pub(super) login_units: std::collections::BTreeSet<String>,
}

pub(super) fn category_name(c: PersonnelCategory) -> &'static str {
    match c {
        PersonnelCategory::CanBo => "cán bộ",
        PersonnelCategory::CongChuc => "công chức",
        PersonnelCategory::VienChuc => "viên chức",
        PersonnelCategory::NguoiLaoDong => "người lao động",
        PersonnelCategory::CommuneCadre => "cán bộ, công chức cấp xã",
        PersonnelCategory::Unspecified => "unspecified",
    }
}

pub(super) fn status_name(s: EmploymentStatus) -> &'static str {
    match s {
        EmploymentStatus::Retired => "retired",
        EmploymentStatus::Resigned => "resigned",
        EmploymentStatus::Deceased => "deceased",
        EmploymentStatus::Dismissed => "dismissed",
        EmploymentStatus::TransferredOut => "transferred out",
        EmploymentStatus::PartyBloc => "to the Party bloc",
        EmploymentStatus::Seconded => "seconded",
        EmploymentStatus::Active | EmploymentStatus::Unspecified => "active",
    }
}

/// Events by type, decoding every payload through the registry.
pub(super) async fn tally(store: &SqliteStore) -> anyhow::Result<BTreeMap<String, u64>> {
    let registry = Registry::standard();
    let mut by_type = BTreeMap::new();
    let mut from = store.first_position();
    loop {
        let page = store.read_all(from, 4_096).await?;
        let Some(last) = page.last() else { break };
        from = last.position + 1;
        for e in &page {
            hoso_ledger::typed::decode(&registry, e)?;
            *by_type.entry(e.event_type.clone()).or_default() += 1;
        }
    }
    Ok(by_type)
}

pub(super) fn row(label: &str, value: impl std::fmt::Display) {
    println!("  {:<32}{value}", format!("{label}:"));
}

impl Summary {
    pub(super) fn print(
        &self,
        province: &Province,
        tally: &BTreeMap<String, u64>,
        events: u64,
        elapsed: std::time::Duration,
    ) {
        println!("summary:");
        self.print_organisation_and_accounts(province);
        self.print_dossiers();
        self.print_approvals_and_movements();
        self.print_sync();
        println!("  events by type:");
        for (t, n) in tally {
            println!("    {t:<36} {n}");
        }
        let secs = elapsed.as_secs_f64().max(1e-9);
        println!(
            "  {events} events written through the command handlers in {secs:.2} s ({:.0} events/s, every append durable)",
            events as f64 / secs
        );
    }

    fn print_organisation_and_accounts(&self, province: &Province) {
        let sectors = |s| province.of_sector(s).len();
        row(
            "organisation units established",
            format!(
                "{} (1 provincial People's Committee, {} departments with {} divisions, {} public service units, {} communes; {} job positions)",
                self.units,
                sectors(Sector::Department),
                sectors(Sector::Division),
                sectors(Sector::School) + sectors(Sector::Health),
                sectors(Sector::Commune),
                self.job_positions
            ),
        );
        row(
            "accounts issued",
            self.staff_accounts + self.personal_accounts + self.imported,
        );
        for (kind, n) in &self.staff_by_kind {
            println!("    {kind:<36} {n}");
        }
        println!(
            "    {:<36} {}",
            "personal",
            self.personal_accounts + self.imported
        );
        row(
            "signing keys, delegations",
            format!("{}, {}", self.keys, self.delegations),
        );
        row(
            "passwords issued",
            format!(
                "{} ({} staff: administrators, department staff and one unit of each kind; {} personal: 1 in {PASSWORD_EVERY}, and a hospital's to print), all changed by their holders before acting; each issue and change costs argon2id hashes at production cost, so the other accounts act as an already-authenticated caller would",
                self.staff_passwords + self.personal_passwords,
                self.staff_passwords,
                self.personal_passwords
            ),
        );
    }

    fn print_sync(&self) {
        for b in &self.sync_batches {
            row(
                &format!("national sync batch {}", b.sequence),
                format!(
                    "{}: {} items, statement digest {}",
                    b.month, b.items, b.statement_digest
                ),
            );
        }
        if let Some(l) = &self.sync_left_out {
            row(
                "left out of the batches",
                format!(
                    "dossier {} at revision {}: a change declared after February's signatures, unapproved at the cut",
                    l.dossier, l.revision
                ),
            );
        }
    }

    fn print_dossiers(&self) {
        row("dossiers opened", self.dossiers_opened);
        for (category, n) in &self.by_category {
            println!("    {category:<36} {n}");
        }
        row(
            "dossiers imported",
            format!("{} (arrival from another province)", self.imported),
        );
        row(
            "identification numbers retaken",
            format!("{} refused as already taken, re-entered", self.renumbered),
        );
        row(
            "sections declared",
            format!(
                "{} ({} returned with reasons and declared again)",
                self.declarations, self.returned
            ),
        );
        row("decisions recorded", self.decisions.values().sum::<u64>());
        for (kind, n) in &self.decisions {
            println!("    {kind:<36} {n}");
        }
    }

    fn print_approvals_and_movements(&self) {
        row(
            "approvals signed",
            format!(
                "{} ({} new dossiers, {} changes, {} arrival; {} by a deputy under delegation; {} signed outside the window, accepted with a warning)",
                self.approvals_first + self.approvals_change + self.approvals_arrival,
                self.approvals_first,
                self.approvals_change,
                self.approvals_arrival,
                self.approvals_by_deputy,
                self.approval_warnings
            ),
        );
        if let Some(why) = &self.deputy_refused {
            row("deputy signature refused", why);
        }
        row(
            "changes after approval",
            format!("{} (each with its digitised proof)", self.changes),
        );
        row("moves between divisions", self.moves);
        row(
            "transfers between agencies",
            format!(
                "{} accepted and forwarded, {} rejected",
                self.transfers_forwarded, self.transfers_rejected
            ),
        );
        row(
            "status changes",
            self.status_changes
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        row(
            "merger",
            format!(
                "{} dossiers and {} accounts moved to the successor",
                self.merger_dossiers, self.merger_accounts
            ),
        );
    }
}

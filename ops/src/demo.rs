//! `hoso demo`: a synthetic province run through the real command handlers.
//!
//! Every event is written by [`Workflows`] over the real [`SqliteStore`] — nothing
//! is appended directly — so the demo exercises the same authorisation, deciders,
//! reservations, deadlines and approval rules as the API will. A [`ManualClock`]
//! (shared by the handlers and the store) walks through January and February 2026:
//!
//! 1. Mon 5 Jan: the Sở Nội vụ system administrator is bootstrapped and changes the
//!    issued password (BT 4.4); the organisation tree is established by decision,
//!    with staffing quotas, job positions and, where the profile's authority rules
//!    name no approver for a unit, an explicit approval assignment (DT 11 as data).
//! 2. Tue 6 Jan: agency administrators, heads and focal points get accounts and
//!    rights, heads register ed25519 signing keys, and one head delegates signing to
//!    a deputy. The administrators, the departments' staff and one unit of each kind
//!    get passwords, which their holders change before acting (the demo logins).
//! 3. Wed 7 Jan: every dossier is opened on its recruitment decision and the person's
//!    personal account issued, one in [`PASSWORD_EVERY`] with a password (a duplicate
//!    identification number is refused by the handler and re-entered).
//! 4. Thu 8 Jan: the people declare their résumé sections. Mon 12 Jan: focal points
//!    return a few, verify and lock. Tue 13 Jan: rank, salary, allowance, award,
//!    evaluation and discipline decisions are recorded with their scans.
//! 5. In each level's approval window of January the heads (and the deputy, where the
//!    profile lets heads delegate) sign.
//! 6. February: changes with proof, moves between divisions, transfers (accepted and
//!    forwarded, or rejected), an arrival from another province, retirements,
//!    resignations and a death, then a school merger; the changes are signed in the
//!    February window.
//!
//! Then the log is verified end to end and a summary printed.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use futures::StreamExt;
use hoso_commands::credentials::{CREDENTIALS_FILE, CredentialStore, PasswordContext};
use hoso_commands::workflows::{
    AccessRule, Actor, ApprovalSignature, CommandError, IssueAccount, OpenDossier, Receipt,
    Refusal, ScopeRule, Workflows,
};
use hoso_domain::account::{self, AccountChange, AccountKind};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::{Clock, ManualClock};
use hoso_domain::dossier::{
    AllowanceKind, DisciplineBody, DisciplineForm, EmploymentStatus, EvaluationGrade,
    RankChangeKind, StateDecision, TransferKind,
};
use hoso_domain::org::{
    ApprovalAuthority, JobPosition, JobPositionGroup, OrgChange, OrgCommand, OrgUnitKind,
    StaffingQuota,
};
use hoso_domain::profile::{ApprovalLevel, OrgKind, Profile};
use hoso_ledger::sqlite::DB_FILE;
use hoso_ledger::{EventStore, SourceDocument, SqliteStore, StoreOptions};
use hoso_schemas::Registry;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::pb::dossier::FieldEntry;
use hoso_schemas::pb::dossier::allowance_changed::Amount;

use crate::SETTINGS_FILE;
use crate::progress::Progress;
use crate::serve::field_key_file;
use crate::synth::{Person, Province, Sector, Synth, Unit};
use hoso_commands::sealing::Keyring;

/// Commands in flight at once, like officers working in parallel.
const CONCURRENCY: usize = 48;
/// Lower-secondary schools in the synthetic province.
const SCHOOLS: usize = 16;
/// Communes in the synthetic province.
const COMMUNES: usize = 24;
/// One person in this many gets a password (issued by the focal point, then changed
/// by the holder before declaring, BT 4.4). Each costs three argon2id computations at
/// the credential table's production parameters (19 MiB, 2 passes), which would
/// dominate the demo if every personal account had one; the others act through
/// their accounts as an already-authenticated caller would.
const PASSWORD_EVERY: usize = 20;
/// Fewest people the story needs (moves, transfers, a merger, status changes).
const MIN_PEOPLE: usize = 10;
/// The profile used when the data directory names none.
const DEFAULT_PROFILE: &str = "national";
/// The department whose head delegates signing to a deputy (Sở Y tế).
const DELEGATING_DEPARTMENT: &str = "000.04.00.H33";
/// Issuer of the province's own decisions.
const PROVINCE_ISSUER: &str = "Ủy ban nhân dân tỉnh Hưng Yên";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Builds the province through the workflows, verifies it and prints a summary.
pub async fn run(
    data: Option<PathBuf>,
    people: usize,
    seed: u64,
    serve: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        people >= MIN_PEOPLE,
        "the demo's story needs at least {MIN_PEOPLE} people"
    );
    let dir = DataDir::prepare(data)?;
    let profile = Profile::load(&dir.profile)?;
    let clock = Arc::new(ManualClock::new(ten_am(day(2026, 1, 5))?));
    let story = Story {
        clock: clock.clone(),
        last: std::cell::Cell::new(Instant::now()),
    };
    let options = StoreOptions {
        clock: hoso_commands::ledger_time(clock.clone()),
    };
    let store = if dir.existing_store {
        let store = SqliteStore::open(&dir.path, options)?;
        anyhow::ensure!(
            store.head_position().await?.is_none(),
            "{} already holds a ledger with events; give the demo a new directory (or one fresh from `hoso init`)",
            dir.path.display()
        );
        store
    } else {
        SqliteStore::create(&dir.path, options)?
    };
    let settings = dir.path.join(SETTINGS_FILE);
    if !settings.exists() {
        let text = format!(
            "# Written by `hoso demo`. The province profile whose rules this ledger enforces.\nprofile = \"{}\"\n",
            profile.name()
        );
        std::fs::write(&settings, text).with_context(|| format!("write {}", settings.display()))?;
    }
    let credentials = CredentialStore::open(&dir.path.join(CREDENTIALS_FILE))?;
    println!(
        "hoso demo: a synthetic province of {people} public servants under the {} profile, ledger at {}",
        profile.name(),
        store.path().display()
    );
    let wf = Arc::new(Workflows::new(
        Arc::new(store.clone()),
        profile,
        WorkingCalendar::official()?,
        clock.clone(),
        credentials,
        Arc::new(
            Keyring::open_or_create(&dir.path, field_key_file().as_deref())
                .context("field keys")?,
        ),
    ));

    let started = Instant::now();
    let mut synth = Synth::new(seed);
    let province = synth.province(SCHOOLS, COMMUNES);
    let persons = generate_people(&mut synth, &province, people);
    let mut summary = Summary::default();

    // ---- Mon 5 Jan: the administrator and the organisation ----------------------------
    let admin = bootstrap(&wf, &mut synth, &mut summary).await?;
    let mut authority = Authority::new(&province);
    organisation(
        &wf,
        &admin,
        &province,
        &persons,
        &mut authority,
        &mut synth,
        &mut summary,
    )
    .await?;
    story.say(format!(
        "the system administrator changes the issued password; {} units established by decision, with staffing quotas for 2026, {} job positions and {} explicit approval assignments",
        summary.units,
        summary.job_positions,
        authority.explicit.len()
    ));

    // ---- Tue 6 Jan: staff accounts ------------------------------------------------------
    story.set(day(2026, 1, 6))?;
    let staff = Arc::new(accounts(&wf, &admin, &province, &mut synth, &mut summary).await?);
    story.say(format!(
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

    // ---- Wed 7 Jan: dossiers and personal accounts ----------------------------------------
    story.set(day(2026, 1, 7))?;
    let members = recruit_all(&wf, &staff, &province, persons, &mut synth, &mut summary).await?;
    story.say(format!(
        "{} dossiers opened on their recruitment decisions, {} personal accounts, {} passwords issued; {} identification numbers refused as taken and re-entered",
        summary.dossiers_opened,
        summary.personal_accounts,
        summary.personal_passwords,
        summary.renumbered
    ));
    if let Some(m) = members.iter().find(|m| m.passwords.is_some())
        && let Some((_, chosen)) = &m.passwords
    {
        summary.logins.push((
            format!("personal account of {}", m.person.full_name),
            Synth::username(&m.person.full_name, m.person.index),
            chosen.clone(),
        ));
    }
    let plans = plan_all(&mut synth, &province, &members);
    let ctx = Arc::new(People {
        wf: wf.clone(),
        staff: staff.clone(),
        members,
        plans,
    });
    let everyone: Vec<usize> = (0..ctx.members.len()).collect();

    // ---- Thu 8 Jan: declarations ----------------------------------------------------------
    story.set(day(2026, 1, 8))?;
    let declared = each("declaring", &ctx, everyone.clone(), declare).await?;
    summary.declarations += declared.iter().sum::<u64>();
    summary.password_changes += summary.personal_passwords;
    story.say(format!(
        "{} sections declared by the people through their personal accounts ({} changed their issued password first)",
        summary.declarations, summary.personal_passwords
    ));

    // ---- Mon 12 Jan: review -----------------------------------------------------------------
    story.set(day(2026, 1, 12))?;
    let reviewed = each("reviewing", &ctx, everyone.clone(), review).await?;
    summary.returned = reviewed.iter().filter(|r| **r).count() as u64;
    summary.declarations += summary.returned;
    story.say(format!(
        "focal points return {} identity sections with reasons; after the corrections all {} declarations are verified and locked",
        summary.returned,
        ctx.members.len()
    ));

    // ---- Tue 13 Jan: decisions of the state ------------------------------------------------
    story.set(day(2026, 1, 13))?;
    for k in each("decisions", &ctx, everyone.clone(), decide)
        .await?
        .into_iter()
        .flatten()
    {
        *summary.decisions.entry(k).or_default() += 1;
    }
    story.say(format!(
        "{} decisions of the state recorded with their scanned copies",
        summary.decisions.values().sum::<u64>()
    ));

    // ---- the January approval windows ---------------------------------------------------------
    approve_in_windows(&story, &ctx, &authority, everyone, true, &mut summary).await?;

    // ---- February -------------------------------------------------------------------------------
    story.set(day(2026, 2, 2))?;
    let roles = Roles::choose(&ctx, &province, &mut synth);
    each("changes", &ctx, roles.changes.clone(), declare_change).await?;
    summary.changes = roles.changes.len() as u64;
    each("moves", &ctx, roles.moves.clone(), move_within_agency).await?;
    summary.moves = roles.moves.len() as u64;
    let transfers = each("transfers", &ctx, roles.transfers.clone(), initiate).await?;
    let arrival = arrive(&ctx, &admin, &province, &mut synth, people).await?;
    summary.imported = 1;
    story.say(format!(
        "{} changes declared with their proof, {} moves between divisions, {} transfers sent with the scanned decision, 1 record pulled from the national database for an arrival",
        summary.changes,
        summary.moves,
        transfers.len()
    ));

    story.set(day(2026, 2, 3))?;
    let (rejected, accepted): (Vec<Transfer>, Vec<Transfer>) = transfers
        .into_iter()
        .partition(|t| roles.rejected == Some(t.member));
    summary.transfers_rejected = rejected.len() as u64;
    summary.transfers_accepted = accepted.len() as u64;
    each("rejecting", &ctx, rejected, reject).await?;
    each("accepting", &ctx, accepted.clone(), accept).await?;
    each("reviewing", &ctx, roles.changes.clone(), verify_and_lock).await?;
    let warning = approve_arrival(&ctx, &authority, &arrival, &mut summary).await?;
    story.say(format!(
        "{} transfers accepted by the receiving agencies, {} rejected; the changes verified and locked; the arrival signed at once{}",
        summary.transfers_accepted,
        summary.transfers_rejected,
        warning.map_or_else(String::new, |w| format!(", with a warning: {w}"))
    ));

    story.set(day(2026, 2, 4))?;
    each("forwarding", &ctx, accepted, forward).await?;
    summary.transfers_forwarded = summary.transfers_accepted;
    for l in &roles.leaving {
        *summary.status_changes.entry(status_name(l.1)).or_default() += 1;
    }
    each("departures", &ctx, roles.leaving.clone(), depart).await?;
    story.say(format!(
        "transferred dossiers forwarded to divisions of the receivers; {} people leave: dossiers archived, personal accounts locked",
        roles.leaving.len()
    ));

    story.set(day(2026, 2, 9))?;
    merge(
        &ctx,
        &admin,
        &roles,
        &mut authority,
        &mut synth,
        &mut summary,
    )
    .await?;
    story.say(format!(
        "{} merges into {}: {} dossiers and {} accounts moved to the successor, rights over the old unit revoked",
        roles.merged, roles.successor, summary.merger_dossiers, summary.merger_accounts
    ));

    approve_in_windows(
        &story,
        &ctx,
        &authority,
        roles.changes.clone(),
        false,
        &mut summary,
    )
    .await?;
    let elapsed = started.elapsed();

    // ---- verification and summary -----------------------------------------------------------
    let tally = tally(&store).await?;
    let report = store
        .verify_all(&|_| ())
        .await
        .context("verifying the demo ledger")?;
    summary.print(&province, &tally, report.events, elapsed);
    println!(
        "  verify: {} events in {} streams, every hash chain intact, every payload decodes",
        report.events, report.streams
    );
    print_reports(&dir.path, &store, &wf, province.root()).await?;
    drop(ctx);
    drop(wf);
    if let Some(addr) = serve {
        drop(store);
        println!("demo logins (password changed by the holder after issue, BT 4.4):");
        for (role, username, password) in &summary.logins {
            println!("    {username:<20} {password:<20} {role}");
        }
        // The temporary directory lives as long as the server.
        let served = crate::serve::run(&dir.path, addr).await;
        drop(dir.tmp);
        return served;
    }
    match dir.tmp {
        Some(t) => {
            drop(store);
            drop(t);
            println!(
                "the data directory was temporary and is removed; run `hoso demo --data DIR` to keep it"
            );
        }
        None => {
            println!("demo logins (password changed by the holder after issue, BT 4.4):");
            for (role, username, password) in &summary.logins {
                println!("    {username:<20} {password:<20} {role}");
            }
            println!(
                "kept in {}; check it with `hoso verify --data {}`",
                dir.path.display(),
                dir.path.display()
            );
        }
    }
    Ok(())
}

// ===== the read side ============================================================================

/// Projects the demo ledger into its read model and prints the province's
/// annual headcount report (BT 16.5, HY 14.1) and SLA report of obligations.
async fn print_reports(
    data: &Path,
    store: &SqliteStore,
    wf: &Workflows,
    root: &str,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (model, _) = hoso_projections::ReadModel::open(data, wf.clock().clone())
        .context("opening the read model")?;
    let events = model
        .catch_up(store)
        .await
        .context("projecting the demo ledger")?;
    println!(
        "read model: {events} events projected in {:.1} s into {}",
        started.elapsed().as_secs_f64(),
        data.join(hoso_projections::READ_MODEL_FILE).display()
    );
    let today = wf.today();
    let annual = model.annual_report(root, today.year())?;
    println!(
        "annual headcount report {} ({root} and below, BT 16.5, HY 14.1):",
        today.year()
    );
    row("active people", annual.total);
    for c in &annual.by_category {
        println!("    {:<36} {}", c.key, c.count);
    }
    let top = |title: &str, counts: &[hoso_projections::reports::Count]| {
        let mut sorted: Vec<_> = counts.iter().collect();
        sorted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        println!("  {title} ({} kinds, largest first):", sorted.len());
        for c in sorted.iter().take(5) {
            println!(
                "    {:<14} {:<40} {}",
                c.key,
                c.name.as_deref().unwrap_or(""),
                c.count
            );
        }
    };
    // The report must agree with a brute-force count taken on the write
    // side (the handlers' own index of every dossier), category by category.
    let mut brute: BTreeMap<String, u64> = BTreeMap::new();
    for d in wf.dossier_summaries().await?.values() {
        if !hoso_domain::dossier::is_archived_status(d.status) {
            *brute
                .entry(d.category.as_str_name().to_owned())
                .or_default() += 1;
        }
    }
    let reported: BTreeMap<String, u64> = annual
        .by_category
        .iter()
        .map(|c| (c.key.clone(), c.count))
        .collect();
    anyhow::ensure!(
        reported == brute,
        "annual report {reported:?} disagrees with a brute-force count {brute:?}"
    );
    println!(
        "  (totals match a brute-force count of the {} active dossiers on the write side)",
        brute.values().sum::<u64>()
    );
    top("by civil-service rank", &annual.by_rank);
    top("by professional title", &annual.by_title);
    top("by job position", &annual.by_job_position);
    let sla = model.sla_report(today, wf.calendar())?;
    let sum =
        |f: fn(&hoso_projections::reports::SlaLine) -> u64| sla.units.iter().map(f).sum::<u64>();
    println!(
        "SLA report on {} ({} units with obligations; due dates in the profile's working days):",
        sla.on,
        sla.units.len()
    );
    row("open, not yet due", sum(|l| l.open));
    row("open and overdue", sum(|l| l.overdue));
    row("closed on time", sum(|l| l.closed_on_time));
    row("closed late", sum(|l| l.closed_late));
    for o in sla
        .open
        .iter()
        .filter(|o| o.overdue_working_days > 0)
        .take(5)
    {
        println!(
            "    overdue {:>3} working days: {} ({}) due {} on dossier {}",
            o.overdue_working_days, o.obligation, o.citation, o.due, o.dossier_id
        );
    }
    Ok(())
}

// ===== the data directory =======================================================================

/// Where the demo writes: a temporary directory, or the one given (kept).
struct DataDir {
    path: PathBuf,
    tmp: Option<tempfile::TempDir>,
    profile: String,
    existing_store: bool,
}

/// The part of `hoso.toml` the demo reads.
#[derive(serde::Deserialize)]
struct Settings {
    profile: Option<String>,
}

impl DataDir {
    fn prepare(data: Option<PathBuf>) -> anyhow::Result<Self> {
        match data {
            None => {
                let t = tempfile::Builder::new()
                    .prefix("hoso-demo-")
                    .tempdir()
                    .context("create a temporary directory")?;
                Ok(Self {
                    path: t.path().to_owned(),
                    tmp: Some(t),
                    profile: DEFAULT_PROFILE.to_owned(),
                    existing_store: false,
                })
            }
            Some(d) => {
                let profile = read_profile(&d.join(SETTINGS_FILE))?
                    .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
                Ok(Self {
                    existing_store: d.join(DB_FILE).exists(),
                    path: d,
                    tmp: None,
                    profile,
                })
            }
        }
    }
}

/// The profile named by a data directory's `hoso.toml`, if it has one.
fn read_profile(path: &Path) -> anyhow::Result<Option<String>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let settings: Settings =
        toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    Ok(settings.profile)
}

// ===== the story's clock ==========================================================================

/// The clock the handlers and the store read, moved day by day as the story goes.
struct Story {
    clock: Arc<ManualClock>,
    /// When the last line was said, to show how long each step took.
    last: std::cell::Cell<Instant>,
}

/// 10:00 in Hà Nội on `d`.
fn ten_am(d: NaiveDate) -> anyhow::Result<chrono::DateTime<Utc>> {
    d.and_hms_opt(3, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t))
        .context("date out of range")
}

impl Story {
    /// Moves the clock to 10:00 in Hà Nội on `d`; the story never goes back in time.
    fn set(&self, d: NaiveDate) -> anyhow::Result<()> {
        let at = ten_am(d)?;
        let now = self.clock.now();
        anyhow::ensure!(
            at >= now,
            "the demo's clock would go back from {now} to {at}"
        );
        self.clock.set(at);
        Ok(())
    }

    fn today(&self) -> NaiveDate {
        hoso_domain::calendar::date_in_vietnam(self.clock.now())
    }

    fn say(&self, what: String) {
        println!(
            "  {}  {what} [{:.1} s]",
            self.today().format("%a %d/%m/%Y"),
            self.last.get().elapsed().as_secs_f64()
        );
        self.last.set(Instant::now());
    }
}

// ===== running many commands at once ==============================================================

/// Runs `f` over `items`, [`CONCURRENCY`] at a time on the runtime's threads, with
/// progress; results in the order of `items`. The first failure ends the run.
async fn each<C, T, R, F, Fut>(
    what: &str,
    ctx: &Arc<C>,
    items: Vec<T>,
    f: F,
) -> anyhow::Result<Vec<R>>
where
    C: Send + Sync + 'static,
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Arc<C>, T) -> Fut,
    Fut: Future<Output = anyhow::Result<R>> + Send + 'static,
{
    let progress = Progress::new(what, items.len() as u64);
    let mut out = Vec::with_capacity(items.len());
    let mut tasks =
        futures::stream::iter(items.into_iter().map(|t| tokio::spawn(f(ctx.clone(), t))))
            .buffered(CONCURRENCY);
    while let Some(joined) = tasks.next().await {
        out.push(joined.with_context(|| format!("a {what} task panicked"))??);
        progress.set(out.len() as u64);
    }
    progress.finish();
    Ok(out)
}

/// Runs a command that hashes a password to completion on this thread. The
/// credential table computes argon2id (tens of milliseconds of CPU) inside the async
/// handler; `block_in_place` tells the runtime, which hands the other tasks queued
/// on this worker to another one instead of letting them wait behind the hash.
fn hashing<F: Future>(command: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(command))
}

// ===== the people of the province =================================================================

/// Generates the people: the first few are seated where the story needs someone
/// (a move, transfers, the merged school), the rest drawn by weight.
fn generate_people(synth: &mut Synth, province: &Province, n: usize) -> Vec<Person> {
    let dept = |i: usize| format!("000.{i:02}.00.H33");
    let seats = [
        format!("001.{:02}.00.H33", 2),
        format!("001.{:02}.00.H33", 5),
        format!("002.{:02}.00.H33", 6),
        "101.03.00.H33".to_owned(),
        "101.03.00.H33".to_owned(),
        format!("002.{:02}.00.H33", 7),
        dept(8),
        // In the delegating department, so the deputy has a dossier to sign.
        format!("003.{:02}.00.H33", 4),
        format!("002.{:02}.00.H33", 4),
    ];
    (0..n)
        .map(|i| {
            let seat = seats.get(i).map(String::as_str);
            synth.person(i, province, seat)
        })
        .collect()
}

/// A head and the key it signs with.
#[derive(Clone)]
struct Signer {
    actor: Actor,
    key_id: String,
    key: SigningKey,
}

/// The accounts of one agency.
#[derive(Clone)]
struct AgencyStaff {
    head: Signer,
    focal: Actor,
}

/// A deputy holding a head's delegation.
struct Deputy {
    agency: String,
    username: String,
    signer: Signer,
}

/// The staff accounts of the province.
struct Staff {
    agencies: BTreeMap<String, AgencyStaff>,
    deputy: Option<Deputy>,
}

impl Staff {
    fn of(&self, agency: &str) -> anyhow::Result<&AgencyStaff> {
        self.agencies
            .get(agency)
            .with_context(|| format!("no staff accounts for {agency}"))
    }
}

/// A person whose dossier and personal account exist.
struct Member {
    person: Person,
    dossier: String,
    account: Actor,
    passwords: Option<(String, String)>,
}

/// What a person does after recruitment, drawn in advance so the run is
/// deterministic whatever order the commands complete in.
struct Plan {
    sections: Vec<(&'static str, Vec<FieldEntry>)>,
    /// The focal point returns the identity section once (item 7 left out).
    returned: bool,
    decisions: Vec<(&'static str, StateDecision, NaiveDate, SourceDocument)>,
    change: (&'static str, Vec<FieldEntry>, [u8; 32]),
}

/// Everything the per-person phases share.
struct People {
    wf: Arc<Workflows>,
    staff: Arc<Staff>,
    members: Vec<Member>,
    plans: Vec<Plan>,
}

impl People {
    fn focal(&self, i: usize) -> anyhow::Result<&Actor> {
        Ok(&self.staff.of(&self.members[i].person.managing_unit)?.focal)
    }
}

// ===== approval authority (DT 11) ==================================================================

/// Who signs whose dossiers: the nearest unit, from the managing unit up, whose head
/// the profile's authority rules (or an explicit assignment) make an approver.
struct Authority {
    units: BTreeMap<String, (OrgUnitKind, Option<String>)>,
    explicit: BTreeMap<String, Vec<PersonnelCategory>>,
    ceased: BTreeSet<String>,
}

impl Authority {
    fn new(province: &Province) -> Self {
        Self {
            units: province
                .units
                .iter()
                .map(|u| (u.code.clone(), (u.kind, u.parent.clone())))
                .collect(),
            explicit: BTreeMap::new(),
            ceased: BTreeSet::new(),
        }
    }

    /// The approval level of the head of `code` for `category`, if an approver.
    fn level_of(
        &self,
        profile: &Profile,
        code: &str,
        category: PersonnelCategory,
    ) -> Option<ApprovalLevel> {
        let (kind, parent) = self.units.get(code)?;
        let kind = OrgKind::of_unit_kind(*kind)?;
        let parent_kind = parent
            .as_ref()
            .and_then(|p| self.units.get(p))
            .and_then(|(k, _)| OrgKind::of_unit_kind(*k));
        let rule = profile
            .authority_for(kind, parent_kind, account::profile_category(category)?)
            .map(|r| r.level)
            .min();
        if self
            .explicit
            .get(code)
            .is_some_and(|cats| cats.contains(&category))
        {
            return Some(rule.unwrap_or(ApprovalLevel::UnitHead));
        }
        rule
    }

    /// The unit whose head signs dossiers of `category` managed by `managing`.
    fn approver(
        &self,
        profile: &Profile,
        managing: &str,
        category: PersonnelCategory,
        has_head: impl Fn(&str) -> bool,
    ) -> Option<(String, ApprovalLevel)> {
        let mut current = Some(managing.to_owned());
        while let Some(code) = current {
            if !self.ceased.contains(&code)
                && has_head(&code)
                && let Some(level) = self.level_of(profile, &code, category)
            {
                return Some((code, level));
            }
            current = self.units.get(&code).and_then(|(_, p)| p.clone());
        }
        None
    }
}

/// The categories an agency of this sector may employ.
fn categories_of(sector: Sector) -> &'static [PersonnelCategory] {
    match sector {
        Sector::School | Sector::Health => {
            &[PersonnelCategory::VienChuc, PersonnelCategory::NguoiLaoDong]
        }
        Sector::Commune => &[
            PersonnelCategory::CommuneCadre,
            PersonnelCategory::NguoiLaoDong,
        ],
        _ => &[PersonnelCategory::CongChuc, PersonnelCategory::NguoiLaoDong],
    }
}

// ===== 5 January: the administrator and the organisation ===========================================

#[derive(Default)]
struct Summary {
    units: u64,
    job_positions: u64,
    staff_accounts: u64,
    staff_by_kind: BTreeMap<&'static str, u64>,
    keys: u64,
    delegations: u64,
    staff_passwords: u64,
    dossiers_opened: u64,
    by_category: BTreeMap<&'static str, u64>,
    renumbered: u64,
    personal_accounts: u64,
    personal_passwords: u64,
    password_changes: u64,
    declarations: u64,
    returned: u64,
    decisions: BTreeMap<&'static str, u64>,
    approvals_first: u64,
    approvals_change: u64,
    approvals_arrival: u64,
    approvals_by_deputy: u64,
    deputy_refused: Option<String>,
    approval_warnings: u64,
    changes: u64,
    moves: u64,
    transfers_accepted: u64,
    transfers_forwarded: u64,
    transfers_rejected: u64,
    imported: u64,
    status_changes: BTreeMap<&'static str, u64>,
    merger_dossiers: u64,
    merger_accounts: u64,
    /// Demo logins: role, login name, password.
    logins: Vec<(String, String, String)>,
}

async fn bootstrap(
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
async fn organisation(
    wf: &Arc<Workflows>,
    admin: &Actor,
    province: &Province,
    persons: &[Person],
    authority: &mut Authority,
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
        let counts = headcount.get(u.code.as_str());
        let count = |c: PersonnelCategory| counts.and_then(|m| m.get(&c)).copied().unwrap_or(0);
        let margin = |n: u32| n + n / 10 + 2;
        let quota = StaffingQuota {
            civil_servants: margin(
                count(PersonnelCategory::CongChuc) + count(PersonnelCategory::CommuneCadre),
            ),
            public_employees: margin(count(PersonnelCategory::VienChuc)),
            contract_workers: margin(count(PersonnelCategory::NguoiLaoDong)),
        };
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
        let uncovered: Vec<PersonnelCategory> = categories_of(u.sector)
            .iter()
            .copied()
            .filter(|c| {
                authority
                    .approver(wf.profile(), &u.code, *c, |code| {
                        province.unit(code).is_some_and(Unit::is_agency)
                    })
                    .is_none()
            })
            .collect();
        if !uncovered.is_empty() {
            commands.push(OrgCommand {
                code: u.code.clone(),
                decision: synth.document("QĐ", "UBND", PROVINCE_ISSUER, day(2025, 12, 30)),
                change: OrgChange::AssignApprovalAuthority {
                    authority: ApprovalAuthority {
                        categories: uncovered.clone(),
                        subordinates: vec![u.code.clone()],
                    },
                    effective: day(2026, 1, 1),
                },
            });
            authority.explicit.insert(u.code.clone(), uncovered);
        }
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

async fn org_command(
    wf: Arc<Workflows>,
    (actor, command): (Actor, OrgCommand),
) -> anyhow::Result<()> {
    let what = format!("{:?} for {}", command.change, command.code);
    wf.org(&actor, command)
        .await
        .with_context(|| format!("org decision {what}"))?;
    Ok(())
}

fn job_positions(u: &Unit, quota: StaffingQuota) -> Vec<JobPosition> {
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
    let mut out = vec![leader];
    out.extend(professional);
    out.push(accountant);
    out
}

// ===== 6 January: staff accounts =====================================================================

/// A staff account to issue: who, where, the right to grant, the passwords and the key.
struct Hire {
    issuer: Actor,
    kind: AccountKind,
    username: String,
    org: String,
    display_name: String,
    right: Option<AccessRight>,
    decision: SourceDocument,
    /// The password issued and the one the holder chooses, for the accounts that
    /// get one.
    passwords: Option<(String, String)>,
    key: Option<[u8; 32]>,
}

impl Hire {
    fn draw(
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
async fn hire(wf: &Workflows, h: Hire) -> anyhow::Result<(Actor, Option<Signer>)> {
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

async fn hire_task(wf: Arc<Workflows>, h: Hire) -> anyhow::Result<(Actor, Option<Signer>)> {
    hire(&wf, h).await
}

fn kind_name(k: AccountKind) -> &'static str {
    match k {
        AccountKind::SystemAdmin => "system administrator",
        AccountKind::AgencyAdmin => "agency administrators",
        AccountKind::AgencyHead => "agency heads",
        AccountKind::Specialist => "specialists (focal points, deputy)",
        AccountKind::Personal => "personal",
        AccountKind::Unspecified => "unspecified",
    }
}

/// Counts a staff account in the summary, and remembers its login if it has a password.
fn note(summary: &mut Summary, h: &Hire, role: &str) {
    summary.staff_accounts += 1;
    *summary.staff_by_kind.entry(kind_name(h.kind)).or_default() += 1;
    if let Some((_, chosen)) = &h.passwords {
        summary.staff_passwords += 1;
        summary.password_changes += 1;
        if !role.is_empty() {
            summary
                .logins
                .push((role.to_owned(), h.username.clone(), chosen.clone()));
        }
    }
}

async fn accounts(
    wf: &Arc<Workflows>,
    admin: &Actor,
    province: &Province,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<Staff> {
    // Each department's administrator, issued by Sở Nội vụ with admin right over it.
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
    let dept_admins: BTreeMap<String, Actor> = departments
        .iter()
        .map(|u| u.code.clone())
        .zip(
            each("administrators", wf, hires, hire_task)
                .await?
                .into_iter()
                .map(|(a, _)| a),
        )
        .collect();

    // Heads and focal points: a department's administrator hires for the department
    // and its public service units; Sở Nội vụ for the communes. Those of the
    // departments and of the first unit of each other kind get passwords (the demo
    // logins); the others act as an already-authenticated caller would, which keeps
    // the demo from spending most of its time in argon2id.
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
        note(summary, &head, &head_label);
        note(summary, &focal, &focal_label);
        hires.push(head);
        hires.push(focal);
        agencies.push(u.code.clone());
    }
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

    // A deputy director of the delegating department, with a signing key, and the
    // head's delegation (KT 8.1) for January and February.
    if let (Some(unit), Some(dept_admin)) = (
        province.unit(DELEGATING_DEPARTMENT),
        dept_admins.get(DELEGATING_DEPARTMENT),
    ) {
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
        staff.deputy = signer.map(|signer| Deputy {
            agency: unit.code.clone(),
            username,
            signer,
        });
    }
    Ok(staff)
}

// ===== 7 January: dossiers and personal accounts ====================================================

/// A dossier to open and the personal account to issue with it.
struct Recruit {
    person: Person,
    username: String,
    passwords: Option<(String, String)>,
    decision: SourceDocument,
}

enum Opened {
    Done(Box<Member>),
    /// The handler refused the identification number as taken.
    Taken(Box<Recruit>),
}

type Hr = (Arc<Workflows>, Arc<Staff>);

async fn recruit(hr: Arc<Hr>, r: Recruit) -> anyhow::Result<Opened> {
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

async fn recruit_all(
    wf: &Arc<Workflows>,
    staff: &Arc<Staff>,
    province: &Province,
    persons: Vec<Person>,
    synth: &mut Synth,
    summary: &mut Summary,
) -> anyhow::Result<Vec<Member>> {
    let mut first = Vec::new();
    let mut typos = Vec::new();
    for p in persons {
        let username = Synth::username(&p.full_name, p.index);
        let passwords = (p.index % PASSWORD_EVERY == 0).then(|| {
            let ctx = PasswordContext {
                username: &username,
                full_name: &p.full_name,
                birth_date: Some(p.born),
            };
            (synth.password(&ctx), synth.password(&ctx))
        });
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

/// The abbreviation and name of the unit that issues an agency's decisions.
fn issuer_of(province: &Province, code: &str) -> (String, String) {
    province.unit(code).map_or_else(
        || ("UBND".to_owned(), PROVINCE_ISSUER.to_owned()),
        |u| (u.abbr.clone(), u.name.clone()),
    )
}

fn plan_all(synth: &mut Synth, province: &Province, members: &[Member]) -> Vec<Plan> {
    members
        .iter()
        .map(|m| {
            let p = &m.person;
            let (abbr, issuer) = issuer_of(province, &p.managing_unit);
            let doc = |synth: &mut Synth, on: NaiveDate| synth.document("QĐ", &abbr, &issuer, on);
            let sections = synth.sections(p, &issuer);
            let returned = synth.rng_bool(0.05);
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
            let preference = match p.sector {
                Sector::School => Some(3_000),
                Sector::Health => Some(4_000),
                _ => None,
            };
            if let Some(percent) = preference.filter(|_| p.category == PersonnelCategory::VienChuc)
            {
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
            let change = synth.change(p);
            Plan {
                sections,
                returned,
                decisions,
                change,
            }
        })
        .collect()
}

// ===== January: declaring, reviewing, decisions ====================================================

/// The person changes any issued password (BT 4.4), then declares every section;
/// returns how many were declared.
async fn declare(ctx: Arc<People>, i: usize) -> anyhow::Result<u64> {
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
            .declare(&m.account, &m.dossier, code, fields, Vec::new())
            .await
            .with_context(|| format!("{} declares {code}", m.person.full_name))?;
    }
    Ok(plan.sections.len() as u64)
}

/// The focal point returns an incomplete identity section with its reason (HY 15.6)
/// and the person completes it; then the focal point verifies against the papers
/// and locks (HY 10.3). Returns whether a section was returned.
async fn review(ctx: Arc<People>, i: usize) -> anyhow::Result<bool> {
    let m = &ctx.members[i];
    let plan = &ctx.plans[i];
    let focal = ctx.focal(i)?;
    if plan.returned {
        ctx.wf
            .return_declaration(
                focal,
                &m.dossier,
                vec!["identity".to_owned()],
                vec!["Thiếu mục 7 (Tôn giáo); đề nghị khai bổ sung".to_owned()],
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
            .declare(&m.account, &m.dossier, "identity", identity, Vec::new())
            .await
            .with_context(|| format!("{} declares the identity again", m.person.full_name))?;
    }
    verify_and_lock(ctx.clone(), i).await?;
    Ok(plan.returned)
}

async fn verify_and_lock(ctx: Arc<People>, i: usize) -> anyhow::Result<()> {
    let m = &ctx.members[i];
    let focal = ctx.focal(i)?;
    ctx.wf
        .verify_declaration(focal, &m.dossier, "Đã đối chiếu với bản gốc hồ sơ giấy")
        .await
        .with_context(|| format!("verify the declaration of {}", m.person.full_name))?;
    ctx.wf
        .lock_declaration(focal, &m.dossier)
        .await
        .with_context(|| format!("lock the declaration of {}", m.person.full_name))?;
    Ok(())
}

async fn decide(ctx: Arc<People>, i: usize) -> anyhow::Result<Vec<&'static str>> {
    let m = &ctx.members[i];
    let focal = ctx.focal(i)?;
    let mut kinds = Vec::new();
    for (kind, decision, effective, document) in &ctx.plans[i].decisions {
        ctx.wf
            .record_decision(
                focal,
                &m.dossier,
                decision.clone(),
                *effective,
                document.clone(),
            )
            .await
            .with_context(|| format!("record the {kind} decision of {}", m.person.full_name))?;
        kinds.push(*kind);
    }
    Ok(kinds)
}

// ===== approvals ======================================================================================

/// Signs the dossier as it stands now: the digest of [`Workflows::approval_request`],
/// signed with the signer's ed25519 key as the signer's client would.
async fn sign(wf: &Workflows, signer: &Signer, dossier: &str) -> Result<Receipt, CommandError> {
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
fn window_start(
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

fn level_name(level: ApprovalLevel) -> &'static str {
    match level {
        ApprovalLevel::UnitHead => "unit heads",
        ApprovalLevel::DepartmentHead => "department heads",
        ApprovalLevel::HomeAffairsDirector => "the Sở Nội vụ director",
    }
}

async fn approve_one(
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
async fn approve_in_windows(
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

// ===== February ==========================================================================================

/// Who does what in February, chosen deterministically from the population.
struct Roles {
    /// Changes after approval (with proof).
    changes: Vec<usize>,
    /// Moves between divisions of one agency: person, division, decision.
    moves: Vec<(usize, String, SourceDocument)>,
    /// Transfers to another department: person, department, division, decision.
    transfers: Vec<(usize, String, String, SourceDocument)>,
    /// The transfer the receiver rejects.
    rejected: Option<usize>,
    /// Departures: person, status, effective date, decision, note.
    leaving: Vec<(usize, EmploymentStatus, NaiveDate, SourceDocument, String)>,
    /// The school that merges.
    merged: String,
    /// Its successor.
    successor: String,
}

impl Roles {
    fn choose(ctx: &People, province: &Province, synth: &mut Synth) -> Self {
        let schools = province.of_sector(Sector::School);
        let merged = schools.first().map(|u| u.code.clone()).unwrap_or_default();
        let successor = schools.get(1).map(|u| u.code.clone()).unwrap_or_default();
        let departments = province.of_sector(Sector::Department);
        let n = ctx.members.len();
        let person = |i: usize| &ctx.members[i].person;
        let mut used = BTreeSet::new();
        let in_department = |i: &usize| person(*i).sector == Sector::Department;
        let pool: Vec<usize> = (0..n).filter(in_department).collect();
        let mut pool = pool.into_iter();

        let mut moves = Vec::new();
        for i in pool.by_ref().take((n / 100).max(1)) {
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
            used.insert(i);
        }
        let mut transfers = Vec::new();
        for i in pool.by_ref().take((n / 200).max(1) + 1) {
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
            used.insert(i);
        }
        // The last transfer is the one the receiver rejects.
        let rejected = if transfers.len() > 1 {
            transfers.last().map(|t| t.0)
        } else {
            None
        };

        // Nobody of the school that merges leaves before the merger: the handlers
        // cannot yet move an archived dossier to a successor (the dossier decider
        // refuses every change but a status change once archived, so
        // `complete_restructuring` would stop half-way through the merger).
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
        for l in &leaving {
            used.insert(l.0);
        }

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
}

async fn declare_change(ctx: Arc<People>, i: usize) -> anyhow::Result<()> {
    let m = &ctx.members[i];
    let (code, fields, proof) = &ctx.plans[i].change;
    ctx.wf
        .declare(&m.account, &m.dossier, code, fields.clone(), vec![*proof])
        .await
        .with_context(|| format!("{} declares a change of {code}", m.person.full_name))?;
    Ok(())
}

async fn move_within_agency(
    ctx: Arc<People>,
    (i, to, document): (usize, String, SourceDocument),
) -> anyhow::Result<()> {
    let m = &ctx.members[i];
    ctx.wf
        .change_department(ctx.focal(i)?, &m.dossier, &to, day(2026, 2, 2), document)
        .await
        .with_context(|| format!("move {} to {to}", m.person.full_name))?;
    Ok(())
}

/// A transfer on its way.
#[derive(Clone)]
struct Transfer {
    id: String,
    member: usize,
    to: String,
    division: String,
}

async fn initiate(
    ctx: Arc<People>,
    (i, to, division, document): (usize, String, String, SourceDocument),
) -> anyhow::Result<Transfer> {
    let m = &ctx.members[i];
    let (id, _) = ctx
        .wf
        .initiate_transfer(
            ctx.focal(i)?,
            &m.dossier,
            TransferKind::Reassignment,
            &to,
            day(2026, 2, 2),
            document,
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

async fn accept(ctx: Arc<People>, t: Transfer) -> anyhow::Result<()> {
    let m = &ctx.members[t.member];
    let receiver = &ctx.staff.of(&t.to)?.focal;
    ctx.wf
        .accept_transfer(receiver, &m.dossier, &t.id)
        .await
        .with_context(|| format!("{} accepts {}", t.to, m.person.full_name))?;
    Ok(())
}

async fn forward(ctx: Arc<People>, t: Transfer) -> anyhow::Result<()> {
    let m = &ctx.members[t.member];
    let receiver = &ctx.staff.of(&t.to)?.focal;
    ctx.wf
        .forward_transfer(receiver, &m.dossier, &t.id, &t.division)
        .await
        .with_context(|| format!("forward {} to {}", m.person.full_name, t.division))?;
    Ok(())
}

async fn reject(ctx: Arc<People>, t: Transfer) -> anyhow::Result<()> {
    let m = &ctx.members[t.member];
    let receiver = &ctx.staff.of(&t.to)?.focal;
    ctx.wf
        .reject_transfer(
            receiver,
            &m.dossier,
            &t.id,
            "Không còn chỉ tiêu biên chế công chức năm 2026",
        )
        .await
        .with_context(|| format!("{} rejects {}", t.to, m.person.full_name))?;
    Ok(())
}

async fn depart(
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
            &m.dossier,
            status,
            effective,
            document,
            &note,
        )
        .await
        .with_context(|| format!("record {status:?} for {}", m.person.full_name))?;
    Ok(())
}

/// A person arriving from another province.
struct Arrival {
    person: Person,
    dossier: String,
}

/// Sở Nội vụ pulls the record of a person arriving from another province from the
/// national database (BT 11.1, HY 11.2); the receiving department's focal point
/// issues the personal account.
async fn arrive(
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
            &format!("CSDLQG-36-{}", &p.person_id[6..]),
            &p.person_id,
            &p.full_name,
            p.category,
            &p.managing_unit,
            sections,
            day(2026, 1, 30),
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
async fn approve_arrival(
    ctx: &People,
    authority: &Authority,
    arrival: &Arrival,
    summary: &mut Summary,
) -> anyhow::Result<Option<String>> {
    let p = &arrival.person;
    let focal = &ctx.staff.of(&p.managing_unit)?.focal;
    ctx.wf
        .verify_declaration(
            focal,
            &arrival.dossier,
            "Đã đối chiếu với hồ sơ giấy bàn giao",
        )
        .await
        .context("verify the imported record")?;
    ctx.wf
        .lock_declaration(focal, &arrival.dossier)
        .await
        .context("lock the imported record")?;
    let (head, _) = authority
        .approver(ctx.wf.profile(), &p.managing_unit, p.category, |c| {
            ctx.staff.agencies.contains_key(c)
        })
        .context("nobody approves the arrival")?;
    let signer = &ctx.staff.of(&head)?.head;
    let receipt = sign(&ctx.wf, signer, &arrival.dossier)
        .await
        .context("sign the imported record")?;
    summary.approvals_arrival += 1;
    summary.approval_warnings += receipt.warnings.len() as u64;
    Ok(receipt.warnings.into_iter().next())
}

/// A school merges into its neighbour by decision (DL 5.5): the handler moves its
/// dossiers and accounts to the successor and revokes rights over it. Checks that
/// everything moved and that running the restructuring again finds nothing left.
async fn merge(
    ctx: &People,
    admin: &Actor,
    roles: &Roles,
    authority: &mut Authority,
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
    authority.ceased.insert(from.clone());
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

// ===== the summary ====================================================================================

fn category_name(c: PersonnelCategory) -> &'static str {
    match c {
        PersonnelCategory::CanBo => "cán bộ",
        PersonnelCategory::CongChuc => "công chức",
        PersonnelCategory::VienChuc => "viên chức",
        PersonnelCategory::NguoiLaoDong => "người lao động",
        PersonnelCategory::CommuneCadre => "cán bộ, công chức cấp xã",
        PersonnelCategory::Unspecified => "unspecified",
    }
}

fn status_name(s: EmploymentStatus) -> &'static str {
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
async fn tally(store: &SqliteStore) -> anyhow::Result<BTreeMap<String, u64>> {
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

fn row(label: &str, value: impl std::fmt::Display) {
    println!("  {:<32}{value}", format!("{label}:"));
}

impl Summary {
    fn print(
        &self,
        province: &Province,
        tally: &BTreeMap<String, u64>,
        events: u64,
        elapsed: std::time::Duration,
    ) {
        println!("summary:");
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
                "{} ({} staff: administrators, department staff and one unit of each kind; {} personal: 1 in {PASSWORD_EVERY}), all changed by their holders before acting; each issue and change costs argon2id hashes at production cost, so the other accounts act as an already-authenticated caller would",
                self.staff_passwords + self.personal_passwords,
                self.staff_passwords,
                self.personal_passwords
            ),
        );
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
}

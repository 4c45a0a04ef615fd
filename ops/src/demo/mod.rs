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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use hoso_commands::credentials::{CREDENTIALS_FILE, CredentialStore};
use hoso_commands::workflows::Workflows;
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::ManualClock;
use hoso_domain::profile::Profile;
use hoso_ledger::sqlite::DB_FILE;
use hoso_ledger::{EventStore, SqliteStore, StoreOptions};

use self::accounts::accounts;
use self::approvals::approve_in_windows;
use self::declarations::{decide, declare, review, verify_and_lock};
use self::merger::merge;
use self::movements::{
    Roles, Transfer, accept, approve_arrival, arrive, declare_change, depart, forward, initiate,
    move_within_agency, reject,
};
use self::organisation::{bootstrap, organisation};
use self::people::{People, generate_people};
use self::recruitment::{plan_all, recruit_all};
use self::reports::print_reports;
use self::story::{Story, each, ten_am};
use self::summary::{Summary, status_name, tally};
use crate::SETTINGS_FILE;
use crate::serve::field_key_file;
use crate::synth::Synth;
use hoso_commands::sealing::Keyring;

mod accounts;
mod approvals;
mod authority;
mod declarations;
mod merger;
mod movements;
mod organisation;
mod people;
mod recruitment;
mod reports;
mod story;
mod summary;

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
    organisation(&wf, &admin, &province, &persons, &mut synth, &mut summary).await?;
    story.say(format!(
        "the system administrator changes the issued password; {} units established by decision, with staffing quotas for 2026, {} job positions and {} explicit approval assignments",
        summary.units,
        summary.job_positions,
        summary.explicit_approvals
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
    approve_in_windows(&story, &ctx, everyone, true, &mut summary).await?;

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
    let warning = approve_arrival(&ctx, &arrival, &mut summary).await?;
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
    merge(&ctx, &admin, &roles, &mut synth, &mut summary).await?;
    story.say(format!(
        "{} merges into {}: {} dossiers and {} accounts moved to the successor, rights over the old unit revoked",
        roles.merged, roles.successor, summary.merger_dossiers, summary.merger_accounts
    ));

    approve_in_windows(&story, &ctx, roles.changes.clone(), false, &mut summary).await?;
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

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
//!    personal account issued, one in [`PASSWORD_EVERY`] with a password, and a
//!    hospital's to print beside its focal point's (a duplicate
//!    identification number is refused by the handler and re-entered).
//! 4. Thu 8 Jan: the people declare their résumé sections. Mon 12 Jan: focal points
//!    return a few, verify and lock. Tue 13 Jan: rank, salary, allowance, award,
//!    evaluation and discipline decisions are recorded with their scans.
//! 5. In each level's approval window of January the heads (and the deputy, where the
//!    profile lets heads delegate) sign.
//! 6. February: changes with proof, moves between divisions, transfers (accepted and
//!    forwarded, or rejected), an arrival from another province, retirements,
//!    resignations and a death, then a school merger; the changes are signed in the
//!    February window. Fri 27 Feb: one more change is declared, after the
//!    signatures, and stays unapproved at the month's cut.
//! 7. Mon 2 Mar: the national database's sync account is issued and the Sở Nội vụ
//!    director seals January's and February's batches of the national sync feed
//!    (the director's public key published as `sync/director.pub`).
//!
//! Then the log is verified end to end and a summary printed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use hoso_commands::workflows::Workflows;
use hoso_domain::clock::{Clock, ManualClock};
use hoso_domain::profile::Profile;
use hoso_ledger::EventStore;

use self::people::generate_people;
use self::story::{Story, ten_am};
use self::summary::Summary;
use crate::data_dir::{DEFAULT_PROFILE, DataDir, Keys, Node};
use crate::synth::{Province, Synth};

mod accounts;
mod approvals;
mod authority;
mod declarations;
mod inspection;
mod merger;
mod movements;
mod organisation;
mod people;
mod recruitment;
mod reports;
mod story;
mod summary;
mod sync;

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
    let place = Place::prepare(data)?;
    let clock = Arc::new(ManualClock::new(ten_am(day(2026, 1, 5))?));
    let story = Story::new(clock.clone());
    let node = open(&place, clock, people).await?;
    let sealer =
        crate::trust::open(&node, crate::trust::Verify::Incremental, Keys::OpenOrCreate).await?;
    let sealing = tokio::spawn(sealer.clone().run());
    let started = Instant::now();
    let mut synth = Synth::new(seed);
    let province = synth.province(SCHOOLS, COMMUNES);
    let persons = generate_people(&mut synth, &province, people);
    let mut tale = Tale {
        story,
        wf: node.workflows.clone(),
        province,
        synth,
        summary: Summary::default(),
    };

    let admin = tale.establish(&persons).await?;
    let staff = tale.hire_staff(&admin).await?;
    let ctx = tale.recruit(&staff, persons).await?;
    let everyone: Vec<usize> = (0..ctx.members.len()).collect();
    tale.declaring(&ctx, &everyone).await?;
    tale.reviewing(&ctx, &everyone).await?;
    tale.deciding(&ctx, &everyone).await?;
    tale.approvals(&ctx, everyone, true).await?;
    let roles = tale.february(&ctx, &admin, people).await?;
    tale.merger(&ctx, &admin, &roles).await?;
    tale.approvals(&ctx, roles.changes.clone(), false).await?;
    tale.late_change(&ctx, &roles.changes).await?;
    let director = Tale::director(&ctx)?;
    let read_side = tale.national_sync(&node, &admin, &director).await?;
    // The events/s line is the handlers' work; the sealing's read side is timed
    // on its own line of the story.
    let elapsed = started.elapsed().saturating_sub(read_side);

    let head = sealer
        .shutdown()
        .await?
        .context("the demo's ledger became untrusted")?;
    sealing.await??;
    tale.verify_and_report(&node, elapsed).await?;
    println!(
        "  signed tree head: {} events, root {}, key {} (public key in `hoso keys ledger show`)",
        head.head.tree_size,
        hex::encode(head.head.root),
        head.head.key_id
    );
    inspection::bundle_round_trip(node.store.as_ref(), &sealer, &head).await?;
    let logins = std::mem::take(&mut tale.summary.logins);
    let keys = std::mem::take(&mut tale.summary.login_keys);
    // Every handle on the log goes before the directory is served or removed.
    drop((ctx, tale, node, sealer));
    place.finish(serve, &logins, &keys).await
}

/// What the chapters share as the story is told.
struct Tale {
    /// The clock, moved day by day.
    story: Story,
    wf: Arc<Workflows>,
    province: Province,
    synth: Synth,
    summary: Summary,
}

/// Opens the demo's node on the story's clock: the directory's log (which must
/// hold no events) or a new one, its settings, credentials and field keys.
async fn open(place: &Place, clock: Arc<ManualClock>, people: usize) -> anyhow::Result<Node> {
    let profile = Profile::load(&place.profile)?;
    // The ledger key ring `hoso init` would have made (kept when it did).
    place.dir.ledger_keys(Keys::OpenOrCreate, clock.now())?;
    let on = place.dir.on(clock);
    let store = if place.existing_store {
        let store = on.open_store()?;
        anyhow::ensure!(
            store.head_position().await?.is_none(),
            "{} already holds a ledger with events; give the demo a new directory (or one fresh from `hoso init`)",
            place.dir.path().display()
        );
        store
    } else {
        on.create_store()?
    };
    if !place.dir.settings_file().exists() {
        place.dir.write_settings(&profile, "hoso demo")?;
    }
    let node = on.node(store, profile, Keys::OpenOrCreate)?;
    println!(
        "hoso demo: a synthetic province of {people} public servants under the {} profile, ledger at {}",
        node.workflows.profile().name(),
        node.sqlite()?.path().display()
    );
    Ok(node)
}

// ===== the data directory =======================================================================

/// Where the demo writes: a temporary directory, or the one given (kept).
struct Place {
    dir: DataDir,
    tmp: Option<tempfile::TempDir>,
    profile: String,
    existing_store: bool,
}

impl Place {
    fn prepare(data: Option<PathBuf>) -> anyhow::Result<Self> {
        match data {
            None => {
                let t = tempfile::Builder::new()
                    .prefix("hoso-demo-")
                    .tempdir()
                    .context("create a temporary directory")?;
                Ok(Self {
                    dir: DataDir::new(t.path()),
                    tmp: Some(t),
                    profile: DEFAULT_PROFILE.to_owned(),
                    existing_store: false,
                })
            }
            Some(d) => {
                let dir = DataDir::new(d);
                let profile = dir.read_settings()?.map_or_else(
                    || DEFAULT_PROFILE.to_owned(),
                    |s| s.profile_name().to_owned(),
                );
                Ok(Self {
                    existing_store: dir.has_ledger(),
                    dir,
                    tmp: None,
                    profile,
                })
            }
        }
    }

    /// Serves the directory, or removes a temporary one, or says where it is kept.
    async fn finish(
        self,
        serve: Option<std::net::SocketAddr>,
        logins: &[(String, String, String)],
        keys: &[(String, [u8; 32])],
    ) -> anyhow::Result<()> {
        if let Some(addr) = serve {
            print_logins(logins);
            write_key_files(self.dir.path(), keys)?;
            // The temporary directory lives as long as the server.
            let served = crate::serve::run(
                self.dir.path(),
                addr,
                crate::trust::Verify::Incremental,
                crate::sync_continuous::DEFAULT_INTERVAL,
                crate::serve::ReadinessFlags::default(),
                crate::serve::WebFlags::default(),
            )
            .await;
            drop(self.tmp);
            return served;
        }
        match self.tmp {
            Some(t) => {
                drop(t);
                println!(
                    "the data directory was temporary and is removed; run `hoso demo --data DIR` to keep it"
                );
            }
            None => {
                print_logins(logins);
                write_key_files(self.dir.path(), keys)?;
                let path = self.dir.path().display();
                println!("kept in {path}; check it with `hoso verify --data {path}`");
            }
        }
        Ok(())
    }
}

/// Where the demo heads' signing key files go, in the data directory.
pub const KEY_FILES_DIR: &str = "demo-keys";

/// Writes each signing login's key as a PEM PKCS #8 file (RFC 8410), the file a
/// head picks in the portal to sign in the browser, and says where they are.
/// Demo keys only: a real head's key is made and kept by the head.
fn write_key_files(data: &Path, keys: &[(String, [u8; 32])]) -> anyhow::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let dir = data.join(KEY_FILES_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    for (username, seed) in keys {
        let file = dir.join(format!("{username}.pem"));
        crate::keyfile::write_pkcs8_pem(&file, seed)
            .with_context(|| format!("write {}", file.display()))?;
    }
    println!(
        "signing key files of the heads above (pick one in the portal's approval page): {}",
        dir.display()
    );
    Ok(())
}

fn print_logins(logins: &[(String, String, String)]) {
    println!("demo logins (password changed by the holder after issue, BT 4.4):");
    for (role, username, password) in logins {
        println!("    {username:<20} {password:<20} {role}");
    }
}

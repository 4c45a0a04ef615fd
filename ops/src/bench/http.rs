//! `hoso bench http`: the JSON API measured over loopback, end to end.
//!
//! A synthetic province (a root, [`DEPARTMENTS`] provincial departments, a
//! specialist with `update` right and one with `access` right in each, and
//! `--people` dossiers each with a declared identity section) is built once
//! through the real command handlers, so sealed fields, reservations and
//! obligations are what production writes, and kept in
//! `.hoso-bench-http-<people>/` for the next run. The marker
//! [`MANIFEST`] is written last: a directory without it is a half-built set
//! and is built again.
//!
//! The bench then serves that directory in process (`hoso_api::serve` on
//! `127.0.0.1:0`, as `hoso serve` does) and drives it with `--connections`
//! keep-alive HTTP/1.1 connections, each sending its next request when the
//! previous answer has been read in full:
//!
//! 1. `GET /api/v1/dossiers/{id}` of random dossiers of the caller's
//!    department, as its `access`-right specialist (general clearance, so
//!    no read is logged);
//! 2. `POST /api/v1/dossiers/{id}/declarations` of a `recruitment` section,
//!    as its `update`-right specialist, every request on a dossier no other
//!    connection touches (durable: answered after the group's fsync).
//!
//! Every answer must be 200, or the bench fails.

use hoso_commands::workflows::Declare;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use chrono::NaiveDate;
use hoso_api::ApiConfig;
use hoso_commands::workflows::{Actor, IssueAccount, OpenDossier, Workflows};
use hoso_domain::account::{AccountChange, AccountKind};
use hoso_domain::clock::SystemClock;
use hoso_domain::org::{OrgChange, OrgCommand, OrgUnitKind};
use hoso_domain::profile::Profile;
use hoso_ledger::{EventStore, SourceDocument, SqliteStore};
use hoso_projections::ReadModel;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::pb::dossier::FieldEntry;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::bench::percentile_ms;
use crate::data_dir::{DEFAULT_PROFILE, DataDir, Keys, Node};
use crate::progress::Progress;

/// Provincial departments of the synthetic province.
const DEPARTMENTS: u64 = 20;
/// The province's root unit.
const ROOT: &str = "000.00.00.H33";
/// Written last when the data set is complete; names its shape.
const MANIFEST: &str = "bench-http.json";
/// Written first: a directory holding it (and no manifest) is a half-built
/// set of ours, safe to delete and build again.
const BUILDING: &str = "bench-http.building";
/// Password every account is first issued (then changed, BT 4.4).
const ISSUED_PASSWORD: &str = "Tq7!phat-hanh-Xz2026";
/// Password every account chooses at first login.
const CHOSEN_PASSWORD: &str = "Hs#do-kiem-Kv7q2026";
/// Concurrent command tasks while building, so the log's group commit works.
const BUILDERS: u64 = 64;

/// What `hoso bench http` was asked to do.
pub struct Options {
    /// Dossiers in the data set.
    pub people: u64,
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Seconds each phase runs.
    pub seconds: u64,
    /// Data directory of the set (`.hoso-bench-http-<people>` by default).
    pub data: Option<PathBuf>,
    /// Print one JSON object as the last line.
    pub json: bool,
}

fn day(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).with_context(|| format!("no such date {y}-{m}-{d}"))
}

fn department_code(d: u64) -> String {
    format!("000.{:02}.00.H33", d + 1)
}

fn reader_name(d: u64) -> String {
    format!("bench.doc.{:02}", d + 1)
}

fn writer_name(d: u64) -> String {
    format!("bench.capnhat.{:02}", d + 1)
}

/// The id of dossier `i` (a valid UUID, stable across runs).
fn dossier_id(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Dossier `i` belongs to department `i % DEPARTMENTS`; the `k`-th dossier of
/// department `d` is `d + k * DEPARTMENTS`.
fn dossiers_of(d: u64, people: u64) -> u64 {
    if d >= people {
        0
    } else {
        (people - d).div_ceil(DEPARTMENTS)
    }
}

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô",
];
const MIDDLE: &[&str] = &["Văn", "Thị", "Minh", "Đức", "Thu", "Quang", "Ngọc", "Hữu"];
const GIVEN: &[&str] = &[
    "An", "Bình", "Hương", "Lan", "Tâm", "Dũng", "Hà", "Nam", "Phương", "Sơn",
];

/// Person `i`: name, sex, date of birth and a valid identification number
/// (Hưng Yên 033, sex and century digit, year of birth, `i` as the serial).
struct Person {
    name: String,
    female: bool,
    born: NaiveDate,
    person_id: String,
}

fn person(i: u64) -> anyhow::Result<Person> {
    let pick = |list: &[&'static str], salt: u64| list[((i / salt) % list.len() as u64) as usize];
    let female = i % 2 == 1;
    let year = 1965 + (i * 7 % 35) as i32;
    let born = day(year, 1 + (i % 12) as u32, 1 + (i % 28) as u32)?;
    let person_id = format!("033{}{:02}{:06}", u8::from(female), year % 100, i);
    hoso_domain::person_id::validate(&person_id, Some(born))
        .with_context(|| format!("synthetic identification number of person {i}"))?;
    Ok(Person {
        name: format!("{} {} {}", pick(FAMILY, 1), pick(MIDDLE, 3), pick(GIVEN, 7)),
        female,
        born,
        person_id,
    })
}

fn field(code: &str, value: String) -> FieldEntry {
    FieldEntry {
        field_code: code.to_owned(),
        value,
        row: 0,
        sealed: Vec::new(),
    }
}

fn document(number: String, on: NaiveDate) -> SourceDocument {
    SourceDocument {
        number,
        date: on,
        issuer: "UBND tỉnh Hưng Yên".to_owned(),
        attachment_sha256: Some([0x5c; 32]),
    }
}

/// The manifest: the shape of a finished data set.
#[derive(serde::Serialize, serde::Deserialize)]
struct Manifest {
    people: u64,
    departments: u64,
}

/// Runs the benchmark.
pub async fn run(o: Options) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=1_000_000).contains(&o.people),
        "--people must be between 1 and 1,000,000"
    );
    anyhow::ensure!(o.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(o.seconds > 0, "--seconds must be at least 1");
    anyhow::ensure!(
        o.people >= o.connections as u64,
        "--people must be at least --connections (each declaring connection needs dossiers of its own)"
    );
    let dir = o
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!(".hoso-bench-http-{}", o.people)));
    let node = prepare(&dir, o.people).await?;

    let store = node.sqlite()?;
    let (read, _) = ReadModel::open(
        &dir,
        node.workflows.clock().clone(),
        node.identifier_sealer(),
    )?;
    let read = Arc::new(read);
    catch_up(&read, store).await?;
    let state = Arc::new(node.api(read, ApiConfig::default())?);
    // Keeps this run's declarations from repeating an earlier run's on the
    // same data directory.
    let nonce = state.now().timestamp();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("listen on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hoso_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let outcome = drive(addr, &o, nonce).await;
    let _ = stop.send(());
    // Keep-alive connections are closed by the drivers; the server then ends.
    match tokio::time::timeout(Duration::from_secs(10), server).await {
        Ok(joined) => joined.context("server task")?.context("server")?,
        Err(_) => eprintln!("the server did not stop within 10 s; leaving it"),
    }
    let (get, post) = outcome?;
    print_phases(&o, &get, &post);
    Ok(())
}

/// Catches the read model up with the log, showing progress.
async fn catch_up(read: &ReadModel, store: &SqliteStore) -> anyhow::Result<()> {
    let head = store.head_position().await?.map_or(0, |h| h + 1);
    if read.next_position() < head {
        let progress = Progress::new("projecting", head);
        let caught_up = read.catch_up(store);
        tokio::pin!(caught_up);
        loop {
            tokio::select! {
                r = &mut caught_up => {
                    r?;
                    break;
                }
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    progress.set(read.next_position());
                }
            }
        }
        progress.set(head);
        progress.finish();
    }
    Ok(())
}

/// The figures of both phases, and the JSON line if asked for.
fn print_phases(o: &Options, get: &Phase, post: &Phase) {
    for (what, p) in [
        ("GET /api/v1/dossiers/{id}", get),
        ("POST …/declarations (durable)", post),
    ] {
        println!(
            "http {what}: {} requests, {} connections, {:.1} s: {:.0} requests/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            p.requests,
            o.connections,
            p.seconds,
            p.requests_per_s(),
            p.p50_ms,
            p.p99_ms,
            p.max_ms
        );
    }
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "http",
                "get": get.json(),
                "post": post.json(),
                "requests_per_s": get.requests_per_s(),
                "p50_ms": get.p50_ms,
                "p99_ms": get.p99_ms,
                "dossiers": o.people,
                "connections": o.connections,
                "seconds": o.seconds,
            })
        );
    }
}

/// Opens the data set in `dir`, building it first unless it is complete.
async fn prepare(dir: &Path, people: u64) -> anyhow::Result<Node> {
    let manifest = dir.join(MANIFEST);
    if manifest.exists() {
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("read {}", manifest.display()))?;
        let m: Manifest =
            serde_json::from_str(&text).with_context(|| format!("parse {}", manifest.display()))?;
        anyhow::ensure!(
            m.people == people && m.departments == DEPARTMENTS,
            "{} holds a data set of {} people in {} departments, not {people} in {DEPARTMENTS}; \
             give another --data directory",
            dir.display(),
            m.people,
            m.departments
        );
        return DataDir::self_contained(dir)
            .on(Arc::new(SystemClock))
            .open_node(Keys::Open);
    }
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("read {}", dir.display()))?
            .next()
            .is_none();
        anyhow::ensure!(
            empty || dir.join(BUILDING).exists(),
            "{} is neither empty nor a bench data set; give an empty or new --data directory",
            dir.display()
        );
        if !empty {
            eprintln!(
                "{} holds a half-built data set; building it again",
                dir.display()
            );
            std::fs::remove_dir_all(dir).with_context(|| format!("remove {}", dir.display()))?;
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::write(dir.join(BUILDING), "").context("write the building marker")?;
    let data = DataDir::self_contained(dir);
    let profile = Profile::load(DEFAULT_PROFILE)?;
    data.write_settings(&profile, "hoso bench http")?;
    let on = data.on(Arc::new(SystemClock));
    let node = on.node(on.create_store()?, profile, Keys::Create)?;
    let workflows = &node.workflows;
    let started = Instant::now();
    build(workflows, people).await?;
    let events = workflows
        .store()
        .head_position()
        .await?
        .map_or(0, |h| h + 1);
    eprintln!(
        "built {people} dossiers ({events} events) through the command handlers in {:.1} s (kept in {} for the next run)",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    let text = serde_json::to_string(&Manifest {
        people,
        departments: DEPARTMENTS,
    })?;
    std::fs::write(&manifest, text).with_context(|| format!("write {}", manifest.display()))?;
    std::fs::remove_file(dir.join(BUILDING)).context("remove the building marker")?;
    Ok(node)
}

/// The province, its staff and `people` dossiers, through the handlers.
async fn build(wf: &Arc<Workflows>, people: u64) -> anyhow::Result<()> {
    let admin = organisation(wf).await?;
    let writers = staff(wf, &admin).await?;
    dossiers(wf, writers, people).await
}

/// The administrator, the province and its departments; returns the administrator.
async fn organisation(wf: &Arc<Workflows>) -> anyhow::Result<Actor> {
    let founded = day(2025, 7, 1)?;
    let (admin_id, _) = wf
        .bootstrap_system_admin("bench.quantri", "Quản trị hệ thống", ROOT, ISSUED_PASSWORD)
        .await
        .context("bootstrap the system administrator")?;
    wf.change_password(&admin_id, ISSUED_PASSWORD, CHOSEN_PASSWORD)
        .await
        .context("the administrator changes the issued password")?;
    let admin = Actor::new(admin_id);
    let mut units = vec![(ROOT.to_owned(), None, OrgUnitKind::PeoplesCommitteeProvince)];
    units.extend((0..DEPARTMENTS).map(|d| {
        (
            department_code(d),
            Some(ROOT.to_owned()),
            OrgUnitKind::ProvincialDepartment,
        )
    }));
    for (n, (code, parent, kind)) in units.into_iter().enumerate() {
        wf.org(
            &admin,
            OrgCommand {
                code: code.clone(),
                decision: document(format!("{}/QĐ-UBND", n + 1), day(2025, 6, 30)?),
                change: OrgChange::Establish {
                    name: if parent.is_none() {
                        "Ủy ban nhân dân tỉnh Hưng Yên".to_owned()
                    } else {
                        format!("Sở số {n}")
                    },
                    kind,
                    parent,
                    effective: founded,
                },
            },
        )
        .await
        .with_context(|| format!("establish {code}"))?;
    }
    Ok(admin)
}

/// Each department's two specialists; returns the writers, by department.
async fn staff(wf: &Arc<Workflows>, admin: &Actor) -> anyhow::Result<Arc<Vec<Actor>>> {
    // Staff: hashing passwords costs tens of ms each, so departments in parallel.
    let mut hires = Vec::new();
    for d in 0..DEPARTMENTS {
        for (username, right) in [
            (writer_name(d), AccessRight::Update),
            (reader_name(d), AccessRight::Access),
        ] {
            let wf = wf.clone();
            let admin = admin.clone();
            hires.push(tokio::spawn(async move {
                hire(&wf, &admin, d, &username, right)
                    .await
                    .with_context(|| format!("hire {username}"))
            }));
        }
    }
    let mut writers = vec![None; DEPARTMENTS as usize];
    for h in hires {
        let (d, right, actor) = h.await.context("hiring task")??;
        if right == AccessRight::Update {
            writers[d as usize] = Some(actor);
        }
    }
    Ok(Arc::new(
        writers
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .context("a department has no writer")?,
    ))
}

/// `people` dossiers, opened by the writers of their departments in parallel.
async fn dossiers(
    wf: &Arc<Workflows>,
    writers: Arc<Vec<Actor>>,
    people: u64,
) -> anyhow::Result<()> {
    let progress = Arc::new(Progress::new("dossiers", people));
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let ticker = crate::bench::watch_progress(progress.clone(), done.clone(), people);
    let mut tasks = Vec::new();
    for _ in 0..BUILDERS {
        let (wf, writers, next, done) = (wf.clone(), writers.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= people {
                    return anyhow::Ok(());
                }
                open_one(&wf, &writers[(i % DEPARTMENTS) as usize], i)
                    .await
                    .with_context(|| format!("dossier {i}"))?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut failed = None;
    for t in tasks {
        if let Err(e) = t.await.context("builder task")? {
            failed.get_or_insert(e);
            // Let the ticker end.
            done.store(people, Ordering::Relaxed);
        }
    }
    ticker.await.context("progress task")?;
    progress.finish();
    failed.map_or(Ok(()), Err)
}

/// Issues a specialist account of department `d`, grants it `right`, issues
/// a password and has the holder change it.
async fn hire(
    wf: &Workflows,
    admin: &Actor,
    d: u64,
    username: &str,
    right: AccessRight,
) -> anyhow::Result<(u64, AccessRight, Actor)> {
    let org = department_code(d);
    let (id, _) = wf
        .issue_account(
            admin,
            IssueAccount {
                kind: AccountKind::Specialist,
                username: username.to_owned(),
                org_code: org.clone(),
                person_id: None,
                display_name: format!("Chuyên viên {username}"),
                birth_date: None,
            },
        )
        .await?;
    wf.account(
        admin,
        &id,
        AccountChange::Grant {
            org_code: org,
            right,
            reason: "phân công theo quyết định (DL 12.2)".to_owned(),
            decision: Some(document(format!("{}/QĐ-PC", d + 1), day(2026, 1, 5)?)),
        },
    )
    .await?;
    wf.issue_password(admin, &id, ISSUED_PASSWORD).await?;
    wf.change_password(&id, ISSUED_PASSWORD, CHOSEN_PASSWORD)
        .await?;
    Ok((d, right, Actor::new(id)))
}

/// Opens dossier `i` and declares its identity section.
async fn open_one(wf: &Workflows, writer: &Actor, i: u64) -> anyhow::Result<()> {
    let p = person(i)?;
    let unit = department_code(i % DEPARTMENTS);
    let id = dossier_id(i);
    let recruited = day(2020, 9, 1)?;
    wf.open_dossier_with_id(
        writer,
        &id,
        OpenDossier {
            person_id: p.person_id.clone(),
            full_name: p.name.clone(),
            birth_date: Some(p.born),
            category: PersonnelCategory::CongChuc,
            managing_unit: unit.clone(),
            employing_unit: unit,
            recruited_on: recruited,
            decision: document(format!("{i}/QĐ-TD"), day(2020, 8, 15)?),
        },
    )
    .await
    .context("open")?;
    wf.declare(
        writer,
        Declare::new(
            &id,
            "identity",
            vec![
                field("1", p.name.to_uppercase()),
                field("3a", p.born.format("%d/%m/%Y").to_string()),
                field("3b", if p.female { "Nữ" } else { "Nam" }.to_owned()),
                field("25a", p.person_id),
            ],
        ),
    )
    .await
    .context("declare identity")?;
    Ok(())
}

// ===== the driver ==========================================================================

/// The figures of one phase.
struct Phase {
    requests: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Phase {
    fn requests_per_s(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "requests": self.requests,
            "seconds": self.seconds,
            "requests_per_s": self.requests_per_s(),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        })
    }
}

/// One keep-alive HTTP/1.1 connection to the server.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "bench connection ended");
            }
        });
        Ok(Self {
            sender,
            host: addr.to_string(),
        })
    }

    /// Sends one request and reads the whole answer.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host);
        if let Some(t) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        self.sender.ready().await.context("connection closed")?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .with_context(|| format!("request {path}"))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("answer of {path}"))?
            .to_bytes();
        Ok((status, bytes))
    }
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned()
}

/// Logs in and returns the bearer token.
async fn login(conn: &mut Conn, username: &str) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct SessionOut {
        token: String,
        must_change_password: bool,
    }
    let body = serde_json::to_vec(&serde_json::json!({
        "username": username,
        "password": CHOSEN_PASSWORD,
    }))?;
    let (status, bytes) = conn
        .send(Method::POST, "/api/v1/sessions", None, Some(body))
        .await?;
    anyhow::ensure!(
        status == StatusCode::OK || status == StatusCode::CREATED,
        "login of {username}: {status}: {}",
        excerpt(&bytes)
    );
    let s: SessionOut = serde_json::from_slice(&bytes).context("login answer")?;
    anyhow::ensure!(
        !s.must_change_password,
        "{username} must still change its password"
    );
    Ok(s.token)
}

/// What one connection does in a phase: the request number `n` of
/// connection `c` as (method, path, body).
type Plan = Arc<dyn Fn(usize, u64, &mut StdRng) -> (Method, String, Option<Vec<u8>>) + Send + Sync>;

async fn drive(
    addr: std::net::SocketAddr,
    o: &Options,
    nonce: i64,
) -> anyhow::Result<(Phase, Phase)> {
    // Sessions: one per specialist, shared by the connections of its department.
    let mut conn = Conn::open(addr).await?;
    let (mut readers, mut writers) = (Vec::new(), Vec::new());
    for d in 0..DEPARTMENTS {
        readers.push(login(&mut conn, &reader_name(d)).await?);
        writers.push(login(&mut conn, &writer_name(d)).await?);
    }
    drop(conn);
    let people = o.people;
    let connections = o.connections as u64;

    let get: Plan = Arc::new(move |c, _, rng| {
        let d = c as u64 % DEPARTMENTS;
        let k = rng.random_range(0..dossiers_of(d, people).max(1));
        (
            Method::GET,
            format!("/api/v1/dossiers/{}", dossier_id(d + k * DEPARTMENTS)),
            None,
        )
    });
    let get_tokens: Vec<String> = (0..o.connections)
        .map(|c| readers[c % DEPARTMENTS as usize].clone())
        .collect();
    let get = phase("GET", addr, o, get_tokens, get).await?;

    // Connection c works for department d = c % DEPARTMENTS; the connections
    // of one department take its dossiers in turn (k ≡ j mod m), so no two
    // requests in flight ever touch the same dossier.
    let post: Plan = Arc::new(move |c, n, _| {
        let c = c as u64;
        let d = c % DEPARTMENTS;
        let j = c / DEPARTMENTS;
        let m = connections.saturating_sub(d).div_ceil(DEPARTMENTS).max(1);
        // Dossiers k < count with k ≡ j (mod m): at least one, as people ≥ connections.
        let mine = dossiers_of(d, people).saturating_sub(j).div_ceil(m).max(1);
        let k = j + (n % mine) * m;
        let i = d + k * DEPARTMENTS;
        let body = serde_json::json!({
            "section": "recruitment",
            "fields": [
                {"field": "11a", "value": format!("{:02}/09/2020", 1 + n % 28)},
                {"field": "11b", "value": format!("Quyết định {i}-{nonce}-{n}/QĐ-TD, Sở số {}", d + 1)},
            ],
        });
        (
            Method::POST,
            format!("/api/v1/dossiers/{}/declarations", dossier_id(i)),
            serde_json::to_vec(&body).ok(),
        )
    });
    let post_tokens: Vec<String> = (0..o.connections)
        .map(|c| writers[c % DEPARTMENTS as usize].clone())
        .collect();
    let post = phase("POST", addr, o, post_tokens, post).await?;
    Ok((get, post))
}

/// Connection `c` sends the requests of `plan` one after the other until
/// `deadline`; returns their latencies in microseconds. Any answer but 200 fails.
async fn requests(
    conn: &mut Conn,
    c: usize,
    token: &str,
    plan: &Plan,
    deadline: Instant,
    count: &AtomicU64,
) -> anyhow::Result<Vec<u32>> {
    let mut rng = StdRng::seed_from_u64(0x6874_7470 ^ c as u64);
    let mut latencies_us: Vec<u32> = Vec::with_capacity(1 << 16);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let (method, path, body) = plan(c, n, &mut rng);
        let t = Instant::now();
        let (status, bytes) = conn.send(method.clone(), &path, Some(token), body).await?;
        latencies_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        anyhow::ensure!(
            status == StatusCode::OK,
            "{method} {path}: {status}: {}",
            excerpt(&bytes)
        );
        n += 1;
        count.fetch_add(1, Ordering::Relaxed);
    }
    Ok(latencies_us)
}

/// Runs one phase: `tokens.len()` connections for `o.seconds`.
async fn phase(
    what: &'static str,
    addr: std::net::SocketAddr,
    o: &Options,
    tokens: Vec<String>,
    plan: Plan,
) -> anyhow::Result<Phase> {
    let mut conns = Vec::with_capacity(tokens.len());
    for _ in 0..tokens.len() {
        conns.push(Conn::open(addr).await?);
    }
    let total_ms = o.seconds * 1_000;
    let progress = Arc::new(Progress::new(&format!("{what} (ms)"), total_ms));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                progress.set(started.elapsed().as_millis() as u64);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let mut tasks = Vec::with_capacity(conns.len());
    for (c, (conn, token)) in conns.into_iter().zip(tokens).enumerate() {
        let plan = plan.clone();
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = conn;
            requests(&mut conn, c, &token, &plan, deadline, &count).await
        }));
    }
    let mut latencies_us = Vec::new();
    let mut failed = None;
    for t in tasks {
        match t.await.context("connection task")? {
            Ok(l) => latencies_us.extend(l),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    ticker.await.context("progress task")?;
    progress.set(total_ms);
    progress.finish();
    if let Some(e) = failed {
        return Err(e.context(format!("{what} phase")));
    }
    latencies_us.sort_unstable();
    Ok(Phase {
        requests: latencies_us.len() as u64,
        seconds,
        p50_ms: percentile_ms(&latencies_us, 0.50),
        p99_ms: percentile_ms(&latencies_us, 0.99),
        max_ms: percentile_ms(&latencies_us, 1.0),
    })
}

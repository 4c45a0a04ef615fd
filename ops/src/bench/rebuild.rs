//! `hoso bench rebuild`: every projection rebuilt from position 0 of a
//! province-sized log, hash chains verified on the way, with peak memory.
//!
//! The log is generated once (100,000 people, about 55 events each) and
//! kept in the data directory for the next run, because writing five
//! million durable events takes far longer than rebuilding from them. The
//! generator appends whole dossier histories per call, realistic in shape
//! (declarations of every section, review, signed approval, decades of
//! rank, salary, award and evaluation decisions, obligations), but it
//! writes events directly: the workflows' authorisation and signatures
//! are not what this measures.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use hoso_api::access::KeyringSealer;
use hoso_commands::identifiers::seal_events;
use hoso_commands::sealing::Keyring;
use hoso_domain::clock::SystemClock;
use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, SourceDocument, SqliteStore};
use hoso_projections::ReadModel;
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::common::{Date, DecisionRef, PersonnelCategory};
use hoso_schemas::pb::dossier as pb;
use hoso_schemas::pb::org as org_pb;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data_dir::{DataDir, Keys};
use crate::progress::Progress;

/// Units of the generated province (departments, each with public service units).
const DEPARTMENTS: u32 = 20;
const UNITS_PER_DEPARTMENT: u32 = 10;

fn date(year: u32, month: u32, day: u32) -> Option<Date> {
    Some(Date { year, month, day })
}

fn decision(number: String, year: u32) -> Option<DecisionRef> {
    Some(DecisionRef {
        number,
        date: date(year, 1, 15),
        issuer: "UBND tỉnh".to_owned(),
        attachment_sha256: vec![0x5c; 32],
    })
}

fn department_code(d: u32) -> String {
    format!("000.{:02}.00.H33", d + 1)
}

fn unit_code(d: u32, u: u32) -> String {
    format!("{:03}.{:02}.00.H33", u + 1, d + 1)
}

fn org_events() -> Vec<(String, DomainEvent)> {
    let mut out = vec![(
        "000.00.00.H33".to_owned(),
        org_pb::OrgUnitEstablished {
            code: "000.00.00.H33".to_owned(),
            name: "UBND tỉnh".to_owned(),
            kind: org_pb::OrgUnitKind::PeoplesCommitteeProvince.into(),
            parent_code: String::new(),
            effective: date(2000, 1, 1),
            decision: decision("1/QĐ-UBND".into(), 2000),
        }
        .into(),
    )];
    for d in 0..DEPARTMENTS {
        out.push((
            department_code(d),
            org_pb::OrgUnitEstablished {
                code: department_code(d),
                name: format!("Sở số {}", d + 1),
                kind: org_pb::OrgUnitKind::ProvincialDepartment.into(),
                parent_code: "000.00.00.H33".to_owned(),
                effective: date(2000, 1, 1),
                decision: decision(format!("{}/QĐ-UBND", d + 2), 2000),
            }
            .into(),
        ));
        for u in 0..UNITS_PER_DEPARTMENT {
            out.push((
                unit_code(d, u),
                org_pb::OrgUnitEstablished {
                    code: unit_code(d, u),
                    name: format!("Đơn vị {}.{}", d + 1, u + 1),
                    kind: org_pb::OrgUnitKind::PublicServiceUnit.into(),
                    parent_code: department_code(d),
                    effective: date(2000, 1, 1),
                    decision: decision(format!("{}/QĐ-SNV", u + 1), 2000),
                }
                .into(),
            ));
        }
    }
    out
}

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô",
];
const MIDDLE: &[&str] = &["Văn", "Thị", "Minh", "Đức", "Thu", "Quang", "Ngọc", "Hữu"];
const GIVEN: &[&str] = &[
    "An", "Bình", "Hương", "Lan", "Tâm", "Dũng", "Hà", "Nam", "Phương", "Sơn",
];

fn field(code: &str, value: String, row: u32) -> pb::FieldEntry {
    pb::FieldEntry {
        field_code: code.to_owned(),
        value,
        row,
        sealed: Vec::new(),
    }
}

/// One person's history: about 55 events (fewer for recent recruits).
fn person_events(i: u64, rng: &mut StdRng) -> (String, Vec<DomainEvent>) {
    let p = Drawn::draw(i, rng);
    let mut ev: Vec<DomainEvent> = vec![p.opened(i).into()];
    ev.push(obligation("declare_new_dossier", 1, &p.unit).into());
    ev.extend(p.declarations());
    ev.extend(p.review_and_approval(i));
    p.career(i, &mut ev);
    (format!("dossier-{i:08}"), ev)
}

/// An obligation opened on 5 January, due a week later.
fn obligation(key: &str, n: usize, unit: &str) -> pb::ObligationOpened {
    pb::ObligationOpened {
        obligation_id: format!("{key}-{n}"),
        obligation: key.to_owned(),
        counted_from: date(2026, 1, 5),
        due: date(2026, 1, 12),
        citation: "TT06 6.1".to_owned(),
        responsible_org_code: unit.to_owned(),
    }
}

/// What is drawn of one person.
struct Drawn {
    d: u32,
    u: u32,
    unit: String,
    born: u32,
    female: bool,
    person_id: String,
    name: String,
    recruited: u32,
}

impl Drawn {
    fn draw(i: u64, rng: &mut StdRng) -> Self {
        let d = rng.random_range(0..DEPARTMENTS);
        let u = rng.random_range(0..UNITS_PER_DEPARTMENT);
        let unit = unit_code(d, u);
        let born = rng.random_range(1965..2000u32);
        let female = rng.random_bool(0.5);
        let person_id = format!(
            "033{}{:02}{:06}",
            u32::from(female),
            born % 100,
            i % 1_000_000
        );
        let name = format!(
            "{} {} {}",
            FAMILY[rng.random_range(0..FAMILY.len())],
            MIDDLE[rng.random_range(0..MIDDLE.len())],
            GIVEN[rng.random_range(0..GIVEN.len())]
        );
        let recruited = born + 23;
        Self {
            d,
            u,
            unit,
            born,
            female,
            person_id,
            name,
            recruited,
        }
    }

    fn opened(&self, i: u64) -> pb::DossierOpened {
        let Self {
            unit,
            born,
            person_id,
            name,
            recruited,
            ..
        } = self;
        let (born, recruited) = (*born, *recruited);
        pb::DossierOpened {
            person_id: person_id.clone(),
            full_name: name.clone(),
            category: PersonnelCategory::VienChuc.into(),
            managing_unit: unit.clone(),
            employing_unit: unit.clone(),
            recruitment_decision: decision(format!("{i}/QĐ-TD"), recruited),
            recruited_on: date(recruited, 9, 1),
            birth_date: date(born, 5, 17),
            // Sealed and keyed by `generate`, as the handlers do.
            ..Default::default()
        }
    }

    /// The six sections of the résumé, declared.
    fn declarations(&self) -> Vec<DomainEvent> {
        let Self {
            d,
            u,
            born,
            female,
            person_id,
            name,
            recruited,
            ..
        } = self;
        let (d, u, born, female, recruited) = (*d, *u, *born, *female, *recruited);
        let sections: [(&str, Vec<pb::FieldEntry>); 6] = [
            (
                "identity",
                vec![
                    field("1", name.to_uppercase(), 0),
                    field("3a", format!("17/05/{born}"), 0),
                    field("3b", if female { "Nữ" } else { "Nam" }.to_owned(), 0),
                    field("6", "Kinh".to_owned(), 0),
                    field("25a", person_id.clone(), 0),
                ],
            ),
            ("residence", vec![field("8", "Hưng Yên".to_owned(), 0)]),
            (
                "recruitment",
                vec![
                    field("11a", format!("01/09/{recruited}"), 0),
                    field("11b", format!("Đơn vị {}.{}", d + 1, u + 1), 0),
                ],
            ),
            (
                "education",
                vec![
                    field("15.1", "12/12".to_owned(), 0),
                    field("15.2", "Đại học".to_owned(), 0),
                ],
            ),
            (
                "training",
                vec![
                    field("27.c1", "Đại học Sư phạm".to_owned(), 1),
                    field("27.c5", "Cử nhân".to_owned(), 1),
                ],
            ),
            (
                "family",
                vec![
                    field("30.c1", "Bố".to_owned(), 1),
                    field("30.c2", format!("{} Văn Bố", FAMILY[0]), 1),
                ],
            ),
        ];
        let mut ev = Vec::new();
        for (code, fields) in sections {
            ev.push(
                pb::DeclarationSubmitted {
                    form: "2C-BNV/2008".to_owned(),
                    section_code: code.to_owned(),
                    fields,
                    supporting_attachments: vec![],
                    sealed_attachments: vec![],
                }
                .into(),
            );
        }
        ev
    }

    /// Verified, locked, signed, and the initial rank.
    fn review_and_approval(&self, i: u64) -> Vec<DomainEvent> {
        let (d, u, recruited) = (self.d, self.u, self.recruited);
        let mut ev = Vec::new();
        ev.push(
            pb::ObligationClosed {
                obligation_id: "declare_new_dossier-1".to_owned(),
                closed_on: date(2026, 1, 8),
                late: false,
                outcome: "declared".to_owned(),
            }
            .into(),
        );
        ev.push(
            pb::DeclarationVerified {
                section_codes: vec![],
                note: String::new(),
            }
            .into(),
        );
        ev.push(
            pb::DossierLocked {
                reason: "HY 10.3".to_owned(),
            }
            .into(),
        );
        ev.push(obligation("sign_new_dossier", 12, &self.unit).into());
        ev.push(
            pb::ApprovalSigned {
                revision: 12,
                stream_hash: vec![0x11; 32],
                key_id: format!("head-{d}-{u}"),
                signature: vec![0x22; 64],
                signer: format!("head-{d}-{u}"),
                delegated_from: None,
            }
            .into(),
        );
        ev.push(
            pb::ObligationClosed {
                obligation_id: "sign_new_dossier-12".to_owned(),
                closed_on: date(2026, 1, 28),
                late: false,
                outcome: "signed".to_owned(),
            }
            .into(),
        );
        ev.push(
            pb::RankChanged {
                kind: pb::RankChangeKind::Initial.into(),
                rank_code: "V.07.05.15".to_owned(),
                rank_name: "Giáo viên THCS hạng III".to_owned(),
                effective: date(recruited, 9, 1),
                decision: decision(format!("{i}/QĐ-BN"), recruited),
            }
            .into(),
        );
        ev
    }

    /// Training every other year, evaluations yearly, salary steps every three
    /// years and awards every five, up to 64 events in all.
    fn career(&self, i: u64, ev: &mut Vec<DomainEvent>) {
        let recruited = self.recruited;
        let mut step = 1;
        let mut year = recruited;
        while ev.len() < 64 && year < 2026 {
            year += 1;
            if year.is_multiple_of(2) {
                ev.push(
                    pb::TrainingRecorded {
                        institution: "Trường Chính trị tỉnh".to_owned(),
                        major: "Bồi dưỡng chuyên môn".to_owned(),
                        from: date(year, 3, 1),
                        until: date(year, 3, 15),
                        mode: pb::TrainingMode::ShortCourse.into(),
                        qualification: "Chứng chỉ".to_owned(),
                        certificate_sha256: vec![0x33; 32],
                    }
                    .into(),
                );
            }
            ev.push(
                pb::EvaluationRecorded {
                    year,
                    grade: pb::EvaluationGrade::Good.into(),
                    comments: String::new(),
                    decision: decision(format!("{i}-{year}/ĐG"), year),
                }
                .into(),
            );
            if year.is_multiple_of(3) {
                step += 1;
                ev.push(
                    pb::SalaryChanged {
                        rank_code: "V.07.05.15".to_owned(),
                        step,
                        coefficient_x100: 234 + 33 * (step - 1),
                        salary_group: "A1".to_owned(),
                        effective: date(year, 1, 1),
                        decision: decision(format!("{i}-{year}/NL"), year),
                    }
                    .into(),
                );
            }
            if year.is_multiple_of(5) {
                ev.push(
                    pb::AwardGranted {
                        form: "Giấy khen".to_owned(),
                        reason: "Hoàn thành xuất sắc".to_owned(),
                        year,
                        decision: decision(format!("{i}-{year}/KT"), year),
                    }
                    .into(),
                );
            }
        }
    }
}

/// Generates the log into a fresh store.
pub(super) async fn generate(
    store: Arc<SqliteStore>,
    keyring: Arc<Keyring>,
    people: u64,
    seed: u64,
) -> anyhow::Result<u64> {
    for (code, e) in org_events() {
        store
            .append(
                &format!("org-{code}"),
                ExpectedRevision::NoStream,
                vec![NewEvent::from_domain(&e).with_actor("bench")],
            )
            .await?;
    }
    let progress = Arc::new(Progress::new("generating log", people));
    let next = Arc::new(AtomicU64::new(0));
    let written = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..32u64 {
        let store = store.clone();
        let keyring = keyring.clone();
        let next = next.clone();
        let written = written.clone();
        let progress = progress.clone();
        writers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ w);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= people {
                    return Ok::<(), anyhow::Error>(());
                }
                let (stream, mut events) = person_events(i, &mut rng);
                // Identification numbers reach the log sealed, as through
                // the handlers.
                seal_events(&keyring, &stream, &mut events)?;
                let doc = SourceDocument {
                    number: format!("{i}/QĐ-TD"),
                    date: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default(),
                    issuer: "UBND tỉnh".to_owned(),
                    attachment_sha256: Some([0x5c; 32]),
                };
                let n = events.len() as u64;
                let events = events
                    .iter()
                    .map(|e| {
                        NewEvent::from_domain(e)
                            .with_actor("bench")
                            .with_source_document(doc.clone())
                    })
                    .collect();
                store
                    .append(&stream, ExpectedRevision::NoStream, events)
                    .await?;
                written.fetch_add(n, Ordering::Relaxed);
                progress.set(i + 1);
            }
        }));
    }
    for w in writers {
        w.await??;
    }
    progress.finish();
    Ok(written.load(Ordering::Relaxed))
}

/// Peak resident set of this process in MiB, from `/proc/self/status`.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resident memory now, in MiB: anonymous (the heap, caches) and file-backed
/// (mapped pages of the log and the read model), from `/proc/self/status`.
fn rss_now_mb() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}

/// The largest anonymous and file-backed resident memory seen while it runs,
/// sampled every 50 ms: what the peak RSS is made of.
struct RssSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(f64, f64)>,
}

impl RssSampler {
    fn start() -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut peak = (0.0f64, 0.0f64);
                while !stop.load(Ordering::Relaxed) {
                    if let Some((anon, file)) = rss_now_mb() {
                        peak = (peak.0.max(anon), peak.1.max(file));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                peak
            })
        };
        Self { stop, thread }
    }

    fn finish(self) -> (f64, f64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or((f64::NAN, f64::NAN))
    }
}

/// Median and 99th percentile, in milliseconds, of the read paths.
struct QueryFigures {
    read: (f64, f64),
    as_of: (f64, f64),
    search: (f64, f64),
}

fn percentiles(mut micros: Vec<f64>) -> (f64, f64) {
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
        micros.get(i).copied().unwrap_or(0.0) / 1_000.0
    };
    (at(0.5), at(0.99))
}

/// Times dossier reads (now and as of a past date) and name + unit-subtree
/// searches against the rebuilt read model, in process.
fn measure_queries(model: &ReadModel, people: u64, seed: u64) -> anyhow::Result<QueryFigures> {
    const SAMPLES: usize = 2_000;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let as_of = chrono::NaiveDate::from_ymd_opt(2015, 6, 30);
    let (mut read, mut past, mut search) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let id = format!("{:08}", rng.random_range(0..people));
        let t = Instant::now();
        let v = model.dossier(&id, None, None)?;
        read.push(t.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(
            v.is_some(),
            "dossier {id} missing from the rebuilt read model"
        );
        let t = Instant::now();
        model.dossier(&id, as_of, None)?;
        past.push(t.elapsed().as_secs_f64() * 1e6);
    }
    for _ in 0..SAMPLES / 4 {
        // "family ... given": the folded name contains both, middle name free.
        let family = FAMILY_PLAIN[rng.random_range(0..FAMILY_PLAIN.len())];
        let given = GIVEN_PLAIN[rng.random_range(0..GIVEN_PLAIN.len())];
        let q = hoso_projections::search::SearchQuery {
            name: Some(format!("{family} {given}")),
            unit: Some(department_code(rng.random_range(0..DEPARTMENTS))),
            limit: Some(50),
            ..Default::default()
        };
        let t = Instant::now();
        model.search(&q)?;
        search.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok(QueryFigures {
        read: percentiles(read),
        as_of: percentiles(past),
        search: percentiles(search),
    })
}

/// Family and given names without diacritics, as people type them.
const FAMILY_PLAIN: &[&str] = &[
    "nguyen", "tran", "le", "pham", "hoang", "vu", "dang", "bui", "do", "ngo",
];
const GIVEN_PLAIN: &[&str] = &[
    "an", "binh", "huong", "lan", "tam", "dung", "ha", "nam", "phuong", "son",
];

/// The data directory of a generated province of `people` (`data`, or
/// `.hoso-bench-rebuild-<people>`), its log generated there on first use and
/// kept for the next run (this bench's and `bench sync`'s), and its keyring.
/// An existing log's readers map at most `read_map_bytes` of it, if given.
pub(super) async fn open_or_generate(
    data: Option<PathBuf>,
    people: u64,
    seed: u64,
    read_map_bytes: Option<u64>,
) -> anyhow::Result<(PathBuf, Arc<SqliteStore>, Arc<Keyring>)> {
    let dir = data.unwrap_or_else(|| PathBuf::from(format!(".hoso-bench-rebuild-{people}")));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let data = DataDir::self_contained(&dir);
    let mut on = data.on(Arc::new(SystemClock));
    if let Some(bytes) = read_map_bytes {
        on = on.mapping_at_most(bytes);
    }
    let keyring = Arc::new(data.keyring(Keys::OpenOrCreate)?);
    let store = if data.has_ledger() {
        Arc::new(on.open_store()?)
    } else {
        let store = Arc::new(on.create_store()?);
        let started = Instant::now();
        let n = generate(store.clone(), keyring.clone(), people, seed).await?;
        eprintln!(
            "generated {n} events for {people} people in {:.1} s (kept in {} for the next run)",
            started.elapsed().as_secs_f64(),
            dir.display()
        );
        store
    };
    Ok((dir, store, keyring))
}

/// Runs the benchmark.
pub async fn run(
    data: Option<PathBuf>,
    people: u64,
    seed: u64,
    cache_mib: usize,
    map_mib: Option<u64>,
    json: bool,
) -> anyhow::Result<()> {
    let cache_bytes = cache_mib.saturating_mul(1 << 20);
    // As `hoso rebuild` maps, unless told otherwise (to compare with other maps).
    let map_bytes = map_mib.map_or_else(
        || hoso_projections::rebuild_map_bytes(cache_bytes),
        |m| m.saturating_mul(1 << 20),
    );
    let (dir, store, keyring) = open_or_generate(data, people, seed, Some(map_bytes)).await?;
    let sampler = RssSampler::start();
    let events = store.head_position().await?.map_or(0, |h| h + 1);
    let progress = Progress::new("rebuilding", events);
    let started = Instant::now();
    let model_dir = dir.join("bench-readmodel");
    std::fs::create_dir_all(&model_dir)?;
    let (model, report) = ReadModel::rebuild_mapped(
        &model_dir,
        store.as_ref(),
        Arc::new(hoso_domain::clock::SystemClock),
        Arc::new(KeyringSealer(keyring)),
        cache_bytes,
        map_bytes,
        &|n| progress.set(n),
    )
    .await?;
    let elapsed = started.elapsed().as_secs_f64();
    progress.finish();
    let queries = measure_queries(&model, people, seed)?;
    let per_s = report.events as f64 / elapsed;
    let rss = peak_rss_mb();
    let (anon, file) = sampler.finish();
    println!(
        "rebuilt all projections from {} events ({} streams) in {elapsed:.1} s: {per_s:.0} events/s, chains verified, caches within {cache_mib} MiB, maps within {} MiB per file, peak RSS {} MiB (sampled peaks: {anon:.0} MiB anonymous, {file:.0} MiB mapped files)",
        report.events,
        report.streams,
        map_bytes >> 20,
        rss.map_or("?".to_owned(), |r| format!("{r:.0}"))
    );
    println!(
        "in-process reads: dossier now p50 {:.3} / p99 {:.3} ms; as of 2015-06-30 p99 {:.3} ms; name + unit-subtree search p50 {:.2} / p99 {:.2} ms",
        queries.read.0, queries.read.1, queries.as_of.1, queries.search.0, queries.search.1
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "bench": "rebuild",
                "events": report.events,
                "streams": report.streams,
                "seconds": elapsed,
                "events_per_s": per_s,
                "cache_mib": cache_mib,
                "map_mib": map_bytes >> 20,
                "peak_rss_mb": rss,
                "peak_anon_mb": anon,
                "peak_file_mb": file,
                "dossier_read_p50_ms": queries.read.0,
                "dossier_read_p99_ms": queries.read.1,
                "dossier_as_of_p99_ms": queries.as_of.1,
                "search_p50_ms": queries.search.0,
                "search_p99_ms": queries.search.1,
            })
        );
    }
    Ok(())
}

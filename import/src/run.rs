//! A bulk import, dry or real, over the handlers.
//!
//! 1. **Check** every row ([`crate::rows`]), then every row that passed
//!    against the ledger: the same identification number or record id twice
//!    in the file, a person who already has a dossier (a **conflict**, not
//!    imported: from another file, another source or opened here), a record
//!    imported before (**unchanged** when its content is the same, a conflict
//!    when it changed), and the handlers' own check of the import
//!    ([`Workflows::check_import`]: the Sở Nội vụ's right, the unit, every
//!    rule of the decider).
//! 2. A dry run stops there and reports. A real run with any problem refuses
//!    the whole file before its first append.
//! 3. **Import** the new records, many at a time so that the store's group
//!    commit writes them together: each is
//!    [`Workflows::import_dossier_with_ids`] under a dossier id derived from
//!    (source, record id) and event ids from the record's content digest.
//!
//! A rerun of the same file (or of the same rows in XLSX instead of CSV)
//! finds every record unchanged and appends nothing; a rerun after a crash
//! imports what the crash left out: a claimed number finds its own claim, a
//! written dossier is unchanged.

use std::collections::BTreeMap;

use futures::StreamExt;
use hoso_commands::workflows::{
    Actor, CommandError, ImportDossier, ScopeRule, Workflows, import_event_id,
};
use hoso_domain::dossier::{self, DossierRule};
use hoso_ledger::{Direction, StreamFrom};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::columns::{self, Target};
use crate::read::{ReadError, Table};
use crate::rows::{self, Problem, Record};

/// The source name when none is given.
pub const DEFAULT_SOURCE: &str = "hr-export";

/// Records imported at once: enough for the writer to commit them in
/// groups, few enough that a failure leaves little in flight.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The exporting system's name: with a record id, it names the dossier.
    pub source: String,
    /// Check and report only.
    pub dry_run: bool,
    /// Records imported at once.
    pub concurrency: usize,
}

impl Options {
    /// A run from `source`.
    pub fn new(source: impl Into<String>, dry_run: bool) -> Self {
        Self {
            source: source.into(),
            dry_run,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// Which part of the work a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Checking rows on their own.
    Checking,
    /// Checking the rows that passed against the ledger.
    Matching,
    /// Appending records.
    Importing,
}

/// What a run found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The source name the ids were derived from.
    pub source: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Data rows in the file.
    pub rows: usize,
    /// Headers the format does not know, ignored.
    pub ignored_columns: Vec<String>,
    /// Every problem of every row; any refuses a real run.
    pub problems: Vec<Problem>,
    /// People already in the ledger from elsewhere, and records changed
    /// since an earlier import: reported, not imported.
    pub conflicts: Vec<Problem>,
    /// Records that are new (a dry run: would be imported).
    pub new: usize,
    /// Records imported by this run.
    pub imported: usize,
    /// Records an earlier run imported with the same content.
    pub unchanged: usize,
    /// Records whose append failed during the real run (a concurrent
    /// change); a rerun retries them.
    pub failed: Vec<Problem>,
    /// A real run refused (problems): nothing was appended.
    pub refused: bool,
}

/// Why a run could not go on at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The actor may not import, or the ledger failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// The dossier id of a source's record: the same wherever and whenever it
/// is imported.
pub fn dossier_id(source: &str, record_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"hoso-import-dossier/1\0");
    h.update(source.as_bytes());
    h.update([0x1f]);
    h.update(record_id.as_bytes());
    let d = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The record's content digest: SHA-256 over the source and every value by
/// column key, the identification number replaced by its person key (a
/// keyed hash), so that the digest, kept in the event, reveals no number.
/// It seeds the event ids and is the event's `source_digest`.
pub fn content_digest(wf: &Workflows, source: &str, record: &Record) -> [u8; 32] {
    let pid_key = columns::of_target(Target::PersonId).key;
    let mut h = Sha256::new();
    h.update(b"hoso-import-row/1\0");
    h.update(source.as_bytes());
    h.update([0x1e]);
    for (key, value) in &record.values {
        h.update(key.as_bytes());
        h.update([0x1f]);
        if *key == pid_key {
            h.update(wf.person_key(value).as_bytes());
        } else {
            h.update(value.as_bytes());
        }
        h.update([0x1e]);
    }
    h.finalize().into()
}

/// A record ready to import.
struct Ready {
    dossier_id: String,
    seed: [u8; 32],
    import: ImportDossier,
    row: u32,
}

/// Runs an import of `table` as `actor`; `progress(phase, done, total)` is
/// called as rows are checked and records appended.
pub async fn run(
    wf: &Workflows,
    actor: &Actor,
    table: &Table,
    options: &Options,
    progress: &(dyn Fn(Phase, usize, usize) + Sync),
) -> Result<Report, ImportError> {
    let mut report = Report {
        source: options.source.clone(),
        dry_run: options.dry_run,
        rows: table.rows.len(),
        ..Report::default()
    };
    let source = hoso_domain::input::clean(&options.source, hoso_domain::input::TextKind::Short)
        .map_err(|rule| {
            CommandError::from(hoso_domain::dossier::DossierRejection {
                dossier: String::new(),
                revision: None,
                rule: DossierRule::Input {
                    field: "source".to_owned(),
                    rule,
                },
            })
        })?;
    let layout = match rows::layout(table) {
        Ok(l) => l,
        Err(problems) => {
            report.problems = problems;
            report.refused = !options.dry_run;
            return Ok(report);
        }
    };
    report.ignored_columns = layout.ignored.clone();
    let org = wf.org_tree().await?;
    let today = wf.today();
    let total = table.rows.len();

    let mut records = Vec::new();
    for (n, (row, cells)) in table.rows.iter().enumerate() {
        match rows::check_row(*row, cells, &layout, &org, today) {
            Ok(r) => records.push(r),
            Err(p) => report.problems.extend(p),
        }
        if n.is_multiple_of(256) {
            progress(Phase::Checking, n, total);
        }
    }
    progress(Phase::Checking, total, total);
    duplicates(&mut records, &mut report.problems);
    let matching = records.len();

    let summaries = wf.dossier_summaries().await?;
    let mut ready = Vec::new();
    for (n, record) in records.into_iter().enumerate() {
        let id = dossier_id(&source, &record.record_id);
        let seed = content_digest(wf, &source, &record);
        let existing = wf.dossier_of_person(&record.person_id).await?;
        let row = record.row;
        let record_column = Some(columns::of_target(Target::RecordId));
        let pid_column = Some(columns::of_target(Target::PersonId));
        match existing {
            Some(other) if other != id => report.conflicts.push(Problem::new(
                row,
                pid_column,
                "import:person-has-dossier",
                format!(
                    "the person already has dossier {other} (from another file or source, or opened here): not imported"
                ),
            )),
            Some(_) => {
                if first_event_id(wf, &id).await? == Some(import_event_id(&seed, 0)) {
                    report.unchanged += 1;
                } else {
                    report.conflicts.push(Problem::new(
                        row,
                        record_column,
                        "import:record-changed",
                        format!(
                            "record {} was imported before (dossier {id}) with other values: changes to it are declared, not imported",
                            record.record_id
                        ),
                    ));
                }
            }
            None if summaries.contains_key(&id) => report.conflicts.push(Problem::new(
                row,
                record_column,
                "import:record-id-taken",
                format!(
                    "record {} of source {source} was imported before for another person (dossier {id})",
                    record.record_id
                ),
            )),
            None => {
                let import = ImportDossier {
                    source_system: source.clone(),
                    source_record_id: record.record_id,
                    source_digest: Some(seed),
                    person_id: record.person_id,
                    full_name: record.full_name,
                    category: record.category,
                    managing_unit: record.managing_unit,
                    sections: record.sections,
                    handed_over_on: record.handed_over_on.unwrap_or(today),
                };
                match wf.check_import(actor, &id, &import).await {
                    Ok(()) => ready.push(Ready {
                        dossier_id: id,
                        seed,
                        import,
                        row,
                    }),
                    Err(e) => sort_refusal(row, e, &mut report)?,
                }
            }
        }
        if n.is_multiple_of(256) {
            progress(Phase::Matching, n, matching);
        }
    }
    progress(Phase::Matching, matching, matching);
    report.problems.sort_by_key(|p| p.row);
    report.conflicts.sort_by_key(|p| p.row);
    report.new = ready.len();
    if options.dry_run {
        return Ok(report);
    }
    if !report.problems.is_empty() {
        report.refused = true;
        return Ok(report);
    }

    let count = ready.len();
    let mut done = 0usize;
    let mut appends = futures::stream::iter(ready)
        .map(|r| async move {
            let outcome = wf
                .import_dossier_with_ids(actor, &r.dossier_id, &r.seed, r.import)
                .await;
            (r.row, outcome)
        })
        .buffer_unordered(options.concurrency.max(1));
    progress(Phase::Importing, 0, count);
    while let Some((row, outcome)) = appends.next().await {
        match outcome {
            Ok(_) => report.imported += 1,
            Err(e) if e.is_rejection() => report.failed.push(command_problem(row, &e)),
            Err(e) => return Err(e.into()),
        }
        done += 1;
        if done.is_multiple_of(256) {
            progress(Phase::Importing, done, count);
        }
    }
    progress(Phase::Importing, count, count);
    report.failed.sort_by_key(|p| p.row);
    tracing::info!(
        source = %report.source,
        imported = report.imported,
        unchanged = report.unchanged,
        conflicts = report.conflicts.len(),
        failed = report.failed.len(),
        "bulk import"
    );
    Ok(report)
}

/// The same identification number or record id on two rows: the later row
/// is a problem naming the earlier one.
fn duplicates(records: &mut Vec<Record>, problems: &mut Vec<Problem>) {
    let mut people: BTreeMap<String, u32> = BTreeMap::new();
    let mut ids: BTreeMap<String, u32> = BTreeMap::new();
    records.retain(|r| {
        let mut keep = true;
        if let Some(first) = people.get(&r.person_id) {
            problems.push(Problem::new(
                r.row,
                Some(columns::of_target(Target::PersonId)),
                "import:duplicate-person",
                format!("the same identification number as row {first}"),
            ));
            keep = false;
        } else {
            people.insert(r.person_id.clone(), r.row);
        }
        if let Some(first) = ids.get(&r.record_id) {
            problems.push(Problem::new(
                r.row,
                Some(columns::of_target(Target::RecordId)),
                "import:duplicate-record",
                format!("the same record id as row {first}"),
            ));
            keep = false;
        } else {
            ids.insert(r.record_id.clone(), r.row);
        }
        keep
    });
}

async fn first_event_id(wf: &Workflows, dossier_id: &str) -> Result<Option<Uuid>, CommandError> {
    let first = wf
        .store()
        .read_stream(
            &dossier::stream_id(dossier_id),
            StreamFrom::Start,
            Direction::Forwards,
            1,
        )
        .await
        .map_err(CommandError::Store)?;
    Ok(first.first().map(|e| e.event_id))
}

/// A refusal of the handlers' check: a conflict when the number is taken
/// meanwhile, a problem of the row for a rule, the end of the run when the
/// actor may not import or the ledger failed.
fn sort_refusal(row: u32, e: CommandError, report: &mut Report) -> Result<(), ImportError> {
    match &e {
        CommandError::Access(_) => Err(e.into()),
        CommandError::Scope(r) if matches!(r.rule, ScopeRule::PersonIdTaken(_)) => {
            report.conflicts.push(command_problem(row, &e));
            Ok(())
        }
        _ if e.is_rejection() => {
            report.problems.push(command_problem(row, &e));
            Ok(())
        }
        _ => Err(e.into()),
    }
}

/// A handler's refusal as a row's problem, on the column it is about.
fn command_problem(row: u32, e: &CommandError) -> Problem {
    let rule = format!("{}:{}", e.family(), e.code());
    let column = match e {
        CommandError::Dossier(r) => match &r.rule {
            DossierRule::BadPersonId(_) => Some(columns::of_target(Target::PersonId)),
            DossierRule::CategoryRequired => Some(columns::of_target(Target::Category)),
            DossierRule::NameRequired => Some(columns::of_target(Target::FullName)),
            DossierRule::Input { field, .. } => match field.split_once('/') {
                Some((section, code)) => columns::of_field(section, code),
                None if field == "full_name" => Some(columns::of_target(Target::FullName)),
                None if field == "source_record_id" => Some(columns::of_target(Target::RecordId)),
                None => None,
            },
            DossierRule::Form(f) => {
                return rows::form_problem(row, form_section_of(f), f);
            }
            _ => None,
        },
        CommandError::Scope(r) => match r.rule {
            ScopeRule::UnknownUnit(_) | ScopeRule::UnitNotActive(..) => {
                Some(columns::of_target(Target::ManagingUnit))
            }
            ScopeRule::PersonIdTaken(_) => Some(columns::of_target(Target::PersonId)),
            _ => None,
        },
        _ => None,
    };
    let message = match e {
        CommandError::Dossier(r) => match &r.rule {
            DossierRule::BadPersonId(_) => "not a valid identification number".to_owned(),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    Problem::new(row, column, &rule, message)
}

/// The section a form error is about (the columns' sections), by its field.
fn form_section_of(e: &hoso_domain::form::FormError) -> &'static str {
    use hoso_domain::form::FormError as F;
    let field = match e {
        F::FieldOutsideSection { field, .. }
        | F::BadRow { field, .. }
        | F::DuplicateField { field, .. }
        | F::MissingField { field, .. }
        | F::BadValue { field, .. } => field.as_str(),
        F::UnknownSection(_) | F::Empty(_) => "",
    };
    hoso_domain::form::SECTIONS
        .iter()
        .find(|s| s.fields.contains(&field))
        .map_or("", |s| s.code)
}

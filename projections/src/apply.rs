//! The projector: folds events, in `$all` order, into the read-model tables.
//!
//! Every page of events is applied in one SQLite transaction together with
//! the checkpoint (`next_position`), so a crash between pages loses nothing
//! and applies nothing twice: the next run starts exactly after the last
//! committed page. Events before the checkpoint are skipped, which makes a
//! replayed page a no-op.
//!
//! What the projector sees is always the upcast catalogue event, decoded
//! through the registry; what it stores of an event (history and org rows)
//! is that event re-encoded at its current version, never the log's bytes.

use std::collections::HashMap;

use hoso_domain::org::OrgTree;
use hoso_domain::review::ReviewState;
use hoso_domain::text::fold;
use hoso_ledger::{ChainViolation, GENESIS_HASH, Hash, RecordedEvent, ViolationKind};
use hoso_schemas::pb::dossier::{EmploymentStatus, FieldEntry, SectionData};
use hoso_schemas::{DomainEvent, Registry};
use prost::Message;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Value, json};

use crate::ProjectionError;
use crate::cache::{Bounded, Weigh};
use crate::dates::{date_text, pb_date_text};
use crate::identifiers::{IdentifierSealer, seal_legacy};

/// The searchable summary of one dossier, written to `dossiers` whenever it
/// changes; the projector keeps those it folded last in a bounded cache and
/// reads the others back from that table.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Summary {
    /// Keyed hash of the identification number.
    pub person_key: String,
    /// The number sealed under the dossier's data key, hex.
    pub person_id_sealed: String,
    pub full_name: String,
    pub birth_year: Option<i64>,
    pub gender: Option<String>,
    pub ethnicity: Option<String>,
    pub education: Option<String>,
    pub qualification: Option<String>,
    pub party_member: bool,
    pub category: i32,
    pub managing_unit: String,
    pub employing_unit: String,
    pub status: i32,
    pub workflow: ReviewState,
    pub rank_code: Option<String>,
    pub rank_name: Option<String>,
    pub job_position: Option<String>,
    pub revision: u64,
    pub opened_on: String,
    pub locked_on: Option<String>,
}

impl Weigh for Summary {
    fn weight(&self) -> usize {
        let text = |s: &String| s.capacity();
        let maybe = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        std::mem::size_of::<Self>()
            + text(&self.person_key)
            + text(&self.person_id_sealed)
            + text(&self.full_name)
            + text(&self.managing_unit)
            + text(&self.employing_unit)
            + text(&self.opened_on)
            + maybe(&self.gender)
            + maybe(&self.ethnicity)
            + maybe(&self.education)
            + maybe(&self.qualification)
            + maybe(&self.rank_code)
            + maybe(&self.rank_name)
            + maybe(&self.job_position)
            + maybe(&self.locked_on)
    }
}

impl Summary {
    fn archived(&self) -> bool {
        hoso_domain::dossier::is_archived_status(
            EmploymentStatus::try_from(self.status).unwrap_or(EmploymentStatus::Active),
        )
    }

    /// Takes what search and reports need from a declared section.
    fn absorb(&mut self, section: &str, fields: &[FieldEntry]) {
        let get = |code: &str| {
            fields
                .iter()
                .find(|f| f.field_code == code && !f.value.trim().is_empty())
                .map(|f| f.value.trim().to_owned())
        };
        match section {
            "identity" => {
                if let Some(born) = get("3a") {
                    self.birth_year = born.rsplit('/').next().and_then(|y| y.parse::<i64>().ok());
                }
                self.gender = get("3b").or(self.gender.take());
                self.ethnicity = get("6").or(self.ethnicity.take());
            }
            "education" => {
                self.education = get("15.1").or(self.education.take());
                self.qualification = get("15.2").or(self.qualification.take());
            }
            "party_military" => self.party_member = get("16a").is_some(),
            _ => {}
        }
    }
}

/// An event made ready for the projector: decoded (and upcast) through the
/// registry and re-encoded at its current version. Preparing touches no table, so a
/// rebuild does it on the reading thread and leaves the projector's thread
/// nothing but SQL.
#[derive(Debug)]
pub struct Prepared {
    recorded: RecordedEvent,
    event: DomainEvent,
    body: Vec<u8>,
    effective: Option<String>,
    /// Whether a [`hoso_ledger::ChainVerifier`] already checked this event, its
    /// hash and its link to the stream's previous event, in `$all` order (a
    /// rebuild verifies as it reads): the projector then neither re-hashes it
    /// nor looks up its stream's head.
    pub(crate) verified: bool,
}

impl Prepared {
    /// Global position of the event.
    pub fn position(&self) -> u64 {
        self.recorded.position
    }

    /// Whether the event belongs to the organisation family.
    pub fn is_org(&self) -> bool {
        self.recorded.stream.starts_with("org-")
    }
}

/// Prepares a page of stored events; a number an older event carries in
/// clear is sealed and keyed here ([`crate::identifiers`]), before the body
/// the history stores is encoded.
pub fn prepare(
    registry: &Registry,
    sealer: &dyn IdentifierSealer,
    page: Vec<RecordedEvent>,
) -> Result<Vec<Prepared>, ProjectionError> {
    page.into_iter()
        .map(|recorded| {
            let mut event = hoso_ledger::typed::decode(registry, &recorded)?;
            seal_legacy(sealer, &recorded.stream, &mut event)?;
            Ok(Prepared {
                body: event.encode_payload(),
                effective: effective_of(&event),
                recorded,
                event,
                verified: false,
            })
        })
        .collect()
}

/// Bytes of folded state the projector keeps in memory unless told otherwise
/// ([`Projector::set_cache_budget`]).
pub const DEFAULT_STATE_CACHE_BYTES: usize = 64 << 20;

/// Folds events into the read model.
pub struct Projector {
    pub(crate) conn: Connection,
    pub(crate) org: OrgTree,
    /// Summaries of the dossiers folded last; the others are in `dossiers`.
    summaries: Bounded<Summary>,
    next_position: u64,
    /// Chain heads of the streams applied last; the others are in `chain_heads`.
    heads: Bounded<(u64, Hash)>,
    /// The last event applied (`last_applied`).
    last: Option<(u64, Hash)>,
    /// Whether event hashes cover the position (as [`RecordedEvent::compute_hash`]
    /// takes it): true for a backend with dense positions.
    pub(crate) position_hashed: bool,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("next_position", &self.next_position)
            .finish_non_exhaustive()
    }
}

fn stream_kind(stream: &str) -> Option<(&'static str, &str)> {
    for prefix in ["org-", "account-", "dossier-"] {
        if let Some(id) = stream.strip_prefix(prefix) {
            return Some((prefix, id));
        }
    }
    None
}

impl Projector {
    /// A projector over an opened read model: loads its checkpoint and the
    /// org tree; dossier summaries and chain heads are read when first needed.
    pub(crate) fn load(conn: Connection) -> Result<Self, ProjectionError> {
        let registry = Registry::standard();
        let next_position = crate::schema::next_position(&conn)?;
        let mut org = OrgTree::new();
        {
            let mut stmt =
                conn.prepare("SELECT stream, type, body FROM org_events ORDER BY position")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let stream: String = r.get(0)?;
                let ty: String = r.get(1)?;
                let body: Vec<u8> = r.get(2)?;
                let event = decode_current(&registry, &ty, &body)?;
                org.apply(&stream, &event);
            }
        }
        let last = conn
            .query_row(
                "SELECT position, hash FROM last_applied WHERE id = 0",
                [],
                |r| Ok((column_u64(r, 0)?, column_hash(r, 1)?)),
            )
            .optional()?;
        let (summaries, heads) = caches(DEFAULT_STATE_CACHE_BYTES);
        Ok(Self {
            conn,
            org,
            summaries,
            next_position,
            heads,
            last,
            position_hashed: true,
        })
    }

    /// Keeps at most about `bytes` of folded state (dossier summaries and chain
    /// heads) in memory from now on; what is forgotten is read back from the
    /// tables when next needed, so the read model comes out the same.
    pub fn set_cache_budget(&mut self, bytes: usize) {
        (self.summaries, self.heads) = caches(bytes);
    }

    /// The last event applied: its position and hash.
    pub fn last_applied(&self) -> Option<(u64, Hash)> {
        self.last
    }

    /// Position of the next event to apply.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// Applies a page of events (in `$all` order) in one transaction with
    /// the checkpoint. Events already applied are skipped. Returns how many
    /// were applied.
    pub fn apply_page(&mut self, events: &[Prepared]) -> Result<usize, ProjectionError> {
        let Self {
            conn,
            org,
            summaries,
            next_position,
            heads,
            last,
            position_hashed,
        } = self;
        let mut staged: HashMap<String, Staged> = HashMap::new();
        let mut org_staged: Vec<(String, DomainEvent)> = Vec::new();
        let mut heads_staged: HashMap<&str, (u64, Hash)> = HashMap::new();
        let tx = conn.transaction()?;
        let mut applied = 0;
        let mut next = *next_position;
        let mut last_staged = None;
        for p in events {
            if p.recorded.position < next {
                continue;
            }
            // Linked before it is applied: an event that does not continue its chain
            // never reaches the read model.
            let e = &p.recorded;
            if !p.verified {
                let head = match heads_staged.get(e.stream.as_str()) {
                    Some(h) => Some(*h),
                    None => head_of(&tx, heads, &e.stream)?,
                };
                check_link(e, head, *position_hashed)?;
            }
            heads_staged.insert(e.stream.as_str(), (e.revision, e.hash));
            apply_one(&tx, p, summaries, &mut staged, &mut org_staged)?;
            next = p.recorded.position + 1;
            last_staged = Some((e.position, e.hash));
            applied += 1;
        }
        if applied == 0 {
            return Ok(0);
        }
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO chain_heads (stream, revision, hash) VALUES (?1, ?2, ?3)",
            )?;
            for (stream, (revision, hash)) in &heads_staged {
                stmt.execute(params![
                    stream,
                    i64::try_from(*revision).unwrap_or(i64::MAX),
                    &hash[..]
                ])?;
            }
        }
        if let Some((position, hash)) = last_staged {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO last_applied (id, position, hash) VALUES (0, ?1, ?2)",
            )?
            .execute(params![
                i64::try_from(position).unwrap_or(i64::MAX),
                &hash[..]
            ])?;
        }
        // One row write per dossier per page, however many of its events
        // the page held.
        for (id, (before, s)) in &staged {
            if before.as_ref() != Some(s) {
                upsert_summary(&tx, id, s)?;
            }
        }
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'next_position'")?
            .execute([i64::try_from(next).unwrap_or(i64::MAX)])?;
        tx.commit()?;
        // Only a committed page changes what the projector remembers.
        for (id, (_, s)) in staged {
            summaries.insert(id, s);
        }
        for (stream, event) in org_staged {
            org.apply(&stream, &event);
        }
        for (stream, head) in heads_staged {
            heads.insert(stream.to_owned(), head);
        }
        *last = last_staged.or(*last);
        *next_position = next;
        Ok(applied)
    }
}

/// Whether `e` continues its stream's chain from `head` (the stream's last event
/// applied, `None` for a new stream) and whether its content still hashes to its
/// stored hash.
fn check_link(
    e: &RecordedEvent,
    head: Option<(u64, Hash)>,
    position_hashed: bool,
) -> Result<(), ProjectionError> {
    let violation = |kind| {
        ProjectionError::Chain(ChainViolation {
            position: e.position,
            stream: e.stream.clone(),
            revision: e.revision,
            kind,
        })
    };
    let computed = e.compute_hash(position_hashed);
    if computed != e.hash {
        return Err(violation(ViolationKind::ContentAltered {
            stored: hex::encode(e.hash),
            computed: hex::encode(computed),
        }));
    }
    let (expected_revision, expected_prev) = match head {
        Some((revision, hash)) => (revision + 1, hash),
        None => (0, GENESIS_HASH),
    };
    if e.revision != expected_revision {
        return Err(violation(ViolationKind::RevisionGap {
            expected: expected_revision,
        }));
    }
    if e.prev_hash != expected_prev {
        return Err(violation(ViolationKind::LinkBroken {
            previous_revision: head.map(|(r, _)| r),
        }));
    }
    Ok(())
}

/// A dossier's summary as the page found it (`None`: none yet) and as the page
/// left it; only a changed one is written.
type Staged = (Option<Summary>, Summary);

/// The caches of a projector within `bytes`: most of it for the summaries,
/// which are about ten times a chain head's size.
fn caches(bytes: usize) -> (Bounded<Summary>, Bounded<(u64, Hash)>) {
    (Bounded::new(bytes / 8 * 7), Bounded::new(bytes / 8))
}

/// A stream's chain head as applied: remembered, or read from `chain_heads`.
fn head_of(
    tx: &Transaction<'_>,
    heads: &mut Bounded<(u64, Hash)>,
    stream: &str,
) -> Result<Option<(u64, Hash)>, ProjectionError> {
    if let Some(h) = heads.get(stream) {
        return Ok(Some(*h));
    }
    Ok(tx
        .prepare_cached("SELECT revision, hash FROM chain_heads WHERE stream = ?1")?
        .query_row([stream], |r| Ok((column_u64(r, 0)?, column_hash(r, 1)?)))
        .optional()?)
}

/// A dossier's summary as applied: remembered, or read from `dossiers`.
fn summary_of(
    tx: &Transaction<'_>,
    summaries: &mut Bounded<Summary>,
    id: &str,
) -> Result<Option<Summary>, ProjectionError> {
    if let Some(s) = summaries.get(id) {
        return Ok(Some(s.clone()));
    }
    Ok(tx
        .prepare_cached(
            "SELECT person_key, full_name, birth_year, gender, ethnicity, education,
                    qualification, party_member, category, managing_unit, employing_unit,
                    status, workflow, rank_code, rank_name, job_position, revision, opened_on,
                    locked_on, person_id_sealed
             FROM dossiers WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Summary {
                person_key: r.get(0)?,
                full_name: r.get(1)?,
                birth_year: r.get(2)?,
                gender: r.get(3)?,
                ethnicity: r.get(4)?,
                education: r.get(5)?,
                qualification: r.get(6)?,
                party_member: r.get(7)?,
                category: r.get(8)?,
                managing_unit: r.get(9)?,
                employing_unit: r.get(10)?,
                status: r.get(11)?,
                workflow: crate::schema::review_state_column(r, 12)?,
                rank_code: r.get(13)?,
                rank_name: r.get(14)?,
                job_position: r.get(15)?,
                revision: column_u64(r, 16)?,
                opened_on: r.get(17)?,
                locked_on: r.get(18)?,
                person_id_sealed: r.get(19)?,
            })
        })
        .optional()?)
}

fn column_u64(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(i)?;
    u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v))
}

fn column_hash(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Hash> {
    let v: Vec<u8> = r.get(i)?;
    Hash::try_from(v.as_slice()).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("a chain hash of {} bytes", v.len()).into(),
        )
    })
}

/// Decodes an event the read model stored (at its current version).
pub(crate) fn decode_current(
    registry: &Registry,
    ty: &str,
    body: &[u8],
) -> Result<DomainEvent, ProjectionError> {
    let version = registry.current_version(ty).ok_or_else(|| {
        ProjectionError::Corrupt(format!("unknown event type {ty} in read model"))
    })?;
    registry
        .decode(ty, version, body)
        .map_err(|e| ProjectionError::Corrupt(format!("read model row of {ty}: {e}")))
}

/// The effective date an event carries, if any.
pub(crate) fn effective_of(event: &DomainEvent) -> Option<String> {
    use DomainEvent as E;
    let d = match event {
        E::DossierOpened(e) => e.recruited_on.as_ref(),
        E::AppointmentRecorded(e) => e.effective.as_ref(),
        E::RankChanged(e) => e.effective.as_ref(),
        E::SalaryChanged(e) => e.effective.as_ref(),
        E::AllowanceChanged(e) => e.effective.as_ref(),
        E::DisciplineImposed(e) => e.effective.as_ref(),
        E::DepartmentChanged(e) => e.effective.as_ref(),
        E::TransferInitiated(e) => e.effective.as_ref(),
        E::StatusChanged(e) => e.effective.as_ref(),
        E::ManagingUnitReassigned(e) => e.effective.as_ref(),
        E::PlanningRecorded(e) => e.effective.as_ref(),
        E::TrainingRecorded(e) => e.until.as_ref().or(e.from.as_ref()),
        _ => None,
    }?;
    pb_date_text(d)
}

fn section_fields(
    tx: &Transaction<'_>,
    dossier: &str,
    section: &str,
) -> Result<Vec<FieldEntry>, ProjectionError> {
    // The pending version if there is one, else the approved one.
    let bytes: Option<Vec<u8>> = tx
        .query_row(
            "SELECT fields FROM sections WHERE dossier_id = ?1 AND section_code = ?2
             ORDER BY approved ASC LIMIT 1",
            params![dossier, section],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match bytes {
        Some(b) => {
            SectionData::decode(b.as_slice())
                .map_err(|e| ProjectionError::Corrupt(format!("section row: {e}")))?
                .fields
        }
        None => Vec::new(),
    })
}

fn field_diff(section: &str, before: &[FieldEntry], after: &[FieldEntry]) -> Vec<Value> {
    let mut out = Vec::new();
    for a in after {
        let old = before
            .iter()
            .find(|b| b.field_code == a.field_code && b.row == a.row);
        if old.map(|o| (o.value.as_str(), o.sealed.as_slice()))
            != Some((a.value.as_str(), a.sealed.as_slice()))
        {
            // A sealed value changes as ciphertext: the diff says so without
            // holding the plaintext, and the API opens it for a cleared reader.
            if a.sealed.is_empty() && old.is_none_or(|o| o.sealed.is_empty()) {
                out.push(json!({
                    "section": section, "field": a.field_code, "row": a.row,
                    "from": old.map(|o| o.value.clone()), "to": a.value,
                }));
            } else {
                out.push(json!({
                    "section": section, "field": a.field_code, "row": a.row,
                    "sealed": true,
                    "from_sealed": old.map(|o| hex::encode(&o.sealed)),
                    "to_sealed": hex::encode(&a.sealed),
                }));
            }
        }
    }
    for b in before {
        if !after
            .iter()
            .any(|a| a.field_code == b.field_code && a.row == b.row)
        {
            if b.sealed.is_empty() {
                out.push(json!({
                    "section": section, "field": b.field_code, "row": b.row,
                    "from": b.value, "to": null,
                }));
            } else {
                out.push(json!({
                    "section": section, "field": b.field_code, "row": b.row,
                    "sealed": true, "from_sealed": hex::encode(&b.sealed), "to_sealed": null,
                }));
            }
        }
    }
    out
}

/// A value of a catalogue enum as the API spells it: its protobuf name
/// without the enum's prefix, in lower case (`ALLOWANCE_KIND_POSITION` is
/// `position`), the spelling decisions are recorded with.
fn spelled(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix).to_ascii_lowercase()
}

/// An allowance's amount as its decision states it; `null` ends it.
fn allowance_amount(
    amount: Option<&hoso_schemas::pb::dossier::allowance_changed::Amount>,
) -> Value {
    use hoso_schemas::pb::dossier::allowance_changed::Amount;
    match amount {
        Some(Amount::CoefficientX100(c)) => json!({ "coefficient_x100": c }),
        Some(Amount::PercentX100(p)) => json!({ "percent_x100": p }),
        Some(Amount::AmountVnd(v)) => json!({ "amount_vnd": v }),
        None => Value::Null,
    }
}

fn change(field: &str, from: impl serde::Serialize, to: impl serde::Serialize) -> Value {
    json!({ "field": field, "from": from, "to": to })
}

fn apply_one(
    tx: &Transaction<'_>,
    p: &Prepared,
    summaries: &mut Bounded<Summary>,
    staged: &mut HashMap<String, Staged>,
    org_staged: &mut Vec<(String, DomainEvent)>,
) -> Result<(), ProjectionError> {
    let (e, event) = (&p.recorded, &p.event);
    let Some((kind, id)) = stream_kind(&e.stream) else {
        // Reservation and sync streams carry nothing the read side shows.
        return Ok(());
    };
    let recorded_at = e.recorded_at.timestamp_micros();
    let position = i64::try_from(e.position).unwrap_or(i64::MAX);
    let mut detail = json!({});
    let mut dossier_id: Option<&str> = None;
    // A read of restricted data is logged on the reader's account stream
    // but belongs to the audit trail of the dossier read.
    let mut read_of: Option<&str> = None;
    match kind {
        "org-" => {
            tx.prepare_cached(
                "INSERT INTO org_events (position, stream, type, body, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                position,
                e.stream,
                e.event_type,
                p.body,
                recorded_at
            ])?;
            org_staged.push((e.stream.clone(), event.clone()));
        }
        "account-" => {
            if let DomainEvent::AccessLogged(a) = event {
                detail = json!({
                    "fields": a.field_codes, "purpose": a.purpose, "basis": access_basis(a),
                });
                read_of = (!a.dossier_id.is_empty()).then_some(a.dossier_id.as_str());
            }
            if let DomainEvent::InspectionQueried(q) = event {
                detail = json!({
                    "inspection": q.inspection_id, "route": q.route,
                    "criteria": q.criteria, "dossiers": q.dossier_ids,
                });
            }
        }
        _ => {
            dossier_id = Some(id);
            detail = apply_dossier(tx, p, id, summaries, staged)?;
        }
    }
    if dossier_id.is_none() {
        // Dossier events are audited through their history rows.
        tx.prepare_cached(
            "INSERT INTO audit (position, recorded_at, actor, stream, type, dossier_id, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            position,
            recorded_at,
            e.actor,
            e.stream,
            e.event_type,
            read_of,
            detail.to_string()
        ])?;
    }
    Ok(())
}

fn access_basis(a: &hoso_schemas::pb::dossier::AccessLogged) -> String {
    use hoso_schemas::pb::dossier::access_logged::Basis;
    match &a.basis {
        Some(Basis::OwnData(_)) => "own-data".to_owned(),
        Some(Basis::Right(r)) => match hoso_schemas::pb::common::AccessRight::try_from(*r) {
            Ok(right) => format!(
                "right:{}",
                right
                    .as_str_name()
                    .trim_start_matches("ACCESS_RIGHT_")
                    .to_lowercase()
            ),
            Err(_) => format!("right:{r}"),
        },
        Some(Basis::ConsentId(c)) if c.starts_with("delegation:") => c.clone(),
        Some(Basis::ConsentId(c)) => format!("consent:{c}"),
        Some(Basis::InspectionId(i)) => format!("inspection:{i}"),
        None => "unspecified".to_owned(),
    }
}

fn apply_dossier(
    tx: &Transaction<'_>,
    p: &Prepared,
    id: &str,
    summaries: &mut Bounded<Summary>,
    staged: &mut HashMap<String, Staged>,
) -> Result<Value, ProjectionError> {
    use DomainEvent as E;
    let (e, event) = (&p.recorded, &p.event);
    if !staged.contains_key(id) {
        // A stream's first event (its chain checked above) has no summary
        // before it: nothing to look up.
        let known = if e.revision == 0 {
            None
        } else {
            summary_of(tx, summaries, id)?
        };
        let s = known.clone().unwrap_or_default();
        staged.insert(id.to_owned(), (known, s));
    }
    let Some((_, s)) = staged.get_mut(id) else {
        return Err(ProjectionError::Corrupt(format!(
            "summary of {id} vanished"
        )));
    };
    let today = date_text(e.recorded_at.date_naive());
    let mut diff: Vec<Value> = Vec::new();
    match event {
        E::DossierOpened(_) | E::DossierImported(_) => {
            open_summary(tx, id, event, today, s, &mut diff)?;
        }
        E::DeclarationSubmitted(_)
        | E::DeclarationReturned(_)
        | E::DeclarationVerified(_)
        | E::DossierLocked(_)
        | E::ApprovalSigned(_) => review_step(tx, id, event, today, s, &mut diff)?,
        E::ObligationOpened(o) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO obligations
                 (dossier_id, obligation_id, obligation, responsible, counted_from, due, citation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                o.obligation_id,
                o.obligation,
                o.responsible_org_code,
                o.counted_from.as_ref().and_then(pb_date_text),
                o.due.as_ref().and_then(pb_date_text),
                o.citation
            ])?;
        }
        E::ObligationClosed(c) => {
            tx.prepare_cached(
                "UPDATE obligations SET closed_on = ?3, late = ?4, outcome = ?5
                 WHERE dossier_id = ?1 AND obligation_id = ?2",
            )?
            .execute(params![
                id,
                c.obligation_id,
                c.closed_on.as_ref().and_then(pb_date_text),
                c.late,
                c.outcome
            ])?;
        }
        _ => record_change(event, s, &mut diff),
    }
    crate::transfers::apply(tx, id, e.recorded_at.timestamp_micros(), event)?;
    if let E::ApprovalSigned(a) = event {
        insert_approval(tx, e, id, a)?;
    }
    s.revision = e.revision;
    let diff = Value::Array(diff);
    insert_history(tx, p, id, &diff)?;
    Ok(diff)
}

/// A dossier opened or imported: a fresh summary, and an import's sections
/// stored as pending.
fn open_summary(
    tx: &Transaction<'_>,
    id: &str,
    event: &DomainEvent,
    today: String,
    s: &mut Summary,
    diff: &mut Vec<Value>,
) -> Result<(), ProjectionError> {
    use DomainEvent as E;
    match event {
        E::DossierOpened(o) => {
            *s = Summary {
                person_key: o.person_key.clone(),
                person_id_sealed: hex::encode(&o.person_id_sealed),
                full_name: o.full_name.clone(),
                birth_year: o.birth_date.as_ref().map(|d| i64::from(d.year)),
                category: o.category,
                managing_unit: o.managing_unit.clone(),
                employing_unit: o.employing_unit.clone(),
                status: EmploymentStatus::Active as i32,
                workflow: ReviewState::opened(false),
                opened_on: today,
                ..Summary::default()
            };
            diff.push(json!({ "opened": {
                "person_id_sealed": hex::encode(&o.person_id_sealed),
                "full_name": o.full_name, "category": o.category,
                "managing_unit": o.managing_unit, "employing_unit": o.employing_unit,
            }}));
        }
        E::DossierImported(o) => {
            *s = Summary {
                person_key: o.person_key.clone(),
                person_id_sealed: hex::encode(&o.person_id_sealed),
                full_name: o.full_name.clone(),
                category: o.category,
                managing_unit: o.managing_unit.clone(),
                employing_unit: o.employing_unit.clone(),
                status: EmploymentStatus::Active as i32,
                workflow: ReviewState::opened(!o.sections.is_empty()),
                opened_on: today,
                ..Summary::default()
            };
            for sec in &o.sections {
                diff.extend(field_diff(&sec.section_code, &[], &sec.fields));
                s.absorb(&sec.section_code, &sec.fields);
                put_section(tx, id, &sec.section_code, false, &sec.fields)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A step of the review cycle: the sections table follows the declaration,
/// and the summary's state moves by the one state machine,
/// [`ReviewState::after`].
fn review_step(
    tx: &Transaction<'_>,
    id: &str,
    event: &DomainEvent,
    today: String,
    s: &mut Summary,
    diff: &mut Vec<Value>,
) -> Result<(), ProjectionError> {
    use DomainEvent as E;
    // Whether declared sections still wait once the event is applied; only a
    // return asks, the other steps move the state whatever it is.
    let pending_after = match event {
        E::DeclarationSubmitted(d) => {
            let old = section_fields(tx, id, &d.section_code)?;
            diff.extend(field_diff(&d.section_code, &old, &d.fields));
            if !d.supporting_attachments.is_empty() || !d.sealed_attachments.is_empty() {
                let mut item = json!({ "section": d.section_code });
                if !d.supporting_attachments.is_empty() {
                    let proofs: Vec<String> =
                        d.supporting_attachments.iter().map(hex::encode).collect();
                    item["attachments"] = json!(proofs);
                }
                if !d.sealed_attachments.is_empty() {
                    // Opened by the API for a reader cleared for the section.
                    let sealed: Vec<String> =
                        d.sealed_attachments.iter().map(hex::encode).collect();
                    item["sealed_attachments"] = json!(sealed);
                }
                diff.push(item);
            }
            put_section(tx, id, &d.section_code, false, &d.fields)?;
            s.absorb(&d.section_code, &d.fields);
            true
        }
        E::DeclarationReturned(r) => {
            tx.prepare_cached(
                "DELETE FROM sections WHERE dossier_id = ?1 AND section_code = ?2 AND approved = 0",
            )?
            .execute(params![id, r.section_code])?;
            diff.push(json!({ "section": r.section_code, "returned": r.reasons }));
            let pending: i64 = tx.query_row(
                "SELECT count(*) FROM sections WHERE dossier_id = ?1 AND approved = 0",
                [id],
                |r| r.get(0),
            )?;
            pending > 0
        }
        E::DeclarationVerified(_) => true,
        E::DossierLocked(_) => {
            s.locked_on = Some(today);
            true
        }
        E::ApprovalSigned(a) => {
            // Pending sections come into force.
            tx.prepare_cached(
                "INSERT OR REPLACE INTO sections (dossier_id, section_code, approved, fields)
                 SELECT dossier_id, section_code, 1, fields FROM sections
                 WHERE dossier_id = ?1 AND approved = 0",
            )?
            .execute([id])?;
            tx.prepare_cached("DELETE FROM sections WHERE dossier_id = ?1 AND approved = 0")?
                .execute([id])?;
            s.locked_on = None;
            diff.push(json!({ "approved_revision": a.revision, "signer": a.signer }));
            false
        }
        _ => return Ok(()),
    };
    s.workflow = s.workflow.after(event, pending_after);
    Ok(())
}

/// Decisions, moves and status: what they change in the summary, and the
/// diff the history shows.
fn record_change(event: &DomainEvent, s: &mut Summary, diff: &mut Vec<Value>) {
    use DomainEvent as E;
    match event {
        E::RankChanged(r) => {
            diff.push(change("rank", &s.rank_code, &r.rank_code));
            s.rank_code = Some(r.rank_code.clone());
            s.rank_name = Some(r.rank_name.clone());
        }
        E::SalaryChanged(r) => diff.push(change(
            "salary",
            Value::Null,
            json!({ "rank": r.rank_code, "step": r.step, "coefficient_x100": r.coefficient_x100 }),
        )),
        E::AppointmentRecorded(a) => {
            let relieved = a.kind() == hoso_schemas::pb::dossier::AppointmentKind::Relieved;
            let to = (!relieved).then(|| a.position_title.clone());
            diff.push(change("position", &s.job_position, &to));
            s.job_position = to;
        }
        E::PlanningRecorded(p) => diff.push(change(
            "planning",
            Value::Null,
            json!({ "position": p.position_title, "org_code": p.org_code,
                    "from_year": p.from_year, "until_year": p.until_year }),
        )),
        E::AllowanceChanged(a) => diff.push(change(
            "allowance",
            Value::Null,
            json!({ "kind": spelled(a.kind().as_str_name(), "ALLOWANCE_KIND_"), "name": a.name,
                    "amount": allowance_amount(a.amount.as_ref()) }),
        )),
        E::AwardGranted(a) => diff.push(change(
            "award",
            Value::Null,
            json!({ "form": a.form, "year": a.year }),
        )),
        // The reason is sealed (secret): only the form and the period.
        E::DisciplineImposed(d) => diff.push(change(
            "discipline",
            Value::Null,
            json!({ "form": spelled(d.form().as_str_name(), "DISCIPLINE_FORM_"),
                    "body": spelled(d.body().as_str_name(), "DISCIPLINE_BODY_"),
                    "until": d.until.as_ref().and_then(pb_date_text) }),
        )),
        E::TrainingRecorded(t) => diff.push(change(
            "training",
            Value::Null,
            json!({ "institution": t.institution, "major": t.major,
                    "mode": spelled(t.mode().as_str_name(), "TRAINING_MODE_"),
                    "qualification": t.qualification,
                    "from": t.from.as_ref().and_then(pb_date_text),
                    "until": t.until.as_ref().and_then(pb_date_text) }),
        )),
        E::EvaluationRecorded(e) => diff.push(change(
            "evaluation",
            Value::Null,
            json!({ "year": e.year,
                    "grade": spelled(e.grade().as_str_name(), "EVALUATION_GRADE_") }),
        )),
        E::DepartmentChanged(m) => {
            diff.push(change("employing_unit", &m.from_org_code, &m.to_org_code));
            s.employing_unit.clone_from(&m.to_org_code);
        }
        E::TransferInitiated(t) => {
            diff.push(json!({ "transfer": t.transfer_id, "to": t.to_org_code }));
        }
        E::TransferAccepted(t) => {
            // The acceptance names the receiving agency, which becomes both
            // managing and employing unit until a forward.
            diff.push(change("managing_unit", &s.managing_unit, &t.org_code));
            s.managing_unit.clone_from(&t.org_code);
            s.employing_unit.clone_from(&t.org_code);
        }
        E::TransferForwarded(t) => {
            diff.push(change("employing_unit", &t.from_org_code, &t.to_org_code));
            s.employing_unit.clone_from(&t.to_org_code);
        }
        E::StatusChanged(st) => {
            diff.push(change("status", s.status, st.status));
            s.status = st.status;
        }
        E::ManagingUnitReassigned(m) => {
            if s.managing_unit == m.from_org_code {
                diff.push(change("managing_unit", &s.managing_unit, &m.to_org_code));
                s.managing_unit.clone_from(&m.to_org_code);
            }
            if s.employing_unit == m.from_org_code {
                diff.push(change("employing_unit", &s.employing_unit, &m.to_org_code));
                s.employing_unit.clone_from(&m.to_org_code);
            }
        }
        _ => {}
    }
}

/// One row of the approvals feed ([`crate::approvals`]).
fn insert_approval(
    tx: &Transaction<'_>,
    e: &RecordedEvent,
    id: &str,
    a: &hoso_schemas::pb::dossier::ApprovalSigned,
) -> Result<(), ProjectionError> {
    tx.prepare_cached(
        "INSERT INTO approvals (position, dossier_id, event_revision, approved_revision,
                                stream_hash, signer, delegated_from, key_id, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        i64::try_from(e.position).unwrap_or(i64::MAX),
        id,
        i64::try_from(e.revision).unwrap_or(i64::MAX),
        i64::try_from(a.revision).unwrap_or(i64::MAX),
        a.stream_hash,
        a.signer,
        a.delegated_from,
        a.key_id,
        e.recorded_at.timestamp_micros(),
    ])?;
    Ok(())
}

/// One row of the dossier's history: the event as stored, its document and
/// the diff it made.
fn insert_history(
    tx: &Transaction<'_>,
    p: &Prepared,
    id: &str,
    diff: &Value,
) -> Result<(), ProjectionError> {
    let e = &p.recorded;
    let doc = e.source_document.as_ref();
    let diff_text = match diff {
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        d => d.to_string(),
    };
    tx.prepare_cached(
        "INSERT INTO history (dossier_id, revision, position, type, actor, recorded_at, effective,
                              doc_number, doc_date, doc_issuer, doc_sha256, body, diff)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        id,
        i64::try_from(e.revision).unwrap_or(i64::MAX),
        i64::try_from(e.position).unwrap_or(i64::MAX),
        e.event_type,
        e.actor,
        e.recorded_at.timestamp_micros(),
        p.effective,
        doc.map(|d| d.number.as_str()),
        doc.map(|d| date_text(d.date)),
        doc.map(|d| d.issuer.as_str()),
        doc.and_then(|d| d.attachment_sha256).map(|h| h.to_vec()),
        p.body,
        diff_text
    ])?;
    Ok(())
}

fn put_section(
    tx: &Transaction<'_>,
    dossier: &str,
    section: &str,
    approved: bool,
    fields: &[FieldEntry],
) -> Result<(), ProjectionError> {
    let bytes = SectionData {
        section_code: section.to_owned(),
        fields: fields.to_vec(),
    }
    .encode_to_vec();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO sections (dossier_id, section_code, approved, fields)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![dossier, section, approved, bytes])?;
    Ok(())
}

fn upsert_summary(tx: &Transaction<'_>, id: &str, s: &Summary) -> Result<(), ProjectionError> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO dossiers
         (id, person_key, full_name, name_folded, birth_year, gender, ethnicity, education,
          qualification, party_member, category, managing_unit, employing_unit, status, workflow,
          rank_code, rank_name, job_position, archived, revision, opened_on, locked_on,
          person_id_sealed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23)",
    )?;
    stmt.execute(params![
        id,
        s.person_key,
        s.full_name,
        fold(&s.full_name),
        s.birth_year,
        s.gender,
        s.ethnicity,
        s.education,
        s.qualification,
        s.party_member,
        s.category,
        s.managing_unit,
        s.employing_unit,
        s.status,
        s.workflow.as_str(),
        s.rank_code,
        s.rank_name,
        s.job_position,
        s.archived(),
        i64::try_from(s.revision).unwrap_or(i64::MAX),
        s.opened_on,
        s.locked_on,
        s.person_id_sealed
    ])?;
    Ok(())
}

//! The national exchange format through the read model: a dossier written as
//! fixed events (every section of the form, every fact, restricted fields
//! sealed as the handlers seal them, a change declared after the approval),
//! projected, taken as its approval left it and mapped; the canonical bytes
//! are compared with committed golden files at two allowed levels. Then the
//! same bytes after a rebuild, and the approvals feed over the real handlers.
//!
//! To regenerate the golden files after a deliberate change of the format
//! (which is a new format version, see docs/national-exchange-format.md):
//! `HOSO_UPDATE_GOLDEN=1 cargo test -p hoso-projections --test exchange`.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use hoso_commands::sealing::{Keyring, PERSON_ID_CONTEXT};
use hoso_commands::testkit::{self, Province};
use hoso_commands::workflows::{Declare, Review};
use hoso_domain::clock::{Clock, ManualClock};
use hoso_domain::profile::Profile;
use hoso_domain::restriction::{Restriction, RestrictionMap, seal_context};
use hoso_ledger::sqlite::SqliteStore;
use hoso_ledger::{EventStore, ExpectedRevision, NewEvent, StoreOptions};
use hoso_projections::exchange::{self, OpenError, SealedOpener};
use hoso_projections::{IdentifierSealer, ReadModel};
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::common::{Date, PersonnelCategory};
use hoso_schemas::pb::dossier as pb;

const DOSSIER: &str = "0193f0a0-0000-7000-8000-000000000015";
const PID: &str = "033190001234";

/// The field keys as the read model's sealer and the exchange's opener.
struct Keys(Arc<Keyring>);

impl IdentifierSealer for Keys {
    fn person_key(&self, person_id: &str) -> String {
        self.0.person_key(person_id)
    }

    fn seal_person_id(
        &self,
        dossier_id: &str,
        person_id: &str,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self
            .0
            .seal_stable(dossier_id, PERSON_ID_CONTEXT, person_id.as_bytes())?)
    }
}

impl SealedOpener for Keys {
    fn open_person_id(&self, dossier_id: &str, sealed: &[u8]) -> Result<String, OpenError> {
        let plain = self.0.open_sealed(dossier_id, PERSON_ID_CONTEXT, sealed)?;
        Ok(String::from_utf8(plain)?)
    }

    fn open_field(
        &self,
        dossier_id: &str,
        field: &str,
        row: u32,
        sealed: &[u8],
    ) -> Result<String, OpenError> {
        let plain = self
            .0
            .open_sealed(dossier_id, &seal_context(field, row), sealed)?;
        Ok(String::from_utf8(plain)?)
    }
}

fn levels() -> RestrictionMap {
    Profile::load("national").unwrap().restrictions().clone()
}

fn date(year: u32, month: u32, day: u32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// Every section of the form with a value for every field (two rows for
/// the tables), restricted and secret values sealed as the handlers do.
fn declarations(keys: &Keyring, levels: &RestrictionMap) -> Vec<pb::DeclarationSubmitted> {
    let value = |field: &str, row: u32| -> String {
        match field {
            "1" => "NGUYỄN THỊ HƯƠNG".into(),
            "3a" => "17/05/1990".into(),
            "3b" => "Nữ".into(),
            "25a" => PID.into(),
            "25b" | "11a" | "16a" | "16b" | "18a" | "18b" | "n.17" => "02/01/2016".into(),
            "31.r1" => format!("0{row}/2020"),
            "14c" => "3".into(),
            "14d" | "31.r3" => "2,67".into(),
            _ => format!("{field} · dòng {row} — giá trị \"mẫu\""),
        }
    };
    hoso_domain::form::SECTIONS
        .iter()
        .map(|spec| {
            let rows: &[u32] = if spec.table { &[1, 2] } else { &[0] };
            let mut fields = Vec::new();
            for &row in rows {
                for &field in spec.fields {
                    let v = value(field, row);
                    let entry = if levels.field(spec.code, field).is_sealed() {
                        pb::FieldEntry {
                            field_code: field.into(),
                            value: String::new(),
                            row,
                            sealed: keys
                                .seal(DOSSIER, &seal_context(field, row), v.as_bytes())
                                .unwrap(),
                        }
                    } else {
                        pb::FieldEntry {
                            field_code: field.into(),
                            value: v,
                            row,
                            sealed: Vec::new(),
                        }
                    };
                    fields.push(entry);
                }
            }
            pb::DeclarationSubmitted {
                form: hoso_domain::form::FORM_2C.into(),
                section_code: spec.code.into(),
                fields,
                ..Default::default()
            }
        })
        .collect()
}

/// The fixed dossier's events: opened, decisions, every section declared,
/// verified, locked, approved (revision returned), then a decision and a
/// declaration after the approval that the approved document must not show.
fn events(keys: &Keyring) -> (Vec<DomainEvent>, u64) {
    let levels = levels();
    let mut ev = vec![
        DomainEvent::DossierOpened(pb::DossierOpened {
            full_name: "Nguyễn Thị Hương".into(),
            category: PersonnelCategory::VienChuc as i32,
            managing_unit: testkit::HOSPITAL.into(),
            employing_unit: testkit::HOSPITAL.into(),
            recruited_on: date(2016, 1, 2),
            birth_date: date(1990, 5, 17),
            person_id_sealed: keys
                .seal(DOSSIER, PERSON_ID_CONTEXT, PID.as_bytes())
                .unwrap(),
            person_key: keys.person_key(PID),
            ..Default::default()
        }),
        DomainEvent::RankChanged(pb::RankChanged {
            kind: pb::RankChangeKind::Initial as i32,
            rank_code: "V.08.05.12".into(),
            rank_name: "Điều dưỡng hạng IV".into(),
            effective: date(2016, 1, 2),
            ..Default::default()
        }),
        DomainEvent::SalaryChanged(pb::SalaryChanged {
            rank_code: "V.08.05.12".into(),
            step: 3,
            coefficient_x100: 267,
            salary_group: "A0".into(),
            effective: date(2022, 1, 1),
            ..Default::default()
        }),
        DomainEvent::AppointmentRecorded(pb::AppointmentRecorded {
            kind: pb::AppointmentKind::Appointed as i32,
            position_title: "Điều dưỡng trưởng khoa".into(),
            org_code: testkit::HOSPITAL.into(),
            effective: date(2023, 7, 1),
            ..Default::default()
        }),
        DomainEvent::AwardGranted(pb::AwardGranted {
            form: "Giấy khen của Giám đốc Sở Y tế".into(),
            year: 2024,
            ..Default::default()
        }),
        DomainEvent::EvaluationRecorded(pb::EvaluationRecorded {
            year: 2024,
            grade: pb::EvaluationGrade::Excellent as i32,
            ..Default::default()
        }),
        DomainEvent::DisciplineImposed(pb::DisciplineImposed {
            form: pb::DisciplineForm::Reprimand as i32,
            body: pb::DisciplineBody::Government as i32,
            effective: date(2025, 3, 1),
            sealed_reason: keys.seal(DOSSIER, b"reason", b"x").unwrap(),
            ..Default::default()
        }),
    ];
    ev.extend(
        declarations(keys, &levels)
            .into_iter()
            .map(DomainEvent::DeclarationSubmitted),
    );
    ev.push(DomainEvent::DeclarationVerified(pb::DeclarationVerified {
        section_codes: hoso_domain::form::SECTIONS
            .iter()
            .map(|s| s.code.to_owned())
            .collect(),
        note: "khớp hồ sơ gốc".into(),
    }));
    ev.push(DomainEvent::DossierLocked(pb::DossierLocked {
        reason: "approval".into(),
    }));
    let approved = ev.len() as u64 - 1;
    ev.push(DomainEvent::ApprovalSigned(pb::ApprovalSigned {
        revision: approved,
        stream_hash: vec![0; 32],
        key_id: "k-giamdoc".into(),
        signature: vec![0; 64],
        signer: "account-giamdoc".into(),
        delegated_from: None,
    }));
    ev.push(DomainEvent::RankChanged(pb::RankChanged {
        kind: pb::RankChangeKind::Promoted as i32,
        rank_code: "V.08.05.11".into(),
        rank_name: "Điều dưỡng hạng III".into(),
        effective: date(2026, 1, 1),
        ..Default::default()
    }));
    ev.push(DomainEvent::DeclarationSubmitted(
        pb::DeclarationSubmitted {
            form: hoso_domain::form::FORM_2C.into(),
            section_code: "residence".into(),
            fields: vec![pb::FieldEntry {
                field_code: "8".into(),
                value: String::new(),
                row: 0,
                sealed: keys
                    .seal(DOSSIER, &seal_context("8", 0), "Địa chỉ mới".as_bytes())
                    .unwrap(),
            }],
            ..Default::default()
        },
    ));
    (ev, approved)
}

struct Fixed {
    dir: tempfile::TempDir,
    store: SqliteStore,
    keys: Arc<Keys>,
    clock: Arc<dyn Clock>,
    approved: u64,
}

async fn fixed() -> Fixed {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 5, 3, 0, 0).unwrap(),
    ));
    let store = SqliteStore::create(
        dir.path(),
        StoreOptions {
            clock: hoso_commands::ledger_time(clock.clone()),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let keys = Arc::new(Keys(Arc::new(Keyring::create(dir.path(), None).unwrap())));
    let (events, approved) = events(&keys.0);
    let stream = format!("{}{DOSSIER}", hoso_domain::dossier::STREAM_PREFIX);
    // One event an append, as the handlers write them.
    for (revision, e) in events.iter().enumerate() {
        let expected = match revision {
            0 => ExpectedRevision::NoStream,
            r => ExpectedRevision::Exact(r as u64 - 1),
        };
        store
            .append(
                &stream,
                expected,
                vec![NewEvent::from_domain(e).with_actor("account-fixed")],
            )
            .await
            .unwrap();
    }
    Fixed {
        dir,
        store,
        keys,
        clock,
        approved,
    }
}

async fn model_of(f: &Fixed, dir: &std::path::Path) -> ReadModel {
    let (m, _) = ReadModel::open(dir, f.clock.clone(), f.keys.clone()).unwrap();
    m.catch_up(&f.store).await.unwrap();
    m
}

fn document_bytes(m: &ReadModel, keys: &Keys, allowed: Restriction) -> Vec<u8> {
    let approvals = m.approvals_between(None, u64::MAX).unwrap();
    assert_eq!(approvals.len(), 1);
    let view = m.dossier_as_approved(&approvals[0]).unwrap().unwrap();
    let doc = exchange::to_document(
        &view,
        approvals[0].approved_revision,
        &levels(),
        allowed,
        keys,
    )
    .unwrap();
    exchange::to_bytes(&doc).unwrap()
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares with the committed file, or writes it when asked to.
fn check_golden(name: &str, bytes: &[u8]) {
    let path = golden(name);
    if std::env::var_os("HOSO_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (HOSO_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        want == bytes,
        "{name} differs from its golden file:\nwant {}\ngot  {}",
        String::from_utf8_lossy(&want),
        String::from_utf8_lossy(bytes)
    );
}

#[tokio::test]
async fn golden_document_at_the_restricted_level_sends_restricted_fields_opened() {
    let f = fixed().await;
    let m = model_of(&f, f.dir.path()).await;
    let bytes = document_bytes(&m, &f.keys, Restriction::Restricted);
    check_golden("hoso-national-1.restricted.json", &bytes);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(&format!("\"identification_number\":\"{PID}\"")));
    // Secret data stays home: the discipline fact and item 22.
    assert!(text.contains("\"withheld\":[\"discipline\",\"honours/discipline\"]"));
    assert!(!text.contains("\"discipline\":["));
    // The approved state: neither the later promotion nor the later address.
    assert!(text.contains("Điều dưỡng hạng IV") && !text.contains("hạng III"));
    assert!(!text.contains("Địa chỉ mới"));
}

#[tokio::test]
async fn golden_document_at_the_general_level_withholds_the_number_and_restricted_fields() {
    let f = fixed().await;
    let m = model_of(&f, f.dir.path()).await;
    let bytes = document_bytes(&m, &f.keys, Restriction::General);
    check_golden("hoso-national-1.general.json", &bytes);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        !text.contains(PID),
        "the identification number is restricted"
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let withheld: Vec<&str> = doc["withheld"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in [
        "identification_number",
        "discipline",
        "identity/identification_number",
        "identity/religion",
        "residence/permanent_residence",
        "health/health_status",
        "family/full_name",
    ] {
        assert!(
            withheld.contains(&name),
            "{name} not withheld: {withheld:?}"
        );
    }
    // Sections entirely restricted are left out, not sent empty.
    for section in ["residence", "health", "history", "family", "social_media"] {
        assert!(doc["sections"].get(section).is_none(), "{section} sent");
    }
    assert!(doc["sections"]["identity"].get("religion").is_none());
    assert_eq!(doc["sections"]["identity"]["full_name"], "NGUYỄN THỊ HƯƠNG");
    assert_eq!(doc["sections"]["training"][1]["row"], 2);
}

#[tokio::test]
async fn at_the_secret_level_everything_is_sent_and_nothing_withheld() {
    let f = fixed().await;
    let m = model_of(&f, f.dir.path()).await;
    let bytes = document_bytes(&m, &f.keys, Restriction::Secret);
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["withheld"], serde_json::json!([]));
    assert_eq!(doc["discipline"][0]["form"], "DISCIPLINE_FORM_REPRIMAND");
    let sent: usize = doc["sections"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| match s {
            serde_json::Value::Array(rows) => {
                rows.iter().map(|r| r.as_object().unwrap().len() - 1).sum()
            }
            serde_json::Value::Object(o) => o.len(),
            _ => unreachable!(),
        })
        .sum();
    let declared: usize = hoso_domain::form::SECTIONS
        .iter()
        .map(|s| s.fields.len() * if s.table { 2 } else { 1 })
        .sum();
    assert_eq!(
        sent, declared,
        "every declared field of every section is sent"
    );
}

#[tokio::test]
async fn the_same_revision_gives_the_same_bytes_after_a_rebuild() {
    let f = fixed().await;
    let live_dir = tempfile::tempdir().unwrap();
    let live = model_of(&f, live_dir.path()).await;
    let before = document_bytes(&live, &f.keys, Restriction::Restricted);
    drop(live);
    let (rebuilt, _) = ReadModel::rebuild(
        live_dir.path(),
        &f.store,
        f.clock.clone(),
        f.keys.clone(),
        &|_| {},
    )
    .await
    .unwrap();
    let after = document_bytes(&rebuilt, &f.keys, Restriction::Restricted);
    assert_eq!(before, after);
    assert_eq!(exchange::digest(&before), exchange::digest(&after));
    assert_eq!(
        hex::encode(exchange::digest(&before)),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&before))
    );
}

#[tokio::test]
async fn a_view_with_pending_sections_or_another_approval_is_refused() {
    let f = fixed().await;
    let m = model_of(&f, f.dir.path()).await;
    let now = m.dossier(DOSSIER, None, None).unwrap().unwrap();
    let err = exchange::to_document(&now, f.approved, &levels(), Restriction::General, &*f.keys)
        .unwrap_err();
    assert!(
        matches!(err, exchange::ExchangeError::Pending { .. }),
        "{err}"
    );
    let approval = &m.approvals_between(None, u64::MAX).unwrap()[0];
    let view = m.dossier_as_approved(approval).unwrap().unwrap();
    let err = exchange::to_document(
        &view,
        f.approved - 1,
        &levels(),
        Restriction::General,
        &*f.keys,
    )
    .unwrap_err();
    assert!(
        matches!(err, exchange::ExchangeError::NotApproved { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn approvals_are_listed_between_positions_in_log_order() {
    let p = Province::new("national", testkit::d(2026, 1, 5)).await;
    let (first, person) = p.approved_dossier("033190001234").await;
    let (second, _) = p.approved_dossier("033190005678").await;
    // A change declared after the first approval, approved later.
    p.wf.declare(
        &person,
        Declare::new(
            &first,
            "recruitment",
            vec![
                testkit::f("11a", "02/01/2026", 0),
                testkit::f("11b", "Sở Y tế tỉnh", 0),
            ],
        )
        .with_attachments(vec![[7; 32]]),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(Keys(p.wf.keyring().clone()));
    let (m, _) = ReadModel::open(dir.path(), p.clock.clone(), keys.clone()).unwrap();
    m.catch_up(p.store.as_ref()).await.unwrap();

    let all = m.approvals_between(None, u64::MAX).unwrap();
    assert_eq!(
        all.iter()
            .map(|a| a.dossier_id.as_str())
            .collect::<Vec<_>>(),
        [first.as_str(), second.as_str()]
    );
    assert!(all[0].position < all[1].position);
    // The range is (from, to]: each bound cuts exactly at an approval.
    assert_eq!(
        m.approvals_between(None, all[0].position).unwrap(),
        all[..1]
    );
    assert_eq!(
        m.approvals_between(Some(all[0].position), all[1].position)
            .unwrap(),
        all[1..]
    );
    assert!(
        m.approvals_between(Some(all[1].position), u64::MAX)
            .unwrap()
            .is_empty()
    );
    assert!(
        m.approvals_between(None, all[0].position - 1)
            .unwrap()
            .is_empty()
    );
    // What the log recorded: the signed revision, its chain hash, the signer.
    let stream = p.stream(&format!("dossier-{first}")).await;
    let a = &all[0];
    assert_eq!(a.event_revision, a.approved_revision + 1);
    assert_eq!(a.stream_hash, stream[a.approved_revision as usize].hash);
    assert_eq!(stream[a.event_revision as usize].position, a.position);
    assert_eq!(a.signer, p.health_head.actor.account_id);
    assert_eq!(
        m.approval_of(&first, a.approved_revision).unwrap().as_ref(),
        Some(a)
    );

    // The approved state leaves the later declaration out; the current view has it.
    let approved = m.dossier_as_approved(a).unwrap().unwrap();
    assert!(approved.pending.is_empty());
    assert_eq!(
        approved.sections["recruitment"]
            .iter()
            .find(|f| f.field == "11b")
            .unwrap()
            .value,
        "Sở Y tế"
    );
    let now = m.dossier(&first, None, None).unwrap().unwrap();
    assert!(now.pending.contains_key("recruitment"));
    let doc = |view| {
        let d = exchange::to_document(
            view,
            a.approved_revision,
            &levels(),
            Restriction::Restricted,
            &*keys,
        )
        .unwrap();
        exchange::to_bytes(&d).unwrap()
    };
    let bytes = doc(&approved);
    assert!(String::from_utf8_lossy(&bytes).contains("033190001234"));

    // Approved in its turn, the change lands in a later approval.
    p.wf.review(&p.health_focal, Review::verify(&first, "khớp"))
        .await
        .unwrap();
    p.wf.review(&p.health_focal, Review::lock(&first))
        .await
        .unwrap();
    p.sign(&p.health_head, &first).await.unwrap();
    m.catch_up(p.store.as_ref()).await.unwrap();
    let later = m
        .approvals_between(Some(all[1].position), u64::MAX)
        .unwrap();
    assert_eq!(later.len(), 1);
    let next = m.dossier_as_approved(&later[0]).unwrap().unwrap();
    assert_eq!(
        next.sections["recruitment"]
            .iter()
            .find(|f| f.field == "11b")
            .unwrap()
            .value,
        "Sở Y tế tỉnh"
    );
    // The first approval's document has not moved.
    assert_eq!(doc(&m.dossier_as_approved(a).unwrap().unwrap()), bytes);
}

#[tokio::test]
async fn a_document_read_back_gives_the_approved_sections_and_fields() {
    let f = fixed().await;
    let m = model_of(&f, f.dir.path()).await;
    let bytes = document_bytes(&m, &f.keys, Restriction::Secret);
    let incoming = hoso_projections::exchange_in::from_document(&bytes).unwrap();
    assert_eq!(incoming.identification_number, PID);
    assert_eq!(incoming.dossier_id, DOSSIER);
    assert_eq!(incoming.approved_revision, f.approved);

    // What the approval left, opened: (section, field code, row, value).
    let approvals = m.approvals_between(None, u64::MAX).unwrap();
    let view = m.dossier_as_approved(&approvals[0]).unwrap().unwrap();
    assert_eq!(incoming.full_name, view.full_name);
    assert_eq!(
        hoso_schemas::Spelling::spelling(incoming.category),
        view.category
    );
    let mut want: Vec<(String, String, u32, String)> = Vec::new();
    for (section, fields) in &view.sections {
        for field in fields {
            let value = match &field.sealed {
                Some(h) => f
                    .keys
                    .open_field(DOSSIER, &field.field, field.row, &hex::decode(h).unwrap())
                    .unwrap(),
                None => field.value.clone(),
            };
            want.push((section.clone(), field.field.clone(), field.row, value));
        }
    }
    let mut got: Vec<(String, String, u32, String)> = incoming
        .sections
        .iter()
        .flat_map(|(section, fields)| {
            fields.iter().map(|e| {
                (
                    section.clone(),
                    e.field_code.clone(),
                    e.row,
                    e.value.clone(),
                )
            })
        })
        .collect();
    want.sort();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // Sections come back in form order.
    let order: Vec<&str> = incoming.sections.iter().map(|(s, _)| s.as_str()).collect();
    let form: Vec<&str> = hoso_domain::form::SECTIONS
        .iter()
        .map(|s| s.code)
        .filter(|c| order.contains(c))
        .collect();
    assert_eq!(order, form);

    // At the general level the number is withheld: no import.
    let general = document_bytes(&m, &f.keys, Restriction::General);
    assert_eq!(
        hoso_projections::exchange_in::from_document(&general).unwrap_err(),
        hoso_projections::exchange_in::IncomingError::IdentificationWithheld
    );
}

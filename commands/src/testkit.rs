//! Test kit (feature `testkit`): a small province on a real SQLite store
//! for the workflow and projection tests — the Sở Nội vụ administrator, a
//! department of health with two internal divisions and a hospital, a
//! department of education with a school, the focal points and heads of
//! both departments with signing keys, and a manual clock.
//!
//! It panics on any failure: it exists only to set the scene of a test, and
//! a test whose scene cannot be set must fail loudly where it broke.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::workflows::{Approve, Declare, Review};
use std::sync::Arc;

use crate::credentials::CredentialStore;
use crate::workflows::{Actor, ApprovalSignature, IssueAccount, OpenDossier, Receipt, Workflows};
use chrono::{NaiveDate, TimeZone, Utc};
use ed25519_dalek::{Signer, SigningKey};
use hoso_domain::account::{AccountChange, AccountKind};
use hoso_domain::calendar::WorkingCalendar;
use hoso_domain::clock::ManualClock;
use hoso_domain::org::{OrgChange, OrgCommand, OrgUnitKind};
use hoso_domain::profile::Profile;
use hoso_ledger::store::StoreOptions;
use hoso_ledger::{Direction, EventStore, RecordedEvent, SourceDocument, SqliteStore, StreamFrom};
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use hoso_schemas::pb::dossier::FieldEntry;
use hoso_schemas::{DomainEvent, Registry};

pub const ROOT: &str = "000.00.00.H33";
pub const SNV: &str = "000.01.00.H33";
pub const HEALTH: &str = "000.02.00.H33";
pub const HEALTH_DIV_A: &str = "001.02.00.H33";
pub const HEALTH_DIV_B: &str = "002.02.00.H33";
pub const HOSPITAL: &str = "000.02.01.H33";
pub const EDUCATION: &str = "000.03.00.H33";
pub const SCHOOL: &str = "000.03.01.H33";

pub const ADMIN_PASSWORD: &str = "Khoi-Tao#2026!";
pub const ADMIN_NEW_PASSWORD: &str = "Doi-Ngay#2026!";

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn doc(number: &str, date: NaiveDate) -> SourceDocument {
    SourceDocument {
        number: number.into(),
        date,
        issuer: "UBND tỉnh Hưng Yên".into(),
        attachment_sha256: Some([0x5c; 32]),
    }
}

pub fn paper_only(number: &str, date: NaiveDate) -> SourceDocument {
    SourceDocument {
        attachment_sha256: None,
        ..doc(number, date)
    }
}

pub fn f(code: &str, value: &str, row: u32) -> FieldEntry {
    FieldEntry {
        field_code: code.into(),
        value: value.into(),
        row,
        sealed: Vec::new(),
    }
}

pub struct Head {
    pub actor: Actor,
    pub key_id: String,
    pub key: SigningKey,
}

pub struct Province {
    pub dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    pub wf: Workflows,
    pub admin: Actor,
    pub health_focal: Actor,
    pub health_head: Head,
    pub education_focal: Actor,
    pub education_head: Head,
}

/// Sets the clock to 10:00 in Vietnam on `day`.
pub fn set_today(clock: &ManualClock, day: NaiveDate) {
    clock.set(Utc.from_utc_datetime(&day.and_hms_opt(3, 0, 0).unwrap()));
}

/// The test province's units: code, name, kind, parent.
const UNITS: [(&str, &str, OrgUnitKind, Option<&str>); 8] = [
    (
        ROOT,
        "UBND tỉnh",
        OrgUnitKind::PeoplesCommitteeProvince,
        None,
    ),
    (
        SNV,
        "Sở Nội vụ",
        OrgUnitKind::ProvincialDepartment,
        Some(ROOT),
    ),
    (
        HEALTH,
        "Sở Y tế",
        OrgUnitKind::ProvincialDepartment,
        Some(ROOT),
    ),
    (
        HEALTH_DIV_A,
        "Phòng Tổ chức",
        OrgUnitKind::InternalDivision,
        Some(HEALTH),
    ),
    (
        HEALTH_DIV_B,
        "Phòng Nghiệp vụ Y",
        OrgUnitKind::InternalDivision,
        Some(HEALTH),
    ),
    (
        HOSPITAL,
        "Bệnh viện Đa khoa tỉnh",
        OrgUnitKind::PublicServiceUnit,
        Some(HEALTH),
    ),
    (
        EDUCATION,
        "Sở Giáo dục và Đào tạo",
        OrgUnitKind::ProvincialDepartment,
        Some(ROOT),
    ),
    (
        SCHOOL,
        "Trường THPT chuyên",
        OrgUnitKind::PublicServiceUnit,
        Some(EDUCATION),
    ),
];

/// Establishes [`UNITS`], parents first.
async fn establish_units(wf: &Workflows, admin: &Actor, founded: NaiveDate) {
    for (code, name, kind, parent) in UNITS {
        wf.org(
            admin,
            OrgCommand {
                code: code.into(),
                decision: paper_only("1/QĐ-UBND", founded),
                change: OrgChange::Establish {
                    name: name.into(),
                    kind,
                    parent: parent.map(Into::into),
                    effective: founded,
                },
            },
        )
        .await
        .unwrap();
    }
}

impl Province {
    pub async fn new(profile: &str, today: NaiveDate) -> Self {
        Self::with_profile(Profile::load(profile).unwrap(), today).await
    }

    pub async fn with_profile(profile: Profile, today: NaiveDate) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(
            Utc.from_utc_datetime(&today.and_hms_opt(3, 0, 0).unwrap()),
        ));
        let store = Arc::new(
            SqliteStore::create(
                dir.path(),
                StoreOptions {
                    clock: crate::ledger_time(clock.clone()),
                    ..StoreOptions::default()
                },
            )
            .unwrap(),
        );
        let wf = Workflows::new(
            store.clone(),
            profile,
            WorkingCalendar::official().unwrap(),
            clock.clone(),
            CredentialStore::in_memory().unwrap(),
            Arc::new(crate::sealing::Keyring::create(dir.path(), None).unwrap()),
        );
        let (admin_id, _) = wf
            .bootstrap_system_admin("snv.admin", "Quản trị Sở Nội vụ", SNV, ADMIN_PASSWORD)
            .await
            .unwrap();
        wf.change_password(&admin_id, ADMIN_PASSWORD, ADMIN_NEW_PASSWORD)
            .await
            .unwrap();
        let admin = Actor::new(admin_id);
        let founded = d(2020, 1, 1);
        establish_units(&wf, &admin, founded).await;
        let health_focal = staff(
            &wf,
            &admin,
            "yte.tochuc",
            HEALTH,
            AccountKind::Specialist,
            Some(AccessRight::Update),
        )
        .await;
        let education_focal = staff(
            &wf,
            &admin,
            "gd.tochuc",
            EDUCATION,
            AccountKind::Specialist,
            Some(AccessRight::Update),
        )
        .await;
        let health_head = head(&wf, &admin, "yte.giamdoc", HEALTH, 1, today).await;
        let education_head = head(&wf, &admin, "gd.giamdoc", EDUCATION, 2, today).await;
        Self {
            dir,
            store,
            clock,
            wf,
            admin,
            health_focal,
            health_head,
            education_focal,
            education_head,
        }
    }

    pub fn set_today(&self, day: NaiveDate) {
        set_today(&self.clock, day);
    }

    pub async fn stream(&self, stream: &str) -> Vec<RecordedEvent> {
        self.store
            .read_stream(stream, StreamFrom::Start, Direction::Forwards, usize::MAX)
            .await
            .unwrap()
    }

    pub async fn events(&self, stream: &str) -> Vec<DomainEvent> {
        let registry = Registry::standard();
        self.stream(stream)
            .await
            .iter()
            .map(|e| hoso_ledger::typed::decode(&registry, e).unwrap())
            .collect()
    }

    /// Opens a dossier for a hospital public employee.
    pub async fn open(&self, person_id: &str, unit: &str, focal: &Actor) -> String {
        let (id, _) = self
            .wf
            .open_dossier(focal, self.opening(person_id, unit))
            .await
            .unwrap();
        id
    }

    pub fn opening(&self, person_id: &str, unit: &str) -> OpenDossier {
        OpenDossier {
            person_id: person_id.into(),
            full_name: "Nguyễn Thị Hương".into(),
            birth_date: Some(d(1990, 5, 17)),
            category: PersonnelCategory::VienChuc,
            managing_unit: unit.into(),
            employing_unit: unit.into(),
            recruited_on: d(2026, 1, 2),
            decision: doc("12/QĐ-SYT", d(2026, 1, 2)),
        }
    }

    /// Issues the person's personal account with a password already changed.
    pub async fn personal_account(&self, person_id: &str, unit: &str, focal: &Actor) -> Actor {
        let username = format!("p{person_id}");
        let (id, _) = self
            .wf
            .issue_account(
                focal,
                IssueAccount {
                    kind: AccountKind::Personal,
                    username,
                    org_code: unit.into(),
                    person_id: Some(person_id.into()),
                    display_name: "Nguyễn Thị Hương".into(),
                    birth_date: Some(d(1990, 5, 17)),
                },
            )
            .await
            .unwrap();
        self.wf
            .issue_password(focal, &id, "Cap-Moi#2026!x")
            .await
            .unwrap();
        self.wf
            .change_password(&id, "Cap-Moi#2026!x", "Cua-Toi#2026!y")
            .await
            .unwrap();
        Actor::new(id)
    }

    /// Declares the two sections a first approval needs.
    /// Opens a dossier in `unit`, declares its basics, verifies and locks
    /// it: ready for the head's signature.
    pub async fn locked_dossier(&self, person_id: &str, unit: &str, focal: &Actor) -> String {
        let id = self.open(person_id, unit, focal).await;
        self.declare_basics(focal, &id, person_id).await;
        self.wf
            .review(focal, Review::verify(&id, ""))
            .await
            .unwrap();
        self.wf.review(focal, Review::lock(&id)).await.unwrap();
        id
    }

    /// Education's deputy director (`gd.phogiamdoc`, key seed 11), holding
    /// `right` over Education, to whom the Education head delegates the
    /// approval of its viên chức for March 2026 (delegation `uq-2`, KT 8.1).
    pub async fn education_deputy(&self, right: Option<AccessRight>) -> Head {
        let today = self.wf.today();
        let deputy = signer(
            &self.wf,
            &self.admin,
            "gd.phogiamdoc",
            EDUCATION,
            AccountKind::Specialist,
            right,
            11,
            today,
        )
        .await;
        self.wf
            .account(
                &self.education_head.actor,
                &self.education_head.actor.account_id,
                AccountChange::Delegate {
                    delegation_id: "uq-2".into(),
                    to_account: deputy.actor.account_id.clone(),
                    valid_from: d(2026, 3, 1),
                    valid_until: d(2026, 3, 31),
                    org_codes: vec![],
                    categories: vec![PersonnelCategory::VienChuc],
                    decision: doc("4/QĐ-SGD", d(2026, 3, 1)),
                },
            )
            .await
            .unwrap();
        deputy
    }

    pub async fn declare_basics(&self, who: &Actor, dossier: &str, person_id: &str) -> Receipt {
        self.wf
            .declare(
                who,
                Declare::new(
                    dossier,
                    "identity",
                    vec![
                        f("1", "NGUYỄN THỊ HƯƠNG", 0),
                        f("3a", "17/05/1990", 0),
                        f("3b", "Nữ", 0),
                        f("25a", person_id, 0),
                    ],
                ),
            )
            .await
            .unwrap();
        self.wf
            .declare(
                who,
                Declare::new(
                    dossier,
                    "recruitment",
                    vec![f("11a", "02/01/2026", 0), f("11b", "Sở Y tế", 0)],
                ),
            )
            .await
            .unwrap()
    }

    /// Signs the dossier's current approval request with `head`'s key.
    pub async fn sign(
        &self,
        head: &Head,
        dossier: &str,
    ) -> Result<Receipt, crate::workflows::CommandError> {
        let req = self.wf.approval_request(dossier).await.unwrap();
        self.wf
            .approve(
                &head.actor,
                Approve {
                    dossier_id: String::from(dossier),
                    signature: ApprovalSignature {
                        revision: req.revision,
                        stream_hash: req.stream_hash,
                        key_id: head.key_id.clone(),
                        signature: head.key.sign(&req.digest).to_bytes().to_vec(),
                    },
                },
            )
            .await
    }

    /// Runs a dossier from opening to its first signed approval.
    pub async fn approved_dossier(&self, person_id: &str) -> (String, Actor) {
        let id = self.open(person_id, HOSPITAL, &self.health_focal).await;
        let person = self
            .personal_account(person_id, HOSPITAL, &self.health_focal)
            .await;
        self.declare_basics(&person, &id, person_id).await;
        self.wf
            .review(&self.health_focal, Review::verify(&id, "khớp hồ sơ gốc"))
            .await
            .unwrap();
        self.wf
            .review(&self.health_focal, Review::lock(&id))
            .await
            .unwrap();
        self.sign(&self.health_head, &id).await.unwrap();
        (id, person)
    }
}

/// Issues a staff account (password issued and changed) with an optional right over its unit.
pub async fn staff(
    wf: &Workflows,
    admin: &Actor,
    username: &str,
    org: &str,
    kind: AccountKind,
    right: Option<AccessRight>,
) -> Actor {
    let (id, _) = wf
        .issue_account(
            admin,
            IssueAccount {
                kind,
                username: username.into(),
                org_code: org.into(),
                person_id: None,
                display_name: format!("Cán bộ {username}"),
                birth_date: None,
            },
        )
        .await
        .unwrap();
    wf.issue_password(admin, &id, "Cap-Moi#2026!x")
        .await
        .unwrap();
    wf.change_password(&id, "Cap-Moi#2026!x", "Cua-Toi#2026!y")
        .await
        .unwrap();
    if let Some(right) = right {
        wf.account(
            admin,
            &id,
            AccountChange::Grant {
                org_code: org.into(),
                right,
                reason: "phân công".into(),
                decision: None,
            },
        )
        .await
        .unwrap();
    }
    Actor::new(id)
}

/// Issues an account of `kind` with a registered ed25519 key (seeded, so
/// tests are repeatable) and an optional right over its unit.
#[allow(clippy::too_many_arguments)]
pub async fn signer(
    wf: &Workflows,
    admin: &Actor,
    username: &str,
    org: &str,
    kind: AccountKind,
    right: Option<AccessRight>,
    seed: u8,
    today: NaiveDate,
) -> Head {
    let actor = staff(wf, admin, username, org, kind, right).await;
    let key = SigningKey::from_bytes(&[seed; 32]);
    let key_id = format!("{username}-2026");
    wf.account(
        &actor,
        &actor.account_id,
        AccountChange::RegisterKey {
            key_id: key_id.clone(),
            public_key: key.verifying_key().to_bytes().to_vec(),
            valid_from: today - chrono::Duration::days(400),
            valid_until: None,
        },
    )
    .await
    .unwrap();
    Head { actor, key_id, key }
}

/// Issues a head account with a registered ed25519 key.
pub async fn head(
    wf: &Workflows,
    admin: &Actor,
    username: &str,
    org: &str,
    seed: u8,
    today: NaiveDate,
) -> Head {
    signer(
        wf,
        admin,
        username,
        org,
        AccountKind::AgencyHead,
        Some(AccessRight::Access),
        seed,
        today,
    )
    .await
}

/// The national sync feed's actors, issued on demand so that provinces of
/// other tests keep their accounts.
impl Province {
    /// Issues the Sở Nội vụ director: an agency head of the system
    /// administrators' unit, with a registered key (seed 9).
    pub async fn director(&self) -> Head {
        head(
            &self.wf,
            &self.admin,
            "snv.giamdoc",
            SNV,
            9,
            self.wf.today(),
        )
        .await
    }

    /// Issues the national database's sync account (password changed).
    pub async fn national_sync(&self) -> Actor {
        staff(
            &self.wf,
            &self.admin,
            "csdlqg.dongbo",
            ROOT,
            AccountKind::NationalSync,
            None,
        )
        .await
    }
}

//! A synthetic province: organisation units and personnel with realistic Vietnamese
//! names, valid-format identification numbers, ranks and salary coefficients, turned
//! into catalogue events. Deterministic for a given seed, so demos and benchmarks are
//! repeatable.

use chrono::{Datelike, NaiveDate};
use hoso_ledger::{NewEvent, SourceDocument};
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::{common, dossier, org};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const FAMILY: &[&str] = &[
    "Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Lê", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan",
    "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Mai", "Lương",
];
const MIDDLE_MALE: &[&str] = &[
    "Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Công", "Xuân", "Anh", "Trọng",
];
const MIDDLE_FEMALE: &[&str] = &[
    "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Bích", "Phương", "Hồng",
];
const GIVEN_MALE: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khánh", "Long", "Minh", "Nam",
    "Phong", "Phúc", "Quân", "Sơn", "Tâm", "Thắng", "Toàn", "Trung", "Tuấn", "Việt", "Vinh",
];
const GIVEN_FEMALE: &[&str] = &[
    "An", "Anh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan", "Linh",
    "Mai", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Trang", "Vân", "Yến",
];
const PLACES: &[&str] = &[
    "xã Tân Hưng, tỉnh Hưng Yên",
    "phường Hiến Nam, tỉnh Hưng Yên",
    "xã Nghĩa Trụ, tỉnh Hưng Yên",
    "phường Thái Bình, tỉnh Hưng Yên",
    "xã Vũ Thư, tỉnh Hưng Yên",
    "phường Mỹ Hào, tỉnh Hưng Yên",
];

/// A rank (ngạch) or professional title with its salary group (Decree 204/2004).
#[derive(Debug, Clone, Copy)]
pub struct Rank {
    /// Code, e.g. `01.003`.
    pub code: &'static str,
    /// Vietnamese name.
    pub name: &'static str,
    /// Salary group, e.g. `A1`.
    pub group: &'static str,
    /// Coefficient at step 1, in hundredths.
    pub start_x100: u32,
    /// Increase per step, in hundredths.
    pub step_x100: u32,
    /// Highest step.
    pub steps: u32,
}

/// Ranks of civil servants (administrative units).
pub const CIVIL_RANKS: &[Rank] = &[
    Rank {
        code: "01.001",
        name: "Chuyên viên cao cấp",
        group: "A3.1",
        start_x100: 620,
        step_x100: 36,
        steps: 6,
    },
    Rank {
        code: "01.002",
        name: "Chuyên viên chính",
        group: "A2.1",
        start_x100: 440,
        step_x100: 34,
        steps: 8,
    },
    Rank {
        code: "01.003",
        name: "Chuyên viên",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "01.003",
        name: "Chuyên viên",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "01.003",
        name: "Chuyên viên",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "04.025",
        name: "Thanh tra viên",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "06.031",
        name: "Kế toán viên",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "01.004",
        name: "Cán sự",
        group: "A0",
        start_x100: 210,
        step_x100: 31,
        steps: 10,
    },
];

/// Professional titles of public employees (schools, hospitals).
pub const EMPLOYEE_TITLES: &[Rank] = &[
    Rank {
        code: "V.07.03.29",
        name: "Giáo viên tiểu học hạng III",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "V.07.04.32",
        name: "Giáo viên THCS hạng III",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "V.07.04.31",
        name: "Giáo viên THCS hạng II",
        group: "A2.2",
        start_x100: 400,
        step_x100: 34,
        steps: 8,
    },
    Rank {
        code: "V.07.02.26",
        name: "Giáo viên mầm non hạng III",
        group: "A0",
        start_x100: 210,
        step_x100: 31,
        steps: 10,
    },
    Rank {
        code: "V.08.01.03",
        name: "Bác sĩ (hạng III)",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
    Rank {
        code: "V.08.05.13",
        name: "Điều dưỡng hạng III",
        group: "A1",
        start_x100: 234,
        step_x100: 33,
        steps: 9,
    },
];

/// One unit of the organisation tree.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Electronic identifier code (QĐ 20/2020/QĐ-TTg).
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: org::OrgUnitKind,
    /// Parent code.
    pub parent: Option<String>,
}

/// One public servant of the synthetic province.
#[derive(Debug, Clone)]
pub struct Person {
    /// Dossier stream id.
    pub dossier: Uuid,
    /// 12-digit personal identification number.
    pub person_id: String,
    /// Full name.
    pub full_name: String,
    /// Sex.
    pub female: bool,
    /// Date of birth.
    pub born: NaiveDate,
    /// Personnel category.
    pub category: common::PersonnelCategory,
    /// Employing unit code.
    pub unit: String,
    /// Rank or title.
    pub rank: Rank,
    /// Current salary step.
    pub step: u32,
    /// Recruitment date.
    pub recruited: NaiveDate,
    /// Ethnic group code (QĐ 121-TCTK/PPCĐ).
    pub ethnicity: &'static str,
}

impl Person {
    /// The dossier's stream name.
    pub fn stream(&self) -> String {
        format!("dossier-{}", self.dossier)
    }
}

/// A deterministic generator.
pub struct Synth {
    rng: StdRng,
    decision_no: u32,
}

fn date(d: NaiveDate) -> common::Date {
    common::Date {
        year: d.year() as u32,
        month: d.month(),
        day: d.day(),
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

impl Synth {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            decision_no: 0,
        }
    }

    /// The province's tree: the People's Committee, its departments, communes and
    /// public service units (schools, a hospital).
    pub fn units(&mut self, communes: usize) -> Vec<Unit> {
        let root = "000.00.00.H33".to_owned();
        let mut units = vec![Unit {
            code: root.clone(),
            name: "Ủy ban nhân dân tỉnh Hưng Yên".into(),
            kind: org::OrgUnitKind::PeoplesCommitteeProvince,
            parent: None,
        }];
        let departments = [
            ("Sở Nội vụ", "H33.01"),
            ("Sở Tài chính", "H33.02"),
            ("Sở Giáo dục và Đào tạo", "H33.03"),
            ("Sở Y tế", "H33.04"),
            ("Sở Xây dựng", "H33.05"),
            ("Sở Nông nghiệp và Môi trường", "H33.06"),
            ("Sở Tư pháp", "H33.07"),
            ("Thanh tra tỉnh", "H33.08"),
        ];
        for (i, (name, _)) in departments.iter().enumerate() {
            let code = format!("000.{:02}.00.H33", i + 1);
            units.push(Unit {
                code: code.clone(),
                name: (*name).into(),
                kind: org::OrgUnitKind::ProvincialDepartment,
                parent: Some(root.clone()),
            });
            for (j, div) in ["Văn phòng", "Phòng Tổ chức cán bộ", "Phòng Kế hoạch"]
                .iter()
                .enumerate()
            {
                units.push(Unit {
                    code: format!("{:03}.{:02}.00.H33", j + 1, i + 1),
                    name: format!("{div} {name}"),
                    kind: org::OrgUnitKind::InternalDivision,
                    parent: Some(code.clone()),
                });
            }
        }
        let education = "000.03.00.H33".to_owned();
        let health = "000.04.00.H33".to_owned();
        for c in 0..communes {
            let name = pick(&mut self.rng, PLACES)
                .split(',')
                .next()
                .unwrap_or("xã")
                .to_owned();
            units.push(Unit {
                code: format!("000.00.{:02}.H33", c + 1),
                name: format!("Ủy ban nhân dân {name} ({})", c + 1),
                kind: org::OrgUnitKind::PeoplesCommitteeCommune,
                parent: Some(root.clone()),
            });
            units.push(Unit {
                code: format!("{:03}.03.{:02}.H33", 100 + c, c + 1),
                name: format!("Trường Trung học cơ sở số {}", c + 1),
                kind: org::OrgUnitKind::PublicServiceUnit,
                parent: Some(education.clone()),
            });
        }
        units.push(Unit {
            code: "900.04.00.H33".into(),
            name: "Bệnh viện Đa khoa tỉnh Hưng Yên".into(),
            kind: org::OrgUnitKind::PublicServiceUnit,
            parent: Some(health),
        });
        units
    }

    /// A person employed by one of `units` (administrative units take civil servants,
    /// public service units take public employees).
    pub fn person(&mut self, units: &[Unit]) -> Person {
        let unit = pick(&mut self.rng, units).clone();
        let female = self.rng.random_bool(0.55);
        let family = *pick(&mut self.rng, FAMILY);
        let (middle, given) = if female {
            (
                *pick(&mut self.rng, MIDDLE_FEMALE),
                *pick(&mut self.rng, GIVEN_FEMALE),
            )
        } else {
            (
                *pick(&mut self.rng, MIDDLE_MALE),
                *pick(&mut self.rng, GIVEN_MALE),
            )
        };
        let year = self.rng.random_range(1966..=2002);
        let born = NaiveDate::from_ymd_opt(
            year,
            self.rng.random_range(1..=12),
            self.rng.random_range(1..=28),
        )
        .unwrap_or(NaiveDate::MIN);
        // Citizen ID: province of birth (033 Hưng Yên), sex+century digit, 2-digit year, 6 random digits.
        let century_sex = match (year >= 2000, female) {
            (false, false) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (true, true) => 3,
        };
        let person_id = format!(
            "033{century_sex}{:02}{:06}",
            year % 100,
            self.rng.random_range(0..1_000_000)
        );
        let service_unit = unit.kind == org::OrgUnitKind::PublicServiceUnit;
        let (category, rank) = if service_unit {
            (
                common::PersonnelCategory::VienChuc,
                *pick(&mut self.rng, EMPLOYEE_TITLES),
            )
        } else if self.rng.random_bool(0.08) {
            (common::PersonnelCategory::NguoiLaoDong, CIVIL_RANKS[7])
        } else if unit.kind == org::OrgUnitKind::PeoplesCommitteeCommune {
            (
                common::PersonnelCategory::CommuneCadre,
                *pick(&mut self.rng, CIVIL_RANKS),
            )
        } else {
            (
                common::PersonnelCategory::CongChuc,
                *pick(&mut self.rng, CIVIL_RANKS),
            )
        };
        let recruited_year = (year + self.rng.random_range(22..=30)).min(2025);
        let recruited = NaiveDate::from_ymd_opt(recruited_year, self.rng.random_range(1..=12), 1)
            .unwrap_or(NaiveDate::MIN);
        let years = (2026 - recruited_year).max(0) as u32;
        let step = (1 + years / 3).min(rank.steps);
        let ethnicity = if self.rng.random_bool(0.9) {
            "01"
        } else {
            *pick(&mut self.rng, &["02", "03", "04", "05", "12"])
        };
        Person {
            dossier: Uuid::from_u128(self.rng.random()),
            person_id,
            full_name: format!("{family} {middle} {given}"),
            female,
            born,
            category,
            unit: unit.code,
            rank,
            step,
            recruited,
            ethnicity,
        }
    }

    fn decision(&mut self, issuer: &str, on: NaiveDate) -> (common::DecisionRef, SourceDocument) {
        self.decision_no += 1;
        let number = format!("{}/QĐ-UBND", self.decision_no);
        let sha: [u8; 32] = self.rng.random();
        (
            common::DecisionRef {
                number: number.clone(),
                date: Some(date(on)),
                issuer: issuer.to_owned(),
                attachment_sha256: sha.to_vec(),
            },
            SourceDocument {
                number,
                date: on,
                issuer: issuer.to_owned(),
                attachment_sha256: Some(sha),
            },
        )
    }

    /// The events that establish `units`, one stream per unit.
    pub fn unit_events(&mut self, units: &[Unit]) -> Vec<(String, Vec<NewEvent>)> {
        let on = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or(NaiveDate::MIN);
        units
            .iter()
            .map(|u| {
                let (decision, doc) = self.decision("UBND tỉnh Hưng Yên", on);
                let e = DomainEvent::OrgUnitEstablished(org::OrgUnitEstablished {
                    code: u.code.clone(),
                    name: u.name.clone(),
                    kind: u.kind as i32,
                    parent_code: u.parent.clone().unwrap_or_default(),
                    effective: Some(date(on)),
                    decision: Some(decision),
                });
                (
                    format!("org-{}", u.code),
                    vec![NewEvent::from_domain(&e).with_source_document(doc)],
                )
            })
            .collect()
    }

    /// A dossier's life so far: opened on recruitment, declared section by section
    /// (sometimes returned once and declared again), verified and locked, then the rank
    /// and salary decisions — the latest one recorded late, effective in the past.
    pub fn dossier_events(&mut self, p: &Person, focal_point: &str) -> Vec<NewEvent> {
        let mut out = Vec::with_capacity(10);
        let (decision, doc) = self.decision("Sở Nội vụ tỉnh Hưng Yên", p.recruited);
        out.push(
            NewEvent::from_domain(&DomainEvent::DossierOpened(dossier::DossierOpened {
                person_id: p.person_id.clone(),
                full_name: p.full_name.clone(),
                category: p.category as i32,
                managing_unit: p.unit.clone(),
                employing_unit: p.unit.clone(),
                recruitment_decision: Some(decision),
                recruited_on: Some(date(p.recruited)),
            }))
            .with_actor(focal_point)
            .with_source_document(doc),
        );
        let personal = self.section_personal(p);
        let actor = format!("person-{}", p.person_id);
        let returned = self.rng.random_bool(0.15);
        if returned {
            let mut first = personal.clone();
            if let DomainEvent::DeclarationSubmitted(d) = &mut first {
                d.fields.retain(|f| f.field_code != "6");
            }
            out.push(NewEvent::from_domain(&first).with_actor(&actor));
            out.push(
                NewEvent::from_domain(&DomainEvent::DeclarationReturned(
                    dossier::DeclarationReturned {
                        section_code: "I".into(),
                        reasons: vec!["Thiếu mục 6 (Dân tộc)".into()],
                    },
                ))
                .with_actor(focal_point),
            );
        }
        out.push(NewEvent::from_domain(&personal).with_actor(&actor));
        out.push(NewEvent::from_domain(&self.section_training(p)).with_actor(&actor));
        out.push(
            NewEvent::from_domain(&DomainEvent::DeclarationVerified(
                dossier::DeclarationVerified {
                    section_codes: vec!["I".into(), "II".into()],
                    note: String::new(),
                },
            ))
            .with_actor(focal_point),
        );
        out.push(
            NewEvent::from_domain(&DomainEvent::DossierLocked(dossier::DossierLocked {
                reason: "Đã kiểm tra, xác minh (HY 10.3)".into(),
            }))
            .with_actor(focal_point),
        );
        let (decision, doc) = self.decision("Sở Nội vụ tỉnh Hưng Yên", p.recruited);
        out.push(
            NewEvent::from_domain(&DomainEvent::RankChanged(dossier::RankChanged {
                kind: dossier::RankChangeKind::Initial as i32,
                rank_code: p.rank.code.into(),
                rank_name: p.rank.name.into(),
                effective: Some(date(p.recruited)),
                decision: Some(decision),
            }))
            .with_actor(focal_point)
            .with_source_document(doc),
        );
        // The latest step raise: decided on 1 January, recorded in March.
        let effective = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or(NaiveDate::MIN);
        let (decision, doc) = self.decision("Sở Nội vụ tỉnh Hưng Yên", effective);
        let coefficient_x100 = p.rank.start_x100 + p.rank.step_x100 * (p.step - 1);
        out.push(
            NewEvent::from_domain(&DomainEvent::SalaryChanged(dossier::SalaryChanged {
                rank_code: p.rank.code.into(),
                step: p.step,
                coefficient_x100,
                salary_group: p.rank.group.into(),
                effective: Some(date(effective)),
                decision: Some(decision),
            }))
            .with_actor(focal_point)
            .with_source_document(doc)
            .with_effective_at(effective.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()),
        );
        out
    }

    fn section_personal(&mut self, p: &Person) -> DomainEvent {
        let field = |code: &str, value: String| dossier::FieldEntry {
            field_code: code.into(),
            value,
            row: 0,
        };
        let birthplace = *pick(&mut self.rng, PLACES);
        let residence = *pick(&mut self.rng, PLACES);
        DomainEvent::DeclarationSubmitted(dossier::DeclarationSubmitted {
            form: "2C-BNV/2008".into(),
            section_code: "I".into(),
            fields: vec![
                field("1", p.full_name.to_uppercase()),
                field("3a", p.born.to_string()),
                field("3b", if p.female { "Nữ" } else { "Nam" }.into()),
                field("4", birthplace.into()),
                field("5", birthplace.into()),
                field("6", p.ethnicity.into()),
                field("7", "Không".into()),
                field("8", residence.into()),
                field("9", residence.into()),
                field("11a", p.recruited.to_string()),
                field("14a", p.rank.name.into()),
                field("14b", p.rank.code.into()),
                field("14c", p.step.to_string()),
            ],
            supporting_attachments: Vec::new(),
        })
    }

    fn section_training(&mut self, p: &Person) -> DomainEvent {
        let field = |code: &str, value: &str| dossier::FieldEntry {
            field_code: code.into(),
            value: value.into(),
            row: 0,
        };
        let level = *pick(
            &mut self.rng,
            &["Cử nhân", "Cử nhân", "Kỹ sư", "Thạc sĩ", "Tiến sĩ"],
        );
        let party = self.rng.random_bool(0.4);
        let mut fields = vec![
            field("15.1", "12/12"),
            field("15.2", level),
            field("15.3", if party { "Trung cấp" } else { "Sơ cấp" }),
            field("15.5", "Tiếng Anh bậc 3"),
            field("15.6", "Chuẩn kỹ năng CNTT cơ bản"),
        ];
        if party {
            let joined = p
                .recruited
                .checked_add_months(chrono::Months::new(30))
                .unwrap_or(p.recruited);
            fields.push(dossier::FieldEntry {
                field_code: "16a".into(),
                value: joined.to_string(),
                row: 0,
            });
        }
        DomainEvent::DeclarationSubmitted(dossier::DeclarationSubmitted {
            form: "2C-BNV/2008".into(),
            section_code: "II".into(),
            fields,
            supporting_attachments: Vec::new(),
        })
    }

    /// A declaration payload of about `bytes` bytes, for benchmarks.
    pub fn declaration_payload(&mut self, bytes: usize) -> Vec<u8> {
        let mut d = dossier::DeclarationSubmitted {
            form: "2C-BNV/2008".into(),
            section_code: "III".into(),
            fields: vec![dossier::FieldEntry {
                field_code: "13".into(),
                value: String::new(),
                row: 0,
            }],
            supporting_attachments: Vec::new(),
        };
        let base = DomainEvent::DeclarationSubmitted(d.clone())
            .encode_payload()
            .len();
        let filler = "Tham mưu công tác tổ chức cán bộ; ";
        let mut text = String::new();
        while text.len() + base + 2 < bytes {
            text.push_str(filler);
        }
        let mut cut = bytes.saturating_sub(base + 2).min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        d.fields[0].value = text;
        DomainEvent::DeclarationSubmitted(d).encode_payload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identification_numbers_have_the_valid_format() {
        let mut s = Synth::new(7);
        let units = s.units(5);
        for _ in 0..500 {
            let p = s.person(&units);
            assert_eq!(p.person_id.len(), 12);
            assert!(p.person_id.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(&p.person_id[4..6], &format!("{:02}", p.born.year() % 100));
            let sex_digit = p.person_id.as_bytes()[3] - b'0';
            assert_eq!(sex_digit % 2 == 1, p.female);
        }
    }

    #[test]
    fn every_generated_event_decodes_through_the_registry() {
        let registry = hoso_schemas::Registry::standard();
        let mut s = Synth::new(1);
        let units = s.units(3);
        for (_, events) in s.unit_events(&units) {
            for e in events {
                registry
                    .decode(&e.event_type, e.schema_version, &e.payload)
                    .unwrap();
            }
        }
        for _ in 0..50 {
            let p = s.person(&units);
            for e in s.dossier_events(&p, "focal") {
                registry
                    .decode(&e.event_type, e.schema_version, &e.payload)
                    .unwrap();
            }
        }
    }

    #[test]
    fn bench_payloads_have_the_requested_size() {
        let mut s = Synth::new(1);
        for size in [200, 600, 4096] {
            let p = s.declaration_payload(size);
            assert!(p.len().abs_diff(size) <= 4, "{} vs {size}", p.len());
        }
    }
}

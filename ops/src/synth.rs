//! A synthetic province: organisation units and personnel with realistic Vietnamese
//! names, valid-format identification numbers, ranks and salary coefficients, the
//! sections of their résumé forms, decision documents and passwords that pass DT 10.
//! Deterministic for a given seed, so demos and benchmarks are repeatable.
//!
//! Nothing here touches the ledger: `demo` feeds these values to the real command
//! handlers, and `bench` takes raw payloads.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use hoso_commands::credentials::{PasswordContext, check_password};
use hoso_domain::org::OrgUnitKind;
use hoso_ledger::SourceDocument;
use hoso_schemas::DomainEvent;
use hoso_schemas::pb::common::PersonnelCategory;
use hoso_schemas::pb::dossier::{self, FieldEntry};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

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
/// Communes and wards of Hưng Yên after the 2025 reorganisation (with Thái Bình).
const COMMUNE_NAMES: &[&str] = &[
    "phường Phố Hiến",
    "phường Sơn Nam",
    "phường Hồng Châu",
    "phường Mỹ Hào",
    "phường Đường Hào",
    "phường Thượng Hồng",
    "phường Thái Bình",
    "phường Trần Lãm",
    "phường Trần Hưng Đạo",
    "phường Vũ Phúc",
    "xã Văn Giang",
    "xã Phụng Công",
    "xã Như Quỳnh",
    "xã Lạc Đạo",
    "xã Nghĩa Trụ",
    "xã Yên Mỹ",
    "xã Khoái Châu",
    "xã Triệu Việt Vương",
    "xã Ân Thi",
    "xã Kim Động",
    "xã Tiên Lữ",
    "xã Quỳnh Phụ",
    "xã Kiến Xương",
    "xã Tiền Hải",
    "xã Đông Hưng",
    "xã Hưng Hà",
    "xã Vũ Thư",
    "xã Thái Thụy",
];
const ETHNICITIES: &[&str] = &["Kinh", "Tày", "Thái", "Mường", "Hoa", "Nùng"];
const RELIGIONS: &[&str] = &["Không", "Không", "Không", "Không", "Phật giáo", "Công giáo"];
const OTHER_PROVINCES: &[(&str, u16)] = &[
    ("thành phố Hà Nội", 1),
    ("tỉnh Hải Dương", 30),
    ("tỉnh Nam Định", 36),
    ("tỉnh Bắc Ninh", 27),
    ("tỉnh Quảng Ninh", 22),
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

impl Rank {
    /// Salary coefficient at `step`, in hundredths.
    pub fn coefficient_x100(&self, step: u32) -> u32 {
        self.start_x100 + self.step_x100 * step.saturating_sub(1)
    }
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

/// The contract workers' rank (Decree 111/2022 staff are paid on the A0 scale here).
const CONTRACT_RANK: Rank = CIVIL_RANKS[7];
/// Titles of lower-secondary teachers.
const TEACHER_TITLES: &[Rank] = &[EMPLOYEE_TITLES[1], EMPLOYEE_TITLES[1], EMPLOYEE_TITLES[2]];
/// Titles of health workers.
const HEALTH_TITLES: &[Rank] = &[EMPLOYEE_TITLES[4], EMPLOYEE_TITLES[5], EMPLOYEE_TITLES[5]];

/// What a unit does, which decides who works there and what they studied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sector {
    /// The provincial People's Committee itself.
    Province,
    /// A department (sở) or the provincial inspectorate.
    Department,
    /// A division inside a department.
    Division,
    /// A lower-secondary school.
    School,
    /// A hospital or health centre.
    Health,
    /// A commune or ward People's Committee.
    Commune,
}

/// One unit of the organisation tree.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Electronic identifier code (QĐ 20/2020/QĐ-TTg).
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: OrgUnitKind,
    /// Parent code.
    pub parent: Option<String>,
    /// What it does.
    pub sector: Sector,
    /// ASCII prefix of its staff's login names, e.g. `snv`.
    pub slug: String,
    /// Abbreviation in its decision numbers, e.g. `SNV` in `12/QĐ-SNV`.
    pub abbr: String,
    /// Title of its head, e.g. "Giám đốc".
    pub head_title: &'static str,
    /// Relative share of the province's personnel.
    pub weight: u32,
}

impl Unit {
    /// Whether the unit is an agency that manages dossiers (not the root, not a division).
    pub fn is_agency(&self) -> bool {
        !matches!(self.sector, Sector::Province | Sector::Division)
    }
}

/// The organisation tree of the synthetic province, parents before children.
#[derive(Debug, Clone)]
pub struct Province {
    /// Every unit.
    pub units: Vec<Unit>,
}

impl Province {
    /// The province's root unit (its People's Committee).
    pub fn root(&self) -> &str {
        self.units
            .iter()
            .find(|u| u.parent.is_none())
            .map_or("", |u| u.code.as_str())
    }

    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code)
    }

    /// Units that manage dossiers.
    pub fn agencies(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|u| u.is_agency())
    }

    /// Internal divisions of `code`.
    pub fn divisions_of(&self, code: &str) -> Vec<&Unit> {
        self.units
            .iter()
            .filter(|u| u.sector == Sector::Division && u.parent.as_deref() == Some(code))
            .collect()
    }

    /// Units of one sector.
    pub fn of_sector(&self, sector: Sector) -> Vec<&Unit> {
        self.units.iter().filter(|u| u.sector == sector).collect()
    }

    /// The department a unit belongs to (itself for a department), if any.
    pub fn department_of(&self, code: &str) -> Option<&Unit> {
        let mut current = self.unit(code);
        while let Some(u) = current {
            if u.sector == Sector::Department {
                return Some(u);
            }
            current = u.parent.as_deref().and_then(|p| self.unit(p));
        }
        None
    }
}

/// One public servant of the synthetic province.
#[derive(Debug, Clone)]
pub struct Person {
    /// Position in the generated list.
    pub index: usize,
    /// 12-digit personal identification number.
    pub person_id: String,
    /// Full name.
    pub full_name: String,
    /// Sex.
    pub female: bool,
    /// Date of birth.
    pub born: NaiveDate,
    /// Personnel category.
    pub category: PersonnelCategory,
    /// Managing agency code.
    pub managing_unit: String,
    /// Employing unit code (a division of the agency, or the agency).
    pub employing_unit: String,
    /// Sector of the managing agency.
    pub sector: Sector,
    /// Rank or title.
    pub rank: Rank,
    /// Current salary step.
    pub step: u32,
    /// Recruitment date.
    pub recruited: NaiveDate,
    /// Ethnic group.
    pub ethnicity: &'static str,
    /// Religion.
    pub religion: &'static str,
    /// Place of birth.
    pub birthplace: String,
    /// Permanent residence.
    pub residence: String,
    /// Highest qualification, e.g. "Cử nhân".
    pub degree: &'static str,
    /// Major.
    pub major: &'static str,
    /// Where it was obtained.
    pub institution: &'static str,
    /// Year of graduation.
    pub graduated: i32,
    /// Date of joining the Party, if a member.
    pub party_joined: Option<NaiveDate>,
    /// The generator drew a number it had already drawn for someone else, as a
    /// clerk's typo would; the demo opens this dossier last, so that the handler
    /// refuses the taken number and the number is re-checked and re-entered.
    pub duplicate_id: bool,
}

/// A deterministic generator.
pub struct Synth {
    rng: StdRng,
    seed: u64,
    decision_no: u32,
    proofs: u64,
    ids: HashSet<String>,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// `dd/mm/yyyy`, as the form writes dates.
pub fn dmy(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn field(code: &str, value: impl Into<String>, row: u32) -> FieldEntry {
    FieldEntry {
        field_code: code.to_owned(),
        value: value.into(),
        row,
        sealed: Vec::new(),
    }
}

/// A coefficient in hundredths as Vietnamese documents write it (`2,67`).
pub fn coefficient_text(x100: u32) -> String {
    format!("{},{:02}", x100 / 100, x100 % 100)
}

impl Synth {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            seed,
            decision_no: 0,
            proofs: 0,
            ids: HashSet::new(),
        }
    }

    /// A generator of its own, seeded from this one's seed and `salt`, for a
    /// draw added to the demo without moving this one's sequence (so that
    /// the rest of the province stays as it was).
    pub fn fork(&self, salt: u64) -> Self {
        Self::new(self.seed ^ salt)
    }

    /// True with probability `p` (for choices the demo makes itself).
    pub fn rng_bool(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// A number below `n` (for choices the demo makes itself).
    pub fn rng_below(&mut self, n: u32) -> u32 {
        self.rng.random_range(0..n.max(1))
    }

    /// The province's tree: the People's Committee, its departments with their
    /// divisions, lower-secondary schools under the Department of Education, a
    /// hospital and a disease-control centre under the Department of Health, and
    /// `communes` commune People's Committees.
    pub fn province(&mut self, schools: usize, communes: usize) -> Province {
        let root = "000.00.00.H33".to_owned();
        let mut units = vec![Unit {
            code: root.clone(),
            name: "Ủy ban nhân dân tỉnh Hưng Yên".into(),
            kind: OrgUnitKind::PeoplesCommitteeProvince,
            parent: None,
            sector: Sector::Province,
            slug: "ubnd".into(),
            abbr: "UBND".into(),
            head_title: "Chủ tịch",
            weight: 0,
        }];
        departments(&root, &mut units);
        school_units(schools, &mut units);
        health_units(&mut units);
        commune_units(communes, &root, &mut units);
        Province { units }
    }

    /// A full name.
    pub fn name(&mut self, female: bool) -> String {
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
        format!("{family} {middle} {given}")
    }

    fn place(&mut self) -> String {
        format!("{}, tỉnh Hưng Yên", pick(&mut self.rng, COMMUNE_NAMES))
    }

    /// A personal identification number for someone born on `born`: province of
    /// birth registration (mostly Hưng Yên 033 or Thái Bình 034, merged in 2025),
    /// sex and century digit, two-digit year, six random digits.
    fn identification_number(&mut self, born: NaiveDate, female: bool, province: u16) -> String {
        let century_sex = match (born.year() >= 2000, female) {
            (false, false) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (true, true) => 3,
        };
        format!(
            "{province:03}{century_sex}{:02}{:06}",
            born.year() % 100,
            self.rng.random_range(0..1_000_000)
        )
    }

    fn birth_province(&mut self) -> u16 {
        match self.rng.random_range(0..100) {
            0..70 => 33,
            70..90 => 34,
            _ => pick(&mut self.rng, OTHER_PROVINCES).1,
        }
    }

    /// Draws a fresh number for `p` after the handler refused the one it had (the
    /// province of registration, sex, century and year stay).
    pub fn renumber(&mut self, p: &mut Person) {
        let province = p
            .person_id
            .get(0..3)
            .and_then(|s| s.parse().ok())
            .unwrap_or(33);
        loop {
            let id = self.identification_number(p.born, p.female, province);
            if self.ids.insert(id.clone()) {
                p.person_id = id;
                p.duplicate_id = false;
                return;
            }
        }
    }

    /// The person placed `index`-th in the province, employed by `seat` if given,
    /// else by an agency drawn by weight.
    pub fn person(&mut self, index: usize, province: &Province, seat: Option<&str>) -> Person {
        let (agency, employing) = self.seat(province, seat);
        let female = self.rng.random_bool(match agency.sector {
            Sector::School => 0.7,
            Sector::Health => 0.65,
            _ => 0.5,
        });
        let full_name = self.name(female);
        let year = self.rng.random_range(1966..=2001);
        let born = date(
            year,
            self.rng.random_range(1..=12),
            self.rng.random_range(1..=28),
        );
        let province_code = self.birth_province();
        let person_id = self.identification_number(born, female, province_code);
        let duplicate_id = !self.ids.insert(person_id.clone());
        let contract = self.rng.random_bool(0.06);
        let (category, rank) = self.category_and_rank(agency.sector, contract);
        let graduated = year + self.rng.random_range(22..=24);
        let recruited_year = (graduated + self.rng.random_range(0..=4)).min(2025);
        let recruited = date(recruited_year, self.rng.random_range(1..=12), 1);
        let years = u32::try_from(2026 - recruited_year).unwrap_or(0);
        let step = (1 + years / 3).min(rank.steps);
        let ethnicity = if self.rng.random_bool(0.92) {
            "Kinh"
        } else {
            *pick(&mut self.rng, ETHNICITIES)
        };
        let (degree, major, institution) = self.education(agency.sector, rank);
        let party_joined = self
            .rng
            .random_bool(0.45)
            .then(|| recruited.checked_add_months(chrono::Months::new(30)))
            .flatten()
            .filter(|d| *d < date(2025, 12, 1));
        let birthplace = self.birthplace(province_code);
        let residence = self.place();
        let religion = *pick(&mut self.rng, RELIGIONS);
        Person {
            index,
            person_id,
            full_name,
            female,
            born,
            category,
            managing_unit: agency.code.clone(),
            employing_unit: employing,
            sector: agency.sector,
            rank,
            step,
            recruited,
            ethnicity,
            religion,
            birthplace,
            residence,
            degree,
            major,
            institution,
            graduated,
            party_joined,
            duplicate_id,
        }
    }

    /// The agency employing the person and the unit within it: `seat` if given,
    /// else an agency drawn by weight and one of its divisions.
    fn seat(&mut self, province: &Province, seat: Option<&str>) -> (Unit, String) {
        let agencies: Vec<&Unit> = province.agencies().collect();
        let seat = seat.and_then(|s| province.unit(s));
        match seat {
            Some(u) if u.sector == Sector::Division => {
                let dept = u
                    .parent
                    .as_deref()
                    .and_then(|p| province.unit(p))
                    .unwrap_or(u);
                (dept.clone(), u.code.clone())
            }
            Some(u) => (u.clone(), u.code.clone()),
            None => {
                let total: u32 = agencies.iter().map(|u| u.weight).sum();
                let mut draw = self.rng.random_range(0..total.max(1));
                let mut chosen = agencies[0];
                for u in &agencies {
                    if draw < u.weight {
                        chosen = u;
                        break;
                    }
                    draw -= u.weight;
                }
                let divisions = province.divisions_of(&chosen.code);
                let employing = if divisions.is_empty() {
                    chosen.code.clone()
                } else {
                    pick(&mut self.rng, &divisions).code.clone()
                };
                (chosen.clone(), employing)
            }
        }
    }

    /// The category, and the rank or professional title, of a person of `sector`.
    fn category_and_rank(&mut self, sector: Sector, contract: bool) -> (PersonnelCategory, Rank) {
        match sector {
            _ if contract => (PersonnelCategory::NguoiLaoDong, CONTRACT_RANK),
            Sector::School => (
                PersonnelCategory::VienChuc,
                *pick(&mut self.rng, TEACHER_TITLES),
            ),
            Sector::Health => (
                PersonnelCategory::VienChuc,
                *pick(&mut self.rng, HEALTH_TITLES),
            ),
            Sector::Commune => (
                PersonnelCategory::CommuneCadre,
                *pick(&mut self.rng, &CIVIL_RANKS[1..]),
            ),
            _ => (
                PersonnelCategory::CongChuc,
                *pick(&mut self.rng, CIVIL_RANKS),
            ),
        }
    }

    /// Degree, major and institution, by sector and rank.
    fn education(
        &mut self,
        sector: Sector,
        rank: Rank,
    ) -> (&'static str, &'static str, &'static str) {
        match sector {
            Sector::School => (
                "Cử nhân",
                *pick(
                    &mut self.rng,
                    &[
                        "Sư phạm Toán học",
                        "Sư phạm Ngữ văn",
                        "Sư phạm Tiếng Anh",
                        "Sư phạm Vật lý",
                        "Sư phạm Lịch sử",
                    ],
                ),
                *pick(
                    &mut self.rng,
                    &[
                        "Trường Đại học Sư phạm Hà Nội",
                        "Trường Đại học Sư phạm Hà Nội 2",
                        "Trường Đại học Thái Bình",
                    ],
                ),
            ),
            Sector::Health if rank.code == "V.08.01.03" => (
                "Bác sĩ",
                "Y đa khoa",
                *pick(
                    &mut self.rng,
                    &["Trường Đại học Y Hà Nội", "Trường Đại học Y Dược Thái Bình"],
                ),
            ),
            Sector::Health => (
                "Cử nhân",
                "Điều dưỡng",
                "Trường Đại học Điều dưỡng Nam Định",
            ),
            _ => *pick(
                &mut self.rng,
                &[
                    ("Cử nhân", "Luật", "Trường Đại học Luật Hà Nội"),
                    (
                        "Cử nhân",
                        "Quản lý nhà nước",
                        "Học viện Hành chính Quốc gia",
                    ),
                    ("Cử nhân", "Kinh tế", "Trường Đại học Kinh tế Quốc dân"),
                    ("Cử nhân", "Kế toán", "Học viện Tài chính"),
                    (
                        "Kỹ sư",
                        "Xây dựng dân dụng",
                        "Trường Đại học Xây dựng Hà Nội",
                    ),
                    ("Kỹ sư", "Nông học", "Học viện Nông nghiệp Việt Nam"),
                    ("Kỹ sư", "Công nghệ thông tin", "Đại học Bách khoa Hà Nội"),
                    ("Thạc sĩ", "Quản lý công", "Học viện Hành chính Quốc gia"),
                ],
            ),
        }
    }

    /// A place of birth in the province of `province_code`.
    fn birthplace(&mut self, province_code: u16) -> String {
        if province_code == 33 || province_code == 34 {
            self.place()
        } else {
            OTHER_PROVINCES
                .iter()
                .find(|(_, c)| *c == province_code)
                .map_or_else(|| self.place(), |(n, _)| (*n).to_owned())
        }
    }

    /// A person arriving from another province, with a national-database record.
    pub fn arrival(&mut self, index: usize, province: &Province, agency: &str) -> Person {
        let mut p = self.person(index, province, Some(agency));
        let (place, code) = *pick(&mut self.rng, OTHER_PROVINCES);
        p.birthplace = place.to_owned();
        p.person_id = format!("{code:03}{}", p.person_id.get(3..).unwrap_or_default());
        self.ids.insert(p.person_id.clone());
        p
    }

    /// A login name: given name and initials, folded to ASCII, and a number
    /// (`annv.0042` for Nguyễn Văn An).
    pub fn username(full_name: &str, n: usize) -> String {
        let parts: Vec<String> = full_name
            .split_whitespace()
            .map(hoso_domain::text::fold)
            .collect();
        let given = parts.last().cloned().unwrap_or_default();
        let initials: String = parts
            .iter()
            .take(parts.len().saturating_sub(1))
            .filter_map(|p| p.chars().next())
            .collect();
        let ascii: String = format!("{given}{initials}")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        format!("{ascii}.{n:04}")
    }

    /// A password that passes DT 10 for this holder: at least 12 characters with
    /// upper and lower case, a digit and a special character, and none of the
    /// holder's login name, name or date of birth.
    pub fn password(&mut self, ctx: &PasswordContext<'_>) -> String {
        const WORDS: &[&str] = &[
            "Sen", "Tre", "Lua", "Suoi", "Nui", "Dong", "Mua", "Bien", "Cau", "Que", "Dao", "Ruong",
        ];
        const SPECIAL: &[char] = &['!', '#', '$', '%', '&', '*', '@', '?', '-', '+'];
        loop {
            let candidate = format!(
                "{}{}{}{:03}{}",
                pick(&mut self.rng, WORDS),
                pick(&mut self.rng, SPECIAL),
                pick(&mut self.rng, WORDS).to_lowercase(),
                self.rng.random_range(0..1000),
                pick(&mut self.rng, WORDS),
            );
            if check_password(&candidate, ctx).is_ok() {
                return candidate;
            }
        }
    }

    /// 32 seeded bytes for an ed25519 signing key.
    pub fn key_seed(&mut self) -> [u8; 32] {
        self.rng.random()
    }

    /// The SHA-256 of a digitised paper: the demo has no scans, so it hashes a
    /// description of the paper, unique per call.
    pub fn scan(&mut self, what: &str) -> [u8; 32] {
        self.proofs += 1;
        let mut h = Sha256::new();
        h.update(b"hoso-demo-scan\0");
        h.update(self.seed.to_be_bytes());
        h.update(self.proofs.to_be_bytes());
        h.update(what.as_bytes());
        h.finalize().into()
    }

    /// A numbered decision (`{n}/{kind}-{abbr}`) of `issuer`, dated `on`, with the
    /// hash of its digitised copy.
    pub fn document(
        &mut self,
        kind: &str,
        abbr: &str,
        issuer: &str,
        on: NaiveDate,
    ) -> SourceDocument {
        self.decision_no += 1;
        let number = format!("{}/{kind}-{abbr}", self.decision_no);
        let scan = self.scan(&format!("{number} {issuer} {on}"));
        SourceDocument {
            number,
            date: on,
            issuer: issuer.to_owned(),
            attachment_sha256: Some(scan),
        }
    }

    /// The sections of the résumé form the person declares (Mẫu 2C), in form order.
    pub fn sections(
        &mut self,
        p: &Person,
        agency_name: &str,
    ) -> Vec<(&'static str, Vec<FieldEntry>)> {
        let mut out = Vec::with_capacity(9);
        out.push(("identity", self.identity_rows(p)));
        out.push((
            "residence",
            vec![
                field("8", p.residence.clone(), 0),
                field("9", p.residence.clone(), 0),
            ],
        ));
        let position = position_of(p);
        out.extend(recruitment_and_rank(p, agency_name, position));
        out.push(("education", education_rows(p)));
        if let Some(joined) = p.party_joined {
            let official = joined
                .checked_add_months(chrono::Months::new(12))
                .unwrap_or(joined);
            out.push((
                "party_military",
                vec![field("16a", dmy(joined), 0), field("16b", dmy(official), 0)],
            ));
        }
        out.push(("training", self.training_rows(p, false)));
        out.push((
            "career",
            vec![
                field(
                    "28.c1",
                    format!("{:02}/{} - nay", p.recruited.month(), p.recruited.year()),
                    1,
                ),
                field("28.c2", format!("{position}, {agency_name}"), 1),
            ],
        ));
        out.push(("family", self.family_rows(p)));
        out
    }

    /// The identity section; the date the identity card was issued is drawn.
    fn identity_rows(&mut self, p: &Person) -> Vec<FieldEntry> {
        vec![
            field("1", p.full_name.to_uppercase(), 0),
            field("3a", dmy(p.born), 0),
            field("3b", if p.female { "Nữ" } else { "Nam" }, 0),
            field("4", p.birthplace.clone(), 0),
            field("5", p.birthplace.clone(), 0),
            field("6", p.ethnicity, 0),
            field("7", p.religion, 0),
            field("25a", p.person_id.clone(), 0),
            field(
                "25b",
                dmy(date(
                    self.rng.random_range(2021..=2024),
                    self.rng.random_range(1..=12),
                    self.rng.random_range(1..=28),
                )),
                0,
            ),
        ]
    }

    fn training_rows(&mut self, p: &Person, with_master: bool) -> Vec<FieldEntry> {
        let mut rows = vec![
            field("27.c1", p.institution, 1),
            field("27.c2", p.major, 1),
            field(
                "27.c3",
                format!("09/{} - 06/{}", p.graduated - 4, p.graduated),
                1,
            ),
            field("27.c4", "Chính quy", 1),
            field("27.c5", p.degree, 1),
        ];
        if with_master {
            rows.extend([
                field("27.c1", "Học viện Hành chính Quốc gia", 2),
                field("27.c2", "Quản lý công", 2),
                field("27.c3", "10/2023 - 12/2025", 2),
                field("27.c4", "Vừa làm vừa học", 2),
                field("27.c5", "Thạc sĩ", 2),
            ]);
        }
        rows
    }

    fn family_rows(&mut self, p: &Person) -> Vec<FieldEntry> {
        let family = p.full_name.split_whitespace().next().unwrap_or("Nguyễn");
        let mut rows = Vec::new();
        let mut row = 0;
        let mut push =
            |rows: &mut Vec<FieldEntry>, relation: &str, name: String, year: i32, note: &str| {
                row += 1;
                rows.extend([
                    field("30.c1", relation, row),
                    field("30.c2", name, row),
                    field("30.c3", year.to_string(), row),
                    field("30.c4", note, row),
                ]);
            };
        let father = format!(
            "{family} {}",
            self.name(false)
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let father_born = p.born.year() - self.rng.random_range(24..=33);
        push(&mut rows, "Bố", father, father_born, "Làm ruộng");
        let mother = self.name(true);
        let mother_born = father_born + self.rng.random_range(0..=4);
        push(&mut rows, "Mẹ", mother, mother_born, "Làm ruộng");
        if p.born.year() < 1998 && self.rng.random_bool(0.85) {
            let spouse = self.name(!p.female);
            let spouse_born = p.born.year() + self.rng.random_range(-3..=3);
            push(
                &mut rows,
                if p.female { "Chồng" } else { "Vợ" },
                spouse,
                spouse_born,
                "Viên chức",
            );
            let children = self.rng.random_range(0..=2);
            for _ in 0..children {
                let child_female = self.rng.random_bool(0.5);
                let child = format!(
                    "{family} {}",
                    self.name(child_female)
                        .split_whitespace()
                        .skip(1)
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                let child_born = (p.born.year() + self.rng.random_range(25..=35)).min(2024);
                push(
                    &mut rows,
                    if child_female { "Con gái" } else { "Con trai" },
                    child,
                    child_born,
                    "Học sinh",
                );
            }
        }
        rows
    }

    /// A change after approval, with the SHA-256 of its proof (BT 6.3): a new
    /// address, or a master's degree completed.
    pub fn change(&mut self, p: &Person) -> (&'static str, Vec<FieldEntry>, [u8; 32]) {
        if self.rng.random_bool(0.5) {
            let new_home = self.place();
            let proof = self.scan(&format!("xác nhận cư trú {}", p.person_id));
            (
                "residence",
                vec![field("8", new_home.clone(), 0), field("9", new_home, 0)],
                proof,
            )
        } else {
            let proof = self.scan(&format!("bằng thạc sĩ {}", p.person_id));
            ("training", self.training_rows(p, true), proof)
        }
    }

    /// A declaration payload of about `bytes` bytes, for benchmarks.
    pub fn declaration_payload(&mut self, bytes: usize) -> Vec<u8> {
        let mut d = dossier::DeclarationSubmitted {
            form: "2C-BNV/2008".into(),
            section_code: "recruitment".into(),
            fields: vec![FieldEntry {
                field_code: "13".into(),
                value: String::new(),
                row: 0,
                sealed: Vec::new(),
            }],
            supporting_attachments: Vec::new(),
            sealed_attachments: Vec::new(),
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

/// The departments under `root`, each with its divisions.
fn departments(root: &str, units: &mut Vec<Unit>) {
    let departments = [
        ("Sở Nội vụ", "snv", "SNV"),
        ("Sở Tài chính", "stc", "STC"),
        ("Sở Giáo dục và Đào tạo", "sgddt", "SGDĐT"),
        ("Sở Y tế", "syt", "SYT"),
        ("Sở Xây dựng", "sxd", "SXD"),
        ("Sở Nông nghiệp và Môi trường", "snnmt", "SNNMT"),
        ("Sở Tư pháp", "stp", "STP"),
        ("Thanh tra tỉnh", "ttt", "TTr"),
    ];
    let divisions = [
        "Văn phòng",
        "Phòng Kế hoạch - Tài chính",
        "Phòng Quản lý nghiệp vụ",
    ];
    for (i, (name, slug, abbr)) in departments.iter().enumerate() {
        let code = format!("000.{:02}.00.H33", i + 1);
        units.push(Unit {
            code: code.clone(),
            name: format!("{name} tỉnh Hưng Yên"),
            kind: OrgUnitKind::ProvincialDepartment,
            parent: Some(root.to_owned()),
            sector: Sector::Department,
            slug: (*slug).into(),
            abbr: (*abbr).into(),
            head_title: if i == 7 {
                "Chánh Thanh tra"
            } else {
                "Giám đốc"
            },
            weight: 40,
        });
        for (j, div) in divisions.iter().enumerate() {
            units.push(Unit {
                code: format!("{:03}.{:02}.00.H33", j + 1, i + 1),
                name: format!("{div} {name}"),
                kind: OrgUnitKind::InternalDivision,
                parent: Some(code.clone()),
                sector: Sector::Division,
                slug: format!("{slug}{}", j + 1),
                abbr: (*abbr).into(),
                head_title: "Trưởng phòng",
                weight: 0,
            });
        }
    }
}

/// `schools` lower-secondary schools under the Department of Education.
fn school_units(schools: usize, units: &mut Vec<Unit>) {
    let education = "000.03.00.H33".to_owned();
    for s in 0..schools {
        let place = COMMUNE_NAMES[s % COMMUNE_NAMES.len()];
        let short = place.split_once(' ').map_or(place, |(_, n)| n);
        units.push(Unit {
            code: format!("{:03}.03.00.H33", 101 + s),
            name: format!("Trường Trung học cơ sở {short}"),
            kind: OrgUnitKind::PublicServiceUnit,
            parent: Some(education.clone()),
            sector: Sector::School,
            slug: format!("thcs{:02}", s + 1),
            abbr: format!("THCS{:02}", s + 1),
            head_title: "Hiệu trưởng",
            weight: 45,
        });
    }
}

/// A hospital and a disease-control centre under the Department of Health.
fn health_units(units: &mut Vec<Unit>) {
    let health = "000.04.00.H33".to_owned();
    for (i, (name, slug, abbr, weight)) in [
        ("Bệnh viện Đa khoa tỉnh Hưng Yên", "bvdk", "BVĐK", 300),
        ("Trung tâm Kiểm soát bệnh tật tỉnh", "cdc", "CDC", 60),
    ]
    .into_iter()
    .enumerate()
    {
        units.push(Unit {
            code: format!("{:03}.04.00.H33", 901 + i),
            name: name.into(),
            kind: OrgUnitKind::PublicServiceUnit,
            parent: Some(health.clone()),
            sector: Sector::Health,
            slug: slug.into(),
            abbr: abbr.into(),
            head_title: "Giám đốc",
            weight,
        });
    }
}

/// `communes` commune People's Committees under `root`.
fn commune_units(communes: usize, root: &str, units: &mut Vec<Unit>) {
    for c in 0..communes {
        let name = COMMUNE_NAMES[c % COMMUNE_NAMES.len()];
        units.push(Unit {
            code: format!("000.00.{:02}.H33", c + 1),
            name: format!("Ủy ban nhân dân {name}"),
            kind: OrgUnitKind::PeoplesCommitteeCommune,
            parent: Some(root.to_owned()),
            sector: Sector::Commune,
            slug: format!("xa{:02}", c + 1),
            abbr: format!("UBND{:02}", c + 1),
            head_title: "Chủ tịch",
            weight: 25,
        });
    }
}

/// The position a person holds, by sector and rank.
fn position_of(p: &Person) -> &'static str {
    match p.sector {
        Sector::School => "Giáo viên",
        Sector::Health if p.rank.code == "V.08.01.03" => "Bác sĩ",
        Sector::Health => "Điều dưỡng",
        Sector::Commune => "Công chức cấp xã",
        _ if p.category == PersonnelCategory::NguoiLaoDong => "Nhân viên hợp đồng",
        _ => "Chuyên viên",
    }
}

/// The recruitment and rank-and-salary sections.
fn recruitment_and_rank(
    p: &Person,
    agency_name: &str,
    position: &str,
) -> [(&'static str, Vec<FieldEntry>); 2] {
    [
        (
            "recruitment",
            vec![
                field("10", "Sinh viên", 0),
                field("11a", dmy(p.recruited), 0),
                field("11b", agency_name, 0),
                field("12", position, 0),
                field("13", format!("{position}, {agency_name}"), 0),
            ],
        ),
        (
            "rank_salary",
            vec![
                field("14a", p.rank.name, 0),
                field("14b", p.rank.code, 0),
                field("14c", p.step.to_string(), 0),
                field("14d", coefficient_text(p.rank.coefficient_x100(p.step)), 0),
                field("14e", "01/01/2026", 0),
            ],
        ),
    ]
}

/// The education section.
fn education_rows(p: &Person) -> Vec<FieldEntry> {
    let level = match p.degree {
        "Thạc sĩ" => "Thạc sĩ",
        _ => "Đại học",
    };
    vec![
        field("15.1", "12/12", 0),
        field("15.2", format!("{level} {}", p.major), 0),
        field(
            "15.3",
            if p.party_joined.is_some() {
                "Trung cấp"
            } else {
                "Sơ cấp"
            },
            0,
        ),
        field("15.5", "Tiếng Anh bậc 3", 0),
        field("15.6", "Chuẩn kỹ năng sử dụng CNTT cơ bản", 0),
    ]
}

#[cfg(test)]
mod tests {
    use hoso_domain::form;

    use super::*;

    #[test]
    fn identification_numbers_have_the_valid_format() {
        let mut s = Synth::new(7);
        let province = s.province(4, 5);
        for i in 0..500 {
            let p = s.person(i, &province, None);
            assert_eq!(p.person_id.len(), 12);
            assert!(p.person_id.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(&p.person_id[4..6], &format!("{:02}", p.born.year() % 100));
            let sex_digit = p.person_id.as_bytes()[3] - b'0';
            assert_eq!(sex_digit % 2 == 1, p.female);
            hoso_domain::person_id::validate(&p.person_id, Some(p.born)).unwrap();
        }
    }

    #[test]
    fn codes_are_electronic_identifier_codes_and_parents_come_first() {
        let mut s = Synth::new(1);
        let province = s.province(16, 24);
        let mut seen = HashSet::new();
        for u in &province.units {
            assert!(hoso_domain::org::is_valid_code(&u.code), "{}", u.code);
            if let Some(p) = &u.parent {
                assert!(seen.contains(p), "{} before its parent {p}", u.code);
            }
            assert!(seen.insert(u.code.clone()), "{} twice", u.code);
        }
    }

    #[test]
    fn every_section_fits_the_form_and_passwords_pass_dt_10() {
        let mut s = Synth::new(3);
        let province = s.province(4, 5);
        for i in 0..200 {
            let p = s.person(i, &province, None);
            for (code, fields) in s.sections(&p, "Sở Nội vụ") {
                form::validate_section(code, &fields, &p.person_id)
                    .unwrap_or_else(|e| panic!("{code}: {e}"));
            }
            let (code, fields, _) = s.change(&p);
            form::validate_section(code, &fields, &p.person_id).unwrap();
            let username = Synth::username(&p.full_name, i);
            let ctx = PasswordContext {
                username: &username,
                full_name: &p.full_name,
                birth_date: Some(p.born),
            };
            let pw = s.password(&ctx);
            check_password(&pw, &ctx).unwrap();
        }
    }

    #[test]
    fn usernames_are_ascii_login_names() {
        assert_eq!(Synth::username("Nguyễn Văn Đức", 42), "ducnv.0042");
        assert_eq!(Synth::username("Lê Thị Hương", 7), "huonglt.0007");
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

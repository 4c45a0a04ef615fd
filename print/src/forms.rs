//! The two variants of the 2C form as blocks: their items in order, with the
//! form's wording, filled from a [`Resume`].
//!
//! Where the dossier holds both a declared item and a decision of the state
//! about it (rank, salary, positions, awards, discipline), the decision in
//! effect on `as_of` is printed: it is what the law says on that date, while
//! the declaration says what the person wrote when declaring.

use hoso_projections::views::{Dated, Salary};

use crate::layout::{Align, Block, Cell, Column, Run};
use crate::{Form, Resume, Shown};

const BODY: f32 = 10.0;
const TABLE: f32 = 8.5;

/// The blocks of a form variant, in order.
pub(crate) fn blocks(form: Form, r: &Resume) -> Vec<Block> {
    match form {
        Form::Classic2C => classic(r),
        Form::Tt06 => tt06(r),
    }
}

/// The footer lines of every page: which form, dossier and record; which
/// dates the view was taken at and when it was printed.
pub(crate) fn footer(form: Form, r: &Resume) -> [String; 2] {
    let as_of = r
        .as_of
        .as_deref()
        .map_or_else(|| day(r.printed_on), iso_to_form);
    let known = r.known_at.as_deref().map_or_else(
        || "lúc in".to_owned(),
        |k| format!("ngày {}", iso_to_form(k)),
    );
    [
        format!(
            "{} · hồ sơ {} · bản ghi {}",
            form.reference(),
            r.dossier_id,
            r.revision
        ),
        format!(
            "Theo hiệu lực ngày {as_of} · dữ liệu đến {known} · in ngày {}",
            day(r.printed_on)
        ),
    ]
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// `YYYY-MM-DD` as the form writes dates, `dd/mm/yyyy`; anything else as is.
fn iso_to_form(s: &str) -> String {
    match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => day(d),
        Err(_) => s.to_owned(),
    }
}

/// `YYYY-MM-DD` as a month, `mm/yyyy`.
fn iso_to_month(s: &str) -> String {
    match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => d.format("%m/%Y").to_string(),
        Err(_) => s.to_owned(),
    }
}

/// A coefficient in hundredths with the decimal comma: 234 → "2,34".
fn coefficient(x100: u32) -> String {
    format!("{},{:02}", x100 / 100, x100 % 100)
}

/// A decision's value in effect, else the declared item; withheld if the
/// decision is withheld and nothing was declared.
fn fact_or(fact: Option<String>, fact_withheld: bool, declared: Shown) -> Shown {
    match (fact, declared) {
        (Some(v), _) if !v.is_empty() => Shown::Value(v),
        (_, Shown::Blank) if fact_withheld => Shown::Withheld,
        (_, d) => d,
    }
}

fn discipline_name(form: &str) -> &str {
    match form {
        "reprimand" => "Khiển trách",
        "warning" => "Cảnh cáo",
        "salary_step_reduction" => "Hạ bậc lương",
        "demotion" => "Giáng chức",
        "removal_from_office" => "Cách chức",
        "removal_from_elected_office" => "Bãi nhiệm",
        "dismissal" => "Buộc thôi việc",
        other => other,
    }
}

/// One numbered item: `n) label: value; label: value …`.
fn item(number: &str, parts: &[(&str, Shown)]) -> Block {
    let mut runs = Vec::new();
    for (i, (label, value)) in parts.iter().enumerate() {
        let lead = match (i, number.is_empty()) {
            (0, false) => format!("{number}) {label}: "),
            (0, true) => format!("{label}: "),
            _ => format!("; {label}: "),
        };
        runs.push(Run::plain(lead));
        runs.push(Run::bold(value.text()));
    }
    Block::Para {
        runs,
        size: BODY,
        align: Align::Left,
        indent: 0.0,
        keep: 0.0,
    }
}

/// A heading of the form's tables, kept with what follows.
fn heading(text: &str) -> Block {
    Block::Para {
        runs: vec![Run::bold(text)],
        size: BODY,
        align: Align::Left,
        indent: 0.0,
        keep: 40.0,
    }
}

fn cell(text: &str, bold: bool, size: f32) -> Cell {
    Cell {
        text: text.to_owned(),
        bold,
        size,
    }
}

fn columns(spec: &[(&str, f32)]) -> Vec<Column> {
    spec.iter()
        .map(|(title, weight)| Column {
            title: (*title).to_owned(),
            weight: *weight,
        })
        .collect()
}

/// A table of a form's row fields: one row per declared row, an empty row
/// when there are none (so the printed form keeps its grid), a row saying
/// so when the reader may not see them.
fn field_table(r: &Resume, spec: &[(&str, f32)], codes: &[&str]) -> Block {
    let mut rows: Vec<Vec<String>> = r
        .rows(codes)
        .into_iter()
        .map(|row| {
            codes
                .iter()
                .map(|c| r.cell(c, row).text().to_owned())
                .collect()
        })
        .collect();
    if r.table_withheld(codes) {
        rows.push(withheld_row(spec));
    }
    table(spec, rows)
}

/// A row saying the reader may not see the table's rows, in its widest
/// column.
fn withheld_row(spec: &[(&str, f32)]) -> Vec<String> {
    let widest = spec
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .map_or(0, |(i, _)| i);
    let mut row = vec![String::new(); spec.len()];
    if let Some(cell) = row.get_mut(widest) {
        *cell = crate::resume::WITHHELD.to_owned();
    }
    row
}

fn table(spec: &[(&str, f32)], mut rows: Vec<Vec<String>>) -> Block {
    if rows.is_empty() {
        rows.push(vec![String::new(); spec.len()]);
    }
    Block::Table {
        columns: columns(spec),
        rows,
        size: TABLE,
        label_column: false,
    }
}

/// The salary history (item 31): the declared rows, and the salary decision
/// in effect when no declared row is of its month.
fn salary_rows(r: &Resume) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = r
        .rows(&["31.r1", "31.r2", "31.r3"])
        .into_iter()
        .map(|row| {
            (
                r.cell("31.r1", row).text().to_owned(),
                r.cell("31.r2", row).text().to_owned(),
                r.cell("31.r3", row).text().to_owned(),
            )
        })
        .collect();
    if let Some(Dated {
        effective,
        value:
            Salary {
                rank_code,
                step,
                coefficient_x100,
                ..
            },
        ..
    }) = &r.salary
    {
        let month = effective.as_deref().map(iso_to_month).unwrap_or_default();
        if !out
            .iter()
            .any(|(m, _, _)| *m == month || m.ends_with(&format!("/{month}")))
        {
            out.push((
                month,
                format!("{rank_code}/{step}"),
                coefficient(*coefficient_x100),
            ));
        }
    }
    out
}

/// The header of both variants: units on the left, the form's reference and
/// the personnel file number on the right; then the photo frame and title.
fn header(r: &Resume, form: Form, title: &str, title_size: f32) -> Vec<Block> {
    vec![
        Block::Columns {
            left: vec![
                cell(
                    &format!(
                        "Cơ quan, đơn vị có thẩm quyền quản lý CBCC: {}",
                        r.managing_unit
                    ),
                    false,
                    9.0,
                ),
                cell(
                    &format!("Cơ quan, đơn vị sử dụng CBCC: {}", r.employing_unit),
                    false,
                    9.0,
                ),
            ],
            right: vec![
                cell(form.reference(), true, 9.0),
                cell(
                    &format!("Số hiệu cán bộ, công chức: {}", r.field("H3").text()),
                    false,
                    9.0,
                ),
            ],
            split: 0.6,
            photo: None,
        },
        Block::Gap(10.0),
        Block::Columns {
            left: vec![
                cell("", false, 10.0),
                cell(title, true, title_size),
                cell("", false, 10.0),
                cell(&r.full_name.to_uppercase(), true, 11.0),
            ],
            right: Vec::new(),
            split: 1.0,
            photo: Some((85.0, 113.0, "Ảnh 4x6".to_owned())),
        },
        Block::Gap(8.0),
    ]
}

fn pending_note(r: &Resume) -> Option<Block> {
    if r.pending_sections.is_empty() {
        return None;
    }
    let titles: Vec<&str> = r
        .pending_sections
        .iter()
        .map(|code| hoso_domain::form::section(code).map_or(code.as_str(), |s| s.title))
        .collect();
    Some(Block::Para {
        runs: vec![Run::plain(format!(
            "Ghi chú: các mục đã khai đang chờ phê duyệt không in trong bản này: {}.",
            titles.join("; ")
        ))],
        size: 8.0,
        align: Align::Left,
        indent: 0.0,
        keep: 0.0,
    })
}

fn person_id(r: &Resume) -> Shown {
    match &r.person_id {
        Some(id) => Shown::Value(id.clone()),
        None => fact_or(None, r.is_withheld("person_id"), r.field("25a")),
    }
}

fn rank_name(r: &Resume) -> Shown {
    fact_or(
        r.rank.as_ref().map(|d| d.value.name.clone()),
        r.is_withheld("rank"),
        r.field("14a"),
    )
}

fn rank_code(r: &Resume) -> Shown {
    fact_or(
        r.rank
            .as_ref()
            .map(|d| d.value.code.clone())
            .or_else(|| r.salary.as_ref().map(|d| d.value.rank_code.clone())),
        r.is_withheld("rank"),
        r.field("14b"),
    )
}

fn salary_step(r: &Resume) -> Shown {
    fact_or(
        r.salary.as_ref().map(|d| d.value.step.to_string()),
        r.is_withheld("salary"),
        r.field("14c"),
    )
}

fn salary_coefficient(r: &Resume) -> Shown {
    fact_or(
        r.salary
            .as_ref()
            .map(|d| coefficient(d.value.coefficient_x100)),
        r.is_withheld("salary"),
        r.field("14d"),
    )
}

fn salary_since(r: &Resume) -> Shown {
    fact_or(
        r.salary
            .as_ref()
            .and_then(|d| d.effective.as_deref().map(iso_to_form)),
        r.is_withheld("salary"),
        r.field("14e"),
    )
}

fn positions(r: &Resume) -> Shown {
    let held: Vec<&str> = r.positions.iter().map(|p| p.value.as_str()).collect();
    fact_or(
        (!held.is_empty()).then(|| held.join("; ")),
        r.is_withheld("positions"),
        r.field("12"),
    )
}

fn awards(r: &Resume) -> Shown {
    let given: Vec<String> = r
        .awards
        .iter()
        .map(|(form, year)| format!("{form} ({year})"))
        .collect();
    fact_or(
        (!given.is_empty()).then(|| given.join("; ")),
        r.is_withheld("awards"),
        r.field("21"),
    )
}

fn discipline(r: &Resume) -> Shown {
    match &r.discipline {
        None => Shown::Withheld,
        Some(list) => {
            let given: Vec<String> = list
                .iter()
                .map(|d| {
                    let on = d.effective.as_deref().map(iso_to_form).unwrap_or_default();
                    format!("{} ({on})", discipline_name(&d.value))
                })
                .collect();
            fact_or(
                (!given.is_empty()).then(|| given.join("; ")),
                false,
                r.field("22"),
            )
        }
    }
}

fn signatures(left: &[(&str, bool)], right: &[(&str, bool)], name: &str) -> Block {
    let mut l: Vec<Cell> = left.iter().map(|(t, b)| cell(t, *b, 9.5)).collect();
    l.extend([
        cell("", false, 9.5),
        cell("", false, 9.5),
        cell("", false, 9.5),
    ]);
    l.push(cell(name, true, 9.5));
    Block::Columns {
        left: l,
        right: right.iter().map(|(t, b)| cell(t, *b, 9.5)).collect(),
        split: 0.5,
        photo: None,
    }
}

/// Mẫu 2C-BNV/2008, items 1–32.
fn classic(r: &Resume) -> Vec<Block> {
    let f = |code: &str| r.field(code);
    let mut b = header(r, Form::Classic2C, "SƠ YẾU LÝ LỊCH CÁN BỘ, CÔNG CHỨC", 14.0);
    b.extend(pending_note(r));
    let name = match f("1") {
        Shown::Value(v) => Shown::Value(v.to_uppercase()),
        other => other,
    };
    b.extend([
        item("1", &[("Họ và tên khai sinh (viết chữ in hoa)", name)]),
        item("2", &[("Tên gọi khác", f("2"))]),
        item("3", &[("Sinh ngày", f("3a")), ("Giới tính (nam, nữ)", f("3b"))]),
        item("4", &[("Nơi sinh", f("4"))]),
        item("5", &[("Quê quán", f("5"))]),
        item("6", &[("Dân tộc", f("6")), ("7) Tôn giáo", f("7"))]),
        item(
            "8",
            &[(
                "Nơi đăng ký hộ khẩu thường trú (số nhà, đường phố, thành phố, xóm, thôn, xã, huyện, tỉnh)",
                f("8"),
            )],
        ),
        item("9", &[("Nơi ở hiện nay", f("9"))]),
        item("10", &[("Nghề nghiệp khi được tuyển dụng", f("10"))]),
        item("11", &[("Ngày tuyển dụng", f("11a")), ("Cơ quan tuyển dụng", f("11b"))]),
        item(
            "12",
            &[(
                "Chức vụ (chức danh) hiện tại (về chính quyền hoặc Đảng, đoàn thể, kể cả chức vụ kiêm nhiệm)",
                positions(r),
            )],
        ),
        item("13", &[("Công việc chính được giao", f("13"))]),
        item(
            "14",
            &[
                ("Ngạch công chức (viên chức)", rank_name(r)),
                ("Mã ngạch", rank_code(r)),
            ],
        ),
        item(
            "",
            &[
                ("Bậc lương", salary_step(r)),
                ("Hệ số", salary_coefficient(r)),
                ("Ngày hưởng", salary_since(r)),
            ],
        ),
        item(
            "",
            &[("Phụ cấp chức vụ", f("14f")), ("Phụ cấp khác", f("14g"))],
        ),
        item("15.1", &[("Trình độ giáo dục phổ thông (đã tốt nghiệp lớp mấy/thuộc hệ nào)", f("15.1"))]),
        item("15.2", &[("Trình độ chuyên môn cao nhất", f("15.2"))]),
        item("15.3", &[("Lý luận chính trị", f("15.3")), ("15.4) Quản lý nhà nước", f("15.4"))]),
        item("15.5", &[("Ngoại ngữ", f("15.5")), ("15.6) Tin học", f("15.6"))]),
        item(
            "16",
            &[("Ngày vào Đảng Cộng sản Việt Nam", f("16a")), ("Ngày chính thức", f("16b"))],
        ),
        item(
            "17",
            &[(
                "Ngày tham gia tổ chức chính trị - xã hội (Đoàn, Hội … và làm việc gì trong tổ chức đó)",
                f("17"),
            )],
        ),
        item(
            "18",
            &[
                ("Ngày nhập ngũ", f("18a")),
                ("Ngày xuất ngũ", f("18b")),
                ("Quân hàm cao nhất", f("18c")),
            ],
        ),
        item("19", &[("Danh hiệu được phong tặng cao nhất", f("19"))]),
        item("20", &[("Sở trường công tác", f("20"))]),
        item("21", &[("Khen thưởng (hình thức cao nhất, năm nào)", awards(r))]),
        item(
            "22",
            &[(
                "Kỷ luật (về đảng, chính quyền, đoàn thể – hình thức cao nhất, năm nào)",
                discipline(r),
            )],
        ),
        item(
            "23",
            &[
                ("Tình trạng sức khỏe", f("23a")),
                ("Chiều cao", f("23b")),
                ("Cân nặng (kg)", f("23c")),
                ("Nhóm máu", f("23d")),
            ],
        ),
        item(
            "24",
            &[
                ("Là thương binh hạng", f("24a")),
                ("Là con gia đình chính sách", f("24b")),
            ],
        ),
        item(
            "25",
            &[("Số chứng minh nhân dân", person_id(r)), ("Ngày cấp", f("25b"))],
        ),
        item("26", &[("Số sổ BHXH", f("26"))]),
        Block::Gap(6.0),
        heading("27) ĐÀO TẠO, BỒI DƯỠNG VỀ CHUYÊN MÔN, NGHIỆP VỤ, LÝ LUẬN CHÍNH TRỊ, NGOẠI NGỮ, TIN HỌC"),
        training(r),
        Block::Gap(6.0),
        heading("28) TÓM TẮT QUÁ TRÌNH CÔNG TÁC"),
        career(r),
        Block::Gap(6.0),
        heading("29) ĐẶC ĐIỂM LỊCH SỬ BẢN THÂN"),
        item(
            "",
            &[(
                "a) Khai rõ: bị bắt, bị tù (từ … đến …, ở đâu), đã khai báo cho ai, những vấn đề gì? Bản thân có làm việc trong chế độ cũ (cơ quan, đơn vị, địa điểm, chức danh, chức vụ, thời gian)",
                f("29a"),
            )],
        ),
        item(
            "",
            &[(
                "b) Tham gia hoặc có quan hệ với các tổ chức chính trị, kinh tế, xã hội nào ở nước ngoài",
                f("29b"),
            )],
        ),
        item(
            "",
            &[(
                "c) Có thân nhân (cha, mẹ, vợ, chồng, con, anh chị em ruột) ở nước ngoài (làm gì, địa chỉ)",
                f("29c"),
            )],
        ),
        Block::Gap(6.0),
        heading("30) QUAN HỆ GIA ĐÌNH"),
        family(r),
        Block::Gap(6.0),
        heading("31) DIỄN BIẾN QUÁ TRÌNH LƯƠNG CỦA CÁN BỘ, CÔNG CHỨC"),
    ]);
    b.extend(salary_horizontal(r));
    b.extend([
        Block::Gap(6.0),
        heading("32) NHẬN XÉT, ĐÁNH GIÁ CỦA CƠ QUAN, ĐƠN VỊ QUẢN LÝ VÀ SỬ DỤNG CÁN BỘ, CÔNG CHỨC"),
        Block::Ruled(4),
        Block::Gap(14.0),
        signatures(
            &[
                ("Người khai", true),
                (
                    "Tôi xin cam đoan những lời khai trên đây là đúng sự thật",
                    false,
                ),
                ("(Ký tên, ghi rõ họ tên)", false),
            ],
            &[
                ("…, Ngày … tháng … năm 20…", false),
                ("Thủ trưởng cơ quan, đơn vị quản lý và sử dụng CBCC", true),
                ("(Ký tên, đóng dấu)", false),
            ],
            &r.full_name,
        ),
    ]);
    b
}

fn training(r: &Resume) -> Block {
    field_table(
        r,
        &[
            ("Tên trường", 3.0),
            ("Chuyên ngành đào tạo, bồi dưỡng", 3.0),
            ("Từ tháng, năm - đến tháng, năm", 2.0),
            ("Hình thức đào tạo", 2.0),
            ("Văn bằng, chứng chỉ, trình độ gì", 2.5),
        ],
        &["27.c1", "27.c2", "27.c3", "27.c4", "27.c5"],
    )
}

fn career(r: &Resume) -> Block {
    field_table(
        r,
        &[
            ("Từ tháng, năm đến tháng, năm", 1.2),
            (
                "Chức danh, chức vụ, đơn vị công tác (đảng, chính quyền, đoàn thể, tổ chức xã hội), kể cả thời gian được đào tạo, bồi dưỡng",
                4.0,
            ),
        ],
        &["28.c1", "28.c2"],
    )
}

fn family(r: &Resume) -> Block {
    field_table(
        r,
        &[
            ("Mối quan hệ", 1.3),
            ("Họ và tên", 2.0),
            ("Năm sinh", 0.9),
            (
                "Quê quán, nghề nghiệp, chức danh, chức vụ, đơn vị công tác, học tập, nơi ở (trong, ngoài nước); thành viên các tổ chức chính trị - xã hội …",
                4.5,
            ),
        ],
        &["30.c1", "30.c2", "30.c3", "30.c4"],
    )
}

/// Item 31 as the form draws it: one column per change, three rows; six
/// changes to a table, as many tables as needed.
fn salary_horizontal(r: &Resume) -> Vec<Block> {
    let entries = salary_rows(r);
    let withheld = r.table_withheld(&["31.r1", "31.r2", "31.r3"]);
    let mut out = Vec::new();
    let chunks: Vec<&[(String, String, String)]> = if entries.is_empty() {
        vec![&[]]
    } else {
        entries.chunks(6).collect()
    };
    for chunk in chunks {
        let mut columns = vec![Column {
            title: "Tháng/năm".to_owned(),
            weight: 1.6,
        }];
        let mut codes = vec!["Mã ngạch/bậc".to_owned()];
        let mut coefficients = vec!["Hệ số lương".to_owned()];
        for (month, code, coef) in chunk {
            columns.push(Column {
                title: month.clone(),
                weight: 1.0,
            });
            codes.push(code.clone());
            coefficients.push(coef.clone());
        }
        if chunk.is_empty() {
            let blank = if withheld {
                crate::resume::WITHHELD
            } else {
                ""
            };
            columns.push(Column {
                title: String::new(),
                weight: 6.0,
            });
            codes.push(blank.to_owned());
            coefficients.push(String::new());
        } else {
            for _ in chunk.len()..6 {
                columns.push(Column {
                    title: String::new(),
                    weight: 1.0,
                });
                codes.push(String::new());
                coefficients.push(String::new());
            }
        }
        out.push(Block::Table {
            columns,
            rows: vec![codes, coefficients],
            size: TABLE,
            label_column: true,
        });
        out.push(Block::Gap(4.0));
    }
    out
}

/// The 2C form of Circular 06/2023/TT-BNV: items 1–25 as the field
/// catalogue lists them, then its tables.
fn tt06(r: &Resume) -> Vec<Block> {
    let f = |code: &str| r.field(code);
    let blank = || Shown::Blank;
    let mut b = header(
        r,
        Form::Tt06,
        "SƠ YẾU LÝ LỊCH CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC",
        12.0,
    );
    b.extend(pending_note(r));
    let name = match f("1") {
        Shown::Value(v) => Shown::Value(v.to_uppercase()),
        other => other,
    };
    let policy = match (f("24a"), f("24b")) {
        (Shown::Value(a), Shown::Value(b)) => Shown::Value(format!("Thương binh hạng {a}; {b}")),
        (Shown::Value(a), _) => Shown::Value(format!("Thương binh hạng {a}")),
        (_, other) => other,
    };
    b.extend([
        item("1", &[("Họ và tên khai sinh", name)]),
        item("2", &[("Các tên gọi khác", f("2"))]),
        item("3", &[("Ngày, tháng, năm sinh", f("3a"))]),
        item("4", &[("Giới tính", f("3b"))]),
        item("5", &[("Nơi đăng ký khai sinh", f("4"))]),
        item("6", &[("Quê quán", f("5"))]),
        item(
            "7",
            &[
                ("Nơi thường trú", f("8")),
                ("Nơi ở hiện nay", f("9")),
                ("Số thuê bao di động", f("n.7")),
            ],
        ),
        item("8", &[("Dân tộc", f("6"))]),
        item("9", &[("Tôn giáo", f("7"))]),
        item(
            "10",
            &[
                ("Số Căn cước/Hộ chiếu", person_id(r)),
                ("Ngày cấp", f("25b")),
                ("Nơi cấp", blank()),
            ],
        ),
        item("11", &[("Cấp ủy hiện tại", blank())]),
        item("12", &[("Cấp ủy kiêm nhiệm", blank())]),
        item(
            "13",
            &[
                ("Chức vụ hiện tại", positions(r)),
                ("Ngày bổ nhiệm/phê chuẩn, chuẩn y", f("n.13")),
                ("Ngày bổ nhiệm lại", blank()),
            ],
        ),
        item("14", &[("Chức vụ kiêm nhiệm", blank())]),
        item("15", &[("Nghề nghiệp trước khi được tuyển dụng", f("10"))]),
        item(
            "16",
            &[
                ("Ngày được tuyển dụng lần đầu", f("11a")),
                ("Cơ quan", f("11b")),
            ],
        ),
        item("17", &[("Ngày vào cơ quan hiện đang công tác", f("n.17"))]),
        item(
            "18",
            &[("Ngày vào Đảng", f("16a")), ("Ngày chính thức", f("16b"))],
        ),
        item(
            "19",
            &[
                ("Ngày nhập ngũ", f("18a")),
                ("Ngày xuất ngũ", f("18b")),
                ("Quân hàm, chức vụ cao nhất (năm)", f("18c")),
            ],
        ),
        item("20", &[("Đối tượng chính sách", policy)]),
        item(
            "21",
            &[
                ("Trình độ: Giáo dục phổ thông", f("15.1")),
                ("Chuyên môn, nghiệp vụ", f("15.2")),
                ("Lý luận chính trị", f("15.3")),
                ("Ngoại ngữ", f("15.5")),
                ("Tin học", f("15.6")),
                ("Quản lý nhà nước", f("15.4")),
            ],
        ),
        item(
            "22",
            &[
                ("Ngạch, chức danh nghề nghiệp", rank_name(r)),
                ("Mã số", rank_code(r)),
                ("Bậc lương", salary_step(r)),
                ("Hệ số", salary_coefficient(r)),
                ("Ngày hưởng", salary_since(r)),
            ],
        ),
        item(
            "",
            &[
                ("Số sổ BHXH", f("26")),
                ("Phụ cấp chức vụ", f("14f")),
                ("Phụ cấp khác", f("14g")),
            ],
        ),
        item(
            "23",
            &[
                ("Sở trường công tác", f("20")),
                ("Công việc chính được giao", f("13")),
            ],
        ),
        item("24", &[("Danh hiệu được phong (năm nào)", f("19"))]),
        item("25", &[("Tài khoản mạng xã hội", f("n.25"))]),
        Block::Gap(6.0),
        heading("I. QUÁ TRÌNH LÀM VIỆC, HỌC TẬP TRƯỚC KHI ĐƯỢC TUYỂN DỤNG"),
        field_table(
            r,
            &[
                ("Thời gian (từ tháng, năm đến tháng, năm)", 1.2),
                ("Nội dung", 4.0),
            ],
            &["T0.c1", "T0.c2"],
        ),
        Block::Gap(6.0),
        heading("II. QUÁ TRÌNH CÔNG TÁC TỪ KHI ĐƯỢC TUYỂN DỤNG ĐẾN NAY"),
        career(r),
        Block::Gap(6.0),
        heading("III. ĐÀO TẠO, BỒI DƯỠNG"),
        training(r),
        Block::Gap(6.0),
        heading("IV. KHEN THƯỞNG"),
        awards_table(r),
        Block::Gap(6.0),
        heading("V. KỶ LUẬT"),
        discipline_table(r),
        Block::Gap(6.0),
        heading("VI. QUÁ TRÌNH LƯƠNG"),
        salary_table(r),
        Block::Gap(6.0),
        heading("VII. QUAN HỆ GIA ĐÌNH"),
        family(r),
        Block::Gap(14.0),
        signatures(
            &[
                ("Người khai", true),
                (
                    "Tôi xin cam đoan những lời khai trên đây là đúng sự thật",
                    false,
                ),
                ("(Ký, ghi rõ họ tên)", false),
            ],
            &[
                ("…, ngày … tháng … năm 20…", false),
                ("Xác nhận của cơ quan, đơn vị quản lý", true),
                ("(Ký tên, đóng dấu)", false),
            ],
            &r.full_name,
        ),
    ]);
    b
}

const DECISION_COLUMNS: [(&str, f32); 4] = [
    ("Năm", 0.8),
    ("Số, ngày quyết định", 1.6),
    ("Hình thức", 2.0),
    ("Nội dung", 2.6),
];

fn awards_table(r: &Resume) -> Block {
    let mut rows: Vec<Vec<String>> = r
        .awards
        .iter()
        .map(|(form, year)| vec![year.to_string(), String::new(), form.clone(), String::new()])
        .collect();
    if rows.is_empty() {
        match r.field("21") {
            Shown::Value(v) => rows.push(vec![String::new(), String::new(), v, String::new()]),
            Shown::Withheld => rows.push(withheld_row(&DECISION_COLUMNS)),
            Shown::Blank if r.is_withheld("awards") => rows.push(withheld_row(&DECISION_COLUMNS)),
            Shown::Blank => {}
        }
    }
    table(&DECISION_COLUMNS, rows)
}

fn discipline_table(r: &Resume) -> Block {
    let rows = match &r.discipline {
        None => vec![withheld_row(&DECISION_COLUMNS)],
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|d| {
                let year = d
                    .effective
                    .as_deref()
                    .and_then(|e| e.get(..4))
                    .unwrap_or_default()
                    .to_owned();
                vec![
                    year,
                    String::new(),
                    discipline_name(&d.value).to_owned(),
                    String::new(),
                ]
            })
            .collect(),
        Some(_) => match r.field("22") {
            Shown::Value(v) => vec![vec![String::new(), String::new(), v, String::new()]],
            Shown::Withheld => vec![withheld_row(&DECISION_COLUMNS)],
            Shown::Blank => Vec::new(),
        },
    };
    table(&DECISION_COLUMNS, rows)
}

const SALARY_COLUMNS: [(&str, f32); 6] = [
    ("Từ tháng, năm", 1.1),
    ("Đến tháng, năm", 1.1),
    ("Mã số", 1.2),
    ("Bậc lương", 0.8),
    ("Hệ số", 0.8),
    ("Tiền lương theo vị trí việc làm", 1.6),
];

/// Section VI: each change from its month to the next one's.
fn salary_table(r: &Resume) -> Block {
    let entries = salary_rows(r);
    let mut rows = Vec::new();
    for (i, (from, code, coef)) in entries.iter().enumerate() {
        let to = entries.get(i + 1).map(|e| e.0.clone()).unwrap_or_default();
        let (rank, step) = match code.rsplit_once('/') {
            Some((rank, step)) => (rank.to_owned(), step.to_owned()),
            None => (code.clone(), String::new()),
        };
        rows.push(vec![
            from.clone(),
            to,
            rank,
            step,
            coef.clone(),
            String::new(),
        ]);
    }
    if r.table_withheld(&["31.r1", "31.r2", "31.r3"]) {
        rows.push(withheld_row(&SALARY_COLUMNS));
    }
    table(&SALARY_COLUMNS, rows)
}

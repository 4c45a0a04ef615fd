//! A fixed dossier to print: every item of both variants filled, Vietnamese
//! with stacked marks (ệ, ẫ, ự, ỗ, ở), a career history long enough to run
//! over a page, decisions of the state in effect, and one restricted item
//! withheld from the reader.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hoso_print::Resume;
use hoso_projections::views::{Dated, Rank, Salary};

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

pub fn resume() -> Resume {
    let mut fields = BTreeMap::new();
    let mut put = |code: &str, row: u32, value: &str| {
        fields.insert((code.to_owned(), row), value.to_owned());
    };
    for (code, value) in [
        ("1", "Nguyễn Thị Huyền Trang"),
        ("2", "Trang Nguyễn"),
        ("3a", "17/05/1990"),
        ("3b", "Nữ"),
        ("4", "Xã Nghĩa Hưng, huyện Nghĩa Đàn, tỉnh Nghệ An"),
        ("5", "Xã Tiên Lữ, huyện Tiên Lữ, tỉnh Hưng Yên"),
        ("6", "Kinh"),
        ("7", "Không"),
        (
            "8",
            "Số 12 phố Phạm Ngũ Lão, phường Lê Lợi, thành phố Hưng Yên",
        ),
        (
            "9",
            "Số 12 phố Phạm Ngũ Lão, phường Lê Lợi, thành phố Hưng Yên",
        ),
        ("n.7", "0912 345 678"),
        ("10", "Giáo viên"),
        ("11a", "01/09/2012"),
        ("11b", "Sở Giáo dục và Đào tạo tỉnh Hưng Yên"),
        (
            "13",
            "Tổng hợp, thẩm định hồ sơ cán bộ; quản lý cơ sở dữ liệu",
        ),
        ("n.13", "15/03/2021"),
        ("n.17", "01/07/2016"),
        ("14f", "0,20"),
        ("14g", "Thâm niên vượt khung 5%"),
        ("15.1", "12/12"),
        ("15.2", "Thạc sĩ Quản lý công"),
        ("15.3", "Trung cấp"),
        ("15.4", "Chuyên viên chính"),
        ("15.5", "Tiếng Anh bậc 3 (B1)"),
        ("15.6", "Chuẩn kỹ năng sử dụng CNTT cơ bản"),
        ("16a", "03/02/2014"),
        ("16b", "03/02/2015"),
        ("17", "12/2008, Đoàn TNCS Hồ Chí Minh, bí thư chi đoàn"),
        ("19", "Chiến sĩ thi đua cơ sở"),
        (
            "20",
            "Tổng hợp, hướng dẫn nghiệp vụ, xây dựng văn bản quy phạm",
        ),
        ("23a", "Tốt"),
        ("23b", "158"),
        ("23c", "50"),
        ("23d", "O"),
        ("24b", "Con thương binh"),
        ("25b", "20/04/2021"),
        ("26", "3312345678"),
        ("29a", "Không"),
        ("29b", "Không"),
        ("n.25", "facebook.com/trang.nguyen"),
        ("H3", "HY-2012-00417"),
    ] {
        put(code, 0, value);
    }
    let training = [
        (
            "Trường Đại học Sư phạm Hà Nội",
            "Sư phạm Ngữ văn",
            "09/2008 - 06/2012",
            "Chính quy",
            "Cử nhân",
        ),
        (
            "Học viện Hành chính Quốc gia",
            "Quản lý công",
            "10/2016 - 10/2018",
            "Vừa làm vừa học",
            "Thạc sĩ",
        ),
        (
            "Trường Chính trị Nguyễn Văn Linh",
            "Lý luận chính trị",
            "03/2019 - 09/2019",
            "Tập trung",
            "Trung cấp",
        ),
    ];
    for (i, (a, b, c, d, e)) in training.iter().enumerate() {
        let row = i as u32 + 1;
        for (code, v) in [
            ("27.c1", a),
            ("27.c2", b),
            ("27.c3", c),
            ("27.c4", d),
            ("27.c5", e),
        ] {
            put(code, row, v);
        }
    }
    // Twenty-four rows: the career table runs over a page.
    for i in 0..24u32 {
        let from = 2012 + i / 2;
        let half = if i % 2 == 0 { "01" } else { "07" };
        let (to_y, to_m) = if i % 2 == 0 {
            (from, "06")
        } else {
            (from, "12")
        };
        put("28.c1", i + 1, &format!("{half}/{from} - {to_m}/{to_y}"));
        put(
            "28.c2",
            i + 1,
            &format!(
                "Chuyên viên phòng Tổ chức cán bộ, Sở Nội vụ tỉnh Hưng Yên; nhiệm vụ {}: thẩm định hồ sơ, tổng hợp báo cáo, kiểm tra việc thực hiện chế độ",
                i + 1
            ),
        );
    }
    for (row, (rel, name, year, detail)) in [
        (
            "Cha",
            "Nguyễn Văn Lực",
            "1962",
            "Quê quán Hưng Yên; nông dân; nơi ở: thôn Đông, xã Tiên Lữ",
        ),
        (
            "Mẹ",
            "Trần Thị Diệu",
            "1965",
            "Quê quán Hưng Yên; giáo viên nghỉ hưu",
        ),
        (
            "Chồng",
            "Phạm Đức Thịnh",
            "1988",
            "Kỹ sư xây dựng, Công ty cổ phần Xây dựng Phố Hiến",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let row = row as u32 + 1;
        put("30.c1", row, rel);
        put("30.c2", row, name);
        put("30.c3", row, year);
        put("30.c4", row, detail);
    }
    for (row, (month, code, coef)) in [
        ("09/2012", "15a.202/1", "2,10"),
        ("09/2015", "01.003/2", "2,67"),
        ("09/2018", "01.003/3", "3,00"),
    ]
    .into_iter()
    .enumerate()
    {
        let row = row as u32 + 1;
        put("31.r1", row, month);
        put("31.r2", row, code);
        put("31.r3", row, coef);
    }
    for (row, (when, what)) in [(
        "09/2008 - 06/2012",
        "Sinh viên Trường Đại học Sư phạm Hà Nội",
    )]
    .into_iter()
    .enumerate()
    {
        put("T0.c1", row as u32 + 1, when);
        put("T0.c2", row as u32 + 1, what);
    }
    Resume {
        dossier_id: "0190b5c2-7d1e-7a3f-9c4d-2e6f8a1b3c5d".to_owned(),
        revision: 41,
        full_name: "Nguyễn Thị Huyền Trang".to_owned(),
        person_id: Some("033190001234".to_owned()),
        managing_unit: "Sở Nội vụ tỉnh Hưng Yên".to_owned(),
        employing_unit: "Phòng Tổ chức cán bộ, Sở Nội vụ".to_owned(),
        fields,
        pending_sections: vec!["health".to_owned()],
        rank: Some(Dated {
            effective: Some("2021-03-15".to_owned()),
            revision: 30,
            value: Rank {
                code: "01.002".to_owned(),
                name: "Chuyên viên chính".to_owned(),
            },
        }),
        salary: Some(Dated {
            effective: Some("2024-01-01".to_owned()),
            revision: 38,
            value: Salary {
                rank_code: "01.002".to_owned(),
                step: 2,
                coefficient_x100: 478,
                salary_group: "A2.1".to_owned(),
            },
        }),
        positions: vec![Dated {
            effective: Some("2021-03-15".to_owned()),
            revision: 31,
            value: "Phó Trưởng phòng Tổ chức cán bộ".to_owned(),
        }],
        awards: vec![("Bằng khen của Chủ tịch UBND tỉnh".to_owned(), 2023)],
        discipline: None,
        withheld: vec!["discipline".to_owned(), "history/29c".to_owned()],
        as_of: Some("2024-06-30".to_owned()),
        known_at: None,
        printed_on: day(2026, 12, 6),
    }
}

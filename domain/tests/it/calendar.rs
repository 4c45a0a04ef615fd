//! The lunar calendar against the reference table and well-known dates; the
//! working calendar against the announced holidays; counting properties.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, Weekday};
use hoso_domain::calendar::{
    CalendarError, DayKind, Deadline, Holiday, LunarDate, WorkingCalendar, hung_kings_day,
    leap_month, lunar_to_solar, solar_to_lunar, tet,
};
use proptest::prelude::*;

static CAL: LazyLock<WorkingCalendar> = LazyLock::new(|| WorkingCalendar::official().unwrap());

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// The reference table of Tết and Hùng Kings day, kept in the repository (see
/// `data/README.md` for its source) and compiled in, so the test needs nothing beside
/// the clone.
fn reference_table() -> String {
    include_str!("../../data/tet_giotro_2020_2030.tsv").to_owned()
}

fn weekday_name(date: NaiveDate) -> &'static str {
    match date.weekday() {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}

#[test]
fn tet_hung_kings_and_new_years_eve_match_every_row_of_the_reference_table() {
    let table = reference_table();
    let mut rows = 0;
    for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 6, "malformed row: {line:?}");
        let year: i32 = cols[0].parse().unwrap();
        let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (tet_expected, hung_expected, eve_expected) =
            (parse(cols[1]), parse(cols[3]), parse(cols[5]));

        let tet_day = tet(year).unwrap();
        assert_eq!(tet_day, tet_expected, "Tết {year}");
        assert_eq!(weekday_name(tet_day), cols[2], "weekday of Tết {year}");
        let hung = hung_kings_day(year).unwrap();
        assert_eq!(hung, hung_expected, "Hùng Kings day {year}");
        assert_eq!(
            weekday_name(hung),
            cols[4],
            "weekday of Hùng Kings day {year}"
        );

        // The eve (giao thừa) is the last day of month 12 of the old year.
        let eve = solar_to_lunar(eve_expected).unwrap();
        assert_eq!(
            (eve.year, eve.month, eve.leap),
            (year - 1, 12, false),
            "{year}"
        );
        assert!(eve.day == 29 || eve.day == 30);
        assert_eq!(eve_expected.succ_opt().unwrap(), tet_day);
        rows += 1;
    }
    assert_eq!(rows, 11, "the table covers 2020–2030");
}

#[test]
fn tet_2030_is_2_february_at_utc_plus_7_not_3_february() {
    // The new moon is at about 16:07 UT on 2 February 2030: 23:07 in Hà
    // Nội, already 3 February in Beijing.
    assert_eq!(tet(2030).unwrap(), d(2030, 2, 2));
}

#[test]
fn tet_1985_is_21_january_in_vietnam() {
    // The famous year when Vietnam's Tết came a whole month before China's
    // (20 February), because month 11 starts on a different day at UTC+7.
    assert_eq!(tet(1985).unwrap(), d(1985, 1, 21));
}

#[test]
fn tet_2007_is_17_february_in_vietnam() {
    // New moon at 16:14 UT on 17 February 2007: 23:14 in Hà Nội (China: 18 Feb).
    assert_eq!(tet(2007).unwrap(), d(2007, 2, 17));
}

#[test]
fn lunar_dates_quoted_in_holiday_announcements() {
    // The announcements give both calendars: "thứ Năm 23/1/2020 (tức 29
    // tháng Chạp năm Kỷ Hợi) đến hết thứ Tư 29/1/2020 (mùng 5 tháng Giêng)",
    // "8/2/2024 (29 tháng Chạp Quý Mão) đến 14/2/2024 (mồng 5 tháng Giêng)",
    // "14/2/2026 (27 tháng Chạp Ất Tỵ) đến 22/2/2026 (mùng 6 tháng Giêng)".
    for (solar, lunar) in [
        (d(2020, 1, 23), LunarDate::new(2019, 12, 29, false)),
        (d(2020, 1, 29), LunarDate::new(2020, 1, 5, false)),
        (d(2024, 2, 8), LunarDate::new(2023, 12, 29, false)),
        (d(2024, 2, 14), LunarDate::new(2024, 1, 5, false)),
        (d(2026, 2, 14), LunarDate::new(2025, 12, 27, false)),
        (d(2026, 2, 22), LunarDate::new(2026, 1, 6, false)),
    ] {
        assert_eq!(solar_to_lunar(solar).unwrap(), lunar, "{solar}");
        assert_eq!(lunar_to_solar(lunar).unwrap(), solar);
    }
}

#[test]
fn leap_months_of_recent_years() {
    assert_eq!(leap_month(2020).unwrap(), Some(4));
    assert_eq!(leap_month(2021).unwrap(), None);
    assert_eq!(leap_month(2023).unwrap(), Some(2));
    assert_eq!(leap_month(2025).unwrap(), Some(6));
    assert_eq!(leap_month(2026).unwrap(), None);
}

#[test]
fn leap_month_6_of_2025_follows_month_6() {
    let month_6 = lunar_to_solar(LunarDate::new(2025, 6, 1, false)).unwrap();
    let leap_6 = lunar_to_solar(LunarDate::new(2025, 6, 1, true)).unwrap();
    let month_7 = lunar_to_solar(LunarDate::new(2025, 7, 1, false)).unwrap();
    assert!(month_6 < leap_6 && leap_6 < month_7);
    assert_eq!(
        solar_to_lunar(leap_6).unwrap(),
        LunarDate::new(2025, 6, 1, true)
    );
}

#[test]
fn tet_always_falls_between_21_january_and_20_february() {
    for year in 1900..=2199 {
        let t = tet(year).unwrap();
        assert!(d(year, 1, 21) <= t && t <= d(year, 2, 20), "{year}: {t}");
    }
}

#[test]
fn impossible_lunar_dates_are_refused() {
    // Month 12 of 2024 (ending at Tết 2025) has 29 days: 29 Chạp = 28 Jan 2025.
    assert_eq!(
        lunar_to_solar(LunarDate::new(2024, 12, 29, false)).unwrap(),
        d(2025, 1, 28)
    );
    assert!(matches!(
        lunar_to_solar(LunarDate::new(2024, 12, 30, false)),
        Err(CalendarError::NoSuchLunarDate { .. })
    ));
    // 2026 has no leap month.
    assert!(matches!(
        lunar_to_solar(LunarDate::new(2026, 3, 1, true)),
        Err(CalendarError::NoSuchLunarDate { .. })
    ));
    for (month, day) in [(0, 1), (13, 1), (1, 0), (1, 31)] {
        assert!(matches!(
            lunar_to_solar(LunarDate::new(2026, month, day, false)),
            Err(CalendarError::NoSuchLunarDate { .. })
        ));
    }
    assert!(matches!(
        tet(1899),
        Err(CalendarError::YearOutOfRange { year: 1899 })
    ));
    assert!(matches!(
        tet(2200),
        Err(CalendarError::YearOutOfRange { year: 2200 })
    ));
    assert!(matches!(
        solar_to_lunar(d(2200, 1, 1)),
        Err(CalendarError::YearOutOfRange { year: 2200 })
    ));
    assert!(matches!(
        lunar_to_solar(LunarDate::new(i32::MAX, 12, 1, false)),
        Err(CalendarError::YearOutOfRange { .. })
    ));
}

#[test]
fn the_supported_range_converts_at_both_ends() {
    let first = solar_to_lunar(d(1900, 1, 1)).unwrap();
    assert_eq!((first.year, first.month), (1899, 12));
    assert_eq!(first.to_solar().unwrap(), d(1900, 1, 1));
    let last = solar_to_lunar(d(2199, 12, 31)).unwrap();
    assert_eq!(last.year, 2199);
    assert_eq!(
        LunarDate::from_solar(last.to_solar().unwrap()).unwrap(),
        last
    );
}

// --- Holidays ----------------------------------------------------------------

fn off_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days()
        .take_while(|x| *x <= to)
        .filter(|x| !CAL.is_working_day(*x))
        .collect()
}

#[test]
fn announced_tet_2025_break_is_25_january_to_2_february() {
    let mut expected: Vec<NaiveDate> = d(2025, 1, 25).iter_days().take(9).collect();
    expected.extend([d(2025, 2, 8), d(2025, 2, 9)]); // the next weekend
    assert_eq!(off_days(d(2025, 1, 20), d(2025, 2, 9)), expected);
    // 1 February (mùng 4) is a Saturday inside the announced break: no
    // compensatory day after it.
    assert!(CAL.is_working_day(d(2025, 2, 3)));
}

#[test]
fn announced_tet_2024_break_is_8_to_14_february() {
    for day in d(2024, 2, 8).iter_days().take(7) {
        assert_eq!(CAL.day_kind(day), DayKind::Holiday(Holiday::Tet), "{day}");
    }
    assert!(CAL.is_working_day(d(2024, 2, 7)));
    assert!(CAL.is_working_day(d(2024, 2, 15)));
}

#[test]
fn tet_2026_is_16_to_20_february_for_working_days() {
    assert!(CAL.is_working_day(d(2026, 2, 13)));
    for day in 16..=20 {
        assert!(!CAL.is_working_day(d(2026, 2, day)), "{day}");
    }
    assert!(CAL.is_working_day(d(2026, 2, 23)));
}

#[test]
fn announced_swaps_make_a_saturday_a_working_day() {
    // 2025: Saturday 26 April worked, Friday 2 May off.
    assert_eq!(CAL.day_kind(d(2025, 4, 26)), DayKind::SwapWorkday);
    assert!(CAL.is_working_day(d(2025, 4, 26)));
    assert_eq!(CAL.day_kind(d(2025, 5, 2)), DayKind::SwappedOff);
    // 2024: Saturday 4 May worked, Monday 29 April off.
    assert!(CAL.is_working_day(d(2024, 5, 4)));
    assert!(!CAL.is_working_day(d(2024, 4, 29)));
    // 2026: Friday 2 January off for Saturday 10 January; Monday 31 August
    // off for Saturday 22 August.
    assert!(!CAL.is_working_day(d(2026, 1, 2)));
    assert!(CAL.is_working_day(d(2026, 1, 10)));
    assert!(!CAL.is_working_day(d(2026, 8, 31)));
    assert!(CAL.is_working_day(d(2026, 8, 22)));
}

#[test]
fn national_day_adjacent_days_as_announced() {
    assert_eq!(
        off_days(d(2024, 8, 29), d(2024, 9, 5)),
        vec![d(2024, 8, 31), d(2024, 9, 1), d(2024, 9, 2), d(2024, 9, 3)]
    );
    assert_eq!(
        off_days(d(2025, 8, 28), d(2025, 9, 4)),
        vec![d(2025, 8, 30), d(2025, 8, 31), d(2025, 9, 1), d(2025, 9, 2)]
    );
    assert_eq!(
        off_days(d(2026, 8, 27), d(2026, 9, 4)),
        vec![
            d(2026, 8, 29),
            d(2026, 8, 30),
            d(2026, 8, 31),
            d(2026, 9, 1),
            d(2026, 9, 2)
        ]
    );
}

#[test]
fn art_111_3_hung_kings_day_2026_on_sunday_gives_monday_off() {
    assert_eq!(hung_kings_day(2026).unwrap(), d(2026, 4, 26));
    assert_eq!(
        CAL.day_kind(d(2026, 4, 26)),
        DayKind::Holiday(Holiday::HungKings)
    );
    assert_eq!(
        CAL.day_kind(d(2026, 4, 27)),
        DayKind::Compensatory(Holiday::HungKings)
    );
    assert!(CAL.is_working_day(d(2026, 4, 28)));
}

#[test]
fn art_111_3_new_year_2028_on_saturday_gives_monday_3_january_off() {
    assert_eq!(d(2028, 1, 1).weekday(), Weekday::Sat);
    assert_eq!(
        CAL.day_kind(d(2028, 1, 3)),
        DayKind::Compensatory(Holiday::NewYear)
    );
}

#[test]
fn default_tet_rule_for_an_unannounced_year_compensates_the_weekend() {
    // Tết 2027 is Saturday 6 February; default days: Fri 5 (eve), Sat 6,
    // Sun 7, Mon 8, Tue 9; Sat and Sun are replaced by Wed 10 and Thu 11.
    assert_eq!(tet(2027).unwrap(), d(2027, 2, 6));
    assert_eq!(
        off_days(d(2027, 2, 1), d(2027, 2, 14)),
        vec![
            d(2027, 2, 5),
            d(2027, 2, 6),
            d(2027, 2, 7),
            d(2027, 2, 8),
            d(2027, 2, 9),
            d(2027, 2, 10),
            d(2027, 2, 11),
            d(2027, 2, 13),
            d(2027, 2, 14)
        ]
    );
    assert_eq!(
        CAL.day_kind(d(2027, 2, 10)),
        DayKind::Compensatory(Holiday::Tet)
    );
    assert!(CAL.is_working_day(d(2027, 2, 12)));
}

#[test]
fn default_national_day_rule_2027_thursday_takes_3_september() {
    assert_eq!(d(2027, 9, 2).weekday(), Weekday::Thu);
    assert_eq!(
        CAL.day_kind(d(2027, 9, 3)),
        DayKind::Holiday(Holiday::NationalDay)
    );
    assert!(CAL.is_working_day(d(2027, 9, 1)));
}

#[test]
fn fixed_holidays_of_art_112() {
    for (date, holiday) in [
        (d(2027, 1, 1), Holiday::NewYear),
        (d(2027, 4, 30), Holiday::VictoryDay),
        (d(2027, 5, 1), Holiday::LabourDay),
        (d(2027, 9, 2), Holiday::NationalDay),
        (hung_kings_day(2027).unwrap(), Holiday::HungKings),
    ] {
        assert_eq!(CAL.day_kind(date), DayKind::Holiday(holiday), "{date}");
    }
}

#[test]
fn years_outside_the_lunar_range_keep_weekends_and_solar_holidays() {
    assert!(!CAL.is_working_day(d(2300, 1, 1)));
    assert!(!CAL.is_working_day(d(2300, 9, 2)));
    assert!(CAL.is_working_day(d(2300, 2, 1))); // a Wednesday; no Tết known
    assert!(!CAL.is_working_day(d(1850, 5, 1)));
}

#[test]
fn invalid_holiday_data_is_refused_with_the_year() {
    let base = "[default]\ntet_first_offset = -1\ntet_last_offset = 3\n\
        [default.national_day_adjacent]\nmonday = \"after\"\ntuesday = \"before\"\n\
        wednesday = \"before\"\nthursday = \"after\"\nfriday = \"before\"\n\
        saturday = \"before\"\nsunday = \"before\"\n";
    assert!(WorkingCalendar::from_toml_str(base).is_ok());
    let cases = [
        "[[announced]]\nyear = 2027\nsource = \"x\"\nswaps = [{ work = \"2027-03-03\", off = \"2027-03-04\" }]\n",
        "[[announced]]\nyear = 2027\nsource = \"x\"\nnational_day_adjacent = \"2027-09-04\"\n",
        "[[announced]]\nyear = 2027\nsource = \"x\"\ntet_break = { first = \"2027-01-01\", last = \"2027-01-05\" }\n",
        "[[announced]]\nyear = 2027\nsource = \"x\"\n[[announced]]\nyear = 2027\nsource = \"y\"\n",
    ];
    for case in cases {
        let text = format!("{base}{case}");
        assert!(
            matches!(
                WorkingCalendar::from_toml_str(&text),
                Err(CalendarError::InvalidHolidayData { year: 2027, .. })
            ),
            "{case}"
        );
    }
    let typo = format!("{base}[[announced]]\nyear = 2027\nsource = \"x\"\nswap = []\n");
    assert!(matches!(
        WorkingCalendar::from_toml_str(&typo),
        Err(CalendarError::HolidayDataParse { .. })
    ));
}

// --- Counting ------------------------------------------------------------------

#[test]
fn five_working_days_from_friday_13_february_2026_skip_tet() {
    assert_eq!(CAL.add_working_days(d(2026, 2, 13), 5), d(2026, 2, 27));
    assert_eq!(CAL.working_days_between(d(2026, 2, 13), d(2026, 2, 27)), 5);
    assert_eq!(CAL.working_days_between(d(2026, 2, 27), d(2026, 2, 13)), -5);
}

#[test]
fn the_day_of_the_event_does_not_count() {
    // Monday + 1 working day = Tuesday.
    assert_eq!(CAL.add_working_days(d(2027, 3, 1), 1), d(2027, 3, 2));
    assert_eq!(CAL.add_working_days(d(2027, 3, 1), 0), d(2027, 3, 1));
    // A make-up Saturday counts.
    assert_eq!(CAL.add_working_days(d(2026, 1, 9), 1), d(2026, 1, 10));
}

#[test]
fn calendar_day_deadline_ending_on_a_day_off_moves_to_the_next_working_day() {
    // 10 days from Friday 6 Feb 2026 end on Monday 16 Feb, a Tết day: the
    // deadline moves to Monday 23 Feb (Civil Code 2015 art. 148).
    let ten_days = Deadline::calendar_days(10);
    assert_eq!(CAL.add_calendar_days(d(2026, 2, 6), 10), d(2026, 2, 16));
    assert_eq!(ten_days.due(d(2026, 2, 6), &CAL), d(2026, 2, 23));
    assert_eq!(ten_days.due(d(2027, 3, 1), &CAL), d(2027, 3, 11));
    assert_eq!(Deadline::working_days(5).to_string(), "5 working days");
}

#[test]
fn counting_saturates_at_the_end_of_time() {
    assert_eq!(CAL.add_working_days(NaiveDate::MAX, 3), NaiveDate::MAX);
    assert_eq!(CAL.add_calendar_days(NaiveDate::MAX, 3), NaiveDate::MAX);
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    (d(1950, 1, 1).num_days_from_ce()..=d(2150, 12, 31).num_days_from_ce())
        .prop_map(|n| NaiveDate::from_num_days_from_ce_opt(n).unwrap())
}

proptest! {
    #[test]
    fn add_working_days_lands_on_a_working_day(start in any_date(), n in 1u32..200) {
        prop_assert!(CAL.is_working_day(CAL.add_working_days(start, n)));
    }

    #[test]
    fn add_working_days_is_strictly_monotone(start in any_date(), n in 0u32..200) {
        prop_assert!(CAL.add_working_days(start, n) < CAL.add_working_days(start, n + 1));
    }

    #[test]
    fn working_days_between_inverts_add_working_days(start in any_date(), n in 0u32..200) {
        let end = CAL.add_working_days(start, n);
        prop_assert_eq!(CAL.working_days_between(start, end), i64::from(n));
        prop_assert_eq!(CAL.working_days_between(end, start), -i64::from(n));
    }

    #[test]
    fn a_deadline_never_falls_on_a_day_off(start in any_date(), n in 1u32..60, working in any::<bool>()) {
        let deadline = if working { Deadline::working_days(n) } else { Deadline::calendar_days(n) };
        let due = deadline.due(start, &CAL);
        prop_assert!(CAL.is_working_day(due));
        prop_assert!(due > start);
    }

    #[test]
    fn solar_to_lunar_and_back_is_the_identity(
        n in d(1900, 1, 1).num_days_from_ce()..=d(2199, 12, 31).num_days_from_ce()
    ) {
        let date = NaiveDate::from_num_days_from_ce_opt(n).unwrap();
        let lunar = solar_to_lunar(date).unwrap();
        prop_assert!((1..=30).contains(&lunar.day) && (1..=12).contains(&lunar.month));
        prop_assert_eq!(lunar_to_solar(lunar).unwrap(), date);
    }
}

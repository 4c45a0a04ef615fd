//! Public holidays of the Labour Code 2019 (Bộ luật Lao động, art. 112),
//! compensatory days off and announced swap days, as rules plus yearly data.
//!
//! Why rules *and* data: the Code fixes most holidays, but the exact five
//! days of Tết and the day next to 2 September are chosen every year by the
//! Prime Minister (art. 112.3), and the government also announces swaps
//! (work a Saturday to bridge a holiday). The default rules give a
//! reasonable answer for any year; `profiles/holidays.toml` records what was
//! actually announced and wins over the rules for those years.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

use super::CalendarError;
use super::lunar;

/// The holiday data shipped with the product.
pub(crate) const OFFICIAL_HOLIDAYS_TOML: &str = include_str!("../../profiles/holidays.toml");

/// The longest announced Tết break we accept (the longest so far: 9 days).
const TET_BREAK_DAYS_MAX: i64 = 16;

/// A public holiday of Labour Code 2019 art. 112.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holiday {
    /// Tết Dương lịch, 1 January (art. 112.1a).
    NewYear,
    /// Tết Âm lịch, five days around 1/1 lunar (art. 112.1b).
    Tet,
    /// Ngày Chiến thắng, 30 April (art. 112.1c).
    VictoryDay,
    /// Ngày Quốc tế lao động, 1 May (art. 112.1d).
    LabourDay,
    /// Quốc khánh, 2 September and one adjacent day (art. 112.1đ).
    NationalDay,
    /// Giỗ Tổ Hùng Vương, 10/3 lunar (art. 112.1e).
    HungKings,
}

/// What kind of day a date is for a state agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// An ordinary working day (Monday–Friday).
    Working,
    /// A Saturday or Sunday worked to pay for a swapped day off (ngày làm bù).
    SwapWorkday,
    /// Saturday or Sunday: state agencies work a 40-hour, five-day week.
    WeeklyRest,
    /// A public holiday, or a day of an announced Tết break.
    Holiday(Holiday),
    /// The working day off that replaces a holiday falling on a weekend
    /// (Labour Code 2019 art. 111.3).
    Compensatory(Holiday),
    /// A working day given off by an announced swap (ngày nghỉ bù hoán đổi).
    SwappedOff,
}

impl DayKind {
    /// Whether agencies work that day.
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Working | DayKind::SwapWorkday)
    }
}

/// Which side of 2 September the second National Day holiday falls on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjacent {
    /// 1 September.
    Before,
    /// 3 September.
    After,
}

/// The default adjacent day of 2 September, by the weekday of 2 September.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjacentByWeekday {
    monday: Adjacent,
    tuesday: Adjacent,
    wednesday: Adjacent,
    thursday: Adjacent,
    friday: Adjacent,
    saturday: Adjacent,
    sunday: Adjacent,
}

impl AdjacentByWeekday {
    fn for_weekday(&self, weekday: Weekday) -> Adjacent {
        match weekday {
            Weekday::Mon => self.monday,
            Weekday::Tue => self.tuesday,
            Weekday::Wed => self.wednesday,
            Weekday::Thu => self.thursday,
            Weekday::Fri => self.friday,
            Weekday::Sat => self.saturday,
            Weekday::Sun => self.sunday,
        }
    }
}

/// Rules used for any year without an announcement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultRules {
    /// First Tết holiday relative to 1/1 lunar (−1: the last day of the old year).
    tet_first_offset: i64,
    /// Last Tết holiday relative to 1/1 lunar (3: the 4th day of the new year).
    tet_last_offset: i64,
    /// The adjacent day of 2 September by its weekday.
    national_day_adjacent: AdjacentByWeekday,
}

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// First day.
    pub first: NaiveDate,
    /// Last day (inclusive).
    pub last: NaiveDate,
}

/// An announced swap: a weekend day worked, a working day given off.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Swap {
    /// The Saturday (or Sunday) worked.
    pub work: NaiveDate,
    /// The working day given off in exchange.
    pub off: NaiveDate,
}

/// What the government announced for one year.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Announcement {
    /// Gregorian year.
    pub year: i32,
    /// The document(s) the announcement comes from.
    pub source: String,
    /// The whole announced Tết break; replaces the default Tết days and
    /// their compensatory days. Weekend days inside it are harmless.
    #[serde(default)]
    pub tet_break: Option<DateRange>,
    /// The day chosen next to 2 September (1 or 3 September).
    #[serde(default)]
    pub national_day_adjacent: Option<NaiveDate>,
    /// Announced swaps.
    #[serde(default)]
    pub swaps: Vec<Swap>,
}

/// The holiday rules and announcements (the content of `holidays.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayData {
    /// Rules for years without an announcement.
    pub default: DefaultRules,
    /// Yearly announcements.
    #[serde(default)]
    pub announced: Vec<Announcement>,
}

impl HolidayData {
    /// Parses and checks holiday data in the format of `holidays.toml`.
    pub fn from_toml_str(text: &str) -> Result<Self, CalendarError> {
        let data: HolidayData =
            toml::from_str(text).map_err(|source| CalendarError::HolidayDataParse { source })?;
        data.validate()?;
        Ok(data)
    }

    fn validate(&self) -> Result<(), CalendarError> {
        let invalid =
            |year: i32, problem: String| CalendarError::InvalidHolidayData { year, problem };
        let d = &self.default;
        if d.tet_first_offset > d.tet_last_offset
            || d.tet_last_offset - d.tet_first_offset >= TET_BREAK_DAYS_MAX
            || d.tet_first_offset.abs() > TET_BREAK_DAYS_MAX
            || d.tet_last_offset.abs() > TET_BREAK_DAYS_MAX
        {
            return Err(invalid(
                0,
                "default Tết offsets are not a short range around 1/1 lunar".into(),
            ));
        }
        let mut years = BTreeSet::new();
        for a in &self.announced {
            if !years.insert(a.year) {
                return Err(invalid(a.year, "announced twice".into()));
            }
            if let Some(range) = a.tet_break {
                let days = (range.last - range.first).num_days();
                if range.first.year() != a.year || range.last.year() != a.year {
                    return Err(invalid(a.year, "Tết break outside its year".into()));
                }
                if !(0..TET_BREAK_DAYS_MAX).contains(&days) {
                    return Err(invalid(a.year, format!("Tết break of {} days", days + 1)));
                }
                // In range years the break must contain Tết itself.
                if let Ok(tet) = lunar::tet(a.year)
                    && !(range.first <= tet && tet <= range.last)
                {
                    return Err(invalid(
                        a.year,
                        format!("Tết break does not contain Tết ({tet})"),
                    ));
                }
            }
            if let Some(day) = a.national_day_adjacent {
                let ok = day.year() == a.year && day.month() == 9 && matches!(day.day(), 1 | 3);
                if !ok {
                    return Err(invalid(a.year, format!("{day} is not next to 2 September")));
                }
            }
            for swap in &a.swaps {
                if swap.work.year() != a.year || swap.off.year() != a.year {
                    return Err(invalid(a.year, "swap outside its year".into()));
                }
                if !is_weekend(swap.work) {
                    return Err(invalid(
                        a.year,
                        format!("swap work day {} is not a weekend", swap.work),
                    ));
                }
                if is_weekend(swap.off) {
                    return Err(invalid(
                        a.year,
                        format!("swap day off {} is a weekend", swap.off),
                    ));
                }
            }
        }
        Ok(())
    }

    fn announcement(&self, year: i32) -> Option<&Announcement> {
        self.announced.iter().find(|a| a.year == year)
    }

    /// Every day of `year` that differs from the plain Monday–Friday week:
    /// holidays, compensatory days, swapped days off and swap workdays.
    /// Lunar holidays are left out for years outside the lunar range.
    pub(crate) fn exceptions_of_year(&self, year: i32) -> BTreeMap<NaiveDate, DayKind> {
        let announcement = self.announcement(year);
        let mut year_days = YearDays::default();
        self.add_solar_holidays(&mut year_days, year, announcement);
        self.add_lunar_holidays(&mut year_days, year, announcement);
        let mut days = year_days.with_compensatory_days();
        if let Some(a) = announcement {
            apply_swaps(&mut days, a);
        }
        days
    }

    /// The holidays on fixed solar dates, plus the day next to 2 September,
    /// which the Prime Minister picks (art. 112.3) or the default rules do.
    fn add_solar_holidays(
        &self,
        year_days: &mut YearDays,
        year: i32,
        announcement: Option<&Announcement>,
    ) {
        year_days.add(NaiveDate::from_ymd_opt(year, 1, 1), Holiday::NewYear, true);
        year_days.add(
            NaiveDate::from_ymd_opt(year, 4, 30),
            Holiday::VictoryDay,
            true,
        );
        year_days.add(
            NaiveDate::from_ymd_opt(year, 5, 1),
            Holiday::LabourDay,
            true,
        );
        let national_day = NaiveDate::from_ymd_opt(year, 9, 2);
        year_days.add(national_day, Holiday::NationalDay, true);
        let adjacent = match announcement.and_then(|a| a.national_day_adjacent) {
            Some(day) => Some(day),
            None => national_day.and_then(|d| {
                match self.default.national_day_adjacent.for_weekday(d.weekday()) {
                    Adjacent::Before => d.pred_opt(),
                    Adjacent::After => d.succ_opt(),
                }
            }),
        };
        year_days.add(adjacent, Holiday::NationalDay, true);
    }

    /// The holidays on lunar dates; a year outside the lunar range has none,
    /// rather than failing the whole year.
    fn add_lunar_holidays(
        &self,
        year_days: &mut YearDays,
        year: i32,
        announcement: Option<&Announcement>,
    ) {
        if let Ok(hung_kings) = lunar::hung_kings_day(year) {
            year_days.add(Some(hung_kings), Holiday::HungKings, true);
        }
        match announcement.and_then(|a| a.tet_break) {
            // The announced break already includes what replaces the Tết
            // days that fall on a weekend.
            Some(range) => {
                for date in range.first.iter_days().take_while(|d| *d <= range.last) {
                    year_days.add(Some(date), Holiday::Tet, false);
                }
            }
            None => {
                if let Ok(tet) = lunar::tet(year) {
                    for offset in self.default.tet_first_offset..=self.default.tet_last_offset {
                        year_days.add(shift(tet, offset), Holiday::Tet, true);
                    }
                }
            }
        }
    }
}

/// The holidays of a year as they are gathered, kept apart from those that
/// earn a compensatory day so the compensation can be worked out once all
/// holidays are known.
#[derive(Default)]
struct YearDays {
    days: BTreeMap<NaiveDate, DayKind>,
    /// Holidays that earn a compensatory day when they fall on a weekend.
    compensable: Vec<(NaiveDate, Holiday)>,
}

impl YearDays {
    /// Records a holiday; a date that does not exist (`None`) is skipped, so
    /// callers can pass what `from_ymd_opt` and friends return.
    fn add(&mut self, date: Option<NaiveDate>, holiday: Holiday, compensate: bool) {
        if let Some(date) = date {
            self.days.insert(date, DayKind::Holiday(holiday));
            if compensate {
                self.compensable.push((date, holiday));
            }
        }
    }

    /// Labour Code 2019 art. 111.3: a holiday on the weekly rest day is
    /// replaced by the next working day; in date order, so that a block
    /// of holidays pushes its compensatory days past its own end.
    fn with_compensatory_days(self) -> BTreeMap<NaiveDate, DayKind> {
        let Self {
            mut days,
            mut compensable,
        } = self;
        compensable.sort();
        for (date, holiday) in compensable {
            if !is_weekend(date) {
                continue;
            }
            let mut candidate = date.succ_opt();
            while let Some(c) = candidate {
                if !is_weekend(c) && !days.contains_key(&c) {
                    days.insert(c, DayKind::Compensatory(holiday));
                    break;
                }
                candidate = c.succ_opt();
            }
        }
        days
    }
}

/// The announced swaps come last: a swap workday overrides whatever the
/// rules made of that day, while a swapped day off never hides a holiday
/// or a compensatory day already there.
fn apply_swaps(days: &mut BTreeMap<NaiveDate, DayKind>, announcement: &Announcement) {
    for swap in &announcement.swaps {
        days.insert(swap.work, DayKind::SwapWorkday);
        days.entry(swap.off).or_insert(DayKind::SwappedOff);
    }
}

pub(crate) fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn shift(date: NaiveDate, offset: i64) -> Option<NaiveDate> {
    let days = Days::new(offset.unsigned_abs());
    if offset >= 0 {
        date.checked_add_days(days)
    } else {
        date.checked_sub_days(days)
    }
}

//! The Vietnamese working-day calendar that deadlines are counted in.
//!
//! The provincial regulations count most deadlines in working days (ngày
//! làm việc) and a few in plain days (ngày). A working day for a state
//! agency is Monday–Friday (the 40-hour week of the public sector) that is
//! not a public holiday of the Labour Code 2019, not a compensatory day off
//! and not a swapped day off; a Saturday announced as a make-up workday
//! (ngày làm bù) is a working day.
//!
//! - [`lunar`]: the Vietnamese lunar calendar (Tết and Hùng Kings day move
//!   with it), computed astronomically at UTC+7.
//! - [`holidays`]: the holiday rules and the yearly announcements, read from
//!   `profiles/holidays.toml` (embedded in the binary).
//! - [`WorkingCalendar`] and [`Deadline`]: counting.
//!
//! Counting follows the Civil Code 2015 (art. 147–148): the day of the
//! triggering event does not count, so a deadline of *n* working days falls
//! on the *n*-th working day after it; a deadline in plain days that ends on
//! a day off moves to the next working day.

pub mod holidays;
pub mod lunar;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Utc};
use serde::Deserialize;

/// Vietnam's offset from UTC (UTC+7 all year): "today" for every deadline,
/// window and report is the date in Hà Nội, not the server's.
const VIETNAM_OFFSET_HOURS: i64 = 7;

/// The calendar date in Vietnam at instant `t`.
pub fn date_in_vietnam(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(VIETNAM_OFFSET_HOURS)).date_naive()
}

/// The instant the Vietnamese day `d` begins (17:00 UTC the day before).
pub fn start_of_day_in_vietnam(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc() - Duration::hours(VIETNAM_OFFSET_HOURS)
}

pub use holidays::{DayKind, Holiday, HolidayData};
pub use lunar::{LunarDate, hung_kings_day, leap_month, lunar_to_solar, solar_to_lunar, tet};

/// Why a calendar computation or the holiday data was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CalendarError {
    /// The lunar calendar is computed for 1900–2199 only.
    #[error(
        "year {year} is outside the supported lunar calendar range {}–{}",
        lunar::FIRST_YEAR,
        lunar::LAST_YEAR
    )]
    YearOutOfRange {
        /// The year asked for.
        year: i32,
    },
    /// A lunar date that does not exist (day 30 of a 29-day month, a leap
    /// flag on a month that is not leap that year, month 13...).
    #[error("lunar date {day}/{month}{} of year {year} does not exist", if *.leap { " (leap)" } else { "" })]
    NoSuchLunarDate {
        /// Lunar year.
        year: i32,
        /// Lunar month.
        month: u32,
        /// Day of the month.
        day: u32,
        /// Leap month flag.
        leap: bool,
    },
    /// The astronomical computation produced an impossible year; a bug,
    /// tested against for the whole supported range.
    #[error("the lunar calendar computation for {year} is inconsistent")]
    Inconsistent {
        /// The year being computed.
        year: i32,
    },
    /// The holiday data is not valid TOML of the expected shape.
    #[error("holiday data cannot be read")]
    HolidayDataParse {
        /// The TOML error (with line and column).
        #[source]
        source: toml::de::Error,
    },
    /// The holiday data parses but says something impossible.
    #[error("holiday data for {year}: {problem}")]
    InvalidHolidayData {
        /// The year concerned (0 for the default rules).
        year: i32,
        /// What is wrong.
        problem: String,
    },
}

/// The unit a deadline is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayUnit {
    /// "ngày làm việc": only working days count.
    WorkingDays,
    /// "ngày": every day counts; the end moves off a day off.
    CalendarDays,
}

/// A time limit such as "05 ngày làm việc" or "10 ngày".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// How many days.
    pub amount: u32,
    /// Working or calendar days.
    pub unit: DayUnit,
}

impl Deadline {
    /// `amount` working days.
    pub fn working_days(amount: u32) -> Self {
        Self {
            amount,
            unit: DayUnit::WorkingDays,
        }
    }

    /// `amount` calendar days.
    pub fn calendar_days(amount: u32) -> Self {
        Self {
            amount,
            unit: DayUnit::CalendarDays,
        }
    }

    /// The last day on which the obligation is still on time, counted from
    /// the day of the triggering event `from` (which itself does not count).
    pub fn due(&self, from: NaiveDate, cal: &WorkingCalendar) -> NaiveDate {
        match self.unit {
            DayUnit::WorkingDays => cal.add_working_days(from, self.amount),
            DayUnit::CalendarDays => {
                // Civil Code 2015 art. 148: a period ending on a weekend or
                // holiday ends at the close of the next working day.
                let end = cal.add_calendar_days(from, self.amount);
                cal.working_day_on_or_after(end)
            }
        }
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            DayUnit::WorkingDays => "working days",
            DayUnit::CalendarDays => "calendar days",
        };
        write!(f, "{} {unit}", self.amount)
    }
}

/// Weekends, public holidays, compensatory days and announced swaps.
///
/// Built once (it precomputes 1900–2199, a few milliseconds) and then
/// shared read-only. Dates outside 1900–2199 still get weekends and the
/// solar-date holidays, but no Tết or Hùng Kings day.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    data: HolidayData,
    /// Days of 1900–2199 that are not plain Monday–Friday working days or
    /// plain weekends.
    exceptions: BTreeMap<NaiveDate, DayKind>,
}

impl WorkingCalendar {
    /// The calendar from the holiday data shipped in `profiles/holidays.toml`.
    pub fn official() -> Result<Self, CalendarError> {
        Self::from_toml_str(holidays::OFFICIAL_HOLIDAYS_TOML)
    }

    /// A calendar from holiday data in the format of `holidays.toml`.
    pub fn from_toml_str(text: &str) -> Result<Self, CalendarError> {
        Ok(Self::new(HolidayData::from_toml_str(text)?))
    }

    /// A calendar from already checked holiday data.
    pub fn new(data: HolidayData) -> Self {
        let mut exceptions = BTreeMap::new();
        for year in lunar::FIRST_YEAR..=lunar::LAST_YEAR {
            exceptions.extend(data.exceptions_of_year(year));
        }
        Self { data, exceptions }
    }

    /// What kind of day `date` is.
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        let in_range = (lunar::FIRST_YEAR..=lunar::LAST_YEAR).contains(&date.year());
        let exception = if in_range {
            self.exceptions.get(&date).copied()
        } else {
            self.data
                .exceptions_of_year(date.year())
                .get(&date)
                .copied()
        };
        match exception {
            Some(kind) => kind,
            None if holidays::is_weekend(date) => DayKind::WeeklyRest,
            None => DayKind::Working,
        }
    }

    /// Whether agencies work on `date`.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_kind(date).is_working()
    }

    /// The `n`-th working day after `start` (`start` itself never counts);
    /// `start` when `n` is 0. Saturates at the last date chrono can hold.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut remaining = n;
        while remaining > 0 {
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
            if self.is_working_day(date) {
                remaining -= 1;
            }
        }
        date
    }

    /// The number of working days `d` with `a < d <= b`; negative (the
    /// count of `b < d <= a`) when `b` is before `a`. So
    /// `working_days_between(s, add_working_days(s, n)) == n`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        let (from, to, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
        let count = from
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .count();
        sign * i64::try_from(count).unwrap_or(i64::MAX)
    }

    /// `start` plus `n` calendar days. Saturates at the last date chrono
    /// can hold.
    pub fn add_calendar_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        start
            .checked_add_days(Days::new(u64::from(n)))
            .unwrap_or(NaiveDate::MAX)
    }

    /// `date` if it is a working day, otherwise the next working day.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working_day(day) {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        day
    }

    /// The holiday data this calendar was built from.
    pub fn holiday_data(&self) -> &HolidayData {
        &self.data
    }
}

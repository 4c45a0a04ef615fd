//! The Vietnamese lunisolar calendar (âm lịch), computed astronomically.
//!
//! Why not a Chinese-calendar crate: the rules are the same but Vietnam
//! counts days at UTC+7 and China at UTC+8, so whenever a new moon or a
//! solar term falls between 16:00 and 17:00 UT the two calendars disagree
//! (Tết 2030 is 2 Feb in Vietnam, 3 Feb in China; Tết 1985 differs by a whole
//! month). So we compute from the astronomy, at UTC+7.
//!
//! The method:
//! - New moons: the mean lunation of Meeus, *Astronomical Algorithms* (2nd
//!   ed.) ch. 49, with its periodic and planetary corrections (a few seconds
//!   of accuracy), converted from dynamical time to UT with the
//!   Espenak–Meeus ΔT polynomials, then to the civil date at UTC+7.
//! - The sun: apparent longitude after Meeus ch. 25 (low-accuracy series with
//!   aberration and nutation, about 0.01°, i.e. a quarter of an hour).
//! - Month 11 is the month that contains the December solstice. A lunar year
//!   (from one month 11 to the next) with 13 months has a leap month: the
//!   first month after month 11 that contains no major solar term (the sun
//!   entering a multiple of 30° of longitude); it repeats the number of the
//!   month before it.
//!
//! Days are counted as Julian Day Numbers (JDN, an integer per civil day)
//! so that month arithmetic is plain integer arithmetic.
//!
//! Close calls: in 1906, 2117, 2175, 2179 and 2199 the new moon that starts
//! the year falls within a quarter of an hour of midnight at UTC+7 (and
//! after 2100 ΔT itself is uncertain by minutes). Tables computed with
//! shorter formulas may put Tết a day apart from ours in those years.

use chrono::{Datelike, NaiveDate};

use super::CalendarError;

/// First lunar year this module supports (the brief's range 1900–2199).
pub const FIRST_YEAR: i32 = 1900;
/// Last lunar year this module supports.
pub const LAST_YEAR: i32 = 2199;

/// Vietnam's civil time zone since 1975, as a fraction of a day.
const UTC_OFFSET_DAYS: f64 = 7.0 / 24.0;
/// Mean synodic month (Meeus 49.1).
const SYNODIC_MONTH_DAYS: f64 = 29.530_588_861;
/// JDE of the mean new moon of 6 January 2000 (k = 0, Meeus 49.1).
const NEW_MOON_EPOCH_JDE: f64 = 2_451_550.097_66;
/// JDN of 0001-01-01 minus one, to convert chrono's day count from CE.
const JDN_OF_CE_DAY_ZERO: i64 = 1_721_425;
/// Longitude of the sun at the December solstice.
const WINTER_SOLSTICE_DEG: f64 = 270.0;

/// A date of the Vietnamese lunar calendar.
///
/// `year` is the Gregorian number of the year in which its month 1 begins
/// (the year of Tết), so 30 Chạp (month 12) of `year` falls in January or
/// February of `year + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LunarDate {
    /// Lunar year, numbered like the Gregorian year of its Tết.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
    /// Day 1–30.
    pub day: u32,
    /// Whether the month is the leap (intercalary) month repeating `month`.
    pub leap: bool,
}

impl LunarDate {
    /// A lunar date; it is checked when converted.
    pub fn new(year: i32, month: u32, day: u32, leap: bool) -> Self {
        Self {
            year,
            month,
            day,
            leap,
        }
    }

    /// The Gregorian date of this lunar date.
    pub fn to_solar(self) -> Result<NaiveDate, CalendarError> {
        lunar_to_solar(self)
    }

    /// The lunar date of a Gregorian date.
    pub fn from_solar(date: NaiveDate) -> Result<Self, CalendarError> {
        solar_to_lunar(date)
    }
}

/// Converts a lunar date to the Gregorian calendar (at UTC+7).
///
/// Supports lunar years [`FIRST_YEAR`]–[`LAST_YEAR`] (months 11 and 12 of
/// 1899 too, since they fall in 1900). Fails for a day past the end of its
/// month (29-day months), a leap flag on a month that is not leap, or a
/// month outside 1–12.
pub fn lunar_to_solar(lunar: LunarDate) -> Result<NaiveDate, CalendarError> {
    let no_such = CalendarError::NoSuchLunarDate {
        year: lunar.year,
        month: lunar.month,
        day: lunar.day,
        leap: lunar.leap,
    };
    if !(1..=12).contains(&lunar.month) || !(1..=30).contains(&lunar.day) {
        return Err(no_such);
    }
    // Months 11 and 12 of lunar year Y open the span that ends with the
    // month 11 of the December solstice of Gregorian year Y + 1.
    let span_year = if lunar.month >= 11 {
        lunar
            .year
            .checked_add(1)
            .ok_or(CalendarError::YearOutOfRange { year: lunar.year })?
    } else {
        lunar.year
    };
    let months = months_of_span(span_year)?;
    let month = months
        .iter()
        .find(|m| m.year == lunar.year && m.month == lunar.month && m.leap == lunar.leap)
        .ok_or(no_such.clone())?;
    if i64::from(lunar.day) > month.end_jdn - month.start_jdn {
        return Err(no_such);
    }
    date_from_jdn(month.start_jdn + i64::from(lunar.day) - 1)
        .ok_or(CalendarError::YearOutOfRange { year: lunar.year })
}

/// Converts a Gregorian date to the lunar calendar (at UTC+7).
///
/// Supports Gregorian years [`FIRST_YEAR`]–[`LAST_YEAR`].
pub fn solar_to_lunar(date: NaiveDate) -> Result<LunarDate, CalendarError> {
    let year = date.year();
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        return Err(CalendarError::YearOutOfRange { year });
    }
    let jdn = jdn_of(date);
    // The span of Gregorian year Y starts with month 11 of the previous
    // December, so every date of Y is on or after its start; dates after
    // this December's month 11 began belong to the next span.
    let mut months = months_of_span(year)?;
    if months.last().is_some_and(|m| jdn >= m.end_jdn) {
        months = months_of_span(year + 1)?;
    }
    months
        .iter()
        .find(|m| m.start_jdn <= jdn && jdn < m.end_jdn)
        .and_then(|m| {
            let day = u32::try_from(jdn - m.start_jdn + 1).ok()?;
            Some(LunarDate::new(m.year, m.month, day, m.leap))
        })
        .ok_or(CalendarError::Inconsistent { year })
}

/// Tết Nguyên đán: day 1 of month 1 of the lunar year `year`.
pub fn tet(year: i32) -> Result<NaiveDate, CalendarError> {
    check_year(year)?;
    lunar_to_solar(LunarDate::new(year, 1, 1, false))
}

/// Giỗ Tổ Hùng Vương: day 10 of month 3 of the lunar year `year`.
///
/// When month 3 has a leap repeat, the holiday is in the ordinary month 3
/// (the leap month comes after it).
pub fn hung_kings_day(year: i32) -> Result<NaiveDate, CalendarError> {
    check_year(year)?;
    lunar_to_solar(LunarDate::new(year, 3, 10, false))
}

/// The leap month of lunar year `year`, if it has one (e.g. 2025: month 6).
pub fn leap_month(year: i32) -> Result<Option<u32>, CalendarError> {
    check_year(year)?;
    // A leap month numbered 11 or 12 lies in the following span.
    let mut found = None;
    for span_year in [year, year + 1] {
        for m in months_of_span(span_year)? {
            if m.year == year && m.leap {
                found = Some(m.month);
            }
        }
    }
    Ok(found)
}

fn check_year(year: i32) -> Result<(), CalendarError> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(CalendarError::YearOutOfRange { year })
    }
}

/// One lunar month as a half-open range of days.
#[derive(Debug, Clone, Copy)]
struct MonthSpan {
    start_jdn: i64,
    end_jdn: i64,
    year: i32,
    month: u32,
    leap: bool,
}

/// The months from month 11 of the December solstice of `year - 1` up to
/// (excluding) month 11 of the December solstice of `year`: months 11 and
/// 12 of lunar year `year - 1`, then months 1–10 of lunar year `year`, with
/// the leap month wherever it falls.
fn months_of_span(year: i32) -> Result<Vec<MonthSpan>, CalendarError> {
    // One extra year at the top: months 11–12 of LAST_YEAR live there.
    if !(FIRST_YEAR..=LAST_YEAR + 1).contains(&year) {
        return Err(CalendarError::YearOutOfRange { year });
    }
    let inconsistent = CalendarError::Inconsistent { year };
    let (first_k, first_start) = month_11_start(year - 1);
    let (_, next_month_11) = month_11_start(year);

    let mut starts = vec![first_start];
    let mut k = first_k;
    while starts.last().is_some_and(|&s| s < next_month_11) {
        if starts.len() > 14 {
            return Err(inconsistent);
        }
        k += 1;
        starts.push(new_moon_day(k));
    }
    if starts.last() != Some(&next_month_11) {
        return Err(inconsistent);
    }
    let month_count = starts.len() - 1;
    let leap_index = match month_count {
        12 => None,
        // The first month after month 11 with no major solar term: the
        // sun's 30° sector is the same at its first and at its next
        // month's first midnight.
        13 => Some(
            (1..month_count)
                .find(|&i| {
                    major_term_at_day_start(starts[i]) == major_term_at_day_start(starts[i + 1])
                })
                .ok_or(inconsistent.clone())?,
        ),
        _ => return Err(inconsistent),
    };

    let mut months = Vec::with_capacity(month_count);
    let mut number = 11;
    let mut lunar_year = year - 1;
    for (i, pair) in starts.windows(2).enumerate() {
        let leap = leap_index == Some(i);
        if i > 0 && !leap {
            number = number % 12 + 1;
            if number == 1 {
                lunar_year = year;
            }
        }
        months.push(MonthSpan {
            start_jdn: pair[0],
            end_jdn: pair[1],
            year: lunar_year,
            month: number,
            leap,
        });
    }
    Ok(months)
}

/// The lunation number and first day (JDN at UTC+7) of the month that
/// contains the December solstice of `year`.
fn month_11_start(year: i32) -> (i64, i64) {
    let solstice = december_solstice_jde(year);
    let solstice_day = local_day(solstice - delta_t_days(solstice));
    // Lunation k = 0 is January 2000; floor() lands on the lunation at or
    // just before the solstice, then we correct by one if the local day
    // boundary moved it.
    let mut k = ((solstice - NEW_MOON_EPOCH_JDE) / SYNODIC_MONTH_DAYS).floor() as i64;
    let mut start = new_moon_day(k);
    if start > solstice_day {
        k -= 1;
        start = new_moon_day(k);
    } else {
        let next = new_moon_day(k + 1);
        if next <= solstice_day {
            k += 1;
            start = next;
        }
    }
    (k, start)
}

/// JDE (dynamical time) of the December solstice of `year`, found by
/// Newton steps on the sun's apparent longitude.
fn december_solstice_jde(year: i32) -> f64 {
    // 21 December 2000 as a first guess, moved by whole tropical years.
    let mut jde = 2_451_900.0 + f64::from(year - 2000) * 365.242_2;
    for _ in 0..20 {
        let error_deg = signed_angle(WINTER_SOLSTICE_DEG - sun_apparent_longitude(jde));
        jde += error_deg * 365.242_2 / 360.0;
        if error_deg.abs() < 1e-7 {
            break;
        }
    }
    jde
}

/// The first day (JDN at UTC+7) of the lunation `k` (k = 0: January 2000).
fn new_moon_day(k: i64) -> i64 {
    let jde = new_moon_jde(k as f64);
    local_day(jde - delta_t_days(jde))
}

/// Index 0–11 of the 30° sector of the sun's apparent longitude at the
/// first instant (00:00 UTC+7) of the day `jdn`.
fn major_term_at_day_start(jdn: i64) -> i64 {
    let ut = jdn as f64 - 0.5 - UTC_OFFSET_DAYS;
    let jde = ut + delta_t_days(ut);
    (sun_apparent_longitude(jde) / 30.0).floor() as i64
}

/// JDN of the civil day at UTC+7 that contains the instant `jd_ut`.
fn local_day(jd_ut: f64) -> i64 {
    (jd_ut + 0.5 + UTC_OFFSET_DAYS).floor() as i64
}

fn jdn_of(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) + JDN_OF_CE_DAY_ZERO
}

fn date_from_jdn(jdn: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(jdn - JDN_OF_CE_DAY_ZERO).ok()?)
}

fn sin_deg(x: f64) -> f64 {
    x.to_radians().sin()
}

/// An angle in degrees brought into (-180, 180].
fn signed_angle(deg: f64) -> f64 {
    let a = deg.rem_euclid(360.0);
    if a > 180.0 { a - 360.0 } else { a }
}

/// JDE of the true new moon of lunation `k` (Meeus ch. 49): the mean phase
/// plus the periodic and the planetary corrections, summed in that order.
fn new_moon_jde(k: f64) -> f64 {
    let t = CenturyPowers::of_lunation(k);
    mean_new_moon_jde(k, t) + periodic_correction(k, t) + planetary_correction(k, t)
}

/// Time in Julian centuries since J2000.0 and its powers, computed once so
/// that every step of [`new_moon_jde`] uses the very same values.
#[derive(Clone, Copy)]
struct CenturyPowers {
    t: f64,
    t2: f64,
    t3: f64,
    t4: f64,
}

impl CenturyPowers {
    /// Meeus eq. 49.3: T from the lunation number.
    fn of_lunation(k: f64) -> Self {
        let t = k / 1236.85;
        let t2 = t * t;
        let t3 = t2 * t;
        let t4 = t3 * t;
        Self { t, t2, t3, t4 }
    }
}

/// JDE of the mean new moon of lunation `k` (Meeus eq. 49.1).
fn mean_new_moon_jde(k: f64, CenturyPowers { t2, t3, t4, .. }: CenturyPowers) -> f64 {
    NEW_MOON_EPOCH_JDE + SYNODIC_MONTH_DAYS * k + 0.000_154_37 * t2 - 0.000_000_150 * t3
        + 0.000_000_000_73 * t4
}

/// The periodic terms from the Sun's and the Moon's anomalies, the Moon's
/// argument of latitude and its ascending node (Meeus ch. 49, new moon).
fn periodic_correction(k: f64, CenturyPowers { t, t2, t3, t4 }: CenturyPowers) -> f64 {
    // Eccentricity of the Earth's orbit, and the fundamental arguments.
    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    let m = 2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3;
    let mp =
        201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4;
    let f =
        160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4;
    let omega = 124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3;

    // Periodic terms for the new moon: (coefficient, power of E, argument).
    let terms: [(f64, i32, f64); 25] = [
        (-0.407_20, 0, mp),
        (0.172_41, 1, m),
        (0.016_08, 0, 2.0 * mp),
        (0.010_39, 0, 2.0 * f),
        (0.007_39, 1, mp - m),
        (-0.005_14, 1, mp + m),
        (0.002_08, 2, 2.0 * m),
        (-0.001_11, 0, mp - 2.0 * f),
        (-0.000_57, 0, mp + 2.0 * f),
        (0.000_56, 1, 2.0 * mp + m),
        (-0.000_42, 0, 3.0 * mp),
        (0.000_42, 1, m + 2.0 * f),
        (0.000_38, 1, m - 2.0 * f),
        (-0.000_24, 1, 2.0 * mp - m),
        (-0.000_17, 0, omega),
        (-0.000_07, 0, mp + 2.0 * m),
        (0.000_04, 0, 2.0 * mp - 2.0 * f),
        (0.000_04, 0, 3.0 * m),
        (0.000_03, 0, mp + m - 2.0 * f),
        (0.000_03, 0, 2.0 * mp + 2.0 * f),
        (-0.000_03, 0, mp + m + 2.0 * f),
        (0.000_03, 0, mp - m + 2.0 * f),
        (-0.000_02, 0, mp - m - 2.0 * f),
        (-0.000_02, 0, 3.0 * mp + m),
        (0.000_02, 0, 4.0 * mp),
    ];
    terms
        .iter()
        .map(|&(c, e_power, arg)| c * e.powi(e_power) * sin_deg(arg))
        .sum()
}

/// The additional corrections for the planetary arguments A1–A14
/// (Meeus ch. 49).
fn planetary_correction(k: f64, CenturyPowers { t2, .. }: CenturyPowers) -> f64 {
    // Planetary arguments: (coefficient, A at k = 0, A's rate per lunation).
    let planetary_terms: [(f64, f64, f64); 13] = [
        (0.000_165, 251.88, 0.016_321),
        (0.000_164, 251.83, 26.651_886),
        (0.000_126, 349.42, 36.412_478),
        (0.000_110, 84.66, 18.206_239),
        (0.000_062, 141.74, 53.303_771),
        (0.000_060, 207.14, 2.453_732),
        (0.000_056, 154.84, 7.306_860),
        (0.000_047, 34.52, 27.261_239),
        (0.000_042, 207.19, 0.121_824),
        (0.000_040, 291.34, 1.844_379),
        (0.000_037, 161.72, 24.198_154),
        (0.000_035, 239.56, 25.513_099),
        (0.000_023, 331.55, 3.592_518),
    ];
    // A1 alone has a T² term.
    let a1 = 299.77 + 0.107_408 * k - 0.009_173 * t2;
    0.000_325 * sin_deg(a1)
        + planetary_terms
            .iter()
            .map(|&(c, a0, rate)| c * sin_deg(a0 + rate * k))
            .sum::<f64>()
}

/// Apparent geocentric longitude of the sun in degrees [0, 360) at `jde`
/// (Meeus ch. 25, low accuracy: about 0.01°).
fn sun_apparent_longitude(jde: f64) -> f64 {
    let t = (jde - 2_451_545.0) / 36_525.0;
    let t2 = t * t;
    let mean_longitude = 280.466_46 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let mean_anomaly = 357.529_11 + 35_999.050_29 * t - 0.000_153_7 * t2;
    let centre = (1.914_602 - 0.004_817 * t - 0.000_014 * t2) * sin_deg(mean_anomaly)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * mean_anomaly)
        + 0.000_289 * sin_deg(3.0 * mean_anomaly);
    let omega = 125.04 - 1_934.136 * t;
    // Aberration (-0.00569°) and nutation in longitude (-0.00478° sin Ω).
    let apparent = mean_longitude + centre - 0.005_69 - 0.004_78 * sin_deg(omega);
    apparent.rem_euclid(360.0)
}

/// ΔT = TT − UT in days at the instant `jd` (either scale: ΔT changes by
/// well under a second per day).
fn delta_t_days(jd: f64) -> f64 {
    let year = 2000.0 + (jd - 2_451_544.5) / 365.242_5;
    delta_t_seconds(year) / 86_400.0
}

/// ΔT in seconds for a decimal year: the Espenak–Meeus polynomials (NASA
/// Five Millennium Canon of Solar Eclipses). After 2005 they are a forecast;
/// an error of a minute there moves a new moon across midnight only when it
/// already falls within a minute of it.
fn delta_t_seconds(year: f64) -> f64 {
    let long_term = |y: f64| {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u
    };
    if year < 1860.0 {
        long_term(year)
    } else if year < 1900.0 {
        let t = year - 1860.0;
        7.62 + 0.5737 * t - 0.251_754 * t.powi(2) + 0.016_806_68 * t.powi(3)
            - 0.000_447_362_4 * t.powi(4)
            + t.powi(5) / 233_174.0
    } else if year < 1920.0 {
        let t = year - 1900.0;
        -2.79 + 1.494_119 * t - 0.059_893_9 * t.powi(2) + 0.006_196_6 * t.powi(3)
            - 0.000_197 * t.powi(4)
    } else if year < 1941.0 {
        let t = year - 1920.0;
        21.20 + 0.844_93 * t - 0.076_100 * t.powi(2) + 0.002_093_6 * t.powi(3)
    } else if year < 1961.0 {
        let t = year - 1950.0;
        29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
    } else if year < 1986.0 {
        let t = year - 1975.0;
        45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
    } else if year < 2005.0 {
        let t = year - 2000.0;
        63.86 + 0.3345 * t - 0.060_374 * t.powi(2)
            + 0.001_727_5 * t.powi(3)
            + 0.000_651_814 * t.powi(4)
            + 0.000_023_735_99 * t.powi(5)
    } else if year < 2050.0 {
        let t = year - 2000.0;
        62.92 + 0.322_17 * t + 0.005_589 * t.powi(2)
    } else if year < 2150.0 {
        long_term(year) - 0.5628 * (2150.0 - year)
    } else {
        long_term(year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Meeus example 49.a: the new moon of February 1977 (k = −283) is at
    /// JDE 2443192.65118.
    #[test]
    fn meeus_example_49a_new_moon_of_february_1977() {
        let jde = new_moon_jde(-283.0);
        assert!((jde - 2_443_192.651_18).abs() < 0.000_01, "{jde}");
    }

    /// Meeus example 25.a: on 1992 Oct 13.0 TD the apparent longitude of
    /// the sun is 199.90895° (low-accuracy method: 199.90988°).
    #[test]
    fn meeus_example_25a_sun_longitude() {
        let lambda = sun_apparent_longitude(2_448_908.5);
        assert!((lambda - 199.909).abs() < 0.002, "{lambda}");
    }

    /// The December solstice of 2024 was at 09:20 UT on 21 December.
    #[test]
    fn december_solstice_2024() {
        let jde = december_solstice_jde(2024);
        let ut = jde - delta_t_days(jde);
        // 2024-12-21 09:20 UT = JD 2460665.8889
        assert!((ut - 2_460_665.888_9).abs() < 0.01, "{ut}");
    }

    #[test]
    fn every_span_has_12_or_13_months_and_one_leap_at_most() {
        for year in FIRST_YEAR..=LAST_YEAR + 1 {
            let months = months_of_span(year).unwrap();
            let leaps = months.iter().filter(|m| m.leap).count();
            assert!(months.len() == 12 && leaps == 0 || months.len() == 13 && leaps == 1);
            for m in &months {
                let length = m.end_jdn - m.start_jdn;
                assert!(length == 29 || length == 30, "{year}: {m:?}");
            }
        }
    }
}

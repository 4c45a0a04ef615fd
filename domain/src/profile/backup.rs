//! The profile's `[backup]` table: which backups the province's regulation asks for
//! (daily, monthly on the last working day or on the 1st, quarterly) and how long
//! they are kept, and the two questions `hoso backup` asks of it — which kind is due
//! on a date, and which existing backups the rule still requires.

use chrono::{Datelike, Months, NaiveDate};
use serde::Deserialize;

use crate::calendar::WorkingCalendar;

/// The kinds of backup, in the order of precedence when a date is due for several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// Every day (DL 11.4).
    Daily,
    /// Monthly: on the month's last working day (HY 12.2, BT 10.1, KT 12.1), and in
    /// Đắk Lắk also on the 1st (DL 11.5).
    Monthly,
    /// On the last working day of a quarter.
    Quarterly,
    /// Asked for by the operator, outside the schedule; never pruned.
    Manual,
}

impl BackupKind {
    /// The kinds, as spelled on the command line and in manifests.
    pub const ALL: [Self; 4] = [Self::Daily, Self::Monthly, Self::Quarterly, Self::Manual];

    /// Its spelling: `daily`, `monthly`, `quarterly`, `manual`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Manual => "manual",
        }
    }

    /// The kind of a spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == text)
    }
}

impl std::fmt::Display for BackupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a province's regulation says about backups.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRule {
    /// A backup every day.
    #[serde(default)]
    pub daily: bool,
    /// A monthly backup on the last working day of each month.
    #[serde(default = "yes")]
    pub monthly_last_working_day: bool,
    /// A monthly backup on the 1st of each month too (DL 11.5).
    #[serde(default)]
    pub monthly_first_day: bool,
    /// A quarterly backup on the last working day of each quarter.
    #[serde(default = "yes")]
    pub quarterly: bool,
    /// Months a monthly or quarterly backup is kept (the rules say at least three).
    #[serde(default = "BackupRule::default_keep_months")]
    pub keep_months: u32,
    /// Days a daily backup is kept.
    #[serde(default = "BackupRule::default_keep_daily_days")]
    pub keep_daily_days: u32,
    /// The articles the rule comes from.
    pub citation: String,
    /// What the text says, in a line.
    #[serde(default)]
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}

/// The least the regulations allow a monthly or quarterly backup to be kept
/// (HY 12.2, BT 10.1, KT 12.1: "ít nhất 03 tháng").
pub const KEEP_MONTHS_MIN: u32 = 3;

impl BackupRule {
    fn default_keep_months() -> u32 {
        KEEP_MONTHS_MIN
    }

    fn default_keep_daily_days() -> u32 {
        7
    }

    /// Refuses a rule keeping monthly backups less than the regulations' three months,
    /// or daily ones for no day.
    pub fn check(&self) -> Result<(), String> {
        if self.keep_months < KEEP_MONTHS_MIN {
            return Err(format!(
                "[backup]: keep_months = {} is less than the {KEEP_MONTHS_MIN} months the regulations require",
                self.keep_months
            ));
        }
        if self.daily && self.keep_daily_days == 0 {
            return Err("[backup]: daily backups must be kept at least one day".into());
        }
        Ok(())
    }

    /// The kind of backup due on `date` (a date in Vietnam), the one with the
    /// longest keeping when several are: quarterly at a quarter's last working day,
    /// monthly at a month's last working day (or on the 1st where the rule says),
    /// daily where the rule asks for it; `None` when nothing is due.
    pub fn kind_due(&self, date: NaiveDate, cal: &WorkingCalendar) -> Option<BackupKind> {
        let last_working = last_working_day_of_month(date, cal) == date;
        if self.quarterly && last_working && date.month().is_multiple_of(3) {
            return Some(BackupKind::Quarterly);
        }
        if (self.monthly_last_working_day && last_working)
            || (self.monthly_first_day && date.day() == 1)
        {
            return Some(BackupKind::Monthly);
        }
        self.daily.then_some(BackupKind::Daily)
    }

    /// Whether the rule still requires a backup of `kind` made on `made` (a date in
    /// Vietnam), on `today`, and why (or why not).
    pub fn keeps(&self, kind: BackupKind, made: NaiveDate, today: NaiveDate) -> (bool, String) {
        match kind {
            BackupKind::Manual => (
                true,
                "a manual backup is never pruned (delete it by hand)".into(),
            ),
            BackupKind::Daily => {
                let until = made + chrono::Days::new(u64::from(self.keep_daily_days));
                if today < until {
                    (
                        true,
                        format!(
                            "daily, kept {} days, until {until} ({})",
                            self.keep_daily_days, self.citation
                        ),
                    )
                } else {
                    (
                        false,
                        format!(
                            "daily, older than {} days ({})",
                            self.keep_daily_days, self.citation
                        ),
                    )
                }
            }
            BackupKind::Monthly | BackupKind::Quarterly => {
                let until = made
                    .checked_add_months(Months::new(self.keep_months))
                    .unwrap_or(NaiveDate::MAX);
                if today < until {
                    (
                        true,
                        format!(
                            "{kind}, kept {} months, until {until} ({})",
                            self.keep_months, self.citation
                        ),
                    )
                } else {
                    (
                        false,
                        format!(
                            "{kind}, older than {} months ({})",
                            self.keep_months, self.citation
                        ),
                    )
                }
            }
        }
    }
}

impl Default for BackupRule {
    /// Monthly on the last working day and quarterly, kept three months: what the
    /// provinces that set a rule agree on, for a profile that sets none.
    fn default() -> Self {
        Self {
            daily: false,
            monthly_last_working_day: true,
            monthly_first_day: false,
            quarterly: true,
            keep_months: KEEP_MONTHS_MIN,
            keep_daily_days: Self::default_keep_daily_days(),
            citation: "product default (HY 12.2, BT 10.1, KT 12.1)".into(),
            note: None,
        }
    }
}

/// The last working day of `date`'s month (the month's last day when, by some
/// calendar, none is working).
pub fn last_working_day_of_month(date: NaiveDate, cal: &WorkingCalendar) -> NaiveDate {
    let first = date.with_day(1).unwrap_or(date);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    let last = next.pred_opt().unwrap_or(date);
    let mut d = last;
    while d >= first {
        if cal.is_working_day(d) {
            return d;
        }
        match d.pred_opt() {
            Some(p) => d = p,
            None => break,
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cal() -> WorkingCalendar {
        WorkingCalendar::official().unwrap()
    }

    #[test]
    fn the_last_working_day_skips_the_weekend() {
        // 31 January 2026 is a Saturday: Friday the 30th is the last working day.
        assert_eq!(
            last_working_day_of_month(d(2026, 1, 14), &cal()),
            d(2026, 1, 30)
        );
        // 30 September 2026 is a Wednesday.
        assert_eq!(
            last_working_day_of_month(d(2026, 9, 1), &cal()),
            d(2026, 9, 30)
        );
    }

    #[test]
    fn hung_yen_backs_up_monthly_and_quarterly_and_nothing_else() {
        let rule = Profile::load("hung-yen").unwrap().backup().clone();
        let cal = cal();
        assert_eq!(
            rule.kind_due(d(2026, 1, 30), &cal),
            Some(BackupKind::Monthly)
        );
        assert_eq!(rule.kind_due(d(2026, 1, 31), &cal), None);
        assert_eq!(rule.kind_due(d(2026, 1, 29), &cal), None);
        assert_eq!(
            rule.kind_due(d(2026, 9, 30), &cal),
            Some(BackupKind::Quarterly)
        );
        assert_eq!(rule.kind_due(d(2026, 10, 1), &cal), None);
    }

    #[test]
    fn dak_lak_backs_up_daily_and_on_the_first() {
        let rule = Profile::load("dak-lak").unwrap().backup().clone();
        let cal = cal();
        assert_eq!(
            rule.kind_due(d(2026, 10, 1), &cal),
            Some(BackupKind::Monthly)
        );
        assert_eq!(rule.kind_due(d(2026, 10, 2), &cal), Some(BackupKind::Daily));
        assert_eq!(
            rule.kind_due(d(2026, 10, 30), &cal),
            Some(BackupKind::Monthly)
        );
        assert_eq!(
            rule.kind_due(d(2026, 12, 31), &cal),
            Some(BackupKind::Quarterly)
        );
    }

    #[test]
    fn monthly_backups_are_kept_three_months_and_daily_ones_their_days() {
        let rule = Profile::load("dak-lak").unwrap().backup().clone();
        let made = d(2026, 8, 31);
        // Three months after 31 August is 30 November (chrono clamps to the month's end).
        assert!(rule.keeps(BackupKind::Monthly, made, d(2026, 11, 29)).0);
        assert!(!rule.keeps(BackupKind::Monthly, made, d(2026, 11, 30)).0);
        assert!(rule.keeps(BackupKind::Quarterly, made, d(2026, 11, 29)).0);
        let days = rule.keep_daily_days;
        let last = made + chrono::Days::new(u64::from(days) - 1);
        assert!(rule.keeps(BackupKind::Daily, made, last).0);
        assert!(
            !rule
                .keeps(BackupKind::Daily, made, last.succ_opt().unwrap())
                .0
        );
        assert!(
            rule.keeps(BackupKind::Manual, d(2020, 1, 1), d(2026, 12, 6))
                .0
        );
    }

    #[test]
    fn every_profile_keeps_backups_at_least_three_months() {
        for name in Profile::names() {
            let rule = Profile::load(name).unwrap().backup().clone();
            assert!(rule.keep_months >= KEEP_MONTHS_MIN, "{name}");
            assert!(rule.monthly_last_working_day, "{name}");
        }
        let short = BackupRule {
            keep_months: 2,
            ..BackupRule::default()
        };
        assert!(short.check().is_err());
    }
}

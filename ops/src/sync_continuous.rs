//! Continuous delivery in `hoso serve` (HY 13.6; `docs/sync-format.md` §8): the
//! background task that seals the national sync batches with the province's
//! connection key every `--sync-interval`, and `hoso sync connection-key`, which
//! prints the key's public key for the national database.
//!
//! **The interval against `[sync] lag`.** A continuous batch must be sealed
//! within `[sync] lag` of its approval being recorded (Decree 27/2026/NĐ-CP: about
//! one working day). With a lag of one day or more the due day ends at least 24
//! hours after any approval, so a round every [`DEFAULT_INTERVAL`] leaves almost
//! all of that for a restart or a failed round; an interval above
//! [`MAX_INTERVAL`] is refused, and a lag of 0 days (sealed the day it was
//! approved) cannot be kept for an approval recorded just before midnight by any
//! interval, which `serve` says at start. `/metrics`
//! (`hoso_sync_oldest_unsealed_approval_seconds`, `hoso_sync_lag_breached`)
//! shows when the feed falls behind anyway.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hoso_api::AppState;
use hoso_api::routes::sync_continuous::{SealedNow, seal_next};
use hoso_domain::clock::{Clock, SystemClock};
use hoso_domain::profile::{Profile, SyncMode};

use crate::data_dir::{DataDir, Keys};

/// How often the server seals by default: well inside a lag of a working day.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// The longest interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Parses `--sync-interval`: whole seconds, 1 to [`MAX_INTERVAL`].
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds: u64 = text
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    let interval = Duration::from_secs(seconds);
    if seconds == 0 || interval > MAX_INTERVAL {
        return Err(format!(
            "the sync interval is 1 to {} seconds, so that a batch is sealed well within [sync] lag",
            MAX_INTERVAL.as_secs()
        ));
    }
    Ok(interval)
}

/// What `serve` says about the continuous sealer at start, if anything.
pub fn describe(profile: &Profile, interval: Duration) -> Option<String> {
    let rule = profile.sync();
    if rule.mode != SyncMode::Continuous {
        return None;
    }
    let lag = match rule.lag {
        Some(lag) if lag.amount == 0 => format!(
            "{lag:?}: an approval recorded less than {}s before midnight will be sealed late",
            interval.as_secs()
        ),
        Some(lag) => format!("{} {:?}", lag.amount, lag.unit),
        None => "none set".to_owned(),
    };
    Some(format!(
        "continuous sync: batches are sealed with the province connection key every {}s ([sync] lag: {lag})",
        interval.as_secs()
    ))
}

/// Seals a batch every `interval` (the first round at once) while the server
/// runs. A failed round is logged and the next one tries again.
pub fn spawn(state: Arc<AppState>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match seal_next(&state).await {
                Ok(Some(SealedNow { sequence, items })) => {
                    tracing::info!(sequence, items, "sealed a continuous sync batch");
                }
                Ok(None) => {}
                Err(problem) => {
                    tracing::warn!(r#type = %problem.type_, detail = ?problem.detail, "continuous sync round failed; retrying next round");
                }
            }
        }
    })
}

/// `hoso sync connection-key`: the province connection key's public key (64
/// hex) on standard output, its id and file on standard error. Like `keys
/// ledger show`, it never creates a key (`init` and `serve` do).
pub fn show(data: &Path) -> anyhow::Result<()> {
    let key = DataDir::new(data).connection_key(Keys::Open, SystemClock.now())?;
    eprintln!(
        "province connection key {} in {} (HY 13.6): it signs continuous sync batches",
        key.key_id(),
        key.path().display()
    );
    println!("{}", key.public_key_hex());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_is_whole_seconds_within_the_bound() {
        assert_eq!(parse_interval("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("60s"), Ok(Duration::from_secs(60)));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("3601").is_err());
        assert!(parse_interval("five").is_err());
        assert!(DEFAULT_INTERVAL <= MAX_INTERVAL);
    }

    #[test]
    fn serve_describes_the_sealer_only_in_continuous_mode() {
        let monthly = Profile::load("national").unwrap();
        assert_eq!(describe(&monthly, DEFAULT_INTERVAL), None);
        let text = Profile::source("national").unwrap().replace(
            "mode = \"monthly\"",
            "mode = \"continuous\"\nlag = { amount = 1, unit = \"working_days\" }",
        );
        let continuous = Profile::from_toml_str("national", &text).unwrap();
        let said = describe(&continuous, DEFAULT_INTERVAL).unwrap();
        assert!(said.contains("every 300s"), "{said}");
    }
}

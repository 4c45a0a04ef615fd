//! Request metrics in the Prometheus text format (`GET /metrics`).
//!
//! Counts and latency histograms per (method, route template, status), the
//! append latency of commands, and the read side's lag behind the log. The
//! route is the template (`/api/v1/dossiers/{id}`), never the concrete
//! path, so dossier ids do not leak into metrics or blow up cardinality.
//! The national sync feed's batches are counted by delivery state
//! ([`SyncGauges`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}",
                self.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), Histogram>,
    appends: Histogram,
}

/// Where the national sync feed's sealed batches stand (`hoso_sync_batches`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncGauges {
    /// Sealed, not yet served whole, not yet overdue.
    pub sealed: u64,
    /// Served whole to the national sync account, not acknowledged, not yet
    /// overdue.
    pub delivered: u64,
    /// Acknowledged by the national database.
    pub acknowledged: u64,
    /// Not acknowledged past `[sync] ack_overdue_working_days`, delivered or
    /// not.
    pub overdue: u64,
    /// Sequence of the last sealed batch.
    pub last_sealed: Option<u64>,
}

impl SyncGauges {
    /// The gauges in the text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP hoso_sync_batches Sealed national sync batches by delivery state.\n");
        out.push_str("# TYPE hoso_sync_batches gauge\n");
        for (state, n) in [
            ("sealed", self.sealed),
            ("delivered", self.delivered),
            ("acknowledged", self.acknowledged),
            ("overdue", self.overdue),
        ] {
            let _ = writeln!(out, "hoso_sync_batches{{state=\"{state}\"}} {n}");
        }
        out.push_str(
            "# HELP hoso_sync_last_sealed_sequence Sequence of the last sealed batch (0: none yet).\n",
        );
        out.push_str("# TYPE hoso_sync_last_sealed_sequence gauge\n");
        let _ = writeln!(
            out,
            "hoso_sync_last_sealed_sequence {}",
            self.last_sealed.unwrap_or(0)
        );
        out
    }
}

/// The API's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Metrics {
    /// Records one request.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let mut m = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default()
            .observe(took.as_secs_f64());
    }

    /// Records the latency of a command (check, decide and durable append).
    pub fn append(&self, took: Duration) {
        let mut m = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.appends.observe(took.as_secs_f64());
    }

    /// The text exposition, with the positions of the log and the read side.
    pub fn render(
        &self,
        log_head: Option<u64>,
        applied: u64,
        damage: Option<&hoso_ledger::Damage>,
    ) -> String {
        let m = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP hoso_http_requests_total Requests answered.\n");
        out.push_str("# TYPE hoso_http_requests_total counter\n");
        for ((method, route, status), h) in &m.requests {
            let _ = writeln!(
                out,
                "hoso_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(method),
                escape(route),
                h.count
            );
        }
        out.push_str("# HELP hoso_http_request_duration_seconds Time to answer.\n");
        out.push_str("# TYPE hoso_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in &m.requests {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{status}\"",
                escape(method),
                escape(route)
            );
            h.render(&mut out, "hoso_http_request_duration_seconds", &labels);
        }
        out.push_str(
            "# HELP hoso_command_duration_seconds Commands: rule checks, decision and durable append.\n",
        );
        out.push_str("# TYPE hoso_command_duration_seconds histogram\n");
        m.appends
            .render(&mut out, "hoso_command_duration_seconds", "");
        let head = log_head.map_or(0, |h| h + 1);
        out.push_str("# HELP hoso_log_next_position Position the next appended event will take.\n");
        out.push_str("# TYPE hoso_log_next_position gauge\n");
        let _ = writeln!(out, "hoso_log_next_position {head}");
        out.push_str(
            "# HELP hoso_projection_position Next position the read side will apply (its subscription position).\n",
        );
        out.push_str("# TYPE hoso_projection_position gauge\n");
        let _ = writeln!(out, "hoso_projection_position {applied}");
        out.push_str("# HELP hoso_projection_lag_events Events appended but not yet projected.\n");
        out.push_str("# TYPE hoso_projection_lag_events gauge\n");
        let _ = writeln!(
            out,
            "hoso_projection_lag_events {}",
            head.saturating_sub(applied)
        );
        out.push_str(
            "# HELP hoso_ledger_trusted 1 while the log has verified, 0 once damage was found (writes and reads refused).\n",
        );
        out.push_str("# TYPE hoso_ledger_trusted gauge\n");
        let _ = writeln!(out, "hoso_ledger_trusted {}", u8::from(damage.is_none()));
        if let Some(p) = damage.and_then(|d| d.position) {
            out.push_str(
                "# HELP hoso_ledger_first_bad_position Global position of the first event that failed verification.\n",
            );
            out.push_str("# TYPE hoso_ledger_first_bad_position gauge\n");
            let _ = writeln!(out, "hoso_ledger_first_bad_position {p}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_gauges_give_every_state_and_the_last_sequence() {
        let text = SyncGauges {
            sealed: 1,
            delivered: 2,
            acknowledged: 3,
            overdue: 0,
            last_sealed: Some(4),
        }
        .render();
        for line in [
            "hoso_sync_batches{state=\"sealed\"} 1",
            "hoso_sync_batches{state=\"delivered\"} 2",
            "hoso_sync_batches{state=\"acknowledged\"} 3",
            "hoso_sync_batches{state=\"overdue\"} 0",
            "hoso_sync_last_sealed_sequence 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        assert!(
            SyncGauges::default()
                .render()
                .contains("hoso_sync_last_sealed_sequence 0")
        );
    }
}

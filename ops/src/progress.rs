//! Progress output for long work: a bar on a terminal, a line every few seconds when
//! stderr is a log file or a CI console (where a bar would be invisible or garbage).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const LOG_EVERY: Duration = Duration::from_secs(2);

/// Reports `done / total` of one task.
pub struct Progress {
    bar: Option<ProgressBar>,
    what: String,
    total: u64,
    started: Instant,
    last_line: Mutex<Instant>,
}

impl Progress {
    /// Starts reporting on `total` units of `what`.
    pub fn new(what: &str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, ETA {eta})",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what.to_owned());
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            what: what.to_owned(),
            total,
            started: now,
            last_line: Mutex::new(now),
        }
    }

    /// Sets the amount done.
    pub fn set(&self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
                if last.elapsed() >= LOG_EVERY {
                    *last = Instant::now();
                    let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                    eprintln!(
                        "{}: {done}/{} ({:.0}/s)",
                        self.what,
                        self.total,
                        done as f64 / secs
                    );
                }
            }
        }
    }

    /// Ends the report.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

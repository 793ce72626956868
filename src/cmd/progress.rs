//! A progress bar for long benchmark runs: drawn on stderr, only when stderr is a terminal,
//! and only once a stage has run for a moment (short runs print nothing). Redraws are
//! throttled so drawing costs nothing measurable next to the timed loops.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: usize = 30;
const SHOW_AFTER: Duration = Duration::from_millis(500);
const REDRAW_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    label: String,
    stage_start: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// A bar that draws only if stderr is a terminal.
    pub fn new() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            label: String::new(),
            stage_start: Instant::now(),
            last_draw: None,
            drawn: false,
        }
    }

    /// Reports that stage `label` is `fraction` (0..=1) done.
    pub fn update(&mut self, label: &str, fraction: f64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if label != self.label {
            self.label = label.to_string();
            self.stage_start = now;
        }
        if now.duration_since(self.stage_start) < SHOW_AFTER {
            return;
        }
        if self.last_draw.is_some_and(|t| now.duration_since(t) < REDRAW_EVERY) && fraction < 1.0 {
            return;
        }
        self.last_draw = Some(now);
        self.drawn = true;
        let done = ((fraction.clamp(0.0, 1.0) * WIDTH as f64).round() as usize).min(WIDTH);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K[{}{}] {:3.0}% {}",
            "#".repeat(done),
            " ".repeat(WIDTH - done),
            fraction * 100.0,
            self.label
        );
        let _ = err.flush();
    }

    /// Clears the bar (before the results are printed).
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

//! Where things are printed: data on stdout (prose or one JSON value), notes and
//! progress on stderr, progress only on a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub json: bool,
    /// Progress is drawn: not --json, and stderr is a terminal.
    pub progress: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Out {
            json,
            progress: !json && std::io::stderr().is_terminal(),
        }
    }

    /// Prints `value` with --json, else runs `human`.
    pub fn data(&self, value: &Value, human: impl FnOnce()) {
        if self.json {
            println!("{value}");
        } else {
            human();
        }
    }

    /// A line for people on stderr; nothing with --json.
    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.json {
            eprintln!("{message}");
        }
    }

    /// A spinner on stderr, hidden unless progress is drawn.
    pub fn spinner(&self, message: String) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(message);
        bar
    }
}

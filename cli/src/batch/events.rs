//! What a batch tells its user: one JSON line per job event with --json; otherwise a
//! line per event on stderr (above a progress bar on a terminal) and a summary on
//! stdout.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::output::Out;

use super::jobs::Job;

pub struct Events {
    json: bool,
    bar: ProgressBar,
}

impl Events {
    pub fn new(out: &Out, jobs: usize) -> Self {
        let bar = if out.progress {
            let bar =
                ProgressBar::with_draw_target(Some(jobs as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} jobs ended {msg}")
            {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        Events {
            json: out.json,
            bar,
        }
    }

    /// One event of one job; `extra` is an object of details.
    pub fn job(&self, event: &str, job: &Job, extra: Value) {
        if matches!(
            event,
            "saved"
                | "failed"
                | "rejected"
                | "unknown"
                | "done_before"
                | "save_failed"
                | "empty_result"
                | "dismissed"
        ) {
            self.bar.inc(1);
        }
        if self.json {
            let mut line = json!({"event": event, "job": job.name, "line": job.line});
            if let (Value::Object(line), Value::Object(extra)) = (&mut line, extra) {
                line.extend(extra.into_iter().filter(|(_, v)| !v.is_null()));
            }
            println!("{line}");
            return;
        }
        let detail = ["task_id", "message", "reason", "status"]
            .iter()
            .filter_map(|k| extra.get(*k).filter(|v| !v.is_null()))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(" ");
        let files = extra
            .get("files")
            .and_then(Value::as_array)
            .map(|f| {
                f.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        self.bar
            .println(format!("line {} {} {event} {detail}{files}", job.line, job.name).trim_end());
        if self.bar.is_hidden() {
            eprintln!(
                "{}",
                format!("line {} {} {event} {detail} {files}", job.line, job.name).trim_end()
            );
        }
    }

    /// An event of the batch as a whole (`cost_cap`); `detail` is an object.
    pub fn note(&self, event: &str, detail: Value) {
        if self.json {
            let mut line = json!({"event": event});
            if let (Value::Object(line), Value::Object(detail)) = (&mut line, detail) {
                line.extend(detail);
            }
            println!("{line}");
            return;
        }
        self.bar.println(format!("{event} {detail}"));
        if self.bar.is_hidden() {
            eprintln!("{event} {detail}");
        }
    }

    pub fn summary(&self, summary: &Value) {
        self.bar.finish_and_clear();
        if self.json {
            let mut line = json!({"event": "summary"});
            if let (Value::Object(line), Value::Object(s)) = (&mut line, summary.clone()) {
                line.extend(s);
            }
            println!("{line}");
            return;
        }
        let n = |k: &str| summary[k].as_u64().unwrap_or(0);
        println!(
            "{} jobs: {} done, {} done before, {} failed, {} rejected, {} unknown, {} not saved, {} unfinished",
            n("jobs"),
            n("done"),
            n("done_before"),
            n("failed"),
            n("rejected"),
            summary["unknown"].as_array().map_or(0, Vec::len),
            n("save_failed"),
            n("unfinished"),
        );
        if let Some(cost) = summary["cost"].as_str() {
            let unpriced = match n("unpriced") {
                0 => String::new(),
                u => format!(" ({u} task(s) gave no amount)"),
            };
            println!("billed in this run: ${cost}{unpriced}");
        }
    }
}

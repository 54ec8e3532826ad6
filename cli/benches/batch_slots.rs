//! What `modellix batch` does with Modellix's limits, measured on the built binary
//! against a time-scaled sandbox (a minute of the rate limit lasts 6 s, so 100
//! requests a minute become 100 per 6 s):
//!
//! 1. 429s met by a batch at 100 requests a minute and 3 running tasks, with the
//!    client-side limiter and without it (baseline);
//! 2. the slots kept busy: mean time from a task's end (sandbox clock) to the next
//!    submit the sandbox received, beside the target of one poll interval.
//!
//! `cargo bench -p modellix-cli --bench batch_slots` (`JOBS=200` by default; the
//! figures hardly depend on the profile: `--profile dev` reuses the test build).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{against, jobs_file, json_lines, mean_slot_gap};
use modellix_sandbox::{Sandbox, Timing};

const TASK: Duration = Duration::from_millis(300);

struct Run {
    seconds: f64,
    requests: u64,
    rate_429: u64,
    concurrency_429: u64,
    submits: u64,
    done: u64,
    gap: Duration,
}

async fn batch(jobs: usize, time_scale: f64, poll: &str, window: &str, extra: &[&str]) -> Run {
    let sandbox = Sandbox::builder()
        .rpm(100)
        .concurrency_limit(3)
        .time_scale(time_scale)
        .timing(Timing::Fixed(TASK))
        .start()
        .await
        .expect("sandbox");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = jobs_file(dir.path(), (0..jobs).map(|i| format!("job-{i}")));
    // A ledger per run: the job names repeat from run to run.
    let ledger = dir.path().join("ledger.sqlite");
    let mut args = vec![
        "--json",
        "--ledger",
        ledger.to_str().unwrap_or_default(),
        "batch",
        file.to_str().unwrap_or_default(),
        "--concurrency",
        "3",
        "--no-download",
        "--poll-interval",
        poll,
        "--rate-window",
        window,
    ];
    args.extend_from_slice(extra);
    let start = Instant::now();
    let output = against(&sandbox, &args);
    let seconds = start.elapsed().as_secs_f64();
    let summary = json_lines(&output).pop().unwrap_or_default();
    let rejected = sandbox.limit_rejections();
    Run {
        seconds,
        requests: sandbox.counts().total + rejected.total(),
        rate_429: rejected.rate,
        concurrency_429: rejected.concurrency,
        submits: sandbox.counts().submits(),
        done: summary["done"].as_u64().unwrap_or(0),
        gap: mean_slot_gap(&sandbox, TASK),
    }
}

fn print(label: &str, run: &Run) {
    println!(
        "{label:<34} {:>6.1} s {:>5} requests {:>4} rate 429s {:>2} concurrency 429s \
         {:>4} submits {:>4} done  mean slot gap {:>5.0} ms",
        run.seconds,
        run.requests,
        run.rate_429,
        run.concurrency_429,
        run.submits,
        run.done,
        run.gap.as_secs_f64() * 1000.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let jobs: usize = std::env::var("JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    println!(
        "{jobs} jobs of {} ms each, 100 requests a minute (a minute = 6 s), 3 running",
        TASK.as_millis()
    );
    let with = batch(jobs, 0.1, "0.05", "6", &[]).await;
    print("limiter on, poll 50 ms", &with);
    let without = batch(jobs, 0.1, "0.05", "6", &["--no-rate-limiter"]).await;
    print("limiter off (baseline), poll 50 ms", &without);
    // The default 2 s poll interval at this time scale (a minute = 6 s): the rate binds.
    let default_poll = batch(jobs, 0.1, "0.2", "6", &[]).await;
    print(
        "limiter on, poll 200 ms (2 s at this time scale)",
        &default_poll,
    );
    // The rate limit far away (a minute = 0.6 s): only the poll interval decides.
    for poll in ["0.05", "0.1", "0.2"] {
        let run = batch(jobs, 0.01, poll, "0.6", &[]).await;
        print(&format!("rate not binding, poll {poll} s"), &run);
    }
}

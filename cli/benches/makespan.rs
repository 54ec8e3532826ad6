//! How close `modellix batch` finishes to the bound, measured on the built binary
//! against the sandbox at two of Modellix's tiers, in real time (no time scaling:
//! tasks of 3 s, a real minute of the rate limit):
//!
//! - the lowest tier, 3 running tasks and 100 requests a minute: 12 jobs;
//! - a 10-slot tier, 10 running and 100 a minute: 40 jobs.
//!
//! Each row: the bound (⌈jobs / slots⌉ × run time: the slots never idle and every end
//! is seen the instant it happens), the makespan (the command's wall time, start-up
//! included), their ratio, requests per task (every request the sandbox answered or
//! refused, over the jobs) and the 429s, rate and concurrency apart. Rows: our batch
//! with a fresh ledger (nothing learned: the first tasks teach the schedule), our batch
//! with a fresh ledger polled every second until it has learned (`--poll-interval 1`),
//! our batch again on the first run's ledger (what it learned is kept), and polls
//! every 2 s without learning (the official CLI's pace). Goal: ≤ 1.10 × the bound, no rate
//! 429, fewer requests per task than the 2 s row.
//!
//! `cargo bench -p modellix-cli --bench makespan --profile dev` (the figures hardly
//! depend on the profile; `--profile dev` reuses the test build). About 2 minutes.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{against, jobs_file, json_lines};
use modellix_sandbox::{Sandbox, Timing};

const TASK: Duration = Duration::from_secs(3);

struct Tier {
    slots: u32,
    rpm: u32,
    jobs: usize,
}

struct Run {
    seconds: f64,
    requests: u64,
    rate_429: u64,
    concurrency_429: u64,
    done: u64,
}

/// One batch of `tier.jobs` new jobs (named `prefix-N`) on the ledger in `dir`.
async fn batch(tier: &Tier, dir: &Path, prefix: &str, extra: &[&str]) -> Run {
    let sandbox = Sandbox::builder()
        .rpm(tier.rpm)
        .concurrency_limit(tier.slots)
        .timing(Timing::Fixed(TASK))
        .start()
        .await
        .expect("sandbox");
    let file = jobs_file(dir, (0..tier.jobs).map(|i| format!("{prefix}-{i}")));
    let ledger = dir.join("ledger.sqlite");
    let slots = tier.slots.to_string();
    let rpm = tier.rpm.to_string();
    let mut args = vec![
        "--json",
        "--ledger",
        ledger.to_str().unwrap_or_default(),
        "batch",
        file.to_str().unwrap_or_default(),
        "--concurrency",
        &slots,
        "--rpm",
        &rpm,
        "--no-download",
        "--yes",
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
        done: summary["done"].as_u64().unwrap_or(0),
    }
}

fn print(tier: &Tier, label: &str, run: &Run, bound: f64, goal: Option<f64>) {
    let ratio = run.seconds / bound;
    let per_task = run.requests as f64 / tier.jobs as f64;
    let verdict = match goal {
        Some(fixed) => {
            let met = ratio <= 1.10 && run.rate_429 == 0 && per_task < fixed;
            if met { "met" } else { "MISSED" }
        }
        None => "",
    };
    println!(
        "| {} running, {} a minute, {} jobs | {label} | {bound:.1} s | {:.1} s | {ratio:.2} | \
         {per_task:.2} | {} | {} | {}/{} | {verdict} |",
        tier.slots,
        tier.rpm,
        tier.jobs,
        run.seconds,
        run.rate_429,
        run.concurrency_429,
        run.done,
        tier.jobs,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tiers = [
        Tier {
            slots: 3,
            rpm: 100,
            jobs: 12,
        },
        Tier {
            slots: 10,
            rpm: 100,
            jobs: 40,
        },
    ];
    println!(
        "# Batch makespan against the sandbox, tasks of {} s, real time",
        TASK.as_secs()
    );
    println!("# command: cargo bench -p modellix-cli --bench makespan --profile dev\n");
    println!(
        "| tier | batch | bound | makespan | ratio | requests per task | rate 429s | \
         concurrency 429s | done | goal (≤ 1.10, no rate 429, fewer requests than 2 s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for tier in &tiers {
        let waves = tier.jobs.div_ceil(tier.slots as usize) as f64;
        let bound = waves * TASK.as_secs_f64();
        let fixed_dir = tempfile::tempdir().expect("temporary directory");
        let fixed = batch(
            tier,
            fixed_dir.path(),
            "job",
            &["--poll-interval", "2", "--no-learning"],
        )
        .await;
        let per_task_fixed = fixed.requests as f64 / tier.jobs as f64;
        let dir = tempfile::tempdir().expect("temporary directory");
        let cold = batch(tier, dir.path(), "first", &[]).await;
        print(
            tier,
            "ours, fresh ledger",
            &cold,
            bound,
            Some(per_task_fixed),
        );
        // Nothing learned, and polls every second until the first tasks teach it.
        let paced_dir = tempfile::tempdir().expect("temporary directory");
        let paced = batch(tier, paced_dir.path(), "job", &["--poll-interval", "1"]).await;
        print(
            tier,
            "ours, fresh ledger, --poll-interval 1",
            &paced,
            bound,
            Some(per_task_fixed),
        );
        // New jobs on the same ledger: the run times the first run learned are kept.
        let warm = batch(tier, dir.path(), "second", &[]).await;
        print(
            tier,
            "ours, second run (learned)",
            &warm,
            bound,
            Some(per_task_fixed),
        );
        print(tier, "every 2 s (official CLI)", &fixed, bound, None);
    }
}

//! Polling efficiency on a virtual clock: requests per task and detection latency for
//! each schedule, over task durations of 20–600 s spread ±20%.
//!
//! Run: `cargo bench --bench polling`. Deterministic (seeded); uses the library's own
//! policy types, driven the way `Task::wait` drives them.

use std::time::Duration;

use modellix::{Backoff, LearningSchedule, PollContext, PollSchedule, TaskKind};

const DURATIONS: [f64; 5] = [20.0, 60.0, 120.0, 300.0, 600.0];
const TASKS: usize = 2000;
const WARM_UP: usize = 10;

#[derive(Clone, Copy)]
enum Spread {
    /// Uniform over ±20%.
    Uniform,
    /// Triangular over ±20% (most tasks near the nominal time).
    Triangular,
}

struct Cell {
    requests: f64,
    mean_latency: f64,
    p95_latency: f64,
}

/// Polls one task that ends `end` seconds after submit; returns (requests, latency).
fn drive(schedule: &dyn PollSchedule, kind: &TaskKind, end: f64) -> (u32, f64) {
    let mut t = schedule
        .delay(&PollContext::new(0, Duration::ZERO, kind))
        .as_secs_f64();
    let mut polls = 1;
    while t < end {
        t += schedule
            .delay(&PollContext::new(polls, Duration::from_secs_f64(t), kind))
            .as_secs_f64();
        polls += 1;
    }
    schedule.observe(kind, Duration::from_secs_f64(t));
    (polls, t - end)
}

fn run(make: &dyn Fn() -> Box<dyn PollSchedule>, nominal: f64, spread: Spread, seed: u64) -> Cell {
    let schedule = make();
    let kind = TaskKind::of_request(
        "bytedance/seedance-2.0-v2v",
        &serde_json::json!({"duration": nominal as i64, "resolution": "720p"}),
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut draw = || {
        let u = match spread {
            Spread::Uniform => 2.0 * rng.f64() - 1.0,
            Spread::Triangular => rng.f64() - rng.f64(),
        };
        nominal * (1.0 + 0.2 * u)
    };
    for _ in 0..WARM_UP {
        drive(schedule.as_ref(), &kind, draw());
    }
    let mut requests = 0u64;
    let mut latencies = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let (polls, latency) = drive(schedule.as_ref(), &kind, draw());
        requests += u64::from(polls);
        latencies.push(latency);
    }
    latencies.sort_by(f64::total_cmp);
    Cell {
        requests: requests as f64 / TASKS as f64,
        mean_latency: latencies.iter().sum::<f64>() / TASKS as f64,
        p95_latency: latencies[TASKS * 95 / 100],
    }
}

/// A name and a way to make a fresh schedule (learning schedules carry state).
type ScheduleMaker = (&'static str, Box<dyn Fn() -> Box<dyn PollSchedule>>);

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs it briefly as a smoke test.
    let schedules: Vec<ScheduleMaker> = vec![
        (
            "default (2 s x1.5 to 10 s, ±20%)",
            Box::new(|| Box::new(Backoff::default().seeded(1))),
        ),
        (
            "fixed 2 s (official CLI)",
            Box::new(|| Box::new(Backoff::fixed(Duration::from_secs(2)))),
        ),
        (
            "fixed 0.5 s",
            Box::new(|| Box::new(Backoff::fixed(Duration::from_millis(500)))),
        ),
        (
            "exponential 1 s x2 to 60 s",
            Box::new(|| {
                Box::new(Backoff::new(
                    Duration::from_secs(1),
                    2.0,
                    Duration::from_secs(60),
                ))
            }),
        ),
        (
            "learning (after 10 tasks)",
            Box::new(|| Box::new(LearningSchedule::new(Backoff::default().seeded(1)))),
        ),
    ];
    println!(
        "# Polling efficiency (virtual clock, {TASKS} tasks per cell after {WARM_UP} warm-up tasks)"
    );
    println!("# command: cargo bench --bench polling");
    let mut verdicts = Vec::new();
    for (spread, name) in [
        (Spread::Uniform, "uniform ±20%"),
        (Spread::Triangular, "triangular ±20%"),
    ] {
        println!(
            "\n## durations spread {name}: requests per task / mean latency s / p95 latency s\n"
        );
        print!("| schedule |");
        for d in DURATIONS {
            print!(" {d:.0} s |");
        }
        println!("\n|---|{}", "---|".repeat(DURATIONS.len()));
        let mut rows = Vec::new();
        for (label, make) in &schedules {
            print!("| {label} |");
            let mut row = Vec::new();
            for (i, d) in DURATIONS.iter().enumerate() {
                let c = run(make.as_ref(), *d, spread, 42 + i as u64);
                print!(
                    " {:.1} / {:.2} / {:.2} |",
                    c.requests, c.mean_latency, c.p95_latency
                );
                row.push(c);
            }
            println!();
            rows.push(row);
        }
        // Row 0 is the default backoff, the last row the learning schedule.
        let (default, learning) = (&rows[0], &rows[rows.len() - 1]);
        for (i, d) in DURATIONS.iter().enumerate() {
            let (l, b) = (&learning[i], &default[i]);
            let fine = l.requests <= b.requests && l.mean_latency <= b.mean_latency;
            verdicts.push(format!(
                "| {name} | {d:.0} s | {:.1} / {:.2} | {:.1} / {:.2} | {} |",
                l.requests,
                l.mean_latency,
                b.requests,
                b.mean_latency,
                if fine { "no worse" } else { "WORSE" }
            ));
            if *d == 120.0 {
                let met = l.requests <= 8.0 && l.mean_latency <= 1.5;
                verdicts.push(format!(
                    "| {name} | 120 s target (≤ 8 requests, ≤ 1.5 s) | {:.1} / {:.2} | | {} |",
                    l.requests,
                    l.mean_latency,
                    if met { "met" } else { "MISSED" }
                ));
            }
        }
    }
    println!(
        "\n## learning schedule beside the default backoff, same run: requests / mean latency s\n"
    );
    println!("| spread | cell | learning | default | verdict |\n|---|---|---|---|---|");
    for line in verdicts {
        println!("{line}");
    }
}

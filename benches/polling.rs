//! Polling efficiency on a virtual clock: requests per task and detection latency for
//! each schedule, over task durations of 20–600 s spread ±20%.
//!
//! Run: `cargo bench --bench polling`. Deterministic (seeded); uses the library's own
//! policy types, driven the way `Task::wait` drives them.
//!
//! Each table ends with the best fixed plan for its cell: the query times dynamic
//! programs pick when they know the cell's true run-time distribution exactly, for the
//! least mean latency at no more requests than the learning schedule made there (gaps
//! of at least the schedule's 1 s minimum), played on the same draws. The learning
//! schedule's mean latency is judged against it: at most 1.10 × its.

use std::time::Duration;

use modellix::{Backoff, LearningSchedule, PollContext, PollSchedule, TaskKind};

const DURATIONS: [f64; 5] = [20.0, 60.0, 120.0, 300.0, 600.0];
const TASKS: usize = 2000;
const WARM_UP: usize = 10;

/// The smallest gap between two queries of the best plan, as the learning schedule's
/// default `min_interval`.
const MIN_GAP: f64 = 1.0;
/// Grid points of the best plan's dynamic programs, over the support of the run times:
/// priced, and within a budget (whose states also count the requests spent).
const PLAN_GRID: usize = 480;
const BUDGET_GRID: usize = 240;
/// The budgeted program counts expected requests in steps of this.
const REQUEST_UNIT: f64 = 0.02;
/// Goal: the learning schedule's mean latency at most this times the best plan's.
const BEST_PLAN_GOAL: f64 = 1.10;

#[derive(Clone, Copy)]
enum Spread {
    /// Uniform over ±20%.
    Uniform,
    /// Triangular over ±20% (most tasks near the nominal time).
    Triangular,
}

impl Spread {
    /// Where `u`, the relative deviation of a run time over [-1, 1] (0.2 × u of the
    /// nominal), falls at or below: the exact distribution `run` draws from.
    fn cdf(self, u: f64) -> f64 {
        let u = u.clamp(-1.0, 1.0);
        match self {
            Spread::Uniform => (u + 1.0) / 2.0,
            // The difference of two uniforms on [0, 1].
            Spread::Triangular if u < 0.0 => (1.0 + u).powi(2) / 2.0,
            Spread::Triangular => 1.0 - (1.0 - u).powi(2) / 2.0,
        }
    }
}

/// Queries at fixed times after submit, known beforehand: the best fixed plan.
#[derive(Debug)]
struct FixedPlan(Vec<f64>);

impl PollSchedule for FixedPlan {
    fn delay(&self, ctx: &PollContext<'_>) -> Duration {
        let now = ctx.since_submit.as_secs_f64();
        let next = self.0.iter().find(|t| **t > now + 1e-9);
        // The plan's last query is at the longest run time: nothing ends past it.
        Duration::from_secs_f64(next.map_or(MIN_GAP, |t| t - now))
    }
}

/// Run times of `nominal` ± 20% spread as `spread`, on a grid of `points` over their
/// support: the times, the probability of an end at or before each, and the mean of
/// the ends at or before each times that probability (for mean latencies).
struct Grid {
    t: Vec<f64>,
    cdf: Vec<f64>,
    moment: Vec<f64>,
}

impl Grid {
    fn new(nominal: f64, spread: Spread, points: usize) -> Grid {
        let (lo, hi) = (0.8 * nominal, 1.2 * nominal);
        let step = (hi - lo) / (points - 1) as f64;
        let cdf_at = |x: f64| spread.cdf((x / nominal - 1.0) / 0.2);
        let t: Vec<f64> = (0..points).map(|i| lo + step * i as f64).collect();
        let cdf: Vec<f64> = t.iter().map(|x| cdf_at(*x)).collect();
        // E[end; end ≤ t] = t F(t) − ∫ F from the support's start (by parts), the
        // integral by Simpson's rule on each step (F is smooth within one).
        let mut integral = 0.0;
        let mut moment = vec![0.0; points];
        for i in 1..points {
            let (a, b) = (t[i - 1], t[i]);
            integral += (b - a) / 6.0 * (cdf[i - 1] + 4.0 * cdf_at((a + b) / 2.0) + cdf[i]);
            moment[i] = b * cdf[i] - integral;
        }
        Grid { t, cdf, moment }
    }

    /// Mean wait of the ends in `(t[i], t[j]]` for a query at `t[j]`, times their
    /// probability.
    fn wait(&self, i: usize, j: usize) -> f64 {
        self.t[j] * (self.cdf[j] - self.cdf[i]) - (self.moment[j] - self.moment[i])
    }
}

/// The query times minimising mean latency + `price` × mean queries, with gaps of at
/// least `MIN_GAP` (also before the first query) and the last query at the longest run
/// time. Dynamic programming over the grid: the best plan whose latest query is at grid
/// time `j` extends the best one ending at an earlier `i`, paying a query whenever the
/// task may still run at `i` and the wait from every end in `(i, j]` to `j`.
fn best_plan(grid: &Grid, price: f64) -> Vec<f64> {
    let (t, cdf, n) = (&grid.t, &grid.cdf, grid.t.len());
    let mut best = vec![f64::INFINITY; n];
    let mut previous = vec![usize::MAX; n];
    for j in 0..n {
        if t[j] >= MIN_GAP {
            best[j] = price + t[j] * cdf[j] - grid.moment[j];
        }
        for i in 0..j {
            if t[j] - t[i] < MIN_GAP {
                break; // later i are closer still
            }
            let total = best[i] + price * (1.0 - cdf[i]) + grid.wait(i, j);
            if total < best[j] {
                best[j] = total;
                previous[j] = i;
            }
        }
    }
    walk_back(t, n - 1, |j| previous[j])
}

/// Expected requests in units of `REQUEST_UNIT`, rounded up so a plan within a count
/// of units stays within that many requests.
fn units(requests: f64) -> usize {
    (requests / REQUEST_UNIT - 1e-9).ceil().max(0.0) as usize
}

/// The least mean latency within `cap` units of expected requests, by dynamic
/// programming over (latest query, units spent): the plans between the ones a price
/// reaches (a price only finds the lower convex hull of requests and latency).
fn best_plan_within(grid: &Grid, cap: usize) -> Option<Vec<f64>> {
    let (t, cdf, n) = (&grid.t, &grid.cdf, grid.t.len());
    let width = cap + 1;
    let mut best = vec![f64::INFINITY; n * width];
    let mut previous = vec![u32::MAX; n * width];
    let first = units(1.0);
    for j in 0..n {
        if t[j] >= MIN_GAP && first <= cap {
            best[j * width + first] = t[j] * cdf[j] - grid.moment[j];
        }
        for i in 0..j {
            if t[j] - t[i] < MIN_GAP {
                break;
            }
            let cost = units(1.0 - cdf[i]);
            if cost > cap {
                continue;
            }
            let wait = grid.wait(i, j);
            for r in 0..=cap - cost {
                let from = best[i * width + r];
                if from + wait < best[j * width + r + cost] {
                    best[j * width + r + cost] = from + wait;
                    previous[j * width + r + cost] = i as u32;
                }
            }
        }
    }
    let end = n - 1;
    let spent = (0..width)
        .filter(|r| best[end * width + r].is_finite())
        .min_by(|a, b| best[end * width + a].total_cmp(&best[end * width + b]))?;
    // Walk back through (query, units) pairs.
    let mut plan = vec![t[end]];
    let (mut j, mut r) = (end, spent);
    while previous[j * width + r] != u32::MAX {
        let i = previous[j * width + r] as usize;
        r -= units(1.0 - cdf[i]);
        j = i;
        plan.push(t[j]);
    }
    plan.reverse();
    Some(plan)
}

/// A plan read back from its last query through `previous`.
fn walk_back(t: &[f64], last: usize, previous: impl Fn(usize) -> usize) -> Vec<f64> {
    let mut plan = Vec::new();
    let mut j = last;
    loop {
        plan.push(t[j]);
        match previous(j) {
            usize::MAX => break,
            i => j = i,
        }
    }
    plan.reverse();
    plan
}

/// The best fixed plan's cell at no more requests than `budget` on the same draws:
/// the better of the plan a bisected price finds (on a log scale, the cheapest whose
/// plan stays within the budget) and the one the budgeted program finds (its cap
/// lowered until the draws agree).
fn best_fixed(nominal: f64, spread: Spread, seed: u64, budget: f64) -> Cell {
    let cell = |plan: Vec<f64>| run(&|| Box::new(FixedPlan(plan.clone())), nominal, spread, seed);
    let priced = Grid::new(nominal, spread, PLAN_GRID);
    // Dear enough for one query (at the longest run time), cheap enough for many.
    let (mut dear, mut cheap) = (1e6_f64, 1e-4_f64);
    let mut within = cell(best_plan(&priced, dear));
    for _ in 0..40 {
        let mid = (dear * cheap).sqrt();
        let c = cell(best_plan(&priced, mid));
        if c.requests <= budget {
            dear = mid;
            within = c;
        } else {
            cheap = mid;
        }
    }
    let budgeted = Grid::new(nominal, spread, BUDGET_GRID);
    let mut cap = (budget / REQUEST_UNIT).floor() as usize;
    while let Some(plan) = best_plan_within(&budgeted, cap) {
        let c = cell(plan);
        if c.requests <= budget {
            if c.mean_latency < within.mean_latency {
                within = c;
            }
            break;
        }
        cap -= 1;
    }
    within
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
    let mut against_best = Vec::new();
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
        print!("| best fixed plan (knows the distribution) |");
        for (i, d) in DURATIONS.iter().enumerate() {
            let best = best_fixed(*d, spread, 42 + i as u64, learning[i].requests);
            print!(
                " {:.1} / {:.2} / {:.2} |",
                best.requests, best.mean_latency, best.p95_latency
            );
            let (l, ratio) = (&learning[i], learning[i].mean_latency / best.mean_latency);
            against_best.push(format!(
                "| {name} | {d:.0} s | {:.1} / {:.2} | {:.1} / {:.2} | {ratio:.3} | {} |",
                l.requests,
                l.mean_latency,
                best.requests,
                best.mean_latency,
                if ratio <= BEST_PLAN_GOAL {
                    "met"
                } else {
                    "MISSED"
                }
            ));
        }
        println!();
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
    println!(
        "\n## learning schedule beside the best fixed plan at no more requests, same draws: \
         requests / mean latency s; goal: ratio of means ≤ {BEST_PLAN_GOAL:.2}\n"
    );
    println!(
        "| spread | cell | learning | best fixed plan | ratio | verdict |\n|---|---|---|---|---|---|"
    );
    for line in against_best {
        println!("{line}");
    }
}

//! A polling schedule that learns how long tasks of each kind take.
//!
//! Backoff schedules trade requests for detection latency: polling every 2 s finds a
//! finished task within about a second but costs one request per 2 s; growing gaps save
//! requests and find the end late. Tasks of one kind (model, duration, resolution) take
//! similar times, so once a few have finished the likely end is known: sleep until
//! just before it, poll densely through it, and back off if the task runs long.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use crate::poll::{Backoff, PollContext, PollSchedule, TaskKind};

/// Finished tasks remembered per kind; old ones fall out so the estimate follows drift.
const HISTORY: usize = 24;
/// Below this many samples the estimate is not trusted and the fallback schedule runs.
const MIN_SAMPLES: usize = 3;
/// Grid resolution of the density estimate.
const GRID: usize = 256;

/// Learns run times per [`TaskKind`] and plans polls around them; the default
/// [`Backoff`] until three tasks of a kind have finished.
///
/// The plan puts `budget` queries between the lowest and the highest plausible end
/// time (outliers removed), spaced more densely where ends are more likely (spacing
/// proportional to 1/√density, which minimises the mean detection delay for a fixed
/// number of queries), never closer than `min_interval`. A task that runs past the
/// plan is polled with growing gaps, as by the fallback.
///
/// ```
/// use std::time::Duration;
/// use modellix::{LearningSchedule, PollContext, PollSchedule, TaskKind};
///
/// let schedule = LearningSchedule::default();
/// let kind = TaskKind::of_request("bytedance/seedance-2.0-v2v", &serde_json::json!({"duration": 5}));
/// for secs in [118, 121, 124, 119, 122] {
///     schedule.observe(&kind, Duration::from_secs(secs));
/// }
/// // The first query is planned just before the earliest end seen, not after 2 s.
/// let first = schedule.delay(&PollContext::new(0, Duration::ZERO, &kind));
/// assert!(first > Duration::from_secs(100) && first < Duration::from_secs(118));
/// ```
#[derive(Debug)]
pub struct LearningSchedule {
    fallback: Backoff,
    budget: usize,
    min_interval: Duration,
    history: Mutex<HashMap<TaskKind, Kind>>,
}

#[derive(Debug, Default)]
struct Kind {
    samples: VecDeque<f64>,
    /// Planned query times in seconds after submit, rebuilt on every observation.
    plan: Vec<f64>,
}

impl Default for LearningSchedule {
    fn default() -> Self {
        LearningSchedule::new(Backoff::default())
    }
}

impl LearningSchedule {
    /// Learns on top of `fallback`, which runs while a kind has too little history.
    pub fn new(fallback: Backoff) -> Self {
        LearningSchedule {
            fallback,
            budget: 18,
            min_interval: Duration::from_secs(1),
            history: Mutex::new(HashMap::new()),
        }
    }

    /// Most queries planned through the likely window (default 18; fewer for short
    /// tasks, so that on average no more are made than the fallback would make).
    pub fn budget(mut self, queries: usize) -> Self {
        self.budget = queries.max(2);
        self
    }

    /// Smallest gap between planned queries (default 1 s).
    pub fn min_interval(mut self, gap: Duration) -> Self {
        self.min_interval = gap;
        self
    }

    /// The learned window for `kind`: earliest and latest plausible end, if known.
    pub fn estimate(&self, kind: &TaskKind) -> Option<(Duration, Duration)> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let plan = &history.get(kind)?.plan;
        Some((
            Duration::from_secs_f64(*plan.first()?),
            Duration::from_secs_f64(*plan.last()?),
        ))
    }

    fn replan(&self, samples: &VecDeque<f64>) -> Vec<f64> {
        let kept = inliers(samples);
        if kept.len() < MIN_SAMPLES {
            return Vec::new();
        }
        // A task stops being polled once it is seen finished, so on average about half
        // the window's queries are made: planning up to twice the fallback's count
        // keeps the mean at or under what the fallback would spend.
        let typical = quantile(&kept, 0.5);
        let budget = self
            .budget
            .min(2 * self.fallback_queries(typical).saturating_sub(1));
        plan_queries(&kept, budget.max(2), self.min_interval.as_secs_f64())
    }

    /// Queries the fallback makes for a task that ends `end` seconds after submit.
    fn fallback_queries(&self, end: f64) -> usize {
        let kind = TaskKind::default();
        let mut t = 0.0;
        let mut polls = 0;
        while t < end && polls < 10_000 {
            t += self
                .fallback
                .delay(&PollContext::new(polls, Duration::from_secs_f64(t), &kind))
                .as_secs_f64();
            polls += 1;
        }
        polls as usize
    }
}

impl PollSchedule for LearningSchedule {
    fn delay(&self, ctx: &PollContext<'_>) -> Duration {
        let plan = {
            let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            match history.get(ctx.kind) {
                Some(kind) if !kind.plan.is_empty() && ctx.kind.model_id.is_some() => {
                    kind.plan.clone()
                }
                _ => return self.fallback.delay(ctx),
            }
        };
        let now = ctx.since_submit.as_secs_f64();
        if ctx.polls == 0 {
            return Duration::from_secs_f64(plan[0]);
        }
        if let Some(next) = plan.iter().find(|t| **t > now + 0.05) {
            return Duration::from_secs_f64(next - now);
        }
        // Past every plausible end: back off in proportion to the overrun.
        let last = plan[plan.len() - 1];
        let overrun = (now - last).max(0.0);
        let gap = (overrun * 0.5).clamp(self.min_interval.as_secs_f64().max(2.0), 10.0);
        Duration::from_secs_f64(gap)
    }

    fn observe(&self, kind: &TaskKind, took: Duration) {
        if kind.model_id.is_none() {
            return; // a task rebuilt from an id alone: its kind is unknown
        }
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let entry = history.entry(kind.clone()).or_default();
        entry.samples.push_back(took.as_secs_f64());
        if entry.samples.len() > HISTORY {
            entry.samples.pop_front();
        }
        entry.plan = self.replan(&entry.samples);
    }
}

/// Samples within a robust band around the median (median ± 4 scaled MADs, at least
/// ±5% of the median), so one task stuck in a queue does not stretch the plan.
fn inliers(samples: &VecDeque<f64>) -> Vec<f64> {
    let mut sorted: Vec<f64> = samples
        .iter()
        .copied()
        .filter(|s| s.is_finite() && *s > 0.0)
        .collect();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return sorted;
    }
    let median = quantile(&sorted, 0.5);
    let mut deviations: Vec<f64> = sorted.iter().map(|s| (s - median).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = quantile(&deviations, 0.5) * 1.4826;
    let band = (4.0 * mad).max(0.05 * median);
    sorted.retain(|s| (s - median).abs() <= band);
    sorted
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Query times through the window where the sorted samples say tasks end.
fn plan_queries(sorted: &[f64], budget: usize, min_interval: f64) -> Vec<f64> {
    let (first, last) = (sorted[0], sorted[sorted.len() - 1]);
    let spread = last - first;
    // Few samples understate the range: widen it by a share of the spread seen.
    let margin = spread * 0.15 + 0.01 * first;
    let (lo, hi) = ((first - margin).max(0.5), last + margin);
    let width = hi - lo;
    let count = budget
        .min((width / min_interval).floor() as usize + 1)
        .max(2);
    if width <= 0.0 {
        return vec![lo];
    }
    // Kernel density on a grid (Silverman's bandwidth), then queries spaced so that
    // equal steps of the cumulative √density lie between them.
    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let sd = (sorted.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
    let bandwidth = (1.06 * sd * n.powf(-0.2)).max(width / 50.0);
    let step = width / (GRID - 1) as f64;
    let root_density: Vec<f64> = (0..GRID)
        .map(|i| {
            let t = lo + step * i as f64;
            let f: f64 = sorted
                .iter()
                .map(|s| (-0.5 * ((t - s) / bandwidth).powi(2)).exp())
                .sum();
            // A floor keeps the gaps bounded where no sample fell.
            (f / n).sqrt() + 0.05
        })
        .collect();
    let mut cumulative = Vec::with_capacity(GRID);
    let mut total = 0.0;
    for g in &root_density {
        total += g;
        cumulative.push(total);
    }
    let mut plan = Vec::with_capacity(count);
    for k in 0..count {
        let target = cumulative[0] + (total - cumulative[0]) * k as f64 / (count - 1) as f64;
        let i = cumulative.partition_point(|c| *c < target).min(GRID - 1);
        let t = lo + step * i as f64;
        if plan
            .last()
            .is_none_or(|p: &f64| t - p >= min_interval * 0.999)
        {
            plan.push(t);
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind() -> TaskKind {
        TaskKind::of_request(
            "bytedance/seedance-2.0-v2v",
            &serde_json::json!({"duration": 5, "resolution": "720p"}),
        )
    }

    fn first_delay(s: &LearningSchedule, kind: &TaskKind) -> f64 {
        s.delay(&PollContext::new(0, Duration::ZERO, kind))
            .as_secs_f64()
    }

    #[test]
    fn no_history_means_the_fallback() {
        let s = LearningSchedule::new(Backoff::new(
            Duration::from_secs(2),
            1.5,
            Duration::from_secs(10),
        ));
        assert_eq!(first_delay(&s, &kind()), 2.0);
        s.observe(&kind(), Duration::from_secs(100));
        s.observe(&kind(), Duration::from_secs(100));
        assert_eq!(first_delay(&s, &kind()), 2.0, "two samples are not enough");
        assert_eq!(s.estimate(&kind()), None);
        // Another kind learns separately; unknown kinds never learn.
        let unknown = TaskKind::default();
        for _ in 0..5 {
            s.observe(&unknown, Duration::from_secs(50));
        }
        assert_eq!(first_delay(&s, &unknown), 2.0);
    }

    #[test]
    fn steady_history_plans_a_dense_window_around_the_usual_end() {
        let s = LearningSchedule::default();
        for secs in [
            118.0, 120.0, 122.0, 119.0, 121.0, 120.5, 119.5, 121.5, 118.5, 122.5,
        ] {
            s.observe(&kind(), Duration::from_secs_f64(secs));
        }
        let (lo, hi) = s.estimate(&kind()).unwrap();
        assert!(
            lo.as_secs_f64() > 115.0 && lo.as_secs_f64() < 118.0,
            "{lo:?}"
        );
        assert!(
            hi.as_secs_f64() > 122.5 && hi.as_secs_f64() < 126.0,
            "{hi:?}"
        );
        // Walk the plan: every gap inside the window is at least 1 s and at most 2 s.
        let mut t = first_delay(&s, &kind());
        let mut polls = 1;
        while t < hi.as_secs_f64() {
            let gap = s
                .delay(&PollContext::new(
                    polls,
                    Duration::from_secs_f64(t),
                    &kind(),
                ))
                .as_secs_f64();
            assert!((0.99..=2.5).contains(&gap), "gap {gap} at {t}");
            t += gap;
            polls += 1;
        }
        assert!(polls <= 9, "{polls}");
    }

    #[test]
    fn outliers_do_not_stretch_the_plan() {
        let s = LearningSchedule::default();
        for secs in [60.0, 61.0, 59.0, 60.5, 59.5, 600.0, 3.0, 60.2] {
            s.observe(&kind(), Duration::from_secs_f64(secs));
        }
        let (lo, hi) = s.estimate(&kind()).unwrap();
        assert!(
            lo.as_secs_f64() > 55.0 && hi.as_secs_f64() < 65.0,
            "{lo:?}..{hi:?}"
        );
    }

    #[test]
    fn a_task_running_past_the_plan_is_polled_with_growing_gaps() {
        let s = LearningSchedule::default();
        for secs in [30.0, 31.0, 29.0, 30.5] {
            s.observe(&kind(), Duration::from_secs_f64(secs));
        }
        let gaps: Vec<f64> = [40.0, 50.0, 70.0, 200.0]
            .iter()
            .map(|t| {
                s.delay(&PollContext::new(9, Duration::from_secs_f64(*t), &kind()))
                    .as_secs_f64()
            })
            .collect();
        assert!(gaps.windows(2).all(|w| w[0] <= w[1]), "{gaps:?}");
        assert_eq!(gaps[3], 10.0);
    }

    #[test]
    fn drift_moves_the_window() {
        let s = LearningSchedule::default();
        for _ in 0..HISTORY {
            s.observe(&kind(), Duration::from_secs(60));
        }
        assert!(first_delay(&s, &kind()) < 60.0);
        // The service slows down to 90 s: after a history's worth of tasks the plan
        // starts near 90 s.
        for _ in 0..HISTORY {
            s.observe(&kind(), Duration::from_secs(90));
        }
        let first = first_delay(&s, &kind());
        assert!(first > 80.0 && first < 90.0, "{first}");
    }
}

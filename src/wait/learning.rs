//! A polling schedule that learns how long tasks of each kind take.
//!
//! Backoff schedules trade requests for detection latency: polling every 2 s finds a
//! finished task within about a second but costs one request per 2 s; growing gaps save
//! requests and find the end late. Tasks of one kind (model, duration, resolution) take
//! similar times, so once a few have finished the likely end is known: sleep until
//! just before it, poll through it with gaps chosen for the least cost, and back off if
//! the task runs long.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use crate::task::kind::TaskKind;
use crate::wait::schedule::Backoff;
use crate::wait::schedule::PollContext;
use crate::wait::schedule::PollSchedule;

/// Finished tasks remembered per kind; old ones fall out so the estimate follows drift.
const HISTORY: usize = 96;
/// Below this many samples the estimate is not trusted and the fallback schedule runs.
const MIN_SAMPLES: usize = 3;
/// Grid resolution of the density estimate and of the planned query times.
const GRID: usize = 256;
/// Seconds of mean detection latency one query is worth: the plan minimises
/// `mean latency + QUERY_COST × mean queries`. At 0.19 s a two-minute task with a ±20%
/// spread gets about 1.5 s of latency for about 8 queries (benches/polling.rs).
const QUERY_COST: f64 = 0.19;
/// Longest run time learned, in seconds (a day): anything longer is a bad sample.
const MAX_RUN: f64 = 86_400.0;
/// A query whose answer arrives later than this after its planned time was not one
/// of the plan's (the task ran past it, or the plan changed meanwhile).
const ON_PLAN: f64 = 1.0;

/// Learns run times per [`TaskKind`] and plans polls around them; the default
/// [`Backoff`] until three tasks of a kind have finished.
///
/// From the run times seen (outliers removed) it estimates where tasks of the kind end
/// (a kernel density), then picks the query times that minimise the mean detection
/// latency plus 0.19 s per expected query, by dynamic programming over a grid: gaps are
/// short where ends are likely, long where they are not, and the number of queries
/// grows with the width of the window (about √width). A task that runs past the plan is
/// polled with growing gaps, as by the fallback. Queries are never closer than
/// `min_interval`.
///
/// The end of a task lies between the query that saw it running and the one that saw
/// it finished; the schedule remembers the middle of that gap, so its estimate does not
/// drift late by its own latency. [`LearningSchedule::history`] and
/// [`LearningSchedule::record`] save and restore what was learned, e.g. across runs of
/// a program that submits one task per run.
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
/// // The first query is planned near the earliest end seen, not after 2 s.
/// let first = schedule.delay(&PollContext::new(0, Duration::ZERO, &kind));
/// assert!(first > Duration::from_secs(100) && first < Duration::from_secs(124));
/// ```
#[derive(Debug)]
pub struct LearningSchedule {
    fallback: Backoff,
    /// Most queries planned; `None`: as many as the cost rule picks.
    budget: Option<usize>,
    min_interval: Duration,
    history: Mutex<HashMap<TaskKind, Kind>>,
}

#[derive(Debug, Default)]
struct Kind {
    /// Where the last tasks ended, oldest first.
    samples: VecDeque<Sample>,
    /// Planned query times in seconds after submit, rebuilt on every sample.
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
            budget: None,
            min_interval: Duration::from_secs(1),
            history: Mutex::new(HashMap::new()),
        }
    }

    /// Most queries planned through the likely window (at least 2). By default there
    /// is no cap: the count follows from the cost rule and grows with the window. A
    /// cap makes each query dearer until the plan fits.
    ///
    /// ```
    /// let frugal = modellix::LearningSchedule::default().budget(5);
    /// ```
    pub fn budget(mut self, queries: usize) -> Self {
        self.budget = Some(queries.max(2));
        self
    }

    /// Smallest gap between planned queries (default 1 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let patient = modellix::LearningSchedule::default().min_interval(Duration::from_secs(5));
    /// ```
    pub fn min_interval(mut self, gap: Duration) -> Self {
        self.min_interval = gap;
        self
    }

    /// The learned window for `kind`: the first and last planned query, if known.
    pub fn estimate(&self, kind: &TaskKind) -> Option<(Duration, Duration)> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let plan = &history.get(kind)?.plan;
        Some((seconds(*plan.first()?), seconds(*plan.last()?)))
    }

    /// What has been learned: for every kind, the estimated run times of its last
    /// finished tasks (up to 96), oldest first. Save it and hand it back to
    /// [`LearningSchedule::record`] in a later process to start where this one stopped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use modellix::{LearningSchedule, TaskKind};
    ///
    /// let kind = TaskKind { model_id: Some("m".into()), ..TaskKind::default() };
    /// let old = LearningSchedule::default();
    /// for secs in [60, 62, 61] {
    ///     old.record(&kind, Duration::from_secs(secs));
    /// }
    /// let new = LearningSchedule::default();
    /// for (kind, took) in old.history() {
    ///     new.record(&kind, took);
    /// }
    /// assert_eq!(new.estimate(&kind), old.estimate(&kind));
    /// assert_eq!(new.history().len(), 3);
    /// ```
    pub fn history(&self) -> Vec<(TaskKind, Duration)> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history
            .iter()
            .flat_map(|(kind, learned)| {
                learned
                    .samples
                    .iter()
                    .map(move |sample| (kind.clone(), seconds(sample.mid)))
            })
            .collect()
    }

    /// Adds one run time of `kind` as it is (a task that took `took` from submit to its
    /// end) and replans. For restoring [`LearningSchedule::history`]; a wait reports
    /// through [`PollSchedule::observe`], which first corrects for when the end was
    /// seen. Kinds without a model id are not learned.
    pub fn record(&self, kind: &TaskKind, took: Duration) {
        self.learn(kind, |_| Sample::at(took.as_secs_f64()));
    }

    /// Adds the sample `estimate` makes from the kind's current plan, then replans.
    fn learn(&self, kind: &TaskKind, estimate: impl FnOnce(&[f64]) -> Sample) {
        if kind.model_id.is_none() {
            return; // a task rebuilt from an id alone: its kind is unknown
        }
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let entry = history.entry(kind.clone()).or_default();
        let sample = estimate(&entry.plan);
        // An absurd sample (a stored value gone bad, a clock jump) would move the
        // plan by hours: it is not learned.
        if !(sample.mid > 0.0 && sample.mid <= MAX_RUN && sample.half.is_finite()) {
            return;
        }
        entry.samples.push_back(sample);
        if entry.samples.len() > HISTORY {
            entry.samples.pop_front();
        }
        entry.plan = self.replan(&entry.samples);
    }

    fn replan(&self, samples: &VecDeque<Sample>) -> Vec<f64> {
        let kept = inliers(samples);
        if kept.len() < MIN_SAMPLES {
            return Vec::new();
        }
        let window = Window::around(&kept);
        let min_gap = self.min_interval.as_secs_f64();
        let mut cost = QUERY_COST;
        let mut plan = window.plan(cost, min_gap);
        // A cap: make queries dearer until the plan fits (one query always does).
        while let Some(budget) = self.budget
            && plan.len() > budget
            && cost < 1e9
        {
            cost *= 2.0;
            plan = window.plan(cost, min_gap);
        }
        plan
    }

    /// The gap after the plan, `overrun` seconds past its last query: half the overrun,
    /// between 2 and 10 s, and never under the minimum gap.
    fn overrun_gap(&self, overrun: f64) -> f64 {
        (overrun * 0.5)
            .clamp(2.0, 10.0)
            .max(self.min_interval.as_secs_f64())
    }

    /// When a task seen finished `took` seconds after submit ended, given the plan it
    /// was polled by: in the gap before the query that saw it.
    fn end_estimate(&self, plan: &[f64], took: f64) -> Sample {
        let seen = plan.partition_point(|p| *p <= took);
        let Some(&at) = seen.checked_sub(1).and_then(|i| plan.get(i)) else {
            // Before the plan: polled by the fallback.
            return Sample::within(took - self.fallback_gap(took), took);
        };
        if took - at > ON_PLAN {
            // Past the plan: the previous query was one overrun gap earlier.
            let gap = self.overrun_gap(took - plan[plan.len() - 1]);
            return Sample::within(took - gap, took);
        }
        match seen.checked_sub(2).and_then(|i| plan.get(i)) {
            Some(&before) => Sample::within(before, at),
            // Seen finished at the first query: it ended before the plan began, by as
            // much as the first gap, say.
            None => Sample::within(at - plan.get(1).map_or(ON_PLAN, |next| next - at), at),
        }
    }

    /// The fallback's gap before the query that would come at or after `took`.
    fn fallback_gap(&self, took: f64) -> f64 {
        let kind = TaskKind::default();
        let (mut t, mut gap) = (0.0, 0.0);
        for polls in 0..10_000 {
            if t >= took {
                break;
            }
            gap = self
                .fallback
                .delay(&PollContext::new(polls, seconds(t), &kind))
                .as_secs_f64();
            t += gap;
        }
        gap
    }
}

impl PollSchedule for LearningSchedule {
    fn delay(&self, ctx: &PollContext<'_>) -> Duration {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let plan = match history.get(ctx.kind) {
            Some(kind) if !kind.plan.is_empty() && ctx.kind.model_id.is_some() => &kind.plan,
            _ => {
                drop(history);
                return self.fallback.delay(ctx);
            }
        };
        let now = ctx.since_submit.as_secs_f64();
        // A small slack: the clock that reached a planned time may read a hair under it.
        if let Some(next) = plan.iter().find(|t| **t > now + 1e-6) {
            return seconds(next - now);
        }
        // Past every plausible end: back off in proportion to the overrun.
        seconds(self.overrun_gap(now - plan[plan.len() - 1]))
    }

    fn observe(&self, kind: &TaskKind, took: Duration) {
        let took = took.as_secs_f64();
        self.learn(kind, |plan| self.end_estimate(plan, took));
    }

    fn observe_between(&self, kind: &TaskKind, from: Duration, to: Duration) {
        let (from, to) = (from.as_secs_f64(), to.as_secs_f64());
        self.learn(kind, |_| Sample::within(from, to));
    }

    fn restore(&self, kind: &TaskKind, took: Duration) {
        self.record(kind, took);
    }
}

/// `secs` as a `Duration`, saturating: negative or NaN is zero, beyond
/// `Duration::MAX` is `Duration::MAX` (`Duration::from_secs_f64` would panic).
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX)
}

/// Where one task ended: somewhere in `mid ± half` seconds after submit (between the
/// query that saw it running and the one that saw it finished).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    mid: f64,
    half: f64,
}

impl Sample {
    /// An end known exactly.
    fn at(secs: f64) -> Sample {
        Sample {
            mid: secs,
            half: 0.0,
        }
    }

    /// An end somewhere in `(from, to]`.
    fn within(from: f64, to: f64) -> Sample {
        let from = from.max(0.0).min(to);
        Sample {
            mid: (from + to) / 2.0,
            half: (to - from) / 2.0,
        }
    }
}

/// Samples sorted by their middle, within a robust band around the median (median ± 4
/// scaled MADs, at least ±5% of the median), so one task stuck in a queue does not
/// stretch the plan.
fn inliers(samples: &VecDeque<Sample>) -> Vec<Sample> {
    let mut sorted: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.mid.is_finite() && s.half.is_finite() && s.mid > 0.0)
        .collect();
    sorted.sort_by(|a, b| a.mid.total_cmp(&b.mid));
    if sorted.is_empty() {
        return sorted;
    }
    let mids: Vec<f64> = sorted.iter().map(|s| s.mid).collect();
    let median = quantile(&mids, 0.5);
    let mut deviations: Vec<f64> = mids.iter().map(|s| (s - median).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = quantile(&deviations, 0.5) * 1.4826;
    let band = (4.0 * mad).max(0.05 * median);
    sorted.retain(|s| (s.mid - median).abs() <= band);
    sorted
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Where tasks of a kind end: a grid over the plausible window with the estimated
/// probability of an end at each point.
struct Window {
    /// Grid times, seconds after submit, ascending.
    times: Vec<f64>,
    /// Cumulative probability of an end at or before each grid time.
    cdf: Vec<f64>,
    /// Cumulative sum of time × probability, for mean latencies.
    moment: Vec<f64>,
}

impl Window {
    /// A kernel density of the samples (sorted by middle). Each is a Gaussian as wide
    /// as the mean spacing of the samples, times up to 4 as they grow in number (at
    /// least 0.5% of the median), widened by the sample's own uncertainty. The window
    /// reaches three kernel widths past the extreme samples, plus the gap a further
    /// sample would be expected to open there.
    fn around(sorted: &[Sample]) -> Window {
        let (first, last) = (sorted[0].mid, sorted[sorted.len() - 1].mid);
        let n = sorted.len() as f64;
        let spacing = (last - first) / (n - 1.0);
        let median = sorted[sorted.len() / 2].mid;
        // A kernel should narrow more slowly than the samples' spacing as they
        // accumulate (Silverman: width ∝ n^-1/5, spacing ∝ 1/n), so it is widened with
        // n; capped at 4 spacings, where the plan stops gaining (benches/polling.rs).
        let smoothing = (n / 10.0).powf(0.8).clamp(1.0, 4.0);
        let bandwidth = (spacing * smoothing).max(0.005 * median).max(1e-3);
        // A uniform spread over ±half has the variance half²/3.
        let widths: Vec<f64> = sorted
            .iter()
            .map(|s| (bandwidth.powi(2) + s.half.powi(2) / 3.0).sqrt())
            .collect();
        let widest = widths.iter().copied().fold(bandwidth, f64::max);
        let margin = 3.0 * widest + spacing;
        let (lo, hi) = ((first - margin).max(0.0), last + margin);
        let step = (hi - lo) / (GRID - 1) as f64;
        let times: Vec<f64> = (0..GRID).map(|i| lo + step * i as f64).collect();
        let density: Vec<f64> = times
            .iter()
            .map(|t| {
                sorted
                    .iter()
                    .zip(&widths)
                    .map(|(s, w)| (-0.5 * ((t - s.mid) / w).powi(2)).exp() / w)
                    .sum::<f64>()
            })
            .collect();
        let total: f64 = density.iter().sum();
        let (mut cdf, mut moment) = (Vec::with_capacity(GRID), Vec::with_capacity(GRID));
        let (mut c, mut m) = (0.0, 0.0);
        for (t, d) in times.iter().zip(&density) {
            // An all-zero density (samples far apart from huge values) is flat.
            let p = if total > 0.0 {
                d / total
            } else {
                1.0 / GRID as f64
            };
            c += p;
            m += p * t;
            cdf.push(c);
            moment.push(m);
        }
        Window { times, cdf, moment }
    }

    /// Query times minimising mean latency + `cost` × mean queries, with gaps of at
    /// least `min_gap` (also from submit to the first query), the last at the window's
    /// end. Dynamic programming over the grid: the best plan ending with a query at
    /// grid time `j` extends the best one ending at an earlier `i`, paying a query
    /// whenever the task may still run at `i`, and the wait from each end in `(i, j]`
    /// to `j`.
    fn plan(&self, cost: f64, min_gap: f64) -> Vec<f64> {
        let (t, cdf, moment) = (&self.times, &self.cdf, &self.moment);
        let mut best = vec![f64::INFINITY; GRID];
        let mut previous = vec![usize::MAX; GRID];
        for j in 0..GRID {
            if t[j] >= min_gap {
                // The first query: always made; waits for every end up to t[j].
                best[j] = cost + t[j] * cdf[j] - moment[j];
            }
            for i in 0..j {
                if t[j] - t[i] < min_gap {
                    break; // later i are closer still
                }
                let wait = t[j] * (cdf[j] - cdf[i]) - (moment[j] - moment[i]);
                let total = best[i] + cost * (1.0 - cdf[i]) + wait;
                if total < best[j] {
                    best[j] = total;
                    previous[j] = i;
                }
            }
        }
        let end = GRID - 1;
        if !best[end].is_finite() {
            // The whole window is shorter than one gap: one query at its end.
            return vec![t[end].max(min_gap)];
        }
        let mut plan = Vec::new();
        let mut j = end;
        loop {
            plan.push(t[j]);
            match previous[j] {
                usize::MAX => break,
                i => j = i,
            }
        }
        plan.reverse();
        plan
    }
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
            s.record(&kind(), Duration::from_secs_f64(secs));
        }
        let (lo, hi) = s.estimate(&kind()).unwrap();
        assert!(
            lo.as_secs_f64() > 114.0 && lo.as_secs_f64() < 119.0,
            "{lo:?}"
        );
        assert!(
            hi.as_secs_f64() > 122.5 && hi.as_secs_f64() < 127.0,
            "{hi:?}"
        );
        // Walk the plan: every gap is at least the minimum (1 s) and at most 3 s.
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
            assert!((0.99..=3.0).contains(&gap), "gap {gap} at {t}");
            t += gap;
            polls += 1;
        }
        assert!(polls <= 9, "{polls}");
    }

    #[test]
    fn outliers_do_not_stretch_the_plan() {
        let s = LearningSchedule::default();
        for secs in [60.0, 61.0, 59.0, 60.5, 59.5, 600.0, 3.0, 60.2] {
            s.record(&kind(), Duration::from_secs_f64(secs));
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
            s.record(&kind(), Duration::from_secs_f64(secs));
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
            s.record(&kind(), Duration::from_secs(60));
        }
        assert!(first_delay(&s, &kind()) < 62.0);
        // The service slows down to 90 s: after a history's worth of tasks the plan
        // starts near 90 s (all ends alike: the first query comes just after them).
        for _ in 0..HISTORY {
            s.record(&kind(), Duration::from_secs(90));
        }
        let first = first_delay(&s, &kind());
        assert!(first > 80.0 && first < 92.0, "{first}");
    }

    #[test]
    fn an_observed_end_is_remembered_in_the_gap_before_the_query_that_saw_it() {
        let s = LearningSchedule::default();
        for secs in [100.0, 110.0, 105.0, 102.0, 108.0] {
            s.record(&kind(), Duration::from_secs_f64(secs));
        }
        let plan = s.history.lock().unwrap()[&kind()].plan.clone();
        let (before, at) = (plan[2], plan[3]);
        // Seen finished by the fourth query, its answer 0.3 s after it was sent.
        s.observe(&kind(), Duration::from_secs_f64(at + 0.3));
        let (_, learned) = s.history().pop().unwrap();
        assert!(
            (learned.as_secs_f64() - (before + at) / 2.0).abs() < 1e-6,
            "{learned:?} not between {before} and {at}"
        );
        // Long past the plan: a little before it was seen, not at the plan's end.
        s.observe(&kind(), Duration::from_secs(300));
        let (_, learned) = s.history().pop().unwrap();
        assert!(
            (290.0..300.0).contains(&learned.as_secs_f64()),
            "{learned:?}"
        );
    }

    #[test]
    fn a_budget_caps_the_plan_and_the_default_grows_with_the_window() {
        let plan_len = |s: &LearningSchedule, spread: f64| {
            let kind = TaskKind {
                model_id: Some(format!("m{spread}")),
                ..TaskKind::default()
            };
            for i in 0..20 {
                let secs = 300.0 + spread * (i as f64 / 19.0 - 0.5);
                s.record(&kind, Duration::from_secs_f64(secs));
            }
            s.history.lock().unwrap()[&kind].plan.len()
        };
        let free = LearningSchedule::default();
        let (narrow, wide) = (plan_len(&free, 20.0), plan_len(&free, 200.0));
        assert!(wide > narrow, "{narrow} {wide}");
        let capped = LearningSchedule::default().budget(5);
        assert!(plan_len(&capped, 200.0) <= 5);
    }
}

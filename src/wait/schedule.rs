//! When to ask again: [`PollSchedule`], the delay between status queries of a running
//! task, and [`Backoff`], the default exponential schedule with jitter.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::task::kind::TaskKind;

/// Where a wait stands when the schedule is asked for the next delay.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PollContext<'a> {
    /// Status queries made so far in this wait (0 before the first).
    pub polls: u32,
    /// Time since the task was submitted (or since the wait began, for a task rebuilt
    /// from an id alone).
    pub since_submit: Duration,
    /// The kind of task.
    pub kind: &'a TaskKind,
}

impl<'a> PollContext<'a> {
    /// A context, for driving a schedule outside a real wait (simulations, tests).
    pub fn new(polls: u32, since_submit: Duration, kind: &'a TaskKind) -> Self {
        PollContext {
            polls,
            since_submit,
            kind,
        }
    }
}

/// How long to wait before each status query of a running task.
///
/// ```
/// use std::time::Duration;
/// use modellix::{PollContext, PollSchedule};
///
/// /// First query after 30 s (our tasks never finish sooner), then every 5 s.
/// #[derive(Debug)]
/// struct SlowStart;
///
/// impl PollSchedule for SlowStart {
///     fn delay(&self, ctx: &PollContext<'_>) -> Duration {
///         if ctx.polls == 0 { Duration::from_secs(30) } else { Duration::from_secs(5) }
///     }
/// }
///
/// # fn main() -> Result<(), modellix::ConfigError> {
/// let client = modellix::Client::builder()
///     .api_key("sk-example")
///     .poll_schedule(SlowStart)
///     .build()?;
/// # Ok(()) }
/// ```
pub trait PollSchedule: Send + Sync + fmt::Debug {
    /// For the first query (`ctx.polls == 0`): the time after *submission* at which to
    /// query (the wait subtracts what has already passed). For later queries: the
    /// delay after the previous query.
    fn delay(&self, ctx: &PollContext<'_>) -> Duration;

    /// Called when a task of `kind` is seen finished `took` after its submission by
    /// the first query of a wait that began at the submission (so the end came within
    /// the schedule's first gap). Schedules that learn override it.
    fn observe(&self, kind: &TaskKind, took: Duration) {
        let _ = (kind, took);
    }

    /// Called when a task of `kind` was seen still running `from` after its
    /// submission and seen finished at `to`: it ended somewhere in between. Only what
    /// a wait observed is reported; a wait that began late and saw the task finished
    /// at its first query reports nothing (the end may lie anywhere before). The
    /// default reports `to` through [`PollSchedule::observe`].
    fn observe_between(&self, kind: &TaskKind, from: Duration, to: Duration) {
        let _ = from;
        self.observe(kind, to);
    }

    /// Called with a run time a ledger kept from an earlier process (already the
    /// best estimate of when the task ended). The default hands it to
    /// [`PollSchedule::observe`].
    fn restore(&self, kind: &TaskKind, took: Duration) {
        self.observe(kind, took);
    }
}

/// Exponential backoff with proportional jitter: the default schedule (first query
/// about 2 s after submit, then ×1.5 up to 10 s), and the fixed-interval preset.
///
/// ```
/// use std::time::Duration;
/// use modellix::{Backoff, PollContext, PollSchedule, TaskKind};
///
/// let every_two_seconds = Backoff::fixed(Duration::from_secs(2)); // the official CLI's pace
/// let gentle = Backoff::new(Duration::from_secs(5), 2.0, Duration::from_secs(60)).jitter(0.1);
/// let kind = TaskKind::default();
/// assert_eq!(every_two_seconds.delay(&PollContext::new(7, Duration::ZERO, &kind)), Duration::from_secs(2));
/// let third = gentle.delay(&PollContext::new(2, Duration::ZERO, &kind));
/// assert!(third >= Duration::from_secs(18) && third <= Duration::from_secs(22));
/// ```
#[derive(Debug)]
pub struct Backoff {
    first: Duration,
    factor: f64,
    max: Duration,
    jitter: f64,
    rng: Mutex<fastrand::Rng>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_secs(2), 1.5, Duration::from_secs(10)).jitter(0.2)
    }
}

impl Backoff {
    /// `first`, then multiplied by `factor` per query, capped at `max`; no jitter.
    pub fn new(first: Duration, factor: f64, max: Duration) -> Self {
        Backoff {
            first,
            factor: factor.max(1.0),
            max: max.max(first),
            jitter: 0.0,
            rng: Mutex::new(fastrand::Rng::new()),
        }
    }

    /// Every `interval`, as Modellix's official CLI polls (2 s there).
    pub fn fixed(interval: Duration) -> Self {
        Backoff::new(interval, 1.0, interval)
    }

    /// Spreads each delay uniformly over ±`share` of itself (0.2 = ±20%), so tasks
    /// submitted together do not query together.
    pub fn jitter(mut self, share: f64) -> Self {
        self.jitter = share.clamp(0.0, 1.0);
        self
    }

    /// Makes the jitter reproducible.
    pub fn seeded(self, seed: u64) -> Self {
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = fastrand::Rng::with_seed(seed);
        self
    }

    /// The delay before jitter for query number `polls`.
    pub(crate) fn base(&self, polls: u32) -> Duration {
        let grown = self.first.as_secs_f64() * self.factor.powi(polls.min(64) as i32);
        // Saturating: a huge first delay or factor must not panic (NaN reads as max).
        let capped = grown.min(self.max.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(self.max)
    }

    pub(crate) fn jittered(&self, base: Duration) -> Duration {
        if self.jitter == 0.0 {
            return base;
        }
        let unit = self.rng.lock().unwrap_or_else(|e| e.into_inner()).f64();
        let scale = (1.0 + self.jitter * (2.0 * unit - 1.0)).max(0.0);
        Duration::try_from_secs_f64(base.as_secs_f64() * scale).unwrap_or(Duration::MAX)
    }
}

impl PollSchedule for Backoff {
    fn delay(&self, ctx: &PollContext<'_>) -> Duration {
        self.jittered(self.base(ctx.polls))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(polls: u32, kind: &TaskKind) -> PollContext<'_> {
        PollContext::new(polls, Duration::ZERO, kind)
    }

    #[test]
    fn default_schedule_grows_by_half_to_ten_seconds() {
        let kind = TaskKind::default();
        let b = Backoff::new(Duration::from_secs(2), 1.5, Duration::from_secs(10));
        let got: Vec<f64> = (0..6)
            .map(|p| b.delay(&ctx(p, &kind)).as_secs_f64())
            .collect();
        assert_eq!(got, [2.0, 3.0, 4.5, 6.75, 10.0, 10.0]);
    }

    #[test]
    fn jitter_stays_within_its_share_and_spreads() {
        let kind = TaskKind::default();
        let b = Backoff::default().seeded(7);
        let delays: Vec<Duration> = (0..200).map(|_| b.delay(&ctx(0, &kind))).collect();
        assert!(
            delays
                .iter()
                .all(|d| *d >= Duration::from_millis(1600) && *d <= Duration::from_millis(2400))
        );
        let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
        assert!(distinct.len() > 150);
    }

    #[test]
    fn extreme_settings_never_panic() {
        let kind = TaskKind::default();
        for backoff in [
            Backoff::new(Duration::MAX, 1e300, Duration::MAX).jitter(1.0),
            Backoff::new(Duration::MAX, f64::NAN, Duration::MAX),
            Backoff::new(Duration::ZERO, f64::INFINITY, Duration::MAX).jitter(5.0),
            Backoff::fixed(Duration::MAX).jitter(0.9),
        ] {
            for polls in [0, 1, 2, 63, 64, u32::MAX] {
                let _ = backoff.delay(&ctx(polls, &kind));
            }
        }
    }

    #[test]
    fn fixed_is_fixed() {
        let kind = TaskKind::default();
        let b = Backoff::fixed(Duration::from_secs(2));
        assert!((0..10).all(|p| b.delay(&ctx(p, &kind)) == Duration::from_secs(2)));
    }
}

//! Polling and retry policies: when to ask again, and what to do when asking fails.
//!
//! Two small traits in the spirit of google-cloud-rust's polling policies:
//! [`PollSchedule`] says how long to wait between status queries of a running task;
//! [`RetryPolicy`] says how to retry one failed query (network error, 408, 429, 5xx).
//! The deadline is separate ([`WaitOptions`]) and bounds both.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// What kind of task is being waited for: the model and the request fields that drive
/// its run time. Schedules that learn use it as their key.
///
/// Which fields count comes from the model's rules file in `spec/` (`runtime_fields`),
/// not from code: `duration` and `resolution` for Seedance, `n` and `size` for an
/// image model, none for a model without such fields.
///
/// ```
/// let kind = modellix::TaskKind::of_request(
///     "bytedance/seedance-2.0-v2v",
///     &serde_json::json!({"prompt": "…", "duration": 8, "resolution": "1080p"}),
/// );
/// assert_eq!(kind.param("duration"), Some("8"));
/// assert_eq!(kind.param("resolution"), Some("\"1080p\""));
/// assert_eq!(kind.param("prompt"), None); // not a run-time field
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskKind {
    /// `provider/model`, when known.
    pub model_id: Option<String>,
    /// The run-time fields the request set, by wire name, each value as JSON text.
    pub params: BTreeMap<String, String>,
}

impl TaskKind {
    /// The kind of a request body of `model_id`: the run-time fields its rules file
    /// names, as far as the body sets them. A model that is not vendored keys on its id
    /// alone.
    pub fn of_request(model_id: &str, body: &serde_json::Value) -> TaskKind {
        let fields = crate::schema::operation::Operation::for_model(model_id)
            .map_or(&[][..], |op| op.runtime_fields);
        TaskKind::of_fields(model_id, fields, body)
    }

    /// The kind of a request body of `model_id` whose run-time fields are `fields`
    /// (the operation already known: no search of the table).
    pub(crate) fn of_fields(model_id: &str, fields: &[&str], body: &serde_json::Value) -> TaskKind {
        TaskKind {
            model_id: Some(model_id.to_owned()),
            params: fields
                .iter()
                .filter_map(|f| Some(((*f).to_owned(), body.get(*f)?.to_string())))
                .collect(),
        }
    }

    /// A run-time field's value as JSON text (`8`, `"1080p"`), if the request set it.
    pub fn param(&self, field: &str) -> Option<&str> {
        self.params.get(field).map(String::as_str)
    }
}

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

    /// Called when a task of `kind` is seen finished `took` after its submission,
    /// first seen by the `polls`-th query. Schedules that learn override it.
    fn observe(&self, kind: &TaskKind, took: Duration) {
        let _ = (kind, took);
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
    fn base(&self, polls: u32) -> Duration {
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

/// How to retry one failed status query within a wait.
///
/// ```
/// use std::time::Duration;
/// use modellix::RetryPolicy;
///
/// /// Retry twice, one second apart, unless the server asks for longer.
/// #[derive(Debug)]
/// struct TwiceQuickly;
///
/// impl RetryPolicy for TwiceQuickly {
///     fn retry_delay(&self, attempt: u32, hint: Option<Duration>) -> Option<Duration> {
///         (attempt < 3).then(|| hint.unwrap_or(Duration::from_secs(1)).max(Duration::from_secs(1)))
///     }
/// }
///
/// # fn main() -> Result<(), modellix::ConfigError> {
/// let client = modellix::Client::builder().api_key("sk-example").retry_policy(TwiceQuickly).build()?;
/// # Ok(()) }
/// ```
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// After the `attempt`-th failed attempt (1-based) of one query, the delay before
    /// the next attempt, or `None` to end this round (the wait then goes on with its
    /// schedule until the deadline). `hint` is the server's `Retry-After` or
    /// `X-RateLimit-Reset`, when it sent one.
    fn retry_delay(&self, attempt: u32, hint: Option<Duration>) -> Option<Duration>;
}

/// Up to `attempts` tries per query with exponential backoff (0.5 s ×2 to 8 s by
/// default); a server hint replaces the computed delay.
#[derive(Debug)]
pub struct ExponentialRetry {
    attempts: u32,
    backoff: Backoff,
}

impl Default for ExponentialRetry {
    fn default() -> Self {
        ExponentialRetry::new(4)
    }
}

impl ExponentialRetry {
    /// `attempts` tries per query in total (1 = no retries).
    pub fn new(attempts: u32) -> Self {
        ExponentialRetry {
            attempts: attempts.max(1),
            backoff: Backoff::new(Duration::from_millis(500), 2.0, Duration::from_secs(8))
                .jitter(0.2),
        }
    }
}

impl RetryPolicy for ExponentialRetry {
    fn retry_delay(&self, attempt: u32, hint: Option<Duration>) -> Option<Duration> {
        if attempt >= self.attempts {
            return None;
        }
        Some(hint.unwrap_or_else(|| {
            self.backoff
                .jittered(self.backoff.base(attempt.saturating_sub(1)))
        }))
    }
}

/// Per-wait settings.
///
/// ```
/// use std::time::Duration;
/// use modellix::WaitOptions;
///
/// # fn main() -> Result<(), modellix::ConfigError> {
/// let client = modellix::Client::builder()
///     .api_key("sk-example")
///     .wait_options(WaitOptions::deadline(Duration::from_secs(1800)).with_concurrency(64))
///     .build()?;
/// assert_eq!(WaitOptions::default().deadline, Some(Duration::from_secs(600)));
/// assert_eq!(WaitOptions::forever().deadline, None);
/// assert_eq!(WaitOptions::default().queries_in_flight, 64);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long (default 10 minutes); `None` waits forever.
    pub deadline: Option<Duration>,
    /// Tasks waited for at once by `wait_all` (default 32).
    pub concurrency: usize,
    /// Status queries the client's waits have in flight at once, all waits together
    /// (default 64); a query due while all are busy waits its turn. Each query in
    /// flight holds a connection and its buffers, so this bounds a client's memory
    /// however many tasks it waits for. Read once, from the options given to
    /// [`ClientBuilder::wait_options`](crate::client::ClientBuilder::wait_options); the
    /// options of a single wait do not change it.
    pub queries_in_flight: usize,
}

/// Default [`WaitOptions::queries_in_flight`]: far above what Modellix's rate limit
/// lets a key use, small enough that 10,000 waits fit in well under 200 MB.
const QUERIES_IN_FLIGHT: usize = 64;

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            deadline: Some(Duration::from_secs(600)),
            concurrency: 32,
            queries_in_flight: QUERIES_IN_FLIGHT,
        }
    }
}

impl WaitOptions {
    /// The defaults with another deadline.
    pub fn deadline(deadline: Duration) -> Self {
        WaitOptions {
            deadline: Some(deadline),
            ..WaitOptions::default()
        }
    }

    /// Waits until the task finishes, however long it takes. Modellix has no cancel
    /// endpoint: a task that never finishes keeps this wait alive.
    pub fn forever() -> Self {
        WaitOptions {
            deadline: None,
            ..WaitOptions::default()
        }
    }

    /// The same options with `concurrency` waits at a time for `wait_all` and
    /// `wait_each` (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The same options with at most `queries` status queries in flight at once, over
    /// all the client's waits (at least one; see [`WaitOptions::queries_in_flight`]).
    ///
    /// ```
    /// use modellix::WaitOptions;
    ///
    /// # fn main() -> Result<(), modellix::ConfigError> {
    /// // 10,000 tasks waited for together, 256 queries at a time.
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .wait_options(WaitOptions::default().with_concurrency(10_000).with_queries_in_flight(256))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn with_queries_in_flight(mut self, queries: usize) -> Self {
        self.queries_in_flight = queries.max(1);
        self
    }
}

/// Statuses worth another try of a read: timeouts, rate limits, server trouble.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Longest server hint honoured; a larger one is treated as this, so a bogus header
/// cannot park a client for days.
const MAX_HINT: Duration = Duration::from_secs(3600);

/// The server's wait hint: `Retry-After` (seconds or an HTTP date), else
/// `X-RateLimit-Reset` (a Unix time in seconds, or seconds from now when small).
/// Capped at one hour. Takes `http::HeaderMap` (http 1.x), the header type reqwest,
/// hyper and axum share, so any of their answers can be read.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let mut headers = http::HeaderMap::new();
/// headers.insert("retry-after", "7".parse().unwrap());
/// assert_eq!(modellix::retry_after(&headers, SystemTime::now()), Some(Duration::from_secs(7)));
/// ```
pub fn retry_after(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let hint = if let Some(value) = text("retry-after") {
        match value.parse::<u64>() {
            Ok(secs) => Some(Duration::from_secs(secs)),
            Err(_) => httpdate::parse_http_date(value)
                .ok()
                .map(|at| at.duration_since(now).unwrap_or_default()),
        }
    } else if let Some(value) = text("x-ratelimit-reset") {
        let secs = value
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)?;
        // Unix times are large; small values are deltas, as some gateways send.
        if secs > 1e9 {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs.min(1e12));
            Some(at.duration_since(now).unwrap_or_default())
        } else {
            Some(Duration::from_secs_f64(secs))
        }
    } else {
        None
    };
    hint.map(|h| h.min(MAX_HINT))
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

    #[test]
    fn retry_rounds_end_and_hints_win() {
        let r = ExponentialRetry::new(3);
        assert!(r.retry_delay(1, None).is_some());
        assert_eq!(
            r.retry_delay(2, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(r.retry_delay(3, None), None);
    }

    #[test]
    fn server_hints_are_parsed_in_every_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let table: &[(&str, &str, Option<u64>)] = &[
            ("retry-after", "5", Some(5)),
            ("retry-after", " 0 ", Some(0)),
            (
                "retry-after",
                &httpdate::fmt_http_date(now + Duration::from_secs(30)),
                Some(30),
            ),
            (
                "retry-after",
                &httpdate::fmt_http_date(now - Duration::from_secs(30)),
                Some(0),
            ),
            ("retry-after", "soon", None),
            ("retry-after", "999999999", Some(3600)),
            ("x-ratelimit-reset", "1800000012", Some(12)),
            ("x-ratelimit-reset", "1799999990", Some(0)),
            ("x-ratelimit-reset", "3", Some(3)),
            ("x-ratelimit-reset", "-4", None),
            ("x-ratelimit-reset", "NaN", None),
        ];
        for (name, value, want) in table {
            let mut h = http::HeaderMap::new();
            h.insert(*name, value.parse().unwrap());
            assert_eq!(
                retry_after(&h, now),
                want.map(Duration::from_secs),
                "{name}: {value}"
            );
        }
        assert_eq!(retry_after(&http::HeaderMap::new(), now), None);
    }
}

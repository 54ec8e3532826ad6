//! What to do when a read fails: [`RetryPolicy`] (how often and how long apart),
//! which statuses are worth another try, and the server's wait hints.
//!
//! Paid POSTs and uploads never come here: only reads are retried.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::wait::schedule::Backoff;

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

/// One round of attempts of a read under a [`RetryPolicy`] and an optional deadline:
/// the one retry path of every kind of read (status queries, platform reads), so the
/// user's policy decides them all.
///
/// ```text
/// let mut round = RetryRound::new(&*shared.retry, deadline);
/// loop {
///     let attempt = round.next_attempt();
///     match read(attempt).await {
///         Ok(x) => return Ok(x),
///         Err(Retryable { error, hint }) if round.pause(hint).await => continue,
///         Err(e) => return Err(e),   // the round ended: the last error
///     }
/// }
/// ```
pub(crate) struct RetryRound<'p> {
    policy: &'p dyn RetryPolicy,
    deadline: Option<tokio::time::Instant>,
    attempt: u32,
}

impl<'p> RetryRound<'p> {
    pub(crate) fn new(policy: &'p dyn RetryPolicy, deadline: Option<tokio::time::Instant>) -> Self {
        RetryRound {
            policy,
            deadline,
            attempt: 0,
        }
    }

    /// The number (1-based) of the attempt about to be made.
    pub(crate) fn next_attempt(&mut self) -> u32 {
        self.attempt = self.attempt.saturating_add(1);
        self.attempt
    }

    /// After a failed attempt: sleeps as the policy says (never past the deadline)
    /// and returns true when another attempt is due; false when the policy ended the
    /// round or the deadline passed.
    pub(crate) async fn pause(&mut self, hint: Option<Duration>) -> bool {
        let past = |deadline: Option<tokio::time::Instant>| {
            deadline.is_some_and(|d| tokio::time::Instant::now() >= d)
        };
        if past(self.deadline) {
            return false;
        }
        let Some(pause) = self.policy.retry_delay(self.attempt.max(1), hint) else {
            return false;
        };
        let mut at = crate::time::after(pause);
        if let Some(deadline) = self.deadline {
            at = at.min(deadline);
        }
        tokio::time::sleep_until(at).await;
        !past(self.deadline)
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

    #[tokio::test(start_paused = true)]
    async fn a_round_follows_its_policy_and_stops_at_the_deadline() {
        use tokio::time::Instant;
        let policy = ExponentialRetry::new(3);
        let mut round = RetryRound::new(&policy, None);
        assert_eq!(round.next_attempt(), 1);
        assert!(round.pause(Some(Duration::from_secs(2))).await);
        assert_eq!(round.next_attempt(), 2);
        assert!(round.pause(None).await);
        assert_eq!(round.next_attempt(), 3);
        assert!(!round.pause(None).await, "three attempts in all");

        let start = Instant::now();
        let deadline = start + Duration::from_secs(5);
        let mut round = RetryRound::new(&policy, Some(deadline));
        round.next_attempt();
        // A hint past the deadline: the pause is cut to it and the round ends.
        assert!(!round.pause(Some(Duration::from_secs(60))).await);
        assert_eq!(Instant::now(), deadline);
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

//! Client-wide pacing of every request (submits, polls, uploads), so a key stays under
//! Modellix's limit of requests per minute instead of discovering it through 429s.
//!
//! A token bucket sized from the server's own numbers (`X-RateLimit-Limit`,
//! `-Remaining`, `-Reset`) once an answer carried them, 100 a minute before that. A 429
//! or an exhausted budget pauses every request of the client, for at most
//! `max_pause`; every sleep is followed by a fresh look at the state, so a pause that
//! was shortened or lifted is honoured at once.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Modellix's documented per-key limit, assumed until an answer says otherwise.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 100;
/// Longest client-wide pause a server hint can cause by default.
pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Pace by the bucket (false: only 429 pauses apply).
    pacing: bool,
    /// Whether one request's 429 pauses the others.
    shared_pause: bool,
    max_pause: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    paused_until: Option<Instant>,
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    /// `per_minute`: `None` turns pacing off (429 pauses still apply when shared).
    pub(crate) fn new(per_minute: Option<u32>, shared_pause: bool, max_pause: Duration) -> Self {
        let rate = f64::from(per_minute.unwrap_or(DEFAULT_REQUESTS_PER_MINUTE).max(1));
        RateLimiter {
            pacing: per_minute.is_some(),
            shared_pause,
            max_pause,
            state: Mutex::new(State {
                paused_until: None,
                tokens: rate,
                capacity: rate,
                per_sec: rate / 60.0,
                refilled_at: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a request slot; false when `deadline` came first (no slot taken).
    pub(crate) async fn acquire(&self, deadline: Option<Instant>) -> bool {
        loop {
            let wake = {
                let mut state = self.lock();
                let now = Instant::now();
                match state.paused_until {
                    Some(until) if until > now => Some(until),
                    _ => {
                        state.paused_until = None;
                        if !self.pacing {
                            return true;
                        }
                        state.refill(now);
                        if state.tokens >= 1.0 {
                            state.tokens -= 1.0;
                            return true;
                        }
                        let missing = 1.0 - state.tokens;
                        Some(now + Duration::from_secs_f64((missing / state.per_sec).min(60.0)))
                    }
                }
            };
            let Some(wake) = wake else { return true };
            match deadline {
                Some(deadline) if deadline <= wake => {
                    tokio::time::sleep_until(deadline).await;
                    return false;
                }
                _ => tokio::time::sleep_until(wake).await,
            }
        }
    }

    /// Learns from an answer's headers; a 429 pauses the client.
    pub(crate) fn observe(&self, status: u16, headers: &http::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        let limit = number("x-ratelimit-limit").filter(|l| *l >= 1.0);
        let remaining = number("x-ratelimit-remaining");
        let hint = crate::poll::retry_after(headers, SystemTime::now());
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(limit) = limit {
            state.refill(now);
            state.capacity = limit;
            state.per_sec = limit / 60.0;
            state.tokens = state.tokens.min(limit);
        }
        if let Some(remaining) = remaining {
            state.refill(now);
            state.tokens = state.tokens.min(remaining);
            if remaining < 1.0
                && let Some(hint) = hint
            {
                self.pause(&mut state, now, hint);
            }
        }
        if status == 429 && self.shared_pause {
            self.pause(&mut state, now, hint.unwrap_or(Duration::from_secs(1)));
        }
    }

    fn pause(&self, state: &mut State, now: Instant, pause: Duration) {
        if !self.shared_pause {
            return;
        }
        let until = crate::time::later(now, pause.min(self.max_pause));
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
        if self.pacing {
            state.tokens = state.tokens.min(0.0);
        }
    }
}

impl State {
    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.refilled_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_is_capped_and_rechecked() {
        let limiter = RateLimiter::new(None, true, Duration::from_secs(60));
        limiter.observe(429, &headers(&[("retry-after", "3600")]));
        let start = Instant::now();
        assert!(limiter.acquire(None).await);
        assert_eq!(start.elapsed().as_secs(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_follows_the_servers_numbers() {
        let limiter = RateLimiter::new(Some(100), true, Duration::from_secs(60));
        limiter.observe(
            200,
            &headers(&[("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "2")]),
        );
        let start = Instant::now();
        for _ in 0..4 {
            assert!(limiter.acquire(None).await);
        }
        // Two immediately, then one a second.
        assert_eq!(start.elapsed().as_secs(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_ends_the_wait_without_a_slot() {
        let limiter = RateLimiter::new(None, true, Duration::from_secs(60));
        limiter.observe(429, &headers(&[("retry-after", "30")]));
        let deadline = Instant::now() + Duration::from_secs(5);
        assert!(!limiter.acquire(Some(deadline)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn unshared_limiters_never_pause() {
        let limiter = RateLimiter::new(None, false, Duration::from_secs(60));
        limiter.observe(429, &headers(&[("retry-after", "30")]));
        let start = Instant::now();
        assert!(limiter.acquire(None).await);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

//! Client-wide pacing of every request (submits, polls, uploads), so a key stays under
//! Modellix's limit of requests per minute instead of discovering it through 429s.
//!
//! A token bucket sized from the server's own numbers (`X-RateLimit-Limit`,
//! `-Remaining`) once an answer carried them, 100 a minute before that. Every request
//! holds a [`Permit`] from the moment it takes a token until its answer, so the
//! requests in flight count against the budget: an answer's `Remaining` is corrected
//! by every request that may have reached the server after it (sent after it, or still
//! unanswered when it was sent), which is what keeps a burst from overshooting before
//! the headers arrive. A margin (a share of the rate and a few requests) stays unused,
//! so requests that arrive closer together than they were sent still find tokens.
//!
//! Requests short of a token wait in line, each sleeping until the refill should reach
//! its place, so they go in order and spread out without waking one another.
//!
//! A 429 or an exhausted budget pauses every request of the client, for at most
//! `max_pause`; every sleep is followed by a fresh look at the state, so a pause that
//! was shortened or lifted is honoured at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::ledger::shared_rate::{RateGate, SharedRate};

/// Modellix's documented per-key limit, assumed until an answer says otherwise.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 100;
/// Longest client-wide pause a server hint can cause by default.
pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(60);
/// The window the server's per-minute numbers refer to: a real minute.
pub(crate) const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(60);
/// Share of the key's rate the client leaves unused by default.
pub(crate) const DEFAULT_RATE_MARGIN: f64 = 0.05;
/// Requests of the server's budget the client never plans to take, by default.
pub(crate) const DEFAULT_RATE_RESERVE: u32 = 2;

/// How the limiter reads the server's numbers and how much of them it leaves unused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RateSettings {
    /// The length of the server's "minute" (shorter against a time-scaled sandbox).
    pub(crate) window: Duration,
    /// Share of the rate left unused, in `[0, 0.9]`.
    pub(crate) margin: f64,
    /// Requests of the server's bucket never planned for.
    pub(crate) reserve: u32,
}

impl Default for RateSettings {
    fn default() -> Self {
        RateSettings {
            window: DEFAULT_RATE_WINDOW,
            margin: DEFAULT_RATE_MARGIN,
            reserve: DEFAULT_RATE_RESERVE,
        }
    }
}

impl RateSettings {
    /// Out-of-range values are brought into range rather than refused: a limiter
    /// must never be the reason a client cannot be built.
    fn sane(self) -> RateSettings {
        let window = if self.window.is_zero() {
            Duration::from_millis(1)
        } else {
            self.window
        };
        let margin = if self.margin.is_finite() {
            self.margin.clamp(0.0, 0.9)
        } else {
            DEFAULT_RATE_MARGIN
        };
        RateSettings {
            window,
            margin,
            reserve: self.reserve,
        }
    }
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Pace by the bucket (false: only 429 pauses apply).
    pacing: bool,
    /// Whether one request's 429 pauses the others.
    shared_pause: bool,
    max_pause: Duration,
    settings: RateSettings,
    state: Mutex<State>,
    /// Wakes the requests in line when the bucket's size or rate changes (rare: the
    /// first answer, a new limit), so that none sleeps on a stale refill time.
    changed: tokio::sync::Notify,
    /// The budget shared with other instances, when the ledger holds one.
    gate: Option<Arc<dyn RateGate>>,
}

#[derive(Debug)]
struct State {
    paused_until: Option<Instant>,
    /// Requests that may be sent now: the server's tokens as best known, less the
    /// reserve and less every request sent since that was not yet counted there.
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    refilled_at: Instant,
    /// Permits handed out so far (the next permit's sequence number).
    issued: u64,
    /// Permits alive: requests sent (or about to be) without an answer yet.
    in_flight: u64,
    /// The newest permit whose answer set `tokens` (0: none yet).
    newest_applied: u64,
    /// Places in line handed out so far (the next one's ticket).
    tickets: u64,
    /// Places in line given up so far (served, timed out or cancelled).
    left: u64,
}

/// A request's place in line, from joining until it leaves (served, deadline passed
/// or cancelled).
struct Place<'a> {
    limiter: &'a RateLimiter,
    /// Order of joining: requests with a smaller ticket are ahead.
    ticket: u64,
}

impl<'a> Place<'a> {
    fn join(limiter: &'a RateLimiter, state: &mut State) -> Self {
        let ticket = state.tickets;
        state.tickets += 1;
        Place { limiter, ticket }
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.limiter.lock().left += 1;
    }
}

/// One request's claim on the budget, from its token until its answer.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a RateLimiter,
    /// 1-based order in which permits were handed out.
    seq: u64,
    /// Requests without an answer when this one was sent: they may reach the server
    /// after it, so its answer's `Remaining` may not count them yet.
    unanswered_before: u64,
    /// Set once [`RateLimiter::observe`] has counted the answer.
    answered: bool,
}

impl Drop for Permit<'_> {
    // A request that ends without an answer (no connection, cancelled) stops counting.
    fn drop(&mut self) {
        if !self.answered {
            self.limiter.lock().in_flight -= 1;
        }
    }
}

impl Permit<'_> {
    /// Gives the token back: the request was never sent (a submit that found none of
    /// the team's slots free), so it spent nothing of the server's budget.
    pub(crate) fn unused(mut self) {
        let limiter = self.limiter;
        let mut state = limiter.lock();
        self.answered = true;
        state.in_flight -= 1;
        if limiter.pacing {
            state.tokens = (state.tokens + 1.0).min(state.cap());
        }
        drop(state);
        limiter.changed.notify_waiters();
    }
}

impl RateLimiter {
    /// `per_minute`: `None` turns pacing off (429 pauses still apply when shared).
    pub(crate) fn new(
        per_minute: Option<u32>,
        shared_pause: bool,
        max_pause: Duration,
        settings: RateSettings,
    ) -> Self {
        let settings = settings.sane();
        let rate = f64::from(per_minute.unwrap_or(DEFAULT_REQUESTS_PER_MINUTE).max(1));
        let (capacity, per_sec) = settings.bucket(rate);
        RateLimiter {
            pacing: per_minute.is_some(),
            shared_pause,
            max_pause,
            settings,
            changed: tokio::sync::Notify::new(),
            gate: None,
            state: Mutex::new(State {
                paused_until: None,
                tokens: capacity,
                capacity,
                per_sec,
                refilled_at: Instant::now(),
                issued: 0,
                in_flight: 0,
                newest_applied: 0,
                tickets: 0,
                left: 0,
            }),
        }
    }

    /// The same limiter, also passing every request through `gate` (when it paces).
    pub(crate) fn with_gate(mut self, gate: Arc<dyn RateGate>) -> Self {
        self.gate = self.pacing.then_some(gate);
        self
    }

    /// The key's budget as this client knows it, for the shared gate.
    fn shared_rate(&self) -> SharedRate {
        let state = self.lock();
        let interval =
            Duration::from_secs_f64(1.0 / state.per_sec.max(1e-6)).min(self.settings.window);
        SharedRate::new(interval, state.capacity as u32)
    }

    /// Waits for a request slot, then for the shared budget when there is one;
    /// `None` when `deadline` came first (nothing taken).
    pub(crate) async fn acquire(&self, deadline: Option<Instant>) -> Option<Permit<'_>> {
        let permit = self.acquire_local(deadline).await?;
        let Some(gate) = &self.gate else {
            return Some(permit);
        };
        loop {
            let wait = gate.admit(self.shared_rate()).await;
            if wait.is_zero() {
                return Some(permit);
            }
            let wake = crate::time::later(Instant::now(), wait.min(self.settings.window));
            if deadline.is_some_and(|deadline| deadline <= wake) {
                permit.unused();
                return None;
            }
            tokio::time::sleep_until(wake).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a request slot; `None` when `deadline` came first (no slot taken).
    /// Hold the permit until the answer is in, then pass it to [`RateLimiter::observe`].
    ///
    /// Requests short of a token take a place in line and each sleeps until the bucket
    /// should hold a token for it and for everyone ahead of it, so they wake spread out
    /// in their order instead of all together, and none waits for another to be woken
    /// first (a handoff per request through a busy runtime paced the client well below
    /// the bucket).
    async fn acquire_local(&self, deadline: Option<Instant>) -> Option<Permit<'_>> {
        let place = {
            let mut state = self.lock();
            let now = Instant::now();
            // At once when there are tokens for everyone in line too.
            let everyone = state.ahead_of(state.tickets);
            if let Some(permit) = self.try_take(&mut state, now, everyone) {
                return Some(permit);
            }
            Place::join(self, &mut state)
        };
        loop {
            // Registered before the state is read, so a change made after it is not
            // missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wake = {
                let mut state = self.lock();
                let now = Instant::now();
                let ahead = state.ahead_of(place.ticket);
                if let Some(permit) = self.try_take(&mut state, now, ahead) {
                    return Some(permit);
                }
                match state.paused_until {
                    Some(until) if until > now => until,
                    _ => {
                        // When the refill covers this request and those ahead of it;
                        // far back in line, half that, then a fresh look: some ahead
                        // may give up their place meanwhile.
                        let missing = 1.0 + ahead as f64 - state.tokens;
                        let missing = if missing > 1.0 {
                            missing / 2.0
                        } else {
                            missing
                        };
                        let wait =
                            (missing / state.per_sec).min(self.settings.window.as_secs_f64());
                        now + Duration::from_secs_f64(wait.max(0.0))
                    }
                }
            };
            let (wake, gives_up) = match deadline {
                Some(deadline) if deadline <= wake => (deadline, true),
                _ => (wake, false),
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {
                    if gives_up {
                        return None;
                    }
                }
                // The bucket was resized: every sleeper's time is wrong.
                () = &mut changed => {}
            }
        }
    }

    /// A permit now when no pause holds and the bucket has a token beyond the `ahead`
    /// that requests before this one will take.
    fn try_take(&self, state: &mut State, now: Instant, ahead: u64) -> Option<Permit<'_>> {
        if state.paused_until.is_some_and(|until| until > now) {
            return None;
        }
        state.paused_until = None;
        if self.pacing {
            state.refill(now);
            if state.tokens < 1.0 + ahead as f64 {
                return None;
            }
            state.tokens -= 1.0;
        }
        Some(state.permit(self))
    }

    /// Learns from the answer to `permit`'s request; a 429 pauses the client.
    pub(crate) fn observe(&self, mut permit: Permit<'_>, status: u16, headers: &http::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        let limit = number("x-ratelimit-limit").filter(|l| *l >= 1.0);
        let remaining = number("x-ratelimit-remaining");
        let hint = crate::transport::retry::retry_after(headers, SystemTime::now());
        let now = Instant::now();
        let mut state = self.lock();
        permit.answered = true;
        state.in_flight -= 1;
        state.refill(now);
        let mut resized = false;
        if let Some(limit) = limit {
            let (capacity, per_sec) = self.settings.bucket(limit);
            resized = (capacity, per_sec) != (state.capacity, state.per_sec);
            state.capacity = capacity;
            state.per_sec = per_sec;
            state.tokens = state.tokens.min(state.cap());
        }
        if let Some(remaining) = remaining {
            // Every request that may have reached the server after this one.
            let later = state.issued - permit.seq + permit.unanswered_before;
            let estimate = remaining.floor() - later as f64 - f64::from(self.settings.reserve);
            if permit.seq > state.newest_applied {
                // The freshest news of the server's bucket: it corrects a wrong guess
                // either way.
                state.newest_applied = permit.seq;
                state.tokens = estimate.min(state.cap());
            } else if status == 429 {
                state.tokens = state.tokens.min(estimate);
            }
            if !self.pacing
                && remaining < 1.0
                && let Some(hint) = hint
            {
                self.pause(&mut state, now, hint);
            }
        }
        let mut push_back = None;
        if status == 429 && self.shared_pause {
            let pause = hint.unwrap_or(Duration::from_secs(1));
            self.pause(&mut state, now, pause);
            push_back = Some(pause.min(self.max_pause));
        }
        drop(state);
        drop(permit);
        // Every other instance holds back too: the server's budget is the key's.
        if let (Some(pause), Some(gate)) = (push_back, &self.gate)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let gate = Arc::clone(gate);
            let rate = self.shared_rate();
            runtime.spawn(async move { gate.push_back(pause, rate).await });
        }
        if resized {
            self.changed.notify_waiters();
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

impl RateSettings {
    /// The client's bucket for a server allowing `per_window` requests a window:
    /// its capacity and refill per second, both less the margin.
    fn bucket(&self, per_window: f64) -> (f64, f64) {
        let usable = per_window * (1.0 - self.margin);
        let capacity = (usable - f64::from(self.reserve)).floor().max(1.0);
        (capacity, usable / self.window.as_secs_f64())
    }
}

impl State {
    fn refill(&mut self, now: Instant) {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.cap());
        self.refilled_at = now;
    }

    /// The most the client may hold: its bucket less the requests in flight, which
    /// the server may not have counted yet (so that a long wait for answers does not
    /// refill tokens the server will not have).
    fn cap(&self) -> f64 {
        self.capacity - self.in_flight as f64
    }

    /// How many in line are ahead of `ticket`: those who joined before it, less as
    /// many as have left the line (leaving is mostly in order; where it is not, a
    /// request may go a little early, never late).
    fn ahead_of(&self, ticket: u64) -> u64 {
        ticket.saturating_sub(self.left)
    }

    fn permit<'a>(&mut self, limiter: &'a RateLimiter) -> Permit<'a> {
        self.issued += 1;
        let unanswered_before = self.in_flight;
        self.in_flight += 1;
        Permit {
            limiter,
            seq: self.issued,
            unanswered_before,
            answered: false,
        }
    }
}

#[cfg(test)]
mod tests;

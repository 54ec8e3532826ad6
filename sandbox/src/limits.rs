//! Modellix's limits: requests per minute per key (a token bucket, polls included) and
//! the team's running-task limit, with their 429 answers and the `X-RateLimit-*`
//! headers on every API answer.
//!
//! A layer in front of the router, so the routes know nothing about it: a request over
//! a limit is answered here and never reaches its handler (nothing is created).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use modellix::Operation;
use serde_json::json;

use crate::answer::{Answer, AnswerBody};
use crate::config::{Limits, SandboxConfig};
use crate::state::Shared;

/// The real window of a per-minute limit.
const MINUTE: Duration = Duration::from_secs(60);

/// Requests refused by the limits so far; see
/// [`Sandbox::limit_rejections`](crate::Sandbox::limit_rejections).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitRejections {
    /// 429 "Rate limit exceeded": the key's requests per minute were used up.
    pub rate: u64,
    /// 429 "Concurrent limit exceeded": the team's running tasks were at the limit.
    pub concurrency: u64,
}

impl LimitRejections {
    /// Both kinds together.
    pub fn total(&self) -> u64 {
        self.rate + self.concurrency
    }
}

/// Builder options for the limits.
impl SandboxConfig {
    /// Requests per minute per API key, polls included, as a token bucket that holds
    /// `rpm` requests and refills at `rpm` a minute (Modellix: 100). Over it, requests
    /// get 429 `"Rate limit exceeded: …"` with `Retry-After`. Every API answer carries
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` once this is
    /// set. Default: no limit. `0` refuses every request.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let sandbox = modellix_sandbox::Sandbox::builder()
    ///     .rpm(100)
    ///     .concurrency_limit(3)
    ///     .time_scale(0.01) // a "minute" of the rate limit lasts 0.6 s
    ///     .start()
    ///     .await?;
    /// assert_eq!(sandbox.limit_rejections().total(), 0);
    /// # Ok(()) }
    /// ```
    pub fn rpm(mut self, rpm: u32) -> Self {
        self.limits.rpm = Some(rpm);
        self
    }

    /// Tasks that may run at once (created and not finished), for the whole sandbox as
    /// for a Modellix team (typically 3). One more submit gets 429
    /// `"Concurrent limit exceeded: …"` and creates nothing. Default: no limit. `0`
    /// refuses every submit.
    pub fn concurrency_limit(mut self, tasks: u32) -> Self {
        self.limits.concurrency = Some(tasks);
        self
    }

    /// Scales the clock of the limits: `0.01` makes the rate limit's minute last
    /// 0.6 s, so tests at Modellix's limits run in seconds. Task durations are set by
    /// [`Timing`](crate::Timing). Values that are not positive and finite are ignored
    /// (default 1.0).
    pub fn time_scale(mut self, scale: f64) -> Self {
        if scale.is_finite() && scale > 0.0 {
            self.limits.time_scale = scale;
        }
        self
    }
}

/// The state of the limits of one sandbox.
pub(crate) struct Limiter {
    limits: Limits,
    shared: Arc<Shared>,
    submit_paths: HashSet<&'static str>,
    /// Every operation, to tell a generic submit from another operation's path.
    operations: &'static [Operation],
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    // Keyed by the whole Authorization value: one bucket per key, one for no key.
    buckets: HashMap<Vec<u8>, Bucket>,
    // Admitted submits whose task may not be in the task list yet.
    submits_in_flight: usize,
    rejections: LimitRejections,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One request's view of its key's bucket, for the headers.
struct Quota {
    limit: u32,
    remaining: u32,
    reset_unix: u64,
    retry_after: Option<u64>,
}

impl Limiter {
    pub(crate) fn new(shared: Arc<Shared>, operations: &'static [Operation]) -> Arc<Self> {
        Arc::new(Limiter {
            limits: shared.config.limits.clone(),
            submit_paths: operations
                .iter()
                .filter(|op| op.is_submit())
                .map(|op| op.path)
                .collect(),
            operations,
            shared,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// `app` behind the limits.
    pub(crate) fn layer(self: &Arc<Self>, app: Router) -> Router {
        app.layer(middleware::from_fn_with_state(self.clone(), enforce))
    }

    pub(crate) fn rejections(&self) -> LimitRejections {
        self.lock().rejections
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seconds of the scaled minute.
    fn window(&self) -> f64 {
        MINUTE.as_secs_f64() * self.limits.time_scale
    }

    /// Takes one request from the key's bucket; `retry_after` is set when it was empty.
    fn take(&self, key: &[u8]) -> Option<Quota> {
        let limit = self.limits.rpm?;
        let capacity = f64::from(limit);
        let per_second = capacity / self.window();
        let now = Instant::now();
        let mut inner = self.lock();
        let bucket = inner.buckets.entry(key.to_vec()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let tokens = bucket.tokens;
        if !allowed {
            inner.rejections.rate += 1;
        }
        let seconds_until = |tokens_missing: f64| {
            if per_second > 0.0 {
                (tokens_missing.max(0.0) / per_second).ceil().min(1e9) as u64
            } else {
                0
            }
        };
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Some(Quota {
            limit,
            remaining: tokens.floor() as u32,
            reset_unix: now_unix + seconds_until(capacity - tokens),
            retry_after: (!allowed).then(|| seconds_until(1.0 - tokens).max(1)),
        })
    }

    /// A running-task slot for one submit, held until its handler is done (or dropped
    /// with its connection); `None` when the team is at its limit.
    fn reserve(self: &Arc<Self>) -> Result<Option<Slot>, u32> {
        let Some(limit) = self.limits.concurrency else {
            return Ok(None);
        };
        let mut inner = self.lock();
        let running = self.shared.running_tasks() + inner.submits_in_flight;
        if running >= limit as usize {
            inner.rejections.concurrency += 1;
            return Err(limit);
        }
        inner.submits_in_flight += 1;
        Ok(Some(Slot(self.clone())))
    }
}

/// A reserved slot; gives it back when dropped, by which time the created task (if
/// any) counts as running on its own.
struct Slot(Arc<Limiter>);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.submits_in_flight = inner.submits_in_flight.saturating_sub(1);
    }
}

async fn enforce(State(limiter): State<Arc<Limiter>>, request: Request, next: Next) -> Response {
    // Result files come from the CDN, outside the API's limits.
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let quota = limiter.take(&key);
    if let Some(q) = quota.as_ref().filter(|q| q.retry_after.is_some()) {
        let detail = format!("{} requests per minute per API key", q.limit);
        return refuse("Rate limit exceeded", &detail, quota.as_ref());
    }
    let path = request.uri().path();
    let is_submit = request.method() == Method::POST
        && (limiter.submit_paths.contains(path)
            || crate::generic::submit_target(path, limiter.operations)
                .is_some_and(|model| !model.is_missing()));
    let slot = if is_submit {
        match limiter.reserve() {
            Ok(slot) => slot,
            Err(limit) => {
                let detail = format!("at most {limit} tasks may run at once for this team");
                return refuse("Concurrent limit exceeded", &detail, quota.as_ref());
            }
        }
    } else {
        None
    };
    let mut response = next.run(request).await;
    drop(slot);
    stamp(response.headers_mut(), quota.as_ref());
    response
}

/// A 429 in Modellix's envelope, with this category rather than the generic one.
fn refuse(category: &str, detail: &str, quota: Option<&Quota>) -> Response {
    let status = StatusCode::TOO_MANY_REQUESTS;
    let answer = Answer {
        status,
        headers: HeaderMap::new(),
        body: AnswerBody::Json(json!({
            "code": status.as_u16(),
            "message": format!("{category}: {detail}"),
            "data": null,
        })),
    };
    let mut response = answer.into_response(false);
    stamp(response.headers_mut(), quota);
    response
}

fn stamp(headers: &mut HeaderMap, quota: Option<&Quota>) {
    let Some(q) = quota else { return };
    let mut set = |name: &'static str, value: u64| {
        headers.insert(name, HeaderValue::from(value));
    };
    set("x-ratelimit-limit", u64::from(q.limit));
    set("x-ratelimit-remaining", u64::from(q.remaining));
    set("x-ratelimit-reset", q.reset_unix);
    if let Some(seconds) = q.retry_after {
        set("retry-after", seconds);
    }
}

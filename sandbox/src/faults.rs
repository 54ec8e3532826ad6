//! Fault injection: what can go wrong, on which route, and when.
//!
//! A request first takes the next fault scripted for its route, if any; otherwise one
//! draw of the seeded generator picks at most one of the route's random faults. Both
//! are deterministic for a given seed and order of requests.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

/// A group of endpoints that faults are aimed at and requests are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Route {
    /// Every paid submit operation (`POST /api/v1/{provider}/{model}/async`).
    Submit,
    /// `GET /api/v1/tasks/{task_id}`.
    Task,
    /// Result files, `GET /files/{task_id}/{name}`.
    Files,
    /// Uploads, `POST /api/v1/media/files`. `ServerError { task_created: true }` stores
    /// the file before answering the error: an upload with an unknown outcome.
    Upload,
}

/// One thing that can go wrong with a request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 with `Retry-After: <seconds>`.
    RetryAfter(u64),
    /// 429 with `X-RateLimit-Reset: <unix seconds>`, this many seconds from now.
    RateLimitReset(u64),
    /// A JSON error answer with this status (500, 502, 503, 504, …).
    ///
    /// With `task_created`, a valid submit creates its task before the error is
    /// answered: the realistic "outcome unknown" case. Without, nothing is created.
    ServerError {
        /// The HTTP status.
        status: u16,
        /// Whether a valid submit creates its task first.
        task_created: bool,
    },
    /// 502 with an HTML body, as a proxy in front of the API answers.
    Html502,
    /// The answer is delayed by this long, then given normally.
    Slow(Duration),
    /// The request is read and handled (a valid submit creates its task), then the
    /// connection is dropped with a TCP reset and no answer.
    Reset,
    /// The answer announces its full `Content-Length` but only the first half of the
    /// body is sent before the connection closes. On [`Route::Files`] this is a
    /// download cut mid-body.
    Truncated,
    /// A 2xx JSON answer padded past `modellix::MAX_ANSWER_BYTES` (16 MiB).
    Oversized,
    /// A task answer whose `status` is replaced by this unknown value (`"queued"`).
    UnknownStatus(String),
    /// Unknown fields added to the envelope, `data` and each result resource.
    ExtraFields,
}

/// The kind of a [`Fault`], without its parameters; what
/// [`Sandbox::faults_injected`](crate::Sandbox::faults_injected) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// [`Fault::RetryAfter`].
    RetryAfter,
    /// [`Fault::RateLimitReset`].
    RateLimitReset,
    /// [`Fault::ServerError`].
    ServerError,
    /// [`Fault::Html502`].
    Html502,
    /// [`Fault::Slow`].
    Slow,
    /// [`Fault::Reset`].
    Reset,
    /// [`Fault::Truncated`].
    Truncated,
    /// [`Fault::Oversized`].
    Oversized,
    /// [`Fault::UnknownStatus`].
    UnknownStatus,
    /// [`Fault::ExtraFields`].
    ExtraFields,
}

impl Fault {
    /// The kind of this fault.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::RetryAfter(_) => FaultKind::RetryAfter,
            Fault::RateLimitReset(_) => FaultKind::RateLimitReset,
            Fault::ServerError { .. } => FaultKind::ServerError,
            Fault::Html502 => FaultKind::Html502,
            Fault::Slow(_) => FaultKind::Slow,
            Fault::Reset => FaultKind::Reset,
            Fault::Truncated => FaultKind::Truncated,
            Fault::Oversized => FaultKind::Oversized,
            Fault::UnknownStatus(_) => FaultKind::UnknownStatus,
            Fault::ExtraFields => FaultKind::ExtraFields,
        }
    }
}

/// Which faults to inject: a script per route, then seeded random faults per route.
///
/// ```
/// use std::time::Duration;
/// use modellix_sandbox::{Fault, FaultPlan, Route};
///
/// let plan = FaultPlan::new()
///     // The next two submits answer 503 after creating their task.
///     .script(Route::Submit, 2, Fault::ServerError { status: 503, task_created: true })
///     // Then 10% of task queries are rate limited and 5% are slow.
///     .random(Route::Task, 0.10, Fault::RetryAfter(1))
///     .random(Route::Task, 0.05, Fault::Slow(Duration::from_millis(200)));
/// # let _ = plan;
/// ```
#[derive(Clone, Default)]
pub struct FaultPlan {
    scripted: BTreeMap<Route, VecDeque<Fault>>,
    random: BTreeMap<Route, Vec<(f64, Fault)>>,
}

impl FaultPlan {
    /// A plan without faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `times` requests to `route` get `fault`, after any already scripted.
    pub fn script(mut self, route: Route, times: usize, fault: Fault) -> Self {
        self.push_script(route, times, fault);
        self
    }

    /// Each request to `route` without a scripted fault gets `fault` with this
    /// probability. The probabilities of one route add up; past 1.0 the later faults
    /// are never drawn.
    pub fn random(mut self, route: Route, probability: f64, fault: Fault) -> Self {
        self.random
            .entry(route)
            .or_default()
            .push((probability.clamp(0.0, 1.0), fault));
        self
    }

    pub(crate) fn push_script(&mut self, route: Route, times: usize, fault: Fault) {
        let queue = self.scripted.entry(route).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Takes the fault for the next request to `route`; `draw` is a uniform number
    /// in [0, 1) from the seeded generator, drawn only when the route has random faults
    /// so that scripting one route does not shift another's sequence.
    pub(crate) fn next(&mut self, route: Route, draw: impl FnOnce() -> f64) -> Option<Fault> {
        if let Some(fault) = self.scripted.get_mut(&route).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        let choices = self.random.get(&route).filter(|c| !c.is_empty())?;
        let roll = draw();
        let mut edge = 0.0;
        for (probability, fault) in choices {
            edge += probability;
            if roll < edge {
                return Some(fault.clone());
            }
        }
        None
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultPlan")
            .field("scripted", &self.scripted)
            .field("random", &self.random)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_come_first_and_in_order() {
        let mut plan = FaultPlan::new()
            .script(Route::Submit, 2, Fault::Html502)
            .script(Route::Submit, 1, Fault::Reset)
            .random(Route::Submit, 1.0, Fault::Truncated);
        let never = || panic!("no draw while a script is pending");
        assert_eq!(plan.next(Route::Submit, never), Some(Fault::Html502));
        assert_eq!(plan.next(Route::Submit, never), Some(Fault::Html502));
        assert_eq!(plan.next(Route::Submit, never), Some(Fault::Reset));
        assert_eq!(plan.next(Route::Submit, || 0.99), Some(Fault::Truncated));
        assert_eq!(plan.next(Route::Task, || 0.0), None);
    }

    #[test]
    fn random_faults_split_the_unit_interval() {
        let mut plan = FaultPlan::new()
            .random(Route::Task, 0.25, Fault::Html502)
            .random(Route::Task, 0.25, Fault::Reset);
        assert_eq!(plan.next(Route::Task, || 0.1), Some(Fault::Html502));
        assert_eq!(plan.next(Route::Task, || 0.3), Some(Fault::Reset));
        assert_eq!(plan.next(Route::Task, || 0.6), None);
    }
}

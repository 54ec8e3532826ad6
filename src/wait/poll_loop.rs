//! Waiting for tasks: the polling loop behind `wait`, `updates` and `wait_all`.
//!
//! A wait is a plain future (or stream) driven by its caller: nothing is spawned, so a
//! dropped wait stops at once. Between queries a wait holds only its small state; the
//! connections and buffers of queries are bounded by the client's query slots
//! ([`WaitOptions::queries_in_flight`]), however many waits there are. Each terminal
//! status is written to the ledger, with the run time the schedule learns from.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::error::Error;
use crate::ledger::TaskLedger;
use crate::shared::Shared;
use crate::task::query::{QueryFailure, query};
use crate::task::record::Task;
use crate::time::later;
use crate::transport::retry::RetryRound;
use crate::wait::options::WaitOptions;
use crate::wait::schedule::PollContext;
use crate::webhook::wake::WakeGuard;
use crate::{task::output::TaskOutput, task::status::TaskStatus, types::TaskInfo};

/// A 404 this soon after submit may only mean the task is not visible yet.
const YOUNG_TASK: Duration = Duration::from_secs(60);
/// Longest stored run time believed (a day).
const MAX_RUN: Duration = Duration::from_secs(86_400);
/// Run times read back from the ledger when a client first waits.
const PRIMING_RUNS: usize = 500;

/// `TaskHandle::wait_with`: polls to the end.
pub(crate) async fn wait(
    shared: &Arc<Shared>,
    task: &Task,
    options: WaitOptions,
) -> Result<TaskOutput, Error> {
    Waiter::new(task.clone(), Arc::clone(shared), options)
        .finish()
        .await
}

/// `TaskHandle::updates_with`: a stream driven by its reader.
pub(crate) fn updates(shared: &Arc<Shared>, task: &Task, options: WaitOptions) -> TaskUpdates {
    let waiter = Waiter::new(task.clone(), Arc::clone(shared), options);
    let stream = futures_util::stream::unfold(Some(waiter), |waiter| async move {
        let mut waiter = waiter?;
        match waiter.next().await {
            Event::Update(update) => Some((Ok(update), Some(waiter))),
            Event::Done(Ok(_)) => None,
            Event::Done(Err(e)) => Some((Err(e), None)),
        }
    });
    TaskUpdates {
        inner: Box::pin(stream),
    }
}

/// How long before the deadline the last query of a wait is made, at most (a quarter of
/// a short wait's deadline): the query in flight is bounded by the deadline too.
const LAST_QUERY_MARGIN: Duration = Duration::from_secs(1);

/// Many waits under one deadline, `options.concurrency` at a time, yielded as they end
/// with their index in `tasks`.
pub(crate) fn wait_each_indexed(
    shared: &Arc<Shared>,
    tasks: Vec<Task>,
    options: WaitOptions,
) -> impl Stream<Item = (usize, Result<TaskOutput, Error>)> + Send + 'static {
    let start = Instant::now();
    let deadline = options.deadline.map(|d| later(start, d));
    let shared = Arc::clone(shared);
    // Unordered, so one slow task does not hold a slot others could use.
    futures_util::stream::iter(tasks.into_iter().enumerate().map(move |(i, task)| {
        let mut waiter = Waiter::new(task, Arc::clone(&shared), options);
        waiter.deadline = deadline;
        async move { (i, waiter.finish().await) }
    }))
    .buffer_unordered(options.concurrency.max(1))
}

/// One observed status change of a task.
///
/// ```no_run
/// # async fn run(task: modellix::TaskHandle) -> Result<(), modellix::Error> {
/// use futures_util::StreamExt;
///
/// let mut updates = task.updates();
/// while let Some(update) = updates.next().await {
///     let update = update?;
///     if let modellix::TaskStatus::Other(raw) = &update.status {
///         eprintln!("status {raw:?} is new to this client; still waiting");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskUpdate {
    /// The new status.
    pub status: TaskStatus,
    /// The whole answer that showed it.
    pub info: TaskInfo,
    /// Time since the wait began.
    pub elapsed: Duration,
    /// Status queries made so far.
    pub polls: u32,
    /// On the last update of a successful task: its result.
    pub output: Option<TaskOutput>,
}

/// The stream returned by [`TaskHandle::updates`](crate::task::handle::TaskHandle::updates); dropping it stops the polling.
///
/// ```no_run
/// # async fn run(task: modellix::TaskHandle) {
/// use futures_util::StreamExt;
///
/// // Show the first status, then stop watching (the task keeps running).
/// let mut updates = task.updates();
/// if let Some(Ok(first)) = updates.next().await {
///     println!("{} after {} queries", first.status, first.polls);
/// }
/// drop(updates);
/// # }
/// ```
pub struct TaskUpdates {
    inner: Pin<Box<dyn Stream<Item = Result<TaskUpdate, Error>> + Send>>,
}

impl std::fmt::Debug for TaskUpdates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskUpdates").finish_non_exhaustive()
    }
}

impl Stream for TaskUpdates {
    type Item = Result<TaskUpdate, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Every update of many tasks in one stream, as they come: what
/// [`TaskHandle::updates_all`](crate::task::handle::TaskHandle::updates_all) returns.
/// Each item names its task; a task's part ends as its own stream would (after its
/// last update, or with one `Err`), and the stream ends when every task's has.
/// Dropping it stops all the polling.
pub struct AllTaskUpdates {
    inner: futures_util::stream::SelectAll<TaskedUpdates>,
}

type TaskedUpdates = Pin<Box<dyn Stream<Item = (Task, Result<TaskUpdate, Error>)> + Send>>;

impl AllTaskUpdates {
    /// Merges the update streams of `tasks`, each task with its own stream.
    pub(crate) fn new(tasks: impl IntoIterator<Item = (Task, TaskUpdates)>) -> Self {
        let streams = tasks.into_iter().map(|(task, updates)| {
            Box::pin(updates.map(move |update| (task.clone(), update))) as TaskedUpdates
        });
        AllTaskUpdates {
            inner: futures_util::stream::select_all(streams),
        }
    }
}

impl std::fmt::Debug for AllTaskUpdates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllTaskUpdates")
            .field("tasks", &self.inner.len())
            .finish_non_exhaustive()
    }
}

impl Stream for AllTaskUpdates {
    type Item = (Task, Result<TaskUpdate, Error>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

// Short-lived and moved once per status change: boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
enum Event {
    Update(TaskUpdate),
    Done(Result<TaskOutput, Error>),
}

/// The state of one wait.
struct Waiter {
    task: Task,
    shared: Arc<Shared>,
    start: Instant,
    deadline: Option<Instant>,
    /// How long before `start` the task was submitted, when known.
    age_at_start: Duration,
    polls: u32,
    last_status: Option<TaskStatus>,
    last_error: Option<String>,
    last_poll: Instant,
    /// Time since submit when the last query that saw the task still running was
    /// sent: the end came after it.
    last_running_at: Option<Duration>,
    /// Time since submit when the current query was sent.
    asked_at: Duration,
    /// True when the first query came at the schedule's time, counted from a known
    /// submit (the wait began at once): a task seen finished by it ended within the
    /// schedule's first gap. False for a wait that began late (a resumed old record,
    /// "submit now, wait later"): such an end may lie anywhere before.
    on_plan: bool,
    /// The end, once seen; handed out after the last update.
    done: Option<Result<TaskOutput, Error>>,
    /// Woken by `Client::notify` (a webhook reported the task): the next query is made
    /// at once instead of at the schedule's time.
    webhook: WakeGuard,
}

impl Waiter {
    fn new(task: Task, shared: Arc<Shared>, options: WaitOptions) -> Self {
        let start = Instant::now();
        let age_at_start = task
            .submitted_at()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        let webhook = shared.wakers.register(task.id());
        Waiter {
            task,
            shared,
            start,
            deadline: options.deadline.map(|d| later(start, d)),
            age_at_start,
            polls: 0,
            last_status: None,
            last_error: None,
            last_poll: start,
            last_running_at: None,
            asked_at: Duration::ZERO,
            on_plan: false,
            done: None,
            webhook,
        }
    }

    /// When the last query of the wait is due: a little before its deadline.
    fn last_query_at(&self) -> Option<Instant> {
        let deadline = self.deadline?;
        let margin = LAST_QUERY_MARGIN.min(deadline.saturating_duration_since(self.start) / 4);
        Some(deadline.checked_sub(margin).unwrap_or(deadline))
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn since_submit(&self) -> Duration {
        self.age_at_start + self.start.elapsed()
    }

    /// Polls to the end, ignoring intermediate updates.
    async fn finish(mut self) -> Result<TaskOutput, Error> {
        use tracing::Instrument;
        let span = tracing::info_span!("modellix.wait", task_id = self.task.id());
        async move {
            loop {
                if let Event::Done(result) = self.next().await {
                    return result;
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Polls until the status changes or the wait ends.
    async fn next(&mut self) -> Event {
        if let Some(done) = self.done.take() {
            return Event::Done(done);
        }
        // Rare steps are boxed so they do not size the state every wait keeps
        // between queries.
        Box::pin(self.prime()).await;
        loop {
            let ctx = PollContext::new(self.polls, self.since_submit(), self.task.kind());
            let delay = self.shared.schedule.delay(&ctx);
            if self.polls == 0 {
                self.on_plan = self.task.submitted_at().is_some() && self.age_at_start <= delay;
            }
            let mut wake = if self.polls == 0 {
                later(self.start, delay.saturating_sub(self.age_at_start))
            } else {
                later(self.last_poll, delay)
            };
            if let Some(last) = self.last_query_at() {
                // The last sleep is cut short of the deadline, so one last query is
                // made with time to answer before it (the deadline bounds the query too).
                wake = wake.min(last);
            }
            // A webhook's report ends the sleep: the query below confirms it (a
            // forged report costs one query and changes nothing).
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = self.webhook.woken() => {
                    tracing::debug!(task_id = self.task.id(), "woken by a webhook");
                }
            }

            let answer = self.query_with_retries().await;
            self.last_poll = Instant::now();
            match answer {
                Err(error) => return Event::Done(Err(error)),
                Ok(Some(info)) => {
                    self.last_error = None;
                    if !info.status.is_terminal() {
                        self.last_running_at = Some(self.asked_at);
                        Box::pin(self.renew_slot()).await;
                    }
                    if let Some(event) = Box::pin(self.seen(info)).await {
                        return event;
                    }
                }
                Ok(None) => {}
            }
            // Past the last query's time: that query was the last one.
            if self.past_deadline() || self.last_query_at().is_some_and(|at| Instant::now() >= at) {
                let error = Error::TimedOut {
                    task_id: self.task.id().to_owned(),
                    elapsed: self.start.elapsed(),
                    polls: self.polls,
                    last_status: self.last_status.clone(),
                    last_error: self.last_error.clone(),
                };
                tracing::warn!(task_id = self.task.id(), polls = self.polls, "{error}");
                return Event::Done(Err(error));
            }
        }
    }

    /// One query, retried by the client's policy; `Ok(None)` when the retries ran out
    /// (the wait goes on at the next scheduled poll, until its deadline).
    async fn query_with_retries(&mut self) -> Result<Option<TaskInfo>, Error> {
        let shared = Arc::clone(&self.shared);
        let task_id = self.task.id().to_owned();
        let task_id = task_id.as_str();
        let young = self.task.submitted_at().is_some() && self.since_submit() < YOUNG_TASK;
        let mut round = RetryRound::new(&*shared.retry, self.deadline);
        loop {
            let attempt = round.next_attempt();
            self.polls += 1;
            self.asked_at = self.since_submit();
            let asked = query(&shared, task_id, attempt, self.deadline, young);
            // The deadline bounds the query in flight too: a server that never answers
            // must not hold the wait past it (the query's own timeout may be longer).
            // Not armed without the client's own timeouts (tests on a paused clock,
            // where a timer armed during real I/O would fire at once).
            let bound = self.deadline.filter(|_| shared.transport.has_timeouts());
            let answer = match bound {
                Some(deadline) => match tokio::time::timeout_at(deadline, asked).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        self.last_error = Some(
                            "the last status query had no answer by the wait's deadline".to_owned(),
                        );
                        return Ok(None);
                    }
                },
                None => asked.await,
            };
            match answer {
                Ok(info) => return Ok(Some(info)),
                Err(QueryFailure::Fatal(error)) => {
                    tracing::warn!(task_id, polls = self.polls, "wait ended: {error}");
                    return Err(error);
                }
                Err(QueryFailure::Retryable { error, hint }) => {
                    tracing::debug!(task_id, attempt, "query failed, may retry: {error}");
                    self.last_error = Some(error.to_string());
                    if !round.pause(hint).await {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Handles a status seen; an event when it changed.
    async fn seen(&mut self, info: TaskInfo) -> Option<Event> {
        if self.last_status.as_ref() == Some(&info.status) {
            return None;
        }
        let task_id = self.task.id();
        tracing::info!(task_id, status = %info.status, polls = self.polls, "task status");
        self.last_status = Some(info.status.clone());
        let mut update = TaskUpdate {
            status: info.status.clone(),
            info: info.clone(),
            elapsed: self.start.elapsed(),
            polls: self.polls,
            output: None,
        };
        if info.status.is_terminal() {
            self.record_end(&info).await;
        }
        match info.status {
            // Success without files: nothing to save, so not an output (a caller
            // reporting "saved" would be wrong), but an error that keeps the id.
            TaskStatus::Success if info.result.as_ref().is_none_or(|r| r.resources.is_empty()) => {
                self.done = Some(Err(Error::EmptyResult {
                    task_id: task_id.to_owned(),
                    info: Box::new(info),
                }));
            }
            TaskStatus::Success => {
                let output = TaskOutput {
                    task: self.task.clone(),
                    info,
                    finished_at: SystemTime::now(),
                    polls: self.polls,
                };
                update.output = Some(output.clone());
                self.done = Some(Ok(output));
            }
            TaskStatus::Failed => {
                self.done = Some(Err(Error::TaskFailed {
                    task_id: task_id.to_owned(),
                    failure: crate::error::TaskFailure::from_raw_redacted(
                        info.error.clone(),
                        &self.shared.transport.redactor,
                    ),
                }));
            }
            _ => {}
        }
        Some(Event::Update(update))
    }

    /// Still running: the team slot its task holds (in a ledger that shares slots) is
    /// leased for another term, so no other instance takes the task over.
    async fn renew_slot(&self) {
        let shared = &self.shared;
        if !shared.ledger.shares_slots() {
            return;
        }
        let lease = shared.slot_claim.lease;
        if let Err(e) = shared.ledger.renew_slot(self.task.id(), lease).await {
            tracing::warn!(task_id = self.task.id(), "{e}");
        }
    }

    /// Teaches the schedule what this wait observed of the run time, and writes the
    /// end into the ledger (failures only logged: the result matters more than its
    /// record).
    async fn record_end(&self, info: &TaskInfo) {
        let status = &info.status;
        let shared = &self.shared;
        let kind = self.task.kind();
        let seen_finished = self.since_submit();
        // The server's run time pins the end far closer than the queries did.
        let seen_running = self.last_running_at.unwrap_or_default();
        let stated = self.stated_end(info, seen_running, seen_finished);
        let learned = match (self.last_running_at, self.on_plan, stated) {
            (Some(_), _, Some((from, to))) | (None, true, Some((from, to))) => {
                shared.schedule.observe_between(kind, from, to);
                Some(from + to.saturating_sub(from) / 2)
            }
            // Seen running, then finished: the end lies between; its middle is kept.
            (Some(from), _, None) => {
                shared.schedule.observe_between(kind, from, seen_finished);
                Some(from + seen_finished.saturating_sub(from) / 2)
            }
            // Finished at the first query, made on schedule after the submit.
            (None, true, None) => {
                shared.schedule.observe(kind, seen_finished);
                Some(seen_finished)
            }
            // A late start that found it finished: nothing was observed of its run.
            (None, false, _) => None,
        };
        let ledger = &shared.ledger;
        // The team's slot first: another instance may be waiting for it.
        if ledger.shares_slots()
            && let Err(e) = ledger.release_slot(self.task.id()).await
        {
            tracing::warn!(task_id = self.task.id(), "{e}");
        }
        if let Some(took) = learned
            && let Err(e) = ledger.record_run(kind, took).await
        {
            tracing::warn!(task_id = self.task.id(), "{e}");
        }
        if let Err(e) = ledger
            .record_finished(self.task.id(), &status.to_string())
            .await
        {
            tracing::warn!(task_id = self.task.id(), "{e}");
        }
        record_cost(ledger.as_ref(), self.task.id(), info).await;
    }

    /// Where the end lies by the answer's `duration` (milliseconds from the task's
    /// creation), after the submit: the server created the task between the submit
    /// and the wait's start, so the end is within `duration` plus that, cut to what
    /// the queries saw (after `seen_running`, by `seen_finished`). `None` without a
    /// duration, or with one the queries contradict (it may then mean something else).
    fn stated_end(
        &self,
        info: &TaskInfo,
        seen_running: Duration,
        seen_finished: Duration,
    ) -> Option<(Duration, Duration)> {
        let ms = info.duration.filter(|ms| (0.0..1e11).contains(ms))?;
        let stated = Duration::from_secs_f64(ms / 1000.0);
        let from = stated.max(seen_running);
        let to = (stated + self.age_at_start).min(seen_finished);
        (from <= to).then_some((from, to))
    }

    /// Once per client: the schedule learns the run times the ledger kept from earlier
    /// runs of the program.
    async fn prime(&self) {
        let shared = &self.shared;
        shared
            .primed
            .get_or_init(|| async {
                match shared.ledger.runs(PRIMING_RUNS).await {
                    Ok(runs) => {
                        // A stored sample past the wait's deadline (or absurd) cannot
                        // be a run this client would have seen end: ignored.
                        let plausible = |took: Duration| {
                            !took.is_zero()
                                && took <= MAX_RUN
                                && shared.wait.deadline.is_none_or(|d| took <= d)
                        };
                        for (kind, took) in runs {
                            if plausible(took) {
                                shared.schedule.restore(&kind, took);
                            } else {
                                tracing::debug!(?took, "ignored an implausible stored run time");
                            }
                        }
                    }
                    Err(e) => tracing::warn!("cannot read run times from the ledger: {e}"),
                }
            })
            .await;
    }
}

/// Writes what a finished task was billed into the ledger, when its answer says (a
/// failure only logged, like the final status beside it).
pub(crate) async fn record_cost(ledger: &dyn TaskLedger, task_id: &str, info: &TaskInfo) {
    if let Some(cost) = crate::task::output::billed(info)
        && let Err(e) = ledger
            .record_cost(task_id, &cost, crate::task::output::billing_status(info))
            .await
    {
        tracing::warn!(task_id, "{e}");
    }
}

//! The task handle: query, wait, watch, resume.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::error::{ConfigError, Error, api_error};
use crate::poll::{PollContext, TaskKind, WaitOptions, is_retryable_status};
use crate::submit::{error_chain, read_capped};
use crate::types::{GetTaskResponse, Resource, TaskInfo};
use crate::{
    Client, DownloadContext, DownloadError, Downloader, MAX_ANSWER_BYTES, SavedFile, TaskStatus,
};

/// A submitted Modellix task: its id, model and submit time.
///
/// Plain data: it serializes (store it, send it to another process) and is rebuilt
/// from the id alone with [`Client::task`]; waiting on a rebuilt task works exactly
/// like waiting on the original. Modellix has no cancel endpoint: dropping a wait
/// stops polling only, the task keeps running (and is billed).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = modellix::Client::builder().api_key("sk-example").build()?;
/// let task = client.task("task-abc123")?;
/// let saved = serde_json::to_string(&task)?;
/// let again: modellix::Task = serde_json::from_str(&saved)?;
/// assert_eq!(again.id(), "task-abc123");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    submitted_at: Option<SystemTime>,
    #[serde(default)]
    kind: TaskKind,
}

/// A task id safe to put in a URL path: what Modellix issues (`task-abc123`).
pub(crate) fn is_valid_task_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && id != "."
        && id != ".."
}

impl Task {
    pub(crate) fn submitted(
        id: String,
        model_id: &str,
        submitted_at: SystemTime,
        kind: TaskKind,
    ) -> Task {
        Task {
            id,
            model_id: Some(model_id.to_owned()),
            submitted_at: Some(submitted_at),
            kind,
        }
    }

    /// The task id Modellix issued.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `provider/model`, when known (not for a task rebuilt from its id alone).
    pub fn model_id(&self) -> Option<&str> {
        self.model_id.as_deref()
    }

    /// When the submission was sent, when known.
    pub fn submitted_at(&self) -> Option<SystemTime> {
        self.submitted_at
    }

    /// The model and run-time parameters, as polling schedules see them.
    pub fn kind(&self) -> &TaskKind {
        &self.kind
    }

    /// One status query (a single GET, not retried).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let task = client.task("task-abc123")?;
    /// let info = task.status(&client).await?;
    /// println!("{} is {}", task.id(), info.status);
    /// # Ok(()) }
    /// ```
    pub async fn status(&self, client: &Client) -> Result<TaskInfo, Error> {
        query(client, &self.id).await.map_err(Failure::into_error)
    }

    /// Polls until the task succeeds or fails, with the client's schedule, retry
    /// policy and deadline (10 minutes by default).
    ///
    /// A timeout does not mean the task failed: [`Error::TimedOut`] carries the id to
    /// resume with. Dropping the future stops polling only.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let task = client.task("task-abc123")?; // e.g. after a restart
    /// let output = task.wait(&client).await?;
    /// println!("{} resources", output.resources().len());
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self, client: &Client) -> Result<TaskOutput, Error> {
        self.wait_with(client, client.shared().wait).await
    }

    /// [`Task::wait`] with other options (deadline, or [`WaitOptions::forever`]).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client, task: modellix::Task) -> Result<(), modellix::Error> {
    /// use std::time::Duration;
    /// let output = task
    ///     .wait_with(&client, modellix::WaitOptions::deadline(Duration::from_secs(1800)))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_with(
        &self,
        client: &Client,
        options: WaitOptions,
    ) -> Result<TaskOutput, Error> {
        let start = Instant::now();
        let deadline = options.deadline.map(|d| start + d);
        Waiter::new(self, client, start, deadline).run(|_| {}).await
    }

    /// A stream of status changes until the task finishes, for progress bars and
    /// logs. The first item is the first status seen; unknown statuses come through
    /// as [`TaskStatus::Other`]. The stream ends after a final status, or with one
    /// `Err` (task failed, timed out, fatal error). Dropping it stops polling.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client, task: modellix::Task) -> Result<(), modellix::Error> {
    /// use futures_util::StreamExt;
    ///
    /// let mut updates = task.updates(&client);
    /// while let Some(update) = updates.next().await {
    ///     let update = update?;
    ///     println!("{:>5.1} s  {}", update.elapsed.as_secs_f64(), update.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn updates(&self, client: &Client) -> TaskUpdates {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (task, client) = (self.clone(), client.clone());
        let deadline_after = client.shared().wait.deadline;
        let handle = tokio::spawn(async move {
            let start = Instant::now();
            let deadline = deadline_after.map(|d| start + d);
            let waiter = Waiter::new(&task, &client, start, deadline);
            let result = waiter.run(|update| drop(tx.send(Ok(update.clone())))).await;
            if let Err(e) = result {
                let _ = tx.send(Err(e));
            }
        });
        TaskUpdates { rx, handle }
    }
}

impl Client {
    /// A task handle from an id alone, to query or resume a task submitted earlier
    /// (by this process or another). An id that is not shaped like a Modellix task id
    /// is refused here, before any request.
    ///
    /// ```
    /// # fn main() -> Result<(), modellix::Error> {
    /// let client = modellix::Client::builder().api_key("sk-example").build()?;
    /// let task = client.task("task-abc123")?;
    /// assert_eq!((task.id(), task.model_id()), ("task-abc123", None));
    /// assert!(client.task("../etc/passwd").unwrap_err().is_invalid_input());
    /// # Ok(()) }
    /// ```
    pub fn task(&self, task_id: impl Into<String>) -> Result<Task, Error> {
        let id = task_id.into();
        if !is_valid_task_id(&id) {
            return Err(Error::Config(ConfigError {
                field: "task_id",
                problem: format!(
                    "{id:?} is not a Modellix task id (expected letters, digits, '-', '_' or '.', like \"task-abc123\")"
                ),
            }));
        }
        Ok(Task {
            id,
            model_id: None,
            submitted_at: None,
            kind: TaskKind::default(),
        })
    }

    /// Waits for many tasks at once (at most `concurrency` of the client's
    /// [`WaitOptions`] at a time) under one shared deadline. Results come back in the
    /// input order; a task that did not finish in time has its own
    /// [`Error::TimedOut`], so finished results are never lost to the others.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client, tasks: Vec<modellix::Task>) {
    /// for (task, result) in tasks.iter().zip(client.wait_all(&tasks).await) {
    ///     match result {
    ///         Ok(output) => println!("{} done: {} files", task.id(), output.resources().len()),
    ///         Err(e) => eprintln!("{}: {e}", task.id()),
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn wait_all(&self, tasks: &[Task]) -> Vec<Result<TaskOutput, Error>> {
        let options = self.shared().wait;
        let start = Instant::now();
        let deadline = options.deadline.map(|d| start + d);
        // Unordered, so one slow task does not hold a slot others could use; the
        // index puts results back in input order.
        let mut results: Vec<(usize, Result<TaskOutput, Error>)> =
            futures_util::stream::iter(tasks.iter().enumerate().map(|(i, task)| async move {
                let result = Waiter::new(task, self, Instant::now(), deadline)
                    .run(|_| {})
                    .await;
                (i, result)
            }))
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, result)| result).collect()
    }
}

/// A finished task's result.
///
/// ```no_run
/// # async fn run(client: modellix::Client, task: modellix::Task) -> Result<(), modellix::Error> {
/// let output = task.wait(&client).await?;
/// for resource in output.resources() {
///     // `type_` is "video" or "image"; width, height, format and role when given.
///     println!("{} {} {:?}", resource.type_, resource.url, resource.role);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TaskOutput {
    /// The task.
    pub task: Task,
    /// The final answer, unknown fields kept (`info.extra`).
    pub info: TaskInfo,
    /// When this client saw the task finished. Result links expire about 24 hours
    /// after completion: save the files before then.
    pub finished_at: SystemTime,
    /// Status queries this wait made.
    pub polls: u32,
}

impl TaskOutput {
    /// The output files (videos, images), with `url`, `type_` and the optional fields.
    pub fn resources(&self) -> &[Resource] {
        self.info
            .result
            .as_ref()
            .map_or(&[], |result| result.resources.as_slice())
    }

    /// Who the files belong to, for downloads and their error messages.
    pub fn download_context(&self) -> DownloadContext {
        let mut context = DownloadContext::new(self.task.id()).finished_at(self.finished_at);
        let model = self.task.model_id().or(self.info.model_id.as_deref());
        if let Some(model) = model {
            context = context.model_id(model);
        }
        context
    }

    /// Saves every resource into `dir` under names derived from the task id, model and
    /// resource type (`task-abc123_seedance-2.0-v2v_video.mp4`): streamed, synced and
    /// renamed into place, never overwriting unless the downloader allows it. The
    /// downloader has its own HTTP client: the API key never reaches the file host.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client, task: modellix::Task) -> Result<(), Box<dyn std::error::Error>> {
    /// use modellix::{DownloadOptions, Downloader};
    ///
    /// let downloader = Downloader::new(DownloadOptions::default())?;
    /// let output = task.wait(&client).await?;
    /// for file in output.download_all(&downloader, "out".as_ref()).await? {
    ///     println!("saved {} ({} bytes)", file.path.display(), file.bytes);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn download_all(
        &self,
        downloader: &Downloader,
        dir: &std::path::Path,
    ) -> Result<Vec<SavedFile>, DownloadError> {
        downloader
            .download_all(self.resources(), dir, &self.download_context())
            .await
    }

    /// Saves one of this task's resources to `path` (errors name this task).
    pub async fn download_resource(
        &self,
        downloader: &Downloader,
        resource: &Resource,
        path: &std::path::Path,
    ) -> Result<SavedFile, DownloadError> {
        downloader
            .download_to(&resource.url, path, &self.download_context())
            .await
    }
}

/// One observed status change of a task.
///
/// ```no_run
/// # async fn run(client: modellix::Client, task: modellix::Task) -> Result<(), modellix::Error> {
/// use futures_util::StreamExt;
///
/// let mut updates = task.updates(&client);
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
}

/// The stream returned by [`Task::updates`]; dropping it stops the polling.
///
/// ```no_run
/// # async fn run(client: modellix::Client, task: modellix::Task) {
/// use futures_util::StreamExt;
///
/// // Show the first status, then stop watching (the task keeps running).
/// let mut updates = task.updates(&client);
/// if let Some(Ok(first)) = updates.next().await {
///     println!("{} after {} queries", first.status, first.polls);
/// }
/// drop(updates);
/// # }
/// ```
#[derive(Debug)]
pub struct TaskUpdates {
    rx: tokio::sync::mpsc::UnboundedReceiver<Result<TaskUpdate, Error>>,
    handle: tokio::task::JoinHandle<()>,
}

impl Stream for TaskUpdates {
    type Item = Result<TaskUpdate, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for TaskUpdates {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Why one status query failed.
pub(crate) enum Failure {
    /// Worth another try (network, 408, 429, 5xx); the server's hint, if any.
    Retryable {
        error: Error,
        hint: Option<Duration>,
        rate_limited: bool,
    },
    /// Ends the wait (401, 403, 404, malformed, mismatched id).
    Fatal(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Retryable { error, .. } | Failure::Fatal(error) => error,
        }
    }
}

/// One GET through the generated operation, classified.
async fn query(client: &Client, task_id: &str) -> Result<TaskInfo, Failure> {
    use progenitor_client::Error as GenError;

    let started = Instant::now();
    let result = client.api().get_task().task_id(task_id).send().await;
    let malformed = |reason: String| {
        Failure::Fatal(Error::Malformed {
            task_id: Some(task_id.to_owned()),
            reason,
        })
    };
    let transport = |reason: String| Failure::Retryable {
        error: Error::Transport {
            task_id: task_id.to_owned(),
            reason,
        },
        hint: None,
        rate_limited: false,
    };
    let outcome = match result {
        Ok(answer) => check_answer(task_id, answer.into_inner()).map_err(malformed),
        Err(GenError::UnexpectedResponse(response)) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = match read_capped(response, MAX_ANSWER_BYTES).await {
                Ok(body) => body,
                Err(failure) => failure.partial,
            };
            let api = api_error(status, &headers, &body);
            if is_retryable_status(status) {
                Err(Failure::Retryable {
                    hint: api.retry_after,
                    rate_limited: status == 429,
                    error: Error::Api {
                        task_id: task_id.to_owned(),
                        api,
                    },
                })
            } else if (200..300).contains(&status) {
                Err(malformed(format!("unexpected HTTP {status}")))
            } else {
                Err(Failure::Fatal(Error::Api {
                    task_id: task_id.to_owned(),
                    api,
                }))
            }
        }
        Err(GenError::CommunicationError(e)) => Err(transport(error_chain(&e))),
        Err(GenError::ResponseBodyError(e)) if is_over_limit(&e) => Err(malformed(format!(
            "the answer is larger than {} MiB",
            MAX_ANSWER_BYTES >> 20
        ))),
        Err(GenError::ResponseBodyError(e)) => Err(transport(format!(
            "the answer was cut off ({})",
            error_chain(&e)
        ))),
        Err(GenError::InvalidResponsePayload(bytes, e)) => match decode_leniently(&bytes) {
            Some(answer) => check_answer(task_id, answer).map_err(malformed),
            None => Err(malformed(format!(
                "the answer is not a task envelope ({e})"
            ))),
        },
        Err(other) => Err(malformed(other.to_string())),
    };
    // Formatting the status costs more than the query's own bookkeeping: only when
    // someone listens.
    if tracing::enabled!(tracing::Level::DEBUG) {
        let status = match &outcome {
            Ok(info) => info.status.to_string(),
            Err(Failure::Retryable { error, .. } | Failure::Fatal(error)) => error
                .status()
                .map_or_else(|| "error".to_owned(), |s| s.to_string()),
        };
        tracing::debug!(
            task_id,
            method = "GET",
            path = "/api/v1/tasks/{task_id}",
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "task queried"
        );
    }
    outcome
}

/// The task in a decoded answer, if the answer is a success envelope about `task_id`.
fn check_answer(task_id: &str, answer: GetTaskResponse) -> Result<TaskInfo, String> {
    if answer.code != 0 {
        Err(format!(
            "the envelope says code {}: {}",
            answer.code, answer.message
        ))
    } else if answer.data.task_id != task_id {
        Err(format!(
            "asked for task {task_id} but the answer is about task {}",
            answer.data.task_id
        ))
    } else {
        Ok(answer.data)
    }
}

/// Fields whose wrong type this decoder drops before giving up: enough for a few slips
/// (`"width": 1280.0`), bounded so a hostile answer cannot loop long.
const MAX_DROPPED_FIELDS: usize = 8;

/// Decodes an answer that failed typed decoding by dropping, one at a time, the fields
/// whose value has the wrong type. A paid result must not be lost because an optional
/// field (a width, a format) came in another type; a required field that is dropped
/// still fails, so only optional information is lost, and each drop is logged.
pub(crate) fn decode_leniently(bytes: &[u8]) -> Option<GetTaskResponse> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    for _ in 0..MAX_DROPPED_FIELDS {
        let error = match serde_path_to_error::deserialize::<_, GetTaskResponse>(&value) {
            Ok(answer) => return Some(answer),
            Err(error) => error,
        };
        let path = error.path().to_string();
        // Missing required fields, or a mistyped whole envelope: nothing to drop.
        if !remove_path(&mut value, error.path()) {
            return None;
        }
        tracing::warn!(field = %path, "dropped a task answer field of an unexpected type");
    }
    None
}

/// Removes the scalar at `path` from `value`; false if there is none there (the error
/// was about a missing field, the root, an array item or a whole object).
fn remove_path(value: &mut serde_json::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = value;
    for segment in parents {
        node = match (segment, node) {
            (Segment::Map { key }, serde_json::Value::Object(map)) => match map.get_mut(key) {
                Some(next) => next,
                None => return false,
            },
            (Segment::Seq { index }, serde_json::Value::Array(items)) => {
                match items.get_mut(*index) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    // Only scalars: dropping an object or array could silently drop result files.
    match (last, node) {
        (Segment::Map { key }, serde_json::Value::Object(map))
            if map
                .get(key)
                .is_some_and(|v| !v.is_object() && !v.is_array()) =>
        {
            map.remove(key).is_some()
        }
        _ => false,
    }
}

fn is_over_limit(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The polling loop behind `wait`, `updates` and `wait_all`.
struct Waiter<'a> {
    task: &'a Task,
    client: &'a Client,
    start: Instant,
    deadline: Option<Instant>,
    /// How long before `start` the task was submitted, when known.
    age_at_start: Duration,
}

impl<'a> Waiter<'a> {
    fn new(task: &'a Task, client: &'a Client, start: Instant, deadline: Option<Instant>) -> Self {
        let age_at_start = task
            .submitted_at
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        Waiter {
            task,
            client,
            start,
            deadline,
            age_at_start,
        }
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    async fn run(self, on_update: impl FnMut(&TaskUpdate)) -> Result<TaskOutput, Error> {
        use tracing::Instrument;
        let span = tracing::info_span!("modellix.wait", task_id = self.task.id.as_str());
        self.poll_until_done(on_update).instrument(span).await
    }

    async fn poll_until_done(
        &self,
        mut on_update: impl FnMut(&TaskUpdate),
    ) -> Result<TaskOutput, Error> {
        let shared = self.client.shared();
        let task_id = self.task.id.as_str();
        let mut polls = 0u32;
        let mut last_status: Option<TaskStatus> = None;
        let mut last_error: Option<String> = None;
        let mut last_poll = self.start;
        loop {
            let since_submit = self.age_at_start + self.start.elapsed();
            let ctx = PollContext::new(polls, since_submit, &self.task.kind);
            let delay = shared.schedule.delay(&ctx);
            let mut wake = if polls == 0 {
                self.start + delay.saturating_sub(self.age_at_start)
            } else {
                last_poll + delay
            };
            if let Some(deadline) = self.deadline {
                // The last sleep is cut to the deadline; one last query happens there.
                wake = wake.min(deadline);
            }
            tokio::time::sleep_until(wake).await;

            let mut attempt = 0u32;
            let answer = loop {
                shared.gate.wait(self.deadline).await;
                attempt += 1;
                polls += 1;
                match query(self.client, task_id).await {
                    Ok(info) => break Some(info),
                    Err(Failure::Fatal(error)) => {
                        tracing::warn!(task_id, polls, "wait ended: {error}");
                        return Err(error);
                    }
                    Err(Failure::Retryable {
                        error,
                        hint,
                        rate_limited,
                    }) => {
                        tracing::debug!(task_id, attempt, "query failed, may retry: {error}");
                        last_error = Some(error.to_string());
                        let retry = shared.retry.retry_delay(attempt, hint);
                        if rate_limited {
                            shared
                                .gate
                                .close_for(hint.or(retry).unwrap_or(Duration::from_secs(1)));
                        }
                        match retry {
                            Some(pause) if !self.past_deadline() => {
                                let mut at = Instant::now() + pause;
                                if let Some(deadline) = self.deadline {
                                    at = at.min(deadline);
                                }
                                tokio::time::sleep_until(at).await;
                            }
                            _ => break None,
                        }
                    }
                }
            };
            last_poll = Instant::now();

            if let Some(info) = answer {
                last_error = None;
                if last_status.as_ref() != Some(&info.status) {
                    tracing::info!(task_id, status = %info.status, polls, "task status");
                    last_status = Some(info.status.clone());
                    on_update(&TaskUpdate {
                        status: info.status.clone(),
                        info: info.clone(),
                        elapsed: self.start.elapsed(),
                        polls,
                    });
                }
                if info.status.is_terminal() {
                    let took = self.age_at_start + self.start.elapsed();
                    shared.schedule.observe(&self.task.kind, took);
                }
                match info.status {
                    TaskStatus::Success => {
                        return Ok(TaskOutput {
                            task: self.task.clone(),
                            info,
                            finished_at: SystemTime::now(),
                            polls,
                        });
                    }
                    TaskStatus::Failed => {
                        return Err(Error::TaskFailed {
                            task_id: task_id.to_owned(),
                            error: info.error.clone(),
                        });
                    }
                    _ => {}
                }
            }
            if self.past_deadline() {
                let error = Error::TimedOut {
                    task_id: task_id.to_owned(),
                    elapsed: self.start.elapsed(),
                    polls,
                    last_status,
                    last_error,
                };
                tracing::warn!(task_id, polls, "{error}");
                return Err(error);
            }
        }
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::*;

    fn answer(resource: &str, task_id: &str) -> Vec<u8> {
        format!(
            r#"{{"code":0,"message":"success","data":{{"status":"success","task_id":{task_id},
            "result":{{"resources":[{resource}]}}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn mistyped_optional_fields_are_dropped_and_the_result_kept() {
        let body = answer(
            r#"{"type":"video","url":"https://x/a.mp4","width":1280.0,"format":4,"height":720}"#,
            r#""t""#,
        );
        assert!(serde_json::from_slice::<GetTaskResponse>(&body).is_err());
        let decoded = decode_leniently(&body).unwrap();
        let resource = &decoded.data.result.unwrap().resources[0];
        assert_eq!(resource.url, "https://x/a.mp4");
        assert_eq!(
            (resource.width, resource.height, resource.format.as_deref()),
            (None, Some(720), None)
        );
    }

    #[test]
    fn required_fields_and_structure_are_never_dropped() {
        let table = [
            answer(r#"{"type":"video","url":"https://x/a.mp4"}"#, "42"), // task_id mistyped
            answer(r#"{"type":"video","url":7}"#, r#""t""#),           // url mistyped
            answer(r#""not a resource""#, r#""t""#),                    // array item
            br#"{"code":0,"message":"success","data":{"status":"success","task_id":"t","result":{"resources":{"a":1}}}}"#.to_vec(),
            b"[1,2]".to_vec(),
            b"not json".to_vec(),
        ];
        for body in table {
            assert!(
                decode_leniently(&body).is_none(),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}

//! The task handle: a task record bound to the client that submitted or resumed it, so
//! querying, waiting and watching need no client argument.
//!
//! It holds the client's shared state rather than a `Client`, so that `client.rs`
//! can return it without the two files importing each other.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::shared::Shared;
use crate::task::record::Task;
use crate::types::TaskInfo;
use crate::wait::options::WaitOptions;
use crate::wait::poll_loop::{AllTaskUpdates, TaskUpdates};
use crate::{task::kind::TaskKind, task::output::TaskOutput};

/// A submitted task and the client it belongs to: what [`Client::submit`],
/// [`Client::submit_json`] and [`Client::task`] return.
///
/// Cheap to clone. [`TaskHandle::task`] is the plain record (serializable, RFC 3339
/// times) to store and resume from later with [`Client::resume`]. Modellix has no
/// cancel endpoint: dropping a wait stops polling only; the task keeps running (and is
/// billed).
///
/// ```no_run
/// use modellix::types::Seedance20V2vRequest;
///
/// # async fn run() -> Result<(), modellix::Error> {
/// let client = modellix::Client::from_env()?;
/// let request = Seedance20V2vRequest::builder()
///     .prompt("Extend [Video 1] with a slow dolly zoom")
///     .video_urls(["https://example.com/in.mp4"])
///     .build()?;
/// let task = client.submit(&request).await?;
/// println!("{} is {}", task.id(), task.status().await?.status);
/// let output = task.wait().await?;
/// # Ok(()) }
/// ```
///
/// [`Client::submit`]: crate::client::Client::submit
/// [`Client::submit_json`]: crate::client::Client::submit_json
/// [`Client::task`]: crate::client::Client::task
/// [`Client::resume`]: crate::client::Client::resume
#[derive(Clone)]
pub struct TaskHandle {
    shared: Arc<Shared>,
    task: Task,
}

impl fmt::Debug for TaskHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client's settings are its own Debug's business; the task is what matters.
        f.debug_struct("TaskHandle")
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}

impl TaskHandle {
    pub(crate) fn new(shared: Arc<Shared>, task: Task) -> TaskHandle {
        TaskHandle { shared, task }
    }

    /// The task id Modellix issued.
    pub fn id(&self) -> &str {
        self.task.id()
    }

    /// `provider/model`, when known (not for a task resumed from its id alone).
    pub fn model_id(&self) -> Option<&str> {
        self.task.model_id()
    }

    /// When the submission was sent, when known.
    pub fn submitted_at(&self) -> Option<std::time::SystemTime> {
        self.task.submitted_at()
    }

    /// The model and run-time parameters, as polling schedules see them.
    pub fn kind(&self) -> &TaskKind {
        self.task.kind()
    }

    /// The plain record: store it (it serializes) and resume with
    /// [`Client::resume`](crate::client::Client::resume).
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The record, without the client.
    pub fn into_task(self) -> Task {
        self.task
    }

    /// One status query (a single GET, not retried).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let task = client.task("task-abc123")?;
    /// let info = task.status().await?;
    /// println!("{} is {}", task.id(), info.status);
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<TaskInfo, Error> {
        crate::task::query::query(&self.shared, self.task.id(), 1, None, false)
            .await
            .map_err(crate::task::query::QueryFailure::into_error)
    }

    /// Polls until the task succeeds or fails, with the client's schedule, retry
    /// policy and deadline (10 minutes by default).
    ///
    /// A timeout does not mean the task failed: [`Error::TimedOut`] carries the id to
    /// resume with. A success that lists no result file is [`Error::EmptyResult`]
    /// (see [`Error::is_empty_result`]), with the id. Dropping the future stops polling
    /// only.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let task = client.task("task-abc123")?; // e.g. after a restart
    /// let output = task.wait().await?;
    /// println!("{} resources", output.resources().len());
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> Result<TaskOutput, Error> {
        self.wait_with(self.shared.wait).await
    }

    /// [`TaskHandle::wait`] with this call's options (deadline, or
    /// [`WaitOptions::forever`]).
    ///
    /// ```no_run
    /// # async fn run(task: modellix::TaskHandle) -> Result<(), modellix::Error> {
    /// use std::time::Duration;
    /// let output = task
    ///     .wait_with(modellix::WaitOptions::deadline(Duration::from_secs(1800)))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_with(&self, options: WaitOptions) -> Result<TaskOutput, Error> {
        crate::wait::poll_loop::wait(&self.shared, &self.task, options).await
    }

    /// A stream of status changes until the task finishes, for progress bars and
    /// logs. The first item is the first status seen; unknown statuses come through
    /// as [`TaskStatus::Other`](crate::task::status::TaskStatus::Other). The last item of a
    /// successful task carries its [`TaskOutput`] (`update.output`), so no further
    /// query is needed; the stream ends with one `Err` when the task failed, succeeded
    /// without result files, the wait timed out or a query failed for good. Driven by its reader: dropping it stops
    /// polling, and nothing is buffered ahead.
    ///
    /// ```no_run
    /// # async fn run(task: modellix::TaskHandle) -> Result<(), modellix::Error> {
    /// use futures_util::StreamExt;
    ///
    /// let mut updates = task.updates();
    /// while let Some(update) = updates.next().await {
    ///     let update = update?;
    ///     println!("{:>5.1} s  {}", update.elapsed.as_secs_f64(), update.status);
    ///     if let Some(output) = &update.output {
    ///         println!("{} files", output.resources().len());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn updates(&self) -> TaskUpdates {
        self.updates_with(self.shared.wait)
    }

    /// [`TaskHandle::updates`] with this call's options.
    pub fn updates_with(&self, options: WaitOptions) -> TaskUpdates {
        crate::wait::poll_loop::updates(&self.shared, &self.task, options)
    }

    /// One progress stream over many tasks: every task's [`TaskHandle::updates`]
    /// (with its client's options), merged as they come, each item with its task.
    /// A task's part ends as its own stream would; the stream ends when all have.
    /// The status queries of all the tasks share their client's query slots.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use modellix::TaskHandle;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), modellix::Error> {
    /// # let sandbox = modellix_sandbox::Sandbox::start().await.expect("sandbox");
    /// # let client = modellix::Client::builder()
    /// #     .api_key(sandbox.api_key())
    /// #     .base_url(sandbox.base_url())
    /// #     .poll_schedule(modellix::Backoff::fixed(std::time::Duration::from_millis(10)))
    /// #     .memory_ledger()
    /// #     .build()?;
    /// let request = modellix::types::Seedance20V2vRequest::builder()
    ///     .prompt("Extend [Video 1] with a slow dolly zoom")
    ///     .video_urls(["https://example.com/in.mp4"])
    ///     .build()?;
    /// let tasks = [client.submit(&request).await?, client.submit(&request).await?];
    ///
    /// let mut progress = TaskHandle::updates_all(&tasks);
    /// let mut finished = 0;
    /// while let Some((task, update)) = progress.next().await {
    ///     let update = update?;
    ///     println!("{}: {}", task.id(), update.status);
    ///     finished += usize::from(update.output.is_some());
    /// }
    /// assert_eq!(finished, 2);
    /// # Ok(()) }
    /// ```
    pub fn updates_all<'a>(tasks: impl IntoIterator<Item = &'a TaskHandle>) -> AllTaskUpdates {
        AllTaskUpdates::new(
            tasks
                .into_iter()
                .map(|handle| (handle.task.clone(), handle.updates())),
        )
    }
}

impl AsRef<Task> for TaskHandle {
    fn as_ref(&self) -> &Task {
        &self.task
    }
}

impl From<TaskHandle> for Task {
    fn from(handle: TaskHandle) -> Task {
        handle.task
    }
}

//! The client: configuration, auth, and every entry point, each delegating to the file
//! that holds its concept (`submit`, `query`, `wait`, `ledger`, `catalog`, `account`,
//! `upload`, `local_files`). Those files work on the shared state and never name `Client`,
//! so nothing imports this file back.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;

use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::error::{ConfigError, Error};
use crate::ledger::default::DefaultLedger;
use crate::ledger::shared_rate::LedgerGate;
use crate::ledger::slots::SlotClaim;
use crate::ledger::{EntryQuery, LEDGER_ENV, LedgerEntry, MemoryLedger, TaskLedger, open_ledger};
use crate::platform::account::AccountCheck;
use crate::platform::catalog::ModelEntry;
use crate::platform::tiers::LOWEST_TIER_RUNNING_TASKS;
use crate::platform::upload::{UploadOptions, UploadedFile};
use crate::profile::key::ApiKey;
use crate::profile::resolve::{Credentials, default_store, resolve};
use crate::redact::{Redactor, raw_url_for_display};
use crate::shared::{Shared, SubmittedHook};
use crate::task::handle::TaskHandle;
use crate::task::record::{Task, is_usable_task_id};
use crate::task::submit::SubmitOptions;
use crate::transport::ratelimit::{
    DEFAULT_MAX_PAUSE, DEFAULT_REQUESTS_PER_MINUTE, RateLimiter, RateSettings,
};
use crate::transport::request::{RequestKind, Timeouts, Transport};
use crate::transport::retry::ExponentialRetry;
use crate::transport::retry::RetryPolicy;
use crate::types::TaskInfo;
use crate::wait::learning::LearningSchedule;
use crate::wait::options::WaitOptions;
use crate::wait::schedule::PollSchedule;
use crate::webhook::event::WebhookEvent;
use crate::{schema::operation::SubmitRequest, task::output::TaskOutput};

/// Modellix's API origin.
pub const DEFAULT_BASE_URL: &str = "https://api.modellix.ai";

/// A Modellix client. Cheap to clone (one `Arc`), safe to share across tasks.
///
/// ```no_run
/// # fn main() -> Result<(), modellix::ConfigError> {
/// // Reads MODELLIX_API_KEY (and MODELLIX_BASE_URL, MODELLIX_LEDGER, if set).
/// let client = modellix::Client::from_env()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    /// The team's running-task limit, as told or the lowest tier's.
    running_task_limit: u32,
    /// Whether `running_task_limit` was told ([`ClientBuilder::running_task_limit`]).
    running_task_limit_set: bool,
    /// A one-way fingerprint of the API key (`redact::key_fingerprint`).
    key_fingerprint: Arc<str>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.shared.transport)
            .field("schedule", &self.shared.schedule)
            .field("retry", &self.shared.retry)
            .field("wait", &self.shared.wait)
            .field("ledger", &self.shared.ledger)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder for every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The team's running-task limit: as set with
    /// [`ClientBuilder::running_task_limit`], else the lowest tier's
    /// ([`LOWEST_TIER_RUNNING_TASKS`], 2).
    pub fn running_task_limit(&self) -> u32 {
        self.running_task_limit
    }

    /// Whether the running-task limit was set with
    /// [`ClientBuilder::running_task_limit`] (else it is the lowest tier's default,
    /// which a batch may learn upwards).
    pub fn running_task_limit_is_set(&self) -> bool {
        self.running_task_limit_set
    }

    /// A one-way fingerprint of this client's API key (`key:` and 16 hex digits):
    /// names the key in the ledger ([`TaskLedger::learned_limit`]) and holds no part
    /// of it. The same key always gives the same fingerprint.
    ///
    /// ```
    /// let a = modellix::Client::builder().api_key("sk-example").memory_ledger().build()?;
    /// let b = modellix::Client::builder().api_key("sk-other").memory_ledger().build()?;
    /// assert!(a.key_fingerprint().starts_with("key:"));
    /// assert!(!a.key_fingerprint().contains("example"));
    /// assert_ne!(a.key_fingerprint(), b.key_fingerprint());
    /// # Ok::<(), modellix::ConfigError>(())
    /// ```
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }

    /// A client from the environment or the stored profile: the key from
    /// `MODELLIX_API_KEY`, else from the profile named by `MODELLIX_PROFILE` (else
    /// `default`) that `modellix auth login` stored; the origin from
    /// `MODELLIX_BASE_URL`, else that profile's; and, if set, `MODELLIX_LEDGER` (a
    /// file path for an on-disk [`SqliteLedger`](crate::ledger::SqliteLedger), opened
    /// here, or a `postgres://` URL: see [`open_ledger`]; otherwise the default ledger,
    /// see [`ClientBuilder::ledger`]). The rules are in [`crate::profile`].
    pub fn from_env() -> Result<Client, ConfigError> {
        Self::from_stored(None)
    }

    /// [`Client::from_env`] with this profile instead of `MODELLIX_PROFILE`'s (a key in
    /// `MODELLIX_API_KEY` still wins).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), modellix::ConfigError> {
    /// let client = modellix::Client::from_profile("work")?;
    /// # Ok(()) }
    /// ```
    pub fn from_profile(profile: &str) -> Result<Client, ConfigError> {
        Self::from_stored(Some(profile))
    }

    fn from_stored(profile: Option<&str>) -> Result<Client, ConfigError> {
        let store = default_store();
        let credentials = resolve(profile, None, store.as_ref())?;
        let mut builder = Client::builder().credentials(&credentials);
        if let Some(path) = std::env::var_os(LEDGER_ENV).filter(|p| !p.is_empty()) {
            builder = builder.ledger_path(path);
        }
        builder.build()
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.shared.transport.base_url()
    }

    /// The ledger this client records paid requests in.
    pub fn ledger(&self) -> &Arc<dyn TaskLedger> {
        &self.shared.ledger
    }

    /// The ledger's open entries, newest first: tasks to resume (accepted, or unknown
    /// with an id) and requests whose outcome must be checked before sending them
    /// again. [`LedgerEntry::next_step`] says what to do with each.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// for entry in client.recover().await? {
    ///     match entry.task_id() {
    ///         Some(id) => {
    ///             let output = client.task(id)?.wait().await?;
    ///             println!("{id}: {} files", output.resources().len());
    ///         }
    ///         None => eprintln!("check by hand: {}", entry.next_step()),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn recover(&self) -> Result<Vec<LedgerEntry>, Error> {
        Ok(self.shared.ledger.entries(&EntryQuery::open()).await?)
    }

    /// The newest `limit` ledger entries, open or not (0: all).
    pub async fn history(&self, limit: usize) -> Result<Vec<LedgerEntry>, Error> {
        Ok(self
            .shared
            .ledger
            .entries(&EntryQuery::recent(limit))
            .await?)
    }
}

/// The entry points of the task workflow; each delegates to the file of its concept
/// (`submit`, `wait`, `query`), which knows nothing of the client itself.
impl Client {
    /// Validates `request`, records it in the ledger, sends it exactly once and returns
    /// the accepted task.
    ///
    /// Nothing is sent when validation fails ([`Error::Validation`]) or the ledger
    /// cannot record the intent ([`Error::Ledger`]; [`Error::nothing_created`] is
    /// true). The intent is recorded once the request holds its rate-limit permit, so
    /// a request still waiting in line is not in the ledger. The POST is never retried
    /// and never follows a redirect: on [`Error::OutcomeUnknown`] a task may exist (its
    /// id is in the error whenever the answer showed one), so check before submitting
    /// again. The outcome's write is retried for minutes; if the ledger never takes it,
    /// the submit fails with [`Error::LedgerUnrecorded`], which carries the task id.
    /// Dropping the returned future after it started does not lose the task: sending
    /// and recording finish on their own, and [`Client::recover`] lists the result.
    ///
    /// ```no_run
    /// use modellix::types::Seedance20V2vRequest;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = modellix::Client::from_env()?;
    /// let request = Seedance20V2vRequest::builder()
    ///     .prompt("Extend [Video 1] with a slow dolly zoom")
    ///     .video_urls(vec!["https://example.com/in.mp4".to_string()])
    ///     .build()?;
    /// let task = client.submit(&request).await?;
    /// println!("submitted {}", task.id()); // also in the ledger
    /// let output = task.wait().await?;
    /// for resource in output.resources() {
    ///     println!("{} {:?}", resource.type_, resource.url);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn submit<R: SubmitRequest>(&self, request: &R) -> Result<TaskHandle, Error> {
        self.submit_with(request, SubmitOptions::default()).await
    }

    /// [`Client::submit`] with per-call options (a marker for the ledger).
    pub async fn submit_with<R: SubmitRequest>(
        &self,
        request: &R,
        options: SubmitOptions,
    ) -> Result<TaskHandle, Error> {
        let task = crate::task::submit::submit_typed(&self.shared, request, options).await?;
        Ok(self.resume(task))
    }

    /// Submits a JSON body to any model by its id (`provider/model`), with the same
    /// exactly-once contract as [`Client::submit`].
    ///
    /// A model this build has a fragment for is validated by it. Any other model id
    /// must be well-formed (`provider/model`: letters, digits, `.`, `_`, `-`), its body
    /// is held to the official CLI's generic limits (64 MiB, depth 100, 250,000
    /// values) and validated by the model's live schema page ([`Client::live_schema`]),
    /// and it goes to the submit path that page names. When no schema can be had,
    /// nothing is sent ([`Error::NoSchema`]);
    /// [`SubmitOptions::skip_schema_check`] sends it unchecked, on purpose, to
    /// `/api/v1/{provider}/{model}`.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let body = serde_json::json!({"prompt": "a lighthouse at dawn"});
    /// let task = client.submit_json("alibaba/qwen-image-plus", &body).await?;
    /// let output = task.wait().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// The body is anything that serializes to a JSON object: a `serde_json::Value`
    /// (or a reference to one), a `HashMap`, your own `#[derive(Serialize)]` struct.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// #[derive(serde::Serialize)]
    /// struct Body<'a> {
    ///     prompt: &'a str,
    /// }
    /// let task = client
    ///     .submit_json("alibaba/qwen-image-plus", Body { prompt: "a lighthouse" })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_json(
        &self,
        model_id: &str,
        body: impl serde::Serialize,
    ) -> Result<TaskHandle, Error> {
        self.submit_json_with(model_id, body, SubmitOptions::default())
            .await
    }

    /// [`Client::submit_json`] with per-call options.
    pub async fn submit_json_with(
        &self,
        model_id: &str,
        body: impl serde::Serialize,
        options: SubmitOptions,
    ) -> Result<TaskHandle, Error> {
        let body = crate::task::submit::json_body(&body)?;
        let task = crate::task::submit::submit_json(&self.shared, model_id, &body, options).await?;
        Ok(self.resume(task))
    }

    /// The live schema of `model_id`: its public schema page, from the on-disk cache
    /// while it is younger than [`ClientBuilder::schema_max_age`], else fetched (no key)
    /// and cached; a stale copy stands in, with a warning, when the page cannot be
    /// reached. The page's `servers[0].url` must be https (plain http only to a loopback
    /// host), without credentials, query or fragment, and on this client's API origin,
    /// with this model's submit path: any other page is refused.
    ///
    /// Fails with [`Error::NoSchema`] naming why.
    pub async fn live_schema(
        &self,
        model_id: &str,
    ) -> Result<crate::live::page::LiveSchema, Error> {
        crate::schema::model_id::check_model_id(model_id).map_err(Error::Config)?;
        self.shared
            .schemas
            .get(model_id, self.shared.transport.base_url())
            .await
            .map_err(|reason| Error::NoSchema {
                model_id: model_id.to_owned(),
                reason,
            })
    }

    /// Checks a JSON body for `model_id` without sending it: by the vendored fragment
    /// when this build has one, else by the model's live schema
    /// ([`Client::live_schema`]). The outer error is [`Error::NoSchema`] when no schema
    /// can be had, [`Error::Validation`] when the body breaks rules.
    pub async fn validate_json(
        &self,
        model_id: &str,
        body: &Value,
    ) -> Result<crate::schema::validate::Warnings, Error> {
        if let Some(check) =
            crate::schema::operation::Operation::for_model(model_id).and_then(|op| op.validate_json)
        {
            return Ok(check(body)?);
        }
        Ok(self.live_schema(model_id).await?.validate(body)?)
    }

    /// Submits and waits for the result with the client's wait options.
    ///
    /// Errors carry the task id once the task was accepted.
    pub async fn generate<R: SubmitRequest>(
        &self,
        request: &R,
    ) -> Result<crate::task::output::TaskOutput, Error> {
        self.submit(request).await?.wait().await
    }

    /// A task handle from an id alone, to query or resume a task submitted earlier
    /// (by this process or another). An empty id, one with control characters, `.`
    /// and `..` are refused here, before any request; any other id is percent-encoded
    /// into the query's path.
    ///
    /// ```
    /// # fn main() -> Result<(), modellix::Error> {
    /// let client = modellix::Client::builder().api_key("sk-example").build()?;
    /// let task = client.task("task-abc123")?;
    /// assert_eq!((task.id(), task.model_id()), ("task-abc123", None));
    /// assert!(client.task("..").unwrap_err().is_invalid_input());
    /// # Ok(()) }
    /// ```
    pub fn task(&self, task_id: impl Into<String>) -> Result<TaskHandle, Error> {
        let id = task_id.into();
        if !is_usable_task_id(&id) {
            return Err(Error::Config(ConfigError {
                field: "task_id",
                problem: format!(
                    "{:?} is not a Modellix task id (expected a non-empty id without control \
                     characters, like \"task-abc123\")",
                    id.chars().take(100).collect::<String>()
                ),
            }));
        }
        Ok(self.resume(Task::from_id(id)))
    }

    /// Binds a stored task record (from [`TaskHandle::task`], the ledger, or another
    /// process) to this client, to query or wait for it. Nothing is sent.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = modellix::Client::builder().api_key("sk-example").build()?;
    /// let saved = serde_json::to_string(client.task("task-abc123")?.task())?;
    /// let task = client.resume(serde_json::from_str(&saved)?);
    /// assert_eq!(task.id(), "task-abc123");
    /// # Ok(()) }
    /// ```
    pub fn resume(&self, task: Task) -> TaskHandle {
        TaskHandle::new(Arc::clone(&self.shared), task)
    }

    /// Waits for many tasks at once (at most `concurrency` of the client's
    /// [`WaitOptions`] at a time) under one shared deadline. Results come back in the
    /// input order; a task that did not finish in time has its own
    /// [`Error::TimedOut`], so finished results are never lost to the others.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client, tasks: Vec<modellix::TaskHandle>) {
    /// for (task, result) in tasks.iter().zip(client.wait_all(&tasks).await) {
    ///     match result {
    ///         Ok(output) => println!("{} done: {} files", task.id(), output.resources().len()),
    ///         Err(e) => eprintln!("{}: {e}", task.id()),
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn wait_all<T: AsRef<Task>>(&self, tasks: &[T]) -> Vec<Result<TaskOutput, Error>> {
        self.wait_all_with(tasks, self.shared.wait).await
    }

    /// [`Client::wait_all`] with other options.
    pub async fn wait_all_with<T: AsRef<Task>>(
        &self,
        tasks: &[T],
        options: WaitOptions,
    ) -> Vec<Result<TaskOutput, Error>> {
        let tasks = tasks.iter().map(|t| t.as_ref().clone()).collect();
        let mut results: Vec<(usize, Result<TaskOutput, Error>)> =
            crate::wait::poll_loop::wait_each_indexed(&self.shared, tasks, options)
                .collect()
                .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// Waits for many tasks and yields each as soon as it ends (success, failure, or
    /// its share of the deadline), in the order they finish, with at most
    /// `options.concurrency` waits at a time under one shared deadline.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client, tasks: Vec<modellix::TaskHandle>) {
    /// use futures_util::StreamExt;
    ///
    /// let options = modellix::WaitOptions::default();
    /// let mut finished = client.wait_each(tasks, options);
    /// while let Some((task, result)) = finished.next().await {
    ///     println!("{}: {}", task.id(), if result.is_ok() { "done" } else { "failed" });
    /// }
    /// # }
    /// ```
    pub fn wait_each<T: Into<Task>>(
        &self,
        tasks: impl IntoIterator<Item = T>,
        options: WaitOptions,
    ) -> impl Stream<Item = (Task, Result<TaskOutput, Error>)> + Send + 'static {
        let tasks: Vec<Task> = tasks.into_iter().map(Into::into).collect();
        let by_index = tasks.clone();
        crate::wait::poll_loop::wait_each_indexed(&self.shared, tasks, options)
            .map(move |(i, result)| (by_index[i].clone(), result))
    }
}

/// Receiving webhooks (see [`WebhookEvent`]): accept a delivery once, confirm the task
/// with Modellix before trusting it, wake the waits of its task.
impl Client {
    /// Remembers `event`'s delivery id in the ledger: `true` when it is new, `false`
    /// for a delivery already accepted (Modellix retries a delivery whose 2xx it did
    /// not get, with the same id). Store it, answer 2xx, then confirm and process.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = modellix::Client::builder().api_key("sk-example").memory_ledger().build()?;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("X-Modellix-Event", "prediction.task.succeeded".parse()?);
    /// headers.insert("X-Modellix-Task-ID", "task-1".parse()?);
    /// headers.insert("X-Modellix-Delivery-ID", "dlv-1".parse()?);
    /// headers.insert("X-Modellix-Retry-Count", "0".parse()?);
    /// let event = modellix::WebhookEvent::parse(&headers, b"{}")?;
    /// assert!(client.accept(&event).await?);
    /// assert!(!client.accept(&event).await?, "a retry of the same delivery");
    /// # Ok(()) }
    /// ```
    pub async fn accept(&self, event: &WebhookEvent) -> Result<bool, Error> {
        Ok(self
            .shared
            .ledger
            .accept_delivery(&event.delivery_id, &event.task_id)
            .await?)
    }

    /// What Modellix says of `event`'s task: one `GET /api/v1/tasks/{id}` (not
    /// retried, like [`TaskHandle::status`]). Nothing of the delivery's body is used:
    /// act on the status returned here, never on the event's name. A final status is
    /// written to the ledger.
    pub async fn confirm(&self, event: &WebhookEvent) -> Result<TaskInfo, Error> {
        let info = crate::task::query::query(&self.shared, &event.task_id, 1, None, false)
            .await
            .map_err(crate::task::query::QueryFailure::into_error)?;
        if info.status.is_terminal()
            && let Err(e) = self
                .shared
                .ledger
                .record_finished(&event.task_id, &info.status.to_string())
                .await
        {
            tracing::warn!(task_id = event.task_id, "{e}");
        }
        if info.status.is_terminal() {
            crate::wait::poll_loop::record_cost(self.shared.ledger.as_ref(), &event.task_id, &info)
                .await;
        }
        Ok(info)
    }

    /// Wakes every wait of this client for `event`'s task ([`TaskHandle::wait`],
    /// `updates`, `wait_all`): each makes its confirming query now instead of at its
    /// next scheduled poll, and goes on waiting if the task is still running. Returns
    /// how many waits were woken. Call it after [`Client::accept`] said the delivery
    /// is new, so a flood of repeats cannot multiply queries.
    pub fn notify(&self, event: &WebhookEvent) -> usize {
        self.shared.wakers.wake(&event.task_id)
    }
}

/// Catalog, account and media files: each delegates to the file of its concept
/// (`catalog`, `account`, `upload`, `local_files`).
impl Client {
    /// The active catalog: every model Modellix offers now, in its order. Filter it
    /// with [`ModelFilter`](crate::platform::catalog::ModelFilter); [`ModelEntry::typed`] says whether this build has a typed
    /// request for a model (else use [`Client::submit_json`]).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// use modellix::ModelFilter;
    ///
    /// let catalog = client.models().await?;
    /// for model in ModelFilter::new().model_type("video-to-video").apply(&catalog) {
    ///     println!("{} typed={} {:?}", model.slug, model.typed, model.price);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn models(&self) -> Result<Vec<ModelEntry>, Error> {
        crate::platform::catalog::models(&self.shared).await
    }

    /// Checks the account before paying for anything; costs nothing. A bad key is an
    /// answer (`key_valid: Some(false)`), not an error, and so is an unreachable API
    /// (`reachable: false`).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) {
    /// let check = client.check().await;
    /// if !check.is_ready() {
    ///     eprintln!("not ready: {:?} {:?}", check.key_valid, check.problems);
    /// }
    /// println!("balance: {:?} USD, clock offset {:?} s", check.balance_usd, check.clock_offset_secs);
    /// # }
    /// ```
    pub async fn check(&self) -> AccountCheck {
        crate::platform::account::check(&self.shared).await
    }

    /// The team's balance in USD (`GET /api/v1/team/balance`).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// println!("{:.4} USD", client.balance().await?);
    /// # Ok(()) }
    /// ```
    pub async fn balance(&self) -> Result<f64, Error> {
        crate::platform::account::balance(&self.shared).await
    }

    /// Uploads a local image, video or audio file and returns where Modellix keeps it;
    /// put [`UploadedFile::url`] into a model's URL field.
    ///
    /// The file is streamed (constant memory), its type judged from its content. It is
    /// refused before anything is sent when it is over [`MAX_UPLOAD_BYTES`](crate::platform::upload::MAX_UPLOAD_BYTES), empty, or
    /// not a known format ([`Error::LocalFile`]). A full quota is
    /// [`Error::UploadQuota`]. The upload is never retried: on
    /// [`Error::UploadUnknown`] the file may be stored, so check with
    /// [`Client::list_files`] first.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use modellix::types::Seedance20V2vRequest;
    ///
    /// let upload = client.upload("clip.mp4").await?;
    /// let request = Seedance20V2vRequest::builder()
    ///     .prompt("Extend [Video 1] with a slow dolly zoom")
    ///     .video_urls(vec![upload.url.clone()])
    ///     .build()?;
    /// let output = client.submit(&request).await?.wait().await?;
    /// client.delete_file(&upload.file_id).await?; // frees the quota
    /// # Ok(()) }
    /// ```
    pub async fn upload(&self, path: impl AsRef<Path>) -> Result<UploadedFile, Error> {
        crate::platform::upload::upload(&self.shared, path).await
    }

    /// [`Client::upload`] with options (a progress callback).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let options = modellix::UploadOptions::new()
    ///     .on_progress(|p| eprint!("\r{} / {} bytes", p.sent, p.total));
    /// let upload = client.upload_with("photo.png", options).await?;
    /// println!("\n{} expires {:?}", upload.url, upload.expires_at);
    /// # Ok(()) }
    /// ```
    pub async fn upload_with(
        &self,
        path: impl AsRef<Path>,
        options: UploadOptions,
    ) -> Result<UploadedFile, Error> {
        crate::platform::upload::upload_with(&self.shared, path, options).await
    }

    /// Uploads a local file and returns its URL, for a request's URL field.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let url = client.upload_for("clip.mp4").await?;
    /// let body = serde_json::json!({"prompt": "Extend [Video 1]", "video_urls": [url]});
    /// let task = client.submit_json("bytedance/seedance-2.0-v2v", &body).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upload_for(&self, path: impl AsRef<Path>) -> Result<String, Error> {
        crate::platform::upload::upload_for(&self.shared, path).await
    }

    /// The team's unexpired files, newest first as Modellix orders them, at most
    /// `limit` (capped at [`MAX_LIST_LIMIT`](crate::platform::upload::MAX_LIST_LIMIT)).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// for file in client.list_files(100).await? {
    ///     println!("{} {} bytes, expires {:?}", file.file_id, file.size, file.expires_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_files(&self, limit: u32) -> Result<Vec<UploadedFile>, Error> {
        crate::platform::upload::list_files(&self.shared, limit).await
    }

    /// Deletes an uploaded file, freeing its quota; [`Error::FileNotFound`] when no
    /// file has this id.
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// match client.delete_file("file-123").await {
    ///     Ok(()) => println!("deleted"),
    ///     Err(e) if e.is_not_found() => println!("already gone"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn delete_file(&self, file_id: &str) -> Result<(), Error> {
        crate::platform::upload::delete_file(&self.shared, file_id).await
    }

    /// Deletes every file of `uploads`; files already gone are fine. Returns the first
    /// other error after trying them all.
    pub async fn delete_files(&self, uploads: &[UploadedFile]) -> Result<(), Error> {
        crate::platform::upload::delete_files(&self.shared, uploads).await
    }

    /// Replaces every `file://` URL in a JSON request body by the URL of an upload of
    /// that file (each file uploaded once), and returns the uploads so they can be
    /// deleted once the task has ended ([`Client::delete_files`]). Only strings that
    /// start with `file://` are touched; nothing is inlined as base64 (see
    /// [`Client::fill_local_files`] for that).
    ///
    /// On an error, uploads already made are deleted again (best effort).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let mut body = serde_json::json!({
    ///     "prompt": "Extend [Video 1]",
    ///     "video_urls": ["file:///home/me/clip.mp4"],
    /// });
    /// let uploads = client.upload_local_files(&mut body).await?;
    /// let output = client
    ///     .submit_json("bytedance/seedance-2.0-v2v", &body)
    ///     .await?
    ///     .wait()
    ///     .await?;
    /// client.delete_files(&uploads).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upload_local_files(&self, body: &mut Value) -> Result<Vec<UploadedFile>, Error> {
        crate::platform::local_files::upload_local_files(&self.shared, body).await
    }

    /// Replaces every `file://` URL in a JSON request body for `model_id`: an image of
    /// at most [`MAX_INLINE_BYTES`](crate::platform::local_files::MAX_INLINE_BYTES) goes inline where the model's field takes base64
    /// (as a `data:` URI, or bare base64 where only that is taken) and the body stays
    /// within [`MAX_REQUEST_BYTES`](crate::schema::rules::MAX_REQUEST_BYTES); every other file is uploaded and its URL put in its
    /// place (each file once). Returns the uploads, to delete once the task has ended
    /// ([`Client::delete_files`]); on an error, uploads already made are deleted again
    /// (best effort).
    ///
    /// ```no_run
    /// # async fn run(client: modellix::Client) -> Result<(), modellix::Error> {
    /// let model = "bytedance/seedance-2.0-v2v";
    /// let mut body = serde_json::json!({
    ///     "prompt": "Extend [Video 1] in the style of [Image 1]",
    ///     "video_urls": ["file:///home/me/clip.mp4"],          // uploaded: URLs only
    ///     "reference_images": ["file:///home/me/style.png"],   // inline: takes base64
    /// });
    /// let uploads = client.fill_local_files(model, &mut body).await?;
    /// let output = client.submit_json(model, &body).await?.wait().await?;
    /// client.delete_files(&uploads).await?;
    /// # Ok(()) }
    /// ```
    pub async fn fill_local_files(
        &self,
        model_id: &str,
        body: &mut Value,
    ) -> Result<Vec<UploadedFile>, Error> {
        crate::platform::local_files::fill_local_files(&self.shared, model_id, body).await
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    user_agent_suffix: Option<String>,
    timeouts: Timeouts,
    connect_timeout: Duration,
    schedule: Option<Arc<dyn PollSchedule>>,
    retry: Option<Arc<dyn RetryPolicy>>,
    wait: WaitOptions,
    shared_rate_limit: bool,
    requests_per_minute: Option<u32>,
    running_task_limit: Option<u32>,
    slot_lease: Duration,
    max_rate_limit_pause: Duration,
    rate_settings: RateSettings,
    on_submitted: Option<SubmittedHook>,
    ledger: Option<Arc<dyn TaskLedger>>,
    ledger_path: Option<PathBuf>,
    answer_deadlines: Vec<(RequestKind, Duration)>,
    schema_url: Option<String>,
    schema_cache_dir: Option<Option<PathBuf>>,
    schema_max_age: Duration,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: None,
            user_agent_suffix: None,
            timeouts: Timeouts::default(),
            connect_timeout: Duration::from_secs(10),
            schedule: None,
            retry: None,
            wait: WaitOptions::default(),
            shared_rate_limit: true,
            requests_per_minute: Some(DEFAULT_REQUESTS_PER_MINUTE),
            running_task_limit: None,
            slot_lease: crate::ledger::slots::DEFAULT_SLOT_LEASE,
            max_rate_limit_pause: DEFAULT_MAX_PAUSE,
            rate_settings: RateSettings::default(),
            on_submitted: None,
            ledger: None,
            ledger_path: None,
            answer_deadlines: Vec::new(),
            schema_url: None,
            schema_cache_dir: None,
            schema_max_age: crate::live::store::DEFAULT_SCHEMA_MAX_AGE,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field(
                "base_url",
                &self.base_url.as_deref().map(raw_url_for_display),
            )
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("timeouts", &self.timeouts)
            .field("connect_timeout", &self.connect_timeout)
            .field("schedule", &self.schedule)
            .field("retry", &self.retry)
            .field("wait", &self.wait)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("ledger", &self.ledger)
            .field("ledger_path", &self.ledger_path)
            .field(
                "schema_url",
                &self.schema_url.as_deref().map(raw_url_for_display),
            )
            .field("schema_cache_dir", &self.schema_cache_dir)
            .field("schema_max_age", &self.schema_max_age)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API key from the Modellix console. Sent only as `Authorization: Bearer` to
    /// the API origin; never printed.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The key and origin of resolved [`Credentials`] (from
    /// [`resolve`](crate::profile::resolve::resolve)); no origin leaves the base URL as
    /// it was.
    pub fn credentials(mut self, credentials: &Credentials) -> Self {
        self.api_key = Some(credentials.api_key.clone());
        if let Some((url, _)) = &credentials.base_url {
            self.base_url = Some(url.clone());
        }
        self
    }

    /// Another origin (a proxy, or a local sandbox). Must be https; plain http only for
    /// `localhost`, `127.0.0.1` and `[::1]`. No credentials, query or fragment.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Appended to the `User-Agent` (`modellix-rust/<version> <suffix>`).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Time allowed for a whole read (a status query: connect, send, answer; default
    /// 30 s), and for a submit's answer to start after its body was sent and to keep
    /// coming.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.read = timeout;
        self.timeouts.answer = timeout;
        self
    }

    /// How long the whole answer to one kind of request may take to arrive, from the
    /// request's end to the answer's last byte, however it trickles in. Defaults follow
    /// [`timeout`](Self::timeout): a submit 2×, an upload 4×, a status query and a
    /// platform read 1× (60 s, 120 s, 30 s, 30 s). A submit whose answer misses it is an
    /// unknown outcome (the POST was sent): check before sending it again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use modellix::RequestKind;
    /// # fn main() -> Result<(), modellix::ConfigError> {
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .answer_deadline(RequestKind::Submit, Duration::from_secs(90))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn answer_deadline(mut self, kind: RequestKind, deadline: Duration) -> Self {
        self.answer_deadlines.push((kind, deadline));
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long sending a request body may take: `base` plus its size at
    /// `min_bytes_per_sec` (default 30 s plus 64 KiB/s, so a 64 MiB body gets about
    /// 17 minutes on a slow uplink instead of ending as an unknown outcome).
    pub fn send_timeout(mut self, base: Duration, min_bytes_per_sec: u64) -> Self {
        self.timeouts.send_base = base;
        self.timeouts.min_send_rate = min_bytes_per_sec.max(1);
        self
    }

    /// No timeouts of the client's own at all: for tests on tokio's paused clock,
    /// where timers fire while a server on another thread works.
    pub fn without_timeouts(mut self) -> Self {
        self.timeouts = Timeouts {
            read: Duration::MAX,
            answer: Duration::MAX,
            send_base: Duration::MAX,
            min_send_rate: u64::MAX,
        };
        self.connect_timeout = Duration::MAX;
        self
    }

    /// When to query a running task. Default: [`LearningSchedule`], which behaves as
    /// [`Backoff::default`](crate::wait::schedule::Backoff) (first query about 2 s after submit, ×1.5
    /// up to 10 s, ±20% jitter) until a few tasks of the same kind have finished, then
    /// polls densely around their usual run time (see `BENCHMARKS.md`).
    pub fn poll_schedule(mut self, schedule: impl PollSchedule + 'static) -> Self {
        self.schedule = Some(Arc::new(schedule));
        self
    }

    /// How to retry a failed status query (default: [`ExponentialRetry::default`]).
    pub fn retry_policy(mut self, retry: impl RetryPolicy + 'static) -> Self {
        self.retry = Some(Arc::new(retry));
        self
    }

    /// Deadline and concurrency of waits (default: 10 minutes, 32 at once).
    pub fn wait_options(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }

    /// Whether a 429 seen by one request pauses every request of this client
    /// (default: yes). Turning it off is for measurements.
    pub fn shared_rate_limit(mut self, shared: bool) -> Self {
        self.shared_rate_limit = shared;
        self
    }

    /// Paces every request of this client (submits, polls) to stay under the key's
    /// limit: `Some(n)` assumes `n` a minute until the server's `X-RateLimit-*` headers
    /// say otherwise (default: Modellix's 100); `None` sends as fast as asked and only
    /// pauses after a 429.
    pub fn requests_per_minute(mut self, per_minute: Option<u32>) -> Self {
        self.requests_per_minute = per_minute;
        self
    }

    /// The team's running-task limit, from its tier ([`TIERS`](crate::TIERS): 2 under a
    /// $10 top-up, then 10, 20, 30, 50, 100). Modellix says it in no header; without
    /// this setting [`Client::running_task_limit`] is the lowest tier's 2. Programs that
    /// run many tasks (like `modellix batch`) size their concurrency from it. With a
    /// ledger that shares the team's slots (PostgreSQL), it is the number of slots the
    /// instances share; without it, the limit learned for the key (`modellix batch`
    /// keeps one), else 2.
    ///
    /// ```
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .running_task_limit(10) // a $10 tier
    ///     .requests_per_minute(Some(100))
    ///     .build()?;
    /// assert_eq!(client.running_task_limit(), 10);
    /// # Ok::<(), modellix::ConfigError>(())
    /// ```
    pub fn running_task_limit(mut self, tasks: u32) -> Self {
        self.running_task_limit = Some(tasks);
        self
    }

    /// How long one of the team's shared running-task slots stays held without a
    /// status query of its task, before another instance on the same ledger takes the
    /// task over and polls it to the end (default
    /// [`DEFAULT_SLOT_LEASE`](crate::ledger::slots::DEFAULT_SLOT_LEASE), 2 minutes).
    /// Only a ledger that shares slots uses it ([`TaskLedger::shares_slots`]: the
    /// PostgreSQL one). Keep it well above the longest pause between two polls.
    ///
    /// ```
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .slot_lease(std::time::Duration::from_secs(300))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), modellix::ConfigError>(())
    /// ```
    pub fn slot_lease(mut self, lease: Duration) -> Self {
        self.slot_lease = lease;
        self
    }

    /// The longest client-wide pause one server hint (`Retry-After`,
    /// `X-RateLimit-Reset`) can cause (default 60 s). Waits check their own deadline
    /// and the pause again after every sleep.
    pub fn max_rate_limit_pause(mut self, pause: Duration) -> Self {
        self.max_rate_limit_pause = pause;
        self
    }

    /// The length of the window the server's per-minute numbers refer to (default
    /// 60 s). Only a time-scaled server needs another: against a sandbox whose minute
    /// lasts 6 s (`time_scale(0.1)`), pass 6 s, and 100 requests a minute become 100
    /// every 6 s. A zero window counts as 1 ms.
    ///
    /// ```
    /// # fn main() -> Result<(), modellix::ConfigError> {
    /// use std::time::Duration;
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .base_url("http://127.0.0.1:8080")
    ///     .rate_limit_window(Duration::from_secs(6))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn rate_limit_window(mut self, window: Duration) -> Self {
        self.rate_settings.window = window;
        self
    }

    /// The share of the key's rate this client leaves unused (default 0.05: it paces
    /// at 95 of 100 requests a minute), so that requests arriving at the server
    /// closer together than they were sent still find the server's tokens. Clamped
    /// to `0.0..=0.9`; not a number counts as the default.
    pub fn rate_limit_margin(mut self, share: f64) -> Self {
        self.rate_settings.margin = share;
        self
    }

    /// Requests of the server's budget (`X-RateLimit-Remaining`) this client never
    /// plans to take (default 2), on top of
    /// [`rate_limit_margin`](ClientBuilder::rate_limit_margin).
    pub fn rate_limit_reserve(mut self, requests: u32) -> Self {
        self.rate_settings.reserve = requests;
        self
    }

    /// Where paid requests are recorded.
    ///
    /// By default, the durable [`SqliteLedger`](crate::ledger::SqliteLedger) at
    /// [`default_ledger_path`](crate::ledger::default_ledger_path)
    /// (`$MODELLIX_LEDGER`, else `modellix/ledger.sqlite` in the platform's data
    /// directory): the command line's ledger, so `modellix recover` and
    /// `modellix history` list this program's tasks, and a crash loses no task id. It
    /// is opened by the first call that needs it (a submit, a wait), not by
    /// [`build`](ClientBuilder::build). Tests and sandboxes choose
    /// [`memory_ledger`](ClientBuilder::memory_ledger).
    pub fn ledger(mut self, ledger: impl TaskLedger + 'static) -> Self {
        self.ledger = Some(Arc::new(ledger));
        self.ledger_path = None;
        self
    }

    /// Records paid requests in a [`SqliteLedger`](crate::ledger::SqliteLedger) at
    /// `path` (created if needed), so a crash loses no task: see [`Client::recover`].
    /// A `postgres://` URL opens a PostgreSQL ledger with the `postgres` feature (and
    /// is refused by [`build`](ClientBuilder::build) without it): see [`open_ledger`].
    pub fn ledger_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.ledger_path = Some(path.into());
        self.ledger = None;
        self
    }

    /// Records paid requests in a [`MemoryLedger`], kept only as long as the process:
    /// for tests and sandboxes, whose tasks do not belong in the durable ledger.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), modellix::Error> {
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .memory_ledger()
    ///     .build()?;
    /// assert!(client.history(0).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn memory_ledger(self) -> Self {
        self.ledger(MemoryLedger::new())
    }

    /// Runs, and is awaited, for every submit outcome that carries a task id (accepted,
    /// or unknown with an id seen in the answer), after the ledger recorded it (or,
    /// when the ledger never took it, after the retries gave up: then the hook and
    /// [`Error::LedgerUnrecorded`] are the only records of the id) and before `submit`
    /// returns. It runs even when the caller stopped waiting for `submit`; a panic in
    /// it is caught and logged, never unwound into the submit.
    ///
    /// ```
    /// # fn main() -> Result<(), modellix::ConfigError> {
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .on_submitted(|entry| async move {
    ///         // e.g. write entry.task_id() to your own database
    ///         println!("paid request {} -> {:?}", entry.id, entry.task_id());
    ///     })
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn on_submitted<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(LedgerEntry) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_submitted = Some(Arc::new(move |entry| Box::pin(hook(entry))));
        self
    }

    /// Where the public schema pages of models this build does not vendor are read
    /// (`{url}/models/{provider}/{model}/api_schema`, without the key); default
    /// `$MODELLIX_SCHEMA_URL`, else [`DEFAULT_SCHEMA_URL`](crate::live::page::DEFAULT_SCHEMA_URL).
    /// https, or plain http to a loopback host (a sandbox, a mirror in a test).
    ///
    /// ```
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .schema_url("http://127.0.0.1:8080")
    ///     .build()?;
    /// # Ok::<(), modellix::ConfigError>(())
    /// ```
    pub fn schema_url(mut self, url: impl Into<String>) -> Self {
        self.schema_url = Some(url.into());
        self
    }

    /// The folder of the schema page cache (default: `modellix/schemas` in the user's
    /// cache directory, `$XDG_CACHE_HOME` on Linux); `None` keeps no cache, so every
    /// live schema is fetched and an unreachable page has no fallback.
    pub fn schema_cache_dir(mut self, dir: Option<impl Into<PathBuf>>) -> Self {
        self.schema_cache_dir = Some(dir.map(Into::into));
        self
    }

    /// How long a cached schema page is used before it is fetched again (default
    /// [`DEFAULT_SCHEMA_MAX_AGE`](crate::live::store::DEFAULT_SCHEMA_MAX_AGE), a day). An older copy is
    /// still used, with a warning, when the page cannot be reached.
    pub fn schema_max_age(mut self, age: Duration) -> Self {
        self.schema_max_age = age;
        self
    }

    /// Checks every setting and builds the client.
    pub fn build(self) -> Result<Client, ConfigError> {
        let running_task_limit = match self.running_task_limit {
            Some(0) => {
                return Err(ConfigError {
                    field: "running_task_limit",
                    problem: "is 0; give the team's running tasks from its tier (2 under a \
                              $10 top-up, up to 100), e.g. .running_task_limit(2)"
                        .into(),
                });
            }
            Some(n) => n,
            None => LOWEST_TIER_RUNNING_TASKS,
        };
        if self.slot_lease < Duration::from_secs(1) || self.slot_lease > Duration::from_secs(86_400)
        {
            return Err(ConfigError {
                field: "slot_lease",
                problem: format!(
                    "is {:?}; a slot's lease must outlast the pause between two polls of its \
                     task and end within a day, so give 1 s to 24 h (the default is 2 minutes)",
                    self.slot_lease
                ),
            });
        }
        let key = self
            .api_key
            .as_ref()
            .map(ApiKey::expose)
            .ok_or_else(|| ConfigError {
                field: "api_key",
                problem: "is missing; pass it to ClientBuilder::api_key or use Client::from_env"
                    .into(),
            })?;
        let authorization = Some(authorization(key)?);
        let base = parse_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let schema_url = match &self.schema_url {
            Some(url) => url.clone(),
            None => std::env::var(crate::live::page::SCHEMA_URL_ENV)
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| crate::live::page::DEFAULT_SCHEMA_URL.to_owned()),
        };
        let schema_origin = parse_base_url(&schema_url).map_err(|e| ConfigError {
            field: "schema_url",
            problem: format!(
                "{} (set by ClientBuilder::schema_url or ${})",
                e.problem,
                crate::live::page::SCHEMA_URL_ENV
            ),
        })?;
        let schemas = crate::live::store::SchemaStore::new(
            schema_origin,
            self.schema_cache_dir
                .clone()
                .unwrap_or_else(crate::live::cache::default_dir),
            self.schema_max_age,
        )
        .map_err(|problem| ConfigError {
            field: "http_client",
            problem,
        })?;
        let mut user_agent = format!("modellix-rust/{}", env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = &self.user_agent_suffix {
            user_agent = format!("{user_agent} {suffix}");
        }
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| ConfigError {
            field: "user_agent_suffix",
            problem: "must be visible ASCII (a header value)".into(),
        })?;
        let ledger: Arc<dyn TaskLedger> = match (self.ledger, &self.ledger_path) {
            (Some(ledger), _) => ledger,
            (None, Some(path)) => open_ledger(path).map_err(|e| ConfigError {
                field: "ledger_path",
                problem: e.message().to_owned(),
            })?,
            (None, None) => Arc::new(DefaultLedger::new()),
        };
        let mut limiter = RateLimiter::new(
            self.requests_per_minute,
            self.shared_rate_limit,
            self.max_rate_limit_pause,
            self.rate_settings,
        );
        if ledger.shares_rate() {
            // Instances on one database share the key's budget, not only the slots.
            limiter = limiter.with_gate(Arc::new(LedgerGate {
                ledger: Arc::clone(&ledger),
                key: crate::redact::key_fingerprint(key),
            }));
        }
        let transport = Transport::new(
            &base,
            authorization,
            user_agent,
            Redactor::new(Some(key)),
            self.timeouts,
            self.connect_timeout,
            limiter,
        )
        .map_err(|problem| ConfigError {
            field: "http_client",
            problem,
        })?;
        let transport = self
            .answer_deadlines
            .iter()
            .fold(transport, |t, (kind, d)| t.with_answer_deadline(*kind, *d));
        Ok(Client {
            shared: Arc::new(Shared {
                transport,
                schedule: self
                    .schedule
                    .unwrap_or_else(|| Arc::new(LearningSchedule::default())),
                retry: self
                    .retry
                    .unwrap_or_else(|| Arc::new(ExponentialRetry::default())),
                wait: self.wait,
                query_slots: crate::wait::query_slots::QuerySlots::new(self.wait.queries_in_flight),
                ledger,
                on_submitted: self.on_submitted,
                marker: format!("{}-{:08x}", std::process::id(), fastrand::u32(..)),
                primed: tokio::sync::OnceCell::new(),
                wakers: Default::default(),
                schemas,
                slot_claim: SlotClaim::new(
                    crate::redact::key_fingerprint(key),
                    self.running_task_limit,
                    running_task_limit,
                )
                .with_lease(self.slot_lease),
            }),
            running_task_limit,
            running_task_limit_set: self.running_task_limit.is_some(),
            key_fingerprint: Arc::from(crate::redact::key_fingerprint(key)),
        })
    }
}

/// `Bearer <key>` as a sensitive header value; the key is checked, never echoed.
fn authorization(key: &str) -> Result<HeaderValue, ConfigError> {
    let bad = |problem: &str| ConfigError {
        field: "api_key",
        problem: problem.to_owned(),
    };
    if key.trim().is_empty() {
        return Err(bad("is empty; copy the key from the Modellix console"));
    }
    // Bytes, not `str` slicing: a multi-byte character among the first seven must not
    // panic (a panic message would print the key).
    if key
        .as_bytes()
        .get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"bearer "))
    {
        return Err(bad(
            "starts with \"Bearer \"; pass the key alone, the client adds the prefix",
        ));
    }
    if key != key.trim() {
        return Err(bad(
            "has leading or trailing white space; remove it (often a stray newline)",
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "holds white space, control or non-ASCII characters; Modellix keys are visible ASCII",
        ));
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
        .map_err(|_| bad("is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Checks the base URL rules and returns it parsed. Messages show the URL without
/// credentials or query: a key pasted there must not be printed.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url, ConfigError> {
    let shown = raw_url_for_display(raw);
    let bad = |problem: String| ConfigError {
        field: "base_url",
        problem,
    };
    let url = Url::parse(raw).map_err(|e| bad(format!("{shown:?} is not a URL ({e})")))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(format!(
                "{shown:?} uses plain http; use https (http is allowed only for localhost, 127.0.0.1 and [::1])"
            )));
        }
        other => return Err(bad(format!("{shown:?} has scheme {other:?}; use https"))),
    }
    if url.host().is_none() {
        return Err(bad(format!("{shown:?} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not hold credentials; pass the key with api_key".into()
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!("{shown:?} must not have a query or fragment")));
    }
    Ok(url)
}

//! The crate's error type: one enum, with predicates for the questions callers ask.

pub(crate) mod api;
pub(crate) mod shown;

use std::fmt;
use std::time::Duration;

use crate::{schema::validate::ValidationError, task::status::TaskStatus};

/// A client that could not be built; says which setting is wrong and what is expected.
///
/// The API key itself never appears in this error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting (`api_key`, `base_url`, `MODELLIX_API_KEY`, …).
    pub field: &'static str,
    /// What is wrong and what to do.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid client setting {}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// An error answer from Modellix (`{"code": …, "message": "<Category>: <detail>"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The envelope's `code`, when the body was a Modellix envelope.
    pub code: Option<i64>,
    /// The part of `message` before the first `:` (`"Insufficient balance"`).
    pub category: Option<String>,
    /// The detail after the category, or the whole message, or a short excerpt of a
    /// non-JSON body (an HTML error page from a proxy, say).
    pub message: String,
    /// The server's hint from `Retry-After` or `X-RateLimit-Reset`.
    pub retry_after: Option<Duration>,
    /// The server's `X-Request-Id`, when it sent one: quote it to Modellix support.
    pub request_id: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(category) = &self.category {
            write!(f, " {category}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        // Only where another try can help: a 401 with a `Retry-After` header (some
        // gateways send one on every answer) must not invite a retry.
        if let Some(after) = self.retry_after
            && crate::transport::retry::is_retryable_status(self.status)
        {
            write!(f, " (retry after {} s)", after.as_secs_f64().ceil())?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong, each case saying what to do next.
///
/// Every error about a task that exists (or may exist) carries its id: see
/// [`Error::task_id`]. The API key never appears in an error.
///
/// ```no_run
/// # async fn run(client: modellix::Client, request: modellix::types::Seedance20V2vRequest) {
/// match client.submit(&request).await {
///     Ok(task) => println!("submitted {}", task.id()),
///     Err(e) if e.is_invalid_input() => eprintln!("fix the request: {e}"),
///     Err(e) if e.is_rejected() => eprintln!("refused, nothing billed: {e}"),
///     Err(e) if e.is_outcome_unknown() => {
///         // Never resubmit blindly: the task may exist.
///         eprintln!("{e}; task id seen: {:?}", e.task_id());
///     }
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The client settings are wrong; nothing was sent.
    Config(ConfigError),
    /// The request breaks its schema or prose rules; nothing was sent.
    Validation(ValidationError),
    /// A body for a model this build does not vendor could not be checked, because its
    /// live schema could not be had (unreachable with nothing cached, refused, not a
    /// schema); nothing was sent. To send it unchecked on purpose, use
    /// [`SubmitOptions::skip_schema_check`](crate::task::submit::SubmitOptions::skip_schema_check)
    /// (`--no-schema` on the command line).
    NoSchema {
        /// The model the body was for.
        model_id: String,
        /// Why no schema could be had.
        reason: String,
    },
    /// The request could not be sent at all (connection refused, DNS, TLS). Nothing
    /// reached the server, so submitting again is safe.
    NotSent {
        /// The task this was about, for status queries.
        task_id: Option<String>,
        /// What failed.
        reason: String,
    },
    /// Modellix refused the submission with an answer that proves no task was created
    /// (400, 401, 402, 403, 404, 405, 413, 415, 422, 429).
    Rejected {
        /// The model the request was for.
        model_id: String,
        /// The answer.
        api: Box<ApiError>,
    },
    /// The submission was sent but its outcome is unknown: a task may have been
    /// created and may be billed. Do not resubmit before checking.
    OutcomeUnknown {
        /// The model the request was for.
        model_id: String,
        /// The task id, whenever one was seen in the answer.
        task_id: Option<String>,
        /// What happened (connection lost after sending, HTTP 502, …).
        reason: String,
        /// The HTTP status, when an answer (or its headers) arrived.
        status: Option<u16>,
    },
    /// The task ledger could not record a paid request: nothing was sent.
    Ledger(crate::ledger::LedgerError),
    /// Every one of the team's running-task slots, shared through the ledger by the
    /// instances on it, stayed held for as long as the submit was willing to wait
    /// ([`SubmitOptions::slot_wait`](crate::task::submit::SubmitOptions::slot_wait)):
    /// nothing was recorded or sent; submit again once a task ends.
    SlotsFull {
        /// The model the request was for.
        model_id: String,
        /// The slots the team has, as counted.
        limit: u32,
        /// How long the submit waited for one.
        waited: Duration,
    },
    /// The paid request was sent and its outcome is known, but the task ledger could
    /// not record it, even after retrying for minutes: the ledger's entry still reads
    /// "may have created a task". The outcome (with the task id, when one was created
    /// or seen) is here: keep it, resume the task by id, and correct the entry once
    /// the ledger works again.
    LedgerUnrecorded {
        /// The model the request was for.
        model_id: String,
        /// The ledger entry that misses the outcome.
        entry: i64,
        /// What became of the request: accepted with its task id, rejected, not sent,
        /// or unknown.
        outcome: Box<crate::ledger::Outcome>,
        /// The ledger's last failure.
        ledger: Box<crate::ledger::LedgerError>,
    },
    /// Saving a task's files failed; the error names the task and the file.
    Download(crate::download::DownloadError),
    /// A local file could not be used as a request's input.
    Media(crate::media::image::MediaError),
    /// A status query failed for good: 401, 403, 404, another non-retryable answer, or
    /// retryable failures past the deadline of a single `status()` call.
    Api {
        /// The task queried.
        task_id: String,
        /// The answer.
        api: Box<ApiError>,
    },
    /// An answer could not be understood (not a Modellix envelope, a different task id,
    /// over the size limit).
    Malformed {
        /// The task this was about, if any.
        task_id: Option<String>,
        /// What was wrong.
        reason: String,
    },
    /// The network failed during a status query (after the request may have been sent;
    /// queries are safe to repeat).
    Transport {
        /// The task queried.
        task_id: String,
        /// What failed.
        reason: String,
    },
    /// The task finished without a result.
    TaskFailed {
        /// The task.
        task_id: String,
        /// Why, as Modellix said it.
        failure: TaskFailure,
    },
    /// The task succeeded but its answer lists no result files: there is nothing to
    /// save. Not a success for a caller that expects files; the task id is kept to
    /// query it again (a result may appear late) or to quote to Modellix support.
    EmptyResult {
        /// The task.
        task_id: String,
        /// The final answer, unknown fields kept.
        info: Box<crate::types::TaskInfo>,
    },
    /// The wait's deadline passed before the task finished.
    TimedOut {
        /// The task.
        task_id: String,
        /// Time spent waiting.
        elapsed: Duration,
        /// Status queries made.
        polls: u32,
        /// The last status seen, if any query succeeded.
        last_status: Option<TaskStatus>,
        /// The last transient error, if the last queries failed.
        last_error: Option<String>,
    },
    /// A local file cannot be uploaded (unreadable, over the 16 MB limit, not a known
    /// image, video or audio format); nothing was sent.
    LocalFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The team already keeps as many files as Modellix allows (10): delete some with
    /// [`Client::delete_file`](crate::client::Client::delete_file) or wait for them to expire.
    UploadQuota {
        /// The answer.
        api: Box<ApiError>,
    },
    /// An upload was sent but its outcome is unknown: the file may be stored and count
    /// against the quota. Check with [`Client::list_files`](crate::client::Client::list_files)
    /// before uploading again.
    UploadUnknown {
        /// What happened.
        reason: String,
        /// The HTTP status, when an answer arrived.
        status: Option<u16>,
    },
    /// No uploaded file has this id (deleted, expired or never existed).
    FileNotFound {
        /// The id asked for.
        file_id: String,
    },
    /// A call to an endpoint other than a task submit or query (catalog, account,
    /// files) got an error answer.
    Endpoint {
        /// `METHOD /path`.
        endpoint: String,
        /// The answer.
        api: Box<ApiError>,
    },
    /// A call to an endpoint other than a task submit or query failed on the network
    /// after it may have been sent (reads are safe to repeat).
    Network {
        /// `METHOD /path`.
        endpoint: String,
        /// What failed.
        reason: String,
    },
}

impl Error {
    /// The task this error is about, whenever one is known.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            Error::Config(_)
            | Error::Validation(_)
            | Error::NoSchema { .. }
            | Error::Rejected { .. }
            | Error::Ledger(_)
            | Error::SlotsFull { .. }
            | Error::LocalFile { .. }
            | Error::UploadQuota { .. }
            | Error::UploadUnknown { .. }
            | Error::FileNotFound { .. }
            | Error::Endpoint { .. }
            | Error::Network { .. }
            | Error::Media(_) => None,
            Error::Download(e) => Some(e.task_id()),
            Error::LedgerUnrecorded { outcome, .. } => outcome.task_id(),
            Error::NotSent { task_id, .. }
            | Error::OutcomeUnknown { task_id, .. }
            | Error::Malformed { task_id, .. } => task_id.as_deref(),
            Error::Api { task_id, .. }
            | Error::Transport { task_id, .. }
            | Error::TaskFailed { task_id, .. }
            | Error::EmptyResult { task_id, .. }
            | Error::TimedOut { task_id, .. } => Some(task_id),
        }
    }

    /// The HTTP status of the answer behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Rejected { api, .. }
            | Error::Api { api, .. }
            | Error::UploadQuota { api }
            | Error::Endpoint { api, .. } => Some(api.status),
            Error::OutcomeUnknown { status, .. } | Error::UploadUnknown { status, .. } => *status,
            Error::FileNotFound { .. } => Some(404),
            _ => None,
        }
    }

    /// True when the submission was refused and nothing was created.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected { .. })
    }

    /// True when a submission may or may not have created a task: check before
    /// resubmitting (see [`Error::task_id`]).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// True when a submit's outcome is known but the task ledger missed it
    /// ([`Error::LedgerUnrecorded`]): keep [`Error::task_id`], the ledger does not have it.
    ///
    /// ```
    /// use modellix::{Error, LedgerError, Outcome};
    /// let e = Error::LedgerUnrecorded {
    ///     model_id: "bytedance/seedance-2.0-v2v".into(),
    ///     entry: 7,
    ///     outcome: Box::new(Outcome::Accepted { task_id: "task-1".into() }),
    ///     ledger: Box::new(LedgerError::new("disk full")),
    /// };
    /// assert!(e.is_ledger_unrecorded() && !e.is_outcome_unknown());
    /// assert_eq!(e.task_id(), Some("task-1"));
    /// ```
    pub fn is_ledger_unrecorded(&self) -> bool {
        matches!(self, Error::LedgerUnrecorded { .. })
    }

    /// True when nothing was created and nothing will be billed: the request was
    /// refused before sending (settings, validation, local files, a ledger that could
    /// not record the intent), never sent, or rejected by Modellix. A submit that
    /// ends with this error may be sent again once its cause is fixed.
    pub fn nothing_created(&self) -> bool {
        match self {
            Error::Config(_)
            | Error::Validation(_)
            | Error::NoSchema { .. }
            | Error::Media(_)
            | Error::LocalFile { .. }
            | Error::Ledger(_)
            | Error::SlotsFull { .. }
            | Error::NotSent { .. }
            | Error::Rejected { .. } => true,
            Error::LedgerUnrecorded { outcome, .. } => matches!(
                **outcome,
                crate::ledger::Outcome::Rejected { .. } | crate::ledger::Outcome::NotSent { .. }
            ),
            _ => false,
        }
    }

    /// True when the wait's deadline passed; the task may still be running.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::TimedOut { .. })
    }

    /// True when the task itself failed.
    pub fn is_task_failed(&self) -> bool {
        matches!(self, Error::TaskFailed { .. })
    }

    /// True when the task succeeded without any result file ([`Error::EmptyResult`]):
    /// nothing can be saved; [`Error::task_id`] names the task.
    ///
    /// ```no_run
    /// # async fn run(task: modellix::TaskHandle) {
    /// match task.wait().await {
    ///     Ok(output) => println!("{} files", output.resources().len()),
    ///     Err(e) if e.is_empty_result() => eprintln!("{e}"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    pub fn is_empty_result(&self) -> bool {
        matches!(self, Error::EmptyResult { .. })
    }

    /// True for bad input caught before sending (settings, request, local files).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::Config(_)
                | Error::Validation(_)
                | Error::NoSchema { .. }
                | Error::Media(_)
                | Error::LocalFile { .. }
        )
    }

    /// True when the team's file quota is full (see [`Error::UploadQuota`]).
    pub fn is_quota_exceeded(&self) -> bool {
        matches!(self, Error::UploadQuota { .. })
    }

    /// True when an upload may or may not have stored the file: list the files before
    /// uploading again.
    pub fn is_upload_unknown(&self) -> bool {
        matches!(self, Error::UploadUnknown { .. })
    }

    /// True when the thing asked for does not exist (an uploaded file, a task).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::FileNotFound { .. }) || self.status() == Some(404)
    }

    /// True when repeating the same call later may succeed without any change: a
    /// transport failure, a rate limit, a 5xx, or a timeout. Never true for an unknown
    /// submit outcome: check the task first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::NotSent { .. }
            | Error::Transport { .. }
            | Error::TimedOut { .. }
            | Error::Network { .. } => true,
            Error::Rejected { api, .. } | Error::Api { api, .. } | Error::Endpoint { api, .. } => {
                crate::transport::retry::is_retryable_status(api.status)
            }
            _ => false,
        }
    }

    /// The server's request id for the answer behind this error, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Rejected { api, .. }
            | Error::Api { api, .. }
            | Error::UploadQuota { api }
            | Error::Endpoint { api, .. } => api.request_id.as_deref(),
            _ => None,
        }
    }

    /// Rate-limit and similar hints from the server, when given.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Rejected { api, .. }
            | Error::Api { api, .. }
            | Error::UploadQuota { api }
            | Error::Endpoint { api, .. } => api.retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The inner error is the whole message, so it is not also the source:
            // error reporters would print it twice.
            Error::Config(e) => e.fmt(f),
            Error::Validation(e) => e.fmt(f),
            Error::NoSchema { model_id, reason } => write!(
                f,
                "no schema to check the body of {model_id}, so nothing was sent: {reason}. \
                 Check the model id (`modellix models`) and the network, or point \
                 MODELLIX_SCHEMA_URL at a mirror; to send it unchecked on purpose, use \
                 SubmitOptions::skip_schema_check() (`--no-schema` on the command line)"
            ),
            Error::NotSent { task_id, reason } => {
                write!(f, "request not sent: {reason}")?;
                if let Some(id) = task_id {
                    write!(f, " (task {id})")?;
                }
                write!(f, "; nothing reached Modellix, it is safe to try again")
            }
            Error::Rejected { model_id, api } => {
                write!(
                    f,
                    "Modellix rejected the {model_id} request, no task was created: {api}"
                )?;
                f.write_str(match api.status {
                    401 => "; check MODELLIX_API_KEY",
                    402 => "; top up the account balance",
                    429 => "; slow down and submit again later",
                    _ => "; fix the request and submit again",
                })
            }
            Error::Ledger(e) => write!(f, "{e}; nothing was sent"),
            Error::SlotsFull {
                model_id,
                limit,
                waited,
            } => write!(
                f,
                "all {limit} of the team's running-task slots stayed held (by this and other \
                 instances on the same ledger) for {:.1} s, so the {model_id} request was not \
                 sent; submit it again once a task ends, or raise the running-task limit if \
                 the team's tier allows more",
                waited.as_secs_f64()
            ),
            Error::LedgerUnrecorded {
                model_id,
                entry,
                outcome,
                ledger,
            } => {
                let shown = outcome.summary();
                write!(
                    f,
                    "the {model_id} request {shown}, but the task ledger could not record it \
                     ({ledger}), so its entry {entry} still reads \"may have created a \
                     task\". "
                )?;
                match outcome.task_id() {
                    Some(id) => write!(
                        f,
                        "Keep the task id {id}: resume it with client.task(\"{id}\")?.wait() \
                         and do not resubmit"
                    ),
                    None => f.write_str("Record this outcome before sending the request again"),
                }
            }
            Error::OutcomeUnknown {
                model_id,
                task_id,
                reason,
                ..
            } => {
                write!(
                    f,
                    "outcome unknown for the {model_id} submission: {reason}. "
                )?;
                match task_id {
                    Some(id) => write!(
                        f,
                        "Do not resubmit: task {id} may exist and be billed; check it with \
                         client.task(\"{id}\")"
                    ),
                    None => write!(
                        f,
                        "Do not resubmit until you have checked: a task may exist and be \
                         billed (see your Modellix console)"
                    ),
                }
            }
            Error::Api { task_id, api } => write!(f, "query of task {task_id} failed: {api}"),
            Error::Malformed { task_id, reason } => {
                write!(f, "unreadable answer from Modellix: {reason}")?;
                if let Some(id) = task_id {
                    write!(
                        f,
                        " (task {id}; the task itself may be fine, query it again later)"
                    )?;
                }
                Ok(())
            }
            Error::Transport { task_id, reason } => {
                write!(
                    f,
                    "network error while querying task {task_id}: {reason}; queries are safe to repeat"
                )
            }
            Error::TaskFailed { task_id, failure } => {
                write!(f, "task {task_id} failed")?;
                match (&failure.code, &failure.message) {
                    (Some(code), Some(message)) => write!(f, ": {code}: {message}"),
                    (Some(text), None) | (None, Some(text)) => write!(f, ": {text}"),
                    (None, None) => match &failure.raw {
                        Some(raw) => write!(f, ": {raw}"),
                        None => Ok(()),
                    },
                }
            }
            Error::EmptyResult { task_id, .. } => write!(
                f,
                "task {task_id} succeeded but Modellix listed no result files, so nothing \
                 was saved; query it again later (client.task(\"{task_id}\")?.status()) \
                 or quote the task id to Modellix support"
            ),
            Error::Download(e) => e.fmt(f),
            Error::Media(e) => e.fmt(f),
            Error::TimedOut {
                task_id,
                elapsed,
                polls,
                last_status,
                last_error,
            } => {
                write!(
                    f,
                    "gave up waiting for task {task_id} after {:.1} s and {polls} status queries",
                    elapsed.as_secs_f64()
                )?;
                if let Some(status) = last_status {
                    write!(f, " (last status: {status})")?;
                }
                if let Some(error) = last_error {
                    write!(f, " (last error: {error})")?;
                }
                write!(
                    f,
                    "; the task may still be running and billed; resume with the task id {task_id}"
                )
            }
            Error::LocalFile { path, reason } => {
                write!(
                    f,
                    "cannot upload {}: {reason}; nothing was sent",
                    path.display()
                )
            }
            Error::UploadQuota { api } => write!(
                f,
                "the team's file quota is full ({api}); delete uploaded files \
                 (client.list_files(), client.delete_file(id)) or wait for them to expire"
            ),
            Error::UploadUnknown { reason, .. } => write!(
                f,
                "outcome unknown for the upload: {reason}. The file may be stored and count \
                 against the quota: check with client.list_files() before uploading again"
            ),
            Error::FileNotFound { file_id } => write!(
                f,
                "no uploaded file {file_id} (deleted, expired or never uploaded)"
            ),
            Error::Endpoint { endpoint, api } => write!(f, "{endpoint} failed: {api}"),
            Error::Network { endpoint, reason } => write!(
                f,
                "network error during {endpoint}: {reason}; it is safe to try again"
            ),
        }
    }
}

impl std::error::Error for Error {
    /// The cause of this error. Where the error wraps another whose text is already its
    /// whole message (a setting, a validation, a download), the wrapped error's own
    /// cause is returned, so a reporter walking the chain never prints a line twice.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Ledger(e) => new_cause(e),
            Error::LedgerUnrecorded { ledger, .. } => Some(ledger.as_ref()),
            Error::Download(e) => new_cause(e),
            Error::Media(e) => new_cause(e),
            _ => None,
        }
    }
}

/// The first cause of `e` whose text `e`'s own message does not already include.
fn new_cause<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    let shown = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        if !shown.contains(&c.to_string()) {
            return Some(c);
        }
        cause = c.source();
    }
    None
}

/// A builder's `build()` failed (a missing required field, a value out of its type):
/// a validation error, so `?` works from request building to download.
impl From<crate::types::error::ConversionError> for Error {
    fn from(e: crate::types::error::ConversionError) -> Self {
        let mut checker = crate::schema::validate::Checker::default();
        checker.violation(
            "",
            crate::schema::validate::Rule::Prose {
                message: e.to_string(),
            },
        );
        match checker.finish() {
            Err(e) => Error::Validation(e),
            Ok(_) => Error::Config(ConfigError {
                field: "request",
                problem: e.to_string(),
            }),
        }
    }
}

impl From<crate::download::DownloadError> for Error {
    fn from(e: crate::download::DownloadError) -> Self {
        Error::Download(e)
    }
}

impl From<crate::media::image::MediaError> for Error {
    fn from(e: crate::media::image::MediaError) -> Self {
        Error::Media(e)
    }
}

/// Why a task failed, from the `error` of its final answer: `code` and `message` when
/// Modellix sent an object with them (or a bare string, as the message), and the raw
/// value whatever its shape.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskFailure {
    /// Modellix's error code (`"content_policy"`), numbers given as text.
    pub code: Option<String>,
    /// Modellix's explanation.
    pub message: Option<String>,
    /// The `error` value as given, if any.
    pub raw: Option<serde_json::Value>,
}

impl TaskFailure {
    /// Reads the `error` of a failed task's answer.
    pub fn from_raw(raw: Option<serde_json::Value>) -> Self {
        use serde_json::Value;
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let (code, message) = match &raw {
            Some(Value::Object(map)) => (
                text(map.get("code").or_else(|| map.get("type"))),
                text(map.get("message").or_else(|| map.get("msg"))),
            ),
            Some(Value::String(s)) => (None, Some(s.clone())),
            _ => (None, None),
        };
        TaskFailure { code, message, raw }
    }

    /// [`TaskFailure::from_raw`] with every string in it passed through `redactor`: a
    /// failed task's message may echo the key.
    pub(crate) fn from_raw_redacted(
        raw: Option<serde_json::Value>,
        redactor: &crate::redact::Redactor,
    ) -> Self {
        fn scrub(value: &mut serde_json::Value, redactor: &crate::redact::Redactor) {
            use serde_json::Value;
            // A stack, not recursion: a deeply nested answer cannot overflow it.
            let mut stack = vec![value];
            while let Some(value) = stack.pop() {
                match value {
                    Value::String(s) => *s = redactor.text(s),
                    Value::Array(items) => stack.extend(items.iter_mut()),
                    Value::Object(map) => {
                        // Keys are server text too.
                        if map.keys().any(|k| redactor.text(k) != *k) {
                            let old = std::mem::take(map);
                            *map = old
                                .into_iter()
                                .map(|(k, v)| (redactor.text(&k), v))
                                .collect();
                        }
                        stack.extend(map.values_mut());
                    }
                    _ => {}
                }
            }
        }
        let mut raw = raw;
        if let Some(raw) = raw.as_mut() {
            scrub(raw, redactor);
        }
        TaskFailure::from_raw(raw)
    }
}

/// What kind of error an [`Error`] is, for code that dispatches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A client setting is wrong ([`Error::Config`]).
    Config,
    /// A request breaks its rules ([`Error::Validation`]).
    Validation,
    /// No schema could be had for a body ([`Error::NoSchema`]).
    NoSchema,
    /// Nothing reached Modellix ([`Error::NotSent`]).
    NotSent,
    /// Modellix refused a submission ([`Error::Rejected`]).
    Rejected,
    /// A submission may have created a task ([`Error::OutcomeUnknown`]).
    OutcomeUnknown,
    /// A query was answered with an error ([`Error::Api`]).
    Api,
    /// An answer could not be read ([`Error::Malformed`]).
    Malformed,
    /// The network failed during a query ([`Error::Transport`]).
    Transport,
    /// The task failed ([`Error::TaskFailed`]).
    TaskFailed,
    /// A wait's deadline passed ([`Error::TimedOut`]).
    TimedOut,
    /// The task succeeded without result files ([`Error::EmptyResult`]).
    EmptyResult,
    /// The ledger failed ([`Error::Ledger`]).
    Ledger,
    /// The team's shared running-task slots were all held ([`Error::SlotsFull`]).
    SlotsFull,
    /// The ledger missed a known outcome ([`Error::LedgerUnrecorded`]).
    LedgerUnrecorded,
    /// Saving files failed ([`Error::Download`]).
    Download,
    /// A local input file was unusable ([`Error::Media`]).
    Media,
    /// A local file cannot be uploaded ([`Error::LocalFile`]).
    LocalFile,
    /// The team's file quota is full ([`Error::UploadQuota`]).
    UploadQuota,
    /// An upload may have stored the file ([`Error::UploadUnknown`]).
    UploadUnknown,
    /// No uploaded file has the id ([`Error::FileNotFound`]).
    FileNotFound,
    /// A catalog, account or files call got an error answer ([`Error::Endpoint`]).
    Endpoint,
    /// The network failed during such a call ([`Error::Network`]).
    Network,
}

impl Error {
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) => ErrorKind::Config,
            Error::Validation(_) => ErrorKind::Validation,
            Error::NoSchema { .. } => ErrorKind::NoSchema,
            Error::NotSent { .. } => ErrorKind::NotSent,
            Error::Rejected { .. } => ErrorKind::Rejected,
            Error::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            Error::Api { .. } => ErrorKind::Api,
            Error::Malformed { .. } => ErrorKind::Malformed,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::TaskFailed { .. } => ErrorKind::TaskFailed,
            Error::TimedOut { .. } => ErrorKind::TimedOut,
            Error::EmptyResult { .. } => ErrorKind::EmptyResult,
            Error::Ledger(_) => ErrorKind::Ledger,
            Error::SlotsFull { .. } => ErrorKind::SlotsFull,
            Error::LedgerUnrecorded { .. } => ErrorKind::LedgerUnrecorded,
            Error::Download(_) => ErrorKind::Download,
            Error::Media(_) => ErrorKind::Media,
            Error::LocalFile { .. } => ErrorKind::LocalFile,
            Error::UploadQuota { .. } => ErrorKind::UploadQuota,
            Error::UploadUnknown { .. } => ErrorKind::UploadUnknown,
            Error::FileNotFound { .. } => ErrorKind::FileNotFound,
            Error::Endpoint { .. } => ErrorKind::Endpoint,
            Error::Network { .. } => ErrorKind::Network,
        }
    }

    /// The typed failure of a task that ended `failed`.
    pub fn task_failure(&self) -> Option<&TaskFailure> {
        match self {
            Error::TaskFailed { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<crate::ledger::LedgerError> for Error {
    fn from(e: crate::ledger::LedgerError) -> Self {
        Error::Ledger(e)
    }
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Error::Validation(e)
    }
}

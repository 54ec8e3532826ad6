//! The task ledger: a durable record of every paid request, written before the POST
//! and after it, so that no task is lost to a crash, a cancelled future or an unknown
//! outcome.
//!
//! Every submit writes an [`Intent`] (model, body digest, the client's marker, time)
//! before anything is sent, then its [`Outcome`]: the task id, a rejection, or
//! "unknown" with any id the answer showed. An intent that never got its outcome (the
//! process died in between) reads as [`Outcome::InFlight`], which [`Client::recover`]
//! reports as unknown. Waits add the terminal status, and the learning schedule's run
//! times are kept too, so a program that submits one task per run still learns, and
//! so are what each task was billed ([`LedgerEntry::cost`]) and the running-task limit
//! learned per API key (by a one-way fingerprint of it, never the key).
//!
//! [`SqliteLedger`] keeps everything in one SQLite file (WAL mode), safe for several
//! processes on one machine; a client given no ledger uses the one at
//! [`default_ledger_path`], the command line's too, so `modellix recover` and
//! `modellix history` see a program's tasks. [`MemoryLedger`] keeps nothing past the
//! process (tests, the sandbox: [`ClientBuilder::memory_ledger`]). With the `postgres`
//! feature, `PostgresLedger` keeps it in a PostgreSQL database shared by several
//! instances on several machines (a `postgres://` URL wherever a ledger path goes:
//! [`open_ledger`]). Implement [`TaskLedger`] to keep the record elsewhere.
//!
//! [`ClientBuilder::memory_ledger`]: crate::client::ClientBuilder::memory_ledger
//!
//! [`Client::recover`]: crate::client::Client::recover

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cost::Cost;
use crate::task::kind::TaskKind;
use shared_rate::SharedRate;
use slots::{Claim, SlotClaim};

mod columns;
pub(crate) mod default;
mod location;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
pub mod shared_rate;
pub mod slots;
mod sqlite;

pub use location::{
    LEDGER_ENV, default_ledger_path, is_postgres_ledger, ledger_location_for_display, open_ledger,
};
pub use memory::MemoryLedger;
#[cfg(feature = "postgres")]
pub use postgres::PostgresLedger;
pub use sqlite::SqliteLedger;

/// The future a [`TaskLedger`] method returns.
pub type LedgerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LedgerError>> + Send + 'a>>;

/// A ledger that could not read or write, or refused an intent; says what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerError {
    message: String,
    /// The entry holding the marker of a refused intent.
    held_by: Option<i64>,
}

impl LedgerError {
    /// An error with a message saying what failed (for your own [`TaskLedger`]).
    pub fn new(message: impl Into<String>) -> Self {
        LedgerError {
            message: message.into(),
            held_by: None,
        }
    }

    /// An intent refused because entry `entry` already holds its `marker` (see
    /// [`TaskLedger::record_intent`]): the same job is being (or was) sent by another
    /// client or process, and sending it again could create a second billed task.
    ///
    /// ```
    /// let e = modellix::LedgerError::marker_in_use("batch:job-7", 42);
    /// assert_eq!(e.held_by(), Some(42));
    /// assert!(e.message().contains("batch:job-7"));
    /// ```
    pub fn marker_in_use(marker: &str, entry: i64) -> Self {
        LedgerError {
            message: format!(
                "marker {marker:?} is held by entry {entry} (the same request is being sent, \
                 or was sent, elsewhere); not sent again"
            ),
            held_by: Some(entry),
        }
    }

    /// The entry holding the marker, when this error refused an intent whose marker
    /// was in use ([`LedgerError::marker_in_use`]); `None` for any other error.
    pub fn held_by(&self) -> Option<i64> {
        self.held_by
    }

    /// What failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task ledger: {}", self.message)
    }
}

impl std::error::Error for LedgerError {}

/// What is known before a paid request is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Intent {
    /// `provider/model`.
    pub model_id: String,
    /// `sha256:<hex>` of the exact body bytes sent.
    pub body_digest: String,
    /// Size of the body in bytes.
    pub body_bytes: u64,
    /// The caller's own name for this request (a batch job id), if given.
    pub marker: Option<String>,
    /// Which client instance wrote it (`<pid>-<random>`).
    pub client: String,
    /// The `X-Webhook-URL` sent with the request, if any
    /// ([`SubmitOptions::webhook_url`](crate::task::submit::SubmitOptions::webhook_url)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// When the intent was written.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: SystemTime,
}

impl Intent {
    /// An intent for `body`, sent to `model_id`, by `client`.
    pub fn new(model_id: impl Into<String>, body: &[u8], client: impl Into<String>) -> Self {
        Intent {
            model_id: model_id.into(),
            body_digest: digest(body),
            body_bytes: body.len() as u64,
            marker: None,
            client: client.into(),
            webhook_url: None,
            created_at: SystemTime::now(),
        }
    }

    /// The same intent with the caller's marker.
    pub fn with_marker(mut self, marker: Option<String>) -> Self {
        self.marker = marker;
        self
    }

    /// The same intent with the webhook URL sent with it.
    pub fn with_webhook_url(mut self, url: Option<String>) -> Self {
        self.webhook_url = url;
        self
    }
}

/// `sha256:<hex>` of `body`.
pub(crate) fn digest(body: &[u8]) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(body);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// What became of an intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Recorded before sending, no outcome since. After a crash this means unknown:
    /// the POST may or may not have gone out.
    InFlight,
    /// Modellix accepted it; the task is running (or finished, not yet seen).
    Accepted {
        /// The task id.
        task_id: String,
    },
    /// Refused with an answer that proves nothing was created.
    Rejected {
        /// HTTP status.
        status: u16,
        /// Modellix's message, secrets removed.
        message: String,
    },
    /// Never reached Modellix (no connection could be made): nothing was created and
    /// sending it again is safe.
    NotSent {
        /// What failed.
        reason: String,
    },
    /// Sent, but the outcome is unknown: a task may exist and be billed.
    Unknown {
        /// The task id, when the answer showed one.
        task_id: Option<String>,
        /// What happened.
        reason: String,
    },
    /// The task reached a final status.
    Finished {
        /// The task id.
        task_id: String,
        /// `success` or `failed` (or another final status, as Modellix named it).
        status: String,
    },
    /// Marked as checked by the user ([`TaskLedger::dismiss`]): an unknown outcome
    /// that was looked up in the Modellix console, say.
    Dismissed {
        /// The task id, if one was known.
        task_id: Option<String>,
    },
}

impl Outcome {
    /// The task id this outcome names, if any.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            Outcome::Accepted { task_id } | Outcome::Finished { task_id, .. } => Some(task_id),
            Outcome::Unknown { task_id, .. } | Outcome::Dismissed { task_id } => task_id.as_deref(),
            Outcome::InFlight | Outcome::Rejected { .. } | Outcome::NotSent { .. } => None,
        }
    }

    /// What became of the request, as the end of a sentence ("the request …").
    pub(crate) fn summary(&self) -> String {
        match self {
            Outcome::InFlight => "was being sent".to_owned(),
            Outcome::Accepted { task_id } => format!("was accepted as task {task_id}"),
            Outcome::Rejected { status, message } => {
                format!("was rejected with HTTP {status} ({message}); nothing was created")
            }
            Outcome::NotSent { reason } => format!("was never sent ({reason})"),
            Outcome::Unknown {
                task_id: Some(task_id),
                reason,
            } => format!("has an unknown outcome ({reason}) and may have created task {task_id}"),
            Outcome::Unknown {
                task_id: None,
                reason,
            } => format!("has an unknown outcome ({reason}) and may have created a billed task"),
            Outcome::Finished { task_id, status } => format!("ended as task {task_id}: {status}"),
            Outcome::Dismissed { .. } => "was dismissed after a check".to_owned(),
        }
    }

    /// Whether something is still to be done: resume (accepted) or check (unknown).
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            Outcome::InFlight | Outcome::Accepted { .. } | Outcome::Unknown { .. }
        )
    }

    /// Whether an entry with this outcome keeps its marker from a new intent: while
    /// open, and once its task ended (the job is done). A rejection, a request never
    /// sent and a dismissed entry free it: the job may be sent again.
    pub fn holds_marker(&self) -> bool {
        self.is_open() || matches!(self, Outcome::Finished { .. })
    }
}

/// One paid request as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LedgerEntry {
    /// The ledger's id for this entry.
    pub id: i64,
    /// What was about to be sent.
    pub intent: Intent,
    /// What became of it.
    pub outcome: Outcome,
    /// When the outcome was last written.
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: SystemTime,
    /// What the task was billed, once its final answer was seen
    /// ([`TaskLedger::record_cost`]); `None` before, or when the answer gave no amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

impl LedgerEntry {
    /// The task id, when known.
    pub fn task_id(&self) -> Option<&str> {
        self.outcome.task_id()
    }

    /// What to do about this entry, in one sentence.
    pub fn next_step(&self) -> String {
        let marker = self
            .intent
            .marker
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        match &self.outcome {
            Outcome::InFlight => format!(
                "the {} request{marker} of {} was being sent when its process stopped: \
                 it may have created a billed task. Check the Modellix console before \
                 sending it again, then dismiss entry {}",
                self.intent.model_id,
                crate::time::format_rfc3339(self.intent.created_at),
                self.id
            ),
            Outcome::Accepted { task_id } => {
                format!(
                    "task {task_id}{marker} is running or finished unseen: resume it by id (client.task(\"{task_id}\")?.wait())"
                )
            }
            Outcome::Unknown {
                task_id: Some(task_id),
                ..
            } => format!(
                "the outcome of task {task_id}{marker} was unknown: resume it by id; do not resubmit"
            ),
            Outcome::Unknown {
                task_id: None,
                reason,
            } => format!(
                "the {} request{marker} may have created a billed task ({reason}): check the \
                 Modellix console before sending it again, then dismiss entry {}",
                self.intent.model_id, self.id
            ),
            Outcome::Rejected { status, message } => {
                format!("rejected with HTTP {status} ({message}); nothing was created")
            }
            Outcome::NotSent { reason } => {
                format!("never sent ({reason}); nothing was created, sending it again is safe")
            }
            Outcome::Finished { task_id, status } => format!("task {task_id} ended: {status}"),
            Outcome::Dismissed { .. } => "dismissed after a check; nothing to do".to_owned(),
        }
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryQuery {
    /// Only entries with something left to do ([`Outcome::is_open`]).
    pub open_only: bool,
    /// Only entries with this marker.
    pub marker: Option<String>,
    /// Only entries naming this task id.
    pub task_id: Option<String>,
    /// At most this many, newest first (0: no limit).
    pub limit: usize,
}

impl EntryQuery {
    /// Every open entry.
    pub fn open() -> Self {
        EntryQuery {
            open_only: true,
            ..EntryQuery::default()
        }
    }

    /// The newest `limit` entries, open or not.
    pub fn recent(limit: usize) -> Self {
        EntryQuery {
            limit,
            ..EntryQuery::default()
        }
    }

    /// Every entry with `marker`.
    pub fn marker(marker: impl Into<String>) -> Self {
        EntryQuery {
            marker: Some(marker.into()),
            ..EntryQuery::default()
        }
    }

    /// Every entry naming `task_id`.
    pub fn task(task_id: impl Into<String>) -> Self {
        EntryQuery {
            task_id: Some(task_id.into()),
            ..EntryQuery::default()
        }
    }

    pub(crate) fn matches(&self, entry: &LedgerEntry) -> bool {
        (!self.open_only || entry.outcome.is_open())
            && self
                .marker
                .as_ref()
                .is_none_or(|m| entry.intent.marker.as_ref() == Some(m))
            && self
                .task_id
                .as_deref()
                .is_none_or(|t| entry.task_id() == Some(t))
    }
}

/// Where the record of paid requests is kept.
///
/// Writes must be durable when their future completes: the client sends a paid POST
/// only after [`record_intent`](TaskLedger::record_intent) returned. Methods take
/// `&self` and may be called from many tasks and processes at once.
///
/// ```
/// use modellix::{EntryQuery, Intent, MemoryLedger, Outcome, TaskLedger};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), modellix::LedgerError> {
/// let ledger = MemoryLedger::new();
/// let id = ledger
///     .record_intent(&Intent::new("bytedance/seedance-2.0-v2v", b"{}", "me"))
///     .await?;
/// ledger
///     .record_outcome(id, &Outcome::Accepted { task_id: "task-1".into() })
///     .await?;
/// let open = ledger.entries(&EntryQuery::open()).await?;
/// assert_eq!(open[0].task_id(), Some("task-1"));
/// # Ok(()) }
/// ```
pub trait TaskLedger: Send + Sync + fmt::Debug {
    /// Records what is about to be sent; returns the entry's id.
    ///
    /// An intent with a marker is refused with [`LedgerError::marker_in_use`] while an
    /// entry with the same marker holds it ([`Outcome::holds_marker`]: open, or
    /// finished), checked and written atomically: of two clients (or processes) racing
    /// to send the same job, one records its intent and the other sends nothing, even
    /// when the first one's task has already ended. The ledgers of this crate do; your
    /// own should too.
    fn record_intent<'a>(&'a self, intent: &'a Intent) -> LedgerFuture<'a, i64>;

    /// Records what became of entry `id`.
    fn record_outcome<'a>(&'a self, id: i64, outcome: &'a Outcome) -> LedgerFuture<'a, ()>;

    /// Records that `task_id` reached the final `status` (no-op for unknown ids).
    fn record_finished<'a>(&'a self, task_id: &'a str, status: &'a str) -> LedgerFuture<'a, ()>;

    /// Marks entry `id` as checked by the user, so it is no longer open.
    fn dismiss(&self, id: i64) -> LedgerFuture<'_, ()>;

    /// Reads entries, newest first.
    fn entries<'a>(&'a self, query: &'a EntryQuery) -> LedgerFuture<'a, Vec<LedgerEntry>>;

    /// Records how long a task of `kind` took from submit to its final status.
    fn record_run<'a>(&'a self, kind: &'a TaskKind, took: Duration) -> LedgerFuture<'a, ()>;

    /// The newest `limit` run times, oldest first (for a schedule that learns).
    fn runs(&self, limit: usize) -> LedgerFuture<'_, Vec<(TaskKind, Duration)>>;

    /// Records what `task_id` was billed, read from its final answer, with the billing
    /// status the answer gave (`"succeeded"`, …; an open string); no-op for unknown
    /// ids. Written where the final status is ([`TaskLedger::record_finished`]), so
    /// [`LedgerEntry::cost`] totals what a program's tasks cost.
    ///
    /// The default keeps nothing: implement it for your ledger to keep costs.
    fn record_cost<'a>(
        &'a self,
        task_id: &'a str,
        cost: &'a Cost,
        billing_status: Option<&'a str>,
    ) -> LedgerFuture<'a, ()> {
        let _ = (task_id, cost, billing_status);
        Box::pin(std::future::ready(Ok(())))
    }

    /// The running-task limit learned for the API key whose fingerprint is `key` (see
    /// [`TaskLedger::record_learned_limit`]), so a new run starts where the last one
    /// ended; `None` when none was recorded.
    ///
    /// The default remembers nothing.
    fn learned_limit<'a>(&'a self, key: &'a str) -> LedgerFuture<'a, Option<u32>> {
        let _ = key;
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Remembers `limit`, the running-task limit learned for the key whose fingerprint
    /// is `key`, replacing any earlier one. `key` is a one-way fingerprint (the
    /// client's `Client::key_fingerprint`), never the key.
    ///
    /// The default remembers nothing.
    fn record_learned_limit<'a>(&'a self, key: &'a str, limit: u32) -> LedgerFuture<'a, ()> {
        let _ = (key, limit);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Whether this ledger holds the team's running-task slots, shared by every client
    /// on it ([`slots`]): a client then records each intent with
    /// [`TaskLedger::claim_slot`] instead of [`TaskLedger::record_intent`].
    ///
    /// The default shares none: each client keeps within the limit on its own.
    fn shares_slots(&self) -> bool {
        false
    }

    /// Records `intent` together with one of the team's free slots, atomically: of
    /// the instances claiming at once, as many as there are free slots record their
    /// intent, the others get [`Claim::Full`] and record nothing.
    ///
    /// The default has no slots: it records the intent and admits it.
    fn claim_slot<'a>(
        &'a self,
        intent: &'a Intent,
        claim: &'a SlotClaim,
    ) -> LedgerFuture<'a, Claim> {
        let _ = claim;
        Box::pin(async move {
            let entry = self.record_intent(intent).await?;
            Ok(Claim::Admitted { entry })
        })
    }

    /// Extends the lease of the slot `task_id` holds by `lease` from now: its task is
    /// still watched. No-op for a task without a slot, and by default.
    fn renew_slot<'a>(&'a self, task_id: &'a str, lease: Duration) -> LedgerFuture<'a, ()> {
        let _ = (task_id, lease);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Frees the slot `task_id` holds: its task reached a final status. No-op for a
    /// task without a slot, and by default.
    fn release_slot<'a>(&'a self, task_id: &'a str) -> LedgerFuture<'a, ()> {
        let _ = task_id;
        Box::pin(std::future::ready(Ok(())))
    }

    /// Takes over the team's slots whose lease ran out, for `lease` from now: their
    /// entries, with a task id each, are returned for the caller to poll to the end
    /// (which renews and, at the end, releases them). A slot whose request never
    /// showed a task id, or whose entry is closed, is freed instead. Of several
    /// instances taking over at once, each slot goes to one.
    ///
    /// The default has no slots and returns nothing.
    fn take_over_slots<'a>(
        &'a self,
        team: &'a str,
        lease: Duration,
    ) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        let _ = (team, lease);
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// Whether this ledger holds the key's request rate, shared by every client on
    /// it ([`shared_rate`]): each request then passes [`TaskLedger::take_request`].
    ///
    /// The default shares nothing: each client paces itself alone.
    fn shares_rate(&self) -> bool {
        false
    }

    /// Takes one request of the budget `rate` of the key whose fingerprint is `key`,
    /// atomically across instances: `Duration::ZERO` when it may go now, else how
    /// long to wait before asking again (nothing taken).
    ///
    /// The default lets every request go.
    fn take_request<'a>(
        &'a self,
        key: &'a str,
        rate: &'a SharedRate,
    ) -> LedgerFuture<'a, Duration> {
        let _ = (key, rate);
        Box::pin(std::future::ready(Ok(Duration::ZERO)))
    }

    /// No request of the key may go for `pause` from now (a 429, `X-RateLimit-Reset`),
    /// for every instance; a later pause already recorded stays.
    ///
    /// The default keeps nothing.
    fn push_back_requests<'a>(
        &'a self,
        key: &'a str,
        pause: Duration,
        rate: &'a SharedRate,
    ) -> LedgerFuture<'a, ()> {
        let _ = (key, pause, rate);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Remembers webhook delivery `delivery_id` (about `task_id`): `true` the first
    /// time, `false` for a delivery seen before (a retry whose 2xx was lost), checked
    /// and written atomically, so of two receivers handed the same delivery one gets
    /// `true`. What [`Client::accept`](crate::client::Client::accept) asks.
    ///
    /// The default refuses: a ledger of your own must implement it to accept
    /// deliveries exactly once.
    fn accept_delivery<'a>(
        &'a self,
        delivery_id: &'a str,
        task_id: &'a str,
    ) -> LedgerFuture<'a, bool> {
        let _ = (delivery_id, task_id);
        Box::pin(std::future::ready(Err(LedgerError::new(
            "this ledger does not remember webhook deliveries: implement \
             TaskLedger::accept_delivery, or use SqliteLedger or MemoryLedger",
        ))))
    }
}

//! What the sandbox saw, from the server's point of view: requests, tasks and faults.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::faults::{Fault, FaultKind, Route};

/// Requests received, by route. Every request is counted once it is read, whatever
/// was answered (401, 400, a fault or no answer at all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Every request, including unknown routes.
    pub total: u64,
    /// Submit requests by `operationId` (`seedance20V2vAsync`), or by model id
    /// (`acme/pixel-2`) for a model without a fragment.
    pub submit: BTreeMap<String, u64>,
    /// `GET /api/v1/tasks/{task_id}` requests.
    pub task: u64,
    /// `GET /files/...` requests.
    pub files: u64,
    /// Requests to no known route, or with the wrong method.
    pub other: u64,
    /// `POST /api/v1/media/files` requests (uploads).
    pub uploads: u64,
    /// Other media file requests: list, delete, and fetches of uploaded files.
    pub media: u64,
    /// `GET /api/v1/models`, `/api/v1/apikey/validate` and `/api/v1/team/balance`.
    pub account: u64,
    /// `GET /models/{provider}/{model}/api_schema` requests (schema pages, no key).
    pub schema_pages: u64,
}

impl Counts {
    /// Submit requests to every operation together.
    pub fn submits(&self) -> u64 {
        self.submit.values().sum()
    }

    /// Requests counted for `route`.
    pub fn route(&self, route: Route) -> u64 {
        match route {
            Route::Submit => self.submits(),
            Route::Task => self.task,
            Route::Files => self.files,
            Route::Upload => self.uploads,
        }
    }
}

/// How a task ends once its simulated time is over; decided when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Ends with `status: "success"` and result resources.
    Success,
    /// Ends with `status: "failed"` and an `error` object.
    Failed,
}

/// One task the sandbox created.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskRecord {
    /// `task-<hex>`.
    pub task_id: String,
    /// The submit operation's `operationId`, or the model id for a model without a
    /// fragment.
    pub operation_id: String,
    /// `provider/model`.
    pub model_id: String,
    /// The request body as received.
    pub body: serde_json::Value,
    /// When it was created.
    pub created_at: SystemTime,
    /// How it ends.
    pub outcome: Outcome,
    /// The fault applied to the submit that created it, if any: with
    /// [`Fault::Reset`] or [`Fault::ServerError`] the client never saw its id.
    pub submit_fault: Option<Fault>,
    /// Queries of this task so far.
    pub queries: u64,
    /// The `X-Webhook-URL` its submit carried, if any.
    pub webhook_url: Option<String>,
}

/// A fault the sandbox applied, in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InjectedFault {
    /// The route of the request.
    pub route: Route,
    /// The fault.
    pub fault: Fault,
}

/// The log of injected faults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultLog(pub Vec<InjectedFault>);

impl FaultLog {
    /// How many faults of this kind were applied.
    pub fn count(&self, kind: FaultKind) -> u64 {
        self.0.iter().filter(|f| f.fault.kind() == kind).count() as u64
    }

    /// How many faults were applied in all.
    pub fn total(&self) -> u64 {
        self.0.len() as u64
    }

    /// Counts by kind.
    pub fn by_kind(&self) -> BTreeMap<FaultKind, u64> {
        let mut counts = BTreeMap::new();
        for f in &self.0 {
            *counts.entry(f.fault.kind()).or_default() += 1;
        }
        counts
    }
}

/// One file uploaded to the sandbox and still kept.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UploadRecord {
    /// `file-<hex>`.
    pub file_id: String,
    /// Where it is served, without a key.
    pub url: String,
    /// The multipart part's file name.
    pub filename: String,
    /// The multipart part's `Content-Type`.
    pub content_type: String,
    /// Exactly the bytes received.
    pub bytes: bytes::Bytes,
    /// When it was stored.
    pub created_at: SystemTime,
}

/// How long a file is kept.
pub const FILE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The files of the sandbox's one team.
#[derive(Default)]
pub(crate) struct MediaStore(Mutex<Vec<UploadRecord>>);

impl MediaStore {
    pub(crate) fn files(&self) -> MutexGuard<'_, Vec<UploadRecord>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every file still kept, oldest first; expired ones are dropped on the way.
    pub(crate) fn records(&self) -> Vec<UploadRecord> {
        let mut files = self.files();
        let now = SystemTime::now();
        files.retain(|f| f.created_at + FILE_LIFETIME > now);
        files.clone()
    }
}

/// One attempt at delivering a webhook, as the sandbox made it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookAttempt {
    /// The task it reports.
    pub task_id: String,
    /// `X-Modellix-Event`.
    pub event: String,
    /// `X-Modellix-Delivery-ID`: the same for all attempts of one delivery.
    pub delivery_id: String,
    /// `X-Modellix-Retry-Count`.
    pub retry_count: u32,
    /// The receiver's HTTP status; `None` when it gave no answer in time.
    pub status: Option<u16>,
}

// The crate's front page is the README: quickstart, resume, errors, local files, the
// sandbox in tests. Its examples run as doctests.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod account;
mod builder_fields;
mod catalog;
mod client;
pub mod download;
mod endpoint;
mod error;
mod format;
mod handle;
mod hooks;
mod learning;
pub mod ledger;
mod lenient;
mod local_files;
mod media;
mod operation;
mod output;
mod poll;
mod query;
mod query_slots;
mod ratelimit;
mod redact;
mod rules;
mod shared;
mod sniff;
mod status;
mod submit;
mod task;
mod time;
mod tls;
mod transport;
mod upload;
mod validate;
mod wait;

/// The code generated from `spec/` by `build.rs`; see `tests/snapshots/` for a copy.
#[allow(
    missing_docs,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links,
    unused_imports,
    dead_code
)]
#[allow(clippy::all, clippy::pedantic)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/modellix_generated.rs"));
}

pub use account::AccountCheck;
pub use catalog::{ModelEntry, ModelFilter};
pub use client::{API_KEY_ENV, BASE_URL_ENV, Client, ClientBuilder, DEFAULT_BASE_URL, LEDGER_ENV};
pub use download::{DownloadContext, DownloadError, DownloadOptions, Downloader, SavedFile};
pub use error::{ApiError, ConfigError, Error, ErrorKind, TaskFailure};
pub use generated::OPERATIONS;
pub use handle::TaskHandle;
pub use learning::LearningSchedule;
pub use ledger::{
    EntryQuery, Intent, LedgerEntry, LedgerError, LedgerFuture, MemoryLedger, Outcome,
    SqliteLedger, TaskLedger,
};
pub use local_files::MAX_INLINE_BYTES;
pub use media::{Image, ImageLoader, InlineForm, MediaError};
pub use operation::{Operation, OutputFile, SubmitRequest, ValidateJson};
pub use output::TaskOutput;
pub use poll::{
    Backoff, ExponentialRetry, PollContext, PollSchedule, RetryPolicy, TaskKind, WaitOptions,
    retry_after,
};
pub use ratelimit::{DEFAULT_MAX_PAUSE, DEFAULT_REQUESTS_PER_MINUTE};
pub use rules::MAX_REQUEST_BYTES;
pub use shared::SubmittedHook;
pub use status::TaskStatus;
pub use submit::{MAX_JSON_DEPTH, MAX_JSON_NODES, SubmitOptions};
pub use task::Task;
pub use transport::MAX_ANSWER_BYTES;
pub use upload::{
    FILE_LIFETIME, MAX_LIST_LIMIT, MAX_UPLOAD_BYTES, ProgressFn, UploadOptions, UploadProgress,
    UploadedFile,
};
pub use validate::{Rule, ValidationError, Violation, Warning, Warnings};
pub use wait::{TaskUpdate, TaskUpdates};

/// Private parsers, reachable from `tests/fuzz.rs` only; not part of the API and not
/// covered by semver.
#[doc(hidden)]
pub mod __fuzz {
    /// `crate::error::api_error`: reads an error answer.
    pub fn api_error(status: u16, headers: &http::HeaderMap, body: &[u8]) -> crate::ApiError {
        crate::error::api_error(status, headers, body, &crate::redact::Redactor::default())
    }

    /// `crate::submit::scan_task_id`: the task id in a broken submit answer.
    pub fn scan_task_id(body: &[u8]) -> Option<String> {
        crate::submit::scan_task_id(body)
    }

    /// `crate::task::decode_leniently`: a task answer with mistyped scalars dropped.
    pub fn decode_task_answer_leniently(body: &[u8]) -> Option<crate::types::GetTaskResponse> {
        crate::query::decode_leniently(body)
    }
}

/// Request and answer types of every Modellix operation in `spec/`, with builders
/// (`Type::builder()`).
pub mod types {
    pub use crate::generated::types::*;
}

// The crate's front page is the README: quickstart, resume, errors, local files, the
// sandbox in tests. Its examples run as doctests.
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod client;
pub mod codegen_support;
mod cost;
pub mod download;
mod error;
pub mod ledger;
mod live;
mod media;
mod platform;
pub mod profile;
mod redact;
mod schema;
mod shared;
mod task;
mod time;
mod transport;
mod wait;
mod webhook;

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

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL};
pub use cost::{Cost, CostParseError};
pub use download::{DownloadContext, DownloadError, DownloadOptions, Downloader, SavedFile};
pub use error::shown::redact_key;
pub use error::{ApiError, ConfigError, Error, ErrorKind, TaskFailure};
pub use generated::OPERATIONS;
#[cfg(feature = "postgres")]
pub use ledger::PostgresLedger;
pub use ledger::shared_rate::SharedRate;
pub use ledger::slots::{Claim, DEFAULT_SLOT_LEASE, SlotClaim};
pub use ledger::{
    EntryQuery, Intent, LEDGER_ENV, LedgerEntry, LedgerError, LedgerFuture, MemoryLedger, Outcome,
    SqliteLedger, TaskLedger, default_ledger_path, is_postgres_ledger, ledger_location_for_display,
    open_ledger,
};
pub use live::page::{
    DEFAULT_SCHEMA_URL, LiveSchema, MAX_SCHEMA_PAGE_BYTES, MAX_SERVER_URL_LEN, PageFetchError,
    SCHEMA_URL_ENV, SchemaSource, fetch_schema_page, read_schema_page,
};
pub use live::store::DEFAULT_SCHEMA_MAX_AGE;
pub use media::image::{Image, ImageLoader, InlineForm, MediaError};
pub use platform::account::AccountCheck;
pub use platform::catalog::{ModelEntry, ModelFilter};
pub use platform::local_files::{MAX_INLINE_BYTES, local_file_pointers};
pub use platform::price::Price;
pub use platform::tiers::{LOWEST_TIER_RUNNING_TASKS, TIERS, Tier};
pub use platform::upload::{
    FILE_LIFETIME, MAX_LIST_LIMIT, MAX_UPLOAD_BYTES, ProgressFn, UploadOptions, UploadProgress,
    UploadedFile,
};
pub use profile::file::FileStore;
pub use profile::key::ApiKey;
pub use profile::resolve::{
    API_KEY_ENV, BASE_URL_ENV, CredentialSource, Credentials, PROFILE_ENV, default_store,
};
pub use profile::store::{CredentialStore, DEFAULT_PROFILE, StoreError, StoredProfile};
pub use schema::model_id::check_model_id;
pub use schema::operation::{Operation, OutputFile, SubmitRequest, ValidateJson};
pub use schema::rules::MAX_REQUEST_BYTES;
pub use schema::runtime::{RuntimeChecker, SchemaError, Unenforced};
pub use schema::validate::{Rule, ValidationError, Violation, Warning, Warnings};
pub use shared::SubmittedHook;
pub use task::handle::TaskHandle;
pub use task::kind::TaskKind;
pub use task::output::{RESULT_LIFETIME, TaskOutput};
pub use task::record::Task;
pub use task::status::TaskStatus;
pub use task::submit::{MAX_JSON_DEPTH, MAX_JSON_NODES, SubmitOptions};
pub use transport::ratelimit::{DEFAULT_MAX_PAUSE, DEFAULT_REQUESTS_PER_MINUTE};
pub use transport::request::{MAX_ANSWER_BYTES, RequestKind};
pub use transport::retry::{ExponentialRetry, RetryPolicy, retry_after};
pub use wait::learning::LearningSchedule;
pub use wait::options::WaitOptions;
pub use wait::poll_loop::{AllTaskUpdates, TaskUpdate, TaskUpdates};
pub use wait::schedule::{Backoff, PollContext, PollSchedule};
pub use webhook::event::{
    DELIVERY_ID_HEADER, EVENT_HEADER, MAX_WEBHOOK_BODY_BYTES, RETRY_COUNT_HEADER, TASK_ID_HEADER,
    WebhookError, WebhookEvent, WebhookEventKind,
};
pub use webhook::url::{MAX_WEBHOOK_URL_LEN, check_webhook_url};

/// Private parsers, reachable from `tests/fuzz.rs` only; not part of the API and not
/// covered by semver.
#[doc(hidden)]
pub mod __fuzz {
    /// `crate::error::api::api_error`: reads an error answer.
    pub fn api_error(status: u16, headers: &http::HeaderMap, body: &[u8]) -> crate::ApiError {
        crate::error::api::api_error(status, headers, body, &crate::redact::Redactor::default())
    }

    /// `crate::task::submit::scan_task_id`: the task id in a broken submit answer.
    pub fn scan_task_id(body: &[u8]) -> Option<String> {
        crate::task::submit::scan_task_id(body)
    }

    /// `crate::task::record::decode_leniently`: a task answer with mistyped scalars dropped.
    pub fn decode_task_answer_leniently(body: &[u8]) -> Option<crate::types::GetTaskResponse> {
        crate::task::query::decode_leniently(body)
    }
}

/// Request and answer types of every Modellix operation in `spec/`; every request type
/// has a builder (`Seedance20V2vRequest::builder()`), checked by `build()` and
/// `validate()`.
pub mod types {
    pub use crate::generated::types::*;
}

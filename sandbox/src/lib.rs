//! A faithful local [Modellix](https://modellix.ai) on 127.0.0.1, for tests, demos and
//! benchmarks: no key, no money, no network.
//!
//! It serves every submit operation of `modellix::OPERATIONS` (so a fragment added to
//! `spec/` is served with no sandbox code), any other well-formed model slug as a
//! generic task (as Modellix serves models this build has no fragment for; slugs of
//! [`MISSING_PROVIDER`] answer 404 like a removed model), and `GET /api/v1/tasks/{task_id}`, with
//! Modellix's envelope `{"code","message","data"}`, its statuses and its
//! `"<Category>: <detail>"` errors. It checks the Bearer key, validates bodies with the
//! same schema and prose rules as the client (400 with the JSON pointer), simulates the
//! task lifecycle (`pending`, `processing`, then `success` or `failed`), serves result
//! files ([`SAMPLE_MP4`], [`SAMPLE_PNG`], [`sample_mp3`]; a transcript is carried in its
//! resource, [`transcript`]) from its own URL with `Range` support, injects
//! faults on demand ([`FaultPlan`]) and records what it saw ([`Sandbox::counts`],
//! [`Sandbox::tasks`], [`Sandbox::faults_injected`]).
//! A submit carrying `X-Webhook-URL` is reported to that URL when its task ends, as
//! Modellix's articles describe webhooks: retried with one delivery id and a growing
//! retry count until a 2xx ([`Sandbox::webhook_attempts`]).
//!
//! # In your own tests
//!
//! ```
//! use modellix_sandbox::{Sandbox, SAMPLE_MP4};
//! use serde_json::{Value, json};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start().await?;
//! let http = reqwest::Client::new();
//!
//! let submitted: Value = http
//!     .post(format!("{}/api/v1/bytedance/seedance-2.0-v2v/async", sandbox.base_url()))
//!     .bearer_auth(sandbox.api_key())
//!     .json(&json!({"prompt": "A calm sea", "video_urls": ["https://example.com/in.mp4"]}))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(submitted["code"], 0);
//! assert_eq!(submitted["data"]["status"], "pending");
//!
//! // Tasks are instant by default: the first query finds the result.
//! let url = submitted["data"]["get_result"]["url"].as_str().unwrap();
//! let task: Value = http.get(url).bearer_auth(sandbox.api_key()).send().await?.json().await?;
//! assert_eq!(task["data"]["status"], "success");
//! let video = task["data"]["result"]["resources"][0]["url"].as_str().unwrap();
//! let bytes = http.get(video).send().await?.bytes().await?;
//! assert_eq!(&bytes[..], SAMPLE_MP4);
//!
//! // What the server saw.
//! assert_eq!(sandbox.counts().submits(), 1);
//! assert_eq!(sandbox.tasks().len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! Faults, timing and failures are set on the builder:
//!
//! ```
//! use modellix_sandbox::{Failures, Fault, FaultPlan, Route, Sandbox, Timing};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let sandbox = Sandbox::builder()
//!     .timing(Timing::Polls { pending: 1, processing: 2 })
//!     .failures(Failures::Share(0.25))
//!     .seed(7)
//!     .faults(FaultPlan::new().script(Route::Submit, 1, Fault::Reset))
//!     .start()
//!     .await?;
//! # drop(sandbox);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod account;
mod answer;
mod auth;
mod config;
mod conn;
mod faults;
mod files;
mod generic;
mod injection;
mod limits;
mod media_files;
mod prices;
mod records;
mod routes;
mod schema_pages;
mod server;
mod state;
mod tasks;
mod webhooks;

pub use account::SANDBOX_BALANCE_USD;
pub use config::{DEFAULT_API_KEY, Failures, SandboxConfig, Timing};
pub use faults::{Fault, FaultKind, FaultPlan, Route};
pub use files::{SAMPLE_MP4, SAMPLE_PNG, sample_mp3, sample_wav, transcript};
pub use generic::MISSING_PROVIDER;
pub use limits::LimitRejections;
pub use media_files::{MAX_FILES, MAX_UPLOAD_BYTES};
pub use records::{
    Counts, FILE_LIFETIME, FaultLog, InjectedFault, Outcome, TaskRecord, UploadRecord,
    WebhookAttempt,
};
pub use server::Sandbox;
pub use tasks::realistic_duration;
pub use webhooks::WEBHOOK_ATTEMPTS;

//! Submitting a paid task: validated, recorded, sent exactly once, recorded again.
//!
//! Order of events, each step finishing before the next starts:
//! 1. the body is checked (schema and prose rules, or the generic limits for a model
//!    this build has no fragment for) and serialized once (a typed request into the
//!    JSON value the checks read, written out as the bytes sent);
//! 2. on a task of its own, so that dropping the caller's future changes nothing:
//!    the request takes its rate-limit permit (a request waiting in line is not yet in
//!    the ledger, so a kill while it waits leaves nothing that reads "may have created
//!    a task"); the ledger records the intent; one POST goes out under that permit,
//!    never retried and never redirected; the answer is classified by what it proves
//!    ([`Proof`]: not sent, rejected, accepted, or unknown with any task id seen); the
//!    ledger records that outcome, retried until it sticks; the `on_submitted` hook
//!    runs for every outcome that carries an id;
//! 3. the caller gets the task or the error, if it is still waiting: an outcome the
//!    ledger could not record is [`Error::LedgerUnrecorded`], with the task id.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::FutureExt;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::Value;

use crate::error::Error;
use crate::error::api::answer_error;
use crate::ledger::slots::{Claim, SlotClaim};
use crate::ledger::{Intent, LedgerEntry, LedgerError, Outcome};
use crate::redact::Redactor;
use crate::schema::model_id::check_model_id;
use crate::schema::validate::{Checker, Rule};
use crate::shared::Shared;
use crate::task::kind::TaskKind;
use crate::task::record::{Task, is_usable_task_id};
use crate::transport::outcome::{Proof, Unproven};
use crate::transport::ratelimit::Permit;
use crate::transport::request::Outgoing;
use crate::webhook::url::webhook_header;
use crate::{
    generated::OPERATIONS, schema::operation::SubmitRequest, schema::rules::MAX_REQUEST_BYTES,
};

/// How long one attempt at writing an outcome may take before it is tried again.
const OUTCOME_ATTEMPT: Duration = Duration::from_secs(30);
/// How long an outcome write is retried before the caller is told the ledger missed
/// it: long enough for a full disk to be cleared or a lock to be released.
pub(crate) const OUTCOME_RETRY_FOR: Duration = Duration::from_secs(15 * 60);
/// Deepest JSON body accepted for a model without a fragment (as the official CLI).
pub const MAX_JSON_DEPTH: usize = 100;
/// Most JSON values (nodes) in a body for a model without a fragment.
pub const MAX_JSON_NODES: usize = 250_000;

/// Per-call settings of a submit.
///
/// ```
/// let options = modellix::SubmitOptions::new().marker("batch-7/job-42");
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SubmitOptions {
    /// Your own name for this request, kept in the ledger (find it again with
    /// [`EntryQuery::marker`](crate::ledger::EntryQuery::marker)); a batch's job id, say.
    pub marker: Option<String>,
    /// Where Modellix should POST when the task ends (`X-Webhook-URL`): an `https`
    /// URL (plain `http` only to a loopback host), recorded in the ledger with the
    /// intent. Checked before anything is recorded or sent: a bad one is
    /// [`Error::Config`] naming `SubmitOptions::webhook_url`. See
    /// [`WebhookEvent`](crate::webhook::event::WebhookEvent) for the receiving side.
    pub webhook_url: Option<String>,
    /// Send a body for a model this build does not vendor without its live schema
    /// (see [`SubmitOptions::skip_schema_check`]).
    pub skip_schema_check: bool,
    /// How long to wait for one of the team's running-task slots, when the ledger
    /// shares them among instances ([`TaskLedger::shares_slots`]); `None` (the default)
    /// waits until one frees. Past it the submit fails with [`Error::SlotsFull`],
    /// having recorded and sent nothing. See [`SubmitOptions::slot_wait`].
    ///
    /// [`TaskLedger::shares_slots`]: crate::ledger::TaskLedger::shares_slots
    pub slot_wait: Option<Duration>,
    /// The team's running-task limit for this submit's slot claim, in place of the
    /// client's ([`SubmitOptions::running_task_limit`]).
    pub running_task_limit: Option<u32>,
}

impl SubmitOptions {
    /// Default options.
    pub fn new() -> Self {
        SubmitOptions::default()
    }

    /// Sets the marker recorded with the intent.
    pub fn marker(mut self, marker: impl Into<String>) -> Self {
        self.marker = Some(marker.into());
        self
    }

    /// Sets the webhook URL sent as `X-Webhook-URL` (see [`SubmitOptions::webhook_url`]).
    ///
    /// ```
    /// let options = modellix::SubmitOptions::new().webhook_url("https://example.com/modellix");
    /// assert_eq!(options.webhook_url.as_deref(), Some("https://example.com/modellix"));
    /// ```
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Sends a body for a model this build does not vendor without checking it against
    /// the model's live schema: only the model id format and the generic limits apply,
    /// and it goes to `/api/v1/{provider}/{model}`. Without this, such a body is checked
    /// by its live schema, and refused ([`Error::NoSchema`]) when none can be had. A
    /// vendored model is always checked by its fragment.
    ///
    /// ```
    /// let options = modellix::SubmitOptions::new().skip_schema_check();
    /// assert!(options.skip_schema_check);
    /// ```
    pub fn skip_schema_check(mut self) -> Self {
        self.skip_schema_check = true;
        self
    }

    /// Waits at most `most` for a free slot of the team's, when the ledger shares
    /// them (the PostgreSQL ledger); `Duration::ZERO` tries once. A program that
    /// schedules its own submits (like `modellix batch`) tries once and submits again
    /// after one of its tasks ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = modellix::SubmitOptions::new().slot_wait(Duration::ZERO);
    /// assert_eq!(options.slot_wait, Some(Duration::ZERO));
    /// ```
    pub fn slot_wait(mut self, most: Duration) -> Self {
        self.slot_wait = Some(most);
        self
    }

    /// Claims a shared slot as if the team had `tasks` running-task slots, in place
    /// of the client's setting (or the learned limit): for a program that probes the
    /// team's limit.
    pub fn running_task_limit(mut self, tasks: u32) -> Self {
        self.running_task_limit = Some(tasks.max(1));
        self
    }
}

/// A request body ready to send: its bytes and the kind of task it asks for.
struct Body {
    bytes: Vec<u8>,
    kind: TaskKind,
}

impl Body {
    /// Writes out a checked JSON body and reads the task's kind from it. The value is
    /// only borrowed: a typed request's value is dropped once this returns, so the
    /// request is not held as struct, value and bytes while it is sent.
    fn of_value(model_id: &str, runtime_fields: &[&str], value: &Value) -> Result<Body, Error> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Malformed {
            task_id: None,
            reason: format!("the request cannot be serialized: {e}"),
        })?;
        if bytes.len() as u64 > MAX_REQUEST_BYTES {
            return Err(too_large(bytes.len()));
        }
        Ok(Body {
            bytes,
            kind: TaskKind::of_fields(model_id, runtime_fields, value),
        })
    }
}

/// A typed request checked by its schema and prose rules, serialized once.
///
/// Once, into a JSON value: the generated checks read a value, and writing the value
/// out is cheaper than serializing the struct to bytes and parsing those back.
fn checked_body<R: SubmitRequest>(request: &R) -> Result<Body, Error> {
    let value = serde_json::to_value(request).map_err(|e| Error::Malformed {
        task_id: None,
        reason: format!("the request cannot be serialized: {e}"),
    })?;
    let warnings = match R::OPERATION.validate_json {
        Some(check) => check(&value)?,
        None => R::validate(request)?,
    };
    for w in warnings.iter() {
        tracing::warn!(model = R::model_id(), pointer = %w.pointer, "request warning: {}", w.message);
    }
    Body::of_value(R::model_id(), R::OPERATION.runtime_fields, &value)
}

/// `Client::submit_with`: validate, then send through the ledger.
pub(crate) async fn submit_typed<R: SubmitRequest>(
    shared: &Arc<Shared>,
    request: &R,
    options: SubmitOptions,
) -> Result<Task, Error> {
    let body = checked_body(request)?;
    send_paid(shared, R::OPERATION.path, R::model_id(), body, options).await
}

/// Any serializable body as the JSON value the checks read.
pub(crate) fn json_body(body: &impl serde::Serialize) -> Result<Value, Error> {
    serde_json::to_value(body).map_err(|e| Error::Malformed {
        task_id: None,
        reason: format!("the request body cannot be serialized to JSON: {e}"),
    })
}

/// `Client::submit_json_with`: a vendored model's body is checked by its fragment,
/// any other by the slug format, the generic limits and its live schema page (or,
/// skipped on purpose, by the first two only).
pub(crate) async fn submit_json(
    shared: &Arc<Shared>,
    model_id: &str,
    body: &Value,
    options: SubmitOptions,
) -> Result<Task, Error> {
    let operation = OPERATIONS
        .iter()
        .find(|op| op.is_submit() && op.model_id == Some(model_id));
    match operation {
        Some(op) => {
            if let Some(check) = op.validate_json {
                for w in check(body)?.iter() {
                    tracing::warn!(model = model_id, pointer = %w.pointer, "request warning: {}", w.message);
                }
            }
            let body = Body::of_value(model_id, op.runtime_fields, body)?;
            send_paid(shared, op.path, model_id, body, options).await
        }
        None if !options.skip_schema_check => {
            check_model_id(model_id).map_err(Error::Config)?;
            check_generic_limits(body)?;
            let live = shared
                .schemas
                .get(model_id, shared.transport.base_url())
                .await
                .map_err(|reason| Error::NoSchema {
                    model_id: model_id.to_owned(),
                    reason,
                })?;
            for w in live.validate(body)?.iter() {
                tracing::warn!(model = model_id, pointer = %w.pointer, "request warning: {}", w.message);
            }
            let body = Body::of_value(model_id, &[], body)?;
            send_paid(shared, live.submit_path(), model_id, body, options).await
        }
        None => {
            check_model_id(model_id).map_err(Error::Config)?;
            check_generic_limits(body)?;
            let path = format!("/api/v1/{model_id}");
            send_paid(
                shared,
                &path,
                model_id,
                Body::of_value(model_id, &[], body)?,
                options,
            )
            .await
        }
    }
}

/// Hands everything to a task of its own.
async fn send_paid(
    shared: &Arc<Shared>,
    path: &str,
    model_id: &str,
    body: Body,
    options: SubmitOptions,
) -> Result<Task, Error> {
    // Before the intent: a bad URL records nothing and sends nothing.
    let webhook = options
        .webhook_url
        .as_deref()
        .map(webhook_header)
        .transpose()
        .map_err(Error::Config)?;
    let paid = Paid {
        shared: Arc::clone(shared),
        path: path.to_owned(),
        model_id: model_id.to_owned(),
        kind: body.kind,
        intent: Intent::new(model_id, &body.bytes, &shared.marker)
            .with_marker(options.marker)
            .with_webhook_url(
                webhook
                    .as_ref()
                    .and_then(|w| w.to_str().ok())
                    .map(str::to_owned),
            ),
        body: Bytes::from(body.bytes),
        webhook,
        claim: SlotClaim {
            limit: options.running_task_limit.or(shared.slot_claim.limit),
            ..shared.slot_claim.clone()
        },
    };
    let started = tokio::time::Instant::now();
    let mut paid = paid;
    loop {
        match send_once(paid.clone()).await {
            Err(Error::SlotsFull {
                model_id, limit, ..
            }) => {
                let waited = started.elapsed();
                let left = options.slot_wait.map(|most| most.saturating_sub(waited));
                if left.is_some_and(|left| left.is_zero()) {
                    return Err(Error::SlotsFull {
                        model_id,
                        limit,
                        waited,
                    });
                }
                // A slot nobody renews holds a task nobody watches: watch it, so it
                // frees when the task ends.
                adopt_expired(shared).await;
                let pause = SLOT_RETRY.mul_f64(0.5 + fastrand::f64());
                tokio::time::sleep(left.map_or(pause, |left| pause.min(left))).await;
                paid.intent.created_at = SystemTime::now();
            }
            other => return other,
        }
    }
}

/// The pause between two claims of a shared slot while all are held (jittered), short
/// beside a task's run time so a freed slot is taken at once.
const SLOT_RETRY: Duration = Duration::from_millis(250);

/// One attempt, on a task of its own.
async fn send_once(paid: Paid) -> Result<Task, Error> {
    let model_id = paid.model_id.clone();
    // Set just before the POST is handed to the transport: a submit task that ends
    // abnormally before that sent nothing.
    let sending = Arc::new(AtomicBool::new(false));
    // Spawned, not awaited in place: if the caller's future is dropped (a timeout,
    // `select!`), the POST and both ledger writes still run to completion.
    match tokio::spawn(paid.run(Arc::clone(&sending))).await {
        Ok(result) => result,
        Err(e) if !sending.load(Ordering::SeqCst) => Err(Error::Ledger(LedgerError::new(format!(
            "the submit task ended abnormally before sending ({e})"
        )))),
        Err(e) => Err(Error::OutcomeUnknown {
            model_id,
            task_id: None,
            reason: format!(
                "the submit task ended abnormally ({e}); see client.recover() for its record"
            ),
            status: None,
        }),
    }
}

/// Takes over the team's slots whose lease ran out (their holder died or stopped
/// watching) and polls each one's task to the end in the background: the end frees
/// the slot, and the ledger gets the task's final status.
async fn adopt_expired(shared: &Arc<Shared>) {
    let claim = &shared.slot_claim;
    let orphans = match shared
        .ledger
        .take_over_slots(&claim.team, claim.lease)
        .await
    {
        Ok(orphans) => orphans,
        Err(e) => {
            tracing::warn!("could not look for slots whose holder stopped: {e}");
            return;
        }
    };
    for entry in orphans {
        let Some(task_id) = entry.task_id() else {
            continue;
        };
        tracing::info!(
            task_id,
            entry = entry.id,
            "taking over a task whose slot's holder stopped renewing it"
        );
        let shared = Arc::clone(shared);
        let task = Task::from_id(task_id.to_owned());
        tokio::spawn(async move {
            let options = shared.wait;
            let _ = crate::wait::poll_loop::wait(&shared, &task, options).await;
        });
    }
}

/// One paid request, owned, so it can outlive the caller's future.
#[derive(Clone)]
struct Paid {
    shared: Arc<Shared>,
    path: String,
    model_id: String,
    kind: TaskKind,
    intent: Intent,
    body: Bytes,
    /// `X-Webhook-URL`, checked.
    webhook: Option<HeaderValue>,
    /// The slot claimed with the intent, when the ledger shares the team's slots.
    claim: SlotClaim,
}

impl Paid {
    async fn run(self, sending: Arc<AtomicBool>) -> Result<Task, Error> {
        let shared = &self.shared;
        // The permit first, the intent second: see the module documentation. No
        // deadline, so the limiter always hands one out in the end.
        let Some(permit) = shared.transport.limiter.acquire(None).await else {
            return Err(Error::NotSent {
                task_id: None,
                reason: "the rate limiter refused the request".into(),
            });
        };
        // A ledger that cannot record the intent ends the submit here: nothing sent.
        // One that shares the team's slots records it only with a free slot.
        let entry_id = if shared.ledger.shares_slots() {
            match shared.ledger.claim_slot(&self.intent, &self.claim).await? {
                Claim::Admitted { entry } => entry,
                Claim::Full { limit } => {
                    permit.unused();
                    return Err(Error::SlotsFull {
                        model_id: self.model_id.clone(),
                        limit,
                        waited: Duration::ZERO,
                    });
                }
            }
        } else {
            shared.ledger.record_intent(&self.intent).await?
        };
        sending.store(true, Ordering::SeqCst);
        let result = self.post(permit).await;
        let outcome = match &result {
            Ok(task) => Outcome::Accepted {
                task_id: task.id().to_owned(),
            },
            Err(Error::Rejected { api, .. }) => Outcome::Rejected {
                status: api.status,
                message: api.to_string(),
            },
            Err(Error::NotSent { reason, .. }) => Outcome::NotSent {
                reason: reason.clone(),
            },
            Err(e) => Outcome::Unknown {
                task_id: e.task_id().map(str::to_owned),
                reason: e.to_string(),
            },
        };
        let recorded = record_outcome(shared, entry_id, &outcome).await;
        if let Err(e) = &recorded {
            tracing::error!(
                model = self.model_id,
                entry = entry_id,
                task_id = outcome.task_id(),
                "the ledger missed the outcome: {e}"
            );
        }
        if outcome.task_id().is_some()
            && let Some(hook) = &shared.on_submitted
        {
            let entry = LedgerEntry {
                id: entry_id,
                intent: self.intent.clone(),
                outcome: outcome.clone(),
                updated_at: SystemTime::now(),
                cost: None,
            };
            // A panic in user code must not unwind through a paid request's record.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(entry)));
            let finished = match ran {
                Ok(future) => std::panic::AssertUnwindSafe(future).catch_unwind().await,
                Err(panic) => Err(panic),
            };
            if finished.is_err() {
                tracing::error!(
                    model = self.model_id,
                    entry = entry_id,
                    "the on_submitted hook panicked; the task is recorded in the ledger"
                );
            }
        }
        match recorded {
            Ok(()) => result,
            // Never a silent success: the caller is the only one left who has the id.
            Err(ledger) => Err(Error::LedgerUnrecorded {
                model_id: self.model_id.clone(),
                entry: entry_id,
                outcome: Box::new(outcome),
                ledger: Box::new(ledger),
            }),
        }
    }

    /// The POST, under the permit taken before the intent, and what its answer proves.
    async fn post(&self, permit: Permit<'_>) -> Result<Task, Error> {
        let transport = &self.shared.transport;
        let submitted_at = SystemTime::now();
        let unknown =
            |task_id: Option<String>, reason: String, status: Option<u16>| Error::OutcomeUnknown {
                model_id: self.model_id.clone(),
                task_id,
                reason,
                status,
            };
        let sent = transport
            .send_admitted_with_webhook(
                Outgoing {
                    method: Method::POST,
                    path: &self.path,
                    body: Some((self.body.clone(), "application/json")),
                    attempt: 1,
                    deadline: None,
                },
                permit,
                self.webhook.clone(),
            )
            .await;
        let answer = match Proof::of(sent) {
            Proof::NotSent(failure) => {
                return Err(Error::NotSent {
                    task_id: None,
                    reason: failure.reason,
                });
            }
            Proof::Unknown(Unproven::Lost(failure)) => {
                tracing::warn!(
                    model = self.model_id,
                    path = self.path,
                    "submit lost after sending"
                );
                return Err(unknown(
                    scan_task_id(&failure.partial),
                    failure.reason,
                    failure.status,
                ));
            }
            Proof::Accepted(answer) => {
                let status = answer.status;
                tracing::info!(model = self.model_id, status, "submit answered");
                return match accepted_task_id(&answer.body, &transport.redactor) {
                    Ok(task_id) => {
                        tracing::info!(model = self.model_id, task_id, "task accepted");
                        Ok(Task::submitted(
                            task_id,
                            &self.model_id,
                            submitted_at,
                            self.kind.clone(),
                        ))
                    }
                    Err(reason) => Err(unknown(
                        scan_task_id(&answer.body),
                        format!("HTTP {status}, but {reason}"),
                        Some(status),
                    )),
                };
            }
            Proof::Rejected(answer) => {
                tracing::info!(
                    model = self.model_id,
                    status = answer.status,
                    "submit answered"
                );
                let api = answer_error(&answer, &transport.redactor);
                return Err(Error::Rejected {
                    model_id: self.model_id.clone(),
                    api: Box::new(api),
                });
            }
            Proof::Unknown(Unproven::Answered(answer)) => answer,
        };
        let status = answer.status;
        tracing::info!(model = self.model_id, status, "submit answered");
        if answer.is_redirect() {
            return Err(unknown(
                scan_task_id(&answer.body),
                format!(
                    "HTTP {status} redirect to {}; a paid request is never sent twice, so it \
                     was not followed",
                    answer.location()
                ),
                Some(status),
            ));
        }
        let api = answer_error(&answer, &transport.redactor);
        Err(unknown(
            scan_task_id(&answer.body),
            format!("the server answered {api}"),
            Some(status),
        ))
    }
}

/// Writes `outcome` into entry `entry_id`, trying again with growing pauses (each
/// attempt bounded, so a hung ledger is tried afresh) for [`OUTCOME_RETRY_FOR`]: a
/// full disk or a file locked past SQLite's busy timeout must not leave the entry
/// reading "may have created a task" while the task id sits in memory.
async fn record_outcome(
    shared: &Shared,
    entry_id: i64,
    outcome: &Outcome,
) -> Result<(), LedgerError> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    let mut attempt = 1u32;
    loop {
        let error = match tokio::time::timeout(
            OUTCOME_ATTEMPT,
            shared.ledger.record_outcome(entry_id, outcome),
        )
        .await
        {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => LedgerError::new(format!(
                "writing the outcome of entry {entry_id} took longer than {} s",
                OUTCOME_ATTEMPT.as_secs()
            )),
        };
        if started.elapsed() >= OUTCOME_RETRY_FOR {
            return Err(LedgerError::new(format!(
                "{} (after {attempt} attempts over {} minutes)",
                error.message(),
                OUTCOME_RETRY_FOR.as_secs() / 60
            )));
        }
        tracing::warn!(
            entry = entry_id,
            task_id = outcome.task_id(),
            attempt,
            "the ledger could not record an outcome, trying again: {error}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
        attempt += 1;
    }
}

fn too_large(len: usize) -> Error {
    invalid(
        "",
        Rule::Prose {
            message: format!(
                "the body is {len} bytes; at most {MAX_REQUEST_BYTES} bytes (64 MiB) are accepted"
            ),
        },
    )
}

/// A validation error with one violation.
fn invalid(pointer: &str, rule: Rule) -> Error {
    let mut checker = Checker::default();
    checker.violation(pointer, rule);
    match checker.finish() {
        Err(e) => Error::Validation(e),
        Ok(_) => Error::Malformed {
            task_id: None,
            reason: format!("{pointer}: a check failed without a violation"),
        },
    }
}

/// The official CLI's limits for bodies it has no schema for.
fn check_generic_limits(body: &Value) -> Result<(), Error> {
    let mut nodes = 0usize;
    let mut stack = vec![(body, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        nodes += 1;
        if depth > MAX_JSON_DEPTH || nodes > MAX_JSON_NODES {
            let message = if depth > MAX_JSON_DEPTH {
                format!("the body is nested deeper than {MAX_JSON_DEPTH} levels")
            } else {
                format!("the body holds more than {MAX_JSON_NODES} JSON values")
            };
            return Err(invalid("", Rule::Prose { message }));
        }
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    if !body.is_object() {
        return Err(invalid("", Rule::Type { expected: "object" }));
    }
    Ok(())
}

/// The parts of a submit answer that decide acceptance; everything else is ignored.
#[derive(serde::Deserialize)]
struct SubmitEnvelope {
    code: Option<serde_json::Number>,
    data: Option<SubmitData>,
}

#[derive(serde::Deserialize)]
struct SubmitData {
    task_id: Option<Value>,
}

/// The task id of a success envelope, or why there is none.
fn accepted_task_id(body: &[u8], redactor: &Redactor) -> Result<String, String> {
    let envelope: SubmitEnvelope = serde_json::from_slice(body)
        .map_err(|e| format!("its body is not a JSON envelope ({e})"))?;
    let code = envelope.code.as_ref().map(|c| c.as_i64());
    let id = envelope.data.and_then(|d| d.task_id);
    let id = id.as_ref().and_then(Value::as_str);
    match (code, id) {
        (Some(Some(0)) | None, Some(id)) if is_usable_task_id(id) => Ok(id.to_owned()),
        (Some(Some(0)) | None, Some(id)) => Err(format!(
            "its task id {:?} is empty or holds control characters",
            // Redacted before the cut: a key straddling it must not leave its prefix.
            redactor.excerpt(id, 100)
        )),
        (Some(code), _) if code != Some(0) => Err(format!(
            "its envelope says code {}",
            code.map_or_else(|| "(not an integer)".to_owned(), |c| c.to_string())
        )),
        _ => Err("it carries no task id".to_owned()),
    }
}

/// The value of the first `"task_id": "…"` in a body that may be cut off or not JSON.
pub(crate) fn scan_task_id(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("\"task_id\"") {
        rest = &rest[at + "\"task_id\"".len()..];
        // `"task_id"` may also appear as a value (`"required":["task_id"]`): skip it.
        let Some(after_colon) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let after_colon = after_colon.trim_start();
        if let Some(value) = after_colon.strip_prefix('"') {
            let end = value.find('"')?;
            let id = &value[..end];
            // Escapes make the raw text differ from the id: only take plain ones.
            if is_usable_task_id(id) && !id.contains('\\') && !id.contains('\u{FFFD}') {
                return Some(id.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_found_in_broken_bodies() {
        let table: &[(&[u8], Option<&str>)] = &[
            (
                br#"{"code":0,"data":{"task_id":"task-1","status":"pen"#,
                Some("task-1"),
            ),
            (br#"{"data":{"task_id" : "task-2"}}"#, Some("task-2")),
            (br#"<html>task_id</html>"#, None),
            (
                br#"{"task_id":"","x":{"task_id":"task-3"}}"#,
                Some("task-3"),
            ),
            (br#"{"task_id":"id with spaces"}"#, Some("id with spaces")),
            (br#"{"task_id":"unterminated"#, None),
            (b"", None),
        ];
        for (body, want) in table {
            assert_eq!(
                scan_task_id(body).as_deref(),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn only_clean_success_envelopes_are_accepted() {
        assert_eq!(
            accepted_task_id(
                br#"{"code":0,"message":"success","data":{"task_id":"task-9"}}"#,
                &Redactor::default()
            ),
            Ok("task-9".into())
        );
        let long = "t".repeat(300);
        assert_eq!(
            accepted_task_id(
                format!(r#"{{"code":0,"data":{{"task_id":"{long}"}}}}"#).as_bytes(),
                &Redactor::default()
            ),
            Ok(long)
        );
        assert_eq!(
            accepted_task_id(
                br#"{"code":0,"data":{"task_id":"task/9 ok"}}"#,
                &Redactor::default()
            ),
            Ok("task/9 ok".into())
        );
        assert!(
            accepted_task_id(br#"{"code":0,"data":{}}"#, &Redactor::default())
                .unwrap_err()
                .contains("no task id")
        );
        assert!(
            accepted_task_id(
                br#"{"code":0,"data":{"task_id":"a\u0007b"}}"#,
                &Redactor::default()
            )
            .unwrap_err()
            .contains("control")
        );
        assert!(
            accepted_task_id(
                br#"{"code":500,"data":{"task_id":"t"}}"#,
                &Redactor::default()
            )
            .unwrap_err()
            .contains("code 500")
        );
        assert!(
            accepted_task_id(b"<html>", &Redactor::default())
                .unwrap_err()
                .contains("not a JSON envelope")
        );
    }

    #[test]
    fn model_ids_are_checked_before_sending() {
        for ok in ["bytedance/seedance-2.0-v2v", "alibaba/wan2.7-t2v", "a/b"] {
            assert!(crate::schema::model_id::check_model_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "seedance", "a/", "/b", "a/b/c", "a/../b", "a/.b", "a b/c", "a/é",
        ] {
            assert!(
                crate::schema::model_id::check_model_id(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn generic_limits_count_depth_and_nodes() {
        let mut deep = serde_json::json!(1);
        for _ in 0..MAX_JSON_DEPTH {
            deep = serde_json::json!({ "a": deep });
        }
        assert!(check_generic_limits(&deep).is_err());
        let wide = Value::Array(vec![Value::Null; MAX_JSON_NODES]);
        assert!(check_generic_limits(&serde_json::json!({ "a": wide })).is_err());
        assert!(check_generic_limits(&serde_json::json!({"prompt": "x"})).is_ok());
        assert!(check_generic_limits(&serde_json::json!([1])).is_err());
    }
}

//! The one request path every API call takes: the API origin only, auth, our
//! User-Agent, no redirects, the client-wide limiter, timeouts per phase, a capped read
//! that keeps what arrived, the request id, and one tracing span per attempt.
//!
//! It classifies nothing by meaning: callers decide what an answer proves (a submit
//! and a status query read the same 502 differently). What it does decide is whether a
//! request provably never left ([`Stage::NotSent`]) or may have reached the server
//! ([`Stage::MaybeSent`]).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, Url};
use tokio::time::Instant;

use crate::time::{after, later};
use crate::transport::ratelimit::{Permit, RateLimiter};

use crate::redact::Redactor;

/// Answers larger than this are refused, as Modellix's official client does.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// Error answers are read up to this much: enough for any message, bounded memory.
const MAX_ERROR_BYTES: usize = 64 * 1024;
/// Bodies are handed to the connection in pieces of this size, so progress is seen.
const SEND_CHUNK: usize = 64 * 1024;

/// How long each phase of a request may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// A whole read (GET, DELETE): connect, send, answer, body.
    pub(crate) read: Duration,
    /// From the last byte of a request body to the answer's headers, and between
    /// pieces of the answer's body.
    pub(crate) answer: Duration,
    /// Sending a body may take this long plus its size at `min_send_rate`.
    pub(crate) send_base: Duration,
    /// Slowest uplink (bytes per second) a body send is allowed before giving up.
    pub(crate) min_send_rate: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            read: Duration::from_secs(30),
            answer: Duration::from_secs(30),
            send_base: Duration::from_secs(30),
            min_send_rate: 64 * 1024,
        }
    }
}

impl Timeouts {
    /// Extra time for the answer of a body of `len` bytes: the last pieces handed to
    /// the connection may still sit in socket buffers (several MiB) on a slow uplink.
    pub(crate) fn drain_allowance(&self, len: usize) -> Duration {
        let buffered = len.min(8 * 1024 * 1024) as u64;
        Duration::from_secs(buffered.div_ceil(self.min_send_rate.max(1)))
    }

    /// The send limit for a body of `len` bytes.
    pub(crate) fn send_limit(&self, len: usize) -> Duration {
        let rate = self.min_send_rate.max(1);
        self.send_base
            .saturating_add(Duration::from_secs((len as u64).div_ceil(rate)))
    }
}

/// The kinds of request, each with its own deadline for the whole answer (see
/// [`ClientBuilder::answer_deadline`](crate::client::ClientBuilder::answer_deadline)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// A paid task submission (`POST /api/v1/{provider}/{model}/async`).
    Submit,
    /// A file upload (`POST /api/v1/files`, streamed).
    Upload,
    /// A task status query (`GET /api/v1/tasks/{id}`).
    Query,
    /// Any other call: the catalog, the account, listing or deleting files.
    PlatformRead,
}

impl RequestKind {
    /// The kind of a request, from its method, path and whether its body is streamed
    /// (only uploads stream one), so no call site has to say it.
    pub(crate) fn of(method: &Method, path: &str, streamed: bool) -> RequestKind {
        if streamed {
            RequestKind::Upload
        } else if method == Method::POST {
            RequestKind::Submit
        } else if method == Method::GET && path.starts_with("/api/v1/tasks/") {
            RequestKind::Query
        } else {
            RequestKind::PlatformRead
        }
    }
}

/// How long the whole answer of a request may take to arrive, headers and body, per
/// [`RequestKind`]: counted from when the request's body was handed to the connection
/// (plus the time a large body may still sit in socket buffers), or from the start
/// for a request without a body. The timeouts per phase bound each wait for a byte;
/// this bounds their sum, so a server sending one byte a second cannot hold a call.
///
/// A submit past its deadline ends as an unknown outcome (the POST was sent), an
/// upload as an unknown upload; a read is retried as any network failure.
///
/// Defaults follow the client's `timeout` (30 s): submit twice it (60 s), upload
/// four times (120 s), a status query and a platform read once (30 s, the same as
/// the whole-read timeout). A client built `without_timeouts` has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnswerDeadlines {
    pub(crate) submit: Duration,
    pub(crate) upload: Duration,
    pub(crate) query: Duration,
    pub(crate) platform_read: Duration,
}

impl AnswerDeadlines {
    /// The defaults for `timeouts` (see [`AnswerDeadlines`]).
    pub(crate) fn from_timeouts(timeouts: &Timeouts) -> AnswerDeadlines {
        let answer = timeouts.answer;
        AnswerDeadlines {
            submit: answer.saturating_mul(2),
            upload: answer.saturating_mul(4),
            query: timeouts.read,
            platform_read: timeouts.read,
        }
    }

    /// The deadline of `kind`.
    pub(crate) fn of(&self, kind: RequestKind) -> Duration {
        match kind {
            RequestKind::Submit => self.submit,
            RequestKind::Upload => self.upload,
            RequestKind::Query => self.query,
            RequestKind::PlatformRead => self.platform_read,
        }
    }

    /// The same deadlines with `kind`'s set to `deadline`.
    pub(crate) fn with(mut self, kind: RequestKind, deadline: Duration) -> AnswerDeadlines {
        match kind {
            RequestKind::Submit => self.submit = deadline,
            RequestKind::Upload => self.upload = deadline,
            RequestKind::Query => self.query = deadline,
            RequestKind::PlatformRead => self.platform_read = deadline,
        }
        self
    }
}

/// An answer, whatever its status (3xx included: nothing is followed).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) request_id: Option<String>,
    /// The `Location` header, redacted and fit for a message (see [`Answer::location`]).
    pub(crate) location: Option<String>,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// Where a redirect pointed, fit for a message: redacted before it was shortened
    /// (a server may echo the key into the URL).
    pub(crate) fn location(&self) -> String {
        self.location
            .clone()
            .unwrap_or_else(|| "nowhere (no Location header)".to_owned())
    }
}

/// Whether a failed request may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Provably not sent: no connection was made.
    NotSent,
    /// Sent, or perhaps sent: the server may have acted on it.
    MaybeSent,
}

/// A request that produced no complete answer.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) stage: Stage,
    /// What happened, secrets removed.
    pub(crate) reason: String,
    /// The answer's status, when headers arrived before the failure.
    pub(crate) status: Option<u16>,
    /// What arrived of the body (a task id may be in it).
    pub(crate) partial: Vec<u8>,
    /// True when the failure was the answer being over [`MAX_ANSWER_BYTES`].
    pub(crate) too_large: bool,
}

/// A body read from elsewhere (a file being uploaded), of a length known before the
/// first byte is sent; pieces are handed to the connection as they are produced, so
/// memory stays constant whatever the size.
pub(crate) struct Streamed {
    /// Exact length in bytes; sent as `Content-Length`.
    pub(crate) len: u64,
    /// `Content-Type` (a multipart type carries its boundary, so it is not static).
    pub(crate) content_type: HeaderValue,
    /// The pieces; an error ends the request as maybe sent.
    pub(crate) stream: BoxStream<'static, std::io::Result<Bytes>>,
}

/// A request to send: method, path under the origin, optional body.
pub(crate) struct Outgoing<'a> {
    pub(crate) method: Method,
    /// Path (and query) under the base URL, starting with `/`.
    pub(crate) path: &'a str,
    pub(crate) body: Option<(Bytes, &'static str)>,
    /// For the span: the 1-based attempt of this logical call.
    pub(crate) attempt: u32,
    /// Give up waiting for the limiter at this time.
    pub(crate) deadline: Option<Instant>,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: String,
    authorization: Option<HeaderValue>,
    user_agent: HeaderValue,
    pub(crate) redactor: Redactor,
    pub(crate) timeouts: Timeouts,
    /// The whole answer's deadline per kind of request.
    pub(crate) deadlines: AnswerDeadlines,
    pub(crate) limiter: RateLimiter,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "Bearer <redacted>"),
            )
            .field("user_agent", &self.user_agent)
            .field("timeouts", &self.timeouts)
            .field("deadlines", &self.deadlines)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(
        base: &Url,
        authorization: Option<HeaderValue>,
        user_agent: HeaderValue,
        redactor: Redactor,
        timeouts: Timeouts,
        connect_timeout: Duration,
        limiter: RateLimiter,
    ) -> Result<Transport, String> {
        crate::transport::tls::install_default_provider();
        let mut http = reqwest::Client::builder()
            // A redirect would re-send a paid POST, with the key, somewhere else.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(connect_timeout) = finite(connect_timeout) {
            http = http.connect_timeout(connect_timeout);
        }
        let http = http
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Transport {
            http,
            base_url: base.as_str().trim_end_matches('/').to_owned(),
            authorization,
            user_agent,
            redactor,
            deadlines: AnswerDeadlines::from_timeouts(&timeouts),
            timeouts,
            limiter,
        })
    }

    /// The transport with `kind`'s answer deadline set (see [`AnswerDeadlines`]); for
    /// the client builder.
    pub(crate) fn with_answer_deadline(mut self, kind: RequestKind, deadline: Duration) -> Self {
        self.deadlines = self.deadlines.with(kind, deadline);
        self
    }

    /// False for a client built `without_timeouts` (tests on a paused clock): then no
    /// timer of the client's own may run while a request is in flight.
    pub(crate) fn has_timeouts(&self) -> bool {
        finite(self.timeouts.read).is_some()
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends one request and reads its answer, never following a redirect.
    pub(crate) async fn send(&self, out: Outgoing<'_>) -> Result<Answer, Failure> {
        self.send_with(out, None, None).await
    }

    /// [`Transport::send`] for a request the caller already let through the limiter:
    /// `permit` is its claim, held until the answer is in.
    pub(crate) async fn send_admitted(
        &self,
        out: Outgoing<'_>,
        permit: Permit<'_>,
    ) -> Result<Answer, Failure> {
        self.send_with(out, None, Some(permit)).await
    }

    /// [`Transport::send`] with a streamed body instead of `out.body`: the same
    /// guarantees (limiter, no redirect, send and answer timeouts, capped read).
    pub(crate) async fn send_streamed(
        &self,
        out: Outgoing<'_>,
        body: Streamed,
    ) -> Result<Answer, Failure> {
        self.send_with(out, Some(body), None).await
    }

    async fn send_with(
        &self,
        out: Outgoing<'_>,
        streamed: Option<Streamed>,
        admitted: Option<Permit<'_>>,
    ) -> Result<Answer, Failure> {
        use tracing::Instrument;
        let span = tracing::debug_span!(
            target: "modellix",
            "modellix.request",
            method = %out.method,
            path = out.path,
            attempt = out.attempt,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self
            .send_inner(out, streamed, admitted)
            .instrument(span.clone())
            .await;
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(answer) => {
                span.record("status", answer.status);
                if let Some(id) = &answer.request_id {
                    span.record("request_id", id.as_str());
                }
            }
            Err(failure) => {
                if let Some(status) = failure.status {
                    span.record("status", status);
                }
            }
        }
        let _entered = span.enter();
        match &result {
            Ok(answer) => tracing::debug!(target: "modellix", status = answer.status, "answered"),
            Err(failure) => {
                tracing::debug!(target: "modellix", stage = ?failure.stage, "failed: {}", failure.reason)
            }
        }
        result
    }

    async fn send_inner(
        &self,
        out: Outgoing<'_>,
        streamed: Option<Streamed>,
        admitted: Option<Permit<'_>>,
    ) -> Result<Answer, Failure> {
        let not_sent = |reason: String| Failure {
            stage: Stage::NotSent,
            reason,
            status: None,
            partial: Vec::new(),
            too_large: false,
        };
        let permit = match admitted {
            Some(permit) => Some(permit),
            None => self.limiter.acquire(out.deadline).await,
        };
        let Some(permit) = permit else {
            return Err(not_sent(
                "the deadline passed while waiting for the rate limit".into(),
            ));
        };
        let kind = RequestKind::of(&out.method, out.path, streamed.is_some());
        let answer_deadline = finite(self.deadlines.of(kind));
        let url = format!("{}{}", self.base_url, out.path);
        let mut request = self.http.request(out.method.clone(), url);
        request = request.header(USER_AGENT, self.user_agent.clone());
        if let Some(auth) = &self.authorization {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let mut progress = None;
        let mut send_limit = None;
        let payload = match (streamed, out.body) {
            (Some(streamed), _) => Some(streamed),
            (None, Some((bytes, content_type))) => Some(Streamed {
                len: bytes.len() as u64,
                content_type: HeaderValue::from_static(content_type),
                stream: pieces(bytes),
            }),
            (None, None) => None,
        };
        if let Some(payload) = payload {
            let len = usize::try_from(payload.len).unwrap_or(usize::MAX);
            let drain = self.timeouts.drain_allowance(len);
            send_limit = Some(SendLimits {
                send: self.timeouts.send_limit(len),
                answer: self.timeouts.answer.saturating_add(drain),
                whole: answer_deadline.map(|d| d.saturating_add(drain)),
            });
            let (body, done) = tracked_body(payload.len, payload.stream);
            progress = Some(done);
            request = request
                .header(CONTENT_TYPE, payload.content_type)
                .header(reqwest::header::CONTENT_LENGTH, payload.len)
                .body(body);
        } else if let Some(read) = finite(self.timeouts.read) {
            request = request.timeout(read);
        }
        let request = request
            .build()
            .map_err(|e| not_sent(format!("cannot build the request: {}", self.chain(&e))))?;

        let started = Instant::now();
        let execute = self.http.execute(request);
        let response = match (progress, send_limit) {
            (Some(done), Some(limits)) => with_send_timeouts(execute, done, limits).await,
            _ => {
                let whole = answer_deadline.map(|d| later(started, d));
                match whole {
                    Some(whole) => match tokio::time::timeout_at(whole, execute).await {
                        Ok(result) => result.map_err(PhaseError::Http).map(|r| (r, Some(whole))),
                        Err(_) => Err(PhaseError::WholeAnswer(answer_deadline.unwrap_or_default())),
                    },
                    None => execute.await.map_err(PhaseError::Http).map(|r| (r, None)),
                }
            }
        };
        let (response, whole) = match response {
            Ok(response) => response,
            Err(PhaseError::Http(e)) if e.is_connect() => {
                return Err(not_sent(format!(
                    "cannot connect to {}: {}",
                    self.base_url,
                    self.chain(&e)
                )));
            }
            Err(error) => {
                let reason = match error {
                    PhaseError::Http(e) if e.is_timeout() => {
                        format!("no answer within {} s", self.timeouts.read.as_secs())
                    }
                    PhaseError::Http(e) => format!("the connection failed ({})", self.chain(&e)),
                    PhaseError::SendTimeout(limit) => {
                        format!("sending the body took longer than {} s", limit.as_secs())
                    }
                    PhaseError::AnswerTimeout(after) => format!(
                        "no answer within {} s after the body was sent",
                        after.as_secs()
                    ),
                    PhaseError::WholeAnswer(limit) => whole_answer_reason(kind, limit),
                };
                return Err(Failure {
                    stage: Stage::MaybeSent,
                    reason,
                    status: None,
                    partial: Vec::new(),
                    too_large: false,
                });
            }
        };

        let status = response.status().as_u16();
        self.limiter.observe(permit, status, response.headers());
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(|v| self.redactor.text(v));
        let limit = if (200..300).contains(&status) {
            MAX_ANSWER_BYTES
        } else {
            MAX_ERROR_BYTES
        };
        let error_answer = !(200..300).contains(&status);
        let mut response = response;
        let headers = std::mem::take(response.headers_mut());
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| self.redactor.url(v));
        let read = read_capped(response, limit, self.timeouts.answer, whole);
        match read.await {
            Ok(body) => Ok(Answer {
                status,
                headers,
                body,
                request_id,
                location,
            }),
            // An error answer is only read for its message: a cut is harmless.
            Err(cut) if error_answer && cut.too_large => Ok(Answer {
                status,
                headers,
                body: cut.partial,
                request_id,
                location,
            }),
            Err(cut) => Err(Failure {
                stage: Stage::MaybeSent,
                reason: match cut.past_deadline {
                    true => format!(
                        "HTTP {status}, but {}",
                        whole_answer_reason(kind, self.deadlines.of(kind))
                    ),
                    false => format!("HTTP {status}, but {}", self.redactor.text(&cut.reason)),
                },
                status: Some(status),
                partial: cut.partial,
                too_large: cut.too_large,
            }),
        }
    }

    /// An error and its causes on one line, secrets removed.
    pub(crate) fn chain(&self, e: &dyn std::error::Error) -> String {
        self.redactor.text(&error_chain(e))
    }
}

/// `None` for "no timeout" (`Duration::MAX`, as set by `without_timeouts`): no timer
/// is armed at all, so tokio's paused clock cannot jump to it.
fn finite(d: Duration) -> Option<Duration> {
    (d < Duration::from_secs(u64::from(u32::MAX))).then_some(d)
}

/// Why an answer ran past its kind's deadline, for messages.
fn whole_answer_reason(kind: RequestKind, limit: Duration) -> String {
    let what = match kind {
        RequestKind::Submit => "submit",
        RequestKind::Upload => "upload",
        RequestKind::Query => "status query",
        RequestKind::PlatformRead => "request",
    };
    format!(
        "the whole answer of the {what} did not arrive within its deadline of {} s",
        limit.as_secs()
    )
}

/// The limits of a request with a body.
struct SendLimits {
    /// Handing the body over.
    send: Duration,
    /// From the body handed over to the answer's headers.
    answer: Duration,
    /// From the body handed over to the answer's last byte (the kind's deadline).
    whole: Option<Duration>,
}

/// Runs `execute` under the send limit until the body is handed over, then under
/// the answer timeout and the whole answer's deadline; the latter is returned with
/// the response, for reading its body.
async fn with_send_timeouts(
    execute: impl Future<Output = reqwest::Result<reqwest::Response>>,
    mut done: tokio::sync::watch::Receiver<Option<Instant>>,
    limits: SendLimits,
) -> Result<(reqwest::Response, Option<Instant>), PhaseError> {
    tokio::pin!(execute);
    let send_deadline = finite(limits.send).map(after);
    let mut closed = false;
    loop {
        let sent_at = *done.borrow_and_update();
        let whole = sent_at.and_then(|at| limits.whole.map(|d| later(at, d)));
        let deadline = match sent_at {
            Some(at) => {
                let answer = finite(limits.answer).map(|d| later(at, d));
                match (answer, whole) {
                    (Some(a), Some(w)) => Some(a.min(w)),
                    (a, w) => a.or(w),
                }
            }
            None => send_deadline,
        };
        let expired = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = &mut execute => {
                // Headers in before the body was seen handed over (an early answer):
                // the whole answer is counted from now.
                let whole = whole.or_else(|| limits.whole.map(after));
                return result.map(|r| (r, whole)).map_err(PhaseError::Http);
            }
            changed = done.changed(), if sent_at.is_none() && !closed => {
                // Closed without finishing: the connection dropped the body, and
                // `execute` ends soon with the reason.
                closed = changed.is_err();
            }
            () = expired => {
                return Err(match (sent_at, whole) {
                    (Some(_), Some(w)) if deadline == Some(w) => {
                        PhaseError::WholeAnswer(limits.whole.unwrap_or_default())
                    }
                    (Some(_), _) => PhaseError::AnswerTimeout(limits.answer),
                    (None, _) => PhaseError::SendTimeout(limits.send),
                });
            }
        }
    }
}

enum PhaseError {
    Http(reqwest::Error),
    SendTimeout(Duration),
    AnswerTimeout(Duration),
    /// The kind's deadline for the whole answer passed.
    WholeAnswer(Duration),
}

/// `bytes` in pieces of [`SEND_CHUNK`], so progress through the body is seen.
fn pieces(bytes: Bytes) -> BoxStream<'static, std::io::Result<Bytes>> {
    let total = bytes.len();
    futures_util::stream::iter(
        (0..total)
            .step_by(SEND_CHUNK)
            .map(move |at| Ok(bytes.slice(at..at.saturating_add(SEND_CHUNK).min(total)))),
    )
    .boxed()
}

/// A streamed body of `len` bytes and a channel that receives the time the last piece
/// was handed to the connection.
fn tracked_body(
    len: u64,
    stream: BoxStream<'static, std::io::Result<Bytes>>,
) -> (reqwest::Body, tokio::sync::watch::Receiver<Option<Instant>>) {
    if len == 0 {
        // Nothing to send: the body is "handed over" at once.
        let (tx, rx) = tokio::sync::watch::channel(Some(Instant::now()));
        drop(tx);
        return (reqwest::Body::from(Bytes::new()), rx);
    }
    let (tx, rx) = tokio::sync::watch::channel(None);
    let mut handed = 0u64;
    let stream = stream.map(move |piece| {
        if let Ok(piece) = &piece {
            handed = handed.saturating_add(piece.len() as u64);
            if handed >= len {
                let _ = tx.send(Some(Instant::now()));
            }
        }
        piece
    });
    (reqwest::Body::wrap_stream(stream), rx)
}

/// A body that could not be read whole.
pub(crate) struct Cut {
    pub(crate) partial: Vec<u8>,
    pub(crate) reason: String,
    pub(crate) too_large: bool,
    /// The whole answer's deadline passed while it was coming.
    pub(crate) past_deadline: bool,
}

/// Reads a body up to `limit` bytes, each piece within `stall` and the whole by
/// `deadline`; what was read is kept on failure. A body announced as too large is
/// refused after a short prefix.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
    stall: Duration,
    deadline: Option<Instant>,
) -> Result<Vec<u8>, Cut> {
    const PREFIX: usize = 64 * 1024;
    let too_large = || format!("its answer is larger than {} KiB", limit >> 10);
    let announced_too_large = response.content_length().is_some_and(|n| n > limit as u64);
    let read_limit = if announced_too_large {
        PREFIX.min(limit)
    } else {
        limit
    };
    let capacity = response.content_length().map_or(0, |n| {
        usize::try_from(n).unwrap_or(usize::MAX).min(read_limit)
    });
    let mut body = Vec::with_capacity(capacity);
    loop {
        let next = response.chunk();
        let stall_at = finite(stall).map(after);
        let wake = match (stall_at, deadline) {
            (Some(s), Some(d)) => Some(s.min(d)),
            (s, d) => s.or(d),
        };
        let chunk = match wake {
            None => Ok(next.await),
            Some(wake) => tokio::time::timeout_at(wake, next).await,
        };
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(_) => {
                let past_deadline = deadline.is_some_and(|d| Some(d) == wake);
                return Err(Cut {
                    partial: body,
                    reason: match past_deadline {
                        true => "its whole answer did not arrive by its deadline".to_owned(),
                        false => format!("its answer stalled for {} s", stall.as_secs()),
                    },
                    too_large: false,
                    past_deadline,
                });
            }
        };
        match chunk {
            Ok(Some(chunk)) => {
                let room = read_limit.saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    return Err(Cut {
                        partial: body,
                        reason: too_large(),
                        too_large: true,
                        past_deadline: false,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) if announced_too_large => {
                return Err(Cut {
                    partial: body,
                    reason: too_large(),
                    too_large: true,
                    past_deadline: false,
                });
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(Cut {
                    partial: body,
                    reason: format!("its answer was cut off ({})", error_chain(&e)),
                    too_large: false,
                    past_deadline: false,
                });
            }
        }
    }
}

/// An error and its causes on one line (reqwest's top level says little).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

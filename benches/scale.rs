//! Scale: 10,000 tasks submitted and awaited concurrently through one `Client`, and
//! the 429s the client provokes with and without its shared rate-limit state.
//!
//! Run: `cargo bench --bench scale`. The server side (sandbox, and the rate limiter in
//! front of it) runs in a child process (this binary re-run with `SCALE_SERVER` set),
//! so that the peak memory reported is the client's alone and the 10,000 connections
//! are not counted twice against this process's open-file limit (20,000 here).
//!
//! Tasks use `Timing::Polls { pending: 1, processing: 2 }`: each needs exactly four
//! successful queries, whatever the timing, so request counts are comparable. The
//! client polls with `Backoff::fixed(200 ms).jitter(0.2)`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use modellix::{Backoff, Client, WaitOptions};
use modellix_sandbox::{DEFAULT_API_KEY, Fault, FaultKind, FaultPlan, Route, Sandbox, Timing};
use tokio::sync::Semaphore;

const TASKS: usize = 10_000;
const SUBMIT_CONCURRENCY: usize = 256;
/// Share of task queries the sandbox answers 429 at random.
const RANDOM_429: f64 = 0.10;
/// The token bucket of the rate-limited runs: refills this many requests per
/// second, holds as many. `SCALE_LIMIT_PER_SECOND` sets another (a busy machine may
/// not reach 5,000 a second, and then the bucket never binds).
const LIMIT_PER_SECOND: f64 = 5000.0;

fn limit_per_second() -> f64 {
    static LIMIT: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("SCALE_LIMIT_PER_SECOND")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 1.0)
            .unwrap_or(LIMIT_PER_SECOND)
    })
}
/// Requests the limiter forwards to the sandbox at once.
const UPSTREAM_CONNECTIONS: usize = 64;
const SERVER_ENV: &str = "SCALE_SERVER";

fn main() {
    if let Ok(spec) = std::env::var(SERVER_ENV) {
        return serve(&spec);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("# Scale: {TASKS} tasks through one client (sandbox in a child process)");
    println!("# command: cargo bench --bench scale");
    println!(
        "# tasks: Timing::Polls {{ pending: 1, processing: 2 }}; schedule Backoff::fixed(200 ms) ±20%; \
         submits {SUBMIT_CONCURRENCY} at a time; wait_all concurrency {TASKS}; \
         queries in flight {} (the default) unless the row says otherwise",
        WaitOptions::default().queries_in_flight
    );
    println!(
        "\n| server | shared 429 state | submit s | wait s | submits | task queries sent | 429s | failed waits | client VmHWM MB | server VmHWM MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    // "shared 429 state": none (every request on its own), pause (a 429 pauses the
    // client), paced (the limiter also paces from the server's X-RateLimit-* headers).
    let bucket = &format!("token bucket {} requests/s", limit_per_second());
    let runs = [
        ("no faults", "plain", Pacing::Pause),
        (
            "random 429 on 10% of task queries",
            "random429",
            Pacing::Pause,
        ),
        (
            "random 429 on 10% of task queries",
            "random429",
            Pacing::None,
        ),
        (bucket, "limit", Pacing::Paced),
        (bucket, "limit", Pacing::Pause),
        (bucket, "limit", Pacing::None),
    ];
    // `SCALE_ROWS=plain` (a comma-separated list of specs) runs only those rows.
    let only = std::env::var("SCALE_ROWS").ok();
    let wanted = |spec: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|s| s == spec))
    };
    // The waits before the bound on queries in flight, beside the rows with it; last,
    // because the memory a run frees stays resident and would raise the next run's
    // high-water mark.
    let unbounded = [
        ("no faults, queries in flight not bounded (before)", "plain"),
        (
            "random 429 on 10% of task queries, queries in flight not bounded (before)",
            "random429",
        ),
    ]
    .map(|(label, spec)| (label, spec, Pacing::Pause, TASKS));
    let runs = runs.into_iter().map(|(label, spec, shared)| {
        (
            label,
            spec,
            shared,
            WaitOptions::default().queries_in_flight,
        )
    });
    for (label, spec, shared, in_flight) in
        runs.chain(unbounded).filter(|(_, spec, ..)| wanted(spec))
    {
        let row = run(&runtime, spec, shared, in_flight);
        let s = &row.server;
        // Queries the limiter refused never reached the sandbox's counters.
        let rejected = s["sandbox_429"] + s["limiter_429"];
        assert_eq!(s["upstream_errors"], 0, "the limiter lost requests");
        println!(
            "| {label} | {shared:?} | {:.2} | {:.2} | {} | {} | {} | {} | {:.1} | {:.1} |",
            row.submit_s,
            row.wait_s,
            s["submits"],
            s["task_queries"] + s["limiter_429"],
            rejected,
            row.failed,
            row.client_hwm_kb as f64 / 1e3,
            s["hwm_kb"] as f64 / 1e3,
        );
    }
}

/// How much of the client's rate-limit state is shared between its requests.
#[derive(Debug, Clone, Copy)]
enum Pacing {
    /// Nothing: each request meets 429s on its own.
    None,
    /// A 429 pauses every request of the client (capped).
    Pause,
    /// The pause, and pacing from the server's `X-RateLimit-*` numbers.
    Paced,
}

struct Row {
    submit_s: f64,
    wait_s: f64,
    failed: usize,
    client_hwm_kb: u64,
    server: BTreeMap<String, u64>,
}

/// One scenario against a fresh server process and a fresh client, whose waits keep
/// at most `queries_in_flight` status queries in flight.
fn run(
    runtime: &tokio::runtime::Runtime,
    spec: &str,
    pacing: Pacing,
    queries_in_flight: usize,
) -> Row {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SERVER_ENV, spec)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server process starts");
    let mut from_server = BufReader::new(child.stdout.take().unwrap());
    let mut base_url = String::new();
    from_server.read_line(&mut base_url).unwrap();

    let client = Client::builder()
        .memory_ledger()
        .api_key(DEFAULT_API_KEY)
        .base_url(base_url.trim())
        // Paced: the library's default (100 a minute until the first answer's
        // headers say 300,000), as a program that sets nothing gets.
        .requests_per_minute(match pacing {
            Pacing::Paced => Some(modellix::DEFAULT_REQUESTS_PER_MINUTE),
            _ => None,
        })
        .poll_schedule(Backoff::fixed(Duration::from_millis(200)).jitter(0.2))
        .wait_options(
            WaitOptions::deadline(Duration::from_secs(120))
                .with_concurrency(TASKS)
                .with_queries_in_flight(queries_in_flight),
        )
        .shared_rate_limit(!matches!(pacing, Pacing::None))
        .build()
        .unwrap();
    let request = common::request();
    // Reset the kernel's high-water mark so it reflects this run (Linux >= 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");

    let start = Instant::now();
    let (tasks, submitted_at, failed) = runtime.block_on(async {
        let tasks: Vec<_> = futures_util::stream::iter(0..TASKS)
            .map(|_| async {
                // The bucket limits submits too: a 429 created nothing, so the caller
                // may send again once the server says (unpaced rows meet them).
                loop {
                    match client.submit(&request).await {
                        Err(e) if e.is_rejected() && e.status() == Some(429) => {
                            tokio::time::sleep(e.retry_after().unwrap_or(Duration::from_secs(1)))
                                .await
                        }
                        other => return other,
                    }
                }
            })
            .buffer_unordered(SUBMIT_CONCURRENCY)
            .collect()
            .await;
        let tasks: Vec<_> = tasks
            .into_iter()
            .map(|t| t.expect("a submit succeeds once the bucket allows it"))
            .collect();
        let submitted_at = start.elapsed();
        let results = client.wait_all(&tasks).await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        (tasks, submitted_at, failed)
    });
    let total = start.elapsed();
    let client_hwm_kb = common::proc_kb("VmHWM:");
    drop((tasks, client));

    writeln!(child.stdin.as_mut().unwrap(), "report").unwrap();
    let mut report = String::new();
    from_server.read_line(&mut report).unwrap();
    child.wait().unwrap();
    let server = report
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
        .collect();
    Row {
        submit_s: submitted_at.as_secs_f64(),
        wait_s: (total - submitted_at).as_secs_f64(),
        failed,
        client_hwm_kb,
        server,
    }
}

/// The child process: a sandbox (with a token bucket in front for `limit`), its URL
/// on stdout, then, after any line on stdin, what it saw as `key=value` pairs.
fn serve(spec: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 1,
            processing: 2,
        })
        .seed(7);
    if spec == "random429" {
        config =
            config.faults(FaultPlan::new().random(Route::Task, RANDOM_429, Fault::RetryAfter(1)));
    }
    let sandbox = runtime.block_on(config.start()).unwrap();
    let limiter = (spec == "limit").then(|| {
        Arc::new(Limiter {
            http: common::http(),
            upstream: sandbox.base_url().to_owned(),
            bucket: Mutex::new((limit_per_second(), Instant::now())),
            rejected: AtomicU64::new(0),
            upstream_slots: Semaphore::new(UPSTREAM_CONNECTIONS),
            upstream_errors: AtomicU64::new(0),
        })
    });
    let url = match &limiter {
        Some(limiter) => runtime.block_on(limiter.clone().start()),
        None => sandbox.base_url().to_owned(),
    };
    println!("{url}");
    std::io::stdout().flush().unwrap();
    // Blocks this thread only; the runtime's workers keep serving.
    std::io::stdin().read_line(&mut String::new()).unwrap();

    let counts = sandbox.counts();
    let (limited, upstream_errors) = limiter.map_or((0, 0), |l| {
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        (load(&l.rejected), load(&l.upstream_errors))
    });
    println!(
        "submits={} task_queries={} sandbox_429={} limiter_429={limited} upstream_errors={upstream_errors} hwm_kb={}",
        counts.submits(),
        counts.task,
        sandbox.faults_injected().count(FaultKind::RetryAfter),
        common::proc_kb("VmHWM:")
    );
}

/// A token bucket in front of the sandbox: a real rate limit (the sandbox's own 429s
/// are drawn per request, whatever the rate). Every API request is limited, submits
/// included, as Modellix counts every request of a key; those admitted are forwarded
/// and counted by the sandbox. Every answer carries the bucket's `X-RateLimit-*`
/// numbers.
struct Limiter {
    http: reqwest::Client,
    upstream: String,
    /// Tokens left and when they were counted.
    bucket: Mutex<(f64, Instant)>,
    rejected: AtomicU64,
    /// Bounds the connections to the sandbox, whose listen backlog (1024) would
    /// otherwise overflow when a full bucket is forwarded at once.
    upstream_slots: Semaphore,
    upstream_errors: AtomicU64,
}

impl Limiter {
    async fn start(self: Arc<Self>) -> String {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
        // A large backlog, so that 10,000 connections opened at once are not dropped.
        let listener = socket.listen(4096).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(forward).with_state(self);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    /// Modellix's headers for the bucket: the limit per minute, what is left now, and
    /// when it is full again (Unix seconds).
    fn rate_headers(&self, headers: &mut axum::http::HeaderMap) {
        let tokens = self.bucket.lock().unwrap().0.max(0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        for (name, value) in [
            ("x-ratelimit-limit", (limit_per_second() * 60.0) as u64),
            ("x-ratelimit-remaining", tokens as u64),
            ("x-ratelimit-reset", now + 1),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }

    fn admit(&self) -> bool {
        let mut bucket = self.bucket.lock().unwrap();
        let (tokens, at) = &mut *bucket;
        let now = Instant::now();
        let rate = limit_per_second();
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn forward(State(limiter): State<Arc<Limiter>>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let limited = path.starts_with("/api/");
    if limited && !limiter.admit() {
        limiter.rejected.fetch_add(1, Ordering::Relaxed);
        let mut answer = (
            StatusCode::TOO_MANY_REQUESTS,
            [(RETRY_AFTER, "1"), (CONTENT_TYPE, "application/json")],
            r#"{"code":429,"message":"Too many requests: rate limit exceeded","data":null}"#,
        )
            .into_response();
        limiter.rate_headers(answer.headers_mut());
        return answer;
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let mut upstream = limiter
        .http
        .request(parts.method, format!("{}{path}", limiter.upstream))
        .body(body);
    for name in [AUTHORIZATION, CONTENT_TYPE, ACCEPT, USER_AGENT] {
        if let Some(value) = parts.headers.get(&name) {
            upstream = upstream.header(name, value);
        }
    }
    let _slot = limiter.upstream_slots.acquire().await.unwrap();
    let answer = async {
        let answer = upstream.send().await?;
        let status = answer.status();
        let content_type = answer
            .headers()
            .get(CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/json"));
        Ok::<_, reqwest::Error>((status, content_type, answer.bytes().await?))
    };
    match answer.await {
        Ok((status, content_type, bytes)) => {
            let mut answer = (status, [(CONTENT_TYPE, content_type)], bytes).into_response();
            // On every API answer, as Modellix (and the sandbox) send them.
            limiter.rate_headers(answer.headers_mut());
            answer
        }
        Err(_) => {
            // Counted and reported: a figure that should stay 0.
            limiter.upstream_errors.fetch_add(1, Ordering::Relaxed);
            StatusCode::BAD_GATEWAY.into_response()
        }
    }
}

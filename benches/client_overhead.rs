//! Client overhead: `Client::submit` plus one `Task::status` against the sandbox on
//! loopback, compared in the same run with a bare `reqwest` loop that sends the same
//! bytes (same JSON body, same headers) and parses the answers as `serde_json::Value`.
//!
//! Run: `cargo bench --bench client_overhead`. The sandbox runs on its own thread
//! (instant tasks); the measured loops run on a current-thread runtime on the main
//! thread and share one connection pool.

mod common;

use std::time::Instant;

use bytes::Bytes;
use modellix::{Client, TaskStatus};
use modellix_sandbox::Sandbox;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde_json::Value;

const ITERATIONS: usize = 2000;
/// Iterations per round; rounds alternate between the two loops, and which goes first,
/// so that drift (the sandbox's growing task list, CPU frequency) hits both alike.
const ROUND: usize = 100;
const WARM_UP: usize = 200;

/// What a hand-written client with no checks sends: precomputed body and headers.
struct Bare {
    http: reqwest::Client,
    submit_url: String,
    tasks_url: String,
    body: Bytes,
    post_headers: HeaderMap,
    get_headers: HeaderMap,
}

impl Bare {
    fn new(http: reqwest::Client, sandbox: &Sandbox) -> Bare {
        // The request's own operation (not the table's first submit: the table grows).
        let op = <modellix::types::Seedance20V2vRequest as modellix::SubmitRequest>::OPERATION;
        // The same bytes `Client::submit` sends: the request as a JSON value, serialized.
        let value = serde_json::to_value(common::request()).expect("serializable");
        let body = Bytes::from(serde_json::to_vec(&value).expect("serializable"));
        let user_agent =
            HeaderValue::from_static(concat!("modellix-rust/", env!("CARGO_PKG_VERSION")));
        let auth = HeaderValue::from_str(&format!("Bearer {}", sandbox.api_key())).unwrap();
        let mut post_headers = HeaderMap::new();
        post_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        post_headers.insert(USER_AGENT, user_agent.clone());
        post_headers.insert(AUTHORIZATION, auth.clone());
        let mut get_headers = HeaderMap::new();
        get_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        get_headers.insert(USER_AGENT, user_agent);
        get_headers.insert(AUTHORIZATION, auth);
        Bare {
            http,
            submit_url: format!("{}{}", sandbox.base_url(), op.path),
            tasks_url: format!("{}/api/v1/tasks/", sandbox.base_url()),
            body,
            post_headers,
            get_headers,
        }
    }

    /// One submit and one query; the time of each, in µs.
    async fn once(&self) -> [f64; 2] {
        let start = Instant::now();
        let submitted: Value = self
            .http
            .post(&self.submit_url)
            .headers(self.post_headers.clone())
            .body(self.body.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = submitted["data"]["task_id"].as_str().expect("a task id");
        let submitted = Instant::now();
        let task: Value = self
            .http
            .get(format!("{}{id}", self.tasks_url))
            .headers(self.get_headers.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(task["data"]["status"], "success");
        split(start, submitted)
    }
}

/// One submit and one query through the client; the time of each, in µs.
async fn through_client(
    client: &Client,
    request: &modellix::types::Seedance20V2vRequest,
) -> [f64; 2] {
    let start = Instant::now();
    let task = client.submit(request).await.unwrap();
    let submitted = Instant::now();
    let info = task.status().await.unwrap();
    assert_eq!(info.status, TaskStatus::Success);
    split(start, submitted)
}

fn split(start: Instant, submitted: Instant) -> [f64; 2] {
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
    [us(submitted - start), us(submitted.elapsed())]
}

/// Submit, query and total times of each iteration, in µs, and the CPU time of the
/// measured thread (it runs the client and its connections: a current-thread runtime).
#[derive(Default)]
struct Samples([Vec<f64>; 3], u64);

impl Samples {
    async fn run<F: Future<Output = [f64; 2]>>(&mut self, n: usize, mut step: impl FnMut() -> F) {
        let cpu = common::thread_cpu_ns();
        for _ in 0..n {
            let [submit, query] = step().await;
            self.0[0].push(submit);
            self.0[1].push(query);
            self.0[2].push(submit + query);
        }
        self.1 += common::thread_cpu_ns() - cpu;
    }

    /// Mean CPU time of the measured thread per iteration, in µs.
    fn cpu_us(&self) -> f64 {
        self.1 as f64 / 1e3 / self.0[2].len() as f64
    }

    fn medians(&mut self) -> [f64; 3] {
        self.0.each_mut().map(|s| common::median(s))
    }
}

fn main() {
    let sandbox = common::SandboxThread::start(Sandbox::builder());
    let sandbox = &sandbox.sandbox;
    let http = common::http();
    let client = Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(None)
        .build()
        .unwrap();
    let request = common::request();
    let bare = Bare::new(http, sandbox);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let (mut ours, mut theirs) = (Samples::default(), Samples::default());
    runtime.block_on(async {
        let mut scratch = Samples::default();
        scratch
            .run(WARM_UP, || through_client(&client, &request))
            .await;
        scratch.run(WARM_UP, || bare.once()).await;
        for round in 0..ITERATIONS / ROUND {
            if round % 2 == 0 {
                ours.run(ROUND, || through_client(&client, &request)).await;
                theirs.run(ROUND, || bare.once()).await;
            } else {
                theirs.run(ROUND, || bare.once()).await;
                ours.run(ROUND, || through_client(&client, &request)).await;
            }
        }
    });

    // Client-side work that involves no I/O, to explain the difference.
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        std::hint::black_box(request.validate().unwrap());
    }
    let validate_us = start.elapsed().as_secs_f64() * 1e6 / ITERATIONS as f64;

    let counts = sandbox.counts();
    let cpu = [ours.cpu_us(), theirs.cpu_us()];
    let (ours, theirs) = (ours.medians(), theirs.medians());
    println!("# Client overhead: submit + one status query, sandbox on loopback (instant tasks)");
    println!("# command: cargo bench --bench client_overhead");
    println!(
        "{ITERATIONS} iterations per side in alternating rounds of {ROUND}, after {WARM_UP} warm-up each"
    );
    println!("median µs per iteration  |  submit |  status |   total | client-thread CPU (mean)");
    for (name, m, cpu) in [
        ("modellix::Client", ours, cpu[0]),
        ("bare reqwest", theirs, cpu[1]),
    ] {
        println!(
            "  {name:<22} | {:7.1} | {:7.1} | {:7.1} | {cpu:7.1}",
            m[0], m[1], m[2]
        );
    }
    let ratio = |i: usize| ours[i] / theirs[i];
    println!(
        "  {:<22} | {:7.3} | {:7.3} | {:7.3} | {:7.3}   (goal: client-thread CPU <= 1.05)",
        "ratio",
        ratio(0),
        ratio(1),
        ratio(2),
        cpu[0] / cpu[1]
    );
    println!("  request.validate() alone: {validate_us:.1} µs per call (no I/O)");
    println!(
        "  sandbox saw {} submits and {} task queries",
        counts.submits(),
        counts.task
    );
}

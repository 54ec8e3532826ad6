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
        let op = modellix::OPERATIONS
            .iter()
            .find(|op| op.is_submit())
            .expect("a submit operation");
        // The same bytes `Client::submit` sends: the request as a JSON value, serialized.
        let value = serde_json::to_value(common::request()).expect("serializable");
        let body = Bytes::from(serde_json::to_vec(&value).expect("serializable"));
        let user_agent = HeaderValue::from_static(concat!(
            "modellix-rust/",
            env!("CARGO_PKG_VERSION")
        ));
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

    async fn once(&self) {
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
    }
}

async fn through_client(client: &Client, request: &modellix::types::Seedance20V2vRequest) {
    let task = client.submit(request).await.unwrap();
    let info = task.status(client).await.unwrap();
    assert_eq!(info.status, TaskStatus::Success);
}

/// Per-iteration times of `n` iterations of `step`, in microseconds.
async fn timed<F: Future<Output = ()>>(n: usize, mut step: impl FnMut() -> F, out: &mut Vec<f64>) {
    for _ in 0..n {
        let start = Instant::now();
        step().await;
        out.push(start.elapsed().as_secs_f64() * 1e6);
    }
}

fn main() {
    let sandbox = common::SandboxThread::start(Sandbox::builder());
    let sandbox = &sandbox.sandbox;
    let http = common::http();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .http_client(http.clone())
        .build()
        .unwrap();
    let request = common::request();
    let bare = Bare::new(http, sandbox);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        let mut scratch = Vec::new();
        timed(WARM_UP, || through_client(&client, &request), &mut scratch).await;
        timed(WARM_UP, || bare.once(), &mut scratch).await;
        for round in 0..ITERATIONS / ROUND {
            if round % 2 == 0 {
                timed(ROUND, || through_client(&client, &request), &mut ours).await;
                timed(ROUND, || bare.once(), &mut theirs).await;
            } else {
                timed(ROUND, || bare.once(), &mut theirs).await;
                timed(ROUND, || through_client(&client, &request), &mut ours).await;
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
    let (client_median, bare_median) = (common::median(&mut ours), common::median(&mut theirs));
    let p90 = |s: &[f64]| s[s.len() * 9 / 10];
    println!("# Client overhead: submit + one status query, sandbox on loopback (instant tasks)");
    println!("# command: cargo bench --bench client_overhead");
    println!(
        "{ITERATIONS} iterations per side in alternating rounds of {ROUND}, after {WARM_UP} warm-up each"
    );
    println!(
        "  modellix::Client : median {client_median:7.1} µs, p90 {:7.1} µs per iteration",
        p90(&ours)
    );
    println!(
        "  bare reqwest     : median {bare_median:7.1} µs, p90 {:7.1} µs per iteration",
        p90(&theirs)
    );
    println!(
        "  ratio (medians)  : {:.3} (goal <= 1.10)",
        client_median / bare_median
    );
    println!("  of which request.validate() alone: {validate_us:.1} µs per call (no I/O)");
    println!(
        "  sandbox saw {} submits and {} task queries",
        counts.submits(),
        counts.task
    );
}

//! The bound on status queries in flight (`WaitOptions::queries_in_flight`): many waits
//! through one client complete, the server never sees more queries at once than the
//! bound, and a client-wide 429 pause does not starve them. The server is a small axum
//! app on its own thread that counts the requests it is answering and keeps the
//! highest count.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use modellix::{Backoff, Client, WaitOptions};
use serde_json::json;

/// Requests being answered now, and the most seen at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
    answered: AtomicUsize,
    /// When set, each task's first query is answered 429 with `Retry-After: 1`.
    first_is_429: bool,
    seen: Mutex<HashSet<String>>,
}

/// Every task is done; each answer takes 20 ms, so queries overlap.
async fn task(Path(id): Path<String>, State(counts): State<Arc<InFlight>>) -> Response {
    let now = counts.now.fetch_add(1, Ordering::SeqCst) + 1;
    counts.peak.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(20)).await;
    counts.now.fetch_sub(1, Ordering::SeqCst);
    if counts.first_is_429 && counts.seen.lock().unwrap().insert(id.clone()) {
        let body = json!({"code": 429, "message": "Too many requests", "data": null});
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            axum::Json(body),
        )
            .into_response();
    }
    counts.answered.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"code": 0, "message": "success", "data": {
        "status": "success", "task_id": id, "model_id": "bytedance/seedance-2.0-v2v",
        "result": {"resources": [{"type": "video", "url": "https://cdn.example.com/a.mp4"}]}
    }}))
    .into_response()
}

/// The server's URL and counters; it runs on its own thread until the test ends.
fn start_server(first_is_429: bool) -> (String, Arc<InFlight>) {
    let counts = Arc::new(InFlight {
        first_is_429,
        ..InFlight::default()
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/api/v1/tasks/{id}", get(task))
        .with_state(Arc::clone(&counts));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, counts)
}

/// Waits for `tasks` tasks at once, all of whose first queries are due together, under
/// a 30 s deadline.
async fn wait_for_many(
    tasks: usize,
    queries_in_flight: usize,
    first_is_429: bool,
) -> Arc<InFlight> {
    let (url, counts) = start_server(first_is_429);
    let client = Client::builder()
        .memory_ledger()
        .api_key("sk-test-0123456789abcdef")
        .base_url(url)
        .requests_per_minute(None)
        .poll_schedule(Backoff::fixed(Duration::from_millis(1)))
        .wait_options(
            WaitOptions::deadline(Duration::from_secs(30))
                .with_concurrency(tasks)
                .with_queries_in_flight(queries_in_flight),
        )
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..tasks)
        .map(|i| client.task(format!("task-{i}")).unwrap())
        .collect();
    let results = client.wait_all(&tasks).await;
    for (task, result) in tasks.iter().zip(&results) {
        let output = result
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", task.id()));
        assert_eq!(output.info.task_id, task.id());
    }
    assert_eq!(counts.answered.load(Ordering::SeqCst), tasks.len());
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_waits_finish_with_at_most_the_bound_in_flight() {
    let counts = wait_for_many(2_000, 16, false).await;
    let peak = counts.peak.load(Ordering::SeqCst);
    // All 2,000 first queries were due at once: the bound was reached, never passed.
    assert!((2..=16).contains(&peak), "peak {peak} queries in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tight_bound_the_same_waits_overlap_more() {
    // The control: the server's count does see more than 16 when the client allows it.
    let counts = wait_for_many(500, 500, false).await;
    let peak = counts.peak.load(Ordering::SeqCst);
    assert!(peak > 16, "peak {peak} queries in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_429_pause_does_not_starve_bounded_waits() {
    // Every task's first query meets a 429 that pauses the whole client for 1 s. The
    // queries the limiter let through before a pause still go out as slots free up;
    // were slots taken before the limiter, each pause would let only 4 queries out and
    // 200 tasks would need 50 pauses, past the 30 s deadline.
    let counts = wait_for_many(200, 4, true).await;
    assert!(counts.peak.load(Ordering::SeqCst) <= 4);
}

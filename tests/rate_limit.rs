//! The client's limiter over real HTTP against the sandbox's per-key rate limit (a
//! token bucket of 100 requests a minute, its minute scaled): many requests in flight
//! at once, polls and submits alike, meet no 429 when the client paces; the same
//! load without pacing does meet them (so the test can tell the two apart).

use std::time::Duration;

use futures_util::StreamExt;
use modellix::types::Seedance20V2vRequest;
use modellix::{Client, TaskHandle};
use modellix_sandbox::{LimitRejections, Sandbox, Timing};

/// The sandbox's minute lasts 1.2 s: 100 requests per 1.2 s.
const TIME_SCALE: f64 = 0.02;
const RPM: u32 = 100;
/// Status queries in flight at once.
const CONCURRENCY: usize = 24;
const QUERIES: usize = 300;

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .rpm(RPM)
        .time_scale(TIME_SCALE)
        // Tasks outlive the test: every query is a plain status answer.
        .timing(Timing::Fixed(Duration::from_secs(3600)))
        .start()
        .await
        .unwrap()
}

fn request(i: usize) -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt(format!("Extend motion from [Video 1] ({i})"))
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()
        .unwrap()
}

/// Five submits, then `QUERIES` status queries, `CONCURRENCY` at a time; returns the
/// sandbox's refusals and how many calls failed.
async fn load(client: &Client, sandbox: &Sandbox) -> (LimitRejections, usize) {
    let mut failed = 0;
    let mut tasks: Vec<TaskHandle> = Vec::new();
    for i in 0..5 {
        match client.submit(&request(i)).await {
            Ok(task) => tasks.push(task),
            Err(_) => failed += 1,
        }
    }
    assert!(!tasks.is_empty(), "no submit went through");
    let answers: Vec<bool> = futures_util::stream::iter(0..QUERIES)
        .map(|i| {
            let task = tasks[i % tasks.len()].clone();
            async move { task.status().await.is_ok() }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    failed += answers.iter().filter(|ok| !**ok).count();
    (sandbox.limit_rejections(), failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_client_meets_no_429_at_the_sandboxs_limit() {
    let sandbox = sandbox().await;
    let client = Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(Some(RPM))
        .rate_limit_window(Duration::from_secs_f64(60.0 * TIME_SCALE))
        .build()
        .unwrap();
    let (rejected, failed) = load(&client, &sandbox).await;
    assert_eq!(rejected, LimitRejections::default());
    assert_eq!(failed, 0);
    assert_eq!(sandbox.counts().total, 5 + QUERIES as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_headers_narrow_a_generous_first_guess() {
    // The client assumes ten times the real limit until the first answer (the
    // submits go one by one): the sandbox's X-RateLimit-* headers bring it down, and
    // the requests counted in flight keep the 24 at once from overdrawing the bucket.
    let sandbox = sandbox().await;
    let client = Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(Some(RPM * 10))
        .rate_limit_window(Duration::from_secs_f64(60.0 * TIME_SCALE))
        .build()
        .unwrap();
    let (rejected, failed) = load(&client, &sandbox).await;
    assert_eq!((rejected.rate, failed), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pacing_the_same_load_meets_429s() {
    let sandbox = sandbox().await;
    let client = Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(None)
        .shared_rate_limit(false)
        .build()
        .unwrap();
    let (rejected, failed) = load(&client, &sandbox).await;
    assert!(rejected.rate > 0, "{rejected:?}");
    assert_eq!(failed as u64, rejected.rate);
}

//! The limiter on tokio's paused clock: exact pacing, the margin, the requests in
//! flight, and a simulated token-bucket server that must never refuse a request.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

/// No margin, no reserve: the bucket is exactly the server's.
fn exact(window: Duration) -> RateSettings {
    RateSettings {
        window,
        margin: 0.0,
        reserve: 0,
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// Takes `n` permits and lets them go unanswered (dropped).
async fn take(limiter: &RateLimiter, n: usize) {
    for _ in 0..n {
        assert!(limiter.acquire(None).await.is_some());
    }
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_is_capped_and_rechecked() {
    let limiter = RateLimiter::new(None, true, MINUTE, RateSettings::default());
    let permit = limiter.acquire(None).await.unwrap();
    limiter.observe(permit, 429, &headers(&[("retry-after", "3600")]));
    let start = Instant::now();
    assert!(limiter.acquire(None).await.is_some());
    assert_eq!(start.elapsed().as_secs(), 60);
}

#[tokio::test(start_paused = true)]
async fn pacing_follows_the_servers_numbers() {
    let limiter = RateLimiter::new(Some(100), true, MINUTE, exact(MINUTE));
    let permit = limiter.acquire(None).await.unwrap();
    limiter.observe(
        permit,
        200,
        &headers(&[("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "2")]),
    );
    let start = Instant::now();
    take(&limiter, 4).await;
    // Two immediately, then one a second.
    assert_eq!(start.elapsed().as_secs(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_window_scales_the_servers_minute() {
    // A sandbox whose minute lasts 6 s: 100 at once, then one every 60 ms.
    let limiter = RateLimiter::new(Some(100), true, MINUTE, exact(Duration::from_secs(6)));
    let start = Instant::now();
    take(&limiter, 100).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    take(&limiter, 10).await;
    let waited = start.elapsed().as_secs_f64();
    assert!((waited - 0.6).abs() < 1e-3, "{waited}");
}

#[tokio::test(start_paused = true)]
async fn the_margin_and_reserve_stay_unused() {
    let settings = RateSettings {
        window: MINUTE,
        margin: 0.05,
        reserve: 2,
    };
    let limiter = RateLimiter::new(Some(100), true, MINUTE, settings);
    let start = Instant::now();
    // 100 less 5% less 2.
    take(&limiter, 93).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    take(&limiter, 1).await;
    // Refilled at 95 a minute.
    let waited = start.elapsed().as_secs_f64();
    assert!((waited - 60.0 / 95.0).abs() < 1e-3, "{waited}");
}

#[tokio::test(start_paused = true)]
async fn requests_in_flight_count_against_an_answers_remaining() {
    let limiter = RateLimiter::new(Some(1000), true, MINUTE, exact(MINUTE));
    let first = limiter.acquire(None).await.unwrap();
    // Nine more sent before the first answer: the server may not have seen them.
    let mut later = Vec::new();
    for _ in 0..9 {
        later.push(limiter.acquire(None).await.unwrap());
    }
    limiter.observe(
        first,
        200,
        &headers(&[("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "12")]),
    );
    // 12 left after the first, less the 9 sent since: 3 without waiting.
    let start = Instant::now();
    take(&limiter, 3).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    take(&limiter, 1).await;
    assert_eq!(start.elapsed().as_secs(), 1);
    drop(later);
}

#[tokio::test(start_paused = true)]
async fn a_stale_answer_does_not_undo_a_fresher_one() {
    let limiter = RateLimiter::new(Some(60), true, MINUTE, exact(MINUTE));
    let older = limiter.acquire(None).await.unwrap();
    let newer = limiter.acquire(None).await.unwrap();
    limiter.observe(newer, 200, &headers(&[("x-ratelimit-remaining", "0")]));
    // The older answer's 50 predates the newer's 0.
    limiter.observe(older, 200, &headers(&[("x-ratelimit-remaining", "50")]));
    let start = Instant::now();
    take(&limiter, 1).await;
    // 0 left after the newer, less the older (unanswered when the newer was sent, so
    // possibly not counted yet): two seconds at one a second.
    assert_eq!(start.elapsed().as_secs(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_answer_can_raise_a_low_guess() {
    let limiter = RateLimiter::new(Some(5), true, MINUTE, exact(MINUTE));
    take(&limiter, 4).await;
    let permit = limiter.acquire(None).await.unwrap();
    limiter.observe(
        permit,
        200,
        &headers(&[
            ("x-ratelimit-limit", "600"),
            ("x-ratelimit-remaining", "40"),
        ]),
    );
    let start = Instant::now();
    take(&limiter, 40).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_ends_the_wait_without_a_slot() {
    let limiter = RateLimiter::new(None, true, MINUTE, RateSettings::default());
    let permit = limiter.acquire(None).await.unwrap();
    limiter.observe(permit, 429, &headers(&[("retry-after", "30")]));
    let deadline = Instant::now() + Duration::from_secs(5);
    assert!(limiter.acquire(Some(deadline)).await.is_none());
}

/// Seconds after `start` at which each of `n` requests, joining the line in order, got
/// its permit (permits dropped at once: unanswered).
async fn served_at(
    limiter: &RateLimiter,
    start: Instant,
    deadlines: &[Option<Instant>],
) -> Vec<Option<f64>> {
    let waits = deadlines.iter().map(|deadline| async move {
        limiter
            .acquire(*deadline)
            .await
            .map(|_| start.elapsed().as_secs_f64())
    });
    futures_util::future::join_all(waits).await
}

#[tokio::test(start_paused = true)]
async fn the_line_is_served_in_order_one_refill_apart() {
    // 60 a minute, all spent: one token a second from now on.
    let limiter = RateLimiter::new(Some(60), true, MINUTE, exact(MINUTE));
    take(&limiter, 60).await;
    let start = Instant::now();
    let served = served_at(&limiter, start, &[None; 5]).await;
    assert_eq!(
        served,
        [1.0, 2.0, 3.0, 4.0, 5.0].map(Some),
        "each request is served as the refill reaches it, in the order they came"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_that_gives_up_its_place_does_not_hold_back_the_others() {
    let limiter = RateLimiter::new(Some(60), true, MINUTE, exact(MINUTE));
    take(&limiter, 60).await;
    let start = Instant::now();
    let gives_up = Some(start + Duration::from_millis(500));
    let served = served_at(&limiter, start, &[gives_up, None, None]).await;
    assert_eq!(served, [None, Some(1.0), Some(2.0)]);
}

#[tokio::test(start_paused = true)]
async fn a_larger_bucket_wakes_the_line_at_once() {
    // The guess (60 a minute) is spent; 20 requests would wait up to 20 s for it.
    let limiter = RateLimiter::new(Some(60), true, MINUTE, exact(MINUTE));
    take(&limiter, 59).await;
    let first = limiter.acquire(None).await.unwrap();
    let start = Instant::now();
    let line = served_at(&limiter, start, &[None; 20]);
    let answer = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The server allows 6,000 a minute and has most of them left.
        limiter.observe(
            first,
            200,
            &headers(&[
                ("x-ratelimit-limit", "6000"),
                ("x-ratelimit-remaining", "5900"),
            ]),
        );
    };
    let (served, ()) = tokio::join!(line, answer);
    assert!(
        served.iter().all(|s| *s == Some(0.1)),
        "all served when the answer came: {served:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn unshared_limiters_never_pause() {
    let limiter = RateLimiter::new(None, false, MINUTE, RateSettings::default());
    let permit = limiter.acquire(None).await.unwrap();
    limiter.observe(permit, 429, &headers(&[("retry-after", "30")]));
    let start = Instant::now();
    assert!(limiter.acquire(None).await.is_some());
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[test]
fn settings_out_of_range_are_brought_into_range() {
    for (window, margin) in [
        (Duration::ZERO, f64::NAN),
        (Duration::MAX, -1.0),
        (Duration::from_nanos(1), f64::INFINITY),
        (MINUTE, 7.0),
    ] {
        let settings = RateSettings {
            window,
            margin,
            reserve: u32::MAX,
        };
        let limiter = RateLimiter::new(Some(u32::MAX), true, Duration::MAX, settings);
        let state = limiter.lock();
        assert!(state.capacity >= 1.0 && state.per_sec.is_finite() && state.per_sec > 0.0);
    }
}

/// Modellix's limit as the sandbox models it: a token bucket of `limit` requests
/// refilled at `limit` a window, on tokio's clock.
struct Server {
    limit: u32,
    window: Duration,
    bucket: std::sync::Mutex<(f64, Instant)>,
    refused: std::sync::atomic::AtomicU64,
}

impl Server {
    fn new(limit: u32, window: Duration) -> Server {
        Server {
            limit,
            window,
            bucket: std::sync::Mutex::new((f64::from(limit), Instant::now())),
            refused: Default::default(),
        }
    }

    /// Status and headers for a request arriving now.
    fn answer(&self) -> (u16, http::HeaderMap) {
        let mut bucket = self.bucket.lock().unwrap();
        let (tokens, at) = &mut *bucket;
        let capacity = f64::from(self.limit);
        let now = Instant::now();
        let rate = capacity / self.window.as_secs_f64();
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(capacity);
        *at = now;
        let status = if *tokens >= 1.0 {
            *tokens -= 1.0;
            200
        } else {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            429
        };
        let remaining = tokens.floor().to_string();
        let limit = self.limit.to_string();
        let mut h = headers(&[
            ("x-ratelimit-limit", &limit),
            ("x-ratelimit-remaining", &remaining),
        ]);
        if status == 429 {
            h.insert("retry-after", http::HeaderValue::from_static("1"));
        }
        (status, h)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However requests bunch up on the way (each with its own delay there and back)
    /// and however many run at once, a client whose first guess is not above the
    /// server's limit never meets a 429: every request that may reach the server
    /// later than an answer was counted is taken off that answer's `Remaining`.
    #[test]
    fn a_paced_client_never_meets_a_429(
        limit in 5u32..200,
        guess_share in 0.1f64..=1.0,
        window_ms in 500u64..60_000,
        workers in 1usize..24,
        per_worker in 1usize..25,
        delays in proptest::collection::vec((0u64..400, 0u64..400), 1..50),
        margin in 0.0f64..0.2,
        reserve in 0u32..3,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let refused = runtime.block_on(async move {
            let window = Duration::from_millis(window_ms);
            let guess = ((f64::from(limit) * guess_share) as u32).max(1);
            let settings = RateSettings { window, margin, reserve };
            let limiter = Arc::new(RateLimiter::new(Some(guess), true, MINUTE, settings));
            let server = Arc::new(Server::new(limit, window));
            let delays = Arc::new(delays);
            let mut handles = Vec::new();
            for w in 0..workers {
                let (limiter, server, delays) = (limiter.clone(), server.clone(), delays.clone());
                handles.push(tokio::spawn(async move {
                    for i in 0..per_worker {
                        let (there, back) = delays[(w * 31 + i) % delays.len()];
                        let permit = limiter.acquire(None).await.unwrap();
                        tokio::time::sleep(Duration::from_millis(there)).await;
                        let (status, headers) = server.answer();
                        tokio::time::sleep(Duration::from_millis(back)).await;
                        limiter.observe(permit, status, &headers);
                    }
                }));
            }
            for handle in handles {
                handle.await.unwrap();
            }
            server.refused.load(std::sync::atomic::Ordering::Relaxed)
        });
        prop_assert_eq!(refused, 0);
    }
}

//! Modellix's limits over real HTTP: requests per minute per key, running tasks per
//! team, their 429 answers and the `X-RateLimit-*` headers.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{http, send_submit, valid_body};
use modellix_sandbox::{Sandbox, Timing};
use serde_json::Value;

fn header(response: &reqwest::Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

async fn get_task(sandbox: &Sandbox, key: &str, task_id: &str) -> reqwest::Response {
    http()
        .get(format!("{}/api/v1/tasks/{task_id}", sandbox.base_url()))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn message(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn requests_over_the_rate_get_429_with_headers_per_key() {
    // A scaled minute of 100 minutes: nothing refills during the test.
    let sandbox = Sandbox::builder()
        .rpm(3)
        .time_scale(100.0)
        .start()
        .await
        .unwrap();
    let key = sandbox.api_key().to_owned();
    for remaining in [2, 1, 0] {
        let response = get_task(&sandbox, &key, "task-none").await;
        assert_eq!(
            response.status(),
            404,
            "the API answers while under the limit"
        );
        assert_eq!(header(&response, "x-ratelimit-limit"), Some(3));
        assert_eq!(header(&response, "x-ratelimit-remaining"), Some(remaining));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(header(&response, "x-ratelimit-reset").unwrap() >= now.as_secs());
        assert!(response.headers().get("retry-after").is_none());
    }
    // Submits count like polls.
    let response = send_submit(&sandbox, &valid_body()).await.unwrap();
    assert!(response.headers().get("retry-after").is_some());
    let (status, answer) = message(response).await;
    assert_eq!(status, 429);
    assert_eq!(answer["code"], 429);
    assert_eq!(
        answer["message"],
        "Rate limit exceeded: 3 requests per minute per API key"
    );
    assert!(
        sandbox.tasks().is_empty(),
        "a refused submit creates nothing"
    );
    // Another key has its own bucket, and a 401 carries the headers too.
    let other = get_task(&sandbox, "sk-other", "task-none").await;
    assert_eq!(other.status(), 401);
    assert_eq!(header(&other, "x-ratelimit-remaining"), Some(2));
    assert_eq!(sandbox.limit_rejections().rate, 1);
    assert_eq!(sandbox.limit_rejections().concurrency, 0);
}

#[tokio::test]
async fn the_bucket_refills_on_the_scaled_clock() {
    // A minute of 3 s: a request every 1.5 s, two in reserve.
    let sandbox = Sandbox::builder()
        .rpm(2)
        .time_scale(0.05)
        .start()
        .await
        .unwrap();
    let key = sandbox.api_key().to_owned();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get_task(&sandbox, &key, "task-x").await.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        1,
        "{statuses:?}"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let response = get_task(&sandbox, &key, "task-x").await;
    assert_eq!(
        response.status(),
        404,
        "one request refilled after half a scaled minute"
    );
    assert_eq!(header(&response, "x-ratelimit-remaining"), Some(0));
}

#[tokio::test]
async fn a_submit_over_the_running_task_limit_is_refused_until_one_ends() {
    // Each task answers `pending` once, then ends on the second query.
    let sandbox = Sandbox::builder()
        .concurrency_limit(1)
        .timing(Timing::Polls {
            pending: 1,
            processing: 0,
        })
        .start()
        .await
        .unwrap();
    let key = sandbox.api_key().to_owned();
    let (status, first) = message(send_submit(&sandbox, &valid_body()).await.unwrap()).await;
    assert_eq!(status, 200);
    let refused = send_submit(&sandbox, &valid_body()).await.unwrap();
    assert!(
        refused.headers().get("x-ratelimit-limit").is_none(),
        "no rate headers without a rate limit"
    );
    let (status, answer) = message(refused).await;
    assert_eq!(status, 429);
    assert_eq!(answer["code"], 429);
    assert_eq!(
        answer["message"],
        "Concurrent limit exceeded: at most 1 tasks may run at once for this team"
    );
    assert_eq!(sandbox.tasks().len(), 1);

    let task_id = first["data"]["task_id"].as_str().unwrap();
    let (_, pending) = message(get_task(&sandbox, &key, task_id).await).await;
    assert_eq!(pending["data"]["status"], "pending");
    let (status, _) = message(send_submit(&sandbox, &valid_body()).await.unwrap()).await;
    assert_eq!(status, 429, "still running");
    let (_, done) = message(get_task(&sandbox, &key, task_id).await).await;
    assert_eq!(done["data"]["status"], "success");
    let (status, _) = message(send_submit(&sandbox, &valid_body()).await.unwrap()).await;
    assert_eq!(status, 200, "the slot is free again");
    assert_eq!(sandbox.limit_rejections().concurrency, 2);
}

#[tokio::test]
async fn simultaneous_submits_never_exceed_the_running_task_limit() {
    let sandbox = Sandbox::builder()
        .rpm(100)
        .concurrency_limit(3)
        .timing(Timing::Fixed(Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    let answers = futures_util::future::join_all(
        (0..12).map(|_| async { send_submit(&sandbox, &valid_body()).await.unwrap() }),
    )
    .await;
    let mut accepted = 0;
    for response in answers {
        assert!(header(&response, "x-ratelimit-remaining").is_some());
        let (status, answer) = message(response).await;
        match status {
            200 => accepted += 1,
            429 => assert!(
                answer["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Concurrent limit exceeded: ")
            ),
            _ => panic!("{status}: {answer}"),
        }
    }
    assert_eq!(accepted, 3);
    assert_eq!(sandbox.tasks().len(), 3);
    assert_eq!(sandbox.limit_rejections().concurrency, 9);
}

#[tokio::test]
async fn without_limits_answers_carry_no_rate_headers() {
    let sandbox = Sandbox::start().await.unwrap();
    let response = send_submit(&sandbox, &valid_body()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn generic_submits_take_a_running_slot_and_uploads_do_not() {
    let sandbox = Sandbox::builder()
        .concurrency_limit(1)
        .timing(Timing::Polls {
            pending: 5,
            processing: 0,
        })
        .start()
        .await
        .unwrap();
    let post = |path: &str| {
        http()
            .post(format!("{}{path}", sandbox.base_url()))
            .bearer_auth(sandbox.api_key())
            .json(&serde_json::json!({"prompt": "p"}))
            .send()
    };
    let (status, _) = message(post("/api/v1/acme/pixel-2").await.unwrap()).await;
    assert_eq!(status, 200, "a model without a fragment runs");
    let (status, answer) =
        message(post("/api/v1/text-to-video/acme/clip/async").await.unwrap()).await;
    assert_eq!(status, 429, "{answer}");
    // An upload is no task: refused for its body, never for the running-task limit.
    let (status, _) = message(post("/api/v1/media/files").await.unwrap()).await;
    assert_eq!(status, 415);
    let (status, _) = message(post("/api/v1/nobody/gone").await.unwrap()).await;
    assert_eq!(status, 404, "a removed model");
    assert_eq!(sandbox.limit_rejections().concurrency, 1);
    assert_eq!(sandbox.tasks().len(), 1);
}

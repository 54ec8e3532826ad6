//! One test per fault kind, plus scripted versus seeded faults and the fault log.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{http, query, raw, send_submit, submit, submit_ok, valid_body};
use modellix_sandbox::{Fault, FaultKind, FaultPlan, Route, Sandbox};
use serde_json::Value;

async fn with_faults(plan: FaultPlan) -> Sandbox {
    Sandbox::builder().faults(plan).start().await.unwrap()
}

#[tokio::test]
async fn rate_limit_with_retry_after() {
    let sandbox =
        with_faults(FaultPlan::new().script(Route::Submit, 1, Fault::RetryAfter(7))).await;
    let response = send_submit(&sandbox, &valid_body()).await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], 429);
    assert_eq!(answer["message"], "Too many requests: rate limit exceeded");
    assert!(
        sandbox.tasks().is_empty(),
        "a rejected submit creates nothing"
    );
    // The next one goes through.
    submit_ok(&sandbox, &valid_body()).await;
    assert_eq!(sandbox.counts().submits(), 2);
}

#[tokio::test]
async fn rate_limit_with_reset_timestamp() {
    let sandbox =
        with_faults(FaultPlan::new().script(Route::Task, 1, Fault::RateLimitReset(30))).await;
    let response = http()
        .get(format!("{}/api/v1/tasks/task-x", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let reset: u64 = response.headers()["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((now + 28..=now + 31).contains(&reset), "{reset} vs {now}");
    assert!(response.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn server_error_burst_then_recovery() {
    let mut plan = FaultPlan::new();
    for status in [500, 502, 503, 504] {
        plan = plan.script(
            Route::Task,
            1,
            Fault::ServerError {
                status,
                task_created: false,
            },
        );
    }
    let sandbox = with_faults(plan).await;
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    for expected in [500, 502, 503, 504] {
        let (status, answer) = query(&sandbox, &task_id).await;
        assert_eq!(status, expected);
        assert_eq!(answer["code"], expected);
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(": "), "{message}");
    }
    assert_eq!(
        query(&sandbox, &task_id).await.1["data"]["status"],
        "success"
    );
    assert_eq!(sandbox.faults_injected().count(FaultKind::ServerError), 4);
}

#[tokio::test]
async fn submit_server_error_may_or_may_not_create_the_task() {
    let sandbox = with_faults(
        FaultPlan::new()
            .script(
                Route::Submit,
                1,
                Fault::ServerError {
                    status: 503,
                    task_created: true,
                },
            )
            .script(
                Route::Submit,
                1,
                Fault::ServerError {
                    status: 500,
                    task_created: false,
                },
            ),
    )
    .await;
    let (status, answer) = submit(&sandbox, &valid_body()).await;
    assert_eq!((status, answer["code"].as_u64()), (503, Some(503)));
    let tasks = sandbox.tasks();
    assert_eq!(
        tasks.len(),
        1,
        "the outcome-unknown case: created, then 503"
    );
    assert_eq!(
        tasks[0].submit_fault,
        Some(Fault::ServerError {
            status: 503,
            task_created: true
        })
    );

    let (status, _) = submit(&sandbox, &valid_body()).await;
    assert_eq!(status, 500);
    assert_eq!(sandbox.tasks().len(), 1, "nothing created this time");
    assert_eq!(sandbox.counts().submits(), 2);
}

#[tokio::test]
async fn html_502_from_a_proxy() {
    let sandbox = with_faults(FaultPlan::new().script(Route::Submit, 1, Fault::Html502)).await;
    let response = send_submit(&sandbox, &valid_body()).await.unwrap();
    assert_eq!(response.status(), 502);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = response.text().await.unwrap();
    assert!(body.starts_with("<html>"), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err());
    assert!(sandbox.tasks().is_empty());
}

#[tokio::test]
async fn slow_answer_is_delayed_then_normal() {
    let sandbox = with_faults(FaultPlan::new().script(
        Route::Task,
        1,
        Fault::Slow(Duration::from_millis(400)),
    ))
    .await;
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    let started = Instant::now();
    let (status, answer) = query(&sandbox, &task_id).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(
        (status, answer["data"]["status"].as_str()),
        (200, Some("success"))
    );
    let started = Instant::now();
    query(&sandbox, &task_id).await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "only the first"
    );
}

#[tokio::test]
async fn reset_after_read_still_creates_the_task() {
    let sandbox = with_faults(FaultPlan::new().script(Route::Submit, 1, Fault::Reset)).await;
    let error = send_submit(&sandbox, &valid_body())
        .await
        .expect_err("no answer");
    assert!(!error.is_timeout() && !error.is_status(), "{error:?}");

    // From the server's point of view the submit was read and the task exists.
    let counts = sandbox.counts();
    assert_eq!(counts.submits(), 1);
    let tasks = sandbox.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].submit_fault, Some(Fault::Reset));
    assert_eq!(tasks[0].body, valid_body());
    assert_eq!(sandbox.faults_injected().count(FaultKind::Reset), 1);
    // And it can be found by id.
    let (status, _) = query(&sandbox, &tasks[0].task_id).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn reset_sends_no_byte_and_a_tcp_reset() {
    let sandbox = with_faults(FaultPlan::new().script(Route::Task, 1, Fault::Reset)).await;
    let got = raw(&sandbox, "GET", "/api/v1/tasks/task-x", "").await;
    assert!(got.head.is_empty() && got.body.is_empty(), "{}", got.head);
    assert_eq!(got.error, Some(std::io::ErrorKind::ConnectionReset));
}

#[tokio::test]
async fn truncated_answer_announces_more_than_it_sends() {
    let sandbox = with_faults(FaultPlan::new().script(Route::Task, 2, Fault::Truncated)).await;
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    let got = raw(&sandbox, "GET", &format!("/api/v1/tasks/{task_id}"), "").await;
    assert!(got.head.starts_with("HTTP/1.1 200"), "{}", got.head);
    let announced: usize = got.header("content-length").unwrap().parse().unwrap();
    assert!(
        got.body.len() < announced,
        "{} of {announced}",
        got.body.len()
    );
    assert_eq!(got.body.len(), announced / 2);

    // reqwest sees the status, then fails to read the body.
    let response = http()
        .get(format!("{}/api/v1/tasks/{task_id}", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err());
    assert_eq!(sandbox.faults_injected().count(FaultKind::Truncated), 2);
}

#[tokio::test]
async fn oversized_answer_is_valid_json_over_16_mib() {
    let sandbox = with_faults(FaultPlan::new().script(Route::Submit, 1, Fault::Oversized)).await;
    let response = send_submit(&sandbox, &valid_body()).await.unwrap();
    assert_eq!(response.status(), 200);
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > modellix::MAX_ANSWER_BYTES, "{length}");
    let answer: Value = response.json().await.unwrap();
    // The task exists and its id is in the answer a client must refuse.
    assert_eq!(answer["data"]["task_id"], sandbox.tasks()[0].task_id);
}

#[tokio::test]
async fn unknown_status_value() {
    let sandbox =
        with_faults(FaultPlan::new().script(Route::Task, 1, Fault::UnknownStatus("queued".into())))
            .await;
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    assert_eq!(
        query(&sandbox, &task_id).await.1["data"]["status"],
        "queued"
    );
    assert_eq!(
        query(&sandbox, &task_id).await.1["data"]["status"],
        "success"
    );
}

#[tokio::test]
async fn extra_unknown_fields_everywhere() {
    let sandbox = with_faults(FaultPlan::new().script(Route::Task, 1, Fault::ExtraFields)).await;
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    let (_, answer) = query(&sandbox, &task_id).await;
    assert!(answer.get("request_id").is_some());
    assert!(answer["data"].get("billing").is_some());
    assert!(
        answer["data"]["result"]["resources"][0]
            .get("expires_at")
            .is_some()
    );
    assert_eq!(
        answer["data"]["status"], "success",
        "known fields untouched"
    );
}

#[tokio::test]
async fn scripted_faults_come_before_seeded_ones() {
    let plan = FaultPlan::new()
        .script(Route::Task, 2, Fault::Html502)
        .random(Route::Task, 1.0, Fault::RetryAfter(1));
    let sandbox = with_faults(plan).await;
    let url = format!("{}/api/v1/tasks/task-x", sandbox.base_url());
    let mut statuses = Vec::new();
    for _ in 0..4 {
        // The HTML bodies are not JSON: read the status only.
        statuses.push(http().get(&url).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [502, 502, 429, 429]);
    let kinds: Vec<_> = sandbox
        .faults_injected()
        .0
        .iter()
        .map(|f| f.fault.kind())
        .collect();
    assert_eq!(
        kinds,
        [
            FaultKind::Html502,
            FaultKind::Html502,
            FaultKind::RetryAfter,
            FaultKind::RetryAfter
        ]
    );

    // Faults can be scripted while running, too.
    sandbox.script(Route::Task, 1, Fault::UnknownStatus("queued".into()));
    let log = sandbox.faults_injected();
    assert_eq!(log.total(), 4);
    assert_eq!(log.by_kind()[&FaultKind::Html502], 2);
}

#[tokio::test]
async fn seeded_random_faults_repeat_with_the_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let plan = FaultPlan::new()
            .random(Route::Task, 0.3, Fault::RetryAfter(1))
            .random(
                Route::Task,
                0.2,
                Fault::ServerError {
                    status: 503,
                    task_created: false,
                },
            );
        let sandbox = Sandbox::builder()
            .faults(plan)
            .seed(seed)
            .start()
            .await
            .unwrap();
        let task_id = submit_ok(&sandbox, &valid_body()).await;
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(query(&sandbox, &task_id).await.0);
        }
        let log = sandbox.faults_injected();
        assert_eq!(
            log.total() as usize,
            statuses.iter().filter(|s| **s != 200).count()
        );
        assert_eq!(sandbox.counts().submits(), 1, "submit had no random faults");
        statuses
    }
    let first = run(42).await;
    assert_eq!(first, run(42).await);
    for status in [200, 429, 503] {
        assert!(first.contains(&status), "{status} missing from {first:?}");
    }
    assert_ne!(first, run(43).await, "another seed, another sequence");
}

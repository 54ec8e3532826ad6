//! The API as a client sees it without faults: envelope, statuses, errors, timing.

mod common;

use std::time::Duration;

use common::{OPERATION_ID, SUBMIT_PATH, http, query, submit, submit_ok, valid_body};
use modellix_sandbox::{Failures, Outcome, SAMPLE_PNG, Sandbox, Timing};
use serde_json::{Value, json};

#[tokio::test]
async fn submit_answers_pending_with_a_result_url() {
    let sandbox = Sandbox::start().await.unwrap();
    let (status, answer) = submit(&sandbox, &valid_body()).await;
    assert_eq!(status, 200);
    assert_eq!(answer["code"], 0);
    assert_eq!(answer["message"], "success");
    let data = &answer["data"];
    assert_eq!(data["status"], "pending");
    assert_eq!(data["model_id"], "bytedance/seedance-2.0-v2v");
    let task_id = data["task_id"].as_str().unwrap();
    assert!(
        task_id.starts_with("task-") && task_id.len() > 5,
        "{task_id}"
    );
    assert_eq!(data["get_result"]["method"], "GET");
    assert_eq!(
        data["get_result"]["url"],
        format!("{}/api/v1/tasks/{task_id}", sandbox.base_url())
    );
    assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn lifecycle_goes_pending_processing_success() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 1,
            processing: 2,
        })
        .start()
        .await
        .unwrap();
    let body = json!({"prompt": "p", "video_urls": ["https://example.com/v.mp4"], "resolution": "480p", "ratio": "9:16"});
    let task_id = submit_ok(&sandbox, &body).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (status, answer) = query(&sandbox, &task_id).await;
        assert_eq!(status, 200);
        seen.push(answer["data"]["status"].as_str().unwrap().to_owned());
        if seen.last().unwrap() == "success" {
            let resources = answer["data"]["result"]["resources"].as_array().unwrap();
            assert_eq!(resources.len(), 1, "no last frame was asked for");
            let video = &resources[0];
            assert_eq!(video["type"], "video");
            assert_eq!(video["format"], "mp4");
            assert_eq!(
                (video["width"].clone(), video["height"].clone()),
                (json!(480), json!(854))
            );
            assert_eq!(
                video["url"],
                format!("{}/files/{task_id}/video.mp4", sandbox.base_url())
            );
        }
    }
    assert_eq!(
        seen,
        ["pending", "processing", "processing", "success", "success"]
    );
    assert_eq!(sandbox.task(&task_id).unwrap().queries, 5);
}

#[tokio::test]
async fn failed_task_carries_an_error_object() {
    let sandbox = Sandbox::builder()
        .failures(Failures::Always)
        .start()
        .await
        .unwrap();
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    let (_, answer) = query(&sandbox, &task_id).await;
    let data = &answer["data"];
    assert_eq!(data["status"], "failed");
    assert!(data["error"]["code"].is_string());
    assert!(data["error"]["message"].is_string());
    assert!(data.get("result").is_none());
    assert_eq!(sandbox.tasks()[0].outcome, Outcome::Failed);
    // A failed task has no files.
    let video = format!("{}/files/{task_id}/video.mp4", sandbox.base_url());
    assert_eq!(http().get(video).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn return_last_frame_adds_a_png_resource() {
    let sandbox = Sandbox::start().await.unwrap();
    let mut body = valid_body();
    body["return_last_frame"] = json!(true);
    let task_id = submit_ok(&sandbox, &body).await;
    let (_, answer) = query(&sandbox, &task_id).await;
    let resources = answer["data"]["result"]["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 2);
    let frame = &resources[1];
    assert_eq!(frame["type"], "image");
    assert_eq!(frame["role"], "last_frame");
    assert_eq!(frame["format"], "png");
    let url = frame["url"].as_str().unwrap();
    assert!(url.ends_with(&format!("/files/{task_id}/last_frame.png")));
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(&response.bytes().await.unwrap()[..], SAMPLE_PNG);

    // Without the flag there is no PNG to fetch.
    let other = submit_ok(&sandbox, &valid_body()).await;
    let png = format!("{}/files/{other}/last_frame.png", sandbox.base_url());
    assert_eq!(http().get(png).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn missing_or_wrong_key_is_401_and_creates_nothing() {
    let sandbox = Sandbox::builder().api_key("k-right").start().await.unwrap();
    let url = format!("{}{SUBMIT_PATH}", sandbox.base_url());
    for key in [None, Some("k-wrong")] {
        let mut request = http().post(&url).json(&valid_body());
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["code"], 401);
        assert_eq!(
            answer["message"],
            "Unauthorized: missing or invalid API key"
        );
        assert!(!answer.to_string().contains("k-right"));
    }
    let task = format!("{}/api/v1/tasks/task-1", sandbox.base_url());
    assert_eq!(http().get(task).send().await.unwrap().status(), 401);
    assert!(sandbox.tasks().is_empty());
    assert!(!format!("{sandbox:?}").contains("k-right"));

    let open = Sandbox::builder()
        .require_auth(false)
        .start()
        .await
        .unwrap();
    let url = format!("{}{SUBMIT_PATH}", open.base_url());
    let response = http().post(url).json(&valid_body()).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_task_is_404() {
    let sandbox = Sandbox::start().await.unwrap();
    let (status, answer) = query(&sandbox, "task-x").await;
    assert_eq!(status, 404);
    assert_eq!(answer["code"], 404);
    assert_eq!(answer["message"], "Not found: task task-x does not exist");
}

#[tokio::test]
async fn invalid_body_is_400_with_the_pointer() {
    let sandbox = Sandbox::start().await.unwrap();
    let (status, answer) = submit(&sandbox, &json!({"prompt": "p", "video_urls": []})).await;
    assert_eq!(status, 400);
    assert_eq!(answer["code"], 400);
    assert_eq!(
        answer["message"],
        "Invalid parameters: /video_urls: must hold at least 1 item(s) (found 0)"
    );

    // Every violation is listed, in schema order.
    let (status, answer) = submit(
        &sandbox,
        &json!({"prompt": "", "video_urls": ["https://example.com/v.mp4"], "duration": 3}),
    )
    .await;
    assert_eq!(status, 400);
    let message = answer["message"].as_str().unwrap();
    assert!(message.starts_with("Invalid parameters: "), "{message}");
    assert!(
        message.contains("/prompt: ") && message.contains("/duration: "),
        "{message}"
    );

    let response = http()
        .post(format!("{}{SUBMIT_PATH}", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("Invalid parameters: body is not valid JSON"),
        "{message}"
    );
    assert!(sandbox.tasks().is_empty());
}

#[tokio::test]
async fn unknown_route_and_wrong_method_answer_in_the_envelope() {
    let sandbox = Sandbox::start().await.unwrap();
    let response = http()
        .get(format!(
            "{}/api/v1/nobody/nothing/async",
            sandbox.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["message"],
        "Not found: no route for GET /api/v1/nobody/nothing/async"
    );

    let response = http()
        .get(format!("{}{SUBMIT_PATH}", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], 405);
    let counts = sandbox.counts();
    assert_eq!((counts.other, counts.total, counts.submits()), (2, 2, 0));
}

#[tokio::test]
async fn every_submit_operation_of_the_spec_is_served() {
    let sandbox = Sandbox::start().await.unwrap();
    let submits: Vec<_> = modellix::OPERATIONS
        .iter()
        .filter(|op| op.is_submit())
        .collect();
    assert!(!submits.is_empty());
    for op in submits {
        // An empty object breaks `required` rules: 400 proves the route exists and
        // validates with this operation's own schema.
        let response = http()
            .post(format!("{}{}", sandbox.base_url(), op.path))
            .bearer_auth(sandbox.api_key())
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{}", op.path);
        assert_eq!(sandbox.counts().submit[op.operation_id], 1);
    }
}

#[tokio::test]
async fn counts_are_per_route_and_exact() {
    let sandbox = Sandbox::start().await.unwrap();
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    query(&sandbox, &task_id).await;
    query(&sandbox, &task_id).await;
    let video = format!("{}/files/{task_id}/video.mp4", sandbox.base_url());
    http().get(video).send().await.unwrap();
    let counts = sandbox.counts();
    assert_eq!(counts.submit.get(OPERATION_ID), Some(&1));
    assert_eq!(counts.submits(), 1);
    assert_eq!(
        (counts.task, counts.files, counts.other, counts.total),
        (2, 1, 0, 4)
    );

    let tasks = sandbox.tasks();
    assert_eq!(tasks.len(), 1);
    let task = &tasks[0];
    assert_eq!(task.task_id, task_id);
    assert_eq!(task.operation_id, OPERATION_ID);
    assert_eq!(task.model_id, "bytedance/seedance-2.0-v2v");
    assert_eq!(task.body, valid_body());
    assert_eq!(task.outcome, Outcome::Success);
    assert_eq!(task.submit_fault, None);
    assert!(task.created_at <= std::time::SystemTime::now());
}

#[tokio::test]
async fn scaled_timing_grows_with_duration_and_resolution() {
    // At 5% speed a 4 s 480p clip takes about 1.1 s and a 15 s 1080p one about 20 s.
    let sandbox = Sandbox::builder()
        .timing(Timing::Scaled(0.05))
        .start()
        .await
        .unwrap();
    let short = json!({"prompt": "p", "video_urls": ["https://example.com/v.mp4"], "duration": 4, "resolution": "480p"});
    let long = json!({"prompt": "p", "video_urls": ["https://example.com/v.mp4"], "duration": 15, "resolution": "1080p"});
    let short = submit_ok(&sandbox, &short).await;
    let long = submit_ok(&sandbox, &long).await;
    assert_ne!(query(&sandbox, &short).await.1["data"]["status"], "success");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(query(&sandbox, &short).await.1["data"]["status"], "success");
    assert_ne!(query(&sandbox, &long).await.1["data"]["status"], "success");
}

#[tokio::test]
async fn fixed_timing_finishes_after_its_duration() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(2000)))
        .start()
        .await
        .unwrap();
    let task_id = submit_ok(&sandbox, &valid_body()).await;
    // Queued for the first fifth of its time (0.4 s), then processing; the margins
    // are wide so that a loaded machine does not make this flaky.
    assert_eq!(
        query(&sandbox, &task_id).await.1["data"]["status"],
        "pending"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        query(&sandbox, &task_id).await.1["data"]["status"],
        "processing"
    );
    tokio::time::sleep(Duration::from_millis(1400)).await;
    assert_eq!(
        query(&sandbox, &task_id).await.1["data"]["status"],
        "success"
    );
}

#[tokio::test]
async fn failure_share_is_seeded() {
    async fn outcomes(seed: u64) -> Vec<Outcome> {
        let sandbox = Sandbox::builder()
            .failures(Failures::Share(0.5))
            .seed(seed)
            .start()
            .await
            .unwrap();
        for _ in 0..24 {
            submit_ok(&sandbox, &valid_body()).await;
        }
        sandbox.tasks().iter().map(|t| t.outcome).collect()
    }
    let first = outcomes(11).await;
    assert_eq!(first, outcomes(11).await, "same seed, same failures");
    let failed = first.iter().filter(|o| **o == Outcome::Failed).count();
    assert!((4..=20).contains(&failed), "{failed} of 24 failed");
}

#[tokio::test]
async fn chosen_port_and_shutdown() {
    // Find a free port, then ask for it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = Sandbox::builder().port(port).start().await.unwrap();
    assert_eq!(sandbox.base_url(), format!("http://127.0.0.1:{port}"));
    submit_ok(&sandbox, &valid_body()).await;
    let addr = sandbox.addr();
    sandbox.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped listening"
    );
}

/// A finished task carries what Modellix's answers carry: `billing {status, amount}`
/// with the amount as a decimal string, `result_expires_at` in Unix milliseconds (7
/// days after the end) and `duration` in milliseconds.
#[tokio::test]
async fn a_finished_task_carries_billing_expiry_and_duration() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    let mut body = valid_body();
    body["duration"] = json!(5);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let task_id = submit_ok(&sandbox, &body).await;
    let (_, running) = query(&sandbox, &task_id).await;
    assert!(running["data"].get("billing").is_none(), "{running}");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (_, done) = query(&sandbox, &task_id).await;
    let data = &done["data"];
    assert_eq!(data["status"], "success", "{done}");
    assert_eq!(data["billing"]["status"], "succeeded", "{done}");
    // Seedance 2.0 V2V: 5 s at the sandbox's $0.0480 a second.
    assert_eq!(data["billing"]["amount"], "0.2400", "{done}");
    assert_eq!(data["duration"], 200, "{done}");
    let expires = data["result_expires_at"].as_u64().unwrap();
    let week = 7 * 24 * 3600 * 1000;
    assert!(
        expires >= before + week && expires < before + week + 60_000,
        "{done}"
    );
}

/// The catalog gives every vendored model its own type and a price.
#[tokio::test]
async fn the_catalog_types_and_prices_every_vendored_model() {
    let sandbox = Sandbox::start().await.unwrap();
    let catalog: Value = http()
        .get(format!("{}/api/v1/models", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let models = catalog["models"].as_array().unwrap();
    let of = |slug: &str| models.iter().find(|m| m["slug"] == slug).unwrap().clone();
    assert_eq!(of("alibaba/wan2.7-image")["type"], "text-to-image");
    assert_eq!(of("bytedance/seedance-2.0-v2v")["type"], "video-to-video");
    assert_eq!(of("alibaba/wan2.7-i2v")["type"], "image-to-video");
    assert_eq!(
        of("openai/gpt-image-2")["price"],
        json!({"fixed": "0.0400", "unit": "$/img"})
    );
    let v2v = of("bytedance/seedance-2.0-v2v")["price"].clone();
    assert_eq!(
        v2v,
        json!({"min": "0.0480", "max": "0.2400", "unit": "$/sec"})
    );
    for op in modellix::OPERATIONS.iter().filter(|op| op.is_submit()) {
        let entry = of(op.model_id.unwrap());
        assert!(entry["price"]["unit"].is_string(), "{entry}");
        assert!(entry["type"].is_string(), "{entry}");
    }
}

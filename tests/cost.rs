//! What a task cost and when its results expire, typed from the task's answer: the
//! billed amount as an exact decimal, its billing status, `result_expires_at` (with
//! the documented 7 days as the fallback) and the server's run time.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modellix::types::Seedance20V2vRequest;
use modellix::{Cost, RESULT_LIFETIME};
use modellix_sandbox::{Sandbox, Timing};
use serde_json::json;
use support::{MockServer, Reply, client, task_path};

fn request(seconds: i64) -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .duration(seconds)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_finished_task_says_what_it_cost_and_when_its_results_expire() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(150)))
        .start()
        .await
        .unwrap();
    let client = sandbox.client().unwrap();
    let mut total = Cost::ZERO;
    for seconds in [5, 10] {
        let output = client
            .submit(&request(seconds))
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        let cost = output.cost().expect("the sandbox bills every success");
        // $0.0480 a second of Seedance 2.0 V2V in the sandbox.
        let expected = if seconds == 5 { "0.2400" } else { "0.4800" };
        assert_eq!(cost.to_string(), expected);
        assert_eq!(output.billing_status(), Some("succeeded"));
        assert_eq!(output.server_duration(), Some(Duration::from_millis(150)));
        let stated = output
            .server_expiry()
            .expect("the sandbox states the expiry");
        let created = sandbox.task(output.task.id()).unwrap().created_at;
        let expected = created + Duration::from_millis(150) + RESULT_LIFETIME;
        let off = stated
            .duration_since(expected)
            .unwrap_or_else(|e| e.duration());
        assert!(off < Duration::from_millis(2), "{stated:?} vs {expected:?}");
        assert_eq!(output.result_expires_at(), stated);
        total = total.checked_add(cost).unwrap();
    }
    assert_eq!(total.to_string(), "0.7200");
}

fn answer(data: serde_json::Value) -> Reply {
    Reply::Json(200, json!({"code": 0, "message": "success", "data": data}))
}

fn resources() -> serde_json::Value {
    json!({"resources": [{"type": "video", "url": "https://cdn.example.com/a.mp4"}]})
}

/// Without `result_expires_at` the expiry is the documented 7 days after the end; an
/// amount sent as a JSON number is still read by its digits, and one that is not a
/// decimal is no cost (never a guess).
#[tokio::test]
async fn without_the_fields_the_expiry_falls_back_and_odd_amounts_are_not_guessed() {
    let server = MockServer::start();
    server.script(
        "GET",
        &task_path("task-n"),
        [answer(json!({
            "status": "success", "task_id": "task-n", "result": resources(),
            "billing": {"status": "succeeded", "amount": 0.24},
        }))],
    );
    server.script(
        "GET",
        &task_path("task-x"),
        [answer(json!({
            "status": "success", "task_id": "task-x", "result": resources(),
            "billing": {"amount": "about a dollar"}, "duration": "slow",
        }))],
    );
    let expires_ms: u64 = 1_900_000_000_000;
    server.script(
        "GET",
        &task_path("task-r"),
        [answer(json!({
            "status": "success", "task_id": "task-r",
            "result": {"result_expires_at": expires_ms, "resources": [
                {"type": "video", "url": "https://cdn.example.com/a.mp4"}]},
        }))],
    );
    let client = client(&server);
    let output = client.task("task-n").unwrap().wait().await.unwrap();
    assert_eq!(output.cost(), Some("0.24".parse().unwrap()));
    assert_eq!(output.server_expiry(), None);
    assert_eq!(
        output.result_expires_at(),
        output.finished_at + RESULT_LIFETIME
    );
    assert_eq!(output.server_duration(), None);

    let output = client.task("task-x").unwrap().wait().await.unwrap();
    assert_eq!(output.cost(), None, "not a decimal: no cost");
    assert_eq!(output.billing_status(), None);
    assert_eq!(output.server_duration(), None);
    assert_eq!(output.resources().len(), 1, "the result is kept");

    let output = client.task("task-r").unwrap().wait().await.unwrap();
    assert_eq!(
        output.result_expires_at(),
        UNIX_EPOCH + Duration::from_millis(expires_ms)
    );
    assert!(output.result_expires_at() > SystemTime::UNIX_EPOCH);
}

//! Webhooks over loopback: the submit option, the sandbox's deliveries (retried with
//! one delivery id), accepting a delivery once, confirming before trusting, and a wait
//! woken by a delivery instead of its next poll.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use modellix::{
    Backoff, Client, Error, Outcome, SubmitOptions, TaskStatus, WebhookError, WebhookEvent,
    WebhookEventKind,
};
use modellix_sandbox::{Sandbox, Timing};
use serde_json::json;
use tokio::time::Instant;

fn request() -> modellix::types::Seedance20V2vRequest {
    modellix::types::Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()
        .unwrap()
}

/// One delivery as the test receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    delivery_id: String,
    retry_count: u32,
    event: WebhookEventKind,
    accepted: bool,
    woken: usize,
    at: Instant,
}

/// A receiver as the README advises: parse, accept (store), wake the waits, answer.
/// The first `fail` attempts are answered 500 after they were accepted, as when a
/// receiver stores the delivery and then crashes before its 2xx goes out.
#[derive(Clone)]
struct Receiver {
    client: Client,
    fail: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Ok(event) = WebhookEvent::parse(&headers, &body) else {
        return StatusCode::BAD_REQUEST;
    };
    let accepted = r.client.accept(&event).await.expect("the ledger accepts");
    let woken = if accepted { r.client.notify(&event) } else { 0 };
    r.seen.lock().unwrap().push(Seen {
        delivery_id: event.delivery_id.clone(),
        retry_count: event.retry_count,
        event: event.event.clone(),
        accepted,
        woken,
        at: Instant::now(),
    });
    let failing = r
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// Starts a receiver on 127.0.0.1; its URL and what it saw.
async fn start_receiver(client: &Client, fail: usize) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Receiver {
        client: client.clone(),
        fail: Arc::new(AtomicUsize::new(fail)),
        seen: Arc::clone(&seen),
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

/// Waits (bounded, so a broken build fails instead of hanging) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < give_up, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn delivery(task_id: &str, event: &str, delivery_id: &str, retry: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("X-Modellix-Event", event.parse().unwrap());
    headers.insert("X-Modellix-Task-ID", task_id.parse().unwrap());
    headers.insert("X-Modellix-Delivery-ID", delivery_id.parse().unwrap());
    headers.insert("X-Modellix-Retry-Count", retry.parse().unwrap());
    headers
}

#[tokio::test]
async fn a_bad_webhook_url_is_refused_by_name_before_anything_is_sent() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = sandbox.client().unwrap();
    for url in [
        "http://example.com/hook",
        "not a url",
        "https://user:secret@example.com/hook",
    ] {
        let options = SubmitOptions::new().webhook_url(url);
        let e = client.submit_with(&request(), options).await.unwrap_err();
        match &e {
            Error::Config(config) => assert_eq!(config.field, "SubmitOptions::webhook_url"),
            other => panic!("{url}: expected a config error, got {other:?}"),
        }
        assert!(e.is_invalid_input(), "{e}");
    }
    assert_eq!(sandbox.counts().submits(), 0, "nothing sent");
    assert!(
        client.history(0).await.unwrap().is_empty(),
        "nothing recorded"
    );
}

#[tokio::test]
async fn the_webhook_url_is_sent_with_the_submit_and_recorded_with_the_intent() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = sandbox
        .client_builder()
        .ledger_path(dir.path().join("ledger.sqlite3"))
        .build()
        .unwrap();
    let (url, seen) = start_receiver(&client, 0).await;
    let task = client
        .submit_with(&request(), SubmitOptions::new().webhook_url(&url))
        .await
        .unwrap();
    assert_eq!(
        sandbox.task(task.id()).unwrap().webhook_url.as_deref(),
        Some(url.as_str())
    );
    let entries = client.history(0).await.unwrap();
    assert_eq!(entries[0].intent.webhook_url.as_deref(), Some(url.as_str()));
    until("the delivery", || !seen.lock().unwrap().is_empty()).await;
    assert_eq!(seen.lock().unwrap()[0].event, WebhookEventKind::Succeeded);
}

#[test]
fn a_malformed_delivery_is_refused_by_name() {
    let body = br#"{"code":0,"message":"success","data":{"task_id":"task-1","status":"success"}}"#;
    let good = delivery("task-1", "prediction.task.succeeded", "dlv-1", "0");
    assert!(WebhookEvent::parse(&good, body).is_ok());

    for missing in [
        "X-Modellix-Event",
        "X-Modellix-Task-ID",
        "X-Modellix-Delivery-ID",
        "X-Modellix-Retry-Count",
    ] {
        let mut headers = good.clone();
        headers.remove(missing);
        assert_eq!(
            WebhookEvent::parse(&headers, body),
            Err(WebhookError::MissingHeader { header: missing }),
        );
    }
    let other = delivery("task-2", "prediction.task.succeeded", "dlv-1", "0");
    assert_eq!(
        WebhookEvent::parse(&other, body),
        Err(WebhookError::TaskIdMismatch {
            header: "task-2".into(),
            body: "task-1".into()
        })
    );
    let retries = delivery("task-1", "prediction.task.succeeded", "dlv-1", "-1");
    assert!(matches!(
        WebhookEvent::parse(&retries, body),
        Err(WebhookError::BadHeader {
            header: "X-Modellix-Retry-Count",
            ..
        })
    ));
    let huge = vec![b' '; modellix::MAX_WEBHOOK_BODY_BYTES + 1];
    assert!(matches!(
        WebhookEvent::parse(&good, &huge),
        Err(WebhookError::BodyTooLarge { .. })
    ));
    for bad in [&b"<html>"[..], b"[1]", b""] {
        assert!(matches!(
            WebhookEvent::parse(&good, bad),
            Err(WebhookError::BadBody { .. })
        ));
    }
    let mut twice = good.clone();
    twice.append("X-Modellix-Delivery-ID", "dlv-2".parse().unwrap());
    assert!(
        WebhookEvent::parse(&twice, body).is_err(),
        "two delivery ids"
    );

    let future = delivery("task-1", "prediction.task.paused", "dlv-1", "3");
    let event = WebhookEvent::parse(&future, body).unwrap();
    assert_eq!(
        event.event,
        WebhookEventKind::Other("prediction.task.paused".into())
    );
    assert_eq!(event.retry_count, 3);
    let message = WebhookEvent::parse(&other, body).unwrap_err().to_string();
    assert!(message.contains("X-Modellix-Task-ID"), "{message}");
}

/// The done-when of the feature: a receiver that fails the first attempt gets the
/// delivery twice, with one delivery id and retry counts 0 and 1, accepts it once, and
/// the confirming query says what the task is.
#[tokio::test]
async fn a_failed_delivery_is_retried_with_its_id_and_accepted_once() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    let client = sandbox.client().unwrap();
    let (url, seen) = start_receiver(&client, 1).await;
    let task = client
        .submit_with(&request(), SubmitOptions::new().webhook_url(&url))
        .await
        .unwrap();
    until("a delivery answered 2xx", || {
        sandbox
            .webhook_attempts()
            .iter()
            .any(|a| a.status == Some(200))
    })
    .await;

    let attempts = sandbox.webhook_attempts();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].status, Some(500));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].delivery_id, seen[1].delivery_id, "one delivery id");
    assert_eq!((seen[0].retry_count, seen[1].retry_count), (0, 1));
    assert_eq!(
        seen.iter().map(|s| s.accepted).collect::<Vec<_>>(),
        [true, false],
        "accepted once"
    );

    let headers = delivery(
        task.id(),
        "prediction.task.succeeded",
        &seen[1].delivery_id,
        "1",
    );
    let event = WebhookEvent::parse(&headers, b"{}").unwrap();
    let info = client.confirm(&event).await.unwrap();
    assert_eq!(info.status, TaskStatus::Success);
    let entry = &client.history(0).await.unwrap()[0];
    assert!(
        matches!(&entry.outcome, Outcome::Finished { status, .. } if status == "success"),
        "{:?}",
        entry.outcome
    );
}

/// Anyone who learns the URL can post to it: a forged "succeeded" for a task that is
/// still running is accepted as a delivery, but the confirming query says running, the
/// ledger keeps the task open and a woken wait goes on waiting.
#[tokio::test]
async fn a_forged_delivery_for_a_running_task_changes_nothing() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_secs(3600)))
        .start()
        .await
        .unwrap();
    let client = sandbox
        .client_builder()
        .poll_schedule(Backoff::fixed(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let task = client.submit(&request()).await.unwrap();
    let waiting = {
        let task = task.clone();
        tokio::spawn(async move { task.wait().await })
    };

    let forged_body = json!({"code": 0, "message": "success",
        "data": {"task_id": task.id(), "status": "success",
                 "result": {"resources": [{"url": "https://attacker.example/x.mp4"}]}}});
    let headers = delivery(task.id(), "prediction.task.succeeded", "forged-1", "0");
    let event = WebhookEvent::parse(&headers, forged_body.to_string().as_bytes()).unwrap();
    assert!(client.accept(&event).await.unwrap());
    let info = client.confirm(&event).await.unwrap();
    assert!(!info.status.is_terminal(), "{:?}", info.status);
    assert!(info.result.is_none(), "nothing of the forged body is used");
    let queries_before = sandbox.task(task.id()).unwrap().queries;

    until("the wait registered", || client.notify(&event) > 0).await;
    until("the woken wait's query", || {
        sandbox.task(task.id()).unwrap().queries > queries_before
    })
    .await;
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "the wait goes on");
    let open = client.recover().await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(matches!(open[0].outcome, Outcome::Accepted { .. }));
    waiting.abort();
}

/// A wait whose next poll is an hour away ends on the delivery: one query, made when
/// the webhook came.
#[tokio::test]
async fn a_webhook_ends_the_wait_without_waiting_for_its_next_poll() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(800)))
        .start()
        .await
        .unwrap();
    let client = sandbox
        .client_builder()
        .poll_schedule(Backoff::fixed(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let (url, seen) = start_receiver(&client, 0).await;
    let task = client
        .submit_with(&request(), SubmitOptions::new().webhook_url(&url))
        .await
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(60), task.wait())
        .await
        .expect("the wait ended long before its first scheduled poll (an hour)")
        .unwrap();
    let ended = Instant::now();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].woken, 1, "the delivery woke the wait");
    assert_eq!(output.polls, 1, "one confirming query, no scheduled poll");
    assert_eq!(sandbox.task(task.id()).unwrap().queries, 1);
    println!(
        "wait ended {:?} after the delivery arrived",
        ended - seen[0].at
    );
}

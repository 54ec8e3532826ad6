//! The API key never survives in server text the client keeps: it is redacted before
//! any cut, so a key straddling a cut leaves no prefix behind. Each cut is tried with
//! the key at every offset around it, over HTTP on 127.0.0.1.

mod support;

use serde_json::json;
use support::*;

/// A key no prose contains a piece of.
const SECRET: &str = "QZJW8f3kVq7pLm2X9rTbHc4N";

fn client_with_secret(server: &MockServer) -> modellix::Client {
    client_builder(server).api_key(SECRET).build().unwrap()
}

/// Panics if any 4-character piece of the key is in `text`.
fn assert_no_piece(text: &str, what: &str) {
    let key: Vec<char> = SECRET.chars().collect();
    for piece in key.windows(4) {
        let piece: String = piece.iter().collect();
        assert!(
            !text.contains(&piece),
            "{what} holds {piece:?}, a piece of the key: {text}"
        );
    }
}

fn assert_error_clean(err: &modellix::Error, what: &str) {
    assert_no_piece(&err.to_string(), &format!("{what} (Display)"));
    assert_no_piece(&format!("{err:?}"), &format!("{what} (Debug)"));
}

/// Offsets placing the key from wholly before `cut` to wholly after it.
fn around(cut: usize) -> impl Iterator<Item = usize> {
    cut.saturating_sub(SECRET.len() + 2)..=cut + 2
}

fn pad(n: usize) -> String {
    "x".repeat(n)
}

/// A status query's error, for one scripted answer.
async fn status_error(reply: Reply) -> modellix::Error {
    let server = MockServer::start();
    server.script("GET", &task_path("task-1"), [reply]);
    let client = client_with_secret(&server);
    client.task("task-1").unwrap().status().await.unwrap_err()
}

#[tokio::test]
async fn a_proxy_page_excerpt_never_keeps_a_piece_of_the_key() {
    // Excerpts of non-JSON bodies are cut at 120 characters.
    for offset in around(120) {
        let body = format!("{}{SECRET}{}\nsecond line", pad(offset), pad(60));
        let err = status_error(Reply::Raw {
            status: 502,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.into_bytes(),
        })
        .await;
        assert_eq!(err.status(), Some(502), "{err}");
        assert_error_clean(&err, &format!("excerpt, key at {offset}"));
    }
}

#[tokio::test]
async fn an_envelope_message_never_keeps_a_piece_of_the_key() {
    // Messages of error envelopes are cut at 2000 characters, success envelopes with
    // a non-zero code at 200.
    for offset in around(2000) {
        let message = format!("Bad gateway: {}{SECRET}{}", pad(offset), pad(40));
        let err = status_error(Reply::Json(502, error_envelope(502, &message))).await;
        assert_error_clean(&err, &format!("error envelope, key at {offset}"));
    }
    for offset in around(200) {
        let message = format!("{}{SECRET}{}", pad(offset), pad(40));
        let body = json!({"code": 7, "message": message, "data": {"status": "pending", "task_id": "task-1"}});
        let err = status_error(Reply::Json(200, body)).await;
        assert!(err.to_string().contains("code 7"), "{err}");
        assert_error_clean(&err, &format!("code 7 message, key at {offset}"));
    }
}

#[tokio::test]
async fn a_task_id_of_another_task_never_keeps_a_piece_of_the_key() {
    for offset in around(200) {
        let other = format!("{}{SECRET}{}", pad(offset), pad(40));
        let body = json!({"code": 0, "message": "success", "data": {"status": "pending", "task_id": other}});
        let err = status_error(Reply::Json(200, body)).await;
        assert!(err.to_string().contains("asked for task task-1"), "{err}");
        assert_error_clean(&err, &format!("other task id, key at {offset}"));
    }
}

#[tokio::test]
async fn a_redirect_target_never_keeps_a_piece_of_the_key() {
    // A Location that is not a URL is shown up to 80 characters; one that is, without
    // its query.
    for offset in around(80) {
        for location in [
            format!("{}{SECRET}{}", pad(offset), pad(30)),
            format!("https://evil.example/{}{SECRET}{}", pad(offset), pad(30)),
        ] {
            let err = status_error(Reply::Raw {
                status: 302,
                headers: vec![("location".into(), location)],
                body: Vec::new(),
            })
            .await;
            assert!(err.to_string().contains("redirect"), "{err}");
            assert_error_clean(&err, &format!("redirect, key at {offset}"));
        }
    }
}

#[tokio::test]
async fn a_failed_task_echoing_the_key_is_reported_without_it() {
    let server = MockServer::start();
    let path = task_path("task-1");
    let message = format!("upstream refused key {SECRET} (Bearer {SECRET})");
    server.default_reply(
        "GET",
        &path,
        Reply::Json(
            200,
            json!({"code": 0, "message": "success", "data": {
                "status": "failed", "task_id": "task-1",
                "error": {"code": format!("E{SECRET}"), "message": message}
            }}),
        ),
    );
    let client = client_with_secret(&server);
    let err = client.task("task-1").unwrap().wait().await.unwrap_err();
    assert!(err.is_task_failed(), "{err}");
    assert_error_clean(&err, "failed task");
}

#[tokio::test]
async fn a_submit_answer_echoing_the_key_leaves_no_piece_in_the_error_or_the_ledger() {
    for offset in around(120) {
        let server = MockServer::start();
        let body = format!("{}{SECRET}{}", pad(offset), pad(60));
        server.script(
            "POST",
            SUBMIT,
            [Reply::Raw {
                status: 502,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: body.into_bytes(),
            }],
        );
        let client = client_with_secret(&server);
        let err = client.submit(&request()).await.unwrap_err();
        assert!(err.is_outcome_unknown(), "{err}");
        assert_error_clean(&err, &format!("submit, key at {offset}"));
        let entries = client.history(10).await.unwrap();
        assert!(!entries.is_empty());
        assert_no_piece(&format!("{entries:?}"), &format!("ledger, key at {offset}"));
    }
}

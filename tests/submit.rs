//! Submit exactly once: accepted, rejected or outcome unknown, never retried.

mod support;

use modellix::Error;
use serde_json::json;
use support::*;

#[tokio::test]
async fn an_accepted_submit_returns_the_task_and_sends_the_right_request() {
    let server = MockServer::start();
    server.script("POST", SUBMIT, [submitted("task-abc123")]);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_seen = seen.clone();
    let client = client_builder(&server)
        .user_agent_suffix("my-app/2.1")
        .on_submitted(move |entry| {
            let id = entry.task_id().unwrap_or_default().to_owned();
            hook_seen.lock().unwrap().push(id);
            async {}
        })
        .build()
        .unwrap();

    let task = client.submit(&request()).await.unwrap();

    assert_eq!(task.id(), "task-abc123");
    assert_eq!(task.model_id(), Some("bytedance/seedance-2.0-v2v"));
    assert!(task.submitted_at().is_some());
    assert_eq!(task.kind().param("duration"), Some("8"));
    assert_eq!(*seen.lock().unwrap(), ["task-abc123"]);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let post = &requests[0];
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(
        post.header("user-agent"),
        Some(format!("modellix-rust/{} my-app/2.1", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(post.header("api-version"), None);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&post.body).unwrap(),
        json!({"prompt": "Extend motion from [Video 1]", "video_urls": ["https://example.com/source.mp4"], "duration": 8})
    );
}

#[tokio::test]
async fn an_invalid_request_sends_nothing() {
    let server = MockServer::start();
    let mut bad = request();
    bad.video_urls.clear();
    let err = client(&server).submit(&bad).await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err}");
    assert!(err.is_invalid_input());
    assert!(err.to_string().contains("/video_urls"));
    assert_eq!(server.requests().len(), 0);
}

#[tokio::test]
async fn every_rejecting_status_is_rejected_with_category_and_message() {
    for status in [400u16, 401, 402, 403, 404, 405, 413, 415, 422, 429] {
        let server = MockServer::start();
        let mut reply = error_envelope(status, &format!("Category {status}: detail for {status}"));
        reply["data"] = json!(null);
        server.script(
            "POST",
            SUBMIT,
            [Reply::Raw {
                status,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("retry-after".into(), "3".into()),
                ],
                body: serde_json::to_vec(&reply).unwrap(),
            }],
        );
        let err = client(&server).submit(&request()).await.unwrap_err();
        let Error::Rejected { api, model_id } = &err else {
            panic!("{status}: {err:?}")
        };
        assert_eq!(model_id, "bytedance/seedance-2.0-v2v");
        assert_eq!(api.status, status);
        assert_eq!(
            api.category.as_deref(),
            Some(format!("Category {status}").as_str())
        );
        assert_eq!(api.message, format!("detail for {status}"));
        assert_eq!(err.task_id(), None);
        assert!(err.to_string().contains("no task was created"), "{err}");
        assert_eq!(
            server.count("POST", SUBMIT),
            1,
            "{status}: exactly one POST"
        );
    }
}

#[tokio::test]
async fn every_unclear_answer_is_outcome_unknown_after_exactly_one_post() {
    let big = {
        let mut body =
            br#"{"code":0,"message":"success","data":{"task_id":"task-big","pad":""#.to_vec();
        body.extend(std::iter::repeat_n(b'x', 17 * 1024 * 1024));
        body.extend_from_slice(br#""}}"#);
        body
    };
    let cases: Vec<(&str, Reply, Option<&str>)> = vec![
        ("reset after the request was read", Reply::Reset, None),
        (
            "500",
            Reply::Json(500, error_envelope(500, "Internal error: boom")),
            None,
        ),
        (
            "503 naming a task",
            Reply::Json(
                503,
                json!({"code": 503, "message": "Unavailable: x", "data": {"task_id": "task-503"}}),
            ),
            Some("task-503"),
        ),
        (
            "HTML 502",
            Reply::Raw {
                status: 502,
                headers: vec![("content-type".into(), "text/html".into())],
                body: b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
            },
            None,
        ),
        (
            "2xx without task id",
            Reply::Json(
                200,
                json!({"code": 0, "message": "success", "data": {"status": "pending"}}),
            ),
            None,
        ),
        (
            "2xx not JSON",
            Reply::Raw {
                status: 200,
                headers: vec![],
                body: b"OK".to_vec(),
            },
            None,
        ),
        (
            "2xx cut off after the id",
            Reply::Truncated {
                declared: 400,
                body: br#"{"code":0,"message":"success","data":{"task_id":"task-cut","sta"#
                    .to_vec(),
            },
            Some("task-cut"),
        ),
        (
            "2xx over 16 MiB",
            Reply::Raw {
                status: 200,
                headers: vec![],
                body: big,
            },
            Some("task-big"),
        ),
        (
            "2xx with an error code",
            Reply::Json(
                200,
                json!({"code": 500, "message": "x", "data": {"task_id": "task-odd"}}),
            ),
            Some("task-odd"),
        ),
    ];
    for (name, reply, task_id) in cases {
        let server = MockServer::start();
        server.script("POST", SUBMIT, [reply]);
        let err = client(&server).submit(&request()).await.unwrap_err();
        assert!(err.is_outcome_unknown(), "{name}: {err:?}");
        assert!(!err.is_retryable(), "{name}");
        assert_eq!(err.task_id(), task_id, "{name}");
        let text = err.to_string();
        assert!(text.contains("Do not resubmit"), "{name}: {text}");
        if let Some(id) = task_id {
            assert!(text.contains(id), "{name}: {text}");
        }
        assert_eq!(server.count("POST", SUBMIT), 1, "{name}: exactly one POST");
    }
}

#[tokio::test]
async fn a_refused_connection_is_not_sent() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let client = modellix::Client::builder()
        .memory_ledger()
        .api_key(KEY)
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap();
    let err = client.submit(&request()).await.unwrap_err();
    assert!(matches!(err, Error::NotSent { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("safe to try again"));
}

#[tokio::test]
async fn generate_submits_and_waits() {
    let server = MockServer::start();
    server.script("POST", SUBMIT, [submitted("task-g")]);
    server.script(
        "GET",
        &task_path("task-g"),
        [status("task-g", "processing"), succeeded("task-g")],
    );
    let client = client_builder(&server)
        .poll_schedule(modellix::Backoff::fixed(std::time::Duration::from_millis(
            10,
        )))
        .build()
        .unwrap();
    let output = client.generate(&request()).await.unwrap();
    assert_eq!(output.task.id(), "task-g");
    assert_eq!(
        output.resources()[0].url.as_deref(),
        Some("https://cdn.example.com/a.mp4")
    );
    assert_eq!(server.count("POST", SUBMIT), 1);
}

/// `submit_json` takes what a program has: a struct of its own, a map, a value or a
/// reference to one; each is checked by the model's fragment and sent as the same
/// bytes.
#[tokio::test]
async fn submit_json_takes_any_serializable_body() {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        prompt: &'a str,
        video_urls: Vec<&'a str>,
    }
    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [submitted("t-1"), submitted("t-2"), submitted("t-3")],
    );
    let client = client(&server);
    let model = "bytedance/seedance-2.0-v2v";
    let typed = Body {
        prompt: "Extend [Video 1]",
        video_urls: vec!["https://example.com/in.mp4"],
    };
    let value = json!({"prompt": "Extend [Video 1]", "video_urls": ["https://example.com/in.mp4"]});
    let map: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_value(value.clone()).unwrap();
    assert_eq!(client.submit_json(model, &typed).await.unwrap().id(), "t-1");
    assert_eq!(client.submit_json(model, map).await.unwrap().id(), "t-2");
    assert_eq!(client.submit_json(model, &value).await.unwrap().id(), "t-3");
    let bodies: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies, [value.clone(), value.clone(), value]);
    // The fragment still checks a typed body: nothing is sent for a bad one.
    let bad = Body {
        prompt: "",
        video_urls: vec![],
    };
    let err = client.submit_json(model, &bad).await.unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert_eq!(server.count("POST", SUBMIT), 3);
}

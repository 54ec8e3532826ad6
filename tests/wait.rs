//! Waiting: schedule, retries, deadline, failures, resume and many tasks at once.
//! Time-dependent tests run on tokio's paused clock; the server runs in real time on
//! its own thread.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use modellix::{Backoff, Error, ExponentialRetry, TaskStatus, WaitOptions};
use serde_json::json;
use support::*;
use tokio::time::Instant;

fn fast_client(server: &MockServer) -> modellix::Client {
    client_builder(server)
        .poll_schedule(Backoff::fixed(Duration::from_secs(2)))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_happy_path_reports_every_status_and_keeps_unknown_fields() {
    let server = MockServer::start();
    let path = task_path("task-1");
    server.script("POST", SUBMIT, [submitted("task-1")]);
    server.script(
        "GET",
        &path,
        [
            status("task-1", "pending"),
            status("task-1", "processing"),
            status("task-1", "processing"),
        ],
    );
    server.default_reply("GET", &path, succeeded("task-1"));
    let client = client(&server); // default schedule
    let task = client.submit(&request()).await.unwrap();

    let start = Instant::now();
    let updates: Vec<_> = task.updates().collect().await;
    let statuses: Vec<TaskStatus> = updates
        .iter()
        .map(|u| u.as_ref().unwrap().status.clone())
        .collect();
    assert_eq!(
        statuses,
        [
            TaskStatus::Pending,
            TaskStatus::Processing,
            TaskStatus::Success
        ]
    );
    // Default schedule: about 2 s, then x1.5 each (±20% jitter): 2 + 3 + 4.5 + 6.75.
    let waited = start.elapsed().as_secs_f64();
    assert!((12.0..=20.0).contains(&waited), "{waited}");

    let last = updates.last().unwrap().as_ref().unwrap();
    let resource = &last.info.result.as_ref().unwrap().resources[0];
    assert_eq!(resource.type_, "video");
    assert_eq!((resource.width, resource.height), (Some(1280), Some(720)));
    assert_eq!(resource.extra["duration_ms"], json!(5000));
    assert_eq!(last.info.extra["queue_position"], json!(0));
    assert_eq!(server.count("GET", &path), 4);
    let get = server
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap();
    assert_eq!(
        get.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(get.header("api-version"), None);
}

#[tokio::test(start_paused = true)]
async fn an_unknown_status_is_surfaced_and_a_later_success_ends_the_wait() {
    let server = MockServer::start();
    let path = task_path("task-q");
    server.script(
        "GET",
        &path,
        [
            status("task-q", "queued"),
            status("task-q", "rendering"),
            succeeded("task-q"),
        ],
    );
    let client = fast_client(&server);
    let task = client.task("task-q").unwrap();
    let statuses: Vec<TaskStatus> = task.updates().map(|u| u.unwrap().status).collect().await;
    assert_eq!(
        statuses,
        [
            TaskStatus::Other("queued".into()),
            TaskStatus::Other("rendering".into()),
            TaskStatus::Success
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_task_ends_the_wait_with_its_error_payload() {
    let server = MockServer::start();
    let path = task_path("task-f");
    server.script("GET", &path, [status("task-f", "processing"), Reply::Json(200, json!({
        "code": 0, "message": "success",
        "data": {"status": "failed", "task_id": "task-f", "error": {"code": "content_policy", "message": "refused"}}
    }))]);
    let client = fast_client(&server);
    let err = client.task("task-f").unwrap().wait().await.unwrap_err();
    let Error::TaskFailed { task_id, failure } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(task_id, "task-f");
    assert_eq!(failure.code.as_deref(), Some("content_policy"));
    assert_eq!(failure.message.as_deref(), Some("refused"));
    assert_eq!(failure.raw.as_ref().unwrap()["code"], "content_policy");
    assert!(err.is_task_failed());
    assert_eq!(err.kind(), modellix::ErrorKind::TaskFailed);
    assert_eq!(
        err.to_string(),
        "task task-f failed: content_policy: refused"
    );
}

#[tokio::test(start_paused = true)]
async fn transient_errors_inside_the_deadline_are_retried() {
    let server = MockServer::start();
    let path = task_path("task-t");
    server.script(
        "GET",
        &path,
        [
            Reply::Json(500, error_envelope(500, "Internal error: x")),
            Reply::Raw {
                status: 502,
                headers: vec![("content-type".into(), "text/html".into())],
                body: b"<html>bad gateway</html>".to_vec(),
            },
            Reply::Reset,
            Reply::Json(503, error_envelope(503, "Unavailable: x")),
            Reply::Json(504, error_envelope(504, "Timeout: x")),
            Reply::Json(408, error_envelope(408, "Timeout: x")),
            Reply::Truncated {
                declared: 300,
                body: br#"{"code":0,"data":{"#.to_vec(),
            },
        ],
    );
    server.default_reply("GET", &path, succeeded("task-t"));
    let client = fast_client(&server);
    let output = client.task("task-t").unwrap().wait().await.unwrap();
    assert_eq!(output.polls, 8);
    assert_eq!(server.count("GET", &path), 8);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_slows_the_whole_client() {
    let server = MockServer::start();
    let path = task_path("task-r");
    server.script(
        "GET",
        &path,
        [Reply::Raw {
            status: 429,
            headers: vec![
                ("retry-after".into(), "30".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: serde_json::to_vec(&error_envelope(429, "Too many requests: slow down")).unwrap(),
        }],
    );
    server.default_reply("GET", &path, succeeded("task-r"));
    server.default_reply("GET", &task_path("task-other"), succeeded("task-other"));
    let client = fast_client(&server);

    let start = Instant::now();
    client.task("task-r").unwrap().wait().await.unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(32), "{waited:?}"); // 2 s schedule + 30 s hint
    assert!(waited < Duration::from_secs(40), "{waited:?}");

    // The same client is still paused for any other task until the hint ran out.
    server.script(
        "GET",
        &task_path("task-r2"),
        [Reply::Raw {
            status: 429,
            headers: vec![("x-ratelimit-reset".into(), "20".into())],
            body: vec![],
        }],
    );
    server.default_reply("GET", &task_path("task-r2"), succeeded("task-r2"));
    let first = client.task("task-r2").unwrap();
    let second = client.task("task-other").unwrap();
    let start = Instant::now();
    let (a, b) = tokio::join!(first.wait(), async {
        tokio::time::sleep(Duration::from_secs(3)).await; // poll after the 429 was seen
        second.wait().await
    });
    a.unwrap();
    b.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(22),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        server.count("GET", &task_path("task-other")),
        1,
        "the other poller waited out the 429"
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_ends_a_wait_on_a_running_task_with_a_resumable_error() {
    let server = MockServer::start();
    let path = task_path("task-slow");
    server.default_reply("GET", &path, status("task-slow", "processing"));
    let client = client_builder(&server)
        .wait_options(WaitOptions::deadline(Duration::from_secs(60)))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client.task("task-slow").unwrap().wait().await.unwrap_err();
    let elapsed = start.elapsed();
    // The last sleep is cut 1 s short of the deadline and one last query happens there,
    // with time to answer: the wait never runs past its deadline.
    assert!(
        elapsed >= Duration::from_secs(59) && elapsed <= Duration::from_secs(60),
        "{elapsed:?}"
    );
    let Error::TimedOut {
        task_id,
        polls,
        last_status,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(task_id, "task-slow");
    assert_eq!(*polls as usize, server.count("GET", &path));
    assert!((7..=10).contains(polls), "{polls}"); // 2, 3, 4.5, 6.75, then 10 s steps
    assert_eq!(last_status, &Some(TaskStatus::Processing));
    let text = err.to_string();
    assert!(
        text.contains("may still be running and billed; resume with the task id task-slow"),
        "{text}"
    );
    assert!(err.is_timeout() && err.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn the_deadline_also_bounds_failing_queries() {
    let server = MockServer::start();
    let path = task_path("task-down");
    server.default_reply(
        "GET",
        &path,
        Reply::Json(503, error_envelope(503, "Unavailable: maintenance")),
    );
    let client = client_builder(&server)
        .retry_policy(ExponentialRetry::new(3))
        .wait_options(WaitOptions::deadline(Duration::from_secs(45)))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client.task("task-down").unwrap().wait().await.unwrap_err();
    assert!(
        start.elapsed() <= Duration::from_secs(46),
        "{:?}",
        start.elapsed()
    );
    let Error::TimedOut {
        last_error,
        last_status,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(last_status, &None);
    assert!(
        last_error.as_deref().unwrap().contains("503"),
        "{last_error:?}"
    );
    assert!(
        server.count("GET", &path) > 3,
        "rounds go on after a round is exhausted"
    );
}

#[tokio::test(start_paused = true)]
async fn fatal_answers_end_the_wait_at_once() {
    let cases: Vec<(&str, Reply)> = vec![
        (
            "401",
            Reply::Json(401, error_envelope(401, "Unauthorized: bad key")),
        ),
        (
            "403",
            Reply::Json(403, error_envelope(403, "Forbidden: no")),
        ),
        (
            "404",
            Reply::Json(
                404,
                error_envelope(404, "Not found: task task-x does not exist"),
            ),
        ),
        (
            "redirect",
            Reply::Raw {
                status: 307,
                headers: vec![(
                    "location".into(),
                    "https://elsewhere.example/x?k=sk-1".into(),
                )],
                body: vec![],
            },
        ),
    ];
    for (name, reply) in cases {
        let server = MockServer::start();
        let path = task_path("task-x");
        server.script("GET", &path, [reply]);
        server.default_reply("GET", &path, succeeded("task-x"));
        let client = fast_client(&server);
        let err = client.task("task-x").unwrap().wait().await.unwrap_err();
        assert_eq!(err.task_id(), Some("task-x"), "{name}: {err:?}");
        assert!(
            matches!(err, Error::Api { .. } | Error::Malformed { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(server.count("GET", &path), 1, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_rebuilt_from_its_id_or_from_json_resumes_like_the_original() {
    let server = MockServer::start();
    server.script("POST", SUBMIT, [submitted("task-resume")]);
    let path = task_path("task-resume");
    server.script("GET", &path, [status("task-resume", "processing")]);
    server.default_reply("GET", &path, succeeded("task-resume"));
    let client = fast_client(&server);
    let original = client.submit(&request()).await.unwrap();

    let saved = serde_json::to_string(original.task()).unwrap();
    let restored: modellix::Task = serde_json::from_str(&saved).unwrap();
    assert_eq!(&restored, original.task());
    let from_id = client.task("task-resume").unwrap();
    assert_eq!(from_id.id(), original.id());

    let a = client.resume(restored).wait().await.unwrap();
    let b = from_id.wait().await.unwrap();
    assert_eq!(a.resources(), b.resources());
    assert_eq!(server.count("POST", SUBMIT), 1);
    let status = from_id.status().await.unwrap();
    assert_eq!(status.status, TaskStatus::Success);

    for bad in ["", ".", "..", "task\u{7}1", "line\nbreak"] {
        let err = client.task(bad).unwrap_err();
        assert!(err.is_invalid_input(), "{bad:?}");
        assert!(err.to_string().contains("task_id"), "{err}");
    }
}

/// Issue 13, item 7: any non-empty id without control characters is usable, however
/// long, and travels percent-encoded in the query path.
#[tokio::test(start_paused = true)]
async fn unusual_task_ids_are_accepted_and_percent_encoded() {
    let long = "t".repeat(300);
    for (id, path) in [
        ("../x", "/api/v1/tasks/..%2Fx".to_owned()),
        ("task id?x=1", "/api/v1/tasks/task%20id%3Fx%3D1".to_owned()),
        ("tâche", "/api/v1/tasks/t%C3%A2che".to_owned()),
        (long.as_str(), format!("/api/v1/tasks/{long}")),
    ] {
        let server = MockServer::start();
        server.script("POST", SUBMIT, [submitted(id)]);
        server.default_reply("GET", &path, succeeded(id));
        let client = fast_client(&server);
        let task = client.submit(&request()).await.unwrap();
        assert_eq!(task.id(), id);
        let output = task.wait().await;
        assert!(output.is_ok(), "{id}: {output:?}");
        assert_eq!(server.count("GET", &path), 1, "{id}");
    }
}

#[tokio::test(start_paused = true)]
async fn wait_all_keeps_order_and_every_outcome() {
    let server = MockServer::start();
    server.default_reply("GET", &task_path("task-a"), succeeded("task-a"));
    server.script(
        "GET",
        &task_path("task-b"),
        [Reply::Json(
            200,
            json!({
                "code": 0, "message": "success", "data": {"status": "failed", "task_id": "task-b"}
            }),
        )],
    );
    server.default_reply("GET", &task_path("task-c"), status("task-c", "processing"));
    server.default_reply(
        "GET",
        &task_path("task-d"),
        Reply::Json(404, error_envelope(404, "Not found: task-d")),
    );
    server.script(
        "GET",
        &task_path("task-e"),
        [
            status("task-e", "processing"),
            status("task-e", "processing"),
        ],
    );
    server.default_reply("GET", &task_path("task-e"), succeeded("task-e"));
    let client = client_builder(&server)
        .poll_schedule(Backoff::fixed(Duration::from_secs(2)))
        .wait_options(WaitOptions::deadline(Duration::from_secs(30)).with_concurrency(2))
        .build()
        .unwrap();
    let tasks: Vec<_> = ["task-a", "task-b", "task-c", "task-d", "task-e"]
        .iter()
        .map(|id| client.task(*id).unwrap())
        .collect();
    let start = Instant::now();
    let results = client.wait_all(&tasks).await;
    assert!(start.elapsed() <= Duration::from_secs(31));
    assert_eq!(results.len(), 5);
    assert_eq!(results[0].as_ref().unwrap().task.id(), "task-a");
    assert!(results[1].as_ref().unwrap_err().is_task_failed());
    assert!(results[2].as_ref().unwrap_err().is_timeout());
    assert_eq!(results[3].as_ref().unwrap_err().status(), Some(404));
    assert_eq!(results[4].as_ref().unwrap().task.id(), "task-e");
    for (task, result) in tasks.iter().zip(&results) {
        if let Err(e) = result {
            assert_eq!(e.task_id(), Some(task.id()));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_update_stream_stops_polling() {
    let server = MockServer::start();
    let path = task_path("task-d");
    server.default_reply("GET", &path, status("task-d", "processing"));
    let client = fast_client(&server);
    let task = client.task("task-d").unwrap();
    let mut updates = task.updates();
    assert_eq!(
        updates.next().await.unwrap().unwrap().status,
        TaskStatus::Processing
    );
    drop(updates);
    let before = server.count("GET", &path);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(server.count("GET", &path), before);
}

#[tokio::test(start_paused = true)]
async fn a_mistyped_optional_field_does_not_lose_the_result() {
    let server = MockServer::start();
    let path = task_path("task-w");
    server.default_reply("GET", &path, Reply::Json(200, json!({
        "code": 0, "message": "success",
        "data": {"status": "success", "task_id": "task-w", "result": {"resources": [
            {"type": "video", "url": "https://cdn.example.com/w.mp4", "width": 1280.0, "role": 5}
        ]}}
    })));
    let client = fast_client(&server);
    let output = client.task("task-w").unwrap().wait().await.unwrap();
    let resource = &output.resources()[0];
    assert_eq!(
        resource.url.as_deref(),
        Some("https://cdn.example.com/w.mp4")
    );
    assert_eq!((resource.width, resource.role.as_deref()), (None, None));
}

/// Issue 13, item 12: one unreadable answer, or an answer about another task, used to
/// end the wait; both are now retried within the retry policy.
#[tokio::test(start_paused = true)]
async fn unreadable_answers_are_retried_not_fatal() {
    let cases: Vec<(&str, Reply)> = vec![
        ("other task", status("task-y", "processing")),
        (
            "oversized",
            Reply::Raw {
                status: 200,
                headers: vec![],
                body: vec![b' '; 17 * 1024 * 1024],
            },
        ),
        (
            "not an envelope",
            Reply::Json(200, json!({"hello": "world"})),
        ),
        (
            "html",
            Reply::Raw {
                status: 200,
                headers: vec![("content-type".into(), "text/html".into())],
                body: b"<html>maintenance</html>".to_vec(),
            },
        ),
    ];
    for (name, reply) in cases {
        let server = MockServer::start();
        let path = task_path("task-x");
        server.script("GET", &path, [reply]);
        server.default_reply("GET", &path, succeeded("task-x"));
        let client = fast_client(&server);
        let output = client.task("task-x").unwrap().wait().await;
        assert!(output.is_ok(), "{name}: {output:?}");
        assert_eq!(server.count("GET", &path), 2, "{name}");
    }
}

/// Issue 13, item 12: a 404 right after a submit (the task not visible yet) is
/// retried; the same 404 for a task known only by id ends the wait.
#[tokio::test(start_paused = true)]
async fn a_404_just_after_submit_is_retried() {
    let server = MockServer::start();
    let path = task_path("task-new");
    server.script("POST", SUBMIT, [submitted("task-new")]);
    let not_found = Reply::Json(404, error_envelope(404, "Not found: task task-new"));
    server.script("GET", &path, [not_found.clone(), not_found]);
    server.default_reply("GET", &path, succeeded("task-new"));
    let client = fast_client(&server);
    let task = client.submit(&request()).await.unwrap();
    let output = task.wait().await;
    assert!(output.is_ok(), "{output:?}");
    assert_eq!(server.count("GET", &path), 3);
}

/// A wait's deadline bounds the status query in flight: a server that never answers a
/// GET ends a 3 s wait at its deadline with a resumable timeout that says so, not at
/// the query's own 30 s timeout. On the real clock (3 s): the client's timers are on.
#[tokio::test]
async fn the_deadline_bounds_a_status_query_that_never_answers() {
    let server = MockServer::start();
    let path = task_path("task-hang");
    server.default_reply(
        "GET",
        &path,
        Reply::Delayed(Duration::from_secs(3600), Box::new(succeeded("task-hang"))),
    );
    let client = client_builder(&server)
        .timeout(Duration::from_secs(30))
        .poll_schedule(Backoff::fixed(Duration::from_secs(1)))
        .build()
        .unwrap();
    let task = client.task("task-hang").unwrap();
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        task.wait_with(WaitOptions::deadline(Duration::from_secs(3))),
    )
    .await
    .expect("the wait ended at its deadline, not at the query's timeout");
    let err = waited.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.task_id(), Some("task-hang"));
    assert!(
        err.to_string().contains("no answer by the wait's deadline"),
        "{err}"
    );
    assert_eq!(server.count("GET", &path), 1);
}

/// A success whose answer lists no result file is not an output (nothing can be
/// saved): the wait ends with an error that keeps the task id.
#[tokio::test(start_paused = true)]
async fn a_success_without_result_files_is_an_error_that_keeps_the_id() {
    let server = MockServer::start();
    for (id, result) in [
        ("task-none", None),
        ("task-empty", Some(json!({"resources": []}))),
    ] {
        let mut data = json!({"status": "success", "task_id": id});
        if let Some(result) = result {
            data["result"] = result;
        }
        server.default_reply(
            "GET",
            &task_path(id),
            Reply::Json(200, json!({"code": 0, "message": "success", "data": data})),
        );
        let client = fast_client(&server);
        let task = client.task(id).unwrap();
        let err = task.wait().await.unwrap_err();
        assert!(err.is_empty_result(), "{err}");
        assert_eq!(err.kind(), modellix::ErrorKind::EmptyResult);
        assert_eq!(err.task_id(), Some(id));
        assert!(err.to_string().contains("no result files"), "{err}");
        // The stream shows the success, then ends with the same error.
        let updates: Vec<_> = task.updates().collect().await;
        let last = updates.last().unwrap().as_ref().unwrap_err();
        assert!(last.is_empty_result(), "{last}");
        assert!(updates[0].as_ref().unwrap().output.is_none());
    }
}

/// One progress stream over many tasks: every status change of each, merged, each
/// with its task; it ends when every task has ended (here: one success, one failure).
#[tokio::test(start_paused = true)]
async fn one_progress_stream_covers_many_tasks() {
    let server = MockServer::start();
    server.script(
        "GET",
        &task_path("task-a"),
        [status("task-a", "processing")],
    );
    server.default_reply("GET", &task_path("task-a"), succeeded("task-a"));
    server.default_reply(
        "GET",
        &task_path("task-b"),
        Reply::Json(
            200,
            json!({"code": 0, "message": "success", "data": {
                "status": "failed", "task_id": "task-b", "error": {"message": "no"}
            }}),
        ),
    );
    let client = fast_client(&server);
    let tasks = [
        client.task("task-a").unwrap(),
        client.task("task-b").unwrap(),
    ];
    let seen: Vec<(String, Result<TaskStatus, bool>)> = modellix::TaskHandle::updates_all(&tasks)
        .map(|(task, update)| {
            (
                task.id().to_owned(),
                update.map(|u| u.status).map_err(|e| e.is_task_failed()),
            )
        })
        .collect()
        .await;
    let of = |id: &str| -> Vec<Result<TaskStatus, bool>> {
        seen.iter()
            .filter(|(t, _)| t == id)
            .map(|(_, u)| u.clone())
            .collect()
    };
    assert_eq!(
        of("task-a"),
        [Ok(TaskStatus::Processing), Ok(TaskStatus::Success)]
    );
    assert_eq!(of("task-b"), [Ok(TaskStatus::Failed), Err(true)]);
}

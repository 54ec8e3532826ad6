//! Issue 13: a paid task is sent once and never lost. One regression test per item,
//! each against a server on 127.0.0.1, written against the failure the item describes.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use modellix::{Backoff, Client, EntryQuery, Error, MemoryLedger, Outcome, SqliteLedger};
use serde_json::json;
use support::*;

/// Item 1: a 307 or 308 to a submit is an unknown outcome after exactly one POST, and
/// the key goes nowhere else.
#[tokio::test]
async fn a_redirected_submit_is_sent_once_and_reported_unknown() {
    for status in [301, 302, 303, 307, 308] {
        let server = MockServer::start();
        let elsewhere = format!("{}/api/v1/elsewhere?token=abc", server.url());
        server.script(
            "POST",
            SUBMIT,
            [Reply::Raw {
                status,
                headers: vec![("location".into(), elsewhere)],
                body: Vec::new(),
            }],
        );
        server.default_reply("POST", "/api/v1/elsewhere?token=abc", submitted("task-2nd"));
        let client = client(&server);
        let err = client.submit(&request()).await.unwrap_err();
        assert!(err.is_outcome_unknown(), "{status}: {err}");
        assert_eq!(err.status(), Some(status));
        assert!(err.to_string().contains("redirect"), "{err}");
        assert!(!err.to_string().contains("token=abc"), "query shown: {err}");
        assert_eq!(
            server.request_count(),
            1,
            "{status}: one request on the wire"
        );
        let open = client.recover().await.unwrap();
        assert!(
            matches!(open[0].outcome, Outcome::Unknown { .. }),
            "{:?}",
            open[0].outcome
        );
    }
}

/// Item 2: dropping the submit future after the POST went out loses nothing: the
/// ledger gets the task id and the hook runs.
#[tokio::test]
async fn a_dropped_submit_future_still_records_the_task() {
    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [Reply::Delayed(
            Duration::from_millis(400),
            Box::new(submitted("task-dropped")),
        )],
    );
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let seen = hooked.clone();
    let client = client_builder(&server)
        .on_submitted(move |entry| {
            let seen = seen.clone();
            async move {
                // Async work (a database write) is awaited before the submit ends.
                tokio::time::sleep(Duration::from_millis(10)).await;
                seen.lock()
                    .unwrap()
                    .push(entry.task_id().unwrap_or_default().to_owned());
            }
        })
        .build()
        .unwrap();
    let timed_out =
        tokio::time::timeout(Duration::from_millis(100), client.submit(&request())).await;
    assert!(timed_out.is_err(), "the caller gave up first");
    // The spawned submit finishes on its own.
    for _ in 0..100 {
        if !hooked.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*hooked.lock().unwrap(), ["task-dropped"]);
    let open = client.recover().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].task_id(), Some("task-dropped"));
    assert!(
        open[0].next_step().contains("resume"),
        "{}",
        open[0].next_step()
    );
    assert_eq!(server.count("POST", SUBMIT), 1);
}

/// Item 3: the hook runs for an unknown outcome whose answer showed an id, and a panic
/// in it neither unwinds into the submit nor loses the record.
#[tokio::test]
async fn the_hook_sees_unknown_outcomes_with_an_id_and_may_panic() {
    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [
            Reply::Raw {
                status: 502,
                headers: vec![],
                body: br#"{"code":502,"data":{"task_id":"task-maybe"}"#.to_vec(),
            },
            submitted("task-panic"),
        ],
    );
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let seen = hooked.clone();
    let client = client_builder(&server)
        .on_submitted(move |entry| {
            seen.lock().unwrap().push(entry.outcome.clone());
            let panics = entry.task_id() == Some("task-panic");
            async move {
                assert!(!panics, "a bug in user code");
            }
        })
        .build()
        .unwrap();
    let err = client.submit(&request()).await.unwrap_err();
    assert!(err.is_outcome_unknown());
    assert_eq!(err.task_id(), Some("task-maybe"));
    assert_eq!(err.status(), Some(502));
    let task = client.submit(&request()).await.unwrap();
    assert_eq!(task.id(), "task-panic");
    let hooked = hooked.lock().unwrap().clone();
    assert!(matches!(&hooked[0], Outcome::Unknown { task_id: Some(id), .. } if id == "task-maybe"));
    assert!(matches!(&hooked[1], Outcome::Accepted { task_id } if task_id == "task-panic"));
    let open = client.recover().await.unwrap();
    let ids: Vec<_> = open.iter().filter_map(|e| e.task_id()).collect();
    assert_eq!(ids, ["task-panic", "task-maybe"]);
}

/// Item 4: a key with a multi-byte character among its first bytes is refused, with
/// no panic and no trace of the key.
#[test]
fn a_multibyte_key_is_refused_without_panic_or_echo() {
    for key in [
        "sk-abcé-0123456789",
        "éééé-secret",
        "Beaéer-secret-1",
        "bearer\u{e9}x-secret",
    ] {
        let result =
            std::panic::catch_unwind(|| Client::builder().memory_ledger().api_key(key).build());
        let err = result.expect("no panic").unwrap_err();
        assert_eq!(err.field, "api_key");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(!err.to_string().contains(key), "{err}");
    }
}

/// Item 5: one `Retry-After: 3600` on a status query pauses the client for at most
/// the configured cap (60 s by default), not an hour.
#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_on_a_query_does_not_block_submits_for_an_hour() {
    let server = MockServer::start();
    let path = task_path("task-q");
    server.script(
        "GET",
        &path,
        [Reply::Raw {
            status: 429,
            headers: vec![("retry-after".into(), "3600".into())],
            body: serde_json::to_vec(&error_envelope(429, "Rate limit exceeded: slow down"))
                .unwrap(),
        }],
    );
    server.script("POST", SUBMIT, [submitted("task-next")]);
    let client = client(&server);
    let err = client.task("task-q").unwrap().status().await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    let start = tokio::time::Instant::now();
    client.submit(&request()).await.unwrap();
    let waited = start.elapsed();
    assert!(
        waited <= Duration::from_secs(61) && waited >= Duration::from_secs(59),
        "{waited:?}"
    );
    // A shorter cap is honoured too.
    let server = MockServer::start();
    server.script(
        "GET",
        &path,
        [Reply::Raw {
            status: 429,
            headers: vec![("retry-after".into(), "3600".into())],
            body: Vec::new(),
        }],
    );
    server.script("POST", SUBMIT, [submitted("task-next")]);
    let client = client_builder(&server)
        .max_rate_limit_pause(Duration::from_secs(5))
        .build()
        .unwrap();
    let _ = client.task("task-q").unwrap().status().await;
    let start = tokio::time::Instant::now();
    client.submit(&request()).await.unwrap();
    assert!(
        start.elapsed() <= Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
}

/// Item 8: sending a large body on a slow uplink is not bounded by the answer
/// timeout; only a stalled answer after the body is.
#[tokio::test]
async fn a_slow_upload_is_not_an_unknown_outcome() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(0usize));
    let count = received.clone();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        // Read about 1 MiB a second: a 2.5 MiB body takes over 2 s.
        let mut buf = vec![0u8; 64 * 1024];
        let mut head = Vec::new();
        let mut total = 0usize;
        let mut length = None;
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n.min(4096)]);
            total += n;
            if length.is_none()
                && let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n")
            {
                let text = String::from_utf8_lossy(&head[..end]).to_lowercase();
                let len: usize = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                length = Some(end + 4 + len);
            }
            if length.is_some_and(|l| total >= l) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        *count.lock().unwrap() = total;
        let body =
            br#"{"code":0,"message":"success","data":{"status":"pending","task_id":"task-slow"}}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(answer.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
    });
    let client = Client::builder()
        .memory_ledger()
        .api_key(KEY)
        .base_url(format!("http://{addr}"))
        .timeout(Duration::from_secs(1))
        .send_timeout(Duration::from_secs(1), 256 * 1024)
        .requests_per_minute(None)
        .build()
        .unwrap();
    let body = json!({"prompt": "x".repeat(5 * 512 * 1024)});
    let unchecked = modellix::SubmitOptions::new().skip_schema_check();
    let task = client
        .submit_json_with("acme/big-model", &body, unchecked)
        .await;
    assert_eq!(task.unwrap().id(), "task-slow");
    assert!(*received.lock().unwrap() > 2 * 1024 * 1024);
}

/// Item 8, the other side: an answer that never comes after the body was sent ends as
/// unknown within the answer timeout, with its reason.
#[tokio::test]
async fn a_silent_server_after_the_body_is_unknown_within_the_answer_timeout() {
    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [Reply::Delayed(
            Duration::from_secs(3),
            Box::new(submitted("task-late")),
        )],
    );
    let client = client_builder(&server)
        .timeout(Duration::from_millis(300))
        .send_timeout(Duration::from_secs(5), 1024)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.submit(&request()).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(err.to_string().contains("after the body was sent"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Item 10: configuration errors do not repeat a key pasted into the base URL, and a
/// server that echoes the key does not get it into an error.
#[tokio::test]
async fn keys_in_urls_and_in_server_text_are_redacted() {
    let err = Client::builder()
        .memory_ledger()
        .api_key(KEY)
        .base_url(format!("https://api.example.com/?key={KEY}"))
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains(KEY), "{err}");
    let err = Client::builder()
        .memory_ledger()
        .api_key(KEY)
        .base_url(format!("ftp://user:{KEY}@api.example.com/"))
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains(KEY), "{err}");

    let server = MockServer::start();
    let echo = format!("Bad request: header was Authorization: Bearer {KEY}");
    server.script(
        "POST",
        SUBMIT,
        [Reply::Json(400, error_envelope(400, &echo))],
    );
    let path = task_path("task-e");
    server.script(
        "GET",
        &path,
        [Reply::Raw {
            status: 401,
            headers: vec![],
            body: format!("<html>denied for key {KEY}</html>").into_bytes(),
        }],
    );
    let client = client(&server);
    let err = client.submit(&request()).await.unwrap_err();
    assert!(err.is_rejected());
    assert!(!format!("{err} {err:?}").contains(KEY), "{err}");
    let err = client.task("task-e").unwrap().status().await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(KEY), "{err}");
    for entry in client.history(0).await.unwrap() {
        assert!(!format!("{entry:?}").contains(KEY));
    }
}

/// Item 11: an update stream nobody reads sends nothing and buffers nothing.
#[tokio::test]
async fn an_unread_update_stream_sends_no_queries() {
    let server = MockServer::start();
    let path = task_path("task-u");
    server.default_reply("GET", &path, status("task-u", "processing"));
    let client = client_builder(&server)
        .poll_schedule(Backoff::fixed(Duration::from_millis(10)))
        .build()
        .unwrap();
    let task = client.task("task-u").unwrap();
    let updates = task.updates();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.count("GET", &path), 0);
    drop(updates);
}

/// The ledger itself: an intent is on disk before the POST, a second process sees it,
/// and an intent whose process died before the outcome reads as open and unknown.
#[tokio::test]
async fn the_sqlite_ledger_is_durable_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("ledger.sqlite3");
    let server = MockServer::start();
    server.script("POST", SUBMIT, [submitted("task-disk")]);
    server.script(
        "POST",
        "/api/v1/acme/other",
        [Reply::Json(
            402,
            error_envelope(402, "Insufficient balance: top up"),
        )],
    );
    let client = client_builder(&server).ledger_path(&path).build().unwrap();
    let task = client
        .submit_with(&request(), modellix::SubmitOptions::new().marker("job-1"))
        .await
        .unwrap();
    let rejected = client
        .submit_json_with(
            "acme/other",
            &json!({"prompt": "p"}),
            modellix::SubmitOptions::new().skip_schema_check(),
        )
        .await;
    assert!(rejected.unwrap_err().is_rejected());

    // Another handle on the same file (as another process would open it).
    let other = Client::builder()
        .api_key(KEY)
        .base_url(server.url())
        .ledger(SqliteLedger::open(&path).unwrap())
        .build()
        .unwrap();
    let found = other
        .ledger()
        .entries(&EntryQuery::marker("job-1"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].task_id(), Some(task.id()));
    assert_eq!(found[0].intent.model_id, "bytedance/seedance-2.0-v2v");
    assert!(found[0].intent.body_digest.starts_with("sha256:"));
    let open = other.recover().await.unwrap();
    assert_eq!(open.len(), 1, "the rejection is closed: {open:?}");

    // An intent without outcome (its process died) is open and says what to do.
    let ledger = SqliteLedger::open(&path).unwrap();
    use modellix::TaskLedger;
    let id = ledger
        .record_intent(&modellix::Intent::new("acme/crashed", b"{}", "gone"))
        .await
        .unwrap();
    let open = other.recover().await.unwrap();
    let crashed = open.iter().find(|e| e.id == id).unwrap();
    assert_eq!(crashed.outcome, Outcome::InFlight);
    assert!(crashed.next_step().contains("Check the Modellix console"));
    ledger.dismiss(id).await.unwrap();
    assert_eq!(other.recover().await.unwrap().len(), 1);

    // The wait records the end: nothing is open any more.
    server.default_reply("GET", &task_path("task-disk"), succeeded("task-disk"));
    let fast = client_builder(&server)
        .ledger_path(&path)
        .poll_schedule(Backoff::fixed(Duration::from_millis(10)))
        .build()
        .unwrap();
    fast.task(task.id()).unwrap().wait().await.unwrap();
    assert!(other.recover().await.unwrap().is_empty());
    // Resumed by id, the wait never saw the task running: it has no run time to teach
    // (the learning schedule learns only what a wait observed).
    let runs = ledger.runs(10).await.unwrap();
    assert!(runs.is_empty(), "{runs:?}");
}

/// The memory ledger (chosen explicitly: the default is the durable file, see
/// tests/default_ledger.rs) behaves the same within a process.
#[tokio::test]
async fn the_memory_ledger_records_within_the_process() {
    let server = MockServer::start();
    server.script("POST", SUBMIT, [Reply::Reset]);
    let client = client_builder(&server)
        .ledger(MemoryLedger::new())
        .build()
        .unwrap();
    let err = client.submit(&request()).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
    let open = client.recover().await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(matches!(
        open[0].outcome,
        Outcome::Unknown { task_id: None, .. }
    ));
    assert!(open[0].next_step().contains("console"));
}

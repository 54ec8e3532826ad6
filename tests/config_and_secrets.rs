//! Client settings are checked up front, and the API key never leaks.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modellix::{Backoff, Client, WaitOptions};
use support::*;

#[test]
fn base_urls_follow_the_rules() {
    let table = [
        ("https://api.modellix.ai", true),
        ("https://proxy.example.com/modellix/", true),
        ("http://localhost:8080", true),
        ("http://127.0.0.1:3000", true),
        ("http://[::1]:3000", true),
        ("http://api.modellix.ai", false),
        ("http://10.0.0.1", false),
        ("ftp://api.modellix.ai", false),
        ("https://user:pw@api.modellix.ai", false),
        ("https://api.modellix.ai/?x=1", false),
        ("https://api.modellix.ai/#frag", false),
        ("api.modellix.ai", false),
        ("", false),
    ];
    for (url, ok) in table {
        let result = Client::builder()
            .memory_ledger()
            .api_key(KEY)
            .base_url(url)
            .build();
        assert_eq!(result.is_ok(), ok, "{url}: {result:?}");
        if let Err(e) = result {
            assert_eq!(e.field, "base_url");
            assert!(!e.problem.is_empty());
        }
    }
}

#[test]
fn missing_or_malformed_keys_fail_at_construction_without_echoing_the_key() {
    let missing = Client::builder().memory_ledger().build().unwrap_err();
    assert_eq!(missing.field, "api_key");
    let table = [
        ("", "empty"),
        ("   ", "empty"),
        ("Bearer sk-secret-123", "Bearer"),
        ("sk-secret-123\n", "white space"),
        ("sk-sec ret-123", "white space"),
        ("sk-secret-é23", "non-ASCII"),
    ];
    for (key, want) in table {
        let err = Client::builder()
            .memory_ledger()
            .api_key(key)
            .build()
            .unwrap_err();
        assert_eq!(err.field, "api_key", "{key:?}");
        assert!(err.problem.contains(want), "{key:?}: {}", err.problem);
        if key.trim().len() > 3 {
            assert!(
                !err.to_string().contains(key.trim()),
                "the key is echoed: {err}"
            );
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }
}

#[test]
fn from_env_names_the_missing_variable() {
    // SAFETY: this test binary's only env access is in this test.
    unsafe { std::env::remove_var("MODELLIX_API_KEY") };
    let err = Client::from_env().unwrap_err();
    assert_eq!(err.field, "MODELLIX_API_KEY");
    assert!(err.problem.contains("export MODELLIX_API_KEY"));
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_key_is_absent_from_debug_errors_and_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [
            submitted("task-k"),
            Reply::Json(401, error_envelope(401, "Unauthorized: invalid key")),
            Reply::Reset,
        ],
    );
    server.script(
        "GET",
        &task_path("task-k"),
        [
            Reply::Json(503, error_envelope(503, "Unavailable: x")),
            status("task-k", "processing"),
        ],
    );
    server.default_reply("GET", &task_path("task-k"), status("task-k", "processing"));
    let builder = client_builder(&server)
        .poll_schedule(Backoff::fixed(Duration::from_secs(5)))
        .wait_options(WaitOptions::deadline(Duration::from_secs(20)));
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();

    let mut texts = vec![builder_debug, format!("{client:?}")];
    let task = client.submit(&request()).await.unwrap();
    texts.push(format!("{task:?}"));
    for result in [
        client.submit(&request()).await,
        client.submit(&request()).await,
    ] {
        let err = result.unwrap_err();
        texts.push(format!("{err}"));
        texts.push(format!("{err:?}"));
    }
    let err = task.wait().await.unwrap_err();
    assert!(err.is_timeout());
    texts.push(format!("{err}"));
    texts.push(format!("{err:?}"));
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("task-k"),
        "the logs say what happened: {logs}"
    );
    texts.push(logs);

    // The key really was sent, to the API origin only.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {KEY}")))
    );
    for text in texts {
        assert!(!text.contains(KEY), "key leaked in: {text}");
        assert!(!text.contains("0123456789abcdef"), "key leaked in: {text}");
    }
}

/// A ledger path that is a URL of a database this build has no ledger for is refused
/// by name (before: `postgres:` and `u:pw@db` folders appeared in the working
/// directory, with a SQLite file inside), and the password is not echoed.
#[test]
fn a_ledger_url_is_refused_by_scheme_not_made_into_folders() {
    let postgres = "postgres://u:pw-secret@db.internal/ledger";
    if cfg!(feature = "postgres") {
        // This build has a PostgreSQL ledger: the URL is taken (connecting on first
        // use), still without a folder, and the client's Debug hides the password.
        let client = Client::builder()
            .api_key(KEY)
            .ledger_path(postgres)
            .build()
            .unwrap();
        assert!(!std::path::Path::new("postgres:").exists());
        assert!(!format!("{client:?}").contains("pw-secret"));
    }
    let refused = [
        (postgres, "`postgres` feature"),
        ("mysql://db.internal/ledger", "`mysql` feature"),
        ("redis://db.internal/0", "redis://"),
    ];
    let skip = usize::from(cfg!(feature = "postgres"));
    for (url, needle) in refused.into_iter().skip(skip) {
        let scheme_dir = std::path::Path::new(url.split_once("//").unwrap().0);
        let err = Client::builder()
            .api_key(KEY)
            .ledger_path(url)
            .build()
            .unwrap_err();
        let created = scheme_dir.exists();
        if created {
            let _ = std::fs::remove_dir_all(scheme_dir);
        }
        assert!(!created, "{url}: a folder {scheme_dir:?} was created");
        assert_eq!(err.field, "ledger_path");
        let text = err.to_string();
        for want in [needle, "SQLite", "file"] {
            assert!(text.contains(want), "{want}: {text}");
        }
        assert!(!text.contains("pw-secret"), "{text}");
    }
}

/// The running-task limit is a setting (Modellix says it in no header): the lowest
/// tier's 2 unless told, and 0 is refused with the field named.
#[test]
fn the_running_task_limit_defaults_to_the_lowest_tier() {
    let builder = || modellix::Client::builder().api_key("sk-test-0123456789abcdef");
    assert_eq!(builder().build().unwrap().running_task_limit(), 2);
    assert_eq!(
        builder()
            .running_task_limit(20)
            .build()
            .unwrap()
            .running_task_limit(),
        20
    );
    let err = builder().running_task_limit(0).build().unwrap_err();
    assert_eq!(err.field, "running_task_limit");
    assert!(err.to_string().contains("running_task_limit(2)"), "{err}");
    assert!(!err.to_string().contains("0123456789"), "{err}");
    assert_eq!(
        modellix::TIERS
            .iter()
            .map(|t| t.running_tasks)
            .collect::<Vec<_>>(),
        [2, 10, 20, 30, 50, 100]
    );
}

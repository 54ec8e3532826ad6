//! One error type from request building to download (issue 15): `?` works at every
//! step into `modellix::Error`, and a reporter walking `source()` never prints a line
//! twice.

mod support;

use std::time::Duration;

use modellix::types::Seedance20V2vRequest;
use modellix::{Backoff, DownloadOptions, Downloader, Error, ErrorKind};
use modellix_sandbox::Sandbox;

/// The whole flow, each step with `?` into `modellix::Error`.
async fn flow(client: &modellix::Client, dir: &std::path::Path) -> Result<usize, Error> {
    let request = Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()?;
    let task = client.submit(&request).await?;
    let output = task.wait().await?;
    let downloader = Downloader::new(
        DownloadOptions::default()
            .allow_http(true)
            .allow_private_hosts(true),
    )?;
    Ok(output.download_all(&downloader, dir).await?.len())
}

#[tokio::test]
async fn question_mark_works_from_build_to_download() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = modellix::Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll_schedule(Backoff::fixed(Duration::from_millis(10)))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(flow(&client, dir.path()).await.unwrap(), 1);
    // Downloading into a file where a folder should be: a download error, as `Error`.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = flow(&client, &file).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Download, "{err}");
    assert!(err.task_id().is_some());
}

/// Walks the chain as anyhow and eyre do.
fn chain(e: &dyn std::error::Error) -> Vec<String> {
    let mut lines = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        lines.push(s.to_string());
        source = s.source();
    }
    lines
}

#[tokio::test]
async fn no_error_prints_its_text_twice() {
    let server = support::MockServer::start();
    let client = support::client(&server);
    let mut bad = support::request();
    bad.video_urls.clear();
    let errors = vec![
        client.submit(&bad).await.unwrap_err(),
        Error::from(
            modellix::Client::builder()
                .memory_ledger()
                .api_key("")
                .build()
                .unwrap_err(),
        ),
        Error::from(
            modellix::Image::from_path("/definitely/missing.png")
                .await
                .unwrap_err(),
        ),
    ];
    for err in errors {
        let lines = chain(&err);
        for (i, line) in lines.iter().enumerate() {
            for later in &lines[i + 1..] {
                assert!(!line.contains(later.as_str()), "repeated in {lines:?}");
            }
        }
    }
}

/// A `Retry-After` header on every answer (as some gateways send) is only mentioned
/// where another try can help: never on 401, 403 or 404.
#[tokio::test]
async fn only_retryable_answers_mention_a_retry() {
    let server = support::MockServer::start();
    for status in [401u16, 403, 404, 503, 429] {
        let path = support::task_path(&format!("task-{status}"));
        server.script(
            "GET",
            &path,
            [support::Reply::Raw {
                status,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("retry-after".into(), "7".into()),
                ],
                body: serde_json::to_vec(&support::error_envelope(status, "Refused: no")).unwrap(),
            }],
        );
    }
    let client = support::client(&server);
    for status in [401u16, 403, 404, 503, 429] {
        let task = client.task(format!("task-{status}")).unwrap();
        let err = task.status().await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err}");
        let text = err.to_string();
        let retryable = matches!(status, 429 | 503);
        assert_eq!(
            text.contains("retry after 7 s"),
            retryable,
            "HTTP {status}: {text}"
        );
        assert_eq!(err.is_retryable(), retryable, "HTTP {status}: {text}");
    }
}

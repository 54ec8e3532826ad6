//! Uploads against the sandbox over real HTTP: a local MP4 goes into a V2V request and
//! comes back as a result; Modellix's limits hold on both sides.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use modellix::types::Seedance20V2vRequest;
use modellix::{Backoff, Client, DownloadOptions, Downloader, Error, UploadOptions};
use modellix_sandbox::{MAX_FILES, SAMPLE_MP4, Sandbox};
use support::{MockServer, Reply};

mod support;

const FILES: &str = "/api/v1/media/files";

fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll_schedule(Backoff::fixed(Duration::from_millis(20)))
        .requests_per_minute(None)
        .build()
        .unwrap()
}

/// A file in a fresh temporary directory.
fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// An MP4 of `len` bytes: the sample's header, then filler (only the magic matters).
fn mp4_of(len: usize) -> Vec<u8> {
    let mut bytes = SAMPLE_MP4.to_vec();
    bytes.resize(len, 0x5a);
    bytes
}

#[tokio::test]
async fn local_mp4_upload_v2v_submit_wait_download() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    // Larger than one read piece, so progress is reported several times.
    let source = mp4_of(300 * 1024 + 17);
    let (_dir, path) = file("my clip.mp4", &source);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = seen.clone();
    let options = UploadOptions::new().on_progress(move |p| progress.lock().unwrap().push(p));
    let upload = client.upload_with(&path, options).await.unwrap();
    assert_eq!(upload.size, source.len() as u64);
    assert_eq!(upload.media_type.as_deref(), Some("video"));
    assert_eq!(upload.filename.as_deref(), Some("my_clip.mp4"));
    let created = upload.created_at.expect("the sandbox says when");
    assert_eq!(upload.expires_at, created + modellix::FILE_LIFETIME);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 5, "{} progress reports", seen.len());
    assert!(seen.windows(2).all(|w| w[0].sent < w[1].sent));
    assert_eq!(
        seen.last().map(|p| (p.sent, p.total)),
        Some((source.len() as u64, source.len() as u64))
    );

    // The server holds exactly the bytes of the file, with the type judged from them.
    let stored = sandbox.uploads();
    assert_eq!(stored.len(), 1);
    assert_eq!(&stored[0].bytes[..], &source[..]);
    assert_eq!(stored[0].content_type, "video/mp4");
    assert_eq!(sandbox.counts().uploads, 1);

    let request = Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(vec![upload.url.clone()])
        .build()
        .unwrap();
    let task = client.submit(&request).await.unwrap();
    let output = task.wait().await.unwrap();
    let record = sandbox.task(task.id()).unwrap();
    assert_eq!(record.body["video_urls"][0], upload.url.as_str());

    // What the task points at is served back: the uploaded bytes.
    let fetched = reqwest::get(&upload.url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&fetched[..], &source[..]);

    let out = tempfile::tempdir().unwrap();
    let downloader = Downloader::new(
        DownloadOptions::default()
            .allow_http(true)
            .allow_private_hosts(true),
    )
    .unwrap();
    let saved = output.download_all(&downloader, out.path()).await.unwrap();
    assert_eq!(std::fs::read(&saved[0].path).unwrap(), SAMPLE_MP4);

    // Clean-up frees the quota; a second delete is a typed not-found.
    client.delete_file(&upload.file_id).await.unwrap();
    assert!(sandbox.uploads().is_empty());
    let again = client.delete_file(&upload.file_id).await.unwrap_err();
    assert!(matches!(again, Error::FileNotFound { .. }), "{again:?}");
    assert!(again.is_not_found());
}

#[tokio::test]
async fn seventeen_megabytes_are_refused_before_any_request() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let (_dir, path) = file("big.mp4", &mp4_of(17 * 1024 * 1024));
    let err = client.upload(&path).await.unwrap_err();
    assert!(matches!(err, Error::LocalFile { .. }), "{err:?}");
    assert!(err.is_invalid_input());
    assert!(err.to_string().contains("16 MB"), "{err}");
    assert_eq!(sandbox.counts().total, 0);
    assert_eq!(sandbox.counts().uploads, 0);

    // Exactly at the limit passes.
    let (_dir, path) = file("edge.mp4", &mp4_of(modellix::MAX_UPLOAD_BYTES as usize));
    client.upload(&path).await.unwrap();
    assert_eq!(sandbox.counts().uploads, 1);
}

#[tokio::test]
async fn unknown_content_and_missing_files_are_refused_before_sending() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    // The name says MP4; the content says PDF.
    let (_dir, path) = file("fake.mp4", b"%PDF-1.7 not a video at all");
    let err = client.upload(&path).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("not a known image, video or audio"),
        "{err}"
    );
    let (_dir, path) = file("empty.png", b"");
    assert!(client.upload(&path).await.unwrap_err().is_invalid_input());
    let err = client.upload("/nonexistent/file.png").await.unwrap_err();
    assert!(matches!(err, Error::LocalFile { .. }), "{err:?}");
    assert_eq!(sandbox.counts().total, 0);

    // A PNG named .bin is still a PNG.
    let (_dir, path) = file("frame.bin", modellix_sandbox::SAMPLE_PNG);
    let upload = client.upload(&path).await.unwrap();
    assert_eq!(upload.media_type.as_deref(), Some("image"));
    assert_eq!(sandbox.uploads()[0].content_type, "image/png");
}

#[tokio::test]
async fn the_eleventh_upload_gets_the_quota_error_and_deleting_frees_it() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let (_dir, path) = file("a.png", modellix_sandbox::SAMPLE_PNG);
    let mut ids = Vec::new();
    for _ in 0..MAX_FILES {
        ids.push(client.upload(&path).await.unwrap().file_id);
    }
    let err = client.upload(&path).await.unwrap_err();
    assert!(matches!(err, Error::UploadQuota { .. }), "{err:?}");
    assert!(err.is_quota_exceeded());
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("delete_file"), "{err}");
    assert_eq!(sandbox.counts().uploads, MAX_FILES as u64 + 1);

    let listed = client.list_files(100).await.unwrap();
    assert_eq!(listed.len(), MAX_FILES);
    assert!(ids.iter().all(|id| listed.iter().any(|f| &f.file_id == id)));
    assert_eq!(client.list_files(3).await.unwrap().len(), 3);

    client.delete_file(&ids[0]).await.unwrap();
    client.upload(&path).await.unwrap();
}

#[tokio::test]
async fn an_upload_lost_after_sending_says_to_list_and_is_not_retried() {
    let server = MockServer::start();
    server.script("POST", FILES, [Reply::Reset]);
    let client = support::client(&server);
    let (_dir, path) = file("a.png", modellix_sandbox::SAMPLE_PNG);
    let err = client.upload(&path).await.unwrap_err();
    assert!(err.is_upload_unknown(), "{err:?}");
    assert!(err.to_string().contains("list_files"), "{err}");
    assert_eq!(server.count("POST", FILES), 1);
    // The body arrived whole, as multipart with the sniffed type.
    let sent = &server.requests()[0];
    let content_type = sent.header("content-type").unwrap();
    assert!(content_type.starts_with("multipart/form-data; boundary="));
    assert!(sent.header("authorization").is_some());
    let text = String::from_utf8_lossy(&sent.body);
    assert!(text.contains("name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png"));
}

#[tokio::test]
async fn upload_answers_are_classified_by_what_they_prove() {
    let server = MockServer::start();
    server.script(
        "POST",
        FILES,
        [
            Reply::Json(502, support::error_envelope(502, "Bad gateway: upstream")),
            Reply::Json(
                413,
                support::error_envelope(413, "Payload too large: 16 MB"),
            ),
            Reply::Json(
                200,
                serde_json::json!({"code": 0, "message": "success", "data": {"url": "x"}}),
            ),
            Reply::Json(
                429,
                support::error_envelope(429, "Rate limit exceeded: slow down"),
            ),
        ],
    );
    let client = support::client_builder(&server)
        .requests_per_minute(None)
        .max_rate_limit_pause(Duration::ZERO)
        .build()
        .unwrap();
    let (_dir, path) = file("a.png", modellix_sandbox::SAMPLE_PNG);
    let err = client.upload(&path).await.unwrap_err();
    assert!(
        err.is_upload_unknown() && err.status() == Some(502),
        "{err:?}"
    );
    let err = client.upload(&path).await.unwrap_err();
    assert!(
        matches!(err, Error::Endpoint { .. }) && err.status() == Some(413),
        "{err:?}"
    );
    let err = client.upload(&path).await.unwrap_err();
    assert!(err.is_upload_unknown(), "a 200 without file_id: {err:?}");
    let err = client.upload(&path).await.unwrap_err();
    assert!(
        !err.is_quota_exceeded() && err.status() == Some(429),
        "{err:?}"
    );
    assert_eq!(server.count("POST", FILES), 4);
}

#[tokio::test]
async fn local_file_urls_in_a_json_body_become_uploads() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let (dir, path) = file("in.mp4", &mp4_of(4096));
    let url = url_of(&path);
    let mut body = serde_json::json!({
        "prompt": "Extend [Video 1] and [Video 2]",
        "video_urls": [url, url],
    });
    let uploads = client.upload_local_files(&mut body).await.unwrap();
    assert_eq!(uploads.len(), 1, "the same file is uploaded once");
    assert_eq!(body["video_urls"][0], uploads[0].url.as_str());
    assert_eq!(body["video_urls"][1], uploads[0].url.as_str());
    let task = client
        .submit_json("bytedance/seedance-2.0-v2v", &body)
        .await
        .unwrap();
    task.wait().await.unwrap();
    client.delete_files(&uploads).await.unwrap();
    assert!(sandbox.uploads().is_empty());

    // A missing file: nothing is left behind.
    let good = url_of(&path);
    let missing = url_of(&dir.path().join("missing.mp4"));
    let mut body = serde_json::json!({"video_urls": [good, missing]});
    let err = client.upload_local_files(&mut body).await.unwrap_err();
    assert!(matches!(err, Error::LocalFile { .. }), "{err:?}");
    assert!(sandbox.uploads().is_empty());
}

fn url_of(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

/// Opening a named pipe blocks until a writer comes: the type is judged first, so the
/// upload is refused at once, with nothing sent. (Before, `open` never returned.)
#[cfg(unix)]
#[tokio::test]
async fn a_named_pipe_is_refused_before_it_is_opened() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("clip.mp4");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Bounded so that the old behaviour fails the test instead of hanging it; the
    // refusal itself needs no time at all.
    let Ok(answer) = tokio::time::timeout(Duration::from_secs(30), client.upload(&fifo)).await
    else {
        // Release the blocked `open` (a writer comes), so the test ends instead of hanging.
        let _writer = std::fs::OpenOptions::new().write(true).open(&fifo);
        panic!("the upload blocked in open");
    };
    let error = answer.unwrap_err();
    assert!(matches!(error, Error::LocalFile { .. }), "{error:?}");
    assert!(error.to_string().contains("named pipe"), "{error}");
    assert_eq!(sandbox.counts().uploads, 0);
    let dir_error = client.upload(dir.path()).await.unwrap_err();
    assert!(dir_error.to_string().contains("a directory"), "{dir_error}");
}

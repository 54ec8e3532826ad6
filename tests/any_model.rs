//! Any model by slug, offline: a model this build has no fragment for runs end to end
//! against the sandbox over real HTTP (one POST, wait, download), and an upload, a POST
//! that starts no task, never becomes a paid submit.

use std::time::Duration;

use modellix::{Backoff, Client, DownloadOptions, Downloader, Operation};
use modellix_sandbox::{SAMPLE_MP4, SAMPLE_PNG, Sandbox};
use serde_json::json;

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

fn downloader() -> Downloader {
    Downloader::new(
        DownloadOptions::default()
            .allow_http(true)
            .allow_private_hosts(true),
    )
    .unwrap()
}

#[tokio::test]
async fn an_unvendored_slug_is_submitted_once_waited_for_and_downloaded() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let out = tempfile::tempdir().unwrap();
    // No type hint: an image; a `-t2v` slug: a video.
    for (slug, bytes) in [
        ("someprovider/some-model", SAMPLE_PNG),
        ("someprovider/clip-9-t2v", SAMPLE_MP4),
    ] {
        assert!(Operation::for_model(slug).is_none());
        let body = json!({"prompt": "a lighthouse at dawn", "seed": 7});
        let before = sandbox.counts().submits();
        // No schema page for these slugs: sent unchecked on purpose (tests/live_schema.rs
        // has the checked path).
        let unchecked = modellix::SubmitOptions::new().skip_schema_check();
        let task = client
            .submit_json_with(slug, &body, unchecked)
            .await
            .unwrap();
        assert_eq!(sandbox.counts().submits(), before + 1, "{slug}: one POST");
        assert_eq!(sandbox.counts().submit[slug], 1);
        let record = sandbox.task(task.id()).unwrap();
        assert_eq!((record.model_id.as_str(), &record.body), (slug, &body));

        let output = task.wait().await.unwrap();
        let dir = out.path().join(slug.replace('/', "_"));
        std::fs::create_dir(&dir).unwrap();
        let saved = output.download_all(&downloader(), &dir).await.unwrap();
        assert_eq!(saved.len(), 1);
        assert_eq!(std::fs::read(&saved[0].path).unwrap(), bytes);
    }
    assert_eq!(sandbox.counts().submits(), 2);
    assert_eq!(client.history(0).await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_upload_is_a_post_but_no_paid_submit() {
    let upload = modellix::OPERATIONS
        .iter()
        .find(|op| op.method == "POST" && op.path == "/api/v1/media/files")
        .expect("the upload operation is generated");
    assert!(!upload.is_submit());
    assert_eq!((upload.model_id, upload.request_type), (None, None));
    assert!(upload.request_schema_json().is_none());

    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.png");
    std::fs::write(&path, SAMPLE_PNG).unwrap();
    client.upload(&path).await.unwrap();
    assert_eq!(sandbox.counts().uploads, 1);
    assert_eq!(sandbox.counts().submits(), 0);
    // Nothing paid was recorded.
    assert!(client.history(0).await.unwrap().is_empty());
}

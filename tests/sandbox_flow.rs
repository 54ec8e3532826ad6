//! The whole flow against the sandbox: submit, watch, wait, download, resume.

use std::time::Duration;

use futures_util::StreamExt;
use modellix::types::Seedance20V2vRequest;
use modellix::{Backoff, Client, DownloadOptions, Downloader, TaskStatus};
use modellix_sandbox::{Fault, FaultPlan, Route, SAMPLE_MP4, SAMPLE_PNG, Sandbox, Timing};

fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll_schedule(Backoff::fixed(Duration::from_millis(20)))
        .build()
        .unwrap()
}

/// The sandbox serves files from loopback over http: an explicit opt-in.
fn downloader() -> Downloader {
    Downloader::new(
        DownloadOptions::default()
            .allow_http(true)
            .allow_private_hosts(true),
    )
    .unwrap()
}

fn request(last_frame: bool) -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .return_last_frame(last_frame)
        .build()
        .unwrap()
}

#[tokio::test]
async fn submit_watch_wait_and_download_a_playable_video() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 1,
            processing: 2,
        })
        .start()
        .await
        .unwrap();
    let client = client(&sandbox);
    let task = client.submit(&request(true)).await.unwrap();

    let statuses: Vec<TaskStatus> = task.updates().map(|u| u.unwrap().status).collect().await;
    assert_eq!(
        statuses,
        [
            TaskStatus::Pending,
            TaskStatus::Processing,
            TaskStatus::Success
        ]
    );

    let output = task.wait().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = output
        .download_all(&downloader(), dir.path())
        .await
        .unwrap();
    assert_eq!(saved.len(), 2);
    let video = std::fs::read(&saved[0].path).unwrap();
    assert_eq!(video, SAMPLE_MP4);
    assert_eq!(std::fs::read(&saved[1].path).unwrap(), SAMPLE_PNG);
    let name = saved[0]
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(task.id()) && name.ends_with(".mp4"),
        "{name}"
    );

    // A real parser reads the boxes of the saved file.
    let size = video.len() as u64;
    let mp4 = mp4::Mp4Reader::read_header(std::io::Cursor::new(video), size).unwrap();
    assert!(
        mp4.tracks()
            .values()
            .any(|t| t.track_type().ok() == Some(mp4::TrackType::Video))
    );

    let counts = sandbox.counts();
    assert_eq!(counts.submits(), 1);
    assert_eq!(counts.files, 2);
    assert_eq!(sandbox.tasks().len(), 1);
}

#[tokio::test]
async fn the_default_downloader_refuses_the_loopback_result_links() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let output = client.generate(&request(false)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = output
        .download_all(
            &Downloader::new(DownloadOptions::default()).unwrap(),
            dir.path(),
        )
        .await
        .unwrap_err();
    assert!(err.is_refused(), "{err}");
    assert_eq!(err.task_id(), output.task.id());
    assert_eq!(sandbox.counts().files, 0);
}

#[tokio::test]
async fn a_reset_after_the_submit_was_read_is_outcome_unknown_and_the_task_exists() {
    let sandbox = Sandbox::builder()
        .faults(FaultPlan::new().script(Route::Submit, 1, Fault::Reset))
        .start()
        .await
        .unwrap();
    let client = client(&sandbox);
    let err = client.submit(&request(false)).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(sandbox.counts().submits(), 1, "never retried");
    // The server did create it: that is why the client must not resubmit blindly.
    let created = sandbox.tasks();
    assert_eq!(created.len(), 1);
    // Resume by id, as a user would after checking the console.
    let output = client
        .task(&created[0].task_id)
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(output.resources().len(), 1);
}

#[tokio::test]
async fn transient_faults_on_queries_are_absorbed() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 0,
            processing: 1,
        })
        .faults(
            FaultPlan::new()
                .script(Route::Task, 1, Fault::Html502)
                .script(Route::Task, 1, Fault::RetryAfter(1))
                .script(Route::Task, 1, Fault::Reset)
                .script(Route::Task, 1, Fault::UnknownStatus("queued".into()))
                .script(Route::Task, 1, Fault::ExtraFields),
        )
        .start()
        .await
        .unwrap();
    let client = client(&sandbox);
    let task = client.submit(&request(false)).await.unwrap();
    let output = task.wait().await.unwrap();
    assert_eq!(output.task.id(), task.id());
    assert_eq!(sandbox.faults_injected().total(), 5);
}

/// Saved files are private by default (0600) and the mode is configurable; the
/// sandbox's own client and downloader need no setup.
#[cfg(unix)]
#[tokio::test]
async fn saved_files_have_the_configured_mode() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = sandbox.client().unwrap();
    let output = client
        .submit(&request(false))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let private = output
        .download_all(&sandbox.downloader().unwrap(), dir.path())
        .await
        .unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&private[0].path), 0o600);
    let shared = Downloader::new(
        DownloadOptions::default()
            .allow_http(true)
            .allow_private_hosts(true)
            .file_mode(0o640),
    )
    .unwrap();
    let other = tempfile::tempdir().unwrap();
    let saved = output.download_all(&shared, other.path()).await.unwrap();
    assert_eq!(mode(&saved[0].path) & 0o740, 0o640);
}

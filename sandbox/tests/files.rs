//! Result files: real fixtures, Content-Length, Range and resuming a cut download.

mod common;

use common::{http, raw, submit_ok, valid_body};
use modellix_sandbox::{Fault, FaultKind, FaultPlan, Route, SAMPLE_MP4, SAMPLE_PNG, Sandbox};

async fn video_url(sandbox: &Sandbox) -> String {
    let task_id = submit_ok(sandbox, &valid_body()).await;
    format!("{}/files/{task_id}/video.mp4", sandbox.base_url())
}

#[test]
fn fixtures_are_a_real_mp4_and_png() {
    let reader =
        mp4::Mp4Reader::read_header(std::io::Cursor::new(SAMPLE_MP4), SAMPLE_MP4.len() as u64)
            .expect("MP4 boxes parse");
    let track = reader.tracks().values().next().expect("one track");
    assert_eq!((track.width(), track.height()), (160, 90));
    assert!(reader.duration().as_millis() >= 900);
    assert!(
        SAMPLE_MP4.len() < 16 * 1024 && SAMPLE_PNG.len() < 16 * 1024,
        "tiny fixtures"
    );
    assert_eq!(&SAMPLE_PNG[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn whole_file_with_length_and_no_key() {
    let sandbox = Sandbox::start().await.unwrap();
    let url = video_url(&sandbox).await;
    // Like Modellix's signed CDN links, files need no API key.
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "video/mp4");
    assert_eq!(
        headers["content-length"],
        SAMPLE_MP4.len().to_string().as_str()
    );
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(&response.bytes().await.unwrap()[..], SAMPLE_MP4);
    assert_eq!(sandbox.counts().files, 1);
}

#[tokio::test]
async fn range_requests_answer_206_with_content_range() {
    let sandbox = Sandbox::start().await.unwrap();
    let url = video_url(&sandbox).await;
    let len = SAMPLE_MP4.len();

    let response = http()
        .get(&url)
        .header("range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes 1000-{}/{len}", len - 1).as_str()
    );
    assert_eq!(
        response.headers()["content-length"],
        (len - 1000).to_string().as_str()
    );
    assert_eq!(&response.bytes().await.unwrap()[..], &SAMPLE_MP4[1000..]);

    let response = http()
        .get(&url)
        .header("range", "bytes=4-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(&response.bytes().await.unwrap()[..], b"ftyp");

    let past_end = format!("bytes={len}-");
    let response = http()
        .get(&url)
        .header("range", past_end)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 416);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
}

#[tokio::test]
async fn download_cut_mid_body_can_be_resumed_with_a_range() {
    let sandbox = Sandbox::builder()
        .faults(FaultPlan::new().script(Route::Files, 1, Fault::Truncated))
        .start()
        .await
        .unwrap();
    let url = video_url(&sandbox).await;
    let path = url.strip_prefix(sandbox.base_url()).unwrap();

    let cut = raw(&sandbox, "GET", path, "").await;
    assert!(cut.head.starts_with("HTTP/1.1 200"), "{}", cut.head);
    assert_eq!(
        cut.header("content-length"),
        Some(SAMPLE_MP4.len().to_string().as_str())
    );
    assert_eq!(cut.body.len(), SAMPLE_MP4.len() / 2);
    assert_eq!(&cut.body[..], &SAMPLE_MP4[..cut.body.len()]);

    let rest = http()
        .get(&url)
        .header("range", format!("bytes={}-", cut.body.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 206);
    let mut whole = cut.body.clone();
    whole.extend_from_slice(&rest.bytes().await.unwrap());
    assert_eq!(whole, SAMPLE_MP4);
    assert_eq!(sandbox.faults_injected().count(FaultKind::Truncated), 1);
    assert_eq!(sandbox.counts().files, 2);
}

#[tokio::test]
async fn files_of_unknown_tasks_or_names_are_404() {
    let sandbox = Sandbox::start().await.unwrap();
    let url = video_url(&sandbox).await;
    let base = sandbox.base_url();
    for missing in [
        format!("{base}/files/task-nope/video.mp4"),
        url.replace("video.mp4", "other.mp4"),
    ] {
        assert_eq!(http().get(missing).send().await.unwrap().status(), 404);
    }
}

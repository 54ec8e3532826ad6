//! Local files in a JSON body, over real HTTP against the sandbox: a small image goes
//! inline where the model's field takes base64, everything else is uploaded.

use modellix::{Client, MAX_INLINE_BYTES};
use modellix_sandbox::{SAMPLE_MP4, SAMPLE_PNG, Sandbox};
use serde_json::{Value, json};

const MODEL: &str = "bytedance/seedance-2.0-v2v";

fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(None)
        .build()
        .unwrap()
}

/// `bytes` padded with filler to `len` (only the magic matters to the checks).
fn padded(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.resize(len.max(bytes.len()), 0x5a);
    out
}

fn file_url(path: &std::path::Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

#[tokio::test]
async fn small_images_go_inline_where_the_field_takes_base64_the_rest_is_uploaded() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let small = dir.path().join("style.png");
    let big = dir.path().join("big.png");
    std::fs::write(&clip, padded(SAMPLE_MP4, 200 * 1024)).unwrap();
    std::fs::write(&small, SAMPLE_PNG).unwrap();
    let big_bytes = padded(SAMPLE_PNG, MAX_INLINE_BYTES as usize + 1);
    std::fs::write(&big, &big_bytes).unwrap();
    let body = json!({
        "prompt": "Extend [Video 1] in the style of [Image 1] and [Image 2]",
        "video_urls": [file_url(&clip)],
        "reference_images": [file_url(&small), file_url(&big), file_url(&small)],
    });

    let mut filled = body.clone();
    let uploads = client.fill_local_files(MODEL, &mut filled).await.unwrap();
    // The video (a URL-only field) and the big image were uploaded, each once.
    assert_eq!(uploads.len(), 2);
    assert_eq!(sandbox.counts().uploads, 2);
    let stored = sandbox.uploads();
    assert!(stored.iter().any(|f| f.bytes[..] == big_bytes[..]));
    let images = filled["reference_images"].as_array().unwrap();
    let inline = images[0].as_str().unwrap();
    assert!(inline.starts_with("data:image/png;base64,"), "{inline:.40}");
    assert_eq!(images[2], images[0]);
    let url_of = |name: &str| {
        let upload = uploads.iter().find(|u| u.filename.as_deref() == Some(name));
        upload.map(|u| u.url.as_str())
    };
    assert_eq!(images[1].as_str(), url_of("big.png"));
    assert_eq!(filled["video_urls"][0].as_str(), url_of("clip.mp4"));

    // The model takes it: one submit, and the sandbox got the inline image as sent.
    let task = client.submit_json(MODEL, &filled).await.unwrap();
    assert_eq!(sandbox.counts().submits(), 1);
    assert_eq!(sandbox.task(task.id()).unwrap().body, filled);

    // Without a model nothing goes inline.
    let mut uploaded = body.clone();
    let all = client.upload_local_files(&mut uploaded).await.unwrap();
    assert_eq!(all.len(), 3);
    let values: Vec<&Value> = uploaded["reference_images"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(
        values
            .iter()
            .all(|v| v.as_str().unwrap().starts_with("http://"))
    );
    client.delete_files(&uploads).await.unwrap();
    client.delete_files(&all).await.unwrap();
    assert!(sandbox.uploads().is_empty());
}

#[tokio::test]
async fn an_unknown_model_or_a_non_image_is_uploaded() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.png");
    let mp4 = dir.path().join("b.mp4");
    std::fs::write(&png, SAMPLE_PNG).unwrap();
    std::fs::write(&mp4, SAMPLE_MP4).unwrap();
    // A model without a fragment: nothing is known about its fields.
    let mut body = json!({"image": file_url(&png)});
    let uploads = client
        .fill_local_files("acme/pixel-9", &mut body)
        .await
        .unwrap();
    assert_eq!(uploads.len(), 1);
    // A video in a field that takes base64 images is uploaded, not inlined.
    let mut body = json!({"prompt": "[Video 1] [Image 1]", "video_urls": ["https://x/v.mp4"], "reference_images": [file_url(&mp4)]});
    let uploads = client.fill_local_files(MODEL, &mut body).await.unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        body["reference_images"][0].as_str(),
        Some(uploads[0].url.as_str())
    );
    assert_eq!(sandbox.counts().uploads, 2);
    // One image in a field that takes base64 and in one that takes URLs only: inline
    // in the first, uploaded for the second.
    let mut body = json!({"reference_images": [file_url(&png)], "video_urls": [file_url(&png)]});
    let uploads = client.fill_local_files(MODEL, &mut body).await.unwrap();
    assert_eq!(uploads.len(), 1);
    assert!(
        body["reference_images"][0]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    assert_eq!(
        body["video_urls"][0].as_str(),
        Some(uploads[0].url.as_str())
    );
}

#[tokio::test]
async fn bare_paths_in_media_fields_are_local_files_too() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, SAMPLE_MP4).unwrap();
    let clip = clip.to_str().unwrap().to_owned();
    // A bare path in a media field is read; the same text in the prompt is not.
    let mut body = json!({"prompt": clip, "video_urls": [clip]});
    assert_eq!(
        modellix::local_file_pointers(MODEL, &body),
        ["/video_urls/0"]
    );
    let uploads = client.fill_local_files(MODEL, &mut body).await.unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        body["video_urls"][0].as_str(),
        Some(uploads[0].url.as_str())
    );
    assert_eq!(body["prompt"].as_str(), Some(clip.as_str()));
    // A relative path that does not exist is named, and nothing is uploaded.
    let mut missing = json!({"prompt": "x", "video_urls": ["./no-such-clip.mp4"]});
    let error = client
        .fill_local_files(MODEL, &mut missing)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no-such-clip.mp4"), "{error}");
    assert_eq!(sandbox.counts().uploads, 1);
}

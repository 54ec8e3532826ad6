//! `Image`: type from content, refusals naming the file, limits, and URIs that validate.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{IMAGES, NOT_IMAGES, with};
use modellix::types::Seedance20V2vRequest;
use modellix::{Image, MediaError};
use serde_json::json;

/// `header` followed by `len` bytes in total, not a multiple of the read buffer.
fn image_bytes(header: &[u8], len: usize) -> Vec<u8> {
    let mut bytes = header.to_vec();
    bytes.extend((0..len - header.len()).map(|i| (i * 31 % 251) as u8));
    bytes
}

#[tokio::test]
async fn the_type_comes_from_the_content_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    for (mime, header) in IMAGES {
        // Sizes around the 768 KiB read buffer, so chunk seams are crossed.
        for len in [
            header.len(),
            1000,
            3 * 256 * 1024,
            3 * 256 * 1024 + 1,
            2_000_003,
        ] {
            let bytes = image_bytes(header, len);
            let path = dir.path().join("misleading-name.txt");
            std::fs::write(&path, &bytes).unwrap();
            let image = Image::from_path(&path).await.unwrap();
            assert_eq!(image.mime_type(), *mime);
            let expected = format!("data:{mime};base64,{}", STANDARD.encode(&bytes));
            assert!(image.as_str() == expected, "{mime} {len}");
            assert_eq!(Image::from_bytes(&bytes).unwrap(), image);
        }
    }
}

#[tokio::test]
async fn non_images_are_refused_with_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    for (i, bytes) in NOT_IMAGES.iter().enumerate() {
        let path = dir.path().join(format!("holiday-{i}.png"));
        std::fs::write(&path, bytes).unwrap();
        let err = Image::from_path(&path).await.unwrap_err();
        assert!(matches!(err, MediaError::NotAnImage { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{} is not a PNG, JPEG, WebP, GIF or BMP image (judged by its content, not \
                 its name)",
                path.display()
            )
        );
        let err = Image::from_bytes(bytes).unwrap_err();
        assert!(err.to_string().starts_with("the image bytes is not a PNG"));
    }
}

#[tokio::test]
async fn a_missing_file_is_named() {
    let err = Image::from_path("/no/such/dir/frame.png")
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot read image /no/such/dir/frame.png: "),
        "{err}"
    );
}

#[tokio::test]
async fn files_over_the_limit_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.png");
    std::fs::write(&path, image_bytes(IMAGES[0].1, 4097)).unwrap();
    let loader = Image::loader().max_bytes(4096);
    let err = loader.from_path(&path).await.unwrap_err();
    assert!(matches!(
        err,
        MediaError::TooLarge {
            size: 4097,
            max: 4096,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "{} is 4097 bytes, over the 4096-byte limit for images; make it smaller or \
             raise the limit with Image::loader().max_bytes(…)",
            path.display()
        )
    );
    std::fs::write(&path, image_bytes(IMAGES[0].1, 4096)).unwrap();
    loader.from_path(&path).await.unwrap();
    assert!(loader.from_bytes(image_bytes(IMAGES[0].1, 4097)).is_err());
    assert_eq!(Image::DEFAULT_MAX_BYTES, 30 * 1024 * 1024);
}

#[tokio::test]
async fn the_default_limit_applies_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.png");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: the size is refused from the metadata, nothing is read.
    file.set_len(Image::DEFAULT_MAX_BYTES + 1).unwrap();
    let err = Image::from_path(&path).await.unwrap_err();
    assert!(matches!(err, MediaError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn images_fit_every_image_field_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frame");
    std::fs::write(&path, image_bytes(IMAGES[2].1, 5000)).unwrap();
    let first = Image::from_path(&path).await.unwrap();
    let last = Image::from_bytes(IMAGES[3].1).unwrap();
    let request = Seedance20V2vRequest::builder()
        .prompt("From [Video 1]")
        .video_urls(vec!["https://example.com/a.mp4".to_owned()])
        .first_frame_image(first.clone())
        .last_frame_image(last.clone())
        .build()
        .unwrap();
    assert!(request.validate().unwrap().is_empty());
    assert_eq!(request.first_frame_image.as_deref(), Some(first.as_str()));

    let references: Vec<String> = IMAGES
        .iter()
        .map(|(_, header)| Image::from_bytes(header).unwrap().into())
        .collect();
    let body = with(json!({ "reference_images": references }));
    assert!(
        Seedance20V2vRequest::validate_json(&body)
            .unwrap()
            .is_empty()
    );
    assert_eq!(last.clone().into_data_uri(), String::from(last));
}

/// One sniffer: every image `Image` takes is uploaded too (BMP used to be inlined by
/// `Image` but refused by uploads, whose sniffer did not know it).
#[tokio::test]
async fn uploads_and_images_agree_on_every_format() {
    let sandbox = modellix_sandbox::Sandbox::start().await.unwrap();
    let client = modellix::Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(None)
        .memory_ledger()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, (mime, header)) in IMAGES.iter().enumerate() {
        let path = dir.path().join(format!("image-{i}.bin"));
        std::fs::write(&path, image_bytes(header, 100)).unwrap();
        let image = Image::from_path(&path).await.unwrap();
        assert_eq!(image.mime_type(), *mime);
        let upload = client
            .upload(&path)
            .await
            .unwrap_or_else(|e| panic!("{mime}: {e}"));
        let stored = sandbox.uploads();
        assert_eq!(stored.last().unwrap().content_type, *mime);
        client.delete_file(&upload.file_id).await.unwrap();
    }
    assert_eq!(sandbox.counts().uploads, IMAGES.len() as u64);
}

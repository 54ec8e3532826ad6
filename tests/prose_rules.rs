//! The rules Seedance states in prose, each valid and invalid, with pointer and message.

mod common;

use common::{IMAGES, NOT_IMAGES, b64, data_uri, with};
use modellix::types::Seedance20V2vRequest;
use modellix::{Image, MAX_REQUEST_BYTES, Rule};
use serde_json::{Value, json};

fn urls(n: usize, stem: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://example.com/{stem}{i}"))
        .collect()
}

/// The only violation of `request`, as (pointer, message).
fn only_violation(name: &str, request: &Value) -> (String, String) {
    let err = Seedance20V2vRequest::validate_json(request).expect_err(name);
    assert_eq!(err.violations().len(), 1, "{name}: {err}");
    let v = &err.violations()[0];
    let Rule::Prose { message } = &v.rule else {
        panic!("{name}: not a prose rule: {v}");
    };
    (v.pointer.clone(), message.clone())
}

#[test]
fn each_prose_rule_is_reported_at_its_pointer_with_a_fix() {
    let png = IMAGES[0].1;
    let table: &[(&str, Value, &str, &str)] = &[
        (
            "first frame with reference images",
            json!({"first_frame_image": "https://example.com/f.jpg",
                   "reference_images": ["https://example.com/r.jpg"]}),
            "/first_frame_image",
            "cannot be sent together with `reference_images`: remove `first_frame_image` \
             or remove `reference_images`",
        ),
        (
            "last frame with reference images",
            json!({"last_frame_image": "https://example.com/l.jpg",
                   "reference_images": ["https://example.com/r.jpg"]}),
            "/last_frame_image",
            "cannot be sent together with `reference_images`: remove `last_frame_image` \
             or remove `reference_images`",
        ),
        (
            "video placeholder past the end",
            json!({"prompt": "Blend [Video 1] into [Video 2]"}),
            "/prompt",
            "mentions `[Video 2]`, but `video_urls` has 1 item(s); placeholders count \
             from 1: add the input or fix the placeholder",
        ),
        (
            "image placeholder counts reference_images, not frames",
            json!({"prompt": "Start on [Image 1]",
                   "first_frame_image": "https://example.com/f.jpg"}),
            "/prompt",
            "mentions `[Image 1]`, but `reference_images` has 0 item(s); placeholders \
             count from 1: add the input or fix the placeholder",
        ),
        (
            "placeholders count from 1",
            json!({"prompt": "Music from [Audio 0]",
                   "audio_urls": ["https://example.com/a.mp3"]}),
            "/prompt",
            "mentions `[Audio 0]`, but `audio_urls` has 1 item(s); placeholders count \
             from 1: add the input or fix the placeholder",
        ),
        (
            "a repeated bad placeholder is reported once",
            json!({"prompt": "[Audio 1], then [Audio 1] again"}),
            "/prompt",
            "mentions `[Audio 1]`, but `audio_urls` has 0 item(s); placeholders count \
             from 1: add the input or fix the placeholder",
        ),
        (
            "a number beyond u64",
            json!({"prompt": "[Video 99999999999999999999999]"}),
            "/prompt",
            "mentions `[Video 99999999999999999999999]`, but `video_urls` has 1 item(s); \
             placeholders count from 1: add the input or fix the placeholder",
        ),
        (
            "video url without http(s)",
            json!({"video_urls": ["ftp://example.com/a.mp4"]}),
            "/video_urls/0",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `ftp://example.com/a.mp4`)",
        ),
        (
            "video url without a scheme",
            json!({"video_urls": ["https://example.com/a.mp4", "example.com/b.mp4"]}),
            "/video_urls/1",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `example.com/b.mp4`)",
        ),
        (
            "video url without a host",
            json!({"video_urls": ["https://"]}),
            "/video_urls/0",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `https://`)",
        ),
        (
            "a url the URL standard would repair",
            json!({"video_urls": ["https:///example.com/a.mp4"]}),
            "/video_urls/0",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `https:///example.com/a.mp4`)",
        ),
        (
            "a url with a space",
            json!({"audio_urls": ["https://example.com/a.mp3 "]}),
            "/audio_urls/0",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `https://example.com/a.mp3 `)",
        ),
        (
            "audio file url",
            json!({"audio_urls": ["file:///tmp/a.mp3"]}),
            "/audio_urls/0",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `file:///tmp/a.mp3`)",
        ),
        (
            "a long bad value is quoted in part",
            json!({"audio_urls": ["x".repeat(100)]}),
            "/audio_urls/0",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…`)",
        ),
        (
            "a video must not be base64",
            json!({"video_urls": [b64(png)]}),
            "/video_urls/0",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `iVBORw0KGgoAAAANSUhEUg==`)",
        ),
        (
            "image neither url nor base64",
            json!({"first_frame_image": "C:\\frames\\first.png"}),
            "/first_frame_image",
            "must be an http(s) URL or base64 image data, but it is not valid base64 \
             (unexpected ':' at offset 1) (found `C:\\frames\\first.png`); encode local \
             files with modellix::Image",
        ),
        (
            "image url with another scheme",
            json!({"last_frame_image": "ftp://example.com/l.png"}),
            "/last_frame_image",
            "must be an http(s) URL or base64 image data, but it is not valid base64 \
             (unexpected ':' at offset 3) (found `ftp://example.com/l.png`); encode local \
             files with modellix::Image",
        ),
        (
            "image http url without host",
            json!({"last_frame_image": "http://"}),
            "/last_frame_image",
            "must be an http(s) URL with a host, such as https://example.com/clip.mp4 \
             (found `http://`)",
        ),
        (
            "base64 that is not an image",
            json!({"reference_images": ["https://example.com/r.jpg", b64(b"hello world")]}),
            "/reference_images/1",
            "must be an http(s) URL or base64 image data, but its data is not a PNG, JPEG, \
             WebP, GIF or BMP image (found `aGVsbG8gd29ybGQ=`); encode local files with \
             modellix::Image",
        ),
        (
            "base64 without padding",
            json!({"first_frame_image": b64(png).trim_end_matches('=')}),
            "/first_frame_image",
            "must be an http(s) URL or base64 image data, but it is not valid base64 \
             (its `=` padding is missing or wrong) (found \
             `iVBORw0KGgoAAAANSUhEUg`); encode local files with modellix::Image",
        ),
        (
            "data uri of another type",
            json!({"first_frame_image": data_uri("text/plain", b"hi")}),
            "/first_frame_image",
            "is a data: URI but not `data:image/<type>;base64,<data>`: encode the image \
             with modellix::Image or pass an https URL",
        ),
        (
            "data uri that is not base64",
            json!({"first_frame_image": "data:image/png,rawbytes"}),
            "/first_frame_image",
            "is a data: URI but not `data:image/<type>;base64,<data>`: encode the image \
             with modellix::Image or pass an https URL",
        ),
        (
            "data uri whose payload is broken",
            json!({"first_frame_image": "data:image/png;base64,iVBOR*0KGgo="}),
            "/first_frame_image",
            "must be an http(s) URL or base64 image data, but it is not valid base64 \
             (unexpected '*' at offset 5) (found `data:image/png;base64,iVBOR*0KGgo=`); \
             encode local files with modellix::Image",
        ),
    ];
    for (name, patch, pointer, message) in table {
        let got = only_violation(name, &with(patch.clone()));
        assert_eq!(got, (pointer.to_string(), message.to_string()), "{name}");
    }
}

#[test]
fn an_offset_in_a_long_payload_counts_from_its_start() {
    let mut payload = b64(&[IMAGES[0].1, &[0u8; 9000]].concat());
    payload.replace_range(10_000..10_001, "!");
    let (_, message) = only_violation("bad byte", &with(json!({"first_frame_image": payload})));
    assert!(
        message.contains("unexpected '!' at offset 10000"),
        "{message}"
    );
    let mut early_pad = b64(&[IMAGES[0].1, &[0u8; 9000]].concat());
    early_pad.replace_range(4094..4096, "==");
    let (_, message) = only_violation("pad", &with(json!({"first_frame_image": early_pad})));
    assert!(message.contains("not valid base64"), "{message}");
}

#[test]
fn requests_that_keep_the_prose_rules_pass_without_warnings() {
    let mut table: Vec<(String, Value)> = vec![
        (
            "every placeholder has its input".into(),
            json!({"prompt": "[Video 1] and [Video 3], style [Image 9], music [Audio 3]",
                   "video_urls": urls(3, "v"), "reference_images": urls(9, "i"),
                   "audio_urls": urls(3, "a")}),
        ),
        (
            "inputs never mentioned are fine".into(),
            json!({"prompt": "[Video 1]", "video_urls": urls(3, "v"),
                   "reference_images": urls(2, "i")}),
        ),
        (
            "text that only looks like a placeholder".into(),
            json!({"prompt": "[video 5] [Video] [Video x] [Clip 2] [Video 2 ] [Image -1] [[Video 1]]"}),
        ),
        (
            "first and last frame without reference images".into(),
            json!({"first_frame_image": "https://example.com/f.jpg",
                   "last_frame_image": "https://example.com/l.jpg"}),
        ),
        (
            "urls with ports, queries and upper-case schemes".into(),
            json!({"video_urls": ["HTTPS://Example.com:8443/a.mp4?sig=x#t=1"],
                   "audio_urls": ["https://127.0.0.1/a.mp3"]}),
        ),
        (
            "a data uri made by Image".into(),
            json!({"first_frame_image": Image::from_bytes(IMAGES[0].1).unwrap().as_str()}),
        ),
    ];
    for (mime, bytes) in IMAGES {
        table.push((
            format!("{mime} as a data uri"),
            json!({"first_frame_image": data_uri(mime, bytes)}),
        ));
        table.push((
            format!("{mime} as bare base64"),
            json!({"reference_images": [b64(bytes)]}),
        ));
    }
    for (name, patch) in &table {
        let warnings = Seedance20V2vRequest::validate_json(&with(patch.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
    }
}

#[test]
fn no_lookalike_passes_as_an_image() {
    for bytes in NOT_IMAGES {
        // An empty string is the schema's business (minLength), not this rule's.
        let values = [b64(bytes), data_uri("image/png", bytes)];
        for value in values.into_iter().filter(|v| !v.is_empty()) {
            let (pointer, message) =
                only_violation(&value, &with(json!({"last_frame_image": value})));
            assert_eq!(pointer, "/last_frame_image");
            assert!(message.contains("is not a PNG, JPEG, WebP, GIF or BMP image"));
        }
    }
}

#[test]
fn long_prompts_and_plain_http_are_warnings() {
    let words = |n: usize| vec!["word"; n].join(" \n");
    let warnings =
        Seedance20V2vRequest::validate_json(&with(json!({"prompt": words(1000)}))).unwrap();
    assert!(warnings.is_empty());
    let warnings = Seedance20V2vRequest::validate_json(&with(json!({
        "prompt": words(1001),
        "video_urls": ["http://example.com/a.mp4"],
        "reference_images": ["https://example.com/r.jpg", "http://example.com/s.jpg"],
    })))
    .unwrap();
    let got: Vec<(&str, &str)> = warnings
        .iter()
        .map(|w| (w.pointer.as_str(), w.message.as_str()))
        .collect();
    let http = "is a plain http URL: the media travels unencrypted and may be altered on \
                the way; use https if the host supports it";
    assert_eq!(
        got,
        [
            ("/video_urls/0", http),
            ("/reference_images/1", http),
            (
                "/prompt",
                "has 1001 words; Modellix recommends at most 1000, as the model drops \
                 details of longer prompts: shorten it"
            ),
        ]
    );
}

#[test]
fn the_whole_request_may_be_64_mib_and_not_a_byte_more() {
    // A real base64 image fills most of the budget; the video URL makes up the rest.
    let image = data_uri("image/png", &[IMAGES[0].1, &vec![7u8; 40 << 20]].concat());
    let mut request = with(json!({"first_frame_image": image}));
    let len = |r: &Value| serde_json::to_vec(r).unwrap().len() as u64;
    let pad = |n: u64| {
        format!(
            "https://example.com/source.mp4?{}",
            "v".repeat(n as usize - 1)
        )
    };
    let missing = MAX_REQUEST_BYTES - len(&request);
    request["video_urls"][0] = json!(pad(missing));
    assert_eq!(len(&request), MAX_REQUEST_BYTES);
    Seedance20V2vRequest::validate_json(&request).unwrap();

    request["video_urls"][0] = json!(pad(missing + 1));
    let (pointer, message) = only_violation("65 MiB", &request);
    assert_eq!(pointer, "");
    assert_eq!(
        message,
        "is 67108865 bytes as JSON, over Modellix's limit of 67108864 bytes; pass large \
         media as https URLs instead of base64"
    );
}

#[test]
fn every_violation_is_reported_at_once_one_line_each() {
    let request = with(json!({
        "prompt": "",
        "video_urls": ["ftp://example.com/a.mp4"],
        "first_frame_image": "https://example.com/f.jpg",
        "last_frame_image": "not an image",
        "reference_images": ["https://example.com/r.jpg"],
        "duration": 3,
    }));
    let err = Seedance20V2vRequest::validate_json(&request).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the request breaks 6 rule(s); nothing was sent:\n  \
         /duration: must be one of 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 (found 3)\n  \
         /prompt: must be at least 1 characters long (found 0)\n  \
         /first_frame_image: cannot be sent together with `reference_images`: remove \
         `first_frame_image` or remove `reference_images`\n  \
         /last_frame_image: cannot be sent together with `reference_images`: remove \
         `last_frame_image` or remove `reference_images`\n  \
         /video_urls/0: must be an http(s) URL with a host, such as \
         https://example.com/clip.mp4 (found `ftp://example.com/a.mp4`)\n  \
         /last_frame_image: must be an http(s) URL or base64 image data, but it is not \
         valid base64 (unexpected ' ' at offset 3) (found `not an image`); encode local \
         files with modellix::Image"
    );
}

#[test]
fn typed_requests_get_the_same_rules() {
    let request = Seedance20V2vRequest::builder()
        .prompt("Cut [Video 1] to the beat of [Audio 1]")
        .video_urls(urls(1, "v"))
        .build()
        .unwrap();
    let err = request.validate().unwrap_err();
    assert_eq!(err.violations().len(), 1, "{err}");
    assert_eq!(err.violations()[0].pointer, "/prompt");
}

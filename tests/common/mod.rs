//! Helpers shared by the validation and media tests.
// Each test crate uses a different subset.
#![allow(dead_code)]

pub mod bodies;
pub mod oracle;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// The smallest headers that carry each accepted format's signature.
pub const IMAGES: &[(&str, &[u8])] = &[
    ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    ("image/webp", b"RIFF\x24\x00\x00\x00WEBPVP8 "),
    ("image/gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00"),
    (
        "image/bmp",
        b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00",
    ),
];

/// Content that is not an image but is easily mistaken for one.
pub const NOT_IMAGES: &[&[u8]] = &[
    b"hello world",
    b"",
    b"\x89PNG",                            // truncated signature
    b"RIFF\x24\x00\x00\x00WAVEfmt ",       // RIFF, but audio
    b"BM\x3a\x00\x00\x00\x01\x02\x03\x04", // "BM" text, not a bitmap header
    b"GIF90a",
];

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", b64(bytes))
}

/// The smallest valid Seedance 2.0 V2V request, as JSON.
pub fn minimal() -> Value {
    json!({
        "prompt": "Extend motion from the reference clip",
        "video_urls": ["https://example.com/source.mp4"]
    })
}

/// `minimal()` with the fields of `patch` set (and `null` ones removed).
pub fn with(patch: Value) -> Value {
    let mut request = minimal();
    let object = request.as_object_mut().unwrap();
    for (key, value) in patch.as_object().unwrap() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    request
}

/// The request schema of the vendored fragment.
pub fn fragment() -> Value {
    serde_json::from_str(include_str!("../../spec/bytedance/seedance-2.0-v2v.json")).unwrap()
}

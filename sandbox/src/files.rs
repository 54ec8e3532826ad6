//! Result files: the fixture bytes every successful task serves, with `Range` support.

use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;

use crate::answer::Answer;

/// The video every successful task serves as `video.mp4`: a valid, playable MP4
/// (H.264, 160x90, 1 s, `sandbox/fixtures/sample.mp4`).
pub const SAMPLE_MP4: &[u8] = include_bytes!("../fixtures/sample.mp4");

/// The image served as `last_frame.png` when the request set `return_last_frame`
/// (the video's last frame, 160x90, `sandbox/fixtures/last_frame.png`).
pub const SAMPLE_PNG: &[u8] = include_bytes!("../fixtures/last_frame.png");

/// The bytes and content type of a result file name.
pub(crate) fn fixture(name: &str) -> Option<(&'static [u8], &'static str)> {
    match name {
        "video.mp4" => Some((SAMPLE_MP4, "video/mp4")),
        "last_frame.png" => Some((SAMPLE_PNG, "image/png")),
        _ => None,
    }
}

/// The whole file, or the part a `Range: bytes=N-` / `bytes=N-M` header asks for
/// (206 with `Content-Range`); 416 for a range past the end.
pub(crate) fn serve(
    bytes: &'static [u8],
    content_type: &'static str,
    headers: &HeaderMap,
) -> Answer {
    let len = bytes.len() as u64;
    let whole = Bytes::from_static(bytes);
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Answer::raw(StatusCode::OK, content_type, whole)
            .with_header("accept-ranges", "bytes");
    };
    match parse_range(range, len) {
        Some((start, end)) => Answer::raw(
            StatusCode::PARTIAL_CONTENT,
            content_type,
            whole.slice(start as usize..=end as usize),
        )
        .with_header("accept-ranges", "bytes")
        .with_header("content-range", format!("bytes {start}-{end}/{len}")),
        None => Answer::error(
            StatusCode::RANGE_NOT_SATISFIABLE,
            format!("{range} is outside the file's {len} bytes"),
        )
        .with_header("content-range", format!("bytes */{len}")),
    }
}

/// First and last byte (inclusive) of one `bytes=` range within `len` bytes.
fn parse_range(range: &str, len: u64) -> Option<(u64, u64)> {
    let (start, end) = range.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => len.checked_sub(1)?,
        end => end.parse::<u64>().ok()?.min(len.checked_sub(1)?),
    };
    (start <= end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(parse_range("bytes=4-", 10), Some((4, 9)));
        assert_eq!(parse_range("bytes=2-5", 10), Some((2, 5)));
        assert_eq!(parse_range("bytes=2-50", 10), Some((2, 9)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=-5", 10), None);
        assert_eq!(parse_range("items=0-", 10), None);
    }
}

//! Result files: the fixture bytes every successful task serves, with `Range` support.
//! Which file a task serves comes from its model's `outputs` (the rules file in
//! `spec/`): a video model answers with an MP4, an image model with a PNG, an audio
//! model with an MP3. A `text` output (a transcript) is no file: the task's resource
//! carries [`transcript`] itself, with no URL.

use std::sync::LazyLock;

use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;

use crate::answer::Answer;

/// The video every successful video task serves: a valid, playable MP4
/// (H.264, 160x90, 1 s, `sandbox/fixtures/sample.mp4`).
pub const SAMPLE_MP4: &[u8] = include_bytes!("../fixtures/sample.mp4");

/// The image every image output serves (`image.png`, or `last_frame.png` for a video
/// model's last frame): a 160x90 PNG, `sandbox/fixtures/last_frame.png`.
pub const SAMPLE_PNG: &[u8] = include_bytes!("../fixtures/last_frame.png");

/// A real WAV file (PCM, 16-bit mono, 8 kHz, a quarter second of a 440 Hz tone), for
/// tests that need audio of another format (the sandbox's audio outputs are MP3).
pub fn sample_wav() -> &'static [u8] {
    static WAV: LazyLock<Vec<u8>> = LazyLock::new(|| {
        const RATE: u32 = 8000;
        let samples: Vec<i16> = (0..RATE / 4)
            .map(|i| {
                let t = f64::from(i) / f64::from(RATE);
                ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16
            })
            .collect();
        let data_len = (samples.len() * 2) as u32;
        let mut wav = Vec::with_capacity(44 + data_len as usize);
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + data_len).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
        wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
        wav.extend_from_slice(&1u16.to_le_bytes()); // mono
        wav.extend_from_slice(&RATE.to_le_bytes());
        wav.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
        wav.extend_from_slice(&2u16.to_le_bytes()); // block align
        wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&data_len.to_le_bytes());
        for s in samples {
            wav.extend_from_slice(&s.to_le_bytes());
        }
        wav
    });
    &WAV
}

/// Frames in [`sample_mp3`]: about half a second.
const MP3_FRAMES: usize = 20;

/// The audio every audio output serves (text to speech, voice cloning): a real MP3,
/// built here rather than committed. Each frame is MPEG-1 Layer III, 128 kbit/s,
/// 44.1 kHz, mono, without CRC (header `FF FB 90 C0`), 417 bytes long
/// (144 × 128000 / 44100, no padding), with all-zero side information and main data:
/// no Huffman bits at all, so a decoder plays silence. About half a second.
pub fn sample_mp3() -> &'static [u8] {
    static MP3: LazyLock<Vec<u8>> = LazyLock::new(|| {
        const FRAME_BYTES: usize = 144 * 128_000 / 44_100;
        let mut mp3 = Vec::with_capacity(FRAME_BYTES * MP3_FRAMES);
        for _ in 0..MP3_FRAMES {
            mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0xc0]);
            mp3.resize(mp3.len() + FRAME_BYTES - 4, 0);
        }
        mp3
    });
    &MP3
}

/// The transcript every speech-to-text task answers with, carried by its resource
/// (`{"type": "text", "text": …}`, no URL): the transcript's shape is undocumented.
pub fn transcript(audio_url: Option<&str>) -> String {
    let of = audio_url.map_or_else(String::new, |url| format!(" of {url}"));
    format!("Hello from the Modellix sandbox. This is a transcript{of}.")
}

/// The file extension, bytes and content type served for an output kind.
pub(crate) fn for_kind(kind: &str) -> Option<(&'static str, &'static [u8], &'static str)> {
    match kind {
        "video" => Some(("mp4", SAMPLE_MP4, "video/mp4")),
        "image" => Some(("png", SAMPLE_PNG, "image/png")),
        "audio" => Some(("mp3", sample_mp3(), "audio/mpeg")),
        _ => None,
    }
}

/// The bytes and content type of a result file name (`<role or kind>.<extension>`).
pub(crate) fn fixture(name: &str) -> Option<(&'static [u8], &'static str)> {
    let (_, extension) = name.rsplit_once('.')?;
    ["video", "image", "audio"]
        .into_iter()
        .filter_map(for_kind)
        .find(|(ext, _, _)| *ext == extension)
        .map(|(_, bytes, content_type)| (bytes, content_type))
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
    use super::{fixture, parse_range, sample_mp3, sample_wav};

    #[test]
    fn the_mp3_is_whole_mpeg_frames() {
        let mp3 = sample_mp3();
        assert_eq!(mp3.len(), 417 * super::MP3_FRAMES);
        for frame in mp3.chunks(417) {
            assert_eq!(frame.len(), 417);
            assert_eq!(&frame[..4], &[0xff, 0xfb, 0x90, 0xc0]);
            assert!(frame[4..].iter().all(|b| *b == 0));
        }
        assert_eq!(fixture("audio.mp3").unwrap().1, "audio/mpeg");
    }

    #[test]
    fn every_kind_has_a_real_file() {
        let wav = sample_wav();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let declared = u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize;
        assert_eq!(declared + 8, wav.len());
        assert!(fixture("audio.wav").is_none());
        assert_eq!(fixture("last_frame.png").unwrap().1, "image/png");
        assert_eq!(fixture("video.mp4").unwrap().1, "video/mp4");
        assert!(fixture("video.avi").is_none());
    }

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

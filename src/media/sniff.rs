//! A file's media type judged from its first bytes, never from its name: the one
//! sniffer, used by uploads, inline images (`media::image`) and local files.

/// Bytes [`sniff`] needs from the start of a file.
pub(crate) const SNIFF_BYTES: usize = 64;

/// The MIME type of the image, video or audio formats Modellix takes, from the
/// file's first bytes (magic numbers); `None` for anything else.
pub(crate) fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if at(0, b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return Some("image/gif");
    }
    // "BM" alone is too weak a signature; the header's reserved bytes 6..10 are zero.
    if at(0, b"BM") && at(6, &[0; 4]) && head.len() >= 14 {
        return Some("image/bmp");
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return Some("image/webp");
    }
    if at(0, b"RIFF") && at(8, b"WAVE") {
        return Some("audio/wav");
    }
    if at(4, b"ftyp") {
        return Some(match head.get(8..12) {
            Some(b"qt  ") => "video/quicktime",
            Some(b"M4A " | b"M4B ") => "audio/mp4",
            _ => "video/mp4",
        });
    }
    // Old QuickTime files start with a movie atom, not `ftyp`.
    if at(4, b"moov") || at(4, b"wide") || at(4, b"mdat") {
        return Some("video/quicktime");
    }
    if at(0, b"\x1a\x45\xdf\xa3") {
        return Some("video/webm");
    }
    if at(0, b"OggS") {
        return Some("audio/ogg");
    }
    if at(0, b"fLaC") {
        return Some("audio/flac");
    }
    // MPEG audio (MP3): an ID3v2 tag, or a frame header (see `mpeg_frame`).
    if at(0, b"ID3") || mpeg_frame(head) == Some(Frame::Mpeg) {
        return Some("audio/mpeg");
    }
    if mpeg_frame(head) == Some(Frame::Adts) {
        return Some("audio/aac");
    }
    None
}

/// What a frame sync at the start of `head` begins.
#[derive(Debug, PartialEq, Eq)]
enum Frame {
    /// An MPEG-1/2/2.5 audio frame (Layer I, II or III: MP3).
    Mpeg,
    /// An ADTS frame: raw AAC.
    Adts,
}

/// The kind of frame `head` starts with: 11 sync bits set, then a version that is not
/// the reserved one, and for MPEG audio a layer, a bitrate index other than "bad" and a
/// sample rate other than "reserved" (so text starting with `0xff` does not pass).
fn mpeg_frame(head: &[u8]) -> Option<Frame> {
    let [0xff, b1, b2, ..] = *head else {
        return None;
    };
    if b1 & 0xe0 != 0xe0 {
        return None;
    }
    let (version, layer) = ((b1 >> 3) & 0b11, (b1 >> 1) & 0b11);
    if b1 & 0xf6 == 0xf0 {
        // ADTS: MPEG version bit, layer 00, sample rate index 0..=12.
        return ((b2 >> 2) & 0x0f <= 12).then_some(Frame::Adts);
    }
    let (bitrate, rate) = (b2 >> 4, (b2 >> 2) & 0b11);
    (version != 0b01 && layer != 0 && bitrate != 0x0f && rate != 0b11).then_some(Frame::Mpeg)
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn formats_by_magic_bytes() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png")),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", Some("image/jpeg")),
            (b"GIF89a\x01\0", Some("image/gif")),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"RIFF\x24\0\0\0WAVEfmt ", Some("audio/wav")),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", Some("video/mp4")),
            (b"\0\0\0\x14ftypqt  \0\0\0\0", Some("video/quicktime")),
            (b"\0\0\0\x08wide\0\0\0\0mdat", Some("video/quicktime")),
            (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", Some("video/webm")),
            (b"ID3\x04\0\0\0\0\0\0", Some("audio/mpeg")),
            (b"\xff\xfb\x90\x44", Some("audio/mpeg")),
            // MPEG-2 Layer III (22.05 kHz), and MPEG-2.5.
            (b"\xff\xf3\x90\xc4", Some("audio/mpeg")),
            (b"\xff\xe3\x18\xc4", Some("audio/mpeg")),
            // ADTS AAC (44.1 kHz).
            (b"\xff\xf1\x50\x80", Some("audio/aac")),
            // A frame sync with a bad bitrate, a reserved rate or version: not audio.
            (b"\xff\xfb\xf0\x44", None),
            (b"\xff\xfb\x9c\x44", None),
            (b"\xff\xeb\x90\x44", None),
            (b"\xff\xfb", None),
            (b"OggS\0\x02", Some("audio/ogg")),
            (b"fLaC\0\0\0\x22", Some("audio/flac")),
            (b"BM\x36\x00\x0c\x00\0\0\0\0\x36\0\0\0", Some("image/bmp")),
            // "BM" text is not a bitmap: its reserved bytes are not zero.
            (b"BMW is a car maker", None),
            (b"%PDF-1.7", None),
            (b"hello world", None),
            (b"", None),
            (b"\xff", None),
        ];
        for (head, want) in cases {
            assert_eq!(sniff(head), *want, "{head:?}");
        }
    }
}

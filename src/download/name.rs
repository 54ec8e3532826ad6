//! File names for downloaded results: derived from untrusted answer fields, so they are
//! cleaned to be safe on every OS.

use std::collections::HashSet;

/// Longest file name [`safe_file_name`] returns, in bytes (well under the 255-byte limit
/// of common file systems, leaving room for the temporary-file prefix).
pub const MAX_FILE_NAME_BYTES: usize = 120;

/// Longest extension kept, in bytes.
const MAX_EXTENSION_BYTES: usize = 10;

/// Names Windows reserves whatever the extension (compared case-insensitively on the
/// part before the first dot).
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// A file name built from `parts` joined by `_`, with `extension`, that is safe on every
/// OS: no path separators, no control or invisible characters, no leading dot or dash, no
/// trailing dot, not a reserved Windows device name, at most [`MAX_FILE_NAME_BYTES`]
/// bytes (cut on a character boundary) and never empty.
///
/// Letters and digits of any script, `-`, `_` and `.` are kept; every other character
/// becomes `_`. Empty parts are skipped; when nothing is left the stem is `download`.
/// The extension keeps ASCII letters and digits only, lower-cased, and falls back to
/// `bin`. `copy` numbers duplicates within one task: `0` and `1` add nothing, `2` adds
/// `_2`, and so on; the suffix is kept even when the stem has to be shortened.
///
/// ```
/// use modellix::download::safe_file_name;
///
/// assert_eq!(
///     safe_file_name(&["task-abc123", "seedance-2.0-v2v", "video"], "mp4", 1),
///     "task-abc123_seedance-2.0-v2v_video.mp4"
/// );
/// assert_eq!(safe_file_name(&["../../etc", "passwd"], "", 2), "etc_passwd_2.bin");
/// assert_eq!(safe_file_name(&["CON"], "txt", 1), "_CON.txt");
/// ```
pub fn safe_file_name(parts: &[&str], extension: &str, copy: usize) -> String {
    let extension = clean_extension(extension);
    let suffix = if copy >= 2 {
        format!("_{copy}")
    } else {
        String::new()
    };
    let stem_budget = MAX_FILE_NAME_BYTES - 1 - extension.len() - suffix.len();

    let mut stem = parts
        .iter()
        .map(|part| clean_part(part))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    fit(&mut stem, stem_budget);
    // Checked after cutting: "CON----…x" cut and trimmed is "CON".
    if is_windows_reserved(&stem) {
        stem.insert(0, '_');
        fit(&mut stem, stem_budget);
    }
    if stem.is_empty() {
        stem = "download".to_owned();
    }
    format!("{stem}{suffix}.{extension}")
}

/// Cuts `stem` to `max_bytes`, then trims what cutting may expose: a trailing dot, which
/// Windows strips silently, and trailing separators.
fn fit(stem: &mut String, max_bytes: usize) {
    truncate_at_char_boundary(stem, max_bytes);
    let trimmed = stem.trim_end_matches(['.', '-', '_']).len();
    stem.truncate(trimmed);
}

/// Keeps letters, digits, `-`, `_` and single dots; trims the characters that make a name
/// hidden (`.`), look like an option (`-`) or get stripped by Windows (trailing `.`).
fn clean_part(part: &str) -> String {
    let mut cleaned = String::with_capacity(part.len());
    for c in part.chars() {
        let c = if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
            c
        } else {
            '_'
        };
        // Runs of dots are collapsed so no name contains `..`, even harmlessly.
        if !(c == '.' && cleaned.ends_with('.')) {
            cleaned.push(c);
        }
    }
    cleaned.trim_matches(['.', '-', '_']).to_owned()
}

fn clean_extension(extension: &str) -> String {
    let mut ext: String = extension
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    ext.truncate(MAX_EXTENSION_BYTES);
    if ext.is_empty() {
        ext.push_str("bin");
    }
    ext
}

fn is_windows_reserved(stem: &str) -> bool {
    let head = stem.split('.').next().unwrap_or(stem);
    WINDOWS_RESERVED
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(head))
}

fn truncate_at_char_boundary(s: &mut String, max_bytes: usize) {
    if s.len() > max_bytes {
        let mut end = max_bytes;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The extension for a result: the answer's `format`, else a MIME `type`, else the
/// response's Content-Type, else the type `media::sniff` judged from the first bytes
/// (`sniffed`), else the URL path's extension; empty when none is known (then
/// [`safe_file_name`] uses `bin`).
pub(crate) fn pick_extension(
    format: Option<&str>,
    type_: &str,
    content_type: Option<&str>,
    sniffed: Option<&str>,
    url_path: &str,
) -> String {
    if let Some(format) = format.filter(|f| !f.trim().is_empty()) {
        return format.trim().trim_start_matches('.').to_owned();
    }
    if let Some(ext) = [Some(type_), content_type, sniffed]
        .into_iter()
        .flatten()
        .find_map(extension_for_mime)
    {
        return ext.to_owned();
    }
    let file = url_path.rsplit('/').next().unwrap_or("");
    match file.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            ext.to_owned()
        }
        _ => String::new(),
    }
}

fn extension_for_mime(mime: &str) -> Option<&'static str> {
    let essence = mime.split(';').next()?.trim().to_ascii_lowercase();
    Some(match essence.as_str() {
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "video/x-matroska" => "mkv",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "image/bmp" => "bmp",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/mp4" => "m4a",
        "audio/aac" => "aac",
        "audio/ogg" => "ogg",
        "audio/flac" | "audio/x-flac" => "flac",
        "application/json" => "json",
        "text/plain" => "txt",
        _ => return None,
    })
}

/// Hands out distinct names within one task, numbering duplicates (`_2`, `_3`, …) in
/// the order they are asked for. Compares case-insensitively, as Windows and macOS do.
#[derive(Debug, Default)]
pub(crate) struct NameBook {
    used: HashSet<String>,
}

impl NameBook {
    pub(crate) fn claim(&mut self, parts: &[&str], extension: &str) -> String {
        let mut copy = 1;
        loop {
            let name = safe_file_name(parts, extension, copy);
            if self.used.insert(name.to_lowercase()) {
                return name;
            }
            copy += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_sources_in_order() {
        /// format, type, Content-Type, sniffed type, URL path, the extension.
        type Case<'a> = (
            Option<&'a str>,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            &'a str,
        );
        let mp3 = Some("audio/mpeg");
        let cases: &[Case] = &[
            (Some("PNG"), "image", None, None, "/a.jpg", "PNG"),
            (None, "video/webm", Some("video/mp4"), None, "/a", "webm"),
            (None, "video", Some("video/mp4; x=y"), None, "/a", "mp4"),
            (None, "video", None, None, "/dir/a.mov", "mov"),
            (None, "video", None, None, "/dir/.hidden", ""),
            (
                None,
                "video",
                Some("application/octet-stream"),
                None,
                "/a",
                "",
            ),
            // The first bytes beat the URL, but not what the answer says.
            (
                None,
                "audio",
                Some("application/octet-stream"),
                mp3,
                "/a.bin",
                "mp3",
            ),
            (None, "audio", None, mp3, "/a", "mp3"),
            (None, "audio", Some("audio/wav"), mp3, "/a", "wav"),
            (Some("wav"), "audio", None, mp3, "/a", "wav"),
            (None, "audio", None, Some("audio/flac"), "/a", "flac"),
        ];
        for &(format, type_, content_type, sniffed, path, want) in cases {
            assert_eq!(
                pick_extension(format, type_, content_type, sniffed, path),
                want,
                "{format:?} {type_} {content_type:?} {sniffed:?} {path}"
            );
        }
    }

    #[test]
    fn a_reserved_name_exposed_by_cutting_is_escaped() {
        // Found by tests/fuzz.rs (file_names_are_safe): this gave "CON.bin".
        let part = format!("CON{}_CON", "_-".repeat(60));
        assert_eq!(safe_file_name(&[&part], "", 0), "_CON.bin");
        assert_eq!(safe_file_name(&["con-", "-"], "mp4", 2), "_con_2.mp4");
    }

    #[test]
    fn duplicates_are_numbered_in_order() {
        let mut book = NameBook::default();
        assert_eq!(book.claim(&["t", "video"], "mp4"), "t_video.mp4");
        assert_eq!(book.claim(&["t", "VIDEO"], "mp4"), "t_VIDEO_2.mp4");
        assert_eq!(book.claim(&["t", "video"], "mp4"), "t_video_3.mp4");
        assert_eq!(book.claim(&["t", "video"], "png"), "t_video.png");
    }
}

//! Uploads (`/api/v1/media/files`): a local image, video or audio file streamed as
//! multipart so its URL can go into a model's URL field; listing and deleting them.
//!
//! An upload uses the team's quota (10 files, kept about 7 days), so it is never
//! retried: when its outcome is unknown the error says to list the files first. Files
//! are decoded with the type generated from `spec/modellix/media-files-*.json`
//! (`data{file_id, type, url, filename, size, created_at?}`), leniently; unknown fields
//! are ignored.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::Error;
use crate::error::api::answer_error;
use crate::media::sniff::{SNIFF_BYTES, sniff};
use crate::platform::endpoint::{call, endpoint_name, envelope_data};
use crate::shared::Shared;
use crate::transport::lenient::{Slips, decode};
use crate::transport::outcome::{Proof, Unproven};
use crate::transport::request::{Answer, Outgoing, Streamed};
use crate::types::MediaFile;

/// Largest file Modellix accepts (16 MB); checked before a byte is sent.
pub const MAX_UPLOAD_BYTES: u64 = 16 * 1024 * 1024;
/// How long Modellix keeps an uploaded file (about 7 days).
pub const FILE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Most files one list answer holds.
pub const MAX_LIST_LIMIT: u32 = 100;

const FILES_PATH: &str = "/api/v1/media/files";
/// Pieces read from the file and handed to the connection.
const READ_CHUNK: usize = 64 * 1024;
/// Modellix takes 2 uploads at a time; more wait here rather than fail there.
static UPLOADS_AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A file stored by Modellix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadedFile {
    /// Its id, for [`Client::delete_file`](crate::client::Client::delete_file).
    pub file_id: String,
    /// The URL to put into a model's URL field (`video_urls`, `image_url`, …).
    pub url: String,
    /// Size in bytes.
    pub size: u64,
    /// `image`, `video`, `audio` or a MIME type, as Modellix gives it.
    pub media_type: Option<String>,
    /// The name it was uploaded under.
    pub filename: Option<String>,
    /// When it was stored, if the answer said.
    pub created_at: Option<SystemTime>,
    /// When Modellix will delete it: `created_at` (or the upload time) plus
    /// [`FILE_LIFETIME`].
    pub expires_at: SystemTime,
}

/// How far an upload got: file bytes handed to the connection, out of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Bytes of the file handed to the connection so far.
    pub sent: u64,
    /// The file's size.
    pub total: u64,
}

/// Called as an upload progresses.
pub type ProgressFn = Arc<dyn Fn(UploadProgress) + Send + Sync>;

/// Per-call settings of an upload.
///
/// ```
/// let options = modellix::UploadOptions::new()
///     .on_progress(|p| eprintln!("{}/{} bytes", p.sent, p.total));
/// # drop(options);
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct UploadOptions {
    /// Called after each piece of the file is handed to the connection.
    pub progress: Option<ProgressFn>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl UploadOptions {
    /// Default options.
    pub fn new() -> Self {
        UploadOptions::default()
    }

    /// Reports progress to `progress`.
    pub fn on_progress(
        mut self,
        progress: impl Fn(UploadProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// The file Modellix describes, with its expiry; `None` without a usable id.
fn uploaded(raw: MediaFile, known_size: Option<u64>) -> Option<UploadedFile> {
    if raw.file_id.trim().is_empty() {
        return None;
    }
    let created_at = raw.created_at.as_ref().and_then(timestamp);
    Some(UploadedFile {
        file_id: raw.file_id,
        url: raw.url,
        size: raw
            .size
            .and_then(|n| u64::try_from(n).ok())
            .or(known_size)
            .unwrap_or(0),
        media_type: raw.type_,
        filename: raw.filename,
        created_at,
        // Checked: a creation time from the server near the end of time must not
        // overflow, and stays printable as RFC 3339.
        expires_at: crate::time::clamp_rfc3339(
            created_at
                .unwrap_or_else(SystemTime::now)
                .checked_add(FILE_LIFETIME)
                .unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(1 << 40)),
        ),
    })
}

/// A time given as Unix seconds, Unix milliseconds or RFC 3339.
fn timestamp(value: &Value) -> Option<SystemTime> {
    match value {
        Value::Number(n) => {
            let n = n.as_f64().filter(|n| n.is_finite() && *n >= 0.0)?;
            let secs = if n > 1e12 { n / 1000.0 } else { n };
            UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
        }
        Value::String(s) => humantime::parse_rfc3339_weak(s.trim_end_matches('Z'))
            .ok()
            .or_else(|| humantime::parse_rfc3339(s).ok()),
        _ => None,
    }
}

/// The list answer's `data`: an array, or an object holding one under `files` or
/// `items` (the documentation does not show which).
fn parse_list(data: Value) -> Vec<UploadedFile> {
    let items = match data {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("files").or_else(|| map.remove("items")) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|v| decode::<MediaFile>(v, Slips::Convert))
        .filter_map(|raw| uploaded(raw, None))
        .collect()
}

/// True for an answer that says the team's file quota is full (not a rate limit).
fn is_quota(api: &crate::error::ApiError) -> bool {
    let text = format!(
        "{} {}",
        api.category.as_deref().unwrap_or_default(),
        api.message
    )
    .to_lowercase();
    text.contains("quota")
        || (text.contains("file") && text.contains("limit") && !text.contains("rate limit"))
}

/// A name safe inside a multipart header: ASCII letters, digits, `.`, `_`, `-`.
fn safe_filename(path: &Path) -> String {
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if name.trim_matches(['.', '_']).is_empty() {
        "upload".to_owned()
    } else {
        name
    }
}

/// Why a path that is not a regular file cannot be uploaded.
fn not_regular(meta: &std::fs::Metadata) -> String {
    let what = if meta.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let kind = meta.file_type();
            if kind.is_fifo() {
                "a named pipe"
            } else if kind.is_socket() {
                "a socket"
            } else if kind.is_char_device() || kind.is_block_device() {
                "a device"
            } else {
                "not a regular file"
            }
        }
        #[cfg(not(unix))]
        {
            "not a regular file"
        }
    };
    if what == "not a regular file" {
        "is not a regular file; upload a saved image, video or audio file".to_owned()
    } else {
        format!("is {what}, not a regular file; upload a saved image, video or audio file")
    }
}

/// A local file opened, measured and judged, ready to stream.
struct LocalFile {
    file: tokio::fs::File,
    size: u64,
    mime: &'static str,
    filename: String,
}

async fn open_local(path: &Path) -> Result<LocalFile, Error> {
    let refuse = |reason: String| Error::LocalFile {
        path: path.to_owned(),
        reason,
    };
    // The type is judged before opening: opening a named pipe blocks until a writer
    // comes, which may be never.
    let before = tokio::fs::metadata(path)
        .await
        .map_err(|e| refuse(format!("cannot open it ({e})")))?;
    if !before.is_file() {
        return Err(refuse(not_regular(&before)));
    }
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| refuse(format!("cannot open it ({e})")))?;
    let meta = file
        .metadata()
        .await
        .map_err(|e| refuse(format!("cannot read its size ({e})")))?;
    // Checked again on what was opened: the path may have been replaced meanwhile.
    if !meta.is_file() {
        return Err(refuse(not_regular(&meta)));
    }
    let size = meta.len();
    if size == 0 {
        return Err(refuse("is empty".into()));
    }
    if size > MAX_UPLOAD_BYTES {
        return Err(refuse(format!(
            "it is {size} bytes; Modellix takes at most {MAX_UPLOAD_BYTES} bytes (16 MB) per file"
        )));
    }
    let mut head = [0u8; SNIFF_BYTES];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .await
            .map_err(|e| refuse(format!("cannot read it ({e})")))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    let mime = sniff(&head[..filled]).ok_or_else(|| {
        refuse(
            "its content is not a known image, video or audio format (PNG, JPEG, GIF, WebP, \
             BMP, MP4/MOV, WebM, MP3, WAV, OGG, FLAC)"
                .into(),
        )
    })?;
    file.rewind()
        .await
        .map_err(|e| refuse(format!("cannot read it ({e})")))?;
    Ok(LocalFile {
        file,
        size,
        mime,
        filename: safe_filename(path),
    })
}

/// The multipart body: header part, the file read piece by piece (never whole), and
/// the closing boundary. The file is cut at its measured size; a file that shrinks
/// while being sent ends the stream with an error.
fn multipart(local: LocalFile, progress: Option<ProgressFn>) -> Streamed {
    let boundary = format!(
        "modellix-{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    );
    let head = Bytes::from(format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
         Content-Type: {}\r\n\r\n",
        local.filename, local.mime
    ));
    let tail = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    let len = head.len() as u64 + local.size + tail.len() as u64;
    let total = local.size;
    let body = futures_util::stream::unfold(
        (local.file, 0u64, false),
        move |(mut file, sent, failed)| {
            let progress = progress.clone();
            async move {
                if sent >= total || failed {
                    return None;
                }
                let want = usize::try_from(total - sent)
                    .unwrap_or(READ_CHUNK)
                    .min(READ_CHUNK);
                let mut buf = vec![0u8; want];
                match file.read(&mut buf).await {
                    Ok(0) => Some((
                        Err(std::io::Error::other(
                            "the file shrank while it was being sent",
                        )),
                        (file, sent, true),
                    )),
                    Ok(n) => {
                        buf.truncate(n);
                        let sent = sent + n as u64;
                        if let Some(progress) = &progress {
                            progress(UploadProgress { sent, total });
                        }
                        Some((Ok(Bytes::from(buf)), (file, sent, false)))
                    }
                    Err(e) => Some((Err(e), (file, sent, true))),
                }
            }
        },
    );
    let stream = futures_util::stream::once(async move { Ok(head) })
        .chain(body)
        .chain(futures_util::stream::once(async move { Ok(tail) }))
        .boxed();
    Streamed {
        len,
        content_type: HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
            .unwrap_or_else(|_| HeaderValue::from_static("multipart/form-data")),
        stream,
    }
}

/// [`Client::upload`](crate::client::Client::upload).
pub(crate) async fn upload(shared: &Shared, path: impl AsRef<Path>) -> Result<UploadedFile, Error> {
    upload_with(shared, path, UploadOptions::default()).await
}

/// [`Client::upload_with`](crate::client::Client::upload_with).
pub(crate) async fn upload_with(
    shared: &Shared,
    path: impl AsRef<Path>,
    options: UploadOptions,
) -> Result<UploadedFile, Error> {
    let local = open_local(path.as_ref()).await?;
    let size = local.size;
    let endpoint = endpoint_name(&Method::POST, FILES_PATH);
    let unknown = |reason: String, status: Option<u16>| Error::UploadUnknown { reason, status };
    // The semaphore is never closed; a failure would only mean "no wait".
    let _permit = UPLOADS_AT_ONCE.acquire().await.ok();
    let transport = &shared.transport;
    let sent = transport
        .send_streamed(
            Outgoing {
                method: Method::POST,
                path: FILES_PATH,
                body: None,
                attempt: 1,
                deadline: None,
            },
            multipart(local, options.progress),
        )
        .await;
    // One classification of what an answer proves, shared with the paid submit.
    let api_of = |answer: &Answer| answer_error(answer, &transport.redactor);
    match Proof::of(sent) {
        Proof::NotSent(failure) => Err(Error::NotSent {
            task_id: None,
            reason: failure.reason,
        }),
        Proof::Unknown(Unproven::Lost(failure)) => Err(unknown(failure.reason, failure.status)),
        Proof::Accepted(answer) => {
            let status = answer.status;
            let raw: MediaFile = envelope_data(&endpoint, &answer.body)
                .map_err(|e| unknown(format!("HTTP {status}, but {e}"), Some(status)))?;
            uploaded(raw, Some(size)).ok_or_else(|| {
                unknown(
                    format!("HTTP {status}, but the answer has no usable file_id"),
                    Some(status),
                )
            })
        }
        Proof::Rejected(answer) => {
            let api = api_of(&answer);
            if is_quota(&api) {
                return Err(Error::UploadQuota { api: Box::new(api) });
            }
            Err(Error::Endpoint {
                endpoint,
                api: Box::new(api),
            })
        }
        Proof::Unknown(Unproven::Answered(answer)) if answer.is_redirect() => Err(unknown(
            format!(
                "HTTP {} redirect to {}; an upload is never sent twice, so it was not followed",
                answer.status,
                answer.location()
            ),
            Some(answer.status),
        )),
        Proof::Unknown(Unproven::Answered(answer)) => {
            Err(unknown(api_of(&answer).to_string(), Some(answer.status)))
        }
    }
}

/// [`Client::upload_for`](crate::client::Client::upload_for).
pub(crate) async fn upload_for(shared: &Shared, path: impl AsRef<Path>) -> Result<String, Error> {
    Ok(upload(shared, path).await?.url)
}

/// [`Client::list_files`](crate::client::Client::list_files).
pub(crate) async fn list_files(shared: &Shared, limit: u32) -> Result<Vec<UploadedFile>, Error> {
    let limit = limit.clamp(1, MAX_LIST_LIMIT);
    let path = format!("{FILES_PATH}?limit={limit}");
    let answer = call(shared, Method::GET, &path).await?;
    let data: Value = envelope_data(&endpoint_name(&Method::GET, FILES_PATH), &answer.body)?;
    Ok(parse_list(data))
}

/// [`Client::delete_file`](crate::client::Client::delete_file).
pub(crate) async fn delete_file(shared: &Shared, file_id: &str) -> Result<(), Error> {
    let id = percent_encoding::utf8_percent_encode(file_id, percent_encoding::NON_ALPHANUMERIC);
    let path = format!("{FILES_PATH}/{id}");
    match call(shared, Method::DELETE, &path).await {
        Ok(_) => Ok(()),
        Err(Error::Endpoint { api, .. }) if api.status == 404 => Err(Error::FileNotFound {
            file_id: file_id.to_owned(),
        }),
        Err(e) => Err(e),
    }
}

/// [`Client::delete_files`](crate::client::Client::delete_files).
pub(crate) async fn delete_files(shared: &Shared, uploads: &[UploadedFile]) -> Result<(), Error> {
    let mut first = None;
    for upload in uploads {
        match delete_file(shared, &upload.file_id).await {
            Ok(()) | Err(Error::FileNotFound { .. }) => {}
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_names() {
        let files = parse_list(serde_json::json!({"files": [
            {"file_id": "f1", "url": "https://x/f1.mp4", "size": 10, "created_at": 1_700_000_000},
            {"file_id": 7, "url": "https://x/7.png", "created_at": "2026-11-27T20:00:00Z"},
            {"url": "https://x/no-id"},
        ]}));
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].size, 10);
        assert_eq!(
            files[0].expires_at,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000) + FILE_LIFETIME
        );
        assert_eq!(files[1].file_id, "7");
        assert!(files[1].created_at.is_some());
        assert_eq!(parse_list(serde_json::json!([])).len(), 0);
        assert_eq!(safe_filename(Path::new("/a/my clip\".mp4")), "my_clip_.mp4");
        assert_eq!(safe_filename(Path::new("/a/..")), "upload");
    }
}

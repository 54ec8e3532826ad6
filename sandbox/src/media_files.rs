//! Uploaded media files (`/api/v1/media/files`) with Modellix's limits: 16 MB per
//! file, 10 unexpired files per team (a 403 "Quota exceeded" for one more), kept 7
//! days. Stored files are served back, without a key, at their URL under the
//! sandbox's own origin, so a task whose `video_urls` point at an upload runs end to
//! end.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use crate::answer::Answer;
use crate::auth::unauthorized;
use crate::conn::ConnCtl;
use crate::faults::Route;
use crate::injection::with_fault;
use crate::records::{FILE_LIFETIME, UploadRecord};
use crate::state::{Hit, Shared};

/// Largest file accepted, as Modellix (16 MB).
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;
/// Unexpired files one team may keep.
pub const MAX_FILES: usize = 10;
/// Adds the media file routes to `router`.
pub(crate) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
        .route("/api/v1/media/files", post(upload).get(list))
        .route("/api/v1/media/files/{file_id}", delete(remove))
        .route("/media/{file_id}/{name}", get(serve))
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Extension(conn): Extension<ConnCtl>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.count(Hit::Upload);
    with_fault(&shared, conn, Route::Upload, |_| {
        upload_answer(&shared, &headers, &body)
    })
    .await
}

fn upload_answer(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Answer {
    if let Some(denied) = unauthorized(shared, headers) {
        return denied;
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("multipart/form-data"))
        .and_then(|v| v.split("boundary=").nth(1))
        .map(|b| {
            b.split(';')
                .next()
                .unwrap_or(b)
                .trim_matches('"')
                .to_owned()
        });
    let Some(boundary) = boundary else {
        return Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a multipart/form-data body with a boundary",
        );
    };
    let Some(part) = file_part(body, &boundary) else {
        return Answer::error(StatusCode::BAD_REQUEST, "no multipart field named \"file\"");
    };
    if part.bytes.len() > MAX_UPLOAD_BYTES {
        return Answer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the file is {} bytes; the limit is 16 MB", part.bytes.len()),
        );
    }
    let kind = part
        .content_type
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if !matches!(kind.as_str(), "image" | "video" | "audio") {
        return Answer::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("{} is not an image, video or audio type", part.content_type),
        );
    }
    let mut files = shared.media.files();
    let now = SystemTime::now();
    files.retain(|f| f.created_at + FILE_LIFETIME > now);
    if files.len() >= MAX_FILES {
        return Answer::error_in(
            StatusCode::FORBIDDEN,
            "Quota exceeded",
            format!(
                "the team already keeps {MAX_FILES} files, the most allowed; delete a file or \
                 wait for one to expire"
            ),
        );
    }
    let file_id = format!("file-{:016x}", fastrand::u64(..));
    let record = UploadRecord {
        url: format!("{}/media/{file_id}/{}", shared.base_url, part.filename),
        file_id,
        filename: part.filename,
        content_type: part.content_type,
        bytes: part.bytes,
        created_at: now,
    };
    let data = describe(&record);
    files.push(record);
    Answer::success(data)
}

fn describe(record: &UploadRecord) -> Value {
    let created = record
        .created_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    json!({
        "file_id": record.file_id,
        "type": record.content_type.split('/').next().unwrap_or_default(),
        "url": record.url,
        "filename": record.filename,
        "size": record.bytes.len(),
        "created_at": created,
    })
}

#[derive(serde::Deserialize)]
struct ListQuery {
    limit: Option<String>,
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    shared.count(Hit::Media);
    if let Some(denied) = unauthorized(&shared, &headers) {
        return denied.into_response(false);
    }
    let limit = match query.limit.as_deref().map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n @ 1..=100)) => n,
        Some(_) => {
            return Answer::error(StatusCode::BAD_REQUEST, "limit must be 1 to 100")
                .into_response(false);
        }
    };
    let files: Vec<Value> = shared
        .media
        .records()
        .iter()
        .rev()
        .take(limit)
        .map(describe)
        .collect();
    Answer::success(json!({"files": files, "total": files.len()})).into_response(false)
}

async fn remove(
    State(shared): State<Arc<Shared>>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    shared.count(Hit::Media);
    if let Some(denied) = unauthorized(&shared, &headers) {
        return denied.into_response(false);
    }
    let mut files = shared.media.files();
    let before = files.len();
    files.retain(|f| f.file_id != file_id);
    if files.len() == before {
        return Answer::error(
            StatusCode::NOT_FOUND,
            format!("file {file_id} does not exist"),
        )
        .into_response(false);
    }
    Answer::success(json!({"file_id": file_id, "deleted": true})).into_response(false)
}

/// Uploaded files need no key, like Modellix's signed file URLs.
async fn serve(
    State(shared): State<Arc<Shared>>,
    Path((file_id, name)): Path<(String, String)>,
) -> Response {
    shared.count(Hit::Media);
    let found = shared
        .media
        .records()
        .into_iter()
        .find(|f| f.file_id == file_id && f.filename == name);
    match found {
        Some(file) => {
            let mut response = Response::new(axum::body::Body::from(file.bytes.clone()));
            if let Ok(value) = header::HeaderValue::from_str(&file.content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        None => Answer::error(StatusCode::NOT_FOUND, format!("no file {file_id}/{name}"))
            .into_response(false),
    }
}

/// The `file` field of a multipart body.
struct FilePart {
    filename: String,
    content_type: String,
    bytes: Bytes,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

fn file_part(body: &Bytes, boundary: &str) -> Option<FilePart> {
    let delimiter = format!("--{boundary}");
    let closing = format!("\r\n--{boundary}");
    let mut at = find(body, delimiter.as_bytes(), 0)? + delimiter.len();
    loop {
        if body.get(at..at + 2)? != b"\r\n" {
            return None;
        }
        at += 2;
        let headers_end = find(body, b"\r\n\r\n", at)?;
        let headers = std::str::from_utf8(&body[at..headers_end]).ok()?;
        let start = headers_end + 4;
        let end = find(body, closing.as_bytes(), start)?;
        at = end + closing.len();
        let mut name = None;
        let mut filename = None;
        let mut content_type = "application/octet-stream".to_owned();
        for line in headers.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = value.trim().to_owned();
            } else if key.trim().eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').map(str::trim) {
                    if let Some(v) = param.strip_prefix("name=") {
                        name = Some(v.trim_matches('"').to_owned());
                    } else if let Some(v) = param.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_owned());
                    }
                }
            }
        }
        if name.as_deref() == Some("file") {
            let filename = filename
                .filter(|f| !f.is_empty() && !f.contains(['/', '\\']))
                .unwrap_or_else(|| "upload".to_owned());
            return Some(FilePart {
                filename,
                content_type,
                bytes: body.slice(start..end),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_file_field() {
        let body = Bytes::from_static(
            b"--xyz\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
              --xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\
              Content-Type: video/mp4\r\n\r\n\x00\r\nbytes\r\n--xyz--\r\n",
        );
        let part = file_part(&body, "xyz").unwrap();
        assert_eq!(part.filename, "a.mp4");
        assert_eq!(part.content_type, "video/mp4");
        assert_eq!(&part.bytes[..], b"\x00\r\nbytes");
        assert!(file_part(&body, "other").is_none());
        assert!(file_part(&Bytes::from_static(b"--xyz--\r\n"), "xyz").is_none());
    }
}

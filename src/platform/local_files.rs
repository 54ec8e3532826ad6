//! Local files in a JSON request body (`file://` URLs anywhere, and bare paths in the
//! model's media fields): each goes inline as base64 where its field takes base64 (the
//! model's rules file says so) and it is a small image that keeps the body within
//! Modellix's limit; otherwise it is uploaded and its URL put in its place.
//!
//! This is the one local-file path: the library's `fill_local_files`, `modellix run`
//! and `modellix batch` all go through it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::Error;
use crate::shared::Shared;
use crate::{
    media::image::Image, media::image::InlineForm, platform::upload::UploadedFile,
    schema::operation::Operation, schema::rules::MAX_REQUEST_BYTES,
};

/// Largest image that goes inline; bigger ones are uploaded, which keeps the request
/// small (an upload takes up to 16 MB).
pub const MAX_INLINE_BYTES: u64 = 4 * 1024 * 1024;

/// How `field` of `model_id` takes an inline image, if it does.
fn inline_form(model_id: &str, field: &str) -> Option<InlineForm> {
    Operation::for_model(model_id)?.inline_form(field)
}

/// The top-level field of a JSON pointer (`/reference_images/0` → `reference_images`).
fn top_field(pointer: &str) -> String {
    let first = pointer
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    first.replace("~1", "/").replace("~0", "~")
}

/// Longest string taken for a bare path: longer ones are data (base64), never a name.
const MAX_PATH_LEN: usize = 4096;

/// Whether `text`, found in a media field, names a local file rather than a URL or
/// inline data: no scheme, and either an existing file or written as a relative path
/// (`./clip.mp4`, `../clip.mp4`), so that a missing one is reported as missing. Bare
/// base64 can start with `/` (JPEG's `/9j/`), so an absolute path counts only when it
/// exists.
fn is_bare_path(text: &str) -> bool {
    if text.is_empty() || text.len() > MAX_PATH_LEN || text.contains("://") {
        return false;
    }
    if text
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
    {
        return false;
    }
    text.starts_with("./") || text.starts_with("../") || Path::new(text).exists()
}

/// JSON pointers of every string starting with `file://`, and of every bare path
/// ([`is_bare_path`]) inside a field of `model_id` that has a media rule.
fn collect_local_files(model_id: Option<&str>, value: &Value, out: &mut Vec<String>) {
    fn walk(value: &Value, media: bool, at: &mut String, out: &mut Vec<String>) {
        match value {
            Value::String(s) if s.starts_with("file://") => out.push(at.clone()),
            Value::String(s) if media && is_bare_path(s) => out.push(at.clone()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(item, media, at, out);
                    at.truncate(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    walk(item, media, at, out);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }
    let op = model_id.and_then(Operation::for_model);
    let Value::Object(map) = value else {
        return walk(value, false, &mut String::new(), out);
    };
    for (key, item) in map {
        let media = op.is_some_and(|op| op.media_kinds(key).is_some());
        let mut at = format!("/{}", key.replace('~', "~0").replace('/', "~1"));
        walk(item, media, &mut at, out);
    }
}

/// The local file a slot's text names: a `file://` URL of an absolute path, or a bare
/// path taken from the current directory.
fn local_path(text: &str) -> Result<PathBuf, Error> {
    if text.starts_with("file://") {
        return url::Url::parse(text)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .ok_or_else(|| Error::LocalFile {
                path: PathBuf::from(text),
                reason: "is not a valid file:// URL of an absolute path".into(),
            });
    }
    std::path::absolute(text).map_err(|e| Error::LocalFile {
        path: PathBuf::from(text),
        reason: format!("cannot be resolved from the current directory ({e})"),
    })
}

/// JSON pointers (`/video_urls/0`) of the strings in `body` that
/// [`Client::fill_local_files`](crate::client::Client::fill_local_files) would read
/// as local files for `model_id`: every `file://` URL, and every bare path (an
/// existing file, or one written `./…` or `../…`) inside a field the model's rules
/// give a media rule. Reads no file; tools use it to check a body before uploading
/// anything, with the local files standing in as URLs.
///
/// ```
/// let body = serde_json::json!({
///     "prompt": "./not-a-media-field",
///     "video_urls": ["./clip.mp4", "https://example.com/b.mp4"],
///     "reference_images": ["file:///tmp/style.png"],
/// });
/// let found = modellix::local_file_pointers("bytedance/seedance-2.0-v2v", &body);
/// assert_eq!(found, ["/reference_images/0", "/video_urls/0"]);
/// ```
pub fn local_file_pointers(model_id: &str, body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_local_files(Some(model_id), body, &mut found);
    found
}

/// What became of one local file: its inline value (in that form), or its upload.
enum Filled {
    Inlined(InlineForm, String),
    Uploaded(UploadedFile),
}

/// [`Client::upload_local_files`](crate::client::Client::upload_local_files).
pub(crate) async fn upload_local_files(
    shared: &Shared,
    body: &mut Value,
) -> Result<Vec<UploadedFile>, Error> {
    fill(shared, None, body).await
}

/// [`Client::fill_local_files`](crate::client::Client::fill_local_files).
pub(crate) async fn fill_local_files(
    shared: &Shared,
    model_id: &str,
    body: &mut Value,
) -> Result<Vec<UploadedFile>, Error> {
    fill(shared, Some(model_id), body).await
}

async fn fill(
    shared: &Shared,
    model_id: Option<&str>,
    body: &mut Value,
) -> Result<Vec<UploadedFile>, Error> {
    let mut slots = Vec::new();
    collect_local_files(model_id, body, &mut slots);
    let mut size = crate::schema::rules::serialized_len(body);
    let mut done: Vec<(PathBuf, Filled)> = Vec::new();
    for slot in slots {
        let Some(Value::String(text)) = body.pointer(&slot) else {
            continue;
        };
        let path = match local_path(text) {
            Ok(path) => path,
            Err(error) => return Err(undo(shared, &done, error).await),
        };
        let old_len = text.len() as u64;
        let form = model_id.and_then(|m| inline_form(m, &top_field(&slot)));
        // The replacement is a JSON string; escaping never grows base64 or a URL.
        let fits =
            |value: &str| size.saturating_sub(old_len) + value.len() as u64 <= MAX_REQUEST_BYTES;
        let value = match fill_one(shared, path, form, &mut done, fits).await {
            Ok(value) => value,
            Err(e) => return Err(undo(shared, &done, e).await),
        };
        size = size.saturating_sub(old_len) + value.len() as u64;
        if let Some(slot) = body.pointer_mut(&slot) {
            *slot = Value::String(value);
        }
    }
    Ok(uploads(done))
}

/// What one file becomes: what it became before, when that suits this field (an
/// upload's URL always does, an inline value only in the same form) and fits;
/// inline when its field takes that and it fits; else an upload's URL.
async fn fill_one(
    shared: &Shared,
    path: PathBuf,
    form: Option<InlineForm>,
    done: &mut Vec<(PathBuf, Filled)>,
    fits: impl Fn(&str) -> bool,
) -> Result<String, Error> {
    let seen = done.iter().filter(|(p, _)| *p == path);
    let suits = seen.clone().find_map(|(_, f)| match f {
        Filled::Inlined(how, value) if Some(*how) == form && fits(value) => Some(value.clone()),
        Filled::Uploaded(upload) => Some(upload.url.clone()),
        Filled::Inlined(..) => None,
    });
    if let Some(value) = suits {
        return Ok(value);
    }
    // A file inlined before but not suitable here is not read again: it is uploaded.
    if seen.count() == 0
        && let Some(form) = form
        && let Some(value) = inline(&path, form).await.filter(|v| fits(v))
    {
        done.push((path, Filled::Inlined(form, value.clone())));
        return Ok(value);
    }
    let upload = crate::platform::upload::upload(shared, &path).await?;
    let url = upload.url.clone();
    done.push((path, Filled::Uploaded(upload)));
    Ok(url)
}

/// Deletes the uploads made so far (best effort) and returns `error`.
async fn undo(shared: &Shared, done: &[(PathBuf, Filled)], error: Error) -> Error {
    let files: Vec<UploadedFile> = done
        .iter()
        .filter_map(|(_, f)| match f {
            Filled::Uploaded(u) => Some(u.clone()),
            Filled::Inlined(..) => None,
        })
        .collect();
    let _ = crate::platform::upload::delete_files(shared, &files).await;
    error
}

fn uploads(done: Vec<(PathBuf, Filled)>) -> Vec<UploadedFile> {
    done.into_iter()
        .filter_map(|(_, f)| match f {
            Filled::Uploaded(u) => Some(u),
            Filled::Inlined(..) => None,
        })
        .collect()
}

/// The file as an inline image, or `None` when it is not a small image (it is then
/// uploaded, which judges and refuses it on its own terms).
async fn inline(path: &std::path::Path, form: InlineForm) -> Option<String> {
    let meta = tokio::fs::metadata(path).await.ok()?;
    if !meta.is_file() || meta.len() > MAX_INLINE_BYTES {
        return None;
    }
    let image = Image::loader()
        .max_bytes(MAX_INLINE_BYTES)
        .from_path(path)
        .await
        .ok()?;
    Some(form.write(image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_fields_and_forms() {
        let mut found = Vec::new();
        collect_local_files(
            None,
            &serde_json::json!({"a/b": ["x", "file:///tmp/a.mp4"], "c": "file:///tmp/b.png"}),
            &mut found,
        );
        assert_eq!(found, vec!["/a~1b/1".to_owned(), "/c".to_owned()]);
        // Bare base64 (JPEG starts `/9j/`) and URLs are never paths.
        for text in [
            "/9j/4AAQSkZJRg==",
            "https://a.b/c.mp4",
            "data:image/png;base64,x",
            "",
        ] {
            assert!(!is_bare_path(text), "{text}");
        }
        assert!(is_bare_path("./missing.mp4") && is_bare_path("../x.png"));
        assert_eq!(top_field("/a~1b/1"), "a/b");
        assert_eq!(top_field("/c"), "c");
        let v2v = "bytedance/seedance-2.0-v2v";
        assert_eq!(
            inline_form(v2v, "reference_images"),
            Some(InlineForm::DataUri)
        );
        assert_eq!(inline_form(v2v, "video_urls"), None);
        assert_eq!(inline_form(v2v, "prompt"), None);
        assert_eq!(inline_form("acme/unknown", "image"), None);
    }
}

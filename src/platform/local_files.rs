//! Local files in a JSON request body (`file://` URLs): each goes inline as base64
//! where its field takes base64 (the model's rules file says so) and it is a small
//! image that keeps the body within Modellix's limit; otherwise it is uploaded and its
//! URL put in its place.

use std::path::PathBuf;

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

/// JSON pointers of every string starting with `file://`.
fn collect_file_urls(value: &Value, out: &mut Vec<String>) {
    fn walk(value: &Value, at: &mut String, out: &mut Vec<String>) {
        match value {
            Value::String(s) if s.starts_with("file://") => out.push(at.clone()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(item, at, out);
                    at.truncate(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    walk(item, at, out);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }
    walk(value, &mut String::new(), out);
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
    collect_file_urls(body, &mut slots);
    let mut size = crate::schema::rules::serialized_len(body);
    let mut done: Vec<(PathBuf, Filled)> = Vec::new();
    for slot in slots {
        let Some(Value::String(text)) = body.pointer(&slot) else {
            continue;
        };
        let Some(path) = url::Url::parse(text)
            .ok()
            .and_then(|u| u.to_file_path().ok())
        else {
            let error = Error::LocalFile {
                path: PathBuf::from(text),
                reason: "is not a valid file:// URL of an absolute path".into(),
            };
            return Err(undo(shared, &done, error).await);
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
        collect_file_urls(
            &serde_json::json!({"a/b": ["x", "file:///tmp/a.mp4"], "c": "file:///tmp/b.png"}),
            &mut found,
        );
        assert_eq!(found, vec!["/a~1b/1".to_owned(), "/c".to_owned()]);
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

//! The on-disk cache of schema pages: one file per origin and model,
//! `{dir}/{origin}/{provider}/{model}.json`, holding the page as fetched and its fetch
//! time. Written beside and renamed into place, so a reader never sees half a file. It
//! can always be fetched again: an unreadable entry is ignored.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use url::Url;

use crate::live::page::MAX_SCHEMA_PAGE_BYTES;

/// The cache folder under the user's cache directory (`$XDG_CACHE_HOME/modellix/schemas`
/// on Linux); `None` when the platform has none.
pub(crate) fn default_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("modellix").join("schemas"))
}

/// The entry's file for `model_id` (already checked by `check_model_id`) from `origin`.
pub(crate) fn entry_path(dir: &Path, origin: &Url, model_id: &str) -> PathBuf {
    let host = origin.host_str().unwrap_or("origin").replace(':', "_");
    let origin_key = match origin.port() {
        Some(port) => format!("{host}_{port}"),
        None => host,
    };
    let (provider, model) = model_id.split_once('/').unwrap_or(("_", model_id));
    dir.join(origin_key)
        .join(provider)
        .join(format!("{model}.json"))
}

/// A cached page: its bytes and when they were fetched.
pub(crate) struct Entry {
    pub(crate) page: Vec<u8>,
    pub(crate) fetched_at: SystemTime,
}

impl Entry {
    /// How long ago it was fetched (zero for a time in the future).
    pub(crate) fn age(&self) -> Duration {
        SystemTime::now()
            .duration_since(self.fetched_at)
            .unwrap_or_default()
    }
}

/// The entry at `path`, if there is a readable one.
pub(crate) fn load(path: &Path) -> Option<Entry> {
    let len = std::fs::metadata(path).ok()?.len();
    if len > 2 * MAX_SCHEMA_PAGE_BYTES as u64 + 4096 {
        return None;
    }
    let text = std::fs::read(path).ok()?;
    let value: Value = serde_json::from_slice(&text).ok()?;
    let secs = value.get("fetched_at")?.as_u64()?;
    let page = value.get("page")?;
    Some(Entry {
        page: serde_json::to_vec(page).ok()?,
        fetched_at: UNIX_EPOCH + Duration::from_secs(secs),
    })
}

/// Stores `page` (valid JSON, already read) with its fetch time.
pub(crate) fn store(path: &Path, page: &[u8], fetched_at: SystemTime) -> Result<(), String> {
    let page: Value =
        serde_json::from_slice(page).map_err(|e| format!("the page is not JSON: {e}"))?;
    let secs = fetched_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let text = serde_json::json!({"fetched_at": secs, "page": page}).to_string();
    let dir = path.parent().ok_or("the cache entry has no folder")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let fresh = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&fresh, text)
        .and_then(|()| std::fs::rename(&fresh, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&fresh);
            format!("cannot write {}: {e}", path.display())
        })
}

//! Where a live schema comes from: a fresh cache entry, else a fetch (stored in the
//! cache), else a stale cache entry with a warning. Holds the settings a client was
//! built with: the origin of schema pages, the cache folder, the maximum age.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use url::Url;

use crate::live::cache;
use crate::live::page::{self, LiveSchema, SchemaSource};

/// How long a cached page is used without asking again, unless the client says otherwise.
pub const DEFAULT_SCHEMA_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The live schema settings and HTTP client of one `Client`.
#[derive(Debug)]
pub(crate) struct SchemaStore {
    pub(crate) origin: Url,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) max_age: Duration,
    http: reqwest::Client,
}

impl SchemaStore {
    pub(crate) fn new(
        origin: Url,
        cache_dir: Option<PathBuf>,
        max_age: Duration,
    ) -> Result<SchemaStore, String> {
        Ok(SchemaStore {
            origin,
            cache_dir,
            max_age,
            http: page::http_client()?,
        })
    }

    /// The schema of `model_id` (checked by `check_model_id`), whose page must name a
    /// submit path on `api_origin`. The error says why none could be had.
    pub(crate) async fn get(&self, model_id: &str, api_origin: &str) -> Result<LiveSchema, String> {
        let url = page::page_url(&self.origin, model_id);
        let path = self
            .cache_dir
            .as_ref()
            .map(|dir| cache::entry_path(dir, &self.origin, model_id));
        let cached = path.as_deref().and_then(cache::load);
        if let Some(entry) = &cached
            && entry.age() <= self.max_age
            && let Ok(schema) = page::read(
                model_id,
                &entry.page,
                api_origin,
                entry.fetched_at,
                SchemaSource::Cache,
            )
        {
            return Ok(schema);
        }
        match page::fetch(&self.http, &url).await {
            Ok(bytes) => {
                let now = SystemTime::now();
                // A page refused here is refused: a stale copy does not stand in for it.
                let schema = page::read(model_id, &bytes, api_origin, now, SchemaSource::Fetched)
                    .map_err(|e| format!("{url}: {e}"))?;
                if let Some(path) = &path
                    && let Err(e) = cache::store(path, &bytes, now)
                {
                    tracing::warn!(model = model_id, "schema cache not written: {e}");
                }
                Ok(schema)
            }
            Err(reason) => {
                let reason = reason.to_string();
                let Some(entry) = cached else {
                    return Err(reason);
                };
                let schema = page::read(
                    model_id,
                    &entry.page,
                    api_origin,
                    entry.fetched_at,
                    SchemaSource::StaleCache {
                        reason: reason.clone(),
                    },
                )
                .map_err(|e| format!("{reason}; the cached copy is refused: {e}"))?;
                tracing::warn!(
                    model = model_id,
                    "schema page unreachable ({reason}); using the cached copy from {} ago",
                    humantime::format_duration(Duration::from_secs(entry.age().as_secs()))
                );
                Ok(schema)
            }
        }
    }
}

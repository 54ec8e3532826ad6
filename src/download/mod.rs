//! Saving task results: safe, streaming, atomic downloads of result files.
//!
//! Modellix result URLs are signed CDN links that expire 7 days after the task finished
//! (24 hours for tasks before mid-2026; a task's `result_expires_at`, when given, says
//! exactly), so results should be saved promptly. A [`Downloader`] streams each file to
//! a private temporary file in the target folder, syncs it and renames it into place, so
//! a file under its final name is always complete. It uses its own HTTP client that
//! never carries the API key, refuses plain http and private or reserved addresses
//! (checked on every redirect hop and on resolved addresses) unless allowed, enforces
//! size, count and time limits, and retries transient failures, resuming with a `Range`
//! request where the server supports it.
//!
//! ```no_run
//! use modellix::{DownloadContext, DownloadOptions, Downloader};
//! # async fn demo(resources: Vec<modellix::types::Resource>) -> Result<(), modellix::DownloadError> {
//! let downloader = Downloader::new(DownloadOptions::default())?;
//! let context = DownloadContext::new("task-abc123").model_id("seedance-2.0-v2v");
//! for saved in downloader.download_all(&resources, "outputs", &context).await? {
//!     println!("{} ({} bytes)", saved.path.display(), saved.bytes);
//! }
//! # Ok(()) }
//! ```

mod error;
mod name;
mod policy;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_RANGE,
    LAST_MODIFIED, RANGE,
};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use url::Url;

use crate::media::sniff::{SNIFF_BYTES, sniff};
use crate::types::Resource;

pub use error::{DownloadError, DownloadErrorKind};
pub use name::{MAX_FILE_NAME_BYTES, safe_file_name};
pub use policy::{is_public_address, redact_url};

use name::{NameBook, pick_extension};
use policy::{CheckedResolver, NetPolicy, Refusal, SettingNames, TrustedOrigin, find_refusal};

const GIB: u64 = 1024 * 1024 * 1024;

/// A progress callback; see [`DownloadOptions::on_progress`].
pub type ProgressFn = Arc<dyn Fn(&DownloadProgress) + Send + Sync>;

/// How far one file has got, reported to the progress callback after every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Position of the file in the task's resources (0 for [`Downloader::download_to`]).
    pub index: usize,
    /// Bytes of this file saved so far. Goes back to 0 if a retry has to start over.
    pub bytes_done: u64,
    /// The file's size, when the server announced it.
    pub total_bytes: Option<u64>,
}

/// Limits and policy for a [`Downloader`]. Start from [`Default`] and change what you
/// need with the builder methods.
///
/// ```
/// use std::time::Duration;
/// use modellix::DownloadOptions;
///
/// let options = DownloadOptions::default()
///     .max_file_bytes(200 * 1024 * 1024)
///     .total_timeout(Duration::from_secs(600))
///     .on_progress(|p| eprintln!("{} / {:?} bytes", p.bytes_done, p.total_bytes));
/// ```
#[derive(Clone)]
pub struct DownloadOptions {
    max_file_bytes: u64,
    max_task_bytes: u64,
    max_resources: usize,
    max_redirects: usize,
    inactivity_timeout: Duration,
    total_timeout: Duration,
    allow_http: bool,
    allow_private_hosts: bool,
    trusted_origin: Option<TrustedOrigin>,
    setting_names: SettingNames,
    overwrite: bool,
    file_mode: u32,
    retries: u32,
    retry_backoff: Duration,
    pinned_hosts: Vec<(String, SocketAddr)>,
    progress: Option<ProgressFn>,
}

impl Default for DownloadOptions {
    /// 1 GiB per file, 2 GiB per task, 100 files per task, 5 redirects, 30 s inactivity
    /// and 1 h total timeout per file, https only, public hosts only, no overwriting,
    /// files private to the user (mode 0600 on Unix), 3 retries starting at 250 ms, no
    /// progress callback.
    fn default() -> Self {
        DownloadOptions {
            max_file_bytes: GIB,
            max_task_bytes: 2 * GIB,
            max_resources: 100,
            max_redirects: 5,
            inactivity_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(3600),
            allow_http: false,
            allow_private_hosts: false,
            trusted_origin: None,
            setting_names: SettingNames::default(),
            overwrite: false,
            file_mode: 0o600,
            retries: 3,
            retry_backoff: Duration::from_millis(250),
            pinned_hosts: Vec::new(),
            progress: None,
        }
    }
}

impl fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_task_bytes", &self.max_task_bytes)
            .field("max_resources", &self.max_resources)
            .field("max_redirects", &self.max_redirects)
            .field("inactivity_timeout", &self.inactivity_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("allow_http", &self.allow_http)
            .field("allow_private_hosts", &self.allow_private_hosts)
            .field("trusted_origin", &self.trusted_origin)
            .field("overwrite", &self.overwrite)
            .field("file_mode", &format_args!("{:o}", self.file_mode))
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("pinned_hosts", &self.pinned_hosts)
            .field("progress", &self.progress.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

impl DownloadOptions {
    /// Largest file accepted, in bytes (default 1 GiB). A `Content-Length` above it
    /// fails before the body is read; a longer body is cut off at the limit.
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// Largest total of one task's files, in bytes (default 2 GiB).
    pub fn max_task_bytes(mut self, bytes: u64) -> Self {
        self.max_task_bytes = bytes;
        self
    }

    /// Most result files one task may have (default 100).
    pub fn max_resources(mut self, count: usize) -> Self {
        self.max_resources = count;
        self
    }

    /// Most redirects followed per file (default 5).
    pub fn max_redirects(mut self, count: usize) -> Self {
        self.max_redirects = count;
        self
    }

    /// How long the server may send nothing, while connecting or streaming (default 30 s).
    pub fn inactivity_timeout(mut self, timeout: Duration) -> Self {
        self.inactivity_timeout = timeout;
        self
    }

    /// How long one file may take in all, retries included (default 1 hour).
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Accept plain `http://` URLs, on the first request and on redirects (default
    /// `false`: https only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Accept hosts at loopback, private, link-local and reserved addresses (default
    /// `false`). Meant for the sandbox and tests; see [`is_public_address`].
    pub fn allow_private_hosts(mut self, allow: bool) -> Self {
        self.allow_private_hosts = allow;
        self
    }

    /// Trust the origin (scheme, host and port) of `url` as a whole: results served
    /// there may come over plain http and from a private or loopback address. Meant for
    /// the API origin a user set explicitly (`MODELLIX_BASE_URL=http://127.0.0.1:8080`
    /// for a sandbox run as a server): what it serves is as trusted as its answers.
    /// Other hosts keep the policy; a URL without a host trusts nothing.
    ///
    /// ```
    /// let options = modellix::DownloadOptions::default().trust_origin("http://127.0.0.1:8080");
    /// # drop(options);
    /// ```
    pub fn trust_origin(mut self, url: &str) -> Self {
        self.trusted_origin = TrustedOrigin::of(url);
        self
    }

    /// How a refused download names the settings that would allow it (default:
    /// `DownloadOptions::allow_http` and `DownloadOptions::allow_private_hosts`); a
    /// command line names its flags instead.
    ///
    /// ```
    /// let options = modellix::DownloadOptions::default()
    ///     .setting_names("--allow-insecure-http", "--allow-private-network");
    /// # drop(options);
    /// ```
    pub fn setting_names(
        mut self,
        allow_http: &'static str,
        allow_private_hosts: &'static str,
    ) -> Self {
        self.setting_names = SettingNames {
            allow_http,
            allow_private_hosts,
        };
        self
    }

    /// Permission bits of saved files on Unix (default `0o600`: only the user can read
    /// them, as results may be private); ignored elsewhere.
    ///
    /// ```
    /// let options = modellix::DownloadOptions::default().file_mode(0o644);
    /// ```
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.file_mode = mode & 0o7777;
        self
    }

    /// Replace existing files (atomically, by rename) instead of failing (default `false`).
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// How often a transient failure (connection error or reset, inactivity timeout,
    /// 408, 429, 5xx) is retried per file (default 3).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The first pause before a retry; it doubles on each further retry, up to 16 times
    /// this value (default 250 ms).
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry_backoff = backoff;
        self
    }

    /// Send requests for `host` to `addr` without asking DNS (the URL's port wins over
    /// `addr`'s). A pinned address is trusted because you chose it: the private-address
    /// check does not apply to it, while the scheme, credential and redirect checks do.
    /// Meant for tests and split-horizon setups.
    pub fn pin_host(mut self, host: impl Into<String>, addr: SocketAddr) -> Self {
        self.pinned_hosts.push((host.into(), addr));
        self
    }

    /// Called after every chunk written, with the bytes saved so far, so a progress bar
    /// can follow the download. Keep it quick: it runs on the download's task.
    pub fn on_progress(
        mut self,
        callback: impl Fn(&DownloadProgress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    fn net_policy(&self) -> NetPolicy {
        NetPolicy {
            allow_http: self.allow_http,
            allow_private_hosts: self.allow_private_hosts,
            max_redirects: self.max_redirects,
            trusted: self.trusted_origin.clone(),
            names: self.setting_names,
        }
    }
}

/// The task a download belongs to: names the files and the errors.
///
/// ```
/// use std::time::SystemTime;
/// use modellix::DownloadContext;
///
/// let context = DownloadContext::new("task-abc123")
///     .model_id("seedance-2.0-v2v")
///     .finished_at(SystemTime::now());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadContext {
    /// The task id, e.g. `task-abc123`.
    pub task_id: String,
    /// The model id, when the answer gave it.
    pub model_id: Option<String>,
    /// When the task finished, when known; quoted if the link turns out to be expired.
    pub finished_at: Option<SystemTime>,
}

impl DownloadContext {
    /// A context for `task_id`, without model or finish time.
    pub fn new(task_id: impl Into<String>) -> Self {
        DownloadContext {
            task_id: task_id.into(),
            model_id: None,
            finished_at: None,
        }
    }

    /// Sets the model id.
    pub fn model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = Some(model_id.into());
        self
    }

    /// Sets when the task finished.
    pub fn finished_at(mut self, when: SystemTime) -> Self {
        self.finished_at = Some(when);
        self
    }
}

/// A result file saved completely under its final name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFile {
    /// Where it was saved.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The Content-Type the server gave, if any.
    pub content_type: Option<String>,
    /// The URL it came from, without query string, fragment or credentials.
    pub url: String,
}

/// Downloads result files under a [`DownloadOptions`] policy. Cheap to clone.
///
/// It has its own HTTP client, which never sends an `Authorization` header, cookies
/// or a `Referer`, and does not use proxies (a proxy would resolve host names itself,
/// out of reach of the address check).
///
/// ```no_run
/// use modellix::{DownloadContext, DownloadOptions, Downloader};
/// # async fn demo() -> Result<(), modellix::DownloadError> {
/// let downloader = Downloader::new(DownloadOptions::default())?;
/// let context = DownloadContext::new("task-abc123");
/// let saved = downloader
///     .download_to("https://file.modellix.ai/a.mp4?sig=…", "out/video.mp4", &context)
///     .await?;
/// assert_eq!(saved.path, std::path::Path::new("out/video.mp4"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Downloader {
    client: reqwest::Client,
    options: DownloadOptions,
}

impl Downloader {
    /// A downloader with its own HTTP client built for `options`.
    ///
    /// Fails only if the HTTP client cannot be built (TLS setup).
    pub fn new(options: DownloadOptions) -> Result<Self, DownloadError> {
        crate::transport::tls::install_default_provider();
        let policy = options.net_policy();
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(policy.clone().redirect_policy())
            .dns_resolver(Arc::new(CheckedResolver(policy)))
            .referer(false)
            .connect_timeout(options.inactivity_timeout)
            .read_timeout(options.inactivity_timeout)
            .user_agent(concat!(
                "modellix-rust/",
                env!("CARGO_PKG_VERSION"),
                " (download)"
            ));
        for (host, addr) in &options.pinned_hosts {
            builder = builder.resolve(host, *addr);
        }
        let client = builder
            .build()
            .map_err(|source| DownloadError::new("", None, DownloadErrorKind::Setup { source }))?;
        Ok(Downloader { client, options })
    }

    /// The options this downloader applies.
    pub fn options(&self) -> &DownloadOptions {
        &self.options
    }

    /// Saves the file at `url` as `path` (its folder is created if needed). The
    /// per-file and per-task limits both apply.
    ///
    /// Fails with [`DownloadErrorKind::AlreadyExists`] if `path` exists, unless
    /// overwriting was asked for. On any error nothing is left behind: no temporary
    /// file, and `path` untouched.
    ///
    /// See [`Downloader`] for an example.
    pub async fn download_to(
        &self,
        url: &str,
        path: impl AsRef<Path>,
        context: &DownloadContext,
    ) -> Result<SavedFile, DownloadError> {
        let path = path.as_ref();
        let job = Job {
            raw_url: url,
            context,
            index: 0,
            limit: Limit::new(&self.options, 0),
        };
        self.fetch(job, Target::Path(path)).await
    }

    /// Saves every resource of a task in `dir` (created if needed), one after the
    /// other, under names from [`safe_file_name`]: task id, model id, then the
    /// resource's role or type, e.g. `task-abc123_seedance-2.0-v2v_video.mp4` or
    /// `…_last_frame.png`. The extension comes from the resource's `format`, a MIME
    /// `type`, the response's Content-Type, the file's first bytes (an MP3 is saved as
    /// `.mp3` whatever its URL) or the URL, in that order; duplicates get `_2`, `_3`, …
    /// in resource order.
    ///
    /// A resource without a URL is saved too, never dropped: its text (a speech-to-text
    /// transcript, [`Resource::text`]) as `….txt`, else the whole resource as `….json`.
    /// The text of a resource that also has a URL is saved beside its file as `….txt`.
    /// These files have an empty [`SavedFile::url`].
    ///
    /// Stops at the first error; files saved before it stay (they are complete).
    ///
    /// ```no_run
    /// # use modellix::{DownloadContext, DownloadOptions, Downloader};
    /// # async fn demo(resources: Vec<modellix::types::Resource>) -> Result<(), modellix::DownloadError> {
    /// let downloader = Downloader::new(DownloadOptions::default().overwrite(true))?;
    /// let context = DownloadContext::new("task-abc123").model_id("seedance-2.0-v2v");
    /// let saved = downloader.download_all(&resources, "outputs", &context).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_all(
        &self,
        resources: &[Resource],
        dir: impl AsRef<Path>,
        context: &DownloadContext,
    ) -> Result<Vec<SavedFile>, DownloadError> {
        let dir = dir.as_ref();
        if resources.len() > self.options.max_resources {
            return Err(DownloadError::new(
                &context.task_id,
                None,
                DownloadErrorKind::TooManyResources {
                    count: resources.len(),
                    max: self.options.max_resources,
                },
            ));
        }
        let mut book = NameBook::default();
        let mut saved: Vec<SavedFile> = Vec::with_capacity(resources.len());
        for (index, resource) in resources.iter().enumerate() {
            let used = saved
                .iter()
                .fold(0u64, |sum, file| sum.saturating_add(file.bytes));
            let limit = Limit::new(&self.options, used);
            let Some(url) = resource.url.as_deref() else {
                let (content, extension) = match resource.text() {
                    Some(text) => (text.as_bytes().to_vec(), "txt"),
                    None => (inline_json(resource), "json"),
                };
                let job = Job {
                    raw_url: "",
                    context,
                    index,
                    limit,
                };
                let file = self
                    .save_inline(&job, dir, resource, &mut book, &content, extension)
                    .await?;
                saved.push(file);
                continue;
            };
            let job = Job {
                raw_url: url,
                context,
                index,
                limit,
            };
            let target = Target::Named {
                dir,
                resource,
                book: &mut book,
            };
            saved.push(self.fetch(job, target).await?);
            if let Some(text) = resource.text() {
                let used = used.saturating_add(saved.last().map_or(0, |f| f.bytes));
                let job = Job {
                    raw_url: "",
                    context,
                    index,
                    limit: Limit::new(&self.options, used),
                };
                let file = self
                    .save_inline(&job, dir, resource, &mut book, text.as_bytes(), "txt")
                    .await?;
                saved.push(file);
            }
        }
        Ok(saved)
    }

    /// Saves content a resource carries itself (a transcript, or the resource as JSON)
    /// the way a download is saved: private temporary file, synced, renamed into place.
    async fn save_inline(
        &self,
        job: &Job<'_>,
        dir: &Path,
        resource: &Resource,
        book: &mut NameBook,
        content: &[u8],
        extension: &str,
    ) -> Result<SavedFile, DownloadError> {
        if content.len() as u64 > job.limit.bytes {
            return Err(job.limit.exceeded(job, Some(content.len() as u64)));
        }
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| job.io(dir, source))?;
        let path = dir.join(book.claim(&name_parts(job.context, resource), extension));
        self.check_free(&path, job)?;
        let mut temp = TempFile::create(dir, self.options.file_mode)
            .await
            .map_err(|source| job.io(dir, source))?;
        temp.write(content)
            .await
            .map_err(|source| job.io(&temp.path, source))?;
        temp.persist(&path, self.options.overwrite)
            .await
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => {
                    job.error(DownloadErrorKind::AlreadyExists { path: path.clone() })
                }
                _ => job.io(&path, source),
            })?;
        self.report(job, content.len() as u64, Some(content.len() as u64));
        let content_type = if extension == "txt" {
            "text/plain; charset=utf-8"
        } else {
            "application/json"
        };
        tracing::debug!(task_id = %job.context.task_id, path = %path.display(), bytes = content.len(), "inline result saved");
        Ok(SavedFile {
            path,
            bytes: content.len() as u64,
            content_type: Some(content_type.to_owned()),
            url: String::new(),
        })
    }

    /// One file: policy check, temporary file, transfer with retries, rename.
    async fn fetch(
        &self,
        job: Job<'_>,
        mut target: Target<'_>,
    ) -> Result<SavedFile, DownloadError> {
        let url = Url::parse(job.raw_url).map_err(|e| {
            job.error(DownloadErrorKind::Refused {
                reason: format!("not a valid URL ({e})"),
            })
        })?;
        self.options
            .net_policy()
            .check_url(&url)
            .map_err(|refusal| job.refused(refusal))?;

        let dir = target.dir();
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| job.io(dir, source))?;
        if let Target::Path(path) = target {
            self.check_free(path, &job)?;
        }
        let mut temp = TempFile::create(dir, self.options.file_mode)
            .await
            .map_err(|source| job.io(dir, source))?;

        let transfer = self.transfer_with_retries(&url, &job, &mut target, &mut temp);
        let state = tokio::time::timeout(self.options.total_timeout, transfer)
            .await
            .map_err(|_| {
                job.error(DownloadErrorKind::Timeout {
                    after: self.options.total_timeout,
                    inactivity: false,
                })
            })??;

        let path = state.path.expect("a finished transfer has chosen its path");
        temp.persist(&path, self.options.overwrite)
            .await
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => {
                    job.error(DownloadErrorKind::AlreadyExists { path: path.clone() })
                }
                _ => job.io(&path, source),
            })?;
        let saved = SavedFile {
            path,
            bytes: state.written,
            content_type: state.content_type,
            url: redact_url(job.raw_url),
        };
        tracing::debug!(task_id = %job.context.task_id, url = %saved.url, path = %saved.path.display(), bytes = saved.bytes, "result saved");
        Ok(saved)
    }

    /// Fails early if `path` exists and may not be replaced; the rename re-checks
    /// atomically, this only avoids a pointless transfer.
    fn check_free(&self, path: &Path, job: &Job<'_>) -> Result<(), DownloadError> {
        if !self.options.overwrite && path.symlink_metadata().is_ok() {
            return Err(job.error(DownloadErrorKind::AlreadyExists {
                path: path.to_owned(),
            }));
        }
        Ok(())
    }

    async fn transfer_with_retries(
        &self,
        url: &Url,
        job: &Job<'_>,
        target: &mut Target<'_>,
        temp: &mut TempFile,
    ) -> Result<Transfer, DownloadError> {
        let mut state = Transfer::default();
        let mut retry = 0;
        loop {
            match self.attempt(url, job, target, temp, &mut state).await {
                Ok(()) => return Ok(state),
                Err(Failure::Retry(error)) if retry < self.options.retries => {
                    retry += 1;
                    let pause = retry_pause(self.options.retry_backoff, retry);
                    tracing::debug!(%error, retry, ?pause, "retrying download");
                    tokio::time::sleep(pause).await;
                }
                Err(Failure::Retry(error) | Failure::Fatal(error)) => return Err(error),
            }
        }
    }

    /// One request: resumes with `Range` when the server allows it, else starts over.
    async fn attempt(
        &self,
        url: &Url,
        job: &Job<'_>,
        target: &mut Target<'_>,
        temp: &mut TempFile,
        state: &mut Transfer,
    ) -> Result<(), Failure> {
        let resume_from = (state.resumable && state.written > 0).then_some(state.written);
        let mut request = self.client.get(url.clone());
        if let Some(from) = resume_from {
            request = request.header(RANGE, format!("bytes={from}-"));
            if let Some(validator) = &state.validator {
                request = request.header(IF_RANGE, validator.clone());
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| job.classify(e, &self.options))?;

        let status = response.status();
        let headers = response.headers();
        let total = match (status, resume_from) {
            (StatusCode::OK, _) => {
                // A full body: whatever was saved before is dropped.
                self.restart(job, temp, state).await?;
                state.resumable = header_is(headers, ACCEPT_RANGES, "bytes");
                state.validator = validator(headers);
                response.content_length()
            }
            (StatusCode::PARTIAL_CONTENT, Some(from)) => match content_range(headers) {
                Some(range) if range.continues(from, response.content_length()) => {
                    Some(range.total_or_end())
                }
                // Anything else cannot be spliced on: start over without `Range`.
                _ => {
                    state.resumable = false;
                    return Err(Failure::Retry(
                        job.error(DownloadErrorKind::Status { status: 206 }),
                    ));
                }
            },
            (StatusCode::RANGE_NOT_SATISFIABLE, Some(_)) => {
                state.resumable = false;
                return Err(Failure::Retry(
                    job.error(DownloadErrorKind::Status { status: 416 }),
                ));
            }
            (StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::GONE, _) => {
                return Err(Failure::Fatal(job.error(DownloadErrorKind::Expired {
                    status: status.as_u16(),
                    finished_at: job.context.finished_at,
                })));
            }
            _ => {
                let error = job.error(DownloadErrorKind::Status {
                    status: status.as_u16(),
                });
                let transient = status.is_server_error()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::REQUEST_TIMEOUT;
                return Err(if transient {
                    Failure::Retry(error)
                } else {
                    Failure::Fatal(error)
                });
            }
        };
        if let Some(size) = total.filter(|size| *size > job.limit.bytes) {
            return Err(Failure::Fatal(job.limit.exceeded(job, Some(size))));
        }
        if state.content_type.is_none() {
            state.content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }

        // HTTP/1 without a length or chunked framing ends the body by closing the
        // connection, which a cut looks exactly like (HTTP/2 frames every body).
        let unframed = total.is_none()
            && response.version() <= reqwest::Version::HTTP_11
            && !headers
                .get_all(reqwest::header::TRANSFER_ENCODING)
                .iter()
                .any(|v| {
                    v.to_str()
                        .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
                });
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| job.classify(e, &self.options))?;
            if state.written.saturating_add(chunk.len() as u64) > job.limit.bytes {
                return Err(Failure::Fatal(job.limit.exceeded(job, total)));
            }
            temp.write(&chunk)
                .await
                .map_err(|e| Failure::Fatal(job.io(&temp.path, e)))?;
            state.written += chunk.len() as u64;
            let wanted = SNIFF_BYTES
                .saturating_sub(state.head.len())
                .min(chunk.len());
            state.head.extend_from_slice(&chunk[..wanted]);
            if state.head.len() >= SNIFF_BYTES {
                self.choose_path(job, target, url, state)?;
            }
            self.report(job, state.written, total);
        }
        self.choose_path(job, target, url, state)?;
        match total {
            Some(expected) if expected != state.written => {
                Err(Failure::Retry(job.error(DownloadErrorKind::Incomplete {
                    received: state.written,
                    expected,
                })))
            }
            // Retrying brings the same framing: the error is final.
            None if unframed => Err(Failure::Fatal(job.error(DownloadErrorKind::Unframed {
                received: state.written,
            }))),
            _ => Ok(()),
        }
    }

    async fn restart(
        &self,
        job: &Job<'_>,
        temp: &mut TempFile,
        state: &mut Transfer,
    ) -> Result<(), Failure> {
        if state.written > 0 {
            temp.reset()
                .await
                .map_err(|e| Failure::Fatal(job.io(&temp.path, e)))?;
            state.written = 0;
            self.report(job, 0, None);
        }
        if state.path.is_none() {
            state.head.clear();
        }
        Ok(())
    }

    /// Chooses the final path once enough of the file is known to judge its type (its
    /// first `SNIFF_BYTES`, or the whole of a shorter file: called again at its end),
    /// failing early if it exists and may not be replaced.
    fn choose_path(
        &self,
        job: &Job<'_>,
        target: &mut Target<'_>,
        url: &Url,
        state: &mut Transfer,
    ) -> Result<(), Failure> {
        if state.path.is_some() {
            return Ok(());
        }
        let path = target.path_for(job.context, state.content_type.as_deref(), &state.head, url);
        self.check_free(&path, job).map_err(Failure::Fatal)?;
        state.path = Some(path);
        Ok(())
    }

    fn report(&self, job: &Job<'_>, bytes_done: u64, total_bytes: Option<u64>) {
        if let Some(callback) = &self.options.progress {
            callback(&DownloadProgress {
                index: job.index,
                bytes_done,
                total_bytes,
            });
        }
    }
}

/// One file's download: its URL as given, its task and the byte limit that applies.
struct Job<'a> {
    raw_url: &'a str,
    context: &'a DownloadContext,
    index: usize,
    limit: Limit,
}

impl Job<'_> {
    fn error(&self, kind: DownloadErrorKind) -> DownloadError {
        let url = Some(self.raw_url).filter(|url| !url.is_empty());
        DownloadError::new(&self.context.task_id, url, kind)
    }

    fn io(&self, path: &Path, source: io::Error) -> DownloadError {
        self.error(DownloadErrorKind::Io {
            path: path.to_owned(),
            source,
        })
    }

    fn refused(&self, refusal: Refusal) -> DownloadError {
        self.error(match refusal {
            Refusal::Policy(reason) => DownloadErrorKind::Refused { reason },
            Refusal::TooManyRedirects(max) => DownloadErrorKind::TooManyRedirects { max },
        })
    }

    /// Policy refusals (from the redirect policy or the resolver) are final; other
    /// network failures are worth a retry. The URL is stripped from reqwest's error.
    fn classify(&self, error: reqwest::Error, options: &DownloadOptions) -> Failure {
        if let Some(refusal) = find_refusal(&error) {
            return Failure::Fatal(self.refused(refusal.clone()));
        }
        if error.is_timeout() {
            return Failure::Retry(self.error(DownloadErrorKind::Timeout {
                after: options.inactivity_timeout,
                inactivity: true,
            }));
        }
        let is_builder = error.is_builder();
        let failure = self.error(DownloadErrorKind::Network {
            source: error.without_url(),
        });
        if is_builder {
            Failure::Fatal(failure)
        } else {
            Failure::Retry(failure)
        }
    }
}

/// The byte limit for one file: the per-file limit or what is left of the task's.
#[derive(Debug, Clone, Copy)]
struct Limit {
    bytes: u64,
    /// Whether the task limit is the tighter one (decides which error is reported).
    task_wide: bool,
    file_limit: u64,
    task_limit: u64,
}

impl Limit {
    fn new(options: &DownloadOptions, task_bytes_used: u64) -> Self {
        let task_left = options.max_task_bytes.saturating_sub(task_bytes_used);
        Limit {
            bytes: options.max_file_bytes.min(task_left),
            task_wide: task_left < options.max_file_bytes,
            file_limit: options.max_file_bytes,
            task_limit: options.max_task_bytes,
        }
    }

    fn exceeded(&self, job: &Job<'_>, declared: Option<u64>) -> DownloadError {
        job.error(if self.task_wide {
            DownloadErrorKind::TaskTooLarge {
                limit: self.task_limit,
            }
        } else {
            DownloadErrorKind::FileTooLarge {
                limit: self.file_limit,
                declared,
            }
        })
    }
}

/// A failed attempt: worth another try, or not.
enum Failure {
    Retry(DownloadError),
    Fatal(DownloadError),
}

/// What one file's transfer has achieved so far, kept across retries.
#[derive(Debug, Default)]
struct Transfer {
    written: u64,
    /// The server takes `Range` requests for this file.
    resumable: bool,
    /// ETag or Last-Modified, sent as `If-Range` so a changed file is not spliced.
    validator: Option<HeaderValue>,
    content_type: Option<String>,
    /// The file's first bytes (up to `SNIFF_BYTES`), which judge its type when the
    /// answer does not say.
    head: Vec<u8>,
    /// Final path, chosen once the first bytes are known.
    path: Option<PathBuf>,
}

/// Where a file goes: a path the caller chose, or a generated name in a folder.
enum Target<'a> {
    Path(&'a Path),
    Named {
        dir: &'a Path,
        resource: &'a Resource,
        book: &'a mut NameBook,
    },
}

impl Target<'_> {
    fn dir(&self) -> &Path {
        match self {
            Target::Path(path) => match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            },
            Target::Named { dir, .. } => dir,
        }
    }

    fn path_for(
        &mut self,
        context: &DownloadContext,
        content_type: Option<&str>,
        head: &[u8],
        url: &Url,
    ) -> PathBuf {
        match self {
            Target::Path(path) => path.to_path_buf(),
            Target::Named {
                dir,
                resource,
                book,
            } => {
                let extension = pick_extension(
                    resource.format.as_deref(),
                    &resource.type_,
                    content_type,
                    sniff(head),
                    url.path(),
                );
                dir.join(book.claim(&name_parts(context, resource), &extension))
            }
        }
    }
}

/// The parts of a resource's file name: task id, model id, then its role or type.
fn name_parts<'a>(context: &'a DownloadContext, resource: &'a Resource) -> Vec<&'a str> {
    let label = resource.role.as_deref().unwrap_or(&resource.type_);
    let mut parts = vec![context.task_id.as_str()];
    parts.extend(context.model_id.as_deref());
    parts.push(label);
    parts
}

/// A resource without URL or text, as pretty JSON: every field it carries is kept.
fn inline_json(resource: &Resource) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(resource).unwrap_or_default();
    json.push(b'\n');
    json
}

fn header_is(headers: &HeaderMap, name: reqwest::header::HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
}

/// A strong ETag, else Last-Modified: what `If-Range` accepts (a weak ETag would make
/// every resumption start over).
fn validator(headers: &HeaderMap) -> Option<HeaderValue> {
    let strong_etag = headers
        .get(ETAG)
        .filter(|etag| !etag.as_bytes().starts_with(b"W/"));
    strong_etag.or(headers.get(LAST_MODIFIED)).cloned()
}

/// The pause before retry number `retry` (1-based): `backoff`, doubled per further
/// retry up to 16 times, saturating instead of overflowing for huge configured values.
fn retry_pause(backoff: Duration, retry: u32) -> Duration {
    backoff.saturating_mul(1 << retry.clamp(1, 5).saturating_sub(1))
}

/// A `Content-Range: bytes start-end/total` header, checked to be a possible range:
/// `start <= end`, and `end < total` when the total is known (not `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContentRange {
    start: u64,
    end: u64,
    total: Option<u64>,
}

impl ContentRange {
    /// Whether this answer carries the rest of the file from byte `from` on, consistent
    /// with its `Content-Length` (when given): `end - start + 1` bytes.
    fn continues(&self, from: u64, content_length: Option<u64>) -> bool {
        let length = self.end - self.start + 1; // start <= end < u64::MAX: no overflow
        self.start == from && content_length.is_none_or(|declared| declared == length)
    }

    /// The file's size: the total, else what the range's end implies.
    fn total_or_end(&self) -> u64 {
        self.total.unwrap_or(self.end + 1)
    }
}

/// Parses `Content-Range`; `None` for anything malformed or impossible, including
/// numbers beyond `u64` and an end of `u64::MAX` (its size would not fit).
fn content_range(headers: &HeaderMap) -> Option<ContentRange> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes ")?;
    let (span, total) = range.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    let total = match total.trim() {
        "*" => None,
        n => Some(n.parse::<u64>().ok()?),
    };
    let possible = start <= end && end < u64::MAX && total.is_none_or(|total| end < total);
    possible.then_some(ContentRange { start, end, total })
}

/// A private temporary file next to the target, removed on drop unless persisted, so
/// an error, a timeout or a cancelled future leaves nothing behind.
struct TempFile {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    persisted: bool,
}

impl TempFile {
    async fn create(dir: &Path, mode: u32) -> io::Result<Self> {
        let path = dir.join(format!(".modellix-{:016x}.part", fastrand::u64(..)));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(mode);
        #[cfg(not(unix))]
        let _ = mode;
        let file = options.open(&path).await?;
        Ok(TempFile {
            path,
            file: Some(file),
            persisted: false,
        })
    }

    fn file(&mut self) -> &mut tokio::fs::File {
        self.file
            .as_mut()
            .expect("the file is open until persisted")
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file().write_all(bytes).await
    }

    async fn reset(&mut self) -> io::Result<()> {
        let file = self.file();
        file.flush().await?;
        file.set_len(0).await?;
        file.rewind().await?;
        Ok(())
    }

    /// Syncs the data, then moves it to `dest`. Without `overwrite`, a hard link makes
    /// the move fail atomically if `dest` exists; file systems without hard links fall
    /// back to check-then-rename.
    async fn persist(mut self, dest: &Path, overwrite: bool) -> io::Result<()> {
        let mut file = self.file.take().expect("the file is open until persisted");
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        if overwrite {
            tokio::fs::rename(&self.path, dest).await?;
        } else {
            match tokio::fs::hard_link(&self.path, dest).await {
                Ok(()) => tokio::fs::remove_file(&self.path).await?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
                Err(_) if tokio::fs::symlink_metadata(dest).await.is_ok() => {
                    return Err(io::ErrorKind::AlreadyExists.into());
                }
                Err(_) => tokio::fs::rename(&self.path, dest).await?,
            }
        }
        self.persisted = true;
        sync_dir(dest).await;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Makes the rename durable. Best effort: not every platform can sync a folder.
async fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = tokio::fs::File::open(dir).await
    {
        let _ = dir.sync_all().await;
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range_of(value: &str) -> Option<ContentRange> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_RANGE, HeaderValue::from_str(value).unwrap());
        content_range(&headers)
    }

    #[test]
    fn content_ranges_are_parsed_only_when_possible() {
        let range = |start, end, total| Some(ContentRange { start, end, total });
        let max = u64::MAX;
        let cases = [
            ("bytes 0-9/10", range(0, 9, Some(10))),
            (" bytes 5 - 9 / * ", range(5, 9, None)),
            ("bytes 9-9/10", range(9, 9, Some(10))),
            ("bytes 10-9/10", None),
            ("bytes 0-10/10", None),
            ("bytes 0-9/9", None),
            (&format!("bytes 0-{max}/*"), None),
            (&format!("bytes 0-{}/*", max - 1), range(0, max - 1, None)),
            ("bytes 0-9/184467440737095516160", None),
            ("bytes -9/10", None),
            ("bytes 0-/10", None),
            ("bytes 0-9", None),
            ("items 0-9/10", None),
            ("bytes */10", None),
        ];
        for (value, expected) in cases {
            assert_eq!(range_of(value), expected, "{value:?}");
        }
    }

    #[test]
    fn a_range_continues_only_from_the_asked_byte_with_a_matching_length() {
        let range = ContentRange {
            start: 100,
            end: 199,
            total: None,
        };
        assert!(range.continues(100, None));
        assert!(range.continues(100, Some(100)));
        assert!(!range.continues(100, Some(101)));
        assert!(!range.continues(100, Some(u64::MAX - 10)));
        assert!(!range.continues(99, None));
        assert_eq!(range.total_or_end(), 200);
        let full = ContentRange {
            start: 0,
            end: u64::MAX - 1,
            total: None,
        };
        assert!(full.continues(0, Some(u64::MAX)));
        assert_eq!(full.total_or_end(), u64::MAX);
    }

    #[test]
    fn retry_pauses_double_up_to_sixteen_times_and_saturate() {
        let ms = Duration::from_millis;
        let cases = [
            (ms(250), 1, ms(250)),
            (ms(250), 2, ms(500)),
            (ms(250), 5, ms(4000)),
            (ms(250), 50, ms(4000)),
            (ms(250), 0, ms(250)),
            (Duration::MAX, 1, Duration::MAX),
            (Duration::MAX, 5, Duration::MAX),
            (Duration::ZERO, 3, Duration::ZERO),
        ];
        for (backoff, retry, expected) in cases {
            assert_eq!(
                retry_pause(backoff, retry),
                expected,
                "{backoff:?} #{retry}"
            );
        }
    }
}

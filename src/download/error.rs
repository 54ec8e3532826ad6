//! The download error: what failed, for which task and URL, and what to do next.

use std::error::Error as StdError;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A result file that could not be saved.
///
/// Always names the task and, when one is involved, the URL with its query string,
/// fragment and credentials removed (signed result URLs carry their signature in the
/// query). No auth header or API key ever appears in it, in `Display` or `Debug`.
///
/// ```
/// # async fn demo(
/// #     downloader: &modellix::Downloader,
/// #     context: &modellix::DownloadContext,
/// # ) {
/// match downloader.download_to("https://file.modellix.ai/a.mp4?sig=…", "out.mp4", context).await {
///     Ok(saved) => println!("saved {}", saved.path.display()),
///     Err(e) if e.is_expired() => eprintln!("too late: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct DownloadError {
    task_id: String,
    url: Option<String>,
    kind: DownloadErrorKind,
}

/// What went wrong in a [`DownloadError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum DownloadErrorKind {
    /// The URL, a redirect hop or a resolved address breaks the network policy: not
    /// http(s), plain http not allowed, embedded credentials, or a loopback, private,
    /// link-local or reserved address. Nothing was sent to the refused address.
    Refused {
        /// Why, with any URL redacted.
        reason: String,
    },
    /// The server redirected more often than allowed.
    TooManyRedirects {
        /// The allowed number of redirects.
        max: usize,
    },
    /// The file is larger than the per-file limit (found from `Content-Length` before
    /// reading, or while streaming).
    FileTooLarge {
        /// The per-file limit in bytes.
        limit: u64,
        /// The size the server announced, when it did.
        declared: Option<u64>,
    },
    /// The task's files together exceed the per-task limit.
    TaskTooLarge {
        /// The per-task limit in bytes.
        limit: u64,
    },
    /// The task has more result files than allowed.
    TooManyResources {
        /// How many the task has.
        count: usize,
        /// The allowed number.
        max: usize,
    },
    /// The result link answered 403, 404 or 410: signed result links expire 7 days
    /// after the task finished (24 hours before mid-2026).
    Expired {
        /// The HTTP status.
        status: u16,
        /// When the task finished, if known.
        finished_at: Option<SystemTime>,
    },
    /// Another HTTP error status (for 429 and 5xx, after the retries).
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The body ended before the announced size, after the retries.
    Incomplete {
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The body came with neither a length nor chunked framing, ended only by the
    /// server closing the connection: a cut could not be told from the end, so the
    /// file is not saved.
    Unframed {
        /// Bytes received before the connection closed.
        received: u64,
    },
    /// The connection failed or broke, after the retries. The source has no URL.
    Network {
        /// The last failure.
        source: reqwest::Error,
    },
    /// The server sent nothing for the inactivity timeout (after the retries), or the
    /// whole download took longer than the total timeout.
    Timeout {
        /// The timeout that ran out.
        after: Duration,
        /// `true` for the inactivity timeout, `false` for the total one.
        inactivity: bool,
    },
    /// The target file exists and overwriting was not asked for; it was left untouched.
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Reading or writing a local file failed.
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The downloader's HTTP client could not be built.
    Setup {
        /// The failure.
        source: reqwest::Error,
    },
}

impl DownloadError {
    /// An error for `task_id`; `url` is redacted here, whatever the caller passed.
    pub(crate) fn new(task_id: &str, url: Option<&str>, kind: DownloadErrorKind) -> Self {
        DownloadError {
            task_id: task_id.to_owned(),
            url: url.map(super::redact_url),
            kind,
        }
    }

    /// The task whose result this was (empty only for [`DownloadErrorKind::Setup`]).
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// The URL, without query string, fragment or credentials.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &DownloadErrorKind {
        &self.kind
    }

    /// The result link has expired (403, 404 or 410 from the file host).
    pub fn is_expired(&self) -> bool {
        matches!(self.kind, DownloadErrorKind::Expired { .. })
    }

    /// A size, count or redirect limit was hit.
    pub fn is_limit(&self) -> bool {
        matches!(
            self.kind,
            DownloadErrorKind::FileTooLarge { .. }
                | DownloadErrorKind::TaskTooLarge { .. }
                | DownloadErrorKind::TooManyResources { .. }
                | DownloadErrorKind::TooManyRedirects { .. }
        )
    }

    /// The network policy refused the URL, a redirect or a resolved address.
    pub fn is_refused(&self) -> bool {
        matches!(self.kind, DownloadErrorKind::Refused { .. })
    }

    /// A timeout ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, DownloadErrorKind::Timeout { .. })
    }
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DownloadErrorKind as K;
        if let K::Setup { source } = &self.kind {
            return write!(f, "could not set up the downloader: {source}");
        }
        write!(f, "could not save the result of task {}", self.task_id)?;
        if let Some(url) = &self.url {
            write!(f, " from {url}")?;
        }
        f.write_str(": ")?;
        match &self.kind {
            K::Refused { reason } => write!(
                f,
                "refused: {reason}. Check where the link points; opt in only for hosts you trust"
            ),
            K::TooManyRedirects { max } => write!(
                f,
                "more than {max} redirects; raise DownloadOptions::max_redirects if this is expected"
            ),
            K::FileTooLarge { limit, declared } => {
                write!(
                    f,
                    "the file is larger than the per-file limit of {limit} bytes"
                )?;
                if let Some(size) = declared {
                    write!(f, " (the server announced {size} bytes)")?;
                }
                f.write_str("; raise DownloadOptions::max_file_bytes to save it")
            }
            K::TaskTooLarge { limit } => write!(
                f,
                "the task's files exceed the per-task limit of {limit} bytes; \
                 raise DownloadOptions::max_task_bytes to save them all"
            ),
            K::TooManyResources { count, max } => write!(
                f,
                "the task has {count} result files, more than the limit of {max}; \
                 raise DownloadOptions::max_resources to save them all"
            ),
            K::Expired {
                status,
                finished_at,
            } => {
                write!(
                    f,
                    "the result link has expired or is no longer valid (HTTP {status}); \
                     Modellix result links expire 7 days after the task finished (24 hours \
                     before mid-2026)"
                )?;
                if let Some(when) = finished_at.and_then(http_date) {
                    write!(f, " (this task finished {when})")?;
                }
                f.write_str(". The file cannot be fetched any more; run the task again if you still need it")
            }
            K::Status { status } => {
                write!(f, "the file host answered HTTP {status}; try again later")
            }
            K::Incomplete { received, expected } => write!(
                f,
                "the file host sent {received} of {expected} bytes; try again soon, before \
                 the link expires"
            ),
            K::Unframed { received } => write!(
                f,
                "the file host sent {received} bytes with no length and ended by closing the \
                 connection, so the file cannot be known complete and was not saved; try again \
                 soon, before the link expires"
            ),
            K::Network { source } => write!(
                f,
                "the connection failed ({source}); check the network and try again soon, \
                 before the link expires"
            ),
            K::Timeout { after, inactivity } => {
                let which = if *inactivity {
                    "no data for"
                } else {
                    "the download took longer than"
                };
                write!(
                    f,
                    "{which} {after:?}; try again, or raise DownloadOptions::{}",
                    if *inactivity {
                        "inactivity_timeout"
                    } else {
                        "total_timeout"
                    }
                )
            }
            K::AlreadyExists { path } => write!(
                f,
                "{} already exists and was left untouched; choose another folder or set \
                 DownloadOptions::overwrite",
                path.display()
            ),
            K::Io { path, source } => write!(
                f,
                "could not write {} ({source}); check the folder exists, is writable and has space",
                path.display()
            ),
            K::Setup { .. } => Ok(()), // written above
        }
    }
}

impl StdError for DownloadError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            DownloadErrorKind::Network { source } | DownloadErrorKind::Setup { source } => {
                Some(source)
            }
            DownloadErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `when` as an HTTP date, or `None` outside what one can show (before 1970, from the
/// year 10000 on), where `httpdate` would panic.
fn http_date(when: SystemTime) -> Option<String> {
    /// 10000-01-01T00:00:00Z.
    const YEAR_10000: u64 = 253_402_300_800;
    let since_epoch = when.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    (since_epoch.as_secs() < YEAR_10000).then(|| httpdate::fmt_http_date(when))
}

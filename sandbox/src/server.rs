//! The listener and its accept loop, and the [`Sandbox`] handle.
//!
//! The loop is hand-written (hyper-util serving the axum router) rather than
//! `axum::serve`, so that a handler can drop its own connection with a TCP reset
//! after reading the request: the [`Fault::Reset`] case.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tower_service::Service;

use crate::config::SandboxConfig;
use crate::conn::ConnCtl;
use crate::faults::{Fault, Route};
use crate::limits::{LimitRejections, Limiter};
use crate::records::{Counts, FaultLog, TaskRecord};
use crate::routes::router;
use crate::state::Shared;

/// A running local Modellix on 127.0.0.1. Stops when dropped or on
/// [`shutdown`](Sandbox::shutdown).
pub struct Sandbox {
    shared: Arc<Shared>,
    limiter: Arc<Limiter>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Sandbox {
    /// Starts a sandbox with the default configuration: a free port, the key
    /// [`DEFAULT_API_KEY`](crate::DEFAULT_API_KEY), instant tasks that all succeed, no
    /// faults.
    pub async fn start() -> std::io::Result<Sandbox> {
        Self::start_with(SandboxConfig::default()).await
    }

    /// A configuration to change, then [`start`](SandboxConfig::start).
    pub fn builder() -> SandboxConfig {
        SandboxConfig::default()
    }

    pub(crate) async fn start_with(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, format!("http://{addr}")));
        let app = router(shared.clone(), modellix::OPERATIONS);
        let limiter = Limiter::new(shared.clone(), modellix::OPERATIONS);
        let server = tokio::spawn(accept_loop(listener, limiter.layer(app)));
        Ok(Sandbox {
            shared,
            limiter,
            addr,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash: the base URL to give a
    /// client.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key it accepts as `Authorization: Bearer <key>`.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// A client set up for this sandbox, for your own tests: its key and URL, polls
    /// every 20 ms (the default schedule waits about 2 s before the first query), no
    /// pacing of its own (the sandbox enforces a rate limit only when configured with
    /// one) and an in-memory ledger.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = modellix_sandbox::Sandbox::builder().start().await?;
    /// let client = sandbox.client()?;
    /// let request = modellix::types::Seedance20V2vRequest::builder()
    ///     .prompt("Extend [Video 1]")
    ///     .video_urls(["https://example.com/in.mp4"])
    ///     .build()?;
    /// let output = client.submit(&request).await?.wait().await?;
    /// let dir = std::env::temp_dir().join(format!("sandbox-doc-{}", std::process::id()));
    /// let files = output.download_all(&sandbox.downloader()?, &dir).await?;
    /// assert_eq!(files.len(), 1);
    /// # std::fs::remove_dir_all(dir)?; Ok(()) }
    /// ```
    pub fn client(&self) -> Result<modellix::Client, modellix::ConfigError> {
        self.client_builder().build()
    }

    /// [`Sandbox::client`]'s settings, to change some before building.
    pub fn client_builder(&self) -> modellix::ClientBuilder {
        modellix::Client::builder()
            .api_key(self.api_key())
            .base_url(self.base_url())
            // Schema pages from the sandbox itself, fetched each time (no disk cache).
            .schema_url(self.base_url())
            .schema_cache_dir(None::<std::path::PathBuf>)
            .poll_schedule(modellix::Backoff::fixed(std::time::Duration::from_millis(
                20,
            )))
            .requests_per_minute(None)
            // A sandbox's tasks are not real: they stay out of the durable ledger.
            .memory_ledger()
    }

    /// A downloader allowed to fetch this sandbox's result files, which are served over
    /// plain http from 127.0.0.1 (both refused by default, as they should be for real
    /// result links).
    pub fn downloader(&self) -> Result<modellix::Downloader, modellix::DownloadError> {
        modellix::Downloader::new(
            modellix::DownloadOptions::default()
                .allow_http(true)
                .allow_private_hosts(true),
        )
    }

    /// Requests received so far, by route.
    pub fn counts(&self) -> Counts {
        self.shared.counts()
    }

    /// Every task created so far, in order, including those whose submit got no
    /// usable answer.
    pub fn tasks(&self) -> Vec<TaskRecord> {
        self.shared.tasks()
    }

    /// The task with this id.
    pub fn task(&self, task_id: &str) -> Option<TaskRecord> {
        self.tasks().into_iter().find(|t| t.task_id == task_id)
    }

    /// Every uploaded file still kept, oldest first, with the bytes received.
    pub fn uploads(&self) -> Vec<crate::UploadRecord> {
        self.shared.media.records()
    }

    /// Requests refused by the rate and running-task limits so far (they reach no
    /// route, so [`counts`](Sandbox::counts) does not see them).
    pub fn limit_rejections(&self) -> LimitRejections {
        self.limiter.rejections()
    }

    /// Every webhook delivery attempt made so far, in order (see
    /// [`WebhookAttempt`](crate::WebhookAttempt)): a submit carrying `X-Webhook-URL`
    /// is reported to that URL when its task ends.
    pub fn webhook_attempts(&self) -> Vec<crate::WebhookAttempt> {
        self.shared.webhooks()
    }

    /// Every fault applied so far, in order.
    pub fn faults_injected(&self) -> FaultLog {
        self.shared.faults()
    }

    /// Scripts a fault while running: the next `times` requests to `route` get
    /// `fault`, after any already scripted.
    pub fn script(&self, route: Route, times: usize, fault: Fault) {
        self.shared.script(route, times, fault);
    }

    /// Stops listening and drops every open connection.
    pub async fn shutdown(mut self) {
        self.server.abort();
        // The task was aborted on purpose; its cancellation error says nothing.
        let _ = (&mut self.server).await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// Hand-written so that the key never reaches a log through `{:?}`.
impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url())
            .field("config", &self.shared.config)
            .finish()
    }
}

/// Accepts connections until aborted; dropping the set aborts every connection.
async fn accept_loop(listener: TcpListener, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, app.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, app: Router) {
    // hyper owns the stream; a second handle on the same socket lets us set
    // SO_LINGER 0 when aborting, so that closing sends a reset instead of a FIN.
    let Ok((stream, twin)) = split_handle(stream) else {
        return;
    };
    let abort = Arc::new(Notify::new());
    let ctl = ConnCtl(abort.clone());
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ctl.clone());
        app.clone().call(request)
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        _ = abort.notified() => {
            let _ = socket2::SockRef::from(&twin).set_linger(Some(Duration::ZERO));
        }
    }
}

fn split_handle(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let stream = stream.into_std()?;
    let twin = stream.try_clone()?;
    Ok((TcpStream::from_std(stream)?, twin))
}

//! The downloader against small HTTP servers on 127.0.0.1 started by each test.
//!
//! Only loopback is ever connected to. Private-address refusals are tested with
//! 127.0.0.1 and `localhost` (without `allow_private_hosts`) and with 10.0.0.1 URLs,
//! which the policy refuses before any connection is attempted.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use modellix::download::{
    DownloadContext, DownloadError, DownloadErrorKind, DownloadOptions, Downloader,
    MAX_FILE_NAME_BYTES, safe_file_name,
};
use modellix::types::Resource;
use proptest::prelude::*;

/// In every test URL; must never show up in an error.
const SECRET: &str = "X-Sig=SECRET";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
}

type Log = Arc<Mutex<Vec<Seen>>>;

struct Server {
    addr: SocketAddr,
    log: Log,
}

impl Server {
    /// Serves `app` on 127.0.0.1, recording every request.
    async fn start(app: Router) -> Server {
        Server::start_with(|_| app).await
    }

    /// Serves the app `make` builds for the server's port.
    async fn start_with(make: impl FnOnce(u16) -> Router) -> Server {
        let log = Log::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = make(addr.port()).layer(middleware::from_fn_with_state(log.clone(), record));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}?{SECRET}", self.addr.port())
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

async fn record(State(log): State<Log>, request: Request, next: Next) -> Response {
    log.lock().unwrap().push(Seen {
        path: request.uri().path().to_owned(),
        headers: request.headers().clone(),
    });
    next.run(request).await
}

/// Options for loopback test servers: http and private hosts allowed, quick retries.
fn local() -> DownloadOptions {
    DownloadOptions::default()
        .allow_http(true)
        .allow_private_hosts(true)
        .retry_backoff(Duration::from_millis(5))
}

fn context() -> DownloadContext {
    DownloadContext::new("task-abc123").model_id("seedance-2.0-v2v")
}

fn payload(len: usize) -> Bytes {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn resource(url: &str, type_: &str, role: Option<&str>, format: Option<&str>) -> Resource {
    serde_json::from_value(serde_json::json!({
        "url": url, "type": type_, "role": role, "format": format
    }))
    .unwrap()
}

/// Names of the files in `dir`, sorted (temporary files included: there must be none).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The error's text, checked to carry neither the query string nor the URL's secrets.
fn text(error: &DownloadError) -> String {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("SECRET"), "query string leaked: {shown}");
    assert!(!shown.contains("hunter2"), "credentials leaked: {shown}");
    error.to_string()
}

/// A file server: honours `Range: bytes=N-` when `ranges` is set, and cuts the
/// connection after `cut_at` bytes of the body when given.
fn serve_bytes(body: &Bytes, headers: &HeaderMap, ranges: bool, cut_at: Option<usize>) -> Response {
    let start = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|_| ranges);
    let mut response = Response::builder()
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::ETAG, "\"v1\"");
    if ranges {
        response = response.header(header::ACCEPT_RANGES, "bytes");
    }
    let part = match start {
        Some(start) => {
            response = response.status(StatusCode::PARTIAL_CONTENT).header(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{}", body.len() - 1, body.len()),
            );
            body.slice(start..)
        }
        None => body.clone(),
    };
    let response = response.header(header::CONTENT_LENGTH, part.len());
    let body = match cut_at {
        // The pause lets the first part reach the client before the connection breaks.
        Some(cut) => Body::from_stream(stream::iter([Ok(part.slice(..cut))]).chain(stream::once(
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "cut"))
            },
        ))),
        None => Body::from(part),
    };
    response.body(body).unwrap()
}

/// A server answering `route` with `body` (no range support, never cut).
async fn serve_payload(route: &str, body: Bytes) -> Server {
    Server::start(Router::new().route(
        route,
        get(move |h: HeaderMap| async move { serve_bytes(&body, &h, false, None) }),
    ))
    .await
}

#[tokio::test]
async fn saves_byte_exact_content_and_reports_progress() {
    let body = payload(300_000);
    let server = serve_payload("/a.mp4", body.clone()).await;
    let progress = Arc::new(Mutex::new(Vec::new()));
    let sink = progress.clone();
    let downloader =
        Downloader::new(local().on_progress(move |p| sink.lock().unwrap().push(*p))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mp4");

    let saved = downloader
        .download_to(&server.url("/a.mp4"), &path, &context())
        .await
        .unwrap();

    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(saved.path, path);
    assert_eq!(saved.bytes, body.len() as u64);
    assert_eq!(saved.content_type.as_deref(), Some("video/mp4"));
    assert!(!saved.url.contains("SECRET"));
    assert_eq!(files_in(dir.path()), ["out.mp4"]);
    let last = *progress.lock().unwrap().last().unwrap();
    assert_eq!(last.bytes_done, body.len() as u64);
    assert_eq!(last.total_bytes, Some(body.len() as u64));
}

#[tokio::test]
async fn download_all_names_files_from_task_model_and_role() {
    let body = payload(1000);
    let server = serve_payload("/{file}", body.clone()).await;
    let downloader = Downloader::new(local()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let resources = [
        resource(&server.url("/1"), "video", None, None),
        resource(&server.url("/2"), "image", Some("last_frame"), Some("png")),
        resource(&server.url("/3"), "video", None, Some("mp4")),
    ];

    let saved = downloader
        .download_all(&resources, dir.path(), &context())
        .await
        .unwrap();

    let names: Vec<_> = saved
        .iter()
        .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "task-abc123_seedance-2.0-v2v_video.mp4", // extension from Content-Type
            "task-abc123_seedance-2.0-v2v_last_frame.png",
            "task-abc123_seedance-2.0-v2v_video_2.mp4",
        ]
    );
    for file in &saved {
        assert_eq!(std::fs::read(&file.path).unwrap(), body);
    }
    assert_eq!(files_in(dir.path()).len(), 3);
}

#[tokio::test]
async fn reset_mid_body_leaves_no_file() {
    let body = payload(100_000);
    let server = Server::start(Router::new().route(
        "/a.mp4",
        get(move |h: HeaderMap| async move { serve_bytes(&body, &h, true, Some(40_000)) }),
    ))
    .await;
    let downloader = Downloader::new(local().retries(2)).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let error = downloader
        .download_to(
            &server.url("/a.mp4"),
            &dir.path().join("out.mp4"),
            &context(),
        )
        .await
        .unwrap_err();

    text(&error);
    assert!(
        matches!(
            error.kind(),
            DownloadErrorKind::Network { .. } | DownloadErrorKind::Incomplete { .. }
        ),
        "{error:?}"
    );
    assert_eq!(server.hits("/a.mp4"), 3, "one try and two retries");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

/// A server whose first answer for `/a.mp4` is cut after 60,000 of 100,000 bytes;
/// saves it to `out.mp4` in `dir`, checks the bytes and returns the server.
async fn download_after_one_cut(ranges: bool, dir: &Path) -> Server {
    let body = payload(100_000);
    let served = body.clone();
    let first = Arc::new(Mutex::new(true));
    let server = Server::start(Router::new().route(
        "/a.mp4",
        get(move |h: HeaderMap| async move {
            let cut = std::mem::replace(&mut *first.lock().unwrap(), false);
            serve_bytes(&served, &h, ranges, cut.then_some(60_000))
        }),
    ))
    .await;
    let path = dir.join("out.mp4");
    Downloader::new(local())
        .unwrap()
        .download_to(&server.url("/a.mp4"), &path, &context())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), body);
    server
}

#[tokio::test]
async fn reset_mid_body_is_resumed_with_range() {
    let dir = tempfile::tempdir().unwrap();
    let server = download_after_one_cut(true, dir.path()).await;
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].headers.get(header::RANGE).is_none());
    let range = seen[1].headers[header::RANGE].to_str().unwrap();
    let start: u64 = range["bytes=".len()..range.len() - 1].parse().unwrap();
    assert!(start > 0 && start <= 60_000, "{range}");
    assert_eq!(seen[1].headers[header::IF_RANGE], "\"v1\"");
    assert_eq!(files_in(dir.path()), ["out.mp4"]);
}

#[tokio::test]
async fn reset_without_range_support_restarts_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let server = download_after_one_cut(false, dir.path()).await;
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.headers.get(header::RANGE).is_none())
    );
}

#[tokio::test]
async fn server_errors_are_retried() {
    let body = payload(5000);
    let served = body.clone();
    let calls = Arc::new(Mutex::new(0));
    let server = Server::start(Router::new().route(
        "/a.mp4",
        get(move |h: HeaderMap| async move {
            let mut calls = calls.lock().unwrap();
            *calls += 1;
            if *calls < 3 {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                serve_bytes(&served, &h, false, None)
            }
        }),
    ))
    .await;
    let downloader = Downloader::new(local()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mp4");

    downloader
        .download_to(&server.url("/a.mp4"), &path, &context())
        .await
        .unwrap();

    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(server.hits("/a.mp4"), 3);
}

#[tokio::test]
async fn content_length_over_the_limit_fails_before_the_body() {
    // Headers announce 10 000 bytes, then the body never comes: only a check made
    // before reading the body can finish this test.
    let server = Server::start(Router::new().route(
        "/big",
        get(|| async {
            Response::builder()
                .header(header::CONTENT_LENGTH, 10_000)
                .body(Body::from_stream(
                    stream::pending::<Result<Bytes, io::Error>>(),
                ))
                .unwrap()
        }),
    ))
    .await;
    let downloader = Downloader::new(local().max_file_bytes(1000)).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let error = tokio::time::timeout(
        Duration::from_secs(5),
        downloader.download_to(&server.url("/big"), &dir.path().join("big"), &context()),
    )
    .await
    .expect("the body must not be awaited")
    .unwrap_err();

    assert!(error.is_limit());
    assert!(matches!(
        error.kind(),
        DownloadErrorKind::FileTooLarge {
            limit: 1000,
            declared: Some(10_000)
        }
    ));
    assert!(text(&error).contains("max_file_bytes"));
    assert_eq!(server.hits("/big"), 1, "a limit is not retried");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_cut() {
    let server = Server::start(Router::new().route(
        "/chunked",
        get(|| async {
            let chunks = (0..50).map(|_| Ok::<_, io::Error>(Bytes::from(vec![1u8; 100])));
            Body::from_stream(stream::iter(chunks))
        }),
    ))
    .await;
    let downloader = Downloader::new(local().max_file_bytes(1000)).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let error = downloader
        .download_to(&server.url("/chunked"), &dir.path().join("c"), &context())
        .await
        .unwrap_err();

    assert!(matches!(
        error.kind(),
        DownloadErrorKind::FileTooLarge {
            limit: 1000,
            declared: None
        }
    ));
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn task_limits_cover_all_files() {
    let body = payload(600);
    let server = Server::start(Router::new().route(
        "/{file}",
        get(move |h: HeaderMap| async move { serve_bytes(&body, &h, false, None) }),
    ))
    .await;
    let resources = [
        resource(&server.url("/1"), "video", None, Some("mp4")),
        resource(&server.url("/2"), "video", None, Some("mp4")),
    ];
    let dir = tempfile::tempdir().unwrap();

    let downloader = Downloader::new(local().max_task_bytes(1000)).unwrap();
    let error = downloader
        .download_all(&resources, dir.path(), &context())
        .await
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        DownloadErrorKind::TaskTooLarge { limit: 1000 }
    ));
    assert!(text(&error).contains("max_task_bytes"));
    assert_eq!(
        files_in(dir.path()),
        ["task-abc123_seedance-2.0-v2v_video.mp4"]
    );

    let downloader = Downloader::new(local().max_resources(1)).unwrap();
    let error = downloader
        .download_all(&resources, dir.path(), &context())
        .await
        .unwrap_err();
    assert!(error.is_limit());
    assert!(matches!(
        error.kind(),
        DownloadErrorKind::TooManyResources { count: 2, max: 1 }
    ));
}

/// A server that redirects `/go` to `target` (`PORT` replaced by its port) and serves
/// `/secret`; reached as `cdn.test`, pinned to 127.0.0.1 and so trusted, while other
/// private hosts stay refused.
async fn redirect_to(target: &str) -> (Server, Downloader) {
    let server = Server::start_with(|port| {
        let location = target.replace("PORT", &port.to_string());
        Router::new()
            .route(
                "/go",
                get(move || async move { (StatusCode::FOUND, [(header::LOCATION, location)]) }),
            )
            .route("/secret", get(|| async { "private" }))
    })
    .await;
    let options = DownloadOptions::default()
        .allow_http(true)
        .pin_host("cdn.test", server.addr);
    (server, Downloader::new(options).unwrap())
}

fn pinned_url(server: &Server, path: &str) -> String {
    format!("http://cdn.test:{}{path}?{SECRET}", server.addr.port())
}

#[tokio::test]
async fn redirects_to_private_hosts_are_refused_before_connecting() {
    for target in [
        "http://127.0.0.1:PORT/secret?X-Sig=SECRET",
        "http://[::ffff:127.0.0.1]:PORT/secret",
        // Resolves to loopback: refused by the resolver, after the name check passed.
        "http://localhost:PORT/secret",
        // Never connected to: the redirect policy refuses it first.
        "http://10.0.0.1:PORT/secret",
    ] {
        let (server, downloader) = redirect_to(target).await;
        let dir = tempfile::tempdir().unwrap();
        let error = downloader
            .download_to(
                &pinned_url(&server, "/go"),
                &dir.path().join("x"),
                &context(),
            )
            .await
            .unwrap_err();
        assert!(error.is_refused(), "{target}: {error:?}");
        assert!(
            text(&error).contains("allow_private_hosts"),
            "{target}: {error}"
        );
        assert_eq!(server.hits("/go"), 1, "{target}: refusals are not retried");
        assert_eq!(server.hits("/secret"), 0, "{target}");
        assert_eq!(files_in(dir.path()), Vec::<String>::new());
    }
}

#[tokio::test]
async fn redirect_hops_are_checked_and_counted() {
    let (server, downloader) = redirect_to("https://user:hunter2@cdn.test:PORT/secret").await;
    let error = downloader
        .download_to(&pinned_url(&server, "/go"), Path::new("unused"), &context())
        .await
        .unwrap_err();
    assert!(error.is_refused());
    assert!(text(&error).contains("credentials"));

    let (server, _) = redirect_to("/go").await;
    let downloader = Downloader::new(
        DownloadOptions::default()
            .allow_http(true)
            .max_redirects(2)
            .pin_host("cdn.test", server.addr),
    )
    .unwrap();
    let error = downloader
        .download_to(&pinned_url(&server, "/go"), Path::new("unused"), &context())
        .await
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        DownloadErrorKind::TooManyRedirects { max: 2 }
    ));
    assert!(error.is_limit());
    assert_eq!(server.hits("/go"), 3, "the first request and two redirects");
}

#[tokio::test]
async fn private_hosts_and_plain_http_are_refused_by_default() {
    let server = Server::start(Router::new().route("/a", get(|| async { "x" }))).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    let cases = [
        // Loopback without allow_private_hosts.
        (
            DownloadOptions::default().allow_http(true),
            server.url("/a"),
        ),
        // Plain http without allow_http, even where private hosts are allowed.
        (
            DownloadOptions::default().allow_private_hosts(true),
            server.url("/a"),
        ),
        // A private literal: refused before any connection.
        (
            DownloadOptions::default(),
            format!("https://10.0.0.1/a.mp4?{SECRET}"),
        ),
        (
            DownloadOptions::default().allow_private_hosts(true),
            format!("https://user:hunter2@example.com/a.mp4?{SECRET}"),
        ),
        (DownloadOptions::default(), "file:///etc/passwd".to_owned()),
    ];
    for (options, url) in cases {
        let error = Downloader::new(options)
            .unwrap()
            .download_to(&url, &out, &context())
            .await
            .unwrap_err();
        assert!(error.is_refused(), "{url}: {error:?}");
        text(&error);
    }
    assert_eq!(server.seen().len(), 0);
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn existing_files_are_kept_unless_overwrite_is_asked() {
    let body = payload(2000);
    let server = serve_payload("/{file}", body.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mp4");
    std::fs::write(&path, b"old").unwrap();

    let error = Downloader::new(local())
        .unwrap()
        .download_to(&server.url("/a"), &path, &context())
        .await
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        DownloadErrorKind::AlreadyExists { .. }
    ));
    assert!(text(&error).contains("overwrite"));
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(server.seen().len(), 0, "checked before downloading");

    // Generated names are known only from the answer's headers; still kept.
    let named = dir.path().join("task-abc123_seedance-2.0-v2v_video.mp4");
    std::fs::write(&named, b"old").unwrap();
    let resources = [resource(&server.url("/b"), "video", None, None)];
    let error = Downloader::new(local())
        .unwrap()
        .download_all(&resources, dir.path(), &context())
        .await
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        DownloadErrorKind::AlreadyExists { .. }
    ));
    assert_eq!(std::fs::read(&named).unwrap(), b"old");

    let overwriting = Downloader::new(local().overwrite(true)).unwrap();
    overwriting
        .download_to(&server.url("/a"), &path, &context())
        .await
        .unwrap();
    overwriting
        .download_all(&resources, dir.path(), &context())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(std::fs::read(&named).unwrap(), body);
    assert_eq!(files_in(dir.path()).len(), 2, "no temporary file left");
}

#[tokio::test]
async fn the_resource_host_never_sees_auth_cookies_or_referer() {
    let server = Server::start(Router::new().route("/a", get(|| async { "data" }))).await;
    let dir = tempfile::tempdir().unwrap();
    Downloader::new(local())
        .unwrap()
        .download_to(&server.url("/a"), &dir.path().join("a"), &context())
        .await
        .unwrap();

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    for name in [header::AUTHORIZATION, header::COOKIE, header::REFERER] {
        assert!(seen[0].headers.get(&name).is_none(), "{name} was sent");
    }
    let agent = seen[0].headers[header::USER_AGENT].to_str().unwrap();
    assert!(agent.starts_with("modellix-rust/"), "{agent}");
}

#[tokio::test]
async fn expired_links_say_so_and_when_the_task_finished() {
    let server = Server::start(
        Router::new()
            .route("/gone", get(|| async { StatusCode::GONE }))
            .route("/forbidden", get(|| async { StatusCode::FORBIDDEN })),
    )
    .await;
    let finished = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let context = context().finished_at(finished);
    let downloader = Downloader::new(local()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    for (path, status) in [("/gone", 410), ("/forbidden", 403)] {
        let error = downloader
            .download_to(&server.url(path), &dir.path().join("x"), &context)
            .await
            .unwrap_err();
        assert!(error.is_expired(), "{error:?}");
        assert_eq!(error.task_id(), "task-abc123");
        assert_eq!(
            error.url(),
            Some(format!("http://127.0.0.1:{}{path}", server.addr.port()).as_str())
        );
        let message = text(&error);
        for part in [
            "task-abc123",
            &format!("HTTP {status}"),
            "expired",
            "7 days after the task finished",
            "Sun, 15 Jun 2025 15:06:40 GMT",
        ] {
            assert!(message.contains(part), "{part:?} missing from {message}");
        }
        assert_eq!(server.hits(path), 1, "an expired link is not retried");
    }
}

#[test]
fn hostile_names_are_made_safe() {
    let long = "x".repeat(500);
    let cases: &[(&[&str], &str, usize, &str)] = &[
        (&["../x"], "mp4", 1, "x.mp4"),
        (&["..", "..", "etc/passwd"], "", 1, "etc_passwd.bin"),
        (&["a\\b", "c:d"], "png", 1, "a_b_c_d.png"),
        (
            &["tab\there", "nul\0byte"],
            "mp4",
            1,
            "tab_here_nul_byte.mp4",
        ),
        (&["CON"], "mp4", 1, "_CON.mp4"),
        (&["lpt1.tar"], "gz", 1, "_lpt1.tar.gz"),
        (&["nul"], "txt", 2, "_nul_2.txt"),
        (&[".hidden", "-rf"], "sh", 1, "hidden_rf.sh"),
        (&["", "  ", "/"], "../..", 1, "download.bin"),
        (&["vid\u{202e}4pm.exe"], "mp4", 1, "vid_4pm.exe.mp4"),
        (&["trailing..."], "mp4", 1, "trailing.mp4"),
        (&["日本語の動画"], "MP4", 1, "日本語の動画.mp4"),
    ];
    for (parts, extension, copy, expected) in cases {
        assert_eq!(
            safe_file_name(parts, extension, *copy),
            *expected,
            "{parts:?} {extension:?}"
        );
    }

    let name = safe_file_name(&[&long, "video"], "mp4", 1);
    assert_eq!(name.len(), MAX_FILE_NAME_BYTES);
    assert!(name.ends_with("x.mp4"));
    let numbered = safe_file_name(&[&long], "mp4", 12);
    assert!(numbered.ends_with("_12.mp4") && numbered.len() <= MAX_FILE_NAME_BYTES);
    // Cut on a character boundary: 'é' is two bytes.
    let accents = "é".repeat(200);
    let name = safe_file_name(&[&accents], "mp4", 1);
    assert!(name.len() <= MAX_FILE_NAME_BYTES && name.starts_with('é'));
}

proptest! {
    #[test]
    fn file_names_are_always_safe(
        parts in proptest::collection::vec(any::<String>(), 0..4),
        extension in any::<String>(),
        copy in 0usize..1000,
    ) {
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let name = safe_file_name(&parts, &extension, copy);
        prop_assert!(!name.is_empty());
        prop_assert!(name.len() <= MAX_FILE_NAME_BYTES);
        prop_assert!(!name.starts_with(['.', '-']));
        prop_assert!(!name.ends_with(['.', ' ']));
        prop_assert!(name.contains('.'));
        prop_assert!(!name.chars().any(|c| c.is_control()
            || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')));
        prop_assert!(!name.contains(".."), "{}", name);
        let stem = name.split('.').next().unwrap().to_ascii_uppercase();
        prop_assert!(!["CON", "PRN", "AUX", "NUL", "COM1", "LPT1"].contains(&stem.as_str()));
    }
}

#[tokio::test]
async fn timeouts_end_the_download_and_leave_no_file() {
    let server = Server::start(
        Router::new()
            // Headers, then silence.
            .route(
                "/stall",
                get(|| async {
                    Response::builder()
                        .header(header::CONTENT_LENGTH, 1000)
                        .body(Body::from_stream(
                            stream::pending::<Result<Bytes, io::Error>>(),
                        ))
                        .unwrap()
                }),
            )
            // A byte every 50 ms: never inactive, but slow.
            .route(
                "/drip",
                get(|| async {
                    let drip = stream::iter(0..1000).then(|_| async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, io::Error>(Bytes::from_static(b"x"))
                    });
                    Body::from_stream(drip)
                }),
            ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();

    let downloader = Downloader::new(
        local()
            .retries(0)
            .inactivity_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let error = downloader
        .download_to(&server.url("/stall"), &dir.path().join("a"), &context())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DownloadErrorKind::Timeout {
                inactivity: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(text(&error).contains("inactivity_timeout"));

    let downloader = Downloader::new(local().total_timeout(Duration::from_millis(400))).unwrap();
    let error = downloader
        .download_to(&server.url("/drip"), &dir.path().join("b"), &context())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            DownloadErrorKind::Timeout {
                inactivity: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_timeout());
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

/// Serves `body` as `application/octet-stream`, so only its bytes can tell its type.
async fn serve_untyped(route: &str, body: Bytes) -> Server {
    Server::start(Router::new().route(
        route,
        get(move || async move {
            (
                [(header::CONTENT_TYPE, "application/octet-stream")],
                body.clone(),
            )
        }),
    ))
    .await
}

#[tokio::test]
async fn untyped_audio_is_named_by_its_first_bytes() {
    // An MP3 frame header, then silence; a WAV shorter than the sniffer's window.
    let mut mp3 = vec![0xff, 0xfb, 0x90, 0xc0];
    mp3.resize(417 * 3, 0);
    let wav = Bytes::from_static(b"RIFF\x04\0\0\0WAVE");
    let mp3_server = serve_untyped("/clip", Bytes::from(mp3.clone())).await;
    let wav_server = serve_untyped("/short.bin", wav.clone()).await;
    let downloader = Downloader::new(local()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let resources = [
        resource(&mp3_server.url("/clip"), "audio", None, None),
        resource(&wav_server.url("/short.bin"), "audio", None, None),
    ];
    let saved = downloader
        .download_all(&resources, dir.path(), &context())
        .await
        .unwrap();
    let names: Vec<_> = saved
        .iter()
        .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "task-abc123_seedance-2.0-v2v_audio.mp3",
            "task-abc123_seedance-2.0-v2v_audio.wav",
        ]
    );
    assert_eq!(std::fs::read(&saved[0].path).unwrap(), mp3);
    assert_eq!(std::fs::read(&saved[1].path).unwrap(), wav);
    assert_eq!(files_in(dir.path()).len(), 2);
}

#[tokio::test]
async fn resources_without_a_url_are_saved_not_dropped() {
    let body = Bytes::from_static(b"ID3\x04\0\0\0\0\0\0");
    let server = serve_untyped("/speech", body.clone()).await;
    let downloader = Downloader::new(local()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let resources: Vec<Resource> = [
        serde_json::json!({"type": "text", "text": "Hello there.", "language": "en"}),
        serde_json::json!({"type": "segments", "segments": [{"start": 0, "text": "Hello"}]}),
        serde_json::json!({"type": "audio", "url": server.url("/speech"), "text": "subtitle"}),
    ]
    .into_iter()
    .map(|r| serde_json::from_value(r).unwrap())
    .collect();
    assert_eq!(resources[0].text(), Some("Hello there."));
    assert!(!resources[0].is_file());
    assert_eq!(resources[0].extra_fields()["language"], "en");

    let saved = downloader
        .download_all(&resources, dir.path(), &context())
        .await
        .unwrap();
    let names: Vec<_> = saved
        .iter()
        .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "task-abc123_seedance-2.0-v2v_text.txt",
            "task-abc123_seedance-2.0-v2v_segments.json",
            "task-abc123_seedance-2.0-v2v_audio.mp3",
            "task-abc123_seedance-2.0-v2v_audio.txt",
        ]
    );
    let read = |i: usize| std::fs::read_to_string(&saved[i].path).unwrap();
    assert_eq!(read(0), "Hello there.");
    let kept: serde_json::Value = serde_json::from_str(&read(1)).unwrap();
    assert_eq!(kept["segments"][0]["text"], "Hello");
    assert_eq!(kept["type"], "segments");
    assert_eq!(std::fs::read(&saved[2].path).unwrap(), body);
    assert_eq!(read(3), "subtitle");
    assert_eq!((saved[0].url.as_str(), saved[0].bytes), ("", 12));
    assert_eq!(files_in(dir.path()).len(), 4);

    // Saved again into the same folder without overwriting: refused by name.
    let again = downloader
        .download_all(&resources[..1], dir.path(), &context())
        .await
        .unwrap_err();
    assert!(
        matches!(again.kind(), DownloadErrorKind::AlreadyExists { .. }),
        "{again}"
    );
}

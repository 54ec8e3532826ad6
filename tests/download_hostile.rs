//! The downloader against hostile answers written byte for byte by a raw TCP server on
//! 127.0.0.1: numbers at the edge of `u64`, inconsistent `Content-Range` and
//! `Content-Length` headers, dates no calendar can print. None may panic; each must end
//! in a saved file or an error, leaving no temporary file behind.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use modellix::download::{DownloadContext, DownloadOptions, Downloader};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The test file: 100,000 bytes.
fn payload() -> Vec<u8> {
    (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// One request as the raw server read it: the `Range` start, if any.
type Ranges = Arc<Mutex<Vec<Option<u64>>>>;

/// Answers every request with what `answer` writes for (request number, Range start),
/// then closes the connection.
async fn raw_server(
    answer: impl Fn(usize, Option<u64>) -> Vec<u8> + Send + Sync + 'static,
) -> (SocketAddr, Ranges) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ranges = Ranges::default();
    let seen = ranges.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let head = read_head(&mut socket).await;
            let range = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("range").then_some(())?;
                value
                    .trim()
                    .strip_prefix("bytes=")?
                    .strip_suffix('-')?
                    .parse()
                    .ok()
            });
            let number = {
                let mut seen = seen.lock().unwrap();
                seen.push(range);
                seen.len() - 1
            };
            let bytes = answer(number, range);
            tokio::spawn(async move {
                let _ = socket.write_all(&bytes).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (addr, ranges)
}

async fn read_head(socket: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A response: status line and headers as given, then `body`.
fn response(status: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// The full file, resumable: `Accept-Ranges` and a strong ETag.
fn full(body: &[u8], cut_at: usize) -> Vec<u8> {
    response(
        "200 OK",
        &[
            format!("content-length: {}", body.len()),
            "accept-ranges: bytes".into(),
            "etag: \"v1\"".into(),
            "content-type: video/mp4".into(),
        ],
        &body[..cut_at],
    )
}

fn options() -> DownloadOptions {
    DownloadOptions::default()
        .allow_http(true)
        .allow_private_hosts(true)
        .retry_backoff(Duration::from_millis(5))
        .inactivity_timeout(Duration::from_secs(5))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Downloads from a server whose first answer is cut after 60,000 bytes and whose
/// answer to the resumption is `hostile`; after that it serves the whole file.
/// Returns the outcome and the Range starts the server saw.
async fn resume_against(
    hostile: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static,
    dir: &Path,
) -> (Result<Vec<u8>, String>, Vec<Option<u64>>) {
    let body = payload();
    let (addr, ranges) = raw_server(move |number, range| match (number, range) {
        (0, _) => full(&body, 60_000),
        (_, Some(from)) => hostile(from),
        (_, None) => full(&body, body.len()),
    })
    .await;
    let path = dir.join("out.mp4");
    let outcome = Downloader::new(options())
        .unwrap()
        .download_to(
            &format!("http://{addr}/a.mp4"),
            &path,
            &DownloadContext::new("task-1"),
        )
        .await
        .map(|_| std::fs::read(&path).unwrap())
        .map_err(|e| e.to_string());
    let seen = ranges.lock().unwrap().clone();
    (outcome, seen)
}

/// Issue 13 item 6: a 206 with `Content-Range: bytes N-M/*` and a `Content-Length`
/// near `u64::MAX` made `from + length` overflow (a panic in debug builds, a wrapped
/// size in release). Such an answer contradicts itself: the download starts over
/// without `Range` and saves the right bytes.
#[tokio::test]
async fn a_206_with_a_huge_content_length_starts_over_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, ranges) = resume_against(
        |from| {
            response(
                "206 Partial Content",
                &[
                    format!("content-range: bytes {from}-99999/*"),
                    format!("content-length: {}", u64::MAX - 10),
                ],
                b"",
            )
        },
        dir.path(),
    )
    .await;
    assert!(outcome.unwrap() == payload(), "wrong bytes");
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert!(ranges[1].is_some() && ranges[2].is_none(), "{ranges:?}");
    assert_eq!(files_in(dir.path()), ["out.mp4"]);
}

/// `Content-Range` values that cannot describe the rest of a 100,000-byte file: each
/// is refused as a resumption, and the download starts over.
#[tokio::test]
async fn contradictory_content_ranges_start_over() {
    let max = u64::MAX;
    let cases: Vec<Box<dyn Fn(u64) -> String + Send + Sync>> = vec![
        // end before start
        Box::new(|from| format!("bytes {from}-{}/100000", from - 1)),
        // total not past the end
        Box::new(|from| format!("bytes {from}-99999/99999")),
        // end at u64::MAX: end + 1 does not exist
        Box::new(move |from| format!("bytes {from}-{max}/*")),
        // numbers too large for u64
        Box::new(|from| format!("bytes {from}-99999/184467440737095516150")),
        Box::new(|from| format!("bytes {from}-99999999999999999999999/*")),
        // not a byte range
        Box::new(|from| format!("items {from}-99999/100000")),
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (outcome, ranges) = resume_against(
            move |from| {
                response(
                    "206 Partial Content",
                    &[format!("content-range: {}", case(from))],
                    b"",
                )
            },
            dir.path(),
        )
        .await;
        assert!(
            outcome.expect("case {i}") == payload(),
            "case {i}: wrong bytes"
        );
        assert_eq!(ranges.len(), 3, "case {i}: {ranges:?}");
        assert_eq!(files_in(dir.path()), ["out.mp4"], "case {i}");
    }
}

/// Found by `any_resumption_headers_end_cleanly`: a 206 for `bytes N-99999/*` without
/// `Content-Length` whose body ends at once was saved as a complete file of N bytes
/// (nothing said how long the file should be). The range's end says it: the short
/// answer is retried and the whole file saved.
#[tokio::test]
async fn a_206_that_ends_short_of_its_range_is_not_saved_as_complete() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, ranges) = resume_against(
        |from| {
            response(
                "206 Partial Content",
                &[format!("content-range: bytes {from}-99999/*")],
                b"",
            )
        },
        dir.path(),
    )
    .await;
    let saved = outcome.unwrap_or_default();
    assert!(
        saved.is_empty() || saved == payload(),
        "saved {} bytes",
        saved.len()
    );
    assert!(ranges.len() > 2, "{ranges:?}");
}

/// A consistent 206 is still spliced on: the server sends only the rest.
#[tokio::test]
async fn a_consistent_206_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let body = payload();
    let (outcome, ranges) = resume_against(
        move |from| {
            let rest = &body[from as usize..];
            response(
                "206 Partial Content",
                &[
                    format!("content-range: bytes {from}-99999/100000"),
                    format!("content-length: {}", rest.len()),
                ],
                rest,
            )
        },
        dir.path(),
    )
    .await;
    assert!(outcome.unwrap() == payload(), "wrong bytes");
    assert_eq!(ranges.len(), 2, "{ranges:?}");
}

/// A 200 declaring a size near `u64::MAX` is over any limit, also with the limits
/// raised to the maximum.
#[tokio::test]
async fn a_huge_content_length_is_over_the_limit() {
    let (addr, _) = raw_server(|_, _| {
        response(
            "200 OK",
            &[format!("content-length: {}", u64::MAX - 10)],
            b"xyz",
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for options in [
        options(),
        options().max_file_bytes(u64::MAX).max_task_bytes(u64::MAX),
    ] {
        let outcome = Downloader::new(options.retries(1))
            .unwrap()
            .download_to(
                &format!("http://{addr}/a"),
                &dir.path().join("a"),
                &DownloadContext::new("task-1"),
            )
            .await;
        assert!(outcome.is_err(), "{outcome:?}");
    }
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

/// An expired link names when the task finished, and a finish time before 1970 or
/// after the year 9999 (which HTTP dates cannot show) does not panic the message.
#[tokio::test]
async fn an_expired_link_with_an_unprintable_finish_time_still_explains_itself() {
    let (addr, _) = raw_server(|_, _| response("410 Gone", &[], b"")).await;
    let dir = tempfile::tempdir().unwrap();
    let downloader = Downloader::new(options()).unwrap();
    let far = Duration::from_secs(400_000_000_000);
    for when in [
        SystemTime::UNIX_EPOCH - Duration::from_secs(1),
        SystemTime::UNIX_EPOCH + far,
    ] {
        let context = DownloadContext::new("task-1").finished_at(when);
        let error = downloader
            .download_to(&format!("http://{addr}/a"), &dir.path().join("a"), &context)
            .await
            .unwrap_err();
        assert!(error.is_expired());
        let message = error.to_string();
        assert!(message.contains("7 days"), "{message}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever numbers a resumption's `Content-Range` and `Content-Length` carry, the
    /// download ends with the right bytes or an error, never a panic.
    #[test]
    fn any_resumption_headers_end_cleanly(
        start_shift in prop_oneof![Just(0i64), -2i64..2],
        end in prop_oneof![Just(99_999u64), any::<u64>(), (u64::MAX - 3)..=u64::MAX],
        total in proptest::option::of(prop_oneof![Just(100_000u64), any::<u64>()]),
        length in proptest::option::of(prop_oneof![any::<u64>(), (u64::MAX - 3)..=u64::MAX]),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (outcome, _) = runtime.block_on(resume_against(
            move |from| {
                let start = from.saturating_add_signed(start_shift);
                let total = total.map_or("*".to_owned(), |t| t.to_string());
                let mut headers = vec![format!("content-range: bytes {start}-{end}/{total}")];
                headers.extend(length.map(|l| format!("content-length: {l}")));
                response("206 Partial Content", &headers, b"")
            },
            dir.path(),
        ));
        if let Ok(bytes) = outcome {
            prop_assert!(bytes == payload(), "saved {} wrong bytes", bytes.len());
        }
        let left = files_in(dir.path());
        prop_assert!(left.is_empty() || left == ["out.mp4"], "{:?}", left);
    }
}

/// Downloads `answer` (the same for every request) into a fresh folder: the outcome
/// and the files left there.
async fn download_once(answer: Vec<u8>) -> (Result<u64, String>, Vec<String>, usize) {
    let (addr, ranges) = raw_server(move |_, _| answer.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = Downloader::new(options())
        .unwrap()
        .download_to(
            &format!("http://{addr}/a.mp4"),
            &dir.path().join("out.mp4"),
            &DownloadContext::new("task-1"),
        )
        .await
        .map(|saved| saved.bytes)
        .map_err(|e| e.to_string());
    let requests = ranges.lock().unwrap().len();
    (outcome, files_in(dir.path()), requests)
}

/// A chunked body cut before its last (empty) chunk, with no `Content-Length` to
/// compare against, is an incomplete download: an error, and no file saved.
#[tokio::test]
async fn a_chunked_body_cut_before_its_end_is_not_saved() {
    let body = payload();
    let mut chunked = Vec::new();
    for piece in body[..60_000].chunks(10_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    // No terminating `0\r\n\r\n`: the connection just closes.
    let answer = response("200 OK", &["transfer-encoding: chunked".into()], &chunked);
    let (outcome, files, requests) = download_once(answer).await;
    assert!(outcome.is_err(), "saved {outcome:?}");
    assert!(files.is_empty(), "{files:?}");
    assert!(requests > 1, "cut bodies are retried: {requests}");
}

/// A body delimited by the connection's close (neither `Content-Length` nor chunked)
/// cannot prove it is whole: an error, and no file saved.
#[tokio::test]
async fn a_body_ended_only_by_closing_the_connection_is_not_saved() {
    let body = payload();
    let answer = response(
        "200 OK",
        &["content-type: video/mp4".into()],
        &body[..60_000],
    );
    let (outcome, files, _) = download_once(answer).await;
    assert!(outcome.is_err(), "saved {outcome:?}");
    assert!(files.is_empty(), "{files:?}");
}

//! Every answer has an overall deadline per kind of request: a server that trickles
//! its answer (one byte every 100 ms, each piece well within the stall timeout) cannot
//! hold a submit or an upload. Over raw TCP on 127.0.0.1, on the real clock with a
//! 1 s timeout (so a 2 s submit deadline and a 4 s upload deadline).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk-test-0123456789abcdef";

/// What the trickling server saw of one connection.
#[derive(Debug, Default, Clone)]
struct Seen {
    request_line: String,
    body_bytes_sent: usize,
    client_hung_up: bool,
}

/// A server that answers every request with headers at once, then `body` one byte
/// every 100 ms. Runs on its own thread.
fn trickling_server(body: Vec<u8>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let body = body.clone();
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let Some(request_line) = read_request(&mut stream) else {
                    return;
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(Seen {
                        request_line,
                        ..Seen::default()
                    });
                    log.len() - 1
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for byte in &body {
                    std::thread::sleep(Duration::from_millis(100));
                    if stream
                        .write_all(&[*byte])
                        .and_then(|()| stream.flush())
                        .is_err()
                    {
                        log.lock().unwrap()[index].client_hung_up = true;
                        return;
                    }
                    log.lock().unwrap()[index].body_bytes_sent += 1;
                }
            });
        }
    });
    (url, seen)
}

/// Reads one request (head and `content-length` body); its first line.
fn read_request(stream: &mut std::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() - head_end < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    head.lines().next().map(str::to_owned)
}

fn client(url: &str) -> modellix::Client {
    modellix::Client::builder()
        .api_key(KEY)
        .base_url(url)
        .requests_per_minute(None)
        .memory_ledger()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap()
}

/// A valid answer padded so trickling it takes about 20 s.
fn padded(answer: serde_json::Value) -> Vec<u8> {
    let mut answer = answer;
    answer["padding"] = serde_json::Value::String("x".repeat(200));
    serde_json::to_vec(&answer).unwrap()
}

#[tokio::test]
async fn a_trickling_submit_answer_ends_as_an_unknown_outcome_at_its_deadline() {
    let body = padded(
        serde_json::json!({"code": 0, "message": "success", "data": {
            "status": "pending", "task_id": "task-slow", "model_id": "bytedance/seedance-2.0-v2v"
        }}),
    );
    let total = body.len();
    let (url, seen) = trickling_server(body);
    let client = client(&url);
    let request = modellix::types::Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()
        .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(15), client.submit(&request))
        .await
        .expect("the submit ended at its answer deadline, not when the server stopped");
    let err = result.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(err.to_string().contains("deadline"), "{err}");
    // The POST was sent once and never again.
    std::thread::sleep(Duration::from_millis(300));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].request_line.starts_with("POST "), "{seen:?}");
    assert!(seen[0].body_bytes_sent < total, "{seen:?}");
    // The ledger keeps the unknown outcome for `recover`.
    let unresolved = client.recover().await.unwrap();
    assert_eq!(unresolved.len(), 1, "{unresolved:?}");
}

#[tokio::test]
async fn a_trickling_upload_answer_ends_as_an_unknown_upload_at_its_deadline() {
    let body = padded(
        serde_json::json!({"code": 0, "message": "success", "data": {
            "file_id": "f-1", "url": "https://cdn.example.com/f-1.png", "type": "image",
            "filename": "a.png", "size": 68
        }}),
    );
    let total = body.len();
    let (url, seen) = trickling_server(body);
    let client = client(&url);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.png");
    // The smallest PNG: signature, IHDR, IDAT, IEND.
    let png: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    std::fs::write(&path, png).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(15), client.upload(&path))
        .await
        .expect("the upload ended at its answer deadline, not when the server stopped");
    let err = result.unwrap_err();
    assert!(err.is_upload_unknown(), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].body_bytes_sent < total, "{seen:?}");
}

//! A scripted HTTP/1.1 server on 127.0.0.1 for client tests: each route answers from a
//! queue of scripted replies (then a default), and every request is recorded.
//!
//! It runs on its own thread and runtime, so tests may pause tokio's clock without
//! stalling it. One request per connection (`Connection: close`), which makes resets
//! and cut-off bodies easy to stage.

#![allow(dead_code)] // each test file uses a different part

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const KEY: &str = "sk-test-0123456789abcdef";
pub const SUBMIT: &str = "/api/v1/bytedance/seedance-2.0-v2v/async";

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A JSON answer.
    Json(u16, Value),
    /// Any answer, with extra headers.
    Raw {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Reads the request, then resets the connection without answering.
    Reset,
    /// Announces `declared` bytes, sends `body`, closes.
    Truncated { declared: usize, body: Vec<u8> },
    /// Waits (real time, on the server's thread), then answers with the inner reply.
    Delayed(std::time::Duration, Box<Reply>),
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Routes = HashMap<(String, String), (VecDeque<Reply>, Option<Reply>)>;

#[derive(Clone)]
pub struct MockServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    log: Arc<Mutex<Vec<Recorded>>>,
}

impl MockServer {
    pub fn start() -> MockServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let server = MockServer {
            addr,
            routes: Arc::default(),
            log: Arc::default(),
        };
        let worker = server.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let worker = worker.clone();
                    tokio::spawn(async move { worker.serve(stream).await });
                }
            });
        });
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues replies for `method path`, answered in order.
    pub fn script(&self, method: &str, path: &str, replies: impl IntoIterator<Item = Reply>) {
        let mut routes = self.routes.lock().unwrap();
        let entry = routes.entry((method.into(), path.into())).or_default();
        entry.0.extend(replies);
    }

    /// The reply once the queue of `method path` is empty.
    pub fn default_reply(&self, method: &str, path: &str, reply: Reply) {
        let mut routes = self.routes.lock().unwrap();
        routes.entry((method.into(), path.into())).or_default().1 = Some(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Requests received so far, without copying the log.
    pub fn request_count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    async fn serve(&self, mut stream: TcpStream) {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        let key = (request.method.clone(), request.path.clone());
        self.log.lock().unwrap().push(request);
        let reply = {
            let mut routes = self.routes.lock().unwrap();
            routes
                .get_mut(&key)
                .and_then(|(queue, default)| queue.pop_front().or(default.clone()))
        };
        let mut reply = reply
            .unwrap_or_else(|| Reply::Json(404, error_envelope(404, "Not found: no such route")));
        while let Reply::Delayed(pause, inner) = reply {
            tokio::time::sleep(pause).await;
            reply = *inner;
        }
        match reply {
            Reply::Json(status, value) => {
                let body = serde_json::to_vec(&value).unwrap();
                write_response(
                    &mut stream,
                    status,
                    &[("content-type".into(), "application/json".into())],
                    &body,
                    None,
                )
                .await;
            }
            Reply::Raw {
                status,
                headers,
                body,
            } => {
                write_response(&mut stream, status, &headers, &body, None).await;
            }
            Reply::Truncated { declared, body } => {
                write_response(
                    &mut stream,
                    200,
                    &[("content-type".into(), "application/json".into())],
                    &body,
                    Some(declared),
                )
                .await;
            }
            Reply::Reset => {
                // Linger 0 makes close() send RST: the client sees a reset, not an answer.
                // (Deprecated because it can block on drop; harmless with zero.)
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(std::time::Duration::ZERO));
                drop(stream);
            }
            Reply::Delayed(..) => unreachable!("unwrapped above"),
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[header_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    declared: Option<usize>,
) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nconnection: close\r\ncontent-length: {}\r\n",
        declared.unwrap_or(body.len())
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

pub fn error_envelope(code: u16, message: &str) -> Value {
    json!({"code": code, "message": message, "data": null})
}

pub fn submitted(task_id: &str) -> Reply {
    Reply::Json(
        200,
        json!({"code": 0, "message": "success", "data": {
            "status": "pending", "task_id": task_id, "model_id": "bytedance/seedance-2.0-v2v",
            "get_result": {"method": "GET", "url": format!("https://api.modellix.ai/api/v1/tasks/{task_id}")}
        }}),
    )
}

pub fn status(task_id: &str, status: &str) -> Reply {
    Reply::Json(
        200,
        json!({"code": 0, "message": "success", "data": {
            "status": status, "task_id": task_id, "model_id": "bytedance/seedance-2.0-v2v"
        }}),
    )
}

pub fn succeeded(task_id: &str) -> Reply {
    Reply::Json(
        200,
        json!({"code": 0, "message": "success", "data": {
            "status": "success", "task_id": task_id, "model_id": "bytedance/seedance-2.0-v2v",
            "queue_position": 0,
            "result": {"resources": [
                {"type": "video", "url": "https://cdn.example.com/a.mp4", "width": 1280, "height": 720, "format": "mp4", "duration_ms": 5000}
            ]}
        }}),
    )
}

pub fn task_path(task_id: &str) -> String {
    format!("/api/v1/tasks/{task_id}")
}

pub fn client(server: &MockServer) -> modellix::Client {
    client_builder(server).build().unwrap()
}

/// A client for `server` with no HTTP timeouts of its own, so paused-clock tests are
/// not cut short by reqwest's timers while the server thread works.
pub fn client_builder(server: &MockServer) -> modellix::ClientBuilder {
    modellix::Client::builder()
        .api_key(KEY)
        .base_url(server.url())
        .without_timeouts()
        .requests_per_minute(None)
        // Tests never write to the durable ledger in the home directory.
        .memory_ledger()
}

pub fn request() -> modellix::types::Seedance20V2vRequest {
    modellix::types::Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .duration(8)
        .build()
        .unwrap()
}

//! Helpers shared by the sandbox tests: a loopback-only client and raw HTTP.

#![allow(dead_code)] // each test file uses its own subset

use modellix_sandbox::Sandbox;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const SUBMIT_PATH: &str = "/api/v1/bytedance/seedance-2.0-v2v/async";
pub const OPERATION_ID: &str = "seedance20V2vAsync";

/// A client that ignores proxy settings, so nothing leaves 127.0.0.1.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

pub fn valid_body() -> Value {
    json!({"prompt": "A calm sea at dawn", "video_urls": ["https://example.com/in.mp4"]})
}

/// POSTs `body` to the Seedance submit route with the sandbox's key: the raw result,
/// for tests about faults that break the answer itself.
pub async fn send_submit(sandbox: &Sandbox, body: &Value) -> reqwest::Result<reqwest::Response> {
    http()
        .post(format!("{}{SUBMIT_PATH}", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .json(body)
        .send()
        .await
}

/// POSTs `body` to the Seedance submit route with the sandbox's key.
pub async fn submit(sandbox: &Sandbox, body: &Value) -> (u16, Value) {
    let response = send_submit(sandbox, body).await.expect("submit answered");
    (
        response.status().as_u16(),
        response.json().await.expect("JSON"),
    )
}

/// Submits a valid body and returns the task id.
pub async fn submit_ok(sandbox: &Sandbox, body: &Value) -> String {
    let (status, answer) = submit(sandbox, body).await;
    assert_eq!(status, 200, "{answer}");
    answer["data"]["task_id"]
        .as_str()
        .expect("task_id")
        .to_owned()
}

/// GETs the task with the sandbox's key.
pub async fn query(sandbox: &Sandbox, task_id: &str) -> (u16, Value) {
    let response = http()
        .get(format!("{}/api/v1/tasks/{task_id}", sandbox.base_url()))
        .bearer_auth(sandbox.api_key())
        .send()
        .await
        .expect("query answered");
    (
        response.status().as_u16(),
        response.json().await.expect("JSON"),
    )
}

/// What a raw HTTP/1.1 exchange produced: the head as text, the body bytes read
/// before the connection ended, and how it ended.
pub struct Raw {
    pub head: String,
    pub body: Vec<u8>,
    pub error: Option<std::io::ErrorKind>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends one request with `Connection: close` and reads until the server ends the
/// connection, so truncation and resets can be observed byte by byte.
pub async fn raw(sandbox: &Sandbox, method: &str, path: &str, body: &str) -> Raw {
    let mut stream = tokio::net::TcpStream::connect(sandbox.addr())
        .await
        .expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sandbox.addr(),
        sandbox.api_key(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut received = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let error = loop {
        match stream.read(&mut chunk).await {
            Ok(0) => break None,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) => break Some(e.kind()),
        }
    };
    let split = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(received.len(), |i| i + 4);
    Raw {
        head: String::from_utf8_lossy(&received[..split]).into_owned(),
        body: received[split..].to_vec(),
        error,
    }
}

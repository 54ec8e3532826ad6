//! `--webhook URL` on `run` and `batch`: sent with every submit, refused before
//! anything is sent when it is not https (or http to a loopback host).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{MODEL, against, assert_code, jobs_file, text};
use modellix_sandbox::Sandbox;

const PROMPT: &str = "--set=prompt=Extend [Video 1] with a slow push-in";
const VIDEO: &str = "--set=video_urls=https://example.com/in.mp4";

/// A receiver on 127.0.0.1 that answers every request 200; its URL.
fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            // Enough for the headers and a small body; the answer does not depend on it.
            let mut buf = [0u8; 64 * 1024];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    url
}

/// Waits (bounded) until the sandbox saw `n` deliveries acknowledged.
fn until_delivered(sandbox: &Sandbox, n: usize) {
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = sandbox
            .webhook_attempts()
            .iter()
            .filter(|a| a.status == Some(200))
            .count();
        if ok >= n {
            return;
        }
        assert!(Instant::now() < give_up, "{:?}", sandbox.webhook_attempts());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_batch_send_the_webhook_with_every_submit() {
    let sandbox = Sandbox::start().await.unwrap();
    let url = receiver();
    let output = against(
        &sandbox,
        &[
            "run",
            MODEL,
            PROMPT,
            VIDEO,
            "--no-download",
            "--webhook",
            &url,
        ],
    );
    assert_code(&output, 0);
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_file(dir.path(), ["a".to_owned(), "b".to_owned()]);
    let out = dir.path().join("out");
    let output = against(
        &sandbox,
        &[
            "batch",
            jobs.to_str().unwrap(),
            "--no-download",
            "--out",
            out.to_str().unwrap(),
            "--webhook",
            &url,
        ],
    );
    assert_code(&output, 0);
    let tasks = sandbox.tasks();
    assert_eq!(tasks.len(), 3);
    assert!(
        tasks
            .iter()
            .all(|t| t.webhook_url.as_deref() == Some(url.as_str())),
        "{tasks:?}"
    );
    until_delivered(&sandbox, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_is_not_https_is_refused_before_sending() {
    let sandbox = Sandbox::start().await.unwrap();
    let output = against(
        &sandbox,
        &[
            "run",
            MODEL,
            PROMPT,
            VIDEO,
            "--webhook",
            "http://example.com/hook",
        ],
    );
    assert_code(&output, 2);
    assert!(text(&output).contains("--webhook"), "{}", text(&output));
    assert_eq!(sandbox.counts().submits(), 0);
}

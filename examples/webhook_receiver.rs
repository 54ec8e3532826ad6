//! A webhook receiver with axum: store first, answer 2xx at once, process afterwards.
//!
//! ```sh
//! cargo run --example webhook_receiver                   # a local sandbox: no key, no cost
//! MODELLIX_API_KEY=… cargo run --example webhook_receiver -- 127.0.0.1:8787
//! ```
//!
//! With an address, it serves `POST /modellix/webhook` there until stopped; put it
//! behind your public https endpoint and submit with
//! `SubmitOptions::new().webhook_url("https://your.host/modellix/webhook")`.
//! Without one, it starts a sandbox, submits a task with a webhook to itself, and
//! exits once the delivery is processed.
//!
//! Webhooks are documented in Modellix's articles, without a signature: a delivery is
//! a hint. The order below is what keeps that safe:
//! 1. parse ([`WebhookEvent::parse`]): a malformed delivery gets 400;
//! 2. store ([`Client::accept`]: the delivery id goes into the ledger) and answer 2xx
//!    at once, so Modellix does not retry and nothing slow holds its connection; a
//!    delivery seen before (a retry whose 2xx was lost) is answered 2xx and dropped;
//!    if the ledger cannot store it, answer 500 so Modellix tries again;
//! 3. process afterwards, on a worker: [`Client::confirm`] asks Modellix for the
//!    task's status and only that answer is trusted (a forged "succeeded" for a task
//!    still running confirms as running). [`Client::notify`] wakes any wait of this
//!    client for the task.
//!
//! A crash between 2 and 3 loses no task: the ledger still holds it open, and
//! `client.recover()` (or `modellix recover`) lists it to resume by id.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use modellix::types::Seedance20V2vRequest;
use modellix::{Client, SubmitOptions, TaskStatus, WebhookEvent};
use tokio::sync::mpsc;

/// Deliveries accepted and not processed yet; a full queue answers 503 (Modellix
/// retries), so a burst cannot grow memory without bound.
const QUEUE: usize = 1024;

#[derive(Clone)]
struct Receiver {
    client: Client,
    work: mpsc::Sender<WebhookEvent>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let event = match WebhookEvent::parse(&headers, &body) {
        Ok(event) => event,
        Err(e) => {
            eprintln!("{e}");
            return StatusCode::BAD_REQUEST;
        }
    };
    // Reserve room first: a delivery is stored only if it can be processed.
    let Ok(slot) = r.work.try_reserve() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    match r.client.accept(&event).await {
        Ok(true) => {
            slot.send(event);
            StatusCode::OK
        }
        // Seen before: acknowledged, nothing more to do.
        Ok(false) => StatusCode::OK,
        Err(e) => {
            eprintln!("cannot store delivery {}: {e}", event.delivery_id);
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// Confirms each accepted delivery with Modellix and acts on the confirmed status.
async fn process(client: Client, mut work: mpsc::Receiver<WebhookEvent>, once: bool) {
    while let Some(event) = work.recv().await {
        client.notify(&event);
        match client.confirm(&event).await {
            Ok(info) if info.status == TaskStatus::Success => {
                let files = info.result.as_ref().map_or(0, |r| r.resources.len());
                println!("task {} succeeded with {files} file(s)", event.task_id);
            }
            Ok(info) if info.status.is_terminal() => {
                println!("task {} ended: {}", event.task_id, info.status);
            }
            Ok(info) => {
                // Claimed finished, but Modellix says otherwise: ignore the claim.
                println!(
                    "delivery {} says {} but task {} is {}: ignored",
                    event.delivery_id, event.event, event.task_id, info.status
                );
                continue;
            }
            Err(e) => {
                eprintln!("cannot confirm task {}: {e}", event.task_id);
                continue;
            }
        }
        if once {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args().nth(1);
    let sandbox = match listen {
        Some(_) => None,
        None => Some(modellix_sandbox::Sandbox::start().await?),
    };
    let client = match &sandbox {
        Some(s) => s.client()?,
        None => Client::from_env()?,
    };
    let (work, queue) = mpsc::channel(QUEUE);
    let app = axum::Router::new()
        .route("/modellix/webhook", axum::routing::post(receive))
        .with_state(Receiver {
            client: client.clone(),
            work,
        });
    let listener =
        tokio::net::TcpListener::bind(listen.as_deref().unwrap_or("127.0.0.1:0")).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("receiving webhooks at http://{addr}/modellix/webhook");

    let worker = tokio::spawn(process(client.clone(), queue, sandbox.is_some()));
    if sandbox.is_some() {
        let request = Seedance20V2vRequest::builder()
            .prompt("Extend [Video 1] with a slow dolly zoom")
            .video_urls(["https://example.com/in.mp4"])
            .build()?;
        let options = SubmitOptions::new().webhook_url(format!("http://{addr}/modellix/webhook"));
        let task = client.submit_with(&request, options).await?;
        println!("submitted {}; waiting for its webhook", task.id());
        worker.await?;
        server.abort();
        return Ok(());
    }
    server.await??;
    worker.abort();
    Ok(())
}

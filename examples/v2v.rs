//! Seedance 2.0 video-to-video through the library: submit, wait, download.
//!
//! ```sh
//! cargo run --example v2v                      # against a local sandbox: no key, no cost
//! MODELLIX_API_KEY=… cargo run --example v2v -- https://example.com/in.mp4
//! ```
//!
//! The `modellix` command (`cli/`) does the same for every model, with flags.

use modellix::types::Seedance20V2vRequest;
use modellix::{Client, DownloadOptions, Downloader};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let video = std::env::args().nth(1);
    // With a video URL, the real API; without, a sandbox started in this process.
    let sandbox = match video {
        Some(_) => None,
        None => Some(modellix_sandbox::Sandbox::start().await?),
    };
    let client = match &sandbox {
        Some(s) => Client::builder()
            .api_key(s.api_key())
            .base_url(s.base_url())
            // The sandbox's tasks are not real: kept out of the durable ledger.
            .memory_ledger()
            .build()?,
        None => Client::from_env()?,
    };
    let request = Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1] with a smooth camera push-in")
        .video_urls(vec![
            video.unwrap_or_else(|| "https://example.com/source.mp4".into()),
        ])
        .build()?;

    let task = client.submit(&request).await?;
    eprintln!(
        "submitted {} (keep this id: it is what you pay for)",
        task.id()
    );
    let output = task.wait().await?;

    // The sandbox serves its files over plain http on loopback.
    let local = sandbox.is_some();
    let options = DownloadOptions::default()
        .allow_http(local)
        .allow_private_hosts(local);
    let downloader = Downloader::new(options)?;
    std::fs::create_dir_all("out")?;
    for file in output.download_all(&downloader, "out").await? {
        println!("saved {}", file.path.display());
    }
    Ok(())
}

//! The README's "Using the sandbox in your own tests" example, timed: start a sandbox,
//! submit, wait, download, with `sandbox.client()` and `sandbox.downloader()` (target:
//! under a second), beside the same flow with a client left at its defaults (the
//! default poll schedule), which is what the example cost before the sandbox set
//! clients up for itself.
//!
//! Run: `cargo bench --bench readme_sandbox`.

use std::time::{Duration, Instant};

use modellix::Client;
use modellix::types::Seedance20V2vRequest;
use modellix_sandbox::{Sandbox, Timing};

const RUNS: usize = 20;

/// One run of the README example; `configured` picks `sandbox.client()` over a client
/// with default settings.
async fn readme_flow(configured: bool, dir: &std::path::Path) -> Duration {
    let started = Instant::now();
    let sandbox = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 1,
            processing: 2,
        })
        .start()
        .await
        .expect("sandbox starts");
    let client = if configured {
        sandbox.client().expect("client")
    } else {
        Client::builder()
            .memory_ledger()
            .api_key(sandbox.api_key())
            .base_url(sandbox.base_url())
            .build()
            .expect("client")
    };
    let request = Seedance20V2vRequest::builder()
        .prompt("Extend motion from [Video 1]")
        .video_urls(["https://example.com/source.mp4"])
        .build()
        .expect("valid request");
    let output = client
        .submit(&request)
        .await
        .expect("submitted")
        .wait()
        .await
        .expect("finished");
    output
        .download_all(&sandbox.downloader().expect("downloader"), dir)
        .await
        .expect("downloaded");
    assert_eq!(sandbox.counts().submits(), 1);
    started.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    runtime.block_on(async {
        let mut times = Vec::with_capacity(RUNS);
        for i in 0..RUNS {
            times.push(readme_flow(true, &dir.path().join(format!("c{i}"))).await);
        }
        let baseline = readme_flow(false, &dir.path().join("default")).await;
        times.sort();
        let mean = times.iter().sum::<Duration>() / RUNS as u32;
        println!("README sandbox example, start to saved file ({RUNS} runs):");
        println!(
            "  sandbox.client():  mean {:>8.1} ms  median {:>8.1} ms  max {:>8.1} ms  (target < 1000 ms)",
            ms(mean),
            ms(times[RUNS / 2]),
            ms(times[RUNS - 1])
        );
        println!(
            "  default client:    {:>8.1} ms  (baseline, one run)",
            ms(baseline)
        );
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

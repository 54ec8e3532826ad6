//! Setup shared by the benches: the sample request, loopback-only HTTP clients, a
//! sandbox on its own runtime thread, and figures from /proc.

// Each bench compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use modellix::types::Seedance20V2vRequest;
use modellix_sandbox::{Sandbox, SandboxConfig};

/// The request every bench submits.
pub fn request() -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt("Extend [Video 1] with a slow dolly zoom")
        .video_urls(["https://example.com/a.mp4"])
        .build()
        .expect("a valid request")
}

/// A `reqwest` client that never goes through a proxy: benches talk to 127.0.0.1 only.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
}

/// A sandbox served by a runtime on its own thread, so that its work does not share
/// the measured thread.
pub struct SandboxThread {
    // Dropped before the runtime: its server task lives there.
    pub sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl SandboxThread {
    pub fn start(config: SandboxConfig) -> SandboxThread {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sandbox")
            .enable_all()
            .build()
            .expect("a runtime");
        let sandbox = runtime
            .block_on(config.start())
            .expect("the sandbox starts");
        SandboxThread {
            sandbox,
            _runtime: runtime,
        }
    }
}

/// A `VmHWM`/`VmRSS` line of /proc/self/status, in kB (0 where there is no /proc).
pub fn proc_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(key))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// The median of `samples` (sorted in place).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// CPU time this thread has run so far, in ns, from /proc/thread-self/schedstat (0
/// where there is none).
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

//! `modellix sandbox`: a local Modellix with Modellix's limits, until interrupted.

use std::time::Duration;

use modellix_sandbox::{Sandbox, Timing};
use serde_json::json;

use crate::args::SandboxArgs;
use crate::failure::{Failure, Outcome};
use crate::output::Out;

pub async fn run(args: &SandboxArgs, out: &Out) -> Outcome {
    let seconds = if args.task_seconds.is_finite() {
        args.task_seconds.clamp(0.0, 86_400.0)
    } else {
        0.0
    };
    let sandbox = Sandbox::builder()
        .port(args.port)
        .timing(Timing::Fixed(Duration::from_secs_f64(seconds)))
        .rpm(args.rpm)
        .concurrency_limit(args.concurrency_limit)
        .time_scale(args.time_scale)
        .start()
        .await
        .map_err(|e| {
            Failure::other(format!(
                "cannot start the sandbox on port {}: {e}",
                args.port
            ))
        })?;
    // The sandbox's key opens only this local server: printing it is the point.
    let answer = json!({"base_url": sandbox.base_url(), "api_key": sandbox.api_key()});
    out.data(&answer, || {
        println!("MODELLIX_BASE_URL={}", sandbox.base_url());
        println!("MODELLIX_API_KEY={}", sandbox.api_key());
    });
    out.note(format!(
        "Modellix sandbox on {} ({} requests a minute, {} running tasks); Ctrl-C stops it",
        sandbox.base_url(),
        args.rpm,
        args.concurrency_limit
    ));
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::other(format!("cannot wait for Ctrl-C: {e}")))?;
    let rejected = sandbox.limit_rejections();
    out.note(format!(
        "stopped: {} requests, {} refused by the rate limit, {} by the running-task limit",
        sandbox.counts().total,
        rejected.rate,
        rejected.concurrency
    ));
    Ok(())
}

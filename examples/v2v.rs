//! `v2v`: Seedance 2.0 video-to-video from the command line.
//!
//! ```sh
//! cargo run --example v2v -- --sandbox                     # the whole flow, offline
//! MODELLIX_API_KEY=… cargo run --example v2v -- \
//!     --prompt "Extend [Video 1] with a slow dolly zoom" --video https://example.com/in.mp4
//! cargo run --example v2v -- --resume task-abc123          # wait for an earlier task
//! ```
//!
//! Exit codes: 0 success, 1 task failed, 2 bad input or settings, 3 timed out (the
//! task may still be running), 4 outcome unknown (do not resubmit blindly), 5 other
//! errors (network, API, download).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use modellix::types::Seedance20V2vRequest;
use modellix::{Client, DownloadOptions, Downloader, Error, Image, Task, TaskOutput, WaitOptions};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(about = "Seedance 2.0 video-to-video on Modellix: submit, wait, download")]
struct Args {
    /// Run against a local sandbox started in this process (no key, no cost).
    #[arg(long)]
    sandbox: bool,
    /// What to do with the reference video(s); use [Video 1], [Image 1], [Audio 1].
    #[arg(long)]
    prompt: Option<String>,
    /// Reference video URL (1 to 3).
    #[arg(long = "video")]
    videos: Vec<String>,
    /// Reference image: URL or local file (up to 9).
    #[arg(long = "image")]
    images: Vec<String>,
    /// First frame: URL or local file.
    #[arg(long)]
    first_frame: Option<String>,
    /// Last frame: URL or local file.
    #[arg(long)]
    last_frame: Option<String>,
    /// Reference audio URL (up to 3).
    #[arg(long = "audio")]
    audios: Vec<String>,
    /// Output length in seconds (4 to 15).
    #[arg(long)]
    duration: Option<i64>,
    /// 480p, 720p or 1080p.
    #[arg(long)]
    resolution: Option<String>,
    /// 21:9, 16:9, 4:3, 1:1, 3:4 or 9:16.
    #[arg(long)]
    ratio: Option<String>,
    /// Seed for reproducible output (-1 for random).
    #[arg(long, allow_hyphen_values = true)]
    seed: Option<i64>,
    /// Also return the last frame as a PNG.
    #[arg(long)]
    return_last_frame: bool,
    /// Submit, print the task id and exit.
    #[arg(long)]
    no_wait: bool,
    /// Wait for (and download) an earlier task instead of submitting.
    #[arg(long, value_name = "TASK_ID")]
    resume: Option<String>,
    /// Print the result URLs instead of downloading.
    #[arg(long)]
    no_download: bool,
    /// Where to save the files.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Machine-readable output on stdout (one JSON object), no progress bars.
    #[arg(long)]
    json: bool,
    /// How long a sandbox task runs, in seconds (for tests).
    #[arg(long, default_value_t = 4.0, hide = true)]
    sandbox_task_seconds: f64,
    /// Make every sandbox task fail (for tests).
    #[arg(long, hide = true)]
    sandbox_fail: bool,
    /// Drop the connection after the sandbox read the submit (for tests).
    #[arg(long, hide = true)]
    sandbox_reset_submit: bool,
}

/// Exit codes, one per kind of ending a script may want to tell apart.
mod exit {
    pub const FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const TIMED_OUT: u8 = 3;
    pub const OUTCOME_UNKNOWN: u8 = 4;
    pub const OTHER: u8 = 5;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

type Failure = (u8, String);

fn classify(e: &Error) -> u8 {
    if e.is_invalid_input() {
        exit::BAD_INPUT
    } else if e.is_task_failed() {
        exit::FAILED
    } else if e.is_timeout() {
        exit::TIMED_OUT
    } else if e.is_outcome_unknown() {
        exit::OUTCOME_UNKNOWN
    } else {
        exit::OTHER
    }
}

fn fail(e: Error) -> Failure {
    (classify(&e), e.to_string())
}

async fn run(mut args: Args) -> Result<(), Failure> {
    // Keep the sandbox alive for the whole run.
    let sandbox = if args.sandbox {
        use modellix_sandbox::{Failures, Fault, FaultPlan, Route};
        let mut faults = FaultPlan::new();
        if args.sandbox_reset_submit {
            faults = faults.script(Route::Submit, 1, Fault::Reset);
        }
        let sandbox = modellix_sandbox::Sandbox::builder()
            .failures(if args.sandbox_fail {
                Failures::Always
            } else {
                Failures::Never
            })
            .faults(faults)
            .timing(modellix_sandbox::Timing::Fixed(Duration::from_secs_f64(
                args.sandbox_task_seconds.max(0.0),
            )))
            .start()
            .await
            .map_err(|e| (exit::OTHER, format!("cannot start the sandbox: {e}")))?;
        if args.prompt.is_none() && args.videos.is_empty() && args.resume.is_none() {
            args.prompt = Some("Extend motion from [Video 1] with a smooth camera push-in".into());
            args.videos = vec!["https://example.com/source.mp4".into()];
        }
        Some(sandbox)
    } else {
        None
    };
    let wait = WaitOptions::deadline(Duration::from_secs(args.timeout));
    let client = match &sandbox {
        Some(s) => Client::builder()
            .api_key(s.api_key())
            .base_url(s.base_url()),
        None => {
            let key = std::env::var(modellix::API_KEY_ENV).map_err(|_| {
                (
                    exit::BAD_INPUT,
                    "MODELLIX_API_KEY is not set. Create a key in the Modellix console and \
                     `export MODELLIX_API_KEY=…`, or try the offline flow with --sandbox"
                        .to_owned(),
                )
            })?;
            let mut builder = Client::builder().api_key(key);
            if let Ok(url) = std::env::var(modellix::BASE_URL_ENV) {
                builder = builder.base_url(url);
            }
            builder
        }
    }
    .user_agent_suffix("v2v-example")
    .wait_options(wait)
    .build()
    .map_err(|e| fail(e.into()))?;

    let task = match &args.resume {
        Some(id) => client.task(id.clone()).map_err(fail)?,
        None => {
            let request = build_request(&args).await?;
            let task = client.submit(&request).await.map_err(fail)?;
            if !args.json {
                eprintln!(
                    "submitted task {} (keep this id: it is what you pay for)",
                    task.id()
                );
            }
            task
        }
    };
    if args.no_wait {
        print_json_or(
            &args,
            json!({"task_id": task.id(), "status": "submitted"}),
            || println!("{}", task.id()),
        );
        return Ok(());
    }

    let output = wait_with_progress(&client, &task, args.json).await?;
    if args.no_download {
        let urls: Vec<_> = output.resources().iter().map(|r| r.url.clone()).collect();
        print_json_or(
            &args,
            json!({"task_id": task.id(), "status": "success", "urls": urls}),
            || urls.iter().for_each(|u| println!("{u}")),
        );
        return Ok(());
    }
    let saved = download(&output, &args, sandbox.is_some()).await?;
    let paths: Vec<_> = saved.iter().map(|f| f.path.display().to_string()).collect();
    print_json_or(
        &args,
        json!({"task_id": task.id(), "status": "success", "files": paths}),
        || paths.iter().for_each(|p| println!("saved {p}")),
    );
    Ok(())
}

fn print_json_or(args: &Args, value: serde_json::Value, human: impl FnOnce()) {
    if args.json {
        println!("{value}");
    } else {
        human();
    }
}

/// A URL as given, or a local image file read into a data URI.
async fn image_arg(value: &str) -> Result<String, Failure> {
    if ["http://", "https://", "data:"]
        .iter()
        .any(|p| value.starts_with(p))
    {
        return Ok(value.to_owned());
    }
    Image::from_path(value)
        .await
        .map(String::from)
        .map_err(|e| (exit::BAD_INPUT, e.to_string()))
}

async fn build_request(args: &Args) -> Result<Seedance20V2vRequest, Failure> {
    let bad = |message: String| (exit::BAD_INPUT, message);
    let mut request = Seedance20V2vRequest::builder()
        .prompt(
            args.prompt
                .clone()
                .ok_or_else(|| bad("--prompt is required".into()))?,
        )
        .video_urls(args.videos.clone())
        .build()
        .map_err(|e| bad(e.to_string()))?;
    for image in &args.images {
        request.reference_images.push(image_arg(image).await?);
    }
    if let Some(frame) = &args.first_frame {
        request.first_frame_image = Some(image_arg(frame).await?);
    }
    if let Some(frame) = &args.last_frame {
        request.last_frame_image = Some(image_arg(frame).await?);
    }
    request.audio_urls = args.audios.clone();
    request.duration = args.duration;
    request.seed = args.seed;
    request.return_last_frame = args.return_last_frame.then_some(true);
    if let Some(r) = &args.resolution {
        request.resolution = Some(
            r.parse()
                .map_err(|_| bad(format!("--resolution {r:?}: use 480p, 720p or 1080p")))?,
        );
    }
    if let Some(r) = &args.ratio {
        request.ratio = Some(r.parse().map_err(|_| {
            bad(format!(
                "--ratio {r:?}: use 21:9, 16:9, 4:3, 1:1, 3:4 or 9:16"
            ))
        })?);
    }
    // Every rule at once, before anything is sent.
    let warnings = request.validate().map_err(|e| fail(e.into()))?;
    for w in warnings.iter() {
        eprintln!("warning: {w}");
    }
    Ok(request)
}

async fn wait_with_progress(
    client: &Client,
    task: &Task,
    quiet: bool,
) -> Result<TaskOutput, Failure> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(format!("{} waiting for the first status", task.id()));
        bar
    };
    let mut updates = task.updates(client);
    let mut last = None;
    while let Some(update) = updates.next().await {
        match update {
            Ok(update) => {
                bar.set_message(format!("{} {}", task.id(), update.status));
                last = Some(update);
            }
            Err(e) => {
                bar.finish_and_clear();
                return Err(fail(e));
            }
        }
    }
    bar.finish_and_clear();
    last.and_then(|update| update.output)
        .ok_or((exit::OTHER, "the wait ended without a result".to_owned()))
}

async fn download(
    output: &TaskOutput,
    args: &Args,
    sandbox: bool,
) -> Result<Vec<modellix::SavedFile>, Failure> {
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg}")
            .expect("valid template"),
    );
    let progress = bar.clone();
    let mut options = DownloadOptions::default().on_progress(move |p| {
        if let Some(total) = p.total_bytes {
            progress.set_length(total);
        }
        progress.set_position(p.bytes_done);
        progress.set_message(format!("file {}", p.index + 1));
    });
    if sandbox {
        // The sandbox serves its files from plain http on loopback: opt in for it only.
        options = options.allow_http(true).allow_private_hosts(true);
    }
    let downloader = Downloader::new(options).map_err(|e| (exit::OTHER, e.to_string()))?;
    std::fs::create_dir_all(&args.out).map_err(|e| {
        (
            exit::OTHER,
            format!("cannot create {}: {e}", args.out.display()),
        )
    })?;
    let saved = output
        .download_all(&downloader, &args.out)
        .await
        .map_err(|e| (exit::OTHER, e.to_string()));
    bar.finish_and_clear();
    saved
}

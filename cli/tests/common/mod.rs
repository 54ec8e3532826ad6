//! Running the built `modellix` binary as a user would, against sandboxes on
//! 127.0.0.1 only.

#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;
use std::process::{Command, Output};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use serde_json::Value;

/// One ledger directory for the whole test binary, so nothing touches the user's.
static LEDGER_DIR: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("temporary directory"));

pub const MODEL: &str = "bytedance/seedance-2.0-v2v";

/// The binary, with no key, no base URL, no profile and a private ledger and
/// configuration directory.
pub fn modellix() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modellix"));
    command
        .env_remove("MODELLIX_API_KEY")
        .env_remove("MODELLIX_BASE_URL")
        // Schema pages from a closed loopback port unless a test says otherwise, cached
        // in the test's own folder: nothing reaches the network or the user's cache.
        .env("MODELLIX_SCHEMA_URL", "http://127.0.0.1:9")
        .env("XDG_CACHE_HOME", LEDGER_DIR.path().join("cache"))
        .env_remove("MODELLIX_PROFILE")
        .env("MODELLIX_LEDGER", LEDGER_DIR.path().join("ledger.sqlite"))
        .env("XDG_DATA_HOME", LEDGER_DIR.path())
        .env("XDG_CONFIG_HOME", LEDGER_DIR.path().join("config"));
    command
}

pub fn run(args: &[&str]) -> Output {
    modellix().args(args).output().expect("the binary runs")
}

/// The binary pointed at a running sandbox with its key.
pub fn against(sandbox: &modellix_sandbox::Sandbox, args: &[&str]) -> Output {
    modellix()
        .env("MODELLIX_API_KEY", sandbox.api_key())
        .env("MODELLIX_BASE_URL", sandbox.base_url())
        .env("MODELLIX_SCHEMA_URL", sandbox.base_url())
        .args(["--allow-insecure-http", "--allow-private-network"])
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// stdout as one JSON value.
pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {}", text(output)))
}

/// stdout as JSON lines.
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

pub fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
}

/// Asserts the file is an MP4 with a video track.
pub fn assert_playable_mp4(path: &Path) {
    let bytes = std::fs::read(path).expect("the video is there");
    let size = bytes.len() as u64;
    let mp4 = mp4::Mp4Reader::read_header(std::io::Cursor::new(bytes), size).expect("an MP4");
    let track = mp4.tracks().values().next().expect("a track");
    assert_eq!(track.track_type().expect("a type"), mp4::TrackType::Video);
    assert!(track.width() > 0 && mp4.duration().as_millis() > 0);
}

/// `{"model": MODEL, "body": {…}, "id": name}` lines.
pub fn jobs_file(dir: &Path, names: impl IntoIterator<Item = String>) -> std::path::PathBuf {
    let lines: Vec<String> = names
        .into_iter()
        .map(|name| {
            serde_json::json!({
                "id": name,
                "model": MODEL,
                "body": {"prompt": format!("job {name}"), "video_urls": ["https://example.com/in.mp4"]},
            })
            .to_string()
        })
        .collect();
    let path = dir.join("jobs.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("jobs written");
    path
}

/// Mean time from a task's end (by the sandbox's clock) to the next submit the sandbox
/// received, over the ends that had a job waiting.
pub fn mean_slot_gap(sandbox: &modellix_sandbox::Sandbox, task: Duration) -> Duration {
    let created: Vec<SystemTime> = sandbox.tasks().iter().map(|t| t.created_at).collect();
    let mut gaps = Vec::new();
    for (i, start) in created.iter().enumerate() {
        let end = *start + task;
        // The last three ends have no job left to start.
        if i + 3 >= created.len() {
            break;
        }
        if let Some(next) = created.iter().filter(|c| **c >= end).min() {
            gaps.push(next.duration_since(end).unwrap_or_default());
        }
    }
    gaps.iter().sum::<Duration>() / gaps.len().max(1) as u32
}

//! `modellix batch` against a time-scaled sandbox at Modellix's limits: 100 requests a
//! minute per key (a minute lasts 6 s here) and 3 running tasks.

mod common;

use std::time::Duration;

use common::{against, assert_code, jobs_file, json, json_lines, mean_slot_gap};
use modellix_sandbox::{Sandbox, Timing};
use serde_json::Value;

/// The sandbox's minute is a tenth of a real one; the batch's limiter is told the same.
const TIME_SCALE: f64 = 0.1;
const RATE_WINDOW: &str = "6";

async fn limited_sandbox(task: Duration) -> Sandbox {
    Sandbox::builder()
        .rpm(100)
        .concurrency_limit(3)
        .time_scale(TIME_SCALE)
        .timing(Timing::Fixed(task))
        .start()
        .await
        .unwrap()
}

fn batch(
    sandbox: &Sandbox,
    jobs: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "--json",
        "batch",
        jobs.to_str().unwrap(),
        "--max-tasks",
        "3",
        "--poll-interval",
        "0.05",
        "--rate-window",
        RATE_WINDOW,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    against(sandbox, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_jobs_within_the_limits_meet_no_429() {
    let task = Duration::from_millis(300);
    let sandbox = limited_sandbox(task).await;
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_file(dir.path(), (0..50).map(|i| format!("job-{i}")));
    let out = dir.path().join("out");
    let output = batch(&sandbox, &jobs, &out, &[]);
    assert_code(&output, 0);

    let events = json_lines(&output);
    let of = |kind: &str| events.iter().filter(|e| e["event"] == kind).count();
    assert_eq!((of("submitted"), of("saved")), (50, 50));
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["done"], 50);
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        50,
        "one video per job"
    );
    assert_eq!(sandbox.counts().submits(), 50, "each job POSTed once");
    let rejected = sandbox.limit_rejections();
    eprintln!(
        "50 jobs: {} requests, {} rate 429s, {} concurrency 429s, mean slot gap {:?}",
        sandbox.counts().total,
        rejected.rate,
        rejected.concurrency,
        mean_slot_gap(&sandbox, task)
    );
    assert_eq!(rejected.total(), 0, "{rejected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_line_stops_the_batch_before_anything_is_sent() {
    let sandbox = limited_sandbox(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_file(dir.path(), ["a".to_owned(), "b".to_owned()]);
    let mut text = std::fs::read_to_string(&jobs).unwrap();
    text.push_str("{\"model\":\"bytedance/seedance-2.0-v2v\",\"body\":{\"prompt\":\"x\",\"duration\":99}}\nnot json\n");
    std::fs::write(&jobs, text).unwrap();
    let output = batch(&sandbox, &jobs, &dir.path().join("out"), &[]);
    assert_code(&output, 2);
    let answer = json(&output);
    let lines: Vec<u64> = answer["error"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4], "{answer}");
    let violations = answer["error"]["lines"][0]["violations"]
        .as_array()
        .unwrap();
    assert!(
        violations.iter().any(|v| v["pointer"] == "/duration"),
        "{answer}"
    );
    assert_eq!(sandbox.counts().total, 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_refusal_lowers_the_slots_and_the_job_is_sent_later() {
    // The team allows 2 running tasks; the batch is told 3.
    let sandbox = Sandbox::builder()
        .concurrency_limit(2)
        .timing(Timing::Fixed(Duration::from_millis(300)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_file(dir.path(), (0..6).map(|i| format!("j{i}")));
    let output = batch(&sandbox, &jobs, &dir.path().join("out"), &["--no-download"]);
    assert_code(&output, 0);
    let events = json_lines(&output);
    let refused: Vec<&Value> = events.iter().filter(|e| e["event"] == "refused").collect();
    assert!(!refused.is_empty(), "the third submit meets the limit");
    assert!(
        refused[0]["message"]
            .as_str()
            .unwrap()
            .contains("Concurrent limit exceeded")
    );
    assert_eq!(refused[0]["limit"], 2, "K falls to what is running");
    assert_eq!(sandbox.tasks().len(), 6, "every job ran once");
    assert_eq!(events.last().unwrap()["done"], 6);
}

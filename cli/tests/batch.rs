//! `modellix batch` against a time-scaled sandbox at Modellix's limits: 100 requests a
//! minute per key (a minute lasts 6 s here) and 3 running tasks.

mod common;

use std::time::Duration;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{
    MODEL, against, assert_code, jobs_file, json, json_lines, mean_slot_gap, modellix, text,
};
use modellix::TaskLedger;
use modellix_sandbox::{Fault, FaultPlan, Route, Sandbox, Timing};
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
        "--concurrency",
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

/// The binary against `sandbox`, with its own ledger file.
fn command(sandbox: &Sandbox, ledger: &Path, args: &[&str]) -> Command {
    let mut command = modellix();
    command
        .env("MODELLIX_API_KEY", sandbox.api_key())
        .env("MODELLIX_BASE_URL", sandbox.base_url())
        .env("MODELLIX_LEDGER", ledger)
        .args(["--allow-insecure-http", "--allow-private-network"])
        .args(args);
    command
}

fn with_ledger(sandbox: &Sandbox, ledger: &Path, args: &[&str]) -> Output {
    command(sandbox, ledger, args)
        .output()
        .expect("the binary runs")
}

/// A quick batch of `jobs` against `sandbox` on `ledger`, results listed, not saved.
fn quick_batch(sandbox: &Sandbox, ledger: &Path, jobs: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--json",
        "batch",
        jobs.to_str().unwrap(),
        "--poll-interval",
        "0.05",
        "--no-download",
    ];
    args.extend_from_slice(extra);
    with_ledger(sandbox, ledger, &args)
}

fn summary(output: &Output) -> Value {
    json_lines(output)
        .into_iter()
        .rev()
        .find(|e| e["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary: {}", text(output)))
}

/// POSTs the sandbox received, by prompt.
fn submits_per_prompt(sandbox: &Sandbox) -> HashMap<String, usize> {
    let mut per = HashMap::new();
    for task in sandbox.tasks() {
        let prompt = task.body["prompt"].as_str().unwrap_or_default().to_owned();
        *per.entry(prompt).or_default() += 1;
    }
    per
}

/// A line without an id.
fn line(prompt: &str) -> String {
    serde_json::json!({
        "model": MODEL,
        "body": {"prompt": prompt, "video_urls": ["https://example.com/in.mp4"]},
    })
    .to_string()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Jobs without ids are known by their content: inserting a line at the top, copying
/// the file into another folder with its lines moved, and repeating a line change
/// nothing. Today's markers (`batch:<path>#<line>`) bill a job twice after the insert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_its_content_wherever_its_line_or_file_is() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = dir.path().join("jobs.jsonl");
    let (a, b, c) = (line("a"), line("b"), line("c"));
    write_lines(&jobs, &[a.clone(), b.clone(), c.clone()]);
    let output = quick_batch(&sandbox, &ledger, &jobs, &[]);
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().submits(), 3);

    // A new job inserted at the top: only it is sent.
    write_lines(&jobs, &[line("new"), a.clone(), b.clone(), c.clone()]);
    let output = quick_batch(&sandbox, &ledger, &jobs, &[]);
    assert_code(&output, 0);
    let s = summary(&output);
    assert_eq!(
        (s["done"].as_u64(), s["done_before"].as_u64()),
        (Some(1), Some(3)),
        "{s}"
    );
    assert_eq!(sandbox.counts().submits(), 4);
    assert!(
        submits_per_prompt(&sandbox).values().all(|&n| n == 1),
        "{:?}",
        submits_per_prompt(&sandbox)
    );

    // Copied into another folder, lines moved: nothing is sent.
    let elsewhere = dir.path().join("copy");
    std::fs::create_dir(&elsewhere).unwrap();
    let copy = elsewhere.join("jobs.jsonl");
    write_lines(&copy, &[c.clone(), line("new"), b.clone(), a.clone()]);
    let output = quick_batch(&sandbox, &ledger, &copy, &[]);
    assert_code(&output, 0);
    assert_eq!(summary(&output)["done_before"], 4);
    assert_eq!(sandbox.counts().submits(), 4);

    // The second identical line is a job of its own, sent once.
    write_lines(
        &copy,
        &[c.clone(), line("new"), b.clone(), a.clone(), b.clone()],
    );
    for _ in 0..2 {
        assert_code(&quick_batch(&sandbox, &ledger, &copy, &[]), 0);
    }
    assert_eq!(sandbox.counts().submits(), 5);
    assert_eq!(submits_per_prompt(&sandbox)["b"], 2);
}

/// A second jobs file that reuses the ids "1" and "2" for other bodies stops before
/// sending anything, names both bodies and the way on; `--resend` sends them, each
/// recorded as a new request, and a rerun then finds them done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_recorded_with_another_body_stops_the_batch_until_resent() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let named = |id: &str, prompt: &str| {
        serde_json::json!({"id": id, "model": MODEL,
            "body": {"prompt": prompt, "video_urls": ["https://example.com/in.mp4"]}})
        .to_string()
    };
    let first = dir.path().join("first.jsonl");
    write_lines(&first, &[named("1", "p1"), named("2", "p2")]);
    assert_code(&quick_batch(&sandbox, &ledger, &first, &[]), 0);
    assert_eq!(sandbox.counts().submits(), 2);

    let second = dir.path().join("second.jsonl");
    write_lines(&second, &[named("1", "q1"), named("2", "q2")]);
    let output = quick_batch(&sandbox, &ledger, &second, &[]);
    assert_code(&output, 2);
    assert_eq!(sandbox.counts().submits(), 2, "nothing was sent");
    let error = &json(&output)["error"];
    let conflicts = error["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{error}");
    assert_eq!(conflicts[0]["job"], "1");
    assert_ne!(
        conflicts[0]["recorded"]["body_digest"], conflicts[0]["this_line"]["body_digest"],
        "{error}"
    );
    let message = error["message"].as_str().unwrap();
    let recorded = conflicts[0]["recorded"]["body_digest"].as_str().unwrap();
    let new = conflicts[0]["this_line"]["body_digest"].as_str().unwrap();
    assert!(
        message.contains(recorded) && message.contains(new) && message.contains("--resend 1"),
        "{message}"
    );

    let output = quick_batch(
        &sandbox,
        &ledger,
        &second,
        &["--resend", "1", "--resend", "2"],
    );
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().submits(), 4);
    assert_eq!(submits_per_prompt(&sandbox)["q1"], 1);
    let history = json(&with_ledger(&sandbox, &ledger, &["--json", "history"]));
    let markers: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["intent"]["marker"].as_str())
        .collect();
    assert!(
        markers.contains(&"batch:1#resend-1") && markers.contains(&"batch:2#resend-1"),
        "{markers:?}"
    );

    let output = quick_batch(&sandbox, &ledger, &second, &[]);
    assert_code(&output, 0);
    assert_eq!(summary(&output)["done_before"], 2);
    assert_eq!(sandbox.counts().submits(), 4);
}

/// SIGINT to the `modellix` process while the second of five slow submits is in
/// flight: that POST finishes and is recorded, no third one starts, and the summary
/// lists the two running tasks and the command that resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_ctrl_c_lets_the_submit_in_flight_finish_and_starts_no_other() {
    let slow = FaultPlan::new().script(Route::Submit, 5, Fault::Slow(Duration::from_millis(1500)));
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_secs(60)))
        .faults(slow)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..5).map(|i| format!("s{i}")));
    let child = command(
        &sandbox,
        &ledger,
        &[
            "--json",
            "batch",
            jobs.to_str().unwrap(),
            "--concurrency",
            "5",
            "--no-download",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut waited = 0;
    while sandbox.counts().submits() < 2 {
        assert!(waited < 2000, "the second submit never came");
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 1;
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 3);
    assert_eq!(sandbox.counts().submits(), 2, "no POST after the Ctrl-C");
    assert_eq!(sandbox.tasks().len(), 2);
    let s = summary(&output);
    assert_eq!(s["interrupted"], true, "{s}");
    let running: Vec<&str> = s["running"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["task_id"].as_str())
        .collect();
    let created: Vec<String> = sandbox.tasks().into_iter().map(|t| t.task_id).collect();
    assert_eq!(running.len(), 2, "{s}");
    assert!(
        running.iter().all(|id| created.iter().any(|c| c == id)),
        "{s}"
    );
    assert!(s["resume"].as_str().unwrap().contains("batch"), "{s}");
    let error = json_lines(&output).last().unwrap()["error"].clone();
    assert!(
        error["message"].as_str().unwrap().contains(running[0]),
        "{error}"
    );
    // Both sends recorded with their task, none left "in flight".
    let history = json(&with_ledger(&sandbox, &ledger, &["--json", "history"]));
    let states: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["accepted", "accepted"], "{history}");
}

/// After a submit whose connection dropped (outcome unknown), no new job starts
/// unless `--continue-on-unknown`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_stops_new_submits_unless_told_to_continue() {
    for (extra, posts) in [(&[][..], 1), (&["--continue-on-unknown"][..], 4)] {
        let reset = FaultPlan::new().script(Route::Submit, 1, Fault::Reset);
        let sandbox = Sandbox::builder().faults(reset).start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite");
        let jobs = jobs_file(dir.path(), (0..4).map(|i| format!("u{i}")));
        let mut args = vec!["--concurrency", "1"];
        args.extend_from_slice(extra);
        let output = quick_batch(&sandbox, &ledger, &jobs, &args);
        assert_code(&output, 4);
        assert_eq!(
            sandbox.counts().submits(),
            posts,
            "{extra:?}: {}",
            text(&output)
        );
        let s = summary(&output);
        assert_eq!(s["unknown"], serde_json::json!(["u0"]), "{s}");
        assert_eq!(s["stopped_after_unknown"], posts == 1, "{s}");
        if posts == 1 {
            assert_eq!(s["not_started"], 3, "{s}");
            let message = json_lines(&output).last().unwrap()["error"]["message"].clone();
            assert!(
                message.as_str().unwrap().contains("--continue-on-unknown"),
                "{message}"
            );
        }
    }
}

/// A batch waits through the library: its tasks feed the learning schedule's history
/// in the ledger, and it makes no more status queries than `task.wait()` makes for
/// the same tasks (each task here ends on its 4th query).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_waits_through_the_library_and_teaches_the_schedule() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 2,
            processing: 1,
        })
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..4).map(|i| format!("w{i}")));
    let output = quick_batch(&sandbox, &ledger, &jobs, &[]);
    assert_code(&output, 0);
    let batch_queries = sandbox.counts().task;

    let runs = modellix::SqliteLedger::open(&ledger)
        .unwrap()
        .runs(100)
        .await
        .unwrap();
    let of_model = runs
        .iter()
        .filter(|(kind, _)| kind.model_id.as_deref() == Some(MODEL))
        .count();
    assert_eq!(
        of_model, 4,
        "every task's run time is in the schedule's history: {runs:?}"
    );

    // The same four tasks through `task.wait()` with the same pace.
    let every = Duration::from_millis(50);
    let client = sandbox
        .client_builder()
        .poll_schedule(
            modellix::LearningSchedule::new(modellix::Backoff::fixed(every)).min_interval(every),
        )
        .build()
        .unwrap();
    for i in 0..4 {
        let body = serde_json::json!({"prompt": format!("again {i}"), "video_urls": ["https://example.com/in.mp4"]});
        client
            .submit_json(MODEL, &body)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
    }
    let wait_queries = sandbox.counts().task - batch_queries;
    eprintln!("status queries: batch {batch_queries}, task.wait() {wait_queries}");
    assert_eq!(wait_queries, 16);
    assert!(
        batch_queries <= wait_queries,
        "batch {batch_queries} > wait {wait_queries}"
    );
}

/// A fake Modellix whose one task succeeds with no result files.
async fn empty_success_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_at) = loop {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (
                            String::from_utf8_lossy(&seen[..end]).to_lowercase(),
                            end + 4,
                        );
                    }
                    if seen.len() > 65_536 {
                        return;
                    }
                };
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while seen.len() < body_at + length.min(1 << 20) {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&chunk[..n]),
                    }
                }
                let data = if head.starts_with("post") {
                    serde_json::json!({"status": "pending", "task_id": "task-empty-1", "model_id": MODEL})
                } else {
                    serde_json::json!({"task_id": "task-empty-1", "model_id": MODEL,
                        "status": "success", "result": {"resources": []}})
                };
                let body =
                    serde_json::json!({"code": 0, "message": "success", "data": data}).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

/// A task that succeeds without a single result file is an error that names the
/// task, and its job stays open: a rerun waits for it again instead of skipping it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_without_files_is_an_error_and_the_job_stays_open() {
    let url = empty_success_server().await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), ["e1".to_owned()]);
    let out = dir.path().join("out");
    let run = || {
        modellix()
            .env("MODELLIX_API_KEY", "sk-fake-empty-results")
            .env("MODELLIX_BASE_URL", &url)
            .env("MODELLIX_LEDGER", &ledger)
            .args([
                "--allow-insecure-http",
                "--allow-private-network",
                "--json",
                "batch",
            ])
            .arg(&jobs)
            .args(["--poll-interval", "0.05", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let output = run();
    assert_code(&output, 5);
    let events = json_lines(&output);
    let empty = events
        .iter()
        .find(|e| e["event"] == "empty_result")
        .unwrap_or_else(|| panic!("{}", text(&output)));
    assert_eq!(empty["task_id"], "task-empty-1");
    assert!(
        !events.iter().any(|e| e["event"] == "saved"),
        "{}",
        text(&output)
    );
    let error = &events.last().unwrap()["error"];
    assert!(error["message"].as_str().unwrap().contains("e1"), "{error}");

    let output = run();
    assert_code(&output, 5);
    let events = json_lines(&output);
    assert!(
        events.iter().any(|e| e["event"] == "resumed"),
        "the job is still open: {}",
        text(&output)
    );
}

/// A second Ctrl-C exits at once (130) while a submit is still in flight; its intent
/// is in the ledger, so `recover` lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_at_once_and_the_ledger_holds_the_send() {
    let slow = FaultPlan::new().script(Route::Submit, 1, Fault::Slow(Duration::from_secs(5)));
    let sandbox = Sandbox::builder().faults(slow).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..3).map(|i| format!("x{i}")));
    let child = command(
        &sandbox,
        &ledger,
        &["--json", "batch", jobs.to_str().unwrap(), "--no-download"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut waited = 0;
    while sandbox.counts().submits() < 1 {
        assert!(waited < 2000, "the first submit never came");
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 1;
    }
    let interrupt = || {
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
    };
    assert!(interrupt().success());
    // The first one is seen before the second comes (the listener says so on stderr).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(interrupt().success());
    let output = child.wait_with_output().unwrap();
    assert_code(&output, 130);
    assert_eq!(sandbox.counts().submits(), 1);
    let open = json(&with_ledger(&sandbox, &ledger, &["--json", "recover"]));
    assert_eq!(
        open["entries"][0]["outcome"]["state"], "in_flight",
        "{open}"
    );
}

/// A ledger written by an older build, whose markers were `batch:<path>#<line>`, is
/// still read: a line that holds the same request as then is done, a line that
/// changed since is a new job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_recorded_under_the_old_line_markers_are_not_sent_again() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = dir.path().join("jobs.jsonl");
    write_lines(&jobs, &[line("old"), line("other")]);
    let canonical = std::fs::canonicalize(&jobs).unwrap();
    let old = modellix::SqliteLedger::open(&ledger).unwrap();
    for (n, prompt) in [(1, "old"), (2, "was here before")] {
        let body =
            serde_json::json!({"prompt": prompt, "video_urls": ["https://example.com/in.mp4"]});
        let marker = format!("batch:{}#{n}", canonical.display());
        let intent = modellix::Intent::new(MODEL, &serde_json::to_vec(&body).unwrap(), "old-build")
            .with_marker(Some(marker));
        let entry = old.record_intent(&intent).await.unwrap();
        let task_id = format!("task-old-{n}");
        old.record_outcome(
            entry,
            &modellix::Outcome::Accepted {
                task_id: task_id.clone(),
            },
        )
        .await
        .unwrap();
        old.record_finished(&task_id, "success").await.unwrap();
    }
    drop(old);
    let output = quick_batch(&sandbox, &ledger, &jobs, &[]);
    assert_code(&output, 0);
    let s = summary(&output);
    assert_eq!(
        (s["done_before"].as_u64(), s["done"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(
        submits_per_prompt(&sandbox).keys().collect::<Vec<_>>(),
        ["other"]
    );
}

/// `--max-tasks` is the official CLI's safety cap on paid tasks: 30 new jobs under a
/// cap of 5 refuse before a single request is sent, naming both numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_of_five_on_thirty_jobs_sends_nothing() {
    let sandbox = limited_sandbox(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..30).map(|i| format!("c{i}")));
    let output = quick_batch(&sandbox, &ledger, &jobs, &["--max-tasks", "5"]);
    assert_code(&output, 2);
    assert_eq!(sandbox.counts().submits(), 0, "no POST: {}", text(&output));
    assert_eq!(sandbox.tasks().len(), 0);
    let error = json(&output)["error"].clone();
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("30") && message.contains("--max-tasks 5"),
        "{message}"
    );
    assert_eq!(
        (error["new_jobs"].as_u64(), error["max_tasks"].as_u64()),
        (Some(30), Some(5)),
        "{error}"
    );

    // Within the cap the same batch runs, and a rerun counts only new jobs.
    let output = quick_batch(&sandbox, &ledger, &jobs, &["--max-tasks", "30"]);
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().submits(), 30);
    let output = quick_batch(&sandbox, &ledger, &jobs, &["--max-tasks", "1"]);
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().submits(), 30, "done jobs are not new");
}

/// The most tasks whose run overlaps, from the sandbox's creation times.
fn peak_running(sandbox: &Sandbox, task: Duration) -> usize {
    let created: Vec<_> = sandbox.tasks().iter().map(|t| t.created_at).collect();
    created
        .iter()
        .map(|start| {
            created
                .iter()
                .filter(|c| *c <= start && **c + task > *start)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// `--concurrency N` bounds the tasks running at once, below the team's limit too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_the_tasks_running_at_once() {
    let task = Duration::from_millis(300);
    for (flag, n) in [(Some("5"), 5), (Some("2"), 2)] {
        let sandbox = Sandbox::builder()
            .concurrency_limit(10)
            .timing(Timing::Fixed(task))
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite");
        let jobs = jobs_file(dir.path(), (0..12).map(|i| format!("k{i}")));
        let mut args = vec!["--rpm", "6000"];
        if let Some(flag) = flag {
            args.extend(["--concurrency", flag]);
        }
        let output = quick_batch(&sandbox, &ledger, &jobs, &args);
        assert_code(&output, 0);
        assert_eq!(sandbox.tasks().len(), 12);
        assert_eq!(peak_running(&sandbox, task), n, "--concurrency {flag:?}");
        assert_eq!(sandbox.limit_rejections().total(), 0);
        let resume = summary(&output)["resume"].clone();
        assert!(resume.is_null(), "{resume}");
    }
}

/// The summary totals what the tasks of this run were billed, exactly (decimal), in
/// `--json` and for people; each saved job carries its own cost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_totals_the_cost_exactly() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    // Three 5 s clips and one 10 s clip at $0.0480 a second: 3 × 0.2400 + 0.4800.
    let mut lines: Vec<String> = (0..3).map(|i| line(&format!("clip {i}"))).collect();
    lines.push(
        serde_json::json!({
            "model": MODEL,
            "body": {"prompt": "long", "video_urls": ["https://example.com/in.mp4"], "duration": 10},
        })
        .to_string(),
    );
    let jobs = dir.path().join("jobs.jsonl");
    write_lines(&jobs, &lines);
    let output = quick_batch(&sandbox, &ledger, &jobs, &[]);
    assert_code(&output, 0);
    let s = summary(&output);
    assert_eq!(s["cost"], "1.2000", "{s}");
    assert_eq!(s["unpriced"], 0, "{s}");
    let saved: Vec<Value> = json_lines(&output)
        .into_iter()
        .filter(|e| e["event"] == "saved")
        .collect();
    assert_eq!(saved.len(), 4);
    assert!(saved.iter().all(|e| e["cost"].is_string()), "{saved:?}");

    let jobs2 = jobs_file(dir.path(), (0..2).map(|i| format!("h{i}")));
    let human = with_ledger(
        &sandbox,
        &ledger,
        &[
            "batch",
            jobs2.to_str().unwrap(),
            "--poll-interval",
            "0.05",
            "--no-download",
        ],
    );
    assert_code(&human, 0);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("billed in this run: $0.4800"),
        "{}",
        text(&human)
    );

    // The ledger kept each task's cost: history shows them and their exact total,
    // both runs together (1.2000 + 0.4800).
    let history = json(&with_ledger(&sandbox, &ledger, &["--json", "history"]));
    let costs: Vec<&str> = history["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["cost"].as_str())
        .collect();
    assert_eq!(costs.len(), 6, "{history}");
    assert_eq!(history["cost"], "1.6800", "{history}");
    assert_eq!(history["billed_tasks"], 6, "{history}");
    let listed = with_ledger(&sandbox, &ledger, &["history"]);
    assert_code(&listed, 0);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.contains("$0.4800"), "{listed}");
    assert!(
        listed.contains("billed: $1.6800 over 6 task(s) listed"),
        "{listed}"
    );
}

/// A job's local path goes through the library's local-file path, as in `run`: the clip
/// is uploaded, its URL sent, the upload deleted once the task ends; a rerun sends
/// nothing (the recorded body holds the upload URL, the job its path: not a conflict).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_with_a_local_clip_uploads_it_and_deletes_it_once_the_task_ends() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, modellix_sandbox::SAMPLE_MP4).unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = dir.path().join("jobs.jsonl");
    let job = |id: &str| {
        serde_json::json!({
            "id": id,
            "model": MODEL,
            "body": {"prompt": "Extend [Video 1]", "video_urls": [clip.to_str().unwrap()]},
        })
        .to_string()
    };
    write_lines(&jobs, &[job("one"), job("two")]);
    let output = quick_batch(&sandbox, &ledger, &jobs, &[]);
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().uploads, 2, "{}", text(&output));
    assert_eq!(sandbox.counts().submits(), 2);
    for task in sandbox.tasks() {
        let sent = task.body["video_urls"][0].as_str().unwrap().to_owned();
        assert!(sent.starts_with(sandbox.base_url()), "{sent}");
    }
    assert!(sandbox.uploads().is_empty(), "{:?}", sandbox.uploads());

    let output = quick_batch(&sandbox, &ledger, &jobs, &[]);
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().submits(), 2, "{}", text(&output));
    assert_eq!(sandbox.counts().uploads, 2);
}

/// `--max-cost` starts no job that could pass the cap: the first task of a model with
/// no known price runs alone; once billed ($0.2400), a second fits under $0.50 and a
/// third would not. The batch stops (exit 3), says what was billed and what to do,
/// and a later run continues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_cost_stops_new_jobs_at_the_cap() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..6).map(|i| format!("m{i}")));
    let output = quick_batch(
        &sandbox,
        &ledger,
        &jobs,
        &["--concurrency", "3", "--max-cost", "0.50"],
    );
    assert_code(&output, 3);
    assert_eq!(sandbox.tasks().len(), 2, "{}", text(&output));
    let s = summary(&output);
    assert_eq!(s["cost"], "0.4800", "{s}");
    assert_eq!(s["done"], 2, "{s}");
    assert_eq!(s["not_started"], 4, "{s}");
    assert_eq!(s["stopped_at_max_cost"], true, "{s}");
    let note = json_lines(&output)
        .into_iter()
        .find(|e| e["event"] == "cost_cap")
        .expect("a cost_cap event");
    assert_eq!(note["not_started"], 4, "{note}");
    let said = text(&output);
    assert!(said.contains("stopped at --max-cost $0.50"), "{said}");
    assert!(said.contains("$0.4800 billed"), "{said}");
    assert!(
        said.contains("--max-cost 0.50"),
        "the resume command keeps the cap: {said}"
    );

    // Without a cap the rest runs; nothing is sent twice.
    let rest = quick_batch(&sandbox, &ledger, &jobs, &["--concurrency", "3"]);
    assert_code(&rest, 0);
    assert_eq!(sandbox.tasks().len(), 6);
    assert_eq!(summary(&rest)["cost"], "0.9600");
}

/// Without `--concurrency` a batch learns the team's running-task limit: from the
/// lowest tier's 2 it probes one slot higher while no "Concurrent limit exceeded" is
/// seen, so against 10 slots it ends up running 10 at once. The probes' 429s create
/// nothing and fail no job; the ledger keeps what it learned for this key, and the
/// next run starts there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_flag_a_batch_learns_ten_slots() {
    let task = Duration::from_millis(300);
    let sandbox = Sandbox::builder()
        .concurrency_limit(10)
        .timing(Timing::Fixed(task))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..30).map(|i| format!("l{i}")));
    let output = quick_batch(&sandbox, &ledger, &jobs, &["--rpm", "6000"]);
    assert_code(&output, 0);
    let s = summary(&output);
    assert_eq!(
        (s["done"].as_u64(), s["failed"].as_u64()),
        (Some(30), Some(0)),
        "{s}"
    );
    assert_eq!(sandbox.tasks().len(), 30, "each job created once");
    assert_eq!(peak_running(&sandbox, task), 10, "{}", text(&output));
    let key = modellix::Client::builder()
        .api_key(sandbox.api_key())
        .memory_ledger()
        .build()
        .unwrap()
        .key_fingerprint()
        .to_owned();
    let kept = modellix::SqliteLedger::open(&ledger).unwrap();
    // At least the 10 that ran; a wait still polling a task that just ended counts
    // it as running, so the batch's own count may run a little above.
    let learned = kept.learned_limit(&key).await.unwrap().unwrap();
    assert!((10..=15).contains(&learned), "learned {learned}");

    // The next run starts at 10: its first ten jobs are sent before any ends.
    let more = jobs_file(dir.path(), (0..10).map(|i| format!("n{i}")));
    let before = sandbox.tasks().len();
    let next = quick_batch(&sandbox, &ledger, &more, &["--rpm", "6000"]);
    assert_code(&next, 0);
    let created: Vec<_> = sandbox.tasks()[before..]
        .iter()
        .map(|t| t.created_at)
        .collect();
    let spread = created
        .iter()
        .max()
        .unwrap()
        .duration_since(*created.iter().min().unwrap())
        .unwrap();
    assert!(spread < task, "all ten started at once: {spread:?}");
}

/// The run time a batch keeps in the ledger for the next one is the server's own
/// `duration` (300 ms here), not the middle of what its queries bracketed: polled after
/// 1 s, a 300 ms task would be remembered as ending near 500 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_keeps_the_run_time_the_server_stated() {
    let task = Duration::from_millis(300);
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(task))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..3).map(|i| format!("d{i}")));
    let args = [
        "--json",
        "batch",
        jobs.to_str().unwrap(),
        "--concurrency",
        "3",
        "--poll-interval",
        "1",
        "--no-download",
    ];
    let output = with_ledger(&sandbox, &ledger, &args);
    assert_code(&output, 0);
    let kept = modellix::SqliteLedger::open(&ledger).unwrap();
    let runs = kept.runs(10).await.unwrap();
    assert_eq!(runs.len(), 3, "{runs:?}");
    for (_, took) in runs {
        // The end lies after the stated 300 ms, within the submit's own time.
        assert!(
            took >= task && took < Duration::from_millis(400),
            "{took:?}"
        );
    }
}

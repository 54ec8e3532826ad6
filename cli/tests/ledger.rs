//! The ledger from the command line: history, recover, and batches that continue
//! after a timeout or a `kill -9` without sending any job twice.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{assert_code, jobs_file, json, json_lines, modellix, text};
use modellix_sandbox::{Fault, FaultPlan, Route, Sandbox, Timing};
use serde_json::Value;

/// The binary against `sandbox`, with its own ledger file.
fn with_ledger(sandbox: &Sandbox, ledger: &Path, args: &[&str]) -> Output {
    command(sandbox, ledger, args)
        .output()
        .expect("the binary runs")
}

fn command(sandbox: &Sandbox, ledger: &Path, args: &[&str]) -> std::process::Command {
    let mut command = modellix();
    command
        .env("MODELLIX_API_KEY", sandbox.api_key())
        .env("MODELLIX_BASE_URL", sandbox.base_url())
        .env("MODELLIX_LEDGER", ledger)
        .args(["--allow-insecure-http", "--allow-private-network"])
        .args(args);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_recover_show_what_was_sent() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 1,
            processing: 0,
        })
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let output = with_ledger(
        &sandbox,
        &ledger,
        &[
            "--json",
            "run",
            common::MODEL,
            "--prompt",
            "x",
            "--video-urls",
            "https://example.com/a.mp4",
            "--no-wait",
        ],
    );
    assert_code(&output, 0);
    let task_id = json(&output)["task_id"].as_str().unwrap().to_owned();

    let output = with_ledger(&sandbox, &ledger, &["--json", "recover"]);
    assert_code(&output, 0);
    let open = json(&output);
    assert_eq!(
        open["entries"][0]["outcome"]["task_id"],
        task_id.as_str(),
        "{open}"
    );
    assert!(
        open["entries"][0]["next_step"]
            .as_str()
            .unwrap()
            .contains(&task_id)
    );
    assert!(text(&with_ledger(&sandbox, &ledger, &["recover"])).contains(&task_id));

    let output = with_ledger(
        &sandbox,
        &ledger,
        &["task", "wait", &task_id, "--no-download"],
    );
    assert_code(&output, 0);
    let open = json(&with_ledger(&sandbox, &ledger, &["--json", "recover"]));
    assert_eq!(open["entries"].as_array().unwrap().len(), 0, "{open}");
    let history = json(&with_ledger(
        &sandbox,
        &ledger,
        &["--json", "history", "--limit", "5"],
    ));
    assert_eq!(
        history["entries"][0]["outcome"]["state"], "finished",
        "{history}"
    );
    assert!(text(&with_ledger(&sandbox, &ledger, &["history"])).contains(&task_id));
}

fn submits_per_job(sandbox: &Sandbox) -> HashMap<String, usize> {
    let mut per_job = HashMap::new();
    for task in sandbox.tasks() {
        let prompt = task.body["prompt"].as_str().unwrap_or_default().to_owned();
        *per_job.entry(prompt).or_default() += 1;
    }
    per_job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_timed_out_continues_without_resending() {
    let sandbox = Sandbox::builder()
        .concurrency_limit(3)
        .timing(Timing::Fixed(Duration::from_millis(1500)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..5).map(|i| format!("j{i}")));
    let jobs = jobs.to_str().unwrap();
    let args = [
        "batch",
        jobs,
        "--concurrency",
        "3",
        "--poll-interval",
        "0.1",
        "--no-download",
    ];
    let mut first = vec!["--json"];
    first.extend_from_slice(&args);
    first.extend_from_slice(&["--timeout", "1"]);
    let output = with_ledger(&sandbox, &ledger, &first);
    assert_code(&output, 3);
    let events = json_lines(&output);
    let error = &events.last().unwrap()["error"];
    let resume = error["resume"]
        .as_str()
        .unwrap_or_else(|| error["summary"]["resume"].as_str().unwrap());
    assert!(
        resume.starts_with("modellix") && resume.contains("batch") && resume.contains(jobs),
        "{resume}"
    );

    let mut second = vec!["--json"];
    second.extend_from_slice(&args);
    let output = with_ledger(&sandbox, &ledger, &second);
    assert_code(&output, 0);
    let events = json_lines(&output);
    assert_eq!(
        events.iter().filter(|e| e["event"] == "resumed").count(),
        3,
        "{}",
        text(&output)
    );
    let summary = events.last().unwrap();
    assert_eq!(summary["done"], 5, "{summary}");
    assert!(
        submits_per_job(&sandbox).values().all(|&n| n == 1),
        "{:?}",
        submits_per_job(&sandbox)
    );
    assert_eq!(sandbox.counts().submits(), 5);

    let output = with_ledger(&sandbox, &ledger, &second);
    assert_code(&output, 0);
    assert_eq!(
        json_lines(&output).last().unwrap()["done_before"],
        5,
        "a third run sends nothing"
    );
    assert_eq!(sandbox.counts().submits(), 5);
}

/// Two batch processes started at once on the same jobs and the same ledger file:
/// each job is POSTed exactly once (the ledger refuses an intent whose marker the
/// other process holds), and a third run finds every job done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_batches_racing_on_one_ledger_post_each_job_once() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(100)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), (0..30).map(|i| format!("j{i}")));
    let jobs = jobs.to_str().unwrap();
    let args = [
        "--json",
        "batch",
        jobs,
        "--concurrency",
        "6",
        "--poll-interval",
        "0.05",
        "--no-download",
    ];
    let racers: Vec<_> = (0..2)
        .map(|_| {
            command(&sandbox, &ledger, &args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut held_elsewhere = 0;
    let mut logs = String::new();
    for racer in racers {
        let output = racer.wait_with_output().unwrap();
        logs.push_str(&text(&output));
        logs.push_str("\n----\n");
        // 3 when some job was being sent by the other process; 4 when, at the start,
        // the other's intent was in flight (indistinguishable from a crash's).
        assert!(
            matches!(output.status.code(), Some(0 | 3 | 4)),
            "{}",
            text(&output)
        );
        let events = json_lines(&output);
        held_elsewhere += events.iter().filter(|e| e["event"] == "elsewhere").count();
    }
    let per_job = submits_per_job(&sandbox);
    assert!(per_job.values().all(|&n| n == 1), "{per_job:?}\n{logs}");
    assert_eq!(sandbox.counts().submits(), 30);
    eprintln!("two racing batches: 30 POSTs, {held_elsewhere} jobs left to the other process");

    let output = with_ledger(&sandbox, &ledger, &args);
    assert_code(&output, 0);
    let summary = json_lines(&output).pop().unwrap();
    assert_eq!(summary["done_before"], 30, "{summary}");
    assert_eq!(sandbox.counts().submits(), 30);
}

/// `kill -9` of a batch at random moments, each followed by a rerun, then a last run
/// to the end: no job is POSTed twice, and every job is done exactly once or listed as
/// unknown. `KILLS=20` for the figure in BENCHMARKS.md (default 6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_never_sends_a_job_twice() {
    let kills: u32 = std::env::var("KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    let sandbox = Sandbox::builder()
        .concurrency_limit(3)
        .timing(Timing::Fixed(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = 4 * kills as usize;
    let file = jobs_file(dir.path(), (0..jobs).map(|i| format!("k{i}")));
    let out = dir.path().join("out");
    let args = [
        "--json",
        "batch",
        file.to_str().unwrap(),
        "--poll-interval",
        "0.05",
        "--out",
        out.to_str().unwrap(),
    ];
    // A small generator: the moments differ but the test is repeatable.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next_ms = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        40 + (seed >> 33) % 400
    };
    for _ in 0..kills {
        let mut child = command(&sandbox, &ledger, &args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(next_ms()));
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
    }
    let output = with_ledger(&sandbox, &ledger, &args[..]);
    let events = json_lines(&output);
    let summary = events
        .iter()
        .rev()
        .find(|e| e["event"] == "summary")
        .unwrap();
    let unknown: Vec<&str> = summary["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let done = summary["done"].as_u64().unwrap() + summary["done_before"].as_u64().unwrap();
    assert_eq!(summary["unfinished"], 0, "{summary}");
    assert_eq!(
        done as usize + unknown.len(),
        jobs,
        "every job done or listed: {summary}"
    );
    assert_code(&output, if unknown.is_empty() { 0 } else { 4 });

    let per_job = submits_per_job(&sandbox);
    assert!(
        per_job.values().all(|&n| n == 1),
        "a job POSTed twice: {per_job:?}"
    );
    for i in 0..jobs {
        let name = format!("k{i}");
        let sent = per_job.contains_key(&format!("job {name}"));
        assert!(
            sent || unknown.contains(&name.as_str()),
            "{name} neither sent nor listed"
        );
    }
    // Every job the sandbox ran to success has its video, exactly once.
    // Partial downloads cut by a kill stay behind as private temporary files; only
    // finished videos count.
    let names: Vec<String> = std::fs::read_dir(&out)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let saved = names
        .iter()
        .filter(|n| !n.starts_with('.') && n.ends_with(".mp4"))
        .count();
    let leftovers: Vec<&String> = names
        .iter()
        .filter(|n| !n.ends_with(".mp4") || n.starts_with('.'))
        .collect();
    println!("left behind by kills: {leftovers:?}");
    println!(
        "{kills} kills, {jobs} jobs: {} POSTs, {} done, {} unknown, {saved} files",
        sandbox.counts().submits(),
        done,
        unknown.len()
    );
    assert_eq!(saved as u64, done, "one saved video per done job");
}

/// An unknown outcome, checked in the console, is dismissed from the command line
/// (`modellix ledger dismiss`, confirmed with `--yes`), as `recover`'s hint says in
/// shell words; then neither `recover` nor `batch` reports it unknown, and the batch
/// sends its job again only when told `--resend`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissed_entry_is_no_longer_unknown_for_recover_or_batch() {
    let reset = FaultPlan::new().script(Route::Submit, 1, Fault::Reset);
    let sandbox = Sandbox::builder().faults(reset).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    let jobs = jobs_file(dir.path(), ["d1".to_owned()]);
    let jobs = jobs.to_str().unwrap();
    let batch = [
        "--json",
        "batch",
        jobs,
        "--poll-interval",
        "0.05",
        "--no-download",
    ];
    assert_code(&with_ledger(&sandbox, &ledger, &batch), 4);

    let open = json(&with_ledger(&sandbox, &ledger, &["--json", "recover"]));
    let entry = &open["entries"][0];
    assert_eq!(entry["outcome"]["state"], "unknown", "{open}");
    let id = entry["id"].as_i64().unwrap().to_string();
    let hint = entry["next_step"].as_str().unwrap();
    assert!(
        hint.contains("then: modellix ")
            && hint.ends_with(&format!(" ledger dismiss {id}"))
            && !hint.contains("client."),
        "{hint}"
    );

    // Not confirmed (no terminal, no --yes), or no such entry: nothing changes.
    let output = with_ledger(&sandbox, &ledger, &["ledger", "dismiss", &id]);
    assert_code(&output, 2);
    assert!(text(&output).contains("--yes"), "{}", text(&output));
    assert_code(
        &with_ledger(&sandbox, &ledger, &["ledger", "dismiss", "9999", "--yes"]),
        2,
    );
    let open = json(&with_ledger(&sandbox, &ledger, &["--json", "recover"]));
    assert_eq!(open["entries"].as_array().unwrap().len(), 1, "{open}");

    let output = with_ledger(
        &sandbox,
        &ledger,
        &["--json", "ledger", "dismiss", &id, "--yes"],
    );
    assert_code(&output, 0);
    assert_eq!(json(&output)["dismissed"].to_string(), id);
    let open = json(&with_ledger(&sandbox, &ledger, &["--json", "recover"]));
    assert_eq!(open["entries"].as_array().unwrap().len(), 0, "{open}");
    let history = json(&with_ledger(&sandbox, &ledger, &["--json", "history"]));
    assert_eq!(
        history["entries"][0]["outcome"]["state"], "dismissed",
        "{history}"
    );

    let output = with_ledger(&sandbox, &ledger, &batch);
    assert_code(&output, 0);
    let events = json_lines(&output);
    assert!(
        events.iter().any(|e| e["event"] == "dismissed"),
        "{}",
        text(&output)
    );
    assert_eq!(events.last().unwrap()["unknown"], serde_json::json!([]));
    assert_eq!(sandbox.counts().submits(), 1, "not sent again by itself");

    let mut resend = batch.to_vec();
    resend.extend_from_slice(&["--resend", "d1"]);
    assert_code(&with_ledger(&sandbox, &ledger, &resend), 0);
    assert_eq!(sandbox.counts().submits(), 2);
}

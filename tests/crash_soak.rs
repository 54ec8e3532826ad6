//! Crash soak: a child process submits and waits through an on-disk ledger against
//! the sandbox (served by this process), and is killed with SIGKILL at random moments,
//! then restarted, and finally left to finish. From the sandbox's own records:
//! no job was POSTed twice, every task the sandbox created was resumed to its end or is
//! reported as an unknown intent, and unknowns stay within the submits in flight.
//!
//! `MODELLIX_CRASH_KILLS` sets the number of kills (default 12, with 4 jobs per kill;
//! RELIABILITY.md has a longer run). The child is this test binary, re-run with `MODELLIX_CRASH_CHILD` set.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use modellix::types::Seedance20V2vRequest;
use modellix::{
    Backoff, Client, EntryQuery, Outcome, SqliteLedger, SubmitOptions, TaskLedger, WaitOptions,
};
use modellix_sandbox::{Fault, FaultPlan, Route, Sandbox, Timing};

const CHILD_ENV: &str = "MODELLIX_CRASH_CHILD";
/// Jobs per kill, so that kills keep landing on a busy child.
const JOBS_PER_KILL: usize = 4;
const IN_FLIGHT: usize = 4;

fn jobs() -> usize {
    kills() * JOBS_PER_KILL
}

fn kills() -> usize {
    std::env::var("MODELLIX_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(12)
}

fn job_marker(i: usize) -> String {
    format!("job-{i:03}")
}

fn job_request(i: usize) -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt(format!("Extend [Video 1] ({})", job_marker(i)))
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()
        .unwrap()
}

/// The child: resume what the ledger says is open, then send every job that has no
/// entry yet (a job with any entry other than "never sent" is never sent again).
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return; // run as a normal test: nothing to do
    };
    let (url, key, ledger) = {
        let mut parts = spec.splitn(3, '\n');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let client = Client::builder()
            .api_key(key)
            .base_url(url)
            .ledger_path(ledger)
            .poll_schedule(Backoff::fixed(Duration::from_millis(20)))
            .requests_per_minute(None)
            .wait_options(WaitOptions::deadline(Duration::from_secs(60)))
            .build()
            .unwrap();
        for entry in client.recover().await.unwrap() {
            if let Some(id) = entry.task_id() {
                client.task(id).unwrap().wait().await.unwrap();
            }
        }
        let client = &client;
        futures_util::stream::iter(0..jobs())
            .map(|i| async move {
                let marker = job_marker(i);
                let entries = client
                    .ledger()
                    .entries(&EntryQuery::marker(marker.clone()))
                    .await
                    .unwrap();
                if entries
                    .iter()
                    .any(|e| !matches!(e.outcome, Outcome::NotSent { .. }))
                {
                    return;
                }
                match client
                    .submit_with(&job_request(i), SubmitOptions::new().marker(marker))
                    .await
                {
                    Ok(task) => {
                        task.wait().await.unwrap();
                    }
                    Err(e) => assert!(e.is_outcome_unknown(), "{e}"),
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<()>>()
            .await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_children_never_send_twice_and_lose_nothing() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let kills = kills();
    // Half the submits answer slowly, so kills also land between a POST and its answer.
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(150)))
        .faults(FaultPlan::new().random(
            Route::Submit,
            0.5,
            Fault::Slow(Duration::from_millis(300)),
        ))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("ledger.sqlite3");
    let spec = format!(
        "{}\n{}\n{}",
        sandbox.base_url(),
        sandbox.api_key(),
        ledger_path.display()
    );
    let child = || {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child",
                "--test-threads",
                "1",
                "--nocapture",
            ])
            .env(CHILD_ENV, &spec)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut killed_running = 0;
    for _ in 0..kills {
        let mut process = child();
        tokio::time::sleep(Duration::from_millis(rng.u64(40..700))).await;
        if process.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        process.kill().unwrap(); // SIGKILL
        process.wait().unwrap();
    }
    // The last run is left alone and must finish everything that can be finished.
    let last = child().wait_with_output().unwrap();
    assert!(
        last.status.success(),
        "the final run failed:\n{}",
        String::from_utf8_lossy(&last.stderr)
    );

    let ledger = SqliteLedger::open(&ledger_path).unwrap();
    let entries = ledger.entries(&EntryQuery::recent(0)).await.unwrap();
    let mut by_job: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for entry in &entries {
        by_job
            .entry(entry.intent.marker.clone().unwrap())
            .or_default()
            .push(entry);
    }
    let mut created: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for task in sandbox.tasks() {
        let prompt = task.body["prompt"].as_str().unwrap();
        let job = prompt
            .split(['(', ')'])
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        created.entry(job).or_default().push(task.task_id);
    }

    let (mut finished, mut unknown) = (0, 0);
    for i in 0..jobs() {
        let job = job_marker(i);
        let tasks = created.get(&job).cloned().unwrap_or_default();
        assert!(tasks.len() <= 1, "{job} was POSTed {} times", tasks.len());
        let sent: Vec<_> = by_job
            .get(&job)
            .map(|e| {
                e.iter()
                    .filter(|e| !matches!(e.outcome, Outcome::NotSent { .. }))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(sent.len(), 1, "{job}: one sent entry, got {sent:?}");
        match &sent[0].outcome {
            Outcome::Finished { task_id, status } => {
                assert_eq!(tasks, std::slice::from_ref(task_id), "{job}");
                assert_eq!(status, "success");
                finished += 1;
            }
            // Reported as an unknown intent: the process died between the intent and
            // the outcome (the sandbox may or may not have created the task).
            Outcome::InFlight | Outcome::Unknown { task_id: None, .. } => {
                assert!(sent[0].outcome.is_open());
                unknown += 1;
            }
            other => panic!("{job}: left as {other:?}, neither finished nor reported"),
        }
    }
    println!(
        "crash soak: {kills} kills ({killed_running} while running), {} jobs, \
         {finished} finished once, {unknown} reported unknown, {} tasks created, 0 sent twice",
        jobs(),
        sandbox.tasks().len()
    );
    assert!(
        unknown <= killed_running * IN_FLIGHT,
        "{unknown} unknowns for {killed_running} kills of {IN_FLIGHT} submits in flight"
    );
    assert_eq!(
        finished + unknown,
        jobs(),
        "liveness: every job ended one way"
    );
    assert!(finished > 0, "liveness: the final run finished jobs");
}

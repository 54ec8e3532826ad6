//! Batches on a PostgreSQL ledger (`--ledger postgres://…`): processes on one jobs
//! file split the jobs, share the team's running slots and bill every job once, also
//! when they are killed and started again; a later run finds them all done.
//!
//! Needs `MODELLIX_TEST_POSTGRES_URL` (`.ci/postgres.sh start DIR` prints one): without
//! it the tests skip, saying so, unless `CI` is set, where they fail.

mod common;
#[path = "../../tests/postgres_server/mod.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{assert_code, jobs_file, modellix, text};
use modellix::{EntryQuery, Outcome, PostgresLedger, TaskLedger};
use modellix_sandbox::{Sandbox, Timing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_batches_on_one_postgres_ledger_bill_each_job_once() {
    let Some(url) = postgres_server::server_url("two_batches_on_one_postgres_ledger") else {
        return;
    };
    let sandbox = Sandbox::builder()
        .timing(Timing::Polls {
            pending: 1,
            processing: 1,
        })
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Job names of their own: the database is shared with other tests.
    let run = format!("{}-{}", std::process::id(), fastrand_suffix());
    let jobs = jobs_file(dir.path(), (0..6).map(|i| format!("pg-{run}-{i}")));
    let batch = || {
        let mut command = modellix();
        command
            .env("MODELLIX_API_KEY", sandbox.api_key())
            .env("MODELLIX_BASE_URL", sandbox.base_url())
            .env("MODELLIX_LEDGER", &url)
            .args(["--allow-insecure-http", "--allow-private-network", "batch"])
            .arg(&jobs)
            .args(["--no-download", "--poll-interval", "0.2"]);
        command
    };
    let first = batch().spawn().unwrap();
    let second = batch().spawn().unwrap();
    let (first, second) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    for output in [&first, &second] {
        let shown = text(output);
        let password = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .and_then(|(credentials, _)| credentials.split_once(':'));
        if let Some((_, password)) = password {
            assert!(!shown.contains(password), "the password was printed");
        }
    }
    let tasks = sandbox.tasks();
    assert_eq!(
        tasks.len(),
        6,
        "every job billed once: {}{}",
        text(&first),
        text(&second)
    );

    let again = batch().output().unwrap();
    assert_code(&again, 0);
    assert!(
        text(&again).contains("6 done before"),
        "a later run finds every job done: {}",
        text(&again)
    );
    assert_eq!(sandbox.tasks().len(), 6, "nothing sent again");
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A `modellix batch` of `jobs` on the ledger at `url`, against `sandbox`, with the
/// team's limit told.
fn team_batch(sandbox: &Sandbox, url: &str, jobs: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = modellix();
    command
        .env("MODELLIX_API_KEY", sandbox.api_key())
        .env("MODELLIX_BASE_URL", sandbox.base_url())
        .env("MODELLIX_LEDGER", url)
        .args(["--allow-insecure-http", "--allow-private-network", "batch"])
        .arg(jobs)
        .args(["--no-download", "--concurrency", "3", "--json"])
        .args(extra);
    command
}

/// Tasks the sandbox created per job name (its prompt is `job NAME`).
fn billed(sandbox: &Sandbox) -> BTreeMap<String, usize> {
    let mut per_job = BTreeMap::new();
    for task in sandbox.tasks() {
        let prompt = task.body["prompt"].as_str().unwrap_or_default().to_owned();
        *per_job
            .entry(prompt.trim_start_matches("job ").to_owned())
            .or_default() += 1;
    }
    per_job
}

/// Three batch processes on one jobs file and one PostgreSQL ledger, on a team of 3
/// running slots at 100 requests a minute (a time-scaled minute of 6 s, and polls
/// every 0.1 s, so that each process alone would spend the key's whole budget): they
/// split the jobs, never run more than the team's 3 at once (no "Concurrent limit
/// exceeded") nor pass the key's rate, and bill every job once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_batches_share_the_teams_slots_without_a_429() {
    let Some(url) = postgres_server::fresh_database("three_batches_share").await else {
        return;
    };
    let task = Duration::from_secs(1);
    let sandbox = Sandbox::builder()
        .concurrency_limit(3)
        .rpm(100)
        .time_scale(0.1)
        .timing(Timing::Fixed(task))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..18).map(|i| format!("team-{i}")).collect();
    let jobs = jobs_file(dir.path(), names.clone());
    let started = Instant::now();
    let pace = [
        "--rate-window",
        "6",
        "--poll-interval",
        "0.1",
        "--timeout",
        "120",
    ];
    let batches: Vec<Child> = (0..3)
        .map(|_| team_batch(&sandbox, &url, &jobs, &pace).spawn().unwrap())
        .collect();
    let outputs: Vec<_> = batches
        .into_iter()
        .map(|b| b.wait_with_output().unwrap())
        .collect();
    let took = started.elapsed();
    let shown: String = outputs.iter().map(text).collect();
    for output in &outputs {
        assert_code(output, 0);
    }
    let per_job = billed(&sandbox);
    assert_eq!(per_job.len(), 18, "every job billed: {shown}");
    assert!(per_job.values().all(|&n| n == 1), "none twice: {per_job:?}");
    let rejections = sandbox.limit_rejections();
    eprintln!(
        "three batches, 18 jobs of 1 s on 3 slots: {:.1} s (bound 6 s), {} requests, \
         429s: {} concurrency, {} rate",
        took.as_secs_f64(),
        sandbox.counts().total,
        rejections.concurrency,
        rejections.rate
    );
    assert_eq!(
        (rejections.concurrency, rejections.rate),
        (0, 0),
        "no 429 of either kind: {shown}"
    );
    // Liveness: the three kept the team's slots busy (the bound is 18 × 1 s / 3 = 6 s).
    assert!(
        took < Duration::from_secs(30),
        "three batches of 18 one-second jobs took {took:?}"
    );
}

/// Batch processes killed with SIGKILL at random moments and started again, on one
/// jobs file and one PostgreSQL ledger: no job is billed twice, and every job is
/// billed once except those whose submit was in flight at a kill (listed as unknown,
/// never resent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_batches_bill_no_job_twice() {
    let Some(url) = postgres_server::fresh_database("killed_batches").await else {
        return;
    };
    let sandbox = Sandbox::builder()
        .concurrency_limit(3)
        .timing(Timing::Fixed(Duration::from_millis(600)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..30).map(|i| format!("kill-{i}")).collect();
    let jobs = jobs_file(dir.path(), names.clone());
    // Short leases, so a killed process's tasks are taken over within the test.
    // A stalled process gives up (exit 3) rather than hang the test.
    let extra = [
        "--slot-lease",
        "2",
        "--poll-interval",
        "0.2",
        "--timeout",
        "120",
    ];
    let mut rng = fastrand::Rng::with_seed(0x6b696c6c);
    let mut lanes: Vec<Child> = (0..3)
        .map(|_| team_batch(&sandbox, &url, &jobs, &extra).spawn().unwrap())
        .collect();
    let mut kills = 0;
    while kills < 24 {
        std::thread::sleep(Duration::from_millis(rng.u64(50..700)));
        let lane = rng.usize(0..lanes.len());
        // The process that sends: the modellix binary itself, no wrapper.
        let _ = lanes[lane].kill();
        let _ = lanes[lane].wait();
        kills += 1;
        lanes[lane] = team_batch(&sandbox, &url, &jobs, &extra).spawn().unwrap();
    }
    let outputs: Vec<_> = lanes
        .into_iter()
        .map(|lane| lane.wait_with_output().unwrap())
        .collect();
    for output in &outputs {
        assert!(
            matches!(output.status.code(), Some(0 | 4)),
            "each process ends with its jobs done or listed as unknown: {}",
            text(output)
        );
    }
    // One more, unkilled, run: whatever is left ends.
    let last = team_batch(&sandbox, &url, &jobs, &extra).output().unwrap();
    let shown: String = outputs.iter().chain([&last]).map(text).collect();
    // Everything done, or unknown outcomes listed (exit 4): never a stall.
    assert!(
        matches!(last.status.code(), Some(0 | 4)),
        "the last run: {}",
        text(&last)
    );

    let per_job = billed(&sandbox);
    assert!(
        per_job.values().all(|&n| n == 1),
        "a job billed twice after {kills} kills: {per_job:?}"
    );
    let ledger = PostgresLedger::connect(&url).await.unwrap();
    let mut unbilled_unknown = 0;
    for name in &names {
        if per_job.contains_key(name) {
            continue;
        }
        let entries = ledger
            .entries(&EntryQuery::marker(format!("batch:{name}")))
            .await
            .unwrap();
        assert!(
            entries
                .iter()
                .any(|e| matches!(e.outcome, Outcome::InFlight | Outcome::Unknown { .. })),
            "job {name} was never billed and is not an unknown outcome: {entries:?}\n{shown}"
        );
        unbilled_unknown += 1;
    }
    eprintln!(
        "{kills} kills: {} jobs billed once, {unbilled_unknown} unknown outcomes",
        per_job.len()
    );
    // At most the submits in flight at each kill (one process sends one at a time).
    assert!(
        unbilled_unknown <= kills,
        "{unbilled_unknown} unknown outcomes after {kills} kills"
    );
    // Liveness: everything not unknown ended, and the last run says so.
    let open = ledger.entries(&EntryQuery::open()).await.unwrap();
    let stuck: Vec<_> = open
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Accepted { .. }))
        .collect();
    assert!(
        stuck.is_empty(),
        "tasks left running: {stuck:?}\n{}",
        text(&last)
    );
    assert_eq!(
        sandbox.limit_rejections().concurrency,
        0,
        "the team's 3 slots held through the kills"
    );
}

//! Several instances, one team: three `modellix batch` processes on one jobs file
//! against a sandbox team of 3 running slots at 100 requests a minute, in the same
//! run with one PostgreSQL ledger shared by all three and with a SQLite ledger per
//! process (each instance on its own disk, as containers are). Printed per row: the
//! makespan beside the bound (jobs × run time / slots), the 429s of each kind, the
//! tasks billed and how many of them bill a job twice. Then what the database costs
//! the shared ledger per submit and per poll, measured on its own calls.
//!
//! `cargo bench -p modellix-cli --bench fleet` (`JOBS=12`, `TASK_SECS=2` by default).
//! Uses `MODELLIX_TEST_POSTGRES_URL` when set, else starts a throw-away server with
//! `.ci/postgres.sh` (Debian's PostgreSQL) and stops it afterwards.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../../tests/postgres_server/mod.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{jobs_file, modellix};
use modellix::{
    Claim, Intent, Outcome, PostgresLedger, SharedRate, SlotClaim, SqliteLedger, TaskLedger,
};
use modellix_sandbox::{Sandbox, Timing};

struct Row {
    seconds: f64,
    billed: usize,
    duplicates: usize,
    concurrency_429: u64,
    rate_429: u64,
    requests: u64,
}

/// Three batch processes on `jobs`, each with the ledger `ledger_of(i)` gives.
async fn three_batches(jobs: usize, task: Duration, ledger_of: impl Fn(usize) -> String) -> Row {
    let sandbox = Sandbox::builder()
        .concurrency_limit(3)
        .rpm(100)
        .timing(Timing::Fixed(task))
        .start()
        .await
        .expect("sandbox");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = jobs_file(dir.path(), (0..jobs).map(|i| format!("fleet-{i}")));
    let spawn = |ledger: String| -> Child {
        modellix()
            .env("MODELLIX_API_KEY", sandbox.api_key())
            .env("MODELLIX_BASE_URL", sandbox.base_url())
            .env("MODELLIX_LEDGER", ledger)
            .env("XDG_DATA_HOME", dir.path())
            .args(["--allow-insecure-http", "--allow-private-network", "batch"])
            .arg(&file)
            .args(["--no-download", "--concurrency", "3", "--json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("modellix batch")
    };
    let start = Instant::now();
    let children: Vec<Child> = (0..3).map(|i| spawn(ledger_of(i))).collect();
    for mut child in children {
        let _ = child.wait();
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut per_job: BTreeMap<String, usize> = BTreeMap::new();
    for task in sandbox.tasks() {
        let prompt = task.body["prompt"].as_str().unwrap_or_default().to_owned();
        *per_job.entry(prompt).or_default() += 1;
    }
    let rejected = sandbox.limit_rejections();
    let billed: usize = per_job.values().sum();
    Row {
        seconds,
        billed,
        duplicates: billed - per_job.len(),
        concurrency_429: rejected.concurrency,
        rate_429: rejected.rate,
        requests: sandbox.counts().total + rejected.total(),
    }
}

fn print(label: &str, row: &Row, bound: f64) {
    println!(
        "{label:<28} {:>6.1} s {:>5.2}× bound {:>4} billed {:>4} twice {:>3} concurrency 429s \
         {:>3} rate 429s {:>5} requests",
        row.seconds,
        row.seconds / bound,
        row.billed,
        row.duplicates,
        row.concurrency_429,
        row.rate_429,
        row.requests
    );
}

/// Mean and 95th percentile of `samples`, in microseconds.
fn spread(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let mean = samples.iter().sum::<Duration>().as_secs_f64() / samples.len().max(1) as f64;
    let p95 = samples
        .get(samples.len() * 95 / 100)
        .copied()
        .unwrap_or_default();
    (mean * 1e6, p95.as_secs_f64() * 1e6)
}

/// What one submit and one poll cost the database: a submit is the intent with its
/// slot, its outcome and a request of the shared rate; a poll is a lease renewal and
/// a request of the shared rate; the end frees the slot.
async fn database_cost(ledger: &dyn TaskLedger, label: &str, rounds: usize) {
    let claim = SlotClaim::new("key:bench", Some(100), 3);
    let rate = SharedRate::new(Duration::from_micros(1), 1_000_000);
    let shared = ledger.shares_slots();
    let (mut submits, mut polls, mut ends) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..rounds {
        let task_id = format!("task-bench-{n}");
        let intent = Intent::new(
            "bytedance/seedance-2.0-v2v",
            n.to_string().as_bytes(),
            "bench",
        );
        let start = Instant::now();
        let entry = if shared {
            match ledger.claim_slot(&intent, &claim).await.expect("claim") {
                Claim::Admitted { entry } => entry,
                other => panic!("{other:?}"),
            }
        } else {
            ledger.record_intent(&intent).await.expect("intent")
        };
        ledger
            .record_outcome(
                entry,
                &Outcome::Accepted {
                    task_id: task_id.clone(),
                },
            )
            .await
            .expect("outcome");
        if shared {
            ledger.take_request("key:bench", &rate).await.expect("rate");
        }
        submits.push(start.elapsed());
        let start = Instant::now();
        if shared {
            ledger
                .renew_slot(&task_id, Duration::from_secs(120))
                .await
                .expect("renew");
            ledger.take_request("key:bench", &rate).await.expect("rate");
        }
        polls.push(start.elapsed());
        let start = Instant::now();
        ledger
            .record_finished(&task_id, "success")
            .await
            .expect("finished");
        ends.push(start.elapsed());
    }
    let (submit_mean, submit_p95) = spread(submits);
    let (poll_mean, poll_p95) = spread(polls);
    let (end_mean, end_p95) = spread(ends);
    println!(
        "{label:<28} per submit {submit_mean:>7.0} µs (p95 {submit_p95:>6.0})  per poll \
         {poll_mean:>6.0} µs (p95 {poll_p95:>6.0})  per end {end_mean:>6.0} µs (p95 {end_p95:>6.0})"
    );
}

/// The test server's URL, or a throw-away one (stopped when the guard drops).
fn postgres() -> (String, Option<Server>) {
    if let Ok(url) = std::env::var(postgres_server::URL_ENV)
        && !url.is_empty()
    {
        return (url, None);
    }
    let dir = std::env::temp_dir().join(format!("modellix-bench-pg-{}", std::process::id()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/postgres.sh");
    let out = Command::new(&script)
        .arg("start")
        .arg(&dir)
        .output()
        .expect(".ci/postgres.sh start");
    assert!(
        out.status.success(),
        "no PostgreSQL server: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (url, Some(Server { script, dir }))
}

struct Server {
    script: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let jobs = number("JOBS", 12) as usize;
    let task = Duration::from_secs(number("TASK_SECS", 2));
    let (server, _guard) = postgres();
    let bound = (jobs as f64 / 3.0).ceil() * task.as_secs_f64();
    println!(
        "three batch processes, {jobs} jobs of {} s, a team of 3 running slots at 100 \
         requests a minute; bound {bound:.1} s",
        task.as_secs_f64()
    );
    let url = postgres_server::fresh_database_on(&server, "fleet bench").await;
    let shared = three_batches(jobs, task, |_| url.clone()).await;
    print("one PostgreSQL ledger", &shared, bound);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let own = three_batches(jobs, task, |i| {
        dirs[i].path().join("ledger.sqlite").display().to_string()
    })
    .await;
    print("a SQLite ledger per process", &own, bound);

    println!("\nwhat the ledger's database costs (500 rounds, one connection pool, loopback):");
    let url = postgres_server::fresh_database_on(&server, "fleet bench cost").await;
    let pg = Arc::new(PostgresLedger::connect(&url).await.expect("ledger"));
    database_cost(pg.as_ref(), "PostgreSQL (shared)", 500).await;
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = SqliteLedger::open(dir.path().join("ledger.sqlite")).expect("sqlite");
    database_cost(&sqlite, "SQLite (one process)", 500).await;
}

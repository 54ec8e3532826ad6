//! Batches on a PostgreSQL ledger (`--ledger postgres://…`): two processes on one
//! jobs file bill every job once, and a later run finds them all done.
//!
//! Needs `MODELLIX_TEST_POSTGRES_URL` (`.ci/postgres.sh start DIR` prints one): without
//! it the test skips, saying so, unless `CI` is set, where it fails.

mod common;

use common::{assert_code, jobs_file, modellix, text};
use modellix_sandbox::{Sandbox, Timing};

const URL_ENV: &str = "MODELLIX_TEST_POSTGRES_URL";

fn server_url() -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{URL_ENV} is not set but CI is: start .ci/postgres.sh and export its URL")
        }
        _ => {
            eprintln!("skipping: no PostgreSQL server ({URL_ENV} is not set)");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_batches_on_one_postgres_ledger_bill_each_job_once() {
    let Some(url) = server_url() else {
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

//! The `TaskLedger` contract, one suite run against every ledger of this crate: the
//! memory ledger, a SQLite file and (feature `postgres`) a PostgreSQL database. Each
//! case gets a fresh, empty ledger.
//!
//! The PostgreSQL cases need `MODELLIX_TEST_POSTGRES_URL` (see
//! tests/postgres_server/mod.rs): without it they skip, saying so, unless `CI` is set.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modellix::{EntryQuery, Intent, MemoryLedger, Outcome, SqliteLedger, TaskKind, TaskLedger};

#[cfg(feature = "postgres")]
mod postgres_server;

/// A ledger under test, with whatever keeps it alive (a temporary folder).
struct Subject {
    ledger: Arc<dyn TaskLedger>,
    _keep: Box<dyn Any + Send>,
}

fn memory() -> Option<Subject> {
    Some(Subject {
        ledger: Arc::new(MemoryLedger::new()),
        _keep: Box::new(()),
    })
}

fn sqlite() -> Option<Subject> {
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqliteLedger::open(dir.path().join("ledger.sqlite3")).unwrap();
    Some(Subject {
        ledger: Arc::new(ledger),
        _keep: Box::new(dir),
    })
}

#[cfg(feature = "postgres")]
async fn postgres(test: &str) -> Option<Subject> {
    let url = postgres_server::fresh_database(test).await?;
    // Through the same door as MODELLIX_LEDGER and --ledger.
    let ledger = modellix::open_ledger(&url).unwrap();
    Some(Subject {
        ledger,
        _keep: Box::new(()),
    })
}

fn intent(marker: Option<&str>) -> Intent {
    Intent::new(
        "bytedance/seedance-2.0-v2v",
        b"{\"prompt\":\"x\"}",
        "contract",
    )
    .with_marker(marker.map(str::to_owned))
}

fn accepted(task_id: &str) -> Outcome {
    Outcome::Accepted {
        task_id: task_id.to_owned(),
    }
}

fn millis(t: SystemTime) -> u128 {
    t.duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// An intent reads back as written, in flight and open, newest first.
async fn intents_read_back_newest_first(ledger: Arc<dyn TaskLedger>) {
    let first = intent(Some("job-1")).with_webhook_url(Some("https://example.com/hook".into()));
    let a = ledger.record_intent(&first).await.unwrap();
    let b = ledger.record_intent(&intent(None)).await.unwrap();
    assert_ne!(a, b);
    let all = ledger.entries(&EntryQuery::recent(0)).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [b, a]);
    let read = &all[1];
    assert_eq!(read.intent.model_id, first.model_id);
    assert_eq!(read.intent.body_digest, first.body_digest);
    assert_eq!(read.intent.body_bytes, first.body_bytes);
    assert_eq!(read.intent.marker.as_deref(), Some("job-1"));
    assert_eq!(read.intent.client, "contract");
    assert_eq!(
        read.intent.webhook_url.as_deref(),
        Some("https://example.com/hook")
    );
    assert_eq!(millis(read.intent.created_at), millis(first.created_at));
    assert_eq!(read.outcome, Outcome::InFlight);
    assert!(read.outcome.is_open());
    assert_eq!(
        ledger.entries(&EntryQuery::recent(1)).await.unwrap()[0].id,
        b
    );
}

/// Outcomes replace each other; a final status closes the entry once, and names no
/// unknown task.
async fn outcomes_and_final_statuses(ledger: Arc<dyn TaskLedger>) {
    let id = ledger.record_intent(&intent(None)).await.unwrap();
    ledger.record_outcome(id, &accepted("t-1")).await.unwrap();
    let by_task = ledger.entries(&EntryQuery::task("t-1")).await.unwrap();
    assert_eq!(by_task.len(), 1);
    assert_eq!(by_task[0].outcome, accepted("t-1"));
    assert_eq!(ledger.entries(&EntryQuery::open()).await.unwrap().len(), 1);

    ledger.record_finished("t-1", "success").await.unwrap();
    ledger.record_finished("t-1", "failed").await.unwrap();
    ledger.record_finished("t-unknown", "failed").await.unwrap();
    let entry = &ledger.entries(&EntryQuery::task("t-1")).await.unwrap()[0];
    assert_eq!(
        entry.outcome,
        Outcome::Finished {
            task_id: "t-1".into(),
            status: "success".into()
        },
        "the first final status stays"
    );
    assert!(
        ledger
            .entries(&EntryQuery::open())
            .await
            .unwrap()
            .is_empty()
    );

    let unknown = Outcome::Unknown {
        task_id: Some("t-2".into()),
        reason: "the answer was cut off".into(),
    };
    let other = ledger.record_intent(&intent(None)).await.unwrap();
    ledger.record_outcome(other, &unknown).await.unwrap();
    let open = ledger.entries(&EntryQuery::open()).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].outcome, unknown);
    assert!(
        ledger
            .record_outcome(999_999, &accepted("t-3"))
            .await
            .is_err()
    );
}

/// A dismissed entry keeps its task id and is no longer open; there is no entry to
/// dismiss that was never written.
async fn dismissals(ledger: Arc<dyn TaskLedger>) {
    let id = ledger.record_intent(&intent(None)).await.unwrap();
    let unknown = Outcome::Unknown {
        task_id: Some("t-9".into()),
        reason: "timed out".into(),
    };
    ledger.record_outcome(id, &unknown).await.unwrap();
    ledger.dismiss(id).await.unwrap();
    let entry = &ledger.entries(&EntryQuery::recent(0)).await.unwrap()[0];
    assert_eq!(
        entry.outcome,
        Outcome::Dismissed {
            task_id: Some("t-9".into())
        }
    );
    assert!(
        ledger
            .entries(&EntryQuery::open())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(ledger.dismiss(999_999).await.is_err());
}

/// A marker is held while its entry is open and once its task ended; a rejection, a
/// request never sent and a dismissal free it. A refusal names the holder.
async fn markers_are_held_and_freed(ledger: Arc<dyn TaskLedger>) {
    let held = ledger.record_intent(&intent(Some("m"))).await.unwrap();
    let refusal = ledger.record_intent(&intent(Some("m"))).await.unwrap_err();
    assert_eq!(refusal.held_by(), Some(held));
    ledger.record_outcome(held, &accepted("t-m")).await.unwrap();
    ledger.record_finished("t-m", "success").await.unwrap();
    let refusal = ledger.record_intent(&intent(Some("m"))).await.unwrap_err();
    assert_eq!(
        refusal.held_by(),
        Some(held),
        "a finished job keeps its marker"
    );

    let freeing = [
        Outcome::Rejected {
            status: 400,
            message: "bad prompt".into(),
        },
        Outcome::NotSent {
            reason: "connection refused".into(),
        },
    ];
    for (i, outcome) in freeing.iter().enumerate() {
        let marker = format!("free-{i}");
        let id = ledger.record_intent(&intent(Some(&marker))).await.unwrap();
        ledger.record_outcome(id, outcome).await.unwrap();
        assert!(
            ledger.record_intent(&intent(Some(&marker))).await.is_ok(),
            "{outcome:?} frees the marker"
        );
    }
    let id = ledger
        .record_intent(&intent(Some("dismissed")))
        .await
        .unwrap();
    ledger.dismiss(id).await.unwrap();
    assert!(
        ledger
            .record_intent(&intent(Some("dismissed")))
            .await
            .is_ok()
    );
    assert_eq!(
        ledger
            .entries(&EntryQuery::marker("free-0"))
            .await
            .unwrap()
            .len(),
        2
    );
}

/// Of many intents racing with one marker, exactly one is recorded.
async fn racing_markers_record_one_intent(ledger: Arc<dyn TaskLedger>) {
    for round in 0..5 {
        let marker = format!("race-{round}");
        let racers = (0..16).map(|_| {
            let ledger = Arc::clone(&ledger);
            let marker = marker.clone();
            tokio::spawn(async move { ledger.record_intent(&intent(Some(&marker))).await })
        });
        let mut won = Vec::new();
        let mut held_by = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                Ok(id) => won.push(id),
                Err(e) => held_by.push(e.held_by().expect("a refusal names the holder")),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: {won:?}");
        assert!(held_by.iter().all(|h| *h == won[0]), "round {round}");
    }
}

/// Run times come back newest `limit`, oldest first.
async fn run_times(ledger: Arc<dyn TaskLedger>) {
    let kind = TaskKind::of_request("bytedance/seedance-2.0-v2v", &serde_json::json!({}));
    for secs in 1..=5 {
        ledger
            .record_run(&kind, Duration::from_secs(secs))
            .await
            .unwrap();
    }
    let runs = ledger.runs(3).await.unwrap();
    let took: Vec<u64> = runs.iter().map(|(_, d)| d.as_secs()).collect();
    assert_eq!(took, [3, 4, 5]);
    assert_eq!(runs[0].0, kind);
}

/// A webhook delivery is accepted once, racing receivers included.
async fn deliveries_are_accepted_once(ledger: Arc<dyn TaskLedger>) {
    assert!(ledger.accept_delivery("d-1", "t-1").await.unwrap());
    assert!(!ledger.accept_delivery("d-1", "t-1").await.unwrap());
    let racers: Vec<_> = (0..12)
        .map(|_| {
            let ledger = Arc::clone(&ledger);
            tokio::spawn(async move { ledger.accept_delivery("d-2", "t-2").await.unwrap() })
        })
        .collect();
    let mut firsts = 0;
    for racer in racers {
        firsts += usize::from(racer.await.unwrap());
    }
    assert_eq!(firsts, 1);
}

/// A task's cost is kept with its entry (as the decimal it was); a learned running
/// limit reads back per key, the newest one.
async fn costs_and_learned_limits(ledger: Arc<dyn TaskLedger>) {
    let id = ledger.record_intent(&intent(None)).await.unwrap();
    ledger.record_outcome(id, &accepted("t-c")).await.unwrap();
    let billed: modellix::Cost = "0.2400".parse().unwrap();
    ledger
        .record_cost("t-c", &billed, Some("succeeded"))
        .await
        .unwrap();
    let entry = &ledger.entries(&EntryQuery::task("t-c")).await.unwrap()[0];
    assert_eq!(entry.cost.map(|c| c.to_string()).as_deref(), Some("0.2400"));
    assert_eq!(ledger.learned_limit("key:ab").await.unwrap(), None);
    ledger.record_learned_limit("key:ab", 4).await.unwrap();
    ledger.record_learned_limit("key:ab", 6).await.unwrap();
    ledger.record_learned_limit("key:cd", 2).await.unwrap();
    assert_eq!(ledger.learned_limit("key:ab").await.unwrap(), Some(6));
    assert_eq!(ledger.learned_limit("key:cd").await.unwrap(), Some(2));
}

/// One test per case and ledger: `suite!(name, async |test| -> Option<Subject>)`.
macro_rules! suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            suite!(@case $make, intents_read_back_newest_first);
            suite!(@case $make, outcomes_and_final_statuses);
            suite!(@case $make, dismissals);
            suite!(@case $make, markers_are_held_and_freed);
            suite!(@case $make, racing_markers_record_one_intent);
            suite!(@case $make, run_times);
            suite!(@case $make, deliveries_are_accepted_once);
            suite!(@case $make, costs_and_learned_limits);
        }
    };
    (@case $make:expr, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let make = $make;
            let Some(subject) = make(concat!(module_path!(), "::", stringify!($case))).await
            else {
                return;
            };
            super::$case(Arc::clone(&subject.ledger)).await;
        }
    };
}

suite!(memory_ledger, |_: &'static str| async { memory() });
suite!(sqlite_ledger, |_: &'static str| async { sqlite() });
#[cfg(feature = "postgres")]
suite!(postgres_ledger, |test: &'static str| postgres(test));

/// The PostgreSQL ledger's own rules: tables made once by racing instances, with a
/// version; a password never in a message.
#[cfg(feature = "postgres")]
mod postgres_only {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instances_opening_at_once_create_the_tables_once_and_share_them() {
        let Some(url) = postgres_server::fresh_database("postgres_only::tables").await else {
            return;
        };
        let opening = (0..6).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { modellix::PostgresLedger::connect(&url).await })
        });
        let mut ledgers = Vec::new();
        for open in opening {
            ledgers.push(open.await.unwrap().unwrap());
        }
        let id = ledgers[0]
            .record_intent(&intent(Some("shared")))
            .await
            .unwrap();
        let refusal = ledgers[5]
            .record_intent(&intent(Some("shared")))
            .await
            .unwrap_err();
        assert_eq!(refusal.held_by(), Some(id));
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let versions = client
            .query("SELECT version FROM modellix_schema", &[])
            .await
            .unwrap();
        assert_eq!(versions.len(), 1);
        assert!(versions[0].get::<_, i32>(0) >= 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_password_is_an_error_that_does_not_show_it() {
        let Some(url) = postgres_server::server_url("postgres_only::password") else {
            return;
        };
        let mut wrong = url::Url::parse(&url).unwrap();
        wrong.set_password(Some("not-the-password-42")).unwrap();
        let e = modellix::PostgresLedger::connect(wrong.as_str())
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("not-the-password-42"), "{text}");
        assert!(text.contains("127.0.0.1"), "names the server: {text}");
        let debug = format!("{:?}", modellix::open_ledger(wrong.as_str()).unwrap());
        assert!(!debug.contains("not-the-password-42"), "{debug}");
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_an_error_naming_it() {
        // A port nobody listens on: bind one, then let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://app:s3cret-pw@127.0.0.1:{port}/app");
        let e = modellix::PostgresLedger::connect(&url).await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(!text.contains("s3cret-pw"), "{text}");
    }
}

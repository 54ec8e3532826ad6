//! A ledger that fails: before sending (nothing was sent, never "may have created a
//! task"), after the answer (the outcome write is retried until it sticks, and if it
//! never does the caller gets the task id with an error saying the ledger missed it),
//! and while a request waits for its rate-limit permit (not yet in the ledger).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use modellix::{
    EntryQuery, Intent, LedgerEntry, LedgerError, LedgerFuture, MemoryLedger, Outcome,
    SqliteLedger, TaskKind, TaskLedger,
};
use support::*;

/// How a [`Flaky`] ledger misbehaves.
#[derive(Debug, Default)]
struct Faults {
    /// `record_intent` fails this many times.
    intent_failures: AtomicUsize,
    /// `record_intent` panics (a bug in a user's ledger).
    intent_panics: bool,
    /// `record_outcome` fails this many times (`usize::MAX`: always).
    outcome_failures: AtomicUsize,
    /// `record_outcome` calls seen.
    outcome_calls: AtomicUsize,
}

/// A memory ledger whose writes fail as told: a full disk, a file locked elsewhere.
#[derive(Debug, Clone)]
struct Flaky {
    inner: Arc<MemoryLedger>,
    faults: Arc<Faults>,
}

impl Flaky {
    fn new(faults: Faults) -> Flaky {
        Flaky {
            inner: Arc::new(MemoryLedger::new()),
            faults: Arc::new(faults),
        }
    }
}

/// Takes one failure off `left`; true when one was left.
fn take(left: &AtomicUsize) -> bool {
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
        0 => None,
        usize::MAX => Some(usize::MAX),
        n => Some(n - 1),
    })
    .is_ok()
}

impl TaskLedger for Flaky {
    fn record_intent<'a>(&'a self, intent: &'a Intent) -> LedgerFuture<'a, i64> {
        if self.faults.intent_panics {
            panic!("a bug in this ledger");
        }
        if take(&self.faults.intent_failures) {
            return Box::pin(async { Err(LedgerError::new("disk full (test)")) });
        }
        self.inner.record_intent(intent)
    }

    fn record_outcome<'a>(&'a self, id: i64, outcome: &'a Outcome) -> LedgerFuture<'a, ()> {
        self.faults.outcome_calls.fetch_add(1, Ordering::SeqCst);
        if take(&self.faults.outcome_failures) {
            return Box::pin(async { Err(LedgerError::new("database is locked (test)")) });
        }
        self.inner.record_outcome(id, outcome)
    }

    fn record_finished<'a>(&'a self, task_id: &'a str, status: &'a str) -> LedgerFuture<'a, ()> {
        self.inner.record_finished(task_id, status)
    }

    fn dismiss(&self, id: i64) -> LedgerFuture<'_, ()> {
        self.inner.dismiss(id)
    }

    fn entries<'a>(&'a self, query: &'a EntryQuery) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        self.inner.entries(query)
    }

    fn record_run<'a>(&'a self, kind: &'a TaskKind, took: Duration) -> LedgerFuture<'a, ()> {
        self.inner.record_run(kind, took)
    }

    fn runs(&self, limit: usize) -> LedgerFuture<'_, Vec<(TaskKind, Duration)>> {
        self.inner.runs(limit)
    }
}

/// A full disk for the first three outcome writes: the fourth sticks, the submit
/// succeeds, and the ledger holds the task id (before: logged, success returned, the
/// entry left reading "may have created a billed task").
#[tokio::test]
async fn an_outcome_write_that_fails_is_retried_until_it_sticks() {
    let server = MockServer::start();
    server.script("POST", SUBMIT, [submitted("task-kept")]);
    let ledger = Flaky::new(Faults {
        outcome_failures: AtomicUsize::new(3),
        ..Faults::default()
    });
    let client = client_builder(&server)
        .ledger(ledger.clone())
        .build()
        .unwrap();

    let task = client.submit(&request()).await.unwrap();

    assert_eq!(task.id(), "task-kept");
    assert_eq!(ledger.faults.outcome_calls.load(Ordering::SeqCst), 4);
    let entries = client.history(0).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].outcome,
        Outcome::Accepted {
            task_id: "task-kept".into()
        }
    );
    assert_eq!(server.count("POST", SUBMIT), 1);
}

/// A ledger that never takes the outcome: after retrying (on tokio's paused clock, so
/// the minutes pass at once) the caller gets the task id with an error that says the
/// ledger missed it, never a success, and the POST went out once.
#[tokio::test(start_paused = true)]
async fn an_outcome_the_ledger_never_takes_is_an_error_with_the_task_id() {
    let server = MockServer::start();
    server.script("POST", SUBMIT, [submitted("task-unrecorded")]);
    let ledger = Flaky::new(Faults {
        outcome_failures: AtomicUsize::new(usize::MAX),
        ..Faults::default()
    });
    let client = client_builder(&server)
        .ledger(ledger.clone())
        .build()
        .unwrap();

    let err = client.submit(&request()).await.unwrap_err();

    assert!(err.is_ledger_unrecorded(), "{err}");
    assert_eq!(err.kind(), modellix::ErrorKind::LedgerUnrecorded);
    assert_eq!(err.task_id(), Some("task-unrecorded"));
    assert!(!err.is_outcome_unknown() && !err.nothing_created(), "{err}");
    let text = err.to_string();
    for needle in [
        "task-unrecorded",
        "could not record",
        "database is locked (test)",
        "client.task(\"task-unrecorded\")",
        "do not resubmit",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(ledger.faults.outcome_calls.load(Ordering::SeqCst) > 10);
    assert_eq!(server.count("POST", SUBMIT), 1);
    // The entry still reads in flight: the error is the only record of the id.
    let open = client.recover().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].outcome, Outcome::InFlight);
}

/// A rejected request whose outcome the ledger misses says so too, and that nothing
/// was created.
#[tokio::test(start_paused = true)]
async fn a_rejection_the_ledger_never_takes_says_nothing_was_created() {
    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [Reply::Json(422, error_envelope(422, "prompt is required"))],
    );
    let ledger = Flaky::new(Faults {
        outcome_failures: AtomicUsize::new(usize::MAX),
        ..Faults::default()
    });
    let client = client_builder(&server).ledger(ledger).build().unwrap();

    let err = client.submit(&request()).await.unwrap_err();

    assert!(err.is_ledger_unrecorded(), "{err}");
    assert!(err.nothing_created(), "{err}");
    assert_eq!(err.task_id(), None);
    assert!(err.to_string().contains("HTTP 422"), "{err}");
}

/// A ledger that cannot record the intent: nothing is sent, and the error says so; it
/// is a ledger error, never "may have created a task".
#[tokio::test]
async fn an_intent_the_ledger_refuses_sends_nothing_and_says_so() {
    let server = MockServer::start();
    server.default_reply("POST", SUBMIT, submitted("task-never"));
    let ledger = Flaky::new(Faults {
        intent_failures: AtomicUsize::new(1),
        ..Faults::default()
    });
    let client = client_builder(&server).ledger(ledger).build().unwrap();

    let err = client.submit(&request()).await.unwrap_err();

    assert_eq!(err.kind(), modellix::ErrorKind::Ledger, "{err}");
    assert!(!err.is_outcome_unknown(), "{err}");
    assert!(err.nothing_created(), "{err}");
    assert_eq!(err.task_id(), None);
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    assert_eq!(server.count("POST", SUBMIT), 0);
    assert!(client.recover().await.unwrap().is_empty());
    // Fixed, the same request goes out once.
    assert_eq!(client.submit(&request()).await.unwrap().id(), "task-never");
    assert_eq!(server.count("POST", SUBMIT), 1);
}

/// A ledger that panics while recording the intent (before: "the submit task ended
/// abnormally … outcome unknown", read as "may have created a billed task").
#[tokio::test]
async fn a_ledger_that_panics_before_sending_is_not_an_unknown_outcome() {
    let server = MockServer::start();
    server.default_reply("POST", SUBMIT, submitted("task-never"));
    let ledger = Flaky::new(Faults {
        intent_panics: true,
        ..Faults::default()
    });
    let client = client_builder(&server).ledger(ledger).build().unwrap();

    let err = client.submit(&request()).await.unwrap_err();

    assert!(!err.is_outcome_unknown(), "{err}");
    assert_eq!(err.kind(), modellix::ErrorKind::Ledger, "{err}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    assert_eq!(server.count("POST", SUBMIT), 0);
}

/// A submit waiting for its rate-limit permit has not been recorded yet: were the
/// process killed now, the ledger would hold no "may have created a billed task"
/// entry for a request never sent (before: the intent was written first).
#[tokio::test(flavor = "current_thread")]
async fn a_submit_waiting_for_the_rate_limit_is_not_in_the_ledger_yet() {
    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [
            Reply::Raw {
                status: 429,
                headers: vec![("Retry-After".into(), "600".into())],
                body: serde_json::to_vec(&error_envelope(429, "Too many requests")).unwrap(),
            },
            submitted("task-later"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let client = client_builder(&server)
        .ledger_path(&path)
        .max_rate_limit_pause(Duration::from_secs(600))
        .build()
        .unwrap();
    // The 429 pauses every request of the client for ten minutes.
    let first = client.submit(&request()).await.unwrap_err();
    assert!(first.is_rejected(), "{first}");

    let queued = tokio::spawn({
        let client = client.clone();
        async move { client.submit(&request()).await.map(|t| t.id().to_owned()) }
    });
    // Let the queued submit run as far as it can: into the limiter's line.
    for _ in 0..50 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(!queued.is_finished());

    // What a process killed now would leave: read by another connection.
    let seen = SqliteLedger::open(&path).unwrap();
    let entries = seen.entries(&EntryQuery::recent(0)).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        matches!(entries[0].outcome, Outcome::Rejected { status: 429, .. }),
        "{:?}",
        entries[0].outcome
    );
    assert!(seen.entries(&EntryQuery::open()).await.unwrap().is_empty());
    assert_eq!(server.count("POST", SUBMIT), 1);
    queued.abort();
}

/// The review's scenario on a real file: another connection holds the SQLite ledger's
/// write lock past the busy timeout (10 s) while the answer comes in. The first
/// outcome write fails with "database is locked"; a later one sticks, and the entry
/// holds the task id (before: the submit said success and the entry read "may have
/// created a billed task" forever). Takes about 13 s of real time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_write_blocked_by_a_lock_past_the_busy_timeout_sticks_later() {
    let server = MockServer::start();
    server.script(
        "POST",
        SUBMIT,
        [Reply::Delayed(
            Duration::from_secs(1),
            Box::new(submitted("task-locked")),
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let client = client_builder(&server).ledger_path(&path).build().unwrap();
    let submit = tokio::spawn({
        let client = client.clone();
        async move { client.submit(&request()).await.map(|t| t.id().to_owned()) }
    });
    // The intent is in once the POST arrives; then the lock is taken.
    while server.count("POST", SUBMIT) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let holder = std::thread::spawn({
        let path = path.clone();
        move || {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
            // Past the answer (1 s) plus the busy timeout (10 s).
            std::thread::sleep(Duration::from_millis(12_500));
            conn.execute_batch("COMMIT").unwrap();
        }
    });

    assert_eq!(submit.await.unwrap().unwrap(), "task-locked");
    holder.join().unwrap();
    let entries = SqliteLedger::open(&path)
        .unwrap()
        .entries(&EntryQuery::recent(0))
        .await
        .unwrap();
    assert_eq!(
        entries[0].outcome,
        Outcome::Accepted {
            task_id: "task-locked".into()
        }
    );
    assert_eq!(server.count("POST", SUBMIT), 1);
}

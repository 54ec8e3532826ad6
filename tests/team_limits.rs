//! The team's limits shared through a PostgreSQL ledger. Running-task slots: claims
//! at once take at most the team's slots, a slot frees when its task ends, and a slot
//! whose holder stopped is taken over (its task polled to the end), never freed
//! blindly. The key's request rate: a GCRA row every instance's requests pass, pushed
//! back by a 429. Against a real server (`MODELLIX_TEST_POSTGRES_URL`, see
//! tests/postgres_server/mod.rs) and the sandbox over loopback.

#![cfg(feature = "postgres")]

mod postgres_server;

use std::sync::Arc;
use std::time::Duration;

use modellix::types::Seedance20V2vRequest;
use modellix::{
    Claim, Client, EntryQuery, Intent, Outcome, PostgresLedger, SharedRate, SlotClaim,
    SubmitOptions, TaskLedger,
};
use modellix_sandbox::{Sandbox, Timing};

async fn ledger(test: &str) -> Option<Arc<PostgresLedger>> {
    let url = postgres_server::fresh_database(test).await?;
    Some(Arc::new(PostgresLedger::connect(&url).await.unwrap()))
}

fn intent(n: usize) -> Intent {
    Intent::new(
        "bytedance/seedance-2.0-v2v",
        format!("{{\"n\":{n}}}").as_bytes(),
        "team-slots",
    )
}

fn accepted(task_id: &str) -> Outcome {
    Outcome::Accepted {
        task_id: task_id.to_owned(),
    }
}

fn request(n: usize) -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt(format!("job {n}"))
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()
        .unwrap()
}

/// `instances` clients of the sandbox on the ledger at `url` (each set up by
/// `configure`), each submitting `tasks` requests at once and waiting for them all.
async fn run_instances(
    sandbox: &Sandbox,
    url: &str,
    instances: usize,
    tasks: usize,
    configure: impl Fn(modellix::ClientBuilder) -> modellix::ClientBuilder,
) {
    let mut running = Vec::new();
    for i in 0..instances {
        let builder = sandbox
            .client_builder()
            .ledger(PostgresLedger::connect(url).await.unwrap());
        let client = configure(builder).build().unwrap();
        running.push(tokio::spawn(async move {
            let runs = (0..tasks).map(|j| {
                let client = client.clone();
                async move {
                    let task = client.submit(&request(i * 10 + j)).await?;
                    task.wait().await.map(|_| ())
                }
            });
            futures_util::future::try_join_all(runs).await
        }));
    }
    for instance in running {
        instance.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_at_once_take_at_most_the_teams_slots() {
    let Some(ledger) = ledger("claims_at_once_take_at_most_the_teams_slots").await else {
        return;
    };
    let claim = SlotClaim::new("key:team-a", Some(3), 2);
    let claims = (0..8).map(|n| {
        let ledger = Arc::clone(&ledger);
        let claim = claim.clone();
        tokio::spawn(async move { ledger.claim_slot(&intent(n), &claim).await.unwrap() })
    });
    let mut admitted = Vec::new();
    let mut full = 0;
    for claim in claims {
        match claim.await.unwrap() {
            Claim::Admitted { entry } => admitted.push(entry),
            Claim::Full { limit } => {
                assert_eq!(limit, 3);
                full += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((admitted.len(), full), (3, 5));
    let entries = ledger.entries(&EntryQuery::recent(0)).await.unwrap();
    assert_eq!(entries.len(), 3, "a refused claim records nothing");

    // Another team has slots of its own.
    let other = SlotClaim::new("key:team-b", Some(1), 2);
    assert!(matches!(
        ledger.claim_slot(&intent(9), &other).await.unwrap(),
        Claim::Admitted { .. }
    ));

    // The end of a task frees its slot, whichever way the end is written.
    ledger
        .record_outcome(admitted[0], &accepted("task-a0"))
        .await
        .unwrap();
    ledger.record_finished("task-a0", "success").await.unwrap();
    let next = ledger.claim_slot(&intent(10), &claim).await.unwrap();
    let Claim::Admitted { entry } = next else {
        panic!("a finished task frees its slot: {next:?}");
    };
    // A rejection proves nothing was created: its slot frees too.
    ledger
        .record_outcome(
            entry,
            &Outcome::Rejected {
                status: 400,
                message: "bad".into(),
            },
        )
        .await
        .unwrap();
    ledger
        .record_outcome(admitted[1], &accepted("task-a1"))
        .await
        .unwrap();
    ledger.release_slot("task-a1").await.unwrap();
    for n in 11..13 {
        assert!(
            matches!(
                ledger.claim_slot(&intent(n), &claim).await.unwrap(),
                Claim::Admitted { .. }
            ),
            "claim {n}"
        );
    }
    assert!(matches!(
        ledger.claim_slot(&intent(13), &claim).await.unwrap(),
        Claim::Full { limit: 3 }
    ));

    // Without a told limit the learned one sizes the team, else the default.
    let learned = SlotClaim::new("key:team-c", None, 1);
    assert!(matches!(
        ledger.claim_slot(&intent(20), &learned).await.unwrap(),
        Claim::Admitted { .. }
    ));
    assert!(matches!(
        ledger.claim_slot(&intent(21), &learned).await.unwrap(),
        Claim::Full { limit: 1 }
    ));
    ledger.record_learned_limit("key:team-c", 2).await.unwrap();
    assert!(matches!(
        ledger.claim_slot(&intent(22), &learned).await.unwrap(),
        Claim::Admitted { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_held_elsewhere_is_refused_before_any_slot_is_taken() {
    let Some(ledger) = ledger("a_marker_held_elsewhere_is_refused").await else {
        return;
    };
    let claim = SlotClaim::new("key:team", Some(2), 2);
    let job = intent(1).with_marker(Some("batch:job-1".into()));
    let Claim::Admitted { entry } = ledger.claim_slot(&job, &claim).await.unwrap() else {
        panic!("the first claim is admitted");
    };
    let again = ledger.claim_slot(&job, &claim).await.unwrap_err();
    assert_eq!(again.held_by(), Some(entry));
    // The refused claim took no slot: one is still free.
    assert!(matches!(
        ledger.claim_slot(&intent(2), &claim).await.unwrap(),
        Claim::Admitted { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_is_taken_over_once_and_never_freed_blindly() {
    let Some(ledger) = ledger("an_expired_lease_is_taken_over").await else {
        return;
    };
    let lease = Duration::from_millis(1500);
    let claim = SlotClaim::new("key:team", Some(2), 2).with_lease(lease);
    let Claim::Admitted { entry: running } = ledger.claim_slot(&intent(1), &claim).await.unwrap()
    else {
        panic!("admitted");
    };
    ledger
        .record_outcome(running, &accepted("task-1"))
        .await
        .unwrap();
    // Killed mid-POST: no task id was ever seen.
    let Claim::Admitted { entry: in_flight } = ledger.claim_slot(&intent(2), &claim).await.unwrap()
    else {
        panic!("admitted");
    };
    assert!(
        ledger
            .take_over_slots("key:team", lease)
            .await
            .unwrap()
            .is_empty(),
        "nothing to take over while the leases run"
    );
    // A renewal keeps the running one's lease alive past the other's.
    tokio::time::sleep(Duration::from_millis(900)).await;
    ledger.renew_slot("task-1", lease).await.unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        ledger
            .take_over_slots("key:team", lease)
            .await
            .unwrap()
            .is_empty()
    );
    // The in-flight one's slot was freed (nothing to poll), its entry left open as
    // unknown, never marked done.
    assert!(matches!(
        ledger.claim_slot(&intent(3), &claim).await.unwrap(),
        Claim::Admitted { .. }
    ));
    let open = ledger.entries(&EntryQuery::open()).await.unwrap();
    assert!(
        open.iter()
            .any(|e| e.id == in_flight && e.outcome == Outcome::InFlight)
    );

    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let taken = ledger.take_over_slots("key:team", lease).await.unwrap();
    assert_eq!(
        taken.iter().map(|e| e.task_id()).collect::<Vec<_>>(),
        [Some("task-1")],
        "the task whose lease ran out is handed over to be polled"
    );
    assert!(
        ledger
            .take_over_slots("key:team", lease)
            .await
            .unwrap()
            .is_empty(),
        "each expired slot goes to one taker"
    );
}

/// One instance submits the team's two tasks and stops watching them (it died);
/// another's submit waits, takes the tasks over, polls them to the end, and then
/// gets a slot: no "Concurrent limit exceeded", nothing billed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_instances_tasks_are_taken_over_and_its_slots_reused() {
    let Some(url) = postgres_server::fresh_database("a_dead_instances_tasks").await else {
        return;
    };
    let sandbox = Sandbox::builder()
        .concurrency_limit(2)
        .timing(Timing::Fixed(Duration::from_millis(1500)))
        .start()
        .await
        .unwrap();
    let client = |ledger: PostgresLedger| -> Client {
        sandbox
            .client_builder()
            .ledger(ledger)
            .running_task_limit(2)
            .slot_lease(Duration::from_secs(1))
            .build()
            .unwrap()
    };
    let dead = client(PostgresLedger::connect(&url).await.unwrap());
    let first = dead.submit(&request(1)).await.unwrap();
    let second = dead.submit(&request(2)).await.unwrap();
    drop(dead);

    let alive = client(PostgresLedger::connect(&url).await.unwrap());
    let options = SubmitOptions::new().slot_wait(Duration::from_secs(30));
    let third = alive.submit_with(&request(3), options).await.unwrap();
    third.wait().await.unwrap();

    assert_eq!(sandbox.limit_rejections().concurrency, 0);
    assert_eq!(sandbox.tasks().len(), 3, "each request billed once");
    let ledger = PostgresLedger::connect(&url).await.unwrap();
    for task in [first.id(), second.id()] {
        let entries = ledger.entries(&EntryQuery::task(task)).await.unwrap();
        assert!(
            matches!(entries[0].outcome, Outcome::Finished { .. }),
            "the taken-over task was polled to its end: {:?}",
            entries[0].outcome
        );
    }
}

/// Four instances of one program, each submitting five tasks at once, on a team of
/// three slots: every submit waits its turn, none meets the server's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_ledger_never_pass_the_teams_limit() {
    let Some(url) = postgres_server::fresh_database("instances_on_one_ledger").await else {
        return;
    };
    let sandbox = Sandbox::builder()
        .concurrency_limit(3)
        .timing(Timing::Fixed(Duration::from_millis(300)))
        .start()
        .await
        .unwrap();
    run_instances(&sandbox, &url, 4, 5, |builder| {
        builder.running_task_limit(3)
    })
    .await;
    assert_eq!(sandbox.tasks().len(), 20);
    assert_eq!(
        sandbox.limit_rejections().concurrency,
        0,
        "the team's slots were shared"
    );
}

/// GCRA: a burst of `burst` at once, then one per interval, across instances (four
/// pools of connections, so the requests really race), and a push-back holds all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_rate_admits_a_burst_then_one_per_interval() {
    let Some(url) = postgres_server::fresh_database("the_shared_rate").await else {
        return;
    };
    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(Arc::new(PostgresLedger::connect(&url).await.unwrap()));
    }
    let rate = SharedRate::new(Duration::from_millis(400), 3);
    let takes = (0..20).map(|n| {
        let ledger = Arc::clone(&instances[n % 4]);
        tokio::spawn(async move { ledger.take_request("key:a", &rate).await.unwrap() })
    });
    let mut admitted = 0;
    let mut waits = Vec::new();
    for take in takes {
        let wait = take.await.unwrap();
        if wait.is_zero() {
            admitted += 1;
        } else {
            waits.push(wait);
        }
    }
    assert_eq!(admitted, 3, "the burst, no more: {waits:?}");
    assert!(
        waits.iter().all(|w| *w <= Duration::from_millis(400)),
        "the next request is due within one interval: {waits:?}"
    );
    // Another key has a budget of its own.
    assert!(
        instances[0]
            .take_request("key:b", &rate)
            .await
            .unwrap()
            .is_zero()
    );

    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(
        instances[1]
            .take_request("key:a", &rate)
            .await
            .unwrap()
            .is_zero()
    );
    assert!(
        !instances[2]
            .take_request("key:a", &rate)
            .await
            .unwrap()
            .is_zero()
    );

    // A 429 seen by one instance holds every instance back for its pause.
    instances[3]
        .push_back_requests("key:b", Duration::from_secs(2), &rate)
        .await
        .unwrap();
    let wait = instances[0].take_request("key:b", &rate).await.unwrap();
    assert!(
        wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2),
        "pushed back: {wait:?}"
    );
}

/// Three instances, each pacing itself to the key's 100 requests a "minute" (6 s on a
/// time-scaled sandbox), poll their tasks as fast as allowed: alone each would spend
/// the whole budget, together through the ledger they stay within it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_ledger_share_the_keys_rate() {
    let Some(url) = postgres_server::fresh_database("instances_share_the_rate").await else {
        return;
    };
    let window = Duration::from_secs(6);
    let sandbox = Sandbox::builder()
        .rpm(100)
        .time_scale(0.1)
        .timing(Timing::Fixed(Duration::from_secs(8)))
        .start()
        .await
        .unwrap();
    run_instances(&sandbox, &url, 3, 3, |builder| {
        builder
            .requests_per_minute(Some(100))
            .rate_limit_window(window)
            .poll_schedule(modellix::Backoff::fixed(Duration::from_millis(50)))
            .running_task_limit(10)
    })
    .await;
    let requests = sandbox.counts().total;
    let rejections = sandbox.limit_rejections();
    eprintln!(
        "three instances over 8 s at 100 per 6 s: {requests} requests, {} rate 429s",
        rejections.rate
    );
    assert_eq!(rejections.rate, 0, "the key's rate was shared");
    // Not starved either: the budget was used (100 at once, then about 16 a second).
    assert!(requests >= 150, "only {requests} requests in 8 s");
}

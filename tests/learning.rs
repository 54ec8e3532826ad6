//! The learning schedule under every configuration value and every observed run time:
//! it must never panic, and what it plans must make sense.

use std::time::Duration;

use modellix::{LearningSchedule, PollContext, PollSchedule, TaskKind};
use proptest::prelude::*;

fn kind() -> TaskKind {
    TaskKind::of_request(
        "bytedance/seedance-2.0-v2v",
        &serde_json::json!({"duration": 5, "resolution": "720p"}),
    )
}

/// Polls a task that ends `end` after submit the way `Task::wait` does; returns the
/// number of queries and when the end was seen. Stops after `max_polls` queries.
fn drive(
    schedule: &LearningSchedule,
    kind: &TaskKind,
    end: Duration,
    max_polls: u32,
) -> (u32, Duration) {
    let mut t = Duration::ZERO;
    let mut polls = 0;
    while polls < max_polls {
        t = t.saturating_add(schedule.delay(&PollContext::new(polls, t, kind)));
        polls += 1;
        if t >= end {
            break;
        }
    }
    (polls, t)
}

/// Issue 13 item 9: `min_interval(Duration::ZERO)` overflowed `usize` in the query
/// count (`inf as usize + 1`) once a kind had three samples.
#[test]
fn a_zero_min_interval_plans_without_panicking() {
    let schedule = LearningSchedule::default().min_interval(Duration::ZERO);
    for secs in [118, 121, 124, 119] {
        schedule.observe(&kind(), Duration::from_secs(secs));
    }
    let (polls, seen) = drive(&schedule, &kind(), Duration::from_secs(120), 1000);
    assert!(
        seen >= Duration::from_secs(120) && polls < 100,
        "{polls} {seen:?}"
    );
}

/// A minimum gap longer than the fallback's largest (10 s) is honoured after the plan
/// too, where it used to be the lower bound of a `clamp` whose upper bound was 10 s.
#[test]
fn a_min_interval_over_ten_seconds_is_honoured_past_the_plan() {
    let schedule = LearningSchedule::default().min_interval(Duration::from_secs(30));
    for secs in [60, 61, 59, 60] {
        schedule.observe(&kind(), Duration::from_secs(secs));
    }
    let kind = kind();
    let late = PollContext::new(20, Duration::from_secs(400), &kind);
    assert!(schedule.delay(&late) >= Duration::from_secs(30));
}

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        Just(Duration::from_nanos(1)),
        (0u64..100_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any budget, any minimum gap, any run times (zero, tiny, huge, `Duration::MAX`)
    /// and any point in a wait: planning and asking never panic, the learned window is
    /// ordered, and with a positive minimum gap no planned query follows the previous
    /// one sooner than that gap.
    #[test]
    fn any_configuration_and_history_is_planned_without_panicking(
        budget in prop_oneof![Just(0usize), Just(usize::MAX), 0usize..200, any::<usize>()],
        min_interval in any_duration(),
        samples in proptest::collection::vec(any_duration(), 0..16),
        asks in proptest::collection::vec((any::<u32>(), any_duration()), 1..8),
    ) {
        let schedule = LearningSchedule::default().budget(budget).min_interval(min_interval);
        for took in &samples {
            schedule.observe(&kind(), *took);
        }
        if let Some((lo, hi)) = schedule.estimate(&kind()) {
            prop_assert!(lo <= hi, "{:?} > {:?}", lo, hi);
        }
        for (polls, since) in asks {
            let _ = schedule.delay(&PollContext::new(polls, since, &kind()));
        }
        let restored = LearningSchedule::default();
        for (kind, took) in schedule.history() {
            restored.record(&kind, took);
        }
        prop_assert_eq!(restored.history(), schedule.history());
        let (_, _) = drive(&schedule, &kind(), Duration::from_secs(90), 200);
    }
}

mod support;

/// A task resumed from an old record and found finished at its first query teaches
/// nothing: three 10-hour-old records must not move the next task's first query to
/// about 9.9 hours (nor to the deadline). Paused clock; the server answers at once.
#[tokio::test(start_paused = true)]
async fn resumed_old_records_do_not_teach_their_age_as_a_run_time() {
    use support::*;
    let server = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.sqlite");
    // Three old tasks of the request's kind, as stored records submitted 10 hours ago.
    let template = {
        server.script("POST", SUBMIT, [submitted("task-template")]);
        let client = client_builder(&server).build().unwrap();
        serde_json::to_value(client.submit(&request()).await.unwrap().task()).unwrap()
    };
    let ten_hours_ago = std::time::SystemTime::now() - Duration::from_secs(10 * 3600);
    let client = client_builder(&server)
        .ledger_path(&ledger)
        .wait_options(modellix::WaitOptions::forever())
        .build()
        .unwrap();
    for i in 0..3 {
        let id = format!("task-old-{i}");
        server.default_reply("GET", &task_path(&id), succeeded(&id));
        let mut record = template.clone();
        record["id"] = serde_json::json!(id);
        record["submitted_at"] = serde_json::json!(httpdate_rfc3339(ten_hours_ago));
        let task: modellix::Task = serde_json::from_value(record).unwrap();
        assert!(task.submitted_at().is_some());
        client.resume(task).wait().await.unwrap();
    }
    // The next task of that kind: its first query comes on the default schedule.
    server.script("POST", SUBMIT, [submitted("task-new")]);
    server.default_reply("GET", &task_path("task-new"), succeeded("task-new"));
    let task = client.submit(&request()).await.unwrap();
    let first = first_query_after(&task).await;
    assert!(
        first < Duration::from_secs(30),
        "first query after {first:?}"
    );

    // A new client priming from the same ledger learns nothing bad either.
    let again = client_builder(&server)
        .ledger_path(&ledger)
        .build()
        .unwrap();
    server.script("POST", SUBMIT, [submitted("task-next")]);
    server.default_reply("GET", &task_path("task-next"), succeeded("task-next"));
    let task = again.submit(&request()).await.unwrap();
    let first = first_query_after(&task).await;
    assert!(
        first < Duration::from_secs(30),
        "first query after {first:?}"
    );
}

/// Time from the start of the wait to the query that saw the task finished (the
/// server answers success at once, so it is the first).
async fn first_query_after(task: &modellix::TaskHandle) -> Duration {
    use futures_util::StreamExt;
    let updates: Vec<_> = task.updates().collect().await;
    let last = updates.last().unwrap().as_ref().unwrap();
    assert_eq!(last.polls, 1, "{updates:?}");
    last.elapsed
}

/// RFC 3339 in UTC, as task records store times.
fn httpdate_rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Stored run times that no wait of this client could have seen (past its deadline)
/// are ignored when the schedule is primed from the ledger.
#[tokio::test(start_paused = true)]
async fn implausible_stored_run_times_are_ignored_on_load() {
    use support::*;
    let server = MockServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("ledger.sqlite");
    let kind = {
        server.script("POST", SUBMIT, [submitted("task-template")]);
        let client = client_builder(&server).build().unwrap();
        client.submit(&request()).await.unwrap().kind().clone()
    };
    {
        let client = client_builder(&server)
            .ledger_path(&ledger_path)
            .build()
            .unwrap();
        for _ in 0..5 {
            client
                .ledger()
                .record_run(&kind, Duration::from_secs(9 * 3600))
                .await
                .unwrap();
        }
    }
    // Default deadline: 10 minutes. Nine-hour samples are not believed.
    let client = client_builder(&server)
        .ledger_path(&ledger_path)
        .build()
        .unwrap();
    server.script("POST", SUBMIT, [submitted("task-new")]);
    server.default_reply("GET", &task_path("task-new"), succeeded("task-new"));
    let task = client.submit(&request()).await.unwrap();
    let first = first_query_after(&task).await;
    assert!(
        first < Duration::from_secs(30),
        "first query after {first:?}"
    );
}

/// Records what a wait teaches its schedule (shared with the test); polls every 10 s.
#[derive(Debug, Default, Clone)]
struct Taught(std::sync::Arc<std::sync::Mutex<Vec<(Duration, Duration)>>>);

impl PollSchedule for Taught {
    fn delay(&self, _: &PollContext<'_>) -> Duration {
        Duration::from_secs(10)
    }
    fn observe(&self, _: &TaskKind, took: Duration) {
        self.0.lock().unwrap().push((took, took));
    }
    fn observe_between(&self, _: &TaskKind, from: Duration, to: Duration) {
        self.0.lock().unwrap().push((from, to));
    }
}

/// What one wait teaches when the task is seen running at 10 s and finished at 20 s,
/// its answer saying `duration` (milliseconds) when given.
async fn taught(duration_ms: Option<u64>) -> (Duration, Duration) {
    use support::*;
    let server = MockServer::start();
    let schedule = Taught::default();
    let client = client_builder(&server)
        .poll_schedule(schedule.clone())
        .build()
        .unwrap();
    server.script("POST", SUBMIT, [submitted("task-d")]);
    let mut done = succeeded("task-d");
    if let (Reply::Json(_, body), Some(ms)) = (&mut done, duration_ms) {
        body["data"]["duration"] = serde_json::json!(ms);
    }
    server.script(
        "GET",
        &task_path("task-d"),
        [status("task-d", "processing"), done],
    );
    let task = client.submit(&request()).await.unwrap();
    task.wait().await.unwrap();
    let taught = schedule.0.lock().unwrap().clone();
    assert_eq!(taught.len(), 1, "{taught:?}");
    taught[0]
}

/// The answer's `duration` pins the end the queries could only bracket: seen running
/// at 10 s and finished at 20 s with `"duration": 14000`, the end is taught as 14 s
/// (plus at most the submit's own time), not somewhere in 10–20 s. A duration the
/// queries contradict (5 s, yet seen running at 10 s) is not believed. Paused clock.
#[tokio::test(start_paused = true)]
async fn a_stated_duration_pins_the_end_the_queries_bracket() {
    let (from, to) = taught(Some(14_000)).await;
    assert!(from >= Duration::from_secs(14), "{from:?}");
    assert!(to < Duration::from_millis(14_500), "{to:?}");
    let (from, to) = taught(Some(5_000)).await;
    assert!(
        from >= Duration::from_secs(10) && to >= Duration::from_secs(20),
        "{from:?}..{to:?}"
    );
    let (from, to) = taught(None).await;
    assert!(
        from >= Duration::from_secs(10) && to >= Duration::from_secs(20),
        "{from:?}..{to:?}"
    );
}

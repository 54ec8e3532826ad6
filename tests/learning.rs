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

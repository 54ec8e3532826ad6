//! How an entry's times and outcome are stored in columns: one way, shared by the two
//! SQL ledgers (SQLite and PostgreSQL).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Outcome;

pub(super) fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(super) fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

pub(super) fn outcome_columns(outcome: &Outcome) -> (String, Option<String>, bool) {
    let json = serde_json::to_string(outcome).unwrap_or_else(|_| r#"{"state":"in_flight"}"#.into());
    (
        json,
        outcome.task_id().map(str::to_owned),
        outcome.is_open(),
    )
}

/// The outcome stored as `json`: one this version cannot read is kept open and
/// unknown (naming the row's `task_id`), never dropped.
pub(super) fn read_outcome(json: &str, task_id: Option<String>) -> Outcome {
    serde_json::from_str(json).unwrap_or_else(|e| Outcome::Unknown {
        task_id,
        reason: format!("unreadable ledger record ({e})"),
    })
}

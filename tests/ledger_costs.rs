//! The ledger keeps what each task cost (written where its final answer is seen) and
//! the running-task limit learned per key fingerprint, in memory and on disk alike.

use std::sync::Arc;

use modellix::types::Seedance20V2vRequest;
use modellix::{Client, Cost, EntryQuery, Intent, MemoryLedger, Outcome, SqliteLedger, TaskLedger};
use modellix_sandbox::{Sandbox, Timing};

fn cost(text: &str) -> Cost {
    text.parse().unwrap()
}

/// Every ledger of the crate, fresh (the SQLite one in `dir`).
fn ledgers(dir: &std::path::Path) -> Vec<(&'static str, Arc<dyn TaskLedger>)> {
    vec![
        ("memory", Arc::new(MemoryLedger::new())),
        (
            "sqlite",
            Arc::new(SqliteLedger::open(dir.join("costs.sqlite3")).unwrap()),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costs_are_kept_per_task_and_unknown_ids_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path()) {
        let id = ledger
            .record_intent(&Intent::new("a/b", b"{}", "me"))
            .await
            .unwrap();
        let other = ledger
            .record_intent(&Intent::new("a/b", b"{ }", "me"))
            .await
            .unwrap();
        for (entry, task) in [(id, "t-1"), (other, "t-2")] {
            ledger
                .record_outcome(
                    entry,
                    &Outcome::Accepted {
                        task_id: task.into(),
                    },
                )
                .await
                .unwrap();
        }
        ledger
            .record_cost("t-1", &cost("0.2400"), Some("succeeded"))
            .await
            .unwrap();
        ledger
            .record_cost("no-such-task", &cost("9"), None)
            .await
            .unwrap();
        let entries = ledger.entries(&EntryQuery::recent(0)).await.unwrap();
        let of = |task: &str| entries.iter().find(|e| e.task_id() == Some(task)).unwrap();
        assert_eq!(of("t-1").cost.unwrap().to_string(), "0.2400", "{name}");
        assert_eq!(of("t-2").cost, None, "{name}");
        assert_eq!(entries.len(), 2, "{name}");
        // Serialized as its decimal text, and left out when none.
        let json = serde_json::to_value(of("t-1")).unwrap();
        assert_eq!(json["cost"], "0.2400", "{name}");
        assert!(
            serde_json::to_value(of("t-2"))
                .unwrap()
                .get("cost")
                .is_none()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_limits_are_kept_per_key_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path()) {
        assert_eq!(
            ledger.learned_limit("key:aa").await.unwrap(),
            None,
            "{name}"
        );
        ledger.record_learned_limit("key:aa", 10).await.unwrap();
        ledger.record_learned_limit("key:bb", 3).await.unwrap();
        ledger.record_learned_limit("key:aa", 12).await.unwrap();
        assert_eq!(
            ledger.learned_limit("key:aa").await.unwrap(),
            Some(12),
            "{name}"
        );
        assert_eq!(
            ledger.learned_limit("key:bb").await.unwrap(),
            Some(3),
            "{name}"
        );
    }
    // On disk, the next process reads them back.
    let reopened = SqliteLedger::open(dir.path().join("costs.sqlite3")).unwrap();
    assert_eq!(reopened.learned_limit("key:aa").await.unwrap(), Some(12));
}

/// A wait that sees the final answer writes its billed amount: the entry's cost equals
/// the output's, and the costs of several tasks add up exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_records_the_billed_amount() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(std::time::Duration::from_millis(50)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(None)
        .ledger_path(dir.path().join("ledger.sqlite3"))
        .build()
        .unwrap();
    let mut total = Cost::ZERO;
    for i in 0..3 {
        let request = Seedance20V2vRequest::builder()
            .prompt(format!("Extend motion from [Video 1] ({i})"))
            .video_urls(vec!["https://example.com/source.mp4".to_owned()])
            .build()
            .unwrap();
        let output = client.submit(&request).await.unwrap().wait().await.unwrap();
        let billed = output.cost().expect("the sandbox bills every task");
        total = total.checked_add(billed).unwrap();
        let entry = &client
            .ledger()
            .entries(&EntryQuery::task(output.task.id()))
            .await
            .unwrap()[0];
        assert_eq!(entry.cost, Some(billed));
    }
    let kept = client
        .ledger()
        .entries(&EntryQuery::recent(0))
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.cost)
        .fold(Cost::ZERO, |sum, c| sum.checked_add(c).unwrap());
    assert_eq!(kept.to_string(), total.to_string());
    assert_eq!(total.to_string(), "0.7200");
}

/// The fingerprint naming a key in the ledger holds no part of it, and is stable.
#[test]
fn the_key_fingerprint_holds_no_part_of_the_key() {
    let key = "sk-0123456789abcdef0123456789abcdef";
    let build = |key: &str| {
        Client::builder()
            .api_key(key)
            .memory_ledger()
            .build()
            .unwrap()
    };
    let print = build(key).key_fingerprint().to_owned();
    assert_eq!(print, build(key).key_fingerprint());
    assert_ne!(print, build("sk-another-key-0000").key_fingerprint());
    let hex = print.strip_prefix("key:").unwrap();
    assert_eq!(hex.len(), 16);
    for window in key.as_bytes().windows(6) {
        let part = std::str::from_utf8(window).unwrap();
        assert!(!print.contains(part), "{print} holds {part:?} of the key");
    }
}

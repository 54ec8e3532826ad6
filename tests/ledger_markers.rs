//! A marker names one job: two clients on one ledger file (two connections, as two
//! processes would have) racing to submit the same markers POST each exactly once;
//! the loser gets a typed refusal naming the winner's entry and sends nothing.

use std::sync::Arc;

use futures_util::StreamExt;
use modellix::types::Seedance20V2vRequest;
use modellix::{
    Client, EntryQuery, Error, Intent, Outcome, SqliteLedger, SubmitOptions, TaskLedger,
};
use modellix_sandbox::{Sandbox, Timing};

const MARKERS: usize = 40;

fn request(i: usize) -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt(format!("Extend motion from [Video 1] (job {i})"))
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()
        .unwrap()
}

fn client(sandbox: &Sandbox, ledger: &std::path::Path) -> Client {
    Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .requests_per_minute(None)
        // Its own SqliteLedger: its own connection to the file.
        .ledger_path(ledger)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_racing_on_one_ledger_post_each_marker_once() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(std::time::Duration::from_secs(3600)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let clients = [client(&sandbox, &path), client(&sandbox, &path)];
    // Both clients submit every marker, interleaved, all at once.
    let attempts = (0..MARKERS).flat_map(|i| [(i, 0), (i, 1)]);
    let results: Vec<(usize, Result<String, Error>)> = futures_util::stream::iter(attempts)
        .map(|(i, c)| {
            let client = clients[c].clone();
            async move {
                let options = SubmitOptions::new().marker(format!("job-{i}"));
                let sent = client.submit_with(&request(i), options).await;
                (i, sent.map(|task| task.id().to_owned()))
            }
        })
        .buffer_unordered(2 * MARKERS)
        .collect()
        .await;

    assert_eq!(
        sandbox.counts().submits(),
        MARKERS as u64,
        "one POST per marker"
    );
    for i in 0..MARKERS {
        let mine: Vec<_> = results.iter().filter(|(j, _)| *j == i).collect();
        let accepted = mine.iter().filter(|(_, r)| r.is_ok()).count();
        assert_eq!(accepted, 1, "job-{i}: {mine:?}");
        let refused = mine.iter().find_map(|(_, r)| r.as_ref().err()).unwrap();
        let Error::Ledger(refusal) = refused else {
            panic!("job-{i}: {refused:?}")
        };
        let holder = refusal.held_by().expect("names the entry");
        let entries = clients[0]
            .ledger()
            .entries(&EntryQuery::marker(format!("job-{i}")))
            .await
            .unwrap();
        assert_eq!(
            entries.len(),
            1,
            "job-{i}: the refused intent left no entry"
        );
        assert_eq!(entries[0].id, holder);
    }
}

#[tokio::test]
async fn a_closed_entry_frees_its_marker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let (a, b) = (
        SqliteLedger::open(&path).unwrap(),
        SqliteLedger::open(&path).unwrap(),
    );
    let intent =
        Intent::new("bytedance/seedance-2.0-v2v", b"{}", "a").with_marker(Some("m".into()));
    let first = a.record_intent(&intent).await.unwrap();
    let refusal = b.record_intent(&intent).await.unwrap_err();
    assert_eq!(refusal.held_by(), Some(first));
    // Refused for good with nothing created: the job may be sent again.
    let rejected = Outcome::Rejected {
        status: 400,
        message: "bad".into(),
    };
    a.record_outcome(first, &rejected).await.unwrap();
    let second = b.record_intent(&intent).await.unwrap();
    assert!(second > first);
    // Accepted is open again: the marker is held.
    let accepted = Outcome::Accepted {
        task_id: "task-1".into(),
    };
    b.record_outcome(second, &accepted).await.unwrap();
    assert_eq!(
        a.record_intent(&intent).await.unwrap_err().held_by(),
        Some(second)
    );
    // A finished task keeps it: the job is done (a race with a task that ended
    // between another process's look-up and its intent still sends nothing).
    a.record_finished("task-1", "success").await.unwrap();
    assert_eq!(
        b.record_intent(&intent).await.unwrap_err().held_by(),
        Some(second)
    );
    // A dismissed entry frees it.
    a.dismiss(second).await.unwrap();
    b.record_intent(&intent).await.unwrap();
    // Intents without a marker are never refused.
    let plain = Intent::new("bytedance/seedance-2.0-v2v", b"{}", "a");
    a.record_intent(&plain).await.unwrap();
    a.record_intent(&plain).await.unwrap();
}

#[tokio::test]
async fn the_memory_ledger_refuses_a_held_marker_too() {
    let ledger = Arc::new(modellix::MemoryLedger::new());
    let intent =
        Intent::new("bytedance/seedance-2.0-v2v", b"{}", "a").with_marker(Some("m".into()));
    let first = ledger.record_intent(&intent).await.unwrap();
    assert_eq!(
        ledger.record_intent(&intent).await.unwrap_err().held_by(),
        Some(first)
    );
    ledger
        .record_outcome(
            first,
            &Outcome::NotSent {
                reason: "no route".into(),
            },
        )
        .await
        .unwrap();
    ledger.record_intent(&intent).await.unwrap();
}

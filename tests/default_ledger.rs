//! The library's default ledger is the command line's durable one: a SQLite file in
//! the platform's data directory, moved by `MODELLIX_LEDGER`, so `modellix recover`
//! sees a program's tasks. One test in its own binary: it sets the environment.

mod support;

use modellix::{EntryQuery, Outcome, SqliteLedger, TaskLedger};
use support::*;

#[test]
fn a_client_given_no_ledger_records_in_the_durable_one() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    // SAFETY: the only test of this binary, before any thread is started.
    unsafe {
        std::env::set_var("HOME", home.path());
        std::env::set_var("XDG_DATA_HOME", &data);
        std::env::remove_var("MODELLIX_LEDGER");
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = MockServer::start();
        server.script(
            "POST",
            SUBMIT,
            [submitted("task-durable"), submitted("task-moved")],
        );
        let default = data.join("modellix").join("ledger.sqlite");
        if cfg!(target_os = "linux") {
            assert_eq!(modellix::default_ledger_path(), Some(default.clone()));
        }
        let expected = modellix::default_ledger_path().unwrap();
        assert!(expected.starts_with(home.path()), "{expected:?}");

        // Building touches no disk; the first submit opens the file.
        let client = modellix::Client::builder()
            .api_key(KEY)
            .base_url(server.url())
            .without_timeouts()
            .requests_per_minute(None)
            .build()
            .unwrap();
        assert!(!expected.exists());
        let task = client.submit(&request()).await.unwrap();
        assert_eq!(task.id(), "task-durable");
        drop(client);

        // Another process (the command line) sees it.
        let reader = SqliteLedger::open(&expected).unwrap();
        let entries = reader.entries(&EntryQuery::recent(0)).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].outcome,
            Outcome::Accepted {
                task_id: "task-durable".into()
            }
        );

        // MODELLIX_LEDGER moves it.
        let moved = home.path().join("elsewhere").join("my-ledger.sqlite");
        // SAFETY: no other thread reads the environment (the server and runtime
        // threads never do).
        unsafe { std::env::set_var("MODELLIX_LEDGER", &moved) };
        assert_eq!(modellix::default_ledger_path(), Some(moved.clone()));
        let client = modellix::Client::builder()
            .api_key(KEY)
            .base_url(server.url())
            .without_timeouts()
            .requests_per_minute(None)
            .build()
            .unwrap();
        client.submit(&request()).await.unwrap();
        let moved_entries = SqliteLedger::open(&moved)
            .unwrap()
            .entries(&EntryQuery::recent(0))
            .await
            .unwrap();
        assert_eq!(moved_entries[0].task_id(), Some("task-moved"));
        assert_eq!(
            reader.entries(&EntryQuery::recent(0)).await.unwrap().len(),
            1
        );

        // An explicit memory ledger writes nothing anywhere.
        let before = std::fs::read_dir(home.path()).unwrap().count();
        let client = client_builder(&server).memory_ledger().build().unwrap();
        assert!(client.submit(&request()).await.is_err()); // no scripted reply left
        assert_eq!(client.history(0).await.unwrap().len(), 1);
        assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), before);
    });
}

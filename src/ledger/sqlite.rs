//! The on-disk ledger: one SQLite file in WAL mode, shared safely by several processes
//! on one machine. Every write is one transaction, synced before its future completes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::columns::{from_millis, millis, outcome_columns, read_outcome};
use super::{EntryQuery, Intent, LedgerEntry, LedgerError, LedgerFuture, Outcome, TaskLedger};
use crate::cost::Cost;
use crate::task::kind::TaskKind;

/// How long a write waits for another process holding the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Version 1 of the schema: what files written before versions were kept hold (their
/// `user_version` reads 0; every statement is `IF NOT EXISTS`, so running it on them
/// changes nothing).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL,
    body_digest TEXT NOT NULL,
    body_bytes INTEGER NOT NULL,
    marker TEXT,
    client TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    task_id TEXT,
    open INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_open ON entries (open) WHERE open = 1;
CREATE INDEX IF NOT EXISTS entries_task ON entries (task_id);
CREATE INDEX IF NOT EXISTS entries_marker ON entries (marker);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    took_ms INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
";

/// Version 2: the webhook URL sent with an intent, and the webhook deliveries
/// accepted (one row per delivery id, so a retried delivery is seen as such).
const WEBHOOKS: &str = "
ALTER TABLE entries ADD COLUMN webhook_url TEXT;
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
";

/// Version 3: what a task was billed (its decimal text, never a float) and the
/// running-task limits learned per key fingerprint.
const COSTS: &str = "
ALTER TABLE entries ADD COLUMN cost TEXT;
CREATE TABLE IF NOT EXISTS limits (
    key TEXT PRIMARY KEY,
    running INTEGER NOT NULL,
    at_ms INTEGER NOT NULL
);
";

/// Every schema change in order; `PRAGMA user_version` counts those a file has.
/// Append only: a file is brought up to date by running the ones past its version.
const MIGRATIONS: &[&str] = &[SCHEMA, WEBHOOKS, COSTS];

/// Brings the file's schema up to [`MIGRATIONS`], in one IMMEDIATE transaction: two
/// processes opening an old file at once run each step once (the second waits, then
/// reads the new version). A file from a newer version is left as it is.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let done = usize::try_from(version).unwrap_or(0);
    if done >= MIGRATIONS.len() {
        return Ok(());
    }
    for step in &MIGRATIONS[done..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()
}

/// A [`TaskLedger`] in one SQLite file (WAL mode, full sync), safe to share between
/// processes on one machine. The parent directory is created if needed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("modellix-doc-{}", std::process::id()));
/// let ledger = modellix::SqliteLedger::open(dir.join("ledger.sqlite3"))?;
/// let client = modellix::Client::builder()
///     .api_key("sk-example")
///     .ledger(ledger)
///     .build()?;
/// assert!(client.recover().await?.is_empty());
/// # std::fs::remove_dir_all(dir)?; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteLedger {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> LedgerError {
    LedgerError::new(format!("{what} {}: {e}", path.display()))
}

/// Switches to WAL mode. Two processes creating the file at once race for the lock
/// this needs, and SQLite answers "locked" at once instead of waiting: try again
/// until the busy timeout.
fn wal_mode(conn: &Connection) -> rusqlite::Result<()> {
    let start = std::time::Instant::now();
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

impl SqliteLedger {
    /// Opens (or creates) the ledger at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteLedger, LedgerError> {
        let path = path.as_ref().to_path_buf();
        super::location::refuse_url(&path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| failed("cannot create the folder of", &path, e))?;
        }
        let mut conn = Connection::open(&path).map_err(|e| failed("cannot open", &path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| failed("cannot configure", &path, e))?;
        // WAL lets readers and one writer of several processes work at once; FULL
        // syncs the log on every commit, so a recorded intent survives a power cut.
        wal_mode(&conn).map_err(|e| failed("cannot switch to WAL mode", &path, e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| failed("cannot configure", &path, e))?;
        migrate(&mut conn)
            .map_err(|e| failed("cannot create or update the tables in", &path, e))?;
        Ok(SqliteLedger {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The file this ledger lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection on a blocking thread.
    fn run<'a, T: Send + 'static>(
        &'a self,
        what: &'static str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> LedgerFuture<'a, T> {
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        Box::pin(async move {
            let work = move || {
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                f(&mut conn).map_err(|e| failed(what, &path, e))
            };
            // Outside a multi-threaded runtime (or in a current-thread one) the work
            // still runs, on a blocking thread when one is available.
            match tokio::task::spawn_blocking(work).await {
                Ok(result) => result,
                Err(e) => Err(LedgerError::new(format!(
                    "{what}: the ledger thread failed ({e})"
                ))),
            }
        })
    }
}

fn read_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerEntry> {
    let outcome: String = row.get("outcome")?;
    let outcome = read_outcome(
        &outcome,
        row.get::<_, Option<String>>("task_id").ok().flatten(),
    );
    Ok(LedgerEntry {
        id: row.get("id")?,
        intent: Intent {
            model_id: row.get("model_id")?,
            body_digest: row.get("body_digest")?,
            body_bytes: u64::try_from(row.get::<_, i64>("body_bytes")?).unwrap_or(0),
            marker: row.get("marker")?,
            client: row.get("client")?,
            webhook_url: row.get("webhook_url")?,
            created_at: from_millis(row.get("created_ms")?),
        },
        outcome,
        updated_at: from_millis(row.get("updated_ms")?),
        // An amount this version cannot read is left out, never guessed.
        cost: row
            .get::<_, Option<String>>("cost")?
            .and_then(|text| text.parse().ok()),
    })
}

impl TaskLedger for SqliteLedger {
    fn record_intent<'a>(&'a self, intent: &'a Intent) -> LedgerFuture<'a, i64> {
        let marker = intent.marker.clone();
        let intent = intent.clone();
        let recorded = self.run("cannot record an intent in", move |conn| {
            // IMMEDIATE takes the write lock before the check, so another process
            // cannot insert the same marker between the check and the insert (old
            // files with duplicate markers still open: nothing in the schema forbids
            // them).
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(marker) = &intent.marker {
                let holder: Option<i64> = tx
                    .query_row(
                        // Open, or finished: see `Outcome::holds_marker`.
                        "SELECT id FROM entries WHERE marker = ?1
                         AND (open = 1 OR outcome LIKE '{\"state\":\"finished\"%')
                         ORDER BY id LIMIT 1",
                        [marker],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(holder) = holder {
                    return Ok(Err(holder));
                }
            }
            let (outcome, task_id, open) = outcome_columns(&Outcome::InFlight);
            tx.execute(
                "INSERT INTO entries (model_id, body_digest, body_bytes, marker, client,
                 created_ms, updated_ms, outcome, task_id, open, webhook_url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10)",
                params![
                    intent.model_id,
                    intent.body_digest,
                    i64::try_from(intent.body_bytes).unwrap_or(i64::MAX),
                    intent.marker,
                    intent.client,
                    millis(intent.created_at),
                    outcome,
                    task_id,
                    open,
                    intent.webhook_url,
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Ok(id))
        });
        Box::pin(async move {
            recorded.await?.map_err(|holder| {
                LedgerError::marker_in_use(marker.as_deref().unwrap_or_default(), holder)
            })
        })
    }

    fn record_outcome<'a>(&'a self, id: i64, outcome: &'a Outcome) -> LedgerFuture<'a, ()> {
        let (json, task_id, open) = outcome_columns(outcome);
        self.run("cannot record an outcome in", move |conn| {
            let changed = conn.execute(
                "UPDATE entries SET outcome = ?1, task_id = ?2, open = ?3, updated_ms = ?4
                 WHERE id = ?5",
                params![json, task_id, open, millis(SystemTime::now()), id],
            )?;
            if changed == 0 {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            Ok(())
        })
    }

    fn record_finished<'a>(&'a self, task_id: &'a str, status: &'a str) -> LedgerFuture<'a, ()> {
        let outcome = Outcome::Finished {
            task_id: task_id.to_owned(),
            status: status.to_owned(),
        };
        let (json, task_id, open) = outcome_columns(&outcome);
        self.run("cannot record a final status in", move |conn| {
            conn.execute(
                "UPDATE entries SET outcome = ?1, open = ?2, updated_ms = ?3
                 WHERE task_id = ?4 AND outcome NOT LIKE '{\"state\":\"finished\"%'",
                params![json, open, millis(SystemTime::now()), task_id],
            )?;
            Ok(())
        })
    }

    fn dismiss(&self, id: i64) -> LedgerFuture<'_, ()> {
        self.run("cannot dismiss an entry in", move |conn| {
            let task_id: Option<Option<String>> = conn
                .query_row("SELECT task_id FROM entries WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .optional()?;
            let Some(task_id) = task_id else {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            };
            let (json, task_id, open) = outcome_columns(&Outcome::Dismissed { task_id });
            conn.execute(
                "UPDATE entries SET outcome = ?1, task_id = ?2, open = ?3, updated_ms = ?4
                 WHERE id = ?5",
                params![json, task_id, open, millis(SystemTime::now()), id],
            )?;
            Ok(())
        })
    }

    fn entries<'a>(&'a self, query: &'a EntryQuery) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        let query = query.clone();
        self.run("cannot read", move |conn| {
            let limit = if query.limit == 0 {
                -1
            } else {
                i64::try_from(query.limit).unwrap_or(i64::MAX)
            };
            let mut statement = conn.prepare_cached(
                "SELECT * FROM entries
                 WHERE (?1 = 0 OR open = 1)
                   AND (?2 IS NULL OR marker = ?2)
                   AND (?3 IS NULL OR task_id = ?3)
                 ORDER BY id DESC LIMIT ?4",
            )?;
            let rows = statement.query_map(
                params![query.open_only, query.marker, query.task_id, limit],
                read_entry,
            )?;
            rows.collect()
        })
    }

    fn record_run<'a>(&'a self, kind: &'a TaskKind, took: Duration) -> LedgerFuture<'a, ()> {
        let kind = serde_json::to_string(kind).unwrap_or_default();
        self.run("cannot record a run time in", move |conn| {
            conn.execute(
                "INSERT INTO runs (kind, took_ms, at_ms) VALUES (?1, ?2, ?3)",
                params![
                    kind,
                    i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
                    millis(SystemTime::now())
                ],
            )?;
            Ok(())
        })
    }

    fn runs(&self, limit: usize) -> LedgerFuture<'_, Vec<(TaskKind, Duration)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run("cannot read run times in", move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT kind, took_ms FROM (SELECT id, kind, took_ms FROM runs ORDER BY id DESC LIMIT ?1)
                 ORDER BY id ASC",
            )?;
            let rows = statement.query_map([limit], |row| {
                let kind: String = row.get(0)?;
                let took: i64 = row.get(1)?;
                Ok((kind, took))
            })?;
            let mut runs = Vec::new();
            for row in rows {
                let (kind, took) = row?;
                // A kind this version cannot read teaches nothing; skip it.
                if let Ok(kind) = serde_json::from_str::<TaskKind>(&kind) {
                    runs.push((kind, Duration::from_millis(u64::try_from(took).unwrap_or(0))));
                }
            }
            Ok(runs)
        })
    }

    fn accept_delivery<'a>(
        &'a self,
        delivery_id: &'a str,
        task_id: &'a str,
    ) -> LedgerFuture<'a, bool> {
        self.accept(delivery_id, task_id)
    }

    fn record_cost<'a>(
        &'a self,
        task_id: &'a str,
        cost: &'a Cost,
        _billing_status: Option<&'a str>,
    ) -> LedgerFuture<'a, ()> {
        let (task_id, cost) = (task_id.to_owned(), cost.to_string());
        self.run("cannot record a cost in", move |conn| {
            conn.execute(
                "UPDATE entries SET cost = ?1 WHERE task_id = ?2",
                params![cost, task_id],
            )?;
            Ok(())
        })
    }

    fn learned_limit<'a>(&'a self, key: &'a str) -> LedgerFuture<'a, Option<u32>> {
        let key = key.to_owned();
        self.run("cannot read a learned limit in", move |conn| {
            let running: Option<i64> = conn
                .query_row("SELECT running FROM limits WHERE key = ?1", [key], |row| {
                    row.get(0)
                })
                .optional()?;
            // A value this version could not have written is ignored.
            Ok(running
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n > 0))
        })
    }

    fn record_learned_limit<'a>(&'a self, key: &'a str, limit: u32) -> LedgerFuture<'a, ()> {
        let key = key.to_owned();
        self.run("cannot record a learned limit in", move |conn| {
            conn.execute(
                "INSERT INTO limits (key, running, at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET running = ?2, at_ms = ?3",
                params![key, i64::from(limit), millis(SystemTime::now())],
            )?;
            Ok(())
        })
    }
}

impl SqliteLedger {
    fn accept(&self, delivery_id: &str, task_id: &str) -> LedgerFuture<'_, bool> {
        let (delivery_id, task_id) = (delivery_id.to_owned(), task_id.to_owned());
        self.run("cannot record a webhook delivery in", move |conn| {
            // The primary key makes check and write one step, across processes too.
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO deliveries (delivery_id, task_id, at_ms)
                 VALUES (?1, ?2, ?3)",
                params![delivery_id, task_id, millis(SystemTime::now())],
            )?;
            Ok(inserted == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written before markers were held (two open entries with one marker, as
    /// two racing batches could leave) still opens and reads; the marker stays held.
    #[tokio::test]
    async fn an_old_file_with_duplicate_open_markers_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            for _ in 0..2 {
                conn.execute(
                    "INSERT INTO entries (model_id, body_digest, body_bytes, marker, client,
                     created_ms, updated_ms, outcome, task_id, open)
                     VALUES ('a/b', 'sha256:00', 2, 'job-1', 'old', 0, 0,
                             '{\"state\":\"in_flight\"}', NULL, 1)",
                    [],
                )
                .unwrap();
            }
        }
        let ledger = SqliteLedger::open(&path).unwrap();
        let held = ledger.entries(&EntryQuery::marker("job-1")).await.unwrap();
        assert_eq!(held.len(), 2);
        let intent = Intent::new("a/b", b"{}", "new").with_marker(Some("job-1".into()));
        let refusal = ledger.record_intent(&intent).await.unwrap_err();
        assert_eq!(refusal.held_by(), Some(held[1].id), "the oldest holder");
        let other = Intent::new("a/b", b"{}", "new").with_marker(Some("job-2".into()));
        assert!(ledger.record_intent(&other).await.is_ok());
    }

    /// A file of version 1 (no `user_version`, no webhook column) is brought up to
    /// date on open: its entries keep reading, new intents record their webhook URL,
    /// deliveries, costs and learned limits are remembered; opening it again changes nothing.
    #[tokio::test]
    async fn a_version_1_file_is_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO entries (model_id, body_digest, body_bytes, marker, client,
                 created_ms, updated_ms, outcome, task_id, open)
                 VALUES ('a/b', 'sha256:00', 2, NULL, 'old', 0, 0,
                         '{\"state\":\"accepted\",\"task_id\":\"t-1\"}', 't-1', 1)",
                [],
            )
            .unwrap();
        }
        let ledger = SqliteLedger::open(&path).unwrap();
        let old = ledger.entries(&EntryQuery::task("t-1")).await.unwrap();
        assert_eq!(old[0].intent.webhook_url, None);
        assert_eq!(old[0].cost, None);
        let billed: Cost = "0.0300".parse().unwrap();
        ledger.record_cost("t-1", &billed, None).await.unwrap();
        ledger.record_learned_limit("key:00", 4).await.unwrap();
        let intent = Intent::new("a/b", b"{}", "new")
            .with_webhook_url(Some("https://example.com/hook".into()));
        let id = ledger.record_intent(&intent).await.unwrap();
        assert!(ledger.accept_delivery("dlv-1", "t-1").await.unwrap());
        assert!(!ledger.accept_delivery("dlv-1", "t-1").await.unwrap());
        drop(ledger);
        let ledger = SqliteLedger::open(&path).unwrap();
        let all = ledger.entries(&EntryQuery::recent(0)).await.unwrap();
        let new = all.iter().find(|e| e.id == id).unwrap();
        assert_eq!(
            new.intent.webhook_url.as_deref(),
            Some("https://example.com/hook")
        );
        assert!(
            !ledger.accept_delivery("dlv-1", "t-1").await.unwrap(),
            "kept on disk"
        );
        let old = ledger.entries(&EntryQuery::task("t-1")).await.unwrap();
        assert_eq!(
            old[0].cost.map(|c| c.to_string()).as_deref(),
            Some("0.0300")
        );
        assert_eq!(ledger.learned_limit("key:00").await.unwrap(), Some(4));
        let version: i64 = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}

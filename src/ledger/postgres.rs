//! The shared ledger: tables in a PostgreSQL database, reached through a pool of
//! connections, so that several processes on several machines keep one record.
//!
//! The tables are created (or brought up to date) by the first call, in one
//! transaction holding an advisory lock, so instances starting at once run each step
//! once. A marker is checked and written under a transaction-scoped advisory lock on
//! the marker, so of two instances sending the same job one records its intent. The
//! team's running-task slots are rows leased to entries (claimed with the intent,
//! `FOR UPDATE SKIP LOCKED`), and each key's request rate is a GCRA row; leases and
//! arrival times are on the database server's clock.

use std::time::{Duration, SystemTime};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::OnceCell;
use tokio_postgres::NoTls;

use super::columns::{from_millis, millis, outcome_columns, read_outcome};
use super::shared_rate::SharedRate;
use super::slots::{Claim, SlotClaim};
use super::{EntryQuery, Intent, LedgerEntry, LedgerError, LedgerFuture, Outcome, TaskLedger};
use crate::cost::Cost;
use crate::task::kind::TaskKind;

/// Connections one ledger keeps open at most.
const POOL_SIZE: usize = 8;

/// How long a call waits for a connection (to be made, or freed by another call).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most running-task slots a team is given rows for (Modellix's highest tier has
/// 100): a limit above it counts as this many, so no setting makes a claim write
/// millions of rows.
const MAX_SLOTS: u32 = 1_000;

/// The key of the advisory lock that serialises migrations (any constant; "mdlx").
const MIGRATION_LOCK: i64 = 0x6d64_6c78;

/// Version 1: entries (intents and their outcomes), run times, webhook deliveries.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS modellix_entries (
    id BIGSERIAL PRIMARY KEY,
    model_id TEXT NOT NULL,
    body_digest TEXT NOT NULL,
    body_bytes BIGINT NOT NULL,
    marker TEXT,
    client TEXT NOT NULL,
    webhook_url TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    task_id TEXT,
    open BOOLEAN NOT NULL,
    holds_marker BOOLEAN NOT NULL
);
CREATE INDEX IF NOT EXISTS modellix_entries_open ON modellix_entries (id) WHERE open;
CREATE INDEX IF NOT EXISTS modellix_entries_task ON modellix_entries (task_id);
CREATE INDEX IF NOT EXISTS modellix_entries_marker ON modellix_entries (marker)
    WHERE holds_marker;
CREATE TABLE IF NOT EXISTS modellix_runs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    took_ms BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS modellix_deliveries (
    delivery_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
";

/// Version 2: what a task was billed (its decimal text, never a float) and the
/// running-task limits learned per key fingerprint, shared by every instance.
const COSTS: &str = "
ALTER TABLE modellix_entries ADD COLUMN IF NOT EXISTS cost TEXT;
CREATE TABLE IF NOT EXISTS modellix_limits (
    key TEXT PRIMARY KEY,
    running BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
";

/// Version 3: the team's running-task slots, one row each, leased to the entry whose
/// task runs in it (`lease_until_ms` on the server's clock, so machines whose clocks
/// differ agree on when a lease ran out), and each key's shared request rate (a GCRA's
/// theoretical arrival time, on the same clock).
const SHARED: &str = "
CREATE TABLE IF NOT EXISTS modellix_slots (
    team TEXT NOT NULL,
    slot INTEGER NOT NULL,
    entry_id BIGINT,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    lease_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (team, slot)
);
CREATE INDEX IF NOT EXISTS modellix_slots_entry ON modellix_slots (entry_id)
    WHERE entry_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS modellix_rates (
    key TEXT PRIMARY KEY,
    tat_ms BIGINT NOT NULL
);
";

/// Every schema change in order; `modellix_schema.version` counts those a database
/// has. Append only.
const MIGRATIONS: &[&str] = &[SCHEMA, COSTS, SHARED];

/// The database server's clock in Unix milliseconds: leases are measured on one clock.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::BIGINT";

/// A [`TaskLedger`] in a PostgreSQL database (feature `postgres`), shared by every
/// process and machine given the same URL: what several instances of one program
/// need to keep one record of the team's paid requests.
///
/// [`PostgresLedger::new`] makes no connection; the first call connects and creates
/// the tables (`modellix_entries`, `modellix_runs`, `modellix_deliveries`,
/// `modellix_limits`, `modellix_slots`, `modellix_rates` and `modellix_schema`, holding
/// the schema's version) if they are missing. Beside the record, it holds what the
/// instances on it share: the team's running-task slots
/// ([`TaskLedger::claim_slot`]) and each key's request rate
/// ([`TaskLedger::take_request`]), so clients on one database keep within the team's
/// limits together. The URL is
/// `postgres://user:password@host:port/database` (the libpq form); connections are
/// not encrypted (`sslmode=disable`): keep the database on a private network or the
/// same machine. Messages show the URL without its password.
///
/// ```
/// # fn main() -> Result<(), modellix::LedgerError> {
/// let ledger = modellix::PostgresLedger::new("postgres://app:secret@127.0.0.1:5432/app")?;
/// assert!(!format!("{ledger:?}").contains("secret"));
/// let client = modellix::Client::builder()
///     .api_key("sk-example")
///     .ledger(ledger)
///     .build()
///     .unwrap();
/// # let _ = client; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresLedger {
    shown: String,
    pool: Pool,
    migrated: std::sync::Arc<OnceCell<()>>,
}

impl std::fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLedger")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// `e` with its causes, which hold the server's own message.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

impl PostgresLedger {
    /// A ledger in the database at `url` (`postgres://…` or `postgresql://…`). Checks
    /// the URL; connects on first use.
    pub fn new(url: &str) -> Result<PostgresLedger, LedgerError> {
        let shown = crate::redact::raw_url_for_display(url);
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            LedgerError::new(format!(
                "{shown:?} is not a PostgreSQL URL this ledger can use ({}); write it as \
                 postgres://user:password@host:port/database",
                with_causes(&e)
            ))
        })?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| LedgerError::new(format!("cannot set up connections to {shown}: {e}")))?;
        Ok(PostgresLedger {
            shown,
            pool,
            migrated: std::sync::Arc::default(),
        })
    }

    /// Connects to the database at `url` and creates or updates its tables now, so a
    /// wrong URL or password is found before anything is submitted.
    pub async fn connect(url: &str) -> Result<PostgresLedger, LedgerError> {
        let ledger = PostgresLedger::new(url)?;
        drop(ledger.client("cannot open the ledger in").await?);
        Ok(ledger)
    }

    /// The database's URL as messages show it (no password, no query).
    pub fn url(&self) -> &str {
        &self.shown
    }

    fn failed(&self, what: &str, e: &dyn std::error::Error) -> LedgerError {
        LedgerError::new(format!("{what} {}: {}", self.shown, with_causes(e)))
    }

    /// A pooled connection to a database whose tables are up to date.
    async fn client(&self, what: &str) -> Result<deadpool_postgres::Object, LedgerError> {
        let mut client = self.pool.get().await.map_err(|e| self.failed(what, &e))?;
        self.migrated
            .get_or_try_init(|| async {
                migrate(&mut client)
                    .await
                    .map_err(|e| self.failed("cannot create or update the tables in", &e))
            })
            .await?;
        Ok(client)
    }
}

/// Brings the database's tables up to [`MIGRATIONS`] in one transaction, under an
/// advisory lock: instances migrating at once run each step once. A database of a
/// newer version is left as it is.
async fn migrate(client: &mut deadpool_postgres::Object) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS modellix_schema (version INTEGER NOT NULL)")
        .await?;
    let version: Option<i32> = tx
        .query_one("SELECT max(version) FROM modellix_schema", &[])
        .await?
        .get(0);
    let done = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
    if done >= MIGRATIONS.len() {
        return tx.commit().await;
    }
    for step in &MIGRATIONS[done..] {
        tx.batch_execute(step).await?;
    }
    let now = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    tx.execute("DELETE FROM modellix_schema", &[]).await?;
    tx.execute("INSERT INTO modellix_schema (version) VALUES ($1)", &[&now])
        .await?;
    tx.commit().await
}

fn read_entry(row: &tokio_postgres::Row) -> Result<LedgerEntry, tokio_postgres::Error> {
    let task_id: Option<String> = row.try_get("task_id")?;
    let outcome = read_outcome(&row.try_get::<_, String>("outcome")?, task_id);
    Ok(LedgerEntry {
        id: row.try_get("id")?,
        intent: Intent {
            model_id: row.try_get("model_id")?,
            body_digest: row.try_get("body_digest")?,
            body_bytes: u64::try_from(row.try_get::<_, i64>("body_bytes")?).unwrap_or(0),
            marker: row.try_get("marker")?,
            client: row.try_get("client")?,
            webhook_url: row.try_get("webhook_url")?,
            created_at: from_millis(row.try_get("created_ms")?),
        },
        outcome,
        updated_at: from_millis(row.try_get("updated_ms")?),
        // An amount this version cannot read is left out, never guessed.
        cost: row
            .try_get::<_, Option<String>>("cost")?
            .and_then(|text| text.parse().ok()),
    })
}

const ENTRY_COLUMNS: &str = "id, model_id, body_digest, body_bytes, marker, client, \
                             webhook_url, created_ms, updated_ms, outcome, task_id, cost";

impl PostgresLedger {
    async fn intent(&self, intent: &Intent) -> Result<i64, LedgerError> {
        let what = "cannot record an intent in";
        let fail = |e: tokio_postgres::Error| self.failed(what, &e);
        let mut client = self.client(what).await?;
        let tx = client.transaction().await.map_err(fail)?;
        self.check_marker(&tx, intent).await?;
        let id = self.insert_intent(&tx, intent).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    /// Refuses `intent` when another entry holds its marker. Takes a lock on the
    /// marker held until `tx` ends: no other instance can insert the same marker
    /// between this check and the insert.
    async fn check_marker(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        intent: &Intent,
    ) -> Result<(), LedgerError> {
        let Some(marker) = &intent.marker else {
            return Ok(());
        };
        let fail = |e: tokio_postgres::Error| self.failed("cannot record an intent in", &e);
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[marker],
        )
        .await
        .map_err(fail)?;
        let holder = tx
            .query_opt(
                "SELECT id FROM modellix_entries WHERE marker = $1 AND holds_marker
                 ORDER BY id LIMIT 1",
                &[marker],
            )
            .await
            .map_err(fail)?;
        match holder {
            Some(holder) => {
                let holder: i64 = holder.try_get(0).map_err(fail)?;
                Err(LedgerError::marker_in_use(marker, holder))
            }
            None => Ok(()),
        }
    }

    async fn insert_intent(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        intent: &Intent,
    ) -> Result<i64, LedgerError> {
        let fail = |e: tokio_postgres::Error| self.failed("cannot record an intent in", &e);
        let (outcome, task_id, open) = outcome_columns(&Outcome::InFlight);
        let row = tx
            .query_one(
                "INSERT INTO modellix_entries (model_id, body_digest, body_bytes, marker,
                 client, webhook_url, created_ms, updated_ms, outcome, task_id, open,
                 holds_marker)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11) RETURNING id",
                &[
                    &intent.model_id,
                    &intent.body_digest,
                    &i64::try_from(intent.body_bytes).unwrap_or(i64::MAX),
                    &intent.marker,
                    &intent.client,
                    &intent.webhook_url,
                    &millis(intent.created_at),
                    &outcome,
                    &task_id,
                    &open,
                    &Outcome::InFlight.holds_marker(),
                ],
            )
            .await
            .map_err(fail)?;
        row.try_get(0).map_err(fail)
    }

    /// The intent and a free slot in one transaction: the slot row is locked (`FOR
    /// UPDATE SKIP LOCKED`, so claims at once take different slots instead of waiting
    /// for one another) and names the new entry when the transaction commits.
    async fn claim(&self, intent: &Intent, claim: &SlotClaim) -> Result<Claim, LedgerError> {
        let what = "cannot record an intent in";
        let fail = |e: tokio_postgres::Error| self.failed(what, &e);
        let mut client = self.client(what).await?;
        let tx = client.transaction().await.map_err(fail)?;
        self.check_marker(&tx, intent).await?;
        let limit = match claim.limit {
            Some(told) => told,
            None => tx
                .query_opt(
                    "SELECT running FROM modellix_limits WHERE key = $1",
                    &[&claim.team],
                )
                .await
                .map_err(fail)?
                .and_then(|row| row.try_get::<_, i64>(0).ok())
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n > 0)
                .unwrap_or(claim.default_limit),
        }
        .clamp(1, MAX_SLOTS);
        let slots = i32::try_from(limit).unwrap_or(i32::MAX);
        // The rows are made once per team and size: a claim of a team whose highest
        // slot exists writes nothing here.
        tx.execute(
            "INSERT INTO modellix_slots (team, slot)
             SELECT $1, n FROM generate_series(0, $2 - 1) AS n
             WHERE NOT EXISTS (SELECT 1 FROM modellix_slots WHERE team = $1 AND slot = $2 - 1)
             ON CONFLICT (team, slot) DO NOTHING",
            &[&claim.team, &slots],
        )
        .await
        .map_err(fail)?;
        let free = tx
            .query_opt(
                "SELECT slot FROM modellix_slots
                 WHERE team = $1 AND slot < $2 AND entry_id IS NULL
                 ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED",
                &[&claim.team, &slots],
            )
            .await
            .map_err(fail)?;
        let Some(free) = free else {
            // Nothing recorded: the transaction rolls back when dropped.
            return Ok(Claim::Full { limit });
        };
        let slot: i32 = free.try_get(0).map_err(fail)?;
        let entry = self.insert_intent(&tx, intent).await?;
        let lease = lease_millis(claim.lease);
        tx.execute(
            &format!(
                "UPDATE modellix_slots SET entry_id = $3, lease_ms = $4,
                 lease_until_ms = {NOW_MS} + $4 WHERE team = $1 AND slot = $2"
            ),
            &[&claim.team, &slot, &entry, &lease],
        )
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(Claim::Admitted { entry })
    }

    /// Sets entry `id`'s outcome; an error when there is no such entry.
    async fn set_outcome(&self, what: &str, id: i64, outcome: &Outcome) -> Result<(), LedgerError> {
        let (json, task_id, open) = outcome_columns(outcome);
        // Its slot, in the same statement: freed once the request is closed (nothing
        // created, ended, dismissed), its lease renewed when a task was accepted.
        let release = !outcome.is_open();
        let renew = matches!(outcome, Outcome::Accepted { .. });
        let client = self.client(what).await?;
        let changed: i64 = client
            .query_one(
                &format!(
                    "WITH entry AS (
                         UPDATE modellix_entries SET outcome = $1, task_id = $2, open = $3,
                         holds_marker = $4, updated_ms = $5 WHERE id = $6 RETURNING id
                     ), slot AS (
                         UPDATE modellix_slots SET
                             entry_id = CASE WHEN $7 THEN NULL ELSE entry_id END,
                             lease_until_ms = CASE WHEN $7 THEN 0 ELSE {NOW_MS} + lease_ms END
                         WHERE entry_id IN (SELECT id FROM entry) AND ($7 OR $8)
                     )
                     SELECT count(*) FROM entry"
                ),
                &[
                    &json,
                    &task_id,
                    &open,
                    &outcome.holds_marker(),
                    &millis(SystemTime::now()),
                    &id,
                    &release,
                    &renew,
                ],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.failed(what, &e))?;
        if changed == 0 {
            return Err(LedgerError::new(format!(
                "{what} {}: no entry {id}",
                self.shown
            )));
        }
        Ok(())
    }

    async fn finished(&self, task_id: &str, status: &str) -> Result<(), LedgerError> {
        let what = "cannot record a final status in";
        let outcome = Outcome::Finished {
            task_id: task_id.to_owned(),
            status: status.to_owned(),
        };
        let (json, _, open) = outcome_columns(&outcome);
        let client = self.client(what).await?;
        client
            .execute(
                // The task ended: its slot is free, in the same statement.
                "WITH slot AS (
                     UPDATE modellix_slots SET entry_id = NULL, lease_until_ms = 0
                     WHERE entry_id IN (SELECT id FROM modellix_entries WHERE task_id = $5)
                 )
                 UPDATE modellix_entries SET outcome = $1, open = $2, holds_marker = $3,
                 updated_ms = $4
                 WHERE task_id = $5 AND outcome NOT LIKE '{\"state\":\"finished\"%'",
                &[
                    &json,
                    &open,
                    &outcome.holds_marker(),
                    &millis(SystemTime::now()),
                    &task_id,
                ],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(())
    }

    async fn dismissed(&self, id: i64) -> Result<(), LedgerError> {
        let what = "cannot dismiss an entry in";
        let row = {
            let client = self.client(what).await?;
            client
                .query_opt("SELECT task_id FROM modellix_entries WHERE id = $1", &[&id])
                .await
                .map_err(|e| self.failed(what, &e))?
        };
        let Some(row) = row else {
            return Err(LedgerError::new(format!(
                "{what} {}: no entry {id}",
                self.shown
            )));
        };
        let task_id: Option<String> = row.try_get(0).map_err(|e| self.failed(what, &e))?;
        self.set_outcome(what, id, &Outcome::Dismissed { task_id })
            .await
    }

    async fn read(&self, query: &EntryQuery) -> Result<Vec<LedgerEntry>, LedgerError> {
        let what = "cannot read";
        let fail = |e: tokio_postgres::Error| self.failed(what, &e);
        let limit = (query.limit > 0).then(|| i64::try_from(query.limit).unwrap_or(i64::MAX));
        let client = self.client(what).await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM modellix_entries
                     WHERE (NOT $1 OR open)
                       AND ($2::TEXT IS NULL OR marker = $2)
                       AND ($3::TEXT IS NULL OR task_id = $3)
                     ORDER BY id DESC LIMIT $4"
                ),
                &[&query.open_only, &query.marker, &query.task_id, &limit],
            )
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| read_entry(row).map_err(fail))
            .collect()
    }

    async fn run_time(&self, kind: &TaskKind, took: Duration) -> Result<(), LedgerError> {
        let what = "cannot record a run time in";
        let kind = serde_json::to_string(kind).unwrap_or_default();
        let client = self.client(what).await?;
        client
            .execute(
                "INSERT INTO modellix_runs (kind, took_ms, at_ms) VALUES ($1, $2, $3)",
                &[
                    &kind,
                    &i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
                    &millis(SystemTime::now()),
                ],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(())
    }

    async fn run_times(&self, limit: usize) -> Result<Vec<(TaskKind, Duration)>, LedgerError> {
        let what = "cannot read run times in";
        let fail = |e: tokio_postgres::Error| self.failed(what, &e);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client(what).await?;
        let rows = client
            .query(
                "SELECT kind, took_ms FROM (SELECT id, kind, took_ms FROM modellix_runs
                 ORDER BY id DESC LIMIT $1) AS newest ORDER BY id ASC",
                &[&limit],
            )
            .await
            .map_err(fail)?;
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get(0).map_err(fail)?;
            let took: i64 = row.try_get(1).map_err(fail)?;
            // A kind this version cannot read teaches nothing; skip it.
            if let Ok(kind) = serde_json::from_str::<TaskKind>(&kind) {
                runs.push((
                    kind,
                    Duration::from_millis(u64::try_from(took).unwrap_or(0)),
                ));
            }
        }
        Ok(runs)
    }

    async fn delivery(&self, delivery_id: &str, task_id: &str) -> Result<bool, LedgerError> {
        let what = "cannot record a webhook delivery in";
        let client = self.client(what).await?;
        // The primary key makes check and write one step, across instances too.
        let inserted = client
            .execute(
                "INSERT INTO modellix_deliveries (delivery_id, task_id, at_ms)
                 VALUES ($1, $2, $3) ON CONFLICT (delivery_id) DO NOTHING",
                &[&delivery_id, &task_id, &millis(SystemTime::now())],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(inserted == 1)
    }
}

impl PostgresLedger {
    async fn cost(&self, task_id: &str, cost: &Cost) -> Result<(), LedgerError> {
        let what = "cannot record a cost in";
        let client = self.client(what).await?;
        client
            .execute(
                "UPDATE modellix_entries SET cost = $1 WHERE task_id = $2",
                &[&cost.to_string(), &task_id],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(())
    }

    async fn limit(&self, key: &str) -> Result<Option<u32>, LedgerError> {
        let what = "cannot read a learned limit in";
        let fail = |e: tokio_postgres::Error| self.failed(what, &e);
        let client = self.client(what).await?;
        let row = client
            .query_opt(
                "SELECT running FROM modellix_limits WHERE key = $1",
                &[&key],
            )
            .await
            .map_err(fail)?;
        let running: Option<i64> = row.map(|row| row.try_get(0)).transpose().map_err(fail)?;
        // A value this version could not have written is ignored.
        Ok(running
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n > 0))
    }

    async fn set_limit(&self, key: &str, limit: u32) -> Result<(), LedgerError> {
        let what = "cannot record a learned limit in";
        let client = self.client(what).await?;
        client
            .execute(
                "INSERT INTO modellix_limits (key, running, at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET running = $2, at_ms = $3",
                &[&key, &i64::from(limit), &millis(SystemTime::now())],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(())
    }
}

impl PostgresLedger {
    /// GCRA in one statement: the arrival time moves on by one interval when it runs
    /// at most `tolerance` ahead of now; otherwise nothing changes and the wait until
    /// it would is read from the same snapshot.
    async fn take(&self, key: &str, rate: &SharedRate) -> Result<Duration, LedgerError> {
        let what = "cannot take a request from the shared rate in";
        let client = self.client(what).await?;
        let wait: i64 = client
            .query_one(
                &format!(
                    "WITH taken AS (
                         INSERT INTO modellix_rates AS r (key, tat_ms) VALUES ($1, {NOW_MS} + $2)
                         ON CONFLICT (key) DO UPDATE
                             SET tat_ms = GREATEST(r.tat_ms, {NOW_MS}) + $2
                             WHERE GREATEST(r.tat_ms, {NOW_MS}) - {NOW_MS} <= $3
                         RETURNING 0::BIGINT AS wait
                     )
                     SELECT wait FROM taken
                     UNION ALL
                     SELECT GREATEST(tat_ms - $3 - {NOW_MS}, 1) FROM modellix_rates
                     WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM taken)
                     LIMIT 1"
                ),
                &[
                    &key,
                    &lease_millis(rate.interval),
                    &millis_of(rate.tolerance()),
                ],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| self.failed(what, &e))?;
        Ok(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
    }

    /// No request before `pause` from now: the arrival time is set past it by the
    /// tolerance (never moved back).
    async fn push_back(
        &self,
        key: &str,
        pause: Duration,
        rate: &SharedRate,
    ) -> Result<(), LedgerError> {
        let what = "cannot push back the shared rate in";
        let client = self.client(what).await?;
        client
            .execute(
                &format!(
                    "INSERT INTO modellix_rates AS r (key, tat_ms) VALUES ($1, {NOW_MS} + $2 + $3)
                     ON CONFLICT (key) DO UPDATE SET tat_ms = GREATEST(r.tat_ms, EXCLUDED.tat_ms)"
                ),
                &[&key, &millis_of(pause), &millis_of(rate.tolerance())],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(())
    }
}

/// A duration in whole milliseconds (saturating).
fn millis_of(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A lease in whole milliseconds, at least one.
fn lease_millis(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl PostgresLedger {
    async fn renew(&self, task_id: &str, lease: Duration) -> Result<(), LedgerError> {
        let what = "cannot renew a slot's lease in";
        let client = self.client(what).await?;
        client
            .execute(
                &format!(
                    "UPDATE modellix_slots SET lease_ms = $2, lease_until_ms = {NOW_MS} + $2
                     WHERE entry_id IN (SELECT id FROM modellix_entries WHERE task_id = $1)"
                ),
                &[&task_id, &lease_millis(lease)],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(())
    }

    async fn release(&self, task_id: &str) -> Result<(), LedgerError> {
        let what = "cannot free a slot in";
        let client = self.client(what).await?;
        client
            .execute(
                "UPDATE modellix_slots SET entry_id = NULL, lease_until_ms = 0
                 WHERE entry_id IN (SELECT id FROM modellix_entries WHERE task_id = $1)",
                &[&task_id],
            )
            .await
            .map_err(|e| self.failed(what, &e))?;
        Ok(())
    }

    /// One statement: expired leases are locked (skipping those another instance is
    /// taking over), those without a task to poll are freed, the others leased anew
    /// to the caller and their entries returned.
    async fn take_over(
        &self,
        team: &str,
        lease: Duration,
    ) -> Result<Vec<LedgerEntry>, LedgerError> {
        let what = "cannot take over expired slots in";
        let fail = |e: tokio_postgres::Error| self.failed(what, &e);
        let client = self.client(what).await?;
        let columns = ENTRY_COLUMNS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = client
            .query(
                &format!(
                    "WITH expired AS (
                         SELECT s.slot, s.entry_id, e.task_id IS NOT NULL AND e.open AS live
                         FROM modellix_slots s JOIN modellix_entries e ON e.id = s.entry_id
                         WHERE s.team = $1 AND s.lease_until_ms < {NOW_MS}
                         FOR UPDATE OF s SKIP LOCKED
                     ), freed AS (
                         UPDATE modellix_slots s SET entry_id = NULL, lease_until_ms = 0
                         FROM expired x WHERE s.team = $1 AND s.slot = x.slot AND NOT x.live
                     ), taken AS (
                         UPDATE modellix_slots s SET lease_ms = $2,
                             lease_until_ms = {NOW_MS} + $2
                         FROM expired x WHERE s.team = $1 AND s.slot = x.slot AND x.live
                         RETURNING s.entry_id
                     )
                     SELECT {columns} FROM modellix_entries e
                     WHERE e.id IN (SELECT entry_id FROM taken) ORDER BY e.id"
                ),
                &[&team, &lease_millis(lease)],
            )
            .await
            .map_err(fail)?;
        rows.iter()
            .map(|row| read_entry(row).map_err(fail))
            .collect()
    }
}

impl TaskLedger for PostgresLedger {
    fn record_intent<'a>(&'a self, intent: &'a Intent) -> LedgerFuture<'a, i64> {
        Box::pin(self.intent(intent))
    }

    fn record_outcome<'a>(&'a self, id: i64, outcome: &'a Outcome) -> LedgerFuture<'a, ()> {
        Box::pin(self.set_outcome("cannot record an outcome in", id, outcome))
    }

    fn record_finished<'a>(&'a self, task_id: &'a str, status: &'a str) -> LedgerFuture<'a, ()> {
        Box::pin(self.finished(task_id, status))
    }

    fn dismiss(&self, id: i64) -> LedgerFuture<'_, ()> {
        Box::pin(self.dismissed(id))
    }

    fn entries<'a>(&'a self, query: &'a EntryQuery) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        Box::pin(self.read(query))
    }

    fn record_run<'a>(&'a self, kind: &'a TaskKind, took: Duration) -> LedgerFuture<'a, ()> {
        Box::pin(self.run_time(kind, took))
    }

    fn runs(&self, limit: usize) -> LedgerFuture<'_, Vec<(TaskKind, Duration)>> {
        Box::pin(self.run_times(limit))
    }

    fn accept_delivery<'a>(
        &'a self,
        delivery_id: &'a str,
        task_id: &'a str,
    ) -> LedgerFuture<'a, bool> {
        Box::pin(self.delivery(delivery_id, task_id))
    }

    fn record_cost<'a>(
        &'a self,
        task_id: &'a str,
        cost: &'a Cost,
        _billing_status: Option<&'a str>,
    ) -> LedgerFuture<'a, ()> {
        Box::pin(self.cost(task_id, cost))
    }

    fn learned_limit<'a>(&'a self, key: &'a str) -> LedgerFuture<'a, Option<u32>> {
        Box::pin(self.limit(key))
    }

    fn record_learned_limit<'a>(&'a self, key: &'a str, limit: u32) -> LedgerFuture<'a, ()> {
        Box::pin(self.set_limit(key, limit))
    }

    fn shares_slots(&self) -> bool {
        true
    }

    fn shares_rate(&self) -> bool {
        true
    }

    fn take_request<'a>(
        &'a self,
        key: &'a str,
        rate: &'a SharedRate,
    ) -> LedgerFuture<'a, Duration> {
        Box::pin(self.take(key, rate))
    }

    fn push_back_requests<'a>(
        &'a self,
        key: &'a str,
        pause: Duration,
        rate: &'a SharedRate,
    ) -> LedgerFuture<'a, ()> {
        Box::pin(self.push_back(key, pause, rate))
    }

    fn claim_slot<'a>(
        &'a self,
        intent: &'a Intent,
        claim: &'a SlotClaim,
    ) -> LedgerFuture<'a, Claim> {
        Box::pin(self.claim(intent, claim))
    }

    fn renew_slot<'a>(&'a self, task_id: &'a str, lease: Duration) -> LedgerFuture<'a, ()> {
        Box::pin(self.renew(task_id, lease))
    }

    fn release_slot<'a>(&'a self, task_id: &'a str) -> LedgerFuture<'a, ()> {
        Box::pin(self.release(task_id))
    }

    fn take_over_slots<'a>(
        &'a self,
        team: &'a str,
        lease: Duration,
    ) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        Box::pin(self.take_over(team, lease))
    }
}

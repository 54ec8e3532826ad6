//! The ledger a client uses when given none: the durable SQLite file at
//! [`default_ledger_path`], shared with the command line, opened on first use.
//!
//! On first use, not when the client is built: building a client touches no disk (a
//! program that only reads the catalog never creates a ledger), and a file that
//! cannot be opened is reported by the first submit, as a ledger error that says
//! nothing was sent. A failed open is tried again by the next call.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use crate::cost::Cost;
use crate::ledger::location::{default_ledger_path, open_ledger};
use crate::ledger::{
    EntryQuery, Intent, LedgerEntry, LedgerError, LedgerFuture, Outcome, TaskLedger,
};
use crate::task::kind::TaskKind;

#[derive(Debug, Default)]
pub(crate) struct DefaultLedger {
    opened: OnceCell<Arc<dyn TaskLedger>>,
}

impl DefaultLedger {
    pub(crate) fn new() -> Self {
        DefaultLedger::default()
    }

    async fn ledger(&self) -> Result<&Arc<dyn TaskLedger>, LedgerError> {
        self.opened
            .get_or_try_init(|| async {
                let path: PathBuf = default_ledger_path().ok_or_else(|| {
                    LedgerError::new(
                        "no place for the default ledger: the platform's data directory is \
                         unknown (no home directory) and MODELLIX_LEDGER is not set; set it, \
                         or choose ClientBuilder::ledger_path or ClientBuilder::memory_ledger",
                    )
                })?;
                // Opening creates folders and syncs a file: not on the runtime's threads.
                // ($MODELLIX_LEDGER may name a PostgreSQL database: see open_ledger.)
                tokio::task::spawn_blocking(move || open_ledger(path))
                    .await
                    .map_err(|e| {
                        LedgerError::new(format!("opening the default ledger failed ({e})"))
                    })?
            })
            .await
    }
}

impl TaskLedger for DefaultLedger {
    fn record_intent<'a>(&'a self, intent: &'a Intent) -> LedgerFuture<'a, i64> {
        Box::pin(async move { self.ledger().await?.record_intent(intent).await })
    }

    fn record_outcome<'a>(&'a self, id: i64, outcome: &'a Outcome) -> LedgerFuture<'a, ()> {
        Box::pin(async move { self.ledger().await?.record_outcome(id, outcome).await })
    }

    fn record_finished<'a>(&'a self, task_id: &'a str, status: &'a str) -> LedgerFuture<'a, ()> {
        Box::pin(async move { self.ledger().await?.record_finished(task_id, status).await })
    }

    fn dismiss(&self, id: i64) -> LedgerFuture<'_, ()> {
        Box::pin(async move { self.ledger().await?.dismiss(id).await })
    }

    fn entries<'a>(&'a self, query: &'a EntryQuery) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        Box::pin(async move { self.ledger().await?.entries(query).await })
    }

    fn record_run<'a>(&'a self, kind: &'a TaskKind, took: Duration) -> LedgerFuture<'a, ()> {
        Box::pin(async move { self.ledger().await?.record_run(kind, took).await })
    }

    fn runs(&self, limit: usize) -> LedgerFuture<'_, Vec<(TaskKind, Duration)>> {
        Box::pin(async move { self.ledger().await?.runs(limit).await })
    }

    fn record_cost<'a>(
        &'a self,
        task_id: &'a str,
        cost: &'a Cost,
        billing_status: Option<&'a str>,
    ) -> LedgerFuture<'a, ()> {
        Box::pin(async move {
            let ledger = self.ledger().await?;
            ledger.record_cost(task_id, cost, billing_status).await
        })
    }

    fn learned_limit<'a>(&'a self, key: &'a str) -> LedgerFuture<'a, Option<u32>> {
        Box::pin(async move { self.ledger().await?.learned_limit(key).await })
    }

    fn record_learned_limit<'a>(&'a self, key: &'a str, limit: u32) -> LedgerFuture<'a, ()> {
        Box::pin(async move { self.ledger().await?.record_learned_limit(key, limit).await })
    }

    fn accept_delivery<'a>(
        &'a self,
        delivery_id: &'a str,
        task_id: &'a str,
    ) -> LedgerFuture<'a, bool> {
        Box::pin(async move {
            let ledger = self.ledger().await?;
            ledger.accept_delivery(delivery_id, task_id).await
        })
    }
}

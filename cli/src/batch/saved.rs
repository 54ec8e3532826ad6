//! The batch's view of the ledger: a task's success is recorded only once its results
//! are saved.
//!
//! The library's wait writes a task's final status as soon as it sees it. A batch
//! that wrote "success" then and was killed before saving the files would skip the
//! job on its rerun, and its results would be lost; so this ledger holds a success
//! back until [`SavedLedger::saved`] (every other write goes straight through, run
//! times included, so the learning schedule learns from batches too).

use std::sync::Arc;
use std::time::Duration;

use modellix::{
    Claim, Cost, EntryQuery, Intent, LedgerEntry, LedgerError, LedgerFuture, Outcome, SlotClaim,
    TaskKind, TaskLedger,
};

#[derive(Debug, Clone)]
pub struct SavedLedger {
    inner: Arc<dyn TaskLedger>,
}

impl SavedLedger {
    pub fn new(inner: Arc<dyn TaskLedger>) -> Self {
        SavedLedger { inner }
    }

    /// Records the success of `task_id`, whose results are saved (or listed).
    pub async fn saved(&self, task_id: &str) -> Result<(), LedgerError> {
        self.inner.record_finished(task_id, "success").await
    }
}

impl TaskLedger for SavedLedger {
    fn record_intent<'a>(&'a self, intent: &'a Intent) -> LedgerFuture<'a, i64> {
        self.inner.record_intent(intent)
    }

    fn record_outcome<'a>(&'a self, id: i64, outcome: &'a Outcome) -> LedgerFuture<'a, ()> {
        self.inner.record_outcome(id, outcome)
    }

    fn record_finished<'a>(&'a self, task_id: &'a str, status: &'a str) -> LedgerFuture<'a, ()> {
        if status == "success" {
            // Held back until the results are saved: see the module's doc.
            return Box::pin(async { Ok(()) });
        }
        self.inner.record_finished(task_id, status)
    }

    fn dismiss(&self, id: i64) -> LedgerFuture<'_, ()> {
        self.inner.dismiss(id)
    }

    fn entries<'a>(&'a self, query: &'a EntryQuery) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        self.inner.entries(query)
    }

    fn record_run<'a>(&'a self, kind: &'a TaskKind, took: Duration) -> LedgerFuture<'a, ()> {
        self.inner.record_run(kind, took)
    }

    fn runs(&self, limit: usize) -> LedgerFuture<'_, Vec<(TaskKind, Duration)>> {
        self.inner.runs(limit)
    }

    fn record_cost<'a>(
        &'a self,
        task_id: &'a str,
        cost: &'a Cost,
        billing_status: Option<&'a str>,
    ) -> LedgerFuture<'a, ()> {
        self.inner.record_cost(task_id, cost, billing_status)
    }

    fn learned_limit<'a>(&'a self, key: &'a str) -> LedgerFuture<'a, Option<u32>> {
        self.inner.learned_limit(key)
    }

    fn record_learned_limit<'a>(&'a self, key: &'a str, limit: u32) -> LedgerFuture<'a, ()> {
        self.inner.record_learned_limit(key, limit)
    }

    fn shares_slots(&self) -> bool {
        self.inner.shares_slots()
    }

    fn claim_slot<'a>(
        &'a self,
        intent: &'a Intent,
        claim: &'a SlotClaim,
    ) -> LedgerFuture<'a, Claim> {
        self.inner.claim_slot(intent, claim)
    }

    fn renew_slot<'a>(&'a self, task_id: &'a str, lease: Duration) -> LedgerFuture<'a, ()> {
        self.inner.renew_slot(task_id, lease)
    }

    // Not held back like a success: the task ended, so its slot is free for the
    // team's next one while its results download.
    fn release_slot<'a>(&'a self, task_id: &'a str) -> LedgerFuture<'a, ()> {
        self.inner.release_slot(task_id)
    }

    fn take_over_slots<'a>(
        &'a self,
        team: &'a str,
        lease: Duration,
    ) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        self.inner.take_over_slots(team, lease)
    }

    fn accept_delivery<'a>(
        &'a self,
        delivery_id: &'a str,
        task_id: &'a str,
    ) -> LedgerFuture<'a, bool> {
        self.inner.accept_delivery(delivery_id, task_id)
    }
}

//! [`MemoryLedger`]: the ledger kept in the process, for tests and the sandbox.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::cost::Cost;
use crate::ledger::{
    EntryQuery, Intent, LedgerEntry, LedgerError, LedgerFuture, Outcome, TaskLedger,
};
use crate::task::kind::TaskKind;

/// A ledger in memory, for tests and sandboxes
/// ([`ClientBuilder::memory_ledger`](crate::client::ClientBuilder::memory_ledger)). It
/// protects against cancelled futures and lost answers within one process, not
/// against the process dying; the default ledger, a
/// [`SqliteLedger`](crate::ledger::SqliteLedger), does.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    entries: BTreeMap<i64, LedgerEntry>,
    runs: Vec<(TaskKind, Duration)>,
    /// Webhook delivery ids accepted (kept for the life of the process).
    deliveries: HashSet<String>,
    /// Learned running-task limits by key fingerprint.
    limits: HashMap<String, u32>,
}

/// Runs kept by the memory ledger; older ones are forgotten.
const MEMORY_RUNS: usize = 1000;

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        MemoryLedger::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut MemoryState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, LedgerError>) -> LedgerFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl TaskLedger for MemoryLedger {
    fn record_intent<'a>(&'a self, intent: &'a Intent) -> LedgerFuture<'a, i64> {
        ready(self.with(|state| {
            if let Some(marker) = &intent.marker {
                let holder = state
                    .entries
                    .values()
                    .find(|e| e.outcome.holds_marker() && e.intent.marker.as_ref() == Some(marker));
                if let Some(holder) = holder {
                    return Err(LedgerError::marker_in_use(marker, holder.id));
                }
            }
            let id = state.entries.keys().next_back().map_or(1, |last| last + 1);
            state.entries.insert(
                id,
                LedgerEntry {
                    id,
                    intent: intent.clone(),
                    outcome: Outcome::InFlight,
                    updated_at: SystemTime::now(),
                    cost: None,
                },
            );
            Ok(id)
        }))
    }

    fn record_outcome<'a>(&'a self, id: i64, outcome: &'a Outcome) -> LedgerFuture<'a, ()> {
        ready(self.with(|state| match state.entries.get_mut(&id) {
            Some(entry) => {
                entry.outcome = outcome.clone();
                entry.updated_at = SystemTime::now();
                Ok(())
            }
            None => Err(LedgerError::new(format!("no entry {id}"))),
        }))
    }

    fn record_finished<'a>(&'a self, task_id: &'a str, status: &'a str) -> LedgerFuture<'a, ()> {
        self.with(|state| {
            for entry in state.entries.values_mut() {
                if entry.task_id() == Some(task_id)
                    && !matches!(entry.outcome, Outcome::Finished { .. })
                {
                    entry.outcome = Outcome::Finished {
                        task_id: task_id.to_owned(),
                        status: status.to_owned(),
                    };
                    entry.updated_at = SystemTime::now();
                }
            }
        });
        ready(Ok(()))
    }

    fn dismiss(&self, id: i64) -> LedgerFuture<'_, ()> {
        ready(self.with(|state| match state.entries.get_mut(&id) {
            Some(entry) => {
                entry.outcome = Outcome::Dismissed {
                    task_id: entry.outcome.task_id().map(str::to_owned),
                };
                entry.updated_at = SystemTime::now();
                Ok(())
            }
            None => Err(LedgerError::new(format!("no entry {id}"))),
        }))
    }

    fn entries<'a>(&'a self, query: &'a EntryQuery) -> LedgerFuture<'a, Vec<LedgerEntry>> {
        ready(Ok(self.with(|state| {
            let matching = state.entries.values().rev().filter(|e| query.matches(e));
            let limit = if query.limit == 0 {
                usize::MAX
            } else {
                query.limit
            };
            matching.take(limit).cloned().collect()
        })))
    }

    fn record_run<'a>(&'a self, kind: &'a TaskKind, took: Duration) -> LedgerFuture<'a, ()> {
        self.with(|state| {
            state.runs.push((kind.clone(), took));
            let excess = state.runs.len().saturating_sub(MEMORY_RUNS);
            state.runs.drain(..excess);
        });
        ready(Ok(()))
    }

    fn runs(&self, limit: usize) -> LedgerFuture<'_, Vec<(TaskKind, Duration)>> {
        ready(Ok(self.with(|state| {
            let skip = state.runs.len().saturating_sub(limit);
            state.runs[skip..].to_vec()
        })))
    }

    fn record_cost<'a>(
        &'a self,
        task_id: &'a str,
        cost: &'a Cost,
        _billing_status: Option<&'a str>,
    ) -> LedgerFuture<'a, ()> {
        self.with(|state| {
            for entry in state.entries.values_mut() {
                if entry.task_id() == Some(task_id) {
                    entry.cost = Some(*cost);
                }
            }
        });
        ready(Ok(()))
    }

    fn learned_limit<'a>(&'a self, key: &'a str) -> LedgerFuture<'a, Option<u32>> {
        ready(Ok(self.with(|state| state.limits.get(key).copied())))
    }

    fn record_learned_limit<'a>(&'a self, key: &'a str, limit: u32) -> LedgerFuture<'a, ()> {
        self.with(|state| state.limits.insert(key.to_owned(), limit));
        ready(Ok(()))
    }

    fn accept_delivery<'a>(
        &'a self,
        delivery_id: &'a str,
        _task_id: &'a str,
    ) -> LedgerFuture<'a, bool> {
        ready(Ok(self.with(|state| {
            state.deliveries.insert(delivery_id.to_owned())
        })))
    }
}

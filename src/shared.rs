//! What every clone of a client shares: the transport, the policies, the ledger.
//!
//! A file of its own so that the task files (`submit`, `query`, `wait`) work on it
//! without knowing `Client`, and `client.rs` can delegate to them without circles.

use crate::ledger::slots::SlotClaim;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::ledger::LedgerEntry;
use crate::ledger::TaskLedger;
use crate::live::store::SchemaStore;
use crate::transport::request::Transport;
use crate::transport::retry::RetryPolicy;
use crate::wait::options::WaitOptions;
use crate::wait::query_slots::QuerySlots;
use crate::wait::schedule::PollSchedule;
use crate::webhook::wake::Wakers;

/// Runs for every submit outcome that carries a task id (accepted, or unknown with an
/// id seen), after the ledger recorded it (or gave up trying); see [`ClientBuilder::on_submitted`](crate::client::ClientBuilder::on_submitted).
pub type SubmittedHook =
    Arc<dyn Fn(LedgerEntry) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

pub(crate) struct Shared {
    pub(crate) transport: Transport,
    pub(crate) schedule: Arc<dyn PollSchedule>,
    pub(crate) retry: Arc<dyn RetryPolicy>,
    pub(crate) wait: WaitOptions,
    /// Bounds the status queries of all waits in flight at once.
    pub(crate) query_slots: QuerySlots,
    pub(crate) ledger: Arc<dyn TaskLedger>,
    pub(crate) on_submitted: Option<SubmittedHook>,
    /// Written into every intent: which client instance sent it.
    pub(crate) marker: String,
    /// Set once the schedule has learned the ledger's stored run times.
    pub(crate) primed: tokio::sync::OnceCell<()>,
    /// The waits in progress, by task id, for `Client::notify` to wake.
    pub(crate) wakers: Arc<Wakers>,
    /// Where live schema pages come from and are cached.
    pub(crate) schemas: SchemaStore,
    /// What a submit claims of a ledger that shares the team's slots (the team's key
    /// fingerprint, its limit, the lease).
    pub(crate) slot_claim: SlotClaim,
}

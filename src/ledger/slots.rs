//! Team-wide running-task slots: what keeps several instances of one program, each
//! with its own client, within the team's running-task limit together.
//!
//! A ledger that shares slots ([`TaskLedger::shares_slots`]; `PostgresLedger` does)
//! holds one row per slot of a team (the key's fingerprint). An intent is recorded
//! only together with a free slot, in one transaction ([`TaskLedger::claim_slot`]);
//! the slot is a lease, renewed by every status query of its task
//! ([`TaskLedger::renew_slot`]) and released when the task ends
//! ([`TaskLedger::release_slot`]) or its request proves nothing was created. A lease
//! nobody renews (its holder died, or stopped watching) is not freed blindly: whoever
//! takes it over ([`TaskLedger::take_over_slots`]) polls its task to the end, and only
//! a slot whose request never showed a task id is freed once its lease ran out.
//!
//! [`TaskLedger`]: super::TaskLedger
//! [`TaskLedger::shares_slots`]: super::TaskLedger::shares_slots
//! [`TaskLedger::claim_slot`]: super::TaskLedger::claim_slot
//! [`TaskLedger::renew_slot`]: super::TaskLedger::renew_slot
//! [`TaskLedger::release_slot`]: super::TaskLedger::release_slot
//! [`TaskLedger::take_over_slots`]: super::TaskLedger::take_over_slots

use std::time::Duration;

/// How long a slot stays held without a status query of its task before another
/// instance may take its task over: well above the longest pause between two polls
/// of a wait, so a live watcher always renews in time.
pub const DEFAULT_SLOT_LEASE: Duration = Duration::from_secs(120);

/// What a submit asks of a ledger that shares slots.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotClaim {
    /// The team: a one-way fingerprint of the API key (`Client::key_fingerprint`),
    /// never the key.
    pub team: String,
    /// Slots the team has: the running-task limit told, or (`None`) the one learned
    /// for `team` ([`TaskLedger::learned_limit`](super::TaskLedger::learned_limit)),
    /// else `default_limit`.
    pub limit: Option<u32>,
    /// The limit when none was told or learned (the lowest tier's).
    pub default_limit: u32,
    /// How long the lease lasts without a renewal.
    pub lease: Duration,
}

impl SlotClaim {
    /// A claim on one of `team`'s slots, `limit` of them (or the learned number).
    pub fn new(team: impl Into<String>, limit: Option<u32>, default_limit: u32) -> Self {
        SlotClaim {
            team: team.into(),
            limit,
            default_limit,
            lease: DEFAULT_SLOT_LEASE,
        }
    }

    /// The same claim with another lease.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
}

/// What became of a [`SlotClaim`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// A slot was free: the intent is recorded as entry `entry`, holding the slot.
    Admitted {
        /// The entry's id.
        entry: i64,
    },
    /// Every one of the team's `limit` slots is held: nothing was recorded.
    Full {
        /// The slots the team has, as the claim counted them.
        limit: u32,
    },
}

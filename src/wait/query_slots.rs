//! The client-wide bound on status queries in flight
//! ([`WaitOptions::queries_in_flight`](crate::wait::options::WaitOptions::queries_in_flight)).
//!
//! Every query in flight holds a connection with its read and write buffers (tens of
//! KiB), while a wait between queries holds only its small state: with 10,000 waits
//! whose queries all fall due at once, the slots are what keeps memory bounded.

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Slots for status queries; a query holds one from before it is sent until its
/// answer is read. First come, first served.
pub(crate) struct QuerySlots {
    slots: Semaphore,
}

impl QuerySlots {
    /// `n` slots (at least one; capped where tokio's semaphore ends, so no setting
    /// can panic).
    pub(crate) fn new(n: usize) -> Self {
        QuerySlots {
            slots: Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS)),
        }
    }

    /// A slot, or `None` when `deadline` passes first.
    pub(crate) async fn take(&self, deadline: Option<Instant>) -> Option<SemaphorePermit<'_>> {
        let acquire = self.slots.acquire();
        let permit = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, acquire).await.ok()?,
            None => acquire.await,
        };
        // The semaphore is never closed.
        permit.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_setting_makes_slots() {
        for n in [0, 1, 64, usize::MAX] {
            let slots = QuerySlots::new(n);
            assert!(slots.slots.available_permits() >= 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_house_gives_up_at_the_deadline() {
        let slots = QuerySlots::new(1);
        let held = slots.take(None).await.unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(3);
        assert!(slots.take(Some(deadline)).await.is_none());
        assert!(Instant::now() >= deadline);
        drop(held);
        assert!(slots.take(Some(deadline)).await.is_some());
    }
}

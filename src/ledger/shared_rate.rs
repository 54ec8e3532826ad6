//! The key's request rate shared by every instance on one ledger: a GCRA row per key
//! (its theoretical arrival time), taken in one statement by every request, submits
//! and polls alike, and pushed back by the server's 429 and `X-RateLimit-Reset`.
//!
//! Each client still paces itself (the transport's limiter, which passes every
//! request through this module's gate once it has its own token); the shared row keeps
//! instances that each believe they have the whole budget from spending it several
//! times over.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::TaskLedger;

/// One key's budget as a GCRA sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedRate {
    /// Time between two requests at the key's rate (a minute over its requests per
    /// minute, less the client's margin).
    pub interval: Duration,
    /// Requests that may go at once after a quiet while (the client's bucket).
    pub burst: u32,
}

impl SharedRate {
    /// A budget of one request every `interval`, `burst` at once.
    pub fn new(interval: Duration, burst: u32) -> Self {
        SharedRate {
            interval,
            burst: burst.max(1),
        }
    }

    /// The GCRA's tolerance: how far ahead of now the arrival time may run.
    pub fn tolerance(&self) -> Duration {
        // Saturating: a huge interval or burst must not panic.
        self.interval
            .checked_mul(self.burst - 1)
            .unwrap_or(Duration::MAX)
    }
}

type GateFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request budget shared with other clients, passed after the client's own pacing.
pub(crate) trait RateGate: Send + Sync + fmt::Debug {
    /// Takes one request now (`Duration::ZERO`), or says how long to wait first.
    fn admit(&self, rate: SharedRate) -> GateFuture<'_, Duration>;
    /// Holds every client's requests back for `pause` (a 429, `X-RateLimit-Reset`).
    fn push_back(&self, pause: Duration, rate: SharedRate) -> GateFuture<'_, ()>;
}

/// The ledger's shared rate as the limiter's gate, for the key whose fingerprint is
/// `key`.
pub(crate) struct LedgerGate {
    pub(crate) ledger: Arc<dyn TaskLedger>,
    pub(crate) key: String,
}

impl fmt::Debug for LedgerGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerGate").finish_non_exhaustive()
    }
}

impl RateGate for LedgerGate {
    fn admit(&self, rate: SharedRate) -> GateFuture<'_, Duration> {
        Box::pin(async move {
            match self.ledger.take_request(&self.key, &rate).await {
                Ok(wait) => wait,
                Err(e) => {
                    // The client's own pacing still holds: a ledger that cannot say
                    // must not stop status queries.
                    tracing::warn!("the shared request rate could not be read: {e}");
                    Duration::ZERO
                }
            }
        })
    }

    fn push_back(&self, pause: Duration, rate: SharedRate) -> GateFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self
                .ledger
                .push_back_requests(&self.key, pause, &rate)
                .await
            {
                tracing::warn!("the shared request rate could not be pushed back: {e}");
            }
        })
    }
}

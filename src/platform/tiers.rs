//! Modellix's limit tiers: set by a team's largest single top-up and kept for good
//! (the console's "Entitlements" page shows a team's). The running-task limit is in no
//! header, so a client that is not told starts from the lowest tier.

/// One tier of Modellix's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tier {
    /// The largest single top-up, in whole USD, from which the tier applies (0: under
    /// $10).
    pub top_up_usd: u32,
    /// Tasks the team may have running at once (shared by every key of the team).
    pub running_tasks: u32,
    /// Requests a minute per API key, status queries included.
    pub requests_per_minute: u32,
}

const fn tier(top_up_usd: u32, running_tasks: u32, requests_per_minute: u32) -> Tier {
    Tier {
        top_up_usd,
        running_tasks,
        requests_per_minute,
    }
}

/// Modellix's tiers, lowest first: under $10: 2 running tasks and 100 requests a
/// minute; $10: 10 / 100; $100: 20 / 200; $200: 30 / 300; $500: 50 / 500; $1,000:
/// 100 / 1,000.
///
/// ```
/// let lowest = modellix::TIERS[0];
/// assert_eq!((lowest.running_tasks, lowest.requests_per_minute), (2, 100));
/// assert_eq!(modellix::LOWEST_TIER_RUNNING_TASKS, lowest.running_tasks);
/// ```
pub const TIERS: &[Tier] = &[
    tier(0, 2, 100),
    tier(10, 10, 100),
    tier(100, 20, 200),
    tier(200, 30, 300),
    tier(500, 50, 500),
    tier(1000, 100, 1000),
];

/// The running-task limit of the lowest tier: what a client assumes unless told
/// ([`ClientBuilder::running_task_limit`](crate::ClientBuilder::running_task_limit)).
pub const LOWEST_TIER_RUNNING_TASKS: u32 = 2;

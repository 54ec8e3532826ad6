//! How many tasks a batch lets run at once: the running-task limit, told or learned.
//!
//! Told (`--concurrency N`): N, falling to what runs on "Concurrent limit exceeded"
//! and climbing back by one per ended task. Learned (no flag): start from what the
//! ledger learned for this key, else the lowest tier's 2; while no such 429 was ever
//! seen, probe one slot higher each time a task ends with every slot busy and jobs
//! waiting; after one, probe again only once a round of tasks (as many as the limit)
//! ended without another. A probe's 429 created nothing: the job is simply admitted
//! again later. The highest count that ran without a 429 is what the ledger keeps.

use modellix::LOWEST_TIER_RUNNING_TASKS;

/// The most any tier allows (the $1,000 tier).
const TOP_TIER: u32 = 100;

#[derive(Debug, Clone)]
pub struct RunningLimit {
    /// Tasks allowed to run at once now.
    now: u32,
    /// The most `now` may reach: the flag, else the top tier.
    ceiling: u32,
    /// Learning (no flag given).
    learning: bool,
    /// The most tasks that ran at once without a 429.
    proven: u32,
    /// A "Concurrent limit exceeded" was seen in this run.
    refused: bool,
    /// The fewest tasks this batch counted running at a refusal: the server's limit
    /// is at most that (a wait still polling a task that just ended counts it).
    refused_at: Option<u32>,
    /// Tasks ended since the last refusal or probe.
    ended_since: u32,
}

impl RunningLimit {
    /// `--concurrency n`: that many, never more.
    pub fn told(n: u32) -> Self {
        RunningLimit {
            now: n,
            ceiling: n,
            learning: false,
            proven: 0,
            refused: false,
            refused_at: None,
            ended_since: 0,
        }
    }

    /// Learned: from `stored` (the ledger's, for this key), else the lowest tier's.
    pub fn learned(stored: Option<u32>) -> Self {
        let start = stored
            .unwrap_or(LOWEST_TIER_RUNNING_TASKS)
            .clamp(1, TOP_TIER);
        RunningLimit {
            now: start,
            ceiling: TOP_TIER,
            learning: true,
            proven: 0,
            refused: false,
            refused_at: None,
            ended_since: 0,
        }
    }

    pub fn now(&self) -> u32 {
        self.now
    }

    /// The most that may run (for messages and the resume command).
    pub fn most(&self) -> u32 {
        if self.learning {
            self.now
        } else {
            self.ceiling
        }
    }

    pub fn is_learning(&self) -> bool {
        self.learning
    }

    /// A submit was accepted with `running` tasks running (itself included).
    pub fn accepted(&mut self, running: u32) {
        self.proven = self.proven.max(running);
    }

    /// "Concurrent limit exceeded" with `running` tasks running.
    pub fn refused(&mut self, running: u32) {
        self.now = running.max(1);
        self.refused = true;
        self.refused_at = Some(self.refused_at.map_or(self.now, |r| r.min(self.now)));
        self.ended_since = 0;
    }

    /// A task ended; `busy` says every slot was in use and jobs were waiting.
    pub fn ended(&mut self, busy: bool) {
        self.ended_since = self.ended_since.saturating_add(1);
        if !self.learning {
            self.now = (self.now + 1).min(self.ceiling);
            return;
        }
        if self.now < self.proven {
            // Back to what is known to run.
            self.now += 1;
            return;
        }
        let a_while = !self.refused || self.ended_since >= self.now;
        if busy && a_while && self.now < self.ceiling {
            self.now += 1;
            self.ended_since = 0;
        }
    }

    /// What the ledger should keep for this key, when learning taught something.
    pub fn to_keep(&self) -> Option<u32> {
        let proven = match self.refused_at {
            Some(at) => self.proven.min(at),
            None => self.proven,
        };
        (self.learning && proven > 0).then_some(proven)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_climbs_until_refused_then_holds() {
        let mut limit = RunningLimit::learned(None);
        assert_eq!(limit.now(), 2);
        for running in 1..=10 {
            limit.accepted(running);
            limit.ended(true);
        }
        assert!(limit.now() > 10);
        limit.refused(10);
        assert_eq!(limit.now(), 10);
        limit.ended(true);
        assert_eq!(limit.now(), 10, "no probe right after a refusal");
        for _ in 0..10 {
            limit.ended(true);
        }
        assert_eq!(limit.now(), 11, "a round later, one probe");
        assert_eq!(limit.to_keep(), Some(10));
        assert_eq!(RunningLimit::learned(Some(10)).now(), 10);
        let mut told = RunningLimit::told(3);
        told.refused(2);
        told.ended(true);
        told.ended(true);
        assert_eq!(told.now(), 3);
        assert_eq!(told.to_keep(), None);
    }
}

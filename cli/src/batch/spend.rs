//! `--max-cost`: whether the next job may start within what this run may spend.
//!
//! A job starts only if the amount billed so far, plus a bound for every task still
//! running, plus a bound for the new one, stays within the cap. A task's bound is the
//! largest amount billed so far in this run for its model, else the catalog's highest
//! price when its unit is per item (a per-second or per-character price says nothing
//! of a whole task). A model with no bound runs one task at a time until one is billed.

use std::collections::BTreeMap;

use modellix::{Client, Cost};

#[derive(Debug, Default)]
pub struct Spend {
    /// `--max-cost`, if given.
    cap: Option<Cost>,
    /// The largest amount billed per model in this run.
    largest: BTreeMap<String, Cost>,
    /// The catalog's highest per-item price per model.
    catalog: BTreeMap<String, Cost>,
    /// The running tasks' models, by job index.
    open: BTreeMap<usize, String>,
    /// The cap kept a job from starting.
    pub capped: bool,
}

impl Spend {
    pub fn new(cap: Option<Cost>) -> Self {
        Spend {
            cap,
            ..Spend::default()
        }
    }

    /// Reads the catalog's prices once; without them, bounds come from what is billed.
    pub async fn read_catalog(&mut self, client: &Client) {
        let Ok(models) = client.models().await else {
            return;
        };
        for entry in models {
            let Some(price) = &entry.pricing else {
                continue;
            };
            let per_item = price.unit.as_deref().is_none_or(|u| {
                u.ends_with("/img") || u.ends_with("/image") || u.ends_with("/request")
            });
            if let (true, Some(highest)) = (per_item, price.highest()) {
                self.catalog.insert(entry.slug.clone(), highest);
            }
        }
    }

    fn bound(&self, model: &str) -> Option<Cost> {
        self.largest.get(model).or(self.catalog.get(model)).copied()
    }

    /// Whether a task of `model` may start now, `billed` having been billed so far.
    pub fn may_start(&self, billed: Cost, model: &str) -> bool {
        let Some(cap) = self.cap else {
            return true;
        };
        let mut committed = billed;
        for running in self.open.values() {
            match self.bound(running) {
                Some(b) => committed = committed.checked_add(b).unwrap_or(committed),
                // Its cost is unknown: no second task of that model beside it.
                None if running == model => return false,
                None => {}
            }
        }
        let next = self.bound(model).unwrap_or(Cost::ZERO);
        committed
            .checked_add(next)
            .is_some_and(|total| total <= cap)
            && committed < cap
    }

    pub fn started(&mut self, index: usize, model: &str) {
        self.open.insert(index, model.to_owned());
    }

    pub fn ended(&mut self, index: usize) {
        self.open.remove(&index);
    }

    pub fn running(&self) -> usize {
        self.open.len()
    }

    /// A task of `model` was billed `cost`.
    pub fn billed(&mut self, model: &str, cost: Cost) {
        let largest = self.largest.entry(model.to_owned()).or_insert(cost);
        if cost > *largest {
            *largest = cost;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cost {
        s.parse().unwrap()
    }

    #[test]
    fn a_job_starts_only_within_the_cap() {
        let mut spend = Spend::new(Some(c("1.00")));
        assert!(
            spend.may_start(Cost::ZERO, "a/b"),
            "unknown bound, none running"
        );
        spend.started(0, "a/b");
        assert!(!spend.may_start(Cost::ZERO, "a/b"), "one unknown at a time");
        assert!(spend.may_start(Cost::ZERO, "c/d"), "another model");
        spend.ended(0);
        spend.billed("a/b", c("0.30"));
        spend.started(1, "a/b");
        spend.started(2, "a/b");
        // 0.30 billed + 2 × 0.30 running + 0.30 next = 1.20 > 1.00
        assert!(!spend.may_start(c("0.30"), "a/b"));
        // 0.10 billed + 0.60 running + 0.30 = 1.00: within
        assert!(spend.may_start(c("0.10"), "a/b"));
        assert!(Spend::new(None).may_start(c("1000"), "a/b"));
        let spent = Spend::new(Some(c("1.00")));
        assert!(!spent.may_start(c("1.00"), "x/y"), "nothing left");
    }
}

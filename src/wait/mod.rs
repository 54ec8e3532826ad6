//! Waiting for tasks: poll and retry policies, the learning schedule, the bound on
//! queries in flight, and the poll loop behind `wait`, `updates` and `wait_all`.
//!
//! May use `task` (one query, the record, the kind), `transport` (retry rounds),
//! `error`, `time` and the client's shared state.

pub(crate) mod learning;
pub(crate) mod options;
pub(crate) mod poll_loop;
pub(crate) mod query_slots;
pub(crate) mod schedule;

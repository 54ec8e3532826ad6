//! What an earlier run left of a job, from the ledger.

use crate::failure::Outcome;
use crate::session::Session;

use super::jobs::Job;

/// A job's standing before this run.
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// Never sent, or refused with nothing created: send it.
    New,
    /// Ended well before; its results were saved then.
    Done { task_id: String },
    /// Accepted and not known to have ended: wait for it.
    Running { task_id: String },
    /// Sent without a known outcome: never resent blindly.
    Unknown {
        task_id: Option<String>,
        reason: String,
    },
}

pub async fn lookup(_session: &Session, _job: &Job) -> Outcome<Prior> {
    Ok(Prior::New)
}

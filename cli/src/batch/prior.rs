//! What an earlier run left of a job, from the ledger entries under its marker.

use modellix::{EntryQuery, LedgerEntry, Outcome as Recorded};

use crate::failure::{Failure, Outcome};
use crate::session::Session;

use super::jobs::Job;

/// A job's standing before this run.
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// Never sent, or refused or not sent with nothing created: send it.
    New,
    /// Ended before (and, when it succeeded, its results were saved): skip it.
    Ended { task_id: String, status: String },
    /// Accepted (or its outcome unknown with its id seen): wait for it by id.
    Running { task_id: String },
    /// Sent without a known outcome and no id, or checked and dismissed by the user:
    /// listed, never resent blindly.
    Unknown {
        task_id: Option<String>,
        reason: String,
    },
}

pub async fn lookup(session: &Session, job: &Job) -> Outcome<Prior> {
    let entries = session
        .client
        .ledger()
        .entries(&EntryQuery::marker(job.marker.clone()))
        .await
        .map_err(|e| Failure::other(format!("cannot read the ledger: {}", e.message())))?;
    // Newest first: a refusal followed by a resend reads as the resend.
    Ok(entries.first().map_or(Prior::New, standing))
}

fn standing(entry: &LedgerEntry) -> Prior {
    match &entry.outcome {
        Recorded::Rejected { .. } | Recorded::NotSent { .. } => Prior::New,
        Recorded::Finished { task_id, status } => Prior::Ended {
            task_id: task_id.clone(),
            status: status.clone(),
        },
        Recorded::Accepted { task_id }
        | Recorded::Unknown {
            task_id: Some(task_id),
            ..
        } => Prior::Running {
            task_id: task_id.clone(),
        },
        _ => Prior::Unknown {
            task_id: entry.task_id().map(str::to_owned),
            reason: entry.next_step(),
        },
    }
}

//! What an earlier run left of a job, from the ledger entries under its marker and
//! under the markers of its resends (`<marker>#resend-1`, `#resend-2`, …).

use std::time::{Duration, SystemTime};

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
    /// Its intent is recorded and nothing since, at `since`: another process on a
    /// shared ledger may be sending it right now; long ago, it died sending it
    /// ([`Prior::settled`] makes that an unknown outcome).
    Sending {
        entry: i64,
        since: SystemTime,
        reason: String,
    },
    /// Sent without a known outcome and no id: listed, never resent blindly.
    Unknown {
        task_id: Option<String>,
        entry: i64,
        reason: String,
    },
    /// Checked and dismissed by the user (`modellix ledger dismiss`): not an unknown
    /// any more, and not sent again unless asked (`--resend`).
    Dismissed { entry: i64 },
    /// The job's id is recorded with another model or body: another job (or an
    /// edited one) holds the name, and sending this one could bill it twice or skip it.
    Conflict {
        entry: i64,
        model_id: String,
        body_digest: String,
    },
}

impl Prior {
    /// An intent left without an outcome for longer than `grace` is an unknown
    /// outcome; a younger one may still be being sent.
    pub fn settled(self, grace: Duration) -> Prior {
        match self {
            Prior::Sending {
                entry,
                since,
                reason,
            } if since.elapsed().unwrap_or_default() >= grace => Prior::Unknown {
                task_id: None,
                entry,
                reason,
            },
            other => other,
        }
    }
}

/// A job's standing and how many times it was resent.
#[derive(Debug, Clone)]
pub struct Found {
    pub prior: Prior,
    pub resends: usize,
}

/// The marker of the `n`-th resend of a job.
pub fn resend_marker(job: &Job, n: usize) -> String {
    format!("{}#resend-{n}", job.marker)
}

pub async fn lookup(session: &Session, job: &Job) -> Outcome<Found> {
    let mut entries = read(session, &job.marker).await?;
    if let Some(legacy) = job.legacy_marker.as_deref().filter(|_| entries.is_empty()) {
        // Written by an older build under the line's marker: the same job only if
        // that line held this very request.
        let digest = job.body_digest();
        entries = read(session, legacy).await?;
        entries
            .retain(|e| e.intent.body_digest == digest && e.intent.model_id == job.model.model_id);
    }
    let mut resends = 0;
    // A resend's entries stand for the job once there are any.
    loop {
        let next = read(session, &resend_marker(job, resends + 1)).await?;
        if next.is_empty() {
            break;
        }
        entries = next;
        resends += 1;
    }
    let prior = match conflict(job, &entries) {
        Some(conflict) => conflict,
        // Newest first: a refusal followed by a resend reads as the resend.
        None => entries.first().map_or(Prior::New, |e| standing(session, e)),
    };
    Ok(Found { prior, resends })
}

/// Whether no entry holds `marker` yet.
pub async fn is_free(session: &Session, marker: &str) -> Outcome<bool> {
    Ok(read(session, marker).await?.is_empty())
}

async fn read(session: &Session, marker: &str) -> Outcome<Vec<LedgerEntry>> {
    session
        .client
        .ledger()
        .entries(&EntryQuery::marker(marker.to_owned()))
        .await
        .map_err(|e| Failure::other(format!("cannot read the ledger: {}", e.message())))
}

/// A named job whose newest send that may have created a task was of another model
/// or body. Refusals and requests never sent created nothing: a fixed body may follow.
fn conflict(job: &Job, entries: &[LedgerEntry]) -> Option<Prior> {
    if !job.named {
        // The marker is the content itself.
        return None;
    }
    let sent = entries.iter().find(|e| {
        !matches!(
            e.outcome,
            Recorded::Rejected { .. } | Recorded::NotSent { .. }
        )
    })?;
    (sent.intent.model_id != job.model.model_id || !job.sends_digest(&sent.intent.body_digest))
        .then(|| Prior::Conflict {
            entry: sent.id,
            model_id: sent.intent.model_id.clone(),
            body_digest: sent.intent.body_digest.clone(),
        })
}

fn standing(session: &Session, entry: &LedgerEntry) -> Prior {
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
        Recorded::Dismissed { .. } => Prior::Dismissed { entry: entry.id },
        Recorded::InFlight => Prior::Sending {
            entry: entry.id,
            since: entry.updated_at,
            reason: crate::cmd::ledger::next_step(entry, &session.global),
        },
        _ => Prior::Unknown {
            task_id: entry.task_id().map(str::to_owned),
            entry: entry.id,
            reason: crate::cmd::ledger::next_step(entry, &session.global),
        },
    }
}

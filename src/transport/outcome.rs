//! What an answer to a request that creates something (a paid submit, an upload)
//! proves, decided once: nothing was sent, nothing was created, something was
//! created, or nobody knows.
//!
//! Status queries read answers differently (a 502 there is only "ask again"), so they
//! do not come here.

use crate::transport::request::{Answer, Failure, Stage};

/// Statuses that prove the server created nothing: the request was refused as it
/// stood (bad body, key, balance, size, type, or a rate or concurrency limit).
pub(crate) const REJECTING: &[u16] = &[400, 401, 402, 403, 404, 405, 413, 415, 422, 429];

/// Whether an answer with `status` proves nothing was created.
pub(crate) fn proves_nothing_created(status: u16) -> bool {
    REJECTING.contains(&status)
}

/// What one attempt at a creating request proves.
#[derive(Debug)]
pub(crate) enum Proof {
    /// It never left (no connection was made): nothing was created; sending it again
    /// is safe.
    NotSent(Failure),
    /// Refused with a status of [`REJECTING`]: nothing was created.
    Rejected(Answer),
    /// A 2xx answer: the server says it created the thing; the caller still reads the
    /// body for its id (a 2xx without one is unknown).
    Accepted(Answer),
    /// It may have been created: keep whatever id was seen and check before sending
    /// again.
    Unknown(Unproven),
}

/// Why a [`Proof::Unknown`] proves nothing.
#[derive(Debug)]
pub(crate) enum Unproven {
    /// Sent (or perhaps sent) and no complete answer came back.
    Lost(Failure),
    /// Answered with a status that says neither: a redirect (never followed: it
    /// would send the request a second time), a 5xx, 408, 409, any other.
    Answered(Answer),
}

impl Proof {
    /// Classifies the result of one send.
    pub(crate) fn of(sent: Result<Answer, Failure>) -> Proof {
        match sent {
            Err(failure) if failure.stage == Stage::NotSent => Proof::NotSent(failure),
            Err(failure) => Proof::Unknown(Unproven::Lost(failure)),
            Ok(answer) if answer.is_success() => Proof::Accepted(answer),
            Ok(answer) if proves_nothing_created(answer.status) => Proof::Rejected(answer),
            Ok(answer) => Proof::Unknown(Unproven::Answered(answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> Result<Answer, Failure> {
        Ok(Answer {
            status,
            headers: Default::default(),
            body: Vec::new(),
            request_id: None,
            location: None,
        })
    }

    fn failure(stage: Stage) -> Result<Answer, Failure> {
        Err(Failure {
            stage,
            reason: "x".into(),
            status: None,
            partial: Vec::new(),
            too_large: false,
        })
    }

    #[test]
    fn every_status_has_one_meaning() {
        for status in 100..600u16 {
            let proof = Proof::of(answer(status));
            let want = match status {
                200..=299 => "accepted",
                400 | 401 | 402 | 403 | 404 | 405 | 413 | 415 | 422 | 429 => "rejected",
                _ => "unknown",
            };
            let got = match proof {
                Proof::Accepted(_) => "accepted",
                Proof::Rejected(_) => "rejected",
                Proof::Unknown(Unproven::Answered(_)) => "unknown",
                other => panic!("{status}: {other:?}"),
            };
            assert_eq!(got, want, "HTTP {status}");
        }
        assert!(matches!(
            Proof::of(failure(Stage::NotSent)),
            Proof::NotSent(_)
        ));
        assert!(matches!(
            Proof::of(failure(Stage::MaybeSent)),
            Proof::Unknown(Unproven::Lost(_))
        ));
    }
}

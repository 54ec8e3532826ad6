//! The one request path every API call takes (origin check, auth, no redirects, the
//! client-wide limiter, deadlines, capped reads), what an answer to a creating request
//! proves (`outcome`), the TLS provider, and the lenient decoding of answers.
//!
//! May use `redact`, `time`, `wait::schedule::Backoff` (the shape of retry pauses) and
//! the generated answer types; knows nothing of tasks, the ledger or the command line.

pub(crate) mod lenient;
pub(crate) mod outcome;
pub(crate) mod ratelimit;
pub(crate) mod request;
pub(crate) mod retry;
pub(crate) mod tls;

//! Per-wait settings: the deadline, how many tasks `wait_all` watches at once, and the
//! client-wide bound on status queries in flight.

use std::time::Duration;

/// Per-wait settings.
///
/// ```
/// use std::time::Duration;
/// use modellix::WaitOptions;
///
/// # fn main() -> Result<(), modellix::ConfigError> {
/// let client = modellix::Client::builder()
///     .api_key("sk-example")
///     .wait_options(WaitOptions::deadline(Duration::from_secs(1800)).with_concurrency(64))
///     .build()?;
/// assert_eq!(WaitOptions::default().deadline, Some(Duration::from_secs(600)));
/// assert_eq!(WaitOptions::forever().deadline, None);
/// assert_eq!(WaitOptions::default().queries_in_flight, 64);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long (default 10 minutes); `None` waits forever.
    pub deadline: Option<Duration>,
    /// Tasks waited for at once by `wait_all` (default 32).
    pub concurrency: usize,
    /// Status queries the client's waits have in flight at once, all waits together
    /// (default 64); a query due while all are busy waits its turn. Each query in
    /// flight holds a connection and its buffers, so this bounds a client's memory
    /// however many tasks it waits for. Read once, from the options given to
    /// [`ClientBuilder::wait_options`](crate::client::ClientBuilder::wait_options); the
    /// options of a single wait do not change it.
    pub queries_in_flight: usize,
}

/// Default [`WaitOptions::queries_in_flight`]: far above what Modellix's rate limit
/// lets a key use, small enough that 10,000 waits fit in well under 200 MB.
const QUERIES_IN_FLIGHT: usize = 64;

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            deadline: Some(Duration::from_secs(600)),
            concurrency: 32,
            queries_in_flight: QUERIES_IN_FLIGHT,
        }
    }
}

impl WaitOptions {
    /// The defaults with another deadline.
    pub fn deadline(deadline: Duration) -> Self {
        WaitOptions {
            deadline: Some(deadline),
            ..WaitOptions::default()
        }
    }

    /// Waits until the task finishes, however long it takes. Modellix has no cancel
    /// endpoint: a task that never finishes keeps this wait alive.
    pub fn forever() -> Self {
        WaitOptions {
            deadline: None,
            ..WaitOptions::default()
        }
    }

    /// The same options with `concurrency` waits at a time for `wait_all` and
    /// `wait_each` (at least one).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The same options with at most `queries` status queries in flight at once, over
    /// all the client's waits (at least one; see [`WaitOptions::queries_in_flight`]).
    ///
    /// ```
    /// use modellix::WaitOptions;
    ///
    /// # fn main() -> Result<(), modellix::ConfigError> {
    /// // 10,000 tasks waited for together, 256 queries at a time.
    /// let client = modellix::Client::builder()
    ///     .api_key("sk-example")
    ///     .wait_options(WaitOptions::default().with_concurrency(10_000).with_queries_in_flight(256))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn with_queries_in_flight(mut self, queries: usize) -> Self {
        self.queries_in_flight = queries.max(1);
        self
    }
}

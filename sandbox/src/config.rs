//! How a sandbox behaves: address, key, task timing, failures and faults.

use std::fmt;
use std::time::Duration;

use crate::faults::FaultPlan;

/// The API key a sandbox accepts unless told otherwise. Not a secret: it only opens
/// the local sandbox.
pub const DEFAULT_API_KEY: &str = "sk-sandbox-local";

/// How long a simulated task takes before it finishes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Timing {
    /// Finished on the first query (the default; best for tests).
    Instant,
    /// Counted in queries rather than time, so tests see every status deterministically:
    /// the first `pending` queries answer `pending`, the next `processing` answer
    /// `processing`, the rest the final status.
    Polls {
        /// Queries answered `pending`.
        pending: u32,
        /// Queries answered `processing` after those.
        processing: u32,
    },
    /// Every task takes this long, whatever it asked for.
    Fixed(Duration),
    /// A realistic time derived from the request's `duration` and `resolution`,
    /// multiplied by this factor (`1.0` is real-world speed, `0.01` a hundred times
    /// faster). See [`realistic_duration`](crate::realistic_duration).
    Scaled(f64),
}

/// Which tasks end in failure.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Failures {
    /// Every task succeeds (the default).
    Never,
    /// Every task fails.
    Always,
    /// This share of tasks (0.0 to 1.0) fails, drawn from the seeded generator.
    Share(f64),
}

/// The limits a sandbox enforces (see limits.rs); all off unless set on the builder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Limits {
    pub(crate) rpm: Option<u32>,
    pub(crate) concurrency: Option<u32>,
    pub(crate) time_scale: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            rpm: None,
            concurrency: None,
            time_scale: 1.0,
        }
    }
}

/// Everything a [`Sandbox`](crate::Sandbox) can be told; build one with
/// [`Sandbox::builder`](crate::Sandbox::builder).
#[derive(Clone)]
pub struct SandboxConfig {
    pub(crate) port: u16,
    pub(crate) api_key: String,
    pub(crate) require_auth: bool,
    pub(crate) timing: Timing,
    pub(crate) spread: f64,
    pub(crate) failures: Failures,
    pub(crate) seed: u64,
    pub(crate) faults: FaultPlan,
    // Set through the builder methods in limits.rs.
    pub(crate) limits: Limits,
    // Set through `schema_page` in schema_pages.rs.
    pub(crate) schema_pages: Vec<(String, serde_json::Value)>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            api_key: DEFAULT_API_KEY.to_owned(),
            require_auth: true,
            timing: Timing::Instant,
            spread: 0.0,
            failures: Failures::Never,
            seed: 0,
            faults: FaultPlan::default(),
            limits: Limits::default(),
            schema_pages: Vec::new(),
        }
    }
}

// Hand-written so that the key never reaches a log through `{:?}`.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("port", &self.port)
            .field("api_key", &"<redacted>")
            .field("require_auth", &self.require_auth)
            .field("timing", &self.timing)
            .field("spread", &self.spread)
            .field("failures", &self.failures)
            .field("seed", &self.seed)
            .field("faults", &self.faults)
            .field("limits", &self.limits)
            .finish()
    }
}

impl SandboxConfig {
    /// Listens on this port of 127.0.0.1; `0` (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The Bearer key the sandbox accepts (default [`DEFAULT_API_KEY`]).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// When false, any key or none is accepted (default true).
    pub fn require_auth(mut self, require: bool) -> Self {
        self.require_auth = require;
        self
    }

    /// How long tasks take (default [`Timing::Instant`]).
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// Random spread of task durations: `0.2` makes each task take between 80% and
    /// 120% of its [`Timing`] duration, drawn from the seeded generator (default 0).
    /// Has no effect on [`Timing::Instant`] and [`Timing::Polls`].
    pub fn spread(mut self, spread: f64) -> Self {
        self.spread = spread.clamp(0.0, 1.0);
        self
    }

    /// Which tasks fail (default [`Failures::Never`]).
    pub fn failures(mut self, failures: Failures) -> Self {
        self.failures = failures;
        self
    }

    /// Seed of every random choice (spread, failures, random faults); the same seed
    /// and the same order of requests give the same behaviour (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The faults to inject; see [`FaultPlan`].
    pub fn faults(mut self, faults: FaultPlan) -> Self {
        self.faults = faults;
        self
    }

    /// Starts a sandbox with this configuration.
    pub async fn start(self) -> std::io::Result<crate::Sandbox> {
        crate::Sandbox::start_with(self).await
    }
}

//! The crate's error type.

use std::fmt;

/// A client that could not be built; says which setting is wrong and what is expected.
///
/// The API key itself never appears in this error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting (`api_key`, `base_url`, `MODELLIX_API_KEY`, …).
    pub field: &'static str,
    /// What is wrong and what to do.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid client setting {}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}

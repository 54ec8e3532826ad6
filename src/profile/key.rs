//! [`ApiKey`]: the API key in memory, wiped when dropped and never printed.

use std::fmt;

use zeroize::Zeroizing;

/// An API key. Its memory is overwritten when it is dropped, and neither `Debug` nor any
/// other formatting shows it: only [`ApiKey::expose`] gives the text, for the one header
/// that carries it and for the store that keeps it.
///
/// ```
/// let key = modellix::ApiKey::new("sk-example");
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert_eq!(key.expose(), "sk-example");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Wraps a key (taking the string: no copy is left behind).
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Zeroizing::new(key.into()))
    }

    /// The key's text. Never print, log or store it anywhere but in a credential store.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

//! Server text a tool shows that the library did not clean: the key taken out first.

use crate::redact::Redactor;

/// `text` with `key` and any `Bearer <token>` replaced by `<redacted>`, as the library
/// cleans every error answer it keeps. For tools that show other server text, such as a
/// failed task's `error` or a whole status answer, which a server may echo the key into.
///
/// ```
/// let shown = modellix::redact_key("invalid key sk-live-123456 (Bearer sk-live-123456)", "sk-live-123456");
/// assert_eq!(shown, "invalid key <redacted> (Bearer <redacted>)");
/// ```
pub fn redact_key(text: &str, key: &str) -> String {
    Redactor::new(Some(key)).text(text)
}

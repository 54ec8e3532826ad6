//! Keeping secrets out of text: the API key, bearer tokens and URL queries never reach
//! an error, a log line or a panic message.
//!
//! Server text is untrusted: a gateway may echo the request's `Authorization` header
//! into its error page, so every message taken from an answer passes through here.

use std::fmt;
use std::sync::Arc;

/// A one-way fingerprint of an API key (`key:` and 16 hex digits of a SHA-256 over a
/// fixed prefix and the key): names the key in the ledger (its learned limits) without
/// holding any part of it. Keys are long random strings, so the fingerprint cannot be
/// turned back into one.
pub(crate) fn key_fingerprint(key: &str) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(b"modellix key fingerprint\0");
    hash.update(key.as_bytes());
    let digest = hash.finalize();
    let mut out = String::with_capacity(4 + 16);
    out.push_str("key:");
    for byte in &digest[..8] {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// What replaces a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Removes the client's key (and anything shaped like a bearer token) from text.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    key: Option<Arc<str>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor")
    }
}

impl Redactor {
    pub(crate) fn new(key: Option<&str>) -> Self {
        Redactor {
            // A key shorter than this would redact ordinary words; such keys are
            // refused at configuration anyway.
            key: key.filter(|k| k.len() >= 4).map(Arc::from),
        }
    }

    /// `text` with the key and any `Bearer <token>` replaced.
    pub(crate) fn text(&self, text: &str) -> String {
        let mut out = match &self.key {
            Some(key) if text.contains(key.as_ref()) => text.replace(key.as_ref(), REDACTED),
            _ => text.to_owned(),
        };
        if out.contains("earer ") || out.contains("EARER ") {
            out = redact_bearer(&out);
        }
        out
    }

    /// `text` redacted, then cut to `max_chars` characters (`…` marks a cut). Always in
    /// this order: cutting first could split the key and leave its first characters,
    /// which no longer match the key, in the text.
    pub(crate) fn excerpt(&self, text: &str, max_chars: usize) -> String {
        cut(&self.text(text), max_chars)
    }

    /// A URL from server text (a `Location` header) fit for messages: redacted, then
    /// without credentials, query or fragment (see [`raw_url_for_display`]).
    pub(crate) fn url(&self, raw: &str) -> String {
        raw_url_for_display(&self.text(raw))
    }
}

/// `text` cut to `max_chars` characters, `…` appended when anything was cut.
pub(crate) fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => {
            let mut out = text[..at].to_owned();
            out.push('…');
            out
        }
        None => text.to_owned(),
    }
}

/// Replaces the token after every case-insensitive `bearer ` with [`REDACTED`].
fn redact_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = lower.get(search..).and_then(|s| s.find("bearer ")) {
        let token_start = search + found + "bearer ".len();
        let token_len = text.get(token_start..).map_or(0, |t| {
            t.find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',' || c == '<')
                .unwrap_or(t.len())
        });
        if token_len > 0 {
            // `token_start` and `rest` are char boundaries: ASCII matches and ends.
            out.push_str(&text[rest..token_start]);
            out.push_str(REDACTED);
            rest = token_start + token_len;
        }
        search = token_start + token_len.max(1);
        if search > text.len() {
            break;
        }
    }
    out.push_str(text.get(rest..).unwrap_or(""));
    out
}

/// A URL fit for messages: no credentials, no query, no fragment.
pub(crate) fn url_for_display(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let hidden_query = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    let mut text = shown.to_string();
    if hidden_query {
        text.push_str("?…");
    }
    text
}

/// A raw URL string fit for messages, whether or not it parses.
pub(crate) fn raw_url_for_display(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(url) => url_for_display(&url),
        Err(_) => {
            // Unparsable: keep the part before any query, credentials or fragment.
            let cut = raw.find(['?', '#', '@']).unwrap_or(raw.len());
            let mut shown: String = raw[..cut]
                .chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect();
            if cut < raw.len() || shown.len() < cut {
                shown.push('…');
            }
            shown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_bearer_tokens_are_removed() {
        let r = Redactor::new(Some("sk-secret-123"));
        let table = [
            ("echo sk-secret-123 here", "echo <redacted> here"),
            (
                "Authorization: Bearer sk-other",
                "Authorization: Bearer <redacted>",
            ),
            (
                "authorization: bearer abc, x",
                "authorization: bearer <redacted>, x",
            ),
            ("no secrets", "no secrets"),
            ("bearer ", "bearer "),
            ("é Bearer é", "é Bearer <redacted>"),
        ];
        for (input, want) in table {
            assert_eq!(r.text(input), want, "{input}");
        }
    }

    #[test]
    fn urls_lose_queries_and_credentials() {
        assert_eq!(
            raw_url_for_display("https://u:p@api.example.com/x?key=sk-1#f"),
            "https://api.example.com/x?…"
        );
        assert_eq!(raw_url_for_display("not a url?key=sk"), "not a url…");
    }
}

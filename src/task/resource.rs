//! One output of a task (`result.resources[]`): a file at a URL, or content the
//! resource carries itself (a speech-to-text transcript), with every field kept.

use crate::types::Resource;

/// Fields a resource's text may come in, in the order they are read. The transcript's
/// shape is not documented: `text` is what speech-to-text models answer with as far as
/// seen, `transcript` and `content` are read too.
const TEXT_FIELDS: &[&str] = &["text", "transcript", "content"];

impl Resource {
    /// The text this resource carries, such as the transcript of a speech-to-text task:
    /// its `text` field (else `transcript`, else `content`) when that is a string.
    /// Kept in [`Resource::extra`] with every other field the answer gave.
    ///
    /// ```
    /// let resource: modellix::types::Resource =
    ///     serde_json::from_str(r#"{"type":"text","text":"Hello.","language":"en"}"#).unwrap();
    /// assert_eq!(resource.text(), Some("Hello."));
    /// assert_eq!(resource.url, None);
    /// assert_eq!(resource.extra["language"], "en");
    /// ```
    pub fn text(&self) -> Option<&str> {
        TEXT_FIELDS
            .iter()
            .find_map(|field| self.extra.get(*field)?.as_str())
    }

    /// True when the resource is a file to download (it has a URL); otherwise its
    /// content is in the resource itself ([`Resource::text`], [`Resource::extra`]).
    pub fn is_file(&self) -> bool {
        self.url.is_some()
    }

    /// The fields of the answer this build has no typed field for, as given (for
    /// example a transcript's `language` or `segments`).
    pub fn extra_fields(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.extra
    }
}

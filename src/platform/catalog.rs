//! The model catalog (`GET /api/v1/models`): which models Modellix offers now, and
//! which of them this build has a typed request for.
//!
//! Entries are decoded with the type generated from `spec/modellix/models.json`
//! (`{"models":[{"slug","type","docs_url","description", …}]}`, with no
//! `code/message/data` envelope) one by one and leniently: every field but `slug` is
//! optional, a mistyped one is mended or dropped, unknown fields are ignored, and an
//! entry that cannot be read is skipped, since the catalog changes often.

use reqwest::Method;

use crate::error::Error;
use crate::generated::OPERATIONS;
use crate::platform::endpoint::{call, endpoint_name};
use crate::platform::price::Price;
use crate::shared::Shared;
use crate::transport::lenient::{CATALOG, Slips, bounded_value, decode};
use crate::types::CatalogModel;

/// The catalog path.
const MODELS_PATH: &str = "/api/v1/models";

/// One model of the catalog.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelEntry {
    /// The model id, `provider/model` (`bytedance/seedance-2.0-v2v`): what
    /// [`Client::submit_json`](crate::client::Client::submit_json) takes.
    pub slug: String,
    /// `text-to-video`, `video-to-video`, `text-to-speech`, …: an open set, kept as
    /// given.
    pub model_type: Option<String>,
    /// The model's documentation page.
    pub docs_url: Option<String>,
    /// A short description.
    pub description: Option<String>,
    /// The display price, as Modellix shows it, when the catalog gives one.
    pub price: Option<String>,
    /// The price parsed from the entry's `price` object (fixed, or min and max, per a
    /// unit), with exact amounts, when the catalog gives one.
    pub pricing: Option<Price>,
    /// True when this build has a typed request for the model (in [`crate::types`],
    /// validated by its fragment); otherwise use [`Client::submit_json`](crate::client::Client::submit_json).
    pub typed: bool,
}

impl ModelEntry {
    /// The provider: the part of the slug before `/` (`bytedance`).
    pub fn provider(&self) -> &str {
        self.slug.split_once('/').map_or("", |(p, _)| p)
    }

    /// What a task of this model answers with, from its type's part after `-to-`:
    /// `video`, `image`, `audio` (`text-to-speech`, `speech-to-speech`) or `text` (a
    /// transcript: `speech-to-text`); `None` for a type without `-to-` or an output
    /// this build does not know.
    ///
    /// ```
    /// fn show(entry: &modellix::ModelEntry) {
    ///     match entry.output_kind() {
    ///         Some("text") => println!("{} answers with a transcript", entry.slug),
    ///         Some(kind) => println!("{} answers with {kind} files", entry.slug),
    ///         None => println!("{}: output not known", entry.slug),
    ///     }
    /// }
    /// # let _ = show;
    /// ```
    pub fn output_kind(&self) -> Option<&'static str> {
        output_kind_of(self.model_type.as_deref()?)
    }
}

/// The output kind a catalog type names (see [`ModelEntry::output_kind`]).
fn output_kind_of(model_type: &str) -> Option<&'static str> {
    let model_type = model_type.trim().to_ascii_lowercase();
    let (_, output) = model_type.rsplit_once("-to-")?;
    Some(match output {
        "video" => "video",
        "image" => "image",
        "speech" | "audio" | "voice" | "music" => "audio",
        "text" => "text",
        _ => return None,
    })
}

/// Which catalog entries to keep; every criterion set must hold.
///
/// ```
/// let filter = modellix::ModelFilter::new()
///     .model_type("video-to-video")
///     .provider("bytedance")
///     .text("seedance")
///     .limit(20);
/// # drop(filter);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ModelFilter {
    /// Exact type, case-insensitive.
    pub model_type: Option<String>,
    /// Exact provider, case-insensitive.
    pub provider: Option<String>,
    /// Text found (case-insensitive) in the slug, type or description.
    pub text: Option<String>,
    /// Only models with a typed request in this build.
    pub typed_only: bool,
    /// At most this many entries (0: all).
    pub limit: usize,
}

impl ModelFilter {
    /// A filter that keeps everything.
    pub fn new() -> Self {
        ModelFilter::default()
    }

    /// Keeps models of this type (`text-to-video`).
    pub fn model_type(mut self, model_type: impl Into<String>) -> Self {
        self.model_type = Some(model_type.into());
        self
    }

    /// Keeps models of this provider (`alibaba`).
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// Keeps models whose slug, type or description contains `text`.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Keeps only models this build has a typed request for.
    pub fn typed_only(mut self) -> Self {
        self.typed_only = true;
        self
    }

    /// Keeps the first `limit` matches (0: all).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// True when `entry` passes every criterion (the limit aside).
    pub fn matches(&self, entry: &ModelEntry) -> bool {
        let same = |want: &Option<String>, have: &str| {
            want.as_deref()
                .is_none_or(|w| w.trim().eq_ignore_ascii_case(have))
        };
        let text = self.text.as_deref().map(str::to_lowercase);
        let has_text = text.as_deref().is_none_or(|t| {
            [
                Some(entry.slug.as_str()),
                entry.model_type.as_deref(),
                entry.description.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|field| field.to_lowercase().contains(t))
        });
        same(&self.model_type, entry.model_type.as_deref().unwrap_or(""))
            && same(&self.provider, entry.provider())
            && has_text
            && (!self.typed_only || entry.typed)
    }

    /// The entries that pass, in catalog order, at most `limit`.
    pub fn apply<'a>(&self, entries: &'a [ModelEntry]) -> Vec<&'a ModelEntry> {
        let limit = if self.limit == 0 {
            usize::MAX
        } else {
            self.limit
        };
        entries
            .iter()
            .filter(|e| self.matches(e))
            .take(limit)
            .collect()
    }
}

/// A text worth showing: not blank.
fn text(value: Option<String>) -> Option<String> {
    value.filter(|s| !s.trim().is_empty())
}

impl From<CatalogModel> for ModelEntry {
    fn from(raw: CatalogModel) -> Self {
        let typed = OPERATIONS
            .iter()
            .any(|op| op.is_submit() && op.model_id == Some(raw.slug.as_str()));
        let pricing = raw.price.as_ref().and_then(Price::from_json);
        let price = match raw.price {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        ModelEntry {
            typed,
            model_type: text(raw.type_),
            docs_url: text(raw.docs_url),
            description: text(raw.description),
            price: text(raw.display_price)
                .or_else(|| text(price))
                .or_else(|| pricing.as_ref().map(Price::to_string)),
            pricing,
            slug: raw.slug,
        }
    }
}

/// Reads the catalog answer; entries without a usable slug are skipped.
pub(crate) fn parse_catalog(body: &[u8]) -> Result<Vec<ModelEntry>, Error> {
    let malformed = |why: String| Error::Malformed {
        task_id: None,
        reason: format!(
            "the answer of {} is not a model list: {why}",
            endpoint_name(&Method::GET, MODELS_PATH)
        ),
    };
    // Bounded in memory by the answer's size, however many values it holds.
    let answer = bounded_value(body, &CATALOG).map_err(malformed)?;
    // Documented without an envelope; an enveloped list is read too.
    let models = answer
        .get("models")
        .or_else(|| answer.pointer("/data/models"))
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| malformed("no \"models\" list".into()))?;
    Ok(models
        .iter()
        .filter_map(|v| decode::<CatalogModel>(v.clone(), Slips::ConvertAny))
        .filter(|raw| !raw.slug.trim().is_empty())
        .map(ModelEntry::from)
        .collect())
}

/// [`Client::models`](crate::client::Client::models).
pub(crate) async fn models(shared: &Shared) -> Result<Vec<ModelEntry>, Error> {
    let answer = call(shared, Method::GET, MODELS_PATH).await?;
    parse_catalog(&answer.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_kinds_of_catalog_types() {
        let cases = [
            ("text-to-video", Some("video")),
            ("image-to-image", Some("image")),
            ("text-to-speech", Some("audio")),
            ("speech-to-speech", Some("audio")),
            ("speech-to-text", Some("text")),
            (" Speech-To-Text ", Some("text")),
            ("text-to-3d", None),
            ("speech", None),
            ("", None),
        ];
        for (model_type, want) in cases {
            assert_eq!(output_kind_of(model_type), want, "{model_type:?}");
        }
    }

    #[test]
    fn catalog_entries_tolerate_missing_and_mistyped_fields() {
        let body = br#"{"models":[
            {"slug":"bytedance/seedance-2.0-v2v","type":"video-to-video","docs_url":"https://x/d","description":"V2V","display_price":"$0.10/s"},
            {"slug":"alibaba/qwen-image-plus","type":7,"extra":{"a":1},"description":{"en":"Qwen"},"price":0.02},
            {"type":"text-to-image"},
            {"slug":""}
        ]}"#;
        let entries = parse_catalog(body).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries[0].typed);
        assert_eq!(entries[0].price.as_deref(), Some("$0.10/s"));
        assert_eq!(entries[1].provider(), "alibaba");
        assert!(!entries[1].typed);
        assert_eq!(entries[1].model_type.as_deref(), Some("7"));
        assert_eq!(entries[1].description, None);
        assert_eq!(entries[1].price.as_deref(), Some("0.02"));
        let filter = ModelFilter::new().provider("ALIBABA");
        assert_eq!(filter.apply(&entries).len(), 1);
        assert_eq!(ModelFilter::new().text("v2v").apply(&entries).len(), 1);
        assert_eq!(ModelFilter::new().typed_only().apply(&entries).len(), 1);
        assert_eq!(ModelFilter::new().limit(1).apply(&entries).len(), 1);
        assert!(parse_catalog(b"[]").is_err());
        assert!(parse_catalog(b"<html>").is_err());
        let enveloped = br#"{"code":0,"data":{"models":[{"slug":"a/b"}]}}"#;
        assert_eq!(parse_catalog(enveloped).unwrap().len(), 1);
    }
}

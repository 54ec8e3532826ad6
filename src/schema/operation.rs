//! The table of generated operations and the trait every submit request implements.

use serde::Serialize;

use crate::{schema::validate::ValidationError, schema::validate::Warnings};

/// One Modellix operation generated from a fragment in `spec/`.
///
/// The full table is [`crate::generated::OPERATIONS`]; the sandbox and tools use it to serve and
/// check every endpoint without naming any.
///
/// ```
/// let submit = modellix::OPERATIONS
///     .iter()
///     .find(|op| op.model_id == Some("bytedance/seedance-2.0-v2v"))
///     .unwrap();
/// assert_eq!(submit.method, "POST");
/// assert_eq!(submit.path, "/api/v1/bytedance/seedance-2.0-v2v/async");
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Operation {
    /// The operation's name: for a submit, generated from the model id
    /// (`seedance20V2vAsync` for `bytedance/seedance-2.0-v2v`), so it survives a
    /// re-vendored fragment with another operationId; else the fragment's operationId.
    pub operation_id: &'static str,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// Path under the API origin; may hold `{parameters}`.
    pub path: &'static str,
    /// The fragment file, relative to `spec/`.
    pub file: &'static str,
    /// The operation's summary.
    pub summary: &'static str,
    /// `provider/model` for paid submit operations.
    pub model_id: Option<&'static str>,
    /// Name of the request type in [`crate::types`], for submit operations.
    pub request_type: Option<&'static str>,
    /// Checks a raw JSON body against the operation's schema and prose rules.
    pub validate_json: Option<ValidateJson>,
    /// The files a finished task of this model answers with, from its rules file; the
    /// first is the main output. Empty for operations that are not submits.
    pub outputs: &'static [OutputFile],
    /// Request fields that drive the run time (`duration`, `resolution`, …), from the
    /// rules file; [`crate::task::kind::TaskKind`] keys the learning poll schedule on them.
    pub runtime_fields: &'static [&'static str],
}

/// One file a model's finished task answers with, as its rules file declares.
///
/// ```
/// let op = modellix::Operation::for_model("openai/gpt-image-2").unwrap();
/// assert_eq!(op.outputs[0].kind, "image");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutputFile {
    /// `image`, `video`, `audio` or `text` (a transcript, answered as text instead of a
    /// file URL).
    pub kind: &'static str,
    /// A role for extra outputs, such as `last_frame`.
    pub role: Option<&'static str>,
    /// A boolean request field that must be `true` for the file to be produced.
    pub when: Option<&'static str>,
}

impl OutputFile {
    /// The main output of a model this build has no rules for: one file of `kind`
    /// (`image`, `video` or `audio`), no role, always produced.
    ///
    /// ```
    /// const VIDEO: modellix::OutputFile = modellix::OutputFile::of_kind("video");
    /// assert_eq!((VIDEO.kind, VIDEO.role, VIDEO.when), ("video", None, None));
    /// ```
    pub const fn of_kind(kind: &'static str) -> OutputFile {
        OutputFile {
            kind,
            role: None,
            when: None,
        }
    }
}

/// Checks a raw JSON request body; see [`Operation::validate_json`].
pub type ValidateJson = fn(&serde_json::Value) -> Result<Warnings, ValidationError>;

/// `(model id, request schema as JSON)` of every vendored model, written by `build.rs`.
const REQUEST_SCHEMAS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/request_schemas.rs"));

/// `(model id, fragment as published)` of every vendored model, written by `build.rs`.
const FRAGMENTS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/fragments.rs"));

/// `(model id, field, kinds)` of every `media` rule in `spec/`, written by `build.rs`.
const MEDIA_FIELDS: &[(&str, &str, &[&str])] =
    include!(concat!(env!("OUT_DIR"), "/media_fields.rs"));

impl Operation {
    /// What a media field of this model may hold, as its rules file says (`url`,
    /// `oss`, `data_uri`, `base64`); `None` for a field without a media rule and for
    /// operations that are not submits. Tools use it to decide whether a local image
    /// may go inline ([`crate::client::Client::fill_local_files`] does).
    ///
    /// ```
    /// let op = modellix::Operation::for_model("bytedance/seedance-2.0-v2v").unwrap();
    /// assert_eq!(op.media_kinds("video_urls"), Some(&["url"][..]));
    /// assert!(op.media_kinds("reference_images").unwrap().contains(&"base64"));
    /// assert_eq!(op.media_kinds("prompt"), None);
    /// ```
    pub fn media_kinds(&self, field: &str) -> Option<&'static [&'static str]> {
        let model_id = self.model_id?;
        MEDIA_FIELDS
            .iter()
            .find(|(model, name, _)| *model == model_id && *name == field)
            .map(|(_, _, kinds)| *kinds)
    }

    /// How `field` of this model takes an image written out in the request, from the
    /// field's media rule: a data URI where it lists `data_uri`, the bare payload where
    /// it lists only `base64`; `None` where an image must go by URL (upload it).
    ///
    /// ```
    /// use modellix::{InlineForm, Operation};
    /// let op = Operation::for_model("bytedance/seedance-2.0-v2v").unwrap();
    /// assert_eq!(op.inline_form("reference_images"), Some(InlineForm::DataUri));
    /// assert_eq!(op.inline_form("video_urls"), None);
    /// ```
    pub fn inline_form(&self, field: &str) -> Option<crate::media::image::InlineForm> {
        let kinds = self.media_kinds(field)?;
        if kinds.contains(&"data_uri") {
            Some(crate::media::image::InlineForm::DataUri)
        } else if kinds.contains(&"base64") {
            Some(crate::media::image::InlineForm::Base64)
        } else {
            None
        }
    }

    /// The JSON schema of a submit operation's request body, as its fragment publishes
    /// it (with the defaults, ranges and descriptions the generated types moved into
    /// `validate()` and rustdoc); `None` for operations that are not submits. Tools
    /// derive flags and help from it without reading `spec/`.
    ///
    /// A body that is one of several shapes (`oneOf`/`anyOf`) keeps its shapes and also
    /// lists, at the top, every field of every shape under `properties` and the fields
    /// all shapes require under `required`, so tools find the fields where they look:
    ///
    /// ```
    /// let op = modellix::Operation::for_model("alibaba/wan2.7-i2v").unwrap();
    /// let schema: serde_json::Value = serde_json::from_str(op.request_schema_json().unwrap()).unwrap();
    /// assert_eq!(schema["oneOf"].as_array().unwrap().len(), 2);
    /// assert!(schema["properties"]["first_frame"].is_object());
    /// assert!(schema["properties"]["first_clip"].is_object());
    /// ```
    ///
    /// ```
    /// let op = modellix::Operation::for_model("bytedance/seedance-2.0-v2v").unwrap();
    /// let schema: serde_json::Value = serde_json::from_str(op.request_schema_json().unwrap()).unwrap();
    /// assert!(schema["properties"]["video_urls"].is_object());
    /// ```
    pub fn request_schema_json(&self) -> Option<&'static str> {
        let model_id = self.model_id?;
        REQUEST_SCHEMAS
            .iter()
            .find(|(id, _)| *id == model_id)
            .map(|(_, schema)| *schema)
    }

    /// The fragment of a submit operation as vendored in `spec/` (the JSON text of its
    /// schema page, `servers` on the production origin); `None` for other operations.
    ///
    /// ```
    /// let op = modellix::Operation::for_model("bytedance/seedance-2.0-v2v").unwrap();
    /// let page: serde_json::Value = serde_json::from_str(op.fragment_json().unwrap()).unwrap();
    /// assert!(page["post"]["requestBody"].is_object());
    /// ```
    pub fn fragment_json(&self) -> Option<&'static str> {
        let model_id = self.model_id?;
        FRAGMENTS
            .iter()
            .find(|(id, _)| *id == model_id)
            .map(|(_, text)| *text)
    }

    /// The submit operation of `model_id` (`provider/model`), if it is vendored.
    pub fn for_model(model_id: &str) -> Option<&'static Operation> {
        crate::generated::OPERATIONS
            .iter()
            .find(|op| op.model_id == Some(model_id))
    }

    /// True for paid task submissions.
    pub fn is_submit(&self) -> bool {
        self.model_id.is_some()
    }
}

/// A request body of a paid submit operation.
///
/// Implemented by the generated code for every request type in [`crate::types`]; it
/// ties the type to its endpoint so that one generic `submit` serves every model.
pub trait SubmitRequest: Serialize + Send + Sync {
    /// The operation this request is sent to.
    const OPERATION: &'static Operation;

    /// Checks every schema and prose rule without sending anything.
    fn validate(&self) -> Result<Warnings, ValidationError>;

    /// `provider/model`, as Modellix names the model.
    fn model_id() -> &'static str {
        Self::OPERATION.model_id.unwrap_or_default()
    }
}

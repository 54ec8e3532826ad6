//! Models this build has no fragment for. Modellix serves about 200 more models than
//! are vendored, and its clients take any slug, so a `POST` on one of the three submit
//! path forms with a well-formed slug runs as a generic task: no schema check, the
//! answer's media chosen from a type hint (the path's kind, the catalog's type, the
//! slug's suffix), else an image.
//!
//! One provider is reserved: every slug of [`MISSING_PROVIDER`] answers 404 "model not
//! found", as a model Modellix removed does, so tests can still reach that path.

use modellix::{Operation, OutputFile};

use crate::account::type_hint;

/// Slugs of this provider (`nobody/anything`) answer 404, as a removed model does.
pub const MISSING_PROVIDER: &str = "nobody";

const IMAGE: &[OutputFile] = &[OutputFile::of_kind("image")];
const VIDEO: &[OutputFile] = &[OutputFile::of_kind("video")];
const AUDIO: &[OutputFile] = &[OutputFile::of_kind("audio")];
const TEXT: &[OutputFile] = &[OutputFile::of_kind("text")];

/// A submit to a model without a fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GenericModel {
    /// `provider/model`.
    pub(crate) model_id: String,
    /// What its task answers with.
    pub(crate) outputs: &'static [OutputFile],
}

impl GenericModel {
    /// True for a slug of [`MISSING_PROVIDER`].
    pub(crate) fn is_missing(&self) -> bool {
        self.model_id
            .split_once('/')
            .is_some_and(|(provider, _)| provider == MISSING_PROVIDER)
    }
}

/// The model a `POST` to `path` submits to, when `path` has one of the three submit
/// path forms (`/api/v1/{kind}/{provider}/{model}/async`,
/// `/api/v1/{provider}/{model}/async`, `/api/v1/{provider}/{model}`) and is not the path
/// of another operation of `operations` (`/api/v1/media/files` has the form too).
pub(crate) fn submit_target(path: &str, operations: &[Operation]) -> Option<GenericModel> {
    if operations
        .iter()
        .filter(|op| !op.is_submit())
        .any(|op| same_route(op.path, path))
    {
        return None;
    }
    let rest = path.strip_prefix("/api/v1/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    let (kind, provider, model) = match segments.as_slice() {
        [kind, provider, model, "async"] if is_kind(kind) => (Some(*kind), *provider, *model),
        [provider, model, "async"] => (None, *provider, *model),
        [provider, model] => (None, *provider, *model),
        _ => return None,
    };
    if !is_part(provider) || !is_part(model) || is_kind(provider) {
        return None;
    }
    let model_id = format!("{provider}/{model}");
    let hint = kind.or_else(|| type_hint(&model_id));
    Some(GenericModel {
        outputs: outputs_for(hint),
        model_id,
    })
}

/// The files a task of this type answers with: the part after `-to-`.
fn outputs_for(model_type: Option<&str>) -> &'static [OutputFile] {
    match model_type
        .and_then(|t| t.rsplit_once("-to-"))
        .map(|(_, out)| out)
    {
        Some("video") => VIDEO,
        Some("speech" | "audio") => AUDIO,
        Some("text") => TEXT,
        _ => IMAGE,
    }
}

/// `text-to-video` and its kin.
fn is_kind(segment: &str) -> bool {
    segment.split_once("-to-").is_some_and(|(a, b)| {
        [a, b]
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
    })
}

/// A provider or model part: letters, digits, `.`, `-`, `_`, at most 100.
fn is_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "async"
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// True when `path` matches the route `template` (`{name}` matches one segment).
fn same_route(template: &str, path: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_paths_of_models_without_a_fragment() {
        let ops = modellix::OPERATIONS;
        let kind = |path: &str| submit_target(path, ops).map(|m| (m.model_id, m.outputs[0].kind));
        let cases = [
            ("/api/v1/acme/pixel-2", Some(("acme/pixel-2", "image"))),
            (
                "/api/v1/acme/pixel-2/async",
                Some(("acme/pixel-2", "image")),
            ),
            (
                "/api/v1/text-to-video/acme/clip-1/async",
                Some(("acme/clip-1", "video")),
            ),
            ("/api/v1/acme/voice-tts", Some(("acme/voice-tts", "audio"))),
            ("/api/v1/acme/ears-stt", Some(("acme/ears-stt", "text"))),
            (
                "/api/v1/speech-to-speech/acme/echo/async",
                Some(("acme/echo", "audio")),
            ),
            ("/api/v1/acme/wan-9-i2v", Some(("acme/wan-9-i2v", "video"))),
            (
                "/api/v1/alibaba/qwen-image-plus",
                Some(("alibaba/qwen-image-plus", "image")),
            ),
            // Paths of other operations, and shapes no submit has.
            ("/api/v1/media/files", None),
            ("/api/v1/team/balance", None),
            ("/api/v1/tasks/task-1", None),
            ("/api/v1/acme", None),
            ("/api/v1/a/b/c", None),
            ("/api/v1/acme/..", None),
            ("/api/v1/text-to-video/clip/async", None),
            ("/v2/acme/x", None),
        ];
        for (path, want) in cases {
            let want = want.map(|(m, k)| (m.to_owned(), k));
            assert_eq!(kind(path), want, "{path}");
        }
        let missing = submit_target("/api/v1/nobody/old-model", ops).unwrap();
        assert!(missing.is_missing());
        assert!(!submit_target("/api/v1/acme/x", ops).unwrap().is_missing());
    }
}

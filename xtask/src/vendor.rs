//! Writing a fragment into the spec folder: model ids, file names and the starter rules
//! file a new model needs before it builds.

use std::path::{Path, PathBuf};

/// Checks a `provider/model` id typed on the command line: two plain segments, so it can
/// name neither a file outside the spec folder nor another URL.
pub fn check_model_id(id: &str) -> Result<(), String> {
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    match id.split_once('/') {
        Some((provider, model)) if plain(provider) && plain(model) => Ok(()),
        _ => Err(format!(
            "{id:?} is not a model id: expected provider/model (letters, digits, '-', '.', '_'), \
             e.g. bytedance/seedance-2.0-v2v"
        )),
    }
}

/// `provider/model.json`, relative to the spec folder.
pub fn fragment_file(model_id: &str) -> PathBuf {
    PathBuf::from(format!("{model_id}.json"))
}

/// Writes `contents` to `spec_dir/relative`, creating the provider folder.
pub fn write(spec_dir: &Path, relative: &Path, contents: &[u8]) -> Result<(), String> {
    let dest = spec_dir.join(relative);
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&dest, contents).map_err(|e| format!("{}: {e}", dest.display()))
}

/// Writes `provider/model.rules.json` unless it exists: the output kind guessed from the
/// id (to be checked), no prose rules. Returns whether it wrote one.
pub fn write_starter_rules(spec_dir: &Path, model_id: &str) -> Result<bool, String> {
    let rules = spec_dir.join(format!("{model_id}.rules.json"));
    if rules.exists() {
        return Ok(false);
    }
    let kind = if model_id.contains("image") || model_id.contains("t2i") {
        "image"
    } else {
        "video"
    };
    let starter = format!("{{\n  \"outputs\": [{{\"kind\": \"{kind}\"}}],\n  \"rules\": []\n}}\n");
    std::fs::write(&rules, starter).map_err(|e| format!("{}: {e}", rules.display()))?;
    Ok(true)
}

/// The kind column of spec/README.md, guessed from the submit path or the model id.
pub fn guess_kind(path: &str, model_id: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    if let Some(kind) = segments
        .iter()
        .find(|s| modellix_codegen::PATH_KINDS.contains(s))
    {
        return kind.replace('-', " ");
    }
    let table = [
        ("i2v", "image to video"),
        ("t2v", "text to video"),
        ("v2v", "video to video"),
        ("t2i", "text to image"),
        ("i2i", "image to image"),
        ("image", "image"),
    ];
    let model = model_id.rsplit('/').next().unwrap_or(model_id);
    table
        .iter()
        .find(|(tag, _)| model.contains(tag))
        .map_or("video", |(_, kind)| kind)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_two_plain_segments() {
        let cases = [
            ("bytedance/seedance-2.0-v2v", true),
            ("vidu/lip-sync", true),
            ("a_b/c", true),
            ("bytedance", false),
            ("a/b/c", false),
            ("../etc", false),
            ("a/..", false),
            ("a/.hidden", false),
            ("/b", false),
            ("a/", false),
            ("a/b?x=1", false),
            ("a/b c", false),
        ];
        for (id, ok) in cases {
            assert_eq!(check_model_id(id).is_ok(), ok, "{id}");
        }
    }

    #[test]
    fn kinds_come_from_the_path_or_the_id() {
        let cases = [
            (
                "/api/v1/text-to-video/kling/kling-v1-t2v/async",
                "kling/kling-v1-t2v",
                "text to video",
            ),
            (
                "/api/v1/alibaba/wan2.7-i2v",
                "alibaba/wan2.7-i2v",
                "image to video",
            ),
            (
                "/api/v1/google/nano-banana-2",
                "google/nano-banana-2",
                "video",
            ),
            (
                "/api/v1/kling/kling-image-o1",
                "kling/kling-image-o1",
                "image",
            ),
        ];
        for (path, id, want) in cases {
            assert_eq!(guess_kind(path, id), want, "{path}");
        }
    }
}

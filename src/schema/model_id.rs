//! The one check of a model id (`provider/model`), used by every entry point that takes
//! one: the submit, the command line, the catalog's filters.

use crate::error::ConfigError;

/// Longest model id accepted; Modellix's are far shorter.
const MAX_MODEL_ID: usize = 200;

/// Checks that `model_id` is `provider/model`: two non-empty parts of ASCII letters,
/// digits, `.`, `_` and `-`, neither starting with a dot, so it can name neither
/// another URL path nor a file outside its folder.
///
/// ```
/// assert!(modellix::check_model_id("bytedance/seedance-2.0-v2v").is_ok());
/// let err = modellix::check_model_id("seedance").unwrap_err();
/// assert_eq!(err.field, "model_id");
/// assert!(modellix::check_model_id("../etc/passwd").is_err());
/// ```
pub fn check_model_id(model_id: &str) -> Result<(), ConfigError> {
    let part_ok = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    match model_id.split_once('/') {
        Some((provider, model))
            if model_id.len() <= MAX_MODEL_ID && part_ok(provider) && part_ok(model) =>
        {
            Ok(())
        }
        _ => Err(ConfigError {
            field: "model_id",
            problem: format!(
                "{:?} is not a Modellix model id; expected provider/model, like \
                 \"bytedance/seedance-2.0-v2v\" (see client.models() or `modellix models`)",
                model_id.chars().take(100).collect::<String>()
            ),
        }),
    }
}

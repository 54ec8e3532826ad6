//! Code generation for the `modellix` crate.
//!
//! Used by the crate's `build.rs` (generate into `OUT_DIR`), by `cargo xtask` (lint the
//! spec, refresh snapshots, vendor endpoints) and by tests. Nothing here names an
//! endpoint: every operation comes from the fragments in `spec/`.
//!
//! Without the default feature `generate` only [`shapes`] and the fragment reader are
//! built, over `serde_json` alone: that is what the runtime side (a live schema read by
//! the client) reuses, so both sides read a schema page the same way.

#[cfg(feature = "generate")]
mod builders;
#[cfg(feature = "generate")]
mod checks;
mod fragment;
#[cfg(feature = "generate")]
mod generator;
#[cfg(feature = "generate")]
mod merge;
#[cfg(feature = "generate")]
mod own_models;
#[cfg(feature = "generate")]
mod rules;
pub mod shapes;
#[cfg(feature = "generate")]
mod variant_names;

#[cfg(feature = "generate")]
pub use checks::emit_checks;
pub use fragment::{
    API_ORIGIN, API_PREFIX, Fragment, PATH_KINDS, RULES_SUFFIX, SpecError, TASK_KEY, check_unique,
    load_dir, parse_fragment, parse_with_origin, parse_with_rules, submit_model,
};
#[cfg(feature = "generate")]
pub use generator::{CODE_FILE, Generated, OPENAPI_FILE, fields_of_shapes, generate, generate_dir};
#[cfg(feature = "generate")]
pub use merge::{
    Merged, OperationMeta, SUBMIT_RESPONSE, SubmitMeta, TASK_STATUS, base_name, merge,
    model_type_name,
};
#[cfg(feature = "generate")]
pub use own_models::{MODELS_FILE, generate_models, generate_models_in};
#[cfg(feature = "generate")]
pub use rules::{ModelRules, OUTPUT_KINDS, OutputSpec, parse_rules, request_fields};

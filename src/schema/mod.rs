//! Everything the generated code may name: the operation table and the trait every
//! request implements, the rule semantics behind `validate()` (schema keywords, string
//! formats, prose rules), and the state behind the typed builders.
//!
//! May use `media` (image rules), `task::status` (re-exported for generated answers),
//! `error::ConfigError` and the generated types; knows nothing of HTTP or tasks in
//! flight.

pub(crate) mod builder_fields;
pub(crate) mod format;
pub(crate) mod model_id;
pub(crate) mod operation;
pub(crate) mod rules;
pub(crate) mod runtime;
pub(crate) mod validate;

// The names generated code uses, in one place, so the generator emits paths into this
// module only (`crate::schema::…`).
pub use crate::task::status::TaskStatus;
pub use operation::{Operation, OutputFile, SubmitRequest};
pub use validate::{ValidationError, Warnings};

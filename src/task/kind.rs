//! What kind of task a request makes: the model and the fields that drive its run
//! time, the key every learning schedule uses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What kind of task is being waited for: the model and the request fields that drive
/// its run time. Schedules that learn use it as their key.
///
/// Which fields count comes from the model's rules file in `spec/` (`runtime_fields`),
/// not from code: `duration` and `resolution` for Seedance, `n` and `size` for an
/// image model, none for a model without such fields.
///
/// ```
/// let kind = modellix::TaskKind::of_request(
///     "bytedance/seedance-2.0-v2v",
///     &serde_json::json!({"prompt": "…", "duration": 8, "resolution": "1080p"}),
/// );
/// assert_eq!(kind.param("duration"), Some("8"));
/// assert_eq!(kind.param("resolution"), Some("\"1080p\""));
/// assert_eq!(kind.param("prompt"), None); // not a run-time field
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskKind {
    /// `provider/model`, when known.
    pub model_id: Option<String>,
    /// The run-time fields the request set, by wire name, each value as JSON text.
    pub params: BTreeMap<String, String>,
}

impl TaskKind {
    /// The kind of a request body of `model_id`: the run-time fields its rules file
    /// names, as far as the body sets them. A model that is not vendored keys on its id
    /// alone.
    pub fn of_request(model_id: &str, body: &serde_json::Value) -> TaskKind {
        let fields = crate::schema::operation::Operation::for_model(model_id)
            .map_or(&[][..], |op| op.runtime_fields);
        TaskKind::of_fields(model_id, fields, body)
    }

    /// The kind of a request body of `model_id` whose run-time fields are `fields`
    /// (the operation already known: no search of the table).
    pub(crate) fn of_fields(model_id: &str, fields: &[&str], body: &serde_json::Value) -> TaskKind {
        TaskKind {
            model_id: Some(model_id.to_owned()),
            params: fields
                .iter()
                .filter_map(|f| Some(((*f).to_owned(), body.get(*f)?.to_string())))
                .collect(),
        }
    }

    /// A run-time field's value as JSON text (`8`, `"1080p"`), if the request set it.
    pub fn param(&self, field: &str) -> Option<&str> {
        self.params.get(field).map(String::as_str)
    }
}

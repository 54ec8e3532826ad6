//! The state behind every generated request builder (`…RequestBuilder`): the JSON body
//! so far and the problems found while setting it, reported together by `build()`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Fields set so far, by wire name, and the problems seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuilderFields {
    body: Map<String, Value>,
    errors: Vec<String>,
}

impl BuilderFields {
    pub(crate) fn set(&mut self, wire: &str, value: Value) {
        self.body.insert(wire.to_owned(), value);
    }

    #[allow(dead_code)] // emitted only for number, array-of-object and object fields
    pub(crate) fn set_serialized(&mut self, wire: &str, value: impl Serialize) {
        match serde_json::to_value(value) {
            Ok(value) => self.set(wire, value),
            Err(e) => self
                .errors
                .push(format!("`{wire}` cannot be serialized: {e}")),
        }
    }

    /// An enum field, given by its wire value; a value outside `allowed` is reported by
    /// `build()` with the allowed list.
    #[allow(dead_code)] // emitted only for string enums
    pub(crate) fn set_choice(&mut self, wire: &str, value: String, allowed: &[&str]) {
        if !allowed.contains(&value.as_str()) {
            let list: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
            self.errors.push(format!(
                "`{wire}` must be one of {} (found {value:?})",
                list.join(", ")
            ));
        }
        self.set(wire, Value::String(value));
    }

    /// The typed request, or every problem: missing required fields (`(wire, setter)`),
    /// values not allowed, and anything the type itself refuses.
    pub(crate) fn finish<T: DeserializeOwned>(
        mut self,
        required: &[(&str, &str)],
    ) -> Result<T, String> {
        for (wire, setter) in required {
            if !self.body.contains_key(*wire) {
                self.errors
                    .push(format!("`{wire}` is required: call .{setter}(…)"));
            }
        }
        if !self.errors.is_empty() {
            return Err(self.errors.join("; "));
        }
        serde_json::from_value(Value::Object(self.body)).map_err(|e| e.to_string())
    }
}

//! The state behind every generated request builder (`…RequestBuilder`): the JSON body
//! so far and the problems found while setting it, reported together by `build()` as a
//! [`ValidationError`], one violation per field with its JSON pointer, as `validate()`
//! reports them.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::schema::validate::{Checker, Rule, ValidationError};

/// Fields set so far, by wire name, and the problems seen.
#[derive(Debug, Clone, Default)]
pub struct BuilderFields {
    body: Map<String, Value>,
    problems: Checker,
}

/// The JSON pointer of a top-level field (`/video_urls`; `~` and `/` escaped).
fn pointer(wire: &str) -> String {
    format!("/{}", wire.replace('~', "~0").replace('/', "~1"))
}

impl BuilderFields {
    /// Sets the field `wire` to `value`.
    pub fn set(&mut self, wire: &str, value: Value) {
        self.body.insert(wire.to_owned(), value);
    }

    /// Sets the field `wire` to `value` as JSON; a value that cannot be serialized is
    /// reported by `build()`.
    #[allow(dead_code)] // emitted only for number, array-of-object and object fields
    pub fn set_serialized(&mut self, wire: &str, value: impl Serialize) {
        match serde_json::to_value(value) {
            Ok(value) => self.set(wire, value),
            Err(e) => self.problems.violation(
                &pointer(wire),
                Rule::Prose {
                    message: format!("cannot be serialized: {e}"),
                },
            ),
        }
    }

    /// An integer field, given as any integer type: a value that does not fit the
    /// field's type (`i64`) is reported by `build()`.
    #[allow(dead_code)] // emitted only for integer fields
    pub fn set_integer<T>(&mut self, wire: &str, value: T)
    where
        T: TryInto<i64> + ToString,
    {
        let shown = value.to_string();
        match value.try_into() {
            Ok(n) => self.set(wire, Value::from(n)),
            Err(_) => {
                self.body.remove(wire);
                self.problems.violation(
                    &pointer(wire),
                    Rule::Prose {
                        message: format!(
                            "must fit a 64-bit signed integer, from {} to {} (found {shown})",
                            i64::MIN,
                            i64::MAX
                        ),
                    },
                );
            }
        }
    }

    /// An enum field, given by its wire value; a value outside `allowed` is reported by
    /// `build()` with the allowed list (`rendered`: the values as JSON, comma separated).
    #[allow(dead_code)] // emitted only for string enums
    pub fn set_choice(
        &mut self,
        wire: &str,
        value: String,
        allowed: &[&str],
        rendered: &'static str,
    ) {
        let value = Value::String(value);
        if !allowed.contains(&value.as_str().unwrap_or_default()) {
            self.problems.violation(
                &pointer(wire),
                Rule::NotAllowed {
                    allowed: rendered.to_owned(),
                    actual: value.to_string(),
                },
            );
        }
        self.set(wire, value);
    }

    /// The typed request, or every problem: values not allowed, missing required fields
    /// (`(wire, setter)`), and anything the type itself refuses.
    pub fn finish<T: DeserializeOwned>(
        mut self,
        required: &[(&str, &str)],
    ) -> Result<T, ValidationError> {
        for (wire, _setter) in required {
            if !self.body.contains_key(*wire) {
                self.problems.violation(&pointer(wire), Rule::Required);
            }
        }
        self.decode()
    }

    /// A request whose body is one of several shapes (a `oneOf`/`anyOf`), each given by
    /// its required fields (`(wire, setter)`): at least one shape must be complete.
    #[allow(dead_code)] // emitted only for oneOf/anyOf bodies
    pub fn finish_any<T: DeserializeOwned>(
        mut self,
        shapes: &[&[(&str, &str)]],
    ) -> Result<T, ValidationError> {
        let complete = shapes
            .iter()
            .any(|shape| shape.iter().all(|(wire, _)| self.body.contains_key(*wire)));
        if !complete {
            let options: Vec<String> = shapes
                .iter()
                .map(|shape| {
                    let calls: Vec<String> = shape
                        .iter()
                        .map(|(_, setter)| format!(".{setter}(…)"))
                        .collect();
                    calls.join(" and ")
                })
                .collect();
            self.problems.violation(
                "",
                Rule::Prose {
                    message: format!(
                        "the request takes one of {} shapes; set the fields of one: {}",
                        shapes.len(),
                        options.join(", or ")
                    ),
                },
            );
        }
        self.decode()
    }

    fn decode<T: DeserializeOwned>(mut self) -> Result<T, ValidationError> {
        if !self.problems.has_violations() {
            match serde_json::from_value(Value::Object(self.body)) {
                Ok(value) => return Ok(value),
                Err(e) => self.problems.violation(
                    "",
                    Rule::Prose {
                        message: format!("does not fit the request type: {e}"),
                    },
                ),
            }
        }
        Err(self.problems.into_error())
    }
}

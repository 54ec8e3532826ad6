//! The models this build knows: each submit operation of `modellix::OPERATIONS`, with
//! the request schema the library's build kept from `spec/` (so this crate builds from
//! its package alone).

use std::sync::LazyLock;

use modellix::{LiveSchema, Operation, ValidationError, Warnings};
use serde_json::Value;

/// One model with a typed request in this build, or read from its live schema page.
#[derive(Debug)]
pub struct Model {
    pub model_id: String,
    pub summary: String,
    pub schema: Value,
    /// The live schema page, for a model this build does not vendor.
    pub live: Option<LiveSchema>,
}

static MODELS: LazyLock<Vec<Model>> = LazyLock::new(|| {
    modellix::OPERATIONS
        .iter()
        .filter_map(|op| {
            Some(Model {
                model_id: op.model_id?.to_owned(),
                summary: op.summary.to_owned(),
                // Written by the library's build from the fragments: it always parses.
                schema: serde_json::from_str(op.request_schema_json()?).unwrap_or_default(),
                live: None,
            })
        })
        .collect()
});

pub fn all() -> &'static [Model] {
    &MODELS
}

pub fn find(model_id: &str) -> Option<&'static Model> {
    all().iter().find(|m| m.model_id == model_id)
}

/// `provider/model`, by the library's one check.
pub fn is_well_formed(slug: &str) -> bool {
    modellix::check_model_id(slug).is_ok()
}

/// The model for a slug, or why it cannot be used.
pub fn require(slug: &str) -> Result<&'static Model, crate::failure::Failure> {
    find(slug).ok_or_else(|| {
        let known: Vec<&str> = all().iter().map(|m| m.model_id.as_str()).collect();
        let what = if is_well_formed(slug) {
            "is not a model this build knows"
        } else {
            "is not a model id (expected provider/model)"
        };
        crate::failure::Failure::bad_input(format!(
            "{slug:?} {what}; known models: {} (see `modellix models`)",
            known.join(", ")
        ))
    })
}

/// The model for a slug; a well-formed slug this build has no fragment for is a model
/// without a schema (the library checks its slug and size limits).
pub fn resolve(slug: &str) -> Result<&'static Model, crate::failure::Failure> {
    if let Some(model) = find(slug) {
        return Ok(model);
    }
    if !is_well_formed(slug) {
        return require(slug);
    }
    // Once per process, for the one model of a `run`.
    Ok(Box::leak(Box::new(Model {
        model_id: slug.to_owned(),
        summary: "a model without a fragment in this build".to_owned(),
        schema: Value::Null,
        live: None,
    })))
}

/// A model this build does not vendor, its fields from its live schema page; `schema`
/// is the page's request schema as fit to show (redacted by the caller). Leaked: once
/// per process, for the one model of a `run`.
pub fn from_live(live: LiveSchema, schema: Value) -> &'static Model {
    let summary = live
        .page()
        .pointer("/post/summary")
        .and_then(Value::as_str)
        .unwrap_or("a model read from its live schema page")
        .to_owned();
    Box::leak(Box::new(Model {
        model_id: live.model_id().to_owned(),
        summary,
        schema,
        live: Some(live),
    }))
}

impl Model {
    /// True when this build has the model's schema.
    pub fn has_schema(&self) -> bool {
        !self.schema.is_null()
    }

    pub fn operation(&self) -> Option<&'static Operation> {
        modellix::OPERATIONS
            .iter()
            .find(|op| op.model_id == Some(self.model_id.as_str()))
    }

    /// Every schema and prose rule, as the library checks them before sending: the
    /// generated checks of a vendored model, the live schema of another.
    pub fn validate(&self, body: &Value) -> Result<Warnings, ValidationError> {
        match (self.operation().and_then(|op| op.validate_json), &self.live) {
            (Some(validate), _) => validate(body),
            (None, Some(live)) => live.validate(body),
            (None, None) => Ok(Warnings::default()),
        }
    }

    pub fn description(&self) -> &str {
        self.schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or(&self.summary)
    }

    /// The request's fields, in schema order.
    pub fn fields(&self) -> Vec<Field<'_>> {
        let required: Vec<&str> = self
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = self.schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        properties
            .iter()
            .map(|(name, schema)| Field {
                name,
                schema,
                required: required.contains(&name.as_str()),
            })
            .collect()
    }

    pub fn field(&self, name: &str) -> Option<Field<'_>> {
        self.fields().into_iter().find(|f| f.name == name)
    }
}

/// One top-level field of a request.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub name: &'a str,
    pub schema: &'a Value,
    pub required: bool,
}

impl<'a> Field<'a> {
    pub fn json_type(&self) -> Option<&'a str> {
        self.schema.get("type").and_then(Value::as_str)
    }

    pub fn items(&self) -> Option<&'a Value> {
        self.schema.get("items")
    }

    fn text(&self, key: &str) -> Option<&'a str> {
        self.schema.get(key).and_then(Value::as_str)
    }

    /// The help line of the field: description, allowed values, default, range.
    pub fn help(&self) -> String {
        let mut parts = vec![self.text("description").unwrap_or("").trim().to_owned()];
        let json = |v: &Value| v.to_string();
        if self.required {
            parts.push("Required.".into());
        }
        if let Some(values) = self.schema.get("enum").and_then(Value::as_array) {
            let values: Vec<String> = values.iter().map(json).collect();
            parts.push(format!("Allowed: {}.", values.join(", ")));
        }
        if let Some(default) = self.schema.get("default") {
            parts.push(format!("Default: {}.", json(default)));
        }
        let bound =
            |min: &str, max: &str, unit: &str| match (self.schema.get(min), self.schema.get(max)) {
                (Some(a), Some(b)) => Some(format!("Range: {a} to {b}{unit}.")),
                (Some(a), None) => Some(format!("At least {a}{unit}.")),
                (None, Some(b)) => Some(format!("At most {b}{unit}.")),
                (None, None) => None,
            };
        parts.extend(bound("minimum", "maximum", ""));
        parts.extend(bound("minLength", "maxLength", " characters"));
        parts.extend(bound("minItems", "maxItems", " items"));
        if self.json_type() == Some("array") {
            parts.push("Repeat the flag for each item.".into());
        }
        parts.retain(|p| !p.is_empty());
        parts.join(" ")
    }
}

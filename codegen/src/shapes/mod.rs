//! Today's schema page shapes, rewritten into the classic shape of the fragments in
//! `spec/` (one operation, its body schema inline under
//! `requestBody.content."application/json".schema`), so the generator at build time and
//! the client's runtime checker read every page the same way.
//!
//! What [`normalize_page`] accepts beside the classic shape:
//! - local `$ref` pointers (`#/$defs/…`, `#/components/schemas/…`, any local pointer)
//!   with RFC 6901 escapes (`~1` for `/`, `~0` for `~`) and percent-encoding, resolved
//!   in place; the `$defs`/`components` sections are then dropped;
//! - `allOf`, merged into one schema (properties and `required` united, bounds narrowed
//!   to the stricter, enums intersected; a contradiction is refused by keyword);
//! - a `post` that is directly the body schema, wrapped into `requestBody` form with the
//!   submit answer every Modellix model gives;
//! - nullable types (`type: ["string", "null"]`, or an `anyOf`/`oneOf` branch
//!   `{"type": "null"}`), folded into OpenAPI 3.0's `nullable: true`, which the checks
//!   read as "null is allowed here"; `const` becomes a one-value `enum`;
//! - `contentMediaType`, `contentEncoding`, `readOnly` and similar annotations (dropped),
//!   and 3.1 `examples` arrays (kept: documentation only).
//!
//! A keyword no check enforces (`if`/`then`/`else`, `multipleOf`, `not`,
//! `patternProperties`, …) is removed and reported in [`Normalized::unenforced`] with
//! where it was, never a failure. A `$ref` cycle, a pointer outside the page or to
//! nothing, a bad escape and an `allOf` that cannot be merged are refused
//! ([`ShapeError`]).
//!
//! Built with or without the crate's `generate` feature: it needs `serde_json` only.
//!
//! ```
//! let page = serde_json::json!({
//!     "servers": [{"url": "https://api.modellix.ai/api/v1/acme/foo/async"}],
//!     "$defs": {"shared/type": {"type": ["string", "null"], "multipleOf": 2}},
//!     "post": {
//!         "type": "object",
//!         "properties": {"style": {"$ref": "#/$defs/shared~1type"}}
//!     }
//! });
//! let normalized = modellix_codegen::shapes::normalize_page(&page)?;
//! let style = &normalized.page["post"]["requestBody"]["content"]["application/json"]
//!     ["schema"]["properties"]["style"];
//! assert_eq!(style, &serde_json::json!({"type": "string", "nullable": true}));
//! assert_eq!(normalized.unenforced[0].keyword, "multipleOf");
//! # Ok::<(), modellix_codegen::shapes::ShapeError>(())
//! ```

mod all_of;
mod error;
mod pointer;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::{Map, Value, json};

pub use error::ShapeError;

/// A schema page in the classic shape, with what it said that no check enforces.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The page rewritten into the shape of the fragments in `spec/`.
    pub page: Value,
    /// Keywords of the request body schema that were removed because no check enforces
    /// them, in page order.
    pub unenforced: Vec<Unenforced>,
}

/// A keyword of a request body schema that no check enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unenforced {
    /// The keyword, e.g. `multipleOf`.
    pub keyword: String,
    /// The JSON pointer of the schema that held it, in the normalized page
    /// (`/post/requestBody/content/application~1json/schema/properties/duration`).
    pub pointer: String,
}

impl fmt::Display for Unenforced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "keyword {:?} at {} is not checked before the request is sent",
            self.keyword, self.pointer
        )
    }
}

/// Top-level keys of a page that hold shared definitions or document metadata: read
/// through `$ref`, then dropped.
const SHARED_SECTIONS: &[&str] = &[
    "$defs",
    "definitions",
    "components",
    "$schema",
    "$id",
    "$comment",
    "openapi",
    "info",
    "jsonSchemaDialect",
];

/// HTTP methods a page may hold.
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// Schema keywords the checks enforce (the generated ones in `checks.rs` and the
/// runtime checker), plus `nullable`.
const ENFORCED: &[&str] = &[
    "type",
    "minLength",
    "maxLength",
    "enum",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "additionalProperties",
    "oneOf",
    "anyOf",
    "nullable",
];

/// Keywords that document a schema and are kept.
const KEPT_ANNOTATIONS: &[&str] = &["description", "example", "examples", "default", "title"];

/// Keywords that constrain nothing a body could get wrong: dropped without a report.
const QUIET: &[&str] = &[
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "$comment",
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "readOnly",
    "writeOnly",
    "deprecated",
    "xml",
    "externalDocs",
    "discriminator",
];

/// Deeper than any published page nests.
const MAX_DEPTH: usize = 64;
/// Schema objects one page may expand to once its references are resolved.
const MAX_SCHEMAS: usize = 100_000;

/// Rewrites a schema page (as fetched, or a fragment as vendored) into the classic
/// shape; see the [module docs](self) for what is accepted. A page already in the classic
/// shape comes back unchanged, and normalizing twice changes nothing more.
pub fn normalize_page(page: &Value) -> Result<Normalized, ShapeError> {
    let Value::Object(top) = page else {
        return Err(ShapeError::NotAPage);
    };
    let mut resolver = Resolver {
        root: page,
        followed: Vec::new(),
        schemas: 0,
    };
    let mut out = Map::new();
    for (key, value) in top {
        let normalized = if SHARED_SECTIONS.contains(&key.as_str()) {
            continue;
        } else if key == "post" && resolver.is_body_schema(value) {
            let body = resolver.schema(value, "/post", 0)?;
            wrap_body(body)
        } else if METHODS.contains(&key.as_str()) {
            resolver.operation(value, &format!("/{key}"), 0)?
        } else {
            value.clone()
        };
        out.insert(key.clone(), normalized);
    }
    let mut page = Value::Object(out);
    let mut unenforced = Vec::new();
    strip_page(&mut page, &mut unenforced);
    Ok(Normalized { page, unenforced })
}

/// The answer of every Modellix submit, for a page that gives only the body schema.
fn submit_answer() -> Value {
    json!({"200": {
        "description": "Task submitted successfully",
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["code", "message", "data"],
            "properties": {
                "code": {"type": "integer", "description": "Response code, 0 indicates success"},
                "message": {"type": "string", "description": "Response message"},
                "data": {
                    "type": "object",
                    "description": "Detailed data about the submitted asynchronous task.",
                    "required": ["status", "task_id", "model_id"],
                    "properties": {
                        "get_result": {
                            "type": "object",
                            "description": "API information to query the task result",
                            "properties": {
                                "method": {"type": "string", "description": "HTTP method"},
                                "url": {"type": "string", "description": "Full URL to query the task result"}
                            }
                        },
                        "model_id": {"type": "string", "description": "Model ID"},
                        "status": {"type": "string", "description": "Task status", "enum": ["pending", "processing"]},
                        "task_id": {"type": "string", "description": "Unique task identifier"}
                    }
                }
            }
        }}}
    }})
}

/// A `post` given as the body schema, as an operation.
fn wrap_body(body: Value) -> Value {
    let mut op = Map::new();
    if let Some(title) = body.get("title").filter(|t| t.is_string()) {
        op.insert("summary".into(), title.clone());
    }
    op.insert(
        "requestBody".into(),
        json!({"required": true, "content": {"application/json": {"schema": body}}}),
    );
    op.insert("responses".into(), submit_answer());
    Value::Object(op)
}

struct Resolver<'a> {
    root: &'a Value,
    /// The canonical pointers of the `$ref`s being expanded, outermost first.
    followed: Vec<String>,
    schemas: usize,
}

impl<'a> Resolver<'a> {
    /// True when `value` (a page's `post`) is a schema rather than an operation.
    fn is_body_schema(&self, value: &Value) -> bool {
        let Value::Object(obj) = value else {
            return false;
        };
        if obj.contains_key("requestBody") || obj.contains_key("responses") {
            return false;
        }
        if let Some(Value::String(reference)) = obj.get("$ref") {
            let target = reference
                .strip_prefix('#')
                .and_then(|f| pointer::parse(f).ok())
                .and_then(|tokens| pointer::get(self.root, &tokens));
            if let Some(target) = target.filter(|t| !std::ptr::eq(*t, value)) {
                return target.get("requestBody").is_none() && target.get("responses").is_none();
            }
            return true;
        }
        ["type", "properties", "allOf", "oneOf", "anyOf", "required"]
            .iter()
            .any(|k| obj.contains_key(*k))
    }

    /// The value a local `$ref` at `at` points to, with its canonical pointer, now
    /// counted as followed (the caller pops it).
    fn follow(&mut self, reference: &str, at: &str) -> Result<(&'a Value, String), ShapeError> {
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(ShapeError::Outside {
                pointer: at.to_owned(),
                reference: reference.to_owned(),
            });
        };
        let tokens = pointer::parse(fragment).map_err(|problem| ShapeError::BadPointer {
            pointer: at.to_owned(),
            reference: reference.to_owned(),
            problem,
        })?;
        let target = pointer::get(self.root, &tokens).ok_or_else(|| ShapeError::Missing {
            pointer: at.to_owned(),
            reference: reference.to_owned(),
        })?;
        let canonical = pointer::join(&tokens);
        if let Some(first) = self.followed.iter().position(|p| *p == canonical) {
            let mut chain = self.followed[first..].to_vec();
            chain.push(canonical);
            return Err(ShapeError::Cycle {
                pointer: at.to_owned(),
                chain,
            });
        }
        self.followed.push(canonical.clone());
        Ok((target, canonical))
    }

    fn count(&mut self, at: &str, depth: usize) -> Result<(), ShapeError> {
        if depth > MAX_DEPTH {
            return Err(ShapeError::TooDeep {
                pointer: at.to_owned(),
                limit: MAX_DEPTH,
            });
        }
        self.schemas += 1;
        if self.schemas > MAX_SCHEMAS {
            return Err(ShapeError::TooLarge { limit: MAX_SCHEMAS });
        }
        Ok(())
    }

    /// An operation (or any part of one above its schemas): `$ref`s resolved, every
    /// `schema` normalized, examples and extensions left as they are.
    fn operation(&mut self, value: &Value, at: &str, depth: usize) -> Result<Value, ShapeError> {
        self.count(at, depth)?;
        match value {
            Value::Object(obj) => {
                if let Some(Value::String(reference)) = obj.get("$ref") {
                    let (target, canonical) = self.follow(reference, at)?;
                    let resolved = self.operation(target, &canonical, depth + 1);
                    self.followed.pop();
                    return resolved;
                }
                let mut out = Map::new();
                for (key, sub) in obj {
                    let child = format!("{at}/{}", pointer::escape(key));
                    let sub = if key == "schema" {
                        self.schema(sub, &child, depth + 1)?
                    } else if key == "example" || key == "examples" || key.starts_with("x-") {
                        sub.clone()
                    } else {
                        self.operation(sub, &child, depth + 1)?
                    };
                    out.insert(key.clone(), sub);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.operation(item, &format!("{at}/{i}"), depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// One schema: references resolved, sub-schemas normalized, `allOf` merged, null
    /// folded into `nullable`.
    fn schema(&mut self, value: &Value, at: &str, depth: usize) -> Result<Value, ShapeError> {
        self.count(at, depth)?;
        let Value::Object(obj) = value else {
            return Ok(value.clone());
        };
        if let Some(Value::String(reference)) = obj.get("$ref") {
            let (target, canonical) = self.follow(reference, at)?;
            let resolved = self.schema(target, &canonical, depth + 1);
            self.followed.pop();
            let resolved = resolved?;
            let mut beside = obj.clone();
            beside.remove("$ref");
            if beside.is_empty() {
                return Ok(resolved);
            }
            let beside = self.schema(&Value::Object(beside), at, depth + 1)?;
            return all_of::merge_all(&[resolved, beside], at).map(Value::Object);
        }
        let mut out = Map::new();
        for (key, sub) in obj {
            let child = format!("{at}/{}", pointer::escape(key));
            let sub = match key.as_str() {
                // Read through `$ref` from the page as given; nothing is left to point at
                // them once every reference is resolved.
                "$defs" | "definitions" => continue,
                "properties" | "patternProperties" | "dependentSchemas" => match sub {
                    Value::Object(map) => {
                        let mut schemas = Map::new();
                        for (name, schema) in map {
                            let here = format!("{child}/{}", pointer::escape(name));
                            schemas.insert(name.clone(), self.schema(schema, &here, depth + 1)?);
                        }
                        Value::Object(schemas)
                    }
                    other => other.clone(),
                },
                "items" | "prefixItems" | "allOf" | "oneOf" | "anyOf" => match sub {
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, s)| self.schema(s, &format!("{child}/{i}"), depth + 1))
                            .collect::<Result<_, _>>()?,
                    ),
                    other => self.schema(other, &child, depth + 1)?,
                },
                "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "additionalItems" => self.schema(sub, &child, depth + 1)?,
                _ => sub.clone(),
            };
            out.insert(key.clone(), sub);
        }
        if let Some(Value::Array(parts)) = out.remove("allOf") {
            let mut parts = parts;
            parts.push(Value::Object(out));
            out = all_of::merge_all(&parts, at)?;
        }
        fold(out, at).map(Value::Object)
    }
}

/// `type` arrays and `{"type": "null"}` branches as `nullable: true`, `const` as `enum`.
fn fold(mut schema: Map<String, Value>, at: &str) -> Result<Map<String, Value>, ShapeError> {
    let mut nullable = false;
    if let Some(Value::Array(types)) = schema.get("type") {
        let null = Value::from("null");
        let rest: Vec<Value> = types.iter().filter(|t| **t != null).cloned().collect();
        if rest.len() < types.len() && !rest.is_empty() {
            nullable = true;
        }
        let folded = match rest.as_slice() {
            [] => Some(null),
            [one] => Some(one.clone()),
            _ if nullable => Some(Value::Array(rest)),
            _ => None,
        };
        if let Some(folded) = folded {
            schema.insert("type".into(), folded);
        }
    }
    for combinator in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = schema.get(combinator) else {
            continue;
        };
        let rest: Vec<Value> = branches
            .iter()
            .filter(|b| !is_null_schema(b))
            .cloned()
            .collect();
        if rest.len() == branches.len() || rest.is_empty() {
            continue;
        }
        nullable = true;
        if let ([only], false) = (rest.as_slice(), schema.contains_key("type")) {
            schema.remove(combinator);
            let parent = Value::Object(std::mem::take(&mut schema));
            schema = all_of::merge_all(&[only.clone(), parent], at)?;
        } else {
            schema.insert(combinator.into(), Value::Array(rest));
        }
    }
    if nullable {
        schema.insert("nullable".into(), Value::Bool(true));
    }
    if schema.get("nullable") == Some(&Value::Bool(true))
        && let Some(Value::Array(values)) = schema.get_mut("enum")
    {
        values.retain(|v| !v.is_null());
    }
    if let Some(value) = schema.remove("const") {
        match schema.get("enum").and_then(Value::as_array) {
            Some(values) if !values.contains(&value) => {
                return Err(ShapeError::Conflict {
                    pointer: at.to_owned(),
                    keyword: "const".into(),
                    detail: format!("{value} is not one of the enum {}", schema["enum"]),
                });
            }
            _ => {}
        }
        if !schema.contains_key("type") {
            let ty = match &value {
                Value::String(_) => Some("string"),
                Value::Bool(_) => Some("boolean"),
                Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
                Value::Number(_) => Some("number"),
                _ => None,
            };
            if let Some(ty) = ty {
                schema.insert("type".into(), ty.into());
            }
        }
        schema.insert("enum".into(), Value::Array(vec![value]));
    }
    Ok(schema)
}

/// `{"type": "null"}`, with annotations at most.
fn is_null_schema(schema: &Value) -> bool {
    schema.as_object().is_some_and(|s| {
        s.get("type") == Some(&Value::from("null"))
            && s.keys().all(|k| {
                k == "type" || KEPT_ANNOTATIONS.contains(&k.as_str()) || QUIET.contains(&k.as_str())
            })
    })
}

/// Removes unenforced keywords from every schema of the page; those of a JSON request
/// body are reported.
fn strip_page(page: &mut Value, unenforced: &mut Vec<Unenforced>) {
    let Value::Object(top) = page else { return };
    for (method, op) in top.iter_mut() {
        if !METHODS.contains(&method.as_str()) {
            continue;
        }
        let Value::Object(op) = op else { continue };
        let base = format!("/{method}");
        if let Some(Value::Object(content)) =
            op.get_mut("requestBody").and_then(|b| b.get_mut("content"))
        {
            for (media, body) in content.iter_mut() {
                let report = media == "application/json";
                let here = format!(
                    "{base}/requestBody/content/{}/schema",
                    pointer::escape(media)
                );
                if let Some(schema) = body.get_mut("schema") {
                    strip(schema, &here, report.then_some(&mut *unenforced));
                }
            }
        }
        if let Some(Value::Object(responses)) = op.get_mut("responses") {
            for answer in responses.values_mut() {
                if let Some(Value::Object(content)) = answer.get_mut("content") {
                    for body in content.values_mut() {
                        if let Some(schema) = body.get_mut("schema") {
                            strip(schema, "", None);
                        }
                    }
                }
            }
        }
        if let Some(Value::Array(parameters)) = op.get_mut("parameters") {
            for parameter in parameters {
                if let Some(schema) = parameter.get_mut("schema") {
                    strip(schema, "", None);
                }
            }
        }
    }
}

fn strip(schema: &mut Value, at: &str, mut report: Option<&mut Vec<Unenforced>>) {
    let Value::Object(obj) = schema else { return };
    obj.retain(|key, _| {
        let keep = ENFORCED.contains(&key.as_str()) || KEPT_ANNOTATIONS.contains(&key.as_str());
        if !keep
            && !QUIET.contains(&key.as_str())
            && !key.starts_with("x-")
            && let Some(report) = report.as_deref_mut()
        {
            report.push(Unenforced {
                keyword: key.clone(),
                pointer: at.to_owned(),
            });
        }
        keep
    });
    for (key, sub) in obj.iter_mut() {
        let child = format!("{at}/{}", pointer::escape(key));
        match (key.as_str(), sub) {
            ("properties", Value::Object(map)) => {
                for (name, schema) in map.iter_mut() {
                    let here = format!("{child}/{}", pointer::escape(name));
                    strip(schema, &here, report.as_deref_mut());
                }
            }
            ("oneOf" | "anyOf", Value::Array(branches)) => {
                for (i, branch) in branches.iter_mut().enumerate() {
                    strip(branch, &format!("{child}/{i}"), report.as_deref_mut());
                }
            }
            ("items" | "additionalProperties", sub @ Value::Object(_)) => {
                strip(sub, &child, report.as_deref_mut());
            }
            _ => {}
        }
    }
}

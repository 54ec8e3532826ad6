//! Merging the parts of an `allOf` (or a `$ref` with keywords beside it) into one schema
//! a body must satisfy: properties and `required` united, bounds narrowed to the
//! stricter, enums intersected; two constraints that cannot both be written down in one
//! schema are refused by keyword.

use serde_json::{Map, Value};

use super::error::ShapeError;

/// Keywords that document a schema: a later part's value replaces an earlier one.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "example",
    "examples",
    "default",
    "$comment",
    "contentMediaType",
    "contentEncoding",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Lower bounds: the larger wins.
const LOWER: &[&str] = &[
    "minimum",
    "minLength",
    "minItems",
    "minProperties",
    "exclusiveMinimum",
];
/// Upper bounds: the smaller wins.
const UPPER: &[&str] = &[
    "maximum",
    "maxLength",
    "maxItems",
    "maxProperties",
    "exclusiveMaximum",
];

/// One schema every value of which satisfies all of `parts` (already normalized), in
/// order; `at` is where the `allOf` is, for errors.
pub(super) fn merge_all(parts: &[Value], at: &str) -> Result<Map<String, Value>, ShapeError> {
    let mut out = Map::new();
    let mut typed = 0usize;
    let mut nullable = 0usize;
    for part in parts {
        let part = match part {
            Value::Object(part) => part,
            Value::Bool(true) => continue,
            other => {
                return Err(conflict(
                    at,
                    "allOf",
                    format!("a part is {other}, which no value satisfies or is not a schema"),
                ));
            }
        };
        if part.contains_key("type") {
            typed += 1;
            if part.get("nullable") == Some(&Value::Bool(true)) {
                nullable += 1;
            }
        }
        for (key, value) in part {
            merge_key(&mut out, key, value, at)?;
        }
    }
    // Null passes only when every part that names a type lets it through.
    if out.contains_key("nullable") && nullable < typed {
        out.remove("nullable");
    }
    Ok(out)
}

fn conflict(at: &str, keyword: &str, detail: String) -> ShapeError {
    ShapeError::Conflict {
        pointer: at.to_owned(),
        keyword: keyword.to_owned(),
        detail,
    }
}

fn merge_key(
    out: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    at: &str,
) -> Result<(), ShapeError> {
    let Some(old) = out.get(key) else {
        out.insert(key.to_owned(), value.clone());
        return Ok(());
    };
    if old == value {
        return Ok(());
    }
    let merged = match key {
        k if ANNOTATIONS.contains(&k) || k.starts_with("x-") => value.clone(),
        "properties" => {
            let (Value::Object(old), Value::Object(new)) = (old, value) else {
                return Err(conflict(at, key, "\"properties\" is not an object".into()));
            };
            let mut all = old.clone();
            for (name, schema) in new {
                let both = match all.get(name) {
                    Some(first) => Value::Object(merge_all(
                        &[first.clone(), schema.clone()],
                        &format!("{at}/properties/{}", super::pointer::escape(name)),
                    )?),
                    None => schema.clone(),
                };
                all.insert(name.clone(), both);
            }
            Value::Object(all)
        }
        "required" => {
            let (Value::Array(old), Value::Array(new)) = (old, value) else {
                return Err(conflict(at, key, "\"required\" is not an array".into()));
            };
            let mut all = old.clone();
            all.extend(new.iter().filter(|n| !old.contains(n)).cloned());
            Value::Array(all)
        }
        k if LOWER.contains(&k) || UPPER.contains(&k) => {
            let (Some(a), Some(b)) = (old.as_f64(), value.as_f64()) else {
                return Err(conflict(
                    at,
                    key,
                    format!("{old} and {value} are not both numbers"),
                ));
            };
            let take_new = if LOWER.contains(&k) { b > a } else { b < a };
            if take_new { value.clone() } else { old.clone() }
        }
        "enum" => {
            let (Value::Array(old), Value::Array(new)) = (old, value) else {
                return Err(conflict(at, key, "\"enum\" is not an array".into()));
            };
            let both: Vec<Value> = old.iter().filter(|v| new.contains(v)).cloned().collect();
            if both.is_empty() {
                return Err(conflict(
                    at,
                    key,
                    format!(
                        "{} and {} share no value, so no body could pass",
                        Value::Array(old.clone()),
                        Value::Array(new.clone())
                    ),
                ));
            }
            Value::Array(both)
        }
        "nullable" => Value::Bool(old == &Value::Bool(true) && value == &Value::Bool(true)),
        "uniqueItems" => Value::Bool(old == &Value::Bool(true) || value == &Value::Bool(true)),
        "items" | "additionalProperties" => match (old, value) {
            (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
            (Value::Bool(true), other) | (other, Value::Bool(true)) => other.clone(),
            (a, b) => Value::Object(merge_all(&[a.clone(), b.clone()], &format!("{at}/{key}"))?),
        },
        _ => {
            return Err(conflict(
                at,
                key,
                format!("{old} and {value} cannot both hold in one schema"),
            ));
        }
    };
    out.insert(key.to_owned(), merged);
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parts_merge_by_keyword() {
        let cases = [
            (
                json!([{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                       {"properties": {"b": {"type": "integer"}}, "required": ["b", "a"]}]),
                json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                       "required": ["a", "b"]}),
            ),
            (
                json!([{"type": "integer", "minimum": 1, "maximum": 10},
                       {"minimum": 3, "maximum": 20}]),
                json!({"type": "integer", "minimum": 3, "maximum": 10}),
            ),
            (
                json!([{"enum": ["a", "b", "c"]}, {"enum": ["c", "b"]}]),
                json!({"enum": ["b", "c"]}),
            ),
            (
                json!([{"properties": {"a": {"type": "string", "maxLength": 9}}},
                       {"properties": {"a": {"maxLength": 4, "description": "later"}}}]),
                json!({"properties": {"a": {"type": "string", "maxLength": 4, "description": "later"}}}),
            ),
            (
                json!([{"type": "string", "nullable": true}, {"type": "string"}]),
                json!({"type": "string"}),
            ),
            (
                json!([{"type": "string", "nullable": true}, {"minLength": 1}]),
                json!({"type": "string", "nullable": true, "minLength": 1}),
            ),
            (
                json!([{"additionalProperties": false}, {"additionalProperties": {"type": "string"}}]),
                json!({"additionalProperties": false}),
            ),
            (json!([true, {"type": "string"}]), json!({"type": "string"})),
        ];
        for (parts, want) in cases {
            let got = merge_all(parts.as_array().unwrap(), "/x").unwrap();
            assert_eq!(Value::Object(got), want, "{parts}");
        }
    }

    #[test]
    fn contradictions_are_refused_by_keyword() {
        let cases = [
            (json!([{"type": "string"}, {"type": "integer"}]), "type"),
            (json!([{"enum": [1]}, {"enum": [2]}]), "enum"),
            (json!([{"pattern": "^a"}, {"pattern": "^b"}]), "pattern"),
            (
                json!([{"properties": {"a": {"type": "string"}}}, {"properties": {"a": {"type": "number"}}}]),
                "type",
            ),
            (json!([false]), "allOf"),
        ];
        for (parts, keyword) in cases {
            match merge_all(parts.as_array().unwrap(), "/x") {
                Err(ShapeError::Conflict { keyword: got, .. }) => assert_eq!(got, keyword),
                other => panic!("{parts}: {other:?}"),
            }
        }
    }
}

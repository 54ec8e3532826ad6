//! What changed in the API between two versions of one fragment: operations, fields,
//! enum values, bounds, required lists, each with the JSON pointer (inside the new file,
//! or the old one for what was removed).

use std::fmt;

use serde_json::{Map, Value};

/// Added, removed or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Added,
    Removed,
    Changed,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    /// What changed: `field`, `enum value`, `maximum`, `submit URL`, …
    pub what: String,
    /// Old → new, the added or the removed value, in JSON.
    pub detail: String,
    /// JSON pointer into the fragment file.
    pub pointer: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind {
            Kind::Added => '+',
            Kind::Removed => '-',
            Kind::Changed => '~',
        };
        write!(
            f,
            "{sign} {} {} at {}",
            self.what, self.detail, self.pointer
        )
    }
}

/// Keywords whose text matters to a reader (prose rules live there) but not to the shape.
const TEXT_KEYWORDS: &[&str] = &["description", "title", "summary"];

/// Every API difference from `old` to `new` (two whole fragment files).
pub fn diff_fragments(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    let url = |v: &Value| v.pointer("/servers/0/url").cloned().unwrap_or(Value::Null);
    if url(old) != url(new) {
        out.push(changed(
            "submit URL",
            &url(old),
            &url(new),
            "/servers/0/url",
        ));
    }
    let (old_ops, new_ops) = (operations(old), operations(new));
    for (method, _) in &old_ops {
        if !new_ops.iter().any(|(m, _)| m == method) {
            out.push(removed(
                "operation",
                &Value::String(method.to_uppercase()),
                &pointer("", method),
            ));
        }
    }
    for (method, new_op) in &new_ops {
        let here = pointer("", method);
        match old_ops.iter().find(|(m, _)| m == method) {
            None => out.push(added(
                "operation",
                &Value::String(method.to_uppercase()),
                &here,
            )),
            Some((_, old_op)) => diff_operation(old_op, new_op, &here, &mut out),
        }
    }
    out
}

fn operations(fragment: &Value) -> Vec<(String, &Map<String, Value>)> {
    let Some(top) = fragment.as_object() else {
        return Vec::new();
    };
    top.iter()
        .filter(|(k, _)| *k != "servers")
        .filter_map(|(k, v)| Some((k.clone(), v.as_object()?)))
        .collect()
}

fn diff_operation(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    here: &str,
    out: &mut Vec<Change>,
) {
    for key in union(old, new) {
        let at = pointer(here, &key);
        let (o, n) = (old.get(&key), new.get(&key));
        match key.as_str() {
            "requestBody" | "responses" => diff_media_tree(o, n, &at, out),
            _ => diff_value(&key, o, n, &at, out),
        }
    }
}

/// `requestBody` and `responses`: plain containers down to each `schema`, which is
/// compared as a schema; `example(s)` are compared as one value each.
fn diff_media_tree(old: Option<&Value>, new: Option<&Value>, here: &str, out: &mut Vec<Change>) {
    let what = here.rsplit('/').next().unwrap_or(here);
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) => {
            for key in union(o, n) {
                let at = pointer(here, &key);
                let (ov, nv) = (o.get(&key), n.get(&key));
                match key.as_str() {
                    "schema" => diff_schema_opt(ov, nv, &at, out),
                    "example" | "examples" => diff_value(&key, ov, nv, &at, out),
                    _ if TEXT_KEYWORDS.contains(&key.as_str()) => {
                        diff_value(&key, ov, nv, &at, out)
                    }
                    _ => diff_media_tree(ov, nv, &at, out),
                }
            }
        }
        _ => diff_value(&unescape(what), old, new, here, out),
    }
}

fn diff_schema_opt(old: Option<&Value>, new: Option<&Value>, here: &str, out: &mut Vec<Change>) {
    match (old, new) {
        (Some(o), Some(n)) => diff_schema(o, n, here, out),
        _ => diff_value("schema", old, new, here, out),
    }
}

/// Two JSON schemas, keyword by keyword: fields, enum values and `required` one by one;
/// bounds (`maximum`, `minLength`, `maxItems`, …), `type`, `format`, `default` and any
/// other keyword as one value each, so no difference goes unreported.
fn diff_schema(old: &Value, new: &Value, here: &str, out: &mut Vec<Change>) {
    let (Value::Object(o), Value::Object(n)) = (old, new) else {
        diff_value("schema", Some(old), Some(new), here, out);
        return;
    };
    for key in union(o, n) {
        let at = pointer(here, &key);
        let (ov, nv) = (o.get(&key), n.get(&key));
        match key.as_str() {
            "properties" => diff_properties(ov, nv, &at, out),
            "enum" => diff_set("enum value", ov, nv, &at, out),
            "required" => diff_set("required", ov, nv, &at, out),
            "items" | "additionalProperties" | "not"
                if ov.is_some_and(Value::is_object) && nv.is_some_and(Value::is_object) =>
            {
                diff_schema(
                    ov.unwrap_or(&Value::Null),
                    nv.unwrap_or(&Value::Null),
                    &at,
                    out,
                )
            }
            "oneOf" | "anyOf" | "allOf" => diff_branches(&key, ov, nv, &at, out),
            _ => diff_value(&key, ov, nv, &at, out),
        }
    }
}

fn diff_properties(old: Option<&Value>, new: Option<&Value>, here: &str, out: &mut Vec<Change>) {
    let empty = Map::new();
    let o = old.and_then(Value::as_object).unwrap_or(&empty);
    let n = new.and_then(Value::as_object).unwrap_or(&empty);
    for key in union(o, n) {
        let at = pointer(here, &key);
        match (o.get(&key), n.get(&key)) {
            (Some(ov), Some(nv)) => diff_schema(ov, nv, &at, out),
            (None, Some(nv)) => out.push(Change {
                kind: Kind::Added,
                what: "field".into(),
                detail: field_summary(&key, nv),
                pointer: at,
            }),
            (Some(ov), None) => out.push(Change {
                kind: Kind::Removed,
                what: "field".into(),
                detail: field_summary(&key, ov),
                pointer: at,
            }),
            (None, None) => {}
        }
    }
}

/// `seed (integer)`.
fn field_summary(name: &str, schema: &Value) -> String {
    match schema.get("type").and_then(Value::as_str) {
        Some(ty) => format!("{name:?} ({ty})"),
        None => format!("{name:?}"),
    }
}

fn diff_branches(
    key: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    here: &str,
    out: &mut Vec<Change>,
) {
    let empty = Vec::new();
    let o = old.and_then(Value::as_array).unwrap_or(&empty);
    let n = new.and_then(Value::as_array).unwrap_or(&empty);
    for i in 0..o.len().max(n.len()) {
        let at = pointer(here, &i.to_string());
        match (o.get(i), n.get(i)) {
            (Some(ov), Some(nv)) => diff_schema(ov, nv, &at, out),
            (ov, nv) => diff_value(&format!("{key} branch"), ov, nv, &at, out),
        }
    }
}

/// `enum` and `required`: values added and removed, order ignored.
fn diff_set(
    what: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    here: &str,
    out: &mut Vec<Change>,
) {
    let empty = Vec::new();
    let o = old.and_then(Value::as_array).unwrap_or(&empty);
    let n = new.and_then(Value::as_array).unwrap_or(&empty);
    for value in o.iter().filter(|v| !n.contains(v)) {
        out.push(removed(what, value, here));
    }
    for value in n.iter().filter(|v| !o.contains(v)) {
        out.push(added(what, value, here));
    }
}

/// One keyword compared as a whole (long values are cut in the report).
fn diff_value(
    what: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    here: &str,
    out: &mut Vec<Change>,
) {
    match (old, new) {
        (Some(o), Some(n)) if o == n => {}
        (Some(o), Some(n)) => out.push(changed(what, o, n, here)),
        (None, Some(n)) => out.push(added(what, n, here)),
        (Some(o), None) => out.push(removed(what, o, here)),
        (None, None) => {}
    }
}

fn added(what: &str, value: &Value, pointer: &str) -> Change {
    Change {
        kind: Kind::Added,
        what: what.into(),
        detail: short(value),
        pointer: pointer.into(),
    }
}

fn removed(what: &str, value: &Value, pointer: &str) -> Change {
    Change {
        kind: Kind::Removed,
        what: what.into(),
        detail: short(value),
        pointer: pointer.into(),
    }
}

fn changed(what: &str, old: &Value, new: &Value, pointer: &str) -> Change {
    Change {
        kind: Kind::Changed,
        what: what.into(),
        detail: format!("{} -> {}", short(old), short(new)),
        pointer: pointer.into(),
    }
}

/// A value in one line, cut after 60 characters.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn union(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

/// `base` + `/` + the escaped token (RFC 6901).
fn pointer(base: &str, token: &str) -> String {
    format!("{base}/{}", token.replace('~', "~0").replace('/', "~1"))
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fragment(url: &str, schema: Value) -> Value {
        json!({
            "servers": [{"url": url}],
            "post": {
                "operationId": "x",
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"200": {"description": "ok"}}
            }
        })
    }

    const BODY: &str = "/post/requestBody/content/application~1json/schema";

    #[test]
    fn reports_fields_enums_bounds_required_and_urls() {
        let old = fragment(
            "https://api.modellix.ai/api/v1/a/b/async",
            json!({
                "type": "object",
                "required": ["prompt"],
                "properties": {
                    "prompt": {"type": "string", "maxLength": 100},
                    "resolution": {"type": "string", "enum": ["480p", "720p"]},
                    "old": {"type": "boolean"}
                }
            }),
        );
        let new = fragment(
            "https://api.modellix.ai/api/v1/a/b",
            json!({
                "type": "object",
                "required": ["prompt", "seed"],
                "properties": {
                    "prompt": {"type": "string", "maxLength": 200, "minLength": 1},
                    "resolution": {"type": "string", "enum": ["720p", "1080p"]},
                    "seed": {"type": "integer"}
                }
            }),
        );
        let got: Vec<String> = diff_fragments(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        let want = [
            "~ submit URL \"https://api.modellix.ai/api/v1/a/b/async\" -> \"https://api.modellix.ai/api/v1/a/b\" at /servers/0/url".to_owned(),
            format!("- field \"old\" (boolean) at {BODY}/properties/old"),
            format!("~ maxLength 100 -> 200 at {BODY}/properties/prompt/maxLength"),
            format!("+ minLength 1 at {BODY}/properties/prompt/minLength"),
            format!("- enum value \"480p\" at {BODY}/properties/resolution/enum"),
            format!("+ enum value \"1080p\" at {BODY}/properties/resolution/enum"),
            format!("+ field \"seed\" (integer) at {BODY}/properties/seed"),
            format!("+ required \"seed\" at {BODY}/required"),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn same_fragment_no_changes_and_operations_are_compared() {
        let f = fragment(
            "https://api.modellix.ai/api/v1/a/b",
            json!({"type": "object"}),
        );
        assert!(diff_fragments(&f, &f).is_empty());
        let mut get = f.clone();
        let op = get.as_object_mut().unwrap().remove("post").unwrap();
        get["get"] = op;
        let got: Vec<String> = diff_fragments(&f, &get)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "- operation \"POST\" at /post",
                "+ operation \"GET\" at /get"
            ]
        );
    }

    #[test]
    fn branches_descriptions_and_unknown_keywords_are_reported() {
        let old = fragment(
            "https://api.modellix.ai/api/v1/a/b",
            json!({"oneOf": [{"type": "object", "description": "one"}], "x-extra": 1}),
        );
        let new = fragment(
            "https://api.modellix.ai/api/v1/a/b",
            json!({"oneOf": [{"type": "object", "description": "two"}, {"type": "object"}], "x-extra": 2}),
        );
        let got: Vec<String> = diff_fragments(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                format!("~ description \"one\" -> \"two\" at {BODY}/oneOf/0/description"),
                format!("+ oneOf branch {{\"type\":\"object\"}} at {BODY}/oneOf/1"),
                format!("~ x-extra 1 -> 2 at {BODY}/x-extra"),
            ]
        );
    }
}

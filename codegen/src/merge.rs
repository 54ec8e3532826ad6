//! Merging fragments into one OpenAPI 3.0.3 document shaped for progenitor.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::fragment::{API_ORIGIN, Fragment, SpecError};

/// The component every submit operation answers with.
pub const SUBMIT_RESPONSE: &str = "SubmitResponse";
/// The component every `status` property in an answer refers to; the runtime replaces
/// it with its own forward-compatible type.
pub const TASK_STATUS: &str = "TaskStatus";

/// What the generator needs to know about one operation beyond the OpenAPI document.
#[derive(Debug, Clone)]
pub struct OperationMeta {
    /// The fragment file, relative to the spec folder.
    pub file: String,
    /// The operation's name: for submits generated from the model id
    /// (`seedance20V2vAsync`), whatever the published operationId; else the operationId.
    pub operation_id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path under the API origin.
    pub path: String,
    /// Summary or first sentence of the description.
    pub summary: String,
    /// For submit operations: the model id and the request component.
    pub submit: Option<SubmitMeta>,
}

/// A paid submit operation.
#[derive(Debug, Clone)]
pub struct SubmitMeta {
    /// `provider/model`.
    pub model_id: String,
    /// Name of the request component (`Seedance20V2vRequest`).
    pub request_type: String,
    /// The request schema as published, before it was simplified for the type generator.
    pub request_schema: Value,
    /// Request examples from the fragment, by name.
    pub examples: Vec<(String, Value)>,
    /// The model's checked rules file.
    pub rules: crate::rules::ModelRules,
    /// For a `oneOf`/`anyOf` body: the component of each branch, in order; empty for an
    /// object body.
    pub branches: Vec<String>,
}

/// The merged document plus the per-operation facts.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The OpenAPI 3.0.3 document handed to progenitor.
    pub document: Value,
    /// One entry per fragment, in the spec folder's order.
    pub operations: Vec<OperationMeta>,
    /// Stand-ins for enum values the type generator cannot name apart (`1080p` and
    /// `1080P`, `16:9` and `16*9`: it panics on them), stand-in → wire value. The
    /// generated code gets the wire values back and its variants our names.
    pub enum_stand_ins: BTreeMap<String, String>,
}

/// Marks a stand-in enum value (and, PascalCased, the variant named after it).
pub const STAND_IN: &str = "zzmodellixstandin";

/// `bytedance/seedance-2.0-v2v` → `Seedance20V2v`: the Rust name of a model, from the
/// model part of its id (every run of ASCII letters and digits, first letter upper-cased).
/// `None` when the model part yields no name that starts with a letter.
pub fn model_type_name(model_id: &str) -> Option<String> {
    let model = model_id.rsplit('/').next().unwrap_or(model_id);
    let name: String = model
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect();
    // The type generator normalizes names the same way (`V1T2v` → `V1t2v`).
    let name = heck::ToUpperCamelCase::to_upper_camel_case(name.as_str());
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        .then_some(name)
}

/// `seedance20V2vAsync` → `Seedance20V2v`: the operation's name without the `Async` tail.
pub fn base_name(operation_id: &str) -> String {
    let trimmed = operation_id
        .strip_suffix("Async")
        .filter(|s| !s.is_empty())
        .unwrap_or(operation_id);
    let mut chars = trimmed.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Merges checked fragments (see [`crate::load_dir`]) into one document.
pub fn merge(fragments: &[Fragment]) -> Result<Merged, SpecError> {
    let mut paths = Map::new();
    let mut components = BTreeMap::<String, Value>::new();
    let mut operations = Vec::new();
    let mut submit_answer: Option<(String, Value)> = None;

    components.insert(
        TASK_STATUS.to_owned(),
        json!({
            "type": "string",
            "description": "Status of a Modellix task. Unknown values are kept, not rejected."
        }),
    );

    let mut names = BTreeMap::<String, String>::new();
    let mut enum_stand_ins = BTreeMap::new();
    for f in fragments {
        let file = f.file.to_string_lossy().replace('\\', "/");
        let err = |problem: String| SpecError::new(&f.file, problem);
        let model_id = f.model_id();
        // Submit operations are named after the model id, never after the operationId, so
        // re-vendoring a fragment whose operationId or path changed renames nothing.
        let base = match &model_id {
            Some(model) => model_type_name(model).ok_or_else(|| {
                err(format!(
                    "model id {model} yields no Rust name (it must hold a letter before any digit)"
                ))
            })?,
            None => base_name(f.operation_id().ok_or_else(|| {
                err("an operation that is not a submit needs an operationId to name it".into())
            })?),
        };
        if let Some(other) = names.insert(base.clone(), file.clone()) {
            return Err(err(format!(
                "its Rust name {base} is also the name of {other}: two models with the same \
                 name need provider-qualified names, teach codegen/src/merge.rs::model_type_name"
            )));
        }
        let generated_id = match &model_id {
            Some(_) => {
                let mut chars = base.chars();
                let first = chars.next().map(|c| c.to_ascii_lowercase());
                format!(
                    "{}Async",
                    first.into_iter().chain(chars).collect::<String>()
                )
            }
            None => f.operation_id().unwrap_or_default().to_owned(),
        };
        let id = generated_id.clone();
        let mut op = f.operation.clone();
        op.insert("operationId".into(), Value::String(generated_id));
        if !f.is_submit()
            && let Some(body) = op.get_mut("requestBody")
        {
            raw_body(body);
        }
        plain_parameters(&mut op);

        // Answers: only 200, opened up for unknown values, hoisted into a component.
        let mut answer = f.response_schema().cloned().unwrap_or_default();
        open_answer(&mut answer);
        hoist_titled(&mut answer, &mut components).map_err(&err)?;
        let answer_name = if f.is_submit() {
            let normalized = strip_docs(&answer);
            match &submit_answer {
                Some((first, seen)) if *seen != normalized => {
                    return Err(err(format!(
                        "its 200 answer differs from the submit answer of {first}; every submit \
                         operation must answer with the same shape"
                    )));
                }
                Some(_) => {}
                None => {
                    submit_answer = Some((file.clone(), normalized));
                    components.insert(SUBMIT_RESPONSE.to_owned(), answer);
                }
            }
            SUBMIT_RESPONSE.to_owned()
        } else {
            let name = format!("{base}Response");
            components.insert(name.clone(), answer);
            name
        };
        let description = op
            .get("responses")
            .and_then(|r| r.get("200"))
            .and_then(|r| r.get("description"))
            .cloned()
            .unwrap_or_else(|| json!("Success"));
        op.insert(
            "responses".into(),
            json!({"200": {
                "description": description,
                "content": {"application/json": {"schema": {"$ref": schema_ref(&answer_name)}}}
            }}),
        );

        let submit = if f.is_submit() {
            let request_schema = f.request_schema().cloned().unwrap_or_default();
            let request_type = format!("{base}Request");
            if components.contains_key(&request_type) {
                return Err(err(format!(
                    "its request type name {request_type} clashes with another component"
                )));
            }
            check_field_names(&request_schema, "").map_err(&err)?;
            let mut for_types = request_schema.clone();
            simplify_request(&mut for_types, &mut enum_stand_ins);
            let branches =
                hoist_branches(&mut for_types, &request_type, &mut components).map_err(&err)?;
            components.insert(request_type.clone(), for_types);
            let body = op
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
                .and_then(|c| c.get_mut("application/json"))
                .and_then(Value::as_object_mut)
                .ok_or_else(|| err("request body without application/json".into()))?;
            body.insert("schema".into(), json!({"$ref": schema_ref(&request_type)}));
            let rules_file = crate::fragment::rules_path(&f.file);
            let rules = match &f.rules {
                Some(rules) => crate::rules::parse_rules(rules, &request_schema)
                    .map_err(|e| SpecError::new(&rules_file, e))?,
                None => {
                    return Err(err(format!(
                        "has no rules file beside it: add {} with at least \
                         {{\"outputs\": [{{\"kind\": \"video\"}}]}} (see spec/README.md)",
                        rules_file.display()
                    )));
                }
            };
            Some(SubmitMeta {
                rules,
                model_id: model_id.clone().unwrap_or_default(),
                request_type,
                request_schema,
                examples: f.request_examples(),
                branches,
            })
        } else {
            None
        };

        operations.push(OperationMeta {
            file,
            operation_id: id,
            method: f.method.to_uppercase(),
            path: f.path.clone(),
            summary: summary_of(&op),
            submit,
        });
        paths
            .entry(f.path.clone())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path items are objects")
            .insert(f.method.clone(), Value::Object(op));
    }

    let document = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Modellix API",
            "description": "Merged from the vendored Modellix fragments in spec/ by modellix-codegen.",
            "version": "1"
        },
        "servers": [{"url": API_ORIGIN}],
        "paths": paths,
        "components": {"schemas": components},
    });
    Ok(Merged {
        document,
        operations,
        enum_stand_ins,
    })
}

/// Parameters are plain strings and numbers for the type generator: the handwritten
/// layer builds every path and query, so a checked newtype per parameter
/// (`GetTaskTaskId`) would be public code nobody uses.
fn plain_parameters(op: &mut Map<String, Value>) {
    let Some(Value::Array(parameters)) = op.get_mut("parameters") else {
        return;
    };
    for parameter in parameters {
        if let Some(Value::Object(schema)) = parameter.get_mut("schema") {
            for key in CHECKED_NOT_TYPED {
                schema.remove(*key);
            }
        }
    }
}

/// A request body the type generator cannot build (`multipart/form-data`, an upload)
/// becomes an opaque byte stream for it; the handwritten layer builds and streams the
/// real body. The fragment, as written, still documents the fields.
fn raw_body(body: &mut Value) {
    let Some(Value::Object(content)) = body.get_mut("content") else {
        return;
    };
    if content.keys().all(|k| k == "application/json") {
        return;
    }
    let kinds: Vec<String> = content.keys().cloned().collect();
    *content = Map::new();
    content.insert(
        "application/octet-stream".into(),
        json!({"schema": {
            "type": "string",
            "format": "binary",
            "description": format!(
                "A {} body, built and streamed by the handwritten layer.",
                kinds.join(" or ")
            ),
        }}),
    );
}

fn schema_ref(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

fn summary_of(op: &Map<String, Value>) -> String {
    if let Some(s) = op.get("summary").and_then(Value::as_str) {
        return s.to_owned();
    }
    let d = op.get("description").and_then(Value::as_str).unwrap_or("");
    d.split(". ")
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_owned()
}

/// Keywords the type generator would turn into closed or pinned types; the generated
/// `validate()` enforces them instead, with every violation reported at once.
const CHECKED_NOT_TYPED: &[&str] = &[
    "default",
    "pattern",
    "format",
    "examples",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
];

/// Request schema for progenitor: optional fields become `Option` (no pinned defaults on
/// the wire), numbers and strings stay plain so that `validate()` can report them. The
/// removed facts are appended to the description so rustdoc still states them.
fn simplify_request(schema: &mut Value, stand_ins: &mut BTreeMap<String, String>) {
    let Value::Object(obj) = schema else { return };
    stand_in_enum(obj, stand_ins);
    let mut facts = Vec::new();
    if let Some(d) = obj.get("default") {
        facts.push(format!("Default: `{d}`."));
    }
    match (obj.get("minLength"), obj.get("maxLength")) {
        (Some(a), Some(b)) => facts.push(format!("Length: {a} to {b} characters.")),
        (Some(a), None) => facts.push(format!("Length: at least {a} characters.")),
        (None, Some(b)) => facts.push(format!("Length: at most {b} characters.")),
        _ => {}
    }
    match (obj.get("minimum"), obj.get("maximum")) {
        (Some(a), Some(b)) => facts.push(format!("Range: {a} to {b}.")),
        (Some(a), None) => facts.push(format!("Minimum: {a}.")),
        (None, Some(b)) => facts.push(format!("Maximum: {b}.")),
        _ => {}
    }
    if let Some(Value::String(p)) = obj.get("pattern") {
        facts.push(format!("Pattern: `{p}`."));
    }
    if let Some(Value::String(f)) = obj.get("format")
        && obj.get("type").and_then(Value::as_str) == Some("string")
    {
        facts.push(format!("Format: {f}."));
    }
    match (obj.get("minItems"), obj.get("maxItems")) {
        (Some(a), Some(b)) => facts.push(format!("Items: {a} to {b}.")),
        (Some(a), None) => facts.push(format!("Items: at least {a}.")),
        (None, Some(b)) => facts.push(format!("Items: at most {b}.")),
        _ => {}
    }
    // Integer and number enums would become a checked newtype; plain numbers are
    // friendlier and `validate()` checks membership.
    let numeric = matches!(
        obj.get("type").and_then(Value::as_str),
        Some("integer" | "number")
    );
    if numeric && let Some(Value::Array(values)) = obj.remove("enum") {
        let list: Vec<String> = values.iter().map(Value::to_string).collect();
        facts.push(format!("Allowed: {}.", list.join(", ")));
    }
    for key in CHECKED_NOT_TYPED {
        obj.remove(*key);
    }
    if !facts.is_empty() {
        let description = obj
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_end()
            .to_owned();
        let joined = facts.join(" ");
        let text = if description.is_empty() {
            joined
        } else {
            format!("{description}\n\n{joined}")
        };
        obj.insert("description".into(), Value::String(text));
    }
    for_each_subschema(obj, |sub| simplify_request(sub, stand_ins));
}

/// A string enum whose values differ only in case or in characters that are not
/// letters or digits gets stand-in values (see [`Merged::enum_stand_ins`]).
fn stand_in_enum(obj: &mut Map<String, Value>, stand_ins: &mut BTreeMap<String, String>) {
    let Some(Value::Array(values)) = obj.get_mut("enum") else {
        return;
    };
    let folded = |v: &Value| -> Option<String> {
        let s = v.as_str()?;
        Some(
            s.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect(),
        )
    };
    let mut seen = std::collections::BTreeSet::new();
    let clash = values.iter().filter_map(folded).any(|f| !seen.insert(f));
    if !clash {
        return;
    }
    for value in values.iter_mut() {
        if let Value::String(wire) = value {
            let stand_in = format!("{STAND_IN}{}zz", stand_ins.len());
            stand_ins.insert(stand_in.clone(), std::mem::replace(wire, stand_in));
        }
    }
}

/// Snake-case Rust field names must stay distinct: `aspectRatio` and `aspect_ratio` in
/// one object would both become `aspect_ratio`.
fn check_field_names(schema: &Value, pointer: &str) -> Result<(), String> {
    let Value::Object(obj) = schema else {
        return Ok(());
    };
    if let Some(Value::Object(props)) = obj.get("properties") {
        let mut seen = BTreeMap::<String, &str>::new();
        for name in props.keys() {
            let rust = heck::ToSnakeCase::to_snake_case(name.as_str());
            if let Some(other) = seen.insert(rust.clone(), name) {
                return Err(format!(
                    "{pointer}/properties: fields {other:?} and {name:?} both become the Rust \
                     field `{rust}`; the generator cannot name them apart"
                ));
            }
        }
        for (name, sub) in props {
            check_field_names(sub, &format!("{pointer}/properties/{name}"))?;
        }
    }
    if let Some(items) = obj.get("items") {
        check_field_names(items, &format!("{pointer}/items"))?;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = obj.get(key) {
            for (n, b) in branches.iter().enumerate() {
                check_field_names(b, &format!("{pointer}/{key}/{n}"))?;
            }
        }
    }
    Ok(())
}

/// A `oneOf`/`anyOf` request body: each object branch becomes its own component, named
/// after the request and the fields only that branch requires
/// (`Wan27I2vRequestFirstFrame`), so every branch gets a type and a builder.
fn hoist_branches(
    schema: &mut Value,
    request_type: &str,
    components: &mut BTreeMap<String, Value>,
) -> Result<Vec<String>, String> {
    let mut hoisted = Vec::new();
    let Value::Object(obj) = schema else {
        return Ok(hoisted);
    };
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = obj.get_mut(key) else {
            continue;
        };
        let names = branch_names(branches);
        for (branch, name) in branches.iter_mut().zip(names) {
            let name = format!("{request_type}{name}");
            if components.contains_key(&name) {
                return Err(format!(
                    "the name {name} of a {key} branch clashes with another component"
                ));
            }
            let body = std::mem::replace(branch, json!({"$ref": schema_ref(&name)}));
            components.insert(name.clone(), body);
            hoisted.push(name);
        }
    }
    Ok(hoisted)
}

/// A readable name per branch: its `title`, else the fields it alone requires, else
/// `Variant<n>`.
pub fn branch_names(branches: &[Value]) -> Vec<String> {
    let required = |b: &Value| -> Vec<String> {
        b.get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let all: Vec<Vec<String>> = branches.iter().map(required).collect();
    let mut names: Vec<String> = Vec::new();
    for (n, branch) in branches.iter().enumerate() {
        let own: Vec<&String> = all[n]
            .iter()
            .filter(|f| {
                all.iter()
                    .enumerate()
                    .all(|(m, r)| m == n || !r.contains(f))
            })
            .collect();
        let title = branch.get("title").and_then(Value::as_str);
        let name = match (title, own.is_empty()) {
            (Some(t), _) => heck::ToUpperCamelCase::to_upper_camel_case(t),
            (None, false) => own
                .iter()
                .map(|f| heck::ToUpperCamelCase::to_upper_camel_case(f.as_str()))
                .collect(),
            (None, true) => format!("Variant{n}"),
        };
        let name = if name.is_empty() || names.contains(&name) {
            format!("Variant{n}")
        } else {
            name
        };
        names.push(name);
    }
    names
}

/// Answer schema: tolerant of anything a newer server may send. String enums are opened
/// (their values move into the description), `status` becomes the shared forward-
/// compatible [`TASK_STATUS`], and every object keeps unknown fields.
fn open_answer(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    if obj.get("type").and_then(Value::as_str) == Some("string")
        && let Some(Value::Array(values)) = obj.remove("enum")
    {
        let list: Vec<String> = values.iter().map(Value::to_string).collect();
        let description = obj
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        obj.insert(
            "description".into(),
            Value::String(format!("{description} (known values: {})", list.join(", "))),
        );
    }
    if obj.get("type").and_then(Value::as_str) == Some("object") {
        obj.entry("additionalProperties").or_insert(json!({}));
        if let Some(Value::Object(props)) = obj.get_mut("properties")
            && let Some(status) = props.get_mut("status")
            && status.get("type").and_then(Value::as_str) == Some("string")
        {
            *status = json!({"$ref": schema_ref(TASK_STATUS)});
        }
    }
    for_each_subschema(obj, open_answer);
}

/// Moves every inline object schema that carries a `title` into its own component, so
/// answer types get the names the spec gives them (`Resource`, not `…ResourcesItem`).
fn hoist_titled(
    schema: &mut Value,
    components: &mut BTreeMap<String, Value>,
) -> Result<(), String> {
    let Value::Object(obj) = schema else {
        return Ok(());
    };
    let mut result = Ok(());
    for_each_subschema(obj, |sub| {
        if result.is_ok() {
            result = hoist_titled(sub, components);
        }
    });
    result?;
    if let Some(title) = obj.get("title").and_then(Value::as_str).map(str::to_owned) {
        if !title.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "schema title {title:?} must be a PascalCase type name"
            ));
        }
        let hoisted = std::mem::replace(schema, json!({"$ref": schema_ref(&title)}));
        match components.get(&title) {
            Some(existing) if strip_docs(existing) != strip_docs(&hoisted) => {
                return Err(format!(
                    "two different schemas carry the title {title:?}; titles name shared types"
                ));
            }
            _ => {
                components.insert(title, hoisted);
            }
        }
    }
    Ok(())
}

/// The schema without descriptions and examples, for comparing shapes.
fn strip_docs(schema: &Value) -> Value {
    match schema {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "example" | "examples"))
                .map(|(k, v)| (k.clone(), strip_docs(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_docs).collect()),
        other => other.clone(),
    }
}

/// Calls `f` on every direct sub-schema: properties, items, additionalProperties and the
/// branches of oneOf/anyOf.
fn for_each_subschema(obj: &mut Map<String, Value>, mut f: impl FnMut(&mut Value)) {
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = obj.get_mut(key) {
            branches.iter_mut().for_each(&mut f);
        }
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.values_mut().for_each(&mut f);
    }
    if let Some(items) = obj.get_mut("items") {
        f(items);
    }
    if let Some(extra @ Value::Object(_)) = obj.get_mut("additionalProperties") {
        f(extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_come_from_the_model_id() {
        let cases = [
            ("bytedance/seedance-2.0-v2v", Some("Seedance20V2v")),
            ("google/veo-3.1-lite-i2v", Some("Veo31LiteI2v")),
            ("alibaba/wan2.7-i2v", Some("Wan27I2v")),
            ("vidu/lip-sync", Some("LipSync")),
            ("acme/2x", None),
        ];
        for (model, want) in cases {
            assert_eq!(model_type_name(model).as_deref(), want, "{model}");
        }
    }

    #[test]
    fn names_drop_the_async_tail() {
        assert_eq!(base_name("seedance20V2vAsync"), "Seedance20V2v");
        assert_eq!(base_name("getTask"), "GetTask");
        assert_eq!(base_name("Async"), "Async");
    }

    #[test]
    fn request_defaults_and_limits_move_to_the_description() {
        let mut s = json!({"type":"object","properties":{
            "d":{"type":"integer","enum":[4,5],"default":5,"description":"Seconds."},
            "u":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"string","minLength":1}}
        }});
        simplify_request(&mut s, &mut BTreeMap::new());
        let d = &s["properties"]["d"];
        assert!(d.get("default").is_none() && d.get("enum").is_none());
        assert_eq!(d["description"], "Seconds.\n\nDefault: `5`. Allowed: 4, 5.");
        assert!(s["properties"]["u"].get("minItems").is_none());
        assert!(s["properties"]["u"]["items"].get("minLength").is_none());
    }

    #[test]
    fn a_post_that_starts_no_task_gets_no_request_type() {
        let upload = crate::parse_with_rules(
            std::path::Path::new("modellix/upload.json"),
            r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/media/files"}],"post":{"operationId":"uploadFile",
              "requestBody":{"content":{"multipart/form-data":{"schema":{"type":"object","properties":{"file":{"type":"string","format":"binary"}}}}}},
              "responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"object"}}}}}}}"#,
            Some(json!({"task": false})),
        )
        .unwrap();
        let merged = merge(std::slice::from_ref(&upload)).unwrap();
        let op = &merged.operations[0];
        assert!(op.submit.is_none());
        assert_eq!(op.operation_id, "uploadFile");
        let components = &merged.document["components"]["schemas"];
        assert!(components.get(SUBMIT_RESPONSE).is_none());
        assert!(components.get("UploadFileResponse").is_some());
        // The type generator gets an opaque body it can handle.
        let body = &merged.document["paths"]["/api/v1/media/files"]["post"]["requestBody"];
        assert_eq!(
            body["content"]["application/octet-stream"]["schema"]["format"],
            "binary"
        );
        let code = crate::generate(&[upload]).unwrap().code;
        assert!(
            !code.contains("SubmitRequest for"),
            "an upload is no paid submit"
        );
        assert!(code.contains("model_id: None"));
    }

    #[test]
    fn answers_are_opened() {
        let mut s = json!({"type":"object","properties":{
            "status":{"type":"string","enum":["pending"]},
            "kind":{"type":"string","enum":["a","b"]}
        }});
        open_answer(&mut s);
        assert_eq!(
            s["properties"]["status"]["$ref"],
            "#/components/schemas/TaskStatus"
        );
        assert!(s["properties"]["kind"].get("enum").is_none());
        assert_eq!(s["additionalProperties"], json!({}));
    }
}

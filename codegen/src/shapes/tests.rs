use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const URL: &str = "https://api.modellix.ai/api/v1/acme/foo/async";

fn vendored() -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json")
                && !path
                    .to_string_lossy()
                    .ends_with(crate::fragment::RULES_SUFFIX)
            {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, serde_json::from_str(&text).unwrap()));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(files.len() > 10, "{}", files.len());
    files
}

fn body(page: &Value) -> &Value {
    &page["post"]["requestBody"]["content"]["application/json"]["schema"]
}

/// A classic page around `schema`, with the submit answer of [`submit_answer`].
fn classic(schema: Value) -> Value {
    json!({"servers": [{"url": URL}], "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": schema}}},
        "responses": submit_answer(),
    }})
}

fn with_post(post: Value, extra: Value) -> Value {
    let mut page = json!({"servers": [{"url": URL}], "post": post});
    if let (Value::Object(page), Value::Object(extra)) = (&mut page, extra) {
        page.extend(extra);
    }
    page
}

#[test]
fn vendored_fragments_are_already_classic() {
    for (path, page) in vendored() {
        let normalized = normalize_page(&page).unwrap();
        assert_eq!(normalized.page, page, "{}", path.display());
        assert!(normalized.unenforced.is_empty(), "{}", path.display());
    }
}

#[test]
fn each_shape_becomes_the_classic_one() {
    let prompt = json!({"type": "string", "minLength": 1});
    let want = json!({"type": "object", "required": ["prompt"], "properties": {"prompt": prompt}});
    let cases = [
        (
            "$defs with an escaped name",
            with_post(
                json!({"type": "object", "required": ["prompt"],
                       "properties": {"prompt": {"$ref": "#/$defs/shared~1text~0x"}}}),
                json!({"$defs": {"shared/text~x": prompt}}),
            ),
            want.clone(),
        ),
        (
            "components/schemas and a percent-encoded pointer",
            with_post(
                json!({"$ref": "#/components/schemas/Body%20One"}),
                json!({"components": {"schemas": {"Body One": want}}}),
            ),
            want.clone(),
        ),
        (
            "a body composed with allOf",
            with_post(
                json!({"allOf": [
                    {"$ref": "#/$defs/base"},
                    {"properties": {"prompt": {"minLength": 1}}, "required": ["prompt"]}
                ]}),
                json!({"$defs": {"base": {"type": "object",
                    "properties": {"prompt": {"type": "string"}}}}}),
            ),
            want.clone(),
        ),
        (
            "a $ref with keywords beside it",
            with_post(
                json!({"type": "object", "required": ["prompt"], "properties": {
                    "prompt": {"$ref": "#/$defs/text", "minLength": 1}}}),
                json!({"$defs": {"text": {"type": "string"}}}),
            ),
            want.clone(),
        ),
        (
            "an operation whose requestBody is a $ref",
            with_post(
                json!({"requestBody": {"$ref": "#/components/requestBodies/b"},
                       "responses": submit_answer()}),
                json!({"components": {"requestBodies": {"b": {"required": true,
                    "content": {"application/json": {"schema": want}}}}}}),
            ),
            want.clone(),
        ),
        (
            "contentMediaType dropped, 3.1 examples kept",
            with_post(
                json!({"type": "object", "required": ["prompt"], "properties": {
                    "prompt": {"type": "string", "minLength": 1,
                               "contentMediaType": "text/plain"}},
                    "examples": [{"prompt": "a cat"}]}),
                json!({}),
            ),
            json!({"type": "object", "required": ["prompt"], "properties": {"prompt": prompt},
                   "examples": [{"prompt": "a cat"}]}),
        ),
    ];
    for (name, page, want) in cases {
        let got = normalize_page(&page).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(body(&got.page), &want, "{name}");
        assert!(got.unenforced.is_empty(), "{name}: {:?}", got.unenforced);
        assert!(
            got.page.get("$defs").is_none() && got.page.get("components").is_none(),
            "{name}"
        );
        let text = got.page.to_string();
        crate::fragment::parse_fragment(Path::new("x.json"), &text)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn a_post_given_as_the_body_schema_is_wrapped_with_the_submit_answer() {
    let schema =
        json!({"title": "Foo", "type": "object", "properties": {"prompt": {"type": "string"}}});
    let got = normalize_page(&with_post(schema.clone(), json!({})))
        .unwrap()
        .page;
    let mut want = classic(schema);
    want["post"]["summary"] = json!("Foo");
    assert_eq!(got, want);
    // Every vendored submit answers with this shape, docs apart (merge.rs insists).
    let strip = |v: &Value| {
        let mut v = v.clone();
        strip_docs(&mut v);
        v
    };
    let vendored_answer = vendored()
        .into_iter()
        .find(|(p, _)| p.ends_with("kling/kling-v1-t2v.json"))
        .map(|(_, page)| page["post"]["responses"].clone())
        .unwrap();
    assert_eq!(strip(&vendored_answer), strip(&submit_answer()));
}

fn strip_docs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !matches!(k.as_str(), "description" | "example" | "examples"));
            map.values_mut().for_each(strip_docs);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_docs),
        _ => {}
    }
}

#[test]
fn null_is_folded_into_nullable() {
    let cases = [
        (
            json!({"type": ["string", "null"], "maxLength": 3}),
            json!({"type": "string", "maxLength": 3, "nullable": true}),
        ),
        (
            json!({"type": ["null", "integer"]}),
            json!({"type": "integer", "nullable": true}),
        ),
        (json!({"type": ["string"]}), json!({"type": "string"})),
        (
            json!({"anyOf": [{"type": "string", "enum": ["a", null]}, {"type": "null"}], "description": "d"}),
            json!({"type": "string", "enum": ["a"], "description": "d", "nullable": true}),
        ),
        (
            json!({"oneOf": [{"type": "object"}, {"type": "array"}, {"type": "null"}]}),
            json!({"oneOf": [{"type": "object"}, {"type": "array"}], "nullable": true}),
        ),
        (
            json!({"const": "v1"}),
            json!({"type": "string", "enum": ["v1"]}),
        ),
        (
            json!({"type": "integer", "const": 3}),
            json!({"type": "integer", "enum": [3]}),
        ),
    ];
    for (field, want) in cases {
        let page = classic(json!({"type": "object", "properties": {"f": field}}));
        let got = normalize_page(&page).unwrap();
        assert_eq!(body(&got.page)["properties"]["f"], want, "{field}");
    }
}

#[test]
fn unenforced_keywords_are_reported_with_where_not_refused() {
    let page = classic(json!({
        "type": "object",
        "if": {"properties": {"mode": {"const": "pro"}}},
        "then": {"required": ["seed"]},
        "else": {},
        "patternProperties": {"^x-": {"type": "string"}},
        "properties": {
            "duration": {"type": "integer", "multipleOf": 5, "minimum": 5},
            "tags": {"type": "array", "items": {"type": "string", "not": {"enum": ["x"]}},
                     "uniqueItems": true},
            "mode": {"type": "string", "x-order": 1, "readOnly": false}
        }
    }));
    let got = normalize_page(&page).unwrap();
    let base = "/post/requestBody/content/application~1json/schema";
    let mut seen: Vec<(String, String)> = got
        .unenforced
        .iter()
        .map(|u| (u.keyword.clone(), u.pointer.clone()))
        .collect();
    seen.sort();
    let mut want: Vec<(String, String)> = [
        ("else", base.to_owned()),
        ("if", base.to_owned()),
        ("multipleOf", format!("{base}/properties/duration")),
        ("not", format!("{base}/properties/tags/items")),
        ("patternProperties", base.to_owned()),
        ("then", base.to_owned()),
        ("uniqueItems", format!("{base}/properties/tags")),
    ]
    .into_iter()
    .map(|(k, p)| (k.to_owned(), p))
    .collect();
    want.sort();
    assert_eq!(seen, want);
    let schema = body(&got.page);
    assert_eq!(
        schema["properties"]["duration"],
        json!({"type": "integer", "minimum": 5})
    );
    assert_eq!(schema["properties"]["mode"], json!({"type": "string"}));
    assert!(got.unenforced[0].to_string().contains("is not checked"));
    // An answer's unenforced keywords are dropped without a report: no check reads them.
    let mut page = page;
    page["post"]["responses"]["200"]["content"]["application/json"]["schema"]["multipleOf"] =
        json!(2);
    let again = normalize_page(&page).unwrap();
    assert_eq!(again.unenforced, got.unenforced);
    assert_eq!(again.page, got.page);
}

#[test]
fn broken_pages_are_refused_by_name() {
    let defs = |defs: Value| json!({"$defs": defs});
    let field = |schema: Value| json!({"type": "object", "properties": {"f": schema}});
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!([1]), "expected a JSON object", ""),
        (
            with_post(
                field(json!({"$ref": "#/$defs/a"})),
                defs(json!({"a": {"$ref": "#/$defs/a"}})),
            ),
            "$ref cycle",
            "/$defs/a -> /$defs/a",
        ),
        (
            with_post(
                field(json!({"$ref": "#/$defs/node"})),
                defs(json!({"node": {"type": "object", "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}})),
            ),
            "$ref cycle",
            "at /$defs/node/properties/children/items",
        ),
        (
            with_post(json!({"$ref": "#/post"}), json!({})),
            "$ref cycle",
            "/post -> /post",
        ),
        (
            with_post(field(json!({"$ref": "other.json#/$defs/a"})), json!({})),
            "points outside the document",
            "at /post/properties/f",
        ),
        (
            with_post(
                field(json!({"$ref": "https://evil.example/s.json"})),
                json!({}),
            ),
            "points outside the document",
            "evil.example",
        ),
        (
            with_post(field(json!({"$ref": "#/$defs/nope"})), defs(json!({}))),
            "points at nothing",
            "#/$defs/nope",
        ),
        (
            with_post(field(json!({"$ref": "#/$defs/a~2b"})), defs(json!({}))),
            "not a valid JSON pointer",
            "\"~2\"",
        ),
        (
            with_post(
                field(json!({"allOf": [{"type": "string"}, {"type": "integer"}]})),
                json!({}),
            ),
            "allOf cannot be merged on \"type\"",
            "at /post/properties/f",
        ),
        (
            with_post(
                field(json!({"allOf": [{"enum": ["a"]}, {"$ref": "#/$defs/b"}]})),
                defs(json!({"b": {"enum": ["b"]}})),
            ),
            "allOf cannot be merged on \"enum\"",
            "share no value",
        ),
    ];
    for (page, what, place) in cases {
        let got = normalize_page(&page).unwrap_err().to_string();
        assert!(got.contains(what), "{page}: {got} lacks {what}");
        assert!(got.contains(place), "{page}: {got} lacks {place}");
    }
}

#[test]
fn deep_or_exploding_pages_are_refused_not_followed() {
    let mut deep = json!({"type": "string"});
    for _ in 0..200 {
        deep = json!({"type": "array", "items": deep});
    }
    let got = normalize_page(&classic(deep)).unwrap_err();
    assert!(matches!(got, ShapeError::TooDeep { .. }), "{got}");
    // Each level names the one below twice: 2^20 schemas if followed blindly.
    let mut defs = serde_json::Map::new();
    defs.insert("d0".into(), json!({"type": "string"}));
    for i in 1..=20 {
        let below = format!("#/$defs/d{}", i - 1);
        defs.insert(
            format!("d{i}"),
            json!({"type": "object", "properties": {"a": {"$ref": below}, "b": {"$ref": below}}}),
        );
    }
    let page = with_post(json!({"$ref": "#/$defs/d20"}), json!({"$defs": defs}));
    let got = normalize_page(&page).unwrap_err();
    assert!(matches!(got, ShapeError::TooLarge { .. }), "{got}");
}

/// Every sub-schema location of `schema` (properties and items, recursively), as
/// pointers relative to it.
fn subschema_pointers(schema: &Value, at: String, out: &mut Vec<String>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let here = format!("{at}/properties/{}", pointer::escape(name));
            out.push(here.clone());
            subschema_pointers(sub, here, out);
        }
    }
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        let here = format!("{at}/items");
        out.push(here.clone());
        subschema_pointers(items, here, out);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Normalizing twice is normalizing once, and moving any sub-schema of a vendored
    /// body into `$defs` (under a name that needs escaping), or wrapping it in an
    /// `allOf`, normalizes back to the vendored page.
    #[test]
    fn normalize_is_idempotent_and_undoes_todays_shapes(
        pick in any::<prop::sample::Index>(),
        field in any::<prop::sample::Index>(),
        name in "[a-z~/ %]{1,8}",
        wrap in any::<bool>(),
    ) {
        let pages = vendored();
        let (path, page) = &pages[pick.index(pages.len())];
        let once = normalize_page(page).unwrap();
        let twice = normalize_page(&once.page).unwrap();
        prop_assert_eq!(&twice, &once, "{}", path.display());

        let Some(schema) = page.pointer("/post/requestBody/content/application~1json/schema")
        else {
            return Ok(());
        };
        let mut pointers = Vec::new();
        subschema_pointers(schema, String::new(), &mut pointers);
        if pointers.is_empty() {
            return Ok(());
        }
        let at = format!(
            "/post/requestBody/content/application~1json/schema{}",
            pointers[field.index(pointers.len())]
        );
        let mut shaped = page.clone();
        let moved = shaped.pointer(&at).unwrap().clone();
        let encoded: String = pointer::escape(&name).replace('%', "%25").replace(' ', "%20");
        let reference = json!({"$ref": format!("#/$defs/{encoded}")});
        *shaped.pointer_mut(&at).unwrap() = if wrap {
            json!({"allOf": [reference]})
        } else {
            reference
        };
        shaped["$defs"] = json!({ name.clone(): moved });
        let got = normalize_page(&shaped).unwrap();
        prop_assert_eq!(&got.page, &once.page, "{} at {}", path.display(), at);
    }
}

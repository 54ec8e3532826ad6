//! Prose rules as data: reads a model's `<model>.rules.json`, checks it against the
//! model's fragment and emits the static rule list the runtime interprets
//! (`crate::schema::rules::ProseRule` in the `modellix` crate).
//!
//! A rules file names fields; a field the fragment does not have is a build error, so a
//! re-vendored fragment that renamed a field cannot silently drop a rule.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::{Map, Value};

/// The output kinds the sandbox can serve.
pub const OUTPUT_KINDS: &[&str] = &["image", "video", "audio", "text"];

/// Media kinds a field may accept, as spelled in rules files.
const MEDIA_KINDS: &[(&str, &str)] = &[
    ("url", "Url"),
    ("oss", "Oss"),
    ("data_uri", "DataUri"),
    ("base64", "Base64"),
];

/// One file the model answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    /// `image`, `video`, `audio` or `text` (a transcript).
    pub kind: String,
    /// A role such as `last_frame`, for extra outputs.
    pub role: Option<String>,
    /// A boolean request field that must be `true` for this output to exist.
    pub when: Option<String>,
}

/// A checked rules file.
#[derive(Debug, Clone)]
pub struct ModelRules {
    /// What the model answers with; the first is the main output.
    pub outputs: Vec<OutputSpec>,
    /// Request fields that drive the run time (for the learning poll schedule).
    pub runtime_fields: Vec<String>,
    /// `crate::schema::rules::ProseRule` constructors, one per rule.
    pub rules: Vec<TokenStream>,
    /// How many rules of each kind, for reports.
    pub kinds: BTreeMap<String, usize>,
    /// What each field of a `media` rule may hold, as spelled in the rules file
    /// (`url`, `oss`, `data_uri`, `base64`): whether a local image may go inline.
    pub media: Vec<(String, Vec<String>)>,
}

/// Top-level properties of a request schema (the union over oneOf/anyOf branches).
pub fn request_fields(schema: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(props)) = schema.get("properties") {
        out.extend(props.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = schema.get(key) {
            for b in branches {
                for (k, v) in request_fields(b) {
                    out.entry(k).or_insert(v);
                }
            }
        }
    }
    out
}

/// Parses and checks `rules` against the request schema. Errors carry the JSON pointer
/// inside the rules file.
pub fn parse_rules(rules: &Value, request_schema: &Value) -> Result<ModelRules, String> {
    let fields = request_fields(request_schema);
    let Value::Object(top) = rules else {
        return Err("a rules file must be a JSON object".into());
    };
    for key in top.keys() {
        if !["$comment", "outputs", "runtime_fields", "rules"].contains(&key.as_str()) {
            return Err(format!(
                "/{key}: unknown key; expected $comment, outputs, runtime_fields, rules"
            ));
        }
    }
    let outputs = parse_outputs(top.get("outputs"), &fields)?;
    let runtime_fields = match top.get("runtime_fields") {
        None => Vec::new(),
        Some(v) => field_list(v, "/runtime_fields", &fields)?,
    };
    let mut out = Vec::new();
    let mut kinds = BTreeMap::new();
    let mut media = Vec::new();
    let empty = Vec::new();
    let list = match top.get("rules") {
        None => &empty,
        Some(Value::Array(list)) => list,
        Some(_) => return Err("/rules: must be an array".into()),
    };
    for (i, rule) in list.iter().enumerate() {
        let here = format!("/rules/{i}");
        let (kind, tokens) = parse_rule(rule, &here, &fields)?;
        if kind == "media" {
            // Checked by parse_rule: both are lists of strings.
            let strings = |key: &str| -> Vec<String> {
                rule["media"][key]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let accepted = strings("kinds");
            media.extend(strings("fields").into_iter().map(|f| (f, accepted.clone())));
        }
        *kinds.entry(kind).or_default() += 1;
        out.push(tokens);
    }
    Ok(ModelRules {
        outputs,
        runtime_fields,
        rules: out,
        kinds,
        media,
    })
}

fn parse_outputs(
    value: Option<&Value>,
    fields: &BTreeMap<String, Value>,
) -> Result<Vec<OutputSpec>, String> {
    let Some(Value::Array(list)) = value.filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
    else {
        return Err(format!(
            "/outputs: required, a non-empty array such as [{{\"kind\": \"video\"}}] (kinds: {})",
            OUTPUT_KINDS.join(", ")
        ));
    };
    let mut outputs = Vec::new();
    for (i, o) in list.iter().enumerate() {
        let here = format!("/outputs/{i}");
        let obj = o.as_object().ok_or(format!("{here}: must be an object"))?;
        check_keys(obj, &here, &["kind", "role", "when"])?;
        let kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .filter(|k| OUTPUT_KINDS.contains(k))
            .ok_or(format!(
                "{here}/kind: must be one of {}",
                OUTPUT_KINDS.join(", ")
            ))?;
        let role = opt_str(obj, "role", &here)?;
        let when = opt_str(obj, "when", &here)?;
        if let Some(w) = &when {
            field_of(w, &format!("{here}/when"), fields)?;
        }
        outputs.push(OutputSpec {
            kind: kind.to_owned(),
            role,
            when,
        });
    }
    Ok(outputs)
}

fn opt_str(obj: &Map<String, Value>, key: &str, here: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{here}/{key}: must be a string")),
    }
}

fn check_keys(obj: &Map<String, Value>, here: &str, known: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{here}/{k}: unknown key; expected {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

fn field_of<'a>(
    name: &str,
    here: &str,
    fields: &'a BTreeMap<String, Value>,
) -> Result<&'a Value, String> {
    fields.get(name).ok_or_else(|| {
        format!(
            "{here}: {name:?} is not a field of the fragment (fields: {}); fix the rules file",
            fields.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

fn field_list(
    value: &Value,
    here: &str,
    fields: &BTreeMap<String, Value>,
) -> Result<Vec<String>, String> {
    let list = value
        .as_array()
        .filter(|l| !l.is_empty())
        .ok_or(format!("{here}: must be a non-empty array of field names"))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let name = v
                .as_str()
                .ok_or(format!("{here}/{i}: must be a field name"))?;
            field_of(name, &format!("{here}/{i}"), fields)?;
            Ok(name.to_owned())
        })
        .collect()
}

fn str_field(
    obj: &Map<String, Value>,
    key: &str,
    here: &str,
    fields: &BTreeMap<String, Value>,
) -> Result<String, String> {
    let name = obj
        .get(key)
        .and_then(Value::as_str)
        .ok_or(format!("{here}/{key}: must be a field name"))?;
    field_of(name, &format!("{here}/{key}"), fields)?;
    Ok(name.to_owned())
}

fn u64_of(obj: &Map<String, Value>, key: &str, here: &str) -> Result<Option<u64>, String> {
    obj.get(key)
        .map(|v| {
            v.as_u64()
                .ok_or(format!("{here}/{key}: must be a non-negative integer"))
        })
        .transpose()
}

fn opt_tokens<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
    match v {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

fn parse_rule(
    rule: &Value,
    here: &str,
    fields: &BTreeMap<String, Value>,
) -> Result<(String, TokenStream), String> {
    let obj = rule
        .as_object()
        .ok_or(format!("{here}: a rule must be an object"))?;
    let kinds: Vec<&String> = obj
        .keys()
        .filter(|k| !["source", "severity"].contains(&k.as_str()))
        .collect();
    let [kind] = kinds.as_slice() else {
        return Err(format!(
            "{here}: a rule holds exactly one kind (not_together, at_least_one_of, \
             exactly_one_of, unsupported, placeholders, conditional, total, media, dimensions, \
             max_words) besides \"source\" and \"severity\""
        ));
    };
    if obj.contains_key("severity") && kind.as_str() != "conditional" {
        return Err(format!(
            "{here}/severity: only conditional rules take a severity"
        ));
    }
    let body = &obj[kind.as_str()];
    let at = format!("{here}/{kind}");
    let as_obj = |known: &[&str]| -> Result<&Map<String, Value>, String> {
        let o = body.as_object().ok_or(format!("{at}: must be an object"))?;
        check_keys(o, &at, known)?;
        Ok(o)
    };
    let tokens = match kind.as_str() {
        "not_together" => {
            let o = as_obj(&["fields", "with"])?;
            let a = field_list(
                o.get("fields").unwrap_or(&Value::Null),
                &format!("{at}/fields"),
                fields,
            )?;
            let b = field_list(
                o.get("with").unwrap_or(&Value::Null),
                &format!("{at}/with"),
                fields,
            )?;
            quote!(crate::schema::rules::ProseRule::NotTogether { fields: &[#(#a),*], with: &[#(#b),*] })
        }
        "at_least_one_of" | "exactly_one_of" => {
            let list = field_list(body, &at, fields)?;
            if list.len() < 2 {
                return Err(format!("{at}: name at least two fields"));
            }
            if kind.as_str() == "at_least_one_of" {
                quote!(crate::schema::rules::ProseRule::AtLeastOneOf(&[#(#list),*]))
            } else {
                quote!(crate::schema::rules::ProseRule::ExactlyOneOf(&[#(#list),*]))
            }
        }
        "unsupported" => {
            let list = body
                .as_array()
                .filter(|l| !l.is_empty())
                .ok_or(format!("{at}: must be a non-empty array of names"))?;
            let mut names = Vec::new();
            for (i, v) in list.iter().enumerate() {
                let name = v.as_str().ok_or(format!("{at}/{i}: must be a name"))?;
                if fields.contains_key(name) {
                    return Err(format!(
                        "{at}/{i}: {name:?} is a field of the fragment, so it is supported; \
                         remove it from this list"
                    ));
                }
                names.push(name);
            }
            quote!(crate::schema::rules::ProseRule::Unsupported(&[#(#names),*]))
        }
        "placeholders" => {
            let o = as_obj(&["field", "syntax", "inputs"])?;
            let field = str_field(o, "field", &at, fields)?;
            let syntax = o.get("syntax").and_then(Value::as_str).ok_or(format!(
                "{at}/syntax: must be a string such as \"[{{label}} {{n}}]\""
            ))?;
            let (prefix, rest) = syntax
                .split_once("{label}")
                .ok_or(format!("{at}/syntax: {syntax:?} lacks {{label}}"))?;
            let (infix, suffix) = rest.split_once("{n}").ok_or(format!(
                "{at}/syntax: {syntax:?} lacks {{n}} after {{label}}"
            ))?;
            if prefix.is_empty() || suffix.is_empty() {
                return Err(format!(
                    "{at}/syntax: {syntax:?} needs text before {{label}} and after {{n}}"
                ));
            }
            let inputs = o
                .get("inputs")
                .and_then(Value::as_object)
                .filter(|m| !m.is_empty())
                .ok_or(format!("{at}/inputs: must map labels to array fields"))?;
            let mut pairs = Vec::new();
            for (label, input) in inputs {
                let here = format!("{at}/inputs/{label}");
                let name = input
                    .as_str()
                    .ok_or(format!("{here}: must be a field name"))?;
                let schema = field_of(name, &here, fields)?;
                if schema.get("type").and_then(Value::as_str) != Some("array") {
                    return Err(format!("{here}: {name:?} is not an array field"));
                }
                pairs.push(quote!((#label, #name)));
            }
            quote!(crate::schema::rules::ProseRule::Placeholders {
                field: #field, prefix: #prefix, infix: #infix, suffix: #suffix,
                inputs: &[#(#pairs),*],
            })
        }
        "conditional" => {
            let o = as_obj(&["if", "then", "note"])?;
            let cond = o
                .get("if")
                .and_then(Value::as_object)
                .ok_or(format!("{at}/if: must be an object {{\"field\", \"in\"}}"))?;
            check_keys(cond, &format!("{at}/if"), &["field", "in"])?;
            let if_field = str_field(cond, "field", &format!("{at}/if"), fields)?;
            let if_in: Vec<String> = cond
                .get("in")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or(format!("{at}/if/in: must be a non-empty array of values"))?
                .iter()
                .map(Value::to_string)
                .collect();
            let if_default = fields[&if_field].get("default").map(Value::to_string);
            let then = o
                .get("then")
                .and_then(Value::as_object)
                .ok_or(format!("{at}/then: must be an object"))?;
            let then_at = format!("{at}/then");
            check_keys(
                then,
                &then_at,
                &["field", "in", "maximum", "minimum", "absent"],
            )?;
            let then_field = str_field(then, "field", &then_at, fields)?;
            let limits: Vec<&String> = then.keys().filter(|k| *k != "field").collect();
            let limit = match limits.as_slice() {
                [k] if k.as_str() == "in" => {
                    let values: Vec<String> = then["in"]
                        .as_array()
                        .filter(|l| !l.is_empty())
                        .ok_or(format!("{then_at}/in: must be a non-empty array"))?
                        .iter()
                        .map(Value::to_string)
                        .collect();
                    quote!(crate::schema::rules::Limit::In(&[#(#values),*]))
                }
                [k] if k.as_str() == "maximum" || k.as_str() == "minimum" => {
                    let n = then[k.as_str()]
                        .as_f64()
                        .ok_or(format!("{then_at}/{k}: must be a number"))?;
                    if k.as_str() == "maximum" {
                        quote!(crate::schema::rules::Limit::Maximum(#n))
                    } else {
                        quote!(crate::schema::rules::Limit::Minimum(#n))
                    }
                }
                [k] if k.as_str() == "absent" && then[k.as_str()] == Value::Bool(true) => {
                    quote!(crate::schema::rules::Limit::Absent)
                }
                _ => {
                    return Err(format!(
                        "{then_at}: give exactly one limit: in, maximum, minimum or \"absent\": true"
                    ));
                }
            };
            let note = o.get("note").and_then(Value::as_str).ok_or(format!(
                "{at}/note: must say, in words, what the fragment states"
            ))?;
            let severity = match obj.get("severity").map(|v| v.as_str()) {
                None | Some(Some("error")) => quote!(crate::schema::rules::Severity::Error),
                Some(Some("warning")) => quote!(crate::schema::rules::Severity::Warning),
                Some(_) => {
                    return Err(format!("{here}/severity: must be \"error\" or \"warning\""));
                }
            };
            let if_default = opt_tokens(if_default);
            quote!(crate::schema::rules::ProseRule::Conditional {
                if_field: #if_field, if_in: &[#(#if_in),*], if_default: #if_default,
                then_field: #then_field, limit: #limit, note: #note, severity: #severity,
            })
        }
        "total" => {
            let o = as_obj(&["fields", "min", "max"])?;
            let list = field_list(
                o.get("fields").unwrap_or(&Value::Null),
                &format!("{at}/fields"),
                fields,
            )?;
            let (min, max) = (u64_of(o, "min", &at)?, u64_of(o, "max", &at)?);
            if min.is_none() && max.is_none() {
                return Err(format!("{at}: give min, max or both"));
            }
            let (min, max) = (opt_tokens(min), opt_tokens(max));
            quote!(crate::schema::rules::ProseRule::Total { fields: &[#(#list),*], min: #min, max: #max })
        }
        "media" => {
            let o = as_obj(&["fields", "kinds"])?;
            let list = field_list(
                o.get("fields").unwrap_or(&Value::Null),
                &format!("{at}/fields"),
                fields,
            )?;
            for (i, name) in list.iter().enumerate() {
                let schema = &fields[name];
                let ty = schema.get("type").and_then(Value::as_str);
                let item = schema
                    .get("items")
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str);
                if ty != Some("string") && !(ty == Some("array") && item == Some("string")) {
                    return Err(format!(
                        "{at}/fields/{i}: {name:?} holds neither a string nor an array of strings"
                    ));
                }
            }
            let kinds = o
                .get("kinds")
                .and_then(Value::as_array)
                .filter(|l| !l.is_empty())
                .ok_or(format!("{at}/kinds: must be a non-empty array"))?;
            let mut variants = Vec::new();
            for (i, k) in kinds.iter().enumerate() {
                let name = k
                    .as_str()
                    .and_then(|k| MEDIA_KINDS.iter().find(|(n, _)| *n == k))
                    .ok_or(format!(
                        "{at}/kinds/{i}: must be one of {}",
                        MEDIA_KINDS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))?;
                let ident = quote::format_ident!("{}", name.1);
                variants.push(quote!(crate::schema::rules::MediaKind::#ident));
            }
            quote!(crate::schema::rules::ProseRule::Media { fields: &[#(#list),*], kinds: &[#(#variants),*] })
        }
        "dimensions" => {
            let o = as_obj(&["field", "presets", "separator", "min_side", "max_side"])?;
            let field = str_field(o, "field", &at, fields)?;
            let presets: Vec<&str> = match o.get("presets") {
                None => Vec::new(),
                Some(Value::Array(l)) => l
                    .iter()
                    .map(|v| v.as_str().ok_or(format!("{at}/presets: must list strings")))
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(format!("{at}/presets: must be an array")),
            };
            let separator = o
                .get("separator")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or(format!(
                    "{at}/separator: must be a non-empty string such as \"x\""
                ))?;
            let (lo, hi) = (
                opt_tokens(u64_of(o, "min_side", &at)?),
                opt_tokens(u64_of(o, "max_side", &at)?),
            );
            quote!(crate::schema::rules::ProseRule::Dimensions {
                field: #field, presets: &[#(#presets),*], separator: #separator,
                min_side: #lo, max_side: #hi,
            })
        }
        "max_words" => {
            let o = as_obj(&["field", "max"])?;
            let field = str_field(o, "field", &at, fields)?;
            let max = u64_of(o, "max", &at)?.ok_or(format!("{at}/max: required"))? as usize;
            quote!(crate::schema::rules::ProseRule::MaxWords { field: #field, max: #max })
        }
        other => return Err(format!("{here}/{other}: unknown rule kind")),
    };
    Ok((kind.to_string(), tokens))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type":"object","properties":{
            "prompt":{"type":"string"},
            "images":{"type":"array","items":{"type":"string"}},
            "n":{"type":"integer","default":1}
        }})
    }

    #[test]
    fn unknown_fields_and_shapes_are_build_errors() {
        let cases = [
            (
                json!({"outputs":[{"kind":"video"}],"rules":[{"max_words":{"field":"nope","max":3}}]}),
                "/rules/0/max_words/field: \"nope\" is not a field",
            ),
            (json!({"rules":[]}), "/outputs: required"),
            (json!({"outputs":[{"kind":"hologram"}]}), "/outputs/0/kind"),
            (
                json!({"outputs":[{"kind":"image"}],"runtime_fields":["n","x"]}),
                "/runtime_fields/1",
            ),
            (
                json!({"outputs":[{"kind":"image"}],"rules":[{"unsupported":["prompt"]}]}),
                "is a field of the fragment",
            ),
            (
                json!({"outputs":[{"kind":"image"}],"rules":[{"placeholders":{"field":"prompt","syntax":"[{n}]","inputs":{"a":"images"}}}]}),
                "lacks {label}",
            ),
            (
                json!({"outputs":[{"kind":"image"}],"rules":[{"placeholders":{"field":"prompt","syntax":"<{label}{n}>","inputs":{"a":"prompt"}}}]}),
                "not an array field",
            ),
            (
                json!({"outputs":[{"kind":"image"}],"rules":[{"media":{"fields":["n"],"kinds":["url"]}}]}),
                "neither a string",
            ),
            (
                json!({"outputs":[{"kind":"image"}],"rules":[{"bogus":{}}]}),
                "unknown rule kind",
            ),
            (
                json!({"outputs":[{"kind":"image"}],"rules":[{"max_words":{"field":"prompt","max":3},"severity":"warning"}]}),
                "only conditional",
            ),
        ];
        for (rules, want) in cases {
            let err = parse_rules(&rules, &schema()).unwrap_err();
            assert!(err.contains(want), "{rules}: {err}");
        }
    }

    #[test]
    fn conditions_pick_up_the_schema_default() {
        let rules = json!({"outputs":[{"kind":"image"}],"rules":[{"conditional":{
            "if":{"field":"n","in":[1]},"then":{"field":"prompt","absent":true},"note":"x"}}]});
        let parsed = parse_rules(&rules, &schema()).unwrap();
        let code = parsed.rules[0].to_string();
        assert!(code.contains("if_default : Some (\"1\")"), "{code}");
        assert_eq!(parsed.kinds["conditional"], 1);
    }
}

//! Emits the schema checks progenitor does not enforce, as straight-line Rust.
//!
//! The emitted code walks a `serde_json::Value` and calls the small rule helpers of
//! `crate::schema::validate::Checker` in the runtime crate, so the rule semantics live in one
//! hand-written place and the structure of each schema lives in generated code.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Map, Value};

/// Keywords that document a schema without constraining it.
const ANNOTATIONS: &[&str] = &["description", "example", "examples", "default", "title"];

/// Keywords that combine sub-schemas.
const COMBINATORS: &[&str] = &["oneOf", "anyOf"];

/// String `format`s the runtime checks (`crate::schema::validate::Checker::format`).
pub const STRING_FORMATS: &[&str] = &["uri", "email", "uuid", "date-time", "date"];

/// Where a value sits, as a JSON pointer: known at build time, or built at run time
/// inside array loops.
#[derive(Clone)]
enum Pointer {
    Static(String),
    Dynamic(TokenStream),
}

impl Pointer {
    fn child(&self, segment: &str) -> Pointer {
        let escaped = segment.replace('~', "~0").replace('/', "~1");
        match self {
            Pointer::Static(p) => Pointer::Static(format!("{p}/{escaped}")),
            Pointer::Dynamic(p) => {
                let fmt = format!("{{}}/{}", escaped.replace('{', "{{").replace('}', "}}"));
                Pointer::Dynamic(quote!(format!(#fmt, #p)))
            }
        }
    }

    fn tokens(&self) -> TokenStream {
        match self {
            Pointer::Static(p) => quote!(#p),
            Pointer::Dynamic(p) => quote!(&#p),
        }
    }
}

/// Emits checks for `schema`, applied to the `&serde_json::Value` named `value`.
/// Fails with the pointer of the first construct it does not know how to check, so an
/// unknown keyword never becomes a silently skipped rule.
pub fn emit_checks(schema: &Value) -> Result<TokenStream, String> {
    let mut depth = 0;
    emit(
        schema,
        &Pointer::Static(String::new()),
        &quote!(value),
        &mut depth,
    )
}

fn emit(
    schema: &Value,
    ptr: &Pointer,
    value: &TokenStream,
    depth: &mut usize,
) -> Result<TokenStream, String> {
    let here = match ptr {
        Pointer::Static(p) if p.is_empty() => "the request body".to_owned(),
        Pointer::Static(p) => p.clone(),
        Pointer::Dynamic(_) => "an array item".to_owned(),
    };
    let Value::Object(s) = schema else {
        return Err(format!("{here}: a schema must be an object"));
    };
    // OpenAPI 3.0's `nullable` (what `shapes` folds `type: [T, "null"]` into): a null
    // passes, anything else is checked against the rest of the schema.
    if let Some(nullable) = s.get("nullable") {
        let nullable = nullable
            .as_bool()
            .ok_or_else(|| format!("{here}: \"nullable\" must be true or false"))?;
        let mut rest = s.clone();
        rest.remove("nullable");
        let inner = emit(&Value::Object(rest), ptr, value, depth)?;
        return Ok(if nullable {
            quote! { if !#value.is_null() { #inner } }
        } else {
            inner
        });
    }
    let combinator = emit_combinators(s, ptr, value, depth, &here)?;
    let Some(ty) = s.get("type") else {
        if combinator.is_empty() {
            return Err(format!("{here}: the schema has no \"type\""));
        }
        for key in s.keys() {
            if !COMBINATORS.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
                return Err(format!(
                    "{here}: keyword {key:?} next to oneOf/anyOf without a \"type\" is not \
                     checked by the generator; teach codegen/src/checks.rs about it"
                ));
            }
        }
        return Ok(combinator);
    };
    let ty = ty
        .as_str()
        .ok_or_else(|| format!("{here}: \"type\" must be a string"))?;
    let known: &[&str] = match ty {
        "string" => &[
            "type",
            "minLength",
            "maxLength",
            "enum",
            "pattern",
            "format",
        ],
        "integer" | "number" => &["type", "minimum", "maximum", "enum", "format"],
        "boolean" => &["type"],
        "array" => &["type", "items", "minItems", "maxItems"],
        "object" => &["type", "properties", "required", "additionalProperties"],
        other => return Err(format!("{here}: unsupported type {other:?}")),
    };
    for key in s.keys() {
        if !known.contains(&key.as_str())
            && !ANNOTATIONS.contains(&key.as_str())
            && !COMBINATORS.contains(&key.as_str())
        {
            return Err(format!(
                "{here}: keyword {key:?} on a {ty} schema is not checked by the generator; \
                 teach codegen/src/checks.rs about it"
            ));
        }
    }
    let p = ptr.tokens();
    let min = |k: &str| bound_u64(s, k);
    let tokens = match ty {
        "string" => {
            let (lo, hi) = (opt(min("minLength")?), opt(min("maxLength")?));
            let allowed = enum_tokens(s, Value::as_str, |v: &str| quote!(#v))?;
            let pattern = match s.get("pattern") {
                None => quote!(),
                Some(Value::String(source)) => {
                    if let Err(e) = regex::Regex::new(source) {
                        return Err(format!("{here}: pattern {source:?} does not compile: {e}"));
                    }
                    quote! {
                        {
                            static PATTERN: std::sync::LazyLock<Option<regex::Regex>> =
                                std::sync::LazyLock::new(|| regex::Regex::new(#source).ok());
                            checker.pattern(#value, #p, PATTERN.as_ref(), #source);
                        }
                    }
                }
                Some(_) => return Err(format!("{here}: pattern must be a string")),
            };
            let format = match s.get("format") {
                None => quote!(),
                Some(Value::String(f)) if STRING_FORMATS.contains(&f.as_str()) => {
                    quote! { checker.format(#value, #p, #f); }
                }
                Some(other) => {
                    return Err(format!(
                        "{here}: format {other} is not checked by the generator (known: {}); \
                         teach codegen/src/checks.rs and src/validate.rs about it",
                        STRING_FORMATS.join(", ")
                    ));
                }
            };
            quote! { checker.string(#value, #p, #lo, #hi, #allowed); #pattern #format }
        }
        "integer" => {
            let lo = opt(bound_i128(s, "minimum")?);
            let hi = opt(bound_i128(s, "maximum")?);
            let allowed = enum_tokens(s, Value::as_i64, |v: i64| quote!(#v))?;
            quote! { checker.integer(#value, #p, #lo, #hi, #allowed); }
        }
        "number" => {
            let f = |k: &str| {
                s.get(k)
                    .map(|v| v.as_f64().ok_or(format!("{here}: {k} must be a number")))
            };
            let lo = opt(f("minimum").transpose()?);
            let hi = opt(f("maximum").transpose()?);
            let allowed = enum_tokens(s, Value::as_f64, |v: f64| quote!(#v))?;
            quote! { checker.number(#value, #p, #lo, #hi, #allowed); }
        }
        "boolean" => quote! { checker.boolean(#value, #p); },
        "array" => {
            let (lo, hi) = (opt(min("minItems")?), opt(min("maxItems")?));
            *depth += 1;
            let (i, item) = (
                format_ident!("i{}", *depth),
                format_ident!("item{}", *depth),
            );
            let item_ptr = Pointer::Dynamic(match ptr {
                Pointer::Static(p) => {
                    let fmt = format!("{p}/{{}}");
                    quote!(format!(#fmt, #i))
                }
                Pointer::Dynamic(p) => quote!(format!("{}/{}", #p, #i)),
            });
            let items = match s.get("items") {
                Some(items) => emit(items, &item_ptr, &quote!(#item), depth)?,
                None => return Err(format!("{here}: an array schema needs \"items\"")),
            };
            quote! {
                if let Some(items) = checker.array(#value, #p, #lo, #hi) {
                    for (#i, #item) in items.iter().enumerate() {
                        #items
                    }
                }
            }
        }
        "object" => emit_object(s, ptr, value, depth, &here)?,
        _ => unreachable!("type checked above"),
    };
    Ok(quote! { #tokens #combinator })
}

/// `oneOf` / `anyOf`: every branch is checked on its own checker; `Checker::branches`
/// then keeps the closest branch's violations (or reports that several matched).
fn emit_combinators(
    s: &Map<String, Value>,
    ptr: &Pointer,
    value: &TokenStream,
    depth: &mut usize,
    here: &str,
) -> Result<TokenStream, String> {
    let mut out = TokenStream::new();
    for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        let Some(branches) = s.get(key) else { continue };
        let branches = branches
            .as_array()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| format!("{here}: {key} must be a non-empty array"))?;
        let mut each = Vec::new();
        for (n, branch) in branches.iter().enumerate() {
            let checks =
                emit(branch, ptr, value, depth).map_err(|e| format!("{e} (in {key}/{n})"))?;
            each.push(quote! {
                {
                    let mut checker = crate::schema::validate::Checker::default();
                    #checks
                    branches.push(checker);
                }
            });
        }
        let p = ptr.tokens();
        out.extend(quote! {
            {
                let mut branches = Vec::new();
                #(#each)*
                checker.branches(#p, branches, #exactly_one);
            }
        });
    }
    Ok(out)
}

fn emit_object(
    s: &Map<String, Value>,
    ptr: &Pointer,
    value: &TokenStream,
    depth: &mut usize,
    here: &str,
) -> Result<TokenStream, String> {
    let p = ptr.tokens();
    let required: Vec<&str> = match s.get("required") {
        None => Vec::new(),
        Some(Value::Array(r)) => r
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or(format!("{here}: \"required\" must list strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{here}: \"required\" must be an array")),
    };
    let closed = match s.get("additionalProperties") {
        None | Some(Value::Bool(true)) => false,
        Some(Value::Bool(false)) => true,
        Some(Value::Object(o)) if o.is_empty() => false,
        Some(_) => {
            return Err(format!(
                "{here}: additionalProperties with a schema is not supported"
            ));
        }
    };
    let empty = Map::new();
    let props = match s.get("properties") {
        Some(Value::Object(props)) => props,
        None => &empty,
        Some(_) => return Err(format!("{here}: \"properties\" must be an object")),
    };
    for name in &required {
        if !props.contains_key(*name) {
            return Err(format!("{here}: required property {name:?} has no schema"));
        }
    }
    *depth += 1;
    let obj = format_ident!("object{}", *depth);
    let mut body = Vec::new();
    for (name, sub) in props {
        let field = format_ident!("field{}", *depth);
        let checks = emit(sub, &ptr.child(name), &quote!(#field), depth)?;
        body.push(quote! {
            if let Some(#field) = #obj.get(#name) {
                #checks
            }
        });
    }
    let known: Vec<&str> = props.keys().map(String::as_str).collect();
    if body.is_empty() && !closed {
        return Ok(quote! { checker.object(#value, #p, &[#(#required),*]); });
    }
    let closed_check =
        closed.then(|| quote! { checker.no_other_properties(#obj, #p, &[#(#known),*]); });
    Ok(quote! {
        if let Some(#obj) = checker.object(#value, #p, &[#(#required),*]) {
            #(#body)*
            #closed_check
        }
    })
}

fn opt<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
    match v {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

fn bound_u64(s: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    s.get(key)
        .map(|v| {
            v.as_u64()
                .ok_or(format!("{key} must be a non-negative integer"))
        })
        .transpose()
}

fn bound_i128(s: &Map<String, Value>, key: &str) -> Result<Option<Literal>, String> {
    s.get(key)
        .map(|v| match (v.as_i64(), v.as_u64()) {
            (Some(i), _) => Ok(Literal::i128_unsuffixed(i128::from(i))),
            (None, Some(u)) => Ok(Literal::i128_unsuffixed(i128::from(u))),
            _ => Err(format!("{key} of an integer schema must be an integer")),
        })
        .transpose()
}

/// `Some((&[values], "rendered list"))` for an `enum`, `None` without one.
fn enum_tokens<'a, T>(
    s: &'a Map<String, Value>,
    get: impl Fn(&'a Value) -> Option<T>,
    lit: impl Fn(T) -> TokenStream,
) -> Result<TokenStream, String> {
    let Some(values) = s.get("enum") else {
        return Ok(quote!(None));
    };
    let values = values.as_array().ok_or("\"enum\" must be an array")?;
    let rendered = values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let items = values
        .iter()
        .map(|v| {
            get(v)
                .map(&lit)
                .ok_or(format!("enum value {v} does not match the type"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quote!(Some((&[#(#items),*], #rendered))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keywords_fail_loudly() {
        let err = emit_checks(&json!({"type":"object","properties":{
            "a":{"type":"string","contentEncoding":"x"}}}))
        .unwrap_err();
        assert!(
            err.contains("/a") && err.contains("contentEncoding"),
            "{err}"
        );
        let err = emit_checks(&json!({"type":"object","properties":{
            "a":{"type":"string","format":"hostname"}}}))
        .unwrap_err();
        assert!(err.contains("/a") && err.contains("hostname"), "{err}");
        let err = emit_checks(
            &json!({"oneOf":[{"type":"object"},{"type":"object","properties":{
            "b":{"type":"string","pattern":"("}}}]}),
        )
        .unwrap_err();
        assert!(err.contains("/b") && err.contains("oneOf/1"), "{err}");
    }

    #[test]
    fn nested_items_get_runtime_pointers() {
        let code = emit_checks(&json!({"type":"object","properties":{
            "l":{"type":"array","items":{"type":"string","minLength":1}}}}))
        .unwrap()
        .to_string();
        assert!(code.contains("\"/l/{}\""), "{code}");
    }

    #[test]
    fn a_nullable_schema_lets_null_through_and_checks_the_rest() {
        let code = emit_checks(&json!({"type":"object","properties":{
            "s":{"type":"string","nullable":true,"maxLength":3}}}))
        .unwrap()
        .to_string();
        let guard = code.find("is_null").expect("a null guard");
        let check = code.find("checker . string").expect("the string check");
        assert!(guard < check, "{code}");
        let plain = emit_checks(&json!({"type":"string","nullable":false}))
            .unwrap()
            .to_string();
        assert!(!plain.contains("is_null"), "{plain}");
        let err = emit_checks(&json!({"type":"string","nullable":"yes"})).unwrap_err();
        assert!(err.contains("nullable"), "{err}");
    }
}

//! The runtime checker: the rules of a request schema read at run time (a live schema
//! page), enforced by the same [`Checker`] calls, in the same order, as the checks
//! `codegen/src/checks.rs` generates at build time, so both give the same verdicts
//! (`tests/runtime_checker.rs` proves it over every vendored fragment).
//!
//! A schema is compiled once into a tree that borrows its strings and holds its
//! compiled patterns; checking a body walks that tree. A keyword the checker cannot
//! enforce (`if`, `multipleOf`, a `format` it does not know, …) is not a failure: it
//! becomes a [`Warning`](crate::schema::validate::Warning) naming the keyword and the field, on every check.

use std::fmt;

use serde_json::{Map, Value};

use crate::schema::validate::{Checker, ValidationError, Warnings};

/// Keywords that document a schema without constraining it (as the generator reads them).
const ANNOTATIONS: &[&str] = &[
    "description",
    "example",
    "examples",
    "default",
    "title",
    "contentMediaType",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// The string formats [`Checker::format`] knows.
const STRING_FORMATS: &[&str] = &["uri", "email", "uuid", "date-time", "date"];

/// A request schema that cannot be checked at all (not an object, a `type` that is not
/// a string, a bound that is not a number); the message names where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON pointer into the schema's instance space (`/duration`; empty for the body).
    pub pointer: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "the request body"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.problem)
    }
}

impl std::error::Error for SchemaError {}

/// A keyword of the schema the checker does not enforce, reported as a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unenforced {
    /// The keyword (`multipleOf`, `if`, `format: hostname`).
    pub keyword: String,
    /// JSON pointer of the field it sits on (empty for the body).
    pub pointer: String,
}

/// A request schema compiled for checking bodies at run time.
///
/// ```
/// use serde_json::json;
///
/// let schema = json!({"type": "object", "required": ["prompt"], "properties": {
///     "prompt": {"type": "string", "minLength": 1},
///     "duration": {"type": "integer", "enum": [5, 10], "multipleOf": 5}}});
/// let checker = modellix::RuntimeChecker::compile(&schema)?;
/// let err = checker.check(&json!({"duration": 7})).unwrap_err();
/// assert_eq!(err.violations().len(), 2); // /prompt missing, /duration not allowed
/// let warnings = checker.check(&json!({"prompt": "a fox", "duration": 5}))?;
/// assert!(warnings.iter().any(|w| w.pointer == "/duration" && w.message.contains("multipleOf")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RuntimeChecker<'s> {
    root: Node<'s>,
    unenforced: Vec<Unenforced>,
}

#[derive(Debug)]
struct Node<'s> {
    kind: Kind<'s>,
    /// `(branches, exactly_one)`: `oneOf` then `anyOf`, as the generator emits them.
    combinators: Vec<(Vec<Node<'s>>, bool)>,
    /// `nullable: true` (OpenAPI 3.0): a `null` value passes.
    nullable: bool,
}

type Allowed<'s, T> = Option<(Vec<T>, String)>;

#[derive(Debug)]
enum Kind<'s> {
    /// No `type`: only the combinators apply.
    Any,
    String {
        min: Option<u64>,
        max: Option<u64>,
        allowed: Allowed<'s, &'s str>,
        pattern: Option<(Option<regex::Regex>, &'s str)>,
        format: Option<&'static str>,
    },
    Integer {
        min: Option<i128>,
        max: Option<i128>,
        allowed: Allowed<'s, i64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
        allowed: Allowed<'s, f64>,
    },
    Boolean,
    Array {
        min: Option<u64>,
        max: Option<u64>,
        items: Option<Box<Node<'s>>>,
    },
    Object {
        required: Vec<&'s str>,
        /// `(name, escaped name, pointer outside arrays, schema)`.
        properties: Vec<(&'s str, String, String, Node<'s>)>,
        /// The object's own pointer outside arrays: when checked there, the fields'
        /// pointers are the ones above, made once.
        at: String,
        closed: bool,
        known: Vec<&'s str>,
    },
}

impl<'s> RuntimeChecker<'s> {
    /// Compiles a request body schema (the classic shape the vendored fragments use:
    /// inline, no `$ref`). Fails only when the schema cannot be read at all; keywords
    /// it cannot enforce are listed by [`Self::unenforced`].
    pub fn compile(schema: &'s Value) -> Result<RuntimeChecker<'s>, SchemaError> {
        let mut unenforced = Vec::new();
        let root = compile(schema, "", &mut unenforced)?;
        Ok(RuntimeChecker { root, unenforced })
    }

    /// The keywords this checker does not enforce, with the field each sits on.
    pub fn unenforced(&self) -> &[Unenforced] {
        &self.unenforced
    }

    /// Checks a body: every violation at once, or the warnings of a valid body (one per
    /// unenforced keyword among them).
    pub fn check(&self, value: &Value) -> Result<Warnings, ValidationError> {
        let mut checker = Checker::default();
        self.check_into(value, &mut checker);
        checker.finish()
    }

    /// Runs the checks into `checker`, for callers that add prose rules after.
    pub(crate) fn check_into(&self, value: &Value, checker: &mut Checker) {
        check(&self.root, value, "", checker);
        for u in &self.unenforced {
            checker.warn(
                &u.pointer,
                format!(
                    "the schema's {} is not checked by this client; make sure the value \
                     meets it",
                    u.keyword
                ),
            );
        }
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn bad(pointer: &str, problem: impl Into<String>) -> SchemaError {
    SchemaError {
        pointer: pointer.to_owned(),
        problem: problem.into(),
    }
}

fn compile<'s>(
    schema: &'s Value,
    pointer: &str,
    unenforced: &mut Vec<Unenforced>,
) -> Result<Node<'s>, SchemaError> {
    let Value::Object(s) = schema else {
        // `true`/`{}`-like schemas accept anything; `false` is not seen in request bodies.
        return match schema {
            Value::Bool(true) => Ok(Node {
                kind: Kind::Any,
                combinators: Vec::new(),
                nullable: false,
            }),
            _ => Err(bad(pointer, "a schema must be an object")),
        };
    };
    let mut combinators = Vec::new();
    for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        let Some(branches) = s.get(key) else { continue };
        let branches = branches
            .as_array()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad(pointer, format!("{key} must be a non-empty array")))?;
        let nodes = branches
            .iter()
            .map(|b| compile(b, pointer, unenforced))
            .collect::<Result<Vec<_>, _>>()?;
        combinators.push((nodes, exactly_one));
    }
    let nullable = s.get("nullable") == Some(&Value::Bool(true));
    let mut note = |keyword: String| {
        let u = Unenforced {
            keyword,
            pointer: pointer.to_owned(),
        };
        if !unenforced.contains(&u) {
            unenforced.push(u);
        }
    };
    let ty = match s.get("type") {
        None => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(other) => return Err(bad(pointer, format!("\"type\" {other} must be a string"))),
    };
    let known: &[&str] = match ty {
        None => &[],
        Some("string") => &[
            "type",
            "minLength",
            "maxLength",
            "enum",
            "pattern",
            "format",
        ],
        Some("integer" | "number") => &["type", "minimum", "maximum", "enum", "format"],
        Some("boolean") => &["type"],
        Some("array") => &["type", "items", "minItems", "maxItems"],
        Some("object") => &["type", "properties", "required", "additionalProperties"],
        Some(other) => {
            note(format!("type {other:?}"));
            &["type"]
        }
    };
    for key in s.keys() {
        let key = key.as_str();
        if !known.contains(&key)
            && !ANNOTATIONS.contains(&key)
            && !["oneOf", "anyOf", "nullable"].contains(&key)
        {
            note(key.to_owned());
        }
    }
    let u64_of = |key: &str| -> Result<Option<u64>, SchemaError> {
        s.get(key)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| bad(pointer, format!("{key} must be a non-negative integer")))
            })
            .transpose()
    };
    let kind = match ty {
        Some("string") => {
            let allowed = enum_of(s, pointer, Value::as_str)?;
            let pattern = match s.get("pattern") {
                None => None,
                Some(Value::String(source)) => {
                    let regex = regex::Regex::new(source).ok();
                    if regex.is_none() {
                        note(format!("pattern {source:?} (does not compile)"));
                    }
                    Some((regex, source.as_str()))
                }
                Some(_) => return Err(bad(pointer, "pattern must be a string")),
            };
            let format = match s.get("format") {
                None => None,
                Some(Value::String(f)) => match STRING_FORMATS.iter().find(|k| **k == f) {
                    Some(known) => Some(*known),
                    None => {
                        note(format!("format {f:?}"));
                        None
                    }
                },
                Some(_) => return Err(bad(pointer, "format must be a string")),
            };
            Kind::String {
                min: u64_of("minLength")?,
                max: u64_of("maxLength")?,
                allowed,
                pattern,
                format,
            }
        }
        Some("integer") => {
            let bound = |key: &str| -> Result<Option<i128>, SchemaError> {
                s.get(key)
                    .map(|v| match (v.as_i64(), v.as_u64()) {
                        (Some(i), _) => Ok(i128::from(i)),
                        (None, Some(u)) => Ok(i128::from(u)),
                        _ => Err(bad(
                            pointer,
                            format!("{key} of an integer schema must be an integer"),
                        )),
                    })
                    .transpose()
            };
            Kind::Integer {
                min: bound("minimum")?,
                max: bound("maximum")?,
                allowed: enum_of(s, pointer, Value::as_i64)?,
            }
        }
        Some("number") => {
            let bound = |key: &str| -> Result<Option<f64>, SchemaError> {
                s.get(key)
                    .map(|v| {
                        v.as_f64()
                            .ok_or_else(|| bad(pointer, format!("{key} must be a number")))
                    })
                    .transpose()
            };
            Kind::Number {
                min: bound("minimum")?,
                max: bound("maximum")?,
                allowed: enum_of(s, pointer, Value::as_f64)?,
            }
        }
        Some("boolean") => Kind::Boolean,
        Some("array") => {
            let item_pointer = format!("{pointer}/*");
            let items = match s.get("items") {
                Some(items) => Some(Box::new(compile(items, &item_pointer, unenforced)?)),
                None => None,
            };
            Kind::Array {
                min: u64_of("minItems")?,
                max: u64_of("maxItems")?,
                items,
            }
        }
        Some("object") => compile_object(s, pointer, unenforced)?,
        _ => Kind::Any,
    };
    Ok(Node {
        kind,
        combinators,
        nullable,
    })
}

fn compile_object<'s>(
    s: &'s Map<String, Value>,
    pointer: &str,
    unenforced: &mut Vec<Unenforced>,
) -> Result<Kind<'s>, SchemaError> {
    let required = match s.get("required") {
        None => Vec::new(),
        Some(Value::Array(r)) => r
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| bad(pointer, "\"required\" must list strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad(pointer, "\"required\" must be an array")),
    };
    let closed = match s.get("additionalProperties") {
        None | Some(Value::Bool(true)) => false,
        Some(Value::Bool(false)) => true,
        Some(Value::Object(o)) if o.is_empty() => false,
        Some(_) => {
            let u = Unenforced {
                keyword: "additionalProperties (a schema)".into(),
                pointer: pointer.to_owned(),
            };
            if !unenforced.contains(&u) {
                unenforced.push(u);
            }
            false
        }
    };
    let mut properties = Vec::new();
    match s.get("properties") {
        None => {}
        Some(Value::Object(props)) => {
            for (name, sub) in props {
                let escaped = escape(name);
                let child = format!("{pointer}/{escaped}");
                let node = compile(sub, &child, unenforced)?;
                properties.push((name.as_str(), escaped, child, node));
            }
        }
        Some(_) => return Err(bad(pointer, "\"properties\" must be an object")),
    }
    let known = properties.iter().map(|(name, _, _, _)| *name).collect();
    Ok(Kind::Object {
        required,
        properties,
        at: pointer.to_owned(),
        closed,
        known,
    })
}

/// `Some((values, rendered))` for an `enum`, as the generator renders it.
fn enum_of<'s, T>(
    s: &'s Map<String, Value>,
    pointer: &str,
    get: impl Fn(&'s Value) -> Option<T>,
) -> Result<Allowed<'s, T>, SchemaError> {
    let Some(values) = s.get("enum") else {
        return Ok(None);
    };
    let values = values
        .as_array()
        .ok_or_else(|| bad(pointer, "\"enum\" must be an array"))?;
    let rendered = values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let items = values
        .iter()
        .map(|v| {
            get(v).ok_or_else(|| bad(pointer, format!("enum value {v} does not match the type")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((items, rendered)))
}

/// Mirrors the generated code: the type's own checks, then `oneOf`, then `anyOf`.
fn check(node: &Node<'_>, value: &Value, pointer: &str, checker: &mut Checker) {
    if node.nullable && value.is_null() {
        return;
    }
    match &node.kind {
        Kind::Any => {}
        Kind::String {
            min,
            max,
            allowed,
            pattern,
            format,
        } => {
            let allowed = allowed.as_ref().map(|(v, r)| (v.as_slice(), r.as_str()));
            checker.string(value, pointer, *min, *max, allowed);
            if let Some((regex, source)) = pattern {
                checker.pattern(value, pointer, regex.as_ref(), source);
            }
            if let Some(format) = format {
                checker.format(value, pointer, format);
            }
        }
        Kind::Integer { min, max, allowed } => {
            let allowed = allowed.as_ref().map(|(v, r)| (v.as_slice(), r.as_str()));
            checker.integer(value, pointer, *min, *max, allowed);
        }
        Kind::Number { min, max, allowed } => {
            let allowed = allowed.as_ref().map(|(v, r)| (v.as_slice(), r.as_str()));
            checker.number(value, pointer, *min, *max, allowed);
        }
        Kind::Boolean => checker.boolean(value, pointer),
        Kind::Array { min, max, items } => {
            if let Some(values) = checker.array(value, pointer, *min, *max)
                && let Some(items) = items
            {
                for (i, item) in values.iter().enumerate() {
                    check(items, item, &format!("{pointer}/{i}"), checker);
                }
            }
        }
        Kind::Object {
            required,
            properties,
            at,
            closed,
            known,
        } => {
            if let Some(object) = checker.object(value, pointer, required) {
                for (name, escaped, child, sub) in properties {
                    if let Some(field) = object.get(*name) {
                        if pointer == at {
                            check(sub, field, child, checker);
                        } else {
                            check(sub, field, &format!("{pointer}/{escaped}"), checker);
                        }
                    }
                }
                if *closed {
                    checker.no_other_properties(object, pointer, known);
                }
            }
        }
    }
    for (branches, exactly_one) in &node.combinators {
        let mut each = Vec::with_capacity(branches.len());
        for branch in branches {
            let mut sub = Checker::default();
            check(branch, value, pointer, &mut sub);
            each.push(sub);
        }
        checker.branches(pointer, each, *exactly_one);
    }
}

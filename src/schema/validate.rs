//! Request validation: the rule semantics behind every generated `validate()`.
//!
//! The build script emits, for each request type, code that walks the request as JSON
//! and calls the [`Checker`] below at every node of the schema. All violations are
//! collected, so one call tells the user everything that is wrong.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Number, Value};

/// One broken rule and where it is broken.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON pointer of the offending value (`/video_urls`, `/audio_urls/0`); empty for
    /// the whole request.
    pub pointer: String,
    /// The rule that is broken.
    pub rule: Rule,
}

/// What a [`Violation`] breaks.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rule {
    /// A required field is missing.
    Required,
    /// The value has the wrong JSON type.
    Type {
        /// The JSON type the schema asks for.
        expected: &'static str,
    },
    /// A string is shorter than `minLength` (counted in characters).
    MinLength {
        /// The schema's minimum.
        min: u64,
        /// Characters found.
        actual: u64,
    },
    /// A string is longer than `maxLength` (counted in characters).
    MaxLength {
        /// The schema's maximum.
        max: u64,
        /// Characters found.
        actual: u64,
    },
    /// A number is below `minimum`.
    Minimum {
        /// The schema's minimum.
        min: Number,
        /// The value found.
        actual: Number,
    },
    /// A number is above `maximum`.
    Maximum {
        /// The schema's maximum.
        max: Number,
        /// The value found.
        actual: Number,
    },
    /// An array has fewer than `minItems` items.
    MinItems {
        /// The schema's minimum.
        min: u64,
        /// Items found.
        actual: u64,
    },
    /// An array has more than `maxItems` items.
    MaxItems {
        /// The schema's maximum.
        max: u64,
        /// Items found.
        actual: u64,
    },
    /// The value is not one of the schema's `enum` values.
    NotAllowed {
        /// The allowed values, as JSON, comma separated.
        allowed: String,
        /// The value found, as JSON.
        actual: String,
    },
    /// A field the schema does not define, where the schema forbids others.
    UnknownField,
    /// A string does not match the schema's `pattern` (a regular expression).
    Pattern {
        /// The pattern, as the fragment states it.
        pattern: String,
    },
    /// A string is not in the schema's `format` (`uri`, `email`, …).
    Format {
        /// The format's name.
        format: &'static str,
    },
    /// The value matches more than one branch of a `oneOf`, which asks for exactly one.
    OneOf {
        /// How many branches it matches.
        matched: usize,
    },
    /// A rule the fragment states in prose; the message says how to fix it.
    Prose {
        /// What is wrong and what to do.
        message: String,
    },
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Required => write!(f, "is required but missing"),
            Rule::Type { expected } => write!(f, "must be of type {expected}"),
            Rule::MinLength { min, actual } => {
                write!(f, "must be at least {min} characters long (found {actual})")
            }
            Rule::MaxLength { max, actual } => {
                write!(f, "must be at most {max} characters long (found {actual})")
            }
            Rule::Minimum { min, actual } => write!(f, "must be at least {min} (found {actual})"),
            Rule::Maximum { max, actual } => write!(f, "must be at most {max} (found {actual})"),
            Rule::MinItems { min, actual } => {
                write!(f, "must hold at least {min} item(s) (found {actual})")
            }
            Rule::MaxItems { max, actual } => {
                write!(f, "must hold at most {max} item(s) (found {actual})")
            }
            Rule::NotAllowed { allowed, actual } => {
                write!(f, "must be one of {allowed} (found {actual})")
            }
            Rule::UnknownField => write!(f, "is not a field of this request"),
            Rule::Pattern { pattern } => write!(f, "must match the pattern {pattern}"),
            Rule::Format { format } => write!(f, "must be a valid {format}"),
            Rule::OneOf { matched } => write!(
                f,
                "matches {matched} of the alternative shapes, but must match exactly one: \
                 remove the fields that belong to the other shapes"
            ),
            Rule::Prose { message } => f.write_str(message),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "request"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.rule)
    }
}

/// Advice about a request that is valid but probably not what was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// JSON pointer of the value the advice is about.
    pub pointer: String,
    /// The advice.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

/// The warnings of a request that passed validation; empty for most requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings(pub Vec<Warning>);

impl Warnings {
    /// True when there is no advice.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The warnings in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Warning> {
        self.0.iter()
    }
}

/// A request that breaks one or more rules of its schema; nothing was sent.
///
/// `Display` lists every violation on its own line:
///
/// ```
/// use modellix::types::Seedance20V2vRequest;
///
/// let request = Seedance20V2vRequest::builder()
///     .prompt("")
///     .video_urls(Vec::<String>::new())
///     .build()?;
/// let err = request.validate().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "the request breaks 2 rule(s); nothing was sent:\n  \
///      /prompt: must be at least 1 characters long (found 0)\n  \
///      /video_urls: must hold at least 1 item(s) (found 0)"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    violations: Vec<Violation>,
    warnings: Vec<Warning>,
}

impl ValidationError {
    /// Every violation, in schema order.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Advice found alongside the violations.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The violation at `pointer`, if any.
    pub fn at(&self, pointer: &str) -> Option<&Violation> {
        self.violations.iter().find(|v| v.pointer == pointer)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request breaks {} rule(s); nothing was sent:",
            self.violations.len()
        )?;
        for v in &self.violations {
            write!(f, "\n  {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// Collects violations while generated code walks a request (or a builder is filled).
#[derive(Debug, Clone, Default)]
pub struct Checker {
    violations: Vec<Violation>,
    warnings: Vec<Warning>,
}

impl Checker {
    /// Records that `rule` is broken at `pointer`.
    pub fn violation(&mut self, pointer: &str, rule: Rule) {
        self.violations.push(Violation {
            pointer: pointer.to_owned(),
            rule,
        });
    }

    /// Records advice at `pointer`: reported with the result, never a refusal.
    pub fn warn(&mut self, pointer: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            pointer: pointer.to_owned(),
            message: message.into(),
        });
    }

    /// True once a rule was found broken.
    pub fn has_violations(&self) -> bool {
        !self.violations.is_empty()
    }

    /// The violations so far as an error (an empty list if there are none; callers
    /// check [`Self::has_violations`] first).
    pub fn into_error(self) -> ValidationError {
        ValidationError {
            violations: self.violations,
            warnings: self.warnings,
        }
    }

    /// The warnings when no rule is broken, else every violation (with the warnings).
    pub fn finish(self) -> Result<Warnings, ValidationError> {
        if self.violations.is_empty() {
            Ok(Warnings(self.warnings))
        } else {
            Err(ValidationError {
                violations: self.violations,
                warnings: self.warnings,
            })
        }
    }

    /// Checks that `value` is an object holding every `required` field; returns the object to
    /// check its fields in, or `None` (recorded) when it is not an object.
    pub fn object<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
        required: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(object) = value else {
            self.violation(pointer, Rule::Type { expected: "object" });
            return None;
        };
        for name in required {
            if !object.contains_key(*name) {
                self.violation(&format!("{pointer}/{name}"), Rule::Required);
            }
        }
        Some(object)
    }

    /// Checks that `object` holds no field outside `known` (`additionalProperties: false`).
    #[allow(dead_code)] // emitted only for schemas with `additionalProperties: false`
    pub fn no_other_properties(
        &mut self,
        object: &Map<String, Value>,
        pointer: &str,
        known: &[&str],
    ) {
        for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
            let escaped = key.replace('~', "~0").replace('/', "~1");
            self.violation(&format!("{pointer}/{escaped}"), Rule::UnknownField);
        }
    }

    /// Checks that `value` is an array of `min..=max` items; returns the items to check, or
    /// `None` (recorded) when it is not an array.
    pub fn array<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
        min: Option<u64>,
        max: Option<u64>,
    ) -> Option<&'v Vec<Value>> {
        let Value::Array(items) = value else {
            self.violation(pointer, Rule::Type { expected: "array" });
            return None;
        };
        let actual = items.len() as u64;
        if let Some(min) = min.filter(|m| actual < *m) {
            self.violation(pointer, Rule::MinItems { min, actual });
        }
        if let Some(max) = max.filter(|m| actual > *m) {
            self.violation(pointer, Rule::MaxItems { max, actual });
        }
        Some(items)
    }

    /// Checks that `value` is a string of `min..=max` characters, one of `allowed` if given
    /// (`(values, rendered)`).
    pub fn string(
        &mut self,
        value: &Value,
        pointer: &str,
        min: Option<u64>,
        max: Option<u64>,
        allowed: Option<(&[&str], &str)>,
    ) {
        let Value::String(s) = value else {
            self.violation(pointer, Rule::Type { expected: "string" });
            return;
        };
        if let Some((values, rendered)) = allowed {
            if !values.contains(&s.as_str()) {
                self.violation(pointer, not_allowed(rendered, value));
            }
            return;
        }
        if min.is_none() && max.is_none() {
            return;
        }
        // Characters, not bytes: the limits in Modellix's schemas are about text.
        let actual = s.chars().count() as u64;
        if let Some(min) = min.filter(|m| actual < *m) {
            self.violation(pointer, Rule::MinLength { min, actual });
        }
        if let Some(max) = max.filter(|m| actual > *m) {
            self.violation(pointer, Rule::MaxLength { max, actual });
        }
    }

    /// Checks that `value` is an integer within `min..=max`, one of `allowed` if given.
    pub fn integer(
        &mut self,
        value: &Value,
        pointer: &str,
        min: Option<i128>,
        max: Option<i128>,
        allowed: Option<(&[i64], &str)>,
    ) {
        let Value::Number(n) = value else {
            self.violation(
                pointer,
                Rule::Type {
                    expected: "integer",
                },
            );
            return;
        };
        let Some(actual) = n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
        else {
            self.violation(
                pointer,
                Rule::Type {
                    expected: "integer",
                },
            );
            return;
        };
        if let Some((values, rendered)) = allowed
            && !values.iter().any(|v| i128::from(*v) == actual)
        {
            self.violation(pointer, not_allowed(rendered, value));
        }
        if let Some(min) = min.filter(|m| actual < *m) {
            let min = number(min);
            self.violation(
                pointer,
                Rule::Minimum {
                    min,
                    actual: n.clone(),
                },
            );
        }
        if let Some(max) = max.filter(|m| actual > *m) {
            let max = number(max);
            self.violation(
                pointer,
                Rule::Maximum {
                    max,
                    actual: n.clone(),
                },
            );
        }
    }

    /// Checks that `value` is a number within `min..=max`, one of `allowed` if given.
    #[allow(dead_code)] // emitted only for schemas with `type: number`
    pub fn number(
        &mut self,
        value: &Value,
        pointer: &str,
        min: Option<f64>,
        max: Option<f64>,
        allowed: Option<(&[f64], &str)>,
    ) {
        let Some(actual) = value.as_f64() else {
            self.violation(pointer, Rule::Type { expected: "number" });
            return;
        };
        if let Some((values, rendered)) = allowed
            && !values.contains(&actual)
        {
            self.violation(pointer, not_allowed(rendered, value));
        }
        let n = |x: f64| Number::from_f64(x).unwrap_or_else(|| Number::from(0));
        if let Some(min) = min.filter(|m| actual < *m) {
            self.violation(
                pointer,
                Rule::Minimum {
                    min: n(min),
                    actual: n(actual),
                },
            );
        }
        if let Some(max) = max.filter(|m| actual > *m) {
            self.violation(
                pointer,
                Rule::Maximum {
                    max: n(max),
                    actual: n(actual),
                },
            );
        }
    }

    /// Checks that `value` is `true` or `false`.
    pub fn boolean(&mut self, value: &Value, pointer: &str) {
        if !value.is_boolean() {
            self.violation(
                pointer,
                Rule::Type {
                    expected: "boolean",
                },
            );
        }
    }
}

impl Checker {
    /// A string that does not match `pattern` (searched, not anchored, as JSON Schema
    /// says). `regex` is `None` only if the pattern failed to compile, which the build
    /// rules out.
    #[allow(dead_code)] // emitted only for schemas with `pattern`
    pub fn pattern(
        &mut self,
        value: &Value,
        pointer: &str,
        regex: Option<&regex::Regex>,
        pattern: &str,
    ) {
        if let (Value::String(s), Some(regex)) = (value, regex)
            && !regex.is_match(s)
        {
            self.violation(
                pointer,
                Rule::Pattern {
                    pattern: pattern.to_owned(),
                },
            );
        }
    }

    /// A string that is not in `format`; other types are left to the type check.
    #[allow(dead_code)] // emitted only for schemas with `format`
    pub fn format(&mut self, value: &Value, pointer: &str, format: &'static str) {
        if let Value::String(s) = value
            && !crate::schema::format::matches(format, s)
        {
            self.violation(pointer, Rule::Format { format });
        }
    }

    /// Merges the checkers of the branches of a `oneOf` (`exactly_one`) or `anyOf`: a
    /// match keeps its warnings; no match reports the closest branch's violations (the
    /// fewest; the first on a tie); several matches of a `oneOf` is a violation itself.
    #[allow(dead_code)] // emitted only for schemas with `oneOf` or `anyOf`
    pub fn branches(&mut self, pointer: &str, branches: Vec<Checker>, exactly_one: bool) {
        let matched = branches.iter().filter(|b| b.violations.is_empty()).count();
        if exactly_one && matched > 1 {
            return self.violation(pointer, Rule::OneOf { matched });
        }
        let best = if matched > 0 {
            branches.into_iter().find(|b| b.violations.is_empty())
        } else {
            branches.into_iter().min_by_key(|b| b.violations.len())
        };
        if let Some(best) = best {
            self.violations.extend(best.violations);
            self.warnings.extend(best.warnings);
        }
    }
}

fn not_allowed(rendered: &str, value: &Value) -> Rule {
    Rule::NotAllowed {
        allowed: rendered.to_owned(),
        actual: value.to_string(),
    }
}

fn number(n: i128) -> Number {
    i64::try_from(n)
        .map(Number::from)
        .or_else(|_| u64::try_from(n).map(Number::from))
        .unwrap_or_else(|_| Number::from(0))
}

/// Serializes a typed request and checks it with `check`.
pub fn validate_serialized<T: Serialize>(
    request: &T,
    check: fn(&Value) -> Result<Warnings, ValidationError>,
) -> Result<Warnings, ValidationError> {
    match serde_json::to_value(request) {
        Ok(value) => check(&value),
        Err(e) => {
            let mut checker = Checker::default();
            checker.violation(
                "",
                Rule::Prose {
                    message: format!("cannot be serialized as JSON: {e}"),
                },
            );
            checker.finish()
        }
    }
}

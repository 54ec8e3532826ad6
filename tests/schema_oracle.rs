//! For every vendored operation, the generated `validate_json` agrees with an independent
//! JSON Schema validator (the `jsonschema` crate) on the schema rules, over random valid
//! and near-valid bodies drawn from the fragment's own schema. Prose rules are left out
//! of the comparison (the independent validator cannot read prose): a body counts as
//! schema-valid for `validate_json` when every violation it reports is a prose one.
//!
//! `SCHEMA_ORACLE_CASES` sets the cases per operation (default 1000).

use std::path::Path;

use modellix::{OPERATIONS, Rule};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

fn cases() -> u32 {
    std::env::var("SCHEMA_ORACLE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Draws bodies from a schema: mostly valid, with a few values pushed just past a limit,
/// given the wrong type, or left out although required.
struct Draw {
    rng: fastrand::Rng,
    /// Chance that a node is broken instead of drawn validly.
    break_rate: f64,
}

const TEXT: &[&str] = &["a", "é", "z", " ", "😀", "1", "x"];
const PATTERN_SAMPLES: &[&str] = &[
    "https://e.com/a.png",
    "http://e.com/a",
    "oss://bucket/key",
    "data:image/png;base64,iVBORw0KGgo=",
    "ftp://e.com/a",
    "e.com/a",
    "",
];

impl Draw {
    fn breaks(&mut self) -> bool {
        self.rng.f64() < self.break_rate
    }

    fn text(&mut self, len: u64) -> String {
        (0..len)
            .map(|_| TEXT[self.rng.usize(..TEXT.len())])
            .collect()
    }

    fn wrong_type(&mut self, ty: Option<&str>) -> Value {
        let options = [
            json!("s"),
            json!(1),
            json!(1.5),
            json!(true),
            json!([]),
            json!({}),
            Value::Null,
        ];
        loop {
            let v = options[self.rng.usize(..options.len())].clone();
            let same = match ty {
                Some("string") => v.is_string(),
                Some("integer") => v.is_i64(),
                Some("number") => v.is_number(),
                Some("boolean") => v.is_boolean(),
                Some("array") => v.is_array(),
                Some("object") => v.is_object(),
                _ => false,
            };
            if !same {
                return v;
            }
        }
    }

    fn value(&mut self, schema: &Value) -> Value {
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = schema.get(key) {
                let branch = &branches[self.rng.usize(..branches.len())];
                return self.value(branch);
            }
        }
        let ty = schema.get("type").and_then(Value::as_str);
        if self.breaks() {
            return self.broken(schema, ty);
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            return values[self.rng.usize(..values.len())].clone();
        }
        let u = |k: &str| schema.get(k).and_then(Value::as_u64);
        match ty {
            Some("string") => {
                if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                    let re = regex::Regex::new(pattern).unwrap();
                    let fits: Vec<&str> = PATTERN_SAMPLES
                        .iter()
                        .copied()
                        .filter(|s| re.is_match(s))
                        .collect();
                    return json!(fits[self.rng.usize(..fits.len())]);
                }
                let lo = u("minLength").unwrap_or(0);
                let hi = u("maxLength").unwrap_or(lo + 12).min(lo + 12);
                let len = self.rng.u64(lo..=hi);
                json!(self.text(len))
            }
            Some("integer") => {
                let lo = schema
                    .get("minimum")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1000);
                let hi = schema
                    .get("maximum")
                    .and_then(|m| m.as_i64().or(m.as_u64().map(|_| i64::MAX)))
                    .unwrap_or(1000);
                json!(self.rng.i64(lo..=hi))
            }
            Some("number") => {
                let lo = schema
                    .get("minimum")
                    .and_then(Value::as_f64)
                    .unwrap_or(-100.0);
                let hi = schema
                    .get("maximum")
                    .and_then(Value::as_f64)
                    .unwrap_or(100.0);
                json!(lo + (hi - lo) * self.rng.f64())
            }
            Some("boolean") => json!(self.rng.bool()),
            Some("array") => {
                let lo = u("minItems").unwrap_or(0);
                let hi = u("maxItems").unwrap_or(lo + 3).min(lo + 3);
                let n = self.rng.u64(lo..=hi);
                let items = schema.get("items").cloned().unwrap_or(json!({}));
                Value::Array((0..n).map(|_| self.value(&items)).collect())
            }
            Some("object") => self.object(schema),
            _ => json!({"free": self.rng.u8(..)}),
        }
    }

    fn object(&mut self, schema: &Value) -> Value {
        let mut out = Map::new();
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(props)) = schema.get("properties") {
            for (name, sub) in props {
                let needed = required.contains(&name.as_str());
                let include = if needed {
                    !self.breaks()
                } else {
                    self.rng.bool()
                };
                if include {
                    out.insert(name.clone(), self.value(sub));
                }
            }
        }
        if self.breaks() {
            out.insert("not_a_field".into(), json!(1));
        }
        Value::Object(out)
    }

    /// A value just outside the schema (or, for schemas without limits, of the wrong type).
    fn broken(&mut self, schema: &Value, ty: Option<&str>) -> Value {
        let get = |k: &str| schema.get(k);
        let mut options: Vec<Value> = vec![self.wrong_type(ty)];
        if let Some(Value::Array(values)) = get("enum") {
            let first = &values[0];
            options.push(match first {
                Value::String(s) => json!(format!("{s}-not")),
                Value::Number(_) => json!(first.as_i64().unwrap_or(0) + 1000),
                _ => Value::Null,
            });
        }
        match ty {
            Some("string") => {
                if let Some(pattern) = get("pattern").and_then(Value::as_str) {
                    let re = regex::Regex::new(pattern).unwrap();
                    options.extend(
                        PATTERN_SAMPLES
                            .iter()
                            .filter(|s| !re.is_match(s))
                            .map(|s| json!(s)),
                    );
                }
                if let Some(max) = get("maxLength").and_then(Value::as_u64) {
                    options.push(json!(self.text(max + 1)));
                }
                if let Some(min) = get("minLength").and_then(Value::as_u64).filter(|m| *m > 0) {
                    options.push(json!(self.text(min - 1)));
                }
            }
            Some("integer") => {
                if let Some(max) = get("maximum").and_then(Value::as_i64) {
                    options.push(json!(max + 1));
                }
                if let Some(min) = get("minimum").and_then(Value::as_i64) {
                    options.push(json!(min - 1));
                }
            }
            Some("number") => {
                if let Some(max) = get("maximum").and_then(Value::as_f64) {
                    options.push(json!(max + 0.001));
                }
                if let Some(min) = get("minimum").and_then(Value::as_f64) {
                    options.push(json!(min - 0.001));
                }
            }
            Some("array") => {
                let items = get("items").cloned().unwrap_or(json!({}));
                if let Some(max) = get("maxItems").and_then(Value::as_u64) {
                    options.push(Value::Array(
                        (0..=max).map(|_| self.value(&items)).collect(),
                    ));
                }
                if get("minItems")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| m > 0)
                {
                    options.push(json!([]));
                }
            }
            _ => {}
        }
        options.swap_remove(self.rng.usize(..options.len()))
    }
}

fn schema_valid_for_us(result: &Result<modellix::Warnings, modellix::ValidationError>) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => e
            .violations()
            .iter()
            .all(|v| matches!(v.rule, Rule::Prose { .. })),
    }
}

#[test]
fn validate_agrees_with_jsonschema_on_every_operation() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec");
    let mut checked = 0;
    for op in OPERATIONS.iter().filter(|op| op.is_submit()) {
        let fragment: Value =
            serde_json::from_str(&std::fs::read_to_string(spec.join(op.file)).unwrap()).unwrap();
        let method = op.method.to_ascii_lowercase();
        let schema =
            fragment[&method]["requestBody"]["content"]["application/json"]["schema"].clone();
        let oracle = jsonschema::draft4::new(&schema).unwrap();
        let validate = op.validate_json.unwrap();
        let (valid, invalid) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&(any::<u64>(), 0u8..4), |(seed, rate)| {
            let mut draw = Draw {
                rng: fastrand::Rng::with_seed(seed),
                break_rate: [0.0, 0.02, 0.08, 0.2][rate as usize],
            };
            let body = draw.value(&schema);
            let theirs = oracle.is_valid(&body);
            let ours = schema_valid_for_us(&validate(&body));
            let tally = if theirs { &valid } else { &invalid };
            tally.set(tally.get() + 1);
            prop_assert_eq!(
                ours,
                theirs,
                "{}: body {} — jsonschema says {:?}, validate_json says {:?}",
                op.file,
                body,
                oracle
                    .iter_errors(&body)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>(),
                validate(&body).err().map(|e| e.to_string())
            );
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        let (valid, invalid) = (valid.get(), invalid.get());
        eprintln!(
            "{}: {valid} schema-valid, {invalid} near-valid bodies agreed",
            op.file
        );
        assert!(
            valid >= cases() / 20 && invalid >= cases() / 20,
            "{}: too one-sided a sample ({valid} valid, {invalid} invalid)",
            op.file
        );
        checked += 1;
    }
    assert_eq!(checked, OPERATIONS.iter().filter(|o| o.is_submit()).count());
}

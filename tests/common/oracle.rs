//! What the two live-schema oracle tests share: every vendored fragment served as a
//! schema page by a sandbox and read through `Client::live_schema`, seeded random bodies
//! for each, the OpenAPI 3.0 → JSON Schema draft 4 mapping both oracles judge by, and
//! the tally with its two bounds (no schema-invalid body accepted, at most 5% of valid
//! ones refused, each listed with its reason).

use modellix::{LiveSchema, OPERATIONS};
use modellix_sandbox::Sandbox;
use serde_json::{Map, Value, json};

use super::bodies::body;

/// Bodies per fragment; the generator is seeded, so a failure repeats.
pub const BODIES: usize = 400;

/// One vendored model read live, with the bodies to judge.
pub struct Case {
    pub model: &'static str,
    pub live: LiveSchema,
    /// The request schema as draft 4 reads it ([`to_draft4`]).
    pub draft4: Value,
    pub bodies: Vec<Value>,
}

/// Every vendored submit model, served by a sandbox and fetched as a live schema page,
/// with [`BODIES`] random bodies each. The sandbox is stopped on return: a
/// [`LiveSchema`] holds all it needs.
pub async fn live_cases() -> Vec<Case> {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = sandbox.client_builder().build().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x6d6f_6465_6c6c_6978);
    let models: Vec<&'static str> = OPERATIONS
        .iter()
        .filter(|op| op.is_submit())
        .filter_map(|op| op.model_id)
        .collect();
    assert!(models.len() >= 10, "{} vendored models", models.len());
    let mut cases = Vec::new();
    for model in models {
        let live = client.live_schema(model).await.unwrap();
        let schema = live.request_schema().clone();
        let bodies = (0..BODIES).map(|_| body(&schema, &mut rng, 0)).collect();
        cases.push(Case {
            model,
            draft4: to_draft4(&schema),
            live,
            bodies,
        });
    }
    cases
}

/// The request schema (an OpenAPI 3.0 schema object, as the normalizer leaves every
/// page) in JSON Schema draft 4, OpenAPI 3.0's base dialect. The one difference a
/// draft 4 validator would misread is `nullable: true` (null allowed besides the
/// schema, enum included, as the runtime checker reads it): it becomes
/// `{"anyOf": [{"type": "null"}, <the schema without nullable>]}`. Everything else is
/// draft 4 as is: `format` is checked by each validator's own draft 4 format checks
/// (a format it does not know passes), `example`/`examples`/`description`/`default`
/// are annotations, `exclusiveMinimum`/`exclusiveMaximum` are draft 4's booleans.
pub fn to_draft4(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "nullable")
                .map(|(k, v)| (k.clone(), to_draft4_keyword(k, v)))
                .collect();
            if map.get("nullable") == Some(&Value::Bool(true)) {
                out = Map::from_iter([(
                    "anyOf".to_owned(),
                    json!([{"type": "null"}, Value::Object(out)]),
                )]);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Recurses into the keywords that hold schemas; values of others (`enum`, `default`,
/// `example`, and `properties`' names) are data and left alone.
fn to_draft4_keyword(keyword: &str, value: &Value) -> Value {
    match (keyword, value) {
        ("properties", Value::Object(props)) => Value::Object(
            props
                .iter()
                .map(|(name, sub)| (name.clone(), to_draft4(sub)))
                .collect(),
        ),
        ("items" | "additionalProperties" | "not", sub @ Value::Object(_)) => to_draft4(sub),
        ("items" | "oneOf" | "anyOf" | "allOf", Value::Array(subs)) => {
            Value::Array(subs.iter().map(to_draft4).collect())
        }
        _ => value.clone(),
    }
}

/// The verdicts of the live schema against an independent validator's.
#[derive(Default)]
pub struct Tally {
    pub valid: usize,
    pub invalid: usize,
    /// Bodies the independent validator refused and the live schema accepted.
    pub wrongly_accepted: Vec<String>,
    /// Bodies the independent validator accepted and the live schema refused, with why.
    pub refused: Vec<String>,
}

impl Tally {
    /// One body: `by_oracle` is the independent validator's verdict.
    pub fn record(&mut self, case: &Case, value: &Value, by_oracle: bool) {
        match (by_oracle, case.live.validate(value)) {
            (true, Ok(_)) => self.valid += 1,
            (false, Err(_)) => self.invalid += 1,
            (false, Ok(_)) => self
                .wrongly_accepted
                .push(format!("{}: {value}", case.model)),
            (true, Err(e)) => {
                self.valid += 1;
                self.refused.push(format!("{}: {value}: {e}", case.model));
            }
        }
    }

    /// Prints the numbers and the refused valid bodies, then asserts both bounds.
    pub fn report_and_assert(&self, oracle: &str) {
        let Tally {
            valid,
            invalid,
            wrongly_accepted,
            refused,
        } = self;
        println!(
            "{} bodies: {valid} valid by {oracle}, {invalid} invalid; {} invalid accepted; \
             {} valid refused by the live schema:",
            valid + invalid + wrongly_accepted.len(),
            wrongly_accepted.len(),
            refused.len()
        );
        for line in refused {
            println!("  refused: {line}");
        }
        assert!(
            wrongly_accepted.is_empty(),
            "{} bodies {oracle} refuses were accepted, e.g. {:?}",
            wrongly_accepted.len(),
            &wrongly_accepted[..wrongly_accepted.len().min(5)]
        );
        assert!(
            *valid > 100 && *invalid > 100,
            "{valid} valid, {invalid} invalid: the bodies do not exercise both verdicts"
        );
        assert!(
            refused.len() * 20 <= *valid,
            "{} of {valid} valid bodies refused (more than 5%)",
            refused.len()
        );
    }
}

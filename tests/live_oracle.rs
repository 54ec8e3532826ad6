//! The live path agrees with an independent JSON Schema implementation: every vendored
//! fragment is served as a schema page by the sandbox, fetched through
//! `Client::live_schema`, and random bodies are judged both by the live schema and by the
//! `jsonschema` crate (draft 4, the dialect of OpenAPI 3.0 schemas, over the schema as
//! `common::oracle::to_draft4` maps it). No body the independent validator refuses may
//! pass; of the bodies it accepts, at most 5% may be refused, and each refusal is listed
//! with its reason. `live_oracle_python.rs` does the same with python's `jsonschema`.

mod common;

use common::oracle::{Tally, live_cases, to_draft4};
use serde_json::json;

#[tokio::test]
async fn live_validation_agrees_with_an_independent_validator() {
    let mut tally = Tally::default();
    for case in live_cases().await {
        // Formats: the crate checks its draft 4 ones (uri, email, date-time, …) by default.
        let oracle = jsonschema::draft4::new(&case.draft4)
            .unwrap_or_else(|e| panic!("{}: the independent validator refused: {e}", case.model));
        for value in &case.bodies {
            tally.record(&case, value, oracle.is_valid(value));
        }
    }
    tally.report_and_assert("the jsonschema crate (draft 4)");
}

#[test]
fn nullable_becomes_a_null_branch_at_any_depth() {
    let schema = json!({
        "type": "object",
        "properties": {
            "style": {"type": "string", "enum": ["a"], "nullable": true},
            "nullable": {"type": "integer"}
        },
        "items": [{"type": "string", "nullable": false}]
    });
    assert_eq!(
        to_draft4(&schema),
        json!({
            "type": "object",
            "properties": {
                "style": {"anyOf": [{"type": "null"}, {"type": "string", "enum": ["a"]}]},
                "nullable": {"type": "integer"}
            },
            "items": [{"type": "string"}]
        })
    );
}

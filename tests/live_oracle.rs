//! The live path agrees with an independent JSON Schema implementation: every vendored
//! fragment is served as a schema page by the sandbox, fetched through
//! `Client::live_schema`, and random bodies are judged both by the live schema and by the
//! `jsonschema` crate (draft 4, the dialect of OpenAPI 3.0 schemas). No body the
//! independent validator refuses may pass; of the bodies it accepts, at most 5% may be
//! refused, and each refusal is listed with its reason.

mod common;

use common::bodies::body;
use modellix::OPERATIONS;
use modellix_sandbox::Sandbox;
use serde_json::Value;

/// Bodies per fragment; the generator is seeded, so a failure repeats.
const BODIES: usize = 400;

#[tokio::test]
async fn live_validation_agrees_with_an_independent_validator() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let client = sandbox.client_builder().build().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x6d6f_6465_6c6c_6978);
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut wrongly_accepted = Vec::new();
    let mut refused = Vec::new();
    let models: Vec<&str> = OPERATIONS
        .iter()
        .filter(|op| op.is_submit())
        .filter_map(|op| op.model_id)
        .collect();
    assert!(models.len() >= 10, "{} vendored models", models.len());

    for model in models {
        let live = client.live_schema(model).await.unwrap();
        let schema = live.request_schema().clone();
        let oracle = jsonschema::draft4::new(&schema)
            .unwrap_or_else(|e| panic!("{model}: the independent validator refused: {e}"));
        for _ in 0..BODIES {
            let value: Value = body(&schema, &mut rng, 0);
            let by_oracle = oracle.is_valid(&value);
            let by_live = live.validate(&value);
            match (by_oracle, by_live) {
                (true, Ok(_)) => valid += 1,
                (false, Err(_)) => invalid += 1,
                (false, Ok(_)) => wrongly_accepted.push(format!("{model}: {value}")),
                (true, Err(e)) => {
                    valid += 1;
                    refused.push(format!("{model}: {value}: {e}"));
                }
            }
        }
    }

    println!(
        "{valid} bodies valid by the independent validator, {invalid} invalid; \
         {} valid ones refused by the live schema:",
        refused.len()
    );
    for line in &refused {
        println!("  refused: {line}");
    }
    assert!(
        wrongly_accepted.is_empty(),
        "{} schema-invalid bodies accepted, e.g. {:?}",
        wrongly_accepted.len(),
        &wrongly_accepted[..wrongly_accepted.len().min(5)]
    );
    assert!(
        valid > 100 && invalid > 100,
        "{valid} valid, {invalid} invalid"
    );
    assert!(
        refused.len() * 20 <= valid,
        "{} of {valid} valid bodies refused (more than 5%)",
        refused.len()
    );
}

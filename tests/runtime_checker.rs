//! One set of rule semantics, two ways in: for every vendored fragment, random bodies
//! get the same violations, in the same order, from the checks generated at build time
//! (`Operation::validate_json`, without its prose rules) and from the runtime checker
//! over the fragment's schema as a live page would give it.

use modellix::{Operation, Rule, RuntimeChecker, ValidationError, Violation, Warnings};
use proptest::prelude::*;
use serde_json::Value;

mod common;

use common::bodies::body;

fn submits() -> Vec<(&'static Operation, Value)> {
    modellix::OPERATIONS
        .iter()
        .filter(|op| op.is_submit())
        .map(|op| {
            let page: Value = serde_json::from_str(op.fragment_json().unwrap()).unwrap();
            let schema =
                page["post"]["requestBody"]["content"]["application/json"]["schema"].clone();
            (op, schema)
        })
        .collect()
}

/// The schema's violations: prose rules (only the generated side has them) left out.
fn schema_violations(result: Result<Warnings, ValidationError>) -> Vec<Violation> {
    match result {
        Ok(_) => Vec::new(),
        Err(e) => e
            .violations()
            .iter()
            .filter(|v| !matches!(v.rule, Rule::Prose { .. }))
            .cloned()
            .collect(),
    }
}

#[test]
fn vendored_fragments_compile_with_every_keyword_enforced() {
    let all = submits();
    assert!(all.len() >= 10, "{} fragments", all.len());
    for (op, schema) in &all {
        let checker = RuntimeChecker::compile(schema).unwrap();
        assert!(
            checker.unenforced().is_empty(),
            "{:?}: {:?}",
            op.model_id,
            checker.unenforced()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_and_runtime_checks_agree_on_random_bodies(seed in any::<u64>()) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut invalid = 0;
        for (op, schema) in submits() {
            let checker = RuntimeChecker::compile(&schema).unwrap();
            let generated = op.validate_json.unwrap();
            for _ in 0..8 {
                let value = body(&schema, &mut rng, 0);
                let want = schema_violations(generated(&value));
                let got = schema_violations(checker.check(&value));
                invalid += usize::from(!want.is_empty());
                prop_assert_eq!(&got, &want, "{:?} on {}", op.model_id, value);
            }
        }
        // Not every body is broken, nor every body fine.
        prop_assert!(invalid > 0);
    }
}

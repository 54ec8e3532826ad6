//! The runtime checker beside the generated checks, same run: for every vendored
//! fragment, the same bodies (each one's examples and a broken copy) checked by
//! `Operation::validate_json` (generated at build time, with prose rules) and by
//! `RuntimeChecker::check` over the fragment's schema as a live page gives it.
//!
//! Run: `cargo bench --bench runtime_checker`. Prints the time per body of each and
//! their ratio, and fails when the runtime checker is more than 10 times slower.

use std::hint::black_box;
use std::time::Instant;

use modellix::{Operation, RuntimeChecker};
use serde_json::{Value, json};

const ROUNDS: usize = 2000;
/// The most the runtime checker may cost per body, in generated checks.
const BOUND: f64 = 10.0;

fn main() {
    let mut bodies = Vec::new();
    let mut schemas = Vec::new();
    for op in modellix::OPERATIONS.iter().filter(|op| op.is_submit()) {
        let page: Value = serde_json::from_str(op.fragment_json().unwrap()).unwrap();
        let media = &page["post"]["requestBody"]["content"]["application/json"];
        let mut examples: Vec<Value> = media["examples"]
            .as_object()
            .map(|e| e.values().filter_map(|x| x.get("value").cloned()).collect())
            .unwrap_or_default();
        examples.extend(media.get("example").cloned());
        if examples.is_empty() {
            examples.push(json!({"prompt": "a lighthouse at dawn"}));
        }
        let mut broken = examples[0].clone();
        if let Some(obj) = broken.as_object_mut() {
            for value in obj.values_mut() {
                *value = json!(-1);
            }
        }
        examples.push(broken);
        schemas.push((op, media["schema"].clone()));
        bodies.push(examples);
    }
    let checkers: Vec<(&Operation, RuntimeChecker<'_>)> = schemas
        .iter()
        .map(|(op, s)| (*op, RuntimeChecker::compile(s).unwrap()))
        .collect();
    let count: usize = bodies.iter().map(Vec::len).sum::<usize>() * ROUNDS;

    let mut generated = std::time::Duration::ZERO;
    let mut runtime = std::time::Duration::ZERO;
    for round in 0..ROUNDS {
        // Alternate which goes first, so drift hits both alike.
        for first_generated in [round % 2 == 0, round % 2 == 1] {
            let start = Instant::now();
            for ((op, checker), examples) in checkers.iter().zip(&bodies) {
                for body in examples {
                    if first_generated {
                        black_box((op.validate_json.unwrap())(black_box(body)).is_ok());
                    } else {
                        black_box(checker.check(black_box(body)).is_ok());
                    }
                }
            }
            if first_generated {
                generated += start.elapsed();
            } else {
                runtime += start.elapsed();
            }
        }
    }
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e9 / count as f64;
    let ratio = per(runtime) / per(generated);
    println!(
        "schema checks over {} bodies of {} fragments, {ROUNDS} rounds:",
        count / ROUNDS,
        checkers.len()
    );
    println!(
        "  generated (validate_json, with prose rules): {:>8.0} ns/body",
        per(generated)
    );
    println!(
        "  runtime checker (RuntimeChecker::check):     {:>8.0} ns/body",
        per(runtime)
    );
    println!("  ratio runtime/generated: {ratio:.2} (bound {BOUND})");
    assert!(
        ratio <= BOUND,
        "the runtime checker is {ratio:.1}x the generated checks"
    );
}

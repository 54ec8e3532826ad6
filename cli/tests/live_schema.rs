//! The command line for any model: `modellix schema` prints a fragment (vendored, or
//! the live page), and `validate` and `run` check a model this build does not vendor
//! by its live schema page, served by a sandbox on 127.0.0.1, before anything is sent.

mod common;

use common::*;
use modellix::Operation;
use modellix_sandbox::Sandbox;
use serde_json::{Value, json};

const OTHER: &str = "acme/pixel-2";

fn page(url: &str) -> Value {
    let text = Operation::for_model("openai/gpt-image-2")
        .and_then(Operation::fragment_json)
        .unwrap();
    let mut page: Value = serde_json::from_str(text).unwrap();
    page["servers"][0]["url"] = json!(url);
    page["post"].as_object_mut().unwrap().remove("operationId");
    page
}

async fn sandbox_with(url: &str) -> Sandbox {
    Sandbox::builder()
        .schema_page(OTHER, page(url))
        .start()
        .await
        .unwrap()
}

#[test]
fn schema_prints_the_vendored_fragment_offline() {
    let output = run(&["--json", "schema", MODEL]);
    assert_code(&output, 0);
    let page = json(&output);
    assert_eq!(
        page["servers"][0]["url"],
        json!("https://api.modellix.ai/api/v1/bytedance/seedance-2.0-v2v/async")
    );
    assert!(page["post"]["requestBody"].is_object());
    // Not vendored and no page to be had: refused with the reason.
    let output = run(&["schema", OTHER]);
    assert_code(&output, 2);
    assert!(text(&output).contains("no schema"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_and_validate_read_the_live_page_of_an_unvendored_model() {
    let sandbox = sandbox_with("https://api.modellix.ai/api/v1/acme/pixel-2/async").await;
    let output = against(&sandbox, &["--json", "schema", OTHER]);
    assert_code(&output, 0);
    assert_eq!(
        json(&output)["servers"][0]["url"],
        json!(format!("{}/api/v1/acme/pixel-2/async", sandbox.base_url()))
    );
    let output = against(&sandbox, &["--json", "schema", MODEL, "--live"]);
    assert_code(&output, 0);

    let output = against(
        &sandbox,
        &["validate", OTHER, "--body", r#"{"prompt":"a fox"}"#],
    );
    assert_code(&output, 0);
    assert!(
        text(&output).contains("valid: acme/pixel-2"),
        "{}",
        text(&output)
    );
    let bad = r#"{"prompt":"","quality":"ultra"}"#;
    let output = against(&sandbox, &["--json", "validate", OTHER, "--body", bad]);
    assert_code(&output, 2);
    let answer = json(&output);
    assert_eq!(answer["valid"], json!(false));
    let pointers: Vec<&str> = answer["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["pointer"].as_str())
        .collect();
    assert_eq!(pointers, ["/prompt", "/quality"], "{answer}");

    // run refuses the same body before sending; a valid one goes once.
    let output = against(&sandbox, &["run", OTHER, "--body", bad, "--no-wait"]);
    assert_code(&output, 2);
    assert_eq!(sandbox.counts().submits(), 0);
    let good = r#"{"prompt":"a fox"}"#;
    let output = against(&sandbox, &["run", OTHER, "--body", good, "--no-wait"]);
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().submit[OTHER], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_page_on_a_foreign_host_is_refused_by_the_command_line() {
    let sandbox = sandbox_with("https://evil.example/api/v1/acme/pixel-2/async").await;
    for args in [
        &["validate", OTHER, "--body", r#"{"prompt":"a fox"}"#][..],
        &["run", OTHER, "--body", r#"{"prompt":"a fox"}"#, "--no-wait"],
        &["schema", OTHER],
    ] {
        let output = against(&sandbox, args);
        assert_code(&output, 2);
        assert!(
            text(&output).contains("not on the origin"),
            "{args:?}: {}",
            text(&output)
        );
    }
    assert_eq!(sandbox.counts().submits(), 0);
    // Skipped on purpose, it is sent unchecked to the generic path.
    let output = against(
        &sandbox,
        &[
            "run",
            OTHER,
            "--body",
            r#"{"prompt":"a fox"}"#,
            "--no-wait",
            "--no-schema",
        ],
    );
    assert_code(&output, 0);
    assert_eq!(sandbox.counts().submit[OTHER], 1);
}

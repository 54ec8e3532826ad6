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

/// [`page`] with fields of every flag type: an integer with a range, a boolean, an
/// array of strings, beside its string enums.
fn page_with_typed_fields(url: &str) -> Value {
    let mut page = page(url);
    let schema = page
        .pointer_mut("/post/requestBody/content/application~1json/schema/properties")
        .unwrap();
    schema["n"] = json!({"type": "integer", "minimum": 1, "maximum": 4,
        "description": "How many images."});
    schema["transparent"] = json!({"type": "boolean", "description": "A clear background."});
    schema["reference_urls"] = json!({"type": "array", "items": {"type": "string"},
        "maxItems": 3, "description": "Images to follow."});
    page
}

#[tokio::test(flavor = "multi_thread")]
async fn run_help_shows_the_fields_of_an_unvendored_model_from_its_live_page() {
    let url = "https://api.modellix.ai/api/v1/acme/pixel-2/async";
    let sandbox = Sandbox::builder()
        .schema_page(OTHER, page_with_typed_fields(url))
        .start()
        .await
        .unwrap();
    let output = against(&sandbox, &["run", OTHER, "--help"]);
    assert_code(&output, 0);
    let help = String::from_utf8_lossy(&output.stdout).to_string();
    // One line per field: the flag, its value type, and what the schema allows.
    let line = |flag: &str| {
        help.lines()
            .skip_while(|l| !l.trim_start().starts_with(flag))
            .take_while(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(help.contains("Fields of the model"), "{help}");
    assert!(line("--prompt <TEXT>").contains("Required."), "{help}");
    assert!(
        line("--quality <TEXT>").contains(r#"Allowed: "low", "medium", "high"."#),
        "{help}"
    );
    assert!(line("--n <INT>").contains("Range: 1 to 4."), "{help}");
    assert!(
        line("--transparent [<BOOL>]").contains("A clear background."),
        "{help}"
    );
    assert!(
        line("--reference-urls <TEXT>").contains("Repeat the flag for each item."),
        "{help}"
    );
    assert_eq!(sandbox.counts().submits(), 0);

    // The flags build the body, typed by the schema; it is checked and sent once.
    let output = against(
        &sandbox,
        &[
            "run",
            OTHER,
            "--prompt",
            "a fox",
            "--quality",
            "high",
            "--n",
            "2",
            "--transparent",
            "--reference-urls",
            "https://example.com/a.png",
            "--reference-urls",
            "https://example.com/b.png",
            "--no-wait",
        ],
    );
    assert_code(&output, 0);
    let tasks = sandbox.tasks();
    assert_eq!(tasks.len(), 1, "{}", text(&output));
    assert_eq!(
        tasks[0].body,
        json!({"prompt": "a fox", "quality": "high", "n": 2, "transparent": true,
               "reference_urls": ["https://example.com/a.png", "https://example.com/b.png"]})
    );
    // A value the live schema refuses stops at the flag's check, before sending.
    let output = against(
        &sandbox,
        &["run", OTHER, "--prompt", "a fox", "--n", "9", "--no-wait"],
    );
    assert_code(&output, 2);
    assert!(text(&output).contains("/n"), "{}", text(&output));
    let output = against(
        &sandbox,
        &["run", OTHER, "--prompt", "a fox", "--n", "two", "--no-wait"],
    );
    assert_code(&output, 2);
    assert!(
        text(&output).contains("not an integer"),
        "{}",
        text(&output)
    );
    assert_eq!(sandbox.counts().submits(), 1);
}

#[test]
fn run_help_of_an_unvendored_model_without_a_page_says_why_its_fields_are_missing() {
    let output = run(&["run", OTHER, "--help"]);
    assert_code(&output, 0);
    let all = text(&output);
    assert!(all.contains("so its fields are not flags here"), "{all}");
    assert!(!all.contains("Fields of the model"), "{all}");
    // A field flag then is unknown to the parser, and the note says why.
    let output = run(&["run", OTHER, "--prompt", "a fox", "--no-wait"]);
    assert_code(&output, 2);
    let all = text(&output);
    assert!(all.contains("so its fields are not flags here"), "{all}");
    // With --set the line parses; the run itself refuses, naming the reason once.
    let output = run(&[
        "--sandbox",
        "run",
        OTHER,
        "--set",
        "prompt=a fox",
        "--no-wait",
    ]);
    assert_code(&output, 2);
    let all = text(&output);
    assert!(!all.contains("so its fields are not flags here"), "{all}");
    assert!(all.contains("no schema"), "{all}");
}

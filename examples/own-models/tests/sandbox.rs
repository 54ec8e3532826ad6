//! The generated request keeps every guarantee: checked before sending, submitted once.

use std::time::Duration;

use modellix::{Backoff, Client, SubmitRequest};
use modellix_own_models_example::models::{self, Seedance10ProFastT2vRequest};
use modellix_sandbox::Sandbox;

#[test]
fn the_request_is_named_after_the_model_and_checked_before_sending() {
    assert_eq!(
        Seedance10ProFastT2vRequest::model_id(),
        "bytedance/seedance-1.0-pro-fast-t2v"
    );
    assert_eq!(models::OPERATIONS.len(), 1);
    // `build()` checks required fields and enum values; `validate()` every rule.
    let err = Seedance10ProFastT2vRequest::builder()
        .resolution("4k")
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/resolution") && err.contains("/prompt"),
        "{err}"
    );
    let err = Seedance10ProFastT2vRequest::builder()
        .prompt("")
        .duration(30)
        .build()
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/duration") && err.contains("/prompt"),
        "{err}"
    );
    // `type: ["integer", "null"]`: null passes, a number is still held to its bounds.
    let body = serde_json::json!({"prompt": "a boat", "seed": null});
    assert!(Seedance10ProFastT2vRequest::validate_json(&body).is_ok());
    let body = serde_json::json!({"prompt": "a boat", "seed": -5});
    let err = Seedance10ProFastT2vRequest::validate_json(&body).unwrap_err();
    assert!(err.at("/seed").is_some(), "{err}");
}

#[tokio::test]
async fn submits_once_to_the_sandbox_and_finishes() {
    let sandbox = Sandbox::start().await.unwrap();
    assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    let client = Client::builder()
        .memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll_schedule(Backoff::fixed(Duration::from_millis(20)))
        .build()
        .unwrap();
    let request = Seedance10ProFastT2vRequest::builder()
        .prompt("a paper boat drifting down a rainy street")
        .duration(5)
        .build()
        .unwrap();
    request.validate().unwrap();
    let task = client.submit(&request).await.unwrap();
    let output = task.wait().await.unwrap();
    assert!(!output.resources().is_empty(), "{output:?}");
    assert_eq!(sandbox.counts().submits(), 1, "exactly one paid POST");
}

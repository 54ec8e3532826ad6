//! Sending one request body, exactly once, recorded in the ledger.

use modellix::{Client, SubmitOptions, TaskHandle};
use serde_json::Value;

use crate::failure::{Failure, Outcome};

/// Submits `body` (already validated) to `model_id`, recorded under `marker` when
/// given, so that a rerun can tell it was sent.
pub async fn submit(
    client: &Client,
    model_id: &str,
    body: &Value,
    marker: Option<&str>,
) -> Outcome<TaskHandle> {
    let mut options = SubmitOptions::new();
    if let Some(marker) = marker {
        options = options.marker(marker);
    }
    client
        .submit_json_with(model_id, body, options)
        .await
        .map_err(Failure::from)
}

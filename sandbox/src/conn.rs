//! A handle on the connection a request came on, so a fault can reset it.

use std::future::pending;
use std::sync::Arc;

use axum::response::Response;
use tokio::sync::Notify;

/// Lets a handler abort the connection its request came on.
#[derive(Clone)]
pub(crate) struct ConnCtl(pub(crate) Arc<Notify>);

impl ConnCtl {
    /// Drops the connection with a reset; the caller's future is dropped with it, so
    /// this never returns.
    pub(crate) async fn abort(&self) -> Response {
        self.0.notify_one();
        pending().await
    }
}

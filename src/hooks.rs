//! What the generated client does on every request: auth, identification and an
//! answer size cap. Plugged in through progenitor's `ClientHooks`.

use std::fmt;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue, USER_AGENT};

use crate::generated::Client as GeneratedClient;

/// Answers larger than this are refused, as Modellix's official client does.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The state the generated client carries for the hooks.
#[derive(Clone)]
pub struct HookState {
    /// `Authorization: Bearer …`, marked sensitive; `None` for keyless use (tests).
    pub(crate) authorization: Option<HeaderValue>,
    /// Scheme, host and port the key may be sent to.
    pub(crate) api_origin: reqwest::Url,
    pub(crate) user_agent: HeaderValue,
    pub(crate) max_answer_bytes: usize,
}

impl fmt::Debug for HookState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key never appears, whatever reqwest's own Debug would print.
        f.debug_struct("HookState")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "Bearer <redacted>"),
            )
            .field("api_origin", &self.api_origin.as_str())
            .field("user_agent", &self.user_agent)
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish()
    }
}

impl HookState {
    /// Adds the per-request headers: our User-Agent instead of none, no `api-version`
    /// (progenitor's, meaningless to Modellix), and the key only for the API origin.
    pub(crate) fn prepare(&self, request: &mut reqwest::Request) {
        // Compared part by part: building the origin string per request showed up in
        // the overhead benchmark.
        let url = request.url();
        let same_origin = url.scheme() == self.api_origin.scheme()
            && url.host() == self.api_origin.host()
            && url.port_or_known_default() == self.api_origin.port_or_known_default();
        let headers = request.headers_mut();
        headers.remove(HeaderName::from_static("api-version"));
        headers.insert(USER_AGENT, self.user_agent.clone());
        match &self.authorization {
            Some(auth) if same_origin => {
                headers.insert(AUTHORIZATION, auth.clone());
            }
            _ => {
                headers.remove(AUTHORIZATION);
            }
        }
    }
}

impl ClientHooks<HookState> for GeneratedClient {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        self.inner.prepare(request);
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client.execute(request).await?;
        // A body with a Content-Length within the cap cannot grow past it (HTTP
        // framing stops reading there); only the others need the counting wrapper.
        let limit = self.inner.max_answer_bytes;
        if response.content_length().is_some_and(|n| n <= limit as u64) {
            return Ok(response);
        }
        Ok(cap_body(response, limit))
    }
}

/// Wraps the body so that reading more than `limit` bytes fails instead of filling
/// memory. Streaming: nothing is buffered here.
pub(crate) fn cap_body(response: reqwest::Response, limit: usize) -> reqwest::Response {
    use reqwest::ResponseBuilderExt;

    let url = response.url().clone();
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let limited = reqwest::Body::wrap(http_body_util::Limited::new(body, limit));
    let mut rebuilt = http::Response::builder()
        .url(url)
        .body(limited)
        .expect("a builder with only a URL is valid");
    *rebuilt.status_mut() = parts.status;
    *rebuilt.version_mut() = parts.version;
    *rebuilt.headers_mut() = parts.headers;
    rebuilt.extensions_mut().extend(parts.extensions);
    reqwest::Response::from(rebuilt)
}

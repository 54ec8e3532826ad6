//! The state type progenitor's generated client is declared with.
//!
//! Nothing calls the generated client: every request goes through
//! [`crate::transport::request`], the one path with the origin check, auth, redirect policy,
//! limiter and capped reads. The generated code still names this type and expects
//! the hooks trait, so both exist, empty.

use progenitor_client::ClientHooks;

use crate::generated::Client as GeneratedClient;

/// Unused state of the generated client.
#[derive(Clone, Debug, Default)]
pub struct HookState;

impl ClientHooks<HookState> for GeneratedClient {}

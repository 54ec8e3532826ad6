//! Stored profiles: a name, an API key and optionally an API origin, kept by a
//! [`CredentialStore`](store::CredentialStore) so that a shell needs no exported key.
//!
//! `key.rs` holds [`ApiKey`](key::ApiKey), the key in memory (wiped on drop, never
//! printed). `store.rs` holds the store trait, what it keeps ([`StoredProfile`](store::StoredProfile))
//! and the profile name rule. `file.rs` is the one store this build has: a JSON file of
//! mode 0600 in the user's configuration directory (`modellix/credentials.json`), whose
//! format and location are defined there and nowhere else. `resolve.rs` picks the key
//! and origin a client uses: an explicit setting, then the environment
//! (`MODELLIX_API_KEY`, `MODELLIX_BASE_URL`), then the profile (`--profile`,
//! `MODELLIX_PROFILE`, else `default`). `Client::from_env` and the command line both
//! resolve through it.
//!
//! May use: `error` (for [`ConfigError`](crate::error::ConfigError)). Knows nothing of
//! HTTP: checking a key before it is stored is the caller's (`Client::check`).

pub mod file;
pub mod key;
pub mod resolve;
pub mod store;

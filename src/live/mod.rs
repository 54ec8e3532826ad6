//! Live schemas: a model's public schema page (`{origin}/models/{provider}/{model}/api_schema`),
//! read without the key by an HTTP client of its own, checked as a vendored fragment is
//! (the official CLI's rules on `servers[0].url`, then the build's one host rule,
//! `modellix_codegen::parse_with_origin`), and kept in an on-disk cache with its fetch
//! time. This is how a model this build does not vendor is checked before it is paid for.
//!
//! `page.rs` fetches and reads one page; `cache.rs` is the cache in the user's cache
//! directory; `store.rs` decides between them (fresh cache, fetch, stale cache with a
//! warning) and holds the settings. The checks themselves are `schema::runtime`.
//!
//! May use `schema`, `error`, `transport::tls`; knows nothing of tasks in flight.

pub(crate) mod cache;
pub(crate) mod page;
pub(crate) mod store;

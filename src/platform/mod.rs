//! Platform calls beside the paid submit: the model catalog, the account check, uploads
//! of local files, and the local-file path that inlines or uploads them.
//!
//! May use `transport`, `error`, `schema` (media rules) and `media`; knows nothing of
//! tasks or waiting.

pub(crate) mod account;
pub(crate) mod catalog;
pub(crate) mod endpoint;
pub(crate) mod local_files;
pub(crate) mod price;
pub(crate) mod tiers;
pub(crate) mod upload;

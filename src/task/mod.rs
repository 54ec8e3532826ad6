//! A task: its durable record, its status, the paid submit that creates it, one status
//! query, the handle bound to a client, and the output it ends with (its resources:
//! files, or text such as a transcript).
//!
//! May use `transport`, `ledger`, `schema`, `wait` and `error`.

pub(crate) mod handle;
pub(crate) mod kind;
pub(crate) mod output;
pub(crate) mod query;
pub(crate) mod record;
pub(crate) mod resource;
pub(crate) mod status;
pub(crate) mod submit;

//! One module per command.

pub mod auth;
pub mod batch;
pub mod doctor;
pub mod ledger;
pub mod models;
pub mod run;
pub mod sandbox;
pub mod schema;
pub mod task;
pub mod upload;
pub mod validate;

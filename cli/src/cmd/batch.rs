//! `modellix batch`: many jobs within Modellix's limits, resumable through the ledger.

use crate::args::{BatchArgs, Global};
use crate::failure::{Failure, Outcome};
use crate::output::Out;

pub async fn run(_global: &Global, _args: &BatchArgs, _out: &Out) -> Outcome {
    Err(Failure::other("batch is not in this build yet"))
}

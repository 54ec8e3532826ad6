//! `modellix history` and `modellix recover`: what the ledger recorded.

use crate::args::{Global, HistoryArgs};
use crate::failure::{Failure, Outcome};
use crate::output::Out;

pub async fn history(_global: &Global, _args: &HistoryArgs, _out: &Out) -> Outcome {
    Err(Failure::other("the task ledger is not in this build yet"))
}

pub async fn recover(_global: &Global, _out: &Out) -> Outcome {
    Err(Failure::other("the task ledger is not in this build yet"))
}

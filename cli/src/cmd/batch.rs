//! `modellix batch`: see `crate::batch`.

use crate::args::{BatchArgs, Global};
use crate::failure::Outcome;
use crate::output::Out;

pub async fn run(global: &Global, args: &BatchArgs, out: &Out) -> Outcome {
    crate::batch::run(global, args, out).await
}

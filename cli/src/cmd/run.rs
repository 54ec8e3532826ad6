//! `modellix run`: one task, validated, sent once, waited for, saved.

use std::time::Duration;

use clap::ArgMatches;
use modellix::WaitOptions;
use serde_json::json;

use crate::args::{Global, RunArgs};
use crate::catalog::Model;
use crate::failure::{Failure, Outcome};
use crate::output::Out;
use crate::session::Session;
use crate::{catalog, fields, results, submit};

pub async fn run(global: &Global, args: &RunArgs, matches: &ArgMatches, out: &Out) -> Outcome {
    let model = catalog::resolve(&args.model)?;
    let body = checked_body(model, args, matches, out).await?;
    let wait = WaitOptions::deadline(Duration::from_secs(args.timeout));
    let session = Session::open(global, wait).await?;
    let task = submit::submit(&session.client, &model.model_id, &body, None).await?;
    out.note(format!(
        "submitted task {} (keep this id: it is what you pay for)",
        task.id()
    ));
    if args.no_wait {
        let answer = json!({"task_id": task.id(), "status": "submitted"});
        out.data(&answer, || println!("{}", task.id()));
        return Ok(());
    }
    let output = results::wait_with_progress(&session, &task, &args.save, out).await?;
    let result = results::save(&session, &output.task, &output.info, &args.save, out).await?;
    out.data(&result, || results::print_human(&result));
    Ok(())
}

/// The body from `--body`, the field flags and `--set`, with local images inlined,
/// checked against every rule before anything is sent.
async fn checked_body(
    model: &Model,
    args: &RunArgs,
    matches: &ArgMatches,
    out: &Out,
) -> Outcome<serde_json::Value> {
    let given = fields::given(matches, model, &args.sets)?;
    let mut body = fields::body(args.body.as_deref(), model, &given)?;
    fields::inline_local_images(&mut body, model).await?;
    let warnings = model
        .validate(&body)
        .map_err(|e| Failure::from(modellix::Error::from(e)))?;
    for w in warnings.iter() {
        out.note(format!("warning: {w}"));
    }
    Ok(body)
}

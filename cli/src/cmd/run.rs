//! `modellix run`: one task, validated, sent once, waited for, saved.
//!
//! Local files in URL and media fields (`./clip.mp4`, `file://…`) go through the
//! library's one local-file path (`Client::fill_local_files`): inline where the field
//! takes base64 and the file fits, uploaded otherwise. Uploads made for the task are
//! deleted once it has ended (success or failure), unless `--keep-uploads`; while it
//! may still be running (`--no-wait`, a timeout, an unknown outcome) they are kept.

use std::time::Duration;

use clap::ArgMatches;
use modellix::{UploadedFile, WaitOptions};
use serde_json::{Value, json};

use crate::args::{Global, RunArgs};
use crate::catalog::Model;
use crate::failure::{Failure, Kind, Outcome};
use crate::output::Out;
use crate::session::Session;
use crate::{catalog, fields, results, submit};

/// `model`: the model whose fields `matches` holds as flags (vendored, or read from its
/// live schema page), when `main` found one.
pub async fn run(
    global: &Global,
    args: &RunArgs,
    matches: &ArgMatches,
    model: Option<&'static Model>,
    out: &Out,
) -> Outcome {
    let model = match model {
        Some(model) => model,
        None => catalog::resolve(&args.model)?,
    };
    let body = checked_body(model, args, matches, out)?;
    let wait = WaitOptions::deadline(Duration::from_secs(args.timeout));
    let session = Session::open(global, wait).await?;
    // Server text (a failed task's error, say) may echo the key: never shown as is.
    let answer = send(&session, model, body, args, out)
        .await
        .map_err(|f| session.redact_failure(f))?;
    let answer = session.redact_value(answer);
    out.data(&answer, || {
        if args.no_wait {
            println!("{}", answer["task_id"].as_str().unwrap_or_default());
        } else {
            results::print_human(&answer);
        }
    });
    Ok(())
}

/// Fills local files, submits once, waits and saves: the answer to print.
async fn send(
    session: &Session,
    model: &Model,
    mut body: Value,
    args: &RunArgs,
    out: &Out,
) -> Outcome<Value> {
    let uploads = session
        .client
        .fill_local_files(&model.model_id, &mut body)
        .await?;
    for upload in &uploads {
        out.note(format!(
            "uploaded {} as {}",
            upload.filename.as_deref().unwrap_or("a local file"),
            upload.file_id
        ));
    }
    let task = match submit::submit(
        &session.client,
        &model.model_id,
        &body,
        None,
        args.webhook.as_deref(),
        args.no_schema,
        modellix::SubmitOptions::new(),
    )
    .await
    {
        Ok(task) => task,
        Err(e) => {
            // An unknown outcome may have made a task that reads the uploads.
            let ended = !e.is_outcome_unknown();
            let failure = Failure::from(e);
            let report = settle_uploads(session, &uploads, ended, args.keep_uploads, out).await;
            return Err(with_uploads(failure, report));
        }
    };
    out.note(format!(
        "submitted task {} (keep this id: it is what you pay for)",
        task.id()
    ));
    if args.no_wait {
        let report = settle_uploads(session, &uploads, false, args.keep_uploads, out).await;
        let mut answer = json!({"task_id": task.id(), "status": "submitted"});
        if let Some(report) = report {
            answer["uploads"] = report;
        }
        return Ok(answer);
    }
    let waited = results::wait_with_progress(session, &task, &args.save, out).await;
    // The task has ended when it succeeded or failed; anything else may leave it running.
    let ended = match &waited {
        Ok(_) => true,
        Err(f) => f.kind == Kind::TaskFailed,
    };
    let report = settle_uploads(session, &uploads, ended, args.keep_uploads, out).await;
    let output = waited.map_err(|f| with_uploads(f, report.clone()))?;
    let mut result = results::save(session, &output.task, &output.info, &args.save, out).await?;
    results::add_cost(&mut result, &output);
    if let Some(report) = report {
        result["uploads"] = report;
    }
    Ok(result)
}

/// Deletes the uploads once the task has ended (unless kept on purpose) and says what
/// became of each: `[{"file_id","url","deleted"}]`, `None` without uploads.
async fn settle_uploads(
    session: &Session,
    uploads: &[UploadedFile],
    ended: bool,
    keep: bool,
    out: &Out,
) -> Option<Value> {
    if uploads.is_empty() {
        return None;
    }
    let delete = ended && !keep;
    let deleted = delete
        && match session.client.delete_files(uploads).await {
            Ok(()) => true,
            Err(e) => {
                out.note(format!(
                    "warning: could not delete the uploads made for this task ({e}); \
                     Modellix deletes them after about 7 days"
                ));
                false
            }
        };
    if !delete {
        let why = if keep {
            "--keep-uploads"
        } else {
            "the task may still be running"
        };
        let ids: Vec<&str> = uploads.iter().map(|u| u.file_id.as_str()).collect();
        out.note(format!(
            "kept the uploads {} ({why}); Modellix deletes them after about 7 days",
            ids.join(", ")
        ));
    }
    Some(Value::Array(
        uploads
            .iter()
            .map(|u| json!({"file_id": u.file_id, "url": u.url, "deleted": deleted}))
            .collect(),
    ))
}

fn with_uploads(failure: Failure, report: Option<Value>) -> Failure {
    match report {
        Some(report) => failure.detail("uploads", report),
        None => failure,
    }
}

/// The body from `--body`, the field flags and `--set`, checked against every rule
/// before anything is sent or uploaded: local files stand in as URLs for the check
/// (the library checks the filled body again before it sends it).
fn checked_body(model: &Model, args: &RunArgs, matches: &ArgMatches, out: &Out) -> Outcome<Value> {
    let given = fields::given(matches, model, &args.sets)?;
    let body = fields::body(args.body.as_deref(), model, &given)?;
    let stand_in = fields::with_local_files_stood_in(&model.model_id, &body);
    let warnings = model
        .validate(&stand_in)
        .map_err(|e| Failure::from(modellix::Error::from(e)))?;
    for w in warnings.iter() {
        out.note(format!("warning: {w}"));
    }
    Ok(body)
}

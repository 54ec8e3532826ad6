//! `modellix task get|wait|download <id>…`: many tasks at once, a bounded number at a
//! time, every task reported on its own so that one failure or timeout hides nothing.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use modellix::types::TaskInfo;
use modellix::{TaskHandle, TaskStatus, WaitOptions};
use serde_json::{Value, json};

use crate::args::{Global, SaveArgs, TaskCmd, TaskIds};
use crate::failure::{Failure, Kind, Outcome};
use crate::output::Out;
use crate::results;
use crate::session::Session;

pub async fn run(global: &Global, command: &TaskCmd, out: &Out) -> Outcome {
    match command {
        TaskCmd::Get(ids) => {
            let session = Session::open(global, WaitOptions::default()).await?;
            each(&session, ids, out, None, |_session, task| async move {
                let info = task.status().await?;
                Ok(serde_json::to_value(&info).unwrap_or_default())
            })
            .await
        }
        TaskCmd::Wait(args) => {
            let deadline = Instant::now() + Duration::from_secs(args.timeout);
            let session = Session::open(global, WaitOptions::default()).await?;
            let save = &args.save;
            each(
                &session,
                &args.tasks,
                out,
                Some(save),
                |session, task| async move {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let output = task.wait_with(WaitOptions::deadline(left)).await?;
                    let mut result =
                        results::save(session, &output.task, &output.info, save, out).await?;
                    results::add_cost(&mut result, &output);
                    Ok(result)
                },
            )
            .await
        }
        TaskCmd::Download(args) => {
            let session = Session::open(global, WaitOptions::default()).await?;
            let save = SaveArgs {
                no_download: false,
                out: args.out.clone(),
            };
            let save = &save;
            each(
                &session,
                &args.tasks,
                out,
                None,
                |session, task| async move {
                    let info = finished(&task).await?;
                    results::save(session, task.task(), &info, save, out).await
                },
            )
            .await
        }
    }
}

/// The task's answer if it succeeded; its failure, or "still running", otherwise.
async fn finished(task: &TaskHandle) -> Outcome<TaskInfo> {
    let info = task.status().await?;
    match &info.status {
        TaskStatus::Success => Ok(info),
        status if status.is_terminal() => Err(Failure::new(
            Kind::TaskFailed,
            format!("task {} {status}", task.id()),
        )
        .task(task.id().to_owned())),
        status => Err(Failure::new(
            Kind::TimedOut,
            format!(
                "task {} is still {status}; nothing to download yet",
                task.id()
            ),
        )
        .task(task.id().to_owned())),
    }
}

/// Runs `work` for every id, `concurrency` at a time; prints each task's result as it
/// comes (or all of them as `{"tasks":[…],"error"?:{…}}` with --json). Fails with the
/// worst kind; with `resume`, a timeout names the command that waits for the
/// unfinished tasks alone.
async fn each<'a, F, Fut>(
    session: &'a Session,
    ids: &TaskIds,
    out: &Out,
    resume: Option<&SaveArgs>,
    work: F,
) -> Outcome
where
    F: Fn(&'a Session, TaskHandle) -> Fut,
    Fut: Future<Output = Outcome<Value>> + 'a,
{
    let jobs = ids.ids.iter().map(|id| {
        let work = session
            .client
            .task(id.clone())
            .map_err(Failure::from)
            .map(|task| work(session, task));
        async move {
            let result = match work {
                Ok(fut) => fut.await,
                Err(failure) => Err(failure),
            };
            (id.clone(), result)
        }
    });
    let mut stream = futures_util::stream::iter(jobs).buffered(usize::from(ids.concurrency));
    let mut reports = Vec::new();
    let mut worst: Option<Failure> = None;
    let mut unfinished = Vec::new();
    while let Some((id, result)) = stream.next().await {
        // Server text (a failed task's error, say) may echo the key: never shown as is.
        let result = result
            .map(|value| session.redact_value(value))
            .map_err(|failure| session.redact_failure(failure));
        match result {
            Ok(value) => {
                if !out.json {
                    print_one(&value);
                }
                reports.push(value);
            }
            Err(failure) => {
                let failure = match failure.task_id {
                    Some(_) => failure,
                    None => failure.task(id.clone()),
                };
                if !out.json && ids.ids.len() > 1 {
                    eprintln!("{id}: {}", failure.message);
                }
                if failure.kind == Kind::TimedOut {
                    unfinished.push(id.clone());
                }
                reports.push(json!({"task_id": id, "error": failure.to_json()["error"]}));
                worst = Some(match worst {
                    Some(w) if w.kind.worst(failure.kind) == w.kind => w,
                    _ => failure,
                });
            }
        }
    }
    let failure = worst.map(|mut failure| {
        if ids.ids.len() > 1 {
            failure.message = format!(
                "{} of {} tasks did not end well; the worst: {}",
                reports.iter().filter(|r| r.get("error").is_some()).count(),
                ids.ids.len(),
                failure.message
            );
            failure.task_id = None;
        }
        if let (Some(save), false) = (resume, unfinished.is_empty()) {
            let ids: Vec<&str> = unfinished.iter().map(String::as_str).collect();
            let command = session.resume_command(&ids, &save.out, save.no_download);
            failure.message = format!(
                "{}\n{} task(s) still running; resume with:\n  {command}",
                failure.message,
                ids.len()
            );
            failure = failure.detail("resume", Value::from(command));
        }
        failure
    });
    if out.json {
        let mut answer = json!({ "tasks": reports });
        if let Some(f) = &failure {
            answer["error"] = f.to_json()["error"].clone();
        }
        println!("{answer}");
    }
    match failure {
        None => Ok(()),
        Some(f) if out.json => Err(f.already_printed()),
        Some(f) => Err(f),
    }
}

fn print_one(value: &Value) {
    if value.get("files").is_some() || value.get("urls").is_some() {
        results::print_human(value);
    } else {
        let id = value["task_id"].as_str().unwrap_or_default();
        let status = value["status"].as_str().unwrap_or("unknown");
        println!("{id} {status}");
    }
}

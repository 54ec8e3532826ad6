//! Waiting for a task with progress, and what is done with its result: saved files or
//! printed URLs, as one JSON object per task.

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use modellix::types::TaskInfo;
use modellix::{DownloadContext, DownloadOptions, Task, TaskHandle, TaskOutput};
use serde_json::{Value, json};

use crate::args::SaveArgs;
use crate::failure::{Failure, Kind, Outcome};
use crate::output::Out;
use crate::session::Session;

/// Waits for `task`, showing its status on a terminal. A timeout's failure says how to
/// resume, with the exact command.
pub async fn wait_with_progress(
    session: &Session,
    task: &TaskHandle,
    save: &SaveArgs,
    out: &Out,
) -> Outcome<TaskOutput> {
    let bar = out.spinner(format!("{} waiting for the first status", task.id()));
    let mut updates = task.updates();
    let mut last = None;
    while let Some(update) = updates.next().await {
        match update {
            Ok(update) => {
                bar.set_message(format!("{} {}", task.id(), update.status));
                last = Some(update);
            }
            Err(e) => {
                bar.finish_and_clear();
                return Err(with_resume_hint(session, e.into(), save));
            }
        }
    }
    bar.finish_and_clear();
    last.and_then(|update| update.output)
        .ok_or_else(|| Failure::other("the wait ended without a result").task(task.id().to_owned()))
}

/// Adds the resume command to a timeout.
pub fn with_resume_hint(session: &Session, mut failure: Failure, save: &SaveArgs) -> Failure {
    if failure.kind != Kind::TimedOut {
        return failure;
    }
    if let Some(id) = failure.task_id.clone() {
        let command = session.resume_command(&[&id], &save.out, save.no_download);
        failure.message = format!(
            "{}\nthe task is still running; resume with:\n  {command}",
            failure.message
        );
        failure = failure.detail("resume", Value::from(command));
    }
    failure
}

/// Saves the result of a task that ended well into `save.out` (or lists its URLs with
/// `--no-download`): `{"task_id","status":"success","files"|"urls":[…]}`.
pub async fn save(
    session: &Session,
    task: &Task,
    info: &TaskInfo,
    save: &SaveArgs,
    out: &Out,
) -> Outcome<Value> {
    let id = task.id().to_owned();
    let resources = info
        .result
        .as_ref()
        .map_or(&[][..], |r| r.resources.as_slice());
    // A success without a result file is not a result: say so, with the id, and exit
    // non-zero rather than report "saved" with nothing saved.
    let empty = || {
        Failure::new(
            Kind::NoResult,
            format!(
                "task {id} succeeded but gave no result file, so nothing was saved; see its \
                 answer with `modellix task get {id} --json`"
            ),
        )
        .task(id.clone())
    };
    if resources.is_empty() {
        return Err(empty());
    }
    if save.no_download {
        // A resource without a URL (a transcript) is shown, never dropped: its text,
        // else the resource itself.
        let urls: Vec<&str> = resources.iter().filter_map(|r| r.url.as_deref()).collect();
        let inline: Vec<Value> = resources
            .iter()
            .filter(|r| r.url.is_none() || r.text().is_some())
            .map(|r| r.text().map_or_else(|| json!(r), |text| json!(text)))
            .collect();
        let mut result = json!({"task_id": id, "status": "success", "urls": urls});
        if !inline.is_empty() {
            result["texts"] = json!(inline);
        }
        return Ok(result);
    }
    let bar = out.spinner(format!("{id} downloading"));
    let progress = bar.clone();
    // Names carry the task id: a file already there is this task's own result from a
    // run cut short, so replacing it (atomically) makes a rerun finish the job.
    let options = DownloadOptions::default()
        .overwrite(true)
        .total_timeout(Duration::from_secs(3600))
        .on_progress(move |p| {
            progress.set_message(format!("file {}: {} bytes", p.index + 1, p.bytes_done));
        });
    let downloader = session.downloader(options)?;
    std::fs::create_dir_all(&save.out).map_err(|e| {
        Failure::other(format!("cannot create {}: {e}", save.out.display())).task(id.clone())
    })?;
    let mut context = DownloadContext::new(id.clone()).finished_at(SystemTime::now());
    if let Some(model) = task.model_id().or(info.model_id.as_deref()) {
        context = context.model_id(model);
    }
    let saved = downloader
        .download_all(resources, &save.out, &context)
        .await;
    bar.finish_and_clear();
    let saved = saved.map_err(|e| Failure::other(e.to_string()).task(id.clone()))?;
    if saved.is_empty() {
        return Err(empty());
    }
    let files: Vec<String> = saved.iter().map(|f| f.path.display().to_string()).collect();
    Ok(json!({"task_id": id, "status": "success", "files": files}))
}

/// Adds what the task cost and until when its results can be fetched to a result:
/// `"cost"` (the billed USD amount as an exact decimal string, `null` when the answer
/// gives none), `"billing_status"`, `"result_expires_at"` (RFC 3339; from the answer,
/// else 7 days after the end) and `"server_duration_ms"` when the answer gives it.
pub fn add_cost(result: &mut Value, output: &TaskOutput) {
    if !result.is_object() {
        return;
    }
    result["cost"] = json!(output.cost());
    result["billing_status"] = json!(output.billing_status());
    result["result_expires_at"] =
        json!(humantime::format_rfc3339_seconds(output.result_expires_at()).to_string());
    if let Some(run) = output.server_duration() {
        result["server_duration_ms"] = json!(run.as_millis() as u64);
    }
}

/// One task's result for people: the saved paths or the URLs, then its cost.
pub fn print_human(result: &Value) {
    let id = result["task_id"].as_str().unwrap_or_default();
    print_files(id, result);
    if let Some(cost) = result["cost"].as_str() {
        println!("{id} cost ${cost}");
    }
    if let (Some(expires), Some(_)) = (result["result_expires_at"].as_str(), result.get("urls")) {
        println!("{id} result links work until {expires}");
    }
}

fn print_files(id: &str, result: &Value) {
    if let Some(files) = result["files"].as_array() {
        for f in files.iter().filter_map(Value::as_str) {
            println!("{id} saved {f}");
        }
    }
    if let Some(urls) = result["urls"].as_array() {
        for u in urls.iter().filter_map(Value::as_str) {
            println!("{id} {u}");
        }
    }
    if let Some(texts) = result["texts"].as_array() {
        for t in texts {
            match t.as_str() {
                Some(text) => println!("{id} text: {text}"),
                None => println!("{id} {t}"),
            }
        }
    }
}

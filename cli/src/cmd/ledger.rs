//! `modellix history`, `modellix recover` and `modellix ledger dismiss`: what the
//! ledger recorded, and the user's word that an entry was checked. They use the ledger
//! file alone: no key, no request.

use std::io::{BufRead, IsTerminal, Write};

use std::sync::Arc;

use modellix::{
    Cost, EntryQuery, LedgerEntry, Outcome as Recorded, TaskLedger, is_postgres_ledger,
    ledger_location_for_display,
};
use serde_json::{Value, json};

use crate::args::{DismissArgs, Global, HistoryArgs, LedgerCmd};
use crate::failure::{Failure, Outcome};
use crate::ledger_path;
use crate::output::Out;
use crate::session::shell_command;

pub async fn run(global: &Global, command: &LedgerCmd, out: &Out) -> Outcome {
    match command {
        LedgerCmd::Dismiss(args) => dismiss(global, args, out).await,
    }
}

/// Marks an open entry as checked, after a confirmation unless `--yes`.
async fn dismiss(global: &Global, args: &DismissArgs, out: &Out) -> Outcome {
    let Some(path) = ledger_path(global).filter(|p| exists(p)) else {
        return Err(Failure::bad_input(
            "there is no ledger file to dismiss an entry in (see --ledger)",
        ));
    };
    let ledger = open(&path)?;
    let shown = ledger_location_for_display(&path);
    let fail = |e: modellix::LedgerError| Failure::other(format!("{shown}: {}", e.message()));
    let entries = ledger.entries(&EntryQuery::recent(0)).await.map_err(fail)?;
    let Some(entry) = entries.iter().find(|e| e.id == args.entry) else {
        return Err(Failure::bad_input(format!(
            "{shown} holds no entry {}; `{}` lists the open ones",
            args.entry,
            shell_command(global, &["recover".into()])
        )));
    };
    if !entry.outcome.is_open() {
        return Err(Failure::bad_input(format!(
            "entry {} is not open ({}); nothing to dismiss",
            entry.id,
            next_step(entry, global)
        )));
    }
    if !args.yes && !confirmed(entry)? {
        return Err(Failure::bad_input(format!(
            "entry {} not dismissed (not confirmed)",
            entry.id
        )));
    }
    ledger.dismiss(entry.id).await.map_err(fail)?;
    let value = json!({"dismissed": entry.id, "model_id": entry.intent.model_id,
        "marker": entry.intent.marker, "task_id": entry.task_id()});
    out.data(&value, || {
        eprintln!(
            "entry {} dismissed; `modellix recover` and `modellix batch` no longer report it",
            entry.id
        );
    });
    Ok(())
}

/// Asks on the terminal; without one, only `--yes` dismisses.
fn confirmed(entry: &LedgerEntry) -> Outcome<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::bad_input(format!(
            "dismissing entry {} needs a confirmation: pass --yes once you checked the \
             Modellix console",
            entry.id
        )));
    }
    eprint!(
        "entry {}: {} request{} of {}, {}.\nDid you check the Modellix console, and may \
         the ledger forget it? [y/N] ",
        entry.id,
        entry.intent.model_id,
        entry
            .intent
            .marker
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default(),
        modellix_time(entry),
        entry
            .task_id()
            .map_or("no task id known".to_owned(), |t| format!("task {t}")),
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::other(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn modellix_time(entry: &LedgerEntry) -> String {
    serde_json::to_value(entry)
        .ok()
        .and_then(|v| v["intent"]["created_at"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What a shell user does about `entry`, as the command to run.
pub fn next_step(entry: &LedgerEntry, global: &Global) -> String {
    let marker = entry
        .intent
        .marker
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    let dismiss = || {
        shell_command(
            global,
            &["ledger".into(), "dismiss".into(), entry.id.to_string()],
        )
    };
    let wait =
        |task_id: &str| shell_command(global, &["task".into(), "wait".into(), task_id.into()]);
    match &entry.outcome {
        Recorded::InFlight => format!(
            "the {} request{marker} of {} was being sent when its process stopped: it may \
             have created a billed task. Check the Modellix console before sending it \
             again, then: {}",
            entry.intent.model_id,
            modellix_time(entry),
            dismiss()
        ),
        Recorded::Accepted { task_id } => {
            format!(
                "task {task_id}{marker} is running or finished unseen; resume it: {}",
                wait(task_id)
            )
        }
        Recorded::Unknown {
            task_id: Some(task_id),
            ..
        } => format!(
            "the outcome of task {task_id}{marker} was unknown; do not resubmit, resume it: {}",
            wait(task_id)
        ),
        Recorded::Unknown {
            task_id: None,
            reason,
        } => format!(
            "the {} request{marker} may have created a billed task ({reason}): check the \
             Modellix console before sending it again, then: {}",
            entry.intent.model_id,
            dismiss()
        ),
        _ => entry.next_step(),
    }
}

pub async fn history(global: &Global, args: &HistoryArgs, out: &Out) -> Outcome {
    let entries = read(global, &EntryQuery::recent(args.limit)).await?;
    print(&entries, global, out, false);
    Ok(())
}

pub async fn recover(global: &Global, out: &Out) -> Outcome {
    let entries = read(global, &EntryQuery::open()).await?;
    print(&entries, global, out, true);
    Ok(())
}

/// A SQLite file that exists, or a database (which cannot be seen without connecting).
fn exists(path: &std::path::Path) -> bool {
    is_postgres_ledger(path) || path.exists()
}

fn open(path: &std::path::Path) -> Outcome<Arc<dyn TaskLedger>> {
    modellix::open_ledger(path).map_err(|e| {
        Failure::other(format!(
            "{}: {}",
            ledger_location_for_display(path),
            e.message()
        ))
    })
}

async fn read(global: &Global, query: &EntryQuery) -> Outcome<Vec<LedgerEntry>> {
    let Some(path) = ledger_path(global) else {
        // The in-process sandbox's ledger lives in memory and dies with the process.
        return Ok(Vec::new());
    };
    if !exists(&path) {
        return Ok(Vec::new());
    }
    let ledger = open(&path)?;
    ledger.entries(query).await.map_err(|e| {
        Failure::other(format!(
            "{}: {}",
            ledger_location_for_display(&path),
            e.message()
        ))
    })
}

fn print(entries: &[LedgerEntry], global: &Global, out: &Out, with_next_step: bool) {
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut value = serde_json::to_value(e).unwrap_or_default();
            value["next_step"] = Value::from(next_step(e, global));
            value
        })
        .collect();
    let (total, billed) = total_cost(entries);
    out.data(
        &json!({ "entries": list, "cost": total.to_string(), "billed_tasks": billed }),
        || {
            for (entry, value) in entries.iter().zip(&list) {
                let state = value["outcome"]["state"].as_str().unwrap_or("?");
                println!(
                    "{:>5} {} {:<28} {:<10} {:>10} {}{}",
                    entry.id,
                    value["intent"]["created_at"].as_str().unwrap_or_default(),
                    entry.intent.model_id,
                    state,
                    entry.cost.map_or("-".to_owned(), |c| format!("${c}")),
                    entry.task_id().unwrap_or("-"),
                    entry
                        .intent
                        .marker
                        .as_deref()
                        .map(|m| format!(" [{m}]"))
                        .unwrap_or_default(),
                );
                if with_next_step {
                    println!("      {}", next_step(entry, global));
                }
            }
            if entries.is_empty() {
                eprintln!(
                    "the ledger holds nothing{}",
                    if with_next_step { " open" } else { "" }
                );
            } else if billed > 0 {
                println!("billed: ${total} over {billed} task(s) listed");
            }
        },
    );
}

/// The exact sum of the listed entries' costs, and how many had one.
fn total_cost(entries: &[LedgerEntry]) -> (Cost, usize) {
    entries
        .iter()
        .filter_map(|e| e.cost)
        .fold((Cost::ZERO, 0), |(total, n), cost| {
            // Beyond an i128 of 10^-12 dollars no bill goes: the total stays.
            (total.checked_add(cost).unwrap_or(total), n + 1)
        })
}

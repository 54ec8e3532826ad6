//! `modellix history` and `modellix recover`: what the ledger recorded. They read the
//! ledger file alone: no key, no request.

use modellix::{EntryQuery, LedgerEntry, SqliteLedger, TaskLedger};
use serde_json::{Value, json};

use crate::args::{Global, HistoryArgs};
use crate::failure::{Failure, Outcome};
use crate::ledger_path;
use crate::output::Out;

pub async fn history(global: &Global, args: &HistoryArgs, out: &Out) -> Outcome {
    let entries = read(global, &EntryQuery::recent(args.limit)).await?;
    print(&entries, out, false);
    Ok(())
}

pub async fn recover(global: &Global, out: &Out) -> Outcome {
    let entries = read(global, &EntryQuery::open()).await?;
    print(&entries, out, true);
    Ok(())
}

async fn read(global: &Global, query: &EntryQuery) -> Outcome<Vec<LedgerEntry>> {
    let Some(path) = ledger_path(global) else {
        // The in-process sandbox's ledger lives in memory and dies with the process.
        return Ok(Vec::new());
    };
    if !path.exists() {
        return Ok(Vec::new());
    }
    let ledger = SqliteLedger::open(&path)
        .map_err(|e| Failure::other(format!("{}: {}", path.display(), e.message())))?;
    ledger
        .entries(query)
        .await
        .map_err(|e| Failure::other(format!("{}: {}", path.display(), e.message())))
}

fn print(entries: &[LedgerEntry], out: &Out, with_next_step: bool) {
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut value = serde_json::to_value(e).unwrap_or_default();
            value["next_step"] = Value::from(e.next_step());
            value
        })
        .collect();
    out.data(&json!({ "entries": list }), || {
        for (entry, value) in entries.iter().zip(&list) {
            let state = value["outcome"]["state"].as_str().unwrap_or("?");
            println!(
                "{:>5} {} {:<28} {:<10} {}{}",
                entry.id,
                value["intent"]["created_at"].as_str().unwrap_or_default(),
                entry.intent.model_id,
                state,
                entry.task_id().unwrap_or("-"),
                entry
                    .intent
                    .marker
                    .as_deref()
                    .map(|m| format!(" [{m}]"))
                    .unwrap_or_default(),
            );
            if with_next_step {
                println!("      {}", entry.next_step());
            }
        }
        if entries.is_empty() {
            eprintln!(
                "the ledger holds nothing{}",
                if with_next_step { " open" } else { "" }
            );
        }
    });
}

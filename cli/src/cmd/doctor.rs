//! `modellix doctor`: is everything in place before paying for a task?

use modellix::WaitOptions;
use serde_json::{Value, json};

use crate::args::Global;
use crate::failure::{Failure, Kind, Outcome};
use crate::ledger_path;
use crate::output::Out;
use crate::session::Session;

/// A task id that cannot exist: a 404 for it proves the API answers and takes the key.
const PROBE_TASK: &str = "modellix-doctor-probe";

struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    kind: Kind,
}

pub async fn run(global: &Global, out: &Out) -> Outcome {
    let mut checks = vec![ledger_check(global)];
    match Session::open(global, WaitOptions::default()).await {
        Err(failure) => checks.push(Check {
            name: "key",
            ok: false,
            detail: failure.message,
            kind: failure.kind,
        }),
        Ok(session) => {
            checks.push(Check {
                name: "key",
                ok: true,
                detail: if session.is_sandbox() {
                    "the in-process sandbox's key".into()
                } else {
                    "MODELLIX_API_KEY is set".into()
                },
                kind: Kind::Other,
            });
            checks.push(api_check(&session).await);
        }
    }
    let list: Vec<Value> = checks
        .iter()
        .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail}))
        .collect();
    let failed = checks.iter().filter(|c| !c.ok).count();
    let answer = json!({"ok": failed == 0, "checks": list});
    out.data(&answer, || {
        for c in &checks {
            println!(
                "{} {:<7} {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            );
        }
    });
    match checks.into_iter().find(|c| !c.ok) {
        None => Ok(()),
        Some(c) => {
            let failure = Failure::new(
                c.kind,
                format!("{failed} check(s) failed; first: {}: {}", c.name, c.detail),
            );
            Err(if out.json {
                failure.already_printed()
            } else {
                failure
            })
        }
    }
}

async fn api_check(session: &Session) -> Check {
    let base = session.client.base_url().to_owned();
    let probe = match session.client.task(PROBE_TASK) {
        Ok(task) => task.status(&session.client).await,
        Err(e) => Err(e),
    };
    let (ok, detail) = match probe {
        Err(e) if e.status() == Some(404) => (true, format!("{base} answers and accepts the key")),
        Err(e) if e.status() == Some(401) => (false, format!("{base} refuses the key: {e}")),
        Err(e) => (false, format!("{base}: {e}")),
        Ok(_) => (true, format!("{base} answers")),
    };
    Check {
        name: "api",
        ok,
        detail,
        kind: Kind::Other,
    }
}

fn ledger_check(global: &Global) -> Check {
    let (ok, detail) = match ledger_path(global) {
        None => (true, "in memory (--sandbox)".to_owned()),
        Some(path) => {
            let dir = path
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            match std::fs::create_dir_all(&dir) {
                Ok(()) => (true, path.display().to_string()),
                Err(e) => (false, format!("cannot create {}: {e}", dir.display())),
            }
        }
    };
    Check {
        name: "ledger",
        ok,
        detail,
        kind: Kind::Other,
    }
}

//! `modellix doctor`: is everything in place before paying for a task?

use modellix::WaitOptions;
use serde_json::{Value, json};

use crate::args::Global;
use crate::failure::{Failure, Kind, Outcome};
use crate::ledger_path;
use crate::output::Out;
use crate::session::Session;

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
                    match crate::session::credentials(global) {
                        Ok(c) => format!(
                            "set for profile `{}`, {}",
                            c.profile,
                            crate::cmd::auth::describe(&c.key_from)
                        ),
                        Err(_) => "set".into(),
                    }
                },
                kind: Kind::Other,
            });
            checks.extend(account_checks(&session).await);
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

/// The API, the key, the balance and the clock, from the library's free account
/// check (no task is created, nothing is billed).
async fn account_checks(session: &Session) -> Vec<Check> {
    let base = session.client.base_url().to_owned();
    let account = session.client.check().await;
    let problems = account.problems.join("; ");
    let check = |name, ok, detail: String, kind| Check {
        name,
        ok,
        detail,
        kind,
    };
    let mut checks = vec![check(
        "api",
        account.reachable,
        if account.reachable {
            format!("{base} answers")
        } else {
            format!("{base} cannot be reached: {problems}")
        },
        Kind::Network,
    )];
    if !account.reachable {
        return checks;
    }
    checks.push(match account.key_valid {
        Some(true) => check("key", true, "valid".into(), Kind::Other),
        Some(false) => check(
            "key",
            false,
            "Modellix says the key is invalid or revoked; create one in the console".into(),
            Kind::Auth,
        ),
        None => check(
            "key",
            false,
            format!("not confirmed: {problems}"),
            Kind::Other,
        ),
    });
    if let Some(balance) = account.balance_usd {
        checks.push(check(
            "balance",
            balance > 0.0,
            format!("{balance:.4} USD"),
            Kind::Other,
        ));
    }
    if let Some(offset) = account.clock_offset_secs {
        // Signed result links and rate-limit resets assume a clock within seconds.
        checks.push(check(
            "clock",
            offset.abs() <= 30.0,
            format!("{offset:+.0} s from the server's clock"),
            Kind::Other,
        ));
    }
    checks
}

fn ledger_check(global: &Global) -> Check {
    let (ok, detail) = match ledger_path(global) {
        None => (true, "in memory (--sandbox)".to_owned()),
        Some(path) if modellix::is_postgres_ledger(&path) => (
            true,
            format!(
                "PostgreSQL database {}",
                modellix::ledger_location_for_display(&path)
            ),
        ),
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

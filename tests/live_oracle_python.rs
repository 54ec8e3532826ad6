//! The live path agrees with python's `jsonschema` (4.x), an implementation independent
//! of this workspace's Rust code: the same sandbox-served pages and seeded bodies as
//! `live_oracle.rs` (`common::oracle`), all sent to one python process
//! (`tests/support/jsonschema_oracle.py`, draft 4 over the schema as
//! `common::oracle::to_draft4` maps it), and the same two bounds: no body python refuses
//! is accepted, at most 5% of the bodies it accepts are refused (each listed with why).
//!
//! Python's `jsonschema` comes from pip (`.ci/run` installs it into `.ci/python/` and
//! sets `MODELLIX_PYTHONPATH`, given to the child as `PYTHONPATH`). Without it the test
//! skips with a message, unless `CI` is set: then it fails.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use common::oracle::{Case, Tally, live_cases};
use serde_json::{Value, json};

/// Where `.ci/run` installs python's `jsonschema`; the child's `PYTHONPATH`.
const PYTHONPATH_ENV: &str = "MODELLIX_PYTHONPATH";

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/jsonschema_oracle.py"
);

fn python() -> Command {
    let mut command = Command::new("python3");
    if let Some(path) = std::env::var_os(PYTHONPATH_ENV) {
        command.env("PYTHONPATH", path);
    }
    command
}

/// Why python's `jsonschema` 4.x cannot be used here, or `None` when it can.
fn missing_jsonschema() -> Option<String> {
    let check = "import importlib.metadata as m, sys, jsonschema; \
                 v = m.version('jsonschema'); print(v); sys.exit(0 if v.split('.')[0] == '4' else 3)";
    match python().args(["-c", check]).output() {
        Err(e) => Some(format!("python3 does not run ({e})")),
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "python3 has no jsonschema 4.x ({}{})",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Stops the python process by its id when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// python's verdict on every body of every case, in order: one process, the lines
/// written by a thread of their own so neither pipe can fill while the other waits.
fn python_verdicts(cases: &[Case]) -> Vec<Vec<bool>> {
    let mut child = Running(
        python()
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let mut lines = Vec::new();
    for case in cases {
        lines.push(json!({"schema": case.draft4}).to_string());
        lines.extend(case.bodies.iter().map(|b| json!({"body": b}).to_string()));
    }
    let expected = lines.len();
    let mut stdin = child.0.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for line in lines {
            writeln!(stdin, "{line}").expect("python reads its input");
        }
        // Dropping stdin ends python's loop.
    });
    let answers: Vec<Value> = BufReader::new(child.0.stdout.take().unwrap())
        .lines()
        .map(|line| serde_json::from_str(&line.expect("python's answer")).unwrap())
        .collect();
    writer.join().unwrap();
    assert!(
        child.0.wait().unwrap().success(),
        "the python oracle failed"
    );
    assert_eq!(answers.len(), expected, "one answer per line");

    let mut answers = answers.into_iter();
    cases
        .iter()
        .map(|case| {
            let compiled = answers.next().unwrap();
            assert_eq!(
                compiled["ok"],
                json!(true),
                "{}: python's jsonschema refused the schema: {compiled}",
                case.model
            );
            (0..case.bodies.len())
                .map(|_| answers.next().unwrap()["valid"] == json!(true))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn live_validation_agrees_with_python_jsonschema() {
    if let Some(why) = missing_jsonschema() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}, but CI is set: install it with \
             `python3 -m pip install --target .ci/python jsonschema` and set \
             {PYTHONPATH_ENV}=.ci/python (as .ci/run does)"
        );
        eprintln!(
            "skipping live_validation_agrees_with_python_jsonschema: {why}; \
             `python3 -m pip install --target .ci/python jsonschema` and \
             {PYTHONPATH_ENV}=$PWD/.ci/python make it run"
        );
        return;
    }
    let cases = live_cases().await;
    let verdicts = python_verdicts(&cases);
    let mut tally = Tally::default();
    for (case, verdicts) in cases.iter().zip(verdicts) {
        for (value, by_python) in case.bodies.iter().zip(verdicts) {
            tally.record(case, value, by_python);
        }
    }
    tally.report_and_assert("python's jsonschema (Draft4Validator)");
}

//! Contract test against Stoplight Prism, an independent OpenAPI validator: for every
//! vendored submit operation, the bodies the client sends are accepted by Prism (mocking
//! the merged document on 127.0.0.1) and bodies that break a schema rule are refused by
//! Prism and by `validate_json` alike.
//!
//! Prism comes from npm (`.ci/run` installs it into `.ci/prism/`). Without it the test
//! skips with a message, unless `MODELLIX_PRISM` names the binary (as in CI): then a
//! missing Prism is a failure.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use modellix::{OPERATIONS, Operation};
use serde_json::{Value, json};

fn prism() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/prism/node_modules/.bin/prism");
    match std::env::var_os("MODELLIX_PRISM") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.exists(),
                "MODELLIX_PRISM={} does not exist: run .ci/run's prism step",
                path.display()
            );
            Some(path)
        }
        None if local.exists() => Some(local),
        None => None,
    }
}

/// Stops Prism by its process id when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes JSON Schema 2020 `examples` arrays, which OpenAPI 3.0 (and Prism) refuse.
fn drop_examples_arrays(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("examples").is_some_and(Value::is_array) {
                map.remove("examples");
            }
            map.values_mut().for_each(drop_examples_arrays);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_examples_arrays),
        _ => {}
    }
}

fn published_schema(op: &Operation) -> Value {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("spec")
        .join(op.file);
    let fragment: Value = serde_json::from_str(&std::fs::read_to_string(spec).unwrap()).unwrap();
    fragment[op.method.to_ascii_lowercase()]["requestBody"]["content"]["application/json"]["schema"]
        .clone()
}

/// The merged document, with each request schema as published (the generated types'
/// copy has its limits moved into `validate()`).
fn document() -> Value {
    let mut doc: Value =
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/openapi.json"))).unwrap();
    for op in OPERATIONS.iter().filter(|o| o.is_submit()) {
        let media = &mut doc["paths"][op.path][op.method.to_ascii_lowercase()]["requestBody"]["content"]
            ["application/json"];
        media["schema"] = published_schema(op);
    }
    drop_examples_arrays(&mut doc);
    doc
}

/// A body that satisfies the schema: the required fields, each at its smallest valid
/// value (the first branch of a oneOf).
fn smallest(schema: &Value) -> Value {
    if let Some(Value::Array(branches)) = schema.get("oneOf").or(schema.get("anyOf")) {
        return smallest(&branches[0]);
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values[0].clone();
    }
    let n = |k: &str| schema.get(k).and_then(Value::as_u64);
    match schema.get("type").and_then(Value::as_str) {
        Some("string") if schema.get("pattern").is_some() => json!("https://example.com/a.png"),
        Some("string") => {
            let url = "https://example.com/a.png";
            let min = n("minLength").unwrap_or(0) as usize;
            let max = n("maxLength").map_or(usize::MAX, |m| m as usize);
            if (min..=max).contains(&url.len()) {
                json!(url)
            } else {
                json!("x".repeat(min.max(1)))
            }
        }
        Some("integer") | Some("number") => schema.get("minimum").cloned().unwrap_or(json!(1)),
        Some("boolean") => json!(true),
        Some("array") => {
            let item = smallest(&schema["items"]);
            Value::Array(vec![item; n("minItems").unwrap_or(1).max(1) as usize])
        }
        _ => {
            let mut out = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                out.insert(name.to_owned(), smallest(&schema["properties"][name]));
            }
            Value::Object(out)
        }
    }
}

/// Bodies that break one schema rule each: a required field left out, a field of the
/// wrong type, an enum value outside the list, a limit passed by one.
fn breaking(schema: &Value, valid: &Value) -> Vec<(String, Value)> {
    let object = schema.get("oneOf").and_then(|b| b.get(0)).unwrap_or(schema);
    let mut out = Vec::new();
    for name in object["required"].as_array().into_iter().flatten() {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(name.as_str().unwrap());
        out.push((format!("without {name}"), body));
    }
    for (name, prop) in object["properties"].as_object().into_iter().flatten() {
        let mut body = valid.clone();
        let wrong = if prop["type"] == "string" {
            json!(12)
        } else {
            json!("twelve")
        };
        body[name] = wrong;
        out.push((format!("{name} of the wrong type"), body));
        if let Some(first) = prop["enum"].get(0) {
            let mut body = valid.clone();
            body[name] = if first.is_string() {
                json!("no-such-value")
            } else {
                json!(987_654)
            };
            out.push((format!("{name} outside its enum"), body));
        }
        if let Some(max) = prop["maximum"].as_i64() {
            let mut body = valid.clone();
            body[name] = json!(max + 1);
            out.push((format!("{name} over its maximum"), body));
        }
        if let Some(max) = prop["maxLength"].as_u64() {
            let mut body = valid.clone();
            body[name] = json!("x".repeat(max as usize + 1));
            out.push((format!("{name} over its maxLength"), body));
        }
    }
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn prism_and_validate_agree_on_every_operation() {
    let Some(prism) = prism() else {
        eprintln!(
            "SKIPPED prism contract test: Prism is not installed (run the prism step of \
             .ci/run, or set MODELLIX_PRISM to its binary)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("openapi.json");
    std::fs::write(&spec, serde_json::to_string_pretty(&document()).unwrap()).unwrap();
    let port = free_port();
    let child = Command::new(&prism)
        .args([
            "mock",
            spec.to_str().unwrap(),
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-v",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prism starts");
    let mut running = Running(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http
        .get(format!("{base}/api/v1/tasks/task-1"))
        .send()
        .await
        .is_err()
    {
        if started.elapsed() > Duration::from_secs(60) || running.0.try_wait().unwrap().is_some() {
            let mut err = String::new();
            if let Some(mut e) = running.0.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("prism did not come up on {base}: {err}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut checked = 0;
    for op in OPERATIONS.iter().filter(|o| o.is_submit()) {
        let schema = published_schema(op);
        let valid = smallest(&schema);
        let send = |body: &Value| {
            let request = http.post(format!("{base}{}", op.path)).json(body);
            async move { request.send().await.unwrap().status().as_u16() }
        };
        let ours = (op.validate_json.unwrap())(&valid);
        assert!(
            ours.is_ok(),
            "{}: {valid} {:?}",
            op.file,
            ours.err().map(|e| e.to_string())
        );
        assert_eq!(
            send(&valid).await,
            200,
            "{}: Prism refused {valid}",
            op.file
        );
        for (name, body) in breaking(&schema, &valid) {
            let ours = (op.validate_json.unwrap())(&body);
            assert!(
                ours.is_err(),
                "{} {name}: validate accepted {body}",
                op.file
            );
            assert_eq!(
                send(&body).await,
                422,
                "{} {name}: Prism accepted {body}",
                op.file
            );
            checked += 1;
        }
    }
    eprintln!("prism and validate agreed on {checked} breaking bodies");
    assert!(checked > 50);
}

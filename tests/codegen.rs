//! The generator's contract: reviewable output, and new endpoints without Rust.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn generated_code_matches_the_reviewed_snapshot() {
    let built = include_str!(concat!(env!("OUT_DIR"), "/modellix_generated.rs"));
    let snapshot = include_str!("snapshots/modellix_generated.rs");
    assert!(
        built == snapshot,
        "the generated client differs from tests/snapshots/: run `cargo xtask codegen` and review the diff"
    );
    let built = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
    let snapshot = include_str!("snapshots/openapi.json");
    assert!(
        built == snapshot,
        "openapi.json differs from tests/snapshots/: run `cargo xtask codegen`"
    );
}

#[test]
fn the_merged_document_has_no_error_answers_and_no_request_defaults() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/openapi.json"))).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let codes: Vec<_> = op["responses"].as_object().unwrap().keys().collect();
            assert_eq!(codes, ["200"], "{method} {path}");
        }
    }
    let request = &doc["components"]["schemas"]["Seedance20V2vRequest"];
    for (name, prop) in request["properties"].as_object().unwrap() {
        assert!(prop.get("default").is_none(), "{name} keeps a default");
    }
    let submit = &doc["paths"]["/api/v1/bytedance/seedance-2.0-v2v/async"]["post"];
    assert_eq!(
        submit["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SubmitResponse"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".git", "target", "out"].iter().any(|skip| name == *skip) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Adds a made-up model's fragment to a copy of this crate and builds a probe program
/// against it: the new operation and its request type with `validate()` exist, and the
/// crate's Rust sources are untouched.
#[test]
fn a_new_fragment_yields_a_typed_operation_with_no_rust_edits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("extension");
    let copy = work.join("crate");
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(root, &copy);
    std::fs::create_dir_all(copy.join("spec/acme")).unwrap();
    std::fs::copy(
        root.join("tests/fixtures/acme__pixel-1-t2i.json"),
        copy.join("spec/acme/pixel-1-t2i.json"),
    )
    .unwrap();
    std::fs::copy(
        root.join("tests/fixtures/acme__pixel-1-t2i.rules.json"),
        copy.join("spec/acme/pixel-1-t2i.rules.json"),
    )
    .unwrap();
    // A vendored fragment copied under a new model id of its provider: only its URL
    // changes, which is what Modellix publishes for a sibling model.
    for ext in ["json", "rules.json"] {
        let text = std::fs::read_to_string(root.join(format!("spec/minimax/hailuo-2.3-t2v.{ext}")))
            .unwrap()
            .replace("/minimax/hailuo-2.3-t2v/", "/minimax/hailuo-9.9-t2v/");
        std::fs::write(
            copy.join(format!("spec/minimax/hailuo-9.9-t2v.{ext}")),
            text,
        )
        .unwrap();
    }
    std::fs::create_dir_all(copy.join("examples")).unwrap();
    std::fs::write(copy.join("examples/probe.rs"), PROBE).unwrap();

    seed_target_dir(&work.join("target"));
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline", "--example", "probe"])
        .current_dir(&copy)
        // Its own target folder: this test runs while cargo holds ours.
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "probe failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "operation pixel1T2iAsync POST /api/v1/acme/pixel-1-t2i/async model acme/pixel-1-t2i",
            "/count: must be at most 4 (found 9)",
            "/prompt: must be at least 1 characters long (found 0)",
            "/regions: must hold at most 2 item(s) (found 3)",
            "/regions/0/label: must be at least 1 characters long (found 0)",
            "/regions/1/label: is required but missing",
            "/regions/1/weight: must be at most 10 (found 11)",
            "/style: must be one of \"flat\", \"photo\" (found \"3d\")",
            "valid: {\"count\":2,\"prompt\":\"a red kite\"}",
            "sandbox: 1 submit to pixel1T2iAsync, task success",
            "sandbox rejects: Invalid parameters: /count: must be at most 4 (found 9)",
            "resources: image image/png",
            "sibling: /resolution: must be one of \"768P\" when `duration` is 10: 10-second \
             videos only support 768P; use 6 seconds for 1080P",
            "sibling: POST /api/v1/minimax/hailuo-9.9-t2v/async, task success, resources: video video/mp4",
        ]
    );
}

/// Hard-links this run's compiled dependencies into the copy's target folder, so the
/// nested build recompiles only the workspace crates instead of every dependency.
/// Best effort: without it the test is just slower.
fn seed_target_dir(target: &Path) {
    let ours = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("debug");
    let theirs = target.join("debug");
    if theirs.exists() || !ours.exists() {
        return;
    }
    let _ = std::fs::create_dir_all(target);
    let _ = Command::new("cp")
        .arg("-al")
        .arg(&ours)
        .arg(&theirs)
        .status();
    // The workspace's own crates hash the same in the copy (cargo hashes path packages
    // relative to the workspace), so their artifacts would be rewritten in place,
    // through the hard links, into our target: drop them, the copy builds its own.
    for dir in ["build", "deps", ".fingerprint", "incremental", "examples"] {
        let Ok(entries) = std::fs::read_dir(theirs.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("modellix") || name.starts_with("libmodellix") || dir == "examples"
            {
                let path = entry.path();
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
    }
}

const PROBE: &str = r#"
use modellix::SubmitRequest;
use modellix::types::Pixel1T2iRequest;

#[tokio::main]
async fn main() {
    let client = modellix::Client::builder().memory_ledger()
        .api_key("probe-key-0000")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let _ = &client;
    let op = <Pixel1T2iRequest as SubmitRequest>::OPERATION;
    println!("operation {} {} {} model {}", op.operation_id, op.method, op.path, op.model_id.unwrap());
    let bad = serde_json::json!({
        "prompt": "", "count": 9, "style": "3d",
        "regions": [{"label": ""}, {"weight": 11}, {"label": "x"}]
    });
    for v in Pixel1T2iRequest::validate_json(&bad).unwrap_err().violations() {
        println!("{v}");
    }
    let ok: Pixel1T2iRequest =
        serde_json::from_value(serde_json::json!({"prompt": "a red kite", "count": 2})).unwrap();
    let _ = ok.validate().unwrap();
    println!("valid: {}", serde_json::to_string(&ok).unwrap());

    // The sandbox serves the new endpoint with no sandbox code either.
    let sandbox = modellix_sandbox::Sandbox::start().await.unwrap();
    let client = modellix::Client::builder().memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let output = client.generate(&ok).await.unwrap();
    println!(
        "sandbox: {} submit to pixel1T2iAsync, task {}",
        sandbox.counts().submit["pixel1T2iAsync"],
        output.info.status
    );
    let raw = reqwest::Client::new()
        .post(format!("{}{}", sandbox.base_url(), op.path))
        .bearer_auth(sandbox.api_key())
        .json(&serde_json::json!({"prompt": "x", "count": 9}))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = raw.json().await.unwrap();
    println!("sandbox rejects: {}", answer["message"].as_str().unwrap());
    println!("resources: {}", kinds(&output).await);

    // The sibling copied from a vendored fragment: builder, prose rules, sandbox.
    use modellix::types::Hailuo99T2vRequest;
    let bad = Hailuo99T2vRequest::builder().prompt("a cat").duration(10).resolution("1080P").build().unwrap();
    for v in bad.validate().unwrap_err().violations() {
        println!("sibling: {v}");
    }
    let good = Hailuo99T2vRequest::builder().prompt("a cat").duration(10).build().unwrap();
    let output = client.generate(&good).await.unwrap();
    let op = <Hailuo99T2vRequest as SubmitRequest>::OPERATION;
    println!(
        "sibling: {} {}, task {}, resources: {}",
        op.method,
        op.path,
        output.info.status,
        kinds(&output).await
    );
}

/// `type content-type` of each result file, as served.
async fn kinds(output: &modellix::TaskOutput) -> String {
    let mut out = Vec::new();
    for r in output.resources() {
        let got = reqwest::get(r.url.as_str()).await.unwrap();
        let ty = got.headers()["content-type"].to_str().unwrap().to_owned();
        out.push(format!("{} {ty}", r.type_));
    }
    out.join(", ")
}
"#;

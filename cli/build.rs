//! The models this build knows, with their request schemas, read from the same
//! fragments in `spec/` that the library is generated from: the command's fields,
//! flags and help come from here, so they follow a fragment when it changes.

use std::path::PathBuf;

use serde_json::{Value, json};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let spec = manifest_dir.join("..").join("spec");
    println!("cargo::rerun-if-changed=../spec");
    println!("cargo::rerun-if-changed=build.rs");

    let merged = modellix_codegen::load_dir(&spec).and_then(|f| modellix_codegen::merge(&f));
    let merged = match merged {
        Ok(merged) => merged,
        Err(e) => {
            println!("cargo::error=spec/{e}");
            std::process::exit(1);
        }
    };
    let models: Vec<Value> = merged
        .operations
        .iter()
        .filter_map(|op| {
            let submit = op.submit.as_ref()?;
            Some(json!({
                "model_id": submit.model_id,
                "summary": op.summary,
                "schema": submit.request_schema,
            }))
        })
        .collect();
    write(
        &out_dir.join("models.json"),
        &serde_json::to_string(&models).expect("JSON values serialize"),
    );
}

fn write(path: &std::path::Path, text: &str) {
    // Unchanged output keeps its timestamp, so the binary is not rebuilt for nothing.
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

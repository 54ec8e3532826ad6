//! Generates the typed client from the Modellix fragments in `spec/`.
//!
//! Generic on purpose: it names no endpoint. See `codegen/` for the rules and
//! `spec/README.md` for how to add a fragment.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let spec = manifest_dir.join("spec");

    // A directory is scanned recursively, so editing or adding a fragment reruns this
    // script; nothing under src/ does.
    println!("cargo::rerun-if-changed=spec");
    println!("cargo::rerun-if-changed=build.rs");

    let generated = match modellix_codegen::generate_dir(&spec) {
        Ok(generated) => generated,
        Err(e) => {
            println!("cargo::error=spec/{e}");
            std::process::exit(1);
        }
    };
    for warning in &generated.warnings {
        println!("cargo::warning=spec/{warning}");
    }
    write(&out_dir.join(modellix_codegen::CODE_FILE), &generated.code);
    write(
        &out_dir.join(modellix_codegen::OPENAPI_FILE),
        &generated.openapi,
    );
    write(
        &out_dir.join(REQUEST_SCHEMAS_FILE),
        &request_schemas(&generated.operations),
    );
    write(
        &out_dir.join(MEDIA_FIELDS_FILE),
        &media_fields(&generated.operations),
    );
    write(
        &out_dir.join(FRAGMENTS_FILE),
        &fragments(&spec, &generated.operations),
    );
}

/// Read by `src/operation.rs`: each vendored submit's fragment as published, so the
/// sandbox serves it as a schema page and `modellix schema` prints it.
const FRAGMENTS_FILE: &str = "fragments.rs";

/// A Rust expression `&[(model_id, fragment_json), …]`.
fn fragments(spec: &Path, operations: &[modellix_codegen::OperationMeta]) -> String {
    let mut table = String::from("&[\n");
    for op in operations {
        let Some(submit) = &op.submit else { continue };
        let text = std::fs::read_to_string(spec.join(&op.file))
            .unwrap_or_else(|e| panic!("cannot read spec/{}: {e}", op.file));
        table.push_str(&format!("    ({:?}, {:?}),\n", submit.model_id, text));
    }
    table.push_str("]\n");
    table
}

/// Read by `src/operation.rs`: what each media field of each model accepts, so a local
/// image goes inline only where the rules file says base64 is taken.
const MEDIA_FIELDS_FILE: &str = "media_fields.rs";

/// A Rust expression `&[(model_id, field, &[kind, …]), …]`.
fn media_fields(operations: &[modellix_codegen::OperationMeta]) -> String {
    let mut table = String::from("&[\n");
    for submit in operations.iter().filter_map(|op| op.submit.as_ref()) {
        for (field, kinds) in &submit.rules.media {
            table.push_str(&format!(
                "    ({:?}, {:?}, &{:?}),\n",
                submit.model_id, field, kinds
            ));
        }
    }
    table.push_str("]\n");
    table
}

/// Read by `src/operation.rs`: each vendored model's request schema as published, so
/// tools (the CLI's flags and help) need nothing but this crate, not `spec/`.
const REQUEST_SCHEMAS_FILE: &str = "request_schemas.rs";

/// A Rust expression `&[(model_id, schema_json), …]`; `{:?}` of a `str` is a valid
/// Rust string literal. A body of several shapes also lists their fields at the top
/// (`modellix_codegen::fields_of_shapes`), where the CLI looks for its flags.
fn request_schemas(operations: &[modellix_codegen::OperationMeta]) -> String {
    let mut table = String::from("&[\n");
    for submit in operations.iter().filter_map(|op| op.submit.as_ref()) {
        table.push_str(&format!(
            "    ({:?}, {:?}),\n",
            submit.model_id,
            modellix_codegen::fields_of_shapes(&submit.request_schema).to_string()
        ));
    }
    table.push_str("]\n");
    table
}

fn write(path: &Path, contents: &str) {
    // Unchanged output keeps its timestamp, so dependants are not rebuilt for nothing.
    // Written beside and renamed into place: a hard-linked copy of this target folder
    // (the extension test seeds its own that way) must never see our output change.
    if std::fs::read_to_string(path).ok().as_deref() != Some(contents) {
        let fresh = path.with_extension("tmp");
        std::fs::write(&fresh, contents)
            .and_then(|()| std::fs::rename(&fresh, path))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

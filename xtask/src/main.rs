//! Maintenance tasks: `cargo xtask <command>`.
//!
//! - `codegen [--check]`: refresh (or verify) the snapshot of the generated code and the
//!   merged OpenAPI document under `tests/snapshots/`.
//! - `spec-check`: lint every fragment under `spec/`.
//! - `add-endpoint <fragment.json>`: vendor a Modellix fragment into `spec/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use modellix_codegen::{CODE_FILE, Fragment, OPENAPI_FILE, SpecError};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  codegen [--check]            refresh tests/snapshots/ from spec/ (--check: fail if stale)
  spec-check                   lint every fragment under spec/
  add-endpoint <fragment.json> vendor a Modellix fragment as spec/<provider>/<model>.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codegen"] => codegen(&root, false),
        ["codegen", "--check"] => codegen(&root, true),
        ["spec-check"] => spec_check(&root),
        ["add-endpoint", file] => add_endpoint(&root, Path::new(file)),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn spec_error(e: SpecError) -> String {
    format!("spec/{e}")
}

/// Regenerates and compares or writes the snapshot files.
fn codegen(root: &Path, check: bool) -> Result<(), String> {
    let generated = modellix_codegen::generate_dir(&root.join("spec")).map_err(spec_error)?;
    let dir = root.join("tests/snapshots");
    let files = [
        (CODE_FILE, &generated.code),
        (OPENAPI_FILE, &generated.openapi),
    ];
    let mut stale = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == *contents {
            continue;
        }
        if check {
            stale.push(format!(
                "tests/snapshots/{name} is stale (first difference at line {})",
                first_difference(&current, contents)
            ));
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote tests/snapshots/{name}");
        }
    }
    if !stale.is_empty() {
        return Err(format!(
            "{}\nthe spec or the generator changed: run `cargo xtask codegen`, review the diff and commit it",
            stale.join("\n")
        ));
    }
    if check {
        println!("codegen snapshot is up to date");
    }
    Ok(())
}

fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}

/// Every finding about the fragments: errors stop CI, warnings are printed.
fn spec_check(root: &Path) -> Result<(), String> {
    let fragments = modellix_codegen::load_dir(&root.join("spec")).map_err(spec_error)?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for f in &fragments {
        lint_fragment(f, &mut errors, &mut warnings);
    }
    if errors.is_empty()
        && let Err(e) = modellix_codegen::generate(&fragments)
    {
        errors.push(spec_error(e));
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    for e in &errors {
        println!("error: {e}");
    }
    println!(
        "{} fragment(s), {} error(s), {} warning(s)",
        fragments.len(),
        errors.len(),
        warnings.len()
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err("spec-check failed".into())
    }
}

/// Checks what the loader does not: constructs the generator cannot check and examples
/// that break their own schema (judged by an independent JSON Schema validator).
fn lint_fragment(f: &Fragment, errors: &mut Vec<String>, warnings: &mut Vec<String>) {
    let file = format!("spec/{}", f.file.display());
    let Some(schema) = f.request_schema() else {
        return;
    };
    if let Err(e) = modellix_codegen::emit_checks(schema) {
        errors.push(format!("{file}: request schema: {e}"));
    }
    let validator = match jsonschema::draft4::new(schema) {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!(
                "{file}: request schema is not valid JSON Schema: {e}"
            ));
            return;
        }
    };
    for (name, example) in f.request_examples() {
        for e in validator.iter_errors(&example) {
            // Published examples are not always valid; vendoring them is fine, trusting
            // them as test data is not.
            warnings.push(format!(
                "{file}: example {name:?} breaks its own schema at {:?}: {e}",
                e.instance_path().as_str()
            ));
        }
    }
}

/// Vendors a fragment as `spec/<provider>/<model>.json`, checks the whole spec with it
/// and refreshes the snapshot.
fn add_endpoint(root: &Path, source: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(source).map_err(|e| format!("{}: {e}", source.display()))?;
    let fragment = modellix_codegen::parse_fragment(source, &text).map_err(|e| e.to_string())?;
    let model_id = fragment
        .model_id()
        .ok_or("only submit fragments (POST /api/v1/{provider}/{model}[/async]) can be added")?;
    let relative = format!("{model_id}.json");
    let dest = root.join("spec").join(&relative);
    if dest.exists() {
        return Err(format!(
            "spec/{relative} exists already; edit it directly, or delete it first to replace it"
        ));
    }
    // Vendored as published, byte for byte: provenance is "the same file".
    std::fs::create_dir_all(dest.parent().expect("has a provider folder"))
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    std::fs::write(&dest, &text).map_err(|e| format!("{}: {e}", dest.display()))?;
    // A starter rules file: the output kind guessed from the id (edit it), no prose rules.
    let rules = root.join("spec").join(format!("{model_id}.rules.json"));
    let wrote_rules = !rules.exists();
    if wrote_rules {
        let kind = if model_id.contains("image") || model_id.contains("t2i") {
            "image"
        } else {
            "video"
        };
        let starter =
            format!("{{\n  \"outputs\": [{{\"kind\": \"{kind}\"}}],\n  \"rules\": []\n}}\n");
        std::fs::write(&rules, starter).map_err(|e| format!("{}: {e}", rules.display()))?;
    }

    let checked = spec_check(root).and_then(|()| codegen(root, false));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&dest);
        if wrote_rules {
            let _ = std::fs::remove_file(&rules);
        }
        return Err(format!("{e}\nspec/{relative} was not added"));
    }
    let base = modellix_codegen::model_type_name(&model_id).unwrap_or_default();
    println!("added spec/{relative}");
    println!(
        "  operation: client.api().{}_async()",
        heck::ToSnakeCase::to_snake_case(base.as_str())
    );
    println!("  request:   modellix::types::{base}Request (with validate())");
    println!("  submit:    client.submit(request) works for it once built");
    println!(
        "edit spec/{model_id}.rules.json (output kind, runtime_fields, the rules its \
         descriptions state) and add a row to spec/README.md"
    );
    Ok(())
}

//! `cargo xtask spec-check`: every finding about the fragments of one spec folder.

use std::path::Path;

use modellix_codegen::{Fragment, SpecError};

/// `spec/<file>: <problem>`.
pub fn spec_error(e: SpecError) -> String {
    format!("spec/{e}")
}

/// Lints every fragment under `spec_dir` and generates the client from them: errors stop
/// CI, warnings are printed.
pub fn spec_check(spec_dir: &Path) -> Result<(), String> {
    let fragments = modellix_codegen::load_dir(spec_dir).map_err(spec_error)?;
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
    warnings.extend(f.unenforced.iter().map(|u| format!("{file}: {u}")));
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

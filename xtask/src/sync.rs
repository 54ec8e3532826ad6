//! `cargo xtask sync [--write]`: fetch every vendored model and report drift (changed
//! fields, a moved submit URL, a removed model); write only with `--write`.

use crate::download;
use crate::fetch::{self, Look, Source};

/// How `sync` ended, for the exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything matches (or was written and checks).
    InSync,
    /// Drift found and not (all) written: exit code 1.
    Drift,
    /// A model could not be fetched or the spec does not check: exit code 2.
    Failed(String),
}

/// `cargo xtask sync`.
pub fn sync(source: &Source, write: bool) -> Outcome {
    let fragments = match modellix_codegen::load_dir(&source.spec_dir) {
        Ok(f) => f,
        Err(e) => return Outcome::Failed(crate::spec_check::spec_error(e)),
    };
    let fetcher = match download::Fetcher::new(&source.origin) {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    let (mut same, mut changed, mut gone, mut errors, mut wrote) = (0, 0, 0, Vec::new(), false);
    for fragment in &fragments {
        let Some(model_id) = fragment.model_id() else {
            println!(
                "spec/{}: skipped (not a model; Modellix publishes no fragment for it)",
                fragment.file.display()
            );
            continue;
        };
        let looked = match fetch::look(&fetcher, source, &model_id) {
            Ok(looked) => looked,
            Err(e) => {
                println!("{model_id}: error: {e}");
                errors.push(model_id);
                continue;
            }
        };
        if looked.file != fragment.file {
            println!(
                "{model_id}: note: vendored as spec/{}, compared with spec/{}",
                fragment.file.display(),
                looked.file.display()
            );
        }
        fetch::report(&looked);
        match &looked.look {
            Look::Unchanged => same += 1,
            Look::Gone(_) => gone += 1,
            Look::Changed { .. } | Look::New { .. } => changed += 1,
        }
        if write {
            match fetch::vendor_looked(source, &looked) {
                Ok(w) => wrote |= w,
                Err(e) => return Outcome::Failed(e),
            }
        }
    }
    println!(
        "{} model(s): {same} unchanged, {changed} changed, {gone} removed, {} error(s)",
        same + changed + gone + errors.len(),
        errors.len()
    );
    if wrote && let Err(e) = fetch::after_write(source) {
        return Outcome::Failed(e);
    }
    if !errors.is_empty() {
        return Outcome::Failed(format!("could not fetch: {}", errors.join(", ")));
    }
    match (changed, gone, write) {
        (0, 0, _) => Outcome::InSync,
        (_, 0, true) => Outcome::InSync,
        (_, _, false) => {
            println!("drift found: run `cargo xtask sync --write` to vendor the changes");
            Outcome::Drift
        }
        (_, _, true) => {
            println!("removed models are not deleted by --write: delete their files by hand");
            Outcome::Drift
        }
    }
}

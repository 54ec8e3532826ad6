//! Maintenance tasks: `cargo xtask <command>`.
//!
//! - `codegen [--check]`: refresh (or verify) the snapshot of the generated code and the
//!   merged OpenAPI document under `tests/snapshots/`.
//! - `spec-check`: lint every fragment under `spec/`.
//! - `add-endpoint <fragment.json>`: vendor a Modellix fragment into `spec/`.
//! - `fetch <provider/model>…`: download live fragments, vendor them, print what changed.
//! - `sync [--write]`: compare every vendored fragment with the live one (drift report).

mod api_diff;
mod download;
mod fetch;
mod provenance;
mod spec_check;
mod sync;
mod vendor;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use modellix_codegen::{CODE_FILE, OPENAPI_FILE};

use crate::fetch::Source;
use crate::spec_check::{spec_check, spec_error};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  codegen [--check]            refresh tests/snapshots/ from spec/ (--check: fail if stale)
  spec-check                   lint every fragment under spec/
  add-endpoint <fragment.json> vendor a Modellix fragment as spec/<provider>/<model>.json
  fetch <provider/model>...    download each model's live fragment from
                               https://www.modellix.ai/models/<provider>/<model>/api_schema
                               (no key is sent), vendor it unchanged as
                               spec/<provider>/<model>.json (a new model also gets a starter
                               rules file and a provenance row in spec/README.md), print what
                               changed in the API (operations, fields, enum values, bounds,
                               required; + added, - removed, ~ changed, with JSON pointers),
                               then run spec-check. Exit 1 if a model is gone (404/410), could
                               not be fetched, or the spec no longer checks.
  sync [--write]               fetch every vendored model and report drift (changed fields, a
                               moved submit URL, a removed model) without writing anything;
                               --write vendors the changes and runs spec-check. Exit 0: in
                               sync (or all written); 1: drift left (without --write, or a
                               removed model); 2: a model could not be fetched or the written
                               spec does not check.

options (spec-check, fetch, sync):
  --from <URL>                 fetch from this origin instead of https://www.modellix.ai
  --spec-dir <DIR>             use this spec folder instead of the workspace's spec/";

/// A command's failure: the message and the exit code.
struct Failure {
    code: u8,
    message: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { code: 1, message }
    }
}

/// The command line split into words and the options every command may take.
struct Args {
    words: Vec<String>,
    from: Option<String>,
    spec_dir: Option<PathBuf>,
    write: bool,
}

fn parse_args(raw: Vec<String>) -> Result<Args, String> {
    let mut args = Args {
        words: Vec::new(),
        from: None,
        spec_dir: None,
        write: false,
    };
    let mut raw = raw.into_iter();
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--from" => args.from = Some(raw.next().ok_or("--from needs a URL")?),
            "--spec-dir" => {
                args.spec_dir = Some(raw.next().ok_or("--spec-dir needs a folder")?.into())
            }
            "--write" => args.write = true,
            _ => args.words.push(arg),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, message }) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

fn run(raw: Vec<String>) -> Result<(), Failure> {
    if raw.first().is_some_and(|a| a == "help") || raw.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let root = workspace_root();
    let args = parse_args(raw)?;
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    let source = Source {
        origin: args
            .from
            .clone()
            .unwrap_or_else(|| download::PUBLIC_ORIGIN.to_owned()),
        spec_dir: args.spec_dir.clone().unwrap_or_else(|| root.join("spec")),
    };
    // Options only where they mean something: codegen always reads the workspace's spec/.
    let fetching = matches!(words.first(), Some(&"fetch" | &"sync"));
    let options_ok = (args.from.is_none() || fetching)
        && (!args.write || words.first() == Some(&"sync"))
        && (args.spec_dir.is_none() || fetching || words.first() == Some(&"spec-check"));
    if !options_ok {
        return Err(USAGE.to_owned().into());
    }
    match words.as_slice() {
        ["codegen"] => codegen(&root, false)?,
        ["codegen", "--check"] => codegen(&root, true)?,
        ["spec-check"] => spec_check(&source.spec_dir)?,
        ["add-endpoint", file] => add_endpoint(&root, Path::new(file))?,
        ["fetch", models @ ..] if !models.is_empty() => {
            let models: Vec<String> = models.iter().map(|m| (*m).to_owned()).collect();
            fetch::fetch(&source, &models)?
        }
        ["sync"] => match sync::sync(&source, args.write) {
            sync::Outcome::InSync => {}
            sync::Outcome::Drift => {
                return Err(Failure {
                    code: 1,
                    message: "sync: drift found".into(),
                });
            }
            sync::Outcome::Failed(message) => return Err(Failure { code: 2, message }),
        },
        _ => return Err(USAGE.to_owned().into()),
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
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
    vendor::write(&root.join("spec"), Path::new(&relative), text.as_bytes())?;
    // A starter rules file: the output kind guessed from the id (edit it), no prose rules.
    let wrote_rules = vendor::write_starter_rules(&root.join("spec"), &model_id)?;
    let rules = root.join("spec").join(format!("{model_id}.rules.json"));

    let checked = spec_check(&root.join("spec")).and_then(|()| codegen(root, false));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&dest);
        if wrote_rules {
            let _ = std::fs::remove_file(&rules);
        }
        return Err(format!("{e}\nspec/{relative} was not added"));
    }
    let base = modellix_codegen::model_type_name(&model_id).unwrap_or_default();
    println!("added spec/{relative}");
    println!("  request:   modellix::types::{base}Request::builder() (with validate())");
    println!(
        "  submit:    client.submit(&request).await, or client.submit_json(\"{model_id}\", body)"
    );
    println!("  shell:     modellix run {model_id} --help");
    println!(
        "edit spec/{model_id}.rules.json (output kind, runtime_fields, the rules its \
         descriptions state) and add a row to spec/README.md"
    );
    Ok(())
}

//! `cargo xtask fetch <provider/model>…`: download each model's live fragment, vendor it
//! unchanged, say what changed in the API, then check the whole spec folder.

use std::path::{Path, PathBuf};

use serde_json::Value;
use url::Url;

use crate::api_diff::{Change, diff_fragments};
use crate::download::{self, Answer};
use crate::provenance::{self, RowChange};
use crate::vendor;

/// Where to fetch from and which spec folder to compare with and write into.
#[derive(Debug, Clone)]
pub struct Source {
    /// `https://www.modellix.ai`, or a test server.
    pub origin: String,
    /// `spec/` of the workspace, or a copy.
    pub spec_dir: PathBuf,
}

/// What the server holds for one model, compared with the vendored copy.
#[derive(Debug)]
pub enum Look {
    /// Not vendored yet.
    New { body: Vec<u8>, path: String },
    /// Byte for byte the vendored file.
    Unchanged,
    /// Different bytes; `changes` empty means the same API in another layout.
    Changed { body: Vec<u8>, changes: Vec<Change> },
    /// The server answered 404 or 410.
    Gone(u16),
}

/// A model's file, URL and what the server holds for it.
pub struct Looked {
    pub model_id: String,
    pub file: PathBuf,
    pub url: Url,
    pub look: Look,
}

/// Fetches `model_id` and compares it with `spec_dir/<model_id>.json`. An answer that is
/// not a fragment of this model is an error; nothing is written.
pub fn look(
    fetcher: &download::Fetcher,
    source: &Source,
    model_id: &str,
) -> Result<Looked, String> {
    vendor::check_model_id(model_id)?;
    let url = download::schema_url(&source.origin, model_id)?;
    let file = vendor::fragment_file(model_id);
    let done = |look| Looked {
        model_id: model_id.to_owned(),
        file: file.clone(),
        url: url.clone(),
        look,
    };
    let body = match fetcher.get(model_id, &url)? {
        Answer::Gone(status) => return Ok(done(Look::Gone(status))),
        Answer::Body(body) => body,
    };
    let fragment = parse_answer(&url, &file, &body)?;
    let served = fragment.model_id().unwrap_or_default();
    if served != model_id {
        return Err(format!(
            "GET {url}: the fragment is for {:?} (server url {}{}), not {model_id}: not vendored",
            served,
            modellix_codegen::API_ORIGIN,
            fragment.path
        ));
    }
    // Then every check a client applies to the page when it reads it live.
    modellix::read_schema_page(model_id, &body, modellix_codegen::API_ORIGIN)
        .map_err(|e| format!("GET {url}: the schema page is refused as a client would: {e}"))?;
    let current = match std::fs::read(source.spec_dir.join(&file)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let path = fragment.path.clone();
            return Ok(done(Look::New { body, path }));
        }
        Err(e) => return Err(format!("{}: {e}", source.spec_dir.join(&file).display())),
    };
    if current == body {
        return Ok(done(Look::Unchanged));
    }
    // The vendored file parsed when it was vendored; if it no longer does, compare with
    // nothing rather than stop.
    let old: Value = serde_json::from_slice(&current).unwrap_or(Value::Null);
    let new: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let changes = diff_fragments(&old, &new);
    Ok(done(Look::Changed { body, changes }))
}

/// The answer as a fragment: UTF-8 JSON of the fragment's shape.
fn parse_answer(url: &Url, file: &Path, body: &[u8]) -> Result<modellix_codegen::Fragment, String> {
    let text = std::str::from_utf8(body)
        .map_err(|_| format!("GET {url}: the answer is not UTF-8 text, so not a fragment"))?;
    modellix_codegen::parse_fragment(file, text).map_err(|e| {
        let start: String = text.chars().take(60).collect();
        format!(
            "GET {url}: the answer is not a Modellix fragment ({}); it starts with {start:?}",
            e.problem
        )
    })
}

/// Prints what changed for one model.
pub fn report(looked: &Looked) {
    let Looked {
        model_id,
        file,
        look,
        ..
    } = looked;
    match look {
        Look::New { body, path } => {
            println!("{model_id}: new model -> spec/{}", file.display());
            println!("  + operation POST {path}");
            let fragment: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            for field in request_fields(&fragment) {
                println!("  + field {field}");
            }
        }
        Look::Unchanged => println!("{model_id}: unchanged"),
        Look::Changed { changes, .. } if changes.is_empty() => {
            println!("{model_id}: same API, the file's bytes differ (layout or order)")
        }
        Look::Changed { changes, .. } => {
            println!(
                "{model_id}: {} change(s) in spec/{}",
                changes.len(),
                file.display()
            );
            for change in changes {
                println!("  {change}");
            }
        }
        Look::Gone(status) => println!(
            "{model_id}: removed: the server answered {status}; delete spec/{} and its rules file \
             and README row if the model is gone for good",
            file.display()
        ),
    }
}

/// `"name" (type)` of every top-level request field (of every branch of a oneOf/anyOf).
fn request_fields(fragment: &Value) -> Vec<String> {
    let Some(schema) = fragment.pointer("/post/requestBody/content/application~1json/schema")
    else {
        return Vec::new();
    };
    let branches: Vec<&Value> = ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| schema.get(*k)?.as_array())
        .flatten()
        .chain(std::iter::once(schema))
        .collect();
    let mut out: Vec<String> = branches
        .iter()
        .filter_map(|b| b.get("properties")?.as_object())
        .flatten()
        .map(
            |(name, prop)| match prop.get("type").and_then(Value::as_str) {
                Some(ty) => format!("{name:?} ({ty})"),
                None => format!("{name:?}"),
            },
        )
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Writes a new or changed fragment (and, for a new one, a starter rules file) and its
/// provenance row. Returns whether it wrote anything.
pub fn vendor_looked(source: &Source, looked: &Looked) -> Result<bool, String> {
    let (body, path) = match &looked.look {
        Look::New { body, path } => (body, Some(path)),
        Look::Changed { body, .. } => (body, None),
        Look::Unchanged | Look::Gone(_) => return Ok(false),
    };
    let file = &looked.file;
    vendor::write(&source.spec_dir, file, body)?;
    println!("  wrote spec/{}", file.display());
    if path.is_some() && vendor::write_starter_rules(&source.spec_dir, &looked.model_id)? {
        println!(
            "  wrote spec/{}.rules.json (a starter: check its output kind, add runtime_fields \
             and the rules the descriptions state)",
            looked.model_id
        );
    }
    let file_cell = file.display().to_string();
    let guessed = vendor::guess_kind(path.map_or("", |p| p.as_str()), &looked.model_id);
    let url = looked.url.to_string();
    let date = provenance::today();
    let make_row = |kind: Option<&str>| {
        provenance::row(
            &file_cell,
            &looked.model_id,
            kind.unwrap_or(&guessed),
            &url,
            &date,
        )
    };
    let readme = source.spec_dir.join("README.md");
    match provenance::upsert_row(&readme, &file_cell, make_row) {
        Ok(RowChange::Added) => println!(
            "  added its provenance row to spec/README.md (check the kind column: {guessed:?})"
        ),
        Ok(RowChange::Replaced) => println!("  updated its provenance row in spec/README.md"),
        Err(e) => println!("  {e}; the row:\n  {}", make_row(None)),
    }
    Ok(true)
}

/// `cargo xtask fetch`.
pub fn fetch(source: &Source, models: &[String]) -> Result<(), String> {
    for id in models {
        vendor::check_model_id(id)?;
    }
    let fetcher = download::Fetcher::new(&source.origin)?;
    let mut errors = Vec::new();
    let mut wrote = false;
    for id in models {
        let looked = match look(&fetcher, source, id) {
            Ok(looked) => looked,
            Err(e) => {
                println!("{id}: error: {e}");
                errors.push(id.clone());
                continue;
            }
        };
        report(&looked);
        if matches!(looked.look, Look::Gone(_)) {
            errors.push(id.clone());
        }
        wrote |= vendor_looked(source, &looked)?;
    }
    let checked = if wrote { after_write(source) } else { Ok(()) };
    match (errors.is_empty(), checked) {
        (true, Ok(())) => Ok(()),
        (_, Err(e)) => Err(e),
        (false, Ok(())) => Err(format!("not fetched: {}", errors.join(", "))),
    }
}

/// Runs spec-check on the folder just written, and says what is left to do.
pub fn after_write(source: &Source) -> Result<(), String> {
    println!("checking {} ...", source.spec_dir.display());
    crate::spec_check::spec_check(&source.spec_dir).map_err(|e| {
        format!(
            "{e}: the fetched fragment is vendored as published but does not build; fix the \
             generator or restore the old file (git checkout spec/)"
        )
    })?;
    println!(
        "next: review the rules files of changed models, run `cargo xtask codegen` and review \
         the diff of tests/snapshots/"
    );
    Ok(())
}

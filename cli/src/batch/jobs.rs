//! The jobs file: one `{"model","body","id"?}` per line, every line checked before
//! anything is sent.
//!
//! A job is its content: its ledger marker is `batch:<id>` when the line names one,
//! else `batch:<digest of model and body>` (`#2`, `#3` … for the 2nd, 3rd identical
//! line). Inserting, deleting or moving lines, or copying the file to another folder,
//! leaves every marker as it was, so a rerun neither bills a job twice nor skips one.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::catalog::{self, Model};
use crate::failure::{Failure, Outcome};
use crate::violations;

/// One checked job.
#[derive(Debug, Clone)]
pub struct Job {
    /// 1-based line in the file.
    pub line: usize,
    /// The job's name: its `id`, else `line-N`.
    pub name: String,
    /// The ledger marker: the job's content (or its id), wherever its line is.
    pub marker: String,
    /// Whether the line named itself (`id`): then its marker says nothing of its
    /// content, and a rerun compares the body with what the ledger recorded.
    pub named: bool,
    /// The marker this job had before markers were its content
    /// (`batch:<absolute path>#<line>`): a ledger written by an older build is still
    /// read, so that upgrading bills nothing twice.
    pub legacy_marker: Option<String>,
    pub model: &'static Model,
    pub body: Value,
}

impl Job {
    /// `sha256:<hex>` of the body bytes as the library sends them (the ledger's
    /// `body_digest`).
    pub fn body_digest(&self) -> String {
        let bytes = serde_json::to_vec(&self.body).unwrap_or_default();
        modellix::Intent::new(self.model.model_id.as_str(), &bytes, "").body_digest
    }

    /// Whether a body recorded with `digest` is what this job sends. A job with local
    /// paths sends upload URLs or inline data in their place, new each time, so only
    /// its model can be compared.
    pub fn sends_digest(&self, digest: &str) -> bool {
        self.body_digest() == digest
            || !modellix::local_file_pointers(&self.model.model_id, &self.body).is_empty()
    }
}

/// `batch:<first 32 hex digits of sha256(model, canonical body)>`: the same for the
/// same content whatever the order of its keys.
fn content_marker(model_id: &str, body: &Value) -> String {
    use sha2::Digest;
    let mut text = String::from(model_id);
    text.push('\n');
    canonical(body, &mut text);
    let hash = sha2::Sha256::digest(text.as_bytes());
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("batch:{hex}")
}

/// JSON with object keys sorted, at every depth.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Reads and checks every line; any bad line fails the whole file, each reported with
/// its number.
pub fn load(path: &Path) -> Outcome<Vec<Job>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
    let file = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    // How many lines of each content came before: the n-th repeat is its own job.
    let mut repeats: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw, line) {
            Ok((name, model, body)) => {
                if let Some(first) = names.insert(name.clone(), line) {
                    problems.push(json!({"line": line, "message": format!("id {name:?} is already used on line {first}")}));
                    continue;
                }
                let named = !name.starts_with("line-");
                let marker = if named {
                    format!("batch:{name}")
                } else {
                    let content = content_marker(&model.model_id, &body);
                    let seen = repeats.entry(content.clone()).or_default();
                    *seen += 1;
                    match *seen {
                        1 => content,
                        n => format!("{content}#{n}"),
                    }
                };
                let legacy_marker = (!named).then(|| format!("batch:{}#{line}", file.display()));
                jobs.push(Job {
                    line,
                    name,
                    marker,
                    named,
                    legacy_marker,
                    model,
                    body,
                });
            }
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| {
                format!(
                    "line {}: {}",
                    p["line"],
                    p["message"].as_str().unwrap_or_default()
                )
            })
            .collect();
        return Err(Failure::bad_input(format!(
            "{} bad line(s) in {}; nothing was sent:\n  {}",
            problems.len(),
            path.display(),
            lines.join("\n  ")
        ))
        .detail("lines", Value::Array(problems)));
    }
    if jobs.is_empty() {
        return Err(Failure::bad_input(format!(
            "{} holds no job",
            path.display()
        )));
    }
    Ok(jobs)
}

fn parse_line(raw: &str, line: usize) -> Result<(String, &'static Model, Value), Value> {
    let problem = |message: String| json!({"line": line, "message": message});
    let value: Value = serde_json::from_str(raw).map_err(|e| problem(format!("not JSON: {e}")))?;
    let slug = value
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| problem("no \"model\"".into()))?;
    let model = catalog::require(slug).map_err(|f| problem(f.message))?;
    let body = value
        .get("body")
        .filter(|b| b.is_object())
        .cloned()
        .ok_or_else(|| problem("no \"body\" object".into()))?;
    let name = match value.get("id") {
        None | Some(Value::Null) => format!("line-{line}"),
        Some(Value::String(id)) if !id.is_empty() && !id.starts_with("line-") => id.clone(),
        Some(other) => return Err(problem(format!("\"id\" {other} is not a usable name"))),
    };
    let checked = crate::fields::with_local_files_stood_in(&model.model_id, &body);
    if let Err(invalid) = model.validate(&checked) {
        let mut p = problem(invalid.to_string().replace('\n', " "));
        p["violations"] = violations::to_json(&invalid);
        return Err(p);
    }
    Ok((name, model, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_without_id_is_known_by_its_content_wherever_its_line_is() {
        let job = |prompt: &str| {
            format!(
                r#"{{"model":"bytedance/seedance-2.0-v2v","body":{{"prompt":"{prompt}","video_urls":["https://e.com/a.mp4"]}}}}"#
            )
        };
        let first = write(&format!("{}\n{}\n{}\n", job("a"), job("b"), job("a")));
        let moved = write(&format!(
            "{}\n\n{}\n{}\n{}\n",
            job("new"),
            job("a"),
            job("b"),
            job("a")
        ));
        let first = load(first.path()).unwrap();
        let moved = load(moved.path()).unwrap();
        let markers = |jobs: &[Job]| jobs.iter().map(|j| j.marker.clone()).collect::<Vec<_>>();
        assert_eq!(markers(&first), markers(&moved)[1..]);
        assert_eq!(first[2].marker, format!("{}#2", first[0].marker));
        // Key order is not content.
        let reordered = write(
            r#"{"body":{"video_urls":["https://e.com/a.mp4"],"prompt":"a"},"model":"bytedance/seedance-2.0-v2v"}"#,
        );
        assert_eq!(load(reordered.path()).unwrap()[0].marker, first[0].marker);
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let good = r#"{"model":"bytedance/seedance-2.0-v2v","body":{"prompt":"a","video_urls":["https://e.com/a.mp4"]}}"#;
        let file = write(&format!(
            "{good}\nnot json\n\n{{\"model\":\"nobody/none\",\"body\":{{}}}}\n\
             {{\"model\":\"bytedance/seedance-2.0-v2v\",\"body\":{{\"prompt\":\"\"}}}}\n{good}\n"
        ));
        let failure = load(file.path()).unwrap_err();
        let lines: Vec<u64> = failure.details["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["line"].as_u64().unwrap())
            .collect();
        assert_eq!(lines, [2, 4, 5], "{}", failure.message);
        assert!(failure.message.contains("line 5: "), "{}", failure.message);
    }

    #[test]
    fn ids_name_jobs_and_must_be_unique() {
        let job = |id: &str| {
            format!(
                r#"{{"id":"{id}","model":"bytedance/seedance-2.0-v2v","body":{{"prompt":"a","video_urls":["https://e.com/a.mp4"]}}}}"#
            )
        };
        let file = write(&format!("{}\n{}\n", job("a"), job("b")));
        let jobs = load(file.path()).unwrap();
        assert_eq!(jobs[1].name, "b");
        assert_eq!(jobs[1].marker, "batch:b");
        assert!(jobs[1].named);
        let file = write(&format!("{}\n{}\n", job("a"), job("a")));
        assert!(
            load(file.path())
                .unwrap_err()
                .message
                .contains("line 2: id \"a\" is already used on line 1")
        );
    }
}

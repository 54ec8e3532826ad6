//! The jobs file: one `{"model","body","id"?}` per line, every line checked before
//! anything is sent.

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
    /// The ledger marker: stable across runs of the same file.
    pub marker: String,
    pub model: &'static Model,
    pub body: Value,
}

/// Reads and checks every line; any bad line fails the whole file, each reported with
/// its number.
pub fn load(path: &Path) -> Outcome<Vec<Job>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", path.display())))?;
    // The absolute path keeps markers of two files with the same name apart.
    let file = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
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
                let marker = match name.strip_prefix("line-") {
                    Some(_) => format!("batch:{}#{line}", file.display()),
                    None => format!("batch:{name}"),
                };
                jobs.push(Job {
                    line,
                    name,
                    marker,
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
    if let Err(invalid) = model.validate(&body) {
        let mut p = problem(invalid.to_string().replace('\n', " "));
        p["violations"] = violations::to_json(&invalid);
        return Err(p);
    }
    Ok((name, model, body))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let file = write(&format!("{}\n{}\n", job("a"), job("a")));
        assert!(
            load(file.path())
                .unwrap_err()
                .message
                .contains("line 2: id \"a\" is already used on line 1")
        );
    }
}

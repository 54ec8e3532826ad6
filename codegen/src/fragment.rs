//! Reading Modellix fragments: `{"servers":[{"url":…}], "<method>": <operation>}`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The only origin a vendored fragment may point at.
pub const API_ORIGIN: &str = "https://api.modellix.ai";
/// Every Modellix path starts with this.
pub const API_PREFIX: &str = "/api/v1/";

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// A fragment that could not be used, with the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The fragment file, relative to the spec folder where possible.
    pub file: PathBuf,
    /// What is wrong, in one sentence.
    pub problem: String,
}

impl SpecError {
    pub(crate) fn new(file: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        SpecError {
            file: file.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

impl std::error::Error for SpecError {}

/// One vendored operation, checked for shape.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// Path of the file relative to the spec folder, with `/` separators.
    pub file: PathBuf,
    /// HTTP method in lower case (`post`, `get`).
    pub method: String,
    /// Path under the API origin, e.g. `/api/v1/bytedance/seedance-2.0-v2v/async`.
    pub path: String,
    /// The OpenAPI operation object, as published.
    pub operation: Map<String, Value>,
}

impl Fragment {
    /// The `operationId` (checked present when the fragment was parsed).
    pub fn operation_id(&self) -> &str {
        self.operation["operationId"].as_str().unwrap_or_default()
    }

    /// True for paid task submissions: a `POST` with a JSON request body.
    pub fn is_submit(&self) -> bool {
        self.method == "post"
    }

    /// The model id as Modellix names it (`bytedance/seedance-2.0-v2v`) for submit paths
    /// of the form `/api/v1/{provider}/{model}/async`.
    pub fn model_id(&self) -> Option<String> {
        let rest = self.path.strip_prefix(API_PREFIX)?;
        let rest = rest.strip_suffix("/async")?;
        let (provider, model) = rest.split_once('/')?;
        (!provider.is_empty() && !model.is_empty() && !model.contains('/'))
            .then(|| format!("{provider}/{model}"))
    }

    /// The JSON request-body schema, if the operation has one.
    pub fn request_schema(&self) -> Option<&Value> {
        json_schema_of(self.operation.get("requestBody")?)
    }

    /// The JSON schema of the `200` answer.
    pub fn response_schema(&self) -> Option<&Value> {
        json_schema_of(self.operation.get("responses")?.get("200")?)
    }

    /// The named request examples, `(name, value)`.
    pub fn request_examples(&self) -> Vec<(String, Value)> {
        let Some(media) = self
            .operation
            .get("requestBody")
            .and_then(|b| b.get("content"))
            .and_then(|c| c.get("application/json"))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(Value::Object(examples)) = media.get("examples") {
            for (name, example) in examples {
                if let Some(value) = example.get("value") {
                    out.push((name.clone(), value.clone()));
                }
            }
        }
        if let Some(value) = media.get("example") {
            out.push(("example".to_owned(), value.clone()));
        }
        out
    }
}

fn json_schema_of(body_or_response: &Value) -> Option<&Value> {
    body_or_response
        .get("content")?
        .get("application/json")?
        .get("schema")
}

/// Parses and checks one fragment. `file` is only used in error messages.
pub fn parse_fragment(file: &Path, text: &str) -> Result<Fragment, SpecError> {
    let err = |problem: String| SpecError::new(file, problem);
    let value: Value =
        serde_json::from_str(text).map_err(|e| err(format!("not valid JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(err(
            "expected a JSON object {\"servers\": [...], \"<method>\": {...}}".into(),
        ));
    };

    let servers = top
        .remove("servers")
        .ok_or_else(|| err("missing \"servers\"".into()))?;
    let url = match servers.as_array().map(Vec::as_slice) {
        Some([server]) => server
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| err("servers[0] has no string \"url\"".into()))?
            .to_owned(),
        _ => {
            return Err(err(
                "\"servers\" must be an array with exactly one entry".into()
            ));
        }
    };
    let path = url.strip_prefix(API_ORIGIN).ok_or_else(|| {
        err(format!(
            "server url {url:?} is not on the origin {API_ORIGIN}"
        ))
    })?;
    if !path.starts_with(API_PREFIX) {
        return Err(err(format!(
            "server url {url:?} is not under {API_ORIGIN}{API_PREFIX}"
        )));
    }
    if path.contains(['?', '#']) || path.contains("//") || path.contains("/../") {
        return Err(err(format!(
            "server url {url:?} must be a plain path (no query, fragment, empty or '..' segment)"
        )));
    }

    let mut methods = top.keys().cloned().collect::<Vec<_>>();
    methods.retain(|k| k != "servers");
    let method = match methods.as_slice() {
        [m] if METHODS.contains(&m.as_str()) => m.clone(),
        [m] => {
            return Err(err(format!(
                "unknown key {m:?}; expected one of {METHODS:?}"
            )));
        }
        [] => {
            return Err(err(
                "no operation: expected a key such as \"post\" or \"get\"".into(),
            ));
        }
        more => {
            return Err(err(format!(
                "expected exactly one operation besides \"servers\", found keys {more:?}"
            )));
        }
    };
    let Some(Value::Object(operation)) = top.remove(&method) else {
        return Err(err(format!(
            "\"{method}\" must be an OpenAPI operation object"
        )));
    };

    let fragment = Fragment {
        file: file.to_owned(),
        method,
        path: path.to_owned(),
        operation,
    };
    check_operation(&fragment).map_err(err)?;
    Ok(fragment)
}

fn check_operation(f: &Fragment) -> Result<(), String> {
    let id = f
        .operation
        .get("operationId")
        .and_then(Value::as_str)
        .ok_or("the operation has no string \"operationId\"")?;
    if id.is_empty()
        || !id.starts_with(|c: char| c.is_ascii_alphabetic())
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "operationId {id:?} must start with a letter and hold only ASCII letters, digits and '_'"
        ));
    }
    if f.response_schema().is_none() {
        return Err(format!(
            "operation {id} has no \"200\" answer with an application/json schema"
        ));
    }
    match (f.is_submit(), f.request_schema()) {
        (true, None) => {
            return Err(format!(
                "POST operation {id} has no application/json request body schema"
            ));
        }
        (true, Some(schema)) if schema.get("type").and_then(Value::as_str) != Some("object") => {
            return Err(format!(
                "the request body of {id} must be a schema of type object"
            ));
        }
        (false, Some(_)) => {
            return Err(format!(
                "only POST operations may carry a request body ({id})"
            ));
        }
        _ => {}
    }
    if f.is_submit() && f.model_id().is_none() {
        return Err(format!(
            "POST path {:?} is not of the form {API_PREFIX}{{provider}}/{{model}}/async",
            f.path
        ));
    }
    Ok(())
}

/// Reads every `*.json` fragment below `dir`, sorted by relative path, and checks that
/// operation ids and method/path pairs are unique.
pub fn load_dir(dir: &Path) -> Result<Vec<Fragment>, SpecError> {
    let mut files = Vec::new();
    collect_json(dir, dir, &mut files)?;
    files.sort();
    let mut fragments = Vec::with_capacity(files.len());
    for rel in files {
        let text = std::fs::read_to_string(dir.join(&rel))
            .map_err(|e| SpecError::new(&rel, format!("cannot read: {e}")))?;
        fragments.push(parse_fragment(&rel, &text)?);
    }
    check_unique(&fragments)?;
    Ok(fragments)
}

/// Checks that no two fragments share an operationId or a method and path.
pub fn check_unique(fragments: &[Fragment]) -> Result<(), SpecError> {
    let mut ids = BTreeSet::new();
    let mut routes = BTreeSet::new();
    for f in fragments {
        if !ids.insert(f.operation_id().to_ascii_lowercase()) {
            return Err(SpecError::new(
                &f.file,
                format!(
                    "operationId {} is used by another fragment",
                    f.operation_id()
                ),
            ));
        }
        if !routes.insert((f.method.clone(), f.path.clone())) {
            return Err(SpecError::new(
                &f.file,
                format!(
                    "{} {} is defined by another fragment",
                    f.method.to_uppercase(),
                    f.path
                ),
            ));
        }
    }
    if fragments.is_empty() {
        return Err(SpecError::new("spec", "no *.json fragment found"));
    }
    Ok(())
}

fn collect_json(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SpecError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SpecError::new(dir, format!("cannot list folder: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| SpecError::new(dir, format!("cannot list folder: {e}")))?;
        let path = entry.path();
        if path.is_dir() {
            collect_json(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            // Forward slashes keep the order and the messages the same on every OS.
            let rel: PathBuf = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
                .into();
            out.push(rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Fragment, String> {
        parse_fragment(Path::new("x.json"), text).map_err(|e| e.to_string())
    }

    const OK_OP: &str = r#"{"operationId":"fooAsync","requestBody":{"content":{"application/json":{"schema":{"type":"object"}}}},"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"object"}}}}}}"#;

    #[test]
    fn accepts_a_submit_fragment() {
        let text = format!(
            r#"{{"servers":[{{"url":"https://api.modellix.ai/api/v1/acme/foo/async"}}],"post":{OK_OP}}}"#
        );
        let f = parse(&text).unwrap();
        assert_eq!(f.model_id().as_deref(), Some("acme/foo"));
        assert_eq!(f.operation_id(), "fooAsync");
    }

    #[test]
    fn rejects_bad_shapes_with_a_reason() {
        let cases = [
            ("[]", "expected a JSON object"),
            ("{", "not valid JSON"),
            (r#"{"post":{}}"#, "missing \"servers\""),
            (r#"{"servers":[]}"#, "exactly one entry"),
            (
                r#"{"servers":[{"url":"https://evil.example/api/v1/a/b/async"}],"post":{}}"#,
                "not on the origin",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai/v2/a/b/async"}],"post":{}}"#,
                "not under",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/a/b/async?x=1"}],"post":{}}"#,
                "plain path",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/a/b/async"}]}"#,
                "no operation",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/a/b/async"}],"post":{},"get":{}}"#,
                "exactly one operation",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/a/b/async"}],"post":{}}"#,
                "no string \"operationId\"",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/a/b/async"}],"post":{"operationId":"x","responses":{}}}"#,
                "no \"200\" answer",
            ),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_err();
            assert!(got.starts_with("x.json: "), "{got}");
            assert!(got.contains(want), "{text}: {got} lacks {want}");
        }
    }
}

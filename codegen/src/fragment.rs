//! Reading Modellix fragments: `{"servers":[{"url":…}], "<method>": <operation>}`, in
//! any of the page shapes `crate::shapes` rewrites into that one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::shapes::{Normalized, Unenforced, normalize_page};

/// The only origin a vendored fragment may point at.
pub const API_ORIGIN: &str = "https://api.modellix.ai";
/// Every Modellix path starts with this.
pub const API_PREFIX: &str = "/api/v1/";

/// Files ending in this hold a model's prose rules, not a fragment.
pub const RULES_SUFFIX: &str = ".rules.json";

/// The key of a rules file that says its `POST` fragment starts no task:
/// `{"task": false}` beside an upload. The fact lives beside the fragment, so vendored
/// fragments stay as published.
pub const TASK_KEY: &str = "task";

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
    /// The OpenAPI operation object, as published once rewritten into the classic shape
    /// ([`normalize_page`]: references resolved, `allOf` merged, nullable types folded).
    pub operation: Map<String, Value>,
    /// The model's rules file (`<model>.rules.json` beside the fragment), if loaded.
    pub rules: Option<Value>,
    /// Keywords of the request body that no check enforces, removed from `operation`:
    /// the build warns about each.
    pub unenforced: Vec<Unenforced>,
}

/// The task kinds of the oldest submit path form,
/// `/api/v1/{kind}/{provider}/{model}/async`.
pub const PATH_KINDS: &[&str] = &[
    "text-to-image",
    "image-to-image",
    "text-to-video",
    "image-to-video",
    "video-to-video",
    "text-to-speech",
    "speech-to-text",
    "speech-to-speech",
];

/// Splits a submit path into `(provider, model)`. The three forms Modellix has
/// published are `/api/v1/{kind}/{provider}/{model}/async`,
/// `/api/v1/{provider}/{model}/async` and `/api/v1/{provider}/{model}`.
pub fn submit_model(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(API_PREFIX)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let (provider, model) = match segments.as_slice() {
        [kind, provider, model, "async"] if PATH_KINDS.contains(kind) => (*provider, *model),
        [provider, model, "async"] => (*provider, *model),
        [provider, model] => (*provider, *model),
        _ => return None,
    };
    let good = |s: &str| {
        !s.is_empty()
            && s != "async"
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    };
    (good(provider) && good(model) && !PATH_KINDS.contains(&provider)).then_some((provider, model))
}

impl Fragment {
    /// The `operationId` as published, if any (optional: names come from the model id).
    pub fn operation_id(&self) -> Option<&str> {
        self.operation.get("operationId").and_then(Value::as_str)
    }

    /// True for paid task submissions. Decided by data, not by the method alone: a
    /// `POST` is a paid submit unless the rules file beside it says `{"task": false}`
    /// (an upload is a `POST` and starts no task). The default is the safe side: an
    /// unmarked `POST` is treated as paid (recorded, never retried) and must pass the
    /// submit checks (JSON body, a submit path form, a rules file with outputs).
    pub fn is_submit(&self) -> bool {
        self.method == "post" && !self.declared_not_a_task()
    }

    /// True when the rules file beside the fragment says `{"task": false}`.
    pub fn declared_not_a_task(&self) -> bool {
        self.rules
            .as_ref()
            .and_then(|r| r.get(TASK_KEY))
            .is_some_and(|v| v == &Value::Bool(false))
    }

    /// The model id as Modellix names it (`bytedance/seedance-2.0-v2v`), from any of the
    /// three submit path forms (see [`submit_model`]).
    pub fn model_id(&self) -> Option<String> {
        if !self.is_submit() {
            return None;
        }
        submit_model(&self.path).map(|(provider, model)| format!("{provider}/{model}"))
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

/// Parses and checks one fragment. `file` is only used in error messages. Without its
/// rules file a `POST` is checked as a paid submit (see [`Fragment::is_submit`]).
pub fn parse_fragment(file: &Path, text: &str) -> Result<Fragment, SpecError> {
    parse_with_rules(file, text, None)
}

/// [`parse_fragment`] with the rules file beside the fragment, which may say that a
/// `POST` starts no task.
pub fn parse_with_rules(
    file: &Path,
    text: &str,
    rules: Option<Value>,
) -> Result<Fragment, SpecError> {
    parse_with_origin(file, text, rules, API_ORIGIN)
}

/// [`parse_with_rules`] with the origin `servers[0].url` must be on: [`API_ORIGIN`] for
/// a vendored fragment, the client's own API origin for a schema page read at run
/// time (a sandbox or mirror on loopback). The one host rule both sides apply.
pub fn parse_with_origin(
    file: &Path,
    text: &str,
    rules: Option<Value>,
    origin: &str,
) -> Result<Fragment, SpecError> {
    let err = |problem: String| SpecError::new(file, problem);
    let value: Value =
        serde_json::from_str(text).map_err(|e| err(format!("not valid JSON: {e}")))?;
    let Normalized { page, unenforced } = normalize_page(&value).map_err(|e| err(e.to_string()))?;
    let Value::Object(mut top) = page else {
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
    let origin = origin.trim_end_matches('/');
    let path = url
        .strip_prefix(origin)
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| {
            err(format!(
                "server url {url:?} is not on the origin {origin}, the only API host: \
                 fetch the fragment again from the model's page or correct the host"
            ))
        })?;
    if !path.starts_with(API_PREFIX) {
        return Err(err(format!(
            "server url {url:?} is not under {origin}{API_PREFIX}"
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
        rules,
        unenforced,
    };
    check_operation(&fragment).map_err(err)?;
    Ok(fragment)
}

fn check_operation(f: &Fragment) -> Result<(), String> {
    let name = match f.operation.get("operationId") {
        None => format!("{} {}", f.method.to_uppercase(), f.path),
        Some(Value::String(id))
            if id.starts_with(|c: char| c.is_ascii_alphabetic())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            id.clone()
        }
        Some(other) => {
            return Err(format!(
                "operationId {other} must be a string that starts with a letter and holds only \
                 ASCII letters, digits and '_': fix it or remove it (names come from the model id)"
            ));
        }
    };
    if f.rules.is_some() && f.method != "post" {
        return Err(format!(
            "{name} is not a POST, so it has no rules: delete the rules file beside it"
        ));
    }
    if let Some(Value::Object(rules)) = &f.rules
        && f.declared_not_a_task()
        && let Some(key) = rules
            .keys()
            .find(|k| !["$comment", TASK_KEY].contains(&k.as_str()))
    {
        return Err(format!(
            "the rules file of {name} says {{\"{TASK_KEY}\": false}} (no task), so its /{key} \
             has nothing to apply to: remove it"
        ));
    }
    if f.response_schema().is_none() {
        return Err(format!(
            "operation {name} has no \"200\" answer with an application/json schema"
        ));
    }
    match (f.is_submit(), f.request_schema()) {
        (true, None) => {
            return Err(format!(
                "POST operation {name} has no application/json request body schema"
            ));
        }
        (true, Some(schema)) if !is_object_body(schema) => {
            return Err(format!(
                "the request body of {name} must be an object schema or a oneOf/anyOf of \
                 object schemas"
            ));
        }
        (false, Some(_)) if f.method != "post" => {
            return Err(format!(
                "only POST operations may carry a request body ({name})"
            ));
        }
        _ => {}
    }
    if f.is_submit() && f.model_id().is_none() {
        return Err(format!(
            "POST path {:?} is none of the submit path forms {API_PREFIX}{{provider}}/{{model}}, \
             {API_PREFIX}{{provider}}/{{model}}/async or {API_PREFIX}{{kind}}/{{provider}}/{{model}}/async \
             (kind one of {}): correct the server url or teach codegen/src/fragment.rs the new form",
            f.path,
            PATH_KINDS.join(", ")
        ));
    }
    Ok(())
}

/// An object schema, or a `oneOf`/`anyOf` whose every branch is one.
fn is_object_body(schema: &Value) -> bool {
    if schema.get("type").and_then(Value::as_str) == Some("object") {
        return true;
    }
    ["oneOf", "anyOf"].iter().any(|k| {
        schema
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|branches| !branches.is_empty() && branches.iter().all(is_object_body))
    })
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
        let rules = rules_path(&rel);
        let rules = match std::fs::read_to_string(dir.join(&rules)) {
            Ok(text) => Some(
                serde_json::from_str(&text)
                    .map_err(|e| SpecError::new(&rules, format!("not valid JSON: {e}")))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(SpecError::new(&rules, format!("cannot read: {e}"))),
        };
        fragments.push(parse_with_rules(&rel, &text, rules)?);
    }
    let mut orphans = Vec::new();
    collect_rules(dir, dir, &mut orphans)?;
    if let Some(orphan) = orphans
        .into_iter()
        .find(|r| !fragments.iter().any(|f| rules_path(&f.file) == *r))
    {
        return Err(SpecError::new(
            orphan,
            "a rules file without a fragment beside it: vendor the fragment or delete this file",
        ));
    }
    check_unique(&fragments)?;
    Ok(fragments)
}

/// Checks that no two fragments share a model id, a method and path, or (for operations
/// that are not submits) an operationId.
pub fn check_unique(fragments: &[Fragment]) -> Result<(), SpecError> {
    let mut ids = BTreeMap::new();
    let mut models = BTreeMap::new();
    let mut routes = BTreeMap::new();
    for f in fragments {
        let here = f.file.display().to_string();
        if let Some(model) = f.model_id()
            && let Some(other) = models.insert(model.clone(), here.clone())
        {
            return Err(SpecError::new(
                &f.file,
                format!(
                    "model id {model} is also the model of {other}: keep one of the two files \
                     (a model has exactly one fragment)"
                ),
            ));
        }
        // Published operationIds only name non-submit operations (submits are named
        // after the model id), so only those must be unique; a sibling copied from
        // another fragment keeps its operationId.
        if let Some(id) = f.operation_id().filter(|_| !f.is_submit())
            && let Some(other) = ids.insert(id.to_ascii_lowercase(), here.clone())
        {
            return Err(SpecError::new(
                &f.file,
                format!("operationId {id} is also used by {other}: rename or remove one"),
            ));
        }
        if let Some(other) = routes.insert((f.method.clone(), f.path.clone()), here) {
            return Err(SpecError::new(
                &f.file,
                format!(
                    "{} {} is also defined by {other}: keep one of the two files",
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

/// `x/model.json` → `x/model.rules.json`.
pub fn rules_path(fragment: &Path) -> PathBuf {
    let text = fragment.to_string_lossy();
    let stem = text.strip_suffix(".json").unwrap_or(&text);
    PathBuf::from(format!("{stem}{RULES_SUFFIX}"))
}

fn collect_rules(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SpecError> {
    let mut all = Vec::new();
    walk(root, dir, &mut all)?;
    out.extend(
        all.into_iter()
            .filter(|p| p.to_string_lossy().ends_with(RULES_SUFFIX)),
    );
    Ok(())
}

fn collect_json(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SpecError> {
    let mut all = Vec::new();
    walk(root, dir, &mut all)?;
    out.extend(all.into_iter().filter(|p| {
        let p = p.to_string_lossy();
        p.ends_with(".json") && !p.ends_with(RULES_SUFFIX)
    }));
    Ok(())
}

/// Every file below `dir`, relative to `root`, with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SpecError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SpecError::new(dir, format!("cannot list folder: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| SpecError::new(dir, format!("cannot list folder: {e}")))?;
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
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
        assert_eq!(f.operation_id(), Some("fooAsync"));
    }

    #[test]
    fn model_ids_come_from_every_submit_path_form() {
        let cases = [
            ("/api/v1/acme/foo-1.5/async", Some(("acme", "foo-1.5"))),
            ("/api/v1/acme/foo-1.5", Some(("acme", "foo-1.5"))),
            (
                "/api/v1/text-to-video/acme/foo/async",
                Some(("acme", "foo")),
            ),
            ("/api/v1/made-up-kind/acme/foo/async", None),
            ("/api/v1/acme", None),
            ("/api/v1/acme/foo/bar", None),
            ("/api/v1/text-to-video/foo/async", None),
        ];
        for (path, want) in cases {
            assert_eq!(submit_model(path), want, "{path}");
        }
    }

    const UPLOAD: &str = r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/media/files"}],"post":{"operationId":"uploadFile","requestBody":{"content":{"multipart/form-data":{"schema":{"type":"object"}}}},"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"object"}}}}}}}"#;

    #[test]
    fn a_post_is_a_paid_submit_unless_the_data_beside_it_says_otherwise() {
        // `/api/v1/media/files` has the shape of a submit path: only the marker tells.
        assert_eq!(
            submit_model("/api/v1/media/files"),
            Some(("media", "files"))
        );
        let upload = parse_with_rules(
            Path::new("x.json"),
            UPLOAD,
            Some(serde_json::json!({"task": false})),
        )
        .unwrap();
        assert!(!upload.is_submit() && upload.declared_not_a_task());
        assert_eq!(upload.model_id(), None);
        // Unmarked, the same POST is checked as a paid submit and fails for its body.
        let unmarked = parse(UPLOAD).unwrap_err();
        assert!(
            unmarked.contains("no application/json request body"),
            "{unmarked}"
        );
        // `"task": true`, or a rules file without the key, changes nothing.
        let marked_true = parse_with_rules(
            Path::new("x.json"),
            UPLOAD,
            Some(serde_json::json!({"task": true})),
        );
        assert!(marked_true.is_err());
        let cases = [
            (
                serde_json::json!({"task": false, "outputs": []}),
                "/outputs has nothing to apply to",
            ),
            (serde_json::json!({"task": false}), "not a POST"),
        ];
        let get = UPLOAD.replace("\"post\"", "\"get\"").replace(
            r#""requestBody":{"content":{"multipart/form-data":{"schema":{"type":"object"}}}},"#,
            "",
        );
        for ((rules, want), text) in cases.into_iter().zip([UPLOAD, get.as_str()]) {
            let got = parse_with_rules(Path::new("x.json"), text, Some(rules))
                .unwrap_err()
                .to_string();
            assert!(got.contains(want), "{got} lacks {want}");
        }
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
                r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/a/b/async"}],"post":{"operationId":"1x"}}"#,
                "operationId \"1x\" must be",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai/api/v1/a/b/async"}],"post":{"responses":{}}}"#,
                "no \"200\" answer",
            ),
            (
                r#"{"servers":[{"url":"https://api.modellix.ai.evil/api/v1/a/b/async"}],"post":{}}"#,
                "not on the origin",
            ),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_err();
            assert!(got.starts_with("x.json: "), "{got}");
            assert!(got.contains(want), "{text}: {got} lacks {want}");
        }
    }
}

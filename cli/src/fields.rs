//! A request body from the command line: `--body`, one flag per field of the model's
//! schema (`--prompt …`, `--video-urls …`) and `--set FIELD=VALUE`, each value
//! converted to the JSON type its schema asks for.

use std::io::Read;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

use crate::catalog::{Field, Model};
use crate::failure::{Failure, Outcome};

/// Long names the command itself uses; a field with one of them is reachable through
/// `--set` only.
const RESERVED: &[&str] = &[
    "body",
    "set",
    "no-wait",
    "no-download",
    "keep-uploads",
    "out",
    "timeout",
    "json",
    "sandbox",
    "base-url",
    "ledger",
    "allow-insecure-http",
    "allow-private-network",
    "help",
    "version",
];

fn flag_name(field: &str) -> String {
    field.replace('_', "-")
}

fn arg_id(field: &str) -> String {
    format!("field:{field}")
}

/// `run` with one flag per field of `model`, documented from its schema.
pub fn add_flags(mut run: Command, model: &Model) -> Command {
    run = run.after_help(format!(
        "{}: {}\n\nEvery field below can also be given as --set FIELD=VALUE or in --body.",
        model.model_id,
        model.description()
    ));
    for field in model.fields() {
        let long = flag_name(field.name);
        if RESERVED.contains(&long.as_str())
            || run.get_arguments().any(|a| a.get_long() == Some(&long))
        {
            continue;
        }
        let mut arg = Arg::new(arg_id(field.name))
            .long(long)
            .help(field.help())
            .help_heading("Fields of the model")
            .value_name(value_name(&field));
        arg = match field.json_type() {
            Some("array") => arg.action(ArgAction::Append),
            // `--flag` alone means true.
            Some("boolean") => arg.num_args(0..=1).default_missing_value("true"),
            _ => arg.allow_hyphen_values(true),
        };
        run = run.arg(arg);
    }
    run
}

fn value_name(field: &Field<'_>) -> &'static str {
    let ty = match field.json_type() {
        Some("array") => field
            .items()
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str),
        other => other,
    };
    match ty {
        Some("integer") => "INT",
        Some("number") => "NUMBER",
        Some("boolean") => "BOOL",
        Some("object") => "JSON",
        _ => "TEXT",
    }
}

/// The raw values given for fields, in order: field flags first, then `--set`.
pub fn given(
    matches: &ArgMatches,
    model: &Model,
    sets: &[String],
) -> Outcome<Vec<(String, String)>> {
    let mut values = Vec::new();
    for field in model.fields() {
        let id = arg_id(field.name);
        if matches.try_contains_id(&id).unwrap_or(false)
            && let Ok(Some(given)) = matches.try_get_many::<String>(&id)
        {
            values.extend(given.map(|v| (field.name.to_owned(), v.clone())));
        }
    }
    for set in sets {
        let (name, value) = set
            .split_once('=')
            .ok_or_else(|| Failure::bad_input(format!("--set {set:?}: expected FIELD=VALUE")))?;
        if model.has_schema() && model.field(name).is_none() {
            let known: Vec<&str> = model.fields().iter().map(|f| f.name).collect();
            return Err(Failure::bad_input(format!(
                "--set {name}: {} has no field {name:?}; its fields: {}",
                model.model_id,
                known.join(", ")
            )));
        }
        values.push((name.to_owned(), value.to_owned()));
    }
    Ok(values)
}

/// The body: `--body` (JSON, `@FILE` or `-` for stdin), then each given field on top.
pub fn body(base: Option<&str>, model: &Model, given: &[(String, String)]) -> Outcome<Value> {
    let mut body = match base {
        Some(source) => read_body(source)?,
        None => Value::Object(Map::new()),
    };
    let Value::Object(map) = &mut body else {
        return Err(Failure::bad_input(
            "--body: a request body is a JSON object",
        ));
    };
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in given {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let open = Value::Null;
    for name in names {
        // Without a schema, every value is JSON when it parses and text otherwise.
        let field = model.field(name).unwrap_or(Field {
            name,
            schema: &open,
            required: false,
        });
        let raw: Vec<&str> = given
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        let value = convert_all(&field, &raw)
            .map_err(|problem| Failure::bad_input(format!("--{}: {problem}", flag_name(name))))?;
        map.insert(name.to_owned(), value);
    }
    Ok(body)
}

/// Reads `--body`: inline JSON, `@FILE` or `-` (stdin).
pub fn read_body(source: &str) -> Outcome<Value> {
    let (text, from) = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::bad_input(format!("--body -: cannot read stdin: {e}")))?;
        (text, "stdin".to_owned())
    } else if let Some(path) = source.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::bad_input(format!("--body @{path}: {e}")))?;
        (text, path.to_owned())
    } else {
        (source.to_owned(), "--body".to_owned())
    };
    serde_json::from_str(&text).map_err(|e| Failure::bad_input(format!("{from}: not JSON: {e}")))
}

fn convert_all(field: &Field<'_>, raw: &[&str]) -> Result<Value, String> {
    if field.json_type() != Some("array") {
        let last = raw.last().copied().unwrap_or_default();
        return convert(field.schema, last);
    }
    if let [one] = raw
        && one.trim_start().starts_with('[')
    {
        return serde_json::from_str(one).map_err(|e| format!("not a JSON array: {e}"));
    }
    let items = field.items().unwrap_or(&Value::Null);
    raw.iter().map(|r| convert(items, r)).collect()
}

/// One value as the JSON type `schema` asks for; text when it says nothing.
fn convert(schema: &Value, raw: &str) -> Result<Value, String> {
    let ty = schema.get("type").and_then(Value::as_str);
    match ty {
        Some("string") => Ok(Value::from(raw)),
        Some("integer") => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{raw:?} is not an integer")),
        Some("number") => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{raw:?} is not a number")),
        Some("boolean") => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("{raw:?} is not true or false")),
        },
        Some("object") | Some("array") => {
            serde_json::from_str(raw).map_err(|e| format!("{raw:?} is not JSON: {e}"))
        }
        _ => Ok(serde_json::from_str(raw).unwrap_or_else(|_| Value::from(raw))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_take_their_schema_type() {
        let table = [
            (json!({"type": "integer"}), "8", Ok(json!(8))),
            (json!({"type": "integer"}), "-1", Ok(json!(-1))),
            (json!({"type": "number"}), "0.5", Ok(json!(0.5))),
            (json!({"type": "boolean"}), "yes", Ok(json!(true))),
            (json!({"type": "string"}), "8", Ok(json!("8"))),
            (json!({"type": "object"}), r#"{"a":1}"#, Ok(json!({"a": 1}))),
            (json!({}), "12", Ok(json!(12))),
            (json!({}), "plain words", Ok(json!("plain words"))),
        ];
        for (schema, raw, expected) in table {
            assert_eq!(convert(&schema, raw), expected, "{schema} {raw}");
        }
        assert!(convert(&json!({"type": "integer"}), "eight").is_err());
        assert!(convert(&json!({"type": "boolean"}), "maybe").is_err());
    }

    #[test]
    fn array_fields_collect_repeated_values_or_one_json_array() {
        let schema = json!({"type": "array", "items": {"type": "string"}});
        let field = Field {
            name: "video_urls",
            schema: &schema,
            required: false,
        };
        assert_eq!(convert_all(&field, &["a", "b"]), Ok(json!(["a", "b"])));
        assert_eq!(convert_all(&field, &[r#"["x"]"#]), Ok(json!(["x"])));
    }
}

/// A URL that stands in for a local file while a body is checked, before anything is
/// uploaded (the library checks the filled body again before sending it).
const STAND_IN_URL: &str = "https://local-file.invalid/checked-before-upload";

/// `body` with each local path that `fill_local_files` would read replaced by a URL,
/// so every other rule is checked before a file is uploaded (`run` and `batch` alike).
pub fn with_local_files_stood_in(model_id: &str, body: &Value) -> Value {
    let mut stand_in = body.clone();
    for pointer in modellix::local_file_pointers(model_id, body) {
        if let Some(slot) = stand_in.pointer_mut(&pointer) {
            *slot = Value::from(STAND_IN_URL);
        }
    }
    stand_in
}

//! Decoding an answer into a generated type without losing it to one slip: a field
//! whose value has the wrong type is mended or dropped, one at a time, before giving
//! up. Unknown fields need nothing: every generated answer type keeps them aside.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::{Path, Segment};

/// Fields mended or dropped before giving up: enough for a few slips
/// (`"width": 1280.0`), bounded so a hostile answer cannot loop long.
const MAX_FIXES: usize = 8;

/// What becomes of a scalar of the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slips {
    /// Dropped: an optional field is lost, a required one still fails.
    Drop,
    /// A number where text is wanted becomes its text (`"file_id": 7`), a decimal text
    /// where a number is wanted becomes the number (`"balance": "0.5000"`); other
    /// scalars are dropped.
    Convert,
    /// As [`Slips::Convert`], and a mistyped object or array is dropped too: for
    /// answers where no result is at stake (a catalog entry's localized description).
    ConvertAny,
}

/// `value` as `T`, decoded strictly, else with slips mended or dropped (each logged).
/// Unless [`Slips::ConvertAny`], only scalars are touched: dropping an object or an
/// array could silently drop results, so a slip there fails the decoding.
pub(crate) fn decode<T: DeserializeOwned>(mut value: Value, slips: Slips) -> Option<T> {
    for _ in 0..MAX_FIXES {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(decoded) => return Some(decoded),
            Err(error) => error,
        };
        let path = error.path().to_string();
        let wanted = error.inner().to_string();
        // Missing required fields, or a mistyped whole object: nothing to mend.
        let any = slips == Slips::ConvertAny;
        let slot = field_at(&mut value, error.path(), any)?;
        match convert(slot, &wanted).filter(|_| slips != Slips::Drop) {
            Some(mended) => {
                tracing::warn!(field = %path, "read an answer field of an unexpected type");
                *slot = mended;
            }
            None => {
                tracing::warn!(field = %path, "dropped an answer field of an unexpected type");
                remove(&mut value, error.path(), any);
            }
        }
    }
    None
}

/// The value a mistyped scalar stands for, when the type the decoder wanted says.
fn convert(old: &Value, wanted: &str) -> Option<Value> {
    let wants = |ty: &str| wanted.ends_with(&format!("expected {ty}"));
    match old {
        Value::Number(n) if wants("a string") => Some(Value::String(n.to_string())),
        Value::String(s) if wants("f64") || wants("f32") => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        Value::String(s) if wants("i64") || wants("i32") => {
            s.trim().parse::<i64>().ok().map(Value::from)
        }
        Value::String(s) if wants("u64") || wants("u32") => {
            s.trim().parse::<u64>().ok().map(Value::from)
        }
        _ => None,
    }
}

/// The object holding the field at `path` and the field's key, when the field is a
/// field of an object (not an array item) and a scalar unless `any`.
fn parent_of<'v>(
    value: &'v mut Value,
    path: &Path,
    any: bool,
) -> Option<(&'v mut serde_json::Map<String, Value>, String)> {
    let segments: Vec<&Segment> = path.iter().collect();
    let (last, parents) = segments.split_last()?;
    let mut node = value;
    for segment in parents {
        node = match (segment, node) {
            (Segment::Map { key }, Value::Object(map)) => map.get_mut(key)?,
            (Segment::Seq { index }, Value::Array(items)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    match (last, node) {
        (Segment::Map { key }, Value::Object(map))
            if map
                .get(key)
                .is_some_and(|v| any || (!v.is_object() && !v.is_array())) =>
        {
            Some((map, key.clone()))
        }
        _ => None,
    }
}

fn field_at<'v>(value: &'v mut Value, path: &Path, any: bool) -> Option<&'v mut Value> {
    let (map, key) = parent_of(value, path, any)?;
    map.get_mut(&key)
}

fn remove(value: &mut Value, path: &Path, any: bool) {
    if let Some((map, key)) = parent_of(value, path, any) {
        map.remove(&key);
    }
}

/// Most JSON values of one answer decoded into a tree: far above any real answer (a
/// task's is under a hundred), low enough that the tree stays a few MiB whatever the
/// answer. An answer holding more is pruned by [`bounded_value`].
pub(crate) const MAX_VALUES: usize = 100_000;
/// A field holding more values than this, and not one the caller needs, is kept as
/// its raw JSON text (one string) instead of a tree.
const MAX_FIELD_VALUES: usize = 1_000;

/// The parts of an answer its reader needs as a tree; everything else may be kept as
/// raw text or dropped when the answer is large (see [`bounded_value`]).
#[derive(Debug)]
pub(crate) enum Shape {
    /// Needed as it is (small values), or as raw text when large.
    Keep,
    /// An object whose listed fields are needed with their own shapes; the other
    /// fields are kept as trees while small, as raw text when large, and dropped once
    /// the answer's budget of values is spent.
    Object(&'static [(&'static str, Shape)]),
    /// An array whose items all have this shape.
    Array(&'static Shape),
}

/// A task status answer: the envelope, the task, its result and resources.
pub(crate) static TASK_ANSWER: Shape = Shape::Object(&[
    ("code", Shape::Keep),
    ("message", Shape::Keep),
    (
        "data",
        Shape::Object(&[
            ("task_id", Shape::Keep),
            ("status", Shape::Keep),
            ("model_id", Shape::Keep),
            ("error", Shape::Keep),
            // What the task cost and when its results expire (small values).
            ("billing", Shape::Keep),
            ("result_expires_at", Shape::Keep),
            ("duration", Shape::Keep),
            (
                "result",
                Shape::Object(&[("resources", Shape::Array(&RESOURCE))]),
            ),
        ]),
    ),
]);

static RESOURCE: Shape = Shape::Object(&[("type", Shape::Keep), ("url", Shape::Keep)]);

/// The model catalog answer (bare or in an envelope): its list of models.
pub(crate) static CATALOG: Shape = Shape::Object(&[
    ("models", Shape::Array(&CATALOG_MODEL)),
    (
        "data",
        Shape::Object(&[("models", Shape::Array(&CATALOG_MODEL))]),
    ),
]);

static CATALOG_MODEL: Shape = Shape::Object(&[
    ("slug", Shape::Keep),
    ("type", Shape::Keep),
    ("description", Shape::Keep),
    ("docs_url", Shape::Keep),
    ("display_price", Shape::Keep),
    ("price", Shape::Keep),
]);

/// An upper bound on the JSON values in `bytes` (commas, colons and opening brackets
/// outside strings, plus one), counted without allocating; stops once past `cap`.
pub(crate) fn count_values(bytes: &[u8], cap: usize) -> usize {
    let mut count = 1usize;
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b':' | b'[' | b'{' => {
                count += 1;
                if count > cap {
                    return count;
                }
            }
            _ => {}
        }
    }
    count
}

/// `bytes` as a JSON tree whose size is bounded whatever the answer: as parsed when it
/// holds at most [`MAX_VALUES`] values; else pruned by `shape`: the fields it names
/// are kept (large ones as raw JSON text), other large fields become their raw text
/// (a string), and other fields past the budget of values are dropped, each kind of
/// loss logged. Peak memory is then about the answer's size again, not the ~35 bytes
/// per value a tree costs (a 16 MiB answer of small values would take over 500 MiB).
pub(crate) fn bounded_value(bytes: &[u8], shape: &Shape) -> Result<Value, String> {
    if count_values(bytes, MAX_VALUES) <= MAX_VALUES {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))?;
    let raw: &serde_json::value::RawValue =
        serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut pruner = Pruner {
        budget: MAX_VALUES,
        kept_raw: 0,
        dropped: 0,
    };
    let value = pruner.prune(raw, shape)?;
    if pruner.kept_raw > 0 || pruner.dropped > 0 {
        tracing::warn!(
            bytes = bytes.len(),
            kept_raw = pruner.kept_raw,
            dropped = pruner.dropped,
            "a very large answer: fields not needed were kept as raw text or dropped"
        );
    }
    Ok(value)
}

struct Pruner {
    /// Values still allowed into trees.
    budget: usize,
    /// Fields kept as raw text.
    kept_raw: usize,
    /// Fields dropped past the budget.
    dropped: usize,
}

impl Pruner {
    /// A tree for `raw` if it is small enough, else `None`; the budget pays for it.
    fn small(&mut self, raw: &serde_json::value::RawValue, limit: usize) -> Option<Value> {
        let n = count_values(raw.get().as_bytes(), limit.min(self.budget));
        if n > limit || n > self.budget {
            return None;
        }
        let value = serde_json::from_str(raw.get()).ok()?;
        self.budget -= n;
        Some(value)
    }

    fn raw_text(&mut self, raw: &serde_json::value::RawValue) -> Value {
        self.kept_raw += 1;
        Value::String(raw.get().to_owned())
    }

    fn prune(&mut self, raw: &serde_json::value::RawValue, shape: &Shape) -> Result<Value, String> {
        match shape {
            Shape::Keep => Ok(match self.small(raw, MAX_FIELD_VALUES) {
                Some(value) => value,
                None => self.raw_text(raw),
            }),
            Shape::Array(item) => {
                let items: Vec<&serde_json::value::RawValue> = match serde_json::from_str(raw.get())
                {
                    Ok(items) => items,
                    // Not an array: as any other field, so typed decoding says so.
                    Err(_) => return self.prune(raw, &Shape::Keep),
                };
                let mut out = Vec::with_capacity(items.len().min(self.budget));
                for raw_item in items {
                    if self.budget == 0 {
                        return Err(format!(
                            "the answer holds more than {MAX_VALUES} JSON values in a list it needs"
                        ));
                    }
                    out.push(self.prune(raw_item, item)?);
                }
                Ok(Value::Array(out))
            }
            Shape::Object(fields) => {
                use serde::de::Deserializer as _;
                let mut de = serde_json::Deserializer::from_str(raw.get());
                let entries = de.deserialize_map(EntryVisitor {
                    pruner: self,
                    fields,
                });
                match entries {
                    Ok(map) => Ok(Value::Object(map?)),
                    // Not an object: as any other field, so typed decoding says so.
                    Err(_) => self.prune(raw, &Shape::Keep),
                }
            }
        }
    }
}

/// Visits an object's fields one at a time, so a huge object never exists as a
/// list of entries: each is pruned as it is read.
struct EntryVisitor<'p> {
    pruner: &'p mut Pruner,
    fields: &'static [(&'static str, Shape)],
}

impl<'de> serde::de::Visitor<'de> for EntryVisitor<'_> {
    type Value = Result<serde_json::Map<String, Value>, String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let raw: &'de serde_json::value::RawValue = map.next_value()?;
            let value = match self.fields.iter().find(|(name, _)| *name == key) {
                Some((_, shape)) => match self.pruner.prune(raw, shape) {
                    Ok(value) => value,
                    Err(e) => return Ok(Err(e)),
                },
                None => match self.pruner.small(raw, MAX_FIELD_VALUES) {
                    Some(value) => value,
                    None if self.pruner.budget > 0 => self.pruner.raw_text(raw),
                    None => {
                        self.pruner.dropped += 1;
                        continue;
                    }
                },
            };
            out.insert(key.into_owned(), value);
        }
        Ok(Ok(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CatalogModel, MediaFile, TeamBalance};
    use proptest::prelude::*;
    use serde_json::json;

    /// A field's value: absent, any scalar, or a structure where a scalar belongs.
    fn slot() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            any::<bool>().prop_map(|b| Some(json!(b))),
            any::<i64>().prop_map(|n| Some(json!(n))),
            any::<f64>().prop_map(|n| Some(json!(n))),
            "[ -~]{0,12}".prop_map(|s| Some(json!(s))),
            (-1e6f64..1e6).prop_map(|n| Some(json!(format!(" {n} ")))),
            Just(Some(json!([1, "a"]))),
            Just(Some(json!({"a": {"b": 1}}))),
        ]
    }

    fn object(fields: &[(&str, Option<Value>)]) -> Value {
        let map = fields
            .iter()
            .filter_map(|(k, v)| Some(((*k).to_owned(), v.clone()?)))
            .collect();
        Value::Object(map)
    }

    /// Never a panic; what decodes strictly decodes the same in every mode; and
    /// `ConvertAny`, which may drop more, succeeds wherever `Convert` does.
    fn holds<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
        value: &Value,
    ) -> Result<(), TestCaseError> {
        let strict = serde_json::from_value::<T>(value.clone()).ok();
        let modes = [Slips::Drop, Slips::Convert, Slips::ConvertAny];
        let decoded: Vec<Option<T>> = modes.iter().map(|m| decode(value.clone(), *m)).collect();
        if let Some(strict) = &strict {
            for d in &decoded {
                prop_assert_eq!(d.as_ref(), Some(strict));
            }
        }
        prop_assert!(decoded[1].is_none() || decoded[2].is_some());
        Ok(())
    }

    proptest! {
        #[test]
        fn any_field_values_decode_without_panic(
            a in slot(), b in slot(), c in slot(), d in slot(), e in slot(), f in slot(),
        ) {
            holds::<MediaFile>(&object(&[
                ("file_id", a.clone()), ("url", b.clone()), ("size", c.clone()),
                ("type", d.clone()), ("created_at", e.clone()), ("filename", f.clone()),
            ]))?;
            holds::<CatalogModel>(&object(&[
                ("slug", a.clone()), ("type", b), ("docs_url", c.clone()),
                ("description", d), ("display_price", e), ("price", f),
            ]))?;
            holds::<TeamBalance>(&object(&[("balance", a), ("currency", c)]))?;
        }
    }

    #[test]
    fn values_are_counted_outside_strings_only() {
        assert_eq!(count_values(b"1", 10), 1);
        assert_eq!(count_values(br#"{"a,b:":[1,2],"c\",":3}"#, 10), 7);
        assert_eq!(count_values(b"[1,1,1,1,1,1]", 3), 4);
    }

    #[test]
    fn a_huge_answer_is_pruned_to_what_is_needed() {
        let junk = format!("[{}1]", "1,".repeat(MAX_VALUES));
        let text = format!(
            r#"{{"code":0,"message":"ok","junk":{junk},"data":{{"task_id":"t","status":"success",
            "result":{{"resources":[{{"type":"video","url":"u","x":{junk}}}]}}}}}}"#
        );
        let value = bounded_value(text.as_bytes(), &TASK_ANSWER).unwrap();
        assert_eq!(value["junk"], Value::String(junk.clone()));
        assert_eq!(value["data"]["result"]["resources"][0]["url"], "u");
        assert_eq!(
            value["data"]["result"]["resources"][0]["x"],
            Value::String(junk)
        );
        // Small answers are parsed as they are.
        let small = bounded_value(br#"{"a":[1,2]}"#, &TASK_ANSWER).unwrap();
        assert_eq!(small, json!({"a": [1, 2]}));
        assert!(bounded_value(b"not json", &TASK_ANSWER).is_err());
    }

    #[test]
    fn slips_are_mended_or_dropped_and_structure_never() {
        let file = json!({"file_id": 7, "url": "https://x/7.png", "size": "12", "filename": 3});
        let mended: MediaFile = decode(file.clone(), Slips::Convert).unwrap();
        assert_eq!(mended.file_id, "7");
        assert_eq!(mended.size, Some(12));
        assert_eq!(mended.filename.as_deref(), Some("3"));
        // Dropping cannot save a required field.
        assert!(decode::<MediaFile>(file, Slips::Drop).is_none());

        let balance: TeamBalance = decode(json!({"balance": " 0.5000"}), Slips::Convert).unwrap();
        assert_eq!(balance.balance, 0.5);
        let table = [
            json!({"balance": "lots"}),
            json!({"balance": {"usd": 1}}),
            json!({"balance": [1]}),
            json!({}),
            json!([1, 2]),
            json!("text"),
        ];
        for value in table {
            assert!(
                decode::<TeamBalance>(value.clone(), Slips::Convert).is_none(),
                "{value}"
            );
        }
    }
}

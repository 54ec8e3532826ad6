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

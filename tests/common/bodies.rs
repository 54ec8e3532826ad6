//! Random request bodies near a schema, for the tests that compare two checkers.

use serde_json::{Map, Value, json};

/// A body near the schema: mostly in its shape, often just across a bound, sometimes
/// of the wrong type or with a field it does not define.
pub fn body(schema: &Value, rng: &mut fastrand::Rng, depth: u32) -> Value {
    if depth > 6 || rng.u8(..100) < 6 {
        return junk(rng);
    }
    let branches = ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array));
    match schema.get("type").and_then(Value::as_str) {
        None => match branches {
            Some(b) if !b.is_empty() => body(&b[rng.usize(..b.len())], rng, depth + 1),
            _ => junk(rng),
        },
        Some("object") => {
            let mut out = Map::new();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, sub) in props {
                    if rng.u8(..100) < 70 {
                        out.insert(name.clone(), body(sub, rng, depth + 1));
                    }
                }
            }
            if let Some(b) = branches.filter(|b| !b.is_empty())
                && let Value::Object(more) = body(&b[rng.usize(..b.len())], rng, depth + 1)
            {
                out.extend(more);
            }
            if rng.u8(..100) < 10 {
                out.insert("zz_extra/~field".into(), json!(1));
            }
            Value::Object(out)
        }
        Some("array") => {
            let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(4);
            let len = rng.u64(0..=(max + 1).min(6));
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            Value::Array((0..len).map(|_| body(&items, rng, depth + 1)).collect())
        }
        Some("string") => {
            if let Some(Value::Array(values)) = schema.get("enum")
                && rng.u8(..100) < 80
            {
                return values[rng.usize(..values.len())].clone();
            }
            if schema.get("format").is_some() && rng.bool() {
                let samples = [
                    "https://example.com/in.png",
                    "not a uri",
                    "a@b.c",
                    "2024-01-31",
                    "2024-01-31T10:00:00Z",
                    "123e4567-e89b-12d3-a456-426614174000",
                ];
                return json!(samples[rng.usize(..samples.len())]);
            }
            let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0);
            let max = schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .unwrap_or(12);
            let lens = [
                min.saturating_sub(1),
                min,
                max.min(min + 40),
                max + 1,
                rng.u64(0..20),
            ];
            let len = lens[rng.usize(..lens.len())].min(5000);
            let chars = ['a', 'é', '[', '1', ' ', '/'];
            json!(
                (0..len)
                    .map(|_| chars[rng.usize(..chars.len())])
                    .collect::<String>()
            )
        }
        Some("integer") => {
            if let Some(Value::Array(values)) = schema.get("enum")
                && rng.u8(..100) < 70
            {
                return values[rng.usize(..values.len())].clone();
            }
            let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(-5);
            let max = schema.get("maximum").and_then(Value::as_i64).unwrap_or(100);
            match rng.u8(..10) {
                0 => json!(min - 1),
                1 => json!(max + 1),
                2 => json!(1.5),
                3 => json!(u64::MAX),
                _ => json!(rng.i64(min.min(max)..=max.max(min))),
            }
        }
        Some("number") => {
            let min = schema
                .get("minimum")
                .and_then(Value::as_f64)
                .unwrap_or(-5.0);
            let max = schema
                .get("maximum")
                .and_then(Value::as_f64)
                .unwrap_or(100.0);
            match rng.u8(..6) {
                0 => json!(min - 0.5),
                1 => json!(max + 0.5),
                2 => json!(7),
                _ => json!(min + (max - min) * rng.f64()),
            }
        }
        Some("boolean") => json!(rng.bool()),
        Some(_) => junk(rng),
    }
}

fn junk(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(..6) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => json!(rng.i32(..)),
        3 => json!("x"),
        4 => json!([1, "a"]),
        _ => json!({"k": 1}),
    }
}

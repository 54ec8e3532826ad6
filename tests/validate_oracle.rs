//! `validate_json` accepts exactly the requests that satisfy the fragment's JSON Schema
//! (checked by an independent validator, `jsonschema`) and the prose rules (restated
//! here, simply and separately from `src/rules.rs`).

mod common;

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{IMAGES, NOT_IMAGES, b64, data_uri, fragment};
use modellix::types::Seedance20V2vRequest;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

static SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema = fragment()["post"]["requestBody"]["content"]["application/json"]["schema"].clone();
    jsonschema::draft4::new(&schema).expect("the fragment's schema compiles")
});

// ---- the prose rules, restated ------------------------------------------------------

fn is_image(bytes: &[u8]) -> bool {
    matches!(
        bytes,
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', ..]
            | [0xff, 0xd8, 0xff, ..]
            | [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..
            ]
            | [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..]
            | [b'B', b'M', _, _, _, _, 0, 0, 0, 0, _, _, _, _, ..]
    )
}

fn url_ok(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    !host.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn image_ok(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return url_ok(s);
    }
    let payload = if lower.starts_with("data:") {
        match s.split_once(',') {
            Some((header, payload))
                if header.to_ascii_lowercase().ends_with(";base64")
                    && header.len() > "data:image/;base64".len()
                    && lower.starts_with("data:image/") =>
            {
                payload
            }
            _ => return false,
        }
    } else {
        s
    };
    STANDARD.decode(payload).is_ok_and(|bytes| is_image(&bytes))
}

fn count(request: &Map<String, Value>, field: &str) -> usize {
    request
        .get(field)
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

fn placeholders_ok(request: &Map<String, Value>) -> bool {
    let Some(prompt) = request.get("prompt").and_then(Value::as_str) else {
        return true;
    };
    prompt.split('[').skip(1).all(|piece| {
        let Some((inside, _)) = piece.split_once(']') else {
            return true;
        };
        let Some((label, n)) = inside.split_once(' ') else {
            return true;
        };
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
        let field = match label {
            "Video" => "video_urls",
            "Image" => "reference_images",
            "Audio" => "audio_urls",
            _ => return true,
        };
        n.parse::<usize>()
            .is_ok_and(|n| n >= 1 && n <= count(request, field))
    })
}

/// Non-empty strings of a field holding a string or an array.
fn values<'a>(request: &'a Map<String, Value>, field: &str) -> Vec<&'a str> {
    match request.get(field) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

fn prose_ok(request: &Value) -> bool {
    let Some(r) = request.as_object() else {
        return true;
    };
    let frames = r.contains_key("first_frame_image") || r.contains_key("last_frame_image");
    let together = frames && r.contains_key("reference_images");
    let urls = ["video_urls", "audio_urls"]
        .iter()
        .all(|f| values(r, f).into_iter().all(url_ok));
    let images = ["first_frame_image", "last_frame_image", "reference_images"]
        .iter()
        .all(|f| values(r, f).into_iter().all(image_ok));
    !together && placeholders_ok(r) && urls && images
}

// ---- generated requests -------------------------------------------------------------

/// Mostly one of `valid`, now and then one of `invalid`, so that whole requests are
/// valid often enough to test acceptance as well as rejection.
fn mostly<T: Clone + std::fmt::Debug + 'static>(
    valid: Vec<T>,
    invalid: Vec<T>,
) -> impl Strategy<Value = T> + Clone {
    prop_oneof![25 => prop::sample::select(valid), 1 => prop::sample::select(invalid)]
}

fn values_of(items: &[&str]) -> Vec<Value> {
    items.iter().map(|s| Value::from(*s)).collect()
}

fn url() -> impl Strategy<Value = Value> + Clone {
    mostly(
        values_of(&[
            "https://example.com/a.mp4",
            "http://example.com/a.mp4",
            "HTTPS://EXAMPLE.COM/A.MP4",
            "https://127.0.0.1:8080/x?sig=1#t",
            "http://[::1]/a",
            "https://user@example.com/a",
        ]),
        values_of(&[
            "https://user@/a",
            "https://",
            "https:///a.mp4",
            "https:example.com/a",
            "ftp://example.com/a",
            "file:///tmp/a",
            "example.com/a.mp4",
            " https://example.com/a",
            "https://example.com/a b",
            "",
        ]),
    )
}

fn image() -> impl Strategy<Value = Value> + Clone {
    let mut valid = values_of(&["https://example.com/i.png", "http://example.com/i.png"]);
    for (mime, bytes) in IMAGES {
        valid.push(data_uri(mime, bytes).into());
        valid.push(b64(bytes).into());
    }
    let mut invalid = values_of(&[
        "ftp://example.com/i.png",
        "data:text/plain;base64,aGk=",
        "data:image/png,raw",
        "data:image/;base64,iVBORw0KGgo=",
        "iVBORw0KGgo",
        "not base64!",
        "",
    ]);
    invalid.extend(NOT_IMAGES.iter().map(|b| Value::from(b64(b))));
    invalid.push(data_uri("image/png", NOT_IMAGES[0]).into());
    invalid.push(json!(7));
    mostly(valid, invalid)
}

/// Arrays of `min..=max` items, now and then one too few or too many, or not an array.
fn list(
    item: impl Strategy<Value = Value> + Clone,
    min: usize,
    max: usize,
) -> impl Strategy<Value = Value> {
    prop_oneof![
        20 => prop::collection::vec(item.clone(), min..=max).prop_map(Value::from),
        1 => prop::collection::vec(item, max + 1).prop_map(Value::from),
        1 => Just(json!([])),
        1 => Just(json!("https://example.com/a.mp4")),
    ]
}

fn prompt() -> impl Strategy<Value = Value> {
    let pieces = mostly(
        vec![
            "Extend the clip ",
            "[Video 1] ",
            "[video 2] [Video] [Video x] [Clip 1] ",
        ],
        // Valid only when the inputs happen to be there.
        vec![
            "[Audio 1] ",
            "[Image 1] ",
            "[Video 2] ",
            "[Video 4] ",
            "[Video 0] ",
            "[Image 9] ",
            "[Image 10] ",
            "[Audio 3] ",
            "[Video 18446744073709551616] ",
        ],
    );
    prop_oneof![
        20 => prop::collection::vec(pieces, 0..3).prop_map(|p| Value::from(p.concat())),
        1 => prop::sample::select(vec![9_999usize, 10_000, 10_001])
            .prop_map(|n| Value::from("é".repeat(n))),
        1 => Just(json!(5)),
    ]
}

fn boolean() -> impl Strategy<Value = Value> {
    mostly(
        vec![json!(true), json!(false)],
        vec![json!("true"), json!(0)],
    )
}

/// Each field absent (`None`) or one of the values around its boundaries.
fn request() -> impl Strategy<Value = Value> {
    use prop::option::{of, weighted};
    let fields = (
        (
            weighted(0.97, prompt()),
            weighted(0.97, list(url(), 1, 3)),
            of(list(url(), 1, 3)),
            weighted(0.3, list(image(), 1, 9)),
            weighted(0.2, image()),
            weighted(0.2, image()),
        ),
        (
            of(mostly(
                vec![json!(4), json!(8), json!(15)],
                vec![json!(3), json!(16), json!(8.0), json!("5")],
            )),
            of(mostly(
                vec![json!(3600), json!(259_200)],
                vec![json!(3599), json!(259_201), json!(7200.5)],
            )),
            of(mostly(
                vec![json!(-1), json!(0), json!(4_294_967_295u64)],
                vec![
                    json!(-2),
                    json!(4_294_967_296u64),
                    json!(i64::MIN),
                    json!(u64::MAX),
                ],
            )),
            of(mostly(
                vec![json!("16:9"), json!("9:16")],
                vec![json!("2:1"), json!(1)],
            )),
            of(mostly(
                vec![json!("480p"), json!("1080p")],
                vec![json!("4k")],
            )),
            of(boolean()),
            of(boolean()),
            of(boolean()),
        ),
    );
    let names = [
        "prompt",
        "video_urls",
        "audio_urls",
        "reference_images",
        "first_frame_image",
        "last_frame_image",
        "duration",
        "execution_expires_after",
        "seed",
        "ratio",
        "resolution",
        "camera_fixed",
        "generate_audio",
        "return_last_frame",
    ];
    let object = fields.prop_map(move |((a, b, c, d, e, f), (g, h, i, j, k, l, m, n))| {
        let values = [a, b, c, d, e, f, g, h, i, j, k, l, m, n];
        let object: Map<String, Value> = names
            .iter()
            .zip(values)
            .filter_map(|(name, value)| Some((name.to_string(), value?)))
            .collect();
        Value::Object(object)
    });
    prop_oneof![
        30 => object,
        1 => Just(json!([])),
        1 => Just(json!("prompt")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn validate_accepts_exactly_the_schema_and_the_prose_rules(request in request()) {
        let schema_ok = SCHEMA.is_valid(&request);
        let expected = schema_ok && prose_ok(&request);
        let got = Seedance20V2vRequest::validate_json(&request);
        prop_assert_eq!(
            got.is_ok(),
            expected,
            "schema_ok={} prose_ok={} request={} got={:?}",
            schema_ok,
            prose_ok(&request),
            request,
            got.err().map(|e| e.to_string())
        );
    }
}

#[test]
fn the_fragment_examples_validate_in_both_validators() {
    let fragment = fragment();
    let examples = fragment["post"]["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap();
    assert_eq!(examples.len(), 2);
    for (name, example) in examples {
        let value = &example["value"];
        assert!(SCHEMA.is_valid(value), "{name}");
        assert!(prose_ok(value), "{name}");
        let warnings = Seedance20V2vRequest::validate_json(value)
            .unwrap_or_else(|e| panic!("example {name} rejected: {e}"));
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
    }
}

/// Guards the generator: a property that only ever sees rejected requests proves little.
#[test]
fn generated_requests_are_often_valid_and_often_not() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = request();
    let accepted = (0..2000)
        .filter(|_| {
            let request = strategy.new_tree(&mut runner).unwrap().current();
            Seedance20V2vRequest::validate_json(&request).is_ok()
        })
        .count();
    println!("{accepted} of 2000 generated requests are valid");
    assert!((400..=1600).contains(&accepted), "{accepted} of 2000 valid");
}

//! The generated `validate()` for Seedance 2.0 V2V: every schema rule, with its pointer.

use modellix::types::{Seedance20V2vRequest, Seedance20V2vRequestResolution};
use modellix::{Rule, SubmitRequest};
use serde_json::{Value, json};

fn minimal() -> Seedance20V2vRequest {
    Seedance20V2vRequest::builder()
        .prompt("Extend motion from the reference clip")
        .video_urls(vec!["https://example.com/source.mp4".to_owned()])
        .build()
        .expect("prompt and video_urls are all that is required")
}

fn urls(n: usize, stem: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://example.com/{stem}{i}"))
        .collect()
}

#[test]
fn the_fragment_examples_validate() {
    let fragment: Value =
        serde_json::from_str(include_str!("../spec/bytedance/seedance-2.0-v2v.json")).unwrap();
    let examples = fragment["post"]["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap();
    assert_eq!(examples.len(), 2);
    for (name, example) in examples {
        let value = &example["value"];
        Seedance20V2vRequest::validate_json(value)
            .unwrap_or_else(|e| panic!("example {name} rejected: {e}"));
        // The typed form round-trips to the same bytes and validates too.
        let typed: Seedance20V2vRequest = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(&serde_json::to_value(&typed).unwrap(), value);
        typed.validate().unwrap();
    }
}

#[test]
fn a_minimal_request_sends_only_what_was_set() {
    let body = serde_json::to_string(&minimal()).unwrap();
    assert_eq!(
        body,
        r#"{"prompt":"Extend motion from the reference clip","video_urls":["https://example.com/source.mp4"]}"#
    );
}

#[test]
fn each_schema_rule_is_reported_at_its_pointer() {
    type Edit = fn(&mut Seedance20V2vRequest);
    let table: &[(&str, Edit, &str, Rule)] = &[
        (
            "video_urls empty",
            |r| r.video_urls.clear(),
            "/video_urls",
            Rule::MinItems { min: 1, actual: 0 },
        ),
        (
            "video_urls 4",
            |r| r.video_urls = urls(4, "v"),
            "/video_urls",
            Rule::MaxItems { max: 3, actual: 4 },
        ),
        (
            "duration 3",
            |r| r.duration = Some(3),
            "/duration",
            Rule::NotAllowed {
                allowed: "4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15".into(),
                actual: "3".into(),
            },
        ),
        (
            "seed -2",
            |r| r.seed = Some(-2),
            "/seed",
            Rule::Minimum {
                min: (-1).into(),
                actual: (-2).into(),
            },
        ),
        (
            "seed 2^32",
            |r| r.seed = Some(4_294_967_296),
            "/seed",
            Rule::Maximum {
                max: 4_294_967_295u64.into(),
                actual: 4_294_967_296u64.into(),
            },
        ),
        (
            "expires 3599",
            |r| r.execution_expires_after = Some(3599),
            "/execution_expires_after",
            Rule::Minimum {
                min: 3600.into(),
                actual: 3599.into(),
            },
        ),
        (
            "expires 259201",
            |r| r.execution_expires_after = Some(259_201),
            "/execution_expires_after",
            Rule::Maximum {
                max: 259_200.into(),
                actual: 259_201.into(),
            },
        ),
        (
            "prompt empty",
            |r| r.prompt.clear(),
            "/prompt",
            Rule::MinLength { min: 1, actual: 0 },
        ),
        (
            "prompt 10001",
            |r| r.prompt = "é".repeat(10_001),
            "/prompt",
            Rule::MaxLength {
                max: 10_000,
                actual: 10_001,
            },
        ),
        (
            "10 reference images",
            |r| r.reference_images = urls(10, "i"),
            "/reference_images",
            Rule::MaxItems { max: 9, actual: 10 },
        ),
        (
            "empty audio entry",
            |r| r.audio_urls = vec!["https://example.com/a.mp3".into(), String::new()],
            "/audio_urls/1",
            Rule::MinLength { min: 1, actual: 0 },
        ),
        (
            "4 audio urls",
            |r| r.audio_urls = urls(4, "a"),
            "/audio_urls",
            Rule::MaxItems { max: 3, actual: 4 },
        ),
        (
            "empty first frame",
            |r| r.first_frame_image = Some(String::new()),
            "/first_frame_image",
            Rule::MinLength { min: 1, actual: 0 },
        ),
    ];
    for (name, edit, pointer, rule) in table {
        let mut request = minimal();
        edit(&mut request);
        let err = request.validate().expect_err(name);
        assert_eq!(err.violations().len(), 1, "{name}: {err}");
        let v = &err.violations()[0];
        assert_eq!((v.pointer.as_str(), &v.rule), (*pointer, rule), "{name}");
        assert!(err.to_string().contains(pointer), "{name}: {err}");
    }
}

#[test]
fn the_boundaries_themselves_pass() {
    let mut r = minimal();
    r.video_urls = urls(3, "v");
    r.duration = Some(15);
    r.seed = Some(4_294_967_295);
    r.execution_expires_after = Some(3600);
    r.prompt = "é".repeat(10_000); // 20 000 bytes, 10 000 characters
    r.reference_images = urls(9, "i");
    r.audio_urls = urls(3, "a");
    r.resolution = Some(Seedance20V2vRequestResolution::Resolution1080p);
    r.validate().unwrap();
    r.seed = Some(-1);
    r.duration = Some(4);
    r.execution_expires_after = Some(259_200);
    r.validate().unwrap();
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut r = minimal();
    r.prompt.clear();
    r.video_urls = urls(4, "v");
    r.seed = Some(-2);
    r.audio_urls = vec![String::new(), String::new()];
    let err = r.validate().unwrap_err();
    let pointers: Vec<_> = err
        .violations()
        .iter()
        .map(|v| v.pointer.as_str())
        .collect();
    assert_eq!(
        pointers,
        [
            "/audio_urls/0",
            "/audio_urls/1",
            "/prompt",
            "/seed",
            "/video_urls"
        ]
    );
    assert_eq!(err.to_string().lines().count(), 1 + pointers.len());
}

#[test]
fn raw_json_bodies_are_checked_for_required_fields_types_and_enums() {
    let err = Seedance20V2vRequest::validate_json(&json!({
        "video_urls": "https://example.com/a.mp4",
        "resolution": "4k",
        "camera_fixed": "yes",
        "duration": 5.5
    }))
    .unwrap_err();
    let got: Vec<(String, Rule)> = err
        .violations()
        .iter()
        .map(|v| (v.pointer.clone(), v.rule.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/prompt".into(), Rule::Required),
            (
                "/camera_fixed".into(),
                Rule::Type {
                    expected: "boolean"
                }
            ),
            (
                "/duration".into(),
                Rule::Type {
                    expected: "integer"
                }
            ),
            (
                "/resolution".into(),
                Rule::NotAllowed {
                    allowed: r#""480p", "720p", "1080p""#.into(),
                    actual: r#""4k""#.into(),
                }
            ),
            ("/video_urls".into(), Rule::Type { expected: "array" }),
        ]
    );
    let err = Seedance20V2vRequest::validate_json(&json!([1])).unwrap_err();
    assert_eq!(err.violations()[0].rule, Rule::Type { expected: "object" });
    assert_eq!(err.violations()[0].pointer, "");
}

#[test]
fn the_request_type_knows_its_endpoint() {
    let op = <Seedance20V2vRequest as SubmitRequest>::OPERATION;
    assert_eq!(op.path, "/api/v1/bytedance/seedance-2.0-v2v/async");
    assert_eq!(op.operation_id, "seedance20V2vAsync");
    assert_eq!(
        Seedance20V2vRequest::model_id(),
        "bytedance/seedance-2.0-v2v"
    );
    assert!(op.validate_json.is_some());
    let task = modellix::OPERATIONS
        .iter()
        .find(|o| o.operation_id == "getTask")
        .unwrap();
    assert_eq!(
        (task.method, task.path, task.is_submit()),
        ("GET", "/api/v1/tasks/{task_id}", false)
    );
}

//! Schema features and prose rules of the vendored models other than Seedance 2.0 V2V,
//! each as a table of (request, pointer, rule) cases run through the generated
//! `validate_json` of the model (found by model id, so the table names no Rust type).

use modellix::{Operation, Rule};
use serde_json::{Value, json};

fn validate(model: &str, body: &Value) -> Result<modellix::Warnings, modellix::ValidationError> {
    let op = Operation::for_model(model).unwrap_or_else(|| panic!("{model} is vendored"));
    (op.validate_json.expect("submit operations validate"))(body)
}

/// `(pointer, rendered rule)` of every violation.
fn violations(model: &str, body: &Value) -> Vec<(String, String)> {
    match validate(model, body) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .violations()
            .iter()
            .map(|v| (v.pointer.clone(), v.rule.to_string()))
            .collect(),
    }
}

fn warnings(model: &str, body: &Value) -> Vec<(String, String)> {
    let w = match validate(model, body) {
        Ok(w) => w.0,
        Err(e) => e.warnings().to_vec(),
    };
    w.into_iter().map(|w| (w.pointer, w.message)).collect()
}

/// `(pointer, message)` pairs a case expects.
type Expected = &'static [(&'static str, &'static str)];

const WAN_I2V: &str = "alibaba/wan2.7-i2v";

#[test]
fn one_of_bodies_need_exactly_one_branch_and_report_the_closest() {
    let cases: &[(&str, Value, Expected)] = &[
        (
            "first frame mode",
            json!({"first_frame": "https://e.com/a.png"}),
            &[],
        ),
        (
            "continuation mode",
            json!({"first_clip": "oss://bucket/clip.mp4", "last_frame": "https://e.com/l.png"}),
            &[],
        ),
        (
            "neither: the first branch is as close as the second",
            json!({"prompt": "x"}),
            &[
                ("/first_frame", "is required but missing"),
                (
                    "",
                    "needs exactly one of `first_frame`, `first_clip`: add one",
                ),
            ],
        ),
        (
            "closest branch: a bad duration in the clip branch",
            json!({"first_clip": "https://e.com/c.mp4", "duration": 99}),
            &[("/duration", "must be at most 15 (found 99)")],
        ),
        (
            "both modes match both branches",
            json!({"first_frame": "https://e.com/a.png", "first_clip": "https://e.com/c.mp4"}),
            &[
                (
                    "",
                    "matches 2 of the alternative shapes, but must match exactly one: remove \
                     the fields that belong to the other shapes",
                ),
                (
                    "/first_clip",
                    "cannot be sent with `first_frame`: send exactly one of `first_frame`, \
                     `first_clip`",
                ),
            ],
        ),
        (
            "pattern",
            json!({"first_frame": "ftp://e.com/a.png"}),
            &[
                (
                    "/first_frame",
                    "must match the pattern ^(https?://|oss://|data:image/)",
                ),
                (
                    "/first_frame",
                    "must be an http(s) URL or an oss:// URL or a data:image/…;base64, URI \
                     (found `ftp://e.com/a.png`)",
                ),
            ],
        ),
    ];
    for (name, body, want) in cases {
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        assert_eq!(violations(WAN_I2V, body), want, "{name}");
    }
}

#[test]
fn one_of_bodies_get_a_builder_per_branch() {
    use modellix::types::Wan27I2vRequest;
    let frame = Wan27I2vRequest::first_frame()
        .first_frame("https://e.com/a.png")
        .duration(5)
        .build()
        .unwrap();
    frame.validate().unwrap();
    let clip = Wan27I2vRequest::first_clip()
        .first_clip("oss://bucket/c.mp4")
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&clip).unwrap(),
        json!({"first_clip": "oss://bucket/c.mp4"})
    );
}

/// A `oneOf` body has one builder that takes the fields of every shape; `build()`
/// picks the shape whose required fields are set.
#[test]
fn one_of_bodies_get_a_builder_that_takes_either_shape() {
    use modellix::types::Wan27I2vRequest;
    let frame = Wan27I2vRequest::builder()
        .first_frame("https://e.com/a.png")
        .duration(5u8)
        .build()
        .unwrap();
    assert!(matches!(frame, Wan27I2vRequest::Frame(_)));
    frame.validate().unwrap();
    let clip = Wan27I2vRequest::builder()
        .first_clip("oss://bucket/c.mp4")
        .last_frame("https://e.com/z.png")
        .build()
        .unwrap();
    assert!(matches!(clip, Wan27I2vRequest::Clip(_)));
    assert_eq!(
        serde_json::to_value(&clip).unwrap(),
        json!({"first_clip": "oss://bucket/c.mp4", "last_frame": "https://e.com/z.png"})
    );
    let err = Wan27I2vRequest::builder()
        .prompt("x")
        .resolution("4K")
        .build()
        .unwrap_err();
    let got: Vec<(&str, String)> = err
        .violations()
        .iter()
        .map(|v| (v.pointer.as_str(), v.rule.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "/resolution",
                "must be one of \"720P\", \"1080P\" (found \"4K\")".to_owned()
            ),
            (
                "",
                "the request takes one of 2 shapes; set the fields of one: .first_frame(…), or \
                 .first_clip(…)"
                    .to_owned()
            ),
        ]
    );
    // Tools find the fields of both shapes at the top of the published schema.
    let op = Operation::for_model("alibaba/wan2.7-i2v").unwrap();
    let schema: Value = serde_json::from_str(op.request_schema_json().unwrap()).unwrap();
    let mut fields: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "driving_audio",
            "duration",
            "first_clip",
            "first_frame",
            "last_frame",
            "negative_prompt",
            "prompt",
            "prompt_extend",
            "resolution",
            "seed"
        ]
    );
    assert!(
        schema.get("required").is_none(),
        "no field is in every shape"
    );
    assert_eq!(schema["oneOf"].as_array().unwrap().len(), 2);
}

/// Integer setters take any integer type; a value the field's type cannot hold is a
/// builder error at the field's pointer, not a panic or a silent wrap.
#[test]
fn integer_setters_take_any_integer_type_checked() {
    use modellix::types::Seedance20V2vRequest;
    let base = || {
        Seedance20V2vRequest::builder()
            .prompt("Cut [Video 1]")
            .video_urls(["https://e.com/a.mp4"])
    };
    for request in [
        base().duration(8u8).build().unwrap(),
        base().duration(8i16).build().unwrap(),
        base().duration(8usize).build().unwrap(),
        base().duration(8u64).build().unwrap(),
        base().duration(8i128).build().unwrap(),
    ] {
        assert_eq!(serde_json::to_value(&request).unwrap()["duration"], 8);
    }
    for (value, shown) in [
        (u64::MAX as i128, u64::MAX.to_string()),
        (i128::MIN, i128::MIN.to_string()),
    ] {
        let err = base().duration(value).build().unwrap_err();
        assert_eq!(err.violations().len(), 1, "{err}");
        let v = err.at("/duration").unwrap();
        assert_eq!(
            v.rule.to_string(),
            format!(
                "must fit a 64-bit signed integer, from -9223372036854775808 to \
                 9223372036854775807 (found {shown})"
            )
        );
    }
    let err = base().duration(u64::MAX).build().unwrap_err();
    assert!(err.at("/duration").is_some(), "{err}");
}

#[test]
fn camel_case_fields_keep_their_wire_names() {
    let body = json!({"prompt": "x", "image": "https://e.com/a.png", "aspectRatio": "9:16",
                      "durationSeconds": "6", "personGeneration": "allow_adult"});
    let typed: modellix::types::Veo31LiteI2vRequest = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(typed.aspect_ratio.as_ref().unwrap().to_string(), "9:16");
    assert_eq!(serde_json::to_value(&typed).unwrap(), body);
    typed.validate().unwrap();
    assert_eq!(
        violations(
            "google/veo-3.1-lite-i2v",
            &json!({"prompt": "x", "image": "https://e.com/a.png", "durationSeconds": "5"})
        ),
        [(
            "/durationSeconds".to_owned(),
            "must be one of \"4\", \"6\", \"8\" (found \"5\")".to_owned()
        )]
    );
}

#[test]
fn numbers_free_form_objects_and_single_value_enums() {
    let kling = "kling/kling-v1-t2v";
    let ok = json!({"prompt": "x", "cfg_scale": 0.25, "camera_control": {"type": "simple", "config": {"zoom": 2}}});
    assert_eq!(violations(kling, &ok), []);
    let bad = json!({"prompt": "x", "cfg_scale": 1.5, "camera_control": [1]});
    assert_eq!(
        violations(kling, &bad),
        [
            (
                "/camera_control".to_owned(),
                "must be of type object".to_owned()
            ),
            (
                "/cfg_scale".to_owned(),
                "must be at most 1.0 (found 1.5)".to_owned()
            ),
        ]
    );
    assert_eq!(
        violations(
            "bytedance/seedream-5.0-lite",
            &json!({"prompt": "x", "optimize_prompt_mode": "fast"})
        ),
        [(
            "/optimize_prompt_mode".to_owned(),
            "must be one of \"standard\" (found \"fast\")".to_owned()
        )]
    );
}

#[test]
fn each_prose_rule_kind_is_reported_with_a_fix() {
    let cases: &[(&str, &str, Value, Expected)] = &[
        (
            "conditional limit: 10 s only with 768P",
            "minimax/hailuo-2.3-t2v",
            json!({"prompt": "x", "duration": 10, "resolution": "1080P"}),
            &[(
                "/resolution",
                "must be one of \"768P\" when `duration` is 10: 10-second videos only support \
                 768P; use 6 seconds for 1080P",
            )],
        ),
        (
            "conditional limit kept",
            "minimax/hailuo-2.3-t2v",
            json!({"prompt": "x", "duration": 10}),
            &[],
        ),
        (
            "6 s in 1080P",
            "minimax/hailuo-2.3-t2v",
            json!({"prompt": "x", "duration": 6, "resolution": "1080P"}),
            &[],
        ),
        (
            "conditional on a schema default: enable_sequential absent means false",
            "alibaba/wan2.7-image",
            json!({"prompt": "x", "n": 6}),
            &[(
                "/n",
                "must be at most 4 when `enable_sequential` is false: default mode \
                 (enable_sequential=false) makes 1-4 images; set enable_sequential to true for up to 12",
            )],
        ),
        (
            "sequential mode allows 12",
            "alibaba/wan2.7-image",
            json!({"prompt": "x", "n": 12, "enable_sequential": true}),
            &[],
        ),
        (
            "dimensions",
            "alibaba/wan2.7-image",
            json!({"prompt": "x", "size": "4096*4096"}),
            &[(
                "/size",
                "must be WIDTH*HEIGHT, each side 768 to 2048 pixels or one of 1K, 2K (found `4096*4096`)",
            )],
        ),
        (
            "dimensions preset",
            "alibaba/wan2.7-image",
            json!({"prompt": "x", "size": "2K"}),
            &[],
        ),
        (
            "dimensions custom",
            "alibaba/wan2.7-image",
            json!({"prompt": "x", "size": "1024*768"}),
            &[],
        ),
        (
            "total across fields",
            "vidu/viduq2-pro-multi-frame",
            json!({"start_image": "https://e.com/0.jpg", "key_images": []}),
            &[
                ("/key_images", "must hold at least 1 item(s) (found 0)"),
                (
                    "",
                    "has 1 item(s) across `start_image`, `key_images`, which must hold 2 to 9 in all: add some",
                ),
            ],
        ),
        (
            "media kinds: a bare base64 where only URLs and data URIs go",
            "vidu/viduq3-turbo-i2v",
            json!({"first_frame_image": "iVBORw0KGgo="}),
            &[(
                "/first_frame_image",
                "must be an http(s) URL or a data:image/…;base64, URI (found `iVBORw0KGgo=`)",
            )],
        ),
        (
            "media kinds: oss",
            "alibaba/wan2.7-i2v",
            json!({"first_frame": "oss://"}),
            &[(
                "/first_frame",
                "must be an oss://bucket/key URL (found `oss://`)",
            )],
        ),
        (
            "not together",
            "alibaba/wan2.7-i2v",
            json!({"first_clip": "https://e.com/c.mp4", "driving_audio": "https://e.com/a.mp3"}),
            &[(
                "/driving_audio",
                "cannot be sent together with `first_clip`: remove `driving_audio` or remove `first_clip`",
            )],
        ),
        (
            "unsupported fields named in prose",
            "kling/kling-image-o1",
            json!({"prompt": "x", "negative_prompt": "blur"}),
            &[(
                "/negative_prompt",
                "is not supported by this model: remove `negative_prompt`",
            )],
        ),
        (
            "placeholders with another syntax",
            "kling/kling-image-o1",
            json!({"prompt": "<<<image_1>>> meets <<<image_2>>>", "images": ["https://e.com/1.jpg"]}),
            &[(
                "/prompt",
                "mentions `<<<image_2>>>`, but `images` has 1 item(s); placeholders count from 1: \
                 add the input or fix the placeholder",
            )],
        ),
        (
            "url-only media",
            "vidu/lip-sync",
            json!({"video_url": "talking-head.mp4"}),
            &[(
                "/video_url",
                "must be an http(s) URL with a host, such as https://example.com/clip.mp4 (found `talking-head.mp4`)",
            )],
        ),
    ];
    for (name, model, body, want) in cases {
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        assert_eq!(violations(model, body), want, "{name}");
    }
}

#[test]
fn advice_rules_warn_without_refusing() {
    let cases: &[(&str, &str, Value, Expected)] = &[
        (
            "only effective when prompt_optimizer=true",
            "minimax/hailuo-2.3-t2v",
            json!({"prompt": "x", "prompt_optimizer": false, "fast_pretreatment": true}),
            &[(
                "/fast_pretreatment",
                "must be one of false when `prompt_optimizer` is false: fast pretreatment is only \
                 effective when prompt_optimizer=true",
            )],
        ),
        (
            "no effect when disabled (the schema default)",
            "bytedance/seedream-5.0-lite",
            json!({"prompt": "x", "sequential_image_generation_max_images": 3}),
            &[(
                "/sequential_image_generation_max_images",
                "has no effect when `sequential_image_generation` is \"disabled\": batch limits \
                 apply only when sequential_image_generation is 'auto'",
            )],
        ),
        (
            "auto mode",
            "bytedance/seedream-5.0-lite",
            json!({"prompt": "x", "sequential_image_generation": "auto", "sequential_image_generation_max_images": 3}),
            &[],
        ),
        (
            "word limit",
            "bytedance/seedance-1.5-pro-t2v",
            json!({"prompt": "word ".repeat(1001)}),
            &[(
                "/prompt",
                "has 1001 words; Modellix recommends at most 1000, as the model drops details of \
                 longer prompts: shorten it",
            )],
        ),
    ];
    for (name, model, body, want) in cases {
        assert_eq!(violations(model, body), [], "{name}");
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        assert_eq!(warnings(model, body), want, "{name}");
    }
}

#[test]
fn every_vendored_model_declares_its_output_and_validates_its_examples() {
    let submits: Vec<&Operation> = modellix::OPERATIONS
        .iter()
        .filter(|o| o.is_submit())
        .collect();
    assert_eq!(submits.len(), 18);
    for op in submits {
        assert!(
            ["image", "video", "audio", "text"].contains(&op.outputs[0].kind),
            "{:?}",
            op.model_id
        );
    }
    assert!(matches!(
        validate("vidu/lip-sync", &json!({}))
            .unwrap_err()
            .violations()[0]
            .rule,
        Rule::Required
    ));
}

#[test]
fn audio_models_take_their_fields_and_a_body_field_named_model() {
    use modellix::types::{CosyvoiceCloneRequest, QwenAudio30TtsPlusRequest, Whisper1Request};
    let outputs = |id: &str| {
        let op = Operation::for_model(id).unwrap();
        op.outputs.iter().map(|o| o.kind).collect::<Vec<_>>()
    };
    assert_eq!(outputs("alibaba/qwen-audio-3.0-tts-plus"), ["audio"]);
    assert_eq!(outputs("alibaba/cosyvoice-clone"), ["audio"]);
    assert_eq!(outputs("openai/whisper-1"), ["text"]);

    let missing = validate("alibaba/qwen-audio-3.0-tts-plus", &json!({"text": "Hi."})).unwrap_err();
    assert_eq!(missing.violations()[0].pointer, "/voice");
    let clone = CosyvoiceCloneRequest::builder()
        .model("cosyvoice-v2")
        .url("https://e.com/voice.mp3")
        .text("Hello.")
        .sample_rate(24_000)
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&clone).unwrap(),
        json!({"model": "cosyvoice-v2", "url": "https://e.com/voice.mp3", "text": "Hello.", "sample_rate": 24000})
    );
    assert!(
        CosyvoiceCloneRequest::builder()
            .model("v2")
            .build()
            .is_err()
    );
    let tts = QwenAudio30TtsPlusRequest::builder()
        .text("Hi.")
        .voice("Cherry")
        .build();
    assert!(tts.is_ok());
    assert!(
        Whisper1Request::builder()
            .url("https://e.com/a.mp3")
            .build()
            .is_ok()
    );
    assert!(validate("openai/whisper-1", &json!({"url": ""})).is_err());
}

#[test]
fn builders_take_plain_rust_values() {
    use modellix::types::{Seedance20V2vRequest, Seedance20V2vRequestResolution};
    let from_array = Seedance20V2vRequest::builder()
        .prompt("Cut [Video 1]")
        .video_urls(["https://e.com/a.mp4", "https://e.com/b.mp4"])
        .resolution("1080p")
        .duration(8)
        .build()
        .unwrap();
    let from_iter = Seedance20V2vRequest::builder()
        .prompt(String::from("Cut [Video 1]"))
        .video_urls(["a", "b"].iter().map(|n| format!("https://e.com/{n}.mp4")))
        .resolution(Seedance20V2vRequestResolution::Resolution1080p)
        .duration(8)
        .build()
        .unwrap();
    assert_eq!(from_array, from_iter);
    assert_eq!(
        serde_json::to_value(&from_array).unwrap(),
        json!({"prompt": "Cut [Video 1]", "video_urls": ["https://e.com/a.mp4", "https://e.com/b.mp4"],
               "resolution": "1080p", "duration": 8})
    );
    let err = Seedance20V2vRequest::builder()
        .resolution("4k")
        .build()
        .unwrap_err();
    let got: Vec<(&str, String)> = err
        .violations()
        .iter()
        .map(|v| (v.pointer.as_str(), v.rule.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "/resolution",
                "must be one of \"480p\", \"720p\", \"1080p\" (found \"4k\")".to_owned()
            ),
            ("/prompt", "is required but missing".to_owned()),
            ("/video_urls", "is required but missing".to_owned()),
        ]
    );
    assert!(matches!(err.at("/prompt").unwrap().rule, Rule::Required));
    let veo = modellix::types::Veo31LiteI2vRequest::builder()
        .prompt("x")
        .image("https://e.com/a.png")
        .aspect_ratio("9:16")
        .duration_seconds("6")
        .build()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&veo).unwrap(),
        json!({"prompt": "x", "image": "https://e.com/a.png", "aspectRatio": "9:16", "durationSeconds": "6"})
    );
    let kling = modellix::types::KlingV1t2vRequest::builder()
        .prompt("x")
        .cfg_scale(0.5)
        .camera_control(json!({"type": "simple"}))
        .build()
        .unwrap();
    kling.validate().unwrap();
}

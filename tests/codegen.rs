//! The generator's contract: reviewable output, and new endpoints without Rust.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn generated_code_matches_the_reviewed_snapshot() {
    let built = include_str!(concat!(env!("OUT_DIR"), "/modellix_generated.rs"));
    let snapshot = include_str!("snapshots/modellix_generated.rs");
    assert!(
        built == snapshot,
        "the generated client differs from tests/snapshots/: run `cargo xtask codegen` and review the diff"
    );
    let built = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
    let snapshot = include_str!("snapshots/openapi.json");
    assert!(
        built == snapshot,
        "openapi.json differs from tests/snapshots/: run `cargo xtask codegen`"
    );
}

#[test]
fn the_merged_document_has_no_error_answers_and_no_request_defaults() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/openapi.json"))).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let codes: Vec<_> = op["responses"].as_object().unwrap().keys().collect();
            assert_eq!(codes, ["200"], "{method} {path}");
        }
    }
    let request = &doc["components"]["schemas"]["Seedance20V2vRequest"];
    for (name, prop) in request["properties"].as_object().unwrap() {
        assert!(prop.get("default").is_none(), "{name} keeps a default");
    }
    let submit = &doc["paths"]["/api/v1/bytedance/seedance-2.0-v2v/async"]["post"];
    assert_eq!(
        submit["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SubmitResponse"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".git", "target", "out"].iter().any(|skip| name == *skip) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Adds a made-up model's fragment to a copy of this crate and builds a probe program
/// against it: the new operation and its request type with `validate()` exist, and the
/// crate's Rust sources are untouched.
#[test]
fn a_new_fragment_yields_a_typed_operation_with_no_rust_edits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("extension");
    let copy = work.join("crate");
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(root, &copy);
    std::fs::create_dir_all(copy.join("spec/acme")).unwrap();
    std::fs::copy(
        root.join("tests/fixtures/acme__pixel-1-t2i.json"),
        copy.join("spec/acme/pixel-1-t2i.json"),
    )
    .unwrap();
    std::fs::copy(
        root.join("tests/fixtures/acme__pixel-1-t2i.rules.json"),
        copy.join("spec/acme/pixel-1-t2i.rules.json"),
    )
    .unwrap();
    // A vendored fragment copied under a new model id of its provider: only its URL
    // changes, which is what Modellix publishes for a sibling model.
    for ext in ["json", "rules.json"] {
        let text = std::fs::read_to_string(root.join(format!("spec/minimax/hailuo-2.3-t2v.{ext}")))
            .unwrap()
            .replace("/minimax/hailuo-2.3-t2v/", "/minimax/hailuo-9.9-t2v/");
        std::fs::write(
            copy.join(format!("spec/minimax/hailuo-9.9-t2v.{ext}")),
            text,
        )
        .unwrap();
    }
    // Odd names compile, and keep their wire names.
    write_odd(&copy.join("spec"), odd_properties());
    std::fs::create_dir_all(copy.join("examples")).unwrap();
    std::fs::write(copy.join("examples/probe.rs"), PROBE).unwrap();

    seed_target_dir(&work.join("target"));
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline", "--example", "probe"])
        .current_dir(&copy)
        // Its own target folder: this test runs while cargo holds ours.
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "probe failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "operation pixel1T2iAsync POST /api/v1/acme/pixel-1-t2i/async model acme/pixel-1-t2i",
            "/count: must be at most 4 (found 9)",
            "/prompt: must be at least 1 characters long (found 0)",
            "/regions: must hold at most 2 item(s) (found 3)",
            "/regions/0/label: must be at least 1 characters long (found 0)",
            "/regions/1/label: is required but missing",
            "/regions/1/weight: must be at most 10 (found 11)",
            "/style: must be one of \"flat\", \"photo\" (found \"3d\")",
            "valid: {\"count\":2,\"prompt\":\"a red kite\"}",
            "sandbox: 1 submit to pixel1T2iAsync, task success",
            "sandbox rejects: Invalid parameters: /count: must be at most 4 (found 9)",
            "resources: image image/png",
            "sibling: /resolution: must be one of \"768P\" when `duration` is 10: 10-second \
             videos only support 768P; use 6 seconds for 1080P",
            "sibling: POST /api/v1/minimax/hailuo-9.9-t2v/async, task success, resources: video video/mp4",
            "odd: {\"build\":\"b\",\"r\":\"16*9\",\"self\":\"s\",\"type\":\"t\",\"validate\":7,\"\":\"e\",\"3d_mode\":true}",
            "odd: 1080p 1080P 16:9 16*9",
            "odd: /validate: must fit a 64-bit signed integer, from -9223372036854775808 to 9223372036854775807 (found 18446744073709551615)",
        ]
    );
}

/// Hard-links this run's compiled dependencies into the copy's target folder, so the
/// nested build recompiles only the workspace crates instead of every dependency.
/// Best effort: without it the test is just slower.
fn seed_target_dir(target: &Path) {
    let ours = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("debug");
    let theirs = target.join("debug");
    if theirs.exists() || !ours.exists() {
        return;
    }
    let _ = std::fs::create_dir_all(target);
    let _ = Command::new("cp")
        .arg("-al")
        .arg(&ours)
        .arg(&theirs)
        .status();
    // The workspace's own crates hash the same in the copy (cargo hashes path packages
    // relative to the workspace), so their artifacts would be rewritten in place,
    // through the hard links, into our target: drop them, the copy builds its own.
    for dir in ["build", "deps", ".fingerprint", "incremental", "examples"] {
        let Ok(entries) = std::fs::read_dir(theirs.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("modellix") || name.starts_with("libmodellix") || dir == "examples"
            {
                let path = entry.path();
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
    }
}

const PROBE: &str = r#"
use modellix::SubmitRequest;
use modellix::types::Pixel1T2iRequest;

#[tokio::main]
async fn main() {
    let client = modellix::Client::builder().memory_ledger()
        .api_key("probe-key-0000")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let _ = &client;
    let op = <Pixel1T2iRequest as SubmitRequest>::OPERATION;
    println!("operation {} {} {} model {}", op.operation_id, op.method, op.path, op.model_id.unwrap());
    let bad = serde_json::json!({
        "prompt": "", "count": 9, "style": "3d",
        "regions": [{"label": ""}, {"weight": 11}, {"label": "x"}]
    });
    for v in Pixel1T2iRequest::validate_json(&bad).unwrap_err().violations() {
        println!("{v}");
    }
    let ok: Pixel1T2iRequest =
        serde_json::from_value(serde_json::json!({"prompt": "a red kite", "count": 2})).unwrap();
    let _ = ok.validate().unwrap();
    println!("valid: {}", serde_json::to_string(&ok).unwrap());

    // The sandbox serves the new endpoint with no sandbox code either.
    let sandbox = modellix_sandbox::Sandbox::start().await.unwrap();
    let client = modellix::Client::builder().memory_ledger()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let output = client.generate(&ok).await.unwrap();
    println!(
        "sandbox: {} submit to pixel1T2iAsync, task {}",
        sandbox.counts().submit["pixel1T2iAsync"],
        output.info.status
    );
    let raw = reqwest::Client::new()
        .post(format!("{}{}", sandbox.base_url(), op.path))
        .bearer_auth(sandbox.api_key())
        .json(&serde_json::json!({"prompt": "x", "count": 9}))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = raw.json().await.unwrap();
    println!("sandbox rejects: {}", answer["message"].as_str().unwrap());
    println!("resources: {}", kinds(&output).await);

    // The sibling copied from a vendored fragment: builder, prose rules, sandbox.
    use modellix::types::Hailuo99T2vRequest;
    let bad = Hailuo99T2vRequest::builder().prompt("a cat").duration(10).resolution("1080P").build().unwrap();
    for v in bad.validate().unwrap_err().violations() {
        println!("sibling: {v}");
    }
    let good = Hailuo99T2vRequest::builder().prompt("a cat").duration(10).build().unwrap();
    let output = client.generate(&good).await.unwrap();
    let op = <Hailuo99T2vRequest as SubmitRequest>::OPERATION;
    println!(
        "sibling: {} {}, task {}, resources: {}",
        op.method,
        op.path,
        output.info.status,
        kinds(&output).await
    );

    use modellix::types::{Odd1Request, Odd1RequestR};
    let odd = Odd1Request::builder()
        .x3d_mode(true)
        .self_("s")
        .type_("t")
        .x("e")
        .build_("b")
        .validate(7u8)
        .r(Odd1RequestR::R16Star9)
        .build()
        .unwrap();
    println!("odd: {}", serde_json::to_string(&odd).unwrap());
    let values = [Odd1RequestR::R1080p, Odd1RequestR::R1080P, Odd1RequestR::R16Colon9, Odd1RequestR::R16Star9];
    println!("odd: {}", values.map(|v| v.to_string()).join(" "));
    let err = Odd1Request::builder().validate(u64::MAX).build().unwrap_err();
    println!("odd: {}", err.violations()[0]);
}

/// `type content-type` of each result file, as served.
async fn kinds(output: &modellix::TaskOutput) -> String {
    let mut out = Vec::new();
    for r in output.resources() {
        let got = reqwest::get(r.url.as_deref().unwrap()).await.unwrap();
        let ty = got.headers()["content-type"].to_str().unwrap().to_owned();
        out.push(format!("{} {ty}", r.type_));
    }
    out.join(", ")
}
"#;

/// The made-up fragment `acme/odd-1.json` with `properties` as its request body, its
/// rules file beside it, generated from a spec folder of its own.
fn generate_odd(properties: serde_json::Value) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    write_odd(dir.path(), properties);
    modellix_codegen::generate_dir(dir.path())
        .map(|g| g.code)
        .map_err(|e| e.to_string())
}

/// Writes `acme/odd-1.json` (and its rules file) under the spec folder `spec`.
fn write_odd(spec: &Path, properties: serde_json::Value) {
    std::fs::create_dir_all(spec.join("acme")).unwrap();
    let mut fragment: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/acme__pixel-1-t2i.json")).unwrap();
    fragment["servers"][0]["url"] = "https://api.modellix.ai/api/v1/acme/odd-1/async".into();
    fragment["post"]["requestBody"]["content"]["application/json"] = serde_json::json!({
        "schema": {"type": "object", "properties": properties}
    });
    std::fs::write(spec.join("acme/odd-1.json"), fragment.to_string()).unwrap();
    std::fs::write(
        spec.join("acme/odd-1.rules.json"),
        r#"{"outputs": [{"kind": "image"}]}"#,
    )
    .unwrap();
}

/// Field names that are no Rust identifiers and enum values the type generator
/// cannot name apart, in one fragment the extension test compiles.
fn odd_properties() -> serde_json::Value {
    serde_json::json!({
        "3d_mode": {"type": "boolean"},
        "self": {"type": "string"},
        "type": {"type": "string"},
        "": {"type": "string"},
        "build": {"type": "string"},
        "validate": {"type": "integer"},
        "r": {"type": "string", "enum": ["1080p", "1080P", "16:9", "16*9"]}
    })
}

/// `mod types` of generated code, parsed (so the code is valid Rust syntax).
fn types_of(code: &str) -> Vec<syn::Item> {
    let file = syn::parse_file(code).expect("generated code parses");
    file.items
        .into_iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "types" => m.content.map(|(_, items)| items),
            _ => None,
        })
        .expect("mod types")
}

/// `#[serde(rename = "…")]` of an item, if any.
fn rename_of(attrs: &[syn::Attribute]) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                found = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            }
            Ok(())
        });
    }
    found
}

/// `(wire name, Rust field)` of the struct `name`.
fn struct_fields(items: &[syn::Item], name: &str) -> Vec<(String, String)> {
    let s = items
        .iter()
        .find_map(|i| match i {
            syn::Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no struct {name}"));
    s.fields
        .iter()
        .map(|f| {
            let rust = f.ident.as_ref().unwrap().to_string();
            (rename_of(&f.attrs).unwrap_or_else(|| rust.clone()), rust)
        })
        .collect()
}

/// Every method name of the inherent impls of `ty`.
fn methods(items: &[syn::Item], ty: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Impl(imp) if imp.trait_.is_none() => Some(imp),
            _ => None,
        })
        .filter(|imp| matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident(ty)))
        .flat_map(|imp| imp.items.iter())
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// `(wire value, variant)` of the enum `name`.
fn enum_variants(items: &[syn::Item], name: &str) -> Vec<(String, String)> {
    let e = items
        .iter()
        .find_map(|i| match i {
            syn::Item::Enum(e) if e.ident == name => Some(e),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no enum {name}"));
    e.variants
        .iter()
        .map(|v| (rename_of(&v.attrs).unwrap(), v.ident.to_string()))
        .collect()
}

/// A property name that is no Rust identifier gets a field and a setter the type
/// generator's way; the wire name stays (serde rename), and the code parses.
fn assert_odd_field(wire: &str, rust: &str, setter: &str) {
    let code = generate_odd(serde_json::json!({ wire: {"type": "string"} }))
        .unwrap_or_else(|e| panic!("{wire:?}: {e}"));
    let types = types_of(&code);
    assert_eq!(
        struct_fields(&types, "Odd1Request"),
        [(wire.to_owned(), rust.to_owned())],
        "{wire:?}"
    );
    let setters = methods(&types, "Odd1RequestBuilder");
    assert_eq!(setters, [setter, "build"], "{wire:?}");
    for name in setters {
        syn::parse_str::<syn::Ident>(&name).expect("a Rust identifier");
    }
}

#[test]
fn a_property_starting_with_a_digit_gets_an_x_prefix() {
    assert_odd_field("3d_mode", "x3d_mode", "x3d_mode");
}

#[test]
fn a_property_named_self_gets_a_trailing_underscore() {
    assert_odd_field("self", "self_", "self_");
}

#[test]
fn a_property_named_type_gets_a_trailing_underscore() {
    assert_odd_field("type", "type_", "type_");
}

#[test]
fn an_empty_property_name_becomes_x() {
    assert_odd_field("", "x", "x");
}

#[test]
fn a_property_named_build_gets_a_setter_that_does_not_clash_with_build() {
    assert_odd_field("build", "build", "build_");
}

#[test]
fn properties_named_after_request_methods_keep_their_names() {
    for name in ["validate", "validate_json", "builder", "new", "fields"] {
        assert_odd_field(name, name, name);
    }
}

#[test]
fn two_properties_with_one_rust_name_are_refused_naming_file_and_fields() {
    let cases = [
        (
            serde_json::json!({"": {"type": "string"}, "x": {"type": "string"}}),
            "acme/odd-1.json: type Odd1Request: fields \"\" and \"x\" both become the Rust field `x`",
        ),
        (
            serde_json::json!({"3d": {"type": "string"}, "x3d": {"type": "string"}}),
            "acme/odd-1.json: type Odd1Request: fields \"3d\" and \"x3d\" both become the Rust field `x3d`",
        ),
        (
            serde_json::json!({"aspectRatio": {"type": "string"}, "aspect_ratio": {"type": "string"}}),
            "acme/odd-1.json: /properties: fields \"aspectRatio\" and \"aspect_ratio\" both become the Rust field `aspect_ratio`",
        ),
    ];
    for (properties, want) in cases {
        let got = generate_odd(properties).unwrap_err();
        assert!(got.starts_with(want), "{got}\nwants {want}");
    }
}

/// Enum values the type generator cannot name apart get distinct variants; each keeps
/// its wire value in serde, `Display` and `FromStr`.
fn assert_enum(values: &[&str], want: &[&str]) {
    let code = generate_odd(serde_json::json!({"r": {"type": "string", "enum": values}}))
        .unwrap_or_else(|e| panic!("{values:?}: {e}"));
    let types = types_of(&code);
    let got = enum_variants(&types, "Odd1RequestR");
    let want: Vec<(String, String)> = values
        .iter()
        .zip(want)
        .map(|(v, w)| ((*v).to_owned(), (*w).to_owned()))
        .collect();
    assert_eq!(got, want);
    for (wire, variant) in &want {
        syn::parse_str::<syn::Ident>(variant).expect("a Rust identifier");
        assert!(code.contains(&format!("Self::{variant} => f.write_str({wire:?})")));
        assert!(code.contains(&format!("{wire:?} => Ok(Self::{variant})")));
    }
    assert!(!code.contains("zzmodellix"), "a stand-in value is left");
}

#[test]
fn enum_values_that_differ_only_in_case_get_distinct_variants() {
    assert_enum(&["1080p", "1080P"], &["R1080p", "R1080P"]);
    assert_enum(&["fast", "Fast"], &["Rfast", "RFast"]);
}

#[test]
fn enum_values_that_differ_only_in_a_separator_get_distinct_variants() {
    assert_enum(&["16:9", "16*9", "4:3"], &["R16Colon9", "R16Star9", "R4x3"]);
    assert_enum(
        &["a-b", "a_b", "self"],
        &["RaDashb", "RaUnderscoreb", "Rself"],
    );
}

/// A schema the type generator panics on (here a `not`) stops the build with an error
/// naming the fragment, found among good ones, instead of a panic naming nothing.
#[test]
fn a_panic_of_the_type_generator_names_the_fragment() {
    let dir = tempfile::tempdir().unwrap();
    write_odd(dir.path(), serde_json::json!({"a": {"type": "string"}}));
    std::fs::write(
        dir.path().join("acme/pixel-1-t2i.json"),
        include_str!("fixtures/acme__pixel-1-t2i.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("acme/pixel-1-t2i.rules.json"),
        include_str!("fixtures/acme__pixel-1-t2i.rules.json"),
    )
    .unwrap();
    // The reader drops `not` (no check enforces it: a build warning), so it reaches the
    // type generator, which panics on it, only when put in after reading.
    let mut fragments = modellix_codegen::load_dir(dir.path()).unwrap();
    let odd = fragments
        .iter_mut()
        .find(|f| f.file.ends_with("acme/odd-1.json"))
        .unwrap();
    *odd.operation
        .get_mut("requestBody")
        .and_then(|b| b.pointer_mut("/content/application~1json/schema/properties/a"))
        .unwrap() = serde_json::json!({"not": {"type": "string"}});
    let err = modellix_codegen::generate(&fragments)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("acme/odd-1.json: the type generator panicked: not yet implemented"),
        "{err}"
    );
    assert!(err.contains("teach codegen/src/merge.rs"), "{err}");
}

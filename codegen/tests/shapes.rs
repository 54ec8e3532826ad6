//! Every page shape `shapes` reads generates the client the classic fragment does.

use std::path::Path;

const SHAPES: &[&str] = &["defs", "components", "all_of", "post_body", "type_array"];

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/shapes"
    ))
}

/// Generates the client from a spec folder holding only `acme/shapes-1` in `shape`.
fn generate(shape: &str) -> modellix_codegen::Generated {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("acme")).unwrap();
    std::fs::copy(
        fixtures().join(format!("{shape}.json")),
        dir.path().join("acme/shapes-1.json"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("rules.json"),
        dir.path().join("acme/shapes-1.rules.json"),
    )
    .unwrap();
    modellix_codegen::generate_dir(dir.path()).unwrap_or_else(|e| panic!("{shape}: {e}"))
}

#[test]
fn each_shape_generates_the_code_of_the_classic_fragment() {
    let classic = generate("classic");
    assert!(classic.code.contains("pub struct Shapes1Request"));
    assert!(classic.warnings.is_empty(), "{:?}", classic.warnings);
    for shape in SHAPES {
        let got = generate(shape);
        assert!(
            got.code == classic.code,
            "{shape}: the generated code differs"
        );
        assert_eq!(got.openapi, classic.openapi, "{shape}");
    }
}

#[test]
fn a_nullable_field_is_checked_unless_null() {
    let code = generate("type_array").code;
    assert!(code.contains("is_null()"), "no null guard in the checks");
}

#[test]
fn unenforced_keywords_become_build_warnings_naming_file_keyword_and_field() {
    let warnings = generate("type_array").warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    for part in [
        "acme/shapes-1.json",
        "\"multipleOf\"",
        "/properties/count",
        "not checked",
    ] {
        assert!(warning.contains(part), "{warning} lacks {part}");
    }
}

#[test]
fn a_cycle_or_an_outside_pointer_stops_the_build_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("acme")).unwrap();
    std::fs::copy(
        fixtures().join("rules.json"),
        dir.path().join("acme/shapes-1.rules.json"),
    )
    .unwrap();
    let classic = std::fs::read_to_string(fixtures().join("defs.json")).unwrap();
    for (from, to, want) in [
        (
            "\"minLength\": 1\n  }",
            "\"$ref\": \"#/$defs/shared~1text\"\n  }",
            "$ref cycle",
        ),
        (
            "#/$defs/region~0item",
            "https://evil.example/region.json",
            "points outside the document",
        ),
    ] {
        assert!(classic.contains(from), "{from}");
        std::fs::write(
            dir.path().join("acme/shapes-1.json"),
            classic.replacen(from, to, 1),
        )
        .unwrap();
        let err = modellix_codegen::generate_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("acme/shapes-1.json: ") && err.contains(want),
            "{err}"
        );
    }
}

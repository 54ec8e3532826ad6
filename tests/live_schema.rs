//! Live schemas over loopback: a model this build does not vendor is checked by its
//! public schema page, served by the sandbox, before anything is paid for. The page is
//! fetched once, cached on disk, used after the server is gone, refused when its host
//! or path is foreign; with no schema the submit is refused unless skipped on purpose.

use std::path::Path;
use std::time::Duration;

use modellix::{Client, Error, Operation, SchemaSource, SubmitOptions};
use modellix_sandbox::Sandbox;
use serde_json::{Value, json};

const MODEL: &str = "acme/pixel-2";

/// A page for `model_id` in the shape of the vendored fragments: gpt-image-2's schema,
/// on `model_id`'s submit path.
fn page_for(model_id: &str) -> Value {
    page_with_url(
        &format!("https://api.modellix.ai/api/v1/{model_id}/async"),
        json!(null),
    )
}

fn page_with_url(url: &str, extra_field: Value) -> Value {
    let text = Operation::for_model("openai/gpt-image-2")
        .and_then(Operation::fragment_json)
        .unwrap();
    let mut page: Value = serde_json::from_str(text).unwrap();
    page["servers"][0]["url"] = json!(url);
    page["post"].as_object_mut().unwrap().remove("operationId");
    if !extra_field.is_null() {
        page["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["steps"] =
            extra_field;
    }
    page
}

fn client(sandbox: &Sandbox, cache: &Path) -> Client {
    sandbox
        .client_builder()
        .schema_cache_dir(Some(cache))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_schema_page_is_fetched_once_cached_and_used_after_the_server_is_gone() {
    let sandbox = Sandbox::builder()
        .schema_page(MODEL, page_for(MODEL))
        .start()
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&sandbox, cache.path());
    assert!(Operation::for_model(MODEL).is_none());

    let live = client.live_schema(MODEL).await.unwrap();
    assert_eq!(live.source(), &SchemaSource::Fetched);
    assert_eq!(live.submit_path(), "/api/v1/acme/pixel-2/async");
    assert_eq!(live.request_schema()["required"], json!(["prompt"]));
    let again = client.live_schema(MODEL).await.unwrap();
    assert_eq!(again.source(), &SchemaSource::Cache);
    assert_eq!(sandbox.counts().schema_pages, 1, "fetched once");

    // A valid body goes once to the page's own submit path.
    let task = client
        .submit_json(
            MODEL,
            json!({"prompt": "a lighthouse", "size": "1024x1024"}),
        )
        .await
        .unwrap();
    assert_eq!(sandbox.counts().submit[MODEL], 1);
    assert_eq!(sandbox.task(task.id()).unwrap().model_id, MODEL);
    assert_eq!(
        sandbox.counts().schema_pages,
        1,
        "the cache served the submit"
    );

    // A stale entry is fetched again while the server is up.
    let stale = sandbox
        .client_builder()
        .schema_cache_dir(Some(cache.path()))
        .schema_max_age(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(
        stale.live_schema(MODEL).await.unwrap().source(),
        &SchemaSource::Fetched
    );
    assert_eq!(sandbox.counts().schema_pages, 2);

    // Gone: the stale copy stands in, and still refuses a bad body.
    sandbox.shutdown().await;
    let live = stale.live_schema(MODEL).await.unwrap();
    assert!(
        matches!(live.source(), SchemaSource::StaleCache { reason } if reason.contains("cannot reach")),
        "{:?}",
        live.source()
    );
    let err = stale
        .validate_json(MODEL, &json!({"size": "9x9"}))
        .await
        .unwrap_err();
    let Error::Validation(invalid) = err else {
        panic!("{err}")
    };
    assert!(invalid.at("/prompt").is_some() && invalid.at("/size").is_some());

    // Without a cache there is nothing to fall back on.
    let bare = stale_client_without_cache(stale.base_url());
    let err = bare.live_schema(MODEL).await.unwrap_err();
    assert!(matches!(err, Error::NoSchema { .. }), "{err}");
}

fn stale_client_without_cache(base: &str) -> Client {
    Client::builder()
        .memory_ledger()
        .api_key("sk-test")
        .base_url(base)
        .schema_url(base)
        .schema_cache_dir(None::<&Path>)
        .build()
        .unwrap()
}

#[tokio::test]
async fn bad_bodies_for_an_unvendored_model_are_refused_before_any_post() {
    let sandbox = Sandbox::builder()
        .schema_page(MODEL, page_for(MODEL))
        .start()
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&sandbox, cache.path());
    for (body, pointer) in [
        (json!({"prompt": ""}), "/prompt"),
        (json!({"size": "1024x1024"}), "/prompt"),
        (json!({"prompt": "x", "quality": "ultra"}), "/quality"),
        (json!({"prompt": 7}), "/prompt"),
    ] {
        let err = client.submit_json(MODEL, &body).await.unwrap_err();
        let Error::Validation(invalid) = &err else {
            panic!("{body}: {err}")
        };
        assert!(invalid.at(pointer).is_some(), "{body}: {err}");
        assert!(err.nothing_created());
    }
    assert_eq!(sandbox.counts().submits(), 0, "nothing was posted");
}

#[tokio::test]
async fn without_a_schema_nothing_is_sent_unless_skipped_on_purpose() {
    let sandbox = Sandbox::start().await.unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&sandbox, cache.path());
    let slug = "acme/no-page";
    let body = json!({"prompt": "a lighthouse"});
    let err = client.submit_json(slug, &body).await.unwrap_err();
    assert!(matches!(&err, Error::NoSchema { model_id, .. } if model_id == slug));
    let text = err.to_string();
    assert!(
        text.contains("404") && text.contains("skip_schema_check") && text.contains("--no-schema"),
        "{text}"
    );
    assert!(err.nothing_created() && err.is_invalid_input());
    assert_eq!(sandbox.counts().submits(), 0);

    let task = client
        .submit_json_with(slug, &body, SubmitOptions::new().skip_schema_check())
        .await
        .unwrap();
    assert_eq!(sandbox.counts().submit[slug], 1);
    assert_eq!(sandbox.task(task.id()).unwrap().body, body);
}

#[tokio::test]
async fn pages_on_a_foreign_host_or_another_path_are_refused() {
    let long = format!(
        "https://api.modellix.ai/api/v1/acme/pixel-2/async{}",
        "/x".repeat(1100)
    );
    let cases = [
        (
            "https://evil.example/api/v1/acme/pixel-2/async",
            "not on the origin",
        ),
        ("http://api.modellix.ai/api/v1/acme/pixel-2/async", "https"),
        (
            "https://user:pw@api.modellix.ai/api/v1/acme/pixel-2/async",
            "credentials",
        ),
        (
            "https://api.modellix.ai/api/v1/acme/pixel-2/async?x=1",
            "query",
        ),
        (
            "https://api.modellix.ai/api/v1/acme/pixel-2/async#frag",
            "fragment",
        ),
        (
            "https://api.modellix.ai/api/v1/acme/other/async",
            "submit path of acme/other",
        ),
        ("https://api.modellix.ai/v2/acme/pixel-2/async", "not under"),
        (long.as_str(), "2048"),
    ];
    for (url, expected) in cases {
        let sandbox = Sandbox::builder()
            .schema_page(MODEL, page_with_url(url, json!(null)))
            .start()
            .await
            .unwrap();
        let cache = tempfile::tempdir().unwrap();
        let client = client(&sandbox, cache.path());
        let err = client
            .submit_json(MODEL, json!({"prompt": "x"}))
            .await
            .unwrap_err();
        let Error::NoSchema { reason, .. } = &err else {
            panic!("{url}: {err}")
        };
        assert!(reason.contains(expected), "{url}: {reason}");
        assert_eq!(sandbox.counts().submits(), 0, "{url}");
        // A refused page is not cached.
        assert!(
            walk(cache.path()).is_empty(),
            "{url}: {:?}",
            walk(cache.path())
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn the_sandbox_serves_vendored_fragments_as_schema_pages() {
    let sandbox = Sandbox::start().await.unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&sandbox, cache.path());
    for op in modellix::OPERATIONS.iter().filter(|op| op.is_submit()) {
        let model = op.model_id.unwrap();
        let live = client.live_schema(model).await.unwrap();
        assert_eq!(live.submit_path(), op.path, "{model}");
        let fragment: Value = serde_json::from_str(op.fragment_json().unwrap()).unwrap();
        assert_eq!(
            live.request_schema(),
            &fragment["post"]["requestBody"]["content"]["application/json"]["schema"],
            "{model}"
        );
        assert_eq!(
            live.page()["servers"][0]["url"],
            json!(format!("{}{}", sandbox.base_url(), op.path))
        );
    }
}

#[tokio::test]
async fn a_keyword_the_checker_cannot_enforce_is_a_warning_naming_it() {
    let sandbox = Sandbox::builder()
        .schema_page(
            MODEL,
            page_with_url(
                "https://api.modellix.ai/api/v1/acme/pixel-2/async",
                json!({"type": "integer", "multipleOf": 4, "minimum": 1}),
            ),
        )
        .start()
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&sandbox, cache.path());
    let warnings = client
        .validate_json(MODEL, &json!({"prompt": "x", "steps": 8}))
        .await
        .unwrap();
    let w: Vec<_> = warnings.iter().collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].pointer, "/steps");
    assert!(w[0].message.contains("multipleOf"), "{}", w[0].message);
    // The rest of the field's rules still hold.
    let err = client
        .validate_json(MODEL, &json!({"prompt": "x", "steps": 0}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err}");
}

/// Today's shapes: `$defs` with an escaped `$ref`, `allOf`, a `post` that is the body
/// schema, a nullable type array; and a `$ref` cycle, refused by name.
#[tokio::test]
async fn pages_in_todays_shapes_are_read_and_cycles_refused() {
    let page = json!({
        "servers": [{"url": "https://api.modellix.ai/api/v1/acme/pixel-2/async"}],
        "$defs": {
            "shared/type": {"type": ["string", "null"], "enum": ["a", "b", null]},
            "base": {"type": "object", "required": ["prompt"],
                     "properties": {"prompt": {"type": "string", "minLength": 1}}}
        },
        "post": {"allOf": [
            {"$ref": "#/$defs/base"},
            {"type": "object", "properties": {
                "style": {"$ref": "#/$defs/shared~1type"},
                "n": {"type": "integer", "maximum": 4, "if": {"minimum": 2}, "then": {}}
            }}
        ]}
    });
    let cycle = json!({
        "servers": [{"url": "https://api.modellix.ai/api/v1/acme/loop/async"}],
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        "post": {"type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}}
    });
    let sandbox = Sandbox::builder()
        .schema_page(MODEL, page)
        .schema_page("acme/loop", cycle)
        .start()
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&sandbox, cache.path());
    let ok = client
        .validate_json(MODEL, &json!({"prompt": "x", "style": null, "n": 3}))
        .await
        .unwrap();
    assert!(
        ok.iter()
            .any(|w| w.pointer == "/n" && w.message.contains("if")),
        "{ok:?}"
    );
    let err = client
        .validate_json(MODEL, &json!({"prompt": "", "style": "c", "n": 9}))
        .await
        .unwrap_err();
    let Error::Validation(invalid) = err else {
        panic!("{err}")
    };
    let pointers: Vec<&str> = invalid
        .violations()
        .iter()
        .map(|v| v.pointer.as_str())
        .collect();
    assert_eq!(pointers, ["/n", "/prompt", "/style"], "{invalid}");
    let task = client
        .submit_json(MODEL, json!({"prompt": "x"}))
        .await
        .unwrap();
    assert_eq!(sandbox.task(task.id()).unwrap().model_id, MODEL);

    let err = client.live_schema("acme/loop").await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cycle") || text.contains("loop"), "{text}");
    assert_eq!(sandbox.counts().submits(), 1);
}

/// The fetch and checks `cargo xtask fetch`/`sync` vendor pages through are the client's:
/// the bytes as served, a status for an answer that is not 2xx, a refused redirect named,
/// and the page held to the origin it is read for.
#[tokio::test]
async fn the_public_page_fetch_and_read_are_the_clients() {
    let sandbox = Sandbox::builder()
        .schema_page(MODEL, page_for(MODEL))
        .start()
        .await
        .unwrap();
    let bytes = modellix::fetch_schema_page(sandbox.base_url(), MODEL)
        .await
        .unwrap();
    let live = modellix::read_schema_page(MODEL, &bytes, sandbox.base_url()).unwrap();
    assert_eq!(live.submit_path(), "/api/v1/acme/pixel-2/async");
    assert_eq!(live.source(), &SchemaSource::Fetched);
    let foreign = modellix::read_schema_page(MODEL, &bytes, "https://api.modellix.ai").unwrap_err();
    assert!(foreign.contains("not on the origin"), "{foreign}");
    let other = modellix::read_schema_page("acme/pixel-3", &bytes, sandbox.base_url()).unwrap_err();
    assert!(other.contains("the submit path of acme/pixel-2"), "{other}");

    let missing = modellix::fetch_schema_page(sandbox.base_url(), "acme/nothing")
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing}");
    for (origin, model, want) in [
        ("http://example.com", MODEL, "over https"),
        ("not a url", MODEL, "is not a URL"),
        (sandbox.base_url(), "../etc", "model"),
    ] {
        let e = modellix::fetch_schema_page(origin, model)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(want), "{origin} {model}: {e}");
        assert_eq!(e.status(), None);
    }
    assert_eq!(
        sandbox.counts().schema_pages,
        2,
        "the refused calls sent nothing"
    );
}

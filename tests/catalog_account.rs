//! The catalog, the account check and JSON submits by slug, against the sandbox over
//! real HTTP.

use modellix::{Client, ModelFilter, OPERATIONS};
use modellix_sandbox::{SANDBOX_BALANCE_USD, Sandbox};

fn client(sandbox: &Sandbox, key: &str) -> Client {
    Client::builder()
        .memory_ledger()
        .api_key(key)
        .base_url(sandbox.base_url())
        .requests_per_minute(None)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_catalog_lists_every_vendored_model_and_says_which_are_typed() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox, sandbox.api_key());
    let models = client.models().await.unwrap();
    for op in OPERATIONS.iter().filter(|op| op.is_submit()) {
        let slug = op.model_id.unwrap();
        let entry = models.iter().find(|m| m.slug == slug).expect(slug);
        assert!(entry.typed, "{slug}");
        assert!(entry.docs_url.is_some() && entry.model_type.is_some());
    }
    let untyped: Vec<_> = models.iter().filter(|m| !m.typed).collect();
    assert_eq!(untyped.len(), 1);
    assert_eq!(untyped[0].provider(), "alibaba");
    assert_eq!(untyped[0].price, None);

    let v2v = ModelFilter::new()
        .model_type("video-to-video")
        .provider("bytedance")
        .text("SEEDANCE")
        .apply(&models);
    assert!(v2v.iter().any(|m| m.slug == "bytedance/seedance-2.0-v2v"));
    assert!(v2v.iter().all(|m| m.price.is_some()));
    assert!(
        ModelFilter::new()
            .text("no such model")
            .apply(&models)
            .is_empty()
    );
    assert_eq!(sandbox.counts().account, 1);
}

#[tokio::test]
async fn check_reports_a_valid_key_its_balance_and_the_clock() {
    let sandbox = Sandbox::start().await.unwrap();
    let check = client(&sandbox, sandbox.api_key()).check().await;
    assert!(check.reachable);
    assert_eq!(check.key_valid, Some(true));
    assert_eq!(check.balance_usd, Some(SANDBOX_BALANCE_USD));
    let offset = check.clock_offset_secs.expect("the sandbox sends Date");
    assert!(offset.abs() < 2.0, "{offset}");
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert!(check.is_ready());
}

#[tokio::test]
async fn a_bad_key_makes_check_answer_invalid_not_fail() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox, "sk-wrong-key");
    let check = client.check().await;
    assert!(check.reachable);
    assert_eq!(check.key_valid, Some(false));
    assert_eq!(check.balance_usd, None);
    assert!(!check.is_ready());
    // No balance query is made with a key known to be invalid.
    assert_eq!(sandbox.counts().account, 1);
    assert!(!format!("{check:?}").contains("sk-wrong-key"));
    let err = client.balance().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_api_is_an_answer_too() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .memory_ledger()
        .api_key("sk-test")
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let check = client.check().await;
    assert!(!check.reachable);
    assert_eq!(check.key_valid, None);
    assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
}

#[tokio::test]
async fn submit_json_refuses_a_malformed_slug_and_sends_an_unvendored_one_once() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = client(&sandbox, sandbox.api_key());
    let body = serde_json::json!({"prompt": "a lighthouse at dawn"});
    for slug in [
        "no-slash",
        "a/b/c",
        "../etc/passwd",
        "alibaba/qwen image",
        "",
    ] {
        let err = client.submit_json(slug, &body).await.unwrap_err();
        assert!(err.is_invalid_input(), "{slug}: {err:?}");
    }
    assert_eq!(sandbox.counts().total, 0);

    // The catalog's unvendored model, its schema check skipped on purpose, runs as a
    // generic task: one POST.
    let unchecked = || modellix::SubmitOptions::new().skip_schema_check();
    let task = client
        .submit_json_with("alibaba/qwen-image-plus", &body, unchecked())
        .await
        .unwrap();
    assert_eq!(sandbox.counts().submits(), 1);
    assert_eq!(sandbox.task(task.id()).unwrap().body, body);

    // A model Modellix removed is answered 404: a rejection, not repeated.
    let gone = format!("{}/old-model", modellix_sandbox::MISSING_PROVIDER);
    let err = client
        .submit_json_with(&gone, &body, unchecked())
        .await
        .unwrap_err();
    assert!(err.is_rejected(), "{err:?}");
    assert_eq!(sandbox.counts().total, 2);
    assert_eq!(sandbox.counts().other, 1);
    let entries = client.history(0).await.unwrap();
    assert_eq!(entries.len(), 2);
}

/// The catalog's `price` objects are parsed with exact amounts: fixed, or min and max,
/// per an open unit.
#[tokio::test]
async fn catalog_prices_are_parsed_exactly() {
    let sandbox = Sandbox::start().await.unwrap();
    let models = client(&sandbox, sandbox.api_key()).models().await.unwrap();
    let of = |slug: &str| models.iter().find(|m| m.slug == slug).unwrap().clone();
    let image = of("openai/gpt-image-2").pricing.unwrap();
    assert_eq!(image.fixed, Some("0.04".parse().unwrap()));
    assert_eq!(image.unit.as_deref(), Some("$/img"));
    let video = of("bytedance/seedance-2.0-v2v").pricing.unwrap();
    assert_eq!(
        (
            video.min.unwrap().to_string(),
            video.max.unwrap().to_string()
        ),
        ("0.0480".to_owned(), "0.2400".to_owned())
    );
    assert_eq!(video.highest(), video.max);
    assert_eq!(video.to_string(), "$0.0480-$0.2400/sec");
    assert_eq!(of("alibaba/qwen-image-plus").pricing, None);
}

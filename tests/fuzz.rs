//! Property-based fuzzing of every parser that reads untrusted input: task answers,
//! error envelopes, submit answers, server wait hints, file names and spec fragments.
//!
//! cargo-fuzz needs a nightly toolchain, so these are proptest targets run by a small
//! time-bounded driver. Each target runs `FUZZ_CASES` cases (default 2000, a few
//! seconds in CI); with `FUZZ_SECONDS` set it repeats batches with fresh seeds until
//! that many seconds have passed and prints the cases run. Long run of one target:
//!
//! ```text
//! FUZZ_CASES=5000 FUZZ_SECONDS=600 cargo test --release --test fuzz -- --exact retry_after_hints --nocapture
//! ```
//!
//! Every generator bounds its sizes (strings, collections, nesting), so no case can ask
//! for an unbounded allocation.

mod support;

use std::fmt::Debug;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use modellix::TaskStatus;
use modellix::download::{MAX_FILE_NAME_BYTES, safe_file_name};
use modellix::types::{GetTaskResponse, SubmitResponse};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use support::{KEY, MockServer, Reply, SUBMIT};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `test` on `FUZZ_CASES` values of `strategy`, repeated with fresh seeds for
/// `FUZZ_SECONDS`. `make_test` is called per batch, so a batch can own fresh state.
fn fuzz<S, T>(name: &str, strategy: S, make_test: impl Fn() -> T)
where
    S: Strategy,
    S::Value: Debug,
    T: Fn(S::Value) -> Result<(), TestCaseError>,
{
    let cases = env_number("FUZZ_CASES", 2000).max(1) as u32;
    let budget = Duration::from_secs(env_number("FUZZ_SECONDS", 0));
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let mut config = Config::with_cases(cases);
        // Failures are printed with their shrunk input instead of saved to a file.
        config.failure_persistence = None;
        let mut runner = TestRunner::new(config);
        let test = make_test();
        if let Err(failure) = runner.run(&strategy, test) {
            panic!("fuzz target {name} failed: {failure}");
        }
        total += u64::from(cases);
        if started.elapsed() >= budget {
            break;
        }
    }
    eprintln!(
        "fuzz {name}: {total} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Bytes that print as an escaped string, so a failing input can be read and pasted.
#[derive(Clone)]
struct Bytes(Vec<u8>);

impl Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// A string of up to `max` characters from anywhere in Unicode.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// Any JSON value, at most 3 levels deep and 6 wide.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any_text(24).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(any_text(12), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys no schema knows, so they must land in `extra`.
fn extra_fields() -> impl Strategy<Value = Map<String, Value>> {
    btree_map("x_[a-z0-9_]{1,10}", any_json(), 0..4).prop_map(|m| m.into_iter().collect())
}

/// Byte edits applied to a valid document: flips, deletions, insertions, a cut.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Delete(usize),
    Insert(usize, u8),
    Cut(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Cut),
    ];
    vec(edit, 1..6)
}

fn apply_edits(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Flip(at, b) if !bytes.is_empty() => bytes[at % len] ^= b | 1,
            Edit::Delete(at) if !bytes.is_empty() => {
                bytes.remove(at % len);
            }
            Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Edit::Cut(at) => bytes.truncate(at % len),
            _ => {}
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------
// Task answers

const STATUSES: &[&str] = &[
    "pending",
    "processing",
    "success",
    "failed",
    "SUCCEEDED",
    "completed",
    "error",
    "canceled",
    "cancelled",
    "queued",
    "",
];

fn status_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(STATUSES).prop_map(str::to_owned),
        any_text(16),
    ]
}

/// A well-typed task answer with unknown statuses and unknown fields anywhere.
fn task_answer() -> impl Strategy<Value = (Value, String)> {
    let resource = (
        "(video|image|audio|[a-z]{0,8})",
        "https://cdn\\.example\\.com/[a-z0-9/._-]{0,40}",
        proptest::option::of(any::<i64>()),
        extra_fields(),
    )
        .prop_map(|(type_, url, width, extra)| {
            let mut r = json!({"type": type_, "url": url});
            if let Some(w) = width {
                r["width"] = json!(w);
            }
            r.as_object_mut().unwrap().extend(extra);
            r
        });
    (
        status_text(),
        "task-[a-z0-9]{1,16}",
        proptest::option::of(vec(resource, 0..4)),
        proptest::option::of(any_json()),
        extra_fields(),
        extra_fields(),
        any_text(20),
    )
        .prop_map(
            |(status, task_id, resources, error, data_extra, top_extra, message)| {
                let mut data = json!({"status": status, "task_id": task_id});
                if let Some(resources) = resources {
                    data["result"] = json!({"resources": resources});
                }
                if let Some(error) = error {
                    data["error"] = error;
                }
                data.as_object_mut().unwrap().extend(data_extra);
                let mut answer = json!({"code": 0, "message": message, "data": data});
                answer.as_object_mut().unwrap().extend(top_extra);
                (answer, status)
            },
        )
}

#[test]
fn task_answer_decoder_tolerates_unknown_values() {
    fuzz("task_answer_json", task_answer(), || {
        |(answer, status): (Value, String)| {
            let text = serde_json::to_vec(&answer).unwrap();
            let decoded: GetTaskResponse = serde_json::from_slice(&text)
                .map_err(|e| TestCaseError::fail(format!("well-typed answer refused: {e}")))?;
            prop_assert_eq!(decoded.data.status, TaskStatus::from_wire(&status));
            let extra_in = answer.as_object().unwrap().len() - 3;
            prop_assert_eq!(decoded.extra.len(), extra_in, "unknown fields are kept");
            Ok(())
        }
    });
}

#[test]
fn task_answer_decoder_survives_any_json_and_any_bytes() {
    let valid = serde_json::to_vec(&json!({"code":0,"message":"success","data":{
        "status":"success","task_id":"task-abc123","model_id":"bytedance/seedance-2.0-v2v",
        "result":{"resources":[{"type":"video","url":"https://cdn.example.com/a.mp4","width":1280}]}}}))
    .unwrap();
    let input = prop_oneof![
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        // A valid answer with one field replaced by anything.
        (task_answer(), "(code|message|data)", any_json()).prop_map(|((mut a, _), key, v)| {
            a[key.as_str()] = v;
            serde_json::to_vec(&a).unwrap()
        }),
        bytes(512),
        edits().prop_map(move |e| apply_edits(valid.clone(), &e)),
    ];
    fuzz("task_answer_bytes", input.prop_map(Bytes), || {
        |Bytes(bytes)| {
            if let Ok(answer) = serde_json::from_slice::<GetTaskResponse>(&bytes) {
                // What decodes must also encode (it is logged and stored).
                serde_json::to_vec(&answer).unwrap();
            }
            let _ = serde_json::from_slice::<SubmitResponse>(&bytes);
            // The lenient decoder only drops fields: it never invents the task id or
            // status, and agrees with the strict one where that succeeds.
            if let Some(lenient) = modellix::__fuzz::decode_task_answer_leniently(&bytes) {
                let raw: Value = serde_json::from_slice(&bytes).unwrap();
                prop_assert_eq!(
                    raw["data"]["task_id"].as_str(),
                    Some(lenient.data.task_id.as_str())
                );
                prop_assert_eq!(
                    raw["data"]["status"]
                        .as_str()
                        .map(modellix::TaskStatus::from_wire),
                    Some(lenient.data.status.clone())
                );
                if let Ok(strict) = serde_json::from_slice::<GetTaskResponse>(&bytes) {
                    prop_assert_eq!(strict, lenient);
                }
            }
            Ok(())
        }
    });
}

// ---------------------------------------------------------------------------------
// Error envelopes and server hints

/// Header values as a server could send them: numbers, dates, junk.
fn hint_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        (0u64..4_000_000_000)
            .prop_map(|s| httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(s))),
        "[-+0-9.eE]{0,24}",
        "(inf|-inf|NaN|-0|0e0|1e308|-1e-308| 5 |0x10)",
        "[ -~]{0,40}",
    ]
}

fn hint_headers() -> impl Strategy<Value = http::HeaderMap> {
    (
        proptest::option::of(hint_value()),
        proptest::option::of(hint_value()),
    )
        .prop_map(|(retry_after, reset)| {
            let mut headers = http::HeaderMap::new();
            for (name, value) in [("retry-after", retry_after), ("x-ratelimit-reset", reset)] {
                if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                    headers.insert(name, v);
                }
            }
            headers
        })
}

fn any_now() -> impl Strategy<Value = SystemTime> {
    (0u64..1 << 40).prop_map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

#[test]
fn retry_after_hints() {
    fuzz("retry_after", (hint_headers(), any_now()), || {
        |(headers, now): (http::HeaderMap, SystemTime)| {
            let hint = modellix::retry_after(&headers, now);
            prop_assert!(hint.is_none_or(|h| h <= Duration::from_secs(3600)));
            if headers.is_empty() {
                prop_assert_eq!(hint, None);
            }
            Ok(())
        }
    });
}

#[test]
fn error_envelope_decoder() {
    let body = prop_oneof![
        bytes(400),
        (any::<i64>(), any_text(60), any_json()).prop_map(|(code, message, data)| {
            serde_json::to_vec(&json!({"code": code, "message": message, "data": data})).unwrap()
        }),
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        "(<html>)?[ -~\n\t\r]{0,300}".prop_map(String::into_bytes),
    ];
    fuzz(
        "error_envelope",
        (100u16..1000, hint_headers(), body.prop_map(Bytes)),
        || {
            |(status, headers, Bytes(body)): (u16, http::HeaderMap, Bytes)| {
                let api = modellix::__fuzz::api_error(status, &headers, &body);
                prop_assert_eq!(api.status, status);
                prop_assert!(
                    api.retry_after
                        .is_none_or(|h| h <= Duration::from_secs(3600))
                );
                let message = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message")?.as_str().map(str::to_owned));
                match message {
                    // The server's own words are kept, split at the first ':', with
                    // control characters blanked.
                    Some(m) => {
                        let blanked: String = m
                            .chars()
                            .map(|c| if c.is_control() { ' ' } else { c })
                            .collect();
                        prop_assert!(blanked.contains(api.message.as_str()));
                        prop_assert!(!api.message.chars().any(char::is_control));
                    }
                    // A page from a proxy is shown as a short, clean excerpt.
                    None => {
                        prop_assert!(api.message.chars().count() <= 121, "{:?}", api.message);
                        prop_assert!(!api.message.chars().any(char::is_control));
                    }
                }
                let _ = api.to_string();
                Ok(())
            }
        },
    );
}

// ---------------------------------------------------------------------------------
// Submit answers

fn task_id() -> impl Strategy<Value = String> {
    "task-[A-Za-z0-9_.-]{1,24}"
}

/// Bodies that may hide a task id among noise.
fn submit_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(400),
        task_id().prop_map(
            |id| serde_json::to_vec(&json!({"code":0,"message":"success",
            "data":{"status":"pending","task_id":id,"model_id":"bytedance/seedance-2.0-v2v"}}))
            .unwrap()
        ),
        (any::<i64>(), any_json()).prop_map(|(code, id)| serde_json::to_vec(
            &json!({"code": code, "message": "x", "data": {"task_id": id}})
        )
        .unwrap()),
        (task_id(), any::<usize>()).prop_map(|(id, cut)| {
            let full = format!(
                r#"{{"code":0,"message":"success","data":{{"task_id":"{id}","status":"pending"}}}}"#
            );
            full.as_bytes()[..cut % (full.len() + 1)].to_vec()
        }),
        ("[ -~]{0,60}", task_id(), "[ -~]{0,60}")
            .prop_map(|(a, id, b)| format!("{a}\"task_id\" : \"{id}\"{b}").into_bytes()),
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]
}

/// Whether `id` could have come from `scan_task_id`: a usable id (not empty, no
/// control characters, no escapes) found verbatim in `body`.
fn plausible_id(id: &str, body: &[u8]) -> bool {
    !id.is_empty()
        && !id.chars().any(char::is_control)
        && !id.contains('\\')
        && String::from_utf8_lossy(body).contains(&format!("\"{id}\""))
}

#[test]
fn submit_answer_task_id_scan() {
    let input = prop_oneof![
        submit_body().prop_map(|b| (Bytes(b), None)),
        (task_id(), "[ -~]{0,80}").prop_map(|(id, tail)| {
            (
                Bytes(format!(r#"{{"data":{{"task_id":"{id}"{tail}"#).into_bytes()),
                Some(id),
            )
        }),
    ];
    fuzz("scan_task_id", input, || {
        |(Bytes(body), planted): (Bytes, Option<String>)| {
            let found = modellix::__fuzz::scan_task_id(&body);
            if let Some(id) = &found {
                prop_assert!(plausible_id(id, &body), "{id:?}");
            }
            if let Some(id) = planted {
                prop_assert_eq!(found, Some(id), "a planted id is found");
            }
            Ok(())
        }
    });
}

/// Found by `scan_task_id` above when it also planted ids after a first `"task_id"`
/// that is not a key: the scan gave up at that first occurrence instead of looking on.
#[test]
fn scan_task_id_looks_past_a_task_id_that_is_not_a_key() {
    let body = br#"{"required":["task_id"],"":1,"data":{"task_id":"task-A"}}"#;
    assert_eq!(
        modellix::__fuzz::scan_task_id(body).as_deref(),
        Some("task-A")
    );
}

/// Answers that prove the server created nothing (the API's documented list).
const REJECTING: &[u16] = &[400, 401, 402, 403, 404, 405, 413, 415, 422, 429];

fn submit_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        proptest::sample::select(vec![
            200u16, 201, 202, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 408, 409, 413,
            415, 422, 429, 500, 502, 503, 504,
        ]),
        // No 1xx, and none of the statuses whose body HTTP drops (204, 205, 304).
        (200u16..600).prop_filter("bodiless", |s| !matches!(s, 204 | 205 | 304)),
    ]
}

/// The classification of a whole submit against a server answering anything: one
/// request per call, `Ok` only for a clean success envelope, `Rejected` only for a
/// status that proves nothing was created, otherwise outcome unknown with any id seen.
#[test]
fn submit_answer_classification() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = support::request();
    // A Location pointing back at the same server (the submit path itself, or another
    // path that would accept it), elsewhere, or garbage: none may be followed.
    let location = proptest::option::of(prop_oneof![
        Just(SUBMIT.to_owned()),
        Just("/api/v1/other/model".to_owned()),
        Just("https://elsewhere.example/api?key=x".to_owned()),
        "[ -~]{0,40}",
    ]);
    let input = (
        submit_status(),
        submit_body().prop_map(Bytes),
        "(application/json|text/html|text/plain)",
        proptest::option::of(hint_value()),
        location,
    );
    fuzz("submit_classification", input, || {
        let server = MockServer::start();
        // The shared 429 pause would park later cases for the hinted time.
        let client = support::client_builder(&server)
            .shared_rate_limit(false)
            .build()
            .unwrap();
        let (runtime, request) = (&runtime, &request);
        type Case = (u16, Bytes, String, Option<String>, Option<String>);
        move |(status, Bytes(body), content_type, retry, location): Case| {
            let mut headers = vec![("content-type".to_owned(), content_type)];
            headers.extend(retry.map(|v| ("retry-after".to_owned(), v)));
            let location = location.map(|l| {
                if l.starts_with('/') {
                    format!("{}{l}", server.url())
                } else {
                    l
                }
            });
            headers.extend(location.map(|v| ("location".to_owned(), v)));
            // Were a redirect followed, the target would accept it: a second POST.
            server.default_reply("POST", SUBMIT, support::submitted("task-followed"));
            server.default_reply(
                "POST",
                "/api/v1/other/model",
                support::submitted("task-followed"),
            );
            server.script(
                "POST",
                SUBMIT,
                [Reply::Raw {
                    status,
                    headers,
                    body: body.clone(),
                }],
            );
            let before = server.request_count();
            let result = runtime.block_on(client.submit(request));
            prop_assert_eq!(server.request_count(), before + 1, "sent exactly once");

            let envelope: Option<Value> = serde_json::from_slice(&body).ok();
            let code = envelope.as_ref().and_then(|e| e.get("code"));
            let id = envelope
                .as_ref()
                .and_then(|e| e.get("data")?.get("task_id")?.as_str());
            let clean = (code.is_none() || code == Some(&json!(0)))
                && id.is_some_and(|id| plausible_id(id, &body));
            let success = (200..300).contains(&status);
            let scanned = modellix::__fuzz::scan_task_id(&body);
            match &result {
                Ok(task) => {
                    prop_assert!(success && clean);
                    prop_assert_eq!(Some(task.id()), id);
                }
                Err(e) => {
                    let text = format!("{e} {e:?}");
                    prop_assert!(!text.contains(KEY), "key leaked: {text}");
                    prop_assert!(!(success && clean), "clean success refused: {e}");
                    if !success && REJECTING.contains(&status) {
                        prop_assert!(e.is_rejected(), "{e}");
                    } else {
                        prop_assert!(e.is_outcome_unknown(), "{e}");
                        prop_assert_eq!(e.task_id(), scanned.as_deref(), "{}", e);
                    }
                }
            }
            Ok(())
        }
    });
}

// ---------------------------------------------------------------------------------
// File names

/// Name parts mixing every hazard: separators, controls, dots and dashes, reserved
/// Windows names, long runs and any Unicode.
fn name_part() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any_text(12),
        "(CON|PRN|AUX|NUL|COM1|LPT9|con|Com¹|CONIN\\$)",
        "[./\\\\:*?\"<>| _-]{0,8}",
        "[-_.]{1,140}",
        "[-_]{100,140}",
        "[a-z]{1,200}",
        "[\u{0}-\u{1f}\u{7f}\u{200b}\u{202e}\u{feff}]{1,4}",
    ];
    vec(piece, 0..4).prop_map(|p| p.concat())
}

#[test]
fn file_names_are_safe() {
    let input = (
        vec(name_part(), 0..5),
        prop_oneof![any_text(16), "[a-zA-Z0-9.]{0,16}"],
        prop_oneof![0usize..5, any::<usize>()],
    );
    fuzz("safe_file_name", input, || {
        |(parts, extension, copy): (Vec<String>, String, usize)| {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let name = safe_file_name(&refs, &extension, copy);
            prop_assert!(!name.is_empty());
            prop_assert!(name.len() <= MAX_FILE_NAME_BYTES, "{} bytes", name.len());
            prop_assert!(
                !name
                    .chars()
                    .any(|c| c.is_control() || "/\\:*?\"<>|".contains(c)),
                "{name:?}"
            );
            prop_assert!(!name.starts_with(['.', '-']), "{name:?}");
            prop_assert!(!name.contains(".."), "{name:?}");
            let (stem, ext) = name.rsplit_once('.').unwrap();
            prop_assert!(!stem.is_empty() && !stem.ends_with(['.', ' ']), "{name:?}");
            prop_assert!(
                (1..=10).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric())
            );
            let head = stem.split('.').next().unwrap();
            prop_assert!(!is_windows_device(head), "reserved name {name:?}");
            prop_assert_eq!(&name, &safe_file_name(&refs, &extension, copy));
            Ok(())
        }
    });
}

/// Windows device names, whatever the case or extension (an independent oracle, not a
/// copy of the crate's list).
fn is_windows_device(head: &str) -> bool {
    let upper = head.to_uppercase();
    matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ["COM", "LPT"].iter().any(|p| {
        upper.strip_prefix(p).is_some_and(|n| {
            n.chars().count() == 1 && n.chars().all(|c| c.is_ascii_digit() || "¹²³".contains(c))
        })
    })
}

// ---------------------------------------------------------------------------------
// Spec fragments

/// A path into a JSON document (indices taken modulo the width met) and what to do
/// there.
#[derive(Debug, Clone)]
enum Mutation {
    Remove(Vec<usize>),
    Replace(Vec<usize>, Value),
    Rename(Vec<usize>, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let path = vec(any::<usize>(), 0..7);
    prop_oneof![
        path.clone().prop_map(Mutation::Remove),
        (path.clone(), any_json()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        (
            path,
            prop_oneof![
                any_text(10),
                "(post|get|put|servers|url|type|\\$ref|operationId)"
            ]
        )
            .prop_map(|(p, k)| Mutation::Rename(p, k)),
    ]
}

/// Walks `path` down from `value`; returns the container reached and the child index.
fn walk<'v>(value: &'v mut Value, path: &[usize]) -> Option<(&'v mut Value, usize)> {
    let (&last, init) = path.split_last()?;
    let mut here = value;
    for &step in init {
        let width = match here {
            Value::Object(m) if !m.is_empty() => m.len(),
            Value::Array(a) if !a.is_empty() => a.len(),
            _ => break,
        };
        here = match here {
            Value::Object(m) => m.values_mut().nth(step % width).unwrap(),
            Value::Array(a) => &mut a[step % width],
            _ => unreachable!(),
        };
    }
    Some((here, last))
}

fn mutate(value: &mut Value, mutation: &Mutation) {
    let path = match mutation {
        Mutation::Remove(p) | Mutation::Replace(p, _) | Mutation::Rename(p, _) => p,
    };
    let Some((container, index)) = walk(value, path) else {
        if let Mutation::Replace(_, v) = mutation {
            *value = v.clone();
        }
        return;
    };
    match container {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(index % m.len()).unwrap().clone();
            match mutation {
                Mutation::Remove(_) => {
                    m.remove(&key);
                }
                Mutation::Replace(_, v) => {
                    m.insert(key, v.clone());
                }
                Mutation::Rename(_, new) => {
                    let v = m.remove(&key).unwrap();
                    m.insert(new.clone(), v);
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let at = index % a.len();
            match mutation {
                Mutation::Remove(_) => {
                    a.remove(at);
                }
                Mutation::Replace(_, v) => a[at] = v.clone(),
                Mutation::Rename(_, new) => a[at] = Value::String(new.clone()),
            }
        }
        other => {
            if let Mutation::Replace(_, v) = mutation {
                *other = v.clone();
            }
        }
    }
}

#[test]
fn fragment_loader() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec");
    let read = |rel: &str| std::fs::read_to_string(spec.join(rel)).unwrap();
    let tasks_text = read("modellix/tasks.json");
    let tasks_path = Path::new("modellix/tasks.json");
    let tasks = modellix_codegen::parse_fragment(tasks_path, &tasks_text).unwrap();
    let bases: Vec<Value> = [read("bytedance/seedance-2.0-v2v.json"), tasks_text]
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    let input = prop_oneof![
        any_text(600),
        bytes(600).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (
            0..bases.len(),
            vec(mutation(), 1..5),
            proptest::option::of(edits())
        )
            .prop_map(move |(which, mutations, edits)| {
                let mut doc = bases[which].clone();
                for m in &mutations {
                    mutate(&mut doc, m);
                }
                let text = serde_json::to_vec_pretty(&doc).unwrap();
                let text = edits.map_or(text.clone(), |e| apply_edits(text, &e));
                String::from_utf8_lossy(&text).into_owned()
            }),
    ];
    let file = Path::new("vendor/fuzzed.json");
    fuzz("parse_fragment", input, || {
        |text: String| {
            match modellix_codegen::parse_fragment(file, &text) {
                Err(e) => {
                    prop_assert_eq!(&e.file, file);
                    prop_assert!(e.to_string().starts_with("vendor/fuzzed.json: "));
                }
                Ok(fragment) => {
                    // What the build script does next must not panic either.
                    if let Err(e) = modellix_codegen::merge(&[tasks.clone(), fragment.clone()]) {
                        prop_assert!(e.file == file || e.file == tasks_path, "{e}");
                    }
                    if let Some(schema) = fragment.request_schema() {
                        let _ = modellix_codegen::emit_checks(schema);
                    }
                }
            }
            Ok(())
        }
    });
}

//! `cargo xtask fetch` and `sync` against a small HTTP server on 127.0.0.1 that each test
//! starts itself, on a temporary copy of `spec/` (the workspace's is never written).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One canned answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    /// Send `Content-Length` (else the body ends when the connection closes).
    length: bool,
    location: Option<String>,
}

fn json_reply(body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status: 200,
        content_type: "application/json",
        body: body.into(),
        length: true,
        location: None,
    }
}

/// A test server: each GET path answered from `routes` (404 otherwise); every request's
/// header lines are recorded.
struct Server {
    origin: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve(routes: HashMap<String, Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let routes = Arc::new(routes);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (routes, seen) = (routes.clone(), seen.clone());
            std::thread::spawn(move || answer(stream, &routes, &seen));
        }
    });
    Server { origin, requests }
}

fn answer(mut stream: TcpStream, routes: &HashMap<String, Reply>, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        head.push(line.trim_end().to_owned());
    }
    let path = head
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_owned();
    seen.lock().unwrap().extend(head);
    let reply = routes.get(&path).cloned().unwrap_or(Reply {
        status: 404,
        content_type: "text/plain",
        body: b"not found".to_vec(),
        length: true,
        location: None,
    });
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nConnection: close\r\n",
        reply.status, reply.content_type
    );
    if reply.length {
        out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    if let Some(location) = &reply.location {
        out.push_str(&format!("Location: {location}\r\n"));
    }
    out.push_str("\r\n");
    // The client may stop reading an oversized answer: a broken pipe is expected then.
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&reply.body);
}

fn route(model_id: &str) -> String {
    format!("/models/{model_id}/api_schema")
}

fn workspace_spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

/// A temporary copy of the workspace's `spec/`.
fn spec_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("spec");
    copy_dir(&workspace_spec(), &dest);
    (tmp, dest)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(snapshot(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// Runs `cargo xtask <args> --from <origin> --spec-dir <spec>`; with a key in the
/// environment, to show it is never sent.
fn xtask(args: &[&str], origin: &str, spec: &Path) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .args(["--from", origin, "--spec-dir"])
        .arg(spec)
        .env("MODELLIX_API_KEY", "sk-test-never-sent")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

const V2V: &str = "bytedance/seedance-2.0-v2v";
const BODY: &str = "/post/requestBody/content/application~1json/schema";

/// The vendored seedance-2.0-v2v fragment with a field added, an enum value removed and a
/// maximum changed.
fn changed_v2v() -> String {
    let text = std::fs::read_to_string(workspace_spec().join(format!("{V2V}.json"))).unwrap();
    let mut f: Value = serde_json::from_str(&text).unwrap();
    let schema = f.pointer_mut(BODY).unwrap();
    schema["properties"]["motion_strength"] =
        json!({"type": "number", "description": "How much to move."});
    let resolution = &mut schema["properties"]["resolution"]["enum"];
    resolution.as_array_mut().unwrap().retain(|v| v != "480p");
    schema["properties"]["execution_expires_after"]["maximum"] = json!(300000);
    serde_json::to_string_pretty(&f).unwrap()
}

/// Every vendored model served as vendored.
fn vendored_routes() -> HashMap<String, Reply> {
    let mut routes = HashMap::new();
    for (path, bytes) in snapshot(&workspace_spec()) {
        let rel = path
            .strip_prefix(workspace_spec())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Some(id) = rel.strip_suffix(".json") else {
            continue;
        };
        if id.ends_with(".rules") || id.starts_with("modellix/") {
            continue;
        }
        routes.insert(route(id), json_reply(bytes));
    }
    routes
}

#[test]
fn fetch_vendors_a_new_model_with_rules_and_provenance() {
    let (_tmp, spec) = spec_copy();
    let text = std::fs::read_to_string(spec.join(format!("{V2V}.json")))
        .unwrap()
        .replace("seedance-2.0-v2v", "seedance-9.9-v2v");
    let id = "bytedance/seedance-9.9-v2v";
    let server = serve(HashMap::from([(route(id), json_reply(text.clone()))]));

    let (out, log) = xtask(&["fetch", id], &server.origin, &spec);

    assert!(out.status.success(), "{log}");
    assert!(
        log.contains(&format!("{id}: new model -> spec/{id}.json")),
        "{log}"
    );
    assert!(
        log.contains("  + operation POST /api/v1/bytedance/seedance-9.9-v2v/async"),
        "{log}"
    );
    assert!(log.contains("  + field \"video_urls\" (array)"), "{log}");
    assert!(log.contains("0 error(s)"), "spec-check ran: {log}");
    assert_eq!(
        std::fs::read_to_string(spec.join(format!("{id}.json"))).unwrap(),
        text
    );
    let rules = std::fs::read_to_string(spec.join(format!("{id}.rules.json"))).unwrap();
    assert!(rules.contains("\"kind\": \"video\""), "{rules}");
    let readme = std::fs::read_to_string(spec.join("README.md")).unwrap();
    let row = format!(
        "| `{id}.json` | `{id}` | video to video | fetched from <{}{}> by `cargo xtask fetch`",
        server.origin,
        route(id)
    );
    assert!(readme.contains(&row), "{readme}");
    let requests = server
        .requests
        .lock()
        .unwrap()
        .join("\n")
        .to_ascii_lowercase();
    assert!(requests.contains("get /models/bytedance/seedance-9.9-v2v/api_schema"));
    assert!(
        !requests.contains("authorization") && !requests.contains("sk-test"),
        "{requests}"
    );
}

#[test]
fn fetch_prints_what_changed_and_vendors_it() {
    let (_tmp, spec) = spec_copy();
    let changed = changed_v2v();
    let server = serve(HashMap::from([(route(V2V), json_reply(changed.clone()))]));

    let (out, log) = xtask(&["fetch", V2V], &server.origin, &spec);

    assert!(out.status.success(), "{log}");
    for want in [
        format!("+ field \"motion_strength\" (number) at {BODY}/properties/motion_strength"),
        format!("- enum value \"480p\" at {BODY}/properties/resolution/enum"),
        format!("~ maximum 259200 -> 300000 at {BODY}/properties/execution_expires_after/maximum"),
    ] {
        assert!(log.contains(&want), "{want}\nnot in\n{log}");
    }
    assert_eq!(
        std::fs::read_to_string(spec.join(format!("{V2V}.json"))).unwrap(),
        changed
    );
    let readme = std::fs::read_to_string(spec.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!(
            "| `{V2V}.json` | `{V2V}` | video to video | fetched from <"
        )),
        "the row is replaced, its kind kept"
    );
}

#[test]
fn sync_reports_drift_and_writes_nothing_without_write() {
    let (_tmp, spec) = spec_copy();
    let mut routes = vendored_routes();
    routes.insert(route(V2V), json_reply(changed_v2v()));
    routes.remove(&route("vidu/lip-sync"));
    let server = serve(routes);
    let before = snapshot(&spec);

    let (out, log) = xtask(&["sync"], &server.origin, &spec);

    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("vidu/lip-sync: removed: the server answered 404"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "+ field \"motion_strength\" (number) at {BODY}/properties/motion_strength"
        )),
        "{log}"
    );
    assert!(log.contains("alibaba/wan2.7-i2v: unchanged"), "{log}");
    assert!(
        log.contains("18 model(s): 16 unchanged, 1 changed, 1 removed, 0 error(s)"),
        "{log}"
    );
    assert!(log.contains("drift found"), "{log}");
    assert!(
        snapshot(&spec) == before,
        "sync without --write changed files"
    );
}

#[test]
fn sync_write_vendors_the_drift_and_then_is_in_sync() {
    let (_tmp, spec) = spec_copy();
    let mut routes = vendored_routes();
    let changed = changed_v2v();
    routes.insert(route(V2V), json_reply(changed.clone()));
    // A moved submit URL (to the current path form) is drift too.
    let moved = std::fs::read_to_string(workspace_spec().join("vidu/lip-sync.json"))
        .unwrap()
        .replace("/api/v1/vidu/lip-sync/async", "/api/v1/vidu/lip-sync");
    routes.insert(route("vidu/lip-sync"), json_reply(moved.clone()));
    let server = serve(routes);

    let (out, log) = xtask(&["sync", "--write"], &server.origin, &spec);

    assert!(out.status.success(), "{log}");
    assert!(
        log.contains(
            "~ submit URL \"https://api.modellix.ai/api/v1/vidu/lip-sync/async\" -> \
             \"https://api.modellix.ai/api/v1/vidu/lip-sync\" at /servers/0/url"
        ),
        "{log}"
    );
    assert!(log.contains("0 error(s)"), "spec-check ran: {log}");
    assert_eq!(
        std::fs::read_to_string(spec.join(format!("{V2V}.json"))).unwrap(),
        changed
    );
    assert_eq!(
        std::fs::read_to_string(spec.join("vidu/lip-sync.json")).unwrap(),
        moved
    );

    let (again, log) = xtask(&["sync"], &server.origin, &spec);
    assert!(again.status.success(), "{log}");
    assert!(
        log.contains("18 model(s): 18 unchanged, 0 changed, 0 removed"),
        "{log}"
    );
}

#[test]
fn a_model_the_server_no_longer_has_is_reported_as_removed() {
    let (_tmp, spec) = spec_copy();
    let server = serve(HashMap::from([(
        route("vidu/lip-sync"),
        Reply {
            status: 410,
            ..json_reply("{}")
        },
    )]));
    let before = snapshot(&spec);

    for id in ["vidu/lip-sync", "acme/never-was"] {
        let (out, log) = xtask(&["fetch", id], &server.origin, &spec);
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert!(
            log.contains(&format!("{id}: removed: the server answered")),
            "{log}"
        );
        assert!(log.contains(&format!("not fetched: {id}")), "{log}");
    }
    assert!(snapshot(&spec) == before, "a removed model changed files");
}

#[test]
fn answers_that_are_not_fragments_are_clear_errors_and_write_nothing() {
    let (_tmp, spec) = spec_copy();
    let big = vec![b' '; 3 * 1024 * 1024];
    let mut cases: Vec<(&str, Reply, &str)> = vec![
        (
            "acme/html",
            Reply {
                content_type: "text/html",
                ..json_reply("<!doctype html><html>a page</html>")
            },
            "the answer is not a Modellix fragment (not valid JSON: expected value at line 1 column 1); it starts with \"<!doctype html>",
        ),
        (
            "acme/wrong-shape",
            json_reply("{\"openapi\": \"3.0.0\"}"),
            "the answer is not a Modellix fragment (missing \"servers\")",
        ),
        (
            "acme/big",
            json_reply(big.clone()),
            "the answer is 3145728 bytes, more than the 2097152 a fragment may have",
        ),
        (
            "acme/big-unsized",
            Reply {
                length: false,
                ..json_reply(big)
            },
            "the answer is 3145728 bytes, more than the 2097152 a fragment may have",
        ),
        (
            "acme/binary",
            json_reply(vec![0xff, 0xfe, 0x00]),
            "the answer is not UTF-8 text",
        ),
        (
            "acme/broken",
            Reply {
                status: 500,
                ..json_reply("{}")
            },
            "the server answered 500",
        ),
        (
            "acme/other-model",
            json_reply(std::fs::read(workspace_spec().join(format!("{V2V}.json"))).unwrap()),
            "the fragment is for \"bytedance/seedance-2.0-v2v\"",
        ),
    ];
    // Checks the client applies when it reads a page live apply here too.
    let mut bad_bound: Value = serde_json::from_slice(
        &std::fs::read(workspace_spec().join(format!("{V2V}.json"))).unwrap(),
    )
    .unwrap();
    bad_bound.pointer_mut(BODY).unwrap()["properties"]["prompt"]["minLength"] = json!(-1);
    let bad_bound = serde_json::to_string(&bad_bound)
        .unwrap()
        .replace("seedance-2.0-v2v", "seedance-bad-bound");
    cases.push((
        "bytedance/seedance-bad-bound",
        json_reply(bad_bound),
        "the schema page is refused as a client would: the request schema:",
    ));
    let routes: HashMap<String, Reply> = cases
        .iter()
        .map(|(id, reply, _)| (route(id), reply.clone()))
        .collect();
    let server = serve(routes);
    let before = snapshot(&spec);
    for (id, _, want) in &cases {
        let (out, log) = xtask(&["fetch", id], &server.origin, &spec);
        assert_eq!(out.status.code(), Some(1), "{id}: {log}");
        assert!(
            log.contains(&format!("{id}: error: GET {}{}", server.origin, route(id))),
            "{log}"
        );
        assert!(log.contains(want), "{id}: {want}\nnot in\n{log}");
    }
    assert!(snapshot(&spec) == before, "a refused answer changed files");
}

#[test]
fn redirects_only_within_the_host_and_only_http() {
    let (_tmp, spec) = spec_copy();
    let fragment = std::fs::read(workspace_spec().join(format!("{V2V}.json"))).unwrap();
    // Bind first so the redirect targets can name the port.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let redirect = |to: String| Reply {
        status: 302,
        location: Some(to),
        ..json_reply("")
    };
    let mut routes = HashMap::from([
        ("/elsewhere".to_owned(), json_reply(fragment.clone())),
        (route(V2V), redirect("/elsewhere".into())),
        (
            route("acme/away"),
            redirect(format!("http://localhost:{port}/elsewhere")),
        ),
        (route("acme/file"), redirect("file:///etc/passwd".into())),
    ]);
    routes.insert(route("acme/loop"), redirect(route("acme/loop")));
    let server = serve(routes);

    let (out, log) = xtask(&["fetch", V2V], &server.origin, &spec);
    assert!(
        out.status.success(),
        "a same-host redirect is followed: {log}"
    );
    assert!(log.contains(&format!("{V2V}: unchanged")), "{log}");

    for (id, want) in [
        ("acme/away", "refused a redirect to http://localhost"),
        (
            "acme/file",
            "the server answered 302 (a redirect not followed)",
        ),
        ("acme/loop", "more than 5 redirects"),
    ] {
        let (out, log) = xtask(&["fetch", id], &server.origin, &spec);
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert!(log.contains(want), "{id}: {want}\nnot in\n{log}");
    }
}

#[test]
fn bad_command_lines_are_refused_before_any_request() {
    let (_tmp, spec) = spec_copy();
    let server = serve(HashMap::new());
    for (args, want) in [
        (&["fetch", "../etc"][..], "is not a model id"),
        (&["fetch", "a/b/c"][..], "is not a model id"),
        (&["fetch"][..], "usage: cargo xtask"),
    ] {
        let (out, log) = xtask(args, &server.origin, &spec);
        assert_eq!(out.status.code(), Some(1), "{log}");
        assert!(log.contains(want), "{args:?}: {log}");
    }
    let (out, log) = xtask(&["sync"], "ftp://127.0.0.1", &spec);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains("only http:// and https://"), "{log}");
    assert!(server.requests.lock().unwrap().is_empty());
}

#[test]
fn a_fetched_fragment_that_does_not_build_is_reported_by_spec_check() {
    let (_tmp, spec) = spec_copy();
    let id = "bytedance/seedance-9.9-v2v";
    let text = std::fs::read_to_string(workspace_spec().join(format!("{V2V}.json")))
        .unwrap()
        .replace("seedance-2.0-v2v", "seedance-9.9-v2v");
    let mut f: Value = serde_json::from_str(&text).unwrap();
    // A keyword no check enforces is a warning; a string format nothing checks stops it.
    f.pointer_mut(BODY).unwrap()["properties"]["duration"]["multipleOf"] = json!(2);
    f.pointer_mut(BODY).unwrap()["properties"]["prompt"]["format"] = json!("hostname");
    let broken = serde_json::to_string(&f).unwrap();
    let server = serve(HashMap::from([(route(id), json_reply(broken.clone()))]));

    let (out, log) = xtask(&["fetch", id], &server.origin, &spec);

    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!("error: spec/{id}.json: request schema:")),
        "{log}"
    );
    assert!(log.contains("hostname"), "{log}");
    assert!(
        log.contains(&format!(
            "warning: spec/{id}.json: keyword \"multipleOf\" at "
        )),
        "{log}"
    );
    assert!(
        log.contains(
            "spec-check failed: the fetched fragment is vendored as published but does not build"
        ),
        "{log}"
    );
    // Kept as published, to be looked at (git restores the old state).
    assert_eq!(
        std::fs::read_to_string(spec.join(format!("{id}.json"))).unwrap(),
        broken
    );
}

#[test]
fn help_names_both_commands_and_their_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "fetch <provider/model>...",
        "sync [--write]",
        "--from <URL>",
        "--spec-dir <DIR>",
        "Exit 0: in",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
}

#[test]
fn sync_exits_2_when_a_model_cannot_be_fetched() {
    let (_tmp, spec) = spec_copy();
    let mut routes = vendored_routes();
    routes.insert(
        route("openai/gpt-image-2"),
        Reply {
            status: 503,
            ..json_reply("busy")
        },
    );
    let server = serve(routes);
    let before = snapshot(&spec);

    for args in [&["sync"][..], &["sync", "--write"][..]] {
        let (out, log) = xtask(args, &server.origin, &spec);
        assert_eq!(out.status.code(), Some(2), "{log}");
        assert!(log.contains("openai/gpt-image-2: error: GET"), "{log}");
        assert!(log.contains("the server answered 503"), "{log}");
        assert!(
            log.contains("17 unchanged, 0 changed, 0 removed, 1 error(s)"),
            "{log}"
        );
        assert!(log.contains("could not fetch: openai/gpt-image-2"), "{log}");
    }
    assert!(snapshot(&spec) == before);
}

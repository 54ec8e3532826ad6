//! Every command of the built binary, every exit code, `--json` on success and on each
//! kind of failure, and the help texts.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{MODEL, against, assert_code, assert_playable_mp4, json, run, text};
use modellix_sandbox::{Sandbox, Timing};
use serde_json::Value;

const PROMPT: &str = "--set=prompt=Extend [Video 1] with a slow push-in";
const VIDEO: &str = "--set=video_urls=https://example.com/in.mp4";

#[test]
fn the_readme_command_ends_with_a_playable_mp4() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let output = run(&[
        "--sandbox",
        "--sandbox-task-seconds",
        "0.3",
        "run",
        MODEL,
        PROMPT,
        VIDEO,
        "--return-last-frame",
        "--out",
        dir,
    ]);
    assert_code(&output, 0);
    let files: Vec<PathBuf> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let video = files
        .iter()
        .find(|p| p.extension().unwrap() == "mp4")
        .unwrap();
    assert!(
        text(&output).contains(&video.display().to_string()),
        "prints where"
    );
    assert_playable_mp4(video);
}

#[test]
fn json_success_answers_are_one_object() {
    let output = run(&[
        "--sandbox",
        "--json",
        "--sandbox-task-seconds",
        "0",
        "run",
        MODEL,
        PROMPT,
        VIDEO,
        "--no-download",
    ]);
    assert_code(&output, 0);
    let answer = json(&output);
    assert_eq!(answer["status"], "success");
    assert!(answer["task_id"].as_str().unwrap().starts_with("task-"));
    assert!(
        answer["urls"][0]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );

    let output = run(&[
        "--sandbox",
        "--json",
        "run",
        MODEL,
        PROMPT,
        VIDEO,
        "--no-wait",
    ]);
    assert_code(&output, 0);
    assert_eq!(json(&output)["status"], "submitted");
    let output = run(&["--sandbox", "run", MODEL, PROMPT, VIDEO, "--no-wait"]);
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .starts_with("task-")
    );
}

#[test]
fn field_flags_and_a_body_file_make_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, r#"{"prompt": "from the file", "duration": 4}"#).unwrap();
    let output = run(&[
        "--sandbox",
        "--json",
        "--sandbox-task-seconds",
        "0",
        "run",
        MODEL,
        "--body",
        &format!("@{}", body.display()),
        "--video-urls",
        "https://example.com/a.mp4",
        "--video-urls",
        "https://example.com/b.mp4",
        "--duration",
        "6",
        "--camera-fixed",
        "--no-download",
    ]);
    assert_code(&output, 0);
}

/// (arguments, exit code, error kind, text the message holds)
const FAILURES: &[(&[&str], i32, &str, &str)] = &[
    (
        &["run", MODEL, PROMPT, VIDEO],
        2,
        "bad_input",
        "MODELLIX_API_KEY is not set",
    ),
    (
        &[
            "--sandbox",
            "run",
            MODEL,
            PROMPT,
            VIDEO,
            "--set",
            "duration=3",
        ],
        2,
        "bad_input",
        "/duration: must be one of",
    ),
    (
        &[
            "--sandbox",
            "run",
            MODEL,
            PROMPT,
            VIDEO,
            "--duration",
            "three",
        ],
        2,
        "bad_input",
        "not an integer",
    ),
    (
        &[
            "--sandbox",
            "run",
            MODEL,
            PROMPT,
            VIDEO,
            "--set",
            "colour=red",
        ],
        2,
        "bad_input",
        "has no field \"colour\"",
    ),
    (
        &["--sandbox", "run", MODEL, PROMPT, VIDEO, "--timeout", "0"],
        2,
        "bad_input",
        "--timeout",
    ),
    (
        &["--sandbox", "run", "not-a-slug", PROMPT],
        2,
        "bad_input",
        "not a model id",
    ),
    (
        &["--sandbox", "run", "nobody/nothing", PROMPT],
        2,
        "bad_input",
        "no schema to check the body of nobody/nothing",
    ),
    (
        &["--sandbox", "run", "nobody/nothing", PROMPT, "--no-schema"],
        9,
        "api",
        "no task was created",
    ),
    (
        &["--sandbox", "run", MODEL, "--body", "{not json"],
        2,
        "bad_input",
        "not JSON",
    ),
    (
        &["--sandbox", "task", "get", ".."],
        2,
        "bad_input",
        "not a Modellix task id",
    ),
    (
        &[
            "--sandbox",
            "--sandbox-task-seconds",
            "0",
            "--sandbox-fail",
            "run",
            MODEL,
            PROMPT,
            VIDEO,
        ],
        1,
        "task_failed",
        "failed",
    ),
    (
        &[
            "--sandbox",
            "--sandbox-reset-submit",
            "run",
            MODEL,
            PROMPT,
            VIDEO,
        ],
        4,
        "outcome_unknown",
        "resubmit",
    ),
    (
        &[
            "--sandbox",
            "--sandbox-task-seconds",
            "30",
            "run",
            MODEL,
            PROMPT,
            VIDEO,
            "--timeout",
            "1",
        ],
        3,
        "timed_out",
        "modellix task wait task-",
    ),
    (
        &["--sandbox", "task", "get", "task-unknown"],
        9,
        "api",
        "404",
    ),
    (&["no-such-command"], 2, "bad_input", "no-such-command"),
];

#[test]
fn every_exit_code_in_prose_and_in_json() {
    for (args, code, kind, needle) in FAILURES {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(*code),
            "{args:?}: {}",
            text(&output)
        );
        assert!(
            text(&output).contains(needle),
            "{args:?}: {}",
            text(&output)
        );
        assert!(
            output.stdout.is_empty() || *code == 9,
            "{args:?}: errors go to stderr"
        );

        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let output = run(&with_json);
        assert_eq!(
            output.status.code(),
            Some(*code),
            "{with_json:?}: {}",
            text(&output)
        );
        let answer = json(&output);
        let error = answer
            .get("error")
            .unwrap_or_else(|| panic!("{with_json:?}: {answer}"));
        assert_eq!(error["kind"], *kind, "{with_json:?}: {answer}");
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{answer}"
        );
        if ["task_failed", "timed_out"].contains(kind) {
            assert!(
                error["task_id"].as_str().unwrap().starts_with("task-"),
                "{answer}"
            );
        }
        if *kind == "timed_out" {
            assert!(
                error["resume"]
                    .as_str()
                    .unwrap()
                    .starts_with("modellix task wait task-")
            );
        }
    }
}

#[test]
fn validate_sends_nothing_and_lists_violations() {
    let good = r#"{"prompt":"a","video_urls":["https://example.com/a.mp4"]}"#;
    let output = run(&["validate", MODEL, "--body", good]);
    assert_code(&output, 0);
    let output = run(&["--json", "validate", MODEL, "--body", good]);
    assert_code(&output, 0);
    assert_eq!(json(&output)["valid"], true);

    let bad = r#"{"prompt":"","video_urls":[],"duration":3}"#;
    let output = run(&["--json", "validate", MODEL, "--body", bad]);
    assert_code(&output, 2);
    let answer = json(&output);
    assert_eq!(answer["valid"], false);
    let violations = answer["violations"].as_array().unwrap();
    let pointers: Vec<&str> = violations
        .iter()
        .map(|v| v["pointer"].as_str().unwrap())
        .collect();
    assert!(
        pointers.contains(&"/duration") && pointers.contains(&"/prompt"),
        "{answer}"
    );
    for v in violations {
        assert!(v["rule"].is_string() && v["message"].is_string(), "{v}");
    }
    let output = run(&["validate", MODEL, "--body", bad]);
    assert_code(&output, 2);
    assert!(text(&output).contains("/duration: must be one of"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_commands_handle_many_ids_with_partial_results() {
    // Each task answers `pending` 5 times, then ends.
    let sandbox = Sandbox::builder()
        // Enough pending polls that the second task outlives the 1 s wait below, however
        // fast a schedule that learned from this binary's earlier tasks polls.
        .timing(Timing::Polls {
            pending: 20,
            processing: 0,
        })
        .start()
        .await
        .unwrap();
    let submit = || {
        let output = against(
            &sandbox,
            &["--json", "run", MODEL, PROMPT, VIDEO, "--no-wait"],
        );
        assert_code(&output, 0);
        json(&output)["task_id"].as_str().unwrap().to_owned()
    };
    let (done, running) = (submit(), submit());
    for _ in 0..21 {
        assert_code(&against(&sandbox, &["task", "get", &done]), 0);
    }
    let output = against(&sandbox, &["--json", "task", "get", &done, &running]);
    assert_code(&output, 0);
    let statuses: Vec<Value> = json(&output)["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].clone())
        .collect();
    assert_eq!(statuses, ["success", "pending"]);

    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let output = against(
        &sandbox,
        &[
            "--json",
            "task",
            "wait",
            &done,
            &running,
            "--timeout",
            "1",
            "--out",
            dir,
        ],
    );
    assert_code(&output, 3);
    let answer = json(&output);
    assert!(
        answer["tasks"][0]["files"][0]
            .as_str()
            .unwrap()
            .ends_with(".mp4"),
        "{answer}"
    );
    assert_eq!(answer["tasks"][1]["error"]["kind"], "timed_out", "{answer}");
    let resume = answer["error"]["resume"].as_str().unwrap();
    assert!(
        resume.contains("task wait") && resume.contains(&running) && !resume.contains(&done),
        "{resume}"
    );

    let output = against(
        &sandbox,
        &["task", "download", &done, "task-missing", "--out", dir],
    );
    assert_code(&output, 9);
    assert!(text(&output).contains("task-missing"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_key_and_api() {
    let sandbox = Sandbox::start().await.unwrap();
    let output = against(&sandbox, &["--json", "doctor"]);
    assert_code(&output, 0);
    assert_eq!(json(&output)["ok"], true);
    let output = common::modellix()
        .env("MODELLIX_API_KEY", "sk-wrong")
        .args(["--base-url", sandbox.base_url(), "doctor"])
        .output()
        .unwrap();
    assert_code(&output, 6);
    assert!(
        text(&output).contains("key is invalid"),
        "{}",
        text(&output)
    );
    assert!(
        !text(&output).contains("sk-wrong"),
        "the key is never printed"
    );
    assert_code(&run(&["doctor"]), 2);
    let output = run(&["--sandbox", "--json", "doctor"]);
    assert_code(&output, 0);
    let names: Vec<String> = json(&output)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    for name in ["ledger", "api", "key", "balance", "clock"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_sends_local_files_and_reports_their_urls() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, modellix_sandbox::SAMPLE_MP4).unwrap();
    let output = against(&sandbox, &["--json", "upload", clip.to_str().unwrap()]);
    assert_code(&output, 0);
    let files = json(&output)["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 1);
    assert!(
        files[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1")
    );
    assert_eq!(files[0]["size"], modellix_sandbox::SAMPLE_MP4.len());
    assert_eq!(sandbox.uploads().len(), 1);
    // Not a media file: refused before anything is sent.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    let output = against(&sandbox, &["--json", "upload", notes.to_str().unwrap()]);
    assert_code(&output, 2);
    assert_eq!(sandbox.uploads().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_image_goes_inline_only_where_its_media_rule_allows() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("style.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n").unwrap();
    let png = png.to_str().unwrap();
    let submit = |fields: &[&str]| {
        let mut args = vec!["--json", "run", MODEL, PROMPT];
        args.extend_from_slice(fields);
        args.push("--no-wait");
        against(&sandbox, &args)
    };
    // reference_images lists data_uri: the file goes as a data URI.
    let output = submit(&[VIDEO, "--reference-images", png]);
    assert_code(&output, 0);
    let tasks = sandbox.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].body["reference_images"],
        serde_json::json!(["data:image/png;base64,iVBORw0KGgo="])
    );
    // video_urls takes URLs only: the file is uploaded and its URL sent instead.
    let output = submit(&["--video-urls", png]);
    assert_code(&output, 0);
    let tasks = sandbox.tasks();
    assert_eq!(tasks.len(), 2);
    let sent = tasks[1].body["video_urls"][0].as_str().unwrap().to_owned();
    assert!(sent.starts_with(sandbox.base_url()), "{sent}");
    assert_eq!(sandbox.counts().uploads, 1);
    // --no-wait: the task may still read it, so the upload is kept.
    assert_eq!(sandbox.uploads().len(), 1);
}

/// `modellix run` with `--set video_urls=./clip.mp4` in the current directory.
fn run_with_local_clip(
    sandbox: &Sandbox,
    dir: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    common::modellix()
        .current_dir(dir)
        .env("MODELLIX_API_KEY", sandbox.api_key())
        .env("MODELLIX_BASE_URL", sandbox.base_url())
        .args([
            "--allow-insecure-http",
            "--allow-private-network",
            "--json",
            "run",
            MODEL,
        ])
        .args([
            "--set",
            "prompt=Extend [Video 1]",
            "--set",
            "video_urls=./clip.mp4",
        ])
        .args(["--out", "results"])
        .args(extra)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_clip_is_uploaded_for_the_task_and_deleted_once_it_ends() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(200)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clip.mp4"), modellix_sandbox::SAMPLE_MP4).unwrap();

    let output = run_with_local_clip(&sandbox, dir.path(), &[]);
    assert_code(&output, 0);
    let answer = json(&output);
    // Uploaded once, its URL sent in the body, the result saved...
    assert_eq!(sandbox.counts().uploads, 1);
    let task = sandbox.task(answer["task_id"].as_str().unwrap()).unwrap();
    let sent = task.body["video_urls"][0].as_str().unwrap();
    assert_eq!(answer["uploads"][0]["url"], sent, "{answer}");
    assert!(sent.starts_with(sandbox.base_url()), "{sent}");
    let saved = answer["files"][0].as_str().unwrap();
    assert_playable_mp4(&dir.path().join(saved));
    // ...and the upload deleted once the task ended: the sandbox keeps no file.
    assert_eq!(answer["uploads"][0]["deleted"], true, "{answer}");
    assert!(sandbox.uploads().is_empty(), "{:?}", sandbox.uploads());

    // --keep-uploads keeps it.
    let output = run_with_local_clip(&sandbox, dir.path(), &["--keep-uploads"]);
    assert_code(&output, 0);
    assert_eq!(json(&output)["uploads"][0]["deleted"], false);
    assert_eq!(sandbox.counts().uploads, 2);
    assert_eq!(sandbox.uploads().len(), 1);

    // A body that breaks a rule is refused before anything is uploaded.
    let output = run_with_local_clip(&sandbox, dir.path(), &["--set", "duration=3"]);
    assert_code(&output, 2);
    assert_eq!(sandbox.counts().uploads, 2);

    // A missing file is named, and nothing is sent.
    std::fs::remove_file(dir.path().join("clip.mp4")).unwrap();
    let output = run_with_local_clip(&sandbox, dir.path(), &[]);
    assert_code(&output, 2);
    assert!(text(&output).contains("clip.mp4"), "{}", text(&output));
    assert_eq!(sandbox.counts().submits(), 2);
}

#[test]
fn the_sandbox_run_with_a_local_clip_saves_its_result() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clip.mp4"), modellix_sandbox::SAMPLE_MP4).unwrap();
    let output = common::modellix()
        .current_dir(dir.path())
        .args([
            "--json",
            "--sandbox",
            "--sandbox-task-seconds",
            "0.2",
            "run",
            MODEL,
        ])
        .args([
            "--set",
            "prompt=Extend [Video 1]",
            "--set",
            "video_urls=./clip.mp4",
        ])
        .output()
        .unwrap();
    assert_code(&output, 0);
    let answer = json(&output);
    assert_eq!(answer["uploads"][0]["deleted"], true, "{answer}");
    assert_playable_mp4(&dir.path().join(answer["files"][0].as_str().unwrap()));
}

#[test]
fn models_lists_and_filters_the_table() {
    let output = run(&["--json", "models"]);
    assert_code(&output, 0);
    let answer = json(&output);
    let slugs: Vec<&str> = answer["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["slug"].as_str().unwrap())
        .collect();
    assert!(slugs.contains(&MODEL), "{answer}");
    let output = run(&[
        "--json",
        "models",
        "--type",
        "video-to-video",
        "--provider",
        "bytedance",
        "--search",
        "seedance",
    ]);
    assert_eq!(json(&output)["models"][0]["slug"], MODEL);
    let output = run(&["--json", "models", "--provider", "nobody"]);
    assert_eq!(json(&output)["models"].as_array().unwrap().len(), 0);
    assert!(String::from_utf8_lossy(&run(&["models"]).stdout).contains(MODEL));
}

/// With a key, `--type` filters Modellix's catalog by its entries' own type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_with_a_key_filter_the_catalog_by_type() {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let of_type = |kind: &str| {
        let output = against(&sandbox, &["--json", "models", "--type", kind]);
        assert_code(&output, 0);
        let answer = json(&output);
        assert_eq!(answer["source"], "catalog", "{answer}");
        let models = answer["models"].as_array().unwrap().clone();
        assert!(models.iter().all(|m| m["type"] == kind), "{answer}");
        models
            .iter()
            .map(|m| m["slug"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(of_type("video-to-video").contains(&MODEL.to_owned()));
    assert!(!of_type("text-to-image").contains(&MODEL.to_owned()));
    assert!(of_type("no-such-type").is_empty());
}

#[test]
fn the_sandbox_command_prints_its_url_and_actual_key() {
    use std::io::BufRead;
    let mut child = common::modellix()
        .args(["--json", "sandbox", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let answer: Value = serde_json::from_str(&line).unwrap();
    let (url, key) = (
        answer["base_url"].as_str().unwrap(),
        answer["api_key"].as_str().unwrap(),
    );
    assert_eq!(key, modellix_sandbox::DEFAULT_API_KEY);
    let output = common::modellix()
        .env("MODELLIX_API_KEY", key)
        .args(["--base-url", url, "--json", "doctor"])
        .output()
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert_code(&output, 0);
}

#[test]
fn help_texts_have_examples_exit_codes_and_environment() {
    let root = text(&run(&["--help"]));
    for needle in [
        "Examples:",
        "Exit codes",
        "3  timed_out",
        "Environment variables:",
        "MODELLIX_LEDGER",
    ] {
        assert!(root.contains(needle), "{needle}: {root}");
    }
    for command in [
        &["run", "--help"][..],
        &["validate", "--help"],
        &["batch", "--help"],
        &["models", "--help"],
        &["doctor", "--help"],
        &["history", "--help"],
        &["recover", "--help"],
        &["sandbox", "--help"],
        &["completions", "--help"],
        &["task", "get", "--help"],
        &["task", "wait", "--help"],
        &["task", "download", "--help"],
    ] {
        let output = run(command);
        assert_code(&output, 0);
        assert!(
            text(&output).contains("Examples:"),
            "{command:?}: {}",
            text(&output)
        );
    }
    let model_help = text(&run(&["run", MODEL, "--help"]));
    for needle in [
        "--duration <INT>",
        "Allowed: 4, 5, 6",
        "Default: 5",
        "--video-urls",
        "Range: 3600",
    ] {
        assert!(model_help.contains(needle), "{needle}: {model_help}");
    }
    let version = text(&run(&["--version"]));
    assert_eq!(
        version.trim(),
        format!("modellix {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = run(&["completions", shell]);
        assert_code(&output, 0);
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("modellix"),
            "{shell}"
        );
    }
    assert_code(&run(&["completions", "tcsh"]), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_stays_off_a_pipe() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(300)))
        .start()
        .await
        .unwrap();
    let output = against(&sandbox, &["run", MODEL, PROMPT, VIDEO, "--no-download"]);
    assert_code(&output, 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
}

/// A fake Modellix on 127.0.0.1: each request gets `answer(method, path)` as
/// (status, JSON body), then the connection closes. Returns its base URL.
async fn fake_api(answer: fn(&str, &str) -> (u16, String)) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&got[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while got.len() < head_end + length {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                let mut words = head.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let (status, body) = answer(method, path);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

const ECHOED_KEY: &str = "sk-echo-0123456789abcdef";

/// The binary against a fake API with the key [`ECHOED_KEY`].
fn against_fake(url: &str, args: &[&str]) -> std::process::Output {
    common::modellix()
        .env("MODELLIX_API_KEY", ECHOED_KEY)
        .env("MODELLIX_BASE_URL", url)
        .args(args)
        .output()
        .unwrap()
}

fn submitted() -> (u16, String) {
    (
        200,
        format!(
            r#"{{"code":0,"message":"success","data":{{"status":"pending","task_id":"task-fake1","model_id":"{MODEL}"}}}}"#
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_that_echoes_the_key_never_shows_it() {
    let url = fake_api(|method, _| match method {
        "POST" => submitted(),
        _ => (
            200,
            format!(
                r#"{{"code":0,"message":"success","data":{{"status":"failed","task_id":"task-fake1",
                "error":{{"code":"auth","message":"upstream refused key {ECHOED_KEY} (Bearer {ECHOED_KEY})"}}}}}}"#
            ),
        ),
    })
    .await;
    for json_flag in [false, true] {
        let mut args = vec!["run", MODEL, PROMPT, VIDEO];
        if json_flag {
            args.insert(0, "--json");
        }
        let output = against_fake(&url, &args);
        assert_code(&output, 1);
        assert!(
            text(&output).contains("upstream refused key <redacted>"),
            "{}",
            text(&output)
        );
        assert!(
            !text(&output).contains("0123456789abcdef"),
            "{}",
            text(&output)
        );
    }
    for args in [
        &["--json", "task", "get", "task-fake1"][..],
        &["task", "get", "task-fake1"],
        &["--json", "task", "wait", "task-fake1"],
    ] {
        let output = against_fake(&url, args);
        assert!(
            !text(&output).contains("0123456789abcdef"),
            "{args:?}: {}",
            text(&output)
        );
    }
    let output = against_fake(&url, &["--json", "task", "get", "task-fake1"]);
    assert_code(&output, 0);
    assert_eq!(
        json(&output)["tasks"][0]["error"]["message"],
        "upstream refused key <redacted> (Bearer <redacted>)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_without_result_files_is_not_saved() {
    let url = fake_api(|method, _| match method {
        "POST" => submitted(),
        _ => (
            200,
            r#"{"code":0,"message":"success","data":{"status":"success","task_id":"task-fake1","result":{"resources":[]}}}"#
                .to_owned(),
        ),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let output = against_fake(&url, &["--json", "run", MODEL, PROMPT, VIDEO, "--out", out]);
    assert_code(&output, 1);
    let error = &json(&output)["error"];
    assert_eq!(error["kind"], "no_result", "{error}");
    assert_eq!(error["task_id"], "task-fake1", "{error}");
    let output = against_fake(&url, &["run", MODEL, PROMPT, VIDEO, "--out", out]);
    assert_code(&output, 1);
    assert!(!text(&output).contains("saved "), "{}", text(&output));
    assert!(text(&output).contains("task-fake1"), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_failure_has_its_own_kind_and_exit_code() {
    let refused = fake_api(|_, _| {
        (
            401,
            r#"{"code":401,"message":"Unauthorized: invalid API key"}"#.to_owned(),
        )
    })
    .await;
    let busy = fake_api(|_, _| {
        (
            429,
            r#"{"code":429,"message":"Concurrent limit exceeded: 3 tasks running"}"#.to_owned(),
        )
    })
    .await;
    let broken = fake_api(|_, _| {
        (
            400,
            r#"{"code":400,"message":"Bad Request: no such model"}"#.to_owned(),
        )
    })
    .await;
    // A port nothing listens on: the connection is refused before anything is sent.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let cases = [
        (&refused, 6, "auth"),
        (&busy, 7, "rate_limited"),
        (&closed, 8, "network"),
        (&broken, 9, "api"),
    ];
    let mut codes = Vec::new();
    for (url, code, kind) in cases {
        let output = against_fake(url, &["--json", "run", MODEL, PROMPT, VIDEO]);
        assert_code(&output, code);
        assert_eq!(json(&output)["error"]["kind"], kind, "{}", text(&output));
        codes.push(code);
    }
    // Each is listed in the help, under its code.
    let help = text(&run(&["--help"]));
    for (_, code, kind) in cases {
        assert!(
            help.contains(&format!("  {code}  {kind}")),
            "{code} {kind}: {help}"
        );
    }
}

/// The README's "sandbox as a server" flow: with the API origin set explicitly, its own
/// result links (plain http on loopback) download with no extra flag; links elsewhere
/// are still refused, naming the flag that allows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_from_the_api_origin_the_user_set_download_without_flags() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_millis(100)))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let with_origin = |origin: &str| {
        common::modellix()
            .env("MODELLIX_API_KEY", sandbox.api_key())
            .env("MODELLIX_BASE_URL", origin)
            .args(["--json", "run", MODEL, PROMPT, VIDEO, "--out", out])
            .output()
            .unwrap()
    };
    let output = with_origin(sandbox.base_url());
    assert_code(&output, 0);
    let saved = json(&output)["files"][0].as_str().unwrap().to_owned();
    assert_playable_mp4(std::path::Path::new(&saved));

    // The same server named `localhost`: its links on 127.0.0.1 are another origin.
    let port = sandbox.addr().port();
    let output = with_origin(&format!("http://localhost:{port}"));
    assert_code(&output, 5);
    let message = json(&output)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("--allow-insecure-http"), "{message}");
    assert!(!message.contains("DownloadOptions"), "{message}");
}

/// What a shell user reads names shell commands, never the library's Rust.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hints_for_a_shell_user_are_shell_commands() {
    // A submit answer cut short that still names its task: the outcome is unknown.
    let url = fake_api(|_, _| {
        (
            200,
            r#"{"code":0,"message":"success","data":{"task_id":"task-fake1","status":"pen"#
                .to_owned(),
        )
    })
    .await;
    let output = against_fake(&url, &["--json", "run", MODEL, PROMPT, VIDEO]);
    assert_code(&output, 4);
    let message = json(&output)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("modellix task get task-fake1"),
        "{message}"
    );
    assert!(!message.contains("client."), "{message}");

    let bad_image = r#"{"prompt":"x [Video 1] [Image 1]","video_urls":["https://a.b/c.mp4"],"reference_images":["notbase64!"]}"#;
    for args in [
        &["validate", MODEL, "--body", bad_image][..],
        &["--json", "validate", MODEL, "--body", bad_image],
        &["--sandbox", "run", MODEL, "--body", bad_image],
    ] {
        let output = run(args);
        assert_code(&output, 2);
        assert!(
            text(&output).contains("./image.png"),
            "{args:?}: {}",
            text(&output)
        );
        assert!(
            !text(&output).contains("modellix::"),
            "{args:?}: {}",
            text(&output)
        );
    }
}

/// `run --json` and `task wait --json` say what the task cost, exactly as Modellix
/// billed it, and until when its result links work; people see the cost too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_task_wait_print_the_cost() {
    let output = run(&[
        "--sandbox",
        "--json",
        "--sandbox-task-seconds",
        "0",
        "run",
        MODEL,
        PROMPT,
        VIDEO,
        "--set=duration=10",
        "--no-download",
    ]);
    assert_code(&output, 0);
    let answer = json(&output);
    // The sandbox bills Seedance 2.0 V2V $0.0480 a second.
    assert_eq!(answer["cost"], "0.4800", "{answer}");
    assert_eq!(answer["billing_status"], "succeeded", "{answer}");
    assert!(
        answer["result_expires_at"].as_str().unwrap().ends_with('Z'),
        "{answer}"
    );

    let sandbox = Sandbox::start().await.unwrap();
    let submitted = json(&against(
        &sandbox,
        &["--json", "run", MODEL, PROMPT, VIDEO, "--no-wait"],
    ));
    let id = submitted["task_id"].as_str().unwrap().to_owned();
    let output = against(&sandbox, &["--json", "task", "wait", &id, "--no-download"]);
    assert_code(&output, 0);
    let answer = json(&output);
    assert_eq!(answer["tasks"][0]["cost"], "0.2400", "{answer}");
    let output = against(&sandbox, &["task", "wait", &id, "--no-download"]);
    assert_code(&output, 0);
    assert!(
        text(&output).contains(&format!("{id} cost $0.2400")),
        "{}",
        text(&output)
    );
}

//! The main command, `cargo run --example v2v -- --sandbox`, as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The example binary cargo built for this test run.
fn v2v() -> Command {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let exe = path
        .join("examples")
        .join(format!("v2v{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.exists(),
        "{} not built: run through `cargo test`",
        exe.display()
    );
    let mut command = Command::new(exe);
    command
        .env_remove("MODELLIX_API_KEY")
        .env_remove("MODELLIX_BASE_URL");
    command
}

fn run(args: &[&str]) -> Output {
    v2v().args(args).output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_sandbox_flow_ends_with_a_playable_mp4() {
    let out = tempfile::tempdir().unwrap();
    let output = run(&[
        "--sandbox",
        "--sandbox-task-seconds",
        "0.3",
        "--return-last-frame",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
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
        "prints where the video is"
    );
    let bytes = std::fs::read(video).unwrap();
    let size = bytes.len() as u64;
    let mp4 = mp4::Mp4Reader::read_header(std::io::Cursor::new(bytes), size).unwrap();
    let track = mp4.tracks().values().next().unwrap();
    assert_eq!(track.track_type().unwrap(), mp4::TrackType::Video);
    assert!(track.width() > 0 && mp4.duration().as_millis() > 0);
}

#[test]
fn json_output_and_no_download_print_the_urls() {
    let output = run(&[
        "--sandbox",
        "--sandbox-task-seconds",
        "0",
        "--json",
        "--no-download",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["status"], "success");
    assert!(answer["task_id"].as_str().unwrap().starts_with("task-"));
    assert!(
        answer["urls"][0]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

#[test]
fn no_wait_prints_the_task_id() {
    let output = run(&["--sandbox", "--no-wait"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .starts_with("task-")
    );
}

#[test]
fn exit_codes_tell_endings_apart() {
    let table: &[(&[&str], i32, &str)] = &[
        (
            &["--prompt", "x", "--video", "https://example.com/a.mp4"],
            2,
            "MODELLIX_API_KEY is not set",
        ),
        (
            &["--sandbox", "--duration", "3"],
            2,
            "/duration: must be one of",
        ),
        (
            &[
                "--sandbox",
                "--prompt",
                "[Image 2]",
                "--video",
                "https://example.com/a.mp4",
            ],
            2,
            "[Image 2]",
        ),
        (&["--sandbox", "--resolution", "4k"], 2, "--resolution"),
        (
            &["--sandbox", "--resume", ".."],
            2,
            "not a Modellix task id",
        ),
        (
            &["--sandbox", "--image", "/no/such/file.png"],
            2,
            "/no/such/file.png",
        ),
        (&["--sandbox", "--resume", "task-unknown"], 5, "404"),
        (
            &["--sandbox", "--sandbox-task-seconds", "0", "--sandbox-fail"],
            1,
            "failed",
        ),
        (
            &["--sandbox", "--sandbox-reset-submit"],
            4,
            "Do not resubmit",
        ),
        (
            &[
                "--sandbox",
                "--sandbox-task-seconds",
                "30",
                "--timeout",
                "1",
            ],
            3,
            "resume with the task id",
        ),
    ];
    for (args, code, message) in table {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(*code),
            "{args:?}: {}",
            text(&output)
        );
        assert!(
            text(&output).contains(message),
            "{args:?}: {}",
            text(&output)
        );
    }
}

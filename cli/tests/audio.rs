//! Audio models end to end: text to speech and voice cloning save an MP3, speech to
//! text saves its transcript, all against the sandbox on 127.0.0.1.

mod common;

use std::path::{Path, PathBuf};

use common::{against, assert_code, json, run, text};
use modellix_sandbox::{Sandbox, Timing};

const TTS: &str = "alibaba/qwen-audio-3.0-tts-plus";
const CLONE: &str = "alibaba/cosyvoice-clone";
const STT: &str = "openai/whisper-1";
const AUDIO_URL: &str = "https://example.com/speech.mp3";

/// The files in `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// True when `bytes` start like an MP3: an ID3v2 tag, or an MPEG audio frame header
/// (11 sync bits, then a version that is not reserved and a layer).
fn starts_like_mp3(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ID3")
        || matches!(bytes, [0xff, b1, ..] if b1 & 0xe0 == 0xe0 && (b1 >> 3) & 0b11 != 0b01 && (b1 >> 1) & 0b11 != 0)
}

#[test]
fn text_to_speech_saves_an_mp3() {
    let out = tempfile::tempdir().unwrap();
    let output = run(&[
        "--sandbox",
        "--json",
        "--sandbox-task-seconds",
        "0.2",
        "run",
        TTS,
        "--set",
        "text=Hello from a test.",
        "--set",
        "voice=Cherry",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_code(&output, 0);
    let answer = json(&output);
    let saved = files(out.path());
    assert_eq!(saved.len(), 1, "{saved:?}");
    let mp3 = &saved[0];
    assert_eq!(mp3.extension().unwrap(), "mp3", "{}", mp3.display());
    assert_eq!(answer["files"][0], mp3.display().to_string());
    let bytes = std::fs::read(mp3).unwrap();
    assert!(bytes.len() > 1000, "{} bytes", bytes.len());
    assert!(starts_like_mp3(&bytes), "{:02x?}", &bytes[..8]);
}

#[test]
fn speech_to_text_saves_its_transcript() {
    let out = tempfile::tempdir().unwrap();
    let output = run(&[
        "--sandbox",
        "--sandbox-task-seconds",
        "0.2",
        "run",
        STT,
        "--set",
        &format!("url={AUDIO_URL}"),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_code(&output, 0);
    let saved = files(out.path());
    assert_eq!(saved.len(), 1, "{saved:?}");
    let transcript = &saved[0];
    assert_eq!(transcript.extension().unwrap(), "txt");
    assert!(text(&output).contains(&transcript.display().to_string()));
    let words = std::fs::read_to_string(transcript).unwrap();
    assert!(!words.trim().is_empty());
    assert_eq!(words, modellix_sandbox::transcript(Some(AUDIO_URL)));
}

#[test]
fn a_transcript_is_printed_with_no_download() {
    let output = run(&[
        "--sandbox",
        "--json",
        "--sandbox-task-seconds",
        "0",
        "run",
        STT,
        "--url",
        AUDIO_URL,
        "--no-download",
    ]);
    assert_code(&output, 0);
    let answer = json(&output);
    assert_eq!(answer["urls"], serde_json::json!([]));
    assert_eq!(
        answer["texts"][0],
        modellix_sandbox::transcript(Some(AUDIO_URL))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_clone_sends_its_model_field_and_saves_an_mp3() {
    let sandbox = Sandbox::builder()
        .timing(Timing::Instant)
        .start()
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    // `model` is a field of the body, given as a flag and as --set alike.
    for model in [["--model", "cosyvoice-v2"], ["--set", "model=cosyvoice-v2"]] {
        let output = against(
            &sandbox,
            &[
                "--json",
                "run",
                CLONE,
                model[0],
                model[1],
                "--url",
                AUDIO_URL,
                "--text",
                "Say it in my voice.",
                "--out",
                out.path().to_str().unwrap(),
            ],
        );
        assert_code(&output, 0);
    }
    let tasks = sandbox.tasks();
    assert_eq!(tasks.len(), 2);
    for task in &tasks {
        assert_eq!(task.model_id, CLONE);
        assert_eq!(task.body["model"], "cosyvoice-v2");
        assert_eq!(task.body["url"], AUDIO_URL);
    }
    let saved = files(out.path());
    assert_eq!(saved.len(), 2, "{saved:?}");
    for file in saved {
        assert_eq!(file.extension().unwrap(), "mp3");
        assert!(starts_like_mp3(&std::fs::read(&file).unwrap()));
    }
}

#[test]
fn a_text_to_speech_request_without_its_voice_is_refused_before_sending() {
    let output = run(&["--sandbox", "--json", "run", TTS, "--text", "Hello."]);
    assert_code(&output, 2);
    assert!(text(&output).contains("voice"), "{}", text(&output));
}

#[test]
fn the_audio_models_are_listed_with_their_types() {
    let output = run(&["--sandbox", "--json", "models", "--type", "speech-to-text"]);
    assert_code(&output, 0);
    let listing = text(&output);
    assert!(listing.contains(STT), "{listing}");
    assert!(!listing.contains(TTS), "{listing}");
}

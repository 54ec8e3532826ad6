//! `modellix auth login|status|logout` and `--profile`/`MODELLIX_PROFILE` against a
//! sandbox on 127.0.0.1: a refused key stores nothing, a stored key runs commands
//! without MODELLIX_API_KEY, and the key appears in no output and no file but the 0600
//! store.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{MODEL, assert_code, json, text};
use modellix_sandbox::{Sandbox, Timing};

const GOOD_KEY: &str = "sk-profile-test-7f3c9a1e5b";
const BAD_KEY: &str = "sk-profile-wrong-2d8e4b6a0c";

/// A private configuration and data directory for one test, and every output seen.
struct Home {
    dir: tempfile::TempDir,
    outputs: Vec<Output>,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            outputs: Vec::new(),
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn store(&self) -> PathBuf {
        self.config().join("modellix").join("credentials.json")
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_modellix"));
        command
            .env_remove("MODELLIX_API_KEY")
            .env_remove("MODELLIX_BASE_URL")
            .env_remove("MODELLIX_PROFILE")
            .env_remove("MODELLIX_LEDGER")
            .env("XDG_CONFIG_HOME", self.config())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("HOME", self.dir.path().join("home"))
            .stdin(Stdio::null());
        command
    }

    /// Runs `args`, with `stdin` piped when given; keeps the output for the scan.
    fn run(&mut self, env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command();
        command.envs(env.iter().copied()).args(args);
        let output = match stdin {
            None => command.output().unwrap(),
            Some(input) => {
                let mut child = command
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
        };
        self.outputs.push(output.clone());
        output
    }

    fn login(&mut self, sandbox: &Sandbox, profile: &str, key: &str) -> Output {
        self.run(
            &[],
            &[
                "--json",
                "--profile",
                profile,
                "--base-url",
                sandbox.base_url(),
                "auth",
                "login",
                "--with-token",
            ],
            Some(&format!("{key}\n")),
        )
    }

    /// Every file under the configuration and data directories.
    fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.dir.path(), &mut found);
        found
    }

    /// The key is in no output seen and in no file but the store, whose mode is 0600.
    fn assert_key_only_in_store(&self, key: &str) {
        for output in &self.outputs {
            assert!(
                !text(output).contains(key),
                "the key was printed: {}",
                text(output)
            );
        }
        for path in self.files() {
            let bytes = std::fs::read(&path).unwrap();
            let holds = bytes.windows(key.len()).any(|w| w == key.as_bytes());
            if path == self.store() {
                assert!(holds, "the store lacks the key");
                assert_private(&path);
            } else {
                assert!(!holds, "{} holds the key", path.display());
            }
        }
    }
}

#[cfg(unix)]
fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(path), 0o600, "{}", path.display());
    assert_eq!(mode(path.parent().unwrap()), 0o700);
}

#[cfg(not(unix))]
fn assert_private(_path: &Path) {}

fn submits(sandbox: &Sandbox) -> u64 {
    sandbox.counts().submit.values().sum()
}

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .api_key(GOOD_KEY)
        .timing(Timing::Fixed(std::time::Duration::ZERO))
        .start()
        .await
        .unwrap()
}

const RUN: &[&str] = &[
    "--allow-insecure-http",
    "--allow-private-network",
    "--json",
    "run",
    MODEL,
    "--set=prompt=Extend [Video 1] with a slow push-in",
    "--set=video_urls=https://example.com/in.mp4",
    "--no-download",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_stores_nothing_and_a_good_one_runs_without_the_environment() {
    let sandbox = sandbox().await;
    let mut home = Home::new();

    // A wrong key: refused by the free validation, exit 6, nothing stored at all.
    let output = home.login(&sandbox, "default", BAD_KEY);
    assert_code(&output, 6);
    assert!(
        text(&output).contains("nothing was stored"),
        "{}",
        text(&output)
    );
    assert!(home.files().is_empty(), "{:?}", home.files());
    let output = home.run(&[], RUN, None);
    assert_code(&output, 2);
    assert!(
        text(&output).contains("modellix auth login"),
        "{}",
        text(&output)
    );

    // The good key, with the sandbox's origin, stored in the 0600 file.
    let output = home.login(&sandbox, "default", GOOD_KEY);
    assert_code(&output, 0);
    let answer = json(&output);
    assert_eq!(answer["profile"], "default");
    assert_eq!(answer["store"]["kind"], "file");
    assert!(home.store().exists());

    // No MODELLIX_API_KEY, no --base-url: the profile gives both.
    let output = home.run(&[], RUN, None);
    assert_code(&output, 0);
    assert_eq!(json(&output)["status"], "success", "{}", text(&output));
    assert_eq!(submits(&sandbox), 1);

    // status says where the key is kept, never the key.
    let output = home.run(&[], &["--json", "auth", "status"], None);
    assert_code(&output, 0);
    let status = json(&output);
    assert_eq!(status["key_set"], true);
    assert_eq!(status["origin"], sandbox.base_url());
    assert!(
        status["key"].as_str().unwrap().contains("credentials.json"),
        "{status}"
    );
    let output = home.run(&[], &["auth", "status"], None);
    assert_code(&output, 0);
    assert!(
        text(&output).contains("key       set, stored in the file"),
        "{}",
        text(&output)
    );

    // doctor works from the profile too.
    let output = home.run(&[], &["doctor"], None);
    assert!(
        text(&output).contains("profile `default`"),
        "{}",
        text(&output)
    );

    // The environment's key wins over the profile (and replaces its origin: the
    // environment gives that too): a wrong one is refused (exit 6).
    let env = [
        ("MODELLIX_API_KEY", BAD_KEY),
        ("MODELLIX_BASE_URL", sandbox.base_url()),
    ];
    assert_code(&home.run(&env, RUN, None), 6);

    home.assert_key_only_in_store(GOOD_KEY);

    // logout removes the profile (the file with it, being the last one).
    let output = home.run(&[], &["auth", "logout"], None);
    assert_code(&output, 0);
    assert!(!home.store().exists());
    let output = home.run(&[], &["--json", "auth", "status"], None);
    assert_code(&output, 6);
    assert_eq!(json(&output)["key_set"], false);
    let output = home.run(&[], RUN, None);
    assert_code(&output, 2);
    home.assert_key_only_in_store(GOOD_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn named_profiles_come_from_the_flag_or_the_environment() {
    let sandbox = sandbox().await;
    let mut home = Home::new();
    assert_code(&home.login(&sandbox, "work", GOOD_KEY), 0);

    // The default profile has nothing; `work` is picked by flag or MODELLIX_PROFILE.
    let output = home.run(&[], RUN, None);
    assert_code(&output, 2);
    let mut with_flag = vec!["--profile", "work"];
    with_flag.extend_from_slice(RUN);
    assert_code(&home.run(&[], &with_flag, None), 0);
    assert_code(&home.run(&[("MODELLIX_PROFILE", "work")], RUN, None), 0);
    // The flag beats the environment.
    let mut other = vec!["--profile", "default"];
    other.extend_from_slice(RUN);
    assert_code(&home.run(&[("MODELLIX_PROFILE", "work")], &other, None), 2);
    // --base-url beats the profile's origin (here: nothing listens there).
    let mut elsewhere = vec!["--profile", "work", "--base-url", "http://127.0.0.1:9"];
    elsewhere.extend_from_slice(RUN);
    assert_ne!(home.run(&[], &elsewhere, None).status.code(), Some(0));

    // A bad profile name is refused by name, before anything is read or sent.
    let output = home.run(&[], &["--profile", "../x", "auth", "status"], None);
    assert_code(&output, 2);
    assert!(text(&output).contains("profile name"), "{}", text(&output));

    // Empty stdin stores nothing; the store still holds only `work`.
    let output = home.run(
        &[],
        &[
            "--profile",
            "empty",
            "--base-url",
            sandbox.base_url(),
            "auth",
            "login",
            "--with-token",
        ],
        Some("\n"),
    );
    assert_code(&output, 2);
    let output = home.run(
        &[],
        &["--json", "--profile", "work", "auth", "status"],
        None,
    );
    assert_eq!(json(&output)["profiles"], serde_json::json!(["work"]));
    assert_eq!(submits(&sandbox), 2);
    home.assert_key_only_in_store(GOOD_KEY);
}

//! What every command that talks to Modellix shares: the client (against Modellix,
//! `--base-url` or an in-process sandbox), the downloader and the resume hint.

use std::time::Duration;

use modellix::{
    ApiKey, Client, ClientBuilder, Credentials, DownloadOptions, Downloader, WaitOptions,
};
use modellix_sandbox::{Failures, Fault, FaultPlan, Route, Sandbox, Timing};
use serde_json::Value;

use crate::args::Global;
use crate::failure::{Failure, Outcome};

/// How the library paces a session's requests (every request of the client: submits,
/// polls, downloads of the API's answers).
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Requests a minute assumed until the server's headers say (`None`: no pacing,
    /// only the client-wide pause after a 429).
    pub per_minute: Option<u32>,
    /// The length of the server's minute (`None`: a real one, or the in-process
    /// sandbox's scaled one).
    pub window: Option<Duration>,
    /// Whether a 429 or an exhausted budget pauses every request of the client
    /// (false only to measure what the limiter prevents).
    pub shared: bool,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            per_minute: Some(modellix::DEFAULT_REQUESTS_PER_MINUTE),
            window: None,
            shared: true,
        }
    }
}

/// A connected client; keeps the in-process sandbox alive as long as it lives.
pub struct Session {
    pub client: Client,
    pub global: Global,
    /// Only to take it out of server text before it is shown ([`Session::redact`]).
    key: ApiKey,
    // Dropped last: the sandbox outlives every request of the client.
    sandbox: Option<Sandbox>,
}

impl Session {
    /// Starts the sandbox when asked, then builds the client; the library paces its
    /// requests at Modellix's 100 a minute (adjusted by the server's headers).
    pub async fn open(global: &Global, wait: WaitOptions) -> Outcome<Session> {
        Self::open_paced(global, wait, Pacing::default()).await
    }

    /// [`Session::open`] with the library's pacing set.
    pub async fn open_paced(
        global: &Global,
        wait: WaitOptions,
        pacing: Pacing,
    ) -> Outcome<Session> {
        Self::open_with(global, wait, pacing, Ok).await
    }

    /// [`Session::open_paced`], with `setup` given the last word on the client (its
    /// ledger, its poll schedule).
    pub async fn open_with(
        global: &Global,
        wait: WaitOptions,
        pacing: Pacing,
        setup: impl FnOnce(ClientBuilder) -> Outcome<ClientBuilder>,
    ) -> Outcome<Session> {
        let sandbox = if global.sandbox {
            Some(start_sandbox(global).await?)
        } else {
            None
        };
        let mut builder = Client::builder()
            .user_agent_suffix(concat!("modellix-cli/", env!("CARGO_PKG_VERSION")))
            .wait_options(wait)
            .requests_per_minute(pacing.per_minute)
            .shared_rate_limit(pacing.shared);
        // The in-process sandbox's minute is scaled: so is the window its headers
        // speak of, unless the caller says otherwise.
        let scale = global.sandbox_options.sandbox_time_scale;
        let sandbox_window = (global.sandbox && scale.is_finite() && scale > 0.0)
            .then(|| Duration::from_secs_f64((60.0 * scale).min(86_400.0)));
        if let Some(window) = pacing.window.or(sandbox_window) {
            builder = builder.rate_limit_window(window);
        }
        // The sandbox's tasks never reach the durable ledger unless --ledger says so.
        builder = match crate::ledger_path(global) {
            Some(path) => builder.ledger_path(path),
            None => builder.memory_ledger(),
        };
        let key = match &sandbox {
            Some(s) => {
                // The sandbox serves the schema pages too; nothing to cache.
                builder = builder
                    .base_url(s.base_url())
                    .schema_url(s.base_url())
                    .schema_cache_dir(None::<std::path::PathBuf>);
                ApiKey::new(s.api_key())
            }
            None => {
                let credentials = credentials(global)?;
                builder = builder.credentials(&credentials);
                credentials.api_key
            }
        };
        let builder = setup(builder)?;
        Ok(Session {
            client: builder.api_key(key.expose()).build()?,
            global: global.clone(),
            key,
            sandbox,
        })
    }

    /// A session for reading schema pages: as [`Session::open`] with `--sandbox` or a
    /// key, else a client with a stand-in key, since schema pages are read without the
    /// key (nothing else may be sent through this session).
    pub async fn for_schema_pages(global: &Global) -> Outcome<Session> {
        if global.sandbox || std::env::var_os(modellix::API_KEY_ENV).is_some() {
            return Self::open(global, WaitOptions::default()).await;
        }
        const STAND_IN: &str = "schema-pages-need-no-key";
        let mut builder = Client::builder().memory_ledger().api_key(STAND_IN);
        if let Some(url) = &global.base_url {
            builder = builder.base_url(url.clone());
        }
        Ok(Session {
            client: builder.build()?,
            global: global.clone(),
            key: ApiKey::new(STAND_IN),
            sandbox: None,
        })
    }

    /// Server text fit to show: the key taken out (a server may echo it, in a failed
    /// task's error for one).
    pub fn redact(&self, text: &str) -> String {
        modellix::redact_key(text, self.key.expose())
    }

    /// [`Session::redact`] on every string of a JSON value (keys included).
    pub fn redact_value(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact(&s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.redact_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.redact(&k), self.redact_value(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// [`Session::redact`] on a failure's message and details.
    pub fn redact_failure(&self, mut failure: Failure) -> Failure {
        failure.message = self.redact(&failure.message);
        failure.details = failure
            .details
            .into_iter()
            .map(|(k, v)| (k, self.redact_value(v)))
            .collect();
        failure
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// The downloader; the in-process sandbox serves plain http on loopback, so it is
    /// allowed for it alone, and an API origin the user set (`--base-url`,
    /// `MODELLIX_BASE_URL`) is trusted for its own results, so a sandbox run as a
    /// server needs no extra flag. A refusal names the flags that allow it.
    pub fn downloader(&self, options: DownloadOptions) -> Outcome<Downloader> {
        let local = self.is_sandbox();
        let mut options = options
            .allow_http(local || self.global.allow_insecure_http)
            .allow_private_hosts(local || self.global.allow_private_network)
            .setting_names("--allow-insecure-http", "--allow-private-network");
        if let Some(origin) = self.global.base_url.as_deref().filter(|_| !local) {
            options = options.trust_origin(origin);
        }
        Downloader::new(options).map_err(|e| Failure::bad_input(e.to_string()))
    }

    /// The exact command that resumes waiting for these tasks.
    pub fn resume_command(&self, ids: &[&str], out: &std::path::Path, no_download: bool) -> String {
        let mut words = vec!["task".to_owned(), "wait".into()];
        words.extend(ids.iter().map(|id| (*id).to_owned()));
        words.extend(save_words(out, no_download));
        shell_command(&self.global, &words)
    }
}

/// The key and origin for Modellix: `--base-url`/`MODELLIX_BASE_URL`, then
/// `MODELLIX_API_KEY`, then the profile (`--profile`, `MODELLIX_PROFILE`, `default`),
/// by the library's rules.
pub fn credentials(global: &Global) -> Outcome<Credentials> {
    let store = modellix::default_store();
    modellix::profile::resolve::resolve(
        global.profile.as_deref(),
        global.base_url.as_deref(),
        store.as_ref(),
    )
    .map_err(|e| {
        Failure::bad_input(if e.field == modellix::API_KEY_ENV {
            format!(
                "{} {}; or try the offline flow with --sandbox",
                e.field, e.problem
            )
        } else {
            format!("{}: {}", e.field, e.problem)
        })
    })
}

/// The one builder of every command a shell user is told to run next:
/// `modellix [--base-url URL] [--ledger PATH] [--profile NAME] WORDS…`, each word quoted as needed.
/// Options the environment already gives (`MODELLIX_BASE_URL`, `MODELLIX_LEDGER`) are
/// left out: the same shell has them. The in-process sandbox is not named: its tasks
/// die with the process.
pub fn shell_command(global: &Global, words: &[String]) -> String {
    let from_env = |name: &str, value: &str| std::env::var_os(name).is_some_and(|v| v == value);
    let mut line = vec!["modellix".to_owned()];
    if let Some(url) = global
        .base_url
        .as_ref()
        .filter(|url| !global.sandbox && !from_env(modellix::BASE_URL_ENV, url))
    {
        line.extend(["--base-url".to_owned(), quote(url)]);
    }
    if let Some(ledger) = &global.ledger {
        let raw = ledger.display().to_string();
        // A database URL without its password: a command to copy, not a secret.
        let ledger = modellix::ledger_location_for_display(ledger);
        if !from_env(modellix::LEDGER_ENV, &raw) {
            line.extend(["--ledger".into(), quote(&ledger)]);
        }
    }
    if let Some(profile) = global
        .profile
        .as_ref()
        .filter(|p| !global.sandbox && !from_env(modellix::PROFILE_ENV, p))
    {
        line.extend(["--profile".to_owned(), quote(profile)]);
    }
    line.extend(words.iter().map(|w| quote(w)));
    line.join(" ")
}

/// `--no-download`, or `--out DIR` when not the default.
pub fn save_words(out: &std::path::Path, no_download: bool) -> Vec<String> {
    if no_download {
        vec!["--no-download".into()]
    } else if out != std::path::Path::new("out") {
        vec!["--out".into(), out.display().to_string()]
    } else {
        Vec::new()
    }
}

/// A word for a POSIX shell, quoted only when it needs to be.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

async fn start_sandbox(global: &Global) -> Outcome<Sandbox> {
    let o = &global.sandbox_options;
    let mut faults = FaultPlan::new();
    if o.sandbox_reset_submit {
        faults = faults.script(Route::Submit, 1, Fault::Reset);
    }
    let seconds = if o.sandbox_task_seconds.is_finite() {
        o.sandbox_task_seconds.clamp(0.0, 86_400.0)
    } else {
        0.0
    };
    Sandbox::builder()
        .timing(Timing::Fixed(Duration::from_secs_f64(seconds)))
        .failures(if o.sandbox_fail {
            Failures::Always
        } else {
            Failures::Never
        })
        .faults(faults)
        .rpm(o.sandbox_rpm)
        .concurrency_limit(o.sandbox_concurrency_limit)
        .time_scale(o.sandbox_time_scale)
        .start()
        .await
        .map_err(|e| Failure::other(format!("cannot start the sandbox: {e}")))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("task-abc123"), "task-abc123");
        assert_eq!(quote("my dir"), "'my dir'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}

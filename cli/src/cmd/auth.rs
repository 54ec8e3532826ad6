//! `modellix auth login|status|logout`: a profile's key, checked with Modellix's free
//! key validation before it is stored, kept by the library's credential store
//! (`modellix::profile`: the format, the place and the precedence are defined there).
//! The key is never printed: at most, that it is set and where it is kept.

use std::io::{IsTerminal, Read};

use modellix::profile::resolve::{profile_name, resolve};
use modellix::{ApiKey, Client, CredentialSource, StoredProfile};
use serde_json::{Value, json};

use crate::args::{AuthCmd, Global};
use crate::failure::{Failure, Kind, Outcome};
use crate::output::Out;

/// The longest key read from standard input.
const MAX_KEY_BYTES: u64 = 4096;

pub async fn run(global: &Global, command: &AuthCmd, out: &Out) -> Outcome {
    match command {
        AuthCmd::Login { with_token } => login(global, *with_token, out).await,
        AuthCmd::Status => status(global, out),
        AuthCmd::Logout => logout(global, out),
    }
}

/// How a source reads in a sentence: "from MODELLIX_API_KEY", "stored in the file …".
pub fn describe(source: &CredentialSource) -> String {
    match source {
        CredentialSource::Explicit => "from the command line".into(),
        CredentialSource::Environment(name) => format!("from {name}"),
        CredentialSource::Profile { kind, location } => format!("stored in the {kind} {location}"),
        other => format!("{other:?}"),
    }
}

fn store_failure(e: modellix::StoreError) -> Failure {
    Failure::other(e.to_string())
}

async fn login(global: &Global, with_token: bool, out: &Out) -> Outcome {
    if global.sandbox {
        return Err(Failure::bad_input(
            "--sandbox needs no key; to log in to a sandbox server, start it with \
             `modellix sandbox --port 8080` and run `modellix --base-url \
             http://127.0.0.1:8080 auth login`",
        ));
    }
    let profile = profile_name(global.profile.as_deref())?;
    let store = modellix::default_store();
    let key = if with_token {
        key_from_stdin()?
    } else {
        key_from_prompt()?
    };
    // A new origin comes from --base-url or MODELLIX_BASE_URL; a login again keeps the
    // profile's.
    let origin = match &global.base_url {
        Some(url) => Some(url.clone()),
        None => store
            .load(&profile)
            .map_err(store_failure)?
            .and_then(|p| p.origin),
    };
    let mut builder = Client::builder()
        .user_agent_suffix(concat!("modellix-cli/", env!("CARGO_PKG_VERSION")))
        .api_key(key.expose())
        .memory_ledger();
    if let Some(url) = &origin {
        builder = builder.base_url(url.clone());
    }
    let client = builder.build()?;
    let shown_origin = client.base_url().to_owned();
    let check = client.check().await;
    match check.key_valid {
        Some(true) => {}
        Some(false) => {
            return Err(Failure::new(
                Kind::Auth,
                format!(
                    "{shown_origin} refused the key; nothing was stored. Copy the key again \
                     from the Modellix console and rerun `modellix auth login`"
                ),
            ));
        }
        None => {
            let kind = if check.reachable {
                Kind::Api
            } else {
                Kind::Network
            };
            return Err(Failure::new(
                kind,
                format!(
                    "the key could not be checked with {shown_origin} ({}); nothing was \
                     stored. Check the origin and the network, then rerun `modellix auth login`",
                    check.problems.join("; ")
                ),
            ));
        }
    }
    store
        .save(&profile, &StoredProfile::new(key, origin.clone()))
        .map_err(store_failure)?;
    let env_key = std::env::var_os(modellix::API_KEY_ENV).is_some();
    let answer = json!({
        "profile": profile,
        "origin": shown_origin,
        "store": {"kind": store.kind(), "location": store.location()},
        "balance_usd": check.balance_usd,
        "overridden_by_env": env_key,
    });
    out.data(&answer, || {
        println!(
            "Logged in: profile `{profile}` ({shown_origin}); the key is stored in the {} {}",
            store.kind(),
            store.location()
        );
    });
    if env_key {
        out.note(format!(
            "note: {} is set in this shell and is used instead of any profile; `unset {}` \
             to use profile `{profile}`",
            modellix::API_KEY_ENV,
            modellix::API_KEY_ENV
        ));
    }
    Ok(())
}

/// The key piped on standard input, surrounding white space removed.
fn key_from_stdin() -> Outcome<ApiKey> {
    let mut raw = Vec::new();
    std::io::stdin()
        .take(MAX_KEY_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| Failure::bad_input(format!("cannot read the key from standard input: {e}")))?;
    // Wiped when dropped, whatever happens next.
    let raw = ApiKey::new(String::from_utf8_lossy(&raw).into_owned());
    if raw.expose().len() as u64 > MAX_KEY_BYTES {
        return Err(Failure::bad_input(format!(
            "standard input holds more than {MAX_KEY_BYTES} bytes; pipe the key alone: \
             `modellix auth login --with-token < key.txt`"
        )));
    }
    trimmed(
        raw,
        "no key on standard input; pipe it: `modellix auth login --with-token < key.txt`",
    )
}

/// The key typed at a prompt that does not echo it.
fn key_from_prompt() -> Outcome<ApiKey> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::bad_input(
            "standard input is not a terminal, so the key cannot be asked for; pipe it with \
             `modellix auth login --with-token < key.txt`",
        ));
    }
    let raw = rpassword::prompt_password("Modellix API key (input hidden): ").map_err(|e| {
        Failure::bad_input(format!(
            "cannot read the key from the terminal ({e}); pipe it with `modellix auth login \
             --with-token < key.txt`"
        ))
    })?;
    trimmed(
        ApiKey::new(raw),
        "no key was typed; paste the key from the Modellix console",
    )
}

fn trimmed(raw: ApiKey, empty: &str) -> Outcome<ApiKey> {
    let key = ApiKey::new(raw.expose().trim());
    if key.expose().is_empty() {
        return Err(Failure::bad_input(empty));
    }
    Ok(key)
}

fn status(global: &Global, out: &Out) -> Outcome {
    let profile = profile_name(global.profile.as_deref())?;
    let store = modellix::default_store();
    let stored = store.profiles().unwrap_or_default();
    let resolved = resolve(Some(&profile), global.base_url.as_deref(), store.as_ref());
    let (key, origin, origin_from, problem) = match &resolved {
        Ok(c) => {
            let (origin, from) = match &c.base_url {
                Some((url, from)) => (url.clone(), describe(from)),
                None => (
                    modellix::DEFAULT_BASE_URL.to_owned(),
                    "the default".to_owned(),
                ),
            };
            (
                format!("set, {}", describe(&c.key_from)),
                origin,
                from,
                None,
            )
        }
        Err(e) => (
            "not set".to_owned(),
            global
                .base_url
                .clone()
                .unwrap_or_else(|| modellix::DEFAULT_BASE_URL.to_owned()),
            String::new(),
            Some(format!("{} {}", e.field, e.problem)),
        ),
    };
    let answer = json!({
        "profile": profile,
        "origin": origin,
        "origin_from": origin_from,
        "key": key,
        "key_set": resolved.is_ok(),
        "store": {"kind": store.kind(), "location": store.location()},
        "profiles": stored,
        "problem": problem.clone().map_or(Value::Null, Value::String),
    });
    out.data(&answer, || {
        println!("profile   {profile}");
        if origin_from.is_empty() {
            println!("origin    {origin}");
        } else {
            println!("origin    {origin} ({origin_from})");
        }
        println!("key       {key}");
        println!("store     the {} {}", store.kind(), store.location());
        if !stored.is_empty() {
            println!("profiles  {}", stored.join(", "));
        }
    });
    match problem {
        None => Ok(()),
        Some(problem) => {
            let failure = Failure::new(Kind::Auth, problem);
            Err(if out.json {
                failure.already_printed()
            } else {
                failure
            })
        }
    }
}

fn logout(global: &Global, out: &Out) -> Outcome {
    let profile = profile_name(global.profile.as_deref())?;
    let store = modellix::default_store();
    let removed = store.remove(&profile).map_err(store_failure)?;
    let answer = json!({"profile": profile, "removed": removed, "location": store.location()});
    out.data(&answer, || {
        if removed {
            println!("Removed profile `{profile}` from {}", store.location());
        } else {
            println!(
                "Profile `{profile}` has no stored key ({}); nothing removed",
                store.location()
            );
        }
    });
    if std::env::var_os(modellix::API_KEY_ENV).is_some() {
        out.note(format!(
            "note: {} is still set in this shell",
            modellix::API_KEY_ENV
        ));
    }
    Ok(())
}

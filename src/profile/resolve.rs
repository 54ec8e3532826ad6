//! Which key and origin a client uses, and where each came from.
//!
//! Precedence, highest first: an explicit setting (the command line's `--base-url`),
//! the environment (`MODELLIX_API_KEY`, `MODELLIX_BASE_URL`), the profile. A key in
//! the environment replaces the profile entirely: the store is not read, so a key from
//! the environment is never sent to a profile's origin. The profile is the one named
//! (`--profile`), else `MODELLIX_PROFILE`, else [`DEFAULT_PROFILE`].

use std::ffi::OsString;

use crate::error::ConfigError;
use crate::profile::file::FileStore;
use crate::profile::key::ApiKey;
use crate::profile::store::{
    CredentialStore, DEFAULT_PROFILE, StoreError, StoredProfile, check_profile_name,
};

/// Environment variable holding the API key.
pub const API_KEY_ENV: &str = "MODELLIX_API_KEY";
/// Environment variable overriding the base URL.
pub const BASE_URL_ENV: &str = "MODELLIX_BASE_URL";
/// Environment variable naming the profile to use.
pub const PROFILE_ENV: &str = "MODELLIX_PROFILE";

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// Given by the caller (a command-line flag).
    Explicit,
    /// An environment variable, by name.
    Environment(&'static str),
    /// The stored profile, kept in this place ([`CredentialStore::location`]).
    Profile {
        /// The store's kind (`"file"`).
        kind: &'static str,
        /// Where the store keeps it.
        location: String,
    },
}

/// The key and origin a client uses, and where they came from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Credentials {
    /// The profile in force (even when the environment's key replaced it).
    pub profile: String,
    /// The key (never shown).
    pub api_key: ApiKey,
    /// Where the key came from.
    pub key_from: CredentialSource,
    /// The API origin, when not Modellix's own, and where it came from.
    pub base_url: Option<(String, CredentialSource)>,
}

/// The store profiles are kept in on this machine: the OS keychain where this build
/// has one (none yet), else the [`FileStore`] at its default place. Without a
/// configuration directory, a store whose every call says so.
pub fn default_store() -> Box<dyn CredentialStore> {
    match FileStore::open_default() {
        Ok(store) => Box::new(store),
        Err(e) => Box::new(NoStore(e)),
    }
}

/// No place to keep profiles; every call returns the reason.
struct NoStore(StoreError);

impl CredentialStore for NoStore {
    fn kind(&self) -> &'static str {
        "none"
    }
    fn location(&self) -> String {
        "nowhere (no configuration directory)".into()
    }
    fn load(&self, _: &str) -> Result<Option<StoredProfile>, StoreError> {
        Err(self.0.clone())
    }
    fn save(&self, _: &str, _: &StoredProfile) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
    fn remove(&self, _: &str) -> Result<bool, StoreError> {
        Err(self.0.clone())
    }
    fn profiles(&self) -> Result<Vec<String>, StoreError> {
        Err(self.0.clone())
    }
}

/// The profile's name: `explicit`, else `MODELLIX_PROFILE`, else `default`; checked.
pub fn profile_name(explicit: Option<&str>) -> Result<String, ConfigError> {
    profile_name_with(explicit, &|name| std::env::var_os(name))
}

/// The key and origin from `explicit_base_url`, the environment and `store`'s profile
/// (see the module documentation).
pub fn resolve(
    explicit_profile: Option<&str>,
    explicit_base_url: Option<&str>,
    store: &dyn CredentialStore,
) -> Result<Credentials, ConfigError> {
    resolve_with(
        explicit_profile,
        explicit_base_url,
        &|name| std::env::var_os(name),
        store,
    )
}

type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

fn profile_name_with(explicit: Option<&str>, env: Env<'_>) -> Result<String, ConfigError> {
    let (name, field) = match explicit {
        Some(name) => (name.to_owned(), "profile"),
        None => match env(PROFILE_ENV).filter(|v| !v.is_empty()) {
            Some(value) => (
                value.into_string().map_err(|_| ConfigError {
                    field: PROFILE_ENV,
                    problem: "is not valid UTF-8; profile names are ASCII letters and digits"
                        .into(),
                })?,
                PROFILE_ENV,
            ),
            None => (DEFAULT_PROFILE.to_owned(), "profile"),
        },
    };
    check_profile_name(&name).map_err(|problem| ConfigError { field, problem })?;
    Ok(name)
}

pub(crate) fn resolve_with(
    explicit_profile: Option<&str>,
    explicit_base_url: Option<&str>,
    env: Env<'_>,
    store: &dyn CredentialStore,
) -> Result<Credentials, ConfigError> {
    let profile = profile_name_with(explicit_profile, env)?;
    let env_base_url = env(BASE_URL_ENV)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.into_string().map_err(|_| ConfigError {
                field: BASE_URL_ENV,
                problem: "is not valid UTF-8; give an https URL".into(),
            })
        })
        .transpose()?;
    let over_profile = match (explicit_base_url, env_base_url) {
        (Some(url), _) => Some((url.to_owned(), CredentialSource::Explicit)),
        (None, Some(url)) => Some((url, CredentialSource::Environment(BASE_URL_ENV))),
        (None, None) => None,
    };
    if let Some(key) = env(API_KEY_ENV) {
        let key = key.into_string().map_err(|_| ConfigError {
            field: API_KEY_ENV,
            problem: "is not valid UTF-8; Modellix keys are visible ASCII".into(),
        })?;
        return Ok(Credentials {
            profile,
            api_key: ApiKey::new(key),
            key_from: CredentialSource::Environment(API_KEY_ENV),
            base_url: over_profile,
        });
    }
    let login = if profile == DEFAULT_PROFILE {
        "modellix auth login".to_owned()
    } else {
        format!("modellix auth login --profile {profile}")
    };
    let stored = store.load(&profile).map_err(|e| ConfigError {
        field: "profile",
        problem: format!("{e} (or export {API_KEY_ENV}=…)"),
    })?;
    let Some(stored) = stored else {
        return Err(ConfigError {
            field: API_KEY_ENV,
            problem: format!(
                "is not set and profile `{profile}` has no stored key ({}); create a key in \
                 the Modellix console and run `{login}`, or `export {API_KEY_ENV}=…`",
                store.location()
            ),
        });
    };
    let from_profile = CredentialSource::Profile {
        kind: store.kind(),
        location: store.location(),
    };
    let base_url = over_profile.or_else(|| {
        stored
            .origin
            .clone()
            .map(|origin| (origin, from_profile.clone()))
    });
    Ok(Credentials {
        profile,
        api_key: stored.api_key,
        key_from: from_profile,
        base_url,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn flag_then_environment_then_profile() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::at(dir.path().join("c.json"));
        let origin = Some("http://127.0.0.1:1".to_owned());
        store
            .save(
                "default",
                &StoredProfile::new(ApiKey::new("sk-default"), origin),
            )
            .unwrap();
        store
            .save("work", &StoredProfile::new(ApiKey::new("sk-work"), None))
            .unwrap();
        let got = |profile: Option<&str>, url: Option<&str>, pairs: &[(&str, &str)]| {
            resolve_with(profile, url, &env(pairs), &store)
        };

        let c = got(None, None, &[]).unwrap();
        assert_eq!(
            (c.profile.as_str(), c.api_key.expose()),
            ("default", "sk-default")
        );
        assert!(matches!(
            c.key_from,
            CredentialSource::Profile { kind: "file", .. }
        ));
        let (url, from) = c.base_url.unwrap();
        assert_eq!(url, "http://127.0.0.1:1");
        assert!(matches!(from, CredentialSource::Profile { .. }));

        // MODELLIX_PROFILE picks the profile; the flag beats it.
        let c = got(None, None, &[(PROFILE_ENV, "work")]).unwrap();
        assert_eq!(c.api_key.expose(), "sk-work");
        assert!(c.base_url.is_none());
        let c = got(Some("default"), None, &[(PROFILE_ENV, "work")]).unwrap();
        assert_eq!(c.api_key.expose(), "sk-default");

        // The origin: flag, then environment, then profile.
        let c = got(
            None,
            Some("https://a.example"),
            &[(BASE_URL_ENV, "https://b.example")],
        );
        assert_eq!(
            c.unwrap().base_url.unwrap(),
            ("https://a.example".into(), CredentialSource::Explicit)
        );
        let c = got(None, None, &[(BASE_URL_ENV, "https://b.example")]).unwrap();
        assert_eq!(
            c.base_url.unwrap(),
            (
                "https://b.example".into(),
                CredentialSource::Environment(BASE_URL_ENV)
            )
        );

        // An environment key replaces the profile, origin included.
        let c = got(None, None, &[(API_KEY_ENV, "sk-env")]).unwrap();
        assert_eq!(c.api_key.expose(), "sk-env");
        assert_eq!(c.key_from, CredentialSource::Environment(API_KEY_ENV));
        assert!(c.base_url.is_none());

        // A profile with no key names the command that stores one.
        let e = got(Some("absent"), None, &[]).unwrap_err();
        assert_eq!(e.field, API_KEY_ENV);
        assert!(
            e.problem.contains("modellix auth login --profile absent"),
            "{e}"
        );
        let e = got(None, None, &[(PROFILE_ENV, "no/such")]).unwrap_err();
        assert_eq!(e.field, PROFILE_ENV);
    }

    #[test]
    fn the_key_is_never_debug_printed() {
        let c = resolve_with(
            None,
            None,
            &env(&[(API_KEY_ENV, "sk-hidden-1234")]),
            &FileStore::at("/nonexistent/x.json"),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hidden"));
    }
}

//! [`CredentialStore`]: where profiles are kept, and what a profile holds.
//!
//! This build has one store, [`FileStore`](crate::profile::file::FileStore). The OS
//! keychain (macOS Keychain, Windows Credential Manager, the Secret Service) would be a
//! second implementation of the same trait; it is not built in, because on Linux it
//! needs the D-Bus C library and a running secret service.

use std::fmt;

use crate::profile::key::ApiKey;

/// The profile used when none is named (`--profile`, `MODELLIX_PROFILE`).
pub const DEFAULT_PROFILE: &str = "default";
/// The longest profile name.
pub const MAX_PROFILE_NAME_LEN: usize = 64;

/// What a store keeps under a profile's name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredProfile {
    /// The key (never shown).
    pub api_key: ApiKey,
    /// The API origin for this profile, when not Modellix's own.
    pub origin: Option<String>,
}

impl StoredProfile {
    /// A profile with a key and, optionally, an origin.
    pub fn new(api_key: ApiKey, origin: Option<String>) -> Self {
        StoredProfile { api_key, origin }
    }
}

/// A store could not be read or written. The message names the place and what to do;
/// it never holds a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    message: String,
}

impl StoreError {
    /// An error with this message (which must not hold a key).
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
        }
    }

    /// What went wrong and what to do.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// A place that keeps profiles: one key (and origin) per profile name.
///
/// ```
/// use modellix::profile::store::{CredentialStore, StoredProfile};
/// use modellix::profile::file::FileStore;
/// use modellix::ApiKey;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::at(dir.path().join("credentials.json"));
/// store.save("work", &StoredProfile::new(ApiKey::new("sk-example"), None)).unwrap();
/// assert_eq!(store.profiles().unwrap(), ["work"]);
/// assert!(store.remove("work").unwrap());
/// assert!(store.load("work").unwrap().is_none());
/// ```
pub trait CredentialStore: Send + Sync {
    /// A short name of the kind of store (`"file"`, `"keychain"`).
    fn kind(&self) -> &'static str;
    /// Where the keys are kept, for people (a path, a keychain's name); never a key.
    fn location(&self) -> String;
    /// The profile of this name, if stored.
    fn load(&self, profile: &str) -> Result<Option<StoredProfile>, StoreError>;
    /// Stores (or replaces) the profile of this name.
    fn save(&self, profile: &str, entry: &StoredProfile) -> Result<(), StoreError>;
    /// Removes the profile of this name; false when there was none.
    fn remove(&self, profile: &str) -> Result<bool, StoreError>;
    /// The names of the stored profiles, sorted.
    fn profiles(&self) -> Result<Vec<String>, StoreError>;
}

/// Checks a profile name: 1 to [`MAX_PROFILE_NAME_LEN`] ASCII letters, digits, `-` or
/// `_`, starting with a letter or digit.
///
/// ```
/// assert!(modellix::profile::store::check_profile_name("work-2").is_ok());
/// assert!(modellix::profile::store::check_profile_name("../x").is_err());
/// ```
pub fn check_profile_name(name: &str) -> Result<(), String> {
    let shown: String = name.chars().take(MAX_PROFILE_NAME_LEN).collect();
    if name.is_empty() {
        return Err("profile name is empty; give one such as `default` or `work`".into());
    }
    if name.len() > MAX_PROFILE_NAME_LEN {
        return Err(format!(
            "profile name {shown:?}… is longer than {MAX_PROFILE_NAME_LEN} characters"
        ));
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "profile name {shown:?} is not allowed; use ASCII letters, digits, `-` and `_`, \
             starting with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_profile_name;

    #[test]
    fn profile_names() {
        for good in ["default", "work", "a", "prod_2", "x-y", &"a".repeat(64)] {
            assert!(check_profile_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a",
            "_a",
            "a b",
            "a/b",
            "..",
            "é",
            "a.b",
            &"a".repeat(65),
        ] {
            assert!(check_profile_name(bad).is_err(), "{bad}");
        }
    }
}

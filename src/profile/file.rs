//! [`FileStore`]: profiles in one JSON file of mode 0600, `modellix/credentials.json`
//! in the user's configuration directory (`$XDG_CONFIG_HOME`, else `~/.config` on
//! Linux; `~/Library/Application Support` on macOS; `%APPDATA%` on Windows).
//!
//! The format and the location are defined here and nowhere else:
//!
//! ```json
//! {"version": 1, "profiles": {"default": {"api_key": "…", "origin": "https://…"}}}
//! ```
//!
//! On Unix the file is created with mode 0600 from the start (a new file written in
//! full, synced, then renamed over the old one; never widened or narrowed after it was
//! written), in a folder created with mode 0700. A file that others may read or write
//! is refused, with the `chmod` that fixes it. Removing the last profile removes the
//! file. Two logins at once: the last rename wins, and each file read is complete.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::profile::key::ApiKey;
use crate::profile::store::{CredentialStore, StoreError, StoredProfile, check_profile_name};

/// The file's name inside `modellix/` of the configuration directory.
pub const CREDENTIALS_FILE: &str = "credentials.json";
/// The largest credentials file read; a larger one is refused, not read.
pub const MAX_CREDENTIALS_BYTES: u64 = 1 << 20;
/// The only format version this build reads and writes.
const VERSION: u32 = 1;

/// The default place of the credentials file: `modellix/credentials.json` in the
/// platform's configuration directory (`None` without a home directory).
pub fn default_credentials_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("modellix").join(CREDENTIALS_FILE))
}

/// Profiles kept in one file of mode 0600 (see the module documentation).
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Body {
    version: u32,
    #[serde(default)]
    profiles: BTreeMap<String, Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    api_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.api_key.zeroize();
    }
}

impl FileStore {
    /// The store at [`default_credentials_path`].
    pub fn open_default() -> Result<FileStore, StoreError> {
        default_credentials_path()
            .map(FileStore::at)
            .ok_or_else(|| {
                StoreError::new(
                    "no place for stored profiles: the configuration directory is unknown (no \
                 home directory); set XDG_CONFIG_HOME, or export MODELLIX_API_KEY instead",
                )
            })
    }

    /// The store in this file (created on the first save).
    pub fn at(path: impl Into<PathBuf>) -> FileStore {
        FileStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// The file's profiles; an absent file has none.
    fn read(&self) -> Result<BTreeMap<String, Entry>, StoreError> {
        let shown = self.shown();
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(StoreError::new(format!("cannot read {shown}: {e}"))),
        };
        let meta = file
            .metadata()
            .map_err(|e| StoreError::new(format!("cannot read {shown}: {e}")))?;
        if !meta.is_file() {
            return Err(StoreError::new(format!(
                "{shown} is not a regular file; remove it and run `modellix auth login` again"
            )));
        }
        check_private(&meta, &shown)?;
        if meta.len() > MAX_CREDENTIALS_BYTES {
            return Err(StoreError::new(format!(
                "{shown} is larger than {MAX_CREDENTIALS_BYTES} bytes; it is not a file \
                 `modellix auth login` wrote: move it away and log in again"
            )));
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
        (&mut file)
            .take(MAX_CREDENTIALS_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| StoreError::new(format!("cannot read {shown}: {e}")))?;
        // serde_json's messages may quote the text they met (a key): only the place is
        // shown.
        let body: Body = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::new(format!(
                "{shown} is not a credentials file (bad JSON or fields at line {} column {}); \
                 move it away and run `modellix auth login` again",
                e.line(),
                e.column()
            ))
        })?;
        if body.version != VERSION {
            return Err(StoreError::new(format!(
                "{shown} has format version {}; this build reads version {VERSION}: update \
                 modellix, or move the file away and log in again",
                body.version
            )));
        }
        Ok(body.profiles)
    }

    /// Writes the profiles to a new file of mode 0600 beside the old one, then renames
    /// it into place; no profiles: the file is removed.
    fn write(&self, profiles: BTreeMap<String, Entry>) -> Result<(), StoreError> {
        let shown = self.shown();
        if profiles.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StoreError::new(format!("cannot remove {shown}: {e}"))),
            };
        }
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir)
            .map_err(|e| StoreError::new(format!("cannot create {}: {e}", dir.display())))?;
        let body = Body {
            version: VERSION,
            profiles,
        };
        let mut bytes = Zeroizing::new(Vec::with_capacity(4096));
        serde_json::to_writer_pretty(&mut *bytes, &body)
            .map_err(|e| StoreError::new(format!("cannot encode the profiles ({e})")))?;
        bytes.push(b'\n');
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| CREDENTIALS_FILE.into());
        let temp = dir.join(format!(
            ".{name}.{}-{:08x}.tmp",
            std::process::id(),
            fastrand::u32(..)
        ));
        let written =
            write_private(&temp, &bytes).and_then(|()| std::fs::rename(&temp, &self.path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(StoreError::new(format!("cannot write {shown}: {e}")));
        }
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// A new file holding `bytes`, mode 0600 from its creation on Unix, synced.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The folder and its missing parents, each created with mode 0700 on Unix.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Refuses a file that anyone but its owner may read or write (Unix).
#[cfg(unix)]
fn check_private(meta: &std::fs::Metadata, shown: &str) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::new(format!(
            "{shown} has mode {mode:04o}: others may read the keys in it. Run `chmod 600 \
             {shown}`, and replace the keys if others could read them"
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_meta: &std::fs::Metadata, _shown: &str) -> Result<(), StoreError> {
    Ok(())
}

fn checked(profile: &str) -> Result<(), StoreError> {
    check_profile_name(profile).map_err(StoreError::new)
}

impl CredentialStore for FileStore {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn location(&self) -> String {
        format!("{} (mode 0600)", self.shown())
    }

    fn load(&self, profile: &str) -> Result<Option<StoredProfile>, StoreError> {
        checked(profile)?;
        let profiles = self.read()?;
        Ok(profiles.get(profile).map(|entry| {
            StoredProfile::new(ApiKey::new(entry.api_key.clone()), entry.origin.clone())
        }))
    }

    fn save(&self, profile: &str, entry: &StoredProfile) -> Result<(), StoreError> {
        checked(profile)?;
        let mut profiles = self.read()?;
        profiles.insert(
            profile.to_owned(),
            Entry {
                api_key: entry.api_key.expose().to_owned(),
                origin: entry.origin.clone(),
            },
        );
        self.write(profiles)
    }

    fn remove(&self, profile: &str) -> Result<bool, StoreError> {
        checked(profile)?;
        let mut profiles = self.read()?;
        if profiles.remove(profile).is_none() {
            return Ok(false);
        }
        self.write(profiles)?;
        Ok(true)
    }

    fn profiles(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.read()?.into_keys().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> StoredProfile {
        StoredProfile::new(ApiKey::new(key), Some("http://127.0.0.1:9".into()))
    }

    #[test]
    fn saves_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::at(dir.path().join("a").join("b").join(CREDENTIALS_FILE));
        assert!(store.load("default").unwrap().is_none());
        store.save("default", &entry("sk-one")).unwrap();
        store.save("work", &entry("sk-two")).unwrap();
        store.save("default", &entry("sk-three")).unwrap();
        let loaded = store.load("default").unwrap().unwrap();
        assert_eq!(loaded.api_key.expose(), "sk-three");
        assert_eq!(loaded.origin.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(store.profiles().unwrap(), ["default", "work"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.path()), 0o600);
            assert_eq!(mode(store.path().parent().unwrap()), 0o700);
            assert_eq!(mode(&dir.path().join("a")), 0o700);
        }
        assert!(store.remove("work").unwrap());
        assert!(!store.remove("work").unwrap());
        assert!(store.remove("default").unwrap());
        assert!(!store.path().exists(), "the last removal removes the file");
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(store.path().parent().unwrap())
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn bad_files_are_refused_without_echoing_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CREDENTIALS_FILE);
        let store = FileStore::at(&path);
        let cases: &[(&str, &str)] = &[
            (r#"{"version":1,"profiles":{"a":{"api_key":7}}}"#, "line 1"),
            (
                r#"{"version":1,"profiles":{"a":"sk-leaked-key"}}"#,
                "line 1",
            ),
            ("sk-leaked-key", "not a credentials file"),
            (r#"{"version":2,"profiles":{}}"#, "version 2"),
        ];
        for (text, want) in cases {
            write_private(&path, text.as_bytes()).unwrap();
            let err = store.load("a").unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
            assert!(!err.contains("leaked"), "{err}");
            std::fs::remove_file(&path).unwrap();
        }
        assert!(store.load("../etc").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::at(dir.path().join(CREDENTIALS_FILE));
        store.save("default", &entry("sk-one")).unwrap();
        std::fs::set_permissions(store.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = store.load("default").unwrap_err().to_string();
        assert!(
            err.contains("mode 0644") && err.contains("chmod 600"),
            "{err}"
        );
    }
}

//! Where the durable ledger lives by default, and which ledger locations this build
//! can open.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::ledger::{LedgerError, TaskLedger};

/// Environment variable naming the ledger file; see [`default_ledger_path`].
pub const LEDGER_ENV: &str = "MODELLIX_LEDGER";

/// The ledger file a client (and the `modellix` command line) uses unless told
/// otherwise: `$MODELLIX_LEDGER` when set and not empty, else
/// `modellix/ledger.sqlite` in the platform's data directory
/// (`$XDG_DATA_HOME`, or `~/.local/share` on Linux; `~/Library/Application Support`
/// on macOS; `%APPDATA%` on Windows). `None` when neither is known (no home
/// directory): choose a path with
/// [`ClientBuilder::ledger_path`](crate::client::ClientBuilder::ledger_path), or
/// [`ClientBuilder::memory_ledger`](crate::client::ClientBuilder::memory_ledger).
///
/// ```
/// if let Some(path) = modellix::default_ledger_path() {
///     println!("paid requests are recorded in {}", path.display());
/// }
/// ```
pub fn default_ledger_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(LEDGER_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    dirs::data_dir().map(|dir| dir.join("modellix").join("ledger.sqlite"))
}

/// The scheme of a ledger location that is a URL (`postgres://…`), lower case; `None`
/// for a path (`./a://b`, `C:\\ledger.sqlite` and `1x://y` are paths).
fn url_scheme(path: &Path) -> Option<String> {
    let (scheme, _) = path.to_str()?.split_once("://")?;
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| scheme.to_ascii_lowercase())
}

/// Whether a ledger location names a PostgreSQL database (`postgres://…` or
/// `postgresql://…`) rather than a SQLite file.
///
/// ```
/// assert!(modellix::is_postgres_ledger("postgres://app@db/app"));
/// assert!(!modellix::is_postgres_ledger("/var/lib/app/ledger.sqlite"));
/// ```
pub fn is_postgres_ledger(location: impl AsRef<Path>) -> bool {
    matches!(
        url_scheme(location.as_ref()).as_deref(),
        Some("postgres" | "postgresql")
    )
}

/// A ledger location fit for messages: a path as it is, a URL without its password
/// (or anything else after the host that could hold a secret).
///
/// ```
/// let shown = modellix::ledger_location_for_display("postgres://app:secret@db/app");
/// assert!(!shown.contains("secret"));
/// ```
pub fn ledger_location_for_display(location: impl AsRef<Path>) -> String {
    let location = location.as_ref();
    match (url_scheme(location), location.to_str()) {
        (Some(_), Some(text)) => crate::redact::raw_url_for_display(text),
        _ => location.display().to_string(),
    }
}

/// Opens the ledger at `location`: a [`SqliteLedger`](crate::ledger::SqliteLedger)
/// for a path, a `PostgresLedger` for a `postgres://` URL (with the `postgres`
/// feature; it connects on first use). What
/// [`ClientBuilder::ledger_path`](crate::client::ClientBuilder::ledger_path),
/// `MODELLIX_LEDGER` and the command line's `--ledger` go through.
///
/// ```
/// # fn main() -> Result<(), modellix::LedgerError> {
/// let dir = std::env::temp_dir().join(format!("modellix-open-doc-{}", std::process::id()));
/// let ledger = modellix::open_ledger(dir.join("ledger.sqlite"))?;
/// # drop(ledger); let _ = std::fs::remove_dir_all(dir); Ok(()) }
/// ```
pub fn open_ledger(location: impl AsRef<Path>) -> Result<Arc<dyn TaskLedger>, LedgerError> {
    let location = location.as_ref();
    #[cfg(feature = "postgres")]
    if is_postgres_ledger(location) {
        let url = location.to_str().unwrap_or_default();
        return Ok(Arc::new(crate::ledger::PostgresLedger::new(url)?));
    }
    Ok(Arc::new(crate::ledger::SqliteLedger::open(location)?))
}

/// Refuses a ledger location that is a URL (`postgres://…`) for a SQLite file: a URL
/// taken as a path would create folders named `postgres:`.
pub(crate) fn refuse_url(path: &Path) -> Result<(), LedgerError> {
    let Some(scheme) = url_scheme(path) else {
        return Ok(());
    };
    let shown = ledger_location_for_display(path);
    let needs = match scheme.as_str() {
        "postgres" | "postgresql" if cfg!(feature = "postgres") => {
            " (open a PostgreSQL ledger with modellix::open_ledger or PostgresLedger::new)"
        }
        "postgres" | "postgresql" => " (a PostgreSQL ledger needs the `postgres` feature)",
        "mysql" | "mariadb" => " (a MySQL ledger needs the `mysql` feature)",
        _ => "",
    };
    Err(LedgerError::new(format!(
        "{shown:?} is a {scheme}:// URL, but this ledger is a SQLite file{needs}. \
         Give the path of a SQLite file instead (like /var/lib/myapp/ledger.sqlite), or \
         pass your own TaskLedger to ClientBuilder::ledger"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_refused_by_scheme_and_paths_pass() {
        for url in [
            "postgres://u:secret@db/ledger",
            "postgresql://db/x",
            "mysql://db/x",
            "sqlite://x.db",
            "file:///tmp/x",
        ] {
            let e = refuse_url(Path::new(url)).unwrap_err();
            let scheme = url.split_once("://").unwrap().0;
            assert!(e.message().contains(&format!("{scheme}://")), "{e}");
            assert!(e.message().contains("SQLite"), "{e}");
            assert!(!e.message().contains("secret"), "{e}");
        }
        let refusal = refuse_url(Path::new("postgres://db/x")).unwrap_err();
        if cfg!(feature = "postgres") {
            assert!(refusal.message().contains("open_ledger"), "{refusal}");
        } else {
            assert!(
                refusal.message().contains("`postgres` feature"),
                "{refusal}"
            );
        }
        for url in ["postgres://u:secret@db/x", "POSTGRESQL://db/x"] {
            assert!(is_postgres_ledger(url), "{url}");
            assert!(!ledger_location_for_display(url).contains("secret"));
        }
        for other in ["mysql://db/x", "ledger.sqlite", "./postgres://x"] {
            assert!(!is_postgres_ledger(other), "{other}");
        }
        for path in [
            "ledger.sqlite",
            "/var/lib/x/ledger.sqlite",
            "./a://b",
            "C:\\ledger.sqlite",
            "1x://y",
        ] {
            assert!(refuse_url(Path::new(path)).is_ok(), "{path}");
        }
    }
}

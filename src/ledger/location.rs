//! Where the durable ledger lives by default, and which ledger locations this build
//! can open.

use std::path::{Path, PathBuf};

use crate::ledger::LedgerError;

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

/// Refuses a ledger location that is a URL (`postgres://…`): this build's ledger is a
/// SQLite file, and a URL taken as a path would create folders named `postgres:`.
pub(crate) fn refuse_url(path: &Path) -> Result<(), LedgerError> {
    let Some(text) = path.to_str() else {
        return Ok(());
    };
    let Some((scheme, _)) = text.split_once("://") else {
        return Ok(());
    };
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return Ok(());
    }
    let shown = crate::redact::raw_url_for_display(text);
    let scheme = scheme.to_ascii_lowercase();
    let needs = match scheme.as_str() {
        "postgres" | "postgresql" => " (a PostgreSQL ledger needs the `postgres` feature)",
        "mysql" | "mariadb" => " (a MySQL ledger needs the `mysql` feature)",
        _ => "",
    };
    Err(LedgerError::new(format!(
        "{shown:?} is a {scheme}:// URL, but this build's ledger is a SQLite file{needs}. \
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
        assert!(
            refuse_url(Path::new("postgres://db/x"))
                .unwrap_err()
                .message()
                .contains("`postgres` feature")
        );
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

//! The PostgreSQL server the tests use: `MODELLIX_TEST_POSTGRES_URL` (`.ci/run` starts
//! one with `.ci/postgres.sh`). Each caller gets a database of its own, so tests run in
//! parallel on one server without seeing each other's rows.
//!
//! Without a URL the PostgreSQL tests skip, saying why; with `CI` set they fail.

#![allow(dead_code)] // each test file uses a different part

/// The environment variable naming the test server.
pub const URL_ENV: &str = "MODELLIX_TEST_POSTGRES_URL";

/// The server's URL, or `None` (with the reason printed) when there is none and `CI`
/// is not set. Panics under `CI` without one: CI must run these tests.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{test}: {URL_ENV} is not set but CI is: start a server with \
             `.ci/postgres.sh start DIR` and export the URL it prints"
        ),
        _ => {
            eprintln!(
                "skipping {test}: no PostgreSQL server ({URL_ENV} is not set; \
                 `.ci/postgres.sh start /tmp/pg` starts one and prints its URL)"
            );
            None
        }
    }
}

/// A new, empty database on the test server; its URL (the server's URL with the
/// database's name in place of the path). `None` as [`server_url`] says.
pub async fn fresh_database(test: &str) -> Option<String> {
    let server = server_url(test)?;
    Some(fresh_database_on(&server, test).await)
}

/// A new, empty database on the server at `server`; its URL.
pub async fn fresh_database_on(server: &str, test: &str) -> String {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{test}: cannot connect to the test server: {e}"));
    tokio::spawn(connection);
    let name = format!("modellix_test_{}_{}", std::process::id(), fastrand::u64(..));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("{test}: cannot create a database: {e}"));
    with_database(server, &name)
}

/// `url` with its database (the path) replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let mut url = url::Url::parse(url).expect("the test server's URL parses");
    url.set_path(name);
    url.to_string()
}

//! Test support shared by every crate whose tests need PostgreSQL: a fresh database per
//! test on the server named by `HOSO_POSTGRES_URL`, and the rule for when no server is
//! configured (skip with a note on a developer's machine, fail in CI).

use rand::RngCore;
use tokio_postgres::NoTls;

/// The variable naming a superuser URL of a throwaway server.
pub const URL_VAR: &str = "HOSO_POSTGRES_URL";
/// Set by CI: a missing server is then a failure, never a skip.
pub const STANDALONE_VAR: &str = "HOSO_CI_STANDALONE";

/// The server URL, or `None` after printing
/// `NOTE: HOSO_POSTGRES_URL is not set: <what> skipped`.
///
/// # Panics
/// When the URL is missing and `HOSO_CI_STANDALONE` is set: CI must run these tests.
pub fn server_url(what: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os(STANDALONE_VAR).is_none(),
                "{URL_VAR} is not set but {STANDALONE_VAR} is: {what} must run in CI"
            );
            eprintln!("NOTE: {URL_VAR} is not set: {what} skipped");
            None
        }
    }
}

/// Creates a fresh, empty database `hoso_t_<random hex>` on the server at `url` (a
/// superuser URL) and returns the URL of the new database.
///
/// # Panics
/// When the server cannot be reached or refuses: this is test support.
pub async fn scratch_database(url: &str) -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    let name = format!("hoso_t_{}", hex::encode(bytes));
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR}: cannot connect: {e}"));
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e:?}"));
    drop(client);
    let _ = driver.await;
    with_database(url, &name)
}

/// `url` with its database name replaced by `db` (query parameters kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:54329/postgres", "x"),
            "postgres://postgres@127.0.0.1:54329/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h/a/b?c=d", "x"),
            "postgres://u@h/x?c=d"
        );
    }
}

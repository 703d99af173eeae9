//! A PostgreSQL database made for one test (or one benchmark run) and dropped after it.

use sqlx::Connection;

use crate::backends::{BACKENDS_ENV, Backend};

/// The variable naming the server that holds the test databases, as the URL of a database on
/// it from which new ones can be made.
pub const POSTGRES_ENV: &str = "YIJIAN_TEST_POSTGRES";

/// The server that holds the test databases: `YIJIAN_TEST_POSTGRES`, else
/// `postgres://postgres@127.0.0.1:5432/test` (what `scripts/test` sets up).
pub fn admin_url() -> String {
    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database of its own, dropped (with `WITH (FORCE)`, so open connections do not keep it)
/// when this value is dropped, whether the test passed or panicked; unless [`PgDatabase::keep`]
/// was called.
#[derive(Debug)]
pub struct PgDatabase {
    /// The database's name.
    pub name: String,
    /// Its URL, for `StoreOptions::database_url` or `--database`.
    pub url: String,
    /// The database it was made from, which the drop connects to.
    admin: String,
    kept: bool,
}

impl PgDatabase {
    /// A fresh database for `test` on the test server, or `None` (after printing the skip
    /// line) when `YIJIAN_TEST_BACKENDS` leaves PostgreSQL out.
    pub async fn for_test(test: &str) -> Option<PgDatabase> {
        if !Backend::Postgres.run_or_skip(test) {
            return None;
        }
        Some(PgDatabase::create().await)
    }

    /// A fresh database on the test server ([`admin_url`]), named `yijian_test_<random>`.
    /// Panics with what to do when the server cannot be reached, and when this run leaves
    /// PostgreSQL out (a test that needs it must ask [`Backend::run_or_skip`] first).
    pub async fn create() -> PgDatabase {
        if !Backend::Postgres.is_selected() {
            panic!(
                "this test needs PostgreSQL, which {BACKENDS_ENV}={} leaves out; it should ask \
                 Backend::Postgres.run_or_skip(…) (or use PgDatabase::for_test) first",
                std::env::var(BACKENDS_ENV).unwrap_or_default()
            );
        }
        let admin = admin_url();
        let name = format!("yijian_test_{:012x}", rand::random::<u64>() >> 16);
        PgDatabase::create_beside(&admin, &name).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {admin} is needed for this test: {e}\n(start it, e.g. with scripts/test; point \
                 {POSTGRES_ENV} at another server; or run without it: {BACKENDS_ENV}=sqlite)"
            )
        })
    }

    /// Creates the database `name` on the server of `server_url` (the URL of any database
    /// there; if that one cannot be reached, the server's `postgres` database is tried).
    /// `name` must be a plain identifier (ASCII lowercase letters, digits, `_`).
    pub async fn create_beside(server_url: &str, name: &str) -> Result<PgDatabase, String> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(format!("`{name}` is not a plain database name"));
        }
        let (mut conn, admin) = match sqlx::PgConnection::connect(server_url).await {
            Ok(conn) => (conn, server_url.to_string()),
            Err(first) => {
                let fallback = with_database(server_url, "postgres");
                match sqlx::PgConnection::connect(&fallback).await {
                    Ok(conn) => (conn, fallback),
                    Err(_) => return Err(format!("cannot connect to {server_url}: {first}")),
                }
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot create database {name}: {e}"))?;
        let _ = conn.close().await;
        Ok(PgDatabase { url: with_database(server_url, name), name: name.to_string(), admin, kept: false })
    }

    /// Keeps the database after this value is gone; returns its URL.
    pub fn keep(mut self) -> String {
        self.kept = true;
        self.url.clone()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs outside async (or inside a runtime that must not block): a thread with a
        // small runtime of its own does the clean-up.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.map_err(|e| e.to_string())?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok::<_, String>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// `url` with its database replaced by `name` (a query string is kept).
fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let base = match main[scheme_end..].find('/') {
        Some(i) => &main[..scheme_end + i],
        None => main,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn another_database_on_the_same_server() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "y"), "postgres://u:p@h/y?sslmode=disable");
        assert_eq!(with_database("postgresql://h:5433", "z"), "postgresql://h:5433/z");
    }
}

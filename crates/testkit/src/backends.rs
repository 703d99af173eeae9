//! The database backends a test run covers.
//!
//! `YIJIAN_TEST_BACKENDS` is a comma-separated list of `sqlite` and `postgres` (default: both).
//! With `YIJIAN_TEST_BACKENDS=sqlite` the suite runs without PostgreSQL: every test (or half of
//! a test) that needs it is skipped and says so on standard error, one line per skip.

use std::fmt;
use std::io::Write;

/// The variable that selects the backends.
pub const BACKENDS_ENV: &str = "YIJIAN_TEST_BACKENDS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    /// The name used in `YIJIAN_TEST_BACKENDS`.
    pub fn key(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Whether this run covers the backend.
    pub fn is_selected(self) -> bool {
        selected_backends().contains(&self)
    }

    /// `true` if the backend is selected; otherwise prints the skip line for `test` and
    /// returns `false`. The caller returns at once on `false`.
    pub fn run_or_skip(self, test: &str) -> bool {
        if self.is_selected() {
            return true;
        }
        // Straight to the process's standard error: the test harness captures `eprintln!` of a
        // passing test, and a skip must be seen.
        let _ = writeln!(std::io::stderr(), "{}", skip_line(self, test));
        false
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// The backends this run covers, from `YIJIAN_TEST_BACKENDS`. Panics on a name it does not
/// know, so that a typo cannot quietly skip a backend.
pub fn selected_backends() -> Vec<Backend> {
    parse(std::env::var(BACKENDS_ENV).ok().as_deref()).unwrap_or_else(|e| panic!("{e}"))
}

fn parse(value: Option<&str>) -> Result<Vec<Backend>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Backend::ALL.to_vec());
    };
    let mut out = vec![];
    for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()) {
        let backend = match name.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            other => {
                return Err(format!(
                    "{BACKENDS_ENV}={value}: unknown backend `{other}` (use sqlite, postgres or both)"
                ));
            }
        };
        if !out.contains(&backend) {
            out.push(backend);
        }
    }
    if out.is_empty() {
        return Err(format!("{BACKENDS_ENV}={value}: names no backend (use sqlite, postgres or both)"));
    }
    Ok(out)
}

/// The line a skipped test prints.
pub fn skip_line(backend: Backend, test: &str) -> String {
    let value = std::env::var(BACKENDS_ENV).unwrap_or_default();
    format!("SKIPPED on {backend}: {BACKENDS_ENV}={value} ({test})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_both() {
        assert_eq!(parse(None), Ok(vec![Backend::Sqlite, Backend::Postgres]));
        assert_eq!(parse(Some(" ")), Ok(vec![Backend::Sqlite, Backend::Postgres]));
    }

    #[test]
    fn names_are_read_in_any_case_once_each() {
        assert_eq!(parse(Some("sqlite")), Ok(vec![Backend::Sqlite]));
        assert_eq!(parse(Some(" Postgres , sqlite,postgresql")), Ok(vec![Backend::Postgres, Backend::Sqlite]));
    }

    #[test]
    fn an_unknown_name_is_an_error_not_a_skip() {
        let err = parse(Some("sqlite,mysql")).unwrap_err();
        assert!(err.contains("unknown backend `mysql`"), "{err}");
        assert!(parse(Some(",")).unwrap_err().contains("names no backend"));
    }

    #[test]
    fn the_skip_line_names_the_backend_and_the_test() {
        let line = skip_line(Backend::Postgres, "it::review::review::postgres");
        assert!(line.starts_with("SKIPPED on PostgreSQL: YIJIAN_TEST_BACKENDS="), "{line}");
        assert!(line.ends_with("(it::review::review::postgres)"), "{line}");
    }
}

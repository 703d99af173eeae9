//! What operating a node needs of the store: readiness, the comment writer's counts for the
//! metrics, the search index's lag, and an online copy of a SQLite database for backups.
//!
//! Nothing here knows Prometheus: the writer counts in plain atomics, and the web layer reads
//! them when it is scraped.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::migrate::Migrator;

use crate::{Backend, Store, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The migrations embedded in this binary for a backend.
pub(crate) fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    }
}

/// Upper bounds of the batch-size histogram's buckets (comments per group commit); a last,
/// unbounded bucket holds larger batches.
pub const BATCH_SIZE_BOUNDS: [u64; 15] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/// The writer's running counts (never reset).
#[derive(Debug, Default)]
pub(crate) struct WriterCounts {
    /// Commits per bucket of [`BATCH_SIZE_BOUNDS`], and one past the last bound.
    buckets: [AtomicU64; BATCH_SIZE_BOUNDS.len() + 1],
    /// Comments in all those commits.
    comments: AtomicU64,
}

impl WriterCounts {
    /// One group commit of `size` comments was tried.
    pub(crate) fn batch(&self, size: usize) {
        let size = size as u64;
        let i = BATCH_SIZE_BOUNDS.iter().position(|&b| size <= b).unwrap_or(BATCH_SIZE_BOUNDS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.comments.fetch_add(size, Ordering::Relaxed);
    }
}

/// The comment writer, as seen at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterStats {
    /// Comments waiting for the writer (not yet in a commit).
    pub queued: usize,
    /// Group commits per bucket: `buckets[i]` counts commits of at most `BATCH_SIZE_BOUNDS[i]`
    /// comments (and more than the bound before); the last entry counts the larger ones.
    pub buckets: Vec<u64>,
    /// Comments in all the commits counted.
    pub comments: u64,
}

impl WriterStats {
    /// Group commits counted.
    pub fn batches(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// How long readiness waits for the database before it says it does not answer.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

impl Store {
    /// The comment writer's queue and the sizes of its commits so far.
    pub fn writer_stats(&self) -> WriterStats {
        let counts = &self.writer_counts;
        WriterStats {
            queued: self.writer.max_capacity().saturating_sub(self.writer.capacity()),
            buckets: counts.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
            comments: counts.comments.load(Ordering::Relaxed),
        }
    }

    /// `Ok` when the database answers, within two seconds, and has every migration this binary
    /// carries applied; else why not, in a few words (for a load balancer's log).
    pub async fn readiness(&self) -> Result<(), String> {
        let applied = tokio::time::timeout(
            READINESS_TIMEOUT,
            sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&self.pool),
        )
        .await
        .map_err(|_| format!("the database did not answer within {} s", READINESS_TIMEOUT.as_secs()))?
        .map_err(|e| format!("the database does not answer: {e}"))?;
        let missing: Vec<String> = migrator(self.backend)
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .map(|m| format!("{:04}", m.version))
            .collect();
        if missing.is_empty() { Ok(()) } else { Err(format!("migrations not applied: {}", missing.join(", "))) }
    }

    /// Comments stored with a row id above `id`: what an index whose high-water mark is `id`
    /// still lacks.
    pub async fn count_comments_after(&self, id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE id > $1").bind(id).fetch_one(&self.pool).await?)
    }

    /// Writes a consistent copy of a SQLite database to `dest` (which must not exist) while
    /// the database stays open for writing: `VACUUM INTO` reads one snapshot, as any reader
    /// does under WAL, so comments committed meanwhile are simply not in the copy. Refused
    /// on PostgreSQL, whose own tools (pg_dump, base backups) do this.
    pub async fn backup_into(&self, dest: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported("an online copy of a PostgreSQL database: use pg_dump"));
        }
        let dest = dest.to_str().ok_or_else(|| StoreError::DataDir {
            path: dest.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not UTF-8"),
        })?;
        sqlx::query("VACUUM INTO $1").bind(dest.to_string()).execute(&self.pool).await?;
        Ok(())
    }
}

/// Checks that the file at `path` is a whole SQLite database of yijian's (its integrity check
/// passes and it has its migrations table), without a key and without changing it.
pub async fn check_sqlite_file(path: &Path) -> Result<(), StoreError> {
    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
    let options = SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check").fetch_one(&mut conn).await?;
    if verdict != "ok" {
        return Err(StoreError::Corrupt(format!("the database's integrity check says: {verdict}")));
    }
    let migrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&mut conn).await?;
    if migrations == 0 {
        return Err(StoreError::Corrupt("no migrations recorded: not a yijian database".into()));
    }
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_counted_in_the_first_bucket_that_holds_it() {
        let counts = WriterCounts::default();
        for size in [1, 2, 3, 1024, 1025, 100_000] {
            counts.batch(size);
        }
        let at = |i: usize| counts.buckets[i].load(Ordering::Relaxed);
        assert_eq!((at(0), at(1), at(2)), (1, 1, 1), "1 ≤ 1, 2 ≤ 2, 3 ≤ 4");
        assert_eq!((at(10), at(11)), (1, 1), "1024 ≤ 1024, 1025 ≤ 2048");
        assert_eq!(at(BATCH_SIZE_BOUNDS.len()), 1, "past the last bound");
        assert_eq!(counts.comments.load(Ordering::Relaxed), 1 + 2 + 3 + 1024 + 1025 + 100_000);
    }
}

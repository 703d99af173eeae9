//! Operating a node: readiness, who may read the metrics, the numbers they read (the comment
//! writer, the mail poll, the search index's lag), and backups of a SQLite installation.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use yijian_domain::staff::Permission;
use yijian_store::{Backend, SessionUser, StoreError, WriterStats};

use crate::{App, Error};

/// The mail poll's passes so far, by outcome.
#[derive(Debug, Default)]
pub struct MailPasses {
    succeeded: AtomicU64,
    failed: AtomicU64,
}

impl MailPasses {
    pub(crate) fn record(&self, ok: bool) {
        let counter = if ok { &self.succeeded } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (passes that succeeded, passes that failed).
    pub fn counts(&self) -> (u64, u64) {
        (self.succeeded.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed))
    }
}

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "yijian backup copies a SQLite installation; this one is on PostgreSQL: back the database up with pg_dump \
         (or the base backups and WAL archiving your PostgreSQL already has) and keep the master key apart \
         (see deploy/README.md)"
    )]
    Postgres,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl App {
    /// `Ok` when the database answers and every migration this binary carries is applied;
    /// else why not.
    pub async fn readiness(&self) -> Result<(), String> {
        self.store.readiness().await
    }

    /// The staff member a bearer token belongs to, if that member may read the metrics.
    pub async fn metrics_reader(&self, token: &str, now: Timestamp) -> Result<SessionUser, Error> {
        let user = self.store.token_user(token, now).await?.ok_or(Error::NotFound("token"))?;
        self.require(&user, Permission::ReadMetrics)?;
        Ok(user)
    }

    /// The comment writer's queue and batch sizes.
    pub fn writer_stats(&self) -> WriterStats {
        self.store.writer_stats()
    }

    /// The mail poll's passes so far: (succeeded, failed).
    pub fn mail_passes(&self) -> (u64, u64) {
        self.mail_passes.counts()
    }

    /// Comments stored but not yet in this node's search index; `None` when search is off.
    pub async fn search_index_lag(&self) -> Result<Option<i64>, Error> {
        let Some(index) = &self.search else { return Ok(None) };
        Ok(Some(self.store.count_comments_after(index.high_water()).await?))
    }

    /// Copies the SQLite database, consistently, to `dest` (a path that does not exist yet)
    /// while the installation keeps taking comments.
    pub async fn backup_database(&self, dest: &Path) -> Result<(), BackupError> {
        if self.store.backend() == Backend::Postgres {
            return Err(BackupError::Postgres);
        }
        Ok(self.store.backup_into(dest).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_are_counted_by_outcome() {
        let passes = MailPasses::default();
        passes.record(true);
        passes.record(true);
        passes.record(false);
        assert_eq!(passes.counts(), (2, 1));
    }
}

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
    /// Gives up the leases this node holds (the mail poll, the campaign and suggestion passes)
    /// when it stops, so that another node sharing the database takes the work over at its next
    /// tick instead of when the lease expires.
    pub async fn release_leases(&self) -> Result<(), Error> {
        let me = crate::mail::node_name();
        for name in [crate::mail::POLL_LEASE, crate::campaigns::LEASE, crate::suggestions::LEASE] {
            self.store.release_lease(name, &me).await?;
        }
        Ok(())
    }

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

    /// Puts a backup on record before anything is copied (a backup holds every comment's sealed
    /// personal data, so who made one, and where, must be on record): the entry is in the copy
    /// it announces, and its anchor too.
    pub async fn record_backup(&self, actor: &str, output: &Path, now: Timestamp) -> Result<(), Error> {
        let entry =
            yijian_store::Audit::new(actor, "backup.made", "installation", format!("output={}", output.display()));
        self.store.audit(now, entry).await?;
        Ok(())
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

//! Reviewing: the queue (filters and full-text search), one comment (masked, or revealed to an
//! admin who gives a reason), the actions staff take on one comment or on a whole filtered set,
//! and the dashboard's figures. Each change of a comment is audited in its transaction.

use jiff::Timestamp;
use yijian_domain::receipt::Receipt;
use yijian_domain::review::{QueueFilter, ReviewAction};
use yijian_domain::staff::{AuditReason, Permission};
use yijian_store::{Audit, Dashboard, QueuePage, SessionUser, StoredComment, Target};

use crate::{App, Error, LiveConsultation};

/// At most this many search hits feed a page or a bulk action; the page says so when a search
/// finds more.
pub const SEARCH_CAP: usize = 10_000;

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum SearchFailure {
    #[error("full-text search is not available")]
    Unavailable,
    #[error("search failed: {0}")]
    Failed(String),
}

impl App {
    /// The full-text part of a filter: the matching ids, newest first, at most [`SEARCH_CAP`],
    /// and the exact number of matches. `None` when the filter has no text.
    pub async fn search_ids(
        &self,
        consultation: &str,
        filter: &QueueFilter,
    ) -> Result<Option<(Vec<i64>, usize)>, SearchFailure> {
        let Some(text) = filter.text.clone() else { return Ok(None) };
        let Some(index) = self.search.clone() else { return Err(SearchFailure::Unavailable) };
        let id = consultation.to_string();
        let hits = tokio::task::spawn_blocking(move || index.search(&id, &text, SEARCH_CAP))
            .await
            .map_err(|e| SearchFailure::Failed(e.to_string()))?
            .map_err(|e| SearchFailure::Failed(e.to_string()))?;
        Ok(Some((hits.ids, hits.total)))
    }

    /// A page of the queue: the comments matching `filter` (and, with a search, `hits`).
    pub async fn queue(
        &self,
        user: &SessionUser,
        consultation: &str,
        filter: &QueueFilter,
        hits: Option<&[i64]>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<QueuePage, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.queue(consultation, filter, hits, before, limit).await?)
    }

    /// Applies an action to the comments a target names and returns how many changed. Each
    /// comment's change is audited with it; a bulk action is also recorded as given.
    pub async fn review(
        &self,
        user: &SessionUser,
        c: &LiveConsultation,
        target: Target<'_>,
        action: &ReviewAction,
        now: Timestamp,
    ) -> Result<u64, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.apply_review(&user.name, &c.meta.id, target, action, now).await?)
    }

    /// One comment, personal data masked when printed.
    pub async fn comment(&self, user: &SessionUser, receipt: &Receipt) -> Result<Option<StoredComment>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.comment(receipt).await?)
    }

    /// One comment for an admin who gives a reason to see its personal data unmasked. The
    /// reveal is audited before the comment is read: no entry, no reveal.
    pub async fn reveal(
        &self,
        user: &SessionUser,
        receipt: &Receipt,
        reason: &AuditReason,
        now: Timestamp,
    ) -> Result<Option<StoredComment>, Error> {
        self.require(user, Permission::RevealPersonalData)?;
        let entry = Audit::new(&user.name, "reveal.personal_data", &receipt.to_string(), format!("reason={reason}"));
        self.store.audit(now, entry).await?;
        Ok(self.store.comment(receipt).await?)
    }

    /// The other comments made with the same ID number (found by its keyed hash).
    pub async fn receipts_by_id_number(
        &self,
        user: &SessionUser,
        id: &yijian_domain::pii::IdNumber,
    ) -> Result<Vec<Receipt>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.receipts_by_id_number(id).await?)
    }

    /// The dashboard's figures, with days counted in the consultation's time zone.
    pub async fn dashboard(&self, user: &SessionUser, c: &LiveConsultation) -> Result<Dashboard, Error> {
        self.require(user, Permission::Review)?;
        let offset = c.tz.to_offset(c.meta.opens_at).seconds() as i64;
        Ok(self.store.dashboard(&c.meta.id, offset).await?)
    }
}

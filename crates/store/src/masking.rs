//! The one-time pass over rows stored before numbers in free text were masked (migration 0009):
//! their opinions still hold ID and phone numbers in clear, and their mails' text is unsealed.
//!
//! A migration cannot run Rust (the masking is `yijian_domain::pii`, the sealing needs the master
//! key), so [`Store::open`] runs this after the migrations. It works in batches, each its own
//! transaction that also records how far it got, so it resumes where a crash left it; a second
//! run finds nothing to do. A new row never needs it: the store masks and seals on the way in.

use sqlx::Row;
use yijian_domain::pii::mask_sensitive;
use yijian_domain::receipt::Receipt;

use crate::comments::aad;
use crate::{Store, StoreError};

/// Rows per transaction.
const BATCH: i64 = 500;

/// What the pass changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaskingDone {
    /// Comments whose opinion (or excerpt) held a number, now masked with the opinion sealed.
    pub comments: u64,
    /// Mails whose text was sealed.
    pub mails: u64,
}

impl Store {
    /// Masks and seals what rows stored before migration 0009 hold in clear (see the module's
    /// notes). Asks for the search index to be rebuilt when an opinion changed, since the index
    /// holds the old words. Idempotent.
    pub async fn mask_stored_personal_data(&self) -> Result<MaskingDone, StoreError> {
        let mut done = MaskingDone::default();
        while let Some(n) = self.mask_comment_batch().await? {
            done.comments += n;
        }
        loop {
            let n = self.seal_mail_text_batch().await?;
            if n == 0 {
                break;
            }
            done.mails += n;
        }
        if done.comments > 0 {
            self.request_search_reindex().await?;
        }
        if done != MaskingDone::default() {
            tracing::info!(
                comments = done.comments,
                mails = done.mails,
                "masked the ID and phone numbers stored in clear before this version"
            );
        }
        Ok(done)
    }

    /// One batch of the comments' backlog: `None` once there is none left.
    async fn mask_comment_batch(&self) -> Result<Option<u64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(backlog) =
            sqlx::query("SELECT through_id, done_id FROM masking_backlog").fetch_optional(&mut *tx).await?
        else {
            return Ok(None);
        };
        let (through, after): (i64, i64) = (backlog.try_get(0)?, backlog.try_get(1)?);
        let rows = sqlx::query(
            "SELECT id, receipt, opinion, excerpt FROM comments WHERE id > $1 AND id <= $2 AND opinion_enc IS NULL \
             ORDER BY id LIMIT $3",
        )
        .bind(after)
        .bind(through)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last().map(|r| r.try_get::<i64, _>(0)).transpose()? else {
            sqlx::query("DELETE FROM masking_backlog").execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(None);
        };
        let mut changed = 0;
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let receipt: String = row.try_get(1)?;
            let receipt = Receipt::parse(&receipt).ok_or_else(|| StoreError::Corrupt(format!("receipt {receipt}")))?;
            let opinion: String = row.try_get(2)?;
            let excerpt: Option<String> = row.try_get(3)?;
            let masked = mask_sensitive(&opinion);
            let masked_excerpt = excerpt.as_deref().map(mask_sensitive);
            let excerpt_changed = masked_excerpt.as_ref().is_some_and(|e| matches!(e, std::borrow::Cow::Owned(_)));
            if matches!(masked, std::borrow::Cow::Borrowed(_)) && !excerpt_changed {
                continue;
            }
            let sealed = matches!(masked, std::borrow::Cow::Owned(_))
                .then(|| self.keys.seal(opinion.as_bytes(), &aad("opinion", &receipt)));
            sqlx::query("UPDATE comments SET opinion = $1, opinion_enc = $2, excerpt = $3 WHERE id = $4")
                .bind(masked.into_owned())
                .bind(sealed)
                .bind(masked_excerpt.map(|e| e.into_owned()))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changed += 1;
        }
        sqlx::query("UPDATE masking_backlog SET done_id = $1").bind(last).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(changed))
    }

    /// Seals one batch of the mails whose text is still in clear; returns how many.
    async fn seal_mail_text_batch(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query("SELECT id, message_key, full_text FROM mails WHERE full_text IS NOT NULL LIMIT $1")
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let key: String = row.try_get(1)?;
            let text: String = row.try_get(2)?;
            sqlx::query("UPDATE mails SET full_text_enc = $1, full_text = NULL WHERE id = $2")
                .bind(self.keys.seal(text.as_bytes(), &crate::mail::full_text_aad(&key)))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }
}

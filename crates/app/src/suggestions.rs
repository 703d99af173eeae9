//! Article suggestions (issue 14): which articles of the draft each comment seems to speak to,
//! for every channel, found off the intake's write path, and confirmed or not by staff.
//!
//! `yijian articles suggest` ([`App::suggest_articles`]) reads every comment of a consultation
//! and replaces its open suggestions (what staff accepted or rejected stays). Inside `serve`, a
//! background pass ([`App::spawn_suggestion_pass`]) reads the comments that arrived since it
//! last looked, so a new comment has its suggestions within seconds, and under a flood the pass
//! catches up afterwards. Where several nodes share the database, one node (the holder of the
//! `suggestions` lease) runs it.
//!
//! Accepting and rejecting are review actions (`ReviewAction::AcceptSuggestion`,
//! `RejectSuggestion`), on one comment or a whole filter, audited with each comment.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yijian_analysis::articles::ArticleIndex;
use yijian_domain::consultation::Consultation;
use yijian_domain::staff::Permission;
use yijian_domain::suggestion::ArticleSuggestion;
use yijian_store::{SessionUser, StoredComment, StoredSuggestion, SuggestionText};

use crate::{App, Error};

/// Comments read (and saved, in one short transaction) at a time.
const BATCH: i64 = 2_000;
pub(crate) const LEASE: &str = "suggestions";

/// What a full run did: `{"comments": N, "suggested": M, "seconds": S}`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SuggestOutcome {
    /// Comments looked at.
    pub comments: u64,
    /// Comments given at least one suggestion.
    pub suggested: u64,
    pub seconds: f64,
}

/// Each consultation's article index, built once per version of its draft.
#[derive(Default)]
pub(crate) struct Indexes {
    by_consultation: std::sync::Mutex<HashMap<String, (String, Arc<ArticleIndex>)>>,
}

/// The suggestions of one comment, less the articles it is linked to already: a link the
/// citizen (or staff) made is never suggested again, and never changed by a suggestion.
fn suggest_one(index: &ArticleIndex, text: &SuggestionText) -> Vec<ArticleSuggestion> {
    index.suggest(&text.opinion).into_iter().filter(|s| !text.articles.contains(&s.article)).collect()
}

impl App {
    fn article_index(&self, c: &Consultation) -> Arc<ArticleIndex> {
        let mut cache = self.article_indexes.by_consultation.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((sha, index)) = cache.get(&c.meta.id)
            && *sha == c.content_sha256
        {
            return index.clone();
        }
        let index = Arc::new(ArticleIndex::new(&c.document));
        cache.insert(c.meta.id.clone(), (c.content_sha256.clone(), index.clone()));
        index
    }

    /// Suggests articles for the comments of a consultation above `after`, batch by batch;
    /// with `replace_open`, each comment's open suggestions are replaced. Returns (comments,
    /// comments given a suggestion).
    async fn suggest_from(&self, c: &Consultation, after: i64, replace_open: bool) -> Result<(u64, u64), Error> {
        let index = self.article_index(c);
        let (mut after, mut comments, mut suggested) = (after, 0u64, 0u64);
        loop {
            let batch = self.store.suggestion_texts(&c.meta.id, after, BATCH).await?;
            let Some(last) = batch.last().map(|t| t.id) else { break };
            let index = index.clone();
            let suggest = move || batch.iter().map(|t| (t.id, suggest_one(&index, t))).collect::<Vec<_>>();
            // The background pass gives way to the intake; a full run (`yijian articles suggest`) does not.
            let found = if replace_open {
                tokio::task::spawn_blocking(suggest).await.map_err(|e| e.to_string())
            } else {
                crate::below_intake(suggest).await
            }
            .map_err(|e| Error::Storage(format!("article suggestions failed: {e}")))?;
            comments += found.len() as u64;
            suggested += found.iter().filter(|(_, s)| !s.is_empty()).count() as u64;
            self.store.save_suggestions(&c.meta.id, &found, replace_open, last).await?;
            after = last;
        }
        Ok((comments, suggested))
    }

    /// Suggests articles for every comment of a consultation afresh (`yijian articles
    /// suggest`): open suggestions are replaced; accepted and rejected ones stay.
    pub async fn suggest_articles(&self, c: &Consultation) -> Result<SuggestOutcome, Error> {
        let started = Instant::now();
        let (comments, suggested) = self.suggest_from(c, 0, true).await?;
        Ok(SuggestOutcome { comments, suggested, seconds: started.elapsed().as_secs_f64() })
    }

    /// Suggests articles for the comments that arrived since the last pass, in every
    /// consultation. Returns how many comments were looked at.
    pub async fn suggestion_pass(&self) -> Result<u64, Error> {
        let mut looked = 0;
        for summary in self.store.list_consultations().await? {
            let Some(c) = self.consultation(&summary.id).await? else { continue };
            let progress = self.store.suggestion_progress(&c.meta.id).await?;
            looked += self.suggest_from(&c, progress, false).await?.0;
        }
        Ok(looked)
    }

    /// Runs [`App::suggestion_pass`] every `every` until the process ends, on the node that
    /// holds the `suggestions` lease.
    pub fn spawn_suggestion_pass(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        self.spawn_leased(LEASE, every, |app, _, held| {
            Box::pin(async move { if held { app.suggestion_pass().await } else { Ok(0) } })
        })
    }

    /// A comment's suggestions, whatever their state, for staff who may review.
    pub async fn comment_suggestions(
        &self,
        user: &SessionUser,
        comment: &StoredComment,
    ) -> Result<Vec<StoredSuggestion>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.comment_suggestions(&comment.consultation_id, comment.id).await?)
    }

    /// The open suggestions of some comments (a queue page), by comment.
    pub async fn open_suggestions(
        &self,
        user: &SessionUser,
        consultation_id: &str,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<ArticleSuggestion>>, Error> {
        self.require(user, Permission::Review)?;
        Ok(self.store.open_suggestions(consultation_id, ids).await?)
    }
}

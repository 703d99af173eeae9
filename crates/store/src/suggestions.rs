//! What the suggestion pass (`app::suggestions`) reads and writes: comments' texts and links,
//! the `article_suggestions` rows, and how far each consultation has been read (issue 14).
//!
//! A suggestion is only ever inserted where none exists for that comment and article, and a
//! full re-run replaces open suggestions only: what staff accepted or rejected stays. Accepting
//! and rejecting are review actions ([`crate::review`]), audited with the comment.

use std::collections::HashMap;

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::suggestion::{ArticleSuggestion, SuggestionKind};

use crate::{Store, StoreError, from_micros};

/// A comment as the suggestion pass reads it.
#[derive(Debug, Clone)]
pub struct SuggestionText {
    pub id: i64,
    pub opinion: String,
    /// The articles the comment is linked to already (by the citizen or staff): never suggested.
    pub articles: Vec<u32>,
}

/// Where a suggestion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SuggestionState {
    Open,
    Accepted,
    Rejected,
}

impl SuggestionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionState::Open => "open",
            SuggestionState::Accepted => "accepted",
            SuggestionState::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Option<SuggestionState> {
        match s {
            "open" => Some(SuggestionState::Open),
            "accepted" => Some(SuggestionState::Accepted),
            "rejected" => Some(SuggestionState::Rejected),
            _ => None,
        }
    }
}

/// A suggestion with what staff did with it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredSuggestion {
    #[serde(flatten)]
    pub suggestion: ArticleSuggestion,
    pub state: SuggestionState,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}

fn articles_of(json: &str) -> Result<Vec<u32>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("comment articles: {e}")))
}

fn suggestion_of(article: i64, confidence: f64, kind: &str) -> Result<ArticleSuggestion, StoreError> {
    let kind = SuggestionKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("suggestion kind {kind}")))?;
    Ok(ArticleSuggestion::new(article as u32, confidence, kind))
}

/// Rows per INSERT: five parameters each, well under both backends' limits.
const INSERT_ROWS: usize = 200;

impl Store {
    /// How far the pass has read a consultation's comments (a comment id; 0 if never).
    pub async fn suggestion_progress(&self, consultation_id: &str) -> Result<i64, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT through_id FROM suggestion_progress WHERE consultation_id = $1")
                .bind(consultation_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(v.unwrap_or(0))
    }

    /// Up to `limit` of a consultation's comments with ids above `after`, in id order.
    pub async fn suggestion_texts(
        &self,
        consultation_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<SuggestionText>, StoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, opinion, articles FROM comments WHERE consultation_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(consultation_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, opinion, articles)| Ok(SuggestionText { id, opinion, articles: articles_of(&articles)? }))
            .collect()
    }

    /// Saves the suggestions found for some comments (every comment looked at is listed, with
    /// an empty list where nothing was found) and moves the consultation's mark to `through_id`
    /// (never back), in one transaction. With `replace_open`, the comments' open suggestions
    /// are dropped first (a full re-run); accepted and rejected ones always stay, and a new
    /// suggestion never overwrites them.
    pub async fn save_suggestions(
        &self,
        consultation_id: &str,
        found: &[(i64, Vec<ArticleSuggestion>)],
        replace_open: bool,
        through_id: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        if replace_open && !found.is_empty() {
            // Ids come from the database, never from a request: written in.
            let list: Vec<String> = found.iter().map(|(id, _)| id.to_string()).collect();
            let sql = format!(
                "DELETE FROM article_suggestions WHERE consultation_id = $1 AND state = 'open' AND comment_id IN ({})",
                list.join(",")
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(consultation_id).execute(&mut *tx).await?;
        }
        let rows: Vec<(i64, &ArticleSuggestion)> =
            found.iter().flat_map(|(id, list)| list.iter().map(move |s| (*id, s))).collect();
        let mut inserted = 0;
        for chunk in rows.chunks(INSERT_ROWS) {
            let sql = format!(
                "INSERT INTO article_suggestions (consultation_id, comment_id, article, confidence, kind) VALUES {} \
                 ON CONFLICT DO NOTHING",
                self.backend.values(chunk.len(), 5)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, s) in chunk {
                q = q.bind(consultation_id).bind(*id).bind(s.article as i64).bind(s.confidence).bind(s.kind.as_str());
            }
            inserted += q.execute(&mut *tx).await?.rows_affected();
        }
        sqlx::query(
            "INSERT INTO suggestion_progress (consultation_id, through_id) VALUES ($1, $2) \
             ON CONFLICT (consultation_id) DO UPDATE SET through_id = CASE WHEN excluded.through_id > \
             suggestion_progress.through_id THEN excluded.through_id ELSE suggestion_progress.through_id END",
        )
        .bind(consultation_id)
        .bind(through_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Every suggestion of one comment, whatever its state, by article.
    pub async fn comment_suggestions(
        &self,
        consultation_id: &str,
        comment_id: i64,
    ) -> Result<Vec<StoredSuggestion>, StoreError> {
        let rows = sqlx::query(
            "SELECT article, confidence, kind, state, decided_by, decided_at FROM article_suggestions \
             WHERE consultation_id = $1 AND comment_id = $2 ORDER BY article",
        )
        .bind(consultation_id)
        .bind(comment_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get(3)?;
                Ok(StoredSuggestion {
                    suggestion: suggestion_of(r.try_get(0)?, r.try_get(1)?, &r.try_get::<String, _>(2)?)?,
                    state: SuggestionState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("suggestion state {state}")))?,
                    decided_by: r.try_get(4)?,
                    decided_at: r.try_get::<Option<i64>, _>(5)?.map(from_micros).transpose()?,
                })
            })
            .collect()
    }

    /// The open suggestions of some comments (a queue page, an export page), by comment, each
    /// list by article.
    pub async fn open_suggestions(
        &self,
        consultation_id: &str,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<ArticleSuggestion>>, StoreError> {
        let mut out: HashMap<i64, Vec<ArticleSuggestion>> = HashMap::new();
        for chunk in ids.chunks(1000) {
            // Ids come from the database (a page), never from a request: written in.
            let list: Vec<String> = chunk.iter().map(|i| i.to_string()).collect();
            let sql = format!(
                "SELECT comment_id, article, confidence, kind FROM article_suggestions WHERE consultation_id = $1 \
                 AND state = 'open' AND comment_id IN ({}) ORDER BY comment_id, article",
                list.join(",")
            );
            let rows: Vec<(i64, i64, f64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(consultation_id).fetch_all(&self.pool).await?;
            for (id, article, confidence, kind) in rows {
                out.entry(id).or_default().push(suggestion_of(article, confidence, &kind)?);
            }
        }
        Ok(out)
    }
}

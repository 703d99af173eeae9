//! The review queue: filtered pages of comments, the actions staff take on one comment or on a
//! whole filtered set, the figures for the dashboard, and whole-consultation scans for exports
//! and the adoption report.
//!
//! Pages are keyset-paged (`id < before`, newest first) so that page 500 costs what page 1
//! does; counts stop at [`COUNT_CAP`] so a broad filter over a million comments stays fast.

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::receipt::Receipt;
use yijian_domain::review::{Disposition, ModerationFilter, QueueFilter, ReviewAction, ReviewStatus};

use crate::comments::COMMENT_COLUMNS;
use crate::{Backend, Store, StoreError, StoredComment, from_micros, micros};

/// Counts above this are shown as "more than".
pub const COUNT_CAP: i64 = 10_000;

/// A bulk action changes this many comments per transaction, so the intake's writer never
/// waits long behind it.
const BULK_CHUNK: usize = 2_000;

/// One line of the queue: enough to triage without opening the comment.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub id: i64,
    pub receipt: Receipt,
    pub submitted_at: Timestamp,
    pub channel: String,
    pub name: Option<String>,
    pub position: Option<String>,
    pub articles: Vec<u32>,
    /// The first characters of the opinion.
    pub opening: String,
    pub opinion_chars: usize,
    pub disposition: Option<Disposition>,
    pub moderation: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Matching comments, at most [`COUNT_CAP`]; `capped` says there are more.
    pub total: i64,
    pub capped: bool,
    /// Pass as `before` for the next page.
    pub next_before: Option<i64>,
}

/// Which comments an action touches.
#[derive(Debug, Clone)]
pub enum Target<'a> {
    One(Receipt),
    /// Every comment the filter selects; `ids` narrows it to full-text search hits.
    Filtered {
        filter: &'a QueueFilter,
        ids: Option<&'a [i64]>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no such comment")]
    NotFound,
    #[error("an excerpt must be a passage of the opinion")]
    ExcerptNotInOpinion,
    #[error("an excerpt is chosen for one comment at a time")]
    ExcerptInBulk,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Store(StoreError::Database(e))
    }
}

#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

/// A WHERE clause with its parameters, numbered `$1…` in order (SQLite takes `$N` too).
struct Clause {
    sql: String,
    binds: Vec<Bind>,
}

impl Clause {
    fn new() -> Clause {
        Clause { sql: String::from("1 = 1"), binds: vec![] }
    }
    fn push(&mut self, sql_with_placeholder: &str, bind: Bind) {
        self.binds.push(bind);
        let n = self.binds.len();
        self.sql.push_str(" AND ");
        self.sql.push_str(&sql_with_placeholder.replace("$?", &format!("${n}")));
    }
    fn raw(&mut self, sql: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(sql);
    }
    fn next_placeholder(&self) -> String {
        format!("${}", self.binds.len() + 1)
    }
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn filter_clause(consultation_id: &str, f: &QueueFilter, ids: Option<&[i64]>) -> Clause {
    let mut c = Clause::new();
    c.push("consultation_id = $?", Bind::Text(consultation_id.to_string()));
    match f.status {
        Some(ReviewStatus::Received) => c.raw("disposition IS NULL"),
        Some(ReviewStatus::Disposed) => c.raw("disposition IS NOT NULL"),
        None => {}
    }
    if let Some(a) = f.article {
        let p1 = c.next_placeholder();
        c.binds.push(Bind::Text(consultation_id.to_string()));
        let p2 = c.next_placeholder();
        c.binds.push(Bind::Int(a as i64));
        c.raw(&format!(
            "id IN (SELECT comment_id FROM comment_articles WHERE consultation_id = {p1} AND article = {p2})"
        ));
    }
    if let Some(p) = &f.position {
        c.push("position = $?", Bind::Text(p.clone()));
    }
    if let Some(ch) = f.channel {
        c.push("channel = $?", Bind::Text(ch.as_str().to_string()));
    }
    if let Some(t) = f.from {
        c.push("submitted_at >= $?", Bind::Int(micros(t)));
    }
    if let Some(t) = f.until {
        c.push("submitted_at < $?", Bind::Int(micros(t)));
    }
    if let Some(d) = f.disposition {
        c.push("disposition = $?", Bind::Text(d.as_str().to_string()));
    }
    match f.moderation {
        Some(ModerationFilter::Unmarked) => c.raw("moderation IS NULL"),
        Some(ModerationFilter::Any) => c.raw("moderation IS NOT NULL"),
        Some(ModerationFilter::Is(m)) => c.push("moderation = $?", Bind::Text(m.as_str().to_string())),
        None => {}
    }
    if let Some(tag) = &f.tag {
        c.push("tags LIKE $? ESCAPE '\\'", Bind::Text(format!("%\"{}\"%", escape_like(tag))));
    }
    if let Some(ids) = ids {
        if ids.is_empty() {
            c.raw("1 = 0");
        } else {
            // The ids come from the search index, never from a request: integers, inlined so
            // that ten thousand of them need no bound parameters.
            let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            c.raw(&format!("id IN ({})", list.join(",")));
        }
    }
    c
}

/// How many characters of an opinion the queue shows.
const OPENING_CHARS: usize = 120;

impl Store {
    /// One page of a consultation's comments, newest first.
    pub async fn queue(
        &self,
        consultation_id: &str,
        filter: &QueueFilter,
        ids: Option<&[i64]>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<QueuePage, StoreError> {
        let clause = filter_clause(consultation_id, filter, ids);
        let count_sql =
            format!("SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE {} LIMIT {}) t", clause.sql, COUNT_CAP + 1);
        let total: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(count_sql)), &clause.binds)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let mut page = clause;
        if let Some(b) = before {
            page.push("id < $?", Bind::Int(b));
        }
        let sql = format!(
            "SELECT id, receipt, submitted_at, channel, name, position, articles, \
                    {opening}, {length}, disposition, moderation, tags \
             FROM comments WHERE {} ORDER BY id DESC LIMIT {}",
            page.sql,
            limit + 1,
            opening = match self.backend {
                Backend::Sqlite => format!("substr(opinion, 1, {OPENING_CHARS})"),
                Backend::Postgres => format!("substring(opinion from 1 for {OPENING_CHARS})"),
            },
            length = match self.backend {
                Backend::Sqlite => "length(opinion)",
                Backend::Postgres => "char_length(opinion)",
            },
        );
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &page.binds).fetch_all(&self.pool).await?;
        let mut items = Vec::with_capacity(limit);
        for row in rows.iter().take(limit) {
            let receipt: String = row.try_get(1)?;
            let articles: String = row.try_get(6)?;
            let tags: String = row.try_get(11)?;
            let disposition: Option<String> = row.try_get(9)?;
            items.push(QueueItem {
                id: row.try_get(0)?,
                receipt: Receipt::parse(&receipt).ok_or_else(|| StoreError::Corrupt(format!("receipt {receipt}")))?,
                submitted_at: from_micros(row.try_get(2)?)?,
                channel: row.try_get(3)?,
                name: row.try_get(4)?,
                position: row.try_get(5)?,
                articles: serde_json::from_str(&articles).unwrap_or_default(),
                opening: row.try_get(7)?,
                opinion_chars: row.try_get::<i64, _>(8)? as usize,
                disposition: disposition.as_deref().and_then(Disposition::parse),
                moderation: row.try_get(10)?,
                tags: serde_json::from_str(&tags).unwrap_or_default(),
            });
        }
        let next_before = if rows.len() > limit { items.last().map(|i| i.id) } else { None };
        Ok(QueuePage { items, total: total.min(COUNT_CAP), capped: total > COUNT_CAP, next_before })
    }

    /// Applies an action and returns how many comments it changed. A bulk action goes in
    /// chunks of [`BULK_CHUNK`], each its own short transaction.
    pub async fn apply_review(
        &self,
        actor: &str,
        consultation_id: &str,
        target: Target<'_>,
        action: &ReviewAction,
        now: Timestamp,
    ) -> Result<u64, ReviewError> {
        match target {
            Target::One(receipt) => {
                let id: Option<(i64, String)> =
                    sqlx::query_as("SELECT id, opinion FROM comments WHERE receipt = $1 AND consultation_id = $2")
                        .bind(receipt.compact())
                        .bind(consultation_id)
                        .fetch_optional(&self.pool)
                        .await?;
                let (id, opinion) = id.ok_or(ReviewError::NotFound)?;
                if let ReviewAction::Excerpt(Some(e)) = action
                    && !opinion.contains(e.trim())
                {
                    return Err(ReviewError::ExcerptNotInOpinion);
                }
                self.update_ids(actor, &[id], action, now).await
            }
            Target::Filtered { filter, ids } => {
                if matches!(action, ReviewAction::Excerpt(_)) {
                    return Err(ReviewError::ExcerptInBulk);
                }
                // Collect the ids first (newest first, keyset), then change them chunk by chunk:
                // a change that moves a comment out of the filter cannot make the walk skip any.
                let clause = filter_clause(consultation_id, filter, ids);
                let sql = format!("SELECT id FROM comments WHERE {} ORDER BY id", clause.sql);
                let all: Vec<i64> = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &clause.binds)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?;
                let mut changed = 0;
                for chunk in all.chunks(BULK_CHUNK) {
                    changed += self.update_ids(actor, chunk, action, now).await?;
                }
                Ok(changed)
            }
        }
    }

    async fn update_ids(
        &self,
        actor: &str,
        ids: &[i64],
        action: &ReviewAction,
        now: Timestamp,
    ) -> Result<u64, ReviewError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let (set, binds): (String, Vec<Bind>) = match action {
            ReviewAction::LinkArticles(list) => {
                let mut list = list.clone();
                list.sort_unstable();
                list.dedup();
                ("articles = $3".into(), vec![Bind::Text(serde_json::to_string(&list).expect("numbers"))])
            }
            ReviewAction::AddTag(t) => (
                match self.backend {
                    Backend::Sqlite => "tags = CASE WHEN EXISTS (SELECT 1 FROM json_each(tags) WHERE value = $3) \
                                        THEN tags ELSE json_insert(tags, '$[#]', $3) END"
                        .into(),
                    Backend::Postgres => "tags = CASE WHEN jsonb_exists(tags::jsonb, $3) THEN tags \
                                          ELSE (tags::jsonb || to_jsonb($3::text))::text END"
                        .into(),
                },
                vec![Bind::Text(t.clone())],
            ),
            ReviewAction::RemoveTag(t) => (
                match self.backend {
                    Backend::Sqlite => "tags = (SELECT COALESCE(json_group_array(value), '[]') FROM json_each(tags) \
                                        WHERE value <> $3)"
                        .into(),
                    Backend::Postgres => "tags = (tags::jsonb - $3::text)::text".into(),
                },
                vec![Bind::Text(t.clone())],
            ),
            ReviewAction::Moderate(m, reason) => (
                "moderation = $3, moderation_reason = $4".into(),
                match m {
                    Some(m) => vec![Bind::Text(m.as_str().into()), Bind::Text(reason.trim().into())],
                    None => vec![],
                },
            ),
            ReviewAction::Dispose(d, reason) => (
                "disposition = $3, disposition_reason = $4, status = $5".into(),
                match d {
                    Some(d) => vec![
                        Bind::Text(d.as_str().into()),
                        Bind::Text(reason.trim().into()),
                        Bind::Text(ReviewStatus::Disposed.as_str().into()),
                    ],
                    None => vec![],
                },
            ),
            ReviewAction::Excerpt(e) => {
                ("excerpt = $3".into(), e.as_ref().map(|e| vec![Bind::Text(e.trim().into())]).unwrap_or_default())
            }
        };
        // A cleared mark, disposition or excerpt binds NULLs in place of the missing values.
        let set = match (action, binds.is_empty()) {
            (ReviewAction::Moderate(..), true) => "moderation = NULL, moderation_reason = NULL".to_string(),
            (ReviewAction::Dispose(..), true) => {
                format!("disposition = NULL, disposition_reason = NULL, status = '{}'", ReviewStatus::Received.as_str())
            }
            (ReviewAction::Excerpt(_), true) => "excerpt = NULL".to_string(),
            _ => set,
        };
        let sql =
            format!("UPDATE comments SET {set}, reviewed_by = $1, reviewed_at = $2 WHERE id IN ({})", list.join(","));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(actor).bind(micros(now));
        for b in &binds {
            q = match b {
                Bind::Text(s) => q.bind(s.as_str()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        Ok(q.execute(&self.pool).await?.rows_affected())
    }

    /// Up to `limit` comments of a consultation with ids above `after`, in arrival order,
    /// personal data decrypted (still masked when printed). Exports and the report walk a
    /// consultation with this, page by page, so no read transaction stays open across a
    /// million rows and the intake keeps writing meanwhile.
    pub async fn comments_page(
        &self,
        consultation_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredComment>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COMMENT_COLUMNS} FROM comments WHERE consultation_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        )))
        .bind(consultation_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| self.comment_from_row(row)).collect()
    }

    /// Comments with ids above `after`, for the search indexer: (id, consultation, opinion).
    pub async fn comments_after(&self, after: i64, limit: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT id, consultation_id, opinion FROM comments WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The figures behind the dashboard's charts.
    pub async fn dashboard(&self, consultation_id: &str, utc_offset_seconds: i64) -> Result<Dashboard, StoreError> {
        let day = 86_400_000_000i64;
        let offset = utc_offset_seconds * 1_000_000;
        let per_day: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (submitted_at + {offset}) / {day} AS d, COUNT(*) FROM comments WHERE consultation_id = $1 \
             GROUP BY d ORDER BY d"
        )))
        .bind(consultation_id)
        .fetch_all(&self.pool)
        .await?;
        let group = |column: &'static str| {
            let sql = format!(
                "SELECT COALESCE({column}, ''), COUNT(*) FROM comments WHERE consultation_id = $1 \
                 GROUP BY COALESCE({column}, '') ORDER BY COUNT(*) DESC"
            );
            async move {
                sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql))
                    .bind(consultation_id)
                    .fetch_all(&self.pool)
                    .await
            }
        };
        let by_article: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT article, COUNT(*) FROM comment_articles WHERE consultation_id = $1 GROUP BY article ORDER BY article",
        )
        .bind(consultation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Dashboard {
            per_day: per_day
                .into_iter()
                .filter_map(|(d, n)| {
                    let t = Timestamp::from_second(d * 86_400).ok()?;
                    Some((t.to_zoned(jiff::tz::TimeZone::UTC).date(), n))
                })
                .collect(),
            by_article: by_article.into_iter().map(|(a, n)| (a as u32, n)).collect(),
            by_position: group("position").await?,
            by_channel: group("channel").await?,
            by_disposition: group("disposition").await?,
            by_moderation: group("moderation").await?,
        })
    }

    /// Counts of comments by article for one consultation.
    pub async fn article_counts(&self, consultation_id: &str) -> Result<Vec<(u32, i64)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT article, COUNT(*) FROM comment_articles WHERE consultation_id = $1 GROUP BY article ORDER BY article",
        )
        .bind(consultation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(a, n)| (a as u32, n)).collect())
    }
}

/// Figures per local day, article, position, channel, disposition and moderation mark.
/// An empty string stands for "none".
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub per_day: Vec<(jiff::civil::Date, i64)>,
    pub by_article: Vec<(u32, i64)>,
    pub by_position: Vec<(String, i64)>,
    pub by_channel: Vec<(String, i64)>,
    pub by_disposition: Vec<(String, i64)>,
    pub by_moderation: Vec<(String, i64)>,
}

const REINDEX_REQUEST: &str = "search_reindex_requested";

impl Store {
    /// Asks the running server's indexer to rebuild the search index (the command line does
    /// this when the server holds the index).
    pub async fn request_search_reindex(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(REINDEX_REQUEST)
        .bind(b"1".to_vec())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a rebuild was asked for; the request is taken (cleared) by asking.
    pub async fn take_search_reindex_request(&self) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM settings WHERE key = $1").bind(REINDEX_REQUEST).execute(&self.pool).await?;
        Ok(n.rows_affected() > 0)
    }
}

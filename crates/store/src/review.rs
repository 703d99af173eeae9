//! The review queue: filtered pages of comments, the actions staff take on one comment or on a
//! whole filtered set, the figures for the dashboard, and whole-consultation scans for exports
//! and the adoption report.
//!
//! Pages are keyset-paged (`id < before`, newest first) so that page 500 costs what page 1
//! does; counts stop at [`COUNT_CAP`] so a broad filter over a million comments stays fast.

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::comment::Channel;
use yijian_domain::pii::{FullText, IdNumber, PhoneNumber};
use yijian_domain::receipt::Receipt;
use yijian_domain::review::{
    CampaignFilter, Disposition, Moderation, ModerationFilter, QueueFilter, ReviewAction, ReviewStatus,
};
use yijian_domain::theme::DecisionSource;

use crate::audit::Audit;
use crate::comments::{COMMENT_COLUMNS, aad};
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
    /// `early` or `late`: a mail that arrived outside the consultation's window.
    pub timing: Option<String>,
    /// The campaign the comment is in.
    pub campaign: Option<i64>,
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

/// One way into a filter's comments: a SELECT of one id column, within the consultation, that
/// an index can answer alone and in id order.
#[derive(Debug, Clone)]
struct Arm {
    /// `comments` (with the index named where SQLite's planner needs it), `comment_articles`,
    /// `comment_tags`, `comment_signals`, `campaign_members` or `theme_members`.
    from: String,
    /// `id` or `comment_id`.
    id: &'static str,
    /// Joined with AND; [`HITS`] stands for the search hits.
    conditions: Vec<String>,
}

/// Stands in an arm's conditions for the search hits, which are written in last (see
/// [`Plan::hits_sql`]).
const HITS: &str = "\u{1}hits";

/// Which of the search hits a statement names.
#[derive(Clone, Copy)]
enum Hits<'a> {
    /// All of them, for counts and bulk actions.
    All,
    /// The newest of those below a page's cursor: a page needs only as many as give it its rows.
    Prefix(&'a [i64]),
}

/// What a queue filter selects, as the statements the queue, the count and bulk actions run.
///
/// A million comments make the shape of these statements matter more than anything else:
///
/// - Each condition an index answers in id order (position, channel, disposition, status
///   "disposed", any mark, one mark, article, tag, search hits) is an *arm*: a SELECT of ids
///   from that index alone. A comment matches when every arm has it. On SQLite the arms are
///   joined with `INTERSECT … ORDER BY 1 DESC`, which SQLite runs as a merge of the sorted index
///   scans: a page stops after a few index entries, and a count reads each index once and never
///   a table row. PostgreSQL's planner, which has statistics, gets one SELECT over `comments`
///   with the article and tag arms as semi-joins (`id IN (…)`), and picks merge joins itself.
/// - The other conditions (waiting for a disposition, unmarked, the received dates) are checked
///   in the arm of the search hits if there is one, else in a *base* arm over `comments_queue`,
///   whose entries carry `submitted_at`, `disposition` and `moderation`: no table row either.
/// - A filter of articles and tags alone is answered from `comment_articles` or `comment_tags`
///   alone, never touching `comments` until the page's rows are read.
/// - A page selects its ids first and reads only the rows it shows.
/// - A count stops at [`COUNT_CAP`] + 1 matches.
struct Plan {
    backend: Backend,
    /// SQLite's arms, intersected; on PostgreSQL the first is the statement and the others are
    /// its semi-joins.
    arms: Vec<Arm>,
    binds: Vec<Bind>,
    /// The search hits, newest first, when the queue is narrowed to them.
    hits: Option<Vec<i64>>,
}

impl Plan {
    fn new(backend: Backend, consultation_id: &str, f: &QueueFilter, ids: Option<&[i64]>) -> Plan {
        // $1 is the consultation, in every arm.
        let mut binds = vec![Bind::Text(consultation_id.to_string())];
        let mut bind = |b: Bind| {
            binds.push(b);
            format!("${}", binds.len())
        };
        let sqlite = backend == Backend::Sqlite;
        let (disposed, marked) = (backend.comments_by("comments_disposed"), backend.comments_by("comments_marked"));
        // Conditions on `comments` an index answers in id order, one arm each (on SQLite).
        let mut ordered: Vec<(String, String)> = vec![];
        // Conditions no index orders by id.
        let mut filters: Vec<String> = vec![];
        match f.status {
            Some(ReviewStatus::Received) => filters.push("disposition IS NULL".into()),
            Some(ReviewStatus::Disposed) => ordered.push((disposed, "disposition IS NOT NULL".into())),
            None => {}
        }
        if let Some(p) = &f.position {
            ordered.push(("comments".into(), format!("position = {}", bind(Bind::Text(p.clone())))));
        }
        if let Some(ch) = f.channel {
            ordered.push(("comments".into(), format!("channel = {}", bind(Bind::Text(ch.as_str().into())))));
        }
        if let Some(d) = f.disposition {
            ordered.push(("comments".into(), format!("disposition = {}", bind(Bind::Text(d.as_str().into())))));
        }
        match f.moderation {
            Some(ModerationFilter::Unmarked) => filters.push("moderation IS NULL".into()),
            Some(ModerationFilter::Any) => ordered.push((marked, "moderation IS NOT NULL".into())),
            Some(ModerationFilter::Is(m)) => {
                ordered.push(("comments".into(), format!("moderation = {}", bind(Bind::Text(m.as_str().into())))))
            }
            None => {}
        }
        let mut side: Vec<Arm> = vec![];
        // Campaign membership (issue 13) is rows of its own too: an arm over `campaign_members`,
        // whose indexes end in the comment id. Outside every campaign is a lookup by comment id.
        match f.campaign {
            Some(CampaignFilter::Only) => side.push(Arm {
                from: "campaign_members".into(),
                id: "comment_id",
                conditions: vec![IN_CONSULTATION.into()],
            }),
            Some(CampaignFilter::Excluded) => {
                filters.push("NOT EXISTS (SELECT 1 FROM campaign_members m WHERE m.comment_id = comments.id)".into())
            }
            Some(CampaignFilter::Is(k)) => side.push(Arm {
                from: "campaign_members".into(),
                id: "comment_id",
                conditions: vec![IN_CONSULTATION.into(), format!("campaign_id = {}", bind(Bind::Int(k)))],
            }),
            None => {}
        }
        // Theme membership (issue 14) is a table too, one row per article a comment is themed under.
        if let Some(k) = f.theme {
            side.push(Arm {
                from: "theme_members".into(),
                id: "comment_id",
                conditions: vec![IN_CONSULTATION.into(), format!("theme_id = {}", bind(Bind::Int(k)))],
            });
        }
        if let Some(t) = f.from {
            filters.push(format!("submitted_at >= {}", bind(Bind::Int(micros(t)))));
        }
        if let Some(t) = f.until {
            filters.push(format!("submitted_at < {}", bind(Bind::Int(micros(t)))));
        }
        if let Some(a) = f.article {
            let condition = format!("article = {}", bind(Bind::Int(a as i64)));
            side.push(Arm {
                from: "comment_articles".into(),
                id: "comment_id",
                conditions: vec![IN_CONSULTATION.into(), condition],
            });
        }
        if let Some(tag) = &f.tag {
            let condition = format!("tag = {}", bind(Bind::Text(tag.clone())));
            side.push(Arm {
                from: "comment_tags".into(),
                id: "comment_id",
                conditions: vec![IN_CONSULTATION.into(), condition],
            });
        }
        // Signals (issue 13) are rows of their own, like tags: an arm over `comment_signals`.
        if let Some(signal) = f.signal {
            let condition = format!("signal = {}", bind(Bind::Text(signal.as_str().into())));
            side.push(Arm {
                from: "comment_signals".into(),
                id: "comment_id",
                conditions: vec![IN_CONSULTATION.into(), condition],
            });
        }
        // Open suggestions (issue 14): an arm over the partial index of open ones, which holds
        // the confidence, so no table row is read.
        if let Some(sf) = f.suggested {
            let article = format!("article = {}", bind(Bind::Int(sf.article as i64)));
            // Hundredths, written in: a number from a parsed filter, never text from a request.
            let confidence = format!("confidence >= {}", sf.min_confidence());
            side.push(Arm {
                from: "article_suggestions".into(),
                id: "comment_id",
                conditions: vec![IN_CONSULTATION.into(), article, "state = 'open'".into(), confidence],
            });
        }
        let hits = ids.map(|ids| {
            let mut hits = ids.to_vec();
            hits.sort_unstable_by(|a, b| b.cmp(a));
            hits.dedup();
            hits
        });
        if hits.is_some() {
            filters.push(HITS.into());
        }

        let comments_arm = |from: String, mut conditions: Vec<String>| {
            conditions.insert(0, IN_CONSULTATION.into());
            Arm { from, id: "id", conditions }
        };
        let mut arms = vec![];
        if sqlite {
            // The filters go with the search hits (looked up by id in `comments_queue`) or in a
            // base arm of their own; with neither, the consultation alone is the base.
            if !filters.is_empty() || (ordered.is_empty() && side.is_empty()) {
                arms.push(comments_arm("comments".into(), filters));
            }
            arms.extend(ordered.into_iter().map(|(from, c)| comments_arm(from, vec![c])));
        } else if !filters.is_empty() || !ordered.is_empty() || side.is_empty() {
            let mut conditions: Vec<String> = ordered.into_iter().map(|(_, c)| c).collect();
            conditions.append(&mut filters);
            arms.push(comments_arm("comments".into(), conditions));
        }
        arms.append(&mut side);
        Plan { backend, arms, binds, hits }
    }

    /// The search hits as a condition.
    fn hits_sql(&self, which: Hits) -> String {
        // The ids come from the search index, never from a request: integers, written in so
        // that ten thousand of them need no bound parameters.
        match (which, self.hits.as_deref()) {
            (_, None | Some([])) | (Hits::Prefix([]), _) => "1 = 0".into(),
            (Hits::All, Some(all)) => self.backend.id_in(all),
            // A page's prefix is short: a plain list on both backends.
            (Hits::Prefix(some), _) => {
                format!("id IN ({})", some.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","))
            }
        }
    }

    fn arm_sql(&self, arm: &Arm, before: Option<&str>, hits: Hits) -> String {
        let mut sql = format!("SELECT {} FROM {} WHERE ", arm.id, arm.from);
        for (k, c) in arm.conditions.iter().enumerate() {
            if k > 0 {
                sql.push_str(" AND ");
            }
            if c == HITS { sql.push_str(&self.hits_sql(hits)) } else { sql.push_str(c) }
        }
        if let Some(b) = before {
            sql.push_str(&format!(" AND {} < {b}", arm.id));
        }
        sql
    }

    /// The matching ids below `before` (a placeholder) if given, newest first if `ordered`.
    fn ids(&self, before: Option<&str>, ordered: bool, hits: Hits) -> String {
        match self.backend {
            Backend::Sqlite if self.arms.len() > 1 => {
                // The order is what makes SQLite merge rather than build temporary tables.
                let arms: Vec<String> = self.arms.iter().map(|a| self.arm_sql(a, before, hits)).collect();
                format!("{} ORDER BY 1 DESC", arms.join(" INTERSECT "))
            }
            _ => {
                let main = &self.arms[0];
                let mut sql = self.arm_sql(main, before, hits);
                for semi in &self.arms[1..] {
                    sql.push_str(&format!(" AND {} IN ({})", main.id, self.arm_sql(semi, None, hits)));
                }
                if ordered {
                    sql.push_str(&format!(" ORDER BY {} DESC", main.id));
                }
                sql
            }
        }
    }

    /// Counts the matches up to [`COUNT_CAP`] + 1: one arm in the order of its index, several
    /// merged.
    fn count_sql(&self) -> String {
        format!("SELECT COUNT(*) FROM ({} LIMIT {}) t", self.ids(None, false, Hits::All), COUNT_CAP + 1)
    }

    /// One page of queue items, newest first; `before` is bound after the filter's parameters.
    fn page_sql(&self, before: bool, limit: usize, hits: Hits) -> String {
        let before = before.then(|| format!("${}", self.binds.len() + 1));
        let (opening, length) = self.backend.opening("opinion", OPENING_CHARS);
        format!(
            "SELECT id, receipt, submitted_at, channel, name, position, articles, {opening}, {length}, disposition, \
             moderation, tags, timing, {CAMPAIGN_OF} FROM comments WHERE id IN ({} LIMIT {}) ORDER BY id DESC",
            self.ids(before.as_deref(), true, hits),
            limit + 1
        )
    }

    /// The hits a page below `before` names first: enough for the page if most of them match,
    /// and four times as many again each time they were not (see [`Store::queue`]).
    fn page_hits(&self, before: Option<i64>, limit: usize, round: u32) -> Option<(&[i64], bool)> {
        let hits = self.hits.as_deref()?;
        let below = match before {
            Some(b) => &hits[hits.partition_point(|&h| h >= b)..],
            None => hits,
        };
        let n = ((limit + 1) * 2).saturating_mul(4usize.saturating_pow(round)).min(below.len());
        Some((&below[..n], n == below.len()))
    }

    /// The statement with its parameters written in as literals, for `EXPLAIN`.
    fn inline(&self, sql: &str, before: Option<i64>) -> String {
        let mut values: Vec<String> = self
            .binds
            .iter()
            .map(|b| match b {
                Bind::Text(s) => format!("'{}'", s.replace('\'', "''")),
                Bind::Int(i) => i.to_string(),
            })
            .collect();
        values.extend(before.map(|b| b.to_string()));
        // One pass, so that a value holding `$2` is never taken for a placeholder.
        let mut out = String::with_capacity(sql.len());
        let mut rest = sql;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
            match rest[at + 1..at + 1 + digits].parse::<usize>().ok().and_then(|n| values.get(n.wrapping_sub(1))) {
                Some(v) => out.push_str(v),
                None => out.push_str(&rest[at..at + 1 + digits]),
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_str(rest);
        out
    }
}

/// The campaign a row of `comments` is in, as a column (membership is a table of its own).
const CAMPAIGN_OF: &str =
    "(SELECT m.campaign_id FROM campaign_members m WHERE m.comment_id = comments.id) AS campaign_id";

/// The theme a row of `comments` is shown under: of its memberships (one per article it is
/// themed under), the lowest article's, or the draft as a whole's.
const THEME_OF: &str = "(SELECT tm.theme_id FROM theme_members tm WHERE tm.comment_id = comments.id \
    ORDER BY CASE WHEN tm.scope = 0 THEN 1 ELSE 0 END, tm.scope LIMIT 1) AS theme_id";

/// How many characters of an opinion the queue shows.
const OPENING_CHARS: usize = 120;

/// The condition every arm starts with.
const IN_CONSULTATION: &str = "consultation_id = $1";

/// The columns SQLite's page JSON holds, in [`PageRow`]'s order.
const PAGE_COLUMNS: [&str; 29] = [
    "id",
    "receipt",
    "consultation_id",
    "version",
    "channel",
    "submitted_at",
    "status",
    "name",
    "position",
    "email",
    "id_number_enc",
    "phone_enc",
    "opinion",
    "articles",
    "sender",
    "note",
    "disposition",
    "disposition_reason",
    "moderation",
    "moderation_reason",
    "tags",
    "excerpt",
    "reviewed_by",
    "reviewed_at",
    "message_id",
    "timing",
    "opinion_enc",
    "campaign_id",
    "theme_id",
];

/// [`PAGE_COLUMNS`] as the elements of SQLite's JSON array: the sealed envelopes hex-encoded.
fn page_json_elements() -> String {
    PAGE_COLUMNS
        .iter()
        .map(|&c| match c {
            "id_number_enc" | "phone_enc" | "opinion_enc" => {
                format!("CASE WHEN {c} IS NULL THEN NULL ELSE hex({c}) END")
            }
            _ => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A page of comments as the database sent it.
enum RawPage {
    /// SQLite: one JSON array of [`PageRow`]s.
    Json(String),
    /// PostgreSQL: rows of [`COMMENT_COLUMNS`].
    Rows(Vec<sqlx::any::AnyRow>),
}

/// One comment of SQLite's page JSON: an array in [`PAGE_COLUMNS`]' order.
#[derive(serde::Deserialize)]
struct PageRow {
    id: i64,
    receipt: String,
    consultation_id: String,
    version: i64,
    channel: String,
    submitted_at: i64,
    status: String,
    name: Option<String>,
    position: Option<String>,
    email: Option<String>,
    id_number_enc: Option<String>,
    phone_enc: Option<String>,
    opinion: String,
    articles: String,
    sender: Option<String>,
    note: Option<String>,
    disposition: Option<String>,
    disposition_reason: Option<String>,
    moderation: Option<String>,
    moderation_reason: Option<String>,
    tags: String,
    excerpt: Option<String>,
    reviewed_by: Option<String>,
    reviewed_at: Option<i64>,
    message_id: Option<String>,
    timing: Option<String>,
    opinion_enc: Option<String>,
    campaign_id: Option<i64>,
    theme_id: Option<i64>,
}

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
        let plan = Plan::new(self.backend, consultation_id, filter, ids);
        let total: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(plan.count_sql())), &plan.binds)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        // Narrowed to search hits, a page names the newest hits first, and more only if too few
        // of them matched the other conditions.
        let mut round = 0;
        let rows = loop {
            let (hits, all_named) = match plan.page_hits(before, limit, round) {
                Some((some, last)) => (Hits::Prefix(some), last),
                None => (Hits::All, true),
            };
            let sql = plan.page_sql(before.is_some(), limit, hits);
            let mut q = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &plan.binds);
            if let Some(b) = before {
                q = q.bind(b);
            }
            let rows = q.fetch_all(&self.pool).await?;
            if rows.len() > limit || all_named {
                break rows;
            }
            round += 1;
        };
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
                timing: row.try_get(12)?,
                campaign: row.try_get(13)?,
            });
        }
        let next_before = if rows.len() > limit { items.last().map(|i| i.id) } else { None };
        Ok(QueuePage { items, total: total.min(COUNT_CAP), capped: total > COUNT_CAP, next_before })
    }

    /// How [`Store::queue`] answers a filter: its count and page statements (parameters written
    /// in), their plans (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on
    /// PostgreSQL), and the time each takes, run twice. For benchmarks and diagnosis.
    #[doc(hidden)]
    pub async fn explain_queue(
        &self,
        consultation_id: &str,
        filter: &QueueFilter,
        ids: Option<&[i64]>,
        limit: usize,
    ) -> Result<String, StoreError> {
        use std::fmt::Write;
        let plan = Plan::new(self.backend, consultation_id, filter, ids);
        let mut out = String::new();
        let hits = plan.page_hits(None, limit, 0).map_or(Hits::All, |(some, _)| Hits::Prefix(some));
        for (label, sql) in [("count", plan.count_sql()), ("page", plan.page_sql(false, limit, hits))] {
            let shown = plan.inline(&sql, None);
            let shown = if shown.len() > 600 {
                format!("{}… ({} bytes)", &shown[..shown.floor_char_boundary(600)], shown.len())
            } else {
                shown
            };
            let _ = writeln!(out, "{label}: {shown}");
            let (explain, line_column) = self.backend.explain();
            let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(format!("{explain} {sql}"))), &plan.binds)
                .fetch_all(&self.pool)
                .await?;
            for row in rows {
                let line: String = row.try_get(line_column)?;
                let _ = writeln!(out, "  {line}");
            }
            for run in ["first", "second"] {
                let started = std::time::Instant::now();
                let rows =
                    bind_all(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), &plan.binds).fetch_all(&self.pool).await?;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let _ = writeln!(out, "  {run} run: {} rows in {ms:.2} ms", rows.len());
            }
        }
        Ok(out)
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
        self.apply_review_as(actor, consultation_id, target, action, now, DecisionSource::Own).await
    }

    /// [`Store::apply_review`] for a decision given to a campaign or a theme: a disposition
    /// changes only the comments whose current one it may replace
    /// ([`DecisionSource::may_replace`]: a comment's own decision wins over its campaign's, and a
    /// campaign's over its theme's).
    pub async fn apply_review_as(
        &self,
        actor: &str,
        consultation_id: &str,
        target: Target<'_>,
        action: &ReviewAction,
        now: Timestamp,
        source: DecisionSource,
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
                if !action.fits(&opinion) {
                    return Err(ReviewError::ExcerptNotInOpinion);
                }
                self.update_ids(actor, &[id], action, now, true, source).await
            }
            Target::Filtered { filter, ids } => {
                if !action.allowed_in_bulk() {
                    return Err(ReviewError::ExcerptInBulk);
                }
                // Collect the ids first (newest first, keyset), then change them chunk by chunk:
                // a change that moves a comment out of the filter cannot make the walk skip any.
                let plan = Plan::new(self.backend, consultation_id, filter, ids);
                let all: Vec<i64> =
                    bind_all(sqlx::query(sqlx::AssertSqlSafe(plan.ids(None, true, Hits::All))), &plan.binds)
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .map(|r| r.try_get(0))
                        .collect::<Result<_, _>>()?;
                let mut changed = 0;
                for chunk in all.chunks(BULK_CHUNK) {
                    changed += self.update_ids(actor, chunk, action, now, false, source).await?;
                }
                // Each comment's change is audited with it; this entry records the action as
                // staff gave it.
                let detail = format!("{}; changed={changed}", action.describe());
                self.audit(now, Audit::new(actor, "review.bulk", consultation_id, detail)).await?;
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
        anchor_now: bool,
        source: DecisionSource,
    ) -> Result<u64, ReviewError> {
        if ids.is_empty() {
            return Ok(0);
        }
        match action {
            ReviewAction::AcceptSuggestion(a) => {
                return self.decide_suggestions(actor, ids, *a, true, now, anchor_now).await;
            }
            ReviewAction::RejectSuggestion(a) => {
                return self.decide_suggestions(actor, ids, *a, false, now, anchor_now).await;
            }
            _ => {}
        }
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let (set, binds): (String, Vec<Bind>) = match action {
            ReviewAction::LinkArticles(list) => {
                let mut list = list.clone();
                list.sort_unstable();
                list.dedup();
                ("articles = $3".into(), vec![Bind::Text(serde_json::to_string(&list).expect("numbers"))])
            }
            ReviewAction::AddTag(t) => (self.backend.add_tag("$3"), vec![Bind::Text(t.clone())]),
            ReviewAction::RemoveTag(t) => (self.backend.remove_tag("$3"), vec![Bind::Text(t.clone())]),
            ReviewAction::Moderate(m, reason) => (
                "moderation = $3, moderation_reason = $4".into(),
                match m {
                    Some(m) => vec![Bind::Text(m.as_str().into()), Bind::Text(reason.trim().into())],
                    None => vec![],
                },
            ),
            ReviewAction::Dispose(d, reason) => (
                format!(
                    "disposition = $3, disposition_reason = $4, status = $5, decision_source = '{}'",
                    source.as_str()
                ),
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
            ReviewAction::AcceptSuggestion(_) | ReviewAction::RejectSuggestion(_) => unreachable!("answered above"),
        };
        // A cleared mark, disposition or excerpt binds NULLs in place of the missing values.
        let set = match (action, binds.is_empty()) {
            (ReviewAction::Moderate(..), true) => "moderation = NULL, moderation_reason = NULL".to_string(),
            (ReviewAction::Dispose(..), true) => format!(
                "disposition = NULL, disposition_reason = NULL, status = '{}', decision_source = NULL",
                ReviewStatus::Received.as_str()
            ),
            (ReviewAction::Excerpt(_), true) => "excerpt = NULL".to_string(),
            _ => set,
        };
        // A campaign's or a theme's decision leaves alone the dispositions that win over it.
        let only = match (action, source) {
            (ReviewAction::Dispose(..), DecisionSource::Campaign) => {
                " AND (disposition IS NULL OR decision_source IN ('campaign', 'theme'))"
            }
            (ReviewAction::Dispose(..), DecisionSource::Theme) => {
                " AND (disposition IS NULL OR decision_source = 'theme')"
            }
            _ => "",
        };
        let sql = format!(
            "UPDATE comments SET {set}, reviewed_by = $1, reviewed_at = $2 WHERE id IN ({}){only}",
            list.join(",")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(actor).bind(micros(now));
        for b in &binds {
            q = match b {
                Bind::Text(s) => q.bind(s.as_str()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        // The change and one audit entry per comment it changed (what it was, what it became)
        // commit together.
        let columns = audited_columns(action);
        let mut tx = self.begin_write().await?;
        let before = audited_values(&mut tx, columns, &list).await?;
        let changed = q.execute(&mut *tx).await?.rows_affected();
        if let ReviewAction::LinkArticles(_) = action {
            Store::leave_stale_themes(&mut tx, ids).await?;
        }
        let after = audited_values(&mut tx, columns, &list).await?;
        let entries: Vec<Audit> = before
            .into_iter()
            .zip(after)
            .filter(|(b, a)| b.1 != a.1)
            .map(|((receipt, was), (_, became))| {
                let detail = serde_json::json!({ "from": values_of(columns, &was), "to": values_of(columns, &became) });
                Audit::new(actor, action.audit_action(), &receipt, detail.to_string())
            })
            .collect();
        tx.append(&self.keys, self.backend, now, &entries).await?;
        if anchor_now {
            tx.commit().await?;
        } else {
            // A chunk of a bulk action: its closing `review.bulk` entry anchors the head.
            tx.commit_anchor_later().await?;
        }
        Ok(changed)
    }

    /// Accepts or rejects the suggestion of `article` on those of `ids` that have one (issue 14).
    /// Accepting adds the article to the comment's links (every other link stays, whoever made
    /// it) and marks the suggestion accepted, whatever its state was; rejecting marks an open
    /// suggestion rejected and leaves the links alone. Each comment's change is audited with it:
    /// the suggestion as it was, and the links before and after.
    async fn decide_suggestions(
        &self,
        actor: &str,
        ids: &[i64],
        article: u32,
        accept: bool,
        now: Timestamp,
        anchor_now: bool,
    ) -> Result<u64, ReviewError> {
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let wanted = if accept { "s.state <> 'accepted'" } else { "s.state = 'open'" };
        // Ids come from the database (the filter's walk) or one receipt's lookup: written in.
        let sql = format!(
            "SELECT c.id, c.receipt, c.articles, s.confidence, s.kind, s.state FROM comments c \
             JOIN article_suggestions s ON s.comment_id = c.id AND s.consultation_id = c.consultation_id \
             WHERE c.id IN ({}) AND s.article = $1 AND {wanted} ORDER BY c.id",
            list.join(",")
        );
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(article as i64).fetch_all(&mut *tx).await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut linked = vec![];
        let state = if accept { "accepted" } else { "rejected" };
        for r in &rows {
            let (id, compact, links): (i64, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let (confidence, kind, was): (f64, String, String) = (r.try_get(3)?, r.try_get(4)?, r.try_get(5)?);
            let before: Vec<u32> =
                serde_json::from_str(&links).map_err(|e| StoreError::Corrupt(format!("comment articles: {e}")))?;
            let mut after = before.clone();
            if accept && !after.contains(&article) {
                after.push(article);
                after.sort_unstable();
                sqlx::query("UPDATE comments SET articles = $1, reviewed_by = $2, reviewed_at = $3 WHERE id = $4")
                    .bind(serde_json::to_string(&after).expect("numbers"))
                    .bind(actor)
                    .bind(micros(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                linked.push(id);
            }
            sqlx::query(
                "UPDATE article_suggestions SET state = $1, decided_by = $2, decided_at = $3 \
                 WHERE comment_id = $4 AND article = $5",
            )
            .bind(state)
            .bind(actor)
            .bind(micros(now))
            .bind(id)
            .bind(article as i64)
            .execute(&mut *tx)
            .await?;
            let receipt = Receipt::parse(&compact).map(|r| r.to_string()).unwrap_or(compact);
            let detail = serde_json::json!({
                "article": article, "confidence": confidence, "kind": kind, "was": was,
                "articles": { "from": before, "to": after },
            });
            let name = if accept { "suggestion.accept" } else { "suggestion.reject" };
            entries.push(Audit::new(actor, name, &receipt, detail.to_string()));
        }
        Store::leave_stale_themes(&mut tx, &linked).await?;
        tx.append(&self.keys, self.backend, now, &entries).await?;
        if anchor_now {
            tx.commit().await?;
        } else {
            tx.commit_anchor_later().await?;
        }
        Ok(entries.len() as u64)
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
        match self.fetch_page(consultation_id, after, limit).await? {
            Some((raw, _)) => self.decode_page(raw),
            None => Ok(vec![]),
        }
    }

    /// Every comment of a consultation, in arrival order, `limit` at a time, as
    /// [`Store::comments_page`] reads them; a failure ends the pages. The database reads the
    /// next page while a blocking thread decodes and decrypts the one before: an export over a
    /// million comments keeps both busy. Nothing is read before this is called; dropping the
    /// receiver stops the reading.
    pub fn comment_pages(
        &self,
        consultation_id: &str,
        limit: i64,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<StoredComment>, StoreError>> {
        let (raw_tx, mut raw_rx) = tokio::sync::mpsc::channel::<Result<RawPage, StoreError>>(2);
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let (store, id) = (self.clone(), consultation_id.to_string());
        tokio::spawn(async move {
            let mut after = 0;
            loop {
                let page = match store.fetch_page(&id, after, limit).await {
                    Ok(Some((raw, last))) => {
                        after = last;
                        Ok(raw)
                    }
                    Ok(None) => break,
                    Err(e) => Err(e),
                };
                let failed = page.is_err();
                if raw_tx.send(page).await.is_err() || failed {
                    break;
                }
            }
        });
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            while let Some(raw) = raw_rx.blocking_recv() {
                if tx.blocking_send(raw.and_then(|raw| store.decode_page(raw))).is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// One page as the database sends it, with the id of its last comment; `None` past the
    /// last page.
    async fn fetch_page(
        &self,
        consultation_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Option<(RawPage, i64)>, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                // The page comes back as one JSON array that SQLite builds: through sqlx's `Any`
                // driver every row and column costs allocations and a hand-over between threads,
                // which made reading twice as slow as this (and most of an export's time).
                let sql = format!(
                    "SELECT json_group_array(json_array({})), max(id) FROM (SELECT {} FROM comments \
                     WHERE consultation_id = $1 AND id > $2 ORDER BY id LIMIT $3) t",
                    page_json_elements(),
                    PAGE_COLUMNS
                        .map(|c| match c {
                            "campaign_id" => CAMPAIGN_OF,
                            "theme_id" => THEME_OF,
                            c => c,
                        })
                        .join(", ")
                );
                let (json, last): (Option<String>, Option<i64>) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(consultation_id)
                    .bind(after)
                    .bind(limit)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(last.map(|last| (RawPage::Json(json.unwrap_or_default()), last)))
            }
            Backend::Postgres => {
                // PostgreSQL sends rows cheaply; building JSON there cost its server more than
                // decoding rows costs here, for the same time overall.
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COMMENT_COLUMNS} FROM comments WHERE consultation_id = $1 AND id > $2 ORDER BY id LIMIT $3"
                )))
                .bind(consultation_id)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                let Some(last) = rows.last() else { return Ok(None) };
                let last: i64 = last.try_get(0)?;
                Ok(Some((RawPage::Rows(rows), last)))
            }
        }
    }

    /// Decodes a page and decrypts its personal data.
    fn decode_page(&self, raw: RawPage) -> Result<Vec<StoredComment>, StoreError> {
        match raw {
            RawPage::Json(json) => {
                let mut rows: Vec<PageRow> =
                    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("comments page: {e}")))?;
                // An aggregate's input order is SQLite's choice.
                rows.sort_unstable_by_key(|r| r.id);
                rows.into_iter().map(|r| self.comment_from_page_row(r)).collect()
            }
            RawPage::Rows(rows) => rows.iter().map(|row| self.comment_from_row(row)).collect(),
        }
    }

    /// [`Store::comment_from_row`] for a comment of SQLite's page JSON.
    fn comment_from_page_row(&self, r: PageRow) -> Result<StoredComment, StoreError> {
        let receipt =
            Receipt::parse(&r.receipt).ok_or_else(|| StoreError::Corrupt(format!("receipt {}", r.receipt)))?;
        let open = |column: &str, envelope: Option<String>| -> Result<Option<String>, StoreError> {
            envelope
                .map(|e| {
                    let e =
                        hex::decode(e).map_err(|_| StoreError::Corrupt(format!("{column} of {receipt}: not hex")))?;
                    let plain = self
                        .keys
                        .open(&e, &aad(column, &receipt))
                        .map_err(|err| StoreError::Corrupt(format!("{column} of {receipt}: {err}")))?;
                    String::from_utf8(plain.to_vec())
                        .map_err(|_| StoreError::Corrupt(format!("{column} of {receipt}: not UTF-8")))
                })
                .transpose()
        };
        Ok(StoredComment {
            id: r.id,
            receipt,
            consultation_id: r.consultation_id,
            version: r.version as u32,
            channel: Channel::parse(&r.channel).ok_or_else(|| StoreError::Corrupt(format!("channel {}", r.channel)))?,
            submitted_at: from_micros(r.submitted_at)?,
            status: r.status,
            name: r.name,
            position: r.position,
            email: r.email,
            id_number: open("id_number", r.id_number_enc)?.map(IdNumber::from_normalised),
            phone: open("phone", r.phone_enc)?.map(|s| PhoneNumber::from_stored(&s)),
            opinion: r.opinion,
            full_opinion: open("opinion", r.opinion_enc)?.map(FullText::new),
            articles: serde_json::from_str(&r.articles).map_err(|e| StoreError::Corrupt(format!("articles: {e}")))?,
            sender: r.sender,
            note: r.note,
            disposition: r.disposition.as_deref().and_then(Disposition::parse),
            disposition_reason: r.disposition_reason,
            moderation: r.moderation.as_deref().and_then(Moderation::parse),
            moderation_reason: r.moderation_reason,
            tags: serde_json::from_str(&r.tags).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?,
            excerpt: r.excerpt,
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at.map(from_micros).transpose()?,
            message_id: r.message_id,
            timing: r.timing,
            campaign: r.campaign_id,
            theme: r.theme_id,
        })
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
        let (comments, in_campaigns, campaigns): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM comments WHERE consultation_id = $1), COUNT(*), COUNT(DISTINCT campaign_id) \
             FROM campaign_members WHERE consultation_id = $1",
        )
        .bind(consultation_id)
        .fetch_one(&self.pool)
        .await?;
        let campaigns_by_article: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT a.article, COUNT(*), COUNT(DISTINCT m.campaign_id) FROM comment_articles a \
             JOIN campaign_members m ON m.comment_id = a.comment_id \
             WHERE a.consultation_id = $1 GROUP BY a.article ORDER BY a.article",
        )
        .bind(consultation_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Dashboard {
            comments,
            in_campaigns,
            campaigns,
            campaigns_by_article: campaigns_by_article.into_iter().map(|(a, m, k)| (a as u32, m, k)).collect(),
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
    /// Comments in all; of them, how many are in campaigns, and in how many campaigns.
    pub comments: i64,
    pub in_campaigns: i64,
    pub campaigns: i64,
    /// Per article: (article, comments in campaigns, campaigns).
    pub campaigns_by_article: Vec<(u32, i64, i64)>,
    pub per_day: Vec<(jiff::civil::Date, i64)>,
    pub by_article: Vec<(u32, i64)>,
    pub by_position: Vec<(String, i64)>,
    pub by_channel: Vec<(String, i64)>,
    pub by_disposition: Vec<(String, i64)>,
    pub by_moderation: Vec<(String, i64)>,
}

const REINDEX_SIGNAL: &str = "search_reindex";

impl Store {
    /// Asks every running server's indexer to rebuild its search index (each node has its
    /// own): the request is a generation number, which each indexer compares with the one it
    /// last acted on.
    pub async fn request_search_reindex(&self) -> Result<(), StoreError> {
        self.raise_signal(REINDEX_SIGNAL).await
    }

    /// How many rebuilds of the search index have been asked for, ever.
    pub async fn search_reindex_generation(&self) -> Result<i64, StoreError> {
        self.signal_generation(REINDEX_SIGNAL).await
    }
}

/// The columns an action changes, as its audit entries record them.
fn audited_columns(action: &ReviewAction) -> &'static [&'static str] {
    match action {
        ReviewAction::LinkArticles(_) => &["articles"],
        ReviewAction::AddTag(_) | ReviewAction::RemoveTag(_) => &["tags"],
        ReviewAction::Moderate(..) => &["moderation", "moderation_reason"],
        ReviewAction::Dispose(..) => &["disposition", "disposition_reason"],
        ReviewAction::Excerpt(_) => &["excerpt"],
        ReviewAction::AcceptSuggestion(_) | ReviewAction::RejectSuggestion(_) => &["articles"],
    }
}

/// `(receipt as printed, values of columns)` of each listed comment, in id order.
async fn audited_values(
    conn: &mut sqlx::AnyConnection,
    columns: &[&str],
    ids: &[String],
) -> Result<Vec<(String, Vec<Option<String>>)>, StoreError> {
    let sql =
        format!("SELECT receipt, {} FROM comments WHERE id IN ({}) ORDER BY id", columns.join(", "), ids.join(","));
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let compact: String = r.try_get(0)?;
            let receipt = Receipt::parse(&compact).map(|r| r.to_string()).unwrap_or(compact);
            let values = (1..=columns.len()).map(|i| r.try_get::<Option<String>, _>(i)).collect::<Result<_, _>>()?;
            Ok((receipt, values))
        })
        .collect()
}

fn values_of(columns: &[&str], values: &[Option<String>]) -> serde_json::Value {
    serde_json::Value::Object(columns.iter().zip(values).map(|(c, v)| (c.to_string(), v.clone().into())).collect())
}

#[cfg(test)]
mod tests {
    //! The queue's statements against a plain filter written in Rust, on SQLite and PostgreSQL
    //! (as `YIJIAN_TEST_BACKENDS` selects), after review actions that exercise the triggers
    //! behind `comment_articles` and `comment_tags`; and `comments_page` against `comment`.

    use jiff::Timestamp;
    use yijian_domain::comment::{Channel, NewComment};
    use yijian_domain::receipt::Receipt;
    use yijian_domain::review::{
        CampaignFilter, Disposition, Moderation, ModerationFilter, QueueFilter, ReviewAction, ReviewStatus,
    };
    use yijian_testkit::synthetic::Rng;
    use yijian_testkit::{Backend, PgDatabase};

    use crate::{Store, StoreOptions, StoredComment, Target};

    const POSITIONS: [&str; 4] = ["教师", "学生", "企业职工", "其他"];

    /// Comments with every kind of filter value, then a review that adds and removes tags,
    /// relinks articles, disposes and marks; returns the comments as `Store::comment` reads them.
    async fn seed(store: &Store) -> (String, Vec<StoredComment>) {
        let mut file = yijian_domain::file::parse(include_str!("../../../demo/ln-hrss-ai-2025.md")).unwrap();
        let now = Timestamp::now();
        file.meta.reschedule_from(now, 30);
        store.import_consultation(&file, true, now).await.unwrap();
        let cid = file.meta.id.clone();
        let id_number =
            yijian_domain::validate::id_number("11010519491231002X", jiff::civil::date(2025, 1, 1)).unwrap();
        let phone = yijian_domain::validate::phone("13800138000").unwrap();
        let mut rng = Rng::new(7);
        let mut receipts: Vec<Receipt> = vec![];
        for i in 0..240u64 {
            let mut articles: Vec<u32> = (0..rng.below(4)).map(|_| 1 + rng.below(6) as u32).collect();
            articles.sort_unstable();
            articles.dedup();
            let personal = rng.below(2) == 0;
            let comment = NewComment {
                consultation_id: cid.clone(),
                version: 1,
                channel: [Channel::Web, Channel::Api, Channel::Manual][rng.below(3)],
                name: (rng.below(4) != 0).then(|| format!("姓名{i}")),
                id_number: personal.then(|| id_number.clone()),
                position: (rng.below(8) != 0).then(|| POSITIONS[rng.below(4)].to_string()),
                phone: personal.then(|| phone.clone()),
                email: (rng.below(2) == 0).then(|| format!("u{i}@example.com")),
                opinion: format!("意见{i}：\"引号\"、反斜杠\\、换行\n和制表\t都原样保存。"),
                articles,
                sender: None,
                note: (i % 17 == 0).then(|| "来信".to_string()),
            };
            receipts.push(store.submit_comment(&comment, jiff::Timestamp::now()).await.unwrap().0);
        }
        let apply = |target: Target<'static>, action: ReviewAction| {
            let cid = cid.clone();
            async move { store.apply_review("tester", &cid, target, &action, Timestamp::now()).await.unwrap() }
        };
        let filtered = |f: QueueFilter| Target::Filtered { filter: Box::leak(Box::new(f)), ids: None };
        let by_position = |p: &str| QueueFilter { position: Some(p.to_string()), ..QueueFilter::default() };
        let by_article = |a: u32| QueueFilter { article: Some(a), ..QueueFilter::default() };
        assert!(apply(filtered(by_position("学生")), ReviewAction::AddTag("就业".into())).await > 0);
        assert!(apply(filtered(by_article(2)), ReviewAction::AddTag("就业".into())).await > 0);
        assert!(apply(filtered(by_article(5)), ReviewAction::RemoveTag("就业".into())).await > 0);
        assert!(apply(filtered(by_article(4)), ReviewAction::AddTag("AI".into())).await > 0);
        let adopted = QueueFilter { article: Some(3), position: Some("教师".into()), ..QueueFilter::default() };
        apply(filtered(adopted), ReviewAction::Dispose(Some(Disposition::Adopted), "采纳".into())).await;
        apply(filtered(by_position("其他")), ReviewAction::Dispose(Some(Disposition::NotAdopted), "不采纳".into()))
            .await;
        apply(
            filtered(QueueFilter { channel: Some(Channel::Api), ..QueueFilter::default() }),
            ReviewAction::Moderate(Some(Moderation::Spam), "广告".into()),
        )
        .await;
        for (k, r) in receipts.iter().enumerate() {
            let action = match k % 11 {
                0 => ReviewAction::LinkArticles(vec![6, 1]),
                1 => ReviewAction::LinkArticles(vec![]),
                2 => ReviewAction::AddTag("ai".into()),
                3 => ReviewAction::Dispose(Some(Disposition::PartlyAdopted), "部分".into()),
                4 => ReviewAction::Dispose(None, String::new()),
                5 => ReviewAction::Moderate(None, String::new()),
                6 => ReviewAction::RemoveTag("AI".into()),
                _ => continue,
            };
            apply(Target::One(*r), action).await;
        }
        // Two campaigns: every fifth comment in one, every seventh (not fifth) in the other.
        let mut ids = vec![];
        for r in &receipts {
            ids.push(store.comment(r).await.unwrap().unwrap().id);
        }
        let group = |k: usize| {
            let members: Vec<i64> = ids
                .iter()
                .enumerate()
                .filter(|(n, _)| if k == 5 { n % 5 == 0 } else { n % 7 == 0 && n % 5 != 0 })
                .map(|(_, id)| *id)
                .collect();
            crate::FoundGroup { representative: Some(members[0]), members }
        };
        let last = *ids.last().unwrap();
        store.save_campaigns("test", &cid, &[group(5), group(7)], true, last, now).await.unwrap();
        let mut all = vec![];
        for r in &receipts {
            all.push(store.comment(r).await.unwrap().unwrap());
        }
        assert!(all.iter().filter(|c| c.campaign.is_some()).count() > 10);
        (cid, all)
    }

    fn matches(c: &StoredComment, f: &QueueFilter, ids: Option<&[i64]>) -> bool {
        (match f.status {
            Some(ReviewStatus::Received) => c.disposition.is_none(),
            Some(ReviewStatus::Disposed) => c.disposition.is_some(),
            None => true,
        }) && f.article.is_none_or(|a| c.articles.contains(&a))
            && f.position.as_ref().is_none_or(|p| c.position.as_ref() == Some(p))
            && f.channel.is_none_or(|ch| c.channel == ch)
            && f.from.is_none_or(|t| c.submitted_at >= t)
            && f.until.is_none_or(|t| c.submitted_at < t)
            && f.disposition.is_none_or(|d| c.disposition == Some(d))
            && (match f.moderation {
                Some(ModerationFilter::Unmarked) => c.moderation.is_none(),
                Some(ModerationFilter::Any) => c.moderation.is_some(),
                Some(ModerationFilter::Is(m)) => c.moderation == Some(m),
                None => true,
            })
            && f.tag.as_ref().is_none_or(|t| c.tags.contains(t))
            && (match f.campaign {
                Some(CampaignFilter::Only) => c.campaign.is_some(),
                Some(CampaignFilter::Excluded) => c.campaign.is_none(),
                Some(CampaignFilter::Is(k)) => c.campaign == Some(k),
                None => true,
            })
            && ids.is_none_or(|ids| ids.contains(&c.id))
    }

    async fn check(store: &Store) {
        let (cid, all) = seed(store).await;

        // Every page of every filter, against the plain filter above.
        let mut times: Vec<Timestamp> = all.iter().map(|c| c.submitted_at).collect();
        times.sort();
        let (t1, t2) = (times[times.len() / 3], times[2 * times.len() / 3]);
        let hits: Vec<i64> = all.iter().map(|c| c.id).filter(|id| id % 3 != 0).rev().collect();
        let mut campaigns: Vec<i64> = all.iter().filter_map(|c| c.campaign).collect();
        campaigns.sort_unstable();
        campaigns.dedup();
        assert_eq!(campaigns.len(), 2);
        let mut rng = Rng::new(11);
        let mut pick = |n: usize| rng.below(n);
        for round in 0..400 {
            let f = QueueFilter {
                status: [None, Some(ReviewStatus::Received), Some(ReviewStatus::Disposed)][pick(3)],
                article: [None, None, Some(1), Some(3), Some(6)][pick(5)],
                position: [None, None, Some("教师".to_string()), Some("学生".to_string())][pick(4)].clone(),
                channel: [None, None, Some(Channel::Web), Some(Channel::Manual)][pick(4)],
                from: [None, None, Some(t1)][pick(3)],
                until: [None, None, Some(t2)][pick(3)],
                disposition: [None, None, None, Some(Disposition::Adopted), Some(Disposition::PartlyAdopted)][pick(5)],
                moderation: [
                    None,
                    None,
                    Some(ModerationFilter::Unmarked),
                    Some(ModerationFilter::Any),
                    Some(ModerationFilter::Is(Moderation::Spam)),
                ][pick(5)],
                tag: [None, None, Some("就业".to_string()), Some("AI".to_string()), Some("ai".to_string())][pick(5)]
                    .clone(),
                text: None,
                campaign: [
                    None,
                    None,
                    Some(CampaignFilter::Only),
                    Some(CampaignFilter::Excluded),
                    Some(CampaignFilter::Is(campaigns[0])),
                    Some(CampaignFilter::Is(campaigns[1])),
                ][pick(6)],
                signal: None,
                suggested: None,
                theme: None,
            };
            // Single filters first, then combinations.
            let f = if round < 40 { one_of(&f, round) } else { f };
            let ids = match pick(4) {
                0 => Some(&hits[..]),
                1 if round % 7 == 0 => Some(&[][..]),
                _ => None,
            };
            let expected: Vec<i64> = all.iter().rev().filter(|c| matches(c, &f, ids)).map(|c| c.id).collect();
            let mut got = vec![];
            let mut before = None;
            loop {
                let page = store.queue(&cid, &f, ids, before, 7).await.unwrap();
                assert_eq!(page.total, expected.len() as i64, "count of {f:?} with {ids:?}");
                assert!(!page.capped);
                got.extend(page.items.iter().map(|i| i.id));
                match page.next_before {
                    Some(b) => before = Some(b),
                    None => break,
                }
            }
            assert_eq!(got, expected, "{f:?} with hits {}", ids.is_some());
        }

        // A queue item says what the comment says.
        let page = store.queue(&cid, &QueueFilter::default(), None, None, 300).await.unwrap();
        for (item, c) in page.items.iter().zip(all.iter().rev()) {
            assert_eq!(
                (item.id, &item.tags, &item.articles, item.disposition),
                (c.id, &c.tags, &c.articles, c.disposition)
            );
            assert_eq!(
                (&item.position, &item.moderation),
                (&c.position, &c.moderation.map(|m| m.as_str().to_string()))
            );
            assert_eq!(item.opinion_chars, c.opinion.chars().count());
        }

        // comments_page reads what comment reads, personal data included.
        let mut paged = vec![];
        let mut after = 0;
        loop {
            let page = store.comments_page(&cid, after, 13).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            paged.extend(page);
        }
        assert_eq!(paged.len(), all.len());
        let mut pages = store.comment_pages(&cid, 13);
        let mut streamed = vec![];
        while let Some(page) = pages.recv().await {
            streamed.extend(page.unwrap());
        }
        assert_eq!(format!("{streamed:?}"), format!("{paged:?}"));
        for (p, c) in paged.iter().zip(&all) {
            assert_eq!(format!("{p:?}"), format!("{c:?}"));
            assert_eq!(p.id_number.as_ref().map(|i| i.expose()), c.id_number.as_ref().map(|i| i.expose()));
            assert_eq!(p.phone.as_ref().map(|i| i.stored_form()), c.phone.as_ref().map(|i| i.stored_form()));
        }
        assert!(paged.iter().any(|c| c.id_number.is_some()) && paged.iter().any(|c| c.phone.is_none()));
    }

    /// The filter with only its `n`-th condition kept (cycling through them).
    fn one_of(f: &QueueFilter, n: usize) -> QueueFilter {
        let d = QueueFilter::default();
        match n % 11 {
            10 => QueueFilter { campaign: f.campaign.or(Some(CampaignFilter::Only)), ..d },
            0 => QueueFilter { status: f.status.or(Some(ReviewStatus::Received)), ..d },
            1 => QueueFilter { article: f.article.or(Some(3)), ..d },
            2 => QueueFilter { position: f.position.clone().or(Some("教师".into())), ..d },
            3 => QueueFilter { channel: f.channel.or(Some(Channel::Api)), ..d },
            4 => QueueFilter { from: f.from, until: f.until, ..d },
            5 => QueueFilter { disposition: f.disposition.or(Some(Disposition::NotAdopted)), ..d },
            6 => QueueFilter { moderation: f.moderation.or(Some(ModerationFilter::Any)), ..d },
            7 => QueueFilter { tag: f.tag.clone().or(Some("就业".into())), ..d },
            8 => QueueFilter { status: Some(ReviewStatus::Disposed), ..d },
            _ => d,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queue_and_pages_on_sqlite() {
        if !Backend::Sqlite.run_or_skip("store::review::tests::queue_and_pages_on_sqlite") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreOptions::new(dir.path())).await.unwrap();
        check(&store).await;
        store.close().await;
    }

    /// On a database made for the test on the test server, dropped after it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queue_and_pages_on_postgres() {
        let Some(db) = PgDatabase::for_test("store::review::tests::queue_and_pages_on_postgres").await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions { database_url: Some(db.url.clone()), ..StoreOptions::new(dir.path()) };
        let store = Store::open(&opts).await.unwrap();
        check(&store).await;
        store.close().await;
    }
}

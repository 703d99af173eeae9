//! Themes (issue 14): saving what `yijian_analysis::themes` found, reading themes for the pages,
//! the API, exports and the report, and what staff do with them (rename, confirm, merge, split,
//! move comments, decide). Every staff change is audited in its transaction.
//!
//! Membership is `theme_members`: one row per comment and scope (each article the comment is
//! linked to, or the draft as a whole), so a comment on several articles counts among the main
//! points of each, and the queue takes a theme like any other condition. A campaign's members all
//! follow its representative. The counts on `themes` are refreshed after each change from those
//! rows, and a comment whose articles change leaves the themes of the scopes it no longer has
//! ([`Store::leave_stale_themes`]), to be placed anew by the next build.

use jiff::Timestamp;
use sqlx::Row;
use yijian_domain::review::Disposition;
use yijian_domain::theme::{Theme, ThemeScope};

use crate::audit::Audit;
use crate::{Store, StoreError, micros};

/// Comments changed per statement.
const CHUNK: usize = 1_000;

/// (id, opinion, articles as JSON, campaign), as read.
type TextRow = (i64, String, String, Option<i64>);

/// A comment as the theme build reads it.
#[derive(Debug, Clone)]
pub struct ThemeText {
    pub id: i64,
    pub opinion: String,
    pub articles: Vec<u32>,
    pub campaign: Option<i64>,
    /// The themes it is in, by scope.
    pub themes: Vec<(ThemeScope, i64)>,
}

/// A theme the analysis found, to be saved with its members (every comment id, a campaign's
/// members included).
#[derive(Debug, Clone)]
pub struct NewTheme {
    pub article: Option<u32>,
    pub label: String,
    pub key_phrases: Vec<String>,
    pub representatives: Vec<String>,
    pub stance: String,
    pub members: Vec<i64>,
}

/// One member of a theme, for its page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ThemeMember {
    pub id: i64,
    pub receipt: String,
    pub opening: String,
    pub campaign: Option<i64>,
    pub disposition: Option<String>,
}

const THEME_COLUMNS: &str = "id, consultation_id, article, label, label_by, key_phrases, representatives, stance, \
    comments, distinct_texts, confirmed, disposition, disposition_reason, merged_into";

fn list_of(json: &str, what: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("theme {what}: {e}")))
}

fn theme_from_row(r: &sqlx::any::AnyRow) -> Result<Theme, StoreError> {
    let disposition: Option<String> = r.try_get(11)?;
    Ok(Theme {
        id: r.try_get(0)?,
        consultation_id: r.try_get(1)?,
        article: r.try_get::<Option<i64>, _>(2)?.map(|a| a as u32),
        label: r.try_get(3)?,
        label_by: r.try_get(4)?,
        key_phrases: list_of(&r.try_get::<String, _>(5)?, "key phrases")?,
        representatives: list_of(&r.try_get::<String, _>(6)?, "representatives")?,
        stance: r.try_get(7)?,
        comments: r.try_get::<i64, _>(8)?.max(0) as u64,
        distinct_texts: r.try_get::<i64, _>(9)?.max(0) as u64,
        confirmed: r.try_get::<i64, _>(10)? != 0,
        disposition: disposition.as_deref().and_then(Disposition::parse),
        disposition_reason: r.try_get(12)?,
        merged_into: r.try_get(13)?,
    })
}

/// A scope as `theme_members` stores it: the article, or 0 for the draft as a whole.
fn scope_column(scope: ThemeScope) -> i64 {
    scope.article().map(i64::from).unwrap_or(0)
}

fn scope_of(column: i64) -> ThemeScope {
    ThemeScope::from_article((column > 0).then_some(column as u32))
}

/// Adds comments to a theme in `scope`, except those already in one of that scope (staff may
/// have moved them, or a campaign's members follow theirs); returns how many were added.
async fn join_theme(
    conn: &mut sqlx::AnyConnection,
    consultation_id: &str,
    theme: i64,
    scope: ThemeScope,
    comments: &[i64],
) -> Result<u64, StoreError> {
    let mut added = 0;
    for chunk in comments.chunks(CHUNK) {
        // Ids come from the database, never from a request: written in.
        let sql = format!(
            "INSERT INTO theme_members (theme_id, comment_id, consultation_id, scope) \
             SELECT $1, id, consultation_id, $2 FROM comments WHERE consultation_id = $3 AND id IN ({}) \
             ON CONFLICT DO NOTHING",
            id_list(chunk)
        );
        added += sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(theme)
            .bind(scope_column(scope))
            .bind(consultation_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(added)
}

/// Recounts the comments and distinct texts (a campaign's members are one text) of the themes
/// `condition` picks.
fn recount(condition: &str) -> String {
    format!(
        "UPDATE themes SET comments = (SELECT COUNT(*) FROM theme_members tm WHERE tm.consultation_id = \
         themes.consultation_id AND tm.theme_id = themes.id), distinct_texts = (SELECT COUNT(DISTINCT CASE \
         WHEN m.campaign_id IS NULL THEN -tm.comment_id ELSE m.campaign_id END) FROM theme_members tm \
         LEFT JOIN campaign_members m ON m.comment_id = tm.comment_id \
         WHERE tm.consultation_id = themes.consultation_id AND tm.theme_id = themes.id) WHERE {condition}"
    )
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

impl Store {
    /// Every comment of a consultation as the theme build reads it, in id order; spam and hidden
    /// comments are no one's point and are left out.
    pub async fn theme_texts(&self, consultation_id: &str) -> Result<Vec<ThemeText>, StoreError> {
        let mut out = vec![];
        let mut after = 0i64;
        loop {
            let rows: Vec<TextRow> = sqlx::query_as(
                "SELECT c.id, c.opinion, c.articles, m.campaign_id FROM comments c \
                 LEFT JOIN campaign_members m ON m.comment_id = c.id WHERE c.consultation_id = $1 AND c.id > $2 \
                 AND (c.moderation IS NULL OR c.moderation NOT IN ('spam', 'hidden')) ORDER BY c.id LIMIT 20000",
            )
            .bind(consultation_id)
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last().map(|r| r.0) else { return Ok(out) };
            let memberships: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT comment_id, scope, theme_id FROM theme_members WHERE consultation_id = $1 \
                 AND comment_id > $2 AND comment_id <= $3",
            )
            .bind(consultation_id)
            .bind(after)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
            let mut themes: std::collections::HashMap<i64, Vec<(ThemeScope, i64)>> = Default::default();
            for (comment, scope, theme) in memberships {
                themes.entry(comment).or_default().push((scope_of(scope), theme));
            }
            after = last;
            for (id, opinion, articles, campaign) in rows {
                let articles = serde_json::from_str(&articles)
                    .map_err(|e| StoreError::Corrupt(format!("comment articles: {e}")))?;
                let mut themes = themes.remove(&id).unwrap_or_default();
                themes.sort();
                out.push(ThemeText { id, opinion, articles, campaign, themes });
            }
        }
    }

    /// Saves new themes with their members, and gives comments placed in existing themes their
    /// theme; then refreshes the counts. Members already in a theme are left where they are
    /// (staff may have moved them).
    pub async fn save_themes(
        &self,
        consultation_id: &str,
        new: &[NewTheme],
        joined: &[(i64, i64)],
        now: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        let mut ids = Vec::with_capacity(new.len());
        // Several themes to a transaction (a build makes thousands, most of one or two texts):
        // one commit, one fsync, per batch rather than per theme.
        let mut tx = self.begin_write().await?;
        let mut in_tx = 0usize;
        for t in new {
            if in_tx >= CHUNK {
                tx.commit().await?;
                tx = self.begin_write().await?;
                in_tx = 0;
            }
            in_tx += 1 + t.members.len();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO themes (consultation_id, article, label, key_phrases, representatives, stance, \
                 changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(consultation_id)
            .bind(t.article.map(i64::from))
            .bind(&t.label)
            .bind(serde_json::to_string(&t.key_phrases).expect("strings"))
            .bind(serde_json::to_string(&t.representatives).expect("strings"))
            .bind(&t.stance)
            .bind(micros(now))
            .fetch_one(&mut *tx)
            .await?;
            join_theme(&mut tx, consultation_id, id, ThemeScope::from_article(t.article), &t.members).await?;
            ids.push(id);
        }
        tx.commit().await?;
        let scopes: std::collections::HashMap<i64, ThemeScope> =
            sqlx::query_as::<_, (i64, Option<i64>)>("SELECT id, article FROM themes WHERE consultation_id = $1")
                .bind(consultation_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|(id, article)| (id, ThemeScope::from_article(article.map(|a| a as u32))))
                .collect();
        let mut by_theme: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
        for (comment, theme) in joined {
            by_theme.entry(*theme).or_default().push(*comment);
        }
        let mut tx = self.begin_write().await?;
        for (theme, members) in by_theme {
            let scope = *scopes.get(&theme).ok_or_else(|| StoreError::Corrupt(format!("no theme {theme}")))?;
            join_theme(&mut tx, consultation_id, theme, scope, &members).await?;
        }
        tx.commit().await?;
        self.refresh_theme_counts(consultation_id, None).await?;
        Ok(ids)
    }

    /// Recounts a consultation's themes, or only some of them.
    async fn refresh_theme_counts(&self, consultation_id: &str, only: Option<&[i64]>) -> Result<(), StoreError> {
        let only = match only {
            None => String::new(),
            Some([]) => return Ok(()),
            // Ids come from the database: written in.
            Some(ids) => format!(" AND id IN ({})", id_list(ids)),
        };
        sqlx::query(sqlx::AssertSqlSafe(recount(&format!("consultation_id = $1{only}"))))
            .bind(consultation_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes comments whose articles just changed out of the themes of scopes they no longer
    /// have (an article they are no longer linked to; the draft as a whole once they are linked
    /// to one), in the transaction that changed them, and recounts those themes; the next build
    /// places them under their new articles. A theme staff decided keeps its decision, and the
    /// comments keep theirs.
    pub(crate) async fn leave_stale_themes(conn: &mut sqlx::AnyConnection, comments: &[i64]) -> Result<(), StoreError> {
        for chunk in comments.chunks(CHUNK) {
            // Ids come from the database or were parsed as integers: written in.
            let sql = format!(
                "DELETE FROM theme_members WHERE comment_id IN ({ids}) AND NOT \
                 (scope IN (SELECT a.article FROM comment_articles a WHERE a.comment_id = theme_members.comment_id) \
                 OR (scope = 0 AND NOT EXISTS (SELECT 1 FROM comment_articles a \
                 WHERE a.comment_id = theme_members.comment_id))) RETURNING theme_id",
                ids = id_list(chunk)
            );
            let mut left: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
            left.sort_unstable();
            left.dedup();
            for theme in left {
                sqlx::query(sqlx::AssertSqlSafe(recount("id = $1"))).bind(theme).execute(&mut *conn).await?;
            }
        }
        Ok(())
    }

    /// A consultation's themes (merged ones left out), by article (the draft as a whole last),
    /// then largest first.
    pub async fn themes(&self, consultation_id: &str) -> Result<Vec<Theme>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {THEME_COLUMNS} FROM themes WHERE consultation_id = $1 AND merged_into IS NULL \
             ORDER BY CASE WHEN article IS NULL THEN 1 ELSE 0 END, article, comments DESC, id"
        )))
        .bind(consultation_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(theme_from_row).collect()
    }

    pub async fn theme(&self, consultation_id: &str, id: i64) -> Result<Option<Theme>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {THEME_COLUMNS} FROM themes WHERE consultation_id = $1 AND id = $2"
        )))
        .bind(consultation_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(theme_from_row).transpose()
    }

    /// A page of a theme's members, newest first, below `before`.
    pub async fn theme_members(
        &self,
        consultation_id: &str,
        theme: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ThemeMember>, StoreError> {
        let (opening, _) = self.backend.opening("c.opinion", 80);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.receipt, {opening}, m.campaign_id, c.disposition FROM theme_members tm \
             JOIN comments c ON c.id = tm.comment_id LEFT JOIN campaign_members m ON m.comment_id = c.id \
             WHERE tm.consultation_id = $1 AND tm.theme_id = $2 AND tm.comment_id < $3 \
             ORDER BY tm.comment_id DESC LIMIT $4"
        )))
        .bind(consultation_id)
        .bind(theme)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let compact: String = r.try_get(1)?;
                Ok(ThemeMember {
                    id: r.try_get(0)?,
                    receipt: yijian_domain::receipt::Receipt::parse(&compact).map(|x| x.to_string()).unwrap_or(compact),
                    opening: r.try_get(2)?,
                    campaign: r.try_get(3)?,
                    disposition: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// The themes a comment is in, one per scope: (theme, article or `None` for the draft as a
    /// whole, label), by article, the draft as a whole last.
    pub async fn themes_of_comment(&self, comment_id: i64) -> Result<Vec<(i64, Option<u32>, String)>, StoreError> {
        let rows: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT t.id, t.article, t.label FROM theme_members tm JOIN themes t ON t.id = tm.theme_id \
             WHERE tm.comment_id = $1 ORDER BY CASE WHEN tm.scope = 0 THEN 1 ELSE 0 END, tm.scope",
        )
        .bind(comment_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id, article, label)| (id, article.map(|a| a as u32), label)).collect())
    }

    /// Renames, confirms or un-confirms a theme, or records its decision, audited.
    pub async fn change_theme(
        &self,
        actor: &str,
        consultation_id: &str,
        id: i64,
        change: ThemeChange<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (set, detail): (String, String) = match &change {
            ThemeChange::Rename(_) => ("label = $5, label_by = $1".into(), "rename".into()),
            ThemeChange::Confirm(on) => (format!("confirmed = {}", i64::from(*on)), format!("confirmed={on}")),
            ThemeChange::Decide(..) => ("disposition = $5, disposition_reason = $6".into(), "decide".into()),
        };
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE themes SET {set}, changed_by = $1, changed_at = $2 WHERE consultation_id = $3 AND id = $4 \
             AND merged_into IS NULL"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(actor).bind(micros(now)).bind(consultation_id).bind(id);
        let detail = match &change {
            ThemeChange::Rename(label) => {
                q = q.bind(label.trim());
                format!("{detail} label={}", label.trim())
            }
            ThemeChange::Decide(d, reason) => {
                q = q.bind(d.map(|d| d.as_str())).bind(d.map(|_| reason.trim()));
                format!("{detail} disposition={} reason={}", d.map(|d| d.as_str()).unwrap_or("none"), reason.trim())
            }
            ThemeChange::Confirm(_) => detail,
        };
        let changed = q.execute(&mut *tx).await?.rows_affected() > 0;
        if changed {
            let name = match change {
                ThemeChange::Rename(_) => "theme.rename",
                ThemeChange::Confirm(_) => "theme.confirm",
                ThemeChange::Decide(..) => "theme.decide",
            };
            self.audit_in(&mut tx, now, Audit::new(actor, name, &format!("{consultation_id}/theme/{id}"), detail))
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Moves comments (and their campaigns' members with them) into theme `to`, audited; returns
    /// how many moved.
    pub async fn move_to_theme(
        &self,
        actor: &str,
        consultation_id: &str,
        comments: &[i64],
        to: i64,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        if comments.is_empty() {
            return Ok(0);
        }
        let scope: Option<i64> =
            sqlx::query_scalar("SELECT article FROM themes WHERE consultation_id = $1 AND id = $2")
                .bind(consultation_id)
                .bind(to)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("no theme {to}")))?;
        let scope = ThemeScope::from_article(scope.map(|a| a as u32));
        let mut tx = self.begin_write().await?;
        // The comments and their campaigns' members. Ids come from the database (a theme's
        // members) or were parsed as integers: written in.
        let sql = format!(
            "SELECT id FROM comments WHERE consultation_id = $1 AND (id IN ({ids}) OR id IN (SELECT comment_id \
             FROM campaign_members WHERE campaign_id IN (SELECT campaign_id FROM campaign_members \
             WHERE consultation_id = $1 AND comment_id IN ({ids}))))",
            ids = id_list(comments)
        );
        let all: Vec<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(consultation_id).fetch_all(&mut *tx).await?;
        // Out of the theme each is in within `to`'s scope (a comment is in one theme per scope).
        let mut left: Vec<i64> = vec![];
        for chunk in all.chunks(CHUNK) {
            let sql = format!(
                "DELETE FROM theme_members WHERE consultation_id = $1 AND scope = $2 AND theme_id <> $3 \
                 AND comment_id IN ({}) RETURNING theme_id",
                id_list(chunk)
            );
            left.extend(
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .bind(consultation_id)
                    .bind(scope_column(scope))
                    .bind(to)
                    .fetch_all(&mut *tx)
                    .await?,
            );
        }
        let moved = join_theme(&mut tx, consultation_id, to, scope, &all).await?;
        let detail = format!("comments={} moved={moved}", id_list(comments));
        self.audit_in(&mut tx, now, Audit::new(actor, "theme.move", &format!("{consultation_id}/theme/{to}"), detail))
            .await?;
        tx.commit().await?;
        left.push(to);
        left.sort_unstable();
        left.dedup();
        self.refresh_theme_counts(consultation_id, Some(&left)).await?;
        Ok(moved)
    }

    /// Merges theme `from` into `into`: its members move, and it is kept, empty, as merged.
    pub async fn merge_themes(
        &self,
        actor: &str,
        consultation_id: &str,
        from: i64,
        into: i64,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        // Both themes are of one article (the caller checks), and a comment is in one theme per
        // article: no comment is in both.
        let moved = sqlx::query("UPDATE theme_members SET theme_id = $1 WHERE consultation_id = $2 AND theme_id = $3")
            .bind(into)
            .bind(consultation_id)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "UPDATE themes SET merged_into = $1, changed_by = $2, changed_at = $3 WHERE consultation_id = $4 AND id = $5",
        )
        .bind(into)
        .bind(actor)
        .bind(micros(now))
        .bind(consultation_id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        let detail = format!("into={into} moved={moved}");
        self.audit_in(
            &mut tx,
            now,
            Audit::new(actor, "theme.merge", &format!("{consultation_id}/theme/{from}"), detail),
        )
        .await?;
        tx.commit().await?;
        self.refresh_theme_counts(consultation_id, Some(&[from, into])).await?;
        Ok(moved)
    }

    /// Splits comments out of their theme into a new one named `label` (staff's), in the same
    /// scope as `from`; returns the new theme's id.
    pub async fn split_theme(
        &self,
        actor: &str,
        consultation_id: &str,
        from: &Theme,
        comments: &[i64],
        label: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO themes (consultation_id, article, label, label_by, stance, changed_by, changed_at) \
             VALUES ($1, $2, $3, $4, $5, $4, $6) RETURNING id",
        )
        .bind(consultation_id)
        .bind(from.article.map(i64::from))
        .bind(label.trim())
        .bind(actor)
        .bind(&from.stance)
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await?;
        let detail = format!("from={} label={} comments={}", from.id, label.trim(), id_list(comments));
        self.audit_in(&mut tx, now, Audit::new(actor, "theme.split", &format!("{consultation_id}/theme/{id}"), detail))
            .await?;
        tx.commit().await?;
        self.move_to_theme(actor, consultation_id, comments, id, now).await?;
        Ok(id)
    }
}

/// A change to a theme itself.
#[derive(Debug, Clone)]
pub enum ThemeChange<'a> {
    Rename(&'a str),
    Confirm(bool),
    Decide(Option<Disposition>, &'a str),
}
